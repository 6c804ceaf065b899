package activities

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	gomail "github.com/wneessen/go-mail"
)

// sendMessage sends an email or survey: the rendered subject and body to
// To and Cc.
func (a *Activities) sendMessage(ctx context.Context, act engine.Action) (Result, error) {
	m, err := a.customerMessage(act)
	if err != nil {
		return Result{}, err
	}
	return a.deliver(ctx, act, m)
}

// customerMessage builds an email or survey: its headers (Reply-To,
// X-Tend-Survey and List-Unsubscribe included), and its Markdown body as a
// text/plain part with a text/html alternative, followed by the survey's
// links and the unsubscribe footer.
func (a *Activities) customerMessage(act engine.Action) (*gomail.Msg, error) {
	to, err := addresses("to", []string{act.To})
	if err != nil {
		return nil, err
	}
	cc, err := addresses("cc", act.Cc)
	if err != nil {
		return nil, err
	}
	replyTo, err := addresses("reply_to", []string{act.ReplyTo})
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, permanent(ErrTypeInvalidAddress, "%s has no recipient: to is empty", act.Kind)
	}
	// A survey's links go where its template says (SurveyMarker), or
	// after the body; the rest of the body, a sign-off, follows them.
	src, rest := act.Body, ""
	isSurvey := act.Kind == lang.ActionSurvey && act.Survey != ""
	if isSurvey {
		src, rest = splitAtSurveyMarker(act.Body)
	}
	body, err := markdownBody(src)
	if err != nil {
		return nil, permanent(ErrTypeInvalidAction, "%s", err)
	}
	m := a.newMsg(act, to, cc, act.Subject)
	// A boundary of the key's own makes a resend, and a rewritten outbox
	// file, the same bytes. go-mail uses it for every multipart level, so
	// this holds only while the message has one: its alternatives.
	m.SetBoundary("tend-" + a.mailKey(act.Key))
	if len(replyTo) > 0 {
		m.ReplyToMailAddress(replyTo...)
	}
	if isSurvey {
		m.SetGenHeader("X-Tend-Survey", headerValue(act.Survey))
		l, err := a.surveyLinks(act)
		if err != nil {
			return nil, err
		}
		body.Text = strings.TrimRight(body.Text, "\n") + surveyText(act.Survey, l)
		body.HTML += surveyHTML(act.Survey, l)
		if strings.TrimSpace(rest) != "" {
			after, err := markdownBody(rest)
			if err != nil {
				return nil, permanent(ErrTypeInvalidAction, "%s", err)
			}
			body.Text += "\n" + after.Text
			body.HTML += after.HTML
		}
	}
	if act.Unsubscribe {
		link, err := a.listUnsubscribe(m, act)
		if err != nil {
			return nil, err
		}
		body.Text = strings.TrimRight(body.Text, "\n") + "\n" + unsubscribeText(link)
		body.HTML += unsubscribeHTML(link)
	}
	setBody(m, body)
	return m, nil
}

// sendNotice emails a task or escalation notice to one of the vendor's
// people.
func (a *Activities) sendNotice(ctx context.Context, act engine.Action, addr, field, subject, body string) (Result, error) {
	to, err := addresses(field, []string{addr})
	if err != nil {
		return Result{}, err
	}
	if len(to) == 0 {
		return Result{}, permanent(ErrTypeInvalidAddress, "%s has no recipient: %s is empty", act.Kind, field)
	}
	m := a.newMsg(act, to, nil, subject)
	setBody(m, mailBody{Text: body})
	return a.deliver(ctx, act, m)
}

// addresses parses each non-empty address, failing on the first invalid one.
func addresses(field string, in []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		addr, err := mail.ParseAddress(s)
		if err != nil {
			return nil, permanent(ErrTypeInvalidAddress, "invalid email address %q in %s: %s", s, field, lower(strings.TrimPrefix(err.Error(), "mail: ")))
		}
		out = append(out, addr)
	}
	return out, nil
}

// newMsg builds a message with the headers every tend email carries.
func (a *Activities) newMsg(act engine.Action, to, cc []*mail.Address, subject string) *gomail.Msg {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(a.from)
	m.ToMailAddress(to...)
	if len(cc) > 0 {
		m.CcMailAddress(cc...)
	}
	m.Subject(headerValue(subject))
	m.SetMessageIDWithValue(a.messageID(act.Key))
	m.SetDateWithValue(a.now())
	m.SetGenHeader("X-Tend-Key", a.mailKey(act.Key))
	m.SetUserAgent("tend")
	return m
}

// messageID is stable per action key and installation, so a retried
// send carries the same Message-ID and receivers can drop the duplicate,
// while another installation's mail never collides with it.
func (a *Activities) messageID(key string) string {
	return a.mailKey(key) + "@" + a.domain()
}

// headerValue keeps control characters (a newline in a customer id) out of
// a header.
func headerValue(s string) string { return engine.SingleLine(s) }

// deliver sends m over SMTP, or writes it to the outbox when no server is
// configured.
func (a *Activities) deliver(ctx context.Context, act engine.Action, m *gomail.Msg) (Result, error) {
	id := m.GetMessageID()
	if a.email == nil {
		res, err := a.writeOutbox(act.Key, ".eml", func(w io.Writer) error {
			_, err := m.WriteTo(w)
			return err
		})
		res.MessageID = id
		return res, err
	}
	if err := a.smtpSend(ctx, m); err != nil {
		return Result{}, outage(err, a.email.RetryFor, "email.retry_for")
	}
	return Result{Channel: "smtp", MessageID: id}, nil
}

// attemptMargin is how long before an attempt's deadline its SMTP
// transaction or HTTP call is cut off, for its error to reach Temporal in
// time.
const attemptMargin = 2 * time.Second

// smtpSend runs one SMTP transaction. go-mail dials, negotiates TLS and
// logs in; the envelope commands are issued here so that each failure
// names the sender or recipient it concerns and is classified by its code.
func (a *Activities) smtpSend(ctx context.Context, m *gomail.Msg) error {
	e := a.email
	host, portText, _ := net.SplitHostPort(e.Addr) // checked in New
	port, err := strconv.Atoi(portText)
	if err != nil {
		return permanent(ErrTypeInvalidAction, "smtp port %q is not a number", portText)
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(e.Timeout)}
	switch e.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if e.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(e.TLSConfig))
	}
	if e.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(e.Username), gomail.WithPassword(e.Password))
	}
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		// Connecting, TLS and login depend on the worker's configuration,
		// not on the message: retried, so that fixing the config resumes.
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	defer func() { _ = c.CloseWithSMTPClient(sc) }()
	// The transaction ends before the attempt's deadline: a mail server
	// that stops answering then gives an error that counts toward
	// retry_for, where an attempt timed out by Temporal counts nothing and
	// would be retried until the backstop.
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - attemptMargin; left < e.Timeout {
			if err := sc.UpdateDeadline(max(left, time.Millisecond)); err != nil {
				return fmt.Errorf("smtp %s: %w", e.Addr, err)
			}
		}
	}

	from, err := m.GetSender(false)
	if err != nil {
		return permanent(ErrTypeInvalidAddress, "invalid sender: %s", err)
	}
	rcpts, err := m.GetRecipients()
	if err != nil {
		return permanent(ErrTypeInvalidAddress, "invalid recipients: %s", err)
	}
	if err := sc.Mail(from); err != nil {
		_ = sc.Reset()
		return smtpError(err, "smtp rejected sender %s", strings.Trim(from, "<>"))
	}
	for _, rcpt := range rcpts {
		if err := sc.Rcpt(rcpt); err != nil {
			_ = sc.Reset()
			return smtpError(err, "smtp rejected recipient %s", strings.Trim(rcpt, "<>"))
		}
	}
	w, err := sc.Data()
	if err != nil {
		_ = sc.Reset()
		return smtpError(err, "smtp rejected the message")
	}
	if _, err := m.WriteTo(w); err != nil {
		_ = w.Close()
		return smtpError(err, "smtp: sending the message")
	}
	if err := w.Close(); err != nil {
		return smtpError(err, "smtp rejected the message")
	}
	return nil
}

func taskSubject(act engine.Action) string {
	s := "Task: " + act.Title
	if act.Due != nil {
		s += ", due " + act.Due.In(location(act)).Format("Mon 2 Jan")
	}
	return s
}

func taskBody(act engine.Action) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You have a new task: %s\n\n", act.Title)
	if act.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", act.Description)
	}
	noticeFooter(&b, act)
	return b.String()
}

func escalationSubject(act engine.Action) string {
	if act.Title != "" {
		return act.Title
	}
	return "Escalation: " + act.Reason
}

func escalationBody(act engine.Action) string {
	var b strings.Builder
	fmt.Fprintf(&b, "An account needs your attention: %s\n\n", act.Reason)
	noticeFooter(&b, act)
	return b.String()
}

// escalationText is an escalation's chat message. Everything in it that
// comes from data is escaped as Slack requires; the engine escaped the
// reason's interpolated values (Action.Chat).
func (a *Activities) escalationText(act engine.Action) string {
	s := "Escalation"
	if act.To != "" {
		s += " to " + a.mention(act.To)
	}
	reason := act.Chat
	if reason == "" {
		reason = engine.ChatValue(act.Reason) // an action from before Chat existed
	}
	s += ": " + reason + " (customer " + engine.ChatValue(act.Customer) + ", playbook " + act.Playbook + ", task " + engine.ChatValue(act.Key)
	if act.Due != nil {
		s += ", due " + act.Due.In(location(act)).Format("2006-01-02")
	}
	return s + ")"
}

// mention names a person in chat: <@id> when Options.Users has their chat
// id, their address otherwise.
func (a *Activities) mention(addr string) string {
	if p, err := mail.ParseAddress(addr); err == nil {
		if id := a.users[strings.ToLower(p.Address)]; id != "" {
			return "<@" + id + ">"
		}
	}
	return engine.ChatValue(engine.SingleLine(addr))
}

func noticeFooter(b *strings.Builder, act engine.Action) {
	fmt.Fprintf(b, "Customer: %s\nPlaybook: %s (step %s)\n", act.Customer, act.Playbook, act.Step)
	if act.Due != nil {
		fmt.Fprintf(b, "Due: %s\n", formatTime(*act.Due, location(act)))
	}
	fmt.Fprintf(b, "Task: %s\n\nWhen it is done: tend tasks complete %s\n", act.Key, act.Key)
}
