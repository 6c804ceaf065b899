package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/internal/filecap"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/sim"
)

// simulateCmd is `tend simulate`: playbooks against a scenario or real
// customer data, on a virtual clock.
type simulateCmd struct {
	Scenario  string   `help:"scenario file (docs/language.md#scenario-files): start, until, customers and events"`
	Customers string   `help:"customers as .csv (with a header row) or .jsonl, instead of a scenario"`
	IDColumn  string   `name:"id-column" default:"id" help:"the CSV column holding the customer id"`
	Events    string   `help:"events as .jsonl, one per line"`
	Start     string   `help:"simulation start (RFC 3339), without a scenario; default: the first event"`
	Until     string   `help:"simulation end (RFC 3339), without a scenario; overrides the scenario's until"`
	Format    string   `enum:"table,jsonl" default:"table" help:"output: table or jsonl"`
	Report    string   `help:"also write an HTML summary with charts to this file"`
	Verbose   bool     `short:"v" help:"log what was simulated, and how long it took, to stderr"`
	Config    string   `env:"TEND_CONFIG" help:"tend.yaml, for its staff: section (owners' working hours and time zones for calls and trainings); read only when given"`
	Paths     []string `arg:"" optional:"" help:"playbook directory (default ./playbooks)"`
}

// Validate checks the combination of flags and the times. kong calls it,
// so that flag mistakes are not hidden behind playbook errors.
func (a *simulateCmd) Validate() error {
	if msg := checkSimulateFlags(*a); msg != "" {
		return usagef("%s", msg)
	}
	if msg := checkTimes(*a); msg != "" {
		return usagef("%s", msg)
	}
	return nil
}

func (a *simulateCmd) Run(env *cliEnv) error {
	stdout, stderr := env.stdout, env.stderr
	if len(a.Paths) == 0 {
		a.Paths = []string{"playbooks"}
	}
	groups, err := load.Files(a.Paths)
	if err != nil {
		return usageError(err)
	}
	if len(groups) != 1 {
		return usagef("simulate takes one playbook directory, got %d", len(groups))
	}
	set, errs := groups[0].Load()
	if len(errs) > 0 {
		return failed(&listError{errs: errs, msg: fmt.Sprintf("the playbooks have %s; fix them first (tend validate)", errorCount(len(errs)))})
	}
	in, err := simInput(*a, set)
	if err != nil {
		return err
	}
	if a.Config != "" {
		cfg, err := env.conf.use(a.Config)
		if err != nil {
			return err
		}
		in.Staff = node.Staff(cfg)
	}
	if n := outside(in); n > 0 {
		fmt.Fprintf(stderr, "tend simulate: note: %d %s outside %s .. %s %s ignored\n", n, plural(n, "event", "events"),
			in.Start.Format(time.RFC3339), in.Until.Format(time.RFC3339), plural(n, "is", "are"))
	}
	log := newLogger(stderr, a.Verbose)
	log.Debug().Int("playbooks", len(set.Playbooks)).Str("set_version", set.Version).
		Int("customers", len(in.Customers)).Int("events", len(in.Events)).Msg("simulating")
	began := time.Now()
	res, err := sim.Run(set, in)
	if err != nil {
		return usageError(err)
	}
	log.Debug().Int("customers", res.Customers).Int("records", len(res.Records)).
		Str("took", time.Since(began).Round(time.Millisecond).String()).Msg("simulated")
	w := bufio.NewWriterSize(stdout, 1<<16)
	switch a.Format {
	case "jsonl":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range res.Records {
			if err := enc.Encode(&res.Records[i]); err != nil {
				return failedf("writing the output: %v", err)
			}
		}
	default:
		writeTable(w, res.Records)
	}
	// The writer keeps its first error: a full disk or a closed pipe
	// shows here, and the output is known to be cut short.
	if err := w.Flush(); err != nil {
		return failedf("writing the output: %v", err)
	}
	if a.Report != "" {
		if err := writeReport(a.Report, set, in, res); err != nil {
			return usageError(err)
		}
	}
	return nil
}

func simInput(a simulateCmd, set *lang.Set) (sim.Input, error) {
	var in sim.Input
	if a.Scenario != "" {
		data, err := readCapped(a.Scenario, tendfmt.MaxFileSize)
		if err != nil {
			return in, usageError(err)
		}
		sc, errs := lang.ParseScenario(a.Scenario, data, set.Schema)
		if len(errs) > 0 {
			return in, usageError(&listError{errs: errs, msg: fmt.Sprintf("the scenario %s has %s", a.Scenario, errorCount(len(errs)))})
		}
		in.Start, in.Until, in.Events = sc.Start, sc.Until, sc.Events
		for _, c := range sc.Customers {
			in.Customers = append(in.Customers, sim.Customer{ID: c.ID, Attrs: c.Attrs})
		}
	} else {
		if a.Customers != "" {
			f, err := os.Open(a.Customers)
			if err != nil {
				return in, usageError(openErr(a.Customers, err))
			}
			defer f.Close()
			switch strings.ToLower(filepath.Ext(a.Customers)) {
			case ".csv":
				in.Customers, err = sim.ReadCSV(a.Customers, f, set.Schema, a.IDColumn)
			case ".jsonl":
				in.Customers, err = sim.ReadCustomersJSONL(a.Customers, f, set.Schema)
			}
			if err != nil {
				return in, usageError(err)
			}
		}
		if a.Events != "" {
			f, err := os.Open(a.Events)
			if err != nil {
				return in, usageError(openErr(a.Events, err))
			}
			defer f.Close()
			in.Events, err = sim.ReadEventsJSONL(a.Events, f, set.Schema)
			if err != nil {
				return in, usageError(err)
			}
		}
		switch {
		case a.Start != "":
			t, err := lang.ParseTime(a.Start)
			if err != nil {
				return in, usagef("--start: %v", err)
			}
			in.Start = t
		case len(in.Events) > 0:
			in.Start = in.Events[0].At
		default:
			return in, usagef("--start is needed when there are no events")
		}
	}
	if a.Until != "" {
		t, err := lang.ParseTime(a.Until)
		if err != nil {
			return in, usagef("--until: %v", err)
		}
		in.Until = t
	}
	if !in.Until.After(in.Start) {
		if a.Until != "" {
			return in, usagef("--until %s is not after start %s", in.Until.Format(time.RFC3339), in.Start.Format(time.RFC3339))
		}
		return in, usagef("until %s is not after start %s", in.Until.Format(time.RFC3339), in.Start.Format(time.RFC3339))
	}
	return in, nil
}

// checkSimulateFlags returns what is wrong with the combination of flags, or "".
func checkSimulateFlags(a simulateCmd) string {
	if a.Scenario != "" {
		switch {
		case a.Customers != "" || a.Events != "":
			return "--scenario cannot be combined with --customers or --events"
		case a.Start != "":
			return "--start cannot be combined with --scenario: the scenario sets its start"
		}
		return ""
	}
	if a.Customers == "" && a.Events == "" {
		return "give --scenario FILE, or --customers and/or --events with --until"
	}
	if a.Events == "" && a.Start == "" {
		return "--start is needed without --events"
	}
	if a.Customers != "" {
		switch strings.ToLower(filepath.Ext(a.Customers)) {
		case ".csv", ".jsonl":
		default:
			return fmt.Sprintf("--customers %s: expected a .csv or .jsonl file", a.Customers)
		}
	}
	if a.Until == "" {
		return "--until is needed without a scenario"
	}
	return ""
}

// checkTimes parses --start and --until, if given, and says what is wrong, or "".
func checkTimes(a simulateCmd) string {
	for _, f := range []struct{ name, val string }{{"--start", a.Start}, {"--until", a.Until}} {
		if f.val == "" {
			continue
		}
		if _, err := lang.ParseTime(f.val); err != nil {
			return fmt.Sprintf("%s: %v", f.name, err)
		}
	}
	return ""
}

// outside counts the events that fall outside the simulated window.
func outside(in sim.Input) int {
	n := 0
	for _, e := range in.Events {
		if e.At.Before(in.Start) || !e.At.Before(in.Until) {
			n++
		}
	}
	return n
}

// openErr says that path cannot be read, without repeating the path twice.
func openErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}

// readCapped reads a whole input file: a regular file of at most limit
// bytes, checked before it is read.
func readCapped(path string, limit int64) ([]byte, error) {
	data, err := filecap.Read(path, limit)
	if err != nil && !filecap.IsRefused(err) {
		return nil, openErr(path, err)
	}
	return data, err
}

func writeTable(w io.Writer, recs []lang.Record) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tCUSTOMER\tPLAYBOOK\tSTEP\tKIND\tDETAIL")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Format("2006-01-02 15:04Z07:00"), r.Customer, dash(r.Playbook), dash(r.Step), r.Kind, detail(r))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// detail says a record's particulars in plain words.
func detail(r lang.Record) string {
	var parts []string
	switch r.Kind {
	case lang.RecStageChanged:
		return dash(r.From) + " -> " + r.To
	case lang.RecAction, lang.RecMessageHeld:
		parts = append(parts, r.Action)
		if r.Title != "" {
			parts = append(parts, fmt.Sprintf("%q", r.Title))
		}
		if r.To != "" {
			parts = append(parts, "to "+r.To)
		}
		if r.Kind == lang.RecMessageHeld {
			// held by the contact policy until Mon 5 Jan 09:00 UTC (outside 09:00-17:00)
			parts = append(parts, r.Reason)
		}
		if r.Owner != "" && !lang.IsCustomerFacing(r.Action) {
			parts = append(parts, "owner "+r.Owner)
		}
		if r.Due != nil {
			parts = append(parts, "due "+r.Due.Format("2006-01-02 15:04Z07:00"))
		}
		if r.Start != nil {
			parts = append(parts, "slot "+r.Start.Format("2006-01-02 15:04Z07:00"))
		}
	default:
		if r.Title != "" {
			parts = append(parts, fmt.Sprintf("%q", r.Title))
		}
		if r.Owner != "" {
			parts = append(parts, "owner "+r.Owner)
		}
		if r.Reason != "" {
			parts = append(parts, r.Reason)
		}
	}
	return strings.Join(parts, " ")
}
