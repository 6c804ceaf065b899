package engine

import (
	"maps"
	"reflect"
	"slices"
)

// AttrDiff is a customer's attributes before an event, written as the
// difference from the attributes after it, so that a run's input and the
// events passed on to runs carry the record once rather than twice.
// Changed holds the earlier value of each attribute that changed or was
// removed; Added names the attributes that did not exist before.
type AttrDiff struct {
	Changed map[string]any `json:"changed,omitempty"`
	Added   []string       `json:"added,omitempty"`
}

// Diff returns before as a difference from after.
func Diff(before, after map[string]any) AttrDiff {
	var d AttrDiff
	for _, k := range sortedKeys(before) {
		if v, ok := after[k]; !ok || !reflect.DeepEqual(v, before[k]) {
			if d.Changed == nil {
				d.Changed = map[string]any{}
			}
			d.Changed[k] = before[k]
		}
	}
	for _, k := range sortedKeys(after) {
		if _, ok := before[k]; !ok {
			d.Added = append(d.Added, k)
		}
	}
	return d
}

// Before rebuilds the attributes before the event from those after it.
// With no difference it returns after itself: attribute maps are never
// changed in place.
func (d AttrDiff) Before(after map[string]any) map[string]any {
	if len(d.Changed) == 0 && len(d.Added) == 0 {
		return after
	}
	out := make(map[string]any, len(after)+len(d.Changed))
	for _, k := range sortedKeys(after) {
		out[k] = after[k]
	}
	for _, k := range d.Added {
		delete(out, k)
	}
	for _, k := range sortedKeys(d.Changed) {
		out[k] = d.Changed[k]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
