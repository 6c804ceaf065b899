package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/activities"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

var (
	flagHistory   = flag.Bool("history", false, "run TestHistoryEventsPerKind and TestLongRunContinuesAsNew on the embedded server (about 2 minutes)")
	flagTable     = flag.String("table", "", "write the history-events tables (Markdown) to this file, relative to bench/; implies -history")
	flagLong      = flag.Int("long", 3000, "events sent to the long run of TestLongRunContinuesAsNew")
	flagBurst     = flag.Int("burst", 0, "events in TestBurstWhileWorkerDown (0 skips it; scripts/bench.sh uses 5000)")
	flagCustomers = flag.Int("customers", 200, "customers per batch in BenchmarkThroughput")
	flagSenders   = flag.Int("senders", 8, "goroutines sending events in the benchmarks")
	flagRounds    = flag.Int("rounds", 4, "rounds of BenchmarkThroughputInterleaved, each a batch of tend and one of handwritten")
	flagBatch     = flag.Int("batch", 200, "customers per batch in BenchmarkThroughputInterleaved")
	flagIdle      = flag.Int("idle", 0, "idle journeys in BenchmarkIdleJourneys (0 skips it; scripts/bench.sh uses 10000)")
	flagMemDB     = flag.Bool("memdb", false, "run the embedded server on an in-memory SQLite database instead of a file (no fsync)")
	flagDBDir     = flag.String("dbdir", "", "directory for the embedded server's SQLite file (default: a new temporary directory); /dev/shm makes fsync free")
	flagVerbose   = flag.Bool("tend.v", false, "log the server and the workers to stderr")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *flagIdle > 0 {
		// The sticky cache is process-wide and sized before any worker
		// starts: room for every journey and every run, and some spare.
		worker.SetStickyWorkflowCacheSize(2**flagIdle + 1000)
	}
	code := m.Run()
	srv.stop()
	if err := writeReport(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// report collects the Markdown sections the tests write to -table.
var report struct {
	mu       sync.Mutex
	sections []string
}

func addReport(section string) {
	report.mu.Lock()
	report.sections = append(report.sections, section)
	report.mu.Unlock()
}

func writeReport() error {
	if *flagTable == "" || len(report.sections) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(*flagTable), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*flagTable, []byte(strings.Join(report.sections, "\n")), 0o644)
}

func logger() zerolog.Logger {
	if *flagVerbose {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// srv is the package's embedded server, started by the first test or
// benchmark that needs it, on a SQLite file as `tend dev` runs it.
var srv shared

type shared struct {
	once    sync.Once
	err     error
	dir     string
	server  *devserver.Server
	client  client.Client
	metrics *gauges
}

func (s *shared) start() {
	s.dir, s.err = os.MkdirTemp(*flagDBDir, "tend-bench-")
	if s.err != nil {
		return
	}
	db := filepath.Join(s.dir, "temporal.db")
	if *flagMemDB {
		db = ""
	}
	s.server, s.err = devserver.Start(devserver.Options{DBFile: db, SearchAttributes: workflows.SearchAttributes(), Logger: logger()})
	if s.err != nil {
		return
	}
	s.metrics = &gauges{values: map[string]float64{}}
	s.client, s.err = client.Dial(client.Options{HostPort: s.server.Address(), Namespace: s.server.Namespace(),
		Logger: zlog.SDK(logger()), MetricsHandler: s.metrics})
}

func (s *shared) stop() {
	if s.client != nil {
		s.client.Close()
	}
	if s.server != nil {
		s.server.Stop()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// server returns the shared server and client, starting them once.
func server(tb testing.TB) *shared {
	tb.Helper()
	srv.once.Do(srv.start)
	if srv.err != nil {
		tb.Fatalf("embedded server: %v", srv.err)
	}
	return &srv
}

// gauges is a metrics handler that keeps the last value of every gauge and
// the sum of every counter, by name: the worker's sticky cache size comes
// from here.
type gauges struct {
	mu     sync.Mutex
	values map[string]float64
}

func (g *gauges) WithTags(map[string]string) client.MetricsHandler { return g }

func (g *gauges) Counter(name string) client.MetricsCounter { return metric{g, name, true} }

func (g *gauges) Gauge(name string) client.MetricsGauge { return metric{g, name, false} }

func (g *gauges) Timer(string) client.MetricsTimer { return client.MetricsNopHandler.Timer("") }

type metric struct {
	g    *gauges
	name string
	sum  bool
}

func (m metric) Inc(d int64) { m.Update(float64(d)) }

func (m metric) Update(v float64) {
	m.g.mu.Lock()
	if m.sum {
		m.g.values[m.name] += v
	} else {
		m.g.values[m.name] = v
	}
	m.g.mu.Unlock()
}

func (g *gauges) get(name string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.values[name]
}

// benchConfig is tend.yaml for the benchmarks: nothing configured, so
// email, chat and webhooks all land in the outbox, on local disk.
func benchConfig(outbox string) *config.Config {
	cfg := config.Default()
	cfg.Outbox = outbox
	cfg.Links = &config.Links{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}
	return cfg
}

// startNode starts a tend worker (node.Start, the real activities) on a
// playbook directory.
func startNode(tb testing.TB, s *shared, playbooks, outbox string, wo workflows.Options, w worker.Options) *node.Node {
	tb.Helper()
	n, err := node.Start(node.Options{Client: s.client, Config: benchConfig(outbox), Playbooks: playbooks,
		Logger: logger(), Reload: -1, Workflows: wo, Worker: w})
	if err != nil {
		tb.Fatalf("start worker: %v", err)
	}
	return n
}

// handQueue is the task queue of the hand-written workflows.
const handQueue = "bench-hand"

// startHand starts a worker for the hand-written workflows, with the same
// activities (activities.New over the same options) as node.Start.
func startHand(tb testing.TB, s *shared, outbox string, w worker.Options, wfs ...any) worker.Worker {
	tb.Helper()
	acts, err := activities.New(node.ActivityOptions(benchConfig(outbox)), logger())
	if err != nil {
		tb.Fatal(err)
	}
	wk := worker.New(s.client, handQueue, w)
	acts.Register(wk)
	for _, wf := range wfs {
		wk.RegisterWorkflow(wf)
	}
	if err := wk.Start(); err != nil {
		tb.Fatalf("start hand-written worker: %v", err)
	}
	return wk
}

// waitClosed waits for a workflow to close and decodes its result. It
// retries while the workflow does not exist yet (a run is started by its
// journey some time after the event is sent).
func waitClosed(ctx context.Context, c client.Client, id string, result any) error {
	for {
		err := c.GetWorkflow(ctx, id, "").Get(ctx, result)
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never started: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// poll calls cond every 20ms until it holds, or fails after limit.
func poll(tb testing.TB, limit time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	if err := pollErr(limit, what, cond); err != nil {
		tb.Fatal(err)
	}
}

// pollErr is poll for goroutines other than the test's: it returns the error.
func pollErr(limit time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; last seen: %s", limit, what, state)
		}
		<-tick.C
	}
}

// history reads the events of the current (runID "") or given execution
// of a workflow, as the server stores them.
func history(ctx context.Context, c client.Client, id, runID string) ([]*historypb.HistoryEvent, error) {
	var out []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// memStats is the process's memory at one point: RSS and its peak from
// /proc/self/status, and the Go heap after a forced GC.
type memStats struct {
	RSS, HWM   uint64 // bytes
	HeapInuse  uint64
	StackInuse uint64
	Sys        uint64
	Goroutines int
}

// measure forces a GC, returns freed memory to the OS (so RSS is what is
// live, not what the runtime keeps for later), and reads the figures.
func measure() memStats {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := memStats{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine()}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return st
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseUint(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			st.RSS = kb << 10
		case "VmHWM":
			st.HWM = kb << 10
		}
	}
	return st
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// dbSize is the size of the embedded server's SQLite file(s), in bytes.
func dbSize(s *shared) uint64 {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0
	}
	var n uint64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "temporal.db") {
			n += uint64(info.Size())
		}
	}
	return n
}
