package lang

import (
	"crypto/sha256"
	"encoding/hex"
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

// Load validates a whole playbook set: exactly one schema.yaml, any number of
// playbook files, and templates named templates/<name>.md. Files are
// identified by their base name, so callers may pass any directory layout.
// Every problem in every file is collected; the set is returned only when
// there is none.
func Load(files []File) (*Set, tendfmt.ErrorList) { return load(files, true) }

// LoadStored compiles a set that was loaded (and stored) by an earlier
// build of tend, for the runs pinned to it: checks added since (the
// survey response events, checkSurveys) are not applied, so that those
// runs go on. New sets go through Load.
func LoadStored(files []File) (*Set, tendfmt.ErrorList) { return load(files, false) }

func load(files []File, strict bool) (*Set, tendfmt.ErrorList) {
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
	set := &Set{Schema: schema, Templates: map[string]*Template{}, byName: map[string]*Playbook{}, byEvent: map[string][]*Playbook{}}
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
	if strict {
		checkSurveys(schema, set.Playbooks, &errs)
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	schema.flat.restrict()
	sort.Slice(set.Playbooks, func(i, j int) bool { return set.Playbooks[i].Name < set.Playbooks[j].Name })
	h := sha256.New()
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
