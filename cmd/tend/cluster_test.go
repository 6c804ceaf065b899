//go:build !nodev

package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/workflows"
)

// startServer starts an embedded Temporal server in memory for the test,
// with namespace default and the search attributes given.
func startServer(t *testing.T, attrs map[string]enums.IndexedValueType) *devserver.Server {
	t.Helper()
	srv, err := devserver.Start(devserver.Options{SearchAttributes: attrs})
	if err != nil {
		t.Fatalf("start the embedded server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// TestSetup runs tend setup twice against a server that has none of
// tend's namespace, search attributes or installation id: the first run
// adds them, the second finds them and changes nothing. A search
// attribute of the wrong type is refused by name.
func TestSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := startServer(t, nil)
	setup := func(code int, args ...string) result {
		return mustRun(t, code, append([]string{"setup", "--address", srv.Address(), "--wait", "30s"}, args...)...)
	}
	names := slices.Sorted(maps.Keys(workflows.SearchAttributes()))

	first := setup(exitOK, "--namespace", "tend-setup", "--retention", "48h")
	want := regexp.MustCompile(`^namespace tend-setup: registered, retention 48h0m0s
search attributes: added ` + strings.Join(names, ", ") + `
installation id: ([0-9a-f-]{36})
$`)
	m := want.FindStringSubmatch(first.stdout)
	if m == nil {
		t.Fatalf("first setup printed\n%s\nwant\n%s", first.stdout, want)
	}
	second := setup(exitOK, "--namespace", "tend-setup", "--retention", "72h")
	// It keeps its retention, and says that --retention 72h was not applied.
	if w := fmt.Sprintf("namespace tend-setup: exists, retention 48h0m0s\nnamespace tend-setup: --retention 72h0m0s not applied: it keeps its retention of 48h0m0s (change it with temporal operator namespace update)\nsearch attributes: all %d present\ninstallation id: %s\n", len(names), m[1]); second.stdout != w {
		t.Errorf("second setup printed\n%s\nwant\n%s", second.stdout, w)
	}

	c, err := client.Dial(client.Options{HostPort: srv.Address(), Logger: zlog.SDK(zerolog.Nop())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "tend-setup"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetCustomAttributes(); !maps.Equal(got, workflows.SearchAttributes()) {
		t.Errorf("search attributes of tend-setup = %v, want %v", got, workflows.SearchAttributes())
	}

	// default exists; give it TendStatus as Text, which tend cannot use.
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default",
		SearchAttributes: map[string]enums.IndexedValueType{"TendStatus": enums.INDEXED_VALUE_TYPE_TEXT}}); err != nil {
		t.Fatal(err)
	}
	bad := setup(exitInvalid, "--namespace", "default")
	if w := "tend setup: namespace default: search attribute TendStatus is Text, tend needs Keyword; remove it (temporal operator search-attribute remove) or use another namespace\n"; bad.stderr != w {
		t.Errorf("stderr = %q, want %q", bad.stderr, w)
	}
	if !strings.HasPrefix(bad.stdout, "namespace default: exists, retention ") {
		t.Errorf("stdout = %q, want the namespace line", bad.stdout)
	}
}

// TestWorkerHTTP runs tend worker --http against the embedded server:
// /healthz answers 200 while it runs, /metrics has the SDK's metrics
// (worker slots included) and tend's reload counters, a playbook set
// broken on disk counts a failed reload, and SIGTERM (the context ending)
// stops it with exit 0.
func TestWorkerHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	deadline := time.After(60 * time.Second)
	srv := startServer(t, workflows.SearchAttributes())
	dir := t.TempDir()
	playbooks := filepath.Join(dir, "playbooks")
	if err := os.CopyFS(playbooks, os.DirFS(shippedPlaybooks)); err != nil {
		t.Fatal(err)
	}
	worker := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"worker"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	stderr, stop, exited := start(worker, "--address", srv.Address(), "--playbooks", playbooks, "--store", filepath.Join(dir, "sets"),
		"--http", "127.0.0.1:0", "--reload", "20ms")
	defer stop()
	stderr.waitFor(t, "serving /healthz and /metrics", exited, deadline)
	m := regexp.MustCompile(`http=(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no http= address in the log:\n%s", stderr.String())
	}
	base := m[1]

	eventually(t, "GET /healthz 200", deadline, func() (bool, string) {
		code, body := get(t, base+"/healthz")
		return code == 200 && body == "{\"status\":\"ok\"}\n", fmt.Sprint(code, " ", body)
	})
	wantMetrics := []string{
		`temporal_worker_task_slots_available{`,
		`temporal_request{`, // the SDK client calls
		`temporal_num_pollers{`,
		`tend_playbook_reloads_total{result="success"} 0`,
		`tend_playbook_reloads_total{result="failure"} 0`,
		`go_goroutines `,
	}
	eventually(t, "the metrics", deadline, func() (bool, string) {
		_, body := get(t, base+"/metrics")
		for _, w := range wantMetrics {
			if !strings.Contains(body, w) {
				return false, "no " + w
			}
		}
		return true, ""
	})

	if err := os.WriteFile(filepath.Join(playbooks, "broken.yaml"), []byte("playbook: broken\nsteps: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed reload counted", deadline, func() (bool, string) {
		_, body := get(t, base+"/metrics")
		return strings.Contains(body, `tend_playbook_reloads_total{result="failure"} 1`), body
	})

	stop()
	waitExit(t, "tend worker", stderr, exited, deadline)
	if !strings.Contains(stderr.String(), "worker stopped") {
		t.Errorf("no \"worker stopped\" in the log:\n%s", stderr.String())
	}
}

// TestServeHTTP runs tend serve --http against the embedded server: the
// second listener answers /healthz and /metrics (the API's counters, the
// SDK's and the reloads), and the context ending stops both with exit 0.
func TestServeHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	deadline := time.After(60 * time.Second)
	srv := startServer(t, workflows.SearchAttributes())
	cfg := filepath.Join(t.TempDir(), "tend.yaml")
	if err := os.WriteFile(cfg, []byte("api: {tokens: [tend-test-token-0123456789]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"serve"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	stderr, stop, exited := start(serve, "--address", srv.Address(), "--playbooks", shippedPlaybooks, "--config", cfg,
		"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
	defer stop()
	stderr.waitFor(t, "serving /healthz and /metrics", exited, deadline)
	m := regexp.MustCompile(`http=(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no http= address in the log:\n%s", stderr.String())
	}
	eventually(t, "GET /healthz 200", deadline, func() (bool, string) {
		code, body := get(t, m[1]+"/healthz")
		return code == 200, fmt.Sprint(code, " ", body)
	})
	_, body := get(t, m[1]+"/metrics")
	for _, w := range []string{"tend_events_accepted_total 0", `tend_playbook_reloads_total{result="failure"} 0`, "temporal_request{", "process_resident_memory_bytes "} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	stop()
	waitExit(t, "tend serve", stderr, exited, deadline)
}
