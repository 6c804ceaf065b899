package calendar

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	winter = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	summer = time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
)

// offset returns the UTC offset of t in loc as a time.Duration.
func offset(t time.Time, loc *time.Location) time.Duration {
	_, off := t.In(loc).Zone()
	return time.Duration(off) * time.Second
}

func TestLocOffsets(t *testing.T) {
	c := Default()
	tests := []struct {
		tz     string
		at     time.Time
		want   time.Duration
		abbrev string
	}{
		{"Europe/Berlin", winter, 1 * time.Hour, "CET"},
		{"Europe/Berlin", summer, 2 * time.Hour, "CEST"},
		{"America/New_York", winter, -5 * time.Hour, "EST"},
		{"America/New_York", summer, -4 * time.Hour, "EDT"},
		{"Asia/Kathmandu", winter, 5*time.Hour + 45*time.Minute, "+0545"},
		{"UTC", summer, 0, "UTC"},
	}
	for _, tt := range tests {
		loc := c.Loc(tt.tz)
		if loc.String() != tt.tz {
			t.Errorf("Loc(%q) = %s", tt.tz, loc)
			continue
		}
		name, _ := tt.at.In(loc).Zone()
		if got := offset(tt.at, loc); got != tt.want || name != tt.abbrev {
			t.Errorf("Loc(%q) at %s: offset %v %s, want %v %s", tt.tz, tt.at.Format(time.DateOnly), got, name, tt.want, tt.abbrev)
		}
	}
}

func TestLoadLocationUnknown(t *testing.T) {
	tests := []string{
		"Mars/Olympus_Mons",
		"europe/berlin", // names match exactly, whatever the file system
		"Europe/Berlin ",
		"Europe",
		"/usr/share/zoneinfo/Europe/Berlin",
		"Europe/../Europe/Berlin",
	}
	for _, tz := range tests {
		loc, err := LoadLocation(tz)
		want := `unknown time zone "` + tz + `"; ` + tzHelp
		if err == nil || err.Error() != want || loc != nil {
			t.Errorf("LoadLocation(%q) = %v, %v; want error %s", tz, loc, err, want)
		}
	}
}

func TestLoadLocationUTCAndCache(t *testing.T) {
	if loc, err := LoadLocation("UTC"); err != nil || loc != time.UTC {
		t.Errorf("LoadLocation(UTC) = %v, %v; want time.UTC", loc, err)
	}
	// Concurrent first loads all get the one cached location.
	const n = 8
	locs := make([]*time.Location, n)
	var wg sync.WaitGroup
	for i := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			locs[i], _ = LoadLocation("Australia/Lord_Howe")
		}()
	}
	wg.Wait()
	for i, loc := range locs {
		if loc == nil || loc != locs[0] {
			t.Fatalf("LoadLocation #%d = %p, want %p", i, loc, locs[0])
		}
	}
	if got := offset(winter, locs[0]); got != 11*time.Hour { // summer there, +11:00
		t.Errorf("Lord_Howe offset = %v, want 11h", got)
	}
}

// TestHostZoneinfoIgnored points ZONEINFO, which time.LoadLocation reads
// before the system zoneinfo, at a directory whose Europe/Berlin holds
// Tokyo's rules. Our Berlin must still be +01:00 in winter.
func TestHostZoneinfoIgnored(t *testing.T) {
	tokyo, ok, err := tzData("Asia/Tokyo")
	if err != nil || !ok {
		t.Fatalf("tzData(Asia/Tokyo) = %v, %v", ok, err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Europe"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Europe", "Berlin"), tokyo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ZONEINFO", dir)

	// The trap is live only if this process has not called time.LoadLocation
	// before (it reads ZONEINFO once); it is, in a plain `go test` run.
	if host, err := time.LoadLocation("Europe/Berlin"); err == nil && offset(winter, host) == 9*time.Hour {
		t.Log("time.LoadLocation(Europe/Berlin) follows ZONEINFO: +09:00")
	} else {
		t.Log("time.LoadLocation read ZONEINFO earlier in this process; the check below still holds")
	}

	uncached, err := loadEmbedded("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cached, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []*time.Location{uncached, cached, Default().Loc("Europe/Berlin")} {
		if w, s := offset(winter, loc), offset(summer, loc); w != time.Hour || s != 2*time.Hour {
			t.Errorf("Europe/Berlin with ZONEINFO=%s: offsets %v, %v; want 1h, 2h", dir, w, s)
		}
	}
}

func TestEmbeddedZoneinfo(t *testing.T) {
	// Every entry of the zip builds a location; this also catches a
	// truncated or non-zip file replacing zoneinfo.zip.
	if _, _, err := tzData("UTC"); err != nil {
		t.Fatal(err)
	}
	if len(tzFiles) < 400 {
		t.Fatalf("embedded tz database has %d zones", len(tzFiles))
	}
	for name := range tzFiles {
		if _, err := loadEmbedded(name); err != nil {
			t.Errorf("loadEmbedded(%q): %v", name, err)
		}
	}
}

func TestLocal(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		at   time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC), ny, "Mon 30 Nov 09:00 EST"},
		{time.Date(2026, 7, 1, 13, 5, 0, 0, time.UTC), ny, "Wed 1 Jul 09:05 EDT"},
		{time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC), mustLoc(t, "Europe/Berlin"), "Mon 30 Nov 15:00 CET"},
		{time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC), mustLoc(t, "Asia/Kathmandu"), "Mon 30 Nov 19:45 +0545"},
		{time.Date(2026, 11, 30, 14, 0, 0, 0, ny), nil, "Mon 30 Nov 19:00 UTC"},
	}
	for _, tt := range tests {
		if got := Local(tt.at, tt.loc); got != tt.want {
			t.Errorf("Local(%v, %v) = %q, want %q", tt.at, tt.loc, got, tt.want)
		}
	}
}

func BenchmarkLoc(b *testing.B) {
	const tz = "America/New_York"
	c := Default()
	if c.Loc(tz).String() != tz {
		b.Fatalf("Loc(%q) = %v", tz, c.Loc(tz))
	}
	b.Run("calendar.Loc/cached", func(b *testing.B) {
		for b.Loop() {
			_ = c.Loc(tz)
		}
	})
	b.Run("embedded/uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := loadEmbedded(tz); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("time.LoadLocation", func(b *testing.B) {
		for b.Loop() {
			if _, err := time.LoadLocation(tz); err != nil {
				b.Fatal(err)
			}
		}
	})
}
