package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/links"
	"go.temporal.io/sdk/temporal"
)

// clock is the fixed time of every test.
var clock = time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return clock }

// smtpServer is a real SMTP server on 127.0.0.1 that records what it
// accepts and refuses the recipients in reject with the given error.
type smtpServer struct {
	addr string

	mu     sync.Mutex
	msgs   []received
	reject map[string]*smtp.SMTPError
	once   map[string]bool // reject only the next RCPT of these
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	srv := &smtpServer{reject: map[string]*smtp.SMTPError{}, once: map[string]bool{}}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

func (s *smtpServer) rejectRcpt(addr string, code int, enhanced smtp.EnhancedCode, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[addr] = &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// rejectRcptOnce refuses the next RCPT of addr only.
func (s *smtpServer) rejectRcptOnce(addr string, code int, enhanced smtp.EnhancedCode, msg string) {
	s.rejectRcpt(addr, code, enhanced, msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.once[addr] = true
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type smtpSession struct {
	srv  *smtpServer
	from string
	to   []string
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if e := s.srv.reject[to]; e != nil {
		if s.srv.once[to] {
			delete(s.srv.reject, to)
			delete(s.srv.once, to)
		}
		return e
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.msgs = append(s.srv.msgs, received{from: s.from, to: s.to, data: data})
	return nil
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// testLinks is the links configuration of the tests.
var testLinks = links.Config{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}

// newActivities returns activities with opts, and testLinks unless opts
// has links.
func newActivities(t *testing.T, opts Options) *Activities {
	t.Helper()
	if opts.Links == nil {
		opts.Links = &testLinks
	}
	if opts.Outbox == "" {
		opts.Outbox = t.TempDir()
	}
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	if opts.InstallationID == "" {
		opts.InstallationID = testInstallation
	}
	a, err := New(opts, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// testInstallation is the installation id of the tests' activities.
const testInstallation = "0123456789abcdef0123456789abcdef"

// mk is the mail key of an action key on the test installation.
func mk(key string) string { return engine.MailKey(testInstallation, key) }

func smtpOptions(addr string) *EmailOptions {
	return &EmailOptions{Addr: addr, From: "Customer Success <cs@vendor.example>", TLS: "none", Timeout: 10 * time.Second}
}

// actions are one action of each kind, as the engine builds them.
func actions() map[string]engine.Action {
	start := time.Date(2026, 1, 7, 15, 0, 0, 0, time.UTC)
	due := time.Date(2026, 1, 8, 14, 0, 0, 0, time.UTC)
	base := func(kind, step string) engine.Action {
		return engine.Action{
			Kind: kind, Run: "run/enterprise-onboarding/acme/1", Playbook: "enterprise-onboarding",
			Version: "v1", Customer: "acme", Step: step, Occurrence: 1,
			Key: "enterprise-onboarding/acme/1/" + step + "/1", Owner: "Jo CSM <jo@vendor.example>",
			Timezone: "America/New_York", Summary: kind + " " + step,
		}
	}
	email := base("email", "welcome")
	email.To, email.Cc = "it@acme.example", []string{"cto@acme.example"}
	email.Template, email.Subject, email.Title = "welcome-enterprise", "Welcome to Tend, Acme", "Welcome to Tend, Acme"
	email.Body = "Hello **Acme**,\n\nwelcome aboard. Your CSM is Jo.\n"
	survey := base("survey", "nps")
	survey.To, survey.Survey, survey.Subject, survey.Body = "it@acme.example", "nps", "How are we doing?", "From 0 to 10?\n"
	call := base("call", "kickoff")
	call.Title, call.Start, call.Duration, call.Due = "Kickoff with Acme", &start, 45*time.Minute, &due
	call.Attendees = []string{"it@acme.example", "Ann Admin <ann@acme.example>"}
	call.Description = "Agenda: goals, rollout, success criteria."
	training := base("training", "admin-training")
	training.Title, training.Start, training.Due, training.Topic = "Admin training", &start, &due, "SSO and roles"
	task := base("task", "check-in")
	task.Title, task.Description, task.Due = "Check in with Acme", "Ask about the rollout.", &due
	escalate := base("escalate", "kickoff-overdue")
	escalate.To, escalate.Owner = "max@vendor.example", "max@vendor.example"
	escalate.Reason, escalate.Title, escalate.Due = "Kickoff with Acme not held", "Escalation: Kickoff with Acme not held", &due
	notify := base("notify", "tell-sales")
	notify.Text, notify.Title = "Acme signed: 120 seats", "Acme signed: 120 seats"
	webhook := base("webhook", "crm-sync")
	webhook.Endpoint, webhook.To = "crm", "crm"
	webhook.Fields = map[string]string{"stage": "onboarding", "note": "kickoff booked"}
	return map[string]engine.Action{
		"email": email, "survey": survey, "call": call, "training": training,
		"task": task, "escalate": escalate, "notify": notify, "webhook": webhook,
	}
}

// plainBodies are the text/plain parts of the email and survey of actions():
// their Markdown without markup.
var plainBodies = map[string]string{
	"email":  "Hello Acme,\n\nwelcome aboard. Your CSM is Jo.\n",
	"survey": "From 0 to 10?\n",
}

// runKind calls the activity for act's kind directly.
func (a *Activities) runKind(act engine.Action) (Result, error) {
	ctx := context.Background()
	switch act.Kind {
	case "email":
		return a.Email(ctx, act)
	case "survey":
		return a.Survey(ctx, act)
	case "call":
		return a.Call(ctx, act)
	case "training":
		return a.Training(ctx, act)
	case "task":
		return a.Task(ctx, act)
	case "escalate":
		return a.Escalate(ctx, act)
	case "notify":
		return a.Notify(ctx, act)
	case "webhook":
		return a.Webhook(ctx, act)
	}
	panic("no activity for " + act.Kind)
}

// classify says how Temporal will treat err.
func classify(err error) (retryable bool, errType string) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return !ae.NonRetryable(), ae.Type()
	}
	return true, ""
}

// parsedMail is a received message with its parts decoded.
type parsedMail struct {
	header mail.Header
	parts  []part
}

type part struct {
	contentType string
	params      map[string]string
	disposition string
	body        string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	pm := parsedMail{header: m.Header}
	collectParts(t, m.Header, m.Body, &pm.parts)
	return pm
}

// header is a mail.Header or a part's textproto.MIMEHeader.
type header interface{ Get(string) string }

func collectParts(t *testing.T, h header, body io.Reader, out *[]part) {
	t.Helper()
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			collectParts(t, p.Header, p, out)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	*out = append(*out, part{contentType: ct, params: params, disposition: disp, body: string(b)})
}

func (pm parsedMail) part(contentType, disposition string) (part, bool) {
	for _, p := range pm.parts {
		if p.contentType == contentType && p.disposition == disposition {
			return p, true
		}
	}
	return part{}, false
}

// unCRLF undoes SMTP's line endings.
func unCRLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
