"""Bad input raises a typed exception that names the problem, never a panic or numbers."""

import numpy as np
import pytest

import iontransport as it

FEED = {"Na+": 20, "Cl-": 20}


def test_hierarchy():
    assert issubclass(it.InputError, it.IonTransportError)
    assert issubclass(it.InputError, ValueError)
    assert issubclass(it.ConvergenceError, RuntimeError)
    assert issubclass(it.FileError, OSError)


@pytest.mark.parametrize(
    "feed, match",
    [
        ({"Na+": float("nan"), "Cl-": 20}, "NaN"),
        ({"Na+": -5, "Cl-": 20}, "Na"),
        ({"Na+": 20, "Cl-": 10}, "not electroneutral"),
        ({"Xx+": 20, "Cl-": 20}, "unknown ion"),
        ({"Na+": 0, "Cl-": 0}, "zero"),
        (42, "feed"),
    ],
)
def test_bad_feeds(feed, match):
    with pytest.raises(it.InputError, match=match):
        it.Dspmde().sweep(feed, fluxes=[1e-5])


@pytest.mark.parametrize(
    "fluxes, match",
    [
        ([-1e-6], "flux"),
        ([float("nan")], "flux"),
        (np.ones((2, 2)) * 1e-5, "1-D"),
        ([], "empty"),
        ([2e-5, 1e-5], "flux"),
        (["a"], "fluxes"),
    ],
)
def test_bad_fluxes(fluxes, match):
    with pytest.raises(it.InputError, match=match):
        it.Dspmde().sweep(FEED, fluxes=fluxes)


def test_model_arrays_of_wrong_shape():
    m = it.Model.shipped()
    with pytest.raises(it.InputError, match="1-D"):
        m.predict(FEED, fluxes=np.zeros((3, 1)))
    with pytest.raises(it.InputError):
        m.predict({"Ba2+": 10, "Cl-": 20}, fluxes=[1e-5])


def test_ion_larger_than_the_pore():
    small = it.Membrane(pore_radius="0.2 nm")
    with pytest.raises(it.InputError, match="pore"):
        it.Dspmde(small).solve({"Mg2+": 10, "Cl-": 20}, 1e-5)


def test_bad_membranes_and_conditions():
    with pytest.raises(it.InputError):
        it.Membrane(pore_radius=-1e-9)
    with pytest.raises(it.InputError, match="unit"):
        it.Membrane(pore_radius="0.45 furlong")
    with pytest.raises(it.InputError, match="activity"):
        it.Conditions(activity="debye")
    with pytest.raises(it.InputError, match="not both"):
        it.Conditions(film_thickness=1e-5, mass_transfer=1e-5)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sample,Jv [m/s],feed:Na+ [mM]\ns,1e-5,abc\n")
    with pytest.raises(it.FileError):
        it.Dataset.read_csv(bad)
    with pytest.raises(it.FileError):
        it.Dataset.read_csv(tmp_path / "missing.csv")
    junk = tmp_path / "model.json"
    junk.write_bytes(bytes(range(256)))
    with pytest.raises(it.FileError):
        it.Model.load(junk)
    with pytest.raises(it.FileError):
        it.MembraneFile.load(junk)


def test_tampered_model_file(tmp_path, repo):
    text = (repo / "crates" / "iontransport-model" / "models" / "nf270-synthetic.json").read_text()
    assert '"flux_scale":0.00001' in text
    tampered = tmp_path / "m.json"
    tampered.write_text(text.replace('"flux_scale":0.00001', '"flux_scale":0.00002'))
    with pytest.raises(it.FileError, match="checksum"):
        it.Model.load(tampered)


def test_a_composition_names_an_ion_it_does_not_know():
    c = it.Composition({"Na+": 20, "Cl-": 20})
    assert c["sodium"] == pytest.approx(20.0)
    assert c["Mg2+"] == 0.0  # a known ion absent from the feed
    with pytest.raises(it.InputError, match="Xx"):
        c["Xx+"]  # a typo used to read as 0
