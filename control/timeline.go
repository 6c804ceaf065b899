package control

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// TimeLayout is how times are written for people: minutes, with the zone.
const TimeLayout = "2006-01-02 15:04 MST"

// localLayout is how a run's times read in its customer's time zone.
const localLayout = "Mon 2 Jan 2006 15:04 MST"

// FormatTimeline writes a run for a manager to read: a header with what the
// run is, its status, what it is waiting for and its open tasks, then its
// timeline, one line per record, in plain words.
//
// Times are in the customer's time zone (its timezone attribute), as the
// people who work with the customer read them: Mon 30 Nov 2026 09:00 EST.
func FormatTimeline(w io.Writer, view *workflows.RunView) {
	s := view.State
	loc := time.UTC
	if tz, _ := s.Attrs["timezone"].(string); tz != "" {
		if l, err := calendar.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	fmtTime := func(t time.Time) string { return t.In(loc).Format(localLayout) }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Run", s.ID)
	pb := s.Playbook
	if s.Version != "" {
		pb += " (version " + s.Version + ")"
	}
	row("Playbook", pb)
	row("Customer", s.Customer)
	row("Owner", s.Owner)
	if !s.StartedAt.IsZero() {
		started := fmtTime(s.StartedAt)
		if s.Trigger != nil && s.Trigger.Type != "" {
			started += ", triggered by " + s.Trigger.Type
		}
		row("Started", started)
	}
	status := string(s.Status)
	if s.Reason != "" {
		status += ": " + s.Reason
	}
	row("Status", status)
	row("Waiting", view.Waiting)
	tw.Flush()
	if len(s.Tasks) > 0 {
		fmt.Fprintln(w, "Open tasks:")
		for _, t := range s.Tasks {
			fmt.Fprintf(w, "  %s\n    id %s\n", taskText(t, fmtTime), t.ID)
		}
	}
	if len(view.Held) > 0 {
		fmt.Fprintln(w, "Held messages:")
		for _, h := range view.Held {
			fmt.Fprintf(w, "  %s (step %s)\n    %s\n", HoldText(h), h.Step, h.Text)
		}
	}
	fmt.Fprintln(w)
	if len(view.Timeline) == 0 {
		fmt.Fprintln(w, "Nothing has happened yet.")
		return
	}
	fmt.Fprintln(w, "Timeline:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range view.Timeline {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fmtTime(r.At), r.Kind, recordText(r, fmtTime))
	}
	tw.Flush()
}

// TaskText says what a task is, for whom and by when (in UTC).
func TaskText(t engine.Task) string { return taskText(t, fmtTime) }

func taskText(t engine.Task, fmtTime func(time.Time) string) string {
	var b strings.Builder
	b.WriteString(t.Action)
	if t.Title != "" {
		b.WriteString(" " + strconv.Quote(t.Title))
	}
	if t.Owner != "" {
		b.WriteString(" for " + t.Owner)
	}
	if !t.Due.IsZero() {
		b.WriteString(", due " + fmtTime(t.Due))
	}
	if t.Overdue {
		b.WriteString(" (overdue)")
	}
	return b.String()
}

// HoldText says what a held message is and to whom: email
// welcome-enterprise "Welcome to tend, Acme" to it@acme.example.
func HoldText(h engine.Hold) string {
	var b strings.Builder
	b.WriteString(h.Kind)
	if h.Template != "" {
		b.WriteString(" " + h.Template)
	}
	if h.Subject != "" {
		b.WriteString(" " + strconv.Quote(h.Subject))
	}
	if h.To != "" {
		b.WriteString(" to " + h.To)
	}
	return b.String()
}

// RecordText says what a timeline record means, in plain words (times in UTC).
func RecordText(r lang.Record) string { return recordText(r, fmtTime) }

func recordText(r lang.Record, fmtTime func(time.Time) string) string {
	var b strings.Builder
	add := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	step := func() {
		if r.Step != "" {
			add("%s: ", r.Step)
		}
	}
	switch r.Kind {
	case lang.RecRunStarted:
		add("%s", orText(r.Reason, "started"))
		if r.Owner != "" {
			add("; owner %s", r.Owner)
		}
	case lang.RecStageChanged:
		if r.From == "" {
			add("stage set to %s", r.To)
		} else {
			add("stage from %s to %s", r.From, r.To)
		}
		if r.Reason != "" {
			add(" (%s)", r.Reason)
		}
	case lang.RecStepSkipped:
		add("%s skipped", orText(r.Step, "step"))
		if r.Reason != "" {
			add(": %s", r.Reason)
		}
	case lang.RecAction:
		step()
		add("%s", r.Action)
		// An escalation's title repeats its reason; say the reason once.
		if r.Title != "" && (r.Reason == "" || !strings.Contains(r.Title, r.Reason)) {
			add(" %s", strconv.Quote(r.Title))
		}
		if r.To != "" {
			add(" to %s", r.To)
		}
		if r.Owner != "" && r.Owner != r.To {
			add(" for %s", r.Owner)
		}
		if r.Due != nil {
			add(", due %s", fmtTime(*r.Due))
		}
		if r.Start != nil {
			add(", proposed for %s", fmtTime(*r.Start))
		}
		if r.Reason != "" {
			add(": %s", r.Reason)
		}
	case lang.RecMessageHeld:
		step()
		add("%s", r.Action)
		if r.Title != "" {
			add(" %s", strconv.Quote(r.Title))
		}
		if r.To != "" {
			add(" to %s", r.To)
		}
		add(" %s", orText(r.Reason, "held by the contact policy"))
	case lang.RecTaskCompleted:
		step()
		add("%s done", orText(strconv.Quote(r.Title), "task"))
		if r.Owner != "" {
			add(" (%s)", r.Owner)
		}
		if r.Reason != "" {
			add(": %s", r.Reason)
		}
	case lang.RecTaskOverdue:
		step()
		add("%s not done", orText(strconv.Quote(r.Title), "task"))
		if r.Due != nil {
			add(" by %s", fmtTime(*r.Due))
		}
		if r.Owner != "" {
			add("; owner %s", r.Owner)
		}
	case lang.RecWaitTimeout:
		step()
		add("gave up waiting")
		if r.Reason != "" {
			add(": %s", r.Reason)
		}
	default: // run.completed, run.exited, run.expired, run.failed and kinds to come
		step()
		add("%s", r.Reason)
		for _, f := range []struct{ k, v string }{{"action", r.Action}, {"from", r.From}, {"to", r.To}, {"owner", r.Owner}, {"title", r.Title}, {"task", r.Task}} {
			if f.v != "" {
				add(" %s %s", f.k, f.v)
			}
		}
	}
	return strings.TrimSpace(strings.TrimSuffix(b.String(), ": "))
}

func orText(s, alt string) string {
	if s == "" || s == `""` {
		return alt
	}
	return s
}

func fmtTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
