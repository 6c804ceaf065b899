package workflows

import (
	"strings"
	"testing"
)

// An interpolation that fails at run time fails the run, with the same
// reason in the workflows as in the simulator, and nothing is sent.
func TestInterpolationFailureParity(t *testing.T) {
	bundle, set := paritySet(t, map[string]string{
		"schema.yaml": "customer:\n  name: string\n  seats: int\n  contact_email: string\nevents:\n  contract.signed: {}\nstages: [onboarding]\n",
		"p.yaml": `playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: mail, do: email, subject: "You have {{ customer.seats + 1 }} seats", body: hello}
  - {id: after, do: notify, text: never}
`,
	})
	sc := scenario(t, set, `
start: 2026-01-05T00:00:00Z
until: 2026-01-06T00:00:00Z
customers:
  - {id: acme, name: Acme, contact_email: it@acme.example}
events:
  - {at: 2026-01-05T10:00:00Z, customer: acme, type: contract.signed}
`)
	recs := checkParity(t, bundle, set, sc)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Kind)
	}
	last := recs[len(recs)-1]
	if strings.Join(kinds, " ") != "run.started run.failed" ||
		!strings.HasPrefix(last.Reason, `step mail failed: subject: `) || !strings.Contains(last.Reason, `evaluating "customer.seats + 1": customer.seats is not set (nil): + cannot be applied to nil and an int`) {
		t.Errorf("timeline %v, reason %q", kinds, last.Reason)
	}
}
