package control

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tend-cs/tend/engine/lang"
)

// MaxBatch is the most events one POST /v1/events may carry.
const MaxBatch = 500

// EventError is one problem with one event of a batch or file: Index is
// the event's 0-based position in the batch, or Line its 1-based line in a
// file; Field names the field ("data.arr", "customer"), empty when the
// event as a whole is malformed.
type EventError struct {
	Index   int    `json:"index"`
	Line    int    `json:"-"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// dupOf is one more than the index of the earlier event with the
	// same id, for a repeated id; 0 otherwise.
	dupOf int
}

func (e EventError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// EventErrors are the problems with a batch or file, in order.
type EventErrors []EventError

// Error lists the problems, one per line; file names the file for
// file:line: positions ("" for a batch, which uses "event <index>").
func (l EventErrors) Error() string { return l.Format("") }

// Format lists the problems, one per line, as file:line: field: message
// when file is set, else as event <index>: field: message.
func (l EventErrors) Format(file string) string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		if file != "" && e.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: %s", file, e.Line, e.Error())
		} else {
			fmt.Fprintf(&b, "event %d: %s", e.Index, e.Error())
		}
	}
	return b.String()
}

// wireEvent is an event as JSON carries it: in API bodies and JSONL lines.
// at is a string so that one parser (lang.ParseEventTime) reads it.
type wireEvent struct {
	ID         *string        `json:"id"`
	Type       *string        `json:"type"`
	Customer   *string        `json:"customer"`
	At         *string        `json:"at"`
	Attributes map[string]any `json:"attributes"`
	Data       map[string]any `json:"data"`
}

var wireFields = []string{"id", "type", "customer", "at", "attributes", "data"}

// DecodeOptions says how DecodeEvent fills what an event leaves out.
type DecodeOptions struct {
	// Now is the time given to an event without at; when zero, at is
	// required.
	Now time.Time
	// NewID, if set, gives an id to an event without one; when nil such
	// an event gets a hash of its content (EventID), so that sending it
	// again delivers it once.
	NewID func() string
}

// DecodeEvent decodes one event from a JSON object strictly: unknown
// fields, values of the wrong JSON type and a malformed at are errors that
// name the field. Numbers keep their text (json.Number) until the schema
// types them.
func DecodeEvent(b []byte, o DecodeOptions) (*lang.Event, lang.FieldErrors) {
	var errs lang.FieldErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, lang.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		add("", "want a JSON object with type, customer and at, such as {\"type\": \"contract.signed\", \"customer\": \"acme\", \"at\": \"2026-01-05T15:00:00Z\"}")
		return nil, errs
	}
	if !utf8.Valid(b) {
		add("", "not valid UTF-8 (byte %d); send text in UTF-8", invalidUTF8At(b))
		return nil, errs
	}
	// encoding/json matches field names without regard to case and lets a
	// repeated key win silently: "Type" would set type. Keys are checked
	// exactly first.
	if errs = checkKeys(b); len(errs) > 0 {
		return nil, errs
	}
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		add(jsonErrField(err), "%s", jsonErrMessage(err))
		return nil, errs
	}
	if _, err := dec.Token(); err != io.EOF {
		add("", "more than one JSON value")
		return nil, errs
	}
	ev := &lang.Event{Attributes: w.Attributes, Data: w.Data}
	if w.ID != nil {
		ev.ID = *w.ID
		if ev.ID == "" {
			add("id", "empty id; leave id out to have one assigned")
		}
	}
	if w.Type != nil {
		ev.Type = *w.Type
	}
	if w.Customer != nil {
		ev.Customer = *w.Customer
	}
	switch {
	case w.At != nil:
		t, err := lang.ParseEventTime(*w.At)
		if err != nil {
			add("at", "%v", err)
		}
		ev.At = t
	case !o.Now.IsZero():
		ev.At = o.Now.UTC()
	}
	return ev, errs
}

// invalidUTF8At is the offset of the first byte of b that is not UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// checkKeys reports keys of an event object, and of its attributes and
// data, that are not exactly the known fields, or that repeat. Malformed
// JSON is left to the decoder, which says where.
func checkKeys(b []byte) lang.FieldErrors {
	var errs lang.FieldErrors
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return errs
		}
		k, _ := t.(string)
		// A key with a line break or other control character is quoted,
		// so that each error stays on its one line.
		k = fieldName(k)
		switch {
		case seen[k]:
			errs = append(errs, lang.FieldError{Field: k, Message: "appears twice in the event; give each field once"})
		case !slices.Contains(wireFields, k):
			msg := fmt.Sprintf("unknown field %s; an event has %s", k, strings.Join(wireFields, ", "))
			for _, f := range wireFields {
				if strings.EqualFold(f, k) {
					msg = fmt.Sprintf("unknown field %s; did you mean %s? field names are lower case", k, f)
				}
			}
			errs = append(errs, lang.FieldError{Field: k, Message: msg})
		}
		seen[k] = true
		if k != "attributes" && k != "data" {
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return errs
			}
			continue
		}
		t, err = dec.Token()
		if err != nil {
			return errs
		}
		if t != json.Delim('{') {
			if d, ok := t.(json.Delim); ok && d == '[' {
				return errs // not an object: the decoder says so
			}
			continue
		}
		inner := map[string]bool{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return errs
			}
			ik, _ := t.(string)
			if inner[ik] {
				errs = append(errs, lang.FieldError{Field: k + "." + ik, Message: "appears twice; give each key once"})
			}
			inner[ik] = true
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return errs
			}
		}
		if _, err := dec.Token(); err != nil {
			return errs
		}
	}
	return errs
}

// jsonErrField names the field a json decoding error is about.
func jsonErrField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if f, ok := unknownField(err); ok {
		return f
	}
	return ""
}

// fieldName is a JSON key as errors show it: as it is, or quoted when
// it holds characters that would not print (line breaks, controls).
func fieldName(k string) string {
	if q := strconv.Quote(k); q[1:len(q)-1] != k {
		return q
	}
	return k
}

func unknownField(err error) (string, bool) {
	const p = "json: unknown field "
	if s := err.Error(); strings.HasPrefix(s, p) {
		return strings.Trim(strings.TrimPrefix(s, p), `"`), true
	}
	return "", false
}

func jsonErrMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := te.Type.String()
		switch {
		case strings.HasPrefix(want, "map["):
			want = "an object"
		case want == "string", want == "*string":
			want = "a string"
		}
		return fmt.Sprintf("is a JSON %s; want %s", te.Value, want)
	}
	if f, ok := unknownField(err); ok {
		return fmt.Sprintf("unknown field %s; an event has %s", f, strings.Join(wireFields, ", "))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: unexpected end"
	}
	return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// DecodeBatch decodes a POST /v1/events body: one event object, or a JSON
// array of at most MaxBatch of them. A body that is not JSON, or not an
// object or array, is an error; per-event problems are returned as
// EventErrors with each event's index. Events are not checked against the
// schema here: see Check.
func DecodeBatch(body []byte, o DecodeOptions) ([]*lang.Event, EventErrors, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil, errors.New("empty body; send one event object or a JSON array of events")
	}
	var raws []json.RawMessage
	switch body[0] {
	case '{':
		if !json.Valid(body) {
			return nil, nil, fmt.Errorf("malformed JSON: %s", syntaxError(body))
		}
		raws = []json.RawMessage{body}
	case '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, nil, fmt.Errorf("malformed JSON: %s", syntaxError(body))
		}
		if len(raws) == 0 {
			return nil, nil, errors.New("empty array; send at least one event")
		}
		if len(raws) > MaxBatch {
			return nil, nil, fmt.Errorf("%d events in one request; at most %d are allowed: split the batch", len(raws), MaxBatch)
		}
	default:
		if !json.Valid(body) {
			return nil, nil, fmt.Errorf("malformed JSON: %s", syntaxError(body))
		}
		return nil, nil, errors.New("want one event object or a JSON array of events")
	}
	events := make([]*lang.Event, len(raws))
	var errs EventErrors
	for i, raw := range raws {
		ev, fe := DecodeEvent(raw, o)
		for _, e := range fe {
			errs = append(errs, EventError{Index: i, Field: e.Field, Message: e.Message})
		}
		events[i] = ev
	}
	return events, errs, nil
}

func syntaxError(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return "not a single JSON value"
	}
	return jsonErrMessage(err)
}

// Check checks decoded events against the schema (lang.Schema.CheckEvent:
// declared types and fields, enums, sizes, customer ids) and gives an id to
// each event without one, as o says. It converts values to their declared
// types in place and returns every problem, with each event's index. A nil
// event (one that did not decode) is skipped.
func Check(s *lang.Schema, events []*lang.Event, o DecodeOptions) EventErrors {
	var errs EventErrors
	first := map[string]int{}
	for i, ev := range events {
		if ev == nil {
			continue
		}
		for _, e := range s.CheckEvent(ev) {
			errs = append(errs, EventError{Index: i, Field: e.Field, Message: e.Message})
		}
		if ev.ID == "" {
			continue
		}
		// A journey applies an id once: a second event with the same id
		// would be dropped as a duplicate of the first.
		if j, dup := first[ev.ID]; dup {
			errs = append(errs, EventError{Index: i, Field: "id", Message: dupMessage(ev.ID, fmt.Sprintf("event %d", j)), dupOf: j + 1})
		} else {
			first[ev.ID] = i
		}
	}
	if len(errs) > 0 {
		return sortErrs(errs)
	}
	for _, ev := range events {
		if ev == nil || ev.ID != "" {
			continue
		}
		if o.NewID != nil {
			ev.ID = o.NewID()
		} else {
			ev.ID = EventID(ev)
		}
	}
	return nil
}

func sortErrs(errs EventErrors) EventErrors {
	slices.SortStableFunc(errs, func(a, b EventError) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.Field, b.Field)
	})
	return errs
}

func dupMessage(id, other string) string {
	return fmt.Sprintf("id %s is also the id of %s; a journey applies an id once, so this event would be dropped", id, other)
}

// RandomID is a new random event id, for events that arrive without one
// through the API: such events are not de-duplicated.
func RandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}
