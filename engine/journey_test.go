package engine_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// quick is a playbook body that completes at once.
const quick = "steps:\n  - {id: ping, do: notify, text: ping}\n"

// started lists "time customer run" for each run.started record.
func started(recs []lang.Record) []string {
	out := []string{}
	for _, r := range recs {
		if r.Kind == lang.RecRunStarted {
			out = append(out, r.At.UTC().Format("01-02 15:04")+" "+r.Customer+" "+r.Run)
		}
	}
	return out
}

func TestTriggers(t *testing.T) {
	bob := `{id: bob, name: Bob, segment: smb, seats: 5, health: 90, csm: ann@v.example, contact_email: b@bob.example}`
	tests := []struct {
		name      string
		files     []string
		customers []string
		until     string
		events    []string
		want      []string
	}{
		{
			name: "on event types",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed, nps.responded], once_per: event.id}
` + quick},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: usage.reported, data: {logins: 1}}`,
				`{at: 2026-01-05T11:00:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-05T12:00:00Z, customer: acme, type: customer.updated, attributes: {seats: 3}}`,
				`{at: 2026-01-05T13:00:00Z, customer: acme, type: nps.responded, data: {score: 3}}`,
				`{at: 2026-01-05T14:00:00Z, customer: acme, type: contract.cancelled}`,
			},
			want: []string{"01-05 11:00 acme run/p/acme/1", "01-05 13:00 acme run/p/acme/2"},
		},
		{
			// when sees the attributes after the event's merge.
			name: "when false and true",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed], when: customer.segment == "enterprise" && event.data.plan != "trial", once_per: event.id}
` + quick},
			customers: []string{acme, bob},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: bob, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed, data: {plan: trial}}`,
				`{at: 2026-01-05T11:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-05T12:00:00Z, customer: bob, type: contract.signed, data: {plan: pro}, attributes: {segment: enterprise}}`,
			},
			want: []string{"01-05 11:00 acme run/p/acme/1", "01-05 12:00 bob run/p/bob/1"},
		},
		{
			// The edge trigger fires on each crossing below 50, not while
			// health stays low. Without once_per only the first crossing
			// ever starts a run.
			name: "edge trigger with before",
			files: []string{"a.yaml", `
playbook: drop-each
trigger: {on: [customer.updated], when: before.health >= 50 && customer.health < 50, once_per: event.id}
` + quick, "b.yaml", `
playbook: drop-once
trigger: {on: [customer.updated], when: before.health >= 50 && customer.health < 50}
` + quick},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: customer.updated, attributes: {health: 45}}`,
				`{at: 2026-01-05T11:00:00Z, customer: acme, type: customer.updated, attributes: {health: 40}}`,
				`{at: 2026-01-05T12:00:00Z, customer: acme, type: customer.updated, attributes: {seats: 7}}`,
				`{at: 2026-01-05T13:00:00Z, customer: acme, type: customer.updated, attributes: {health: 70}}`,
				`{at: 2026-01-05T14:00:00Z, customer: acme, type: customer.updated, attributes: {health: 30}}`,
			},
			want: []string{
				"01-05 10:00 acme run/drop-each/acme/1", "01-05 10:00 acme run/drop-once/acme/1",
				"01-05 14:00 acme run/drop-each/acme/2",
			},
		},
		{
			// 09:00 local: 14:00 UTC in New York (13:00 after the switch to
			// daylight time on Sunday 2026-03-08), 08:00 UTC in Berlin, 09:00 UTC
			// for a customer without a timezone (the calendar's UTC).
			name: "on daily at daily_at in the customer's timezone",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [daily], when: customer.seats > 10, once_per: now}
` + quick},
			customers: []string{
				`{id: ny, seats: 20, timezone: America/New_York}`,
				`{id: berlin, seats: 20, timezone: Europe/Berlin}`,
				`{id: utc, seats: 20}`,
				`{id: small, seats: 2}`,
			},
			until: "2026-01-07T00:00:00Z",
			want: []string{
				"01-05 08:00 berlin run/p/berlin/1", "01-05 09:00 utc run/p/utc/1", "01-05 14:00 ny run/p/ny/1",
				"01-06 08:00 berlin run/p/berlin/2", "01-06 09:00 utc run/p/utc/2", "01-06 14:00 ny run/p/ny/2",
			},
		},
		{
			name: "once_per runs again for a new key only",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed], once_per: event.data.plan}
` + quick},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-07T10:00:00Z, customer: acme, type: contract.signed, data: {plan: enterprise}}`,
				`{at: 2026-01-08T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-08T11:00:00Z, customer: acme, type: contract.signed, data: {plan: enterprise}}`,
			},
			want: []string{"01-05 10:00 acme run/p/acme/1", "01-07 10:00 acme run/p/acme/2"},
		},
		{
			name: "without once_per a playbook runs once per customer ever",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
` + quick},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed, data: {plan: other}}`,
			},
			want: []string{"01-05 10:00 acme run/p/acme/1"},
		},
		{
			// The run waits 2 days: the trigger on Tuesday is dropped even
			// with a new key; after the run ends on Wednesday it starts again.
			name: "no second concurrent run",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed], once_per: event.id}
steps:
  - wait: 2d
`},
			events: []string{
				`{at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-07T10:00:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-07T11:00:00Z, customer: acme, type: contract.signed}`,
			},
			want: []string{"01-05 10:00 acme run/p/acme/1", "01-07 11:00 acme run/p/acme/2"},
		},
		{
			// The second delivery has the same id: it is ignored, even
			// though its plan would be a new once_per key.
			name: "duplicate event id applied once",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed], once_per: event.data.plan}
` + quick},
			events: []string{
				`{id: evt-1, at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
				`{id: evt-1, at: 2026-01-05T11:00:00Z, customer: acme, type: contract.signed, data: {plan: gold}}`,
				`{id: evt-2, at: 2026-01-05T12:00:00Z, customer: acme, type: contract.signed, data: {plan: gold}}`,
			},
			want: []string{"01-05 10:00 acme run/p/acme/1", "01-05 12:00 acme run/p/acme/2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, tt.files...)
			customers := tt.customers
			if customers == nil {
				customers = []string{acme}
			}
			until := tt.until
			if until == "" {
				until = "2026-01-20T00:00:00Z"
			}
			recs := simulate(t, set, scenario(until, customers, tt.events...))
			diffLines(t, started(recs), tt.want)
		})
	}
}

// Daily checks follow the customer's clock across a daylight-saving change.
func TestDailyAcrossDST(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [daily], once_per: now}\n"+quick)
	sc := "start: 2026-03-07T00:00:00Z\nuntil: 2026-03-10T00:00:00Z\ncustomers:\n  - {id: ny, timezone: America/New_York}\n"
	diffLines(t, started(simulate(t, set, sc)), []string{
		"03-07 14:00 ny run/p/ny/1", "03-08 13:00 ny run/p/ny/2", "03-09 13:00 ny run/p/ny/3",
	})
}

// Several playbooks matching one event start in playbook-name order,
// whatever their file names.
func TestTriggerOrderByName(t *testing.T) {
	set := loadSet(t, testSchema,
		"a.yaml", "playbook: zulu\ntrigger: {on: [contract.signed]}\n"+quick,
		"b.yaml", "playbook: alpha\ntrigger: {on: [contract.signed]}\n"+quick,
		"c.yaml", "playbook: mike\ntrigger: {on: [contract.signed]}\n"+quick)
	recs := simulate(t, set, scenario("2026-01-06T00:00:00Z", []string{acme}, signed))
	diffLines(t, show(recs, false), []string{
		"01-05 10:00 alpha - run.started owner=jo@v.example",
		"01-05 10:00 alpha ping action action=notify",
		"01-05 10:00 alpha - run.completed",
		"01-05 10:00 mike - run.started owner=jo@v.example",
		"01-05 10:00 mike ping action action=notify",
		"01-05 10:00 mike - run.completed",
		"01-05 10:00 zulu - run.started owner=jo@v.example",
		"01-05 10:00 zulu ping action action=notify",
		"01-05 10:00 zulu - run.completed",
	})
}

func apply(t *testing.T, set *lang.Set, j *engine.Journey, ev *lang.Event) engine.Applied {
	t.Helper()
	if err := set.Schema.Normalize(ev); err != nil {
		t.Fatal(err)
	}
	return j.Apply(set, ev.At, ev)
}

// Attributes are merged; null removes one; maps are never changed in place;
// a duplicate id is acknowledged and changes nothing.
func TestJourneyApplyAttributes(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\n"+quick)
	j := engine.NewJourney("acme", map[string]any{"name": "Acme", "plan": "pro", "health": 80.0, "nps": nil})
	first := j.Attrs
	if want := map[string]any{"id": "acme", "name": "Acme", "plan": "pro", "health": 80.0}; !reflect.DeepEqual(first, want) {
		t.Fatalf("initial attrs %v, want %v", first, want)
	}
	at := utc("2026-01-05T10:00:00Z")
	a := apply(t, set, j, &lang.Event{ID: "u1", Type: "customer.updated", Customer: "acme", At: at,
		Attributes: map[string]any{"health": "30", "plan": nil, "seats": 12, "stage": "at_risk"}})
	wantAttrs := map[string]any{"id": "acme", "name": "Acme", "health": 30.0, "seats": 12, "stage": "at_risk"}
	if a.Duplicate || !reflect.DeepEqual(a.Attrs, wantAttrs) || !reflect.DeepEqual(j.Attrs, wantAttrs) {
		t.Errorf("attrs %v, want %v", a.Attrs, wantAttrs)
	}
	if want := map[string]any{"id": "acme", "name": "Acme", "plan": "pro", "health": 80.0}; !reflect.DeepEqual(a.Before, want) || !reflect.DeepEqual(first, want) {
		t.Errorf("before %v / first %v changed", a.Before, first)
	}
	wantRec := []lang.Record{{At: at, Customer: "acme", Kind: lang.RecStageChanged, To: "at_risk", Reason: "customer.updated"}}
	if !reflect.DeepEqual(a.Records, wantRec) || j.Stage() != "at_risk" {
		t.Errorf("records %+v stage %q", a.Records, j.Stage())
	}
	// The same id again: nothing changes, no run starts.
	dup := apply(t, set, j, &lang.Event{ID: "u1", Type: "contract.signed", Customer: "acme", At: at.Add(time.Hour),
		Attributes: map[string]any{"health": 10}})
	if !dup.Duplicate || len(dup.Starts) != 0 || j.Attrs["health"] != 30.0 {
		t.Errorf("duplicate applied: %+v, attrs %v", dup, j.Attrs)
	}
	// The id may not be changed by an event.
	bad := &lang.Event{ID: "u2", Type: "customer.updated", Customer: "acme", At: at, Attributes: map[string]any{"id": "other"}}
	if err := set.Schema.Normalize(bad); err == nil || err.Error() != "attributes: id cannot be changed" {
		t.Errorf("normalize id change: %v", err)
	}
}

// A playbook's stage moves the customer when a run starts; runs that
// start later in the same event see the new stage.
func TestJourneyPlaybookStage(t *testing.T) {
	set := loadSet(t, testSchema,
		"a.yaml", "playbook: a-onboard\nstage: onboarding\ntrigger: {on: [contract.signed]}\n"+quick,
		"b.yaml", "playbook: b-also\nstage: onboarding\ntrigger: {on: [contract.signed], when: customer.stage == \"onboarding\"}\n"+quick,
		"c.yaml", "playbook: c-adopt\nstage: adoption\ntrigger: {on: [usage.reported]}\n"+quick)
	j := engine.NewJourney("acme", map[string]any{"name": "Acme"})
	at := utc("2026-01-05T10:00:00Z")
	a := apply(t, set, j, &lang.Event{ID: "1", Type: "contract.signed", Customer: "acme", At: at})
	if len(a.Starts) != 2 || a.Starts[0].ID != "run/a-onboard/acme/1" || a.Starts[1].ID != "run/b-also/acme/1" {
		t.Fatalf("starts %+v", a.Starts)
	}
	want := []lang.Record{{At: at, Customer: "acme", Playbook: "a-onboard", Run: "run/a-onboard/acme/1", Kind: lang.RecStageChanged, To: "onboarding", Reason: "run started"}}
	if !reflect.DeepEqual(a.Records, want) || a.Attrs["stage"] != "onboarding" || a.Starts[0].Attrs["stage"] != "onboarding" {
		t.Errorf("records %+v attrs %v", a.Records, a.Attrs)
	}
	if _, ok := a.Before["stage"]; ok {
		t.Errorf("before has a stage: %v", a.Before)
	}
	at2 := at.Add(24 * time.Hour)
	a = apply(t, set, j, &lang.Event{ID: "2", Type: "usage.reported", Customer: "acme", At: at2})
	want = []lang.Record{{At: at2, Customer: "acme", Playbook: "c-adopt", Run: "run/c-adopt/acme/1", Kind: lang.RecStageChanged, From: "onboarding", To: "adoption", Reason: "run started"}}
	if !reflect.DeepEqual(a.Records, want) || j.Stage() != "adoption" {
		t.Errorf("records %+v stage %q", a.Records, j.Stage())
	}
	// The running runs get the event, in playbook order.
	if !reflect.DeepEqual(a.Forward, []string{"run/a-onboard/acme/1", "run/b-also/acme/1"}) {
		t.Errorf("forward %v", a.Forward)
	}
	j.RunEnded("a-onboard", "run/a-onboard/acme/1")
	j.RunEnded("b-also", "run/other")
	if j.Playbooks["a-onboard"].Active != "" || j.Playbooks["b-also"].Active != "run/b-also/acme/1" {
		t.Errorf("RunEnded: %+v %+v", j.Playbooks["a-onboard"], j.Playbooks["b-also"])
	}
}

// Through the simulator, the stage.changed record comes before the run's start.
func TestStageChangedRecord(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", "playbook: p\nstage: onboarding\ntrigger: {on: [contract.signed]}\n"+quick)
	recs := simulate(t, set, scenario("2026-01-06T00:00:00Z", []string{acme}, signed))
	diffLines(t, show(recs, false), []string{
		"01-05 10:00 p - stage.changed to=onboarding",
		"01-05 10:00 p - run.started owner=jo@v.example",
		"01-05 10:00 p ping action action=notify",
		"01-05 10:00 p - run.completed",
	})
}

const policySchema = testSchema + `
contact_policy:
  max_per_week: 3
  hours: "09:00-17:00"
`

// Reserve books slots in a rolling week and inside the local hours.
func TestJourneyReserve(t *testing.T) {
	set := loadSet(t, policySchema)
	j := engine.NewJourney("acme", map[string]any{"timezone": "Europe/Berlin"})
	// Monday 10:00 UTC is 11:00 in Berlin: three go out at once, the
	// fourth a week after the first.
	mon := utc("2026-01-05T10:00:00Z")
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, j.Reserve(set, mon).Format(time.RFC3339))
	}
	// 16:30 UTC is 17:30 in Berlin on Friday: Monday 09:00 Berlin, but
	// that week is full until 10:00 UTC.
	got = append(got, j.Reserve(set, utc("2026-01-09T16:30:00Z")).Format(time.RFC3339))
	diffLines(t, got, []string{
		"2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", "2026-01-12T10:00:00Z",
		"2026-01-12T10:00:00Z",
	})
	// Without a policy, Reserve is the identity and books nothing.
	free := loadSet(t, testSchema)
	j2 := engine.NewJourney("b", nil)
	if at := j2.Reserve(free, mon); !at.Equal(mon) || len(j2.Contacts) != 0 {
		t.Errorf("no policy: %v %v", at, j2.Contacts)
	}
}
