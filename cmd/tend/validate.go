package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/node"
)

// validateCmd is `tend validate`: exit 0 when every set is valid, 1 when
// any has errors, 2 on usage errors.
type validateCmd struct {
	Format string   `enum:"text,json,github" default:"text" help:"output format: text, json or github (workflow annotations)"`
	Config string   `placeholder:"FILE" help:"also check every channel: and endpoint: against this tend.yaml (its chat channels and endpoints), as workers do; without paths, validate its playbooks: directory"`
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

func (a *validateCmd) Run(env *cliEnv) error {
	stdout, stderr := env.stdout, env.stderr
	var targets *lang.Targets
	if a.Config != "" {
		// Secrets the worker needs may be unset where validate runs (CI).
		cfg, err := config.LoadClient(a.Config)
		if err != nil {
			return usageError(err)
		}
		t := node.Targets(cfg)
		targets = &t
		if len(a.Paths) == 0 {
			a.Paths = []string{cfg.Playbooks}
		}
	}
	if len(a.Paths) == 0 {
		a.Paths = []string{"playbooks"}
	}
	all, pbs, err := checkSets(a.Paths, targets)
	if err != nil {
		return usageError(err)
	}
	switch a.Format {
	case "json":
		writeValidateJSON(stdout, all, pbs)
	case "github":
		for _, e := range all {
			fmt.Fprintf(stdout, "::error%s::%s\n", githubProps(e.Pos), githubEscape(e.Msg))
		}
	default:
		printErrors(stdout, stderr, all)
		if len(all) == 0 {
			fmt.Fprintf(stdout, "ok: %d %s valid\n", len(pbs), plural(len(pbs), "playbook", "playbooks"))
		}
	}
	if len(all) > 0 {
		return silent(exitInvalid)
	}
	return nil
}

// writeValidateJSON writes tend validate --format json's answer.
func writeValidateJSON(w io.Writer, all tendfmt.ErrorList, pbs []jsonPlaybook) {
	out := validateJSON{Valid: len(all) == 0, Errors: []jsonError{}, Playbooks: pbs}
	if pbs == nil {
		out.Playbooks = []jsonPlaybook{}
	}
	for _, e := range all {
		out.Errors = append(out.Errors, jsonError{e.Pos.File, e.Pos.Line, e.Pos.Col, e.Msg})
	}
	_ = writeJSON(w, out)
}

// printErrors prints errors as tend validate does: one a line on stdout,
// and their count on stderr.
func printErrors(stdout, stderr io.Writer, all tendfmt.ErrorList) {
	for _, e := range all {
		fmt.Fprintln(stdout, e.Error())
	}
	if len(all) > 0 {
		fmt.Fprintln(stderr, errorCount(len(all)))
	}
}

// checkSets loads the playbook sets in paths and checks each, against
// targets too unless that is nil: tend validate's checks, which tend
// publish makes too. It returns every error, sorted, and the playbooks
// of the sets that loaded; an error is a path that cannot be read.
func checkSets(paths []string, targets *lang.Targets) (tendfmt.ErrorList, []jsonPlaybook, error) {
	groups, err := load.Files(paths)
	if err != nil {
		return nil, nil, err
	}
	var all tendfmt.ErrorList
	var pbs []jsonPlaybook
	for _, g := range groups {
		set, errs := g.Load()
		for _, e := range errs {
			if e.Pos.File == "" {
				// A problem of the whole set, such as a missing schema.yaml:
				// name the directory so the message says where.
				e.Pos.File = g.Dir
			}
		}
		all = append(all, errs...)
		if set != nil && targets != nil {
			all = append(all, set.CheckTargets(*targets)...)
		}
		if set != nil {
			for _, pb := range set.Playbooks {
				pbs = append(pbs, jsonPlaybook{pb.Name, pb.Version, pb.File})
			}
		}
	}
	all.Sort()
	return all, pbs, nil
}

// githubEscape escapes a workflow command's message.
func githubEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// githubProps formats the file, line and col properties of a workflow
// command, leaving out the unknown ones; property values also escape : and ,.
func githubProps(p tendfmt.Pos) string {
	esc := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	var props []string
	if p.File != "" {
		props = append(props, "file="+esc.Replace(p.File))
	}
	if p.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", p.Line))
		if p.Col > 0 {
			props = append(props, fmt.Sprintf("col=%d", p.Col))
		}
	}
	if len(props) == 0 {
		return ""
	}
	return " " + strings.Join(props, ",")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
