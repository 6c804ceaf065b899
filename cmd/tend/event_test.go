package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/sim"
)

func simCustomer(id string, attrs map[string]any) sim.Customer {
	return sim.Customer{ID: id, Attrs: attrs}
}

// shipped is the repository's playbook set, which the client commands
// check events against.
const shipped = "../../playbooks"

func shippedSchema(t *testing.T) *lang.Schema {
	t.Helper()
	set, errs, err := load.Set(shipped)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	return set.Schema
}

func TestEventSendUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(file, []byte(`{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"event"}, `tend event: expected "send"`},
		{"unknown subcommand", []string{"event", "push"}, `tend event: unexpected argument push`},
		{"nothing to send", []string{"event", "send"}, "tend event send: give --customer and --type, or -f FILE.jsonl\n"},
		{"no type", []string{"event", "send", "--customer", "acme"}, "tend event send: --type is needed\n"},
		{"no customer", []string{"event", "send", "--type", "x"}, "tend event send: --customer is needed\n"},
		{"bad time", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--at", "yesterday"}, `tend event send: --at: "yesterday" is not a time`},
		{"year past 2200", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--at", "2300-01-01"}, `tend event send: --at: "2300-01-01" is in the year 2300`},
		{"attr without =", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--attr", "health"}, `tend event send: --attr "health": want KEY=VALUE` + "\n"},
		{"data without key", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--data", "=1"}, `tend event send: --data "=1": want KEY=VALUE` + "\n"},
		{"daily", []string{"event", "send", "--customer", "acme", "--type", "daily"}, "--type: daily is a trigger, not an event type\ntend event send: 1 error; nothing was sent\n"},
		{"typo in the type", []string{"event", "send", "--customer", "acme", "--type", "contract.sigend"}, "--type: unknown event type contract.sigend; did you mean contract.signed?\ntend event send: 1 error; nothing was sent\n"},
		{"unknown attribute", []string{"event", "send", "--customer", "acme", "--type", "customer.updated", "--attr", "helth=3"}, "--attr helth: unknown attribute helth; did you mean health?\n"},
		{"wrong type", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--data", "arr=lots", "--data", "plan=pro"}, `--data arr: "lots" is a string; want a number (float)` + "\n"},
		{"control character in the customer", []string{"event", "send", "--customer", "ac\x01me", "--type", "contract.signed"}, `--customer: customer id "ac\x01me" has a control or unprintable character`},
		{"file and flags", []string{"event", "send", "-f", file, "--customer", "acme"}, "tend event send: -f " + file + " cannot be combined with --customer"},
		{"from-line without a file", []string{"event", "send", "--from-line", "3", "--customer", "acme"}, "tend event send: --from-line 3: give a line number of the -f file"},
		{"missing file", []string{"event", "send", "-f", filepath.Join(dir, "nope.jsonl")}, "tend event send: cannot read " + filepath.Join(dir, "nope.jsonl") + ": no such file or directory\n"},
		{"unknown flag", []string{"event", "send", "--customr", "acme"}, "tend event: unknown flag --customr"},
		{"no playbooks", []string{"event", "send", "--customer", "acme", "--type", "contract.signed", "--playbooks", filepath.Join(dir, "none")}, "tend event send: cannot read " + filepath.Join(dir, "none")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if len(args) > 1 {
				args = append([]string{}, args...)
				if !hasArg(args, "--playbooks") {
					args = append(args, "--playbooks", shipped)
				}
				args = append(args, "--address", closedAddr(t))
			}
			r := mustRun(t, exitUsage, args...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q", r.stdout)
			}
		})
	}
}

func hasArg(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// A bad file is reported line by line and field by field, and nothing is
// sent: the address is closed, so reaching it would exit 3.
func TestEventSendBadJSONL(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	in := `{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}

{"type": "customer.updated", "at": "2026-01-06T15:00:00Z"}
{"type": "contract.sigend", "customer": "acme", "at": "2026-01-06", "data": {"arr": "x"}}
{"type": "customer.updated", "customer": "zoë", "at": "2026-01-06", "attributes": {"seats": "many"}}
`
	if err := os.WriteFile(file, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitUsage, "event", "send", "-f", file, "--playbooks", shipped, "--address", closedAddr(t))
	want := file + ":3: customer: missing customer id\n" +
		file + ":4: type: unknown event type contract.sigend; did you mean contract.signed?\n" +
		file + `:5: attributes.seats: "many" is a string; want a whole number (int)` + "\n" +
		"tend event send: 3 errors in " + file + "; nothing was sent\n"
	if r.stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", r.stderr, want)
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"event", "send", "-f", "-", "--playbooks", shipped, "--address", closedAddr(t)}, strings.NewReader(`{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n{oops\n"), &stdout, &stderr)
	if code != exitUsage || !strings.HasPrefix(stderr.String(), "stdin:2: malformed JSON") {
		t.Errorf("stdin: exit %d, stderr %q", code, stderr.String())
	}
}

func TestEventSendEmptyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte("\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitOK, "event", "send", "-f", file, "--playbooks", shipped, "--address", closedAddr(t))
	if r.stdout != "no events in "+file+"; nothing sent\n" || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestEventSendGoodFileDials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte(`{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitUnreachable, "event", "send", "-f", file, "--playbooks", shipped, "--address", closedAddr(t))
	contains(t, "stderr", r.stderr, "cannot reach Temporal")
}

func TestFlagEvent(t *testing.T) {
	schema := shippedSchema(t)
	now := time.Date(2026, 1, 5, 15, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	ev, err := flagEvent(eventSendCmd{
		Customer: "acme", Type: "customer.updated",
		Attr: []string{"health=41", "csm=null", "name=1984", "reference_ok=true", "nps=9", "plan=\"pro\"", "renewal_date=2026-12-31", "health=42.5"},
	}, schema, now)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]any{"health": 42.5, "csm": nil, "name": "1984", "reference_ok": true, "nps": 9, "plan": `"pro"`,
		"renewal_date": time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(ev.Attributes, wantAttrs) {
		t.Errorf("attributes = %#v\nwant %#v", ev.Attributes, wantAttrs)
	}
	if !ev.At.Equal(now.Truncate(time.Millisecond)) || ev.At.Location() != time.UTC {
		t.Errorf("at = %v, want now in UTC to the millisecond", ev.At)
	}
	if ev.ID != control.EventID(ev) {
		t.Errorf("id = %q, want the derived id", ev.ID)
	}

	ev, err = flagEvent(eventSendCmd{Customer: "acme", Type: "contract.signed", At: "2026-01-31", ID: "crm-9", Data: []string{"arr=90000", "plan=pro"}}, schema, now)
	if err != nil || ev.ID != "crm-9" || !ev.At.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) || ev.Attributes != nil ||
		!reflect.DeepEqual(ev.Data, map[string]any{"arr": 90000.0, "plan": "pro"}) {
		t.Errorf("flagEvent = %+v, %v", ev, err)
	}
}

func TestEventHelp(t *testing.T) {
	r := mustRun(t, exitOK, "event", "send", "--help")
	contains(t, "stdout", r.stdout, "Usage: tend event send", "--customer=", "--attr=KEY=VALUE", "-f, --file=FILE.jsonl", "--from-line=N", "--address=", "$TEMPORAL_ADDRESS", "--api-key=KEY")
	r = mustRun(t, exitOK, "help", "event")
	contains(t, "stdout", r.stdout, "send [flags]")
}

// tend import --dry-run checks every row and sends nothing; row errors
// name the file, line and column, and exit 2.
func TestImportDryRun(t *testing.T) {
	r := mustRun(t, exitOK, "import", "testdata/import/customers.csv", "--dry-run", "--playbooks", shipped, "--address", closedAddr(t))
	if r.stdout != "2 customers in testdata/import/customers.csv, no errors; nothing sent (dry run)\n" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("id,segment,seats\na,smb,1\nb,huge,2\n,smb,3\nd,smb,lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, exitUsage, "import", bad, "--dry-run", "--playbooks", shipped, "--address", closedAddr(t))
	want := bad + `:3:3: column segment (attribute segment): "huge" is not one of smb, mid-market, enterprise` + "\n" +
		bad + ":4: column id: empty customer id\n" +
		bad + `:5:7: column seats (attribute seats): "lots" is not a whole number` + "\n" +
		"tend import: 3 errors in " + bad + "; nothing was sent\n"
	if r.stderr != want || r.stdout != "" {
		t.Errorf("stderr\n%s\nwant\n%s\nstdout %q", r.stderr, want, r.stdout)
	}
}

// An imported row's event id depends only on the row: the same row gives
// the same id, a changed row another.
func TestRowID(t *testing.T) {
	a := rowID(simCustomer("acme", map[string]any{"seats": 3, "name": "Acme"}))
	if a != rowID(simCustomer("acme", map[string]any{"name": "Acme", "seats": 3})) {
		t.Error("same row, different ids")
	}
	if a == rowID(simCustomer("acme", map[string]any{"name": "Acme", "seats": 4})) || a == rowID(simCustomer("acme2", map[string]any{"name": "Acme", "seats": 3})) {
		t.Error("changed row, same id")
	}
}
