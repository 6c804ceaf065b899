package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
)

const (
	explainSet      = "testdata/explain/playbooks"
	explainScenario = "testdata/explain/scenario.yaml"
)

// TestExplainScenario covers every answer of tend explain, from a
// simulated scenario: one customer of testdata/explain per answer.
func TestExplainScenario(t *testing.T) {
	tests := []struct {
		name     string
		customer string
		at       string
		playbook string
		daily    bool // the answer at the last daily check, not the last event
		outcome  engine.Outcome
		text     []string // lines of the text output
	}{
		{"started", "initech", "2026-03-02T10:00:00Z", "welcome", false, engine.OutcomeStarted,
			[]string{"  at the last event: started run/welcome/initech/1"}},
		{"started at a daily check", "globex", "2026-03-02T09:00:00Z", "renewal", true, engine.OutcomeStarted,
			[]string{"  at the last daily check: started run/renewal/globex/1"}},
		{"event type did not match", "acme", "", "welcome", false, engine.OutcomeNoMatch,
			[]string{"welcome (on contract.signed)", "  triggered by neither the last event (customer.updated) nor the last daily check"}},
		{"not a daily playbook", "acme", "", "health-drop", true, engine.OutcomeNoMatch,
			[]string{"  at the last daily check: not triggered by the daily check: the trigger is on customer.updated"}},
		{"when false", "acme", "", "health-drop", false, engine.OutcomeWhenFalse,
			[]string{"  at the last event: when was false: before.health >= 60 && customer.health < 60", "      before.health = 80", "      customer.health = 72"}},
		{"when false at a daily check", "acme", "", "renewal", true, engine.OutcomeWhenFalse,
			[]string{"  at the last daily check: when was false: days_until(customer.renewal_date) <= 30", "      now = 2026-03-05T09:00:00Z", "      customer.renewal_date = 2026-12-01"}},
		{"when failed", "globex", "", "health-drop", false, engine.OutcomeWhenError,
			[]string{"  at the last event: when could not be evaluated, which counts as false: testdata/explain/playbooks/health-drop.yaml:4:9: ", "      before.health = nil (unset)", "      customer.health = 50"}},
		{"once_per key used", "hooli", "", "nps-followup", false, engine.OutcomeKeyUsed,
			[]string{`  at the last event: once_per event.data.score is "9", a key already used by run/nps-followup/hooli/1`, "      event.data.score = 9"}},
		{"once_per key used at a daily check", "globex", "", "renewal", true, engine.OutcomeKeyUsed,
			[]string{`  at the last daily check: once_per customer.renewal_date is "2026-03-20", a key already used by run/renewal/globex/1`}},
		{"ran before", "initech", "", "welcome", false, engine.OutcomeRanBefore,
			[]string{"  at the last event: it already ran for this customer (run/welcome/initech/1): without once_per, a playbook runs once per customer"}},
		{"a run was live", "initech", "", "onboarding", false, engine.OutcomeLive,
			[]string{"  at the last event: run/onboarding/initech/1 was still running, and a playbook runs once at a time per customer"}},
		{"exit_when true at start", "umbrella", "", "onboarding", false, engine.OutcomeExited,
			[]string{`  at the last event: started run/onboarding/umbrella/1, but its exit_when customer.stage == "churned" was already true, so it exited at once`, `      customer.stage = "churned"`}},
		{"the last event its trigger named", "hooli", "", "welcome", false, engine.OutcomeNoMatch,
			[]string{"  triggered by neither the last event (nps.responded) nor the last daily check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"explain", tt.customer, "--scenario", explainScenario, "--playbook", tt.playbook, explainSet}
			if tt.at != "" {
				args = append(args, "--at", tt.at)
			}
			r := mustRun(t, exitOK, args...)
			lines := strings.Split(r.stdout, "\n")
			for _, want := range tt.text {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("no line %q in\n%s", want, r.stdout)
				}
			}
			r = mustRun(t, exitOK, append(args, "--format", "json")...)
			var ex control.Explanation
			if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
				t.Fatalf("json: %v\n%s", err, r.stdout)
			}
			if len(ex.Playbooks) != 1 || ex.Playbooks[0].Playbook != tt.playbook {
				t.Fatalf("json has %+v, want playbook %s alone", ex.Playbooks, tt.playbook)
			}
			e := ex.Playbooks[0].Event
			if tt.daily {
				e = ex.Playbooks[0].Daily
			}
			if e == nil || e.Outcome != tt.outcome {
				t.Errorf("json: %+v, want outcome %s", e, tt.outcome)
			}
		})
	}
}

// TestExplainText pins the whole text output for one customer.
func TestExplainText(t *testing.T) {
	r := mustRun(t, exitOK, "explain", "acme", "--scenario", explainScenario, explainSet)
	golden(t, "explain.acme.golden", r.stdout)
}

func TestExplainUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no customer", []string{}, exitUsage, `tend explain: expected "<customer>"`},
		{"bad customer id", []string{" acme"}, exitUsage, `tend explain: customer id " acme" starts or ends with white space`},
		{"path without scenario", []string{"acme", "playbooks"}, exitUsage, "tend explain: a playbook directory (playbooks) is read only with --scenario"},
		{"at without scenario", []string{"acme", "--at", "2026-03-02"}, exitUsage, "tend explain: --at needs --scenario"},
		{"bad at", []string{"acme", "--scenario", explainScenario, "--at", "yesterday", explainSet}, exitUsage, "tend explain: --at: "},
		{"at before the start", []string{"acme", "--scenario", explainScenario, "--at", "2026-01-01", explainSet}, exitUsage,
			"tend explain: --at 2026-01-01T00:00:00Z is before the scenario's start 2026-03-02T00:00:00Z\n"},
		{"bad format", []string{"acme", "--format", "table"}, exitUsage, `tend explain: --format must be one of "text","json" but got "table"`},
		{"unknown customer", []string{"acmee", "--scenario", explainScenario, explainSet}, exitUsage,
			"tend explain: no customer acmee in the input; did you mean acme?\n"},
		{"unknown playbook", []string{"acme", "--scenario", explainScenario, "--playbook", "welcom", explainSet}, exitUsage,
			"tend explain: unknown playbook welcom; did you mean welcome?; the playbooks are health-drop, nps-followup, onboarding, renewal, welcome\n"},
		{"missing scenario", []string{"acme", "--scenario", "testdata/explain/none.yaml", explainSet}, exitUsage,
			"tend explain: cannot read testdata/explain/none.yaml: "},
		{"invalid playbooks", []string{"acme", "--scenario", explainScenario, invalidSet}, exitInvalid,
			"testdata/invalid/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, append([]string{"explain"}, tt.args...)...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
		})
	}
}

// Live, tend explain asks the journey: an unreachable Temporal is exit 3.
func TestExplainUnreachable(t *testing.T) {
	r := mustRun(t, exitUnreachable, "explain", "acme", "--address", closedAddr(t), "--timeout", "2s")
	contains(t, "stderr", r.stderr, "cannot reach Temporal at ")
}

// An event applied long after its at is shown at its own at, with when it
// was applied beside it; one applied in the same minute shows its at only.
func TestExplainShowsTheEventsAt(t *testing.T) {
	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	applied := time.Date(2026, 11, 30, 4, 57, 0, 0, time.UTC)
	late := &engine.Explanation{Playbook: "p", Trigger: "contract.signed", Event: "acme-signed", At: applied, EventAt: at,
		Outcome: engine.OutcomeStarted, Run: "run/p/acme/1", Summary: "started run/p/acme/1"}
	ex := &control.Explanation{Version: "v1", Report: engine.Report{Customer: "acme",
		LastEvent: &engine.Considered{Type: "nps.responded", ID: "n1", At: applied.Add(30 * time.Second), EventAt: applied.Add(-time.Second)},
		Playbooks: []engine.PlaybookExplanation{{Playbook: "p", On: []string{"contract.signed"},
			Event:   &engine.Explanation{Playbook: "p", Trigger: "nps.responded", Event: "n1", Outcome: engine.OutcomeNoMatch},
			Earlier: late}}}}
	var b strings.Builder
	writeExplanation(&b, ex)
	for _, want := range []string{
		"last event: nps.responded n1 at 2026-11-30 04:56 UTC, applied 2026-11-30 04:57 UTC\n",
		"  at its last event (contract.signed acme-signed at 2026-11-23 14:00 UTC, applied 2026-11-30 04:57 UTC): started run/p/acme/1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	ex.LastEvent.EventAt = applied.Add(10 * time.Second)
	b.Reset()
	writeExplanation(&b, ex)
	if want := "last event: nps.responded n1 at 2026-11-30 04:57 UTC\n"; !strings.Contains(b.String(), want) {
		t.Errorf("no %q in\n%s", want, b.String())
	}
}
