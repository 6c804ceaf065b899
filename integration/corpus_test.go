package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// TestReplayCorpus runs one tiny playbook per step kind and per protocol
// message (testdata/corpus) to its end on the embedded server. With
// -record, it adds each journey's and run's history to the replay corpus
// (workflows/testdata/replay), which every later build must replay.
func TestReplayCorpus(t *testing.T) {
	n := startNodeIn(t, "testdata/corpus")
	defer n.Stop()
	now := time.Now().UTC()
	profile := func(c string) *lang.Event {
		return &lang.Event{ID: c + "-profile", Type: "customer.updated", Customer: c, At: now, Attributes: map[string]any{
			"name": c, "csm": "jo@vendor.example", "manager": "max@vendor.example", "contact_email": "it@" + c + ".example", "health": 20}}
	}
	trigger := func(c, kind, id string) *lang.Event {
		return &lang.Event{ID: c + "-" + id, Type: "corpus." + kind, Customer: c, At: time.Now().UTC()}
	}
	healthy := func(c string) *lang.Event {
		return &lang.Event{ID: c + "-healthy", Type: "customer.updated", Customer: c, At: time.Now().UTC(), Attributes: map[string]any{"health": 80}}
	}
	// Each case starts its customer's run and drives it to its end; the
	// cases run side by side, as the wait and the repeat take a minute.
	cases := []struct {
		kind  string
		drive func(t *testing.T, c, run string)
	}{
		{"email", nil}, {"survey", nil}, {"notify", nil}, {"webhook", nil}, {"update", nil}, {"if", nil}, {"wait", nil},
		{"call", func(t *testing.T, c, run string) {
			waitTask(t, run, "kickoff")
			// A task.completed that names no task of the run: MsgReject.
			send(t, &lang.Event{ID: c + "-typo", Type: lang.EventTaskCompleted, Customer: c, At: time.Now().UTC(),
				Data: map[string]any{"task": "kind-call/" + c + "/1/kickof/1"}})
			send(t, &lang.Event{ID: c + "-done", Type: lang.EventTaskCompleted, Customer: c, At: time.Now().UTC(),
				Data: map[string]any{"playbook": "kind-call", "step": "kickoff", "outcome": "held"}})
		}},
		{"training", func(t *testing.T, c, run string) {
			task := waitTask(t, run, "basics")
			if _, err := control.CompleteTask(ctx(t), env.cl, task, "held", time.Now()); err != nil {
				t.Errorf("complete %s: %v", task, err)
			}
		}},
		{"escalate", func(t *testing.T, c, run string) {
			task := waitTask(t, run, "alarm")
			send(t, engine.CompleteTaskEvent(c, task, "handled", time.Now().UTC()))
		}},
		{"task", func(t *testing.T, c, run string) {
			task := waitTask(t, run, "todo")
			// Steps done (MsgStepsDone): the playbook is free for run 2
			// once the journey has the message.
			waitFor(t, "the journey to free kind-task", func() (bool, string) {
				jv := journeyView(t, c)
				return jv != nil && len(jv.Running) == 0, fmt.Sprint(jv)
			})
			send(t, trigger(c, "task", "again"))
			waitFor(t, "run 2 of kind-task", func() (bool, string) {
				_, ok := runView(t, engine.RunID("kind-task", c, 2))
				return ok, "no run 2"
			})
			for _, id := range []string{task, engine.TaskKey(engine.RunID("kind-task", c, 2), "todo", 1)} {
				if id != task {
					waitTask(t, engine.RunID("kind-task", c, 2), "todo")
				}
				if _, err := control.CompleteTask(ctx(t), env.cl, id, "done", time.Now()); err != nil {
					t.Errorf("complete %s: %v", id, err)
				}
			}
		}},
		{"wait_for", func(t *testing.T, c, run string) {
			waitFor(t, run+" waiting", func() (bool, string) {
				v, ok := runView(t, run)
				return ok && v.State.Status == engine.StatusWaiting, fmt.Sprint(ok)
			})
			send(t, healthy(c))
		}},
		{"repeat", func(t *testing.T, c, run string) {
			waitFor(t, run+" repeating", func() (bool, string) {
				v, ok := runView(t, run)
				return ok && v.State.Status == engine.StatusWaiting, fmt.Sprint(ok)
			})
			send(t, healthy(c))
		}},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		c := "corpus-" + tc.kind
		pb := "kind-" + map[string]string{"wait_for": "wait-for"}[tc.kind]
		if pb == "kind-" {
			pb += tc.kind
		}
		run := engine.RunID(pb, c, 1)
		send(t, profile(c), trigger(c, tc.kind, "go"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitFor(t, run+" to start", func() (bool, string) {
				_, ok := runView(t, run)
				return ok, "not yet"
			})
			if tc.drive != nil {
				tc.drive(t, c, run)
			}
			var res workflows.RunResult
			if err := env.cl.GetWorkflow(ctx(t), workflows.WorkflowID(run), "").Get(ctx(t), &res); err != nil {
				t.Errorf("run %s: %v\n%s", run, err, historyText(t, run))
				return
			}
			if res.Status != engine.StatusCompleted {
				t.Errorf("run %s ended %s: %s", run, res.Status, res.Reason)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var ids []string
	for _, tc := range cases {
		c := "corpus-" + tc.kind
		pb := "kind-" + map[string]string{"wait_for": "wait-for"}[tc.kind]
		if pb == "kind-" {
			pb += tc.kind
		}
		ids = append(ids, workflows.JourneyID(c), engine.RunID(pb, c, 1))
	}
	ids = append(ids, engine.RunID("kind-task", "corpus-task", 2))
	// The journeys learn of the last run's end from Temporal.
	for _, tc := range cases {
		c := "corpus-" + tc.kind
		waitFor(t, c+" with no run live", func() (bool, string) {
			jv := journeyView(t, c)
			return jv != nil && len(jv.Running) == 0, fmt.Sprint(jv)
		})
	}
	recordHistories(t, ids...)
}

// journeyView queries a customer's journey; nil while it cannot answer.
func journeyView(t *testing.T, customer string) *workflows.JourneyView {
	var jv workflows.JourneyView
	q, err := env.cl.QueryWorkflow(ctx(t), workflows.JourneyID(customer), "", workflows.QueryState)
	if err == nil {
		err = q.Get(&jv)
	}
	if err != nil {
		return nil
	}
	return &jv
}
