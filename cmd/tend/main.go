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
)

// version is tend's version, set at build time with
// -ldflags "-X main.version=v1.2.3". Left as "dev", the version of the main
// module from the build information is used when there is one.
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// versionString is what tend --version prints after "tend ".
func versionString() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
