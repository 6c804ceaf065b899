package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
)

type eventArgs struct {
	Send eventSendArgs `cmd:"" help:"send one event (flags) or many (-f events.jsonl) to the customers' journeys"`
}

type eventSendArgs struct {
	Customer string   `help:"the customer id"`
	Type     string   `help:"the event type, e.g. contract.signed"`
	At       string   `help:"when it happened (RFC 3339, or a date); default now"`
	ID       string   `help:"idempotency key; default a hash of the event, so sending it again is harmless"`
	Attr     []string `sep:"none" placeholder:"KEY=VALUE" help:"a customer attribute to set (repeatable); VALUE is JSON if it parses, else text; KEY=null removes it"`
	Data     []string `sep:"none" placeholder:"KEY=VALUE" help:"a field of the event's data (repeatable); VALUE as for --attr"`
	File     string   `short:"f" placeholder:"FILE.jsonl" help:"send the events in FILE, one JSON object per line (- for stdin), instead of the flags above"`

	Conn connFlags `embed:""`
}

// eventCmd implements `tend event send`.
func eventCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var a eventArgs
	if code, done := parse("event", &a, args, stdout, stderr); done {
		return code
	}
	s := a.Send
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "tend event send: "+format+"\n", args...)
		return code
	}
	var events []*engine.Event
	if s.File != "" {
		if s.Customer != "" || s.Type != "" || s.At != "" || s.ID != "" || len(s.Attr) > 0 || len(s.Data) > 0 {
			return fail(exitUsage, "-f %s cannot be combined with --customer, --type, --at, --id, --attr or --data", s.File)
		}
		evs, err := readEventsFile(s.File, stdin)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		events = evs
	} else {
		ev, err := flagEvent(s, time.Now())
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		events = []*engine.Event{ev}
	}
	if len(events) == 0 {
		fmt.Fprintf(stdout, "no events in %s; nothing sent\n", s.File)
		return exitOK
	}
	ctx, c, done, code := s.Conn.connect("event send", stderr)
	if code != exitOK {
		return code
	}
	defer done()
	if err := control.SendEvents(ctx, c, events); err != nil {
		return fail(exitRemote, "%v", err)
	}
	if len(events) == 1 {
		fmt.Fprintf(stdout, "sent 1 event (id %s)\n", events[0].ID)
	} else {
		fmt.Fprintf(stdout, "sent %d events\n", len(events))
	}
	return exitOK
}

func readEventsFile(name string, stdin io.Reader) ([]*engine.Event, error) {
	if name == "-" {
		return control.ReadEvents("stdin", stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, openErr(name, err)
	}
	defer f.Close()
	return control.ReadEvents(name, f)
}

// flagEvent builds the event described by the flags.
func flagEvent(s eventSendArgs, now time.Time) (*engine.Event, error) {
	switch {
	case s.Customer == "" && s.Type == "":
		return nil, fmt.Errorf("give --customer and --type, or -f FILE.jsonl")
	case s.Customer == "":
		return nil, fmt.Errorf("--customer is needed")
	case s.Type == "":
		return nil, fmt.Errorf("--type is needed")
	}
	ev := &engine.Event{ID: s.ID, Customer: s.Customer, Type: s.Type, At: now.UTC().Truncate(time.Millisecond)}
	if s.At != "" {
		t, err := engine.ParseTime(s.At)
		if err != nil {
			return nil, fmt.Errorf("--at: %v", err)
		}
		ev.At = t
	}
	var err error
	if ev.Attributes, err = keyValues("--attr", s.Attr); err != nil {
		return nil, err
	}
	if ev.Data, err = keyValues("--data", s.Data); err != nil {
		return nil, err
	}
	if err := control.CheckEvent(ev); err != nil {
		return nil, err
	}
	if ev.ID == "" {
		ev.ID = control.EventID(ev)
	}
	return ev, nil
}

// keyValues parses KEY=VALUE flags. A VALUE that parses as JSON is taken
// as JSON (120, true, null, {"a": 1}); anything else is text.
func keyValues(flag string, kvs []string) (map[string]any, error) {
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
