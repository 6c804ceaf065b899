package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// go test ./cmd/tend -update rewrites testdata/*.golden and the example
// timelines (examples/*/timeline.golden) from the current output.
var update = flag.Bool("update", false, "rewrite testdata/*.golden and examples/*/timeline.golden")

// Paths relative to cmd/tend, where go test runs.
const (
	shippedPlaybooks = "../../playbooks"
	invalidSet       = "testdata/invalid"
	contactSet       = "testdata/contact/playbooks"
	contactScenario  = "testdata/contact/scenario.yaml"
)

// result is what one CLI invocation did.
type result struct {
	code           int
	stdout, stderr string
	panicked       any // the value of a panic that escaped run, or nil
	stack          string
}

// runCLI calls run as main does, with an empty stdin. A panic is caught and
// returned, so that a test can say which input caused it.
func runCLI(args ...string) (res result) {
	var stdout, stderr bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			res = result{code: -1, stdout: stdout.String(), stderr: stderr.String(), panicked: r, stack: string(debug.Stack())}
		}
	}()
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the CLI and fails the test on a panic or on an exit code
// other than want, showing both streams.
func mustRun(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := runCLI(args...)
	if r.panicked != nil {
		t.Fatalf("tend %s panicked: %v\n%s", strings.Join(args, " "), r.panicked, r.stack)
	}
	if r.code != want {
		t.Fatalf("tend %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenFile(t, filepath.Join("testdata", name), got)
}

// goldenFile compares got with the file at path, or rewrites it with -update.
func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tend -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test ./cmd/tend -update if the change is intended):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines that differ between want and got, with line
// numbers; it is enough to read a golden mismatch without external tools.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		wok, gok := i < len(w), i < len(g)
		if wok {
			wl = w[i]
		}
		if gok {
			gl = g[i]
		}
		if wok && gok && wl == gl {
			continue
		}
		if shown == 20 {
			b.WriteString("... more differences\n")
			break
		}
		shown++
		if wok {
			b.WriteString("-" + strconv.Itoa(i+1) + ": " + wl + "\n")
		}
		if gok {
			b.WriteString("+" + strconv.Itoa(i+1) + ": " + gl + "\n")
		}
	}
	b.WriteString("(want " + strconv.Itoa(len(w)) + " lines, got " + strconv.Itoa(len(g)) + ")\n")
	return b.String()
}

// writeFiles writes files (relative path -> content) under dir and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// contains fails the test unless s contains every one of subs.
func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}
