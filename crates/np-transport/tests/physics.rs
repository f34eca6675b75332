//! DSPM-DE physics against analytic solutions, limits and known NF behaviour.

#[path = "support/feeds.rs"]
mod feeds;
use feeds::eight_ion_feed;

use approx::assert_relative_eq;
use ion_species::{Composition, Ion, IonRegistry};
use np_transport::hindrance::Hindrance;
use np_transport::{ChargeModel, Conditions, Dspmde, Membrane, Polarisation, PoreScheme};

fn neutral_solute(rs: f64, d: f64) -> Ion {
    Ion {
        name: "S".into(),
        formula: "S".into(),
        charge: 0,
        stokes_radius: rs,
        diffusivity: d,
        hydrated_radius: Some(rs),
        hydration_free_energy: None,
        molar_mass: 0.18,
        aliases: vec![],
        source: "test solute".into(),
    }
}

fn uncharged(rp: f64, dx: f64) -> Membrane {
    Membrane {
        pore_radius: rp,
        effective_thickness: dx,
        charge: ChargeModel::Constant(0.0),
        pore_dielectric: 78.4,
        pore_size_distribution: None,
        partitioning: Default::default(),
    }
}

/// Steric-hindrance pore model for a neutral solute: R = 1 - phi K_c / (1 - (1 - phi K_c) e^-Pe),
/// Pe = K_c J_v dx / (K_d D).
fn analytic_rejection(h: &Hindrance, jv: f64, dx: f64, d: f64) -> f64 {
    let pe = h.kc * jv * dx / (h.kd * d);
    1.0 - h.phi * h.kc / (1.0 - (1.0 - h.phi * h.kc) * (-pe).exp())
}

#[test]
fn neutral_solute_matches_the_analytic_steric_rejection() {
    let (rs, d, rp, dx) = (0.3e-9, 0.7e-9, 0.5e-9, 1.0e-6);
    let feed = Composition::from_si([(neutral_solute(rs, d), 10.0)]).unwrap();
    let model = Dspmde::new(uncharged(rp, dx), Conditions::default()).unwrap();
    let h = Hindrance::new("S", rs, rp).unwrap();
    for jv in [1e-7, 1e-6, 5e-6, 2e-5, 1e-4] {
        let p = model.solve(&feed, jv).unwrap();
        let want = analytic_rejection(&h, jv, dx, d);
        assert!(
            (p.rejection[0] - want).abs() < 1e-6,
            "J_v {jv}: {} vs {want}",
            p.rejection[0]
        );
    }
}

#[test]
fn neutral_solute_limits() {
    let (rs, d, rp, dx) = (0.25e-9, 0.8e-9, 0.5e-9, 1.0e-6);
    let feed = Composition::from_si([(neutral_solute(rs, d), 1.0)]).unwrap();
    let model = Dspmde::new(uncharged(rp, dx), Conditions::default()).unwrap();
    let h = Hindrance::new("S", rs, rp).unwrap();
    // R -> 0 as J_v -> 0.
    let low = model.solve(&feed, 1e-10).unwrap();
    assert!(low.rejection[0].abs() < 1e-3, "{}", low.rejection[0]);
    assert_eq!(model.solve(&feed, 0.0).unwrap().rejection[0], 0.0);
    // R -> 1 - phi K_c as J_v -> infinity: Pe = J_v dx / (K_d D) ~ 90 here, reached with a
    // 100x thicker membrane at 1e-4 m/s (fluxes above MAX_FLUX = 1e-3 m/s are refused).
    let thick = Dspmde::new(uncharged(rp, 100.0 * dx), Conditions::default()).unwrap();
    let high = thick.solve(&feed, 1e-4).unwrap();
    assert_relative_eq!(high.rejection[0], 1.0 - h.phi * h.kc, max_relative = 1e-6);
}

fn nf(x: f64) -> Dspmde {
    Dspmde::new(
        Membrane {
            charge: ChargeModel::Constant(x),
            ..Membrane::nf270_like()
        },
        Conditions::default(),
    )
    .unwrap()
}

#[test]
fn negative_membrane_rejects_na2so4_more_than_nacl() {
    let reg = IonRegistry::canonical();
    let nacl = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    let na2so4 = Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
    let m = nf(-50.0);
    let jv = 1e-5;
    let r_nacl = m.solve(&nacl, jv).unwrap().rejection[0];
    let r_na2so4 = m.solve(&na2so4, jv).unwrap().rejection[0];
    eprintln!("R(NaCl) = {r_nacl:.4}, R(Na2SO4) = {r_na2so4:.4}");
    assert!(r_na2so4 > r_nacl + 0.1);
}

#[test]
fn divalent_cation_rejection_rises_with_positive_charge() {
    let reg = IonRegistry::canonical();
    let mgcl2 = Composition::from_mmol_per_l(&reg, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap();
    let mut prev = -1.0;
    for x in [-20.0, 0.0, 20.0, 60.0] {
        let r = nf(x).solve(&mgcl2, 1e-5).unwrap().rejection[0];
        eprintln!("X = {x}: R(Mg2+) = {r:.4}");
        assert!(r > prev, "X = {x}: {r} not above {prev}");
        prev = r;
    }
}

#[test]
fn fast_trace_anion_next_to_sulfate_shows_negative_rejection_at_low_flux() {
    let reg = IonRegistry::canonical();
    let feed =
        Composition::from_mmol_per_l(&reg, &[("Na+", 20.5), ("SO4 2-", 10.0), ("NO3-", 0.5)])
            .unwrap();
    let m = nf(-50.0);
    let pts = m.sweep(&feed, &[2e-7, 1e-6, 4e-6]).unwrap();
    let r_no3: Vec<f64> = pts.iter().map(|p| p.rejection[2]).collect();
    eprintln!("R(NO3-) = {r_no3:?}");
    assert!(r_no3[0] < 0.0 || r_no3[1] < 0.0, "{r_no3:?}");
}

#[test]
fn permeate_is_electroneutral_and_non_negative() {
    let feed = eight_ion_feed();
    let m = nf(-30.0);
    let fluxes: Vec<f64> = (1..=10).map(|k| k as f64 * 3e-6).collect();
    for p in m.sweep(&feed, &fluxes).unwrap() {
        let scale: f64 = p.permeate.iter().sum();
        assert!(
            p.permeate_charge().abs() < 1e-8 * scale,
            "charge {}",
            p.permeate_charge()
        );
        assert!(p.permeate.iter().all(|c| *c >= 0.0));
    }
}

#[test]
fn elements_converge_to_the_ode_solution() {
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(
        &reg,
        &[("Na+", 20.0), ("Mg2+", 5.0), ("Cl-", 20.0), ("SO4 2-", 5.0)],
    )
    .unwrap();
    let ode = nf(-40.0).solve(&feed, 1e-5).unwrap();
    let mut errs = vec![];
    for n in [1, 4, 16, 64] {
        let m = Dspmde::new(
            Membrane {
                charge: ChargeModel::Constant(-40.0),
                ..Membrane::nf270_like()
            },
            Conditions {
                scheme: PoreScheme::Elements(n),
                ..Conditions::default()
            },
        )
        .unwrap();
        let p = m.solve(&feed, 1e-5).unwrap();
        let e = p
            .rejection
            .iter()
            .zip(&ode.rejection)
            .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        errs.push(e);
    }
    eprintln!("max |R_n - R_ode| for n = 1, 4, 16, 64: {errs:?}");
    for w in errs.windows(2) {
        assert!(w[1] < w[0], "{errs:?}");
    }
    assert!(errs[3] < 1e-3, "{errs:?}");
}

#[test]
fn polarisation_lowers_observed_rejection_and_matches_the_film_formula() {
    // Neutral solute: with a film, c_m - c_p = (c_f - c_p) exp(J_v / k), k = D / delta.
    let (rs, d, rp, dx, delta) = (0.25e-9, 0.8e-9, 0.5e-9, 1.0e-6, 2e-5);
    let feed = Composition::from_si([(neutral_solute(rs, d), 1.0)]).unwrap();
    let cond = Conditions {
        polarisation: Polarisation::Film { thickness: delta },
        ..Conditions::default()
    };
    let with = Dspmde::new(uncharged(rp, dx), cond).unwrap();
    let without = Dspmde::new(uncharged(rp, dx), Conditions::default()).unwrap();
    let jv = 2e-5;
    let p = with.solve(&feed, jv).unwrap();
    let q = without.solve(&feed, jv).unwrap();
    assert!(p.rejection[0] < q.rejection[0]);
    let k = d / delta;
    let want = p.permeate[0] + (1.0 - p.permeate[0]) * (jv / k).exp();
    assert_relative_eq!(p.membrane_surface[0], want, max_relative = 1e-8);
    // Intrinsic rejection 1 - c_p / c_m equals the no-film rejection.
    let h = Hindrance::new("S", rs, rp).unwrap();
    assert_relative_eq!(
        1.0 - p.permeate[0] / p.membrane_surface[0],
        analytic_rejection(&h, jv, dx, d),
        max_relative = 1e-6
    );
}
