"""Differential fuzz of iochunt's KQL parser against Kusto's own (tools/kusto-oracle).

Mutates the corpus queries (../shared/data) with small random edits, asks both parsers
whether each result is valid syntax, and reports where they disagree, with examples.
usage: python3 scripts/difffuzz.py [N] [SEED]   (needs target/release/iochunt and npm install
in tools/kusto-oracle)
"""
import json
import random
import subprocess
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
queries = []
for path, ok in (("../shared/data/kql-parse/sentinel-queries.jsonl", "valid"),
                 ("../shared/data/kql-conformance/cases.jsonl", "error")):
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        if (d[ok] if ok == "valid" else not d[ok]) and len(d["kql"]) < 3000:
            queries.append(d["kql"])

PIECES = ["|", "(", ")", ",", ";", "==", "and", "or", " by ", "'", '"', "[", "]", "=", ".", "!", "~",
          "where", "project", "let ", "in", "has", "*", "-", "dynamic(", "datetime(", "1d", "0x1"]


def mutate(q):
    for _ in range(rng.randint(1, 3)):
        if not q:
            break
        i = rng.randrange(len(q))
        k = rng.random()
        if k < 0.35:
            q = q[:i] + q[i + rng.randint(1, 8):]
        elif k < 0.7:
            q = q[:i] + rng.choice(PIECES) + q[i:]
        elif k < 0.85:
            j = min(len(q), i + rng.randint(1, 20))
            q = q[:j] + q[i:j] + q[j:]
        else:
            j = rng.randrange(len(q))
            a, b = sorted((i, j))
            q = q[:a] + q[b:b + 1] + q[a + 1:b] + q[a:a + 1] + q[b + 1:]
    return q


cases = [mutate(rng.choice(queries)) for _ in range(n)]
ours = []
for q in cases:
    p = subprocess.run(["target/release/iochunt", "-q", "fmt", "-"], input=q, capture_output=True, text=True)
    ours.append(p.returncode == 0)
p = subprocess.run(["node", "tools/kusto-oracle/check.js"], input="".join(json.dumps(q) + "\n" for q in cases),
                   capture_output=True, text=True, check=True)
theirs = [json.loads(l)["ok"] for l in p.stdout.splitlines()]
only_us = [q for q, a, b in zip(cases, ours, theirs) if a and not b]
only_them = [q for q, a, b in zip(cases, ours, theirs) if b and not a]
agree = sum(1 for a, b in zip(ours, theirs) if a == b)
print(f"{n} mutated queries: agree on {agree} ({100 * agree / n:.1f}%); "
      f"iochunt accepts what Kusto rejects: {len(only_us)}; Kusto accepts what iochunt rejects: {len(only_them)}")
for title, xs in (("accepted only by iochunt", only_us), ("accepted only by Kusto", only_them)):
    for q in xs[:3]:
        print(f"--- {title}:\n{q[:400]}")
