"""Fitting from Python: data in, a membrane file out, predictions with intervals anywhere."""

import numpy as np
import pytest

import iontransport as it

TRUE = it.Membrane(pore_radius="0.5 nm", effective_thickness="2 um", charge=-25)
FEEDS = {
    "a": {"Na+": 10, "Cl-": 10},
    "b": {"Mg2+": 10, "Cl-": 20},
    "c": {"Na+": 20, "SO4 2-": 10},
    "d": {"Na+": 5, "Mg2+": 5, "Cl-": 5, "SO4 2-": 5},
}
FLUXES = np.array([5, 10, 20, 40]) * 1e-6


def synthetic_columns(model=TRUE):
    """Rejections the true membrane gives, as CSV-format columns."""
    d = it.Dspmde(model)
    cols = {"sample": [], "Jv [m/s]": []}
    ions = ["Na+", "Mg^2+", "Cl-", "SO4^2-"]
    for i in ions:
        cols[f"feed:{i} [mol/m3]"] = []
        cols[f"rejection:{i} [-]"] = []
    for name, feed in FEEDS.items():
        s = d.sweep(feed, fluxes=FLUXES)
        c = it.Composition(feed)
        for k, jv in enumerate(s.fluxes):
            cols["sample"].append(name)
            cols["Jv [m/s]"].append(jv)
            for i in ions:
                present = i in s.ions
                cols[f"feed:{i} [mol/m3]"].append(c[i] if present else np.nan)
                cols[f"rejection:{i} [-]"].append(
                    s.rejection[k, s.ions.index(i)] if present else None)
    return cols


def test_fit_recovers_the_membrane_and_round_trips(tmp_path):
    data = it.Dataset.from_dict(synthetic_columns(), comments=["simulated by the test"])
    assert data.basis == "observed" and len(data) == 4
    f = it.fit(data, samples=20, seed=1)
    m = f.membrane
    assert m.pore_radius == pytest.approx(0.5e-9, rel=1e-4)
    assert m.effective_thickness == pytest.approx(2e-6, rel=1e-3)
    assert m.charge == pytest.approx(-25.0, rel=1e-3)
    assert f.rmse < 1e-6
    names = [p.name for p in f.parameters]
    assert names == ["pore_radius", "effective_thickness", "charge"]
    assert f.correlation.shape == (3, 3)
    np.testing.assert_allclose(np.diag(f.correlation), 1.0)
    assert f.has_intervals
    # The file round trip: the same membrane, the same predictions.
    path = tmp_path / "membrane.json"
    f.save(path)
    g = it.MembraneFile.load(path)
    new_feed = {"NaCl": 15, "MgSO4": 3}
    a = f.predict(new_feed, points=3)
    b = g.predict(new_feed, points=3)
    np.testing.assert_array_equal(a.rejection, b.rejection)
    truth = it.Dspmde(TRUE).sweep(new_feed, points=3)
    np.testing.assert_allclose(a.rejection, truth.rejection, atol=1e-4)
    # Intervals bracket the prediction.
    p = g.predict(new_feed, points=3, interval=0.9)
    assert p.level == 0.9
    assert np.all(p.lower <= p.rejection + 1e-12) and np.all(p.rejection <= p.upper + 1e-12)
    # Scored on its own data: errors near zero, everything inside.
    s = g.score(data)
    assert s.by_ion[-1].rmse < 1e-5


def test_fit_from_a_path_equals_the_command_line(cli, tmp_path):
    data = it.Dataset.from_dict(synthetic_columns())
    csv = tmp_path / "lab.csv"
    data.write_csv(csv)
    out = tmp_path / "cli.json"
    cli("fit", "--data", str(csv), "--out", str(out), "--samples", "20")
    theirs = it.MembraneFile.load(out)
    ours = it.fit(csv, samples=20)
    for a, b in zip(ours.parameters, theirs.parameters):
        assert a.name == b.name
        assert a.value == b.value
    assert ours.data == theirs.data


def test_dataset_dict_round_trip(repo):
    d = it.Dataset.read_csv(repo / "data" / "measurements" / "fdl2021-nf270.csv")
    assert d.basis == "intrinsic"
    cols = d.to_dict()
    assert "intrinsic_rejection:NO3- [-]" in cols
    back = it.Dataset.from_dict(cols, comments=d.comments)
    assert back.to_csv() == d.to_csv()
    assert it.Dataset.from_csv(d.to_csv()).to_csv() == d.to_csv()
    # Percentages and other units in the headers.
    pct = it.Dataset.from_dict({
        "sample": ["s", "s"], "Jv [LMH]": [18, 36],
        "feed:NaCl [mM]": [20, 20], "rejection:Na+ [%]": [40, 60],
    })
    cols = pct.to_dict()
    np.testing.assert_allclose(cols["Jv [m/s]"], [5e-6, 1e-5])
    np.testing.assert_allclose(cols["permeate:Na+ [mol/m3]"], [12, 8])
    assert np.isnan(cols["permeate:Cl- [mol/m3]"]).all()


def test_dict_columns_of_unequal_length_are_refused():
    with pytest.raises(it.InputError, match="values"):
        it.Dataset.from_dict({"sample": ["a", "a"], "Jv [m/s]": [1e-5]})


def test_ion_specific_partitioning_is_built_fitted_and_saved(tmp_path):
    # The hydration Born radius with a chloride energy of +0.6 kT: the fit finds it again.
    truth = it.Membrane(pore_radius="0.5 nm", effective_thickness="2 um", charge=-25,
                        born_radius="hydration", partition_energies={"chloride": 0.6})
    assert truth.born_radius == "hydration"
    assert truth.partition_energies == {"Cl-": 0.6}
    data = it.Dataset.from_dict(synthetic_columns(truth))
    f = it.fit(data, born_radius="hydration", partition_energies=["Cl-"], samples=0)
    assert f.membrane.born_radius == "hydration"
    assert f.membrane.partition_energies["Cl-"] == pytest.approx(0.6, abs=2e-3)
    energy = [p for p in f.parameters if p.name == "partition_energy:Cl-"]
    assert len(energy) == 1 and energy[0].unit == "kT"
    path = tmp_path / "m.json"
    f.save(path)
    assert it.MembraneFile.load(path).membrane.partition_energies == f.membrane.partition_energies
    with pytest.raises(it.InputError, match="born_radius"):
        it.fit(data, born_radius="crystal")
    with pytest.raises(it.IonTransportError, match="relative"):
        it.fit(data, partition_energies=["Na+", "Mg2+", "Cl-", "SO4 2-"], samples=0)


def test_descriptor_energies_are_fitted_with_the_implicit_jacobian_and_saved(tmp_path):
    truth = it.Membrane(pore_radius="0.5 nm", effective_thickness="2 um", charge=-25,
                        partition_energies={"chloride": 0.6})
    data = it.Dataset.from_dict(synthetic_columns(truth))
    f = it.fit(data, energy_descriptors=["hydration"], jacobian="implicit", samples=0)
    weights = f.membrane.descriptor_weights
    assert list(weights) == ["hydration"] and -8 < weights["hydration"] < 8
    weight = [p for p in f.parameters if p.name == "energy_weight:hydration"]
    assert len(weight) == 1 and weight[0].unit == "kT"
    assert weight[0].value == pytest.approx(weights["hydration"])
    path = tmp_path / "m.json"
    f.save(path)
    assert it.MembraneFile.load(path).membrane.descriptor_weights == weights
    assert it.Membrane(pore_radius="0.5 nm").descriptor_weights == {}
    with pytest.raises(it.InputError, match="energy descriptor"):
        it.fit(data, energy_descriptors=["size"])
    with pytest.raises(it.InputError, match="jacobian"):
        it.fit(data, jacobian="exact")


def test_fit_takes_the_isotherm_form():
    # A Langmuir truth, X_d = X_max I / (k + I) with X_d(100) = -40 and k = 20 mol/m3.
    truth = it.Membrane(pore_radius="0.5 nm", effective_thickness="2 um", charge=-40,
                        charge_half_saturation=20.0)
    assert truth.charge_half_saturation == 20.0 and truth.charge_exponent is None
    assert truth.charge_density(20.0) == pytest.approx(-40 * 120 / 100 / 2)
    data = it.Dataset.from_dict(synthetic_columns(truth))
    f = it.fit(data, isotherm="langmuir", samples=0)
    assert f.membrane.charge_half_saturation is not None
    assert "charge_half_saturation" in [p.name for p in f.parameters]
    for i in (10.0, 30.0):
        assert f.membrane.charge_density(i) == pytest.approx(truth.charge_density(i), rel=1e-3)
    assert it.fit(data, isotherm=True, samples=0).membrane.charge_exponent is not None
    with pytest.raises(it.InputError, match="langmuir"):
        it.fit(data, isotherm="linear")
    with pytest.raises(it.InputError, match="not both"):
        it.Membrane(charge_exponent=0.3, charge_half_saturation=10.0)


def test_a_charge_set_by_multivalent_ions_is_fitted(repo):
    data = it.Dataset.read_csv(repo / "data" / "measurements" / "fdl2021-nf270.csv")
    f = it.fit(data, multivalent_charge=True, jacobian="implicit", max_evaluations=60, samples=0)
    shifts = f.membrane.charge_multivalent
    assert shifts is not None and len(shifts) == 2
    names = [p.name for p in f.parameters]
    assert "charge_cations" in names and "charge_anions" in names
    assert it.fit(data, samples=0, max_evaluations=60).membrane.charge_multivalent is None
    with pytest.raises(it.IonTransportError, match="choose one"):
        it.fit(data, multivalent_charge=True, isotherm=True, samples=0)
