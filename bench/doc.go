// Package bench measures tend on the embedded Temporal server (devserver)
// against hand-written Temporal workflows doing the same Temporal-visible
// work, measured in the same run:
//
//   - TestHistoryEventsPerKind: history events of a PlaybookRun per step
//     kind, against a hand-written workflow (flag -history or -table);
//     TestLongRunContinuesAsNew: a run fed thousands of events stays under
//     10,240 events per history by continuing as new (flag -history);
//     TestBurstWhileWorkerDown: a backlog of -burst events (flag -burst);
//     TestJourneyHistoryBytes: a journey's history bytes on the shipped
//     playbook set, ../playbooks (flag -bytes).
//   - BenchmarkThroughput: events applied and steps completed per second,
//     tend against a hand-written per-customer workflow;
//     BenchmarkThroughputInterleaved: the same, both taking turns in one
//     process, for a machine whose load changes.
//   - BenchmarkIdleJourneys: process RSS and Go heap with 10,000 journeys
//     whose runs wait on a 30-day timer (flag -idle).
//
// Nothing here runs in a plain `go test ./...`: every measurement needs a
// flag or -bench. scripts/bench.sh runs all three; README.md has the
// latest figures.
package bench
