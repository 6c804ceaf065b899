#!/usr/bin/env bash
# Times events going into `tend dev` end to end, with its state directory on
# disk as a user has it: `tend event send -f` of EVENTS events over
# CUSTOMERS customers (first to new customers, then the same file again:
# every event a duplicate), and `tend import` of the 7,043 telco customers
# (new journeys, then the unchanged file again). Prints events/s and rows/s.
#
#   scripts/bench-ingest.sh            # EVENTS=3000 CUSTOMERS=300
set -euo pipefail
cd "$(dirname "$0")/.."
events=${EVENTS:-3000}
customers=${CUSTOMERS:-300}
dir=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" tend-bench-XXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
go build -o "$dir/tend" ./cmd/tend
port=$((20000 + RANDOM % 20000))

rate() { # label count start end
  awk -v l="$1" -v n="$2" -v a="$3" -v b="$4" 'BEGIN { s = b - a; printf "%s: %d in %.1f s = %.0f/s\n", l, n, s, n / s }'
}
timed() { # label count command...
  local label=$1 n=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  rate "$label" "$n" "$t0" "$t1"
}
start_dev() { # playbooks
  "$dir/tend" dev --dir "$dir/state-$port" --port "$port" --ui-port 0 --api-port 0 --playbooks "$1" --reload 0 \
    --log-level warn >"$dir/dev.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "tend dev is running" "$dir/dev.log" && return; sleep 0.1; done
  cat "$dir/dev.log" >&2; exit 1
}
stop_dev() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; port=$((port + 1)); }

# Events: customer.updated with a health score, spread over the customers.
awk -v n="$events" -v c="$customers" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"id\":\"bench-%d\",\"type\":\"customer.updated\",\"customer\":\"bench-%04d\",\"at\":\"2026-03-01T09:00:00Z\",\"attributes\":{\"health\":%d}}\n", i, i % c, i % 100
}' >"$dir/events.jsonl"

start_dev playbooks
timed "tend event send, $customers new customers" "$events" "$dir/tend" event send -f "$dir/events.jsonl" --address "127.0.0.1:$port" --playbooks playbooks
timed "tend event send, the same file again" "$events" "$dir/tend" event send -f "$dir/events.jsonl" --address "127.0.0.1:$port" --playbooks playbooks
stop_dev

start_dev examples/telco/playbooks
csv=examples/telco/telco-customer-churn.csv
rows=$(($(wc -l <"$csv") - 1))
timed "tend import, $rows new customers" "$rows" "$dir/tend" import "$csv" --id-column customerID --address "127.0.0.1:$port" --playbooks examples/telco/playbooks
timed "tend import, the unchanged file again" "$rows" "$dir/tend" import "$csv" --id-column customerID --address "127.0.0.1:$port" --playbooks examples/telco/playbooks
stop_dev
