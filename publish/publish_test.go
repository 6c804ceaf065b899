package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/publish"
	"github.com/tend-cs/tend/workflows"
)

// set reads a test set as tend publish does.
func set(t *testing.T, dir string) (workflows.Bundle, *lang.Set) {
	t.Helper()
	b, s, errs, err := node.ReadBundle(filepath.Join("testdata", dir), nil)
	if err != nil || len(errs) > 0 {
		t.Fatalf("testdata/%s: %v %v", dir, err, errs)
	}
	return b, s
}

// files lists a store's files with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// waitFor checks a condition until it holds: what it waits for (a
// worker's next poll of the pointer, a query answered by a workflow) has
// no handle to wait on. It fails after a minute.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for range tick.C {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
		}
	}
}

// incompatible registers the workers' workflows, then a PlaybookRun whose
// code differs from the code that recorded the runs: it starts a timer
// where they created a task.
func incompatible(r worker.WorkflowRegistry, pb *workflows.Playbooks) {
	node.RegisterWorkflows(r, pb, workflows.Options{})
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ workflows.RunInput) error {
		return workflow.Sleep(ctx, time.Hour)
	}, workflow.RegisterOptions{Name: workflows.RunWorkflow, DisableAlreadyRegisteredCheck: true})
}

// TestPublish runs tend publish's checks against a real server and a
// worker that follows the store: the first publish, a run in flight, a
// refusal by the replay gate, a dry run, a publish that reaches the
// running worker, a publish of the same set, and a store that lacks the
// set an open run is pinned to.
func TestPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	key := bytes.Repeat([]byte{7}, 32)
	cdc, err := codec.New(map[string][]byte{"k1": key}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("plain", func(t *testing.T) { testPublish(t, nil) })
	// Encrypted histories replay only through the workers' converters.
	t.Run("codec", func(t *testing.T) { testPublish(t, cdc) })
}

func testPublish(t *testing.T, cdc *codec.Codec) {
	tmp := t.TempDir()
	srv, err := devserver.Start(devserver.Options{DBFile: filepath.Join(tmp, "temporal.db"), SearchAttributes: workflows.SearchAttributes(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	copts := client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(zerolog.Nop())}
	cdc.Apply(&copts)
	c, err := client.Dial(copts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	store := workflows.DirStore{Dir: filepath.Join(tmp, "sets")}
	b1, s1 := set(t, "v1")
	b2, s2 := set(t, "v2")
	opts := func(b workflows.Bundle, s *lang.Set) publish.Options {
		return publish.Options{Client: c, Store: store, Bundle: b, Set: s, Codec: cdc}
	}

	// The first publish: nothing runs, nothing was active.
	r, err := publish.Publish(ctx, opts(b1, s1))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Activated || r.Previous != "" || !slices.Equal(r.Added, []string{"upsell", "welcome"}) {
		t.Fatalf("first publish: %+v", r)
	}
	var first bytes.Buffer
	r.WriteText(&first, store.Dir)
	if !strings.Contains(first.String(), "playbooks: 2, all new to this store (nothing was published to it to compare with)") {
		t.Errorf("first publish report:\n%s", first.String())
	}
	if v, _ := store.Active(); v != b1.Version {
		t.Fatalf("active set %q, want %s", v, b1.Version)
	}

	// A worker that follows the store, with a directory that is not v1:
	// the published set wins.
	cfg := config.Default()
	cfg.Outbox = filepath.Join(tmp, "outbox")
	n, err := node.Start(node.Options{Client: c, Config: cfg, Playbooks: filepath.Join("testdata", "v2"), Logger: zerolog.Nop(),
		Reload: 20 * time.Millisecond, Store: store, Follow: node.FollowAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if n.Version() != b1.Version || !strings.Contains(n.Following(), "active set of store") {
		t.Fatalf("worker on %s, following %s; want the published %s", n.Version(), n.Following(), b1.Version)
	}

	// A customer with a run in flight (its task holds it), whose last
	// event lowered its health: v2's rescue would start for it.
	now := time.Now().UTC()
	send := func(evs ...*lang.Event) {
		t.Helper()
		if err := control.SendEvents(ctx, c, evs); err != nil {
			t.Fatal(err)
		}
	}
	send(&lang.Event{ID: "a-signed", Type: "contract.signed", Customer: "acme", At: now},
		&lang.Event{ID: "a-health", Type: "customer.updated", Customer: "acme", At: now,
			Attributes: map[string]any{"name": "Acme", "csm": "jo@vendor.example", "health": 30.0}})
	waitFor(t, "acme's journey to apply both events", func() (bool, string) {
		cust, err := control.GetCustomer(ctx, c, "acme")
		if err != nil {
			return false, err.Error()
		}
		return cust.Stats.Applied == 2 && len(cust.Runs) == 1, fmt.Sprintf("applied %d, runs %d", cust.Stats.Applied, len(cust.Runs))
	})
	const run = "run/welcome/acme/1"
	waitFor(t, "acme's run to hold its task", func() (bool, string) {
		v, err := control.ShowRun(ctx, c, run)
		if err != nil {
			return false, err.Error()
		}
		return len(v.State.Tasks) == 1, v.Waiting
	})

	t.Run("the replay gate refuses incompatible workflow code", func(t *testing.T) {
		before := files(t, store.Dir)
		o := opts(b2, s2)
		o.Register = incompatible
		r, err := publish.Publish(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() || r.Activated {
			t.Fatalf("incompatible code passed: %+v", r)
		}
		i := slices.IndexFunc(r.Failures, func(f publish.Failure) bool { return f.Workflow == run })
		if i < 0 || !strings.Contains(r.Failures[i].Error, "nondeterministic") || !strings.Contains(r.Failures[i].Error, "TMPRL1100") {
			t.Fatalf("failures %+v; want %s, nondeterministic", r.Failures, run)
		}
		if after := files(t, store.Dir); !equal(before, after) {
			t.Errorf("a refused publish wrote to the store: %v, was %v", keys(after), keys(before))
		}
		var out bytes.Buffer
		r.WriteText(&out, store.Dir)
		if !strings.Contains(out.String(), run+" (PlaybookRun): does not replay") || !strings.Contains(out.String(), "refused") {
			t.Errorf("the report does not name the run that failed:\n%s", out.String())
		}
	})

	if cdc != nil {
		// A publisher whose tend.yaml lacks the workers' key, or has no
		// codec: section, cannot read the histories; each is refused for
		// that reason, naming the key, never as a change of code.
		other, err := codec.New(map[string][]byte{"k2": bytes.Repeat([]byte{8}, 32)}, "k2")
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			codec *codec.Codec
			want  string
		}{
			{"the publisher lacks the key", other, "encrypted with key k1, which tend.yaml's codec.keys does not have (it has k2)"},
			{"the publisher has no codec", nil, "encrypted with key k1, and tend.yaml has no codec: section"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				o := opts(b2, s2)
				o.Codec, o.DryRun = tt.codec, true
				r, err := publish.Publish(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() || len(r.Failures) != r.Replayed[workflows.RunWorkflow]+r.Replayed[workflows.JourneyWorkflow]+r.Replayed[workflows.OwnerWorkflow] {
					t.Fatalf("failures %+v of %v checked; want every workflow refused", r.Failures, r.Replayed)
				}
				for _, f := range r.Failures {
					if !strings.Contains(f.Error, tt.want) || strings.Contains(f.Error, "nondeterministic") {
						t.Errorf("%s: %s; want %q and no word of nondeterminism", f.Workflow, f.Error, tt.want)
					}
				}
			})
		}
	}

	t.Run("a dry run checks and reports and writes nothing", func(t *testing.T) {
		before := files(t, store.Dir)
		o := opts(b2, s2)
		o.DryRun = true
		r, err := publish.Publish(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Activated {
			t.Fatalf("dry run: ok %v, activated %v, failures %+v", r.OK(), r.Activated, r.Failures)
		}
		if r.Replayed[workflows.RunWorkflow] != 1 || r.Replayed[workflows.JourneyWorkflow] != 1 {
			t.Errorf("replayed %v; want acme's journey and run", r.Replayed)
		}
		if after := files(t, store.Dir); !equal(before, after) {
			t.Errorf("a dry run wrote to the store: %v, was %v", keys(after), keys(before))
		}
		if !slices.Equal(r.Added, []string{"rescue"}) || !slices.Equal(r.Changed, []string{"upsell", "welcome"}) || len(r.Removed) != 0 {
			t.Errorf("added %v changed %v removed %v; want rescue added, upsell and welcome changed", r.Added, r.Changed, r.Removed)
		}
		want := publish.Pinned{Playbook: "welcome", Version: s1.Playbook("welcome").Version, New: s2.Playbook("welcome").Version, Count: 1, Runs: []string{run}}
		if len(r.Pinned) != 1 || !pinnedEqual(r.Pinned[0], want) {
			t.Errorf("pinned %+v; want %+v", r.Pinned, want)
		}
		tc := publish.TriggerChange{Customer: "acme", Playbook: "rescue", Trigger: "customer.updated", Before: "not in the set", After: "would start"}
		if !slices.Contains(r.Triggers, tc) || r.Customers != 1 {
			t.Errorf("triggers %+v over %d customers (unanswered %+v); want %+v", r.Triggers, r.Customers, r.Unanswered, tc)
		}
		// upsell's trigger changed on contract.signed, which is not
		// acme's last event: it is compared at that event type too, and
		// only there (upsell is not triggered by customer.updated).
		var ups []publish.TriggerChange
		for _, c := range r.Triggers {
			if c.Playbook == "upsell" {
				ups = append(ups, c)
			}
		}
		if len(ups) != 1 || ups[0].Customer != "acme" || ups[0].Trigger != "contract.signed" || ups[0].After != "would start" ||
			ups[0].Before == "" || strings.Contains(ups[0].Before, "would start") {
			t.Fatalf("upsell's trigger changes %+v; want acme's, on contract.signed, from not starting to would start", ups)
		}
		var out bytes.Buffer
		r.WriteText(&out, store.Dir)
		if line := "  acme, upsell, on contract.signed: " + ups[0].Before + " → would start\n"; !strings.Contains(out.String(), line) {
			t.Errorf("the report lacks %q:\n%s", line, out.String())
		}
		if len(r.Triggers) != 2 {
			t.Errorf("triggers %+v; want rescue's and upsell's only", r.Triggers)
		}
	})

	t.Run("activation reaches the running worker", func(t *testing.T) {
		r, err := publish.Publish(ctx, opts(b2, s2))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Activated || r.Previous != b1.Version {
			t.Fatalf("publish v2: %+v", r)
		}
		waitFor(t, "the worker to follow the new active set", func() (bool, string) {
			return n.Version() == b2.Version, n.Version()
		})
		send(&lang.Event{ID: "b-signed", Type: "contract.signed", Customer: "bolt", At: now,
			Attributes: map[string]any{"name": "Bolt", "csm": "jo@vendor.example"}})
		waitFor(t, "bolt's journey to run on the new set", func() (bool, string) {
			cust, err := control.GetCustomer(ctx, c, "bolt")
			if err != nil {
				return false, err.Error()
			}
			return cust.Version == b2.Version && len(cust.Runs) == 1, cust.Version
		})
		// acme's journey, started on v1, takes v2 at its next event
		// (one that starts nothing under either set).
		send(&lang.Event{ID: "a-health-2", Type: "customer.updated", Customer: "acme", At: now, Attributes: map[string]any{"health": 90.0}})
		waitFor(t, "acme's journey to use the new set", func() (bool, string) {
			cust, err := control.GetCustomer(ctx, c, "acme")
			if err != nil {
				return false, err.Error()
			}
			return cust.Version == b2.Version && cust.Stats.Applied == 3, fmt.Sprintf("%s, applied %d", cust.Version, cust.Stats.Applied)
		})
		runs, err := control.ListRuns(ctx, c, control.RunFilter{Customer: "bolt"})
		if err != nil || len(runs) != 1 {
			t.Fatalf("bolt's runs: %v %v", runs, err)
		}
		if v, err := control.ShowRun(ctx, c, runs[0].ID); err != nil || v.State.Version != s2.Playbook("welcome").Version {
			t.Errorf("bolt's run: %+v %v; want welcome at the new version", v, err)
		}
	})

	t.Run("publishing the active set again is a no-op that says so", func(t *testing.T) {
		before := files(t, store.Dir)
		r, err := publish.Publish(ctx, opts(b2, s2))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r.WriteText(&out, store.Dir)
		if !r.Unchanged || r.Activated || !strings.Contains(out.String(), "nothing to publish") {
			t.Errorf("unchanged %v activated %v; report:\n%s", r.Unchanged, r.Activated, out.String())
		}
		if after := files(t, store.Dir); !equal(before, after) {
			t.Errorf("a no-op publish wrote to the store")
		}
	})

	t.Run("a store without the set a run is pinned to is refused", func(t *testing.T) {
		o := opts(b2, s2)
		o.Store = workflows.DirStore{Dir: filepath.Join(tmp, "other")}
		r, err := publish.Publish(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(r.Failures, func(f publish.Failure) bool { return f.Workflow == run })
		if r.OK() || i < 0 || !strings.Contains(r.Failures[i].Error, b1.Version) || !strings.Contains(r.Failures[i].Error, "does not hold") {
			t.Fatalf("failures %+v; want %s refused for missing set %s", r.Failures, run, b1.Version)
		}
		if got := files(t, o.Store.Dir); len(got) != 0 {
			t.Errorf("a refused publish wrote %v", keys(got))
		}
		// Every workflow refused was checked, acme's run refused before
		// its replay too: the header's counts add up.
		var out bytes.Buffer
		r.WriteText(&out, o.Store.Dir)
		const header = "replayed 4 open workflows with this build and the new set (2 CustomerJourney, 2 PlaybookRun, 0 OwnerCalendar): 2 do not\n"
		if !strings.Contains(out.String(), header) || len(r.Failures) != 2 {
			t.Errorf("want the header %q (acme's journey and run refused, bolt's replayed) in:\n%s", header, out.String())
		}
	})

	t.Run("a store whose copy of a set cannot be read is refused for that reason", func(t *testing.T) {
		for _, tt := range []struct {
			name      string
			corrupt   workflows.Bundle // its file in the store is cut short
			b         workflows.Bundle // the set published
			s         *lang.Set
			workflows map[string]string // refused for the corrupt set, and how it is found
		}{
			// acme's run started on v1, and its journey took v1 first.
			{"a set a run is pinned to", b1, b2, s2, map[string]string{run: "it is pinned to", "customer/acme": "its history names"}},
			// acme's journey took v2 at its last event; bolt's run started on it.
			{"a set a history names later", b2, b1, s1, map[string]string{"customer/acme": "its history names", "customer/bolt": "its history names",
				"run/welcome/bolt/1": "it is pinned to"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				o := opts(tt.b, tt.s)
				o.Store = workflows.DirStore{Dir: t.TempDir()}
				o.DryRun = true
				for _, b := range []workflows.Bundle{b1, b2} {
					if err := o.Store.Put(b); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Truncate(filepath.Join(o.Store.Dir, tt.corrupt.Version+".json"), 100); err != nil {
					t.Fatal(err)
				}
				r, err := publish.Publish(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() {
					t.Fatalf("a corrupt set passed: %+v", r)
				}
				reason := "is not playbook set " + tt.corrupt.Version
				for _, f := range r.Failures {
					if strings.Contains(f.Error, "nondeterministic") || !strings.Contains(f.Error, reason) {
						t.Errorf("%s (%s): %s; want the set file's reason, %q", f.Workflow, f.Type, f.Error, reason)
					}
				}
				for w, how := range tt.workflows {
					i := slices.IndexFunc(r.Failures, func(f publish.Failure) bool { return f.Workflow == w })
					if i < 0 || !strings.HasPrefix(r.Failures[i].Error, how+" playbook set "+tt.corrupt.Version+", which store "+o.Store.Dir+" cannot read") {
						t.Errorf("failures %+v; want %s refused: %s playbook set %s", r.Failures, w, how, tt.corrupt.Version)
					}
				}
				if len(r.Failures) != len(tt.workflows) {
					t.Errorf("failures %+v; want %d", r.Failures, len(tt.workflows))
				}
			})
		}
	})

	t.Run("without a worker the triggers are not compared and the gate still runs", func(t *testing.T) {
		n.Stop()
		o := opts(b1, s1)
		o.DryRun = true
		r, err := publish.Publish(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Replayed[workflows.RunWorkflow] != 2 {
			t.Errorf("ok %v, replayed %v, failures %+v", r.OK(), r.Replayed, r.Failures)
		}
		if len(r.Unanswered) != 1 || r.NotAsked != 1 || r.Customers != 0 {
			t.Errorf("unanswered %+v, not asked %d, compared %d; want one timeout and the other journey not asked", r.Unanswered, r.NotAsked, r.Customers)
		}
	})
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func pinnedEqual(a, b publish.Pinned) bool {
	return a.Playbook == b.Playbook && a.Version == b.Version && a.New == b.New && a.Count == b.Count && slices.Equal(a.Runs, b.Runs)
}
