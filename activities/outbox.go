package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// maxNameLen keeps outbox names, with extension and the temporary
// prefix, under the usual 255-byte limit.
const maxNameLen = 200

// FileName is the outbox file name of the action with key and extension
// ext (".eml", ".ics" or ".json"); see the package documentation.
func FileName(key, ext string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '/':
			b.WriteByte('+')
		case c == '.' && i == 0:
			b.WriteString("%2E") // no hidden files
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '@':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String()
	if len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(key))
		name = name[:maxNameLen-17]
		// Do not leave half of a %XX escape.
		if i := strings.LastIndexByte(name, '%'); i >= len(name)-2 {
			name = name[:i]
		}
		name += "-" + hex.EncodeToString(sum[:])[:16]
	}
	return name + ext
}

// writeOutbox writes the file for key atomically: a temporary file in the
// same directory, synced, then renamed over the final name.
func (a *Activities) writeOutbox(key, ext string, write func(io.Writer) error) (Result, error) {
	if err := os.MkdirAll(a.outbox, 0o700); err != nil {
		return Result{}, fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(a.outbox, FileName(key, ext))
	tmp, err := os.CreateTemp(a.outbox, ".tmp-*"+ext)
	if err != nil {
		return Result{}, fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return Result{}, fmt.Errorf("outbox: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Result{}, fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Result{}, fmt.Errorf("outbox: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Result{}, fmt.Errorf("outbox: %w", err)
	}
	return Result{Channel: "outbox", File: path}, nil
}

func (a *Activities) writeJSON(act engine.Action, v any) (Result, error) {
	return a.writeOutbox(act.Key, ".json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	})
}

// record is what a .json outbox file holds: the fields of the action that
// its kind uses.
type record struct {
	Kind        string            `json:"kind"`
	Key         string            `json:"key"`
	Run         string            `json:"run"`
	Playbook    string            `json:"playbook"`
	Customer    string            `json:"customer"`
	Step        string            `json:"step"`
	Occurrence  int               `json:"occurrence"`
	Summary     string            `json:"summary,omitempty"`
	To          string            `json:"to,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Due         *time.Time        `json:"due,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Channel     string            `json:"channel,omitempty"`
	Text        string            `json:"text,omitempty"`
	Endpoint    string            `json:"endpoint,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	// Body is a webhook's request body, exactly as it would have been posted.
	Body json.RawMessage `json:"body,omitempty"`
}

func outboxRecord(act engine.Action) record {
	r := record{
		Kind: act.Kind, Key: act.Key, Run: act.Run, Playbook: act.Playbook, Customer: act.Customer,
		Step: act.Step, Occurrence: act.Occurrence, Summary: act.Summary,
	}
	switch act.Kind {
	case lang.ActionTask:
		r.Owner, r.Title, r.Description, r.Due = act.Owner, act.Title, act.Description, act.Due
	case lang.ActionEscalate:
		r.To, r.Title, r.Reason, r.Due, r.Channel = act.To, act.Title, act.Reason, act.Due, act.Channel
	case lang.ActionNotify:
		r.Channel, r.Text = act.Channel, act.Text
	case lang.ActionWebhook:
		r.Endpoint, r.Fields = act.Endpoint, act.Fields
	}
	return r
}
