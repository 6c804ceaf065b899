package control

import (
	"strings"
	"testing"

	"github.com/temporalio/sqlparser"
)

// parsedValues parses a visibility query as the Temporal server does and
// returns the string compared with each column.
func parsedValues(t testing.TB, query string) map[string]string {
	t.Helper()
	stmt, err := sqlparser.Parse("select * from table1 where " + query)
	if err != nil {
		t.Fatalf("the server would reject %s: %v", query, err)
	}
	out := map[string]string{}
	err = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		if c, ok := node.(*sqlparser.ComparisonExpr); ok {
			col, ok1 := c.Left.(*sqlparser.ColName)
			val, ok2 := c.Right.(*sqlparser.SQLVal)
			if ok1 && ok2 && c.Operator == sqlparser.EqualStr {
				out[col.Name.String()] = string(val.Val)
			}
		}
		return true, nil
	}, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunsQueryParses(t *testing.T) {
	for _, v := range []string{"acme", `o'brien`, `x' OR TendCustomer != '`, `back\slash`, `trailing\`, `"double"`, "new\nline", "tab\t", `\'`, "ünïcode", "%_*"} {
		got := parsedValues(t, runsQuery(RunFilter{Customer: v, Step: v + "2"}))
		if got["TendCustomer"] != v || got["TendStep"] != v+"2" || got["WorkflowType"] != "PlaybookRun" {
			t.Errorf("value %q came back as %q", v, got)
		}
	}
	got := parsedValues(t, openRunsQuery())
	if got["WorkflowType"] != "PlaybookRun" || got["ExecutionStatus"] != "Running" {
		t.Errorf("openRunsQuery parsed as %v", got)
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"acme", `o'brien`, `a\b`, `\`, `''`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := parsedValues(t, runsQuery(RunFilter{Customer: v}))
		if got["TendCustomer"] != v {
			t.Errorf("value %q came back as %q", v, got["TendCustomer"])
		}
	})
}

func FuzzReadEvents(f *testing.F) {
	f.Add(`{"type": "x", "customer": "acme", "at": "2026-01-05T15:00:00Z", "attributes": {"a": [1, {"b": null}]}, "data": {"n": 1.5}}`)
	f.Add("{\"type\": \"x\"}\n\n{")
	f.Add(`{"type": "customer.updated", "customer": "zoë", "at": "2026-01-05", "attributes": {"seats": 3, "tags": null}}`)
	schema := shippedSchema(f)
	f.Fuzz(func(t *testing.T, in string) {
		evs, lines, err := ReadEvents("f", strings.NewReader(in))
		if err == nil {
			err = CheckFile(schema, "f", evs, lines)
		}
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(l, "f:") && !strings.HasPrefix(l, "(stopped") {
					t.Errorf("error without the file name: %q", l)
				}
			}
			return
		}
		again, lines, _ := ReadEvents("f", strings.NewReader(in))
		if err := CheckFile(schema, "f", again, lines); err != nil {
			t.Fatalf("second read: %v", err)
		}
		for i, ev := range evs {
			if err := CheckEvent(ev); err != nil || ev.ID == "" {
				t.Errorf("event %d: %v, id %q", i, err, ev.ID)
			}
			if again[i].ID != ev.ID {
				t.Errorf("event %d: id %q then %q", i, ev.ID, again[i].ID)
			}
		}
	})
}
