#!/usr/bin/env bash
# Runs every test: vet, the unit and integration tests, and a few seconds of
# each fuzz target. The README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# Fuzz budgets are counts of executions, not durations: with a duration,
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" at the deadline (golang/go#75804).
# FuzzLoad runs a whole playbook load per input, so it gets fewer.
budget() {
  if [ -n "${FUZZTIME:-}" ]; then echo "$FUZZTIME"; return; fi
  case "$1" in
    FuzzLoad) echo 1000x ;;
    *) echo 50000x ;;
  esac
}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== the production build (-tags nodev: no embedded Temporal server)"
go vet -tags nodev ./cmd/tend
go build -tags nodev -o /dev/null ./cmd/tend
go test -count=1 -tags nodev -run 'Nodev' ./cmd/tend

echo "== workflowcheck (determinism of workflows/)"
go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 -config workflowcheck.yaml ./workflows

echo "== go test"
go test -count=1 ./...

echo "== fuzz (FuzzLoad 1000 executions, the others 50000, or FUZZTIME)"
for target in $(go test -list '^Fuzz' ./... | grep '^Fuzz' || true); do
  pkg=$(grep -rl "func $target(" --include='*_test.go' . | head -1 | xargs dirname)
  go test -run "^$" -fuzz "^${target}\$" -fuzztime "$(budget "$target")" -fuzzminimizetime 200x "$pkg"
done
