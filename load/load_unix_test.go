//go:build unix

package load_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tend-cs/tend/load"
)

// TestRefusedFiles: a named pipe called x.yaml and a sparse 2 GiB playbook
// are refused by name, unread, and make the set invalid; the rest is
// still read and checked.
func TestRefusedFiles(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(root, "playbooks", "schema.yaml"), filepath.Join(dir, "schema.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("playbook: bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "templates", "huge.md")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 2<<30); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "pipe.yaml")} {
		groups, err := load.Files([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		set, errs := groups[0].Load()
		if set != nil {
			t.Fatalf("%s: a set with refused files loaded", path)
		}
		got := errs.Error()
		for _, want := range []string{
			dir + "/pipe.yaml: not a regular file but a named pipe (FIFO); skipped",
			dir + "/templates/huge.md:1:1: file is 2147483648 bytes; the limit is 1048576 (1 MiB)",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: errors do not contain %q:\n%s", path, want, got)
			}
		}
		if path == dir && !strings.Contains(got, dir+"/bad.yaml:1:1: playbook bad: missing key trigger") {
			t.Errorf("the readable files were not checked:\n%s", got)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
