package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
)

func TestCheckCustomerID(t *testing.T) {
	tests := []struct {
		id, err string
	}{
		{"acme", ""},
		{"zoë", ""},
		{"株式会社", ""},
		{"eu/acme corp", ""},
		{strings.Repeat("é", 100), ""}, // 200 bytes
		{"", "missing customer id"},
		{"   ", "only white space"},
		{strings.Repeat("é", 100) + "x", "201 bytes; at most 200"},
		{"ac\x00me", "control or unprintable character (U+0000)"},
		{"line\nbreak", "control or unprintable character (U+000A)"},
		{"bad\xffutf8", "not valid UTF-8"},
		{"zero\u200bwidth", "unprintable character (U+200B)"},
		{"line\u2028separator", "unprintable character (U+2028)"},
		{" lead", "starts or ends with white space"},
		{"bad\ufffdutf", "U+FFFD at byte 3"},
	}
	for _, tt := range tests {
		err := engine.CheckCustomerID(tt.id)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.id, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: %v, want %q", tt.id, err, tt.err)
		}
	}
}

func TestParseEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), ""},
		{"2026-01-31T09:00:00+02:00", time.Date(2026, 1, 31, 7, 0, 0, 0, time.UTC), ""},
		{"2200-12-31T23:59:59Z", time.Date(2200, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"2201-01-01", time.Time{}, "year 2201"},
		{"9999-01-01T00:00:00Z", time.Time{}, "year 9999"},
		{"31/01/2026", time.Time{}, "is not a time"},
		{"", time.Time{}, "is not a time"},
	}
	for _, tt := range tests {
		got, err := engine.ParseEventTime(tt.in)
		switch {
		case tt.err == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("%q: %v %v, want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: %v, want %q", tt.in, err, tt.err)
		}
	}
}

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
		a := j.Apply(set, now, &engine.Event{ID: "e" + k, Type: "customer.updated", Attributes: map[string]any{k: big}})
		if a.Rejected != "" {
			t.Fatalf("event %d rejected: %s", i, a.Rejected)
		}
	}
	a := j.Apply(set, now, &engine.Event{ID: "third", Type: "customer.updated", Attributes: map[string]any{"manager": big}})
	if !strings.Contains(a.Rejected, "would be 307245 bytes (300.0 KiB)") || !strings.Contains(a.Rejected, "at most 256 KiB") {
		t.Fatalf("third: %q", a.Rejected)
	}
	if _, ok := j.Attrs["manager"]; ok {
		t.Error("rejected attribute applied")
	}
	// Shrinking, and then the same id again, works.
	if a := j.Apply(set, now, &engine.Event{ID: "shrink", Type: "customer.updated", Attributes: map[string]any{"name": nil}}); a.Rejected != "" {
		t.Fatal(a.Rejected)
	}
	if a := j.Apply(set, now, &engine.Event{ID: "third", Type: "customer.updated", Attributes: map[string]any{"manager": big}}); a.Rejected != "" || a.Duplicate {
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
