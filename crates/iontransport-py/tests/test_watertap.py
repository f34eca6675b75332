"""The WaterTAP-compatible module through Python equals WaterTAP 1.8.0 on every stored value
of its reference cases (np-transport/tests/data/watertap_1_8_0.json), with the tolerance of
the Rust test (tests/watertap_1_8.rs): relative 1e-6 against max(|WaterTAP|, floor)."""

import json
import math

import pytest

import iontransport as it

TOL = 1e-6
# Floors of the Rust test: rejections near 0, potentials near 0, the film's field.
FLOOR = {"rejection": 1e-2, "potential": 1e-3, "gradient": 1.0}


def load(repo):
    path = repo / "crates" / "np-transport" / "tests" / "data" / "watertap_1_8_0.json"
    return json.loads(path.read_text())


def module(case):
    sp = case["species"]
    names = [s["name"] for s in sp]
    pol = case["polarisation"]
    kw = {}
    if pol is not None:
        kw = dict(
            mass_transfer_coefficient="spiral_wound",
            channel_height=pol["channel_height"],
            spacer_porosity=pol["spacer_porosity"],
            velocity=pol["inlet_velocity"],
            spacer_mixing_efficiency=pol["mixing_efficiency"],
            spacer_mixing_length=pol["mixing_length"],
        )
    mem = case["membrane"]
    unit = it.NanofiltrationDSPMDE0D(
        names,
        radius_pore=mem["pore_radius"],
        membrane_thickness_effective=mem["effective_thickness"],
        membrane_charge_density=mem["charge_density"],
        dielectric_constant_pore=mem["pore_dielectric"],
        area=case["area"],
        temperature=case["temperature"],
        pressure=case["feed_pressure"],
        permeate_pressure=case["permeate_pressure"],
        activity_coefficient_model=case["activity"],
        diffusivity_data={s["name"]: s["diffusivity"] for s in sp},
        mw_data={s["name"]: s["molar_mass"] for s in sp},
        stokes_radius_data={s["name"]: s["stokes_radius"] for s in sp},
        charge={s["name"]: s["charge"] for s in sp},
        **kw,
    )
    flows = dict(zip(names, case["inlet"]["flows"]))
    flows["H2O"] = case["inlet"]["water_flow"]
    return unit, flows, names


def worst(pairs):
    """Largest relative difference of (ours, theirs, floor) triples."""
    w = 0.0
    for ours, theirs, floor in pairs:
        d = abs(ours - theirs) / max(abs(theirs), floor)
        assert not math.isnan(d), (ours, theirs)
        w = max(w, d)
    return w


def test_every_watertap_1_8_case_to_1e_6(repo):
    ref = load(repo)
    assert ref["watertap_version"] == "1.8.0"
    assert len(ref["cases"]) >= 8
    for case in ref["cases"]:
        unit, flows, names = module(case)
        sol = unit.solve(flows)
        res = case["results"]
        pairs = []

        def vec(ours, theirs, floor=0.0):
            assert len(theirs) == len(names)
            pairs.extend((ours[n], t, floor) for n, t in zip(names, theirs))

        flux = sol.flux_mol_phase_comp_avg
        vec(flux, res["flux"])
        pairs.append((flux["H2O"], res["water_flux"], 0.0))
        vec(sol.permeate_conc_mol_phase_comp, res["permeate"])
        vec(sol.rejection_intrinsic_phase_comp, res["rejection_intrinsic"], FLOOR["rejection"])
        vec(sol.rejection_observed_phase_comp, res["rejection_observed"], FLOOR["rejection"])
        pairs.append((sol.recovery_vol_phase, res["recovery"], 0.0))
        ret = sol.retentate_flow_mol_phase_comp
        vec(ret, res["retentate_flows"])
        pairs.append((ret["H2O"], res["retentate_water_flow"], 0.0))
        for ours, theirs in zip([sol.inlet, sol.outlet], res["local"]):
            for loc in ["bulk", "interface", "pore_entrance", "pore_exit", "permeate"]:
                vec(ours["conc_mol_phase_comp"][loc], theirs[loc])
            for loc in ["interface", "pore_entrance", "pore_exit", "permeate"]:
                vec(ours["act_coeff_phase_comp"][loc], theirs["activity"][loc])
            pot = ours["electric_potential"]
            for loc, t in zip(["pore_entrance", "pore_exit", "permeate"], theirs["potentials"]):
                pairs.append((pot[loc], t, FLOOR["potential"]))
            pairs.append((ours["flux_vol_water"], theirs["water_flux"], 0.0))
            vec(ours["flux_mol_phase_comp"], theirs["flux"])
            pairs.append((ours["flux_mol_phase_comp"]["H2O"], theirs["water_flux_mol"], 0.0))
            if case["polarisation"] is None:
                assert ours["Kf_comp"] is None
                assert ours["electric_potential_grad_feed_interface"] is None
            else:
                vec(ours["Kf_comp"], theirs["mass_transfer"])
                pairs.append((ours["electric_potential_grad_feed_interface"],
                              theirs["potential_gradient"], FLOOR["gradient"]))
                pairs.append((ours["velocity"], theirs["velocity"], 0.0))
        assert worst(pairs) < TOL, case["name"]


def test_registry_ions_by_mcas_names():
    """Ions the registry knows need no data, under MCAS spellings too; the data dicts
    override it; an unknown solute without data is refused by name."""
    kw = dict(radius_pore=0.5e-9, membrane_thickness_effective=1.33e-6,
              membrane_charge_density=-27.0, dielectric_constant_pore=41.3)
    a = it.NanofiltrationDSPMDE0D(["Na_+", "Cl_-"], **kw)
    b = it.NanofiltrationDSPMDE0D(
        ["Na_+", "Cl_-"], diffusivity_data={"Na_+": 1.334e-9, "Cl_-": 2.032e-9}, **kw)
    flows = {"Na_+": 0.01, "Cl_-": 0.01, "H2O": 50.0}
    ra, rb = a.solve(flows), b.solve(flows)
    assert set(ra.rejection_intrinsic_phase_comp) == {"Na_+", "Cl_-"}
    # Electroneutral permeate: equal rejections of a 1:1 salt.
    r = ra.rejection_intrinsic_phase_comp
    assert r["Na_+"] == pytest.approx(r["Cl_-"], rel=1e-9)
    assert rb.rejection_intrinsic_phase_comp["Na_+"] != r["Na_+"]
    with pytest.raises(it.InputError, match="Xx"):
        it.NanofiltrationDSPMDE0D(["Xx+", "Cl-"], **kw)
    with pytest.raises(it.InputError, match="H2O"):
        a.solve({"Na_+": 0.01, "Cl_-": 0.01})
    with pytest.raises(it.InputError, match="version"):
        it.NanofiltrationDSPMDE0D(["Na+", "Cl-"], version="2.0", **kw)
