package calendar

import (
	"math/rand"
	"testing"
	"time"
)

func TestContactSlot(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := withHolidays(t, "2026-12-25")
	w := Window{9 * 60, 17 * 60}
	u := func(mo time.Month, d, h, m int) time.Time { return at(time.UTC, 2026, mo, d, h, m) }
	tests := []struct {
		name      string
		sent      []time.Time
		t         time.Time
		max       int
		w         Window
		hasWindow bool
		loc       *time.Location
		want      time.Time
	}{
		{"no history", nil, u(3, 3, 10, 0), 3, w, true, nil, u(3, 3, 10, 0)},
		{"unlimited", []time.Time{u(3, 2, 10, 0), u(3, 2, 11, 0), u(3, 2, 12, 0)}, u(3, 2, 13, 0), 0, w, true, nil, u(3, 2, 13, 0)},
		{"third of three", []time.Time{u(3, 2, 10, 0), u(3, 3, 10, 0)}, u(3, 4, 10, 0), 3, w, true, nil, u(3, 4, 10, 0)},
		// Monday, Tuesday, Wednesday sent: the fourth waits until exactly 7 days after the first.
		{"fourth delayed", []time.Time{u(3, 2, 10, 0), u(3, 3, 10, 0), u(3, 4, 10, 0)}, u(3, 5, 10, 0), 3, w, true, nil, u(3, 9, 10, 0)},
		{"fourth delayed without window", []time.Time{u(3, 2, 10, 0), u(3, 3, 10, 0), u(3, 4, 10, 0)}, u(3, 5, 10, 0), 3, w, false, nil, u(3, 9, 10, 0)},
		{"order of sent does not matter", []time.Time{u(3, 4, 10, 0), u(3, 2, 10, 0), u(3, 3, 10, 0)}, u(3, 5, 10, 0), 3, w, true, nil, u(3, 9, 10, 0)},
		{"first message expired", []time.Time{u(3, 2, 10, 0), u(3, 3, 10, 0), u(3, 4, 10, 0)}, u(3, 9, 10, 0), 3, w, true, nil, u(3, 9, 10, 0)},
		// The week of the first message ends on a Saturday: wait for Monday 09:00.
		{"freed on a weekend", []time.Time{u(3, 7, 10, 0), u(3, 9, 10, 0), u(3, 10, 10, 0)}, u(3, 10, 11, 0), 3, w, true, nil, u(3, 16, 9, 0)},
		// Without hours the same message goes out on Saturday.
		{"freed on a weekend, any time", []time.Time{u(3, 7, 10, 0), u(3, 9, 10, 0), u(3, 10, 10, 0)}, u(3, 10, 11, 0), 3, w, false, nil, u(3, 14, 10, 0)},
		// Monday 16:30 EST + 7 days is 17:30 EDT after spring forward:
		// outside the hours, so Tuesday 09:00 EDT.
		{"freed after hours across dst", []time.Time{at(ny, 2026, 3, 2, 16, 30)}, at(ny, 2026, 3, 4, 10, 0), 1, w, true, ny, at(ny, 2026, 3, 10, 9, 0)},
		// Outside the window first, then blocked by a reservation at the window start.
		{"window then reservation", []time.Time{u(3, 3, 9, 0)}, u(3, 2, 18, 0), 1, w, true, nil, u(3, 10, 9, 0)},
		// A future reservation leaves room before it.
		{"room before a reservation", []time.Time{u(3, 20, 10, 0)}, u(3, 2, 10, 0), 1, w, true, nil, u(3, 2, 10, 0)},
		// Three reservations within the week after t fill every window
		// containing a time before the first of them has left the window.
		{"future reservations block", []time.Time{u(3, 3, 10, 0), u(3, 4, 10, 0), u(3, 5, 10, 0)}, u(3, 2, 10, 0), 3, w, false, nil, u(3, 10, 10, 0)},
		// One past and one future message, 12 days apart: no 7-day window holds both.
		{"between past and future", []time.Time{u(3, 2, 10, 0), u(3, 14, 10, 0)}, u(3, 8, 10, 0), 2, w, false, nil, u(3, 8, 10, 0)},
		// Max 2, messages on the 2nd and the 8th: the week from the 2nd is
		// full until the 9th, and from then on no week holds the 8th, the
		// new message and a third one. (A rule that counted every message
		// less than 7 days away would wait until the 15th.)
		{"exact rolling window", []time.Time{u(3, 2, 10, 0), u(3, 8, 10, 0)}, u(3, 5, 10, 0), 2, w, false, nil, u(3, 9, 10, 0)},
		// Max 1 with messages every 3 days ahead: the first free week is after the last one.
		{"chain of reservations", []time.Time{u(3, 2, 10, 0), u(3, 9, 10, 0), u(3, 16, 10, 0), u(3, 23, 10, 0)}, u(3, 2, 12, 0), 1, w, false, nil, u(3, 30, 10, 0)},
		// Freed on Christmas Day, a holiday: the next workday at 09:00.
		{"holiday", []time.Time{u(12, 18, 10, 0)}, u(12, 18, 11, 0), 1, w, true, nil, u(12, 28, 9, 0)},
		{"outside hours only", nil, u(3, 6, 18, 0), 3, w, true, nil, u(3, 9, 9, 0)},
		{"window ignored without hasWindow", nil, u(3, 7, 3, 0), 3, w, false, nil, u(3, 7, 3, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := append([]time.Time(nil), tt.sent...)
			got := c.ContactSlot(tt.sent, tt.t, tt.max, tt.w, tt.hasWindow, tt.loc)
			if !got.Equal(tt.want) {
				t.Errorf("ContactSlot = %v, want %v", got.In(time.UTC), tt.want.In(time.UTC))
			}
			for i := range sent {
				if !sent[i].Equal(tt.sent[i]) {
					t.Fatalf("ContactSlot modified sent: %v", tt.sent)
				}
			}
			checkPolicy(t, c, tt.sent, got, tt.t, tt.max, tt.w, tt.hasWindow, tt.loc)
		})
	}
}

// checkPolicy verifies a slot independently: not before t, inside the window,
// and no 7-day window [x, x+7d) containing it holds more than max messages.
func checkPolicy(t *testing.T, c *Calendar, sent []time.Time, got, from time.Time, max int, w Window, hasWindow bool, loc *time.Location) {
	t.Helper()
	if got.Before(from) {
		t.Errorf("slot %v is before %v", got, from)
	}
	if hasWindow {
		if c.NextInWindow(got, w, loc) != got {
			t.Errorf("slot %v is outside %v", got, w)
		}
	}
	if max <= 0 {
		return
	}
	all := append(append([]time.Time(nil), sent...), got)
	for _, x := range all {
		for _, start := range []time.Time{x, x.Add(-Week).Add(time.Nanosecond)} {
			if got.Before(start) || !got.Before(start.Add(Week)) {
				continue
			}
			n := 0
			for _, s := range all {
				if !s.Before(start) && s.Before(start.Add(Week)) {
					n++
				}
			}
			if n > max {
				t.Errorf("slot %v: %d messages in the week from %v, max %d", got, n, start, max)
			}
		}
	}
}

// TestContactSlotSequence reserves messages one after another, the way the
// engine does, and checks the limit holds for the whole schedule.
func TestContactSlotSequence(t *testing.T) {
	c := Default()
	w := Window{9 * 60, 17 * 60}
	var sent []time.Time
	from := at(time.UTC, 2026, 3, 2, 8, 0) // Monday
	for i := 0; i < 12; i++ {
		slot := c.ContactSlot(sent, from, 3, w, true, nil)
		checkPolicy(t, c, sent, slot, from, 3, w, true, nil)
		sent = append(sent, slot)
	}
	want := []time.Time{
		at(time.UTC, 2026, 3, 2, 9, 0), at(time.UTC, 2026, 3, 2, 9, 0), at(time.UTC, 2026, 3, 2, 9, 0),
		at(time.UTC, 2026, 3, 9, 9, 0), at(time.UTC, 2026, 3, 9, 9, 0), at(time.UTC, 2026, 3, 9, 9, 0),
		at(time.UTC, 2026, 3, 16, 9, 0), at(time.UTC, 2026, 3, 16, 9, 0), at(time.UTC, 2026, 3, 16, 9, 0),
		at(time.UTC, 2026, 3, 23, 9, 0), at(time.UTC, 2026, 3, 23, 9, 0), at(time.UTC, 2026, 3, 23, 9, 0),
	}
	for i := range want {
		if !sent[i].Equal(want[i]) {
			t.Errorf("message %d at %v, want %v", i, sent[i], want[i])
		}
	}
}

func TestProposeSlot(t *testing.T) {
	ktm := mustLoc(t, "Asia/Kathmandu") // UTC+05:45
	c := withHolidays(t, "2026-12-25")
	w := Window{9 * 60, 17 * 60}
	u := func(mo time.Month, d, h, m int) time.Time { return at(time.UTC, 2026, mo, d, h, m) }
	far := u(12, 31, 0, 0)
	tests := []struct {
		name       string
		after, due time.Time
		dur        time.Duration
		w          Window
		loc        *time.Location
		want       time.Time
	}{
		{"rounded up", u(3, 2, 10, 10), far, 30 * time.Minute, w, nil, u(3, 2, 10, 30)},
		{"on the half hour", u(3, 2, 10, 30), far, 30 * time.Minute, w, nil, u(3, 2, 10, 30)},
		{"a nanosecond past", u(3, 2, 10, 30).Add(time.Nanosecond), far, 30 * time.Minute, w, nil, u(3, 2, 11, 0)},
		{"before hours", u(3, 2, 6, 5), far, 30 * time.Minute, w, nil, u(3, 2, 9, 0)},
		{"ends exactly at close", u(3, 2, 16, 0), far, time.Hour, w, nil, u(3, 2, 16, 0)},
		{"would end after close", u(3, 2, 16, 10), far, time.Hour, w, nil, u(3, 3, 9, 0)},
		{"rounds to close", u(3, 2, 16, 40), far, 30 * time.Minute, w, nil, u(3, 3, 9, 0)},
		{"friday afternoon", u(3, 6, 16, 45), far, 30 * time.Minute, w, nil, u(3, 9, 9, 0)},
		{"weekend", u(3, 7, 10, 0), far, 30 * time.Minute, w, nil, u(3, 9, 9, 0)},
		{"holiday", u(12, 24, 16, 50), far, 30 * time.Minute, w, nil, u(12, 28, 9, 0)},
		{"fits before due", u(3, 2, 10, 10), u(3, 2, 11, 0), 30 * time.Minute, w, nil, u(3, 2, 10, 30)},
		// No slot ends by due: the earliest in-window slot anyway.
		{"past due", u(3, 6, 16, 45), u(3, 6, 17, 0), 30 * time.Minute, w, nil, u(3, 9, 9, 0)},
		{"longer than the window", u(3, 2, 10, 10), far, 9 * time.Hour, w, nil, u(3, 2, 10, 30)},
		{"window not on the half hour", u(3, 2, 7, 0), far, 30 * time.Minute, Window{9*60 + 15, 17 * 60}, nil, u(3, 2, 9, 15)},
		// 04:00 UTC is 09:45 in Kathmandu: the next local half hour is 10:00 (04:15 UTC).
		{"local half hours", u(3, 2, 4, 0), far, 30 * time.Minute, w, ktm, u(3, 2, 4, 15)},
	}
	for _, tt := range tests {
		got := c.ProposeSlot(tt.after, tt.due, tt.dur, tt.w, tt.loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s: ProposeSlot(%v) = %v, want %v", tt.name, tt.after, got.UTC(), tt.want.UTC())
		}
	}
}

// TestContactSlotMatchesBruteForce compares ContactSlot with an hour-by-hour
// search over random schedules whose times are all on the hour, so the
// answer is on the hour too.
func TestContactSlotMatchesBruteForce(t *testing.T) {
	c := Default()
	w := Window{9 * 60, 17 * 60}
	base := at(time.UTC, 2026, 3, 2, 0, 0)
	rng := rand.New(rand.NewSource(7))
	ok := func(cand time.Time, sent []time.Time, max int, hasWindow bool) bool {
		if hasWindow && (!c.IsWorkday(cand, nil) || cand.Hour() < 9 || cand.Hour() >= 17) {
			return false
		}
		for x := cand.Add(-Week + time.Hour); !x.After(cand); x = x.Add(time.Hour) {
			n := 1
			for _, s := range sent {
				if !s.Before(x) && s.Before(x.Add(Week)) {
					n++
				}
			}
			if n > max {
				return false
			}
		}
		return true
	}
	delayed := 0
	for i := 0; i < 150; i++ {
		max := 1 + rng.Intn(3)
		hasWindow := rng.Intn(2) == 0
		sent := make([]time.Time, rng.Intn(7))
		for j := range sent {
			sent[j] = base.Add(time.Duration(rng.Intn(21*24)) * time.Hour)
		}
		from := base.Add(time.Duration(rng.Intn(14*24)) * time.Hour)
		got := c.ContactSlot(sent, from, max, w, hasWindow, nil)
		want := from
		for !ok(want, sent, max, hasWindow) {
			want = want.Add(time.Hour)
		}
		if !got.Equal(want) {
			t.Fatalf("sent %v, from %v, max %d, window %v: got %v, want %v", sent, from, max, hasWindow, got, want)
		}
		if !got.Equal(from) {
			delayed++
		}
	}
	if delayed < 50 {
		t.Errorf("only %d of 150 random cases were delayed; the test does not exercise the policy", delayed)
	}
}

// HoldReason names what set the slot ContactSlot chose: the hours, a
// weekend or holiday in the customer's zone, or the weekly cap.
func TestHoldReason(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := withHolidays(t, "2026-12-25")
	w := Window{9 * 60, 17 * 60}
	u := func(mo time.Month, d, h, m int) time.Time { return at(time.UTC, 2026, mo, d, h, m) }
	week := []time.Time{u(3, 2, 10, 0), u(3, 3, 10, 0), u(3, 4, 10, 0)}
	tests := []struct {
		name      string
		sent      []time.Time
		t         time.Time
		max       int
		hasWindow bool
		loc       *time.Location
		want      string
	}{
		{"sent at once", nil, u(3, 2, 10, 0), 3, true, nil, ""},
		{"before hours", nil, u(3, 2, 8, 0), 3, true, nil, "outside 09:00-17:00"},
		{"friday evening", nil, u(3, 6, 18, 0), 3, true, nil, "outside 09:00-17:00"},
		{"saturday", nil, u(3, 7, 10, 0), 3, true, nil, "Saturday is not a workday"},
		// Sunday 02:00 UTC is Saturday evening in New York.
		{"saturday in the customer's zone", nil, u(3, 8, 2, 0), 0, true, ny, "Saturday is not a workday"},
		{"holiday", nil, u(12, 25, 10, 0), 3, true, nil, "25 Dec is a holiday"},
		{"weekly cap", week, u(3, 5, 10, 0), 3, true, nil, "weekly cap of 3 messages"},
		{"weekly cap without hours", week, u(3, 5, 10, 0), 3, false, nil, "weekly cap of 3 messages"},
		{"cap of one after hours", []time.Time{u(3, 3, 9, 0)}, u(3, 2, 18, 0), 1, true, nil, "weekly cap of 1 message"},
		// The cap has room: the hours alone set the time.
		{"hours with room under the cap", week[:1], u(3, 6, 18, 0), 3, true, nil, "outside 09:00-17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot := c.ContactSlot(tt.sent, tt.t, tt.max, w, tt.hasWindow, tt.loc)
			if got := c.HoldReason(tt.t, slot, tt.max, w, tt.hasWindow, tt.loc); got != tt.want {
				t.Errorf("HoldReason(%v → %v) = %q, want %q", tt.t, slot, got, tt.want)
			}
		})
	}
}
