package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tend publish checks a set with tend validate's code before anything
// else: an invalid set prints exactly the lines validate prints, exits 1
// and writes nothing, without Temporal (none runs here).
func TestPublishInvalidSet(t *testing.T) {
	store := filepath.Join(t.TempDir(), "sets")
	invalid, err := filepath.Abs(invalidSet)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no tend.yaml
	v := mustRun(t, exitInvalid, "validate", invalid)
	p := mustRun(t, exitInvalid, "publish", "--store", store, "--address", "127.0.0.1:1", invalid)
	if p.stdout != v.stdout || v.stdout == "" {
		t.Errorf("publish printed\n%s\nvalidate printed\n%s", p.stdout, v.stdout)
	}
	if !strings.HasPrefix(p.stderr, v.stderr) || !strings.Contains(p.stderr, "tend publish: the playbooks in "+invalid+" are invalid; nothing was published") {
		t.Errorf("stderr:\n%s", p.stderr)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("an invalid set created the store: %v", err)
	}
}

// The set's chat channels and endpoints are checked against tend.yaml, as
// tend validate --config and the workers do.
func TestPublishChecksTargets(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"tend.yaml":             "chat: {channels: {cs-alerts: {webhook: https://hooks.example/x}}}\n",
		"playbooks/schema.yaml": tinySchema,
		"playbooks/hello.yaml":  tinyPlaybook,
		"playbooks/notify.yaml": "playbook: notify\ntrigger: {on: [contract.signed]}\nsteps:\n  - {id: ping, do: notify, channel: cs-alrets, text: hi}\n",
	})
	cfg := filepath.Join(dir, "tend.yaml")
	v := mustRun(t, exitInvalid, "validate", "--config", cfg, filepath.Join(dir, "playbooks"))
	p := mustRun(t, exitInvalid, "publish", "--config", cfg, "--store", filepath.Join(dir, "sets"), "--address", "127.0.0.1:1", filepath.Join(dir, "playbooks"))
	if p.stdout != v.stdout || !strings.Contains(v.stdout, "cs-alrets") {
		t.Errorf("publish printed\n%s\nvalidate --config printed\n%s", p.stdout, v.stdout)
	}
}

func TestPublishUsageAndUnreachable(t *testing.T) {
	valid := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook})
	store := filepath.Join(t.TempDir(), "sets")
	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, []byte("not a store\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no tend.yaml
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"replay 0", []string{"--replay", "0"}, exitUsage, "--replay 0: want a positive number"},
		{"empty store", []string{"--store", ""}, exitUsage, "--store is empty"},
		{"store is a file", []string{"--store", file, "--address", "127.0.0.1:1"}, exitUsage,
			"tend publish: --store " + file + " is not a directory; give the directory of playbook sets every worker shares"},
		{"store under a file", []string{"--store", filepath.Join(file, "sets"), "--address", "127.0.0.1:1"}, exitUsage,
			"tend publish: --store " + filepath.Join(file, "sets") + ": cannot read it: not a directory"},
		{"unreachable", []string{"--address", "127.0.0.1:1", "--timeout", "2s"}, exitUnreachable, "cannot reach Temporal at 127.0.0.1:1"},
		{"unreachable dry run", []string{"--dry-run", "--address", "127.0.0.1:1", "--timeout", "2s"}, exitUnreachable, "cannot reach Temporal at 127.0.0.1:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"publish", "--store", store}, tt.args...)
			r := mustRun(t, tt.code, append(args, valid)...)
			contains(t, "stderr", r.stderr, tt.stderr)
			if _, err := os.Stat(store); !os.IsNotExist(err) {
				t.Errorf("the store was created: %v", err)
			}
		})
	}
}

// A worker told to follow the store does not start while nothing was
// published to it, and says how to publish; it does not dial Temporal.
func TestWorkerFollowStoreNothingActive(t *testing.T) {
	store := filepath.Join(t.TempDir(), "sets")
	t.Chdir(t.TempDir()) // no tend.yaml
	r := mustRun(t, exitInvalid, "worker", "--follow", "store", "--store", store, "--address", "127.0.0.1:1")
	contains(t, "stderr", r.stderr, "--follow store: no playbook set is active in store "+store+"; publish one with tend publish --store "+store)
}

// With --format json, an invalid set is printed as tend validate
// --format json prints it.
func TestPublishInvalidSetJSON(t *testing.T) {
	invalid, err := filepath.Abs(invalidSet)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no tend.yaml
	v := mustRun(t, exitInvalid, "validate", "--format", "json", invalid)
	p := mustRun(t, exitInvalid, "publish", "--format", "json", "--store", filepath.Join(t.TempDir(), "sets"), invalid)
	if p.stdout != v.stdout || !strings.Contains(v.stdout, `"valid": false`) {
		t.Errorf("publish printed\n%s\nvalidate printed\n%s", p.stdout, v.stdout)
	}
}
