package integration

import (
	"bytes"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/internal/zlog"
)

// keyProbe waits for a signal, then returns its input: a workflow whose
// input a worker must decrypt at every workflow task it runs from history.
func keyProbe(ctx workflow.Context, in string) (string, error) {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return in, nil
}

// TestMissingKeyRetriesTheWorkflowTask: a worker without the key of a
// workflow's input must not fail the workflow for good (the SDK fails a
// workflow whose input does not decode); its workflow task fails and is
// retried, and the workflow carries on once a worker has the key again.
func TestMissingKeyRetriesTheWorkflowTask(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	const queue = "key-probe"
	startWorker := func(keys map[string][]byte, primary string) (client.Client, worker.Worker) {
		t.Helper()
		cdc, err := codec.New(keys, primary)
		if err != nil {
			t.Fatal(err)
		}
		opts := client.Options{HostPort: env.srv.Address(), Namespace: env.srv.Namespace(), Logger: zlog.SDK(logger())}
		cdc.Apply(&opts)
		c, err := client.Dial(opts)
		if err != nil {
			t.Fatal(err)
		}
		// No sticky cache: every workflow task replays from history, as
		// on a worker that did not run the workflow before.
		w := worker.New(c, queue, worker.Options{StickyScheduleToStartTimeout: 0})
		w.RegisterWorkflow(keyProbe)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return c, w
	}

	c1, w1 := startWorker(map[string][]byte{"k1": k1}, "k1")
	run, err := c1.ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{ID: "key-probe", TaskQueue: queue}, keyProbe, "under k1")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first workflow task", func() (bool, string) {
		d, err := c1.DescribeWorkflowExecution(ctx(t), run.GetID(), run.GetRunID())
		if err != nil {
			return false, err.Error()
		}
		return d.GetPendingWorkflowTask() == nil && d.GetWorkflowExecutionInfo().GetHistoryLength() >= 4, "workflow task pending"
	})
	w1.Stop()
	c1.Close()

	c2, w2 := startWorker(map[string][]byte{"k2": k2}, "k2")
	if err := c2.SignalWorkflow(ctx(t), run.GetID(), run.GetRunID(), "go", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the k2-only worker to fail the workflow task and Temporal to retry it", func() (bool, string) {
		d, err := c2.DescribeWorkflowExecution(ctx(t), run.GetID(), run.GetRunID())
		if err != nil {
			return false, err.Error()
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("the workflow is %s under a worker without its key; want it running, its workflow task retried", st)
		}
		return d.GetPendingWorkflowTask().GetAttempt() >= 2, "no failed attempt yet"
	})
	w2.Stop()
	c2.Close()

	c3, w3 := startWorker(map[string][]byte{"k1": k1, "k2": k2}, "k2")
	defer c3.Close()
	defer w3.Stop()
	var out string
	if err := c3.GetWorkflow(ctx(t), run.GetID(), run.GetRunID()).Get(ctx(t), &out); err != nil || out != "under k1" {
		t.Fatalf("with k1 back: %q, %v; want the workflow to finish with its input", out, err)
	}
}
