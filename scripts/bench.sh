#!/usr/bin/env bash
# Runs the measurements of bench/ on the embedded Temporal server, each
# against a hand-written Temporal baseline measured in the same run, and
# writes their output to bench/out/ (or $BENCH_OUT). bench/README.md has
# the latest figures and explains them. About 20 minutes on 2 cores:
#
#   1. history events per step kind, PlaybookRun vs hand-written (~70s),
#      and a long run fed 3,000 events continuing as new (~45s);
#      then a burst of 5,000 events while the worker is down
#      (TestBurstWhileWorkerDown, ~60s: the pending-signals limit, and
#      every execution under 10,240 events); then a journey's history
#      bytes on the shipped playbook set, ./playbooks (TestJourneyHistoryBytes, ~10s);
#   2. throughput, events/s and steps/s, tend vs hand-written, with the
#      server's SQLite file on disk and on /dev/shm (~8 min);
#   3. memory with 10,000 idle journeys and their waiting runs (~6 min).
#
# ONLY ("1 2 3" by default) picks the steps. COUNT (3), CUSTOMERS (200), IDLE (10000), LONG (3000) and BURST (5000)
# change the sizes; DBDIR (/dev/shm where it exists) is where the memory
# benchmark, and the second throughput measurement, keep the server's SQLite
# file: fsync is free there, and the file's pages are not in the process RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BENCH_OUT:-bench/out}"
count="${COUNT:-3}"
customers="${CUSTOMERS:-200}"
idle="${IDLE:-10000}"
long="${LONG:-3000}"
burst="${BURST:-5000}"
dbdir="${DBDIR:-}"
if [ -z "$dbdir" ] && [ -d /dev/shm ]; then
  dbdir=/dev/shm
fi
only="${ONLY:-1 2 3}"
mkdir -p "$out"
out=$(cd "$out" && pwd) # go test runs in bench/: give it absolute paths
step() { [[ " $only " == *" $1 "* ]]; }

if step 1; then
echo "== 1. history events per step kind, and a long run"
time go test ./bench -run 'TestHistoryEventsPerKind|TestLongRunContinuesAsNew' -count=1 -v -timeout 20m \
  -args -history -long "$long" -table "$out/history.md" 2>&1 | tee "$out/history.txt"

echo "== 1b. a burst of $burst events while the worker is down"
time go test ./bench -run 'TestBurstWhileWorkerDown' -count=1 -v -timeout 20m -args -burst "$burst" 2>&1 |
  tee "$out/burst.txt" | grep -E '^(---|    long_test)'

echo "== 1c. a journey's history bytes on the shipped playbook set"
time go test ./bench -run 'TestJourneyHistoryBytes' -count=1 -v -timeout 10m -args -bytes -table "$out/bytes.md" 2>&1 |
  tee "$out/bytes.txt" | grep -E '^(---|    bytes_test)'
fi

if step 2; then
# One process per run, so that tend and handwritten alternate and each run
# starts on a fresh server: first with the SQLite file on disk, as `tend dev`
# keeps it (fsync on every commit), then on $dbdir (no fsync: CPU-bound).
: >"$out/throughput.txt"
: >"$out/throughput-shm.txt"
for i in $(seq "$count"); do
  echo "== 2. throughput, tend vs hand-written, $customers customers, SQLite on disk: run $i of $count"
  time go test ./bench -run '^$' -bench 'Throughput$' -benchtime 1x -count 1 -timeout 60m \
    -args -customers "$customers" 2>&1 | tee -a "$out/throughput.txt"
  if [ -n "$dbdir" ]; then
    echo "== 2. throughput, tend vs hand-written, $customers customers, SQLite in $dbdir: run $i of $count"
    time go test ./bench -run '^$' -bench 'Throughput$' -benchtime 1x -count 1 -timeout 60m \
      -args -customers "$customers" -dbdir "$dbdir" 2>&1 | tee -a "$out/throughput-shm.txt"
  fi
done
# The same comparison interleaved in one process (tend and hand-written take
# turns in batches of 200), which a shared machine's changing load disturbs
# far less than whole runs one after the other.
: >"$out/interleaved.txt"
: >"$out/interleaved-shm.txt"
for i in $(seq "$count"); do
  echo "== 2b. throughput interleaved, tend and hand-written in turns, SQLite on disk: run $i of $count"
  time go test ./bench -run '^$' -bench 'ThroughputInterleaved' -benchtime 1x -count 1 -timeout 60m \
    -args -rounds 4 -batch 200 2>&1 | tee -a "$out/interleaved.txt"
  if [ -n "$dbdir" ]; then
    echo "== 2b. throughput interleaved, SQLite in $dbdir: run $i of $count"
    time go test ./bench -run '^$' -bench 'ThroughputInterleaved' -benchtime 1x -count 1 -timeout 60m \
      -args -rounds 4 -batch 200 -dbdir "$dbdir" 2>&1 | tee -a "$out/interleaved-shm.txt"
  fi
done
for f in throughput throughput-shm interleaved interleaved-shm; do
  [ -s "$out/$f.txt" ] || continue
  go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260709024250-82a0b07e230d "$out/$f.txt" >"$out/$f-benchstat.txt" 2>&1 &&
    cat "$out/$f-benchstat.txt" || echo "(benchstat unavailable; raw figures in $out/$f.txt)"
done
fi

if step 3; then
echo "== 3. memory with $idle idle journeys"
time go test ./bench -run '^$' -bench 'IdleJourneys' -benchtime 1x -count 1 -timeout 40m \
  -args -idle "$idle" ${dbdir:+-dbdir "$dbdir"} 2>&1 | tee "$out/memory.txt"
fi
