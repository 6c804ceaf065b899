package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-cs/tend/activities"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// kindCase is one row of the history-events table: a playbook in
// testdata/<dir> and the hand-written workflow that does the same
// Temporal-visible work.
type kindCase struct {
	row      string // the table's first column
	id       string // customer id prefix, and HandKind's kind
	dir      string // playbook directory under testdata
	event    string // the event type that triggers the playbook
	playbook string
	// then is what the test does once the run waits: "" nothing, "task"
	// completes the run's task as `tend tasks complete` does (an Update on
	// the run), "taskevent" sends a task.completed event for it to the
	// journey, "event" sends health 80.
	then string
}

var kindCases = []kindCase{
	{"email", "email", "kinds", "bench.email", "kind-email", ""},
	{"5 × email", "email5", "kinds", "bench.email5", "kind-email5", ""},
	{"webhook", "webhook", "kinds", "bench.webhook", "kind-webhook", ""},
	{"notify", "notify", "kinds", "bench.notify", "kind-notify", ""},
	{"call, task completed by `tend tasks complete` (Update)", "call", "kinds", "bench.call", "kind-call", "task"},
	{"call, task completed by a task.completed event", "call-ev", "kinds", "bench.call", "kind-call", "taskevent"},
	{"escalate, task completed by `tend tasks complete` (Update)", "escalate", "kinds", "bench.escalate", "kind-escalate", "task"},
	{"escalate, task completed by a task.completed event", "escalate-ev", "kinds", "bench.escalate", "kind-escalate", "taskevent"},
	{"wait 1m (timer fires)", "wait", "kinds", "bench.wait", "kind-wait", ""},
	{"wait_for, satisfied by an event", "wait_for", "kinds", "bench.wait_for", "kind-wait-for", "event"},
	{"update (stage)", "update", "kinds", "bench.update", "kind-update", ""},
	{"email under a weekly cap", "email", "kinds-cap", "bench.email", "kind-email-cap", ""},
}

// kindResult is what one row measured.
type kindResult struct {
	kindCase
	tend, hand, journey []*historypb.HistoryEvent
}

// TestHistoryEventsPerKind runs one tiny playbook per step kind on the
// embedded server, and a hand-written workflow doing the same
// Temporal-visible work (the same activities by name, the same timers, the
// same signals received), and compares the history events of the
// PlaybookRun with those of the hand-written workflow. It takes about 70s:
// the wait row waits a real minute, the shortest wait a playbook can write.
func TestHistoryEventsPerKind(t *testing.T) {
	if !*flagHistory && *flagTable == "" {
		t.Skip("pass -history (or -table FILE): about 70s on the embedded server")
	}
	s := server(t)
	outbox := t.TempDir()
	hand := startHand(t, s, outbox, worker.Options{}, HandKind)
	defer hand.Stop()
	nonce := fmt.Sprintf("%x", time.Now().UnixNano()%(1<<32))
	var mu sync.Mutex
	var results []kindResult
	for _, dir := range []string{"kinds", "kinds-cap"} {
		// One worker at a time polls the task queue `tend`: each playbook
		// directory gets its own.
		n := startNode(t, s, filepath.Join("testdata", dir), outbox, workflows.Options{}, worker.Options{})
		t.Run(dir, func(t *testing.T) {
			for _, kc := range kindCases {
				if kc.dir != dir {
					continue
				}
				t.Run(kc.id, func(t *testing.T) {
					t.Parallel()
					r := measureKind(t, s.client, kc, nonce)
					mu.Lock()
					results = append(results, r)
					mu.Unlock()
				})
			}
		})
		n.Stop()
	}
	slices.SortFunc(results, func(a, b kindResult) int {
		return slices.IndexFunc(kindCases, func(k kindCase) bool { return k.row == a.row }) -
			slices.IndexFunc(kindCases, func(k kindCase) bool { return k.row == b.row })
	})
	table := kindsTable(results)
	t.Log("\n" + table)
	addReport(table)
}

func measureKind(t *testing.T, c client.Client, kc kindCase, nonce string) kindResult {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cust := strings.ReplaceAll(kc.id, "_", "-") + "-" + kc.dir + "-" + nonce
	res := kindResult{kindCase: kc}
	var wg sync.WaitGroup
	var handErr error
	wg.Go(func() { res.hand, handErr = runHand(ctx, c, kc, cust) })
	res.tend, res.journey = runTend(ctx, t, c, kc, cust)
	wg.Wait()
	if handErr != nil {
		t.Fatalf("hand-written %s: %v", kc.id, handErr)
	}
	return res
}

// runTend sends the trigger event to the customer's journey, plays the
// run's part (completes its task or sends the event it waits for), waits
// for the run to complete and the journey to hear of it, and returns both
// histories.
func runTend(ctx context.Context, t *testing.T, c client.Client, kc kindCase, cust string) (run, journey []*historypb.HistoryEvent) {
	ev := &lang.Event{ID: cust + "-trigger", Type: kc.event, Customer: cust, At: time.Now(), Attributes: map[string]any{
		"name": "Acme", "csm": "jo@vendor.example", "manager": "max@vendor.example",
		"contact_email": "it@" + cust + ".example", "health": 20}}
	if err := control.SendEvents(ctx, c, []*lang.Event{ev}); err != nil {
		t.Fatal(err)
	}
	runID := engine.RunID(kc.playbook, cust, 1)
	switch kc.then {
	case "task", "taskevent":
		var task string
		poll(t, time.Minute, "the task of "+runID, func() (bool, string) {
			v, err := control.ShowRun(ctx, c, runID)
			if err != nil || len(v.State.Tasks) == 0 {
				return false, fmt.Sprint(err)
			}
			task = v.State.Tasks[0].ID
			return true, ""
		})
		if kc.then == "taskevent" {
			if err := control.SendEvents(ctx, c, []*lang.Event{engine.CompleteTaskEvent(cust, task, "done", time.Now())}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := control.CompleteTask(ctx, c, task, "done", time.Now()); err != nil {
			t.Fatal(err)
		}
	case "event":
		poll(t, time.Minute, runID+" to wait", func() (bool, string) {
			v, err := control.ShowRun(ctx, c, runID)
			if err != nil {
				return false, err.Error()
			}
			return strings.HasPrefix(v.Waiting, "waiting for"), v.Waiting
		})
		up := &lang.Event{ID: cust + "-healthy", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
			Attributes: map[string]any{"health": 80}}
		if err := control.SendEvents(ctx, c, []*lang.Event{up}); err != nil {
			t.Fatal(err)
		}
	}
	var res workflows.RunResult
	if err := waitClosed(ctx, c, runID, &res); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	if res.Status != engine.StatusCompleted {
		t.Fatalf("run %s ended %s: %s", runID, res.Status, res.Reason)
	}
	poll(t, time.Minute, "the journey of "+cust+" to see the run end", func() (bool, string) {
		var jv workflows.JourneyView
		q, err := c.QueryWorkflow(ctx, workflows.JourneyID(cust), "", workflows.QueryState)
		if err == nil {
			err = q.Get(&jv)
		}
		if err != nil {
			return false, err.Error()
		}
		return len(jv.Running) == 0, fmt.Sprint(jv.Running)
	})
	run, err := history(ctx, c, runID, "")
	if err != nil {
		t.Fatal(err)
	}
	journey, err = history(ctx, c, workflows.JourneyID(cust), "")
	if err != nil {
		t.Fatal(err)
	}
	return run, journey
}

// runHand starts the hand-written workflow, sends it the signal it waits
// for once it waits (as the journey would), and returns its history.
func runHand(ctx context.Context, c client.Client, kc kindCase, cust string) ([]*historypb.HistoryEvent, error) {
	id := "hand/" + kc.id + "/" + cust
	in := handInput{Kind: strings.TrimSuffix(kc.id, "-ev"), Customer: cust}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: handQueue}, HandKind, in)
	if err != nil {
		return nil, err
	}
	if kc.then != "" {
		err := pollErr(time.Minute, id+" to wait", func() (bool, string) {
			q, err := c.QueryWorkflow(ctx, id, "", "state")
			if err != nil {
				return false, err.Error()
			}
			var st string
			_ = q.Get(&st)
			return st == "waiting", st
		})
		if err != nil {
			return nil, err
		}
		ev := lang.Event{ID: cust + "-signal", Type: lang.EventCustomerUpdated, Customer: cust, At: time.Now(),
			Attributes: map[string]any{"health": 80}}
		if kc.then == "task" || kc.then == "taskevent" {
			ev = *engine.CompleteTaskEvent(cust, "task", "done", time.Now())
		}
		if err := c.SignalWorkflow(ctx, id, "", workflows.SignalEvent, ev); err != nil {
			return nil, err
		}
	}
	if err := run.Get(ctx, nil); err != nil {
		return nil, err
	}
	return history(ctx, c, id, "")
}

type handInput struct {
	Kind     string
	Customer string
}

// HandKind is what a Temporal developer would write for each playbook of
// testdata/kinds: the same activities, with the options tend uses, the same
// timers and the same signals, and nothing else: no search attributes, no
// journey. For update there is nothing Temporal-visible to do: the customer's
// record would live in this workflow.
func HandKind(ctx workflow.Context, in handInput) error {
	state := "running"
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return state, nil }); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, workflows.SignalEvent)
	// awaitEvent waits for one event with a timer beside it (a task's due
	// time, a wait_for's timeout) and cancels the timer when the event comes.
	awaitEvent := func(d time.Duration) {
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(tctx, d)
		state = "waiting"
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var ev lang.Event
			c.Receive(ctx, &ev)
		})
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.Select(ctx)
		cancel()
		state = "running"
	}
	now := workflow.Now(ctx)
	act := func(kind, step string) error {
		return handActivity(ctx, handAction(kind, in.Customer, step, now))
	}
	switch in.Kind {
	case "email", "webhook", "notify":
		return act(in.Kind, "hello")
	case "email5":
		for _, step := range []string{"one", "two", "three", "four", "five"} {
			if err := act("email", step); err != nil {
				return err
			}
		}
	case "call":
		if err := act("call", "kickoff"); err != nil {
			return err
		}
		awaitEvent(72 * time.Hour)
	case "escalate":
		if err := act("escalate", "alarm"); err != nil {
			return err
		}
		awaitEvent(48 * time.Hour)
	case "wait":
		return workflow.Sleep(ctx, time.Minute)
	case "wait_for":
		awaitEvent(30 * 24 * time.Hour)
	case "update":
	default:
		return temporal.NewNonRetryableApplicationError("unknown kind "+in.Kind, "BadKind", nil)
	}
	return nil
}

// handActivity runs an activity with the options tend's runs use (the
// defaults of workflows.Options).
func handActivity(ctx workflow.Context, a engine.Action) error {
	name, _ := activities.Name(a.Kind)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          a.Key,
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute, MaximumAttempts: 25},
	})
	return workflow.ExecuteActivity(ctx, name, a).Get(ctx, nil)
}

// handAction is the action tend would build for the step, near enough for
// the activities (the same kind of outbox file, of about the same size).
func handAction(kind, customer, step string, now time.Time) engine.Action {
	a := engine.Action{Kind: kind, Key: "hand/" + customer + "/1/" + step + "/1", Run: "hand/" + customer,
		Playbook: "hand", Customer: customer, Step: step, Occurrence: 1, Owner: "jo@vendor.example"}
	switch kind {
	case "email":
		a.To, a.Subject, a.Body = "it@"+customer+".example", "Hello, Acme", "A short message from your CSM."
		a.Title = a.Subject
	case "call":
		due, start := now.Add(72*time.Hour).UTC(), now.Add(48*time.Hour).UTC()
		a.Title, a.Due, a.Start, a.Duration = "Kickoff with Acme", &due, &start, time.Hour
	case "escalate":
		due := now.Add(48 * time.Hour).UTC()
		a.To, a.Owner, a.Reason, a.Due = "max@vendor.example", "max@vendor.example", "Acme needs attention", &due
		a.Title = "Escalation: " + a.Reason
	case "webhook":
		a.Endpoint, a.To, a.Fields = "crm", "crm", map[string]string{"status": "onboarded", "customer": customer}
	case "notify":
		a.Channel, a.To, a.Text = "cs-team", "cs-team", "Acme signed"
		a.Title = a.Text
	}
	return a
}

// kindsTable formats the results as Markdown, with the extra events of
// each row by type.
func kindsTable(results []kindResult) string {
	var b strings.Builder
	b.WriteString("### History events per step kind (PlaybookRun vs hand-written workflow)\n\n")
	b.WriteString("| kind | tend PlaybookRun | hand-written | extra | extra events, by type | journey, per customer |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|\n")
	byID := map[string]kindResult{}
	for _, r := range results {
		if r.dir == "kinds" {
			byID[r.id] = r
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %+d | %s | %d |\n", r.row, len(r.tend), len(r.hand), len(r.tend)-len(r.hand),
			diffTypes(r.tend, r.hand), len(r.journey))
	}
	if one, five := byID["email"], byID["email5"]; one.tend != nil && five.tend != nil {
		fmt.Fprintf(&b, "\nEach email after the first: tend +%.1f events, hand-written +%.1f: the extra is per run, not per step.\n",
			float64(len(five.tend)-len(one.tend))/4, float64(len(five.hand)-len(one.hand))/4)
	}
	if one := byID["email"]; one.tend != nil {
		fmt.Fprintf(&b, "\nThe email row event by event (WFT: a workflow task, scheduled, started and completed).\n\n"+
			"- PlaybookRun: %s\n- hand-written: %s\n- CustomerJourney (not in the hand-written setup at all): %s\n",
			sequence(one.tend), sequence(one.hand), sequence(one.journey))
	}
	var over []kindResult
	for _, r := range results {
		if len(r.tend)-len(r.hand) > 3 {
			over = append(over, r)
		}
	}
	if len(over) > 0 {
		b.WriteString("\nThe rows over hand-written + 3, event by event:\n")
		for _, r := range over {
			fmt.Fprintf(&b, "\n%s (%+d):\n\n- PlaybookRun: %s\n- hand-written: %s\n- CustomerJourney: %s\n",
				r.row, len(r.tend)-len(r.hand), sequence(r.tend), sequence(r.hand), sequence(r.journey))
		}
	}
	return b.String()
}

// sequence lists a history's event types in order, a workflow task as WFT.
func sequence(evs []*historypb.HistoryEvent) string {
	var out []string
	for i := 0; i < len(evs); i++ {
		ty := evs[i].EventType
		if ty == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED && i+2 < len(evs) &&
			evs[i+1].EventType == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED && evs[i+2].EventType == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			out = append(out, "WFT")
			i += 2
			continue
		}
		name := shortNames[ty]
		if name == "" {
			name = ty.String()
		}
		out = append(out, name)
	}
	return strings.Join(out, ", ")
}

// shortNames name the event types that differ in the table.
var shortNames = map[enumspb.EventType]string{
	enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:                    "UpsertSearchAttributes",
	enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:         "SignalExternalInitiated",
	enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:                 "ExternalSignaled",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:                          "Signaled",
	enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:            "SignalExternalFailed",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:                  "ContinuedAsNew",
	enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:             "StartChildInitiated",
	enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:                         "PropertiesModified",
	enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "RequestCancelExternal",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:                   "UpdateAccepted",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:                  "UpdateCompleted",
}

// diffTypes lists the event types whose counts differ, as "+2 Upsert…";
// workflow tasks (scheduled, started, completed) are counted as tasks.
func diffTypes(tend, hand []*historypb.HistoryEvent) string {
	count := func(evs []*historypb.HistoryEvent) map[enumspb.EventType]int {
		m := map[enumspb.EventType]int{}
		for _, e := range evs {
			m[e.EventType]++
		}
		return m
	}
	a, h := count(tend), count(hand)
	var types []enumspb.EventType
	for ty := range a {
		types = append(types, ty)
	}
	for ty := range h {
		if _, ok := a[ty]; !ok {
			types = append(types, ty)
		}
	}
	slices.Sort(types)
	var parts []string
	wft := []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED}
	if d := a[wft[0]] - h[wft[0]]; d != 0 && d == a[wft[1]]-h[wft[1]] && d == a[wft[2]]-h[wft[2]] {
		parts = append(parts, fmt.Sprintf("%+d workflow task (×3 events)", d))
		for _, ty := range wft {
			delete(a, ty)
			delete(h, ty)
		}
	}
	for _, ty := range types {
		d := a[ty] - h[ty]
		if d == 0 {
			continue
		}
		name := shortNames[ty]
		if name == "" {
			name = ty.String()
		}
		parts = append(parts, fmt.Sprintf("%+d %s", d, name))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
