// Package node runs a tend worker: it loads and watches the playbooks,
// builds the activities from tend.yaml, and runs the workflows and
// activities on the task queue `tend`. `tend worker`, `tend dev` and the
// integration tests all start workers through it.
//
// Playbook reloads: the directory is polled; a changed set is validated as
// a whole before use. A set with errors is never used: the last good set
// stays, and every error is logged. Journeys pick up a new set at their next
// event; runs keep the version they started with.
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
	"github.com/tend-cs/tend/engine"
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
	// Reload is how often the playbook directory is checked for changes;
	// 0 means every 2s, negative never.
	Reload time.Duration
	// Worker tunes the Temporal worker (cache size, pollers).
	Worker worker.Options
}

// Node is a running worker.
type Node struct {
	opts   Options
	pb     *workflows.Playbooks
	w      worker.Worker
	sum    [32]byte
	cancel context.CancelFunc
	done   sync.WaitGroup
	mu     sync.Mutex
	loaded string
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
	n := &Node{opts: opts}
	b, sum, errs, err := readBundle(opts.Playbooks)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("playbooks in %s are invalid:\n%w", opts.Playbooks, errs.Err())
	}
	n.pb, n.sum, n.loaded = workflows.NewPlaybooks(b), sum, b.Version
	acts, err := activities.New(ActivityOptions(opts.Config), opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	n.w = worker.New(opts.Client, workflows.TaskQueue, opts.Worker)
	workflows.New(n.pb, opts.Workflows).Register(n.w)
	acts.Register(n.w)
	if err := n.w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	opts.Logger.Info().Str("playbooks", opts.Playbooks).Str("version", b.Version).Msg("worker started")
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	if opts.Reload >= 0 {
		every := opts.Reload
		if every == 0 {
			every = 2 * time.Second
		}
		n.done.Add(1)
		go n.watch(ctx, every)
	}
	return n, nil
}

// Version is the version of the playbook set in use.
func (n *Node) Version() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.loaded
}

// Stop stops the worker and the watcher.
func (n *Node) Stop() {
	n.cancel()
	n.done.Wait()
	n.w.Stop()
}

func (n *Node) watch(ctx context.Context, every time.Duration) {
	defer n.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.Reload()
		}
	}
}

// Reload checks the playbook directory now. A changed, valid set replaces
// the current one; an invalid one is logged, error by error, and ignored.
func (n *Node) Reload() {
	log := n.opts.Logger
	b, sum, errs, err := readBundle(n.opts.Playbooks)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		log.Error().Err(err).Msg("playbook reload failed; keeping the last good set")
		return
	}
	if sum == n.sum {
		return
	}
	n.sum = sum
	if len(errs) > 0 {
		for _, e := range errs {
			log.Error().Msg(e.Error())
		}
		log.Error().Int("errors", len(errs)).Str("version", n.loaded).Msg("playbook reload failed; keeping the last good set")
		return
	}
	n.pb.Swap(b)
	log.Info().Str("from", n.loaded).Str("to", b.Version).Msg("playbooks reloaded")
	n.loaded = b.Version
}

// readBundle reads and validates a playbook directory. sum covers the
// bytes, so an unchanged directory is not validated again.
func readBundle(dir string) (workflows.Bundle, [32]byte, engine.ErrorList, error) {
	groups, err := load.Files([]string{dir})
	if err != nil {
		return workflows.Bundle{}, [32]byte{}, nil, err
	}
	var files []engine.File
	for _, g := range groups {
		files = append(files, g.Files...)
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Data))
		h.Write(f.Data)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	b, _, errs := workflows.NewBundle(relative(dir, files))
	return b, sum, errs, nil
}

// relative strips the directory from file paths, so that a bundle's
// content (and so journeys' histories) does not depend on where the
// worker's checkout lives.
func relative(dir string, files []engine.File) []engine.File {
	out := make([]engine.File, len(files))
	for i, f := range files {
		p := f.Path
		if r, err := filepath.Rel(dir, f.Path); err == nil && !strings.HasPrefix(r, "..") {
			p = filepath.ToSlash(r)
		}
		out[i] = engine.File{Path: p, Data: f.Data}
	}
	return out
}

// ActivityOptions turns tend.yaml into the activities' options.
func ActivityOptions(c *config.Config) activities.Options {
	o := activities.Options{Outbox: c.Outbox, Chat: activities.ChatOptions{Default: c.Chat.Default, Channels: map[string]string{}}}
	if e := c.Email; e != nil {
		o.Email = &activities.EmailOptions{Addr: e.Addr, Username: e.Username, Password: string(e.Password),
			From: e.From, TLS: e.TLS, Timeout: e.Timeout}
	}
	for name, ch := range c.Chat.Channels {
		o.Chat.Channels[name] = string(ch.Webhook)
	}
	if len(c.Endpoints) > 0 {
		o.Endpoints = map[string]activities.Endpoint{}
		for name, ep := range c.Endpoints {
			o.Endpoints[name] = activities.Endpoint{URL: ep.URL, Secret: string(ep.Secret), Timeout: ep.Timeout}
		}
	}
	return o
}
