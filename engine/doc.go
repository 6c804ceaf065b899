// Package engine is tend's runtime: the one interpreter, as two pure state
// machines over plain, JSON-serialisable state. Journey (per customer)
// applies events, evaluates triggers, keeps the stage, the contact-policy
// ledger and the survey answers (a changed answer is a revision, not a new
// event: survey.go), decides which runs start, and keeps why each
// playbook did or did not (explain.go); Run (per run) steps through a
// compiled playbook, with its tasks, timers and the messages the contact
// policy holds, and renders each action's texts escaped for where they go
// (render.go). Inputs carry now; outputs are commands (CmdRecord,
// CmdAction, CmdTimer, CmdCancelTimer, CmdReserve, CmdBook) that a driver
// carries out and answers. A meeting's slot comes from its owner's
// calendar, a Ledger shared by every customer (slots.go).
//
// The customer protocol between a journey and its runs is here too
// (protocol.go, peer.go): Journey's On* methods and Peer exchange numbered
// messages (ToRun, FromRun), so tend simulate and the Temporal workflows
// are two transports of the same machines and decide nothing themselves.
//
// The language the runtime interprets (schemas, expressions, compiled
// playbooks, Load, Event and Record) is package engine/lang, and the file
// format and its positioned errors are engine/tendfmt, which lang builds
// on. engine imports lang; neither imports engine. Like them, the runtime
// imports no Temporal, logger or network code, reads no clock, starts no
// goroutines and never lets map order reach a result.
package engine
