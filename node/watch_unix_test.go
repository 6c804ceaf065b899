//go:build unix

package node

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReloadRefusesPipesAndHugeFiles: a named pipe or a sparse 2 GiB file
// dropped into a live playbook directory is refused unread at the next
// reload (which must not hang), logged once by name, and the last good
// set stays.
func TestReloadRefusesPipesAndHugeFiles(t *testing.T) {
	for _, c := range []struct {
		name, want string
		make       func(path string) error
	}{
		{"pipe", "x.yaml: not a regular file but a named pipe (FIFO); skipped", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"huge", "x.yaml:1:1: file is 2147483648 bytes; the limit is 1048576 (1 MiB)", func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(p, 2<<30)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
			log, logs := newLog()
			w, err := Watch(dir, -1, log, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			good := w.Bundle().Version
			if err := c.make(filepath.Join(dir, "x.yaml")); err != nil {
				t.Skipf("%s: %v", c.name, err)
			}
			w.Reload()
			w.Reload()
			if w.Bundle().Version != good {
				t.Errorf("version %s, want the last good set %s", w.Bundle().Version, good)
			}
			if n := strings.Count(logs.String(), c.want); n != 1 {
				t.Errorf("logged %q %d times, want once:\n%s", c.want, n, logs)
			}
			if !strings.Contains(logs.String(), "keeping the last good set") {
				t.Errorf("log:\n%s", logs)
			}
		})
	}
}
