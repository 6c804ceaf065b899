package lang

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tend-cs/tend/engine/tendfmt"
)

// Survey kinds: the values of a survey step's kind.
const (
	SurveyNPS  = "nps"
	SurveyCSAT = "csat"
)

// SurveyKinds are the survey kinds, in order.
var SurveyKinds = []string{SurveyNPS, SurveyCSAT}

// Data fields of a survey response event.
const (
	SurveyScoreField   = "score"
	SurveyCommentField = "comment"
)

// SurveyScale is the lowest and highest score of a survey kind: 0 to 10
// for NPS, 1 to 5 for CSAT. ok is false for an unknown kind.
func SurveyScale(kind string) (lo, hi int, ok bool) {
	switch kind {
	case SurveyNPS:
		return 0, 10, true
	case SurveyCSAT:
		return 1, 5, true
	}
	return 0, 0, false
}

// SurveyResponse is the event type that records an answer to a survey of
// kind: nps.responded or csat.responded.
func SurveyResponse(kind string) string { return kind + ".responded" }

// IsSurveyResponse reports whether an event type records survey answers.
func IsSurveyResponse(eventType string) bool {
	kind, ok := strings.CutSuffix(eventType, ".responded")
	return ok && slices.Contains(SurveyKinds, kind)
}

// SurveyProblem says why the schema cannot record answers to a survey of
// kind, or "" when it can: its response event type must be declared, with
// a numeric score field (and a comment field, if any, must be a string).
// The answer's event carries only the fields the schema declares.
func (s *Schema) SurveyProblem(kind string) string {
	typ := SurveyResponse(kind)
	et := s.Event(typ)
	if et == nil {
		return fmt.Sprintf("the schema declares no event %s to record the answers; add it under events:, such as %s: {score: int, comment: string}", typ, typ)
	}
	score := et.Field(SurveyScoreField)
	switch {
	case score == nil:
		return fmt.Sprintf("event %s has no score field to record the answer; declare score: int", typ)
	case score.Type != TInt && score.Type != TFloat:
		return fmt.Sprintf("event %s: score is %s; a survey score needs int or float", typ, score.Type)
	}
	if c := et.Field(SurveyCommentField); c != nil && c.Type != TString {
		return fmt.Sprintf("event %s: comment is %s; a survey comment needs string", typ, c.Type)
	}
	return ""
}

// checkSurveys reports every survey step whose answers the schema cannot
// record (Schema.SurveyProblem).
func checkSurveys(s *Schema, pbs []*Playbook, errs *tendfmt.ErrorList) {
	for _, pb := range pbs {
		for _, block := range pb.Blocks {
			for _, st := range block {
				if st.Do != ActionSurvey || !slices.Contains(SurveyKinds, st.SurveyKind) {
					continue
				}
				if msg := s.SurveyProblem(st.SurveyKind); msg != "" {
					errs.Add(st.SurveyPos, "playbook %s: step %s: survey kind %s: %s", pb.Name, st.ID, st.SurveyKind, msg)
				}
			}
		}
	}
}

// LinkedStep names a step of the set whose mail carries signed links (a
// survey, or mail marked unsubscribe: true), as "playbook/step", or ""
// when there is none.
func (s *Set) LinkedStep() string {
	for _, pb := range s.Playbooks {
		for _, block := range pb.Blocks {
			for _, st := range block {
				if st.Do == ActionSurvey || st.Unsubscribe {
					return pb.Name + "/" + st.ID
				}
			}
		}
	}
	return ""
}
