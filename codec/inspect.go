package codec

import (
	"fmt"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// NoCodecError is a payload encrypted by tend's codec, met by a process
// whose tend.yaml has no codec: section.
type NoCodecError struct {
	KeyID string // the key the payload names
}

func (e *NoCodecError) Error() string {
	return fmt.Sprintf("payload was encrypted with key %s, and tend.yaml has no codec: section to read it; give this tend.yaml the workers' codec: keys", e.KeyID)
}

// KeyIDs returns the ids of the keys that the encrypted payloads anywhere
// in m (a history, an event, a query answer) name, sorted, each once. A
// reader that cannot load a workflow names them: they are what its
// tend.yaml must hold.
func KeyIDs(m proto.Message) []string {
	var ids []string
	eachPayload(m.ProtoReflect(), func(p *commonpb.Payload) {
		if id, ok := keyID(p); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	return ids
}

// Check says why c cannot read every encrypted payload in m: a key it
// lacks (*MissingKeyError), a payload that fails authentication, or no
// codec at all (c is nil: *NoCodecError). It decodes one payload per key,
// so a wrong key under a right id is found too. nil means m is readable.
func Check(c *Codec, m proto.Message) error {
	var err error
	var seen []string
	eachPayload(m.ProtoReflect(), func(p *commonpb.Payload) {
		id, ok := keyID(p)
		if !ok || err != nil || slices.Contains(seen, id) {
			return
		}
		seen = append(seen, id)
		if c == nil {
			err = &NoCodecError{KeyID: id}
			return
		}
		_, err = c.Decode([]*commonpb.Payload{p})
	})
	return err
}

// keyID is the key an encrypted payload names.
func keyID(p *commonpb.Payload) (string, bool) {
	if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
		return "", false
	}
	return shownID(string(p.GetMetadata()[MetadataKeyID])), true
}

// eachPayload calls f with every Payload in m, however deeply nested: a
// history carries payloads in dozens of event types and fields, and
// walking the message finds them all, new ones included.
func eachPayload(m protoreflect.Message, f func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		f(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					eachPayload(mv.Message(), f)
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					eachPayload(l.Get(i).Message(), f)
				}
			}
		case fd.Message() != nil:
			eachPayload(v.Message(), f)
		}
		return true
	})
}
