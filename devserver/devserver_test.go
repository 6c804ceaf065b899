package devserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var testAttrs = map[string]enums.IndexedValueType{
	"TendCustomer": enums.INDEXED_VALUE_TYPE_KEYWORD,
	"TendPlaybook": enums.INDEXED_VALUE_TYPE_KEYWORD,
}

func testOptions(t *testing.T) Options {
	return Options{
		DBFile:           filepath.Join(t.TempDir(), "sub", "tend.db"),
		Namespace:        "tend-test",
		SearchAttributes: testAttrs,
		Logger:           zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger(),
	}
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.Address(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.Address(), err)
	}
	t.Cleanup(c.Close)
	return c
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	p, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func listSearchAttributes(t *testing.T, c client.Client, ns string) map[string]enums.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	return resp.GetCustomAttributes()
}

func checkSearchAttributes(t *testing.T, c client.Client, ns string, want map[string]enums.IndexedValueType) {
	t.Helper()
	got := listSearchAttributes(t, c, ns)
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("search attribute %s = %v, want %v (all: %v)", name, got[name], typ, got)
		}
	}
}

func TestStartWithUI(t *testing.T) {
	opts := testOptions(t)
	opts.UIPort = freeTestPort(t)
	s := start(t, opts)

	if want := "http://127.0.0.1:" + strconv.Itoa(opts.UIPort); s.UIAddress() != want {
		t.Errorf("UIAddress = %q, want %q", s.UIAddress(), want)
	}
	if _, err := os.Stat(opts.DBFile); err != nil {
		t.Errorf("db file: %v", err)
	}
	c := dial(t, s)
	ns, err := c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "tend-test"})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if ns.GetNamespaceInfo().GetState() != enums.NAMESPACE_STATE_REGISTERED {
		t.Errorf("namespace state = %v", ns.GetNamespaceInfo().GetState())
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 30*24*time.Hour {
		t.Errorf("retention = %s, want 720h (the dev default)", got)
	}
	checkSearchAttributes(t, c, "tend-test", testAttrs)

	if body := get(t, s.UIAddress()); !strings.Contains(body, "<html") {
		t.Errorf("GET %s: no html page: %.200s", s.UIAddress(), body)
	}
	// The UI's API reaches the frontend.
	if body := get(t, s.UIAddress()+"/api/v1/namespaces"); !strings.Contains(body, `"tend-test"`) {
		t.Errorf("UI namespaces lack tend-test: %.300s", body)
	}

	s.Stop()
	s.Stop()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %.200s", url, resp.StatusCode, body)
	}
	return string(body)
}

func TestStartInMemory(t *testing.T) {
	s := start(t, Options{SearchAttributes: testAttrs})
	if s.Namespace() != "default" || s.UIAddress() != "" || !strings.HasPrefix(s.Address(), "127.0.0.1:") {
		t.Errorf("Namespace %q, UIAddress %q, Address %q", s.Namespace(), s.UIAddress(), s.Address())
	}
	checkSearchAttributes(t, dial(t, s), "default", testAttrs)
}

func sleeper(ctx workflow.Context) (string, error) {
	timer := workflow.NewTimer(ctx, time.Hour)
	var how string
	workflow.NewSelector(ctx).
		AddFuture(timer, func(workflow.Future) { how = "timer" }).
		AddReceive(workflow.GetSignalChannel(ctx, "finish"), func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, &how)
		}).
		Select(ctx)
	return how, nil
}

func TestRestartKeepsState(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.Port = freeTestPort(t)
	s := start(t, opts)
	c := dial(t, s)

	w := worker.New(c, "tend-test", worker.Options{})
	w.RegisterWorkflow(sleeper)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "sleeper", TaskQueue: "tend-test"}, sleeper)
	if err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, c, run, enums.EVENT_TYPE_TIMER_STARTED)
	w.Stop()
	c.Close()
	s.Stop()
	if err := checkPort("127.0.0.1", opts.Port); err != nil {
		t.Fatalf("frontend port still taken after Stop: %v", err)
	}

	// The second start, on a new port, also adds a search attribute to the existing
	// namespace, usable at once.
	opts.Port = 0
	opts.SearchAttributes = map[string]enums.IndexedValueType{
		"TendCustomer": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendStage":    enums.INDEXED_VALUE_TYPE_KEYWORD,
	}
	s = start(t, opts)
	c = dial(t, s)
	checkSearchAttributes(t, c, "tend-test", map[string]enums.IndexedValueType{
		"TendCustomer": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendPlaybook": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendStage":    enums.INDEXED_VALUE_TYPE_KEYWORD,
	})
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "staged",
		TaskQueue:             "tend-test",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("TendStage").ValueSet("onboarding")),
	}, sleeper); err != nil {
		t.Fatalf("start with the new search attribute: %v", err)
	}

	desc, err := c.DescribeWorkflowExecution(ctx, "sleeper", run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want running", st)
	}
	if fired := hasEvent(t, c, run, enums.EVENT_TYPE_TIMER_FIRED); fired {
		t.Fatal("the one-hour timer has fired")
	}

	if err := c.SignalWorkflow(ctx, "sleeper", run.GetRunID(), "finish", "signal"); err != nil {
		t.Fatal(err)
	}
	w = worker.New(c, "tend-test", worker.Options{})
	w.RegisterWorkflow(sleeper)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var how string
	if err := c.GetWorkflow(ctx, "sleeper", run.GetRunID()).Get(ctx, &how); err != nil {
		t.Fatal(err)
	}
	if how != "signal" {
		t.Errorf("workflow ended by %q, want signal", how)
	}
}

// waitForEvent long-polls the run's history until an event of type typ arrives.
func waitForEvent(t *testing.T, c client.Client, run client.WorkflowRun, typ enums.EventType) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), true, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if ev.GetEventType() == typ {
			return
		}
	}
	t.Fatalf("history ended without %v", typ)
}

func hasEvent(t *testing.T, c client.Client, run client.WorkflowRun, typ enums.EventType) bool {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if ev.GetEventType() == typ {
			return true
		}
	}
	return false
}

func TestPortsInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	_, err = Start(Options{Port: busy})
	if want := "frontend port " + strconv.Itoa(busy) + " is in use; pass --port"; err == nil || err.Error() != want {
		t.Errorf("busy frontend port: err = %v, want %q", err, want)
	}
	_, err = Start(Options{UIPort: busy})
	if want := "ui port " + strconv.Itoa(busy) + " is in use; pass --ui-port"; err == nil || err.Error() != want {
		t.Errorf("busy ui port: err = %v, want %q", err, want)
	}
}

func TestOptionsValidation(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"bad ip", Options{IP: "localhost"}, `ip "localhost" is not an ip address`},
		{"negative port", Options{Port: -1}, "port -1 is out of range 0-65535"},
		{"big ui port", Options{UIPort: 70000}, "ui port 70000 is out of range 0-65535"},
		{"same ports", Options{Port: 7233, UIPort: 7233}, "port and ui port are both 7233"},
		{"namespace with space", Options{Namespace: "my ns"}, `namespace "my ns" contains whitespace or control characters`},
		{"db file with query", Options{DBFile: "x.db?mode=memory"}, `db file "x.db?mode=memory" contains ? or #`},
		{"db file is a directory", Options{DBFile: dir}, "db file " + dir + " is a directory"},
		{"log level", Options{LogLevel: 42}, "log level 42 is out of range"},
		{"attribute name", Options{SearchAttributes: map[string]enums.IndexedValueType{"Tend Stage": enums.INDEXED_VALUE_TYPE_KEYWORD}},
			`search attribute "Tend Stage": name must be letters, digits and underscores`},
		{"reserved attribute", Options{SearchAttributes: map[string]enums.IndexedValueType{"WorkflowId": enums.INDEXED_VALUE_TYPE_KEYWORD}},
			`search attribute "WorkflowId" is reserved by temporal`},
		{"untyped attribute", Options{SearchAttributes: map[string]enums.IndexedValueType{"TendStage": enums.INDEXED_VALUE_TYPE_UNSPECIFIED}},
			`search attribute "TendStage" has no type`},
		{"unknown type", Options{SearchAttributes: map[string]enums.IndexedValueType{"TendStage": 99}},
			`search attribute "TendStage" has unknown type 99`},
		{"too many", Options{SearchAttributes: manyBools(100)}, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.opts)
			if err == nil {
				s.Stop()
				t.Fatalf("Start succeeded, want error %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func manyBools(n int) map[string]enums.IndexedValueType {
	m := map[string]enums.IndexedValueType{}
	for i := range n {
		m["Flag"+strconv.Itoa(i)] = enums.INDEXED_VALUE_TYPE_BOOL
	}
	return m
}

// The store holds every customer's history: its files are the owner's
// only, when made and when found looser from before.
func TestDBFilesPrivate(t *testing.T) {
	opts := testOptions(t)
	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(opts.DBFile[:len(opts.DBFile)-len(".db")] + "*")
		if len(files) < 3 { // at least the db, its -wal and the visibility file
			t.Fatalf("%s: only %v", when, files)
		}
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, filepath.Base(f), fi.Mode().Perm())
			}
		}
		if fi, err := os.Stat(filepath.Dir(opts.DBFile)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: directory mode %v, %v; want 0700", when, fi.Mode().Perm(), err)
		}
	}
	s := start(t, opts)
	check("new")
	s.Stop()
	files, _ := filepath.Glob(opts.DBFile[:len(opts.DBFile)-len(".db")] + "*")
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = start(t, opts)
	defer s.Stop()
	check("restarted after a chmod 0644")
}

// TestInternalPort: internal ports come from below the ephemeral range,
// never one already taken or listened on.
func TestInternalPort(t *testing.T) {
	var taken []int
	for range 50 {
		p, err := internalPort("127.0.0.1", taken)
		if err != nil {
			t.Fatal(err)
		}
		if p < internalLow || p >= internalHigh || slices.Contains(taken, p) {
			t.Fatalf("port %d: want one in [%d, %d) not in %v", p, internalLow, internalHigh, taken)
		}
		if err := checkPort("127.0.0.1", p); err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		taken = append(taken, p)
	}
}
