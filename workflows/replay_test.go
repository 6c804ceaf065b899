package workflows

import (
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// The histories in testdata/replay were recorded from the integration tests
// against the embedded server (go test ./integration -args -record), one
// journey and one run per step kind and per protocol message, with the
// playbook sets they name in testdata/replay/sets. The corpus accumulates:
// recording adds histories and keeps those there. Every later build must
// replay them all: a change to workflow code that would break runs in
// flight fails here, and must use workflow.GetVersion instead.
// testdata/replay/incompatible holds histories that must not replay, so the
// check itself is shown to work: a notify run whose history schedules a
// Webhook activity where the code schedules Notify.
func TestReplayRecordedHistories(t *testing.T) {
	tests := []struct {
		glob     string
		mustFail bool
	}{
		{"testdata/replay/*.json", false},
		{"testdata/replay/incompatible/*.json", true},
	}
	for _, tt := range tests {
		files, err := filepath.Glob(tt.glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("no histories match %s", tt.glob)
		}
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				r := worker.NewWorkflowReplayer()
				pb, err := NewPlaybooks(Bundle{}).WithStore(DirStore{Dir: "testdata/replay/sets"})
				if err != nil {
					t.Fatal(err)
				}
				// A history recorded with a smaller HistoryLimit says so
				// in its name (.limit-25.json): continuing as new is part
				// of what must replay.
				var opts Options
				if _, after, ok := strings.Cut(filepath.Base(f), ".limit-"); ok {
					opts.HistoryLimit, _ = strconv.Atoi(strings.TrimSuffix(after, ".json"))
				}
				New(pb, opts).Register(r)
				logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
				err = r.ReplayWorkflowHistoryFromJSONFile(logger, f)
				switch {
				case tt.mustFail && err == nil:
					t.Fatal("replay succeeded; this history must be rejected as incompatible")
				case tt.mustFail && !strings.Contains(err.Error(), "nondeterministic"):
					t.Fatalf("replay failed, but not for nondeterminism: %v", err)
				case !tt.mustFail && err != nil:
					t.Fatalf("replay: %v", err)
				}
			})
		}
	}
}

// Workflow ids are printable ASCII, and map back to the ids as given.
func TestWorkflowID(t *testing.T) {
	for _, tt := range []struct{ id, want string }{
		{"customer/acme", "customer/acme"},
		{"customer/zoë", "customer/zo%C3%AB"},
		{"run/p/100%/1", "run/p/100%25/1"},
		{"customer/株式会社", "customer/%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE"},
		{"customer/a b", "customer/a b"},
	} {
		got := WorkflowID(tt.id)
		if got != tt.want {
			t.Errorf("WorkflowID(%q) = %q, want %q", tt.id, got, tt.want)
		}
		if back := IDOf(got); back != tt.id {
			t.Errorf("IDOf(%q) = %q, want %q", got, back, tt.id)
		}
	}
}
