package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/tend-cs/tend/engine/lang"
)

// MaxSeenEvents is how many event ids a journey remembers for de-duplication.
const MaxSeenEvents = 10_000

// PlaybookRuns is a journey's memory of one playbook.
type PlaybookRuns struct {
	Runs   int      `json:"runs"`             // runs started so far; the next run is Runs+1
	Active string   `json:"active,omitempty"` // the id of the running run, if any
	Keys   []string `json:"keys,omitempty"`   // once_per keys already used
}

// JourneyState is a customer's journey as plain data.
type JourneyState struct {
	Customer  string                   `json:"customer"`
	Attrs     map[string]any           `json:"attrs"`
	Seen      []string                 `json:"seen,omitempty"`
	Playbooks map[string]*PlaybookRuns `json:"playbooks"`
	Contacts  []time.Time              `json:"contacts,omitempty"`
	// Live are the runs not yet known to be closed, by id.
	Live map[string]*LiveRun `json:"live,omitempty"`
	// DailyFrom is the instant after which the next daily check is due.
	DailyFrom time.Time `json:"daily_from,omitempty"`
	// Answers are the latest survey answers, oldest first (survey.go).
	Answers []SurveyAnswer `json:"answers,omitempty"`
	// Explained is why each playbook did or did not start, the last time
	// its trigger was evaluated for an event and for a daily check: at
	// most two per playbook, by playbook then event before daily. LastEvent
	// and LastDaily are what triggers were last evaluated for. See Explain.
	Explained []Explanation `json:"explained,omitempty"`
	LastEvent *Considered   `json:"last_event,omitempty"`
	LastDaily *Considered   `json:"last_daily,omitempty"`
}

// Journey is the interpreter for one customer: it applies events, evaluates
// triggers and decides which runs start. It holds the customer's attributes,
// stage and contact-policy ledger. Attribute maps are never changed in place:
// every change makes a new map, so runs may keep the maps they were given.
type Journey struct {
	JourneyState
	seen map[string]bool
	vm   vm.VM
	sc   lang.Scope
	outq []*queued // messages for runs, until Flush
	cur  snapshot  // what the trigger evaluation under way reads
}

// NewJourney starts a journey for a customer with initial attributes.
func NewJourney(customer string, attrs map[string]any) *Journey {
	a := make(map[string]any, len(attrs)+2)
	for k, v := range attrs {
		if v != nil {
			a[k] = v
		}
	}
	a[lang.AttrID] = customer
	return &Journey{JourneyState: JourneyState{Customer: customer, Attrs: a, Playbooks: map[string]*PlaybookRuns{}}}
}

// ResumeJourney rebuilds a journey from its state.
func ResumeJourney(st JourneyState) *Journey {
	if st.Playbooks == nil {
		st.Playbooks = map[string]*PlaybookRuns{}
	}
	return &Journey{JourneyState: st}
}

// Applied is the outcome of applying an event to a journey.
type Applied struct {
	Duplicate bool
	// Revised: the event changed the answer to a survey already answered
	// (survey.go). It is passed on to the running runs; no trigger is
	// evaluated again.
	Revised bool
	// Rejected says why the event was not applied: it would make the
	// customer's record larger than MaxRecordBytes. The event is not
	// marked as seen.
	Rejected string
	Event    *lang.Event
	Before   map[string]any // attributes before the event
	Attrs    map[string]any // attributes after the event
	Records  []lang.Record  // stage changes
	Forward  []string       // running runs that must receive the event, in playbook order
	Starts   []StartRun     // runs to start, in playbook order, after forwarding
}

// Stage is the customer's lifecycle stage, or "".
func (j *Journey) Stage() string { s, _ := j.Attrs[lang.AttrStage].(string); return s }

func (j *Journey) isSeen(id string) bool {
	if j.seen == nil {
		j.seen = make(map[string]bool, len(j.Seen))
		for _, s := range j.Seen {
			j.seen[s] = true
		}
	}
	return j.seen[id]
}

func (j *Journey) markSeen(id string) {
	j.isSeen(id)
	j.seen[id] = true
	j.Seen = append(j.Seen, id)
	if len(j.Seen) > MaxSeenEvents {
		delete(j.seen, j.Seen[0])
		j.Seen = j.Seen[1:]
	}
}

// Apply applies an event at now. The event must have passed Schema.Normalize.
func (j *Journey) Apply(set *lang.Set, now time.Time, ev *lang.Event) Applied {
	revised := false
	if ev.ID != "" && (j.isSeen(ev.ID) || isSurveyAnswer(ev) && j.answer(ev.ID) != nil) {
		rev := j.revision(ev)
		if rev == nil {
			return Applied{Duplicate: true, Event: ev}
		}
		ev, revised = rev, true
	}
	if ev.Type == lang.EventTaskCompleted {
		if reason := j.taskTarget(ev); reason != "" {
			return Applied{Event: ev, Rejected: reason}
		}
	}
	before := j.Attrs
	out := Applied{Event: ev, Before: before}
	var next map[string]any
	if len(ev.Attributes) > 0 {
		next = make(map[string]any, len(before)+len(ev.Attributes))
		for k, v := range before {
			next[k] = v
		}
		for _, k := range sortedKeys(ev.Attributes) {
			if v := ev.Attributes[k]; v == nil {
				delete(next, k)
			} else {
				next[k] = v
			}
		}
		next[lang.AttrID] = j.Customer
		if n := lang.RecordSize(next); n > lang.MaxRecordBytes && n > lang.RecordSize(before) {
			return Applied{Event: ev, Rejected: fmt.Sprintf("the customer's record would be %s as JSON; at most %s are allowed: remove attributes (set them to null) or send smaller values", lang.ByteSize(n), lang.ByteSize(lang.MaxRecordBytes))}
		}
	}
	if ev.ID != "" && !j.isSeen(ev.ID) {
		j.markSeen(ev.ID)
	}
	j.recordAnswer(now, ev, revised)
	if next != nil {
		j.Attrs = next
		if from, to := stageOf(before), stageOf(next); from != to {
			out.Records = append(out.Records, lang.Record{At: now.UTC(), Customer: j.Customer, Kind: lang.RecStageChanged, From: from, To: to, Reason: ev.Type})
		}
	}
	if revised {
		out.Revised, out.Forward, out.Attrs = true, j.Running(), j.Attrs
		return out
	}
	j.evaluate(set, now, ev, before, &out)
	return out
}

// taskTarget says why a task.completed event can complete no task: the
// run its task belongs to, or its playbook, is not running for the
// customer. It returns "" when a running run may hold the task.
func (j *Journey) taskTarget(ev *lang.Event) string {
	if task, _ := ev.Data["task"].(string); task != "" {
		parts := strings.Split(task, "/")
		if len(parts) >= 5 {
			if owner := strings.Join(parts[1:len(parts)-3], "/"); owner != j.Customer {
				return fmt.Sprintf("task %s belongs to customer %s, not %s: send the event to that customer", task, owner, j.Customer)
			}
			run := "run/" + strings.Join(parts[:len(parts)-2], "/")
			if j.Live[run] != nil {
				return ""
			}
			return fmt.Sprintf("no running run has task %s: run %s is not running (it ended, or never started)", task, run)
		}
		return fmt.Sprintf("task %s is not a task id; want <playbook>/<customer>/<n>/<step>/<occurrence>", task)
	}
	if pb, _ := ev.Data["playbook"].(string); pb != "" {
		if !j.hasLive(pb) {
			return fmt.Sprintf("playbook %s has no running run for customer %s", pb, j.Customer)
		}
	}
	return ""
}

// Daily runs the daily check at now: it passes a daily event to running runs
// (for exit_when and wait_for) and evaluates `on: daily` triggers.
func (j *Journey) Daily(set *lang.Set, now time.Time) Applied {
	ev := &lang.Event{Type: lang.EventDaily, Customer: j.Customer, At: now}
	out := Applied{Event: ev, Before: j.Attrs}
	j.evaluate(set, now, ev, j.Attrs, &out)
	return out
}

func stageOf(a map[string]any) string { s, _ := a[lang.AttrStage].(string); return s }

func (j *Journey) evaluate(set *lang.Set, now time.Time, ev *lang.Event, before map[string]any, out *Applied) {
	out.Forward = j.Running()
	j.consider(now, ev)
	candidates := set.Triggered(ev.Type)
	if len(candidates) == 0 {
		out.Attrs = j.Attrs
		return
	}
	j.sc.Reset(now, set.Schema, j.Attrs, before, ev, nil)
	j.snapshot(set, now, ev, before)
	for _, pb := range candidates {
		st := j.Playbooks[pb.Name]
		if st != nil && st.Active != "" {
			// never two runs of a playbook at once for a customer
			j.explain(set, pb, Explanation{Outcome: OutcomeLive, Run: st.Active}, nil)
			continue
		}
		if ok, err := pb.Trigger.When.Bool(&j.vm, &j.sc); !ok {
			j.explainCondition(set, pb, err)
			continue
		}
		key := ""
		if pb.Trigger.OncePer != nil {
			v, err := pb.Trigger.OncePer.Eval(&j.vm, &j.sc)
			if err != nil {
				j.explain(set, pb, Explanation{Outcome: OutcomeKeyError, err: err}, pb.Trigger.OncePer)
				continue
			}
			key = lang.Format(v)
		}
		if st != nil && (pb.Trigger.OncePer == nil && st.Runs > 0 || slices.Contains(st.Keys, key)) {
			j.explainUsed(set, pb, st, key)
			continue
		}
		if st == nil {
			st = &PlaybookRuns{}
			j.Playbooks[pb.Name] = st
		}
		st.Runs++
		if pb.Trigger.OncePer != nil {
			st.Keys = append(st.Keys, key)
		}
		id := RunID(pb.Name, j.Customer, st.Runs)
		st.Active = id
		if pb.Stage != "" && pb.Stage != j.Stage() {
			from := j.Stage()
			next := make(map[string]any, len(j.Attrs))
			for k, v := range j.Attrs {
				next[k] = v
			}
			next[lang.AttrStage] = pb.Stage
			j.Attrs = next
			out.Records = append(out.Records, lang.Record{At: now.UTC(), Customer: j.Customer, Playbook: pb.Name, Run: id, Kind: lang.RecStageChanged, From: from, To: pb.Stage, Reason: "run started"})
			j.sc.Reset(now, set.Schema, j.Attrs, before, ev, nil)
			j.snapshot(set, now, ev, before)
		}
		j.explain(set, pb, Explanation{Outcome: OutcomeStarted, Run: id}, nil)
		out.Starts = append(out.Starts, StartRun{Playbook: pb, ID: id, N: st.Runs, Key: key, Event: ev, Attrs: j.Attrs, Before: before})
	}
	j.explainExits(set, now, ev, before, out.Starts)
	out.Attrs = j.Attrs
}

// Running lists the ids of the running runs, in playbook order.
func (j *Journey) Running() []string {
	var ids []string
	for _, name := range sortedKeys(j.Playbooks) {
		if id := j.Playbooks[name].Active; id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func (j *Journey) hasLive(playbook string) bool {
	for _, lr := range j.Live {
		if lr.Playbook == playbook {
			return true
		}
	}
	if st := j.Playbooks[playbook]; st != nil && st.Active != "" {
		return true
	}
	return false
}

// RunEnded tells the journey a run has ended, so the playbook may start
// again. Transports call OnRunClosed, which also forgets the live run.
func (j *Journey) RunEnded(playbook, runID string) {
	if st := j.Playbooks[playbook]; st != nil && st.Active == runID {
		st.Active = ""
	}
}

// Reserve books the earliest contact-policy slot at or after now for a
// customer-facing message and returns it.
func (j *Journey) Reserve(set *lang.Set, now time.Time) time.Time {
	p := set.Schema.Policy
	tz, _ := j.Attrs["timezone"].(string)
	loc := set.Schema.Calendar.Loc(tz)
	keep := j.Contacts[:0]
	for _, c := range j.Contacts {
		if c.After(now.Add(-7 * 24 * time.Hour)) {
			keep = append(keep, c)
		}
	}
	j.Contacts = keep
	if p.MaxPerWeek == 0 && !p.HasHours {
		return now
	}
	at := set.Schema.Calendar.ContactSlot(j.Contacts, now, p.MaxPerWeek, p.Hours, p.HasHours, loc)
	j.Contacts = append(j.Contacts, at)
	sort.Slice(j.Contacts, func(a, b int) bool { return j.Contacts[a].Before(j.Contacts[b]) })
	return at
}
