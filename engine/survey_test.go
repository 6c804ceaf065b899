package engine_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// surveySet sends an NPS survey on contract.signed and waits for a
// promoter's answer; two plays start on the answer, by score.
func surveySet(t *testing.T) *lang.Set {
	return loadSet(t, strings.Replace(testSchema, "nps.responded: {score: int}", "nps.responded: {score: int, comment: string}", 1), "pulse.yaml", `
playbook: pulse
trigger: {on: [contract.signed]}
steps:
  - {id: ask, do: survey, kind: nps, template: nps}
  - id: answer
    wait_for:
      until: event.type == "nps.responded" && event.data.score >= 9
      timeout: 30d
  - {id: promoter-seen, do: notify, text: promoter}
`, "promoter.yaml", `
playbook: promoter
trigger: {on: [nps.responded], when: event.data.score >= 9, once_per: event.id}
`+quick, "detractor.yaml", `
playbook: detractor
trigger: {on: [nps.responded], when: event.data.score <= 6, once_per: event.id}
`+quick, "templates/nps.md", "---\nsubject: Would you recommend us?\n---\nPick a score.\n")
}

// A survey's answer is applied once: the same answer again is a
// duplicate, and another score revises it: the waiting run sees the new
// score (its wait_for ends at 13:00, not at 11:00), and no trigger is
// evaluated again (no promoter run, one detractor run). tend simulate answers with the same event as the links.
func TestSurveyAnswerRevisedInSimulate(t *testing.T) {
	set := surveySet(t)
	id := engine.SurveyEventID("run/pulse/acme/1", "ask", 1)
	if id != "survey/pulse/acme/1/ask/1" {
		t.Fatalf("SurveyEventID = %s", id)
	}
	recs := simulate(t, set, scenario("2026-02-01T00:00:00Z", []string{acme},
		signed,
		`{id: `+id+`, at: 2026-01-05T11:00:00Z, customer: acme, type: nps.responded, data: {score: 3}}`,
		`{id: `+id+`, at: 2026-01-05T12:00:00Z, customer: acme, type: nps.responded, data: {score: 3}}`,
		`{id: `+id+`, at: 2026-01-05T13:00:00Z, customer: acme, type: nps.responded, data: {score: 10}}`,
	))
	diffLines(t, show(recs, false), []string{
		"01-05 10:00 pulse - run.started owner=jo@v.example",
		"01-05 10:00 pulse ask action action=survey to=it@acme.example",
		"01-05 11:00 detractor - run.started owner=jo@v.example",
		"01-05 11:00 detractor ping action action=notify",
		"01-05 11:00 detractor - run.completed",
		"01-05 13:00 pulse promoter-seen action action=notify",
		"01-05 13:00 pulse - run.completed",
	})
}

func TestSurveyAnswerRevisedJourney(t *testing.T) {
	set := surveySet(t)
	at := utc("2026-01-05T11:00:00Z")
	answer := func(data map[string]any) *lang.Event {
		return engine.SurveyAnswerEvent("acme", "run/pulse/acme/1", "ask", 1, lang.SurveyNPS, data, at)
	}
	j := engine.NewJourney("acme", acmeAttrs())
	steps := []struct {
		data                       map[string]any
		applied, duplicate, revise bool
		starts                     int
		want                       string // the recorded answer's data, as JSON
	}{
		{map[string]any{"score": 3}, true, false, false, 1, `{"score":3}`},
		{map[string]any{"score": 3}, false, true, false, 0, `{"score":3}`},
		{map[string]any{"score": 3, "comment": "slow support"}, false, false, true, 0, `{"comment":"slow support","score":3}`},
		{map[string]any{"score": 9}, false, false, true, 0, `{"comment":"slow support","score":9}`},
		{map[string]any{"score": 9}, false, true, false, 0, `{"comment":"slow support","score":9}`},
	}
	for i, s := range steps {
		if i == 4 {
			// Across continue-as-new: the state goes through JSON, and the
			// same answer is still a duplicate.
			b, err := json.Marshal(j.JourneyState)
			if err != nil {
				t.Fatal(err)
			}
			var st engine.JourneyState
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			engine.RestoreJourneyState(set.Schema, &st)
			j = engine.ResumeJourney(st)
		}
		out := j.OnEvent(set, at, answer(s.data))
		if out.Applied != s.applied || out.Duplicate != s.duplicate || out.Revised != s.revise || len(out.Starts) != s.starts {
			t.Errorf("answer %d %v: applied %v, duplicate %v, revised %v, %d starts; want %v, %v, %v, %d",
				i, s.data, out.Applied, out.Duplicate, out.Revised, len(out.Starts), s.applied, s.duplicate, s.revise, s.starts)
		}
		if len(j.Answers) != 1 {
			t.Fatalf("answer %d: %d answers recorded, want 1", i, len(j.Answers))
		}
		got, _ := json.Marshal(j.Answers[0].Data)
		if string(got) != s.want {
			t.Errorf("answer %d: recorded %s, want %s", i, got, s.want)
		}
	}
	if a := j.Answers[0]; a.Revisions != 2 || a.Type != "nps.responded" || a.ID != "survey/pulse/acme/1/ask/1" {
		t.Errorf("answer record %+v: want 2 revisions of survey/pulse/acme/1/ask/1", a)
	}
	// An id that is not a survey's stays a plain duplicate.
	other := &lang.Event{ID: "evt-1", Type: "nps.responded", Customer: "acme", At: at, Data: map[string]any{"score": 1}}
	j.OnEvent(set, at, other)
	other = &lang.Event{ID: "evt-1", Type: "nps.responded", Customer: "acme", At: at, Data: map[string]any{"score": 2}}
	if out := j.OnEvent(set, at, other); !out.Duplicate {
		t.Errorf("a repeated non-survey id: %+v, want a duplicate", out)
	}
}

// A customer who opted out gets no mail marked unsubscribe: true: the
// step is skipped with the reason, also when the mail was held by the
// contact policy when they opted out. Unmarked mail still goes.
func TestOptOutSkipsUnsubscribeMail(t *testing.T) {
	set := loadSet(t, testSchema+"contact_policy: {hours: \"09:00-17:00\"}\n", "series.yaml", `
playbook: series
unsubscribe: true
trigger: {on: [contract.signed]}
steps:
  - {id: tip-1, do: email, subject: Tip 1, body: tip}
  - {id: personal, do: email, subject: From your CSM, body: hi, unsubscribe: false}
  - wait: 1d
  - {id: tip-2, do: email, subject: Tip 2, body: tip}
  - wait: 2d
  - {id: tip-3, do: email, subject: Tip 3, body: tip}
`)
	recs := simulate(t, set, scenario("2026-01-12T00:00:00Z", []string{acme},
		`{at: 2026-01-05T18:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
		// tip-1 is held until Tuesday 09:00; the customer opts out at 20:00.
		`{at: 2026-01-05T20:00:00Z, customer: acme, type: customer.updated, attributes: {email_opt_out: true}}`,
	))
	var lines []string
	for _, r := range recs {
		if r.Kind == lang.RecAction || r.Kind == lang.RecStepSkipped {
			lines = append(lines, r.At.UTC().Format("01-02 15:04")+" "+r.Step+" "+r.Kind+" "+r.Reason)
		}
	}
	diffLines(t, lines, []string{
		"01-06 09:00 tip-1 step.skipped the customer opted out of email",
		"01-06 09:00 personal action ",
		"01-06 18:00 tip-2 step.skipped the customer opted out of email",
		"01-08 18:00 tip-3 step.skipped the customer opted out of email",
	})
	// Back in: the mail goes out again.
	recs = simulate(t, set, scenario("2026-01-12T00:00:00Z", []string{acme},
		`{at: 2026-01-05T10:00:00Z, customer: acme, type: customer.updated, attributes: {email_opt_out: true}}`,
		`{at: 2026-01-05T11:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}`,
		`{at: 2026-01-06T10:00:00Z, customer: acme, type: customer.updated, attributes: {email_opt_out: false}}`,
	))
	lines = nil
	for _, r := range recs {
		if r.Kind == lang.RecAction || r.Kind == lang.RecStepSkipped {
			lines = append(lines, r.At.UTC().Format("01-02 15:04")+" "+r.Step+" "+r.Kind)
		}
	}
	diffLines(t, lines, []string{
		"01-05 11:00 tip-1 step.skipped",
		"01-05 11:00 personal action",
		"01-06 11:00 tip-2 action",
		"01-08 11:00 tip-3 action",
	})
}
