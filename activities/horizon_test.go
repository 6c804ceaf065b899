package activities

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// TestRetryHorizon: a transient failure stays retryable while the step is
// within its channel's retry_for, counted from the activity's first
// schedule, and becomes a permanent GaveUp error naming the horizon, its
// key and the last error once past it. A permanent failure is never
// rewritten.
func TestRetryHorizon(t *testing.T) {
	down := closedAddr(t)
	hook := startHTTP(t, 503, nil, "")
	smtp := startSMTP(t)
	smtp.rejectRcpt("bob@x.example", 550, [3]int{5, 1, 1}, "no such user")
	const past, within = time.Nanosecond, time.Hour
	tests := []struct {
		name      string
		opts      func(d time.Duration) Options
		act       engine.Action
		retryFor  time.Duration
		retryable bool
		msg       string
	}{
		{"smtp down within", func(d time.Duration) Options {
			e := smtpOptions(down)
			e.RetryFor = d
			return Options{Email: e}
		}, actions()["email"], within, true, "connect"},
		{"smtp down past", func(d time.Duration) Options {
			e := smtpOptions(down)
			e.RetryFor = d
			return Options{Email: e}
		}, actions()["email"], past, false, "gave up after 1ns of retries (email.retry_for): "},
		{"smtp 550 past", func(d time.Duration) Options {
			e := smtpOptions(smtp.addr)
			e.RetryFor = d
			return Options{Email: e}
		}, func() engine.Action { a := actions()["email"]; a.To, a.Cc = "bob@x.example", nil; return a }(), past, false,
			"smtp rejected recipient bob@x.example: 550"},
		{"chat 503 past", func(d time.Duration) Options {
			return Options{Chat: ChatOptions{Channels: map[string]string{"cs-alerts": hook.URL}, RetryFor: d}}
		}, actions()["notify"], past, false, "gave up after 1ns of retries (chat.retry_for): chat channel cs-alerts answered 503"},
		{"chat 503 within", func(d time.Duration) Options {
			return Options{Chat: ChatOptions{Channels: map[string]string{"cs-alerts": hook.URL}, RetryFor: d}}
		}, actions()["notify"], within, true, "chat channel cs-alerts answered 503"},
		{"webhook 503 past", func(d time.Duration) Options {
			return Options{Endpoints: map[string]Endpoint{"crm": {URL: hook.URL, Secret: "s", RetryFor: d}}}
		}, actions()["webhook"], past, false, "gave up after 1ns of retries (endpoints.crm.retry_for): webhook crm answered 503"},
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := suite.NewTestActivityEnvironment()
			newActivities(t, tt.opts(tt.retryFor)).Register(env)
			name, _ := Name(tt.act.Kind)
			_, err := env.ExecuteActivity(name, tt.act)
			if err == nil {
				t.Fatal("no error")
			}
			retryable, typ := classify(err)
			if retryable != tt.retryable || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v (retryable %v, type %q); want retryable %v and %q", err, retryable, typ, tt.retryable, tt.msg)
			}
			if !tt.retryable && strings.Contains(tt.msg, "gave up") && typ != ErrTypeGaveUp {
				t.Errorf("type %q, want %s", typ, ErrTypeGaveUp)
			}
		})
	}
}

// TestMailKeysSalted: the Message-ID, invite UID and X-Tend-Key of an
// action are the same on every send from one installation, differ between
// installations, and name neither the playbook nor the customer.
func TestMailKeysSalted(t *testing.T) {
	send := func(install string) (msgID, key, uid string) {
		srv := startSMTP(t)
		a := newActivities(t, Options{Email: smtpOptions(srv.addr), InstallationID: install})
		for range 2 {
			if _, err := a.runKind(actions()["email"]); err != nil {
				t.Fatal(err)
			}
		}
		res, err := a.runKind(actions()["call"])
		if err != nil {
			t.Fatal(err)
		}
		msgs := srv.messages()
		a1, a2 := parseMail(t, msgs[0].data).header, parseMail(t, msgs[1].data).header
		if a1.Get("Message-Id") != a2.Get("Message-Id") || a1.Get("X-Tend-Key") != a2.Get("X-Tend-Key") {
			t.Errorf("a resend changed its ids: %q %q, %q %q", a1.Get("Message-Id"), a2.Get("Message-Id"), a1.Get("X-Tend-Key"), a2.Get("X-Tend-Key"))
		}
		return a1.Get("Message-Id"), a1.Get("X-Tend-Key"), res.UID
	}
	id1, key1, uid1 := send("installation-one")
	id2, key2, uid2 := send("installation-two")
	if id1 == id2 || key1 == key2 || uid1 == uid2 {
		t.Errorf("two installations share ids: %s %s, %s %s, %s %s", id1, id2, key1, key2, uid1, uid2)
	}
	for _, v := range []string{id1, key1, uid1} {
		if strings.Contains(v, "enterprise-onboarding") || strings.Contains(v, "acme") {
			t.Errorf("%q names the playbook or the customer", v)
		}
	}
	if want := "<" + engine.MailKey("installation-one", actions()["email"].Key) + "@vendor.example>"; id1 != want {
		t.Errorf("Message-ID %s, want %s", id1, want)
	}
	if !strings.HasSuffix(uid1, "@vendor.example") {
		t.Errorf("invite UID %s: want the sender's domain", uid1)
	}
}
