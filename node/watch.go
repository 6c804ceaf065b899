package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// Watcher holds the last good playbook set of a directory and reloads it:
// a changed set is validated as a whole, and one with any error is logged,
// error by error, and not used. Workers and the HTTP API (which checks
// events against the schema) both watch their playbooks with it.
type Watcher struct {
	dir     string
	log     zerolog.Logger
	targets *lang.Targets
	onSwap  func(workflows.Bundle)

	mu       sync.Mutex
	onReload func(error)
	sum      [32]byte
	bundle   workflows.Bundle
	set      *lang.Set

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Watch loads the playbook set in dir, returning every error if it is
// invalid, and then checks the directory every `every` (never when every
// is negative; 0 means 2s). A set is valid when it loads and, if targets
// is not nil, names only the chat channels and endpoints it lists (see
// Targets). onSwap, if set, is called with each new valid set.
func Watch(dir string, every time.Duration, log zerolog.Logger, targets *lang.Targets, onSwap func(workflows.Bundle)) (*Watcher, error) {
	b, set, sum, errs, err := readBundle(dir, targets)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("playbooks in %s are invalid:\n%w", dir, errs.Err())
	}
	w := &Watcher{dir: dir, log: log, targets: targets, onSwap: onSwap, sum: sum, bundle: b, set: set}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	if every >= 0 {
		if every == 0 {
			every = 2 * time.Second
		}
		w.done.Add(1)
		go w.watch(ctx, every)
	}
	return w, nil
}

// Set is the current playbook set.
func (w *Watcher) Set() *lang.Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.set
}

// Bundle is the current playbook set as a workflows.Bundle.
func (w *Watcher) Bundle() workflows.Bundle {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bundle
}

// OnReload sets f to be told of every reload of a changed directory: nil
// when the new set was swapped in, else why it was refused (the last good
// set stays). Workers count them as metrics. f runs with the watcher's
// lock held, so it must not call the watcher.
func (w *Watcher) OnReload(f func(error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onReload = f
}

// reloaded tells onReload, if set, how a reload ended. w.mu is held.
func (w *Watcher) reloaded(err error) {
	if w.onReload != nil {
		w.onReload(err)
	}
}

// Stop stops watching.
func (w *Watcher) Stop() {
	w.cancel()
	w.done.Wait()
}

func (w *Watcher) watch(ctx context.Context, every time.Duration) {
	defer w.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Reload()
		}
	}
}

// Reload checks the directory now.
func (w *Watcher) Reload() {
	b, set, sum, errs, err := readBundle(w.dir, w.targets)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.log.Error().Err(err).Msg("playbook reload failed; keeping the last good set")
		w.reloaded(err)
		return
	}
	if sum == w.sum {
		return
	}
	w.sum = sum
	if len(errs) > 0 {
		for _, e := range errs {
			w.log.Error().Msg(e.Error())
		}
		w.log.Error().Int("errors", len(errs)).Str("version", w.bundle.Version).Msg("playbook reload failed; keeping the last good set")
		w.reloaded(errs.Err())
		return
	}
	w.log.Info().Str("from", w.bundle.Version).Str("to", b.Version).Msg("playbooks reloaded")
	w.bundle, w.set = b, set
	w.reloaded(nil)
	if w.onSwap != nil {
		w.onSwap(b)
	}
}
