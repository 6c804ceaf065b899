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

	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/workflows"
)

var (
	record    = flag.Bool("record", false, "add the histories of the integration runs to workflows/testdata/replay, for the replay test")
	overwrite = flag.Bool("record-overwrite", false, "with -record, replace histories already in the corpus (only before a release: they stand for runs in flight)")
)

// replayDir is the replay corpus: histories every later build must replay.
var replayDir = filepath.Join("..", "workflows", "testdata", "replay")

// recordHistories adds workflow histories as JSON to the replay corpus when
// -record is set, with the playbook sets they name. The corpus
// accumulates: a history already there is kept, since it stands for
// workflows recorded by an earlier build.
func recordHistories(t *testing.T, ids ...string) {
	recordHistoriesAs(t, "", ids...)
}

// recordHistoriesAs is recordHistories for workflows run with non-default
// workflows.Options: suffix (such as ".limit-25") goes before .json, and
// the replay test reads the options back from it.
func recordHistoriesAs(t *testing.T, suffix string, ids ...string) {
	if !*record {
		return
	}
	for _, dir := range []string{"testdata/playbooks", "testdata/corpus"} {
		recordSet(t, dir)
	}
	for _, id := range ids {
		name := strings.NewReplacer("/", "-").Replace(id) + suffix + ".json"
		path := filepath.Join(replayDir, name)
		if _, err := os.Stat(path); err == nil && !*overwrite {
			t.Logf("kept %s", path)
			continue
		}
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
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s", path)
	}
}

// recordSet puts a playbook directory's set in the corpus's store.
func recordSet(t *testing.T, dir string) {
	groups, err := load.Files([]string{dir})
	if err != nil || len(groups) != 1 {
		t.Fatalf("load %s: %v", dir, err)
	}
	b, _, errs := workflows.NewBundle(groups[0].Files)
	if len(errs) > 0 {
		t.Fatalf("load %s: %v", dir, errs)
	}
	if err := (workflows.DirStore{Dir: filepath.Join(replayDir, "sets")}).Put(b); err != nil {
		t.Fatal(err)
	}
}
