package workflows

import (
	"fmt"
	"time"

	"github.com/tend-cs/tend/engine"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ownerIdle is how long an owner's calendar stays open once nothing is
// booked ahead: the next booking after that starts it again, empty.
const ownerIdle = 24 * time.Hour

// OwnerCalendar keeps one owner's calendar: the meetings proposed to them,
// across every customer and playbook, in an engine.Ledger. Runs book
// slots in it with UpdateBookSlot, through the BookSlot activity, which
// starts the workflow if need be (update-with-start). The ledger answers
// from the request alone (the staff settings and the calendar are in it),
// so the answer is recorded in this history and replays without config
// or playbooks.
//
// Why an activity and an update: a workflow can neither send an update
// nor start a workflow it does not parent, and a child would belong to
// one customer. The update's result is the answer, with no reply signal
// to route back, and its id (the action key) makes a retried request
// harmless; the ledger is idempotent by key as well.
//
// The workflow continues as new when its history is long, carrying the
// meetings that have not ended, and ends once nothing has been booked
// ahead for ownerIdle.
func (w *Workflows) OwnerCalendar(ctx workflow.Context, in OwnerInput) error {
	l := in.Ledger
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (OwnerView, error) {
		return OwnerView{Bookings: l.Bookings}, nil
	}); err != nil {
		return err
	}
	booked := 0
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateBookSlot,
		func(ctx workflow.Context, q engine.BookRequest) (time.Time, error) {
			start, err := l.Book(workflow.Now(ctx), q)
			if err != nil {
				return time.Time{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadSlotRequest, nil)
			}
			booked++
			return start, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(q engine.BookRequest) error {
			if err := q.Check(); err != nil {
				return temporal.NewApplicationError(err.Error(), ErrBadSlotRequest)
			}
			return nil
		}}); err != nil {
		return err
	}
	for {
		now := workflow.Now(ctx)
		l.Prune(now)
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("%d meeting(s) booked ahead", len(l.Bookings)))
		if w.tooLong(ctx) && workflow.AllHandlersFinished(ctx) {
			return workflow.NewContinueAsNewError(ctx, OwnerWorkflow, OwnerInput{Ledger: l})
		}
		last := l.Last()
		until := last
		if until.Before(now) {
			until = now
		}
		seen := booked
		ok, err := workflow.AwaitWithTimeout(ctx, until.Add(ownerIdle).Sub(now), func() bool {
			return !l.Last().Equal(last) || w.tooLong(ctx)
		})
		if err != nil {
			return err
		}
		if !ok && booked == seen && workflow.AllHandlersFinished(ctx) {
			l.Prune(workflow.Now(ctx))
			if len(l.Bookings) == 0 {
				return nil
			}
		}
	}
}
