//go:build nodev

package main

// devCommand puts tend dev in the command line (cli embeds it), hidden
// from tend --help: this build cannot run it, but tend dev still says why.
type devCommand struct {
	Dev devCmd `cmd:"" hidden:"" help:"not in this build (built with -tags nodev)"`
}

// devCmd is `tend dev` in a build without the embedded Temporal server
// (go build -tags nodev): the production image leaves the server and its
// Web UI out, which makes the binary several times smaller. It takes any
// arguments, so that `tend dev --port 7233` says why rather than naming
// the flag.
type devCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" hidden:""`
}

// Help is the text `tend dev --help` prints under the summary.
func (a *devCmd) Help() string { return nodevMessage + "\n" }

// nodevMessage says why tend dev does not run, and what to do instead.
const nodevMessage = "this build of tend has no embedded dev server (built with -tags nodev); " +
	"use a full build (go install github.com/tend-cs/tend/cmd/tend) or a Temporal cluster (tend worker --address HOST:PORT)"

// Run refuses: there is no server to run.
func (a *devCmd) Run(env *cliEnv) error { return failedf("%s", nodevMessage) }
