package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/workflows"
)

func TestEventsAccepted(t *testing.T) {
	start(t)
	t.Run("one event", func(t *testing.T) {
		cust := customer("one")
		ids := accepted(t, mustJSON(t, ev{"id": "e-1", "type": "customer.updated", "customer": cust,
			"at": "2026-03-02T10:00:00+01:00", "attributes": ev{"segment": "enterprise", "seats": 250, "health": 71.5}}))
		if len(ids) != 1 || ids[0] != "e-1" {
			t.Fatalf("ids %v", ids)
		}
		c := waitApplied(t, cust, 1)
		if c.ID != cust || c.Attributes["segment"] != "enterprise" || c.Attributes["seats"] != 250.0 || c.Attributes["health"] != 71.5 {
			t.Fatalf("customer %+v", c)
		}
	})
	t.Run("batch", func(t *testing.T) {
		a, b := customer("batch-a"), customer("batch-b")
		ids := accepted(t, mustJSON(t, []ev{
			{"type": "customer.updated", "customer": a, "attributes": ev{"name": "A"}},
			{"id": "b-1", "type": "customer.updated", "customer": b, "at": "2026-03-02", "attributes": ev{"name": "B"}},
			{"type": "contract.signed", "customer": a, "data": ev{"plan": "pro", "arr": 12000}},
		}))
		if len(ids) != 3 || ids[1] != "b-1" || !strings.HasPrefix(ids[0], "evt_") || ids[0] == ids[2] {
			t.Fatalf("ids %v", ids)
		}
		if c := waitApplied(t, a, 2); c.Attributes["name"] != "A" || c.Stats.Applied != 2 {
			t.Fatalf("customer %s: %+v", a, c)
		}
		if c := waitApplied(t, b, 1); c.Attributes["name"] != "B" {
			t.Fatalf("customer %s: %+v", b, c)
		}
	})
}

// TestEventsInvalid: every class of bad input is a 400 that names the
// event's index and field, and nothing of the batch is sent.
func TestEventsInvalid(t *testing.T) {
	start(t)
	big := strings.Repeat("x", 65<<10)
	huge := ev{}
	for _, k := range []string{"name", "csm", "manager", "ae", "contact_email"} {
		huge[k] = strings.Repeat("y", 60<<10)
	}
	tests := []struct {
		name  string
		event ev
		field string
		want  string
	}{
		{"unknown type", ev{"type": "contract.signd", "customer": "c"}, "type", "did you mean contract.signed"},
		{"unknown attribute", ev{"type": "customer.updated", "customer": "c", "attributes": ev{"segmnt": "smb"}}, "attributes.segmnt", "unknown attribute segmnt"},
		{"string for an int", ev{"type": "customer.updated", "customer": "c", "attributes": ev{"seats": "120"}}, "attributes.seats", "want"},
		{"string for a float in data", ev{"type": "contract.signed", "customer": "c", "data": ev{"arr": "12000"}}, "data.arr", "want"},
		{"enum", ev{"type": "customer.updated", "customer": "c", "attributes": ev{"segment": "huge"}}, "attributes.segment", "is not one of"},
		{"unknown data field", ev{"type": "contract.signed", "customer": "c", "data": ev{"planz": "pro"}}, "data.planz", "no data field"},
		{"empty customer", ev{"type": "customer.updated", "customer": ""}, "customer", "missing customer id"},
		{"no customer", ev{"type": "customer.updated"}, "customer", "missing customer id"},
		{"control character in the customer id", ev{"type": "customer.updated", "customer": "ac\u0007me"}, "customer", "control"},
		{"attribute over 64 KiB", ev{"type": "customer.updated", "customer": "c", "attributes": ev{"name": big}}, "attributes.name", "64 KiB"},
		{"event over 256 KiB", ev{"type": "customer.updated", "customer": "c", "attributes": huge}, "event", "256 KiB"},
		{"year past 2200", ev{"type": "customer.updated", "customer": "c", "at": "2201-01-01T00:00:00Z"}, "at", "2200"},
		{"bad at", ev{"type": "customer.updated", "customer": "c", "at": "yesterday"}, "at", ""},
		{"at not a string", ev{"type": "customer.updated", "customer": "c", "at": 17}, "at", "want a string"},
		{"unknown top-level field", ev{"type": "customer.updated", "customer": "c", "payload": ev{}}, "payload", "unknown field payload"},
		{"empty id", ev{"id": "", "type": "customer.updated", "customer": "c"}, "id", "empty id"},
		{"daily", ev{"type": "daily", "customer": "c"}, "type", "daily is a trigger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := customer("good")
			body := mustJSON(t, []ev{{"type": "customer.updated", "customer": good, "attributes": ev{"seats": 3}}, tt.event})
			res := post(t, "/v1/events", body)
			if res.status != http.StatusBadRequest {
				t.Fatalf("want 400, got %s", res)
			}
			var b struct {
				Errors []control.EventError `json:"errors"`
			}
			res.json(t, &b)
			found := false
			for _, e := range b.Errors {
				if e.Index != 1 {
					t.Errorf("an error for event %d, which is valid: %+v", e.Index, e)
				}
				if e.Field == tt.field && contains(e.Message, tt.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want an error for event 1, field %s, saying %q; got %s", tt.field, tt.want, res)
			}
			// All or nothing: the valid event was not sent either.
			if _, ok := getCustomer(t, good); ok {
				t.Fatalf("the valid event of a refused batch reached %s", good)
			}
		})
	}

	t.Run("every bad event is listed", func(t *testing.T) {
		res := post(t, "/v1/events", mustJSON(t, []ev{
			{"type": "nope", "customer": "a"},
			{"type": "customer.updated", "customer": "b"},
			{"type": "customer.updated", "customer": "", "attributes": ev{"seats": true}},
		}))
		var b struct {
			Errors []control.EventError `json:"errors"`
		}
		res.json(t, &b)
		var got []string
		for _, e := range b.Errors {
			got = append(got, fmt.Sprintf("%d %s", e.Index, e.Field))
		}
		if res.status != http.StatusBadRequest || strings.Join(got, ", ") != "0 type, 2 attributes.seats, 2 customer" {
			t.Fatalf("got %v: %s", got, res)
		}
	})

	malformed := []struct{ name, body, want string }{
		{"not JSON", `{"type": `, "malformed JSON"},
		{"empty", ``, "empty body"},
		{"a string", `"contract.signed"`, "want one event object or a JSON array"},
		{"empty array", `[]`, "empty array"},
		{"trailing garbage", `{"type":"customer.updated","customer":"c"} x`, "malformed JSON"},
		{"over 500 events", "[" + strings.TrimSuffix(strings.Repeat(`{"type":"customer.updated","customer":"c"},`, control.MaxBatch+1), ",") + "]", "at most 500"},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, "/v1/events", []byte(tt.body))
			if res.status != http.StatusBadRequest || !contains(res.errorText(t), tt.want) {
				t.Fatalf("want 400 saying %q, got %s", tt.want, res)
			}
		})
	}
}

func TestUnicodeCustomers(t *testing.T) {
	start(t)
	for _, base := range []string{"zoë", "株式会社", "acme/emea"} {
		t.Run(base, func(t *testing.T) {
			cust := base + "-" + customer("u")
			accepted(t, mustJSON(t, ev{"type": "customer.updated", "customer": cust, "attributes": ev{"name": base}}))
			c := waitApplied(t, cust, 1)
			if c.ID != cust || c.Attributes["name"] != base {
				t.Fatalf("customer %+v", c)
			}
			// The path is percent-encoded: /v1/customers/zo%C3%AB-u-3.
			if p := customerPath(cust); !strings.Contains(p, "%") {
				t.Fatalf("path %s is not encoded", p)
			}
		})
	}
	t.Run("zoë by the literal path", func(t *testing.T) {
		accepted(t, mustJSON(t, ev{"type": "customer.updated", "customer": "zoë", "attributes": ev{"seats": 1}}))
		waitFor(t, "zoë", 60*time.Second, func() (bool, string) {
			res := get(t, "/v1/customers/zo%C3%AB")
			var c control.Customer
			_ = json.Unmarshal(res.body, &c)
			return res.status == http.StatusOK && c.ID == "zoë", res.String()
		})
	})
}

func TestRepeatedID(t *testing.T) {
	start(t)
	cust := customer("repeat")
	body := mustJSON(t, ev{"id": "dup-1", "type": "customer.updated", "customer": cust, "attributes": ev{"seats": 7}})
	accepted(t, body)
	accepted(t, body)
	c := waitApplied(t, cust, 2)
	if c.Stats.Applied != 1 || c.Stats.Duplicates != 1 {
		t.Fatalf("want one application and one duplicate, got %+v", c.Stats)
	}
}

func TestBodyTooLarge(t *testing.T) {
	start(t)
	body := bytes.Repeat([]byte(" "), api.DefaultMaxBody+1)
	for name, h := range map[string]map[string]string{
		"bearer": bearer(0),
		"signed": func() map[string]string {
			ts, sig := api.Sign(secrets[0], time.Now(), body)
			return map[string]string{api.HeaderTimestamp: ts, api.HeaderSignature: sig}
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			res := request(t, env.url, http.MethodPost, "/v1/events", body, h)
			if res.status != http.StatusRequestEntityTooLarge || !contains(res.errorText(t), "1048576 bytes (1 MiB)") {
				t.Fatalf("want 413 naming the limit, got %s", res)
			}
		})
	}
	// Without a Content-Length (chunked), the limit still holds.
	req, _ := http.NewRequest(http.MethodPost, env.url+"/v1/events", struct{ *bytes.Reader }{bytes.NewReader(body)})
	req.Header.Set("Authorization", "Bearer "+tokens[0])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: want 413, got %d", res.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	start(t)
	// A stopped clock: the limiter never refills, so the test needs no
	// waiting and cannot flake.
	now := time.Now()
	srv, err := api.New(api.Options{Client: env.cl, Set: func() *lang.Set { return mustSet(t) }, Tokens: tokens,
		RateLimit: 2, Now: func() time.Time { return now }, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	cust := customer("rate")
	one := func(i int) ev {
		return ev{"id": fmt.Sprintf("r-%d", i), "type": "csat.responded", "customer": cust, "data": ev{"score": i}}
	}
	if res := request(t, hs.URL, http.MethodPost, "/v1/events", mustJSON(t, []ev{one(3)}), bearer(0)); res.status != http.StatusAccepted {
		t.Fatalf("first event: %s", res)
	}
	res := request(t, hs.URL, http.MethodPost, "/v1/events", mustJSON(t, []ev{one(1), one(2), one(3)}), bearer(0))
	if res.status != http.StatusRequestEntityTooLarge || !contains(res.errorText(t), "split it into batches of at most 2") {
		t.Fatalf("a batch over the burst: want 413 saying to split it, got %s", res)
	}
	if res := request(t, hs.URL, http.MethodPost, "/v1/events", mustJSON(t, one(4)), bearer(0)); res.status != http.StatusAccepted {
		t.Fatalf("second event: %s", res)
	}
	res = request(t, hs.URL, http.MethodPost, "/v1/events", mustJSON(t, one(5)), bearer(0))
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "1" || !contains(res.errorText(t), "rate limit of 2 events per second") {
		t.Fatalf("third event: want 429 with Retry-After 1, got %s (Retry-After %q)", res, res.header.Get("Retry-After"))
	}
	// The limit is per credential: the other token still has its burst.
	if res := request(t, hs.URL, http.MethodPost, "/v1/events", mustJSON(t, one(6)), bearer(1)); res.status != http.StatusAccepted {
		t.Fatalf("other token: %s", res)
	}
	// Refused events were not sent.
	c := waitApplied(t, cust, 3)
	if c.Stats.Applied != 3 {
		t.Fatalf("stats %+v", c.Stats)
	}
}

// unavailableServer is the API over a client whose Temporal cannot be
// reached; it is closed when the test ends.
func unavailableServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, err := api.New(api.Options{Client: unreachableClient(t), Set: func() *lang.Set { return mustSet(t) },
		Tokens: tokens, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// TestUnavailable: with Temporal unreachable, events are a 503 with
// Retry-After and nothing sent, reads fail fast, and /healthz says so.
func TestUnavailable(t *testing.T) {
	hs := unavailableServer(t)
	body := mustJSON(t, ev{"type": "customer.updated", "customer": "down", "attributes": ev{"seats": 1}})
	res := request(t, hs.URL, http.MethodPost, "/v1/events", body, bearer(0))
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" || !contains(res.errorText(t), "nothing was sent") {
		t.Fatalf("want 503 with Retry-After, got %s", res)
	}
	// Invalid events are still a 400: the batch is checked first.
	if res := request(t, hs.URL, http.MethodPost, "/v1/events", []byte(`{"type":"nope","customer":"x"}`), bearer(0)); res.status != http.StatusBadRequest {
		t.Fatalf("invalid event: want 400, got %s", res)
	}
	for _, p := range []string{"/v1/customers/down", "/v1/runs", "/v1/tasks", "/v1/runs/run%2Fenterprise-onboarding%2Fdown%2F1"} {
		if res := request(t, hs.URL, http.MethodGet, p, nil, bearer(0)); res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Errorf("GET %s: want 503, got %s", p, res)
		}
	}
	res = request(t, hs.URL, http.MethodGet, "/healthz", nil, nil)
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("/healthz: want 503, got %s", res)
	}
	// The metrics count the refusal.
	res = request(t, hs.URL, http.MethodGet, "/metrics", nil, nil)
	if !contains(string(res.body), `tend_events_rejected_total{reason="unavailable"} 1`) {
		t.Fatalf("metrics:\n%s", res.body)
	}
	start(t)
	if res := request(t, env.url, http.MethodGet, "/healthz", nil, nil); res.status != http.StatusOK || !contains(string(res.body), `"status":"ok"`) {
		t.Fatalf("/healthz of the running server: %s", res)
	}
}

// TestCompleteUnavailable: with Temporal unreachable, a task completion
// with an outcome over the limit is still a 400 (the request is checked
// first), and a valid one is a 503.
func TestCompleteUnavailable(t *testing.T) {
	hs := unavailableServer(t)
	path := "/v1/tasks/" + url.PathEscape("enterprise-onboarding/down/1/kickoff/1") + "/complete"
	for _, tt := range []struct {
		outcome string
		status  int
		want    string
	}{
		{strings.Repeat("x", control.MaxOutcome+1), http.StatusBadRequest, "outcome is 4097 bytes; at most 4096 are allowed"},
		{strings.Repeat("é", control.MaxOutcome/2+1), http.StatusBadRequest, "outcome is 4098 bytes; at most 4096 are allowed"},
		{strings.Repeat("x", control.MaxOutcome), http.StatusServiceUnavailable, "unavailable"},
	} {
		res := request(t, hs.URL, http.MethodPost, path, mustJSON(t, ev{"outcome": tt.outcome}), bearer(0))
		if res.status != tt.status || !contains(res.errorText(t), tt.want) {
			t.Errorf("complete with a %d-byte outcome: want %d saying %q, got %s", len(tt.outcome), tt.status, tt.want, res)
		}
	}
}

// FuzzPostEvents: no body makes POST /v1/events panic or answer anything
// but a 400 or 413 (or a 503, for a valid batch: Temporal is unreachable
// here, so nothing is ever sent), and every 400 is well-formed.
func FuzzPostEvents(f *testing.F) {
	for _, s := range []string{
		`{"type":"contract.signed","customer":"acme","data":{"plan":"pro","arr":1}}`,
		`[{"type":"customer.updated","customer":"a","attributes":{"seats":1}},{"type":"x"}]`,
		`[{"customer":"zoë","type":"customer.updated","at":"2026-01-31"},null,1,"x",[]]`,
		`{"id":"","type":"","customer":"","at":"","attributes":{},"data":{}}`,
		`[{"type":"customer.updated","customer":"c","attributes":{"renewal_date":"2026-13-01","tags":[1]}}]`,
		`{"type":"nps.responded","customer":"c","data":{"score":1e400}}`,
		`[`, `]`, `{}`, `null`, `   `, "\xff",
	} {
		f.Add([]byte(s))
	}
	set := mustSet(f)
	srv, err := api.New(api.Options{Client: unreachableClient(f), Set: func() *lang.Set { return set },
		Tokens: tokens, MaxBody: 64 << 10, Registry: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[0])
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var out struct {
			Error  *string              `json:"error"`
			Errors []control.EventError `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%d: body is not JSON: %q", rec.Code, rec.Body)
		}
		switch rec.Code {
		case http.StatusBadRequest:
			if (out.Error == nil) == (len(out.Errors) == 0) {
				t.Fatalf("400 with neither or both of error and errors: %s", rec.Body)
			}
			for _, e := range out.Errors {
				if e.Index < 0 || e.Index >= control.MaxBatch || e.Message == "" {
					t.Fatalf("bad event error %+v", e)
				}
			}
		case http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
			if out.Error == nil {
				t.Fatalf("%d without an error: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestServerStopped: the API in front of a Temporal server that stops
// answers 503 with Retry-After, and /healthz says so; what it accepted
// before was handed over.
func TestServerStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second Temporal server")
	}
	srv, err := devserver.Start(devserver.Options{DBFile: filepath.Join(t.TempDir(), "temporal.db"),
		SearchAttributes: workflows.SearchAttributes(), Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(logger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := api.New(api.Options{Client: c, Set: func() *lang.Set { return mustSet(t) }, Tokens: tokens, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a)
	defer hs.Close()
	body := mustJSON(t, ev{"type": "customer.updated", "customer": "stopping", "attributes": ev{"seats": 1}})
	if res := request(t, hs.URL, http.MethodPost, "/v1/events", body, bearer(0)); res.status != http.StatusAccepted {
		t.Fatalf("before the stop: want 202, got %s", res)
	}
	srv.Stop()
	stopped = true
	res := request(t, hs.URL, http.MethodPost, "/v1/events", body, bearer(0))
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
		t.Fatalf("after the stop: want 503 with Retry-After, got %s", res)
	}
	if res := request(t, hs.URL, http.MethodGet, "/healthz", nil, nil); res.status != http.StatusServiceUnavailable {
		t.Fatalf("/healthz after the stop: want 503, got %s", res)
	}
}

// A compressed body is refused with 415, not read as malformed JSON.
func TestContentEncoding(t *testing.T) {
	start(t)
	h := bearer(0)
	h["Content-Encoding"] = "gzip"
	res := request(t, env.url, http.MethodPost, "/v1/events", []byte{0x1f, 0x8b, 0x08}, h)
	if res.status != http.StatusUnsupportedMediaType || !contains(res.errorText(t), "Content-Encoding gzip is not supported") {
		t.Fatalf("want 415, got %s", res)
	}
}

// TestRetryBodyStrict: POST /v1/runs/retry takes no body or exactly
// {"since": ...}, checked before Temporal is asked: a key in another case,
// a repeated key, an unknown one or a second value is a 400 naming the
// body it wants, and a valid body reaches the (unreachable) server.
func TestRetryBodyStrict(t *testing.T) {
	hs := unavailableServer(t)
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"Since": "24h"}`, http.StatusBadRequest, `body: unknown field "Since"`},
		{`{"since": "1h", "since": "24h"}`, http.StatusBadRequest, "body: since appears twice"},
		{`{"since": "24h", "until": "1h"}`, http.StatusBadRequest, `body: unknown field "until"`},
		{`{"since": "24h"} {}`, http.StatusBadRequest, "body: more than one JSON value"},
		{`{"since": "banana"}`, http.StatusBadRequest, "not a duration"},
		{`{"since": ""}`, http.StatusBadRequest, "since is empty"},
		{`{"since": "24h"}`, http.StatusServiceUnavailable, "unavailable"},
		{``, http.StatusServiceUnavailable, "unavailable"},
	} {
		res := request(t, hs.URL, http.MethodPost, "/v1/runs/retry", []byte(tt.body), bearer(0))
		if res.status != tt.status || !contains(res.errorText(t), tt.want) {
			t.Errorf("POST /v1/runs/retry %s: want %d saying %q, got %s", tt.body, tt.status, tt.want, res)
		}
		if strings.HasPrefix(tt.want, "body") && !contains(res.errorText(t), `want {"since": "24h"} or no body`) {
			t.Errorf("POST /v1/runs/retry %s: the 400 does not say what body it wants: %s", tt.body, res)
		}
	}
}

// TestPostNotRedirected: a POST to a path the mux would clean is a 400,
// never a redirect that a client follows with its POST to another
// endpoint: /v1/runs//retry (an empty run id) is not POST /v1/runs/retry.
func TestPostNotRedirected(t *testing.T) {
	hs := unavailableServer(t)
	for _, p := range []string{"/v1/runs//retry", "/v1/runs/run/enterprise-onboarding//1/retry", "/v1/runs/./retry", "/v1//events"} {
		res := request(t, hs.URL, http.MethodPost, p, []byte(`{}`), bearer(0))
		if res.status != http.StatusBadRequest || !contains(res.errorText(t), "is not redirected") {
			t.Errorf("POST %s: %s; want 400, not redirected", p, res)
		}
	}
	// A GET is cleaned and redirected as before (the client follows it).
	if res := request(t, hs.URL, http.MethodGet, "/v1//customers", nil, bearer(0)); contains(string(res.body), "is not redirected") {
		t.Errorf("GET /v1//customers: %s; want the mux's redirect, as before", res)
	}
}

// TestHealthzDegraded: while the server runs on its last good playbook
// set, /healthz says so with the reason (200, as tend serve's --http
// address does), and says ok again once the reason is gone.
func TestHealthzDegraded(t *testing.T) {
	start(t)
	var mu sync.Mutex
	reason := "the active playbook set deadbeef0000 cannot be read"
	srv, err := api.New(api.Options{Client: env.cl, Set: func() *lang.Set { return mustSet(t) }, Tokens: tokens, Registry: prometheus.NewRegistry(),
		Degraded: func() string { mu.Lock(); defer mu.Unlock(); return reason }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if res := request(t, hs.URL, http.MethodGet, "/healthz", nil, nil); res.status != http.StatusOK || !contains(string(res.body), `"status":"degraded"`) || !contains(string(res.body), "deadbeef0000") {
		t.Errorf("degraded: %s; want 200 degraded with the reason", res)
	}
	mu.Lock()
	reason = ""
	mu.Unlock()
	if res := request(t, hs.URL, http.MethodGet, "/healthz", nil, nil); res.status != http.StatusOK || !contains(string(res.body), `"status":"ok"`) {
		t.Errorf("recovered: %s; want ok", res)
	}
}
