// Package workflows drives the engine's interpreter from Temporal: one
// CustomerJourney workflow per customer and one PlaybookRun per run, under
// the names docs/temporal.md lists. It imports engine, never activities.
package workflows
