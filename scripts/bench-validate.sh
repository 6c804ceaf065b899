#!/usr/bin/env bash
# Times `tend validate` end to end on 1,000 playbook files (copies of the
# shipped enterprise-onboarding playbook under new names).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp playbooks/schema.yaml "$dir/"
cp -r playbooks/templates "$dir/"
for i in $(seq -w 1 1000); do
  sed "s/^playbook: enterprise-onboarding/playbook: enterprise-onboarding-$i/" playbooks/enterprise-onboarding.yaml > "$dir/p$i.yaml"
done
go build -o "$dir/tend" ./cmd/tend
for run in 1 2 3 4 5; do
  /usr/bin/time -f "run $run: %e s wall, %M KB max RSS" "$dir/tend" validate "$dir" >/dev/null
done
