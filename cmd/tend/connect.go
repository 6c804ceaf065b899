package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/tend-cs/tend/codec"
	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/internal/zlog"
)

// connFlags are the flags of every command that talks to Temporal. Embed
// them with `embed:""`.
type connFlags struct {
	Address       string        `default:"localhost:7233" env:"TEMPORAL_ADDRESS" help:"Temporal frontend, host:port"`
	Namespace     string        `default:"default" env:"TEMPORAL_NAMESPACE" help:"Temporal namespace"`
	TLS           bool          `name:"tls" env:"TEMPORAL_TLS" help:"connect with TLS (implied by the --tls-* files and by --api-key)"`
	TLSCert       string        `name:"tls-cert" env:"TEMPORAL_TLS_CERT" placeholder:"FILE" help:"client certificate (PEM) for mutual TLS; needs --tls-key"`
	TLSKey        string        `name:"tls-key" env:"TEMPORAL_TLS_KEY" placeholder:"FILE" help:"client private key (PEM) for mutual TLS"`
	TLSCA         string        `name:"tls-ca" env:"TEMPORAL_TLS_CA" placeholder:"FILE" help:"CA certificates (PEM) to verify the server with, instead of the system's"`
	TLSServerName string        `name:"tls-server-name" env:"TEMPORAL_TLS_SERVER_NAME" placeholder:"NAME" help:"server name to verify, if not the host of --address"`
	APIKey        string        `name:"api-key" env:"TEMPORAL_API_KEY" placeholder:"KEY" help:"API key (Temporal Cloud); turns TLS on"`
	Timeout       time.Duration `default:"30s" help:"give up on Temporal after this long"`
	Verbose       bool          `short:"v" help:"log the Temporal client's messages to stderr"`
}

// Validate checks the flags that need no file or server. kong calls it.
func (f connFlags) Validate() error {
	switch {
	case f.Timeout <= 0:
		return usagef("--timeout %s: want a positive duration such as 30s", f.Timeout)
	case f.TLSCert != "" && f.TLSKey == "":
		return usagef("--tls-cert needs --tls-key")
	case f.TLSKey != "" && f.TLSCert == "":
		return usagef("--tls-key needs --tls-cert")
	}
	return nil
}

// dialError is a failure to reach Temporal, as opposed to a bad flag: exit 3.
type dialError struct {
	address string
	err     error
}

func (e *dialError) Error() string {
	return fmt.Sprintf("cannot reach Temporal at %s: %v; %s", e.address, e.err, dialHint)
}

func (e *dialError) Unwrap() error { return e.err }

// dialHint says what to do when Temporal cannot be reached: tend dev may
// well be running, on another port.
const dialHint = "start one with `tend dev`, or give the address it prints with --address or TEMPORAL_ADDRESS"

// tlsConfig builds the TLS configuration from the flags, or returns nil
// when no TLS option is set. Errors name the bad file.
func (f connFlags) tlsConfig() (*tls.Config, error) {
	if !f.TLS && f.TLSCert == "" && f.TLSKey == "" && f.TLSCA == "" && f.TLSServerName == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.TLSServerName, MinVersion: tls.VersionTLS12}
	switch {
	case f.TLSCert != "" && f.TLSKey == "":
		return nil, errors.New("--tls-cert needs --tls-key")
	case f.TLSKey != "" && f.TLSCert == "":
		return nil, errors.New("--tls-key needs --tls-cert")
	case f.TLSCert != "":
		for _, p := range []string{f.TLSCert, f.TLSKey} {
			if _, err := os.Stat(p); err != nil {
				return nil, openErr(p, err)
			}
		}
		cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %v", f.TLSCert, f.TLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.TLSCA != "" {
		pem, err := os.ReadFile(f.TLSCA)
		if err != nil {
			return nil, openErr(f.TLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in the file", f.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// newCodec is the payload codec of cfg's codec: section, or nil when it
// has none (or cfg is nil).
func newCodec(cfg *config.Config) (*codec.Codec, error) {
	if cfg == nil || cfg.Codec == nil {
		return nil, nil
	}
	c, err := codec.New(cfg.Codec.KeyBytes(), cfg.Codec.Primary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgName(cfg), err)
	}
	return c, nil
}

// options builds the client options from the flags, encrypting payloads
// with cfg's codec when it has one: every client of tend, worker or not,
// must read and write them alike.
func (f connFlags) options(logger zerolog.Logger, cfg *config.Config) (client.Options, error) {
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	cdc, err := newCodec(cfg)
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:  f.Address,
		Namespace: f.Namespace,
		Logger:    zlog.SDK(logger),
		// With an API key and no TLS options the SDK turns TLS on itself.
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
	}
	if f.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(f.APIKey)
	}
	cdc.Apply(&opts)
	return opts, nil
}

// dial connects to Temporal. A bad flag or file is a usage error; a
// failure to connect a *dialError, whose message says how to start a
// server.
func (f connFlags) dial(ctx context.Context, logger zerolog.Logger, cfg *config.Config) (client.Client, error) {
	opts, err := f.options(logger, cfg)
	if err != nil {
		return nil, usageError(err)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, &dialError{address: f.Address, err: err}
	}
	return c, nil
}

// connectNoDeadline is connect for commands that send many requests:
// --timeout bounds dialing and then each request, and the context has no
// overall deadline; it ends on Ctrl-C.
func (f connFlags) connectNoDeadline(env *cliEnv) (ctx context.Context, c client.Client, done func(), err error) {
	cfg, err := env.config()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx = env.context()
	dctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	c, err = f.dial(dctx, newLogger(env.stderr, f.Verbose), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return ctx, c, c.Close, nil
}

// connect is what a command does to talk to Temporal: a context that ends
// at --timeout or on Ctrl-C, and a client. done closes both.
func (f connFlags) connect(env *cliEnv) (ctx context.Context, c client.Client, done func(), err error) {
	cfg, err := env.config()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(env.context(), f.Timeout)
	c, err = f.dial(ctx, newLogger(env.stderr, f.Verbose), cfg)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, c, func() { c.Close(); cancel() }, nil
}

// checkEncrypting refuses a command that sends customer data (events, a
// task's outcome) when its tend.yaml has no codec: and the namespace's
// workers encrypt: what it sent would be stored in plain text. Whether
// they do is read from the namespace (control.MarkEncrypted); a failure to
// read it is not a refusal.
func checkEncrypting(ctx context.Context, c client.Client, namespace string, cfg *config.Config) error {
	err := control.CheckEncrypting(ctx, c, namespace, cfg != nil && cfg.Codec != nil)
	if errors.Is(err, control.ErrNotEncrypting) {
		return usageError(err)
	}
	return nil
}
