//go:build devserver

// This test runs control against a real Temporal server (the embedded
// devserver) with stand-in workflows under the SPEC 7 names, so that the
// visibility queries, search attributes, signals and queries are checked
// end to end. It is behind the devserver build tag until devserver lands:
//
//	go test -tags devserver -run Server ./control
package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// fakeJourney keeps the events it is sent and returns them to QueryState.
func fakeJourney(ctx workflow.Context, in workflows.JourneyInput) error {
	var got []engine.Event
	if err := workflow.SetQueryHandler(ctx, workflows.QueryState, func() ([]engine.Event, error) { return got, nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, workflows.SignalEvent)
	for {
		var ev engine.Event
		ch.Receive(ctx, &ev)
		got = append(got, ev)
	}
}

type fakeRunInput struct {
	State engine.RunState
	Step  string
}

// fakeRun answers QueryState with its state and finishes on a "finish" signal.
func fakeRun(ctx workflow.Context, in fakeRunInput) error {
	view := workflows.RunView{State: in.State, Waiting: "a test", Timeline: []engine.Record{{At: in.State.StartedAt, Kind: engine.RecRunStarted, Reason: "triggered by test"}}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryState, func() (workflows.RunView, error) { return view, nil }); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	view.State.Status, view.State.Tasks = engine.StatusCompleted, nil
	return workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrStatus.ValueSet(string(engine.StatusCompleted)))
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		<-tick.C
	}
}

func TestServer(t *testing.T) {
	srv, err := devserver.Start(devserver.Options{SearchAttributes: workflows.SearchAttributes()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(fakeJourney, workflow.RegisterOptions{Name: workflows.JourneyWorkflow})
	w.RegisterWorkflowWithOptions(fakeRun, workflow.RegisterOptions{Name: workflows.RunWorkflow})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx := context.Background()

	// Events reach the journeys, started on the first event.
	// A quote in a value must be escaped. (Backslashes, double quotes and
	// control characters cannot be matched on SQL visibility stores: the
	// server re-escapes them MySQL-style, which SQLite takes literally.)
	customer := `o'brien & co`
	evs := []*engine.Event{
		{Type: "contract.signed", Customer: customer, At: time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC), Data: map[string]any{"arr": 90000}},
		{ID: "crm-2", Type: "customer.updated", Customer: "globex", At: time.Date(2026, 1, 6, 15, 0, 0, 0, time.UTC), Attributes: map[string]any{"health": 41}},
	}
	if err := SendEvents(ctx, c, evs); err != nil {
		t.Fatal(err)
	}
	if err := CompleteTask(ctx, c, "onboarding/"+customer+"/1/kickoff/1", "held", time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "journey events", func() error {
		v, err := c.QueryWorkflow(ctx, workflows.JourneyID(customer), "", workflows.QueryState)
		if err != nil {
			return err
		}
		var got []engine.Event
		if err := v.Get(&got); err != nil {
			return err
		}
		if len(got) != 2 || got[0].ID != evs[0].ID || got[0].Data["arr"] != float64(90000) ||
			got[1].Type != engine.EventTaskCompleted || got[1].Data["task"] != "onboarding/"+customer+"/1/kickoff/1" {
			return fmt.Errorf("journey has %+v", got)
		}
		return nil
	})

	// Two runs, started as a journey would start them.
	start := func(pb, cust, step, owner string, status engine.Status, tasks ...engine.Task) {
		id := engine.RunID(pb, cust, 1)
		st := engine.RunState{ID: id, Playbook: pb, Customer: cust, N: 1, Owner: owner, Status: status, Tasks: tasks, StartedAt: time.Now().UTC()}
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: workflows.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.AttrCustomer.ValueSet(cust), workflows.AttrPlaybook.ValueSet(pb), workflows.AttrVersion.ValueSet("v1"),
				workflows.AttrStep.ValueSet(step), workflows.AttrOwner.ValueSet(owner), workflows.AttrStatus.ValueSet(string(status))),
		}, workflows.RunWorkflow, fakeRunInput{State: st, Step: step})
		if err != nil {
			t.Fatal(err)
		}
	}
	due := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	start("onboarding", customer, "kickoff", "jo@vendor.example", engine.StatusOverdue,
		engine.Task{ID: "onboarding/" + customer + "/1/kickoff/1", Step: "kickoff", Action: "call", Owner: "jo@vendor.example", Due: due, Overdue: true})
	start("nps", "globex", "survey", "ana@vendor.example", engine.StatusWaiting,
		engine.Task{ID: "nps/globex/1/follow-up/1", Step: "follow-up", Action: "task", Owner: "ana@vendor.example", Due: due.Add(48 * time.Hour)})

	eventually(t, "list runs", func() error {
		runs, err := ListRuns(ctx, c, RunFilter{Customer: customer})
		if err != nil {
			return err
		}
		if len(runs) != 1 || runs[0].ID != "run/onboarding/"+customer+"/1" || runs[0].Status != "overdue" || runs[0].Owner != "jo@vendor.example" || runs[0].Version != "v1" || runs[0].Step != "kickoff" {
			return fmt.Errorf("runs: %+v", runs)
		}
		return nil
	})
	all, err := ListRuns(ctx, c, RunFilter{})
	if err != nil || len(all) != 2 || all[0].Playbook != "nps" {
		t.Errorf("all runs, newest first: %+v, %v", all, err)
	}
	if runs, err := ListRuns(ctx, c, RunFilter{Status: "waiting", Playbook: "nps"}); err != nil || len(runs) != 1 {
		t.Errorf("waiting nps runs: %+v, %v", runs, err)
	}
	if runs, err := ListRuns(ctx, c, RunFilter{Customer: "o'brien"}); err != nil || len(runs) != 0 {
		t.Errorf("a prefix of the customer matched: %+v, %v", runs, err)
	}

	tasks, err := ListTasks(ctx, c, TaskFilter{Overdue: true})
	if err != nil || len(tasks) != 1 || tasks[0].Customer != customer || tasks[0].Run != "run/onboarding/"+customer+"/1" {
		t.Errorf("overdue tasks: %+v, %v", tasks, err)
	}
	if tasks, err := ListTasks(ctx, c, TaskFilter{Owner: "ana@vendor.example"}); err != nil || len(tasks) != 1 || tasks[0].Playbook != "nps" {
		t.Errorf("ana's tasks: %+v, %v", tasks, err)
	}

	view, err := ShowRun(ctx, c, "run/nps/globex/1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	FormatTimeline(&buf, view)
	if !strings.Contains(buf.String(), "Waiting   a test") || !strings.Contains(buf.String(), "triggered by test") {
		t.Errorf("timeline:\n%s", buf.String())
	}
	if _, err := ShowRun(ctx, c, "run/nps/nobody/1"); err == nil || !strings.HasPrefix(err.Error(), "no run run/nps/nobody/1") {
		t.Errorf("missing run: %v", err)
	}

	// A finished run leaves ListTasks and shows its final status.
	if err := c.SignalWorkflow(ctx, "run/nps/globex/1", "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "finished run", func() error {
		runs, err := ListRuns(ctx, c, RunFilter{Status: "completed"})
		if err != nil {
			return err
		}
		if len(runs) != 1 || runs[0].Close == nil {
			return errors.New("not yet completed in visibility")
		}
		return nil
	})
	if tasks, err := ListTasks(ctx, c, TaskFilter{}); err != nil || len(tasks) != 1 {
		t.Errorf("tasks after the nps run finished: %+v, %v", tasks, err)
	}
}
