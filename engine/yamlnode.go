package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits on input, so that no file can make the loader hang or exhaust memory.
const (
	MaxFileSize = 1 << 20 // bytes per YAML or template file
	MaxDepth    = 64      // nesting of YAML mappings and sequences
	MaxNodes    = 100_000 // YAML nodes per file
)

// parseYAML parses one YAML document into a node tree, rejecting what the
// playbook language never needs: several documents, anchors and aliases (the
// classic alias bomb), and nesting deeper than MaxDepth.
func parseYAML(file string, data []byte, errs *ErrorList) *yaml.Node {
	if len(data) > MaxFileSize {
		errs.Add(Pos{File: file}, "file is %d bytes; the limit is %d", len(data), MaxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.Add(Pos{File: file, Line: 1, Col: 1}, "file is empty")
			return nil
		}
		errs.Add(yamlErrPos(file, err), "invalid YAML: %s", yamlErrMsg(err))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.Add(Pos{File: file, Line: extra.Line, Col: extra.Column}, "a file holds one YAML document; found a second one")
	} else if !errors.Is(err, io.EOF) {
		errs.Add(yamlErrPos(file, err), "invalid YAML: %s", yamlErrMsg(err))
	}
	if len(doc.Content) == 0 {
		errs.Add(Pos{File: file, Line: 1, Col: 1}, "file is empty")
		return nil
	}
	count := 0
	if !checkTree(file, doc.Content[0], 0, &count, errs) {
		return nil
	}
	return doc.Content[0]
}

func checkTree(file string, n *yaml.Node, depth int, count *int, errs *ErrorList) bool {
	*count++
	pos := Pos{File: file, Line: n.Line, Col: n.Column}
	switch {
	case *count > MaxNodes:
		errs.Add(pos, "file has more than %d YAML nodes", MaxNodes)
		return false
	case depth > MaxDepth:
		errs.Add(pos, "nesting is deeper than %d levels", MaxDepth)
		return false
	case n.Kind == yaml.AliasNode:
		errs.Add(pos, "YAML aliases (*%s) are not supported in tend files; repeat the value instead", n.Value)
		return false
	case n.Anchor != "":
		errs.Add(pos, "YAML anchors (&%s) are not supported in tend files; repeat the value instead", n.Anchor)
		return false
	}
	for _, c := range n.Content {
		if !checkTree(file, c, depth+1, count, errs) {
			return false
		}
	}
	return true
}

// yamlErrPos pulls "line N" out of a yaml.v3 error message.
func yamlErrPos(file string, err error) Pos {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil {
			return Pos{File: file, Line: n, Col: 1}
		}
	}
	return Pos{File: file, Line: 1, Col: 1}
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return msg
}

// node wraps a yaml.Node with its file, for positioned errors.
type node struct {
	*yaml.Node
	file string
}

func (n node) pos() Pos { return Pos{File: n.file, Line: n.Line, Col: n.Column} }

func (n node) kindName() string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unknown node"
}

// field is one key of a mapping, with its value.
type field struct {
	key   node
	value node
}

// fields returns a mapping's keys in order, reporting keys not in allowed
// (with the closest allowed key) and duplicate keys.
func (n node) fields(what string, allowed []string, errs *ErrorList) map[string]field {
	if n.Kind != yaml.MappingNode {
		errs.Add(n.pos(), "%s must be a mapping, not %s", what, n.kindName())
		return nil
	}
	out := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := node{n.Content[i], n.file}
		v := node{n.Content[i+1], n.file}
		if k.Kind != yaml.ScalarNode {
			errs.Add(k.pos(), "%s: keys must be plain names", what)
			continue
		}
		if allowed != nil && !contains(allowed, k.Value) {
			errs.Add(k.pos(), "%s: unknown key %s%s", what, k.Value, suggestOrList(k.Value, allowed))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			errs.Add(k.pos(), "%s: duplicate key %s (first at line %d)", what, k.Value, prev.key.Line)
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out
}

// str reads a scalar string.
func (n node) str(what string, errs *ErrorList) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		errs.Add(n.pos(), "%s must be a string, not %s", what, n.kindName())
		return "", false
	}
	return n.Value, true
}

// scalarText reads any scalar as its source text (numbers and booleans are
// accepted where an expression is expected: `when: true`).
func (n node) scalarText(what string, errs *ErrorList) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		errs.Add(n.pos(), "%s must be a single value, not %s", what, n.kindName())
		return "", false
	}
	return n.Value, true
}

func (n node) intValue(what string, errs *ErrorList) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		errs.Add(n.pos(), "%s must be a whole number, not %q", what, n.Value)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		errs.Add(n.pos(), "%s must be a whole number, not %q", what, n.Value)
		return 0, false
	}
	return v, true
}

func (n node) boolValue(what string, errs *ErrorList) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		errs.Add(n.pos(), "%s must be true or false, not %q", what, n.Value)
		return false, false
	}
	return n.Value == "true", true
}

func (n node) list(what string, errs *ErrorList) []node {
	if n.Kind != yaml.SequenceNode {
		errs.Add(n.pos(), "%s must be a list, not %s", what, n.kindName())
		return nil
	}
	out := make([]node, len(n.Content))
	for i, c := range n.Content {
		out[i] = node{c, n.file}
	}
	return out
}

// strList reads a list of strings, or a single string as a list of one.
func (n node) strList(what string, errs *ErrorList) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.list(what, errs) {
		if s, ok := c.str(what+" item", errs); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to name, or "" when none is close.
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(name) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// suggestOrList phrases a hint: the closest candidate, or all of them when few.
func suggestOrList(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	if len(candidates) <= 12 {
		return "; valid keys are " + strings.Join(candidates, ", ")
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
