package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
)

func TestRunsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"runs"}, `tend runs: expected one of "list", "show"`},
		{"show without id", []string{"runs", "show"}, `tend runs: expected "<run-id>"`},
		{"show a journey", []string{"runs", "show", "customer/acme"}, `tend runs show: run id "customer/acme": want run/<playbook>/<customer>/<n>, as tend runs list shows` + "\n"},
		{"bad format", []string{"runs", "list", "--format", "xml"}, `tend runs: --format must be one of "table","json" but got "xml"`},
		{"bad show format", []string{"runs", "show", "run/a/b/1", "--format", "table"}, `tend runs: --format must be one of "text","json" but got "table"`},
		{"bad status", []string{"runs", "list", "--status", "done"}, `tend runs list: --status "done": want one of running, waiting, tasks-open, overdue, escalated, stalled, completed, exited, expired, failed` + "\n"},
		{"zero limit", []string{"runs", "list", "--limit", "0"}, "tend runs list: --limit 0: want 1 or more\n"},
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

func TestRunsHelp(t *testing.T) {
	r := mustRun(t, exitOK, "runs", "--help")
	contains(t, "stdout", r.stdout, "list [flags]", "show <run-id> [flags]")
	r = mustRun(t, exitOK, "runs", "list", "--help")
	contains(t, "stdout", r.stdout, "--customer=", "--playbook=", "--status=", "--step=", "--owner=", "--format=", "--namespace=")
}

func TestWriteRuns(t *testing.T) {
	closed := time.Date(2026, 4, 22, 15, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	writeRuns(&buf, []control.RunSummary{
		{ID: "run/enterprise-onboarding/acme/1", Customer: "acme", Playbook: "enterprise-onboarding", Step: "kickoff", Owner: "jo@vendor.example", Status: "overdue", Start: time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)},
		{ID: "run/nps/globex/2", Customer: "globex", Playbook: "nps", Status: "completed", Start: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC), Close: &closed},
	})
	want := `RUN                               CUSTOMER  PLAYBOOK               STEP     OWNER              STATUS     STARTED               ENDED
run/enterprise-onboarding/acme/1  acme      enterprise-onboarding  kickoff  jo@vendor.example  overdue    2026-01-05 15:00 UTC  -
run/nps/globex/2                  globex    nps                    -        -                  completed  2026-04-01 09:00 UTC  2026-04-22 15:00 UTC
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	writeRuns(&buf, nil)
	if buf.String() != "no runs\n" {
		t.Errorf("empty: %q", buf.String())
	}
}
