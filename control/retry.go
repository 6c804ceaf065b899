package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// RetryRun re-drives the failed step of a stalled run: the run carries out
// the same action again, with the same action key, so the same Message-ID,
// outbox file and Idempotency-Key. It returns once the run has scheduled
// the action again (not once it succeeded: tend runs show tells). A run
// that is not stalled is ErrConflict, naming its status; one that has
// ended is ErrConflict too, saying it cannot be re-driven; an unknown run
// is ErrNotFound.
func RetryRun(ctx context.Context, c client.Client, runID string) (*workflows.RetryStepResult, error) {
	if err := CheckRunID(runID); err != nil {
		return nil, kindf(ErrInvalid, "%s", err)
	}
	var res workflows.RetryStepResult
	err := updateRun(ctx, c, runID, workflows.UpdateRetryStep, workflows.RetryStep{}, &res)
	if err == nil {
		return &res, nil
	}
	if errors.Is(err, converter.ErrEncodingIsNotSupported) {
		// The run took the retry; its answer is encrypted, and this
		// client has no codec to read which step it was.
		return &workflows.RetryStepResult{Run: runID}, nil
	}
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app) && app.Type() == workflows.ErrNotStalled:
		return nil, kindf(ErrConflict, "%s", app.Message())
	case isNotFound(err) || isClosed(err):
		// Temporal answers an update to an ended workflow as not found.
		d, derr := c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(runID), "")
		if derr != nil {
			if isNotFound(derr) {
				return nil, kindf(ErrNotFound, "no run %s", runID)
			}
			return nil, fmt.Errorf("retry run %s: %w", runID, derr)
		}
		return nil, endedRun(runID, d.GetWorkflowExecutionInfo())
	case IsUnavailable(err):
		if s := stuck(ctx, c, runID, "retry run "+runID); s != nil {
			return nil, s
		}
		return nil, fmt.Errorf("retry run %s: %w", runID, errors.Join(ErrUnavailable, err))
	}
	return nil, fmt.Errorf("retry run %s: %w", runID, err)
}

// endedRun says why an ended run cannot be re-driven.
func endedRun(runID string, info *workflowpb.WorkflowExecutionInfo) error {
	st := summary(info).Status
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED || st == string(engine.StatusFailed) {
		return kindf(ErrConflict, "run %s has ended as failed and cannot be retried: only an open run whose step failed (status stalled) can be; "+
			"it failed before this version of tend kept failed runs open, or its retry window passed (tend runs show %s says why)", runID, runID)
	}
	return kindf(ErrConflict, "run %s is not waiting for a retry: it has ended (%s)", runID, st)
}

// Retry results of RetryOutcome.
const (
	Retried    = "retried"
	NotFailed  = "not failed"
	NotFound   = "not found"
	NotRetried = "not retried" // any other error
)

// RetryOutcome is what retrying one run did.
type RetryOutcome struct {
	Run    string `json:"run"`
	Result string `json:"result"` // Retried, NotFailed, NotFound or NotRetried
	Step   string `json:"step,omitempty"`
	Key    string `json:"key,omitempty"`
	Error  string `json:"error,omitempty"`
}

// OK reports whether the run was retried.
func (o RetryOutcome) OK() bool { return o.Result == Retried }

// Retry re-drives one run, as RetryRun, and says what happened in a
// RetryOutcome. Only an unreachable Temporal is returned as an error.
func Retry(ctx context.Context, c client.Client, runID string) (RetryOutcome, error) {
	res, err := RetryRun(ctx, c, runID)
	switch {
	case err == nil:
		return RetryOutcome{Run: runID, Result: Retried, Step: res.Step, Key: res.Key}, nil
	case errors.Is(err, ErrNotFound):
		return RetryOutcome{Run: runID, Result: NotFound, Error: err.Error()}, nil
	case errors.Is(err, ErrConflict):
		return RetryOutcome{Run: runID, Result: NotFailed, Error: err.Error()}, nil
	case IsUnavailable(err):
		return RetryOutcome{}, err
	}
	return RetryOutcome{Run: runID, Result: NotRetried, Error: err.Error()}, nil
}

// StalledRun is a stalled run and the step it waits to retry.
type StalledRun struct {
	Run   string           `json:"run"`
	Stall *workflows.Stall `json:"stalled"`
}

// StalledRuns lists the stalled runs whose step failed at or after since
// (every stalled run when since is zero), oldest failure first. It finds
// them by TendStatus = stalled, then asks each run for the step and the
// time it failed (its own view), so a run retried since the visibility
// store last heard of it is left out.
func StalledRuns(ctx context.Context, c client.Client, since time.Time) ([]StalledRun, error) {
	q := runsQuery(RunFilter{Status: string(engine.StatusStalled)}) + " AND ExecutionStatus = 'Running'"
	infos, err := listWorkflows(ctx, c, q, 0)
	if err != nil {
		return nil, err
	}
	views, errs := queryAll(infos, func(info *workflowpb.WorkflowExecutionInfo) (*workflows.RunView, error) {
		return ShowRun(ctx, c, workflows.IDOf(info.GetExecution().GetWorkflowId()))
	})
	var out []StalledRun
	for i, v := range views {
		if err := errs[i]; err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		if v.Stalled == nil || v.Stalled.FailedAt.Before(since) {
			continue
		}
		out = append(out, StalledRun{Run: v.State.ID, Stall: v.Stalled})
	}
	slices.SortFunc(out, func(a, b StalledRun) int {
		if c := a.Stall.FailedAt.Compare(b.Stall.FailedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Run, b.Run)
	})
	return out, nil
}

// ParseSince reads the --since of tend runs retry --failed (and the API's
// since): a Go duration such as 24h or 90m, or whole days such as 7d.
func ParseSince(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		if n, nerr := strconv.Atoi(days); nerr == nil && n >= 0 && n <= 3650 {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	switch {
	case err != nil:
		return 0, kindf(ErrInvalid, "since %q is not a duration such as 24h, 90m or 7d", s)
	case d <= 0:
		return 0, kindf(ErrInvalid, "since %q must be positive", s)
	}
	return d, nil
}
