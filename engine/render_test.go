package engine_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// Every field is rendered for where it goes: single lines without control
// characters, Markdown bodies and chat text with their interpolated values
// escaped (and only those), and Reply-To from the step or the playbook.
func TestRunRendersFieldsForWhereTheyGo(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
reply_to: customer.csm
trigger: {on: [contract.signed]}
steps:
  - {id: mail, do: email, subject: "Hi {{ customer.name }}", body: "**Dear** {{ customer.name }}"}
  - {id: mail2, do: email, reply_to: customer.manager, subject: s, body: b}
  - {id: tell, do: notify, text: "<@U0999> {{ customer.name }}\nsigned"}
  - {id: esc, do: escalate, to: customer.manager, reason: "<b>{{ customer.name }}</b> is unhappy"}
  - {id: todo, do: task, title: "Call {{ customer.name }}", description: "About {{ customer.name }}\nsoon"}
`)
	attrs := acmeAttrs()
	attrs["name"] = "Evil <!channel> & *Co*\x07\r\nInc\x7f"
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", attrs)
	ev := signedAt("2026-01-05T10:00:00Z")
	if err := set.Schema.Normalize(ev); err != nil {
		t.Fatal(err)
	}
	r := engine.NewRun(set, j.Apply(set, now, ev).Starts[0])
	var acts []*engine.Action
	for out := r.Start(now); len(out) > 0; {
		var next []engine.Command
		for _, c := range out {
			switch c.Kind {
			case engine.CmdReserve:
				next = append(next, r.OnSlot(now, now)...)
			case engine.CmdAction:
				acts = append(acts, c.Action)
				next = append(next, r.OnActionDone(now)...)
			}
		}
		out = next
	}
	if len(acts) != 5 {
		t.Fatalf("%d actions, want 5", len(acts))
	}
	const line = "Evil <!channel> & *Co* Inc"
	type fields struct{ Subject, Body, ReplyTo, Text, Title, Reason, Chat, Description string }
	want := []fields{
		{Subject: "Hi " + line, Body: `**Dear** Evil \<\!channel\> \& \*Co\*` + "\nInc", ReplyTo: "jo@v.example", Title: "Hi " + line},
		{Subject: "s", Body: "b", ReplyTo: "max@v.example", Title: "s"},
		{Text: "<@U0999> Evil &lt;!channel&gt; &amp; *Co*\nInc\nsigned", Title: "<@U0999> " + line + " signed"},
		{Reason: "<b>" + line + "</b> is unhappy", Chat: "<b>Evil &lt;!channel&gt; &amp; *Co* Inc</b> is unhappy",
			Title: "Escalation: <b>" + line + "</b> is unhappy"},
		{Title: "Call " + line, Description: "About Evil <!channel> & *Co*\nInc\nsoon"},
	}
	for i, a := range acts {
		got := fields{a.Subject, a.Body, a.ReplyTo, a.Text, a.Title, a.Reason, a.Chat, a.Description}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s:\n got %+v\nwant %+v", a.Step, got, want[i])
		}
		if strings.ContainsAny(a.Summary, "\x07\x7f\r") {
			t.Errorf("%s: summary %q holds control characters", a.Step, a.Summary)
		}
	}
}

func TestEscapers(t *testing.T) {
	tests := []struct {
		f        func(string) string
		in, want string
	}{
		{engine.SingleLine, "a\tb\r\nc\nd\x00e\x1bf\x7fg", "a b c defg"},
		{engine.ChatValue, "<!here> & <@U1>\x00\n>", "&lt;!here&gt; &amp; &lt;@U1&gt;\n&gt;"},
		{engine.MarkdownValue, "jo@acme.example, 3.5 *bold* _it_ `c` [l](u) <b> &amp; ~s~ | \\", `jo@acme.example, 3.5 \*bold\* \_it\_ \` + "`" + `c\` + "`" + ` \[l\](u) \<b\> \&amp; \~s\~ \| \\`},
		{engine.MarkdownValue, "# h\n- item\n  + more\n12. x\n3) y\n=== \n> q\nplain 1. z", "\\# h\n\\- item\n  \\+ more\n12\\. x\n3\\) y\n\\=== \n\\> q\nplain 1. z"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("escape(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// An interpolation that fails stops the step: no message with a hole goes
// out, and the run fails with a reason naming the step, the field, the
// expression and the error, in the simulator as in the run itself.
func TestRunInterpolationFailure(t *testing.T) {
	tests := []struct {
		name, step, reason string
	}{
		{"subject", "{id: mail, do: email, subject: 'You have {{ customer.seats + 1 }} seats', body: hello}",
			`step mail failed: subject: playbooks/p.yaml:5:49: evaluating "customer.seats + 1": customer.seats is not set (nil): + cannot be applied to nil and an int`},
		{"template body", "{id: mail, do: email, template: t}",
			`step mail failed: template t: body: playbooks/templates/t.md:4:13: evaluating "customer.seats * 2": customer.seats is not set (nil): * cannot be applied to nil and an int`},
		{"notify text", "{id: tell, do: notify, text: 'seats: {{ customer.seats - 1 }}'}",
			`step tell failed: text: playbooks/p.yaml:5:45: evaluating "customer.seats - 1": customer.seats is not set (nil): - cannot be applied to nil and an int`},
		{"reply_to", "{id: mail, do: email, reply_to: 'customer.seats > 3 ? customer.csm : customer.manager', subject: s, body: b}",
			`step mail failed: reply_to: playbooks/p.yaml:5:38: evaluating "customer.seats > 3 ? customer.csm : customer.manager": customer.seats is not set (nil): > cannot compare nil with an int`},
		// An update would delete the attribute: it stops as well.
		{"update", "{id: bump, do: update, set: {plan: '\"gold\"', health: 'customer.seats + 1'}}",
			`step bump failed: set.health: playbooks/p.yaml:5:59: evaluating "customer.seats + 1": customer.seats is not set (nil): + cannot be applied to nil and an int`},
		{"stop reason", "{id: halt, stop: 'seats: {{ customer.seats + 1 }}'}",
			`step halt failed: reason: playbooks/p.yaml:5:33: evaluating "customer.seats + 1": customer.seats is not set (nil): + cannot be applied to nil and an int`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadSet(t, testSchema, "p.yaml", "playbook: p\ntrigger: {on: [contract.signed]}\nsteps:\n  - {id: first, do: notify, text: first}\n  - "+tt.step+"\n  - {id: after, do: notify, text: after}\n",
				"templates/t.md", "---\nsubject: s\n---\nYou have {{ customer.seats * 2 }} seats.\n")
			attrs := acmeAttrs()
			delete(attrs, "seats")
			_, r, out := startRun(t, set, attrs, signedAt("2026-01-05T10:00:00Z"))
			out = append(out, r.OnActionDone(utc("2026-01-05T10:00:00Z"))...)
			diffLines(t, cmds(out), []string{"record run.started -", "record action first", "action notify first", "record run.failed -"})
			rec := out[len(out)-1].Record
			if rec == nil {
				t.Fatal("the run did not end with a record")
			}
			if rec.Reason != tt.reason || r.Status != engine.StatusFailed || r.Reason != rec.Reason {
				t.Errorf("run %s, reason\n %q\nwant\n %q", r.Status, rec.Reason, tt.reason)
			}

			// The simulator tells the same story.
			recs := simulate(t, set, scenario("2026-01-06T00:00:00Z", []string{`{id: acme, name: Acme, csm: jo@v.example, manager: max@v.example, contact_email: it@acme.example}`}, signed))
			diffLines(t, show(recs, false), []string{
				"01-05 10:00 p - run.started owner=jo@v.example",
				"01-05 10:00 p first action action=notify",
				"01-05 10:00 p - run.failed",
			})
			if last := recs[len(recs)-1]; last.Reason != rec.Reason {
				t.Errorf("simulate's reason %q, the run's %q", last.Reason, rec.Reason)
			}
		})
	}
}

// A customer with no CSM gets no Reply-To: replies go to the sender.
func TestRunReplyToUnset(t *testing.T) {
	set := loadSet(t, testSchema, "p.yaml", `
playbook: p
reply_to: customer.csm
trigger: {on: [contract.signed]}
steps:
  - {id: mail, do: email, subject: s, body: b}
`)
	attrs := acmeAttrs()
	delete(attrs, "csm")
	_, _, out := startRun(t, set, attrs, signedAt("2026-01-05T10:00:00Z"))
	if a := out[len(out)-1].Action; a == nil || a.ReplyTo != "" || a.Kind != lang.ActionEmail {
		t.Errorf("action %+v, want an email without Reply-To", a)
	}
}
