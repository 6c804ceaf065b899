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
