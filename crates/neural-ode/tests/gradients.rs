//! Adjoint gradients against central finite differences and forward sensitivities.

mod common;

use common::NoRecord;

use neural_ode::{
    AdjointMethod, AdjointOptions, SolverOptions, TanhMlp, VectorField, adjoint,
    forward_sensitivities, solve,
};
use proptest::prelude::*;

/// Loss of a fixed-step fine solve: smooth in every input, so central differences are clean.
fn fd_loss<F: VectorField>(f: &F, p: &[f64], t0: f64, y0: &[f64], ts: &[f64]) -> f64 {
    let opts = SolverOptions {
        fixed_step: Some(2e-3),
        ..SolverOptions::default()
    };
    let sol = solve(f, p, t0, y0, ts, &opts).unwrap();
    common::quadratic_loss(&sol.y, y0.len()).0
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

struct Check {
    adjoint_vs_fd: f64,
    adjoint_vs_sens: f64,
    y0_vs_fd: f64,
    t_vs_fd: f64,
}

fn check<F: VectorField>(f: &F, p: &[f64], y0: &[f64], ts: &[f64], method: AdjointMethod) -> Check {
    let n = y0.len();
    let mut opts = SolverOptions::with_tolerances(1e-10, 1e-10);
    opts.dense = true;
    let sol = solve(f, p, 0.0, y0, ts, &opts).unwrap();
    let (_, g) = common::quadratic_loss(&sol.y, n);
    let grads = adjoint(f, p, &sol, &g, &AdjointOptions::new(method, 1e-10, 1e-10)).unwrap();

    let sens = forward_sensitivities(f, p, 0.0, y0, ts, &opts).unwrap();
    let (s_y0, s_p) = sens.gradient(&g).unwrap();

    let central = |eval: &dyn Fn(f64) -> f64, x: f64| {
        let h = 1e-5 * x.abs().max(1.0);
        (eval(h) - eval(-h)) / (2.0 * h)
    };
    let fd_p: Vec<f64> = (0..p.len())
        .map(|j| {
            central(
                &|d| {
                    let mut q = p.to_vec();
                    q[j] += d;
                    fd_loss(f, &q, 0.0, y0, ts)
                },
                p[j],
            )
        })
        .collect();
    let fd_y0: Vec<f64> = (0..n)
        .map(|j| {
            central(
                &|d| {
                    let mut y = y0.to_vec();
                    y[j] += d;
                    fd_loss(f, p, 0.0, &y, ts)
                },
                y0[j],
            )
        })
        .collect();
    let mut fd_t: Vec<f64> = (0..ts.len())
        .map(|k| {
            central(
                &|d| {
                    let mut t = ts.to_vec();
                    t[k] += d;
                    fd_loss(f, p, 0.0, y0, &t)
                },
                ts[k],
            )
        })
        .collect();
    fd_t.push(central(&|d| fd_loss(f, p, d, y0, ts), 0.0));
    let mut ad_t = grads.t.clone();
    ad_t.push(grads.t0);

    Check {
        adjoint_vs_fd: rel_err(&grads.p, &fd_p),
        adjoint_vs_sens: rel_err(&grads.p, &s_p).max(rel_err(&grads.y0, &s_y0)),
        y0_vs_fd: rel_err(&grads.y0, &fd_y0),
        t_vs_fd: rel_err(&ad_t, &fd_t),
    }
}

fn assert_all(name: &str, c: Check) {
    eprintln!(
        "{name}: vs FD {:.2e}, vs forward sensitivities {:.2e}, dy0 {:.2e}, dt {:.2e}",
        c.adjoint_vs_fd, c.adjoint_vs_sens, c.y0_vs_fd, c.t_vs_fd
    );
    assert!(
        c.adjoint_vs_fd <= 1e-6,
        "{name}: dtheta vs FD {}",
        c.adjoint_vs_fd
    );
    assert!(
        c.adjoint_vs_sens <= 1e-6,
        "{name}: vs sensitivities {}",
        c.adjoint_vs_sens
    );
    assert!(c.y0_vs_fd <= 1e-6, "{name}: dy0 vs FD {}", c.y0_vs_fd);
    assert!(c.t_vs_fd <= 1e-6, "{name}: dt vs FD {}", c.t_vs_fd);
}

const A3: [f64; 9] = [-0.5, 1.0, 0.0, -1.0, -0.5, 0.2, 0.3, 0.0, -1.5];

#[test]
fn linear_system() {
    for m in [
        AdjointMethod::Interpolating,
        AdjointMethod::Backsolve,
        AdjointMethod::Discrete,
    ] {
        let c = check(
            &common::linear(3),
            &A3,
            &[1.0, -0.5, 2.0],
            &[0.5, 1.0, 2.0],
            m,
        );
        assert_all(&format!("linear {m:?}"), c);
    }
}

#[test]
fn lotka_volterra() {
    for m in [
        AdjointMethod::Interpolating,
        AdjointMethod::Backsolve,
        AdjointMethod::Discrete,
    ] {
        let c = check(
            &common::lotka_volterra(),
            &[1.5, 1.0, 1.0, 3.0],
            &[1.0, 1.0],
            &[1.0, 2.0, 3.0],
            m,
        );
        assert_all(&format!("Lotka-Volterra {m:?}"), c);
    }
}

#[test]
fn stiffish_damped_oscillator() {
    // Eigenvalues -10 and -20: the forward problem contracts, so only the interpolating
    // adjoint is expected to be accurate here over long spans; over this short span both are.
    for m in [AdjointMethod::Interpolating, AdjointMethod::Discrete] {
        let c = check(
            &common::damped_oscillator(),
            &[30.0, 200.0, 3.0],
            &[1.0, 0.0],
            &[0.25, 0.5, 1.0],
            m,
        );
        assert_all(&format!("damped oscillator {m:?}"), c);
    }
}

#[test]
fn tanh_mlp_vector_field() {
    let f = TanhMlp::new(3, &[8, 8], true);
    let p = f.init_params(11);
    for m in [
        AdjointMethod::Interpolating,
        AdjointMethod::Backsolve,
        AdjointMethod::Discrete,
    ] {
        let c = check(&f, &p, &[0.5, -0.3, 0.8], &[0.5, 1.0], m);
        assert_all(&format!("MLP {m:?}"), c);
    }
}

#[test]
fn mlp_vjp_matches_finite_differences() {
    let f = TanhMlp::new(4, &[6, 5], true);
    let p = f.init_params(3);
    let y = [0.3, -0.2, 0.9, 0.1];
    let a = [0.7, -1.1, 0.4, 0.25];
    let mut ws = f.workspace();
    let (mut vy, mut vp) = (vec![0.0; 4], vec![0.0; f.num_params()]);
    f.vjp(0.4, &y, &p, &a, &mut ws, &mut vy, &mut vp);
    let mut out = vec![0.0; 4];
    let mut adot = |t: f64, y: &[f64], p: &[f64]| {
        f.eval(t, y, p, &mut ws, &mut out);
        out.iter().zip(&a).map(|(x, w)| x * w).sum::<f64>()
    };
    let h = 1e-6;
    for j in 0..4 {
        let (mut yp, mut ym) = (y, y);
        yp[j] += h;
        ym[j] -= h;
        let fd = (adot(0.4, &yp, &p) - adot(0.4, &ym, &p)) / (2.0 * h);
        assert!((fd - vy[j]).abs() < 1e-8, "y{j}: {fd} vs {}", vy[j]);
    }
    for j in 0..p.len() {
        let (mut pp, mut pm) = (p.clone(), p.clone());
        pp[j] += h;
        pm[j] -= h;
        let fd = (adot(0.4, &y, &pp) - adot(0.4, &y, &pm)) / (2.0 * h);
        assert!((fd - vp[j]).abs() < 1e-8, "p{j}: {fd} vs {}", vp[j]);
    }
}

#[test]
fn backsolve_drifts_on_a_contracting_problem() {
    // y' = A y with a fast decaying mode (rate 40) coupled into a slow one. Backwards, the
    // fast mode grows like e^{40 t}: the re-integrated y leaves the forward trajectory and
    // the backsolve gradient is wrong, while the interpolating adjoint stays exact.
    let a = [-1.0, 5.0, 0.0, -40.0];
    let f = common::linear(2);
    let y0 = [1.0, 1.0];
    let ts = [2.0];
    let mut opts = SolverOptions::with_tolerances(1e-8, 1e-8);
    opts.dense = true;
    let sol = solve(&f, &a, 0.0, &y0, &ts, &opts).unwrap();
    let (_, g) = common::quadratic_loss(&sol.y, 2);
    let sens = forward_sensitivities(
        &f,
        &a,
        0.0,
        &y0,
        &ts,
        &SolverOptions::with_tolerances(1e-11, 1e-11),
    )
    .unwrap();
    let (_, reference) = sens.gradient(&g).unwrap();
    let interp = adjoint(
        &f,
        &a,
        &sol,
        &g,
        &AdjointOptions::new(AdjointMethod::Interpolating, 1e-8, 1e-8),
    )
    .unwrap();
    let back = adjoint(
        &f,
        &a,
        &sol,
        &g,
        &AdjointOptions::new(AdjointMethod::Backsolve, 1e-8, 1e-8),
    );
    let e_interp = rel_err(&interp.p, &reference);
    let e_back = match &back {
        Ok(b) => rel_err(&b.p, &reference),
        Err(_) => f64::INFINITY,
    };
    eprintln!(
        "contracting problem: interpolating rel. error {e_interp:.2e}, backsolve {e_back:.2e} ({:?})",
        back.as_ref().err()
    );
    assert!(e_interp < 1e-5, "interpolating {e_interp}");
    assert!(
        e_back > 1e-2,
        "backsolve was expected to drift, error {e_back}"
    );
}

fn lv_case() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (
        prop::collection::vec(0.5f64..2.0, 4),
        prop::collection::vec(0.5f64..2.0, 2),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn adjoint_equals_forward_sensitivities_for_random_parameters((p, y0) in lv_case(), seed in 0u64..1000) {
        let lv = common::lotka_volterra();
        let mut opts = SolverOptions::with_tolerances(1e-10, 1e-10);
        opts.dense = true;
        let ts = [0.7, 1.5];
        let sol = solve(&lv, &p, 0.0, &y0, &ts, &opts).unwrap();
        let (_, g) = common::quadratic_loss(&sol.y, 2);
        let ad = adjoint(&lv, &p, &sol, &g, &AdjointOptions::new(AdjointMethod::Interpolating, 1e-10, 1e-10)).unwrap();
        let (s0, sp) = forward_sensitivities(&lv, &p, 0.0, &y0, &ts, &opts).unwrap().gradient(&g).unwrap();
        prop_assert!(rel_err(&ad.p, &sp) < 1e-6, "dp {}", rel_err(&ad.p, &sp));
        prop_assert!(rel_err(&ad.y0, &s0) < 1e-6);

        let mlp = TanhMlp::new(2, &[6], false);
        let q = mlp.init_params(seed);
        let sol = solve(&mlp, &q, 0.0, &y0, &ts, &opts).unwrap();
        let (_, g) = common::quadratic_loss(&sol.y, 2);
        let ad = adjoint(&mlp, &q, &sol, &g, &AdjointOptions::new(AdjointMethod::Backsolve, 1e-10, 1e-10)).unwrap();
        let (s0, sp) = forward_sensitivities(&mlp, &q, 0.0, &y0, &ts, &opts).unwrap().gradient(&g).unwrap();
        prop_assert!(rel_err(&ad.p, &sp) < 1e-6, "mlp dp {}", rel_err(&ad.p, &sp));
        prop_assert!(rel_err(&ad.y0, &s0) < 1e-6);
    }
}

#[test]
fn batch_gradient_equals_sum_of_single_gradients() {
    for method in [AdjointMethod::Interpolating, AdjointMethod::Discrete] {
        batch_gradient_equals_sum_of_single_gradients_with(method);
    }
}

fn batch_gradient_equals_sum_of_single_gradients_with(method: AdjointMethod) {
    use neural_ode::{Problem, gradient_batch, solve_batch};
    let f = TanhMlp::new(2, &[8], false);
    let p = f.init_params(5);
    let y0s = [[0.5, 0.1], [-0.3, 0.7], [1.0, -1.0]];
    let ts = [[0.5, 1.0], [0.3, 2.0], [1.0, 1.5]];
    let problems: Vec<Problem> = y0s
        .iter()
        .zip(&ts)
        .map(|(y0, t)| Problem {
            t0: 0.0,
            y0,
            save_at: t,
        })
        .collect();
    let opts = SolverOptions::with_tolerances(1e-9, 1e-9);
    let aopts = AdjointOptions::new(method, 1e-9, 1e-9);
    // (The discrete adjoint used to fail here with MissingDenseOutput: the batch turned
    // dense output on only for the interpolating adjoint.)
    let batch = gradient_batch(
        &f,
        &p,
        &problems,
        |_, s| common::quadratic_loss(&s.y, 2),
        &opts,
        &aopts,
    )
    .unwrap();
    let sols = solve_batch(&f, &p, &problems, &opts);
    let mut sum = vec![0.0; p.len()];
    let mut loss = 0.0;
    let mut dense = opts.clone();
    dense.dense = true;
    for (pr, s) in problems.iter().zip(&sols) {
        let s = s.as_ref().unwrap();
        let one = solve(&f, &p, 0.0, pr.y0, pr.save_at, &dense).unwrap();
        assert_eq!(one.y, s.y, "batch solve equals a single solve");
        let (l, g) = common::quadratic_loss(&one.y, 2);
        loss += l;
        let gr = adjoint(&f, &p, &one, &g, &aopts).unwrap();
        for (a, b) in sum.iter_mut().zip(&gr.p) {
            *a += b;
        }
    }
    assert!((batch.loss - loss).abs() < 1e-14);
    assert!(rel_err(&batch.p, &sum) < 1e-13);
    assert_eq!(batch.y0.len(), 3);
}

#[test]
fn adjoint_input_errors() {
    let f = common::linear(2);
    let p = [0.0, 1.0, -1.0, 0.0];
    let sol = solve(&f, &p, 0.0, &[1.0, 0.0], &[1.0], &SolverOptions::default()).unwrap();
    let e = adjoint(&f, &p, &sol, &[1.0, 0.0], &AdjointOptions::default()).unwrap_err();
    assert_eq!(e, neural_ode::OdeError::MissingDenseOutput);
    let e = adjoint(
        &f,
        &p,
        &sol,
        &[1.0],
        &AdjointOptions::new(AdjointMethod::Backsolve, 1e-6, 1e-6),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        neural_ode::OdeError::LengthMismatch { what: "dl_dy", .. }
    ));
    let e = adjoint(
        &f,
        &p,
        &sol,
        &[f64::NAN, 0.0],
        &AdjointOptions::new(AdjointMethod::Backsolve, 1e-6, 1e-6),
    )
    .unwrap_err();
    assert!(matches!(e, neural_ode::OdeError::NonFinite { .. }));
}

#[test]
fn discrete_adjoint_is_the_exact_gradient_of_the_coarse_discrete_solution() {
    // With coarse fixed steps the discrete solution differs from the exact one; the discrete
    // adjoint must match finite differences of that same coarse computation (outputs inside
    // steps included, through the interpolant), to round-off.
    let f = common::lotka_volterra();
    let p = [1.5, 1.0, 1.0, 3.0];
    let y0 = [1.0, 1.0];
    let ts = [0.35, 1.0, 1.62];
    let coarse = SolverOptions {
        fixed_step: Some(0.2),
        dense: true,
        ..SolverOptions::default()
    };
    let loss = |q: &[f64]| {
        let s = solve(&f, q, 0.0, &y0, &ts, &coarse).unwrap();
        common::quadratic_loss(&s.y, 2).0
    };
    let sol = solve(&f, &p, 0.0, &y0, &ts, &coarse).unwrap();
    let (_, g) = common::quadratic_loss(&sol.y, 2);
    let grads = adjoint(
        &f,
        &p,
        &sol,
        &g,
        &AdjointOptions::new(AdjointMethod::Discrete, 1e-6, 1e-6),
    )
    .unwrap();
    let fd: Vec<f64> = (0..4)
        .map(|j| {
            let h = 1e-6;
            let (mut a, mut b) = (p, p);
            a[j] += h;
            b[j] -= h;
            (loss(&a) - loss(&b)) / (2.0 * h)
        })
        .collect();
    let e = rel_err(&grads.p, &fd);
    eprintln!("discrete adjoint vs FD of the coarse solve: {e:.2e}");
    assert!(e < 1e-8, "{e}");
    // Stage 7 of a step is stage 1 of the next (FSAL): one VJP serves both, so a step costs
    // 6, plus the last step's stage 7 when an output inside it gives it a cotangent.
    let steps = sol.stats.accepted;
    assert!(
        (6 * steps..=6 * steps + 1).contains(&grads.stats.nvjp),
        "{} VJPs for {steps} steps",
        grads.stats.nvjp
    );
}

#[test]
fn recorded_stages_give_the_same_discrete_gradient() {
    let f = TanhMlp::new(3, &[12, 12], true);
    let p = f.init_params(21);
    let mut opts = SolverOptions::with_tolerances(1e-7, 1e-9);
    opts.dense = true;
    let ts = [0.3, 0.9, 1.7, 2.0];
    let y0 = [0.4, -0.2, 0.6];
    let with = solve(&f, &p, 0.0, &y0, &ts, &opts).unwrap();
    let g = vec![0.5; with.y.len()];
    let o = AdjointOptions::new(AdjointMethod::Discrete, 1e-7, 1e-9);
    let a = adjoint(&f, &p, &with, &g, &o).unwrap();
    let nr = NoRecord(f.clone());
    let without = solve(&nr, &p, 0.0, &y0, &ts, &opts).unwrap();
    assert_eq!(with.y, without.y);
    let b = adjoint(&nr, &p, &without, &g, &o).unwrap();
    assert!(rel_err(&a.p, &b.p) < 1e-13, "{}", rel_err(&a.p, &b.p));
    assert!(rel_err(&a.y0, &b.y0) < 1e-13);
}
