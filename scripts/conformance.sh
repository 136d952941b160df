#!/usr/bin/env bash
# Scores the engine on the Kusto conformance cases (../shared/data/kql-conformance) with
# ../shared/tools/kqlconf.py, and fails when fewer than MIN cases pass.
# usage: scripts/conformance.sh [MIN]   (default: the floor recorded below)
set -euo pipefail
cd "$(dirname "$0")/.."
min=${1:-1094}
cargo build --release --quiet
out=$(python3 ../shared/tools/kqlconf.py ../shared/data/kql-conformance/cases.jsonl --show 0 \
  -- target/release/iochunt query --format json)
echo "$out"
passed=$(echo "$out" | sed -n 's/^conformance: \([0-9]*\) passed.*/\1/p')
if [ "${passed:-0}" -lt "$min" ]; then
  echo "conformance fell to $passed (floor $min)" >&2
  exit 1
fi
