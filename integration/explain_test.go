package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// explainSet is the playbook set of the tend explain tests: one playbook
// per answer.
const explainSet = "testdata/explain"

// explainWhen polls the live journey's explanation until it explains the
// event lastID, and returns it.
func explainWhen(t *testing.T, customer, playbook, lastID string) *control.Explanation {
	t.Helper()
	var ex *control.Explanation
	protoPoll(t, 60*time.Second, "the journey of "+customer+" to explain "+lastID, func() (bool, string) {
		c, cancel := shortCtx()
		defer cancel()
		var err error
		ex, err = control.Explain(c, env.cl, customer, playbook)
		if err != nil {
			return false, err.Error()
		}
		return ex.LastEvent != nil && ex.LastEvent.ID == lastID, fmt.Sprintf("last event %+v", ex.LastEvent)
	})
	return ex
}

// TestExplainLive asks live journeys on the embedded server why a playbook
// did or did not start at their last event: every answer an event can
// give (daily checks, which a test cannot wait a day for, come from the
// same engine code and are tested in the simulator).
func TestExplainLive(t *testing.T) {
	protoNode(t, explainSet, workflows.Options{})
	now := time.Now().UTC().Truncate(time.Second)
	profile := func(cust string, attrs map[string]any) *lang.Event {
		return &lang.Event{ID: cust + "-profile", Type: lang.EventCustomerUpdated, Customer: cust, At: now, Attributes: attrs}
	}
	signed := func(cust, id string) *lang.Event {
		return &lang.Event{ID: id, Type: "contract.signed", Customer: cust, At: now, Data: map[string]any{"plan": "pro"}}
	}
	nps := func(cust, id string, score int) *lang.Event {
		return &lang.Event{ID: id, Type: "nps.responded", Customer: cust, At: now, Data: map[string]any{"score": score}}
	}
	updated := func(cust, id string, health int) *lang.Event {
		return &lang.Event{ID: id, Type: lang.EventCustomerUpdated, Customer: cust, At: now, Attributes: map[string]any{"health": health}}
	}
	tests := []struct {
		customer string
		events   func(cust string) []*lang.Event
		playbook string
		outcome  engine.Outcome
		run, key string
		values   []string
		summary  string
	}{
		{"explain-started", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"segment": "enterprise"}), signed(c, c+"-1")}
		}, "welcome", engine.OutcomeStarted, "run/welcome/explain-started/1", "", nil, "started run/welcome/explain-started/1"},
		{"explain-nomatch", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"segment": "enterprise"}), nps(c, c+"-1", 3)}
		}, "welcome", engine.OutcomeNoMatch, "", "", nil, "not triggered by the nps.responded event: the trigger is on contract.signed"},
		{"explain-false", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"health": 80}), updated(c, c+"-1", 72)}
		}, "health-drop", engine.OutcomeWhenFalse, "", "", []string{"before.health = 80", "customer.health = 72"},
			"when was false: before.health >= 60 && customer.health < 60"},
		{"explain-error", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"name": "No Health"}), updated(c, c+"-1", 50)}
		}, "health-drop", engine.OutcomeWhenError, "", "", []string{"before.health = nil (unset)", "customer.health = 50"}, ""},
		{"explain-key", func(c string) []*lang.Event {
			return []*lang.Event{nps(c, c+"-1", 9), nps(c, c+"-2", 9)}
		}, "nps-followup", engine.OutcomeKeyUsed, "run/nps-followup/explain-key/1", "9", []string{"event.data.score = 9"},
			`once_per event.data.score is "9", a key already used by run/nps-followup/explain-key/1`},
		{"explain-keyerror", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"health": 70}), nps(c, c+"-1", 9)}
		}, "tally", engine.OutcomeKeyError, "", "", []string{"customer.health = 70", "customer.seats = nil (unset)"}, ""},
		{"explain-once", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"segment": "enterprise"}), signed(c, c+"-1"), signed(c, c+"-2")}
		}, "welcome", engine.OutcomeRanBefore, "run/welcome/explain-once/1", "", nil, ""},
		{"explain-live", func(c string) []*lang.Event {
			return []*lang.Event{signed(c, c+"-1"), signed(c, c+"-2")}
		}, "onboarding", engine.OutcomeLive, "run/onboarding/explain-live/1", "", nil,
			"run/onboarding/explain-live/1 was still running, and a playbook runs once at a time per customer"},
		{"explain-exited", func(c string) []*lang.Event {
			return []*lang.Event{profile(c, map[string]any{"stage": "churned"}), signed(c, c+"-1")}
		}, "onboarding", engine.OutcomeExited, "run/onboarding/explain-exited/1", "", []string{`customer.stage = "churned"`},
			`started run/onboarding/explain-exited/1, but its exit_when customer.stage == "churned" was already true, so it exited at once`},
	}
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			c := tt.customer
			runs := []string{}
			for _, pb := range []string{"welcome", "onboarding", "nps-followup", "health-drop", "tally"} {
				runs = append(runs, engine.RunID(pb, c, 1))
			}
			protoForget(t, c, runs...)
			evs := tt.events(c)
			if tt.outcome == engine.OutcomeKeyUsed || tt.outcome == engine.OutcomeRanBefore {
				// The first run must have ended, or the answer is "live".
				send(t, evs[:len(evs)-1]...)
				protoPoll(t, 60*time.Second, "the journey to hear that "+tt.run+" ended", func() (bool, string) {
					jv, err := protoJourney(c)
					if err != nil {
						return false, err.Error()
					}
					return jv.Explain != nil && jv.Explain.LastEvent != nil && jv.Explain.LastEvent.ID == evs[len(evs)-2].ID &&
						!slices.Contains(jv.Running, tt.run), fmt.Sprintf("running %v", jv.Running)
				})
				evs = evs[len(evs)-1:]
			}
			send(t, evs...)
			ex := explainWhen(t, c, tt.playbook, evs[len(evs)-1].ID)
			if len(ex.Playbooks) != 1 {
				t.Fatalf("want one playbook, got %+v", ex.Playbooks)
			}
			e := ex.Playbooks[0].Event
			var vals []string
			for _, v := range e.Values {
				vals = append(vals, v.String())
			}
			if e.Outcome != tt.outcome || e.Run != tt.run || e.Key != tt.key || !slices.Equal(vals, tt.values) {
				t.Errorf("got %s run %q key %q values %q, want %s run %q key %q values %q (%s)",
					e.Outcome, e.Run, e.Key, vals, tt.outcome, tt.run, tt.key, tt.values, e.Summary)
			}
			if tt.summary != "" && e.Summary != tt.summary {
				t.Errorf("summary %q, want %q", e.Summary, tt.summary)
			}
			if tt.outcome == engine.OutcomeExited {
				// The journey's word agrees with the run's.
				protoPoll(t, 60*time.Second, tt.run+" to exit", func() (bool, string) {
					v, err := protoRun(tt.run)
					if err != nil {
						return false, err.Error()
					}
					return v.State.Status == engine.StatusExited, string(v.State.Status)
				})
			}
		})
	}
}

// TestExplainAcrossContinueAsNew checks that a journey's explanations, with
// the values their conditions read, survive continue-as-new: the last
// event is applied, then duplicates of it (dropped, so explaining nothing)
// carry the journey into a new execution.
func TestExplainAcrossContinueAsNew(t *testing.T) {
	protoNode(t, explainSet, workflows.Options{HistoryLimit: 40})
	const cust = "explain-can"
	protoForget(t, cust)
	var burst []*lang.Event
	for i := range 10 {
		burst = append(burst, &lang.Event{ID: fmt.Sprintf("%s-%d", cust, i), Type: lang.EventCustomerUpdated, Customer: cust,
			At: time.Now(), Attributes: map[string]any{"health": 90 - i}})
	}
	send(t, burst...)
	last := burst[len(burst)-1]
	explainWhen(t, cust, "health-drop", last.ID)
	n := executions(t, workflows.JourneyID(cust))
	protoPoll(t, 60*time.Second, "a continue-as-new", func() (bool, string) {
		send(t, last, last, last, last, last)
		m := executions(t, workflows.JourneyID(cust))
		return m > n, fmt.Sprintf("%d executions", m)
	})
	ex := explainWhen(t, cust, "health-drop", last.ID)
	e := ex.Playbooks[0].Event
	var vals []string
	for _, v := range e.Values {
		vals = append(vals, v.String())
	}
	// 81 after 82: not a crossing below 60.
	if e.Outcome != engine.OutcomeWhenFalse || !slices.Equal(vals, []string{"before.health = 82", "customer.health = 81"}) {
		t.Errorf("after continue-as-new: %s with %q, want when-false with before.health = 82, customer.health = 81", e.Outcome, vals)
	}
}
