package devserver

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	temporalsql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
)

// pragmas reads settings of the server's own SQLite connection: the plugin keeps one
// connection per DSN, shared by every service, and an admin DB on the same config gets
// it too. Exec returns no rows, so the values go through a table read back from a second
// connection.
func pragmas(t *testing.T, s *Server, db *sql.DB) (journal string, synchronous, busyTimeout int) {
	t.Helper()
	admin, err := temporalsql.NewSQLAdminDB(sqlplugin.DbKindUnknown, s.sql, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		t.Fatalf("open admin db: %v", err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.Exec(`CREATE TABLE tend_test_pragmas AS SELECT
		(SELECT journal_mode FROM pragma_journal_mode) AS journal,
		(SELECT synchronous FROM pragma_synchronous) AS synchronous,
		(SELECT timeout FROM pragma_busy_timeout) AS busy_timeout`); err != nil {
		t.Fatalf("record the server connection's pragmas: %v", err)
	}
	if err := db.QueryRow(`SELECT journal, synchronous, busy_timeout FROM tend_test_pragmas`).Scan(&journal, &synchronous, &busyTimeout); err != nil {
		t.Fatalf("read the server connection's pragmas: %v", err)
	}
	return journal, synchronous, busyTimeout
}

// openDB opens a second connection to the server's file, with the modernc.org/sqlite
// driver the server's sqlite plugin registers.
func openDB(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestSQLiteWAL(t *testing.T) {
	opts := testOptions(t)
	s := start(t, opts)
	c := dial(t, s)
	if _, err := c.SignalWithStartWorkflow(context.Background(), "wal", "event", "x",
		client.StartWorkflowOptions{TaskQueue: "tend-test"}, "sleeper"); err != nil {
		t.Fatalf("SignalWithStartWorkflow: %v", err)
	}

	// While the server runs, commits go to the WAL file beside the database.
	if fi, err := os.Stat(opts.DBFile + "-wal"); err != nil || fi.Size() == 0 {
		t.Errorf("no write-ahead log beside the database: %v", err)
	}
	db := openDB(t, opts.DBFile)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode of %s = %q, want wal", opts.DBFile, mode)
	}
	journal, synchronous, busy := pragmas(t, s, db)
	if journal != "wal" || synchronous != 1 || busy != 5000 {
		t.Errorf("server connection: journal_mode %s, synchronous %d, busy_timeout %d; want wal, 1 (normal), 5000",
			journal, synchronous, busy)
	}
}

// TestSQLiteDefaults checks that the measuring switch really turns the tuning off, so that
// BenchmarkSignalWithStart compares what it says.
func TestSQLiteDefaults(t *testing.T) {
	opts := testOptions(t)
	opts.sqliteDefaults = true
	s := start(t, opts)
	journal, synchronous, _ := pragmas(t, s, openDB(t, opts.DBFile))
	if journal != "delete" || synchronous != 2 {
		t.Errorf("server connection: journal_mode %s, synchronous %d; want delete, 2 (full)", journal, synchronous)
	}
}

// BenchmarkSignalWithStart times SignalWithStartWorkflow on one workflow id, each call a
// committed event, on a file database with the tuning (wal) and with SQLite's defaults
// (rollback). It reports the latency percentiles of the calls:
//
//	go test ./devserver -run '^$' -bench SignalWithStart -benchtime 300x
func BenchmarkSignalWithStart(b *testing.B) {
	for _, mode := range []struct {
		name     string
		defaults bool
	}{{"wal", false}, {"rollback", true}} {
		// Started once, though the benchmark function runs more than once, in a directory
		// that outlives each run.
		var srv *Server
		runs := 0
		dir := b.TempDir()
		b.Run(mode.name, func(b *testing.B) {
			if srv == nil {
				var err error
				srv, err = Start(Options{
					DBFile:         filepath.Join(dir, "temporal.db"),
					Logger:         zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}),
					sqliteDefaults: mode.defaults,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			runs++
			id := fmt.Sprintf("bench-%d", runs) // a new workflow, its history from the start
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if _, err := c.SignalWithStartWorkflow(ctx, id, "event", i,
					client.StartWorkflowOptions{TaskQueue: "bench"}, "trivial"); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
		if srv != nil {
			srv.Stop()
		}
	}
}

// A new state directory keeps visibility records in their own file, without
// the indexes tend never uses, and lists still work; an older directory
// (a database without that file) keeps them in the database.
func TestVisibilityFile(t *testing.T) {
	opts := testOptions(t)
	s := start(t, opts)
	c := dial(t, s)
	if _, err := c.SignalWithStartWorkflow(context.Background(), "vis", "event", "x",
		client.StartWorkflowOptions{TaskQueue: "tend-test"}, "sleeper"); err != nil {
		t.Fatalf("SignalWithStartWorkflow: %v", err)
	}
	vis := VisibilityFile(opts.DBFile)
	if want := strings.TrimSuffix(opts.DBFile, ".db") + "-visibility.db"; vis != want {
		t.Fatalf("VisibilityFile = %s, want %s", vis, want)
	}
	listed := func(c client.Client) bool {
		// Visibility is written after the start returns: wait for it.
		deadline := time.After(30 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = 'vis'"})
			if err == nil && len(resp.GetExecutions()) == 1 {
				return true
			}
			select {
			case <-tick.C:
			case <-deadline:
				return false
			}
		}
	}
	if !listed(c) {
		t.Fatal("the workflow is not listed")
	}
	db := openDB(t, vis)
	var n int
	if err := db.QueryRow("SELECT count(*) FROM executions_visibility WHERE workflow_id = 'vis'").Scan(&n); err != nil || n != 1 {
		t.Errorf("visibility rows in %s: %d, %v; want 1", vis, n, err)
	}
	var indexes int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('by_bool_01', 'by_task_queue')").Scan(&indexes); err != nil || indexes != 0 {
		t.Errorf("unused indexes left: %d, %v", indexes, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('by_keyword_01', 'by_status', 'by_workflow_type')").Scan(&indexes); err != nil || indexes != 3 {
		t.Errorf("indexes for tend's lists: %d of 3, %v", indexes, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM executions_visibility").Scan(&n); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	// An older state directory: no visibility file beside the database.
	for _, f := range []string{vis, vis + "-wal", vis + "-shm"} {
		_ = os.Remove(f)
	}
	s = start(t, opts)
	if _, err := os.Stat(vis); !os.IsNotExist(err) {
		t.Errorf("a visibility file was made for an older database: %v", err)
	}
	c = dial(t, s)
	if _, err := c.SignalWithStartWorkflow(context.Background(), "vis", "event", "y",
		client.StartWorkflowOptions{TaskQueue: "tend-test"}, "sleeper"); err != nil {
		t.Fatalf("SignalWithStartWorkflow after restart: %v", err)
	}
	if !listed(c) {
		t.Error("the workflow is not listed from the database's own visibility table")
	}
}

// BenchmarkStartWorkflows starts b.N new workflows (a customer's first
// event: one signal-with-start each) from 16 goroutines, with the
// visibility records in their own file without the unused indexes
// (split), and in the database with every index (onefile), and reports
// starts per second:
//
//	go test ./devserver -run '^$' -bench StartWorkflows -benchtime 2000x
func BenchmarkStartWorkflows(b *testing.B) {
	for _, mode := range []struct {
		name    string
		oneFile bool
	}{{"split", false}, {"onefile", true}} {
		b.Run(mode.name, func(b *testing.B) {
			srv, err := Start(Options{DBFile: filepath.Join(b.TempDir(), "temporal.db"), Logger: zerolog.Nop(), oneFile: mode.oneFile})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ids := make(chan int)
			errs := make(chan error, 16)
			b.ResetTimer()
			t0 := time.Now()
			for range 16 {
				go func() {
					for i := range ids {
						if _, err := c.SignalWithStartWorkflow(context.Background(), fmt.Sprintf("customer/%d", i), "event", i,
							client.StartWorkflowOptions{TaskQueue: "bench"}, "journey"); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for i := range b.N {
				ids <- i
			}
			close(ids)
			for range 16 {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "starts/s")
		})
	}
}
