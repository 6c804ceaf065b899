package main

import (
	"encoding/json"
	"fmt"

	"github.com/tend-cs/tend/engine/lang"
)

// schemaCmd is `tend schema`: the JSON Schema of playbook files.
type schemaCmd struct{}

func (schemaCmd) Run(env *cliEnv) error {
	b, err := json.MarshalIndent(lang.JSONSchema(), "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, string(b))
	return nil
}
