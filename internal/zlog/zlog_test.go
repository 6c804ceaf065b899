package zlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/log"
)

func entries(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLevelsAndFields(t *testing.T) {
	var buf bytes.Buffer
	l := SDK(zerolog.New(&buf).Level(zerolog.DebugLevel))
	l.Debug("d", "WorkflowID", "customer/acme", "Attempt", 2)
	l.Info("i")
	l.Warn("w", "Error", errors.New("boom"))
	l.Error("e", "ok", true)
	got := entries(t, &buf)
	want := []map[string]any{
		{"level": "debug", "message": "d", "WorkflowID": "customer/acme", "Attempt": float64(2)},
		{"level": "info", "message": "i"},
		{"level": "warn", "message": "w", "Error": "boom"},
		{"level": "error", "message": "e", "ok": true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("entry %d = %v, want %v", i, got[i], want[i])
		}
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("entry %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
	}
}

func TestLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	l := SDK(zerolog.New(&buf).Level(zerolog.WarnLevel))
	l.Debug("hidden")
	l.Info("hidden")
	l.Warn("shown")
	if n := strings.Count(buf.String(), "\n"); n != 1 || strings.Contains(buf.String(), "hidden") {
		t.Errorf("want only the warning, got:\n%s", buf.String())
	}
}

func TestWith(t *testing.T) {
	var buf bytes.Buffer
	base := SDK(zerolog.New(&buf))
	wl, ok := base.(log.WithLogger)
	if !ok {
		t.Fatal("the adapter does not implement log.WithLogger")
	}
	child := wl.With("Namespace", "default")
	child.Info("a", "x", 1)
	base.Info("b")
	got := entries(t, &buf)
	if got[0]["Namespace"] != "default" || got[0]["x"] != float64(1) {
		t.Errorf("child entry = %v", got[0])
	}
	if _, ok := got[1]["Namespace"]; ok {
		t.Errorf("With changed the parent logger: %v", got[1])
	}
	// A child of a child keeps both sets of fields.
	buf.Reset()
	child.(log.WithLogger).With("TaskQueue", "tend").Info("c")
	got = entries(t, &buf)
	if got[0]["Namespace"] != "default" || got[0]["TaskQueue"] != "tend" {
		t.Errorf("grandchild entry = %v", got[0])
	}
}

func TestBadKeyvals(t *testing.T) {
	tests := []struct {
		name string
		kv   []any
		want map[string]any
	}{
		{"odd count keeps the lone key", []any{"a", 1, "lonely"}, map[string]any{"a": float64(1), BadKey: "lonely"}},
		{"non-string key is a value", []any{42, "a", 1}, map[string]any{BadKey: float64(42), "a": float64(1)}},
		{"nil key", []any{nil}, map[string]any{BadKey: nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			SDK(zerolog.New(&buf)).Info("m", tt.kv...)
			got := entries(t, &buf)[0]
			delete(got, "level")
			delete(got, "message")
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if gv, ok := got[k]; !ok || gv != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, gv, v, got)
				}
			}
		})
	}
}
