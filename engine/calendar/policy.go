package calendar

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// ContactSlot implements the contact policy: the earliest time at or after t
// at which a customer-facing message may go out, given the send times
// already reserved for this customer (sent, sorted ascending, may include
// future reservations), at most maxPerWeek messages in any rolling 7-day
// window (maxPerWeek <= 0 means unlimited), and only inside w on workdays in
// loc (hasWindow=false means any time; loc nil means the calendar's
// Location).
//
// The rolling limit is exact: a message at t' is allowed when every 7-day
// window [x, x+7d) that contains t' holds fewer than maxPerWeek reserved
// messages, so that with the new one it holds at most maxPerWeek. With a
// limit of 3 and messages at days 0, 1 and 2, a fourth is delayed to exactly
// 7 days after the first. Messages are delayed, never dropped: the result is
// never before t. sent is not modified; it is sorted defensively, so its
// order does not change the answer.
func (c *Calendar) ContactSlot(sent []time.Time, t time.Time, maxPerWeek int, w Window, hasWindow bool, loc *time.Location) time.Time {
	var pts []time.Time
	if maxPerWeek > 0 {
		pts = slices.Clone(sent)
		slices.SortFunc(pts, time.Time.Compare)
	}
	cur := t
	// Each rate-limit jump leaves at least one reservation behind for good
	// (see blockedUntil), so the loop settles within about 2*len(sent)
	// rounds; the bound only guards against mistakes.
	for range 2*len(pts) + 16 {
		next := cur
		if maxPerWeek > 0 {
			if u, blocked := blockedUntil(pts, next, maxPerWeek); blocked {
				next = u
			}
		}
		if hasWindow {
			next = c.NextInWindow(next, w, loc)
		}
		if next.Equal(cur) {
			return cur
		}
		cur = next
	}
	return cur
}

// blockedUntil reports whether a new message at t would exceed limit messages
// in some 7-day window, and if so the earliest time before which no message
// can go out. pts is sorted ascending.
//
// The windows [x, x+7d) containing t have x in (t-7d, t]. The number of
// reservations in such a window only drops when x passes a reservation, so
// its maximum is reached at x = t or at x = some reservation s in
// (t-7d, t]. A full window starting at x blocks every time in [x, x+7d), so
// the latest full window's x+7d is a safe place to try next. Jumping there
// either moves a reservation s out of reach (x = s) or moves t past at least
// one future reservation (x = t), which bounds the number of jumps.
func blockedUntil(pts []time.Time, t time.Time, limit int) (time.Time, bool) {
	lower := func(v time.Time) int { // first index with pts[i] >= v
		return sort.Search(len(pts), func(i int) bool { return !pts[i].Before(v) })
	}
	upper := func(v time.Time) int { // first index with pts[i] > v
		return sort.Search(len(pts), func(i int) bool { return pts[i].After(v) })
	}
	full := func(x time.Time) bool { return lower(x.Add(Week))-lower(x) >= limit }
	if full(t) {
		return t.Add(Week), true
	}
	lo := upper(t.Add(-Week))
	for i := upper(t) - 1; i >= lo; i-- {
		if full(pts[i]) {
			return pts[i].Add(Week), true
		}
	}
	return t, false
}

// ProposeSlot proposes a start for a call or training of length dur: the
// first start at or after `after`, rounded up to the next whole local half
// hour, on a workday and inside w in loc (nil: the calendar's Location),
// such that the meeting ends by w.End on the same day. The meeting should
// also end at or before due; because the earliest valid slot is chosen, a
// slot that ends after due means none ends before it, and that earliest slot
// is returned anyway (callers compare the result plus dur with due to tell).
// If dur is longer than the window, no slot fits and the first in-window
// start is returned. A window start that is not on a half hour (such as
// 09:15) is itself a valid start.
func (c *Calendar) ProposeSlot(after, due time.Time, dur time.Duration, w Window, loc *time.Location) time.Time {
	loc = c.resolve(loc)
	start := roundUpHalfHour(after, loc)
	first := c.NextInWindow(start, w, loc)
	if !w.valid() || !c.hasWorkdays() || dur > time.Duration(w.End-w.Start)*time.Minute {
		return first
	}
	cand := first
	for range 7*(len(c.Holidays)+2) + 2 {
		s := c.NextInWindow(cand, w, loc)
		d := dateOf(s.In(loc))
		if !s.Add(dur).After(clockOn(d, w.End, loc)) {
			return s
		}
		// Does not fit today: try the next day's window.
		cand = clockOn(d.addDays(1), 0, loc)
	}
	return first
}

// roundUpHalfHour rounds t up to the next whole half hour of local time in
// loc; a t already on a half hour is returned unchanged.
func roundUpHalfHour(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	rem := time.Duration(lt.Minute()%30)*time.Minute +
		time.Duration(lt.Second())*time.Second +
		time.Duration(lt.Nanosecond())
	if rem == 0 {
		return t
	}
	return t.Add(30*time.Minute - rem)
}

// HoldReason says in a few words why ContactSlot moved a message from t to
// at, with the same policy arguments: "outside 09:00-17:00", "Saturday is
// not a workday", "25 Dec is a holiday" (in loc), or "weekly cap of 3
// messages" when the rolling limit, not the window, set the time. It
// returns "" when at is not after t.
func (c *Calendar) HoldReason(t, at time.Time, maxPerWeek int, w Window, hasWindow bool, loc *time.Location) string {
	if !at.After(t) {
		return ""
	}
	windowed := t
	if hasWindow {
		windowed = c.NextInWindow(t, w, loc)
	}
	if maxPerWeek > 0 && at.After(windowed) {
		if maxPerWeek == 1 {
			return "weekly cap of 1 message"
		}
		return fmt.Sprintf("weekly cap of %d messages", maxPerWeek)
	}
	if !hasWindow {
		return ""
	}
	d := dateOf(t.In(c.resolve(loc)))
	switch {
	case c.isHoliday(d):
		return t.In(c.resolve(loc)).Format("2 Jan") + " is a holiday"
	case !c.Workdays[d.weekday()]:
		return d.weekday().String() + " is not a workday"
	}
	return "outside " + w.String()
}
