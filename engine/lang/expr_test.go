package lang

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/tend-cs/tend/engine/tendfmt"
)

const exprTestSchemaSrc = `customer:
  name: string
  segment: {type: string, enum: [smb, enterprise]}
  seats: int
  health: float
  timezone: string
  renewal_date: time
  tags: [string]
events:
  contract.signed: {plan: string, arr: float}
  nps.responded: {score: int}
calendar:
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri]
  holidays: [2026-01-19]
`

func exprTestSchema(t *testing.T) *Schema {
	t.Helper()
	var errs tendfmt.ErrorList
	s := ParseSchema("schema.yaml", []byte(exprTestSchemaSrc), &errs)
	if len(errs) > 0 || s == nil {
		t.Fatalf("test schema: %v", errs)
	}
	return s
}

// compileIn compiles src as a trigger condition on contract.signed (or, with
// run, as a step expression) and returns the expression and the errors.
func compileIn(t *testing.T, s *Schema, kind envKind, src string) (*Expr, tendfmt.ErrorList) {
	t.Helper()
	env := newExprEnv(s, kind, []string{"contract.signed"})
	var errs tendfmt.ErrorList
	x := env.compile(src, tendfmt.PlainLoc(src, tendfmt.Pos{File: "t.yaml", Line: 1, Col: 1}), "when", wantAny, 0, &errs)
	if (x == nil) != (len(errs) > 0) {
		t.Fatalf("compile %q: expression %v but errors %v", src, x != nil, errs)
	}
	return x, errs
}

// TestDisabledBuiltins checks that every builtin of DisabledBuiltins is
// rejected with our message, not with expr's "unknown name" or a type error.
func TestDisabledBuiltins(t *testing.T) {
	s := exprTestSchema(t)
	calls := map[string]struct {
		src  string
		want string // part of the message
	}{
		"now":      {`now() > customer.renewal_date`, "now() reads the wall clock and is not available; use the variable now"},
		"timezone": {`timezone("Europe/Paris") != nil`, "timezone() is not available"},
		"keys":     {`len(keys(customer)) > 0`, "keys() is not available: its result follows map order"},
		"values":   {`len(values(customer)) > 0`, "values() is not available: its result follows map order"},
		"toPairs":  {`len(toPairs(customer)) > 0`, "toPairs() is not available: its result follows map order"},
		"groupBy":  {`len(groupBy(customer.tags, # == "vip")) > 0`, "groupBy() is not available"},
		"repeat":   {`len(repeat(customer.name, 1000000)) > 0`, "repeat() is not available"},
	}
	for _, name := range DisabledBuiltins {
		if _, helper := Helpers[name]; helper {
			continue // our own date() replaces expr's; see TestHelpers
		}
		c, ok := calls[name]
		if !ok {
			t.Errorf("DisabledBuiltins has %s, but this test has no case for it", name)
			continue
		}
		for _, kind := range []envKind{envTrigger, envRun} {
			x, errs := compileIn(t, s, kind, c.src)
			if x != nil {
				t.Errorf("%s: %q compiled; want it rejected", name, c.src)
				continue
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Msg, c.want) {
				t.Errorf("%s: %q: got %v, want one error containing %q", name, c.src, errs, c.want)
			}
		}
	}
	// expr's own date() reads the local time zone; ours is a pure helper.
	if _, errs := compileIn(t, s, envTrigger, `date("2026-01-31") < customer.renewal_date`); len(errs) > 0 {
		t.Errorf("date helper: %v", errs)
	}
}

// TestExprRejects covers other ways to escape determinism or typing.
func TestExprRejects(t *testing.T) {
	s := exprTestSchema(t)
	cases := []struct {
		src  string
		want string
	}{
		{`date("2026-02-30") < now`, `1:6: when: date: "2026-02-30" is not a time`},
		{`date("next monday") < now`, `date: "next monday" is not a time`},
		{`date(1, 2) < now`, "date takes 1 argument, got 2"},
		{`days() > hours(1)`, "days takes 1 argument, got 0"},
		{`now.Local().Hour() > 9`, "Local() converts a time to the machine's time zone"},
		{`$env.customer.seats > 1`, "$env is not available"},
		{`len($env) > 1`, "$env is not available"},
		{`__cal != nil`, "unknown name __cal"},
		{`get(customer, "helth") > 1`, "unknown attribute helth; did you mean health?"},
		{`customer["helth"] > 1`, "unknown attribute helth; did you mean health?"},
		{`before.sets > 1`, "unknown attribute sets; did you mean seats?"},
		{`event.dta.plan == "pro"`, "event has no field dta; did you mean data?"},
		{`event.data.pln == "pro"`, "event data has no field pln; did you mean plan?"},
		{`run.owner == ""`, "run is not available in a trigger"},
		{`customer.seats == "many"`, "1:16: when: == cannot compare an int with a string"},
		{`customer.health + "x" > 1`, "+ cannot combine a float with a string"},
		{`customer.health < "high"`, "< cannot compare a float with a string"},
		{`strings.Repeat("a", 2) == "aa"`, "unknown name strings"},
		{strings.Repeat("1 + ", MaxExprNodes) + "1 > 0", "1:1: when: expression is too large: the limit is 300 names, values and operators; simplify it"},
		{"customer.seats > " + strings.Repeat("1", MaxExprLen), "characters long; the limit is 2000"},
		{"", "expression is empty"},
	}
	for _, c := range cases {
		x, errs := compileIn(t, s, envTrigger, c.src)
		if x != nil || len(errs) == 0 {
			t.Errorf("%.60q compiled; want error containing %q", c.src, c.want)
			continue
		}
		if !strings.Contains(errs.Error(), c.want) {
			t.Errorf("%.60q: got %v, want error containing %q", c.src, errs, c.want)
		}
	}
}

// TestMapIteration checks that no expression can observe Go's random map
// order: the builtins that iterate a collection reject maps at load time,
// $env is not available, and what renders a map sorts its keys.
func TestMapIteration(t *testing.T) {
	s := exprTestSchema(t)
	for _, src := range []string{
		`len(map(customer, #)) > 0`,
		`len(filter(customer, true)) > 0`,
		`any(before, true)`,
		`all(event.data, true)`,
		`count(customer, true) > 0`,
		`sum(customer) > 0`,
		`reduce(customer, #acc, 0) > 0`,
		`find(customer, true) != nil`,
		`len(sortBy(customer, #)) > 0`,
		`first(customer) != nil`,
		`last(customer) != nil`,
		`len(map($env, #)) > 0`,
		`len(keys(customer)) > 0`,
		`len(toPairs(event.data)) > 0`,
		`let m = customer; len(map(m, #)) > 0`,
	} {
		for _, kind := range []envKind{envTrigger, envRun} {
			if x, _ := compileIn(t, s, kind, src); x != nil {
				t.Errorf("%q compiled (env %d): it could iterate a map", src, kind)
			}
		}
	}
	// What may touch a whole map renders it in sorted key order.
	customer := map[string]any{"name": "Acme", "seats": 12, "health": 80.5, "segment": "smb", "timezone": "UTC"}
	for _, c := range []struct{ src, want string }{
		{`toJSON(customer)`, `{` + "\n" + `  "health": 80.5,` + "\n" + `  "name": "Acme",`},
		{`string(customer)`, `map[health:80.5 name:Acme seats:12 segment:smb timezone:UTC]`},
	} {
		x, errs := compileIn(t, s, envRun, c.src)
		if x == nil {
			t.Fatalf("%s: %v", c.src, errs)
		}
		sc := NewScope(time.Date(2026, 1, 9, 10, 0, 0, 0, time.UTC), s, customer, customer, nil, map[string]any{})
		var first string
		for i := 0; i < 50; i++ {
			out, err := x.Eval(&vm.VM{}, sc)
			if err != nil {
				t.Fatalf("%s: %v", c.src, err)
			}
			got := out.(string)
			if i == 0 {
				first = got
				if !strings.HasPrefix(got, c.want) {
					t.Errorf("%s = %q, want prefix %q", c.src, got, c.want)
				}
			} else if got != first {
				t.Fatalf("%s is not deterministic: %q then %q", c.src, first, got)
			}
		}
	}
}

// TestHelpers evaluates the helpers against a fixed workflow clock.
func TestHelpers(t *testing.T) {
	s := exprTestSchema(t)
	day := 24 * time.Hour
	fri := time.Date(2026, 1, 9, 10, 0, 0, 0, time.UTC)  // Friday
	fri2 := time.Date(2026, 1, 16, 9, 0, 0, 0, time.UTC) // Friday before the holiday Monday 2026-01-19
	// Saturday 03:00 UTC is still Friday 22:00 in New York.
	sat := time.Date(2026, 1, 10, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		src  string
		now  time.Time
		tz   string
		want any
	}{
		{`days(3)`, fri, "", 72 * time.Hour},
		{`days(0)`, fri, "", time.Duration(0)},
		{`hours(4)`, fri, "", 4 * time.Hour},
		{`hours(36) > days(1)`, fri, "", true},
		{`business_days(1)`, fri, "", 3 * day},                 // Friday + 1 = Monday
		{`business_days(5)`, fri, "", 7 * day},                 // a whole week
		{`business_days(1)`, fri2, "", 4 * day},                // Monday is a holiday: Tuesday
		{`business_days(1)`, sat, "", 2 * day},                 // UTC: Saturday + 1 = Monday
		{`business_days(1)`, sat, "America/New_York", 3 * day}, // New York: Friday + 1 = Monday
		{`now + business_days(1) == date("2026-01-12") + hours(10)`, fri, "", true},
		{`days_since(date("2026-01-01"))`, fri, "", 8},
		{`days_since(date("2026-01-09"))`, fri, "", 0},
		{`days_since(date("2026-01-10"))`, fri, "", -1}, // floor: 14 hours ahead is day -1
		{`days_until(date("2026-01-31"))`, fri, "", 21},
		{`days_until(customer.renewal_date)`, fri, "", 355},
		{`days_since(customer.renewal_date) < 0`, fri, "", true},
		{`date("2026-01-31")`, fri, "", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)},
		{`date("2026-01-31T09:30:00+01:00")`, fri, "", time.Date(2026, 1, 31, 8, 30, 0, 0, time.UTC)},
		{`customer.renewal_date - now > days(300)`, fri, "", true},
	}
	for _, c := range cases {
		x, errs := compileIn(t, s, envRun, c.src)
		if x == nil {
			t.Errorf("%s: %v", c.src, errs)
			continue
		}
		customer := map[string]any{"name": "Acme", "renewal_date": time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
		if c.tz != "" {
			customer["timezone"] = c.tz
		}
		sc := NewScope(c.now, s, customer, customer, nil, map[string]any{})
		got, err := x.Eval(&vm.VM{}, sc)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s at %s (tz %q) = %v (%T), want %v (%T)", c.src, c.now.Format(time.RFC3339), c.tz, got, got, c.want, c.want)
		}
	}
}

// TestExprPositions checks that errors point into the file, at the bad token.
func TestExprPositions(t *testing.T) {
	s := exprTestSchema(t)
	env := newExprEnv(s, envTrigger, []string{"contract.signed"})
	cases := []struct {
		src  string
		at   tendfmt.Pos
		want string
	}{
		// The expression starts at line 4, column 9 of the file.
		{`customer.helth > 1`, tendfmt.Pos{File: "t.yaml", Line: 4, Col: 18}, "when: unknown attribute helth; did you mean health?"},
		{`customer.seats > 1 && keys(customer)`, tendfmt.Pos{File: "t.yaml", Line: 4, Col: 31}, "keys() is not available"},
		{"customer.seats > 1 &&\n  customer.helth > 1", tendfmt.Pos{File: "t.yaml", Line: 5, Col: 12}, "unknown attribute helth"},
		{`customer.seats >`, tendfmt.Pos{File: "t.yaml", Line: 4, Col: 24}, "the expression ends too early"},
	}
	for _, c := range cases {
		var errs tendfmt.ErrorList
		env.compile(c.src, tendfmt.PlainLoc(c.src, tendfmt.Pos{File: "t.yaml", Line: 4, Col: 9}), "when", wantBool, 0, &errs)
		if len(errs) != 1 || errs[0].Pos != c.at || !strings.Contains(errs[0].Msg, c.want) {
			t.Errorf("%q: got %v, want one error at %s containing %q", c.src, errs, c.at, c.want)
		}
	}
}
