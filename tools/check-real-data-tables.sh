#!/usr/bin/env bash
# Reruns the cross-validation that docs/real-data.md quotes ("Results": `validate` on the FdL
# 2021 NF270 file, seeds 0,1,2, both kinds of folds) and fails when a table of its report is not
# in docs/real-data.md exactly as committed, so the learned models' tables cannot go stale
# unnoticed. The physics tables of the same document are checked by np-transport's
# tests/docs_tables.rs (release tier).
#
#   tools/check-real-data-tables.sh            # about 45 minutes on 2 cores, release build
#
# It also reruns the leave-one-feed-out run with the multivalent-charge backbone
# (`--multivalent-backbone`, section "The hybrid and the neural ODE+ on the multivalent
# charge", about 14 minutes) and checks its error table.
#
# Prints each report table missing from the document (with the nearest committed one) and
# exits 1 if there is any.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --release -q -p iontransport-cli
./target/release/iontransport validate --data data/measurements/fdl2021-nf270.csv \
    --seeds 0,1,2 --out "$out/real-data" >/dev/null
./target/release/iontransport validate --data data/measurements/fdl2021-nf270.csv \
    --folds feed --seeds 0,1,2 --no-sdem --multivalent-backbone --out "$out/multivalent" >/dev/null
python3 - "$out/real-data/report.md" docs/real-data.md "$out/multivalent/report.md" <<'EOF'
import difflib, sys

def tables(path):
    """Every markdown table of a file: a run of lines starting with '|'."""
    out, cur = [], []
    for line in open(path, encoding="utf-8"):
        if line.startswith("|"):
            cur.append(line.rstrip("\n"))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out

report, doc = tables(sys.argv[1]), tables(sys.argv[2])
# Of the multivalent-backbone run, its error table (the one the document quotes).
report += [t for t in tables(sys.argv[3]) if t[0].startswith("| ion | points |")]
committed = ["\n".join(t) for t in doc]
stale = 0
for t in report:
    text = "\n".join(t)
    if text in committed:
        continue
    stale += 1
    # The committed table with the same header is the one that went stale.
    same_head = [c for c in doc if c[0] == t[0]]
    print(f"report table not in {sys.argv[2]} (header: {t[0][:80]}...)")
    if same_head:
        best = max(same_head, key=lambda c: difflib.SequenceMatcher(None, "\n".join(c), text).ratio())
        sys.stdout.writelines(difflib.unified_diff(
            [l + "\n" for l in best], [l + "\n" for l in t], "committed", "rerun"))
print(f"{len(report) - stale} of {len(report)} report tables are in {sys.argv[2]} as committed")
sys.exit(1 if stale else 0)
EOF
