package workflows

import (
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/tend-cs/tend/engine"
)

// Playbooks is the worker's current playbook set. Journeys read its version
// through a side effect, so a replay sees the set the history recorded,
// and the bundle itself is recorded once per version change. A run carries
// its own playbook's files in its input: that pins it to its version.
type Playbooks struct {
	mu  sync.Mutex
	cur Bundle
}

// NewPlaybooks holds a validated bundle as the current set.
func NewPlaybooks(b Bundle) *Playbooks { return &Playbooks{cur: b} }

// Swap makes a validated bundle the current set. Journeys pick it up at
// their next event or daily check; runs in flight keep their version.
func (p *Playbooks) Swap(b Bundle) {
	p.mu.Lock()
	p.cur = b
	p.mu.Unlock()
}

// Current returns the current bundle.
func (p *Playbooks) Current() Bundle {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// NewBundle validates files as a playbook set and returns the bundle with
// the set's version, or every error.
func NewBundle(files []engine.File) (Bundle, *engine.Set, engine.ErrorList) {
	set, errs := engine.Load(files)
	if len(errs) > 0 {
		return Bundle{}, nil, errs
	}
	b := Bundle{Version: set.Version}
	for _, f := range files {
		b.Files = append(b.Files, BundleFile{Path: f.Path, Text: string(f.Data)})
	}
	setCache.put(b.Version, set)
	bundleCache.put(b)
	return b, set, nil
}

// setCache keeps compiled sets by version. A version is a hash of the
// content, so the cache can be shared by every workflow on the worker
// without breaking determinism: the same version always compiles to the
// same set.
var setCache = &compiled{sets: map[string]*engine.Set{}}

type compiled struct {
	mu   sync.Mutex
	sets map[string]*engine.Set
}

func (c *compiled) get(v string) *engine.Set {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sets[v]
}

func (c *compiled) put(v string, s *engine.Set) {
	c.mu.Lock()
	c.sets[v] = s
	c.mu.Unlock()
}

// compile returns the set of a bundle, compiling it once per worker.
func compile(b Bundle, key string) (*engine.Set, error) {
	if s := setCache.get(key); s != nil {
		return s, nil
	}
	files := make([]engine.File, len(b.Files))
	for i, f := range b.Files {
		files[i] = engine.File{Path: f.Path, Data: []byte(f.Text)}
	}
	set, errs := engine.Load(files)
	if len(errs) > 0 {
		return nil, fmt.Errorf("playbook bundle %s: %w", key, errs.Err())
	}
	setCache.put(key, set)
	return set, nil
}

// runSource is the part of a bundle a run needs: the schema, its playbook
// file and the templates it uses. Those are exactly what its version hashes.
func runSource(b Bundle, set *engine.Set, pb *engine.Playbook) Bundle {
	want := []string{pb.File}
	for _, t := range pb.Templates {
		if tp := set.Templates[t]; tp != nil {
			want = append(want, tp.File)
		}
	}
	out := Bundle{Version: pb.Name + "@" + pb.Version}
	for _, f := range b.Files {
		base := path.Base(f.Path)
		if base == "schema.yaml" || base == "schema.yml" || slices.Contains(want, f.Path) {
			out.Files = append(out.Files, f)
		}
	}
	return out
}

// bundleCache keeps the files of every set a journey has used, by version,
// so a journey holds only a version string and runs get their sources.
var bundleCache = &bundles{m: map[string]Bundle{}}

type bundles struct {
	mu sync.Mutex
	m  map[string]Bundle
}

func (c *bundles) get(v string) (Bundle, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[v]
	return b, ok
}

func (c *bundles) put(b Bundle) {
	c.mu.Lock()
	c.m[b.Version] = b
	c.mu.Unlock()
}
