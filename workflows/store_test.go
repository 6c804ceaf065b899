package workflows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The active pointer names a set the store holds, and is replaced by a
// rename: a reader sees the old version or the new one, never a half
// written file, and no temporary file is left behind.
func TestDirStoreActive(t *testing.T) {
	s := DirStore{Dir: t.TempDir()}
	if v, err := s.Active(); v != "" || err != nil {
		t.Fatalf("empty store: Active() = %q, %v; want none", v, err)
	}
	if err := s.Activate("aaaaaaaaaaaa"); !errors.Is(err, ErrSetNotFound) {
		t.Fatalf("activating a set the store lacks: %v; want ErrSetNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, activeFile)); !os.IsNotExist(err) {
		t.Fatalf("a refused activation wrote the pointer: %v", err)
	}
	versions := []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb"}
	for _, v := range versions {
		if err := s.Put(Bundle{Version: v, Files: []BundleFile{{Path: "schema.yaml", Text: strings.Repeat("x", 1<<16)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Activate(versions[0]); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir, activeFile)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate(versions[1]); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("the pointer was rewritten in place; it must be replaced by a rename")
	}

	// Readers while it flips: every read is one of the two versions.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			v, err := s.Active()
			if err != nil || (v != versions[0] && v != versions[1]) {
				select {
				case bad <- v + " " + errString(err):
				default:
				}
				return
			}
		}
	}()
	for i := range 500 {
		if err := s.Activate(versions[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case b := <-bad:
		t.Errorf("a reader saw %q while the pointer was replaced", b)
	default:
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name != activeFile && !strings.HasSuffix(name, ".json") {
			t.Errorf("left behind: %s", name)
		}
	}
	if v, err := s.Active(); v != versions[1] || err != nil {
		t.Errorf("Active() = %q, %v; want %s", v, err, versions[1])
	}

	// A pointer that names no version is an error naming the file.
	if err := os.WriteFile(p, []byte("../../etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active(); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("a pointer naming a path: %v; want an error naming %s", err, p)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ActivateFrom replaces the pointer only if it still names the version
// the caller checked against: of concurrent publishes from one active
// set, exactly one wins and the others are told, not silently undone.
func TestActivateFrom(t *testing.T) {
	s := DirStore{Dir: t.TempDir()}
	versions := []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd", "eeeeeeeeeeee"}
	for _, v := range versions {
		if err := s.Put(Bundle{Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ActivateFrom("", versions[0]); err != nil {
		t.Fatalf("first activation: %v", err)
	}
	err := s.ActivateFrom("", versions[1])
	if !errors.Is(err, ErrActiveChanged) || !strings.Contains(err.Error(), "from none to "+versions[0]) {
		t.Fatalf("activation against a stale pointer: %v; want ErrActiveChanged naming none and %s", err, versions[0])
	}
	if v, _ := s.Active(); v != versions[0] {
		t.Fatalf("a refused activation moved the pointer to %s", v)
	}

	var wg sync.WaitGroup
	won := make(chan string, len(versions))
	for _, v := range versions[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := s.ActivateFrom(versions[0], v); {
			case err == nil:
				won <- v
			case !errors.Is(err, ErrActiveChanged):
				t.Errorf("activate %s: %v", v, err)
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for v := range won {
		winners = append(winners, v)
	}
	if len(winners) != 1 {
		t.Fatalf("%d activations from %s succeeded (%v); want exactly one", len(winners), versions[0], winners)
	}
	if v, _ := s.Active(); v != winners[0] {
		t.Fatalf("active is %s; want the winner %s", v, winners[0])
	}
	// A publish of the set that won meanwhile has what it asked for.
	if err := s.ActivateFrom(versions[0], winners[0]); err != nil {
		t.Errorf("activating the set that is active already: %v; want success", err)
	}
}
