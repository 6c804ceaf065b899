package lang

import (
	"strings"
	"testing"
)

const targetsPlaybook = `playbook: alerts
trigger:
  on: [contract.signed]
steps:
  - id: team
    do: notify
    channel: cs-alert
    text: hi
  - id: default
    do: notify
    text: hi
  - id: crm
    do: webhook
    endpoint: hubspt
    body: {a: b}
  - id: boss
    do: escalate
    to: customer.csm
    reason: late
    channel: exec
    when: true
  - do: task
    title: t
    overdue:
      - id: nested
        do: notify
        channel: cs-alerts
        text: overdue
      - id: nested-crm
        do: webhook
        endpoint: crm
  - id: boss-anywhere
    do: escalate
    to: customer.csm
    reason: late
`

func TestCheckTargets(t *testing.T) {
	set, errs := Load([]File{
		{Path: "schema.yaml", Data: []byte("customer:\n  csm: string\nevents:\n  contract.signed: {}\n")},
		{Path: "alerts.yaml", Data: []byte(targetsPlaybook)},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cases := []struct {
		name string
		t    Targets
		want []string
	}{
		{"nothing configured: the outbox takes any name", Targets{File: "tend.yaml"}, nil},
		{"all configured", Targets{File: "tend.yaml", Channels: []string{"cs-alert", "cs-alerts", "exec"}, DefaultChannel: "cs-alerts", Endpoints: []string{"crm", "hubspt"}}, nil},
		{"typos", Targets{File: "tend.yaml", Channels: []string{"cs-alerts", "exec"}, DefaultChannel: "cs-alerts", Endpoints: []string{"crm", "hubspot"}}, []string{
			"alerts.yaml:7:14: playbook alerts: step team: chat channel cs-alert is not configured in tend.yaml (its channels are cs-alerts, exec); did you mean cs-alerts?",
			"alerts.yaml:14:15: playbook alerts: step crm: endpoint hubspt is not configured in tend.yaml (its endpoints are crm, hubspot); did you mean hubspot?",
		}},
		{"no default channel", Targets{File: "tend.yaml", Channels: []string{"cs-alert", "cs-alerts", "exec"}}, []string{
			"alerts.yaml:9:5: playbook alerts: step default: do: notify names no channel, and tend.yaml sets no chat.default; name one of cs-alert, cs-alerts or exec",
			"alerts.yaml:32:5: playbook alerts: step boss-anywhere: escalate needs channel: or chat.default when tend.yaml has several chat channels; name one of cs-alert, cs-alerts or exec",
		}},
		{"escalation and nested steps", Targets{Channels: []string{"cs-alert"}, DefaultChannel: "cs-alert", Endpoints: []string{"hubspt"}}, []string{
			"alerts.yaml:20:14: playbook alerts: step boss: chat channel exec is not configured in the configuration (its channels are cs-alert)",
			"alerts.yaml:27:18: playbook alerts: step nested: chat channel cs-alerts is not configured in the configuration (its channels are cs-alert); did you mean cs-alert?",
			"alerts.yaml:31:19: playbook alerts: step nested-crm: endpoint crm is not configured in the configuration (its endpoints are hubspt)",
		}},
	}
	for _, c := range cases {
		var got []string
		for _, e := range set.CheckTargets(c.t) {
			got = append(got, e.Error())
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got: %s\nwant: %s", c.name, strings.Join(got, "\n      "), strings.Join(c.want, "\n      "))
		}
	}
}
