// Package integration runs tend against the embedded Temporal server: a
// real server on a SQLite file, real workers, the real activities writing
// to an outbox, and an httptest server as the CRM. It is the only place,
// besides cmd/, that imports devserver.
package integration

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

var verbose = flag.Bool("tend.v", false, "log the server and the workers to stderr")

// env is the package's shared server, client and CRM; tests run one after
// another and each uses its own customers.
var env struct {
	dir    string
	db     string
	srv    *devserver.Server
	cl     client.Client
	crm    *crm
	outbox string
}

func logger() zerolog.Logger {
	if *verbose {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "tend-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env.dir, env.db, env.outbox = dir, filepath.Join(dir, "temporal.db"), filepath.Join(dir, "outbox")
	env.crm = newCRM()
	srvHTTP := httptest.NewServer(env.crm)
	env.crm.url = srvHTTP.URL
	if err := startServer(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	env.cl.Close()
	env.srv.Stop()
	srvHTTP.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startServer() error {
	srv, err := devserver.Start(devserver.Options{DBFile: env.db, SearchAttributes: workflows.SearchAttributes(), Logger: logger()})
	if err != nil {
		return err
	}
	cl, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(logger())})
	if err != nil {
		srv.Stop()
		return err
	}
	env.srv, env.cl = srv, cl
	return nil
}

// crm is the webhook endpoint `crm`. It records each request's
// Idempotency-Key and can hold requests until released, to kill a worker
// while an activity is in flight.
type crm struct {
	url     string
	mu      sync.Mutex
	keys    []string
	fail    map[string]int           // customer → HTTP status to answer with
	hold    map[string]chan struct{} // customer → released when closed
	arrived map[string]chan struct{} // customer → closed when a held request arrives
}

func newCRM() *crm {
	return &crm{fail: map[string]int{}, hold: map[string]chan struct{}{}, arrived: map[string]chan struct{}{}}
}

func (c *crm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var msg struct {
		Customer string `json:"customer"`
	}
	_ = json.Unmarshal(body, &msg)
	c.mu.Lock()
	c.keys = append(c.keys, r.Header.Get("Idempotency-Key"))
	hold, arrived, fail := c.hold[msg.Customer], c.arrived[msg.Customer], c.fail[msg.Customer]
	delete(c.hold, msg.Customer)
	c.mu.Unlock()
	if fail != 0 {
		http.Error(w, "no such account", fail)
		return
	}
	if hold != nil {
		close(arrived)
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		http.Error(w, "worker went away", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// holdNext makes the next request for a customer wait until release is
// called; arrived is closed when it comes in.
func (c *crm) holdNext(customer string) (arrived <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, a := make(chan struct{}), make(chan struct{})
	c.hold[customer], c.arrived[customer] = h, a
	return a, func() { close(h) }
}

func (c *crm) requests(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.keys {
		if k == key {
			n++
		}
	}
	return n
}

// sets is the store of playbook sets every worker of the tests shares, as
// the workers of a cluster must: a journey pinned to one test's set is
// still queried, and replayed, by the next test's worker.
var sets = workflows.NewMemStore()

func startNode(t *testing.T) *node.Node {
	t.Helper()
	return startNodeIn(t, "testdata/playbooks")
}

func startNodeIn(t *testing.T, playbooks string) *node.Node {
	t.Helper()
	return startNodeWith(t, playbooks, workflows.Options{})
}

func startNodeWith(t *testing.T, playbooks string, wo workflows.Options) *node.Node {
	t.Helper()
	return startNodeConfig(t, playbooks, wo, nil)
}

// startNodeConfig is startNodeWith with configure, when not nil, applied to
// the worker's tend.yaml (to add an SMTP server or chat channels).
func startNodeConfig(t *testing.T, playbooks string, wo workflows.Options, configure func(*config.Config)) *node.Node {
	t.Helper()
	cfg := config.Default()
	cfg.Outbox = env.outbox
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: env.crm.url, Secret: "test-secret", Timeout: 10 * time.Second}}
	cfg.Links = &config.Links{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}
	if configure != nil {
		configure(cfg)
	}
	wo.ActivityTimeout, wo.RetryInitial, wo.RetryMax = 3*time.Second, 100*time.Millisecond, time.Second
	n, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: playbooks, Logger: logger(), Reload: -1, Workflows: wo, Store: sets})
	if err != nil {
		t.Fatalf("start worker: %v", err)
	}
	return n
}

// waitFor polls a condition until it holds or 60s pass: visibility and
// the outbox are eventually consistent, and there is no handle to wait on.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for range tick.C {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return c
}

func send(t *testing.T, events ...*lang.Event) {
	t.Helper()
	if err := control.SendEvents(ctx(t), env.cl, events); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func signup(customer string, at time.Time) []*lang.Event {
	return []*lang.Event{
		{ID: customer + "-profile", Type: "customer.updated", Customer: customer, At: at, Attributes: map[string]any{
			"name": strings.ToUpper(customer[:1]) + customer[1:], "csm": "jo@vendor.example", "manager": "max@vendor.example",
			"contact_email": "it@" + customer + ".example", "health": 20}},
		{ID: customer + "-signed", Type: "contract.signed", Customer: customer, At: at, Data: map[string]any{"plan": "pro"}},
	}
}

// runView queries a run; ok is false while it does not exist yet.
func runView(t *testing.T, id string) (*workflows.RunView, bool) {
	v, err := control.ShowRun(ctx(t), env.cl, id)
	if err != nil {
		return nil, false
	}
	return v, true
}

func waitTask(t *testing.T, runID, step string) string {
	t.Helper()
	var task string
	waitFor(t, "task "+step+" of "+runID, func() (bool, string) {
		v, ok := runView(t, runID)
		if !ok {
			return false, "no run yet"
		}
		for _, tk := range v.State.Tasks {
			if tk.Step == step {
				task = tk.ID
				return true, ""
			}
		}
		return false, v.Waiting
	})
	return task
}

// pastKickoff completes the kickoff task of customer's onboarding run and
// makes the customer healthy: the run goes on to its crm webhook.
func pastKickoff(t *testing.T, customer, task string) {
	t.Helper()
	if _, err := control.CompleteTask(ctx(t), env.cl, task, "held", time.Now()); err != nil {
		t.Fatalf("complete %s: %v", task, err)
	}
	send(t, &lang.Event{ID: customer + "-healthy", Type: "customer.updated", Customer: customer, At: time.Now(),
		Attributes: map[string]any{"health": 80}})
}

func finish(t *testing.T, customer, runID, task string) *workflows.RunResult {
	t.Helper()
	pastKickoff(t, customer, task)
	var res workflows.RunResult
	if err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), &res); err != nil {
		t.Fatalf("run %s: %v\njourney history:\n%s\nrun history:\n%s", runID, err, historyText(t, workflows.JourneyID(customer)), historyText(t, runID))
	}
	return &res
}

// historyText lists a workflow's history events, for failure messages.
func historyText(t *testing.T, id string) string {
	var b strings.Builder
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := env.cl.GetWorkflowHistory(c, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			fmt.Fprintf(&b, "  error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "  %d %s", ev.EventId, ev.EventType)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			fmt.Fprintf(&b, " %s %.160s", a.SignalName, a.GetInput().GetPayloads()[0].GetData())
		}
		if a := ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil {
			fmt.Fprintf(&b, " %s → %s %.160s", a.SignalName, a.GetWorkflowExecution().GetWorkflowId(), a.GetInput().GetPayloads()[0].GetData())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// outboxFiles lists the outbox files of a customer.
func outboxFiles(t *testing.T, customer string) []string {
	entries, err := os.ReadDir(env.outbox)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), "+"+customer+"+") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func wantOutbox(customer string) []string {
	return []string{
		"onboarding+" + customer + "+1+kickoff+1.ics",
		"onboarding+" + customer + "+1+live+1.eml",
		"onboarding+" + customer + "+1+welcome+1.eml",
	}
}

func TestEventsRunsAndOutbox(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "acme"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)

	waitFor(t, "the run in a visibility query by search attribute", func() (bool, string) {
		runs, err := control.ListRuns(ctx(t), env.cl, control.RunFilter{Playbook: "onboarding", Customer: cust})
		if err != nil || len(runs) != 1 {
			return false, fmt.Sprintf("%d runs, %v", len(runs), err)
		}
		return runs[0].ID == runID && runs[0].Status == "waiting" && runs[0].Step == "kickoff", fmt.Sprintf("%+v", runs[0])
	})
	task := waitTask(t, runID, "kickoff")
	tasks, err := control.ListTasks(ctx(t), env.cl, control.TaskFilter{Owner: "jo@vendor.example", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tasks, func(x control.TaskItem) bool { return x.Task.ID == task }) {
		t.Fatalf("tasks list for jo@vendor.example lacks %s: %+v", task, tasks)
	}

	res := finish(t, cust, runID, task)
	if res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	if got, want := outboxFiles(t, cust), wantOutbox(cust); !slices.Equal(got, want) {
		t.Errorf("outbox:\n got %q\nwant %q", got, want)
	}
	if got := env.crm.requests("onboarding/" + cust + "/1/crm/1"); got != 1 {
		t.Errorf("crm got %d requests for the run, want 1", got)
	}
	v, _ := runView(t, runID)
	var kinds []string
	for _, r := range v.Timeline {
		kinds = append(kinds, r.Kind+" "+r.Step)
	}
	want := []string{"run.started ", "action welcome", "action kickoff", "task.completed kickoff", "action crm", "action live", "action adopt", "run.completed "}
	if !slices.Equal(kinds, want) {
		t.Errorf("timeline:\n got %q\nwant %q", kinds, want)
	}
	waitFor(t, "the journey's stage to be adoption", func() (bool, string) {
		var jv workflows.JourneyView
		q, err := env.cl.QueryWorkflow(ctx(t), workflows.JourneyID(cust), "", workflows.QueryState)
		if err != nil {
			return false, err.Error()
		}
		if err := q.Get(&jv); err != nil {
			return false, err.Error()
		}
		return jv.Stage == "adoption" && len(jv.Running) == 0, fmt.Sprintf("stage %s, running %v", jv.Stage, jv.Running)
	})
	recordHistories(t, workflows.JourneyID(cust), runID)
}

func TestDuplicateEventAppliedOnce(t *testing.T) {
	n := startNode(t)
	defer n.Stop()
	const cust = "dup"
	evs := signup(cust, time.Now())
	send(t, evs...)
	runID := engine.RunID("onboarding", cust, 1)
	waitTask(t, runID, "kickoff")
	// The same two events again, then a marker: once the marker is applied,
	// the duplicates (sent before it) have been handled.
	send(t, evs[0], evs[1], &lang.Event{ID: "dup-marker", Type: "customer.updated", Customer: cust, At: time.Now(),
		Attributes: map[string]any{"name": "marker"}})
	var jv workflows.JourneyView
	waitFor(t, "the marker event", func() (bool, string) {
		q, err := env.cl.QueryWorkflow(ctx(t), workflows.JourneyID(cust), "", workflows.QueryState)
		if err != nil {
			return false, err.Error()
		}
		_ = q.Get(&jv)
		return jv.Attrs["name"] == "marker", fmt.Sprint(jv.Attrs["name"])
	})
	want := workflows.JourneyStats{Applied: 3, Duplicates: 2}
	if jv.Stats != want {
		t.Errorf("journey stats %+v, want %+v", jv.Stats, want)
	}
	if v, _ := runView(t, runID); v == nil || len(v.Timeline) != 3 {
		t.Errorf("run timeline after duplicates: %+v; want run.started, welcome, kickoff only", v)
	}
}

func TestWorkerKilledMidActivity(t *testing.T) {
	const cust = "crash"
	runID := engine.RunID("onboarding", cust, 1)
	n := startNode(t)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")
	arrived, release := env.crm.holdNext(cust)
	pastKickoff(t, cust, task)
	select {
	case <-arrived: // the webhook activity is in flight: kill the worker now
	case <-time.After(60 * time.Second):
		t.Fatal("the crm webhook never arrived")
	}
	n.Stop()
	release()
	n2 := startNode(t)
	defer n2.Stop()
	var res workflows.RunResult
	if err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), &res); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	if res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	if got, want := outboxFiles(t, cust), wantOutbox(cust); !slices.Equal(got, want) {
		t.Errorf("outbox:\n got %q\nwant %q", got, want)
	}
	key := "onboarding/" + cust + "/1/crm/1"
	if got := env.crm.requests(key); got < 2 {
		t.Errorf("crm saw %d requests with Idempotency-Key %s; want the killed one and its retry", got, key)
	}
	scheduled := activitiesScheduled(t, runID)
	for id, count := range scheduled {
		if count != 1 {
			t.Errorf("activity %s scheduled %d times", id, count)
		}
	}
	if len(scheduled) != 5 {
		t.Errorf("activities scheduled: %v; want welcome, the kickoff's slot, kickoff, crm, live once each", scheduled)
	}
}

// TestPermanentFailureFailsTheRun: the CRM answers 404, which is not
// retried: the run stalls, and when its retry window passes with no
// retry it fails with the reason, visible to managers.
func TestPermanentFailureFailsTheRun(t *testing.T) {
	n := startNodeWith(t, "testdata/playbooks", workflows.Options{RetryWindow: 2 * time.Second})
	defer n.Stop()
	const cust = "gone"
	env.crm.mu.Lock()
	env.crm.fail[cust] = http.StatusNotFound
	env.crm.mu.Unlock()
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	pastKickoff(t, cust, waitTask(t, runID, "kickoff"))
	err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("run %s ended with %v; want a failure naming the 404", runID, err)
	}
	if got := env.crm.requests("onboarding/" + cust + "/1/crm/1"); got != 1 {
		t.Errorf("a 404 was tried %d times; a permanent failure must not be retried", got)
	}
	waitFor(t, "TendStatus failed", func() (bool, string) {
		runs, err := control.ListRuns(ctx(t), env.cl, control.RunFilter{Customer: cust, Status: "failed"})
		return err == nil && len(runs) == 1, fmt.Sprint(len(runs), err)
	})
	v, _ := runView(t, runID)
	if v == nil || !strings.Contains(v.State.Reason, "step crm failed") {
		t.Errorf("run state %+v; want the reason naming step crm", v)
	}
}

// activitiesScheduled counts ActivityTaskScheduled events by activity id.
func activitiesScheduled(t *testing.T, id string) map[string]int {
	out := map[string]int{}
	it := env.cl.GetWorkflowHistory(ctx(t), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			out[a.ActivityId]++
		}
	}
	return out
}

// TestServerRestart stops the server under a waiting run and starts it
// again on the same SQLite file: the journey, the run and its timers are
// still there, and the run completes.
func TestServerRestart(t *testing.T) {
	const cust = "restart"
	runID := engine.RunID("onboarding", cust, 1)
	n := startNode(t)
	send(t, signup(cust, time.Now())...)
	task := waitTask(t, runID, "kickoff")
	n.Stop()
	env.cl.Close()
	env.srv.Stop()
	if err := startServer(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := pendingTimers(t, runID); !slices.Contains(got, "due: Kickoff with Restart at ") {
		t.Errorf("pending timers after restart: %q; want the kickoff's due timer", got)
	}
	n2 := startNode(t)
	defer n2.Stop()
	if res := finish(t, cust, runID, task); res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
}

// pendingTimers lists the summaries of timers started and neither fired
// nor cancelled, trimmed before the time.
func pendingTimers(t *testing.T, id string) []string {
	started := map[string]string{}
	it := env.cl.GetWorkflowHistory(ctx(t), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.GetTimerStartedEventAttributes() != nil:
			var s string
			if p := ev.GetUserMetadata().GetSummary(); p != nil {
				_ = json.Unmarshal(p.GetData(), &s)
			}
			if i := strings.LastIndex(s, " at "); i >= 0 {
				s = s[:i+4]
			}
			started[ev.GetTimerStartedEventAttributes().TimerId] = s
		case ev.GetTimerFiredEventAttributes() != nil:
			delete(started, ev.GetTimerFiredEventAttributes().TimerId)
		case ev.GetTimerCanceledEventAttributes() != nil:
			delete(started, ev.GetTimerCanceledEventAttributes().TimerId)
		}
	}
	var out []string
	for _, s := range started {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
