package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/engine"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, codec.KeySize) }

func mustNew(t testing.TB, keys map[string][]byte, primary string) *codec.Codec {
	t.Helper()
	c, err := codec.New(keys, primary)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// secret is a customer value that must not survive encoding in clear.
const secret = "Ada Lovelace <ada@analytical.example>"

func payload(t testing.TB, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	c := mustNew(t, map[string][]byte{"k1": key(1)}, "k1")
	in := []*commonpb.Payload{payload(t, secret), payload(t, map[string]int{"health": 72}), payload(t, nil)}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range enc {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.Encoding {
			t.Errorf("payload %d: encoding %q, want %q", i, got, codec.Encoding)
		}
		if got := string(p.Metadata[codec.MetadataKeyID]); got != "k1" {
			t.Errorf("payload %d: key id %q, want k1", i, got)
		}
		if bytes.Contains(p.Data, []byte("Lovelace")) || bytes.Contains(p.Data, []byte("health")) {
			t.Errorf("payload %d: plain text in the ciphertext", i)
		}
	}
	// A random nonce: the same value never encrypts to the same bytes.
	again, _ := c.Encode(in[:1])
	if bytes.Equal(again[0].Data, enc[0].Data) {
		t.Error("two encodings of one payload are identical; the nonce is not random")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(dec[i], in[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}
	// Through the data converter, as the SDK uses it.
	dc := c.DataConverter()
	p, err := dc.ToPayload(secret)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := dc.FromPayload(p, &s); err != nil || s != secret {
		t.Errorf("data converter round trip: %q, %v", s, err)
	}
}

func TestDecodePassesPlainPayloads(t *testing.T) {
	c := mustNew(t, map[string][]byte{"k1": key(1)}, "k1")
	plain := payload(t, "written before the codec")
	out, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || !proto.Equal(out[0], plain) {
		t.Fatalf("Decode(plain) = %v, %v; want it unchanged", out, err)
	}
}

func TestRotation(t *testing.T) {
	old := mustNew(t, map[string][]byte{"k1": key(1)}, "k1")
	written, err := old.Encode([]*commonpb.Payload{payload(t, "under k1")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustNew(t, map[string][]byte{"k1": key(1), "k2": key(2)}, "k2")
	newer, err := rotated.Encode([]*commonpb.Payload{payload(t, "under k2")})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(newer[0].Metadata[codec.MetadataKeyID]); got != "k2" {
		t.Fatalf("after rotation, new payloads name key %q, want k2", got)
	}
	dec, err := rotated.Decode(append(written, newer...))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"under k1", "under k2"} {
		var got string
		if err := converter.GetDefaultDataConverter().FromPayload(dec[i], &got); err != nil || got != want {
			t.Errorf("payload %d: %q, %v; want %q", i, got, err, want)
		}
	}
}

func TestMissingKeyNamed(t *testing.T) {
	k1 := mustNew(t, map[string][]byte{"k1": key(1)}, "k1")
	enc, _ := k1.Encode([]*commonpb.Payload{payload(t, secret)})
	k2 := mustNew(t, map[string][]byte{"k2": key(2), "k3": key(3)}, "k2")
	_, err := k2.Decode(enc)
	var missing *codec.MissingKeyError
	if !errors.As(err, &missing) || missing.KeyID != "k1" {
		t.Fatalf("Decode without k1: %v; want a MissingKeyError for k1", err)
	}
	for _, want := range []string{"key k1", "codec.keys", "k2, k3", "add it back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// An id longer than any configured one is cut, not echoed whole.
	long := proto.Clone(enc[0]).(*commonpb.Payload)
	long.Metadata[codec.MetadataKeyID] = []byte(strings.Repeat("x", 216))
	_, err = k2.Decode([]*commonpb.Payload{long})
	if err == nil || !strings.Contains(err.Error(), "key "+strings.Repeat("x", codec.MaxKeyID)+"...,") || strings.Contains(err.Error(), strings.Repeat("x", codec.MaxKeyID+1)) {
		t.Errorf("Decode under a 216-character id: %v; want the id cut at %d characters", err, codec.MaxKeyID)
	}
}

func TestTamperingDetected(t *testing.T) {
	c := mustNew(t, map[string][]byte{"k1": key(1), "k2": key(2)}, "k1")
	tests := []struct {
		name   string
		change func(p *commonpb.Payload)
	}{
		{"flipped ciphertext bit", func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 }},
		{"flipped nonce bit", func(p *commonpb.Payload) { p.Data[0] ^= 1 }},
		{"flipped tag bit", func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 0x80 }},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:10] }},
		{"relabelled key id", func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode([]*commonpb.Payload{payload(t, secret)})
			if err != nil {
				t.Fatal(err)
			}
			tt.change(enc[0])
			if out, err := c.Decode(enc); err == nil {
				t.Fatalf("Decode of a tampered payload succeeded: %v", out)
			} else if !strings.Contains(err.Error(), "altered") {
				t.Errorf("error %q does not say the payload was altered", err)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		keys    map[string][]byte
		primary string
		want    string
	}{
		{"no keys", nil, "k1", "at least one key"},
		{"short key", map[string][]byte{"k1": key(1)[:16]}, "k1", "codec key k1 has 16 bytes; AES-256 needs 32"},
		{"unknown primary", map[string][]byte{"k1": key(1)}, "k9", `primary key "k9" is not among the keys k1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.New(tt.keys, tt.primary)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// action is a typical activity input: an email action with its rendered
// body, about 1 KiB of JSON.
func action() engine.Action {
	due := time.Date(2026, 1, 8, 17, 0, 0, 0, time.UTC)
	return engine.Action{
		Kind: "email", Key: "enterprise-onboarding/acme/1/welcome/1", Run: "run/enterprise-onboarding/acme/1",
		Playbook: "enterprise-onboarding", Version: "3f9a1c2b7d4e", Customer: "acme", Step: "welcome", Occurrence: 1,
		Summary: "email welcome-enterprise to it@acme.example", To: "it@acme.example", Owner: "jo@vendor.example",
		Template: "welcome-enterprise", Subject: "Welcome aboard, Acme",
		Body: strings.Repeat("Hi Ada, welcome to the platform. Your kickoff is next week; reply with a time that suits you. ", 8),
		Due:  &due,
	}
}

// BenchmarkAction measures a typical activity input through the data
// converter, to a payload and back, with and without the codec
// (docs/encryption.md).
func BenchmarkAction(b *testing.B) {
	c := mustNew(b, map[string][]byte{"k1": key(1)}, "k1")
	for _, bc := range []struct {
		name string
		dc   converter.DataConverter
	}{{"plain", converter.GetDefaultDataConverter()}, {"codec", c.DataConverter()}} {
		b.Run(bc.name, func(b *testing.B) {
			a := action()
			b.ReportAllocs()
			for b.Loop() {
				p, err := bc.dc.ToPayload(a)
				if err != nil {
					b.Fatal(err)
				}
				var back engine.Action
				if err := bc.dc.FromPayload(p, &back); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// In workflow code the data converter panics on a payload it cannot
// decrypt, so that the SDK fails and retries the workflow task instead of
// failing the workflow; elsewhere it returns the error.
func TestDataConverterPanicsInWorkflows(t *testing.T) {
	enc, err := mustNew(t, map[string][]byte{"k1": key(1)}, "k1").DataConverter().ToPayload(secret)
	if err != nil {
		t.Fatal(err)
	}
	dc := mustNew(t, map[string][]byte{"k2": key(2)}, "k2").DataConverter()
	var s string
	if err := dc.FromPayload(enc, &s); !errors.Is(err, codec.ErrUndecryptable) {
		t.Fatalf("outside a workflow: %v; want an ErrUndecryptable error", err)
	}
	wdc := dc.(converter.ContextAware).WithWorkflowContext(nil)
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "key k1") {
				t.Errorf("in a workflow: recovered %v; want a panic naming k1", p)
			}
		}()
		_ = wdc.FromPayloads(&commonpb.Payloads{Payloads: []*commonpb.Payload{enc}}, &s)
	}()
	// A payload it can read, and a conversion error, are as before.
	ok, _ := dc.ToPayload("plain words")
	if err := wdc.FromPayload(ok, &s); err != nil || s != "plain words" {
		t.Errorf("in a workflow, a readable payload: %q, %v", s, err)
	}
	var n int
	if err := wdc.FromPayload(ok, &n); err == nil || errors.Is(err, codec.ErrUndecryptable) {
		t.Errorf("in a workflow, a string into an int: %v; want the conversion error, returned", err)
	}
}
