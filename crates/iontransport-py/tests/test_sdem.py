"""The SDEM from Python: closed forms, the fit of the FdL file, typed errors."""

import math

import numpy as np
import pytest

import iontransport as it

UM = 1e-6


def test_single_salt_follows_its_salt_permeance():
    sdem = it.Sdem({"Na+": 97.5 * UM, "Cl-": "3.9 um/s"})
    pred = sdem.sweep({"Na+": 10, "Cl-": 10}, [5 * UM, 20 * UM, 50 * UM])
    ps = 2 * 97.5 * 3.9 / (97.5 + 3.9) * UM
    expected = np.array([j / (j + ps) for j in pred.fluxes])
    assert np.allclose(pred.rejection[:, 0], expected, atol=1e-7)
    assert np.allclose(pred.rejection[:, 1], expected, atol=1e-7)
    assert sdem.permeances["Cl-"] == pytest.approx(3.9e-6)


def test_trace_ion_matches_the_closed_form():
    perms = {"Mg2+": 0.9 * UM, "SO4 2-": 0.13 * UM, "K+": 30 * UM, "NO3-": 20 * UM}
    sdem = it.Sdem(perms)
    feed = {"Mg2+": 10, "SO4 2-": 10, "K+": 1e-5, "NO3-": 1e-5}
    full = sdem.solve(feed, 20 * UM)
    closed = sdem.solve_trace_limit(feed, 20 * UM)
    k = full.ions.index("NO3-")
    assert 1 - full.rejection[k] == pytest.approx(1 - closed.rejection[k], rel=1e-4)


def test_fit_of_the_fdl_mgso4_feed_reproduces_table_1(repo):
    data = it.Dataset.read_csv(repo / "data" / "measurements" / "fdl2021-nf270.csv")
    columns = data.to_dict()
    keep = [i for i, s in enumerate(columns["sample"]) if s == "MgSO4+traces"]
    mgso4 = it.Dataset.from_dict(
        {k: [v[i] for i in keep] for k, v in columns.items()}, comments=[]
    )
    fit = it.fit_sdem(mgso4, form="trace")
    table_1 = {"Cl-": 15.7, "NO3-": 41.9, "SO4^2-": 0.13, "Mg^2+": 0.9}
    for ion, p in table_1.items():
        value, ln_se, what = fit.permeances[ion]
        assert abs(value / UM / p - 1) < 0.2, (ion, value)
        assert what == "determined"
    assert len(fit.residuals) == sum(
        1 for i in keep for k, v in columns.items()
        if k.startswith("intrinsic_rejection") and not math.isnan(float(v[i]))
    )


def test_bad_input_is_typed():
    sdem = it.Sdem({"Na+": 1e-5, "Cl-": 1e-6})
    with pytest.raises(it.InputError, match="no permeance for SO4"):
        sdem.solve({"Na+": 20, "SO4 2-": 10}, 1e-5)
    with pytest.raises(it.InputError, match="permeance"):
        it.Sdem({"Na+": -1.0, "Cl-": 1e-6})
    with pytest.raises(it.InputError):
        it.fit_sdem("does-not-exist.csv", form="sideways")
    with pytest.raises(it.FileError):
        it.fit_sdem("does-not-exist.csv")
