package control

import (
	"context"
	"fmt"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TODO(issue 10): placeholder for `tend setup`; the installation-identity
// branch (i10-retry) owns this file. On merge, take that branch's version.

// InstallationKey is the key of the installation id in the namespace's data.
const InstallationKey = "tend-installation-id"

// EnsureInstallationID returns the installation id of the namespace: the
// value of InstallationKey in its data, written on first use as the
// namespace's own id.
func EnsureInstallationID(ctx context.Context, c client.Client, namespace string) (string, error) {
	svc := c.WorkflowService()
	resp, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return "", fmt.Errorf("read the installation id of namespace %s: %w", namespace, err)
	}
	if id := resp.GetNamespaceInfo().GetData()[InstallationKey]; id != "" {
		return id, nil
	}
	id := resp.GetNamespaceInfo().GetId()
	if _, err := svc.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace:  namespace,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{InstallationKey: id}},
	}); err != nil {
		return "", fmt.Errorf("store the installation id of namespace %s (key %s): %w", namespace, InstallationKey, err)
	}
	return id, nil
}
