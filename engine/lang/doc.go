// Package lang is the playbook language: schema.yaml and its types
// (Schema, Type, Coerce), expressions compiled and type-checked at load
// (Expr, Text) and the Scope they are evaluated in, the playbook compiler
// (ParsePlaybook, ParseTemplate) and Load, which validates a whole set,
// scenarios (ParseScenario), the JSON Schema of playbook files
// (JSONSchema), the checks of events as they arrive (Schema.CheckEvent,
// Schema.Normalize), and the data the runtime speaks in: Event and Record.
//
// Files are read through engine/tendfmt, and every problem is a positioned
// tendfmt.Error. The runtime, package engine, imports lang; lang never
// imports it. Like the runtime, lang is pure: no clock, no I/O, no
// goroutines, and no map order reaches a result.
//
// Scope lives here rather than in the runtime: Expr.Eval, Expr.Bool and
// Text.Render are methods of compiled expressions, and a Scope fills
// exactly the flattened keys the compiler chose for its schema.
package lang
