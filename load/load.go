// Package load reads playbook directories from disk into engine sets. A path
// is a directory (schema.yaml, *.yaml and templates/*.md in it) or a single
// playbook file (checked with the schema and templates beside it).
package load

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/internal/filecap"
)

// Group is the files of one playbook directory, and the problems with the
// files that were not read: too large (tendfmt.MaxFileSize), or not
// regular files (a named pipe called x.yaml would block the reader).
type Group struct {
	Dir   string
	Files []lang.File
	Errs  tendfmt.ErrorList
}

// Load validates the group's files as one set. The problems of the files
// that were not read make the set invalid too: it is returned only when
// there is no problem at all.
func (g Group) Load() (*lang.Set, tendfmt.ErrorList) {
	set, errs := lang.Load(g.Files)
	if len(g.Errs) == 0 {
		return set, errs
	}
	errs = append(append(tendfmt.ErrorList{}, g.Errs...), errs...)
	errs.Sort()
	return nil, errs
}

// Files reads the files of each path, grouped by directory, in path order.
// A path that does not exist is an error (a usage error for the CLI).
func Files(paths []string) ([]Group, error) {
	byDir := map[string]*Group{}
	var order []string
	only := map[string][]string{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, unwrapPathErr(err))
		}
		dir, file := p, ""
		if !st.IsDir() {
			dir, file = filepath.Dir(p), p
		}
		dir = filepath.Clean(dir)
		if _, ok := byDir[dir]; !ok {
			byDir[dir] = &Group{Dir: dir}
			order = append(order, dir)
		}
		if file != "" {
			only[dir] = append(only[dir], filepath.Clean(file))
		} else {
			only[dir] = append(only[dir], "")
		}
	}
	var out []Group
	for _, dir := range order {
		g := byDir[dir]
		whole := false
		for _, f := range only[dir] {
			if f == "" {
				whole = true
			}
		}
		names, err := dirFiles(dir)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			base := filepath.Base(name)
			isPlaybook := strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")
			isSchema := base == "schema.yaml" || base == "schema.yml"
			if isPlaybook && !isSchema && !whole && !slices.Contains(only[dir], name) {
				continue
			}
			data, err := filecap.Read(name, tendfmt.MaxFileSize)
			var tooLarge *filecap.TooLargeError
			var notRegular *filecap.NotRegularError
			switch {
			case errors.As(err, &tooLarge):
				g.Errs.Add(tendfmt.Pos{File: name, Line: 1, Col: 1}, "file is %d bytes; the limit is %d (1 MiB)", tooLarge.Size, tendfmt.MaxFileSize)
				continue
			case errors.As(err, &notRegular):
				g.Errs.Add(tendfmt.Pos{File: name}, "not a regular file but %s; skipped", notRegular.Kind())
				continue
			case err != nil:
				return nil, fmt.Errorf("cannot read %s: %w", name, unwrapPathErr(err))
			}
			g.Files = append(g.Files, lang.File{Path: name, Data: data})
		}
		out = append(out, *g)
	}
	return out, nil
}

// dirFiles lists the playbook files of dir and its templates/ folder, sorted.
func dirFiles(dir string) ([]string, error) {
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", dir, unwrapPathErr(err))
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	tdir := filepath.Join(dir, "templates")
	if entries, err := os.ReadDir(tdir); err == nil {
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".md") {
				out = append(out, filepath.Join(tdir, e.Name()))
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("cannot read %s: %w", tdir, unwrapPathErr(err))
	}
	sort.Strings(out)
	return out, nil
}

// unwrapPathErr drops the path from an fs error: messages name the path once.
func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// Set loads one directory (or one playbook file with its directory's schema).
// A non-nil ErrorList means the set is invalid; error means it could not be read.
func Set(path string) (*lang.Set, tendfmt.ErrorList, error) {
	groups, err := Files([]string{path})
	if err != nil {
		return nil, nil, err
	}
	set, errs := groups[0].Load()
	return set, errs, nil
}
