package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// DefaultLimit is how many runs ListRuns returns when the filter sets no limit.
const DefaultLimit = 100

// Statuses are the run statuses a RunFilter may name (docs/temporal.md).
var Statuses = []engine.Status{
	engine.StatusRunning, engine.StatusWaiting, engine.StatusTasksOpen, engine.StatusOverdue, engine.StatusEscalated,
	engine.StatusStalled, engine.StatusCompleted, engine.StatusExited, engine.StatusExpired, engine.StatusFailed,
}

// RunFilter selects runs. Empty fields match every run.
type RunFilter struct {
	Customer string
	Playbook string
	Status   string
	Step     string
	Owner    string
	// OwnerHashed says that TendOwner holds workflows.OwnerHash of the
	// owner (the workers encrypt payloads): Owner is hashed to match.
	OwnerHashed bool
	Limit       int // at most this many runs; DefaultLimit when 0
}

// Validate says what is wrong with the filter, naming the valid choices.
func (f RunFilter) Validate() error {
	for _, v := range []struct{ name, val string }{{"customer", f.Customer}, {"playbook", f.Playbook}, {"status", f.Status}, {"step", f.Step}, {"owner", f.Owner}} {
		if !utf8.ValidString(v.val) {
			return fmt.Errorf("%s is not valid UTF-8", v.name)
		}
	}
	if f.Status != "" && !slices.Contains(Statuses, engine.Status(f.Status)) {
		names := make([]string, len(Statuses))
		for i, s := range Statuses {
			names[i] = string(s)
		}
		return fmt.Errorf("status %q: want one of %s", f.Status, strings.Join(names, ", "))
	}
	if f.Limit < 0 {
		return fmt.Errorf("limit %d: want 0 (the default, %d) or more", f.Limit, DefaultLimit)
	}
	return nil
}

// RunSummary is one run as the visibility store has it.
type RunSummary struct {
	ID       string     `json:"id"`
	Customer string     `json:"customer"`
	Playbook string     `json:"playbook"`
	Version  string     `json:"version"`
	Step     string     `json:"step"`
	Owner    string     `json:"owner"`
	Status   string     `json:"status"`
	Start    time.Time  `json:"start"`
	Close    *time.Time `json:"close,omitempty"`
}

// ListRuns lists the runs that match f, newest first.
func ListRuns(ctx context.Context, c client.Client, f RunFilter) ([]RunSummary, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	infos, err := listWorkflows(ctx, c, runsQuery(f), limit)
	if err != nil {
		return nil, err
	}
	out := make([]RunSummary, 0, len(infos))
	for _, info := range infos {
		out = append(out, summary(info))
	}
	// SQL visibility stores cannot ORDER BY; sort here.
	slices.SortStableFunc(out, func(a, b RunSummary) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// runsQuery is the visibility query for f.
func runsQuery(f RunFilter) string {
	// A run that continued as new is listed once, as its latest execution.
	q := []string{"WorkflowType = " + quote(workflows.RunWorkflow), "ExecutionStatus != 'ContinuedAsNew'"}
	owner := f.Owner
	if f.OwnerHashed && owner != "" {
		owner = workflows.OwnerHash(owner)
	}
	for _, c := range []struct{ attr, val string }{
		{workflows.AttrCustomer.GetName(), f.Customer},
		{workflows.AttrPlaybook.GetName(), f.Playbook},
		{workflows.AttrStatus.GetName(), f.Status},
		{workflows.AttrStep.GetName(), f.Step},
		{workflows.AttrOwner.GetName(), owner},
	} {
		if c.val != "" {
			q = append(q, c.attr+" = "+quote(c.val))
		}
	}
	return strings.Join(q, " AND ")
}

// openRunsQuery is the visibility query for the runs still in progress.
func openRunsQuery() string {
	return "WorkflowType = " + quote(workflows.RunWorkflow) + " AND ExecutionStatus = 'Running'"
}

// quote makes s a string literal of the visibility query language.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// listWorkflows pages through a visibility query, up to limit executions
// (no limit when limit <= 0).
func listWorkflows(ctx context.Context, c client.Client, query string, limit int) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		size := 1000
		if limit > 0 {
			size = min(size, limit-len(out))
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: int32(size), NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, fmt.Errorf("list workflows where %s: %w", query, err)
		}
		out = append(out, resp.GetExecutions()...)
		token = resp.GetNextPageToken()
		if len(token) == 0 || (limit > 0 && len(out) >= limit) {
			break
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func summary(info *workflowpb.WorkflowExecutionInfo) RunSummary {
	sa := info.GetSearchAttributes()
	s := RunSummary{
		ID:       workflows.IDOf(info.GetExecution().GetWorkflowId()),
		Customer: attr(sa, workflows.AttrCustomer.GetName()),
		Playbook: attr(sa, workflows.AttrPlaybook.GetName()),
		Version:  attr(sa, workflows.AttrVersion.GetName()),
		Step:     attr(sa, workflows.AttrStep.GetName()),
		Owner:    attr(sa, workflows.AttrOwner.GetName()),
		Status:   attr(sa, workflows.AttrStatus.GetName()),
	}
	if t := info.GetStartTime(); t != nil {
		s.Start = t.AsTime().UTC()
	}
	if t := info.GetCloseTime(); t != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		ct := t.AsTime().UTC()
		s.Close = &ct
	}
	if pb, cust, ok := splitRunID(s.ID); ok {
		if s.Playbook == "" {
			s.Playbook = pb
		}
		if s.Customer == "" {
			s.Customer = cust
		}
	}
	s.Status = status(s.Status, info.GetStatus())
	return s
}

// status is the run's status to show: TendStatus, unless the workflow
// ended without the run saying how (terminated, timed out, ...).
func status(tend string, exec enumspb.WorkflowExecutionStatus) string {
	switch exec {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED:
		if tend != "" {
			return tend
		}
		if exec == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return string(engine.StatusRunning)
		}
	}
	switch engine.Status(tend) {
	case engine.StatusCompleted, engine.StatusExited, engine.StatusExpired, engine.StatusFailed:
		return tend
	}
	return strings.ToLower(exec.String()) // terminated, timedout, canceled, failed
}

// attr decodes a keyword search attribute, or returns "".
func attr(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err == nil {
		return s
	}
	var list []string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &list); err == nil {
		return strings.Join(list, ",")
	}
	return ""
}

// splitRunID splits run/<playbook>/<customer>/<n>; customer ids may
// contain slashes.
func splitRunID(id string) (playbook, customer string, ok bool) {
	rest, found := strings.CutPrefix(id, "run/")
	if !found {
		return "", "", false
	}
	pb, rest, found := strings.Cut(rest, "/")
	i := strings.LastIndex(rest, "/")
	if !found || pb == "" || i <= 0 || !isCount(rest[i+1:]) {
		return "", "", false
	}
	return pb, rest[:i], true
}

// isCount reports whether s is a positive decimal count without leading zeros.
func isCount(s string) bool {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CheckRunID says what is wrong with a run id, or returns nil.
func CheckRunID(runID string) error {
	if _, _, ok := splitRunID(runID); !ok {
		return fmt.Errorf("run id %q: want run/<playbook>/<customer>/<n>, as tend runs list shows", runID)
	}
	return nil
}

// ShowRun asks a run for its state and timeline.
func ShowRun(ctx context.Context, c client.Client, runID string) (*workflows.RunView, error) {
	if err := CheckRunID(runID); err != nil {
		return nil, err
	}
	v, err := c.QueryWorkflow(ctx, workflows.WorkflowID(runID), "", workflows.QueryState)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("no run %s: %w", runID, err)
		}
		var de *serviceerror.DeadlineExceeded
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) {
			return nil, fmt.Errorf("query run %s: no answer; is a worker running (tend worker, or tend dev)? %w", runID, err)
		}
		if isUnloaded(err) {
			return nil, unloaded(ctx, c, workflows.WorkflowID(runID), "query run "+runID, err)
		}
		return nil, fmt.Errorf("query run %s: %w", runID, err)
	}
	var view workflows.RunView
	if err := v.Get(&view); err != nil {
		return nil, fmt.Errorf("query run %s: %w", runID, answerError(v, err))
	}
	if !(&engine.Run{RunState: view.State}).Done() {
		// A query to a closed workflow replays it, and the replay does not
		// know how Temporal ended it (terminated, timed out, or failed by
		// the SDK): say so rather than show it waiting.
		d, err := c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(runID), "")
		if err == nil {
			if exec := d.GetWorkflowExecutionInfo().GetStatus(); exec != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				st := status("", exec)
				view.State.Status, view.State.Tasks = engine.Status(st), nil
				view.Waiting = fmt.Sprintf("nothing: its workflow ended as %s in Temporal before the run finished (the Temporal UI's history of %s says why)",
					st, workflows.WorkflowID(runID))
			}
		}
	}
	return &view, nil
}
