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
	// onReload is SetsOptions.OnReload.
	onReload func(error)

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
	if v == "" {
		return false, nil
	}
	if f.set != nil && v == f.bundle.Version {
		// Back to the set in use, after a pointer that was refused.
		f.pointer = v
		if f.err != "" {
			f.err = ""
			f.log.Info().Str("store", f.dir).Str("version", v).Msg("the active playbook set is the one in use again")
		}
		return false, nil
	}
	if v == f.pointer {
		return false, nil // refused, and logged, already
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
		if f.onReload != nil {
			f.onReload(nil)
		}
	}
	f.bundle, f.set, f.err = b, set, ""
	return first, nil
}

// refuse keeps the last good set and notes why, logging a reason once.
// Before the store gave a set there is none of its own to keep: a worker
// starting then stops with the error, and --follow auto keeps the
// playbooks directory's.
// The caller holds f.mu.
func (f *follower) refuse(err error) error {
	if msg := err.Error(); msg != f.err {
		f.err = msg
		if f.set != nil && f.onReload != nil {
			f.onReload(err)
		}
		if f.set != nil {
			f.log.Error().Err(err).Str("store", f.dir).Str("version", f.bundle.Version).Msg("keeping the last good playbook set")
		} else {
			f.log.Error().Err(err).Str("store", f.dir).Msg("the store's active playbook set is not used")
		}
	}
	return err
}

// errNoActive is the start error of a worker told to follow a store in
// which no set was published.
var errNoActive = errors.New("no playbook set is active")

// SetsOptions says where a Sets takes the current playbook set from.
type SetsOptions struct {
	Playbooks string // the playbooks directory
	// Store is the store of sets; it must be an ActiveStore unless
	// Follow is FollowPlaybooks.
	Store  workflows.Store
	Follow Follow // "" is FollowPlaybooks
	// Reload is how often the directory or the pointer is checked; 0
	// means every 2s, negative never.
	Reload  time.Duration
	Logger  zerolog.Logger
	Targets *lang.Targets // checked on every set, when not nil
	// OnReload, if set, is told of every change of set after the first:
	// nil when a new set is in use, else why one was refused (once per
	// reason).
	OnReload func(error)
}

// Sets is the current playbook set of a worker, or of tend serve (whose
// schema checks events at the edge): the playbooks directory's, watched,
// or the store's active set, followed (docs/publish.md). In FollowAuto,
// the directory is followed until a set is published to the store; from
// then on, only the store's active set.
type Sets struct {
	playbooks string
	pbw       *Watcher  // the directory; nil when only the store is followed
	fol       *follower // the store's active set; nil when only the directory is
}

// FollowSets loads the current set as o says, and keeps it current. The
// store is only read: tend serve uses it, next to the workers that write
// their sets.
func FollowSets(o SetsOptions) (*Sets, error) {
	pb, err := workflows.NewPlaybooks(workflows.Bundle{}).WithStore(readOnly{o.Store})
	if err != nil {
		return nil, err
	}
	return follow(o, pb)
}

// readOnly is a store that is never written: Put does nothing.
type readOnly struct{ workflows.Store }

func (r readOnly) Put(workflows.Bundle) error { return nil }

func (r readOnly) Get(v string) (workflows.Bundle, error) {
	if r.Store == nil {
		return workflows.Bundle{}, workflows.ErrSetNotFound
	}
	return r.Store.Get(v)
}

// follow builds the Sets of o over pb, whose current set it keeps.
func follow(o SetsOptions, pb *workflows.Playbooks) (*Sets, error) {
	mode := o.Follow
	if mode == "" {
		mode = FollowPlaybooks
	}
	s := &Sets{playbooks: o.Playbooks}
	if mode != FollowPlaybooks {
		as, ok := o.Store.(ActiveStore)
		if !ok {
			return nil, fmt.Errorf("following the store's active playbook set needs a store directory (--store)")
		}
		s.fol = &follower{store: as, dir: storeDir(o.Store), pb: pb, targets: o.Targets, log: o.Logger, onReload: o.OnReload}
		if err := s.fol.check(); err != nil {
			return nil, err
		}
		if !s.fol.active() && mode == FollowStore {
			return nil, fmt.Errorf("%w in store %s: publish one with tend publish --store %s", errNoActive, s.fol.dir, s.fol.dir)
		}
	}
	if s.fol == nil || !s.fol.active() {
		pbw, err := Watch(o.Playbooks, o.Reload, o.Logger, o.Targets, func(b workflows.Bundle) {
			if s.fol != nil && s.fol.active() {
				return // a set was published meanwhile: the store wins
			}
			if err := pb.Swap(b); err != nil {
				o.Logger.Error().Err(err).Str("version", b.Version).Msg("playbook set not swapped in")
			}
		})
		if err != nil {
			return nil, err
		}
		if o.OnReload != nil {
			pbw.OnReload(o.OnReload)
		}
		if err := pb.Swap(pbw.Bundle()); err != nil {
			pbw.Stop()
			return nil, err
		}
		s.pbw = pbw
		if s.fol != nil {
			s.fol.onFirst = func() {
				o.Logger.Warn().Str("playbooks", o.Playbooks).Str("store", s.fol.dir).
					Msg("a playbook set was published to the store: following its active set from now on, no longer the playbooks directory")
				go pbw.Stop()
			}
		}
	}
	if s.fol != nil {
		s.fol.start(o.Reload)
	}
	return s, nil
}

// Version is the version of the set in use.
func (s *Sets) Version() string {
	if s.fol != nil && s.fol.active() {
		b, _, _ := s.fol.current()
		return b.Version
	}
	return s.pbw.Bundle().Version
}

// Set is the set in use.
func (s *Sets) Set() *lang.Set {
	if s.fol != nil && s.fol.active() {
		_, set, _ := s.fol.current()
		return set
	}
	return s.pbw.Set()
}

// Following says where the set comes from, in words: "the active set of
// store DIR", or "playbooks directory DIR" (and, in FollowAuto, until
// when).
func (s *Sets) Following() string {
	switch {
	case s.fol != nil && s.fol.active():
		return "the active set of store " + s.fol.dir
	case s.fol != nil:
		return "playbooks directory " + s.playbooks + ", until a set is published to store " + s.fol.dir
	}
	return "playbooks directory " + s.playbooks
}

// SetError says why the store's active set is not the one in use (it is
// missing, does not compile with this build, or names a chat channel or
// endpoint tend.yaml does not configure), or "" when it is.
func (s *Sets) SetError() string {
	if s.fol == nil {
		return ""
	}
	_, _, err := s.fol.current()
	return err
}

// Reload checks the directory, or the store's pointer, now.
func (s *Sets) Reload() {
	if s.fol != nil {
		_ = s.fol.check()
		if s.fol.active() {
			return
		}
	}
	s.pbw.Reload()
}

// Stop stops watching and following.
func (s *Sets) Stop() {
	if s.fol != nil {
		s.fol.stop()
	}
	if s.pbw != nil {
		s.pbw.Stop()
	}
}
