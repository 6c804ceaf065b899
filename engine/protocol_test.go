package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// protoSet has a playbook that waits for a condition (so it takes every
// event), one whose only step is a task that does not wait, and one with a
// reservation under a weekly cap.
func protoSet(t *testing.T) *lang.Set {
	return loadSet(t, testSchema+"contact_policy: {max_per_week: 2}\n", "w.yaml", `
playbook: w
trigger: {on: [contract.signed]}
steps:
  - {id: healthy, wait_for: {until: customer.health >= 90}}
  - {id: done, do: notify, text: ok}
`, "t.yaml", `
playbook: t
trigger: {on: [nps.responded], once_per: event.id}
steps:
  - {id: todo, do: task, title: Call back, due: 2d, wait: false}
`)
}

func ev(id, typ string, at time.Time, attrs map[string]any) *lang.Event {
	return &lang.Event{ID: id, Type: typ, Customer: "acme", At: at, Attributes: attrs}
}

// drive carries out a peer's actions at once, as tend simulate does, and
// returns every message it sent.
func drive(p *engine.Peer, now time.Time, out engine.PeerOut) []engine.FromRun {
	sent := out.Send
	for _, c := range out.Commands {
		if c.Kind == engine.CmdAction {
			sent = append(sent, drive(p, now, p.ActionDone(now))...)
		}
	}
	return sent
}

// deliver hands the journey's queued messages to the peers and returns
// what they sent back, without delivering it.
func deliver(t *testing.T, j *engine.Journey, peers map[string]*engine.Peer, now time.Time) []engine.FromRun {
	t.Helper()
	var back []engine.FromRun
	for _, m := range j.Flush(true) {
		p := peers[m.Run]
		if p == nil {
			t.Fatalf("message to unknown run %s", m.Run)
		}
		back = append(back, drive(p, now, p.Msg(now, m.Msg))...)
	}
	return back
}

func TestProtocolMessagesInOrder(t *testing.T) {
	set := protoSet(t)
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", acmeAttrs())
	out := j.OnEvent(set, now, ev("s", "contract.signed", now, nil))
	if len(out.Starts) != 1 || !out.Applied {
		t.Fatalf("starts %d, applied %v", len(out.Starts), out.Applied)
	}
	p := engine.NewPeer(engine.NewRun(set, out.Starts[0]))
	p.Start(now)
	// Three events in one task become one message (merged); the run
	// takes them in order and sees the last attributes.
	for i, h := range []float64{85, 95, 70} {
		j.OnEvent(set, now, ev(string(rune('a'+i)), lang.EventCustomerUpdated, now, map[string]any{"health": h}))
	}
	msgs := j.Flush(true)
	if len(msgs) != 1 || len(msgs[0].Msg.Events) != 3 || msgs[0].Msg.Seq != 1 {
		t.Fatalf("messages %+v, want one with 3 events, seq 1", msgs)
	}
	if msgs[0].Msg.Events[1].Attrs == nil || msgs[0].Msg.Events[1].Diff == nil {
		t.Errorf("a delivery whose attributes changed must carry them and the difference: %+v", msgs[0].Msg.Events[1])
	}
	drive(p, now, p.Msg(now, msgs[0].Msg))
	if !p.R.Done() || p.R.Attrs["health"] != 95.0 {
		t.Errorf("run done %v with health %v; the second event (95) satisfies the wait", p.R.Done(), p.R.Attrs["health"])
	}
}

// Messages that arrive out of order, or twice, are handled once, in order.
func TestProtocolReorderAndRepeat(t *testing.T) {
	set := protoSet(t)
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", acmeAttrs())
	out := j.OnEvent(set, now, ev("s", "contract.signed", now, nil))
	p := engine.NewPeer(engine.NewRun(set, out.Starts[0]))
	p.Start(now)
	var msgs []engine.Outgoing
	for i, h := range []float64{95, 70} {
		j.OnEvent(set, now, ev(string(rune('a'+i)), lang.EventCustomerUpdated, now, map[string]any{"health": h}))
		msgs = append(msgs, j.Flush(true)...) // one message each
	}
	if len(msgs) != 2 || msgs[1].Msg.Seq != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	p.Msg(now, msgs[1].Msg) // seq 2 first: held
	if p.R.Done() || len(p.Held) != 1 {
		t.Fatalf("seq 2 before seq 1 was handled: done %v, held %d", p.R.Done(), len(p.Held))
	}
	drive(p, now, p.Msg(now, msgs[0].Msg))
	drive(p, now, p.Msg(now, msgs[0].Msg)) // a repeat
	if !p.R.Done() || len(p.Held) != 0 || p.Next != 3 {
		t.Errorf("done %v, held %d, next %d", p.R.Done(), len(p.Held), p.Next)
	}
}

// A run whose steps are done with a task open frees its playbook, gets
// only task.completed from then on, and closes when Temporal says so.
func TestProtocolStepsDoneFreesPlaybook(t *testing.T) {
	set := protoSet(t)
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", acmeAttrs())
	out := j.OnEvent(set, now, ev("n1", "nps.responded", now, nil))
	r1 := out.Starts[0].ID
	p := engine.NewPeer(engine.NewRun(set, out.Starts[0]))
	p.Start(now)
	o := p.ActionDone(now)
	if p.R.Status != engine.StatusTasksOpen || len(o.Send) != 1 || o.Send[0].Kind != engine.MsgStepsDone {
		t.Fatalf("status %s, sent %+v; want tasks-open and steps-done", p.R.Status, o.Send)
	}
	peers := map[string]*engine.Peer{r1: p}
	// Before the journey hears it, the playbook is held.
	if out := j.OnEvent(set, now, ev("n2", "nps.responded", now, nil)); len(out.Starts) != 0 {
		t.Fatal("a second run started while the first holds the playbook")
	}
	deliver(t, j, peers, now)
	j.OnRunMsg(set, now, o.Send[0])
	out = j.OnEvent(set, now, ev("n3", "nps.responded", now, nil))
	if len(out.Starts) != 1 || out.Starts[0].ID == r1 {
		t.Fatalf("starts %+v, want run 2", out.Starts)
	}
	// Run 1 gets the task.completed, not the customer.updated.
	j.OnEvent(set, now, ev("u", lang.EventCustomerUpdated, now, map[string]any{"health": 50}))
	task := p.R.Tasks[0].ID
	j.OnEvent(set, now, engine.CompleteTaskEvent("acme", task, "done", now))
	for _, m := range j.Flush(true) {
		if m.Run != r1 {
			continue
		}
		for _, d := range m.Msg.Events {
			if d.Event.Type != lang.EventTaskCompleted {
				t.Errorf("a run with only tasks open got %s", d.Event.Type)
			}
		}
		drive(p, now, p.Msg(now, m.Msg))
	}
	if !p.R.Done() {
		t.Fatalf("run 1 is %s after its task was completed", p.R.Status)
	}
	j.OnRunClosed(r1)
	if _, live := j.Live[r1]; live {
		t.Error("a closed run is still live")
	}
}

// A reservation is answered; an adopted run says when it ends; the
// journey forgets a run Temporal says is closed.
func TestProtocolReserveAdoptEnd(t *testing.T) {
	set := loadSet(t, testSchema+"contact_policy: {max_per_week: 1}\n", "e.yaml", `
playbook: e
trigger: {on: [contract.signed]}
steps:
  - {id: hi, do: email, subject: Hi, body: Hello}
  - {id: hi2, do: email, subject: Hi again, body: Hello}
`)
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", acmeAttrs())
	out := j.OnEvent(set, now, ev("s", "contract.signed", now, nil))
	id := out.Starts[0].ID
	p := engine.NewPeer(engine.NewRun(set, out.Starts[0]))
	peers := map[string]*engine.Peer{id: p}
	o := p.Start(now)
	if len(o.Send) != 1 || o.Send[0].Kind != engine.MsgReserve {
		t.Fatalf("sent %+v, want a reservation", o.Send)
	}
	j.OnRunMsg(set, now, o.Send[0])
	back := deliver(t, j, peers, now)
	// The first email went; the second asks again, and the cap of one a
	// week holds it for a week.
	if len(back) != 1 || back[0].Kind != engine.MsgReserve {
		t.Fatalf("sent %+v, want the second reservation", back)
	}
	// The journey continues as new here: it adopts its live runs.
	st := j.JourneyState
	j = engine.ResumeJourney(st)
	j.Adopt()
	j.OnRunMsg(set, now, back[0])
	back = deliver(t, j, peers, now)
	if !slices.ContainsFunc(back, func(m engine.FromRun) bool { return m.Kind == engine.MsgEnded }) {
		// The run is held until next week by the cap: not ended yet.
		if p.R.Done() {
			t.Fatalf("the run ended without saying so: %+v", back)
		}
	}
	var fired []engine.FromRun
	for _, tm := range p.R.SortedTimers() {
		fired = append(fired, drive(p, tm.At, p.Timer(tm.At, tm.ID))...)
	}
	if !p.R.Done() || len(fired) != 1 || fired[0].Kind != engine.MsgEnded {
		t.Fatalf("done %v, sent %+v; an adopted run says it ended", p.R.Done(), fired)
	}
	j.OnRunMsg(set, now, fired[0])
	if len(j.Running()) != 0 || len(j.Live) != 0 {
		t.Errorf("running %v, live %v after the run said it ended", j.Running(), j.Live)
	}
	if !strings.HasPrefix(id, "run/e/acme/") {
		t.Errorf("run id %s", id)
	}
}

// A journey handles a run's messages in the run's order, once.
func TestProtocolJourneyHoldsEarlyMessages(t *testing.T) {
	set := protoSet(t)
	now := utc("2026-01-05T10:00:00Z")
	j := engine.NewJourney("acme", acmeAttrs())
	out := j.OnEvent(set, now, ev("n1", "nps.responded", now, nil))
	id := out.Starts[0].ID
	reject := engine.FromRun{Run: id, Seq: 1, Kind: engine.MsgReject, Event: ev("x", lang.EventTaskCompleted, now, nil), Reason: "no such task"}
	done := engine.FromRun{Run: id, Seq: 2, Kind: engine.MsgStepsDone}
	if o := j.OnRunMsg(set, now, done); len(j.Running()) != 1 || len(o.Rejected) != 0 {
		t.Fatalf("seq 2 handled before seq 1: running %v", j.Running())
	}
	o := j.OnRunMsg(set, now, reject)
	if len(o.Rejected) != 1 || len(j.Running()) != 0 {
		t.Fatalf("after seq 1: rejected %d, running %v; want 1 and none", len(o.Rejected), j.Running())
	}
	if o := j.OnRunMsg(set, now, reject); len(o.Rejected) != 0 {
		t.Error("a repeated message was handled twice")
	}
}
