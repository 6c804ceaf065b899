// Package sim drives the engine's interpreter from a virtual clock: it is
// what `tend simulate` runs. Customers are independent, so each is simulated
// on its own (in parallel), and the records are merged in the order SPEC 5.1
// fixes: by time, then customer, then the order in which things happened.
//
// At one instant, external events come first (in input order), then timers
// (in the order they were set), then the daily check.
package sim

import (
	"container/heap"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tend-cs/tend/engine"
)

// Customer is a customer's id and starting attributes.
type Customer struct {
	ID    string
	Attrs map[string]any
	Line  int // where the customer was read from, if from a file
}

// Input is what to simulate. Events must be normalized and sorted by time
// (stable); events for customers not listed start a journey with no attributes.
type Input struct {
	Start     time.Time
	Until     time.Time
	Customers []Customer
	Events    []*engine.Event
}

// Result holds the merged timeline.
type Result struct {
	Records   []engine.Record
	Customers int
	Events    int
}

// Run simulates every customer from Start until Until (exclusive).
func Run(set *engine.Set, in Input) (*Result, error) {
	if !in.Until.After(in.Start) {
		return nil, fmt.Errorf("until %s is not after start %s", in.Until.Format(time.RFC3339), in.Start.Format(time.RFC3339))
	}
	order := []string{}
	attrs := map[string]map[string]any{}
	for _, c := range in.Customers {
		if _, dup := attrs[c.ID]; dup {
			return nil, fmt.Errorf("customer %s is listed twice", c.ID)
		}
		attrs[c.ID] = c.Attrs
		order = append(order, c.ID)
	}
	byCustomer := map[string][]*engine.Event{}
	for _, e := range in.Events {
		if _, ok := attrs[e.Customer]; !ok {
			attrs[e.Customer] = nil
			order = append(order, e.Customer)
		}
		byCustomer[e.Customer] = append(byCustomer[e.Customer], e)
	}
	results := make([][]engine.Record, len(order))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := order[i]
				results[i] = simulateCustomer(set, in, id, attrs[id], byCustomer[id])
			}
		}()
	}
	for i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	return &Result{Records: merge(order, results), Customers: len(order), Events: len(in.Events)}, nil
}

type itemKind int

const (
	itemEvent itemKind = iota
	itemTimer
	itemDaily
)

type item struct {
	at    time.Time
	kind  itemKind
	seq   int
	event *engine.Event
	run   string
	timer string
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	if q[i].kind != q[j].kind {
		return q[i].kind < q[j].kind
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

type customerSim struct {
	set  *engine.Set
	j    *engine.Journey
	runs map[string]*engine.Run
	q    queue
	seq  int
	recs []engine.Record
}

func (c *customerSim) push(it item) {
	c.seq++
	it.seq = c.seq
	heap.Push(&c.q, it)
}

func simulateCustomer(set *engine.Set, in Input, id string, attrs map[string]any, events []*engine.Event) []engine.Record {
	c := &customerSim{set: set, j: engine.NewJourney(id, attrs), runs: map[string]*engine.Run{}}
	for _, e := range events {
		if !e.At.Before(in.Start) && e.At.Before(in.Until) {
			c.push(item{at: e.At, kind: itemEvent, event: e})
		}
	}
	cal := set.Schema.Calendar
	c.push(item{at: cal.NextDaily(in.Start.Add(-time.Nanosecond), c.loc()), kind: itemDaily})
	for c.q.Len() > 0 {
		it := heap.Pop(&c.q).(item)
		if !it.at.Before(in.Until) {
			break
		}
		now := it.at
		switch it.kind {
		case itemEvent:
			c.applied(now, c.j.Apply(set, now, it.event))
		case itemTimer:
			if r := c.runs[it.run]; r != nil {
				c.exec(now, r, r.OnTimer(now, it.timer))
			}
		case itemDaily:
			c.applied(now, c.j.Daily(set, now))
			c.push(item{at: cal.NextDaily(now, c.loc()), kind: itemDaily})
		}
	}
	return c.recs
}

func (c *customerSim) loc() *time.Location {
	tz, _ := c.j.Attrs["timezone"].(string)
	return c.set.Schema.Calendar.Loc(tz)
}

func (c *customerSim) applied(now time.Time, a engine.Applied) {
	if a.Duplicate {
		return
	}
	c.recs = append(c.recs, a.Records...)
	// A run handling this event may carry out a `do: update`, which applies
	// a customer.updated event at once (nested): runs after it then get the
	// customer's attributes as they are now, not a.Attrs, or they would go
	// back to the attributes from before the update.
	for _, id := range a.Forward {
		if r := c.runs[id]; r != nil {
			c.exec(now, r, r.OnEvent(now, a.Event, c.j.Attrs, a.Before))
		}
	}
	for _, s := range a.Starts {
		s.Attrs = c.j.Attrs
		r := engine.NewRun(c.set, s)
		c.runs[s.ID] = r
		c.exec(now, r, r.Start(now))
	}
}

func (c *customerSim) exec(now time.Time, r *engine.Run, cmds []engine.Command) {
	for _, cmd := range cmds {
		switch cmd.Kind {
		case engine.CmdRecord:
			c.recs = append(c.recs, *cmd.Record)
		case engine.CmdTimer:
			c.push(item{at: cmd.Timer.At, kind: itemTimer, run: r.ID, timer: cmd.Timer.ID})
		case engine.CmdCancelTimer:
			// A cancelled timer that fires later is ignored by the run.
		case engine.CmdReserve:
			c.exec(now, r, r.OnSlot(now, c.j.Reserve(c.set, now)))
		case engine.CmdAction:
			if cmd.Action.Kind == "update" {
				c.applied(now, c.j.Apply(c.set, now, engine.UpdateEvent(cmd.Action, now)))
			}
			c.exec(now, r, r.OnActionDone(now))
		}
	}
	if r.Done() && c.runs[r.ID] == r {
		delete(c.runs, r.ID)
		c.j.RunEnded(r.Playbook, r.ID)
	}
}

// merge orders the per-customer timelines by time, then customer (input
// order), keeping each customer's own order.
func merge(order []string, lists [][]engine.Record) []engine.Record {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	out := make([]engine.Record, 0, total)
	h := &mergeHeap{lists: lists, order: order}
	for i, l := range lists {
		if len(l) > 0 {
			h.items = append(h.items, cursor{list: i})
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		cur := &h.items[0]
		out = append(out, lists[cur.list][cur.pos])
		cur.pos++
		if cur.pos == len(lists[cur.list]) {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return out
}

type cursor struct{ list, pos int }

type mergeHeap struct {
	lists [][]engine.Record
	order []string
	items []cursor
}

func (h *mergeHeap) Len() int { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool {
	a := h.lists[h.items[i].list][h.items[i].pos]
	b := h.lists[h.items[j].list][h.items[j].pos]
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	if a.Customer != b.Customer {
		return a.Customer < b.Customer
	}
	return h.items[i].list < h.items[j].list
}
func (h *mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)    { h.items = append(h.items, x.(cursor)) }
func (h *mergeHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}
