package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine/tendfmt"
)

// A minimal valid schema for sets written into t.TempDir().
const tinySchema = `customer:
  name: string
  seats: int
  csm: string
  contact_email: string
events:
  contract.signed: {plan: string}
`

const tinyPlaybook = `playbook: hello
owner: customer.csm
trigger:
  on: [contract.signed]
steps:
  - id: welcome
    do: email
    subject: "Hello {{ customer.name }}"
    body: Welcome.
`

func TestValidateExitCodes(t *testing.T) {
	valid := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook})
	invalid := writeFiles(t, t.TempDir(), map[string]string{
		"schema.yaml": tinySchema,
		"hello.yaml":  strings.Replace(tinyPlaybook, "customer.name", "customer.nam", 1),
	})
	noSchema := writeFiles(t, t.TempDir(), map[string]string{"hello.yaml": tinyPlaybook})
	missing := filepath.Join(t.TempDir(), "nope")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"shipped playbooks", []string{"validate", shippedPlaybooks}, exitOK, []string{"ok: 14 playbooks valid"}, nil},
		{"one valid file", []string{"validate", filepath.Join(valid, "hello.yaml")}, exitOK, []string{"ok: 1 playbook valid"}, nil},
		{"shipped and temp sets together", []string{"validate", shippedPlaybooks, valid}, exitOK, []string{"ok: 15 playbooks valid"}, nil},
		{"invalid set", []string{"validate", invalid}, exitInvalid,
			[]string{filepath.Join(invalid, "hello.yaml") + ":8:33: playbook hello: step welcome: subject: unknown attribute nam; did you mean name?"},
			[]string{"1 error\n"}},
		{"a valid and an invalid set", []string{"validate", valid, invalid}, exitInvalid, []string{filepath.Join(invalid, "hello.yaml") + ":8:33:"}, []string{"1 error"}},
		{"no schema names the directory", []string{"validate", noSchema}, exitInvalid, []string{noSchema + ": no schema.yaml found"}, []string{"1 error"}},
		{"unknown flag", []string{"validate", "--strict", shippedPlaybooks}, exitUsage, nil, []string{"unknown flag --strict"}},
		{"bad format", []string{"validate", "--format", "xml", shippedPlaybooks}, exitUsage, nil, []string{`--format must be one of "text","json","github" but got "xml"`}},
		{"format without a value", []string{"validate", "--format"}, exitUsage, nil, []string{"--format"}},
		{"missing path", []string{"validate", missing}, exitUsage, nil, []string{"tend validate: cannot read " + missing + ": no such file or directory"}},
		{"missing path after a good one", []string{"validate", shippedPlaybooks, missing}, exitUsage, nil, []string{"cannot read " + missing}},
		{"missing path in json format", []string{"validate", "--format", "json", missing}, exitUsage, nil, []string{"cannot read " + missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			contains(t, "stdout", r.stdout, tt.stdout...)
			contains(t, "stderr", r.stderr, tt.stderr...)
			if tt.stdout == nil && r.stdout != "" {
				t.Errorf("stdout should be empty on a usage error, got:\n%s", r.stdout)
			}
			if tt.code == exitOK && r.stderr != "" {
				t.Errorf("stderr should be empty, got:\n%s", r.stderr)
			}
		})
	}
}

// The default path is ./playbooks, relative to the working directory.
func TestValidateDefaultPath(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"playbooks/schema.yaml": tinySchema, "playbooks/hello.yaml": tinyPlaybook})
	t.Chdir(dir)
	r := mustRun(t, exitOK, "validate")
	if r.stdout != "ok: 1 playbook valid\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	r = mustRun(t, exitOK, "validate", "--format", "json")
	var out validateJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Playbooks) != 1 || out.Playbooks[0].File != filepath.Join("playbooks", "hello.yaml") {
		t.Errorf("playbooks = %+v", out.Playbooks)
	}
}

var textLine = regexp.MustCompile(`^(.+):(\d+):(\d+): (.+)$`)

func TestValidateText(t *testing.T) {
	r := mustRun(t, exitInvalid, "validate", invalidSet)
	golden(t, "validate.text.golden", r.stdout)
	if r.stderr != "9 errors\n" {
		t.Errorf("stderr = %q, want the error count", r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 9:\n%s", len(lines), r.stdout)
	}
	var errs tendfmt.ErrorList
	for _, l := range lines {
		m := textLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not file:line:col: message", l)
		}
		errs = append(errs, &tendfmt.Error{Pos: tendfmt.Pos{File: m[1], Line: atoi(t, m[2]), Col: atoi(t, m[3])}, Msg: m[4]})
	}
	sorted := append(tendfmt.ErrorList(nil), errs...)
	sorted.Sort()
	for i := range errs {
		if *errs[i] != *sorted[i] {
			t.Errorf("line %d is out of order: %s", i+1, lines[i])
		}
	}
	if !strings.HasPrefix(lines[0], filepath.Join(invalidSet, "welcome.yaml")+":8:18: ") {
		t.Errorf("first line = %q", lines[0])
	}
}

// Errors from several sets are sorted together, whatever the order of the paths.
func TestValidateSortsAcrossSets(t *testing.T) {
	other := writeFiles(t, t.TempDir(), map[string]string{
		"schema.yaml": tinySchema,
		"hello.yaml":  strings.Replace(tinyPlaybook, "customer.name", "customer.nam", 1),
	})
	r := mustRun(t, exitInvalid, "validate", invalidSet, other)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10:\n%s", len(lines), r.stdout)
	}
	if !sort.StringsAreSorted([]string{other, invalidSet}) {
		t.Fatalf("test assumption: %s sorts before %s", other, invalidSet)
	}
	if !strings.HasPrefix(lines[0], filepath.Join(other, "hello.yaml")+":8:33: ") {
		t.Errorf("first line = %q, want the temp set's error first", lines[0])
	}
	if r.stderr != "10 errors\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestValidateJSON(t *testing.T) {
	// An invalid set and a valid one: errors from the first, playbooks from the second.
	r := mustRun(t, exitInvalid, "validate", "--format", "json", invalidSet, contactSet)
	golden(t, "validate.json.golden", r.stdout)
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing in json format", r.stderr)
	}
	var out struct {
		Valid  *bool `json:"valid"`
		Errors []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Message string `json:"message"`
		} `json:"errors"`
		Playbooks []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			File    string `json:"file"`
		} `json:"playbooks"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("not the documented JSON: %v\n%s", err, r.stdout)
	}
	if out.Valid == nil || *out.Valid {
		t.Errorf("valid = %v, want false", out.Valid)
	}
	if len(out.Errors) != 9 {
		t.Fatalf("%d errors, want 9", len(out.Errors))
	}
	e := out.Errors[8]
	if e.File != filepath.Join(invalidSet, "zebra.yaml") || e.Line != 8 || e.Column != 25 ||
		e.Message != "playbook Zebra_Play: step check: if: < cannot compare a float with a string" {
		t.Errorf("last error = %+v", e)
	}
	if len(out.Playbooks) != 1 || out.Playbooks[0].Name != "onboard" || out.Playbooks[0].File != filepath.Join(contactSet, "onboard.yaml") ||
		len(out.Playbooks[0].Version) < 8 {
		t.Errorf("playbooks = %+v", out.Playbooks)
	}
	if strings.Contains(r.stdout, `\u003c`) {
		t.Errorf("json output escapes < as \\u003c; messages should stay readable")
	}

	// A valid set: valid true, errors [] (not null), every playbook listed in name order.
	r = mustRun(t, exitOK, "validate", "--format", "json", shippedPlaybooks)
	var ok map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &ok); err != nil {
		t.Fatal(err)
	}
	if string(ok["valid"]) != "true" || string(ok["errors"]) != "[]" {
		t.Errorf("valid = %s, errors = %s", ok["valid"], ok["errors"])
	}
	var pbs []jsonPlaybook
	if err := json.Unmarshal(ok["playbooks"], &pbs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pbs {
		names = append(names, p.Name)
		if _, err := os.Stat(p.File); err != nil {
			t.Errorf("playbook %s: file %s: %v", p.Name, p.File, err)
		}
		if p.Version == "" {
			t.Errorf("playbook %s has no version", p.Name)
		}
	}
	if len(names) != 14 || !sort.StringsAreSorted(names) || names[0] != "adoption-nudge" {
		t.Errorf("playbooks = %v", names)
	}

	// An invalid set alone: playbooks is [] (not null).
	r = mustRun(t, exitInvalid, "validate", "--format", "json", invalidSet)
	if !strings.Contains(r.stdout, `"playbooks": []`) {
		t.Errorf("want an empty playbooks list:\n%s", r.stdout)
	}
}

var githubLine = regexp.MustCompile(`^::error file=([^,]+),line=(\d+),col=(\d+)::(.+)$`)

func TestValidateGitHub(t *testing.T) {
	r := mustRun(t, exitInvalid, "validate", "--format", "github", invalidSet)
	golden(t, "validate.github.golden", r.stdout)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 9", len(lines))
	}
	for _, l := range lines {
		if !githubLine.MatchString(l) {
			t.Errorf("not a workflow command: %q", l)
		}
	}
	text := mustRun(t, exitInvalid, "validate", invalidSet)
	for i, l := range strings.Split(strings.TrimSuffix(text.stdout, "\n"), "\n") {
		m := textLine.FindStringSubmatch(l)
		g := githubLine.FindStringSubmatch(lines[i])
		if m == nil || g == nil || m[1] != g[1] || m[2] != g[2] || m[3] != g[3] || m[4] != g[4] {
			t.Errorf("text and github formats disagree:\n%s\n%s", l, lines[i])
		}
	}

	// A set-level error has no line: the properties leave it out.
	noSchema := writeFiles(t, t.TempDir(), map[string]string{"hello.yaml": tinyPlaybook})
	r = mustRun(t, exitInvalid, "validate", "--format", "github", noSchema)
	want := "::error file=" + noSchema + "::no schema.yaml found"
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout = %q, want prefix %q", r.stdout, want)
	}
}

func TestGitHubEscaping(t *testing.T) {
	tests := []struct {
		pos  tendfmt.Pos
		msg  string
		want string
	}{
		{tendfmt.Pos{File: "a.yaml", Line: 3, Col: 7}, "plain", "::error file=a.yaml,line=3,col=7::plain"},
		{tendfmt.Pos{File: "a.yaml", Line: 3}, "no column", "::error file=a.yaml,line=3::no column"},
		{tendfmt.Pos{File: "dir"}, "whole set", "::error file=dir::whole set"},
		{tendfmt.Pos{}, "nowhere", "::error::nowhere"},
		{tendfmt.Pos{File: "we,ird:name%.yaml", Line: 1, Col: 1}, "100% sure\nsecond line\r", "::error file=we%2Cird%3Aname%25.yaml,line=1,col=1::100%25 sure%0Asecond line%0D"},
		{tendfmt.Pos{File: "a.yaml", Line: 1, Col: 2}, "a: b, c", "::error file=a.yaml,line=1,col=2::a: b, c"},
	}
	for _, tt := range tests {
		got := "::error" + githubProps(tt.pos) + "::" + githubEscape(tt.msg)
		if got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

// TestValidateConfig: with --config, every channel and endpoint a
// playbook names must be one tend.yaml configures; without it, any name
// passes. Secrets may be unset, as in CI.
func TestValidateConfig(t *testing.T) {
	set := writeFiles(t, t.TempDir(), map[string]string{"schema.yaml": tinySchema, "hello.yaml": tinyPlaybook + `
  - id: team
    do: notify
    channel: cs-alert
    text: "{{ customer.name }} signed"
  - id: crm
    do: webhook
    endpoint: hubspt
    body: {customer: "{{ customer.id }}"}
  - id: boss
    do: escalate
    to: customer.csm
    reason: no reply
`})
	cfgDir := t.TempDir()
	good := writeFiles(t, cfgDir, map[string]string{
		"good.yaml": "chat: {channels: {cs-alert: {webhook: {env: TEND_TEST_UNSET_HOOK}}}}\nendpoints: {hubspt: {url: https://crm.example/h, secret: {env: TEND_TEST_UNSET_SECRET}}}\n",
		"bad.yaml":  "playbooks: " + set + "\nchat: {channels: {cs-alerts: {webhook: https://hooks.example/a}, wins: {webhook: https://hooks.example/b}}}\nendpoints: {hubspot: {url: https://crm.example/h, secret: s3cret-s3cret-s3cret}}\n",
	})
	bad := filepath.Join(cfgDir, "bad.yaml")
	hello := filepath.Join(set, "hello.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"no config: any name", []string{"validate", set}, exitOK, []string{"ok: 1 playbook valid"}},
		{"names configured", []string{"validate", "--config", filepath.Join(good, "good.yaml"), set}, exitOK, []string{"ok: 1 playbook valid"}},
		{"names not configured; the config's playbooks", []string{"validate", "--config", bad}, exitInvalid, []string{
			hello + ":13:14: playbook hello: step team: chat channel cs-alert is not configured in " + bad + " (its channels are cs-alerts, wins); did you mean cs-alerts?\n",
			hello + ":17:15: playbook hello: step crm: endpoint hubspt is not configured in " + bad + " (its endpoints are hubspot); did you mean hubspot?\n",
			hello + ":19:5: playbook hello: step boss: escalate needs channel: or chat.default when " + bad + " has several chat channels; name one of cs-alerts or wins\n",
		}},
		{"missing config", []string{"validate", "--config", filepath.Join(cfgDir, "nope.yaml"), set}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			contains(t, "stdout", r.stdout, tt.stdout...)
		})
	}
}

// A codec section that no command could run with is refused by config
// loading, so that validate --config (the CI gate) refuses what the
// worker, the API and every client refuse, with the same file:line:col.
func TestCodecConfigRefusedAlike(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
	}{
		{"keys empty, primary given", "codec:\n  keys: {}\n  primary: k1\n", ":2:9: codec.keys is empty: give at least one AES-256 key by id"},
		{"keys empty", "codec: {keys: {}}\n", ":1:15: codec.keys is empty"},
		{"ui_origin port out of range", "codec:\n  keys: {k1: " + strings.Repeat("A", 43) + "=}\n  ui_origin: https://ui.example:99999\n",
			`:3:14: codec.ui_origin "https://ui.example:99999" has port "99999"; a port is a number from 1 to 65535`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "tend"+strconv.Itoa(i)+".yaml")
			if err := os.WriteFile(cfg, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"validate", "--config", cfg, shippedPlaybooks},
				{"worker", "--config", cfg, "--playbooks", shippedPlaybooks, "--address", "127.0.0.1:1"},
				{"serve", "--config", cfg, "--address", "127.0.0.1:1"},
				{"runs", "list", "--config", cfg, "--address", "127.0.0.1:1"},
				{"event", "send", "--config", cfg, "--address", "127.0.0.1:1", "--customer", "acme", "--type", "contract.signed"},
			} {
				r := mustRun(t, exitUsage, args...)
				contains(t, strings.Join(args[:2], " ")+" stderr", r.stderr, cfg+tt.want)
			}
		})
	}
}
