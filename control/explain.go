package control

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/engine"
)

// Explanation is tend explain's answer for a live customer: why each
// playbook did or did not start at the journey's last event and last daily
// check, and the playbook set the journey runs on.
type Explanation struct {
	Version string `json:"version"`
	engine.Report
}

// Explain asks a customer's journey why each playbook, or only the one
// named, did or did not start. A customer tend has never seen is
// ErrNotFound; a playbook the journey's set does not have is
// engine.ErrUnknownPlaybook, with the names of those it has.
func Explain(ctx context.Context, c client.Client, customer, playbook string) (*Explanation, error) {
	v, err := journeyView(ctx, c, customer)
	if err != nil {
		return nil, err
	}
	if v.Explain == nil {
		return nil, fmt.Errorf("the worker running the journey of %s is older than this tend and does not explain: upgrade it", customer)
	}
	out := &Explanation{Version: v.Version, Report: *v.Explain}
	if playbook != "" {
		if err := out.Only(playbook); err != nil {
			return nil, err
		}
	}
	return out, nil
}
