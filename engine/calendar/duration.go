package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a playbook duration: either a fixed length or a number of
// business days. ParseDuration never sets both fields; if a caller does,
// Calendar.Add applies the fixed part first and then the business days.
type Duration struct {
	Fixed        time.Duration // e.g. 45m, 4h, 3d (=72h), 2w
	BusinessDays int           // "1 business day", "5 business days"
}

// Day and Week are the fixed lengths of the d and w duration units. A day is
// always 24 hours: "3d" across a daylight-saving change is 72 hours, not three
// local midnights. Use business days to keep the local time of day.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// MaxFixed is the longest fixed duration ParseDuration accepts (10 years of 365 days).
const MaxFixed = 3650 * Day

// MaxBusinessDays is the largest number of business days ParseDuration
// accepts (10 years of 52 five-day weeks).
const MaxBusinessDays = 2600

const durationHelp = `write e.g. 45m, 4h, 3d, 2w or "5 business days"`

const unitHelp = `use m, h, d, w or "business days"`

// ParseDuration parses a playbook duration. The accepted forms are
// "<n><unit>" with no space and unit m (minutes), h (hours), d (24 hours) or
// w (7 days), such as "45m", "4h", "3d" or "2w", and "<n> business day" or
// "<n> business days", such as "1 business day" or "5 business days". n is a
// non-negative whole number; zero is allowed ("0m" is the zero Duration).
// Leading and trailing spaces are ignored. Seconds, fractions, compound
// durations such as "1h30m", and month- or year-based durations are rejected
// with an error that says what to write instead. Durations longer than
// MaxFixed or MaxBusinessDays are rejected.
func ParseDuration(s string) (Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Duration{}, errors.New("empty duration; " + durationHelp)
	}
	if strings.HasPrefix(s, "-") {
		return Duration{}, fmt.Errorf("negative duration %q; durations must be zero or more", in)
	}
	if fields := strings.Fields(s); len(fields) > 1 {
		return parseSpaced(in, fields)
	}
	i := leadingDigits(s)
	if i == 0 {
		return Duration{}, fmt.Errorf("invalid duration %q: it must start with a whole number; %s", in, durationHelp)
	}
	num, unit := s[:i], s[i:]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		// Only a range error is possible: num is all digits.
		return Duration{}, fmt.Errorf("duration %q is too long; the maximum is %s (10 years)", in, Duration{Fixed: MaxFixed})
	}
	switch {
	case unit == "":
		return Duration{}, fmt.Errorf("duration %q has no unit; %s, e.g. %sm or %sd", in, unitHelp, num, num)
	case unit[0] == '.' || unit[0] == ',':
		return Duration{}, fmt.Errorf("fractional duration %q is not supported; use a whole number of a smaller unit, e.g. 90m instead of 1.5h", in)
	case strings.ContainsAny(unit, "0123456789"):
		if d, err := time.ParseDuration(s); err == nil && d > 0 && d%time.Minute == 0 && d <= MaxFixed {
			return Duration{}, fmt.Errorf("duration %q combines units; use a single unit: %s", in, Duration{Fixed: d})
		}
		return Duration{}, fmt.Errorf("duration %q combines units; use a single unit, e.g. 90m instead of 1h30m", in)
	}
	if size, ok := unitSize(unit); ok {
		return fixed(in, n, size)
	}
	if isMonthUnit(unit) {
		return Duration{}, fmt.Errorf("month-based durations are not supported: %q; write %dd instead", in, monthDays(n))
	}
	if isYearUnit(unit) {
		return Duration{}, fmt.Errorf("year-based durations are not supported: %q; write %dd instead", in, yearDays(n))
	}
	return Duration{}, fmt.Errorf("unknown duration unit %q in %q; %s", unit, in, unitHelp)
}

// parseSpaced handles inputs with inner spaces: "<n> business day(s)", and
// friendly errors for "3 d", "3 days" or "2 months".
func parseSpaced(in string, fields []string) (Duration, error) {
	num := fields[0]
	if leadingDigits(num) != len(num) {
		return Duration{}, fmt.Errorf("invalid duration %q; %s", in, durationHelp)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return Duration{}, fmt.Errorf("duration %q is too long; the maximum is %d business days (about 10 years)", in, MaxBusinessDays)
	}
	if len(fields) == 3 && fields[1] == "business" && (fields[2] == "day" || fields[2] == "days") {
		if n > MaxBusinessDays {
			return Duration{}, fmt.Errorf("duration %q is too long; the maximum is %d business days (about 10 years)", in, MaxBusinessDays)
		}
		return Duration{BusinessDays: int(n)}, nil
	}
	if len(fields) == 2 {
		unit := fields[1]
		if _, ok := unitSize(unit); ok {
			return Duration{}, fmt.Errorf("unexpected space in duration %q; write %s%s", in, num, unit)
		}
		switch unit {
		case "minute", "minutes", "min", "mins":
			return Duration{}, fmt.Errorf("invalid duration %q; write %sm", in, num)
		case "hour", "hours":
			return Duration{}, fmt.Errorf("invalid duration %q; write %sh", in, num)
		case "day", "days":
			unit := "business days"
			if num == "1" {
				unit = "business day"
			}
			return Duration{}, fmt.Errorf("invalid duration %q; write %sd for calendar days or \"%s %s\"", in, num, num, unit)
		case "week", "weeks":
			return Duration{}, fmt.Errorf("invalid duration %q; write %sw", in, num)
		}
		if isMonthUnit(unit) {
			return Duration{}, fmt.Errorf("month-based durations are not supported: %q; write %dd instead", in, monthDays(n))
		}
		if isYearUnit(unit) {
			return Duration{}, fmt.Errorf("year-based durations are not supported: %q; write %dd instead", in, yearDays(n))
		}
	}
	return Duration{}, fmt.Errorf("invalid duration %q; %s", in, durationHelp)
}

func fixed(in string, n int64, size time.Duration) (Duration, error) {
	if n > int64(MaxFixed/size) {
		return Duration{}, fmt.Errorf("duration %q is too long; the maximum is %s (10 years)", in, Duration{Fixed: MaxFixed})
	}
	return Duration{Fixed: time.Duration(n) * size}, nil
}

func unitSize(unit string) (time.Duration, bool) {
	switch unit {
	case "m":
		return time.Minute, true
	case "h":
		return time.Hour, true
	case "d":
		return Day, true
	case "w":
		return Week, true
	}
	return 0, false
}

func isMonthUnit(unit string) bool {
	switch unit {
	case "M", "mo", "mon", "mos", "mth", "mths", "month", "months":
		return true
	}
	return false
}

func isYearUnit(unit string) bool {
	switch unit {
	case "y", "yr", "yrs", "year", "years":
		return true
	}
	return false
}

// monthDays and yearDays suggest a day count for a rejected month or year
// duration, saturating so that the suggestion never overflows.
func monthDays(n int64) int64 { return min(n, 1<<40) * 30 }
func yearDays(n int64) int64  { return min(n, 1<<40) * 365 }

// leadingDigits returns the number of leading ASCII digits in s.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// String returns the canonical form of d: "1 business day" or "5 business days" for business days, otherwise the
// largest of w, d, h and m that divides the fixed length ("2w", "3d", "4h",
// "45m"). The zero Duration is "0m". A fixed length that is not a whole
// number of minutes (never produced by ParseDuration) is shown in Go's
// time.Duration notation, and a Duration with both fields set is shown as
// "3d + 2 business days". For every Duration that ParseDuration returns,
// ParseDuration(d.String()) returns d again.
func (d Duration) String() string {
	var b string
	switch d.BusinessDays {
	case 0:
	case 1:
		b = "1 business day"
	default:
		b = strconv.Itoa(d.BusinessDays) + " business days"
	}
	if d.Fixed == 0 {
		if b != "" {
			return b
		}
		return "0m"
	}
	f := formatFixed(d.Fixed)
	if b != "" {
		return f + " + " + b
	}
	return f
}

func formatFixed(f time.Duration) string {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{Week, "w"}, {Day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if f%u.size == 0 {
			return strconv.FormatInt(int64(f/u.size), 10) + u.name
		}
	}
	return f.String()
}

// IsZero reports whether d is the zero duration (no fixed length and no
// business days).
func (d Duration) IsZero() bool { return d.Fixed == 0 && d.BusinessDays == 0 }
