package activities

import (
	"context"
	"time"

	"github.com/tend-cs/tend/engine"
)

// Booker books a slot in an owner's calendar and returns its start. An
// error the booker marks non-retryable (a temporal.ApplicationError) fails
// the booking for good; any other is retried.
type Booker func(ctx context.Context, q engine.BookRequest) (time.Time, error)

// ErrTypeNoCalendar: the worker has no Booker, so no slot can be booked.
const ErrTypeNoCalendar = "NoCalendar"

// BookSlot books a call's or training's slot in its owner's calendar: it
// puts the owner's staff settings (tend.yaml's staff:) into the request,
// so that they travel as data to the calendar and into its history, and
// hands the request to the Booker.
func (a *Activities) BookSlot(ctx context.Context, q engine.BookRequest) (time.Time, error) {
	a.staff.Apply(&q)
	if err := q.Check(); err != nil {
		return time.Time{}, permanent(ErrTypeInvalidAction, "%v", err)
	}
	if a.book == nil {
		return time.Time{}, permanent(ErrTypeNoCalendar, "the worker books no slots: it was started without owner calendars (activities.Options.Book)")
	}
	start, err := a.book(ctx, q)
	if err != nil {
		a.log.Warn().Err(err).Str("key", q.Key).Msg("slot not booked")
		return time.Time{}, err
	}
	a.log.Debug().Str("key", q.Key).Time("start", start).Msg("slot booked")
	return start.UTC(), nil
}
