package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// startMailNode starts a worker whose email goes to mb, retried for
// retryFor, with fast backoff, and a retry window of window.
func startMailNode(t *testing.T, mb *mailbox, retryFor, window time.Duration) *node.Node {
	t.Helper()
	cfg := config.Default()
	cfg.Outbox = env.outbox
	cfg.Endpoints = map[string]config.Endpoint{"crm": {URL: env.crm.url, Secret: "test-secret", Timeout: 10 * time.Second}}
	cfg.Email = &config.Email{Addr: mb.addr, From: "Customer Success <cs@vendor.example>", TLS: config.TLSNone,
		Timeout: 5 * time.Second, RetryFor: retryFor}
	wo := workflows.Options{ActivityTimeout: 5 * time.Second, RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		RetryWindow: window}
	n, err := node.Start(node.Options{Client: env.cl, Config: cfg, Playbooks: "testdata/playbooks", Logger: logger(), Reload: -1,
		Workflows: wo, Store: sets})
	if err != nil {
		t.Fatalf("start worker: %v", err)
	}
	return n
}

// mailsTo parses the messages addressed to addr.
func mailsTo(t *testing.T, msgs []string, addr string) []*mail.Message {
	t.Helper()
	var out []*mail.Message
	for _, m := range msgs {
		msg, err := mail.ReadMessage(strings.NewReader(m))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(msg.Header.Get("To"), addr) {
			out = append(out, msg)
		}
	}
	return out
}

// sameIDs checks that every message carries the Message-ID and X-Tend-Key
// of the first, salted (no playbook name in the key), and returns them.
func sameIDs(t *testing.T, msgs []*mail.Message) (msgID, key string) {
	t.Helper()
	msgID, key = msgs[0].Header.Get("Message-Id"), msgs[0].Header.Get("X-Tend-Key")
	for i, m := range msgs {
		if m.Header.Get("Message-Id") != msgID || m.Header.Get("X-Tend-Key") != key {
			t.Errorf("message %d: Message-ID %s, X-Tend-Key %s; want %s, %s as every attempt", i, m.Header.Get("Message-Id"), m.Header.Get("X-Tend-Key"), msgID, key)
		}
	}
	if key == "" || strings.Contains(key, "onboarding") || !strings.HasSuffix(msgID, "@vendor.example>") {
		t.Errorf("X-Tend-Key %q, Message-ID %q: want an opaque key and the sender's domain", key, msgID)
	}
	return msgID, key
}

// TestOutageLongerThanTheOldCap: the mail server answers 451 to 30
// attempts in a row, more than the 25 after which a step used to fail;
// the step goes on retrying within its retry_for, and the customer gets one
// mail, with the Message-ID every attempt had.
func TestOutageLongerThanTheOldCap(t *testing.T) {
	mb := startMailbox(t)
	mb.setReject(30)
	n := startMailNode(t, mb, time.Hour, time.Hour)
	defer n.Stop()
	const cust = "outage"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	waitTask(t, runID, "kickoff")
	got := mailsTo(t, mb.messages(), "it@"+cust+".example")
	rejected := mailsTo(t, mb.rejectedMessages(), "it@"+cust+".example")
	if len(got) != 1 || len(rejected) != 30 {
		t.Fatalf("%d mail(s) delivered after %d rejected; want 1 after 30", len(got), len(rejected))
	}
	sameIDs(t, append(rejected, got...))
}

// TestStalledRunRetried: past its retry_for the step fails, and the run
// stays open, stalled, saying why and how to retry; tend runs retry (the
// control call behind it) and the API re-drive the step with the same
// key, and the customer gets exactly one mail, with the Message-ID of
// the failed attempts. --failed --since selects by the failure's time.
func TestStalledRunRetried(t *testing.T) {
	mb := startMailbox(t)
	mb.setReject(-1)
	n := startMailNode(t, mb, 2*time.Second, time.Hour)
	defer n.Stop()
	begin := time.Now()
	custs := []string{"stall-cli", "stall-api"}
	for _, c := range custs {
		send(t, signup(c, time.Now())...)
	}
	views := map[string]*workflows.RunView{}
	for _, c := range custs {
		runID := engine.RunID("onboarding", c, 1)
		waitFor(t, runID+" stalled", func() (bool, string) {
			runs, err := control.ListRuns(ctx(t), env.cl, control.RunFilter{Customer: c, Status: "stalled"})
			v, _ := runView(t, runID)
			if err != nil || len(runs) != 1 || v == nil || v.Stalled == nil {
				return false, "not stalled yet"
			}
			if runs[0].Step != "welcome" {
				t.Errorf("%s stalled with TendStep %q; want the failed step, welcome", runID, runs[0].Step)
			}
			views[c] = v
			return true, ""
		})
		v := views[c]
		if !strings.Contains(v.Stalled.Reason, "gave up after 2s of retries (email.retry_for): ") || v.Stalled.Step != "welcome" ||
			!strings.Contains(v.Waiting, "tend runs retry "+runID) || v.State.Status != engine.StatusStalled {
			t.Errorf("%s: stalled %+v, waiting %q; want the welcome step, the horizon and how to retry", runID, v.Stalled, v.Waiting)
		}
	}

	// --failed --since: both failed after begin; none after the last failure.
	last := views[custs[0]].Stalled.FailedAt
	if f := views[custs[1]].Stalled.FailedAt; f.After(last) {
		last = f
	}
	all, err := control.StalledRuns(ctx(t), env.cl, begin)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		ids = append(ids, s.Run)
	}
	for _, c := range custs {
		if !strings.Contains(strings.Join(ids, " "), engine.RunID("onboarding", c, 1)) {
			t.Errorf("stalled since the start: %v; want the run of %s", ids, c)
		}
	}
	if none, err := control.StalledRuns(ctx(t), env.cl, last.Add(time.Millisecond)); err != nil || len(none) != 0 {
		t.Errorf("stalled since after the last failure: %v, %v; want none", none, err)
	}

	// Runs that cannot be retried say why.
	if o, err := control.Retry(ctx(t), env.cl, engine.RunID("onboarding", "nobody-at-all", 1)); err != nil || o.Result != control.NotFound {
		t.Errorf("retry of an unknown run: %+v, %v; want not found", o, err)
	}

	mb.setReject(0)
	// The mail server is slow to answer the re-driven send: a second
	// retry meanwhile is told that one is under way.
	release := mb.hold()
	cliRun := engine.RunID("onboarding", custs[0], 1)
	o, err := control.Retry(ctx(t), env.cl, cliRun)
	if err != nil || o.Result != control.Retried || o.Step != "welcome" {
		release()
		t.Fatalf("retry %s: %+v, %v; want retried step welcome", cliRun, o, err)
	}
	o, err = control.Retry(ctx(t), env.cl, cliRun)
	release()
	if err != nil || o.Result == control.Retried || !strings.Contains(o.Error, "a retry of step welcome is under way") {
		t.Errorf("a second retry while the first is in flight: %+v, %v; want it told a retry of welcome is under way", o, err)
	}
	waitTask(t, cliRun, "kickoff")
	if o, err := control.Retry(ctx(t), env.cl, cliRun); err != nil || o.Result != control.NotFailed || !strings.Contains(o.Error, "is waiting") {
		t.Errorf("second retry: %+v, %v; want not failed, naming the status", o, err)
	}

	// The API route, for the other run.
	srv, err := api.New(api.Options{Client: env.cl, Set: n.Set, Tokens: []string{"tok-0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	apiRun := engine.RunID("onboarding", custs[1], 1)
	status, body := post(t, hs.URL+"/v1/runs/"+url.PathEscape(apiRun)+"/retry")
	var res workflows.RetryStepResult
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Step != "welcome" || res.Key != "onboarding/"+custs[1]+"/1/welcome/1" {
		t.Fatalf("POST retry: %d %s; want 200 with the step and its key", status, body)
	}
	waitTask(t, apiRun, "kickoff")
	// The run id as tend runs show prints it, slashes unencoded.
	if status, body := post(t, hs.URL+"/v1/runs/"+apiRun+"/retry"); status != http.StatusConflict {
		t.Errorf("POST retry of a waiting run: %d %s; want 409", status, body)
	}
	if status, body := post(t, hs.URL+"/v1/runs/"+apiRun); status != http.StatusMethodNotAllowed {
		t.Errorf("POST to a run without /retry: %d %s; want 405 (GET only)", status, body)
	}

	for _, c := range custs {
		to := "it@" + c + ".example"
		got, rejected := mailsTo(t, mb.messages(), to), mailsTo(t, mb.rejectedMessages(), to)
		if len(got) != 1 || len(rejected) == 0 {
			t.Fatalf("%s: %d mail(s) delivered after %d rejected; want exactly 1", c, len(got), len(rejected))
		}
		sameIDs(t, append(rejected, got...))
	}
}

// TestHungMailServerStalls: a mail server that takes the message and never
// answers. Each attempt's SMTP transaction is cut off before the attempt's
// own timeout, so its error counts toward retry_for and the run stalls
// when retry_for has passed, rather than Temporal timing out attempts
// until the month-long backstop.
func TestHungMailServerStalls(t *testing.T) {
	mb := startMailbox(t)
	release := mb.hold()
	t.Cleanup(release)
	n := startMailNode(t, mb, 2*time.Second, time.Hour)
	defer n.Stop()
	const cust = "hung-smtp"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	waitFor(t, runID+" stalled", func() (bool, string) {
		v, _ := runView(t, runID)
		if v == nil || v.Stalled == nil {
			return false, "not stalled yet"
		}
		if !strings.Contains(v.Stalled.Reason, "gave up after 2s of retries (email.retry_for): ") || !strings.Contains(v.Stalled.Reason, "timeout") {
			t.Errorf("stalled for %q; want the horizon and the time-out", v.Stalled.Reason)
		}
		return true, ""
	})
}

func post(t *testing.T, u string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, u, nil)
	req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestRetryWindowPasses: a stalled run that nobody retries fails when its
// window passes, as a run failed at once before, and then cannot be
// re-driven: the error says so.
func TestRetryWindowPasses(t *testing.T) {
	mb := startMailbox(t)
	mb.setReject(-1)
	n := startMailNode(t, mb, time.Second, 2*time.Second)
	defer n.Stop()
	const cust = "stall-expire"
	runID := engine.RunID("onboarding", cust, 1)
	send(t, signup(cust, time.Now())...)
	waitFor(t, runID+" started", func() (bool, string) {
		_, err := env.cl.DescribeWorkflowExecution(ctx(t), runID, "")
		return err == nil, "no run yet"
	})
	var res workflows.RunResult
	err := env.cl.GetWorkflow(ctx(t), runID, "").Get(ctx(t), &res)
	if err == nil || !strings.Contains(err.Error(), "gave up after 1s of retries") {
		t.Fatalf("run ended with %v; want a failure naming the horizon", err)
	}
	_, err = control.RetryRun(ctx(t), env.cl, runID)
	if !errors.Is(err, control.ErrConflict) || !strings.Contains(err.Error(), "has ended as failed and cannot be retried") {
		t.Errorf("retry of a failed run: %v; want a conflict saying it cannot be retried", err)
	}
}

// TestInstallationID: the id is stored in the namespace on first use,
// the same on every later call and after a server restart, and another
// namespace has another.
func TestInstallationID(t *testing.T) {
	c := context.Background()
	id, err := control.EnsureInstallationID(c, env.cl, env.srv.Namespace())
	if err != nil || id == "" {
		t.Fatalf("EnsureInstallationID: %q, %v", id, err)
	}
	resp, err := env.cl.WorkflowService().DescribeNamespace(c, &workflowservice.DescribeNamespaceRequest{Namespace: env.srv.Namespace()})
	if err != nil || resp.GetNamespaceInfo().GetData()[control.InstallationKey] != id {
		t.Fatalf("namespace data %v, %v; want %s = %s", resp.GetNamespaceInfo().GetData(), err, control.InstallationKey, id)
	}
	if _, err := env.cl.WorkflowService().RegisterNamespace(c, &workflowservice.RegisterNamespaceRequest{
		Namespace: "other-installation", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	other, err := control.EnsureInstallationID(c, env.cl, "other-installation")
	if err != nil || other == "" || other == id {
		t.Errorf("other namespace: %q, %v; want an id other than %s", other, err, id)
	}
	env.cl.Close()
	env.srv.Stop()
	if err := startServer(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	again, err := control.EnsureInstallationID(c, env.cl, env.srv.Namespace())
	if err != nil || again != id {
		t.Errorf("after a restart: %q, %v; want %s", again, err, id)
	}
}

// TestEncryptedMark: once a worker or tend setup with a codec marks the
// namespace, a client without a codec is refused before it sends customer
// data, naming why; one with a codec is not, and an unmarked namespace
// refuses nobody.
func TestEncryptedMark(t *testing.T) {
	c := context.Background()
	const ns = "encrypted-mark"
	if _, err := env.cl.WorkflowService().RegisterNamespace(c, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if err := control.CheckEncrypting(c, env.cl, ns, false); err != nil {
		t.Fatalf("unmarked namespace, client without codec: %v; want no refusal", err)
	}
	for range 2 { // idempotent
		if err := control.MarkEncrypted(c, env.cl, ns); err != nil {
			t.Fatal(err)
		}
	}
	err := control.CheckEncrypting(c, env.cl, ns, false)
	if !errors.Is(err, control.ErrNotEncrypting) || !strings.Contains(err.Error(), "would be stored in plain text") {
		t.Errorf("marked namespace, client without codec: %v; want a refusal saying why", err)
	}
	if err := control.CheckEncrypting(c, env.cl, ns, true); err != nil {
		t.Errorf("marked namespace, client with a codec: %v; want no refusal", err)
	}
}
