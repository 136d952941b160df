#!/usr/bin/env bash
# Intake benchmark: generates N ThreatFox-export records (default 1,000,000) with
# `iochunt-gen`, then times `iochunt iocs` over them and reports peak memory.
# usage: scripts/bench-intake.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
mkdir -p bench-data
cargo build --release --quiet --bins
feed=bench-data/threatfox-$n.json
[ -f "$feed" ] || target/release/iochunt-gen threatfox "$n" > "$feed"
ls -l "$feed"
/usr/bin/time -v target/release/iochunt iocs "$feed" --format jsonl 2> bench-data/time.txt > /dev/null
grep -E "Elapsed|Maximum resident" bench-data/time.txt
tail -n +1 bench-data/time.txt | grep "iochunt:" || true
