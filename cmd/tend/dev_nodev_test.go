//go:build nodev

package main

import (
	"strings"
	"testing"
)

func TestDevNodev(t *testing.T) {
	for _, args := range [][]string{{"dev"}, {"dev", "--port", "7233", "--dir", ".tend"}} {
		r := mustRun(t, exitInvalid, args...)
		if want := "tend dev: this build of tend has no embedded dev server (built with -tags nodev); use a full build"; !strings.HasPrefix(r.stderr, want) {
			t.Errorf("tend %s: stderr = %q, want prefix %q", strings.Join(args, " "), r.stderr, want)
		}
	}
}

// tend --help of a nodev build does not offer tend dev, which it cannot
// run; tend dev --help still says why.
func TestHelpNodev(t *testing.T) {
	r := mustRun(t, exitOK, "--help")
	contains(t, "tend --help", r.stdout, "\n  worker ")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "dev ") || strings.Contains(line, "Temporal, its Web UI") {
			t.Errorf("tend --help lists tend dev: %q", line)
		}
	}
	r = mustRun(t, exitOK, "dev", "--help")
	contains(t, "tend dev --help", r.stdout, "no embedded dev server")
}
