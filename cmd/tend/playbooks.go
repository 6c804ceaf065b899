package main

import (
	"fmt"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/load"
)

// playbookFlags name the playbook set of the commands that run playbooks
// or talk to their runs. Embed them with `embed:""`.
type playbookFlags struct {
	Playbooks string `default:"playbooks" placeholder:"DIR" help:"playbook directory (default: playbooks: in the config file, else ./playbooks)"`
}

// load loads and checks the playbook set as tend validate and the worker
// do. A directory that cannot be read or an invalid set is a usage error
// (exit 2) that lists the set's problems.
func (p playbookFlags) load() (*lang.Set, error) {
	set, err := loadSet(p.Playbooks)
	if err != nil {
		return nil, usageError(err)
	}
	return set, nil
}

// loadSet loads the set in dir. An invalid set is a *listError of its
// problems, sorted, each with a position (dir itself for the problems of
// the whole set); a directory that cannot be read is a plain error.
func loadSet(dir string) (*lang.Set, error) {
	set, errs, err := load.Set(dir)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		for _, e := range errs {
			if e.Pos.File == "" {
				e.Pos.File = dir
			}
		}
		errs.Sort()
		return nil, &listError{errs: errs,
			msg: fmt.Sprintf("the playbooks in %s have %s; check them with tend validate %s", dir, errorCount(len(errs)), dir)}
	}
	return set, nil
}

// clientFlags are the flags of the commands that talk to the runs: event
// send, runs and tasks. Embed them with `embed:""`.
type clientFlags struct {
	Config string        `default:"tend.yaml" env:"TEND_CONFIG" help:"runtime configuration: temporal: and playbooks:; the default file may be missing. Flags and environment variables override it"`
	Set    playbookFlags `embed:""`
	Conn   connFlags     `embed:""`
}
