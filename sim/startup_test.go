package sim_test

import (
	"testing"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// Two runs started by one event that both begin with `do: update`: the
// first one's update reaches the second before the second has started.
// That message must wait for it, not be dropped (the second run would then
// wait for ever for its update's answer): both runs complete, with the
// messages delivered in order and out of order alike.
func TestRunsStartedTogetherBothUpdate(t *testing.T) {
	pb := func(name string) string {
		return "playbook: " + name + `
trigger: {on: [contract.signed]}
steps:
  - {do: update, set: {reviewed: 'true'}}
  - {do: notify, channel: c, text: hi}
`
	}
	set := loadSet(t, simSchema, "aa.yaml", pb("aa-test"), "zz.yaml", pb("zz-test"))
	in := sim.Input{Start: utc("2026-01-05T00:00:00Z"), Until: utc("2026-01-06T00:00:00Z"),
		Events: []*lang.Event{ev(t, set, "e1", "2026-01-05T10:00:00Z", "acme", "contract.signed", nil, nil)}}
	want := []string{
		"01-05 10:00 acme aa-test - run.started",
		"01-05 10:00 acme aa-test steps.0 action update",
		"01-05 10:00 acme aa-test steps.1 action notify",
		"01-05 10:00 acme aa-test - run.completed",
		"01-05 10:00 acme zz-test - run.started",
		"01-05 10:00 acme zz-test steps.0 action update",
		"01-05 10:00 acme zz-test steps.1 action notify",
		"01-05 10:00 acme zz-test - run.completed",
	}
	diffLines(t, show(run(t, set, in)), want)
	ordered := canonical(run(t, set, in))
	for seed := range 50 {
		in.Disorder = &sim.Disorder{Seed: uint64(seed)}
		got := canonical(run(t, set, in))
		if len(got) != len(ordered) {
			t.Fatalf("seed %d: %d records, want %d:\n%v", seed, len(got), len(ordered), show(run(t, set, in)))
		}
		for i := range got {
			if got[i] != ordered[i] {
				t.Fatalf("seed %d: record %d differs:\n in order:   %s\n disordered: %s", seed, i, ordered[i], got[i])
			}
		}
	}
}
