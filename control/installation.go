package control

import (
	"context"
	"errors"
	"fmt"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// InstallationKey is the key of the installation id in the namespace's
// data (temporal operator namespace describe shows it).
const InstallationKey = "tend-installation-id"

// EnsureInstallationID returns the installation id of the namespace: the
// value of InstallationKey in its data, written on first use. Workers
// salt Message-IDs, invite UIDs and X-Tend-Key with it, so that mail from
// another installation, or from this one after a reset that wiped the
// namespace, is never taken for a duplicate.
//
// The id written is the namespace's own id (a UUID the server made when
// the namespace was registered), so that workers starting at once write
// the same value; it is read back after the write. A server that refuses
// the write (an API key without the right to update the namespace, as on
// Temporal Cloud) gets the same id without it being stored.
func EnsureInstallationID(ctx context.Context, c client.Client, namespace string) (string, error) {
	svc := c.WorkflowService()
	desc := func() (*namespacepb.NamespaceInfo, error) {
		resp, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
		if err != nil {
			return nil, fmt.Errorf("read the installation id of namespace %s: %w", namespace, err)
		}
		return resp.GetNamespaceInfo(), nil
	}
	info, err := desc()
	if err != nil {
		return "", err
	}
	if id := info.GetData()[InstallationKey]; id != "" {
		return id, nil
	}
	id := info.GetId()
	if id == "" {
		return "", fmt.Errorf("namespace %s has no id to derive an installation id from", namespace)
	}
	_, err = svc.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace:  namespace,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{InstallationKey: id}},
	})
	var denied *serviceerror.PermissionDenied
	var unimpl *serviceerror.Unimplemented
	switch {
	case errors.As(err, &denied) || errors.As(err, &unimpl):
		return id, nil
	case err != nil:
		return "", fmt.Errorf("store the installation id of namespace %s (key %s): %w", namespace, InstallationKey, err)
	}
	if info, err = desc(); err != nil {
		return "", err
	}
	if stored := info.GetData()[InstallationKey]; stored != "" {
		return stored, nil
	}
	return id, nil
}
