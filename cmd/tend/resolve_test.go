package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseOnly parses args as tend does, without running the command, and
// returns the filled grammar.
func parseOnly(t *testing.T, args ...string) (*cli, error) {
	t.Helper()
	var g cli
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, conf: &configFile{}, ctx: context.Background()}
	p, err := newParser(&g, env, io.Discard, func(code int) { t.Fatalf("tend %s: kong exited %d", strings.Join(args, " "), code) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(args)
	return &g, err
}

// TestConfigPrecedence checks flag > environment > tend.yaml > default for
// the flags tend.yaml sets, with tend.yaml found in the working directory,
// named by --config, or named by $TEND_CONFIG.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"empty/.keep": "",
		"tend.yaml": "temporal:\n  address: file:7233\n  namespace: file-ns\n  api_key: ${TEND_TEST_KEY}\n" +
			"  tls: {server_name: file.example}\nplaybooks: pb\n",
		"other/tend.yaml": "temporal: {address: other:7233}\n",
	})
	t.Setenv("TEND_TEST_KEY", "key-from-file")
	for _, env := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_TLS_SERVER_NAME", "TEND_CONFIG"} {
		if v, ok := os.LookupEnv(env); ok {
			t.Setenv(env, v) // restored after the test
			os.Unsetenv(env)
		}
	}
	other := filepath.Join(dir, "other", "tend.yaml")

	type want struct{ address, namespace, apiKey, serverName, playbooks string }
	tests := []struct {
		name string
		cwd  string
		env  map[string]string
		args []string
		want want
		tls  bool
	}{
		{name: "defaults without a file", cwd: "empty",
			want: want{"localhost:7233", "default", "", "", "playbooks"}},
		{name: "tend.yaml in the working directory", cwd: ".",
			want: want{"file:7233", "file-ns", "key-from-file", "file.example", "pb"}, tls: true},
		{name: "environment over tend.yaml", cwd: ".",
			env:  map[string]string{"TEMPORAL_ADDRESS": "env:7233", "TEMPORAL_API_KEY": "key-from-env"},
			want: want{"env:7233", "file-ns", "key-from-env", "file.example", "pb"}, tls: true},
		{name: "flags over environment and tend.yaml", cwd: ".",
			env:  map[string]string{"TEMPORAL_ADDRESS": "env:7233"},
			args: []string{"--address", "flag:7233", "--namespace=flag-ns", "--playbooks", "mine"},
			want: want{"flag:7233", "flag-ns", "key-from-file", "file.example", "mine"}, tls: true},
		{name: "--config names another file; its paths are relative to it", cwd: ".",
			args: []string{"--config", other},
			want: want{"other:7233", "default", "", "", filepath.Join(dir, "other", "playbooks")}},
		{name: "$TEND_CONFIG names another file", cwd: "empty",
			env:  map[string]string{"TEND_CONFIG": other},
			want: want{"other:7233", "default", "", "", filepath.Join(dir, "other", "playbooks")}},
		{name: "--config over $TEND_CONFIG", cwd: "empty",
			env:  map[string]string{"TEND_CONFIG": filepath.Join(dir, "missing.yaml")},
			args: []string{"--config", other},
			want: want{"other:7233", "default", "", "", filepath.Join(dir, "other", "playbooks")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(filepath.Join(dir, tt.cwd))
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			for _, cmd := range [][]string{{"runs", "list"}, {"runs", "show", "run/a/b/1"}, {"tasks", "list"}, {"event", "send"}, {"worker"}} {
				g, err := parseOnly(t, append(cmd, tt.args...)...)
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				var conn connFlags
				var playbooks string
				switch cmd[0] + " " + cmd[len(cmd)-1] {
				case "runs list":
					conn, playbooks = g.Runs.List.Client.Conn, g.Runs.List.Client.Set.Playbooks
				case "runs run/a/b/1":
					conn, playbooks = g.Runs.Show.Client.Conn, g.Runs.Show.Client.Set.Playbooks
				case "tasks list":
					conn, playbooks = g.Tasks.List.Client.Conn, g.Tasks.List.Client.Set.Playbooks
				case "event send":
					conn, playbooks = g.Event.Send.Client.Conn, g.Event.Send.Client.Set.Playbooks
				default:
					conn, playbooks = g.Worker.Conn, g.Worker.Set.Playbooks
				}
				got := want{conn.Address, conn.Namespace, conn.APIKey, conn.TLSServerName, playbooks}
				if got != tt.want || conn.TLS != tt.tls {
					t.Errorf("%s: got %+v, tls %v\nwant %+v, tls %v", cmd, got, conn.TLS, tt.want, tt.tls)
				}
			}
		})
	}
}

// tend.yaml is read only by the commands that have a --config flag, and
// only when it is needed; its problems are usage errors (exit 2) listed as
// file:line:col.
func TestConfigErrors(t *testing.T) {
	playbooks := mustAbs(t, shippedPlaybooks)
	dir := writeFiles(t, t.TempDir(), map[string]string{"tend.yaml": "temporal:\n  adress: localhost:7233\n"})
	t.Chdir(dir)

	mustRun(t, exitOK, "validate", playbooks)
	mustRun(t, exitOK, "schema")
	r := mustRun(t, exitOK, "runs", "list", "--help")
	contains(t, "stdout", r.stdout, "Usage: tend runs list")

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"tend runs list", []string{"runs", "list"}},
		{"tend tasks complete", []string{"tasks", "complete", "pb/acme/1/kickoff/1"}},
		{"tend event send", []string{"event", "send", "--customer", "acme", "--type", "x"}},
		{"tend worker", []string{"worker", "--playbooks", playbooks}},
		{"tend dev", []string{"dev", "--playbooks", playbooks, "--port", "0", "--ui-port", "0"}},
	} {
		r := mustRun(t, exitUsage, tt.args...)
		want := "tend.yaml:2:3: unknown key adress in temporal; did you mean address?\n" + tt.name + ": tend.yaml has 1 error\n"
		if r.stderr != want {
			t.Errorf("%s: stderr = %q, want %q", tt.name, r.stderr, want)
		}
	}

	// A config file that is named must exist; the default one need not.
	missing := filepath.Join(dir, "missing.yaml")
	r = mustRun(t, exitUsage, "runs", "list", "--config", missing)
	if want := "tend runs list: " + missing + ": config file does not exist\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	t.Setenv("TEND_CONFIG", missing)
	r = mustRun(t, exitUsage, "tasks", "list")
	contains(t, "stderr", r.stderr, "tend tasks list: "+missing+": config file does not exist\n")
}

// The Validate hooks reject bad values with exit 2 and their own message,
// whether the value comes from a flag or from the environment, before
// anything runs.
func TestValidateHooks(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"dev port", nil, []string{"dev", "--port", "70000", "--dir", filepath.Join(t.TempDir(), "state")}, "tend dev: --port 70000: want 1-65535, or 0 for a free port\n"},
		{"worker reload", nil, []string{"worker", "--reload=-1s"}, "tend worker: --reload -1s: want a positive duration such as 2s, or 0 to never reload\n"},
		{"timeout", nil, []string{"tasks", "list", "--timeout=-1s"}, "tend tasks list: --timeout -1s: want a positive duration such as 30s\n"},
		{"tls cert from the environment", map[string]string{"TEMPORAL_TLS_CERT": "cert.pem"}, []string{"runs", "list"}, "tend runs list: --tls-cert needs --tls-key\n"},
		{"tls key", nil, []string{"event", "send", "--tls-key", "key.pem", "--customer", "a", "--type", "x"}, "tend event send: --tls-key needs --tls-cert\n"},
		{"task id", nil, []string{"tasks", "complete", "nope"}, `tend tasks complete: task id "nope": too few parts; want <playbook>/<customer>/<n>/<step>/<occurrence>, as tend tasks list shows` + "\n"},
		{"simulate flags", nil, []string{"simulate", "--scenario", "s.yaml", "--start", "2026-01-01"}, "tend simulate: --start cannot be combined with --scenario: the scenario sets its start\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := mustRun(t, exitUsage, tt.args...)
			if r.stderr != tt.want || r.stdout != "" {
				t.Errorf("stderr = %q, want %q; stdout %q", r.stderr, tt.want, r.stdout)
			}
		})
	}
}

func TestPlaybookFlagsLoad(t *testing.T) {
	set, err := playbookFlags{Playbooks: shippedPlaybooks}.load()
	if err != nil || set == nil || len(set.Playbooks) == 0 {
		t.Fatalf("load(%s) = %v, %v", shippedPlaybooks, set, err)
	}

	_, err = playbookFlags{Playbooks: invalidSet}.load()
	var le *listError
	if exitCode(err) != exitUsage || !errors.As(err, &le) || len(le.errs) != 9 {
		t.Errorf("load(%s): exit %d, %v", invalidSet, exitCode(err), err)
	}
	var out strings.Builder
	report(&out, "tend event send", err)
	contains(t, "report", out.String(), "testdata/invalid/welcome.yaml:12:15: ",
		"tend event send: the playbooks in testdata/invalid have 9 errors; check them with tend validate testdata/invalid\n")

	missing := filepath.Join(t.TempDir(), "none")
	_, err = playbookFlags{Playbooks: missing}.load()
	if exitCode(err) != exitUsage || err.Error() != "cannot read "+missing+": no such file or directory" {
		t.Errorf("load(missing): exit %d, %v", exitCode(err), err)
	}

	r := mustRun(t, exitOK, "event", "send", "--help")
	contains(t, "stdout", r.stdout, `--playbooks=DIR`, `--config="tend.yaml"`, "$TEND_CONFIG")
}
