//! Cross-check against diffsol's explicit Tsitouras 4(5) solver on the same problem.

mod common;

use diffsol::{NalgebraMat, OdeBuilder, OdeSolverMethod};
use neural_ode::{SolverOptions, solve};

#[test]
fn lotka_volterra_agrees_with_diffsol_tsit45() {
    let p = [1.5, 1.0, 1.0, 3.0];
    let times: Vec<f64> = (1..=10).map(|i| i as f64).collect();
    let tol = 1e-10;

    let problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(tol)
        .atol([tol])
        .p(p.to_vec())
        .rhs_implicit(
            |x, p, _t, y| {
                y[0] = p[0] * x[0] - p[1] * x[0] * x[1];
                y[1] = p[2] * x[0] * x[1] - p[3] * x[1];
            },
            |x, p, _t, v, y| {
                y[0] = (p[0] - p[1] * x[1]) * v[0] - p[1] * x[0] * v[1];
                y[1] = p[2] * x[1] * v[0] + (p[2] * x[0] - p[3]) * v[1];
            },
        )
        .init(
            |_p, _t, y| {
                y[0] = 1.0;
                y[1] = 1.0;
            },
            2,
        )
        .build()
        .unwrap();
    let mut solver = problem.tsit45().unwrap();
    let (theirs, _) = solver.solve_dense(&times).unwrap();

    let ours = solve(
        &common::lotka_volterra(),
        &p,
        0.0,
        &[1.0, 1.0],
        &times,
        &SolverOptions::with_tolerances(tol, tol),
    )
    .unwrap();
    let mut worst: f64 = 0.0;
    for (k, _) in times.iter().enumerate() {
        for i in 0..2 {
            let a = ours.state(k)[i];
            let b = theirs[(i, k)];
            worst = worst.max((a - b).abs() / (1.0 + b.abs()));
        }
    }
    eprintln!("max relative difference to diffsol tsit45 over 10 time units: {worst:.2e}");
    assert!(worst < 1e-7, "{worst}");
}
