"""The DSPM-DE from Python: the command line's numbers, a point as a batch of one, units,
pressure mode, temperature and polarisation."""

import numpy as np
import pytest

import iontransport as it
from conftest import parse_csv_table

FEED = {"Na+": 20, "Cl-": 20, "Mg2+": 5, "SO4 2-": 5}


def test_sweep_equals_the_command_line(cli):
    text = cli("dspmde", "--feed", "Na+=20 mM, Cl-=20 mM, Mg2+=5 mM, SO4 2-=5 mM",
               "--flux-max", "60 LMH", "--points", "3", "--csv")
    header, rows = parse_csv_table(text)
    sweep = it.Dspmde().sweep(FEED, flux_max="60 LMH", points=3)
    assert header[2:] == [f"rejection:{i} [-]" for i in sweep.ions]
    ours = np.column_stack([sweep.fluxes, sweep.rejection])
    theirs = np.array(rows)[:, [0, 2, 3, 4, 5]]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    # And the table as printed (4 decimals).
    table = cli("dspmde", "--feed", "Na+=20 mM, Cl-=20 mM, Mg2+=5 mM, SO4 2-=5 mM",
                "--flux-max", "60 LMH", "--points", "3").strip().splitlines()
    for line, r in zip(table[1:], sweep.rejection):
        assert line.split()[2:] == [f"{x:.4f}" for x in r]


def test_a_point_is_a_sweep_of_one():
    d = it.Dspmde()
    sweep = d.sweep(FEED, fluxes=[1e-5])
    point = d.solve(FEED, 1e-5)
    np.testing.assert_allclose(sweep.rejection[0], point.rejection, rtol=1e-10)
    # Electroneutral permeate and the rejection's definition.
    z = np.array([1, -1, 2, -2])
    assert abs(z @ point.permeate) < 1e-8 * np.abs(z) @ point.permeate
    np.testing.assert_allclose(point.rejection, 1 - point.permeate / point.feed, rtol=1e-12)
    assert point.ions == ["Na+", "Cl-", "Mg^2+", "SO4^2-"]


def test_units_at_the_edge():
    d = it.Dspmde()
    a = d.sweep(FEED, fluxes=np.array([20 * it.LMH]))
    b = d.sweep(FEED, fluxes="20 LMH")
    c = d.sweep({"Na+": "20 mM", "Cl-": "0.02 M", "Mg2+": 5, "SO4 2-": 5}, fluxes=[20 / 3.6e6])
    np.testing.assert_allclose(a.rejection, b.rejection, rtol=1e-12)
    np.testing.assert_allclose(a.rejection, c.rejection, rtol=1e-12)
    # Salts split into their ions.
    s = d.sweep({"NaCl": 20, "MgSO4": 5}, fluxes=[20 * it.LMH])
    assert sorted(s.ions) == sorted(a.ions)


def test_pressure_mode_gives_the_flux_it_solves():
    d = it.Dspmde()
    p = d.solve_at_pressure(FEED, "10 bar")
    q = d.solve(FEED, p.flux)
    np.testing.assert_allclose(p.rejection, q.rejection, rtol=1e-8)
    assert 0 < p.flux < 1e-4
    assert d.solve_at_pressure(FEED, 1e6).flux == pytest.approx(p.flux, rel=1e-12)


def test_colder_water_passes_less():
    """D falls with T faster than the convection it competes with: rejections rise."""
    warm = it.Dspmde().sweep(FEED, fluxes=[1e-5])
    cold = it.Dspmde(conditions=it.Conditions(temperature="10 C")).sweep(FEED, fluxes=[1e-5])
    assert np.all(cold.rejection > warm.rejection)
    moved = it.Dspmde().at_temperature(283.15).sweep(FEED, fluxes=[1e-5])
    np.testing.assert_allclose(moved.rejection, cold.rejection, rtol=1e-12)


def test_a_film_raises_the_wall_concentration():
    film = it.Dspmde(conditions=it.Conditions(film_thickness="20 um"))
    s = film.sweep(FEED, fluxes=[1e-5, 2e-5])
    # Observed below intrinsic when the wall is more concentrated than the bulk.
    assert np.all(s.rejection <= s.intrinsic_rejection + 1e-12)
    assert np.any(s.rejection < s.intrinsic_rejection - 1e-3)
    k = it.Dspmde(conditions=it.Conditions(mass_transfer=1.61e-9 / 20e-6)).sweep(
        FEED, fluxes=[1e-5, 2e-5])
    np.testing.assert_allclose(k.rejection, s.rejection, rtol=1e-3)


def test_isotherm_membrane_charge():
    m = it.Membrane(charge=-40, charge_exponent=0.5)
    assert m.charge_density(100.0) == pytest.approx(-40.0)
    assert m.charge_density(400.0) == pytest.approx(-80.0)
    assert "nm" in repr(m)


def test_to_dict_names_columns_as_the_csv_format():
    s = it.Dspmde().sweep(FEED, points=2)
    d = s.to_dict()
    assert list(d)[0] == "Jv [m/s]"
    np.testing.assert_array_equal(d["rejection:Na+ [-]"], s.rejection[:, 0])
    np.testing.assert_array_equal(d["permeate:SO4^2- [mol/m3]"], s.permeate[:, 3])


def test_sensitivities_match_differences_of_sweeps():
    fluxes = [5e-6, 2e-5]
    s = it.Dspmde().sensitivities(FEED, ["pore_radius", "charge"], fluxes)
    assert s["parameters"] == ["pore_radius", "charge"]
    assert s["ions"] == ["Na+", "Cl-", "Mg^2+", "SO4^2-"]
    assert s["d_rejection"].shape == (2, 4, 2)
    np.testing.assert_allclose(s["rejection"], it.Dspmde().sweep(FEED, fluxes).rejection, rtol=1e-12)

    def swept(**kw):
        m = it.Membrane(**{"pore_radius": 0.45e-9, "effective_thickness": 1.3e-6,
                           "charge": -40.0, **kw})
        return it.Dspmde(m).sweep(FEED, fluxes).rejection

    for k, (name, value, h) in enumerate([("pore_radius", 0.45e-9, 1e-14), ("charge", -40.0, 1e-3)]):
        fd = (swept(**{name: value + h}) - swept(**{name: value - h})) / (2 * h)
        scale = np.abs(fd).max()
        np.testing.assert_allclose(s["d_rejection"][:, :, k], fd, rtol=0, atol=1e-4 * scale)
    with pytest.raises(it.IonTransportError, match="unknown parameter"):
        it.Dspmde().sensitivities(FEED, ["pore_size"], fluxes)
