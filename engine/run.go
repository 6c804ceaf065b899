package engine

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
)

// Status is a run's state as managers filter on it (TendStatus).
type Status string

// Run statuses.
const (
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting"
	StatusOverdue   Status = "overdue"
	StatusEscalated Status = "escalated"
	// StatusTasksOpen: the steps are done, and wait: false tasks are still
	// open. The run no longer holds its playbook.
	StatusTasksOpen Status = "tasks-open"
	StatusCompleted Status = "completed"
	StatusExited    Status = "exited"
	StatusExpired   Status = "expired"
	StatusFailed    Status = "failed"
	// StatusStalled: an action failed for good and the run, still open,
	// waits for its step to be retried (tend runs retry) until its retry
	// window passes, when it fails. Drivers set it: the interpreter's run
	// is still carrying out the action. tend simulate never fails actions.
	StatusStalled Status = "stalled"
)

// CmdKind is what a command asks the driver to do.
type CmdKind int

// Command kinds. A run never has more than one CmdAction, CmdReserve or
// CmdBook outstanding: it waits for OnActionDone, OnSlot or OnBooked
// before going on.
const (
	CmdRecord      CmdKind = iota + 1 // append Record to the timeline
	CmdAction                         // carry out Action, then call OnActionDone or OnActionFailed
	CmdTimer                          // call OnTimer(Timer.ID) at Timer.At
	CmdCancelTimer                    // forget the timer Timer.ID
	CmdReserve                        // reserve a contact-policy slot for Action, then call OnSlot
	CmdBook                           // book Book in its owner's calendar, then call OnBooked (or OnActionFailed)
)

// Command is one instruction from the interpreter to its driver.
type Command struct {
	Kind   CmdKind
	Record *lang.Record
	Action *Action
	Timer  Timer
	Book   *BookRequest // CmdBook: the slot a meeting (Action) asks for
}

// Timer is a durable timer of a run.
type Timer struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Summary string    `json:"summary"`
}

// Action is an outreach or a change for the driver to carry out.
// Key is stable per (run, step, occurrence): drivers use it as the
// idempotency key, Message-ID and task id.
//
// Texts are rendered for where they go: Subject, Title, Reason and
// addresses are single lines with no control characters; Body is Markdown
// whose interpolated values are escaped (MarkdownValue); Text (notify) and
// Chat (an escalation's reason) are chat text whose interpolated values are
// escaped as Slack requires (ChatValue).
type Action struct {
	Kind        string            `json:"kind"`
	Key         string            `json:"key"`
	Run         string            `json:"run"`
	Playbook    string            `json:"playbook"`
	Version     string            `json:"version"`
	Customer    string            `json:"customer"`
	Step        string            `json:"step"`
	Occurrence  int               `json:"occurrence"`
	Summary     string            `json:"summary"`
	To          string            `json:"to,omitempty"`
	Cc          []string          `json:"cc,omitempty"`
	ReplyTo     string            `json:"reply_to,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Title       string            `json:"title,omitempty"`
	Template    string            `json:"template,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Body        string            `json:"body,omitempty"`
	Survey      string            `json:"survey,omitempty"`
	Unsubscribe bool              `json:"unsubscribe,omitempty"` // bulk mail: List-Unsubscribe, never to an opted-out customer
	Attendees   []string          `json:"attendees,omitempty"`
	Start       *time.Time        `json:"start,omitempty"`
	Duration    time.Duration     `json:"duration,omitempty"`
	Due         *time.Time        `json:"due,omitempty"`
	Topic       string            `json:"topic,omitempty"`
	Description string            `json:"description,omitempty"`
	Text        string            `json:"text,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Chat        string            `json:"chat,omitempty"`
	Channel     string            `json:"channel,omitempty"`
	Endpoint    string            `json:"endpoint,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Set         map[string]any    `json:"set,omitempty"`
	Stage       string            `json:"stage,omitempty"`
	Timezone    string            `json:"timezone,omitempty"`
}

// Task is an open task of a run.
type Task struct {
	ID      string    `json:"id"`
	Step    string    `json:"step"`
	Action  string    `json:"action"`
	Title   string    `json:"title"`
	Owner   string    `json:"owner"`
	Due     time.Time `json:"due"`
	Wait    bool      `json:"wait"`
	Overdue bool      `json:"overdue"`
}

// WaitKind is what a thread of a run is blocked on.
type WaitKind int

// Wait kinds.
const (
	WaitNone   WaitKind = iota
	WaitTimer           // a wait step
	WaitEvent           // wait_for
	WaitTask            // a task with wait: true
	WaitRepeat          // the pause between iterations of a repeat
	WaitSlot            // a contact-policy reservation
	WaitSend            // a message delayed by the contact policy
	WaitAction          // an action being carried out
	WaitBook            // a meeting's slot being booked in its owner's calendar
)

// Wait is the blocking state of a thread.
type Wait struct {
	Kind   WaitKind  `json:"kind"`
	Step   string    `json:"step,omitempty"`
	Timer  string    `json:"timer,omitempty"`
	Until  time.Time `json:"until,omitempty"`
	Task   string    `json:"task,omitempty"`
	Action *Action   `json:"action,omitempty"`
	// Reason says why the contact policy holds a message (WaitSend).
	Reason string `json:"reason,omitempty"`
}

// Frame is a position in a block of steps.
type Frame struct {
	Block  int    `json:"block"`
	Index  int    `json:"index"`
	Repeat string `json:"repeat,omitempty"` // the repeat step whose body this is
	Iter   int    `json:"iter,omitempty"`
}

// Thread is a line of execution: the main steps, or an overdue block running
// beside them. Overdue blocks never wait, except for their own actions.
type Thread struct {
	Stack []Frame `json:"stack"`
	Wait  Wait    `json:"wait"`
}

// RunState is everything a run needs to continue: it is plain data, so a
// workflow can carry it across continue-as-new and simulate can hold
// thousands of runs.
type RunState struct {
	ID        string         `json:"id"`
	Playbook  string         `json:"playbook"`
	Version   string         `json:"version"`
	Customer  string         `json:"customer"`
	N         int            `json:"n"`
	Key       string         `json:"key,omitempty"`
	StartedAt time.Time      `json:"started_at"`
	Owner     string         `json:"owner"`
	Attrs     map[string]any `json:"attrs"`
	Before    map[string]any `json:"before"`
	Trigger   *lang.Event    `json:"trigger,omitempty"`
	Threads   []Thread       `json:"threads"`
	Tasks     []Task         `json:"tasks,omitempty"`
	Timers    []Timer        `json:"timers,omitempty"`
	Occ       map[string]int `json:"occ,omitempty"`
	Escalated bool           `json:"escalated,omitempty"`
	Status    Status         `json:"status"`
	Reason    string         `json:"reason,omitempty"`
	// FailedConds names the conditions whose failure the run has recorded
	// (exit_when, until/<step>, repeat/<step>): they are evaluated at
	// every event, and recorded once.
	FailedConds []string `json:"failed_conds,omitempty"`
}

// Run is the interpreter for one run of one playbook for one customer. It is
// driven from outside: Start, then OnTimer, OnEvent, OnSlot, OnActionDone
// and OnActionFailed, each returning the commands the driver must carry out
// in order. It never reads a clock: every input carries now.
type Run struct {
	RunState
	set *lang.Set
	pb  *lang.Playbook
	vm  vm.VM
	sc  lang.Scope // reused by every evaluation of this run
	out []Command
}

// StartRun describes a run a journey wants started.
type StartRun struct {
	Playbook *lang.Playbook
	ID       string
	N        int
	Key      string
	Event    *lang.Event
	Attrs    map[string]any
	Before   map[string]any
}

// RunID is the workflow id of the n-th run of a playbook for a customer.
func RunID(playbook, customer string, n int) string {
	return "run/" + playbook + "/" + customer + "/" + strconv.Itoa(n)
}

// NewRun creates a run from a journey's StartRun. Call Start next.
func NewRun(set *lang.Set, s StartRun) *Run {
	return &Run{set: set, pb: s.Playbook, RunState: RunState{
		ID: s.ID, Playbook: s.Playbook.Name, Version: s.Playbook.Version, Customer: s.Event.Customer,
		N: s.N, Key: s.Key, Attrs: s.Attrs, Before: s.Before, Trigger: s.Event, Occ: map[string]int{},
		Status: StatusRunning,
	}}
}

// ResumeRun rebuilds a run from its state and the playbook version it is pinned to.
func ResumeRun(set *lang.Set, pb *lang.Playbook, st RunState) *Run {
	return &Run{set: set, pb: pb, RunState: st}
}

// Done reports whether the run has ended.
func (r *Run) Done() bool {
	switch r.Status {
	case StatusCompleted, StatusExited, StatusExpired, StatusFailed:
		return true
	}
	return false
}

// WantsDaily reports whether a daily check can change the run: it has an
// exit_when, or a thread waits for a condition, that reads the clock or
// the event (Expr.Daily). Drivers skip daily checks for a run that does
// not want them: a wait for customer.health >= 50 makes no daily history.
func (r *Run) WantsDaily() bool {
	if r.Done() || r.StepsDone() {
		return false
	}
	if r.pb.ExitWhen != nil && r.pb.ExitWhen.Daily {
		return true
	}
	for _, t := range r.Threads {
		if t.Wait.Kind == WaitEvent {
			if s := r.pb.Step(t.Wait.Step); s == nil || s.Until == nil || s.Until.Daily {
				return true
			}
		}
	}
	return false
}

// StepsDone reports whether the run's steps are done while it is still
// open: only tasks (wait: false) remain, and their overdue steps. Such a run
// no longer holds its playbook, and takes no events but task.completed.
func (r *Run) StepsDone() bool {
	if r.Done() || len(r.Threads) == 0 {
		return false
	}
	main := r.Threads[0]
	return len(r.Threads) == 1 && len(r.Tasks) > 0 && len(main.Stack) == 0 && main.Wait.Kind == WaitNone
}

// CurrentStep is the id of the step the main thread is at (TendStep).
func (r *Run) CurrentStep() string {
	if len(r.Threads) == 0 {
		return ""
	}
	return r.Threads[0].Wait.Step
}

// Waiting describes in plain words what the run is waiting for.
func (r *Run) Waiting() string {
	if r.Done() {
		return string(r.Status)
	}
	if len(r.Threads) == 0 || len(r.Threads[0].Stack) == 0 {
		for _, t := range r.Threads[1:] {
			switch t.Wait.Kind {
			case WaitSend:
				return "holding " + t.Wait.Step + " for the contact policy " + r.holdUntil(t.Wait.Until, t.Wait.Reason)
			case WaitSlot:
				return "holding " + t.Wait.Step + " for the contact policy"
			}
		}
		if len(r.Tasks) > 0 {
			return fmt.Sprintf("waiting for %d open task(s) to be completed", len(r.Tasks))
		}
		return "running"
	}
	w := r.Threads[0].Wait
	switch w.Kind {
	case WaitTimer:
		return "waiting until " + r.local(w.Until) + " (step " + w.Step + ")"
	case WaitEvent:
		s := r.pb.Step(w.Step)
		msg := "waiting for " + s.Until.Src
		if !w.Until.IsZero() {
			msg += " until " + r.local(w.Until)
		}
		return msg
	case WaitTask:
		for _, t := range r.Tasks {
			if t.ID == w.Task {
				return fmt.Sprintf("waiting for %s to complete %q (task %s, due %s)", t.Owner, t.Title, t.ID, r.local(t.Due))
			}
		}
	case WaitRepeat:
		return "waiting until " + r.local(w.Until) + " to repeat " + w.Step
	case WaitSend:
		return "holding " + w.Step + " for the contact policy " + r.holdUntil(w.Until, w.Reason)
	case WaitSlot:
		return "holding " + w.Step + " for the contact policy"
	case WaitAction:
		return "carrying out " + w.Step
	case WaitBook:
		return "booking a slot for " + w.Step + " in the owner's calendar"
	}
	return "running"
}

func (r *Run) emit(c Command) { r.out = append(r.out, c) }

func (r *Run) record(now time.Time, kind, step string, fill func(*lang.Record)) {
	rec := &lang.Record{At: now.UTC(), Customer: r.Customer, Playbook: r.Playbook, Run: r.ID, Step: step, Kind: kind}
	if fill != nil {
		fill(rec)
	}
	r.emit(Command{Kind: CmdRecord, Record: rec})
}

func (r *Run) setTimer(id string, at time.Time, summary string) {
	t := Timer{ID: id, At: at.UTC(), Summary: summary}
	r.Timers = append(r.Timers, t)
	r.emit(Command{Kind: CmdTimer, Timer: t})
}

func (r *Run) cancelTimer(id string) {
	for i, t := range r.Timers {
		if t.ID == id {
			r.Timers = append(r.Timers[:i], r.Timers[i+1:]...)
			r.emit(Command{Kind: CmdCancelTimer, Timer: t})
			return
		}
	}
}

func (r *Run) dropTimer(id string) bool {
	for i, t := range r.Timers {
		if t.ID == id {
			r.Timers = append(r.Timers[:i], r.Timers[i+1:]...)
			return true
		}
	}
	return false
}

func (r *Run) flush() []Command {
	out := r.out
	r.out = nil
	return out
}

func (r *Run) runVars() map[string]any {
	return map[string]any{"playbook": r.Playbook, "version": r.Version, "started_at": r.StartedAt, "owner": r.Owner}
}

// scope is the environment for steps: event is the event that started the run.
func (r *Run) scope(now time.Time) *lang.Scope {
	r.sc.Reset(now, r.set.Schema, r.Attrs, r.Before, r.Trigger, r.runVars())
	return &r.sc
}

// local renders an instant in the customer's time zone, as managers read
// it: Mon 30 Nov 09:00 EST.
func (r *Run) local(t time.Time) string { return calendar.Local(t, r.loc()) }

func (r *Run) loc() *time.Location {
	tz, _ := r.Attrs["timezone"].(string)
	return r.set.Schema.Calendar.Loc(tz)
}

// holdUntil says until when, and why, a message is held, in the
// customer's time zone: until Mon 30 Nov 09:00 EST (outside 09:00-17:00).
func (r *Run) holdUntil(at time.Time, reason string) string {
	s := "until " + r.local(at)
	if reason != "" {
		s += " (" + reason + ")"
	}
	return s
}

// Hold is a customer-facing message that the contact policy holds: it goes
// out at Until, unless the run ends first.
type Hold struct {
	Step     string    `json:"step"`
	Kind     string    `json:"kind"` // email or survey
	Key      string    `json:"key"`
	To       string    `json:"to,omitempty"`
	Template string    `json:"template,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Until    time.Time `json:"until"`
	Reason   string    `json:"reason,omitempty"` // outside 09:00-17:00, weekly cap of 3 messages, ...
	// Text says it for people, in the customer's time zone: held by the
	// contact policy until Mon 30 Nov 09:00 EST (outside 09:00-17:00).
	Text string `json:"text"`
}

// Held lists the messages the contact policy holds, in the order they were held.
func (r *Run) Held() []Hold {
	var out []Hold
	for _, t := range r.Threads {
		w := t.Wait
		if w.Kind != WaitSend || w.Action == nil {
			continue
		}
		a := w.Action
		out = append(out, Hold{Step: w.Step, Kind: a.Kind, Key: a.Key, To: a.To, Template: a.Template, Subject: a.Subject,
			Until: w.Until.UTC(), Reason: w.Reason, Text: "held by the contact policy " + r.holdUntil(w.Until, w.Reason)})
	}
	return out
}

// Start begins the run at now.
func (r *Run) Start(now time.Time) []Command {
	r.StartedAt = now
	if r.pb.Owner != nil {
		v, _ := r.pb.Owner.Eval(&r.vm, r.scope(now))
		r.Owner = SingleLine(lang.Format(v))
	}
	r.record(now, lang.RecRunStarted, "", func(rec *lang.Record) {
		rec.Owner = r.Owner
		rec.Reason = "triggered by " + r.Trigger.Type
	})
	if !r.pb.Expires.IsZero() {
		at := r.set.Schema.Calendar.Add(now, r.pb.Expires, r.loc())
		r.setTimer("expires", at, "expire after "+r.pb.Expires.String()+" at "+r.local(at))
	}
	if r.pb.ExitWhen != nil {
		ok, err := r.pb.ExitWhen.Bool(&r.vm, r.scope(now))
		if ok {
			r.finish(now, StatusExited, lang.RecRunExited, "exit_when "+r.pb.ExitWhen.Src+" already true at start")
			return r.flush()
		}
		r.condFailed(now, "exit_when", "", "exit_when", r.pb.ExitWhen, err, "counts as false: the run goes on")
	}
	r.Threads = []Thread{{Stack: []Frame{{Block: 0}}}}
	r.advance(now)
	return r.flush()
}

// OnTimer handles a timer that fired at now.
func (r *Run) OnTimer(now time.Time, id string) []Command {
	if r.Done() || !r.dropTimer(id) {
		return nil // cancelled or unknown: a late timer is harmless
	}
	switch {
	case id == "expires":
		r.finish(now, StatusExpired, lang.RecRunExpired, "expired after "+r.pb.Expires.String())
		return r.flush()
	case strings.HasPrefix(id, "due/"):
		r.taskDue(now, strings.TrimPrefix(id, "due/"))
	default:
		for i := range r.Threads {
			t := &r.Threads[i]
			if t.Wait.Timer != id {
				continue
			}
			switch t.Wait.Kind {
			case WaitTimer:
				t.Wait = Wait{}
			case WaitRepeat:
				r.repeatNext(now, t)
			case WaitEvent:
				step := t.Wait.Step
				t.Wait = Wait{}
				r.record(now, lang.RecWaitTimeout, step, nil)
				if s := r.pb.Step(step); s != nil && s.OnTimeout >= 0 {
					t.Stack = append(t.Stack, Frame{Block: s.OnTimeout})
				}
			case WaitSend:
				r.sendMessage(now, t, t.Wait.Action)
			}
			break
		}
	}
	r.advance(now)
	return r.flush()
}

// OnEvent passes an event applied to the customer (or a daily check, type
// daily) to the run, with the customer's attributes before and after it.
func (r *Run) OnEvent(now time.Time, ev *lang.Event, attrs, before map[string]any) []Command {
	if r.Done() {
		return nil
	}
	if ev.Type != lang.EventDaily {
		// A daily check changes nothing: keeping the attributes from the
		// last real event means a run that skips daily checks (as
		// workflows do when WantsDaily is false) sees the same values.
		r.Attrs, r.Before = attrs, before
	}
	r.sc.Reset(now, r.set.Schema, attrs, before, ev, r.runVars())
	sc := &r.sc
	if r.pb.ExitWhen != nil {
		ok, err := r.pb.ExitWhen.Bool(&r.vm, sc)
		if ok {
			r.finish(now, StatusExited, lang.RecRunExited, "exit_when "+r.pb.ExitWhen.Src+" on "+ev.Type)
			return r.flush()
		}
		r.condFailed(now, "exit_when", "", "exit_when", r.pb.ExitWhen, err, "counts as false: the run goes on")
	}
	if ev.Type == lang.EventTaskCompleted {
		r.completeTask(now, ev)
	}
	for i := range r.Threads {
		t := &r.Threads[i]
		if t.Wait.Kind != WaitEvent {
			continue
		}
		s := r.pb.Step(t.Wait.Step)
		ok, err := s.Until.Bool(&r.vm, sc)
		if ok {
			if t.Wait.Timer != "" {
				r.cancelTimer(t.Wait.Timer)
			}
			t.Wait = Wait{}
			continue
		}
		r.condFailed(now, "until/"+s.ID, s.ID, "until", s.Until, err, "counts as false: the run keeps waiting")
	}
	r.advance(now)
	return r.flush()
}

// CompleteTaskEvent builds the task.completed event that completes a task by id.
func CompleteTaskEvent(customer, taskID, outcome string, at time.Time) *lang.Event {
	return &lang.Event{ID: "complete/" + taskID, Type: lang.EventTaskCompleted, Customer: customer, At: at,
		Data: map[string]any{"task": taskID, "outcome": outcome}}
}

// UnknownTask says why a task.completed event addressed to this run (by a
// task id of the run, or by its playbook and a step) completes none of its
// open tasks. It returns "" when the event completes one, or is not for
// this run. Call it before OnEvent.
func (r *Run) UnknownTask(ev *lang.Event) string {
	if ev.Type != lang.EventTaskCompleted {
		return ""
	}
	id, _ := ev.Data["task"].(string)
	pb, _ := ev.Data["playbook"].(string)
	step, _ := ev.Data["step"].(string)
	switch {
	case id != "" && !strings.HasPrefix(id, strings.TrimPrefix(r.ID, "run/")+"/"):
		return ""
	case id == "" && pb != r.Playbook:
		return ""
	}
	for _, t := range r.Tasks {
		if id != "" && t.ID == id || id == "" && t.Step == step {
			return ""
		}
	}
	if id == "" {
		return fmt.Sprintf("run %s has no open task at step %s", r.ID, step)
	}
	return fmt.Sprintf("run %s has no open task %s (a mistyped id, or a task already completed or closed)", r.ID, id)
}

func (r *Run) completeTask(now time.Time, ev *lang.Event) {
	id, _ := ev.Data["task"].(string)
	pb, _ := ev.Data["playbook"].(string)
	step, _ := ev.Data["step"].(string)
	for i, t := range r.Tasks {
		match := (id != "" && t.ID == id) || (id == "" && pb == r.Playbook && step == t.Step)
		if !match {
			continue
		}
		r.Tasks = append(r.Tasks[:i], r.Tasks[i+1:]...)
		r.cancelTimer("due/" + t.ID)
		outcome, _ := ev.Data["outcome"].(string)
		r.record(now, lang.RecTaskCompleted, t.Step, func(rec *lang.Record) {
			rec.Task, rec.Owner, rec.Title, rec.Reason = t.ID, t.Owner, t.Title, outcome
		})
		for j := range r.Threads {
			if w := &r.Threads[j].Wait; w.Kind == WaitTask && w.Task == t.ID {
				*w = Wait{}
			}
		}
		return
	}
}

func (r *Run) taskDue(now time.Time, id string) {
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.ID != id {
			continue
		}
		t.Overdue = true
		r.record(now, lang.RecTaskOverdue, t.Step, func(rec *lang.Record) {
			rec.Task, rec.Owner, rec.Title = t.ID, t.Owner, t.Title
			due := t.Due.UTC()
			rec.Due = &due
		})
		if s := r.pb.Step(t.Step); s != nil && s.Overdue >= 0 {
			r.Threads = append(r.Threads, Thread{Stack: []Frame{{Block: s.Overdue}}})
		}
		return
	}
}

// OnSlot answers CmdReserve with the time the contact policy allows.
func (r *Run) OnSlot(now, at time.Time) []Command {
	for i := range r.Threads {
		t := &r.Threads[i]
		if t.Wait.Kind != WaitSlot {
			continue
		}
		a := t.Wait.Action
		if at.After(now) {
			id := "send/" + a.Key
			p := r.set.Schema.Policy
			reason := r.set.Schema.Calendar.HoldReason(now, at, p.MaxPerWeek, p.Hours, p.HasHours, r.loc())
			t.Wait = Wait{Kind: WaitSend, Step: a.Step, Timer: id, Until: at, Action: a, Reason: reason}
			r.record(now, lang.RecMessageHeld, a.Step, func(rec *lang.Record) {
				until := at.UTC()
				rec.Action, rec.To, rec.Title, rec.Until = a.Kind, a.To, a.Title, &until
				rec.Reason = "held by the contact policy " + r.holdUntil(at, reason)
			})
			r.setTimer(id, at, "hold "+a.Summary+" for the contact policy "+r.holdUntil(at, reason))
		} else {
			r.sendMessage(now, t, a)
		}
		break
	}
	r.advance(now)
	return r.flush()
}

// OnBooked answers CmdBook with the start of the slot booked in the
// owner's calendar: the meeting goes out with it. The start goes into the
// action and its record and nowhere else, which tend simulate relies on
// (it books slots after simulating each customer on its own; see sim.Run).
func (r *Run) OnBooked(now, start time.Time) []Command {
	for i := range r.Threads {
		t := &r.Threads[i]
		if t.Wait.Kind != WaitBook {
			continue
		}
		a := *t.Wait.Action
		st := start.UTC()
		a.Start = &st
		r.sendAction(now, t, &a)
		break
	}
	r.advance(now)
	return r.flush()
}

// OnActionDone reports that the outstanding action was carried out.
func (r *Run) OnActionDone(now time.Time) []Command {
	for i := range r.Threads {
		t := &r.Threads[i]
		if t.Wait.Kind != WaitAction {
			continue
		}
		a := t.Wait.Action
		t.Wait = Wait{}
		if lang.IsTask(a.Kind) {
			task := Task{ID: a.Key, Step: a.Step, Action: a.Kind, Title: a.Title, Owner: a.Owner, Due: *a.Due}
			s := r.pb.Step(a.Step)
			task.Wait = s != nil && s.WaitTask
			r.Tasks = append(r.Tasks, task)
			r.setTimer("due/"+task.ID, task.Due, "due: "+task.Title+" at "+r.local(task.Due))
			if a.Kind == lang.ActionEscalate {
				r.Escalated = true
			}
			if task.Wait {
				t.Wait = Wait{Kind: WaitTask, Step: a.Step, Task: task.ID}
			}
		}
		break
	}
	r.advance(now)
	return r.flush()
}

// OnActionFailed reports a permanent failure of the outstanding action: the run fails.
func (r *Run) OnActionFailed(now time.Time, reason string) []Command {
	step := ""
	for _, t := range r.Threads {
		if t.Wait.Kind == WaitAction || t.Wait.Kind == WaitBook {
			step = t.Wait.Step
		}
	}
	r.finish(now, StatusFailed, lang.RecRunFailed, fmt.Sprintf("step %s failed: %s", step, reason))
	return r.flush()
}

func (r *Run) finish(now time.Time, st Status, kind, reason string) {
	r.Status, r.Reason = st, reason
	for len(r.Timers) > 0 {
		r.cancelTimer(r.Timers[0].ID)
	}
	r.Threads = nil
	r.Tasks = nil // an ended run closes its open tasks: none can be listed or completed later
	r.record(now, kind, "", func(rec *lang.Record) { rec.Reason = reason })
}

// effectPending reports whether an action, reservation or booking is
// outstanding: effects are carried out one at a time, in order.
func (r *Run) effectPending() bool {
	for _, t := range r.Threads {
		if t.Wait.Kind == WaitSlot || t.Wait.Kind == WaitAction || t.Wait.Kind == WaitBook {
			return true
		}
	}
	return false
}

// advance runs threads until each is blocked or finished.
func (r *Run) advance(now time.Time) {
	for guard := 0; !r.Done(); guard++ {
		if guard > 100_000 {
			r.finish(now, StatusFailed, lang.RecRunFailed, "the run took more than 100000 steps at one instant")
			return
		}
		if r.effectPending() {
			return
		}
		progressed := false
		for i := 0; i < len(r.Threads); i++ {
			t := &r.Threads[i]
			if t.Wait.Kind != WaitNone || len(t.Stack) == 0 {
				continue
			}
			r.stepThread(now, i)
			progressed = true
			break
		}
		// Finished overdue threads go; the main thread stays as the run's anchor.
		kept := r.Threads[:0]
		for i, t := range r.Threads {
			if i == 0 || len(t.Stack) > 0 || t.Wait.Kind != WaitNone {
				kept = append(kept, t)
			}
		}
		r.Threads = kept
		if r.Done() {
			return
		}
		if !progressed {
			if len(r.Threads) == 1 && len(r.Threads[0].Stack) == 0 && len(r.Tasks) == 0 {
				r.finish(now, StatusCompleted, lang.RecRunCompleted, "all steps done")
			}
			r.updateStatus()
			return
		}
	}
}

func (r *Run) updateStatus() {
	if r.Done() {
		return
	}
	switch {
	case r.Escalated:
		r.Status = StatusEscalated
	case r.anyOverdue():
		r.Status = StatusOverdue
	case len(r.Threads) > 0 && r.Threads[0].Wait.Kind != WaitNone && r.Threads[0].Wait.Kind != WaitAction && r.Threads[0].Wait.Kind != WaitBook:
		r.Status = StatusWaiting
	case r.StepsDone():
		r.Status = StatusTasksOpen
	case len(r.Threads) > 0 && len(r.Threads[0].Stack) == 0:
		r.Status = StatusWaiting
	default:
		r.Status = StatusRunning
	}
}

func (r *Run) anyOverdue() bool {
	for _, t := range r.Tasks {
		if t.Overdue {
			return true
		}
	}
	return false
}

// stepThread executes one step (or one block end) of thread ti.
func (r *Run) stepThread(now time.Time, ti int) {
	t := &r.Threads[ti]
	top := &t.Stack[len(t.Stack)-1]
	block := r.pb.Blocks[top.Block]
	if top.Index >= len(block) {
		if top.Repeat != "" {
			s := r.pb.Step(top.Repeat)
			if s.Times == 0 || top.Iter < s.Times {
				at := r.set.Schema.Calendar.Add(now, s.Every, r.loc())
				id := fmt.Sprintf("every/%s/%d/%d", s.ID, r.Occ[s.ID], top.Iter)
				t.Wait = Wait{Kind: WaitRepeat, Step: s.ID, Timer: id, Until: at}
				r.setTimer(id, at, "repeat "+s.ID+" every "+s.Every.String()+": next at "+r.local(at))
				return
			}
		}
		t.Stack = t.Stack[:len(t.Stack)-1]
		return
	}
	s := block[top.Index]
	top.Index++
	sc := r.scope(now)
	if s.When != nil {
		if ok, err := s.When.Bool(&r.vm, sc); !ok {
			r.record(now, lang.RecStepSkipped, s.ID, func(rec *lang.Record) {
				rec.Reason = "when " + s.When.Src + " is false"
				if err != nil {
					rec.Reason = notEvaluated("when", s.When, err)
				}
			})
			return
		}
	}
	if s.Kind == lang.KindDo && s.Unsubscribe && OptedOut(r.Attrs) {
		r.record(now, lang.RecStepSkipped, s.ID, func(rec *lang.Record) { rec.Reason = OptedOutReason })
		return
	}
	r.Occ[s.ID]++
	occ := r.Occ[s.ID]
	switch s.Kind {
	case lang.KindDo:
		a, err := r.buildAction(now, s, occ, sc)
		if err != nil {
			// Never a message with a hole: the step stops, and the run with it.
			r.finish(now, StatusFailed, lang.RecRunFailed, fmt.Sprintf("step %s failed: %s", s.ID, err))
			return
		}
		if lang.IsCustomerFacing(s.Do) {
			// The message gets a thread of its own: if the contact policy
			// holds it, the run goes on and the message follows when allowed.
			r.Threads = append(r.Threads, Thread{Wait: Wait{Kind: WaitSlot, Step: s.ID, Action: a}})
			r.emit(Command{Kind: CmdReserve, Action: a})
			return
		}
		if a.Start == nil && lang.LookupAction(a.Kind).Meeting {
			// A meeting: its slot comes from the owner's calendar.
			t.Wait = Wait{Kind: WaitBook, Step: s.ID, Action: a}
			q := r.bookRequest(now, a)
			r.emit(Command{Kind: CmdBook, Action: a, Book: &q})
			return
		}
		r.sendAction(now, t, a)
	case lang.KindWait:
		at := r.set.Schema.Calendar.Add(now, s.Wait, r.loc())
		id := fmt.Sprintf("wait/%s/%d", s.ID, occ)
		t.Wait = Wait{Kind: WaitTimer, Step: s.ID, Timer: id, Until: at}
		r.setTimer(id, at, "wait "+s.Wait.String()+" until "+at.Format("2006-01-02 15:04 MST"))
	case lang.KindWaitFor:
		ok, err := s.Until.Bool(&r.vm, sc)
		if ok {
			return
		}
		r.condFailed(now, "until/"+s.ID, s.ID, "until", s.Until, err, "counts as false: the run keeps waiting")
		t.Wait = Wait{Kind: WaitEvent, Step: s.ID}
		if !s.Timeout.IsZero() {
			at := r.set.Schema.Calendar.Add(now, s.Timeout, r.loc())
			id := fmt.Sprintf("timeout/%s/%d", s.ID, occ)
			t.Wait.Timer, t.Wait.Until = id, at
			r.setTimer(id, at, "wait for "+s.Until.Src+" at most until "+at.Format("2006-01-02 15:04 MST"))
		}
	case lang.KindIf:
		ok, err := s.Cond.Bool(&r.vm, sc)
		if err != nil {
			// Not once per run, like a when guard: each if taken is a
			// decision of its own.
			took := "counts as false: took else"
			if s.Else < 0 {
				took = "counts as false: skipped its steps"
			}
			r.record(now, lang.RecConditionFailed, s.ID, func(rec *lang.Record) {
				rec.Reason = notEvaluated("if", s.Cond, err) + "; " + took
			})
		}
		switch {
		case ok && s.Then >= 0:
			t.Stack = append(t.Stack, Frame{Block: s.Then})
		case !ok && s.Else >= 0:
			t.Stack = append(t.Stack, Frame{Block: s.Else})
		}
	case lang.KindRepeat:
		t.Stack = append(t.Stack, Frame{Block: s.Steps, Repeat: s.ID, Iter: 1})
	case lang.KindStop:
		p := &render{r: r, sc: sc}
		reason := p.text(s.StopReason, "reason", nil)
		if p.err != nil {
			r.finish(now, StatusFailed, lang.RecRunFailed, fmt.Sprintf("step %s failed: %s", s.ID, p.err))
			return
		}
		r.finish(now, StatusCompleted, lang.RecRunCompleted, "stopped at "+s.ID+": "+reason)
	}
}

// repeatNext runs after a repeat's pause: it checks until, then starts the next iteration.
func (r *Run) repeatNext(now time.Time, t *Thread) {
	s := r.pb.Step(t.Wait.Step)
	t.Wait = Wait{}
	top := &t.Stack[len(t.Stack)-1]
	if s.RepeatUntil != nil {
		ok, err := s.RepeatUntil.Bool(&r.vm, r.scope(now))
		if ok {
			t.Stack = t.Stack[:len(t.Stack)-1]
			return
		}
		r.condFailed(now, "repeat/"+s.ID, s.ID, "repeat until", s.RepeatUntil, err, "counts as false: the repeat goes on")
	}
	top.Iter++
	top.Index = 0
}

// condFailed records, once per run for each key, that a condition it
// evaluates again and again (at every event, every iteration) could not be
// evaluated; then says what the run does.
func (r *Run) condFailed(now time.Time, key, step, name string, x *lang.Expr, err error, then string) {
	if err == nil || slices.Contains(r.FailedConds, key) {
		return
	}
	r.FailedConds = append(r.FailedConds, key)
	r.record(now, lang.RecConditionFailed, step, func(rec *lang.Record) {
		rec.Reason = notEvaluated(name, x, err) + "; " + then
	})
}

// notEvaluated says that condition x (name: when, if, until, ...) could
// not be evaluated, where it is, and why: "if customer.health < 60 could
// not be evaluated (p.yaml:7:9): customer.health is not set (nil): <
// cannot compare nil with an int".
func notEvaluated(name string, x *lang.Expr, err error) string {
	src := strings.TrimSpace(x.Src)
	var ee *lang.EvalError
	if errors.As(err, &ee) {
		return fmt.Sprintf("%s %s could not be evaluated (%s): %s", name, src, ee.Pos, ee.Reason)
	}
	return fmt.Sprintf("%s %s could not be evaluated: %s", name, src, err)
}

// sendMessage sends a customer-facing message once the contact policy
// allows it, unless the customer opted out of it meanwhile.
func (r *Run) sendMessage(now time.Time, t *Thread, a *Action) {
	if a.Unsubscribe && OptedOut(r.Attrs) {
		t.Wait = Wait{}
		r.record(now, lang.RecStepSkipped, a.Step, func(rec *lang.Record) { rec.Reason = OptedOutReason })
		return
	}
	r.sendAction(now, t, a)
}

// sendAction emits the action and its timeline record, and waits for it.
func (r *Run) sendAction(now time.Time, t *Thread, a *Action) {
	t.Wait = Wait{Kind: WaitAction, Step: a.Step, Action: a}
	r.record(now, lang.RecAction, a.Step, func(rec *lang.Record) {
		rec.Action, rec.To, rec.Title, rec.Due, rec.Start = a.Kind, a.To, a.Title, a.Due, a.Start
		if lang.IsTask(a.Kind) {
			rec.Task, rec.Owner = a.Key, a.Owner
		}
		if a.Kind == lang.ActionEscalate {
			rec.Reason = a.Reason
		}
	})
	r.emit(Command{Kind: CmdAction, Action: a})
}

// buildAction renders a step into an action. It fails when an expression
// the action needs cannot be evaluated, naming the field and the
// expression.
func (r *Run) buildAction(now time.Time, s *lang.Step, occ int, sc *lang.Scope) (*Action, error) {
	a := &Action{
		Kind: s.Do, Run: r.ID, Playbook: r.Playbook, Version: r.Version, Customer: r.Customer,
		Step: s.ID, Occurrence: occ, Key: TaskKey(r.ID, s.ID, occ), Owner: r.Owner,
	}
	a.Timezone, _ = r.Attrs["timezone"].(string)
	p := &render{r: r, sc: sc}
	str := p.expr
	if s.Owner == nil && r.pb.Owner != nil {
		a.Owner = str(r.pb.Owner, "owner") // the owner now, not when the run started
	}
	if s.Owner != nil {
		a.Owner = str(s.Owner, "owner")
	}
	switch s.Do {
	case lang.ActionEmail, lang.ActionSurvey:
		if s.To != nil {
			a.To = str(s.To, "to")
		} else {
			a.To = SingleLine(lang.Format(r.Attrs["contact_email"]))
		}
		for _, c := range s.Cc {
			a.Cc = append(a.Cc, str(c, "cc"))
		}
		replyTo := s.ReplyTo
		if replyTo == nil {
			replyTo = r.pb.ReplyTo
		}
		if replyTo != nil {
			a.ReplyTo = str(replyTo, "reply_to")
		}
		if s.Template != nil {
			a.Template = s.Template.Name
			a.Subject = p.line(s.Template.Subject, "template "+a.Template+": subject")
			a.Body = p.markdown(s.Template.Body, "template "+a.Template+": body")
		} else {
			a.Subject = p.line(s.Subject, "subject")
			a.Body = p.markdown(s.Body, "body")
		}
		a.Survey = s.SurveyKind
		a.Unsubscribe = s.Unsubscribe
		a.Title = a.Subject
		what := s.Do
		if s.Do == lang.ActionSurvey {
			what = s.SurveyKind + " survey"
		}
		name := a.Template
		if name == "" {
			name = strconvQuote(a.Subject)
		}
		a.Summary = what + " " + name + " to " + person(a.To, srcOr(s.To, "customer.contact_email"))
	case lang.ActionCall, lang.ActionTraining, lang.ActionTask:
		a.Title = p.line(s.Title, "title")
		a.Description = p.plain(s.Description, "description")
		a.Topic = p.line(s.Topic, "topic")
		for _, x := range s.Attendees {
			a.Attendees = append(a.Attendees, str(x, "attendees"))
		}
		due := r.set.Schema.Calendar.Add(now, s.Due, r.loc()).UTC()
		a.Due = &due
		if lang.LookupAction(s.Do).Meeting {
			a.Duration = s.Duration
			if OwnerKey(a.Owner) == "" {
				// Nobody's calendar to book in: the slot an empty calendar
				// would give, with the same notice.
				start := r.bookRequest(now, a).Propose()
				a.Start = &start
			}
		}
		owner := srcOr(s.Owner, srcOr(r.pb.Owner, "the run's owner"))
		a.Summary = s.Do + " " + strconvQuote(a.Title) + " for " + person(a.Owner, owner) + ", due " + due.Format("2006-01-02")
	case lang.ActionEscalate:
		a.To = str(s.To, "to")
		a.Owner = a.To
		a.Reason = p.line(s.Reason, "reason")
		a.Chat = SingleLine(p.chat(s.Reason, "reason"))
		a.Title = "Escalation: " + a.Reason
		a.Channel = s.Channel
		due := r.set.Schema.Calendar.Add(now, lang.DefaultDue, r.loc()).UTC()
		a.Due = &due
		a.Summary = "escalate to " + person(a.To, srcOr(s.To, "to")) + ": " + a.Reason
	case lang.ActionNotify:
		a.Channel = s.Channel
		a.Text = p.chat(s.Text, "text")
		a.Title = p.line(s.Text, "text")
		a.To = s.Channel
		a.Summary = "notify " + orDefault(s.Channel, "the default channel") + ": " + a.Title
	case lang.ActionWebhook:
		a.Endpoint = s.Endpoint
		a.To = s.Endpoint
		a.Fields = map[string]string{}
		for _, f := range s.Fields {
			a.Fields[f.Key] = p.text(f.Text, "body."+f.Key, nil) // data for a system, as it is
		}
		a.Summary = "webhook to " + s.Endpoint
	case lang.ActionUpdate:
		a.Set = map[string]any{}
		var parts []string
		for _, f := range s.Set {
			v, err := f.X.Eval(&r.vm, sc)
			if err != nil {
				// Applied as nil, it would delete the attribute.
				p.fail("set."+f.Attr, err)
				continue
			}
			if attr := r.set.Schema.Attr(f.Attr); attr != nil {
				if cv, err := lang.Coerce(attr.Type, v); err == nil {
					v = cv
				}
			}
			a.Set[f.Attr] = v
			parts = append(parts, f.Attr+"="+lang.Format(v))
		}
		if s.Stage != "" {
			a.Stage = s.Stage
			parts = append(parts, "stage="+s.Stage)
		}
		a.Title = "set " + strings.Join(parts, ", ")
		a.Summary = "update customer: " + strings.Join(parts, ", ")
	}
	if p.err != nil {
		return nil, p.err
	}
	if len(a.Summary) > 200 {
		a.Summary = a.Summary[:197] + "..."
	}
	return a, nil
}

// person names whom an action is for in its summary: the address its
// expression (src) gave. Summaries and timeline records may name people;
// search attributes never do.
func person(addr, src string) string {
	if addr == "" {
		return "nobody (" + src + " is not set)"
	}
	return addr
}

func srcOr(x *lang.Expr, alt string) string {
	if x == nil {
		return alt
	}
	return strings.TrimSpace(x.Src)
}

// meetingHours are the working hours meetings are proposed in, unless
// tend.yaml's staff: says otherwise: the contact hours, or defaultHours.
func (r *Run) meetingHours() calendar.Window {
	if r.set.Schema.Policy.HasHours {
		return r.set.Schema.Policy.Hours
	}
	return defaultHours
}

// defaultHours are the working hours for meeting proposals when the schema sets no contact hours.
var defaultHours = calendar.Window{Start: 9 * 60, End: 17 * 60}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func strconvQuote(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

// TaskKey is the idempotency key, and task id, of a step occurrence in a run.
func TaskKey(runID, step string, occ int) string {
	return strings.TrimPrefix(runID, "run/") + "/" + step + "/" + strconv.Itoa(occ)
}

// SortedTimers returns the run's pending timers by time, then id.
func (r *Run) SortedTimers() []Timer {
	out := append([]Timer(nil), r.Timers...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
