package lang

import (
	"fmt"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

const benchSchema = `customer:
  name: string
  segment: {type: string, enum: [smb, mid-market, enterprise]}
  seats: int
  health: float
  csm: string
  contact_email: string
  timezone: string
events:
  contract.signed: {plan: string, arr: float}
`

// benchSet builds n playbooks that all trigger on contract.signed, with
// conditions of the shape ops write: an enum test, a threshold, a data field.
func benchSet(b testing.TB, n int) *Set {
	files := []File{{Path: "schema.yaml", Data: []byte(benchSchema)}}
	segs := []string{"smb", "mid-market", "enterprise"}
	for i := 0; i < n; i++ {
		src := fmt.Sprintf(`playbook: pb-%04d
trigger:
  on: [contract.signed]
  when: customer.segment == %q && customer.seats >= %d && event.data.arr > %d.0
steps:
  - do: task
    title: Call {{ customer.name }}
`, i, segs[i%3], i%200, i*10)
		files = append(files, File{Path: fmt.Sprintf("pb-%04d.yaml", i), Data: []byte(src)})
	}
	set, errs := Load(files)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	return set
}

// BenchmarkTriggerMatch evaluates one event against the compiled triggers
// of 1,000 playbooks: the hot path of a journey.
func BenchmarkTriggerMatch(b *testing.B) {
	set := benchSet(b, 1000)
	cands := set.Triggered("contract.signed")
	sc := benchScopeFor(set)
	var m vm.VM
	matched := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, pb := range cands {
			if ok, _ := pb.Trigger.When.Bool(&m, sc); ok {
				matched++
			}
		}
	}
	b.StopTimer()
	if matched == 0 {
		b.Fatal("no trigger matched: the benchmark measures nothing")
	}
	b.ReportMetric(float64(b.N*len(cands))/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cands)), "ns/eval")
}

// BenchmarkTriggerMatchCompileEach is the baseline: the same evaluations,
// compiling each condition every time.
func BenchmarkTriggerMatchCompileEach(b *testing.B) {
	set := benchSet(b, 1000)
	cands := set.Triggered("contract.signed")
	sc := benchScopeFor(set)
	env := newExprEnv(set.Schema, envTrigger, []string{"contract.signed"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, pb := range cands {
			prog, err := expr.Compile(pb.Trigger.When.Src, env.options...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := expr.Run(prog, sc.vars); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(cands))/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cands)), "ns/eval")
}

func benchScopeFor(set *Set) *Scope {
	customer := map[string]any{"id": "acme", "name": "Acme", "segment": "enterprise", "seats": 120, "health": 80.0}
	ev := &Event{ID: "e1", Type: "contract.signed", Customer: "acme", At: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Data: map[string]any{"plan": "pro", "arr": 90000.0}}
	return NewScope(ev.At, set.Schema, customer, customer, ev, nil)
}

// BenchmarkLoad1000 validates 1,000 playbook files, as `tend validate` does.
func BenchmarkLoad1000(b *testing.B) {
	set := benchSet(b, 1) // warm the package
	_ = set
	files := []File{{Path: "schema.yaml", Data: []byte(benchSchema)}}
	for i := 0; i < 1000; i++ {
		files = append(files, File{Path: fmt.Sprintf("pb-%04d.yaml", i), Data: []byte(fmt.Sprintf(benchPlaybook, i))})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, errs := Load(files); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// benchPlaybook is a realistic playbook of a dozen steps and expressions.
const benchPlaybook = `playbook: onboarding-%04d
description: Kickoff and check-ins.
owner: customer.csm
trigger:
  on: [contract.signed]
  when: customer.segment == "enterprise" && customer.seats >= 50 && event.data.arr > 1000.0
exit_when: customer.health < 10.0
steps:
  - id: welcome
    do: email
    subject: "Welcome, {{ customer.name }}"
    body: "Hello {{ customer.name }}, your CSM is {{ customer.csm }}."
  - id: kickoff
    do: call
    title: "Kickoff with {{ customer.name }}"
    due: 3 business days
    overdue:
      - do: escalate
        to: customer.csm
        reason: "Kickoff with {{ customer.name }} not held"
  - wait: 30d
  - id: check
    if: customer.health < 60.0
    then:
      - do: task
        title: "Health {{ customer.health }} at day 30"
    else:
      - do: notify
        channel: cs-alerts
        text: "{{ customer.name }} is healthy"
  - wait_for:
      until: customer.seats > 100
      timeout: 14d
  - repeat:
      every: 2w
      times: 3
      steps:
        - do: task
          title: "Check in with {{ customer.name }}"
          wait: false
`
