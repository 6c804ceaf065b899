package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// cli is tend's command line: one field per command. kong builds the
// parser from it, and calls the Run method of the selected command.
type cli struct {
	Version kong.VersionFlag `help:"print tend's version and exit"`

	Validate validateCmd `cmd:"" help:"load and check playbooks; print every error as file:line:col"`
	Simulate simulateCmd `cmd:"" help:"run playbooks against a scenario or real customer data on a virtual clock"`
	Schema   schemaCmd   `cmd:"" help:"print the JSON Schema of playbook files, for editor completion"`
	Event    eventCmd    `cmd:"" help:"send customer events to Temporal: tend event send"`
	Events   eventsCmd   `cmd:"" help:"events journeys could not apply: tend events rejected"`
	Import   importCmd   `cmd:"" help:"send customer records from a CSV file as customer.updated events"`
	Runs     runsCmd     `cmd:"" help:"list runs, or show one's timeline in plain words: tend runs list|show"`
	Explain  explainCmd  `cmd:"" help:"why each playbook did or did not start for a customer, live or in a scenario"`
	Tasks    tasksCmd    `cmd:"" help:"list open tasks, or complete one: tend tasks list|complete"`
	// tend dev, hidden in a -tags nodev build (dev_nodev.go)
	devCommand
	Worker  workerCmd  `cmd:"" help:"run playbooks: a worker against an existing Temporal cluster"`
	Serve   serveCmd   `cmd:"" help:"the HTTP API against an existing Temporal cluster"`
	Publish publishCmd `cmd:"" help:"check a playbook set against the running workflows and make it the active set of every worker"`

	Setup       setupCmd       `cmd:"" help:"prepare a Temporal cluster for tend: the namespace, the search attributes, the installation id"`
	Healthcheck healthcheckCmd `cmd:"" help:"GET a health URL and exit 0 if it answers 2xx: the probe of tend's container image"`
}

// Exit codes shared by every command; see the package documentation.
const (
	exitOK          = 0
	exitInvalid     = 1 // rejected or failed: invalid playbooks, an event the server refused, a run not found
	exitUsage       = 2 // bad flags, missing or unreadable files, malformed input
	exitUnreachable = 3 // Temporal cannot be reached
)

// cliEnv is what every Run method gets, bound by kong: the streams, the
// context and tend.yaml.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	conf   *configFile

	ctx  context.Context
	stop context.CancelFunc // set once ctx watches the signals
}

// context returns the command's context. It ends at the first SIGINT or
// SIGTERM; after that the signals are no longer caught, so a second Ctrl-C
// ends a slow shutdown. Only the commands that watch the context call it,
// so that Ctrl-C still stops the others (validate, simulate) at once.
func (e *cliEnv) context() context.Context {
	if e.stop == nil {
		var stop context.CancelFunc
		e.ctx, stop = signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
		ctx := e.ctx
		go func() {
			<-ctx.Done()
			stop()
		}()
		e.stop = stop
	}
	return e.ctx
}

// config returns tend.yaml: the file named by --config (or $TEND_CONFIG),
// else ./tend.yaml if there is one, else the defaults.
func (e *cliEnv) config() (*config.Config, error) { return e.conf.load() }

// run is tend: it parses args, runs the command and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// runContext is run with a parent context: the long-running commands stop
// when it ends.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usageOut := stdout
	noArgs := len(args) == 0
	switch {
	case noArgs:
		// A usage error: the usage goes to stderr, so that stdout stays clean.
		args, usageOut = []string{"--help"}, stderr
	case args[0] == "help":
		// tend help runs list == tend runs list --help
		args = append(append([]string{}, args[1:]...), "--help")
	}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, conf: &configFile{}, ctx: ctx}
	defer func() {
		if env.stop != nil {
			env.stop()
		}
	}()

	var grammar cli
	exited, exitStatus := false, 0
	// kong calls Exit after --help and --version. Parse then goes on, so
	// exited is looked at once it returns.
	parser, err := newParser(&grammar, env, usageOut, func(code int) { exited, exitStatus = true, code })
	if err != nil {
		// A mistake in the grammar, which every test would show.
		fmt.Fprintf(stderr, "tend: %v\n", err)
		return exitInvalid
	}
	kctx, err := parser.Parse(args)
	switch {
	case exited && (noArgs || exitStatus != 0):
		return exitUsage
	case exited:
		return exitOK
	case err != nil:
		return parseFailed(parser, args, err, stderr)
	}
	env.conf.locate(kctx)
	return report(stderr, commandName(kctx), kctx.Run())
}

// newParser builds the kong parser of grammar. Help goes to usageOut,
// the Run methods get env, and tend.yaml resolves the flags it sets.
func newParser(grammar *cli, env *cliEnv, usageOut io.Writer, exit func(int)) (*kong.Kong, error) {
	return kong.New(grammar,
		kong.Name("tend"),
		kong.Description("Rules-driven customer-success playbooks on Temporal."),
		kong.Writers(usageOut, env.stderr),
		kong.Exit(exit),
		kong.Vars{"version": "tend " + versionString()},
		kong.Bind(env),
		kong.Resolvers(env.conf),
		kong.ConfigureHelp(kong.HelpOptions{WrapUpperBound: 100}),
	)
}

// parseFailed reports an error from kong's Parse and returns the exit code.
func parseFailed(parser *kong.Kong, args []string, err error, stderr io.Writer) int {
	var kctx *kong.Context
	var pe *kong.ParseError
	if errors.As(err, &pe) {
		kctx = pe.Context
	}
	// The Validate hooks and the tend.yaml resolver say what is wrong
	// themselves, under the command's full name.
	var ee *exitError
	if errors.As(err, &ee) {
		return report(stderr, commandName(kctx), ee)
	}
	if kctx == nil || kctx.Selected() == nil {
		var names []string
		for _, c := range parser.Model.Children {
			if !c.Hidden {
				names = append(names, c.Name)
			}
			if c.Name == args[0] {
				names = nil // a known command: not the problem
				break
			}
		}
		if names != nil {
			// kong's message may hold a suggestion: "..., did you mean "simulate"?"
			hint := ""
			if _, s, ok := strings.Cut(err.Error(), ", did you mean "); ok {
				hint = "; did you mean " + s
			}
			fmt.Fprintf(stderr, "tend: unknown command %q; commands are %s%s (run tend --help)\n", args[0], strings.Join(names, ", "), hint)
			return exitUsage
		}
		fmt.Fprintf(stderr, "tend: %v (run tend --help)\n", err)
		return exitUsage
	}
	// kong's own messages name the command typed first, as in
	// "tend runs: unknown flag --x", and the hint the deepest one.
	top := kctx.Selected()
	for top.Parent != nil && top.Parent.Type == kong.CommandNode {
		top = top.Parent
	}
	fmt.Fprintf(stderr, "tend %s: %v (run %s --help)\n", top.Name, err, commandName(kctx))
	return exitUsage
}

// commandName is the selected command as messages name it: "tend runs list".
func commandName(kctx *kong.Context) string {
	if kctx == nil || kctx.Selected() == nil {
		return "tend"
	}
	return kctx.Selected().FullPath()
}

// report prints err, if any, as "<name>: <message>" after the problems it
// lists, and returns its exit code.
func report(stderr io.Writer, name string, err error) int {
	if err == nil {
		return exitOK
	}
	var le *listError
	if errors.As(err, &le) {
		for _, e := range le.errs {
			fmt.Fprintln(stderr, e.Error())
		}
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	}
	return exitCode(err)
}

// exitCode maps an error from a command to the exit code: 3 when Temporal
// cannot be reached, else the code an *exitError carries, 2 for kong's own
// parse errors, and 1 for any other failure.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if unreachable(err) {
		return exitUnreachable
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe *kong.ParseError
	if errors.As(err, &pe) {
		return exitUsage
	}
	return exitInvalid
}

// unreachable says whether err means that Temporal could not be reached:
// a failed dial, or a server that is unavailable. A deadline exceeded once
// connected is not: the server is there but did not answer in time (a
// query with no worker to answer it, say).
func unreachable(err error) bool {
	var de *dialError
	var ue *serviceerror.Unavailable
	return errors.As(err, &de) || errors.As(err, &ue) || status.Code(err) == codes.Unavailable ||
		errors.Is(err, control.ErrUnavailable)
}

// exitError is an error with its exit code. A nil err prints nothing: the
// command has said what went wrong already.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// ExitCode implements kong.ExitCoder.
func (e *exitError) ExitCode() int { return e.code }

// usageError marks err as bad usage or input: exit 2.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// usagef is a usage error with a formatted message.
func usagef(format string, args ...any) error { return usageError(fmt.Errorf(format, args...)) }

// failed marks err as a rejection or failure: exit 1.
func failed(err error) error { return &exitError{code: exitInvalid, err: err} }

// failedf is a failure with a formatted message.
func failedf(format string, args ...any) error { return failed(fmt.Errorf(format, args...)) }

// silent is the exit code alone, for a command that printed its own report.
func silent(code int) error { return &exitError{code: code} }

// listError is a summary of problems that are printed first, one a line
// as file:line:col: message.
type listError struct {
	errs tendfmt.ErrorList
	msg  string
}

func (e *listError) Error() string { return e.msg }

// errorCount says "1 error" or "12 errors".
func errorCount(n int) string { return fmt.Sprintf("%d %s", n, plural(n, "error", "errors")) }
