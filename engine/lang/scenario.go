package lang

import (
	"sort"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine/tendfmt"
	"gopkg.in/yaml.v3"
)

// Scenario is a simulation input file (docs/language.md, Scenario files).
type Scenario struct {
	Start     time.Time
	Until     time.Time
	Customers []ScenarioCustomer
	Events    []*Event
}

// ScenarioCustomer is a customer of a scenario with typed attributes.
type ScenarioCustomer struct {
	ID    string
	Attrs map[string]any
	Pos   tendfmt.Pos
}

// MaxScenarioItems caps customers plus events in a scenario file.
const MaxScenarioItems = 100_000

// ParseScenario reads a scenario strictly, checking every customer
// attribute and event against the schema, with positions in every error.
// Events are sorted by time (stable), so a scenario may list them in any order.
func ParseScenario(file string, data []byte, s *Schema) (*Scenario, tendfmt.ErrorList) {
	var errs tendfmt.ErrorList
	root := tendfmt.Parse(file, data, &errs)
	if root == nil {
		return nil, sorted(errs)
	}
	n := tendfmt.Node{Node: root, File: file}
	f := n.Fields("scenario", []string{"start", "until", "customers", "events"}, &errs)
	sc := &Scenario{}
	readTime := func(key string) time.Time {
		v, ok := f[key]
		if !ok {
			if f != nil {
				errs.Add(n.Pos(), "scenario: missing %s", key)
			}
			return time.Time{}
		}
		return scalarTime(v.Value, "scenario: "+key, &errs)
	}
	sc.Start = readTime("start")
	sc.Until = readTime("until")
	if !sc.Start.IsZero() && !sc.Until.IsZero() && !sc.Until.After(sc.Start) {
		errs.Add(f["until"].Value.Pos(), "scenario: until %s is not after start %s", sc.Until.Format(time.RFC3339), sc.Start.Format(time.RFC3339))
	}
	seen := map[string]int{}
	if c, ok := f["customers"]; ok {
		items := cappedList(c.Value, "customers", &errs)
		for i, it := range items {
			what := "customers[" + itoa(i) + "]"
			cf := tendfmt.OrderedFields(it, what, &errs)
			cust := ScenarioCustomer{Attrs: map[string]any{}, Pos: it.Pos()}
			for _, fe := range cf {
				k := fe.Key.Value
				if k == AttrID {
					cust.ID, _ = fe.Value.Str(what+".id", &errs)
					continue
				}
				a := s.Attr(k)
				if a == nil {
					errs.Add(fe.Key.Pos(), "%s: unknown attribute %s%s", what, k, tendfmt.HintOf("attributes", k, s.AttrNames()))
					continue
				}
				v, ok := yamlValue(fe.Value, what+"."+k, &errs)
				if !ok {
					continue
				}
				if cv, err := s.CoerceAttrs(map[string]any{k: v}); err != nil {
					errs.Add(fe.Value.Pos(), "%s: %v", what, err)
				} else {
					cust.Attrs[k] = cv[k]
				}
			}
			if cust.ID == "" {
				if cf != nil {
					errs.Add(it.Pos(), "%s: missing id", what)
				}
				continue
			}
			if line, dup := seen[cust.ID]; dup {
				errs.Add(it.Pos(), "%s: customer %s is listed twice (first at line %d)", what, cust.ID, line)
				continue
			}
			seen[cust.ID] = it.Line
			sc.Customers = append(sc.Customers, cust)
		}
	}
	if e, ok := f["events"]; ok {
		items := cappedList(e.Value, "events", &errs)
		for i, it := range items {
			what := "events[" + itoa(i) + "]"
			ef := it.Fields(what, []string{"id", "at", "customer", "type", "attributes", "data"}, &errs)
			if ef == nil {
				continue
			}
			ev := &Event{}
			if v, ok := ef["id"]; ok {
				ev.ID, _ = v.Value.ScalarText(what+".id", &errs)
			}
			if v, ok := ef["at"]; ok {
				ev.At = scalarTime(v.Value, what+".at", &errs)
			}
			if v, ok := ef["customer"]; ok {
				ev.Customer, _ = v.Value.ScalarText(what+".customer", &errs)
			}
			if v, ok := ef["type"]; ok {
				ev.Type, _ = v.Value.Str(what+".type", &errs)
			}
			for _, k := range []string{"attributes", "data"} {
				v, ok := ef[k]
				if !ok {
					continue
				}
				m, ok := yamlValue(v.Value, what+"."+k, &errs)
				if !ok {
					continue
				}
				mm, isMap := m.(map[string]any)
				if !isMap {
					errs.Add(v.Value.Pos(), "%s.%s must be a mapping", what, k)
					continue
				}
				if k == "attributes" {
					ev.Attributes = mm
				} else {
					ev.Data = mm
				}
			}
			if ev.ID == "" {
				ev.ID = "scenario/" + itoa(i)
			}
			if err := s.Normalize(ev); err != nil {
				errs.Add(it.Pos(), "%s: %v", what, err)
				continue
			}
			if !sc.Start.IsZero() && ev.At.Before(sc.Start) {
				errs.Add(ef["at"].Value.Pos(), "%s: at %s is before the scenario's start", what, ev.At.Format(time.RFC3339))
			}
			sc.Events = append(sc.Events, ev)
		}
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	sort.SliceStable(sc.Events, func(i, j int) bool { return sc.Events[i].At.Before(sc.Events[j].At) })
	return sc, nil
}

// cappedList reads a scenario list, refusing one longer than MaxScenarioItems.
func cappedList(n tendfmt.Node, what string, errs *tendfmt.ErrorList) []tendfmt.Node {
	items := n.List("scenario: "+what, errs)
	if len(items) > MaxScenarioItems {
		errs.Add(n.Pos(), "scenario: %d %s; the limit is %d", len(items), what, MaxScenarioItems)
		return nil
	}
	return items
}

func scalarTime(n tendfmt.Node, what string, errs *tendfmt.ErrorList) time.Time {
	s, ok := n.ScalarText(what, errs)
	if !ok {
		return time.Time{}
	}
	t, err := ParseTime(s)
	if err != nil {
		errs.Add(n.Pos(), "%s: %v", what, err)
	}
	return t
}

// yamlValue converts a node to a plain Go value: maps, lists, strings,
// ints, floats, bools and nil. Timestamps stay strings; Coerce parses them.
func yamlValue(n tendfmt.Node, what string, errs *tendfmt.ErrorList) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, fe := range tendfmt.OrderedFields(n, what, errs) {
			v, ok := yamlValue(fe.Value, what+"."+fe.Key.Value, errs)
			if !ok {
				return nil, false
			}
			m[fe.Key.Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			v, ok := yamlValue(tendfmt.Node{Node: c, File: n.File}, what, errs)
			if !ok {
				return nil, false
			}
			l = append(l, v)
		}
		return l, true
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!int", "!!float", "!!bool":
			var v any
			if err := n.Decode(&v); err != nil {
				errs.Add(n.Pos(), "%s: %v", what, err)
				return nil, false
			}
			return v, true
		}
		return strings.Clone(n.Value), true
	}
	errs.Add(n.Pos(), "%s: unsupported YAML value", what)
	return nil, false
}
