package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
)

func TestWorkerUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative reload", []string{"--reload=-1s"}, "tend worker: --reload -1s: want a positive duration such as 2s, or 0 to never reload\n"},
		{"bad reload", []string{"--reload", "soon"}, `tend worker: --reload: expected duration but got "soon"`},
		{"bad log level", []string{"--log-level", "loud"}, `tend worker: --log-level must be one of "debug","info","warn","error" but got "loud"`},
		{"bad log format", []string{"--log-format", "xml"}, `tend worker: --log-format must be one of "console","json" but got "xml"`},
		{"zero timeout", []string{"--timeout", "0s"}, "tend worker: --timeout 0s: want a positive duration such as 30s\n"},
		{"argument", []string{"playbooks"}, "tend worker: unexpected argument playbooks"},
		{"missing config", []string{"--config", missing + ".yaml"}, "tend worker: " + missing + ".yaml: config file does not exist\n"},
		{"missing playbooks", []string{"--playbooks", missing}, "tend worker: cannot read " + missing + ": no such file or directory\n"},
		{"bad tls flags", []string{"--tls-cert", missing}, "tend worker: --tls-cert needs --tls-key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The address is closed: reaching it would exit 3, so exit 2
			// shows the command stopped before dialing.
			args := append([]string{"worker", "--address", closedAddr(t), "--playbooks", shippedPlaybooks}, tt.args...)
			r := mustRun(t, exitUsage, args...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
		})
	}
}

func TestWorkerHelp(t *testing.T) {
	r := mustRun(t, exitOK, "worker", "--help")
	contains(t, "stdout", r.stdout, "--config=", "--playbooks=", "--reload=2s", "--log-level=", "--log-format=",
		"--address=", "$TEMPORAL_ADDRESS", "--namespace=", "--tls-cert=", "--api-key=")
	// The help text is wrapped to the terminal's width.
	contains(t, "stdout", strings.Join(strings.Fields(r.stdout), " "), "Runs until SIGINT or SIGTERM, then exits 0.",
		"If the Temporal worker stops on an error it does not retry", "logs the error and exits 1.")
	r = mustRun(t, exitOK, "help", "worker")
	contains(t, "stdout", r.stdout, "Usage: tend worker")
}

// TestWorkerAddressPrecedence checks flag > environment > tend.yaml >
// default by which closed address the worker fails to reach.
func TestWorkerAddressPrecedence(t *testing.T) {
	fromFlag, fromEnv, fromFile := closedAddr(t), closedAddr(t), closedAddr(t)
	cfg := writeFiles(t, t.TempDir(), map[string]string{
		"tend.yaml": "temporal:\n  address: " + fromFile + "\nplaybooks: " + mustAbs(t, shippedPlaybooks) + "\n",
	})
	file := filepath.Join(cfg, "tend.yaml")
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"file", "", []string{"--config", file}, fromFile},
		{"environment over file", fromEnv, []string{"--config", file}, fromEnv},
		{"flag over environment and file", fromEnv, []string{"--config", file, "--address", fromFlag}, fromFlag},
		{"flag without a file", "", []string{"--address", fromFlag, "--playbooks", shippedPlaybooks}, fromFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("TEMPORAL_ADDRESS", tt.env)
			}
			r := mustRun(t, exitUnreachable, append([]string{"worker"}, tt.args...)...)
			want := "tend worker: cannot reach Temporal at " + tt.want + ": "
			if !strings.HasPrefix(r.stderr, want) || !strings.HasSuffix(r.stderr, "; "+dialHint+"\n") {
				t.Errorf("stderr = %q, want %q ... %s", r.stderr, want, dialHint)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestWorkerInvalidPlaybooks(t *testing.T) {
	r := mustRun(t, exitInvalid, "worker", "--address", closedAddr(t), "--playbooks", invalidSet)
	contains(t, "stderr", r.stderr,
		"testdata/invalid/welcome.yaml:8:18: playbook welcome: trigger.when: unknown attribute segmnt; did you mean segment?\n",
		"testdata/invalid/zebra.yaml:8:25: ",
		"tend worker: the playbooks in testdata/invalid have 9 errors; check them with tend validate testdata/invalid\n")
	if strings.Contains(r.stderr, "cannot reach") {
		t.Errorf("the worker dialed Temporal with invalid playbooks:\n%s", r.stderr)
	}
}

func TestWorkerInvalidConfig(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"tend.yaml": "temporal:\n  adress: localhost:7233\n"})
	file := filepath.Join(dir, "tend.yaml")
	r := mustRun(t, exitUsage, "worker", "--config", file, "--address", closedAddr(t), "--playbooks", shippedPlaybooks)
	contains(t, "stderr", r.stderr, file+":2:3: unknown key adress in temporal; did you mean address?\n",
		"tend worker: "+file+" has ")
}

// fakeNode is a node whose fatal error the test sets.
type fakeNode struct {
	done    chan struct{}
	err     error
	stopped int
}

func (f *fakeNode) Done() <-chan struct{} { return f.done }

func (f *fakeNode) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

func (f *fakeNode) Stop() {
	f.stopped++
	select {
	case <-f.done:
	default:
		close(f.done)
	}
}

// TestWaitWorker: tend worker exits 0 when interrupted, and on a fatal
// error from its node it stops the node and fails with the error: exit 1,
// or 3 for an unavailable server. The node itself is tested in node/;
// a real fatal error takes the SDK two minutes (see node.TestFatalError).
func TestWaitWorker(t *testing.T) {
	tests := []struct {
		name        string
		interrupted bool
		fatal       error
		code        int
		stderr      string
		logged      []string
	}{
		{"interrupted", true, nil, exitOK, "", []string{"stopping worker", "worker stopped"}},
		{"namespace deleted", false, serviceerror.NewNamespaceNotFound("tend"), exitInvalid,
			"tend worker: the Temporal worker stopped: Namespace tend is not found.\n", nil},
		{"invalid request", false, serviceerror.NewInvalidArgument("Identity length exceeds limit."), exitInvalid,
			"tend worker: the Temporal worker stopped: Identity length exceeds limit.\n", nil},
		{"unavailable", false, serviceerror.NewUnavailable("connection refused"), exitUnreachable,
			"tend worker: the Temporal worker stopped: connection refused\n", nil},
		{"fatal error and interrupt", true, serviceerror.NewNamespaceNotFound("tend"), exitInvalid,
			"tend worker: the Temporal worker stopped: Namespace tend is not found.\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.interrupted {
				cancel()
			}
			n := &fakeNode{done: make(chan struct{}), err: tt.fatal}
			if tt.fatal != nil {
				close(n.done)
			}
			var logs, stderr bytes.Buffer
			result := make(chan error, 1)
			go func() { result <- waitWorker(ctx, n, zerolog.New(&logs)) }()
			var err error
			select {
			case err = <-result:
			case <-time.After(10 * time.Second):
				t.Fatal("waitWorker did not return within 10s")
			}
			if code := report(&stderr, "tend worker", err); code != tt.code {
				t.Errorf("exit %d, want %d (error %v)", code, tt.code, err)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.stderr)
			}
			if n.stopped != 1 {
				t.Errorf("Stop called %d times, want 1", n.stopped)
			}
			contains(t, "log", logs.String(), tt.logged...)
		})
	}
}

// TestWorkerUnknownChannel: the worker checks the playbooks' channels and
// endpoints against tend.yaml before it dials Temporal.
func TestWorkerUnknownChannel(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"tend.yaml": "chat: {channels: {alerts: {webhook: https://hooks.example/a}}}\n"})
	file := filepath.Join(dir, "tend.yaml")
	r := mustRun(t, exitInvalid, "worker", "--config", file, "--address", closedAddr(t), "--playbooks", shippedPlaybooks)
	contains(t, "stderr", r.stderr,
		"playbook renewal: step lapsed: chat channel cs-alerts is not configured in "+file+" (its channels are alerts); did you mean alerts?\n",
		"tend worker: the playbooks in "+shippedPlaybooks+" name chat channels or endpoints not in "+file)
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(shippedPlaybooks+"/renewal.yaml:") + `\d+:\d+: playbook renewal: step lapsed: `).MatchString(r.stderr) {
		t.Errorf("no file:line:col for renewal's lapsed step:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "cannot reach") {
		t.Errorf("the worker dialed Temporal:\n%s", r.stderr)
	}
}
