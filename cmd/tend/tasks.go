package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
)

type tasksArgs struct {
	List     tasksListArgs     `cmd:"" help:"list open tasks, soonest due first"`
	Complete tasksCompleteArgs `cmd:"" help:"mark a task done"`

	cmd string
}

// AfterApply records which subcommand kong selected.
func (a *tasksArgs) AfterApply(ctx *kong.Context) error {
	a.cmd = ctx.Selected().Name
	return nil
}

type tasksListArgs struct {
	Owner   string `help:"only tasks of this person"`
	Overdue bool   `help:"only tasks past their due time"`
	Format  string `enum:"table,json" default:"table" help:"output: table or json"`

	Conn connFlags `embed:""`
}

type tasksCompleteArgs struct {
	TaskID  string `arg:"" name:"task-id" help:"the task, <playbook>/<customer>/<n>/<step>/<occurrence>, as tend tasks list shows"`
	Outcome string `help:"what came of it, e.g. held, or a note; playbooks may read it"`
	At      string `help:"when it was done (RFC 3339, or a date); default now"`

	Conn connFlags `embed:""`
}

// tasksCmd implements `tend tasks list` and `tend tasks complete`.
func tasksCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var a tasksArgs
	if code, done := parse("tasks", &a, args, stdout, stderr); done {
		return code
	}
	if a.cmd == "complete" {
		return tasksComplete(a.Complete, stdout, stderr)
	}
	return tasksList(a.List, stdout, stderr)
}

func tasksList(a tasksListArgs, stdout, stderr io.Writer) int {
	ctx, c, done, code := a.Conn.connect("tasks list", stderr)
	if code != exitOK {
		return code
	}
	defer done()
	now := time.Now()
	items, err := control.ListTasks(ctx, c, control.TaskFilter{Owner: a.Owner, Overdue: a.Overdue, Now: now})
	if err != nil {
		fmt.Fprintf(stderr, "tend tasks list: %v\n", err)
		return exitRemote
	}
	if a.Format == "json" {
		if items == nil {
			items = []control.TaskItem{}
		}
		return writeJSON(stdout, stderr, "tasks list", items)
	}
	writeTasks(stdout, items, now)
	return exitOK
}

func writeTasks(w io.Writer, items []control.TaskItem, now time.Time) {
	if len(items) == 0 {
		fmt.Fprintln(w, "no open tasks")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tOWNER\tCUSTOMER\tWHAT\tTASK")
	for _, it := range items {
		due := "-"
		if !it.Due.IsZero() {
			due = it.Due.UTC().Format(control.TimeLayout)
			if it.Overdue || it.Due.Before(now) {
				due += " (overdue)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", due, dash(it.Owner), it.Customer, taskWhat(it.Task), it.ID)
	}
	tw.Flush()
}

func taskWhat(t engine.Task) string {
	if t.Title == "" {
		return t.Action
	}
	return t.Action + " " + fmt.Sprintf("%q", t.Title)
}

func tasksComplete(a tasksCompleteArgs, stdout, stderr io.Writer) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "tend tasks complete: "+format+"\n", args...)
		return code
	}
	if _, _, err := control.ParseTaskID(a.TaskID); err != nil {
		return fail(exitUsage, "%v", err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if a.At != "" {
		t, err := engine.ParseTime(a.At)
		if err != nil {
			return fail(exitUsage, "--at: %v", err)
		}
		at = t
	}
	ctx, c, done, code := a.Conn.connect("tasks complete", stderr)
	if code != exitOK {
		return code
	}
	defer done()
	if err := control.CompleteTask(ctx, c, a.TaskID, strings.TrimSpace(a.Outcome), at); err != nil {
		return fail(exitRemote, "%v", err)
	}
	fmt.Fprintf(stdout, "sent task.completed for %s\n", a.TaskID)
	return exitOK
}
