// Package publish puts a playbook set into the store of sets and makes it
// the active set that every worker following the store switches to
// (tend publish, docs/publish.md). Before it activates anything, it
// replays the recent histories of the open journeys, runs and calendars
// with this build's workflow code and the new set, and refuses if any
// fails; it reports which playbooks changed, which running runs stay on
// their version, and which customers' triggers would now decide
// differently.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// DefaultReplay is how many histories of each workflow type are replayed
// when Options.Replay is 0.
const DefaultReplay = 50

// maxPinnedRuns bounds the open runs read for the report of pinned runs.
const maxPinnedRuns = 10_000

// examples is how many run ids the report names per playbook and version.
const examples = 3

// queryTimeout bounds each journey's answer for the trigger report.
const queryTimeout = 5 * time.Second

// Options configures Publish.
type Options struct {
	Client client.Client // of the workers' namespace
	// Store is the store of sets the workers share; the new set is
	// written to it and made active there.
	Store workflows.DirStore
	// Bundle and Set are the new set, validated (node.ReadBundle).
	Bundle workflows.Bundle
	Set    *lang.Set
	// Replay is how many of the most recent open executions of each
	// workflow type are replayed; 0 means DefaultReplay.
	Replay int
	// Customers is how many open journeys are asked about their triggers;
	// 0 means Replay.
	Customers int
	// DryRun does every check and the report, and writes nothing.
	DryRun bool
	// Workflows are the workers' workflow options (HistoryLimit above all:
	// continuing as new is part of what must replay).
	Workflows workflows.Options
	// Codec is the workers' payload codec (tend.yaml's codec:), nil when
	// they encrypt nothing: the replay reads payloads and failures as the
	// workers wrote them, and a history it cannot decrypt is refused for
	// that reason, not reported as a change of code.
	Codec *codec.Codec
	// Register registers the workflow code to replay with; nil is
	// node.RegisterWorkflows, the workers' own. Tests give other code.
	Register func(worker.WorkflowRegistry, *workflows.Playbooks)
	// Now is when the triggers are evaluated; zero is the current time.
	Now time.Time
}

// Report is what Publish found, and did.
type Report struct {
	Version string `json:"version"`
	// Previous is the version that was active, "" when none was.
	Previous string `json:"previous"`
	// PreviousError says why the active set could not be read or
	// compiled; its playbooks then count as none.
	PreviousError string `json:"previous_error,omitempty"`
	// Unchanged: the set is the active one already; nothing else was done.
	Unchanged bool `json:"unchanged"`

	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`

	// Replayed counts the open workflows checked by workflow type: those
	// replayed, and those refused before their replay for a set the store
	// does not give.
	Replayed map[string]int `json:"replayed"`
	// Failures are the histories that did not replay, and the histories
	// naming a set the store does not hold.
	Failures []Failure `json:"failures"`

	Pinned []Pinned `json:"pinned"`
	// PinnedTruncated: more open runs exist than were read.
	PinnedTruncated bool `json:"pinned_truncated,omitempty"`

	Triggers []TriggerChange `json:"triggers"`
	// Customers is how many journeys' triggers were compared.
	Customers int `json:"customers"`
	// Unanswered are the journeys that could not be asked (no worker
	// answered, or one older than this tend), with the reason.
	Unanswered []Failure `json:"unanswered,omitempty"`
	// NotAsked counts the journeys not asked after one gave no answer
	// in time: no worker is running.
	NotAsked int `json:"not_asked,omitempty"`

	// Activated: the set was written to the store and made active.
	Activated bool `json:"activated"`
	DryRun    bool `json:"dry_run"`
}

// OK says whether the set may be activated: every history replayed and
// every set they name is in the store.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// Failure is a workflow that did not pass, and why.
type Failure struct {
	Workflow string `json:"workflow"`
	RunID    string `json:"run_id,omitempty"`
	Type     string `json:"type,omitempty"`
	Error    string `json:"error"`
}

// Pinned counts the open runs of a playbook that stay on their version,
// because the new set has another one (or no longer has the playbook).
type Pinned struct {
	Playbook string `json:"playbook"`
	Version  string `json:"version"`
	// New is the playbook's version in the new set, "" when it is removed.
	New   string   `json:"new"`
	Count int      `json:"count"`
	Runs  []string `json:"runs"` // a few of them
}

// TriggerChange is a playbook whose trigger decides otherwise for a
// customer under the new set, at an event of a type its trigger names (in
// either set) or at the daily check.
type TriggerChange struct {
	Customer string `json:"customer"`
	Playbook string `json:"playbook"`
	Trigger  string `json:"trigger"` // the event type, or daily
	Before   string `json:"before"`
	After    string `json:"after"`
}

// Publish checks the new set against the open workflows and, unless it is
// a dry run or a check failed, writes it to the store and makes it active.
// An error means Temporal or the store could not be used; a refusal is a
// report that is not OK.
func Publish(ctx context.Context, opts Options) (*Report, error) {
	if opts.Replay <= 0 {
		opts.Replay = DefaultReplay
	}
	if opts.Customers <= 0 {
		opts.Customers = opts.Replay
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &Report{Version: opts.Bundle.Version, DryRun: opts.DryRun, Replayed: map[string]int{},
		Added: []string{}, Removed: []string{}, Changed: []string{}, Failures: []Failure{}, Pinned: []Pinned{}, Triggers: []TriggerChange{}}
	prev, err := opts.Store.Active()
	if err != nil {
		return nil, err
	}
	r.Previous = prev
	if prev == opts.Bundle.Version {
		r.Unchanged = true
		return r, nil
	}
	store := &overlay{base: opts.Store, mem: map[string]workflows.Bundle{opts.Bundle.Version: opts.Bundle}}
	pb, err := workflows.NewPlaybooks(workflows.Bundle{}).WithStore(store)
	if err != nil {
		return nil, err
	}
	if err := pb.Swap(opts.Bundle); err != nil {
		return nil, err
	}
	if err := r.diff(pb, prev, opts.Set); err != nil {
		return nil, err
	}
	if err := r.replay(ctx, opts, pb, store); err != nil {
		return nil, err
	}
	if err := r.pinned(ctx, opts); err != nil {
		return nil, err
	}
	if err := r.triggers(ctx, opts, pb); err != nil {
		return nil, err
	}
	if !r.OK() || opts.DryRun {
		return r, nil
	}
	if err := opts.Store.Put(opts.Bundle); err != nil {
		return nil, fmt.Errorf("write playbook set %s to %s: %w", opts.Bundle.Version, opts.Store.Dir, err)
	}
	if err := opts.Store.ActivateFrom(prev, opts.Bundle.Version); err != nil {
		return nil, err
	}
	r.Activated = true
	return r, nil
}

// diff compares the playbooks of the previous active set and the new one.
func (r *Report) diff(pb *workflows.Playbooks, prev string, set *lang.Set) error {
	old := map[string]string{}
	if prev != "" {
		ps, err := pb.Set(prev)
		if err != nil {
			// Publishing is how a broken active set is replaced: say
			// why it cannot be compared, and compare with nothing.
			r.PreviousError = err.Error()
			ps = &lang.Set{}
		}
		for _, p := range ps.Playbooks {
			old[p.Name] = p.Version
		}
	}
	for _, p := range set.Playbooks {
		v, ok := old[p.Name]
		switch {
		case !ok:
			r.Added = append(r.Added, p.Name)
		case v != p.Version:
			r.Changed = append(r.Changed, p.Name)
		}
	}
	for name := range old {
		if set.Playbook(name) == nil {
			r.Removed = append(r.Removed, name)
		}
	}
	sort.Strings(r.Added)
	sort.Strings(r.Removed)
	sort.Strings(r.Changed)
	return nil
}

// replayTypes are the workflow types replayed: all that workers run.
var replayTypes = []string{workflows.JourneyWorkflow, workflows.RunWorkflow, workflows.OwnerWorkflow}

// replay replays the recent open executions of each workflow type with
// the workers' code over pb, whose current set is the new one.
func (r *Report) replay(ctx context.Context, opts Options, pb *workflows.Playbooks, store *overlay) error {
	var conv client.Options
	opts.Codec.Apply(&conv)
	dc := conv.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	rep, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc,
		FailureConverter: conv.FailureConverter})
	if err != nil {
		return fmt.Errorf("replayer: %w", err)
	}
	if opts.Register != nil {
		opts.Register(rep, pb)
	} else {
		node.RegisterWorkflows(rep, pb, opts.Workflows)
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, typ := range replayTypes {
		execs, err := list(ctx, opts.Client, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", typ), opts.Replay)
		if err != nil {
			return err
		}
		for _, ex := range execs {
			wid, rid := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			fail := func(msg string) {
				r.Failures = append(r.Failures, Failure{Workflow: workflows.IDOf(wid), RunID: rid, Type: typ, Error: msg})
			}
			h, err := history(ctx, opts.Client, wid, rid)
			if err != nil {
				return err
			}
			// Every workflow checked counts, the ones refused before or
			// by the replay too: the report's total is what was checked.
			r.Replayed[typ]++
			if err := codec.Check(opts.Codec, h); err != nil {
				fail(fmt.Sprintf("its history cannot be read here: %v", err))
				continue
			}
			if v := pinnedSet(dc, h); v != "" {
				if _, err := store.Get(v); err != nil {
					fail(unusable(v, err, opts.Store.Dir, "it is pinned to"))
					continue
				}
			}
			store.missed()
			err = rep.ReplayWorkflowHistoryWithOptions(logger, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: wid, RunID: rid}})
			// A set the store cannot give makes the workflow code take
			// another path (a run fails at once, a journey keeps its
			// set): that, not the code, is why such a replay fails.
			switch missing := store.missed(); {
			case len(missing) > 0:
				var msgs []string
				for _, m := range missing {
					msgs = append(msgs, unusable(m.version, m.err, opts.Store.Dir, "its history names"))
				}
				fail(strings.Join(msgs, "; "))
			case err != nil && strings.Contains(err.Error(), "TMPRL1100"):
				fail(fmt.Sprintf("does not replay: this build's workflow code is nondeterministic against its history (an incompatible change needs workflow.GetVersion): %v", err))
			case err != nil:
				fail(fmt.Sprintf("does not replay with this build and the new set: %v", err))
			}
		}
	}
	return nil
}

// unusable says why a workflow cannot be checked against the store: the
// set it names (how: "it is pinned to", "its history names") is missing
// from it, or its file there cannot be read.
func unusable(version string, err error, dir, how string) string {
	if errors.Is(err, workflows.ErrSetNotFound) {
		return fmt.Sprintf("%s playbook set %s, which store %s does not hold: copy the set's file (%s.json) from the store the workers used into it", how, version, dir, version)
	}
	return fmt.Sprintf("%s playbook set %s, which store %s cannot read (%v): replace the file with a good copy of the set from another store, or publish the same playbook files again", how, version, dir, err)
}

// pinnedSet is the playbook set a journey or run was started with, from
// its first event's input; "" when it names none.
func pinnedSet(dc converter.DataConverter, h *historypb.History) string {
	if len(h.GetEvents()) == 0 {
		return ""
	}
	attrs := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	ps := attrs.GetInput().GetPayloads()
	if len(ps) == 0 {
		return ""
	}
	var in struct {
		Set string `json:"set"`
	}
	if err := dc.FromPayload(ps[0], &in); err != nil {
		return ""
	}
	return in.Set
}

// pinned counts the open runs whose playbook's version the new set does
// not have: they go on with theirs.
func (r *Report) pinned(ctx context.Context, opts Options) error {
	execs, err := list(ctx, opts.Client, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.RunWorkflow), maxPinnedRuns+1)
	if err != nil {
		return err
	}
	if len(execs) > maxPinnedRuns {
		execs, r.PinnedTruncated = execs[:maxPinnedRuns], true
	}
	groups := map[[2]string]*Pinned{}
	for _, ex := range execs {
		sa := ex.GetSearchAttributes()
		name, version := keyword(sa, workflows.AttrPlaybook.GetName()), keyword(sa, workflows.AttrVersion.GetName())
		if name == "" {
			continue
		}
		now := ""
		if p := opts.Set.Playbook(name); p != nil {
			now = p.Version
		}
		if now == version {
			continue
		}
		g := groups[[2]string{name, version}]
		if g == nil {
			g = &Pinned{Playbook: name, Version: version, New: now}
			groups[[2]string{name, version}] = g
		}
		g.Count++
		if len(g.Runs) < examples {
			g.Runs = append(g.Runs, workflows.IDOf(ex.GetExecution().GetWorkflowId()))
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int {
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	}) {
		r.Pinned = append(r.Pinned, *groups[k])
	}
	return nil
}

// triggers asks open journeys for their state and evaluates every
// playbook's trigger, in the journey's set and in the new one, for each
// event type a playbook of either set is triggered by and for the daily
// check, with the engine's own evaluation.
func (r *Report) triggers(ctx context.Context, opts Options, pb *workflows.Playbooks) error {
	execs, err := list(ctx, opts.Client, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.JourneyWorkflow), opts.Customers)
	if err != nil {
		return err
	}
	for i, ex := range execs {
		wid := ex.GetExecution().GetWorkflowId()
		view, err := journey(ctx, opts.Client, wid)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Unanswered = append(r.Unanswered, Failure{Workflow: workflows.IDOf(wid), Type: workflows.JourneyWorkflow, Error: err.Error()})
			if control.IsUnavailable(err) && i+1 < len(execs) {
				// No worker answers: asking the others would only wait
				// as long again for each.
				r.NotAsked = len(execs) - i - 1
				break
			}
			continue
		}
		if view.Playbooks == nil || view.Explain == nil {
			r.Unanswered = append(r.Unanswered, Failure{Workflow: workflows.IDOf(wid), Type: workflows.JourneyWorkflow,
				Error: "the worker running it is older than this tend and does not say which playbooks ran"})
			continue
		}
		old, err := pb.Set(view.Version)
		if err != nil {
			r.Unanswered = append(r.Unanswered, Failure{Workflow: workflows.IDOf(wid), Type: workflows.JourneyWorkflow, Error: err.Error()})
			continue
		}
		r.Customers++
		for _, kind := range triggerKinds(old, opts.Set) {
			before, after := decide(old, view, kind, opts.Now), decide(opts.Set, view, kind, opts.Now)
			for _, name := range slices.Sorted(maps.Keys(merge(before, after))) {
				if !triggeredBy(old, name, kind) && !triggeredBy(opts.Set, name, kind) {
					continue
				}
				b, a := before[name], after[name]
				if starts(b) == starts(a) {
					continue
				}
				r.Triggers = append(r.Triggers, TriggerChange{Customer: view.Customer, Playbook: name, Trigger: kind, Before: words(b), After: words(a)})
			}
		}
	}
	// Customers in order, then each customer's event types and playbooks
	// in the order compared: the same open journeys give the same report.
	sort.SliceStable(r.Triggers, func(i, j int) bool { return r.Triggers[i].Customer < r.Triggers[j].Customer })
	return nil
}

// triggerKinds are the event types that some playbook of either set is
// triggered by (its on: list), in name order, then the daily check if a
// playbook of either runs on it.
func triggerKinds(sets ...*lang.Set) []string {
	kinds, daily := map[string]bool{}, false
	for _, set := range sets {
		for _, p := range set.Playbooks {
			for _, on := range p.Trigger.On {
				kinds[on] = true
			}
			daily = daily || p.Trigger.Daily
		}
	}
	out := slices.Sorted(maps.Keys(kinds))
	if daily {
		out = append(out, lang.EventDaily)
	}
	return out
}

// triggeredBy says whether the named playbook of set is triggered by an
// event of type kind, or by the daily check.
func triggeredBy(set *lang.Set, name, kind string) bool {
	p := set.Playbook(name)
	if p == nil {
		return false
	}
	if kind == lang.EventDaily {
		return p.Trigger.Daily
	}
	return slices.Contains(p.Trigger.On, kind)
}

// decide is what the journey in view would decide for each playbook of set
// if an event of type kind that changes nothing (or the daily check)
// arrived now: the engine's trigger evaluation and its explanation, on a
// copy of the journey.
func decide(set *lang.Set, view *workflows.JourneyView, kind string, now time.Time) map[string]*engine.Explanation {
	st := engine.JourneyState{Customer: view.Customer, Attrs: maps.Clone(view.Attrs), Playbooks: map[string]*engine.PlaybookRuns{}}
	for name, p := range view.Playbooks {
		c := *p
		c.Keys = slices.Clone(p.Keys)
		st.Playbooks[name] = &c
	}
	engine.RestoreJourneyState(set.Schema, &st)
	j := engine.ResumeJourney(st)
	if kind == lang.EventDaily {
		j.Daily(set, now)
	} else {
		j.Apply(set, now, &lang.Event{Type: kind, Customer: view.Customer, At: now})
	}
	out := map[string]*engine.Explanation{}
	for _, pe := range j.Explain(set).Playbooks {
		if kind == lang.EventDaily {
			out[pe.Playbook] = pe.Daily
		} else {
			out[pe.Playbook] = pe.Event
		}
	}
	return out
}

func merge(a, b map[string]*engine.Explanation) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// starts says whether a decision starts a run.
func starts(e *engine.Explanation) bool {
	return e != nil && (e.Outcome == engine.OutcomeStarted || e.Outcome == engine.OutcomeExited)
}

// words is a decision as the report says it.
func words(e *engine.Explanation) string {
	switch {
	case e == nil:
		return "not in the set"
	case e.Outcome == engine.OutcomeStarted:
		return "would start"
	case e.Outcome == engine.OutcomeExited:
		return "would start, and exit at once (exit_when is true)"
	}
	return e.Summary
}

// journey asks a journey for its state.
func journey(ctx context.Context, c client.Client, wid string) (*workflows.JourneyView, error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, wid, "", workflows.QueryState)
	if err != nil {
		if control.IsUnavailable(err) {
			return nil, fmt.Errorf("no answer in %s: is a worker running? %w", queryTimeout, err)
		}
		return nil, err
	}
	var view workflows.JourneyView
	if err := v.Get(&view); err != nil {
		return nil, err
	}
	return &view, nil
}

// list pages through a visibility query, newest first, up to limit.
func list(ctx context.Context, c client.Client, query string, limit int) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for len(out) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: int32(min(1000, limit-len(out))), NextPageToken: token, Query: query})
		if err != nil {
			return nil, fmt.Errorf("list workflows where %s: %w", query, err)
		}
		out = append(out, resp.GetExecutions()...)
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// history fetches an execution's whole history.
func history(ctx context.Context, c client.Client, wid, rid string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflows.IDOf(wid), err)
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// keyword decodes a keyword search attribute, or returns "".
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// overlay is the store the replay resolves sets through: the new set in
// memory over the target store, which it never writes. It notes the
// versions it could not give (missing, or a file that cannot be read), so
// that a replay that fails for a set says so rather than blame the code.
type overlay struct {
	base workflows.Store
	mem  map[string]workflows.Bundle

	mu   sync.Mutex
	miss []missedSet
}

// missedSet is a version the overlay could not give, and why.
type missedSet struct {
	version string
	err     error
}

func (o *overlay) Put(b workflows.Bundle) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mem[b.Version] = b
	return nil
}

func (o *overlay) Get(v string) (workflows.Bundle, error) {
	o.mu.Lock()
	b, ok := o.mem[v]
	o.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := o.base.Get(v)
	if err != nil {
		o.mu.Lock()
		if !slices.ContainsFunc(o.miss, func(m missedSet) bool { return m.version == v }) {
			o.miss = append(o.miss, missedSet{v, err})
		}
		o.mu.Unlock()
	}
	return b, err
}

// missed returns the versions not given since the last call, and forgets them.
func (o *overlay) missed() []missedSet {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.miss
	o.miss = nil
	return m
}
