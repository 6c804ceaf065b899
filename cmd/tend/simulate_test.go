package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/sim"
)

var recordKinds = map[string]bool{
	lang.RecRunStarted: true, lang.RecStepSkipped: true, lang.RecAction: true, lang.RecTaskCompleted: true,
	lang.RecTaskOverdue: true, lang.RecWaitTimeout: true, lang.RecRunCompleted: true, lang.RecRunExited: true,
	lang.RecRunExpired: true, lang.RecRunFailed: true, lang.RecStageChanged: true, lang.RecMessageHeld: true,
}

// rec is one jsonl line, decoded loosely so that missing keys can be told apart.
type rec map[string]any

func (r rec) s(key string) string { v, _ := r[key].(string); return v }

// parseJSONL checks that every line of out is a JSON object with the keys
// that docs/language.md (Scenario files) names, a known kind, and that the
// records are ordered by time, then customer. It returns the records.
func parseJSONL(t *testing.T, out string) []rec {
	t.Helper()
	if out == "" {
		t.Fatal("no jsonl output")
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end with a newline")
	}
	var recs []rec
	var prevAt time.Time
	prevCustomer := ""
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r rec
		dec := json.NewDecoder(strings.NewReader(line))
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %s", i+1, line)
		}
		for _, k := range []string{"at", "customer", "playbook", "run", "step", "kind"} {
			if _, ok := r[k].(string); !ok {
				t.Fatalf("line %d: key %q missing or not a string: %s", i+1, k, line)
			}
		}
		if !strings.HasPrefix(line, `{"at":`) {
			t.Errorf("line %d does not start with at: %s", i+1, line)
		}
		at, err := time.Parse(time.RFC3339, r.s("at"))
		if err != nil {
			t.Fatalf("line %d: at: %v", i+1, err)
		}
		if r.s("customer") == "" {
			t.Errorf("line %d: empty customer", i+1)
		}
		kind := r.s("kind")
		if !recordKinds[kind] {
			t.Errorf("line %d: unknown kind %q", i+1, kind)
		}
		switch kind {
		case lang.RecAction:
			if r.s("action") == "" {
				t.Errorf("line %d: an action record without action: %s", i+1, line)
			}
		case lang.RecMessageHeld:
			if r.s("action") == "" || r.s("reason") == "" {
				t.Errorf("line %d: a message.held record without action or reason: %s", i+1, line)
			}
			if until, err := time.Parse(time.RFC3339, r.s("until")); err != nil || !until.After(at) {
				t.Errorf("line %d: a message.held record's until is not after its at: %s", i+1, line)
			}
		case lang.RecStageChanged:
			if r.s("to") == "" {
				t.Errorf("line %d: a stage.changed record without to: %s", i+1, line)
			}
		}
		if kind != lang.RecStageChanged && (r.s("playbook") == "" || r.s("run") == "") {
			t.Errorf("line %d: a %s record without playbook or run: %s", i+1, kind, line)
		}
		if at.Before(prevAt) || (at.Equal(prevAt) && r.s("customer") < prevCustomer) {
			t.Errorf("line %d is out of order (time, then customer): %s after %s %s", i+1, line, prevAt.Format(time.RFC3339), prevCustomer)
		}
		prevAt, prevCustomer = at, r.s("customer")
		recs = append(recs, r)
	}
	return recs
}

// find returns the records that have every key=value of match.
func find(recs []rec, match map[string]string) []rec {
	var out []rec
next:
	for _, r := range recs {
		for k, v := range match {
			if r.s(k) != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// one fails unless exactly one record matches.
func one(t *testing.T, recs []rec, match map[string]string) rec {
	t.Helper()
	got := find(recs, match)
	if len(got) != 1 {
		t.Fatalf("%d records match %v, want 1", len(got), match)
	}
	return got[0]
}

// The jsonl of a shipped example: its records are those of the example's
// timeline.golden (TestSimulateExamples), here checked field by field.
func TestSimulateEnterpriseOnboardingJSONL(t *testing.T) {
	r := mustRun(t, exitOK, "simulate", "--scenario", "../../examples/enterprise-onboarding/scenario.yaml", "--format", "jsonl", shippedPlaybooks)
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
	recs := parseJSONL(t, r.stdout)
	first := recs[0]
	if first.s("at") != "2026-01-05T15:00:00Z" || first.s("customer") != "acme" {
		t.Errorf("first record = %v, want acme at the contract signature", first)
	}
	started := one(t, recs, map[string]string{"customer": "acme", "playbook": "enterprise-onboarding", "kind": "run.started"})
	if started.s("at") != "2026-01-05T15:00:00Z" || started.s("run") != "run/enterprise-onboarding/acme/1" || started.s("step") != "" {
		t.Errorf("acme's run.started = %v", started)
	}
	welcome := one(t, recs, map[string]string{"customer": "acme", "step": "welcome", "kind": "action"})
	if welcome.s("action") != "email" || welcome.s("to") != "it@acme.example" {
		t.Errorf("acme's welcome = %v", welcome)
	}
	// The same records in table format: a header and one line each.
	table := mustRun(t, exitOK, "simulate", "--scenario", "../../examples/enterprise-onboarding/scenario.yaml", shippedPlaybooks)
	lines := strings.Split(strings.TrimSuffix(table.stdout, "\n"), "\n")
	if len(lines) != len(recs)+1 {
		t.Errorf("table has %d lines, want %d records + a header", len(lines), len(recs))
	}
}

// TestSimulateExamples runs every shipped example scenario against the shipped
// playbooks and compares the timeline (table output) with the scenario's
// examples/<name>/timeline.golden, the expected outcome a reviewer reads. It
// also checks the jsonl shape and that no run failed. After an intended change
// to the playbooks, a scenario or the interpreter, regenerate every timeline
// with one command, then read the diff:
//
//	go test ./cmd/tend -run TestSimulateExamples -update
func TestSimulateExamples(t *testing.T) {
	scenarios, err := filepath.Glob("../../examples/*/scenario.yaml")
	if err != nil || len(scenarios) < 5 {
		t.Fatalf("found %d scenarios (%v)", len(scenarios), err)
	}
	for _, sc := range scenarios {
		t.Run(filepath.Base(filepath.Dir(sc)), func(t *testing.T) {
			table := mustRun(t, exitOK, "simulate", "--scenario", sc, shippedPlaybooks)
			if table.stderr != "" {
				t.Errorf("stderr = %q", table.stderr)
			}
			goldenFile(t, filepath.Join(filepath.Dir(sc), "timeline.golden"), table.stdout)
			r := mustRun(t, exitOK, "simulate", "--scenario", sc, "--format", "jsonl", shippedPlaybooks)
			recs := parseJSONL(t, r.stdout)
			if len(find(recs, map[string]string{"kind": "run.started"})) == 0 {
				t.Errorf("no run started")
			}
			if failed := find(recs, map[string]string{"kind": "run.failed"}); len(failed) > 0 {
				t.Errorf("%d runs failed, the first: %v", len(failed), failed[0])
			}
			// A task.completed event that completes nothing is a scenario
			// telling a story the playbooks do not: the task never existed.
			for _, e := range scenarioEvents(t, sc) {
				if e.Type != lang.EventTaskCompleted {
					continue
				}
				match := map[string]string{"kind": "task.completed", "customer": e.Customer, "at": e.At.UTC().Format(time.RFC3339)}
				if step, _ := e.Data["step"].(string); step != "" {
					match["step"] = step
				}
				if len(find(recs, match)) == 0 {
					t.Errorf("the scenario's task.completed for %s at %s (%v) completes no task", e.Customer, e.At.UTC().Format(time.RFC3339), e.Data)
				}
			}
		})
	}
}

// scenarioEvents reads the events of a scenario checked against the shipped schema.
func scenarioEvents(t *testing.T, path string) []*lang.Event {
	t.Helper()
	set, errs, err := load.Set(shippedPlaybooks)
	if err != nil || len(errs) > 0 {
		t.Fatalf("load %s: %v %v", shippedPlaybooks, err, errs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, errs := lang.ParseScenario(path, data, set.Schema)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return sc.Events
}

func TestSimulateTable(t *testing.T) {
	r := mustRun(t, exitOK, "simulate", "--scenario", contactScenario, contactSet)
	golden(t, "simulate.contact.table.golden", r.stdout)
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[0], "AT ") || !strings.Contains(lines[0], "CUSTOMER") || !strings.Contains(lines[0], "DETAIL") {
		t.Errorf("header = %q", lines[0])
	}
	contains(t, "table", r.stdout,
		`2026-01-05 09:00Z  b         onboard   welcome  action         email "Welcome, Bee & Co" to x@b.example`,
		`kickoff  step.skipped   when (customer.seats ?? 0) >= 10 is false`)
}

func TestSimulateContactPolicyJSONL(t *testing.T) {
	r := mustRun(t, exitOK, "simulate", "--scenario", contactScenario, "--format", "jsonl", contactSet)
	recs := parseJSONL(t, r.stdout)
	// Signed on Saturday 20:00: the welcome goes out Monday 09:00, and the
	// second email a week later (at most one a week). Each is held at
	// signing, with the time it goes out and why.
	for _, c := range []string{"a", "b"} {
		if w := one(t, recs, map[string]string{"customer": c, "step": "welcome", "kind": "action"}); w.s("at") != "2026-01-05T09:00:00Z" {
			t.Errorf("%s's welcome at %s, want Monday 09:00", c, w.s("at"))
		}
		if w := one(t, recs, map[string]string{"customer": c, "step": "tips", "kind": "action"}); w.s("at") != "2026-01-12T09:00:00Z" {
			t.Errorf("%s's tips at %s, want a week later", c, w.s("at"))
		}
		held := map[string]string{"customer": c, "kind": "message.held", "at": "2026-01-03T20:00:00Z", "action": "email", "to": "x@" + c + ".example"}
		held["step"], held["until"] = "welcome", "2026-01-05T09:00:00Z"
		held["reason"] = "held by the contact policy until Mon 5 Jan 09:00 UTC (Saturday is not a workday)"
		one(t, recs, held)
		held["step"], held["until"] = "tips", "2026-01-12T09:00:00Z"
		held["reason"] = "held by the contact policy until Mon 12 Jan 09:00 UTC (weekly cap of 1 message)"
		one(t, recs, held)
	}
	// Customers listed b, a in the scenario: at one instant a comes first.
	var first []string
	for _, r := range recs {
		if r.s("at") == "2026-01-03T20:00:00Z" {
			first = append(first, r.s("customer"))
		}
	}
	if got := strings.Join(first, ""); got != "aaaaabbbbb" {
		t.Errorf("customers at the first instant: %s, want aaaaabbbbb", got)
	}
	// Held emails do not hold the run: the task goes out at signing.
	task := one(t, recs, map[string]string{"customer": "b", "step": "kickoff", "kind": "action"})
	if task.s("at") != "2026-01-03T20:00:00Z" || task.s("owner") != "b@v.example" || task.s("due") != "2026-01-06T20:00:00Z" || task.s("title") != "Kick off Bee & Co" {
		t.Errorf("b's kickoff = %v", task)
	}
	// Text is written as is, not HTML-escaped.
	if strings.Contains(r.stdout, `\u0026`) || strings.Contains(r.stdout, `\u003c`) {
		t.Errorf("jsonl escapes & or <:\n%s", r.stdout)
	}
	contains(t, "jsonl", r.stdout, `"title":"Signed: Bee & Co <x@b.example>"`)
}

const customersCSV = `customer_id,name,segment,seats,csm,contact_email,health,notes
acme,Acme,enterprise,120,jo@v.example,it@acme.example,80.5,not in the schema
tiny,Tiny,smb,3,,hi@tiny.example,,
`

const customersJSONL = `{"id": "acme", "name": "Acme", "segment": "enterprise", "seats": 120, "csm": "jo@v.example", "contact_email": "it@acme.example", "health": 80.5}

{"id": "tiny", "name": "Tiny", "segment": "smb", "seats": 3, "contact_email": "hi@tiny.example"}
`

const eventsJSONL = `{"at":"2026-01-06T15:00:00Z","customer":"acme","type":"contract.signed","data":{"plan":"enterprise"}}

{"at":"2026-01-05T10:00:00Z","customer":"tiny","type":"contract.signed","data":{"plan":"starter"}}
{"id":"late","at":"2026-02-10T10:00:00Z","customer":"tiny","type":"contract.signed","data":{"plan":"starter"}}
`

func TestSimulateCustomersAndEvents(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"customers.csv": customersCSV, "customers.jsonl": customersJSONL, "events.jsonl": eventsJSONL,
	})
	window := []string{"--start", "2026-01-05T00:00:00Z", "--until", "2026-01-31T00:00:00Z"}
	csvArgs := append([]string{"simulate", "--format", "jsonl", "--customers", filepath.Join(dir, "customers.csv"), "--id-column", "customer_id",
		"--events", filepath.Join(dir, "events.jsonl")}, window...)
	r := mustRun(t, exitOK, append(csvArgs, contactSet)...)
	if r.stderr != "tend simulate: note: 1 event outside 2026-01-05T00:00:00Z .. 2026-01-31T00:00:00Z is ignored\n" {
		t.Errorf("stderr = %q, want a note about the event after --until", r.stderr)
	}
	recs := parseJSONL(t, r.stdout)
	for _, rc := range recs {
		if at := rc.s("at"); at < "2026-01-05T00:00:00Z" || at >= "2026-01-31T00:00:00Z" {
			t.Errorf("record outside the window: %v", rc)
		}
	}
	// Attributes come from the CSV columns: name, contact_email, csm, seats.
	acme := one(t, recs, map[string]string{"customer": "acme", "kind": "run.started"})
	if acme.s("at") != "2026-01-06T15:00:00Z" || acme.s("owner") != "jo@v.example" {
		t.Errorf("acme's run.started = %v", acme)
	}
	if w := one(t, recs, map[string]string{"customer": "acme", "step": "welcome", "kind": "action"}); w.s("to") != "it@acme.example" || w.s("title") != "Welcome, Acme" {
		t.Errorf("acme's welcome = %v", w)
	}
	one(t, recs, map[string]string{"customer": "acme", "step": "kickoff", "kind": "action", "owner": "jo@v.example"})
	one(t, recs, map[string]string{"customer": "tiny", "step": "kickoff", "kind": "step.skipped"}) // 3 seats
	if n := len(find(recs, map[string]string{"customer": "tiny", "kind": "run.started"})); n != 1 {
		t.Errorf("tiny started %d runs, want 1 (the second contract is after --until)", n)
	}

	// The same customers as JSONL give the same timeline.
	jl := mustRun(t, exitOK, append(append([]string{"simulate", "--format", "jsonl", "--customers", filepath.Join(dir, "customers.jsonl"),
		"--events", filepath.Join(dir, "events.jsonl")}, window...), contactSet)...)
	if jl.stdout != r.stdout {
		t.Errorf("customers from JSONL and from CSV differ:\n%s", lineDiff(r.stdout, jl.stdout))
	}

	// Events alone: customers come from the events, and start defaults to the first event.
	ev := mustRun(t, exitOK, "simulate", "--format", "jsonl", "--events", filepath.Join(dir, "events.jsonl"), "--until", "2026-03-01T00:00:00Z", contactSet)
	recs = parseJSONL(t, ev.stdout)
	if recs[0].s("at") != "2026-01-05T10:00:00Z" || recs[0].s("customer") != "tiny" {
		t.Errorf("first record = %v", recs[0])
	}
	if n := len(find(recs, map[string]string{"customer": "tiny", "kind": "run.started"})); n != 1 {
		t.Errorf("tiny started %d runs, want 1 (at most once per customer without once_per)", n)
	}
	if ev.stderr != "" {
		t.Errorf("stderr = %q", ev.stderr)
	}

	// Customers alone, with nothing happening: only the table header.
	none := mustRun(t, exitOK, append([]string{"simulate", "--customers", filepath.Join(dir, "customers.csv"), "--id-column", "customer_id"}, append(window, contactSet)...)...)
	if strings.Count(none.stdout, "\n") != 1 || !strings.HasPrefix(none.stdout, "AT ") {
		t.Errorf("stdout = %q, want only the header", none.stdout)
	}
}

// TestSimulateReport checks the planning report against the jsonl of the
// same simulation: every number in the report's JSON block is recomputed
// here from the records, a few are read back from the visible HTML, and the
// page fetches nothing.
func TestSimulateReport(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, scenario, playbooks string
		holds                     []string // some holds the report must list: customer step reached -> until
		peak                      string   // the task peak sentence, if any
	}{
		{name: "contact", scenario: contactScenario, playbooks: contactSet,
			holds: []string{"a welcome 2026-01-03T20:00:00Z -> 2026-01-05T09:00:00Z", "b tips 2026-01-03T20:00:00Z -> 2026-01-12T09:00:00Z"},
			peak:  "Peak week: the <b>week of 29 Dec 2025</b>, with 1 task opened."},
		{name: "smb", scenario: "../../examples/smb-tech-touch-onboarding/scenario.yaml", playbooks: shippedPlaybooks,
			holds: []string{"quickfix welcome 2026-01-07T21:30:00Z -> 2026-01-08T09:00:00Z", "quickfix getting-started 2026-01-09T21:30:00Z -> 2026-01-12T09:00:00Z"}},
		{name: "renewal", scenario: "../../examples/renewal/scenario.yaml", playbooks: shippedPlaybooks,
			peak: "Peak week: the <b>week of 5 Jan 2026</b>, with 3 tasks opened."},
		{name: "training", scenario: "../../examples/training-follow-up/scenario.yaml", playbooks: shippedPlaybooks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report := filepath.Join(dir, tt.name+".html")
			r := mustRun(t, exitOK, "simulate", "--scenario", tt.scenario, "--format", "jsonl", "--report", report, tt.playbooks)
			recs := parseJSONL(t, r.stdout)
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			selfContained(t, page)
			got := reportJSON(t, page)
			want := recompute(t, recs, got.Start, got.Until)
			if got.Records != len(recs) {
				t.Errorf("records = %d, want %d", got.Records, len(recs))
			}
			checkEqual(t, "weeks", got.Weeks, want.weeks)
			checkEqual(t, "outreach", weekMap(got.Outreach), want.outreach)
			checkEqual(t, "tasks", weekMap(got.Tasks), want.tasks)
			checkEqual(t, "funnel", got.Funnel, want.funnel)
			checkEqual(t, "touched", got.Touched, want.touched)
			if got.TaskPeak != want.taskPeak || got.OutPeak != want.outPeak {
				t.Errorf("peaks = %+v, %+v; want %+v, %+v", got.TaskPeak, got.OutPeak, want.taskPeak, want.outPeak)
			}
			for _, op := range got.OwnerPeaks {
				if w := want.ownerPeaks[op.Owner]; op.Peak != w {
					t.Errorf("peak of %s = %+v, want %+v", op.Owner, op.Peak, w)
				}
			}
			if len(got.OwnerPeaks) != len(want.ownerPeaks) {
				t.Errorf("%d owners, want %d", len(got.OwnerPeaks), len(want.ownerPeaks))
			}

			// Holds: one per message.held record, held from its at to its
			// until, sent if an action of its step went out at its until.
			checkEqual(t, "holds", got.Holds.Items, want.holds)
			var listed []string
			var secs []int64
			dropped := 0
			for _, h := range want.holds {
				listed = append(listed, h.Customer+" "+h.Step+" "+h.Reached+" -> "+h.Until)
				secs = append(secs, h.Seconds)
				if h.Dropped {
					dropped++
				}
				if h.Reached >= h.Until || h.Seconds <= 0 {
					t.Errorf("hold %+v is not held", h)
				}
			}
			for _, h := range tt.holds {
				if !slices.Contains(listed, h) {
					t.Errorf("hold %q not in the report:\n%s", h, strings.Join(listed, "\n"))
				}
			}
			if len(tt.holds) > 0 && len(want.holds) == 0 {
				t.Errorf("the jsonl has no message.held record")
			}
			slices.Sort(secs)
			var median, longest int64
			if len(secs) > 0 {
				median, longest = secs[len(secs)/2], secs[len(secs)-1]
			}
			if h := got.Holds; h.Count != len(want.holds) || h.Dropped != dropped || h.MedianSeconds != median || h.MaxSeconds != longest {
				t.Errorf("holds: count %d, dropped %d, median %d s, longest %d s; want %d, %d, %d s, %d s",
					h.Count, h.Dropped, h.MedianSeconds, h.MaxSeconds, len(want.holds), dropped, median, longest)
			}

			// The visible page says the same.
			if tt.peak != "" {
				contains(t, "report", page, tt.peak)
			}
			for _, f := range want.funnel {
				row := regexp.MustCompile(`<tr data-playbook="` + regexp.QuoteMeta(f.Playbook) + `"><td class="l">[^<]*</td><td class="l"><svg[^\n]*\n<td><b>(\d+)</b></td><td>(\d+)</td>`).FindStringSubmatch(page)
				if row == nil || row[1] != strconv.Itoa(f.Entered) || row[2] != strconv.Itoa(f.Completed) {
					t.Errorf("funnel row of %s = %v, want entered %d, completed %d", f.Playbook, row, f.Entered, f.Completed)
				}
			}
			contains(t, "report", page, fmt.Sprintf("<b>%d</b>outreach messages", want.outPeakTotal), fmt.Sprintf("<b>%d</b>held by the contact policy", got.Holds.Count))
		})
	}

	// A report that cannot be written is a usage error.
	bad := mustRun(t, exitUsage, "simulate", "--scenario", contactScenario, "--report", filepath.Join(dir, "no", "such", "dir", "r.html"), contactSet)
	contains(t, "stderr", bad.stderr, "tend simulate: report:", "no such file or directory")
}

// TestReportHolds: the report reads the held messages from the timeline's
// message.held records alone, held from their at to their until, and
// matches each to the action of its run and step that follows it: one the
// run's end or an opt-out left unsent is dropped, and a step held again
// later in the same run is matched to its own action.
func TestReportHolds(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 20, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	held := func(d time.Duration, customer, step string, until time.Duration) lang.Record {
		u := at(until)
		return lang.Record{At: at(d), Customer: customer, Playbook: "p", Run: "run/p/" + customer + "/1", Step: step,
			Kind: lang.RecMessageHeld, Action: lang.ActionEmail, Until: &u, Reason: "held by the contact policy"}
	}
	rec := func(d time.Duration, customer, step, kind, action string) lang.Record {
		return lang.Record{At: at(d), Customer: customer, Playbook: "p", Run: "run/p/" + customer + "/1", Step: step, Kind: kind, Action: action}
	}
	records := []lang.Record{
		held(0, "a", "welcome", 13*time.Hour),
		held(0, "b", "tips", 72*time.Hour),
		rec(0, "a", "kickoff", lang.RecAction, lang.ActionCall),
		held(time.Hour, "c", "news", 2*time.Hour),
		rec(2*time.Hour, "c", "news", lang.RecStepSkipped, ""),
		held(5*time.Hour, "c", "news", 6*time.Hour),
		rec(6*time.Hour, "c", "news", lang.RecAction, lang.ActionEmail),
		rec(13*time.Hour, "a", "welcome", lang.RecAction, lang.ActionEmail),
		rec(24*time.Hour, "b", "", lang.RecRunExited, ""),
	}
	in := sim.Input{Start: t0, Until: at(7 * 24 * time.Hour)}
	got := buildReport(in, &sim.Result{Records: records, Customers: 3}).Holds
	item := func(customer, step string, from, until time.Duration, dropped bool) holdItem {
		return holdItem{Customer: customer, Playbook: "p", Step: step, Action: lang.ActionEmail,
			Reached: at(from).Format(time.RFC3339), Until: at(until).Format(time.RFC3339), Seconds: int64((until - from) / time.Second), Dropped: dropped}
	}
	want := holdSummary{Count: 4, Dropped: 2, MedianSeconds: 13 * 3600, MaxSeconds: 72 * 3600,
		Buckets: []bucket{{"under 1 h", 0}, {"1-12 h", 2}, {"12-24 h", 1}, {"1-3 days", 0}, {"3 days or more", 1}},
		ByStep: []holdStep{
			{Playbook: "p", Step: "news", Action: lang.ActionEmail, Count: 2, Dropped: 1, MedianSeconds: 3600, MaxSeconds: 3600},
			{Playbook: "p", Step: "tips", Action: lang.ActionEmail, Count: 1, Dropped: 1, MedianSeconds: 72 * 3600, MaxSeconds: 72 * 3600},
			{Playbook: "p", Step: "welcome", Action: lang.ActionEmail, Count: 1, MedianSeconds: 13 * 3600, MaxSeconds: 13 * 3600},
		},
		Items: []holdItem{
			item("a", "welcome", 0, 13*time.Hour, false),
			item("b", "tips", 0, 72*time.Hour, true),
			item("c", "news", time.Hour, 2*time.Hour, true),
			item("c", "news", 5*time.Hour, 6*time.Hour, false),
		},
	}
	checkEqual(t, "holds", got, want)
}

// selfContained fails if the page would fetch anything or run a script.
func selfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"src=", "href=", "<link", "@import", "url(", "http://", "https://", "<iframe", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("report contains %q: it must be self-contained", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 || !strings.Contains(page, `<script type="application/json" id="tend-report">`) {
		t.Errorf("report has %d scripts; want only the JSON data block", n)
	}
}

// reportJSON decodes the report's JSON block.
func reportJSON(t *testing.T, page string) reportData {
	t.Helper()
	const open = `<script type="application/json" id="tend-report">`
	i := strings.Index(page, open)
	j := strings.LastIndex(page, "</script>")
	if i < 0 || j < i {
		t.Fatalf("no JSON block in the report")
	}
	var d reportData
	dec := json.NewDecoder(strings.NewReader(page[i+len(open) : j]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("JSON block: %v", err)
	}
	return d
}

func weekMap(ws []weekCounts) map[string]map[string]int {
	m := map[string]map[string]int{}
	for _, w := range ws {
		if w.Total != sumValues(w.Counts) {
			m["total "+w.Week] = map[string]int{"total": w.Total}
		}
		if len(w.Counts) > 0 {
			m[w.Week] = w.Counts
		}
	}
	return m
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s differs from the jsonl:\n got  %s\n want %s", what, g, w)
	}
}

// expected is what the report must say, recomputed from the jsonl records.
type expected struct {
	weeks             []string
	outreach, tasks   map[string]map[string]int
	outPeak, taskPeak peak
	outPeakTotal      int // all outreach
	ownerPeaks        map[string]peak
	funnel            []funnelRow
	touched           []touchedGroup
	holds             []holdItem // one per message.held, in timeline order
}

func recompute(t *testing.T, recs []rec, start, until string) expected {
	t.Helper()
	channel := map[string]string{"email": "email", "survey": "survey", "call": "invite", "training": "invite",
		"notify": "chat", "webhook": "webhook", "escalate": "escalation"}
	isTask := map[string]bool{"call": true, "training": true, "task": true, "escalate": true}
	monday := func(at string) string {
		tm, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		for tm.Weekday() != time.Monday {
			tm = tm.AddDate(0, 0, -1)
		}
		return tm.Format("2006-01-02")
	}
	e := expected{outreach: map[string]map[string]int{}, tasks: map[string]map[string]int{}, ownerPeaks: map[string]peak{}}
	s, _ := time.Parse(time.RFC3339, start)
	u, _ := time.Parse(time.RFC3339, until)
	for w, _ := time.Parse("2006-01-02", monday(start)); w.Before(u); w = w.AddDate(0, 0, 7) {
		e.weeks = append(e.weeks, w.Format("2006-01-02"))
	}
	if len(e.weeks) == 0 || s.IsZero() {
		t.Fatalf("no weeks from %s to %s", start, until)
	}
	add := func(m map[string]map[string]int, w, k string) {
		if m[w] == nil {
			m[w] = map[string]int{}
		}
		m[w][k]++
	}
	funnel := map[string]*funnelRow{}
	escalated := map[string]bool{}
	last := map[string]map[string]*touchedCustomer{}
	ends := map[string]string{"run.completed": "completed", "run.exited": "exited", "run.expired": "expired", "run.failed": "failed"}
	for _, r := range recs {
		pb := r.s("playbook")
		switch k := r.s("kind"); k {
		case "run.started":
			if funnel[pb] == nil {
				funnel[pb] = &funnelRow{Playbook: pb}
				last[pb] = map[string]*touchedCustomer{}
			}
			funnel[pb].Entered++
			c := last[pb][r.s("customer")]
			if c == nil {
				c = &touchedCustomer{ID: r.s("customer")}
				last[pb][c.ID] = c
			}
			c.Runs++
			c.Outcome = "running"
		case "run.completed", "run.exited", "run.expired", "run.failed":
			f := funnel[pb]
			switch ends[k] {
			case "completed":
				f.Completed++
			case "exited":
				f.Exited++
			case "expired":
				f.Expired++
			case "failed":
				f.Failed++
			}
			last[pb][r.s("customer")].Outcome = ends[k]
		case "message.held":
			at, err1 := time.Parse(time.RFC3339, r.s("at"))
			until, err2 := time.Parse(time.RFC3339, r.s("until"))
			if err1 != nil || err2 != nil {
				t.Fatalf("message.held record without at or until: %v", r)
			}
			// It went out if an action of its run and step is in the
			// timeline at its until.
			sent := find(recs, map[string]string{"kind": "action", "run": r.s("run"), "step": r.s("step"), "action": r.s("action"), "at": r.s("until")})
			e.holds = append(e.holds, holdItem{Customer: r.s("customer"), Playbook: pb, Step: r.s("step"), Action: r.s("action"),
				Reached: r.s("at"), Until: r.s("until"), Seconds: int64(until.Sub(at) / time.Second), Dropped: len(sent) == 0})
		case "action":
			a, w := r.s("action"), monday(r.s("at"))
			if ch, ok := channel[a]; ok {
				add(e.outreach, w, ch)
				e.outPeakTotal++
			}
			if isTask[a] {
				add(e.tasks, w, r.s("owner"))
			}
			if a == "escalate" && !escalated[r.s("run")] {
				escalated[r.s("run")] = true
				funnel[pb].Escalated++
			}
		}
	}
	for _, pb := range sortedKeys(funnel) {
		f := funnel[pb]
		f.Running = f.Entered - f.Completed - f.Exited - f.Expired - f.Failed
		e.funnel = append(e.funnel, *f)
		g := touchedGroup{Playbook: pb}
		for _, id := range sortedKeys(last[pb]) {
			g.Customers = append(g.Customers, *last[pb][id])
		}
		e.touched = append(e.touched, g)
	}
	for _, w := range e.weeks {
		if n := sumValues(e.outreach[w]); n > e.outPeak.Count {
			e.outPeak = peak{Week: w, Count: n}
		}
		if n := sumValues(e.tasks[w]); n > e.taskPeak.Count {
			e.taskPeak = peak{Week: w, Count: n}
		}
		for o, n := range e.tasks[w] {
			if n > e.ownerPeaks[o].Count {
				e.ownerPeaks[o] = peak{Week: w, Count: n}
			}
		}
	}
	return e
}

func TestSimulateInvalidPlaybooks(t *testing.T) {
	r := mustRun(t, exitInvalid, "simulate", "--scenario", contactScenario, invalidSet)
	contains(t, "stderr", r.stderr, filepath.Join(invalidSet, "welcome.yaml")+":8:18: ", "tend simulate: the playbooks have 9 errors; fix them first (tend validate)")
	if r.stdout != "" {
		t.Errorf("stdout = %q", r.stdout)
	}
}

// Bad inputs: exit 2, a message that says where, nothing on stdout, no panic.
func TestSimulateBadInput(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFiles(t, dir, map[string]string{
		"unknown-attr.yaml": "start: 2026-01-05T09:00:00Z\nuntil: 2026-02-01T00:00:00Z\ncustomers:\n  - {id: acme, name: Acme, helth: 50}\n",
		"unknown-key.yaml":  "start: 2026-01-05T09:00:00Z\nuntil: 2026-02-01T00:00:00Z\ncustomer:\n  - {id: acme}\n",
		"malformed.yaml":    "start: 2026-01-05T09:00:00Z\nuntil: [2026-02-01\ncustomers: []\n",
		"backwards.yaml":    "start: 2026-01-05T09:00:00Z\nuntil: 2026-01-01T00:00:00Z\n",
		"bad-event.yaml":    "start: 2026-01-05T09:00:00Z\nuntil: 2026-02-01T00:00:00Z\nevents:\n  - {at: 2026-01-06T09:00:00Z, customer: acme, type: contract.sined}\n",
		"bad-seats.yaml":    "start: 2026-01-05T09:00:00Z\nuntil: 2026-02-01T00:00:00Z\ncustomers:\n  - {id: acme, seats: lots}\n",
		"ok.yaml":           "start: 2026-01-05T09:00:00Z\nuntil: 2026-02-01T00:00:00Z\n",
		"bad-number.csv":    "id,name,seats\nacme,Acme,12\nglobex,Globex,twelve\n",
		"bad-enum.csv":      "id,segment\nacme,huge\n",
		"no-id.csv":         "customer,name\nacme,Acme\n",
		"bare-quote.csv":    "id,name\nac\"me,Acme\n",
		"ragged.csv":        "id,name\nacme\n",
		"dup.csv":           "id,name\nacme,A\nacme,B\n",
		"empty.csv":         "",
		"customers.txt":     "acme\n",
		"bad.jsonl":         "{\"id\": \"acme\", \"seats\": \"many\"}\n",
		"not-json.jsonl":    "{\"id\": \"acme\"}\n{id: globex}\n",
		"unknown-type.jsonl": "{\"at\":\"2026-01-06T09:00:00Z\",\"customer\":\"acme\",\"type\":\"contract.signed\",\"data\":{\"plan\":\"pro\"}}\n" +
			"{\"at\":\"2026-01-07T09:00:00Z\",\"customer\":\"acme\",\"type\":\"contract.sined\"}\n",
		"unknown-field.jsonl": "{\"at\":\"2026-01-06T09:00:00Z\",\"customer\":\"acme\",\"type\":\"contract.signed\",\"colour\":1}\n",
		"ok.csv":              "id,name\nacme,Acme\n",
	})
	until := "--until=2026-02-01T00:00:00Z"
	start := "--start=2026-01-05T00:00:00Z"
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{name: "scenario: unknown attribute", args: []string{"--scenario", p("unknown-attr.yaml")},
			stderr: []string{p("unknown-attr.yaml") + ":4:28: customers[0]: unknown attribute helth; did you mean health?", "the scenario " + p("unknown-attr.yaml") + " has 1 error"}},
		{name: "scenario: unknown key", args: []string{"--scenario", p("unknown-key.yaml")},
			stderr: []string{p("unknown-key.yaml") + ":3:1: scenario: unknown key customer; did you mean customers?"}},
		{name: "scenario: malformed YAML", args: []string{"--scenario", p("malformed.yaml")},
			stderr: []string{p("malformed.yaml") + ":", "invalid YAML"}},
		{name: "scenario: until before start", args: []string{"--scenario", p("backwards.yaml")},
			stderr: []string{p("backwards.yaml") + ":2:8: scenario: until 2026-01-01T00:00:00Z is not after start 2026-01-05T09:00:00Z"}},
		{name: "scenario: unknown event type", args: []string{"--scenario", p("bad-event.yaml")},
			stderr: []string{p("bad-event.yaml") + ":4:", "unknown event type contract.sined; did you mean contract.signed?"}},
		{name: "scenario: bad attribute value", args: []string{"--scenario", p("bad-seats.yaml")},
			stderr: []string{p("bad-seats.yaml") + ":4:23: customers[0]:", `"lots"`}},
		{name: "scenario: missing file", args: []string{"--scenario", p("nope.yaml")},
			stderr: []string{"tend simulate: cannot read " + p("nope.yaml") + ": no such file or directory"}},
		{name: "scenario: a directory", args: []string{"--scenario", dir},
			stderr: []string{"tend simulate: ", dir}},
		{name: "scenario: --until before its start", args: []string{"--scenario", p("ok.yaml"), "--until", "2026-01-01"},
			stderr: []string{"tend simulate: --until 2026-01-01T00:00:00Z is not after start 2026-01-05T09:00:00Z"}},
		{name: "--scenario with --customers", args: []string{"--scenario", p("ok.yaml"), "--customers", p("ok.csv")},
			stderr: []string{"tend simulate: --scenario cannot be combined with --customers or --events"}},
		{name: "--scenario with --events", args: []string{"--scenario", p("ok.yaml"), "--events", p("unknown-type.jsonl")},
			stderr: []string{"tend simulate: --scenario cannot be combined with --customers or --events"}},
		{name: "--scenario with --start", args: []string{"--scenario", p("ok.yaml"), start},
			stderr: []string{"tend simulate: --start cannot be combined with --scenario"}},
		{name: "csv: bad number", args: []string{"--customers", p("bad-number.csv"), start, until},
			stderr: []string{"tend simulate: " + p("bad-number.csv") + `:3:15: column seats (attribute seats): "twelve" is not a whole number`}},
		{name: "csv: value not in the enum", args: []string{"--customers", p("bad-enum.csv"), start, until},
			stderr: []string{p("bad-enum.csv") + `:2:6: column segment (attribute segment): "huge" is not one of`}},
		{name: "csv: no id column", args: []string{"--customers", p("no-id.csv"), start, until},
			stderr: []string{"tend simulate: " + p("no-id.csv") + `:1: no id column "id"; the header has customer, name (use --id-column)`}},
		{name: "csv: --id-column names a missing column", args: []string{"--customers", p("ok.csv"), "--id-column", "account", start, until},
			stderr: []string{p("ok.csv") + `:1: no id column "account"`}},
		{name: "csv: bare quote", args: []string{"--customers", p("bare-quote.csv"), start, until},
			stderr: []string{p("bare-quote.csv") + ":", "line 2", `bare "`}},
		{name: "csv: wrong number of fields", args: []string{"--customers", p("ragged.csv"), start, until},
			stderr: []string{p("ragged.csv") + ":", "line 2", "wrong number of fields"}},
		{name: "csv: duplicate id", args: []string{"--customers", p("dup.csv"), start, until},
			stderr: []string{p("dup.csv") + ":3: customer acme appears twice (first on line 2)"}},
		{name: "csv: empty", args: []string{"--customers", p("empty.csv"), start, until},
			stderr: []string{p("empty.csv") + ":1: file is empty; expected a header row"}},
		{name: "csv: missing file", args: []string{"--customers", p("nope.csv"), start, until},
			stderr: []string{"tend simulate: cannot read " + p("nope.csv") + ": no such file or directory"}},
		{name: "customers: not csv or jsonl", args: []string{"--customers", p("customers.txt"), start, until},
			stderr: []string{"tend simulate: --customers " + p("customers.txt") + ": expected a .csv or .jsonl file"}},
		{name: "customers jsonl: bad value", args: []string{"--customers", p("bad.jsonl"), start, until},
			stderr: []string{p("bad.jsonl") + `:1: attribute seats: "many" is not a whole number`}},
		{name: "customers jsonl: not JSON", args: []string{"--customers", p("not-json.jsonl"), start, until},
			stderr: []string{p("not-json.jsonl") + ":2: invalid JSON"}},
		{name: "events: unknown type", args: []string{"--events", p("unknown-type.jsonl"), until},
			stderr: []string{"tend simulate: " + p("unknown-type.jsonl") + ":2: type: unknown event type contract.sined; did you mean contract.signed?"}},
		{name: "events: unknown field", args: []string{"--events", p("unknown-field.jsonl"), until},
			stderr: []string{p("unknown-field.jsonl") + `:1: invalid event: json: unknown field "colour"`}},
		{name: "events: missing file", args: []string{"--events", p("nope.jsonl"), until},
			stderr: []string{"tend simulate: cannot read " + p("nope.jsonl") + ": no such file or directory"}},
		{name: "--until before --start", args: []string{"--customers", p("ok.csv"), "--start", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z"},
			stderr: []string{"tend simulate: --until 2026-01-01T00:00:00Z is not after start 2026-02-01T00:00:00Z"}},
		{name: "--until equal to --start", args: []string{"--customers", p("ok.csv"), "--start", "2026-02-01", "--until", "2026-02-01"},
			stderr: []string{"is not after start"}},
		{name: "--until not a time", args: []string{"--customers", p("ok.csv"), start, "--until", "next week"},
			stderr: []string{`tend simulate: --until: "next week" is not a time; write 2026-01-31 or 2026-01-31T09:00:00Z`}},
		{name: "--start not a time", args: []string{"--customers", p("ok.csv"), "--start", "01/05/2026", until},
			stderr: []string{`tend simulate: --start: "01/05/2026" is not a time`}},
		{name: "no input", args: nil,
			stderr: []string{"tend simulate: give --scenario FILE, or --customers and/or --events with --until"}},
		{name: "customers without --until", args: []string{"--customers", p("ok.csv"), start},
			stderr: []string{"tend simulate: --until is needed without a scenario"}},
		{name: "customers without --start or events", args: []string{"--customers", p("ok.csv"), until},
			stderr: []string{"tend simulate: --start is needed without --events"}},
		{name: "bad --format", args: []string{"--scenario", p("ok.yaml"), "--format", "csv"},
			stderr: []string{`tend simulate: --format must be one of "table","jsonl" but got "csv"`}},
		{name: "unknown flag", args: []string{"--scenario", p("ok.yaml"), "--dry-run"},
			stderr: []string{"tend simulate: unknown flag --dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"simulate"}, tt.args...)
			args = append(args, contactSet)
			r := runCLI(args...)
			if r.panicked != nil {
				t.Fatalf("panicked: %v\n%s", r.panicked, r.stack)
			}
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", r.stdout)
			}
			contains(t, "stderr", r.stderr, tt.stderr...)
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr looks like a crash:\n%s", r.stderr)
			}
		})
	}
}

// Flag mistakes are usage errors even when the playbooks are invalid or missing.
func TestSimulateFlagsBeforePlaybooks(t *testing.T) {
	r := mustRun(t, exitUsage, "simulate", "--scenario", contactScenario, "--customers", "x.csv", invalidSet)
	contains(t, "stderr", r.stderr, "--scenario cannot be combined")
	if strings.Contains(r.stderr, "welcome.yaml") {
		t.Errorf("playbook errors shown for a flag mistake:\n%s", r.stderr)
	}
	r = mustRun(t, exitUsage, "simulate", "--customers", "x.csv", "--start", "2026-01-01", "--until", "soon", invalidSet)
	if r.stderr != "tend simulate: --until: \"soon\" is not a time; write 2026-01-31 or 2026-01-31T09:00:00Z\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = mustRun(t, exitUsage, "simulate", "--scenario", contactScenario, filepath.Join(t.TempDir(), "none"))
	contains(t, "stderr", r.stderr, "tend simulate: cannot read ")
	r = mustRun(t, exitUsage, "simulate", "--scenario", contactScenario, contactSet, invalidSet)
	contains(t, "stderr", r.stderr, "tend simulate: simulate takes one playbook directory, got 2")
}

// A jsonl line always has the six leading keys of docs/language.md
// (Scenario files), even when playbook, run or step are empty, and every
// field survives a round trip.
func TestJSONLRecordShape(t *testing.T) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(lang.Record{Customer: "c", Kind: "stage.changed", To: "adoption"}); err != nil {
		t.Fatal(err)
	}
	if want := `{"at":"0001-01-01T00:00:00Z","customer":"c","playbook":"","run":"","step":"","kind":"stage.changed","to":"adoption"}`; strings.TrimSpace(buf.String()) != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
	due := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := lang.Record{At: due, Customer: "c", Playbook: "p", Run: "r", Step: "s", Kind: "action", Action: "a", From: "f", To: "t",
		Owner: "o", Title: "ti", Due: &due, Task: "ta", Reason: "re"}
	buf.Reset()
	if err := json.NewEncoder(&buf).Encode(&in); err != nil {
		t.Fatal(err)
	}
	var out lang.Record
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

// With --config, tend simulate books calls in the working hours tend.yaml's
// staff: gives their owners, as the worker does; without it, the contact
// hours in the customer's zone. A config with mistakes is a usage error
// naming each one.
func TestSimulateStaff(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"tend.yaml": "staff:\n  Jo@Vendor.example: {timezone: Europe/Berlin, hours: \"08:00-10:00\", workdays: [tue, wed]}\n",
		"bad.yaml":  "staff:\n  jo@vendor.example: {hours: \"10-12\"}\n",
		// A worker's secret, unset here: simulate does not need it.
		"secrets.yaml": "email: {smtp: mail.example:587, from: cs@vendor.example, username: tend, password: {env: TEND_TEST_UNSET_SMTP}}\n" +
			"staff:\n  jo@vendor.example: {timezone: Europe/Berlin, hours: \"08:00-10:00\", workdays: [tue, wed]}\n",
	})
	const sc = "../../examples/enterprise-onboarding/scenario.yaml"
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	starts := func(out string) map[string]time.Time {
		m := map[string]time.Time{}
		for _, r := range find(parseJSONL(t, out), map[string]string{"kind": "action", "owner": "jo@vendor.example"}) {
			if s := r.s("start"); s != "" {
				at, err := time.Parse(time.RFC3339, s)
				if err != nil {
					t.Fatal(err)
				}
				m[r.s("task")] = at
			}
		}
		return m
	}
	plain := starts(mustRun(t, exitOK, "simulate", "--scenario", sc, "--format", "jsonl", shippedPlaybooks).stdout)
	for _, cfg := range []string{"tend.yaml", "secrets.yaml"} {
		staffed := starts(mustRun(t, exitOK, "simulate", "--config", filepath.Join(dir, cfg), "--scenario", sc, "--format", "jsonl", shippedPlaybooks).stdout)
		if len(staffed) < 3 || len(staffed) != len(plain) {
			t.Fatalf("%s: %d meetings of jo with --config, %d without", cfg, len(staffed), len(plain))
		}
		for task, at := range staffed {
			l := at.In(berlin)
			if wd := l.Weekday(); wd != time.Tuesday && wd != time.Wednesday || l.Hour() < 8 || l.Hour() >= 10 {
				t.Errorf("%s: %s at %s, outside Jo's Tuesday and Wednesday 08:00-10:00 in Berlin", cfg, task, l)
			}
			if at.Equal(plain[task]) {
				t.Errorf("%s: %s at %s with and without staff settings", cfg, task, at)
			}
		}
	}
	r := mustRun(t, exitUsage, "simulate", "--config", filepath.Join(dir, "bad.yaml"), "--scenario", sc, shippedPlaybooks)
	contains(t, "stderr", r.stderr, filepath.Join(dir, "bad.yaml")+`:2:30: staff.jo@vendor.example.hours: invalid hours "10-12"`)
	r = mustRun(t, exitUsage, "simulate", "--config", filepath.Join(dir, "missing.yaml"), "--scenario", sc, shippedPlaybooks)
	contains(t, "stderr", r.stderr, "missing.yaml")
}

// failingWriter accepts n bytes, then fails every write, as a full disk does.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errors.New("no space left on device")
}

// TestSimulateWriteFails: output that cannot be written fails the command
// (exit 1) with the reason, in both formats, and with /dev/full where
// there is one.
func TestSimulateWriteFails(t *testing.T) {
	scenario := "../../examples/enterprise-onboarding/scenario.yaml"
	for _, format := range []string{"table", "jsonl"} {
		for _, n := range []int{0, 100} {
			var stderr bytes.Buffer
			code := run([]string{"simulate", "--scenario", scenario, "--format", format, shippedPlaybooks}, strings.NewReader(""), &failingWriter{n: n}, &stderr)
			if code != exitInvalid || !strings.Contains(stderr.String(), "tend simulate: writing the output: no space left on device") {
				t.Errorf("%s, failing after %d bytes: exit %d, stderr %q", format, n, code, stderr.String())
			}
		}
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Logf("no /dev/full: %v", err)
		return
	}
	defer full.Close()
	var stderr bytes.Buffer
	code := run([]string{"simulate", "--scenario", scenario, shippedPlaybooks}, strings.NewReader(""), full, &stderr)
	if code != exitInvalid || !strings.Contains(stderr.String(), "writing the output: write /dev/full: no space left on device") {
		t.Errorf("/dev/full: exit %d, stderr %q", code, stderr.String())
	}
}
