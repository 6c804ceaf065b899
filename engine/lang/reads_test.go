package lang

import (
	"slices"
	"testing"
)

// TestReads checks the variables an expression is said to read: the ones
// tend explain shows, once each, in source order, without whole maps or
// helper names.
func TestReads(t *testing.T) {
	s := exprTestSchema(t)
	cases := []struct {
		src  string
		kind envKind
		want []string
	}{
		{`customer.health < 60 && before.health >= 60`, envTrigger, []string{"customer.health", "before.health"}},
		{`customer.health < 60 || customer.health > 90`, envTrigger, []string{"customer.health"}},
		{`event.data.arr > 1000.0 && event.type == "contract.signed"`, envTrigger, []string{"event.data.arr", "event.type"}},
		{`days_since(customer.renewal_date) > 30`, envTrigger, []string{"now", "customer.renewal_date"}},
		{`customer?.segment == "smb"`, envTrigger, []string{"customer.segment"}},
		{`get(customer, "seats") > 10`, envTrigger, []string{"customer.seats"}},
		{`(customer.name ?? "") == ""`, envTrigger, []string{"customer.name"}},
		{`"vip" in customer.tags`, envTrigger, []string{"customer.tags"}},
		{`run.owner == "jo" && customer.seats > 1`, envRun, []string{"run.owner", "customer.seats"}},
		{`now.Hour() > 9`, envTrigger, []string{"now"}},
		{`true`, envTrigger, nil},
		{`event.data?.plan == "pro"`, envTrigger, []string{"event.data.plan"}},
	}
	for _, c := range cases {
		x, errs := compileIn(t, s, c.kind, c.src)
		if len(errs) > 0 {
			t.Errorf("%s: %v", c.src, errs)
			continue
		}
		if got := x.Reads(); !slices.Equal(got, c.want) {
			t.Errorf("%s: reads %q, want %q", c.src, got, c.want)
		}
	}
	var none *Expr
	if none.Reads() != nil {
		t.Error("a nil expression reads something")
	}
}
