package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
)

// The link endpoints answer the people who follow the links of customer
// mail (package links): pages, not JSON, and no credential but the link's
// own signed token.
//
//	GET  /survey/{token}       record the link's score; a thank-you page with a comment form
//	POST /survey/{token}       the form: record the score with comment=...
//	GET  /unsubscribe/{token}  a page asking to confirm, with a button that POSTs
//	POST /unsubscribe/{token}  record email_opt_out: true: the button, or a mail
//	                           client's one-click unsubscribe (RFC 8058)
//
// An unsubscribe GET records nothing, because mail gateways and link
// scanners fetch the links of incoming mail before anyone reads it; a
// survey GET records its score, as the survey's buttons are links. A
// token that does not verify is a 403 page saying the link is invalid,
// and records nothing. HEAD shows the page and records nothing.

// MaxCommentLength is the most characters of a survey comment kept.
const MaxCommentLength = 2000

// maxFormBytes bounds the body of a link endpoint's POST.
const maxFormBytes = 64 << 10

func (s *Server) routeLinks(mux *http.ServeMux) {
	if s.links == nil {
		return
	}
	mux.HandleFunc("GET "+links.SurveyPath+"{token}", s.survey)
	mux.HandleFunc("POST "+links.SurveyPath+"{token}", s.survey)
	mux.HandleFunc("GET "+links.UnsubscribePath+"{token}", s.unsubscribe)
	mux.HandleFunc("POST "+links.UnsubscribePath+"{token}", s.unsubscribe)
}

// page is what a link's page says.
type page struct {
	Title   string
	Message string
	// A survey's answer and the comment form, when the schema takes one.
	Score, Low, High int
	Action           string
	Comment          bool
	Commented        bool
	// Confirm is where an unsubscribe page's button posts to.
	Confirm string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font:16px/1.5 Arial,sans-serif;color:#1f2933;max-width:34em;margin:3em auto;padding:0 1em}
textarea{width:100%;box-sizing:border-box;font:inherit}button{font:inherit;padding:.4em 1.2em;margin-top:.5em}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{- if .Action}}
<p>Your answer: <strong>{{.Score}}</strong> on a scale from {{.Low}} to {{.High}}. Picked the wrong one? Open the link of another score in the email.</p>
{{- if .Commented}}
<p>We have your comment. Thank you for taking the time.</p>
{{- else if .Comment}}
<form method="post" action="{{.Action}}">
<p><label for="comment">Anything you would like to add? (optional)</label></p>
<textarea id="comment" name="comment" rows="5" maxlength="2000"></textarea>
<button type="submit">Send comment</button>
</form>
{{- end}}
{{- end}}
{{- if .Confirm}}
<form method="post" action="{{.Confirm}}"><button type="submit">Unsubscribe</button></form>
{{- end}}
</body></html>
`))

func writePage(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	// The token is in the URL: it must not leave in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

var (
	invalidPage = page{Title: "This link is not valid",
		Message: "The link may have been cut short or changed on its way. Open it again from the email, or copy the whole link into your browser."}
	unavailablePage = page{Title: "Please try again",
		Message: "We could not record your answer just now. Open the link again in a minute."}
)

// verifyLink checks the request's token; on failure it answers and
// returns false.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request, kind string) (links.Target, bool) {
	infoOf(r).cred = "link"
	t, err := s.links.Verify(r.PathValue("token"))
	if err != nil || t.Kind != kind {
		writePage(w, http.StatusForbidden, invalidPage)
		return links.Target{}, false
	}
	return t, true
}

// survey is GET and POST /survey/{token}.
func (s *Server) survey(w http.ResponseWriter, r *http.Request) {
	t, ok := s.verifyLink(w, r, links.KindSurvey)
	if !ok {
		return
	}
	set := s.opts.Set()
	if set == nil {
		writePage(w, http.StatusServiceUnavailable, unavailablePage)
		return
	}
	lo, hi, _ := lang.SurveyScale(t.Survey)
	p := page{Title: "Thank you!", Message: "Your answer is recorded.", Score: t.Score, Low: lo, High: hi, Action: r.URL.EscapedPath()}
	if msg := set.Schema.SurveyProblem(t.Survey); msg != "" {
		// The schema changed since the survey was sent.
		s.log.Warn().Str("survey", t.Survey).Str("customer", t.Customer).Str("reason", msg).Msg("survey answer not recorded")
		writePage(w, http.StatusInternalServerError, page{Title: "Sorry", Message: "This survey can no longer be answered. Thank you all the same."})
		return
	}
	et := set.Schema.Event(lang.SurveyResponse(t.Survey))
	p.Comment = et.Field(lang.SurveyCommentField) != nil
	data := map[string]any{lang.SurveyScoreField: t.Score}
	if r.Method == http.MethodPost {
		comment, ok := s.readComment(w, r)
		if !ok {
			return
		}
		if comment != "" && p.Comment {
			data[lang.SurveyCommentField] = comment
			p.Commented = true
		}
	}
	ev := engine.SurveyAnswerEvent(t.Customer, t.Run, t.Step, t.Occurrence, t.Survey, data, s.now().UTC())
	if !s.record(w, r, set, ev) {
		return
	}
	writePage(w, http.StatusOK, p)
}

// readComment reads the comment field of a survey's form: at most
// MaxCommentLength characters, without control characters but line breaks.
func (s *Server) readComment(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		status := http.StatusBadRequest
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		writePage(w, status, page{Title: "Your comment did not arrive", Message: "Please go back and send it again, a little shorter."})
		return "", false
	}
	c := strings.ToValidUTF8(r.PostForm.Get("comment"), "")
	c = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, strings.ReplaceAll(c, "\r\n", "\n"))
	c = strings.TrimSpace(c)
	if utf8.RuneCountInString(c) > MaxCommentLength {
		c = string([]rune(c)[:MaxCommentLength])
	}
	return c, true
}

// unsubscribe is GET and POST /unsubscribe/{token}: GET asks, POST records.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	t, ok := s.verifyLink(w, r, links.KindUnsubscribe)
	if !ok {
		return
	}
	if r.Method != http.MethodPost {
		writePage(w, http.StatusOK, page{Title: "Unsubscribe from these emails?",
			Message: "Press the button to stop receiving these emails from us. Messages you have asked for, and those your account team writes to you in person, still reach you.",
			Confirm: r.URL.EscapedPath()})
		return
	}
	// The form's body, or RFC 8058's List-Unsubscribe=One-Click, says
	// nothing more than the POST itself; it is not read.
	set := s.opts.Set()
	if set == nil {
		writePage(w, http.StatusServiceUnavailable, unavailablePage)
		return
	}
	ev := engine.OptOutEvent(t.Customer, t.Run, t.Step, t.Occurrence, s.now().UTC())
	if !s.record(w, r, set, ev) {
		return
	}
	writePage(w, http.StatusOK, page{Title: "You are unsubscribed",
		Message: "You will no longer receive these emails from us. Messages you have asked for, and those your account team writes to you in person, still reach you."})
}

// record hands a link's event to the customer's journey, except for a
// HEAD request; on failure it answers and returns false.
func (s *Server) record(w http.ResponseWriter, r *http.Request, set *lang.Set, ev *lang.Event) bool {
	if r.Method == http.MethodHead {
		return true
	}
	if err := set.Schema.Normalize(ev); err != nil {
		s.log.Warn().Str("customer", ev.Customer).Str("type", ev.Type).Str("error", err.Error()).Msg("link event not recorded")
		writePage(w, http.StatusInternalServerError, page{Title: "Sorry", Message: "We could not record this. Thank you all the same."})
		return false
	}
	if err := s.healthy(); err != nil {
		writePage(w, http.StatusServiceUnavailable, unavailablePage)
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), requestTimeout)
	defer cancel()
	if _, err := control.Send(ctx, s.opts.Client, []*lang.Event{ev}, control.SendOptions{}); err != nil {
		s.log.Warn().Str("customer", ev.Customer).Str("type", ev.Type).Str("error", err.Error()).Msg("link event not sent")
		writePage(w, http.StatusServiceUnavailable, unavailablePage)
		return false
	}
	return true
}
