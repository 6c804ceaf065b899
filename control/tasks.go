package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// queryConcurrency is how many runs ListTasks queries at once.
const queryConcurrency = 8

// TaskFilter selects open tasks. Empty fields match every task.
type TaskFilter struct {
	Owner   string    // the task's owner, compared without regard to case
	Overdue bool      // only tasks past their due time
	Now     time.Time // the time Overdue is judged at; time.Now() when zero
}

// TaskItem is an open task with the run it belongs to.
type TaskItem struct {
	engine.Task
	Run      string `json:"run"`
	Customer string `json:"customer"`
	Playbook string `json:"playbook"`
}

// ListTasks asks every running run for its open tasks and returns those that
// match f, soonest due first.
func ListTasks(ctx context.Context, c client.Client, f TaskFilter) ([]TaskItem, error) {
	infos, err := listWorkflows(ctx, c, openRunsQuery(), 0)
	if err != nil {
		return nil, err
	}
	views, errs := queryAll(infos, func(info *workflowpb.WorkflowExecutionInfo) (*workflows.RunView, error) {
		return ShowRun(ctx, c, workflows.IDOf(info.GetExecution().GetWorkflowId()))
	})
	var items []TaskItem
	var unread UnreadError
	for i, v := range views {
		if err := errs[i]; err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue // the run ended between the listing and the query
			}
			unread.Errs = append(unread.Errs, err)
			continue
		}
		for _, t := range v.State.Tasks {
			items = append(items, TaskItem{Task: t, Run: v.State.ID, Customer: v.State.Customer, Playbook: v.State.Playbook})
		}
	}
	items = filterTasks(items, f)
	if len(unread.Errs) > 0 {
		if len(unread.Errs) == len(views) {
			return nil, unread.Errs[0]
		}
		return items, &unread
	}
	return items, nil
}

// UnreadError is ListTasks' error when some runs did not answer: the
// tasks of the others are listed, and the error names each run that was
// left out, so that one unreadable run hides nobody else's tasks.
type UnreadError struct {
	Errs []error // one per run left out, naming it
}

func (e *UnreadError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	if len(e.Errs) == 1 {
		return "1 run did not answer, so its tasks are not listed: " + msgs[0]
	}
	// One run a line: the reasons are long, and often the same.
	return fmt.Sprintf("%d runs did not answer, so their tasks are not listed:\n  %s", len(e.Errs), strings.Join(msgs, "\n  "))
}

// queryAll calls query for every item, queryConcurrency at a time, and
// returns the answers and errors in the items' order.
func queryAll[I, V any](items []I, query func(I) (V, error)) ([]V, []error) {
	out := make([]V, len(items))
	errs := make([]error, len(items))
	sem := make(chan struct{}, queryConcurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = query(it)
		})
	}
	wg.Wait()
	return out, errs
}

// filterTasks keeps the items that match f, sorted by due time (tasks
// without one last), then id.
func filterTasks(items []TaskItem, f TaskFilter) []TaskItem {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	out := make([]TaskItem, 0, len(items))
	for _, it := range items {
		if f.Owner != "" && !strings.EqualFold(it.Owner, f.Owner) {
			continue
		}
		if f.Overdue && !it.Overdue && (it.Due.IsZero() || !it.Due.Before(now)) {
			continue
		}
		out = append(out, it)
	}
	slices.SortStableFunc(out, func(a, b TaskItem) int {
		switch {
		case a.Due.IsZero() != b.Due.IsZero():
			if a.Due.IsZero() {
				return 1
			}
			return -1
		case !a.Due.Equal(b.Due):
			return a.Due.Compare(b.Due)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// ParseTaskID checks a task id (<playbook>/<customer>/<n>/<step>/<occurrence>)
// and returns the run it belongs to and its customer.
func ParseTaskID(taskID string) (runID, customer string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("task id %q: %s; want <playbook>/<customer>/<n>/<step>/<occurrence>, as tend tasks list shows", taskID, why)
	}
	runID, customer, ok := workflows.ParseTaskID(taskID)
	if !ok {
		return bad("too few parts")
	}
	parts := strings.Split(taskID, "/")
	n, step, occ := parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
	switch {
	case !isCount(n):
		return bad(fmt.Sprintf("run number %q is not a count", n))
	case step == "":
		return bad("empty step")
	case !isCount(occ):
		return bad(fmt.Sprintf("occurrence %q is not a count", occ))
	}
	return runID, customer, nil
}
