// Package node runs a tend worker: it loads and watches the playbooks,
// builds the activities from tend.yaml, and runs the workflows and
// activities on the task queue `tend`. `tend worker`, `tend dev` and the
// integration tests all start workers through it.
//
// Playbook reloads: the directory is polled, or, once a set has been
// published to the store (tend publish), the store's active pointer (Sets,
// docs/publish.md); a changed set is validated as a whole before use. A
// set with errors is never used: the last good set stays, and every error
// is logged. Journeys pick up a new set at their next event; runs keep the
// version they started with.
//
// Fatal errors: the Temporal worker stops by itself when a poll fails with an
// error the SDK does not retry (the namespace is gone, the server refuses the
// request as invalid; it retries those for two minutes first, and retries an
// unreachable server forever). The node then logs the error and closes Done;
// Err returns the error.
package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/activities"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/load"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Options configures a node.
type Options struct {
	Client    client.Client
	Config    *config.Config // nil: config.Default()
	Playbooks string         // directory; "" means Config.Playbooks
	Logger    zerolog.Logger
	Workflows workflows.Options
	// Reload is how often the playbook directory, or the store's active
	// set, is checked for changes; 0 means every 2s, negative never.
	Reload time.Duration
	// Store keeps every playbook set by version, so that workflows pinned
	// to an older set still run after a restart or on another worker; nil
	// keeps them in memory only. Every worker must read the same store.
	Store workflows.Store
	// Follow says where the current set comes from: the playbooks
	// directory (FollowPlaybooks, the zero value), or the store's active
	// set (FollowStore, and FollowAuto once a set has been published);
	// both of the latter need a Store that is an ActiveStore.
	Follow Follow
	// Worker tunes the Temporal worker (cache size, pollers). Its
	// OnFatalError, if set, is called before Done is closed.
	Worker worker.Options
	// Namespace is the Client's namespace; "" means "default".
	Namespace string
	// InstallationID salts the ids of outgoing mail (activities.Options);
	// "" reads it from Namespace with control.EnsureInstallationID, which
	// stores it there on first start.
	InstallationID string
	// OnReload, if set, is told of every change of the current set after
	// the first, from the directory or the store's active set: nil when
	// the new set is in use, else why it was refused (SetsOptions.OnReload).
	OnReload func(error)
}

// installationTimeout bounds reading (and on first start, storing) the
// installation id.
const installationTimeout = 30 * time.Second

// Node is a running worker.
type Node struct {
	opts Options
	pb   *workflows.Playbooks
	w    worker.Worker
	sets *Sets

	end  sync.Once
	done chan struct{} // closed by the first of a fatal error and Stop
	err  error         // the fatal error; written before done is closed
}

// Start loads the playbooks (every error is returned if they are invalid),
// registers the workflows and activities, and starts polling.
func Start(opts Options) (*Node, error) {
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	if opts.Playbooks == "" {
		opts.Playbooks = opts.Config.Playbooks
	}
	n := &Node{opts: opts, pb: workflows.NewPlaybooks(workflows.Bundle{}), done: make(chan struct{})}
	if opts.Store != nil {
		if _, err := n.pb.WithStore(opts.Store); err != nil {
			return nil, err
		}
	}
	targets := Targets(opts.Config)
	sets, err := follow(SetsOptions{Playbooks: opts.Playbooks, Store: opts.Store, Follow: opts.Follow, Reload: opts.Reload,
		Logger: opts.Logger, Targets: &targets, OnReload: opts.OnReload}, n.pb)
	if err != nil {
		return nil, err
	}
	n.sets = sets
	set := n.Set()
	aopts := ActivityOptions(opts.Config)
	aopts.Book = control.BookSlot(opts.Client)
	if aopts.InstallationID = opts.InstallationID; aopts.InstallationID == "" {
		ns := opts.Namespace
		if ns == "" {
			ns = workflows.DefaultNamespace
		}
		ctx, cancel := context.WithTimeout(context.Background(), installationTimeout)
		aopts.InstallationID, err = control.EnsureInstallationID(ctx, opts.Client, ns)
		cancel()
		if err != nil {
			sets.Stop()
			return nil, err
		}
	}
	if opts.Config.Codec != nil {
		ns := opts.Namespace
		if ns == "" {
			ns = workflows.DefaultNamespace
		}
		ctx, cancel := context.WithTimeout(context.Background(), installationTimeout)
		err = control.MarkEncrypted(ctx, opts.Client, ns)
		cancel()
		if err != nil {
			sets.Stop()
			return nil, err
		}
	}
	acts, err := activities.New(aopts, opts.Logger)
	if err != nil {
		sets.Stop()
		return nil, fmt.Errorf("activities: %w", err)
	}
	if step := set.LinkedStep(); step != "" && opts.Config.Links == nil {
		opts.Logger.Warn().Str("step", step).Msg("surveys and mail marked unsubscribe will fail: they need signed links; add a links: section (base_url, secret) to tend.yaml")
	}
	wopts := opts.Worker
	wopts.OnFatalError = n.fatal
	n.w = worker.New(opts.Client, workflows.TaskQueue, wopts)
	wo := opts.Workflows
	// Search attributes are not encrypted: with a codec, TendOwner names
	// owners by hash, not by the address the customer's record gave.
	wo.HashOwner = wo.HashOwner || opts.Config.Codec != nil
	wo.OnRecord = logHolds(opts.Logger, wo.OnRecord)
	RegisterWorkflows(n.w, n.pb, wo)
	acts.Register(n.w)
	if err := n.w.Start(); err != nil {
		sets.Stop()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	opts.Logger.Info().Str("following", n.Following()).Str("version", n.Version()).
		Str("installation", aopts.InstallationID).Msg("worker started")
	return n, nil
}

// RegisterWorkflows registers tend's workflow types, over pb, on r: a
// worker, or the replayer with which tend publish checks a new set
// against recorded histories, so that both run the same code.
func RegisterWorkflows(r worker.WorkflowRegistry, pb *workflows.Playbooks, opts workflows.Options) {
	workflows.New(pb, opts).Register(r)
}

// logHolds logs a line for every message the contact policy holds, so that
// mail that does not arrive at once (an evening, a weekend, the weekly cap)
// says why; then it passes the record on to next. Workflows call OnRecord
// once per record, never on replay.
func logHolds(log zerolog.Logger, next func(lang.Record)) func(lang.Record) {
	return func(r lang.Record) {
		if r.Kind == lang.RecMessageHeld {
			log.Info().Str("run", r.Run).Str("step", r.Step).
				Msgf("%s %q to %s for %s %s", r.Action, r.Title, r.To, r.Customer, r.Reason)
		}
		if next != nil {
			next(r)
		}
	}
}

// Version is the version of the playbook set in use.
func (n *Node) Version() string { return n.sets.Version() }

// Set is the playbook set in use, for checking events at the edge.
func (n *Node) Set() *lang.Set { return n.sets.Set() }

// Following says where the node takes its playbook set from (Sets.Following).
func (n *Node) Following() string { return n.sets.Following() }

// SetError says why the store's active set is not the one in use, or ""
// (Sets.SetError).
func (n *Node) SetError() string { return n.sets.SetError() }

// Reload checks the playbook directory, or the store's active set, now.
// A changed, valid set replaces the current one; an invalid one is logged,
// error by error, and ignored.
func (n *Node) Reload() { n.sets.Reload() }

// Done is closed when the worker stops, on a fatal error (then Err returns it) or at Stop.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the fatal error that stopped the worker, or nil while it runs and after a plain Stop.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// fatal is the worker's OnFatalError: the SDK calls it once, on its own
// goroutine, and stops the worker when it returns. The watcher goes on
// until Stop.
func (n *Node) fatal(err error) {
	if hook := n.opts.Worker.OnFatalError; hook != nil {
		hook(err)
	}
	n.end.Do(func() {
		n.opts.Logger.Error().Err(err).Msg("worker stopped on a fatal error")
		n.err = err
		close(n.done)
	})
}

// Stop stops the worker and the watcher, and closes Done. It may be called
// more than once, and after a fatal error.
func (n *Node) Stop() {
	n.sets.Stop()
	n.w.Stop()
	n.end.Do(func() { close(n.done) })
}

// ReadBundle reads and validates a playbook directory as workers do, and
// checks its chat channels and endpoints against targets unless that is
// nil: the bundle (with paths relative to dir, so that its version is the
// one a worker on the same files computes) and its set, or every error.
// tend publish makes the bundle it stores with it.
func ReadBundle(dir string, targets *lang.Targets) (workflows.Bundle, *lang.Set, tendfmt.ErrorList, error) {
	b, set, _, errs, err := readBundle(dir, targets)
	return b, set, errs, err
}

// readBundle reads and validates a playbook directory, and checks its
// chat channels and endpoints against targets unless that is nil. sum
// covers the bytes, so an unchanged directory is not validated again.
func readBundle(dir string, targets *lang.Targets) (workflows.Bundle, *lang.Set, [32]byte, tendfmt.ErrorList, error) {
	groups, err := load.Files([]string{dir})
	if err != nil {
		return workflows.Bundle{}, nil, [32]byte{}, nil, err
	}
	var files []lang.File
	var refused tendfmt.ErrorList // files too large, or not regular files
	for _, g := range groups {
		files = append(files, g.Files...)
		refused = append(refused, g.Errs...)
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Data))
		h.Write(f.Data)
	}
	for _, e := range refused {
		fmt.Fprintf(h, "%s\x00", e.Error()) // a refused file changes the sum, so it is reported once
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if len(refused) > 0 {
		for _, e := range refused {
			e.Pos.File = relative(dir, []lang.File{{Path: e.Pos.File}})[0].Path
		}
		return workflows.Bundle{}, nil, sum, refused, nil
	}
	b, set, errs := workflows.NewBundle(relative(dir, files))
	if len(errs) == 0 && targets != nil {
		if errs = set.CheckTargets(*targets); len(errs) > 0 {
			return workflows.Bundle{}, nil, sum, errs, nil
		}
	}
	return b, set, sum, errs, nil
}

// Targets are the chat channels and webhook endpoints cfg configures, which
// the playbooks may name. Workers check every set against them at start
// and at each reload, as tend validate --config does.
func Targets(cfg *config.Config) lang.Targets {
	return lang.Targets{File: cfg.Path, Channels: cfg.Chat.ChannelNames(), DefaultChannel: cfg.Chat.Default, Endpoints: cfg.EndpointNames()}
}

// relative strips the directory from file paths, so that a bundle's
// content (and so journeys' histories) does not depend on where the
// worker's checkout lives.
func relative(dir string, files []lang.File) []lang.File {
	out := make([]lang.File, len(files))
	for i, f := range files {
		p := f.Path
		if r, err := filepath.Rel(dir, f.Path); err == nil && !strings.HasPrefix(r, "..") {
			p = filepath.ToSlash(r)
		}
		out[i] = lang.File{Path: p, Data: f.Data}
	}
	return out
}

// ActivityOptions turns tend.yaml into the activities' options.
func ActivityOptions(c *config.Config) activities.Options {
	o := activities.Options{Outbox: c.Outbox, Chat: activities.ChatOptions{Default: c.Chat.Default, Channels: map[string]string{}}}
	if e := c.Email; e != nil {
		o.Email = &activities.EmailOptions{Addr: e.Addr, Username: e.Username, Password: string(e.Password),
			From: e.From, TLS: e.TLS, Timeout: e.Timeout, RetryFor: e.RetryFor}
	}
	o.Chat.RetryFor = c.Chat.RetryFor
	for name, ch := range c.Chat.Channels {
		o.Chat.Channels[name] = string(ch.Webhook)
	}
	if len(c.Users) > 0 {
		o.Users = map[string]string{}
		for addr, u := range c.Users {
			o.Users[addr] = u.Slack
		}
	}
	if l := c.Links; l != nil {
		o.Links = &links.Config{BaseURL: l.BaseURL, Secret: string(l.Secret)}
	}
	if len(c.Endpoints) > 0 {
		o.Endpoints = map[string]activities.Endpoint{}
		for name, ep := range c.Endpoints {
			o.Endpoints[name] = activities.Endpoint{URL: ep.URL, Secret: string(ep.Secret), Timeout: ep.Timeout, RetryFor: ep.RetryFor}
		}
	}
	o.Staff = Staff(c)
	return o
}

// Staff turns tend.yaml's staff: section into the owners' working
// calendars that meetings are booked in, for the worker and for tend
// simulate alike.
func Staff(c *config.Config) engine.Staff {
	if len(c.Staff) == 0 {
		return nil
	}
	s := engine.Staff{}
	for addr, m := range c.Staff {
		s[addr] = engine.StaffMember{Timezone: m.Timezone, Hours: m.Hours, Workdays: m.Workdays, Seats: m.Seats, Notice: m.Notice}
	}
	return s
}
