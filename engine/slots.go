package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine/calendar"
)

// Owner calendars: a call or training is proposed in a slot of its owner's
// calendar, so that the meetings proposed to one person never overlap,
// across customers and playbooks. A run asks for a slot with CmdBook and
// a BookRequest; its driver books it in the owner's Ledger and answers with
// Run.OnBooked (Peer.Booked). tend simulate keeps a Ledger per owner; the
// Temporal workers keep each owner's Ledger in a workflow of its own.

// BookSlotActivity is the activity type that books a slot in an owner's
// calendar, for drivers that book through activities.
const BookSlotActivity = "BookSlot"

// BookRequest asks an owner's calendar for a slot. It is plain data, with
// the calendar spelled out, so that whoever keeps the Ledger needs nothing
// else (no playbooks, no config) to answer it the same way every time.
type BookRequest struct {
	// Key is the meeting's action key: the same key gets the same slot.
	Key string `json:"key"`
	// Owner is the address of the person who holds the meeting.
	Owner string `json:"owner"`
	// Earliest is when the run asked: no slot starts before it.
	Earliest time.Time `json:"earliest"`
	// Due is when the meeting's task is due; the slot should end by then.
	Due      time.Time     `json:"due"`
	Duration time.Duration `json:"duration"`
	// Hours are the owner's working hours, HH:MM-HH:MM, on Workdays that
	// are not Holidays, in Timezone (an IANA name).
	Hours    string   `json:"hours"`
	Timezone string   `json:"timezone"`
	Workdays []string `json:"workdays"`           // mon ... sun
	Holidays []string `json:"holidays,omitempty"` // YYYY-MM-DD
	// Seats is how many meetings the owner can hold at once (a team
	// address); 0 means 1.
	Seats int `json:"seats,omitempty"`
	// Notice is the least notice the owner and the customer get, as a
	// playbook duration ("1 business day", "4h"); see Ledger.Book. Empty
	// means none, as for requests recorded before notice existed.
	Notice string `json:"notice,omitempty"`
}

// DefaultNotice is the notice of a meeting whose owner tend.yaml's staff:
// gives none: it is proposed on the business day after the step's.
const DefaultNotice = "1 business day"

// weekdayNames are the names BookRequest.Workdays uses, by time.Weekday.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// bookRequest is the slot request of a meeting action a, made at now: the
// schema's working days and holidays, the contact hours (or 09:00-17:00),
// and the customer's time zone. Staff settings replace these later, where
// the booking is made (Staff.Apply).
func (r *Run) bookRequest(now time.Time, a *Action) BookRequest {
	cal := r.set.Schema.Calendar
	q := BookRequest{Key: a.Key, Owner: a.Owner, Earliest: now.UTC(), Due: a.Due.UTC(), Duration: a.Duration,
		Hours: r.meetingHours().String(), Timezone: r.loc().String(), Notice: DefaultNotice}
	for d, ok := range cal.Workdays {
		if ok {
			q.Workdays = append(q.Workdays, weekdayNames[d])
		}
	}
	for _, h := range cal.Holidays {
		q.Holidays = append(q.Holidays, h.String())
	}
	return q
}

// slotRules is a BookRequest's calendar, parsed.
type slotRules struct {
	cal    *calendar.Calendar
	hours  calendar.Window
	loc    *time.Location
	seats  int
	notice calendar.Duration
}

// rules parses the request's calendar, saying what is wrong with it.
func (q BookRequest) rules() (slotRules, error) {
	var errs []error
	c := &calendar.Calendar{}
	for _, s := range q.Workdays {
		d, err := calendar.ParseWeekday(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("workdays: %w", err))
			continue
		}
		c.Workdays[d] = true
	}
	for _, s := range q.Holidays {
		d, err := calendar.ParseDate(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("holidays: %w", err))
			continue
		}
		c.Holidays = append(c.Holidays, d)
	}
	w, err := calendar.ParseWindow(q.Hours)
	if err != nil {
		errs = append(errs, err)
	}
	loc, err := calendar.LoadLocation(q.Timezone)
	if err != nil {
		errs = append(errs, err)
	}
	c.Location = loc
	var notice calendar.Duration
	if q.Notice != "" {
		if notice, err = calendar.ParseDuration(q.Notice); err != nil {
			errs = append(errs, fmt.Errorf("notice: %w", err))
		}
	}
	switch {
	case q.Key == "":
		errs = append(errs, errors.New("no key"))
	case q.Duration <= 0:
		errs = append(errs, fmt.Errorf("duration %s is not positive", q.Duration))
	case q.Seats < 0:
		errs = append(errs, fmt.Errorf("seats %d is negative", q.Seats))
	}
	if err := errors.Join(errs...); err != nil {
		return slotRules{}, fmt.Errorf("slot request %s: %w", q.Key, err)
	}
	return slotRules{cal: c, hours: w, loc: loc, seats: max(q.Seats, 1), notice: notice}, nil
}

// noticeFrom is the earliest start that gives the notice from t. A fixed
// notice is added to t. A notice of n business days starts at the
// beginning of the n-th business day after the one t falls on, counted
// from the first working moment at or after t: a step on Monday 10:00
// gets Tuesday, one on Monday after hours or on Sunday night Wednesday
// and Tuesday, as the owner could first act on it on Tuesday and Monday.
func (r slotRules) noticeFrom(t time.Time) time.Time {
	if r.notice.IsZero() {
		return t
	}
	from := t.Add(r.notice.Fixed)
	if n := r.notice.BusinessDays; n > 0 {
		d := r.cal.AddBusinessDays(r.cal.NextInWindow(from, r.hours, r.loc), n, r.loc).In(r.loc)
		if day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, r.loc); day.After(from) {
			from = day
		}
	}
	return from
}

// Check says what is wrong with the request, or returns nil.
func (q BookRequest) Check() error {
	_, err := q.rules()
	return err
}

// Propose is the slot of the request in an empty calendar, booked at
// Earliest: what Ledger.Book would answer if the owner had nothing else.
// Runs use it for meetings with no owner, and drivers for runs that do
// not book (Temporal histories from before owner calendars). A request
// that does not parse gets Earliest.
func (q BookRequest) Propose() time.Time {
	var l Ledger
	s, err := l.Book(q.Earliest, q)
	if err != nil {
		return q.Earliest
	}
	return s
}

// Booking is a slot booked in a Ledger: [Start, End).
type Booking struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Ledger is one owner's calendar of proposed meetings, as plain data: the
// bookings that have not ended, by start. Book is its only way in.
type Ledger struct {
	Bookings []Booking `json:"bookings,omitempty"`
}

// Book books the request at now and returns the slot's start, in UTC.
//
// The slot is the first start, on a half hour of the owner's local time
// (or the start of the working hours), at or after now and Earliest plus
// the Notice (see noticeFrom), inside the working hours of a workday
// that is not a holiday, that ends by the end of those hours and overlaps
// fewer than Seats (1) meetings already booked. Meetings may follow each
// other without a gap.
//
// The notice gives way to Due: when the first slot after the notice ends
// after Due but an earlier free one ends by it, that earlier one is
// booked. Due is a wish, not a limit: when no free slot ends by Due, the
// first free one after the notice is booked all the same (the caller can
// tell by comparing start+Duration with Due), so a meeting is late rather
// than never proposed. A meeting longer than the working hours, or a
// calendar with no workdays, gets the first free start inside the hours
// anyway.
//
// Book is idempotent by Key: a key already booked gets its slot again,
// whatever the rest of the request says. Bookings that ended by now are
// dropped first; they can no longer clash with anything, but their keys
// are forgotten with them. A request that does not parse books nothing.
func (l *Ledger) Book(now time.Time, q BookRequest) (time.Time, error) {
	l.Prune(now)
	for _, b := range l.Bookings {
		if b.Key == q.Key {
			return b.Start, nil
		}
	}
	r, err := q.rules()
	if err != nil {
		return time.Time{}, err
	}
	from := q.Earliest
	if now.After(from) {
		// A request that arrives late never gets a start in the past.
		from = now
	}
	// The notice counts from the step, so that the drivers agree however
	// late the request arrives.
	noticed := r.noticeFrom(q.Earliest)
	if noticed.Before(from) {
		noticed = from
	}
	s, ok := l.free(noticed, q, r)
	if late := s.Add(q.Duration).After(q.Due); late && noticed.After(from) {
		if early, found := l.free(from, q, r); found && !early.Add(q.Duration).After(q.Due) {
			s, ok = early, true
		}
	}
	if !ok {
		return time.Time{}, fmt.Errorf("slot request %s: no free slot found", q.Key) // unreachable: see free
	}
	l.insert(Booking{Key: q.Key, Start: s.UTC(), End: s.Add(q.Duration).UTC()})
	return s.UTC(), nil
}

// free is the first start at or after from that Book's rules allow, but
// for the notice.
func (l *Ledger) free(from time.Time, q BookRequest, r slotRules) (time.Time, bool) {
	// Each round either finds the slot or moves past the end of a booking
	// that overlaps every start before it: at most one round per booking.
	for range len(l.Bookings) + 1 {
		s := r.cal.ProposeSlot(from, q.Due, q.Duration, r.hours, r.loc)
		e := s.Add(q.Duration)
		n, next := 0, time.Time{}
		for _, b := range l.Bookings {
			if b.Start.Before(e) && s.Before(b.End) {
				n++
				if next.IsZero() || b.End.Before(next) {
					next = b.End
				}
			}
		}
		if n < r.seats {
			return s, true
		}
		// Every start before the earliest end of the overlapping
		// meetings overlaps all of them too.
		from = next
	}
	return time.Time{}, false
}

func (l *Ledger) insert(b Booking) {
	i, _ := slices.BinarySearchFunc(l.Bookings, b, func(x, y Booking) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	l.Bookings = slices.Insert(l.Bookings, i, b)
}

// Prune drops the bookings that ended at or before now.
func (l *Ledger) Prune(now time.Time) {
	l.Bookings = slices.DeleteFunc(l.Bookings, func(b Booking) bool { return !b.End.After(now) })
	if len(l.Bookings) == 0 {
		l.Bookings = nil
	}
}

// Last is the end of the latest booking, or zero for an empty ledger.
func (l *Ledger) Last() time.Time {
	var last time.Time
	for _, b := range l.Bookings {
		if b.End.After(last) {
			last = b.End
		}
	}
	return last
}

// OwnerKey is the form of an owner's address that calendars are kept by:
// trimmed and lower-cased, so Jo@Vendor.example and jo@vendor.example
// share one calendar.
func OwnerKey(owner string) string { return strings.ToLower(strings.TrimSpace(owner)) }

// StaffMember is what tend.yaml's staff: section says about one person.
// Empty fields keep what the run asked for.
type StaffMember struct {
	Timezone string   // IANA name
	Hours    string   // HH:MM-HH:MM
	Workdays []string // mon ... sun
	Seats    int      // meetings at once: people behind a team address
	Notice   string   // least notice, a playbook duration: "4h", "2 business days", "0m"
}

// Staff are the working calendars of the vendor's people, by OwnerKey.
type Staff map[string]StaffMember

// Apply puts the owner's working calendar, if staff has one, into the
// request: their zone, hours, workdays and seats instead of the customer's
// zone and the schema's hours and workdays, and their notice instead of
// DefaultNotice. Holidays stay the schema's.
func (s Staff) Apply(q *BookRequest) {
	m, ok := s[OwnerKey(q.Owner)]
	if !ok {
		return
	}
	if m.Timezone != "" {
		q.Timezone = m.Timezone
	}
	if m.Hours != "" {
		q.Hours = m.Hours
	}
	if len(m.Workdays) > 0 {
		q.Workdays = slices.Clone(m.Workdays)
	}
	if m.Seats > 0 {
		q.Seats = m.Seats
	}
	if m.Notice != "" {
		q.Notice = m.Notice
	}
}
