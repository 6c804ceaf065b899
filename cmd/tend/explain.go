package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// explainCmd is `tend explain`: why each playbook did or did not start
// for a customer, from its live journey or from a simulated scenario.
type explainCmd struct {
	Customer string `arg:"" help:"the customer id"`
	Path     string `arg:"" optional:"" help:"with --scenario: the playbook directory (default: --playbooks)"`
	Playbook string `help:"only this playbook"`
	Format   string `enum:"text,json" default:"text" help:"output: text or json"`
	Scenario string `placeholder:"FILE" help:"explain from a simulation of this scenario, not from the live journey"`
	At       string `placeholder:"TIME" help:"with --scenario: as of this time, what happens at it included (RFC 3339 or a date; default: the scenario's until)"`

	Client clientFlags `embed:""`
}

// Validate checks the flags. kong calls it.
func (a *explainCmd) Validate() error {
	if a.Customer != "" {
		if err := lang.CheckCustomerID(a.Customer); err != nil {
			return usageError(err)
		}
	}
	if a.Scenario == "" {
		switch {
		case a.Path != "":
			return usagef("a playbook directory (%s) is read only with --scenario; the live journey runs the worker's playbooks", a.Path)
		case a.At != "":
			return usagef("--at needs --scenario; the live journey explains its last event and daily check")
		}
	}
	if a.At != "" {
		if _, err := lang.ParseTime(a.At); err != nil {
			return usagef("--at: %v", err)
		}
	}
	return nil
}

func (a *explainCmd) Run(env *cliEnv) error {
	var ex *control.Explanation
	var err error
	if a.Scenario != "" {
		ex, err = a.simulated()
	} else {
		ex, err = a.live(env)
	}
	if err != nil {
		return err
	}
	if a.Format == "json" {
		return writeJSON(env.stdout, ex)
	}
	writeExplanation(env.stdout, ex)
	return nil
}

func (a *explainCmd) live(env *cliEnv) (*control.Explanation, error) {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return nil, err
	}
	defer done()
	ex, err := control.Explain(ctx, c, a.Customer, a.Playbook)
	if errors.Is(err, engine.ErrUnknownPlaybook) {
		return nil, usageError(err)
	}
	if err != nil {
		return nil, failed(err)
	}
	return ex, nil
}

// simulated runs the scenario for the customer, as tend simulate would,
// and explains the journey it ends with.
func (a *explainCmd) simulated() (*control.Explanation, error) {
	dir := a.Path
	if dir == "" {
		dir = a.Client.Set.Playbooks
	}
	set, err := loadSet(dir)
	if err != nil {
		var le *listError
		if errors.As(err, &le) {
			return nil, failed(err)
		}
		return nil, usageError(err)
	}
	in, err := simInput(simulateCmd{Scenario: a.Scenario}, set)
	if err != nil {
		return nil, err
	}
	if a.At != "" {
		at, _ := lang.ParseTime(a.At)
		if at.Before(in.Start) {
			return nil, usagef("--at %s is before the scenario's start %s", at.Format(time.RFC3339), in.Start.Format(time.RFC3339))
		}
		in.Until = at.Add(time.Nanosecond)
	}
	r, err := sim.Explain(set, in, a.Customer)
	if err != nil {
		return nil, usageError(err)
	}
	if a.Playbook != "" {
		if err := r.Only(a.Playbook); err != nil {
			return nil, usageError(err)
		}
	}
	return &control.Explanation{Version: set.Version, Report: r}, nil
}

// writeExplanation prints an explanation in plain words: what the journey
// last evaluated, then one block per playbook.
func writeExplanation(w io.Writer, ex *control.Explanation) {
	fmt.Fprintf(w, "customer %s, playbook set %s\n", ex.Customer, ex.Version)
	if c := ex.LastEvent; c != nil {
		fmt.Fprintf(w, "last event: %s at %s\n", eventName(c.Type, c.ID), eventTimes(c.EventAt, c.At))
	} else {
		fmt.Fprintln(w, "last event: none yet")
	}
	if c := ex.LastDaily; c != nil {
		fmt.Fprintf(w, "last daily check: %s\n", c.At.UTC().Format(control.TimeLayout))
	} else {
		fmt.Fprintln(w, "last daily check: none yet")
	}
	for _, p := range ex.Playbooks {
		on := strings.Join(p.On, ", ")
		if on == "" {
			on = "nothing"
		}
		fmt.Fprintf(w, "\n%s (on %s)\n", p.Playbook, on)
		if p.Event != nil && p.Event.Outcome == engine.OutcomeNoMatch && p.Earlier == nil &&
			(p.Daily == nil || p.Daily.Outcome == engine.OutcomeNoMatch) {
			what := "not triggered by the last event (" + p.Event.Trigger + ")"
			if p.Daily != nil {
				what = "triggered by neither the last event (" + p.Event.Trigger + ") nor the last daily check"
			}
			fmt.Fprintf(w, "  %s\n", what)
			continue
		}
		if p.Event != nil {
			writeDecision(w, "at the last event", p.Event)
		}
		if p.Earlier != nil {
			writeDecision(w, fmt.Sprintf("at its last event (%s at %s)", eventName(p.Earlier.Trigger, p.Earlier.Event),
				eventTimes(p.Earlier.EventAt, p.Earlier.At)), p.Earlier)
		}
		if p.Daily != nil {
			writeDecision(w, "at the last daily check", p.Daily)
		}
	}
}

func writeDecision(w io.Writer, when string, e *engine.Explanation) {
	// An expr error spans lines (the source and a caret under it).
	fmt.Fprintf(w, "  %s: %s\n", when, strings.ReplaceAll(e.Summary, "\n", "\n      "))
	for _, v := range e.Values {
		fmt.Fprintf(w, "      %s\n", v)
	}
}

// eventTimes shows an event's own at and, when the journey applied it in
// another minute (sent late, or retried), when that was.
func eventTimes(at, applied time.Time) string {
	if at.IsZero() {
		return applied.UTC().Format(control.TimeLayout)
	}
	s := at.UTC().Format(control.TimeLayout)
	if a := applied.UTC().Format(control.TimeLayout); a != s {
		s += ", applied " + a
	}
	return s
}

func eventName(typ, id string) string {
	if id == "" {
		return typ
	}
	return typ + " " + id
}
