package engine_test

import (
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	set := loadSet(t, testSchema, "a.yaml", `
playbook: onboard
stage: onboarding
trigger:
  on: [contract.signed]
steps:
  - id: welcome
    do: email
    subject: "Hi {{ customer.name }}"
    body: "plan {{ event.data.plan }}"
  - id: kickoff
    do: call
    title: "Kickoff {{ customer.name }}"
    overdue:
      - do: notify
        channel: cs
        text: late
  - wait: 2 business days
  - id: t
    do: task
    title: x
    wait: false
`)
	recs := simulate(t, set, `
start: 2026-01-05T00:00:00Z
until: 2026-01-20T00:00:00Z
customers:
  - {id: acme, name: Acme, csm: jo@v, contact_email: it@acme, manager: max@v}
events:
  - {at: 2026-01-05T15:00:00Z, customer: acme, type: contract.signed, data: {plan: pro}}
  - {at: 2026-01-06T15:00:00Z, customer: acme, type: task.completed, data: {playbook: onboard, step: kickoff}}
`)
	for _, l := range show(recs) {
		fmt.Println(l)
	}
}
