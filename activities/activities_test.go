package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/engine"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func TestEmailSMTP(t *testing.T) {
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	act := actions()["email"]

	var ids []string
	for range 2 { // a retry sends the same message again
		res, err := a.Email(context.Background(), act)
		if err != nil {
			t.Fatalf("Email: %v", err)
		}
		if res.Channel != "smtp" || res.File != "" {
			t.Errorf("result = %+v, want channel smtp", res)
		}
		ids = append(ids, res.MessageID)
	}
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("server received %d messages, want 2", len(msgs))
	}
	wantID := "<" + mk(act.Key) + "@vendor.example>"
	for i, rm := range msgs {
		if rm.from != "cs@vendor.example" {
			t.Errorf("MAIL FROM %q", rm.from)
		}
		if !slices.Equal(rm.to, []string{"it@acme.example", "cto@acme.example"}) {
			t.Errorf("RCPT TO %v", rm.to)
		}
		pm := parseMail(t, rm.data)
		h := pm.header
		for name, want := range map[string]string{
			"Message-Id": wantID,
			"Subject":    "Welcome to Tend, Acme",
			"To":         "<it@acme.example>",
			"Cc":         "<cto@acme.example>",
			"From":       `"Customer Success" <cs@vendor.example>`,
			"X-Tend-Key": mk(act.Key),
		} {
			if got := h.Get(name); got != want {
				t.Errorf("message %d: %s = %q, want %q", i, name, got, want)
			}
		}
		if ids[i] != wantID {
			t.Errorf("Result.MessageID = %q, want %q", ids[i], wantID)
		}
		date, err := h.Date()
		if err != nil || !date.Equal(clock) {
			t.Errorf("Date = %v, %v; want the clock", date, err)
		}
		body, ok := pm.part("text/plain", "")
		if want := plainBodies["email"]; !ok || unCRLF(body.body) != want {
			t.Errorf("text/plain body = %q, want %q (parts %+v)", body.body, want, pm.parts)
		}
		if h, ok := pm.part("text/html", ""); !ok || !strings.Contains(h.body, "<p>Hello <strong>Acme</strong>,</p>") {
			t.Errorf("text/html body = %q, want the Markdown as HTML", h.body)
		}
	}
}

func TestSurveyHeader(t *testing.T) {
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	if _, err := a.Survey(context.Background(), actions()["survey"]); err != nil {
		t.Fatal(err)
	}
	pm := parseMail(t, srv.messages()[0].data)
	if got := pm.header.Get("X-Tend-Survey"); got != "nps" {
		t.Errorf("X-Tend-Survey = %q", got)
	}
}

func TestSMTPErrors(t *testing.T) {
	srv := startSMTP(t)
	srv.rejectRcpt("bob@x.example", 550, smtp.EnhancedCode{5, 1, 1}, "no such user")
	srv.rejectRcpt("busy@x.example", 451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	down := closedAddr(t)

	tests := []struct {
		name      string
		addr      string
		to        string
		cc        []string
		retryable bool
		errType   string
		msg       string
	}{
		{"550 is permanent", srv.addr, "bob@x.example", nil, false, ErrTypeRejected,
			"smtp rejected recipient bob@x.example: 550 5.1.1 no such user"},
		{"550 on a cc is permanent", srv.addr, "it@acme.example", []string{"bob@x.example"}, false, ErrTypeRejected,
			"smtp rejected recipient bob@x.example: 550 5.1.1 no such user"},
		{"451 is retried", srv.addr, "busy@x.example", nil, true, "",
			"smtp rejected recipient busy@x.example: 451 4.3.0 try again later"},
		{"invalid address", srv.addr, "bob@", nil, false, ErrTypeInvalidAddress, `invalid email address "bob@" in to`},
		{"no recipient", srv.addr, "", nil, false, ErrTypeInvalidAddress, "email has no recipient: to is empty"},
		{"connection refused is retried", down, "it@acme.example", nil, true, "", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newActivities(t, Options{Email: smtpOptions(tt.addr)})
			act := actions()["email"]
			act.To, act.Cc = tt.to, tt.cc
			_, err := a.Email(context.Background(), act)
			if err == nil {
				t.Fatal("Email succeeded")
			}
			retryable, errType := classify(err)
			if retryable != tt.retryable || errType != tt.errType {
				t.Errorf("retryable, type = %v, %q; want %v, %q (%v)", retryable, errType, tt.retryable, tt.errType, err)
			}
			msg := err.Error()
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) {
				msg = ae.Message()
			}
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not say %q", msg, tt.msg)
			}
		})
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server accepted %d messages after rejections", n)
	}
}

func TestCallInviteSMTP(t *testing.T) {
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	act := actions()["call"]
	var uids []string
	for range 2 {
		res, err := a.Call(context.Background(), act)
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		uids = append(uids, res.UID)
	}
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	wantRcpts := []string{"jo@vendor.example", "it@acme.example", "ann@acme.example"}
	var icsUIDs []string
	for _, rm := range msgs {
		if !slices.Equal(rm.to, wantRcpts) {
			t.Errorf("RCPT TO %v, want the owner and the attendees %v", rm.to, wantRcpts)
		}
		pm := parseMail(t, rm.data)
		if got := pm.header.Get("Subject"); got != "Invitation: Kickoff with Acme @ Wed 7 Jan 2026 10:00 EST" {
			t.Errorf("Subject = %q", got)
		}
		att, ok := pm.part("text/calendar", "attachment")
		if !ok {
			t.Fatalf("no text/calendar attachment in %+v", pm.parts)
		}
		alt, ok := pm.part("text/calendar", "")
		if !ok || alt.params["method"] != "REQUEST" {
			t.Errorf("text/calendar alternative with method=REQUEST missing: %+v", pm.parts)
		}
		ev := checkInvite(t, att.body, act)
		icsUIDs = append(icsUIDs, ev.Id())
	}
	want := mk(act.Key) + "@vendor.example"
	if !slices.Equal(uids, []string{want, want}) || !slices.Equal(icsUIDs, uids) {
		t.Errorf("UIDs: results %v, invites %v; want %s both times", uids, icsUIDs, want)
	}
}

// checkInvite parses an invite back and checks it against the action.
func checkInvite(t *testing.T, text string, act engine.Action) *ics.VEvent {
	t.Helper()
	if !strings.Contains(text, "\r\n") {
		t.Error("invite lines do not end in CRLF")
	}
	cal, err := ics.ParseCalendar(strings.NewReader(text))
	if err != nil {
		t.Fatalf("invite does not parse: %v\n%s", err, text)
	}
	method := ""
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			method = p.Value
		}
	}
	if method != "REQUEST" {
		t.Errorf("METHOD = %q", method)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	ev := events[0]
	start, err := ev.GetStartAt()
	if err != nil || !start.Equal(*act.Start) {
		t.Errorf("DTSTART = %v, %v; want %v", start, err, act.Start)
	}
	d := act.Duration
	if d == 0 {
		d = 30 * time.Minute
	}
	end, err := ev.GetEndAt()
	if err != nil || !end.Equal(act.Start.Add(d)) {
		t.Errorf("DTEND = %v, %v; want %v", end, err, act.Start.Add(d))
	}
	if p := ev.GetProperty(ics.ComponentPropertySummary); p == nil || p.Value != act.Title {
		t.Errorf("SUMMARY = %v", p)
	}
	if p := ev.GetProperty(ics.ComponentPropertyOrganizer); p == nil || p.Value != "mailto:jo@vendor.example" {
		t.Errorf("ORGANIZER = %v", p)
	}
	var attendees []string
	for _, at := range ev.Attendees() {
		attendees = append(attendees, at.Email())
	}
	want := []string{}
	for _, s := range act.Attendees {
		addr, _ := mail.ParseAddress(s)
		want = append(want, addr.Address)
	}
	if !slices.Equal(attendees, want) {
		t.Errorf("ATTENDEE = %v, want %v", attendees, want)
	}
	if act.Topic != "" {
		if p := ev.GetProperty(ics.ComponentPropertyDescription); p == nil || !strings.Contains(p.Value, act.Topic) {
			t.Errorf("DESCRIPTION %v lacks the topic", p)
		}
	}
	return ev
}

func TestNoticesBySMTP(t *testing.T) {
	tests := []struct {
		kind, rcpt, subject, body string
	}{
		{"task", "jo@vendor.example", "Task: Check in with Acme, due Thu 8 Jan", "tend tasks complete enterprise-onboarding/acme/1/check-in/1"},
		{"escalate", "max@vendor.example", "Escalation: Kickoff with Acme not held", "An account needs your attention: Kickoff with Acme not held"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			srv := startSMTP(t)
			a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
			res, err := a.runKind(actions()[tt.kind])
			if err != nil || res.Channel != "smtp" {
				t.Fatalf("%s = %+v, %v", tt.kind, res, err)
			}
			msgs := srv.messages()
			if len(msgs) != 1 || !slices.Equal(msgs[0].to, []string{tt.rcpt}) {
				t.Fatalf("messages %+v", msgs)
			}
			pm := parseMail(t, msgs[0].data)
			if got := pm.header.Get("Subject"); got != tt.subject {
				t.Errorf("Subject = %q, want %q", got, tt.subject)
			}
			if p, _ := pm.part("text/plain", ""); !strings.Contains(p.body, tt.body) {
				t.Errorf("body %q lacks %q", p.body, tt.body)
			}
		})
	}
}

// webhookServer answers with status and records each request.
type webhookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	header http.Header
	body   []byte
}

func startHTTP(t *testing.T, status int, header map[string]string, answer string) *webhookServer {
	t.Helper()
	ws := &webhookServer{}
	ws.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ws.mu.Lock()
		ws.requests = append(ws.requests, recorded{header: r.Header.Clone(), body: body})
		ws.mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(ws.Close)
	return ws
}

func (ws *webhookServer) received() []recorded {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]recorded(nil), ws.requests...)
}

func TestWebhook(t *testing.T) {
	const secret = "crm-signing-secret"
	srv := startHTTP(t, http.StatusAccepted, nil, "")
	a := newActivities(t, Options{Endpoints: map[string]Endpoint{"crm": {URL: srv.URL + "/hooks/tend", Secret: secret}}})
	act := actions()["webhook"]
	res, err := a.Webhook(context.Background(), act)
	if err != nil {
		t.Fatalf("Webhook: %v", err)
	}
	if res != (Result{Channel: "webhook", Target: "crm", Status: http.StatusAccepted}) {
		t.Errorf("result = %+v", res)
	}
	reqs := srv.received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	h, body := reqs[0].header, reqs[0].body
	if got := h.Get("Idempotency-Key"); got != act.Key {
		t.Errorf("Idempotency-Key = %q, want %q", got, act.Key)
	}
	if got := h.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	ts := h.Get("X-Tend-Timestamp")
	if ts != strconv.FormatInt(clock.Unix(), 10) {
		t.Errorf("X-Tend-Timestamp = %q", ts)
	}
	// Verify as a receiver would, with the secret alone.
	if !hmac.Equal([]byte(h.Get("X-Tend-Signature")), []byte(Sign(secret, ts, body))) {
		t.Errorf("signature %q does not verify", h.Get("X-Tend-Signature"))
	}
	if hmac.Equal([]byte(h.Get("X-Tend-Signature")), []byte(Sign("wrong", ts, body))) {
		t.Error("signature verifies with the wrong secret")
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"key": act.Key, "customer": "acme", "playbook": "enterprise-onboarding", "run": act.Run,
		"step": "crm-sync", "occurrence": 1.0, "sent_at": "2026-01-05T14:30:00Z",
		"fields": map[string]any{"stage": "onboarding", "note": "kickoff booked"},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("body\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

// TestWebhookEndsBeforeTheAttempt: an endpoint that never answers, with a
// timeout longer than the attempt has left, is given up before the
// attempt's deadline, so that the time-out error reaches Temporal and
// counts toward retry_for.
func TestWebhookEndsBeforeTheAttempt(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	a := newActivities(t, Options{Endpoints: map[string]Endpoint{"crm": {URL: srv.URL, Secret: "s", Timeout: time.Hour}}})
	ctx, cancel := context.WithTimeout(context.Background(), attemptMargin+time.Second)
	defer cancel()
	_, err := a.Webhook(ctx, actions()["webhook"])
	if err == nil || !retryable(err) {
		t.Fatalf("Webhook to a silent endpoint: %v; want a transient error", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the call ended with the attempt (%v), not %s before it: Temporal would time the attempt out first", ctx.Err(), attemptMargin)
	}
}

// TestSignKnownValue pins the signature scheme for receivers in other
// languages; the value is Python's
// hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest().
func TestSignKnownValue(t *testing.T) {
	const want = "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
	if got := Sign("secret", "1700000000", []byte("{}")); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		answer    string
		retryable bool
		msg       string
		delay     time.Duration
	}{
		{"404 is permanent", 404, nil, "", false, "webhook crm answered 404 Not Found", 0},
		{"400 says why", 400, map[string]string{"Content-Type": "application/json"}, `{"error": "unknown stage"}`, false,
			`webhook crm answered 400 Bad Request: {"error": "unknown stage"}`, 0},
		{"html pages are left out", 403, map[string]string{"Content-Type": "text/html"}, "<html>nope</html>", false,
			"webhook crm answered 403 Forbidden", 0},
		{"redirects are not followed", 301, map[string]string{"Location": "https://elsewhere.example/"}, "", false,
			"webhook crm answered 301 Moved Permanently; redirects are not followed, configure the final URL", 0},
		{"503 is retried", 503, nil, "", true, "webhook crm answered 503 Service Unavailable", 0},
		{"408 is retried", 408, nil, "", true, "webhook crm answered 408 Request Timeout", 0},
		{"429 waits for Retry-After", 429, map[string]string{"Retry-After": "120"}, "", true,
			"webhook crm answered 429 Too Many Requests", 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startHTTP(t, tt.status, tt.header, tt.answer)
			a := newActivities(t, Options{Endpoints: map[string]Endpoint{"crm": {URL: srv.URL, Secret: "s"}}})
			_, err := a.Webhook(context.Background(), actions()["webhook"])
			if err == nil {
				t.Fatal("Webhook succeeded")
			}
			retryable, _ := classify(err)
			if retryable != tt.retryable {
				t.Errorf("retryable = %v, want %v (%v)", retryable, tt.retryable, err)
			}
			msg := err.Error()
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) {
				msg = ae.Message()
				if ae.NextRetryDelay() != tt.delay {
					t.Errorf("NextRetryDelay = %v, want %v", ae.NextRetryDelay(), tt.delay)
				}
			}
			if msg != tt.msg {
				t.Errorf("message %q, want %q", msg, tt.msg)
			}
		})
	}

	t.Run("connection refused is retried", func(t *testing.T) {
		a := newActivities(t, Options{Endpoints: map[string]Endpoint{"crm": {URL: "http://" + closedAddr(t) + "/secret-path", Secret: "s"}}})
		_, err := a.Webhook(context.Background(), actions()["webhook"])
		if retryable, _ := classify(err); err == nil || !retryable {
			t.Fatalf("err = %v, want a retryable error", err)
		}
		if strings.Contains(err.Error(), "secret-path") {
			t.Errorf("error reveals the URL: %v", err)
		}
	})

	t.Run("unknown endpoint names the valid ones", func(t *testing.T) {
		a := newActivities(t, Options{Endpoints: map[string]Endpoint{
			"crm": {URL: "https://crm.example", Secret: "s"}, "billing": {URL: "https://billing.example", Secret: "s"},
		}})
		act := actions()["webhook"]
		act.Endpoint = "helpdesk"
		_, err := a.Webhook(context.Background(), act)
		retryable, errType := classify(err)
		if retryable || errType != ErrTypeUnknownEndpoint || !strings.Contains(err.Error(), `unknown webhook endpoint "helpdesk"; endpoints are billing, crm`) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestChat(t *testing.T) {
	alerts := startHTTP(t, 200, nil, "ok")
	sales := startHTTP(t, 200, nil, "ok")
	gone := startHTTP(t, 404, map[string]string{"Content-Type": "text/plain"}, "no_service")
	flaky := startHTTP(t, 503, nil, "")
	chat := ChatOptions{Default: "cs-alerts", Channels: map[string]string{
		"cs-alerts": alerts.URL + "/T1/B1/secret", "sales": sales.URL, "gone": gone.URL, "flaky": flaky.URL,
	}}
	a := newActivities(t, Options{Chat: chat})

	tests := []struct {
		name      string
		kind      string
		channel   string
		srv       *webhookServer
		text      string
		retryable bool
		errType   string
		msg       string
	}{
		{"default channel", "notify", "", alerts, "Acme signed: 120 seats", false, "", ""},
		{"named channel", "notify", "sales", sales, "Acme signed: 120 seats", false, "", ""},
		{"escalation to a channel", "escalate", "sales", sales,
			"Escalation to max@vendor.example: Kickoff with Acme not held (customer acme, playbook enterprise-onboarding, task enterprise-onboarding/acme/1/kickoff-overdue/1, due 2026-01-08)", false, "", ""},
		{"unknown channel", "notify", "cs-alert", nil, "", false, ErrTypeUnknownChannel,
			"unknown chat channel cs-alert; channels are cs-alerts, flaky, gone, sales"},
		{"404 is permanent", "notify", "gone", gone, "", false, ErrTypeRejected, "chat channel gone answered 404 Not Found: no_service"},
		{"503 is retried", "notify", "flaky", flaky, "", true, "", "chat channel flaky answered 503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int
			if tt.srv != nil {
				before = len(tt.srv.received())
			}
			act := actions()[tt.kind]
			act.Channel = tt.channel
			res, err := a.runKind(act)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("%s: %v", tt.kind, err)
				}
				want := tt.channel
				if want == "" {
					want = "cs-alerts"
				}
				if res.Channel != "chat" || res.Target != want || res.Status != 200 {
					t.Errorf("result = %+v", res)
				}
				reqs := tt.srv.received()
				if len(reqs) != before+1 {
					t.Fatalf("%d requests, want %d", len(reqs), before+1)
				}
				var payload map[string]string
				if err := json.Unmarshal(reqs[len(reqs)-1].body, &payload); err != nil || payload["text"] != tt.text || len(payload) != 1 {
					t.Errorf("payload %s, want {\"text\": %q}", reqs[len(reqs)-1].body, tt.text)
				}
				return
			}
			retryable, errType := classify(err)
			if err == nil || retryable != tt.retryable || errType != tt.errType {
				t.Fatalf("err = %v; retryable %v, type %q", err, retryable, errType)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
		})
	}

	t.Run("no default with several channels", func(t *testing.T) {
		a := newActivities(t, Options{Chat: ChatOptions{Channels: map[string]string{"a": alerts.URL, "b": sales.URL}}})
		_, err := a.Notify(context.Background(), actions()["notify"])
		if retryable, errType := classify(err); retryable || errType != ErrTypeUnknownChannel {
			t.Errorf("err = %v", err)
		}
	})
}

// TestOutbox runs every kind with no channel configured, twice, and checks
// that each leaves exactly one file named after its key.
func TestOutbox(t *testing.T) {
	tests := []struct{ kind, ext string }{
		{"email", ".eml"}, {"survey", ".eml"}, {"call", ".ics"}, {"training", ".ics"},
		{"task", ".json"}, {"escalate", ".json"}, {"notify", ".json"}, {"webhook", ".json"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox") // created on first use
			a := newActivities(t, Options{Outbox: dir})
			act := actions()[tt.kind]
			var first []byte
			for i := range 2 {
				res, err := a.runKind(act)
				if err != nil {
					t.Fatalf("%s: %v", tt.kind, err)
				}
				want := filepath.Join(dir, strings.ReplaceAll(act.Key, "/", "+")+tt.ext)
				if res.Channel != "outbox" || res.File != want {
					t.Fatalf("result = %+v, want file %s", res, want)
				}
				data, err := os.ReadFile(res.File)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = data
				} else if !bytes.Equal(first, data) {
					t.Errorf("second run wrote different content:\n%s\n---\n%s", first, data)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("outbox holds %v, want one file", names)
			}
			info, _ := entries[0].Info()
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("file mode %v, want owner-only", perm)
			}
			checkOutboxFile(t, act, tt.ext, first)
		})
	}
}

func checkOutboxFile(t *testing.T, act engine.Action, ext string, data []byte) {
	t.Helper()
	switch ext {
	case ".eml":
		pm := parseMail(t, data)
		if got, want := pm.header.Get("Message-Id"), "<"+mk(act.Key)+"@localhost>"; got != want {
			t.Errorf("Message-ID = %q, want %q", got, want)
		}
		if got := pm.header.Get("X-Tend-Key"); got != mk(act.Key) {
			t.Errorf("X-Tend-Key = %q", got)
		}
		p, _ := pm.part("text/plain", "")
		want := plainBodies[act.Kind]
		if body := unCRLF(p.body); body != want && (act.Kind != "survey" || !strings.HasPrefix(body, strings.TrimRight(want, "\n")) || !strings.Contains(body, testLinks.BaseURL+"/survey/")) {
			t.Errorf("body = %q, want %q", p.body, want)
		}
	case ".ics":
		ev := checkInvite(t, string(data), act)
		if ev.Id() != mk(act.Key)+"@localhost" {
			t.Errorf("UID = %q", ev.Id())
		}
	case ".json":
		var rec map[string]any
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		if rec["key"] != act.Key || rec["kind"] != act.Kind || rec["customer"] != "acme" {
			t.Errorf("record %s", data)
		}
		switch act.Kind {
		case "task":
			if rec["owner"] != act.Owner || rec["title"] != act.Title || rec["due"] != "2026-01-08T14:00:00Z" {
				t.Errorf("task record %s", data)
			}
		case "escalate":
			if rec["to"] != act.To || rec["reason"] != act.Reason {
				t.Errorf("escalate record %s", data)
			}
		case "notify":
			if rec["text"] != act.Text {
				t.Errorf("notify record %s", data)
			}
		case "webhook":
			body, _ := rec["body"].(map[string]any)
			if rec["endpoint"] != "crm" || body["key"] != act.Key || body["sent_at"] != "2026-01-05T14:30:00Z" {
				t.Errorf("webhook record %s", data)
			}
		}
	}
}

func TestFileName(t *testing.T) {
	long := strings.Repeat("c", 300)
	tests := []struct{ key, want string }{
		{"enterprise-onboarding/acme/1/welcome/1", "enterprise-onboarding+acme+1+welcome+1.eml"},
		{"pb/cus_123/2/steps.3.then.0/4", "pb+cus_123+2+steps.3.then.0+4.eml"},
		{"pb/acme/eu/1/s/1", "pb+acme+eu+1+s+1.eml"},
		{"pb/a+b c%/1/s/1", "pb+a%2Bb%20c%25+1+s+1.eml"},
		{"pb/jo@acme.example/1/s/1", "pb+jo@acme.example+1+s+1.eml"},
		{"pb/Ünïcode/1/s/1", "pb+%C3%9Cn%C3%AFcode+1+s+1.eml"},
		{"../../etc/passwd", "%2E.+..+etc+passwd.eml"},
		{"pb/" + long + "/1/s/1", "pb+" + strings.Repeat("c", 200-17-3) + "-" + keyHash("pb/" + long + "/1/s/1")[:16] + ".eml"},
	}
	for _, tt := range tests {
		got := FileName(tt.key, ".eml")
		if got != tt.want {
			t.Errorf("FileName(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if strings.ContainsAny(got, "/\\") || len(got) > 255 {
			t.Errorf("FileName(%q) = %q is not a safe file name", tt.key, got)
		}
	}
	if FileName("pb/a/b/1/s/1", "") == FileName("pb/a+b/1/s/1", "") {
		t.Error("different keys share a file name")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no outbox", Options{}, "activities: the outbox directory is not set"},
		{"bad smtp address", Options{Outbox: "o", Email: &EmailOptions{Addr: "smtp.example", From: "a@b.example"}},
			`activities: smtp address "smtp.example" must be host:port`},
		{"bad tls mode", Options{Outbox: "o", Email: &EmailOptions{Addr: "smtp.example:25", From: "a@b.example", TLS: "ssl"}},
			`activities: smtp tls "ssl" must be starttls, tls or none`},
		{"bad from", Options{Outbox: "o", Email: &EmailOptions{Addr: "smtp.example:25", From: "nobody"}},
			`activities: from address "nobody": missing '@' or angle-addr`},
		{"unknown default channel", Options{Outbox: "o", Chat: ChatOptions{Default: "x", Channels: map[string]string{"a": "https://h.example/a"}}},
			"activities: default chat channel x is not among the channels (a)"},
		{"chat url hidden", Options{Outbox: "o", Chat: ChatOptions{Channels: map[string]string{"a": "hooks.example/secret"}}},
			"activities: chat channel a: the webhook is not an http or https URL"},
		{"endpoint without secret", Options{Outbox: "o", Endpoints: map[string]Endpoint{"crm": {URL: "https://crm.example"}}},
			"activities: endpoint crm has no secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts, zerolog.Nop())
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLogsLeaveBodiesOut(t *testing.T) {
	var buf bytes.Buffer
	a, err := New(Options{Outbox: t.TempDir(), Now: fixedNow, Links: &testLinks}, zerolog.New(&buf))
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range actions() {
		if _, err := a.runKind(act); err != nil {
			t.Fatal(err)
		}
	}
	logs := buf.String()
	for _, secret := range []string{"welcome aboard", "From 0 to 10", "Ask about the rollout", "Agenda"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain message text %q", secret)
		}
	}
	if strings.Count(logs, `"message":"action done"`) != len(actions()) {
		t.Errorf("want one line per action:\n%s", logs)
	}
	if !strings.Contains(logs, `"key":"enterprise-onboarding/acme/1/welcome/1"`) || !strings.Contains(logs, `"channel":"outbox"`) {
		t.Errorf("logs lack key or channel:\n%s", logs)
	}
}

// TestTemporal runs the activities as Temporal does: registered by name
// and called through the SDK, which converts errors to failures and back.
func TestTemporal(t *testing.T) {
	srv := startSMTP(t)
	srv.rejectRcpt("bob@x.example", 550, smtp.EnhancedCode{5, 1, 1}, "no such user")
	srv.rejectRcpt("busy@x.example", 451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	hook := startHTTP(t, 503, nil, "")
	outbox := t.TempDir()
	a := newActivities(t, Options{Outbox: outbox, Email: smtpOptions(srv.addr), Chat: ChatOptions{Channels: map[string]string{"cs-alerts": hook.URL}}})

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestActivityEnvironment()
	a.Register(env)

	t.Run("every kind by its name", func(t *testing.T) {
		// A separate set with no channels: every kind writes to the outbox.
		env := suite.NewTestActivityEnvironment()
		newActivities(t, Options{}).Register(env)
		for kind, act := range actions() {
			name, ok := Name(kind)
			if !ok {
				t.Fatalf("no activity for %s", kind)
			}
			val, err := env.ExecuteActivity(name, act)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var res Result
			if err := val.Get(&res); err != nil {
				t.Fatal(err)
			}
			if res.Channel != "outbox" || res.File == "" {
				t.Errorf("%s: result %+v", name, res)
			}
		}
		if _, ok := Name("update"); ok {
			t.Error("update must not be an activity")
		}
	})

	t.Run("email result", func(t *testing.T) {
		val, err := env.ExecuteActivity("Email", actions()["email"])
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Channel != "smtp" || res.MessageID != "<"+mk(actions()["email"].Key)+"@vendor.example>" {
			t.Errorf("result %+v", res)
		}
	})

	tests := []struct {
		name      string
		activity  string
		act       func() engine.Action
		retryable bool
		msg       string
	}{
		{"smtp 550", "Email", func() engine.Action { a := actions()["email"]; a.To, a.Cc = "bob@x.example", nil; return a }, false,
			"smtp rejected recipient bob@x.example: 550 5.1.1 no such user"},
		{"smtp 451", "Email", func() engine.Action { a := actions()["email"]; a.To, a.Cc = "busy@x.example", nil; return a }, true,
			"smtp rejected recipient busy@x.example: 451 4.3.0 try again later"},
		{"invalid attendee", "Call", func() engine.Action { a := actions()["call"]; a.Attendees = []string{"ann@"}; return a }, false,
			`invalid email address "ann@" in attendees`},
		{"chat 503", "Notify", func() engine.Action { return actions()["notify"] }, true,
			"chat channel cs-alerts answered 503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(tt.activity, tt.act())
			if err == nil {
				t.Fatal("activity succeeded")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
			var ae *temporal.ApplicationError
			if !tt.retryable {
				if !temporal.IsApplicationError(err) || !errors.As(err, &ae) || !ae.NonRetryable() {
					t.Errorf("want a non-retryable ApplicationError, got %T %v", err, err)
				}
				return
			}
			if errors.As(err, &ae) && ae.NonRetryable() {
				t.Errorf("want a retryable error, got %v", err)
			}
		})
	}
}

func TestCommonName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ann Admin", "Ann Admin"},
		{"Smith, Jo", "Smith Jo"},
		{`Jo "JJ" O'Neil; CSM: EMEA`, "Jo JJ O Neil CSM EMEA"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := commonName(tt.in); got != tt.want {
			t.Errorf("commonName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
