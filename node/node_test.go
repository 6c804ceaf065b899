package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/workflows"
)

// The playbook files of the tests: a valid set is schema.yaml and
// welcome.yaml.
const (
	schemaYAML = `customer:
  name: string
  csm: string
events:
  contract.signed: {plan: string}
stages: [onboarding, adoption]
calendar:
  timezone: UTC
  daily_at: "09:00"
`
	welcomeYAML = `playbook: welcome
owner: customer.csm
trigger:
  on: [contract.signed]
steps:
  - id: hello
    do: task
    title: "Welcome {{ customer.name }}"
`
	// Two errors in one file.
	badWelcomeYAML = `playbook: welcome
owner: customer.csm
trigger:
  on: [contract.signd]
steps:
  - id: hello
    do: task
    title: "Welcome {{ customer.nmae }}"
`
	// One error in another.
	badLaterYAML = `playbook: later
owner: customer.csm
trigger:
  on: [contract.signed]
steps:
  - wait: soon
`
	laterYAML = `playbook: later
owner: customer.csm
trigger:
  on: [contract.signed]
steps:
  - wait: 3d
  - id: check
    do: task
    title: "Check on {{ customer.name }}"
`
)

// writeFiles writes files (name → content) into dir; an empty content
// removes the file.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if content == "" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// logBuffer is a log written by the node's goroutines and the SDK's, and
// read by the test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLog is a JSON logger into a buffer the test reads.
func newLog() (zerolog.Logger, *logBuffer) {
	b := &logBuffer{}
	return zerolog.New(b), b
}

// shared is the embedded server of the tests that run a worker, started
// by the first of them and stopped by TestMain.
var shared struct {
	once sync.Once
	srv  *devserver.Server
	c    client.Client
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.Close()
	}
	if shared.srv != nil {
		shared.srv.Stop()
	}
	os.Exit(code)
}

// serverClient returns a client of the embedded server (in memory),
// starting it on first use.
func serverClient(t *testing.T) client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	shared.once.Do(func() {
		shared.srv, shared.err = devserver.Start(devserver.Options{SearchAttributes: workflows.SearchAttributes()})
		if shared.err != nil {
			return
		}
		shared.c, shared.err = client.Dial(client.Options{HostPort: shared.srv.Address(), Namespace: shared.srv.Namespace(),
			Logger: zlog.SDK(zerolog.Nop())})
	})
	if shared.err != nil {
		t.Fatalf("embedded server: %v", shared.err)
	}
	return shared.c
}

// startNode starts a node on the embedded server that stops at the end of
// the test.
func startNode(t *testing.T, opts Options) *Node {
	t.Helper()
	opts.Client = serverClient(t)
	n, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

// isClosed says whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestStartInvalidPlaybooks: Start refuses a directory it cannot use,
// with every error of the set, before it touches Temporal (the client is
// nil, which a worker would not survive).
func TestStartInvalidPlaybooks(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // nil: the directory does not exist
		want  []string
	}{
		{"missing directory", nil, []string{"cannot read ", "no such file or directory"}},
		{"no schema", map[string]string{"welcome.yaml": welcomeYAML}, []string{"no schema.yaml found"}},
		{"errors in two files", map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": badWelcomeYAML, "later.yaml": badLaterYAML},
			[]string{
				"later.yaml:6:11: playbook later: step steps.0: wait: invalid duration \"soon\"",
				"welcome.yaml:4:8: playbook welcome: trigger.on: unknown event type contract.signd; did you mean contract.signed?",
				"welcome.yaml:8:33: playbook welcome: step hello: title: unknown attribute nmae; did you mean name?",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "playbooks")
			if tt.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFiles(t, dir, tt.files)
			}
			log, logs := newLog()
			n, err := Start(Options{Playbooks: dir, Logger: log, Reload: -1})
			if err == nil {
				n.Stop()
				t.Fatal("Start succeeded")
			}
			if n != nil {
				t.Errorf("Start returned a node with the error %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(logs.String(), "worker started") {
				t.Errorf("a worker started:\n%s", logs)
			}
		})
	}
}

// TestReload: a changed valid set replaces the current one, in the node
// and in what the workflows read; an invalid one is logged error by error
// and ignored; an unchanged one changes nothing.
func TestReload(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	log, logs := newLog()
	n := startNode(t, Options{Playbooks: dir, Logger: log, Reload: -1})
	if n.Version() == "" || n.pb.Current().Version != n.Version() {
		t.Fatalf("after Start: node version %q, workflows' version %q", n.Version(), n.pb.Current().Version)
	}

	versions := map[string]string{} // step name → version after it
	steps := []struct {
		name      string
		files     map[string]string
		changed   bool
		sameAs    string   // the step whose version this one must have, if any
		playbooks []string // in the set after the step
		logged    []string
		quiet     bool // nothing logged
	}{
		{name: "unchanged", changed: false, playbooks: []string{"welcome"}, quiet: true},
		{name: "edited", files: map[string]string{"welcome.yaml": strings.Replace(welcomeYAML, "Welcome", "Hello", 1)},
			changed: true, playbooks: []string{"welcome"}, logged: []string{`"message":"playbooks reloaded"`}},
		{name: "added", files: map[string]string{"later.yaml": laterYAML},
			changed: true, playbooks: []string{"later", "welcome"}, logged: []string{`"message":"playbooks reloaded"`}},
		{name: "invalid", files: map[string]string{"welcome.yaml": badWelcomeYAML, "later.yaml": badLaterYAML},
			changed: false, playbooks: []string{"later", "welcome"}, logged: []string{
				`later.yaml:6:11: playbook later: step steps.0: wait: invalid duration \"soon\"`,
				`welcome.yaml:4:8: playbook welcome: trigger.on: unknown event type contract.signd`,
				`welcome.yaml:8:33: playbook welcome: step hello: title: unknown attribute nmae`,
				`"errors":3`, "keeping the last good set",
			}},
		// Back to the set of "added", still the current one.
		{name: "fixed", files: map[string]string{"welcome.yaml": strings.Replace(welcomeYAML, "Welcome", "Hello", 1), "later.yaml": laterYAML},
			changed: false, sameAs: "added", playbooks: []string{"later", "welcome"}},
		{name: "removed", files: map[string]string{"later.yaml": ""},
			changed: true, sameAs: "edited", playbooks: []string{"welcome"}, logged: []string{`"message":"playbooks reloaded"`}},
	}
	for _, st := range steps {
		before, logStart := n.Version(), len(logs.String())
		writeFiles(t, dir, st.files)
		n.Reload()
		after, logged := n.Version(), logs.String()[logStart:]
		versions[st.name] = after
		if changed := after != before; changed != st.changed {
			t.Errorf("%s: version %s → %s, want changed = %v", st.name, before, after, st.changed)
		}
		if st.sameAs != "" && after != versions[st.sameAs] {
			t.Errorf("%s: version %s, want %s, the version after %q", st.name, after, versions[st.sameAs], st.sameAs)
		}
		if got := n.pb.Current().Version; got != after {
			t.Errorf("%s: the workflows have version %s, the node %s", st.name, got, after)
		}
		var names []string
		for _, p := range n.Set().Playbooks {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != strings.Join(st.playbooks, ",") {
			t.Errorf("%s: playbooks %v, want %v", st.name, names, st.playbooks)
		}
		for _, w := range st.logged {
			if !strings.Contains(logged, w) {
				t.Errorf("%s: log does not contain %s:\n%s", st.name, w, logged)
			}
		}
		if st.quiet && logged != "" {
			t.Errorf("%s: logged\n%s", st.name, logged)
		}
	}
	if isClosed(n.Done()) {
		t.Errorf("Done is closed on a running node: %v", n.Err())
	}
}

// TestWatchReloadsByItself: with an interval, the watcher picks up a change
// without being asked, and hands the new set to onSwap.
func TestWatchReloadsByItself(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	swapped := make(chan workflows.Bundle, 10)
	log, _ := newLog()
	w, err := Watch(dir, 10*time.Millisecond, log, nil, func(b workflows.Bundle) { swapped <- b })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	old := w.Bundle().Version
	writeFiles(t, dir, map[string]string{"later.yaml": laterYAML})
	select {
	case b := <-swapped:
		if b.Version == old || b.Version != w.Bundle().Version {
			t.Errorf("swapped to %s from %s; the watcher holds %s", b.Version, old, w.Bundle().Version)
		}
		if len(w.Set().Playbooks) != 2 {
			t.Errorf("%d playbooks after the reload, want 2", len(w.Set().Playbooks))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s")
	}
}

// TestStop: Stop closes Done with no error, and may be called again.
func TestStop(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	log, _ := newLog()
	n := startNode(t, Options{Playbooks: dir, Logger: log, Reload: -1})
	if isClosed(n.Done()) || n.Err() != nil {
		t.Fatalf("a new node: Done closed %v, Err %v", isClosed(n.Done()), n.Err())
	}
	n.Stop()
	if !isClosed(n.Done()) {
		t.Error("Done is open after Stop")
	}
	if err := n.Err(); err != nil {
		t.Errorf("Err after Stop = %v, want nil", err)
	}
	n.Stop() // and once more by the cleanup
}

// TestFatalHook checks what the node does when the SDK reports a fatal
// error, by calling the hook it gives the SDK: the node logs the error,
// calls Options.Worker.OnFatalError, closes Done and keeps the error
// through Stop. A fatal error after Stop is passed on but does not make
// Err non-nil. TestFatalError triggers a real one.
func TestFatalHook(t *testing.T) {
	fatal := serviceerror.NewNamespaceNotFound("gone")
	tests := []struct {
		name      string
		stopFirst bool
		wantErr   error
	}{
		{"fatal error", false, fatal},
		{"fatal error after Stop", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
			log, logs := newLog()
			var hooked []error
			n := startNode(t, Options{Playbooks: dir, Logger: log, Reload: -1,
				Worker: worker.Options{OnFatalError: func(err error) { hooked = append(hooked, err) }}})
			if tt.stopFirst {
				n.Stop()
			}
			n.fatal(fatal)
			if !isClosed(n.Done()) {
				t.Fatal("Done is open after a fatal error")
			}
			if err := n.Err(); err != tt.wantErr {
				t.Errorf("Err = %v, want %v", err, tt.wantErr)
			}
			n.Stop()
			if err := n.Err(); err != tt.wantErr {
				t.Errorf("Err after Stop = %v, want %v", err, tt.wantErr)
			}
			if len(hooked) != 1 || hooked[0] != fatal {
				t.Errorf("Options.Worker.OnFatalError got %v, want [%v]", hooked, fatal)
			}
			logged := strings.Contains(logs.String(), `"error":"Namespace gone is not found.","message":"worker stopped on a fatal error"`)
			if logged != (tt.wantErr != nil) {
				t.Errorf("fatal error logged: %v, want %v:\n%s", logged, tt.wantErr != nil, logs)
			}
		})
	}
}

// TestFatalError makes the SDK stop a worker on an error it does not
// retry: the server refuses every poll of a worker whose identity is
// longer than 1,000 bytes (InvalidArgument). The SDK goes on polling for
// its grace period of two minutes first (it cannot be shortened from
// outside the SDK), so this test takes that long; it runs in parallel with
// the others. Deleting the namespace under a running worker works too, but
// takes three minutes.
func TestFatalError(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	serverClient(t) // skips with -short
	t.Parallel()
	log, logs := newLog()
	hooked := make(chan error, 1)
	n := startNode(t, Options{Playbooks: dir, Logger: log, Reload: -1,
		Worker: worker.Options{Identity: strings.Repeat("x", 1001), OnFatalError: func(err error) { hooked <- err }}})
	if isClosed(n.Done()) {
		t.Fatalf("Done is closed right after Start: %v", n.Err())
	}
	select {
	case <-n.Done():
	case <-time.After(4 * time.Minute):
		t.Fatalf("no fatal error within 4 minutes; the log:\n%s", logs)
	}
	err := n.Err()
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "Identity length exceeds limit") {
		t.Fatalf("Err = %T %v, want InvalidArgument: Identity length exceeds limit", err, err)
	}
	select {
	case h := <-hooked:
		if h != err {
			t.Errorf("Options.Worker.OnFatalError got %v, Err is %v", h, err)
		}
	default:
		t.Error("Options.Worker.OnFatalError was not called before Done closed")
	}
	if !strings.Contains(logs.String(), `"message":"worker stopped on a fatal error"`) {
		t.Errorf("the fatal error is not logged:\n%s", logs)
	}
}

// TestTargetsChecked: a set that names a chat channel or endpoint the
// config does not configure is refused at start, and a reload to such a
// set keeps the last good one and logs each error.
func TestTargetsChecked(t *testing.T) {
	notifyYAML := `playbook: alert
trigger:
  on: [contract.signed]
steps:
  - id: tell
    do: notify
    channel: cs-alert
    text: "{{ customer.name }} signed"
`
	cfg, err := config.Parse("tend.yaml", []byte("chat: {channels: {cs-alerts: {webhook: https://hooks.example/a}}}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	want := "alert.yaml:7:14: playbook alert: step tell: chat channel cs-alert is not configured in tend.yaml (its channels are cs-alerts); did you mean cs-alerts?"

	bad := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML, "alert.yaml": notifyYAML})
	log, _ := newLog()
	if n, err := Start(Options{Playbooks: bad, Config: cfg, Logger: log, Reload: -1}); err == nil {
		n.Stop()
		t.Fatal("Start succeeded with a channel tend.yaml does not configure")
	} else if !strings.Contains(err.Error(), want) {
		t.Errorf("Start: %v\nwant it to contain %s", err, want)
	}

	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	log, logs := newLog()
	targets := Targets(cfg)
	w, err := Watch(dir, -1, log, &targets, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	good := w.Bundle().Version
	writeFiles(t, dir, map[string]string{"alert.yaml": notifyYAML})
	w.Reload()
	if w.Bundle().Version != good || len(w.Set().Playbooks) != 1 {
		t.Errorf("after the reload: version %s with %d playbooks, want the last good set %s", w.Bundle().Version, len(w.Set().Playbooks), good)
	}
	for _, s := range []string{want, `"errors":1`, "keeping the last good set"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log does not contain %s:\n%s", s, logs)
		}
	}
	writeFiles(t, dir, map[string]string{"alert.yaml": strings.Replace(notifyYAML, "cs-alert\n", "cs-alerts\n", 1)})
	w.Reload()
	if w.Bundle().Version == good || len(w.Set().Playbooks) != 2 {
		t.Errorf("after the fix: version %s with %d playbooks, want a new set of 2", w.Bundle().Version, len(w.Set().Playbooks))
	}
}

// TestOnReload: the hook hears of every reload of a changed directory, nil
// for a set swapped in and the errors for one refused, and nothing when
// the directory has not changed.
func TestOnReload(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	log, _ := newLog()
	w, err := Watch(dir, -1, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []string
	w.OnReload(func(err error) {
		if err != nil {
			got = append(got, "failure: "+err.Error())
			return
		}
		got = append(got, "success")
	})
	steps := []struct {
		files map[string]string
		want  string // "" when no reload is expected
	}{
		{nil, ""}, // unchanged
		{map[string]string{"later.yaml": laterYAML}, "success"},
		{map[string]string{"broken.yaml": "playbook: broken\nsteps: 3\n"}, "failure: broken.yaml:"},
		{nil, ""}, // still broken, but unchanged: reported once
	}
	for i, s := range steps {
		got = nil
		writeFiles(t, dir, s.files)
		w.Reload()
		switch {
		case s.want == "" && len(got) > 0:
			t.Errorf("step %d: OnReload called with %v, want no call", i, got)
		case s.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], s.want)):
			t.Errorf("step %d: OnReload calls %q, want one starting %q", i, got, s.want)
		}
	}
}
