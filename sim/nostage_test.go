package sim_test

import (
	"slices"
	"testing"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/sim"
)

// noStageScenario has customers with no stage (none was ever set): each
// meets the trigger of one shipped playbook that tests
// `customer.stage != "churned"`.
const noStageScenario = `
start: 2026-03-02T00:00:00Z
until: 2026-03-10T00:00:00Z
customers:
  - {id: renews, name: Renews, segment: enterprise, csm: jo@vendor.example, manager: max@vendor.example,
     contact_email: it@renews.example, renewal_date: 2026-06-01T00:00:00Z}
  - {id: drops, name: Drops, segment: enterprise, csm: jo@vendor.example, manager: max@vendor.example,
     contact_email: it@drops.example, health: 80}
  - {id: detractor, name: Detractor, segment: enterprise, csm: jo@vendor.example, manager: max@vendor.example,
     contact_email: it@detractor.example}
  - {id: promoter, name: Promoter, segment: enterprise, csm: jo@vendor.example, manager: max@vendor.example,
     contact_email: it@promoter.example, health: 90}
events:
  - {at: 2026-03-03T15:00:00Z, customer: drops, type: customer.updated, attributes: {health: 41}}
  - {at: 2026-03-03T15:00:00Z, customer: detractor, type: nps.responded, data: {score: 3, comment: slow support}}
  - {at: 2026-03-03T15:00:00Z, customer: promoter, type: nps.responded, data: {score: 10}}
`

// TestShippedPlaybooksStartWithoutStage runs the shipped playbooks: a
// customer with no stage is not churned, so renewal, health-drop
// escalation and both NPS plays start for them. At Semantics 0, where a
// comparison with an unset stage failed, none of them did.
func TestShippedPlaybooksStartWithoutStage(t *testing.T) {
	groups, err := load.Files([]string{"../playbooks"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"renews":    "renewal",
		"drops":     "health-drop-escalation",
		"detractor": "nps-detractor-recovery",
		"promoter":  "nps-promoter-advocacy",
	}
	for _, level := range []int{lang.Semantics, 0} {
		set, errs := lang.LoadSemantics(groups[0].Files, level)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		sc, errs := lang.ParseScenario("no-stage.yaml", []byte(noStageScenario), set.Schema)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		in := sim.Input{Start: sc.Start, Until: sc.Until, Events: sc.Events}
		for _, c := range sc.Customers {
			if _, ok := c.Attrs[lang.AttrStage]; ok {
				t.Fatalf("customer %s has a stage; the test needs none", c.ID)
			}
			in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
		}
		started := map[string][]string{}
		for _, r := range run(t, set, in) {
			if r.Kind == lang.RecRunStarted {
				started[r.Customer] = append(started[r.Customer], r.Playbook)
			}
		}
		for customer, pb := range want {
			got := slices.Contains(started[customer], pb)
			if level > 0 && !got {
				t.Errorf("semantics %d: %s did not start for %s, who has no stage; started: %v", level, pb, customer, started[customer])
			}
			if level == 0 && got {
				t.Errorf("semantics 0: %s started for %s; the test cannot tell the levels apart", pb, customer)
			}
		}
	}
}
