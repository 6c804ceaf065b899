// Package codec encrypts what tend stores in Temporal: every payload (workflow and
// activity inputs and results, signals, queries, updates, memos, summaries and
// details, heartbeats) and the messages of failures, with AES-256-GCM under
// keys named by id in tend.yaml's codec: section.
//
// An encoded payload carries the id of the key it was written with in its
// metadata, so that it stays readable after another key becomes primary:
// rotation adds a key, makes it primary, and keeps the old one for as long
// as histories written under it are kept. Payloads without the encoding
// (written before a codec was configured) pass through Decode unchanged.
package codec

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encoded payload.
const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key a payload was
	// encrypted with.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the length of a key in bytes: AES-256.
	KeySize = 32
)

// Codec is an AES-256-GCM converter.PayloadCodec with named keys. It is safe
// for concurrent use.
type Codec struct {
	primary string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec that encrypts with keys[primary] and decrypts with
// any of keys. Every key must be KeySize bytes.
func New(keys map[string][]byte, primary string) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec needs at least one key")
	}
	c := &Codec{primary: primary, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, k := range keys {
		if id == "" {
			return nil, errors.New("codec key id is empty")
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("codec key %s has %d bytes; AES-256 needs %d", id, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("codec key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec key %s: %w", id, err)
		}
		c.aeads[id] = aead
	}
	if _, ok := c.aeads[primary]; !ok {
		return nil, fmt.Errorf("codec primary key %q is not among the keys %s", primary, strings.Join(c.KeyIDs(), ", "))
	}
	return c, nil
}

// Primary is the id of the key new payloads are encrypted with.
func (c *Codec) Primary() string { return c.primary }

// KeyIDs are the ids of the keys, sorted.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, 0, len(c.aeads))
	for id := range c.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// aad binds a ciphertext to its key id, so that a payload relabelled
// with another id fails authentication rather than decrypting.
func aad(id string) []byte { return []byte("tend codec v1\x00" + id) }

// Encode encrypts each payload, whole (metadata and data), under the
// primary key, with a random nonce.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.primary]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encode payload: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.primary),
			},
			Data: aead.Seal(nonce, nonce, plain, aad(c.primary)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key its metadata names,
// and returns any other payload unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := shownID(string(p.GetMetadata()[MetadataKeyID]))
		aead, ok := c.aeads[id]
		if !ok {
			return nil, &MissingKeyError{KeyID: id, Have: c.KeyIDs()}
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, undecryptable("payload encrypted with key %s is %d bytes, too short to be a ciphertext: it was altered", id, len(data))
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, aad(id))
		if err != nil {
			return nil, undecryptable("payload encrypted with key %s fails authentication: it was altered, or codec.keys.%s is not the key it was written with", id, id)
		}
		dec := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, dec); err != nil {
			return nil, undecryptable("payload encrypted with key %s: decrypted bytes are not a payload: %v", id, err)
		}
		out[i] = dec
	}
	return out, nil
}

// ErrUndecryptable is what every error of Decode is (errors.Is): a
// payload the codec cannot turn back into what was encoded.
var ErrUndecryptable = errors.New("payload cannot be decrypted")

// decryptError is an error of Decode other than a missing key.
type decryptError struct{ msg string }

func (e *decryptError) Error() string        { return e.msg }
func (e *decryptError) Is(target error) bool { return target == ErrUndecryptable }

func undecryptable(format string, args ...any) error {
	return &decryptError{msg: fmt.Sprintf(format, args...)}
}

// MaxKeyID is the longest key id tend.yaml accepts.
const MaxKeyID = 64

// shownID is a payload's key id as errors name it: no configured id is
// longer than MaxKeyID, so a longer one is cut there rather than echoed
// whole into a message (the codec server answers strangers' payloads).
func shownID(id string) string {
	if len(id) <= MaxKeyID {
		return id
	}
	id = id[:MaxKeyID]
	for !utf8.ValidString(id) {
		id = id[:len(id)-1]
	}
	return id + "..."
}

// MissingKeyError is a payload encrypted with a key the codec does not
// have: the key was removed from tend.yaml too early, or this process
// reads another configuration than the one that wrote the payload.
type MissingKeyError struct {
	KeyID string   // the key the payload names
	Have  []string // the keys the codec has, sorted
}

// Is makes a MissingKeyError an ErrUndecryptable.
func (e *MissingKeyError) Is(target error) bool { return target == ErrUndecryptable }

func (e *MissingKeyError) Error() string {
	if e.KeyID == "" {
		return "payload is encrypted but names no key id; it was not written by tend's codec"
	}
	return fmt.Sprintf("payload was encrypted with key %s, which tend.yaml's codec.keys does not have (it has %s); add it back, under the same id, to read it",
		e.KeyID, strings.Join(e.Have, ", "))
}

// DataConverter is the SDK's default data converter with the codec's
// encryption on every payload. In workflow code, a payload it cannot
// decrypt (a key gone from tend.yaml, or other bytes under its id) panics
// instead of returning the error: the SDK fails the workflow task then,
// and retries it until the key is back, where the error would fail a
// workflow whose input it is for good.
func (c *Codec) DataConverter() converter.DataConverter {
	return &dataConverter{DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)}
}

// dataConverter is Codec.DataConverter; inWorkflow is its variant for
// workflow code (converter.ContextAware).
type dataConverter struct {
	converter.DataConverter
	inWorkflow bool
}

var _ converter.ContextAware = (*dataConverter)(nil)

func (d *dataConverter) WithWorkflowContext(converter.WorkflowContext) converter.DataConverter {
	return &dataConverter{DataConverter: d.DataConverter, inWorkflow: true}
}

func (d *dataConverter) WithContext(context.Context) converter.DataConverter { return d }

func (d *dataConverter) FromPayload(p *commonpb.Payload, v any) error {
	return d.check(d.DataConverter.FromPayload(p, v))
}

func (d *dataConverter) FromPayloads(ps *commonpb.Payloads, vs ...any) error {
	return d.check(d.DataConverter.FromPayloads(ps, vs...))
}

func (d *dataConverter) check(err error) error {
	if d.inWorkflow && errors.Is(err, ErrUndecryptable) {
		panic(err)
	}
	return err
}

// Apply sets opts to encrypt with the codec: every payload through the
// data converter, and the message and stack trace of every failure, which
// the SDK otherwise stores in plain text, through a failure converter that
// moves them into an encrypted payload (EncodeCommonAttributes). A worker
// made from the client inherits both. A nil codec leaves opts as they are.
func (c *Codec) Apply(opts *client.Options) {
	if c == nil {
		return
	}
	dc := c.DataConverter()
	opts.DataConverter = dc
	opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
