package lang

import (
	"strings"
	"testing"
)

const surveySchema = `
customer:
  contact_email: string
events:
  contract.signed: {plan: string}
  nps.responded: {score: int, comment: string}
`

func surveyFiles(schema, playbook string) []File {
	return []File{
		{Path: "schema.yaml", Data: []byte(schema)},
		{Path: "p.yaml", Data: []byte(playbook)},
		{Path: "templates/ask.md", Data: []byte("---\nsubject: Ask\n---\nPick a score.\n")},
	}
}

// unsubscribe: true on a playbook marks its email and survey steps; a
// step's own key overrides it.
func TestUnsubscribeKey(t *testing.T) {
	set, errs := Load(surveyFiles(surveySchema, `
playbook: series
unsubscribe: true
trigger: {on: [contract.signed]}
steps:
  - {id: tip, do: email, subject: Tip, body: tip}
  - {id: ask, do: survey, kind: nps, template: ask}
  - {id: personal, do: email, subject: Hi, body: hi, unsubscribe: false}
  - {id: todo, do: task, title: Look}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := set.LinkedStep(); got != "series/tip" {
		t.Errorf("LinkedStep = %q, want series/tip", got)
	}
	pb := set.Playbook("series")
	want := map[string]bool{"tip": true, "ask": true, "personal": false, "todo": false}
	for id, w := range want {
		if got := pb.Step(id).Unsubscribe; got != w {
			t.Errorf("step %s: Unsubscribe = %v, want %v", id, got, w)
		}
	}
	set, errs = Load(surveyFiles(surveySchema, `
playbook: one
trigger: {on: [contract.signed]}
steps:
  - {id: tip, do: email, subject: Tip, body: tip, unsubscribe: true}
  - {id: other, do: email, subject: Hi, body: hi}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, errs := Load(surveyFiles(surveySchema, "playbook: plain\ntrigger: {on: [contract.signed]}\nsteps:\n  - {do: email, subject: Hi, body: hi}\n"))
	if len(errs) > 0 || plain.LinkedStep() != "" {
		t.Errorf("a set without surveys or marked mail: LinkedStep %q, %v", plain.LinkedStep(), errs)
	}
	if pb := set.Playbook("one"); !pb.Step("tip").Unsubscribe || pb.Step("other").Unsubscribe {
		t.Errorf("step keys: tip %v, other %v; want true, false", pb.Step("tip").Unsubscribe, pb.Step("other").Unsubscribe)
	}
	if a := set.Schema.Attr(AttrEmailOptOut); a == nil || a.Type != TBool {
		t.Errorf("email_opt_out is %+v, want a built-in bool", a)
	}
}

func TestSurveyProblem(t *testing.T) {
	tests := []struct {
		events, kind, want string
	}{
		{"nps.responded: {score: int, comment: string}", "nps", ""},
		{"csat.responded: {score: float}", "csat", ""},
		{"nps.responded: {score: int}", "csat", "declares no event csat.responded"},
		{"nps.responded: {comment: string}", "nps", "has no score field"},
		{"nps.responded: {score: string}", "nps", "score is string"},
		{"nps.responded: {score: int, comment: int}", "nps", "comment is int"},
	}
	for _, tt := range tests {
		files := surveyFiles("events:\n  "+tt.events+"\n", "playbook: p\ntrigger: {on: ["+strings.Split(tt.events, ":")[0]+"]}\nsteps:\n  - {do: survey, kind: "+tt.kind+", template: ask, to: '\"a@b.example\"'}\n")
		set, errs := Load(files)
		got := errs.Error()
		if tt.want == "" {
			if len(errs) > 0 || set == nil {
				t.Errorf("%s, kind %s: %v", tt.events, tt.kind, errs)
			}
			continue
		}
		if !strings.Contains(got, tt.want) || !strings.Contains(got, "p.yaml:4:") {
			t.Errorf("%s, kind %s: errors %q, want p.yaml:4 and %q", tt.events, tt.kind, got, tt.want)
		}
		// A set stored by an earlier build still compiles for its runs.
		if set, errs := LoadSemantics(files, 0); len(errs) > 0 || set == nil {
			t.Errorf("%s, kind %s: LoadSemantics(0): %v", tt.events, tt.kind, errs)
		}
	}
}

func TestIsSurveyResponse(t *testing.T) {
	for typ, want := range map[string]bool{"nps.responded": true, "csat.responded": true, "ces.responded": false, "nps.sent": false, "responded": false} {
		if got := IsSurveyResponse(typ); got != want {
			t.Errorf("IsSurveyResponse(%s) = %v", typ, got)
		}
	}
	for kind, want := range map[string][2]int{"nps": {0, 10}, "csat": {1, 5}} {
		lo, hi, ok := SurveyScale(kind)
		if !ok || lo != want[0] || hi != want[1] || SurveyResponse(kind) != kind+".responded" {
			t.Errorf("%s: scale %d-%d (%v), response %s", kind, lo, hi, ok, SurveyResponse(kind))
		}
	}
}
