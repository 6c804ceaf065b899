// Package calendar implements tend's notion of time: playbook durations,
// business days, daily check times, working-hour windows and the contact
// policy for customer-facing messages.
//
// Everything here is a pure function of its arguments: nothing reads the wall
// clock, starts goroutines or depends on map order, so workflow code can call
// it during replay.
//
// Time zones come only from the tz database embedded in this package
// (zoneinfo.zip, a copy of $GOROOT/lib/time/zoneinfo.zip: tzdata 2025c, as
// shipped with Go 1.26.8), never from the host. time.LoadLocation reads
// $ZONEINFO and the system zoneinfo first, so two workers with different
// tzdata installed would compute different instants for the same playbook
// step and a replay on one would disagree with the history written by the
// other; and workflow code must do no file I/O. The tz database therefore
// changes only when this file is replaced (copy it from the Go release in use,
// see LoadLocation), which is a deliberate, reviewed change of behaviour.
//
// Semantics (docs/language.md, Durations and calendar):
//
//   - Fixed durations ("45m", "4h", "3d", "2w") are exact lengths: a day is 24
//     hours, so "3d" across a daylight-saving change moves the local clock by
//     an hour. Months and years are not durations; write "30d".
//   - Business days ("1 business day", "5 business days") count the days
//     that are in Calendar.Workdays and not in Calendar.Holidays, by their
//     local date in the customer's time zone, and keep the local time of day:
//     Friday 09:00 EST plus one business day is Monday 09:00 EDT.
//   - Daily checks happen every calendar day (weekends included) at
//     Calendar.DailyAt local time.
//   - Windows ("09:00-17:00") are half-open local time ranges [Start, End)
//     on workdays; they do not cross midnight, and "24:00" may be used as an
//     end to mean the end of the day.
//   - A local time that does not exist (inside a spring-forward gap) is
//     resolved the way time.Date normalises it; a local time that happens
//     twice (in a fall-back overlap) is the one time.Date picks.
package calendar

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Date is a civil date (no time zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date in the form YYYY-MM-DD, such as "2026-12-25". The
// day must exist in that month.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil || len(s) != len("2006-01-02") {
		return Date{}, fmt.Errorf("invalid date %q; use YYYY-MM-DD with a real day, e.g. 2026-12-25", s)
	}
	return dateOf(t), nil
}

// String returns d as YYYY-MM-DD. Dates in the years 0 to 9999 sort
// correctly as strings.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// dateOf returns the civil date of t in t's own location.
func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// addDays returns the date n days after d (n may be negative).
func (d Date) addDays(n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// weekday returns the day of the week of d.
func (d Date) weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// before reports whether d is earlier than e.
func (d Date) before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// Clock is a local time of day in minutes after midnight. Valid times of day
// are 0 (00:00) to 1439 (23:59); 1440 (24:00) is used only as the end of a
// Window.
type Clock int

// endOfDay is the Clock value of "24:00", allowed only as a Window end.
const endOfDay Clock = 24 * 60

const clockHelp = "use HH:MM from 00:00 to 23:59, e.g. 09:00"

// ParseClock parses a local time of day in the form HH:MM (two digits each,
// 24-hour clock), from "00:00" to "23:59".
func ParseClock(s string) (Clock, error) {
	c, ok := parseHHMM(s)
	if !ok || c >= endOfDay {
		return 0, fmt.Errorf("invalid time of day %q; %s", s, clockHelp)
	}
	return c, nil
}

// parseHHMM parses HH:MM with HH from 00 to 24 and MM from 00 to 59; "24:00"
// is the only accepted time with hour 24.
func parseHHMM(s string) (Clock, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digit := func(b byte) (int, bool) { return int(b - '0'), b >= '0' && b <= '9' }
	h1, ok1 := digit(s[0])
	h2, ok2 := digit(s[1])
	m1, ok3 := digit(s[3])
	m2, ok4 := digit(s[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return Clock(h*60 + m), true
}

// String returns c as HH:MM.
func (c Clock) String() string {
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// Window is a daily local time window [Start, End). A valid window has
// 0 <= Start < End <= 24:00; it never crosses midnight.
type Window struct{ Start, End Clock }

// ParseWindow parses a window in the form HH:MM-HH:MM, such as
// "09:00-17:00". The start must be before the end; the end may be "24:00"
// to mean the end of the day.
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("invalid hours %q; use HH:MM-HH:MM, e.g. 09:00-17:00", s)
	}
	start, err := ParseClock(a)
	if err != nil {
		return Window{}, fmt.Errorf("invalid hours %q: start %v", s, err)
	}
	end, ok := parseHHMM(b)
	if !ok {
		return Window{}, fmt.Errorf("invalid hours %q: end: invalid time of day %q; use HH:MM from 00:01 to 24:00, e.g. 17:00", s, b)
	}
	if start >= end {
		return Window{}, fmt.Errorf("invalid hours %q: start %s is not before end %s; windows cannot cross midnight", s, start, end)
	}
	return Window{Start: start, End: end}, nil
}

// String returns w as HH:MM-HH:MM.
func (w Window) String() string { return w.Start.String() + "-" + w.End.String() }

// valid reports whether w is a non-empty window within one day.
func (w Window) valid() bool { return 0 <= w.Start && w.Start < w.End && w.End <= endOfDay }

// Calendar holds the business-day rules of a schema.
type Calendar struct {
	Location *time.Location // default customer timezone; nil means UTC
	Workdays [7]bool        // indexed by time.Weekday
	Holidays []Date         // sorted, unique (this package does not rely on the order)
	DailyAt  Clock          // local time for `on: daily` checks
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseWeekday parses a day of the week: a three-letter name (mon, tue, wed,
// thu, fri, sat, sun) or a full name (monday ... sunday), in any letter case.
func ParseWeekday(s string) (time.Weekday, error) {
	if d, ok := weekdays[strings.ToLower(s)]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("unknown weekday %q; use mon, tue, wed, thu, fri, sat or sun", s)
}

// Default returns the calendar used when the schema names none: UTC,
// Monday to Friday, no holidays, daily checks at 09:00.
func Default() *Calendar {
	c := &Calendar{Location: time.UTC, DailyAt: 9 * 60}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Workdays[d] = true
	}
	return c
}

// Loc returns the location for a customer time zone: tz "" means the
// calendar's default Location, and so does a tz that LoadLocation rejects
// (callers validate time zones earlier with LoadLocation).
func (c *Calendar) Loc(tz string) *time.Location {
	if tz != "" {
		if loc, err := LoadLocation(tz); err == nil {
			return loc
		}
	}
	if c == nil || c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// resolve returns loc, or the calendar's default location when loc is nil.
func (c *Calendar) resolve(loc *time.Location) *time.Location {
	if loc != nil {
		return loc
	}
	return c.Loc("")
}

const tzHelp = "use an IANA name such as UTC, Europe/Berlin or America/New_York"

// zoneinfoZip is the tz database: an uncompressed zip with one TZif file per
// zone name. To update it, copy $(go env GOROOT)/lib/time/zoneinfo.zip here
// and update the version in the package comment (CODE/DATA in
// $GOROOT/lib/time/update.bash).
//
//go:embed zoneinfo.zip
var zoneinfoZip []byte

var (
	tzOnce  sync.Once
	tzFiles map[string]*zip.File // zone name -> entry of zoneinfoZip
	tzErr   error                // from reading zoneinfoZip's directory

	// tzCache maps zone names to their *time.Location. Only names that
	// loaded are stored, so it holds at most one entry per zone in
	// zoneinfoZip. The data is fixed by the binary, so a cached location is
	// the same as a freshly built one.
	tzCache sync.Map
)

// tzData returns the TZif data of zone name from the embedded tz database,
// reading the zip's directory on first use; ok is false if there is no such
// zone.
func tzData(name string) (data []byte, ok bool, err error) {
	tzOnce.Do(func() {
		r, err := zip.NewReader(bytes.NewReader(zoneinfoZip), int64(len(zoneinfoZip)))
		if err != nil {
			tzErr = fmt.Errorf("embedded tz database: %v", err)
			return
		}
		tzFiles = make(map[string]*zip.File, len(r.File))
		for _, f := range r.File {
			if !f.FileInfo().IsDir() {
				tzFiles[f.Name] = f
			}
		}
	})
	if tzErr != nil {
		return nil, false, tzErr
	}
	f, ok := tzFiles[name]
	if !ok {
		return nil, false, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, false, fmt.Errorf("embedded tz database: %s: %v", name, err)
	}
	defer rc.Close()
	data, err = io.ReadAll(rc) // checks the CRC
	if err != nil {
		return nil, false, fmt.Errorf("embedded tz database: %s: %v", name, err)
	}
	return data, true, nil
}

// loadEmbedded builds the location of zone name from the embedded tz
// database, without the cache.
func loadEmbedded(name string) (*time.Location, error) {
	data, ok, err := tzData(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %v", name, err)
	}
	if !ok {
		return nil, fmt.Errorf("unknown time zone %q; %s", name, tzHelp)
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: embedded tz database: %v", name, err)
	}
	return loc, nil
}

// LoadLocation loads an IANA time zone such as "Europe/Berlin", with an
// error that says what to write. Unlike time.LoadLocation it never looks at
// the host ($ZONEINFO, the system zoneinfo, $TZ): zones come only from the tz
// database embedded in this package, so every worker running the same binary
// gets the same rules, and no file is read. Names match exactly, letter case
// included. It rejects "" and "Local", whose meaning depends on the machine;
// "UTC" is time.UTC. Locations are cached, so repeated calls are cheap and
// return the same *time.Location.
func LoadLocation(tz string) (*time.Location, error) {
	switch tz {
	case "":
		return nil, errors.New("empty time zone; " + tzHelp)
	case "Local":
		return nil, fmt.Errorf("time zone %q depends on the machine; %s", tz, tzHelp)
	case "UTC":
		return time.UTC, nil
	}
	if loc, ok := tzCache.Load(tz); ok {
		return loc.(*time.Location), nil
	}
	loc, err := loadEmbedded(tz)
	if err != nil {
		return nil, err
	}
	cached, _ := tzCache.LoadOrStore(tz, loc)
	return cached.(*time.Location), nil
}

// Local renders t as the local time in loc (nil means UTC) with its zone
// abbreviation, in the form "Mon 30 Nov 09:00 EST".
func Local(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// hasWorkdays reports whether at least one weekday is a workday.
func (c *Calendar) hasWorkdays() bool {
	for _, w := range c.Workdays {
		if w {
			return true
		}
	}
	return false
}

// isHoliday reports whether d is one of the calendar's holidays.
func (c *Calendar) isHoliday(d Date) bool {
	for _, h := range c.Holidays {
		if h == d {
			return true
		}
	}
	return false
}

// isBusinessDate reports whether d is a workday and not a holiday.
func (c *Calendar) isBusinessDate(d Date) bool {
	return c.Workdays[d.weekday()] && !c.isHoliday(d)
}

// IsWorkday reports whether the local date of t in loc (nil: the calendar's
// Location) is a workday and not a holiday.
func (c *Calendar) IsWorkday(t time.Time, loc *time.Location) bool {
	return c.isBusinessDate(dateOf(t.In(c.resolve(loc))))
}

// AddBusinessDays moves t forward n business days in loc (nil: the
// calendar's Location), keeping the local wall-clock time of day: across a
// daylight-saving change the UTC offset changes but 09:00 stays 09:00. It
// steps one local date at a time and counts each workday that is not a
// holiday; the result is on the n-th such day after t's local date. So
// Thursday + 1 is Friday, Friday + 1 is Monday, and Saturday 10:00 + 1 is
// Monday 10:00. n <= 0 returns t unchanged, and so does a calendar with no
// workdays at all.
func (c *Calendar) AddBusinessDays(t time.Time, n int, loc *time.Location) time.Time {
	if n <= 0 || !c.hasWorkdays() {
		return t
	}
	lt := t.In(c.resolve(loc))
	start := dateOf(lt)
	perWeek := 0
	for _, w := range c.Workdays {
		if w {
			perWeek++
		}
	}
	last, anyHoliday := Date{}, false
	for _, h := range c.Holidays {
		if !anyHoliday || last.before(h) {
			last, anyHoliday = h, true
		}
	}
	offset := 0
	skipped := false
	for n > 0 {
		cur := start.addDays(offset)
		// Once no holiday lies ahead, every 7 days hold exactly perWeek
		// business days: skip whole weeks, leaving 1..perWeek to step.
		if !skipped && (!anyHoliday || !cur.before(last)) {
			skipped = true
			weeks := (n - 1) / perWeek
			offset += 7 * weeks
			n -= weeks * perWeek
			continue
		}
		offset++
		if c.isBusinessDate(start.addDays(offset)) {
			n--
		}
	}
	return time.Date(lt.Year(), lt.Month(), lt.Day()+offset, lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), lt.Location())
}

// Add returns t plus d: t.Add(d.Fixed) for a fixed duration and
// AddBusinessDays for business days, in loc (nil: the calendar's Location).
func (c *Calendar) Add(t time.Time, d Duration, loc *time.Location) time.Time {
	t = t.Add(d.Fixed)
	if d.BusinessDays > 0 {
		t = c.AddBusinessDays(t, d.BusinessDays, loc)
	}
	return t
}

// clockOn returns the instant at local time k on date d in loc, normalised
// by time.Date when k falls in a daylight-saving gap. k may be 24:00, which
// is midnight at the start of the next day.
func clockOn(d Date, k Clock, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, int(k)/60, int(k)%60, 0, 0, loc)
}

// NextDaily returns the first instant strictly after `after` whose local
// time in loc (nil: the calendar's Location) is DailyAt, on any calendar day,
// weekends and holidays included. If DailyAt falls in a spring-forward gap on
// some day, that day's check is at the instant time.Date normalises it to.
func (c *Calendar) NextDaily(after time.Time, loc *time.Location) time.Time {
	loc = c.resolve(loc)
	day := dateOf(after.In(loc))
	for i := 0; i < 7; i++ {
		if t := clockOn(day.addDays(i), c.DailyAt, loc); t.After(after) {
			return t
		}
	}
	// Unreachable for real time zones: a day later is always later.
	return after.Add(Day)
}

// NextInWindow returns the earliest t' >= t that is on a workday (see
// IsWorkday) with its local clock in [w.Start, w.End), in loc (nil: the
// calendar's Location). If t already qualifies it returns t; otherwise it
// returns the start of the next qualifying window. In the degenerate cases
// of a calendar with no workdays or an empty or invalid window it returns t
// unchanged.
func (c *Calendar) NextInWindow(t time.Time, w Window, loc *time.Location) time.Time {
	if !w.valid() || !c.hasWorkdays() {
		return t
	}
	loc = c.resolve(loc)
	day := dateOf(t.In(loc))
	// Every 7 consecutive days hold a workday, and each holiday removes at
	// most one, so this many days always contain a business day.
	limit := 7 * (len(c.Holidays) + 2)
	for i := 0; i < limit; i++ {
		d := day.addDays(i)
		if !c.isBusinessDate(d) {
			continue
		}
		start, end := clockOn(d, w.Start, loc), clockOn(d, w.End, loc)
		if !t.Before(end) {
			continue
		}
		if t.Before(start) {
			return start
		}
		return t
	}
	return t
}
