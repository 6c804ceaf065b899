package workflows

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// dailySet is a set with one daily-triggered playbook, for clock tests.
func dailySet(t *testing.T, extra string) Bundle {
	t.Helper()
	b, _, errs := NewBundle([]lang.File{
		{Path: "schema.yaml", Data: []byte("customer: {timezone: string, health: float}\nevents: {ping: {}}\ncalendar: {timezone: UTC, daily_at: \"09:00\"}\n")},
		{Path: "daily.yaml", Data: []byte("playbook: daily-look\ntrigger: {on: daily, once_per: now.YearDay()}\nsteps:\n  - {id: look, do: notify, text: \"look" + extra + "\"}\n")},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return b
}

// journeyEnv runs a journey in the test environment, with no-op activities,
// and collects its records.
func journeyEnv(t *testing.T, pb *Playbooks) (*testsuite.TestWorkflowEnvironment, func() []lang.Record) {
	var mu sync.Mutex
	var recs []lang.Record
	w := New(pb, Options{OnRecord: func(r lang.Record) {
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	}})
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetDetachedChildWait(false)
	w.Register(env)
	(&outbox{}).register(env)
	return env, func() []lang.Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]lang.Record(nil), recs...)
	}
}

// A new journey whose first event carries the customer's time zone arms
// its first daily check at daily_at in that zone, and re-arms it when the
// zone changes.
func TestJourneyDailyFollowsTimezone(t *testing.T) {
	pb := NewPlaybooks(dailySet(t, ""))
	env, records := journeyEnv(t, pb)
	start := time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC) // a Monday, 06:00 in Berlin
	env.SetStartTime(start)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEvent, &lang.Event{ID: "tz", Type: lang.EventCustomerUpdated, Customer: "zed", At: start,
			Attributes: map[string]any{"timezone": "Europe/Berlin"}})
	}, 0)
	// On day two, before 09:00 Berlin, the customer moves to New York.
	moved := time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEvent, &lang.Event{ID: "move", Type: lang.EventCustomerUpdated, Customer: "zed", At: moved,
			Attributes: map[string]any{"timezone": "America/New_York"}})
	}, moved.Sub(start))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 3*24*time.Hour)
	env.ExecuteWorkflow(JourneyWorkflow, JourneyInput{Customer: "zed"})
	var starts []string
	for _, r := range records() {
		if r.Kind == lang.RecRunStarted {
			starts = append(starts, r.At.UTC().Format("01-02 15:04"))
		}
	}
	// 09:00 Berlin is 08:00 UTC; 09:00 New York is 14:00 UTC (EST).
	want := []string{"03-02 08:00", "03-03 14:00", "03-04 14:00"}
	if strings.Join(starts, " ") != strings.Join(want, " ") {
		t.Fatalf("daily runs started at %v (UTC), want %v", starts, want)
	}
}

// A journey asked to use a set that no longer compiles keeps working on
// the worker's current set and says why in its state.
func TestJourneyKeepsLastGoodSet(t *testing.T) {
	good := dailySet(t, "")
	store := NewMemStore()
	broken := Bundle{Version: "0badc0ffee00", Files: []BundleFile{{Path: "schema.yaml", Text: "customer: {x: nosuchtype}\n"}}}
	if err := store.Put(broken); err != nil {
		t.Fatal(err)
	}
	pb, err := NewPlaybooks(good).WithStore(store)
	if err != nil {
		t.Fatal(err)
	}
	env, records := journeyEnv(t, pb)
	start := time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)
	env.SetStartTime(start)
	var view JourneyView
	pingThenQuery(t, env, start, 2*time.Hour, &view)
	env.ExecuteWorkflow(JourneyWorkflow, JourneyInput{Customer: "zed", Set: broken.Version})
	if view.Version != good.Version || !strings.Contains(view.Error, "no longer compiles") || view.Stats.Applied != 1 {
		t.Errorf("view: version %s (want %s), error %q, applied %d", view.Version, good.Version, view.Error, view.Stats.Applied)
	}
	if n := len(records()); n == 0 {
		t.Error("the daily playbook never ran on the good set")
	}
}

// The store resolves versions; a missing one is ErrSetNotFound, a broken
// one a compile error, and the cache stays bounded.
func TestPlaybooksStore(t *testing.T) {
	dir := t.TempDir()
	a, b := dailySet(t, ""), dailySet(t, "!")
	if a.Version == b.Version {
		t.Fatal("two sets share a version")
	}
	pb, err := NewPlaybooks(a).WithStore(DirStore{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := pb.Swap(b); err != nil {
		t.Fatal(err)
	}
	// Another worker with the same directory resolves both.
	other, err := NewPlaybooks(Bundle{}).WithStore(DirStore{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{a.Version, b.Version} {
		set, err := other.Set(v)
		if err != nil || set.Version != v {
			t.Errorf("Set(%s) = %v, %v", v, set, err)
		}
	}
	if _, err := other.Set("000000000000"); !errors.Is(err, ErrSetNotFound) {
		t.Errorf("missing set: %v, want ErrSetNotFound", err)
	}
	if _, err := other.Set("../etc"); err == nil || errors.Is(err, ErrSetNotFound) {
		t.Errorf("bad version: %v", err)
	}
	mem := NewMemStore()
	many, _ := NewPlaybooks(Bundle{}).WithStore(mem)
	for i := range maxCachedSets + 5 {
		v := dailySet(t, strings.Repeat("x", i+2))
		_ = mem.Put(v)
		if _, err := many.Set(v.Version); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(many.sets); n > maxCachedSets {
		t.Errorf("%d compiled sets cached, want at most %d", n, maxCachedSets)
	}
}

// A journey that has started no playbook answers with an empty, not a
// missing, Playbooks: tend publish takes a missing one for a worker older
// than the field and leaves the customer out of its trigger report.
func TestJourneyViewPlaybooksNeverMissing(t *testing.T) {
	pb := NewPlaybooks(dailySet(t, ""))
	env, _ := journeyEnv(t, pb)
	start := time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)
	env.SetStartTime(start)
	var raw map[string]json.RawMessage
	var view JourneyView
	pingThenQuery(t, env, start, time.Minute, &raw, &view)
	env.ExecuteWorkflow(JourneyWorkflow, JourneyInput{Customer: "zed"})
	if view.Stats.Applied != 1 || len(view.Running) != 0 {
		t.Fatalf("view: applied %d, running %v; want the event applied and nothing started", view.Stats.Applied, view.Running)
	}
	if string(raw["playbooks"]) != "{}" || view.Playbooks == nil {
		t.Errorf("playbooks in the answer: %s (decoded %v); want {}", raw["playbooks"], view.Playbooks)
	}
}

// pingThenQuery signals customer zed's journey a ping event at start, and
// after that long decodes its QueryState answer into each of into and
// cancels the workflow.
func pingThenQuery(t *testing.T, env *testsuite.TestWorkflowEnvironment, start time.Time, after time.Duration, into ...any) {
	t.Helper()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEvent, &lang.Event{ID: "1", Type: "ping", Customer: "zed", At: start})
	}, 0)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		for _, p := range into {
			if err == nil {
				err = v.Get(p)
			}
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
		env.CancelWorkflow()
	}, after)
}
