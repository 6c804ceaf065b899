package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/alecthomas/kong"

	"github.com/tend-cs/tend/control"
)

type runsArgs struct {
	List runsListArgs `cmd:"" help:"list runs, newest first"`
	Show runsShowArgs `cmd:"" help:"show a run: its status, open tasks and timeline in plain words"`

	cmd string
}

// AfterApply records which subcommand kong selected.
func (a *runsArgs) AfterApply(ctx *kong.Context) error {
	a.cmd = ctx.Selected().Name
	return nil
}

type runsListArgs struct {
	Customer string `help:"only this customer's runs"`
	Playbook string `help:"only runs of this playbook"`
	Status   string `help:"only runs with this status: running, waiting, overdue, escalated, completed, exited, expired or failed"`
	Step     string `help:"only runs at this step"`
	Owner    string `help:"only runs owned by this person"`
	Limit    int    `default:"100" help:"at most this many runs"`
	Format   string `enum:"table,json" default:"table" help:"output: table or json"`

	Conn connFlags `embed:""`
}

type runsShowArgs struct {
	RunID  string `arg:"" name:"run-id" help:"the run, run/<playbook>/<customer>/<n>"`
	Format string `enum:"text,json" default:"text" help:"output: text or json"`

	Conn connFlags `embed:""`
}

// runsCmd implements `tend runs list` and `tend runs show`.
func runsCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var a runsArgs
	if code, done := parse("runs", &a, args, stdout, stderr); done {
		return code
	}
	if a.cmd == "show" {
		return runsShow(a.Show, stdout, stderr)
	}
	return runsList(a.List, stdout, stderr)
}

func runsList(a runsListArgs, stdout, stderr io.Writer) int {
	f := control.RunFilter{Customer: a.Customer, Playbook: a.Playbook, Status: a.Status, Step: a.Step, Owner: a.Owner, Limit: a.Limit}
	if a.Limit < 1 {
		fmt.Fprintf(stderr, "tend runs list: --limit %d: want 1 or more\n", a.Limit)
		return exitUsage
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "tend runs list: --%v\n", err)
		return exitUsage
	}
	ctx, c, done, code := a.Conn.connect("runs list", stderr)
	if code != exitOK {
		return code
	}
	defer done()
	runs, err := control.ListRuns(ctx, c, f)
	if err != nil {
		fmt.Fprintf(stderr, "tend runs list: %v\n", err)
		return exitRemote
	}
	if a.Format == "json" {
		if runs == nil {
			runs = []control.RunSummary{}
		}
		return writeJSON(stdout, stderr, "runs list", runs)
	}
	writeRuns(stdout, runs)
	return exitOK
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

func runsShow(a runsShowArgs, stdout, stderr io.Writer) int {
	if err := control.CheckRunID(a.RunID); err != nil {
		fmt.Fprintf(stderr, "tend runs show: %v\n", err)
		return exitUsage
	}
	ctx, c, done, code := a.Conn.connect("runs show", stderr)
	if code != exitOK {
		return code
	}
	defer done()
	view, err := control.ShowRun(ctx, c, a.RunID)
	if err != nil {
		fmt.Fprintf(stderr, "tend runs show: %v\n", err)
		return exitRemote
	}
	if a.Format == "json" {
		return writeJSON(stdout, stderr, "runs show", view)
	}
	control.FormatTimeline(stdout, view)
	return exitOK
}

func writeJSON(stdout, stderr io.Writer, name string, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "tend %s: %v\n", name, err)
		return exitRemote
	}
	return exitOK
}
