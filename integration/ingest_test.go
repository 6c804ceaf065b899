package integration

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// Completing a task goes through the run, which answers for itself: the
// first completion is recorded, a second is a conflict, a mistyped task is
// not found, and a task of an unknown customer starts no journey.
func TestCompleteTaskAnswers(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "answers"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")

	res, err := control.CompleteTask(ctx(t), env.cl, task, "held", time.Now())
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if res.Task != task || res.Run != runID {
		t.Errorf("result %+v", res)
	}
	// The answer comes after the run recorded the completion.
	v, ok := runView(t, runID)
	if !ok || slices.ContainsFunc(v.State.Tasks, func(tk engine.Task) bool { return tk.ID == task }) {
		t.Fatalf("task still open after the answer: %+v", v)
	}
	if !slices.ContainsFunc(v.Timeline, func(r lang.Record) bool { return r.Kind == lang.RecTaskCompleted && r.Task == task }) {
		t.Errorf("no task.completed record in %+v", v.Timeline)
	}
	if _, err := control.CompleteTask(ctx(t), env.cl, task, "held", time.Now()); !errors.Is(err, control.ErrConflict) {
		t.Errorf("second completion: %v, want a conflict", err)
	} else if !strings.Contains(err.Error(), "already completed") {
		t.Errorf("second completion says %q", err)
	}
	typo := strings.Replace(task, "kickoff", "kickof", 1)
	if _, err := control.CompleteTask(ctx(t), env.cl, typo, "", time.Now()); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("mistyped task: %v, want not found", err)
	}
	ghost := "onboarding/nobody/1/kickoff/1"
	if _, err := control.CompleteTask(ctx(t), env.cl, ghost, "", time.Now()); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("task of an unknown customer: %v, want not found", err)
	}
	if _, err := control.GetCustomer(ctx(t), env.cl, "nobody"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("completing a task of an unknown customer made a journey: %v", err)
	}
	recordHistories(t, "customer/"+cust, runID)

	// Once the run has ended, its tasks are closed: a conflict, not "no
	// such run".
	send(t, &lang.Event{ID: cust + "-healthy", Type: "customer.updated", Customer: cust, At: time.Now(),
		Attributes: map[string]any{"health": 80}})
	if err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), nil); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	if _, err := control.CompleteTask(ctx(t), env.cl, task, "", time.Now()); !errors.Is(err, control.ErrConflict) || !strings.Contains(err.Error(), "has ended") {
		t.Errorf("a task of an ended run: %v, want a conflict saying the run has ended", err)
	}
}

// Of concurrent completions of one task, exactly one is answered yes.
func TestConcurrentCompletions(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "racers"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")
	outcomes := []string{"held", "cancelled", "no-show", "held again"}
	errs := make(chan error, len(outcomes))
	for _, o := range outcomes {
		go func() {
			_, err := control.CompleteTask(ctx(t), env.cl, task, o, time.Now())
			errs <- err
		}()
	}
	ok, conflicts := 0, 0
	for range outcomes {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, control.ErrConflict):
			conflicts++
		default:
			t.Errorf("completion: %v", err)
		}
	}
	if ok != 1 || conflicts != len(outcomes)-1 {
		t.Fatalf("%d completions answered yes and %d as conflicts; want 1 and %d", ok, conflicts, len(outcomes)-1)
	}
	v, _ := runView(t, runID)
	done := 0
	for _, r := range v.Timeline {
		if r.Kind == lang.RecTaskCompleted && r.Task == task {
			done++
		}
	}
	if done != 1 {
		t.Errorf("%d task.completed records, want 1", done)
	}
}

// An event the journey cannot apply is kept with its reason, visible per
// customer and across customers, and the journey goes on applying others.
func TestRejectedEventsAreKept(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "rejects"
	// Send bypasses the edge's checks: this stands for a schema that
	// changed between the edge and the worker.
	bad := &lang.Event{ID: "bad-1", Type: "contract.sigend", Customer: cust, At: time.Now()}
	good := &lang.Event{ID: "good-1", Type: "customer.updated", Customer: cust, At: time.Now(), Attributes: map[string]any{"health": 42}}
	if _, err := control.Send(ctx(t), env.cl, []*lang.Event{bad, good}, control.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var c *control.Customer
	waitFor(t, "the good event applied", func() (bool, string) {
		var err error
		c, err = control.GetCustomer(ctx(t), env.cl, cust)
		if err != nil {
			return false, err.Error()
		}
		return c.Attributes["health"] == 42.0, fmt.Sprintf("%+v", c.Attributes)
	})
	if len(c.Rejected) != 1 || c.Rejected[0].ID != "bad-1" || !strings.Contains(c.Rejected[0].Reason, "unknown event type contract.sigend; did you mean contract.signed?") {
		t.Fatalf("rejected = %+v", c.Rejected)
	}
	waitFor(t, "the journey listed among those with rejected events", func() (bool, string) {
		items, err := control.ListRejected(ctx(t), env.cl, "")
		if err != nil {
			return false, err.Error()
		}
		return slices.ContainsFunc(items, func(it control.RejectedItem) bool { return it.Customer == cust && it.ID == "bad-1" }), fmt.Sprint(items)
	})
	recordHistories(t, "customer/"+cust)
}

// A customer's record is capped: an event that would grow it past
// MaxRecordBytes is rejected with the reason, and the journey keeps
// applying the events after it.
func TestRecordCap(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "hoarder"
	big := strings.Repeat("x", 60<<10)
	var evs []*lang.Event
	for i, k := range []string{"name", "csm", "manager", "contact_email", "timezone"} {
		evs = append(evs, &lang.Event{ID: fmt.Sprintf("big-%d", i), Type: "customer.updated", Customer: cust, At: time.Now(),
			Attributes: map[string]any{k: big}})
	}
	evs = append(evs, &lang.Event{ID: "small", Type: "customer.updated", Customer: cust, At: time.Now(), Attributes: map[string]any{"health": 7}})
	send(t, evs...)
	var c *control.Customer
	waitFor(t, "the small event after the rejected one", func() (bool, string) {
		var err error
		c, err = control.GetCustomer(ctx(t), env.cl, cust)
		if err != nil {
			return false, err.Error()
		}
		return c.Attributes["health"] == 7.0, fmt.Sprintf("%d rejected", len(c.Rejected))
	})
	if len(c.Rejected) != 1 || c.Rejected[0].ID != "big-4" || !strings.Contains(c.Rejected[0].Reason, "at most 256 KiB") {
		t.Fatalf("rejected = %+v", c.Rejected)
	}
	if _, ok := c.Attributes["timezone"]; ok {
		t.Error("the rejected attribute was applied")
	}
}

// Customer ids in any script work end to end and are shown as given.
func TestUnicodeCustomerIDs(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	for _, cust := range []string{"zoë", "株式会社"} {
		send(t, signup(cust, time.Now())...)
		runID := engine.RunID("onboarding", cust, 1)
		task := waitTask(t, runID, "kickoff")
		c, err := control.GetCustomer(ctx(t), env.cl, cust)
		if err != nil {
			t.Fatalf("%s: %v", cust, err)
		}
		if c.ID != cust {
			t.Errorf("customer id %q, want %q", c.ID, cust)
		}
		waitFor(t, "the run of "+cust+" listed", func() (bool, string) {
			runs, err := control.ListRuns(ctx(t), env.cl, control.RunFilter{Customer: cust})
			if err != nil || len(runs) != 1 {
				return false, fmt.Sprint(runs, err)
			}
			return runs[0].ID == runID && runs[0].Customer == cust, fmt.Sprintf("%+v", runs[0])
		})
		if _, err := control.CompleteTask(ctx(t), env.cl, task, "", time.Now()); err != nil {
			t.Errorf("%s: complete %s: %v", cust, task, err)
		}
	}
}

// A task.completed for a task the running run does not have is listed as
// rejected, with the run's reason, and the task stays open.
func TestUnknownTaskRejected(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "typos"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")
	typo := strings.Replace(task, "kickoff", "kickof", 1)
	send(t, engine.CompleteTaskEvent(cust, typo, "held", time.Now()))
	waitFor(t, "the mistyped completion listed as rejected", func() (bool, string) {
		c, err := control.GetCustomer(ctx(t), env.cl, cust)
		if err != nil {
			return false, err.Error()
		}
		for _, r := range c.Rejected {
			if strings.Contains(r.Reason, "has no open task "+typo) {
				return true, ""
			}
		}
		return false, fmt.Sprint(c.Rejected)
	})
	if v, _ := runView(t, runID); !slices.ContainsFunc(v.State.Tasks, func(tk engine.Task) bool { return tk.ID == task }) {
		t.Error("the real task was closed")
	}
}
