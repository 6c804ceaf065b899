// Command tend is the playbook engine's command line: validate and simulate
// customer-success playbooks, run them on Temporal (dev, worker), and talk
// to the runs (event send, runs, tasks). See README.md.
//
// The command line is one kong application (app.go): a struct field per
// command, each command a struct with a Run method, flag checks in Validate
// hooks.
//
// Exit codes, the same for every command:
//
//	0  ok
//	1  rejected or failed: invalid playbooks (validate, and the playbooks
//	   of dev and worker), an event or task the server rejected, a run not
//	   found, an operation that failed
//	2  bad usage or input: bad flags, unreadable or malformed files
//	   (tend.yaml included), bad event lines
//	3  Temporal unreachable
//
// A flag's value comes from, in order: the command line, its environment
// variable (TEMPORAL_ADDRESS, ...), tend.yaml (the file named by --config or
// $TEND_CONFIG, else ./tend.yaml if there is one: temporal.address,
// temporal.namespace, temporal.api_key, temporal.tls.* and playbooks), and
// last the flag's default.
package main

import (
	"os"
	"runtime/debug"
	"strings"
)

// version is tend's version, set at build time with
// -ldflags "-X main.version=v1.2.3". Left as "dev", the build information
// says it (buildVersion).
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// versionString is what tend --version prints after "tend ".
func versionString() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	return buildVersion(bi)
}

// buildVersion is the version a binary's build information gives: the
// main module's version (go install module@version, or a go build that
// stamped one from version control), else "devel" with the commit it was
// built from, "+dirty" if the tree had changes, and its time, when Go
// recorded them (go build -buildvcs); and the Go version.
func buildVersion(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	v := "devel"
	if rev != "" {
		v += " " + rev[:min(len(rev), 12)]
		if dirty {
			v += "+dirty"
		}
	}
	var about []string
	if at != "" {
		about = append(about, at)
	}
	if bi.GoVersion != "" {
		about = append(about, bi.GoVersion)
	}
	if len(about) > 0 {
		v += " (" + strings.Join(about, ", ") + ")"
	}
	return v
}
