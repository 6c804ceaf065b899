package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RunInput starts (or continues) a PlaybookRun. Source holds the files of
// the playbook version the run is pinned to.
type RunInput struct {
	Customer string           `json:"customer"`
	Playbook string           `json:"playbook"`
	Version  string           `json:"version"`
	Source   Bundle           `json:"source"`
	Start    *RunStart        `json:"start,omitempty"`
	State    *engine.RunState `json:"state,omitempty"`
	Timeline []engine.Record  `json:"timeline,omitempty"`
	// Next is the sequence number of the next Msg from the journey, and
	// Held the messages received ahead of it.
	Next int   `json:"next,omitempty"`
	Held []Msg `json:"held,omitempty"`
	// BeforeDiff, when set, stands for State.Before as a difference from
	// State.Attrs, so that continuing as new carries the record once.
	BeforeDiff *engine.AttrDiff `json:"before_diff,omitempty"`
}

// RunStart is what a journey passes to a new run.
type RunStart struct {
	ID    string         `json:"id"`
	N     int            `json:"n"`
	Key   string         `json:"key,omitempty"`
	Event *engine.Event  `json:"event"`
	Attrs map[string]any `json:"attrs"`
	// Diff gives the attributes before the triggering event as a
	// difference from Attrs; older histories carry Before instead.
	Diff   *engine.AttrDiff `json:"diff,omitempty"`
	Before map[string]any   `json:"before,omitempty"`
}

func runStart(s engine.StartRun, attrs map[string]any) *RunStart {
	diff := engine.Diff(s.Before, attrs)
	return &RunStart{ID: s.ID, N: s.N, Key: s.Key, Event: s.Event, Attrs: attrs, Diff: &diff}
}

// RunResult is how a run ended.
type RunResult struct {
	Status engine.Status `json:"status"`
	Reason string        `json:"reason,omitempty"`
}

type runTimer struct {
	id     string
	f      workflow.Future
	cancel workflow.CancelFunc
}

type runDriver struct {
	w         *Workflows
	ctx       workflow.Context
	set       *engine.Set
	r         *engine.Run
	timeline  []engine.Record
	timers    []*runTimer
	daily     workflow.Future
	cancelDay workflow.CancelFunc
	inbox     workflow.ReceiveChannel
	next      int       // the Seq of the next message to handle
	held      []Msg     // messages received ahead of their turn
	published [3]string // status, step, owner as last upserted
	// completing holds the tasks whose completion is in flight, so that
	// of two concurrent completions only the first is answered yes.
	completing map[string]bool
}

// PlaybookRun is one run of one playbook for one customer (SPEC 2). It
// drives the engine's interpreter, the same one `tend simulate` drives:
// timers, activities, waits for events and tasks, exit and expiry. A run
// that fails (a permanent outreach failure) ends as a failed workflow.
func (w *Workflows) PlaybookRun(ctx workflow.Context, in RunInput) (*RunResult, error) {
	set, err := compile(in.Source, in.Source.Version)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadPlaybook", nil)
	}
	pb := set.Playbook(in.Playbook)
	if pb == nil || pb.Version != in.Version {
		msg := fmt.Sprintf("playbook %s version %s is not in the run's source", in.Playbook, in.Version)
		return nil, temporal.NewNonRetryableApplicationError(msg, "BadPlaybook", nil)
	}
	d := &runDriver{w: w, ctx: ctx, set: set, timeline: in.Timeline, next: max(in.Next, 1), held: in.Held,
		inbox: workflow.GetSignalChannel(ctx, signalJourney)}
	if in.State != nil {
		st := *in.State
		set.Schema.RestoreRunState(&st)
		if in.BeforeDiff != nil {
			diff := engine.AttrDiff{Changed: set.Schema.RestoreAttrs(in.BeforeDiff.Changed), Added: in.BeforeDiff.Added}
			st.Before = diff.Before(st.Attrs)
		}
		d.r = engine.ResumeRun(set, pb, st)
		d.published = [3]string{string(st.Status), d.r.CurrentStep(), st.Owner}
	} else {
		s := in.Start
		set.Schema.RestoreEvent(s.Event)
		attrs := set.Schema.RestoreAttrs(s.Attrs)
		before := (&Forward{Diff: s.Diff, Before: s.Before}).before(set.Schema, attrs)
		d.r = engine.NewRun(set, engine.StartRun{Playbook: pb, ID: s.ID, N: s.N, Key: s.Key, Event: s.Event,
			Attrs: attrs, Before: before})
		d.published = [3]string{string(engine.StatusRunning), "", ""}
	}
	// Handlers are set once the run exists and before anything blocks.
	if err := workflow.SetQueryHandler(ctx, QueryState, d.view); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCompleteTask, d.completeTask,
		workflow.UpdateHandlerOptions{Validator: d.validateComplete}); err != nil {
		return nil, err
	}
	if in.State != nil {
		for _, t := range d.r.SortedTimers() {
			d.startTimer(t)
		}
	} else {
		d.exec(d.r.Start(workflow.Now(ctx)))
	}
	for !d.r.Done() {
		if m, ok := d.take(); ok {
			if m.Forward != nil {
				d.onForward(*m.Forward)
			} // a reply here answers a request made before a restart of the run: stale
			continue
		}
		d.armDaily()
		d.publish()
		if w.tooLong(ctx) && workflow.AllHandlersFinished(ctx) {
			return nil, d.continueAsNew(in)
		}
		var fired *runTimer
		dailyFired := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(d.inbox, func(c workflow.ReceiveChannel, _ bool) { d.receive(c) })
		for _, t := range d.timers {
			sel.AddFuture(t.f, func(workflow.Future) { fired = t })
		}
		if d.daily != nil {
			sel.AddFuture(d.daily, func(workflow.Future) { dailyFired = true })
		}
		sel.Select(ctx)
		now := workflow.Now(ctx)
		switch {
		case fired != nil:
			d.dropTimer(fired.id)
			d.exec(d.r.OnTimer(now, fired.id))
		case dailyFired:
			d.daily = nil
			ev := &engine.Event{Type: engine.EventDaily, Customer: d.r.Customer, At: now}
			d.exec(d.r.OnEvent(now, ev, d.r.Attrs, d.r.Attrs))
		}
	}
	d.publish()
	// A task completion in flight gets its answer before the run ends.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for _, t := range d.timers {
		t.cancel()
	}
	if d.cancelDay != nil {
		d.cancelDay()
	}
	ended := Ended{Run: d.r.ID, Playbook: d.r.Playbook, Status: string(d.r.Status)}
	_ = workflow.SignalExternalWorkflow(ctx, JourneyID(d.r.Customer), "", signalEnded, ended).Get(ctx, nil)
	res := &RunResult{Status: d.r.Status, Reason: d.r.Reason}
	if d.r.Status == engine.StatusFailed {
		return res, temporal.NewNonRetryableApplicationError(d.r.Reason, "RunFailed", nil)
	}
	return res, nil
}

// exec carries out the interpreter's commands in order, depth first, as
// tend simulate does: an action's follow-up runs before the next command.
func (d *runDriver) exec(cmds []engine.Command) {
	for _, c := range cmds {
		switch c.Kind {
		case engine.CmdRecord:
			d.timeline = appendCapped(d.timeline, *c.Record)
			d.w.observe(d.ctx, *c.Record)
		case engine.CmdTimer:
			d.startTimer(c.Timer)
		case engine.CmdCancelTimer:
			if t := d.dropTimer(c.Timer.ID); t != nil {
				t.cancel()
			}
		case engine.CmdReserve:
			now := workflow.Now(d.ctx)
			if at, ok := d.set.Schema.LocalSlot(now, c.Action.Timezone); ok {
				d.exec(d.r.OnSlot(now, at)) // no weekly cap: no need to ask the journey
				continue
			}
			rep := d.request(Request{Kind: "reserve", Action: c.Action})
			if !d.r.Done() {
				d.exec(d.r.OnSlot(workflow.Now(d.ctx), rep.At))
			}
		case engine.CmdAction:
			var reason string
			if c.Action.Kind == "update" {
				reason = d.request(Request{Kind: "update", Action: c.Action}).Error
			} else {
				reason = d.activity(c.Action)
			}
			if d.r.Done() {
				continue
			}
			now := workflow.Now(d.ctx)
			if reason != "" {
				d.exec(d.r.OnActionFailed(now, reason))
			} else {
				d.exec(d.r.OnActionDone(now))
			}
		}
	}
}

// request asks the journey for a contact-policy slot or to apply an update,
// and waits for the answer. Events the journey forwards meanwhile (an
// update's own event comes first) are handled as they arrive.
func (d *runDriver) request(req Request) Reply {
	req.Run, req.At = d.r.ID, workflow.Now(d.ctx)
	if err := workflow.SignalExternalWorkflow(d.ctx, JourneyID(d.r.Customer), "", signalRequest, req).Get(d.ctx, nil); err != nil {
		return Reply{At: req.At, Error: "journey unreachable: " + err.Error()}
	}
	for {
		m, ok := d.take()
		if !ok {
			d.receive(d.inbox)
			continue
		}
		if m.Reply != nil {
			return *m.Reply
		}
		d.onForward(*m.Forward)
	}
}

// receive blocks for one message from the journey and holds it.
func (d *runDriver) receive(c workflow.ReceiveChannel) {
	var m Msg
	c.Receive(d.ctx, &m)
	d.held = append(d.held, m)
}

// take returns the next message in sequence, if it has arrived.
func (d *runDriver) take() (Msg, bool) {
	for i, m := range d.held {
		if m.Seq == d.next {
			d.held = append(d.held[:i], d.held[i+1:]...)
			d.next++
			return m, true
		}
	}
	return Msg{}, false
}

func (d *runDriver) onForward(f Forward) {
	s := d.set.Schema
	s.RestoreEvent(f.Event)
	attrs := s.RestoreAttrs(f.Attrs)
	if reason := d.r.UnknownTask(f.Event); reason != "" {
		// Nothing would show that the event did nothing: the journey
		// lists it with the reason.
		req := Request{Run: d.r.ID, Kind: "reject", At: workflow.Now(d.ctx), Event: f.Event, Reason: reason}
		_ = workflow.SignalExternalWorkflow(d.ctx, JourneyID(d.r.Customer), "", signalRequest, req)
	}
	d.exec(d.r.OnEvent(workflow.Now(d.ctx), f.Event, attrs, f.before(s, attrs)))
}

// activityName is the activity type of an action kind: email → Email.
func activityName(kind string) string {
	if kind == "" {
		return ""
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// activity carries out an action and returns "" or the reason it failed
// for good: a permanent error, or a transient one that outlived its retries.
func (d *runDriver) activity(a *engine.Action) string {
	o := d.w.opts
	ctx := workflow.WithActivityOptions(d.ctx, workflow.ActivityOptions{
		ActivityID:          a.Key,
		StartToCloseTimeout: o.ActivityTimeout,
		Summary:             a.Summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: o.RetryInitial, BackoffCoefficient: 2, MaximumInterval: o.RetryMax,
			MaximumAttempts: o.RetryAttempts,
		},
	})
	err := workflow.ExecuteActivity(ctx, activityName(a.Kind), *a).Get(ctx, nil)
	if err == nil {
		return ""
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out: " + te.Error()
	}
	return err.Error()
}

func (d *runDriver) startTimer(t engine.Timer) {
	now := workflow.Now(d.ctx)
	ctx, cancel := workflow.WithCancel(d.ctx)
	rt := &runTimer{id: t.ID, cancel: cancel}
	if wait := t.At.Sub(now); wait > 0 {
		rt.f = workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: t.Summary})
	} else {
		f, s := workflow.NewFuture(ctx)
		s.Set(nil, nil)
		rt.f = f
	}
	d.timers = append(d.timers, rt)
}

func (d *runDriver) dropTimer(id string) *runTimer {
	for i, t := range d.timers {
		if t.id == id {
			d.timers = append(d.timers[:i], d.timers[i+1:]...)
			return t
		}
	}
	return nil
}

// armDaily keeps a daily-check timer only while a daily check can change
// the run (an exit_when, or a wait_for): other runs make no daily history.
func (d *runDriver) armDaily() {
	want := d.r.WantsDaily()
	switch {
	case want && d.daily == nil:
		now := workflow.Now(d.ctx)
		tz, _ := d.r.Attrs["timezone"].(string)
		loc := d.set.Schema.Calendar.Loc(tz)
		at := d.set.Schema.Calendar.NextDaily(now, loc)
		ctx, cancel := workflow.WithCancel(d.ctx)
		d.daily = workflow.NewTimerWithOptions(ctx, at.Sub(now), workflow.TimerOptions{
			Summary: "daily check at " + at.In(loc).Format("2006-01-02 15:04 MST"),
		})
		d.cancelDay = cancel
	case !want && d.daily != nil:
		d.cancelDay()
		d.daily, d.cancelDay = nil, nil
	}
}

// publish upserts the search attributes that changed, in one command, and
// sets the workflow's current details to what the run is waiting for.
func (d *runDriver) publish() {
	cur := [3]string{string(d.r.Status), d.r.CurrentStep(), d.r.Owner}
	if cur != d.published {
		var ups []temporal.SearchAttributeUpdate
		keys := [3]temporal.SearchAttributeKeyKeyword{AttrStatus, AttrStep, AttrOwner}
		for i := range cur {
			if cur[i] == d.published[i] {
				continue
			}
			if cur[i] == "" {
				ups = append(ups, keys[i].ValueUnset())
			} else {
				ups = append(ups, keys[i].ValueSet(cur[i]))
			}
		}
		_ = workflow.UpsertTypedSearchAttributes(d.ctx, ups...)
		d.published = cur
	}
	workflow.SetCurrentDetails(d.ctx, d.r.Waiting())
}

func (d *runDriver) view() (RunView, error) {
	return RunView{State: d.r.RunState, Waiting: d.r.Waiting(), Timeline: d.timeline}, nil
}

func (d *runDriver) continueAsNew(in RunInput) error {
	for {
		var m Msg
		if !d.inbox.ReceiveAsync(&m) {
			break
		}
		d.held = append(d.held, m)
	}
	st := d.r.RunState
	diff := engine.Diff(st.Before, st.Attrs)
	st.Before = nil
	return workflow.NewContinueAsNewError(d.ctx, RunWorkflow, RunInput{
		Customer: in.Customer, Playbook: in.Playbook, Version: in.Version, Source: in.Source,
		State: &st, Timeline: d.timeline, Next: d.next, Held: d.held, BeforeDiff: &diff,
	})
}

// validateComplete accepts a completion only for a task the run has open,
// so that a mistyped or finished task gets its answer from the run itself
// and nothing is recorded.
func (d *runDriver) validateComplete(req CompleteTask) error {
	for _, t := range d.r.Tasks {
		if t.ID != req.Task {
			continue
		}
		if d.completing[req.Task] {
			return temporal.NewApplicationError(fmt.Sprintf("task %s is being completed by another request", req.Task), ErrTaskDone)
		}
		return nil
	}
	for i := len(d.timeline) - 1; i >= 0; i-- {
		r := d.timeline[i]
		if r.Task != req.Task {
			continue
		}
		if r.Kind == engine.RecTaskCompleted {
			return temporal.NewApplicationError(fmt.Sprintf("task %s was already completed at %s", req.Task, r.At.Format("2006-01-02 15:04 MST")), ErrTaskDone)
		}
		return temporal.NewApplicationError(fmt.Sprintf("task %s is no longer open: the run is %s", req.Task, d.r.Status), ErrTaskDone)
	}
	return temporal.NewApplicationError(fmt.Sprintf("run %s has no task %s", d.r.ID, req.Task), ErrTaskNotFound)
}

// completeTask sends the task.completed event to the customer's journey,
// like any other event, so that every run and trigger sees it in order,
// and answers once this run has applied it.
func (d *runDriver) completeTask(ctx workflow.Context, req CompleteTask) (CompleteTaskResult, error) {
	// Two completions accepted in the same workflow task both passed the
	// validator; the first handler to run takes the task.
	if d.completing[req.Task] {
		return CompleteTaskResult{}, temporal.NewApplicationError(fmt.Sprintf("task %s is being completed by another request", req.Task), ErrTaskDone)
	}
	if d.completing == nil {
		d.completing = map[string]bool{}
	}
	d.completing[req.Task] = true
	defer delete(d.completing, req.Task)
	at := req.At
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	ev := engine.CompleteTaskEvent(d.r.Customer, req.Task, req.Outcome, at.UTC())
	if err := workflow.SignalExternalWorkflow(ctx, JourneyID(d.r.Customer), "", SignalEvent, ev).Get(ctx, nil); err != nil {
		return CompleteTaskResult{}, fmt.Errorf("pass the completion to the journey of %s: %w", d.r.Customer, err)
	}
	open := func() bool {
		for _, t := range d.r.Tasks {
			if t.ID == req.Task {
				return true
			}
		}
		return false
	}
	ok, err := workflow.AwaitWithTimeout(ctx, completeTimeout, func() bool { return d.r.Done() || !open() })
	if err != nil {
		return CompleteTaskResult{}, err
	}
	if !ok {
		return CompleteTaskResult{}, fmt.Errorf("the journey of %s did not pass the completion on within %s; see tend events rejected --customer %s", d.r.Customer, completeTimeout, d.r.Customer)
	}
	return CompleteTaskResult{Task: req.Task, Run: d.r.ID, Status: string(d.r.Status)}, nil
}

// completeTimeout bounds how long a completion waits for its journey.
const completeTimeout = 5 * time.Minute
