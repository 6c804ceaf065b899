package tendfmt

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on input, so that no file can make the loader hang or exhaust memory.
const (
	MaxFileSize = 1 << 20 // bytes per YAML or template file
	MaxDepth    = 64      // nesting of YAML mappings and sequences
	MaxNodes    = 100_000 // YAML nodes per file
)

// Parse parses one YAML document into a node tree, rejecting what the
// playbook language never needs: several documents, anchors and aliases (the
// classic alias bomb), and nesting deeper than MaxDepth.
func Parse(file string, data []byte, errs *ErrorList) *yaml.Node {
	if len(data) > MaxFileSize {
		errs.Add(Pos{File: file, Line: 1, Col: 1}, "file is %d bytes; the limit is %d (1 MiB)", len(data), MaxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.Add(Pos{File: file, Line: 1, Col: 1}, "file is empty")
			return nil
		}
		pos := yamlErrPos(file, err)
		if n := len(LineStarts(data)); pos.Line > n {
			pos.Line = n // an error at the end of the stream
		}
		errs.Add(pos, "invalid YAML: %s", yamlErrExplain(data, pos.Line, yamlErrMsg(err)))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.Add(Pos{File: file, Line: extra.Line, Col: extra.Column}, "a file holds one YAML document; found a second one")
	} else if !errors.Is(err, io.EOF) {
		pos := yamlErrPos(file, err)
		if n := len(LineStarts(data)); pos.Line > n {
			pos.Line = n
		}
		errs.Add(pos, "invalid YAML: %s", yamlErrExplain(data, pos.Line, yamlErrMsg(err)))
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" && doc.Content[0].Value == "") {
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

// yamlParserErrors are the messages of yaml.v3's parser (as opposed to its
// scanner). yaml.v3 prints the 0-based line of a parser error's context
// (such as the start of an unclosed [ list), so those lines are one short.
var yamlParserErrors = []string{
	"did not find expected <",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %",
	"found incompatible YAML document",
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
		if n, e := strconv.Atoi(rest[:j]); e == nil && n > 0 {
			for _, p := range yamlParserErrors {
				if strings.Contains(msg, p) {
					n++
					break
				}
			}
			return Pos{File: file, Line: n, Col: 1}
		}
	}
	return Pos{File: file, Line: 1, Col: 1}
}

// yamlErrExplain adds the likely cause to the messages that need one.
func yamlErrExplain(data []byte, line int, msg string) string {
	starts := LineStarts(data)
	if (strings.Contains(msg, "cannot start any token") || strings.Contains(msg, "tab")) && line >= 1 && line <= len(starts) {
		l := data[starts[line-1]:]
		if i := bytes.IndexAny(l, "\r\n"); i >= 0 {
			l = l[:i]
		}
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return "a tab indents line " + strconv.Itoa(line) + "; YAML indents with spaces only"
		}
	}
	switch msg {
	case "did not find expected ',' or ']'":
		return "a [ list is not closed: did not find expected ',' or ']'"
	case "did not find expected ',' or '}'":
		return "a { mapping is not closed: did not find expected ',' or '}'"
	}
	return msg
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

// Node wraps a yaml.Node with its file, for positioned errors.
type Node struct {
	*yaml.Node
	File string
}

// Pos is where the node starts.
func (n Node) Pos() Pos { return Pos{File: n.File, Line: n.Line, Col: n.Column} }

// KindName names the node's kind for messages: a mapping, a list, a scalar, null.
func (n Node) KindName() string {
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

// Field is one key of a mapping, with its value.
type Field struct {
	Key   Node
	Value Node
}

// Fields returns a mapping's keys in order, reporting keys not in allowed
// (with the closest allowed key) and duplicate keys.
func (n Node) Fields(what string, allowed []string, errs *ErrorList) map[string]Field {
	if n.Kind != yaml.MappingNode {
		errs.Add(n.Pos(), "%s must be a mapping, not %s", what, n.KindName())
		return nil
	}
	out := make(map[string]Field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := Node{n.Content[i], n.File}
		v := Node{n.Content[i+1], n.File}
		if k.Kind != yaml.ScalarNode {
			errs.Add(k.Pos(), "%s: keys must be plain names", what)
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			errs.Add(k.Pos(), "%s: unknown key %s%s", what, k.Value, suggestOrList(k.Value, allowed))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			errs.Add(k.Pos(), "%s: duplicate key %s (first at line %d)", what, k.Value, prev.Key.Line)
			continue
		}
		out[k.Value] = Field{k, v}
	}
	return out
}

// Str reads a scalar string.
func (n Node) Str(what string, errs *ErrorList) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		errs.Add(n.Pos(), "%s must be a string, not %s", what, n.KindName())
		return "", false
	}
	return n.Value, true
}

// ScalarText reads any scalar as its source text (numbers and booleans are
// accepted where an expression is expected: `when: true`).
func (n Node) ScalarText(what string, errs *ErrorList) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		errs.Add(n.Pos(), "%s must be a single value, not %s", what, n.KindName())
		return "", false
	}
	return n.Value, true
}

// Int reads a whole number.
func (n Node) Int(what string, errs *ErrorList) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		errs.Add(n.Pos(), "%s must be a whole number, not %q", what, n.Value)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		errs.Add(n.Pos(), "%s must be a whole number, not %q", what, n.Value)
		return 0, false
	}
	return v, true
}

// Bool reads true or false.
func (n Node) Bool(what string, errs *ErrorList) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		errs.Add(n.Pos(), "%s must be true or false, not %q", what, n.Value)
		return false, false
	}
	return n.Value == "true", true
}

// List reads a list.
func (n Node) List(what string, errs *ErrorList) []Node {
	if n.Kind != yaml.SequenceNode {
		errs.Add(n.Pos(), "%s must be a list, not %s", what, n.KindName())
		return nil
	}
	out := make([]Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = Node{c, n.File}
	}
	return out
}

// StrList reads a list of strings, or a single string as a list of one.
func (n Node) StrList(what string, errs *ErrorList) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.List(what, errs) {
		if s, ok := c.Str(what+" item", errs); ok {
			out = append(out, s)
		}
	}
	return out
}

// suggest returns the candidate closest to name, or "" when none is close.
// Closeness is the edit distance with transpositions (emial is one edit from
// email), within a third of the name's length; failing that, a candidate
// that the name is the start of (onboard for onboarding).
func suggest(name string, candidates []string) string {
	if name == "" {
		return ""
	}
	lname := strings.ToLower(name)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(lname, strings.ToLower(c)); d < bestD {
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
	if len(name) >= 4 {
		prefixed := ""
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), lname) {
				if prefixed != "" {
					return "" // ambiguous
				}
				prefixed = c
			}
		}
		return prefixed
	}
	return ""
}

// Suggest returns the candidate closest to a misspelled name, or "" when
// none is close: other packages' "did you mean" messages use it too.
func Suggest(name string, candidates []string) string { return suggest(name, candidates) }

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

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost 1 each.
// Names are capped at 256 runes, so no input makes it slow.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 {
		ra = ra[:256]
	}
	if len(rb) > 256 {
		rb = rb[:256]
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Source is a file's bytes with the offset of each line, for mapping the
// value of a scalar back to where each of its bytes was written.
type Source struct {
	file  string
	data  []byte
	lines []int // byte offset of each line's start
}

// NewSource indexes the lines of a file.
func NewSource(file string, data []byte) *Source {
	return &Source{file: file, data: data, lines: LineStarts(data)}
}

// LineStarts returns the offset of each line's start, breaking lines
// where YAML does: at \n, \r\n, a lone \r, NEL, LS and PS.
func LineStarts(data []byte) []int {
	lines := []int{0}
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '\n':
			lines = append(lines, i+1)
		case data[i] == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			lines = append(lines, i+1)
		case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
			lines = append(lines, i+2)
		case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
			lines = append(lines, i+3)
		}
	}
	return lines
}

// offset returns the byte offset of a 1-based line and rune column, or -1.
func (s *Source) offset(line, col int) int {
	if s == nil || line < 1 || line > len(s.lines) || col < 1 {
		return -1
	}
	p := s.lines[line-1]
	for c := 1; c < col; c++ {
		if p >= len(s.data) || s.data[p] == '\n' || s.data[p] == '\r' {
			return -1
		}
		_, n := utf8.DecodeRune(s.data[p:])
		p += n
	}
	return p
}

// Loc maps byte offsets of an expression's or a text's source to file
// positions. Without marks the source is laid out from start as written (a
// one-line scalar, a template body); with marks (block scalars, and plain or
// quoted scalars folded over several lines) marks[i] is the file position of
// byte i. base is the offset of a sub-expression, such as the inside of {{ }}.
type Loc struct {
	text  string
	start Pos
	marks []Pos
	base  int
}

// PlainLoc lays text out from start: columns advance per rune, and a line
// break starts the next line at column 1.
func PlainLoc(text string, start Pos) Loc { return Loc{text: text, start: start} }

// Sub returns the locator of text[off:].
func (l Loc) Sub(off int) Loc {
	l.base += off
	return l
}

// At returns the file position of byte off of the (sub-)text.
func (l Loc) At(off int) Pos {
	off += l.base
	off = max(0, min(off, len(l.text)))
	if l.marks != nil {
		return l.marks[off]
	}
	p := l.start
	for i, r := range l.text {
		if i >= off {
			break
		}
		switch {
		case r == '\r' && i+1 < len(l.text) && l.text[i+1] == '\n':
			// the \n ends the line
		case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			p.Line, p.Col = p.Line+1, 1 // line breaks as YAML counts them
		default:
			p.Col++
		}
	}
	return p
}

// AtRune returns the file position of rune off of src, the (sub-)text as
// expr saw it: expr counts runes, not bytes.
func (l Loc) AtRune(src string, off int) Pos {
	n := 0
	for i := range src {
		if n == off {
			return l.At(i)
		}
		n++
	}
	return l.At(len(src))
}

// ScalarLoc locates the value of a scalar node in its file. A one-line
// scalar written as its value maps directly; otherwise each byte of the
// value is aligned with the file, skipping indentation, folded line breaks,
// quotes and escapes. Where alignment fails (an escape such as \u00e9), the
// rest of the value maps to the last aligned position.
func ScalarLoc(src *Source, n Node) Loc {
	start := n.Pos()
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if quoted {
		start.Col++
	}
	if block {
		start.Line, start.Col = start.Line+1, 1
	}
	simple := PlainLoc(n.Value, start)
	p := src.offset(n.Line, n.Column)
	if p < 0 || n.Kind != yaml.ScalarNode {
		return simple
	}
	if quoted {
		p++
	}
	if block {
		nl := bytes.IndexByte(src.data[p:], '\n')
		if nl < 0 {
			return simple
		}
		p += nl + 1
	}
	v := n.Value
	if !block && strings.IndexByte(v, '\n') < 0 && p+len(v) <= len(src.data) && string(src.data[p:p+len(v)]) == v {
		return simple // the common case: the value is written as is
	}
	// Align the value with the file byte by byte.
	line := sort.SearchInts(src.lines, p+1) // 1-based line of p
	col := utf8.RuneCount(src.data[src.lines[line-1]:p]) + 1
	marks := make([]Pos, len(v)+1)
	advance := func() {
		if src.data[p]&0xC0 != 0x80 {
			col++
		}
		p++
		if line < len(src.lines) && p == src.lines[line] {
			line, col = line+1, 1
		}
	}
	budget := 4*len(v) + 4096 // bytes of file the value may span
	k := 0
	for k < len(v) && p < len(src.data) && budget > 0 {
		budget--
		c, d := v[k], src.data[p]
		if c == d || (c == ' ' && d == '\n') { // a byte, or a folded line break
			marks[k] = Pos{File: src.file, Line: line, Col: col}
			k++
			advance()
			continue
		}
		if d == ' ' || d == '\t' || d == '\n' || d == '\r' || d == '\\' || d == '"' || d == '\'' {
			advance()
			continue
		}
		break
	}
	last := Pos{File: src.file, Line: line, Col: col}
	if k > 0 && k < len(v) {
		last = marks[k-1]
	}
	for ; k <= len(v); k++ {
		marks[k] = last
	}
	return Loc{text: v, start: start, marks: marks}
}

// OrderedFields returns a mapping's entries in file order, without key checks.
func OrderedFields(n Node, what string, errs *ErrorList) []Field {
	if n.Kind != yaml.MappingNode {
		errs.Add(n.Pos(), "%s must be a mapping, not %s", what, n.KindName())
		return nil
	}
	seen := map[string]int{}
	var out []Field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := Node{n.Content[i], n.File}
		if line, dup := seen[k.Value]; dup {
			errs.Add(k.Pos(), "%s: duplicate key %s (first at line %d)", what, k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, Field{k, Node{n.Content[i+1], n.File}})
	}
	return out
}

// HintOf phrases a hint for an unknown value: the closest candidate, or the
// candidates when there are few, as "valid <noun> are ...".
func HintOf(noun, name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		return "; valid " + noun + " are " + strings.Join(candidates, ", ")
	}
	return ""
}

// MappingKeys lists the scalar keys of a mapping node.
func MappingKeys(n Node) []string {
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}
