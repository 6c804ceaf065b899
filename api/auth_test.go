package api_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/api"
)

func TestSignAndVerifySignature(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"type":"contract.signed","customer":"acme"}`)
	ts, sig := api.Sign("s1", now, body)
	if ts != "1780000000" || len(sig) != len("sha256=")+64 {
		t.Fatalf("Sign: %q %q", ts, sig)
	}
	at := func(d time.Duration) (string, string) { return api.Sign("s1", now.Add(d), body) }
	staleTS, staleSig := at(-301 * time.Second)
	futureTS, futureSig := at(301 * time.Second)
	edgeTS, edgeSig := at(-300 * time.Second)
	edgeFutTS, edgeFutSig := at(300 * time.Second)
	tests := []struct {
		name     string
		secrets  []string
		ts, sig  string
		body     []byte
		want     error
		contains string
	}{
		{name: "valid", secrets: []string{"s1"}, ts: ts, sig: sig, body: body},
		{name: "rotation: the old secret", secrets: []string{"s1", "s2"}, ts: ts, sig: sig, body: body},
		{name: "rotation: the new secret", secrets: []string{"s0", "s1"}, ts: ts, sig: sig, body: body},
		{name: "300 s old", secrets: []string{"s1"}, ts: edgeTS, sig: edgeSig, body: body},
		{name: "300 s ahead", secrets: []string{"s1"}, ts: edgeFutTS, sig: edgeFutSig, body: body},
		{name: "wrong secret", secrets: []string{"s2"}, ts: ts, sig: sig, body: body, want: api.ErrSignatureMismatch},
		{name: "no secrets", secrets: nil, ts: ts, sig: sig, body: body, want: api.ErrSignatureMismatch},
		{name: "stale", secrets: []string{"s1"}, ts: staleTS, sig: staleSig, body: body, want: api.ErrSignatureStale, contains: "301 s behind"},
		{name: "future", secrets: []string{"s1"}, ts: futureTS, sig: futureSig, body: body, want: api.ErrSignatureStale, contains: "301 s ahead"},
		{name: "body altered", secrets: []string{"s1"}, ts: ts, sig: sig, body: []byte(`{"type":"contract.signed","customer":"acmf"}`), want: api.ErrSignatureMismatch},
		{name: "body empty", secrets: []string{"s1"}, ts: ts, sig: sig, body: nil, want: api.ErrSignatureMismatch},
		{name: "timestamp of another signature", secrets: []string{"s1"}, ts: strconv.FormatInt(now.Unix()+1, 10), sig: sig, body: body, want: api.ErrSignatureMismatch},
		{name: "timestamp not a number", secrets: []string{"s1"}, ts: "2026-01-01T00:00:00Z", sig: sig, body: body, want: api.ErrSignatureMalformed, contains: "X-Tend-Timestamp"},
		{name: "timestamp negative", secrets: []string{"s1"}, ts: "-1780000000", sig: sig, body: body, want: api.ErrSignatureMalformed},
		{name: "timestamp in milliseconds", secrets: []string{"s1"}, ts: "1780000000000", sig: sig, body: body, want: api.ErrSignatureMalformed},
		{name: "timestamp empty", secrets: []string{"s1"}, ts: "", sig: sig, body: body, want: api.ErrSignatureMalformed},
		{name: "signature without sha256=", secrets: []string{"s1"}, ts: ts, sig: sig[len("sha256="):], body: body, want: api.ErrSignatureMalformed, contains: "X-Tend-Signature"},
		{name: "signature not hex", secrets: []string{"s1"}, ts: ts, sig: "sha256=" + string(make([]byte, 64)), body: body, want: api.ErrSignatureMalformed},
		{name: "signature short", secrets: []string{"s1"}, ts: ts, sig: sig[:len(sig)-2], body: body, want: api.ErrSignatureMalformed},
		{name: "signature upper-case scheme", secrets: []string{"s1"}, ts: ts, sig: "SHA256=" + sig[len("sha256="):], body: body, want: api.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := api.VerifySignature(tt.secrets, tt.ts, tt.sig, tt.body, now)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("want nil, got %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("want %v, got %v", tt.want, err)
			case tt.contains != "" && !contains(err.Error(), tt.contains):
				t.Fatalf("error %q does not say %q", err, tt.contains)
			}
		})
	}
}

// FuzzVerifySignature: VerifySignature never panics, accepts only what
// Sign produces for one of its secrets, and always accepts what Sign
// produces within the tolerance.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_780_000_000, 0)
	ts, sig := api.Sign("k", now, []byte("{}"))
	f.Add("k", ts, sig, []byte("{}"), int64(0))
	f.Add("k", ts, sig, []byte("{}"), int64(301))
	f.Add("", "", "", []byte(nil), int64(-5))
	f.Add("k", "00000000001780000000", "sha256=zz", []byte("x"), int64(0))
	f.Add("k", "1780000000", "sha256="+sig[7:], []byte("{} "), int64(-300))
	f.Add("k", ts, "sha256="+strings.ToUpper(sig[7:]), []byte("{}"), int64(0)) // found by the fuzzer: upper-case hex
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte, skew int64) {
		at := now.Add(time.Duration(skew%100_000) * time.Second)
		if err := api.VerifySignature([]string{secret}, ts, sig, body, at); err == nil {
			// Hex digits may be upper or lower case: the bytes are what count.
			if _, want := api.Sign(secret, time.Unix(mustUnix(t, ts), 0), body); !strings.EqualFold(want, sig) {
				t.Fatalf("accepted %q %q, but Sign gives %q", ts, sig, want)
			}
		} else if !errors.Is(err, api.ErrSignatureMalformed) && !errors.Is(err, api.ErrSignatureStale) && !errors.Is(err, api.ErrSignatureMismatch) {
			t.Fatalf("error of no documented kind: %v", err)
		}
		// What Sign produces is accepted within the tolerance, and
		// refused after any change to the body.
		sts, ssig := api.Sign(secret, at.Add(time.Duration(skew%301)*time.Second), body)
		if err := api.VerifySignature([]string{"other", secret}, sts, ssig, body, at); err != nil {
			t.Fatalf("Sign then VerifySignature: %v", err)
		}
		altered := append([]byte("x"), body...)
		if err := api.VerifySignature([]string{secret}, sts, ssig, altered, at); !errors.Is(err, api.ErrSignatureMismatch) {
			t.Fatalf("altered body: want a mismatch, got %v", err)
		}
	})
}

func mustUnix(t *testing.T, ts string) int64 {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q: %v", ts, err)
	}
	return n
}

// TestAuth is the credential matrix against the real server: a request
// that is refused changes nothing, and rotation keeps both credentials of
// each kind working.
func TestAuth(t *testing.T) {
	start(t)
	event := func(cust string) []byte {
		return mustJSON(t, ev{"type": "customer.updated", "customer": cust, "attributes": ev{"seats": 5}})
	}
	signed := func(secret string, at time.Time, body []byte) map[string]string {
		ts, sig := api.Sign(secret, at, body)
		return map[string]string{api.HeaderTimestamp: ts, api.HeaderSignature: sig, "Content-Type": "application/json"}
	}
	now := time.Now()
	refused := []struct {
		name   string
		header func(body []byte) map[string]string
		send   func(body []byte) []byte // the body actually sent
		want   string
	}{
		{name: "missing", header: func([]byte) map[string]string { return nil }, want: "missing credential"},
		{name: "wrong token", header: func([]byte) map[string]string { return map[string]string{"Authorization": "Bearer nope"} }, want: "invalid token"},
		{name: "token of another scheme", header: func([]byte) map[string]string { return map[string]string{"Authorization": "Basic " + tokens[0]} }, want: "malformed Authorization header"},
		{name: "token with a suffix", header: func([]byte) map[string]string { return map[string]string{"Authorization": "Bearer " + tokens[0] + "x"} }, want: "invalid token"},
		{name: "stale signature", header: func(b []byte) map[string]string { return signed(secrets[0], now.Add(-10*time.Minute), b) }, want: "outside ±300 s"},
		{name: "future signature", header: func(b []byte) map[string]string { return signed(secrets[0], now.Add(10*time.Minute), b) }, want: "outside ±300 s"},
		{name: "wrong secret", header: func(b []byte) map[string]string { return signed("guess", now, b) }, want: "signature does not match the body"},
		{name: "body altered after signing", header: func(b []byte) map[string]string { return signed(secrets[0], now, b) },
			send: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`5`), []byte(`500`)) }, want: "signature does not match the body"},
		{name: "timestamp without signature", header: func(b []byte) map[string]string {
			return map[string]string{api.HeaderTimestamp: signed(secrets[0], now, b)[api.HeaderTimestamp]}
		}, want: "needs both"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			cust := customer("auth")
			body := event(cust)
			sent := body
			if tt.send != nil {
				sent = tt.send(body)
			}
			res := request(t, env.url, http.MethodPost, "/v1/events", sent, tt.header(body))
			if res.status != http.StatusUnauthorized || !contains(res.errorText(t), tt.want) {
				t.Fatalf("want 401 saying %q, got %s", tt.want, res)
			}
			if h := res.header.Get("WWW-Authenticate"); !contains(h, "Bearer") {
				t.Errorf("WWW-Authenticate %q", h)
			}
			// Nothing was sent: the customer does not exist. (The API
			// sends before it answers, so there is nothing to wait for.)
			if _, ok := getCustomer(t, cust); ok {
				t.Fatalf("a refused request reached the journey of %s", cust)
			}
		})
	}
	// Reads are authenticated too.
	if res := request(t, env.url, http.MethodGet, "/v1/playbooks", nil, nil); res.status != http.StatusUnauthorized {
		t.Errorf("GET /v1/playbooks without a credential: %s", res)
	}

	accepted := []struct {
		name   string
		header func(body []byte) map[string]string
	}{
		{name: "first token", header: func([]byte) map[string]string { return bearer(0) }},
		{name: "second token", header: func([]byte) map[string]string { return bearer(1) }},
		{name: "lower-case scheme", header: func([]byte) map[string]string { return map[string]string{"Authorization": "bearer " + tokens[1]} }},
		{name: "first secret", header: func(b []byte) map[string]string { return signed(secrets[0], time.Now(), b) }},
		{name: "second secret", header: func(b []byte) map[string]string { return signed(secrets[1], time.Now(), b) }},
		{name: "signed 4 minutes ago", header: func(b []byte) map[string]string { return signed(secrets[1], time.Now().Add(-4*time.Minute), b) }},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			cust := customer("auth-ok")
			body := event(cust)
			if res := request(t, env.url, http.MethodPost, "/v1/events", body, tt.header(body)); res.status != http.StatusAccepted {
				t.Fatalf("want 202, got %s", res)
			}
			if c := waitApplied(t, cust, 1); c.Stats.Applied != 1 {
				t.Fatalf("stats %+v", c.Stats)
			}
		})
	}

	t.Run("signed request replayed", func(t *testing.T) {
		cust := customer("replay")
		body := mustJSON(t, []ev{
			{"type": "customer.updated", "customer": cust, "attributes": ev{"seats": 5}},
			{"type": "csat.responded", "customer": cust, "data": ev{"score": 9}},
		})
		h := signed(secrets[0], time.Now(), body)
		var ids [2][]string
		for i := range ids {
			res := request(t, env.url, http.MethodPost, "/v1/events", body, h)
			if res.status != http.StatusAccepted {
				t.Fatalf("attempt %d: want 202, got %s", i+1, res)
			}
			var b struct{ IDs []string }
			res.json(t, &b)
			ids[i] = b.IDs
		}
		if len(ids[0]) != 2 || ids[0][0] != api.SignedEventID(h[api.HeaderSignature], 0) || ids[0][1] != ids[1][1] || ids[0][0] != ids[1][0] {
			t.Fatalf("ids of the two attempts: %v and %v", ids[0], ids[1])
		}
		c := waitApplied(t, cust, 4)
		if c.Stats.Applied != 2 || c.Stats.Duplicates != 2 {
			t.Fatalf("want 2 applied and 2 duplicates, got %+v", c.Stats)
		}
	})

	t.Run("idempotency key", func(t *testing.T) {
		cust := customer("idem")
		body := mustJSON(t, ev{"type": "csat.responded", "customer": cust, "data": ev{"score": 3}})
		var ids []string
		for _, tok := range []int{0, 0, 1} {
			h := bearer(tok)
			h[api.HeaderIdempotencyKey] = "order-17"
			res := request(t, env.url, http.MethodPost, "/v1/events", body, h)
			if res.status != http.StatusAccepted {
				t.Fatalf("want 202, got %s", res)
			}
			var b struct{ IDs []string }
			res.json(t, &b)
			ids = append(ids, b.IDs[0])
		}
		// The key is scoped to the credential: the second token's
		// request is another event.
		if ids[0] != ids[1] || ids[0] == ids[2] || !contains(ids[0], "idem_") {
			t.Fatalf("ids %v", ids)
		}
		c := waitApplied(t, cust, 3)
		if c.Stats.Applied != 2 || c.Stats.Duplicates != 1 {
			t.Fatalf("want 2 applied and 1 duplicate, got %+v", c.Stats)
		}
		// The same key with another body is other events, applied: the
		// key does not silently drop them.
		h := bearer(0)
		h[api.HeaderIdempotencyKey] = "order-17"
		other := mustJSON(t, ev{"type": "csat.responded", "customer": cust, "data": ev{"score": 9}})
		res := request(t, env.url, http.MethodPost, "/v1/events", other, h)
		var b struct{ IDs []string }
		res.json(t, &b)
		if res.status != http.StatusAccepted || b.IDs[0] == ids[0] {
			t.Fatalf("a reused key with another body: %s, ids %v then %v", res, ids, b.IDs)
		}
		if c := waitApplied(t, cust, 4); c.Stats.Applied != 3 {
			t.Fatalf("want 3 applied, got %+v", c.Stats)
		}
	})
}
