package api_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/engine/lang"
)

const uiOrigin = "https://temporal-ui.vendor.example"

// adaB64 is the payload data `"Ada Lovelace"` as a decode answer carries
// it: base64, in protojson.
var adaB64 = base64.StdEncoding.EncodeToString([]byte(`"Ada Lovelace"`))

var devOrigins = []string{"http://127.0.0.1:8233", "http://localhost:8233"}

func testCodec(t testing.TB, ids ...string) *codec.Codec {
	t.Helper()
	keys := map[string][]byte{}
	for i, id := range ids {
		keys[id] = bytes.Repeat([]byte{byte(i + 1)}, codec.KeySize)
	}
	c, err := codec.New(keys, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// codecServer is an API with a codec server, on a real listener.
func codecServer(t *testing.T, c *codec.Codec, dev []string) (*api.Server, string) {
	t.Helper()
	srv, err := api.New(api.Options{Client: unreachableClient(t), Set: func() *lang.Set { return nil }, Tokens: tokens,
		SigningSecrets: secrets, Registry: prometheus.NewRegistry(), Codec: c, CodecOrigin: uiOrigin, DevCodecOrigins: dev})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

func payloadsBody(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The SDK's own remote codec client talks to the codec server: the
// protocol the Temporal UI and CLI use.
func TestCodecServerRoundTrip(t *testing.T) {
	c := testCodec(t, "k1")
	_, url := codecServer(t, c, nil)
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: url + api.CodecPath,
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+tokens[1])
			r.Header.Set("X-Namespace", "default")
			return nil
		},
	})
	plain, _ := converter.GetDefaultDataConverter().ToPayload("Ada Lovelace")
	enc, err := remote.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[0].Metadata["encoding"]) != codec.Encoding || bytes.Contains(enc[0].Data, []byte("Lovelace")) {
		t.Fatalf("encode answered %v, not an encrypted payload", enc[0])
	}
	// What the workers wrote decodes through the server, and the reverse.
	local, _ := c.Encode([]*commonpb.Payload{plain})
	dec, err := remote.Decode(append(enc, local...))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range dec {
		var s string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil || s != "Ada Lovelace" {
			t.Errorf("payload %d decoded to %q, %v", i, s, err)
		}
	}
	// A payload under a key the server does not have: the answer says which.
	other, _ := testCodec(t, "k0").Encode([]*commonpb.Payload{plain})
	_, err = remote.Decode(other)
	if err == nil || !strings.Contains(err.Error(), "key k0") {
		t.Errorf("decode under an unknown key: %v; want an error naming k0", err)
	}
}

func TestCodecServerAuth(t *testing.T) {
	c := testCodec(t, "k1")
	_, url := codecServer(t, c, nil)
	enc, _ := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Ada Lovelace"`)}})
	body := payloadsBody(t, enc...)
	ts, sig := api.Sign(secrets[0], time.Now(), body)
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		says    string
	}{
		{"no credential", nil, http.StatusUnauthorized, "missing credential"},
		{"wrong token", map[string]string{"Authorization": "Bearer not-a-token-0123456789"}, http.StatusUnauthorized, ""},
		{"malformed", map[string]string{"Authorization": "Basic " + tokens[0]}, http.StatusUnauthorized, ""},
		{"a signing secret is no codec credential", map[string]string{api.HeaderTimestamp: ts, api.HeaderSignature: sig}, http.StatusUnauthorized,
			"the codec server takes no signed requests"},
		{"allowed origin, no token", map[string]string{"Origin": uiOrigin}, http.StatusUnauthorized, ""},
		{"token", map[string]string{"Authorization": "Bearer " + tokens[0]}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []string{"/decode", "/encode"} {
				req, _ := http.NewRequest(http.MethodPost, url+api.CodecPath+op, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range tt.headers {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || !bytes.Contains(got, []byte(tt.says)) {
					t.Fatalf("%s: %d %s; want %d saying %q", op, resp.StatusCode, got, tt.status, tt.says)
				}
				if tt.status == http.StatusUnauthorized && bytes.Contains(got, []byte(adaB64)) {
					t.Fatalf("%s: an unauthenticated caller got the plain text: %s", op, got)
				}
				if op == "/decode" && tt.status == http.StatusOK && !bytes.Contains(got, []byte(adaB64)) {
					t.Fatalf("decode answered %s", got)
				}
			}
		})
	}
}

func TestCodecServerCORS(t *testing.T) {
	_, url := codecServer(t, testCodec(t, "k1"), nil)
	body := payloadsBody(t)
	tests := []struct {
		name, method, origin string
		token                bool
		status               int
		acao                 string // the Access-Control-Allow-Origin wanted; "" for none
	}{
		{"preflight from the UI", http.MethodOptions, uiOrigin, false, http.StatusNoContent, uiOrigin},
		{"preflight from elsewhere", http.MethodOptions, "https://evil.example", false, http.StatusForbidden, ""},
		{"preflight with no origin", http.MethodOptions, "", false, http.StatusForbidden, ""},
		{"post from the UI", http.MethodPost, uiOrigin, true, http.StatusOK, uiOrigin},
		{"post without an origin (the CLI)", http.MethodPost, "", true, http.StatusOK, ""},
		// A browser sends a simple POST without a preflight; it would
		// not show the answer, but nothing is decoded for it either.
		{"post from elsewhere", http.MethodPost, "https://evil.example", true, http.StatusForbidden, ""},
		{"post from the UI's origin with another port", http.MethodPost, uiOrigin + ":8443", true, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url+api.CodecPath+"/decode", bytes.NewReader(body))
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
			}
			if tt.token {
				req.Header.Set("Authorization", "Bearer "+tokens[0])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, got)
			}
			if tt.status == http.StatusForbidden {
				want := "origin " + tt.origin + " may not call the codec server: it is not " + uiOrigin
				if tt.origin == "" {
					want = "a preflight without an Origin header may not call the codec server"
				}
				if !strings.Contains(string(got), want) {
					t.Errorf("403 body %s does not say %q", got, want)
				}
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.acao {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.acao)
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
				t.Errorf("Vary %q does not name Origin", resp.Header.Get("Vary"))
			}
			if tt.method == http.MethodOptions && tt.acao != "" {
				allow := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"authorization", "content-type", "x-namespace"} {
					if !strings.Contains(allow, h) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", allow, h)
					}
				}
				if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
					t.Errorf("Access-Control-Allow-Methods %q lacks POST", m)
				}
			}
		})
	}
}

// tend dev's route serves the embedded UI on this machine without a token,
// and nobody else.
func TestDevCodecRoute(t *testing.T) {
	c := testCodec(t, "k1")
	enc, _ := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Ada Lovelace"`)}})
	body := payloadsBody(t, enc...)
	srv, url := codecServer(t, c, devOrigins)
	post := func(origin string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, url+api.DevCodecPath+"/decode", bytes.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), string(got)
	}
	for _, o := range devOrigins {
		if status, acao, got := post(o); status != http.StatusOK || acao != o || !strings.Contains(got, adaB64) {
			t.Errorf("from the UI at %s: %d, ACAO %q, %s", o, status, acao, got)
		}
	}
	for o, why := range map[string]string{
		"":                      "the dev codec route answers the embedded Web UI only (" + strings.Join(devOrigins, ", ") + "), and this request has no Origin header",
		"https://evil.example":  "origin https://evil.example may not call the codec server: it is not " + strings.Join(devOrigins, " or "),
		"http://127.0.0.1:9999": "origin http://127.0.0.1:9999 may not call the codec server",
	} {
		if status, acao, got := post(o); status != http.StatusForbidden || acao != "" || strings.Contains(got, adaB64) || !strings.Contains(got, why) {
			t.Errorf("from origin %q: %d, ACAO %q, %s; want 403 saying %q", o, status, acao, got, why)
		}
	}
	// From another machine, even with the UI's origin.
	req := httptest.NewRequest(http.MethodPost, api.DevCodecPath+"/decode", bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.7:51234"
	req.Header.Set("Origin", devOrigins[0])
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), adaB64) {
		t.Errorf("from 192.0.2.7: %d %s; want 403", rec.Code, rec.Body)
	}
	// Without dev origins (tend serve), there is no such route.
	_, plain := codecServer(t, c, nil)
	resp, err := http.Post(plain+api.DevCodecPath+"/decode", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("tend serve answered the dev codec route: %d", resp.StatusCode)
	}
}

// Every refusal of the codec server is a JSON error, as the rest of the
// API's, and a request may carry at most MaxCodecPayloads payloads.
func TestCodecServerErrors(t *testing.T) {
	c := testCodec(t, "k1")
	_, url := codecServer(t, c, nil)
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Ada Lovelace"`)}
	other, _ := testCodec(t, "k0").Encode([]*commonpb.Payload{plain})
	empties := func(n int) []byte {
		return []byte(`{"payloads":[` + strings.TrimSuffix(strings.Repeat(`{},`, n), ",") + `]}`)
	}
	tests := []struct {
		name, op string
		body     []byte
		status   int
		want     string // in the JSON error; "" for a 200
	}{
		{"malformed JSON", "/decode", []byte("bad"), http.StatusBadRequest, `malformed body: want {"payloads": [...]}`},
		{"unknown field", "/encode", []byte(`{"payload": []}`), http.StatusBadRequest, "malformed body"},
		{"unknown key", "/decode", payloadsBody(t, other...), http.StatusBadRequest, "decode: payload was encrypted with key k0"},
		{"too many payloads to encode", "/encode", empties(api.MaxCodecPayloads + 1), http.StatusRequestEntityTooLarge,
			"10001 payloads in one request; the codec server takes at most 10000, so send them in smaller batches"},
		{"too many payloads to decode", "/decode", empties(api.MaxCodecPayloads + 1), http.StatusRequestEntityTooLarge, "10001 payloads"},
		{"as many as allowed", "/encode", empties(api.MaxCodecPayloads), http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := request(t, url, http.MethodPost, api.CodecPath+tt.op, tt.body, map[string]string{"Authorization": "Bearer " + tokens[0]})
			if res.status != tt.status {
				t.Fatalf("status %s, want %d", res, tt.status)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if tt.want == "" {
				var got commonpb.Payloads
				if err := protojson.Unmarshal(res.body, &got); err != nil || len(got.Payloads) != api.MaxCodecPayloads {
					t.Errorf("answer has %d payloads (%v), want %d", len(got.Payloads), err, api.MaxCodecPayloads)
				}
				return
			}
			if got := res.errorText(t); !strings.Contains(got, tt.want) {
				t.Errorf("error %q does not say %q", got, tt.want)
			}
		})
	}
}

// A 401 says where the caller finds a token: api.tokens, or tend dev's
// file.
func TestCodecServerTokensFrom(t *testing.T) {
	c := testCodec(t, "k1")
	for _, tt := range []struct{ from, want string }{
		{"", "a token of api.tokens in tend.yaml"},
		{"the token in .tend/api-token", "the token in .tend/api-token"},
	} {
		srv, err := api.New(api.Options{Client: unreachableClient(t), Set: func() *lang.Set { return nil }, Tokens: tokens,
			Registry: prometheus.NewRegistry(), Codec: c, TokensFrom: tt.from})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		for _, auth := range []string{"", "Bearer not-a-token-0123456789"} {
			h := map[string]string{}
			if auth != "" {
				h["Authorization"] = auth
			}
			res := request(t, hs.URL, http.MethodPost, api.CodecPath+"/decode", payloadsBody(t), h)
			if res.status != http.StatusUnauthorized || !strings.Contains(res.errorText(t), tt.want) {
				t.Errorf("TokensFrom %q, Authorization %q: %s; want a 401 naming %q", tt.from, auth, res, tt.want)
			}
		}
	}
}
