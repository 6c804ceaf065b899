package sim

import (
	"fmt"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// Explain simulates one customer of in from Start until Until, and says
// why each playbook did or did not start for it at its last event and its
// last daily check, as engine.Journey.Explain says it for a live journey.
// The customer must be listed in in, or have events there.
func Explain(set *lang.Set, in Input, customer string) (engine.Report, error) {
	if !in.Until.After(in.Start) {
		return engine.Report{}, fmt.Errorf("until %s is not after start %s", in.Until.Format(time.RFC3339), in.Start.Format(time.RFC3339))
	}
	var attrs map[string]any
	known := false
	var ids []string
	listed := map[string]bool{}
	for _, c := range in.Customers {
		ids, listed[c.ID] = append(ids, c.ID), true
		if c.ID == customer {
			attrs, known = c.Attrs, true
		}
	}
	var events []*lang.Event
	for _, e := range in.Events {
		if !listed[e.Customer] {
			ids, listed[e.Customer] = append(ids, e.Customer), true
		}
		if e.Customer == customer {
			events = append(events, e)
			known = true
		}
	}
	if !known {
		if len(ids) == 0 {
			return engine.Report{}, fmt.Errorf("no customer %s: the input has no customers", customer)
		}
		return engine.Report{}, fmt.Errorf("no customer %s in the input%s", customer, tendfmt.HintOf("customers", customer, ids))
	}
	c := runCustomer(set, in, customer, attrs, events)
	return c.j.Explain(set), nil
}
