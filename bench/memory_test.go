package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
)

// BenchmarkIdleJourneys measures the memory of the process with -idle
// customers (10,000 in scripts/bench.sh), each with a journey and a
// PlaybookRun waiting on a 30-day timer (testdata/idle), all held in the
// worker's sticky cache (sized in TestMain to 2 × -idle + 1,000).
//
// The Temporal server runs in the same process as the worker, so the
// figures are of both:
//
//   - base: server and worker started and idle, before any customer;
//   - loaded: every run waiting, every workflow cached;
//   - no-worker: the worker stopped and its cache purged, so loaded minus
//     no-worker is the worker's share (its cached workflows), and
//     no-worker minus base is the server's.
//
// Every figure is read after runtime.GC and debug.FreeOSMemory, so RSS is
// live memory rather than what the Go runtime keeps for later; VmHWM is the
// peak RSS while the customers were being started. Run it alone in its
// process: -run '^$' -bench IdleJourneys -benchtime 1x -idle 10000.
func BenchmarkIdleJourneys(b *testing.B) {
	if *flagIdle == 0 {
		b.Skip("pass -idle N (scripts/bench.sh uses 10000: about 3 minutes)")
	}
	if b.N > 1 {
		b.Skip("one iteration only: run with -benchtime 1x")
	}
	total := *flagIdle
	s := server(b)
	var started atomic.Int64
	wo := workflows.Options{OnRecord: func(r lang.Record) {
		if r.Kind == lang.RecRunStarted {
			started.Add(1)
		}
	}}
	n := startNode(b, s, "testdata/idle", b.TempDir(), wo, worker.Options{})
	stopped := false
	defer func() {
		if !stopped {
			n.Stop()
		}
	}()
	base := measure() // measure collects garbage first, so start-up garbage is not counted

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	nonce := fmt.Sprintf("%x", time.Now().UnixNano()%(1<<32))
	began := time.Now()
	err := parallel(total, func(i int) error {
		cust := fmt.Sprintf("idle-%s-%d", nonce, i)
		ev := &lang.Event{ID: cust + "-signed", Type: "contract.signed", Customer: cust, At: time.Now(),
			Attributes: map[string]any{"name": "Acme", "contact_email": "it@" + cust + ".example"}, Data: map[string]any{"plan": "pro"}}
		return control.SendEvents(ctx, s.client, []*lang.Event{ev})
	})
	if err != nil {
		b.Fatal(err)
	}
	sent := time.Since(began)
	poll(b, 20*time.Minute, fmt.Sprintf("%d runs started", total), func() (bool, string) {
		return started.Load() >= int64(total), fmt.Sprint(started.Load())
	})
	allStarted := time.Since(began)
	query := "TendPlaybook = 'idle' AND TendStatus = 'waiting' AND ExecutionStatus = 'Running'"
	poll(b, 5*time.Minute, fmt.Sprintf("%d runs waiting in visibility", total), func() (bool, string) {
		resp, err := s.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return false, err.Error()
		}
		return resp.Count >= int64(total), fmt.Sprint(resp.Count)
	})
	ready := time.Since(began)
	// Every journey and run has finished its last workflow task once both
	// sit in the worker's cache.
	poll(b, 5*time.Minute, "journeys and runs in the sticky cache", func() (bool, string) {
		n := s.metrics.get("temporal_sticky_cache_size")
		return n >= float64(2*total), fmt.Sprint(n)
	})
	cached := s.metrics.get("temporal_sticky_cache_size")
	evicted := s.metrics.get("temporal_sticky_cache_total_forced_eviction")
	loaded := measure()

	n.Stop()
	stopped = true
	worker.PurgeStickyWorkflowCache()
	noWorker := measure()

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mib(base.RSS), "base-RSS-MiB")
	b.ReportMetric(mib(loaded.RSS), "loaded-RSS-MiB")
	b.ReportMetric(mib(loaded.RSS)-mib(base.RSS), "delta-RSS-MiB")
	b.ReportMetric(mib(loaded.RSS)-mib(noWorker.RSS), "worker-RSS-MiB")
	b.ReportMetric(mib(loaded.HeapInuse)-mib(base.HeapInuse), "delta-heap-MiB")
	b.ReportMetric(mib(loaded.HeapInuse)-mib(noWorker.HeapInuse), "worker-heap-MiB")
	b.ReportMetric(mib(loaded.StackInuse)-mib(noWorker.StackInuse), "worker-stack-MiB")
	b.ReportMetric(mib(loaded.HWM), "peak-RSS-MiB")
	b.ReportMetric(cached, "cached-workflows")
	b.ReportMetric(ready.Seconds(), "setup-s")
	perWorkflow := func(a, b uint64) float64 { return (float64(a) - float64(b)) / 1024 / max(cached, 1) }
	b.Logf("%d customers: events sent in %.0fs, all runs started after %.0fs, all waiting in visibility after %.0fs; "+
		"sticky cache %0.f workflows, %0.f forced evictions; SQLite file %.0f MiB in %s (not in the process RSS)",
		total, sent.Seconds(), allStarted.Seconds(), ready.Seconds(), cached, evicted, mib(dbSize(s)), s.dir)
	b.Logf("RSS MiB: base %.0f, loaded %.0f (+%.0f), worker stopped and cache purged %.0f; peak %.0f",
		mib(base.RSS), mib(loaded.RSS), mib(loaded.RSS)-mib(base.RSS), mib(noWorker.RSS), mib(loaded.HWM))
	b.Logf("Go heap in use MiB: base %.0f, loaded %.0f, worker stopped %.0f; goroutine stacks MiB: base %.0f, loaded %.0f, worker stopped %.0f",
		mib(base.HeapInuse), mib(loaded.HeapInuse), mib(noWorker.HeapInuse), mib(base.StackInuse), mib(loaded.StackInuse), mib(noWorker.StackInuse))
	b.Logf("per cached workflow, the worker holds %.1f KiB of heap, %.1f KiB of stack, %.1f KiB of RSS",
		perWorkflow(loaded.HeapInuse, noWorker.HeapInuse), perWorkflow(loaded.StackInuse, noWorker.StackInuse), perWorkflow(loaded.RSS, noWorker.RSS))
	b.Logf("goroutines: base %d, loaded %d, worker stopped %d", base.Goroutines, loaded.Goroutines, noWorker.Goroutines)
}
