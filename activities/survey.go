package activities

import (
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
	gomail "github.com/wneessen/go-mail"
)

// errNoLinks says how to give tend what signed links need.
const errNoLinks = "links are not configured: add a links: section with base_url and secret to tend.yaml (tend dev sets them itself)"

// surveyLinks are the links of every score of the survey act sends.
func (a *Activities) surveyLinks(act engine.Action) ([]links.ScoreLink, error) {
	if a.links == nil {
		return nil, permanent(ErrTypeInvalidAction, "survey %s cannot carry answer links: %s", act.Key, errNoLinks)
	}
	l, err := a.links.Survey(act.Customer, act.Run, act.Step, act.Occurrence, act.Survey)
	if err != nil {
		return nil, permanent(ErrTypeInvalidAction, "survey %s: %s", act.Key, err)
	}
	return l, nil
}

// surveyMarker matches the line "<!-- survey -->" of a survey template,
// where the survey's score links go, such as above its sign-off. An HTML
// comment, it shows in no mail: Markdown leaves raw HTML out of both parts.
var surveyMarker = regexp.MustCompile(`(?m)^[ \t]*<!--[ \t]*survey[ \t]*-->[ \t]*(?:\r?\n|$)`)

// splitAtSurveyMarker splits a survey's Markdown body at its first marker
// line: what goes before the links, and what goes after them ("" without
// a marker). Each half is rendered on its own, so the marker must stand
// between blocks, as a line of its own does.
func splitAtSurveyMarker(body string) (before, after string) {
	loc := surveyMarker.FindStringIndex(body)
	if loc == nil {
		return body, ""
	}
	return body[:loc[0]], body[loc[1]:]
}

// surveyWords are how each end of a survey's scale reads.
func surveyWords(kind string) (low, high string) {
	if kind == lang.SurveyCSAT {
		return "very dissatisfied", "very satisfied"
	}
	return "not at all likely", "extremely likely"
}

// surveyText is the plain-text block of a survey's links: one line per
// score, to append to the text body.
func surveyText(kind string, l []links.ScoreLink) string {
	if len(l) == 0 {
		return ""
	}
	low, high := surveyWords(kind)
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nYour answer, from %d (%s) to %d (%s). Open the link of your score:\n\n", l[0].Score, low, l[len(l)-1].Score, high)
	for _, s := range l {
		fmt.Fprintf(&b, "%2d  %s\n", s.Score, s.URL)
	}
	b.WriteString("\nYou can add a comment on the page that opens.\n")
	return b.String()
}

// surveyHTML is the HTML block of a survey's links: a row of score
// buttons with the scale's words beneath, styled inline as mail clients
// need, to append to the HTML body.
func surveyHTML(kind string, l []links.ScoreLink) string {
	if len(l) == 0 {
		return ""
	}
	low, high := surveyWords(kind)
	var b strings.Builder
	b.WriteString(`<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:16px 0 4px"><tr>`)
	for _, s := range l {
		fmt.Fprintf(&b, `<td style="padding:0 3px 0 0"><a href="%s" style="display:inline-block;min-width:30px;padding:9px 4px;border:1px solid #9aa5b1;border-radius:4px;background:#f5f7fa;color:#1f2933;font:bold 15px Arial,sans-serif;text-align:center;text-decoration:none">%d</a></td>`,
			html.EscapeString(s.URL), s.Score)
	}
	b.WriteString("</tr></table>\n")
	fmt.Fprintf(&b, `<table role="presentation" cellspacing="0" cellpadding="0" border="0" width="%d" style="margin:0 0 16px"><tr>`+
		`<td style="font:12px Arial,sans-serif;color:#52606d">%d: %s</td><td style="font:12px Arial,sans-serif;color:#52606d;text-align:right">%d: %s</td></tr></table>`+"\n",
		37*len(l), l[0].Score, html.EscapeString(low), l[len(l)-1].Score, html.EscapeString(high))
	b.WriteString(`<p style="font:12px Arial,sans-serif;color:#52606d">Pick a score to answer; you can add a comment on the page that opens.</p>` + "\n")
	return b.String()
}

// listUnsubscribe gives bulk mail (a step marked unsubscribe: true) its
// one-click unsubscribe link (RFC 2369, RFC 8058), and returns it.
func (a *Activities) listUnsubscribe(m *gomail.Msg, act engine.Action) (string, error) {
	if a.links == nil {
		return "", permanent(ErrTypeInvalidAction, "%s %s is marked unsubscribe but cannot carry the link: %s", act.Kind, act.Key, errNoLinks)
	}
	link := a.links.Unsubscribe(act.Customer, act.Run, act.Step, act.Occurrence)
	m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribe, "<"+link+">")
	m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	return link, nil
}

// unsubscribeWhy says, at the foot of bulk mail, why it came. A playbook's
// description is written for the people who run it, not for customers, so
// the words are the same for every playbook.
const unsubscribeWhy = "You get these emails as part of our automated updates for your account."

// unsubscribeText is the plain-text footer of bulk mail: why it came, and
// the link that opts out (the page it opens asks to confirm).
func unsubscribeText(link string) string {
	return "\n" + unsubscribeWhy + "\nUnsubscribe: " + link + "\n"
}

// unsubscribeHTML is the footer of the HTML part.
func unsubscribeHTML(link string) string {
	return `<hr style="border:0;border-top:1px solid #d9dee3;margin:24px 0 8px">` + "\n" +
		`<p style="font:12px Arial,sans-serif;color:#52606d">` + html.EscapeString(unsubscribeWhy) +
		` <a href="` + html.EscapeString(link) + `" style="color:#52606d">Unsubscribe</a></p>` + "\n"
}
