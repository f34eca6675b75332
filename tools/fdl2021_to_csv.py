#!/usr/bin/env python3
"""Convert the digitised Figures 1-4 of Fernandez de Labastida & Yaroshchuk, Membranes 11
(2021) 272 (doi:10.3390/membranes11040272, CC BY 4.0) to the project's CSV format
(docs/data-format.md), writing data/measurements/fdl2021-nf270.csv.

    tools/fdl2021_to_csv.py DIGITISED.csv [OUT.csv]

DIGITISED.csv is the reading published by the choupo project (repository choupo-admin/choupo,
tutorials/steady/membranes/membrane12_sdem_nf270_nacl_traces/constant/experimental/
fdl2021_figures.csv, read off the publisher's 2460 px figure panels by its
bin/curate/digitise_fdl2021.py). Its columns: figure, salt, series, axis, Jv_umps, dJv_umps,
f_exp, df, ... with f = 1/(1 - R) the reciprocal intrinsic transmission.

What the conversion does, and nothing else:
  * R = 1 - 1/f_exp for every measured symbol (the authors' fitted lines are not used);
  * the points of one figure (panel a: the dominant salt, panel b: the traces) are matched by
    flux: readings within 1.0 um/s are one experiment (the readings of one point scatter by
    <= 0.2 um/s across series), and the row's flux is their mean;
  * the dominant salt's one rejection is given to both of its ions (see the header note);
  * feeds are the paper's: dominant salt 10 mol/m3, trace salts NaNO3 and NH4Cl 0.2 mol/m3
    each, which balance exactly.
Not run by CI; the output is committed.
"""
import csv
import sys
from collections import defaultdict

IONS = ["Na+", "Mg^2+", "NH4+", "Cl-", "SO4^2-", "NO3-"]
SERIES_ION = {"Na": "Na+", "NH4": "NH4+", "Cl": "Cl-", "NO3": "NO3-"}
SALT_IONS = {"NaCl": ("Na+", "Cl-"), "MgCl2": ("Mg^2+", "Cl-"),
             "Na2SO4": ("Na+", "SO4^2-"), "MgSO4": ("Mg^2+", "SO4^2-")}
# mol/m3: 10 mol/m3 of the dominant salt + 0.2 mol/m3 each of NaNO3 and NH4Cl.
FEEDS = {
    "NaCl": {"Na+": 10.2, "Cl-": 10.2, "NH4+": 0.2, "NO3-": 0.2},
    "MgCl2": {"Mg^2+": 10.0, "Cl-": 20.2, "Na+": 0.2, "NH4+": 0.2, "NO3-": 0.2},
    "Na2SO4": {"Na+": 20.2, "SO4^2-": 10.0, "Cl-": 0.2, "NH4+": 0.2, "NO3-": 0.2},
    "MgSO4": {"Mg^2+": 10.0, "SO4^2-": 10.0, "Na+": 0.2, "Cl-": 0.2, "NH4+": 0.2, "NO3-": 0.2},
}
FIGURE = {"NaCl": 1, "MgCl2": 2, "Na2SO4": 3, "MgSO4": 4}

HEADER = """\
# Fernandez de Labastida & Yaroshchuk (2021): NF270, four dominant salts with trace ions, INTRINSIC rejections vs water flux.
# source: M. Fernandez de Labastida, A. Yaroshchuk, "Nanofiltration of Multi-Ion Solutions: Quantitative Control of Concentration Polarization and Interpretation by Solution-Diffusion-Electro-Migration Model", Membranes 11 (2021) 272, doi:10.3390/membranes11040272, Figures 1-4 (symbols = measurements).
# licence: the article and its figures are CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); these values are a reading of those figures, attributed here.
# reading: digitised by the choupo project (github.com/choupo-admin/choupo, fdl2021_figures.csv, commit 1305faf2a6c4f637c18efdac55a0c150b57e2891) from the publisher's 2460 px panels, axes calibrated from the axis lines and checked against the tick labels; reading error about +-0.07 um/s in Jv and +-0.3 % of the axis span in f = 1/(1-R) (up to +-0.34 um/s for 3 partly hidden markers). The authors publish no measurement uncertainty; none is given here.
# membrane: NF270 (DuPont FilmTec) flat sheet in a rotating-disk cell; concentration polarisation measured and corrected by the authors, so the rejections are intrinsic (relative to the membrane-wall concentration).
# conditions: 20 C; 2-14 bar; dominant salt 0.01 mol/L (NaCl, MgCl2, Na2SO4 or MgSO4) with trace salts NaNO3 and NH4Cl at 2e-4 mol/L each; fluxes from the figures' x axes (um/s).
# conversion (tools/fdl2021_to_csv.py): R = 1 - 1/f from each measured symbol; the series of one figure are matched by flux (readings within 1 um/s) and the row's flux is their mean; an ion whose marker is absent at a flux (hidden behind another) is left empty.
# caution: the paper gives ONE rejection for the dominant salt (panel a); it is entered for both of its ions. Where the salt's permeate is comparable to the traces' (Na2SO4, MgSO4 above R = 0.98) the two ions' true rejections differ by up to a few hundredths, which no electroneutral model can match; compare the dominant ions with that in mind.
"""


def main():
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "data/measurements/fdl2021-nf270.csv"
    rows = [r for r in csv.reader(l for l in open(src) if not l.startswith("#"))]
    by_salt = defaultdict(list)  # salt -> [(Jv, {ion: R})]
    for fig, salt, series, _axis, jv, _djv, f, *_ in rows:
        jv, f = float(jv), float(f)
        ions = SALT_IONS[series] if series in SALT_IONS else (SERIES_ION[series],)
        r = 1.0 - 1.0 / f
        pts = by_salt[salt]
        match = [p for p in pts if abs(p[0] - jv) <= 1.0]
        if match:
            p = match[0]
            p[1].append(jv)
        else:
            p = [jv, [jv], {}]
            pts.append(p)
        for ion in ions:
            assert ion not in p[2], (fig, series, jv)
            p[2][ion] = r
    with open(out, "w", newline="") as fh:
        fh.write(HEADER)
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sample", "source", "Jv [um/s]", "T [C]"]
                   + [f"feed:{i} [mol/m3]" for i in IONS]
                   + [f"intrinsic_rejection:{i} [-]" for i in IONS])
        for salt in ["NaCl", "MgCl2", "Na2SO4", "MgSO4"]:
            pts = sorted(by_salt[salt], key=lambda p: sum(p[1]) / len(p[1]))
            for p in pts:
                jv = sum(p[1]) / len(p[1])
                feed = FEEDS[salt]
                w.writerow([f"{salt}+traces", f"Fernandez de Labastida & Yaroshchuk 2021, Fig. {FIGURE[salt]}",
                            f"{jv:.3f}", "20"]
                           + [f"{feed[i]:g}" if i in feed else "" for i in IONS]
                           + [f"{p[2][i]:.4f}" if i in p[2] else "" for i in IONS])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
