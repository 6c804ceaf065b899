package engine

import (
	"time"

	"github.com/tend-cs/tend/engine/lang"
)

// PeerState is a run's side of the customer protocol, as plain data.
type PeerState struct {
	// Next is the Seq of the next ToRun to handle; Held those received
	// ahead of it.
	Next int     `json:"next"`
	Held []ToRun `json:"held,omitempty"`
	// Out is the Seq of the last FromRun sent.
	Out int `json:"out,omitempty"`
	// Asked is the kind of the request awaiting a Reply (MsgReserve or
	// MsgUpdate), or "".
	Asked string `json:"asked,omitempty"`
	// Acting is set while an action is being carried out by the
	// transport, or a meeting's slot booked (CmdBook).
	Acting bool `json:"acting,omitempty"`
	// Cur is the rest of the message being handled when an action it
	// started is being carried out.
	Cur *ToRun `json:"cur,omitempty"`
	// DailyFrom is the instant after which the next daily check is due:
	// the run's start, then its last daily check.
	DailyFrom time.Time `json:"daily_from,omitempty"`
	// Adopted: the journey asked to hear MsgEnded; Ended: it was sent.
	Adopted bool `json:"adopted,omitempty"`
	Ended   bool `json:"ended,omitempty"`
	// StepsDone is set once MsgStepsDone has been sent.
	StepsDone bool `json:"steps_done,omitempty"`
}

// Peer drives a Run from the protocol's inputs: the journey's messages,
// timers, the daily check and the outcome of actions. Commands it returns
// never include CmdReserve, nor a CmdAction of kind update: it turns those
// into messages to the journey and feeds the Reply back to the run.
type Peer struct {
	PeerState
	R *Run
}

// PeerOut is what a run's transport must do after one input: carry out
// Commands in order (a CmdAction is answered with ActionDone or
// ActionFailed, a CmdBook with Booked or ActionFailed, before any other
// input), and send Send to the journey.
type PeerOut struct {
	Commands []Command
	Send     []FromRun
}

// NewPeer returns the peer of a new run; call Start next.
func NewPeer(r *Run) *Peer { return &Peer{R: r, PeerState: PeerState{Next: 1}} }

// ResumePeer returns the peer of a run continued from its states.
func ResumePeer(r *Run, st PeerState) *Peer {
	if st.Next < 1 {
		st.Next = 1
	}
	return &Peer{R: r, PeerState: st}
}

// Start begins the run at now.
func (p *Peer) Start(now time.Time) PeerOut {
	var o PeerOut
	p.DailyFrom = now
	p.run(now, p.R.Start(now), &o)
	return o
}

// Timer handles a run timer (a Command's Timer.ID) that fired at now.
func (p *Peer) Timer(now time.Time, id string) PeerOut {
	var o PeerOut
	p.run(now, p.R.OnTimer(now, id), &o)
	return o
}

// Daily runs the run's daily check at now (see DailyAt).
func (p *Peer) Daily(now time.Time) PeerOut {
	var o PeerOut
	p.DailyFrom = now
	ev := &lang.Event{Type: lang.EventDaily, Customer: p.R.Customer, At: now}
	p.run(now, p.R.OnEvent(now, ev, p.R.Attrs, p.R.Attrs), &o)
	return o
}

// DailyAt is when the run's next daily check is due, or zero when a daily
// check cannot change it (Run.WantsDaily). It follows the customer's time
// zone as it is now: a transport re-arms its timer when the answer changes.
func (p *Peer) DailyAt(now time.Time) time.Time {
	if !p.R.WantsDaily() {
		return time.Time{}
	}
	from := p.DailyFrom
	if n := now.Add(-time.Nanosecond); n.After(from) {
		from = n
	}
	return p.R.set.Schema.Calendar.NextDaily(from, p.R.loc())
}

// ActionDone reports that the CmdAction the transport carried out succeeded.
func (p *Peer) ActionDone(now time.Time) PeerOut {
	var o PeerOut
	p.Acting = false
	if !p.R.Done() {
		p.run(now, p.R.OnActionDone(now), &o)
	}
	p.drain(now, &o)
	return o
}

// Booked answers the CmdBook the transport carried out with the slot's
// start.
func (p *Peer) Booked(now, start time.Time) PeerOut {
	var o PeerOut
	p.Acting = false
	if !p.R.Done() {
		p.run(now, p.R.OnBooked(now, start), &o)
	}
	p.drain(now, &o)
	return o
}

// ActionFailed reports that the CmdAction (or CmdBook) failed for good.
func (p *Peer) ActionFailed(now time.Time, reason string) PeerOut {
	var o PeerOut
	p.Acting = false
	if !p.R.Done() {
		p.run(now, p.R.OnActionFailed(now, reason), &o)
	}
	p.drain(now, &o)
	return o
}

// Msg handles a message from the journey, in the journey's order: early
// messages are held, repeated ones dropped.
func (p *Peer) Msg(now time.Time, m ToRun) PeerOut {
	var o PeerOut
	if m.Seq < p.Next {
		return o
	}
	for _, h := range p.Held {
		if h.Seq == m.Seq {
			return o
		}
	}
	p.Held = append(p.Held, m)
	p.drain(now, &o)
	return o
}

// drain handles held messages in order, one delivery at a time, while no
// action is being carried out: as in tend simulate, an action's outcome
// comes before the next event.
func (p *Peer) drain(now time.Time, o *PeerOut) {
	for !p.Acting {
		if p.Cur == nil {
			i := -1
			for k, h := range p.Held {
				if h.Seq == p.Next {
					i = k
					break
				}
			}
			if i < 0 {
				break
			}
			m := p.Held[i]
			p.Held = append(p.Held[:i], p.Held[i+1:]...)
			p.Next++
			p.Cur = &m
		}
		m := p.Cur
		if m.Adopt {
			m.Adopt = false
			p.Adopted = true
			p.ended(now, o)
		}
		if len(m.Events) > 0 {
			d := m.Events[0]
			m.Events = m.Events[1:]
			if len(m.Events) > 0 && m.Events[0].Attrs == nil {
				// The next delivery shares these attributes.
				m.Events[0].Attrs = d.Attrs
			}
			p.deliver(now, d, o)
			continue
		}
		p.Cur = nil
		p.reply(now, m.Reply, o)
	}
	if len(p.Held) == 0 {
		p.Held = nil
	}
}

func (p *Peer) deliver(now time.Time, d Delivery, o *PeerOut) {
	attrs := p.R.Attrs
	if d.Attrs != nil {
		attrs = d.Attrs
	}
	before := attrs
	if d.Diff != nil {
		before = d.Diff.Before(attrs)
	}
	if reason := p.R.UnknownTask(d.Event); reason != "" {
		// Nothing else would show that the event did nothing.
		p.send(now, FromRun{Kind: MsgReject, Event: d.Event, Reason: reason}, o)
	}
	if !p.R.Done() {
		p.run(now, p.R.OnEvent(now, d.Event, attrs, before), o)
	}
}

func (p *Peer) reply(now time.Time, r *Reply, o *PeerOut) {
	if r == nil || p.Asked == "" {
		return
	}
	asked := p.Asked
	p.Asked = ""
	if p.R.Done() {
		return
	}
	switch {
	case asked == MsgReserve:
		p.run(now, p.R.OnSlot(now, r.At), o)
	case r.Error != "":
		p.run(now, p.R.OnActionFailed(now, r.Error), o)
	default:
		p.run(now, p.R.OnActionDone(now), o)
	}
}

func (p *Peer) send(now time.Time, m FromRun, o *PeerOut) {
	p.Out++
	m.Seq, m.Run, m.At = p.Out, p.R.ID, now
	o.Send = append(o.Send, m)
}

// run passes the interpreter's commands on, turning reservations and
// updates into requests to the journey, and says when the steps are done.
func (p *Peer) run(now time.Time, cmds []Command, o *PeerOut) {
	for _, c := range cmds {
		switch {
		case c.Kind == CmdReserve:
			if at, ok := p.R.set.Schema.LocalSlot(now, c.Action.Timezone); ok {
				// No weekly cap: the slot depends on the calendar alone.
				p.run(now, p.R.OnSlot(now, at), o)
				continue
			}
			p.Asked = MsgReserve
			p.send(now, FromRun{Kind: MsgReserve, Action: c.Action}, o)
		case c.Kind == CmdAction && c.Action.Kind == lang.ActionUpdate:
			p.Asked = MsgUpdate
			p.send(now, FromRun{Kind: MsgUpdate, Action: c.Action}, o)
		case c.Kind == CmdAction, c.Kind == CmdBook:
			p.Acting = true
			o.Commands = append(o.Commands, c)
		default:
			o.Commands = append(o.Commands, c)
		}
	}
	if !p.StepsDone && p.R.StepsDone() {
		p.StepsDone = true
		p.send(now, FromRun{Kind: MsgStepsDone}, o)
	}
	p.ended(now, o)
}

// ended says MsgEnded once, when the run has ended and was adopted.
func (p *Peer) ended(now time.Time, o *PeerOut) {
	if p.Adopted && !p.Ended && p.R.Done() {
		p.Ended = true
		p.send(now, FromRun{Kind: MsgEnded}, o)
	}
}

// Busy reports whether the run waits for an action's outcome or a booking:
// its transport then delivers nothing else until ActionDone, Booked or
// ActionFailed.
func (p *Peer) Busy() bool { return p.Acting }
