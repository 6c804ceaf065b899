package engine

import (
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is a simulation input file (SPEC 5.1).
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
	Pos   Pos
}

// MaxScenarioItems caps customers plus events in a scenario file.
const MaxScenarioItems = 100_000

// ParseScenario reads a scenario strictly, checking every customer
// attribute and event against the schema, with positions in every error.
// Events are sorted by time (stable), so a scenario may list them in any order.
func ParseScenario(file string, data []byte, s *Schema) (*Scenario, ErrorList) {
	var errs ErrorList
	root := parseYAML(file, data, &errs)
	if root == nil {
		return nil, errs.sorted()
	}
	n := node{root, file}
	f := n.fields("scenario", []string{"start", "until", "customers", "events"}, &errs)
	sc := &Scenario{}
	readTime := func(key string) time.Time {
		v, ok := f[key]
		if !ok {
			if f != nil {
				errs.Add(n.pos(), "scenario: missing %s", key)
			}
			return time.Time{}
		}
		return scalarTime(v.value, "scenario: "+key, &errs)
	}
	sc.Start = readTime("start")
	sc.Until = readTime("until")
	if !sc.Start.IsZero() && !sc.Until.IsZero() && !sc.Until.After(sc.Start) {
		errs.Add(f["until"].value.pos(), "scenario: until %s is not after start %s", sc.Until.Format(time.RFC3339), sc.Start.Format(time.RFC3339))
	}
	seen := map[string]int{}
	if c, ok := f["customers"]; ok {
		items := cappedList(c.value, "customers", &errs)
		for i, it := range items {
			what := "customers[" + itoa(i) + "]"
			cf := orderedFields(it, what, &errs)
			cust := ScenarioCustomer{Attrs: map[string]any{}, Pos: it.pos()}
			for _, fe := range cf {
				k := fe.key.Value
				if k == AttrID {
					cust.ID, _ = fe.value.str(what+".id", &errs)
					continue
				}
				a := s.Attr(k)
				if a == nil {
					errs.Add(fe.key.pos(), "%s: unknown attribute %s%s", what, k, hintOf("attributes", k, s.AttrNames()))
					continue
				}
				v, ok := yamlValue(fe.value, what+"."+k, &errs)
				if !ok {
					continue
				}
				if cv, err := s.CoerceAttrs(map[string]any{k: v}); err != nil {
					errs.Add(fe.value.pos(), "%s: %v", what, err)
				} else {
					cust.Attrs[k] = cv[k]
				}
			}
			if cust.ID == "" {
				if cf != nil {
					errs.Add(it.pos(), "%s: missing id", what)
				}
				continue
			}
			if line, dup := seen[cust.ID]; dup {
				errs.Add(it.pos(), "%s: customer %s is listed twice (first at line %d)", what, cust.ID, line)
				continue
			}
			seen[cust.ID] = it.Line
			sc.Customers = append(sc.Customers, cust)
		}
	}
	if e, ok := f["events"]; ok {
		items := cappedList(e.value, "events", &errs)
		for i, it := range items {
			what := "events[" + itoa(i) + "]"
			ef := it.fields(what, []string{"id", "at", "customer", "type", "attributes", "data"}, &errs)
			if ef == nil {
				continue
			}
			ev := &Event{}
			if v, ok := ef["id"]; ok {
				ev.ID, _ = v.value.scalarText(what+".id", &errs)
			}
			if v, ok := ef["at"]; ok {
				ev.At = scalarTime(v.value, what+".at", &errs)
			}
			if v, ok := ef["customer"]; ok {
				ev.Customer, _ = v.value.scalarText(what+".customer", &errs)
			}
			if v, ok := ef["type"]; ok {
				ev.Type, _ = v.value.str(what+".type", &errs)
			}
			for _, k := range []string{"attributes", "data"} {
				v, ok := ef[k]
				if !ok {
					continue
				}
				m, ok := yamlValue(v.value, what+"."+k, &errs)
				if !ok {
					continue
				}
				mm, isMap := m.(map[string]any)
				if !isMap {
					errs.Add(v.value.pos(), "%s.%s must be a mapping", what, k)
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
				errs.Add(it.pos(), "%s: %v", what, err)
				continue
			}
			if !sc.Start.IsZero() && ev.At.Before(sc.Start) {
				errs.Add(ef["at"].value.pos(), "%s: at %s is before the scenario's start", what, ev.At.Format(time.RFC3339))
			}
			sc.Events = append(sc.Events, ev)
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	sort.SliceStable(sc.Events, func(i, j int) bool { return sc.Events[i].At.Before(sc.Events[j].At) })
	return sc, nil
}

// cappedList reads a scenario list, refusing one longer than MaxScenarioItems.
func cappedList(n node, what string, errs *ErrorList) []node {
	items := n.list("scenario: "+what, errs)
	if len(items) > MaxScenarioItems {
		errs.Add(n.pos(), "scenario: %d %s; the limit is %d", len(items), what, MaxScenarioItems)
		return nil
	}
	return items
}

func scalarTime(n node, what string, errs *ErrorList) time.Time {
	s, ok := n.scalarText(what, errs)
	if !ok {
		return time.Time{}
	}
	t, err := ParseTime(s)
	if err != nil {
		errs.Add(n.pos(), "%s: %v", what, err)
	}
	return t
}

// yamlValue converts a node to a plain Go value: maps, lists, strings,
// ints, floats, bools and nil. Timestamps stay strings; Coerce parses them.
func yamlValue(n node, what string, errs *ErrorList) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, fe := range orderedFields(n, what, errs) {
			v, ok := yamlValue(fe.value, what+"."+fe.key.Value, errs)
			if !ok {
				return nil, false
			}
			m[fe.key.Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			v, ok := yamlValue(node{c, n.file}, what, errs)
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
				errs.Add(n.pos(), "%s: %v", what, err)
				return nil, false
			}
			return v, true
		}
		return strings.Clone(n.Value), true
	}
	errs.Add(n.pos(), "%s: unsupported YAML value", what)
	return nil, false
}
