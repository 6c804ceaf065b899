package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

var verbose = flag.Bool("tend.v", false, "log the server, the worker and the API to stderr")

// Credentials of the test servers: two of each, to test rotation.
var (
	tokens  = []string{"token-alpha-0123456789", "token-beta-9876543210"}
	secrets = []string{"secret-alpha", "secret-beta"}
)

// testLinks signs the survey and unsubscribe links of the worker's mail,
// which the API answers.
var testLinks = links.Config{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}

// playbooksDir is the shipped playbook set the worker runs and the API
// validates against.
const playbooksDir = "../playbooks"

func logger() zerolog.Logger {
	if *verbose {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// env is the test binary's one embedded Temporal server, worker and API
// server. It starts on first use (start), so that the pure tests and the
// fuzz targets run without it, and TestMain stops it.
var env struct {
	once sync.Once
	err  error
	dir  string
	srv  *devserver.Server
	cl   client.Client
	node *node.Node
	reg  *prometheus.Registry
	api  *api.Server
	http *httptest.Server
	url  string
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if env.http != nil {
		env.http.Close()
	}
	if env.node != nil {
		env.node.Stop()
	}
	if env.cl != nil {
		env.cl.Close()
	}
	if env.srv != nil {
		env.srv.Stop()
	}
	if env.dir != "" {
		os.RemoveAll(env.dir)
	}
	os.Exit(code)
}

// shippedSet loads ../playbooks once.
var shippedSet = sync.OnceValues(func() (*lang.Set, error) {
	set, errs, err := load.Set(playbooksDir)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %v", playbooksDir, errs)
	}
	return set, nil
})

func mustSet(tb testing.TB) *lang.Set {
	tb.Helper()
	set, err := shippedSet()
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// start starts the shared server, worker and API once.
func start(tb testing.TB) {
	tb.Helper()
	env.once.Do(func() { env.err = startEnv() })
	if env.err != nil {
		tb.Fatalf("embedded server: %v", env.err)
	}
}

// dbDir puts the embedded server's SQLite files in a directory of one's
// choosing: a directory on disk measures what tend dev does for a user.
var dbDir = flag.String("dbdir", "", "directory for the embedded server's SQLite files (default /dev/shm where there is one)")

func startEnv() error {
	set, err := shippedSet()
	if err != nil {
		return err
	}
	// A SQLite file, as tend dev runs it, on /dev/shm where there is one:
	// the API is under test, not the disk's fsync. (SQLite's in-memory
	// mode serialises every write on one shared-cache connection and is
	// several times slower under load.)
	tmp := *dbDir
	if fi, err := os.Stat("/dev/shm"); tmp == "" && err == nil && fi.IsDir() {
		tmp = "/dev/shm"
	}
	env.dir, err = os.MkdirTemp(tmp, "tend-api-")
	if err != nil {
		env.dir, err = os.MkdirTemp("", "tend-api-")
	}
	if err != nil {
		return err
	}
	env.srv, err = devserver.Start(devserver.Options{DBFile: filepath.Join(env.dir, "temporal.db"),
		SearchAttributes: workflows.SearchAttributes(), Logger: logger()})
	if err != nil {
		return err
	}
	env.reg = prometheus.NewRegistry()
	env.cl, err = client.Dial(client.Options{HostPort: env.srv.Address(), Namespace: env.srv.Namespace(),
		Logger: zlog.SDK(logger()), MetricsHandler: api.MetricsHandler(env.reg)})
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Outbox = filepath.Join(env.dir, "outbox")
	cfg.Links = &config.Links{BaseURL: testLinks.BaseURL, Secret: config.Secret(testLinks.Secret)}
	env.node, err = node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: playbooksDir, Logger: logger(), Reload: -1})
	if err != nil {
		return err
	}
	env.api, err = api.New(api.Options{Client: env.cl, Set: func() *lang.Set { return set },
		Tokens: tokens, SigningSecrets: secrets, Logger: logger(), Registry: env.reg, Links: &testLinks})
	if err != nil {
		return err
	}
	env.http = httptest.NewServer(env.api)
	env.url = env.http.URL
	return nil
}

// seq makes customer ids unique within the test binary, also with -count.
var seq atomic.Int64

func customer(name string) string {
	return fmt.Sprintf("%s-%d", name, seq.Add(1))
}

// response is an HTTP answer, its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)) }

// json decodes the body into v, failing the test if it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r)
	}
}

// errorText is the "error" of a JSON error body.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var b struct {
		Error string `json:"error"`
	}
	r.json(t, &b)
	return b.Error
}

// request sends a request to base; header values are set as given.
func request(t testing.TB, base, method, path string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func bearer(i int) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tokens[i], "Content-Type": "application/json"}
}

// get is an authenticated GET on the shared server.
func get(t testing.TB, path string) response {
	t.Helper()
	return request(t, env.url, http.MethodGet, path, nil, bearer(0))
}

// post is an authenticated POST on the shared server.
func post(t testing.TB, path string, body []byte) response {
	t.Helper()
	return request(t, env.url, http.MethodPost, path, body, bearer(0))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ev is an event as the API takes it.
type ev = map[string]any

// accepted posts events and requires a 202; it returns the ids.
func accepted(t *testing.T, body []byte) []string {
	t.Helper()
	res := post(t, "/v1/events", body)
	if res.status != http.StatusAccepted {
		t.Fatalf("POST /v1/events: want 202, got %s", res)
	}
	var b struct {
		Accepted int      `json:"accepted"`
		IDs      []string `json:"ids"`
	}
	res.json(t, &b)
	if b.Accepted != len(b.IDs) {
		t.Fatalf("accepted %d but %d ids: %s", b.Accepted, len(b.IDs), res)
	}
	return b.IDs
}

func customerPath(id string) string { return "/v1/customers/" + url.PathEscape(id) }

// getCustomer reads a customer through the API; ok is false on a 404.
func getCustomer(t testing.TB, id string) (*control.Customer, bool) {
	t.Helper()
	res := get(t, customerPath(id))
	switch res.status {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, false
	default:
		t.Fatalf("GET %s: %s", customerPath(id), res)
	}
	var c control.Customer
	if err := json.Unmarshal(res.body, &c); err != nil {
		t.Fatalf("GET %s: %v: %s", customerPath(id), err, res)
	}
	return &c, true
}

// waitFor polls a condition every 50 ms until it holds or the timeout
// passes: journeys apply events asynchronously and visibility is eventual,
// and there is nothing else to wait on.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last seen: %s", timeout, what, state)
		}
		<-tick.C
	}
}

// waitApplied waits until the customer's journey has handled n events
// (applied or dropped as duplicates) and returns the customer.
func waitApplied(t testing.TB, id string, n int) *control.Customer {
	t.Helper()
	var c *control.Customer
	waitFor(t, fmt.Sprintf("%d events handled by %s", n, id), 60*time.Second, func() (bool, string) {
		var ok bool
		c, ok = getCustomer(t, id)
		if !ok {
			return false, "404"
		}
		got := c.Stats.Applied + c.Stats.Duplicates + c.Stats.Rejected
		return got >= n, fmt.Sprintf("%+v", c.Stats)
	})
	return c
}

// closedPort is a local port nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// unreachableClient is a client of a Temporal server that is not there.
func unreachableClient(t testing.TB) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: closedPort(t), Logger: zlog.SDK(zerolog.Nop())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
