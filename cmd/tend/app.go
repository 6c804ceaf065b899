package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// command is a subcommand: a function of its arguments and streams that
// returns the exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1 // the input is well-formed but wrong: invalid playbooks
	exitUsage   = 2 // bad flags, missing or unreadable files, malformed input
)

func commands() []command {
	return []command{
		{"validate", "load and check playbooks; print every error as file:line:col", validateCmd},
		{"simulate", "run playbooks against a scenario or real customer data on a virtual clock", simulateCmd},
		{"schema", "print the JSON Schema of playbook files, for editor completion", schemaCmd},
		{"event", "send customer events to Temporal: tend event send", eventCmd},
		{"runs", "list runs, or show one's timeline in plain words: tend runs list|show", runsCmd},
		{"tasks", "list open tasks, or complete one: tend tasks list|complete", tasksCmd},
		{"dev", "Temporal, its Web UI and a worker in one process, for trying tend out", devCmd},
		{"worker", "run playbooks: a worker against an existing Temporal cluster", workerCmd},
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// A usage error: the usage goes to stderr, so that stdout stays clean.
		usage(stderr)
		return exitUsage
	}
	if args[0] == "help" && len(args) > 1 {
		// tend help validate == tend validate --help
		args = []string{args[1], "--help"}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "tend: unknown command %q; commands are %s (run tend --help)\n", args[0], strings.Join(names, ", "))
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tend: rules-driven customer-success playbooks on Temporal")
	fmt.Fprintln(w, "\nUsage: tend <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun tend <command> --help for a command's flags.")
}

type kongExit struct{ code int }

// parse fills cli from args with kong. It returns done=true with an exit
// code when the command must stop: after --help, or on a usage error.
func parse(name string, cli any, args []string, stdout, stderr io.Writer) (code int, done bool) {
	p, err := kong.New(cli, kong.Name("tend "+name), kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(kongExit{c}) }))
	if err != nil {
		fmt.Fprintf(stderr, "tend %s: %v\n", name, err)
		return exitUsage, true
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code, done = e.code, true
			if code != 0 {
				code = exitUsage
			}
		}
	}()
	if _, err := p.Parse(args); err != nil {
		fmt.Fprintf(stderr, "tend %s: %v (run tend %s --help)\n", name, err, name)
		return exitUsage, true
	}
	return 0, false
}
