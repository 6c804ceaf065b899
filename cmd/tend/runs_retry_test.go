package main

import (
	"strings"
	"testing"
)

// TestRunsRetryUsage: tend runs retry names runs or --failed, and bad
// input is exit 2 before anything is dialed.
func TestRunsRetryUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name the runs to retry, or give --failed"},
		{[]string{"run/onboarding/acme/1", "--failed"}, "give run ids or --failed, not both"},
		{[]string{"--since", "24h"}, "--since goes with --failed"},
		{[]string{"--failed", "--since", "yesterday"}, `--since "yesterday" is not a duration such as 24h, 90m or 7d`},
		{[]string{"--failed", "--since=-3h"}, `must be positive`},
		{[]string{"onboarding/acme/1"}, `run id "onboarding/acme/1": want run/<playbook>/<customer>/<n>`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := mustRun(t, exitUsage, append([]string{"runs", "retry", "--address", "127.0.0.1:1"}, tt.args...)...)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
		})
	}
}
