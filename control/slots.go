package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/workflows"
)

// BookSlot returns the function the BookSlot activity books with: an
// update-with-start of the owner's OwnerCalendar workflow (started if it
// is not running), with the action key as the update id, waiting for the
// slot. A request the calendar rejects fails for good; anything else is
// left to the activity's retries.
func BookSlot(c client.Client) func(ctx context.Context, q engine.BookRequest) (time.Time, error) {
	return func(ctx context.Context, q engine.BookRequest) (time.Time, error) {
		start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID:                       workflows.OwnerID(q.Owner),
			TaskQueue:                workflows.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.OwnerWorkflow, workflows.OwnerInput{})
		h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: start,
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateID:     q.Key,
				UpdateName:   workflows.UpdateBookSlot,
				Args:         []any{q},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		var at time.Time
		if err == nil {
			err = h.Get(ctx, &at)
		}
		if err != nil {
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.Type() == workflows.ErrBadSlotRequest {
				return time.Time{}, temporal.NewNonRetryableApplicationError(app.Message(), workflows.ErrBadSlotRequest, nil)
			}
			return time.Time{}, fmt.Errorf("book %s in the owner's calendar: %w", q.Key, err)
		}
		return at, nil
	}
}
