package engine

import (
	"time"
)

// RestoreAttrs gives attribute values decoded from JSON (numbers as
// float64, times as strings) their declared types again. Values that do not
// convert, and attributes the schema does not declare, are kept as they are:
// restoring never loses data.
func (s *Schema) RestoreAttrs(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = restoreValue(s.attrs[k], v)
	}
	return out
}

func restoreValue(a *Attr, v any) any {
	if a == nil || v == nil {
		return v
	}
	if a.Type == TDuration {
		if f, ok := v.(float64); ok { // time.Duration marshals as nanoseconds
			return time.Duration(int64(f))
		}
	}
	if cv, err := Coerce(a.Type, v); err == nil {
		return cv
	}
	return v
}

// RestoreEvent gives an event's attributes and data their declared types
// after a JSON round trip.
func (s *Schema) RestoreEvent(e *Event) {
	if e == nil {
		return
	}
	e.Attributes = s.RestoreAttrs(e.Attributes)
	if len(e.Data) > 0 {
		var fields []*Attr
		if et := s.events[e.Type]; et != nil {
			fields = et.Fields
		}
		out := make(map[string]any, len(e.Data))
		for k, v := range e.Data {
			var f *Attr
			for _, x := range fields {
				if x.Name == k {
					f = x
				}
			}
			out[k] = restoreValue(f, v)
		}
		e.Data = out
	}
}

// RestoreRunState gives a run state's values their declared types after a
// JSON round trip (continue-as-new, or a run's start input).
func (s *Schema) RestoreRunState(st *RunState) {
	st.Attrs = s.RestoreAttrs(st.Attrs)
	st.Before = s.RestoreAttrs(st.Before)
	s.RestoreEvent(st.Trigger)
	if st.Occ == nil {
		st.Occ = map[string]int{}
	}
	for i := range st.Threads {
		if a := st.Threads[i].Wait.Action; a != nil && a.Set != nil {
			a.Set = s.RestoreAttrs(a.Set)
		}
	}
}

// RestoreJourneyState gives a journey state's values their declared types
// after a JSON round trip.
func (s *Schema) RestoreJourneyState(st *JourneyState) {
	st.Attrs = s.RestoreAttrs(st.Attrs)
}

// RestoreToRun gives a journey's message its declared types after a JSON
// round trip.
func (s *Schema) RestoreToRun(m *ToRun) {
	for i := range m.Events {
		d := &m.Events[i]
		s.RestoreEvent(d.Event)
		d.Attrs = s.RestoreAttrs(d.Attrs)
		if d.Diff != nil {
			d.Diff.Changed = s.RestoreAttrs(d.Diff.Changed)
		}
	}
}

// RestoreFromRun gives a run's message its declared types after a JSON
// round trip.
func (s *Schema) RestoreFromRun(m *FromRun) {
	s.RestoreEvent(m.Event)
	if m.Action != nil && m.Action.Set != nil {
		m.Action.Set = s.RestoreAttrs(m.Action.Set)
	}
}
