package lang_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/lang"
)

func TestCheckCustomerID(t *testing.T) {
	tests := []struct {
		id, err string
	}{
		{"acme", ""},
		{"zoë", ""},
		{"株式会社", ""},
		{"eu/acme corp", ""},
		{strings.Repeat("é", 100), ""}, // 200 bytes
		{"", "missing customer id"},
		{"   ", "only white space"},
		{strings.Repeat("é", 100) + "x", "201 bytes; at most 200"},
		{"ac\x00me", "control or unprintable character (U+0000)"},
		{"line\nbreak", "control or unprintable character (U+000A)"},
		{"bad\xffutf8", "not valid UTF-8"},
		{"zero\u200bwidth", "unprintable character (U+200B)"},
		{"line\u2028separator", "unprintable character (U+2028)"},
		{" lead", "starts or ends with white space"},
		{"bad\ufffdutf", "U+FFFD at byte 3"},
	}
	for _, tt := range tests {
		err := lang.CheckCustomerID(tt.id)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.id, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: %v, want %q", tt.id, err, tt.err)
		}
	}
}

func TestParseEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), ""},
		{"2026-01-31T09:00:00+02:00", time.Date(2026, 1, 31, 7, 0, 0, 0, time.UTC), ""},
		{"2200-12-31T23:59:59Z", time.Date(2200, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"2201-01-01", time.Time{}, "year 2201"},
		{"9999-01-01T00:00:00Z", time.Time{}, "year 9999"},
		{"31/01/2026", time.Time{}, "is not a time"},
		{"", time.Time{}, "is not a time"},
	}
	for _, tt := range tests {
		got, err := lang.ParseEventTime(tt.in)
		switch {
		case tt.err == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("%q: %v %v, want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: %v, want %q", tt.in, err, tt.err)
		}
	}
}
