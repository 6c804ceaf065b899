package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
)

func TestTasksUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"tasks"}, `tend tasks: expected one of "list", "complete"`},
		{"complete without id", []string{"tasks", "complete"}, `tend tasks: expected "<task-id>"`},
		{"malformed id", []string{"tasks", "complete", "kickoff"}, `tend tasks complete: task id "kickoff": too few parts; want <playbook>/<customer>/<n>/<step>/<occurrence>, as tend tasks list shows` + "\n"},
		{"bad occurrence", []string{"tasks", "complete", "pb/acme/1/kickoff/first"}, `tend tasks complete: task id "pb/acme/1/kickoff/first": occurrence "first" is not a count`},
		{"outcome too long", []string{"tasks", "complete", "pb/acme/1/kickoff/1", "--outcome", strings.Repeat("x", control.MaxOutcome+1)}, `tend tasks complete: --outcome: outcome is 4097 bytes; at most 4096 are allowed`},
		{"bad time", []string{"tasks", "complete", "pb/acme/1/kickoff/1", "--at", "now"}, `tend tasks complete: --at: "now" is not a time`},
		{"bad format", []string{"tasks", "list", "--format", "csv"}, `tend tasks: --format must be one of "table","json" but got "csv"`},
		{"overdue takes no value", []string{"tasks", "list", "--overdue=maybe"}, `tend tasks: --overdue: bool value must be true, 1, yes, false, 0 or no but got "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if len(args) > 1 {
				args = append(args, "--address", closedAddr(t))
			}
			r := mustRun(t, exitUsage, args...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
		})
	}
}

func TestWriteTasks(t *testing.T) {
	now := time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	writeTasks(&buf, []control.TaskItem{
		{Task: engine.Task{ID: "enterprise-onboarding/acme/1/kickoff/1", Action: "call", Title: "Kickoff with Acme", Owner: "jo@vendor.example", Due: time.Date(2026, 1, 8, 15, 0, 0, 0, time.UTC)}, Customer: "acme"},
		{Task: engine.Task{ID: "enterprise-onboarding/acme/1/kickoff-escalation/1", Action: "escalate", Title: "Escalation: kickoff not held", Owner: "max@vendor.example", Due: time.Date(2026, 1, 12, 15, 0, 0, 0, time.UTC)}, Customer: "acme"},
		{Task: engine.Task{ID: "renewal/globex/1/prep/1", Action: "task", Owner: "ana@vendor.example"}, Customer: "globex"},
	}, now)
	want := `DUE                             OWNER               CUSTOMER  WHAT                                     TASK
2026-01-08 15:00 UTC (overdue)  jo@vendor.example   acme      call "Kickoff with Acme"                 enterprise-onboarding/acme/1/kickoff/1
2026-01-12 15:00 UTC            max@vendor.example  acme      escalate "Escalation: kickoff not held"  enterprise-onboarding/acme/1/kickoff-escalation/1
-                               ana@vendor.example  globex    task                                     renewal/globex/1/prep/1
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	writeTasks(&buf, nil, now)
	if buf.String() != "no open tasks\n" {
		t.Errorf("empty: %q", buf.String())
	}
}
