package lang

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/tendfmt"
)

func TestParseSchemaDefaults(t *testing.T) {
	var errs tendfmt.ErrorList
	s := ParseSchema("schema.yaml", []byte("customer:\n  name: string\n  tags: [string]\n  plan: {type: string, enum: [a, b], column: Plan}\n"), &errs)
	if s == nil || len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := strings.Join(s.AttrNames(), ","); got != "email_opt_out,id,name,plan,stage,tags" {
		t.Errorf("attributes = %s", got)
	}
	if got := strings.Join(s.Stages, ","); got != strings.Join(DefaultStages, ",") {
		t.Errorf("stages = %s, want the default", got)
	}
	if s.Attr("tags").Type != TStrings || s.Attr("plan").Column != "Plan" || len(s.Attr("plan").Enum) != 2 {
		t.Errorf("attributes parsed wrong: %+v %+v", s.Attr("tags"), s.Attr("plan"))
	}
	if s.Event(EventCustomerUpdated) == nil || s.Event(EventTaskCompleted) == nil {
		t.Error("built-in event types missing")
	}
	if s.Event(EventDaily) != nil {
		t.Error("daily is a trigger, not an event type")
	}
}

// TestSchemaErrors covers schema mistakes beyond the golden cases, each with
// the message it must produce.
func TestSchemaErrors(t *testing.T) {
	cases := []struct {
		src, want string
	}{
		{"customer:\n  seats: number\n", "2:10: customer attribute seats: unknown type number; did you mean float?"},
		{"customer:\n  seats: strnig\n", "unknown type strnig; did you mean string?"},
		{"customer:\n  seats: blob\n", "unknown type blob; valid types are string, int, float, bool, time, duration, [string]"},
		{"customer:\n  id: string\n", "customer attribute id is built in; remove it from the schema"},
		{"customer:\n  Name: string\n", `customer attribute "Name" must be lower case letters`},
		{"customer:\n  in: string\n", `customer attribute "in" is a reserved word`},
		{"customer:\n  seats: {enum: [a]}\n", "customer attribute seats: missing type"},
		{"events:\n  customer.updated: {}\n", "event type customer.updated is built in"},
		{"events:\n  Contract-Signed: {}\n", "must be dotted lower-case names"},
		{"events:\n  a.b: {x: strin}\n", "event a.b field x: unknown type strin; did you mean string?"},
		{"stages: []\n", "stages must name at least one stage"},
		{"stages: [a, a]\n", "duplicate stage a"},
		{"calendar:\n  workdays: [mon, fry]\n", `unknown weekday "fry"`},
		{"calendar:\n  timezone: Local\n", `time zone "Local" depends on the machine`},
		{"calendar:\n  daily_at: \"25:00\"\n", `calendar.daily_at: invalid time of day "25:00"`},
		{"calendar:\n  tz: UTC\n", "calendar: unknown key tz; valid keys are timezone, workdays, holidays, daily_at"},
		{"contact_policy:\n  max_per_week: 0\n", "contact_policy.max_per_week must be between 1 and 100, not 0"},
		{"contact_policy:\n  hours: \"17:00-09:00\"\n", "windows cannot cross midnight"},
		{"costumer:\n  name: string\n", "1:1: schema: unknown key costumer; did you mean customer?"},
		{"- a\n", "schema must be a mapping, not a list"},
	}
	for _, c := range cases {
		var errs tendfmt.ErrorList
		ParseSchema("schema.yaml", []byte(c.src), &errs)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%q: got %v, want one error containing %q", c.src, errs, c.want)
		}
	}
}

func TestCoerce(t *testing.T) {
	cases := []struct {
		t    Type
		in   any
		want any
		err  string
	}{
		{TInt, "42", 42, ""},
		{TInt, 42.0, 42, ""},
		{TInt, 4.5, nil, "not a whole number"},
		{TFloat, "80.5", 80.5, ""},
		{TFloat, "NaN", nil, "not a number"},
		{TBool, "yes", true, ""},
		{TBool, "maybe", nil, "not true or false"},
		{TTime, "2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), ""},
		{TTime, "2026-01-31T10:00:00+02:00", time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC), ""},
		{TTime, "31/01/2026", nil, "is not a time"},
		{TDuration, "3d", 72 * time.Hour, ""},
		{TDuration, "2 business days", nil, "cannot be in business days"},
		{TStrings, []any{"a", "b"}, []string{"a", "b"}, ""},
		{TStrings, []any{"a", 1}, nil, "item 1 is int"},
		{TString, 12, "12", ""},
		{TString, nil, nil, ""},
	}
	for _, c := range cases {
		got, err := Coerce(c.t, c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Coerce(%s, %v) error = %v, want %q", c.t, c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Coerce(%s, %v): %v", c.t, c.in, err)
			continue
		}
		if Format(got) != Format(c.want) {
			t.Errorf("Coerce(%s, %v) = %v, want %v", c.t, c.in, got, c.want)
		}
	}
}
