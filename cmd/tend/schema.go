package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tend-cs/tend/engine"
)

type schemaArgs struct{}

// schemaCmd implements `tend schema`: the JSON Schema of playbook files.
func schemaCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var a schemaArgs
	if code, done := parse("schema", &a, args, stdout, stderr); done {
		return code
	}
	b, err := json.MarshalIndent(engine.JSONSchema(), "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "tend schema: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, string(b))
	return exitOK
}
