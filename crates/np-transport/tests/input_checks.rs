//! Input that used to be evaluated silently, or refused late with a misleading message, is
//! refused at once by a typed error that names it.

use ion_species::{Composition, IonRegistry};
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, Membrane, RejectionMeasurement, Starts,
    TransportError, fit,
};

fn nacl() -> Composition {
    Composition::from_mmol_per_l(&IonRegistry::canonical(), &[("Na+", 10.0), ("Cl-", 10.0)])
        .unwrap()
}

fn invalid(e: TransportError) -> &'static str {
    match e {
        TransportError::InvalidParameter { name, .. } => name,
        other => panic!("not an invalid parameter: {other}"),
    }
}

#[test]
fn absurd_membranes_are_refused() {
    let with = |f: &dyn Fn(&mut Membrane)| {
        let mut m = Membrane::nf270_like();
        f(&mut m);
        Dspmde::new(m, Conditions::default())
    };
    // X_d = -1e9 mol/m^3 and a 1e-12 m layer used to be solved.
    let e = with(&|m| m.charge = ChargeModel::Constant(-1e9)).unwrap_err();
    assert_eq!(invalid(e), "charge");
    let e = with(&|m| m.charge = ChargeModel::Freundlich { a: 1e7, b: 0.5 }).unwrap_err();
    assert_eq!(invalid(e), "charge.a");
    let e = with(&|m| m.effective_thickness = 1e-12).unwrap_err();
    assert_eq!(invalid(e), "effective_thickness");
    // The limits themselves still solve.
    let m = with(&|m| m.charge = ChargeModel::Constant(-np_transport::MAX_CHARGE_DENSITY)).unwrap();
    m.solve(&nacl(), 1e-5).unwrap();
}

#[test]
fn an_impossible_feed_concentration_is_refused() {
    let reg = IonRegistry::canonical();
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let feed = Composition::from_mol_per_l(&reg, &[("Na+", 1e9), ("Cl-", 1e9)]).unwrap();
    let e = m.solve(&feed, 1e-5).unwrap_err().to_string();
    assert!(e.contains("10 mol/L") && e.contains("Na+"), "{e}");
}

#[test]
fn a_pressure_is_refused_rather_than_answered_with_a_flux_no_solve_accepts() {
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    // 1e12 Pa: beyond 200 bar, said so (it suggested an L/m2/h slip).
    let e = m.solve_at_pressure(&nacl(), 1e12).unwrap_err().to_string();
    assert!(e.contains("200 bar"), "{e}");
    // A wide-pore membrane at 100 bar: Hagen-Poiseuille gives far more than MAX_FLUX (the
    // flux used to be returned, and `solve` refused it).
    let wide = Dspmde::new(
        Membrane {
            pore_radius: 20e-9,
            ..Membrane::nf270_like()
        },
        Conditions::default(),
    )
    .unwrap();
    let e = wide
        .solve_at_pressure(&nacl(), 1e7)
        .unwrap_err()
        .to_string();
    assert!(e.contains("above MAX_FLUX"), "{e}");
    // A pressure inside the range still gives a flux that `solve` reproduces.
    let p = m.solve_at_pressure(&nacl(), 1e6).unwrap();
    let q = m.solve(&nacl(), p.flux).unwrap();
    assert!((p.rejection[0] - q.rejection[0]).abs() < 1e-9);
}

#[test]
fn generation_settings_that_fell_silently_into_one_regime_are_refused() {
    let reg = IonRegistry::canonical();
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    for w in [[0.0; 3], [f64::NAN, 1.0, 0.0], [-1.0, 1.0, 1.0]] {
        let cfg = GeneratorConfig {
            feeds: 2,
            fluxes: flux_grid(2e-5, 3),
            regime_weights: w,
            ..GeneratorConfig::default()
        };
        let e = generate(&m, &reg, &cfg, "t").unwrap_err();
        assert_eq!(invalid(e), "regime_weights", "{w:?}");
    }
    // Shard 3 of 4 of two feeds holds nothing (it said "every feed failed").
    let cfg = GeneratorConfig {
        feeds: 2,
        fluxes: flux_grid(2e-5, 3),
        shard: (3, 4),
        ..GeneratorConfig::default()
    };
    let e = generate(&m, &reg, &cfg, "t").unwrap_err().to_string();
    assert!(e.contains("fewer feeds than shards"), "{e}");
}

fn measurements(flux: f64, rejections: Vec<(String, f64)>) -> Vec<RejectionMeasurement> {
    (0..6)
        .map(|k| {
            RejectionMeasurement::observed(nacl(), flux * (1.0 + k as f64), rejections.clone())
        })
        .collect()
}

#[test]
fn a_fit_names_bad_measurements_before_solving_anything() {
    let opts = FitOptions {
        starts: Starts::Initial,
        ..FitOptions::new(Membrane::nf270_like(), Conditions::default())
    };
    let ok = || vec![("Na+".to_string(), 0.5)];
    let cases: Vec<(Vec<RejectionMeasurement>, &str)> = vec![
        (measurements(-1e-6, ok()), "must be in (0,"),
        (measurements(10.0, ok()), "must be in (0,"),
        (
            measurements(1e-6, vec![("Na+".into(), f64::NAN)]),
            "not finite or outside",
        ),
        // A rejection of 5 took 105 s before "not identifiable".
        (
            measurements(1e-6, vec![("Na+".into(), 5.0)]),
            "not a percentage",
        ),
        // An observation of an ion outside the feed was dropped, then failed every start.
        (
            measurements(1e-6, vec![("Mg^2+".into(), 0.5)]),
            "not in its feed",
        ),
        (
            measurements(1e-6, vec![("Na+".into(), 0.5), ("Na+".into(), 0.4)]),
            "measured twice",
        ),
    ];
    for (data, want) in cases {
        let e = fit(&data, &opts).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
        assert!(e.contains("measurement 0"), "{e}");
        // No solve ran: an error from the checks, not from the optimiser.
        assert!(!e.contains("no start converged"), "{e}");
    }
    let e = fit(
        &measurements(1e-6, ok()),
        &FitOptions {
            max_evaluations: 0,
            ..opts.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("max_evaluations is 0"), "{e}");
}
