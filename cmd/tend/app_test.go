package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tend-cs/tend/control"
)

func TestTopLevel(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings of stdout; nil means stdout must be empty
		stderr     []string // substrings of stderr; nil means stderr must be empty
		stdoutFrom string   // the first line stdout must start with, if set
	}{
		{
			name:   "no args prints usage to stderr",
			args:   nil,
			code:   exitUsage,
			stderr: []string{"Usage: tend <command>", "validate", "simulate", "schema"},
		},
		{
			name:   "--help",
			args:   []string{"--help"},
			code:   exitOK,
			stdout: []string{"Usage: tend <command>", "  validate ", "  simulate ", "  schema ", `Run "tend <command> --help"`},
		},
		{
			name:   "-h",
			args:   []string{"-h"},
			code:   exitOK,
			stdout: []string{"Usage: tend <command>"},
		},
		{
			name:   "help",
			args:   []string{"help"},
			code:   exitOK,
			stdout: []string{"Usage: tend <command>"},
		},
		{
			name:   "unknown command lists the commands",
			args:   []string{"simulat"},
			code:   exitUsage,
			stderr: []string{`tend: unknown command "simulat"; commands are validate, simulate, schema`},
		},
		{
			name:   "a flag as the command",
			args:   []string{"--format", "json"},
			code:   exitUsage,
			stderr: []string{`unknown command "--format"`},
		},
		{
			name:       "validate --help",
			args:       []string{"validate", "--help"},
			code:       exitOK,
			stdout:     []string{"--format=", "text, json or github", "[<paths> ...]"},
			stdoutFrom: "Usage: tend validate",
		},
		{
			name:       "validate -h after a path",
			args:       []string{"validate", "does-not-exist", "-h"},
			code:       exitOK,
			stdoutFrom: "Usage: tend validate",
		},
		{
			name:       "help validate",
			args:       []string{"help", "validate"},
			code:       exitOK,
			stdoutFrom: "Usage: tend validate",
		},
		{
			name:       "simulate --help",
			args:       []string{"simulate", "--help"},
			code:       exitOK,
			stdout:     []string{"--scenario=", "--customers=", "--id-column=", "--events=", "--start=", "--until=", "--format=", "--report="},
			stdoutFrom: "Usage: tend simulate",
		},
		{
			name:       "schema --help",
			args:       []string{"schema", "--help"},
			code:       exitOK,
			stdoutFrom: "Usage: tend schema",
		},
		{
			name:   "help on an unknown command",
			args:   []string{"help", "nope"},
			code:   exitUsage,
			stderr: []string{`unknown command "nope"`},
		},
		{
			name:   "kong parse error goes to stderr with a hint",
			args:   []string{"validate", "--bogus"},
			code:   exitUsage,
			stderr: []string{"tend validate: unknown flag --bogus (run tend validate --help)"},
		},
		{
			name:   "schema takes no arguments",
			args:   []string{"schema", "extra"},
			code:   exitUsage,
			stderr: []string{"tend schema: unexpected argument extra"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			if tt.stdout == nil && tt.stdoutFrom == "" && r.stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", r.stdout)
			}
			if tt.stderr == nil && r.stderr != "" {
				t.Errorf("stderr should be empty, got:\n%s", r.stderr)
			}
			contains(t, "stdout", r.stdout, tt.stdout...)
			contains(t, "stderr", r.stderr, tt.stderr...)
			if tt.stdoutFrom != "" && !strings.HasPrefix(r.stdout, tt.stdoutFrom) {
				t.Errorf("stdout should start with %q, got:\n%s", tt.stdoutFrom, r.stdout)
			}
		})
	}
}

// kong reports --help through its Exit hook, which records the exit and
// lets Parse return: the command must not run after --help, and a second
// run in the same process must work normally.
func TestHelpDoesNotRun(t *testing.T) {
	for i := 0; i < 2; i++ {
		r := mustRun(t, exitOK, "validate", "--format", "json", "--help")
		if strings.Contains(r.stdout, `"valid"`) {
			t.Fatalf("validate ran after --help:\n%s", r.stdout)
		}
		mustRun(t, exitOK, "validate", shippedPlaybooks)
		mustRun(t, exitUsage, "validate", "--format")
	}
	// A command whose flags are wrong still shows its help.
	r := mustRun(t, exitOK, "dev", "--port", "70000", "--help")
	contains(t, "stdout", r.stdout, "Usage: tend dev")
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := mustRun(t, exitOK, "--version")
	if want := "tend " + versionString() + "\n"; r.stdout != want || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q; want stdout %q", r.stdout, r.stderr, want)
	}
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	for _, args := range [][]string{{"--version"}, {"validate", "--version"}} {
		r := mustRun(t, exitOK, args...)
		if r.stdout != "tend v1.2.3\n" {
			t.Errorf("tend %s: stdout %q, want the version set with -ldflags -X main.version", strings.Join(args, " "), r.stdout)
		}
	}
}

// Without -ldflags, the version comes from the build information: never
// the bare "dev" of go run and go install from a checkout.
func TestBuildVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install module@version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0"},
		{"stamped pseudo-version", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260301100000-1a2b3c4d5e6f+dirty"}}, "v0.0.0-20260301100000-1a2b3c4d5e6f+dirty"},
		{"go build from a checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", "1a2b3c4d5e6f7a8b9c0d", "vcs.time", "2026-03-01T10:00:00Z", "vcs.modified", "true")},
			"devel 1a2b3c4d5e6f+dirty (2026-03-01T10:00:00Z, go1.26.8)"},
		{"clean checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "1a2b3c4", "vcs.modified", "false")}, "devel 1a2b3c4 (go1.26.8)"},
		{"go run: no version control information", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "devel (go1.26.8)"},
	}
	for _, tt := range tests {
		if got := buildVersion(&tt.bi); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if v := versionString(); v == "dev" || v == "" {
		t.Errorf("this test binary's version is %q", v)
	}
}

// An unreachable Temporal exits 3, as opposed to 1 for a refusal and 2 for
// bad input.
func TestUnreachable(t *testing.T) {
	r := mustRun(t, exitUnreachable, "runs", "list", "--address", "127.0.0.1:1", "--timeout", "2s")
	if want := "tend runs list: cannot reach Temporal at 127.0.0.1:1: "; !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
		t.Errorf("stderr %q, want prefix %q; stdout %q", r.stderr, want, r.stdout)
	}
}

func TestExitCode(t *testing.T) {
	plain := errors.New("boom")
	_, parseErr := parseOnly(t, "validate", "--bogus")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"plain error", plain, exitInvalid},
		{"failed", failed(plain), exitInvalid},
		{"usage", usagef("--x: bad"), exitUsage},
		{"silent", silent(exitInvalid), exitInvalid},
		{"dial", &dialError{address: "x:1", err: plain}, exitUnreachable},
		{"wrapped unavailable", failed(fmt.Errorf("list runs: %w", serviceerror.NewUnavailable("no"))), exitUnreachable},
		{"grpc unavailable", fmt.Errorf("query: %w", status.Error(codes.Unavailable, "down")), exitUnreachable},
		{"control unavailable", failed(fmt.Errorf("complete task x: %w", errors.Join(control.ErrUnavailable, plain))), exitUnreachable},
		{"not found", failed(serviceerror.NewNotFound("no run")), exitInvalid},
		{"conflict", failed(fmt.Errorf("task x is done: %w", control.ErrConflict)), exitInvalid},
		{"deadline after connecting", failed(status.Error(codes.DeadlineExceeded, "slow")), exitInvalid},
		{"kong parse error", parseErr, exitUsage},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
	var out strings.Builder
	if code := report(&out, "tend x", silent(exitInvalid)); code != exitInvalid || out.Len() != 0 {
		t.Errorf("silent: exit %d, printed %q", code, out.String())
	}
}
