package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// fuzzSchema is a small valid schema the fuzzed playbooks are checked against.
const fuzzSchema = `customer:
  name: string
  segment: {type: string, enum: [smb, enterprise]}
  seats: int
  health: float
  csm: string
  manager: string
  contact_email: string
  timezone: string
  renewal_date: time
  tags: [string]
  trial: duration
  active: bool
events:
  contract.signed: {plan: string, arr: float}
  nps.responded: {score: int, comment: string}
stages: [onboarding, adoption, at_risk, churned]
calendar:
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri]
  holidays: [2026-12-25]
  daily_at: "09:00"
contact_policy:
  max_per_week: 3
  hours: "09:00-17:00"
`

// fuzzPlaybook is a small valid playbook, used when the schema is fuzzed.
const fuzzPlaybook = `playbook: welcome
trigger:
  on: [contract.signed]
  when: customer.seats > 10 && event.data.arr > 1000.0
steps:
  - do: email
    template: welcome
  - do: call
    title: "Kickoff with {{ customer.name }}"
    overdue:
      - do: escalate
        to: customer.manager
        reason: Kickoff not held
`

const fuzzTemplate = "---\nsubject: Welcome {{ customer.name }}\n---\nHello {{ customer.name }}.\n"

// addSeedFiles adds the shipped playbooks, schema, templates and the invalid
// golden inputs as seeds.
func addSeedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// loadNoPanic loads a set and checks the result is coherent: a set or
// errors, never both, and every error positioned in a file.
func loadNoPanic(t *testing.T, files []File) {
	t.Helper()
	set, errs := Load(files)
	if (set == nil) == (len(errs) == 0) {
		t.Fatalf("Load returned set %v with %d errors", set != nil, len(errs))
	}
	data := map[string][]byte{}
	for _, f := range files {
		data[f.Path] = f.Data
	}
	for _, e := range errs {
		if e.Msg == "" {
			t.Fatalf("error with no message at %s", e.Pos)
		}
		if e.Pos.File == "" {
			continue
		}
		if e.Pos.Line < 1 || e.Pos.Col < 1 {
			t.Fatalf("error without a line and column: %s", e)
		}
		// Every position lies in the file, or just past the end of a line.
		d := data[e.Pos.File]
		starts := tendfmt.LineStarts(d)
		if e.Pos.Line > len(starts) {
			t.Fatalf("error past the last line (%d): %s", len(starts), e)
		}
		end := len(d)
		if e.Pos.Line < len(starts) {
			end = starts[e.Pos.Line]
		}
		if n := utf8.RuneCount(d[starts[e.Pos.Line-1]:end]); e.Pos.Col > n+1 {
			t.Fatalf("error past the end of line %d (%d runes): %s", e.Pos.Line, n, e)
		}
	}
}

// FuzzLoad feeds arbitrary bytes to the loader: as a playbook next to a
// valid schema, as the schema next to a valid playbook, and as a template.
func FuzzLoad(f *testing.F) {
	addSeedFiles(f, "../../playbooks/*.yaml", "../../playbooks/templates/*.md",
		"../../examples/*/playbooks/*.yaml", "testdata/invalid/*/*.yaml", "testdata/invalid/*/templates/*.md")
	f.Add([]byte(fuzzPlaybook))
	f.Add([]byte(fuzzSchema))
	f.Add([]byte(""))
	f.Add([]byte("playbook: x\ntrigger: {on: daily, when: 'now > customer.renewal_date'}\nsteps: [{wait: 1d}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		loadNoPanic(t, []File{
			{Path: "schema.yaml", Data: []byte(fuzzSchema)},
			{Path: "fuzz.yaml", Data: data},
			{Path: "templates/welcome.md", Data: []byte(fuzzTemplate)},
		})
		loadNoPanic(t, []File{
			{Path: "schema.yaml", Data: data},
			{Path: "welcome.yaml", Data: []byte(fuzzPlaybook)},
			{Path: "templates/welcome.md", Data: []byte(fuzzTemplate)},
		})
		loadNoPanic(t, []File{
			{Path: "schema.yaml", Data: []byte(fuzzSchema)},
			{Path: "welcome.yaml", Data: []byte(fuzzPlaybook)},
			{Path: "templates/welcome.md", Data: data},
		})
	})
}

// FuzzCompileExpr compiles arbitrary expressions as a trigger condition, as
// a step expression and inside {{ }} of a text.
func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{
		`customer.seats >= 50 && customer.segment == "enterprise"`,
		`before.health >= 50 && customer.health < 50`,
		`event.data.score <= 6`,
		`days_since(customer.renewal_date) > 30`,
		`days_until(customer.renewal_date) in 85..95`,
		`now + business_days(3) > customer.renewal_date`,
		`date("2026-01-31") < now`,
		`hours(4) + days(1) > customer.trial`,
		`"vip" in customer.tags`,
		`len(filter(customer.tags, # startsWith "a")) > 0`,
		`customer.name matches "^A"`,
		`let x = customer.seats; x * 2 > 10`,
		`customer?.seats ?? 0`,
		`keys(customer)`, `now()`, `$env`, `groupBy(customer.tags, #)`,
		`customer.seats == "many"`, `customer.helth`, `run.owner`, `(((`, `"\u00ff`, `1..1e9`,
	} {
		f.Add(s)
	}
	var errs tendfmt.ErrorList
	schema := ParseSchema("schema.yaml", []byte(fuzzSchema), &errs)
	if schema == nil || len(errs) > 0 {
		f.Fatalf("fuzz schema: %v", errs)
	}
	trig := newExprEnv(schema, envTrigger, []string{"contract.signed", "nps.responded"})
	run := newExprEnv(schema, envRun, schema.EventNames())
	pos := tendfmt.Pos{File: "fuzz.yaml", Line: 3, Col: 9}
	// A customer with no attributes: every comparison meets nil, and a
	// failure explains itself in one line.
	empty := map[string]any{"id": "c"}
	sc := NewScope(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), schema, empty, empty, &Event{Type: "nps.responded"}, map[string]any{})
	f.Fuzz(func(t *testing.T, src string) {
		for _, c := range []struct {
			env *exprEnv
			w   want
		}{{trig, wantBool}, {trig, wantAny}, {run, wantString}} {
			var errs tendfmt.ErrorList
			x := c.env.compile(src, tendfmt.PlainLoc(src, pos), "when", c.w, 0, &errs)
			if (x == nil) == (len(errs) == 0) {
				t.Fatalf("%q: expression %v with %d errors", src, x != nil, len(errs))
			}
			if x != nil && len(src) < 200 {
				if _, err := x.Eval(&vm.VM{}, sc); err != nil && strings.Contains(err.Error(), "\n") && !strings.Contains(src, "\n") {
					t.Fatalf("%q: run-time error of several lines: %v", src, err)
				}
			}
			for _, e := range errs {
				if e.Pos.File != "fuzz.yaml" || e.Pos.Line < pos.Line || e.Pos.Col < 1 {
					t.Fatalf("%q: error outside the expression: %s", src, e)
				}
				if !utf8.ValidString(e.Msg) && utf8.ValidString(src) {
					t.Fatalf("%q: message is not valid UTF-8: %q", src, e.Msg)
				}
			}
		}
		var terrs tendfmt.ErrorList
		text := "Hi {{ " + src + " }} and {{" + strings.TrimSpace(src) + "}}"
		run.compileText(text, tendfmt.PlainLoc(text, pos), "title", &terrs)
	})
}
