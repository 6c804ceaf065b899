package sim

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// MaxLine caps one JSONL line and one CSV record.
const MaxLine = 1 << 20

// ReadCSV reads customers from CSV with a header row. idColumn names the id
// column. Every row's problems are collected, up to 100, and returned as
// a tendfmt.ErrorList. Each schema attribute is read from its `column:` header, or from a
// header equal to its name; other columns are ignored, and a blank cell
// leaves the attribute unset. Errors name the file, line and column.
func ReadCSV(file string, r io.Reader, s *lang.Schema, idColumn string) ([]Customer, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: file is empty; expected a header row", file)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var errs tendfmt.ErrorList
	idx := map[string]int{}
	for i, h := range header {
		h = strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		header[i] = h
		if j, dup := idx[h]; dup {
			_, col := cr.FieldPos(i)
			errs.Add(tendfmt.Pos{File: file, Line: 1, Col: col}, "column %s appears twice (columns %d and %d): which one holds the value?", h, j+1, i+1)
			continue
		}
		idx[h] = i
	}
	idCol, ok := idx[idColumn]
	if !ok {
		return nil, fmt.Errorf("%s:1: no id column %q; the header has %s (use --id-column)", file, idColumn, strings.Join(header, ", "))
	}
	type col struct {
		attr *lang.Attr
		i    int
	}
	var cols []col
	for _, a := range s.Attrs {
		name := a.Column
		if name == "" {
			name = a.Name
		}
		if i, ok := idx[name]; ok && a.Name != lang.AttrID {
			cols = append(cols, col{a, i})
		} else if a.Column != "" {
			return nil, fmt.Errorf("%s:1: schema attribute %s reads column %q, which the header lacks", file, a.Name, a.Column)
		}
	}
	// Other columns are ignored, but one that nearly names an attribute
	// no column feeds is a typo, whose values would be lost without a word.
	used := map[int]bool{idCol: true}
	var unread []string
	for _, c := range cols {
		used[c.i] = true
	}
	for _, a := range s.Attrs {
		if a.Name == lang.AttrID || a.Name == lang.AttrStage || slices.ContainsFunc(cols, func(c col) bool { return c.attr == a }) {
			continue
		}
		unread = append(unread, a.Name)
	}
	for i, h := range header {
		if used[i] {
			continue
		}
		if near := tendfmt.Suggest(h, unread); near != "" {
			_, colNo := cr.FieldPos(i)
			errs.Add(tendfmt.Pos{File: file, Line: 1, Col: colNo}, "column %s matches no attribute; did you mean %s? (columns are matched exactly; rename the column or set column: in the schema)", h, near)
		}
	}
	var out []Customer
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Checked before FieldPos, which panics on a record with no field.
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(errs) >= maxRowErrors {
			continue
		}
		line, idColNo := cr.FieldPos(idCol)
		id := strings.TrimSpace(rec[idCol])
		if id == "" {
			errs.Add(tendfmt.Pos{File: file, Line: line}, "column %s: empty customer id", idColumn)
			continue
		}
		if err := lang.CheckCustomerID(id); err != nil {
			errs.Add(tendfmt.Pos{File: file, Line: line, Col: idColNo}, "column %s: %v", idColumn, err)
			continue
		}
		if prev, dup := seen[id]; dup {
			errs.Add(tendfmt.Pos{File: file, Line: line}, "customer %s appears twice (first on line %d)", id, prev)
			continue
		}
		seen[id] = line
		attrs := map[string]any{}
		bad := false
		for _, c := range cols {
			cell := strings.TrimSpace(rec[c.i])
			if cell == "" {
				continue
			}
			v, err := lang.Coerce(c.attr.Type, cell)
			if err == nil && len(c.attr.Enum) > 0 && !slices.Contains(c.attr.Enum, cell) {
				err = fmt.Errorf("%q is not one of %s", cell, strings.Join(c.attr.Enum, ", "))
			}
			if err != nil {
				// The cell's own position: after a quoted multi-line cell it is not on the record's first line.
				lineNo, colNo := cr.FieldPos(c.i)
				errs.Add(tendfmt.Pos{File: file, Line: lineNo, Col: colNo}, "column %s (attribute %s): %v", header[c.i], c.attr.Name, err)
				bad = true
				continue
			}
			attrs[c.attr.Name] = v
		}
		if !bad {
			out = append(out, Customer{ID: id, Attrs: attrs, Line: line})
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	return out, nil
}

// maxRowErrors stops collecting row errors of a CSV file after this many.
const maxRowErrors = 100

// ReadCustomersJSONL reads one customer per line: {"id": ..., attribute: value, ...}.
func ReadCustomersJSONL(file string, r io.Reader, s *lang.Schema) ([]Customer, error) {
	var out []Customer
	seen := map[string]int{}
	err := eachLine(file, r, func(line int, b []byte) error {
		var m map[string]any
		if err := decodeStrict(b, &m); err != nil {
			return err
		}
		id, _ := m[lang.AttrID].(string)
		if id == "" {
			return fmt.Errorf("missing id")
		}
		if prev, dup := seen[id]; dup {
			return fmt.Errorf("customer %s appears twice (first on line %d)", id, prev)
		}
		seen[id] = line
		delete(m, lang.AttrID)
		attrs, err := s.CoerceAttrs(m)
		if err != nil {
			return err
		}
		out = append(out, Customer{ID: id, Attrs: attrs})
		return nil
	})
	return out, err
}

// ReadEventsJSONL reads one event per line, checks each against the schema,
// and sorts them by time (stable). Lines without an id get "<file>:<line>".
func ReadEventsJSONL(file string, r io.Reader, s *lang.Schema) ([]*lang.Event, error) {
	var out []*lang.Event
	err := eachLine(file, r, func(line int, b []byte) error {
		var e lang.Event
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("invalid event: %v", err)
		}
		numbersToGo(e.Attributes)
		numbersToGo(e.Data)
		if e.ID == "" {
			e.ID = fmt.Sprintf("%s:%d", file, line)
		}
		if err := s.Normalize(&e); err != nil {
			return err
		}
		out = append(out, &e)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}

func decodeStrict(b []byte, v *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	numbersToGo(*v)
	return nil
}

// numbersToGo turns json.Number into int or float64.
func numbersToGo(m map[string]any) {
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				m[k] = int(i)
			} else if f, err := n.Float64(); err == nil {
				m[k] = f
			}
		}
	}
}

func eachLine(file string, r io.Reader, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := fn(line, b); err != nil {
			return fmt.Errorf("%s:%d: %w", file, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", file, line+1, MaxLine)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
