package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine/tendfmt"
)

// configKeys are the flags that tend.yaml sets, and the keys that set them.
var configKeys = map[string]string{
	"address":         "temporal.address",
	"namespace":       "temporal.namespace",
	"api-key":         "temporal.api_key",
	"tls":             "temporal.tls",
	"tls-cert":        "temporal.tls.cert",
	"tls-key":         "temporal.tls.key",
	"tls-ca":          "temporal.tls.ca",
	"tls-server-name": "temporal.tls.server_name",
	"playbooks":       "playbooks",
}

// configFile is tend.yaml as a kong resolver: it gives the flags in
// configKeys their value from the file when neither the command line nor
// the flag's environment variable did. The file is read at most once, the
// first time a flag or a command needs it.
//
// Its path is the value of the command's --config flag (or $TEND_CONFIG);
// a file named that way must exist. Without either, tend.yaml in the
// working directory is read if it is there. Commands without a --config
// flag (validate, schema) never read it; tend simulate reads it only when
// its --config is given.
type configFile struct {
	located bool
	path    string // "" for the default, which may be missing

	loaded bool
	cfg    *config.Config
	err    error
	// client: only the temporal: section and playbooks: are needed, so
	// the server's secrets may be unset (config.LoadClient).
	client bool
}

var _ kong.Resolver = (*configFile)(nil)

// Validate implements kong.Resolver; tend.yaml is checked when it is read.
func (f *configFile) Validate(*kong.Application) error { return nil }

// Resolve implements kong.Resolver: the value of flag from tend.yaml, or
// nil to leave the flag to its default.
func (f *configFile) Resolve(kctx *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	key, ok := configKeys[flag.Name]
	if !ok || envSet(flag) || !f.locate(kctx) {
		return nil, nil
	}
	if sel := kctx.Selected(); sel != nil && !f.loaded {
		switch sel.Name {
		case "dev", "worker", "serve":
		default:
			f.client = true
		}
	}
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, nil // no file: the flags' defaults are the file's
	}
	return configValue(cfg, key), nil
}

// locate finds the file from the command's --config flag, and says
// whether the command has one.
func (f *configFile) locate(kctx *kong.Context) bool {
	if f.located {
		return true
	}
	for _, flag := range kctx.Flags() {
		if flag.Name != "config" {
			continue
		}
		given := envSet(flag)
		for _, p := range kctx.Path {
			given = given || p.Flag == flag
		}
		if given {
			f.path, _ = kctx.FlagValue(flag).(string)
		}
		f.located = true
		return true
	}
	return false
}

// use reads the file at path as the command's config, for a command that
// needs only a part of it (tend simulate, its staff: section): like a
// client's, it may leave the worker's secrets unset.
func (f *configFile) use(path string) (*config.Config, error) {
	if !f.loaded {
		f.located, f.path, f.client = true, path, true
	}
	return f.load()
}

// load reads the file once. A missing default file means the defaults;
// problems in the file are a usage error listing them as file:line:col.
func (f *configFile) load() (*config.Config, error) {
	if f.loaded {
		return f.cfg, f.err
	}
	f.loaded = true
	if f.client {
		f.cfg, f.err = config.LoadClient(f.path)
	} else {
		f.cfg, f.err = config.Load(f.path)
	}
	if f.err != nil {
		var errs tendfmt.ErrorList
		if errors.As(f.err, &errs) {
			path := f.path
			if path == "" {
				path = config.DefaultPath
			}
			f.err = &listError{errs: errs, msg: fmt.Sprintf("%s has %s", path, errorCount(len(errs)))}
		}
		f.err = usageError(f.err)
	}
	return f.cfg, f.err
}

// configValue is the value of a key of configKeys in cfg, or nil when the
// file leaves it out.
func configValue(cfg *config.Config, key string) any {
	t := cfg.Temporal
	var s string
	switch key {
	case "temporal.address":
		s = t.Address
	case "temporal.namespace":
		s = t.Namespace
	case "temporal.api_key":
		s = string(t.APIKey)
	case "playbooks":
		s = cfg.Playbooks
	case "temporal.tls":
		if t.TLS != nil {
			return true
		}
	case "temporal.tls.cert", "temporal.tls.key", "temporal.tls.ca", "temporal.tls.server_name":
		if t.TLS != nil {
			s = map[string]string{
				"temporal.tls.cert":        t.TLS.Cert,
				"temporal.tls.key":         t.TLS.Key,
				"temporal.tls.ca":          t.TLS.CA,
				"temporal.tls.server_name": t.TLS.ServerName,
			}[key]
		}
	}
	if s == "" {
		return nil
	}
	return s
}

// envSet says whether one of the flag's environment variables is set: the
// variable then beats tend.yaml.
func envSet(flag *kong.Flag) bool {
	for _, env := range flag.Tag.Envs {
		if _, ok := os.LookupEnv(env); ok {
			return true
		}
	}
	return false
}
