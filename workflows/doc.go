// Package workflows drives the engine's interpreter from Temporal: one
// CustomerJourney workflow per customer, one PlaybookRun per run, and one
// OwnerCalendar per owner of calls and trainings, which books their
// meetings (the book-slot update, sent by the BookSlot activity), under
// the names docs/temporal.md lists. It imports engine, never activities.
package workflows
