//! The lock-step batch solver and its adjoint against the one-problem solver and adjoint.

use common::NoRecord;
use neural_ode::{
    AdjointMethod, AdjointOptions, AnalyticField, OdeError, Problem, RowsOf, SolverOptions,
    Stacked, TanhMlp, VectorField, adjoint, gradient_batch, gradient_lockstep, solve,
    solve_lockstep,
};
use proptest::prelude::*;

mod common;

/// Damped rotation with a member-specific rate k: y' = -k p0 y + p1 (y1, -y0).
fn member(k: f64) -> impl VectorField + Clone {
    AnalyticField::new(
        2,
        2,
        move |_t, y: &[f64], p: &[f64], dy: &mut [f64]| {
            dy[0] = -k * p[0] * y[0] + p[1] * y[1];
            dy[1] = -k * p[0] * y[1] - p[1] * y[0];
        },
        move |_t, y: &[f64], p: &[f64], a: &[f64], vy: &mut [f64], vp: &mut [f64]| {
            vy[0] = -k * p[0] * a[0] - p[1] * a[1];
            vy[1] = p[1] * a[0] - k * p[0] * a[1];
            vp[0] = -k * (a[0] * y[0] + a[1] * y[1]);
            vp[1] = a[0] * y[1] - a[1] * y[0];
        },
    )
}

fn quadratic(sol: &neural_ode::Solution) -> (f64, Vec<f64>) {
    let l = sol.y.iter().map(|v| 0.5 * v * v).sum();
    (l, sol.y.clone())
}

fn opts(dense: bool) -> SolverOptions {
    SolverOptions {
        dense,
        ..SolverOptions::with_tolerances(1e-7, 1e-9)
    }
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn lockstep_takes_the_same_steps_as_one_solve_per_problem() {
    // Different rates, initial values, start times, output times and directions: each lane
    // must reproduce its own solve bit for bit (the same code judges its steps).
    let fields: Vec<_> = [0.3, 2.0, 7.0, 0.05].iter().map(|&k| member(k)).collect();
    let rows = RowsOf::new(&fields).unwrap();
    let p = [1.0, 3.0];
    let problems = [
        Problem {
            t0: 0.0,
            y0: &[1.0, 0.0],
            save_at: &[0.1, 0.5, 2.0],
        },
        Problem {
            t0: 0.5,
            y0: &[0.2, -1.0],
            save_at: &[0.5, 1.0],
        },
        Problem {
            t0: 1.0,
            y0: &[3.0, 1.0],
            save_at: &[0.7, 0.0],
        },
        Problem {
            t0: 0.0,
            y0: &[1.0, 1.0],
            save_at: &[5.0],
        },
    ];
    let o = opts(true);
    let sols = solve_lockstep(&rows, &p, &problems, &o);
    for (i, (pr, got)) in problems.iter().zip(&sols).enumerate() {
        let want = solve(&fields[i], &p, pr.t0, pr.y0, pr.save_at, &o).unwrap();
        let got = got.as_ref().unwrap();
        assert_eq!(got.y, want.y, "problem {i}");
        assert_eq!(got.stats, want.stats, "problem {i}");
        assert_eq!(got.dense, want.dense, "problem {i}");
    }
    // The problems really differ in their step counts (else the test shows little).
    let steps: Vec<usize> = sols
        .iter()
        .map(|s| s.as_ref().unwrap().stats.accepted)
        .collect();
    assert!(steps.iter().max() > steps.iter().min(), "{steps:?}");
}

#[test]
fn lockstep_gradient_equals_the_discrete_adjoint_of_each_problem() {
    let f = TanhMlp::new(3, &[12, 12], true);
    let p = f.init_params(3);
    let fields = vec![f.clone(), f.clone(), f.clone(), f.clone(), f];
    let rows = RowsOf::new(&fields).unwrap();
    let y0s = [
        [0.5, -0.2, 0.1],
        [1.0, 0.3, -0.4],
        [0.0, 0.0, 0.2],
        [2.0, -1.0, 0.5],
        [0.1, 0.1, 0.1],
    ];
    let ts: [&[f64]; 5] = [
        &[0.3, 1.0],
        &[1.5],
        &[0.0, 0.2, 0.4, 2.0],
        &[1.0],
        &[0.25, 0.5],
    ];
    let problems: Vec<Problem> = y0s
        .iter()
        .zip(ts)
        .map(|(y0, t)| Problem {
            t0: 0.0,
            y0,
            save_at: t,
        })
        .collect();
    let o = opts(false);
    let want = gradient_batch(
        &fields[0],
        &p,
        &problems,
        |_, s| quadratic(s),
        &o,
        &AdjointOptions::new(AdjointMethod::Discrete, 1e-7, 1e-9),
    )
    .unwrap();
    // The network's own rows (matrix products over the rows, whose kernels may group sums
    // differently from a one-row product) against one field per row: equal to rounding.
    let batched = fields[0].rows(fields.len());
    for rows_per_call in [1, 2, 5, 64] {
        let got = gradient_lockstep(&rows, &p, &problems, |_, s| quadratic(s), &o, rows_per_call)
            .unwrap();
        let mine = gradient_lockstep(
            &batched,
            &p,
            &problems,
            |_, s| quadratic(s),
            &o,
            rows_per_call,
        )
        .unwrap();
        assert!((mine.loss - got.loss).abs() <= 1e-13 * got.loss.abs());
        assert_eq!(mine.steps, got.steps);
        // Only the order of summation differs.
        for (g, w) in [(&mine, &got), (&got, &want)] {
            assert!((g.loss - w.loss).abs() <= 1e-13 * w.loss.abs());
            assert!(
                max_rel(&g.p, &w.p) < 1e-12,
                "{rows_per_call}: {}",
                max_rel(&g.p, &w.p)
            );
            for (a, b) in g.y0.iter().zip(&w.y0) {
                assert!(max_rel(a, b) < 1e-12);
            }
        }
        // The same forward work; the one-problem adjoint also evaluates f(t0, y0) for
        // dL/dt0, which a batch gradient does not report.
        assert_eq!(got.stats.accepted, want.stats.accepted);
        assert_eq!(got.steps, want.steps);
        assert_eq!(got.stats.nfe + problems.len(), want.stats.nfe);
        // Stage 7 is folded into the next step's stage 1 (or skipped when it has no
        // cotangent): at most 6 VJPs per step, plus one for each last step.
        let steps = want.stats.accepted / 2;
        assert!(
            got.stats.nvjp <= 6 * steps + problems.len(),
            "{} vs {}",
            got.stats.nvjp,
            want.stats.nvjp
        );
    }
}

#[test]
fn lockstep_gradient_matches_finite_differences() {
    let fields: Vec<_> = [0.5, 1.5, 4.0].iter().map(|&k| member(k)).collect();
    let rows = RowsOf::new(&fields).unwrap();
    let p = [0.7, 2.0];
    let problems = [
        Problem {
            t0: 0.0,
            y0: &[1.0, 0.5],
            save_at: &[0.5, 1.0],
        },
        Problem {
            t0: 0.0,
            y0: &[-0.3, 0.8],
            save_at: &[2.0],
        },
        Problem {
            t0: 0.0,
            y0: &[0.4, 0.4],
            save_at: &[0.1, 0.9],
        },
    ];
    let o = SolverOptions::with_tolerances(1e-12, 1e-14);
    let loss = |q: &[f64]| -> f64 {
        solve_lockstep(&rows, q, &problems, &o)
            .iter()
            .map(|s| quadratic(s.as_ref().unwrap()).0)
            .sum()
    };
    let g = gradient_lockstep(&rows, &p, &problems, |_, s| quadratic(s), &o, 2).unwrap();
    for j in 0..2 {
        let h = 1e-6;
        let (mut a, mut b) = (p, p);
        a[j] += h;
        b[j] -= h;
        let fd = (loss(&a) - loss(&b)) / (2.0 * h);
        assert!(
            (g.p[j] - fd).abs() < 1e-7 * fd.abs().max(1.0),
            "{j}: {} vs {fd}",
            g.p[j]
        );
    }
}

#[test]
fn a_failing_problem_fails_alone_in_the_solve_and_fails_the_gradient() {
    let fields: Vec<_> = [1.0, 1.0, 1.0].iter().map(|&k| member(k)).collect();
    let rows = RowsOf::new(&fields).unwrap();
    let p = [1.0, 1.0];
    let problems = [
        Problem {
            t0: 0.0,
            y0: &[1.0, 0.0],
            save_at: &[1.0],
        },
        Problem {
            t0: 0.0,
            y0: &[f64::NAN, 0.0],
            save_at: &[1.0],
        },
        Problem {
            t0: 0.0,
            y0: &[1.0, 0.0],
            save_at: &[1.0, 0.5],
        },
    ];
    let sols = solve_lockstep(&rows, &p, &problems, &opts(false));
    assert!(sols[0].is_ok());
    assert!(matches!(
        sols[1],
        Err(OdeError::NonFinite { what: "state", .. })
    ));
    assert!(matches!(sols[2], Err(OdeError::InvalidTimes(_))));
    let g = gradient_lockstep(&rows, &p, &problems, |_, s| quadratic(s), &opts(false), 8);
    assert!(g.is_err());
    let g = gradient_lockstep(
        &rows,
        &p,
        &problems[..1],
        |_, s| quadratic(s),
        &opts(false),
        0,
    );
    assert!(matches!(g, Err(OdeError::InvalidOption(_))));
    let bad_p = solve_lockstep(&rows, &[1.0], &problems[..1], &opts(false));
    assert!(matches!(
        bad_p[0],
        Err(OdeError::LengthMismatch { what: "p", .. })
    ));
    let too_many = solve_lockstep(
        &RowsOf::new(&fields[..1]).unwrap(),
        &p,
        &problems,
        &opts(false),
    );
    assert!(
        too_many
            .iter()
            .all(|r| matches!(r, Err(OdeError::InvalidOption(_))))
    );
    assert!(RowsOf::<TanhMlp>::new(&[]).is_err());
}

#[test]
fn a_stacked_batch_is_one_system_with_shared_steps() {
    let fields: Vec<_> = [0.2, 5.0].iter().map(|&k| member(k)).collect();
    let rows = RowsOf::new(&fields).unwrap();
    let stacked = Stacked::new(&rows);
    assert_eq!(stacked.dim(), 4);
    let p = [1.0, 2.0];
    let ts = [0.5, 1.0];
    let o = SolverOptions {
        dense: true,
        ..SolverOptions::with_tolerances(1e-10, 1e-12)
    };
    let both = solve(&stacked, &p, 0.0, &[1.0, 0.0, 0.5, 0.5], &ts, &o).unwrap();
    let one = solve(&fields[1], &p, 0.0, &[0.5, 0.5], &ts, &o).unwrap();
    for k in 0..2 {
        assert!(max_rel(&both.state(k)[2..], one.state(k)) < 1e-8);
    }
    // Its discrete-adjoint gradient (records of the whole stack) against the lock-step one.
    let g_stack = adjoint(
        &stacked,
        &p,
        &both,
        &both.y,
        &AdjointOptions::new(AdjointMethod::Discrete, 1e-10, 1e-12),
    )
    .unwrap();
    let problems = [
        Problem {
            t0: 0.0,
            y0: &[1.0, 0.0],
            save_at: &ts,
        },
        Problem {
            t0: 0.0,
            y0: &[0.5, 0.5],
            save_at: &ts,
        },
    ];
    let g_lock = gradient_lockstep(&rows, &p, &problems, |_, s| quadratic(s), &o, 2).unwrap();
    assert!(
        max_rel(&g_stack.p, &g_lock.p) < 1e-7,
        "{:?} {:?}",
        g_stack.p,
        g_lock.p
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_batch_reproduces_its_solves(
        ks in prop::collection::vec(0.01f64..10.0, 1..6),
        y in prop::collection::vec(-2.0f64..2.0, 12),
        ends in prop::collection::vec(0.1f64..3.0, 6),
    ) {
        let fields: Vec<_> = ks.iter().map(|&k| member(k)).collect();
        let rows = RowsOf::new(&fields).unwrap();
        let p = [1.0, 2.5];
        let saves: Vec<[f64; 2]> = ends.iter().map(|&e| [0.5 * e, e]).collect();
        let problems: Vec<Problem> = (0..ks.len())
            .map(|i| Problem { t0: 0.0, y0: &y[2 * i..2 * i + 2], save_at: &saves[i] })
            .collect();
        let o = opts(false);
        let sols = solve_lockstep(&rows, &p, &problems, &o);
        for (i, pr) in problems.iter().enumerate() {
            let want = solve(&fields[i], &p, pr.t0, pr.y0, pr.save_at, &o).unwrap();
            prop_assert_eq!(&sols[i].as_ref().unwrap().y, &want.y);
        }
    }
}

/// Stage records are kept with each step as the stages are evaluated: a rejected attempt's
/// records are dropped (but its stage 1, which the retry shares), an accepted step's last
/// record opens the next step, and storage reused from an earlier batch carries nothing
/// over. So the gradient from records equals the one that recomputes every forward pass, and
/// a second call equals the first to the bit.
#[test]
fn recorded_stages_survive_rejected_steps_and_reused_storage() {
    let f = TanhMlp::new(3, &[10, 10], true);
    let p: Vec<f64> = f.init_params(5).iter().map(|v| 3.0 * v).collect();
    let o = SolverOptions {
        // Far too large a first step: the first attempts are rejected.
        initial_step: Some(5.0),
        ..opts(false)
    };
    let y0s = [[0.5, -0.2, 0.1], [1.0, 0.3, -0.4], [0.0, 0.7, 0.2]];
    let problems: Vec<Problem> = y0s
        .iter()
        .map(|y0| Problem {
            t0: 0.0,
            y0,
            save_at: &[0.5, 3.0],
        })
        .collect();
    let recorded = f.rows(problems.len());
    let plain: Vec<NoRecord> = (0..3).map(|_| NoRecord(f.clone())).collect();
    let recomputed = RowsOf::new(&plain).unwrap();
    let first = gradient_lockstep(&recorded, &p, &problems, |_, s| quadratic(s), &o, 2).unwrap();
    assert!(first.stats.rejected > 0, "{:?}", first.stats);
    let again = gradient_lockstep(&recorded, &p, &problems, |_, s| quadratic(s), &o, 2).unwrap();
    assert_eq!(again.p, first.p);
    assert_eq!(again.y0, first.y0);
    let want = gradient_lockstep(&recomputed, &p, &problems, |_, s| quadratic(s), &o, 2).unwrap();
    assert_eq!(want.steps, first.steps);
    assert!(
        max_rel(&first.p, &want.p) < 1e-12,
        "{}",
        max_rel(&first.p, &want.p)
    );
    for (a, b) in first.y0.iter().zip(&want.y0) {
        assert!(max_rel(a, b) < 1e-12);
    }
}
