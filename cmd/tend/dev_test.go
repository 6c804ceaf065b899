//go:build !nodev

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/load"
)

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(closedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

func TestDevUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	noKeys := writeFiles(t, t.TempDir(), map[string]string{"tend.yaml": "codec:\n  keys: {}\n  primary: k1\n"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative port", []string{"--port=-1"}, "tend dev: --port -1: want 1-65535, or 0 for a free port\n"},
		{"port out of range", []string{"--port", "70000"}, "tend dev: --port 70000: want 1-65535, or 0 for a free port\n"},
		{"ui port out of range", []string{"--ui-port", "65536"}, "tend dev: --ui-port 65536: want 1-65535, or 0 for no UI\n"},
		{"same ports", []string{"--port", "7300", "--ui-port", "7300"}, "tend dev: --port and --ui-port are both 7300; give them different ports\n"},
		{"empty dir", []string{"--dir", ""}, "tend dev: --dir is empty; give a directory such as .tend\n"},
		{"negative reload", []string{"--reload=-2s"}, "tend dev: --reload -2s: want a positive duration such as 2s, or 0 to never reload\n"},
		{"bad log level", []string{"--log-level", "trace"}, `tend dev: --log-level must be one of "debug","info","warn","error" but got "trace"`},
		{"unknown flag", []string{"--address", "localhost:7233"}, "tend dev: unknown flag --address"},
		{"argument", []string{"playbooks"}, "tend dev: unexpected argument playbooks"},
		{"missing config", []string{"--config", missing + ".yaml"}, "tend dev: " + missing + ".yaml: config file does not exist\n"},
		{"missing playbooks", []string{"--playbooks", missing}, "tend dev: cannot read " + missing + ": no such file or directory\n"},
		{"codec without keys", []string{"--config", filepath.Join(noKeys, "tend.yaml")},
			filepath.Join(noKeys, "tend.yaml") + ":2:9: codec.keys is empty: give at least one AES-256 key by id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			args := append([]string{"dev", "--dir", dir, "--ui-port", "0", "--playbooks", shippedPlaybooks}, tt.args...)
			r := mustRun(t, exitUsage, args...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("a usage error created %s", dir)
			}
		})
	}
}

func TestDevHelp(t *testing.T) {
	r := mustRun(t, exitOK, "dev", "--help")
	contains(t, "stdout", r.stdout, `--dir=".tend"`, "--port=7233", "--ui-port=8233", "--playbooks=", `--config="tend.yaml"`, "--reload=2s", `--log-level="info"`)
}

func TestDevInvalidPlaybooks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	r := mustRun(t, exitInvalid, "dev", "--dir", dir, "--port", "0", "--ui-port", "0", "--playbooks", invalidSet)
	contains(t, "stderr", r.stderr,
		"testdata/invalid/welcome.yaml:12:15: playbook welcome: step hello: unknown template no-such-template\n",
		"tend dev: the playbooks in testdata/invalid have 9 errors; check them with tend validate testdata/invalid\n")
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the server was started (%s exists) with invalid playbooks", dir)
	}
}

func TestDevPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"frontend", []string{"--port", busy, "--ui-port", "0"}, "tend dev: frontend port " + busy + " is in use; pass --port\n"},
		{"ui", []string{"--port", "0", "--ui-port", busy}, "tend dev: ui port " + busy + " is in use; pass --ui-port\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"dev", "--dir", t.TempDir(), "--playbooks", shippedPlaybooks}, tt.args...)
			r := mustRun(t, exitInvalid, args...)
			if r.stderr != tt.want {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
		})
	}
}

// output is a command's stderr, written while the command runs and
// waited on by the test.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor returns once the output contains s. It fails the test when the
// command exits first or when the deadline passes.
func (o *output) waitFor(t *testing.T, s string, exited <-chan int, deadline <-chan time.Time) {
	t.Helper()
	for {
		o.mu.Lock()
		found, changed := strings.Contains(o.buf.String(), s), o.changed
		o.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case code := <-exited:
			t.Fatalf("exited %d before printing %q:\n%s", code, s, o.String())
		case <-deadline:
			t.Fatalf("timed out waiting for %q:\n%s", s, o.String())
		}
	}
}

// eventually polls f until it returns true, failing the test at the deadline.
func eventually(t *testing.T, what string, deadline <-chan time.Time, f func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := f()
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; last seen: %s", what, state)
		}
	}
}

// start runs a long-running command in the background until cancel is
// called; the exit code arrives on the returned channel.
func start(main func(context.Context, []string, *output) int, args ...string) (out *output, cancel context.CancelFunc, exited chan int) {
	ctx, cancel := context.WithCancel(context.Background())
	out, exited = newOutput(), make(chan int, 1)
	go func() { exited <- main(ctx, args, out) }()
	return out, cancel, exited
}

func waitExit(t *testing.T, what string, out *output, exited <-chan int, deadline <-chan time.Time) {
	t.Helper()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("%s exited %d after cancel, want 0:\n%s", what, code, out.String())
		}
	case <-deadline:
		t.Fatalf("%s did not stop after cancel:\n%s", what, out.String())
	}
}

// TestDevEndToEnd runs tend dev in-process: the embedded server, the UI and
// a worker on the shipped playbooks. A mid-market signing starts
// sales-to-cs-handoff, whose first chat announcement goes to the outbox at
// once (an SMB welcome email would wait for the contact policy's hours).
// A tend worker then joins the same server and stops cleanly.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	deadline := time.After(30 * time.Second)
	dir := t.TempDir()
	port, uiPort, apiPort := freePort(t), freePort(t), freePort(t)
	dev := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"dev"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	stderr, stop, exited := start(dev, "--dir", dir, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort),
		"--api-port", strconv.Itoa(apiPort), "--playbooks", shippedPlaybooks)
	defer stop()
	stderr.waitFor(t, "\nSend events:  ", exited, deadline)

	addr := "127.0.0.1:" + strconv.Itoa(port)
	banner := stderr.String()[strings.Index(stderr.String(), "tend dev is running\n"):]
	want := regexp.MustCompile(`^tend dev is running
  Temporal  ` + regexp.QuoteMeta(addr) + ` \(namespace default, state in ` + regexp.QuoteMeta(filepath.Join(dir, "temporal.db")) + `\)
  Web UI    http://127\.0\.0\.1:` + strconv.Itoa(uiPort) + `
  HTTP API  http://127\.0\.0\.1:` + strconv.Itoa(apiPort) + ` \(token in ` + regexp.QuoteMeta(filepath.Join(dir, "api-token")) + `: curl -H "Authorization: Bearer \$\(cat ` + regexp.QuoteMeta(filepath.Join(dir, "api-token")) + `\)"\)
  Links     survey and unsubscribe links to http://localhost:` + strconv.Itoa(apiPort) + ` \(secret in ` + regexp.QuoteMeta(filepath.Join(dir, "link-secret")) + `\)
  Codec     off: payloads are stored in plain text \(add a codec: section to tend\.yaml\)
  Outbox    ` + regexp.QuoteMeta(filepath.Join(dir, "outbox")) + `
  Playbooks \.\./\.\./playbooks \(version [0-9a-f]+, \d+ playbooks\)
Other terminals: export TEMPORAL_ADDRESS=` + regexp.QuoteMeta(addr) + `
Send events:  tend event send --help
`)
	if !want.MatchString(banner) {
		t.Errorf("banner:\n%s\ndoes not match\n%s", banner, want)
	}

	c, err := client.Dial(client.Options{HostPort: addr, Logger: zlog.SDK(zerolog.Nop())})
	if err != nil {
		t.Fatalf("dial the dev server: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The events go in through the HTTP API, with the token tend dev made.
	tokenFile := filepath.Join(dir, "api-token")
	st, err := os.Stat(tokenFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want mode 0600", err, st.Mode())
	}
	token, _ := os.ReadFile(tokenFile)
	apiURL := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	post := func(auth, body string) (int, string) {
		req, _ := http.NewRequest("POST", apiURL+"/v1/events", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /v1/events: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	batch := `[{"type": "customer.updated", "customer": "initech", "attributes": {"name": "Initech", "segment": "mid-market", "seats": 40,
	  "manager": "max@vendor.example", "ae": "sam@vendor.example", "contact_email": "it@initech.example", "timezone": "Europe/London", "health": 80}},
	 {"type": "contract.signed", "customer": "initech", "data": {"plan": "pro", "arr": 24000}}]`
	if code, body := post("", batch); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s, want 401", code, body)
	}
	// A wrong token is told where tend dev keeps the right one.
	if code, body := post("not-the-token-0123456789", batch); code != http.StatusUnauthorized || !strings.Contains(body, "invalid token: send the token in "+tokenFile) {
		t.Errorf("wrong token: %d %s, want 401 naming %s", code, body, tokenFile)
	}
	if code, body := post(strings.TrimSpace(string(token)), batch); code != http.StatusAccepted || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("POST /v1/events: %d %s, want 202 with 2 accepted", code, body)
	}
	eventually(t, "a run for initech", deadline, func() (bool, string) {
		runs, err := control.ListRuns(ctx, c, control.RunFilter{Customer: "initech"})
		if err != nil {
			return false, err.Error()
		}
		return len(runs) > 0, "no runs"
	})
	// tend explain asks the journey why each playbook did or did not start.
	eventually(t, "tend explain initech", deadline, func() (bool, string) {
		r := runCLI("explain", "initech", "--address", addr, "--playbook", "sales-to-cs-handoff")
		return r.code == exitOK && strings.Contains(r.stdout, "started run/sales-to-cs-handoff/initech/1"), r.stdout + r.stderr
	})
	eventually(t, "a file in the outbox", deadline, func() (bool, string) {
		files, err := os.ReadDir(filepath.Join(dir, "outbox"))
		if err != nil {
			return false, err.Error()
		}
		return len(files) > 0, "empty outbox"
	})

	// An SMB welcome email signed outside the customer's contact hours is
	// held: the dev log says so, and so does tend runs show.
	zone := heldZone(t)
	held := `[{"type": "customer.updated", "customer": "hooli", "attributes": {"name": "Hooli", "segment": "smb", "seats": 5,
	  "manager": "max@vendor.example", "contact_email": "gavin@hooli.example", "timezone": "` + zone + `", "health": 80}},
	 {"type": "contract.signed", "customer": "hooli", "data": {"plan": "starter", "arr": 1200}}]`
	if code, body := post(strings.TrimSpace(string(token)), held); code != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	stderr.waitFor(t, ` to gavin@hooli.example for hooli held by the contact policy until `, exited, deadline)
	holdLine := regexp.MustCompile(` INF email "Welcome to the team, Hooli!" to gavin@hooli\.example for hooli held by the contact policy ` +
		`until [A-Z][a-z]{2} \d+ [A-Z][a-z]{2} 09:00 \S+ \((outside 09:00-17:00|[A-Z][a-z]+day is not a workday|\d+ [A-Z][a-z]{2} is a holiday)\) ` +
		`run=run/smb-tech-touch-onboarding/hooli/1 step=welcome\n`)
	if n := len(holdLine.FindAllString(stderr.String(), -1)); n != 1 {
		t.Errorf("%d log lines match %s, want 1:\n%s", n, holdLine, stderr.String())
	}
	show := mustRun(t, exitOK, "runs", "show", "run/smb-tech-touch-onboarding/hooli/1", "--address", addr)
	contains(t, "tend runs show", show.stdout, "Held messages:\n  email smb-welcome ",
		" to gavin@hooli.example (step welcome)\n    held by the contact policy until ",
		"message.held  welcome: email ")

	// Links work out of the box: signed with the secret tend dev keeps in
	// its directory, answered by its API. An unsubscribe link, followed,
	// opts initech out of email.
	secret, err := os.ReadFile(filepath.Join(dir, "link-secret"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := links.New(links.Config{BaseURL: "http://localhost:" + strconv.Itoa(apiPort), Secret: strings.TrimSpace(string(secret))})
	if err != nil {
		t.Fatal(err)
	}
	unsub := strings.Replace(signer.Unsubscribe("initech", "run/smb-tech-touch-onboarding/initech/1", "welcome", 1), "localhost", "127.0.0.1", 1)
	resp, err := http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("one-click unsubscribe: %s", resp.Status)
	}
	eventually(t, "initech opted out", deadline, func() (bool, string) {
		cust, err := control.GetCustomer(ctx, c, "initech")
		if err != nil {
			return false, err.Error()
		}
		return cust.Attributes["email_opt_out"] == true, fmt.Sprint(cust.Attributes)
	})

	resp, err = (&http.Client{Timeout: 10 * time.Second}).Get("http://127.0.0.1:" + strconv.Itoa(uiPort) + "/")
	if err != nil {
		t.Fatalf("web ui: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("web ui answered %s, want 200 OK", resp.Status)
	}

	// tend serve: the same API against the same server, with credentials
	// from tend.yaml.
	conf := filepath.Join(t.TempDir(), "tend.yaml")
	if err := os.WriteFile(conf, []byte("api:\n  tokens: [serve-test-token-0123456789]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	servePort := freePort(t)
	serve := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"serve"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	sout, sstop, sexited := start(serve, "--config", conf, "--address", addr, "--playbooks", shippedPlaybooks,
		"--listen", "127.0.0.1:"+strconv.Itoa(servePort), "--log-format", "json")
	sout.waitFor(t, `"message":"tend API serving"`, sexited, deadline)
	apiURL = "http://127.0.0.1:" + strconv.Itoa(servePort)
	if code, body := post("serve-test-token-0123456789", `{"type": "customer.updated", "customer": "initech", "attributes": {"health": 75}}`); code != http.StatusAccepted {
		t.Errorf("tend serve: POST /v1/events: %d %s", code, body)
	}
	if code, body := post(strings.TrimSpace(string(token)), `{"type": "customer.updated", "customer": "initech"}`); code != http.StatusUnauthorized {
		t.Errorf("tend serve took tend dev's token: %d %s", code, body)
	}
	resp, err = http.Get(apiURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	contains(t, "metrics", string(metrics), "tend_events_accepted_total 1", "temporal_")
	sstop()
	waitExit(t, "tend serve", sout, sexited, deadline)

	worker := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"worker"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	wout, wstop, wexited := start(worker, "--address", addr, "--playbooks", shippedPlaybooks, "--reload", "0", "--log-format", "json",
		"--store", filepath.Join(t.TempDir(), "sets"))
	wout.waitFor(t, `"message":"worker started"`, wexited, deadline)
	wstop()
	waitExit(t, "tend worker", wout, wexited, deadline)
	contains(t, "worker log", wout.String(), `"message":"worker stopped"`)

	stop()
	waitExit(t, "tend dev", stderr, exited, deadline)
}

// heldZone picks a time zone in which it is now, and for the next hour,
// outside the shipped contact policy's hours on a workday, so that an email
// sent now is held.
func heldZone(t *testing.T) string {
	t.Helper()
	set, errs, err := load.Set(shippedPlaybooks)
	if err != nil || len(errs) > 0 {
		t.Fatalf("load %s: %v %v", shippedPlaybooks, err, errs)
	}
	cal, p := set.Schema.Calendar, set.Schema.Policy
	now := time.Now()
	// Offsets from -11 to +14 hours, never more than 5 apart: one of them
	// is always at least an hour before the next 09:00.
	for _, tz := range []string{"Pacific/Pago_Pago", "Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "UTC",
		"Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Kiritimati"} {
		if cal.NextInWindow(now, p.Hours, cal.Loc(tz)).After(now.Add(time.Hour)) {
			return tz
		}
	}
	t.Fatalf("no time zone is outside the contact hours %s now", p.Hours)
	return ""
}

// tend serve without credentials in tend.yaml refuses to start, saying
// how to add them; a bad --listen is a usage error.
func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "tend.yaml")
	pb, _ := filepath.Abs(shippedPlaybooks)
	if err := os.WriteFile(conf, []byte("playbooks: "+pb+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitUsage, "serve", "--config", conf, "--address", closedAddr(t))
	contains(t, "stderr", r.stderr, "tend serve: no API credentials: add an api: section with tokens: or signing_secrets: to "+conf)
	r = mustRun(t, exitUsage, "serve", "--config", conf, "--listen", "8080")
	contains(t, "stderr", r.stderr, `tend serve: --listen "8080": want host:port`)
	if err := os.WriteFile(conf, []byte("playbooks: "+pb+"\napi: {tokens: [serve-test-token-0123456789]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, exitUnreachable, "serve", "--config", conf, "--address", closedAddr(t), "--timeout", "2s")
	contains(t, "stderr", r.stderr, "tend serve: cannot reach Temporal at ")
}

// .tend holds every customer's history: it is made 0700, and tightened
// to it if it was looser; one already 0700 is no error.
func TestPrivateDir(t *testing.T) {
	root := t.TempDir()
	for _, tt := range []struct {
		name   string
		before os.FileMode // 0: missing
	}{{"missing", 0}, {"world-readable", 0o755}, {"already private", 0o700}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(tt.name, " ", "-"), ".tend")
			if tt.before != 0 {
				if err := os.MkdirAll(dir, tt.before); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.before); err != nil {
					t.Fatal(err)
				}
			}
			if err := privateDir(dir); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("mode %v, %v; want 0700", fi.Mode().Perm(), err)
			}
		})
	}
}

func TestDevUICodec(t *testing.T) {
	for _, tt := range []struct{ listen, want string }{
		{"127.0.0.1", "http://127.0.0.1:8080/codec/dev"},
		{"0.0.0.0", "http://127.0.0.1:8080/codec/dev"},
		{"::", "http://127.0.0.1:8080/codec/dev"},
		{"::1", "http://127.0.0.1:8080/codec/dev"},
	} {
		endpoint, origins := devUICodec(tt.listen, 8080, 8233)
		if endpoint != tt.want {
			t.Errorf("devUICodec(%q) = %s, want %s", tt.listen, endpoint, tt.want)
		}
		if want := []string{"http://127.0.0.1:8233", "http://localhost:8233", "http://[::1]:8233"}; strings.Join(origins, " ") != strings.Join(want, " ") {
			t.Errorf("origins %v, want %v", origins, want)
		}
	}
}

// With a codec, tend dev's embedded UI is told to decode through the dev
// codec route, which answers the UI's origin without a token and nobody
// else; the state directory and database are private.
func TestDevCodec(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	deadline := time.After(30 * time.Second)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{9}, codec.KeySize)
	cfgPath := filepath.Join(dir, "tend.yaml")
	if err := os.WriteFile(cfgPath, []byte("codec: {keys: {k1: "+base64.StdEncoding.EncodeToString(key)+"}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, uiPort, apiPort := freePort(t), freePort(t), freePort(t)
	dev := func(ctx context.Context, args []string, out *output) int {
		return runContext(ctx, append([]string{"dev"}, args...), strings.NewReader(""), &bytes.Buffer{}, out)
	}
	stderr, stop, exited := start(dev, "--dir", state, "--config", cfgPath, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort),
		"--api-port", strconv.Itoa(apiPort), "--playbooks", shippedPlaybooks)
	defer stop()
	stderr.waitFor(t, "\nSend events:  ", exited, deadline)
	endpoint := "http://127.0.0.1:" + strconv.Itoa(apiPort) + "/codec/dev"
	contains(t, "banner", stderr.String(), "  Codec     AES-256-GCM, key k1 (codec: in "+cfgPath+"); the Web UI decodes through "+endpoint+"\n")

	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(uiPort) + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	contains(t, "the UI's settings", string(settings), endpoint)

	cdc, err := codec.New(map[string][]byte{"k1": key}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := cdc.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Ada"`)}})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	decode := func(origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, endpoint+"/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	plain := base64.StdEncoding.EncodeToString([]byte(`"Ada"`))
	if code, got := decode("http://localhost:" + strconv.Itoa(uiPort)); code != http.StatusOK || !strings.Contains(got, plain) {
		t.Errorf("decode from the UI: %d %s", code, got)
	}
	if code, got := decode("https://elsewhere.example"); code != http.StatusForbidden || strings.Contains(got, plain) {
		t.Errorf("decode from elsewhere: %d %s, want 403", code, got)
	}
	// The token route's 401 names the file tend dev keeps its token in.
	resp, err = http.Post("http://127.0.0.1:"+strconv.Itoa(apiPort)+"/codec/decode", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "needs Authorization: Bearer <token>, the token in " + filepath.Join(state, "api-token"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(got), want) {
		t.Errorf("/codec/decode without a token: %d %s; want 401 saying %q", resp.StatusCode, got, want)
	}
	for path, want := range map[string]os.FileMode{state: 0o700, filepath.Join(state, "temporal.db"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, fi.Mode().Perm(), err, want)
		}
	}
	stop()
	waitExit(t, "tend dev", stderr, exited, deadline)
}
