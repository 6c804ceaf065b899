package workflows

import (
	"os"
	"path/filepath"
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
		{"email and email, one a week", schema + "contact_policy: {max_per_week: 1}\n", email, email,
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
