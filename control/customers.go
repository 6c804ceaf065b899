package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// Errors that callers tell apart: the CLI by exit code, the HTTP API by
// status. Match them with errors.Is.
var (
	// ErrNotFound: the customer, run or task does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the task was already completed or closed.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: Temporal cannot be reached, or did not answer.
	ErrUnavailable = errors.New("temporal unavailable")
	// ErrInvalid: the request itself is wrong (too long, not UTF-8).
	ErrInvalid = errors.New("invalid request")
)

// kindError is an error of one of the kinds above, with its own message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func kindf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// IsUnavailable reports whether err means that Temporal could not be
// reached or did not answer in time, as opposed to a refusal.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var un *serviceerror.Unavailable
	var de *serviceerror.DeadlineExceeded
	if errors.As(err, &un) || errors.As(err, &de) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := grpcstatus.FromError(e); ok && (s.Code() == codes.Unavailable || s.Code() == codes.DeadlineExceeded) {
			return true
		}
	}
	return false
}

// unloadedError is a query answered with "unknown queryType": a
// workflow's handlers are set by its code, and the workers cannot run that
// code, so the reason is in their log rather than in the answer. Most
// often it is a codec key gone from the workers' tend.yaml, so the error
// names the keys the workflow's history is encrypted with.
type unloadedError struct {
	what string   // "query run run/…"
	keys []string // the codec keys its history names
	err  error    // Temporal's answer
}

func (e *unloadedError) Error() string {
	switch len(e.keys) {
	case 0:
		return e.what + ": the workers cannot load it: its workflow task fails, and the worker's log says why"
	case 1:
		return fmt.Sprintf("%s: the workers cannot load it: its history is encrypted with codec key %s, and workers whose tend.yaml codec.keys lack %s cannot read it: "+
			"add it back, under the same id (if they have it, the worker's log says why)", e.what, e.keys[0], e.keys[0])
	}
	return fmt.Sprintf("%s: the workers cannot load it: its history is encrypted with codec keys %s, and workers whose tend.yaml codec.keys lack one of them cannot read it: "+
		"add any that was removed back, under the same id (if they have them all, the worker's log says why)", e.what, strings.Join(e.keys, ", "))
}

func (e *unloadedError) Unwrap() error { return e.err }

// answerError says why a query's answer could not be decoded: when it is
// encrypted and this process has no codec, the SDK says only that the
// encoding is not supported.
func answerError(v converter.EncodedValue, err error) error {
	var raw converter.RawValue
	if !errors.Is(err, converter.ErrEncodingIsNotSupported) || v.Get(&raw) != nil {
		return err
	}
	ids := codec.KeyIDs(raw.Payload())
	if len(ids) != 1 {
		return err
	}
	return fmt.Errorf("the answer is encrypted with the workers' codec key %s, and tend.yaml has no codec: section to read it: "+
		"give this command the workers' codec: keys (--config, or TEND_CONFIG): %w", ids[0], err)
}

// stuck says why an update to a run got no answer when the run's workflow
// task keeps failing: the workers cannot load the run (a codec key gone,
// most often), so it could not take the update, and nothing was applied.
// It returns nil when the run is not stuck, and Temporal or the workers are
// really away. The update's context has ended, so it asks with its own.
func stuck(ctx context.Context, c client.Client, runID, what string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stuckTimeout)
	defer cancel()
	id := workflows.WorkflowID(runID)
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || d.GetPendingWorkflowTask().GetAttempt() < 2 {
		return nil
	}
	return fmt.Errorf("%w; nothing was applied: send it again once they can", unloaded(ctx, c, id, what, nil))
}

// stuckTimeout bounds stuck's questions.
const stuckTimeout = 5 * time.Second

// maxKeyEvents bounds the events read for the keys of an unloaded
// workflow: histories continue as new long before it.
const maxKeyEvents = 20_000

// unloaded is the error of a query to workflow id that the workers cannot
// load, naming the codec keys of its history when it can read them.
func unloaded(ctx context.Context, c client.Client, id, what string, err error) error {
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() && len(h.Events) < maxKeyEvents {
		ev, err := it.Next()
		if err != nil {
			break
		}
		h.Events = append(h.Events, ev)
	}
	return &unloadedError{what: what, keys: codec.KeyIDs(h), err: err}
}

// isUnloaded reports whether a query failed because the workflow has not
// run far enough to set its query handlers.
func isUnloaded(err error) bool {
	var qf *serviceerror.QueryFailed
	return errors.As(err, &qf) && strings.Contains(qf.Message, "unknown queryType")
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// Customer is what tend knows of a customer: GET /v1/customers/{id}.
type Customer struct {
	ID         string                    `json:"id"`
	Stage      string                    `json:"stage"`
	Attributes map[string]any            `json:"attributes"`
	Runs       []RunSummary              `json:"runs"`
	Rejected   []workflows.RejectedEvent `json:"rejected"`
	Stats      workflows.JourneyStats    `json:"stats"`
	Version    string                    `json:"version"`
	// Answers are the customer's latest survey answers, oldest first.
	Answers []engine.SurveyAnswer `json:"answers,omitempty"`
}

// GetCustomer asks the customer's journey for its attributes, stage and
// rejected events, and lists its runs. A customer tend has never seen is
// ErrNotFound.
func GetCustomer(ctx context.Context, c client.Client, id string) (*Customer, error) {
	v, err := journeyView(ctx, c, id)
	if err != nil {
		return nil, err
	}
	runs, err := ListRuns(ctx, c, RunFilter{Customer: id, Limit: 1000})
	if err != nil {
		return nil, err
	}
	attrs := v.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	cust := &Customer{ID: v.Customer, Stage: v.Stage, Attributes: attrs, Runs: runs, Rejected: v.Rejected,
		Stats: v.Stats, Version: v.Version, Answers: v.Answers}
	if cust.Runs == nil {
		cust.Runs = []RunSummary{}
	}
	if cust.Rejected == nil {
		cust.Rejected = []workflows.RejectedEvent{}
	}
	slices.Reverse(cust.Rejected) // newest first, as tend events rejected lists them
	return cust, nil
}

func journeyView(ctx context.Context, c client.Client, customer string) (*workflows.JourneyView, error) {
	v, err := c.QueryWorkflow(ctx, workflows.JourneyID(customer), "", workflows.QueryState)
	if err != nil {
		switch {
		case isNotFound(err):
			return nil, kindf(ErrNotFound, "no customer %s: tend has received no event for it", customer)
		case IsUnavailable(err):
			return nil, fmt.Errorf("query the journey of %s: no answer; is Temporal up and a worker running (tend worker, or tend dev)? %w", customer, errors.Join(ErrUnavailable, err))
		case isUnloaded(err):
			return nil, unloaded(ctx, c, workflows.JourneyID(customer), "query the journey of "+customer, err)
		}
		return nil, fmt.Errorf("query the journey of %s: %w", customer, err)
	}
	var view workflows.JourneyView
	if err := v.Get(&view); err != nil {
		return nil, fmt.Errorf("query the journey of %s: %w", customer, answerError(v, err))
	}
	return &view, nil
}

// RejectedItem is a rejected event with its customer.
type RejectedItem struct {
	Customer string `json:"customer"`
	workflows.RejectedEvent
}

// ListRejected lists the events that journeys accepted but could not
// apply, newest first: one customer's, or, with customer "", those of
// every journey that has any (journeys with rejected events carry
// TendStatus = "rejected").
func ListRejected(ctx context.Context, c client.Client, customer string) ([]RejectedItem, error) {
	var customers []string
	if customer != "" {
		customers = []string{customer}
	} else {
		q := "WorkflowType = " + quote(workflows.JourneyWorkflow) + " AND ExecutionStatus = 'Running' AND " +
			workflows.AttrStatus.GetName() + " = " + quote(workflows.JourneyRejected)
		infos, err := listWorkflows(ctx, c, q, 0)
		if err != nil {
			return nil, err
		}
		for _, info := range infos {
			customers = append(customers, strings.TrimPrefix(workflows.IDOf(info.GetExecution().GetWorkflowId()), "customer/"))
		}
	}
	views, errs := queryAll(customers, func(cust string) (*workflows.JourneyView, error) {
		return journeyView(ctx, c, cust)
	})
	var out []RejectedItem
	for i, v := range views {
		if err := errs[i]; err != nil {
			if customer == "" && errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		for _, r := range v.Rejected {
			out = append(out, RejectedItem{Customer: v.Customer, RejectedEvent: r})
		}
	}
	slices.SortStableFunc(out, func(a, b RejectedItem) int {
		if c := b.Received.Compare(a.Received); c != 0 {
			return c
		}
		return strings.Compare(a.Customer, b.Customer)
	})
	return out, nil
}

// CompleteTask completes a task through a Temporal Update on its run, so
// that the answer is the run's own: it returns once the run has recorded
// the completion. An unknown task (or run) is ErrNotFound; a task already
// completed, or closed because its run ended, is ErrConflict. It never
// starts a journey.
func CompleteTask(ctx context.Context, c client.Client, taskID, outcome string, at time.Time) (*workflows.CompleteTaskResult, error) {
	runID, _, err := ParseTaskID(taskID)
	if err != nil {
		return nil, err
	}
	if err := CheckOutcome(outcome); err != nil {
		return nil, err
	}
	var res workflows.CompleteTaskResult
	err = updateRun(ctx, c, runID, workflows.UpdateCompleteTask, workflows.CompleteTask{Task: taskID, Outcome: outcome, At: at.UTC()}, &res)
	if err == nil {
		return &res, nil
	}
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app) && app.Type() == workflows.ErrTaskNotFound:
		return nil, kindf(ErrNotFound, "%s", app.Message())
	case errors.As(err, &app) && app.Type() == workflows.ErrTaskDone:
		return nil, kindf(ErrConflict, "%s", app.Message())
	case isNotFound(err) || isClosed(err):
		// Temporal answers an update to an ended workflow as not found.
		if _, derr := c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(runID), ""); derr == nil {
			return nil, closedTask(ctx, c, taskID, runID)
		}
		return nil, kindf(ErrNotFound, "no task %s: run %s does not exist", taskID, runID)
	case IsUnavailable(err):
		if s := stuck(ctx, c, runID, "complete task "+taskID+": run "+runID); s != nil {
			return nil, s
		}
		return nil, fmt.Errorf("complete task %s: %w", taskID, errors.Join(ErrUnavailable, err))
	}
	return nil, fmt.Errorf("complete task %s: %w", taskID, err)
}

// updateRun sends a run the update name with arg and waits for the run's
// answer, which it decodes into res; the error is Temporal's, for the
// caller to say what it means.
func updateRun(ctx context.Context, c client.Client, runID, name string, arg, res any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(runID),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, res)
}

// MaxOutcome is the longest outcome a task completion may carry, in bytes.
const MaxOutcome = 4096

// CheckOutcome says what is wrong with a task completion's outcome (too
// long, or not UTF-8), as ErrInvalid, or nil. CompleteTask checks it too;
// callers check it first so that a bad outcome is refused even while
// Temporal is unreachable.
func CheckOutcome(outcome string) error {
	if len(outcome) > MaxOutcome {
		return kindf(ErrInvalid, "outcome is %d bytes; at most %d are allowed", len(outcome), MaxOutcome)
	}
	if !utf8.ValidString(outcome) {
		return kindf(ErrInvalid, "outcome is not valid UTF-8")
	}
	return nil
}

// isClosed reports whether err says the workflow has already ended.
func isClosed(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "workflow execution already completed") ||
		strings.Contains(err.Error(), "already completed"))
}

// closedTask says why a task of an ended run cannot be completed: it was
// done or closed (ErrConflict) or never existed (ErrNotFound).
func closedTask(ctx context.Context, c client.Client, taskID, runID string) error {
	v, err := ShowRun(ctx, c, runID)
	if err != nil {
		return kindf(ErrConflict, "task %s: run %s has ended", taskID, runID)
	}
	for _, r := range v.Timeline {
		if r.Task == taskID {
			return kindf(ErrConflict, "task %s is no longer open: run %s has ended (%s)", taskID, runID, v.State.Status)
		}
	}
	return kindf(ErrNotFound, "run %s (%s) has no task %s", runID, v.State.Status, taskID)
}
