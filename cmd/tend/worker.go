package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/node"
)

// workerArgs are the flags of `tend worker`. Connection settings come from
// the flag or its environment variable, else from tend.yaml's temporal:
// section, else from the flag's default.
type workerArgs struct {
	Config    string        `default:"tend.yaml" help:"runtime configuration: temporal:, playbooks:, outbox: and channels; the default file may be missing. Flags and TEMPORAL_* variables override its temporal: section"`
	Playbooks string        `placeholder:"DIR" help:"playbook directory (default: playbooks: in the config file, else ./playbooks)"`
	Reload    time.Duration `default:"2s" help:"how often to check the playbooks for changes; 0 never reloads"`
	Log       logFlags      `embed:""`
	Conn      connFlags     `embed:""`

	explicit map[string]bool // flags set on the command line or through their environment variable
}

// AfterApply records which flags were given, so that tend.yaml fills in
// only the others.
func (a *workerArgs) AfterApply(ctx *kong.Context) error {
	a.explicit = explicitFlags(ctx)
	return nil
}

// logFlags are the logging flags of the long-running commands.
type logFlags struct {
	LogLevel  string `enum:"debug,info,warn,error" default:"info" help:"lowest level logged: debug, info, warn or error"`
	LogFormat string `enum:"console,json" default:"console" help:"log lines for people (console) or one JSON object a line, for log collectors (json)"`
}

// logger builds the logger described by the flags, writing to w.
func (f logFlags) logger(w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(f.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel // unreachable: kong checks the enum
	}
	out := w
	if f.LogFormat != "json" {
		out = zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: time.DateTime}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}

// explicitFlags lists the flags set on the command line or through one of
// their environment variables, as opposed to their defaults.
func explicitFlags(ctx *kong.Context) map[string]bool {
	given := map[string]bool{}
	for _, p := range ctx.Path {
		if p.Flag != nil {
			given[p.Flag.Name] = true
		}
	}
	for _, f := range ctx.Flags() {
		for _, env := range f.Tag.Envs {
			if _, ok := os.LookupEnv(env); ok {
				given[f.Name] = true
			}
		}
	}
	return given
}

// withConfig fills the connection flags that were not given explicitly
// from tend.yaml's temporal: section.
func withConfig(f connFlags, t config.Temporal, explicit map[string]bool) connFlags {
	fill := func(flag string, dst *string, v string) {
		if !explicit[flag] && v != "" {
			*dst = v
		}
	}
	fill("address", &f.Address, t.Address)
	fill("namespace", &f.Namespace, t.Namespace)
	fill("api-key", &f.APIKey, string(t.APIKey))
	if tls := t.TLS; tls != nil {
		if !explicit["tls"] {
			f.TLS = true
		}
		fill("tls-cert", &f.TLSCert, tls.Cert)
		fill("tls-key", &f.TLSKey, tls.Key)
		fill("tls-ca", &f.TLSCA, tls.CA)
		fill("tls-server-name", &f.TLSServerName, tls.ServerName)
	}
	return f
}

// workerCmd implements `tend worker`: a worker against an existing
// Temporal cluster, until SIGINT or SIGTERM.
func workerCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	return workerMain(ctx, args, stdout, stderr)
}

// signalContext ends at the first SIGINT or SIGTERM. After that the
// signals are no longer caught, so a second Ctrl-C ends a slow shutdown.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// workerMain runs the worker until ctx ends, then stops it and returns 0.
func workerMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var a workerArgs
	if code, done := parse("worker", &a, args, stdout, stderr); done {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "tend worker: "+format+"\n", args...)
		return code
	}
	if a.Conn.Timeout <= 0 {
		return fail(exitUsage, "--timeout %s: want a positive duration such as 30s", a.Conn.Timeout)
	}
	reload, msg := reloadEvery(a.Reload)
	if msg != "" {
		return fail(exitUsage, "%s", msg)
	}
	cfg, code := loadConfig("worker", a.Config, a.explicit["config"], stderr)
	if code != exitOK {
		return code
	}
	a.Conn = withConfig(a.Conn, cfg.Temporal, a.explicit)
	playbooks := a.Playbooks
	if playbooks == "" {
		playbooks = cfg.Playbooks
	}
	// Checked before dialing: a typo in a playbook is found without a cluster.
	if _, code := checkPlaybooks("worker", playbooks, stderr); code != exitOK {
		return code
	}

	log := a.Log.logger(stderr)
	if a.Conn.Verbose && log.GetLevel() > zerolog.DebugLevel {
		log = log.Level(zerolog.DebugLevel)
	}
	dialCtx, cancel := context.WithTimeout(ctx, a.Conn.Timeout)
	c, err := a.Conn.dial(dialCtx, log)
	cancel()
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			return fail(exitRemote, "%v", err)
		}
		return fail(exitUsage, "%v", err)
	}
	defer c.Close()
	log.Info().Str("address", a.Conn.Address).Str("namespace", a.Conn.Namespace).Msg("connected to Temporal")
	n, err := node.Start(node.Options{Client: c, Config: cfg, Playbooks: playbooks, Logger: log, Reload: reload})
	if err != nil {
		return fail(exitInvalid, "%v", err)
	}
	<-ctx.Done()
	log.Info().Msg("stopping worker")
	n.Stop()
	log.Info().Msg("worker stopped")
	return exitOK
}

// reloadEvery turns --reload into node.Options.Reload, where 0 means the
// default and a negative value never reloads. msg says what is wrong.
func reloadEvery(d time.Duration) (time.Duration, string) {
	switch {
	case d < 0:
		return 0, fmt.Sprintf("--reload %s: want a positive duration such as 2s, or 0 to never reload", d)
	case d == 0:
		return -1, ""
	}
	return d, ""
}

// loadConfig reads the config file. A missing tend.yaml means the
// defaults unless the file was named explicitly. Problems in the file are
// printed as file:line:col and exit 1; a file that cannot be read exits 2.
func loadConfig(name, path string, explicit bool, stderr io.Writer) (*config.Config, int) {
	if !explicit {
		path = ""
	}
	cfg, err := config.Load(path)
	if err == nil {
		return cfg, exitOK
	}
	var errs engine.ErrorList
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		if path == "" {
			path = config.DefaultPath
		}
		fmt.Fprintf(stderr, "tend %s: %s has %d %s\n", name, path, len(errs), plural(len(errs), "error", "errors"))
		return nil, exitInvalid
	}
	fmt.Fprintf(stderr, "tend %s: %v\n", name, err)
	return nil, exitUsage
}

// checkPlaybooks loads and checks a playbook directory as tend validate
// does. It prints every error as file:line:col and returns exit 1 for an
// invalid set, or 2 for a directory that cannot be read; otherwise the
// number of playbooks.
func checkPlaybooks(name, dir string, stderr io.Writer) (int, int) {
	set, errs, err := load.Set(dir)
	if err != nil {
		fmt.Fprintf(stderr, "tend %s: %v\n", name, err)
		return 0, exitUsage
	}
	if len(errs) > 0 {
		for _, e := range errs {
			if e.Pos.File == "" {
				e.Pos.File = dir
			}
		}
		errs.Sort()
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "tend %s: the playbooks in %s have %d %s; check them with tend validate %s\n",
			name, dir, len(errs), plural(len(errs), "error", "errors"), dir)
		return 0, exitInvalid
	}
	return len(set.Playbooks), exitOK
}
