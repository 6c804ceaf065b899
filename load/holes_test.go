package load_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
)

// interpolation is a {{ expr }} of a playbook or template; field a path
// into the customer's record, the record before the event, or the event's
// data, any of which may be unset.
var (
	interpolation = regexp.MustCompile(`(?s)\{\{(.*?)\}\}`)
	field         = regexp.MustCompile(`\b(?:customer|before|event\.data)\.[a-z_][a-z0-9_]*`)
)

// TestShippedTextsHaveNoHoles: an unset attribute interpolates as nothing,
// so "Health is 40 ( logins in 7 days, last NPS )" goes out. Every {{ }}
// of the shipped playbooks and templates that reads a field gives it a
// default (`?? "unknown"`) or tests it against nil, unless the field is
// always set where the text is rendered (listed below, with the reason).
func TestShippedTextsHaveNoHoles(t *testing.T) {
	always := []string{"customer.id", "customer.name"}
	// Fields set wherever the file's texts are rendered.
	set := map[string][]string{
		"adoption-nudge.yaml":            {"event.data.logins_7d"},              // the trigger compares it
		"enterprise-onboarding.yaml":     {"customer.seats", "customer.health"}, // steps guarded by seats >= 100 and (health ?? 100) < 60
		"executive-business-review.yaml": {"customer.renewal_date"},             // the trigger compares days_until of it
		"templates/ebr-recap.md":         {"customer.renewal_date"},
		"health-drop-escalation.yaml":    {"customer.health"},                  // the trigger: (customer.health ?? 100) < 50
		"nps-detractor-recovery.yaml":    {"event.data.score"},                 // the trigger compares it
		"nps-promoter-advocacy.yaml":     {"event.data.score", "customer.nps"}, // nps is set from the score
		"renewal.yaml":                   {"customer.renewal_date"},            // the trigger: renewal_date != nil
		"templates/renewal-120.md":       {"customer.renewal_date"},
		"templates/renewal-90.md":        {"customer.renewal_date"},
		"templates/renewal-30.md":        {"customer.renewal_date"},
		"templates/csm-introduction.md":  {"customer.csm"}, // sent only when a CSM is assigned
	}
	dir := filepath.Join(root, "playbooks")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	templates, _ := filepath.Glob(filepath.Join(dir, "templates", "*.md"))
	files = append(files, templates...)
	if len(files) < 10 {
		t.Fatalf("found %d shipped files", len(files))
	}
	checked := 0
	for _, file := range files {
		name := filepath.ToSlash(strings.TrimPrefix(file, dir+string(filepath.Separator)))
		if name == "schema.yaml" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		for _, m := range interpolation.FindAllStringSubmatchIndex(src, -1) {
			x := src[m[2]:m[3]]
			checked++
			for _, p := range field.FindAllString(x, -1) {
				guarded := regexp.MustCompile(regexp.QuoteMeta(p) + `\s*(\?\?|[=!]=\s*nil)`)
				if contains(always, p) || contains(set[name], p) || guarded.MatchString(x) {
					continue
				}
				line := 1 + strings.Count(src[:m[0]], "\n")
				t.Errorf("playbooks/%s:%d: {{%s}} writes nothing when %s is unset; give it a default ({{ %s ?? \"unknown\" }}) or reword",
					name, line, x, p, p)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no interpolations found")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestShippedPlaybooksSparseCustomer runs shipped playbooks for a customer
// with little more than a name, and events without optional data (an NPS
// answer without its comment, which comes later as a revision), and checks
// what goes out for holes: "( logins in 7 days", "gave NPS 3: ".
func TestShippedPlaybooksSparseCustomer(t *testing.T) {
	set := shippedSet(t)
	signed := time.Date(2026, 2, 2, 14, 0, 0, 0, time.UTC)
	base := func() map[string]any {
		return map[string]any{"name": "Acme", "manager": "max@v.example", "contact_email": "it@acme.example"}
	}
	tests := []struct {
		name     string
		playbook string
		attrs    map[string]any
		ev       *lang.Event
		applied  time.Time // when the event is applied; zero: at its at
		want     []string  // texts that must go out
	}{
		{"health drop", "health-drop-escalation", with(base(), "health", 80.0, "stage", "adoption"),
			&lang.Event{ID: "h", Type: "customer.updated", Attributes: map[string]any{"health": 40}}, time.Time{},
			[]string{"Acme (no segment, ARR unknown) health dropped to 40. CSM not assigned.", "Health is 40 (unknown logins in 7 days, last NPS none yet)."}},
		{"detractor without a comment", "nps-detractor-recovery", with(base(), "csm", "jo@v.example", "stage", "adoption"),
			&lang.Event{ID: "n", Type: "nps.responded", Data: map[string]any{"score": 3}}, time.Time{},
			[]string{"Acme gave NPS 3 (no comment yet)", "They left no comment with the score."}},
		{"promoter without a comment", "nps-promoter-advocacy", with(base(), "csm", "jo@v.example", "stage", "adoption", "segment", "enterprise"),
			&lang.Event{ID: "p", Type: "nps.responded", Data: map[string]any{"score": 10}}, time.Time{},
			[]string{"They scored us 10/10."}},
		{"handoff, heard of a week late", "sales-to-cs-handoff", with(base(), "csm", "jo@v.example"),
			&lang.Event{ID: "s", Type: "contract.signed", Data: map[string]any{}}, signed.Add(7 * 24 * time.Hour),
			[]string{"New customer signed: Acme (plan unknown, ARR unknown). AE unknown, CSM jo@v.example."}},
		{"churn without a reason", "churn-offboarding", with(base(), "stage", "adoption"),
			&lang.Event{ID: "c", Type: "contract.cancelled", Data: map[string]any{}}, time.Time{},
			[]string{"Acme cancelled (ARR unknown). Reason given: none"}},
		{"onboarding before a CSM is assigned", "enterprise-onboarding", with(base(), "segment", "enterprise"),
			&lang.Event{ID: "o", Type: "contract.signed", Data: map[string]any{}}, time.Time{},
			[]string{"Your Customer Success Manager will introduce themselves shortly."}},
		{"low usage, seats unknown", "adoption-nudge", with(base(), "stage", "adoption", "csm", "jo@v.example"),
			&lang.Event{ID: "u", Type: "usage.reported", Data: map[string]any{"logins_7d": 3}}, time.Time{},
			[]string{"Low usage at Acme: unknown of unknown seats active"}},
		{"silent account, sparse record", "adoption-rescue", with(base(), "stage", "adoption", "last_login", signed.Add(-20*24*time.Hour)),
			&lang.Event{Type: lang.EventDaily}, time.Time{},
			[]string{"Nobody at Acme (no segment, unknown seats, ARR unknown) has logged in for 20 days. CSM not assigned."}},
		{"EBR, sparse record", "executive-business-review", with(base(), "stage", "adoption", "segment", "enterprise", "renewal_date", signed.Add(130*24*time.Hour)),
			&lang.Event{Type: lang.EventDaily}, time.Time{},
			[]string{"(ARR unknown)", "health unknown, last NPS none yet", "- **Seats in use:** not reported yet."}},
		{"renewal, sparse record", "renewal", with(base(), "stage", "adoption", "renewal_date", signed.Add(100*24*time.Hour)),
			&lang.Event{Type: lang.EventDaily}, time.Time{},
			[]string{"ARR unknown, unknown of unknown seats active", "- **Logins in the last week:** not reported yet"}},
		{"renewal without the new date", "renewal-won", with(base(), "stage", "renewal", "arr", 12000.0),
			&lang.Event{ID: "r", Type: "contract.renewed", Data: map[string]any{}}, time.Time{},
			[]string{"Acme renewed at ARR 12000. Next renewal date not set yet."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.Customer, tt.ev.At = "acme", signed
			if tt.ev.Type != lang.EventDaily {
				if err := set.Schema.Normalize(tt.ev); err != nil {
					t.Fatal(err)
				}
			}
			now := tt.ev.At
			if !tt.applied.IsZero() {
				now = tt.applied
			}
			j := engine.NewJourney("acme", tt.attrs)
			applied := j.Daily
			if tt.ev.Type != lang.EventDaily {
				applied = func(set *lang.Set, now time.Time) engine.Applied { return j.Apply(set, now, tt.ev) }
			}
			var run *engine.Run
			for _, s := range applied(set, now).Starts {
				if s.Playbook.Name == tt.playbook {
					run = engine.NewRun(set, s)
				}
			}
			if run == nil {
				t.Fatalf("%s did not start", tt.playbook)
			}
			actions := drive(t, run, now)
			if run.Status == engine.StatusFailed {
				t.Errorf("the run failed: %s", run.Reason)
			}
			var texts []string
			for _, a := range actions {
				for _, f := range []struct{ name, s string }{{"subject", a.Subject}, {"title", a.Title}, {"reason", a.Reason},
					{"topic", a.Topic}, {"text", a.Text}, {"description", a.Description}, {"body", a.Body}} {
					if f.s == "" {
						continue
					}
					texts = append(texts, f.s)
					if hole.MatchString(f.s) || (f.name != "body" && f.name != "description" && f.name != "text" && lineHole.MatchString(f.s)) {
						t.Errorf("%s %s: %q has a hole", a.Step, f.name, f.s)
					}
				}
				if a.Step == "record-contract" {
					if got, _ := a.Set["signed_at"].(time.Time); !got.Equal(signed) {
						t.Errorf("signed_at = %v, want the event's at %s", a.Set["signed_at"], signed)
					}
				}
			}
			all := strings.Join(texts, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no text says %q; texts:\n%s", w, all)
				}
			}
		})
	}
}

// hole matches the marks of a value that wrote nothing: "( ", " )", "()",
// a space before punctuation; lineHole, in one-line fields, a dangling
// colon or a double space.
var (
	hole     = regexp.MustCompile(`\(\s|\s\)|\(\)| [,.;:!?]`)
	lineHole = regexp.MustCompile(`:\s*$|  `)
)

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// shippedSet loads playbooks/.
func shippedSet(t *testing.T) *lang.Set {
	t.Helper()
	groups, err := load.Files([]string{filepath.Join(root, "playbooks")})
	if err != nil {
		t.Fatal(err)
	}
	set, errs := groups[0].Load()
	if len(errs) > 0 || set == nil {
		t.Fatal(errs)
	}
	return set
}

// drive carries out what the run asks, at once, until it ends or has
// waited 200 days: every action is done (updates change the run's
// attributes, as the journey would), messages go out when asked, meetings
// get the slot of an empty calendar, timers fire in order, and each task
// is completed once it is overdue. It returns the actions.
func drive(t *testing.T, r *engine.Run, now time.Time) []engine.Action {
	t.Helper()
	var actions []engine.Action
	timers := map[string]time.Time{}
	overdue := "" // the task whose due timer fired last
	queue := r.Start(now)
	end := now.Add(200 * 24 * time.Hour)
	for steps := 0; steps < 1000; steps++ {
		if len(queue) == 0 && overdue != "" {
			// The task's owner completes it once it is overdue.
			ev := engine.CompleteTaskEvent(r.Customer, overdue, "done", now)
			overdue = ""
			queue = r.OnEvent(now, ev, r.Attrs, r.Attrs)
			continue
		}
		if len(queue) == 0 {
			if r.Done() || len(timers) == 0 {
				return actions
			}
			id := ""
			for k, at := range timers {
				if id == "" || at.Before(timers[id]) || at.Equal(timers[id]) && k < id {
					id = k
				}
			}
			now = timers[id]
			delete(timers, id)
			if now.After(end) {
				return actions
			}
			overdue = strings.TrimPrefix(id, "due/")
			if overdue == id {
				overdue = ""
			}
			queue = r.OnTimer(now, id)
			continue
		}
		c := queue[0]
		queue = queue[1:]
		switch c.Kind {
		case engine.CmdAction:
			actions = append(actions, *c.Action)
			if c.Action.Kind == "update" {
				for k, v := range c.Action.Set {
					r.Attrs[k] = v
				}
			}
			queue = append(queue, r.OnActionDone(now)...)
		case engine.CmdReserve:
			queue = append(queue, r.OnSlot(now, now)...)
		case engine.CmdBook:
			queue = append(queue, r.OnBooked(now, c.Book.Propose())...)
		case engine.CmdTimer:
			timers[c.Timer.ID] = c.Timer.At
		case engine.CmdCancelTimer:
			delete(timers, c.Timer.ID)
		}
	}
	t.Fatalf("the run did not settle in 1000 commands: %s, waiting %s", r.Status, r.Waiting())
	return nil
}

// Every step of the shipped playbooks has an id: runs list and runs show
// name the step a run waits at, and "steps.2" tells nobody anything.
func TestShippedStepsHaveIDs(t *testing.T) {
	n := 0
	for _, pb := range shippedSet(t).Playbooks {
		for _, block := range pb.Blocks {
			for _, s := range block {
				n++
				if s.ID == s.Path {
					t.Errorf("%s:%d: step %s has no id", rel(pb.File), s.Pos.Line, s.Path)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no steps")
	}
}
