//! A membrane charge set by the feed's multivalent ions: its shares by hand, the solver equal
//! to a constant charge of the same value, a fit that recovers it from three feeds and
//! predicts a fourth, and bad input named.

use ion_species::{Composition, IonRegistry};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitJacobian, FitOptions, Membrane, RejectionMeasurement,
    Starts, TransportError, fit, multivalent_shares,
};

fn feed(pairs: &[(&str, f64)]) -> Composition {
    Composition::from_mmol_per_l(&IonRegistry::extended(), pairs).unwrap()
}

const TRUTH: ChargeModel = ChargeModel::Multivalent {
    x0: -50.0,
    cations: 45.0,
    anions: -30.0,
};

fn membrane(charge: ChargeModel) -> Membrane {
    Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 2e-6,
        charge,
        ..Membrane::nf270_like()
    }
}

#[test]
fn shares_and_charge_by_hand() {
    // 10 Na+ + 5 Mg2+ (cation equivalents 10 + 10), 10 Cl- + 5 SO4 2- (10 + 10).
    let f = feed(&[("Na+", 10.0), ("Mg2+", 5.0), ("Cl-", 10.0), ("SO4 2-", 5.0)]);
    let (c, a) = multivalent_shares(&f);
    assert!(
        (c - 0.5).abs() < 1e-12 && (a - 0.5).abs() < 1e-12,
        "{c} {a}"
    );
    assert!((TRUTH.charge_of(&f) - (-50.0 + 22.5 - 15.0)).abs() < 1e-12);
    assert_eq!(
        multivalent_shares(&feed(&[("Na+", 1.0), ("Cl-", 1.0)])),
        (0.0, 0.0)
    );
    // Without feed: its monovalent value.
    assert_eq!(TRUTH.charge_density(100.0), -50.0);
    assert_eq!(TRUTH.to_string(), "X_d = -50 + 45 f2+ + -30 f2- mol/m3");
}

#[test]
fn the_solver_sees_the_charge_of_its_feed() {
    let f = feed(&[("Mg2+", 10.0), ("Cl-", 20.0)]);
    let a = Dspmde::new(membrane(TRUTH), Conditions::default())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    let b = Dspmde::new(membrane(ChargeModel::Constant(-5.0)), Conditions::default())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    assert_eq!(a.charge_density, -5.0);
    for (x, y) in a.rejection.iter().zip(&b.rejection) {
        assert!((x - y).abs() < 1e-12, "{x} {y}");
    }
}

/// NaCl, MgCl2 and Na2SO4 feeds measured; the fitted charge predicts MgSO4, a combination of
/// multivalent ions no training feed had, as the truth does.
#[test]
fn a_fit_recovers_the_charge_and_predicts_a_new_combination() {
    let truth = Dspmde::new(membrane(TRUTH), Conditions::default()).unwrap();
    let mut data = Vec::new();
    for f in [
        feed(&[("Na+", 20.0), ("Cl-", 20.0)]),
        feed(&[("Mg2+", 10.0), ("Cl-", 20.0)]),
        feed(&[("Na+", 20.0), ("SO4 2-", 10.0)]),
    ] {
        for jv in [3e-6, 1e-5, 3e-5] {
            let p = truth.solve(&f, jv).unwrap();
            let rejections = p.ions.iter().cloned().zip(p.rejection.clone()).collect();
            data.push(RejectionMeasurement::observed(f.clone(), jv, rejections));
        }
    }
    let opts = FitOptions {
        charge_multivalent: true,
        starts: Starts::Grid,
        jacobian: FitJacobian::Implicit,
        ..FitOptions::new(Membrane::nf270_like(), Conditions::default())
    };
    let r = fit(&data, &opts).unwrap();
    let ChargeModel::Multivalent {
        x0,
        cations,
        anions,
    } = r.membrane.charge
    else {
        panic!("{}", r.membrane.charge)
    };
    assert!(
        (x0 + 50.0).abs() < 0.05 && (cations - 45.0).abs() < 0.05 && (anions + 30.0).abs() < 0.05,
        "{}",
        r.membrane.charge
    );
    let mgso4 = feed(&[("Mg2+", 10.0), ("SO4 2-", 10.0)]);
    let fitted = Dspmde::new(r.membrane.clone(), Conditions::default()).unwrap();
    let (a, b) = (
        fitted.solve(&mgso4, 1e-5).unwrap(),
        truth.solve(&mgso4, 1e-5).unwrap(),
    );
    for (x, y) in a.rejection.iter().zip(&b.rejection) {
        assert!((x - y).abs() < 1e-4, "{x} {y}");
    }
    // A constant charge cannot describe the three feeds.
    let constant = fit(
        &data,
        &FitOptions {
            charge_multivalent: false,
            ..opts.clone()
        },
    )
    .unwrap();
    assert!(
        constant.rmse > 100.0 * r.rmse.max(1e-7),
        "{} {}",
        constant.rmse,
        r.rmse
    );
    // One form of the charge at a time.
    let both = FitOptions {
        charge_isotherm: true,
        ..opts
    };
    assert!(
        fit(&data, &both)
            .unwrap_err()
            .to_string()
            .contains("choose one")
    );
}

#[test]
fn bad_charges_are_named_and_files_keep_the_form() {
    for bad in [
        ChargeModel::Multivalent {
            x0: f64::NAN,
            cations: 0.0,
            anions: 0.0,
        },
        ChargeModel::Multivalent {
            x0: 0.0,
            cations: 2e4,
            anions: 0.0,
        },
    ] {
        let e = membrane(bad).validate().unwrap_err();
        assert!(
            matches!(e, TransportError::InvalidParameter { name: "charge", .. }),
            "{e}"
        );
    }
    let m = membrane(TRUTH);
    let back: Membrane = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}
