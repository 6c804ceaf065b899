package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"math"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/time/rate"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
)

// DefaultMaxBody is the largest request body the API reads when
// Options.MaxBody is 0: 1 MiB.
const DefaultMaxBody = 1 << 20

// ShutdownTimeout bounds how long Serve waits for in-flight requests once
// its context ends.
const ShutdownTimeout = 30 * time.Second

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503 answered
// because Temporal cannot be reached.
const RetryAfterUnavailable = 5

// healthTTL is how long a Temporal health check answer is reused, so that
// a burst of requests costs one check; healthTimeout bounds one check.
const (
	healthTTL     = time.Second
	healthTimeout = 2 * time.Second
)

// requestTimeout bounds the Temporal calls of one request: queries, lists,
// sends and task completions. A query that no worker answers in time is a 503.
const requestTimeout = 30 * time.Second

// Options configures a Server.
type Options struct {
	// Client talks to Temporal. It is required.
	Client client.Client
	// Degraded, if set, says why the server runs on its last good playbook
	// set ("" when it does not): GET /healthz then answers 200
	// {"status":"degraded","reason":...}, as tend serve's --http address
	// does, so that either listener shows it.
	Degraded func() string
	// Set returns the current playbook set: its schema validates events,
	// and GET /v1/playbooks lists its playbooks. It is required; it may
	// return nil while no set is loaded, and then those endpoints answer 503.
	Set func() *lang.Set
	// Tokens are the bearer tokens, all valid at once (for rotation).
	Tokens []string
	// SigningSecrets are the HMAC-SHA256 secrets of signed requests, all
	// valid at once (for rotation). At least one token or secret is required.
	SigningSecrets []string
	// MaxBody is the largest request body read, in bytes; 0 means
	// DefaultMaxBody.
	MaxBody int64
	// RateLimit is the number of events per second each credential may
	// send, with a burst of max(1, ceil(RateLimit)) events; 0 means no limit.
	RateLimit float64
	// Logger gets one line per request; the zero value discards them.
	Logger zerolog.Logger
	// Registry is where the API registers its metrics and what GET /metrics
	// serves; New creates one (with the Go and process collectors) if nil.
	Registry *prometheus.Registry
	// Now is the clock for signature timestamps, event receipt times and
	// the rate limit; default time.Now.
	Now func() time.Time
	// Links checks the survey and unsubscribe links of customer mail;
	// without it their endpoints (links.go) are not served.
	Links *links.Config
	// Codec, when set, is the codec that encrypts what tend stores in
	// Temporal: the API serves it as a codec server (codec.go), and the
	// owner filter of GET /v1/runs is hashed as TendOwner then is.
	Codec converter.PayloadCodec
	// CodecOrigin is the one browser origin (the Temporal UI) allowed to
	// call the codec server; "" allows none.
	CodecOrigin string
	// DevCodecOrigins, for tend dev, are the origins of the embedded UI
	// that may call DevCodecPath from loopback without a token; empty
	// serves no such route.
	DevCodecOrigins []string
	// TokensFrom says where a caller finds a token, in 401 answers;
	// default "a token of api.tokens in tend.yaml". tend dev, which makes
	// its own, names its file.
	TokensFrom string
}

// tokensFrom says where a caller finds a token.
func (s *Server) tokensFrom() string {
	if s.opts.TokensFrom != "" {
		return s.opts.TokensFrom
	}
	return "a token of api.tokens in tend.yaml"
}

// Server is tend's HTTP API. It is an http.Handler; Serve runs it on a
// listener with a graceful shutdown.
type Server struct {
	opts    Options
	now     func() time.Time
	maxBody int64
	tokens  [][sha256.Size]byte
	secrets []string
	reg     *prometheus.Registry
	links   *links.Signer
	metrics *apiMetrics
	mux     *http.ServeMux
	log     zerolog.Logger

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter
	burst    int

	healthMu  sync.Mutex
	healthAt  time.Time
	healthErr error
}

// New checks the options and builds a Server.
func New(o Options) (*Server, error) {
	switch {
	case o.Client == nil:
		return nil, errors.New("api: no Temporal client")
	case o.Set == nil:
		return nil, errors.New("api: no playbook set")
	case len(o.Tokens) == 0 && len(o.SigningSecrets) == 0:
		return nil, errors.New("api: no bearer token and no signing secret: the API would accept no request")
	case o.MaxBody < 0:
		return nil, fmt.Errorf("api: max body %d: want 0 (the default, %d) or more", o.MaxBody, DefaultMaxBody)
	case o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0):
		return nil, fmt.Errorf("api: rate limit %v: want 0 (no limit) or a positive number of events per second", o.RateLimit)
	}
	for i, t := range o.Tokens {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, " \t\r\n") {
			return nil, fmt.Errorf("api: token %d is empty or contains white space", i+1)
		}
	}
	for i, sec := range o.SigningSecrets {
		if sec == "" {
			return nil, fmt.Errorf("api: signing secret %d is empty", i+1)
		}
	}
	s := &Server{
		opts:     o,
		now:      o.Now,
		maxBody:  o.MaxBody,
		secrets:  append([]string(nil), o.SigningSecrets...),
		reg:      o.Registry,
		log:      o.Logger,
		limiters: map[string]*rate.Limiter{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Links != nil {
		l, err := links.New(*o.Links)
		if err != nil {
			return nil, fmt.Errorf("api: links: %w", err)
		}
		s.links = l
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBody
	}
	for _, t := range o.Tokens {
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	if o.RateLimit > 0 {
		s.burst = max(1, int(math.Ceil(o.RateLimit)))
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m, err := newAPIMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.authed(s.postEvents))
	mux.HandleFunc("GET /v1/customers/{id...}", s.authed(s.getCustomer))
	mux.HandleFunc("GET /v1/runs", s.authed(s.listRuns))
	mux.HandleFunc("GET /v1/runs/{id...}", s.authed(s.getRun))
	mux.HandleFunc("POST /v1/runs/retry", s.authed(s.retryFailed))
	mux.HandleFunc("POST /v1/runs/{id}/retry", s.authed(s.retryRun))
	mux.HandleFunc("GET /v1/tasks", s.authed(s.listTasks))
	mux.HandleFunc("POST /v1/tasks/{id...}", s.authed(s.completeTask))
	mux.HandleFunc("GET /v1/playbooks", s.authed(s.listPlaybooks))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	s.routeLinks(mux)
	s.routeCodec(mux)
	mux.HandleFunc("/", s.unmatched)
	s.mux = mux
	return s, nil
}

// Registry is the Prometheus registry the server registers its metrics in
// and serves at GET /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// reqInfo is what a request's handlers learn for its log line.
type reqInfo struct {
	cred   string // bearer, signed or none
	id     string // the credential's identity: a hash, never the secret
	events int    // events in a POST /v1/events body, -1 when not counted
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{cred: "none", events: -1}
}

// ServeHTTP routes a request, and logs and measures it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &reqInfo{cred: "none", events: -1}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error().Str("method", r.Method).Str("path", logPath(r)).Str("panic", fmt.Sprint(p)).Msg("handler panicked")
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal error")
			}
		}
		status := rec.status
		if !rec.wrote {
			status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.duration.WithLabelValues(methodLabel(r.Method), routeLabel(r.Pattern), strconv.Itoa(status)).Observe(d.Seconds())
		e := s.log.Info()
		if status >= 500 {
			e = s.log.Warn()
		}
		e = e.Str("method", r.Method).Str("path", logPath(r)).Int("status", status).
			Dur("duration", d).Str("credential", info.cred)
		if info.events >= 0 {
			e = e.Int("events", info.events)
		}
		e.Msg("request")
	}()
	if r.Method != http.MethodGet && r.Method != http.MethodHead && cleanPath(r.URL.Path) != r.URL.Path {
		// The mux would redirect it to the cleaned path, and a client
		// following a 307 sends its POST there: /v1/runs//retry (an empty
		// run id) would retry every stalled run.
		writeError(rec, http.StatusBadRequest, fmt.Sprintf("path %s has an empty, . or .. segment; a %s is not redirected to another path: "+
			"encode an id with slashes as one segment (run%%2Fplaybook%%2Fcustomer%%2F1)", clip(r.URL.EscapedPath()), r.Method))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// cleanPath is the path net/http's mux redirects p to, as it cleans it.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// redacted stands in the logs for the token of a survey or unsubscribe link.
const redacted = "<redacted>"

// logPath is the escaped path of a request as the logs show it: the token
// of a link path is a credential (it records an answer or an opt-out for
// the customer), so it is redacted, whether or not it verifies.
func logPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	for _, prefix := range []string{links.SurveyPath, links.UnsubscribePath} {
		if strings.HasPrefix(p, prefix) && len(p) > len(prefix) {
			return prefix + redacted
		}
	}
	return p
}

// methodLabel keeps the method label of the duration histogram to a fixed set.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// routeLabel is the route label of a request: its pattern without the
// method, never the raw path with its ids.
func routeLabel(pattern string) string {
	_, path, found := strings.Cut(pattern, " ")
	if !found {
		path = pattern
	}
	if path == "" || path == "/" {
		return "unmatched"
	}
	return path
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// unmatched answers a path no route has (404) or a method the path does
// not take (405, with Allow).
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	// A run id sent with its slashes unencoded, as tend runs show prints
	// the route: POST /v1/runs/run/onboarding/acme/1/retry. A pattern
	// cannot put {id...} before /retry, and /v1/runs/{id...} would make
	// the mux redirect POST /v1/runs.
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v1/runs/"); ok && r.Method == http.MethodPost {
		if id, ok := strings.CutSuffix(rest, "/retry"); ok && strings.Contains(id, "/") {
			r.SetPathValue("id", id)
			s.authed(s.retryRun)(w, r)
			return
		}
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s; see GET /v1/playbooks, /v1/customers/{id}, /v1/runs, /v1/tasks, POST /v1/events", r.URL.EscapedPath()))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.EscapedPath(), strings.Join(allow, " or ")))
}

// writeJSON writes v as the JSON body of a response with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// errorBody is the body of every error but a 400 for invalid events.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// healthy reports whether Temporal answers a health check; the answer is
// reused for healthTTL.
func (s *Server) healthy() error {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if !s.healthAt.IsZero() && time.Since(s.healthAt) < healthTTL {
		return s.healthErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	_, err := s.opts.Client.CheckHealth(ctx, &client.CheckHealthRequest{})
	if err != nil {
		err = fmt.Errorf("temporal is unavailable: %w", err)
	}
	s.healthAt, s.healthErr = time.Now(), err
	return err
}

// healthz is GET /healthz: 200 when Temporal answers (degraded with the
// reason when Options.Degraded gives one), 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.healthy(); err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	if s.opts.Degraded != nil {
		if reason := s.opts.Degraded(); reason != "" {
			writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "reason": reason})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// limiter is the rate limiter of a credential, or nil without a limit.
func (s *Server) limiter(id string) *rate.Limiter {
	if s.burst == 0 {
		return nil
	}
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limiters[id]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(s.opts.RateLimit), s.burst)
		s.limiters[id] = l
	}
	return l
}

// identity names a credential without revealing it: a prefix of a hash.
func identity(kind string, secret []byte) string {
	h := sha256.New()
	h.Write([]byte("tend credential " + kind + "\x00"))
	h.Write(secret)
	return kind + ":" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Serve serves h on ln until ctx ends, then stops accepting connections and
// waits up to ShutdownTimeout for in-flight requests to finish
// (http.Server.Shutdown). It returns nil after a clean shutdown, or the
// error that stopped serving.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger zerolog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          stdlog.New(logger.With().Str("component", "http").Logger(), "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info().Str("addr", ln.Addr().String()).Msg("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down the API server: %w", err)
	}
	return nil
}
