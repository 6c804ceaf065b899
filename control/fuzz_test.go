package control

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeBatch feeds arbitrary bodies to the API's decoder and checker:
// they never panic, every problem names an event in the batch, and a batch
// that passes has every event complete, with an id, and valid as JSON.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(`{"type": "contract.signed", "customer": "acme", "data": {"arr": 1.5, "plan": "pro"}}`)
	f.Add(`[{"type": "customer.updated", "customer": "zoë", "at": "2026-01-05", "attributes": {"seats": 3, "csm": null}}, {"type": 1}]`)
	f.Add(`[{"id": "x", "type": "nps.responded", "customer": "c", "at": "2201-01-01", "data": {"score": "9"}}]`)
	f.Add(`{"attributes": {"renewal_date": "2026-12-31T00:00:00Z", "health": 1e400}}`)
	schema := shippedSchema(f)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		o := DecodeOptions{Now: now, NewID: RandomID}
		evs, errs, err := DecodeBatch([]byte(body), o)
		if err != nil {
			return
		}
		errs = append(errs, Check(schema, evs, o)...)
		for _, e := range errs {
			if e.Index < 0 || e.Index >= len(evs) || e.Message == "" {
				t.Fatalf("error %+v outside a batch of %d", e, len(evs))
			}
		}
		if len(errs) > 0 {
			return
		}
		for i, ev := range evs {
			if ev.ID == "" || ev.Customer == "" || ev.Type == "" || ev.At.IsZero() {
				t.Fatalf("event %d passed incomplete: %+v", i, ev)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("event %d cannot travel as JSON: %v", i, err)
			}
		}
	})
}
