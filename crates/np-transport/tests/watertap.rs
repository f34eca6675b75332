//! Line-by-line comparison with WaterTAP's `NanofiltrationDSPMDE0D`.
//!
//! Reference values: watertap-org/watertap, file
//! `watertap/unit_models/tests/test_nanofiltration_DSPMDE_0D.py` at commit
//! ea74a668ccabb70c4b55e360ab3915f5f193c8ca, `test_solution` of the classes named below,
//! which assert them with `pytest.approx(..., rel=1e-3)`: that is the stated precision.
//! Inputs are those of the same classes (seawater-like 5-ion feed, 1 kg/s, 4 bar, r_p 0.5 nm,
//! dx_e 1.33 um, X_d -27 mol/m^3, eps_p 41.3, 50 m^2, spiral-wound channel h 0.5 mm, spacer
//! porosity 0.85, inlet velocity 0.25 m/s, mixing efficiency 0.5 and length 0.6 m).

use np_transport::watertap::{
    Inlet, MassTransfer, Module0d, Module0dSolution, PublishedCase, Species, WaterTapActivity,
    published_cases,
};

fn case(name: &str) -> PublishedCase {
    published_cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a published case")
}

fn module(polarised: bool) -> Module0d {
    let name = if polarised {
        "TestNanoFiltration_with_CP_5ions"
    } else {
        "TestNanoFiltration_without_CP_5ions"
    };
    case(name).module
}

fn seawater_inlet(m: &Module0d) -> Inlet {
    Inlet::from_mass_fractions(
        &m.species,
        1.0,
        &[382e-6, 2136e-6, 1394e-6, 11122e-6, 20101.6e-6],
        4,
    )
    .unwrap()
}

/// The bulk feed of one module end as a composition and the module's membrane, for solving
/// the same point with `Dspmde`.
fn dspmde_inputs(
    m: &Module0d,
    local: &np_transport::watertap::LocalState,
) -> (ion_species::Composition, np_transport::Membrane) {
    use ion_species::{Composition, Ion};
    use np_transport::{ChargeModel, Membrane};
    let ions: Vec<Ion> = m
        .species
        .iter()
        .map(|sp| Ion {
            name: sp.name.clone(),
            formula: sp.name.clone(),
            charge: sp.charge as i32,
            stokes_radius: sp.stokes_radius,
            diffusivity: sp.diffusivity,
            hydrated_radius: Some(sp.stokes_radius),
            hydration_free_energy: None,
            molar_mass: sp.molar_mass,
            aliases: vec![],
            source: "WaterTAP test data".into(),
        })
        .collect();
    let feed = Composition::from_si(
        ions.into_iter()
            .zip(local.concentrations.bulk.iter().copied()),
    )
    .unwrap();
    let membrane = Membrane {
        pore_radius: m.pore_radius,
        effective_thickness: m.effective_thickness,
        charge: ChargeModel::Constant(m.charge_density),
        pore_dielectric: m.pore_dielectric,
        pore_size_distribution: None,
        partitioning: Default::default(),
    };
    (feed, membrane)
}

/// Solves a published case, prints the comparison and returns the worst relative deviation.
fn compare(name: &str) -> (PublishedCase, Module0dSolution, f64) {
    let c = case(name);
    let (s, worst) = c.compare().unwrap();
    println!(
        "{name}: H2O flux {:.6e} vs {:.6e}",
        s.water_flux, c.water_flux
    );
    for (j, sp) in c.module.species.iter().enumerate() {
        println!(
            "{name}: {:>6} flux {:.6e} vs {:.6e}, R {:.6} vs {:.6}",
            sp.name, s.flux[j], c.flux[j], s.rejection_intrinsic[j], c.rejection_intrinsic[j]
        );
    }
    println!("{name}: worst relative deviation {worst:.2e}");
    (c, s, worst)
}

#[test]
fn reproduces_watertap_without_polarisation() {
    let (c, _, worst) = compare("TestNanoFiltration_without_CP_5ions");
    // Stated precision 1e-3; found 9.2e-5 (the Na flux, which WaterTAP prints with 4 digits).
    assert!(
        worst < 0.1 * c.precision,
        "worst relative deviation {worst:.2e}"
    );
}

#[test]
fn reproduces_watertap_with_spiral_wound_polarisation() {
    // Within the stated 1e-3 (found 8.3e-4 on the Na flux): the sulfate and magnesium values
    // agree to 1e-6, the monovalent ones and the water flux to < 1e-3.
    let (c, _, worst) = compare("TestNanoFiltration_with_CP_5ions");
    assert!(worst < c.precision, "worst relative deviation {worst:.2e}");
}

#[test]
fn reproduces_watertap_at_double_concentration() {
    // Found 4.8e-4 on R(Na) = 0.00753, printed by WaterTAP with 3 digits; all other values
    // agree to 2.4e-4 or better.
    let (c, _, worst) = compare("TestNanoFiltration_with_CP_5ions_double_concentration");
    assert!(worst < c.precision, "worst relative deviation {worst:.2e}");
}

#[test]
fn the_module_conserves_mass_and_its_permeate_is_neutral() {
    let m = module(true);
    let inlet = seawater_inlet(&m);
    let s = m.solve(&inlet).unwrap();
    for j in 0..5 {
        let permeate = m.area * s.flux[j];
        let balance = inlet.flows[j] - s.retentate.flows[j] - permeate;
        assert!(
            balance.abs() < 1e-12 * inlet.flows[j],
            "species {j}: {balance:e}"
        );
    }
    let water = inlet.water_flow - s.retentate.water_flow - m.area * s.water_flux;
    assert!(water.abs() < 1e-12 * inlet.water_flow);
    for state in &s.local {
        let q: f64 = state
            .concentrations
            .permeate
            .iter()
            .zip(&m.species)
            .map(|(c, sp)| c * sp.charge)
            .sum();
        let qp: f64 = state
            .concentrations
            .pore_entrance
            .iter()
            .zip(&m.species)
            .map(|(c, sp)| c * sp.charge)
            .sum::<f64>()
            + m.charge_density;
        assert!(q.abs() < 1e-9 && qp.abs() < 1e-9, "{q:e} {qp:e}");
        // The polarised interface is more concentrated than the bulk in the rejected ions.
        assert!(state.concentrations.interface[1] > state.concentrations.bulk[1]);
    }
    assert!(s.recovery > 0.0 && s.recovery < 0.1, "{}", s.recovery);
}

#[test]
fn watertaps_davies_form_is_close_to_ideal_and_the_textbook_one_is_not() {
    // WaterTAP's Debye-Hueckel constant in SI base units is ~0.0155, so its activity
    // correction is small: ideal activity moves the fluxes by ~0.5 %, not by the 20-40 %
    // the textbook constant (0.51 (L/mol)^0.5) would.
    let a = np_transport::watertap::watertap_debye_huckel_a(80.4, 298.15);
    assert!((a - 0.015548).abs() < 1e-5, "{a}");
    let mut m = module(false);
    let inlet = seawater_inlet(&m);
    let davies = m.solve(&inlet).unwrap();
    m.activity = WaterTapActivity::Ideal;
    let ideal = m.solve(&inlet).unwrap();
    let rel = (ideal.water_flux / davies.water_flux - 1.0).abs();
    assert!(rel > 1e-3 && rel < 1e-2, "{rel}");
}

#[test]
fn watertaps_nacl_case_agrees_only_to_two_percent() {
    // TestNanoFiltration_with_CP_2ions: here the agreement is 1.6 % on the water flux and
    // 1 % on the salt flux, outside the stated 1e-3, while the three 5-ion cases of the same
    // file and the same equations agree within it. The cause is not known (an older model
    // version behind these values is one possibility); the bound below records the size of
    // the gap so that a change in it is noticed.
    let (_, s, worst) = compare("TestNanoFiltration_with_CP_2ions");
    assert!((s.flux[0] - s.flux[1]).abs() < 1e-12 * s.flux[0]);
    assert!(worst > 1e-3 && worst < 2e-2, "{worst:.2e}");
}

#[test]
fn our_single_element_scheme_is_watertaps_local_model() {
    // The inlet end of the module solved by WaterTAP's equations (ideal activity, no
    // polarisation) and by np-transport's DSPM-DE with `PoreScheme::Elements(1)` at the same
    // water flux give the same permeate.
    use np_transport::{Activity, Conditions, Dspmde, PoreScheme};
    let mut m = module(false);
    m.activity = WaterTapActivity::Ideal;
    let s = m.solve(&seawater_inlet(&m)).unwrap();
    let local = &s.local[0];
    let (feed, membrane) = dspmde_inputs(&m, local);
    let conditions = Conditions {
        activity: Activity::Ideal,
        scheme: PoreScheme::Elements(1),
        bulk_dielectric: m.bulk_dielectric,
        tolerance: 1e-12,
        ..Conditions::default()
    };
    let point = Dspmde::new(membrane, conditions)
        .unwrap()
        .solve(&feed, local.water_flux)
        .unwrap();
    for (j, (a, b)) in point
        .permeate
        .iter()
        .zip(&local.concentrations.permeate)
        .enumerate()
    {
        assert!((a / b - 1.0).abs() < 1e-8, "species {j}: {a} vs {b}");
    }
}

#[test]
fn fixed_mass_transfer_matches_the_correlation_and_its_large_limit_is_no_polarisation() {
    let spiral = module(true);
    let inlet = seawater_inlet(&spiral);
    let s = spiral.solve(&inlet).unwrap();
    // The inlet end sees only the inlet bulk and k_f: fixing k_f to the correlation's inlet
    // values reproduces the inlet state.
    let mut fixed = spiral.clone();
    fixed.polarisation = Some(MassTransfer::Fixed(s.local[0].mass_transfer.clone()));
    let f = fixed.solve(&inlet).unwrap();
    for (a, b) in f.local[0]
        .concentrations
        .permeate
        .iter()
        .zip(&s.local[0].concentrations.permeate)
    {
        assert!((a / b - 1.0).abs() < 1e-9, "{a} vs {b}");
    }
    // Outlet k_f from the slower outlet velocity is smaller, so the fixed-k_f module has less
    // polarisation there and more water flux.
    assert!(f.water_flux > s.water_flux);
    // k_f -> infinity: the film vanishes and the module without polarisation is recovered.
    let mut stiff = spiral.clone();
    stiff.polarisation = Some(MassTransfer::Fixed(vec![1.0; 5]));
    let a = stiff.solve(&inlet).unwrap();
    let b = module(false).solve(&inlet).unwrap();
    for (x, y) in a.flux.iter().zip(&b.flux) {
        assert!((x / y - 1.0).abs() < 1e-5, "{x} vs {y}");
    }
    // One coefficient per species.
    stiff.polarisation = Some(MassTransfer::Fixed(vec![1e-5; 3]));
    assert!(stiff.solve(&inlet).is_err());
}

#[test]
fn species_from_the_ion_registry_give_a_working_module() {
    use ion_species::IonRegistry;
    let reg = IonRegistry::canonical();
    let names = ["Na+", "Mg2+", "Cl-", "SO4 2-"];
    let species: Vec<Species> = names
        .iter()
        .map(|n| Species::from_ion(reg.parse(n).unwrap()))
        .collect();
    assert_eq!(species[3].charge, -2.0);
    let m = Module0d::watertap_defaults(species, 0.5e-9, 1.33e-6, -27.0, 41.3);
    // 10 mmol/L NaCl + 2 mmol/L MgSO4 in 1 kg/s.
    let mw: Vec<f64> = m.species.iter().map(|s| s.molar_mass).collect();
    let mol = [10.0e-3, 2.0e-3, 10.0e-3, 2.0e-3];
    let fractions: Vec<f64> = mol.iter().zip(&mw).map(|(c, m)| c * m).collect();
    let inlet = Inlet::from_mass_fractions(&m.species, 1.0, &fractions, 2).unwrap();
    let s = m.solve(&inlet).unwrap();
    // A negative membrane rejects sulfate more than chloride.
    assert!(s.rejection_observed[3] > s.rejection_observed[2]);
    assert!(s.rejection_observed[3] > 0.5, "{:?}", s.rejection_observed);
}

#[test]
fn bad_modules_and_inlets_are_typed_errors() {
    use np_transport::TransportError;
    let m = module(false);
    let inlet = seawater_inlet(&m);
    // Not electroneutral.
    let mut skewed = inlet.clone();
    skewed.flows[3] *= 1.1;
    assert!(matches!(
        m.solve(&skewed),
        Err(TransportError::InvalidFeed(_))
    ));
    // Negative and NaN flows.
    let mut negative = inlet.clone();
    negative.flows[0] = -1e-3;
    assert!(matches!(
        m.solve(&negative),
        Err(TransportError::InvalidFeed(_))
    ));
    let mut nan = inlet.clone();
    nan.water_flow = f64::NAN;
    assert!(matches!(m.solve(&nan), Err(TransportError::InvalidFeed(_))));
    // Mg2+ (0.347 nm) does not fit a 0.3 nm pore.
    let mut small = m.clone();
    small.pore_radius = 0.3e-9;
    assert!(matches!(
        small.solve(&inlet),
        Err(TransportError::IonLargerThanPore { .. })
    ));
    // A feed pressure below the permeate pressure.
    let mut low = m.clone();
    low.feed_pressure = 1e5;
    assert!(matches!(
        low.solve(&inlet),
        Err(TransportError::InvalidParameter {
            name: "feed_pressure",
            ..
        })
    ));
    // Parameters.
    let mut bad = m.clone();
    bad.area = f64::NAN;
    assert!(matches!(
        bad.solve(&inlet),
        Err(TransportError::InvalidParameter { name: "area", .. })
    ));
    assert!(Inlet::from_mass_fractions(&m.species, 1.0, &[0.5, 0.6, 0.0, 0.0, 0.0], 4).is_err());
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn module_solves_conserve_mass_or_fail_with_an_error(
        rp in 0.40e-9f64..0.8e-9,
        x in -150.0f64..60.0,
        eps_p in 30.0f64..80.0,
        pressure in 2e5f64..1.2e6,
        area in 1.0f64..50.0,
        scale in 0.02f64..2.0,
        polarised in proptest::bool::ANY,
    ) {
        let mut m = module(polarised);
        m.pore_radius = rp;
        m.charge_density = x;
        m.pore_dielectric = eps_p;
        m.feed_pressure = pressure;
        m.area = area;
        let fractions: Vec<f64> = [382e-6, 2136e-6, 1394e-6, 11122e-6, 20101.6e-6]
            .iter()
            .map(|w| w * scale)
            .collect();
        let inlet = Inlet::from_mass_fractions(&m.species, 1.0, &fractions, 4).unwrap();
        if let Ok(s) = m.solve(&inlet) {
            for j in 0..5 {
                prop_assert!(s.flux[j].is_finite() && s.flux[j] >= 0.0);
                let balance = inlet.flows[j] - s.retentate.flows[j] - m.area * s.flux[j];
                prop_assert!(balance.abs() < 1e-10 * inlet.flows[j]);
                prop_assert!(s.rejection_intrinsic[j].is_finite());
            }
            prop_assert!(s.water_flux > 0.0);
        }
    }
}

#[test]
fn dspmde_davies_molal_with_one_element_is_watertap_1_8s_local_model() {
    // WaterTAP 1.8's conventions (molal Davies with A from eps_b and T, eps_b 78.36) in the
    // module and in the DSPM-DE's `Activity::DaviesMolal` with `PoreScheme::Elements(1)`:
    // the inlet end and the single-point solve at its J_v agree.
    use np_transport::watertap::WaterTapVersion;
    use np_transport::{Activity, Conditions, Dspmde, PoreScheme};
    let legacy = module(false);
    let m = Module0d::watertap_defaults(
        legacy.species.clone(),
        legacy.pore_radius,
        legacy.effective_thickness,
        legacy.charge_density,
        legacy.pore_dielectric,
    );
    assert_eq!(m.version, WaterTapVersion::V1_8);
    assert_eq!(m.activity, WaterTapActivity::Davies);
    let s = m.solve(&seawater_inlet(&m)).unwrap();
    let local = &s.local[0];
    let (feed, membrane) = dspmde_inputs(&m, local);
    let solve = |activity| {
        let conditions = Conditions {
            activity,
            scheme: PoreScheme::Elements(1),
            bulk_dielectric: m.bulk_dielectric,
            tolerance: 1e-12,
            ..Conditions::default()
        };
        Dspmde::new(membrane.clone(), conditions)
            .unwrap()
            .solve(&feed, local.water_flux)
            .unwrap()
    };
    let molal = solve(Activity::DaviesMolal);
    for (j, (a, b)) in molal
        .permeate
        .iter()
        .zip(&local.concentrations.permeate)
        .enumerate()
    {
        assert!((a / b - 1.0).abs() < 1e-8, "species {j}: {a} vs {b}");
    }
    // The textbook form (molar I, A = 0.5085) differs at seawater strength (I ~ 0.7 M) by
    // more than the solver tolerance but is the same physics to a few per cent.
    let textbook = solve(Activity::Davies);
    let worst = textbook
        .permeate
        .iter()
        .zip(&molal.permeate)
        .map(|(a, b)| (a / b - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(worst > 1e-4 && worst < 0.1, "{worst}");
}
