package lang

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// Expression limits: longer or larger expressions are rejected at load time.
const (
	MaxExprLen   = 2000 // characters of source
	MaxExprNodes = 300  // nodes of the syntax tree
)

// DisabledBuiltins are expr builtins that read the wall clock, the local time
// zone or return map order (expressions must be deterministic), and repeat,
// whose result size no load-time limit can bound.
var DisabledBuiltins = []string{"now", "date", "timezone", "keys", "values", "toPairs", "groupBy", "repeat"}

// Helpers are the functions the language adds to expr, with their arity.
var Helpers = map[string]int{"days": 1, "hours": 1, "business_days": 1, "days_since": 1, "days_until": 1, "date": 1}

var helperNames = []string{"business_days", "date", "days", "days_since", "days_until", "hours"}

// CalCtx carries the clock, calendar and time zone into helpers that need them.
type CalCtx struct {
	Now time.Time
	Cal *calendar.Calendar
	Loc *time.Location
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// helperOptions registers the helpers. days_since, days_until and
// business_days read the workflow clock: a patch passes `now` (or the
// calendar context) as a hidden first argument, so they stay pure.
var helperOptions = []expr.Option{
	expr.Function("days", func(p ...any) (any, error) { return time.Duration(p[0].(int)) * 24 * time.Hour, nil },
		new(func(int) time.Duration)),
	expr.Function("hours", func(p ...any) (any, error) { return time.Duration(p[0].(int)) * time.Hour, nil },
		new(func(int) time.Duration)),
	expr.Function("days_since", func(p ...any) (any, error) { return wholeDays(p[0].(time.Time).Sub(p[1].(time.Time))), nil },
		new(func(time.Time, time.Time) int)),
	expr.Function("days_until", func(p ...any) (any, error) { return wholeDays(p[1].(time.Time).Sub(p[0].(time.Time))), nil },
		new(func(time.Time, time.Time) int)),
	expr.Function("business_days", func(p ...any) (any, error) {
		c := p[0].(*CalCtx)
		return c.Cal.AddBusinessDays(c.Now, p[1].(int), c.Loc).Sub(c.Now), nil
	}, new(func(*CalCtx, int) time.Duration)),
	expr.Function("date", func(p ...any) (any, error) { return ParseTime(p[0].(string)) },
		new(func(string) time.Time)),
}

func wholeDays(d time.Duration) int { return int(math.Floor(d.Hours() / 24)) }

type clockPatch struct{}

func (clockPatch) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || len(call.Arguments) != 1 {
		return
	}
	var hidden string
	switch id.Value {
	case "days_since", "days_until":
		hidden = "now"
	case "business_days":
		hidden = "__cal"
	default:
		return
	}
	h := &ast.IdentifierNode{Value: hidden}
	h.SetLocation(call.Location())
	call.Arguments = append([]ast.Node{h}, call.Arguments...)
}

// flatPatch rewrites member accesses such as customer.seats, event.data.arr
// and run.owner into single identifiers ("customer.seats") that the scope
// holds as top-level keys. expr loads top-level keys of a map environment
// with one map lookup, while nested map fields go through reflection and
// allocate: this patch makes condition evaluation allocation-free.
type flatPatch struct{}

var flatBases = map[string]bool{"customer": true, "before": true, "event": true, "run": true, "event.data": true}

func (flatPatch) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return
	}
	base, ok := m.Node.(*ast.IdentifierNode)
	prop, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 || !flatBases[base.Value] {
		return
	}
	id := &ast.IdentifierNode{Value: base.Value + "." + prop.Value}
	id.SetLocation(m.Location())
	ast.Patch(n, id)
}

// flatKeys are the flattened scope keys of a schema. After a set is
// loaded they are cut down to the keys its expressions use, so building a
// scope costs only what the playbooks read.
type flatKeys struct {
	attrs     []flatAttr // attributes read as customer.x or before.x
	dataNames []string   // every event data field name, sorted (for messages)
	data      []flatAttr // event data fields read as event.data.x
	used      map[string]bool
	all       bool // no filter yet: fill every key
}

type flatAttr struct {
	name           string
	key, beforeKey string // "" when not used
}

func newFlatKeys(s *Schema) *flatKeys {
	fk := &flatKeys{used: map[string]bool{}, all: true}
	for _, a := range s.Attrs {
		fk.attrs = append(fk.attrs, flatAttr{name: a.Name, key: "customer." + a.Name, beforeKey: "before." + a.Name})
	}
	seen := map[string]bool{}
	for _, e := range s.Events {
		for _, f := range e.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				fk.dataNames = append(fk.dataNames, f.Name)
			}
		}
	}
	sort.Strings(fk.dataNames)
	for _, n := range fk.dataNames {
		fk.data = append(fk.data, flatAttr{name: n, key: "event.data." + n})
	}
	return fk
}

// note records the identifiers a compiled expression reads.
func (fk *flatKeys) note(n ast.Node) {
	ast.Walk(&n, identCollector(fk.used))
}

type identCollector map[string]bool

func (c identCollector) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		c[id.Value] = true
	}
}

// restrict keeps only the keys that compiled expressions read.
func (fk *flatKeys) restrict() {
	var attrs, data []flatAttr
	for _, a := range fk.attrs {
		k, b := a.key, a.beforeKey
		if !fk.used[k] {
			k = ""
		}
		if !fk.used[b] {
			b = ""
		}
		if k != "" || b != "" {
			attrs = append(attrs, flatAttr{name: a.name, key: k, beforeKey: b})
		}
	}
	for _, d := range fk.data {
		if fk.used[d.key] {
			data = append(data, d)
		}
	}
	fk.attrs, fk.data, fk.all = attrs, data, false
}

func (fk *flatKeys) need(key string) bool { return fk.all || fk.used[key] }

// envKind says which names an expression may use.
type envKind int

const (
	envTrigger envKind = iota // customer, before, event (typed by the trigger's event types), now
	envRun                    // plus run; event data typed by every event type
)

// exprEnv is the compile-time environment of one kind of expression.
type exprEnv struct {
	kind     envKind
	schema   *Schema
	dataType types.Map
	dataKeys []string
	events   []string // the trigger's event types
	strict   bool
	options  []expr.Option
	cfg      *conf.Config // built once from options: see compileProgram
}

var (
	eventFields = []string{"at", "data", "id", "type"}
	runFields   = []string{"owner", "playbook", "started_at", "version"}
)

func newExprEnv(s *Schema, kind envKind, eventTypes []string) *exprEnv {
	e := &exprEnv{kind: kind, schema: s, dataType: types.Map{}, events: eventTypes}
	seen := map[string]Type{}
	for _, name := range eventTypes {
		et := s.Event(name)
		if et == nil {
			continue
		}
		for _, f := range et.Fields {
			if prev, ok := seen[f.Name]; ok && prev != f.Type {
				e.dataType[f.Name] = types.Any
				continue
			}
			seen[f.Name] = f.Type
			e.dataType[f.Name] = f.Type.exprType()
			e.dataKeys = append(e.dataKeys, f.Name)
		}
	}
	e.strict = kind == envTrigger
	if !e.strict {
		e.dataType[types.Extra] = types.Any
	}
	cust := types.Map{}
	for _, a := range s.Attrs {
		cust[a.Name] = a.Type.exprType()
	}
	tm := types.TypeOf(time.Time{})
	env := types.Map{
		"customer": cust,
		"before":   cust,
		"event":    types.Map{"id": types.String, "type": types.String, "at": tm, "data": e.dataType},
		"now":      tm,
		"__cal":    types.TypeOf(&CalCtx{}),
	}
	if kind == envRun {
		env["run"] = types.Map{"playbook": types.String, "version": types.String, "started_at": tm, "owner": types.String}
	}
	for _, a := range s.Attrs {
		env["customer."+a.Name] = a.Type.exprType()
		env["before."+a.Name] = a.Type.exprType()
	}
	env["event.id"], env["event.type"], env["event.at"], env["event.data"] = types.String, types.String, tm, e.dataType
	for k, t := range e.dataType {
		if k != types.Extra {
			env["event.data."+k] = t
		}
	}
	if kind == envRun {
		env["run.playbook"], env["run.version"], env["run.started_at"], env["run.owner"] = types.String, types.String, tm, types.String
	}
	e.options = append([]expr.Option{expr.Env(env), expr.MaxNodes(MaxExprNodes), expr.Patch(clockPatch{}), expr.Patch(flatPatch{})}, helperOptions...)
	for _, b := range DisabledBuiltins {
		e.options = append(e.options, expr.DisableBuiltin(b))
	}
	e.cfg = conf.CreateNew()
	for _, op := range e.options {
		op(e.cfg)
	}
	for name := range e.cfg.Disabled {
		delete(e.cfg.Builtins, name)
	}
	e.cfg.Check()
	return e
}

// compileProgram is expr.Compile with a configuration built once per
// environment: expr.Compile rebuilds the builtin table and converts the
// environment's types on every call, which dominated load time.
func (e *exprEnv) compileProgram(src string) (*vm.Program, error) {
	tree, err := checker.ParseCheck(src, e.cfg)
	if err != nil {
		return nil, err
	}
	nilSafe := e.schema.semantics >= 1
	if nilSafe {
		ast.Walk(&tree.Node, nilEquality{})
	}
	if e.cfg.Optimize {
		if err := optimizer.Optimize(&tree.Node, e.cfg); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
		if nilSafe {
			ast.Walk(&tree.Node, nilMembership{})
		}
	}
	return compiler.Compile(tree, e.cfg)
}

// maybeNil types an operand that may be nil at run time, for the compiler
// only: a named type is not "simple", so == compiles to the generic
// OpEqual, and a struct kind needs no dereference (the interface type
// would add an OpDeref, a reflection per comparison: a third slower).
type maybeNil struct{}

var maybeNilType = reflect.TypeOf(maybeNil{})

// nilEquality makes == and != (and in) follow expr's rules for nil when an
// operand is an attribute, a data field or any other value that may be
// missing at run time. The type checker has proven both sides ints or
// strings; the compiler would then emit OpEqualInt or OpEqualString, which
// fail on nil. Retyping the operand (maybeNil) after the check makes it
// emit the generic OpEqual, so `customer.stage != "churned"` is true for a
// customer with no stage. Type errors are still found at load time: the
// pass runs after the checker.
type nilEquality struct{}

func (nilEquality) Visit(n *ast.Node) {
	b, ok := (*n).(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "==", "!=":
		for _, op := range []ast.Node{b.Left, b.Right} {
			if k := op.Type().Kind(); (k == reflect.Int || k == reflect.String) && !isLiteral(op) {
				op.SetType(maybeNilType)
			}
		}
	case "in":
		// An int on the left lets the optimizer look the value up in a
		// map[int]struct{}, where nil finds the zero key: nil in [0] would
		// be true.
		if b.Left.Type().Kind() == reflect.Int && !isLiteral(b.Left) {
			b.Left.SetType(maybeNilType)
		}
	}
}

// nilMembership undoes, for a left side that may be nil, the optimizer's
// map lookup of `x in ["", ...]`: nil would find the key "" there. A list
// compares with ==, where nil equals nothing but nil.
type nilMembership struct{}

func (nilMembership) Visit(n *ast.Node) {
	b, ok := (*n).(*ast.BinaryNode)
	if !ok || b.Operator != "in" || isLiteral(b.Left) {
		return
	}
	c, ok := b.Right.(*ast.ConstantNode)
	if !ok {
		return
	}
	m, ok := c.Value.(map[string]struct{})
	if _, empty := m[""]; !ok || !empty {
		return
	}
	list := slices.Sorted(maps.Keys(m))
	c.Value = list
	c.SetType(reflect.TypeOf(list))
}

// isLiteral reports whether n is a constant, which is never nil unless it
// is nil itself.
func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.ConstantNode, *ast.NilNode:
		return true
	}
	return false
}

func (e *exprEnv) names() []string {
	n := []string{"before", "customer", "event", "now"}
	if e.kind == envRun {
		n = append(n, "run")
	}
	return n
}

// Expr is a compiled, type-checked expression.
type Expr struct {
	Src  string
	Pos  tendfmt.Pos
	prog *vm.Program
	// Daily is set when a daily check can change the value: the
	// expression reads the clock (now, days_since, days_until) or the
	// event (which is the daily check itself then).
	Daily bool
	reads []string // see Reads
}

// want is the result type an expression must have.
type want int

const (
	wantAny want = iota
	wantBool
	wantString
	wantType // a specific attribute type, given separately
)

// compile compiles src, which loc places in the file. what names the field
// for messages ("trigger.when").
func (e *exprEnv) compile(src string, loc tendfmt.Loc, what string, w want, t Type, errs *tendfmt.ErrorList) *Expr {
	pos := loc.At(0)
	if strings.TrimSpace(src) == "" {
		errs.Add(pos, "%s: expression is empty", what)
		return nil
	}
	if len(src) > MaxExprLen {
		errs.Add(pos, "%s: expression is %d characters long; the limit is %d", what, len(src), MaxExprLen)
		return nil
	}
	if !e.precheck(src, loc, what, errs) {
		return nil
	}
	prog, err := e.compileProgram(src)
	if err != nil {
		var fe *file.Error
		p := pos
		msg := err.Error()
		if errors.As(err, &fe) {
			p = loc.AtRune(src, fe.From)
			msg = e.friendly(fe.Message)
		}
		if strings.Contains(msg, "exceeds maximum allowed nodes") {
			p, msg = pos, fmt.Sprintf("expression is too large: the limit is %d names, values and operators; simplify it", MaxExprNodes)
		}
		errs.Add(p, "%s: %s", what, msg)
		return nil
	}
	rt := prog.Node().Type()
	ok := true
	var wantName string
	switch w {
	case wantBool:
		ok, wantName = rt == nil || rt.Kind() == reflect.Bool || rt.Kind() == reflect.Interface, "true or false"
	case wantString:
		ok, wantName = rt == nil || rt.Kind() == reflect.String || rt.Kind() == reflect.Interface, "a string"
	case wantType:
		ok, wantName = typeFits(rt, t), t.String()
	}
	if !ok {
		advice := ""
		if w == wantBool && rt != nil && (rt.Kind() == reflect.Int || rt.Kind() == reflect.Float64) {
			advice = fmt.Sprintf("; compare it, such as %s > 0", src)
		}
		errs.Add(pos, "%s: must be %s, but %q is %s%s", what, wantName, src, typeName(rt), advice)
		return nil
	}
	e.schema.flat.note(prog.Node())
	return &Expr{Src: src, Pos: pos, prog: prog, Daily: readsClock(prog.Node()), reads: readPaths(prog.Node())}
}

func typeFits(rt reflect.Type, t Type) bool {
	if rt == nil || rt.Kind() == reflect.Interface {
		return true
	}
	switch t {
	case TString:
		return rt.Kind() == reflect.String
	case TInt:
		return rt.Kind() == reflect.Int
	case TFloat:
		return rt.Kind() == reflect.Float64 || rt.Kind() == reflect.Int
	case TBool:
		return rt.Kind() == reflect.Bool
	case TTime:
		return rt == timeType
	case TDuration:
		return rt == durationType
	case TStrings:
		return rt.Kind() == reflect.Slice
	}
	return false
}

func typeName(rt reflect.Type) string {
	switch {
	case rt == nil:
		return "nil"
	case rt == timeType:
		return "a time"
	case rt == durationType:
		return "a duration"
	}
	switch rt.Kind() {
	case reflect.Int:
		return "an int"
	case reflect.Float64:
		return "a float"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a bool"
	case reflect.Map:
		return "a map"
	case reflect.Slice:
		return "a list"
	}
	return rt.String()
}

var (
	unknownNameRe = regexp.MustCompile(`^unknown name (\S+)`)
	mismatchRe    = regexp.MustCompile(`^invalid operation: (==|!=|<|>|<=|>=) \(mismatched types (\S+) and (\S+)\)$`)
	opMismatchRe  = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+) and (\S+)\)$`)
)

// exprTypeName names an expr (Go) type as schema.yaml does.
func exprTypeName(t string) string {
	switch t {
	case "int":
		return "an int"
	case "float64":
		return "a float"
	case "string":
		return "a string"
	case "bool":
		return "a bool"
	case "time.Time":
		return "a time"
	case "time.Duration":
		return "a duration"
	case "[]string":
		return "a list of strings"
	case "<nil>", "nil":
		return "nil"
	}
	if strings.HasPrefix(t, "map[") {
		return "a map"
	}
	if strings.HasPrefix(t, "[]") {
		return "a list"
	}
	return t
}

// friendly rewrites expr's messages into the product's words.
func (e *exprEnv) friendly(msg string) string {
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil && strings.HasPrefix(m[1], "event.data.") {
		f := strings.TrimPrefix(m[1], "event.data.")
		return "event data has no field " + f + tendfmt.HintOf("fields", f, e.schema.flat.dataNames)
	}
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil {
		cands := append(e.names(), helperNames...)
		if (m[1] == "run" || strings.HasPrefix(m[1], "run.")) && e.kind == envTrigger {
			return "run is not available in a trigger: no run has started yet"
		}
		return "unknown name " + m[1] + hint(m[1], cands)
	}
	if m := mismatchRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s cannot compare %s with %s", m[1], exprTypeName(m[2]), exprTypeName(m[3]))
	}
	if m := opMismatchRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s cannot combine %s with %s", m[1], exprTypeName(m[2]), exprTypeName(m[3]))
	}
	if msg == "unexpected token EOF" {
		return "the expression ends too early: an operand or a closing bracket is missing"
	}
	return msg
}

// precheck walks the syntax tree for mistakes we can explain better than the
// type checker: unknown attributes and fields (with the closest name),
// helpers with the wrong number of arguments, disabled builtins, and bad
// date literals.
func (e *exprEnv) precheck(src string, loc tendfmt.Loc, what string, errs *tendfmt.ErrorList) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		return true // the compiler reports syntax errors with their position
	}
	v := &prechecker{env: e, loc: loc, what: what, errs: errs, src: src}
	ast.Walk(&tree.Node, v)
	return !v.failed
}

type prechecker struct {
	env    *exprEnv
	loc    tendfmt.Loc
	what   string
	src    string
	errs   *tendfmt.ErrorList
	failed bool
}

func (v *prechecker) at(n ast.Node) tendfmt.Pos { return v.loc.AtRune(v.src, n.Location().From) }

func (v *prechecker) fail(n ast.Node, format string, args ...any) {
	v.errs.Add(v.at(n), "%s: %s", v.what, fmt.Sprintf(format, args...))
	v.failed = true
}

func (v *prechecker) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		if v.env.schema.semantics >= 1 {
			v.enumCompare(x)
		}
	case *ast.MemberNode:
		prop, ok := x.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch base := x.Node.(type) {
		case *ast.IdentifierNode:
			switch base.Value {
			case "customer", "before":
				if v.env.schema.Attr(prop.Value) == nil {
					v.fail(x.Property, "unknown attribute %s%s", prop.Value, tendfmt.HintOf("attributes", prop.Value, v.env.schema.AttrNames()))
				}
			case "event":
				if !slices.Contains(eventFields, prop.Value) {
					v.fail(x.Property, "event has no field %s%s", prop.Value, tendfmt.HintOf("fields", prop.Value, eventFields))
				}
			case "run":
				if v.env.kind == envRun && !slices.Contains(runFields, prop.Value) {
					v.fail(x.Property, "run has no field %s%s", prop.Value, tendfmt.HintOf("fields", prop.Value, runFields))
				}
			}
		case *ast.MemberNode:
			id, ok := base.Node.(*ast.IdentifierNode)
			bp, ok2 := base.Property.(*ast.StringNode)
			if ok && ok2 && id.Value == "event" && bp.Value == "data" && v.env.strict {
				if _, known := v.env.dataType[prop.Value]; !known {
					on := strings.Join(v.env.events, ", ")
					switch {
					case len(v.env.events) == 0:
						v.fail(x.Property, "event data has no field %s: the trigger names no event type", prop.Value)
					case len(v.env.dataKeys) == 0:
						v.fail(x.Property, "event data has no field %s: %s declares no data", prop.Value, on)
					default:
						if m := tendfmt.Suggest(prop.Value, v.env.dataKeys); m != "" {
							v.fail(x.Property, "event data has no field %s; did you mean %s?", prop.Value, m)
						} else {
							v.fail(x.Property, "event data has no field %s: %s declares %s", prop.Value, on, strings.Join(v.env.dataKeys, ", "))
						}
					}
				}
			}
		}
	case *ast.CallNode:
		switch callee := x.Callee.(type) {
		case *ast.IdentifierNode:
			v.call(x, callee.Value, x.Arguments)
		case *ast.MemberNode:
			if m, ok := callee.Property.(*ast.StringNode); ok && m.Value == "Local" {
				v.fail(x, "Local() converts a time to the machine's time zone and is not available: expressions must be deterministic; times are in UTC")
			}
		}
	case *ast.BuiltinNode:
		// Parsed without configuration, every builtin name (disabled ones
		// and our date helper included) arrives here rather than as a call.
		v.call(x, x.Name, x.Arguments)
	case *ast.IdentifierNode:
		switch x.Value {
		case "__cal":
			v.fail(x, "unknown name __cal")
		case "$env":
			v.fail(x, "$env is not available: name %s directly", strings.Join(v.env.names(), ", "))
		case "run":
			if v.env.kind == envTrigger {
				v.fail(x, "run is not available in a trigger: no run has started yet")
			}
		}
	}
}

// enumCompare reports a comparison of an enum attribute or data field with
// a string outside its enum: `customer.segment == "enterprize"` can never
// be true, and is a typo.
func (v *prechecker) enumCompare(b *ast.BinaryNode) {
	var lits []ast.Node
	var a *Attr
	switch b.Operator {
	case "==", "!=":
		if a = v.env.enumOf(b.Left); a != nil {
			lits = []ast.Node{b.Right}
		} else if a = v.env.enumOf(b.Right); a != nil {
			lits = []ast.Node{b.Left}
		}
	case "in":
		if a = v.env.enumOf(b.Left); a != nil {
			if arr, ok := b.Right.(*ast.ArrayNode); ok {
				lits = arr.Nodes
			}
		}
	}
	for _, l := range lits {
		if s, ok := l.(*ast.StringNode); ok && !slices.Contains(a.Enum, s.Value) {
			v.fail(l, "%s", enumMiss(a, s.Value))
		}
	}
}

// enumMiss says that value is not one of a's values, with the closest one
// or the list.
func enumMiss(a *Attr, value string) string {
	if a.Name == AttrStage {
		return fmt.Sprintf("unknown stage %s%s", value, tendfmt.HintOf("stages", value, a.Enum))
	}
	return fmt.Sprintf("unknown value %q of %s%s", value, a.Name, tendfmt.HintOf("values", value, a.Enum))
}

// enumOf returns the attribute or data field that n reads when it has an
// enum (customer.segment, before.stage, event.data.kind), or nil. A data
// field has an enum only when every event type of the environment that
// declares it gives one; the values are then all of theirs.
func (e *exprEnv) enumOf(n ast.Node) *Attr {
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return nil
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return nil
	}
	switch base := m.Node.(type) {
	case *ast.IdentifierNode:
		if base.Value != "customer" && base.Value != "before" {
			return nil
		}
		if a := e.schema.Attr(prop.Value); a != nil && len(a.Enum) > 0 {
			return a
		}
	case *ast.MemberNode:
		id, ok := base.Node.(*ast.IdentifierNode)
		bp, ok2 := base.Property.(*ast.StringNode)
		if !ok || !ok2 || id.Value != "event" || bp.Value != "data" {
			return nil
		}
		names := e.events
		if e.kind == envRun {
			names = e.schema.EventNames()
		}
		var field *Attr
		for _, name := range names {
			et := e.schema.Event(name)
			if et == nil {
				continue
			}
			f := et.Field(prop.Value)
			if f == nil {
				continue
			}
			if len(f.Enum) == 0 {
				return nil
			}
			if field == nil {
				field = &Attr{Name: f.Name, Type: f.Type}
			}
			for _, v := range f.Enum {
				if !slices.Contains(field.Enum, v) {
					field.Enum = append(field.Enum, v)
				}
			}
		}
		return field
	}
	return nil
}

// checkEnumResult reports the string literals an expression assigned to
// an enum attribute may yield (`do: update` with `set:`) that are not in
// its enum: the whole expression, either branch of a ?: and either side
// of ??.
func (e *exprEnv) checkEnumResult(x *Expr, loc tendfmt.Loc, what string, a *Attr, errs *tendfmt.ErrorList) {
	if x == nil || len(a.Enum) == 0 || e.schema.semantics < 1 {
		return
	}
	tree, err := parser.Parse(x.Src)
	if err != nil {
		return
	}
	var visit func(n ast.Node)
	visit = func(n ast.Node) {
		switch n := n.(type) {
		case *ast.StringNode:
			if !slices.Contains(a.Enum, n.Value) {
				errs.Add(loc.AtRune(x.Src, n.Location().From), "%s: %s", what, enumMiss(a, n.Value))
			}
		case *ast.ConditionalNode:
			visit(n.Exp1)
			visit(n.Exp2)
		case *ast.BinaryNode:
			if n.Operator == "??" {
				visit(n.Left)
				visit(n.Right)
			}
		}
	}
	visit(tree.Node)
}

// disabledReason explains why a builtin of DisabledBuiltins is not available.
func disabledReason(name string) string {
	switch name {
	case "now":
		return "now() reads the wall clock and is not available; use the variable now (the workflow clock)"
	case "timezone":
		return "timezone() is not available: it depends on the machine's time zone database; times are in UTC"
	case "keys", "values", "toPairs":
		return name + "() is not available: its result follows map order, which is random; name the attributes instead, such as customer.seats"
	case "groupBy":
		return "groupBy() is not available: it builds a map, whose order is random"
	case "repeat":
		return "repeat() is not available: it can build strings too large for a worker's memory"
	}
	return name + "() is not available: expressions must be deterministic"
}

// call checks a call of a helper, a disabled builtin or get.
func (v *prechecker) call(n ast.Node, name string, args []ast.Node) {
	if slices.Contains(DisabledBuiltins, name) && Helpers[name] == 0 {
		v.fail(n, "%s", disabledReason(name))
		return
	}
	if want, ok := Helpers[name]; ok {
		if len(args) != want {
			v.fail(n, "%s takes %d argument, got %d", name, want, len(args))
			return
		}
		if name == "date" {
			if s, ok := args[0].(*ast.StringNode); ok {
				if _, err := ParseTime(s.Value); err != nil {
					v.fail(args[0], "date: %v", err)
				}
			}
		}
		return
	}
	if name == "get" && len(args) == 2 {
		base, ok := args[0].(*ast.IdentifierNode)
		key, ok2 := args[1].(*ast.StringNode)
		if ok && ok2 && (base.Value == "customer" || base.Value == "before") && v.env.schema.Attr(key.Value) == nil {
			v.fail(args[1], "unknown attribute %s%s", key.Value, tendfmt.HintOf("attributes", key.Value, v.env.schema.AttrNames()))
		}
	}
}

// Scope is the run-time environment of an evaluation. It is built once per
// event or step and reused for every expression evaluated against it.
type Scope struct {
	vars map[string]any
	cal  CalCtx
}

// NewScope builds a scope. before may equal customer; ev and run may be nil.
func NewScope(now time.Time, schema *Schema, customer, before map[string]any, ev *Event, run map[string]any) *Scope {
	s := &Scope{}
	s.Reset(now, schema, customer, before, ev, run)
	return s
}

func setOrDelete(vars map[string]any, key string, v any, ok bool) {
	if ok {
		vars[key] = v
	} else {
		delete(vars, key)
	}
}

// Reset refills a scope in place, so a hot loop allocates it once.
func (s *Scope) Reset(now time.Time, schema *Schema, customer, before map[string]any, ev *Event, run map[string]any) {
	if s.vars == nil {
		s.vars = make(map[string]any, 16+2*len(schema.Attrs))
	}
	cal := schema.Calendar
	tz, _ := customer["timezone"].(string)
	s.cal = CalCtx{Now: now, Cal: cal, Loc: cal.Loc(tz)}
	s.vars["customer"] = customer
	s.vars["before"] = before
	s.vars["now"] = now.In(s.cal.Loc) // the customer's clock: now.Year() is their year
	s.vars["__cal"] = &s.cal
	fk := schema.flat
	for _, a := range fk.attrs {
		if a.key != "" {
			v, ok := customer[a.name]
			setOrDelete(s.vars, a.key, v, ok)
		}
		if a.beforeKey != "" {
			v, ok := before[a.name]
			setOrDelete(s.vars, a.beforeKey, v, ok)
		}
	}
	e := ev
	if e == nil {
		e = &Event{}
	}
	data := e.Data
	if data == nil {
		data = emptyData
	}
	if fk.need("event") {
		s.vars["event"] = e.exprMap()
	}
	if fk.need("event.id") {
		s.vars["event.id"] = e.ID
	}
	if fk.need("event.type") {
		s.vars["event.type"] = e.Type
	}
	if fk.need("event.at") {
		s.vars["event.at"] = e.At
	}
	s.vars["event.data"] = data
	for _, d := range fk.data {
		v, ok := data[d.name]
		setOrDelete(s.vars, d.key, v, ok)
	}
	if run != nil {
		s.vars["run"] = run
		s.vars["run.playbook"], s.vars["run.version"], s.vars["run.started_at"], s.vars["run.owner"] = run["playbook"], run["version"], run["started_at"], run["owner"]
	}
}

// emptyData is the data of an event that has none; it is never written.
var emptyData = map[string]any{}

// Eval runs the expression. A nil expression evaluates to nil.
func (x *Expr) Eval(m *vm.VM, s *Scope) (any, error) {
	if x == nil {
		return nil, nil
	}
	out, err := m.Run(x.prog, s.vars)
	if err != nil {
		return nil, x.evalError(err, s)
	}
	return out, nil
}

// Bool evaluates a condition. A nil condition is true. A run-time error (for
// example `customer.health < 60` for a customer with no health: nil cannot
// be ordered) makes the condition false, and is returned for the record.
func (x *Expr) Bool(m *vm.VM, s *Scope) (bool, error) {
	if x == nil {
		return true, nil
	}
	out, err := m.Run(x.prog, s.vars)
	if err != nil {
		return false, x.evalError(err, s)
	}
	b, _ := out.(bool)
	return b, nil
}

// EvalError is a run-time error of an expression, in one line for a run's
// record: where the expression is, its source, and the reason, which names
// the attributes the customer does not have.
type EvalError struct {
	Pos    tendfmt.Pos
	Src    string
	Reason string
	Err    error // expr's error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("%s: evaluating %q: %s", e.Pos, e.Src, e.Reason)
}

func (e *EvalError) Unwrap() error { return e.Err }

var (
	nilOpRe   = regexp.MustCompile(`^invalid operation: (.+) (\S+) (.+)$`)
	nilConvRe = regexp.MustCompile(`^interface conversion: interface \{\} is nil, not (\S+)$`)
)

// evalError explains a run-time error. It runs only on failure, so it may
// take its time: it finds the operation that failed and names the operands
// that are unset in s.
func (x *Expr) evalError(err error, s *Scope) error {
	reason := err.Error()
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &EvalError{Pos: x.Pos, Src: x.Src, Reason: reason, Err: err}
	}
	reason = fe.Message
	if m := nilOpRe.FindStringSubmatch(reason); m != nil {
		switch m[2] {
		case "<", "<=", ">", ">=":
			reason = fmt.Sprintf("%s cannot compare %s with %s", m[2], exprTypeName(m[1]), exprTypeName(m[3]))
		default:
			reason = fmt.Sprintf("%s cannot be applied to %s and %s", m[2], exprTypeName(m[1]), exprTypeName(m[3]))
		}
	} else if m := nilConvRe.FindStringSubmatch(reason); m != nil {
		reason = fmt.Sprintf("got nil where %s is needed", exprTypeName(m[1]))
	}
	if unset := x.unsetAt(fe.From, s); len(unset) > 0 {
		verb := "is"
		if len(unset) > 1 {
			verb = "are"
		}
		reason = fmt.Sprintf("%s %s not set (nil): %s", strings.Join(unset, " and "), verb, reason)
	}
	return &EvalError{Pos: x.Pos, Src: x.Src, Reason: reason, Err: err}
}

// unsetAt lists the names that are nil in s among the operands of the node
// at position from (where the vm failed), or else in the whole expression.
func (x *Expr) unsetAt(from int, s *Scope) []string {
	root := x.prog.Node()
	f := &nodeAt{from: from}
	ast.Walk(&root, f)
	unset := func(nodes ...ast.Node) []string {
		var out []string
		for _, n := range nodes {
			c := identCollector{}
			ast.Walk(&n, c)
			for _, k := range slices.Sorted(maps.Keys(c)) {
				if strings.Contains(k, ".") && !slices.Contains(out, k) && s.vars[k] == nil {
					out = append(out, k)
				}
			}
		}
		return out
	}
	if f.found != nil {
		var ops []ast.Node
		switch n := f.found.(type) {
		case *ast.BinaryNode:
			ops = []ast.Node{n.Left, n.Right}
		case *ast.UnaryNode:
			ops = []ast.Node{n.Node}
		case *ast.CallNode:
			ops = n.Arguments
		case *ast.BuiltinNode:
			ops = n.Arguments
		case *ast.MemberNode:
			ops = []ast.Node{n.Node}
		default:
			ops = []ast.Node{n}
		}
		if out := unset(ops...); len(out) > 0 {
			return out
		}
	}
	return unset(root)
}

// nodeAt finds the outermost node that starts at a position.
type nodeAt struct {
	from  int
	found ast.Node
}

func (v *nodeAt) Visit(n *ast.Node) {
	if (*n).Location().From == v.from {
		v.found = *n // Walk visits children first: the last match is the outermost
	}
}

// Format renders a value for text: floats without trailing zeros, times as
// RFC 3339 (dates alone at midnight UTC), lists joined with commas, nil empty.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if x.Equal(x.Truncate(24*time.Hour)) && x.Location() == time.UTC {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339)
	case time.Duration:
		return calendar.Duration{Fixed: x}.String()
	case []string:
		return strings.Join(x, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Format(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// Text is a text field with {{ expr }} interpolations, compiled at load.
type Text struct {
	Src   string
	parts []textPart
}

type textPart struct {
	lit string
	x   *Expr
}

// compileText splits src on {{ }} and compiles each expression; loc places
// src in the file.
func (e *exprEnv) compileText(src string, loc tendfmt.Loc, what string, errs *tendfmt.ErrorList) *Text {
	t := &Text{Src: src}
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		lit := rest
		if i >= 0 {
			lit = rest[:i]
		}
		if k := strings.Index(lit, "}}"); k >= 0 {
			errs.Add(loc.At(off+k), "%s: }} without a matching {{", what)
		}
		if i < 0 {
			t.parts = append(t.parts, textPart{lit: rest})
			return t
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			errs.Add(loc.At(off+i), "%s: {{ without a matching }}", what)
			return t
		}
		t.parts = append(t.parts, textPart{lit: lit})
		inner := rest[i+2 : i+j]
		trimmed := strings.TrimSpace(inner)
		lead := len(inner) - len(strings.TrimLeftFunc(inner, unicode.IsSpace))
		if trimmed == "" {
			errs.Add(loc.At(off+i), "%s: {{ }} holds no expression", what)
		} else {
			x := e.compile(trimmed, loc.Sub(off+i+2+lead), what, wantAny, 0, errs)
			t.parts = append(t.parts, textPart{x: x})
		}
		off += i + j + 2
		rest = rest[i+j+2:]
	}
}

// Interpolate renders the text, passing each interpolated value through
// esc (nil keeps values as they are) and never the text's own literal
// parts, which may hold markup on purpose. An expression that fails stops
// it: the error names the expression, and no text with a hole comes back.
func (t *Text) Interpolate(m *vm.VM, s *Scope, esc func(string) string) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.x == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.x.Eval(m, s)
		if err != nil {
			return "", err
		}
		if esc != nil {
			b.WriteString(esc(Format(v)))
		} else {
			b.WriteString(Format(v))
		}
	}
	return b.String(), nil
}

// readsClock reports whether a compiled expression reads now or the event.
func readsClock(n ast.Node) bool {
	v := &clockReader{}
	ast.Walk(&n, v)
	return v.found
}

type clockReader struct{ found bool }

func (v *clockReader) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		if id.Value == "now" || id.Value == "event" || strings.HasPrefix(id.Value, "event.") {
			v.found = true
		}
	}
}
