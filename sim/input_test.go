package sim_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// writeFile writes content to a file in a fresh temporary directory and opens it.
func writeFile(t *testing.T, name, content string) (string, *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, f
}

func TestReadCSV(t *testing.T) {
	set := loadSet(t, simSchema)
	// seats comes from "Seat Count" (its column:), the others from headers
	// named like the attribute; "Notes" is not an attribute and is ignored.
	// Blank cells, even with spaces, leave the attribute unset.
	path, f := writeFile(t, "customers.csv", "\ufeffCustomer ID,name,Seat Count,health,segment,renewal_date,reviewed,Notes\n"+
		"acme,Acme Inc.,120,80.5,enterprise,2026-12-31,yes,big\n"+
		"bob,,  ,,smb,,,\n"+
		"\"c,3\",\"Multi\nLine\",7,1e2,,2027-01-10T09:00:00Z,false,\n")
	got, err := sim.ReadCSV(path, f, set.Schema, "Customer ID")
	if err != nil {
		t.Fatal(err)
	}
	want := []sim.Customer{
		{ID: "acme", Attrs: map[string]any{"name": "Acme Inc.", "seats": 120, "health": 80.5, "segment": "enterprise",
			"renewal_date": time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), "reviewed": true}, Line: 2},
		{ID: "bob", Attrs: map[string]any{"segment": "smb"}, Line: 3},
		{ID: "c,3", Attrs: map[string]any{"name": "Multi\nLine", "seats": 7, "health": 100.0,
			"renewal_date": time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC), "reviewed": false}, Line: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("customers\n got %#v\nwant %#v", got, want)
	}
}

func TestReadCSVErrors(t *testing.T) {
	set := loadSet(t, simSchema)
	const header = "id,name,Seat Count,segment\n"
	tests := []struct {
		name, csv, idCol, want string
	}{
		{
			// Line 3; the cell starts at the 9th byte of the line.
			name: "bad number", csv: header + "acme,Acme,120,smb\nbob,Bob,12x,smb\n", idCol: "id",
			want: `c.csv:3:9: column Seat Count (attribute seats): "12x" is not a whole number`,
		},
		{
			// The cell is on the record's second line.
			name: "bad number after a multi-line cell", csv: header + "acme,\"A\nB\",1.5,smb\n", idCol: "id",
			want: `c.csv:3:4: column Seat Count (attribute seats): "1.5" is not a whole number`,
		},
		{
			name: "value not in enum", csv: header + "acme,Acme,1,huge\n", idCol: "id",
			want: `c.csv:2:13: column segment (attribute segment): "huge" is not one of smb, enterprise`,
		},
		{
			name: "missing id column", csv: header + "acme,Acme,1,smb\n", idCol: "customer_id",
			want: `c.csv:1: no id column "customer_id"; the header has id, name, Seat Count, segment (use --id-column)`,
		},
		{
			name: "mapped column missing", csv: "id,name\nacme,Acme\n", idCol: "id",
			want: `c.csv:1: schema attribute seats reads column "Seat Count", which the header lacks`,
		},
		{
			name: "empty id", csv: header + "acme,Acme,1,smb\n ,Nobody,2,smb\n", idCol: "id",
			want: `c.csv:3: column id: empty customer id`,
		},
		{
			name: "duplicate id", csv: header + "acme,Acme,1,smb\nbob,Bob,2,smb\nacme,Again,3,smb\n", idCol: "id",
			want: `c.csv:4: customer acme appears twice (first on line 2)`,
		},
		{
			name: "empty file", csv: "", idCol: "id",
			want: `c.csv:1: file is empty; expected a header row`,
		},
		{
			name: "wrong number of fields", csv: header + "acme,Acme,1\n", idCol: "id",
			want: `c.csv: record on line 2: wrong number of fields`,
		},
		{
			// A bad quote in the first field used to panic in FieldPos.
			name: "bad quote in the first field", csv: header + "\"acme\"x,Acme,1,smb\n", idCol: "id",
			want: `c.csv: parse error on line 2, column 6: extraneous or missing " in quoted-field`,
		},
		{
			name: "bad quote in the header", csv: "id,\"name\"x\n", idCol: "id",
			want: `c.csv: parse error on line 1, column 9: extraneous or missing " in quoted-field`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f := writeFile(t, "c.csv", tt.csv)
			got, err := sim.ReadCSV("c.csv", f, set.Schema, tt.idCol)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\n want %s", err, tt.want)
			}
			if got != nil {
				t.Errorf("customers on error: %v", got)
			}
		})
	}
}

// Every bad row is reported, each with its position, not just the first.
func TestReadCSVEveryError(t *testing.T) {
	set := loadSet(t, simSchema)
	_, f := writeFile(t, "c.csv", "id,name,Seat Count,segment\n"+
		"a,A,many,smb\n"+
		"b,B,2,smb\n"+
		",C,3,smb\n"+
		"d,D,4,huge\n"+
		"b,B2,5,smb\n")
	_, err := sim.ReadCSV("c.csv", f, set.Schema, "id")
	want := "c.csv:2:5: column Seat Count (attribute seats): \"many\" is not a whole number\n" +
		"c.csv:4: column id: empty customer id\n" +
		"c.csv:5:7: column segment (attribute segment): \"huge\" is not one of smb, enterprise\n" +
		"c.csv:6: customer b appears twice (first on line 3)"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestReadEventsJSONL(t *testing.T) {
	set := loadSet(t, simSchema)
	path, f := writeFile(t, "events.jsonl", `{"id":"e1","type":"nps.responded","customer":"acme","at":"2026-01-07T10:00:00Z","data":{"score":9,"comment":"great"}}

{"type":"contract.signed","customer":"bob","at":"2026-01-05T10:00:00Z","data":{"plan":"pro"},"attributes":{"seats":12,"health":50,"name":null}}
{"type":"customer.updated","customer":"acme","at":"2026-01-07T10:00:00Z","attributes":{"renewal_date":"2026-12-31"}}
`)
	got, err := sim.ReadEventsJSONL(path, f, set.Schema)
	if err != nil {
		t.Fatal(err)
	}
	want := []*lang.Event{
		{ID: path + ":3", Type: "contract.signed", Customer: "bob", At: utc("2026-01-05T10:00:00Z"),
			Data: map[string]any{"plan": "pro"}, Attributes: map[string]any{"seats": 12, "health": 50.0, "name": nil}},
		{ID: "e1", Type: "nps.responded", Customer: "acme", At: utc("2026-01-07T10:00:00Z"),
			Data: map[string]any{"score": 9, "comment": "great"}},
		{ID: path + ":4", Type: "customer.updated", Customer: "acme", At: utc("2026-01-07T10:00:00Z"),
			Attributes: map[string]any{"renewal_date": time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events")
		for i := range got {
			t.Errorf(" got %+v", *got[i])
		}
		for i := range want {
			t.Errorf("want %+v", *want[i])
		}
	}
}

func TestReadEventsJSONLErrors(t *testing.T) {
	set := loadSet(t, simSchema)
	ok := `{"type":"contract.signed","customer":"acme","at":"2026-01-05T10:00:00Z"}` + "\n"
	tests := []struct{ name, jsonl, want string }{
		{
			name:  "unknown event type",
			jsonl: ok + `{"type":"contract.sined","customer":"acme","at":"2026-01-05T10:00:00Z"}`,
			want:  "ev.jsonl:2: type: unknown event type contract.sined; did you mean contract.signed?",
		},
		{
			name:  "unknown data field",
			jsonl: `{"type":"nps.responded","customer":"acme","at":"2026-01-05T10:00:00Z","data":{"scor":9}}`,
			want:  "ev.jsonl:1: data: event nps.responded has no data field scor; did you mean score?",
		},
		{
			name:  "data field of the wrong type",
			jsonl: `{"type":"nps.responded","customer":"acme","at":"2026-01-05T10:00:00Z","data":{"score":9.5}}`,
			want:  "ev.jsonl:1: data: data field score: 9.5 is not a whole number",
		},
		{
			name:  "unknown attribute",
			jsonl: ok + ok + `{"type":"customer.updated","customer":"acme","at":"2026-01-05T10:00:00Z","attributes":{"helth":3}}`,
			want:  "ev.jsonl:3: attributes: unknown attribute helth; did you mean health?",
		},
		{
			name:  "unknown top-level field",
			jsonl: `{"type":"contract.signed","customer":"acme","at":"2026-01-05T10:00:00Z","payload":{}}`,
			want:  `ev.jsonl:1: invalid event: json: unknown field "payload"`,
		},
		{
			name:  "daily is not an event",
			jsonl: `{"type":"daily","customer":"acme","at":"2026-01-05T10:00:00Z"}`,
			want:  "ev.jsonl:1: type: daily is a trigger, not an event type",
		},
		{
			name:  "missing time",
			jsonl: `{"type":"contract.signed","customer":"acme"}`,
			want:  "ev.jsonl:1: at: missing time",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f := writeFile(t, "ev.jsonl", tt.jsonl)
			_, err := sim.ReadEventsJSONL("ev.jsonl", f, set.Schema)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\n want %s", err, tt.want)
			}
		})
	}
}

func TestReadCustomersJSONL(t *testing.T) {
	set := loadSet(t, simSchema)
	_, f := writeFile(t, "c.jsonl", `{"id":"acme","seats":3,"health":70,"segment":"smb"}`+"\n"+`{"id":"bob"}`+"\n")
	got, err := sim.ReadCustomersJSONL("c.jsonl", f, set.Schema)
	want := []sim.Customer{{ID: "acme", Attrs: map[string]any{"seats": 3, "health": 70.0, "segment": "smb"}}, {ID: "bob", Attrs: map[string]any{}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v", got, err)
	}
	_, f = writeFile(t, "c.jsonl", `{"id":"acme"}`+"\n"+`{"id":"bob","segment":"huge"}`+"\n")
	if _, err := sim.ReadCustomersJSONL("c.jsonl", f, set.Schema); err == nil ||
		!strings.HasPrefix(err.Error(), `c.jsonl:2: attribute segment: "huge" is not one of`) {
		t.Errorf("bad enum: %v", err)
	}
}

// A header that nearly names an attribute no column feeds is an error, and
// so is a header given twice; other columns are ignored.
func TestReadCSVHeaders(t *testing.T) {
	set := loadSet(t, simSchema)
	_, f := writeFile(t, "c.csv", "id,nmae,Seat Count,Health,notes,notes\na,A,1,3,x,y\n")
	_, err := sim.ReadCSV("c.csv", f, set.Schema, "id")
	want := "c.csv:1:4: column nmae matches no attribute; did you mean name? (columns are matched exactly; rename the column or set column: in the schema)\n" +
		"c.csv:1:20: column Health matches no attribute; did you mean health? (columns are matched exactly; rename the column or set column: in the schema)\n" +
		"c.csv:1:33: column notes appears twice (columns 5 and 6): which one holds the value?"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}
