package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/workflows"
)

func TestCustomerNotFound(t *testing.T) {
	start(t)
	res := get(t, customerPath(customer("never-seen")))
	if res.status != http.StatusNotFound || !contains(res.errorText(t), "tend has received no event for it") {
		t.Fatalf("want 404, got %s", res)
	}
	if res := get(t, "/v1/customers/a%07b"); res.status != http.StatusBadRequest || !contains(res.errorText(t), "control") {
		t.Fatalf("a control character: want 400, got %s", res)
	}
	if res := get(t, "/v1/customers/acme?x=1"); res.status != http.StatusBadRequest {
		t.Fatalf("a query: want 400, got %s", res)
	}
}

// TestRunsAndTasks follows an enterprise customer from contract.signed to
// its kickoff call: the run in /v1/runs, its timeline at /v1/runs/{id},
// the task in /v1/tasks, and its completion.
func TestRunsAndTasks(t *testing.T) {
	start(t)
	cust := customer("globex")
	csm := strings.ReplaceAll(cust, "-", "") + "@vendor.example"
	accepted(t, mustJSON(t, []ev{
		{"type": "customer.updated", "customer": cust, "attributes": ev{"name": "Globex", "segment": "enterprise", "seats": 40,
			"csm": csm, "manager": "max@vendor.example", "contact_email": "it@globex.example", "health": 80}},
		{"type": "contract.signed", "customer": cust, "data": ev{"plan": "enterprise", "arr": 120000}},
	}))
	runID := "run/enterprise-onboarding/" + cust + "/1"

	var runs struct {
		Runs []control.RunSummary `json:"runs"`
	}
	waitFor(t, "the run in GET /v1/runs", 60*time.Second, func() (bool, string) {
		res := get(t, "/v1/runs?playbook=enterprise-onboarding&customer="+url.QueryEscape(cust))
		if res.status != http.StatusOK {
			return false, res.String()
		}
		res.json(t, &runs)
		return len(runs.Runs) == 1 && runs.Runs[0].ID == runID, res.String()
	})
	if r := runs.Runs[0]; r.Customer != cust || r.Playbook != "enterprise-onboarding" {
		t.Fatalf("run %+v", r)
	}

	// The run id holds slashes: encoded as one path segment, or as is.
	var view workflows.RunView
	for _, p := range []string{"/v1/runs/" + url.PathEscape(runID), "/v1/runs/" + runID} {
		res := get(t, p)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %s", p, res)
		}
		res.json(t, &view)
		if view.State.ID != runID || len(view.Timeline) == 0 || view.Timeline[0].Kind != "run.started" {
			t.Fatalf("GET %s: %s", p, res)
		}
	}

	var task string
	waitFor(t, "the kickoff task in GET /v1/tasks", 60*time.Second, func() (bool, string) {
		res := get(t, "/v1/tasks?owner="+url.QueryEscape(csm))
		var b struct {
			Tasks []control.TaskItem `json:"tasks"`
		}
		res.json(t, &b)
		for _, tk := range b.Tasks {
			if tk.Step == "kickoff" && tk.Run == runID {
				task = tk.ID
				return true, ""
			}
		}
		return false, res.String()
	})
	if want := "enterprise-onboarding/" + cust + "/1/kickoff/1"; task != want {
		t.Fatalf("task %q, want %q", task, want)
	}
	if res := get(t, "/v1/tasks?owner="+url.QueryEscape(csm)+"&overdue=true"); res.status != http.StatusOK || contains(string(res.body), task) {
		t.Fatalf("overdue tasks: the kickoff is not due yet: %s", res)
	}

	completePath := "/v1/tasks/" + url.PathEscape(task) + "/complete"
	if res := post(t, completePath, []byte(`{"outcome":"held","notes":"x"}`)); res.status != http.StatusBadRequest || !contains(res.errorText(t), "unknown field") {
		t.Fatalf("unknown field: want 400, got %s", res)
	}
	long := []byte(`{"outcome":"` + strings.Repeat("x", control.MaxOutcome+1) + `"}`)
	if res := post(t, completePath, long); res.status != http.StatusBadRequest || !contains(res.errorText(t), "at most 4096") {
		t.Fatalf("complete with a %d-byte outcome: want 400 naming the limit, got %s", control.MaxOutcome+1, res)
	}
	res := post(t, completePath, []byte(`{"outcome": "held"}`))
	if res.status != http.StatusOK {
		t.Fatalf("complete: want 200, got %s", res)
	}
	var done workflows.CompleteTaskResult
	res.json(t, &done)
	if done.Task != task || done.Run != runID {
		t.Fatalf("complete: %s", res)
	}
	if res := post(t, completePath, nil); res.status != http.StatusConflict {
		t.Fatalf("complete again: want 409, got %s", res)
	}
	// The unencoded form works too.
	if res := post(t, "/v1/tasks/"+task+"/complete", nil); res.status != http.StatusConflict {
		t.Fatalf("complete again, unencoded: want 409, got %s", res)
	}

	bad := []struct {
		method, path string
		status       int
		want         string
	}{
		{"POST", "/v1/tasks/" + url.PathEscape("enterprise-onboarding/"+cust+"/1/kickof/1") + "/complete", 404, ""},
		{"POST", "/v1/tasks/" + url.PathEscape("enterprise-onboarding/"+cust+"/7/kickoff/1") + "/complete", 404, "does not exist"},
		{"POST", "/v1/tasks/" + url.PathEscape("enterprise-onboarding/"+cust) + "/complete", 400, "task id"},
		{"POST", "/v1/tasks/" + url.PathEscape(task), 404, "complete a task with POST"},
		{"GET", "/v1/runs/" + url.PathEscape("run/enterprise-onboarding/"+cust+"/9"), 404, "no run"},
		{"GET", "/v1/runs/" + url.PathEscape("run/enterprise-onboarding"), 400, "want run/<playbook>/<customer>/<n>"},
		{"GET", "/v1/runs/", 400, "run id"},
		{"GET", "/v1/runs?status=sleeping", 400, "want one of running, waiting"},
		{"GET", "/v1/runs?limit=0", 400, "limit"},
		{"GET", "/v1/runs?stauts=waiting", 400, "unknown query parameter"},
		{"GET", "/v1/tasks?overdue=yes", 400, "want true or false"},
	}
	for _, b := range bad {
		res := request(t, env.url, b.method, b.path, nil, bearer(0))
		if res.status != b.status || !contains(res.errorText(t), b.want) {
			t.Errorf("%s %s: want %d saying %q, got %s", b.method, b.path, b.status, b.want, res)
		}
	}
}

// GET /v1/runs/{id} lists the messages the contact policy holds, with the
// time they go out and why, in the customer's time zone.
func TestRunHeld(t *testing.T) {
	start(t)
	set := mustSet(t)
	cal, p := set.Schema.Calendar, set.Schema.Policy
	now := time.Now()
	// A zone where it is now, and for the next hour, outside the contact
	// hours: offsets from -11 to +14 hours, never more than 5 apart.
	zone := ""
	for _, tz := range []string{"Pacific/Pago_Pago", "Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "UTC",
		"Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Kiritimati"} {
		if cal.NextInWindow(now, p.Hours, cal.Loc(tz)).After(now.Add(time.Hour)) {
			zone = tz
			break
		}
	}
	if zone == "" {
		t.Fatalf("no time zone is outside the contact hours %s now", p.Hours)
	}
	cust := customer("hooli")
	accepted(t, mustJSON(t, []ev{
		{"type": "customer.updated", "customer": cust, "attributes": ev{"name": "Hooli", "segment": "smb", "seats": 5,
			"manager": "max@vendor.example", "contact_email": "gavin@hooli.example", "timezone": zone, "health": 80}},
		{"type": "contract.signed", "customer": cust, "data": ev{"plan": "starter", "arr": 1200}},
	}))
	path := "/v1/runs/" + url.PathEscape("run/smb-tech-touch-onboarding/"+cust+"/1")
	var view workflows.RunView
	waitFor(t, "a held message in GET "+path, 60*time.Second, func() (bool, string) {
		res := get(t, path)
		if res.status != http.StatusOK {
			return false, res.String()
		}
		res.json(t, &view)
		return len(view.Held) > 0, res.String()
	})
	h := view.Held[0]
	until := cal.NextInWindow(h.Until.Add(-time.Minute), p.Hours, cal.Loc(zone))
	if len(view.Held) != 1 || h.Step != "welcome" || h.Kind != "email" || h.Template != "smb-welcome" || h.Subject != "Welcome to the team, Hooli!" ||
		h.To != "gavin@hooli.example" || !h.Until.After(now.Add(time.Hour)) || !until.Equal(h.Until) || h.Reason == "" {
		t.Fatalf("held %+v", view.Held)
	}
	if want := "held by the contact policy until " + calendar.Local(h.Until, cal.Loc(zone)) + " (" + h.Reason + ")"; h.Text != want {
		t.Errorf("text %q, want %q", h.Text, want)
	}
	var rec *lang.Record
	for i, r := range view.Timeline {
		if r.Kind == lang.RecMessageHeld {
			rec = &view.Timeline[i]
		}
	}
	if rec == nil || rec.Step != "welcome" || rec.Reason != h.Text || rec.Until == nil || !rec.Until.Equal(h.Until) {
		t.Errorf("message.held record %+v", rec)
	}
}

func TestPlaybooks(t *testing.T) {
	start(t)
	res := get(t, "/v1/playbooks")
	var b struct {
		Version   string             `json:"version"`
		Playbooks []api.PlaybookInfo `json:"playbooks"`
	}
	res.json(t, &b)
	set := mustSet(t)
	if res.status != http.StatusOK || b.Version != set.Version || len(b.Playbooks) != len(set.Playbooks) {
		t.Fatalf("GET /v1/playbooks: %s", res)
	}
	for _, p := range b.Playbooks {
		if p.Name != "enterprise-onboarding" {
			continue
		}
		if p.Version == "" || p.Stage != "onboarding" || strings.Join(p.Triggers.On, ",") != "contract.signed" ||
			p.Triggers.When != `customer.segment in ["enterprise", "mid-market"]` || p.Steps[0] != "csm-assigned" || p.Expires == "" {
			t.Fatalf("enterprise-onboarding: %+v", p)
		}
		return
	}
	t.Fatalf("no enterprise-onboarding: %s", res)
}

func TestRouting(t *testing.T) {
	start(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/nope", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/v1/events", 405, "POST"},
		{"DELETE", "/v1/customers/acme", 405, "GET, HEAD"},
		{"GET", "/v1/tasks/a%2Fb%2F1%2Fc%2F1/complete", 405, "POST"},
		{"POST", "/v1/runs", 405, "GET, HEAD"},
		{"PUT", "/healthz", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		res := request(t, env.url, tt.method, tt.path, nil, bearer(0))
		if res.status != tt.status || res.header.Get("Allow") != tt.allow || res.errorText(t) == "" {
			t.Errorf("%s %s: want %d with Allow %q, got %s (Allow %q)", tt.method, tt.path, tt.status, tt.allow, res, res.header.Get("Allow"))
		}
	}
}

func TestMetrics(t *testing.T) {
	start(t)
	cust := customer("metrics")
	accepted(t, mustJSON(t, ev{"type": "customer.updated", "customer": cust, "attributes": ev{"seats": 2}}))
	post(t, "/v1/events", []byte(`{"type":"nope","customer":"x"}`))
	waitApplied(t, cust, 1)
	res := request(t, env.url, http.MethodGet, "/metrics", nil, nil)
	if res.status != http.StatusOK {
		t.Fatalf("/metrics: %s", res)
	}
	text := string(res.body)
	for _, want := range []string{
		"tend_events_accepted_total ",
		`tend_events_rejected_total{reason="invalid"}`,
		`tend_http_request_duration_seconds_bucket{method="GET",route="/v1/customers/{id...}",status="200"`,
		`tend_http_request_duration_seconds_count{method="POST",route="/v1/events",status="202"}`,
		"temporal_request{",
		"temporal_request_latency_bucket{",
	} {
		if !contains(text, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if contains(text, cust) {
		t.Errorf("/metrics names a customer id: routes must be patterns")
	}
}

// TestMetricsHandler checks the SDK adapter on its own registry.
func TestMetricsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := api.MetricsHandler(reg)
	tagged := h.WithTags(map[string]string{"namespace": "default", "task-queue": "tend"})
	tagged.Counter("temporal_request").Inc(2)
	tagged.WithTags(map[string]string{"namespace": "other"}).Counter("temporal_request").Inc(1)
	// Other tags for the same name: missing labels are empty, extras dropped.
	h.WithTags(map[string]string{"operation": "x"}).Counter("temporal_request").Inc(5)
	h.Gauge("sticky.cache.size").Update(12)
	h.Timer("request_latency").Record(1500 * time.Millisecond)
	// A second handler on the same registry shares the collectors.
	api.MetricsHandler(reg).WithTags(map[string]string{"namespace": "default", "task-queue": "tend"}).Counter("temporal_request").Inc(1)
	// A name used with another kind is ignored, not a panic.
	h.Gauge("temporal_request").Update(1)

	got := gather(t, reg)
	for _, want := range []string{
		`temporal_request{namespace="",task_queue=""} 5`,
		`temporal_request{namespace="default",task_queue="tend"} 3`,
		`temporal_request{namespace="other",task_queue="tend"} 1`,
		`temporal_sticky_cache_size{} 12`,
		`temporal_request_latency{} count 1 sum 1.5`,
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(got) != 5 {
		t.Errorf("want 5 series, got\n%s", strings.Join(got, "\n"))
	}
}

// gather lists the registry's series as name{labels} value, sorted;
// histograms as name{labels} count N sum S.
func gather(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			s := mf.GetName() + "{" + strings.Join(labels, ",") + "} "
			switch {
			case m.GetCounter() != nil:
				s += fmt.Sprint(m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				s += fmt.Sprint(m.GetGauge().GetValue())
			case m.GetHistogram() != nil:
				s += fmt.Sprintf("count %d sum %v", m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum())
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestServeDrains: Serve returns once its context ends, and only after the
// request in flight has been answered.
func TestServeDrains(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("done"))
		finished.Store(true)
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- api.Serve(ctx, ln, h, zerolog.Nop()) }()

	answered := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			answered <- err.Error()
			return
		}
		defer res.Body.Close()
		answered <- res.Status
	}()
	<-started
	cancel()
	// Shutdown closes the listener first: wait until new connections are
	// refused, so the request is known to be in flight during the drain.
	waitFor(t, "the listener to close", 10*time.Second, func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true, ""
		}
		c.Close()
		return false, "still accepting"
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned while a request was in flight: %v", err)
	default:
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Serve returned before the handler finished")
	}
	if got := <-answered; got != "200 OK" {
		t.Fatalf("the in-flight request got %s", got)
	}
}

func TestNewOptions(t *testing.T) {
	set := func() *lang.Set { return nil }
	cl := unreachableClient(t)
	for _, tt := range []struct {
		name string
		o    api.Options
		want string
	}{
		{"no client", api.Options{Set: set, Tokens: tokens}, "no Temporal client"},
		{"no set", api.Options{Client: cl, Tokens: tokens}, "no playbook set"},
		{"no credential", api.Options{Client: cl, Set: set}, "no bearer token and no signing secret"},
		{"empty token", api.Options{Client: cl, Set: set, Tokens: []string{""}}, "token 1 is empty"},
		{"empty secret", api.Options{Client: cl, Set: set, SigningSecrets: []string{""}}, "signing secret 1 is empty"},
		{"negative rate", api.Options{Client: cl, Set: set, Tokens: tokens, RateLimit: -1}, "rate limit"},
	} {
		if _, err := api.New(tt.o); err == nil || !contains(err.Error(), tt.want) {
			t.Errorf("%s: want an error saying %q, got %v", tt.name, tt.want, err)
		}
	}
	// With no playbook set loaded, events and playbooks are a 503.
	srv, err := api.New(api.Options{Client: cl, Set: set, Tokens: tokens, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{{"POST", "/v1/events"}, {"GET", "/v1/playbooks"}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(`{"type":"customer.updated","customer":"c"}`))
		req.Header.Set("Authorization", "Bearer "+tokens[0])
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s without a set: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
}

// TestRequestLog: one line per request with method, escaped path, status,
// duration, credential kind and event count, and never a token, a secret,
// a link's token or a body.
func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	srv, err := api.New(api.Options{Client: unreachableClient(t), Set: func() *lang.Set { return mustSet(t) },
		Tokens: tokens[:1], SigningSecrets: secrets[:1], Logger: zerolog.New(&buf), Registry: prometheus.NewRegistry(),
		Links: &testLinks})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"type":"nope","customer":"secret-customer-body"},{"type":"customer.updated","customer":"c"}]`)
	ts, sig := api.Sign(secrets[0], time.Now(), body)
	signer := testSigner(t)
	survey := signer.Token(links.Target{Kind: links.KindSurvey, Customer: "c", Run: "run/nps/c/1", Step: "pulse", Occurrence: 1, Survey: "nps", Score: 9})
	optOut := signer.Token(links.Target{Kind: links.KindUnsubscribe, Customer: "c", Run: "run/tech-touch/c/1", Step: "welcome", Occurrence: 1})
	for _, r := range []struct {
		method string
		header map[string]string
		path   string
	}{
		{"POST", map[string]string{"Authorization": "Bearer " + tokens[0]}, "/v1/events"},
		{"POST", map[string]string{api.HeaderTimestamp: ts, api.HeaderSignature: sig}, "/v1/events"},
		{"POST", nil, "/v1/events"},
		{"POST", map[string]string{"Authorization": "Bearer " + tokens[0]}, "/v1/nope/zo%C3%AB"},
		// A valid link (503: Temporal is unreachable), a tampered one
		// (403), and a link path the routes do not take (405).
		{"GET", nil, "/survey/" + survey},
		{"POST", nil, "/unsubscribe/" + flipFirst(optOut)},
		{"PUT", nil, "/unsubscribe/" + optOut},
	} {
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`"method":"POST","path":"/v1/events","status":400,"duration":*,"credential":"bearer","events":2`,
		`"method":"POST","path":"/v1/events","status":400,"duration":*,"credential":"signed","events":2`,
		`"method":"POST","path":"/v1/events","status":401,"duration":*,"credential":"none","message":"request"}`,
		`"method":"POST","path":"/v1/nope/zo%C3%AB","status":404,"duration":*,"credential":"none","message":"request"}`,
		`"method":"GET","path":"/survey/<redacted>","status":503,"duration":*,"credential":"link","message":"request"}`,
		`"method":"POST","path":"/unsubscribe/<redacted>","status":403,"duration":*,"credential":"link","message":"request"}`,
		`"method":"PUT","path":"/unsubscribe/<redacted>","status":405,"duration":*,"credential":"none","message":"request"}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines, got:\n%s", len(want), buf.String())
	}
	for i, l := range lines {
		pre, post, _ := strings.Cut(want[i], "*")
		j := strings.Index(l, pre)
		if j < 0 || !strings.Contains(l[j+len(pre):], post) {
			t.Errorf("line %d: %s\nwant %s", i, l, want[i])
		}
		for _, secret := range []string{tokens[0], secrets[0], sig, "secret-customer-body", survey, optOut, flipFirst(optOut)[1:]} {
			if strings.Contains(l, secret) {
				t.Errorf("line %d logs %q: %s", i, secret, l)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
