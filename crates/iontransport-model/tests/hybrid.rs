//! The hybrid model (DSPM-DE backbone + learned relative correction): the untrained model is
//! the DSPM-DE, gradients against finite differences, positivity and electroneutrality.

mod support;

use ion_species::IonRegistry;
use iontransport_model::model::correction_weight;
use iontransport_model::train::trajectory_gradient;
use iontransport_model::{
    Backbone, Constraint, IonModel, ModelConfig, NetworkConfig, PreparedFeed, TrainingDomain,
    TrajectoryField,
};
use neural_ode::VectorField;
use np_transport::{Conditions, Dspmde, Membrane};
use proptest::prelude::*;
use support::field_vjp_error;

fn hybrid(tol: (f64, f64), tau_max: f64) -> IonModel {
    let reg = IonRegistry::canonical();
    let net = support::tiny_network();
    let mut cfg = ModelConfig::for_registry(&reg, net, Constraint::HardPositive);
    cfg.rtol = tol.0;
    cfg.atol = tol.1;
    cfg.backbone = Some(
        Backbone::new(
            Membrane::nf270_like(),
            Conditions::default(),
            &reg,
            &cfg.ions,
            tau_max,
        )
        .unwrap(),
    );
    IonModel::new(cfg, 3).unwrap()
}

/// A hybrid whose correction is not zero (random last layer), for gradient and invariant tests.
fn perturbed(tol: (f64, f64), seed: u64) -> IonModel {
    let mut m = hybrid(tol, 2.0);
    let fresh = m.config.network.init_params(seed);
    let start = *m.layout().layers.last().unwrap();
    for i in start..m.num_params() {
        m.params[i] = 3.0 * fresh[i];
    }
    m
}

fn feeds() -> Vec<Vec<f64>> {
    // Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3- (mol/m3).
    vec![
        vec![30.0, 0.0, 0.0, 5.0, 2.0, 34.0, 5.0, 0.0],
        vec![20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0],
        vec![10.0, 0.5, 0.0, 10.0, 0.0, 30.0, 0.0, 0.5],
        vec![100.0, 0.0, 0.2, 0.0, 1.0, 2.2, 50.0, 0.0],
    ]
}

#[test]
fn the_untrained_hybrid_is_its_dspmde_backbone() {
    let m = hybrid((1e-10, 1e-12), 2.0);
    let bb = m.config.backbone.clone().unwrap();
    let dspm = Dspmde::new(bb.membrane, bb.conditions).unwrap();
    let reg = IonRegistry::canonical();
    // Off-grid fluxes, m/s, and one beyond the stored curve (extended on demand).
    let fluxes = [1.234e-7, 3.3e-6, 7.77e-6, 1.61e-5, 2.9e-5];
    let mut worst: f64 = 0.0;
    for feed in feeds() {
        let pred = m.predict_vector(&feed, &fluxes).unwrap();
        let comp = ion_species::Composition::from_vector(&reg, &feed, false).unwrap();
        let pts = dspm.sweep(&comp, &fluxes).unwrap();
        for (k, p) in pts.iter().enumerate() {
            for (i, name) in p.ions.iter().enumerate() {
                let j = m.config.ions.iter().position(|n| n == name).unwrap();
                let rel = (pred.permeate[k][j] - p.permeate[i]).abs() / p.permeate[i];
                worst = worst.max(rel);
            }
        }
    }
    eprintln!("zero-correction hybrid vs DSPM-DE: worst relative error {worst:.2e}");
    assert!(worst < 1e-5, "{worst}");
}

/// The untrained hybrid on an SDEM backbone (charged, permeances of every canonical ion) is
/// that SDEM; its model file keeps the SDEM; it refuses a temperature it has no model for.
#[test]
fn the_untrained_hybrid_is_its_sdem_backbone() {
    use np_transport::{ChargeModel, sdem::Sdem};
    let reg = IonRegistry::canonical();
    let permeances = [
        ("Na+", 8e-6),
        ("K+", 1.2e-5),
        ("Li+", 5e-6),
        ("Mg2+", 1e-6),
        ("Ca2+", 1.5e-6),
        ("Cl-", 4e-6),
        ("SO4 2-", 1e-7),
        ("NO3-", 1.4e-5),
    ];
    let sdem = Sdem::new(&reg, &permeances, Conditions::default())
        .unwrap()
        .with_charge(ChargeModel::Constant(-30.0))
        .unwrap();
    let mut m = hybrid((1e-10, 1e-12), 2.0);
    let bb = m.config.backbone.take().unwrap();
    m.config.backbone = Some(bb.with_sdem(sdem.clone()).unwrap());
    let fluxes = [1.234e-7, 3.3e-6, 7.77e-6, 1.61e-5, 2.9e-5];
    let mut worst: f64 = 0.0;
    for feed in feeds() {
        let pred = m.predict_vector(&feed, &fluxes).unwrap();
        let comp = ion_species::Composition::from_vector(&reg, &feed, false).unwrap();
        for (k, p) in sdem.sweep(&comp, &fluxes).unwrap().iter().enumerate() {
            for (i, name) in p.ions.iter().enumerate() {
                let j = m.config.ions.iter().position(|n| n == name).unwrap();
                worst = worst.max((pred.permeate[k][j] - p.permeate[i]).abs() / p.permeate[i]);
            }
        }
    }
    eprintln!("zero-correction hybrid vs SDEM: worst relative error {worst:.2e}");
    assert!(worst < 1e-5, "{worst}");
    // The model file keeps the SDEM.
    let back = saved_and_loaded(&m);
    assert_eq!(back.config.backbone.as_ref().unwrap().sdem, Some(sdem));
    // No temperature model for fitted permeances.
    let e = m
        .config
        .backbone
        .as_ref()
        .unwrap()
        .at_temperature(288.15)
        .unwrap_err();
    assert!(e.to_string().contains("SDEM backbone"), "{e}");
}

#[test]
fn hybrid_field_vjp_matches_finite_differences() {
    let m = perturbed((1e-11, 1e-13), 9);
    let pf = PreparedFeed::new(&m.config, &feeds()[0]).unwrap();
    let f = TrajectoryField::new(&m, &pf.cond).unwrap();
    let h: Vec<f64> = pf.cond.h0.iter().map(|x| x * 0.8).collect();
    let a = [0.3, -0.2, 0.5, 0.7, -0.4, 0.1, 0.9, -0.6];
    let (worst, _, _) = field_vjp_error(&f, &m.params, 0.37, &h, &a);
    eprintln!("hybrid field VJP vs FD: worst {worst:.2e}");
    assert!(worst < 1e-7, "{worst}");
}

/// `m` with a training domain whose largest flux is `tau_max` (normalised).
fn with_domain(mut m: IonModel, tau_max: f64) -> IonModel {
    m.config.domain = Some(TrainingDomain {
        flux_max: tau_max * m.config.flux_scale,
        total_min: 1.0,
        total_max: 500.0,
        ions_seen: vec![true; m.config.ions.len()],
        scatter: None,
    });
    m
}

#[test]
fn the_correction_weight_is_one_inside_and_fades_smoothly_beyond() {
    let tm = 0.4;
    assert_eq!(correction_weight(0.0, tm), 1.0);
    assert_eq!(correction_weight(tm, tm), 1.0);
    // e^-1 at 1.5x, e^-4 at 2x, continuous with a zero slope at the join.
    assert!((correction_weight(1.5 * tm, tm) - (-1.0f64).exp()).abs() < 1e-15);
    assert!((correction_weight(2.0 * tm, tm) - (-4.0f64).exp()).abs() < 1e-15);
    let d = 1e-7;
    let slope = (correction_weight(tm + d, tm) - 1.0) / d;
    assert!(slope.abs() < 1e-5, "{slope}");
    assert_eq!(correction_weight(1e9, f64::INFINITY), 1.0);
}

#[test]
fn beyond_its_training_flux_the_hybrid_hands_over_to_its_backbone() {
    let tm = 0.5;
    let m = with_domain(perturbed((1e-10, 1e-12), 9), tm);
    // The same hybrid without a correction: its DSPM-DE backbone.
    let mut bare = m.clone();
    let start = *bare.layout().layers.last().unwrap();
    bare.params[start..].iter_mut().for_each(|p| *p = 0.0);
    let pf = PreparedFeed::new(&m.config, &feeds()[2]).unwrap();
    let (f, b) = (
        TrajectoryField::new(&m, &pf.cond).unwrap(),
        TrajectoryField::new(&bare, &pf.cond).unwrap(),
    );
    let h: Vec<f64> = pf.cond.h0.iter().map(|x| x * 0.7).collect();
    let rate = |f: &TrajectoryField, p: &[f64], tau: f64| {
        let mut ws = f.workspace();
        let mut dh = vec![0.0; 8];
        f.eval(tau, &h, p, &mut ws, &mut dh);
        dh
    };
    let gap = |tau: f64| {
        let (x, y) = (rate(&f, &m.params, tau), rate(&b, &bare.params, tau));
        let scale = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        x.iter()
            .zip(&y)
            .fold(0.0f64, |a, (u, v)| a.max((u - v).abs()))
            / scale
    };
    // Inside the domain the correction acts; at 4x its weight is e^-36.
    assert!(gap(0.3) > 1e-2, "{}", gap(0.3));
    assert!(gap(4.0 * tm) < 1e-12, "{}", gap(4.0 * tm));
    // Predictions far beyond: the hybrid's offset from its backbone, ln(c / c_D), is what it
    // was at 2x the largest training flux, not carried off by the correction.
    let flux = |x: f64| x * tm * m.config.flux_scale;
    let fluxes = [flux(2.5), flux(4.0), flux(60.0)];
    let bb = bare.predict_vector(&feeds()[2], &fluxes).unwrap();
    let drift = |m: &IonModel| {
        let hy = m.predict_vector(&feeds()[2], &fluxes).unwrap();
        let mut worst: f64 = 0.0;
        for j in (0..8).filter(|&j| pf.cond.mask[j]) {
            let offset = |k: usize| (hy.permeate[k][j] / bb.permeate[k][j]).ln();
            assert!(hy.permeate[2][j] > 0.0 && hy.permeate[2][j].is_finite());
            worst = worst.max((offset(2) - offset(0)).abs());
        }
        worst
    };
    let mut unfaded = m.clone();
    unfaded.config.domain = None;
    let (faded, free) = (drift(&m), drift(&unfaded));
    eprintln!(
        "hybrid's ln(c/c_D), 2.5x to 60x the training flux: moves {faded:.2e} faded, {free:.2e} not"
    );
    // What remains is the projection onto electroneutrality weighting the backbone's rates
    // by the hybrid's state rather than the backbone's.
    assert!(faded < 0.05, "{faded}");
    assert!(free > 10.0 * faded, "{free} vs {faded}");
}

#[test]
fn hybrid_field_vjp_matches_finite_differences_where_the_correction_fades() {
    let m = with_domain(perturbed((1e-11, 1e-13), 9), 0.3);
    let pf = PreparedFeed::new(&m.config, &feeds()[0]).unwrap();
    let f = TrajectoryField::new(&m, &pf.cond).unwrap();
    let h: Vec<f64> = pf.cond.h0.iter().map(|x| x * 0.8).collect();
    let a = [0.3, -0.2, 0.5, 0.7, -0.4, 0.1, 0.9, -0.6];
    // Weight exp(-(0.07 / 0.15)^2) = 0.80.
    let (worst, _, vp) = field_vjp_error(&f, &m.params, 0.37, &h, &a);
    assert!(vp.iter().any(|&x| x != 0.0));
    assert!(worst < 1e-7, "{worst}");
}

#[test]
fn hybrid_trajectory_gradient_matches_finite_differences() {
    let m = perturbed((1e-11, 1e-13), 4);

    let pf = PreparedFeed::new(&m.config, &feeds()[2]).unwrap();
    let t = support::falling_trajectory(pf, &[0.3, 1.0, 1.7], 0.25);
    let targets = t.targets.clone();
    let (_, g, _) = trajectory_gradient(&m, &t, &targets, 0, true).unwrap();
    let loss = |p: &[f64]| {
        let mm = IonModel::from_parts(m.config.clone(), p.to_vec()).unwrap();
        trajectory_gradient(&mm, &t, &targets, 0, false).unwrap().0
    };
    // The loss of an adaptive solve jumps by ~1e-9 where a step is accepted rather than
    // rejected (the backbone's slope a(tau) is only C0 in its derivative at the grid nodes),
    // so the difference quotient needs a large step: eps 1e-3 gives 2e-6, eps 1e-5 2e-5 and
    // eps 1e-7 3e-2, the signature of loss noise, not of a wrong gradient.
    let (worst, gmax) = support::gradient_fd_error(loss, &m.params, &g, 1e-3, 2);
    assert!(gmax > 1e-6, "the perturbed correction must have a gradient");
    eprintln!("hybrid trajectory gradient vs FD: worst {worst:.2e} of max |g| {gmax:.2e}");
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn a_hybrid_needs_the_positive_constraint_and_known_ions() {
    let mut m = hybrid((1e-5, 1e-7), 2.0);
    m.config.constraint = Constraint::Hard;
    let err = m.config.validate().unwrap_err().to_string();
    assert!(err.contains("positivity-preserving"), "{err}");
    // A model file edited to a degenerate grid is refused on load, not integrated.
    let mut m = hybrid((1e-5, 1e-7), 2.0);
    m.config.backbone.as_mut().unwrap().tau_c = 0.0;
    let err = m.config.validate().unwrap_err().to_string();
    assert!(err.contains("backbone grid"), "{err}");
    let mut m = hybrid((1e-5, 1e-7), 2.0);
    m.config.backbone.as_mut().unwrap().ions.pop();
    assert!(m.config.validate().is_err());
    let reg = IonRegistry::canonical();
    let err = Backbone::new(
        Membrane::nf270_like(),
        Conditions::default(),
        &reg,
        &["Unobtainium+".to_string()],
        1.0,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("Unobtainium"), "{err}");
}

/// `m` written to a model file and read back.
fn saved_and_loaded(m: &IonModel) -> IonModel {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.json");
    iontransport_model::Checkpoint::of_model(m, 0)
        .save(&path)
        .unwrap();
    iontransport_model::Checkpoint::load(&path)
        .unwrap()
        .model()
        .unwrap()
}

#[test]
fn a_hybrid_model_file_round_trips() {
    let m = perturbed((1e-6, 1e-8), 2);
    let back = saved_and_loaded(&m);
    assert_eq!(back.config, m.config);
    let a = m.predict_vector(&feeds()[1], &[5e-6, 1.5e-5]).unwrap();
    let b = back.predict_vector(&feeds()[1], &[5e-6, 1.5e-5]).unwrap();
    assert_eq!(a.permeate, b.permeate);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn hybrid_predictions_are_positive_and_electroneutral(
        na in 0.5f64..200.0, mg in 0.0f64..50.0, so4_share in 0.0f64..1.0,
        k in 0.0f64..5.0, seed in 0u64..1000,
    ) {
        let m = perturbed((1e-6, 1e-8), seed);
        // Cations Na+, K+, Mg2+; anions SO4 2- and Cl- share the charge.
        let pos = na + k + 2.0 * mg;
        let so4 = so4_share * pos / 2.0;
        let cl = pos - 2.0 * so4;
        let feed = vec![na, k, 0.0, mg, 0.0, cl, so4, 0.0];
        let pred = m.predict_vector(&feed, &[1e-6, 5e-6, 1e-5, 1.8e-5]).unwrap();
        for row in &pred.permeate {
            let charge: f64 = row.iter().zip(&m.config.valences).map(|(c, z)| c * z).sum();
            let total: f64 = row.iter().zip(&m.config.valences).map(|(c, z)| c * z.abs()).sum();
            prop_assert!(charge.abs() <= 1e-9 * total, "charge {charge} of {total}");
            for (j, c) in row.iter().enumerate() {
                if feed[j] > 0.0 {
                    prop_assert!(*c > 0.0, "ion {j}: {c}");
                }
            }
        }
    }
}

#[test]
fn a_backbone_with_an_impossible_charge_is_refused_by_name() {
    // The charge, not a feed, is what a user must change.
    let reg = IonRegistry::canonical();
    let cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::HardPositive);
    for x in [-1e7, f64::NAN] {
        let membrane = Membrane {
            charge: np_transport::ChargeModel::Constant(x),
            ..Membrane::nf270_like()
        };
        let err = Backbone::new(membrane, Conditions::default(), &reg, &cfg.ions, 2.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("charge") && !err.contains("feed"), "{err}");
    }
}

/// A hybrid at another temperature moves its backbone: the same backbone as one built at
/// that temperature from the registry (conditions and Stokes-Einstein diffusivities), and
/// back again to the original. A neural ODE without a backbone refuses a temperature.
#[test]
fn a_hybrid_moves_its_backbone_to_a_temperature() {
    let m = hybrid((1e-8, 1e-10), 1.0);
    let b = m.config.backbone.clone().unwrap();
    let cold = m.at_temperature(293.15).unwrap();
    let moved = cold.config.backbone.clone().unwrap();
    let reg = IonRegistry::canonical().at_temperature(293.15).unwrap();
    let built = Backbone::new(
        b.membrane.clone(),
        b.conditions.at_temperature(293.15).unwrap(),
        &reg,
        &m.config.ions,
        b.tau_max,
    )
    .unwrap();
    assert_eq!(moved.conditions, built.conditions);
    for (a, c) in moved.ions.iter().zip(&built.ions) {
        assert!(
            (a.diffusivity / c.diffusivity - 1.0).abs() < 1e-12,
            "{}",
            a.name
        );
    }
    let back = moved.at_temperature(b.conditions.temperature).unwrap();
    for (a, c) in back.ions.iter().zip(&b.ions) {
        assert!(
            (a.diffusivity / c.diffusivity - 1.0).abs() < 1e-12,
            "{}",
            a.name
        );
    }
    assert!((back.conditions.bulk_dielectric - b.conditions.bulk_dielectric).abs() < 1e-9);
    // Its own temperature changes nothing; a model without a backbone has no temperature.
    assert_eq!(
        m.at_temperature(b.conditions.temperature).unwrap().params,
        m.params
    );
    let mut plain = m.clone();
    plain.config.backbone = None;
    let e = plain.at_temperature(293.15).unwrap_err().to_string();
    assert!(e.contains("no temperature input"), "{e}");
}
