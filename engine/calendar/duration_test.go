package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want Duration
		str  string
	}{
		{"45m", Duration{Fixed: 45 * time.Minute}, "45m"},
		{"90m", Duration{Fixed: 90 * time.Minute}, "90m"},
		{"60m", Duration{Fixed: time.Hour}, "1h"},
		{"4h", Duration{Fixed: 4 * time.Hour}, "4h"},
		{"48h", Duration{Fixed: 48 * time.Hour}, "2d"},
		{"3d", Duration{Fixed: 72 * time.Hour}, "3d"},
		{"30d", Duration{Fixed: 30 * 24 * time.Hour}, "30d"},
		{"14d", Duration{Fixed: 14 * 24 * time.Hour}, "2w"},
		{"2w", Duration{Fixed: 14 * 24 * time.Hour}, "2w"},
		{"007d", Duration{Fixed: 7 * 24 * time.Hour}, "1w"},
		{"0d", Duration{}, "0m"},
		{"0m", Duration{}, "0m"},
		{"  3d ", Duration{Fixed: 72 * time.Hour}, "3d"},
		{"3650d", Duration{Fixed: 3650 * 24 * time.Hour}, "3650d"},
		{"521w", Duration{Fixed: 521 * 7 * 24 * time.Hour}, "521w"},
		{"87600h", Duration{Fixed: 3650 * 24 * time.Hour}, "3650d"},
		{"1 business day", Duration{BusinessDays: 1}, "1 business day"},
		{"5 business days", Duration{BusinessDays: 5}, "5 business days"},
		{"2 business day", Duration{BusinessDays: 2}, "2 business days"},
		{"1 business days", Duration{BusinessDays: 1}, "1 business day"},
		{"10  business   days", Duration{BusinessDays: 10}, "10 business days"},
		{"0 business days", Duration{}, "0m"},
		{"2600 business days", Duration{BusinessDays: 2600}, "2600 business days"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseDuration(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			if got.IsZero() != (tt.want == Duration{}) {
				t.Errorf("IsZero() = %v for %+v", got.IsZero(), got)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `empty duration; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"   ", `empty duration; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"3mo", `month-based durations are not supported: "3mo"; write 90d instead`},
		{"1M", `month-based durations are not supported: "1M"; write 30d instead`},
		{"1 month", `month-based durations are not supported: "1 month"; write 30d instead`},
		{"2 months", `month-based durations are not supported: "2 months"; write 60d instead`},
		{"1y", `year-based durations are not supported: "1y"; write 365d instead`},
		{"2 years", `year-based durations are not supported: "2 years"; write 730d instead`},
		{"90s", `unknown duration unit "s" in "90s"; use m, h, d, w or "business days"`},
		{"3D", `unknown duration unit "D" in "3D"; use m, h, d, w or "business days"`},
		{"3days", `unknown duration unit "days" in "3days"; use m, h, d, w or "business days"`},
		{"5bd", `unknown duration unit "bd" in "5bd"; use m, h, d, w or "business days"`},
		{"-3d", `negative duration "-3d"; durations must be zero or more`},
		{"-1 business day", `negative duration "-1 business day"; durations must be zero or more`},
		{"+3d", `invalid duration "+3d": it must start with a whole number; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"d", `invalid duration "d": it must start with a whole number; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"30", `duration "30" has no unit; use m, h, d, w or "business days", e.g. 30m or 30d`},
		{"1.5h", `fractional duration "1.5h" is not supported; use a whole number of a smaller unit, e.g. 90m instead of 1.5h`},
		{"1h30m", `duration "1h30m" combines units; use a single unit: 90m`},
		{"1d12h", `duration "1d12h" combines units; use a single unit, e.g. 90m instead of 1h30m`},
		{"3 d", `unexpected space in duration "3 d"; write 3d`},
		{"3 days", `invalid duration "3 days"; write 3d for calendar days or "3 business days"`},
		{"1 day", `invalid duration "1 day"; write 1d for calendar days or "1 business day"`},
		{"2 hours", `invalid duration "2 hours"; write 2h`},
		{"45 minutes", `invalid duration "45 minutes"; write 45m`},
		{"2 weeks", `invalid duration "2 weeks"; write 2w`},
		{"five business days", `invalid duration "five business days"; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"5 Business Days", `invalid duration "5 Business Days"; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"5 business", `invalid duration "5 business"; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"5 working days", `invalid duration "5 working days"; write e.g. 45m, 4h, 3d, 2w or "5 business days"`},
		{"3651d", `duration "3651d" is too long; the maximum is 3650d (10 years)`},
		{"522w", `duration "522w" is too long; the maximum is 3650d (10 years)`},
		{"5256001m", `duration "5256001m" is too long; the maximum is 3650d (10 years)`},
		{"99999999999999999999d", `duration "99999999999999999999d" is too long; the maximum is 3650d (10 years)`},
		{"2601 business days", `duration "2601 business days" is too long; the maximum is 2600 business days (about 10 years)`},
		{"99999999999999999999 business days", `duration "99999999999999999999 business days" is too long; the maximum is 2600 business days (about 10 years)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %+v, want error %q", tt.in, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseDuration(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q does not start in lower case", err)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    Duration
		want string
	}{
		{Duration{}, "0m"},
		{Duration{Fixed: 90 * time.Second}, "1m30s"},
		{Duration{Fixed: 25 * time.Hour}, "25h"},
		{Duration{Fixed: 72 * time.Hour, BusinessDays: 2}, "3d + 2 business days"},
		{Duration{BusinessDays: 1}, "1 business day"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"45m", "4h", "3d", "2w", "1 business day", "5 business days", "0d",
		"3mo", "-1d", "1h30m", "1.5h", "3 d", "", "3650d", "2600 business days",
		"99999999999999999999m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != (Duration{}) {
				t.Fatalf("ParseDuration(%q) returned %+v with error %v", s, d, err)
			}
			return
		}
		if d.Fixed < 0 || d.Fixed > MaxFixed || d.BusinessDays < 0 || d.BusinessDays > MaxBusinessDays {
			t.Fatalf("ParseDuration(%q) = %+v, out of range", s, d)
		}
		if d.Fixed != 0 && d.BusinessDays != 0 {
			t.Fatalf("ParseDuration(%q) = %+v sets both fields", s, d)
		}
		back, err := ParseDuration(d.String())
		if err != nil {
			t.Fatalf("ParseDuration(%q) = %+v, but its String %q does not parse: %v", s, d, d.String(), err)
		}
		if back != d {
			t.Fatalf("ParseDuration(%q) = %+v, String %q parses back to %+v", s, d, d.String(), back)
		}
	})
}
