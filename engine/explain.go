package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// Why a playbook did or did not start: tend explain. The journey keeps,
// for each playbook, the decision its trigger evaluation made at the last
// event and at the last daily check that named the playbook's trigger,
// and what it last evaluated; Journey.Explain puts them together with the
// playbook set into a Report. Nothing here changes what a journey does.

// Outcome is what a journey's trigger evaluation decided for one playbook.
type Outcome string

// Outcomes, in the order the journey checks them.
const (
	// OutcomeNoMatch: the trigger does not name the event's type (or daily).
	OutcomeNoMatch Outcome = "no-match"
	// OutcomeLive: a run of the playbook (Run) was still running.
	OutcomeLive Outcome = "live"
	// OutcomeWhenFalse: `when` (Expr) was false, with the values it read.
	OutcomeWhenFalse Outcome = "when-false"
	// OutcomeWhenError: `when` failed (Error), which counts as false.
	OutcomeWhenError Outcome = "when-error"
	// OutcomeKeyError: `once_per` failed (Error); no run starts.
	OutcomeKeyError Outcome = "once-per-error"
	// OutcomeKeyUsed: the once_per key (Key) was used before, by Run when known.
	OutcomeKeyUsed Outcome = "once-per-used"
	// OutcomeRanBefore: no once_per, and the playbook ran before (Run).
	OutcomeRanBefore Outcome = "ran-before"
	// OutcomeStarted: run Run started.
	OutcomeStarted Outcome = "started"
	// OutcomeExited: run Run started, and its exit_when (Expr) was already
	// true, so it ended at once.
	OutcomeExited Outcome = "exited-at-start"
	// OutcomeNotConsidered: the trigger names the event type now, but did
	// not when the event was applied (the playbook set changed since).
	OutcomeNotConsidered Outcome = "not-considered"
)

// Explanation is one trigger decision for one playbook.
type Explanation struct {
	Playbook string    `json:"playbook"`
	Trigger  string    `json:"trigger"`           // the event type, or daily
	Event    string    `json:"event,omitempty"`   // the event's id
	At       time.Time `json:"at"`                // when the journey evaluated it
	EventAt  time.Time `json:"event_at,omitzero"` // the event's own at, maybe long before (sent late); zero for daily
	Outcome  Outcome   `json:"outcome"`
	Run      string    `json:"run,omitempty"`
	Key      string    `json:"key,omitempty"`
	Expr     string    `json:"expr,omitempty"` // the condition the outcome is about
	Error    string    `json:"error,omitempty"`
	Values   []Var     `json:"values,omitempty"` // what Expr read, as it was
	On       []string  `json:"on,omitempty"`     // OutcomeNoMatch: the trigger's types
	Summary  string    `json:"summary,omitempty"`

	// The values are taken when they are needed (a report, or the state's
	// JSON): reading them from the maps of the evaluation, which are never
	// changed in place, costs nothing when nobody asks.
	x    *lang.Expr
	snap snapshot
	err  error // Error, until it is needed
	runN int   // Run is the runN-th run of the playbook, until it is needed
}

// Var is the value of a variable an expression read.
type Var struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"` // as text; strings quoted
	Unset bool   `json:"unset,omitempty"` // nil: the customer has no such attribute
}

// String renders the variable as tend explain prints it.
func (v Var) String() string {
	if v.Unset {
		return v.Name + " = nil (unset)"
	}
	return v.Name + " = " + v.Value
}

// Considered names the event (or daily check) a journey last evaluated
// triggers for: At is when it was applied, EventAt the event's own at
// (zero for a daily check, and in journeys from before it was kept).
type Considered struct {
	Type    string    `json:"type"`
	ID      string    `json:"id,omitempty"`
	At      time.Time `json:"at"`
	EventAt time.Time `json:"event_at,omitzero"`
}

// eventAt is the at of ev that explanations show: zero for a daily check.
func eventAt(ev *lang.Event) time.Time {
	if ev.Type == lang.EventDaily {
		return time.Time{}
	}
	return ev.At.UTC()
}

// snapshot is what an evaluation read: the scope of lang.Scope.Reset. It
// is kept by value, so that a daily check allocates nothing for it.
type snapshot struct {
	customer      string
	attrs, before map[string]any
	ev            *lang.Event
	now           time.Time // in the customer's zone, as the scope has it
	run           map[string]any
}

// Limits on what an explanation keeps of the values it shows.
const (
	maxVars     = 12
	maxVarBytes = 200
)

func (s *snapshot) lookup(name string) (any, bool) {
	var m map[string]any
	key := ""
	switch {
	case name == "now":
		return s.now, true
	case strings.HasPrefix(name, "customer."):
		m, key = s.attrs, name[len("customer."):]
	case strings.HasPrefix(name, "before."):
		m, key = s.before, name[len("before."):]
	case strings.HasPrefix(name, "event.data."):
		m, key = s.ev.Data, name[len("event.data."):]
	case name == "event.type":
		return s.ev.Type, true
	case name == "event.id":
		return s.ev.ID, true
	case name == "event.at":
		return s.ev.At, true
	case strings.HasPrefix(name, "run."):
		m, key = s.run, name[len("run."):]
	}
	v, ok := m[key]
	return v, ok && v != nil
}

func (s *snapshot) values(names []string) []Var {
	if s.ev == nil || len(names) == 0 {
		return nil
	}
	out := make([]Var, 0, min(len(names), maxVars))
	for _, n := range names[:min(len(names), maxVars)] {
		v, ok := s.lookup(n)
		if !ok {
			out = append(out, Var{Name: n, Unset: true})
			continue
		}
		text := lang.Format(v)
		if _, isString := v.(string); isString {
			text = strconv.Quote(text)
		}
		if len(text) > maxVarBytes {
			text = strings.ToValidUTF8(text[:maxVarBytes], "") + "…"
		}
		out = append(out, Var{Name: n, Value: text})
	}
	return out
}

// MarshalJSON writes the explanation with the values its expression read.
func (e Explanation) MarshalJSON() ([]byte, error) {
	type plain Explanation
	p := plain(e.taken())
	// Leave escaping <, > and & to the caller's encoder: expressions are
	// full of them, and an encoder that does not escape cannot undo it.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// taken is the explanation with its values and error read.
func (e Explanation) taken() Explanation {
	if e.Values == nil && e.x != nil {
		e.Values = e.snap.values(e.x.Reads())
	}
	if e.err != nil {
		e.Error = e.err.Error()
	}
	if e.runN > 0 {
		e.Run = RunID(e.Playbook, e.snap.customer, e.runN)
	}
	e.x, e.snap, e.err, e.runN = nil, snapshot{}, nil, 0
	return e
}

// consider notes what the journey is about to evaluate triggers for. It
// writes in place: Explain hands out copies.
func (j *Journey) consider(now time.Time, ev *lang.Event) {
	last := &j.LastEvent
	if ev.Type == lang.EventDaily {
		last = &j.LastDaily
	}
	if *last == nil {
		*last = &Considered{}
	}
	**last = Considered{Type: ev.Type, ID: ev.ID, At: now.UTC(), EventAt: eventAt(ev)}
}

// snapshot notes what the trigger evaluation under way reads, as the
// journey's scope has it: called whenever the scope is reset.
func (j *Journey) snapshot(set *lang.Set, now time.Time, ev *lang.Event, before map[string]any) {
	j.cur = snapshot{customer: j.Customer, attrs: j.Attrs, before: before, ev: ev, now: now.In(j.loc(set))}
}

// explain keeps e as playbook pb's explanation for the evaluation under way.
// x, if set, is the expression whose values it shows.
func (j *Journey) explain(set *lang.Set, pb *lang.Playbook, e Explanation, x *lang.Expr) {
	s := &j.cur
	e.Playbook, e.Trigger, e.Event, e.At, e.EventAt = pb.Name, s.ev.Type, s.ev.ID, s.now.UTC(), eventAt(s.ev)
	e.snap = *s
	if x != nil {
		e.Expr, e.x = x.Src, x
	}
	// Sorted by playbook, an event's explanation before the daily one's.
	daily := s.ev.Type == lang.EventDaily
	i := sort.Search(len(j.Explained), func(i int) bool {
		a := &j.Explained[i]
		if a.Playbook != pb.Name {
			return a.Playbook > pb.Name
		}
		return !daily || a.Trigger == lang.EventDaily
	})
	if i < len(j.Explained) && j.Explained[i].Playbook == pb.Name && (j.Explained[i].Trigger == lang.EventDaily) == daily {
		j.Explained[i] = e
		return
	}
	if len(j.Explained) == cap(j.Explained) {
		// Room for every playbook this evaluation may explain, at once.
		j.Explained = slices.Grow(j.Explained, len(set.Triggered(s.ev.Type)))
	}
	j.Explained = slices.Insert(j.Explained, i, e)
	if len(j.Explained) > 2*len(set.Playbooks) {
		// Playbooks removed from the set: forget them.
		j.Explained = slices.DeleteFunc(j.Explained, func(e Explanation) bool { return set.Playbook(e.Playbook) == nil })
	}
}

// explainCondition explains a `when` that did not hold.
func (j *Journey) explainCondition(set *lang.Set, pb *lang.Playbook, err error) {
	e := Explanation{Outcome: OutcomeWhenFalse}
	if err != nil {
		e.Outcome, e.err = OutcomeWhenError, err
	}
	j.explain(set, pb, e, pb.Trigger.When)
}

// explainUsed explains a start refused because the playbook ran before:
// for the same once_per key, or at all when it has none.
func (j *Journey) explainUsed(set *lang.Set, pb *lang.Playbook, st *PlaybookRuns, key string) {
	if pb.Trigger.OncePer == nil {
		j.explain(set, pb, Explanation{Outcome: OutcomeRanBefore, runN: st.Runs}, nil)
		return
	}
	e := Explanation{Outcome: OutcomeKeyUsed, Key: key}
	// Keys are kept in the order of the runs that used them; when every
	// run had a key, the i-th key is run i+1's.
	if i := slices.Index(st.Keys, key); i >= 0 && len(st.Keys) == st.Runs {
		e.runN = i + 1
	}
	j.explain(set, pb, e, pb.Trigger.OncePer)
}

// explainExits finds the runs just started whose exit_when is already
// true, evaluated as Run.Start does: with the attributes the run starts
// with and its run variables.
func (j *Journey) explainExits(set *lang.Set, now time.Time, ev *lang.Event, before map[string]any, starts []StartRun) {
	for _, s := range starts {
		pb := s.Playbook
		if pb.ExitWhen == nil {
			continue
		}
		run := map[string]any{"playbook": pb.Name, "version": pb.Version, "started_at": now, "owner": ""}
		sc := lang.NewScope(now, set.Schema, j.Attrs, before, ev, run)
		if pb.Owner != nil {
			v, _ := pb.Owner.Eval(&j.vm, sc)
			run["owner"] = lang.Format(v)
			sc.Reset(now, set.Schema, j.Attrs, before, ev, run)
		}
		if ok, _ := pb.ExitWhen.Bool(&j.vm, sc); !ok {
			continue
		}
		j.cur.attrs, j.cur.before, j.cur.run = j.Attrs, before, run
		j.explain(set, pb, Explanation{Outcome: OutcomeExited, Run: s.ID}, pb.ExitWhen)
	}
}

// PlaybookExplanation says why one playbook did or did not start for the
// customer at the journey's last event and its last daily check.
type PlaybookExplanation struct {
	Playbook string   `json:"playbook"`
	On       []string `json:"on"` // the trigger's event types, and daily
	// Event is the decision at the last event; nil before the first.
	Event *Explanation `json:"event,omitempty"`
	// Earlier is the last event the playbook's trigger was evaluated
	// for, when that is not the last event.
	Earlier *Explanation `json:"earlier,omitempty"`
	// Daily is the decision at the last daily check; nil before the first.
	Daily *Explanation `json:"daily,omitempty"`
}

// Report is tend explain's answer for a customer.
type Report struct {
	Customer  string                `json:"customer"`
	LastEvent *Considered           `json:"last_event,omitempty"`
	LastDaily *Considered           `json:"last_daily,omitempty"`
	Playbooks []PlaybookExplanation `json:"playbooks"`
}

// Explain says, for every playbook of set, in name order, why it did or
// did not start at the journey's last event and its last daily check.
func (j *Journey) Explain(set *lang.Set) Report {
	r := Report{Customer: j.Customer, LastEvent: copyOf(j.LastEvent), LastDaily: copyOf(j.LastDaily), Playbooks: []PlaybookExplanation{}}
	for _, pb := range set.Playbooks {
		pe := PlaybookExplanation{Playbook: pb.Name, On: triggerTypes(pb)}
		var kept, keptDaily *Explanation
		for i := range j.Explained {
			if e := &j.Explained[i]; e.Playbook == pb.Name {
				if e.Trigger == lang.EventDaily {
					keptDaily = e
				} else {
					kept = e
				}
			}
		}
		if c := j.LastEvent; c != nil {
			switch {
			case !slices.Contains(pb.Trigger.On, c.Type):
				pe.Event = noMatch(pb, c, pe.On)
				if kept != nil {
					pe.Earlier = explained(*kept)
				}
			case kept != nil && kept.Trigger == c.Type && kept.Event == c.ID && kept.At.Equal(c.At):
				pe.Event = explained(*kept)
			default:
				pe.Event = explained(Explanation{Playbook: pb.Name, Trigger: c.Type, Event: c.ID, At: c.At, EventAt: c.EventAt, Outcome: OutcomeNotConsidered})
				if kept != nil {
					pe.Earlier = explained(*kept)
				}
			}
		}
		if c := j.LastDaily; c != nil {
			switch {
			case !pb.Trigger.Daily:
				pe.Daily = noMatch(pb, c, pe.On)
			case keptDaily != nil && keptDaily.At.Equal(c.At):
				pe.Daily = explained(*keptDaily)
			default:
				pe.Daily = explained(Explanation{Playbook: pb.Name, Trigger: c.Type, At: c.At, Outcome: OutcomeNotConsidered})
			}
		}
		r.Playbooks = append(r.Playbooks, pe)
	}
	return r
}

func copyOf(c *Considered) *Considered {
	if c == nil {
		return nil
	}
	x := *c
	return &x
}

func triggerTypes(pb *lang.Playbook) []string {
	on := slices.Clone(pb.Trigger.On)
	if pb.Trigger.Daily {
		on = append(on, lang.EventDaily)
	}
	return on
}

func noMatch(pb *lang.Playbook, c *Considered, on []string) *Explanation {
	return explained(Explanation{Playbook: pb.Name, Trigger: c.Type, Event: c.ID, At: c.At, EventAt: c.EventAt, Outcome: OutcomeNoMatch, On: on})
}

func explained(e Explanation) *Explanation {
	e = e.taken()
	e.Summary = e.summary()
	return &e
}

// summary says the decision in plain words.
func (e Explanation) summary() string {
	what := "the " + e.Trigger + " event"
	if e.Trigger == lang.EventDaily {
		what = "the daily check"
	}
	switch e.Outcome {
	case OutcomeStarted:
		return "started " + e.Run
	case OutcomeExited:
		return fmt.Sprintf("started %s, but its exit_when %s was already true, so it exited at once", e.Run, e.Expr)
	case OutcomeNoMatch:
		if len(e.On) == 0 {
			return "not triggered by " + what + ": the trigger names no event type"
		}
		return fmt.Sprintf("not triggered by %s: the trigger is on %s", what, strings.Join(e.On, ", "))
	case OutcomeLive:
		return e.Run + " was still running, and a playbook runs once at a time per customer"
	case OutcomeWhenFalse:
		return "when was false: " + e.Expr
	case OutcomeWhenError:
		return "when could not be evaluated, which counts as false: " + e.Error
	case OutcomeKeyError:
		return "once_per could not be evaluated, so no run started: " + e.Error
	case OutcomeKeyUsed:
		by := "an earlier run"
		if e.Run != "" {
			by = e.Run
		}
		return fmt.Sprintf("once_per %s is %s, a key already used by %s", e.Expr, strconv.Quote(e.Key), by)
	case OutcomeRanBefore:
		return "it already ran for this customer (" + e.Run + "): without once_per, a playbook runs once per customer"
	case OutcomeNotConsidered:
		return "not evaluated at " + what + ": the playbook's trigger did not name it then (the playbook set has changed since)"
	}
	return string(e.Outcome)
}

// ErrUnknownPlaybook is the error of Report.Only for a playbook the set
// does not have; match it with errors.Is.
var ErrUnknownPlaybook = errors.New("unknown playbook")

type unknownPlaybook struct{ msg string }

func (e *unknownPlaybook) Error() string        { return e.msg }
func (e *unknownPlaybook) Is(target error) bool { return target == ErrUnknownPlaybook }

// Only keeps the named playbook's explanation. A name the report does not
// have is an error that names the playbooks it has.
func (r *Report) Only(name string) error {
	names := make([]string, 0, len(r.Playbooks))
	for _, p := range r.Playbooks {
		if p.Playbook == name {
			r.Playbooks = []PlaybookExplanation{p}
			return nil
		}
		names = append(names, p.Playbook)
	}
	if len(names) == 0 {
		return &unknownPlaybook{fmt.Sprintf("unknown playbook %s: the playbook set has none", name)}
	}
	hint := ""
	if s := tendfmt.Suggest(name, names); s != "" {
		hint = "; did you mean " + s + "?"
	}
	return &unknownPlaybook{fmt.Sprintf("unknown playbook %s%s; the playbooks are %s", name, hint, strings.Join(names, ", "))}
}
