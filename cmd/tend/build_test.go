package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNodevLeavesOutTheServer checks that a build with -tags nodev (the
// production image's) links neither the Temporal server nor its Web UI:
// they are what makes the full binary several times larger.
func TestNodevLeavesOutTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, tt := range []struct {
		tags string
		want bool // whether the server is in the graph
	}{
		{"nodev", false},
		{"", true}, // the check itself can fail: the full build has the server
	} {
		out, err := exec.Command(goTool, "list", "-deps", "-tags", tt.tags, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps -tags %q: %v\n%s", tt.tags, err, out)
		}
		var server []string
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "go.temporal.io/server/") || strings.HasPrefix(p, "github.com/temporalio/ui-server/") ||
				p == "github.com/tend-cs/tend/devserver" {
				server = append(server, p)
			}
		}
		if got := len(server) > 0; got != tt.want {
			t.Errorf("-tags %q: server packages in the build graph = %v (%d of them), want %v; first: %v",
				tt.tags, got, len(server), tt.want, server[:min(3, len(server))])
		}
	}
}
