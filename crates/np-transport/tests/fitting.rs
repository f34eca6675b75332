//! Parameter fitting recovers known membranes.

use ion_species::{Composition, IonRegistry};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, IsothermForm, Membrane, RejectionMeasurement,
    Starts, fit, residuals,
};

#[path = "support/membranes.rs"]
mod membranes;
use membranes::truth;

fn data(noise: &[f64]) -> Vec<RejectionMeasurement> {
    let reg = IonRegistry::canonical();
    let feeds = [
        Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap(),
    ];
    let model = Dspmde::new(truth(), Conditions::default()).unwrap();
    let mut out = vec![];
    let mut k = 0;
    for feed in &feeds {
        for jv in [2e-6, 5e-6, 1e-5, 2e-5] {
            let p = model.solve(feed, jv).unwrap();
            // The salt's cation rejection (equal to the anion's for a single salt).
            out.push(RejectionMeasurement::observed(
                feed.clone(),
                jv,
                vec![(p.ions[0].clone(), p.rejection[0] + noise[k % noise.len()])],
            ));
            k += 1;
        }
    }
    out
}

fn opts() -> FitOptions {
    FitOptions {
        starts: Starts::Initial,
        ..FitOptions::new(Membrane::nf270_like(), Conditions::default())
    }
}

#[test]
fn noise_free_data_recovers_the_membrane() {
    let r = fit(&data(&[0.0]), &opts()).unwrap();
    let t = truth();
    eprintln!(
        "fitted r_p = {:.5e}, dx = {:.5e}, X = {:?}, rmse {:.2e}, {} evaluations",
        r.membrane.pore_radius,
        r.membrane.effective_thickness,
        r.membrane.charge,
        r.rmse,
        r.evaluations
    );
    assert!((r.membrane.pore_radius / t.pore_radius - 1.0).abs() < 1e-4);
    assert!((r.membrane.effective_thickness / t.effective_thickness - 1.0).abs() < 1e-3);
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    assert!((x + 30.0).abs() < 1e-2, "{x}");
    assert!(r.rmse < 1e-7);
}

#[test]
fn noisy_data_gives_standard_errors_that_cover_the_truth() {
    // Fixed pseudo-noise of amplitude 0.005 in rejection.
    let noise = [
        0.004, -0.003, 0.005, -0.001, 0.002, -0.005, 0.001, 0.003, -0.004, 0.0, 0.002, -0.002,
    ];
    let r = fit(&data(&noise), &opts()).unwrap();
    let t = truth();
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    eprintln!(
        "r_p = {:.4e} +/- {:.1e}, dx = {:.3e} +/- {:.1e}, X = {x:.2} +/- {:.2}, rmse {:.2e}",
        r.membrane.pore_radius,
        r.se_pore_radius,
        r.membrane.effective_thickness,
        r.se_effective_thickness,
        r.se_charge,
        r.rmse
    );
    assert!((r.membrane.pore_radius - t.pore_radius).abs() < 4.0 * r.se_pore_radius);
    assert!(
        (r.membrane.effective_thickness - t.effective_thickness).abs()
            < 4.0 * r.se_effective_thickness
    );
    assert!((x + 30.0).abs() < 4.0 * r.se_charge);
    assert!(r.se_pore_radius > 0.0 && r.rmse > 1e-3 && r.rmse < 1e-2);
}

#[test]
fn too_few_observations_is_an_error() {
    let d = data(&[0.0]);
    assert!(fit(&d[..2], &opts()).is_err());
}

/// Rejections of Mg2+, Li+ and Cl- for MgCl2 + LiCl brines on `m` (ideal, no polarisation),
/// at four fluxes each, with fixed pseudo-noise of amplitude 0.003.
fn brine(m: &Membrane) -> Vec<RejectionMeasurement> {
    let reg = IonRegistry::canonical();
    let feeds = [
        Composition::from_mmol_per_l(&reg, &[("Mg2+", 100.0), ("Li+", 5.0), ("Cl-", 205.0)])
            .unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Mg2+", 40.0), ("Li+", 20.0), ("Cl-", 100.0)])
            .unwrap(),
    ];
    let noise = [0.002, -0.003, 0.001, 0.003, -0.002, 0.0];
    let model = Dspmde::new(m.clone(), Conditions::default()).unwrap();
    let mut out = vec![];
    let mut k = 0;
    for feed in &feeds {
        for jv in [3e-6, 6e-6, 1.2e-5, 2.4e-5] {
            let p = model.solve(feed, jv).unwrap();
            let rejections = p
                .ions
                .iter()
                .zip(&p.rejection)
                .map(|(n, r)| {
                    k += 1;
                    (n.clone(), r + noise[k % noise.len()])
                })
                .collect();
            out.push(RejectionMeasurement::observed(feed.clone(), jv, rejections));
        }
    }
    out
}

/// An NF270-like membrane with a weak positive charge (MgCl2 brines at low pH) and
/// eps_p = 41.3.
fn tight_nf270() -> Membrane {
    Membrane {
        pore_radius: 0.6e-9,
        effective_thickness: 1.2e-6,
        charge: ChargeModel::Constant(10.0),
        pore_dielectric: 41.3,
        pore_size_distribution: None,
        partitioning: Default::default(),
    }
}

#[test]
fn lithium_is_negatively_rejected_in_the_brine() {
    // The published behaviour the fitting test relies on (Mg2+ and Cl- rejected, Li+ pushed
    // through to keep the permeate neutral).
    let d = brine(&tight_nf270());
    let li = d[2].rejections.iter().find(|(n, _)| n == "Li+").unwrap().1;
    let mg = d[2]
        .rejections
        .iter()
        .find(|(n, _)| n == "Mg^2+")
        .unwrap()
        .1;
    assert!(li < -0.3 && mg > 0.9, "R(Li) {li}, R(Mg) {mg}");
}

/// The Gauss-Newton step in (ln r_p, ln dx, X/100) from `m`: where an unbounded optimiser
/// would go next.
fn unbounded_step(data: &[RejectionMeasurement], m: &Membrane) -> [f64; 3] {
    use np_transport::residuals;
    let c = Conditions::default();
    let at = |v: [f64; 3]| {
        let m = Membrane {
            pore_radius: v[0].exp(),
            effective_thickness: v[1].exp(),
            charge: ChargeModel::Constant(100.0 * v[2]),
            ..m.clone()
        };
        residuals(data, &m, &c).unwrap()
    };
    let ChargeModel::Constant(x) = m.charge else {
        panic!()
    };
    let v = [m.pore_radius.ln(), m.effective_thickness.ln(), x / 100.0];
    let r = at(v);
    let n = r.len();
    let mut jac = nalgebra::DMatrix::zeros(n, 3);
    for k in 0..3 {
        let (mut p, mut q) = (v, v);
        p[k] += 1e-5;
        q[k] -= 1e-5;
        let (rp, rq) = (at(p), at(q));
        for i in 0..n {
            jac[(i, k)] = (rp[i] - rq[i]) / 2e-5;
        }
    }
    let r = nalgebra::DVector::from_vec(r);
    let step = (jac.transpose() * &jac).try_inverse().unwrap() * (jac.transpose() * r);
    [v[0] - step[0], v[1] - step[1], v[2] - step[2]]
}

#[test]
fn bounded_fit_crosses_the_infeasible_region_without_aborting() {
    let truth = tight_nf270();
    let data = brine(&truth);
    // From this start the unbounded Gauss-Newton step lands at a pore below
    // r_s(Mg) / 0.95 = 0.365 nm, where the DSPM-DE has no solution (the failure the
    // unbounded fit aborted on).
    let start = Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 3e-6,
        charge: ChargeModel::Constant(-10.0),
        pore_dielectric: 41.3,
        ..Membrane::nf270_like()
    };
    let r_min = 0.347e-9 / 0.95;
    let next = unbounded_step(&data, &start);
    assert!(
        next[0].exp() < r_min,
        "the unbounded step goes to {:e} m",
        next[0].exp()
    );
    let mut o = opts();
    o.initial = start;
    o.starts = Starts::Grid;
    let r = fit(&data, &o).unwrap();
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    eprintln!(
        "r_p {:.4e} ± {:.1e}, dx {:.3e}, X {x:.2} ± {:.2}, rmse {:.2e}, starts {}/{}/{}, \
         corr {:?}, at bound {:?}",
        r.membrane.pore_radius,
        r.se_pore_radius,
        r.membrane.effective_thickness,
        r.se_charge,
        r.rmse,
        r.agreeing_starts,
        r.converged_starts,
        r.starts,
        r.correlation,
        r.at_bound
    );
    assert!(r.membrane.pore_radius >= r_min);
    assert_eq!(r.starts, 10);
    assert!(r.converged_starts >= 5, "{}", r.converged_starts);
    assert!(r.agreeing_starts >= 3, "{}", r.agreeing_starts);
    // The noise is 0.003 at most: the best fit explains the data to that level.
    assert!(r.rmse < 3e-3, "{}", r.rmse);
    assert!((r.membrane.pore_radius - truth.pore_radius).abs() < 4.0 * r.se_pore_radius + 0.01e-9);
    assert!((x - 10.0).abs() < 4.0 * r.se_charge + 0.5, "{x}");
    // Correlations: symmetric, unit diagonal, within [-1, 1].
    for i in 0..3 {
        assert!((r.correlation[i][i] - 1.0).abs() < 1e-12);
        for j in 0..3 {
            assert!((r.correlation[i][j] - r.correlation[j][i]).abs() < 1e-12);
            assert!(r.correlation[i][j].abs() <= 1.0 + 1e-12);
        }
    }
}

#[test]
fn pore_permittivity_stays_between_one_and_the_bulk_value() {
    let data = brine(&tight_nf270());
    let mut o = opts();
    o.fit_dielectric = true;
    o.initial.pore_dielectric = 70.0;
    o.initial.charge = ChargeModel::Constant(10.0);
    let r = fit(&data, &o).unwrap();
    let eps_b = Conditions::default().bulk_dielectric;
    assert!(
        r.membrane.pore_dielectric >= 1.0 && r.membrane.pore_dielectric <= eps_b,
        "{}",
        r.membrane.pore_dielectric
    );
    assert!(r.se_pore_dielectric.unwrap() > 0.0);
    assert_eq!(r.parameters.len(), 4);
}

#[test]
fn user_bounds_are_respected_and_empty_ones_are_errors() {
    let data = brine(&tight_nf270());
    let mut o = opts();
    o.bounds.charge = (-100.0, 0.0); // excludes the true +10
    o.initial.charge = ChargeModel::Constant(-30.0);
    let r = fit(&data, &o).unwrap();
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    assert!((-100.0..=0.0).contains(&x));
    // A pore bound below the true 0.6 nm: the fit ends on it and says so.
    let mut o = opts();
    o.bounds.pore_radius = (0.1e-9, 0.45e-9);
    let r = fit(&data, &o).unwrap();
    assert!(r.membrane.pore_radius <= 0.45e-9);
    assert!(
        r.at_bound.iter().any(|n| n == "pore_radius"),
        "{:e} {:?}",
        r.membrane.pore_radius,
        r.at_bound
    );
    // A pore bound below what Mg2+ needs leaves nothing.
    o.bounds.pore_radius = (0.1e-9, 0.3e-9);
    let e = fit(&data, &o).unwrap_err().to_string();
    assert!(e.contains("pore_radius"), "{e}");
}

#[test]
fn unidentifiable_parameters_are_an_error_not_zero_standard_errors() {
    // One neutral-ish salt at one flux, repeated: the rejection at one point cannot fix three
    // parameters (the same observation 5 times).
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    let p = Dspmde::new(truth(), Conditions::default())
        .unwrap()
        .solve(&feed, 1e-5)
        .unwrap();
    let data: Vec<RejectionMeasurement> = (0..5)
        .map(|_| {
            RejectionMeasurement::observed(feed.clone(), 1e-5, vec![("Na+".into(), p.rejection[0])])
        })
        .collect();
    let e = fit(&data, &opts()).unwrap_err().to_string();
    assert!(e.contains("not identifiable"), "{e}");
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn fitting_never_aborts_on_an_infeasible_trial_point(
        r_true in 0.37e-9f64..0.6e-9,
        x_true in -60.0f64..40.0,
        r_start in 0.37e-9f64..1.2e-9,
        x_start in -80.0f64..60.0,
        dx_start in 5e-7f64..5e-6,
    ) {
        let truth = Membrane { pore_radius: r_true, charge: ChargeModel::Constant(x_true), ..tight_nf270() };
        let data = brine(&truth);
        let mut o = opts();
        o.initial = Membrane {
            pore_radius: r_start,
            effective_thickness: dx_start,
            charge: ChargeModel::Constant(x_start),
            ..tight_nf270()
        };
        match fit(&data, &o) {
            Ok(r) => {
                prop_assert!(r.membrane.pore_radius >= 0.347e-9 / 0.95);
                prop_assert!(r.rmse.is_finite());
                prop_assert!(r.converged_starts >= 1);
            }
            // Only the documented failures: no start converged, or not identifiable.
            Err(e) => {
                let s = e.to_string();
                prop_assert!(s.contains("no start converged") || s.contains("not identifiable"), "{}", s);
            }
        }
    }
}

#[test]
fn a_freundlich_charge_isotherm_is_recovered_from_feeds_of_several_ionic_strengths() {
    // Truth: X_d = -8 I^0.35 (the shipped synthetic set's isotherm), NaCl and Na2SO4 at
    // 5-200 mmol/L.
    let truth = Membrane {
        charge: ChargeModel::Freundlich { a: -8.0, b: 0.35 },
        ..truth()
    };
    let data = salts_across_strengths(&truth);
    let mut o = opts();
    o.charge_isotherm = true;
    let r = fit(&data, &o).unwrap();
    let ChargeModel::Freundlich { a, b } = r.membrane.charge else {
        panic!("{:?}", r.membrane.charge)
    };
    eprintln!(
        "isotherm fit: a = {a:.4}, b = {b:.4}, rmse {:.1e}, se(b) {:?}, parameters {:?}",
        r.rmse, r.se_charge_exponent, r.parameters
    );
    assert!((b - 0.35).abs() < 1e-3, "{b}");
    assert!((a + 8.0).abs() < 0.05, "{a}");
    assert!((r.membrane.pore_radius / truth.pore_radius - 1.0).abs() < 1e-3);
    assert!(r.rmse < 1e-6);
    assert_eq!(r.parameters[3], "charge_exponent");
    // A constant charge cannot fit these data as well.
    let c = fit(&data, &opts()).unwrap();
    assert!(c.rmse > 100.0 * r.rmse, "{} vs {}", c.rmse, r.rmse);
    // On top of that constant fit (as `fit --isotherm` does), the isotherm is found again.
    let on_top = np_transport::fit_isotherm(&data, &opts(), &c).unwrap();
    let ChargeModel::Freundlich { b: b2, .. } = on_top.membrane.charge else {
        panic!("{:?}", on_top.membrane.charge)
    };
    assert!((b2 - 0.35).abs() < 1e-3, "{b2}");
    assert!(on_top.rmse < 1e-6 && on_top.starts == 2, "{}", on_top.rmse);
    // One ionic strength cannot determine it: the constant fit comes back unchanged.
    let one: Vec<_> = data.iter().take(3).cloned().collect();
    let c1 = fit(&one, &opts()).unwrap();
    assert_eq!(np_transport::fit_isotherm(&one, &opts(), &c1).unwrap(), c1);
    // A Freundlich start without the isotherm flag is refused, not silently flattened.
    let mut bad = opts();
    bad.initial.charge = ChargeModel::Freundlich { a: -8.0, b: 0.3 };
    assert!(
        fit(&data, &bad)
            .unwrap_err()
            .to_string()
            .contains("charge_isotherm")
    );
}

/// NaCl and Na2SO4 at 5-200 mmol/L, three fluxes each, every ion's rejection, from `truth`.
fn salts_across_strengths(truth: &Membrane) -> Vec<RejectionMeasurement> {
    let reg = IonRegistry::canonical();
    let model = Dspmde::new(truth.clone(), Conditions::default()).unwrap();
    let mut data = vec![];
    for c in [5.0, 20.0, 60.0, 200.0] {
        for feed in [
            Composition::from_mmol_per_l(&reg, &[("Na+", c), ("Cl-", c)]).unwrap(),
            Composition::from_mmol_per_l(&reg, &[("Na+", 2.0 * c), ("SO4 2-", c)]).unwrap(),
        ] {
            for jv in [3e-6, 1e-5, 2e-5] {
                let p = model.solve(&feed, jv).unwrap();
                data.push(RejectionMeasurement::observed(
                    feed.clone(),
                    jv,
                    p.ions.iter().cloned().zip(p.rejection.clone()).collect(),
                ));
            }
        }
    }
    data
}

#[test]
fn a_langmuir_charge_isotherm_is_recovered_and_told_from_a_freundlich_one() {
    // Truth: X_d = -60 I / (40 + I) mol/m3: half its saturation at 40 mol/m3, so the feeds'
    // 7.5-600 mol/m3 of ionic strength see both the rising and the saturated part.
    let truth = Membrane {
        charge: ChargeModel::Langmuir {
            x_max: -60.0,
            k: 40.0,
        },
        ..truth()
    };
    let data = salts_across_strengths(&truth);
    let mut o = opts();
    o.isotherm_form = IsothermForm::Langmuir;
    let constant = fit(&data, &o).unwrap();
    let r = np_transport::fit_isotherm(&data, &o, &constant).unwrap();
    let ChargeModel::Langmuir { x_max, k } = r.membrane.charge else {
        panic!("{:?}", r.membrane.charge)
    };
    eprintln!(
        "langmuir fit: x_max {x_max:.4}, k {k:.4}, rmse {:.1e}",
        r.rmse
    );
    assert!((k / 40.0 - 1.0).abs() < 1e-3, "{k}");
    assert!((x_max / -60.0 - 1.0).abs() < 1e-3, "{x_max}");
    assert!(r.rmse < 1e-6, "{}", r.rmse);
    assert_eq!(r.parameters[3], "charge_half_saturation");
    let (kv, se, unit) = r.value("charge_half_saturation").unwrap();
    assert_eq!((kv, unit), (k, "mol/m3"));
    assert!(se.is_finite() && se > 0.0, "{se}");
    assert!(r.se_charge_exponent.is_none());
    // The Freundlich form cannot follow a saturating charge over two decades of I as well.
    let freundlich = np_transport::fit_isotherm(&data, &opts(), &constant).unwrap();
    assert!(
        freundlich.rmse > 100.0 * r.rmse && constant.rmse > freundlich.rmse,
        "constant {}, freundlich {}, langmuir {}",
        constant.rmse,
        freundlich.rmse,
        r.rmse
    );
    // A Langmuir start for a Freundlich fit is refused with the cure.
    let mut bad = opts();
    bad.charge_isotherm = true;
    bad.initial = r.membrane.clone();
    let e = fit(&data, &bad).unwrap_err().to_string();
    assert!(e.contains("isotherm_form"), "{e}");
}

#[test]
fn measurements_at_their_own_temperature_use_scaled_diffusivities_and_permittivity() {
    use np_transport::data::RejectionBasis;
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    let membrane = Membrane::nf270_like();
    let base = Conditions::default();
    let model = Dspmde::new(membrane.clone(), base.clone()).unwrap();
    let at_25 = model.solve(&feed, 1e-5).unwrap().rejection[0];
    // The same measurement at 20 °C: compared with the model whose ions diffuse 12.7 % slower
    // (Stokes-Einstein with the water viscosity) and whose bulk permittivity is 2.3 % higher.
    let cold = Conditions::default().at_temperature(293.15).unwrap();
    assert!((cold.bulk_dielectric / base.bulk_dielectric - 80.10 / 78.30).abs() < 2e-3);
    let cold_feed = Composition::from_si(
        feed.iter()
            .map(|(i, c)| (i.at_temperature(293.15).unwrap(), c)),
    )
    .unwrap();
    let direct = Dspmde::new(membrane.clone(), cold)
        .unwrap()
        .solve(&cold_feed, 1e-5)
        .unwrap()
        .rejection[0];
    let mut m = RejectionMeasurement::observed(feed.clone(), 1e-5, vec![("Na+".into(), 0.0)]);
    m.temperature = Some(293.15);
    let r = residuals(&[m.clone()], &membrane, &base).unwrap();
    assert!((r[0] - direct).abs() < 1e-12, "{} vs {direct}", r[0]);
    // Slower diffusion raises the Peclet number: a colder feed is rejected more.
    assert!(direct > at_25 + 1e-3, "{direct} vs {at_25}");

    // Intrinsic rejections say nothing about a polarisation film: refused, with the remedy.
    m.basis = RejectionBasis::Intrinsic;
    let film = Conditions {
        polarisation: np_transport::Polarisation::Film { thickness: 2e-5 },
        ..Conditions::default()
    };
    let e = residuals(&[m.clone()], &membrane, &film)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Polarisation::Off"), "{e}");
    assert!(residuals(&[m], &membrane, &base).is_ok());
}

/// The residuals solve each feed's measurements as one warm-started sweep: in any order,
/// interleaved across feeds and with a temperature that splits a feed, they equal the
/// residuals of each measurement solved on its own from the feed composition.
#[test]
fn grouped_residuals_equal_single_solves() {
    let mut meas = data(&[0.01, -0.02, 0.0]);
    // Interleave the feeds and put the fluxes out of order.
    meas.reverse();
    meas.swap(0, 5);
    meas[3].temperature = Some(293.15);
    let membrane = truth();
    let conditions = Conditions::default();
    let grouped = residuals(&meas, &membrane, &conditions).unwrap();
    assert_eq!(grouped.len(), meas.len());
    for (k, m) in meas.iter().enumerate() {
        let alone = residuals(std::slice::from_ref(m), &membrane, &conditions).unwrap();
        assert!(
            (grouped[k] - alone[0]).abs() < 1e-8,
            "measurement {k}: {} grouped vs {} alone",
            grouped[k],
            alone[0]
        );
    }
}

/// A charge isotherm X_d = X_ref (I/I_ref)^b cannot be determined from feeds of one ionic
/// strength (X_ref and b trade off exactly): a typed error that says to fit a constant charge.
#[test]
fn an_isotherm_needs_two_ionic_strengths() {
    let all = data(&[0.0]);
    let one_feed: Vec<_> = all.iter().take(4).cloned().collect();
    assert!(!np_transport::isotherm_identifiable(&one_feed));
    assert!(np_transport::isotherm_identifiable(&all));
    let mut o = opts();
    o.charge_isotherm = true;
    let e = fit(&one_feed, &o).unwrap_err().to_string();
    assert!(
        e.contains("two ionic strengths") && e.contains("constant charge"),
        "{e}"
    );
}

#[test]
fn the_implicit_jacobian_reaches_the_differenced_optimum() {
    // Noisy data (a non-zero residual at the optimum): the two Jacobians must lead to the
    // same parameters.
    let noise = [0.004, -0.003, 0.005, -0.001, 0.002, -0.005];
    let d = data(&noise);
    let implicit = FitOptions {
        jacobian: np_transport::FitJacobian::Implicit,
        ..opts()
    };
    let (a, b) = (fit(&d, &implicit).unwrap(), fit(&d, &opts()).unwrap());
    assert_eq!(a.parameters, b.parameters);
    // The searches stop by different rules (an exact gradient stops at MINPACK's ftol), so
    // the optimum is the same to far below what the data determine: within 1 % of a
    // standard error.
    for (name, se) in a.parameters.iter().zip(&b.standard_errors) {
        let (x, y) = (a.value(name).unwrap().0, b.value(name).unwrap().0);
        assert!(
            (x - y).abs() <= 0.01 * se,
            "{name}: implicit {x:e}, differences {y:e}, standard error {se:e}"
        );
    }
    assert!(
        (a.rmse - b.rmse).abs() <= 1e-6 * b.rmse,
        "{} {}",
        a.rmse,
        b.rmse
    );
}
