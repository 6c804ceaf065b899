package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tend-cs/tend/control"
)

// runsCmd is `tend runs`: list, show and retry.
type runsCmd struct {
	List  runsListCmd  `cmd:"" help:"list runs, newest first"`
	Show  runsShowCmd  `cmd:"" help:"show a run: its status, open tasks and timeline in plain words"`
	Retry runsRetryCmd `cmd:"" help:"retry the failed step of stalled runs, with the same idempotency key"`
}

// runsListCmd is `tend runs list`.
type runsListCmd struct {
	Customer string `help:"only this customer's runs"`
	Playbook string `help:"only runs of this playbook"`
	Status   string `help:"only runs with this status: running, waiting, tasks-open, overdue, escalated, stalled, completed, exited, expired or failed"`
	Step     string `help:"only runs at this step"`
	Owner    string `help:"only runs owned by this person"`
	Limit    int    `default:"100" help:"at most this many runs"`
	Format   string `enum:"table,json" default:"table" help:"output: table or json"`

	Client clientFlags `embed:""`
}

func (a *runsListCmd) filter() control.RunFilter {
	return control.RunFilter{Customer: a.Customer, Playbook: a.Playbook, Status: a.Status, Step: a.Step, Owner: a.Owner, Limit: a.Limit}
}

// Validate checks the filter. kong calls it.
func (a *runsListCmd) Validate() error {
	if a.Limit < 1 {
		return usagef("--limit %d: want 1 or more", a.Limit)
	}
	if err := a.filter().Validate(); err != nil {
		return usagef("--%v", err)
	}
	return nil
}

func (a *runsListCmd) Run(env *cliEnv) error {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	f := a.filter()
	// With a codec, TendOwner names owners by hash; connect has read the config.
	if cfg, err := env.config(); err == nil && cfg.Codec != nil {
		f.OwnerHashed = true
	}
	runs, err := control.ListRuns(ctx, c, f)
	if err != nil {
		return failed(err)
	}
	if a.Format == "json" {
		if runs == nil {
			runs = []control.RunSummary{}
		}
		return writeJSON(env.stdout, runs)
	}
	writeRuns(env.stdout, runs)
	return nil
}

func writeRuns(w io.Writer, runs []control.RunSummary) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no runs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCUSTOMER\tPLAYBOOK\tSTEP\tOWNER\tSTATUS\tSTARTED\tENDED")
	for _, r := range runs {
		ended := "-"
		if r.Close != nil {
			ended = r.Close.UTC().Format(control.TimeLayout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Customer, r.Playbook, dash(r.Step), dash(r.Owner), r.Status,
			r.Start.UTC().Format(control.TimeLayout), ended)
	}
	tw.Flush()
}

// runsShowCmd is `tend runs show`.
type runsShowCmd struct {
	RunID  string `arg:"" name:"run-id" help:"the run, run/<playbook>/<customer>/<n>"`
	Format string `enum:"text,json" default:"text" help:"output: text or json"`

	Client clientFlags `embed:""`
}

// Validate checks the run id. kong calls it, before it checks that the
// id is there.
func (a *runsShowCmd) Validate() error {
	if a.RunID == "" {
		return nil
	}
	if err := control.CheckRunID(a.RunID); err != nil {
		return usageError(err)
	}
	return nil
}

func (a *runsShowCmd) Run(env *cliEnv) error {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	view, err := control.ShowRun(ctx, c, a.RunID)
	if err != nil {
		return failed(err)
	}
	if a.Format == "json" {
		return writeJSON(env.stdout, view)
	}
	control.FormatTimeline(env.stdout, view)
	return nil
}

func writeJSON(stdout io.Writer, v any) error {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return failed(err)
	}
	return nil
}
