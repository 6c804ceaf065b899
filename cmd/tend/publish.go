package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/publish"
	"github.com/tend-cs/tend/workflows"
)

// publishCmd is `tend publish`: validate a playbook set, replay the open
// workflows with it, report, and make it the store's active set.
type publishCmd struct {
	Config string        `default:"tend.yaml" env:"TEND_CONFIG" help:"runtime configuration: temporal:, playbooks:, and the chat channels and endpoints the set is checked against, as workers check it; the default file may be missing"`
	Set    playbookFlags `embed:""`
	Dir    string        `arg:"" optional:"" placeholder:"DIR" help:"the playbook directory to publish (default: --playbooks)"`
	Store  string        `default:".tend/sets" help:"the store of playbook sets every worker shares (tend worker --store)"`
	Replay int           `default:"50" placeholder:"N" help:"replay the N most recent open workflows of each type (journeys, runs, calendars) before activating; default 50"`
	DryRun bool          `help:"check and report, write nothing: exit 0 if publishing would succeed, 1 if not (for CI)"`
	Format string        `enum:"text,json" default:"text" help:"output: text, or json (an invalid set as tend validate --format json prints it, else the report)"`
	Conn   connFlags     `embed:""`
}

// Help is the text `tend publish --help` prints under the summary.
func (a *publishCmd) Help() string {
	return "Validates the set with tend validate's checks, replays the most recent open journeys, runs and calendars " +
		"with this build's workflow code and the new set, and prints which playbooks changed, which running runs stay " +
		"on their version and which customers' triggers would now decide differently. Then it writes the set to the " +
		"store and makes it the active set, which workers that follow the store switch to without a restart. " +
		"Exit 0 published (or already active), 1 invalid or refused (nothing is written), 2 usage, 3 Temporal unreachable. " +
		"See docs/publish.md.\n"
}

// Validate checks the flags. kong calls it (and connFlags.Validate).
func (a *publishCmd) Validate() error {
	switch {
	case a.Replay <= 0:
		return usagef("--replay %d: want a positive number of workflows, such as 50", a.Replay)
	case a.Store == "":
		return usagef("--store is empty; give the directory every worker shares, such as /mnt/tend/sets")
	}
	// A store that does not exist yet is created by the first publish;
	// anything else at that path is a mistake in the flag.
	switch fi, err := os.Stat(a.Store); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return usagef("--store %s: cannot read it: %v", a.Store, errors.Unwrap(err))
	case !fi.IsDir():
		return usagef("--store %s is not a directory; give the directory of playbook sets every worker shares, such as /mnt/tend/sets", a.Store)
	}
	return nil
}

func (a *publishCmd) Run(env *cliEnv) error {
	cfg, err := env.config()
	if err != nil {
		return err
	}
	dir := a.Dir
	if dir == "" {
		dir = a.Set.Playbooks
	}
	targets := node.Targets(cfg)
	errs, pbs, err := checkSets([]string{dir}, &targets)
	if err != nil {
		return usageError(err)
	}
	if len(errs) > 0 {
		if a.Format == "json" {
			writeValidateJSON(env.stdout, errs, pbs)
		} else {
			printErrors(env.stdout, env.stderr, errs)
		}
		return failedf("the playbooks in %s are invalid; nothing was published", dir)
	}
	b, set, errs, err := node.ReadBundle(dir, &targets)
	switch {
	case err != nil:
		return usageError(err)
	case len(errs) > 0:
		// Checked above; only a file changed meanwhile gets here.
		return failed(&listError{errs: errs, msg: fmt.Sprintf("the playbooks in %s changed while being published and are invalid; nothing was published", dir)})
	}

	ctx, c, done, err := a.Conn.connectNoDeadline(env)
	if err != nil {
		return err
	}
	defer done()
	store := workflows.DirStore{Dir: a.Store}
	// The replay reads the histories' payloads as the workers wrote them.
	cdc, err := newCodec(cfg)
	if err != nil {
		return usageError(err)
	}
	rep, err := publish.Publish(ctx, publish.Options{Client: c, Store: store,
		Bundle: b, Set: set, Replay: a.Replay, DryRun: a.DryRun, Codec: cdc})
	if err != nil {
		return fmt.Errorf("nothing was published: %w", err)
	}
	if a.Format == "json" {
		if err := writeJSON(env.stdout, struct {
			OK bool `json:"ok"`
			*publish.Report
		}{rep.OK(), rep}); err != nil {
			return err
		}
	} else {
		rep.WriteText(env.stdout, a.Store)
	}
	if !rep.OK() {
		return failedf("refused: %d open %s would not replay with this build and set %s; nothing was published",
			len(rep.Failures), plural(len(rep.Failures), "workflow", "workflows"), rep.Version)
	}
	return nil
}
