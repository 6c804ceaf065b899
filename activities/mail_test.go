package activities

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/emersion/go-smtp"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// mailSchema is the schema of the tests that build their actions with the
// engine, from playbooks.
const mailSchema = `
customer:
  name: string
  csm: string
  manager: string
  contact_email: string
  timezone: string
events:
  contract.signed: {}
stages: [onboarding]
`

// engineActions loads the playbooks (path, content pairs under
// playbooks/), applies a contract.signed for acme at the clock, and runs
// every run it starts to its end: the actions are what the engine asks the
// activities to carry out, in order.
func engineActions(t *testing.T, attrs map[string]any, files ...string) []engine.Action {
	t.Helper()
	fs := []lang.File{{Path: "playbooks/schema.yaml", Data: []byte(mailSchema)}}
	for i := 0; i+1 < len(files); i += 2 {
		fs = append(fs, lang.File{Path: "playbooks/" + files[i], Data: []byte(files[i+1])})
	}
	set, errs := lang.Load(fs)
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	ev := &lang.Event{ID: "e1", Type: "contract.signed", Customer: "acme", At: clock}
	if err := set.Schema.Normalize(ev); err != nil {
		t.Fatal(err)
	}
	j := engine.NewJourney("acme", attrs)
	var out []engine.Action
	for _, st := range j.Apply(set, clock, ev).Starts {
		r := engine.NewRun(set, st)
		for cmds := r.Start(clock); len(cmds) > 0; {
			var next []engine.Command
			for _, c := range cmds {
				switch c.Kind {
				case engine.CmdReserve:
					next = append(next, r.OnSlot(clock, clock)...)
				case engine.CmdAction:
					out = append(out, *c.Action)
					next = append(next, r.OnActionDone(clock)...)
				case engine.CmdRecord:
					if c.Record.Kind == lang.RecRunFailed {
						t.Fatalf("run failed: %s", c.Record.Reason)
					}
				}
			}
			cmds = next
		}
	}
	return out
}

// A customer-facing email goes out as text/plain with a text/html
// alternative, both from the template's Markdown; a customer's name that
// holds HTML, Markdown and a line break reads as text in both and cannot
// add a header; Reply-To comes from the playbook's reply_to, or the step's.
func TestEmailMarkdownEndToEnd(t *testing.T) {
	const name = "Evil <script>alert(1)</script> & *Co*\r\nBcc: spy@evil.example"
	acts := engineActions(t, map[string]any{"name": name, "csm": "jo@vendor.example", "manager": "Max Manager <max@vendor.example>",
		"contact_email": "it@acme.example"},
		"welcome.yaml", `
playbook: welcome
reply_to: customer.csm
trigger: {on: [contract.signed]}
steps:
  - id: welcome
    do: email
    template: welcome
  - id: guide
    do: email
    reply_to: customer.manager
    subject: "Your guide, {{ customer.name }}"
    body: "**{{ customer.name }}**, start with [the guide](https://docs.vendor.example/start?from=mail&step=1)."
`, "templates/welcome.md", `---
subject: "Welcome, {{ customer.name }}"
---
Hello **{{ customer.name }}**,

1. Log in.
2. Invite your team.

Reply to this email: it reaches {{ customer.csm }}.

Thanks,\
The Customer Success team
`)
	if len(acts) != 2 {
		t.Fatalf("%d actions, want 2", len(acts))
	}
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
	for _, act := range acts {
		if _, err := a.Email(context.Background(), act); err != nil {
			t.Fatalf("Email %s: %v", act.Step, err)
		}
	}
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("server received %d messages, want 2", len(msgs))
	}
	oneLine := "Evil <script>alert(1)</script> & *Co* Bcc: spy@evil.example"
	tests := []struct {
		subject, replyTo, text string
		html                   []string
	}{
		{
			subject: "Welcome, " + oneLine, replyTo: "<jo@vendor.example>",
			text: "Hello Evil <script>alert(1)</script> & *Co*\nBcc: spy@evil.example,\n\n1. Log in.\n2. Invite your team.\n\n" +
				"Reply to this email: it reaches jo@vendor.example.\n\nThanks,\nThe Customer Success team\n",
			html: []string{
				"<p>Hello <strong>Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; *Co*\nBcc: spy@evil.example</strong>,</p>",
				"<ol>\n<li>Log in.</li>\n<li>Invite your team.</li>\n</ol>",
				"<p>Thanks,<br>\nThe Customer Success team</p>",
			},
		},
		{
			subject: "Your guide, " + oneLine, replyTo: `"Max Manager" <max@vendor.example>`,
			text: "Evil <script>alert(1)</script> & *Co*\nBcc: spy@evil.example, start with the guide (https://docs.vendor.example/start?from=mail&step=1).\n",
			html: []string{`<a href="https://docs.vendor.example/start?from=mail&amp;step=1">the guide</a>`},
		},
	}
	for i, tt := range tests {
		rm := msgs[i]
		if !slices.Equal(rm.to, []string{"it@acme.example"}) {
			t.Errorf("message %d: RCPT TO %v, want only the contact", i, rm.to)
		}
		pm := parseMail(t, rm.data)
		if got := pm.header.Get("Subject"); got != tt.subject {
			t.Errorf("message %d: Subject = %q, want %q", i, got, tt.subject)
		}
		if got := pm.header.Get("Reply-To"); got != tt.replyTo {
			t.Errorf("message %d: Reply-To = %q, want %q", i, got, tt.replyTo)
		}
		if got := pm.header.Get("Bcc"); got != "" {
			t.Errorf("message %d: a value added a Bcc header %q", i, got)
		}
		if ct, _, _ := strings.Cut(pm.header.Get("Content-Type"), ";"); ct != "multipart/alternative" {
			t.Errorf("message %d: Content-Type %q, want multipart/alternative", i, pm.header.Get("Content-Type"))
		}
		if len(pm.parts) != 2 || pm.parts[0].contentType != "text/plain" || pm.parts[1].contentType != "text/html" {
			t.Fatalf("message %d: parts %+v, want text/plain then text/html", i, pm.parts)
		}
		if got := unCRLF(pm.parts[0].body); got != tt.text {
			t.Errorf("message %d: text part\n got %q\nwant %q", i, got, tt.text)
		}
		html := unCRLF(pm.parts[1].body)
		for _, want := range tt.html {
			if !strings.Contains(html, want) {
				t.Errorf("message %d: HTML part lacks %q:\n%s", i, want, html)
			}
		}
		if strings.Contains(html, "<script>") || !strings.Contains(html, `<meta charset="utf-8">`) {
			t.Errorf("message %d: HTML part:\n%s", i, html)
		}
		if pm.parts[1].params["charset"] != "UTF-8" {
			t.Errorf("message %d: HTML part params %v", i, pm.parts[1].params)
		}
	}
}

func TestMarkdownBody(t *testing.T) {
	tests := []struct{ name, md, text, html string }{
		{"emphasis and code", "A **bold** and _soft_ `x*y` word.\n", "A bold and soft x*y word.\n",
			"<p>A <strong>bold</strong> and <em>soft</em> <code>x*y</code> word.</p>\n"},
		{"escaped value", "Hi " + engine.MarkdownValue("<b>Jo</b> & [Co](x) #1 *") + ".\n", "Hi <b>Jo</b> & [Co](x) #1 *.\n",
			"<p>Hi &lt;b&gt;Jo&lt;/b&gt; &amp; [Co](x) #1 *.</p>\n"},
		{"value at a line start", engine.MarkdownValue("# 1. - > not markup") + "\n", "# 1. - > not markup\n",
			"<p># 1. - &gt; not markup</p>\n"},
		{"links", "[Docs](https://d.example) and <https://e.example> and [https://f.example](https://f.example)\n",
			"Docs (https://d.example) and https://e.example and https://f.example\n", ""},
		{"nested list and quote", "- a\n- b\n  1. c\n  2. d\n\n> said\n> twice\n", "- a\n- b\n  1. c\n  2. d\n\n> said\n> twice\n", ""},
		{"heading and rule", "# Title\n\ntext\n\n---\n\nend\n", "Title\n\ntext\n\n----\n\nend\n", ""},
		{"raw html is left out", "<div>x</div>\n\nok <span>y</span>\n", "ok y\n", "<!-- raw HTML omitted -->\n<p>ok <!-- raw HTML omitted -->y<!-- raw HTML omitted --></p>\n"},
		{"dangerous link", "[x](javascript:alert(1))\n", "x (javascript:alert(1))\n", "<p><a href=\"\">x</a></p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := markdownBody(tt.md)
			if err != nil {
				t.Fatal(err)
			}
			if b.Text != tt.text {
				t.Errorf("text\n got %q\nwant %q", b.Text, tt.text)
			}
			if tt.html != "" && b.HTML != tt.html {
				t.Errorf("html\n got %q\nwant %q", b.HTML, tt.html)
			}
		})
	}
}

// An invite says how long the meeting is as people write it, and its
// attachment says it is UTF-8, so accented names decode.
func TestInviteLengthAndCharset(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Minute, "(30 min)"}, {45 * time.Minute, "(45 min)"}, {90 * time.Minute, "(1 h 30 min)"},
		{2 * time.Hour, "(2 h)"}, {0, "(30 min)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := startSMTP(t)
			a := newActivities(t, Options{Email: smtpOptions(srv.addr)})
			act := actions()["call"]
			act.Duration = tt.d
			act.Title = "Kickoff with Zoë of Crème Brûlée"
			if _, err := a.Call(context.Background(), act); err != nil {
				t.Fatal(err)
			}
			pm := parseMail(t, srv.messages()[0].data)
			text, _ := pm.part("text/plain", "")
			if !strings.Contains(text.body, "When: Wed 7 Jan 2026 10:00 EST "+tt.want) {
				t.Errorf("text part %q lacks %q", text.body, tt.want)
			}
			att, ok := pm.part("text/calendar", "attachment")
			if !ok {
				t.Fatalf("no invite.ics in %+v", pm.parts)
			}
			alt, _ := pm.part("text/calendar", "")
			for _, p := range []part{att, alt} {
				if p.params["charset"] != "UTF-8" || p.params["method"] != "REQUEST" {
					t.Errorf("%s part params %v, want charset=UTF-8 and method=REQUEST", p.contentType, p.params)
				}
			}
			cal, err := ics.ParseCalendar(strings.NewReader(att.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := cal.Events()[0].GetProperty(ics.ComponentPropertySummary).Value; got != act.Title {
				t.Errorf("SUMMARY %q, want %q", got, act.Title)
			}
		})
	}
}

// chatServer is a Slack-compatible incoming webhook that answers the
// statuses in order (200 once they run out) and records the texts of the
// posts it accepted.
type chatServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	posts    int
	texts    []string
}

func startChat(t *testing.T, statuses ...int) *chatServer {
	t.Helper()
	cs := &chatServer{statuses: statuses}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct{ Text string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &payload)
		cs.mu.Lock()
		defer cs.mu.Unlock()
		cs.posts++
		status := http.StatusOK
		if len(cs.statuses) > 0 {
			status, cs.statuses = cs.statuses[0], cs.statuses[1:]
		}
		if status == http.StatusOK {
			cs.texts = append(cs.texts, payload.Text)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *chatServer) accepted() (texts []string, posts int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), cs.texts...), cs.posts
}

// Chat text escapes what comes from data, and only that: a customer named
// "Evil <!channel> & Co" pings nobody, while the playbook's own mention
// stays. An escalation goes by email and to chat, where it mentions the
// manager by their chat id.
func TestChatEscapingAndEscalation(t *testing.T) {
	acts := engineActions(t, map[string]any{"name": "Evil <!channel> & Co\x07", "csm": "jo@vendor.example",
		"manager": "Max Manager <MAX@vendor.example>", "contact_email": "it@acme.example"},
		"p.yaml", `
playbook: p
trigger: {on: [contract.signed]}
steps:
  - {id: tell, do: notify, text: "<@U0999> {{ customer.name }} signed"}
  - {id: esc, do: escalate, to: customer.manager, reason: "{{ customer.name }} is unhappy", channel: cs-leads}
`)
	if len(acts) != 2 {
		t.Fatalf("%d actions, want 2", len(acts))
	}
	chat := startChat(t)
	srv := startSMTP(t)
	a := newActivities(t, Options{Email: smtpOptions(srv.addr), Chat: ChatOptions{Default: "cs-alerts",
		Channels: map[string]string{"cs-alerts": chat.URL + "/alerts", "cs-leads": chat.URL + "/leads"}},
		Users: map[string]string{"max@vendor.example": "U0123ABC"}})
	for _, act := range acts {
		if _, err := a.runKind(act); err != nil {
			t.Fatalf("%s: %v", act.Kind, err)
		}
	}
	texts, _ := chat.accepted()
	want := []string{
		"<@U0999> Evil &lt;!channel&gt; &amp; Co signed",
		"Escalation to <@U0123ABC>: Evil &lt;!channel&gt; &amp; Co is unhappy (customer acme, playbook p, task p/acme/1/esc/1, due 2026-01-07)",
	}
	if !slices.Equal(texts, want) {
		t.Errorf("chat posts\n got %q\nwant %q", texts, want)
	}
	msgs := srv.messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].to, []string{"MAX@vendor.example"}) {
		t.Fatalf("emails %+v, want one to the manager", msgs)
	}
	pm := parseMail(t, msgs[0].data)
	if got := pm.header.Get("Subject"); got != "Escalation: Evil <!channel> & Co is unhappy" {
		t.Errorf("Subject = %q", got)
	}
	if p, _ := pm.part("text/plain", ""); !strings.Contains(p.body, "An account needs your attention: Evil <!channel> & Co is unhappy") {
		t.Errorf("body %q", p.body)
	}

	t.Run("no chat id: the address, escaped", func(t *testing.T) {
		a := newActivities(t, Options{Chat: ChatOptions{Channels: map[string]string{"cs-leads": chat.URL}}})
		act := acts[1]
		act.To = "Jo <jo@vendor.example>"
		if got := a.escalationText(act); !strings.HasPrefix(got, "Escalation to Jo &lt;jo@vendor.example&gt;: ") {
			t.Errorf("text %q", got)
		}
	})
}

// escalateWorkflow runs the Escalate activity with retries, as the run
// workflow does.
func escalateWorkflow(ctx workflow.Context, act engine.Action) (Result, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var res Result
	err := workflow.ExecuteActivity(ctx, "Escalate", act).Get(ctx, &res)
	return res, err
}

// An escalation that fails on one channel after the other has gone is
// retried by Temporal without sending the first one again.
func TestEscalateRetrySendsEachChannelOnce(t *testing.T) {
	tests := []struct {
		name       string
		smtp451    bool // the first RCPT is refused for now
		chat       []int
		chatPosts  int
		wantResult Result
	}{
		{"email fails for now", true, nil, 1, Result{Channel: "smtp+chat", Target: "cs-alerts", Status: 200}},
		{"chat fails for now", false, []int{503}, 2, Result{Channel: "smtp+chat", Target: "cs-alerts", Status: 200}},
		{"both go at once", false, nil, 1, Result{Channel: "smtp+chat", Target: "cs-alerts", Status: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t)
			if tt.smtp451 {
				srv.rejectRcptOnce("max@vendor.example", 451, smtp.EnhancedCode{4, 3, 0}, "try again later")
			}
			chat := startChat(t, tt.chat...)
			a := newActivities(t, Options{Email: smtpOptions(srv.addr), Chat: ChatOptions{Channels: map[string]string{"cs-alerts": chat.URL}},
				Users: map[string]string{"max@vendor.example": "U0123ABC"}})
			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
			env := suite.NewTestWorkflowEnvironment()
			a.Register(env)
			env.RegisterWorkflow(escalateWorkflow)
			act := actions()["escalate"]
			act.Channel = "" // the default channel
			env.ExecuteWorkflow(escalateWorkflow, act)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("escalation failed: %v", err)
			}
			var res Result
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			wantRes := tt.wantResult
			wantRes.MessageID = "<" + mk(act.Key) + "@vendor.example>"
			if res != wantRes {
				t.Errorf("result %+v, want %+v", res, wantRes)
			}
			if n := len(srv.messages()); n != 1 {
				t.Errorf("%d emails accepted, want exactly 1", n)
			}
			texts, posts := chat.accepted()
			if len(texts) != 1 || posts != tt.chatPosts || !strings.HasPrefix(texts[0], "Escalation to <@U0123ABC>: ") {
				t.Errorf("chat accepted %q of %d posts; want one post with the mention, of %d", texts, posts, tt.chatPosts)
			}
		})
	}
}

// Escalate with chat alone posts; with neither channel it writes the outbox.
func TestEscalateChannels(t *testing.T) {
	chat := startChat(t)
	tests := []struct {
		name    string
		opts    Options
		channel string
		want    string
	}{
		{"chat only", Options{Chat: ChatOptions{Channels: map[string]string{"cs-alerts": chat.URL}}}, "", "chat"},
		{"several channels, none named, no default: outbox", Options{Chat: ChatOptions{Channels: map[string]string{"a": chat.URL, "b": chat.URL}}}, "", "outbox"},
		{"nothing configured", Options{}, "cs-alerts", "outbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newActivities(t, tt.opts)
			act := actions()["escalate"]
			act.Channel = tt.channel
			res, err := a.Escalate(context.Background(), act)
			if err != nil || res.Channel != tt.want {
				t.Errorf("result %+v, %v; want channel %s", res, err, tt.want)
			}
		})
	}
}

func TestMeetingLength(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15 min", 30 * time.Minute: "30 min", time.Hour: "1 h", 90 * time.Minute: "1 h 30 min",
		2 * time.Hour: "2 h", 8 * time.Hour: "8 h", 61 * time.Minute: "1 h 1 min",
	} {
		if got := meetingLength(d); got != want {
			t.Errorf("meetingLength(%v) = %q, want %q", d, got, want)
		}
	}
}
