package workflows

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/sim"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// loadBundle reads a playbook directory into a bundle.
func loadBundle(t testing.TB, dir string) (Bundle, *lang.Set) {
	t.Helper()
	groups, err := load.Files([]string{dir})
	if err != nil || len(groups) != 1 {
		t.Fatalf("load %s: %v", dir, err)
	}
	b, set, errs := NewBundle(groups[0].Files)
	if len(errs) > 0 {
		t.Fatalf("load %s: %v", dir, errs)
	}
	return b, set
}

// driverInput is a scenario as the parity driver workflow plays it.
type driverInput struct {
	Customers []JourneyInput
	Events    []*lang.Event
	Until     time.Time
}

// scenarioDriver starts every customer's journey at the scenario's start,
// signals each event at its time, and returns at the scenario's end.
func scenarioDriver(ctx workflow.Context, in driverInput) error {
	for _, c := range in.Customers {
		opts := workflow.ChildWorkflowOptions{WorkflowID: JourneyID(c.Customer), TaskQueue: TaskQueue,
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON}
		f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), JourneyWorkflow, c)
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return err
		}
	}
	for _, ev := range in.Events {
		if d := ev.At.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return err
			}
		}
		if err := workflow.SignalExternalWorkflow(ctx, JourneyID(ev.Customer), "", SignalEvent, ev).Get(ctx, nil); err != nil {
			return err
		}
	}
	return workflow.Sleep(ctx, in.Until.Sub(workflow.Now(ctx)))
}

// outbox is the activities of the parity test: each records the keys it
// carried out, so a test can check nothing was sent twice. BookSlot
// books in a ledger per owner, as the OwnerCalendar workflows do (the test
// environment runs no workflow that the code under test does not start),
// with requests arriving when they are made, and keeps the requests.
type outbox struct {
	mu      sync.Mutex
	keys    []string
	ledgers map[string]*engine.Ledger
	books   []engine.BookRequest
}

// ties are the meetings asked of one owner at the same instant as
// another: Temporal books them in the order they arrive, tend simulate in
// customer and key order, so their slots may be swapped.
func (o *outbox) ties() map[string]bool {
	type slot struct {
		owner string
		at    time.Time
	}
	n := map[slot]int{}
	for _, q := range o.books {
		n[slot{engine.OwnerKey(q.Owner), q.Earliest}]++
	}
	out := map[string]bool{}
	for _, q := range o.books {
		if n[slot{engine.OwnerKey(q.Owner), q.Earliest}] > 1 {
			out[q.Key] = true
		}
	}
	return out
}

func (o *outbox) register(env *testsuite.TestWorkflowEnvironment) {
	for _, k := range lang.Actions {
		if k.Activity == "" {
			continue // the journey applies it
		}
		env.RegisterActivityWithOptions(func(ctx context.Context, a engine.Action) error {
			o.mu.Lock()
			o.keys = append(o.keys, a.Kind+" "+a.Key)
			o.mu.Unlock()
			return nil
		}, activity.RegisterOptions{Name: activityName(k.Name)})
	}
	env.RegisterActivityWithOptions(func(ctx context.Context, q engine.BookRequest) (time.Time, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.ledgers == nil {
			o.ledgers = map[string]*engine.Ledger{}
		}
		l := o.ledgers[engine.OwnerKey(q.Owner)]
		if l == nil {
			l = &engine.Ledger{}
			o.ledgers[engine.OwnerKey(q.Owner)] = l
		}
		o.books = append(o.books, q)
		return l.Book(q.Earliest, q)
	}, activity.RegisterOptions{Name: engine.BookSlotActivity})
}

// canonical orders a timeline by time, then customer, then run, keeping
// each run's own order. Within one instant, runs of one customer act
// concurrently in Temporal, so only each run's order is fixed. The slots
// of meetings in ties are left out (see outbox.ties).
func canonical(recs []lang.Record, ties map[string]bool) []string {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.Customer != b.Customer {
			return a.Customer < b.Customer
		}
		return a.Run < b.Run
	})
	out := make([]string, len(recs))
	for i, r := range recs {
		if ties[r.Task] && r.Start != nil {
			r.Start = nil
		}
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}

func TestParityWithSimulate(t *testing.T) {
	bundle, set := loadBundle(t, "../playbooks")
	scenarios, _ := filepath.Glob("../examples/*/scenario.yaml")
	if len(scenarios) == 0 {
		t.Fatal("no example scenarios found")
	}
	for _, path := range scenarios {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sc, errs := lang.ParseScenario(path, data, set.Schema)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			checkParity(t, bundle, set, sc)
		})
	}
}

// checkParity plays a scenario in the simulator and in the workflows (on
// the test environment), and fails unless both make the same timeline and
// no action was carried out twice. It returns the timeline.
func checkParity(t *testing.T, bundle Bundle, set *lang.Set, sc *lang.Scenario) []lang.Record {
	t.Helper()
	in := sim.Input{Start: sc.Start, Until: sc.Until, Events: sc.Events}
	drv := driverInput{Until: sc.Until}
	seen := map[string]bool{}
	for _, c := range sc.Customers {
		in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
		drv.Customers = append(drv.Customers, JourneyInput{Customer: c.ID, Attrs: c.Attrs})
		seen[c.ID] = true
	}
	for _, e := range sc.Events {
		if !seen[e.Customer] {
			seen[e.Customer] = true
			drv.Customers = append(drv.Customers, JourneyInput{Customer: e.Customer})
		}
		if !e.At.Before(sc.Start) && e.At.Before(sc.Until) {
			drv.Events = append(drv.Events, e)
		}
	}
	want, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []lang.Record
	w := New(NewPlaybooks(bundle), Options{OnRecord: func(r lang.Record) {
		mu.Lock()
		defer mu.Unlock()
		if r.At.Before(sc.Until) {
			got = append(got, r)
		}
	}})
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(sc.Start)
	env.SetDetachedChildWait(false)
	w.Register(env)
	env.RegisterWorkflow(scenarioDriver)
	box := &outbox{}
	box.register(env)
	env.ExecuteWorkflow(scenarioDriver, drv)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("driver: %v", err)
	}
	ties := box.ties()
	wantL, gotL := canonical(append([]lang.Record(nil), want.Records...), ties), canonical(got, ties)
	if len(wantL) == 0 {
		t.Fatal("simulate produced no records: the scenario tests nothing")
	}
	for i := 0; i < len(wantL) || i < len(gotL); i++ {
		var w, g string
		if i < len(wantL) {
			w = wantL[i]
		}
		if i < len(gotL) {
			g = gotL[i]
		}
		if w != g {
			t.Fatalf("record %d differs (simulate %d records, workflows %d):\n simulate:  %s\n workflows: %s", i, len(wantL), len(gotL), w, g)
		}
	}
	dup := map[string]bool{}
	for _, k := range box.keys {
		if dup[k] {
			t.Errorf("action %s carried out twice", k)
		}
		dup[k] = true
	}
	return want.Records
}
