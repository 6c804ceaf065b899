package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/api/workflowservice/v1"
)

// TestContinueAsNewLosesNothing makes journeys and runs continue as new
// every few dozen history events, sends a burst of events meanwhile, and
// checks that every event was applied once, the run completed with the
// same outreach, and continue-as-new really happened.
func TestContinueAsNewLosesNothing(t *testing.T) {
	n := startNodeWith(t, "testdata/playbooks", workflows.Options{HistoryLimit: 25})
	defer n.Stop()
	const cust = "cycle"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")
	var burst []*lang.Event
	for i := range 30 {
		burst = append(burst, &lang.Event{ID: fmt.Sprintf("%s-usage-%d", cust, i), Type: "customer.updated", Customer: cust,
			At: time.Now(), Attributes: map[string]any{"health": float64(i)}})
	}
	send(t, burst...)
	if res := finish(t, cust, runID, task); res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	var jv workflows.JourneyView
	waitFor(t, "every event applied", func() (bool, string) {
		q, err := env.cl.QueryWorkflow(ctx(t), workflows.JourneyID(cust), "", workflows.QueryState)
		if err != nil {
			return false, err.Error()
		}
		_ = q.Get(&jv)
		// profile, signed, 30 updates, the task completion, the health update
		return jv.Stats.Applied == 34, fmt.Sprintf("%+v", jv.Stats)
	})
	if jv.Stats.Duplicates != 0 || jv.Stats.Rejected != 0 {
		t.Errorf("journey stats %+v", jv.Stats)
	}
	if got, want := outboxFiles(t, cust), wantOutbox(cust); !slices.Equal(got, want) {
		t.Errorf("outbox:\n got %q\nwant %q", got, want)
	}
	for _, id := range []string{workflows.JourneyID(cust), runID} {
		waitFor(t, id+" to continue as new", func() (bool, string) {
			runs := executions(t, id)
			return runs >= 2, fmt.Sprintf("%d execution(s)", runs)
		})
	}
	v, _ := runView(t, runID)
	if len(v.Timeline) != 8 {
		t.Errorf("run timeline has %d records after continue-as-new, want 8: %+v", len(v.Timeline), v.Timeline)
	}
	// The journey's last execution inherited the run: it asked the run to
	// say when it ends (ToRun.Adopt, MsgEnded), so it knows the run is gone.
	waitFor(t, "the journey to hear the run has ended", func() (bool, string) {
		jv := journeyView(t, cust)
		return jv != nil && len(jv.Running) == 0, fmt.Sprint(jv)
	})
	recordHistoriesAs(t, ".limit-25", workflows.JourneyID(cust), runID)
}

// executions counts the runs of a workflow id, closed ones included.
func executions(t *testing.T, id string) int {
	resp, err := env.cl.ListWorkflow(ctx(t), listRequest(id))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range resp.Executions {
		if e.Execution.WorkflowId == id {
			n++
		}
	}
	return n
}

func listRequest(id string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: env.srv.Namespace(), Query: "WorkflowId = '" + id + "'"}
}
