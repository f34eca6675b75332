#!/usr/bin/env python3
"""Reference values of WaterTAP's NanofiltrationDSPMDE0D for np-transport's tests.

Builds ten cases in WaterTAP (the installed version is recorded; made with 1.8.0), solves them,
and writes every value WaterTAP reports at both ends of the module and for the module as a
whole to crates/np-transport/tests/data/watertap_<version>.json. Not run by CI; rerun after a
WaterTAP release:

    python3 -m venv /tmp/wt && /tmp/wt/bin/pip install watertap==1.8.0
    OMP_NUM_THREADS=1 /tmp/wt/bin/python tools/watertap_reference.py            # all cases
    OMP_NUM_THREADS=1 /tmp/wt/bin/python tools/watertap_reference.py NAME ...   # some, cached
    /tmp/wt/bin/python tools/watertap_reference.py --from-cache                 # write solved ones

A case takes 1-10 minutes (Python Jacobians); solved cases are cached in the temporary
directory, so runs can be split and parallel. The stored 1.8.0 file holds 8 of the 10: the two
NF270-like polarised cases (6 ions ideal, 7 ions Davies) were still in their homotopies when
the session that made the file ended, and are listed under "not_solved".

Solver: WaterTAP's IPOPT executable is an IDAES binary extension downloaded from GitHub, which
this project's machines cannot reach, so the square models are solved by damped Newton on
WaterTAP's own scaled constraints (tools/watertap_newton.py), both inside WaterTAP's
initialisation routine and for the final solve. The largest scaled constraint residual at the
stored point is recorded per case (all below 1e-12).

Cases: WaterTAP's own five test set-ups (seawater-like 5 ions with and without spiral-wound
polarisation, at double concentration, NaCl with and without polarisation; WaterTAP's species
data) plus five of ours: an NF270-like membrane (r_p 0.45 nm, dx/A_k 1.9 um, X_d -20 mol/m3,
eps_p 41.3) at low salinity with 7 ions (Na+, K+, Li+, Mg2+, Cl-, NO3-, SO4 2-) and 6 ions
(Li+, K+, Ca2+, Cl-, NO3-, SO4 2-), ideal and Davies, with and without polarisation (species
data of the ion-species crate), and a 5-ion ideal case with polarisation.
"""

import hashlib
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyomo.environ import ConcreteModel, Var, value, units as pyunits  # noqa: E402
from pyomo.util.calc_var_value import calculate_variable_from_constraint  # noqa: E402
from idaes.core import FlowsheetBlock  # noqa: E402
from idaes.core.util.scaling import calculate_scaling_factors  # noqa: E402
import idaes.logger as idaeslog  # noqa: E402

import watertap  # noqa: E402
import watertap.unit_models.nanofiltration_DSPMDE_0D as nf_module  # noqa: E402
import watertap.property_models.multicomp_aq_sol_prop_pack as mcas_module  # noqa: E402
from watertap.property_models.multicomp_aq_sol_prop_pack import (  # noqa: E402
    MCASParameterBlock,
    ActivityCoefficientModel,
    DensityCalculation,
)
from watertap.unit_models.nanofiltration_DSPMDE_0D import (  # noqa: E402
    NanofiltrationDSPMDE0D,
    MassTransferCoefficient,
    ConcentrationPolarizationType,
)
from watertap_newton import NewtonSolver  # noqa: E402

# WaterTAP's initialisation asks for a solver by name; hand it Newton instead of IPOPT.
_solver = NewtonSolver(max_iter=60, verbose=bool(os.environ.get("VERBOSE")))
nf_module.get_solver = lambda *a, **k: _solver
mcas_module.get_solver = lambda *a, **k: _solver

WATER_MW = 0.018

# name, WaterTAP name, z, D (m2/s), r_s (m), M (kg/mol).
# WaterTAP's test species (test_nanofiltration_DSPMDE_0D.py).
WT = {
    "Ca2+": ("Ca_2+", 2, 9.2e-10, 3.09e-10, 0.04),
    "SO4 2-": ("SO4_2-", -2, 1.06e-9, 2.3e-10, 0.096),
    "Mg2+": ("Mg_2+", 2, 7.06e-10, 3.47e-10, 0.024),
    "Na+": ("Na_+", 1, 1.33e-9, 1.84e-10, 0.023),
    "Cl-": ("Cl_-", -1, 2.03e-9, 1.21e-10, 0.035),
}
# The ion-species crate's data (crates/ion-species/src/ion.rs, sources cited there).
IS = {
    "Na+": ("Na_+", 1, 1.334e-9, 0.184e-9, 22.98977e-3),
    "K+": ("K_+", 1, 1.957e-9, 0.125e-9, 39.0983e-3),
    "Li+": ("Li_+", 1, 1.029e-9, 0.238e-9, 6.94e-3),
    "Mg2+": ("Mg_2+", 2, 0.706e-9, 0.347e-9, 24.305e-3),
    "Ca2+": ("Ca_2+", 2, 0.792e-9, 0.310e-9, 40.078e-3),
    "Cl-": ("Cl_-", -1, 2.032e-9, 0.121e-9, 35.45e-3),
    "SO4 2-": ("SO4_2-", -2, 1.065e-9, 0.230e-9, 96.056e-3),
    "NO3-": ("NO3_-", -1, 1.902e-9, 0.129e-9, 62.004e-3),
}

SEAWATER = {"Ca2+": 382e-6, "SO4 2-": 2136e-6, "Mg2+": 1394e-6, "Na+": 11122e-6, "Cl-": 20101.6e-6}
WT_MEMBRANE = dict(pore_radius=0.5e-9, effective_thickness=1.33e-6, charge_density=-27.0,
                   pore_dielectric=41.3)
NF270 = dict(pore_radius=0.45e-9, effective_thickness=1.9e-6, charge_density=-20.0,
             pore_dielectric=41.3)
SPIRAL = dict(channel_height=5e-4, spacer_porosity=0.85, inlet_velocity=0.25,
              mixing_efficiency=0.5, mixing_length=0.6)


def species_list(table, names):
    return [dict(name=n, watertap=table[n][0], charge=table[n][1], diffusivity=table[n][2],
                 stokes_radius=table[n][3], molar_mass=table[n][4]) for n in names]


def inlet_from_mass_fractions(species, fractions, adjust):
    """As Inlet::from_mass_fractions: 1 kg/s, then the last-named ion adjusted to neutrality."""
    flows = [fractions[s["name"]] / s["molar_mass"] for s in species]
    water = (1 - sum(fractions.values())) / WATER_MW
    k = [s["name"] for s in species].index(adjust)
    others = sum(s["charge"] * f for j, (s, f) in enumerate(zip(species, flows)) if j != k)
    flows[k] = -others / species[k]["charge"]
    return flows, water


def inlet_from_concentrations(species, conc, volume_flow=1e-3):
    """Flows (mol/s) of a stream with these concentrations (mol/m3, solution volume at
    1000 kg/m3) and volumetric flow (m3/s): the species mass plus water makes 1000 kg/m3."""
    flows = [conc[s["name"]] * volume_flow for s in species]
    solute_mass = sum(f * s["molar_mass"] for f, s in zip(flows, species))
    water = (1000.0 * volume_flow - solute_mass) / WATER_MW
    return flows, water


def build(case):
    sp = case["species"]
    m = ConcreteModel()
    m.fs = FlowsheetBlock(dynamic=False)
    mw = {"H2O": WATER_MW}
    mw.update({s["watertap"]: s["molar_mass"] for s in sp})
    m.fs.properties = MCASParameterBlock(
        solute_list=[s["watertap"] for s in sp],
        diffusivity_data={("Liq", s["watertap"]): s["diffusivity"] for s in sp},
        mw_data=mw,
        stokes_radius_data={s["watertap"]: s["stokes_radius"] for s in sp},
        charge={s["watertap"]: s["charge"] for s in sp},
        activity_coefficient_model=(ActivityCoefficientModel.davies if case["activity"] == "davies"
                                    else ActivityCoefficientModel.ideal),
        density_calculation=DensityCalculation.constant,
    )
    if case["polarisation"] is not None:
        m.fs.unit = NanofiltrationDSPMDE0D(property_package=m.fs.properties)
    else:
        m.fs.unit = NanofiltrationDSPMDE0D(
            property_package=m.fs.properties,
            mass_transfer_coefficient=MassTransferCoefficient.none,
            concentration_polarization_type=ConcentrationPolarizationType.none,
        )
    u = m.fs.unit
    for s, f in zip(sp, case["inlet"]["flows"]):
        u.inlet.flow_mol_phase_comp[0, "Liq", s["watertap"]].fix(f)
    u.inlet.flow_mol_phase_comp[0, "Liq", "H2O"].fix(case["inlet"]["water_flow"])
    u.inlet.temperature[0].fix(case["temperature"])
    u.inlet.pressure[0].fix(case["feed_pressure"])
    mem = case["membrane"]
    u.radius_pore.fix(mem["pore_radius"])
    u.membrane_thickness_effective.fix(mem["effective_thickness"])
    u.membrane_charge_density.fix(mem["charge_density"])
    u.dielectric_constant_pore.fix(mem["pore_dielectric"])
    u.mixed_permeate[0].pressure.fix(case["permeate_pressure"])
    pol = case["polarisation"] or SPIRAL
    u.spacer_porosity.fix(pol["spacer_porosity"])
    u.channel_height.fix(pol["channel_height"])
    u.velocity[0, 0].fix(pol["inlet_velocity"])
    u.area.fix(case["area"])
    if case["polarisation"] is not None:
        u.spacer_mixing_efficiency.fix(pol["mixing_efficiency"])
        u.spacer_mixing_length.fix(pol["mixing_length"])
    # Flow scaling as in WaterTAP's tests: the inverse order of magnitude of each flow.
    for s, f in zip(sp, case["inlet"]["flows"]):
        m.fs.properties.set_default_scaling("flow_mol_phase_comp", 10 ** -round(__import__("math").log10(f)),
                                            index=("Liq", s["watertap"]))
    m.fs.properties.set_default_scaling("flow_mol_phase_comp", 1, index=("Liq", "H2O"))
    calculate_scaling_factors(m)
    return m


def vals(expr_of_j, sp):
    return [value(expr_of_j(s["watertap"])) for s in sp]


def extract(m, case):
    sp = case["species"]
    u = m.fs.unit
    polarised = case["polarisation"] is not None
    davies = case["activity"] == "davies"
    local = []
    for x in (0, 1):
        bulk = u.feed_side.properties_in[0] if x == 0 else u.feed_side.properties_out[0]
        inter = u.feed_side.properties_interface[0, x]
        ent, ext, perm = u.pore_entrance[0, x], u.pore_exit[0, x], u.permeate_side[0, x]
        act = (lambda b: vals(lambda j: b.act_coeff_phase_comp["Liq", j], sp)) if davies else (
            lambda b: [1.0] * len(sp))
        local.append(dict(
            bulk=vals(lambda j: bulk.conc_mol_phase_comp["Liq", j], sp),
            interface=vals(lambda j: inter.conc_mol_phase_comp["Liq", j], sp),
            pore_entrance=vals(lambda j: ent.conc_mol_phase_comp["Liq", j], sp),
            pore_exit=vals(lambda j: ext.conc_mol_phase_comp["Liq", j], sp),
            permeate=vals(lambda j: perm.conc_mol_phase_comp["Liq", j], sp),
            potentials=[value(u.electric_potential[0, x, loc])
                        for loc in ("pore_entrance", "pore_exit", "permeate")],
            water_flux=value(u.flux_vol_water[0, x]),
            flux=vals(lambda j: u.flux_mol_phase_comp[0, x, "Liq", j], sp),
            water_flux_mol=value(u.flux_mol_phase_comp[0, x, "Liq", "H2O"]),
            mass_transfer=vals(lambda j: u.Kf_comp[0, x, j], sp) if polarised else [],
            potential_gradient=(value(u.electric_potential_grad_feed_interface[0, x])
                                if polarised else None),
            velocity=value(u.velocity[0, x]),
            activity=dict(interface=act(inter), pore_entrance=act(ent),
                          pore_exit=act(ext), permeate=act(perm)),
            debye_huckel_a=value(inter.debye_huckel_constant) if davies else None,
        ))
    return dict(
        flux=vals(lambda j: u.flux_mol_phase_comp_avg[0, "Liq", j], sp),
        water_flux=value(u.flux_mol_phase_comp_avg[0, "Liq", "H2O"]),
        permeate=vals(lambda j: u.mixed_permeate[0].conc_mol_phase_comp["Liq", j], sp),
        rejection_intrinsic=vals(lambda j: u.rejection_intrinsic_phase_comp[0, "Liq", j], sp),
        rejection_observed=vals(lambda j: u.rejection_observed_phase_comp[0, "Liq", j], sp),
        recovery=value(u.recovery_vol_phase[0, "Liq"]),
        retentate_flows=vals(lambda j: u.retentate.flow_mol_phase_comp[0, "Liq", j], sp),
        retentate_water_flow=value(u.retentate.flow_mol_phase_comp[0, "Liq", "H2O"]),
        local=local,
    )


def cases():
    out = []

    def add(name, species, membrane, activity, polarisation, inlet, area=50.0, pressure=4e5):
        flows, water = inlet
        out.append(dict(name=name, species=species, membrane=membrane, activity=activity,
                        polarisation=polarisation, inlet=dict(flows=flows, water_flow=water),
                        temperature=298.15, feed_pressure=pressure, permeate_pressure=101325.0,
                        area=area))

    five = species_list(WT, ["Ca2+", "SO4 2-", "Mg2+", "Na+", "Cl-"])
    two = species_list(WT, ["Na+", "Cl-"])
    sea = inlet_from_mass_fractions(five, SEAWATER, "Cl-")
    sea2 = inlet_from_mass_fractions(five, {k: 2 * v for k, v in SEAWATER.items()}, "Cl-")
    nacl = inlet_from_mass_fractions(two, {k: SEAWATER[k] for k in ("Na+", "Cl-")}, "Cl-")
    add("watertap_5ions_davies_cp", five, WT_MEMBRANE, "davies", SPIRAL, sea)
    add("watertap_5ions_davies", five, WT_MEMBRANE, "davies", None, sea)
    add("watertap_5ions_davies_cp_double", five, WT_MEMBRANE, "davies", SPIRAL, sea2)
    add("watertap_2ions_davies_cp", two, WT_MEMBRANE, "davies", SPIRAL, nacl)
    add("watertap_2ions_ideal", two, WT_MEMBRANE, "ideal", None, nacl)
    add("watertap_5ions_ideal_cp", five, WT_MEMBRANE, "ideal", SPIRAL, sea)
    seven = species_list(IS, ["Na+", "K+", "Li+", "Mg2+", "Cl-", "NO3-", "SO4 2-"])
    brackish = {"Na+": 12.0, "K+": 2.0, "Li+": 4.0, "Mg2+": 5.0, "Cl-": 16.0, "NO3-": 2.0,
                "SO4 2-": 5.0}
    six = species_list(IS, ["Li+", "K+", "Ca2+", "Cl-", "NO3-", "SO4 2-"])
    mixed = {"Li+": 6.0, "K+": 4.0, "Ca2+": 3.0, "Cl-": 8.0, "NO3-": 1.0, "SO4 2-": 3.5}
    add("nf270_7ions_ideal", seven, NF270, "ideal", None,
        inlet_from_concentrations(seven, brackish), pressure=6e5)
    add("nf270_7ions_davies_cp", seven, NF270, "davies", SPIRAL,
        inlet_from_concentrations(seven, brackish), pressure=6e5)
    add("nf270_6ions_davies", six, NF270, "davies", None,
        inlet_from_concentrations(six, mixed), area=20.0, pressure=5e5)
    add("nf270_6ions_ideal_cp", six, NF270, "ideal", SPIRAL,
        inlet_from_concentrations(six, mixed), area=20.0, pressure=5e5)
    return out


def solve_unpolarised(case, solver, depth=0):
    """The case without polarisation: WaterTAP's initialisation, or, where its starting
    point is too far for Newton, a homotopy from an easier case: a quarter of the membrane
    charge, else half the inlet salinity."""
    m = build(case)
    try:
        m.fs.unit.initialize(outlvl=idaeslog.CRITICAL)
        return m
    except Exception:
        if depth >= 3:
            raise
    charge = case["membrane"]["charge_density"]
    flows = case["inlet"]["flows"]

    def from_half_salinity():
        half = dict(case, inlet=dict(case["inlet"], flows=[0.5 * f for f in flows]))
        m_easy = solve_unpolarised(half, solver, depth + 1)
        u = m_easy.fs.unit

        def set_salinity(level):  # level 0: half the inlet salinity, level 1: all of it
            for s, f in zip(case["species"], flows):
                u.inlet.flow_mol_phase_comp[0, "Liq", s["watertap"]].fix(
                    (0.5 + 0.5 * level) * f)

        continuation(m_easy, u, set_salinity, solver, case["name"] + " salinity")
        return m_easy

    def from_weak_charge():
        weak = dict(case, membrane=dict(case["membrane"], charge_density=0.25 * charge))
        m_easy = solve_unpolarised(weak, solver, depth + 1)
        u = m_easy.fs.unit

        def set_charge(level):  # level 0: a quarter of the charge, level 1: all of it
            u.membrane_charge_density.fix((0.25 + 0.75 * level) * charge)

        continuation(m_easy, u, set_charge, solver, case["name"] + " charge")
        return m_easy

    # Concentrated feeds start from a diluted one; dilute feeds on a strongly charged
    # membrane from a weaker charge.
    # total ion concentration, mol/m3 (water at 1000 kg/m3)
    dilute = sum(flows) / (case["inlet"]["water_flow"] * WATER_MW / 1000.0) < 100.0
    routes = [from_weak_charge, from_half_salinity] if dilute else [from_half_salinity,
                                                                    from_weak_charge]
    for k, route in enumerate(routes):
        try:
            return route()
        except (Exception, SystemExit):
            if k == len(routes) - 1:
                raise


def continuation(m, block, set_level, solver, what):
    """Solves `block` for levels 0 -> 1 of a homotopy parameter, halving the step after a
    failed solve (from the last solution) and growing it after a success."""
    def snapshot():
        return {id(v): v.value for v in m.component_data_objects(Var, descend_into=True)}

    def restore(values):
        for v in m.component_data_objects(Var, descend_into=True):
            if not v.fixed:
                v.set_value(values[id(v)], skip_validation=True)

    set_level(0.0)
    res = solver.solve(block)
    if str(res.solver.termination_condition) != "optimal":
        raise SystemExit(f"{what}: homotopy failed at its start")
    level, step = 0.0, 0.25
    while level < 1.0:
        good = snapshot()
        trial = min(1.0, level + step)
        set_level(trial)
        res = solver.solve(block)
        if str(res.solver.termination_condition) == "optimal":
            level, step = trial, step * 1.5
        else:
            restore(good)
            step *= 0.5
            if step < 1e-4:
                raise SystemExit(f"{what}: homotopy stalled at level {level}")
    return level


def solve_case(case):
    """Solves one case. Without polarisation, WaterTAP's own initialisation and a Newton
    solve. With polarisation, a homotopy from the solution without it: the mass-transfer
    coefficients are fixed at 64 times the correlation's values (interface close to the
    bulk), halved down to 1, and finally the correlation is switched back on."""
    unpolarised = dict(case, polarisation=None)
    final = NewtonSolver(tol=1e-14)
    m0 = solve_unpolarised(unpolarised, final)
    res = final.solve(m0.fs.unit)
    if str(res.solver.termination_condition) != "optimal":
        raise SystemExit(f"{case['name']}: the final solve without polarisation failed")
    if case["polarisation"] is None:
        return m0, final
    m = build(case)
    for v0 in m0.component_data_objects(Var, descend_into=True):
        v = m.find_component(v0.name)
        if v is not None and not v.fixed and v0.value is not None:
            v.set_value(v0.value, skip_validation=True)
    u = m.fs.unit
    for (t, x), g in u.electric_potential_grad_feed_interface.items():
        g.set_value(0.0)
    for c in (u.eq_N_Sc_comp, u.eq_N_Pe_comp, u.eq_Kf_comp):
        for idx, con in c.items():
            var = {id(u.eq_N_Sc_comp): u.N_Sc_comp, id(u.eq_N_Pe_comp): u.N_Pe_comp,
                   id(u.eq_Kf_comp): u.Kf_comp}[id(c)][idx]
            calculate_variable_from_constraint(var, con)
    kf = {k: value(v) for k, v in u.Kf_comp.items()}
    u.eq_Kf_comp.deactivate()
    for v in u.Kf_comp.values():
        v.setub(None)

    def set_kf(level):  # level 0: 64 x the correlation, level 1: the correlation
        for k, v in u.Kf_comp.items():
            v.fix(64 ** (1 - level) * kf[k])

    continuation(m, u, set_kf, final, case["name"] + " k_f")
    u.Kf_comp.unfix()
    for v in u.Kf_comp.values():
        v.setub(1e-3)
    u.eq_Kf_comp.activate()
    res = final.solve(u)
    if str(res.solver.termination_condition) != "optimal":
        raise SystemExit(f"{case['name']}: the polarised case did not solve")
    return m, final


def main():
    version = watertap.__version__ if hasattr(watertap, "__version__") else None
    if version is None:
        from importlib.metadata import version as v
        version = v("watertap")
    results = []
    # Solved cases are cached (keyed by their inputs) so that a rerun after a failure
    # repeats only what is missing.
    cache_dir = os.path.join(tempfile.gettempdir(), f"watertap_reference_{version}")
    os.makedirs(cache_dir, exist_ok=True)
    # Arguments: case names to solve (nothing is written then), or --from-cache to write the
    # cases solved so far (by earlier, possibly parallel, runs) and skip the rest.
    from_cache = "--from-cache" in sys.argv[1:]
    only = set(a for a in sys.argv[1:] if not a.startswith("--"))
    skipped = []
    for case in cases():
        if only and case["name"] not in only:
            continue
        key = hashlib.sha256(json.dumps(case, sort_keys=True).encode()).hexdigest()[:16]
        cached = os.path.join(cache_dir, f"{case['name']}-{key}.json")
        if os.path.exists(cached):
            with open(cached) as f:
                results.append(json.load(f))
            print(f"{case['name']}: cached", flush=True)
            continue
        if from_cache:
            skipped.append(case["name"])
            continue
        m, final = solve_case(case)
        print(f"{case['name']}: max scaled residual {final.last_residual:.2e}", flush=True)
        entry = dict(case)
        entry["species"] = [{k: v for k, v in s.items() if k != "watertap"} for s in case["species"]]
        entry["max_scaled_residual"] = final.last_residual
        entry["results"] = extract(m, case)
        with open(cached, "w") as f:
            json.dump(entry, f)
        results.append(entry)
    if only:
        print("a subset was asked for: nothing written")
        return
    doc = dict(
        source=f"WaterTAP {version} NanofiltrationDSPMDE0D, generated by tools/watertap_reference.py",
        watertap_version=version,
        solver="damped Newton on WaterTAP's scaled constraints (tools/watertap_newton.py)",
        units="SI: flows mol/s, fluxes mol/(m2 s) or m/s (water_flux of local states), "
              "concentrations mol/m3, potentials V, gradient V/m, pressures Pa",
        cases=results,
        not_solved=skipped,
    )
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.join(here, "..", "crates", "np-transport", "tests", "data",
                          f"watertap_{version.replace('.', '_')}.json")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, target)
    print(f"wrote {os.path.relpath(target)}")


if __name__ == "__main__":
    main()
