package engine_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// testSchema is the schema of the engine tests. 2026-01-05 is a Monday;
// Monday 2026-01-19 is a holiday. There is no contact policy, so messages go
// out at once unless a test loads policySchema.
const testSchema = `
customer:
  name: string
  segment: {type: string, enum: [smb, enterprise]}
  seats: int
  health: float
  csm: string
  manager: string
  contact_email: string
  timezone: string
  plan: string
  nps: int
  reviewed: bool
events:
  contract.signed: {plan: string}
  contract.cancelled: {reason: string}
  nps.responded: {score: int}
  usage.reported: {logins: int}
stages: [onboarding, adoption, at_risk, churned]
calendar:
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri]
  holidays: [2026-01-19]
  daily_at: "09:00"
`

// acme is the usual customer of the tests.
const acme = `{id: acme, name: Acme, segment: enterprise, seats: 120, health: 80, csm: jo@v.example, manager: max@v.example, contact_email: it@acme.example}`

// signed is a contract.signed for acme on Monday 2026-01-05 at 10:00 UTC.
const signed = `{at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`

// loadSet loads schema.yaml plus files given as path, content pairs.
func loadSet(t *testing.T, schema string, files ...string) *lang.Set {
	t.Helper()
	fs := []lang.File{{Path: "playbooks/schema.yaml", Data: []byte(schema)}}
	for i := 0; i+1 < len(files); i += 2 {
		fs = append(fs, lang.File{Path: "playbooks/" + files[i], Data: []byte(files[i+1])})
	}
	set, errs := lang.Load(fs)
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	return set
}

// scenario builds a scenario from 2026-01-05 00:00 UTC until the given time.
func scenario(until string, customers []string, events ...string) string {
	var b strings.Builder
	b.WriteString("start: 2026-01-05T00:00:00Z\nuntil: " + until + "\ncustomers:\n")
	for _, c := range customers {
		b.WriteString("  - " + c + "\n")
	}
	b.WriteString("events:\n")
	for _, e := range events {
		b.WriteString("  - " + e + "\n")
	}
	if len(events) == 0 {
		b.WriteString("  []\n")
	}
	return b.String()
}

// simulate runs a scenario through the simulator.
func simulate(t *testing.T, set *lang.Set, sc string) []lang.Record {
	t.Helper()
	s, errs := lang.ParseScenario("scenario.yaml", []byte(sc), set.Schema)
	if len(errs) > 0 {
		t.Fatalf("scenario: %v\n%s", errs, sc)
	}
	in := sim.Input{Start: s.Start, Until: s.Until, Events: s.Events}
	for _, c := range s.Customers {
		in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
	}
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Records
}

// show renders records one per line: "01-05 10:00 playbook step kind k=v...".
// Times are UTC; the year is always 2026.
func show(recs []lang.Record, withCustomer bool) []string {
	out := []string{}
	for _, r := range recs {
		var b strings.Builder
		b.WriteString(r.At.UTC().Format("01-02 15:04"))
		if withCustomer {
			b.WriteString(" " + r.Customer)
		}
		b.WriteString(" " + dash(r.Playbook) + " " + dash(r.Step) + " " + r.Kind)
		add := func(k, v string) {
			if v != "" {
				b.WriteString(" " + k + "=" + v)
			}
		}
		add("action", r.Action)
		add("from", r.From)
		add("to", r.To)
		add("owner", r.Owner)
		if r.Due != nil {
			add("due", r.Due.UTC().Format("01-02 15:04"))
		}
		out = append(out, b.String())
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
	if reflect.DeepEqual(got, want) {
		return
	}
	t.Errorf("records differ\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSteps runs one playbook for acme through the simulator and checks
// the whole timeline.
func TestSteps(t *testing.T) {
	tests := []struct {
		name   string
		files  []string
		until  string
		events []string
		want   []string
		// reasons, if set, are "kind step: reason" of every record with a reason.
		reasons []string
	}{
		{
			name: "email with template, default to",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: welcome
    do: email
    template: welcome
`, "templates/welcome.md", "---\nsubject: \"Welcome, {{ customer.name }}\"\n---\nHello {{ customer.name }}, plan {{ event.data.plan }}.\n"},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p welcome action action=email to=it@acme.example",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			name: "email to another address",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: tell-manager
    do: email
    to: customer.manager
    subject: Hi
    body: There
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p tell-manager action action=email to=max@v.example",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			name: "survey",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: nps
    do: survey
    kind: nps
    template: nps
`, "templates/nps.md", "---\nsubject: How likely are you to recommend us?\n---\n0-10\n"},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p nps action action=survey to=it@acme.example",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			// Friday 16:50 + 2 business days is Tuesday 16:50. The call
			// waits for its task, completed by id on Monday.
			name: "call: default due, waits for the task by id",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: kickoff
    do: call
    title: "Kickoff with {{ customer.name }}"
  - id: after
    do: notify
    text: kickoff held
`},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				`{at: 2026-01-09T16:50:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-12T11:00:00Z, customer: acme, type: task.completed, data: {task: p/acme/1/kickoff/1, outcome: held}}`,
			},
			want: []string{
				"01-09 16:50 p - run.started owner=jo@v.example",
				"01-09 16:50 p kickoff action action=call owner=jo@v.example due=01-13 16:50",
				"01-12 11:00 p kickoff task.completed owner=jo@v.example",
				"01-12 11:00 p after action action=notify",
				"01-12 11:00 p - run.completed",
			},
		},
		{
			// Thursday + 3 business days skips the weekend and the Monday holiday.
			// The training is completed by playbook and step.
			name: "training: due across a holiday, completed by playbook and step",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: admin
    do: training
    title: Admin training
    topic: SSO
    duration: 90m
    due: 3 business days
`},
			until: "2026-01-31T00:00:00Z",
			events: []string{
				`{at: 2026-01-15T10:00:00Z, customer: acme, type: contract.signed}`,
				`{at: 2026-01-20T12:00:00Z, customer: acme, type: task.completed, data: {playbook: p, step: admin}}`,
			},
			want: []string{
				"01-15 10:00 p - run.started owner=jo@v.example",
				"01-15 10:00 p admin action action=training owner=jo@v.example due=01-21 10:00",
				"01-20 12:00 p admin task.completed owner=jo@v.example",
				"01-20 12:00 p - run.completed",
			},
		},
		{
			// A task.completed for another playbook's step, or another task
			// id, completes nothing.
			name: "task: completions for other tasks are ignored",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: todo
    do: task
    title: Do it
    due: 10d
`},
			until: "2026-01-10T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-05T11:00:00Z, customer: acme, type: task.completed, data: {playbook: other, step: todo}}`,
				`{at: 2026-01-05T12:00:00Z, customer: acme, type: task.completed, data: {task: p/acme/1/todo/2}}`,
				`{at: 2026-01-05T13:00:00Z, customer: acme, type: task.completed, data: {playbook: p, step: nope}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p todo action action=task owner=jo@v.example due=01-15 10:00",
			},
		},
		{
			// wait: false moves on at once; the run completes only when
			// the task is done as well.
			name: "task with wait false",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: todo
    do: task
    title: Send the contract copy
    owner: customer.manager
    due: 1d
    wait: false
  - id: next
    do: notify
    text: moved on
`},
			until: "2026-01-06T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-05T15:00:00Z, customer: acme, type: task.completed, data: {playbook: p, step: todo}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p todo action action=task owner=max@v.example due=01-06 10:00",
				"01-05 10:00 p next action action=notify",
				"01-05 15:00 p todo task.completed owner=max@v.example",
				"01-05 15:00 p - run.completed",
			},
		},
		{
			// The overdue steps run once when the due time passes, beside
			// the waiting main thread; they never run again.
			name:   "overdue fires once",
			files:  []string{"p.yaml", overduePlaybook},
			until:  "2026-01-20T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p kickoff action action=call owner=jo@v.example due=01-06 10:00",
				"01-06 10:00 p kickoff task.overdue owner=jo@v.example due=01-06 10:00",
				"01-06 10:00 p kickoff.late action action=notify to=cs-alerts",
				"01-06 10:00 p steps.0.overdue.1 action action=escalate to=max@v.example owner=max@v.example due=01-08 10:00",
				// The escalation's own task goes overdue in turn; it has no overdue steps.
				"01-08 10:00 p steps.0.overdue.1 task.overdue owner=max@v.example due=01-08 10:00",
			},
		},
		{
			name:  "overdue does not fire when completed in time",
			files: []string{"p.yaml", overduePlaybook},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T09:59:00Z, customer: acme, type: task.completed, data: {playbook: p, step: kickoff}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p kickoff action action=call owner=jo@v.example due=01-06 10:00",
				"01-06 09:59 p kickoff task.completed owner=jo@v.example",
				"01-06 09:59 p - run.completed",
			},
		},
		{
			// Completed after the due time: the overdue steps have run once,
			// and the run goes on.
			name:  "task completed late",
			files: []string{"p.yaml", overduePlaybook},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-07T12:00:00Z, customer: acme, type: task.completed, data: {playbook: p, step: kickoff}}`,
				`{at: 2026-01-07T13:00:00Z, customer: acme, type: task.completed, data: {task: p/acme/1/steps.0.overdue.1/1}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p kickoff action action=call owner=jo@v.example due=01-06 10:00",
				"01-06 10:00 p kickoff task.overdue owner=jo@v.example due=01-06 10:00",
				"01-06 10:00 p kickoff.late action action=notify to=cs-alerts",
				"01-06 10:00 p steps.0.overdue.1 action action=escalate to=max@v.example owner=max@v.example due=01-08 10:00",
				"01-07 12:00 p kickoff task.completed owner=jo@v.example",
				"01-07 13:00 p steps.0.overdue.1 task.completed owner=max@v.example",
				"01-07 13:00 p - run.completed",
			},
		},
		{
			// escalate never blocks: the next step runs at once; its task
			// keeps the run open until the manager completes it.
			name: "escalate, notify and webhook",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: esc
    do: escalate
    to: customer.manager
    reason: "{{ customer.name }} signed"
  - id: chat
    do: notify
    channel: cs-alerts
    text: "{{ customer.name }} signed"
  - id: crm
    do: webhook
    endpoint: crm
    body: {account: "{{ customer.id }}"}
`},
			until: "2026-01-10T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T08:00:00Z, customer: acme, type: task.completed, data: {playbook: p, step: esc}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p esc action action=escalate to=max@v.example owner=max@v.example due=01-07 10:00",
				"01-05 10:00 p chat action action=notify to=cs-alerts",
				"01-05 10:00 p crm action action=webhook to=crm",
				"01-06 08:00 p esc task.completed owner=max@v.example",
				"01-06 08:00 p - run.completed",
			},
		},
		{
			// Friday + 1 business day skips the weekend and the Monday holiday.
			name: "wait: business days and fixed",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: n1, do: notify, text: one}
  - wait: 1 business day
  - {id: n2, do: notify, text: two}
  - {id: w3, wait: 3d}
  - {id: n3, do: notify, text: three}
  - wait: 90m
  - {id: n4, do: notify, text: four}
`},
			until:  "2026-02-01T00:00:00Z",
			events: []string{`{at: 2026-01-16T10:00:00Z, customer: acme, type: contract.signed}`},
			want: []string{
				"01-16 10:00 p - run.started owner=jo@v.example",
				"01-16 10:00 p n1 action action=notify",
				"01-20 10:00 p n2 action action=notify",
				"01-23 10:00 p n3 action action=notify",
				"01-23 11:30 p n4 action action=notify",
				"01-23 11:30 p - run.completed",
			},
		},
		{
			name: "wait_for true on entry",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - wait_for: {until: customer.health > 50, timeout: 3d, on_timeout: [{do: notify, text: late}]}
  - {id: after, do: notify, text: healthy}
`},
			until:  "2026-01-20T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p after action action=notify",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			// Other events do not satisfy it; the nps.responded does, and
			// event is the event being applied.
			name: "wait_for satisfied by a later event",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: answer
    wait_for: {until: 'event.type == "nps.responded" && event.data.score >= 9', timeout: 10d}
  - {id: after, do: notify, text: promoter}
`},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T10:00:00Z, customer: acme, type: usage.reported, data: {logins: 4}}`,
				`{at: 2026-01-07T10:00:00Z, customer: acme, type: nps.responded, data: {score: 6}}`,
				`{at: 2026-01-08T10:00:00Z, customer: acme, type: nps.responded, data: {score: 10}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-08 10:00 p after action action=notify",
				"01-08 10:00 p - run.completed",
			},
		},
		{
			// Monday 10:00 + 2 whole days is first true at Thursday's 09:00 check.
			name: "wait_for satisfied at a daily check",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - wait_for: {until: 'event.type == "daily" && days_since(run.started_at) >= 2'}
  - {id: after, do: notify, text: two days}
`},
			until:  "2026-01-20T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-08 09:00 p after action action=notify",
				"01-08 09:00 p - run.completed",
			},
		},
		{
			name: "wait_for timeout runs on_timeout",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: answer
    wait_for:
      until: event.type == "nps.responded"
      timeout: 2 business days
      on_timeout:
        - {id: chase, do: notify, text: no answer}
  - {id: after, do: notify, text: done}
`},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				// After the timeout: the run has moved on.
				`{at: 2026-01-08T10:00:00Z, customer: acme, type: nps.responded, data: {score: 10}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-07 10:00 p answer wait.timeout",
				"01-07 10:00 p chase action action=notify",
				"01-07 10:00 p after action action=notify",
				"01-07 10:00 p - run.completed",
			},
		},
		{
			name: "if and else",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: health
    if: customer.health < 60
    then:
      - {id: low, do: notify, text: low}
    else:
      - {id: high, do: notify, text: high}
      - {id: high2, do: notify, text: high2}
  - id: only-then
    if: customer.health < 60
    then:
      - {id: low2, do: notify, text: low}
  - {id: end, do: notify, text: end}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p high action action=notify",
				"01-05 10:00 p high2 action action=notify",
				"01-05 10:00 p end action action=notify",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			name: "if true",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: health
    if: customer.health >= 60
    then:
      - {id: high, do: notify, text: high}
    else:
      - {id: low, do: notify, text: low}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p high action action=notify",
				"01-05 10:00 p - run.completed",
			},
		},
		{
			// times: 3 runs the steps three times with `every` between them.
			name: "repeat times",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: nudge
    repeat:
      every: 2d
      times: 3
      steps:
        - {id: ping, do: notify, text: ping}
  - {id: end, do: notify, text: end}
`},
			until:  "2026-01-31T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p ping action action=notify",
				"01-07 10:00 p ping action action=notify",
				"01-09 10:00 p ping action action=notify",
				"01-09 10:00 p end action action=notify",
				"01-09 10:00 p - run.completed",
			},
		},
		{
			// until is checked after each pause: the answer on Tuesday
			// stops the repeat at Wednesday's check.
			name: "repeat until",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: chase
    repeat:
      every: 1d
      until: customer.nps > 0
      steps:
        - {id: ask, do: notify, text: ask}
  - {id: end, do: notify, text: end}
`},
			until: "2026-01-31T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T12:00:00Z, customer: acme, type: nps.responded, data: {score: 8}, attributes: {nps: 8}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p ask action action=notify",
				// nps is unset on Monday: until fails, once.
				"01-06 10:00 p chase condition.failed",
				"01-06 10:00 p ask action action=notify",
				"01-07 10:00 p end action action=notify",
				"01-07 10:00 p - run.completed",
			},
		},
		{
			// acme has no nps: an if that orders it takes else, and says so.
			name: "if that cannot be evaluated",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: check
    if: customer.nps < 7
    then:
      - {id: low, do: notify, text: low}
    else:
      - {id: fine, do: notify, text: fine}
  - id: only-then
    if: customer.nps < 7
    then:
      - {id: low2, do: notify, text: low}
  - {id: guarded, when: customer.nps >= 9, do: notify, text: promoter}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p check condition.failed",
				"01-05 10:00 p fine action action=notify",
				"01-05 10:00 p only-then condition.failed",
				"01-05 10:00 p guarded step.skipped",
				"01-05 10:00 p - run.completed",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"condition.failed check: if customer.nps < 7 could not be evaluated (playbooks/p.yaml:6:9): customer.nps is not set (nil): < cannot compare nil with an int; counts as false: took else",
				"condition.failed only-then: if customer.nps < 7 could not be evaluated (playbooks/p.yaml:12:9): customer.nps is not set (nil): < cannot compare nil with an int; counts as false: skipped its steps",
				"step.skipped guarded: when customer.nps >= 9 could not be evaluated (playbooks/p.yaml:15:25): customer.nps is not set (nil): >= cannot compare nil with an int",
				"run.completed -: all steps done",
			},
		},
		{
			// until and exit_when are evaluated at every event: a failure
			// is recorded once per run, not at every event.
			name: "until and exit_when that cannot be evaluated",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
exit_when: customer.nps < 3
steps:
  - {id: answer, wait_for: {until: customer.nps >= 9}}
  - {id: thanks, do: notify, text: thanks}
`},
			until: "2026-01-31T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T12:00:00Z, customer: acme, type: customer.updated, attributes: {plan: pro}}`,
				`{at: 2026-01-07T12:00:00Z, customer: acme, type: customer.updated, attributes: {plan: max}}`,
				`{at: 2026-01-08T12:00:00Z, customer: acme, type: nps.responded, data: {score: 10}, attributes: {nps: 10}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p - condition.failed",
				"01-05 10:00 p answer condition.failed",
				"01-08 12:00 p thanks action action=notify",
				"01-08 12:00 p - run.completed",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"condition.failed -: exit_when customer.nps < 3 could not be evaluated (playbooks/p.yaml:4:12): customer.nps is not set (nil): < cannot compare nil with an int; counts as false: the run goes on",
				"condition.failed answer: until customer.nps >= 9 could not be evaluated (playbooks/p.yaml:6:36): customer.nps is not set (nil): >= cannot compare nil with an int; counts as false: the run keeps waiting",
				"run.completed -: all steps done",
			},
		},
		{
			name: "repeat until that cannot be evaluated",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: chase
    repeat:
      every: 1d
      times: 3
      until: customer.nps > 0
      steps:
        - {id: ask, do: notify, text: ask}
`},
			until:  "2026-01-31T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p ask action action=notify",
				"01-06 10:00 p chase condition.failed",
				"01-06 10:00 p ask action action=notify",
				"01-07 10:00 p ask action action=notify",
				"01-07 10:00 p - run.completed",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"condition.failed chase: repeat until customer.nps > 0 could not be evaluated (playbooks/p.yaml:9:14): customer.nps is not set (nil): > cannot compare nil with an int; counts as false: the repeat goes on",
				"run.completed -: all steps done",
			},
		},
		{
			name: "stop ends the run as completed",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: first, do: notify, text: one}
  - id: check
    if: customer.seats > 100
    then:
      - stop: "large account {{ customer.name }}"
  - {id: never, do: notify, text: never}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p first action action=notify",
				"01-05 10:00 p - run.completed",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"run.completed -: stopped at steps.1.then.0: large account Acme",
			},
		},
		{
			name: "when guard skips a step",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: small, when: customer.seats < 50, do: notify, text: small}
  - {id: big, when: customer.seats >= 50, do: notify, text: big}
  - {id: guarded-wait, when: customer.seats < 50, wait: 10d}
  - {id: end, do: notify, text: end}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p small step.skipped",
				"01-05 10:00 p big action action=notify",
				"01-05 10:00 p guarded-wait step.skipped",
				"01-05 10:00 p end action action=notify",
				"01-05 10:00 p - run.completed",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"step.skipped small: when customer.seats < 50 is false",
				"step.skipped guarded-wait: when customer.seats < 50 is false",
				"run.completed -: all steps done",
			},
		},
		{
			// The run exits on the cancellation: its wait timer, its
			// task's due timer and its overdue steps are gone.
			name: "exit_when",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
exit_when: event.type == "contract.cancelled"
steps:
  - id: todo
    do: task
    title: Do it
    due: 1 business day
    wait: false
    overdue: [{do: notify, text: late}]
  - wait: 2d
  - {id: never, do: notify, text: never}
`},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-05T11:00:00Z, customer: acme, type: usage.reported, data: {logins: 3}}`,
				`{at: 2026-01-05T12:00:00Z, customer: acme, type: contract.cancelled, data: {reason: budget}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p todo action action=task owner=jo@v.example due=01-06 10:00",
				"01-05 12:00 p - run.exited",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				`run.exited -: exit_when event.type == "contract.cancelled" on contract.cancelled`,
			},
		},
		{
			// exit_when sees the event being applied: at daily checks its type is daily.
			name: "exit_when at a daily check",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
exit_when: event.type == "daily" && customer.health < 50
steps:
  - wait: 10d
  - {id: never, do: notify, text: never}
`},
			until: "2026-01-20T00:00:00Z",
			events: []string{
				signed,
				`{at: 2026-01-06T12:00:00Z, customer: acme, type: customer.updated, attributes: {health: 20}}`,
			},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-07 09:00 p - run.exited",
			},
		},
		{
			name: "expires",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
expires: 3d
steps:
  - {id: first, do: notify, text: one}
  - wait: 5d
  - {id: never, do: notify, text: never}
`},
			until:  "2026-01-20T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p first action action=notify",
				"01-08 10:00 p - run.expired",
			},
			reasons: []string{
				"run.started -: triggered by contract.signed",
				"run.expired -: expired after 3d",
			},
		},
		{
			// The update is applied like a customer.updated event: the
			// stage changes, and another playbook triggers on it.
			name: "update sets attributes and stage and triggers a playbook",
			files: []string{"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: mark
    do: update
    set: {health: customer.health - 50, plan: '"gold"'}
    stage: at_risk
  - id: after
    if: customer.health == 30.0 && customer.stage == "at_risk"
    then: [{id: sees-update, do: notify, text: "health {{ customer.health }}"}]
`, "q.yaml", `
playbook: q
trigger:
  on: [customer.updated]
  when: before.health >= 50 && customer.health < 50
steps:
  - {id: react, do: notify, text: "{{ customer.plan }}"}
`},
			until:  "2026-01-06T00:00:00Z",
			events: []string{signed},
			want: []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p mark action action=update",
				"01-05 10:00 - - stage.changed to=at_risk",
				"01-05 10:00 q - run.started owner=jo@v.example",
				"01-05 10:00 q react action action=notify",
				"01-05 10:00 q - run.completed",
				"01-05 10:00 p sees-update action action=notify",
				"01-05 10:00 p - run.completed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, tt.files...)
			recs := simulate(t, set, scenario(tt.until, []string{acme}, tt.events...))
			diffLines(t, show(recs, false), tt.want)
			if tt.reasons != nil {
				got := []string{}
				for _, r := range recs {
					if r.Reason != "" {
						got = append(got, r.Kind+" "+dash(r.Step)+": "+r.Reason)
					}
				}
				diffLines(t, got, tt.reasons)
			}
		})
	}
}

const overduePlaybook = `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: kickoff
    do: call
    title: Kickoff
    due: 1d
    overdue:
      - {id: kickoff.late, do: notify, channel: cs-alerts, text: "Kickoff with {{ customer.name }} is late"}
      - {do: escalate, to: customer.manager, reason: kickoff late}
`

// startRun applies ev to a new journey for acme and starts the one run it triggers.
func startRun(t *testing.T, set *lang.Set, attrs map[string]any, ev *lang.Event) (*engine.Journey, *engine.Run, []engine.Command) {
	t.Helper()
	if err := set.Schema.Normalize(ev); err != nil {
		t.Fatal(err)
	}
	j := engine.NewJourney("acme", attrs)
	a := j.Apply(set, ev.At, ev)
	if len(a.Starts) != 1 {
		t.Fatalf("%d runs started, want 1", len(a.Starts))
	}
	r := engine.NewRun(set, a.Starts[0])
	return j, r, r.Start(ev.At)
}

// cmds renders commands: "record run.started", "reserve email",
// "action notify", "book call", "timer ID 01-05 10:00", "cancel ID".
func cmds(cs []engine.Command) []string {
	out := []string{}
	for _, c := range cs {
		switch c.Kind {
		case engine.CmdRecord:
			out = append(out, "record "+c.Record.Kind+" "+dash(c.Record.Step))
		case engine.CmdReserve:
			out = append(out, "reserve "+c.Action.Kind+" "+c.Action.Step)
		case engine.CmdAction:
			out = append(out, "action "+c.Action.Kind+" "+c.Action.Step)
		case engine.CmdBook:
			out = append(out, "book "+c.Action.Kind+" "+c.Action.Step)
		case engine.CmdTimer:
			out = append(out, "timer "+c.Timer.ID+" "+c.Timer.At.UTC().Format("01-02 15:04"))
		case engine.CmdCancelTimer:
			out = append(out, "cancel "+c.Timer.ID)
		}
	}
	return out
}

func acmeAttrs() map[string]any {
	return map[string]any{"name": "Acme", "seats": 120, "health": 80.0, "csm": "jo@v.example",
		"manager": "max@v.example", "contact_email": "it@acme.example"}
}

func signedAt(at string) *lang.Event {
	return &lang.Event{ID: "e1", Type: "contract.signed", Customer: "acme", At: utc(at), Data: map[string]any{"plan": "pro"}}
}

// An email is rendered from its template, reserved with the contact policy,
// held until the slot, then sent; its record is at the send time.
func TestRunEmailThroughContactPolicy(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: welcome
    do: email
    template: welcome
    cc: [customer.csm]
`, "templates/welcome.md", "---\nsubject: \"Welcome, {{ customer.name }}\"\n---\nHello {{ customer.name }}, plan {{ event.data.plan }}.\n")
	now := utc("2026-01-05T10:00:00Z")
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	diffLines(t, cmds(out), []string{"record run.started -", "reserve email welcome"})
	a := out[1].Action
	want := engine.Action{Kind: "email", Key: "p/acme/1/welcome/1", Run: "run/p/acme/1", Playbook: "p", Version: a.Version,
		Customer: "acme", Step: "welcome", Occurrence: 1, Summary: "email welcome to it@acme.example",
		To: "it@acme.example", Cc: []string{"jo@v.example"}, Owner: "jo@v.example", Title: "Welcome, Acme",
		Template: "welcome", Subject: "Welcome, Acme", Body: "Hello Acme, plan pro.\n"}
	if a.Version == "" || !reflect.DeepEqual(*a, want) {
		t.Errorf("action\n got %+v\nwant %+v", *a, want)
	}
	if r.Status != engine.StatusRunning {
		t.Errorf("status %s, want running", r.Status)
	}
	later := utc("2026-01-06T09:00:00Z")
	out = r.OnSlot(now, later)
	diffLines(t, cmds(out), []string{"record message.held welcome", "timer send/p/acme/1/welcome/1 01-06 09:00"})
	if r.Status != engine.StatusWaiting || r.Waiting() != "holding welcome for the contact policy until Tue 6 Jan 09:00 UTC" {
		t.Errorf("status %s %q", r.Status, r.Waiting())
	}
	if out := r.OnTimer(later.Add(-time.Minute), "send/other"); out != nil {
		t.Errorf("unknown timer: %v", cmds(out))
	}
	out = r.OnTimer(later, "send/p/acme/1/welcome/1")
	diffLines(t, cmds(out), []string{"record action welcome", "action email welcome"})
	if rec := out[0].Record; !rec.At.Equal(later) || rec.To != "it@acme.example" || rec.Title != "Welcome, Acme" {
		t.Errorf("action record %+v", rec)
	}
	out = r.OnActionDone(later)
	diffLines(t, cmds(out), []string{"record run.completed -"})
	if !r.Done() || r.Status != engine.StatusCompleted || r.Reason != "all steps done" {
		t.Errorf("status %s %q", r.Status, r.Reason)
	}
}

// A message the contact policy holds says so: a message.held record with
// the time it goes out and why (in the customer's zone), the run's Held
// list and what it waits for, and the send timer's summary. The hold ends
// when the message goes out.
func TestRunHeld(t *testing.T) {
	tests := []struct {
		name, at string
		sent     []string // earlier messages in the journey's week
		until    string
		text     string
	}{
		{name: "friday evening", at: "2026-01-09T23:00:00Z", until: "2026-01-12T14:00:00Z",
			text: "held by the contact policy until Mon 12 Jan 09:00 EST (outside 09:00-17:00)"},
		{name: "saturday", at: "2026-01-10T15:00:00Z", until: "2026-01-12T14:00:00Z",
			text: "held by the contact policy until Mon 12 Jan 09:00 EST (Saturday is not a workday)"},
		{name: "weekly cap", at: "2026-01-08T15:00:00Z", sent: []string{"2026-01-05T15:00:00Z", "2026-01-06T15:00:00Z", "2026-01-07T15:00:00Z"},
			until: "2026-01-12T15:00:00Z", text: "held by the contact policy until Mon 12 Jan 10:00 EST (weekly cap of 3 messages)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, policySchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: welcome, do: email, subject: "Welcome, {{ customer.name }}", body: Hello}
  - wait: 1h
`)
			attrs := acmeAttrs()
			attrs["timezone"] = "America/New_York"
			now := utc(tt.at)
			j, r, out := startRun(t, set, attrs, signedAt(tt.at))
			for _, at := range tt.sent {
				j.Contacts = append(j.Contacts, utc(at))
			}
			diffLines(t, cmds(out), []string{"record run.started -", "reserve email welcome"})
			out = r.OnSlot(now, j.Reserve(set, now))
			until := utc(tt.until)
			diffLines(t, cmds(out), []string{"record message.held welcome", "timer send/p/acme/1/welcome/1 " + until.Format("01-02 15:04"),
				"timer wait/steps.1/1 " + now.Add(time.Hour).Format("01-02 15:04")})
			rec := out[0].Record
			if !rec.At.Equal(now) || rec.Action != "email" || rec.To != "it@acme.example" || rec.Title != "Welcome, Acme" ||
				rec.Until == nil || !rec.Until.Equal(until) || rec.Reason != tt.text {
				t.Errorf("record %+v", rec)
			}
			if want := "hold email \"Welcome, Acme\" to it@acme.example for the contact policy " + strings.TrimPrefix(tt.text, "held by the contact policy "); out[1].Timer.Summary != want {
				t.Errorf("timer summary %q, want %q", out[1].Timer.Summary, want)
			}
			want := []engine.Hold{{Step: "welcome", Kind: "email", Key: "p/acme/1/welcome/1", To: "it@acme.example", Subject: "Welcome, Acme",
				Until: until, Reason: tt.text[strings.Index(tt.text, "(")+1 : len(tt.text)-1], Text: tt.text}}
			if got := r.Held(); !reflect.DeepEqual(got, want) {
				t.Errorf("held\n got %+v\nwant %+v", got, want)
			}
			// The main thread waits on; the run still says what it holds.
			r.OnTimer(now.Add(time.Hour), "wait/steps.1/1")
			if w := r.Waiting(); w != "holding welcome for the contact policy "+strings.TrimPrefix(tt.text, "held by the contact policy ") {
				t.Errorf("waiting %q", w)
			}
			out = r.OnTimer(until, "send/p/acme/1/welcome/1")
			diffLines(t, cmds(out), []string{"record action welcome", "action email welcome"})
			if held := r.Held(); len(held) != 0 {
				t.Errorf("held after sending: %+v", held)
			}
		})
	}
}

// Summaries (activity and timer summaries in the Temporal UI, the outbox's
// JSON) name the people an action is for, as its expressions evaluate:
// not "the address in customer.csm ?? customer.manager".
func TestRunSummariesNamePeople(t *testing.T) {
	tests := []struct {
		name, step string
		unset      string // an attribute the customer does not have
		want       string
	}{
		{"email to an expression", `{id: s, do: email, to: "customer.csm ?? customer.manager", subject: Hi, body: Hello}`, "csm",
			`email "Hi" to max@v.example`},
		{"email to the contact", `{id: s, do: email, template: welcome}`, "", "email welcome to it@acme.example"},
		{"survey", `{id: s, do: survey, kind: nps, template: welcome, to: customer.csm}`, "", `nps survey welcome to jo@v.example`},
		{"call for the run's owner", `{id: s, do: call, title: Kickoff}`, "csm", `call "Kickoff" for max@v.example, due 2026-01-07`},
		{"call for a named owner", `{id: s, do: call, title: Kickoff, owner: customer.manager}`, "", `call "Kickoff" for max@v.example, due 2026-01-07`},
		{"escalation", `{id: s, do: escalate, to: "customer.csm ?? customer.manager", reason: Unhappy}`, "", "escalate to jo@v.example: Unhappy"},
		{"nobody", `{id: s, do: email, to: customer.csm, subject: Hi, body: Hello}`, "csm", `email "Hi" to nobody (customer.csm is not set)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, "p.yaml", "playbook: p\nowner: customer.csm ?? customer.manager\ntrigger: {on: [contract.signed]}\nsteps:\n  - "+tt.step+"\n",
				"templates/welcome.md", "---\nsubject: Welcome\n---\nHello\n")
			attrs := acmeAttrs()
			delete(attrs, tt.unset)
			_, _, out := startRun(t, set, attrs, signedAt("2026-01-05T10:00:00Z"))
			var a *engine.Action
			for _, c := range out {
				if c.Action != nil {
					a = c.Action
				}
			}
			if a == nil {
				t.Fatalf("no action: %v", cmds(out))
			}
			if a.Summary != tt.want {
				t.Errorf("summary %q, want %q", a.Summary, tt.want)
			}
		})
	}
}

// A call asks its owner's calendar for a slot inside working hours, goes
// out with the slot it is given, and opens a task with a due timer; the
// run waits for the task.
func TestRunCallInvite(t *testing.T) {
	tests := []struct {
		name, at, step, kind string
		yaml                 string
		start, due           string
		dur                  time.Duration
		attendees            []string
		title, topic         string
	}{
		{
			// A business day of notice: Friday 16:50 gets Monday 09:00.
			name: "call late on Friday", at: "2026-01-09T16:50:00Z", step: "kickoff", kind: "call",
			yaml:  "{id: kickoff, do: call, title: 'Kickoff with {{ customer.name }}', attendees: [customer.contact_email]}",
			start: "2026-01-12T09:00:00Z", due: "2026-01-13T16:50:00Z", dur: 30 * time.Minute,
			attendees: []string{"it@acme.example"}, title: "Kickoff with Acme",
		},
		{
			name: "training the next day", at: "2026-01-15T15:45:00Z", step: "admin", kind: "training",
			yaml:  "{id: admin, do: training, title: Admin training, topic: 'SSO for {{ customer.seats }} seats', duration: 90m, due: 5 business days}",
			start: "2026-01-16T09:00:00Z", due: "2026-01-23T15:45:00Z", dur: 90 * time.Minute,
			title: "Admin training", topic: "SSO for 120 seats",
		},
		{
			name: "call in hours: not today but tomorrow", at: "2026-01-06T10:10:00Z", step: "c", kind: "call",
			yaml:  "{id: c, do: call, title: Check-in, duration: 1h, due: 3d}",
			start: "2026-01-07T09:00:00Z", due: "2026-01-09T10:10:00Z", dur: time.Hour,
			title: "Check-in",
		},
		{
			// Sunday night is not notice: Monday is the first day the owner
			// could act, so the call is on Tuesday.
			name: "call asked for on Sunday night", at: "2026-01-11T23:57:00Z", step: "c", kind: "call",
			yaml:  "{id: c, do: call, title: Check-in}",
			start: "2026-01-13T09:00:00Z", due: "2026-01-13T23:57:00Z", dur: 30 * time.Minute,
			title: "Check-in",
		},
		{
			// Due before the notice ends: the earliest slot that meets it.
			name: "call due sooner than the notice", at: "2026-01-06T10:10:00Z", step: "c", kind: "call",
			yaml:  "{id: c, do: call, title: Urgent, due: 2h}",
			start: "2026-01-06T10:30:00Z", due: "2026-01-06T12:10:00Z", dur: 30 * time.Minute,
			title: "Urgent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\nsteps:\n  - "+tt.yaml+"\n")
			now := utc(tt.at)
			_, r, out := startRun(t, set, acmeAttrs(), signedAt(tt.at))
			diffLines(t, cmds(out), []string{"record run.started -", "book " + tt.kind + " " + tt.step})
			q := out[1].Book
			wantQ := engine.BookRequest{Key: "p/acme/1/" + tt.step + "/1", Owner: "jo@v.example", Earliest: now, Due: utc(tt.due),
				Duration: tt.dur, Hours: "09:00-17:00", Timezone: "UTC", Workdays: []string{"mon", "tue", "wed", "thu", "fri"},
				Holidays: []string{"2026-01-19"}, Notice: engine.DefaultNotice}
			if q == nil || !reflect.DeepEqual(*q, wantQ) {
				t.Fatalf("book request\n got %+v\nwant %+v", q, wantQ)
			}
			if r.Status != engine.StatusRunning || !strings.Contains(r.Waiting(), "booking a slot for "+tt.step) {
				t.Errorf("while booking: status %s %q", r.Status, r.Waiting())
			}
			// Another meeting of the owner takes the first slot: the call
			// goes out with the one the calendar gives.
			var l engine.Ledger
			other := wantQ
			other.Key = "other"
			if _, err := l.Book(now, other); err != nil {
				t.Fatal(err)
			}
			start, err := l.Book(now, *q)
			if err != nil {
				t.Fatal(err)
			}
			if want := utc(tt.start).Add(tt.dur); !start.Equal(want) {
				t.Errorf("booked %s, want %s", start, want)
			}
			if p := q.Propose(); !p.Equal(utc(tt.start)) {
				t.Errorf("propose %s, want %s", p, tt.start)
			}
			out = r.OnBooked(now, start)
			diffLines(t, cmds(out), []string{"record action " + tt.step, "action " + tt.kind + " " + tt.step})
			a := out[1].Action
			if a.Start == nil || !a.Start.Equal(start) || out[0].Record.Start == nil || !out[0].Record.Start.Equal(start) {
				t.Errorf("start %v, record %v, want %s", a.Start, out[0].Record.Start, start)
			}
			if a.Due == nil || !a.Due.Equal(utc(tt.due)) {
				t.Errorf("due %v, want %s", a.Due, tt.due)
			}
			if a.Duration != tt.dur || a.Title != tt.title || a.Topic != tt.topic || !reflect.DeepEqual(a.Attendees, tt.attendees) || a.Owner != "jo@v.example" {
				t.Errorf("action %+v", a)
			}
			key := "p/acme/1/" + tt.step + "/1"
			out = r.OnActionDone(now)
			diffLines(t, cmds(out), []string{"timer due/" + key + " " + utc(tt.due).Format("01-02 15:04")})
			wantTask := []engine.Task{{ID: key, Step: tt.step, Action: a.Kind, Title: tt.title, Owner: "jo@v.example", Due: utc(tt.due), Wait: true}}
			if !reflect.DeepEqual(r.Tasks, wantTask) {
				t.Errorf("tasks %+v, want %+v", r.Tasks, wantTask)
			}
			if r.Status != engine.StatusWaiting || r.CurrentStep() != tt.step || !strings.Contains(r.Waiting(), "task "+key) {
				t.Errorf("status %s step %q waiting %q", r.Status, r.CurrentStep(), r.Waiting())
			}
			done := now.Add(time.Hour)
			out = r.OnEvent(done, engine.CompleteTaskEvent("acme", key, "held", done), r.Attrs, r.Attrs)
			diffLines(t, cmds(out), []string{"cancel due/" + key, "record task.completed " + tt.step, "record run.completed -"})
			if out[1].Record.Reason != "held" || len(r.Tasks) != 0 || len(r.Timers) != 0 {
				t.Errorf("completion %+v, tasks %v, timers %v", out[1].Record, r.Tasks, r.Timers)
			}
		})
	}
}

// A meeting with no owner books in nobody's calendar but gets the same
// notice: the slot an empty calendar gives, which is the run's own.
func TestRunMeetingWithoutOwner(t *testing.T) {
	tests := []struct{ at, step, start string }{
		{"2026-01-11T23:57:00Z", "{id: c, do: call, title: Check-in}", "2026-01-13T09:00:00Z"},
		{"2026-01-06T10:10:00Z", "{id: c, do: call, title: Check-in, due: 3d}", "2026-01-07T09:00:00Z"},
		{"2026-01-06T10:10:00Z", "{id: c, do: call, title: Urgent, due: 2h}", "2026-01-06T10:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.at+" "+tt.step, func(t *testing.T) {
			set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\nsteps:\n  - "+tt.step+"\n")
			attrs := acmeAttrs()
			delete(attrs, "csm")
			_, _, out := startRun(t, set, attrs, signedAt(tt.at))
			diffLines(t, cmds(out), []string{"record run.started -", "record action c", "action call c"})
			if a := out[2].Action; a.Start == nil || !a.Start.Equal(utc(tt.start)) {
				t.Errorf("start %v, want %s", a.Start, tt.start)
			}
		})
	}
}

// escalate opens a task for the manager, never blocks, and marks the run escalated.
func TestRunEscalated(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: esc, do: escalate, to: customer.manager, reason: "{{ customer.name }} is unhappy", channel: cs-leads}
  - wait: 1d
`)
	now := utc("2026-01-05T10:00:00Z")
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	diffLines(t, cmds(out), []string{"record run.started -", "record action esc", "action escalate esc"})
	if rec := out[1].Record; rec.Reason != "Acme is unhappy" || rec.Owner != "max@v.example" {
		t.Errorf("record %+v", rec)
	}
	a := out[2].Action
	if a.To != "max@v.example" || a.Owner != "max@v.example" || a.Channel != "cs-leads" || a.Title != "Escalation: Acme is unhappy" ||
		a.Summary != "escalate to max@v.example: Acme is unhappy" || !a.Due.Equal(utc("2026-01-07T10:00:00Z")) {
		t.Errorf("action %+v", a)
	}
	out = r.OnActionDone(now)
	diffLines(t, cmds(out), []string{"timer due/p/acme/1/esc/1 01-07 10:00", "timer wait/steps.1/1 01-06 10:00"})
	if r.Status != engine.StatusEscalated || !r.Escalated || len(r.Tasks) != 1 || r.Tasks[0].Wait {
		t.Errorf("status %s tasks %+v", r.Status, r.Tasks)
	}
}

// A permanent failure of an action fails the run and cancels its timers.
func TestRunActionFailed(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
expires: 30d
steps:
  - {id: crm, do: webhook, endpoint: crm, body: {account: "{{ customer.id }}", seats: "{{ customer.seats }}"}}
  - {id: never, do: notify, text: never}
`)
	now := utc("2026-01-05T10:00:00Z")
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	diffLines(t, cmds(out), []string{"record run.started -", "timer expires 02-04 10:00", "record action crm", "action webhook crm"})
	if a := out[3].Action; a.Endpoint != "crm" || !reflect.DeepEqual(a.Fields, map[string]string{"account": "acme", "seats": "120"}) {
		t.Errorf("action %+v", a)
	}
	out = r.OnActionFailed(now, "HTTP 422 from crm")
	diffLines(t, cmds(out), []string{"cancel expires", "record run.failed -"})
	if got := out[1].Record.Reason; got != "step crm failed: HTTP 422 from crm" {
		t.Errorf("reason %q", got)
	}
	if !r.Done() || r.Status != engine.StatusFailed || len(r.Timers) != 0 {
		t.Errorf("status %s timers %v", r.Status, r.Timers)
	}
	if out := r.OnTimer(utc("2026-02-04T10:00:00Z"), "expires"); out != nil {
		t.Errorf("timer after failure: %v", cmds(out))
	}
	if out := r.OnActionDone(now); len(out) != 0 {
		t.Errorf("action done after failure: %v", cmds(out))
	}
}

// A run that exits closes everything: timers are cancelled and its open
// tasks are gone, so none can go overdue or be listed.
func TestRunExitClosesEverything(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
exit_when: customer.stage == "churned"
expires: 60d
steps:
  - {id: todo, do: task, title: Do it, wait: false}
  - {id: call, do: call, title: Call}
`)
	now := utc("2026-01-05T10:00:00Z")
	j, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	out = append(out, r.OnActionDone(now)...)
	out = append(out, r.OnBooked(now, now)...)
	out = append(out, r.OnActionDone(now)...)
	diffLines(t, cmds(out), []string{
		"record run.started -", "timer expires 03-06 10:00",
		"record action todo", "action task todo", "timer due/p/acme/1/todo/1 01-07 10:00", "book call call",
		"record action call", "action call call", "timer due/p/acme/1/call/1 01-07 10:00",
	})
	if len(r.Tasks) != 2 {
		t.Fatalf("tasks %+v", r.Tasks)
	}
	later := utc("2026-01-06T10:00:00Z")
	ev := &lang.Event{ID: "e2", Type: "customer.updated", Customer: "acme", At: later, Attributes: map[string]any{"stage": "churned"}}
	a := j.Apply(set, later, ev)
	if !reflect.DeepEqual(a.Forward, []string{"run/p/acme/1"}) {
		t.Fatalf("forward %v", a.Forward)
	}
	out = r.OnEvent(later, a.Event, a.Attrs, a.Before)
	diffLines(t, cmds(out), []string{"cancel expires", "cancel due/p/acme/1/todo/1", "cancel due/p/acme/1/call/1", "record run.exited -"})
	if r.Status != engine.StatusExited || len(r.Timers) != 0 || len(r.Tasks) != 0 || len(r.Threads) != 0 {
		t.Errorf("status %s timers %v tasks %v threads %v", r.Status, r.Timers, r.Tasks, r.Threads)
	}
	if got := out[3].Record.Reason; got != `exit_when customer.stage == "churned" on customer.updated` {
		t.Errorf("reason %q", got)
	}
	if out := r.OnTimer(utc("2026-01-07T10:00:00Z"), "due/p/acme/1/todo/1"); out != nil {
		t.Errorf("due after exit: %v", cmds(out))
	}
}

// RunState is plain data: a run resumed from its JSON continues exactly
// like the original.
func TestRunResumeFromJSON(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - id: r
    repeat:
      every: 1 business day
      times: 2
      steps:
        - {id: c, do: call, title: "Call {{ customer.name }}", wait: false, due: 1d, overdue: [{do: notify, text: late}]}
        - {id: e, do: email, subject: Hi, body: "Hi {{ event.data.plan }}"}
  - wait_for: {until: customer.nps > 8, timeout: 5d}
`)
	now := utc("2026-01-09T10:00:00Z")
	_, r, _ := startRun(t, set, acmeAttrs(), signedAt("2026-01-09T10:00:00Z"))
	r.OnBooked(now, now)
	r.OnActionDone(now)
	r.OnSlot(now, utc("2026-01-12T09:00:00Z"))
	data, err := json.Marshal(r.RunState)
	if err != nil {
		t.Fatal(err)
	}
	var st engine.RunState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	r2 := engine.ResumeRun(set, set.Playbook("p"), st)
	drive := func(r *engine.Run) []string {
		var log []string
		var step func(out []engine.Command, at time.Time)
		step = func(out []engine.Command, at time.Time) {
			for _, c := range out {
				switch c.Kind {
				case engine.CmdRecord:
					log = append(log, c.Record.At.Format(time.RFC3339)+" "+c.Record.Kind+" "+c.Record.Step)
				case engine.CmdAction:
					log = append(log, "  "+c.Action.Key+" "+c.Action.Body)
					step(r.OnActionDone(at), at)
				case engine.CmdReserve:
					step(r.OnSlot(at, at), at)
				case engine.CmdBook:
					step(r.OnBooked(at, c.Book.Propose()), at)
				}
			}
		}
		for !r.Done() && len(r.Timers) > 0 {
			tm := r.SortedTimers()[0]
			step(r.OnTimer(tm.At, tm.ID), tm.At)
		}
		return log
	}
	got, want := drive(r2), drive(r)
	if len(want) < 8 {
		t.Fatalf("too short a run: %v", want)
	}
	diffLines(t, got, want)
}

// wait_for: an event that makes until true cancels the timeout timer.
func TestRunWaitForCancelsTimeout(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: answer, wait_for: {until: customer.nps >= 9, timeout: 5d}}
  - {id: thanks, do: notify, text: "thanks {{ customer.nps }}"}
`)
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	// acme has no nps yet: until cannot be evaluated, which is recorded.
	diffLines(t, cmds(out), []string{"record run.started -", "record condition.failed answer", "timer timeout/answer/1 01-10 10:00"})
	if r.Status != engine.StatusWaiting || r.Waiting() != "waiting for customer.nps >= 9 until Sat 10 Jan 10:00 UTC" {
		t.Errorf("status %s %q", r.Status, r.Waiting())
	}
	at := utc("2026-01-06T10:00:00Z")
	low := map[string]any{"nps": 5}
	if out := r.OnEvent(at, &lang.Event{Type: "nps.responded", Customer: "acme", At: at}, low, r.Attrs); len(out) != 0 {
		t.Errorf("until false: %v", cmds(out))
	}
	high := map[string]any{"nps": 10}
	out = r.OnEvent(at, &lang.Event{Type: "nps.responded", Customer: "acme", At: at}, high, low)
	diffLines(t, cmds(out), []string{"cancel timeout/answer/1", "record action thanks", "action notify thanks"})
	if out[2].Action.Text != "thanks 10" || len(r.Timers) != 0 {
		t.Errorf("action %+v timers %v", out[2].Action, r.Timers)
	}
}

// A run whose steps are done waits for its open tasks; an open task past
// its due time makes the run overdue and runs its overdue steps once.
func TestRunOverdueStatus(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: todo, do: task, title: Do it, due: 4h, wait: false, overdue: [{id: nag, do: notify, text: "{{ customer.name }} late"}]}
`)
	now := utc("2026-01-05T10:00:00Z")
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	out = append(out, r.OnActionDone(now)...)
	diffLines(t, cmds(out), []string{"record run.started -", "record action todo", "action task todo", "timer due/p/acme/1/todo/1 01-05 14:00"})
	if r.Done() || r.Status != engine.StatusTasksOpen || r.Waiting() != "waiting for 1 open task(s) to be completed" {
		t.Errorf("status %s %q", r.Status, r.Waiting())
	}
	due := utc("2026-01-05T14:00:00Z")
	out = r.OnTimer(due, "due/p/acme/1/todo/1")
	diffLines(t, cmds(out), []string{"record task.overdue todo", "record action nag", "action notify nag"})
	if out[2].Action.Text != "Acme late" {
		t.Errorf("text %q", out[2].Action.Text)
	}
	out = r.OnActionDone(due)
	if len(out) != 0 || r.Status != engine.StatusOverdue || !r.Tasks[0].Overdue {
		t.Errorf("after overdue: %v, status %s, tasks %+v", cmds(out), r.Status, r.Tasks)
	}
	if out := r.OnTimer(due, "due/p/acme/1/todo/1"); out != nil {
		t.Errorf("due timer fired twice: %v", cmds(out))
	}
	later := due.Add(time.Hour)
	out = r.OnEvent(later, engine.CompleteTaskEvent("acme", "p/acme/1/todo/1", "done", later), r.Attrs, r.Attrs)
	diffLines(t, cmds(out), []string{"record task.completed todo", "record run.completed -"})
}

// A run records a failed until once, and remembers it across a resume
// (continue-as-new): the next events record nothing again.
func TestRunConditionFailedOnceAcrossResume(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: answer, wait_for: {until: customer.nps >= 9}}
  - {id: thanks, do: notify, text: thanks}
`)
	_, r, out := startRun(t, set, acmeAttrs(), signedAt("2026-01-05T10:00:00Z"))
	diffLines(t, cmds(out), []string{"record run.started -", "record condition.failed answer"})
	data, err := json.Marshal(r.RunState)
	if err != nil {
		t.Fatal(err)
	}
	var st engine.RunState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	r = engine.ResumeRun(set, set.Playbook("p"), st)
	at := utc("2026-01-06T10:00:00Z")
	attrs := acmeAttrs()
	attrs["plan"] = "pro"
	if out := r.OnEvent(at, &lang.Event{Type: lang.EventCustomerUpdated, Customer: "acme", At: at}, attrs, r.Attrs); len(out) != 0 {
		t.Errorf("a second event: %v, want nothing", cmds(out))
	}
	attrs = acmeAttrs()
	attrs["nps"] = 10
	out = r.OnEvent(at, &lang.Event{Type: lang.EventCustomerUpdated, Customer: "acme", At: at}, attrs, r.Attrs)
	diffLines(t, cmds(out), []string{"record action thanks", "action notify thanks"})
}
