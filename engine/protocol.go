package engine

import (
	"reflect"
	"time"

	"github.com/tend-cs/tend/engine/lang"
)

// The customer protocol: what a journey and its runs say to each other.
// Both sides are pure state machines (Journey's On* methods and Peer) that
// take inputs with now and return what their transport must do. tend
// simulate and the Temporal workflows are two transports of the same
// machines, so neither makes a protocol decision of its own.
//
// A journey sends a run ToRun messages; a run sends its journey FromRun
// messages. Each direction numbers its messages per run from 1, and the
// receiver handles them in that order, holding any that arrive early and
// dropping any it has handled: Temporal does not keep the order of signals
// sent in one workflow task, and a transport may retry. So a transport
// never drops a message to a live run: a run the journey has just started
// is live at once, and what is sent to it before the transport has started
// it (another run's update at the same instant) is delivered once it has;
// a gap in the numbers would hold every later message.
//
// Whether a run is live is not a message: the transport learns it from
// Temporal (a child's completion, a signal that finds no workflow) and calls
// Journey.OnRunClosed. A run whose steps are done but which still has open
// tasks (wait: false) says MsgStepsDone: its playbook is free from then on,
// and it receives only task.completed events.

// FromRun message kinds.
const (
	MsgReserve   = "reserve"    // book a contact-policy slot for Action; answered with a Reply
	MsgUpdate    = "update"     // apply Action's `do: update`; answered with a Reply
	MsgReject    = "reject"     // Event completed none of the run's tasks, for Reason
	MsgStepsDone = "steps-done" // the run's steps are done; only open tasks remain
	MsgEnded     = "ended"      // the run has ended (only once asked to: ToRun.Adopt)
)

// ToRun is one message from a journey to one of its runs: applied events
// in order, then possibly the answer to the run's outstanding request. A
// message with neither asks only whether the run is still there.
type ToRun struct {
	Seq    int        `json:"seq"`
	Events []Delivery `json:"events,omitempty"`
	Reply  *Reply     `json:"reply,omitempty"`
	// Adopt asks the run to say MsgEnded when it ends: its journey has
	// continued as new and no longer hears of its end from Temporal.
	Adopt bool `json:"adopt,omitempty"`
}

// Delivery is an applied event passed on to a run. Attrs are the customer's
// attributes after it; within one message they are omitted when unchanged
// from the previous delivery's, so that a batch carries the record once.
// Diff gives the attributes before the event.
type Delivery struct {
	Event *lang.Event    `json:"event"`
	Attrs map[string]any `json:"attrs,omitempty"`
	Diff  *AttrDiff      `json:"diff,omitempty"`
}

// Reply answers a run's MsgReserve (At is the slot) or MsgUpdate (Error
// says why the update was not applied).
type Reply struct {
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

// FromRun is one message from a run to its journey.
type FromRun struct {
	Run    string      `json:"run"`
	Seq    int         `json:"seq"`
	Kind   string      `json:"kind"`
	At     time.Time   `json:"at"`
	Action *Action     `json:"action,omitempty"`
	Event  *lang.Event `json:"event,omitempty"`
	Reason string      `json:"reason,omitempty"`
}

// Outgoing is a message for the transport to deliver to run Run.
type Outgoing struct {
	Run string
	Msg ToRun
}

// LiveRun is a journey's memory of a run that Temporal (or the simulator)
// has not reported closed.
type LiveRun struct {
	Playbook string `json:"playbook"`
	// Out is the Seq of the last message sent to the run; In that of the
	// last message handled from it, and Held those received ahead of turn.
	Out  int       `json:"out,omitempty"`
	In   int       `json:"in,omitempty"`
	Held []FromRun `json:"held,omitempty"`
	// StepsDone: the run's steps are done and only tasks remain open. It
	// no longer holds its playbook, and gets only task.completed events.
	StepsDone bool `json:"steps_done,omitempty"`
}

// Rejection is an event a journey received but did not apply, and why.
type Rejection struct {
	Event  *lang.Event
	Reason string
}

// Out is what a journey asks its transport to do after one input.
type Out struct {
	Applied   bool // an event was applied (not a duplicate, not rejected)
	Duplicate bool
	Revised   bool // a survey answer was changed (Applied.Revised), not applied again
	Rejected  []Rejection
	Records   []lang.Record
	Starts    []StartRun // runs to start, in order; the journey counts them live
}

// MaxMessageBytes bounds the deliveries batched into one ToRun, well under
// Temporal's 2 MB payload limit.
const MaxMessageBytes = 512 << 10

func (o *Out) add(a Applied, attrs map[string]any) {
	o.Records = append(o.Records, a.Records...)
	for _, s := range a.Starts {
		s.Attrs = attrs // as they are once the event is applied
		o.Starts = append(o.Starts, s)
	}
}

func (j *Journey) live() map[string]*LiveRun {
	if j.Live == nil {
		j.Live = map[string]*LiveRun{}
	}
	return j.Live
}

// OnEvent applies a customer event at now: it normalizes it against the
// schema, drops a duplicate, rejects what cannot be applied, passes it on
// to the live runs and starts the runs it triggers.
func (j *Journey) OnEvent(set *lang.Set, now time.Time, ev *lang.Event) Out {
	var out Out
	if err := set.Schema.Normalize(ev); err != nil {
		out.Rejected = append(out.Rejected, Rejection{Event: ev, Reason: err.Error()})
		return out
	}
	j.apply(set, now, ev, &out)
	return out
}

func (j *Journey) apply(set *lang.Set, now time.Time, ev *lang.Event, out *Out) {
	a := j.Apply(set, now, ev)
	switch {
	case a.Rejected != "":
		out.Rejected = append(out.Rejected, Rejection{Event: ev, Reason: a.Rejected})
		return
	case a.Duplicate:
		out.Duplicate = true
		return
	}
	out.Applied, out.Revised = !a.Revised, a.Revised
	j.deliver(a)
	out.add(a, j.Attrs)
	j.started(a.Starts)
}

// OnDaily runs the daily check at now. Runs keep their own daily checks
// (Peer.DailyAt), so nothing is passed on to them.
func (j *Journey) OnDaily(set *lang.Set, now time.Time) Out {
	j.DailyFrom = now
	var out Out
	a := j.Daily(set, now)
	out.add(a, j.Attrs)
	j.started(a.Starts)
	return out
}

func (j *Journey) started(starts []StartRun) {
	for _, s := range starts {
		j.live()[s.ID] = &LiveRun{Playbook: s.Playbook.Name}
	}
}

// deliver queues an applied event for every live run that takes it: all
// events for runs that hold their playbook, task.completed only for runs
// whose steps are done.
func (j *Journey) deliver(a Applied) {
	if a.Event.Type == lang.EventDaily {
		return
	}
	for _, id := range j.liveIDs() {
		lr := j.Live[id]
		if lr.StepsDone && a.Event.Type != lang.EventTaskCompleted {
			continue
		}
		j.queue(id, func(m *ToRun) {
			d := Delivery{Event: a.Event, Diff: diffPtr(a.Before, j.Attrs)}
			if !j.sameAsLast(m) {
				d.Attrs = j.Attrs
			}
			m.Events = append(m.Events, d)
		})
	}
}

func diffPtr(before, after map[string]any) *AttrDiff {
	d := Diff(before, after)
	if len(d.Changed) == 0 && len(d.Added) == 0 {
		return nil
	}
	return &d
}

// sameAsLast reports whether the journey's attributes are those the last
// delivery in m carries (maps are never changed in place, so identity is
// equality).
func (j *Journey) sameAsLast(m *ToRun) bool {
	a := lastAttrs(m)
	return a != nil && sameMap(a, j.Attrs)
}

func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// liveIDs lists the live runs in id order.
func (j *Journey) liveIDs() []string {
	return sortedKeys(j.Live)
}

// queued is a message waiting for Flush.
type queued struct {
	run   string
	msg   *ToRun
	bytes int
}

// queue adds a delivery to the last message queued for run id, or starts
// a new one when there is none, it carries a reply, or it is full.
func (j *Journey) queue(id string, fill func(*ToRun)) {
	var q *queued
	for i := len(j.outq) - 1; i >= 0; i-- {
		if j.outq[i].run == id {
			q = j.outq[i]
			break
		}
	}
	if q == nil || q.msg.Reply != nil || q.bytes > MaxMessageBytes {
		q = &queued{run: id, msg: &ToRun{}}
		j.outq = append(j.outq, q)
	}
	n := len(q.msg.Events)
	fill(q.msg)
	for _, d := range q.msg.Events[n:] {
		q.bytes += 256 + lang.RecordSize(d.Attrs) + lang.RecordSize(d.Event.Attributes) + lang.RecordSize(d.Event.Data)
		if d.Diff != nil {
			q.bytes += lang.RecordSize(d.Diff.Changed)
		}
	}
}

// reply queues the answer to a run's request in a message of its own, so
// that a transport delivering in order hands out the events first.
func (j *Journey) reply(id string, r Reply) {
	j.outq = append(j.outq, &queued{run: id, msg: &ToRun{Reply: &r}})
}

// Flush returns the messages queued since the last Flush, numbered, in the
// order they were queued. With merge, a run's consecutive messages go as
// one (fewer signals; the run handles them the same way). A transport
// calls it after each input, or at least before it waits.
func (j *Journey) Flush(merge bool) []Outgoing {
	var out []Outgoing
	last := map[string]int{} // run → index in out of its last message
	for _, q := range j.outq {
		lr := j.Live[q.run]
		if lr == nil {
			continue // closed meanwhile: nothing to tell it
		}
		if i, ok := last[q.run]; merge && ok && out[i].Msg.Reply == nil {
			m := &out[i].Msg
			if len(q.msg.Events) > 0 && len(m.Events) > 0 && q.msg.Events[0].Attrs == nil {
				q.msg.Events[0].Attrs = lastAttrs(m)
			}
			m.Events = append(m.Events, q.msg.Events...)
			m.Reply = q.msg.Reply
			m.Adopt = m.Adopt || q.msg.Adopt
			continue
		}
		lr.Out++
		q.msg.Seq = lr.Out
		last[q.run] = len(out)
		out = append(out, Outgoing{Run: q.run, Msg: *q.msg})
	}
	j.outq = nil
	return out
}

func lastAttrs(m *ToRun) map[string]any {
	for i := len(m.Events) - 1; i >= 0; i-- {
		if a := m.Events[i].Attrs; a != nil {
			return a
		}
	}
	return nil
}

// Adopt queues a message to every live run asking it to say when it ends.
// A transport calls it when it can no longer hear of those runs' ends from
// Temporal (a journey that has continued as new); the message is also a
// ping: one that finds no workflow means the run has closed.
func (j *Journey) Adopt() {
	for _, id := range j.liveIDs() {
		j.queue(id, func(m *ToRun) { m.Adopt = true })
	}
}

// Ping queues an empty message to a live run, so that the transport learns
// from Temporal whether the run still exists.
func (j *Journey) Ping(id string) {
	if j.Live[id] != nil {
		j.queue(id, func(*ToRun) {})
	}
}

// OnRunMsg handles a message from a run, in the run's order.
func (j *Journey) OnRunMsg(set *lang.Set, now time.Time, m FromRun) Out {
	var out Out
	lr := j.Live[m.Run]
	if lr == nil {
		// The run has closed: only a rejection still says something.
		if m.Kind == MsgReject && m.Event != nil {
			out.Rejected = append(out.Rejected, Rejection{Event: m.Event, Reason: m.Reason})
		}
		return out
	}
	if m.Seq <= lr.In {
		return out // handled before
	}
	for _, h := range lr.Held {
		if h.Seq == m.Seq {
			return out
		}
	}
	lr.Held = append(lr.Held, m)
	for {
		i := -1
		for k, h := range lr.Held {
			if h.Seq == lr.In+1 {
				i = k
				break
			}
		}
		if i < 0 {
			break
		}
		h := lr.Held[i]
		lr.Held = append(lr.Held[:i], lr.Held[i+1:]...)
		lr.In++
		j.handleRunMsg(set, now, h, &out)
		if j.Live[m.Run] == nil {
			break
		}
	}
	if len(lr.Held) == 0 {
		lr.Held = nil
	}
	return out
}

func (j *Journey) handleRunMsg(set *lang.Set, now time.Time, m FromRun, out *Out) {
	switch m.Kind {
	case MsgReserve:
		at := j.Reserve(set, now)
		j.reply(m.Run, Reply{At: at})
	case MsgUpdate:
		rep := Reply{At: now}
		if m.Action == nil {
			rep.Error = "update without an action"
		} else {
			ev := UpdateEvent(m.Action, now)
			ev.Attributes = set.Schema.RestoreAttrs(ev.Attributes)
			if err := set.Schema.Normalize(ev); err != nil {
				rep.Error = err.Error()
			} else {
				var o Out
				j.apply(set, now, ev, &o)
				if len(o.Rejected) > 0 {
					rep.Error = o.Rejected[0].Reason
				}
				out.Records = append(out.Records, o.Records...)
				out.Starts = append(out.Starts, o.Starts...)
			}
		}
		j.reply(m.Run, rep)
	case MsgReject:
		if m.Event != nil {
			out.Rejected = append(out.Rejected, Rejection{Event: m.Event, Reason: m.Reason})
		}
	case MsgEnded:
		j.OnRunClosed(m.Run)
	case MsgStepsDone:
		lr := j.Live[m.Run]
		lr.StepsDone = true
		if st := j.Playbooks[lr.Playbook]; st != nil && st.Active == m.Run {
			st.Active = ""
		}
	}
}

// OnRunClosed is Temporal's word (or the simulator's) that a run has
// closed, however it ended: completed, failed, terminated, cancelled or
// timed out. Its playbook may start again.
func (j *Journey) OnRunClosed(id string) {
	lr := j.Live[id]
	if lr == nil {
		return
	}
	delete(j.Live, id)
	j.RunEnded(lr.Playbook, id)
}

// Blocking lists the live runs that hold a playbook the event (or daily
// check, type daily) may trigger. A transport that cannot vouch that these
// runs are still live (it started them in an earlier execution) asks
// Temporal first, with Ping, before the event is applied.
func (j *Journey) Blocking(set *lang.Set, eventType string) []string {
	var ids []string
	for _, pb := range set.Triggered(eventType) {
		if st := j.Playbooks[pb.Name]; st != nil && st.Active != "" {
			ids = append(ids, st.Active)
		}
	}
	return ids
}

// DailyAt is when the journey's next daily check is due, or zero when no
// playbook has a daily trigger. It follows the customer's time zone as it
// is now, so a transport re-arms its timer whenever the answer changes.
func (j *Journey) DailyAt(set *lang.Set, now time.Time) time.Time {
	if len(set.Triggered(lang.EventDaily)) == 0 {
		return time.Time{}
	}
	if j.DailyFrom.IsZero() {
		// A new journey: a daily check due at this very instant still runs.
		j.DailyFrom = now.Add(-time.Nanosecond)
	}
	from := j.DailyFrom
	if n := now.Add(-time.Nanosecond); n.After(from) {
		from = n
	}
	return set.Schema.Calendar.NextDaily(from, j.loc(set))
}

func (j *Journey) loc(set *lang.Set) *time.Location {
	tz, _ := j.Attrs["timezone"].(string)
	return set.Schema.Calendar.Loc(tz)
}

// UpdateEvent is the customer.updated event a `do: update` action applies.
func UpdateEvent(a *Action, now time.Time) *lang.Event {
	attrs := map[string]any{}
	for k, v := range a.Set {
		attrs[k] = v
	}
	if a.Stage != "" {
		attrs[lang.AttrStage] = a.Stage
	}
	return &lang.Event{ID: "update/" + a.Key, Type: lang.EventCustomerUpdated, Customer: a.Customer, At: now, Attributes: attrs}
}
