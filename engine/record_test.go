package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// The record cap: an event that would grow the record past MaxRecordBytes
// is rejected and not marked as seen; one that shrinks it is applied.
func TestJourneyRecordCap(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps: [{do: email, subject: hi, body: hello}]
`)
	j := engine.NewJourney("acme", nil)
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	big := strings.Repeat("x", 100<<10)
	for i, k := range []string{"name", "csm"} {
		a := j.Apply(set, now, &lang.Event{ID: "e" + k, Type: "customer.updated", Attributes: map[string]any{k: big}})
		if a.Rejected != "" {
			t.Fatalf("event %d rejected: %s", i, a.Rejected)
		}
	}
	a := j.Apply(set, now, &lang.Event{ID: "third", Type: "customer.updated", Attributes: map[string]any{"manager": big}})
	if !strings.Contains(a.Rejected, "would be 307245 bytes (300.0 KiB)") || !strings.Contains(a.Rejected, "at most 256 KiB") {
		t.Fatalf("third: %q", a.Rejected)
	}
	if _, ok := j.Attrs["manager"]; ok {
		t.Error("rejected attribute applied")
	}
	// Shrinking, and then the same id again, works.
	if a := j.Apply(set, now, &lang.Event{ID: "shrink", Type: "customer.updated", Attributes: map[string]any{"name": nil}}); a.Rejected != "" {
		t.Fatal(a.Rejected)
	}
	if a := j.Apply(set, now, &lang.Event{ID: "third", Type: "customer.updated", Attributes: map[string]any{"manager": big}}); a.Rejected != "" || a.Duplicate {
		t.Fatalf("retry of the rejected id: %+v", a)
	}
}

func TestAttrDiff(t *testing.T) {
	before := map[string]any{"a": 1, "b": "x", "gone": true, "list": []string{"p"}}
	after := map[string]any{"a": 2, "b": "x", "new": 3.5, "list": []string{"p"}}
	d := engine.Diff(before, after)
	if len(d.Changed) != 2 || d.Changed["a"] != 1 || d.Changed["gone"] != true || len(d.Added) != 1 || d.Added[0] != "new" {
		t.Fatalf("diff %+v", d)
	}
	got := d.Before(after)
	if len(got) != len(before) || got["a"] != 1 || got["gone"] != true || got["b"] != "x" {
		t.Errorf("before rebuilt as %v, want %v", got, before)
	}
	if _, ok := got["new"]; ok {
		t.Error("added key kept")
	}
	if e := engine.Diff(after, after); len(e.Changed)+len(e.Added) != 0 {
		t.Errorf("no change gives %+v", e)
	}
}
