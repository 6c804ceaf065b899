//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestNamedPipesNeverHang: a named pipe where tend reads a whole file (a
// playbook, tend.yaml, a scenario) is refused by name at once; reading it
// would block until the test's deadline.
func TestNamedPipesNeverHang(t *testing.T) {
	set := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook})
	pipe := filepath.Join(set, "x.yaml")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	other := t.TempDir()
	cfgPipe, scenarioPipe := filepath.Join(other, "tend.yaml"), filepath.Join(other, "scenario.yaml")
	for _, p := range []string{cfgPipe, scenarioPipe} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook})
	r := mustRun(t, exitInvalid, "validate", set)
	contains(t, "stdout", r.stdout, pipe+": not a regular file but a named pipe (FIFO); skipped\n")
	r = mustRun(t, exitUsage, "validate", "--config", cfgPipe, good)
	contains(t, "stderr", r.stderr, cfgPipe+" is a named pipe (FIFO), not a regular file")
	r = mustRun(t, exitUsage, "simulate", "--scenario", scenarioPipe, good)
	contains(t, "stderr", r.stderr, scenarioPipe+" is a named pipe (FIFO), not a regular file")
	r = mustRun(t, exitUsage, "worker", "--config", cfgPipe, "--playbooks", good)
	contains(t, "stderr", r.stderr, cfgPipe+" is a named pipe (FIFO), not a regular file")
}
