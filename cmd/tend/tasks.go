package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// tasksCmd is `tend tasks`: list and complete.
type tasksCmd struct {
	List     tasksListCmd     `cmd:"" help:"list open tasks, soonest due first"`
	Complete tasksCompleteCmd `cmd:"" help:"mark a task done"`
}

// tasksListCmd is `tend tasks list`.
type tasksListCmd struct {
	Owner   string `help:"only tasks of this person"`
	Overdue bool   `help:"only tasks past their due time"`
	Format  string `enum:"table,json" default:"table" help:"output: table or json"`

	Client clientFlags `embed:""`
}

func (a *tasksListCmd) Run(env *cliEnv) error {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	now := time.Now()
	items, err := control.ListTasks(ctx, c, control.TaskFilter{Owner: a.Owner, Overdue: a.Overdue, Now: now})
	var unread *control.UnreadError
	if err != nil && !errors.As(err, &unread) {
		return failed(err)
	}
	// Some runs did not answer: the others' tasks are listed, then the
	// command fails naming those left out.
	if a.Format == "json" {
		if items == nil {
			items = []control.TaskItem{}
		}
		if werr := writeJSON(env.stdout, items); werr != nil {
			return werr
		}
	} else {
		writeTasks(env.stdout, items, now)
	}
	if unread != nil {
		return failed(unread)
	}
	return nil
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

// tasksCompleteCmd is `tend tasks complete`.
type tasksCompleteCmd struct {
	TaskID  string `arg:"" name:"task-id" help:"the task, <playbook>/<customer>/<n>/<step>/<occurrence>, as tend tasks list shows"`
	Outcome string `help:"what came of it, e.g. held, or a note; playbooks may read it"`
	At      string `help:"when it was done (RFC 3339, or a date); default now"`

	Client clientFlags `embed:""`

	at time.Time // --at, parsed
}

// Validate checks the task id and --at. kong calls it, before it checks
// that the id is there.
func (a *tasksCompleteCmd) Validate() error {
	if a.TaskID == "" {
		return nil
	}
	if _, _, err := control.ParseTaskID(a.TaskID); err != nil {
		return usageError(err)
	}
	if err := control.CheckOutcome(strings.TrimSpace(a.Outcome)); err != nil {
		return usagef("--outcome: %v", err)
	}
	if a.At != "" {
		t, err := lang.ParseEventTime(a.At)
		if err != nil {
			return usagef("--at: %v", err)
		}
		a.at = t
	}
	return nil
}

func (a *tasksCompleteCmd) Run(env *cliEnv) error {
	at := a.at
	if at.IsZero() {
		at = time.Now().UTC().Truncate(time.Millisecond)
	}
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	cfg, _ := env.config() // read by connect already
	if err := checkEncrypting(ctx, c, a.Client.Conn.Namespace, cfg); err != nil {
		return err
	}
	res, err := control.CompleteTask(ctx, c, a.TaskID, strings.TrimSpace(a.Outcome), at)
	if err != nil {
		if errors.Is(err, control.ErrNotFound) {
			return failedf("%v; tend tasks list shows the open tasks", err)
		}
		if errors.Is(err, control.ErrConflict) {
			return failedf("%v", err)
		}
		return err
	}
	fmt.Fprintf(env.stdout, "completed %s; run %s is %s\n", res.Task, res.Run, res.Status)
	return nil
}
