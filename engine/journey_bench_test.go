package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/lang"
)

// BenchmarkJourneyApply is one contract.signed event through a journey with
// 1,000 triggers: scope building, every evaluation and the starts.
func BenchmarkJourneyApply(b *testing.B) {
	set := benchSet(b, 1000)
	customer := map[string]any{"name": "Acme", "segment": "enterprise", "seats": 120, "health": 80.0}
	ev := &lang.Event{Type: "contract.signed", Customer: "acme", At: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Data: map[string]any{"plan": "pro", "arr": 90000.0}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := NewJourney("acme", customer)
		if a := j.Apply(set, ev.At, ev); len(a.Starts) == 0 {
			b.Fatal("nothing started")
		}
	}
}

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

// benchSet builds n playbooks that all trigger on contract.signed, as the
// benchmarks of engine/lang do.
func benchSet(b testing.TB, n int) *lang.Set {
	files := []lang.File{{Path: "schema.yaml", Data: []byte(benchSchema)}}
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
		files = append(files, lang.File{Path: fmt.Sprintf("pb-%04d.yaml", i), Data: []byte(src)})
	}
	set, errs := lang.Load(files)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	return set
}

// BenchmarkJourneyApplyAgain is BenchmarkJourneyApply on a journey that has
// seen the event type before: the steady state of a long-lived journey.
func BenchmarkJourneyApplyAgain(b *testing.B) {
	set := benchSet(b, 1000)
	customer := map[string]any{"name": "Acme", "segment": "enterprise", "seats": 120, "health": 80.0}
	ev := &lang.Event{Type: "contract.signed", Customer: "acme", At: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Data: map[string]any{"plan": "pro", "arr": 90000.0}}
	j := NewJourney("acme", customer)
	j.Apply(set, ev.At, ev)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j.Apply(set, ev.At, ev)
	}
}
