package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// journey is the Temporal transport of a customer's side of the protocol
// (engine.Journey's On* methods): it turns signals, timers and child
// completions into inputs, and the outputs into child starts and signals.
type journey struct {
	w        *Workflows
	ctx      workflow.Context
	j        *engine.Journey
	version  string
	set      *lang.Set
	setErr   string // why a set the journey was asked to use was not used
	queue    []Signal
	timeline []lang.Record
	stats    JourneyStats
	rejected []RejectedEvent
	flagged  bool // TendStatus = rejected is set
	stage    string

	// runs started by this execution: Temporal reports their closing
	// through the child's future. Runs inherited over continue-as-new are
	// asked with a ping when it matters.
	children map[string]workflow.ChildWorkflowFuture
	childIDs []string // the keys of children, in start order
	closed   []string // children whose future is ready, to handle in order
	sent     []sentSignal
	commands int // commands issued since the last wait: the history they add
	received int // signals received since the last wait: already in the history

	daily   workflow.Future
	cancel  workflow.CancelFunc
	dailyAt time.Time
	fired   bool
}

type sentSignal struct {
	run string
	f   workflow.Future
}

// CustomerJourney is the long-lived workflow of one customer: it
// applies events in order, drops duplicates, evaluates triggers and starts
// PlaybookRun children, passes each event on to the live runs, and answers
// their reservations and updates. It learns that a run has closed from
// Temporal: the child's completion, or, for a run an earlier execution
// started, a signal that finds no workflow (the run is also asked to say
// when it ends). It continues as new before its history grows long, carrying its
// state and any signal not yet handled.
func (w *Workflows) CustomerJourney(ctx workflow.Context, in JourneyInput) error {
	d := &journey{w: w, ctx: ctx, queue: in.Pending, stats: in.Stats, rejected: in.Rejected,
		flagged: len(in.Rejected) > 0, children: map[string]workflow.ChildWorkflowFuture{}}
	if in.Set != "" {
		d.use(in.Set)
	}
	d.refresh()
	if d.set == nil {
		// Neither the recorded set nor the worker's compiles or resolves:
		// fail the task, so it is retried once a worker can.
		panic(fmt.Errorf("journey %s: no playbook set to run on: %s", in.Customer, d.setErr))
	}
	if in.State != nil {
		restoreJourney(d.set.Schema, in.State)
		d.j = engine.ResumeJourney(*in.State)
		// This execution does not hear of the runs' ends from Temporal:
		// ask them to say so (and learn at once of any already gone).
		d.j.Adopt()
		d.flush()
	} else {
		d.j = engine.NewJourney(in.Customer, d.set.Schema.RestoreAttrs(in.Attrs))
	}
	d.stage = d.j.Stage()
	if err := workflow.SetQueryHandler(ctx, QueryState, d.view); err != nil {
		return fmt.Errorf("journey %s: %w", in.Customer, err)
	}
	events := workflow.GetSignalChannel(ctx, SignalEvent)
	msgs := workflow.GetSignalChannel(ctx, signalFromRun)
	for {
		d.drain(events, msgs)
		for handled := 0; len(d.queue) > 0 || len(d.closed) > 0; handled++ {
			if d.tooLong(true) {
				return d.continueAsNew(events, msgs)
			}
			if len(d.closed) > 0 {
				id := d.closed[0]
				d.closed = d.closed[1:]
				d.j.OnRunClosed(id)
				continue
			}
			s := d.queue[0]
			d.queue = d.queue[1:]
			d.handle(s)
			if handled%flushEvery == flushEvery-1 {
				d.flush()
			}
		}
		d.flush()
		if d.fired {
			d.fired, d.daily = false, nil
			d.refresh()
			d.checkInherited(lang.EventDaily)
			d.out(d.j.OnDaily(d.set, workflow.Now(ctx)))
			d.flush()
			continue
		}
		if d.tooLong(false) {
			return d.continueAsNew(events, msgs)
		}
		d.armDaily()
		workflow.SetCurrentDetails(ctx, d.details())
		d.commands, d.received = 0, 0
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(workflow.ReceiveChannel, bool) {})
		sel.AddReceive(msgs, func(workflow.ReceiveChannel, bool) {})
		if d.daily != nil {
			sel.AddFuture(d.daily, func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					d.fired = true
				}
			})
		}
		for _, id := range d.childIDs {
			sel.AddFuture(d.children[id], func(workflow.Future) {
				d.forget(id)
				d.closed = append(d.closed, id)
			})
		}
		for _, s := range d.sent {
			sel.AddFuture(s.f, func(workflow.Future) {})
		}
		sel.Select(ctx)
		d.reap()
	}
}

// drain takes every signal that has arrived, events before run messages.
func (d *journey) drain(events, msgs workflow.ReceiveChannel) {
	for {
		var ev lang.Event
		if !events.ReceiveAsync(&ev) {
			break
		}
		d.queue = append(d.queue, Signal{Name: SignalEvent, Event: &ev})
		d.received++
	}
	for {
		var m engine.FromRun
		if !msgs.ReceiveAsync(&m) {
			break
		}
		d.queue = append(d.queue, Signal{Name: signalFromRun, Msg: &m})
		d.received++
	}
}

// tooLong reports whether the history, with what this workflow task has
// added so far, has reached the limit: it is checked as signals are
// handled, not only between tasks, so that no backlog carries an
// execution past Temporal's 10,240 events. Signals already received are
// in the history whatever the journey does, and handling them costs little
// (their messages to runs go in batches), while carrying them over
// continue-as-new costs their bytes in the next input: so a backlog is
// handled in this execution up to hardHistoryLimit, and only the journey's
// own commands count against HistoryLimit.
// Once the received signals are handled (backlog false), the plain limit
// and the server's own suggestion apply, and nothing is left to carry.
func (d *journey) tooLong(backlog bool) bool {
	info := workflow.GetInfo(d.ctx)
	n := info.GetCurrentHistoryLength() + 2*d.commands
	if backlog {
		return n-d.received >= d.w.opts.HistoryLimit || n >= hardHistoryLimit
	}
	return n >= d.w.opts.HistoryLimit || info.GetContinueAsNewSuggested()
}

// hardHistoryLimit is the length at which a journey continues as new even
// in the middle of a backlog, under Temporal's 10,240.
const hardHistoryLimit = 9000

// use switches to the set of a version. A version that does not compile
// leaves the journey on its last good set, with the reason in its details;
// one the store does not hold fails the workflow task, to be retried.
func (d *journey) use(v string) {
	set, err := d.w.pb.Set(v)
	switch {
	case errors.Is(err, ErrSetNotFound):
		panic(err)
	case err != nil:
		d.setErr = err.Error()
		workflow.GetLogger(d.ctx).Error("playbook set not used", "version", v, "error", err.Error())
		return
	}
	d.version, d.set = v, set
}

// refresh picks up the worker's current playbook set. Its version goes
// through a mutable side effect, recorded only when it changes; the set
// itself is resolved by version, so the history holds 12 bytes, not files.
func (d *journey) refresh() {
	var v string
	err := workflow.MutableSideEffect(d.ctx, "playbooks", func(workflow.Context) any {
		return d.w.pb.Current().Version
	}, func(a, b any) bool { return a.(string) == b.(string) }).Get(&v)
	if err != nil || v == "" || v == d.version {
		return
	}
	d.use(v)
}

func (d *journey) handle(s Signal) {
	now := workflow.Now(d.ctx)
	switch s.Name {
	case SignalEvent:
		d.refresh()
		d.checkInherited(s.Event.Type)
		d.out(d.j.OnEvent(d.set, now, s.Event))
	case signalFromRun:
		engine.RestoreFromRun(d.set.Schema, s.Msg)
		d.out(d.j.OnRunMsg(d.set, now, *s.Msg))
	}
}

// checkInherited asks Temporal whether the runs that would keep a playbook
// from starting on this event are still there, when this execution did not
// start them (it continued as new since): a run terminated meanwhile frees
// its playbook.
func (d *journey) checkInherited(eventType string) {
	var ids []string
	for _, id := range d.j.Blocking(d.set, eventType) {
		if d.children[id] == nil {
			d.j.Ping(id)
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	d.flush()
	for _, s := range d.sent {
		_ = s.f.Get(d.ctx, nil)
	}
	d.reap()
}

// out carries out what the journey asked; its messages to runs wait for
// the next flush.
func (d *journey) out(o engine.Out) {
	now := workflow.Now(d.ctx)
	switch {
	case o.Applied:
		d.stats.Applied++
	case o.Duplicate:
		d.stats.Duplicates++
	case o.Revised:
		d.stats.Revised++
	}
	for _, r := range o.Rejected {
		d.reject(r.Event, r.Reason, now)
	}
	for _, r := range o.Records {
		d.timeline = appendCapped(d.timeline, r)
		d.w.observe(d.ctx, r)
	}
	for _, s := range o.Starts {
		d.start(s)
	}
	d.publishStage()
}

// flushEvery bounds how many signals a journey handles before it sends
// what they queued for its runs: a backlog goes to each run in batches
// (one signal per run per batch), and the history length check sees them.
const flushEvery = 100

// flush sends the journey's queued messages, one signal per run. A run
// this task has just started is signalled once Temporal has started it:
// a signal may otherwise reach the server first and find no workflow.
func (d *journey) flush() {
	for _, m := range d.j.Flush(true) {
		if c := d.children[m.Run]; c != nil && !c.GetChildWorkflowExecution().IsReady() {
			if err := c.GetChildWorkflowExecution().Get(d.ctx, nil); err != nil {
				continue // not started: its future reports it closed
			}
		}
		f := workflow.SignalExternalWorkflow(d.ctx, WorkflowID(m.Run), "", signalToRun, m.Msg)
		d.sent = append(d.sent, sentSignal{run: m.Run, f: f})
		d.commands++
		if len(d.sent) >= maxPendingSignals {
			// Temporal fails a workflow task that leaves 2,000 signals
			// to other workflows pending.
			for _, s := range d.sent {
				_ = s.f.Get(d.ctx, nil)
			}
			d.reap()
		}
	}
}

// maxPendingSignals bounds the signals to runs in flight at once, well under
// Temporal's per-workflow limit of 2,000.
const maxPendingSignals = 500

// reap forgets the signals that have been delivered; one that found no
// workflow is Temporal's word that the run has closed.
func (d *journey) reap() {
	keep := d.sent[:0]
	for _, s := range d.sent {
		if !s.f.IsReady() {
			keep = append(keep, s)
			continue
		}
		var unknown *temporal.UnknownExternalWorkflowExecutionError
		if err := s.f.Get(d.ctx, nil); errors.As(err, &unknown) {
			d.j.OnRunClosed(s.run)
			d.forget(s.run)
		}
	}
	d.sent = keep
}

// reject keeps an event the journey could not apply, with the reason, in
// a bounded list that tend events rejected, the HTTP API and the journey's
// current details show. The event is not marked as seen, so it may be sent
// again once the cause is fixed.
func (d *journey) reject(ev *lang.Event, reason string, now time.Time) {
	d.stats.Rejected++
	d.rejected = append(d.rejected, RejectedEvent{ID: ev.ID, Type: ev.Type, At: ev.At, Received: now.UTC(),
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
	if !d.flagged {
		d.flagged = true
		d.commands++
		_ = workflow.UpsertTypedSearchAttributes(d.ctx, AttrStatus.ValueSet(JourneyRejected))
	}
	workflow.GetLogger(d.ctx).Warn("event rejected", "event", ev.ID, "type", ev.Type, "error", reason)
}

func (d *journey) start(s engine.StartRun) {
	pb := s.Playbook
	diff := engine.Diff(s.Before, s.Attrs)
	in := RunInput{
		Customer: d.j.Customer, Playbook: pb.Name, Version: pb.Version, Set: d.version,
		Start: &RunStart{ID: s.ID, N: s.N, Key: s.Key, Event: s.Event, Attrs: s.Attrs, Diff: &diff},
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
	// The child's future is ready when the run closes, however it ends,
	// or when it could not start: either way its playbook is free again.
	d.children[s.ID] = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(d.ctx, opts), RunWorkflow, in)
	d.childIDs = append(d.childIDs, s.ID)
	d.commands++
}

// forget stops watching a child.
func (d *journey) forget(id string) {
	if d.children[id] == nil {
		return
	}
	delete(d.children, id)
	d.childIDs = slices.DeleteFunc(d.childIDs, func(x string) bool { return x == id })
}

func (d *journey) publishStage() {
	if st := d.j.Stage(); st != d.stage {
		d.stage = st
		d.commands++
		_ = workflow.UpsertTypedSearchAttributes(d.ctx, AttrStage.ValueSet(st))
	}
}

func (d *journey) loc() *time.Location {
	tz, _ := d.j.Attrs["timezone"].(string)
	return d.set.Schema.Calendar.Loc(tz)
}

// armDaily keeps a timer for the journey's next daily check, in the
// customer's time zone as it is now: a change of zone re-arms it. An idle
// journey with no daily trigger holds no timer.
func (d *journey) armDaily() {
	now := workflow.Now(d.ctx)
	at := d.j.DailyAt(d.set, now)
	if at.Equal(d.dailyAt) && (d.daily != nil || at.IsZero()) {
		return
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.daily, d.cancel, d.dailyAt = nil, nil, at
	if at.IsZero() {
		return
	}
	ctx, cancel := workflow.WithCancel(d.ctx)
	d.daily = workflow.NewTimerWithOptions(ctx, at.Sub(now), workflow.TimerOptions{
		Summary: "daily check at " + calendar.Local(at, d.loc()),
	})
	d.cancel = cancel
	d.commands++
}

func (d *journey) details() string {
	s := fmt.Sprintf("customer %s, stage %s, %d running run(s)", d.j.Customer, orNone(d.j.Stage()), len(d.j.Running()))
	if d.daily != nil {
		s += ", next daily check " + calendar.Local(d.dailyAt, d.loc())
	}
	if d.setErr != "" {
		s += fmt.Sprintf("; on playbook set %s: %s", d.version, d.setErr)
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

func (d *journey) view() (JourneyView, error) {
	explain := d.j.Explain(d.set)
	pbs := d.j.Playbooks
	if pbs == nil {
		// Empty, not left out: a customer no playbook ran for yet is not
		// a journey of an older worker (see JourneyView.Playbooks).
		pbs = map[string]*engine.PlaybookRuns{}
	}
	return JourneyView{Customer: d.j.Customer, Stage: d.j.Stage(), Attrs: d.j.Attrs, Running: d.j.Running(),
		Version: d.version, Timeline: d.timeline, Stats: d.stats, Rejected: d.rejected, Answers: d.j.Answers, Error: d.setErr,
		Explain: &explain, Playbooks: pbs}, nil
}

// continueAsNew waits for every signal it sent (the server drops a signal
// whose sender has closed), takes every signal that has arrived but not
// been handled, and carries them into the next execution.
func (d *journey) continueAsNew(events, msgs workflow.ReceiveChannel) error {
	// Temporal does not start the child of a workflow that has closed: a
	// run started in this task must have started before the journey ends.
	for _, id := range d.childIDs {
		if f := d.children[id].GetChildWorkflowExecution(); !f.IsReady() {
			if err := f.Get(d.ctx, nil); err != nil {
				d.j.OnRunClosed(id)
			}
		}
	}
	d.flush()
	for _, s := range d.sent {
		_ = s.f.Get(d.ctx, nil)
	}
	d.reap()
	d.drain(events, msgs)
	for _, id := range d.closed {
		d.j.OnRunClosed(id)
	}
	st := d.j.JourneyState
	return workflow.NewContinueAsNewError(d.ctx, JourneyWorkflow, JourneyInput{
		Customer: d.j.Customer, State: &st, Pending: d.queue, Set: d.version, Stats: d.stats,
		Rejected: d.rejected,
	})
}

// restoreJourney gives a journey state carried over continue-as-new its
// declared types again.
func restoreJourney(s *lang.Schema, st *engine.JourneyState) {
	engine.RestoreJourneyState(s, st)
	for _, lr := range st.Live {
		for i := range lr.Held {
			engine.RestoreFromRun(s, &lr.Held[i])
		}
	}
}
