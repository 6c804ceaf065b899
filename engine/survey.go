package engine

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine/lang"
)

// Survey answers and unsubscribe links. A survey's links all record the
// same event id, one per survey sent (SurveyEventID): the first answer is
// applied as any event, and a later answer with other data (another
// score, a comment) is a revision. The journey applies a revision to its
// record of the answer and passes it on to its live runs, but evaluates no
// trigger again, so an answer is counted once however often it changes.

// surveyIDPrefix starts the event id of every survey answer.
const surveyIDPrefix = "survey/"

// MaxSurveyAnswers is how many survey answers a journey remembers for
// revisions; past it, or past maxAnswerBytes of data, the oldest go (a
// later answer to those surveys is then dropped as a duplicate).
const MaxSurveyAnswers = 50

const maxAnswerBytes = 64 << 10

// OptedOutReason is why a step marked unsubscribe: true is skipped for a
// customer who opted out of email.
const OptedOutReason = "the customer opted out of email"

// SurveyEventID is the id of the event that records the answer to the
// survey a run's step sent: the same for every score's link, so that the
// survey is answered once and later answers revise it.
func SurveyEventID(run, step string, occ int) string {
	return surveyIDPrefix + TaskKey(run, step, occ)
}

// SurveyAnswerEvent is the event a followed survey link records: the
// kind's response type (nps.responded) with data, which must hold only
// fields the schema declares for it.
func SurveyAnswerEvent(customer, run, step string, occ int, kind string, data map[string]any, at time.Time) *lang.Event {
	return &lang.Event{ID: SurveyEventID(run, step, occ), Type: lang.SurveyResponse(kind), Customer: customer, At: at, Data: data}
}

// OptOutEvent is the customer.updated event a followed unsubscribe link
// records: email_opt_out becomes true. Its id is per message, so that
// following one link twice applies it once.
func OptOutEvent(customer, run, step string, occ int, at time.Time) *lang.Event {
	return &lang.Event{ID: "unsubscribe/" + TaskKey(run, step, occ), Type: lang.EventCustomerUpdated, Customer: customer, At: at,
		Attributes: map[string]any{lang.AttrEmailOptOut: true}}
}

// OptedOut reports whether a customer's attributes say they opted out of
// email.
func OptedOut(attrs map[string]any) bool {
	b, _ := attrs[lang.AttrEmailOptOut].(bool)
	return b
}

// SurveyAnswer is a journey's record of the answer to one survey.
type SurveyAnswer struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"at"` // when it was first answered
	// RevisedAt and Revisions say when and how often it changed since.
	RevisedAt time.Time      `json:"revised_at,omitzero"`
	Revisions int            `json:"revisions,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

// isSurveyAnswer reports whether ev answers a survey that tend sent.
func isSurveyAnswer(ev *lang.Event) bool {
	return strings.HasPrefix(ev.ID, surveyIDPrefix) && lang.IsSurveyResponse(ev.Type)
}

func (j *Journey) answer(id string) *SurveyAnswer {
	for i := range j.Answers {
		if j.Answers[i].ID == id {
			return &j.Answers[i]
		}
	}
	return nil
}

// revision returns the event that a survey answer whose id the journey
// has seen applies: the recorded answer's data with ev's on top. It
// returns nil for a plain duplicate: not a survey answer, no longer
// remembered, or changing nothing.
func (j *Journey) revision(ev *lang.Event) *lang.Event {
	if !isSurveyAnswer(ev) {
		return nil
	}
	a := j.answer(ev.ID)
	if a == nil || a.Type != ev.Type {
		return nil
	}
	data := make(map[string]any, len(a.Data)+len(ev.Data))
	for k, v := range a.Data {
		data[k] = v
	}
	for k, v := range ev.Data {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	if sameJSON(data, a.Data) {
		return nil
	}
	rev := *ev
	rev.Data = data
	return &rev
}

// recordAnswer keeps the journey's record of a survey answer up to date.
func (j *Journey) recordAnswer(now time.Time, ev *lang.Event, revised bool) {
	if !isSurveyAnswer(ev) {
		return
	}
	if a := j.answer(ev.ID); a != nil {
		a.Data = ev.Data
		if revised {
			a.Revisions++
			a.RevisedAt = now.UTC()
		}
		return
	}
	j.Answers = append(j.Answers, SurveyAnswer{ID: ev.ID, Type: ev.Type, At: now.UTC(), Data: ev.Data})
	for len(j.Answers) > 1 && (len(j.Answers) > MaxSurveyAnswers || answersSize(j.Answers) > maxAnswerBytes) {
		j.Answers = j.Answers[1:]
	}
}

func answersSize(l []SurveyAnswer) int {
	n := 0
	for _, a := range l {
		n += lang.RecordSize(a.Data)
	}
	return n
}

// sameJSON compares two data maps as JSON, so that values restored from
// JSON (a float for an int) compare equal to the values they were.
func sameJSON(a, b map[string]any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
