package links_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tend-cs/tend/links"
)

func signer(t *testing.T, base, secret string) *links.Signer {
	t.Helper()
	s, err := links.New(links.Config{BaseURL: base, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSurveyLinks(t *testing.T) {
	s := signer(t, "https://tend.vendor.example/", "link-secret-0123456789")
	for kind, want := range map[string][2]int{"nps": {0, 10}, "csat": {1, 5}} {
		l, err := s.Survey("acme", "run/pulse/acme/1", "ask", 2, kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != want[1]-want[0]+1 || l[0].Score != want[0] || l[len(l)-1].Score != want[1] {
			t.Fatalf("%s: %d links from %d to %d", kind, len(l), l[0].Score, l[len(l)-1].Score)
		}
		for _, sl := range l {
			tok, ok := strings.CutPrefix(sl.URL, "https://tend.vendor.example/survey/")
			if !ok {
				t.Fatalf("link %s is not under the base URL's /survey/", sl.URL)
			}
			got, err := s.Verify(tok)
			want := links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/pulse/acme/1", Step: "ask", Occurrence: 2, Survey: kind, Score: sl.Score}
			if err != nil || got != want {
				t.Errorf("Verify = %+v, %v; want %+v", got, err, want)
			}
		}
	}
	if _, err := s.Survey("acme", "run/p/acme/1", "ask", 1, "ces"); err == nil || !strings.Contains(err.Error(), "valid kinds are nps, csat") {
		t.Errorf("unknown kind: %v", err)
	}
	u := s.Unsubscribe("acme", "run/p/acme/1", "tip", 1)
	tok, _ := strings.CutPrefix(u, "https://tend.vendor.example/unsubscribe/")
	if got, err := s.Verify(tok); err != nil || got.Kind != links.KindUnsubscribe || got.Customer != "acme" {
		t.Errorf("unsubscribe link %s: %+v, %v", u, got, err)
	}
}

// Anything but the token as made is invalid: a changed payload (another
// score, another customer), a changed signature, a cut token, another
// secret, another installation.
func TestVerifyRejects(t *testing.T) {
	s := signer(t, "https://tend.vendor.example", "link-secret-0123456789")
	tok := s.Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "nps", Score: 3})
	other := s.Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "nps", Score: 10})
	payload, sig, _ := strings.Cut(tok, ".")
	otherPayload, _, _ := strings.Cut(other, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		return string(b)
	}
	bad := map[string]string{
		"another score's payload": otherPayload + "." + sig,
		"a changed signature":     payload + "." + flip(sig),
		"a changed payload":       flip(payload) + "." + sig,
		"a cut token":             tok[:len(tok)-4],
		"no signature":            payload,
		"empty":                   "",
		"too long":                strings.Repeat("A", links.MaxTokenLength+1),
		"another secret":          signer(t, "https://tend.vendor.example", "another-secret-0123456789").Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "nps", Score: 3}),
		"another installation":    signer(t, "https://staging.vendor.example", "link-secret-0123456789").Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "nps", Score: 3}),
		"a score out of range":    s.Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "csat", Score: 9}),
		"an unknown kind":         s.Token(links.Target{Kind: "delete", Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1}),
		"no customer":             s.Token(links.Target{Kind: links.KindUnsubscribe, Run: "run/p/acme/1", Step: "ask", Occurrence: 1}),
	}
	for name, tok := range bad {
		if got, err := s.Verify(tok); !errors.Is(err, links.ErrInvalid) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalid", name, got, err)
		}
	}
	if _, err := s.Verify(tok); err != nil {
		t.Errorf("the token as made: %v", err)
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tt := range []struct {
		c    links.Config
		want string
	}{
		{links.Config{BaseURL: "https://tend.vendor.example/base", Secret: "0123456789abcdef"}, ""},
		{links.Config{BaseURL: "tend.vendor.example", Secret: "0123456789abcdef"}, "must be an http or https URL"},
		{links.Config{BaseURL: "ftp://tend.vendor.example", Secret: "0123456789abcdef"}, "must be an http or https URL"},
		{links.Config{BaseURL: "https://tend.vendor.example/?a=1", Secret: "0123456789abcdef"}, "no query"},
		{links.Config{BaseURL: "https://tend.vendor.example", Secret: "short"}, "secret has 5 characters; a link secret needs at least 16"},
	} {
		err := tt.c.Check()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.c.BaseURL, err, tt.want)
		}
	}
}

// FuzzVerify: no input panics, and only a token the Signer made verifies.
func FuzzVerify(f *testing.F) {
	s, err := links.New(links.Config{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Token(links.Target{Kind: links.KindSurvey, Customer: "acme", Run: "run/p/acme/1", Step: "ask", Occurrence: 1, Survey: "nps", Score: 7}))
	f.Add(s.Unsubscribe("acme", "run/p/acme/1", "tip", 1))
	f.Add("e30.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok)
		if err == nil && s.Token(got) != tok {
			t.Errorf("Verify accepted %q, which the signer did not make", tok)
		}
	})
}
