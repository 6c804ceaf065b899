package main

import (
	"fmt"
	"time"

	"github.com/tend-cs/tend/control"
)

// runsRetryCmd is `tend runs retry`: re-drive the failed step of stalled
// runs, by id or every one whose step failed since a time.
type runsRetryCmd struct {
	RunIDs []string `arg:"" optional:"" name:"run-id" help:"the stalled runs to retry, run/<playbook>/<customer>/<n>"`
	Failed bool     `help:"retry every stalled run (its step failed for good and it waits for a retry), or with --since those whose step failed within it"`
	Since  string   `help:"with --failed: only runs whose step failed within this long, such as 24h, 90m or 7d"`
	Format string   `enum:"text,json" default:"text" help:"output: text or json"`

	Client clientFlags `embed:""`
}

// Validate checks that the command names runs or --failed, not both. kong
// calls it.
func (a *runsRetryCmd) Validate() error {
	switch {
	case a.Since != "" && !a.Failed:
		return usagef("--since goes with --failed")
	case a.Failed && len(a.RunIDs) > 0:
		return usagef("give run ids or --failed, not both")
	case !a.Failed && len(a.RunIDs) == 0:
		return usagef("name the runs to retry, or give --failed (with --since 24h, say) to retry the stalled runs")
	}
	if a.Since != "" {
		if _, err := control.ParseSince(a.Since); err != nil {
			return usagef("--%v", err)
		}
	}
	for _, id := range a.RunIDs {
		if err := control.CheckRunID(id); err != nil {
			return usageError(err)
		}
	}
	return nil
}

func (a *runsRetryCmd) Run(env *cliEnv) error {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	ids := a.RunIDs
	if a.Failed {
		var since time.Time
		if a.Since != "" {
			d, _ := control.ParseSince(a.Since) // checked in Validate
			since = time.Now().Add(-d)
		}
		stalled, err := control.StalledRuns(ctx, c, since)
		if err != nil {
			return failed(err)
		}
		if len(stalled) == 0 && a.Format == "text" {
			if a.Since == "" {
				fmt.Fprintln(env.stdout, "no stalled runs")
			} else {
				fmt.Fprintf(env.stdout, "no stalled runs whose step failed within %s\n", a.Since)
			}
			return nil
		}
		for _, s := range stalled {
			ids = append(ids, s.Run)
		}
	}
	outcomes := []control.RetryOutcome{}
	bad := 0
	for _, id := range ids {
		o, err := control.Retry(ctx, c, id)
		if err != nil {
			return failed(err)
		}
		if !o.OK() {
			bad++
		}
		outcomes = append(outcomes, o)
		if a.Format == "text" {
			switch {
			case o.OK() && o.Step == "":
				fmt.Fprintf(env.stdout, "%s: retried: a new attempt is scheduled (the run's answer naming the step is encrypted, and this tend.yaml has no codec: to read it)\n", o.Run)
			case o.OK():
				fmt.Fprintf(env.stdout, "%s: retried step %s: a new attempt is scheduled (tend runs show %s follows it)\n", o.Run, o.Step, o.Run)
			default:
				fmt.Fprintf(env.stdout, "%s: %s: %s\n", o.Run, o.Result, o.Error)
			}
		}
	}
	if a.Format == "json" {
		if err := writeJSON(env.stdout, outcomes); err != nil {
			return err
		}
	}
	if bad > 0 {
		return failedf("%d of %d run(s) could not be retried", bad, len(ids))
	}
	return nil
}
