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

// eventCmd is `tend event`, whose one command is send.
type eventCmd struct {
	Send eventSendCmd `cmd:"" help:"send one event (flags) or many (-f events.jsonl) to the customers' journeys"`
}

// eventSendCmd is `tend event send`.
type eventSendCmd struct {
	Customer string   `help:"the customer id"`
	Type     string   `help:"the event type, e.g. contract.signed"`
	At       string   `help:"when it happened (RFC 3339, or a date); default now"`
	ID       string   `help:"idempotency key; default a hash of the event, so sending it again is harmless"`
	Attr     []string `sep:"none" placeholder:"KEY=VALUE" help:"a customer attribute to set (repeatable); VALUE is JSON if it parses, else text; KEY=null removes it"`
	Data     []string `sep:"none" placeholder:"KEY=VALUE" help:"a field of the event's data (repeatable); VALUE as for --attr"`
	File     string   `short:"f" placeholder:"FILE.jsonl" help:"send the events in FILE, one JSON object per line (- for stdin), instead of the flags above"`

	Client clientFlags `embed:""`
}

// Validate rejects -f with the flags of a single event. kong calls it.
func (s *eventSendCmd) Validate() error {
	if s.File != "" && (s.Customer != "" || s.Type != "" || s.At != "" || s.ID != "" || len(s.Attr) > 0 || len(s.Data) > 0) {
		return usagef("-f %s cannot be combined with --customer, --type, --at, --id, --attr or --data", s.File)
	}
	return nil
}

func (s *eventSendCmd) Run(env *cliEnv) error {
	var events []*engine.Event
	if s.File != "" {
		evs, err := readEventsFile(s.File, env.stdin)
		if err != nil {
			return usageError(err)
		}
		events = evs
	} else {
		ev, err := flagEvent(*s, time.Now())
		if err != nil {
			return usageError(err)
		}
		events = []*engine.Event{ev}
	}
	if len(events) == 0 {
		fmt.Fprintf(env.stdout, "no events in %s; nothing sent\n", s.File)
		return nil
	}
	ctx, c, done, err := s.Client.Conn.connect(env)
	if err != nil {
		return err
	}
	defer done()
	if err := control.SendEvents(ctx, c, events); err != nil {
		return failed(err)
	}
	if len(events) == 1 {
		fmt.Fprintf(env.stdout, "sent 1 event (id %s)\n", events[0].ID)
	} else {
		fmt.Fprintf(env.stdout, "sent %d events\n", len(events))
	}
	return nil
}

// readEventsFile reads the events of -f FILE (- for stdin) and checks
// that each has a customer, a type and a time, naming the line of the
// first one that does not.
func readEventsFile(name string, stdin io.Reader) ([]*engine.Event, error) {
	var r io.Reader = stdin
	file := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, openErr(name, err)
		}
		defer f.Close()
		r, file = f, name
	}
	events, lines, err := control.ReadEvents(file, r)
	if err != nil {
		return nil, err
	}
	for i, ev := range events {
		if err := control.CheckEvent(ev); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, lines[i], err)
		}
	}
	return events, nil
}

// flagEvent builds the event described by the flags.
func flagEvent(s eventSendCmd, now time.Time) (*engine.Event, error) {
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
