package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RunInput starts (or continues) a PlaybookRun. Set is the version (a
// content hash) of the playbook set the run is pinned to.
type RunInput struct {
	Customer string            `json:"customer"`
	Playbook string            `json:"playbook"`
	Version  string            `json:"version"`
	Set      string            `json:"set"`
	Start    *RunStart         `json:"start,omitempty"`
	State    *engine.RunState  `json:"state,omitempty"`
	Peer     *engine.PeerState `json:"peer,omitempty"`
	Timeline []lang.Record     `json:"timeline,omitempty"`
	// BeforeDiff, when set, stands for State.Before as a difference from
	// State.Attrs, so that continuing as new carries the record once.
	BeforeDiff *engine.AttrDiff `json:"before_diff,omitempty"`
}

// RunStart is what a journey passes to a new run: the triggering event and
// the customer's attributes after it, with those before it as a difference.
type RunStart struct {
	ID    string           `json:"id"`
	N     int              `json:"n"`
	Key   string           `json:"key,omitempty"`
	Event *lang.Event      `json:"event"`
	Attrs map[string]any   `json:"attrs"`
	Diff  *engine.AttrDiff `json:"diff,omitempty"`
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

// runDriver is the Temporal transport of a run's side of the protocol
// (engine.Peer).
type runDriver struct {
	w         *Workflows
	ctx       workflow.Context
	set       *lang.Set
	p         *engine.Peer
	r         *engine.Run
	timeline  []lang.Record
	timers    []*runTimer
	daily     workflow.Future
	dailyAt   time.Time
	cancelDay workflow.CancelFunc
	inbox     workflow.ReceiveChannel
	acting    workflow.Future // the activity being carried out
	booking   workflow.Future // the BookSlot activity of a meeting, answered before anything else
	sent      []workflow.Future
	published [3]string // status, step, owner as last upserted
	// completing holds the tasks whose completion is in flight, so that
	// of two concurrent completions only the first is answered yes.
	completing map[string]bool
	// cur is the action (and cur book, the slot request) last started, so
	// that a stalled run can carry it out again.
	cur     *engine.Action
	curBook *engine.BookRequest
	retries map[string]int // re-drives by action key
	// stalled is set while the run waits for its failed step to be
	// retried; retryAsked once an accepted UpdateRetryStep asks for it.
	stalled    *Stall
	retryAsked bool
	// redriving is the step carried out again after a retry, until its
	// outcome comes: a second retry meanwhile is told so.
	redriving string
}

// PlaybookRun is one run of one playbook for one customer. It
// drives the engine's interpreter through engine.Peer, as `tend simulate`
// does: timers, activities, messages from its journey, exit and expiry. A
// run that fails (a permanent outreach failure) ends as a failed workflow.
// Its journey learns that it has ended from Temporal, not from the run.
func (w *Workflows) PlaybookRun(ctx workflow.Context, in RunInput) (*RunResult, error) {
	set, err := w.pb.Set(in.Set)
	if errors.Is(err, ErrSetNotFound) {
		panic(err) // fails the workflow task: retried until a worker has the set
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadPlaybook", nil)
	}
	pb := set.Playbook(in.Playbook)
	if pb == nil || pb.Version != in.Version {
		msg := fmt.Sprintf("playbook %s version %s is not in playbook set %s", in.Playbook, in.Version, in.Set)
		return nil, temporal.NewNonRetryableApplicationError(msg, "BadPlaybook", nil)
	}
	d := &runDriver{w: w, ctx: ctx, set: set, timeline: in.Timeline,
		inbox: workflow.GetSignalChannel(ctx, signalToRun)}
	if in.State != nil {
		st := *in.State
		engine.RestoreRunState(set.Schema, &st)
		if in.BeforeDiff != nil {
			diff := engine.AttrDiff{Changed: set.Schema.RestoreAttrs(in.BeforeDiff.Changed), Added: in.BeforeDiff.Added}
			st.Before = diff.Before(st.Attrs)
		}
		d.r = engine.ResumeRun(set, pb, st)
		var ps engine.PeerState
		if in.Peer != nil {
			ps = *in.Peer
			for i := range ps.Held {
				engine.RestoreToRun(set.Schema, &ps.Held[i])
			}
			if ps.Cur != nil {
				engine.RestoreToRun(set.Schema, ps.Cur)
			}
		}
		d.p = engine.ResumePeer(d.r, ps)
		d.published = [3]string{string(st.Status), d.r.CurrentStep(), st.Owner}
	} else {
		s := in.Start
		set.Schema.RestoreEvent(s.Event)
		attrs := set.Schema.RestoreAttrs(s.Attrs)
		before := attrs
		if s.Diff != nil {
			diff := engine.AttrDiff{Changed: set.Schema.RestoreAttrs(s.Diff.Changed), Added: s.Diff.Added}
			before = diff.Before(attrs)
		}
		d.r = engine.NewRun(set, engine.StartRun{Playbook: pb, ID: s.ID, N: s.N, Key: s.Key, Event: s.Event,
			Attrs: attrs, Before: before})
		d.p = engine.NewPeer(d.r)
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
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRetryStep, d.retryStep,
		workflow.UpdateHandlerOptions{Validator: d.validateRetry}); err != nil {
		return nil, err
	}
	if in.State != nil {
		for _, t := range d.r.SortedTimers() {
			d.startTimer(t)
		}
	} else {
		d.out(d.p.Start(workflow.Now(ctx)))
	}
	for !d.r.Done() {
		if d.booking != nil {
			// Like an action's outcome, the slot comes first.
			var start time.Time
			reason := d.outcome(d.booking, &start)
			d.booking, d.redriving = nil, ""
			if reason == "" {
				d.out(d.p.Booked(workflow.Now(ctx), start))
				continue
			}
			reason = "booking a slot in the owner's calendar: " + reason
			if d.stall(reason) {
				d.booking = d.book(d.cur, d.curBook)
				continue
			}
			d.out(d.p.ActionFailed(workflow.Now(ctx), reason))
			continue
		}
		if d.acting != nil {
			// As in tend simulate, an action's outcome comes before
			// anything else: messages wait in the channel meanwhile.
			reason := d.outcome(d.acting, nil)
			d.acting, d.redriving = nil, ""
			if reason == "" {
				d.out(d.p.ActionDone(workflow.Now(ctx)))
				continue
			}
			if d.stall(reason) {
				d.acting = d.activity(d.cur)
				continue
			}
			d.out(d.p.ActionFailed(workflow.Now(ctx), reason))
			continue
		}
		var m engine.ToRun
		if d.inbox.ReceiveAsync(&m) {
			engine.RestoreToRun(set.Schema, &m)
			d.out(d.p.Msg(workflow.Now(ctx), m))
			continue
		}
		d.armDaily()
		d.publish()
		d.reap()
		if w.tooLong(ctx) && workflow.AllHandlersFinished(ctx) && len(d.sent) == 0 {
			return nil, d.continueAsNew(in)
		}
		var fired *runTimer
		dailyFired := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(d.inbox, func(workflow.ReceiveChannel, bool) {})
		for _, t := range d.timers {
			sel.AddFuture(t.f, func(workflow.Future) { fired = t })
		}
		if d.daily != nil {
			sel.AddFuture(d.daily, func(f workflow.Future) { dailyFired = f.Get(ctx, nil) == nil })
		}
		for _, f := range d.sent {
			sel.AddFuture(f, func(workflow.Future) {})
		}
		sel.Select(ctx)
		now := workflow.Now(ctx)
		switch {
		case fired != nil:
			d.dropTimer(fired.id)
			d.out(d.p.Timer(now, fired.id))
		case dailyFired:
			d.daily, d.cancelDay, d.dailyAt = nil, nil, time.Time{}
			d.out(d.p.Daily(now))
		}
	}
	d.publish()
	// A task completion in flight gets its answer before the run ends, and
	// every message to the journey is delivered: the server drops a signal
	// whose sender has closed.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for _, t := range d.timers {
		t.cancel()
	}
	if d.cancelDay != nil {
		d.cancelDay()
	}
	for _, f := range d.sent {
		_ = f.Get(ctx, nil)
	}
	res := &RunResult{Status: d.r.Status, Reason: d.r.Reason}
	if d.r.Status == engine.StatusFailed {
		return res, temporal.NewNonRetryableApplicationError(d.r.Reason, "RunFailed", nil)
	}
	return res, nil
}

// out carries out what the run asked, in order: records, timers, an
// action (its search attributes published first, so that a run stuck
// retrying a step can be found by filter), and messages to the journey.
func (d *runDriver) out(o engine.PeerOut) {
	for _, c := range o.Commands {
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
		case engine.CmdAction:
			d.publish()
			d.cur, d.curBook = c.Action, nil
			d.acting = d.activity(c.Action)
		case engine.CmdBook:
			if workflow.GetVersion(d.ctx, changeOwnerCalendar, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				// A run from before owner calendars replays as it ran:
				// the meeting goes out at the slot it proposed itself.
				d.out(d.p.Booked(workflow.Now(d.ctx), c.Book.Propose()))
				continue
			}
			d.publish()
			d.cur, d.curBook = c.Action, c.Book
			d.booking = d.book(c.Action, c.Book)
		}
	}
	for _, m := range o.Send {
		d.sent = append(d.sent, workflow.SignalExternalWorkflow(d.ctx, JourneyID(d.r.Customer), "", signalFromRun, m))
	}
}

func (d *runDriver) reap() {
	keep := d.sent[:0]
	for _, f := range d.sent {
		if !f.IsReady() {
			keep = append(keep, f)
		}
	}
	d.sent = keep
}

// activityName is the activity type of an action kind (email → Email), as
// the registry of action kinds names it.
func activityName(kind string) string {
	name, _ := lang.ActivityName(kind)
	return name
}

// activity starts carrying out an action: with the action key as
// activity id, or <key>/retry/<n> for its n-th re-drive (the action, and
// so its idempotency key, is the same). Attempts are not capped: the
// activity gives up by itself once its channel's retry_for has passed, and
// ScheduleToClose is the backstop.
func (d *runDriver) activity(a *engine.Action) workflow.Future {
	o := d.w.opts
	ctx := workflow.WithActivityOptions(d.ctx, workflow.ActivityOptions{
		ActivityID:             d.activityID(a.Key),
		StartToCloseTimeout:    o.ActivityTimeout,
		ScheduleToCloseTimeout: o.RetryBackstop,
		Summary:                d.summary(a.Key, a.Summary),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: o.RetryInitial, BackoffCoefficient: 2, MaximumInterval: o.RetryMax,
		},
	})
	return workflow.ExecuteActivity(ctx, activityName(a.Kind), *a)
}

// activityID is the activity id of an action: its key, then
// <key>/retry/<n> for its re-drives.
func (d *runDriver) activityID(key string) string {
	if n := d.retries[key]; n > 0 {
		return key + "/retry/" + strconv.Itoa(n)
	}
	return key
}

func (d *runDriver) summary(key, s string) string {
	if n := d.retries[key]; n > 0 {
		return fmt.Sprintf("retry %d of %s", n, s)
	}
	return s
}

// changeRetryWindow marks, in a run's history, that a step that failed for
// good stalls the run until it is retried or its retry window passes
// (version 1), rather than failing the run at once (histories without it).
const changeRetryWindow = "retry-window"

// stall keeps a run whose step failed for good open, stalled, until the
// step is retried (true: carry the action out again) or the retry window
// passes (false: the run fails, as it did at once before the
// retry-window version). Like an action's outcome, it comes before
// anything else: messages to the run wait in the channel meanwhile.
func (d *runDriver) stall(reason string) bool {
	if d.cur == nil || workflow.GetVersion(d.ctx, changeRetryWindow, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	now := workflow.Now(d.ctx)
	window := d.w.opts.RetryWindow
	d.stalled = &Stall{Step: d.cur.Step, Key: d.cur.Key, Kind: d.cur.Kind, Reason: reason,
		FailedAt: now, Until: now.Add(window), Retries: d.retries[d.cur.Key]}
	d.retryAsked = false
	d.publish()
	ok, err := workflow.AwaitWithOptions(d.ctx, workflow.AwaitOptions{
		Timeout: window,
		TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("retry window of step %s: fails for good at %s unless retried",
			d.cur.Step, d.stalled.Until.UTC().Format(stallTime))},
	}, func() bool { return d.retryAsked })
	d.stalled = nil
	if err != nil || !ok {
		return false
	}
	if d.retries == nil {
		d.retries = map[string]int{}
	}
	d.retries[d.cur.Key]++
	d.redriving = d.cur.Step
	d.publish()
	return true
}

const stallTime = "2006-01-02 15:04 MST"

// validateRetry accepts a retry only while the run is stalled and no
// other retry has been accepted, so that the answer comes from the run.
func (d *runDriver) validateRetry(RetryStep) error {
	switch {
	case d.stalled == nil && d.r.Done():
		return temporal.NewApplicationError(fmt.Sprintf("run %s is not waiting for a retry: it is %s", d.r.ID, d.r.Status), ErrNotStalled)
	case d.stalled == nil && d.redriving != "":
		return temporal.NewApplicationError(fmt.Sprintf("run %s: a retry of step %s is under way (tend runs show %s follows it)", d.r.ID, d.redriving, d.r.ID), ErrNotStalled)
	case d.stalled == nil:
		return temporal.NewApplicationError(fmt.Sprintf("run %s is not waiting for a retry: it is %s, no step has failed", d.r.ID, d.r.Status), ErrNotStalled)
	case d.retryAsked:
		return temporal.NewApplicationError(fmt.Sprintf("run %s: step %s is already being retried", d.r.ID, d.stalled.Step), ErrNotStalled)
	}
	return nil
}

// retryStep asks the stalled run to carry its failed step out again, and
// answers once the action is scheduled again.
func (d *runDriver) retryStep(ctx workflow.Context, _ RetryStep) (RetryStepResult, error) {
	if d.stalled == nil || d.retryAsked {
		return RetryStepResult{}, d.validateRetry(RetryStep{})
	}
	st := *d.stalled
	d.retryAsked = true
	if err := workflow.Await(ctx, func() bool { return d.stalled == nil }); err != nil {
		return RetryStepResult{}, err
	}
	return RetryStepResult{Run: d.r.ID, Step: st.Step, Key: st.Key, Retry: d.retries[st.Key]}, nil
}

// changeOwnerCalendar marks, in a run's history, that its meetings are
// booked in their owners' calendars (version 1) rather than proposed by
// the run alone (histories without the marker).
const changeOwnerCalendar = "owner-calendar"

// book starts booking a meeting's slot in its owner's calendar: the
// BookSlot activity, which applies the staff settings and sends the
// request to the owner's OwnerCalendar workflow.
func (d *runDriver) book(a *engine.Action, q *engine.BookRequest) workflow.Future {
	o := d.w.opts
	ctx := workflow.WithActivityOptions(d.ctx, workflow.ActivityOptions{
		ActivityID:          "book/" + d.activityID(a.Key),
		StartToCloseTimeout: o.ActivityTimeout,
		Summary:             d.summary(a.Key, "book a slot for "+a.Summary),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: o.RetryInitial, BackoffCoefficient: 2, MaximumInterval: o.RetryMax,
			MaximumAttempts: o.RetryAttempts,
		},
	})
	return workflow.ExecuteActivity(ctx, engine.BookSlotActivity, *q)
}

// outcome waits for an activity, putting its result in res (if not nil),
// and returns "" or the reason it failed for good: a permanent error, or a
// transient one that outlived its retries.
func (d *runDriver) outcome(f workflow.Future, res any) string {
	err := f.Get(d.ctx, res)
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
// the run (an exit_when, or a wait_for), in the customer's time zone as it
// is now: other runs make no daily history.
func (d *runDriver) armDaily() {
	now := workflow.Now(d.ctx)
	at := d.p.DailyAt(now)
	if at.Equal(d.dailyAt) && (d.daily != nil || at.IsZero()) {
		return
	}
	if d.cancelDay != nil {
		d.cancelDay()
	}
	d.daily, d.cancelDay, d.dailyAt = nil, nil, at
	if at.IsZero() {
		return
	}
	tz, _ := d.r.Attrs["timezone"].(string)
	ctx, cancel := workflow.WithCancel(d.ctx)
	d.daily = workflow.NewTimerWithOptions(ctx, at.Sub(now), workflow.TimerOptions{
		Summary: "daily check at " + calendar.Local(at, d.set.Schema.Calendar.Loc(tz)),
	})
	d.cancelDay = cancel
}

// publish upserts the search attributes that changed, in one command, and
// sets the workflow's current details to what the run is waiting for.
func (d *runDriver) publish() {
	owner := d.r.Owner
	if d.w.opts.HashOwner && owner != "" {
		owner = OwnerHash(owner)
	}
	status, step := string(d.r.Status), d.r.CurrentStep()
	if d.stalled != nil {
		// The failed step, which CurrentStep does not name when it ran on
		// another thread than the main one (a send held for the contact
		// policy). Entering and leaving a stall change the status as well,
		// so this upserts exactly when it did before: histories replay.
		status, step = string(engine.StatusStalled), d.stalled.Step
	}
	cur := [3]string{status, step, owner}
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
	workflow.SetCurrentDetails(d.ctx, d.waiting())
}

// waiting is what the run waits for, in plain words: the engine's words,
// or the failed step and how to retry it.
func (d *runDriver) waiting() string {
	s := d.stalled
	if s == nil {
		return d.r.Waiting()
	}
	return fmt.Sprintf("step %s failed at %s: %s; retry it with tend runs retry %s (or POST /v1/runs/%s/retry) before %s, when the run fails for good",
		s.Step, s.FailedAt.UTC().Format(stallTime), s.Reason, d.r.ID, d.r.ID, s.Until.UTC().Format(stallTime))
}

func (d *runDriver) view() (RunView, error) {
	held := d.r.Held()
	if held == nil {
		held = []engine.Hold{}
	}
	v := RunView{State: d.r.RunState, Waiting: d.waiting(), Held: held, Timeline: d.timeline}
	if d.stalled != nil {
		st := *d.stalled
		v.Stalled = &st
		v.State.Status = engine.StatusStalled
	}
	return v, nil
}

func (d *runDriver) continueAsNew(in RunInput) error {
	st := d.r.RunState
	diff := engine.Diff(st.Before, st.Attrs)
	st.Before = nil
	ps := d.p.PeerState
	return workflow.NewContinueAsNewError(d.ctx, RunWorkflow, RunInput{
		Customer: in.Customer, Playbook: in.Playbook, Version: in.Version, Set: in.Set,
		State: &st, Peer: &ps, Timeline: d.timeline, BeforeDiff: &diff,
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
		if r.Kind == lang.RecTaskCompleted {
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
