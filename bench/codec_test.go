package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// BenchmarkThroughputCodec is BenchmarkThroughput's tend case without and
// with a codec (tend.yaml's codec:, AES-256-GCM on every payload), one
// after the other in each run: what encrypting customer data at rest
// costs end to end. Compare events/s and cpu-ms/customer of the two
// sub-benchmarks of the same run; run it with -benchtime 1x -count N.
func BenchmarkThroughputCodec(b *testing.B) {
	s := server(b)
	key := bytes.Repeat([]byte{1}, 32)
	cdc, err := codec.New(map[string][]byte{"bench": key}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		codec *codec.Codec
	}{{"plain", nil}, {"codec", cdc}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := client.Options{Namespace: s.server.Namespace(), Logger: zlog.SDK(logger())}
			tc.codec.Apply(&opts)
			c, err := client.NewClientFromExisting(s.client, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cfg := benchConfig(b.TempDir())
			if tc.codec != nil {
				// As tend.yaml's codec: gives it the node (owners hashed).
				cfg.Codec = &config.Codec{Keys: map[string]config.Secret{"bench": config.Secret(base64.StdEncoding.EncodeToString(key))}, Primary: "bench"}
			}
			n, err := node.Start(node.Options{Client: c, Config: cfg, Playbooks: "testdata/throughput",
				Logger: logger(), Reload: -1, Workflows: workflows.Options{}, Worker: worker.Options{}})
			if err != nil {
				b.Fatalf("start worker: %v", err)
			}
			defer n.Stop()
			prefix := newPrefix(tc.name[:1])
			measureBatches(b, prefix, func(ctx context.Context, prefix string, n int) error {
				return tendBatch(ctx, c, prefix, n)
			})
		})
	}
}
