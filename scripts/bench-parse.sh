#!/usr/bin/env bash
# Parser throughput: joins the 594 valid Sentinel queries (../shared/data/kql-parse) into
# one file of about REPEAT x 0.6 MB and times `iochunt fmt` over it (parse + format + print,
# so an upper bound on parsing alone), and parsing alone (the kql crate's bench_parse example). usage: scripts/bench-parse.sh [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-30}
mkdir -p bench-data
cargo build --release --quiet
python3 - "$repeat" <<'PY'
import json, sys
qs = [json.loads(l)["kql"] for l in open("../shared/data/kql-parse/sentinel-queries.jsonl")]
qs = [q for q, l in zip(qs, open("../shared/data/kql-parse/sentinel-queries.jsonl")) if json.loads(l)["valid"]]
with open("bench-data/corpus.kql", "w") as f:
    for _ in range(int(sys.argv[1])):
        for q in qs:
            f.write(q.rstrip().rstrip(";") + "\n;\n")
PY
cargo build --release --quiet -p kql --example bench_parse
target/release/examples/bench_parse bench-data/corpus.kql 3
size=$(stat -c %s bench-data/corpus.kql)
start=$(date +%s.%N)
target/release/iochunt fmt bench-data/corpus.kql > /dev/null
end=$(date +%s.%N)
python3 -c "s=$size; t=$end-$start; print(f'{s/1e6:.1f} MB in {t:.2f} s: {s/1e6/t:.1f} MB/s')"
