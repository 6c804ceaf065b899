// Package sim drives the engine's interpreter from a virtual clock: it is
// what `tend simulate` runs. Customers are independent, so each is simulated
// on its own (in parallel), and the records are merged in the order that
// docs/language.md (Scenario files) gives: by time, then customer, then the
// order in which things happened.
//
// At one instant, external events come first (in input order), then timers
// (in the order they were set), then the daily check.
//
// Calls and trainings are booked in their owners' calendars, which
// customers share: see Run.
package sim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
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
	Events    []*lang.Event
	// Disorder, if set, delivers the messages between a journey and its
	// runs as Temporal may: in any order within one instant, and some
	// twice. The timeline must not change.
	Disorder *Disorder
	// Staff are the owners' working calendars (tend.yaml's staff:).
	Staff engine.Staff
}

// Disorder seeds the reordering of messages.
type Disorder struct{ Seed uint64 }

// Result holds the merged timeline.
type Result struct {
	Records   []lang.Record
	Customers int
	Events    int
}

// Run simulates every customer from Start until Until (exclusive).
//
// Customers are simulated independently, in parallel, but calls and
// trainings of different customers share their owners' calendars. So a
// meeting's slot is booked afterwards: each customer's bookings are
// collected, then booked in one engine.Ledger per owner in the order
// (time asked, customer id, action key), and the starts are written into
// the action records. This is sound because a slot's start changes
// nothing in a run but that record (Run.OnBooked): runs get the slot of
// an empty calendar meanwhile. Requests for one owner at the same instant
// are thus booked in customer id order, and a customer's own in key order
// (its runs act concurrently, so their order at one instant is not
// fixed); the Temporal workers book in the order the requests arrive.
func Run(set *lang.Set, in Input) (*Result, error) {
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
	byCustomer := map[string][]*lang.Event{}
	for _, e := range in.Events {
		if _, ok := attrs[e.Customer]; !ok {
			attrs[e.Customer] = nil
			order = append(order, e.Customer)
		}
		byCustomer[e.Customer] = append(byCustomer[e.Customer], e)
	}
	results := make([][]lang.Record, len(order))
	books := make([][]engine.BookRequest, len(order))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := order[i]
				results[i], books[i] = simulateCustomer(set, in, id, attrs[id], byCustomer[id])
			}
		}()
	}
	for i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	bookSlots(order, results, books, in.Staff)
	return &Result{Records: merge(order, results), Customers: len(order), Events: len(in.Events)}, nil
}

// bookSlots books every customer's meetings in their owners' calendars, in
// the order of Run's comment, and sets the start of their action records.
func bookSlots(order []string, results [][]lang.Record, books [][]engine.BookRequest, staff engine.Staff) {
	type pending struct {
		customer int
		q        engine.BookRequest
	}
	var all []pending
	for i, l := range books {
		for _, q := range l {
			all = append(all, pending{i, q})
		}
	}
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if !x.q.Earliest.Equal(y.q.Earliest) {
			return x.q.Earliest.Before(y.q.Earliest)
		}
		if order[x.customer] != order[y.customer] {
			return order[x.customer] < order[y.customer]
		}
		return x.q.Key < y.q.Key
	})
	ledgers := map[string]*engine.Ledger{}
	starts := make([]map[string]time.Time, len(order))
	for _, p := range all {
		q := p.q
		staff.Apply(&q)
		l := ledgers[engine.OwnerKey(q.Owner)]
		if l == nil {
			l = &engine.Ledger{}
			ledgers[engine.OwnerKey(q.Owner)] = l
		}
		start, err := l.Book(q.Earliest, q)
		if err != nil {
			continue // the run's own proposal stays
		}
		if starts[p.customer] == nil {
			starts[p.customer] = map[string]time.Time{}
		}
		starts[p.customer][q.Key] = start
	}
	for i, m := range starts {
		for j := range results[i] {
			r := &results[i][j]
			if start, ok := m[r.Task]; ok && r.Kind == lang.RecAction && r.Start != nil {
				r.Start = &start
			}
		}
	}
}

type itemKind int

// At one instant: events, then run timers, then the journey's daily check,
// then the runs' daily checks, then (with Disorder) messages in flight.
const (
	itemEvent itemKind = iota
	itemTimer
	itemDaily
	itemRunDaily
	itemMsg // a message in flight, either way (Disorder)
)

type item struct {
	at    time.Time
	kind  itemKind
	seq   int
	event *lang.Event
	run   string
	timer string
	to    *engine.ToRun
	from  *engine.FromRun
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

// customerSim is the simulator's transport of the customer protocol: a
// journey and its runs' peers, exchanging messages at once and in order
// (or, with Disorder, reordered and repeated within one instant).
type customerSim struct {
	set      *lang.Set
	j        *engine.Journey
	peers    map[string]*engine.Peer
	q        queue
	seq      int
	recs     []lang.Record
	books    []engine.BookRequest // meetings to book once every customer is simulated
	daily    time.Time            // the journey's armed daily check
	runDaily map[string]time.Time // each run's armed daily check
	rng      *rand.Rand           // Disorder, if set
	// starting holds the messages to runs the journey has started but
	// whose peers are not started yet (see journey).
	starting map[string][]engine.ToRun
}

func (c *customerSim) push(it item) {
	c.seq++
	it.seq = c.seq
	heap.Push(&c.q, it)
}

func simulateCustomer(set *lang.Set, in Input, id string, attrs map[string]any, events []*lang.Event) ([]lang.Record, []engine.BookRequest) {
	c := runCustomer(set, in, id, attrs, events)
	return c.recs, c.books
}

// runCustomer simulates one customer and returns the simulation as it ends.
func runCustomer(set *lang.Set, in Input, id string, attrs map[string]any, events []*lang.Event) *customerSim {
	c := &customerSim{set: set, j: engine.NewJourney(id, attrs), peers: map[string]*engine.Peer{},
		runDaily: map[string]time.Time{}, starting: map[string][]engine.ToRun{}}
	if in.Disorder != nil {
		c.rng = rand.New(rand.NewPCG(in.Disorder.Seed, uint64(len(id))))
	}
	for _, e := range events {
		if !e.At.Before(in.Start) && e.At.Before(in.Until) {
			c.push(item{at: e.At, kind: itemEvent, event: e})
		}
	}
	c.settle(in.Start)
	for c.q.Len() > 0 {
		it := heap.Pop(&c.q).(item)
		if !it.at.Before(in.Until) {
			break
		}
		now := it.at
		switch it.kind {
		case itemEvent:
			c.journey(now, c.j.OnEvent(set, now, it.event))
		case itemTimer:
			if p := c.peers[it.run]; p != nil {
				c.peer(now, p, p.Timer(now, it.timer))
			}
		case itemDaily:
			if now.Equal(c.daily) {
				c.daily = time.Time{}
				c.journey(now, c.j.OnDaily(set, now))
			}
		case itemRunDaily:
			if p := c.peers[it.run]; p != nil && now.Equal(c.runDaily[it.run]) {
				delete(c.runDaily, it.run)
				c.peer(now, p, p.Daily(now))
			}
		case itemMsg:
			if it.to == nil {
				c.journey(now, c.j.OnRunMsg(set, now, *it.from))
			} else if p := c.peers[it.run]; p != nil {
				c.peer(now, p, p.Msg(now, *it.to))
			}
		}
		c.settle(now)
	}
	return c
}

// settle arms the daily checks the journey and the runs want now: a
// change of time zone moves them.
func (c *customerSim) settle(now time.Time) {
	if at := c.j.DailyAt(c.set, now); !at.Equal(c.daily) {
		c.daily = at
		if !at.IsZero() {
			c.push(item{at: at, kind: itemDaily})
		}
	}
	for _, id := range sortedIDs(c.peers) {
		p := c.peers[id]
		if at := p.DailyAt(now); !at.Equal(c.runDaily[id]) {
			c.runDaily[id] = at
			if !at.IsZero() {
				c.push(item{at: at, kind: itemRunDaily, run: id})
			}
		}
	}
}

func sortedIDs(m map[string]*engine.Peer) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// journey carries out what the journey asked: its records, then its
// messages to runs, then the runs it starts, then its replies, as tend
// simulate has always ordered them.
//
// The runs start one after the other, and what an earlier one does at
// once (an update) may already send messages to a later one: the journey
// counts every run it starts as live. Those messages wait until the run
// has started, as Temporal delivers a signal to a child only once it has
// started; dropped, they would leave a gap in the run's message numbers,
// and the run would wait for it for ever.
func (c *customerSim) journey(now time.Time, out engine.Out) {
	c.recs = append(c.recs, out.Records...)
	for _, s := range out.Starts {
		c.starting[s.ID] = nil
	}
	msgs := c.j.Flush(false)
	for _, m := range msgs {
		if m.Msg.Reply == nil {
			c.toRun(now, m)
		}
	}
	for _, s := range out.Starts {
		p := engine.NewPeer(engine.NewRun(c.set, s))
		c.peers[s.ID] = p
		early := c.starting[s.ID]
		delete(c.starting, s.ID)
		c.peer(now, p, p.Start(now))
		for _, m := range early {
			if c.peers[s.ID] == p {
				c.peer(now, p, p.Msg(now, m))
			}
		}
	}
	for _, m := range msgs {
		if m.Msg.Reply != nil {
			c.toRun(now, m)
		}
	}
}

func (c *customerSim) toRun(now time.Time, m engine.Outgoing) {
	if c.rng != nil {
		c.scatter(now, item{at: now, kind: itemMsg, run: m.Run, to: &m.Msg})
		return
	}
	if p := c.peers[m.Run]; p != nil {
		c.peer(now, p, p.Msg(now, m.Msg))
	} else if early, ok := c.starting[m.Run]; ok {
		c.starting[m.Run] = append(early, m.Msg)
	}
}

// scatter puts a message in flight: delivered later at the same instant,
// in an order the seed picks, sometimes twice.
func (c *customerSim) scatter(now time.Time, it item) {
	n := 1
	if c.rng.IntN(4) == 0 {
		n = 2
	}
	for range n {
		// Messages in flight go in a random order among themselves, but
		// after what is already due at this instant.
		it.seq = c.seq + 1 + c.rng.IntN(1<<20)
		heap.Push(&c.q, it)
	}
}

// peer carries out what a run asked: records, timers and actions (done at
// once), and its messages to the journey. A run that has ended is closed,
// as Temporal reports a child's completion.
func (c *customerSim) peer(now time.Time, p *engine.Peer, out engine.PeerOut) {
	for _, cmd := range out.Commands {
		switch cmd.Kind {
		case engine.CmdRecord:
			c.recs = append(c.recs, *cmd.Record)
		case engine.CmdTimer:
			c.push(item{at: cmd.Timer.At, kind: itemTimer, run: p.R.ID, timer: cmd.Timer.ID})
		case engine.CmdCancelTimer:
			// A cancelled timer that fires later is ignored by the run.
		case engine.CmdAction:
			c.peer(now, p, p.ActionDone(now))
		case engine.CmdBook:
			// Booked for real by bookSlots; see Run.
			c.books = append(c.books, *cmd.Book)
			c.peer(now, p, p.Booked(now, cmd.Book.Propose()))
		}
	}
	for _, m := range out.Send {
		if c.rng != nil {
			c.scatter(now, item{at: now, kind: itemMsg, run: p.R.ID, from: &m})
			continue
		}
		c.journey(now, c.j.OnRunMsg(c.set, now, m))
	}
	if p.R.Done() && c.peers[p.R.ID] == p && !p.Busy() {
		delete(c.peers, p.R.ID)
		delete(c.runDaily, p.R.ID)
		c.j.OnRunClosed(p.R.ID)
	}
}

// merge orders the per-customer timelines by time, then customer (input
// order), keeping each customer's own order.
func merge(order []string, lists [][]lang.Record) []lang.Record {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	out := make([]lang.Record, 0, total)
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
	lists [][]lang.Record
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
