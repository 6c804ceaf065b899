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
	"slices"
	"sync"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// MaxLine is the longest line ReadEvents accepts.
const MaxLine = 1 << 20

// CheckEvent checks that an event has what every event needs: a customer, a
// type and a time. The error names the missing field. Whether the type and
// attributes fit the schema is the journey's business: the workers hold the
// playbooks.
func CheckEvent(ev *lang.Event) error {
	switch {
	case ev == nil:
		return errors.New("missing event")
	case ev.Customer == "":
		return errors.New("customer: missing customer id")
	case ev.Type == "":
		return errors.New("type: missing event type")
	case ev.Type == lang.EventDaily:
		return errors.New("type: daily is a trigger, not an event type")
	case ev.At.IsZero():
		return errors.New("at: missing time")
	}
	return nil
}

// EventID is the id given to an event sent without one: a hash of its type,
// customer, time, attributes and data, so that sending the same event twice
// delivers it once.
func EventID(ev *lang.Event) string {
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

// SendEvents checks that every event has a customer, a type and a time,
// gives an id to those without one (EventID), and hands each to its
// customer's journey with Send's defaults. It does not check events
// against the schema: callers that take events from people do (Check).
func SendEvents(ctx context.Context, c client.Client, events []*lang.Event) error {
	for i, ev := range events {
		if err := CheckEvent(ev); err != nil {
			return fmt.Errorf("event %d: %w", i+1, err)
		}
		if ev.ID == "" {
			ev.ID = EventID(ev)
		}
	}
	_, err := Send(ctx, c, events, SendOptions{})
	return err
}

// SendOptions tunes Send.
type SendOptions struct {
	// Concurrency is how many customers are sent to at once (default 16).
	// One customer's events always go one at a time, in order.
	Concurrency int
	// Timeout bounds each signal to Temporal (default 10s). There is no
	// overall deadline beyond ctx.
	Timeout time.Duration
	// Progress, if set, is called after each event is handed over, with
	// the count so far. Calls do not overlap.
	Progress func(sent int)
}

// SendError is a Send that stopped part way. Events marked in Sent were
// handed over; Resume is the index of the first event that was not, from
// which sending again is safe (events carry their ids, and a journey
// applies an id once).
type SendError struct {
	Total  int
	Sent   []bool
	Count  int // how many were handed over
	Resume int
	Failed int // the index of the event that failed
	ID     string
	Err    error
	ours   bool // Err is our own cancellation of the other sends
}

func (e *SendError) Error() string {
	return fmt.Sprintf("sent %d of %d events; event %d (id %s) failed: %v", e.Count, e.Total, e.Failed+1, e.ID, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Send hands each event, which must have been checked and given an id, to
// its customer's journey with signal-with-start, starting the journey if it
// is not running. Customers are sent to concurrently, each customer's
// events in order. It returns how many events were handed over; on a
// failure it stops and returns a *SendError.
func Send(ctx context.Context, c client.Client, events []*lang.Event, o SendOptions) (int, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	// Group by customer, in order of first appearance.
	var order []string
	groups := map[string][]int{}
	for i, ev := range events {
		if _, ok := groups[ev.Customer]; !ok {
			order = append(order, ev.Customer)
		}
		groups[ev.Customer] = append(groups[ev.Customer], i)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make([]bool, len(events))
	var (
		mu       sync.Mutex
		count    int
		firstErr *SendError
	)
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(o.Concurrency, len(order)) {
		wg.Go(func() {
			for idx := range work {
				for _, i := range idx {
					if ctx.Err() != nil {
						break
					}
					err := signalEvent(ctx, c, events[i], o.Timeout)
					mu.Lock()
					if err != nil {
						// Once one send has failed, the others end with
						// "context canceled": that is not the cause.
						var ce *serviceerror.Canceled
						ours := ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.As(err, &ce))
						if firstErr == nil || !ours && (firstErr.ours || i < firstErr.Failed) {
							firstErr = &SendError{Failed: i, ID: events[i].ID, Err: err, ours: ours}
						}
						mu.Unlock()
						cancel()
						break
					}
					sent[i] = true
					count++
					if o.Progress != nil {
						o.Progress(count)
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, cust := range order {
		select {
		case work <- groups[cust]:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && count < len(events) {
		// The caller's context ended.
		first := slices.Index(sent, false)
		firstErr = &SendError{Failed: first, ID: events[first].ID, Err: context.Cause(ctx)}
	}
	if firstErr != nil {
		firstErr.Total, firstErr.Sent, firstErr.Count = len(events), sent, count
		firstErr.Resume = slices.Index(sent, false)
		return count, firstErr
	}
	return count, nil
}

func signalEvent(ctx context.Context, c client.Client, ev *lang.Event, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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
		var ce *serviceerror.Canceled
		if (errors.As(err, &ce) || grpcstatus.Code(err) == codes.Canceled || errors.Is(err, context.Canceled)) && ctx.Err() == nil {
			// The connection went away under the call: Temporal stopped.
			return fmt.Errorf("customer %s: the connection to Temporal was lost: %w", ev.Customer, errors.Join(ErrUnavailable, err))
		}
		return fmt.Errorf("customer %s: %w", ev.Customer, err)
	}
	return nil
}

// ReadEvents reads events, one JSON object per line, from r; name is the
// file name used in errors. Blank lines are skipped. It returns the events
// and the line each came from. Every line is decoded strictly
// (DecodeEvent; at is required); the problems of every line are returned
// together as a *FileError. Events are neither checked against the schema
// nor given ids: see CheckFile.
func ReadEvents(name string, r io.Reader) ([]*lang.Event, []int, error) {
	var out []*lang.Event
	var lines []int
	var errs EventErrors
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff")) // a byte-order mark some editors write
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		ev, fe := DecodeEvent(b, DecodeOptions{})
		if ev != nil && ev.At.IsZero() && !hasField(fe, "at") {
			fe = append(fe, lang.FieldError{Field: "at", Message: "missing time; an event in a file says when it happened (RFC 3339 or a date)"})
		}
		for _, e := range fe {
			errs = append(errs, EventError{Index: len(out), Line: line, Field: e.Field, Message: e.Message})
		}
		out = append(out, ev)
		lines = append(lines, line)
		if len(errs) >= maxFileErrors {
			break
		}
	}
	if err := sc.Err(); err != nil {
		if !errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		errs = append(errs, EventError{Index: len(out), Line: line + 1, Message: fmt.Sprintf("line longer than %d bytes", MaxLine)})
	}
	if len(errs) > 0 {
		return out, lines, &FileError{File: name, Errs: errs}
	}
	return out, lines, nil
}

// maxFileErrors stops reading a file after this many problems.
const maxFileErrors = 100

func hasField(l lang.FieldErrors, f string) bool {
	for _, e := range l {
		if e.Field == f {
			return true
		}
	}
	return false
}

// FileError is every problem found in an events file, with its lines.
type FileError struct {
	File string
	Errs EventErrors
}

func (e *FileError) Error() string {
	s := e.Errs.Format(e.File)
	if len(e.Errs) >= maxFileErrors {
		s += fmt.Sprintf("\n(stopped after %d errors)", maxFileErrors)
	}
	return s
}

// CheckFile is Check for events read by ReadEvents, which gives events
// without an id a hash of their content: problems name the file and line.
func CheckFile(s *lang.Schema, name string, events []*lang.Event, lines []int) error {
	errs := Check(s, events, DecodeOptions{})
	if len(errs) == 0 {
		return nil
	}
	for i := range errs {
		errs[i].Line = lines[errs[i].Index]
		if j := errs[i].dupOf - 1; j >= 0 {
			errs[i].Message = dupMessage(events[errs[i].Index].ID, fmt.Sprintf("the event on line %d", lines[j]))
		}
	}
	return &FileError{File: name, Errs: errs}
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
