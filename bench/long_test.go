package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/activities"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
)

// temporalWarning is the history length at which Temporal warns (and
// suggests continue-as-new); 51,200 is the hard limit.
const temporalWarning = 10_240

// TestLongRunContinuesAsNew feeds one customer thousands of events while a
// run waits for a condition: the journey applies each and forwards it to
// the run, so both histories grow by a signal and a workflow task per event.
// With the default workflows.Options (HistoryLimit 4,000) both continue as
// new; the test checks that no single history reaches 10,240 events, that
// every event was applied once, and that the run then completed with its
// one message. -long sets the number of events (default 3,000).
func TestLongRunContinuesAsNew(t *testing.T) {
	if !*flagHistory && *flagTable == "" {
		t.Skip("pass -history (or -table FILE): about 45s on the embedded server")
	}
	s := server(t)
	outbox := t.TempDir()
	n := startNode(t, s, "testdata/long", outbox, workflows.Options{}, worker.Options{})
	defer n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := s.client
	cust := fmt.Sprintf("long-%x", time.Now().UnixNano()%(1<<32))
	runID := engine.RunID("long", cust, 1)
	start := &lang.Event{ID: cust + "-start", Type: "bench.long", Customer: cust, At: time.Now(),
		Attributes: map[string]any{"name": "Acme", "health": 0}}
	if err := control.SendEvents(ctx, c, []*lang.Event{start}); err != nil {
		t.Fatal(err)
	}
	poll(t, time.Minute, runID+" to wait", func() (bool, string) {
		v, err := control.ShowRun(ctx, c, runID)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(v.Waiting, "waiting for"), v.Waiting
	})

	// The events go in chunks of 200 (8 senders each), and the next chunk
	// waits until the journey has applied the last: no workflow task of
	// the journey sees more than a chunk of signals. Unpaced, a burst that
	// piles up behind one workflow task wedges the journey (see
	// TestBurstWhileWorkerDown).
	began := time.Now()
	total := *flagLong
	for from := 0; from < total; from += longChunk {
		to := min(from+longChunk, total)
		err := parallel(to-from, func(i int) error {
			ev := &lang.Event{ID: fmt.Sprintf("%s-%d", cust, from+i), Type: lang.EventCustomerUpdated, Customer: cust,
				At: time.Now(), Attributes: map[string]any{"health": float64((from + i) % 99)}}
			return control.SendEvents(ctx, c, []*lang.Event{ev})
		})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, 2*time.Minute, fmt.Sprintf("events up to %d applied", to), func() (bool, string) {
			jv, err := journeyView(ctx, c, cust)
			if err != nil {
				return false, err.Error()
			}
			return jv.Stats.Applied >= to+1, fmt.Sprintf("%+v", jv.Stats)
		})
	}
	last := &lang.Event{ID: cust + "-recovered", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
		Attributes: map[string]any{"health": 100}}
	if err := control.SendEvents(ctx, c, []*lang.Event{last}); err != nil {
		t.Fatal(err)
	}
	var res workflows.RunResult
	if err := waitClosed(ctx, c, runID, &res); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	took := time.Since(began)
	if res.Status != engine.StatusCompleted {
		t.Fatalf("run %s ended %s: %s", runID, res.Status, res.Reason)
	}
	var jv workflows.JourneyView
	defer func() {
		if t.Failed() {
			logTails(t, c, 30, runID, workflows.JourneyID(cust))
		}
	}()
	poll(t, time.Minute, "every event applied", func() (bool, string) {
		var err error
		if jv, err = journeyView(ctx, c, cust); err != nil {
			return false, err.Error()
		}
		return jv.Stats.Applied == total+2 && len(jv.Running) == 0, fmt.Sprintf("%+v, running %v", jv.Stats, jv.Running)
	})
	if jv.Stats.Duplicates != 0 || jv.Stats.Rejected != 0 {
		t.Errorf("journey stats %+v", jv.Stats)
	}
	file := activities.FileName(engine.TaskKey(runID, "tell", 1), ".json")
	if _, err := os.Stat(outbox + "/" + file); err != nil {
		t.Errorf("the run's one message: %v", err)
	}
	if entries, _ := os.ReadDir(outbox); len(entries) != 1 {
		t.Errorf("outbox has %d files, want the run's one message", len(entries))
	}

	runs := chain(ctx, t, c, runID)
	journeys := chain(ctx, t, c, workflows.JourneyID(cust))
	var b strings.Builder
	b.WriteString("### A long run continues as new\n\n")
	fmt.Fprintf(&b, "%d customer.updated events to one customer while its run waits for a condition, with the default "+
		"HistoryLimit (%d), sent in chunks of %d by %d senders: %.1fs, %.0f events/s for this one customer. "+
		"Every event was applied once (%+v), and the run then completed with its one message.\n\n",
		total, workflows.DefaultHistoryLimit, longChunk, *flagSenders, took.Seconds(), float64(total)/took.Seconds(), jv.Stats)
	b.WriteString("| workflow | executions | events, all executions | longest single history | each execution | most signals in one workflow task |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|\n")
	for _, w := range []struct {
		name  string
		execs []execution
	}{{"PlaybookRun", runs}, {"CustomerJourney", journeys}} {
		sum, longest, batch := 0, 0, 0
		var lens []string
		for _, e := range w.execs {
			sum += e.events
			longest = max(longest, e.events)
			batch = max(batch, e.batch)
			lens = append(lens, fmt.Sprint(e.events))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %d |\n", w.name, len(w.execs), sum, longest, strings.Join(lens, ", "), batch)
		if longest >= temporalWarning {
			t.Errorf("%s: a history of %d events, at or over Temporal's %d warning", w.name, longest, temporalWarning)
		}
		if sum > workflows.DefaultHistoryLimit && len(w.execs) < 2 {
			t.Errorf("%s: %d events in one history: it never continued as new", w.name, sum)
		}
	}
	t.Log("\n" + b.String())
	addReport(b.String())
}

// logTails logs the last n events of the current execution of each
// workflow, with the signals' contents: what a failed test needs to say
// which message went missing.
func logTails(t *testing.T, c client.Client, n int, ids ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dc := converter.GetDefaultDataConverter()
	for _, id := range ids {
		evs, err := history(ctx, c, id, "")
		if err != nil {
			t.Logf("history of %s: %v", id, err)
			continue
		}
		t.Logf("%s: %d events in its current execution; the last %d:", id, len(evs), min(n, len(evs)))
		for _, e := range evs[max(0, len(evs)-n):] {
			s := e.EventType.String()
			var v any
			if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
				_ = dc.FromPayloads(a.Input, &v)
				s += fmt.Sprintf(" %s %.300v", a.SignalName, v)
			}
			if a := e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil {
				_ = dc.FromPayloads(a.Input, &v)
				s += fmt.Sprintf(" to %s %s %.300v", a.GetWorkflowExecution().GetWorkflowId(), a.SignalName, v)
			}
			if a := e.GetSignalExternalWorkflowExecutionFailedEventAttributes(); a != nil {
				s += " " + a.Cause.String()
			}
			t.Logf("  %d %s", e.EventId, s)
		}
	}
}

// longChunk is how many events TestLongRunContinuesAsNew sends before it
// waits for the journey to catch up.
const longChunk = 200

// execution is one execution in a continue-as-new chain: its history
// length, and the most signals it received between two workflow tasks.
type execution struct {
	events, batch int
}

// chain returns every execution of a workflow id, oldest first, following
// the continue-as-new chain back from the current execution through each
// first event's ContinuedExecutionRunId.
func chain(ctx context.Context, t *testing.T, c client.Client, id string) []execution {
	var out []execution
	runID := ""
	for {
		evs, err := history(ctx, c, id, runID)
		if err != nil {
			t.Fatalf("history of %s %s: %v", id, runID, err)
		}
		out = append([]execution{{events: len(evs), batch: signalsPerTask(evs)}}, out...)
		runID = evs[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return out
		}
	}
}

// signalsPerTask is the most signals a history received between two
// started workflow tasks: what one workflow task had to handle at once.
func signalsPerTask(evs []*historypb.HistoryEvent) int {
	most, n := 0, 0
	for _, e := range evs {
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			n++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			most, n = max(most, n), 0
		}
	}
	return max(most, n)
}

func journeyView(ctx context.Context, c client.Client, cust string) (workflows.JourneyView, error) {
	var jv workflows.JourneyView
	q, err := c.QueryWorkflow(ctx, workflows.JourneyID(cust), "", workflows.QueryState)
	if err == nil {
		err = q.Get(&jv)
	}
	return jv, err
}

// TestBurstWhileWorkerDown stops the worker while -burst events (5,000 with
// scripts/bench.sh) arrive for one customer whose run waits, then starts it
// again: the journey's next workflow task holds every one of them. Before
// b1f161d it forwarded each as a signal of its own, and Temporal failed the
// task for leaving more than 2,000 signals to other workflows pending
// (limit.numPendingSignals.error, PendingSignalsLimitExceeded): every retry
// replayed the same signals, stuck for good. Now events to a run go in one
// signal per run per workflow task, and the journey checks its length as it
// drains the backlog. The test checks that every event is applied and that
// no journey execution reaches 10,240 events, and logs the executions
// (their lengths show what the backlog costs).
func TestBurstWhileWorkerDown(t *testing.T) {
	if *flagBurst == 0 {
		t.Skip("pass -burst N (scripts/bench.sh uses 5000): about 60s on the embedded server")
	}
	s := server(t)
	outbox := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c := s.client
	cust := fmt.Sprintf("burst-%x", time.Now().UnixNano()%(1<<32))
	runID := engine.RunID("long", cust, 1)
	defer func() {
		// A stuck journey retries its task for ever: stop it, so that later
		// tests and benchmarks in this process do not pay for it.
		_ = c.TerminateWorkflow(context.Background(), workflows.JourneyID(cust), "", "end of TestBurstWhileWorkerDown")
		_ = c.TerminateWorkflow(context.Background(), runID, "", "end of TestBurstWhileWorkerDown")
	}()
	n := startNode(t, s, "testdata/long", outbox, workflows.Options{}, worker.Options{})
	start := &lang.Event{ID: cust + "-start", Type: "bench.long", Customer: cust, At: time.Now(),
		Attributes: map[string]any{"name": "Acme", "health": 0}}
	if err := control.SendEvents(ctx, c, []*lang.Event{start}); err != nil {
		t.Fatal(err)
	}
	poll(t, time.Minute, runID+" to wait", func() (bool, string) {
		v, err := control.ShowRun(ctx, c, runID)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(v.Waiting, "waiting for"), v.Waiting
	})
	n.Stop()
	total := *flagBurst
	err := parallel(total, func(i int) error {
		ev := &lang.Event{ID: fmt.Sprintf("%s-%d", cust, i), Type: lang.EventCustomerUpdated, Customer: cust,
			At: time.Now(), Attributes: map[string]any{"health": float64(i % 99)}}
		return control.SendEvents(ctx, c, []*lang.Event{ev})
	})
	if err != nil {
		t.Fatal(err)
	}
	n = startNode(t, s, "testdata/long", outbox, workflows.Options{}, worker.Options{})
	defer n.Stop()
	restarted := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("the journey's executions: %+v", chain(ctx, t, c, workflows.JourneyID(cust)))
			logTails(t, c, 40, workflows.JourneyID(cust), runID)
		}
	}()
	// 5,000 events took 171 s on 2 busy shared cores, and once over 180 s.
	poll(t, 15*time.Minute, fmt.Sprintf("the journey to apply %d events", total+1), func() (bool, string) {
		evs, err := history(ctx, c, workflows.JourneyID(cust), "")
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs {
			if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil && a.Cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED {
				t.Fatalf("the journey's workflow task failed after %d events (worker down during the burst): %s; "+
					"each retry replays the same signals, so the journey is stuck", len(evs), a.GetFailure().GetMessage())
			}
		}
		jv, err := journeyView(ctx, c, cust)
		if err != nil {
			return false, err.Error()
		}
		return jv.Stats.Applied == total+1, fmt.Sprintf("%+v", jv.Stats)
	})
	execs := chain(ctx, t, c, workflows.JourneyID(cust))
	t.Logf("the journey applied all %d events of the burst %.0fs after the worker restarted; its executions: %+v",
		total+1, time.Since(restarted).Seconds(), execs)
	t.Logf("the run's executions: %+v", chain(ctx, t, c, runID))
	for i, e := range execs {
		if e.events >= temporalWarning {
			t.Errorf("journey execution %d of %d has %d events, at or over Temporal's %d warning: "+
				"the backlog it took over at continue-as-new was drained in one execution", i+1, len(execs), e.events, temporalWarning)
		}
	}
	evs, _ := history(ctx, c, workflows.JourneyID(cust), "")
	for _, e := range evs {
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
			t.Logf("event %d: workflow task failed: %s %s", e.EventId, a.Cause, a.GetFailure().GetMessage())
		}
		if a := e.GetWorkflowTaskTimedOutEventAttributes(); a != nil {
			t.Logf("event %d: workflow task timed out: %s", e.EventId, a.TimeoutType)
		}
		if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			t.Logf("event %d: started, %d bytes of input", e.EventId, len(a.GetInput().GetPayloads()[0].GetData()))
		}
	}
}
