package integration

// Tests of the customer protocol on the embedded server: how a journey
// learns that a run has ended (the child's completion, or a signal that
// finds no workflow for a run inherited over continue-as-new), runs whose
// steps are done but whose tasks are open, daily checks in the customer's
// zone, a recorded playbook set that no longer compiles, and a backlog
// that piles up while no worker runs. Their playbooks are in
// testdata/protocol.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

const (
	protoBase  = "testdata/protocol/base"
	protoDaily = "testdata/protocol/daily"
)

// protoNode starts a worker on a playbook directory with the tests' shared
// store of sets (sets), and stops it when the test ends (after
// protoForget's terminations, which are registered later).
func protoNode(t *testing.T, playbooks string, wo workflows.Options) *node.Node {
	t.Helper()
	cfg := config.Default()
	cfg.Outbox = env.outbox
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: env.crm.url, Secret: "test-secret", Timeout: 10 * time.Second}}
	cfg.Links = &config.Links{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}
	wo.ActivityTimeout, wo.RetryInitial, wo.RetryMax = 3*time.Second, 100*time.Millisecond, time.Second
	n, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: playbooks, Logger: logger(), Reload: -1,
		Workflows: wo, Store: sets})
	if err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

// protoForget terminates a test's workflows when it ends, journeys first,
// so that no run's end wakes a journey that a later test's worker (with
// other playbooks) would then be asked to run.
func protoForget(t *testing.T, customer string, runs ...string) {
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, id := range append([]string{workflows.JourneyID(customer)}, runs...) {
			_ = env.cl.TerminateWorkflow(c, workflows.WorkflowID(id), "", "end of "+t.Name())
		}
	})
}

// protoPoll is waitFor with a deadline of the caller's choosing.
func protoPoll(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if ok, last := pollUntil(within, cond); !ok {
		t.Fatalf("timed out after %s waiting for %s; last seen: %s", within, what, last)
	}
}

// pollUntil polls cond every 50ms until it holds or the deadline passes,
// and returns whether it held and the last state it reported.
func pollUntil(within time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok || time.Now().After(deadline) {
			return ok, state
		}
		<-tick.C
	}
}

// knownBugStop fails a test on the product bug protocol_test.go found (a
// run started in the workflow task where its journey continues as new was
// never started), with the evidence. It is fixed: the journey waits for
// its children to have started before it continues as new.
func knownBugStop(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatal("PRODUCT BUG: " + fmt.Sprintf(format, args...))
}

// shortCtx is a context for one call inside a poll: a busy workflow may not
// answer a query at once, and the poll should then go round again.
func shortCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func protoJourney(customer string) (*workflows.JourneyView, error) {
	c, cancel := shortCtx()
	defer cancel()
	q, err := env.cl.QueryWorkflow(c, workflows.JourneyID(customer), "", workflows.QueryState)
	if err != nil {
		return nil, err
	}
	var jv workflows.JourneyView
	if err := q.Get(&jv); err != nil {
		return nil, err
	}
	return &jv, nil
}

func protoRun(runID string) (*workflows.RunView, error) {
	c, cancel := shortCtx()
	defer cancel()
	return control.ShowRun(c, env.cl, runID)
}

// execStatus is the status of a workflow's latest execution.
func execStatus(t *testing.T, id string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := env.cl.DescribeWorkflowExecution(ctx(t), workflows.WorkflowID(id), "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// waitRunStarted waits until a run answers its query. A run the journey
// started in the workflow task in which it continued as new was never
// started by Temporal (see TestRunStartedAtContinueAsNew): that is reported
// as the known bug it is.
func waitRunStarted(t *testing.T, runID, customer string) *workflows.RunView {
	t.Helper()
	journey := workflows.JourneyID(customer)
	var v *workflows.RunView
	polls := 0
	ok, last := pollUntil(60*time.Second, func() (bool, string) {
		var err error
		if v, err = protoRun(runID); err == nil {
			return true, ""
		}
		// A lost start is final: the parent's history shows it.
		if polls++; polls%20 == 0 {
			if _, lost := lostAtContinueAsNew(t, journey, workflows.WorkflowID(runID)); lost {
				return true, "lost"
			}
		}
		return false, err.Error()
	})
	if ok && v != nil {
		return v
	}
	if exec, lost := lostAtContinueAsNew(t, journey, workflows.WorkflowID(runID)); lost {
		knownBugStop(t, "%s never started: journey execution %d issued StartChildWorkflowExecution for it and continued as new "+
			"in the same workflow task, and Temporal does not start the child of a closed parent (case 3 of "+
			"processStartChildExecution). The run never runs: the next execution's adopt message finds no workflow and the "+
			"journey forgets it, with the trigger's once_per key spent. Journey executions:\n%s",
			runID, exec, chainText(t, journey))
	}
	t.Fatalf("timed out waiting for %s to start; last seen: %s\njourney executions:\n%s", runID, last, chainText(t, journey))
	return nil
}

// lostAtContinueAsNew finds the journey execution that initiated a child
// start and continued as new before the child started.
func lostAtContinueAsNew(t *testing.T, journey, run string) (int, bool) {
	for i, evs := range protoChain(t, journey) {
		initiated, settled := false, false
		for _, e := range evs {
			switch {
			case e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId() == run:
				initiated = true
			case e.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution().GetWorkflowId() == run,
				e.GetStartChildWorkflowExecutionFailedEventAttributes().GetWorkflowId() == run:
				settled = true
			}
		}
		last := evs[len(evs)-1].GetEventType()
		if initiated && !settled && last == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			return i + 1, true
		}
	}
	return 0, false
}

// chainText lists every execution of a workflow, for failure messages:
// each event with the child or signal target it names.
func chainText(t *testing.T, id string) string {
	var b strings.Builder
	for i, evs := range protoChain(t, id) {
		fmt.Fprintf(&b, "  execution %d:\n", i+1)
		for _, e := range evs {
			fmt.Fprintf(&b, "    %d %s", e.EventId, e.EventType)
			switch {
			case e.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil:
				b.WriteString(" " + e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId())
			case e.GetChildWorkflowExecutionStartedEventAttributes() != nil:
				b.WriteString(" " + e.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution().GetWorkflowId())
			case e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes() != nil:
				b.WriteString(" → " + e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetWorkflowExecution().GetWorkflowId())
			case e.GetSignalExternalWorkflowExecutionFailedEventAttributes() != nil:
				a := e.GetSignalExternalWorkflowExecutionFailedEventAttributes()
				b.WriteString(" " + a.GetWorkflowExecution().GetWorkflowId() + " " + a.GetCause().String())
			case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
				a := e.GetWorkflowExecutionSignaledEventAttributes()
				fmt.Fprintf(&b, " %s %.120s", a.GetSignalName(), a.GetInput().GetPayloads()[0].GetData())
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// protoHistory reads one execution's history (runID "" is the latest) of a
// workflow id (workflows.JourneyID, workflows.WorkflowID of a run id).
func protoHistory(t *testing.T, id, runID string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	it := env.cl.GetWorkflowHistory(ctx(t), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s %s: %v", id, runID, err)
		}
		out = append(out, ev)
	}
	return out
}

// protoChain returns the histories of every execution of a workflow, oldest
// first, following the continue-as-new chain back from the latest one.
func protoChain(t *testing.T, id string) [][]*historypb.HistoryEvent {
	t.Helper()
	var out [][]*historypb.HistoryEvent
	runID := ""
	for {
		evs := protoHistory(t, id, runID)
		if len(evs) == 0 {
			t.Fatalf("empty history for %s %s", id, runID)
		}
		out = append([][]*historypb.HistoryEvent{evs}, out...)
		runID = evs[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return out
		}
	}
}

func holdEvent(customer, id string) *lang.Event {
	return &lang.Event{ID: id, Type: "hold.requested", Customer: customer, At: time.Now()}
}

// TestTerminatedRunFreesPlaybook: a run terminated from outside tend (the
// Temporal UI, tctl) frees its playbook. The journey that started it learns
// it from the child's completion; a journey that has continued as new since
// learns it when the next trigger's ping finds no workflow. Either way the
// next trigger starts run 2.
func TestTerminatedRunFreesPlaybook(t *testing.T) {
	t.Run("child", func(t *testing.T) {
		protoNode(t, protoBase, workflows.Options{})
		const cust = "term-child"
		run1, run2 := engine.RunID("hold", cust, 1), engine.RunID("hold", cust, 2)
		protoForget(t, cust, run1, run2)
		send(t, holdEvent(cust, cust+"-1"))
		waitRunStarted(t, run1, cust)
		if err := env.cl.TerminateWorkflow(ctx(t), workflows.WorkflowID(run1), "", "an operator ended it"); err != nil {
			t.Fatal(err)
		}
		// Temporal tells the parent asynchronously; a trigger that reached
		// the journey before that would rightly find the playbook busy.
		protoPoll(t, 60*time.Second, "the journey to learn that "+run1+" ended", func() (bool, string) {
			jv, err := protoJourney(cust)
			if err != nil {
				return false, err.Error()
			}
			return !slices.Contains(jv.Running, run1), fmt.Sprintf("running %v\n%s", jv.Running, historyText(t, workflows.JourneyID(cust)))
		})
		if !slices.ContainsFunc(protoHistory(t, workflows.JourneyID(cust), ""), func(e *historypb.HistoryEvent) bool {
			return e.GetChildWorkflowExecutionTerminatedEventAttributes().GetWorkflowExecution().GetWorkflowId() == run1
		}) {
			t.Errorf("the journey's history has no ChildWorkflowExecutionTerminated for %s", run1)
		}
		send(t, holdEvent(cust, cust+"-2"))
		waitRunStarted(t, run2, cust)
		if st := execStatus(t, run2); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("%s is %s, want running", run2, st)
		}
	})

	t.Run("inherited", func(t *testing.T) {
		const limit = 40
		protoNode(t, protoBase, workflows.Options{HistoryLimit: limit})
		const cust = "term-inherited"
		run1, run2 := engine.RunID("hold", cust, 1), engine.RunID("hold", cust, 2)
		protoForget(t, cust, run1, run2)
		send(t, holdEvent(cust, cust+"-1"))
		waitRunStarted(t, run1, cust)
		first, err := env.cl.DescribeWorkflowExecution(ctx(t), workflows.JourneyID(cust), "")
		if err != nil {
			t.Fatal(err)
		}
		firstRun := first.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		update := func(i int) *lang.Event {
			return &lang.Event{ID: fmt.Sprintf("%s-u%d", cust, i), Type: lang.EventCustomerUpdated,
				Customer: cust, At: time.Now(), Attributes: map[string]any{"health": float64(i)}}
		}
		var burst []*lang.Event
		for i := range 30 {
			burst = append(burst, update(i))
		}
		send(t, burst...)
		// Wait for an execution after the first, with room for the next
		// trigger (its signal, a ping, the child's start: about a dozen
		// events) before the limit: a run started in the workflow task that
		// continues as new is lost (TestRunStartedAtContinueAsNew), and
		// that is not what this test is about. More updates move the
		// journey on to a fresh execution.
		sent := len(burst)
		protoPoll(t, 60*time.Second, "the journey to apply the burst in a later execution with room to spare", func() (bool, string) {
			d, err := env.cl.DescribeWorkflowExecution(ctx(t), workflows.JourneyID(cust), "")
			if err != nil {
				return false, err.Error()
			}
			jv, err := protoJourney(cust)
			if err != nil {
				return false, err.Error()
			}
			cur := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
			evs := protoHistory(t, workflows.JourneyID(cust), cur)
			inFlight := 0 // signals to runs not yet answered: each adds an event
			for _, e := range evs {
				switch e.GetEventType() {
				case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
					inFlight++
				case enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
					inFlight--
				}
			}
			last := evs[len(evs)-1].GetEventType()
			state := fmt.Sprintf("execution %s (first %s) of %d events ending %s, %d signals in flight, %+v",
				cur, firstRun, len(evs), last, inFlight, jv.Stats)
			if jv.Stats.Applied != 1+sent || inFlight > 0 || last != enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED &&
				last != enumspb.EVENT_TYPE_MARKER_RECORDED {
				return false, state // not settled yet
			}
			if cur != firstRun && len(evs)+20 <= limit {
				return true, ""
			}
			send(t, update(sent))
			sent++
			return false, state
		})
		jv, err := protoJourney(cust)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(jv.Running, run1) {
			t.Fatalf("the journey no longer counts %s as running before it was terminated: %v", run1, jv.Running)
		}
		if err := env.cl.TerminateWorkflow(ctx(t), workflows.WorkflowID(run1), "", "an operator ended it"); err != nil {
			t.Fatal(err)
		}
		send(t, holdEvent(cust, cust+"-2"))
		waitRunStarted(t, run2, cust)

		// The execution that started run 2 did not start run 1, so no
		// child's completion told it that run 1 had ended: a signal to run
		// 1 that found no workflow did, in it or in an execution before it
		// (the ping of the trigger, or an event passed on to run 1 that was
		// in flight when it was terminated).
		chain := protoChain(t, workflows.JourneyID(cust))
		has := func(evs []*historypb.HistoryEvent, match func(*historypb.HistoryEvent) bool) bool {
			return slices.ContainsFunc(evs, match)
		}
		starts := func(id string) func(*historypb.HistoryEvent) bool {
			return func(e *historypb.HistoryEvent) bool {
				return e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId() == id
			}
		}
		notFound := func(e *historypb.HistoryEvent) bool {
			a := e.GetSignalExternalWorkflowExecutionFailedEventAttributes()
			return a.GetWorkflowExecution().GetWorkflowId() == run1 &&
				a.GetCause() == enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		}
		told, startedRun2 := false, false
		for _, evs := range chain {
			told = told || has(evs, notFound)
			if !has(evs, starts(run2)) {
				continue
			}
			startedRun2 = true
			if has(evs, starts(run1)) {
				t.Errorf("run 2 was started by the execution that started run 1: run 1 was not inherited")
			}
			if !told {
				t.Errorf("no signal to %s found it gone before run 2 started", run1)
			}
			break
		}
		if !startedRun2 {
			t.Errorf("no journey execution started %s", run2)
		}
		if t.Failed() {
			t.Logf("journey executions:\n%s", chainText(t, workflows.JourneyID(cust)))
		}
	})
}

// TestRunStartedAtContinueAsNew: a run a journey starts in the workflow
// task in which it continues as new must still start. With HistoryLimit 6
// the journey's first workflow task (history length 4: started, signaled,
// task scheduled and started) handles the trigger, starts the child (2
// events counted), reaches the limit and continues as new in the same task.
// The limit only makes it deterministic: at any limit, a trigger handled
// when the history reaches it loses its run (TestTerminatedRunFreesPlaybook's
// inherited case, at limit 25 and before it waited for room, lost run 2 in
// 8 of 25 runs).
func TestRunStartedAtContinueAsNew(t *testing.T) {
	protoNode(t, protoBase, workflows.Options{HistoryLimit: 6})
	const cust = "start-at-can"
	run1 := engine.RunID("hold", cust, 1)
	protoForget(t, cust, run1)
	send(t, holdEvent(cust, cust+"-1"))
	waitRunStarted(t, run1, cust)
	jv, err := protoJourney(cust)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(jv.Running, run1) {
		t.Errorf("journey running %v, want %s", jv.Running, run1)
	}
}

// TestOpenTaskDoesNotBlock: a run whose steps are done but whose task
// (wait: false) is open shows tasks-open and frees its playbook; the next
// trigger starts run 2 while run 1 is still open, and completing run 1's
// task ends run 1.
func TestOpenTaskDoesNotBlock(t *testing.T) {
	protoNode(t, protoBase, workflows.Options{})
	const cust = "opentask"
	run1, run2 := engine.RunID("todo", cust, 1), engine.RunID("todo", cust, 2)
	protoForget(t, cust, run1, run2)
	send(t,
		&lang.Event{ID: cust + "-profile", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
			Attributes: map[string]any{"name": "Opentask", "csm": "jo@vendor.example"}},
		&lang.Event{ID: cust + "-1", Type: "todo.requested", Customer: cust, At: time.Now()})

	var v1 *workflows.RunView
	protoPoll(t, 60*time.Second, run1+" to be tasks-open", func() (bool, string) {
		var err error
		if v1, err = protoRun(run1); err != nil {
			return false, err.Error()
		}
		return v1.State.Status == engine.StatusTasksOpen, fmt.Sprintf("%s: %s", v1.State.Status, v1.Waiting)
	})
	if len(v1.State.Tasks) != 1 || v1.State.Tasks[0].Step != "todo" {
		t.Fatalf("run 1's open tasks: %+v", v1.State.Tasks)
	}
	task := v1.State.Tasks[0].ID
	protoPoll(t, 60*time.Second, "TendStatus tasks-open on "+run1, func() (bool, string) {
		resp, err := env.cl.ListWorkflow(ctx(t), &workflowservice.ListWorkflowExecutionsRequest{Namespace: env.srv.Namespace(),
			Query: fmt.Sprintf("WorkflowId = '%s' AND TendStatus = 'tasks-open'", run1)})
		if err != nil {
			return false, err.Error()
		}
		return len(resp.Executions) == 1, fmt.Sprintf("%d executions", len(resp.Executions))
	})
	tasks, err := control.ListTasks(ctx(t), env.cl, control.TaskFilter{Owner: "jo@vendor.example", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tasks, func(x control.TaskItem) bool { return x.Task.ID == task }) {
		t.Errorf("tasks list for jo@vendor.example lacks %s of the tasks-open run: %+v", task, tasks)
	}
	// tend runs list --status tasks-open: the status managers see must be
	// one they can filter on.
	if runs, err := control.ListRuns(ctx(t), env.cl, control.RunFilter{Customer: cust, Status: string(engine.StatusTasksOpen)}); err != nil {
		t.Errorf("listing runs by status tasks-open: %v", err)
	} else if len(runs) != 1 || runs[0].ID != run1 {
		t.Errorf("runs with status tasks-open: %+v, want %s", runs, run1)
	}

	// The journey hears MsgStepsDone a moment after the run's state says
	// tasks-open: a trigger before that is rightly blocked.
	protoPoll(t, 60*time.Second, "the journey to free the playbook", func() (bool, string) {
		jv := journeyView(t, cust)
		return jv != nil && !slices.Contains(jv.Running, run1), fmt.Sprint(jv)
	})
	send(t, &lang.Event{ID: cust + "-2", Type: "todo.requested", Customer: cust, At: time.Now()})
	waitTask(t, run2, "todo")
	if st := execStatus(t, run1); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("%s is %s once run 2 started; want it still open", run1, st)
	}

	res, err := control.CompleteTask(ctx(t), env.cl, task, "done", time.Now())
	if err != nil {
		t.Fatalf("complete %s: %v", task, err)
	}
	if res.Run != run1 {
		t.Errorf("completion answered by %s, want %s", res.Run, run1)
	}
	var rr workflows.RunResult
	if err := env.cl.GetWorkflow(ctx(t), workflows.WorkflowID(run1), "").Get(ctx(t), &rr); err != nil {
		t.Fatalf("run %s: %v", run1, err)
	}
	if rr.Status != engine.StatusCompleted {
		t.Errorf("run 1 ended %s (%s), want completed", rr.Status, rr.Reason)
	}
	if st := execStatus(t, run2); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("%s is %s after run 1's task was completed; want it still open", run2, st)
	}
	// Run 2 received run 1's task.completed too: it must not call it a
	// mistake.
	protoPoll(t, 30*time.Second, "the journey to have applied the completion", func() (bool, string) {
		jv, err := protoJourney(cust)
		if err != nil {
			return false, err.Error()
		}
		return jv.Stats.Applied == 4, fmt.Sprintf("%+v", jv.Stats)
	})
	if jv, _ := protoJourney(cust); jv == nil || jv.Stats.Rejected != 0 || len(jv.Rejected) != 0 {
		t.Errorf("journey after the completion: %+v", jv)
	}
}

// TestDailyCheckInCustomerZone: a customer whose first event sets timezone
// Europe/Berlin gets the journey's daily check armed at 09:00 Berlin time,
// not 09:00 in the calendar's default zone (UTC); a change of zone re-arms
// it at 09:00 in the new zone.
func TestDailyCheckInCustomerZone(t *testing.T) {
	protoNode(t, protoDaily, workflows.Options{})
	const cust = "berlin"
	protoForget(t, cust, engine.RunID("morning", cust, 1))
	berlin, err := calendar.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := calendar.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	send(t, &lang.Event{ID: cust + "-profile", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
		Attributes: map[string]any{"name": "Berlin GmbH", "timezone": "Europe/Berlin"}})

	var timers []armedTimer
	protoPoll(t, 60*time.Second, "the journey's daily timer", func() (bool, string) {
		timers = armedTimers(t, workflows.JourneyID(cust))
		return len(timers) >= 1, historyText(t, workflows.JourneyID(cust))
	})
	first := timers[0]
	checkDaily(t, "first daily check", first, berlin)

	// A new zone cancels the armed timer and arms one at 09:00 there.
	send(t, &lang.Event{ID: cust + "-moved", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
		Attributes: map[string]any{"timezone": "America/New_York"}})
	protoPoll(t, 60*time.Second, "the daily timer re-armed", func() (bool, string) {
		timers = armedTimers(t, workflows.JourneyID(cust))
		return len(timers) >= 2, historyText(t, workflows.JourneyID(cust))
	})
	if !timers[0].canceled {
		t.Errorf("the Berlin timer (%s) was not cancelled when the zone changed", timers[0].id)
	}
	checkDaily(t, "daily check after the move", timers[1], newYork)
	if timers[1].canceled {
		t.Errorf("the New York timer was cancelled")
	}
	if len(timers) > 2 {
		t.Errorf("%d daily timers armed for one change of zone: %+v", len(timers), timers)
	}
}

// armedTimer is a TimerStarted event of the latest execution: when it fires
// (the start of the workflow task that armed it, workflow.Now, plus its
// StartToFireTimeout), and whether it was cancelled since.
type armedTimer struct {
	id       string
	armed    time.Time
	fires    time.Time
	summary  string
	canceled bool
}

func armedTimers(t *testing.T, id string) []armedTimer {
	var out []armedTimer
	var taskStarted time.Time
	for _, e := range protoHistory(t, id, "") {
		switch {
		case e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			taskStarted = e.GetEventTime().AsTime()
		case e.GetTimerStartedEventAttributes() != nil:
			a := e.GetTimerStartedEventAttributes()
			var s string
			if p := e.GetUserMetadata().GetSummary(); p != nil {
				_ = json.Unmarshal(p.GetData(), &s)
			}
			out = append(out, armedTimer{id: a.GetTimerId(), armed: taskStarted,
				fires: taskStarted.Add(a.GetStartToFireTimeout().AsDuration()), summary: s})
		case e.GetTimerCanceledEventAttributes() != nil:
			for i := range out {
				if out[i].id == e.GetTimerCanceledEventAttributes().GetTimerId() {
					out[i].canceled = true
				}
			}
		}
	}
	return out
}

// checkDaily checks that a timer fires at the next 09:00 in loc.
func checkDaily(t *testing.T, what string, tm armedTimer, loc *time.Location) {
	t.Helper()
	local := tm.fires.In(loc)
	nine := time.Date(local.Year(), local.Month(), local.Day(), 9, 0, 0, 0, loc)
	if d := local.Sub(nine); d < -time.Second || d > time.Second {
		t.Errorf("%s fires at %s (%s UTC; summary %q); want 09:00 %s", what, local.Format("2006-01-02 15:04:05.000 MST"),
			tm.fires.UTC().Format("15:04:05"), tm.summary, loc)
	}
	if wait := tm.fires.Sub(tm.armed); wait <= 0 || wait > 24*time.Hour+time.Second {
		t.Errorf("%s armed at %s fires %s later; want the next 09:00, within a day", what, tm.armed.UTC(), wait)
	}
	if !strings.Contains(tm.summary, "09:00") {
		t.Errorf("%s: summary %q does not say 09:00 local time", what, tm.summary)
	}
}

// TestJourneyKeepsWorkingOnBrokenSet: a journey whose recorded playbook set
// no longer compiles with this build applies events on the worker's current
// good set, starts runs from it, and says why in its query and details.
func TestJourneyKeepsWorkingOnBrokenSet(t *testing.T) {
	broken := brokenBundle(t)
	if err := sets.Put(broken); err != nil {
		t.Fatal(err)
	}
	n := protoNode(t, protoBase, workflows.Options{})
	good := n.Version()
	if good == broken.Version {
		t.Fatal("the broken bundle has the good set's version")
	}
	const cust = "broken-set"
	runID := engine.RunID("hold", cust, 1)
	protoForget(t, cust, runID)
	opts := client.StartWorkflowOptions{
		ID:                    workflows.JourneyID(cust),
		TaskQueue:             workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrCustomer.ValueSet(cust)),
	}
	if _, err := env.cl.SignalWithStartWorkflow(ctx(t), workflows.JourneyID(cust), workflows.SignalEvent, holdEvent(cust, cust+"-1"),
		opts, workflows.JourneyWorkflow, workflows.JourneyInput{Customer: cust, Set: broken.Version}); err != nil {
		t.Fatal(err)
	}
	waitRunStarted(t, runID, cust)
	var jv *workflows.JourneyView
	protoPoll(t, 30*time.Second, "the event applied", func() (bool, string) {
		var err error
		if jv, err = protoJourney(cust); err != nil {
			return false, err.Error()
		}
		return jv.Stats.Applied == 1, fmt.Sprintf("%+v", jv.Stats)
	})
	if jv.Version != good {
		t.Errorf("the journey runs on set %s, want the worker's %s", jv.Version, good)
	}
	// The run was started on the good set.
	evs := protoHistory(t, workflows.WorkflowID(runID), "")
	var in workflows.RunInput
	if p := evs[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads(); len(p) != 1 || json.Unmarshal(p[0].GetData(), &in) != nil {
		t.Fatalf("cannot read the run's input")
	}
	if in.Set != good {
		t.Errorf("run %s started on set %s, want %s", runID, in.Set, good)
	}
	for _, e := range protoHistory(t, workflows.JourneyID(cust), "") {
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
			t.Errorf("the journey's workflow task failed: %s", a.GetFailure().GetMessage())
		}
	}
	// Nothing but the worker's log would say that the set the journey was
	// asked to use was dropped, unless the query and the details do.
	if !strings.Contains(jv.Error, broken.Version) || !strings.Contains(jv.Error, "no longer compiles") {
		t.Errorf("JourneyView.Error = %q; want it to name set %s and say it no longer compiles", jv.Error, broken.Version)
	}
	if details := currentDetails(t, workflows.JourneyID(cust)); !strings.Contains(details, broken.Version) {
		t.Errorf("the journey's current details %q do not mention the dropped set %s", details, broken.Version)
	}
}

// brokenBundle is the protocol set plus a playbook this build refuses,
// under a version that looks like a content hash: a set an older build
// recorded.
func brokenBundle(t *testing.T) workflows.Bundle {
	var b workflows.Bundle
	h := sha256.New()
	for _, name := range []string{"schema.yaml", "hold.yaml", "todo.yaml"} {
		data, err := os.ReadFile(filepath.Join(protoBase, name))
		if err != nil {
			t.Fatal(err)
		}
		b.Files = append(b.Files, workflows.BundleFile{Path: name, Text: string(data)})
		h.Write(data)
	}
	bad := "playbook: legacy\ntrigger:\n  on: [hold.requested]\nsteps:\n  - id: hello\n    do: emial\n"
	b.Files = append(b.Files, workflows.BundleFile{Path: "legacy.yaml", Text: bad})
	h.Write([]byte(bad))
	b.Version = hex.EncodeToString(h.Sum(nil))[:12]
	return b
}

// currentDetails reads a workflow's current details (what the Temporal UI
// shows), through the SDK's metadata query.
func currentDetails(t *testing.T, id string) string {
	t.Helper()
	q, err := env.cl.QueryWorkflow(ctx(t), id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("metadata of %s: %v", id, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := q.Get(&md); err != nil {
		t.Fatalf("metadata of %s: %v", id, err)
	}
	return md.GetCurrentDetails()
}

// temporalWarning is the history length at which Temporal warns.
const temporalWarning = 10_240

// TestBacklogWhileWorkerDown: 5,000 events reach a customer whose run waits
// while no worker runs. Once a worker starts, the journey applies them all
// and passes each on to the run, and no execution of either workflow grows
// to Temporal's 10,240-event warning.
func TestBacklogWhileWorkerDown(t *testing.T) {
	const total = 5000
	began := time.Now()
	n := protoNode(t, protoBase, workflows.Options{})
	const cust = "backlog"
	runID := engine.RunID("hold", cust, 1)
	protoForget(t, cust, runID)
	send(t, holdEvent(cust, cust+"-start"))
	waitRunStarted(t, runID, cust)
	n.Stop()

	evs := make([]*lang.Event, total)
	for i := range evs {
		evs[i] = &lang.Event{ID: fmt.Sprintf("%s-%d", cust, i), Type: lang.EventCustomerUpdated, Customer: cust,
			At: time.Now(), Attributes: map[string]any{"health": float64(i)}}
	}
	sendCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := control.SendEvents(sendCtx, env.cl, evs); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	t.Logf("%d events sent with the worker down in %s", total, sent.Sub(began).Round(time.Millisecond))

	protoNode(t, protoBase, workflows.Options{})
	var jv *workflows.JourneyView
	polls := 0
	protoPoll(t, 10*time.Minute, fmt.Sprintf("the journey to apply %d events", total+1), func() (bool, string) {
		// A failing workflow task is retried with the same signals: say so
		// at once rather than at the deadline.
		if polls++; polls%100 == 0 {
			if cause, msg := failedTask(t, workflows.JourneyID(cust)); cause != "" {
				t.Fatalf("the journey's workflow task fails (%s): %s", cause, msg)
			}
		}
		var err error
		if jv, err = protoJourney(cust); err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				t.Fatalf("the journey is gone: %v", err)
			}
			return false, err.Error()
		}
		return jv.Stats.Applied == total+1, fmt.Sprintf("%+v", jv.Stats)
	})
	if jv.Stats.Duplicates != 0 || jv.Stats.Rejected != 0 {
		t.Errorf("journey stats %+v", jv.Stats)
	}
	protoPoll(t, 5*time.Minute, "the run to receive the last event", func() (bool, string) {
		v, err := protoRun(runID)
		if err != nil {
			return false, err.Error()
		}
		return v.State.Attrs["health"] == float64(total-1), fmt.Sprint(v.State.Attrs["health"])
	})
	t.Logf("the journey applied and the run received every event %s after the worker restarted", time.Since(sent).Round(time.Millisecond))

	for _, id := range []string{workflows.JourneyID(cust), workflows.WorkflowID(runID)} {
		// The journey continues as new once its last signals to the run are
		// acknowledged, which can be just after the run has the last event:
		// wait for it rather than read the chain mid-way.
		var chain [][]*historypb.HistoryEvent
		_, _ = pollUntil(time.Minute, func() (bool, string) {
			chain = protoChain(t, id)
			sum := 0
			for _, evs := range chain {
				sum += len(evs)
			}
			return sum <= workflows.DefaultHistoryLimit || len(chain) >= 2, ""
		})
		lens := make([]int, len(chain))
		sum := 0
		for i, evs := range chain {
			lens[i] = len(evs)
			sum += len(evs)
			if len(evs) >= temporalWarning {
				t.Errorf("%s: execution %d of %d has %d history events, at or over Temporal's %d warning", id, i+1, len(chain), len(evs), temporalWarning)
			}
			for _, e := range evs {
				if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil && a.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
					t.Errorf("%s: execution %d: workflow task failed (%s): %s", id, i+1, a.GetCause(), a.GetFailure().GetMessage())
					break
				}
			}
		}
		if sum > workflows.DefaultHistoryLimit && len(chain) < 2 {
			t.Errorf("%s: %d events in one execution: it never continued as new", id, sum)
		}
		t.Logf("%s: %d executions of %v events", id, len(chain), lens)
	}
}

// failedTask returns the cause and message of a failed workflow task in a
// workflow's latest execution, or "". UnhandledCommand is not a fault:
// Temporal refuses to close an execution that has new signals, and the
// worker retries with them.
func failedTask(t *testing.T, id string) (cause, msg string) {
	for _, e := range protoHistory(t, id, "") {
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil && a.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
			return a.GetCause().String(), a.GetFailure().GetMessage()
		}
	}
	return "", ""
}
