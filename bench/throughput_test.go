package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Per customer in BenchmarkThroughput: a profile update and the
// contract.signed that triggers testdata/throughput/outreach.yaml, whose
// four steps (email, webhook, notify, email) write to the outbox.
const (
	eventsPerCustomer = 2
	stepsPerCustomer  = 4
)

// rates keeps the figures of each run of the sub-benchmarks, in order, so
// that the n-th ratio pairs the n-th tend with the n-th handwritten (with
// -count, each sub-benchmark runs count times in a row).
var rates struct {
	mu                       sync.Mutex
	tend, capped, hand       []float64 // events applied per second
	tendCPU, capCPU, handCPU []float64 // the process's CPU seconds per customer
	ratiosShown              int
}

// newPrefix is a customer-id prefix no earlier batch of this process used:
// a repeated customer would send duplicate events to a journey whose run
// has already completed, and measure nothing.
func newPrefix(kind string) string {
	return fmt.Sprintf("%s%x", kind, time.Now().UnixNano()%(1<<40))
}

// BenchmarkThroughput measures events applied and playbook steps completed
// per second on the embedded server, end to end: from the first event sent
// (control.SendEvents, 8 senders) until the last run has completed.
//
//   - tend: node.Start with the real activities writing to an outbox in a
//     temporary directory; the journeys start a PlaybookRun per customer.
//   - tend-weekly-cap: the same with a weekly cap in the schema, so each
//     email asks the journey for a slot.
//   - handwritten: one minimal workflow per customer, started the same way
//     (SignalWithStart per event), running the same activities registered
//     from the same activities.Activities, with the same options.
//   - ratio: tend's events/s over handwritten's from this run (tend/hand),
//     and tend-weekly-cap's (cap/hand); the same by the process's CPU
//     seconds per customer (…-by-cpu), which other load on the machine
//     disturbs far less.
//
// Each iteration is a batch of -customers new customers (default 200),
// after a warm-up batch of 20; run it with -benchtime 1x. With -count N
// each sub-benchmark runs N times in a row; scripts/bench.sh runs the
// process N times instead, so that tend and handwritten alternate and each
// run starts on a fresh server.
func BenchmarkThroughput(b *testing.B) {
	s := server(b)
	b.Run("tend", func(b *testing.B) {
		prefix := newPrefix("t")
		n := startNode(b, s, "testdata/throughput", b.TempDir(), workflows.Options{}, worker.Options{})
		defer n.Stop()
		r, cpu := measureBatches(b, prefix, func(ctx context.Context, prefix string, n int) error {
			return tendBatch(ctx, s.client, prefix, n)
		})
		reportEvents(b, s.client, workflows.JourneyID(prefix+"-warm-0"), engine.RunID("outreach", prefix+"-warm-0", 1))
		rates.mu.Lock()
		rates.tend = append(rates.tend, r)
		rates.tendCPU = append(rates.tendCPU, cpu)
		rates.mu.Unlock()
	})
	b.Run("tend-weekly-cap", func(b *testing.B) {
		prefix := newPrefix("c")
		n := startNode(b, s, "testdata/throughput-cap", b.TempDir(), workflows.Options{}, worker.Options{})
		defer n.Stop()
		r, cpu := measureBatches(b, prefix, func(ctx context.Context, prefix string, n int) error {
			return tendBatch(ctx, s.client, prefix, n)
		})
		reportEvents(b, s.client, workflows.JourneyID(prefix+"-warm-0"), engine.RunID("outreach", prefix+"-warm-0", 1))
		rates.mu.Lock()
		rates.capped = append(rates.capped, r)
		rates.capCPU = append(rates.capCPU, cpu)
		rates.mu.Unlock()
	})
	b.Run("handwritten", func(b *testing.B) {
		prefix := newPrefix("h")
		w := startHand(b, s, b.TempDir(), worker.Options{}, HandCustomer)
		defer w.Stop()
		r, cpu := measureBatches(b, prefix, func(ctx context.Context, prefix string, n int) error {
			return handBatch(ctx, s.client, prefix, n)
		})
		reportEvents(b, s.client, "hand/"+prefix+"-warm-0")
		rates.mu.Lock()
		rates.hand = append(rates.hand, r)
		rates.handCPU = append(rates.handCPU, cpu)
		rates.mu.Unlock()
	})
	b.Run("ratio", func(b *testing.B) {
		rates.mu.Lock()
		defer rates.mu.Unlock()
		i := rates.ratiosShown
		if i >= len(rates.tend) || i >= len(rates.hand) {
			b.Skip("needs both tend and handwritten in the same run")
		}
		rates.ratiosShown++
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(rates.tend[i]/rates.hand[i], "tend/hand")
		// The same ratio by CPU: what the process spent per customer, hand
		// over tend. Other processes on the machine slow the wall clock of
		// either side, far less its CPU seconds; on /dev/shm (CPU-bound)
		// it is what the wall-clock ratio would be on an idle machine.
		b.ReportMetric(rates.handCPU[i]/rates.tendCPU[i], "tend/hand-by-cpu")
		if i < len(rates.capped) {
			b.ReportMetric(rates.capped[i]/rates.hand[i], "cap/hand")
			b.ReportMetric(rates.handCPU[i]/rates.capCPU[i], "cap/hand-by-cpu")
		}
	})
}

// measureBatches warms up, runs b.N batches, reports the rates and returns
// the events applied per second and the process's CPU seconds (user and
// system: server, worker and senders) per customer.
func measureBatches(b *testing.B, prefix string, batch func(ctx context.Context, prefix string, n int) error) (float64, float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := batch(ctx, prefix+"-warm", 20); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var took time.Duration
	cpu0 := cpuTime()
	for i := range b.N {
		start := time.Now()
		if err := batch(ctx, fmt.Sprintf("%s-%d-%d", prefix, b.N, i), *flagCustomers); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
	}
	cpu := (cpuTime() - cpu0).Seconds()
	customers := float64(b.N * *flagCustomers)
	events := customers * eventsPerCustomer / took.Seconds()
	b.ReportMetric(events, "events/s")
	b.ReportMetric(customers*stepsPerCustomer/took.Seconds(), "steps/s")
	b.ReportMetric(customers/took.Seconds(), "customers/s")
	b.ReportMetric(cpu/customers*1000, "cpu-ms/customer")
	return events, cpu / customers
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportEvents reports the history events of one customer's workflows
// (the first of the warm-up batch): the server's work per customer.
func reportEvents(b *testing.B, c client.Client, ids ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	total := 0
	for _, id := range ids {
		evs, err := history(ctx, c, id, "")
		if err != nil {
			b.Fatalf("history of %s: %v", id, err)
		}
		total += len(evs)
	}
	b.ReportMetric(float64(total), "history-events/customer")
}

func signupEvents(cust string) []*lang.Event {
	now := time.Now()
	return []*lang.Event{
		{ID: cust + "-profile", Type: lang.EventCustomerUpdated, Customer: cust, At: now, Attributes: map[string]any{
			"name": "Acme " + cust, "csm": "jo@vendor.example", "contact_email": "it@" + cust + ".example"}},
		{ID: cust + "-signed", Type: "contract.signed", Customer: cust, At: now, Data: map[string]any{"plan": "pro"}},
	}
}

// parallel calls f(0..n-1) from -senders goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range *flagSenders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// tendBatch sends every customer's events to its journey, then waits for
// every customer's run to complete.
func tendBatch(ctx context.Context, c client.Client, prefix string, n int) error {
	cust := func(i int) string { return fmt.Sprintf("%s-%d", prefix, i) }
	if err := parallel(n, func(i int) error { return control.SendEvents(ctx, c, signupEvents(cust(i))) }); err != nil {
		return err
	}
	return parallel(n, func(i int) error {
		id := engine.RunID("outreach", cust(i), 1)
		var res workflows.RunResult
		if err := waitClosed(ctx, c, id, &res); err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if res.Status != engine.StatusCompleted {
			return fmt.Errorf("run %s ended %s: %s", id, res.Status, res.Reason)
		}
		return nil
	})
}

// handBatch starts the hand-written workflows exactly as control.SendEvents
// starts journeys (SignalWithStart per event, the same options), then
// waits for each to complete.
func handBatch(ctx context.Context, c client.Client, prefix string, n int) error {
	id := func(i int) string { return fmt.Sprintf("hand/%s-%d", prefix, i) }
	err := parallel(n, func(i int) error {
		cust := fmt.Sprintf("%s-%d", prefix, i)
		for _, ev := range signupEvents(cust) {
			opts := client.StartWorkflowOptions{
				ID:                    id(i),
				TaskQueue:             handQueue,
				TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrCustomer.ValueSet(cust)),
				StaticSummary:         "hand-written workflow of customer " + cust,
			}
			if _, err := c.SignalWithStartWorkflow(ctx, id(i), workflows.SignalEvent, ev, opts, HandCustomer, cust); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(n, func(i int) error { return c.GetWorkflow(ctx, id(i), "").Get(ctx, nil) })
}

// HandCustomer is the minimal hand-written workflow for outreach.yaml: it
// takes the customer's events until contract.signed, then carries out the
// four steps with the same activities and options as tend, and ends.
func HandCustomer(ctx workflow.Context, customer string) error {
	events := workflow.GetSignalChannel(ctx, workflows.SignalEvent)
	attrs := map[string]any{}
	for {
		var ev lang.Event
		events.Receive(ctx, &ev)
		maps.Copy(attrs, ev.Attributes)
		if ev.Type == "contract.signed" {
			break
		}
	}
	name, _ := attrs["name"].(string)
	to, _ := attrs["contact_email"].(string)
	base := engine.Action{Run: "hand/" + customer, Playbook: "outreach", Customer: customer, Occurrence: 1, Owner: "jo@vendor.example"}
	step := func(kind, id string) engine.Action {
		a := base
		a.Kind, a.Step, a.Key = kind, id, "hand/"+customer+"/1/"+id+"/1"
		return a
	}
	welcome := step("email", "welcome")
	welcome.To, welcome.Subject, welcome.Body = to, "Welcome, "+name, "Hello from your CSM."
	crm := step("webhook", "crm")
	crm.Endpoint, crm.Fields = "crm", map[string]string{"status": "onboarded", "customer": customer}
	team := step("notify", "team")
	team.Channel, team.Text = "cs-team", name+" signed"
	tips := step("email", "tips")
	tips.To, tips.Subject, tips.Body = to, "Getting started, "+name, "Three tips for your first week."
	for _, a := range []engine.Action{welcome, crm, team, tips} {
		if err := handActivity(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkThroughputInterleaved is BenchmarkThroughput for a shared
// machine: in one process, tend and handwritten take turns in small
// batches (-rounds of -batch customers each, in the order tend, hand, hand,
// tend, … so that a drift in the machine's load falls on both alike), then
// tend-weekly-cap and handwritten the same way. Other processes slow either
// side for seconds at a time; here each slowdown lands on a batch of each
// side rather than on one whole side. It reports each side's events/s over
// all its batches and their ratios (tend/hand, cap/hand), and the median of
// the per-round ratios.
func BenchmarkThroughputInterleaved(b *testing.B) {
	if b.N > 1 {
		b.Skip("one iteration only: run with -benchtime 1x")
	}
	s := server(b)
	hand := startHand(b, s, b.TempDir(), worker.Options{}, HandCustomer)
	defer hand.Stop()
	handBatchFn := func(ctx context.Context, prefix string, n int) error { return handBatch(ctx, s.client, prefix, n) }
	tendBatchFn := func(ctx context.Context, prefix string, n int) error { return tendBatch(ctx, s.client, prefix, n) }
	for _, side := range []struct{ name, dir string }{{"tend", "testdata/throughput"}, {"cap", "testdata/throughput-cap"}} {
		n := startNode(b, s, side.dir, b.TempDir(), workflows.Options{}, worker.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		tp, hp := newPrefix(side.name[:1]), newPrefix("h")
		if err := tendBatchFn(ctx, tp+"-warm", 20); err != nil {
			b.Fatal(err)
		}
		if err := handBatchFn(ctx, hp+"-warm", 20); err != nil {
			b.Fatal(err)
		}
		var tendTook, handTook time.Duration
		var ratios []float64
		timed := func(f func(context.Context, string, int) error, prefix string) time.Duration {
			start := time.Now()
			if err := f(ctx, prefix, *flagBatch); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		for r := range *flagRounds {
			var t, h time.Duration
			if r%2 == 0 {
				t = timed(tendBatchFn, fmt.Sprintf("%s-%d", tp, r))
				h = timed(handBatchFn, fmt.Sprintf("%s-%d", hp, r))
			} else {
				h = timed(handBatchFn, fmt.Sprintf("%s-%d", hp, r))
				t = timed(tendBatchFn, fmt.Sprintf("%s-%d", tp, r))
			}
			tendTook += t
			handTook += h
			ratios = append(ratios, h.Seconds()/t.Seconds())
		}
		cancel()
		n.Stop()
		events := float64(*flagRounds * *flagBatch * eventsPerCustomer)
		slices.Sort(ratios)
		b.ReportMetric(events/tendTook.Seconds(), side.name+"-events/s")
		if side.name == "tend" {
			b.ReportMetric(events/handTook.Seconds(), "hand-events/s")
		} else {
			b.ReportMetric(events/handTook.Seconds(), "hand2-events/s")
		}
		b.ReportMetric(handTook.Seconds()/tendTook.Seconds(), side.name+"/hand")
		b.ReportMetric(ratios[len(ratios)/2], side.name+"/hand-median-round")
		b.Logf("%s against handwritten, %d rounds of %d customers: per-round ratios %.2f", side.name, *flagRounds, *flagBatch, ratios)
	}
	b.ReportMetric(0, "ns/op")
}
