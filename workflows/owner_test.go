package workflows

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// An owner's calendar answers bookings in the order they come, never
// overlapping, answers a repeated key with its slot, rejects a request
// that does not parse without touching the ledger, and ends a day after
// its last meeting when nothing more is booked.
func TestOwnerCalendarBooksAndEnds(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC) // a Monday
	env.SetStartTime(start)
	New(NewPlaybooks(Bundle{}), Options{}).Register(env)
	req := func(key string) engine.BookRequest {
		return engine.BookRequest{Key: key, Owner: "jo@v.example", Earliest: start, Due: start.Add(48 * time.Hour),
			Duration: time.Hour, Hours: "09:00-17:00", Timezone: "UTC", Workdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	}
	got := map[string]time.Time{}
	var rejected error
	book := func(id string, q engine.BookRequest) {
		env.UpdateWorkflow(UpdateBookSlot, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { rejected = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("book %s: %v", id, err)
					return
				}
				got[id] = v.(time.Time)
			},
		}, q)
	}
	env.RegisterDelayedCallback(func() {
		book("a", req("a"))
		book("b", req("b"))
		bad := req("bad")
		bad.Timezone = "Mars/Olympus"
		book("bad", bad)
	}, 0)
	env.RegisterDelayedCallback(func() {
		book("a-again", req("a")) // a retried request, under another update id
		book("c", req("c"))
	}, time.Minute)
	var ended time.Time
	env.RegisterDelayedCallback(func() { ended = env.Now() }, 26*time.Hour) // after the last meeting, before a day has passed
	env.ExecuteWorkflow(OwnerWorkflow, OwnerInput{})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the calendar did not end")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("calendar: %v", err)
	}
	want := map[string]time.Time{"a": start, "b": start.Add(time.Hour), "a-again": start, "c": start.Add(2 * time.Hour)}
	for k, w := range want {
		if !got[k].Equal(w) {
			t.Errorf("%s booked at %s, want %s", k, got[k], w)
		}
	}
	if rejected == nil || !strings.Contains(rejected.Error(), `unknown time zone "Mars/Olympus"`) {
		t.Errorf("bad request: rejected with %v", rejected)
	}
	if ended.IsZero() {
		t.Error("the calendar ended before the day after its last meeting")
	}
}
