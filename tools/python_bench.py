"""Call overhead of the Python package against the Rust benches, in one run (not in CI).

    pip install ./crates/iontransport-py        # a release wheel: time nothing else
    python tools/python_bench.py [--rust]        # --rust: also run the Rust benches now

Times, best of several repeats, per call: one DSPM-DE operating point of the eight-ion
brackish feed of np-transport's bench (crates/np-transport/tests/support/feeds.rs) at
J_v = 1e-5 m/s, the 50-point sweep of the same bench, the same point with the feed given as
a dict (parsed on every call), a trained-model prediction (the shipped model, 10 fluxes)
and 32 feeds through the batched path. With --rust it runs `cargo bench -p np-transport
--bench dspmde` for the two DSPM-DE cases first and prints the Python/Rust ratio (target:
<= 1.10 on a point). WaterTAP itself is timed on its own case when it is installed.
"""

import json
import subprocess
import sys
import timeit
from pathlib import Path

import iontransport as it

REPO = Path(__file__).resolve().parents[1]
POINT = "8 ions, one operating point (J_v = 1e-5 m_s)"
SWEEP = "8 ions, 50-point flux sweep to 2e-5 m_s"
FEED = {"Na+": 50, "K+": 2, "Li+": 1, "Mg2+": 10, "Ca2+": 5, "Cl-": 70, "SO4 2-": 6, "NO3-": 1}


def best(f, number):
    """Seconds per call: the best of 7 repeats of `number` calls."""
    return min(timeit.repeat(f, number=number, repeat=7)) / number


def rust_estimates():
    subprocess.run(
        ["cargo", "bench", "-p", "np-transport", "--bench", "dspmde", "--",
         "--noplot", "8 ions, (one operating point|50-point)"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    out = {}
    for name in (POINT, SWEEP):
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
    m = it.Model.shipped()
    fl = [k * 1.7e-6 for k in range(1, 11)]
    rows.append(("model, 1 feed x 10 fluxes", best(lambda: m.predict(feed, fl), 20), None))
    feeds = [feed] * 32
    rows.append(("model, 32 feeds (predict_many)", best(lambda: m.predict_many(feeds, fl), 3), None))
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
    unit = it.NanofiltrationDSPMDE0D(
        ["Na_+", "Cl_-"], radius_pore=0.5e-9, membrane_thickness_effective=1.33e-6,
        membrane_charge_density=-27.0, dielectric_constant_pore=41.3)
    t = best(lambda: unit.solve({"Na_+": 0.05, "Cl_-": 0.05, "H2O": 50.0}), 20)
    print(f"{'WaterTAP-named 0D module, NaCl':36s} {t * 1e6:10.1f}us "
          "(tools/watertap_reference.py solves WaterTAP's own)")


if __name__ == "__main__":
    main()
