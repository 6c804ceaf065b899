// Package workflows will drive the engine's interpreter from Temporal: one
// CustomerJourney workflow per customer and one PlaybookRun per run, as
// SPEC 7 names them. It imports engine, never activities. It holds no code
// yet; the durable-execution issue fills it.
package workflows
