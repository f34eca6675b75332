//! Accuracy of the Tsit5 integrator: exact solutions, convergence order, dense output, errors.

mod common;

use nalgebra::DMatrix;
use neural_ode::{AnalyticField, OdeError, SolverOptions, Tolerance, solve};

fn expm_solution(a: &[f64], n: usize, y0: &[f64], t: f64) -> Vec<f64> {
    let m = DMatrix::from_row_slice(n, n, a) * t;
    let e = m.exp();
    (e * nalgebra::DVector::from_column_slice(y0))
        .as_slice()
        .to_vec()
}

const A3: [f64; 9] = [-0.5, 1.0, 0.0, -1.0, -0.5, 0.2, 0.3, 0.0, -1.5];

#[test]
fn linear_system_matches_matrix_exponential_to_tolerance() {
    let f = common::linear(3);
    let y0 = [1.0, -0.5, 2.0];
    let times: Vec<f64> = (1..=20).map(|i| i as f64 * 0.25).collect();
    for tol in [1e-6, 1e-8, 1e-10] {
        let opts = SolverOptions::with_tolerances(tol, tol);
        let sol = solve(&f, &A3, 0.0, &y0, &times, &opts).unwrap();
        let mut worst: f64 = 0.0;
        for (k, &t) in times.iter().enumerate() {
            let exact = expm_solution(&A3, 3, &y0, t);
            for (a, b) in sol.state(k).iter().zip(&exact) {
                worst = worst.max((a - b).abs() / (tol + tol * b.abs()));
            }
        }
        // Global error stays within a small multiple of the local tolerance.
        assert!(worst < 10.0, "tol {tol}: error/tolerance = {worst}");
    }
}

#[test]
fn fixed_step_convergence_order_is_five() {
    // y' = A y to t = 2 against the matrix exponential. Tsit5's fifth-order error constant
    // is small, so the pre-asymptotic order is above 5 at coarse steps and falls to 5.
    let f = common::linear(3);
    let y0 = [1.0, -0.5, 2.0];
    let exact = expm_solution(&A3, 3, &y0, 2.0);
    let err = |h: f64| {
        let opts = SolverOptions {
            fixed_step: Some(h),
            ..SolverOptions::default()
        };
        let sol = solve(&f, &A3, 0.0, &y0, &[2.0], &opts).unwrap();
        sol.state(0)
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    };
    let hs = [0.2, 0.1, 0.05, 0.025, 0.0125];
    let es: Vec<f64> = hs.iter().map(|&h| err(h)).collect();
    let orders: Vec<f64> = es.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    eprintln!("errors {es:?} observed orders {orders:?}");
    assert!(
        orders.windows(2).all(|w| w[1] < w[0]),
        "orders must fall towards 5: {orders:?}"
    );
    let finest = orders[orders.len() - 1];
    assert!(
        (4.8..5.3).contains(&finest),
        "finest observed order {finest}"
    );
}

#[test]
fn dense_output_is_accurate_between_steps_and_backwards_integration_works() {
    let f = common::linear(3);
    let y0 = [1.0, -0.5, 2.0];
    let mut opts = SolverOptions::with_tolerances(1e-9, 1e-9);
    opts.dense = true;
    let sol = solve(&f, &A3, 0.0, &y0, &[3.0], &opts).unwrap();
    let mut out = [0.0; 3];
    for i in 0..=60 {
        let t = i as f64 * 0.05;
        sol.eval(t, &mut out).unwrap();
        let exact = expm_solution(&A3, 3, &y0, t);
        for (a, b) in out.iter().zip(&exact) {
            assert!((a - b).abs() < 1e-7, "t={t}: {a} vs {b}");
        }
    }
    assert!(sol.eval(3.5, &mut out).is_err());
    // Backwards from t = 3 to 0 recovers y0.
    let back = solve(&f, &A3, 3.0, sol.final_state(), &[1.5, 0.0], &opts).unwrap();
    for (a, b) in back.state(1).iter().zip(&y0) {
        assert!((a - b).abs() < 1e-7);
    }
}

#[test]
fn per_component_tolerances_and_stats() {
    let f = common::lotka_volterra();
    let p = [1.5, 1.0, 1.0, 3.0];
    let tight = SolverOptions {
        rtol: Tolerance::PerComponent(vec![1e-10, 1e-10]),
        atol: Tolerance::PerComponent(vec![1e-10, 1e-10]),
        ..SolverOptions::default()
    };
    let loose = SolverOptions::with_tolerances(1e-4, 1e-4);
    let a = solve(&f, &p, 0.0, &[1.0, 1.0], &[10.0], &tight).unwrap();
    let b = solve(&f, &p, 0.0, &[1.0, 1.0], &[10.0], &loose).unwrap();
    assert!(a.stats.accepted > 3 * b.stats.accepted);
    // FSAL: 6 new evaluations per step plus the first and the initial-step probe.
    assert_eq!(a.stats.nfe, 6 * (a.stats.accepted + a.stats.rejected) + 2);
    // Lotka-Volterra conserves V = delta x - gamma ln x + beta y - alpha ln y.
    let v = |u: &[f64]| p[2] * u[0] - p[3] * u[0].ln() + p[1] * u[1] - p[0] * u[1].ln();
    assert!((v(a.final_state()) - v(&[1.0, 1.0])).abs() < 1e-8);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let f = common::linear(2);
    let p = [0.0, 1.0, -1.0, 0.0];
    let o = SolverOptions::default();
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0], &[1.0], &o),
        Err(OdeError::LengthMismatch { what: "y0", .. })
    ));
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0, 0.0], &[1.0, 0.5], &o),
        Err(OdeError::InvalidTimes(_))
    ));
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0, 0.0], &[], &o),
        Err(OdeError::InvalidTimes(_))
    ));
    assert!(matches!(
        solve(&f, &p, 0.0, &[f64::NAN, 0.0], &[1.0], &o),
        Err(OdeError::NonFinite { .. })
    ));
    let bad = SolverOptions::with_tolerances(-1.0, 1e-6);
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0, 0.0], &[1.0], &bad),
        Err(OdeError::InvalidTolerance(_))
    ));
    let zero = SolverOptions::with_tolerances(0.0, 0.0);
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0, 0.0], &[1.0], &zero),
        Err(OdeError::InvalidTolerance(_))
    ));
    let few = SolverOptions {
        max_steps: 3,
        ..SolverOptions::with_tolerances(1e-10, 1e-10)
    };
    assert!(matches!(
        solve(&f, &p, 0.0, &[1.0, 0.0], &[100.0], &few),
        Err(OdeError::MaxStepsReached { max_steps: 3, .. })
    ));
}

#[test]
fn finite_time_blow_up_is_reported_not_returned() {
    // y' = y^2, y(0) = 1 blows up at t = 1.
    let f = AnalyticField::new(
        1,
        0,
        |_t, y: &[f64], _p: &[f64], dy: &mut [f64]| dy[0] = y[0] * y[0],
        |_t, y: &[f64], _p: &[f64], a: &[f64], vy: &mut [f64], _vp: &mut [f64]| {
            vy[0] = 2.0 * a[0] * y[0]
        },
    );
    let r = solve(&f, &[], 0.0, &[1.0], &[2.0], &SolverOptions::default());
    match r {
        Err(OdeError::StepSizeUnderflow { t, .. }) | Err(OdeError::NonFinite { t, .. }) => {
            assert!((t - 1.0).abs() < 1e-2, "stopped at {t}")
        }
        Err(OdeError::MaxStepsReached { t, .. }) => assert!((t - 1.0).abs() < 1e-2),
        other => panic!("expected a failure near t = 1, got {other:?}"),
    }
}

#[test]
fn output_at_t0_and_repeated_times() {
    let f = common::linear(2);
    let p = [0.0, 1.0, -1.0, 0.0];
    let sol = solve(
        &f,
        &p,
        0.0,
        &[1.0, 0.0],
        &[0.0, 1.0, 1.0],
        &SolverOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.state(0), &[1.0, 0.0]);
    assert_eq!(sol.state(1), sol.state(2));
    assert!((sol.state(1)[0] - 1f64.cos()).abs() < 1e-5);
}
