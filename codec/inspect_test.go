package codec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/tend-cs/tend/codec"
)

// history is a history whose payloads sit where Temporal puts them: a
// start's input (a list), a marker's details (a map) and a failure's
// encoded attributes (a nested message), written under k1 and k2.
func history(t *testing.T) *historypb.History {
	t.Helper()
	enc := func(id string, v any) *commonpb.Payload {
		c := mustNew(t, map[string][]byte{id: key(id[1])}, id)
		out, err := c.Encode([]*commonpb.Payload{payload(t, v)})
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	return &historypb.History{Events: []*historypb.HistoryEvent{
		{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{payload(t, "plain"), enc("k1", secret)}}}}},
		{Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			Details: map[string]*commonpb.Payloads{"data": {Payloads: []*commonpb.Payload{enc("k1", 1)}}}}}},
		{Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Failure: &failurepb.Failure{EncodedAttributes: enc("k2", secret)}}}},
	}}
}

func TestKeyIDs(t *testing.T) {
	if got := codec.KeyIDs(history(t)); !slices.Equal(got, []string{"k1", "k2"}) {
		t.Errorf("KeyIDs = %v; want [k1 k2], from the input, the marker and the failure", got)
	}
	if got := codec.KeyIDs(&historypb.History{}); len(got) != 0 {
		t.Errorf("KeyIDs of an empty history = %v; want none", got)
	}
}

// Check names what keeps a reader from a history: the key it lacks, no
// codec at all, or a wrong key under the right id.
func TestCheck(t *testing.T) {
	h := history(t)
	for _, tt := range []struct {
		name  string
		codec *codec.Codec
		want  string // "" for readable
	}{
		{"both keys", mustNew(t, map[string][]byte{"k1": key('1'), "k2": key('2')}, "k2"), ""},
		{"k1 removed", mustNew(t, map[string][]byte{"k2": key('2')}, "k2"), "encrypted with key k1, which tend.yaml's codec.keys does not have (it has k2)"},
		{"no codec", nil, "encrypted with key k1, and tend.yaml has no codec: section"},
		{"another key under k2", mustNew(t, map[string][]byte{"k1": key('1'), "k2": key('9')}, "k2"), "encrypted with key k2 fails authentication"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := codec.Check(tt.codec, h)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v; want readable", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check: %v; want %q", err, tt.want)
			}
		})
	}
	var missing *codec.MissingKeyError
	if err := codec.Check(mustNew(t, map[string][]byte{"k2": key('2')}, "k2"), h); !errors.As(err, &missing) || missing.KeyID != "k1" {
		t.Errorf("Check without k1: %v; want a *MissingKeyError naming k1", err)
	}
}
