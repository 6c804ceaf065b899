package lang

import (
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Reads lists the variables the expression reads, as dotted paths
// (customer.health, before.health, event.data.score, event.type, now,
// run.owner), each once, in the order they first appear in the source. It
// is what tend explain shows the values of. A nil expression reads nothing.
func (x *Expr) Reads() []string {
	if x == nil {
		return nil
	}
	return x.reads
}

// readPaths collects the variables a compiled (flattened) expression
// reads. Member accesses flatPatch leaves alone (customer?.x) and
// get(customer, "x") name their attribute too; whole maps and helpers are
// left out.
func readPaths(n ast.Node) []string {
	v := &pathCollector{}
	ast.Walk(&n, v)
	return v.paths
}

type pathCollector struct{ paths []string }

func (v *pathCollector) add(p string) {
	if p == "event.data" {
		return // the whole map: its fields are listed as they are read
	}
	for _, q := range v.paths {
		if q == p {
			return
		}
	}
	v.paths = append(v.paths, p)
}

func (v *pathCollector) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if x.Value == "now" || strings.Contains(x.Value, ".") && flatBases[x.Value[:strings.LastIndexByte(x.Value, '.')]] {
			v.add(x.Value)
		}
	case *ast.MemberNode:
		if p := memberPath(x.Node, x.Property); p != "" {
			v.add(p)
		}
	case *ast.BuiltinNode:
		if x.Name == "get" && len(x.Arguments) == 2 {
			if p := memberPath(x.Arguments[0], x.Arguments[1]); p != "" {
				v.add(p)
			}
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == "get" && len(x.Arguments) == 2 {
			if p := memberPath(x.Arguments[0], x.Arguments[1]); p != "" {
				v.add(p)
			}
		}
	}
}

// memberPath is "customer.x" for base customer (before, event.data, run)
// and a literal property x, else "".
func memberPath(base, prop ast.Node) string {
	s, ok := prop.(*ast.StringNode)
	if !ok {
		return ""
	}
	var b string
	switch n := base.(type) {
	case *ast.IdentifierNode:
		b = n.Value
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		p, ok2 := n.Property.(*ast.StringNode)
		if !ok || !ok2 {
			return ""
		}
		b = id.Value + "." + p.Value
	}
	if !flatBases[b] {
		return ""
	}
	return b + "." + s.Value
}
