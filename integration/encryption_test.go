package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// told are the values customers' records and events told us, each
// distinctive enough that finding it anywhere means it leaked.
var told = []string{
	"Quokkaberg Holdings",              // name: email subject, call title, summaries, webhook body
	"wilhelmina@quokkaberg.example",    // contact address: email recipient and summary
	"ottoline.csm@vendor.example",      // csm, the owner: TendOwner, task owner, slot booking, current details
	"prefers zeppelin deliveries",      // free text: email body, webhook body
	"platinum-narwhal",                 // event data
	"Wilhelmina Quokka-Zed no at sign", // a bad address: the failure message names it
}

// TestNothingReadableAtRest runs customers through the real client, worker
// and activities against the embedded server, then looks for every value
// they told us in the raw SQLite files and in what the history API returns
// to a client without the key. With a codec, none may appear; without one,
// every one does, which shows the search would find them.
func TestNothingReadableAtRest(t *testing.T) {
	for _, tt := range []struct {
		name  string
		codec bool
	}{{"codec", true}, {"no codec, the values are found", false}} {
		t.Run(tt.name, func(t *testing.T) {
			found := atRest(t, tt.codec)
			if tt.codec {
				for _, f := range found {
					t.Errorf("readable with a codec configured: %s", f)
				}
				return
			}
			for _, v := range told {
				if !slices.ContainsFunc(found, func(f string) bool { return strings.HasPrefix(f, fmt.Sprintf("%q ", v)) }) {
					t.Errorf("without a codec, %q was found nowhere: the scan is blind to it", v)
				}
			}
		})
	}
}

// atRest runs the scenario on a server of its own and returns where each
// told value was found, as `"value" in where`.
func atRest(t *testing.T, withCodec bool) []string {
	dir := t.TempDir()
	db := filepath.Join(dir, "temporal.db")
	srv, err := devserver.Start(devserver.Options{DBFile: db, SearchAttributes: workflows.SearchAttributes(), Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stopServer := func() {
		if !stopped {
			srv.Stop()
			stopped = true
		}
	}
	defer stopServer()

	cfg := config.Default()
	cfg.Outbox = filepath.Join(dir, "outbox")
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: env.crm.url, Secret: "test-secret", Timeout: 10 * time.Second}}
	opts := client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(logger())}
	if withCodec {
		cfg.Codec = &config.Codec{Keys: map[string]config.Secret{"k1": config.Secret(bytes.Repeat([]byte{7}, config.KeySize))}, Primary: "k1"}
		cdc, err := codec.New(cfg.Codec.KeyBytes(), "k1")
		if err != nil {
			t.Fatal(err)
		}
		cdc.Apply(&opts)
	}
	cl, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// raw reads what the store holds, as anyone without the key would.
	raw, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(logger())})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	n, err := node.Start(node.Options{Client: cl, Config: cfg, Playbooks: "testdata/encryption", Logger: logger(), Reload: -1,
		Workflows: workflows.Options{ActivityTimeout: 3 * time.Second, RetryInitial: 100 * time.Millisecond, RetryMax: time.Second,
			// The bad address stalls its run (its details name the failure), which fails 2s later.
			RetryWindow: 2 * time.Second},
		Store: workflows.NewMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()

	c := ctx(t)
	now := time.Now().UTC()
	profile := func(id, contact string) []*lang.Event {
		return []*lang.Event{
			{ID: id + "-profile", Type: "customer.updated", Customer: id, At: now, Attributes: map[string]any{
				"name": "Quokkaberg Holdings", "csm": "ottoline.csm@vendor.example", "contact_email": contact,
				"notes": "prefers zeppelin deliveries", "timezone": "UTC"}},
			{ID: id + "-signed", Type: "contract.signed", Customer: id, At: now, Data: map[string]any{"plan": "platinum-narwhal"}},
		}
	}
	// cust-ok runs every step; cust-bad fails at its first, on a bad address.
	if err := control.SendEvents(c, cl, append(profile("cust-ok", "wilhelmina@quokkaberg.example"), profile("cust-bad", "Wilhelmina Quokka-Zed no at sign")...)); err != nil {
		t.Fatal(err)
	}
	okRun, badRun := "run/onboarding/cust-ok/1", "run/onboarding/cust-bad/1"
	var task string
	waitFor(t, "the kickoff task of "+okRun, func() (bool, string) {
		v, err := control.ShowRun(c, cl, okRun)
		if err != nil {
			return false, err.Error()
		}
		for _, tk := range v.State.Tasks {
			if tk.Step == "kickoff" {
				task = tk.ID
				return true, ""
			}
		}
		return false, v.Waiting
	})

	var found []string
	look := func(where string, data []byte) {
		for _, v := range told {
			if bytes.Contains(data, []byte(v)) {
				found = append(found, fmt.Sprintf("%q in %s", v, where))
			}
		}
	}
	// Current details and the state query, while the run waits on its task.
	for _, q := range []string{"__temporal_workflow_metadata", workflows.QueryState} {
		resp, err := raw.WorkflowService().QueryWorkflow(c, &workflowservice.QueryWorkflowRequest{
			Namespace: srv.Namespace(), Execution: &commonpb.WorkflowExecution{WorkflowId: okRun}, Query: &querypb.WorkflowQuery{QueryType: q}})
		if err != nil {
			t.Fatalf("query %s: %v", q, err)
		}
		look("the "+q+" query of "+okRun, mustMarshal(t, resp))
	}
	if _, err := control.CompleteTask(c, cl, task, "held", time.Now()); err != nil {
		t.Fatalf("complete %s: %v", task, err)
	}
	var res workflows.RunResult
	if err := cl.GetWorkflow(c, okRun, "").Get(c, &res); err != nil {
		t.Fatalf("%s: %v", okRun, err)
	}
	if err := cl.GetWorkflow(c, badRun, "").Get(c, nil); err == nil || !strings.Contains(err.Error(), "Wilhelmina Quokka-Zed") {
		// Decoded with the key, the failure still says what was wrong.
		t.Fatalf("%s: %v; want it failed, naming the bad address", badRun, err)
	}

	// The history API: every workflow, every event, as stored.
	list, err := raw.ListWorkflow(c, &workflowservice.ListWorkflowExecutionsRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	look("the visibility list", mustMarshal(t, list))
	var ids []string
	for _, e := range list.GetExecutions() {
		id := e.GetExecution().GetWorkflowId()
		ids = append(ids, id)
		look("a workflow id", []byte(id))
		desc, err := raw.DescribeWorkflowExecution(c, id, e.GetExecution().GetRunId())
		if err != nil {
			t.Fatal(err)
		}
		look("DescribeWorkflowExecution of "+id, mustMarshal(t, desc))
		it := raw.GetWorkflowHistory(c, id, e.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			look(fmt.Sprintf("event %d (%s) of %s", ev.GetEventId(), ev.GetEventType(), id), mustMarshal(t, ev))
		}
	}
	for _, want := range []string{okRun, badRun, workflows.OwnerID("ottoline.csm@vendor.example")} {
		if !slices.Contains(ids, want) {
			t.Fatalf("no workflow %s among %v", want, ids)
		}
	}

	// The files, while the server runs (recent commits are in the -wal)
	// and once it has stopped (checkpointed into the database).
	scanFiles := func(when string) {
		files, _ := filepath.Glob(filepath.Join(dir, "temporal*"))
		if len(files) < 2 {
			t.Fatalf("%s: only %v in %s", when, files, dir)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			look(filepath.Base(f)+" "+when, data)
		}
	}
	scanFiles("while the server runs")
	n.Stop()
	cl.Close()
	raw.Close()
	stopServer()
	scanFiles("after the server stopped")
	return found
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
