package workflows

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine/lang"
)

// paritySet writes files into a directory and loads them as a bundle.
func paritySet(t *testing.T, files map[string]string) (Bundle, *lang.Set) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return loadBundle(t, dir)
}

func kinds(recs []lang.Record) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Playbook+":"+r.Kind)
	}
	return strings.Join(out, " ")
}

// Two runs started by one event that both begin with a request to the
// journey (an update, a reservation under the weekly cap) each get theirs
// answered and complete, in the workflows as in the simulator.
func TestTwoRunsAskAtOnceParity(t *testing.T) {
	const schema = "customer:\n  name: string\n  plan: string\n  contact_email: string\nevents:\n  reference.agreed: {}\n"
	update := "  - {do: update, set: {plan: '\"x\"'}}\n"
	email := "  - {do: email, subject: hi, body: hello}\n"
	notify := "  - {do: notify, channel: c, text: hi}\n"
	for _, tc := range []struct {
		name, schema, aa, zz, want string
	}{
		{"update and update", schema, update, update,
			"aa-test:run.started aa-test:action aa-test:action aa-test:run.completed zz-test:run.started zz-test:action zz-test:action zz-test:run.completed"},
		{"update and email", schema + "contact_policy: {max_per_week: 3}\n", update, email,
			"aa-test:run.started aa-test:action aa-test:action aa-test:run.completed zz-test:run.started zz-test:action zz-test:action zz-test:run.completed"},
		{"email and email", schema + "contact_policy: {max_per_week: 3}\n", email, email,
			"aa-test:run.started aa-test:action aa-test:action aa-test:run.completed zz-test:run.started zz-test:action zz-test:action zz-test:run.completed"},
		// Under a cap of one, which of two reservations made at the same
		// instant wins is arrival order in Temporal and playbook order in
		// the simulator (docs/guarantees.md): the second asks a minute
		// later, so that the parity holds whatever order the test
		// environment runs the two children in.
		{"email and email a minute later, one a week", schema + "contact_policy: {max_per_week: 1}\n", email, "  - wait: 1m\n" + email,
			"aa-test:run.started aa-test:action aa-test:action aa-test:run.completed zz-test:run.started zz-test:message.held zz-test:action zz-test:action zz-test:run.completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := func(name, first string) string {
				return "playbook: " + name + "\ntrigger: {on: [reference.agreed]}\nsteps:\n" + first + notify
			}
			bundle, set := paritySet(t, map[string]string{
				"schema.yaml": tc.schema,
				"aa.yaml":     pb("aa-test", tc.aa),
				"zz.yaml":     pb("zz-test", tc.zz),
			})
			sc, errs := lang.ParseScenario("scenario.yaml", []byte(`
start: 2026-01-05T00:00:00Z
until: 2026-01-20T00:00:00Z
customers:
  - {id: acme, name: Acme, contact_email: it@acme.example}
events:
  - {at: 2026-01-05T10:00:00Z, customer: acme, type: reference.agreed}
`), set.Schema)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			recs := checkParity(t, bundle, set, sc)
			if got := kinds(recs); got != tc.want {
				t.Errorf("timeline\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// A `do: update` value or a `stop` reason that fails at run time stops the
// run with the reason, in the workflows as in the simulator: the update
// is not applied (it would delete the attribute).
func TestUpdateAndStopFailureParity(t *testing.T) {
	const schema = "customer:\n  name: string\n  seats: int\n  health: int\nevents:\n  contract.signed: {}\n"
	for _, tc := range []struct{ name, step, reason string }{
		{"update", `{id: bump, do: update, set: {health: "customer.seats + 1"}}`,
			`step bump failed: set.health: `},
		{"stop", `{id: halt, stop: "seats: {{ customer.seats + 1 }}"}`,
			`step halt failed: reason: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle, set := paritySet(t, map[string]string{
				"schema.yaml": schema,
				"p.yaml":      "playbook: p\ntrigger: {on: [contract.signed]}\nsteps:\n  - " + tc.step + "\n  - {id: after, do: notify, channel: c, text: never}\n",
				"health.yaml": "playbook: health\ntrigger: {on: [customer.updated]}\nsteps:\n  - {id: seen, do: notify, channel: c, text: 'health {{ customer.health }}'}\n",
			})
			sc, errs := lang.ParseScenario("scenario.yaml", []byte(`
start: 2026-01-05T00:00:00Z
until: 2026-01-06T00:00:00Z
customers:
  - {id: acme, name: Acme, health: 70}
events:
  - {at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed}
`), set.Schema)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			recs := checkParity(t, bundle, set, sc)
			last := recs[len(recs)-1]
			if got := kinds(recs); got != "p:run.started p:run.failed" ||
				!strings.HasPrefix(last.Reason, tc.reason) || !strings.Contains(last.Reason, `evaluating "customer.seats + 1": customer.seats is not set (nil): + cannot be applied to nil and an int`) {
				t.Errorf("timeline %s, reason %q", got, last.Reason)
			}
		})
	}
}

// Conditions that cannot be evaluated are named in the run's record: an if
// each time, until and exit_when once per run however many events and
// daily checks evaluate them; the same in the workflows as in the
// simulator.
func TestConditionFailureParity(t *testing.T) {
	bundle, set := paritySet(t, map[string]string{
		"schema.yaml": "customer:\n  name: string\n  nps: int\n  plan: string\nevents:\n  contract.signed: {}\ncalendar: {timezone: UTC, daily_at: \"09:00\"}\n",
		"p.yaml": `playbook: p
trigger: {on: [contract.signed]}
exit_when: customer.nps < 3 && days_since(run.started_at) > 100
steps:
  - id: check
    if: customer.nps < 7
    then: [{id: low, do: notify, channel: c, text: low}]
    else: [{id: fine, do: notify, channel: c, text: fine}]
  - id: chase
    repeat:
      every: 1d
      times: 3
      until: customer.nps > 0
      steps: [{id: ask, do: notify, channel: c, text: ask}]
  - {id: answer, wait_for: {until: customer.nps >= 9}}
  - {id: thanks, do: notify, channel: c, text: thanks}
`,
	})
	sc, errs := lang.ParseScenario("scenario.yaml", []byte(`
start: 2026-01-05T00:00:00Z
until: 2026-01-20T00:00:00Z
customers:
  - {id: acme, name: Acme}
events:
  - {at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed}
  - {at: 2026-01-09T12:00:00Z, customer: acme, type: customer.updated, attributes: {plan: pro}}
  - {at: 2026-01-12T12:00:00Z, customer: acme, type: customer.updated, attributes: {nps: 10}}
`), set.Schema)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	recs := checkParity(t, bundle, set, sc)
	var got []string
	for _, r := range recs {
		if r.Kind == lang.RecConditionFailed {
			// The position names the file by its path in a temporary directory.
			reason := regexp.MustCompile(`\(\S*/p\.yaml`).ReplaceAllString(r.Reason, "(p.yaml")
			got = append(got, r.At.Format("01-02 15:04")+" "+r.Step+": "+reason)
		}
	}
	want := []string{
		"01-05 10:00 : exit_when customer.nps < 3 && days_since(run.started_at) > 100 could not be evaluated (p.yaml:3:12): customer.nps is not set (nil): < cannot compare nil with an int; counts as false: the run goes on",
		"01-05 10:00 check: if customer.nps < 7 could not be evaluated (p.yaml:6:9): customer.nps is not set (nil): < cannot compare nil with an int; counts as false: took else",
		"01-06 10:00 chase: repeat until customer.nps > 0 could not be evaluated (p.yaml:13:14): customer.nps is not set (nil): > cannot compare nil with an int; counts as false: the repeat goes on",
		"01-07 10:00 answer: until customer.nps >= 9 could not be evaluated (p.yaml:15:36): customer.nps is not set (nil): >= cannot compare nil with an int; counts as false: the run keeps waiting",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("condition records\n got:\n%s\nwant:\n%s\ntimeline: %s", strings.Join(got, "\n"), strings.Join(want, "\n"), kinds(recs))
	}
	if last := recs[len(recs)-1]; last.Kind != lang.RecRunCompleted {
		t.Errorf("the run ends with %s, want run.completed: %s", last.Kind, kinds(recs))
	}
}
