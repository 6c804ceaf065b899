package main

import (
	"strings"
	"testing"
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
			stdout: []string{"Usage: tend <command>", "  validate ", "  simulate ", "  schema ", "Run tend <command> --help"},
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

// Kong reports --help through its Exit hook, which parse turns into a
// panic and recovers. The recovery must not leak: the command must not run
// after --help, and a second parse in the same process must work normally.
func TestKongExitIsContained(t *testing.T) {
	for i := 0; i < 2; i++ {
		r := mustRun(t, exitOK, "validate", "--format", "json", "--help")
		if strings.Contains(r.stdout, `"valid"`) {
			t.Fatalf("validate ran after --help:\n%s", r.stdout)
		}
		mustRun(t, exitOK, "validate", shippedPlaybooks)
		mustRun(t, exitUsage, "validate", "--format")
	}

	var a validateArgs
	var out, errOut strings.Builder
	code, done := parse("validate", &a, []string{"--help"}, &out, &errOut)
	if code != exitOK || !done {
		t.Errorf("parse --help = (%d, %v), want (0, true)", code, done)
	}
	code, done = parse("validate", &a, []string{"--format", "github", "x", "y"}, &out, &errOut)
	if code != 0 || done {
		t.Errorf("parse of good flags = (%d, %v), want (0, false)", code, done)
	}
	if a.Format != "github" || strings.Join(a.Paths, ",") != "x,y" {
		t.Errorf("parsed %+v", a)
	}
	// A panic that is not kong's exit must not be swallowed.
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the original panic boom", r)
		}
	}()
	parse("bad", &panicky{}, []string{"--x", "1"}, &out, &errOut)
	t.Error("parse returned after a foreign panic")
}

// panicky is a kong grammar whose flag mapper panics during Parse.
type panicky struct {
	X panicValue `name:"x"`
}

type panicValue struct{}

func (panicValue) UnmarshalText([]byte) error { panic("boom") }
