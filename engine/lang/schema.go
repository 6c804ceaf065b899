package lang

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/tendfmt"
	"gopkg.in/yaml.v3"
)

// Type is the type of a customer attribute or an event data field.
type Type int

// The attribute types of schema.yaml.
const (
	TString Type = iota + 1
	TInt
	TFloat
	TBool
	TTime
	TDuration
	TStrings
)

var typeNames = []string{"string", "int", "float", "bool", "time", "duration", "[string]"}

// String returns the type's name as written in schema.yaml.
func (t Type) String() string {
	if t >= TString && t <= TStrings {
		return typeNames[t-1]
	}
	return "unknown"
}

func parseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if s == n {
			return Type(i + 1), true
		}
	}
	return 0, false
}

func (t Type) exprType() types.Type {
	switch t {
	case TString:
		return types.String
	case TInt:
		return types.Int
	case TFloat:
		return types.Float64
	case TBool:
		return types.Bool
	case TTime:
		return types.TypeOf(time.Time{})
	case TDuration:
		return types.TypeOf(time.Duration(0))
	case TStrings:
		return types.TypeOf([]string{})
	}
	return types.Any
}

// Attr is a typed customer attribute or event data field.
type Attr struct {
	Name   string
	Type   Type
	Enum   []string
	Column string // the CSV header it is read from, for `tend simulate --customers`
	Pos    tendfmt.Pos
}

// EventType is a declared event type with its data fields.
type EventType struct {
	Name   string
	Fields []*Attr
	Pos    tendfmt.Pos
}

// Field returns the named data field, or nil.
func (et *EventType) Field(name string) *Attr {
	for _, f := range et.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// FieldNames lists the data fields in order.
func (et *EventType) FieldNames() []string {
	names := make([]string, len(et.Fields))
	for i, f := range et.Fields {
		names[i] = f.Name
	}
	return names
}

// ContactPolicy limits customer-facing messages across all playbooks.
type ContactPolicy struct {
	MaxPerWeek int // 0: unlimited
	Hours      calendar.Window
	HasHours   bool
}

// Built-in event types and attributes that schema.yaml does not declare.
const (
	EventCustomerUpdated = "customer.updated"
	EventTaskCompleted   = "task.completed"
	EventDaily           = "daily"
	AttrID               = "id"
	AttrStage            = "stage"
	// AttrEmailOptOut is true once the customer has unsubscribed: mail
	// marked unsubscribe: true is no longer sent to them.
	AttrEmailOptOut = "email_opt_out"
)

// DefaultStages is the lifecycle used when schema.yaml names none.
var DefaultStages = []string{"onboarding", "adoption", "retention", "renewal", "advocacy", "at_risk", "churned"}

// Schema is a loaded schema.yaml: attributes, events, stages, calendar and contact policy.
type Schema struct {
	File     string
	Attrs    []*Attr // sorted by name, including the built-in id, stage and email_opt_out
	Events   []*EventType
	Stages   []string
	Calendar *calendar.Calendar
	Policy   ContactPolicy
	source   []byte

	attrs     map[string]*Attr
	events    map[string]*EventType
	flat      *flatKeys
	semantics int // see Semantics; set by LoadSemantics
}

// Attr returns the named attribute, or nil.
func (s *Schema) Attr(name string) *Attr { return s.attrs[name] }

// Event returns the declared or built-in event type, or nil.
func (s *Schema) Event(name string) *EventType { return s.events[name] }

// AttrNames lists the attribute names in order.
func (s *Schema) AttrNames() []string {
	out := make([]string, len(s.Attrs))
	for i, a := range s.Attrs {
		out[i] = a.Name
	}
	return out
}

// EventNames lists every event type a trigger may name, in order.
func (s *Schema) EventNames() []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = e.Name
	}
	return out
}

var (
	attrNameRe  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	eventNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
)

// exprReserved are names an attribute may not take: expr keywords and operators.
var exprReserved = []string{"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith", "nil", "true", "false", "let", "if", "else"}

// ParseSchema parses schema.yaml. Problems are added to errs.
func ParseSchema(file string, data []byte, errs *tendfmt.ErrorList) *Schema {
	s := &Schema{File: file, source: data, Calendar: calendar.Default(), Stages: DefaultStages, semantics: Semantics}
	root := tendfmt.Parse(file, data, errs)
	if root == nil {
		return nil
	}
	n := tendfmt.Node{Node: root, File: file}
	f := n.Fields("schema", []string{"customer", "events", "stages", "calendar", "contact_policy"}, errs)
	if f == nil {
		return nil
	}
	s.attrs = map[string]*Attr{}
	s.events = map[string]*EventType{}
	if c, ok := f["customer"]; ok {
		s.Attrs = parseAttrs(c.Value, "customer attribute", true, errs)
	}
	for _, a := range s.Attrs {
		if a.Name == AttrID || a.Name == AttrStage || a.Name == AttrEmailOptOut {
			errs.Add(a.Pos, "customer attribute %s is built in; remove it from the schema", a.Name)
		}
	}
	if st, ok := f["stages"]; ok {
		s.Stages = nil
		for _, it := range st.Value.List("stages", errs) {
			name, ok := it.Str("stage", errs)
			if !ok {
				continue
			}
			if !attrNameRe.MatchString(name) {
				errs.Add(it.Pos(), "stage %q must be lower case letters, digits and _", name)
			} else if slices.Contains(s.Stages, name) {
				errs.Add(it.Pos(), "duplicate stage %s", name)
			} else {
				s.Stages = append(s.Stages, name)
			}
		}
		if len(s.Stages) == 0 {
			errs.Add(st.Value.Pos(), "stages must name at least one stage")
		}
	}
	s.Attrs = append(s.Attrs,
		&Attr{Name: AttrID, Type: TString},
		&Attr{Name: AttrStage, Type: TString, Enum: s.Stages},
		&Attr{Name: AttrEmailOptOut, Type: TBool})
	sort.Slice(s.Attrs, func(i, j int) bool { return s.Attrs[i].Name < s.Attrs[j].Name })
	for _, a := range s.Attrs {
		if _, dup := s.attrs[a.Name]; !dup {
			s.attrs[a.Name] = a
		}
	}
	if ev, ok := f["events"]; ok {
		for _, fe := range tendfmt.OrderedFields(ev.Value, "events", errs) {
			name := fe.Key.Value
			if !eventNameRe.MatchString(name) {
				errs.Add(fe.Key.Pos(), "event type %q must be dotted lower-case names such as contract.signed", name)
				continue
			}
			if name == EventCustomerUpdated || name == EventTaskCompleted || name == EventDaily {
				errs.Add(fe.Key.Pos(), "event type %s is built in; remove it from the schema", name)
				continue
			}
			et := &EventType{Name: name, Pos: fe.Key.Pos()}
			if !(fe.Value.Kind == yaml.ScalarNode && fe.Value.Tag == "!!null") {
				et.Fields = parseAttrs(fe.Value, "event "+name+" field", false, errs)
			}
			s.Events = append(s.Events, et)
		}
	}
	s.Events = append(s.Events,
		&EventType{Name: EventCustomerUpdated},
		&EventType{Name: EventTaskCompleted, Fields: []*Attr{
			{Name: "task", Type: TString}, {Name: "playbook", Type: TString},
			{Name: "step", Type: TString}, {Name: "outcome", Type: TString}}})
	sort.Slice(s.Events, func(i, j int) bool { return s.Events[i].Name < s.Events[j].Name })
	for _, e := range s.Events {
		s.events[e.Name] = e
	}
	s.flat = newFlatKeys(s)
	if c, ok := f["calendar"]; ok {
		parseCalendar(c.Value, s.Calendar, errs)
	}
	if c, ok := f["contact_policy"]; ok {
		cf := c.Value.Fields("contact_policy", []string{"max_per_week", "hours"}, errs)
		if m, ok := cf["max_per_week"]; ok {
			if v, ok := m.Value.Int("contact_policy.max_per_week", errs); ok {
				if v < 1 || v > 100 {
					errs.Add(m.Value.Pos(), "contact_policy.max_per_week must be between 1 and 100, not %d", v)
				}
				s.Policy.MaxPerWeek = v
			}
		}
		if h, ok := cf["hours"]; ok {
			if v, ok := h.Value.Str("contact_policy.hours", errs); ok {
				w, err := calendar.ParseWindow(v)
				if err != nil {
					errs.Add(h.Value.Pos(), "contact_policy.hours: %v", err)
				} else {
					s.Policy.Hours, s.Policy.HasHours = w, true
				}
			}
		}
	}
	return s
}

func parseAttrs(n tendfmt.Node, what string, withColumn bool, errs *tendfmt.ErrorList) []*Attr {
	var out []*Attr
	for _, fe := range tendfmt.OrderedFields(n, what+"s", errs) {
		name := fe.Key.Value
		if !attrNameRe.MatchString(name) {
			errs.Add(fe.Key.Pos(), "%s %q must be lower case letters, digits and _, starting with a letter", what, name)
			continue
		}
		if slices.Contains(exprReserved, name) {
			errs.Add(fe.Key.Pos(), "%s %q is a reserved word of the expression language", what, name)
			continue
		}
		a := &Attr{Name: name, Pos: fe.Key.Pos()}
		typeNode := fe.Value
		if fe.Value.Kind == yaml.MappingNode {
			allowed := []string{"type", "enum"}
			if withColumn {
				allowed = append(allowed, "column")
			}
			af := fe.Value.Fields(what+" "+name, allowed, errs)
			t, ok := af["type"]
			if !ok {
				errs.Add(fe.Value.Pos(), "%s %s: missing type; valid types are %s", what, name, strings.Join(typeNames, ", "))
				continue
			}
			typeNode = t.Value
			if e, ok := af["enum"]; ok {
				a.Enum = e.Value.StrList(what+" "+name+" enum", errs)
				if len(a.Enum) == 0 {
					errs.Add(e.Value.Pos(), "%s %s: enum must list at least one value", what, name)
				}
			}
			if c, ok := af["column"]; ok {
				a.Column, _ = c.Value.Str("column", errs)
			}
		}
		var ts string
		if typeNode.Kind == yaml.SequenceNode { // [string]
			items := typeNode.Content
			if len(items) == 1 && items[0].Value == "string" {
				ts = "[string]"
			} else {
				ts = "[?]"
			}
		} else if s, ok := typeNode.Str(what+" "+name+" type", errs); ok {
			ts = s
		} else {
			continue
		}
		t, ok := parseType(ts)
		if !ok {
			errs.Add(typeNode.Pos(), "%s %s: unknown type %s%s", what, name, ts, suggestOrTypes(ts))
			continue
		}
		a.Type = t
		if a.Enum != nil && t != TString {
			errs.Add(typeNode.Pos(), "%s %s: enum needs type string, not %s", what, name, t)
		}
		out = append(out, a)
	}
	return out
}

// typeAliases are type names from other languages, with the tend type they mean.
var typeAliases = map[string]string{
	"str": "string", "text": "string", "integer": "int", "int64": "int", "number": "float",
	"float64": "float", "double": "float", "decimal": "float", "boolean": "bool",
	"date": "time", "datetime": "time", "timestamp": "time", "list": "[string]",
	"array": "[string]", "[]string": "[string]", "strings": "[string]",
}

func suggestOrTypes(s string) string {
	if m, ok := typeAliases[strings.ToLower(s)]; ok {
		return "; did you mean " + m + "?"
	}
	if m := tendfmt.Suggest(s, typeNames); m != "" {
		return "; did you mean " + m + "?"
	}
	return "; valid types are " + strings.Join(typeNames, ", ")
}

func parseCalendar(n tendfmt.Node, c *calendar.Calendar, errs *tendfmt.ErrorList) {
	f := n.Fields("calendar", []string{"timezone", "workdays", "holidays", "daily_at"}, errs)
	if tz, ok := f["timezone"]; ok {
		if s, ok := tz.Value.Str("calendar.timezone", errs); ok {
			loc, err := calendar.LoadLocation(s)
			if err != nil {
				errs.Add(tz.Value.Pos(), "calendar.timezone: %v", err)
			} else {
				c.Location = loc
			}
		}
	}
	if wd, ok := f["workdays"]; ok {
		c.Workdays = [7]bool{}
		any := false
		for _, it := range wd.Value.List("calendar.workdays", errs) {
			s, ok := it.Str("workday", errs)
			if !ok {
				continue
			}
			d, err := calendar.ParseWeekday(s)
			if err != nil {
				errs.Add(it.Pos(), "calendar.workdays: %v", err)
				continue
			}
			c.Workdays[d], any = true, true
		}
		if !any {
			errs.Add(wd.Value.Pos(), "calendar.workdays must name at least one day, such as [mon, tue, wed, thu, fri]")
		}
	}
	if hd, ok := f["holidays"]; ok {
		for _, it := range hd.Value.List("calendar.holidays", errs) {
			s, ok := it.ScalarText("holiday", errs)
			if !ok {
				continue
			}
			d, err := calendar.ParseDate(s)
			if err != nil {
				errs.Add(it.Pos(), "calendar.holidays: %v", err)
				continue
			}
			c.Holidays = append(c.Holidays, d)
		}
		sort.Slice(c.Holidays, func(i, j int) bool { return c.Holidays[i].String() < c.Holidays[j].String() })
	}
	if da, ok := f["daily_at"]; ok {
		if s, ok := da.Value.ScalarText("calendar.daily_at", errs); ok {
			ck, err := calendar.ParseClock(s)
			if err != nil {
				errs.Add(da.Value.Pos(), "calendar.daily_at: %v", err)
			} else {
				c.DailyAt = ck
			}
		}
	}
}

// Coerce converts a value read from YAML, JSON or CSV to the Go type of t:
// string, int, float64, bool, time.Time, time.Duration or []string.
func Coerce(t Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case TString:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case TInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
			return nil, fmt.Errorf("%v is not a whole number", x)
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", x)
			}
			return n, nil
		}
	case TFloat:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		}
	case TBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "1":
				return true, nil
			case "false", "no", "0":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not true or false", x)
		}
	case TTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			return ParseTime(x)
		}
	case TDuration:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			d, err := parseDurationAttr(x)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
	case TStrings:
		switch x := v.(type) {
		case []string:
			return x, nil
		case []any:
			out := make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("item %d is %T, not a string", i, e)
				}
				out[i] = s
			}
			return out, nil
		case string:
			return []string{x}, nil
		}
	}
	return nil, fmt.Errorf("%v (%T) is not a %s", v, v, t)
}

// ParseTime reads an RFC 3339 time or a plain date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time; write 2026-01-31 or 2026-01-31T09:00:00Z", s)
}

// CoerceAttrs checks and converts a map of attribute values against the
// schema. A nil value is kept: it removes the attribute when merged.
func (s *Schema) CoerceAttrs(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for _, k := range sortedKeys(in) {
		a := s.attrs[k]
		if a == nil {
			return nil, fmt.Errorf("unknown attribute %s%s", k, tendfmt.HintOf("attributes", k, s.AttrNames()))
		}
		v, err := Coerce(a.Type, in[k])
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		if v != nil && len(a.Enum) > 0 && !slices.Contains(a.Enum, v.(string)) {
			return nil, fmt.Errorf("attribute %s: %q is not one of %s", k, v, quoteList(a.Enum))
		}
		out[k] = v
	}
	return out, nil
}

// CoerceData checks and converts event data against the event type's fields.
// Fields the schema does not declare are rejected.
func (s *Schema) CoerceData(eventType string, in map[string]any) (map[string]any, error) {
	et := s.events[eventType]
	if et == nil {
		return nil, fmt.Errorf("unknown event type %s%s", eventType, tendfmt.HintOf("event types", eventType, s.EventNames()))
	}
	out := make(map[string]any, len(in))
	for _, k := range sortedKeys(in) {
		f := et.Field(k)
		if f == nil {
			return nil, fmt.Errorf("event %s has no data field %s%s", eventType, k, tendfmt.HintOf("fields", k, et.FieldNames()))
		}
		v, err := Coerce(f.Type, in[k])
		if err != nil {
			return nil, fmt.Errorf("data field %s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// hint is suggestOrList for values rather than keys.
func hint(name string, candidates []string) string { return tendfmt.HintOf("names", name, candidates) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// LocalSlot is the contact-policy slot for a customer-facing message at now
// when the policy sets no weekly cap: the slot then depends only on the
// calendar, not on the journey's ledger, and a driver may compute it in the
// run instead of asking the journey. ok is false when the journey must
// Reserve it.
func (s *Schema) LocalSlot(now time.Time, tz string) (at time.Time, ok bool) {
	p := s.Policy
	if p.MaxPerWeek > 0 {
		return time.Time{}, false
	}
	if !p.HasHours {
		return now, true
	}
	return s.Calendar.ContactSlot(nil, now, 0, p.Hours, true, s.Calendar.Loc(tz)), true
}

// parseDurationAttr reads a duration attribute's value: a fixed duration,
// never business days, whose length depends on the calendar.
func parseDurationAttr(s string) (time.Duration, error) {
	d, err := calendar.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d.BusinessDays != 0 {
		return 0, fmt.Errorf("a duration attribute cannot be in business days: %q", s)
	}
	return d.Fixed, nil
}
