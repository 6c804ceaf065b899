package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// workerCmd is `tend worker`: a worker against an existing Temporal
// cluster, until SIGINT or SIGTERM. Connection settings come from the flag
// or its environment variable, else from tend.yaml's temporal: section,
// else from the flag's default.
type workerCmd struct {
	Config string        `default:"tend.yaml" env:"TEND_CONFIG" help:"runtime configuration: temporal:, playbooks:, outbox: and channels; the default file may be missing. Flags and TEMPORAL_* variables override its temporal: section"`
	Set    playbookFlags `embed:""`
	Reload time.Duration `default:"2s" help:"how often to check the playbooks for changes; 0 never reloads"`
	Store  string        `default:".tend/sets" help:"directory of playbook sets by version, written once each: every worker of a cluster must share it, so that a workflow pinned to an older set runs on any worker"`
	Follow string        `enum:"auto,store,playbooks" default:"auto" help:"where the playbook set comes from: auto (the store's active set once tend publish has published one, else the playbooks directory), store (the active set only), playbooks (the directory only)"`
	HTTP   string        `name:"http" env:"TEND_HTTP" placeholder:"HOST:PORT" help:"serve GET /healthz and GET /metrics (Prometheus) on this address, e.g. :9090; no credentials, so keep it inside the cluster"`

	StopTimeout time.Duration `name:"stop-timeout" default:"30s" help:"on SIGTERM, how long activities in flight may finish before they are cancelled (Temporal retries them elsewhere)"`
	StickyCache int           `name:"sticky-cache" default:"10000" help:"workflows kept in memory between their tasks (the SDK's sticky cache); about 27 KiB each, see docs/cluster.md"`

	Log  logFlags  `embed:""`
	Conn connFlags `embed:""`
}

// Help is the text `tend worker --help` prints under the summary.
func (a *workerCmd) Help() string {
	return "Runs until SIGINT or SIGTERM, then exits 0. If the Temporal worker stops on an error it does not " +
		"retry (the namespace was deleted, the server refuses its polls as invalid), tend worker logs the " +
		"error and exits 1. An unreachable server is not such an error: the worker waits for it to come back.\n"
}

// Validate checks --reload. kong calls it (and connFlags.Validate).
func (a *workerCmd) Validate() error {
	if _, err := reloadEvery(a.Reload); err != nil {
		return err
	}
	if a.Store == "" {
		return usagef("--store is empty; give a directory shared by every worker, such as /mnt/tend/sets")
	}
	if a.StopTimeout < 0 {
		return usagef("--stop-timeout %s: want a duration of 0 or more, such as 30s", a.StopTimeout)
	}
	if a.StickyCache < 0 {
		return usagef("--sticky-cache %d: want 0 or more workflows (0 turns the cache off)", a.StickyCache)
	}
	return checkListen("--http", a.HTTP)
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

// Run runs the worker until the context ends, then stops it.
func (a *workerCmd) Run(env *cliEnv) error {
	reload, _ := reloadEvery(a.Reload)
	cfg, err := env.config()
	if err != nil {
		return err
	}
	store := workflows.DirStore{Dir: a.Store}
	follow := node.Follow(a.Follow)
	active := ""
	if follow != node.FollowPlaybooks {
		if active, err = store.Active(); err != nil {
			return failed(err)
		}
		if active == "" && follow == node.FollowStore {
			return failedf("--follow store: no playbook set is active in store %s; publish one with tend publish --store %s", a.Store, a.Store)
		}
	}
	// Checked before dialing: a typo in a playbook is found without a
	// cluster. A worker that follows a published set needs no directory.
	if active == "" {
		if _, err := checkPlaybooks(a.Set.Playbooks, cfg); err != nil {
			return err
		}
	}

	ctx := env.context()
	log := a.Log.logger(env.stderr)
	if a.Conn.Verbose && log.GetLevel() > zerolog.DebugLevel {
		log = log.Level(zerolog.DebugLevel)
	}
	reg, onReload := newRegistry()
	opts, err := a.Conn.options(log, cfg)
	if err != nil {
		return usageError(err)
	}
	opts.MetricsHandler = api.MetricsHandler(reg)
	dialCtx, cancel := context.WithTimeout(ctx, a.Conn.Timeout)
	c, err := client.DialContext(dialCtx, opts)
	cancel()
	if err != nil {
		return &dialError{address: a.Conn.Address, err: err}
	}
	defer c.Close()
	log.Info().Str("address", a.Conn.Address).Str("namespace", a.Conn.Namespace).Msg("connected to Temporal")
	// The cache is the SDK's, one per process: set before the worker starts.
	worker.SetStickyWorkflowCacheSize(a.StickyCache)
	n, err := node.Start(node.Options{Client: c, Config: cfg, Playbooks: a.Set.Playbooks, Logger: log, Reload: reload,
		Store: store, Follow: follow, Namespace: a.Conn.Namespace, OnReload: onReload,
		Worker: worker.Options{WorkerStopTimeout: a.StopTimeout}})
	if err != nil {
		return failed(err)
	}
	if a.HTTP == "" {
		return waitWorker(ctx, n, log)
	}
	// The endpoint outlives the worker's drain, so that probes see it
	// stopping and the last metrics can be scraped.
	opsCtx, stopOps := context.WithCancel(context.Background())
	defer stopOps()
	check := workerHealth(ctx.Done(), n, temporalHealth(c, a.Conn.Address))
	wait, addr, err := startOps(opsCtx, a.HTTP, opsHandler(reg, check, setDegraded(n)), log)
	if err != nil {
		n.Stop()
		return err
	}
	log.Info().Str("http", "http://"+addr).Msg("serving /healthz and /metrics")
	err = waitWorker(ctx, n, log)
	stopOps()
	if werr := wait(); werr != nil {
		log.Error().Err(werr).Msg("health and metrics endpoint")
	}
	return err
}

// runningNode is what waitWorker needs of a *node.Node.
type runningNode interface {
	Done() <-chan struct{}
	Err() error
	Stop()
}

// waitWorker waits for the context to end or the worker to stop on a
// fatal error, then stops the node. A fatal error (which the node has
// logged) fails: exit 1, or 3 when it says Temporal is unavailable.
func waitWorker(ctx context.Context, n runningNode, log zerolog.Logger) error {
	select {
	case <-ctx.Done():
		log.Info().Msg("stopping worker")
	case <-n.Done():
	}
	n.Stop()
	if err := n.Err(); err != nil {
		return failed(fmt.Errorf("the Temporal worker stopped: %w", err))
	}
	log.Info().Msg("worker stopped")
	return nil
}

// reloadEvery turns --reload into node.Options.Reload, where 0 means the
// default and a negative value never reloads.
func reloadEvery(d time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, usagef("--reload %s: want a positive duration such as 2s, or 0 to never reload", d)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

// checkPlaybooks loads and checks the playbook directory of dev and the
// worker as tend validate --config does, against the chat channels and
// endpoints of cfg, and returns the number of playbooks. An invalid set
// fails (exit 1) with its errors; a directory that cannot be read is a
// usage error.
func checkPlaybooks(dir string, cfg *config.Config) (int, error) {
	set, err := loadSet(dir)
	if err != nil {
		if _, ok := err.(*listError); ok {
			return 0, failed(err)
		}
		return 0, usageError(err)
	}
	if errs := set.CheckTargets(node.Targets(cfg)); len(errs) > 0 {
		return 0, failed(&listError{errs: errs, msg: fmt.Sprintf("the playbooks in %s name %s not in %s; check them with tend validate --config %s %s",
			dir, plural(len(errs), "a chat channel or endpoint", "chat channels or endpoints"), cfgName(cfg), cfgName(cfg), dir)})
	}
	return len(set.Playbooks), nil
}

// cfgName names the configuration file in messages.
func cfgName(cfg *config.Config) string {
	if cfg.Path == "" {
		return config.DefaultPath
	}
	return cfg.Path
}
