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
)

func TestEventSendUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(file, []byte(`{"type": "x", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n"), 0o644); err != nil {
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
		{"bad time", []string{"event", "send", "--customer", "acme", "--type", "x", "--at", "yesterday"}, `tend event send: --at: "yesterday" is not a time`},
		{"attr without =", []string{"event", "send", "--customer", "acme", "--type", "x", "--attr", "health"}, `tend event send: --attr "health": want KEY=VALUE` + "\n"},
		{"data without key", []string{"event", "send", "--customer", "acme", "--type", "x", "--data", "=1"}, `tend event send: --data "=1": want KEY=VALUE` + "\n"},
		{"daily", []string{"event", "send", "--customer", "acme", "--type", "daily"}, "tend event send: type: daily is a trigger, not an event type\n"},
		{"file and flags", []string{"event", "send", "-f", file, "--customer", "acme"}, "tend event send: -f " + file + " cannot be combined with --customer"},
		{"missing file", []string{"event", "send", "-f", filepath.Join(dir, "nope.jsonl")}, "tend event send: cannot read " + filepath.Join(dir, "nope.jsonl") + ": no such file or directory\n"},
		{"unknown flag", []string{"event", "send", "--customr", "acme"}, "tend event: unknown flag --customr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if len(args) > 1 {
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

func TestEventSendBadJSONL(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	in := `{"type": "contract.signed", "customer": "acme", "at": "2026-01-05T15:00:00Z"}

{"type": "customer.updated", "at": "2026-01-06T15:00:00Z"}
`
	if err := os.WriteFile(file, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	// The address is closed: reaching it would exit 3, so exit 2 shows
	// that nothing was sent.
	r := mustRun(t, exitUsage, "event", "send", "-f", file, "--address", closedAddr(t))
	if want := "tend event send: " + file + ":3: customer: missing customer id\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"event", "send", "-f", "-", "--address", closedAddr(t)}, strings.NewReader(`{"type": "x", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n{oops\n"), &stdout, &stderr)
	if code != exitUsage || !strings.HasPrefix(stderr.String(), "tend event send: stdin:2: malformed JSON") {
		t.Errorf("stdin: exit %d, stderr %q", code, stderr.String())
	}
}

func TestEventSendEmptyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte("\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitOK, "event", "send", "-f", file, "--address", closedAddr(t))
	if r.stdout != "no events in "+file+"; nothing sent\n" || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestEventSendGoodFileDials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte(`{"type": "x", "customer": "acme", "at": "2026-01-05T15:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitUnreachable, "event", "send", "-f", file, "--address", closedAddr(t))
	contains(t, "stderr", r.stderr, "cannot reach Temporal")
}

func TestFlagEvent(t *testing.T) {
	now := time.Date(2026, 1, 5, 15, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	ev, err := flagEvent(eventSendCmd{
		Customer: "acme", Type: "customer.updated",
		Attr: []string{"health=41", "csm=null", "name=Acme Corp", "active=true", "ratio=0.5", `quoted="120"`, "tags=[1, \"a\"]", "empty=", "eq=a=b", "health=42"},
		Data: []string{"source=crm", "obj={\"n\": 1}", "odd=12abc"},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]any{"health": 42, "csm": nil, "name": "Acme Corp", "active": true, "ratio": 0.5, "quoted": "120",
		"tags": []any{1, "a"}, "empty": "", "eq": "a=b"}
	if !reflect.DeepEqual(ev.Attributes, wantAttrs) {
		t.Errorf("attributes = %#v\nwant %#v", ev.Attributes, wantAttrs)
	}
	wantData := map[string]any{"source": "crm", "obj": map[string]any{"n": 1}, "odd": "12abc"}
	if !reflect.DeepEqual(ev.Data, wantData) {
		t.Errorf("data = %#v, want %#v", ev.Data, wantData)
	}
	if !ev.At.Equal(now.Truncate(time.Millisecond)) || ev.At.Location() != time.UTC {
		t.Errorf("at = %v, want now in UTC to the millisecond", ev.At)
	}
	if ev.ID != control.EventID(ev) {
		t.Errorf("id = %q, want the derived id", ev.ID)
	}

	ev, err = flagEvent(eventSendCmd{Customer: "acme", Type: "contract.signed", At: "2026-01-31", ID: "crm-9"}, now)
	if err != nil || ev.ID != "crm-9" || !ev.At.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) || ev.Attributes != nil || ev.Data != nil {
		t.Errorf("flagEvent = %+v, %v", ev, err)
	}
}

func TestEventHelp(t *testing.T) {
	r := mustRun(t, exitOK, "event", "send", "--help")
	contains(t, "stdout", r.stdout, "Usage: tend event send", "--customer=", "--attr=KEY=VALUE", "-f, --file=FILE.jsonl", "--address=", "$TEMPORAL_ADDRESS", "--api-key=KEY")
	r = mustRun(t, exitOK, "help", "event")
	contains(t, "stdout", r.stdout, "send [flags]")
}
