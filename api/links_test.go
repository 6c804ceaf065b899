package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/workflows"
)

func testSigner(t *testing.T) *links.Signer {
	t.Helper()
	s, err := links.New(testLinks)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// follow requests a link of the worker's mail from the test API.
func follow(t *testing.T, method, link, form string) response {
	t.Helper()
	path, ok := strings.CutPrefix(link, testLinks.BaseURL)
	if !ok {
		t.Fatalf("link %s is not under %s", link, testLinks.BaseURL)
	}
	var body []byte
	header := map[string]string{}
	if form != "" {
		body, header["Content-Type"] = []byte(form), "application/x-www-form-urlencoded"
	}
	return request(t, env.url, method, path, body, header)
}

// handled waits until the customer's journey has handled n events
// (applied, duplicate, revised or rejected) and returns it.
func handled(t *testing.T, id string, n int) *control.Customer {
	t.Helper()
	var c *control.Customer
	waitFor(t, fmt.Sprintf("%d events handled by %s", n, id), 60*time.Second, func() (bool, string) {
		var ok bool
		c, ok = getCustomer(t, id)
		if !ok {
			return false, "404"
		}
		s := c.Stats
		return s.Applied+s.Duplicates+s.Revised+s.Rejected >= n, fmt.Sprintf("%+v", s)
	})
	return c
}

func runExists(t *testing.T, id string) bool {
	t.Helper()
	res := get(t, "/v1/runs/"+url.PathEscape(id))
	switch res.status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("GET run %s: %s", id, res)
	return false
}

// A survey link, followed, records exactly one nps.responded on the
// journey: following it again changes nothing, another score's link
// revises the answer without counting it again or starting another play,
// and the comment form adds a comment. A tampered link is a 403 and
// records nothing.
func TestSurveyLink(t *testing.T) {
	start(t)
	c := customer("survey")
	accepted(t, mustJSON(t, ev{"id": c + "-profile", "type": "customer.updated", "customer": c, "attributes": ev{
		"name": "Survey Co", "segment": "smb", "stage": "adoption", "health": 85, "csm": "jo@vendor.example",
		"contact_email": "it@" + c + ".example"}}))
	handled(t, c, 1)

	signer := testSigner(t)
	run := "run/quarterly-check-in/" + c + "/1"
	scores, err := signer.Survey(c, run, "nps-pulse", 1, "nps")
	if err != nil || len(scores) != 11 {
		t.Fatalf("links: %d, %v", len(scores), err)
	}
	answer := func(cu *control.Customer) (engine.SurveyAnswer, bool) {
		if len(cu.Answers) != 1 {
			return engine.SurveyAnswer{}, false
		}
		return cu.Answers[0], true
	}

	// The first answer: a 9.
	res := follow(t, http.MethodGet, scores[9].URL, "")
	if res.status != http.StatusOK || !contains(string(res.body), "Thank you") || !contains(string(res.body), `name="comment"`) ||
		res.header.Get("Referrer-Policy") != "no-referrer" || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("survey link: %s %v", res, res.header)
	}
	cu := handled(t, c, 2)
	a, ok := answer(cu)
	wantID := engine.SurveyEventID(run, "nps-pulse", 1)
	if cu.Stats.Applied != 2 || !ok || a.ID != wantID || a.Type != "nps.responded" || a.Data["score"] != float64(9) {
		t.Fatalf("after the first answer: stats %+v, answers %+v", cu.Stats, cu.Answers)
	}
	promoter := "run/nps-promoter-advocacy/" + c + "/1"
	waitFor(t, "the promoter play", 30*time.Second, func() (bool, string) { return runExists(t, promoter), "no " + promoter })

	// The same link again: one answer still.
	if res := follow(t, http.MethodGet, scores[9].URL, ""); res.status != http.StatusOK {
		t.Fatalf("again: %s", res)
	}
	cu = handled(t, c, 3)
	if a, _ := answer(cu); cu.Stats.Applied != 2 || cu.Stats.Duplicates != 1 || a.Revisions != 0 {
		t.Errorf("after the same link again: stats %+v, answers %+v", cu.Stats, cu.Answers)
	}

	// Another score: the answer is revised, not counted again.
	if res := follow(t, http.MethodGet, scores[3].URL, ""); res.status != http.StatusOK || !contains(string(res.body), "<strong>3</strong>") {
		t.Fatalf("another score: %s", res)
	}
	cu = handled(t, c, 4)
	a, _ = answer(cu)
	if cu.Stats.Applied != 2 || cu.Stats.Revised != 1 || a.Data["score"] != float64(3) || a.Revisions != 1 || a.ID != wantID {
		t.Errorf("after another score: stats %+v, answers %+v", cu.Stats, cu.Answers)
	}
	for _, id := range []string{"run/nps-detractor-recovery/" + c + "/1", "run/nps-promoter-advocacy/" + c + "/2"} {
		if runExists(t, id) {
			t.Errorf("the revised answer started %s", id)
		}
	}

	// The comment form.
	res = follow(t, http.MethodPost, scores[3].URL, "comment="+url.QueryEscape("Support was slow\r\nthis month"))
	if res.status != http.StatusOK || !contains(string(res.body), "We have your comment") {
		t.Fatalf("comment: %s", res)
	}
	cu = handled(t, c, 5)
	a, _ = answer(cu)
	if cu.Stats.Applied != 2 || cu.Stats.Revised != 2 || a.Data["score"] != float64(3) || a.Data["comment"] != "Support was slow\nthis month" {
		t.Errorf("after the comment: stats %+v, answers %+v", cu.Stats, cu.Answers)
	}

	// Tampered links: 403, nothing recorded.
	tok := strings.TrimPrefix(scores[3].URL, testLinks.BaseURL+links.SurveyPath)
	payload, sig, _ := strings.Cut(tok, ".")
	other := strings.TrimPrefix(scores[10].URL, testLinks.BaseURL+links.SurveyPath)
	otherPayload, _, _ := strings.Cut(other, ".")
	for name, path := range map[string]string{
		"another score's payload":    links.SurveyPath + otherPayload + "." + sig,
		"a changed signature":        links.SurveyPath + payload + "." + flipFirst(sig),
		"cut short":                  links.SurveyPath + tok[:len(tok)/2],
		"an unsubscribe token":       links.SurveyPath + strings.TrimPrefix(signer.Unsubscribe(c, run, "nps-pulse", 1), testLinks.BaseURL+links.UnsubscribePath),
		"a survey token to opt out":  links.UnsubscribePath + tok,
		"a survey link from another": links.SurveyPath + mustToken(t, "https://staging.vendor.example", c, run),
	} {
		res := request(t, env.url, http.MethodGet, path, nil, nil)
		if res.status != http.StatusForbidden || !contains(string(res.body), "This link is not valid") {
			t.Errorf("%s: %s, want 403 with the invalid-link page", name, res)
		}
	}
	// A marker event: once it is handled, anything sent before it is too.
	accepted(t, mustJSON(t, ev{"id": c + "-marker", "type": "customer.updated", "customer": c, "attributes": ev{"health": 84}}))
	cu = handled(t, c, 6)
	a, _ = answer(cu)
	if cu.Stats.Applied != 3 || cu.Stats.Revised != 2 || cu.Stats.Duplicates != 1 || a.Data["score"] != float64(3) || cu.Attributes["email_opt_out"] != nil {
		t.Errorf("tampered links recorded something: stats %+v, answers %+v, attributes %v", cu.Stats, cu.Answers, cu.Attributes)
	}
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func mustToken(t *testing.T, base, c, run string) string {
	t.Helper()
	s, err := links.New(links.Config{BaseURL: base, Secret: testLinks.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return s.Token(links.Target{Kind: links.KindSurvey, Customer: c, Run: run, Step: "nps-pulse", Occurrence: 1, Survey: "nps", Score: 0})
}

// An unsubscribe link in a browser asks first: its GET, which mail
// gateways fetch on their own, records nothing; the page's button and a
// mail client's one-click POST (RFC 8058) set email_opt_out, once. A later
// email marked unsubscribe (the tech-touch series) is skipped with the
// reason.
func TestUnsubscribeLink(t *testing.T) {
	start(t)
	c := customer("optout")
	accepted(t, mustJSON(t, ev{"id": c + "-profile", "type": "customer.updated", "customer": c, "attributes": ev{
		"name": "Optout Co", "segment": "smb", "seats": 5, "manager": "max@vendor.example", "contact_email": "it@" + c + ".example"}}))
	handled(t, c, 1)
	signer := testSigner(t)
	link := signer.Unsubscribe(c, "run/adoption-nudge/"+c+"/1", "tips", 1)
	path := strings.TrimPrefix(link, testLinks.BaseURL)

	res := follow(t, http.MethodGet, link, "")
	if res.status != http.StatusOK || !contains(string(res.body), "Unsubscribe from these emails?") ||
		!contains(string(res.body), `<form method="post" action="`+path+`"><button type="submit">Unsubscribe</button></form>`) {
		t.Fatalf("GET unsubscribe: %s", res)
	}
	// Events of one sender reach the journey in order: once the marker
	// sent after the GET is applied, an opt-out the GET recorded would be.
	accepted(t, mustJSON(t, ev{"id": c + "-marker", "type": "customer.updated", "customer": c, "attributes": ev{"seats": 6}}))
	cu := handled(t, c, 2)
	if cu.Attributes["email_opt_out"] == true || cu.Stats.Applied != 2 {
		t.Fatalf("a GET unsubscribed: attributes %v, stats %+v", cu.Attributes, cu.Stats)
	}

	if res := follow(t, http.MethodPost, link, ""); res.status != http.StatusOK || !contains(string(res.body), "You are unsubscribed") {
		t.Fatalf("the page's button: %s", res)
	}
	if res := follow(t, http.MethodPost, link, "List-Unsubscribe=One-Click"); res.status != http.StatusOK {
		t.Fatalf("one-click POST: %s", res)
	}
	cu = handled(t, c, 4)
	if cu.Attributes["email_opt_out"] != true || cu.Stats.Applied != 3 || cu.Stats.Duplicates != 1 {
		t.Fatalf("after unsubscribing: attributes %v, stats %+v", cu.Attributes, cu.Stats)
	}

	accepted(t, mustJSON(t, ev{"id": c + "-signed", "type": "contract.signed", "customer": c, "data": ev{"plan": "starter", "arr": 1200}}))
	run := "run/smb-tech-touch-onboarding/" + c + "/1"
	var view workflows.RunView
	waitFor(t, "the welcome email skipped", 60*time.Second, func() (bool, string) {
		res := get(t, "/v1/runs/"+url.PathEscape(run))
		if res.status != http.StatusOK {
			return false, res.String()
		}
		if err := json.Unmarshal(res.body, &view); err != nil {
			t.Fatal(err)
		}
		for _, r := range view.Timeline {
			if r.Step == "welcome" {
				return true, ""
			}
		}
		return false, fmt.Sprint(view.Timeline)
	})
	for _, r := range view.Timeline {
		if r.Step == "welcome" && (r.Kind != "step.skipped" || r.Reason != engine.OptedOutReason) {
			t.Errorf("welcome: %s %q, want step.skipped: %s", r.Kind, r.Reason, engine.OptedOutReason)
		}
	}
}
