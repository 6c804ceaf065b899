package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/load"
)

type validateArgs struct {
	Format string   `enum:"text,json,github" default:"text" help:"output format: text, json or github (workflow annotations)"`
	Paths  []string `arg:"" optional:"" help:"playbook directories or files (default ./playbooks)"`
}

type validateJSON struct {
	Valid     bool           `json:"valid"`
	Errors    []jsonError    `json:"errors"`
	Playbooks []jsonPlaybook `json:"playbooks"`
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type jsonPlaybook struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	File    string `json:"file"`
}

// validateCmd implements `tend validate`: exit 0 when every set is valid,
// 1 when any has errors, 2 on usage errors.
func validateCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var a validateArgs
	if code, done := parse("validate", &a, args, stdout, stderr); done {
		return code
	}
	if len(a.Paths) == 0 {
		a.Paths = []string{"playbooks"}
	}
	groups, err := load.Files(a.Paths)
	if err != nil {
		fmt.Fprintf(stderr, "tend validate: %v\n", err)
		return exitUsage
	}
	var all engine.ErrorList
	var pbs []jsonPlaybook
	for _, g := range groups {
		set, errs := engine.Load(g.Files)
		all = append(all, errs...)
		if set != nil {
			for _, pb := range set.Playbooks {
				pbs = append(pbs, jsonPlaybook{pb.Name, pb.Version, pb.File})
			}
		}
	}
	all.Sort()
	switch a.Format {
	case "json":
		out := validateJSON{Valid: len(all) == 0, Errors: []jsonError{}, Playbooks: pbs}
		if pbs == nil {
			out.Playbooks = []jsonPlaybook{}
		}
		for _, e := range all {
			out.Errors = append(out.Errors, jsonError{e.Pos.File, e.Pos.Line, e.Pos.Col, e.Msg})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	case "github":
		for _, e := range all {
			fmt.Fprintf(stdout, "::error file=%s,line=%d,col=%d::%s\n", e.Pos.File, e.Pos.Line, e.Pos.Col, githubEscape(e.Msg))
		}
	default:
		for _, e := range all {
			fmt.Fprintln(stdout, e.Error())
		}
		if len(all) == 0 {
			fmt.Fprintf(stdout, "ok: %d playbooks valid\n", len(pbs))
		} else {
			fmt.Fprintf(stderr, "%d %s\n", len(all), plural(len(all), "error", "errors"))
		}
	}
	if len(all) > 0 {
		return exitInvalid
	}
	return exitOK
}

func githubEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
