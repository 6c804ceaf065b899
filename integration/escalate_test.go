package integration

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// mailbox is a real SMTP server in the test process that keeps what it
// accepts.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []string
	// reject answers the next reject messages 451 after reading them
	// (-1: every message), as a mail server in an outage does; rejected
	// keeps what they were.
	reject   int
	rejected []string
	// gate, when set, holds every message until it is closed, as a slow
	// mail server does.
	gate chan struct{}
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return mb
}

func (mb *mailbox) messages() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]string(nil), mb.msgs...)
}

type mailSession struct{ mb *mailbox }

func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	gate := s.mb.gate
	s.mb.mu.Unlock()
	if gate != nil {
		<-gate
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	if s.mb.reject != 0 {
		if s.mb.reject > 0 {
			s.mb.reject--
		}
		s.mb.rejected = append(s.mb.rejected, string(b))
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mail system down"}
	}
	s.mb.msgs = append(s.mb.msgs, string(b))
	return nil
}

// setReject makes the next n messages fail with 451 (-1: all of them, 0:
// none).
func (mb *mailbox) setReject(n int) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.reject = n
}

// hold makes messages wait until the function it returns is called.
func (mb *mailbox) hold() (release func()) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	gate := make(chan struct{})
	mb.gate = gate
	return func() {
		mb.mu.Lock()
		mb.gate = nil
		mb.mu.Unlock()
		close(gate)
	}
}

// rejectedMessages are the messages answered 451 so far.
func (mb *mailbox) rejectedMessages() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]string(nil), mb.rejected...)
}

// An escalation reaches the manager by email and in chat, mentioning them.
// The chat webhook fails once: Temporal retries the activity, which must
// not mail the manager a second time.
func TestEscalationEmailAndChatOnce(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"schema.yaml": "customer:\n  name: string\n  manager: string\nevents:\n  contract.signed: {}\nstages: [onboarding]\n",
		"escalate.yaml": `playbook: escalate-now
trigger: {on: [contract.signed]}
steps:
  - {id: esc, do: escalate, to: customer.manager, reason: "{{ customer.name }} needs help"}
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mb := startMailbox(t)
	var mu sync.Mutex
	var posts []string // "<status> <text>"
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&payload)
		mu.Lock()
		defer mu.Unlock()
		status := http.StatusOK
		if len(posts) == 0 {
			status = http.StatusServiceUnavailable
		}
		posts = append(posts, http.StatusText(status)+": "+payload.Text)
		w.WriteHeader(status)
	}))
	defer chat.Close()

	n := startNodeConfig(t, dir, workflows.Options{}, func(c *config.Config) {
		c.Email = &config.Email{Addr: mb.addr, From: "Customer Success <cs@vendor.example>", TLS: config.TLSNone, Timeout: 10 * time.Second}
		c.Chat = config.Chat{Default: "cs-alerts", Channels: map[string]config.Channel{"cs-alerts": {Webhook: config.Secret(chat.URL)}}}
		c.Users = map[string]config.User{"max@vendor.example": {Slack: "U0123ABC"}}
	})
	defer n.Stop()

	const customer = "evil-co"
	send(t,
		&lang.Event{ID: customer + "-profile", Type: "customer.updated", Customer: customer, At: time.Now().UTC(),
			Attributes: map[string]any{"name": "Evil <!channel> & Co", "manager": "Max <max@vendor.example>"}},
		&lang.Event{ID: customer + "-signed", Type: "contract.signed", Customer: customer, At: time.Now().UTC()})
	// The task is opened once the activity has succeeded: nothing is sent after it.
	waitTask(t, engine.RunID("escalate-now", customer, 1), "esc")

	mu.Lock()
	got := append([]string(nil), posts...)
	mu.Unlock()
	wantChat := "OK: Escalation to <@U0123ABC>: Evil &lt;!channel&gt; &amp; Co needs help (customer evil-co, playbook escalate-now, task escalate-now/evil-co/1/esc/1, due "
	if len(got) != 2 || !strings.HasPrefix(got[0], "Service Unavailable: ") || !strings.HasPrefix(got[1], wantChat) {
		t.Errorf("chat posts %q; want a 503, then %q...", got, wantChat)
	}
	msgs := mb.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want exactly 1 (the retry after the chat failure must not mail again)", len(msgs))
	}
	if !strings.Contains(msgs[0], "Subject: Escalation: Evil <!channel> & Co needs help") || !strings.Contains(msgs[0], "To: \"Max\" <max@vendor.example>") {
		t.Errorf("email:\n%s", msgs[0])
	}
}
