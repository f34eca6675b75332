"""The walkthrough of docs/python.md: a DSPM-DE flux sweep, a membrane fitted to measurements
and kept as a file, a new feed predicted with 90 % intervals, the shipped trained model on the
same feed, and WaterTAP's unit by its own names. Prints the numbers the document quotes and,
when matplotlib is installed, writes docs/figures/python/walkthrough.png.

    python crates/iontransport-py/examples/walkthrough.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

import iontransport as it

REPO = Path(__file__).resolve().parents[3]
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "figures" / "python"

# 1. The DSPM-DE: the NF270-like membrane, a brackish feed in mmol/L, fluxes up to 60 LMH.
feed = {"Na+": 20, "Cl-": 20, "Mg2+": 5, "SO4 2-": 5}
sweep = it.Dspmde().sweep(feed, flux_max="60 LMH", points=30)
print("DSPM-DE at 60 LMH:", dict(zip(sweep.ions, sweep.rejection[-1].round(4).tolist())))

# 2. Fit a membrane to measurements (the first 12 feeds of the shipped SYNTHETIC set; a lab
# file is read the same way), keep it, and look at how well it is determined.
data = it.Dataset.read_csv(REPO / "data" / "synthetic-measurements.csv")
columns = data.to_dict()
first = sorted(set(columns["sample"]), key=columns["sample"].index)[:12]
keep = np.isin(columns["sample"], first)
train = it.Dataset.from_dict(
    {k: (np.asarray(v)[keep].tolist() if isinstance(v, list) else v[keep]) for k, v in columns.items()},
    comments=data.comments,
)
membrane = it.fit(train, samples=200, seed=0)
for p in membrane.parameters:
    print(f"  {p.name:20s} {p.value:.4e} ± {p.standard_error:.1e} {p.unit}{'  (at bound)' if p.at_bound else ''}")
print(f"  RMSE of R {membrane.rmse:.4f} over {membrane.rejections} rejections")
with tempfile.TemporaryDirectory() as tmp:
    membrane.save(Path(tmp) / "membrane.json")
    membrane = it.MembraneFile.load(Path(tmp) / "membrane.json")

# 3. A new brine, with 90 % prediction intervals, and scored on feeds the fit has not seen.
brine = {"NaCl": 30, "MgSO4": 8, "KCl": 2}
bands = membrane.predict(brine, flux_max="60 LMH", points=30, interval=0.9)
print("fitted membrane at 60 LMH:",
      {i: f"{r:.3f} [{lo:.3f}, {hi:.3f}]" for i, r, lo, hi in
       zip(bands.ions, bands.rejection[-1], bands.lower[-1], bands.upper[-1])})
rest = it.Dataset.from_dict(
    {k: (np.asarray(v)[~keep].tolist() if isinstance(v, list) else v[~keep]) for k, v in columns.items()})
scores = membrane.score(rest)
overall = scores.by_ion[-1]
print(f"scored on {len(rest)} unseen feeds: RMSE {overall.rmse:.4f}, "
      f"{overall.covered}/{overall.points} inside their 90 % intervals")

# 4. The shipped trained model (attention neural ODE, trained on the same SYNTHETIC set).
model = it.Model.shipped()
learned = model.predict(brine, points=30)
print("trained model at its largest flux:", dict(zip(learned.ions, learned.rejection[-1].round(4).tolist())))

# 5. WaterTAP's NanofiltrationDSPMDE0D, by WaterTAP's names.
unit = it.NanofiltrationDSPMDE0D(
    ["Na_+", "Cl_-"], radius_pore=0.5e-9, membrane_thickness_effective=1.33e-6,
    membrane_charge_density=-27.0, dielectric_constant_pore=41.3)
sol = unit.solve({"Na_+": 0.05, "Cl_-": 0.05, "H2O": 50.0})
print("WaterTAP module:", {k: round(v, 4) for k, v in sol.rejection_intrinsic_phase_comp.items()},
      f"recovery {sol.recovery_vol_phase:.4f}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figure")
    sys.exit(0)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
lmh = 1 / it.LMH
for j, ion in enumerate(sweep.ions):
    axes[0].plot(sweep.fluxes * lmh, sweep.rejection[:, j], label=ion)
axes[0].set(xlabel="J_v [L/m²/h]", ylabel="observed rejection",
            title="DSPM-DE, NF270-like membrane\nNa⁺ 20, Cl⁻ 20, Mg²⁺ 5, SO₄²⁻ 5 mmol/L")
axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4)
for j, ion in enumerate(bands.ions):
    line, = axes[1].plot(bands.fluxes * lmh, bands.rejection[:, j], label=ion)
    axes[1].fill_between(bands.fluxes * lmh, bands.lower[:, j], bands.upper[:, j],
                         color=line.get_color(), alpha=0.2)
    if ion in learned.ions:
        k = learned.ions.index(ion)
        axes[1].plot(learned.fluxes * lmh, learned.rejection[:, k], ls="--", color=line.get_color())
axes[1].set(xlabel="J_v [L/m²/h]", ylabel="observed rejection",
            title="NaCl 30, MgSO4 8, KCl 2 mmol/L: fitted membrane with 90 %\n"
                  "intervals, shipped model dashed (SYNTHETIC data, seed 0)")
axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=5)
out_dir.mkdir(parents=True, exist_ok=True)
fig.savefig(out_dir / "walkthrough.png", dpi=110)
print("wrote", out_dir / "walkthrough.png")
