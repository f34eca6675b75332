"""Call overhead of the Python package against the Rust benches, in one run (not in CI).

    pip install ./crates/iontransport-py        # a release wheel: time nothing else
    python tools/python_bench.py [--rust]        # --rust: also run the Rust benches now

Times, the median of several repeats, per call: one DSPM-DE operating point of the eight-ion
brackish feed of np-transport's bench (crates/np-transport/tests/support/feeds.rs) at
J_v = 1e-5 m/s, the 50-point sweep of the same bench, the same point with the feed given as
a dict (parsed on every call), a trained-model prediction (the shipped model, 10 fluxes, the brackish feed and the 32 of
iontransport-model's `model` bench) of one feed and of 32 one at a time, and the 32 through the batched path. With --rust it runs `cargo bench -p np-transport
--bench dspmde` and `cargo bench -p iontransport-model --bench model` for those cases first and prints the Python/Rust ratio (target:
<= 1.10 on a point). Where WaterTAP is installed (`pip install watertap==1.8.0`), it is timed on its reference cases
(tools/watertap_reference.py) beside the package on the same cases.
"""

import json
import subprocess
import sys
import time
import timeit
from pathlib import Path

import iontransport as it

REPO = Path(__file__).resolve().parents[1]
POINT = "8 ions, one operating point (J_v = 1e-5 m_s)"
MODEL_1 = "inference, trained weights_ 1 feed, 10 fluxes"
MODEL_32 = "inference, trained weights_ 32 feeds, 10 fluxes"
SWEEP = "8 ions, 50-point flux sweep to 2e-5 m_s"
FEED = {"Na+": 50, "K+": 2, "Li+": 1, "Mg2+": 10, "Ca2+": 5, "Cl-": 70, "SO4 2-": 6, "NO3-": 1}


def best(f, number):
    """Seconds per call: the median of 9 repeats of `number` calls (criterion reports its
    median too)."""
    times = sorted(timeit.repeat(f, number=number, repeat=9))
    return times[len(times) // 2] / number


def rust_estimates():
    subprocess.run(
        ["cargo", "bench", "-p", "np-transport", "--bench", "dspmde", "--",
         "--noplot", "8 ions, (one operating point|50-point)"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["cargo", "bench", "-p", "iontransport-model", "--bench", "model", "--",
         "--noplot", "inference, trained weights"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    out = {}
    for name in (POINT, SWEEP, MODEL_1, MODEL_32):
        est = REPO / "target" / "criterion" / name / "new" / "estimates.json"
        out[name] = json.loads(est.read_text())["median"]["point_estimate"] * 1e-9
    return out


def main():
    rust = rust_estimates() if "--rust" in sys.argv else {}
    feed = it.Composition(FEED, balance=False).balanced_with("Cl-")
    d = it.Dspmde()
    fluxes = [k * 4e-7 for k in range(1, 51)]
    rows = [
        ("DSPM-DE point (Composition)", best(lambda: d.solve(feed, 1e-5), 200), rust.get(POINT)),
        ("DSPM-DE 50-point sweep", best(lambda: d.sweep(feed, fluxes), 10), rust.get(SWEEP)),
        ("DSPM-DE point (dict feed, parsed)",
         best(lambda: d.solve(feed.to_dict(), 1e-5), 200), rust.get(POINT)),
    ]
    # The model bench's feeds: the brackish feed, diluted and concentrated x 0.25 .. x 4.
    v = feed.to_dict()
    feeds = [it.Composition({k: c * 0.25 * 16 ** (i / 31) for k, c in v.items()}, balance=False)
             for i in range(32)]
    m = it.Model.shipped()
    grid = [1.7e-5 * k / 10 for k in range(1, 11)]
    rows.append(("model, 1 feed x 10 fluxes", best(lambda: m.predict(feed, grid), 50),
                 rust.get(MODEL_1)))
    rows.append(("model, 32 feeds x 10, one at a time",
                 best(lambda: [m.predict(f, grid) for f in feeds], 3), rust.get(MODEL_32)))
    rows.append(("model, 32 feeds x 10, predict_many",
                 best(lambda: m.predict_many(feeds, grid), 3), None))
    print(f"{'case':36s} {'Python':>12s} {'Rust bench':>12s} {'ratio':>7s}")
    for name, py, rs in rows:
        r = f"{py / rs:7.3f}" if rs else "       "
        rs_text = f"{rs * 1e6:10.1f}us" if rs else " " * 12
        print(f"{name:36s} {py * 1e6:10.1f}us {rs_text} {r}")
    try:
        import watertap  # noqa: F401
    except ImportError:
        print("WaterTAP is not installed: no comparison with it (pip install watertap==1.8.0)")
        return
    # WaterTAP itself on its reference cases (tools/watertap_reference.py: its unit solved by
    # Newton, as the reference values were made) against the package on the same cases
    # (the unit built as the Python tests build it).
    sys.path.insert(0, str(REPO / "tools"))
    sys.path.insert(0, str(REPO / "crates" / "iontransport-py" / "tests"))
    import watertap_reference as wt
    from test_watertap import module

    print(f"{'WaterTAP case':36s} {'WaterTAP':>12s} {'Python':>12s} {'speed-up':>9s}")
    for case in wt.cases():
        start = time.perf_counter()
        try:
            wt.solve_case(case)
        except SystemExit as e:
            print(f"{case['name']:36s} WaterTAP did not solve: {e}")
            continue
        theirs = time.perf_counter() - start
        unit, flows, _ = module(case)
        ours = best(lambda: unit.solve(flows), 3)
        print(f"{case['name']:36s} {theirs:10.3f} s {ours * 1e3:9.2f} ms {theirs / ours:8.0f}x")

if __name__ == "__main__":
    main()
