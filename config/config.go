// Package config reads tend.yaml, the runtime configuration of tend's
// worker, server and dev commands: how to reach Temporal, where
// playbooks and the outbox live, the outreach channels, and the HTTP API.
//
// The whole file, with every key optional:
//
//	temporal:
//	  address: localhost:7233          # host:port
//	  namespace: default
//	  tls:                             # or `tls: true` for TLS with the system roots
//	    cert: client.pem               # client certificate and key (mTLS), both or neither
//	    key: client.key
//	    ca: ca.pem                     # extra root CA
//	    server_name: my-ns.tmprl.cloud
//	  api_key: {env: TEMPORAL_API_KEY} # implies `tls: true` unless tls is false
//	playbooks: ./playbooks
//	outbox: .tend/outbox               # where outreach goes when no channel is configured
//	email:                             # without it, email and invites go to the outbox
//	  smtp: smtp.example.com:587       # host[:port]; the port defaults to 587, 465 (tls) or 25 (none)
//	  username: tend
//	  password: {env: SMTP_PASSWORD}
//	  from: "Customer Success <cs@vendor.example>"
//	  tls: starttls                    # starttls (default), tls (implicit TLS) or none
//	  timeout: 30s
//	  retry_for: 24h                   # how long a step retries an outage before it fails (default 24h, at most 30d)
//	chat:                              # Slack-compatible incoming webhooks
//	  default: cs-alerts               # optional with a single channel
//	  channels:
//	    cs-alerts: {webhook: {env: SLACK_CS_ALERTS}}
//	  retry_for: 24h
//	users:                             # people's chat ids by email address, for mentions
//	  max@vendor.example: {slack: U0123ABC}
//	endpoints:                         # targets of `do: webhook`, by name
//	  crm: {url: https://crm.example/hooks/tend, secret: {env: CRM_SECRET}, timeout: 10s, retry_for: 72h}
//	api:                               # the HTTP API of `tend serve`
//	  listen: 127.0.0.1:8080           # host:port; an empty host means every interface
//	  tokens: [{env: TEND_API_TOKEN}]  # bearer tokens, each valid (several while rotating); 16+ characters
//	  signing_secrets:                 # HMAC-SHA256 keys of signed requests, each valid
//	    - {env: CRM_SIGNING_SECRET}
//	  max_body: 1MiB                   # request body cap: bytes, or a size such as 512KiB, 1MiB or 2MB; at most 64MiB
//	  rate_limit: 100                  # events per second per credential; 0 (the default) is unlimited
//	links:                             # survey and unsubscribe links in customer mail, answered by the API
//	  base_url: https://tend.vendor.example  # the API listener as customers reach it
//	  secret: {env: TEND_LINK_SECRET}  # HMAC key of the links, 16+ characters; worker and API share it
//	staff:                             # working calendars of the people who hold calls and trainings
//	  jo@vendor.example:               # an owner's address, in any letter case
//	    timezone: Europe/Berlin        # instead of the customer's time zone
//	    hours: "09:00-17:00"           # instead of the contact hours (or 09:00-17:00)
//	    workdays: [mon, tue, wed, thu] # instead of the schema's calendar workdays
//	    seats: 1                       # meetings at once: more for a team address such as pooled-cs@
//	codec:                             # encrypt customer data in Temporal (docs/encryption.md)
//	  keys:                            # AES-256 keys by id: 32 bytes in base64 (openssl rand -base64 32)
//	    2026-01: {env: TEND_CODEC_KEY_2026_01}
//	    2025-07: ${TEND_CODEC_KEY_2025_07} # an older key, kept while histories written with it are kept
//	  primary: 2026-01                 # the key new data is encrypted with; optional with a single key
//	  ui_origin: https://temporal-ui.vendor.example # the Temporal UI allowed to call the codec server (CORS)
//
// Any string value may instead name an environment variable, as
// `{env: NAME}` or as the whole string `${NAME}`; it is read once, at load,
// and a variable that is unset or empty is an error naming it. Use this for
// secrets (passwords, API keys, webhook URLs, signing secrets), which then
// never sit in the file. Values of type Secret print as [redacted].
//
// Relative paths (playbooks, outbox, TLS files) are relative to the
// directory of the config file. The file is strict: unknown keys are errors
// with a suggestion, YAML anchors and aliases are rejected, and the file is
// capped at 1 MiB. Every problem is reported as file:line:col: message, as
// a tendfmt.ErrorList, like playbook errors.
package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/tendfmt"
	"github.com/tend-cs/tend/internal/filecap"
	"github.com/tend-cs/tend/links"
	"gopkg.in/yaml.v3"
)

// DefaultPath is the config file Load reads when given no path. Unlike an
// explicitly named file, it may be missing: then the defaults apply.
const DefaultPath = "tend.yaml"

// MaxFileSize caps the config file, in bytes.
const MaxFileSize = 1 << 20

// Defaults for values the file leaves out.
const (
	DefaultAddress         = "localhost:7233"
	DefaultNamespace       = "default"
	DefaultPlaybooks       = "playbooks"
	DefaultOutbox          = ".tend/outbox"
	DefaultEmailTimeout    = 30 * time.Second
	DefaultEndpointTimeout = 10 * time.Second
	DefaultMaxBody         = 1 << 20 // bytes; API.MaxBody
	// DefaultRetryFor is how long a step retries a transient failure of
	// its channel (an SMTP, chat or CRM outage) before it fails, when the
	// channel sets no retry_for.
	DefaultRetryFor = 24 * time.Hour
	// MaxRetryFor caps retry_for: past it, an outage is not one.
	MaxRetryFor = 30 * 24 * time.Hour
)

// Limits of the api section.
const (
	MaxBodyLimit   = 64 << 20 // bytes; the largest API.MaxBody
	MinTokenLength = 16       // characters of an API token
)

// TLS modes of Email.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // no encryption; for local relays and tests
)

// Config is a loaded tend.yaml.
type Config struct {
	// Path is the file the config was read from; empty for Default().
	Path      string
	Temporal  Temporal
	Playbooks string
	Outbox    string
	// Email is nil when the file configures no SMTP server.
	Email     *Email
	Chat      Chat
	Users     map[string]User // by lower-case email address, for chat mentions
	Endpoints map[string]Endpoint
	API       API
	// Links is nil when the file has no links section.
	Links *Links
	// Staff are the working calendars of the people who hold calls and
	// trainings, by lower-cased address; nil when the file has none.
	Staff map[string]StaffMember
	// Codec is nil when the file has no codec section: payloads are then
	// stored in plain text.
	Codec *Codec
}

// Codec configures the encryption of what tend stores in Temporal.
type Codec struct {
	// Keys are the AES-256 keys by id, each KeySize bytes (decoded from
	// base64). Every key decrypts; only Primary encrypts.
	Keys map[string]Secret
	// Primary is the id of the key new payloads are encrypted with.
	Primary string
	// UIOrigin is the origin of the Temporal UI that may call the codec
	// server from a browser, such as https://temporal-ui.vendor.example;
	// "" allows no browser origin.
	UIOrigin string
}

// KeySize is the length of a codec key in bytes (AES-256).
const KeySize = 32

// KeyBytes returns the keys as the codec takes them.
func (c *Codec) KeyBytes() map[string][]byte {
	out := make(map[string][]byte, len(c.Keys))
	for id, k := range c.Keys {
		out[id] = []byte(k)
	}
	return out
}

// User is one of the vendor's people, as chat knows them.
type User struct {
	// Slack is their Slack member id, such as U0123ABC.
	Slack string
}

// StaffMember is one person's working calendar. Meetings they own are
// proposed inside it; empty fields keep the defaults (the customer's time
// zone, the contact hours or 09:00-17:00, the schema's workdays).
type StaffMember struct {
	Timezone string   // an IANA name
	Hours    string   // HH:MM-HH:MM
	Workdays []string // mon ... sun, in week order
	Seats    int      // meetings at once; 0 means 1
	// Notice is the least notice of their meetings, as a playbook
	// duration ("4h", "2 business days", "0m" for none); "" keeps
	// engine.DefaultNotice.
	Notice string
}

// MaxSeats caps StaffMember.Seats.
const MaxSeats = 1000

// Temporal says how to reach the Temporal cluster.
type Temporal struct {
	Address   string
	Namespace string
	// TLS is nil for a plain connection.
	TLS    *TLS
	APIKey Secret
}

// TLS configures the connection to Temporal. All fields are optional: an
// empty TLS means TLS with the system roots. File paths are absolute or
// relative to the working directory once loaded.
type TLS struct {
	Cert       string
	Key        string
	CA         string
	ServerName string
}

// Email is an SMTP server and the sender of every message.
type Email struct {
	// Addr is host:port, with the port filled in from TLS when the file
	// leaves it out.
	Addr     string
	Username string
	Password Secret
	// From is an RFC 5322 address, such as "Customer Success <cs@vendor.example>".
	From    string
	TLS     string // TLSStartTLS, TLSImplicit or TLSNone
	Timeout time.Duration
	// RetryFor is how long a step retries transient SMTP failures before
	// it fails; 0 means DefaultRetryFor.
	RetryFor time.Duration
}

// Chat holds the Slack-compatible incoming webhooks that notify and
// escalate post to, by channel name.
type Chat struct {
	// Default is the channel of a `do: notify` or `do: escalate` that names none. With a
	// single channel it defaults to that channel.
	Default  string
	Channels map[string]Channel
	// RetryFor is how long a step retries transient chat failures before
	// it fails; 0 means DefaultRetryFor.
	RetryFor time.Duration
}

// Channel is one chat channel.
type Channel struct {
	// Webhook is the incoming-webhook URL. It is a secret: anyone holding it
	// can post to the channel.
	Webhook Secret
}

// Endpoint is a system that `do: webhook` posts to, such as a CRM.
type Endpoint struct {
	URL string
	// Secret keys the HMAC-SHA256 signature of every request.
	Secret  Secret
	Timeout time.Duration
	// RetryFor is how long a step retries transient failures of the
	// endpoint before it fails; 0 means DefaultRetryFor.
	RetryFor time.Duration
}

// API configures the HTTP API of `tend serve`.
type API struct {
	// Listen is the host:port to listen on; empty when the file leaves it
	// out, for the command to choose.
	Listen string
	// Tokens are the bearer tokens a request may present; every one is
	// valid, so that a new token can be rolled out before the old one goes.
	Tokens []Secret
	// SigningSecrets key the HMAC-SHA256 signatures of signed requests;
	// every one is valid, for the same reason.
	SigningSecrets []Secret
	// MaxBody caps a request body, in bytes; DefaultMaxBody unless set.
	MaxBody int64
	// RateLimit is the events per second allowed per credential; 0 is
	// unlimited.
	RateLimit float64
	// Set reports that the file has an api section.
	Set bool
}

// Links configures the signed links of customer mail: each score of a
// survey, and the one-click unsubscribe link. The worker makes them and
// the API answers them; both read this section.
type Links struct {
	// BaseURL is where customers reach the API listener, such as
	// https://tend.vendor.example.
	BaseURL string
	// Secret keys the links' HMAC-SHA256.
	Secret Secret
}

// Secret is a string that never prints: fmt and encoding/json show it as
// [redacted]. Convert it with string() where the value is needed.
type Secret string

// String implements fmt.Stringer without revealing the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from revealing the secret.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalJSON keeps encoding/json from revealing the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Default returns the configuration used when there is no tend.yaml: a
// local Temporal server, ./playbooks, and every outreach to .tend/outbox.
func Default() *Config {
	return &Config{
		Temporal:  Temporal{Address: DefaultAddress, Namespace: DefaultNamespace},
		Playbooks: DefaultPlaybooks,
		Outbox:    DefaultOutbox,
		API:       API{MaxBody: DefaultMaxBody},
	}
}

// ChannelNames returns the configured chat channels, sorted.
func (c Chat) ChannelNames() []string { return sortedKeys(c.Channels) }

// EndpointNames returns the configured webhook endpoints, sorted.
func (c *Config) EndpointNames() []string { return sortedKeys(c.Endpoints) }

// Load reads the config file at path, or DefaultPath when path is empty.
// A missing DefaultPath yields Default(); a missing explicit path is an
// error. Environment references are resolved with os.LookupEnv.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultPath
	}
	// A named pipe or a huge file is refused before it is read.
	data, err := filecap.Read(path, MaxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !explicit {
			return Default(), nil
		}
		return nil, fmt.Errorf("%s: config file does not exist", path)
	case filecap.IsRefused(err):
		return nil, fmt.Errorf("read config: %w", err)
	case err != nil:
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return Parse(path, data, os.LookupEnv)
}

// LoadClient is Load for the commands that only talk to Temporal (event
// send, import, runs, tasks, events): an environment reference outside
// temporal: that is unset or empty is not an error, since those secrets
// (SMTP passwords, webhook URLs, API tokens) belong to the worker and the
// API server, not to the machine that sends events. Those values are left
// empty.
func LoadClient(path string) (*Config, error) {
	cfg, err := Load(path)
	var errs tendfmt.ErrorList
	if err == nil || !errors.As(err, &errs) {
		return cfg, err
	}
	rest := errs[:0:0]
	for _, e := range errs {
		if !serverSecret(e.Msg) {
			rest = append(rest, e)
		}
	}
	if len(rest) > 0 {
		return nil, rest
	}
	lenient := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v, true
		}
		return unsetValue + name, true
	}
	data, rerr := filecap.Read(cfg0(path), MaxFileSize)
	if rerr != nil {
		return nil, err
	}
	cfg, perr := Parse(cfg0(path), data, lenient)
	if perr != nil {
		return nil, err
	}
	return cfg, nil
}

// unsetValue, and the variable's name, stands in for an unset variable
// outside temporal: in a client's config. It passes the checks of every
// secret (a URL, long enough for a token, unique per variable) and is never
// used.
const unsetValue = "https://unset.invalid/"

func cfg0(path string) string {
	if path == "" {
		return DefaultPath
	}
	return path
}

// serverSecret says whether a problem is an unset or empty environment
// variable outside the temporal: section.
func serverSecret(msg string) bool {
	// A client encrypts what it sends and decrypts what it reads: it
	// needs the codec's keys as much as the worker does.
	if strings.HasPrefix(msg, "temporal") || strings.HasPrefix(msg, "codec") {
		return false
	}
	return strings.Contains(msg, ": environment variable ") &&
		(strings.HasSuffix(msg, " is not set") || strings.HasSuffix(msg, " is empty"))
}

// Parse reads a config from data. file names it in errors, and relative
// paths are resolved against its directory. env looks up environment
// references; nil means os.LookupEnv.
func Parse(file string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	d := &decoder{file: file, dir: filepath.Dir(file), env: env}
	cfg := Default()
	cfg.Path = file
	root := d.parse(data)
	if root != nil {
		d.config(root, cfg)
	}
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	cfg.Playbooks = d.path(cfg.Playbooks)
	cfg.Outbox = d.path(cfg.Outbox)
	return cfg, nil
}

type decoder struct {
	file string
	dir  string
	env  func(string) (string, bool)
	errs tendfmt.ErrorList
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.Add(tendfmt.Pos{File: d.file, Line: n.Line, Col: n.Column}, format, args...)
}

// parse checks that data is one YAML document without anchors or aliases
// and returns its root, or nil after reporting why not.
func (d *decoder) parse(data []byte) *yaml.Node {
	start := &yaml.Node{Line: 1, Column: 1}
	if len(data) > MaxFileSize {
		d.errorf(start, "file is larger than %d bytes (1 MiB)", MaxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: the defaults
		}
		d.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "a config file holds one YAML document; found a second one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // only comments
	}
	if !d.plain(root) {
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) yamlError(err error) {
	n := &yaml.Node{Line: 1, Column: 1}
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.errorf(n, "invalid YAML: %s", msg)
}

// plain rejects anchors and aliases: a config never needs them, and
// aliases are how a small file expands into a huge one.
func (d *decoder) plain(n *yaml.Node) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		d.errorf(n, "YAML aliases (*%s) are not allowed in the config; repeat the value instead", n.Value)
		return false
	case n.Anchor != "":
		d.errorf(n, "YAML anchors (&%s) are not allowed in the config; repeat the value instead", n.Anchor)
		return false
	}
	for _, c := range n.Content {
		if !d.plain(c) {
			return false
		}
	}
	return true
}

// mapping calls fields[key] for every key of n, reporting keys that are
// not in fields (with the closest valid key) and keys given twice. It
// returns the keys present, or nil when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string, fields map[string]func(v *yaml.Node)) map[string]bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	seen := map[string]bool{}
	prefix := what + "."
	if what == rootWhat {
		prefix = ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		switch {
		case !ok:
			d.errorf(k, "unknown key %s in %s%s", k.Value, what, hint(k.Value, sortedKeys(fields)))
		case seen[k.Value]:
			d.errorf(k, "%s%s is given twice", prefix, k.Value)
		default:
			seen[k.Value] = true
			f(v)
		}
	}
	return seen
}

const rootWhat = "the config"

func (d *decoder) config(root *yaml.Node, cfg *Config) {
	tlsSet := false
	d.mapping(root, rootWhat, map[string]func(*yaml.Node){
		"temporal": func(v *yaml.Node) {
			d.mapping(v, "temporal", map[string]func(*yaml.Node){
				"address": func(v *yaml.Node) {
					if s, ok := d.str(v, "temporal.address"); ok {
						if _, _, err := net.SplitHostPort(s); err != nil {
							d.errorf(v, "temporal.address %q must be host:port", s)
						}
						cfg.Temporal.Address = s
					}
				},
				"namespace": func(v *yaml.Node) {
					if s, ok := d.str(v, "temporal.namespace"); ok {
						cfg.Temporal.Namespace = s
					}
				},
				"tls": func(v *yaml.Node) {
					tlsSet = true
					cfg.Temporal.TLS = d.tls(v)
				},
				"api_key": func(v *yaml.Node) {
					if s, ok := d.str(v, "temporal.api_key"); ok {
						cfg.Temporal.APIKey = Secret(s)
					}
				},
			})
		},
		"playbooks": func(v *yaml.Node) {
			if s, ok := d.str(v, "playbooks"); ok {
				cfg.Playbooks = s
			}
		},
		"outbox": func(v *yaml.Node) {
			if s, ok := d.str(v, "outbox"); ok {
				cfg.Outbox = s
			}
		},
		"email":     func(v *yaml.Node) { cfg.Email = d.email(v) },
		"chat":      func(v *yaml.Node) { cfg.Chat = d.chat(v) },
		"users":     func(v *yaml.Node) { cfg.Users = d.users(v) },
		"endpoints": func(v *yaml.Node) { cfg.Endpoints = d.endpoints(v) },
		"api":       func(v *yaml.Node) { d.api(v, &cfg.API) },
		"links":     func(v *yaml.Node) { cfg.Links = d.links(v) },
		"staff":     func(v *yaml.Node) { cfg.Staff = d.staff(v) },
		"codec":     func(v *yaml.Node) { cfg.Codec = d.codec(v) },
	})
	if cfg.Temporal.APIKey != "" && !tlsSet {
		cfg.Temporal.TLS = &TLS{}
	}
}

func (d *decoder) tls(n *yaml.Node) *TLS {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if b, _ := strconv.ParseBool(n.Value); b {
			return &TLS{}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "temporal.tls must be true, false or a mapping with cert, key, ca and server_name, not %s", kindName(n))
		return nil
	}
	t := &TLS{}
	file := func(dst *string, what string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			s, ok := d.str(v, what)
			if !ok {
				return
			}
			s = d.path(s)
			if _, err := os.Stat(s); err != nil {
				d.errorf(v, "%s: cannot read %s: %s", what, s, osErr(err))
			}
			*dst = s
		}
	}
	if d.mapping(n, "temporal.tls", map[string]func(*yaml.Node){
		"cert": file(&t.Cert, "temporal.tls.cert"),
		"key":  file(&t.Key, "temporal.tls.key"),
		"ca":   file(&t.CA, "temporal.tls.ca"),
		"server_name": func(v *yaml.Node) {
			if s, ok := d.str(v, "temporal.tls.server_name"); ok {
				t.ServerName = s
			}
		},
	}) == nil {
		return nil
	}
	if (t.Cert == "") != (t.Key == "") {
		d.errorf(n, "temporal.tls needs both cert and key, or neither")
	}
	return t
}

func (d *decoder) email(n *yaml.Node) *Email {
	e := &Email{TLS: TLSStartTLS, Timeout: DefaultEmailTimeout}
	var smtpNode *yaml.Node
	given := d.mapping(n, "email", map[string]func(*yaml.Node){
		"smtp": func(v *yaml.Node) {
			if s, ok := d.str(v, "email.smtp"); ok {
				e.Addr, smtpNode = s, v
			}
		},
		"username": func(v *yaml.Node) {
			if s, ok := d.str(v, "email.username"); ok {
				e.Username = s
			}
		},
		"password": func(v *yaml.Node) {
			if s, ok := d.str(v, "email.password"); ok {
				e.Password = Secret(s)
			}
		},
		"from": func(v *yaml.Node) {
			if s, ok := d.str(v, "email.from"); ok {
				if _, err := mail.ParseAddress(s); err != nil {
					d.errorf(v, "email.from %q is not an email address: %s", s, lowerFirst(err.Error()))
				}
				e.From = s
			}
		},
		"tls": func(v *yaml.Node) {
			if s, ok := d.str(v, "email.tls"); ok {
				modes := []string{TLSStartTLS, TLSImplicit, TLSNone}
				if !slices.Contains(modes, s) {
					d.errorf(v, "email.tls must be starttls, tls or none, not %q%s", s, hint(s, modes))
				}
				e.TLS = s
			}
		},
		"timeout":   func(v *yaml.Node) { d.duration(v, "email.timeout", &e.Timeout) },
		"retry_for": func(v *yaml.Node) { d.retryFor(v, "email.retry_for", &e.RetryFor) },
	})
	if given == nil {
		return nil
	}
	switch {
	case smtpNode != nil:
		e.Addr = d.smtpAddr(smtpNode, e.Addr, e.TLS)
	case !given["smtp"]:
		d.errorf(n, "email needs smtp: the server as host:port")
	}
	if !given["from"] {
		d.errorf(n, "email needs from: the sender of every message, such as \"Customer Success <cs@vendor.example>\"")
	}
	if given["password"] && !given["username"] {
		d.errorf(n, "email has a password but no username")
	}
	return e
}

func (d *decoder) smtpAddr(n *yaml.Node, s, mode string) string {
	if strings.Contains(s, "://") {
		d.errorf(n, "email.smtp %q must be host:port, without a scheme", s)
		return s
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: pick the standard one for the TLS mode.
		host, port = strings.Trim(s, "[]"), "587"
		switch mode {
		case TLSImplicit:
			port = "465"
		case TLSNone:
			port = "25"
		}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		d.errorf(n, "email.smtp %q has an invalid port", s)
	}
	if host == "" {
		d.errorf(n, "email.smtp %q has no host", s)
	}
	return net.JoinHostPort(host, port)
}

func (d *decoder) chat(n *yaml.Node) Chat {
	var c Chat
	var defNode *yaml.Node
	d.mapping(n, "chat", map[string]func(*yaml.Node){
		"default": func(v *yaml.Node) {
			if s, ok := d.str(v, "chat.default"); ok {
				c.Default, defNode = s, v
			}
		},
		"channels": func(v *yaml.Node) {
			c.Channels = map[string]Channel{}
			d.named(v, "chat.channels", func(name string, v *yaml.Node) {
				what := "chat.channels." + name
				var ch Channel
				given := d.mapping(v, what, map[string]func(*yaml.Node){
					"webhook": func(v *yaml.Node) {
						if s, ok := d.str(v, what+".webhook"); ok {
							d.httpURL(v, what+".webhook", s, false)
							ch.Webhook = Secret(s)
						}
					},
				})
				if given != nil && !given["webhook"] {
					d.errorf(v, "%s needs webhook: the incoming-webhook URL", what)
				}
				c.Channels[name] = ch
			})
		},
		"retry_for": func(v *yaml.Node) { d.retryFor(v, "chat.retry_for", &c.RetryFor) },
	})
	names := sortedKeys(c.Channels)
	switch {
	case defNode != nil && !slices.Contains(names, c.Default):
		if len(names) == 0 {
			d.errorf(defNode, "chat.default names %s, but chat has no channels", c.Default)
		} else {
			d.errorf(defNode, "chat.default names unknown channel %s%s", c.Default, hint(c.Default, names))
		}
	case defNode == nil && len(names) == 1:
		c.Default = names[0]
	}
	return c
}

// slackID is a Slack member id: U or W, then capitals and digits.
var slackID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

func (d *decoder) users(n *yaml.Node) map[string]User {
	out := map[string]User{}
	keys := map[string]string{} // lower-case address → as written
	d.named(n, "users", func(name string, v *yaml.Node) {
		what := "users." + name
		key := d.userKey(n, name, what)
		if prev, dup := keys[key]; dup && key != "" {
			d.errorf(v, "%s is the same address as users.%s; list each person once", what, prev)
			return
		}
		var u User
		given := d.mapping(v, what, map[string]func(*yaml.Node){
			"slack": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".slack"); ok {
					if !slackID.MatchString(s) {
						d.errorf(v, "%s %q is not a Slack member id such as U0123ABC (in Slack: the person's profile, More, Copy member ID)", what+".slack", s)
					}
					u.Slack = s
				}
			},
		})
		if given != nil && len(v.Content) == 0 { // an unknown key is reported, with a suggestion
			d.errorf(v, "%s needs slack: their Slack member id, such as U0123ABC", what)
		}
		if key != "" {
			keys[key] = name
			out[key] = u
		}
	})
	return out
}

// userKey checks that a key of users: is a bare email address and returns
// it in lower case, or "" after reporting why not.
func (d *decoder) userKey(users *yaml.Node, name, what string) string {
	var at *yaml.Node
	for i := 0; i+1 < len(users.Content); i += 2 {
		if users.Content[i].Value == name {
			at = users.Content[i]
		}
	}
	addr, err := mail.ParseAddress(name)
	switch {
	case err != nil:
		d.errorf(at, "%s: %q is not an email address: %s", "users", name, lowerFirst(strings.TrimPrefix(err.Error(), "mail: ")))
		return ""
	case addr.Address != name:
		d.errorf(at, "%s: write the bare address %s, without a name or brackets", what, addr.Address)
		return ""
	}
	return strings.ToLower(name)
}

func (d *decoder) endpoints(n *yaml.Node) map[string]Endpoint {
	out := map[string]Endpoint{}
	d.named(n, "endpoints", func(name string, v *yaml.Node) {
		what := "endpoints." + name
		e := Endpoint{Timeout: DefaultEndpointTimeout}
		given := d.mapping(v, what, map[string]func(*yaml.Node){
			"url": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".url"); ok {
					d.httpURL(v, what+".url", s, true)
					e.URL = s
				}
			},
			"secret": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".secret"); ok {
					e.Secret = Secret(s)
				}
			},
			"timeout":   func(v *yaml.Node) { d.duration(v, what+".timeout", &e.Timeout) },
			"retry_for": func(v *yaml.Node) { d.retryFor(v, what+".retry_for", &e.RetryFor) },
		})
		if given == nil {
			return
		}
		if !given["url"] {
			d.errorf(v, "%s needs url", what)
		}
		if !given["secret"] {
			d.errorf(v, "%s needs secret: the key of the request signature (use {env: NAME})", what)
		}
		out[name] = e
	})
	return out
}

func (d *decoder) api(n *yaml.Node, a *API) {
	var tokens, signing []listItem
	if d.mapping(n, "api", map[string]func(*yaml.Node){
		"listen": func(v *yaml.Node) {
			if s, ok := d.str(v, "api.listen"); ok {
				d.listen(v, s)
				a.Listen = s
			}
		},
		"tokens": func(v *yaml.Node) {
			a.Tokens, tokens = d.secrets(v, "api.tokens", "token")
			for _, t := range tokens {
				// The messages never show the token, only where it is.
				switch chars := utf8.RuneCountInString(string(t.value)); {
				case chars < MinTokenLength:
					d.errorf(t.node, "%s has %d characters, too short to be a secret; a token needs at least %d", t.what, chars, MinTokenLength)
				case strings.ContainsFunc(string(t.value), func(r rune) bool { return r <= ' ' || r == 0x7f }):
					d.errorf(t.node, "%s contains whitespace or control characters, which a bearer token cannot carry", t.what)
				}
			}
		},
		"signing_secrets": func(v *yaml.Node) {
			a.SigningSecrets, signing = d.secrets(v, "api.signing_secrets", "signing secret")
		},
		"max_body":   func(v *yaml.Node) { d.size(v, "api.max_body", &a.MaxBody) },
		"rate_limit": func(v *yaml.Node) { d.rate(v, "api.rate_limit", &a.RateLimit) },
	}) == nil {
		return
	}
	a.Set = true
	// A token can be read off any request; were it also a signing key,
	// whoever holds it could forge signatures.
	for _, s := range signing {
		for _, t := range tokens {
			if s.value == t.value {
				d.errorf(s.node, "%s is also %s; a signing secret must differ from every token", s.what, t.what)
			}
		}
	}
}

func (d *decoder) links(n *yaml.Node) *Links {
	l := &Links{}
	var baseNode, secretNode *yaml.Node
	given := d.mapping(n, "links", map[string]func(*yaml.Node){
		"base_url": func(v *yaml.Node) {
			if s, ok := d.str(v, "links.base_url"); ok {
				l.BaseURL, baseNode = s, v
			}
		},
		"secret": func(v *yaml.Node) {
			if s, ok := d.str(v, "links.secret"); ok {
				l.Secret, secretNode = Secret(s), v
			}
		},
	})
	if given == nil {
		return nil
	}
	if !given["base_url"] {
		d.errorf(n, "links needs base_url: where customers reach the API, such as https://tend.vendor.example")
	}
	if !given["secret"] {
		d.errorf(n, "links needs secret: the key that signs the links (use {env: NAME})")
	}
	if baseNode != nil {
		if err := (links.Config{BaseURL: l.BaseURL, Secret: strings.Repeat("x", links.MinSecretLength)}).Check(); err != nil {
			d.errorf(baseNode, "links.%s", err)
		}
	}
	if secretNode != nil {
		// The message names the length only, never the secret.
		if err := (links.Config{BaseURL: "https://x", Secret: string(l.Secret)}).Check(); err != nil {
			d.errorf(secretNode, "links.%s", err)
		}
	}
	return l
}

// staff reads the staff: section: a mapping from addresses to working
// calendars. Addresses ignore letter case, as owners are matched.
func (d *decoder) staff(n *yaml.Node) map[string]StaffMember {
	out := map[string]StaffMember{}
	given := map[string]string{} // lower-cased address → as first written
	d.named(n, "staff", func(name string, v *yaml.Node) {
		what := "staff." + name
		key := strings.ToLower(strings.TrimSpace(name))
		if a, err := mail.ParseAddress(name); err != nil || a.Name != "" || !strings.EqualFold(a.Address, strings.TrimSpace(name)) {
			d.errorf(v, "%s: %q is not an email address such as jo@vendor.example; staff are named by the addresses owners evaluate to", what, name)
			return
		}
		if first, dup := given[key]; dup {
			d.errorf(v, "%s is given twice, as %s too (addresses ignore letter case)", what, first)
			return
		}
		given[key] = name
		var m StaffMember
		keys := d.mapping(v, what, map[string]func(*yaml.Node){
			"timezone": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".timezone"); ok {
					if _, err := calendar.LoadLocation(s); err != nil {
						d.errorf(v, "%s: %v", what+".timezone", err)
						return
					}
					m.Timezone = s
				}
			},
			"hours": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".hours"); ok {
					w, err := calendar.ParseWindow(s)
					if err != nil {
						d.errorf(v, "%s: %v", what+".hours", err)
						return
					}
					m.Hours = w.String()
				}
			},
			"workdays": func(v *yaml.Node) { m.Workdays = d.workdays(v, what+".workdays") },
			"seats": func(v *yaml.Node) {
				var seats int
				if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&seats) != nil || seats < 1 || seats > MaxSeats {
					d.errorf(v, "%s must be a whole number from 1 to %d: how many meetings the address can hold at once", what+".seats", MaxSeats)
					return
				}
				m.Seats = seats
			},
			"notice": func(v *yaml.Node) {
				if s, ok := d.str(v, what+".notice"); ok {
					n, err := calendar.ParseDuration(s)
					if err != nil {
						d.errorf(v, "%s: %v", what+".notice", err)
						return
					}
					m.Notice = n.String()
				}
			},
		})
		if keys == nil {
			return
		}
		if len(keys) == 0 {
			d.errorf(v, "%s sets nothing; give timezone, hours, workdays, seats or notice, or leave the address out", what)
			return
		}
		out[key] = m
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// keyID is a codec key id: short, and safe in metadata, logs and messages.
var keyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// codec reads the codec: section. Messages name keys by id, never show
// their values.
func (d *decoder) codec(n *yaml.Node) *Codec {
	c := &Codec{}
	var primaryNode, keysNode *yaml.Node
	declared := map[string]bool{} // every id written, valid or not
	given := d.mapping(n, "codec", map[string]func(*yaml.Node){
		"keys": func(v *yaml.Node) {
			keysNode = v
			c.Keys = map[string]Secret{}
			first := map[Secret]string{} // key → the first id holding it
			d.named(v, "codec.keys", func(id string, v *yaml.Node) {
				what := "codec.keys." + id
				declared[id] = true
				if !keyID.MatchString(id) {
					d.errorf(v, "codec.keys: key id %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, such as 2026-01", id)
					return
				}
				s, ok := d.str(v, what)
				if !ok {
					return
				}
				k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
				switch {
				case err != nil:
					var at base64.CorruptInputError
					errors.As(err, &at)
					d.errorf(v, "%s is not base64: bad data at byte %d of the value; make a key with: openssl rand -base64 32", what, int64(at))
					return
				case len(k) != KeySize:
					d.errorf(v, "%s decodes to %d bytes; an AES-256 key is %d bytes, such as one made with: openssl rand -base64 32", what, len(k), KeySize)
					return
				}
				if prev, dup := first[Secret(k)]; dup {
					d.errorf(v, "%s is the same key as codec.keys.%s; give every id its own key", what, prev)
					return
				}
				first[Secret(k)] = id
				c.Keys[id] = Secret(k)
			})
		},
		"primary": func(v *yaml.Node) {
			if s, ok := d.str(v, "codec.primary"); ok {
				c.Primary, primaryNode = s, v
			}
		},
		"ui_origin": func(v *yaml.Node) {
			if s, ok := d.str(v, "codec.ui_origin"); ok {
				d.origin(v, "codec.ui_origin", s)
				c.UIOrigin = s
			}
		},
	})
	if given == nil {
		return nil
	}
	ids := sortedKeys(declared)
	switch {
	case !given["keys"]:
		d.errorf(n, "codec needs keys: at least one AES-256 key by id, such as keys: {2026-01: {env: TEND_CODEC_KEY}}")
	case len(declared) == 0 && keysNode.Kind == yaml.MappingNode:
		// keys: {} (a non-mapping was reported by named).
		d.errorf(keysNode, "codec.keys is empty: give at least one AES-256 key by id, such as 2026-01: {env: TEND_CODEC_KEY}")
	case primaryNode != nil && len(ids) > 0 && !declared[c.Primary]:
		d.errorf(primaryNode, "codec.primary names unknown key %s%s", c.Primary, hint(c.Primary, ids))
	case !given["primary"] && len(ids) > 1:
		d.errorf(n, "codec needs primary: the id of the key new data is encrypted with, one of %s", strings.Join(ids, ", "))
	case !given["primary"] && len(ids) == 1:
		c.Primary = ids[0]
	}
	return c
}

// origin checks a browser origin: scheme and host, an optional port, and
// nothing else. A browser compares it byte for byte with its Origin
// header, so a trailing slash or a path would never match.
func (d *decoder) origin(n *yaml.Node, what, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "/") {
		d.errorf(n, "%s %q must be an origin: http or https, a host and an optional port, with no path or trailing slash, such as https://temporal-ui.vendor.example", what, s)
		return
	}
	if s != strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host) {
		d.errorf(n, "%s %q must be written in lower case, as browsers send it: %s", what, s, strings.ToLower(s))
		return
	}
	// A browser's Origin has a port only when it is not the scheme's
	// default, written as a plain number from 1 to 65535.
	_, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		return // no port
	}
	v, err := strconv.Atoi(p)
	switch {
	case err != nil || v < 1 || v > 65535 || strconv.Itoa(v) != p:
		d.errorf(n, "%s %q has port %q; a port is a number from 1 to 65535", what, s, p)
	case (u.Scheme == "https" && v == 443) || (u.Scheme == "http" && v == 80):
		d.errorf(n, "%s %q names the default port of %s, which browsers leave out of Origin: %s", what, s, u.Scheme, strings.TrimSuffix(s, ":"+p))
	}
}

// workdays reads a non-empty list of weekday names, and returns them as
// three-letter names in week order (Monday first).
func (d *decoder) workdays(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(n, "%s must be a list of weekdays, such as [mon, tue, wed, thu, fri]", what)
		return nil
	}
	var days [7]bool
	ok := true
	for _, v := range n.Content {
		s, isStr := d.str(v, what)
		if !isStr {
			ok = false
			continue
		}
		wd, err := calendar.ParseWeekday(s)
		if err != nil {
			d.errorf(v, "%s: %v", what, err)
			ok = false
			continue
		}
		if days[wd] {
			d.errorf(v, "%s lists %s twice", what, s)
		}
		days[wd] = true
	}
	if !ok {
		return nil
	}
	var out []string
	for i := range 7 {
		wd := time.Weekday((i + 1) % 7) // Monday first
		if days[wd] {
			out = append(out, strings.ToLower(wd.String()[:3]))
		}
	}
	return out
}

// listItem is a value read from a list, with where it is, for messages.
type listItem struct {
	value Secret
	node  *yaml.Node
	what  string // such as api.tokens[1]
}

// secrets reads a list of secrets, each a string or an environment
// reference, rejecting repeated values. item names one entry in messages.
func (d *decoder) secrets(n *yaml.Node, what, item string) ([]Secret, []listItem) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		d.errorf(n, "%s is empty; list at least one %s, or leave %s out", what, item, what)
		return nil, nil
	case n.Kind != yaml.SequenceNode:
		d.errorf(n, "%s must be a list, such as [{env: NAME}], not %s", what, kindName(n))
		return nil, nil
	case len(n.Content) == 0:
		d.errorf(n, "%s is an empty list; list at least one %s, or leave %s out", what, item, what)
		return nil, nil
	}
	var out []Secret
	var items []listItem
	for i, v := range n.Content {
		it := listItem{node: v, what: fmt.Sprintf("%s[%d]", what, i)}
		s, ok := d.str(v, it.what)
		if !ok {
			continue
		}
		it.value = Secret(s)
		// Compare values, not the text: two variables may hold the same
		// secret. The message names positions only.
		if j := slices.Index(out, it.value); j >= 0 {
			d.errorf(v, "%s repeats %s; list each %s once", it.what, items[j].what, item)
			continue
		}
		out, items = append(out, it.value), append(items, it)
	}
	return out, items
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// listen checks a host:port to listen on. The host may be empty (every
// interface), an IP address or a host name.
func (d *decoder) listen(n *yaml.Node, s string) {
	const want = "host:port, such as 127.0.0.1:8080 or :8080"
	if strings.Contains(s, "://") {
		d.errorf(n, "api.listen %q must be %s, without a scheme", s, want)
		return
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		d.errorf(n, "api.listen %q must be %s", s, want)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		d.errorf(n, "api.listen %q has an invalid port; use 1-65535", s)
	}
	if host != "" && net.ParseIP(host) == nil && !hostName.MatchString(host) {
		d.errorf(n, "api.listen %q has an invalid host; use an IP address, a host name, or nothing for every interface", s)
	}
}

// sizeUnits are the units of a size, in bytes, by lower-case name.
var sizeUnits = map[string]int64{
	"b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1000 * 1000, "mib": 1 << 20, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
}

var sizePattern = regexp.MustCompile(`^([0-9]+) ?([A-Za-z]*)$`)

// size reads a positive size of at most MaxBodyLimit bytes: a whole number
// of bytes, or a size with a unit such as 512KiB or 2MB.
func (d *decoder) size(n *yaml.Node, what string, dst *int64) {
	const want = "a whole number of bytes or a size such as 512KiB, 1MiB or 2MB"
	s, ok := d.number(n, what, want)
	if !ok {
		return
	}
	if n.Tag == "!!int" {
		// A YAML integer, in any of its spellings (such as 0x100000).
		var v int64
		err := n.Decode(&v)
		switch {
		case err != nil || v > MaxBodyLimit:
			d.errorf(n, "%s %s is over the limit of %d bytes (64MiB)", what, s, MaxBodyLimit)
		case v <= 0:
			d.errorf(n, "%s must be positive, not %s", what, s)
		default:
			*dst = v
		}
		return
	}
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		if strings.HasPrefix(s, "-") {
			d.errorf(n, "%s must be positive, not %s", what, s)
		} else {
			d.errorf(n, "%s %q must be %s", what, s, want)
		}
		return
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if m[2] == "" {
		unit, ok = 1, true
	}
	if !ok {
		d.errorf(n, "%s %q has unknown unit %s; valid: B, KB, KiB, MB, MiB, GB, GiB", what, s, m[2])
		return
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	switch {
	case err != nil || v > MaxBodyLimit/unit:
		d.errorf(n, "%s %s is over the limit of %d bytes (64MiB)", what, s, MaxBodyLimit)
	case v == 0:
		d.errorf(n, "%s must be positive, not %s", what, s)
	default:
		*dst = v * unit
	}
}

// number reads the text of a number: a YAML number, a string, or an
// environment reference. want describes the valid values.
func (d *decoder) number(n *yaml.Node, what, want string) (string, bool) {
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float"):
		return n.Value, true
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str", n.Kind == yaml.MappingNode:
		return d.str(n, what)
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		d.errorf(n, "%s is empty", what)
		return "", false
	}
	d.errorf(n, "%s must be %s, not %s", what, want, kindName(n))
	return "", false
}

// rate reads a number of events per second: 0 for unlimited or a positive
// number.
func (d *decoder) rate(n *yaml.Node, what string, dst *float64) {
	const want = "0 (unlimited) or a positive number of events per second"
	s, ok := d.number(n, what, want)
	if !ok {
		return
	}
	var v float64
	var err error
	if n.Tag == "!!int" || n.Tag == "!!float" {
		err = n.Decode(&v) // YAML spellings such as 0x10, 1e3 and .inf
	} else {
		v, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
	}
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		d.errorf(n, "%s must be %s, not %q", what, want, s)
	case v < 0:
		d.errorf(n, "%s must be %s, not %s", what, want, s)
	default:
		*dst = v
	}
}

// named walks a mapping from user-chosen names to values.
func (d *decoder) named(n *yaml.Node, what string, f func(name string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of names, not %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Value == "":
			d.errorf(k, "%s: names must be non-empty strings", what)
		case seen[k.Value]:
			d.errorf(k, "%s.%s is given twice", what, k.Value)
		default:
			seen[k.Value] = true
			f(k.Value, v)
		}
	}
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// str reads a string: a scalar, `{env: NAME}` or `${NAME}`.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		var name string
		var at *yaml.Node
		d.mapping(n, what, map[string]func(*yaml.Node){
			"env": func(v *yaml.Node) {
				if v.Kind != yaml.ScalarNode || !envName.MatchString(v.Value) {
					d.errorf(v, "%s: env must name an environment variable, such as SMTP_PASSWORD", what)
					return
				}
				name, at = v.Value, v
			},
		})
		if at == nil {
			if len(n.Content) == 0 {
				d.errorf(n, "%s must be a string or {env: NAME}", what)
			}
			return "", false
		}
		return d.lookup(at, what, name)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			d.errorf(n, "%s is empty", what)
			return "", false
		case "!!bool":
			d.errorf(n, "%s must be a string, not %s", what, n.Value)
			return "", false
		}
		if m := envRef.FindStringSubmatch(n.Value); m != nil {
			return d.lookup(n, what, m[1])
		}
		if strings.TrimSpace(n.Value) == "" {
			d.errorf(n, "%s is empty", what)
			return "", false
		}
		return n.Value, true
	}
	d.errorf(n, "%s must be a string, not %s", what, kindName(n))
	return "", false
}

func (d *decoder) lookup(n *yaml.Node, what, name string) (string, bool) {
	v, ok := d.env(name)
	switch {
	case !ok:
		d.errorf(n, "%s: environment variable %s is not set", what, name)
		return "", false
	case v == "":
		d.errorf(n, "%s: environment variable %s is empty", what, name)
		return "", false
	}
	return v, true
}

func (d *decoder) duration(n *yaml.Node, what string, dst *time.Duration) {
	s, ok := d.str(n, what)
	if !ok {
		return
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.errorf(n, "%s %q is not a duration such as 10s or 1m", what, s)
	case v <= 0:
		d.errorf(n, "%s must be positive, not %s", what, s)
	default:
		*dst = v
	}
}

// retryFor reads a retry horizon: a Go duration (36h, 90m) or whole days
// (7d), more than zero and at most MaxRetryFor.
func (d *decoder) retryFor(n *yaml.Node, what string, dst *time.Duration) {
	s, ok := d.str(n, what)
	if !ok {
		return
	}
	v, err := time.ParseDuration(s)
	if days, found := strings.CutSuffix(s, "d"); found && err != nil {
		if k, kerr := strconv.Atoi(days); kerr == nil && k >= 0 && k <= 10000 {
			v, err = time.Duration(k)*24*time.Hour, nil
		}
	}
	switch {
	case err != nil:
		d.errorf(n, "%s %q is not a duration such as 24h, 90m or 7d", what, s)
	case v <= 0:
		d.errorf(n, "%s must be positive, not %s", what, s)
	case v > MaxRetryFor:
		d.errorf(n, "%s %s is more than the cap of 30d (720h): a channel down for longer needs fixing, and its runs wait for tend runs retry", what, s)
	default:
		*dst = v
	}
}

// httpURL checks an absolute http(s) URL. A webhook URL is a secret, so
// its text stays out of the message.
func (d *decoder) httpURL(n *yaml.Node, what, s string, show bool) {
	u, err := url.Parse(s)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return
	}
	if show {
		d.errorf(n, "%s %q must be an http or https URL", what, s)
	} else {
		d.errorf(n, "%s must be an http or https URL", what)
	}
}

func (d *decoder) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		// Never the value itself: it may be a secret put in the wrong place.
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an alias"
}

func osErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hint phrases "; did you mean x?" for the closest candidate, or lists the
// valid ones when none is close.
func hint(name string, candidates []string) string {
	if len(candidates) == 0 {
		return ""
	}
	if s := tendfmt.Suggest(name, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	return "; valid: " + strings.Join(candidates, ", ")
}
