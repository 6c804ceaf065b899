package activities

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/links"
)

var (
	surveyURL = regexp.MustCompile(`https://tend\.vendor\.example/survey/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	hrefRe    = regexp.MustCompile(`<a href="(https://tend\.vendor\.example/survey/[^"]+)"[^>]*>(\d+)</a>`)
)

// A survey reaches a real SMTP server with a signed link for every score,
// as a list in the text part and as buttons in the HTML part; mail marked
// unsubscribe carries the one-click List-Unsubscribe headers and a footer
// with the same link in both parts.
func TestSurveyLinksSMTP(t *testing.T) {
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	signer, err := links.New(testLinks)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind        string
		scores      []int
		unsubscribe bool
	}{
		{"nps", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true},
		{"csat", []int{1, 2, 3, 4, 5}, false},
	}
	for i, tt := range tests {
		act := actions()["survey"]
		act.Survey, act.Unsubscribe = tt.kind, tt.unsubscribe
		if _, err := a.Survey(context.Background(), act); err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		msgs := srv.messages()
		if len(msgs) != i+1 {
			t.Fatalf("server holds %d messages, want %d", len(msgs), i+1)
		}
		pm := parseMail(t, msgs[i].data)
		text, ok1 := pm.part("text/plain", "")
		html, ok2 := pm.part("text/html", "")
		if !ok1 || !ok2 || text.params["charset"] != "UTF-8" {
			t.Fatalf("%s: want a text/plain; charset=UTF-8 and a text/html part, got %+v", tt.kind, pm.parts)
		}
		if !strings.HasPrefix(unCRLF(text.body), act.Body) || !strings.Contains(html.body, "From 0 to 10?") {
			t.Errorf("%s: the parts lost the body:\n%s\n%s", tt.kind, text.body, html.body)
		}
		check := func(part string, urls []string) {
			if len(urls) != len(tt.scores) {
				t.Fatalf("%s %s part: %d links, want %d:\n%s", tt.kind, part, len(urls), len(tt.scores), urls)
			}
			for j, u := range urls {
				got, err := signer.Verify(strings.TrimPrefix(u, testLinks.BaseURL+links.SurveyPath))
				want := links.Target{Kind: links.KindSurvey, Customer: "acme", Run: act.Run, Step: act.Step, Occurrence: 1, Survey: tt.kind, Score: tt.scores[j]}
				if err != nil || got != want {
					t.Errorf("%s %s link %d: %+v, %v; want %+v", tt.kind, part, j, got, err, want)
				}
			}
		}
		check("text", surveyURL.FindAllString(text.body, -1))
		var hrefs, labels []string
		for _, m := range hrefRe.FindAllStringSubmatch(html.body, -1) {
			hrefs, labels = append(hrefs, m[1]), append(labels, m[2])
		}
		check("html", hrefs)
		for j, l := range labels {
			if l != strconv.Itoa(tt.scores[j]) {
				t.Errorf("%s: button %d reads %s, want %d", tt.kind, j, l, tt.scores[j])
			}
		}

		lu, lup := pm.header.Get("List-Unsubscribe"), pm.header.Get("List-Unsubscribe-Post")
		if !tt.unsubscribe {
			if lu != "" || lup != "" || strings.Contains(text.body, "Unsubscribe") || strings.Contains(html.body, "Unsubscribe") {
				t.Errorf("%s: not marked, but List-Unsubscribe %q, %q, or a footer:\n%s", tt.kind, lu, lup, text.body)
			}
			continue
		}
		tok, ok := strings.CutPrefix(lu, "<"+testLinks.BaseURL+links.UnsubscribePath)
		tok, ok3 := strings.CutSuffix(tok, ">")
		if !ok || !ok3 || lup != "List-Unsubscribe=One-Click" {
			t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, lup)
		}
		if got, err := signer.Verify(tok); err != nil || got.Kind != links.KindUnsubscribe || got.Customer != "acme" || got.Run != act.Run {
			t.Errorf("unsubscribe link: %+v, %v", got, err)
		}
		checkUnsubscribeFooter(t, tt.kind, text.body, html.body, strings.Trim(lu, "<>"))
	}

	// A plain email marked unsubscribe gets the headers, and no HTML part
	// from here.
	email := actions()["email"]
	email.Unsubscribe = true
	if _, err := a.Email(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages()
	pm := parseMail(t, msgs[len(msgs)-1].data)
	if pm.header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(pm.header.Get("List-Unsubscribe"), "<https://tend.vendor.example/unsubscribe/") {
		t.Errorf("email headers %v", pm.header)
	}
	text, _ := pm.part("text/plain", "")
	html, _ := pm.part("text/html", "")
	checkUnsubscribeFooter(t, "email", text.body, html.body, strings.Trim(pm.header.Get("List-Unsubscribe"), "<>"))
}

// checkUnsubscribeFooter checks that marked mail ends, in both parts,
// with why it came and the unsubscribe link of its List-Unsubscribe.
func checkUnsubscribeFooter(t *testing.T, what, text, html, link string) {
	t.Helper()
	wantText := "\n\nYou get these emails as part of our automated updates for your account.\nUnsubscribe: " + link + "\n"
	if !strings.HasSuffix(unCRLF(text), wantText) {
		t.Errorf("%s: the text part does not end with %q:\n%s", what, wantText, text)
	}
	wantHTML := `You get these emails as part of our automated updates for your account. <a href="` + link + `" style="color:#52606d">Unsubscribe</a></p>`
	if !strings.Contains(unCRLF(html), wantHTML) {
		t.Errorf("%s: the HTML part has no %q:\n%s", what, wantHTML, html)
	}
}

// Without links configured, a survey or marked mail fails for good and
// says what to configure; nothing is sent.
func TestSurveyWithoutLinks(t *testing.T) {
	srv := startSMTP(t)
	a, err := New(Options{Outbox: t.TempDir(), Email: smtpOptions(srv.addr), Now: fixedNow}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	email := actions()["email"]
	email.Unsubscribe = true
	for _, act := range []struct {
		run  func() (Result, error)
		what string
	}{
		{func() (Result, error) { return a.Survey(context.Background(), actions()["survey"]) }, "survey enterprise-onboarding/acme/1/nps/1 cannot carry answer links"},
		{func() (Result, error) { return a.Email(context.Background(), email) }, "email enterprise-onboarding/acme/1/welcome/1 is marked unsubscribe"},
	} {
		_, err := act.run()
		retryable, typ := classify(err)
		if err == nil || retryable || typ != ErrTypeInvalidAction || !strings.Contains(err.Error(), act.what) || !strings.Contains(err.Error(), "add a links: section") {
			t.Errorf("error %v (retryable %v, %s), want a permanent %s naming links:", err, retryable, typ, act.what)
		}
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
	if _, err := New(Options{Outbox: t.TempDir(), Links: &links.Config{BaseURL: "tend.example", Secret: "0123456789abcdef"}}, zerolog.New(zerolog.NewTestWriter(t))); err == nil || !strings.Contains(err.Error(), "links: base_url") {
		t.Errorf("bad links config: %v", err)
	}
}

// A survey template's "<!-- survey -->" line places the score links: the
// sign-off after it follows them, in both parts, and the marker shows
// nowhere. Without a marker the links close the body; in a plain email
// the marker is just left out.
func TestSurveyMarker(t *testing.T) {
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	const signOff = "Thank you,\\\nThe Customer Success team\n"
	tests := []struct {
		name, kind, body string
		unsubscribe      bool
		text             []string // in this order in the text part
		html             []string // in this order in the HTML part
	}{
		{"marker before the sign-off", "survey", "One question.\n\n<!-- survey -->\n\n" + signOff, true,
			[]string{"One question.\n\nYour answer, from 0", "10  https://", "on the page that opens.\n\nThank you,\nThe Customer Success team\n\nYou get these emails"},
			[]string{"<p>One question.</p>", ">10</a>", "<p>Thank you,<br>\nThe Customer Success team</p>", ">Unsubscribe</a>"}},
		{"no marker: the links last", "survey", "One question.\n\n" + signOff, false,
			[]string{"One question.\n\nThank you,\nThe Customer Success team\n\nYour answer, from 0"},
			[]string{"The Customer Success team</p>", ">10</a>"}},
		{"a marker in an email", "email", "Hello.\n\n<!-- survey -->\n\nBye.\n", false,
			[]string{"Hello.\n\nBye.\n"}, []string{"<p>Hello.</p>", "<p>Bye.</p>"}},
	}
	for i, tt := range tests {
		act := actions()[tt.kind]
		act.Body, act.Unsubscribe = tt.body, tt.unsubscribe
		var err error
		if tt.kind == "survey" {
			_, err = a.Survey(context.Background(), act)
		} else {
			_, err = a.Email(context.Background(), act)
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		pm := parseMail(t, srv.messages()[i].data)
		text, _ := pm.part("text/plain", "")
		html, _ := pm.part("text/html", "")
		for _, part := range []struct {
			name, body string
			want       []string
		}{{"text", unCRLF(text.body), tt.text}, {"html", unCRLF(html.body), tt.html}} {
			if strings.Contains(part.body, "survey -->") || strings.Contains(part.body, "raw HTML") && part.name == "text" {
				t.Errorf("%s: the marker shows in the %s part:\n%s", tt.name, part.name, part.body)
			}
			rest := part.body
			for _, w := range part.want {
				j := strings.Index(rest, w)
				if j < 0 {
					t.Errorf("%s: %s part: no %q after what came before, in:\n%s", tt.name, part.name, w, part.body)
					break
				}
				rest = rest[j+len(w):]
			}
		}
	}
}
