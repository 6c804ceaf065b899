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

// EncryptedKey is the key in the namespace's data that says its workers
// encrypt payloads (tend.yaml's codec:): a client without a codec must not
// add customer data in plain text to histories that are encrypted.
const EncryptedKey = "tend-encrypted"

// MarkEncrypted records in the namespace's data that its workers encrypt
// payloads. Workers and tend setup with a codec call it; like the
// installation id, a server that refuses the write is not an error.
func MarkEncrypted(ctx context.Context, c client.Client, namespace string) error {
	svc := c.WorkflowService()
	resp, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("read namespace %s: %w", namespace, err)
	}
	if resp.GetNamespaceInfo().GetData()[EncryptedKey] != "" {
		return nil
	}
	_, err = svc.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace:  namespace,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{EncryptedKey: "aes-256-gcm"}},
	})
	var denied *serviceerror.PermissionDenied
	var unimpl *serviceerror.Unimplemented
	if err != nil && !errors.As(err, &denied) && !errors.As(err, &unimpl) {
		return fmt.Errorf("mark namespace %s as encrypted (key %s): %w", namespace, EncryptedKey, err)
	}
	return nil
}

// ErrNotEncrypting is the error of CheckEncrypting for a client without a
// codec on an installation whose workers encrypt.
var ErrNotEncrypting = errors.New("this tend.yaml has no codec: section")

// CheckEncrypting refuses to let a client without a codec (encrypts is
// false) send customer data to a namespace whose workers encrypt
// (MarkEncrypted): it would be stored in plain text, in histories that
// are otherwise encrypted.
func CheckEncrypting(ctx context.Context, c client.Client, namespace string, encrypts bool) error {
	if encrypts {
		return nil
	}
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		var denied *serviceerror.PermissionDenied
		if errors.As(err, &denied) {
			return nil // cannot tell; the workers' own check is the data
		}
		return fmt.Errorf("read namespace %s: %w", namespace, err)
	}
	if resp.GetNamespaceInfo().GetData()[EncryptedKey] == "" {
		return nil
	}
	return fmt.Errorf("%w, and the workers of namespace %s encrypt customer data (%s in its data): what this command sends would be stored in plain text; "+
		"give it the workers' codec: keys (--config, or TEND_CONFIG)", ErrNotEncrypting, namespace, EncryptedKey)
}
