package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// TestOpsHandler: /healthz answers 200 or 503 with the reason, /metrics the
// registry, and anything else 404 naming the two routes.
func TestOpsHandler(t *testing.T) {
	down := errors.New("temporal at x:7233 is unavailable: refused")
	tests := []struct {
		name     string
		check    error
		degraded string
		path     string
		code     int
		contains string
	}{
		{"healthy", nil, "", "/healthz", 200, `{"status":"ok"}`},
		{"unhealthy", down, "", "/healthz", 503,
			`{"error":"temporal at x:7233 is unavailable: refused","status":"unavailable"}`},
		{"degraded", nil, "the active playbook set abc is not used", "/healthz", 200,
			`{"reason":"the active playbook set abc is not used","status":"degraded"}`},
		{"unavailable wins over degraded", down, "the active playbook set abc is not used", "/healthz", 503,
			`{"error":"temporal at x:7233 is unavailable: refused","status":"unavailable"}`},
		{"metrics", nil, "", "/metrics", 200, `tend_playbook_reloads_total{result="failure"} 1`},
		{"metrics help", nil, "", "/metrics", 200, "# HELP tend_playbook_reloads_total Playbook set reloads, of a changed playbook directory or of a new active set in the store"},
		{"unknown", nil, "", "/v1/events", 404, "this address serves GET /healthz and GET /metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, onReload := newRegistry()
			onReload(errors.New("bad playbook"))
			onReload(nil)
			onReload(nil)
			srv := httptest.NewServer(opsHandler(reg, func(context.Context) error { return tt.check }, func() string { return tt.degraded }))
			defer srv.Close()
			code, body := get(t, srv.URL+tt.path)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, code, body, tt.code, tt.contains)
			}
			if tt.path == "/metrics" && !strings.Contains(body, `tend_playbook_reloads_total{result="success"} 2`) {
				t.Errorf("metrics lack the 2 successful reloads:\n%s", body)
			}
		})
	}
}

// TestHealthzKeepsLastGoodSet: while the store's active pointer names a
// set the process cannot use, /healthz stays 200 (the process works, on
// its last good set) and says why it is degraded; a good pointer clears it.
func TestHealthzKeepsLastGoodSet(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook})
	store := workflows.DirStore{Dir: t.TempDir()}
	b, _, errs, err := node.ReadBundle(dir, nil)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	if err := store.Put(b); err != nil {
		t.Fatal(err)
	}
	if err := store.Activate(b.Version); err != nil {
		t.Fatal(err)
	}
	sets, err := node.FollowSets(node.SetsOptions{Playbooks: dir, Store: store, Follow: node.FollowAuto, Reload: -1, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer sets.Stop()
	reg, _ := newRegistry()
	srv := httptest.NewServer(opsHandler(reg, func(context.Context) error { return nil }, setDegraded(sets)))
	defer srv.Close()
	healthz := func(want string) {
		t.Helper()
		if code, body := get(t, srv.URL+"/healthz"); code != 200 || body != want+"\n" {
			t.Errorf("GET /healthz = %d %q, want 200 %q", code, body, want)
		}
	}
	healthz(`{"status":"ok"}`)

	const missing = "0123456789ab"
	if err := os.WriteFile(filepath.Join(store.Dir, "active"), []byte(missing+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sets.Reload()
	if sets.Version() != b.Version {
		t.Fatalf("the worker left its last good set for %s", sets.Version())
	}
	reason, _ := json.Marshal("the active playbook set " + missing + " cannot be read: playbook set not found in " + store.Dir +
		"; keeping the last good playbook set " + b.Version)
	healthz(`{"reason":` + string(reason) + `,"status":"degraded"}`)

	if err := store.Activate(b.Version); err != nil {
		t.Fatal(err)
	}
	sets.Reload()
	healthz(`{"status":"ok"}`)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// TestWorkerHealth: a worker is healthy only while it runs, is not
// stopping and Temporal answers.
func TestWorkerHealth(t *testing.T) {
	down := errors.New("temporal at x:7233 is unavailable")
	tests := []struct {
		name     string
		stopping bool
		fatal    error // the node stopped with it (or without one, if stopped is set)
		stopped  bool
		temporal error
		want     string // "" for healthy
	}{
		{"running", false, nil, false, nil, ""},
		{"temporal down", false, nil, false, down, down.Error()},
		{"stopping", true, nil, false, nil, "shutting down: the worker is finishing its tasks in flight"},
		{"fatal", false, errors.New("namespace gone"), true, nil, "the Temporal worker stopped: namespace gone"},
		{"stopped", false, nil, true, nil, "the Temporal worker stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stopping := make(chan struct{})
			if tt.stopping {
				close(stopping)
			}
			n := &fakeNode{done: make(chan struct{}), err: tt.fatal}
			if tt.stopped {
				close(n.done)
			}
			err := workerHealth(stopping, n, func(context.Context) error { return tt.temporal })(context.Background())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("health = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = io.WriteString(w, `{"status":"ok"}`)
			return
		}
		http.Error(w, `{"status":"unavailable","error":"temporal is unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tests := []struct {
		name string
		args []string
		code int
		out  string // stdout on success, else the start of stderr
	}{
		{"ok", []string{srv.URL + "/healthz"}, exitOK, "200 OK: {\"status\":\"ok\"}\n"},
		{"503", []string{srv.URL + "/down"}, exitInvalid,
			"tend healthcheck: GET " + srv.URL + "/down: 503 Service Unavailable: {\"status\":\"unavailable\",\"error\":\"temporal is unavailable\"}\n"},
		{"unreachable", []string{"http://" + closedAddr(t) + "/healthz"}, exitInvalid, "tend healthcheck: GET http://"},
		{"not a url", []string{"localhost:9090/healthz"}, exitUsage,
			"tend healthcheck: \"localhost:9090/healthz\" is not an http or https URL; want one such as http://127.0.0.1:9090/healthz\n"},
		{"bad timeout", []string{"--timeout", "0s", srv.URL}, exitUsage, "tend healthcheck: --timeout 0s: want a positive duration such as 5s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, append([]string{"healthcheck"}, tt.args...)...)
			got := r.stderr
			if tt.code == exitOK {
				got = r.stdout
			}
			if !strings.HasPrefix(got, tt.out) {
				t.Errorf("got %q, want prefix %q", got, tt.out)
			}
		})
	}
}

func TestOpsFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"worker", "--http", "9090"}, "tend worker: --http \"9090\": want host:port, such as :9090 or 127.0.0.1:9090\n"},
		{[]string{"worker", "--stop-timeout=-1s"}, "tend worker: --stop-timeout -1s: want a duration of 0 or more, such as 30s\n"},
		{[]string{"worker", "--sticky-cache=-1"}, "tend worker: --sticky-cache -1: want 0 or more workflows (0 turns the cache off)\n"},
		{[]string{"serve", "--http", "localhost"}, "tend serve: --http \"localhost\": want host:port, such as :9090 or 127.0.0.1:9090\n"},
		{[]string{"setup", "--retention", "1h"}, "tend setup: --retention 1h0m0s: want at least 24h (Temporal's minimum is a day), such as 720h for 30 days\n"},
		{[]string{"setup", "--wait=-1s"}, "tend setup: --wait -1s: want a duration of 0 or more, such as 2m\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append(tt.args, "--address", closedAddr(t))
			r := mustRun(t, exitUsage, args...)
			if r.stderr != tt.want {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
		})
	}
}
