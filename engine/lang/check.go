package lang

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tend-cs/tend/engine/tendfmt"
)

// Limits on events and customer records, checked where events enter tend
// (the HTTP API, tend event send, tend import) and again by the journey, so
// that no customer's state can grow past what Temporal carries.
const (
	MaxAttrValueBytes = 64 << 10  // one attribute value, as JSON
	MaxRecordBytes    = 256 << 10 // a customer's whole record, as JSON
	MaxEventBytes     = 256 << 10 // one event, as JSON
	MaxCustomerIDLen  = 200       // bytes of UTF-8
	MaxEventIDLen     = 128       // bytes
	MaxEventTypeLen   = 100       // bytes
	MaxYear           = 2200      // the last year an event time may fall in
)

// FieldError is one problem with an event, naming the field: "type",
// "data.arr", "attributes.health".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors are every problem with one event, sorted by field.
type FieldErrors []FieldError

func (l FieldErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Err returns l as an error, or nil when it is empty.
func (l FieldErrors) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l *FieldErrors) add(field, format string, args ...any) {
	*l = append(*l, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// CheckCustomerID says what is wrong with a customer id: it must be
// non-empty, valid UTF-8 of at most MaxCustomerIDLen bytes, without control
// characters, and not only white space.
func CheckCustomerID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("missing customer id")
	case !utf8.ValidString(id):
		return fmt.Errorf("customer id is not valid UTF-8")
	case len(id) > MaxCustomerIDLen:
		return fmt.Errorf("customer id is %d bytes; at most %d are allowed", len(id), MaxCustomerIDLen)
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("customer id %q is only white space", id)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("customer id %q starts or ends with white space", id)
	}
	for i, r := range id {
		switch {
		case r == utf8.RuneError:
			return fmt.Errorf("customer id %q has U+FFFD at byte %d: it was not valid UTF-8 where it came from", id, i)
		case !unicode.IsPrint(r):
			return fmt.Errorf("customer id %q has a control or unprintable character (%U) at byte %d", id, r, i)
		}
	}
	return nil
}

// CheckEventID says what is wrong with an event id. An empty id is allowed:
// the event then is not de-duplicated.
func CheckEventID(id string) error {
	switch {
	case !utf8.ValidString(id):
		return fmt.Errorf("event id is not valid UTF-8")
	case len(id) > MaxEventIDLen:
		return fmt.Errorf("event id is %d bytes; at most %d are allowed", len(id), MaxEventIDLen)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("event id %q has a control character", id)
		}
	}
	return nil
}

// ParseEventTime reads an event time: RFC 3339 (2026-01-31T09:00:00Z, with
// any offset) or a bare date (2026-01-31, midnight UTC), in a year from 1
// to MaxYear. It is the one time parser for the API, JSONL files and --at.
func ParseEventTime(s string) (time.Time, error) {
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, err
	}
	if y := t.Year(); y > MaxYear || y < 1 {
		return time.Time{}, fmt.Errorf("%q is in the year %d; times must fall in the years 1 to %d", s, y, MaxYear)
	}
	return t, nil
}

// CheckEvent checks an event as it arrives, before it is accepted: the
// customer id, the event id, a type that is declared or built in, every
// attribute and data field against its declared type and enum, and the
// size limits. Values are converted to their declared types in place: an
// int field holds an int. JSON numbers may arrive as json.Number, int or
// float64. Unlike Normalize, it is strict: a number is not a string, and a
// string is not a number. It returns every problem, sorted by field.
func (s *Schema) CheckEvent(e *Event) FieldErrors {
	var errs FieldErrors
	if err := CheckCustomerID(e.Customer); err != nil {
		errs.add("customer", "%v", err)
	}
	if err := CheckEventID(e.ID); err != nil {
		errs.add("id", "%v", err)
	}
	typeOK := false
	switch {
	case e.Type == "":
		errs.add("type", "missing event type")
	case e.Type == EventDaily:
		errs.add("type", "daily is a trigger, not an event type")
	case len(e.Type) > MaxEventTypeLen:
		errs.add("type", "event type is %d bytes; at most %d are allowed", len(e.Type), MaxEventTypeLen)
	case s.Event(e.Type) == nil:
		errs.add("type", "unknown event type %s%s", e.Type, tendfmt.HintOf("event types", e.Type, s.EventNames()))
	default:
		typeOK = true
	}
	if e.At.IsZero() {
		errs.add("at", "missing time")
	} else if y := e.At.Year(); y > MaxYear || y < 1 {
		errs.add("at", "year %d is out of range; event times must fall in the years 1 to %d", y, MaxYear)
	}
	if len(e.Attributes) > 0 {
		out := make(map[string]any, len(e.Attributes))
		for _, k := range sortedKeys(e.Attributes) {
			field := "attributes." + k
			a := s.attrs[k]
			switch {
			case a == nil:
				errs.add(field, "unknown attribute %s%s", k, tendfmt.HintOf("attributes", k, s.AttrNames()))
				continue
			case k == AttrID:
				errs.add(field, "the customer id cannot be changed; send the event to the customer instead")
				continue
			}
			v, err := strictCoerce(a.Type, e.Attributes[k])
			if err != nil {
				errs.add(field, "%v", err)
				continue
			}
			if v != nil && len(a.Enum) > 0 && !slices.Contains(a.Enum, v.(string)) {
				errs.add(field, "%q is not one of %s", v, quoteList(a.Enum))
				continue
			}
			if n := jsonSize(v); n > MaxAttrValueBytes {
				errs.add(field, "value is %s as JSON; at most %s are allowed", ByteSize(n), ByteSize(MaxAttrValueBytes))
				continue
			}
			out[k] = v
		}
		e.Attributes = out
	}
	if len(e.Data) > 0 && typeOK {
		if e.Type == EventCustomerUpdated {
			errs.add("data", "customer.updated carries only attributes; put the values in attributes")
		} else {
			et := s.events[e.Type]
			out := make(map[string]any, len(e.Data))
			for _, k := range sortedKeys(e.Data) {
				field := "data." + k
				f := et.Field(k)
				if f == nil {
					names := et.FieldNames()
					if len(names) == 0 {
						errs.add(field, "event %s declares no data fields", e.Type)
					} else {
						errs.add(field, "event %s has no data field %s%s", e.Type, k, tendfmt.HintOf("fields", k, names))
					}
					continue
				}
				v, err := strictCoerce(f.Type, e.Data[k])
				if err != nil {
					errs.add(field, "%v", err)
					continue
				}
				if v != nil && len(f.Enum) > 0 && !slices.Contains(f.Enum, v.(string)) {
					errs.add(field, "%q is not one of %s", v, quoteList(f.Enum))
					continue
				}
				out[k] = v
			}
			e.Data = out
		}
	}
	if typeOK && e.Type == EventTaskCompleted {
		task, _ := e.Data["task"].(string)
		pb, _ := e.Data["playbook"].(string)
		step, _ := e.Data["step"].(string)
		if task == "" && (pb == "" || step == "") {
			errs.add("data", "task.completed names the task: data.task (as tend tasks list shows it), or data.playbook and data.step")
		}
	}
	if len(errs) == 0 {
		if n := jsonSize(e); n > MaxEventBytes {
			errs.add("event", "event is %s as JSON; at most %s are allowed", ByteSize(n), ByteSize(MaxEventBytes))
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

// strictCoerce converts a value decoded from JSON to the Go type of t, and
// refuses a value of another JSON type: "120" is not an int, and 120 is not
// a string. Times and durations are strings in JSON.
func strictCoerce(t Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	want := func() error {
		return fmt.Errorf("%s is %s; want %s", preview(v), jsonKind(v), typeWant(t))
	}
	switch t {
	case TString:
		if s, ok := v.(string); ok {
			if err := checkText(s); err != nil {
				return nil, err
			}
			return s, nil
		}
	case TInt:
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil && i > -(1<<53) && i < 1<<53 {
				return int(i), nil
			}
			if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int(f), nil
			}
			return nil, fmt.Errorf("%s is not a whole number between -2^53 and 2^53 (exclusive)", x)
		case int:
			if x <= -(1<<53) || x >= 1<<53 {
				return nil, fmt.Errorf("%d is not between -2^53 and 2^53 (exclusive)", x)
			}
			return x, nil
		case int64:
			if x <= -(1<<53) || x >= 1<<53 {
				return nil, fmt.Errorf("%d is not between -2^53 and 2^53 (exclusive)", x)
			}
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
			return nil, fmt.Errorf("%v is not a whole number", x)
		}
	case TFloat:
		switch x := v.(type) {
		case json.Number:
			f, err := x.Float64()
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("%s is not a finite number", x)
			}
			return f, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, fmt.Errorf("%v is not a finite number", x)
			}
			return x, nil
		}
	case TBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TTime:
		switch x := v.(type) {
		case string:
			return ParseEventTime(x)
		case time.Time:
			return x.UTC(), nil
		}
	case TDuration:
		switch x := v.(type) {
		case string:
			d, err := parseDurationAttr(x)
			if err != nil {
				return nil, err
			}
			return d, nil
		case time.Duration:
			return x, nil
		}
	case TStrings:
		switch x := v.(type) {
		case []any:
			out := make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("item %d is %s; want a string", i, jsonKind(e))
				}
				if err := checkText(s); err != nil {
					return nil, fmt.Errorf("item %d: %w", i, err)
				}
				out[i] = s
			}
			return out, nil
		case []string:
			return x, nil
		}
	}
	return nil, want()
}

// checkText refuses text that was not valid UTF-8 where it came from: raw
// invalid bytes, or U+FFFD, which decoders put in their place (and in place
// of a lone surrogate escape such as \udc00).
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8")
	}
	if i := strings.IndexRune(s, utf8.RuneError); i >= 0 {
		return fmt.Errorf("text has U+FFFD at byte %d: it was not valid UTF-8 where it came from", i)
	}
	return nil
}

func typeWant(t Type) string {
	switch t {
	case TString:
		return "a string"
	case TInt:
		return "a whole number (int)"
	case TFloat:
		return "a number (float)"
	case TBool:
		return "true or false (bool)"
	case TTime:
		return `a time as a string, such as "2026-01-31" or "2026-01-31T09:00:00Z"`
	case TDuration:
		return `a duration as a string, such as "30d" or "4h"`
	case TStrings:
		return "a list of strings"
	}
	return t.String()
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number, int, int64, float64:
		return "a number"
	case bool:
		return "a bool"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", v)
}

// preview shows a value briefly, for messages.
func preview(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// RecordSize is the size of a customer's attributes as JSON, the measure
// MaxRecordBytes caps.
func RecordSize(attrs map[string]any) int { return jsonSize(attrs) }

// ByteSize shows a size in bytes, with KiB or MiB beside it when large.
func ByteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%d bytes (%.1f KiB)", n, float64(n)/1024)
	}
	return fmt.Sprintf("%d bytes", n)
}
