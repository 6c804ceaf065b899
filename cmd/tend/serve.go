package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/api"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// defaultListen is where the HTTP API listens unless told otherwise.
const defaultListen = "127.0.0.1:8080"

// serveCmd is `tend serve`: the HTTP API against an existing cluster.
type serveCmd struct {
	Listen string        `placeholder:"HOST:PORT" help:"where the API listens (default: api.listen in the config file, else 127.0.0.1:8080)"`
	HTTP   string        `name:"http" env:"TEND_HTTP" placeholder:"HOST:PORT" help:"also serve GET /healthz and GET /metrics (Prometheus) on this address, e.g. :9090, apart from the API's listener (which serves them too)"`
	Reload time.Duration `default:"2s" help:"how often to check the playbooks (whose schema checks events) for changes; 0 never reloads"`
	Store  string        `default:".tend/sets" help:"the store of playbook sets the workers share, read only: its active set, once tend publish has published one, is the set whose schema checks events"`
	Follow string        `enum:"auto,store,playbooks" default:"auto" help:"where the playbook set comes from: auto (the store's active set once one is published, else the playbooks directory), store, or playbooks"`
	Log    logFlags      `embed:""`
	Client clientFlags   `embed:""`
}

// Validate checks --reload and --listen. kong calls it.
func (a *serveCmd) Validate() error {
	if _, err := reloadEvery(a.Reload); err != nil {
		return err
	}
	if a.Listen != "" {
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			return usagef("--listen %q: want host:port, such as 127.0.0.1:8080 or :8080", a.Listen)
		}
	}
	return checkListen("--http", a.HTTP)
}

// Run serves the API until the context ends, then drains the requests in
// flight.
func (a *serveCmd) Run(env *cliEnv) error {
	reload, _ := reloadEvery(a.Reload)
	cfg, err := env.config()
	if err != nil {
		return err
	}
	tokens, secrets := apiCredentials(cfg)
	if len(tokens) == 0 && len(secrets) == 0 {
		where := "tend.yaml"
		if cfg.Path != "" {
			where = cfg.Path
		}
		return usagef("no API credentials: add an api: section with tokens: or signing_secrets: to %s, e.g.\n  api:\n    tokens: [{env: TEND_API_TOKEN}]", where)
	}
	listen := a.Listen
	if listen == "" {
		listen = cfg.API.Listen
	}
	if listen == "" {
		listen = defaultListen
	}
	ctx, cancel := context.WithCancel(env.context())
	defer cancel()
	log := a.Log.logger(env.stderr)
	targets := node.Targets(cfg)
	reg, onReload := newRegistry()
	w, err := node.FollowSets(node.SetsOptions{Playbooks: a.Client.Set.Playbooks, Store: workflows.DirStore{Dir: a.Store},
		Follow: node.Follow(a.Follow), Reload: reload, Logger: log, Targets: &targets, OnReload: onReload})
	if err != nil {
		return usageError(err)
	}
	defer w.Stop()
	opts, err := a.Client.Conn.options(log, cfg)
	if err != nil {
		return usageError(err)
	}
	opts.MetricsHandler = api.MetricsHandler(reg)
	dialCtx, dialCancel := context.WithTimeout(ctx, a.Client.Conn.Timeout)
	c, err := client.DialContext(dialCtx, opts)
	dialCancel()
	if err != nil {
		return &dialError{address: a.Client.Conn.Address, err: err}
	}
	defer c.Close()
	if err := checkEncrypting(ctx, c, a.Client.Conn.Namespace, cfg); err != nil {
		return err
	}
	wait, addr, err := startAPI(ctx, c, w.Set, cfg, tokens, secrets, listen, reg, log, nil, "", setDegraded(w))
	if err != nil {
		return err
	}
	log.Info().Str("listen", "http://"+addr).Str("temporal", a.Client.Conn.Address).Str("following", w.Following()).Msg("tend API serving")
	waitOps := func() error { return nil }
	if a.HTTP != "" {
		var opsAddr string
		waitOps, opsAddr, err = startOps(ctx, a.HTTP, opsHandler(reg, temporalHealth(c, a.Client.Conn.Address), setDegraded(w)), log)
		if err != nil {
			cancel()
			_ = wait() // stop the API before reporting
			return err
		}
		log.Info().Str("http", "http://"+opsAddr).Msg("serving /healthz and /metrics")
	}
	err = wait()
	if oerr := waitOps(); oerr != nil {
		log.Error().Err(oerr).Msg("health and metrics endpoint")
	}
	if err != nil {
		return failed(err)
	}
	log.Info().Msg("tend API stopped")
	return nil
}

// apiCredentials are the tokens and signing secrets of tend.yaml's api:
// section.
func apiCredentials(cfg *config.Config) (tokens, secrets []string) {
	for _, t := range cfg.API.Tokens {
		tokens = append(tokens, string(t))
	}
	for _, s := range cfg.API.SigningSecrets {
		secrets = append(secrets, string(s))
	}
	return tokens, secrets
}

// startAPI listens on listen and serves the HTTP API until ctx ends. wait
// returns once the requests in flight have drained.
// devOrigins, from tend dev only, are the embedded UI's origins, which
// may call the dev codec route; tokensFrom, when tend dev made the token,
// names its file in 401 answers.
func startAPI(ctx context.Context, c client.Client, set func() *lang.Set, cfg *config.Config, tokens, secrets []string,
	listen string, reg *prometheus.Registry, log zerolog.Logger, devOrigins []string, tokensFrom string, degraded func() string) (wait func() error, addr string, err error) {
	opts := api.Options{Client: c, Set: set, Tokens: tokens, SigningSecrets: secrets,
		MaxBody: cfg.API.MaxBody, RateLimit: cfg.API.RateLimit, Logger: log, Registry: reg, TokensFrom: tokensFrom, Degraded: degraded}
	if l := cfg.Links; l != nil {
		opts.Links = &links.Config{BaseURL: l.BaseURL, Secret: string(l.Secret)}
	}
	cdc, err := newCodec(cfg)
	if err != nil {
		return nil, "", usageError(err)
	}
	if cdc != nil {
		opts.Codec, opts.CodecOrigin = cdc, cfg.Codec.UIOrigin
		opts.DevCodecOrigins = devOrigins
	}
	srv, err := api.New(opts)
	if err != nil {
		return nil, "", usageError(err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", usagef("the API cannot listen on %s: %v", listen, errors.Unwrap(err))
	}
	return serveOn(ctx, ln, srv, log), ln.Addr().String(), nil
}

// devLinks gives tend dev the links of survey and unsubscribe mail when
// tend.yaml configures none: they point at the API on port, signed with a
// secret read from dir/link-secret, or made and stored there (mode 0600)
// on first use, so that links in mail sent before a restart still work.
func devLinks(cfg *config.Config, dir, host string, port int) (string, error) {
	if cfg.Links != nil {
		return "links to " + cfg.Links.BaseURL + " (links: in " + configName(cfg) + ")", nil
	}
	path := filepath.Join(dir, "link-secret")
	secret := ""
	if b, err := os.ReadFile(path); err == nil {
		secret = strings.TrimSpace(string(b))
	}
	if len(secret) < links.MinSecretLength {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		secret = hex.EncodeToString(b[:])
		if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("store the link secret: %w", err)
		}
	}
	if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" || host == "::1" {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	cfg.Links = &config.Links{BaseURL: base, Secret: config.Secret(secret)}
	return "survey and unsubscribe links to " + base + " (secret in " + path + ")", nil
}

// configName names the config file in messages: its path, or tend.yaml
// when there is none.
func configName(cfg *config.Config) string {
	if cfg.Path == "" {
		return config.DefaultPath
	}
	return cfg.Path
}

// devToken is the bearer token of tend dev when tend.yaml has no api:
// section: read from dir/api-token, or made and stored there (mode 0600)
// on first use, so that it survives restarts.
func devToken(dir string) (token, path string, err error) {
	path = filepath.Join(dir, "api-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); len(t) >= config.MinTokenLength {
			return t, path, nil
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", path, err
	}
	token = "tend_dev_" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", path, fmt.Errorf("store the API token: %w", err)
	}
	return token, path, nil
}
