package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
)

// TestRunsKeepTheirVersion edits the playbooks under a running worker: a
// broken edit is refused and the last good set stays; a good edit is
// picked up by new runs, while the run in flight keeps its version to the
// end (docs/guarantees.md, Playbook versions and pinning).
func TestRunsKeepTheirVersion(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"schema.yaml", "onboarding.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "playbooks", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := startNodeIn(t, dir)
	defer n.Stop()
	v1 := n.Version()

	send(t, signup("pinned", time.Now())...)
	old := engine.RunID("onboarding", "pinned", 1)
	task := waitTask(t, old, "kickoff")

	pb := filepath.Join(dir, "onboarding.yaml")
	orig, _ := os.ReadFile(pb)
	if err := os.WriteFile(pb, append(bytes.Clone(orig), []byte("  - id: bad\n    do: emial\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Reload()
	if n.Version() != v1 {
		t.Fatalf("a broken set replaced the good one: version %s, want %s", n.Version(), v1)
	}
	edited := bytes.Replace(orig, []byte(`"You're live, {{ customer.name }}"`), []byte(`"Live now: {{ customer.name }}"`), 1)
	if bytes.Equal(edited, orig) {
		t.Fatal("the edit changed nothing; the test would prove nothing")
	}
	if err := os.WriteFile(pb, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	n.Reload()
	v2 := n.Version()
	if v2 == v1 {
		t.Fatal("a good edit was not picked up")
	}

	if res := finish(t, "pinned", old, task); res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	if subj := subject(t, "onboarding+pinned+1+live+1.eml"); subj != "You're live, Pinned" {
		t.Errorf("the run in flight sent %q; it must keep its version's subject", subj)
	}
	send(t, signup("fresh", time.Now())...)
	fresh := engine.RunID("onboarding", "fresh", 1)
	if res := finish(t, "fresh", fresh, waitTask(t, fresh, "kickoff")); res.Status != engine.StatusCompleted {
		t.Fatalf("run ended %s: %s", res.Status, res.Reason)
	}
	if subj := subject(t, "onboarding+fresh+1+live+1.eml"); subj != "Live now: Fresh" {
		t.Errorf("the new run sent %q; it must use the edited playbook", subj)
	}
	vOld, _ := runView(t, old)
	vNew, _ := runView(t, fresh)
	if vOld.State.Version == vNew.State.Version {
		t.Errorf("both runs report playbook version %s", vOld.State.Version)
	}
}

// subject reads the Subject header of an outbox message.
func subject(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.outbox, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: "); ok {
			return s
		}
	}
	t.Fatalf("%s has no Subject header", name)
	return ""
}
