package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/renameio/v2"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/internal/filecap"
)

// Playbooks is the worker's current playbook set and its store of every set
// a workflow may still name. Journeys and runs record only a set's version,
// a hash of its content, so a version always means the same files: a
// worker resolves it through a bounded cache of compiled sets, then the
// store. A restarted worker, or another one, can thus replay and continue a
// workflow pinned to an old version as long as the store holds it.
type Playbooks struct {
	mu    sync.Mutex
	cur   Bundle
	store Store
	sets  map[string]*cached
	tick  int
}

type cached struct {
	set  *lang.Set
	err  error
	used int
}

// maxCachedSets bounds the compiled sets a worker keeps.
const maxCachedSets = 32

// Store keeps playbook sets by version. Get returns ErrSetNotFound for a
// version it does not hold.
type Store interface {
	Put(Bundle) error
	Get(version string) (Bundle, error)
}

// ErrSetNotFound is returned by a Store for a version it does not hold.
var ErrSetNotFound = errors.New("playbook set not found")

// NewPlaybooks holds a validated bundle as the current set, with a store in
// memory. Use WithStore for one that outlives the process.
func NewPlaybooks(b Bundle) *Playbooks {
	p := &Playbooks{store: NewMemStore(), sets: map[string]*cached{}}
	if b.Version != "" {
		p.Swap(b)
	}
	return p
}

// WithStore makes s the store of sets, keeping the current set in it.
func (p *Playbooks) WithStore(s Store) (*Playbooks, error) {
	p.mu.Lock()
	p.store = s
	cur := p.cur
	p.mu.Unlock()
	if cur.Version != "" {
		if err := s.Put(cur); err != nil {
			return nil, fmt.Errorf("store playbook set %s: %w", cur.Version, err)
		}
	}
	return p, nil
}

// Swap makes a validated bundle the current set and puts it in the store.
// Journeys pick it up at their next event or daily check; runs keep the
// version they started with.
func (p *Playbooks) Swap(b Bundle) error {
	p.mu.Lock()
	store := p.store
	p.mu.Unlock()
	if err := store.Put(b); err != nil {
		return fmt.Errorf("store playbook set %s: %w", b.Version, err)
	}
	p.mu.Lock()
	p.cur = b
	p.mu.Unlock()
	return nil
}

// Current returns the current bundle.
func (p *Playbooks) Current() Bundle {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// Set returns the compiled set of a version. An error wrapping
// ErrSetNotFound means the store does not hold it (retry later); any other
// error means the set does not compile with this build of tend. Both are
// the same on every call, so workflow code may branch on them.
func (p *Playbooks) Set(version string) (*lang.Set, error) {
	p.mu.Lock()
	p.tick++
	if c := p.sets[version]; c != nil {
		c.used = p.tick
		p.mu.Unlock()
		return c.set, c.err
	}
	store := p.store
	p.mu.Unlock()
	b, err := store.Get(version)
	if err != nil {
		return nil, fmt.Errorf("playbook set %s: %w", version, err)
	}
	set, cerr := compile(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sets) >= maxCachedSets {
		oldest := ""
		for v, c := range p.sets {
			if oldest == "" || c.used < p.sets[oldest].used {
				oldest = v
			}
		}
		delete(p.sets, oldest)
	}
	p.sets[version] = &cached{set: set, err: cerr, used: p.tick}
	return set, cerr
}

// NewBundle validates files as a playbook set and returns the bundle with
// the set's version, or every error.
func NewBundle(files []lang.File) (Bundle, *lang.Set, tendfmt.ErrorList) {
	set, errs := lang.Load(files)
	if len(errs) > 0 {
		return Bundle{}, nil, errs
	}
	b := Bundle{Version: set.Version, Semantics: set.Semantics}
	for _, f := range files {
		b.Files = append(b.Files, BundleFile{Path: f.Path, Text: string(f.Data)})
	}
	return b, set, nil
}

// compile returns the set of a bundle.
func compile(b Bundle) (*lang.Set, error) {
	files := make([]lang.File, len(b.Files))
	for i, f := range b.Files {
		files[i] = lang.File{Path: f.Path, Data: []byte(f.Text)}
	}
	set, errs := lang.LoadSemantics(files, b.Semantics)
	if len(errs) > 0 {
		return nil, fmt.Errorf("playbook set %s no longer compiles: %w", b.Version, errs.Err())
	}
	return set, nil
}

// MemStore is a Store in memory: for tests and a single process.
type MemStore struct {
	mu sync.Mutex
	m  map[string]Bundle
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string]Bundle{}} }

// Put keeps b.
func (s *MemStore) Put(b Bundle) error {
	s.mu.Lock()
	s.m[b.Version] = b
	s.mu.Unlock()
	return nil
}

// Get returns the bundle of a version.
func (s *MemStore) Get(v string) (Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[v]
	if !ok {
		return Bundle{}, ErrSetNotFound
	}
	return b, nil
}

// maxBundleFile caps a stored set's file: far above any real set (files
// are capped at 1 MiB each), it only stops what is not a set.
const maxBundleFile = 1 << 30

// DirStore is a Store in a directory: one JSON file per version, written
// once. Every worker that may run a workflow must read the same directory.
type DirStore struct{ Dir string }

func (s DirStore) path(v string) (string, error) {
	if v == "" || strings.ContainsAny(v, `/\.`) {
		return "", fmt.Errorf("bad playbook set version %q", v)
	}
	return filepath.Join(s.Dir, v+".json"), nil
}

// Put writes b unless its version is there already. The file is written
// to a temporary name, synced and renamed, so that a reader (or an active
// pointer naming the version) never sees half a set.
func (s DirStore) Put(b Bundle) error {
	p, err := s.path(b.Version)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return renameio.WriteFile(p, data, 0o644)
}

// activeFile is the name of the active pointer in a DirStore: the version
// of the set workers that follow the store use, on one line.
const activeFile = "active"

// maxActiveFile caps the pointer's size: a version is 12 characters.
const maxActiveFile = 4 << 10

// Activate makes version the store's active set: the workers that follow
// the store switch to it at their next check. The pointer is replaced by
// a rename of a synced temporary file, so a reader sees the old version
// or the new one, never half of either. The set must be in the store.
func (s DirStore) Activate(version string) error {
	p, err := s.path(version)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("activate playbook set %s: %w in %s", version, ErrSetNotFound, s.Dir)
	}
	// The set's own rename is made durable first: after a crash, the
	// pointer never names a set whose file was lost.
	if err := syncDir(s.Dir); err != nil {
		return fmt.Errorf("activate playbook set %s: %w", version, err)
	}
	if err := renameio.WriteFile(filepath.Join(s.Dir, activeFile), []byte(version+"\n"), 0o644); err != nil {
		return fmt.Errorf("activate playbook set %s: %w", version, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return fmt.Errorf("activate playbook set %s: %w", version, err)
	}
	return nil
}

// ErrActiveChanged is the error of ActivateFrom when another version was
// made active since the caller read the pointer.
var ErrActiveChanged = errors.New("the active playbook set changed")

// ActivateFrom makes version the active set if prev ("" for none) still
// is, and succeeds with nothing to do if version is active already. Two publishes to one store each check their set against the set
// that was active when they began; without this, the later rename would
// silently undo the earlier publish, and both would report success. The
// check and the rename hold an exclusive lock on the store's lock file.
func (s DirStore) ActivateFrom(prev, version string) error {
	unlock, err := lockStore(s.Dir)
	if err != nil {
		return fmt.Errorf("activate playbook set %s: lock %s: %w", version, s.Dir, err)
	}
	defer unlock()
	cur, err := s.Active()
	if err != nil {
		return err
	}
	if cur == version {
		return nil // another publish of the same set won: it is active
	}
	if cur != prev {
		was := prev
		if was == "" {
			was = "none"
		}
		return fmt.Errorf("%w from %s to %s while this publish was being checked (another tend publish?): publish again to check against %s", ErrActiveChanged, was, cur, cur)
	}
	return s.Activate(version)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Active returns the version of the store's active set, or "" when no set
// has been activated (published) in it.
func (s DirStore) Active() (string, error) {
	p := filepath.Join(s.Dir, activeFile)
	data, err := filecap.Read(p, maxActiveFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("active playbook set: %w", err)
	}
	v := strings.TrimSpace(string(data))
	if _, err := s.path(v); err != nil {
		return "", fmt.Errorf("active playbook set: %s names %q, not a version", p, v)
	}
	return v, nil
}

// Get reads the bundle of a version.
func (s DirStore) Get(v string) (Bundle, error) {
	p, err := s.path(v)
	if err != nil {
		return Bundle{}, err
	}
	// Sets are written by tend, but the directory is shared: a file there
	// that is not a regular one (or absurdly large) must not hang or
	// exhaust a worker.
	data, err := filecap.Read(p, maxBundleFile)
	if errors.Is(err, os.ErrNotExist) {
		return Bundle{}, fmt.Errorf("%w in %s", ErrSetNotFound, s.Dir)
	}
	if err != nil {
		return Bundle{}, err
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil || b.Version != v {
		return Bundle{}, fmt.Errorf("%s is not playbook set %s", p, v)
	}
	return b, nil
}
