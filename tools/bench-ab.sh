#!/usr/bin/env bash
# Same-run before/after comparison of criterion benches: builds the bench binaries of BASE (a
# git revision, in a temporary worktree sharing this checkout's target directory) and of the
# working tree, then runs them alternately, ROUNDS times, on one core, and prints each
# benchmark's median per round. The figures of docs/performance.md's before/after tables come
# from this script.
#
#   tools/bench-ab.sh BASE [ROUNDS]
#
# Which benches and filters: the BENCHES list below (crate, bench target, criterion filter).
# Needs `taskset` (util-linux). Takes 10-15 minutes with the defaults.
set -euo pipefail

base=${1:?usage: tools/bench-ab.sh BASE [ROUNDS]}
rounds=${2:-2}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# crate | bench target | criterion filter (a regular expression)
BENCHES=(
  "neural-ode|neural_ode|mlp|forward solve|gradient: dense forward|lock step"
  "iontransport-model|model|neural ODE inference, 8 ions|training: one trajectory gradient|trained weights: 1 feed"
  "iontransport-model|paper|inference: 1 feed|solve only, lock-step|one trajectory at a time|epoch, lock-step"
)

build() { # source-dir out-dir
  local src=$1 out=$2 spec crate target
  mkdir -p "$out"
  for spec in "${BENCHES[@]}"; do
    IFS='|' read -r crate target _ <<<"$spec"
    (cd "$src" && CARGO_TARGET_DIR="$root/target" cargo bench -p "$crate" --bench "$target" \
      --no-run --message-format=json 2>/dev/null) |
      python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("executable") and m.get("target",{}).get("name")==sys.argv[1]: print(m["executable"])' "$target" |
      tail -1 | xargs -I{} cp {} "$out/$target"
  done
}

git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
build "$work/base" "$work/before"
build "$root" "$work/after"

log=$work/log
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    for spec in "${BENCHES[@]}"; do
      IFS='|' read -r crate target filter <<<"$spec"
      (cd "$root/crates/$crate" && RAYON_NUM_THREADS=1 taskset -c 1 "$work/$side/$target" \
        --bench --warm-up-time 1 --measurement-time 4 --noplot "$filter" 2>&1) |
        sed "s/^/[$side] /" >>"$log"
    done
  done
done

python3 - "$log" <<'EOF'
import collections, re, sys
unit = {"ns": 1e-3, "µs": 1.0, "ms": 1e3, "s": 1e6}
runs = collections.defaultdict(lambda: collections.defaultdict(list))
name = None
for line in open(sys.argv[1]):
    m = re.match(r"\[(before|after)\] (.*)", line.rstrip("\n"))
    if not m:
        continue
    side, rest = m.groups()
    t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) ", rest)
    if t:
        runs[name][side].append(float(t.group(1)) * unit[t.group(2)])
    elif rest and not rest.startswith((" ", "Benchmarking", "Found", "Warning")):
        name = rest.strip()
print("| measurement (µs, median per round) | before | after | after / before (mean) |")
print("|---|---|---|---|")
for n, d in runs.items():
    b, a = d["before"], d["after"]
    if b and a:
        f = lambda xs: " / ".join(f"{x:.1f}" for x in xs)
        print(f"| {n} | {f(b)} | {f(a)} | {sum(a) / len(a) / (sum(b) / len(b)):.3f} |")
EOF
