package workflows

import (
	"fmt"
	"time"

	"github.com/tend-cs/tend/engine"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Forward is an applied event a journey passes on to one of its runs, with
// the customer's attributes before and after it.
type Forward struct {
	Event *engine.Event  `json:"event"`
	Attrs map[string]any `json:"attrs"`
	// Diff gives the attributes before the event as a difference from
	// Attrs. Histories recorded before it existed carry Before instead.
	Diff   *engine.AttrDiff `json:"diff,omitempty"`
	Before map[string]any   `json:"before,omitempty"`
}

// before is the customer's attributes before the forwarded event, given
// those after it (restored to their Go types).
func (f *Forward) before(s *engine.Schema, attrs map[string]any) map[string]any {
	if f.Diff == nil {
		return s.RestoreAttrs(f.Before)
	}
	d := engine.AttrDiff{Changed: s.RestoreAttrs(f.Diff.Changed), Added: f.Diff.Added}
	return d.Before(attrs)
}

// Msg is one signal from a journey to a run. Temporal does not keep the
// order of signals sent to one workflow in the same workflow task, so each
// carries a sequence number per run, and the run handles them in order.
type Msg struct {
	Seq     int      `json:"seq"`
	Forward *Forward `json:"forward,omitempty"`
	Reply   *Reply   `json:"reply,omitempty"`
}

// Reply answers a run's Request.
type Reply struct {
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

type journey struct {
	w        *Workflows
	ctx      workflow.Context
	j        *engine.Journey
	version  string
	set      *engine.Set
	queue    []Signal
	timeline []engine.Record
	sent     []workflow.Future // signals to runs, awaited before continue-as-new
	seqs     map[string]int    // the last Msg.Seq sent to each running run
	daily    workflow.Future
	dailyAt  time.Time
	fired    bool
	fresh    bool // a new journey: a daily check due this instant still runs
	stage    string
	stats    JourneyStats
	rejected []RejectedEvent
	flagged  bool // TendStatus = rejected is set
}

// CustomerJourney is the long-lived workflow of one customer (SPEC 2): it
// applies events in order, drops duplicates, evaluates triggers and starts
// PlaybookRun children, passes each event on to the running runs, and
// answers their reservations and updates. It continues as new before its
// history grows long, carrying its state and any signal not yet handled.
func (w *Workflows) CustomerJourney(ctx workflow.Context, in JourneyInput) error {
	d := &journey{w: w, ctx: ctx, queue: in.Pending, seqs: in.Seqs, stats: in.Stats, rejected: in.Rejected, flagged: len(in.Rejected) > 0}
	if d.seqs == nil {
		d.seqs = map[string]int{}
	}
	if in.Bundle != nil {
		if _, err := compile(*in.Bundle, in.Bundle.Version); err != nil {
			panic(err) // fails the workflow task: retried, nothing lost
		}
		d.version = in.Bundle.Version
		d.set = setCache.get(d.version)
		bundleCache.put(*in.Bundle)
	}
	d.refresh()
	if in.State != nil {
		d.set.Schema.RestoreJourneyState(in.State)
		d.j = engine.ResumeJourney(*in.State)
	} else {
		d.j = engine.NewJourney(in.Customer, d.set.Schema.RestoreAttrs(in.Attrs))
		d.fresh = true
	}
	d.stage = d.j.Stage()
	if err := workflow.SetQueryHandler(ctx, QueryState, d.view); err != nil {
		return fmt.Errorf("journey %s: %w", in.Customer, err)
	}
	events := workflow.GetSignalChannel(ctx, SignalEvent)
	requests := workflow.GetSignalChannel(ctx, signalRequest)
	ended := workflow.GetSignalChannel(ctx, signalEnded)
	for {
		for len(d.queue) > 0 {
			s := d.queue[0]
			d.queue = d.queue[1:]
			d.handle(s)
		}
		if d.fired {
			d.fired, d.daily = false, nil
			d.onDaily()
			continue
		}
		if w.tooLong(ctx) {
			return d.continueAsNew(events, requests, ended)
		}
		d.armDaily()
		workflow.SetCurrentDetails(ctx, d.details())
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var ev engine.Event
			c.Receive(ctx, &ev)
			d.queue = append(d.queue, Signal{Name: SignalEvent, Event: &ev})
		})
		sel.AddReceive(requests, func(c workflow.ReceiveChannel, _ bool) {
			var r Request
			c.Receive(ctx, &r)
			d.queue = append(d.queue, Signal{Name: signalRequest, Request: &r})
		})
		sel.AddReceive(ended, func(c workflow.ReceiveChannel, _ bool) {
			var e Ended
			c.Receive(ctx, &e)
			d.queue = append(d.queue, Signal{Name: signalEnded, Ended: &e})
		})
		if d.daily != nil {
			sel.AddFuture(d.daily, func(f workflow.Future) {
				_ = f.Get(ctx, nil)
				d.fired = true
			})
		}
		sel.Select(ctx)
	}
}

// refresh picks up a new playbook set. The version goes through a mutable
// side effect (recorded only when it changes) and the files through a side
// effect, so replay on any worker uses the set the history recorded.
func (d *journey) refresh() {
	var v string
	err := workflow.MutableSideEffect(d.ctx, "playbooks", func(workflow.Context) any {
		return d.w.pb.Current().Version
	}, func(a, b any) bool { return a.(string) == b.(string) }).Get(&v)
	if err != nil || v == d.version {
		return
	}
	var b Bundle
	opts := workflow.SideEffectOptions{Summary: "load playbook set " + v}
	if err := workflow.SideEffectWithOptions(d.ctx, opts, func(workflow.Context) any {
		return d.w.pb.Current()
	}).Get(&b); err != nil {
		panic(fmt.Errorf("decode playbook set %s: %w", v, err))
	}
	set, err := compile(b, b.Version)
	if err != nil {
		panic(err)
	}
	bundleCache.put(b)
	d.version, d.set = b.Version, set
}

func (d *journey) handle(s Signal) {
	now := workflow.Now(d.ctx)
	switch s.Name {
	case SignalEvent:
		d.refresh()
		ev := s.Event
		if err := d.set.Schema.Normalize(ev); err != nil {
			d.reject(ev, err.Error())
			return
		}
		a := d.j.Apply(d.set, now, ev)
		if a.Rejected != "" {
			d.reject(ev, a.Rejected)
			return
		}
		if a.Duplicate {
			d.stats.Duplicates++
		} else {
			d.stats.Applied++
		}
		d.applied(a)
	case signalRequest:
		r := s.Request
		if r.Kind == "reject" {
			if r.Event != nil {
				d.reject(r.Event, r.Reason)
			}
			return
		}
		var rep Reply
		switch r.Kind {
		case "reserve":
			rep.At = d.j.Reserve(d.set, now)
		case "update":
			ev := engine.UpdateEvent(r.Action, now)
			ev.Attributes = d.set.Schema.RestoreAttrs(ev.Attributes)
			if err := d.set.Schema.Normalize(ev); err != nil {
				rep.Error = err.Error()
			} else {
				d.applied(d.j.Apply(d.set, now, ev))
			}
			rep.At = now
		}
		d.signal(r.Run, Msg{Reply: &rep})
	case signalEnded:
		d.j.RunEnded(s.Ended.Playbook, s.Ended.Run)
		delete(d.seqs, s.Ended.Run)
	}
	d.publishStage()
}

// reject keeps an event the journey could not apply, with the reason, in
// a bounded list that tend events rejected, the HTTP API and the journey's
// current details show. The event is not marked as seen, so it may be sent
// again once the cause is fixed.
func (d *journey) reject(ev *engine.Event, reason string) {
	d.stats.Rejected++
	d.rejected = append(d.rejected, RejectedEvent{ID: ev.ID, Type: ev.Type, At: ev.At, Received: workflow.Now(d.ctx).UTC(),
		Reason: reason, Attributes: ev.Attributes, Data: ev.Data})
	if len(d.rejected) > MaxRejected {
		d.rejected = d.rejected[len(d.rejected)-MaxRejected:]
	}
	if n := len(d.rejected); n > 1 && rejectedSize(d.rejected) > maxRejectedBytes {
		// Keep the reasons; drop the payloads of all but the newest.
		for i := range d.rejected[:n-1] {
			d.rejected[i].Attributes, d.rejected[i].Data = nil, nil
		}
	}
	if !d.flagged && workflow.GetVersion(d.ctx, "rejected-status", workflow.DefaultVersion, 1) == 1 {
		d.flagged = true
		_ = workflow.UpsertTypedSearchAttributes(d.ctx, AttrStatus.ValueSet(JourneyRejected))
	}
	workflow.GetLogger(d.ctx).Warn("event rejected", "event", ev.ID, "type", ev.Type, "error", reason)
}

func (d *journey) applied(a engine.Applied) {
	if a.Duplicate || a.Rejected != "" {
		return
	}
	for _, r := range a.Records {
		d.record(r)
	}
	if a.Event.Type != engine.EventDaily { // runs keep their own daily checks (Run.WantsDaily)
		for _, id := range a.Forward {
			diff := engine.Diff(a.Before, d.j.Attrs)
			d.signal(id, Msg{Forward: &Forward{Event: a.Event, Attrs: d.j.Attrs, Diff: &diff}})
		}
	}
	for _, s := range a.Starts {
		d.start(s)
	}
}

func (d *journey) start(s engine.StartRun) {
	pb := s.Playbook
	b, ok := bundleCache.get(d.version)
	if !ok {
		panic(fmt.Errorf("playbook set %s is not loaded", d.version))
	}
	in := RunInput{
		Customer: d.j.Customer, Playbook: pb.Name, Version: pb.Version,
		Source: runSource(b, d.set, pb),
		Start:  runStart(s, d.j.Attrs),
	}
	sa := []temporal.SearchAttributeUpdate{
		AttrCustomer.ValueSet(d.j.Customer), AttrPlaybook.ValueSet(pb.Name), AttrVersion.ValueSet(pb.Version),
		AttrStatus.ValueSet(string(engine.StatusRunning)),
	}
	if st := d.j.Stage(); st != "" {
		sa = append(sa, AttrStage.ValueSet(st))
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            WorkflowID(s.ID),
		TaskQueue:             TaskQueue,
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(sa...),
		StaticSummary:         fmt.Sprintf("run %s for customer %s, triggered by %s", pb.Name, d.j.Customer, s.Event.Type),
		StaticDetails:         pb.Description,
	}
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(d.ctx, opts), RunWorkflow, in)
	if err := f.GetChildWorkflowExecution().Get(d.ctx, nil); err != nil {
		workflow.GetLogger(d.ctx).Error("run not started", "run", s.ID, "error", err.Error())
		d.j.RunEnded(pb.Name, s.ID)
	}
}

// signal sends a message to a run, numbered in the run's sequence. A run
// that has ended meanwhile cannot be signalled; that is harmless.
func (d *journey) signal(id string, m Msg) {
	d.seqs[id]++
	m.Seq = d.seqs[id]
	keep := d.sent[:0]
	for _, f := range d.sent {
		if !f.IsReady() {
			keep = append(keep, f)
		}
	}
	d.sent = append(keep, workflow.SignalExternalWorkflow(d.ctx, WorkflowID(id), "", signalJourney, m))
	if len(d.sent) >= maxPendingSignals {
		// Temporal fails a workflow task that leaves 2,000 signals to
		// other workflows pending, and the retry would replay the same
		// ones: a burst of events queued while no worker ran must drain
		// in batches.
		for _, f := range d.sent {
			_ = f.Get(d.ctx, nil)
		}
		d.sent = nil
	}
}

// maxPendingSignals bounds the signals to runs in flight at once, well under
// Temporal's per-workflow limit of 2,000.
const maxPendingSignals = 500

func (d *journey) record(r engine.Record) {
	d.timeline = appendCapped(d.timeline, r)
	d.w.observe(d.ctx, r)
}

func (d *journey) publishStage() {
	if st := d.j.Stage(); st != d.stage {
		d.stage = st
		_ = workflow.UpsertTypedSearchAttributes(d.ctx, AttrStage.ValueSet(st))
	}
}

func (d *journey) loc() *time.Location {
	tz, _ := d.j.Attrs["timezone"].(string)
	return d.set.Schema.Calendar.Loc(tz)
}

// armDaily keeps a timer for the next daily check, only while some
// playbook has a daily trigger: an idle journey without one holds no timer.
func (d *journey) armDaily() {
	if d.daily != nil || len(d.set.Triggered(engine.EventDaily)) == 0 {
		return
	}
	now := workflow.Now(d.ctx)
	from := now
	if d.fresh {
		from = now.Add(-time.Nanosecond)
		d.fresh = false
	}
	loc := d.loc()
	d.dailyAt = d.set.Schema.Calendar.NextDaily(from, loc)
	d.daily = workflow.NewTimerWithOptions(d.ctx, d.dailyAt.Sub(now), workflow.TimerOptions{
		Summary: "daily check at " + d.dailyAt.In(loc).Format("2006-01-02 15:04 MST"),
	})
}

func (d *journey) onDaily() {
	d.refresh()
	now := workflow.Now(d.ctx)
	d.applied(d.j.Daily(d.set, now))
	d.publishStage()
}

func (d *journey) details() string {
	running := d.running()
	s := fmt.Sprintf("customer %s, stage %s, %d running run(s)", d.j.Customer, orNone(d.j.Stage()), len(running))
	if d.daily != nil {
		s += ", next daily check " + d.dailyAt.In(d.loc()).Format("2006-01-02 15:04 MST")
	}
	if n := len(d.rejected); n > 0 {
		last := d.rejected[n-1]
		s += fmt.Sprintf("; %d event(s) rejected, the last (%s %s at %s): %s; see tend events rejected --customer %s",
			d.stats.Rejected, last.Type, orNone(last.ID), last.Received.Format(time.RFC3339), last.Reason, d.j.Customer)
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (d *journey) running() []string {
	return d.j.Running()
}

func (d *journey) view() (JourneyView, error) {
	return JourneyView{Customer: d.j.Customer, Stage: d.j.Stage(), Attrs: d.j.Attrs, Running: d.running(),
		Version: d.version, Timeline: d.timeline, Stats: d.stats, Rejected: d.rejected}, nil
}

// continueAsNew waits for every signal it sent, takes every signal that
// has arrived but not been handled, and carries them into the next run.
func (d *journey) continueAsNew(chans ...workflow.ReceiveChannel) error {
	for _, f := range d.sent {
		_ = f.Get(d.ctx, nil)
	}
	d.sent = nil
	for i, c := range chans {
		for {
			var s Signal
			ok := false
			switch i {
			case 0:
				var ev engine.Event
				if ok = c.ReceiveAsync(&ev); ok {
					s = Signal{Name: SignalEvent, Event: &ev}
				}
			case 1:
				var r Request
				if ok = c.ReceiveAsync(&r); ok {
					s = Signal{Name: signalRequest, Request: &r}
				}
			case 2:
				var e Ended
				if ok = c.ReceiveAsync(&e); ok {
					s = Signal{Name: signalEnded, Ended: &e}
				}
			}
			if !ok {
				break
			}
			d.queue = append(d.queue, s)
		}
	}
	b, _ := bundleCache.get(d.version)
	st := d.j.JourneyState
	return workflow.NewContinueAsNewError(d.ctx, JourneyWorkflow, JourneyInput{
		Customer: d.j.Customer, State: &st, Pending: d.queue, Bundle: &b, Seqs: d.seqs, Stats: d.stats,
		Rejected: d.rejected,
	})
}
