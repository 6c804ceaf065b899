package engine

import (
	"crypto/sha256"
	"encoding/hex"
)

// MailKey is the opaque key of an action's mail: the first 32 hex digits
// of SHA-256(installation id, NUL, action key). It is the local part of
// the mail's Message-ID and invite UID and its X-Tend-Key header, the same
// on every retry and re-drive of the action, different on another
// installation (or after a reset that gave a new installation id), and it
// names no playbook or customer. An empty installation id gives
// SHA-256(key), as before installations had ids.
func MailKey(installation, key string) string {
	h := sha256.New()
	if installation != "" {
		h.Write([]byte(installation))
		h.Write([]byte{0})
	}
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))[:32]
}
