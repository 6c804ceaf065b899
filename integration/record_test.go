package integration

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tend-cs/tend/workflows"
)

var record = flag.Bool("record", false, "write the histories of the integration runs to workflows/testdata/replay, for the replay test")

// recordHistories writes workflow histories as JSON when -record is set:
// they become the recorded histories every later release must replay.
func recordHistories(t *testing.T, ids ...string) {
	if !*record {
		return
	}
	for _, id := range ids {
		var h historypb.History
		it := env.cl.GetWorkflowHistory(ctx(t), workflows.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, ev)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.NewReplacer("/", "-").Replace(id) + ".json"
		path := filepath.Join("..", "workflows", "testdata", "replay", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s", path)
	}
}

var _ = flag.Bool
