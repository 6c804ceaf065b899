package integration

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// Four customers sign at once, all with the same CSM: their four kickoff
// calls (an hour each) are booked in the CSM's OwnerCalendar workflow in
// four slots that do not overlap, inside the working hours tend.yaml's
// staff: gives the CSM (10:00-13:00 in New York, on workdays), whatever
// the letter case of the address. The calendar lists them, and booking a
// key again gives its slot again.
func TestOwnerCalendarSeparatesCalls(t *testing.T) {
	const owner = "slots.owner@vendor.example"
	cfg := config.Default()
	cfg.Outbox = env.outbox
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: env.crm.url, Secret: "test-secret", Timeout: 10 * time.Second}}
	cfg.Staff = map[string]config.StaffMember{owner: {Timezone: "America/New_York", Hours: "10:00-13:00"}}
	wo := workflows.Options{ActivityTimeout: 3 * time.Second, RetryInitial: 100 * time.Millisecond, RetryMax: time.Second}
	n, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: "testdata/playbooks", Logger: logger(), Reload: -1, Workflows: wo, Store: sets})
	if err != nil {
		t.Fatalf("start worker: %v", err)
	}
	defer n.Stop()

	customers := []string{"slots-a", "slots-b", "slots-c", "slots-d"}
	asked := time.Now().UTC()
	for i, c := range customers {
		evs := signup(c, asked)
		csm := owner
		if i == 3 {
			csm = "Slots.Owner@Vendor.example"
		}
		evs[0].Attributes["csm"] = csm
		send(t, evs...)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	type slot struct {
		key   string
		start time.Time
	}
	var slots []slot
	for _, c := range customers {
		run := engine.RunID("onboarding", c, 1)
		key := waitTask(t, run, "kickoff")
		v, _ := runView(t, run)
		var rec *lang.Record
		for i := range v.Timeline {
			if r := &v.Timeline[i]; r.Kind == lang.RecAction && r.Step == "kickoff" {
				rec = r
			}
		}
		if rec == nil || rec.Start == nil {
			t.Fatalf("%s: no kickoff with a slot in %+v", run, v.Timeline)
		}
		s := rec.Start.In(ny)
		if s.Before(asked.Add(-time.Second)) || s.Hour() < 10 || s.Add(time.Hour).After(time.Date(s.Year(), s.Month(), s.Day(), 13, 0, 0, 0, ny)) ||
			s.Weekday() == time.Saturday || s.Weekday() == time.Sunday {
			t.Errorf("%s: kickoff at %s, outside Monday-Friday 10:00-13:00 in New York after %s", run, s, asked)
		}
		slots = append(slots, slot{key, rec.Start.UTC()})
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].start.Before(slots[j].start) })
	for _, s := range slots {
		t.Logf("%s at %s", s.key, s.start.In(ny).Format(time.RFC1123))
	}
	for i := 1; i < len(slots); i++ {
		if slots[i].start.Before(slots[i-1].start.Add(time.Hour)) {
			t.Errorf("%s at %s overlaps %s at %s", slots[i].key, slots[i].start, slots[i-1].key, slots[i-1].start)
		}
	}

	id := workflows.OwnerID(owner)
	var view workflows.OwnerView
	q, err := env.cl.QueryWorkflow(ctx(t), id, "", workflows.QueryState)
	if err == nil {
		err = q.Get(&view)
	}
	if err != nil {
		t.Fatalf("query %s: %v", id, err)
	}
	got := map[string]time.Time{}
	for _, b := range view.Bookings {
		got[b.Key] = b.Start
	}
	for _, s := range slots {
		if !got[s.key].Equal(s.start) {
			t.Errorf("calendar has %s at %s, the run %s", s.key, got[s.key], s.start)
		}
	}
	// The same key again (a retried activity): the same slot, booked once.
	again, err := control.BookSlot(env.cl)(ctx(t), engine.BookRequest{Key: slots[2].key, Owner: owner, Earliest: time.Now(),
		Due: time.Now().Add(time.Hour), Duration: time.Hour, Hours: "10:00-13:00", Timezone: "UTC", Workdays: []string{"mon"}})
	if err != nil || !again.Equal(slots[2].start) {
		t.Errorf("booking %s again: %s, %v; want %s", slots[2].key, again, err, slots[2].start)
	}

	for _, c := range customers {
		run := engine.RunID("onboarding", c, 1)
		if res := finish(t, c, run, engine.TaskKey(run, "kickoff", 1)); res.Status != engine.StatusCompleted {
			t.Errorf("%s ended %s: %s", run, res.Status, res.Reason)
		}
	}
	if t.Failed() {
		return
	}
	// The booking path, for the replay corpus: one run and the calendar.
	recordHistories(t, id, engine.RunID("onboarding", customers[0], 1))
}

// An owner's calendar that continues as new carries the meetings ahead:
// slots booked after it never overlap those booked before, and a key
// booked before gets its slot again.
func TestOwnerCalendarContinuesAsNew(t *testing.T) {
	n := startNodeWith(t, "testdata/playbooks", workflows.Options{HistoryLimit: 25})
	defer n.Stop()
	const owner = "slots.busy@vendor.example"
	id := workflows.OwnerID(owner)
	book := control.BookSlot(env.cl)
	q := func(i int) engine.BookRequest {
		now := time.Now().UTC()
		return engine.BookRequest{Key: fmt.Sprintf("busy/%d", i), Owner: owner, Earliest: now, Due: now.Add(time.Hour),
			Duration: 30 * time.Minute, Hours: "00:00-24:00", Timezone: "UTC",
			Workdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}
	}
	var starts []time.Time
	for i := range 12 {
		s, err := book(ctx(t), q(i))
		if err != nil {
			t.Fatalf("book %d: %v", i, err)
		}
		if i > 0 && !s.Equal(starts[i-1].Add(30*time.Minute)) {
			t.Errorf("booking %d at %s, want right after %s", i, s, starts[i-1])
		}
		starts = append(starts, s)
	}
	if got := executions(t, id); got < 2 {
		t.Fatalf("%d executions of %s; want it to have continued as new", got, id)
	}
	again, err := book(ctx(t), q(0))
	if err != nil || !again.Equal(starts[0]) {
		t.Errorf("busy/0 again: %s, %v; want %s", again, err, starts[0])
	}
	var view workflows.OwnerView
	qv, err := env.cl.QueryWorkflow(ctx(t), id, "", workflows.QueryState)
	if err == nil {
		err = qv.Get(&view)
	}
	if err != nil || len(view.Bookings) != 12 {
		t.Fatalf("calendar after continuing as new: %d bookings, %v", len(view.Bookings), err)
	}
	recordHistoriesAs(t, ".limit-25", id)
}
