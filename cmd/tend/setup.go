package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/workflows"
)

// setupCmd is `tend setup`: what a Temporal cluster needs before tend's
// workers and API use it, done once and safe to repeat: the namespace,
// tend's search attributes and the installation id. tend dev does the same
// for its embedded server by itself.
type setupCmd struct {
	Config    string        `default:"tend.yaml" env:"TEND_CONFIG" help:"runtime configuration: its temporal: section says which cluster and namespace; the default file may be missing. Flags and TEMPORAL_* variables override it"`
	Retention time.Duration `default:"720h" help:"how long closed runs stay readable, set when the namespace is registered (720h is 30 days); an existing namespace keeps its own"`
	Wait      time.Duration `default:"2m" help:"how long to keep trying while Temporal is unreachable or the new namespace is not ready yet (a cluster that is still starting)"`
	Conn      connFlags     `embed:""`
}

// Help is the text `tend setup --help` prints under the summary.
func (a *setupCmd) Help() string {
	return "Registers the namespace if it is missing, adds the search attributes tend's workflows set " +
		"(TendCustomer, TendPlaybook, ...; one already there with the same type is fine, one with another type is an error), " +
		"and stores the installation id that salts Message-IDs and invite UIDs. Run it before the first worker, " +
		"and again after an upgrade: it changes only what is missing. Exits 0 when all three are in place.\n"
}

// Validate checks --retention and --wait. kong calls it.
func (a *setupCmd) Validate() error {
	switch {
	case a.Retention < 24*time.Hour:
		return usagef("--retention %s: want at least 24h (Temporal's minimum is a day), such as 720h for 30 days", a.Retention)
	case a.Wait < 0:
		return usagef("--wait %s: want a duration of 0 or more, such as 2m", a.Wait)
	}
	return nil
}

// defaultRetention is --retention's default (its tag says 720h too).
const defaultRetention = 720 * time.Hour

// setupRetry is how often setup tries again while it waits.
const setupRetry = time.Second

// Run prepares the cluster.
func (a *setupCmd) Run(env *cliEnv) error {
	ctx, cancel := context.WithTimeout(env.context(), a.Wait+a.Conn.Timeout)
	defer cancel()
	cfg, err := env.config()
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, a.Conn.Verbose)
	var c client.Client
	err = retrying(ctx, a.Wait, func() (bool, error) {
		dctx, dcancel := context.WithTimeout(ctx, a.Conn.Timeout)
		defer dcancel()
		var err error
		c, err = a.Conn.dial(dctx, log, cfg)
		var de *dialError
		return errors.As(err, &de), err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	ns := a.Conn.Namespace
	out := env.stdout

	registered, retention, err := ensureNamespace(ctx, c, ns, a.Retention)
	if err != nil {
		return failed(err)
	}
	if registered {
		fmt.Fprintf(out, "namespace %s: registered, retention %s\n", ns, retention)
	} else {
		fmt.Fprintf(out, "namespace %s: exists, retention %s\n", ns, retention)
		if retention != a.Retention && a.Retention != defaultRetention {
			// An existing namespace keeps its own: setup never changes it.
			fmt.Fprintf(out, "namespace %s: --retention %s not applied: it keeps its retention of %s (change it with temporal operator namespace update)\n", ns, a.Retention, retention)
		}
	}

	// A namespace just registered reaches the frontend's cache within
	// seconds; until then the calls below say it is not found.
	var added []string
	err = retrying(ctx, a.Wait, func() (bool, error) {
		var err error
		added, err = ensureSearchAttributes(ctx, c, ns, workflows.SearchAttributes())
		var nf *serviceerror.NamespaceNotFound
		return errors.As(err, &nf) || unreachable(err), err
	})
	if err != nil {
		return failed(err)
	}
	if cfg.Codec != nil {
		if err := control.MarkEncrypted(ctx, c, ns); err != nil {
			return failed(err)
		}
		fmt.Fprintf(out, "encryption: marked in namespace %s (%s), so that clients without codec: refuse to send customer data\n", ns, control.EncryptedKey)
	}
	if len(added) > 0 {
		fmt.Fprintf(out, "search attributes: added %s\n", strings.Join(added, ", "))
	} else {
		fmt.Fprintf(out, "search attributes: all %d present\n", len(workflows.SearchAttributes()))
	}

	var id string
	err = retrying(ctx, a.Wait, func() (bool, error) {
		var err error
		id, err = control.EnsureInstallationID(ctx, c, ns)
		var nf *serviceerror.NamespaceNotFound
		return errors.As(err, &nf) || unreachable(err), err
	})
	if err != nil {
		return failed(err)
	}
	fmt.Fprintf(out, "installation id: %s\n", id)
	return nil
}

// retrying calls try until it succeeds, fails for good (again is false),
// wait has passed or ctx ends; then it returns try's last error.
func retrying(ctx context.Context, wait time.Duration, try func() (again bool, err error)) error {
	deadline := time.Now().Add(wait)
	for {
		again, err := try()
		if err == nil || !again || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(setupRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// ensureNamespace registers ns with the retention unless it exists, and
// returns whether it registered it and the namespace's retention.
func ensureNamespace(ctx context.Context, c client.Client, ns string, retention time.Duration) (bool, time.Duration, error) {
	svc := c.WorkflowService()
	desc, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err == nil {
		return false, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), nil
	}
	var nf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nf) {
		return false, 0, fmt.Errorf("describe namespace %s: %w", ns, err)
	}
	_, err = svc.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		Description:                      "tend: customer-success playbooks",
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	switch {
	case errors.As(err, &exists): // another setup got there first
		return false, retention, nil
	case err != nil:
		return false, 0, fmt.Errorf("register namespace %s: %w", ns, err)
	}
	return true, retention, nil
}

// ensureSearchAttributes adds the attributes of want that ns lacks and
// returns their names. One registered with another type is an error that
// names it: tend's queries would fail on it, and Temporal cannot change a
// search attribute's type.
func ensureSearchAttributes(ctx context.Context, c client.Client, ns string, want map[string]enums.IndexedValueType) ([]string, error) {
	op := c.OperatorService()
	list := func() (map[string]enums.IndexedValueType, error) {
		resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return nil, fmt.Errorf("list the search attributes of namespace %s: %w", ns, err)
		}
		return resp.GetCustomAttributes(), nil
	}
	have, err := list()
	if err != nil {
		return nil, err
	}
	if err := conflicting(ns, have, want); err != nil {
		return nil, err
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		if _, ok := have[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	names := slices.Sorted(maps.Keys(missing))
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) { // AlreadyExists: another setup added them; checked below
		return nil, fmt.Errorf("add search attributes %s to namespace %s: %w", strings.Join(names, ", "), ns, err)
	}
	// A yes must be true: read them back.
	if have, err = list(); err != nil {
		return nil, err
	}
	if err := conflicting(ns, have, want); err != nil {
		return nil, err
	}
	var absent []string
	for _, name := range names {
		if _, ok := have[name]; !ok {
			absent = append(absent, name)
		}
	}
	if len(absent) > 0 {
		return nil, fmt.Errorf("namespace %s: search attributes %s were added but are not listed; check the server's visibility store (PostgreSQL, MySQL or SQLite visibility, or Elasticsearch)",
			ns, strings.Join(absent, ", "))
	}
	return names, nil
}

// conflicting names the attributes of want that have registers with
// another type.
func conflicting(ns string, have, want map[string]enums.IndexedValueType) error {
	var bad []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if typ, ok := have[name]; ok && typ != want[name] {
			bad = append(bad, fmt.Sprintf("%s is %s, tend needs %s", name, typeName(typ), typeName(want[name])))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("namespace %s: search attribute %s; remove it (temporal operator search-attribute remove) or use another namespace",
			ns, strings.Join(bad, "; "))
	}
	return nil
}

// typeName is an attribute type as the temporal CLI writes it: Keyword.
func typeName(t enums.IndexedValueType) string {
	s := strings.TrimPrefix(t.String(), "INDEXED_VALUE_TYPE_")
	switch s {
	case "KEYWORD_LIST":
		return "KeywordList"
	case "DATETIME":
		return "Datetime"
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}
