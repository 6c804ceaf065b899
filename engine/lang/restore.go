package lang

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
