#!/usr/bin/env python3
"""Reruns the benches docs/performance.md quotes as current and rewrites its "Current figures"
section from their results, so the figures there come from one command on one machine.

    python3 tools/perf-refresh.py [--jax] [--write-only] [--doc docs/performance.md]

- Each bench in BENCHES runs with criterion (release build), on one core (`taskset -c 1`,
  RAYON_NUM_THREADS=1), 1 s warm-up and 3 s of measurement per benchmark; the median of each
  is read from criterion's own record (target/criterion/**/new/{benchmark,estimates}.json,
  matched by the benchmark's full id), never parsed from its terminal output.
- `--jax` also runs tools/jax_compare.py (needs `pip install "jax[cpu]" diffrax`) and puts
  its table in the section.
- `--write-only` rewrites the section from the criterion records already in target/ (no
  bench run): for editing the layout, or after running the benches by hand.

The section sits between the markers `<!-- perf-refresh:begin -->` and
`<!-- perf-refresh:end -->`; everything else in the file (the dated history of how each
figure got where it is) is left alone. Takes ~15 minutes (~20 with --jax) on a 2-core machine.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- perf-refresh:begin -->", "<!-- perf-refresh:end -->"

# (crate, bench target, criterion filter, [(full id, what the row says)]). The filter is a
# regular expression over full ids; it must select at least the rows listed.
BENCHES = [
    ("neural-ode", "neural_ode", "mlp|forward solve, 50|discrete adjoint|lock step", [
        ("mlp eval (one f evaluation)", "neural-ode: `TanhMlp` (9 → 32⁴ → 8), one evaluation"),
        ("mlp vjp (one vector-Jacobian product)", "neural-ode: `TanhMlp`, one VJP"),
        ("forward solve, 50 outputs", "neural-ode: forward solve, 50 outputs"),
        ("gradient: dense forward + discrete adjoint", "neural-ode: gradient, discrete adjoint"),
        ("lock step, 32 problems, 50 outputs/forward, TanhMlp::rows",
         "neural-ode: lock step, 32 problems, forward (`TanhMlp::rows`)"),
        ("lock step, 32 problems, 50 outputs/gradient, TanhMlp::rows",
         "neural-ode: lock step, 32 problems, gradient (`TanhMlp::rows`)"),
    ]),
    ("np-transport", "dspmde", "^8 ions", [
        ("8 ions, one operating point (J_v = 1e-5 m/s)", "np-transport: DSPM-DE, 8 ions, one point"),
        ("8 ions, 50-point flux sweep to 2e-5 m/s", "np-transport: DSPM-DE, 8 ions, 50-point sweep"),
    ]),
    ("iontransport-model", "model", "neural ODE inference, 8 ions|training: one trajectory", [
        ("neural ODE inference, 8 ions, 50 fluxes", "model: neural ODE inference, 8 ions, 50 fluxes"),
        ("training: one trajectory gradient (12 fluxes)", "model: one trajectory's gradient, 12 fluxes"),
    ]),
    ("iontransport-model", "paper", "epoch, lock-step|inference: 1 feed|solve only", [
        (f"{c} configuration, one thread/{b}", f"paper bench, {c} weights: {w}")
        for c in ("paper", "easy")
        for b, w in (
            ("epoch, lock-step: 32 batches x 32 trajectories", "epoch (1024 trajectories), lock step"),
            ("inference: 1 feed, 10 fluxes", "inference of 1 feed, 10 fluxes"),
            ("inference: 32 feeds, solve only, lock-step", "inference of 32 feeds (solve), lock step"),
            ("inference: 32 feeds, solve only, one system (shared steps)",
             "inference of 32 feeds (solve), one system with shared steps"),
        )
    ]),
    ("iontransport-model", "hybrid", "hybrid", [
        ("hybrid/hybrid_predict_50_fluxes", "hybrid: one feed, 50 fluxes (backbone curve + ODE)"),
    ]),
]


def run_bench(crate, target, filt):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    build = ["cargo", "bench", "-q", "-p", crate, "--bench", target]
    measure = build + ["--", "--warm-up-time", "1", "--measurement-time", "3", "--noplot", filt]
    # Build first (both cores), then measure pinned to one; a failure shows cargo's output.
    for cmd, cwd in ((build + ["--no-run"], ROOT),
                     (["taskset", "-c", "1"] + measure, os.path.join(ROOT, "crates", crate))):
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")


def criterion_records():
    """full id -> median (ns), from every criterion record in the workspace's target/."""
    out = {}
    for bj in glob.glob(os.path.join(ROOT, "target", "criterion", "**", "new", "benchmark.json"),
                        recursive=True):
        est = os.path.join(os.path.dirname(bj), "estimates.json")
        if os.path.exists(est):
            full_id = json.load(open(bj))["full_id"]
            out[full_id] = (json.load(open(est))["median"]["point_estimate"],
                            os.path.getmtime(est))
    return out


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.0f} ns"


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def section(records, jax_table):
    today = datetime.date.today().isoformat()
    lines = [BEGIN, "## Current figures", "",
             f"Written by `python3 tools/perf-refresh.py{' --jax' if jax_table else ''}` on {today} "
             f"({cpu()}, {os.cpu_count()} cores; each bench on one core, median of criterion's "
             "samples, 3 s of measurement). The sections after this one are the dated history of "
             "how each figure got here, with the same-run comparisons that justified each change.",
             "", "| measurement | median |", "|---|---|"]
    missing = []
    for _, _, _, rows in BENCHES:
        for full_id, label in rows:
            if full_id in records:
                lines.append(f"| {label} | {fmt(records[full_id][0])} |")
            else:
                missing.append(full_id)
    if missing:
        sys.exit("no criterion record for: " + "; ".join(missing) + " (run without --write-only)")
    if jax_table:
        lines += ["", "Against JAX/diffrax (`tools/jax_compare.py`, both sides on one core; an epoch "
                  "the best of three, inference of 32 feeds the fastest of 5 blocks of 20 calls, in 3 alternating rounds per side):", ""] + jax_table
    lines.append(END)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jax", action="store_true", help="also run tools/jax_compare.py")
    ap.add_argument("--write-only", action="store_true", help="no bench run: records in target/")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "performance.md"))
    args = ap.parse_args()
    if not args.write_only:
        for crate, target, filt, _ in BENCHES:
            print(f"running {crate} {target} ({filt})", file=sys.stderr)
            run_bench(crate, target, filt)
    jax_table = None
    if args.jax:
        # The comparison's output is kept in target/, so --write-only --jax reuses it.
        saved = os.path.join(ROOT, "target", "jax_compare.out")
        if not args.write_only:
            print("running tools/jax_compare.py", file=sys.stderr)
            out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "jax_compare.py")],
                                 cwd=ROOT, check=True, capture_output=True, text=True).stdout
            with open(saved, "w") as f:
                f.write(out)
        out = open(saved).read()
        rows = [l for l in out.splitlines() if l.startswith("|")]
        notes = [f"- {l}" for l in out.splitlines() if l.strip() and not l.startswith("|")]
        jax_table = rows + ([""] + notes if notes else [])
    text = open(args.doc).read()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        sys.exit(f"{args.doc} must hold one {BEGIN} ... {END} section")
    a, b = text.index(BEGIN), text.index(END) + len(END)
    new = text[:a] + section(criterion_records(), jax_table) + text[b:]
    tmp = args.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, args.doc)  # atomic: a crash leaves the old file whole
    print(f"wrote {args.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
