//go:build !nodev

package main

import (
	"context"
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
	"github.com/tend-cs/tend/devserver"
	"github.com/tend-cs/tend/internal/zlog"
	"github.com/tend-cs/tend/node"
	"github.com/tend-cs/tend/workflows"
)

// quickstartEvents is the example the banner suggests sending, when it is
// there to send.
const quickstartEvents = "examples/quickstart/events.jsonl"

// devCommand puts tend dev in the command line (cli embeds it).
type devCommand struct {
	Dev devCmd `cmd:"" help:"Temporal, its Web UI and a worker in one process, for trying tend out"`
}

// devCmd is `tend dev`: a Temporal server on a SQLite file, the Web UI
// and a worker in one process, until SIGINT or SIGTERM, or until the
// worker stops on a fatal error (exit 1).
type devCmd struct {
	Dir     string        `default:".tend" help:"state directory, created if missing: the server keeps temporal.db in it, playbook sets go to its sets/ (by version), and outreach goes to its outbox/ unless the config file sets outbox:"`
	Port    int           `default:"7233" help:"Temporal frontend port (gRPC); 0 picks a free one"`
	UIPort  int           `name:"ui-port" default:"8233" help:"Temporal Web UI port; 0 runs no UI"`
	Set     playbookFlags `embed:""`
	Config  string        `default:"tend.yaml" env:"TEND_CONFIG" help:"runtime configuration: playbooks:, outbox: and channels; the default file may be missing. Its temporal: section is not used: dev runs its own server"`
	Reload  time.Duration `default:"2s" help:"how often to check the playbooks for changes; 0 never reloads"`
	Follow  string        `enum:"playbooks,auto" default:"playbooks" help:"where the playbook set comes from: playbooks (the directory, always) or auto (the active set of <dir>/sets once tend publish --store <dir>/sets has published one)"`
	APIPort int           `name:"api-port" default:"8080" help:"HTTP API port; 0 runs no API"`
	Listen  string        `default:"127.0.0.1" placeholder:"HOST" help:"host the HTTP API listens on; 0.0.0.0 for every interface"`
	Log     logFlags      `embed:""`
}

// Validate checks the ports, --dir and --reload. kong calls it.
func (a *devCmd) Validate() error {
	switch {
	case a.Port < 0 || a.Port > 65535:
		return usagef("--port %d: want 1-65535, or 0 for a free port", a.Port)
	case a.UIPort < 0 || a.UIPort > 65535:
		return usagef("--ui-port %d: want 1-65535, or 0 for no UI", a.UIPort)
	case a.Port != 0 && a.Port == a.UIPort:
		return usagef("--port and --ui-port are both %d; give them different ports", a.Port)
	case a.APIPort < 0 || a.APIPort > 65535:
		return usagef("--api-port %d: want 1-65535, or 0 for no API", a.APIPort)
	case a.APIPort != 0 && (a.APIPort == a.Port || a.APIPort == a.UIPort):
		return usagef("--api-port %d is also the Temporal or UI port; give it another", a.APIPort)
	case a.Dir == "":
		return usagef("--dir is empty; give a directory such as .tend")
	}
	_, err := reloadEvery(a.Reload)
	return err
}

// Run runs tend dev until the context ends or the worker stops on a fatal
// error, then stops the API, the worker, the client and the server.
func (a *devCmd) Run(env *cliEnv) error {
	reload, _ := reloadEvery(a.Reload)
	cfg, err := env.config()
	if err != nil {
		return err
	}
	if !outboxSet(cfg) {
		cfg.Outbox = filepath.Join(a.Dir, "outbox")
	}
	playbooks := a.Set.Playbooks
	count, err := checkPlaybooks(playbooks, cfg)
	if err != nil {
		return err
	}
	if err := privateDir(a.Dir); err != nil {
		return usagef("--dir %s: %v", a.Dir, err)
	}
	cdc, err := newCodec(cfg)
	if err != nil {
		return usageError(err)
	}
	var uiCodec string
	var uiOrigins []string
	if cdc != nil && a.APIPort != 0 && a.UIPort != 0 {
		uiCodec, uiOrigins = devUICodec(a.Listen, a.APIPort, a.UIPort)
	}
	linksLine := "off (--api-port 0): surveys and mail marked unsubscribe fail without links: in " + configName(cfg)
	if a.APIPort != 0 {
		// Before the worker starts: its activities sign the links.
		if linksLine, err = devLinks(cfg, a.Dir, a.Listen, a.APIPort); err != nil {
			return failed(err)
		}
	}

	// ctx also ends when the worker stops on a fatal error, to stop the API.
	ctx, cancel := context.WithCancel(env.context())
	defer cancel()
	log := a.Log.logger(env.stderr)
	// The server's info logs are a firehose; it logs warnings and errors
	// unless --log-level asks for fewer.
	serverLevel := zerolog.WarnLevel
	if log.GetLevel() > serverLevel {
		serverLevel = log.GetLevel()
	}
	db := filepath.Join(a.Dir, "temporal.db")
	srv, err := devserver.Start(devserver.Options{
		DBFile:           db,
		Port:             a.Port,
		UIPort:           a.UIPort,
		UICodecEndpoint:  uiCodec,
		Namespace:        workflows.DefaultNamespace,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           log,
		LogLevel:         serverLevel,
	})
	if err != nil {
		return failed(err)
	}
	defer srv.Stop()
	reg := prometheus.NewRegistry()
	copts := client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: zlog.SDK(log),
		MetricsHandler: api.MetricsHandler(reg)}
	cdc.Apply(&copts)
	c, err := client.Dial(copts)
	if err != nil {
		return failedf("connect to the embedded server at %s: %v", srv.Address(), err)
	}
	defer c.Close()
	n, err := node.Start(node.Options{Client: c, Config: cfg, Playbooks: playbooks, Logger: log, Reload: reload,
		Store: workflows.DirStore{Dir: filepath.Join(a.Dir, "sets")}, Namespace: srv.Namespace(), Follow: node.Follow(a.Follow)})
	if err != nil {
		return failed(err)
	}
	defer n.Stop()

	apiLine := "off (--api-port 0)"
	var wait func() error
	if a.APIPort != 0 {
		tokens, secrets := apiCredentials(cfg)
		how := "credentials from the api: section of " + cfg.Path
		tokensFrom := ""
		if !cfg.API.Set {
			token, path, err := devToken(a.Dir)
			if err != nil {
				return failed(err)
			}
			tokens = []string{token}
			tokensFrom = "the token in " + path
			how = fmt.Sprintf("token in %s: curl -H \"Authorization: Bearer $(cat %s)\"", path, path)
		}
		listen := net.JoinHostPort(a.Listen, strconv.Itoa(a.APIPort))
		var addr string
		wait, addr, err = startAPI(ctx, c, n.Set, cfg, tokens, secrets, listen, reg, log, uiOrigins, tokensFrom, setDegraded(n))
		if err != nil {
			return err
		}
		apiLine = fmt.Sprintf("http://%s (%s)", addr, how)
	}
	fmt.Fprint(env.stderr, devBanner(srv, db, cfg.Outbox, playbooks, n.Version(), count, apiLine, linksLine, codecLine(cfg, uiCodec)))
	select {
	case <-ctx.Done():
	case <-n.Done(): // a fatal error, which the node logged
	}
	cancel()
	log.Info().Msg("shutting down")
	if wait != nil {
		if err := wait(); err != nil {
			log.Error().Err(err).Msg("API shutdown")
		}
	}
	if err := n.Err(); err != nil {
		return failed(fmt.Errorf("the Temporal worker stopped: %w", err))
	}
	return nil
}

// privateDir creates the state directory readable by its owner only
// (0700), or tightens an existing one: it holds every customer's history,
// the API token and the link secret. One already private is left alone.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == 0o700 {
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make it readable by its owner only (0700): %w", err)
	}
	return nil
}

// devUICodec is the codec endpoint of the embedded Web UI, on the API's
// dev codec route, and the UI's origins, which alone may call it: the
// UI as http://127.0.0.1:<ui port> and as http://localhost:<ui port>.
// The route answers loopback callers only, so an API on another host
// than loopback or every interface leaves the UI unable to decode.
func devUICodec(listen string, apiPort, uiPort int) (endpoint string, origins []string) {
	host := listen
	if ip := net.ParseIP(listen); listen == "" || (ip != nil && (ip.IsUnspecified() || ip.IsLoopback())) {
		host = "127.0.0.1"
	}
	endpoint = "http://" + net.JoinHostPort(host, strconv.Itoa(apiPort)) + api.DevCodecPath
	ui := strconv.Itoa(uiPort)
	return endpoint, []string{"http://127.0.0.1:" + ui, "http://localhost:" + ui, "http://[::1]:" + ui}
}

// codecLine says how payloads are stored, for the banner.
func codecLine(cfg *config.Config, uiCodec string) string {
	if cfg.Codec == nil {
		return "off: payloads are stored in plain text (add a codec: section to " + configName(cfg) + ")"
	}
	line := "AES-256-GCM, key " + cfg.Codec.Primary + " (codec: in " + configName(cfg) + ")"
	if uiCodec != "" {
		return line + "; the Web UI decodes through " + uiCodec
	}
	return line + "; the Web UI shows payloads encrypted (it needs both --ui-port and --api-port)"
}

// outboxSet says whether the config file sets outbox:. Without one,
// config resolves the default relative to the file's directory.
func outboxSet(cfg *config.Config) bool {
	def := config.DefaultOutbox
	if cfg.Path != "" {
		def = filepath.Join(filepath.Dir(cfg.Path), config.DefaultOutbox)
	}
	return filepath.Clean(cfg.Outbox) != filepath.Clean(def)
}

// devBanner tells what runs where, and how to send the first events.
func devBanner(srv *devserver.Server, db, outbox, playbooks, version string, count int, apiLine, linksLine, codecLine string) string {
	var b strings.Builder
	b.WriteString("tend dev is running\n")
	fmt.Fprintf(&b, "  Temporal  %s (namespace %s, state in %s)\n", srv.Address(), srv.Namespace(), db)
	if ui := srv.UIAddress(); ui != "" {
		fmt.Fprintf(&b, "  Web UI    %s\n", ui)
	} else {
		b.WriteString("  Web UI    off (--ui-port 0)\n")
	}
	fmt.Fprintf(&b, "  HTTP API  %s\n", apiLine)
	fmt.Fprintf(&b, "  Links     %s\n", linksLine)
	fmt.Fprintf(&b, "  Codec     %s\n", codecLine)
	fmt.Fprintf(&b, "  Outbox    %s\n", outbox)
	fmt.Fprintf(&b, "  Playbooks %s (version %s, %d %s)\n", playbooks, version, count, plural(count, "playbook", "playbooks"))
	send := "tend event send --help"
	if _, err := os.Stat(quickstartEvents); err == nil {
		send = "tend event send -f " + quickstartEvents
		if _, err := os.Stat("cmd/tend"); err == nil {
			send = "go run ./cmd/" + send // in a checkout of tend
		}
		if !strings.HasSuffix(srv.Address(), ":7233") {
			send += " --address " + srv.Address()
		}
	}
	// Other terminals reach this server only with its address.
	env := "TEMPORAL_ADDRESS=" + srv.Address()
	if srv.Namespace() != "default" {
		env += " TEMPORAL_NAMESPACE=" + srv.Namespace()
	}
	fmt.Fprintf(&b, "Other terminals: export %s\n", env)
	fmt.Fprintf(&b, "Send events:  %s\n", send)
	return b.String()
}
