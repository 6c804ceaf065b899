// Package control is the client side of tend: it sends events to customer
// journeys and reads runs and tasks from a Temporal cluster. The CLI uses it,
// and so does the HTTP API.
package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// MaxLine is the longest line ReadEvents accepts.
const MaxLine = 1 << 20

// CheckEvent checks that an event has what every event needs: a customer, a
// type and a time. The error names the missing field. Whether the type and
// attributes fit the schema is the journey's business: the workers hold the
// playbooks.
func CheckEvent(ev *engine.Event) error {
	switch {
	case ev == nil:
		return errors.New("missing event")
	case ev.Customer == "":
		return errors.New("customer: missing customer id")
	case ev.Type == "":
		return errors.New("type: missing event type")
	case ev.Type == engine.EventDaily:
		return errors.New("type: daily is a trigger, not an event type")
	case ev.At.IsZero():
		return errors.New("at: missing time")
	}
	return nil
}

// EventID is the id given to an event sent without one: a hash of its type,
// customer, time, attributes and data, so that sending the same event twice
// delivers it once.
func EventID(ev *engine.Event) string {
	// encoding/json writes map keys in sorted order, at every depth, so
	// the body is canonical.
	body, err := json.Marshal(struct {
		Attributes map[string]any `json:"attributes"`
		Data       map[string]any `json:"data"`
	}{ev.Attributes, ev.Data})
	if err != nil {
		// Values that JSON cannot hold cannot travel to a journey either;
		// hash their printed form so that the id is still stable.
		body = fmt.Appendf(nil, "%v|%v", ev.Attributes, ev.Data)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|", ev.Type, ev.Customer, ev.At.UTC().Format(time.RFC3339Nano))
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:32]
}

// SendEvents checks every event, gives an id to those without one, and then
// hands each to its customer's journey, starting the journey if it is not
// running. Nothing is sent if any event is malformed. Events are sent in
// order; on a failure the error says how many went out before it, and
// sending the same events again is safe.
func SendEvents(ctx context.Context, c client.Client, events []*engine.Event) error {
	for i, ev := range events {
		if err := CheckEvent(ev); err != nil {
			return fmt.Errorf("event %d: %w", i+1, err)
		}
	}
	for i, ev := range events {
		if ev.ID == "" {
			ev.ID = EventID(ev)
		}
		id := workflows.JourneyID(ev.Customer)
		opts := client.StartWorkflowOptions{
			ID:                    id,
			TaskQueue:             workflows.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrCustomer.ValueSet(ev.Customer)),
			StaticSummary:         "journey of customer " + ev.Customer + ": applies events, starts playbook runs",
		}
		_, err := c.SignalWithStartWorkflow(ctx, id, workflows.SignalEvent, ev, opts,
			workflows.JourneyWorkflow, workflows.JourneyInput{Customer: ev.Customer})
		if err != nil {
			return fmt.Errorf("sent %d of %d events; event %d (id %s, customer %s): %w", i, len(events), i+1, ev.ID, ev.Customer, err)
		}
	}
	return nil
}

// ReadEvents reads events, one JSON object per line, from r; name is the
// file name used in errors (file:line: message). Blank lines are skipped.
// Every event is checked with CheckEvent and given an id if it has none.
func ReadEvents(name string, r io.Reader) ([]*engine.Event, error) {
	var out []*engine.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := decodeEvent(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, MaxLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func decodeEvent(b []byte) (*engine.Event, error) {
	var ev engine.Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("invalid event: %v", err)
	}
	if dec.More() {
		return nil, errors.New("invalid event: more than one JSON value on the line")
	}
	ev.Attributes = Numbers(ev.Attributes).(map[string]any)
	ev.Data = Numbers(ev.Data).(map[string]any)
	if err := CheckEvent(&ev); err != nil {
		return nil, err
	}
	if ev.ID == "" {
		ev.ID = EventID(&ev)
	}
	return &ev, nil
}

// Numbers replaces the json.Number values in v, at any depth, with an int
// when the number is whole and fits, and a float64 otherwise. It returns v.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
	}
	return v
}
