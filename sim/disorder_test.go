package sim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/sim"
)

// Temporal may deliver the signals one workflow sent in one task in any
// order. With Disorder, the simulator delivers every message between a
// journey and its runs reordered within its instant, and some twice: for
// every example scenario and 200 seeds, each run's timeline, and the
// timeline at each instant per customer, must equal the in-order one. The
// one difference allowed is the order of records of different runs of a
// customer at the same instant: those runs are separate workflows acting
// concurrently, and no one can observe that order (see canonical).
func TestParityUnderDisorder(t *testing.T) {
	groups, err := load.Files([]string{"../playbooks"})
	if err != nil || len(groups) != 1 {
		t.Fatalf("load playbooks: %v", err)
	}
	set, errs := lang.Load(groups[0].Files)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	scenarios, _ := filepath.Glob("../examples/*/scenario.yaml")
	if len(scenarios) == 0 {
		t.Fatal("no example scenarios")
	}
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	for _, path := range scenarios {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sc, errs := lang.ParseScenario(path, data, set.Schema)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			in := sim.Input{Start: sc.Start, Until: sc.Until, Events: sc.Events}
			for _, c := range sc.Customers {
				in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
			}
			want := canonical(run(t, set, in))
			if len(want) == 0 {
				t.Fatal("the scenario produces no records: it tests nothing")
			}
			for seed := range seeds {
				in.Disorder = &sim.Disorder{Seed: uint64(seed)}
				got := canonical(run(t, set, in))
				for i := 0; i < len(want) || i < len(got); i++ {
					var w, g string
					if i < len(want) {
						w = want[i]
					}
					if i < len(got) {
						g = got[i]
					}
					if w != g {
						t.Fatalf("seed %d: record %d differs (in order %d records, disordered %d):\n in order:   %s\n disordered: %s", seed, i, len(want), len(got), w, g)
					}
				}
			}
		})
	}
}

// canonical orders records by time, customer and run, keeping each run's
// own order (and the journey's, run "").
func canonical(recs []lang.Record) []string {
	recs = append([]lang.Record(nil), recs...)
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.Customer != b.Customer {
			return a.Customer < b.Customer
		}
		return a.Run < b.Run
	})
	out := make([]string, len(recs))
	for i, r := range recs {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}
