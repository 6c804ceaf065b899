package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
)

// eventCmd is `tend event`, whose one command is send.
type eventCmd struct {
	Send eventSendCmd `cmd:"" help:"send one event (flags) or many (-f events.jsonl) to the customers' journeys"`
}

// eventSendCmd is `tend event send`.
type eventSendCmd struct {
	Customer    string   `help:"the customer id"`
	Type        string   `help:"the event type, e.g. contract.signed"`
	At          string   `help:"when it happened (RFC 3339, or a date); default now"`
	ID          string   `help:"idempotency key; default a hash of the event, so sending it again is harmless"`
	Attr        []string `sep:"none" placeholder:"KEY=VALUE" help:"a customer attribute to set (repeatable); VALUE is JSON if it parses, else text; KEY=null removes it"`
	Data        []string `sep:"none" placeholder:"KEY=VALUE" help:"a field of the event's data (repeatable); VALUE as for --attr"`
	File        string   `short:"f" placeholder:"FILE.jsonl" help:"send the events in FILE, one JSON object per line (- for stdin), instead of the flags above"`
	FromLine    int      `name:"from-line" placeholder:"N" help:"with -f, skip the lines before line N: to resume a send that stopped"`
	Concurrency int      `default:"16" help:"customers sent to at once; one customer's events always go in order"`

	Client clientFlags `embed:""`
}

// Validate rejects -f with the flags of a single event. kong calls it.
func (s *eventSendCmd) Validate() error {
	if s.File != "" && (s.Customer != "" || s.Type != "" || s.At != "" || s.ID != "" || len(s.Attr) > 0 || len(s.Data) > 0) {
		return usagef("-f %s cannot be combined with --customer, --type, --at, --id, --attr or --data", s.File)
	}
	if s.FromLine < 0 || s.FromLine > 0 && s.File == "" {
		return usagef("--from-line %d: give a line number of the -f file", s.FromLine)
	}
	if s.Concurrency < 1 || s.Concurrency > 256 {
		return usagef("--concurrency %d: want 1 to 256", s.Concurrency)
	}
	return nil
}

func (s *eventSendCmd) Run(env *cliEnv) error {
	set, err := s.Client.Set.load()
	if err != nil {
		return err
	}
	var events []*lang.Event
	var lines []int
	name := ""
	if s.File != "" {
		name, events, lines, err = readEventsFile(s.File, env.stdin)
		if err == nil {
			err = control.CheckFile(set.Schema, name, events, lines)
		} else if fe := (*control.FileError)(nil); errors.As(err, &fe) {
			// Malformed lines stop the send; the schema's problems with
			// the other lines are reported with them, all at once.
			bad := map[int]bool{}
			for _, e := range fe.Errs {
				bad[e.Line] = true
			}
			rest := slices.Clone(events)
			for i := range rest {
				if bad[lines[i]] {
					rest[i] = nil
				}
			}
			var more *control.FileError
			if errors.As(control.CheckFile(set.Schema, name, rest, lines), &more) {
				fe.Errs = append(fe.Errs, more.Errs...)
				slices.SortStableFunc(fe.Errs, func(a, b control.EventError) int { return a.Line - b.Line })
			}
		}
		if err != nil {
			return eventProblems(env, err)
		}
		if s.FromLine > 1 {
			keep := 0
			for i := range events {
				if lines[i] >= s.FromLine {
					events[keep], lines[keep] = events[i], lines[i]
					keep++
				}
			}
			events, lines = events[:keep], lines[:keep]
		}
	} else {
		ev, err := flagEvent(*s, set.Schema, time.Now())
		if err != nil {
			return eventProblems(env, err)
		}
		events = []*lang.Event{ev}
	}
	if len(events) == 0 {
		fmt.Fprintf(env.stdout, "no events in %s; nothing sent\n", s.File)
		return nil
	}
	resume := ""
	if name != "" && s.File != "-" {
		resume = "tend event send -f " + s.File + " --from-line %d"
	}
	n, err := sendAll(env, s.Client.Conn, s.Concurrency, events, name, lines, resume)
	if err != nil {
		return err
	}
	if n == 1 {
		fmt.Fprintf(env.stdout, "sent 1 event (id %s) to customer %s\n", events[0].ID, events[0].Customer)
	} else {
		fmt.Fprintf(env.stdout, "sent %d events\n", n)
	}
	return nil
}

// sendAll hands checked events to their journeys, with a progress line on
// a terminal. On a failure the error says how many were sent, which event
// failed (by its line in name, if the events come from a file), and, with
// resume (a command with %d for the line), how to go on from the first
// event not sent.
func sendAll(env *cliEnv, conn connFlags, concurrency int, events []*lang.Event, name string, lines []int, resume string) (int, error) {
	ctx, c, done, err := conn.connectNoDeadline(env)
	if err != nil {
		return 0, err
	}
	defer done()
	cfg, _ := env.config() // read by connect already
	if err := checkEncrypting(ctx, c, conn.Namespace, cfg); err != nil {
		return 0, err
	}
	var progress func(int)
	if isTerminal(env.stderr) && len(events) > 1 {
		last := time.Time{}
		progress = func(n int) {
			if now := time.Now(); n == len(events) || now.Sub(last) > 200*time.Millisecond {
				last = now
				fmt.Fprintf(env.stderr, "\rsent %d of %d events", n, len(events))
				if n == len(events) {
					fmt.Fprintln(env.stderr)
				}
			}
		}
	}
	n, err := control.Send(ctx, c, events, control.SendOptions{Concurrency: concurrency, Timeout: conn.Timeout, Progress: progress})
	var se *control.SendError
	if errors.As(err, &se) {
		if progress != nil {
			fmt.Fprintln(env.stderr)
		}
		msg := fmt.Sprintf("sent %d of %d events; event %s (id %s) failed: %v", se.Count, se.Total, where(name, lines, se.Failed), se.ID, se.Err)
		switch {
		case strings.Contains(resume, "%d"):
			msg += "\nresume with: " + fmt.Sprintf(resume, lines[se.Resume]) + " (sending earlier lines again is harmless: a journey applies each event id once)"
		case resume != "":
			msg += "\n" + resume
		case name != "":
			msg += fmt.Sprintf("\nresume from line %d of %s (sending earlier lines again is harmless: a journey applies each event id once)", lines[se.Resume], name)
		}
		if control.IsUnavailable(se.Err) {
			msg = fmt.Sprintf("Temporal at %s stopped answering; %s", conn.Address, msg)
			return n, &exitError{code: exitUnreachable, err: errors.New(msg)}
		}
		return n, failed(errors.New(msg))
	}
	if err != nil {
		return n, failed(err)
	}
	return n, nil
}

// where names an event of a file by its line, or of the flags as "1".
func where(name string, lines []int, i int) string {
	if name == "" {
		return "1"
	}
	return fmt.Sprintf("on line %d", lines[i])
}

// eventProblems prints every problem of the input, one a line, and
// returns the usage error that says nothing was sent.
func eventProblems(env *cliEnv, err error) error {
	var fe *control.FileError
	if errors.As(err, &fe) {
		fmt.Fprintln(env.stderr, fe.Error())
		return usagef("%s in %s; nothing was sent", errorCount(len(fe.Errs)), fe.File)
	}
	var le lang.FieldErrors
	if errors.As(err, &le) {
		for _, e := range le {
			fmt.Fprintln(env.stderr, flagName(e.Field)+": "+e.Message)
		}
		return usagef("%s; nothing was sent", errorCount(len(le)))
	}
	return usageError(err)
}

// flagName is the flag that sets an event field: attributes.health is
// --attr health.
func flagName(field string) string {
	switch {
	case strings.HasPrefix(field, "attributes."):
		return "--attr " + strings.TrimPrefix(field, "attributes.")
	case strings.HasPrefix(field, "data."):
		return "--data " + strings.TrimPrefix(field, "data.")
	case field == "":
		return "event"
	}
	return "--" + field
}

// isTerminal reports whether w is a terminal, for progress lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// readEventsFile reads the events of -f FILE (- for stdin), decoding
// every line strictly; problems name the file and line.
func readEventsFile(name string, stdin io.Reader) (string, []*lang.Event, []int, error) {
	var r io.Reader = stdin
	file := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", nil, nil, openErr(name, err)
		}
		defer f.Close()
		r, file = f, name
	}
	events, lines, err := control.ReadEvents(file, r)
	return file, events, lines, err
}

// flagEvent builds the event described by the flags and checks it against
// the schema. A flag value is JSON if it parses, else text; for a string
// attribute or field it is always text, so --attr name=1984 is the name
// "1984".
func flagEvent(s eventSendCmd, schema *lang.Schema, now time.Time) (*lang.Event, error) {
	switch {
	case s.Customer == "" && s.Type == "":
		return nil, fmt.Errorf("give --customer and --type, or -f FILE.jsonl")
	case s.Customer == "":
		return nil, fmt.Errorf("--customer is needed")
	case s.Type == "":
		return nil, fmt.Errorf("--type is needed")
	}
	ev := &lang.Event{ID: s.ID, Customer: s.Customer, Type: s.Type, At: now.UTC().Truncate(time.Millisecond)}
	if s.At != "" {
		t, err := lang.ParseEventTime(s.At)
		if err != nil {
			return nil, fmt.Errorf("--at: %v", err)
		}
		ev.At = t
	}
	var err error
	if ev.Attributes, err = keyValues("--attr", s.Attr, func(k string) bool {
		a := schema.Attr(k)
		return a != nil && a.Type == lang.TString
	}); err != nil {
		return nil, err
	}
	if ev.Data, err = keyValues("--data", s.Data, func(k string) bool {
		if et := schema.Event(s.Type); et != nil {
			for _, f := range et.Fields {
				if f.Name == k {
					return f.Type == lang.TString
				}
			}
		}
		return false
	}); err != nil {
		return nil, err
	}
	if errs := schema.CheckEvent(ev); len(errs) > 0 {
		return nil, errs
	}
	if ev.ID == "" {
		ev.ID = control.EventID(ev)
	}
	return ev, nil
}

// keyValues parses KEY=VALUE flags. A VALUE that parses as JSON is taken
// as JSON (120, true, null, ["a"]), unless text(KEY) says the key holds
// text; anything else is text. null always removes the attribute.
func keyValues(flag string, kvs []string, text func(string) bool) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		if !utf8.ValidString(kv) {
			return nil, fmt.Errorf("%s %q: not valid UTF-8", flag, kv)
		}
		if text(k) && v != "null" {
			out[k] = v
			continue
		}
		out[k] = jsonOrText(v)
	}
	return out, nil
}

func jsonOrText(s string) any {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return s
	}
	if _, err := dec.Token(); err != io.EOF {
		return s
	}
	return control.Numbers(v)
}
