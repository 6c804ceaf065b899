package lang

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tend-cs/tend/engine/tendfmt"
)

var update = flag.Bool("update", false, "rewrite the .golden files of the golden tests")

// Each directory under testdata/invalid is one invalid playbook set with one
// defect: a playbook file, optional templates/*.md and an optional
// schema.yaml (testdata/invalid/schema.yaml when it has none). Its
// errors.golden holds every error Load reports, sorted, one per line, with
// paths relative to testdata.
const invalidDir = "testdata/invalid"

// readCase returns the files of one case directory, as Load sees them.
func readCase(t *testing.T, dir string) []File {
	t.Helper()
	var files []File
	hasSchema := false
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch ext := filepath.Ext(p); ext {
		case ".yaml", ".yml", ".md":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == "schema.yaml" {
			hasSchema = true
		}
		files = append(files, File{Path: relTestdata(t, p), Data: data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !hasSchema {
		shared := filepath.Join(invalidDir, "schema.yaml")
		data, err := os.ReadFile(shared)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Path: relTestdata(t, shared), Data: data})
	}
	return files
}

func relTestdata(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.Rel("testdata", p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}

// loadErrors loads files and renders the errors as validate prints them.
func loadErrors(t *testing.T, files []File) string {
	t.Helper()
	set, errs := Load(files)
	if (set == nil) == (len(errs) == 0) {
		t.Fatalf("Load returned set %v with %d errors", set != nil, len(errs))
	}
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintln(&b, e.Error())
	}
	return b.String()
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/lang -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("errors differ from %s (-want +got):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff is a small line-by-line diff: lines only in want are marked -,
// lines only in got +, shared lines are kept as context.
func lineDiff(want, got string) string {
	a := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// Longest common subsequence, fine for a few dozen lines.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out bytes.Buffer
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(&out, "  %s\n", a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "- %s\n", a[i])
			i++
		default:
			fmt.Fprintf(&out, "+ %s\n", b[j])
			j++
		}
	}
	return out.String()
}

func TestGoldenInvalid(t *testing.T) {
	entries, err := os.ReadDir(invalidDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(invalidDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			got := loadErrors(t, readCase(t, dir))
			checkGolden(t, filepath.Join(dir, "errors.golden"), got)
		})
	}
	if n < 30 {
		t.Errorf("only %d golden cases in %s; want at least 30", n, invalidDir)
	}
}

// generated are invalid inputs too large to keep in testdata: the shared
// schema plus one generated playbook file. Goldens live in testdata/generated.
var generated = []struct {
	name     string
	playbook func() []byte
}{
	{"file-too-big", func() []byte {
		return bytes.Repeat([]byte("# padding to go over the size cap\n"), tendfmt.MaxFileSize/34+1)
	}},
	{"expr-too-long", func() []byte {
		cond := "customer.seats > 1" + strings.Repeat(" || customer.seats > 1", MaxExprLen/22+1)
		return []byte("playbook: long-condition\ntrigger:\n  on: [contract.signed]\n  when: " + cond +
			"\nsteps:\n  - do: task\n    title: Look\n")
	}},
	{"expr-too-many-nodes", func() []byte {
		cond := "customer.seats > 1" + strings.Repeat("+1", MaxExprNodes)
		return []byte("playbook: big-condition\ntrigger:\n  on: [contract.signed]\n  when: " + cond +
			"\nsteps:\n  - do: task\n    title: Look\n")
	}},
	{"too-many-steps", func() []byte {
		var b strings.Builder
		b.WriteString("playbook: long\ntrigger:\n  on: [contract.signed]\nsteps:\n")
		for i := 0; i <= MaxSteps; i++ {
			b.WriteString("  - wait: 1d\n")
		}
		return []byte(b.String())
	}},
	{"too-many-nodes", func() []byte {
		var b strings.Builder
		b.WriteString("playbook: big\ntrigger:\n  on: [contract.signed]\ndescription: [")
		for i := 0; i < tendfmt.MaxNodes; i++ {
			b.WriteString("1,")
		}
		b.WriteString("1]\nsteps:\n  - wait: 1d\n")
		return []byte(b.String())
	}},
	{"deep-steps", func() []byte {
		var b strings.Builder
		b.WriteString("playbook: deep\ntrigger:\n  on: [contract.signed]\nsteps:\n")
		indent := "  "
		for i := 0; i < 10; i++ {
			fmt.Fprintf(&b, "%s- if: true\n%s  then:\n", indent, indent)
			indent += "    "
		}
		fmt.Fprintf(&b, "%s- wait: 1d\n", indent)
		return []byte(b.String())
	}},
}

func TestGoldenGenerated(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join(invalidDir, "schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range generated {
		t.Run(g.name, func(t *testing.T) {
			files := []File{
				{Path: "invalid/schema.yaml", Data: shared},
				{Path: "generated/" + g.name + ".yaml", Data: g.playbook()},
			}
			checkGolden(t, filepath.Join("testdata", "generated", g.name+".golden"), loadErrors(t, files))
		})
	}
}

// TestGoldenFilesUsed fails on a golden file whose case is gone.
func TestGoldenFilesUsed(t *testing.T) {
	names := map[string]bool{}
	for _, g := range generated {
		names[g.name+".golden"] = true
	}
	matches, _ := filepath.Glob(filepath.Join("testdata", "generated", "*.golden"))
	sort.Strings(matches)
	for _, m := range matches {
		if !names[filepath.Base(m)] {
			t.Errorf("%s has no case in generated", m)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(invalidDir, "*", "errors.golden"))
	for _, d := range dirs {
		own := 0
		for _, f := range readCase(t, filepath.Dir(d)) {
			if strings.HasPrefix(f.Path, relTestdata(t, filepath.Dir(d))+"/") {
				own++
			}
		}
		if own == 0 {
			t.Errorf("%s: case has no input files", filepath.Dir(d))
		}
	}
}
