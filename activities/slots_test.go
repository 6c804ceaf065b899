package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
)

// BookSlot puts the owner's staff settings into the request it hands on;
// a request that the settings make invalid, or a worker with no calendar
// to book in, fails for good; a booker's transient error is retried.
func TestBookSlot(t *testing.T) {
	q := engine.BookRequest{Key: "p/acme/1/kickoff/1", Owner: "Jo@V.example", Earliest: fixedNow(), Due: fixedNow().Add(72 * time.Hour),
		Duration: time.Hour, Hours: "09:00-17:00", Timezone: "UTC", Workdays: []string{"mon", "tue"}}
	staff := engine.Staff{"jo@v.example": {Timezone: "Asia/Tokyo", Hours: "10:00-12:00"}}
	var sent engine.BookRequest
	slot := time.Date(2026, 1, 6, 1, 0, 0, 0, time.FixedZone("JST", 9*3600))
	a := newActivities(t, Options{Staff: staff, Book: func(_ context.Context, r engine.BookRequest) (time.Time, error) {
		sent = r
		return slot, nil
	}})
	got, err := a.BookSlot(context.Background(), q)
	if err != nil || !got.Equal(slot) || got.Location() != time.UTC {
		t.Fatalf("BookSlot = %s, %v; want %s in UTC", got, err, slot)
	}
	if sent.Timezone != "Asia/Tokyo" || sent.Hours != "10:00-12:00" || sent.Key != q.Key || len(sent.Workdays) != 2 {
		t.Errorf("request sent: %+v", sent)
	}

	bad := newActivities(t, Options{Staff: engine.Staff{"jo@v.example": {Hours: "12:00-10:00"}},
		Book: func(context.Context, engine.BookRequest) (time.Time, error) {
			t.Error("booked an invalid request")
			return time.Time{}, nil
		}})
	_, err = bad.BookSlot(context.Background(), q)
	if retry, typ := classify(err); retry || typ != ErrTypeInvalidAction {
		t.Errorf("invalid hours: %v (retry %v, type %s)", err, retry, typ)
	}
	_, err = newActivities(t, Options{}).BookSlot(context.Background(), q)
	if retry, typ := classify(err); retry || typ != ErrTypeNoCalendar {
		t.Errorf("no booker: %v (retry %v, type %s)", err, retry, typ)
	}
	flaky := newActivities(t, Options{Book: func(context.Context, engine.BookRequest) (time.Time, error) {
		return time.Time{}, errors.New("connection refused")
	}})
	_, err = flaky.BookSlot(context.Background(), q)
	if retry, _ := classify(err); !retry {
		t.Errorf("transient error not retried: %v", err)
	}
}
