package workflows

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// The histories in testdata/replay were recorded from the integration tests
// against the embedded server (go test ./integration -record). Every later
// build must replay them: a change to workflow code that would break runs
// in flight fails here. testdata/replay/incompatible holds histories that
// must not replay, so the check itself is shown to work: one was recorded
// when a customer-facing message asked the journey for its contact-policy
// slot even without a weekly cap, which the run now computes itself.
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
				New(NewPlaybooks(Bundle{}), Options{}).Register(r)
				logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
				err := r.ReplayWorkflowHistoryFromJSONFile(logger, f)
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
