package tendfmt

import (
	"strings"
	"testing"
)

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"email", "email", 0},
		{"emial", "email", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"héalth", "health", 1},
	}
	for _, c := range cases {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := editDistance(c.b, c.a); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

func TestYAMLErrPos(t *testing.T) {
	cases := []struct {
		src  string
		want Pos
		msg  string
	}{
		// An unclosed flow list: yaml.v3 reports the 0-based line of its start.
		{"a: 1\nb: [x, y\nc: 2\n", Pos{"f.yaml", 2, 1}, "a [ list is not closed"},
		{"a: 1\nb: {x: 1\nc: 2\n", Pos{"f.yaml", 2, 1}, "a { mapping is not closed"},
		{"- a\nb: c\n", Pos{"f.yaml", 2, 1}, "did not find expected '-' indicator"},
		// Scanner errors are reported with 1-based lines already.
		{"a: 1\nb:\n\t- x\n", Pos{"f.yaml", 3, 1}, "a tab indents line 3"},
		{"a: 1\nb: 'x\n", Pos{"f.yaml", 2, 1}, "found unexpected end of stream"},
		// No line at all in the message: the start of the file.
		{"a: b: c\n", Pos{"f.yaml", 1, 1}, "mapping values are not allowed"},
	}
	for _, c := range cases {
		var errs ErrorList
		if n := Parse("f.yaml", []byte(c.src), &errs); n != nil {
			t.Errorf("%q parsed", c.src)
			continue
		}
		if len(errs) != 1 || errs[0].Pos != c.want || !strings.Contains(errs[0].Msg, c.msg) {
			t.Errorf("%q: got %v, want one error at %s containing %q", c.src, errs, c.want, c.msg)
		}
	}
}
