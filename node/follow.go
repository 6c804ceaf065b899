package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/workflows"
)

// Follow says where a worker takes its current playbook set from
// (docs/publish.md).
type Follow string

// The sources a worker can follow.
const (
	// FollowPlaybooks watches the playbooks directory and never reads the
	// store's active pointer: tend dev, and the zero value.
	FollowPlaybooks Follow = "playbooks"
	// FollowStore uses the store's active set, which tend publish sets;
	// the worker does not start while none is active.
	FollowStore Follow = "store"
	// FollowAuto follows the store's active set once one has been
	// published, and the playbooks directory until then: tend worker.
	FollowAuto Follow = "auto"
)

// ActiveStore is a Store with an active set, such as workflows.DirStore:
// what tend publish writes and workers follow.
type ActiveStore interface {
	workflows.Store
	// Active returns the active set's version, or "" when none was
	// ever activated.
	Active() (string, error)
}

// follower makes the store's active set the worker's current set: at
// start, and at every check when the pointer names another version. A
// pointer naming a set that is missing or invalid (it does not compile
// with this build, or names a chat channel or endpoint tend.yaml does
// not configure) keeps the last good set: the reason is logged once and
// kept for Node.SetError.
type follower struct {
	store   ActiveStore
	dir     string // for messages
	pb      *workflows.Playbooks
	targets *lang.Targets
	log     zerolog.Logger
	// onFirst is called once, on the goroutine of the check, when the
	// follower first uses a set: tend worker stops watching the
	// playbooks directory then.
	onFirst func()

	mu      sync.Mutex
	pointer string // the last version the pointer named and the follower acted on
	bundle  workflows.Bundle
	set     *lang.Set
	err     string // why the pointer's set is not in use; "" when it is

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// storeDir names a store in messages.
func storeDir(s workflows.Store) string {
	if d, ok := s.(workflows.DirStore); ok {
		return d.Dir
	}
	return "the store"
}

// active reports whether the follower has a set in use.
func (f *follower) active() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set != nil
}

func (f *follower) current() (workflows.Bundle, *lang.Set, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bundle, f.set, f.err
}

// start polls the pointer every `every` (never when negative).
func (f *follower) start(every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	if every < 0 {
		return
	}
	if every == 0 {
		every = 2 * time.Second
	}
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.check()
			}
		}
	}()
}

func (f *follower) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.done.Wait()
}

// check reads the pointer and switches to the set it names if that is a
// new, good one. It returns an error when the pointer's set is not used,
// and nil when it is used or nothing is active.
func (f *follower) check() error {
	first, err := f.switchTo()
	if first && f.onFirst != nil {
		// Outside f.mu: onFirst may wait for a directory watcher that
		// asks whether the follower is active.
		f.onFirst()
	}
	return err
}

// switchTo is check under f.mu; first says the follower used its first set.
func (f *follower) switchTo() (first bool, _ error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.store.Active()
	if err != nil {
		return false, f.refuse(err)
	}
	if v == "" || v == f.pointer {
		return false, nil
	}
	b, err := f.store.Get(v)
	if err != nil {
		// A missing set may yet appear (a shared volume that is slow to
		// show it): the pointer is read again at the next check.
		return false, f.refuse(fmt.Errorf("the active playbook set %s cannot be read: %w", v, err))
	}
	f.pointer = v
	set, err := f.pb.Set(v)
	if err != nil {
		return false, f.refuse(fmt.Errorf("the active playbook set %s is not used: %w", v, err))
	}
	if f.targets != nil {
		if errs := set.CheckTargets(*f.targets); len(errs) > 0 {
			for _, e := range errs {
				f.log.Error().Msg(e.Error())
			}
			return false, f.refuse(fmt.Errorf("the active playbook set %s is not used: it names %d chat channels or endpoints that %s does not configure", v, len(errs), f.targets.File))
		}
	}
	if err := f.pb.Swap(b); err != nil {
		return false, f.refuse(err)
	}
	first = f.set == nil
	if first {
		f.log.Info().Str("store", f.dir).Str("version", v).Msg("following the store's active playbook set")
	} else {
		f.log.Info().Str("store", f.dir).Str("from", f.bundle.Version).Str("to", v).Msg("active playbook set switched")
	}
	f.bundle, f.set, f.err = b, set, ""
	return first, nil
}

// refuse keeps the last good set and notes why, logging a reason once.
// The caller holds f.mu.
func (f *follower) refuse(err error) error {
	if msg := err.Error(); msg != f.err {
		f.err = msg
		ev := f.log.Error().Err(err).Str("store", f.dir)
		if f.set != nil {
			ev = ev.Str("version", f.bundle.Version)
		}
		ev.Msg("keeping the last good playbook set")
	}
	return err
}

// errNoActive is the start error of a worker told to follow a store in
// which no set was published.
var errNoActive = errors.New("no playbook set is active")
