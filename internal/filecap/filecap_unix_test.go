//go:build unix

package filecap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRead: a small regular file is read; a sparse 2 GiB file, a named
// pipe with no writer and a directory are refused at once, without
// reading (a read of the pipe would block forever, which the test's
// deadline would show).
func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 2<<30); err != nil { // sparse: no disk, no memory
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}

	if data, err := Read(small, 5); err != nil || string(data) != "hello" {
		t.Errorf("small: %q, %v", data, err)
	}
	if data, err := Read(link, 5); err != nil || string(data) != "hello" {
		t.Errorf("a link to a regular file: %q, %v", data, err)
	}
	cases := []struct {
		path, want string
		tooLarge   bool
	}{
		{small, small + " is 5 bytes; the limit is 4 bytes", true},
		{big, big + " is 2147483648 bytes; the limit is 1048576 bytes (1 MiB)", true},
		{fifo, fifo + " is a named pipe (FIFO), not a regular file", false},
		{dir, dir + " is a directory, not a regular file", false},
	}
	for _, c := range cases {
		limit := int64(1 << 20)
		if c.path == small {
			limit = 4
		}
		data, err := Read(c.path, limit)
		if err == nil || err.Error() != c.want || !IsRefused(err) {
			t.Errorf("%s: %d bytes, error %v; want %q", c.path, len(data), err, c.want)
		}
		var tl *TooLargeError
		if errors.As(err, &tl) != c.tooLarge {
			t.Errorf("%s: TooLargeError %v, want %v", c.path, !c.tooLarge, c.tooLarge)
		}
	}
	if _, err := Read(filepath.Join(dir, "nope.yaml"), 10); !errors.Is(err, os.ErrNotExist) || IsRefused(err) {
		t.Errorf("missing file: %v", err)
	}
	if !strings.Contains((&NotRegularError{Path: "x", Mode: os.ModeSocket}).Error(), "a socket") {
		t.Error("a socket is not named")
	}
}
