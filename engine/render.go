package engine

import (
	"fmt"
	"strings"

	"github.com/tend-cs/tend/engine/lang"
)

// render fills an action's fields from a step's texts and expressions for
// one scope, escaping interpolated values for where each field goes. The
// first expression that fails is kept in err, naming the field: the step
// then fails instead of sending a message with a hole.
type render struct {
	r   *Run
	sc  *lang.Scope
	err error
}

func (p *render) fail(field string, err error) {
	if p.err != nil {
		return
	}
	// expr's message draws the expression under a caret on more lines; the
	// record has a line of its own, which names the expression already.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	p.err = fmt.Errorf("%s: %s", field, msg)
}

func (p *render) text(t *lang.Text, field string, esc func(string) string) string {
	s, err := t.Interpolate(&p.r.vm, p.sc, esc)
	if err != nil {
		p.fail(field, err)
	}
	return s
}

// line renders a single-line field (a subject, a title, a reason): control
// characters go, from the text and from its values.
func (p *render) line(t *lang.Text, field string) string {
	return SingleLine(p.text(t, field, nil))
}

// markdown renders a message body: values are escaped so that Markdown
// shows them as they are.
func (p *render) markdown(t *lang.Text, field string) string {
	return p.text(t, field, MarkdownValue)
}

// chat renders chat text: values are escaped as Slack requires, the
// text's own markup (a <@U123> mention) is kept.
func (p *render) chat(t *lang.Text, field string) string {
	return p.text(t, field, ChatValue)
}

// plain renders a multi-line text that is neither Markdown nor chat (a
// webhook field, a task description).
func (p *render) plain(t *lang.Text, field string) string {
	return p.text(t, field, stripControls)
}

// expr evaluates an address or a name: a single line.
func (p *render) expr(x *lang.Expr, field string) string {
	v, err := x.Eval(&p.r.vm, p.sc)
	if err != nil {
		p.fail(field, err)
	}
	return SingleLine(lang.Format(v))
}

// SingleLine makes s fit a single-line field such as a subject, a title or
// a header: tabs and line breaks (CR LF counts as one) become spaces, and
// other C0 control characters and DEL are dropped.
func SingleLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
}

// stripControls drops C0 control characters and DEL from a multi-line
// value, keeping tabs and line feeds.
func stripControls(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r != '\t' && r != '\n' && isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ChatValue escapes an interpolated value for Slack-compatible chat text:
// & < and > as &amp; &lt; and &gt;, so a customer named "<!channel>"
// notifies nobody. Control characters other than tabs and line feeds go.
func ChatValue(s string) string {
	return chatEscaper.Replace(stripControls(s))
}

var chatEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// MarkdownValue escapes an interpolated value for a Markdown body, so that
// it reads as it is in the HTML and the text part: a backslash before
// every character that Markdown gives a meaning inside a line (emphasis,
// links, code, raw HTML, entities), and before those that start a block
// (a heading, a list, a quote) at the start of a line. Control characters
// other than tabs and line feeds go.
func MarkdownValue(s string) string {
	s = stripControls(s)
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("\\`*_[]<>&!~|", c) >= 0:
			b.WriteByte('\\')
		case lineStart && strings.IndexByte("#+-=>", c) >= 0:
			b.WriteByte('\\')
		case lineStart && c >= '0' && c <= '9':
			// "1. " or "1) " at the start of a line opens a list.
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString(s[i:j])
			if j < len(s) && (s[j] == '.' || s[j] == ')') {
				b.WriteByte('\\')
			}
			i = j - 1
			lineStart = false
			continue
		}
		b.WriteByte(c)
		switch c {
		case '\n':
			lineStart = true
		case ' ', '\t':
			// Indentation keeps a line's start.
		default:
			lineStart = false
		}
	}
	return b.String()
}
