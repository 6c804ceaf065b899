package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/api"
)

// The operations endpoint (--http of tend worker and tend serve): GET
// /healthz for load balancers and orchestrators, GET /metrics for
// Prometheus. It has no credentials, like the API's own /healthz and
// /metrics, so it belongs on an address only the cluster reaches.

// healthTTL is how long a health answer is reused: probes of every replica
// every few seconds cost one Temporal call a second at most.
const (
	healthTTL     = time.Second
	healthTimeout = 2 * time.Second
)

// newRegistry is the Prometheus registry of a long-running command: the Go
// runtime's and the process's collectors, and the counter of playbook
// reloads, whose recording function it returns. The Temporal SDK's
// metrics join it through api.MetricsHandler.
func newRegistry() (*prometheus.Registry, func(error)) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tend_playbook_reloads_total",
		Help: "Playbook set reloads, of a changed playbook directory or of a new active set in the store: success when the new set was swapped in, failure when it was refused and the last good set stayed.",
	}, []string{"result"})
	reg.MustRegister(reloads)
	ok, failed := reloads.WithLabelValues("success"), reloads.WithLabelValues("failure")
	return reg, func(err error) {
		if err != nil {
			failed.Inc()
			return
		}
		ok.Inc()
	}
}

// health caches the answer of a check for healthTTL.
type health struct {
	check func(context.Context) error

	mu  sync.Mutex
	at  time.Time
	err error
}

func (h *health) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && time.Since(h.at) < healthTTL {
		return h.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	h.at, h.err = time.Now(), h.check(ctx)
	return h.err
}

// temporalHealth is a check that the Temporal frontend at address answers.
func temporalHealth(c client.Client, address string) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal at %s is unavailable: %w", address, err)
		}
		return nil
	}
}

// workerHealth is the health of a tend worker: it is stopping or stopped
// (with the fatal error, if any), or Temporal does not answer, or it is
// healthy.
func workerHealth(stopping <-chan struct{}, n runningNode, temporal func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-n.Done():
			if err := n.Err(); err != nil {
				return fmt.Errorf("the Temporal worker stopped: %w", err)
			}
			return errors.New("the Temporal worker stopped")
		case <-stopping:
			return errors.New("shutting down: the worker is finishing its tasks in flight")
		default:
		}
		return temporal(ctx)
	}
}

// setSource is what setDegraded needs of a *node.Node or *node.Sets.
type setSource interface {
	SetError() string
	Version() string
}

// setDegraded is the degraded reason of a process that follows a store:
// why the store's active set is not the one in use, and which set is.
func setDegraded(s setSource) func() string {
	return func() string {
		if err := s.SetError(); err != "" {
			return fmt.Sprintf("%s; keeping the last good playbook set %s", err, s.Version())
		}
		return ""
	}
}

// opsHandler serves GET /healthz and GET /metrics (reg, in Prometheus'
// text format). /healthz answers 503 {"status":"unavailable","error":…}
// when check fails; else 200, with {"status":"degraded","reason":…} when
// degraded (which may be nil) gives a reason, and {"status":"ok"} when it
// does not. A degraded process still does its work, on its last good
// playbook set: a 503 would have orchestrators restart it, and a worker
// restarted with a bad active pointer does not start at all.
func opsHandler(reg *prometheus.Registry, check func(context.Context) error, degraded func() string) http.Handler {
	h := &health{check: check}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body := map[string]string{"status": "ok"}
		code := http.StatusOK
		if err := h.get(); err != nil {
			body = map[string]string{"status": "unavailable", "error": err.Error()}
			code = http.StatusServiceUnavailable
		} else if degraded != nil {
			if reason := degraded(); reason != "" {
				body = map[string]string{"status": "degraded", "reason": reason}
			}
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("no route %s %s: this address serves GET /healthz and GET /metrics", r.Method, r.URL.Path), http.StatusNotFound)
	})
	return mux
}

// startOps listens on listen (--http) and serves h until ctx ends, then
// drains the requests in flight. wait returns once it has.
func startOps(ctx context.Context, listen string, h http.Handler, log zerolog.Logger) (wait func() error, addr string, err error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", usagef("--http %s: cannot listen: %v", listen, errors.Unwrap(err))
	}
	return serveOn(ctx, ln, h, log), ln.Addr().String(), nil
}

// serveOn serves h on ln until ctx ends, then drains the requests in
// flight; the function it returns waits for that and gives Serve's error.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger) func() error {
	errc := make(chan error, 1)
	go func() { errc <- api.Serve(ctx, ln, h, log) }()
	return func() error { return <-errc }
}

// checkListen checks a HOST:PORT flag such as --http.
func checkListen(flag, v string) error {
	if v == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return usagef("%s %q: want host:port, such as :9090 or 127.0.0.1:9090", flag, v)
	}
	return nil
}
