package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine"
)

// req is a slot request of jo@v.example: 2026-01-05 is a Monday, Monday
// 2026-01-19 a holiday, hours 09:00-17:00 UTC on weekdays, a 30-minute
// meeting due a week after it is asked for.
func req(key, at string) engine.BookRequest {
	t := utc(at)
	return engine.BookRequest{Key: key, Owner: "jo@v.example", Earliest: t, Due: t.Add(7 * 24 * time.Hour),
		Duration: 30 * time.Minute, Hours: "09:00-17:00", Timezone: "UTC",
		Workdays: []string{"mon", "tue", "wed", "thu", "fri"}, Holidays: []string{"2026-01-19"}}
}

// notice and due set a request's Notice and Due.
func notice(q engine.BookRequest, n string) engine.BookRequest { q.Notice = n; return q }
func due(q engine.BookRequest, at string) engine.BookRequest   { q.Due = utc(at); return q }

func TestLedgerBook(t *testing.T) {
	type booking struct {
		q    engine.BookRequest
		now  string // when the request arrives; "" is its Earliest
		want string
	}
	with := func(q engine.BookRequest, f func(*engine.BookRequest)) engine.BookRequest { f(&q); return q }
	tests := []struct {
		name  string
		books []booking
	}{
		{"four calls asked for at once land in four slots, back to back", []booking{
			{q: req("a", "2026-01-05T10:00:00Z"), want: "2026-01-05T10:00:00Z"},
			{q: req("b", "2026-01-05T10:00:00Z"), want: "2026-01-05T10:30:00Z"},
			{q: req("c", "2026-01-05T10:00:00Z"), want: "2026-01-05T11:00:00Z"},
			{q: req("d", "2026-01-05T10:00:00Z"), want: "2026-01-05T11:30:00Z"},
		}},
		{"asked for over the weekend: Monday 09:00, then 09:30", []booking{
			{q: req("a", "2026-01-10T12:00:00Z"), want: "2026-01-12T09:00:00Z"},
			{q: req("b", "2026-01-11T12:00:00Z"), want: "2026-01-12T09:30:00Z"},
		}},
		{"a meeting that does not fit the rest of the day goes to the next workday", []booking{
			{q: req("a", "2026-01-05T15:00:00Z"), want: "2026-01-05T15:00:00Z"},
			{q: with(req("b", "2026-01-05T15:00:00Z"), func(q *engine.BookRequest) { q.Duration = 2 * time.Hour }),
				want: "2026-01-06T09:00:00Z"},
		}},
		{"the holiday is skipped", []booking{
			{q: req("a", "2026-01-16T16:30:00Z"), want: "2026-01-16T16:30:00Z"},
			{q: req("b", "2026-01-16T16:30:00Z"), want: "2026-01-20T09:00:00Z"},
		}},
		{"hours in the owner's zone: 09:00 Berlin is 08:00 UTC", []booking{
			{q: with(req("a", "2026-01-05T06:00:00Z"), func(q *engine.BookRequest) { q.Timezone = "Europe/Berlin" }),
				want: "2026-01-05T08:00:00Z"},
			{q: with(req("b", "2026-01-05T06:00:00Z"), func(q *engine.BookRequest) { q.Timezone = "Europe/Berlin"; q.Duration = time.Hour }),
				want: "2026-01-05T08:30:00Z"},
		}},
		{"zones differ per request, but meetings are instants: no overlap", []booking{
			{q: with(req("a", "2026-01-05T13:00:00Z"), func(q *engine.BookRequest) { q.Timezone = "America/New_York" }),
				want: "2026-01-05T14:00:00Z"},
			{q: req("b", "2026-01-05T14:00:00Z"), want: "2026-01-05T14:30:00Z"},
		}},
		{"time left before a later meeting is used", []booking{
			{q: with(req("a", "2026-01-05T15:00:00Z"), func(q *engine.BookRequest) { q.Duration = 3 * time.Hour }), want: "2026-01-06T09:00:00Z"},
			{q: req("b", "2026-01-05T15:00:00Z"), want: "2026-01-05T15:00:00Z"},
			{q: with(req("c", "2026-01-05T15:00:00Z"), func(q *engine.BookRequest) { q.Duration = 2 * time.Hour }), want: "2026-01-06T12:00:00Z"},
		}},
		{"off the half hour: rounded up, and up again after a 45-minute meeting", []booking{
			{q: with(req("a", "2026-01-05T09:10:00Z"), func(q *engine.BookRequest) { q.Duration = 45 * time.Minute }),
				want: "2026-01-05T09:30:00Z"},
			{q: req("b", "2026-01-05T09:10:00Z"), want: "2026-01-05T10:30:00Z"},
		}},
		// Due is a wish: with the day full, the call is booked the next
		// morning, after its due time, rather than not at all.
		{"due too close: the first free slot, late", []booking{
			{q: with(req("a", "2026-01-05T16:00:00Z"), func(q *engine.BookRequest) { q.Duration = time.Hour }), want: "2026-01-05T16:00:00Z"},
			{q: with(req("b", "2026-01-05T16:00:00Z"), func(q *engine.BookRequest) { q.Due = utc("2026-01-05T17:00:00Z") }),
				want: "2026-01-06T09:00:00Z"},
		}},
		{"the same key gets the same slot, whatever else it asks", []booking{
			{q: req("a", "2026-01-05T10:00:00Z"), want: "2026-01-05T10:00:00Z"},
			{q: req("b", "2026-01-05T10:00:00Z"), want: "2026-01-05T10:30:00Z"},
			{q: req("a", "2026-01-06T12:00:00Z"), now: "2026-01-05T10:05:00Z", want: "2026-01-05T10:00:00Z"},
			{q: req("c", "2026-01-05T10:00:00Z"), want: "2026-01-05T11:00:00Z"},
		}},
		{"a request that arrives late gets no start in the past", []booking{
			{q: req("a", "2026-01-05T10:00:00Z"), now: "2026-01-05T10:40:00Z", want: "2026-01-05T11:00:00Z"},
		}},
		{"meetings that ended are forgotten", []booking{
			{q: req("a", "2026-01-05T10:00:00Z"), want: "2026-01-05T10:00:00Z"},
			{q: req("a", "2026-01-05T10:30:00Z"), want: "2026-01-05T10:30:00Z"},
		}},
		{"two seats: two meetings at once, then the next slot", []booking{
			{q: with(req("a", "2026-01-05T10:00:00Z"), func(q *engine.BookRequest) { q.Seats = 2 }), want: "2026-01-05T10:00:00Z"},
			{q: with(req("b", "2026-01-05T10:00:00Z"), func(q *engine.BookRequest) { q.Seats = 2 }), want: "2026-01-05T10:00:00Z"},
			{q: with(req("c", "2026-01-05T10:00:00Z"), func(q *engine.BookRequest) { q.Seats = 2 }), want: "2026-01-05T10:30:00Z"},
		}},
		{"a business day of notice: the next business day, twice after a weekend night", []booking{
			{q: notice(req("a", "2026-01-05T10:00:00Z"), "1 business day"), want: "2026-01-06T09:00:00Z"},
			{q: notice(req("b", "2026-01-05T08:00:00Z"), "1 business day"), want: "2026-01-06T09:30:00Z"},
			{q: notice(req("c", "2026-01-04T23:57:00Z"), "1 business day"), want: "2026-01-06T10:00:00Z"},
			{q: notice(req("d", "2026-01-05T17:30:00Z"), "1 business day"), want: "2026-01-07T09:00:00Z"},
			{q: notice(req("e", "2026-01-16T16:00:00Z"), "1 business day"), want: "2026-01-20T09:00:00Z"},
		}},
		{"two business days, and a fixed notice", []booking{
			{q: notice(req("a", "2026-01-05T10:00:00Z"), "2 business days"), want: "2026-01-07T09:00:00Z"},
			{q: notice(req("b", "2026-01-05T10:00:00Z"), "4h"), want: "2026-01-05T14:00:00Z"},
			{q: notice(req("c", "2026-01-05T10:00:00Z"), "0m"), want: "2026-01-05T10:00:00Z"},
		}},
		{"notice in the owner's zone: Tuesday 00:30 in Berlin is Monday in UTC", []booking{
			{q: with(notice(req("a", "2026-01-05T23:30:00Z"), "1 business day"), func(q *engine.BookRequest) { q.Timezone = "Europe/Berlin" }),
				want: "2026-01-07T08:00:00Z"},
		}},
		{"notice counts from the step, not from a late booking", []booking{
			{q: notice(req("a", "2026-01-05T16:50:00Z"), "1 business day"), now: "2026-01-05T17:10:00Z", want: "2026-01-06T09:00:00Z"},
		}},
		// Due sooner than the notice: the earliest free slot that meets
		// it; when none does, the slot after the notice, late.
		{"due sooner than the notice", []booking{
			{q: due(notice(req("a", "2026-01-05T10:00:00Z"), "1 business day"), "2026-01-05T12:00:00Z"), want: "2026-01-05T10:00:00Z"},
			{q: due(notice(req("b", "2026-01-05T10:00:00Z"), "1 business day"), "2026-01-05T12:00:00Z"), want: "2026-01-05T10:30:00Z"},
			{q: due(notice(req("c", "2026-01-05T10:00:00Z"), "1 business day"), "2026-01-05T10:30:00Z"), want: "2026-01-06T09:00:00Z"},
		}},
		{"no workdays: the first free start, any day", []booking{
			{q: with(req("a", "2026-01-10T10:00:00Z"), func(q *engine.BookRequest) { q.Workdays = nil }), want: "2026-01-10T10:00:00Z"},
			{q: with(req("b", "2026-01-10T10:00:00Z"), func(q *engine.BookRequest) { q.Workdays = nil }), want: "2026-01-10T10:30:00Z"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l engine.Ledger
			for i, b := range tt.books {
				now := b.q.Earliest
				if b.now != "" {
					now = utc(b.now)
				}
				got, err := l.Book(now, b.q)
				if err != nil {
					t.Fatalf("booking %d (%s): %v", i, b.q.Key, err)
				}
				if !got.Equal(utc(b.want)) || got.Location() != time.UTC {
					t.Errorf("booking %d (%s): %s, want %s", i, b.q.Key, got, b.want)
				}
			}
			checkNoOverlap(t, l)
		})
	}
}

// checkNoOverlap fails if two bookings of one seat overlap.
func checkNoOverlap(t *testing.T, l engine.Ledger) {
	t.Helper()
	for i, a := range l.Bookings {
		for _, b := range l.Bookings[i+1:] {
			if a.Start.Before(b.End) && b.Start.Before(a.End) && a.Start != b.Start {
				t.Errorf("%s [%s, %s) overlaps %s [%s, %s)", a.Key, a.Start, a.End, b.Key, b.Start, b.End)
			}
		}
	}
}

// A busy owner: 40 meetings of mixed lengths asked for over three days
// never overlap, stay inside the hours on workdays, and start no earlier
// than asked.
func TestLedgerBusyOwner(t *testing.T) {
	var l engine.Ledger
	lens := []time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 45 * time.Minute}
	for i := range 40 {
		q := req(string(rune('A'+i)), "2026-01-05T08:00:00Z")
		q.Earliest = q.Earliest.Add(time.Duration(i*97) * time.Minute)
		q.Duration = lens[i%len(lens)]
		got, err := l.Book(q.Earliest, q)
		if err != nil {
			t.Fatal(err)
		}
		end := got.Add(q.Duration)
		if got.Before(q.Earliest) || got.Hour() < 9 || end.After(time.Date(got.Year(), got.Month(), got.Day(), 17, 0, 0, 0, time.UTC)) ||
			got.Weekday() == time.Saturday || got.Weekday() == time.Sunday {
			t.Errorf("%s: %s-%s, asked at %s", q.Key, got, end, q.Earliest)
		}
	}
	if len(l.Bookings) == 0 {
		t.Fatal("nothing booked")
	}
	for i, a := range l.Bookings {
		for _, b := range l.Bookings[i+1:] {
			if a.Start.Before(b.End) && b.Start.Before(a.End) {
				t.Errorf("%s [%s, %s) overlaps %s [%s, %s)", a.Key, a.Start, a.End, b.Key, b.Start, b.End)
			}
		}
	}
}

func TestBookRequestCheck(t *testing.T) {
	bad := req("k", "2026-01-05T10:00:00Z")
	bad.Timezone, bad.Hours, bad.Workdays, bad.Duration, bad.Notice = "Mars/Olympus", "17:00-09:00", []string{"mon", "funday"}, 0, "1 day"
	err := bad.Check()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"slot request k", `unknown time zone "Mars/Olympus"`, `"17:00-09:00"`, `unknown weekday "funday"`, "duration 0s is not positive", `notice: `} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	var l engine.Ledger
	if _, err := l.Book(bad.Earliest, bad); err == nil || len(l.Bookings) != 0 {
		t.Errorf("bad request booked: %v, %v", err, l.Bookings)
	}
	if err := req("k", "2026-01-05T10:00:00Z").Check(); err != nil {
		t.Errorf("good request: %v", err)
	}
}

// Staff settings replace the customer's zone and the schema's hours and
// workdays for the people they name, whatever the letter case.
func TestStaffApply(t *testing.T) {
	staff := engine.Staff{"jo@v.example": {Timezone: "Europe/Berlin", Hours: "08:00-12:00", Workdays: []string{"tue"}, Seats: 2, Notice: "0m"}}
	q := notice(req("k", "2026-01-05T10:00:00Z"), engine.DefaultNotice)
	q.Owner = " Jo@V.example"
	staff.Apply(&q)
	if q.Timezone != "Europe/Berlin" || q.Hours != "08:00-12:00" || strings.Join(q.Workdays, ",") != "tue" || q.Seats != 2 || q.Notice != "0m" {
		t.Errorf("applied: %+v", q)
	}
	var l engine.Ledger
	got, _ := l.Book(q.Earliest, q)
	if want := utc("2026-01-06T07:00:00Z"); !got.Equal(want) {
		t.Errorf("booked %s, want %s (Tuesday 08:00 Berlin)", got, want)
	}
	other := notice(req("k", "2026-01-05T10:00:00Z"), engine.DefaultNotice)
	other.Owner = "ana@v.example"
	before := other
	staff.Apply(&other)
	if other.Timezone != before.Timezone || other.Hours != before.Hours || other.Notice != engine.DefaultNotice {
		t.Errorf("someone else's request changed: %+v", other)
	}
}
