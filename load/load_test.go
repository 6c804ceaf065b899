package load_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/load"
)

// The repository root, seen from this package's directory.
const root = ".."

// playbookDirs lists the shipped playbooks and every example's own set.
func playbookDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{filepath.Join(root, "playbooks")}
	more, err := filepath.Glob(filepath.Join(root, "examples", "*", "playbooks"))
	if err != nil {
		t.Fatal(err)
	}
	return append(dirs, more...)
}

// TestShippedPlaybooksValid loads every shipped and example playbook set as
// `tend validate` does: a single error in any of them fails the build.
func TestShippedPlaybooksValid(t *testing.T) {
	for _, dir := range playbookDirs(t) {
		t.Run(rel(dir), func(t *testing.T) {
			groups, err := load.Files([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			if len(groups) != 1 {
				t.Fatalf("load.Files gave %d groups for one directory", len(groups))
			}
			set, errs := groups[0].Load()
			for _, e := range errs {
				t.Error(e)
			}
			if set == nil {
				return
			}
			yamls, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if want := len(yamls) - 1; len(set.Playbooks) != want { // all but schema.yaml
				t.Errorf("loaded %d playbooks, want %d (one per file)", len(set.Playbooks), want)
			}
			for _, pb := range set.Playbooks {
				if pb.Version == "" {
					t.Errorf("playbook %s has no version", pb.Name)
				}
			}
		})
	}
}

// TestExampleScenariosParse parses every examples/*/scenario.yaml against the
// example's own schema when it has one, and playbooks/schema.yaml otherwise.
func TestExampleScenariosParse(t *testing.T) {
	scenarios, err := filepath.Glob(filepath.Join(root, "examples", "*", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) == 0 {
		t.Fatal("no examples/*/scenario.yaml found")
	}
	for _, file := range scenarios {
		t.Run(rel(file), func(t *testing.T) {
			schemaFile := filepath.Join(filepath.Dir(file), "playbooks", "schema.yaml")
			if _, err := os.Stat(schemaFile); err != nil {
				schemaFile = filepath.Join(root, "playbooks", "schema.yaml")
			}
			sdata, err := os.ReadFile(schemaFile)
			if err != nil {
				t.Fatal(err)
			}
			var serrs tendfmt.ErrorList
			schema := lang.ParseSchema(schemaFile, sdata, &serrs)
			if schema == nil || len(serrs) > 0 {
				t.Fatalf("schema %s: %v", schemaFile, serrs)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc, errs := lang.ParseScenario(file, data, schema)
			for _, e := range errs {
				t.Error(e)
			}
			if sc == nil {
				return
			}
			if len(sc.Customers) == 0 || len(sc.Events) == 0 {
				t.Errorf("scenario has %d customers and %d events; an example needs both", len(sc.Customers), len(sc.Events))
			}
			ids := map[string]bool{}
			for _, c := range sc.Customers {
				ids[c.ID] = true
			}
			for _, ev := range sc.Events {
				if !ids[ev.Customer] {
					t.Errorf("event %s at %s is for customer %s, who is not in the scenario", ev.Type, ev.At, ev.Customer)
				}
				if ev.At.After(sc.Until) {
					t.Errorf("event %s at %s is after until %s", ev.Type, ev.At, sc.Until)
				}
			}
		})
	}
}

// rel names a path for a subtest, relative to the repository root.
func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}
