package sim_test

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// simSchema: 2026-01-05 is a Monday and Monday 2026-01-19 a holiday. seats
// is read from the CSV column "Seat Count".
const simSchema = `
customer:
  name: string
  segment: {type: string, enum: [smb, enterprise]}
  seats: {type: int, column: Seat Count}
  health: float
  csm: string
  contact_email: string
  timezone: string
  renewal_date: time
  reviewed: bool
events:
  contract.signed: {plan: string}
  nps.responded: {score: int, comment: string}
  csat.responded: {score: int}
calendar:
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri]
  holidays: [2026-01-19]
  daily_at: "09:00"
`

const policy = `
contact_policy:
  max_per_week: 3
  hours: "09:00-17:00"
`

func loadSet(t *testing.T, schema string, files ...string) *lang.Set {
	t.Helper()
	fs := []lang.File{{Path: "schema.yaml", Data: []byte(schema)}}
	for i := 0; i+1 < len(files); i += 2 {
		fs = append(fs, lang.File{Path: files[i], Data: []byte(files[i+1])})
	}
	set, errs := lang.Load(fs)
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	return set
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ev builds a normalized event.
func ev(t *testing.T, set *lang.Set, id, at, customer, typ string, data, attrs map[string]any) *lang.Event {
	t.Helper()
	e := &lang.Event{ID: id, Type: typ, Customer: customer, At: utc(at), Data: data, Attributes: attrs}
	if err := set.Schema.Normalize(e); err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, set *lang.Set, in sim.Input) []lang.Record {
	t.Helper()
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Records
}

// show renders records as "01-05 10:00 customer playbook step kind [action]".
func show(recs []lang.Record) []string {
	out := []string{}
	for _, r := range recs {
		line := r.At.UTC().Format("01-02 15:04") + " " + r.Customer + " " + dash(r.Playbook) + " " + dash(r.Step) + " " + r.Kind
		if r.Action != "" {
			line += " " + r.Action
		}
		if r.Kind == lang.RecMessageHeld && r.Until != nil {
			line += " until " + r.Until.UTC().Format("01-02 15:04") + ": " + r.Reason
		}
		out = append(out, line)
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func diffLines(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records differ\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// At most 3 messages in any rolling week, across playbooks: the 4th is
// delayed until a week after the 1st, the run waits for it, and the
// action record's time is the send time.
func TestContactPolicyMaxPerWeek(t *testing.T) {
	set := loadSet(t, simSchema+policy, "mail.yaml", `
playbook: mail
trigger: {on: [contract.signed]}
steps:
  - id: r
    repeat:
      every: 1d
      times: 5
      steps:
        - {id: m, do: email, subject: "Tip", body: "tip"}
`, "other.yaml", `
playbook: other
trigger: {on: [nps.responded]}
steps:
  - {id: thanks, do: survey, kind: csat, template: csat}
`, "templates/csat.md", "---\nsubject: How did we do?\n---\nRate us.\n")
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-02-01T00:00:00Z"),
		Customers: []sim.Customer{{ID: "acme", Attrs: map[string]any{"contact_email": "it@acme.example"}}},
		Events: []*lang.Event{
			ev(t, set, "1", "2026-01-05T10:00:00Z", "acme", "contract.signed", nil, nil),
			ev(t, set, "2", "2026-01-08T12:00:00Z", "acme", "nps.responded", map[string]any{"score": 9}, nil),
		},
	}
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	recs := res.Records
	diffLines(t, show(recs), []string{
		"01-05 10:00 acme mail - run.started",
		"01-05 10:00 acme mail m action email",
		"01-06 10:00 acme mail m action email",
		"01-07 10:00 acme mail m action email",
		// Thursday's 4th email waits for Monday 10:00, a week after the 1st.
		"01-08 10:00 acme mail m message.held email until 01-12 10:00: held by the contact policy until Mon 12 Jan 10:00 UTC (weekly cap of 3 messages)",
		"01-08 12:00 acme other - run.started",
		"01-08 12:00 acme other thanks message.held survey until 01-13 10:00: held by the contact policy until Tue 13 Jan 10:00 UTC (weekly cap of 3 messages)",
		// The run goes on while its message is held: the 5th email.
		"01-09 10:00 acme mail m message.held email until 01-14 10:00: held by the contact policy until Wed 14 Jan 10:00 UTC (weekly cap of 3 messages)",
		"01-12 10:00 acme mail m action email",
		// The survey, reserved Thursday, needs a week with fewer than 3:
		// the week from Wednesday 10:00 holds Wednesday's and Monday's.
		"01-13 10:00 acme other thanks action survey",
		"01-13 10:00 acme other - run.completed",
		// The 5th email is due Tuesday 10:00, after the survey took the slot.
		"01-14 10:00 acme mail m action email",
		"01-14 10:00 acme mail - run.completed",
	})
	for _, r := range recs {
		if r.Kind == lang.RecAction && r.To != "it@acme.example" {
			t.Errorf("action to %q", r.To)
		}
	}
}

// Outside the contact hours a message waits for 09:00 local on the next
// workday; weekends and holidays are skipped. The run does not wait for a
// held message: the next step goes at once, and the run completes once the
// message is sent.
func TestContactPolicyHours(t *testing.T) {
	set := loadSet(t, simSchema+policy, "p.yaml", `
playbook: p
trigger: {on: [contract.signed], once_per: event.id}
steps:
  - {id: hello, do: email, subject: Hello, body: hi}
  - {id: after, do: notify, text: sent}
`)
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-02-01T00:00:00Z"),
		Customers: []sim.Customer{
			{ID: "berlin", Attrs: map[string]any{"timezone": "Europe/Berlin"}},
			{ID: "ny", Attrs: map[string]any{"timezone": "America/New_York"}},
			{ID: "utc"},
		},
		Events: []*lang.Event{
			// 08:00 in New York: 09:00 New York is 14:00 UTC.
			ev(t, set, "1", "2026-01-05T13:00:00Z", "ny", "contract.signed", nil, nil),
			// Friday 22:00 in Berlin: Monday 09:00 Berlin is 08:00 UTC.
			ev(t, set, "2", "2026-01-09T21:00:00Z", "berlin", "contract.signed", nil, nil),
			// Friday 20:00 UTC: Monday the 19th is a holiday, so Tuesday 09:00.
			ev(t, set, "3", "2026-01-16T20:00:00Z", "utc", "contract.signed", nil, nil),
			// Inside the hours: at once.
			ev(t, set, "4", "2026-01-21T16:59:00Z", "utc", "contract.signed", nil, nil),
		},
	}
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	diffLines(t, show(res.Records), []string{
		"01-05 13:00 ny p - run.started",
		"01-05 13:00 ny p hello message.held email until 01-05 14:00: held by the contact policy until Mon 5 Jan 09:00 EST (outside 09:00-17:00)",
		"01-05 13:00 ny p after action notify",
		"01-05 14:00 ny p hello action email",
		"01-05 14:00 ny p - run.completed",
		"01-09 21:00 berlin p - run.started",
		"01-09 21:00 berlin p hello message.held email until 01-12 08:00: held by the contact policy until Mon 12 Jan 09:00 CET (outside 09:00-17:00)",
		"01-09 21:00 berlin p after action notify",
		"01-12 08:00 berlin p hello action email",
		"01-12 08:00 berlin p - run.completed",
		"01-16 20:00 utc p - run.started",
		"01-16 20:00 utc p hello message.held email until 01-20 09:00: held by the contact policy until Tue 20 Jan 09:00 UTC (outside 09:00-17:00)",
		"01-16 20:00 utc p after action notify",
		"01-20 09:00 utc p hello action email",
		"01-20 09:00 utc p - run.completed",
		"01-21 16:59 utc p - run.started",
		"01-21 16:59 utc p hello action email",
		"01-21 16:59 utc p after action notify",
		"01-21 16:59 utc p - run.completed",
	})
}

// Records are ordered by time, then customer id, then the order in which
// things happened, whatever the input order of customers.
func TestRecordOrder(t *testing.T) {
	set := loadSet(t, simSchema, "a.yaml", `
playbook: a
trigger: {on: [contract.signed]}
steps:
  - {id: one, do: notify, text: one}
  - wait: 1h
  - {id: two, do: notify, text: two}
`, "b.yaml", "playbook: b\ntrigger: {on: [contract.signed]}\nsteps:\n  - {id: three, do: notify, text: three}\n")
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-06T00:00:00Z"),
		Customers: []sim.Customer{{ID: "zed"}, {ID: "amy"}},
		Events: []*lang.Event{
			ev(t, set, "1", "2026-01-05T10:00:00Z", "zed", "contract.signed", nil, nil),
			ev(t, set, "2", "2026-01-05T10:00:00Z", "mia", "contract.signed", nil, nil),
			ev(t, set, "3", "2026-01-05T10:30:00Z", "amy", "contract.signed", nil, nil),
		},
	}
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 3 || res.Events != 3 {
		t.Errorf("customers %d events %d", res.Customers, res.Events)
	}
	diffLines(t, show(res.Records), []string{
		"01-05 10:00 mia a - run.started",
		"01-05 10:00 mia a one action notify",
		"01-05 10:00 mia b - run.started",
		"01-05 10:00 mia b three action notify",
		"01-05 10:00 mia b - run.completed",
		"01-05 10:00 zed a - run.started",
		"01-05 10:00 zed a one action notify",
		"01-05 10:00 zed b - run.started",
		"01-05 10:00 zed b three action notify",
		"01-05 10:00 zed b - run.completed",
		"01-05 10:30 amy a - run.started",
		"01-05 10:30 amy a one action notify",
		"01-05 10:30 amy b - run.started",
		"01-05 10:30 amy b three action notify",
		"01-05 10:30 amy b - run.completed",
		"01-05 11:00 mia a two action notify",
		"01-05 11:00 mia a - run.completed",
		"01-05 11:00 zed a two action notify",
		"01-05 11:00 zed a - run.completed",
		"01-05 11:30 amy a two action notify",
		"01-05 11:30 amy a - run.completed",
	})
}

// At one instant: external events first (in input order), then timers (in
// the order they were set), then the daily check.
func TestSameInstantOrder(t *testing.T) {
	set := loadSet(t, simSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
exit_when: event.type == "nps.responded" || (event.type == "daily" && days_since(run.started_at) >= 1)
steps:
  - wait: 1d
  - {id: after-wait, do: notify, text: waited}
  - wait: 1d
  - {id: never, do: notify, text: never}
`, "q.yaml", `
playbook: q
trigger: {on: [contract.signed], when: customer.health < 50}
steps:
  - {id: low, do: notify, text: low}
`)
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-10T00:00:00Z"),
		Customers: []sim.Customer{{ID: "a", Attrs: map[string]any{"health": 80.0}}, {ID: "b", Attrs: map[string]any{"health": 80.0}}},
		Events: []*lang.Event{
			// a: the health drop comes first in the input, so q sees it.
			ev(t, set, "1", "2026-01-05T09:00:00Z", "a", "customer.updated", nil, map[string]any{"health": 40}),
			ev(t, set, "2", "2026-01-05T09:00:00Z", "a", "contract.signed", nil, nil),
			// b: the nps answer at the same instant as the wait's end
			// comes first and exits the run.
			ev(t, set, "3", "2026-01-05T09:00:00Z", "b", "contract.signed", nil, nil),
			ev(t, set, "4", "2026-01-06T09:00:00Z", "b", "nps.responded", map[string]any{"score": 1}, nil),
		},
	}
	diffLines(t, show(run(t, set, in)), []string{
		"01-05 09:00 a p - run.started",
		"01-05 09:00 a q - run.started",
		"01-05 09:00 a q low action notify",
		"01-05 09:00 a q - run.completed",
		"01-05 09:00 b p - run.started",
		// a: the wait's timer at 09:00 comes before the daily check that exits.
		"01-06 09:00 a p after-wait action notify",
		"01-06 09:00 a p - run.exited",
		"01-06 09:00 b p - run.exited",
	})
}

// Events before start, or at or after until, are not applied; a customer
// only named by events starts with no attributes.
func TestWindowAndInputErrors(t *testing.T) {
	set := loadSet(t, simSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed], once_per: event.id}\nsteps:\n  - {id: n, do: notify, text: 'hi {{ customer.id }}'}\n")
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-06T00:00:00Z"),
		Events: []*lang.Event{
			ev(t, set, "0", "2026-01-04T23:59:59Z", "x", "contract.signed", nil, nil),
			ev(t, set, "1", "2026-01-05T00:00:00Z", "x", "contract.signed", nil, nil),
			ev(t, set, "2", "2026-01-05T23:59:59Z", "x", "contract.signed", nil, nil),
			ev(t, set, "3", "2026-01-06T00:00:00Z", "x", "contract.signed", nil, nil),
		},
	}
	diffLines(t, show(run(t, set, in)), []string{
		"01-05 00:00 x p - run.started",
		"01-05 00:00 x p n action notify",
		"01-05 00:00 x p - run.completed",
		"01-05 23:59 x p - run.started",
		"01-05 23:59 x p n action notify",
		"01-05 23:59 x p - run.completed",
	})
	if _, err := sim.Run(set, sim.Input{Start: in.Start, Until: in.Start}); err == nil ||
		err.Error() != "until 2026-01-05T00:00:00Z is not after start 2026-01-05T00:00:00Z" {
		t.Errorf("until == start: %v", err)
	}
	if _, err := sim.Run(set, sim.Input{Start: in.Start, Until: in.Until, Customers: []sim.Customer{{ID: "a"}, {ID: "a"}}}); err == nil ||
		err.Error() != "customer a is listed twice" {
		t.Errorf("duplicate customer: %v", err)
	}
}

// A run that updates the customer while handling an event: runs that get
// the same event after it must keep the updated attributes.
func TestUpdateDuringEventKeepsAttributes(t *testing.T) {
	set := loadSet(t, simSchema, "a.yaml", `
playbook: a-updater
trigger: {on: [contract.signed]}
steps:
  - wait_for: {until: event.type == "nps.responded"}
  - {id: mark, do: update, set: {reviewed: true}}
`, "b.yaml", `
playbook: b-reader
trigger: {on: [contract.signed]}
steps:
  - wait: 2h
  - {id: check, when: customer.reviewed, do: notify, text: reviewed}
`)
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-06T00:00:00Z"),
		Customers: []sim.Customer{{ID: "acme", Attrs: map[string]any{"reviewed": false}}},
		Events: []*lang.Event{
			ev(t, set, "1", "2026-01-05T10:00:00Z", "acme", "contract.signed", nil, nil),
			ev(t, set, "2", "2026-01-05T11:00:00Z", "acme", "nps.responded", map[string]any{"score": 3}, nil),
		},
	}
	diffLines(t, show(run(t, set, in)), []string{
		"01-05 10:00 acme a-updater - run.started",
		"01-05 10:00 acme b-reader - run.started",
		"01-05 11:00 acme a-updater mark action update",
		"01-05 11:00 acme a-updater - run.completed",
		"01-05 12:00 acme b-reader check action notify",
		"01-05 12:00 acme b-reader - run.completed",
	})
}

// bigInput is many customers with a mix of playbooks, contact policy,
// tasks and daily checks, for the determinism tests.
func bigInput(t *testing.T) (*lang.Set, sim.Input) {
	set := loadSet(t, simSchema+policy, "onboard.yaml", `
playbook: onboard
trigger: {on: [contract.signed]}
exit_when: customer.health < 10
steps:
  - {id: welcome, do: email, subject: "Welcome {{ customer.name }}", body: hi}
  - {id: kickoff, do: call, title: Kickoff, due: 2 business days, overdue: [{do: escalate, to: customer.csm, reason: late}]}
  - id: nudge
    repeat:
      every: 2d
      times: 4
      steps: [{id: tip, do: email, subject: Tip, body: tip}]
  - id: health
    if: customer.health < 50
    then: [{id: low, do: task, title: Look, wait: false}]
    else: [{id: fine, do: notify, text: fine}]
`, "drop.yaml", `
playbook: drop
trigger: {on: [customer.updated], when: before.health >= 50 && customer.health < 50, once_per: event.id}
steps:
  - {id: survey, do: survey, kind: nps, template: nps}
  - wait_for: {until: 'event.type == "nps.responded"', timeout: 3 business days, on_timeout: [{do: notify, text: silent}]}
`, "daily.yaml", `
playbook: daily
trigger: {on: [daily], when: customer.seats > 40, once_per: now}
steps:
  - {id: d, do: notify, text: daily}
`, "templates/nps.md", "---\nsubject: NPS\n---\nscore?\n")
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
	in := sim.Input{Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-02-15T00:00:00Z")}
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("c%02d", (i*37)%60)
		in.Customers = append(in.Customers, sim.Customer{ID: id, Attrs: map[string]any{
			"name": "C" + id, "seats": i, "health": float64(40 + i), "csm": "csm@v.example",
			"contact_email": id + "@x.example", "timezone": zones[i%len(zones)]}})
	}
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("c%02d", (i*37)%60)
		day := 5 + i%7
		in.Events = append(in.Events,
			ev(t, set, "s"+id, fmt.Sprintf("2026-01-%02dT%02d:00:00Z", day, 8+i%10), id, "contract.signed", nil, nil),
			ev(t, set, "h"+id, fmt.Sprintf("2026-01-%02dT12:00:00Z", day+3), id, "customer.updated", nil, map[string]any{"health": float64(i % 60)}))
		if i%3 == 0 {
			in.Events = append(in.Events, ev(t, set, "n"+id, fmt.Sprintf("2026-01-%02dT12:00:00Z", day+4), id, "nps.responded", map[string]any{"score": i % 11}, nil))
		}
		if i%4 == 0 {
			in.Events = append(in.Events, ev(t, set, "t"+id, fmt.Sprintf("2026-01-%02dT15:00:00Z", day+1), id, "task.completed",
				map[string]any{"playbook": "onboard", "step": "kickoff"}, nil))
		}
	}
	sortEvents(in.Events)
	return set, in
}

func sortEvents(evs []*lang.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].At.Before(evs[j-1].At); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func TestDeterminism(t *testing.T) {
	set, in := bigInput(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var outs [][]lang.Record
	for _, procs := range []int{1, 4, 4, 1} {
		runtime.GOMAXPROCS(procs)
		outs = append(outs, run(t, set, in))
	}
	first := outs[0]
	kinds := map[string]int{}
	for _, r := range first {
		kinds[r.Kind]++
	}
	// The input exercises most of the interpreter; check that it did.
	for _, k := range []string{lang.RecRunStarted, lang.RecAction, lang.RecTaskCompleted, lang.RecTaskOverdue,
		lang.RecWaitTimeout, lang.RecRunCompleted, lang.RecRunExited} {
		if kinds[k] == 0 {
			t.Errorf("no %s record in %d records: %v", k, len(first), kinds)
		}
	}
	for i, out := range outs[1:] {
		if !reflect.DeepEqual(out, first) {
			t.Fatalf("run %d differs from run 0 (%d vs %d records)", i+1, len(out), len(first))
		}
	}
	// By time, then customer; each customer's own records in order of happening.
	for i := 1; i < len(first); i++ {
		a, b := first[i-1], first[i]
		if b.At.Before(a.At) || (b.At.Equal(a.At) && b.Customer < a.Customer) {
			t.Fatalf("records %d and %d out of order: %+v, %+v", i-1, i, a, b)
		}
	}
	// Every customer's records, read alone, match a simulation of that
	// customer alone, but for the slots of calls: customers share their
	// owners' calendars (all of them csm@v.example here).
	for _, c := range []string{"c00", "c17", "c42"} {
		solo := in
		solo.Customers = nil
		solo.Events = nil
		for _, x := range in.Customers {
			if x.ID == c {
				solo.Customers = append(solo.Customers, x)
			}
		}
		for _, e := range in.Events {
			if e.Customer == c {
				solo.Events = append(solo.Events, e)
			}
		}
		var mine []lang.Record
		for _, r := range first {
			if r.Customer == c {
				mine = append(mine, r)
			}
		}
		got := run(t, set, solo)
		if !reflect.DeepEqual(withoutStarts(got), withoutStarts(mine)) || len(mine) == 0 {
			t.Errorf("customer %s alone: %d records, in the crowd: %d", c, len(got), len(mine))
		}
	}
}

// Runs started by one event, where an earlier one updates the customer:
// the later ones start with the attributes the event left, as a journey
// starts them all at once, and get the update as an event afterwards.
func TestUpdateWhileStartingKeepsAttributes(t *testing.T) {
	set := loadSet(t, simSchema, "a.yaml", `
playbook: a-updater
trigger: {on: [contract.signed]}
steps:
  - {id: mark, do: update, set: {reviewed: true, health: 12.5}}
`, "b.yaml", `
playbook: b-reader
trigger: {on: [contract.signed], when: customer.reviewed == false}
steps:
  - {id: check, when: customer.reviewed && customer.health == 12.5, do: notify, text: reviewed}
`)
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-06T00:00:00Z"),
		Customers: []sim.Customer{{ID: "acme", Attrs: map[string]any{"reviewed": false, "health": 90.0}}},
		Events:    []*lang.Event{ev(t, set, "1", "2026-01-05T10:00:00Z", "acme", "contract.signed", nil, nil)},
	}
	diffLines(t, show(run(t, set, in)), []string{
		"01-05 10:00 acme a-updater - run.started",
		"01-05 10:00 acme a-updater mark action update",
		"01-05 10:00 acme a-updater - run.completed",
		"01-05 10:00 acme b-reader - run.started",
		"01-05 10:00 acme b-reader check step.skipped",
		"01-05 10:00 acme b-reader - run.completed",
	})
}

// withoutStarts copies records without the slots proposed for meetings.
func withoutStarts(recs []lang.Record) []lang.Record {
	out := make([]lang.Record, len(recs))
	for i, r := range recs {
		r.Start = nil
		out[i] = r
	}
	return out
}

// Four calls for one owner asked for at the same instant, by three
// customers and two playbooks, land in four slots one after another;
// another owner's call is not held up. Customers come in id order, a
// customer's own in key order. Owners are matched without letter case.
// With staff settings, the owner's own hours and zone apply.
func TestMeetingsShareTheOwnersCalendar(t *testing.T) {
	set := loadSet(t, simSchema, "kickoff.yaml", `
playbook: kickoff
trigger: {on: [contract.signed]}
owner: customer.csm
steps:
  - {id: kick, do: call, title: "Kickoff {{ customer.name }}", duration: 1h, due: 2 business days}
`, "review.yaml", `
playbook: review
trigger: {on: [contract.signed], when: customer.seats > 100}
owner: customer.csm
steps:
  - {id: admin, do: training, title: "Admin training {{ customer.name }}", due: 5 business days, wait: false}
`)
	cust := func(id, csm string, seats int) sim.Customer {
		return sim.Customer{ID: id, Attrs: map[string]any{"name": strings.ToUpper(id), "csm": csm, "seats": seats}}
	}
	in := sim.Input{
		Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-10T00:00:00Z"),
		Customers: []sim.Customer{cust("c", "Jo@V.example", 120), cust("a", "jo@v.example", 10), cust("b", "jo@v.example", 10), cust("z", "ana@v.example", 10)},
	}
	for _, c := range []string{"z", "c", "b", "a"} {
		in.Events = append(in.Events, ev(t, set, "s"+c, "2026-01-05T10:00:00Z", c, "contract.signed", nil, nil))
	}
	slots := func(recs []lang.Record) []string {
		out := []string{}
		for _, r := range recs {
			if r.Kind == lang.RecAction && r.Start != nil {
				out = append(out, r.Customer+" "+r.Step+" "+r.Start.Format("01-02 15:04"))
			}
		}
		return out
	}
	// A business day of notice: the meetings asked for on Monday are on
	// Tuesday.
	diffLines(t, slots(run(t, set, in)), []string{
		"a kick 01-06 09:00",
		"b kick 01-06 10:00",
		"c kick 01-06 11:00",
		"c admin 01-06 12:00",
		"z kick 01-06 09:00",
	})
	// Jo works 09:00-12:00 in New York (14:00-17:00 UTC), Tuesday to
	// Thursday. Jo's first working day after the step is Tuesday, so the
	// notice asks for Wednesday, but the calls are due Wednesday 10:00
	// UTC: the three hours of Tuesday take them. The training, due later,
	// goes to Wednesday.
	in.Staff = engine.Staff{"jo@v.example": {Timezone: "America/New_York", Hours: "09:00-12:00", Workdays: []string{"tue", "wed", "thu"}}}
	diffLines(t, slots(run(t, set, in)), []string{
		"a kick 01-06 14:00",
		"b kick 01-06 15:00",
		"c kick 01-06 16:00",
		"c admin 01-07 14:00",
		"z kick 01-06 09:00",
	})
}
