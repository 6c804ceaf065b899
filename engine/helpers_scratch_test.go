package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/sim"
)

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

func loadSet(t *testing.T, schema string, files ...string) *engine.Set {
	t.Helper()
	fs := []engine.File{{Path: "schema.yaml", Data: []byte(schema)}}
	for i := 0; i+1 < len(files); i += 2 {
		fs = append(fs, engine.File{Path: files[i], Data: []byte(files[i+1])})
	}
	set, errs := engine.Load(fs)
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	return set
}

func simulate(t *testing.T, set *engine.Set, scenario string) []engine.Record {
	t.Helper()
	sc, errs := engine.ParseScenario("scenario.yaml", []byte(scenario), set.Schema)
	if len(errs) > 0 {
		t.Fatalf("scenario: %v", errs)
	}
	in := sim.Input{Start: sc.Start, Until: sc.Until, Events: sc.Events}
	for _, c := range sc.Customers {
		in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
	}
	res, err := sim.Run(set, in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Records
}

func show(recs []engine.Record) []string {
	var out []string
	for _, r := range recs {
		var b strings.Builder
		b.WriteString(r.At.UTC().Format("01-02 15:04") + " " + r.Customer + " " + r.Playbook + " " + r.Step + " " + r.Kind)
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
		add("task", r.Task)
		out = append(out, b.String())
	}
	return out
}

var _ = time.Now
