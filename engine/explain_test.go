package engine_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// explainIn simulates a scenario and explains one customer.
func explainIn(t *testing.T, set *lang.Set, sc, customer string) engine.Report {
	t.Helper()
	s, errs := lang.ParseScenario("scenario.yaml", []byte(sc), set.Schema)
	if len(errs) > 0 {
		t.Fatalf("scenario: %v\n%s", errs, sc)
	}
	in := sim.Input{Start: s.Start, Until: s.Until, Events: s.Events}
	for _, c := range s.Customers {
		in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
	}
	r, err := sim.Explain(set, in, customer)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func varsText(vs []engine.Var) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out
}

// TestExplain covers every answer of tend explain: the decision the
// journey's trigger evaluation made for one playbook, at the last event
// (event), the last event its trigger named (earlier) or the last daily
// check (daily).
func TestExplain(t *testing.T) {
	bob := `{id: bob, name: Bob}` // no health, no plan, no seats
	tests := []struct {
		name      string
		files     []string
		customers []string
		customer  string
		events    []string
		until     string
		playbook  string
		part      string // event, earlier or daily
		outcome   engine.Outcome
		run, key  string
		summary   string
		values    []string
	}{
		{
			name:     "started",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed], when: customer.segment == \"enterprise\"}\n" + quick},
			events:   []string{signed},
			playbook: "p", part: "event", outcome: engine.OutcomeStarted, run: "run/p/acme/1",
			summary: "started run/p/acme/1",
		},
		{
			name:     "event type did not match",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [nps.responded, daily]}\n" + quick},
			events:   []string{signed},
			playbook: "p", part: "event", outcome: engine.OutcomeNoMatch,
			summary: "not triggered by the contract.signed event: the trigger is on nps.responded, daily",
		},
		{
			name:  "the last event its trigger named",
			files: []string{"p.yaml", "playbook: p\ntrigger: {on: [nps.responded], when: event.data.score < 7}\n" + quick},
			events: []string{
				`{at: 2026-01-05T09:00:00Z, customer: acme, type: nps.responded, data: {score: 9}}`,
				signed,
			},
			playbook: "p", part: "earlier", outcome: engine.OutcomeWhenFalse,
			summary: "when was false: event.data.score < 7", values: []string{"event.data.score = 9"},
		},
		{
			name:     "when false, with the values it read",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [customer.updated], when: customer.health < 60 && before.health >= 60}\n" + quick},
			events:   []string{`{at: 2026-01-05T09:00:00Z, customer: acme, type: customer.updated, attributes: {health: 72}}`},
			playbook: "p", part: "event", outcome: engine.OutcomeWhenFalse,
			summary: "when was false: customer.health < 60 && before.health >= 60",
			values:  []string{"customer.health = 72", "before.health = 80"},
		},
		{
			name:      "when false on an unset attribute",
			files:     []string{"p.yaml", "playbook: p\ntrigger:\n  on: [contract.signed]\n  when: (customer.plan ?? \"\") == \"pro\" || (customer.segment ?? \"\") == \"enterprise\"\n" + quick},
			customers: []string{bob}, customer: "bob",
			events:   []string{`{at: 2026-01-05T10:00:00Z, customer: bob, type: contract.signed, data: {plan: pro}}`},
			playbook: "p", part: "event", outcome: engine.OutcomeWhenFalse,
			values: []string{"customer.plan = nil (unset)", "customer.segment = nil (unset)"},
		},
		{
			name:      "when failed",
			files:     []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed], when: customer.health < 60}\n" + quick},
			customers: []string{bob}, customer: "bob",
			events:   []string{`{at: 2026-01-05T10:00:00Z, customer: bob, type: contract.signed, data: {plan: pro}}`},
			playbook: "p", part: "event", outcome: engine.OutcomeWhenError,
			summary: "when could not be evaluated, which counts as false: playbooks/p.yaml:2:",
			values:  []string{"customer.health = nil (unset)"},
		},
		{
			name:  "once_per key already used",
			files: []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed], once_per: event.data.plan}\n" + quick},
			events: []string{
				signed,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
			},
			playbook: "p", part: "event", outcome: engine.OutcomeKeyUsed, run: "run/p/acme/1", key: "pro",
			summary: `once_per event.data.plan is "pro", a key already used by run/p/acme/1`,
			values:  []string{`event.data.plan = "pro"`},
		},
		{
			name:      "once_per failed",
			files:     []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed], once_per: customer.seats % customer.nps}\n" + quick},
			customers: []string{bob}, customer: "bob",
			events:   []string{`{at: 2026-01-05T10:00:00Z, customer: bob, type: contract.signed, data: {plan: pro}}`},
			playbook: "p", part: "event", outcome: engine.OutcomeKeyError,
			summary: "once_per could not be evaluated, so no run started: ",
			values:  []string{"customer.seats = nil (unset)", "customer.nps = nil (unset)"},
		},
		{
			name:  "ran before, without once_per",
			files: []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\n" + quick},
			events: []string{
				signed,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
			},
			playbook: "p", part: "event", outcome: engine.OutcomeRanBefore, run: "run/p/acme/1",
			summary: "it already ran for this customer (run/p/acme/1): without once_per, a playbook runs once per customer",
		},
		{
			name:  "a run was live",
			files: []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed], once_per: event.id}\nsteps:\n  - wait: 2d\n"},
			events: []string{
				signed,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
			},
			playbook: "p", part: "event", outcome: engine.OutcomeLive, run: "run/p/acme/1",
			summary: "run/p/acme/1 was still running, and a playbook runs once at a time per customer",
		},
		{
			name:     "exit_when true at start",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\nexit_when: customer.health > 50 && run.owner != \"\"\nowner: customer.csm\n" + quick},
			events:   []string{signed},
			playbook: "p", part: "event", outcome: engine.OutcomeExited, run: "run/p/acme/1",
			summary: `started run/p/acme/1, but its exit_when customer.health > 50 && run.owner != "" was already true, so it exited at once`,
			values:  []string{"customer.health = 80", `run.owner = "jo@v.example"`},
		},
		{
			name:     "daily when false",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [daily], when: customer.seats > 200, once_per: now}\n" + quick},
			until:    "2026-01-06T00:00:00Z",
			playbook: "p", part: "daily", outcome: engine.OutcomeWhenFalse,
			summary: "when was false: customer.seats > 200", values: []string{"customer.seats = 120"},
		},
		{
			name:     "daily started",
			files:    []string{"p.yaml", "playbook: p\ntrigger: {on: [daily], when: customer.seats > 100, once_per: now}\n" + quick},
			until:    "2026-01-07T00:00:00Z",
			playbook: "p", part: "daily", outcome: engine.OutcomeStarted, run: "run/p/acme/2",
		},
		{
			name: "not a daily playbook",
			files: []string{"p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\n" + quick,
				"q.yaml", "playbook: q\ntrigger: {on: [daily], when: false}\n" + quick},
			events:   []string{signed},
			playbook: "p", part: "daily", outcome: engine.OutcomeNoMatch,
			summary: "not triggered by the daily check: the trigger is on contract.signed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, tt.files...)
			customers, customer := tt.customers, tt.customer
			if customers == nil {
				customers, customer = []string{acme}, "acme"
			}
			until := tt.until
			if until == "" {
				until = "2026-01-08T00:00:00Z"
			}
			r := explainIn(t, set, scenario(until, customers, tt.events...), customer)
			i := slices.IndexFunc(r.Playbooks, func(p engine.PlaybookExplanation) bool { return p.Playbook == tt.playbook })
			if i < 0 {
				t.Fatalf("no playbook %s in %+v", tt.playbook, r)
			}
			pe := r.Playbooks[i]
			e := map[string]*engine.Explanation{"event": pe.Event, "earlier": pe.Earlier, "daily": pe.Daily}[tt.part]
			if e == nil {
				t.Fatalf("no %s explanation: %+v", tt.part, pe)
			}
			if e.Outcome != tt.outcome || e.Run != tt.run || e.Key != tt.key {
				t.Errorf("outcome %s run %q key %q, want %s run %q key %q (%s)", e.Outcome, e.Run, e.Key, tt.outcome, tt.run, tt.key, e.Summary)
			}
			if !strings.HasPrefix(e.Summary, tt.summary) {
				t.Errorf("summary %q, want it to start with %q", e.Summary, tt.summary)
			}
			if got := varsText(e.Values); !slices.Equal(got, tt.values) && !(len(got) == 0 && tt.values == nil) {
				t.Errorf("values %q, want %q", got, tt.values)
			}
			// The answer survives the JSON round trip of continue-as-new
			// and of the query.
			data, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back engine.Report
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if got := varsText(map[string]*engine.Explanation{"event": back.Playbooks[i].Event, "earlier": back.Playbooks[i].Earlier, "daily": back.Playbooks[i].Daily}[tt.part].Values); !slices.Equal(got, varsText(e.Values)) {
				t.Errorf("values after JSON %q, want %q", got, varsText(e.Values))
			}
		})
	}
}

// TestExplainAgreesWithTheRun checks the journey's word on exit_when at
// start against what the run did: the simulated timeline.
func TestExplainAgreesWithTheRun(t *testing.T) {
	for _, health := range []string{"40", "80"} {
		set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\nexit_when: customer.health > 50\n"+quick)
		cust := strings.Replace(acme, "health: 80", "health: "+health, 1)
		sc := scenario("2026-01-08T00:00:00Z", []string{cust}, signed)
		exited := false
		for _, r := range simulate(t, set, sc) {
			if r.Kind == lang.RecRunExited {
				exited = true
			}
		}
		r := explainIn(t, set, sc, "acme")
		if got := r.Playbooks[0].Event.Outcome == engine.OutcomeExited; got != exited {
			t.Errorf("health %s: the journey says exited %v, the run exited %v", health, got, exited)
		}
	}
}

// TestExplainStateSurvivesJSON checks that a journey's explanations,
// carried over continue-as-new as JSON, explain the same after it, and
// that a playbook whose trigger changed with the set says so.
func TestExplainStateSurvivesJSON(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [customer.updated], when: customer.health < 60}\n"+quick)
	j := engine.NewJourney("acme", map[string]any{"health": 80.0})
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	j.OnEvent(set, at, &lang.Event{ID: "e1", Type: "customer.updated", Customer: "acme", At: at, Attributes: map[string]any{"health": 72.0}})
	before := j.Explain(set)
	data, err := json.Marshal(j.JourneyState)
	if err != nil {
		t.Fatal(err)
	}
	var st engine.JourneyState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	engine.RestoreJourneyState(set.Schema, &st)
	after := engine.ResumeJourney(st).Explain(set)
	a, _ := json.Marshal(before)
	b, _ := json.Marshal(after)
	if string(a) != string(b) {
		t.Errorf("after JSON:\n%s\nbefore:\n%s", b, a)
	}
	if got := varsText(after.Playbooks[0].Event.Values); !slices.Equal(got, []string{"customer.health = 72"}) {
		t.Errorf("values %q", got)
	}

	changed := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [nps.responded, customer.updated]}\n"+quick,
		"q.yaml", "playbook: q\ntrigger: {on: [customer.updated]}\n"+quick)
	r := engine.ResumeJourney(st).Explain(changed)
	if got := r.Playbooks[1].Event.Outcome; got != engine.OutcomeNotConsidered {
		t.Errorf("a playbook added since: %s, want %s", got, engine.OutcomeNotConsidered)
	}
	if got := r.Playbooks[0].Event.Outcome; got != engine.OutcomeWhenFalse {
		t.Errorf("a playbook whose trigger still names the event: %s", got)
	}
}

// An event applied long after its at (sent late, or retried) is explained
// at its own at; when it was applied is kept beside it. A daily check has
// no at of its own.
func TestExplainKeepsTheEventsAt(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed], when: customer.health < 60}\n"+quick,
		"d.yaml", "playbook: d\ntrigger: {on: daily}\n"+quick)
	j := engine.NewJourney("acme", map[string]any{"health": 80.0})
	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	applied := time.Date(2026, 11, 30, 4, 57, 0, 0, time.UTC)
	j.OnEvent(set, applied, &lang.Event{ID: "acme-signed", Type: "contract.signed", Customer: "acme", At: at})
	j.Daily(set, applied.Add(time.Hour))
	r := j.Explain(set)
	if c := r.LastEvent; c == nil || !c.EventAt.Equal(at) || !c.At.Equal(applied) {
		t.Errorf("last event %+v, want at %s, applied %s", c, at, applied)
	}
	if e := r.Playbooks[1].Event; e == nil || !e.EventAt.Equal(at) || !e.At.Equal(applied) {
		t.Errorf("explanation %+v, want at %s, applied %s", e, at, applied)
	}
	if c := r.LastDaily; c == nil || !c.EventAt.IsZero() {
		t.Errorf("daily check %+v has an event at", c)
	}
	data, _ := json.Marshal(r.LastEvent)
	if want := `"event_at":"2026-11-23T14:00:00Z"`; !strings.Contains(string(data), want) {
		t.Errorf("json %s has no %s", data, want)
	}
}
