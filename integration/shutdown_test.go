package integration

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// TestGracefulStop: a worker stopped with a stop timeout (tend worker
// --stop-timeout, what SIGTERM leads to) lets the activity in flight
// finish and report before it returns, so the CRM sees the webhook once.
// TestWorkerKilledMidActivity is the contrast: without the timeout the
// activity is abandoned and retried.
func TestGracefulStop(t *testing.T) {
	const cust = "drain"
	runID := engine.RunID("onboarding", cust, 1)
	cfg := config.Default()
	cfg.Outbox = env.outbox
	// A CRM that holds the first request until released, then answers
	// 204: the activity succeeds if the worker lets it finish.
	arrived, hold, cancelled := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var requests atomic.Int32
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			close(arrived)
			select {
			case <-hold:
			case <-r.Context().Done(): // the worker gave up on it
				close(cancelled)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer crm.Close()
	release := sync.OnceFunc(func() { close(hold) })
	defer release() // before crm.Close, which waits for the held request
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: crm.URL, Secret: "test-secret", Timeout: 30 * time.Second}}
	cfg.Links = &config.Links{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}
	wo := workflows.Options{ActivityTimeout: 30 * time.Second, RetryInitial: 100 * time.Millisecond, RetryMax: time.Second}
	n, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: "testdata/playbooks", Logger: logger(), Reload: -1,
		Workflows: wo, Store: sets, Worker: worker.Options{WorkerStopTimeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	send(t, signup(cust, time.Now())...)
	pastKickoff(t, cust, waitTask(t, runID, "kickoff"))
	select {
	case <-arrived: // the webhook activity is in flight: stop the worker now
	case <-time.After(60 * time.Second):
		t.Fatal("the crm webhook never arrived")
	}
	stopped := make(chan struct{})
	go func() { n.Stop(); close(stopped) }()
	// While the request is held, the stop must neither return nor cancel
	// it. A worker without a stop timeout does both at once (the SDK's
	// default of 0s); a correct one cannot fail here, whatever the timing.
	select {
	case <-stopped:
		t.Fatal("the worker stopped with its activity still in flight")
	case <-cancelled:
		t.Fatal("the stop cancelled the activity in flight")
	case <-time.After(time.Second):
	}
	release()
	select {
	case <-stopped:
	case <-time.After(90 * time.Second):
		t.Fatal("the worker did not stop after its activity finished")
	}

	// Another worker finishes the run: it must not call the CRM again.
	n2, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: "testdata/playbooks", Logger: logger(), Reload: -1,
		Workflows: wo, Store: sets})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Stop()
	var res workflows.RunResult
	if err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), &res); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	if res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	if got := requests.Load(); got != 1 {
		t.Errorf("crm saw %d requests; want 1: the one in flight at the stop, finished", got)
	}
}
