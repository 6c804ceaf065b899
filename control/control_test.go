package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEventID(t *testing.T) {
	base := func() *lang.Event {
		return &lang.Event{Type: "contract.signed", Customer: "acme", At: at("2026-01-05T15:00:00Z"),
			Attributes: mustJSON(t, `{"seats": 120, "csm": "jo@vendor.example", "tags": {"b": 1, "a": [1, 2]}}`),
			Data:       mustJSON(t, `{"plan": "pro", "arr": 90000}`)}
	}
	id := EventID(base())
	if !strings.HasPrefix(id, "sha256:") || len(id) != len("sha256:")+32 {
		t.Errorf("EventID = %q, want sha256: and 32 hex digits", id)
	}
	same := map[string]func(e *lang.Event){
		"keys in another order": func(e *lang.Event) {
			e.Attributes = mustJSON(t, `{"tags": {"a": [1, 2], "b": 1}, "csm": "jo@vendor.example", "seats": 120}`)
		},
		"the same instant in another zone": func(e *lang.Event) {
			e.At = e.At.In(time.FixedZone("EST", -5*3600))
		},
		"an id already set":   func(e *lang.Event) { e.ID = "crm-1" },
		"whole float and int": func(e *lang.Event) { e.Data["arr"] = 90000 },
	}
	for name, change := range same {
		e := base()
		change(e)
		if got := EventID(e); got != id {
			t.Errorf("%s: EventID = %s, want %s", name, got, id)
		}
	}
	differ := map[string]func(e *lang.Event){
		"type":             func(e *lang.Event) { e.Type = "contract.renewed" },
		"customer":         func(e *lang.Event) { e.Customer = "globex" },
		"at":               func(e *lang.Event) { e.At = e.At.Add(time.Nanosecond) },
		"attribute value":  func(e *lang.Event) { e.Attributes["seats"] = 121 },
		"attribute to nil": func(e *lang.Event) { e.Attributes["seats"] = nil },
		"nested value":     func(e *lang.Event) { e.Attributes["tags"].(map[string]any)["b"] = 2 },
		"data moved to attributes": func(e *lang.Event) {
			e.Attributes["plan"] = e.Data["plan"]
			delete(e.Data, "plan")
		},
		"customer with a bar": func(e *lang.Event) { e.Customer, e.Type = "acme|contract.signed", "" },
	}
	for name, change := range differ {
		e := base()
		change(e)
		if got := EventID(e); got == id {
			t.Errorf("%s: EventID did not change", name)
		}
	}
}

func shippedSchema(t testing.TB) *lang.Schema {
	t.Helper()
	set, errs, err := load.Set("../playbooks")
	if err != nil || len(errs) > 0 {
		t.Fatalf("load ../playbooks: %v %v", err, errs)
	}
	return set.Schema
}

func TestReadEvents(t *testing.T) {
	in := `{"id": "crm-1", "type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z", "data": {"arr": 90000, "plan": "pro"}}

  {"type": "customer.updated", "customer": "acme", "at": "2026-02-10", "attributes": {"health": 41, "csm": null, "seats": 120}}
`
	evs, lines, err := ReadEvents("events.jsonl", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !slices.Equal(lines, []int{1, 3}) {
		t.Fatalf("got %d events on lines %v, want 2 on lines 1 and 3", len(evs), lines)
	}
	if err := CheckFile(shippedSchema(t), "events.jsonl", evs, lines); err != nil {
		t.Fatal(err)
	}
	if evs[0].ID != "crm-1" {
		t.Errorf("first id = %q, want crm-1", evs[0].ID)
	}
	if v, ok := evs[0].Data["arr"].(float64); !ok || v != 90000 {
		t.Errorf("arr = %#v, want float64 90000 (arr is a float)", evs[0].Data["arr"])
	}
	if v, ok := evs[1].Attributes["seats"].(int); !ok || v != 120 {
		t.Errorf("seats = %#v, want int 120", evs[1].Attributes["seats"])
	}
	if !evs[1].At.Equal(at("2026-02-10T00:00:00Z")) {
		t.Errorf("a bare date reads as %v, want midnight UTC", evs[1].At)
	}
	if evs[1].ID != EventID(evs[1]) || !strings.HasPrefix(evs[1].ID, "sha256:") {
		t.Errorf("second id = %q, want the derived id", evs[1].ID)
	}
	if v, ok := evs[1].Attributes["csm"]; !ok || v != nil {
		t.Errorf("csm = %#v, %v; want an explicit nil", v, ok)
	}
	// Reading the same text twice gives the same ids.
	again, lines, _ := ReadEvents("events.jsonl", strings.NewReader(in))
	if err := CheckFile(shippedSchema(t), "events.jsonl", again, lines); err != nil {
		t.Fatal(err)
	}
	if again[1].ID != evs[1].ID {
		t.Errorf("ids differ between reads: %s, %s", evs[1].ID, again[1].ID)
	}
}

// Every problem of every line is reported with its line and field, and
// the schema's problems too.
func TestReadEventsErrors(t *testing.T) {
	good := `{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}` + "\n"
	tests := []struct {
		name, in string
		want     []string
	}{
		{"not JSON", good + "{nope\n", []string{"f.jsonl:2: malformed JSON"}},
		{"unknown field", good + `{"typ": "x", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`, []string{`f.jsonl:2: typ: unknown field typ; an event has id, type, customer, at, attributes, data`}},
		{"missing customer", `{"type": "contract.signed", "at": "2026-01-05T15:00:00Z"}`, []string{"f.jsonl:1: customer: missing customer id"}},
		{"missing type", good + "\n" + `{"customer": "acme", "at": "2026-01-05T15:00:00Z"}`, []string{"f.jsonl:3: type: missing event type"}},
		{"missing at", `{"type": "contract.signed", "customer": "acme"}`, []string{"f.jsonl:1: at: missing time"}},
		{"daily", `{"type": "daily", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`, []string{"f.jsonl:1: type: daily is a trigger"}},
		{"bad time", `{"type": "contract.signed", "customer": "acme", "at": "yesterday"}`, []string{`f.jsonl:1: at: "yesterday" is not a time`}},
		{"year 2201", `{"type": "contract.signed", "customer": "acme", "at": "2201-01-01"}`, []string{`f.jsonl:1: at: "2201-01-01" is in the year 2201`}},
		{"wrong JSON type", `{"type": "contract.signed", "customer": 7, "at": "2026-01-05T15:00:00Z"}`, []string{"f.jsonl:1: customer: is a JSON number; want a string"}},
		{"two values", `{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"} {}`, []string{"f.jsonl:1: more than one JSON value"}},
		{"an array", `[]`, []string{"f.jsonl:1: want a JSON object"}},
		{"too long", good + `{"type": "` + strings.Repeat("x", MaxLine) + `"}`, []string{"f.jsonl:2: line longer than"}},
		{"typo in the type", `{"type": "contract.sigend", "customer": "acme", "at": "2026-01-05"}`, []string{"f.jsonl:1: type: unknown event type contract.sigend; did you mean contract.signed?"}},
		{"several", `{"type": "contract.signed", "customer": "acme", "at": "2026-01-05", "data": {"arr": "lots", "plan": 3}}` + "\n" +
			`{"type": "customer.updated", "customer": "zoë", "at": "2026-01-05", "attributes": {"helth": 3, "segment": "huge", "id": "x"}}`,
			[]string{
				`f.jsonl:1: data.arr: "lots" is a string; want a number (float)`,
				`f.jsonl:1: data.plan: 3 is a number; want a string`,
				`f.jsonl:2: attributes.helth: unknown attribute helth; did you mean health?`,
				`f.jsonl:2: attributes.id: the customer id cannot be changed`,
				`f.jsonl:2: attributes.segment: "huge" is not one of "smb", "mid-market", "enterprise"`,
			}},
		{"case of a key", `{"type": "customer.updated", "Type": "contract.signed", "customer": "acme", "at": "2026-01-05"}`, []string{"f.jsonl:1: Type: unknown field Type; did you mean type? field names are lower case"}},
		{"repeated key", `{"type": "customer.updated", "customer": "a", "customer": "b", "at": "2026-01-05", "attributes": {"seats": 1, "seats": 2}}`, []string{
			"f.jsonl:1: customer: appears twice in the event; give each field once",
			"f.jsonl:1: attributes.seats: appears twice; give each key once",
		}},
		{"invalid UTF-8", "{\"type\": \"customer.updated\", \"customer\": \"bad\xffid\", \"at\": \"2026-01-05\"}", []string{"f.jsonl:1: not valid UTF-8 (byte 45)"}},
		{"lone surrogate in the customer", `{"type": "customer.updated", "customer": "bad\ud800id", "at": "2026-01-05"}`, []string{"f.jsonl:1: customer: customer id \"bad\ufffdid\" has U+FFFD"}},
		{"2^53", `{"type": "customer.updated", "customer": "a", "at": "2026-01-05", "attributes": {"seats": 9007199254740992}}`, []string{"f.jsonl:1: attributes.seats: 9007199254740992 is not a whole number between -2^53 and 2^53"}},
		{"same id twice", `{"id": "x", "type": "customer.updated", "customer": "a", "at": "2026-01-05"}` + "\n" + `{"id": "x", "type": "customer.updated", "customer": "b", "at": "2026-01-05"}`, []string{"f.jsonl:2: id: id x is also the id of the event on line 1"}},
		{"task.completed without a task", `{"type": "task.completed", "customer": "a", "at": "2026-01-05", "data": {"outcome": "held"}}`, []string{"f.jsonl:1: data: task.completed names the task"}},
		{"control character", `{"type": "contract.signed", "customer": "ac\u0007me", "at": "2026-01-05"}`, []string{`f.jsonl:1: customer: customer id "ac\ame" has a control or unprintable character (U+0007)`}},
		{"big value", `{"type": "customer.updated", "customer": "acme", "at": "2026-01-05", "attributes": {"name": "` + strings.Repeat("x", 70_000) + `"}}`, []string{"f.jsonl:1: attributes.name: value is 70002 bytes (68.4 KiB) as JSON; at most 64 KiB are allowed"}},
	}
	schema := shippedSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, lines, err := ReadEvents("f.jsonl", strings.NewReader(tt.in))
			if err == nil {
				err = CheckFile(schema, "f.jsonl", evs, lines)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant %d:\n%s", err, len(tt.want), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// A batch body is one object or an array; every bad event is listed with
// its index, and an event without at gets the time of receipt.
func TestDecodeBatch(t *testing.T) {
	now := at("2026-03-01T10:00:00Z")
	o := DecodeOptions{Now: now, NewID: func() string { return "new" }}
	evs, errs, err := DecodeBatch([]byte(`{"type": "contract.signed", "customer": "acme"}`), o)
	if err != nil || len(errs) > 0 || len(evs) != 1 || !evs[0].At.Equal(now) {
		t.Fatalf("one object: %v %v %+v", err, errs, evs)
	}
	if errs := Check(shippedSchema(t), evs, o); len(errs) > 0 || evs[0].ID != "new" {
		t.Fatalf("check: %v, id %q", errs, evs[0].ID)
	}
	for _, body := range []string{``, `[]`, `"x"`, `[{]`, `{"a":`, `[` + strings.Repeat(`{},`, MaxBatch) + `{}]`} {
		if _, _, err := DecodeBatch([]byte(body), o); err == nil {
			t.Errorf("body %.20q: no error", body)
		}
	}
	evs, errs, err = DecodeBatch([]byte(`[{"type": "contract.signed", "customer": "a"}, {"type": 1}, {"customer": "b", "type": "nps.responded", "data": {"score": "ten"}}]`), o)
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, Check(shippedSchema(t), evs, o)...)
	got, _ := json.Marshal(errs)
	want := `[{"index":1,"field":"type","message":"is a JSON number; want a string"},{"index":2,"field":"data.score","message":"\"ten\" is a string; want a whole number (int)"}]`
	if string(got) != want {
		t.Errorf("errors\n%s\nwant\n%s", got, want)
	}
}

func TestRunsQuery(t *testing.T) {
	tests := []struct {
		f    RunFilter
		want string
	}{
		{RunFilter{}, `WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew'`},
		{RunFilter{Customer: "acme", Playbook: "enterprise-onboarding", Status: "waiting", Step: "kickoff", Owner: "jo@vendor.example"},
			`WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew' AND TendCustomer = 'acme' AND TendPlaybook = 'enterprise-onboarding' AND TendStatus = 'waiting' AND TendStep = 'kickoff' AND TendOwner = 'jo@vendor.example'`},
		{RunFilter{Customer: `o'brien`}, `WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew' AND TendCustomer = 'o\'brien'`},
		{RunFilter{Customer: `x' OR TendCustomer != '`}, `WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew' AND TendCustomer = 'x\' OR TendCustomer != \''`},
		{RunFilter{Step: `a\'b"c`}, `WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew' AND TendStep = 'a\\\'b"c'`},
		// With a codec, TendOwner holds the owner's hash, in any letter case of the address.
		{RunFilter{Owner: " Jo@Vendor.example", OwnerHashed: true}, `WorkflowType = 'PlaybookRun' AND ExecutionStatus != 'ContinuedAsNew' AND TendOwner = '` + workflows.OwnerHash("jo@vendor.example") + `'`},
	}
	for _, tt := range tests {
		if got := runsQuery(tt.f); got != tt.want {
			t.Errorf("runsQuery(%+v)\n got %s\nwant %s", tt.f, got, tt.want)
		}
	}
	if got, want := openRunsQuery(), `WorkflowType = 'PlaybookRun' AND ExecutionStatus = 'Running'`; got != want {
		t.Errorf("openRunsQuery() = %s, want %s", got, want)
	}
}

func TestRunFilterValidate(t *testing.T) {
	for _, s := range Statuses {
		if err := (RunFilter{Status: string(s)}).Validate(); err != nil {
			t.Errorf("status %s: %v", s, err)
		}
	}
	err := RunFilter{Status: "done"}.Validate()
	if err == nil || err.Error() != `status "done": want one of running, waiting, tasks-open, overdue, escalated, stalled, completed, exited, expired, failed` {
		t.Errorf("err = %v", err)
	}
	if err := (RunFilter{Limit: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "limit -1") {
		t.Errorf("err = %v", err)
	}
}

func TestParseTaskID(t *testing.T) {
	tests := []struct {
		id, run, customer, err string
	}{
		{"enterprise-onboarding/acme/1/kickoff/1", "run/enterprise-onboarding/acme/1", "acme", ""},
		{"renewal/eu/acme/12/call/3", "run/renewal/eu/acme/12", "eu/acme", ""},
		{"", "", "", "too few parts"},
		{"pb/acme/1/kickoff", "", "", "too few parts"},
		{"/acme/1/kickoff/1", "", "", "too few parts"},
		{"pb//1/kickoff/1", "", "", "too few parts"},
		{"pb/acme/one/kickoff/1", "", "", `run number "one" is not a count`},
		{"pb/acme/0/kickoff/1", "", "", `run number "0" is not a count`},
		{"pb/acme/1//1", "", "", "empty step"},
		{"pb/acme/1/kickoff/x", "", "", `occurrence "x" is not a count`},
		{"pb/acme/1/kickoff/", "", "", `occurrence "" is not a count`},
	}
	for _, tt := range tests {
		run, cust, err := ParseTaskID(tt.id)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "<playbook>/<customer>/<n>/<step>/<occurrence>") {
				t.Errorf("ParseTaskID(%q) error = %v, want one saying %q and the shape", tt.id, err, tt.err)
			}
			continue
		}
		if err != nil || run != tt.run || cust != tt.customer {
			t.Errorf("ParseTaskID(%q) = %q, %q, %v; want %q, %q", tt.id, run, cust, err, tt.run, tt.customer)
		}
	}
}

func TestSplitRunID(t *testing.T) {
	tests := []struct {
		id, pb, cust string
		ok           bool
	}{
		{"run/onboarding/acme/1", "onboarding", "acme", true},
		{"run/onboarding/eu/acme/27", "onboarding", "eu/acme", true},
		{"customer/acme", "", "", false},
		{"run/onboarding/acme", "", "", false},
		{"run/onboarding//1", "", "", false},
		{"run//acme/1", "", "", false},
		{"run/onboarding/acme/01", "", "", false},
	}
	for _, tt := range tests {
		pb, cust, ok := splitRunID(tt.id)
		if pb != tt.pb || cust != tt.cust || ok != tt.ok {
			t.Errorf("splitRunID(%q) = %q, %q, %v", tt.id, pb, cust, ok)
		}
	}
}

func TestFilterTasks(t *testing.T) {
	now := at("2026-01-10T00:00:00Z")
	items := []TaskItem{
		{Task: engine.Task{ID: "c", Owner: "jo@vendor.example", Due: at("2026-01-12T00:00:00Z")}},
		{Task: engine.Task{ID: "b", Owner: "max@vendor.example", Due: at("2026-01-08T00:00:00Z")}},
		{Task: engine.Task{ID: "a", Owner: "Jo@Vendor.example", Due: at("2026-01-12T00:00:00Z"), Overdue: true}},
		{Task: engine.Task{ID: "d", Owner: "jo@vendor.example"}},
		{Task: engine.Task{ID: "e", Owner: "jo@vendor.example", Due: at("2026-01-09T00:00:00Z")}},
	}
	ids := func(its []TaskItem) string {
		var s []string
		for _, it := range its {
			s = append(s, it.ID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		f    TaskFilter
		want string
	}{
		{TaskFilter{Now: now}, "b,e,a,c,d"},
		{TaskFilter{Now: now, Owner: "jo@vendor.example"}, "e,a,c,d"},
		{TaskFilter{Now: now, Overdue: true}, "b,e,a"},
		{TaskFilter{Now: now, Overdue: true, Owner: "JO@vendor.example"}, "e,a"},
		{TaskFilter{Now: now, Owner: "nobody"}, ""},
	}
	for _, tt := range tests {
		if got := ids(filterTasks(slices.Clone(items), tt.f)); got != tt.want {
			t.Errorf("filterTasks(%+v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		tend string
		exec enumspb.WorkflowExecutionStatus
		want string
	}{
		{"waiting", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "waiting"},
		{"", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "running"},
		{"completed", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, "completed"},
		{"waiting", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, "terminated"},
		{"", enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, "timedout"},
		{"failed", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, "failed"},
		{"overdue", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, "failed"},
		{"exited", enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, "exited"},
	}
	for _, tt := range tests {
		if got := status(tt.tend, tt.exec); got != tt.want {
			t.Errorf("status(%q, %v) = %q, want %q", tt.tend, tt.exec, got, tt.want)
		}
	}
}

func TestFormatTimeline(t *testing.T) {
	files, _ := filepath.Glob("testdata/run-*.json")
	if len(files) == 0 {
		t.Fatal("no testdata/run-*.json")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var view workflows.RunView
			if err := json.Unmarshal(data, &view); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			FormatTimeline(&buf, &view)
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./control -update to create it)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("output differs from %s (go test ./control -update if intended):\n%s", golden, buf.String())
			}
		})
	}
}

// fakeClient records what is sent and answers lists and queries from its
// fields. Methods it does not override panic (nil embedded interface).
type fakeClient struct {
	client.Client
	mu      sync.Mutex
	signals []signalCall
	failFor string // fail the signals to this customer's journey

	pages    []*workflowservice.ListWorkflowExecutionsResponse
	requests []*workflowservice.ListWorkflowExecutionsRequest
	views    map[string]*workflows.RunView
	queries  []string
	// unloaded are workflows whose code the workers cannot run: they
	// answer queries as Temporal does then.
	unloaded map[string]bool
	// histories are the workflows' histories, by workflow id.
	histories map[string]*historypb.History
	// closed are the workflows Temporal has ended, with how; the others
	// are running.
	closed map[string]enumspb.WorkflowExecutionStatus
	// failing are the workflows whose workflow task keeps failing, with
	// its attempt.
	failing map[string]int32
}

func (f *fakeClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.closed[id]
	if !ok {
		st = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	resp := &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: st}}
	if n := f.failing[id]; n > 0 {
		resp.PendingWorkflowTask = &workflowpb.PendingWorkflowTaskInfo{Attempt: n}
	}
	return resp, nil
}

func (f *fakeClient) GetWorkflowHistory(_ context.Context, id, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &eventIterator{events: f.histories[id].GetEvents()}
}

type eventIterator struct{ events []*historypb.HistoryEvent }

func (it *eventIterator) HasNext() bool { return len(it.events) > 0 }

func (it *eventIterator) Next() (*historypb.HistoryEvent, error) {
	ev := it.events[0]
	it.events = it.events[1:]
	return ev, nil
}

type signalCall struct {
	id, signal string
	arg        *lang.Event
	opts       client.StartWorkflowOptions
	workflow   any
	args       []any
}

func (f *fakeClient) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFor != "" && id == "customer/"+f.failFor {
		return nil, serviceerror.NewUnavailable("connection reset")
	}
	f.signals = append(f.signals, signalCall{id, signal, arg.(*lang.Event), opts, wf, args})
	return nil, nil
}

func (f *fakeClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	i := 0
	if len(req.NextPageToken) > 0 {
		i = int(req.NextPageToken[0])
	}
	return f.pages[i], nil
}

func (f *fakeClient) QueryWorkflow(_ context.Context, id, runID, query string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, id+" "+query)
	if f.unloaded[id] {
		return nil, serviceerror.NewQueryFailed("unknown queryType " + query + ". KnownQueryTypes=[__stack_trace __open_sessions __temporal_workflow_metadata]")
	}
	v, ok := f.views[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		return nil, err
	}
	return client.NewValue(p), nil
}

func TestSendEvents(t *testing.T) {
	evs := []*lang.Event{
		{ID: "crm-1", Type: "contract.signed", Customer: "acme", At: at("2026-01-05T15:00:00Z")},
		{Type: "customer.updated", Customer: "globex", At: at("2026-01-06T15:00:00Z"), Attributes: map[string]any{"health": 41}},
	}
	f := &fakeClient{}
	if err := SendEvents(context.Background(), f, evs); err != nil {
		t.Fatal(err)
	}
	if len(f.signals) != 2 {
		t.Fatalf("sent %d signals, want 2", len(f.signals))
	}
	if evs[1].ID != EventID(evs[1]) {
		t.Errorf("second event id = %q, want the derived id", evs[1].ID)
	}
	// Customers go concurrently: match each signal to its event.
	slices.SortFunc(f.signals, func(a, b signalCall) int { return strings.Compare(a.arg.ID, b.arg.ID) })
	byID := slices.Clone(evs)
	slices.SortFunc(byID, func(a, b *lang.Event) int { return strings.Compare(a.ID, b.ID) })
	for i, s := range f.signals {
		ev := byID[i]
		if s.id != "customer/"+ev.Customer || s.opts.ID != s.id || s.signal != workflows.SignalEvent || s.arg != ev {
			t.Errorf("signal %d = %+v", i, s)
		}
		if s.opts.TaskQueue != workflows.TaskQueue || s.workflow != workflows.JourneyWorkflow {
			t.Errorf("signal %d: task queue %q, workflow %v", i, s.opts.TaskQueue, s.workflow)
		}
		if v, ok := s.opts.TypedSearchAttributes.GetKeyword(workflows.AttrCustomer); !ok || v != ev.Customer || s.opts.TypedSearchAttributes.Size() != 1 {
			t.Errorf("signal %d: search attributes %v", i, s.opts.TypedSearchAttributes)
		}
		if in, ok := s.args[0].(workflows.JourneyInput); len(s.args) != 1 || !ok || in.Customer != ev.Customer || in.State != nil || in.Set != "" {
			t.Errorf("signal %d: workflow args %#v", i, s.args)
		}
	}

	// A malformed event stops everything before anything is sent.
	f = &fakeClient{}
	bad := append(evs, &lang.Event{Type: "x", At: at("2026-01-05T15:00:00Z")})
	if err := SendEvents(context.Background(), f, bad); err == nil || err.Error() != "event 3: customer: missing customer id" {
		t.Errorf("err = %v", err)
	}
	if len(f.signals) != 0 {
		t.Errorf("%d signals sent before a malformed event was found", len(f.signals))
	}

	// A failure says how far it got.
	// (Customers are sent concurrently: the failure is by customer, not
	// by order, or the test would depend on the scheduler.)
	f = &fakeClient{failFor: "globex"}
	err := SendEvents(context.Background(), f, evs)
	var se *SendError
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "sent 1 of 2 events; event 2 (id sha256:") || !strings.HasSuffix(err.Error(), "failed: customer globex: connection reset") {
		t.Fatalf("err = %v", err)
	}
	if se.Resume != 1 || se.Count != 1 || !slices.Equal(se.Sent, []bool{true, false}) {
		t.Errorf("resume at %d after %d sent (%v), want 1 after 1", se.Resume, se.Count, se.Sent)
	}
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func execution(t *testing.T, id string, start time.Time, st enumspb.WorkflowExecutionStatus, attrs map[string]string) *workflowpb.WorkflowExecutionInfo {
	sa := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	for k, v := range attrs {
		sa.IndexedFields[k] = payload(t, v)
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r-" + id},
		StartTime:        timestamppb.New(start),
		Status:           st,
		SearchAttributes: sa,
	}
	if st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(start.Add(time.Hour))
	}
	return info
}

func TestListRuns(t *testing.T) {
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	f := &fakeClient{pages: []*workflowservice.ListWorkflowExecutionsResponse{
		{Executions: []*workflowpb.WorkflowExecutionInfo{
			execution(t, "run/onboarding/acme/1", at("2026-01-05T15:00:00Z"), running, map[string]string{
				"TendCustomer": "acme", "TendPlaybook": "onboarding", "TendVersion": "v1", "TendStep": "kickoff", "TendOwner": "jo@vendor.example", "TendStatus": "waiting"}),
		}, NextPageToken: []byte{1}},
		{Executions: []*workflowpb.WorkflowExecutionInfo{
			execution(t, "run/renewal/eu/acme/2", at("2026-03-01T00:00:00Z"), enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, map[string]string{"TendStatus": "waiting"}),
			execution(t, "run/nps/acme/1", at("2026-02-01T00:00:00Z"), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, map[string]string{"TendStatus": "completed", "TendCustomer": "acme"}),
		}},
	}}
	runs, err := ListRuns(context.Background(), f, RunFilter{Customer: "acme", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.requests) != 2 || f.requests[0].Query != runsQuery(RunFilter{Customer: "acme"}) || f.requests[0].PageSize != 10 || f.requests[1].PageSize != 9 {
		t.Errorf("requests = %v", f.requests)
	}
	got, _ := json.MarshalIndent(runs, "", " ")
	want := `[
 {
  "id": "run/renewal/eu/acme/2",
  "customer": "eu/acme",
  "playbook": "renewal",
  "version": "",
  "step": "",
  "owner": "",
  "status": "terminated",
  "start": "2026-03-01T00:00:00Z",
  "close": "2026-03-01T01:00:00Z"
 },
 {
  "id": "run/nps/acme/1",
  "customer": "acme",
  "playbook": "nps",
  "version": "",
  "step": "",
  "owner": "",
  "status": "completed",
  "start": "2026-02-01T00:00:00Z",
  "close": "2026-02-01T01:00:00Z"
 },
 {
  "id": "run/onboarding/acme/1",
  "customer": "acme",
  "playbook": "onboarding",
  "version": "v1",
  "step": "kickoff",
  "owner": "jo@vendor.example",
  "status": "waiting",
  "start": "2026-01-05T15:00:00Z"
 }
]`
	if string(got) != want {
		t.Errorf("runs =\n%s\nwant\n%s", got, want)
	}

	// The limit stops paging.
	f.requests = nil
	runs, err = ListRuns(context.Background(), f, RunFilter{Limit: 1})
	if err != nil || len(runs) != 1 || len(f.requests) != 1 {
		t.Errorf("limit 1: %d runs, %d requests, %v", len(runs), len(f.requests), err)
	}
	if _, err := ListRuns(context.Background(), f, RunFilter{Status: "bogus"}); err == nil {
		t.Error("a bad status was accepted")
	}
}

func TestListTasksAndShowRun(t *testing.T) {
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	view := func(id, customer, pb string, tasks ...engine.Task) *workflows.RunView {
		return &workflows.RunView{State: engine.RunState{ID: id, Customer: customer, Playbook: pb, Status: engine.StatusWaiting, Tasks: tasks}}
	}
	f := &fakeClient{
		pages: []*workflowservice.ListWorkflowExecutionsResponse{{Executions: []*workflowpb.WorkflowExecutionInfo{
			execution(t, "run/onboarding/acme/1", at("2026-01-05T15:00:00Z"), running, nil),
			execution(t, "run/onboarding/globex/1", at("2026-01-06T15:00:00Z"), running, nil),
			execution(t, "run/onboarding/gone/1", at("2026-01-06T15:00:00Z"), running, nil),
		}}},
		views: map[string]*workflows.RunView{
			"run/onboarding/acme/1": view("run/onboarding/acme/1", "acme", "onboarding",
				engine.Task{ID: "onboarding/acme/1/kickoff/1", Step: "kickoff", Owner: "jo@vendor.example", Due: at("2026-01-08T15:00:00Z")},
				engine.Task{ID: "onboarding/acme/1/esc/1", Step: "esc", Owner: "max@vendor.example", Due: at("2026-01-12T15:00:00Z")}),
			"run/onboarding/globex/1": view("run/onboarding/globex/1", "globex", "onboarding",
				engine.Task{ID: "onboarding/globex/1/kickoff/1", Step: "kickoff", Owner: "jo@vendor.example", Due: at("2026-01-09T15:00:00Z")}),
		},
	}
	items, err := ListTasks(context.Background(), f, TaskFilter{Owner: "jo@vendor.example", Now: at("2026-01-09T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if f.requests[0].Query != openRunsQuery() {
		t.Errorf("query = %s", f.requests[0].Query)
	}
	if len(f.queries) != 3 {
		t.Errorf("queries = %v, want one per running run", f.queries)
	}
	if len(items) != 2 || items[0].ID != "onboarding/acme/1/kickoff/1" || items[0].Run != "run/onboarding/acme/1" || items[0].Customer != "acme" || items[0].Playbook != "onboarding" || items[1].Customer != "globex" {
		t.Errorf("items = %+v", items)
	}
	items, err = ListTasks(context.Background(), f, TaskFilter{Overdue: true, Now: at("2026-01-09T00:00:00Z")})
	if err != nil || len(items) != 1 || items[0].ID != "onboarding/acme/1/kickoff/1" {
		t.Errorf("overdue items = %+v, %v", items, err)
	}

	v, err := ShowRun(context.Background(), f, "run/onboarding/acme/1")
	if err != nil || v.State.Customer != "acme" || len(v.State.Tasks) != 2 {
		t.Errorf("ShowRun = %+v, %v", v, err)
	}
	var nf *serviceerror.NotFound
	if _, err := ShowRun(context.Background(), f, "run/onboarding/nobody/1"); !errors.As(err, &nf) || !strings.HasPrefix(err.Error(), "no run run/onboarding/nobody/1") {
		t.Errorf("missing run: %v", err)
	}
	n := len(f.queries)
	if _, err := ShowRun(context.Background(), f, "customer/acme"); err == nil || !strings.Contains(err.Error(), `run id "customer/acme": want run/<playbook>/<customer>/<n>`) {
		t.Errorf("journey id: %v", err)
	}
	if len(f.queries) != n {
		t.Error("a malformed run id was queried")
	}
}

// TestListTasksUnloadedRun: a run the workers cannot load (a codec key
// gone from tend.yaml) hides nobody else's tasks, and the error says where
// the reason is rather than Temporal's "unknown queryType".
func TestListTasksUnloadedRun(t *testing.T) {
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	f := &fakeClient{
		pages: []*workflowservice.ListWorkflowExecutionsResponse{{Executions: []*workflowpb.WorkflowExecutionInfo{
			execution(t, "run/onboarding/acme/1", at("2026-01-05T15:00:00Z"), running, nil),
			execution(t, "run/onboarding/globex/1", at("2026-01-06T15:00:00Z"), running, nil),
		}}},
		views: map[string]*workflows.RunView{
			"run/onboarding/globex/1": {State: engine.RunState{ID: "run/onboarding/globex/1", Customer: "globex", Playbook: "onboarding",
				Status: engine.StatusWaiting, Tasks: []engine.Task{{ID: "onboarding/globex/1/kickoff/1", Step: "kickoff"}}}},
		},
		unloaded:  map[string]bool{"run/onboarding/acme/1": true},
		histories: map[string]*historypb.History{"run/onboarding/acme/1": encryptedHistory(t, "k1")},
	}
	items, err := ListTasks(context.Background(), f, TaskFilter{Now: at("2026-01-09T00:00:00Z")})
	var unread *UnreadError
	if !errors.As(err, &unread) || len(unread.Errs) != 1 {
		t.Fatalf("err = %v; want an UnreadError naming acme's run", err)
	}
	for _, want := range []string{"1 run did not answer", "query run run/onboarding/acme/1: the workers cannot load it",
		"its history is encrypted with codec key k1, and workers whose tend.yaml codec.keys lack k1 cannot read it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q; want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "queryType") {
		t.Errorf("err = %q; want tend's words, not Temporal's unknown queryType", err)
	}
	if len(items) != 1 || items[0].Customer != "globex" {
		t.Errorf("items = %+v; want globex's task still listed", items)
	}

	// Every run unreadable: that is the error, with no list.
	f.unloaded["run/onboarding/globex/1"] = true
	if items, err := ListTasks(context.Background(), f, TaskFilter{}); err == nil || errors.As(err, &unread) || items != nil {
		t.Errorf("every run unreadable: items %+v, err %v; want the run's error alone", items, err)
	}
	// A history with no encrypted payload names no key.
	if _, err := ShowRun(context.Background(), f, "run/onboarding/globex/1"); err == nil ||
		!strings.HasSuffix(err.Error(), "the workers cannot load it: its workflow task fails, and the worker's log says why") {
		t.Errorf("unloaded run without encrypted history: %v", err)
	}
}

// encryptedHistory is a one-event history whose input is encrypted with
// key id.
func encryptedHistory(t *testing.T, id string) *historypb.History {
	t.Helper()
	cdc, err := codec.New(map[string][]byte{id: bytes.Repeat([]byte{1}, codec.KeySize)}, id)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cdc.DataConverter().ToPayloads("a customer's input")
	if err != nil {
		t.Fatal(err)
	}
	return &historypb.History{Events: []*historypb.HistoryEvent{{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: p}}}}}
}

func TestShowRunTimeout(t *testing.T) {
	f := &fakeClient{views: map[string]*workflows.RunView{}}
	_, err := ShowRun(context.Background(), &slowClient{f}, "run/a/b/1")
	if err == nil || !strings.Contains(err.Error(), "no answer; is a worker running") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

// slowClient answers every query with a deadline error, as the server does
// when no worker picks the query up.
type slowClient struct{ *fakeClient }

func (*slowClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, context.DeadlineExceeded
}

// encryptedClient answers every query with a payload encrypted under key
// k7, as workers with a codec do, to a client without one.
type encryptedClient struct {
	*fakeClient
	t *testing.T
}

func (c *encryptedClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	h := encryptedHistory(c.t, "k7")
	return client.NewValue(h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput()), nil
}

// TestAnswerWithoutCodec: a client whose tend.yaml has no codec: section
// is told that, and the key the answer is under, not only the SDK's
// "payload encoding is not supported".
func TestAnswerWithoutCodec(t *testing.T) {
	c := &encryptedClient{fakeClient: &fakeClient{}, t: t}
	want := "the answer is encrypted with the workers' codec key k7, and tend.yaml has no codec: section to read it"
	if _, err := ShowRun(context.Background(), c, "run/onboarding/acme/1"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ShowRun: %v; want %q", err, want)
	}
	if _, err := GetCustomer(context.Background(), c, "acme"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("GetCustomer: %v; want %q", err, want)
	}
}

// encryptedUpdateClient takes every update, and answers it with a payload
// a client without a codec cannot decode.
type encryptedUpdateClient struct{ *fakeClient }

func (encryptedUpdateClient) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return encryptedHandle{}, nil
}

type encryptedHandle struct{ client.WorkflowUpdateHandle }

func (encryptedHandle) Get(context.Context, any) error {
	return fmt.Errorf("payload item 0: encoding binary/encrypted: %w", converter.ErrEncodingIsNotSupported)
}

// TestRetryAnswerEncrypted: a run took the retry, and only its answer
// cannot be read by a client without a codec: that is a retry, not "not
// retried".
func TestRetryAnswerEncrypted(t *testing.T) {
	o, err := Retry(context.Background(), encryptedUpdateClient{&fakeClient{}}, "run/onboarding/acme/1")
	if err != nil || o.Result != Retried || !o.OK() {
		t.Errorf("Retry: %+v, %v; want retried", o, err)
	}
}

// TestShowRunClosedByTemporal: a run whose workflow Temporal ended while
// the run itself was waiting (terminated, or failed by the SDK) is shown
// as ended, with no open tasks, not as the replay's "waiting".
func TestShowRunClosedByTemporal(t *testing.T) {
	const id = "run/onboarding/acme/1"
	f := &fakeClient{
		views: map[string]*workflows.RunView{id: {State: engine.RunState{ID: id, Customer: "acme", Playbook: "onboarding",
			Status: engine.StatusWaiting, Tasks: []engine.Task{{ID: "onboarding/acme/1/kickoff/1", Step: "kickoff"}}}, Waiting: "waiting for jo"}},
		closed: map[string]enumspb.WorkflowExecutionStatus{id: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED},
	}
	v, err := ShowRun(context.Background(), f, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.State.Status != "terminated" || len(v.State.Tasks) != 0 || !strings.Contains(v.Waiting, "ended as terminated in Temporal") {
		t.Errorf("status %s, tasks %v, waiting %q; want terminated, no tasks, and why", v.State.Status, v.State.Tasks, v.Waiting)
	}
	delete(f.closed, id)
	if v, err := ShowRun(context.Background(), f, id); err != nil || v.State.Status != engine.StatusWaiting || len(v.State.Tasks) != 1 {
		t.Errorf("running: %+v, %v; want the run's own view", v, err)
	}
}

// timeoutUpdateClient gets no answer to any update, as when the run's
// workflow task keeps failing.
type timeoutUpdateClient struct{ *fakeClient }

func (timeoutUpdateClient) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewDeadlineExceeded("Timeout or cancellation waiting for update")
}

// TestUpdateToStuckRun: a task completion or retry sent to a run the
// workers cannot load gets no answer; that is said, with the codec key of
// the run's history and that nothing was applied, not "temporal
// unavailable". A run whose workflow task is not failing is unavailable.
func TestUpdateToStuckRun(t *testing.T) {
	const id = "run/onboarding/acme/1"
	f := &fakeClient{failing: map[string]int32{id: 3}, histories: map[string]*historypb.History{id: encryptedHistory(t, "k1")}}
	c := timeoutUpdateClient{f}
	want := "the workers cannot load it: its history is encrypted with codec key k1"
	_, err := CompleteTask(context.Background(), c, "onboarding/acme/1/kickoff/1", "", time.Now())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was applied") || IsUnavailable(err) || errors.Is(err, ErrUnavailable) {
		t.Errorf("CompleteTask: %v; want %q, nothing applied, and not unavailable", err, want)
	}
	o, err := Retry(context.Background(), c, id)
	if err != nil || o.OK() || !strings.Contains(o.Error, want) {
		t.Errorf("Retry: %+v, %v; want not retried, saying %q", o, err, want)
	}
	delete(f.failing, id)
	if _, err := CompleteTask(context.Background(), c, "onboarding/acme/1/kickoff/1", "", time.Now()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CompleteTask, run not stuck: %v; want unavailable", err)
	}
}
