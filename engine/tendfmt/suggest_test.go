package tendfmt_test

import (
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
)

func TestSuggest(t *testing.T) {
	cases := []struct {
		name  string
		cands []string
		want  string
	}{
		{"helth", []string{"health", "seats", "name"}, "health"},
		{"emial", lang.ActionNames(), "email"}, // a transposition is one edit
		{"titel", []string{"title", "due"}, "title"},
		{"nmae", []string{"name", "seats"}, "name"},
		{"HEALTH", []string{"health"}, "health"},
		{"onboard", lang.DefaultStages, "onboarding"}, // a prefix of one candidate
		{"re", []string{"renewal", "retention"}, ""},
		{"rene", []string{"renewal", "renew_date"}, ""}, // ambiguous prefix
		{"xyz", []string{"health", "seats"}, ""},
		{"", []string{"a"}, ""},
		{"a", nil, ""},
		{strings.Repeat("x", 100000), []string{"health"}, ""},
	}
	for _, c := range cases {
		if got := tendfmt.Suggest(c.name, c.cands); got != c.want {
			t.Errorf("Suggest(%.20q) = %q, want %q", c.name, got, c.want)
		}
	}
}
