#!/usr/bin/env bash
# Runs every test: vet, the unit and integration tests, and a few seconds of
# each fuzz target. The README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== workflowcheck (determinism of workflows/)"
go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 -config workflowcheck.yaml ./workflows

echo "== go test"
go test -count=1 ./...

echo "== fuzz ($fuzztime each)"
for target in $(go test -list '^Fuzz' ./... | grep '^Fuzz' || true); do
  pkg=$(grep -rl "func $target(" --include='*_test.go' . | head -1 | xargs dirname)
  go test -run "^$" -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 3s "$pkg"
done
