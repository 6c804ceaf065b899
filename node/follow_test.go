package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tend-cs/tend/workflows"
)

// TestFollowStore: a worker in FollowAuto follows its directory until a
// set is published to the store, then the store's active set only; a
// pointer naming a set that is missing or does not compile keeps the last
// good set, says why once in the log and in SetError, and a good pointer
// after it is followed again.
func TestFollowStore(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	published := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML, "later.yaml": laterYAML})
	store := workflows.DirStore{Dir: t.TempDir()}
	log, logs := newLog()
	n := startNode(t, Options{Playbooks: dir, Logger: log, Reload: -1, Store: store, Follow: FollowAuto})
	fromDir := n.Version()
	if !strings.HasPrefix(n.Following(), "playbooks directory "+dir+", until") {
		t.Fatalf("following %q before anything is published", n.Following())
	}

	pub, _, errs, err := ReadBundle(published, nil)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	broken := workflows.Bundle{Version: "dddddddddddd", Files: []workflows.BundleFile{
		{Path: "schema.yaml", Text: schemaYAML}, {Path: "welcome.yaml", Text: badWelcomeYAML}}}
	for _, b := range []workflows.Bundle{pub, broken} {
		if err := store.Put(b); err != nil {
			t.Fatal(err)
		}
	}
	point := func(v string) {
		t.Helper()
		// Written by hand, so that a pointer to a missing set can be made.
		if err := os.WriteFile(filepath.Join(store.Dir, "active"), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		name    string
		do      func()
		version string
		setErr  string // a part of SetError; "" for none
		logged  string // logged exactly once over the step's two reloads
	}{
		{"published", func() { point(pub.Version) }, pub.Version, "", "a playbook set was published to the store"},
		{"directory edited", func() {
			writeFiles(t, dir, map[string]string{"welcome.yaml": strings.Replace(welcomeYAML, "Welcome", "Hello", 1)})
		}, pub.Version, "", ""},
		{"missing set", func() { point("cccccccccccc") }, pub.Version, "the active playbook set cccccccccccc cannot be read: playbook set not found in " + store.Dir, "keeping the last good playbook set"},
		{"back to the set in use", func() { point(pub.Version) }, pub.Version, "", "the active playbook set is the one in use again"},
		{"set that does not compile", func() { point(broken.Version) }, pub.Version, "playbook set dddddddddddd no longer compiles", "keeping the last good playbook set"},
		{"good again", func() { point(pub.Version) }, pub.Version, "", "the active playbook set is the one in use again"},
	}
	for _, st := range steps {
		start := len(logs.String())
		st.do()
		n.Reload()
		n.Reload()
		logged := logs.String()[start:]
		if n.Version() != st.version || n.pb.Current().Version != st.version {
			t.Errorf("%s: node on %s, workflows on %s; want %s (the directory's was %s)", st.name, n.Version(), n.pb.Current().Version, st.version, fromDir)
		}
		if got := n.SetError(); st.setErr == "" && got != "" || !strings.Contains(got, st.setErr) {
			t.Errorf("%s: SetError() = %q, want %q", st.name, got, st.setErr)
		}
		if st.logged != "" && strings.Count(logged, st.logged) != 1 {
			t.Errorf("%s: %q logged %d times, want once:\n%s", st.name, st.logged, strings.Count(logged, st.logged), logged)
		}
	}
	if !strings.HasPrefix(n.Following(), "the active set of store ") {
		t.Errorf("following %q after a publish", n.Following())
	}
	if got := len(n.Set().Playbooks); got != 2 {
		t.Errorf("the node's set has %d playbooks, want the published set's 2", got)
	}
}

// TestFollowStoreNothingActive: a worker told to follow the store does
// not start while nothing is published to it, and says how to publish.
func TestFollowStoreNothingActive(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": schemaYAML, "welcome.yaml": welcomeYAML})
	store := workflows.DirStore{Dir: t.TempDir()}
	log, _ := newLog()
	_, err := Start(Options{Playbooks: dir, Logger: log, Reload: -1, Store: store, Follow: FollowStore})
	if !errors.Is(err, errNoActive) || !strings.Contains(err.Error(), "tend publish --store "+store.Dir) {
		t.Fatalf("Start: %v; want no active set, with how to publish one", err)
	}
}
