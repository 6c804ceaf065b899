package calendar

import (
	"math/rand"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at returns the instant at the given local wall-clock time in loc.
func at(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

// withHolidays returns the default calendar with the given holidays.
func withHolidays(t testing.TB, days ...string) *Calendar {
	t.Helper()
	c := Default()
	for _, s := range days {
		d, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		c.Holidays = append(c.Holidays, d)
	}
	return c
}

func TestParseDate(t *testing.T) {
	good := []struct {
		in   string
		want Date
	}{
		{"2026-12-25", Date{2026, time.December, 25}},
		{"2028-02-29", Date{2028, time.February, 29}},
		{"0001-01-01", Date{1, time.January, 1}},
	}
	for _, tt := range good {
		got, err := ParseDate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("Date.String() = %q, want %q", got.String(), tt.in)
		}
	}
	for _, in := range []string{"", "2026-02-29", "2026-13-01", "2026-1-5", "26-01-05", "2026/01/05", "2026-01-05T00:00:00Z", " 2026-01-05"} {
		_, err := ParseDate(in)
		want := `invalid date "` + in + `"; use YYYY-MM-DD with a real day, e.g. 2026-12-25`
		if err == nil || err.Error() != want {
			t.Errorf("ParseDate(%q) error = %v, want %s", in, err, want)
		}
	}
}

func TestParseClockAndWindow(t *testing.T) {
	clocks := []struct {
		in   string
		want Clock
	}{
		{"00:00", 0},
		{"09:00", 540},
		{"17:30", 1050},
		{"23:59", 1439},
	}
	for _, tt := range clocks {
		got, err := ParseClock(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("Clock(%d).String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	for _, in := range []string{"", "9:00", "24:00", "12:60", "25:00", "09-00", "0900", "09:00:00", "ab:cd", "-1:00"} {
		_, err := ParseClock(in)
		want := `invalid time of day "` + in + `"; use HH:MM from 00:00 to 23:59, e.g. 09:00`
		if err == nil || err.Error() != want {
			t.Errorf("ParseClock(%q) error = %v, want %s", in, err, want)
		}
	}

	windows := []struct {
		in   string
		want Window
	}{
		{"09:00-17:00", Window{540, 1020}},
		{"00:00-24:00", Window{0, 1440}},
		{"08:30-08:31", Window{510, 511}},
	}
	for _, tt := range windows {
		got, err := ParseWindow(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("Window.String() = %q, want %q", got.String(), tt.in)
		}
	}
	bad := []struct{ in, want string }{
		{"9-17", `invalid hours "9-17": start invalid time of day "9"; use HH:MM from 00:00 to 23:59, e.g. 09:00`},
		{"09:00", `invalid hours "09:00"; use HH:MM-HH:MM, e.g. 09:00-17:00`},
		{"17:00-09:00", `invalid hours "17:00-09:00": start 17:00 is not before end 09:00; windows cannot cross midnight`},
		{"09:00-09:00", `invalid hours "09:00-09:00": start 09:00 is not before end 09:00; windows cannot cross midnight`},
		{"09:00-24:30", `invalid hours "09:00-24:30": end: invalid time of day "24:30"; use HH:MM from 00:01 to 24:00, e.g. 17:00`},
		{"24:00-24:00", `invalid hours "24:00-24:00": start invalid time of day "24:00"; use HH:MM from 00:00 to 23:59, e.g. 09:00`},
		{"09:00 - 17:00", `invalid hours "09:00 - 17:00": start invalid time of day "09:00 "; use HH:MM from 00:00 to 23:59, e.g. 09:00`},
	}
	for _, tt := range bad {
		_, err := ParseWindow(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseWindow(%q) error\n got: %v\nwant: %s", tt.in, err, tt.want)
		}
	}
}

func TestParseWeekday(t *testing.T) {
	good := []struct {
		in   string
		want time.Weekday
	}{
		{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday},
		{"thu", time.Thursday}, {"fri", time.Friday}, {"sat", time.Saturday},
		{"sun", time.Sunday}, {"monday", time.Monday}, {"Sunday", time.Sunday},
		{"FRI", time.Friday},
	}
	for _, tt := range good {
		got, err := ParseWeekday(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseWeekday(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "mo", "thur", "mon ", "1"} {
		_, err := ParseWeekday(in)
		want := `unknown weekday "` + in + `"; use mon, tue, wed, thu, fri, sat or sun`
		if err == nil || err.Error() != want {
			t.Errorf("ParseWeekday(%q) error = %v, want %s", in, err, want)
		}
	}
}

func TestLoadLocationAndLoc(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"} {
		loc, err := LoadLocation(name)
		if err != nil || loc.String() != name {
			t.Errorf("LoadLocation(%q) = %v, %v", name, loc, err)
		}
	}
	bad := []struct{ in, want string }{
		{"", `empty time zone; use an IANA name such as UTC, Europe/Berlin or America/New_York`},
		{"Local", `time zone "Local" depends on the machine; use an IANA name such as UTC, Europe/Berlin or America/New_York`},
		{"Europe/Berln", `unknown time zone "Europe/Berln"; use an IANA name such as UTC, Europe/Berlin or America/New_York`},
		{"../etc/passwd", `unknown time zone "../etc/passwd"; use an IANA name such as UTC, Europe/Berlin or America/New_York`},
	}
	for _, tt := range bad {
		loc, err := LoadLocation(tt.in)
		if err == nil || err.Error() != tt.want || loc != nil {
			t.Errorf("LoadLocation(%q) = %v, %v; want error %s", tt.in, loc, err, tt.want)
		}
	}

	berlin := mustLoc(t, "Europe/Berlin")
	c := Default()
	c.Location = berlin
	locs := []struct{ tz, want string }{
		{"", "Europe/Berlin"},
		{"America/New_York", "America/New_York"},
		{"Not/AZone", "Europe/Berlin"},
		{"Local", "Europe/Berlin"},
	}
	for _, tt := range locs {
		if got := c.Loc(tt.tz).String(); got != tt.want {
			t.Errorf("Loc(%q) = %s, want %s", tt.tz, got, tt.want)
		}
	}
	if got := (&Calendar{}).Loc(""); got != time.UTC {
		t.Errorf("Loc on a calendar without Location = %v, want UTC", got)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Location != time.UTC {
		t.Errorf("Location = %v, want UTC", c.Location)
	}
	want := [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
	if c.Workdays != want {
		t.Errorf("Workdays = %v, want %v", c.Workdays, want)
	}
	if len(c.Holidays) != 0 || c.DailyAt.String() != "09:00" {
		t.Errorf("Holidays = %v, DailyAt = %v", c.Holidays, c.DailyAt)
	}
	if Default() == c {
		t.Error("Default returned a shared calendar")
	}
}

func TestIsWorkday(t *testing.T) {
	tokyo := mustLoc(t, "Asia/Tokyo")
	c := withHolidays(t, "2026-12-25")
	tests := []struct {
		name string
		t    time.Time
		loc  *time.Location
		want bool
	}{
		{"monday", at(time.UTC, 2026, 3, 2, 10, 0), nil, true},
		{"friday late", at(time.UTC, 2026, 3, 6, 23, 59), nil, true},
		{"saturday", at(time.UTC, 2026, 3, 7, 10, 0), nil, false},
		{"sunday", at(time.UTC, 2026, 3, 8, 10, 0), nil, false},
		{"holiday", at(time.UTC, 2026, 12, 25, 10, 0), nil, false},
		{"day before holiday", at(time.UTC, 2026, 12, 24, 10, 0), nil, true},
		// Friday 23:00 UTC is already Saturday in Tokyo.
		{"friday utc is saturday in tokyo", at(time.UTC, 2026, 3, 6, 23, 0), tokyo, false},
		// Sunday 16:00 UTC is Monday 01:00 in Tokyo.
		{"sunday utc is monday in tokyo", at(time.UTC, 2026, 3, 8, 16, 0), tokyo, true},
		// Holidays are local dates: 2026-12-24 15:00 UTC is the 25th in Tokyo.
		{"holiday starts early in tokyo", at(time.UTC, 2026, 12, 24, 15, 0), tokyo, false},
	}
	for _, tt := range tests {
		if got := c.IsWorkday(tt.t, tt.loc); got != tt.want {
			t.Errorf("%s: IsWorkday(%v) = %v, want %v", tt.name, tt.t, got, tt.want)
		}
	}
}

func TestAddBusinessDays(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	tokyo := mustLoc(t, "Asia/Tokyo")
	def := Default()
	hol := withHolidays(t, "2026-12-25", "2027-01-01")
	sunThu := Default()
	sunThu.Workdays = [7]bool{time.Sunday: true, time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true}
	tests := []struct {
		name string
		c    *Calendar
		t    time.Time
		n    int
		loc  *time.Location
		want time.Time
	}{
		{"thu+1", def, at(time.UTC, 2026, 3, 5, 10, 0), 1, nil, at(time.UTC, 2026, 3, 6, 10, 0)},
		{"fri+1", def, at(time.UTC, 2026, 3, 6, 10, 0), 1, nil, at(time.UTC, 2026, 3, 9, 10, 0)},
		{"sat+1", def, at(time.UTC, 2026, 3, 7, 10, 0), 1, nil, at(time.UTC, 2026, 3, 9, 10, 0)},
		{"sun+1", def, at(time.UTC, 2026, 3, 8, 10, 0), 1, nil, at(time.UTC, 2026, 3, 9, 10, 0)},
		{"sat+2", def, at(time.UTC, 2026, 3, 7, 10, 0), 2, nil, at(time.UTC, 2026, 3, 10, 10, 0)},
		{"fri+5", def, at(time.UTC, 2026, 3, 6, 10, 0), 5, nil, at(time.UTC, 2026, 3, 13, 10, 0)},
		{"wed+23", def, at(time.UTC, 2026, 3, 4, 10, 0), 23, nil, at(time.UTC, 2026, 4, 6, 10, 0)},
		{"n=0 keeps a saturday", def, at(time.UTC, 2026, 3, 7, 10, 0), 0, nil, at(time.UTC, 2026, 3, 7, 10, 0)},
		{"negative n", def, at(time.UTC, 2026, 3, 7, 10, 0), -3, nil, at(time.UTC, 2026, 3, 7, 10, 0)},
		{"keeps seconds", def, time.Date(2026, 3, 5, 10, 11, 12, 13, time.UTC), 1, nil, time.Date(2026, 3, 6, 10, 11, 12, 13, time.UTC)},
		{"christmas", hol, at(time.UTC, 2026, 12, 24, 9, 0), 1, nil, at(time.UTC, 2026, 12, 28, 9, 0)},
		{"christmas+2", hol, at(time.UTC, 2026, 12, 24, 9, 0), 2, nil, at(time.UTC, 2026, 12, 29, 9, 0)},
		{"on a holiday", hol, at(time.UTC, 2026, 12, 25, 9, 0), 1, nil, at(time.UTC, 2026, 12, 28, 9, 0)},
		{"new year", hol, at(time.UTC, 2026, 12, 31, 9, 0), 1, nil, at(time.UTC, 2027, 1, 4, 9, 0)},
		{"over both holidays", hol, at(time.UTC, 2026, 12, 21, 9, 0), 10, nil, at(time.UTC, 2027, 1, 6, 9, 0)},
		{"past the last holiday", hol, at(time.UTC, 2027, 3, 1, 9, 0), 10, nil, at(time.UTC, 2027, 3, 15, 9, 0)},
		{"sun-thu week: thu+1", sunThu, at(time.UTC, 2026, 3, 5, 9, 0), 1, nil, at(time.UTC, 2026, 3, 8, 9, 0)},
		{"sun-thu week: fri+1", sunThu, at(time.UTC, 2026, 3, 6, 9, 0), 1, nil, at(time.UTC, 2026, 3, 8, 9, 0)},
		{"no workdays", &Calendar{}, at(time.UTC, 2026, 3, 5, 9, 0), 3, nil, at(time.UTC, 2026, 3, 5, 9, 0)},
		// Spring forward: Friday 09:00 EST (-5) to Monday 09:00 EDT (-4).
		{"new york dst", def, at(ny, 2026, 3, 6, 9, 0), 1, ny, at(ny, 2026, 3, 9, 9, 0)},
		// Fall back: Friday 09:00 CEST (+2) to Monday 09:00 CET (+1).
		{"berlin dst", def, at(berlin, 2026, 10, 23, 9, 0), 1, berlin, at(berlin, 2026, 10, 26, 9, 0)},
		// Friday 23:00 UTC is Saturday 08:00 in Tokyo: the next business
		// day there is Monday, 08:00 JST = Sunday 23:00 UTC.
		{"local date in tokyo", def, at(time.UTC, 2026, 3, 6, 23, 0), 1, tokyo, at(time.UTC, 2026, 3, 8, 23, 0)},
		// nil loc uses the calendar's Location.
		{"calendar location", &Calendar{Location: ny, Workdays: def.Workdays}, at(ny, 2026, 3, 6, 9, 0), 1, nil, at(ny, 2026, 3, 9, 9, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.AddBusinessDays(tt.t, tt.n, tt.loc)
			if !got.Equal(tt.want) {
				t.Errorf("AddBusinessDays(%v, %d) = %v, want %v", tt.t, tt.n, got, tt.want)
			}
		})
	}
}

func TestAddBusinessDaysDST(t *testing.T) {
	tests := []struct {
		zone           string
		from, want     time.Time
		offBef, offAft int // UTC offsets in hours
	}{
		{"America/New_York", time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), -5, -4},
		{"Europe/Berlin", time.Date(2026, 10, 23, 7, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC), 2, 1},
	}
	for _, tt := range tests {
		loc := mustLoc(t, tt.zone)
		got := Default().AddBusinessDays(tt.from, 1, loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.zone, got.UTC(), tt.want)
		}
		lf, lg := tt.from.In(loc), got.In(loc)
		if lg.Hour() != 9 || lg.Minute() != 0 || lf.Hour() != 9 {
			t.Errorf("%s: local clock %s -> %s, want 09:00 -> 09:00", tt.zone, lf.Format("15:04"), lg.Format("15:04"))
		}
		if lg.Weekday() != time.Monday {
			t.Errorf("%s: landed on %v, want Monday", tt.zone, lg.Weekday())
		}
		_, o1 := lf.Zone()
		_, o2 := lg.Zone()
		if o1 != tt.offBef*3600 || o2 != tt.offAft*3600 {
			t.Errorf("%s: offsets %d -> %d, want %dh -> %dh", tt.zone, o1, o2, tt.offBef, tt.offAft)
		}
	}
}

// naiveAddBusinessDays is a slow reference: step one day at a time.
func naiveAddBusinessDays(c *Calendar, t time.Time, n int, loc *time.Location) time.Time {
	lt := t.In(loc)
	i := 0
	for n > 0 {
		i++
		d := time.Date(lt.Year(), lt.Month(), lt.Day()+i, 12, 0, 0, 0, time.UTC)
		holiday := false
		for _, h := range c.Holidays {
			if h == (Date{d.Year(), d.Month(), d.Day()}) {
				holiday = true
			}
		}
		if c.Workdays[d.Weekday()] && !holiday {
			n--
		}
	}
	return time.Date(lt.Year(), lt.Month(), lt.Day()+i, lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), loc)
}

func TestAddBusinessDaysMatchesNaive(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	rng := rand.New(rand.NewSource(1))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		c := withHolidays(t, "2026-05-25", "2026-07-03", "2026-12-25", "2027-01-01", "2026-12-24")
		// Random non-empty workday set.
		for d := range c.Workdays {
			c.Workdays[d] = rng.Intn(3) > 0
		}
		c.Workdays[rng.Intn(7)] = true
		from := base.Add(time.Duration(rng.Int63n(int64(500 * Day))))
		n := rng.Intn(400)
		got := c.AddBusinessDays(from, n, ny)
		want := naiveAddBusinessDays(c, from, n, ny)
		if !got.Equal(want) {
			t.Fatalf("workdays %v, from %v + %d: got %v, want %v", c.Workdays, from.In(ny), n, got.In(ny), want.In(ny))
		}
	}
}

func TestAdd(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := Default()
	from := at(ny, 2026, 3, 6, 9, 0) // Friday 09:00 EST
	tests := []struct {
		d    string
		want time.Time
	}{
		{"45m", at(ny, 2026, 3, 6, 9, 45)},
		{"4h", at(ny, 2026, 3, 6, 13, 0)},
		// 3d is 72 hours: across spring forward the local clock moves to 10:00.
		{"3d", at(ny, 2026, 3, 9, 10, 0)},
		{"2w", at(ny, 2026, 3, 20, 10, 0)},
		{"1 business day", at(ny, 2026, 3, 9, 9, 0)},
		{"5 business days", at(ny, 2026, 3, 13, 9, 0)},
		{"0m", from},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Add(from, d, ny); !got.Equal(tt.want) {
			t.Errorf("Add(%s) = %v, want %v", tt.d, got, tt.want)
		}
	}
	both := Duration{Fixed: Day, BusinessDays: 1} // Fri + 24h = Sat, + 1 business day = Mon
	if got, want := c.Add(from, both, ny), at(ny, 2026, 3, 9, 9, 0); !got.Equal(want) {
		t.Errorf("Add(%v) = %v, want %v", both, got, want)
	}
}

func TestNextDaily(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	nine := Default()
	twoThirty := Default()
	twoThirty.DailyAt = 150
	tests := []struct {
		name  string
		c     *Calendar
		after time.Time
		loc   *time.Location
		want  time.Time
	}{
		{"before today's", nine, at(time.UTC, 2026, 3, 2, 8, 59), nil, at(time.UTC, 2026, 3, 2, 9, 0)},
		{"exactly at is not after", nine, at(time.UTC, 2026, 3, 2, 9, 0), nil, at(time.UTC, 2026, 3, 3, 9, 0)},
		{"just after", nine, at(time.UTC, 2026, 3, 2, 9, 0).Add(time.Nanosecond), nil, at(time.UTC, 2026, 3, 3, 9, 0)},
		{"weekends included", nine, at(time.UTC, 2026, 3, 6, 12, 0), nil, at(time.UTC, 2026, 3, 7, 9, 0)},
		{"month end", nine, at(time.UTC, 2026, 2, 28, 10, 0), nil, at(time.UTC, 2026, 3, 1, 9, 0)},
		// Saturday 10:00 EST -> Sunday 09:00 EDT (13:00 UTC, not 14:00).
		{"spring forward", nine, at(ny, 2026, 3, 7, 10, 0), ny, time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		// Saturday 09:00 CEST exactly -> Sunday 09:00 CET (08:00 UTC).
		{"fall back", nine, at(berlin, 2026, 10, 24, 9, 0), berlin, time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)},
		// 02:30 does not exist in New York on 2026-03-08; time.Date
		// normalises it to 01:30 EST (06:30 UTC).
		{"in the gap", twoThirty, at(ny, 2026, 3, 8, 0, 0), ny, time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC)},
		{"after the gap", twoThirty, time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), ny, at(ny, 2026, 3, 9, 2, 30)},
		{"tokyo local day", nine, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), mustLoc(t, "Asia/Tokyo"), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := tt.c.NextDaily(tt.after, tt.loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s: NextDaily(%v) = %v, want %v", tt.name, tt.after, got.UTC(), tt.want.UTC())
		}
		if !got.After(tt.after) {
			t.Errorf("%s: NextDaily(%v) = %v is not after", tt.name, tt.after, got)
		}
	}
	// Daily checks keep 09:00 local on both sides of each change.
	for _, loc := range []*time.Location{ny, berlin} {
		cur := at(loc, 2026, 3, 1, 9, 0)
		for i := 0; i < 366; i++ {
			next := nine.NextDaily(cur, loc)
			if l := next.In(loc); l.Hour() != 9 || l.Minute() != 0 {
				t.Fatalf("%v: NextDaily(%v) = %v, not 09:00", loc, cur, l)
			}
			if d := next.Sub(cur); d < 23*time.Hour || d > 25*time.Hour {
				t.Fatalf("%v: step from %v to %v is %v", loc, cur, next, d)
			}
			cur = next
		}
	}
}

func TestNextInWindow(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := withHolidays(t, "2026-12-25")
	w := Window{9 * 60, 17 * 60}
	allDay := Window{0, 24 * 60}
	tests := []struct {
		name string
		c    *Calendar
		t    time.Time
		w    Window
		loc  *time.Location
		want time.Time
	}{
		{"inside", c, at(time.UTC, 2026, 3, 2, 10, 15), w, nil, at(time.UTC, 2026, 3, 2, 10, 15)},
		{"at start", c, at(time.UTC, 2026, 3, 2, 9, 0), w, nil, at(time.UTC, 2026, 3, 2, 9, 0)},
		{"before hours", c, at(time.UTC, 2026, 3, 2, 7, 30), w, nil, at(time.UTC, 2026, 3, 2, 9, 0)},
		{"last minute", c, at(time.UTC, 2026, 3, 2, 16, 59), w, nil, at(time.UTC, 2026, 3, 2, 16, 59)},
		{"at end", c, at(time.UTC, 2026, 3, 2, 17, 0), w, nil, at(time.UTC, 2026, 3, 3, 9, 0)},
		{"after hours", c, at(time.UTC, 2026, 3, 2, 20, 0), w, nil, at(time.UTC, 2026, 3, 3, 9, 0)},
		{"friday evening", c, at(time.UTC, 2026, 3, 6, 18, 0), w, nil, at(time.UTC, 2026, 3, 9, 9, 0)},
		{"saturday", c, at(time.UTC, 2026, 3, 7, 11, 0), w, nil, at(time.UTC, 2026, 3, 9, 9, 0)},
		{"sunday", c, at(time.UTC, 2026, 3, 8, 11, 0), w, nil, at(time.UTC, 2026, 3, 9, 9, 0)},
		{"holiday", c, at(time.UTC, 2026, 12, 25, 10, 0), w, nil, at(time.UTC, 2026, 12, 28, 9, 0)},
		{"evening before holiday", c, at(time.UTC, 2026, 12, 24, 18, 0), w, nil, at(time.UTC, 2026, 12, 28, 9, 0)},
		{"all day on a weekday", c, at(time.UTC, 2026, 3, 2, 23, 59), allDay, nil, at(time.UTC, 2026, 3, 2, 23, 59)},
		{"all day on a weekend", c, at(time.UTC, 2026, 3, 7, 12, 0), allDay, nil, at(time.UTC, 2026, 3, 9, 0, 0)},
		// Monday 08:00 EDT in New York is 12:00 UTC: wait for 09:00 EDT.
		{"new york", c, time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC), w, ny, time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)},
		// Saturday 01:00 UTC is still Friday 20:00 EST in New York.
		{"new york friday night", c, time.Date(2026, 3, 7, 1, 0, 0, 0, time.UTC), w, ny, at(ny, 2026, 3, 9, 9, 0)},
		{"no workdays", &Calendar{}, at(time.UTC, 2026, 3, 7, 11, 0), w, nil, at(time.UTC, 2026, 3, 7, 11, 0)},
		{"invalid window", c, at(time.UTC, 2026, 3, 7, 11, 0), Window{}, nil, at(time.UTC, 2026, 3, 7, 11, 0)},
	}
	for _, tt := range tests {
		got := tt.c.NextInWindow(tt.t, tt.w, tt.loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s: NextInWindow(%v) = %v, want %v", tt.name, tt.t, got, tt.want)
		}
	}
	// A long run of holidays still terminates and lands on the first free day.
	long := Default()
	for d := 1; d <= 60; d++ {
		long.Holidays = append(long.Holidays, Date{2026, time.March, 1}.addDays(d))
	}
	want := at(time.UTC, 2026, 5, 1, 9, 0) // 2026-03-02 .. 2026-04-30 are holidays; May 1 is a Friday
	if got := long.NextInWindow(at(time.UTC, 2026, 3, 2, 10, 0), w, nil); !got.Equal(want) {
		t.Errorf("long holidays: got %v, want %v", got, want)
	}
}
