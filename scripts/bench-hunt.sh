#!/usr/bin/env bash
# Hunt benchmark: iochunt against the tools a user would reach for, in one run, over about
# 1 GB of generated exports of the four reference tables (iochunt-gen logs):
#   - rg -F -i -f (ripgrep with the indicator values as literals, case-insensitive as has is)
#   - DuckDB running the same four hunts in SQL over the same files
# for the reference pack (7 indicators), the ThreatFox export (4,488 indicators) and, for
# iochunt alone, 1,000,000 generated indicators (over 1M events, about 240 MB). Prints times, ratios and peak memory.
# usage: scripts/bench-hunt.sh [EVENTS]   (default 4300000, about 1 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-4300000}
command -v rg >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep; }
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
cargo build --release --quiet --bins
mkdir -p bench-data
# The version in the name changes when the generator's output does (v2: Windows folder
# paths in DeviceNetworkEvents; v3: timestamps spread over the whole span), so that
# stale data is not measured.
data=bench-data/logs-v3-$events
[ -f "$data/expected.jsonl" ] || target/release/iochunt-gen logs "$data" "$events"
[ -f bench-data/threatfox-1000000.json ] || target/release/iochunt-gen threatfox 1000000 > bench-data/threatfox-1000000.json
# The 1,000,000-indicator pack runs over a smaller export (1M events, about 240 MB).
[ -f bench-data/logs-v3-1000000/expected.jsonl ] || target/release/iochunt-gen logs bench-data/logs-v3-1000000 1000000
du -sh "$data"
python3 scripts/bench_hunt.py "$data"
