package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tend-cs/tend/control"
)

// eventsCmd is `tend events`, whose one command is rejected.
type eventsCmd struct {
	Rejected eventsRejectedCmd `cmd:"" help:"list events that journeys accepted but could not apply, with the reason"`
}

// eventsRejectedCmd is `tend events rejected`.
type eventsRejectedCmd struct {
	Customer string `help:"only this customer's rejected events"`
	Format   string `enum:"table,json" default:"table" help:"output: table or json"`

	Client clientFlags `embed:""`
}

func (a *eventsRejectedCmd) Run(env *cliEnv) error {
	ctx, c, done, err := a.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	items, err := control.ListRejected(ctx, c, a.Customer)
	if err != nil {
		if a.Customer != "" && errors.Is(err, control.ErrNotFound) {
			return failed(err)
		}
		return err
	}
	if a.Format == "json" {
		if items == nil {
			items = []control.RejectedItem{}
		}
		return writeJSON(env.stdout, items)
	}
	if len(items) == 0 {
		fmt.Fprintln(env.stdout, "no rejected events")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tCUSTOMER\tTYPE\tID\tREASON")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Received.UTC().Format(time.RFC3339), it.Customer, it.Type, dash(it.ID), it.Reason)
	}
	return tw.Flush()
}
