package bench

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
)

var flagBytes = flag.Bool("bytes", false, "run TestJourneyHistoryBytes: a journey's history bytes on the shipped playbook set, ../playbooks (about 20s)")

// TestJourneyHistoryBytes measures what one customer's journey costs in
// history bytes on the shipped playbook set (../playbooks, the repository's
// own): a worker on it, one mid-market customer sent a profile
// (customer.updated) and then contract.signed, which start
// sales-to-cs-handoff and enterprise-onboarding. Once the journey and its
// runs are idle (no workflow task or activity pending, histories unchanged
// for two seconds), it sums proto.Size of every HistoryEvent of the
// journey, over every execution, and logs the largest event types; the
// runs' histories are given beside it. Flag -bytes.
func TestJourneyHistoryBytes(t *testing.T) {
	if !*flagBytes {
		t.Skip("pass -bytes: about 20s on the embedded server")
	}
	s := server(t)
	n := startNode(t, s, "../playbooks", t.TempDir(), workflows.Options{}, worker.Options{})
	defer n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := s.client
	cust := fmt.Sprintf("bytes-%x", time.Now().UnixNano()%(1<<32))
	now := time.Now().UTC()
	evs := []*lang.Event{
		{ID: cust + "-profile", Type: lang.EventCustomerUpdated, Customer: cust, At: now, Attributes: map[string]any{
			"name": "Globex", "segment": "mid-market", "seats": 40, "csm": "ana@vendor.example",
			"manager": "max@vendor.example", "ae": "riley@vendor.example", "contact_email": "admin@globex.example",
			"timezone": "Europe/London", "health": 82, "renewal_date": now.AddDate(1, 0, 0).Format(time.RFC3339),
			"active_users": 0, "logins_7d": 0}},
		{ID: cust + "-signed", Type: "contract.signed", Customer: cust, At: now.Add(time.Second),
			Data: map[string]any{"plan": "pro", "arr": 24000}},
	}
	for _, ev := range evs {
		if err := control.SendEvents(ctx, c, []*lang.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	jid := workflows.JourneyID(cust)
	var jv workflows.JourneyView
	poll(t, 2*time.Minute, "the journey to apply both events and start its runs", func() (bool, string) {
		var err error
		if jv, err = journeyView(ctx, c, cust); err != nil {
			return false, err.Error()
		}
		return jv.Stats.Applied == len(evs) && len(jv.Running) > 0, fmt.Sprintf("%+v, running %v", jv.Stats, jv.Running)
	})
	runs := slices.Clone(jv.Running)
	ids := append([]string{jid}, runIDs(runs)...)
	lengths := map[string]int{}
	stable := 0
	poll(t, 2*time.Minute, "the journey and its runs to be idle", func() (bool, string) {
		busy := ""
		for _, id := range ids {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				return false, err.Error()
			}
			info := d.GetWorkflowExecutionInfo()
			if d.GetPendingWorkflowTask() != nil || len(d.GetPendingActivities()) > 0 {
				busy = id + " has a workflow task or an activity pending"
			}
			if l := int(info.GetHistoryLength()); l != lengths[id] {
				lengths[id] = l
				busy = id + " is still growing"
			}
		}
		if busy != "" {
			stable = 0
			return false, busy
		}
		stable++
		return stable >= 100, fmt.Sprint(lengths) // 100 polls of 20ms: 2s unchanged
	})

	jb := historyBytes(ctx, t, c, jid)
	var b strings.Builder
	b.WriteString("### A journey's history bytes on the shipped playbook set\n\n")
	fmt.Fprintf(&b, "One mid-market customer, customer.updated (profile) then contract.signed, on ../playbooks; "+
		"measured once the journey and its runs (%s) were idle. Sum of proto.Size of every HistoryEvent.\n\n",
		strings.Join(runs, ", "))
	b.WriteString("| workflow | executions | events | history bytes | largest event types (bytes) |\n")
	b.WriteString("|---|---:|---:|---:|---|\n")
	fmt.Fprintf(&b, "| CustomerJourney | %d | %d | **%d** | %s |\n", jb.execs, jb.events, jb.bytes, jb.top(4))
	for _, r := range runs {
		rb := historyBytes(ctx, t, c, workflows.WorkflowID(r))
		fmt.Fprintf(&b, "| PlaybookRun %s | %d | %d | %d | %s |\n", r, rb.execs, rb.events, rb.bytes, rb.top(3))
	}
	t.Log("\n" + b.String())
	t.Logf("journey history bytes: %d", jb.bytes)
	addReport(b.String())
}

// runIDs are the workflow ids of runs.
func runIDs(runs []string) []string {
	var out []string
	for _, r := range runs {
		out = append(out, workflows.WorkflowID(r))
	}
	return out
}

// sizes is the history of a workflow id, every execution, in bytes.
type sizes struct {
	execs, events, bytes int
	byType               map[enumspb.EventType]int
}

func (s sizes) top(n int) string {
	types := slices.Collect(maps.Keys(s.byType))
	slices.SortFunc(types, func(a, b enumspb.EventType) int { return cmp.Compare(s.byType[b], s.byType[a]) })
	var parts []string
	for _, ty := range types[:min(n, len(types))] {
		name := shortNames[ty]
		if name == "" {
			name = ty.String()
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, s.byType[ty]))
	}
	return strings.Join(parts, ", ")
}

// historyBytes sums proto.Size of every event of every execution of a
// workflow id, following the continue-as-new chain back from the current one.
func historyBytes(ctx context.Context, t *testing.T, c client.Client, id string) sizes {
	out := sizes{byType: map[enumspb.EventType]int{}}
	runID := ""
	for {
		evs, err := history(ctx, c, id, runID)
		if err != nil {
			t.Fatalf("history of %s %s: %v", id, runID, err)
		}
		out.execs++
		out.events += len(evs)
		for _, e := range evs {
			n := proto.Size(e)
			out.bytes += n
			out.byType[e.EventType] += n
		}
		runID = firstEvent(evs).GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return out
		}
	}
}

func firstEvent(evs []*historypb.HistoryEvent) *historypb.HistoryEvent {
	if len(evs) == 0 {
		return nil
	}
	return evs[0]
}
