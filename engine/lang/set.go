package lang

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/tend-cs/tend/engine/tendfmt"
)

// File is one input file of a playbook set: its path (as shown in errors) and bytes.
type File struct {
	Path string
	Data []byte
}

// Set is a validated set of playbooks with their schema and templates. A set
// is immutable once loaded: runs keep pointers to the playbooks they started with.
type Set struct {
	Schema    *Schema
	Playbooks []*Playbook // sorted by name
	Templates map[string]*Template
	Version   string
	Semantics int // the level of Semantics its expressions were compiled at

	byName  map[string]*Playbook
	byEvent map[string][]*Playbook
	daily   []*Playbook
	runEnv  *exprEnv
}

// Playbook returns the named playbook, or nil.
func (s *Set) Playbook(name string) *Playbook { return s.byName[name] }

// Triggered returns the playbooks whose trigger names the event type, in name order.
func (s *Set) Triggered(eventType string) []*Playbook {
	if eventType == EventDaily {
		return s.daily
	}
	return s.byEvent[eventType]
}

// Semantics versions what expressions mean, where a release changes it, so
// that a workflow replays a history with the meaning it was recorded with.
// A set records the level it was compiled at (workflows keep it with the
// files), and the level is part of the set's version.
//
//   - 0: a comparison with an unset attribute fails, and a condition that
//     fails is false: `customer.stage != "churned"` is false for a
//     customer with no stage.
//   - 1: unset attributes are nil and follow expr's rules: == and != are
//     false and true, `in` is false, and an ordering such as nil < 60
//     fails with a reason.
const Semantics = 1

// Load validates a whole playbook set: exactly one schema.yaml, any number of
// playbook files, and templates named templates/<name>.md. Files are
// identified by their base name, so callers may pass any directory layout.
// Every problem in every file is collected; the set is returned only when
// there is none. Expressions get the current Semantics.
func Load(files []File) (*Set, tendfmt.ErrorList) { return LoadSemantics(files, Semantics) }

// LoadSemantics is Load at a given level of Semantics: a set stored by an
// earlier release compiles with the meaning it had then, and without the
// checks added since (below level 1: the survey response events,
// checkSurveys), so that the runs pinned to it go on.
func LoadSemantics(files []File, semantics int) (*Set, tendfmt.ErrorList) {
	var errs tendfmt.ErrorList
	var schemaFile *File
	var pbFiles, tplFiles []File
	for i := range files {
		f := files[i]
		base := path.Base(strings.ReplaceAll(f.Path, "\\", "/"))
		switch {
		case base == "schema.yaml" || base == "schema.yml":
			if schemaFile != nil {
				errs.Add(tendfmt.Pos{File: f.Path, Line: 1, Col: 1}, "a second schema file; the first is %s", schemaFile.Path)
				continue
			}
			schemaFile = &files[i]
		case strings.HasSuffix(base, ".md"):
			tplFiles = append(tplFiles, f)
		case strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"):
			pbFiles = append(pbFiles, f)
		default:
			errs.Add(tendfmt.Pos{File: f.Path, Line: 1, Col: 1}, "not a playbook file: expected schema.yaml, *.yaml or templates/*.md")
		}
	}
	if schemaFile == nil {
		errs.Add(tendfmt.Pos{}, "no schema.yaml found: a playbook directory needs a schema.yaml that declares the customer attributes and event types its playbooks use (see docs/language.md#schemayaml)")
		return nil, sorted(errs)
	}
	schema := ParseSchema(schemaFile.Path, schemaFile.Data, &errs)
	if schema == nil {
		return nil, sorted(errs)
	}
	schema.semantics = semantics
	set := &Set{Schema: schema, Semantics: semantics, Templates: map[string]*Template{}, byName: map[string]*Playbook{}, byEvent: map[string][]*Playbook{}}
	set.runEnv = newExprEnv(schema, envRun, schema.EventNames())
	sort.Slice(tplFiles, func(i, j int) bool { return tplFiles[i].Path < tplFiles[j].Path })
	for _, f := range tplFiles {
		name := strings.TrimSuffix(path.Base(f.Path), ".md")
		if prev, dup := set.Templates[name]; dup {
			errs.Add(tendfmt.Pos{File: f.Path, Line: 1, Col: 1}, "template %s is defined twice; the first is %s", name, prev.File)
			continue
		}
		t := ParseTemplate(name, f.Path, f.Data, set.runEnv, &errs)
		if t == nil {
			// Reported already: keep the name known, so that playbooks
			// using it do not also report an unknown template. The set
			// is invalid and never returned.
			t = &Template{Name: name, File: f.Path, source: f.Data}
		}
		set.Templates[name] = t
	}
	sort.Slice(pbFiles, func(i, j int) bool { return pbFiles[i].Path < pbFiles[j].Path })
	files2 := map[string]string{}
	for _, f := range pbFiles {
		pb := ParsePlaybook(f.Path, f.Data, schema, set.Templates, set.runEnv, &errs)
		if pb == nil || pb.Name == "" {
			continue
		}
		if prev, dup := files2[pb.Name]; dup {
			errs.Add(tendfmt.Pos{File: f.Path, Line: 1, Col: 1}, "playbook %s is defined twice; the first is in %s", pb.Name, prev)
			continue
		}
		files2[pb.Name] = f.Path
		set.Playbooks = append(set.Playbooks, pb)
	}
	if semantics >= 1 {
		checkSurveys(schema, set.Playbooks, &errs)
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	schema.flat.restrict()
	sort.Slice(set.Playbooks, func(i, j int) bool { return set.Playbooks[i].Name < set.Playbooks[j].Name })
	h := sha256.New()
	if semantics > 0 {
		// Level 0 sets keep the versions earlier releases gave them.
		fmt.Fprintf(h, "semantics %d\n", semantics)
	}
	for _, pb := range set.Playbooks {
		set.byName[pb.Name] = pb
		for _, t := range pb.Trigger.On {
			set.byEvent[t] = append(set.byEvent[t], pb)
		}
		if pb.Trigger.Daily {
			set.daily = append(set.daily, pb)
		}
		h.Write([]byte(pb.Name + "@" + pb.Version + "\n"))
	}
	set.Version = hex.EncodeToString(h.Sum(nil))[:12]
	return set, nil
}

// sorted sorts l and returns it.
func sorted(l tendfmt.ErrorList) tendfmt.ErrorList {
	l.Sort()
	return l
}
