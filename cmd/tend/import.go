package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/sim"
)

// importCmd is `tend import`.
type importCmd struct {
	File        string `arg:"" placeholder:"CUSTOMERS.csv" help:"customer records with a header row; each schema attribute is read from its column: header, or from a header named like it"`
	IDColumn    string `name:"id-column" default:"id" help:"the column that holds the customer id"`
	DryRun      bool   `name:"dry-run" help:"check every row and print how many customers would be sent, and every row error; send nothing"`
	At          string `help:"when the records were true (RFC 3339, or a date); default now"`
	Concurrency int    `default:"16" help:"customers sent to at once"`

	Client clientFlags `embed:""`

	at time.Time
}

// Validate checks --at and --concurrency. kong calls it.
func (a *importCmd) Validate() error {
	if a.At != "" {
		t, err := lang.ParseEventTime(a.At)
		if err != nil {
			return usagef("--at: %v", err)
		}
		a.at = t
	}
	if a.Concurrency < 1 || a.Concurrency > 256 {
		return usagef("--concurrency %d: want 1 to 256", a.Concurrency)
	}
	return nil
}

func (a *importCmd) Run(env *cliEnv) error {
	set, err := a.Client.Set.load()
	if err != nil {
		return err
	}
	f, err := os.Open(a.File)
	if err != nil {
		return usageError(openErr(a.File, err))
	}
	defer f.Close()
	customers, err := sim.ReadCSV(a.File, f, set.Schema, a.IDColumn)
	var rowErrs tendfmt.ErrorList
	if errors.As(err, &rowErrs) {
		for _, e := range rowErrs {
			fmt.Fprintln(env.stderr, e.Error())
		}
		return usagef("%s in %s; nothing was sent", errorCount(len(rowErrs)), a.File)
	}
	if err != nil {
		return usageError(err)
	}
	at := a.at
	if at.IsZero() {
		at = time.Now().UTC().Truncate(time.Millisecond)
	}
	events := make([]*lang.Event, 0, len(customers))
	lines := make([]int, 0, len(customers))
	var problems int
	for _, c := range customers {
		ev := &lang.Event{ID: rowID(c), Type: lang.EventCustomerUpdated, Customer: c.ID, At: at, Attributes: c.Attrs}
		for _, e := range set.Schema.CheckEvent(ev) {
			fmt.Fprintf(env.stderr, "%s:%d: %s\n", a.File, c.Line, e.Error())
			problems++
		}
		events = append(events, ev)
		lines = append(lines, c.Line)
	}
	if problems > 0 {
		return usagef("%s in %s; nothing was sent", errorCount(problems), a.File)
	}
	if a.DryRun {
		fmt.Fprintf(env.stdout, "%d %s in %s, no errors; nothing sent (dry run)\n", len(events), plural(len(events), "customer", "customers"), a.File)
		return nil
	}
	if len(events) == 0 {
		fmt.Fprintf(env.stdout, "no customers in %s; nothing sent\n", a.File)
		return nil
	}
	n, err := sendAll(env, a.Client.Conn, a.Concurrency, events, a.File, lines,
		"run the same import again to finish: rows already applied are not applied twice")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "imported %d %s from %s as customer.updated events; re-importing unchanged rows applies nothing new\n", n, plural(n, "customer", "customers"), a.File)
	return nil
}

// rowID is the event id of an imported row: a hash of the customer id and
// the row's attributes, so that importing an unchanged row again is
// applied once, and a changed row is applied.
func rowID(c sim.Customer) string {
	// encoding/json writes map keys sorted: the body is canonical.
	body, _ := json.Marshal(c.Attrs)
	h := sha256.New()
	h.Write([]byte(c.ID))
	h.Write([]byte{0})
	h.Write(body)
	return "import:" + hex.EncodeToString(h.Sum(nil))[:32]
}
