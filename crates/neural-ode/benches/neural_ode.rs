#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Cost of a neural-ODE trajectory: 8-dimensional state, tanh MLP with 5 linear layers of
//! width 32 (9 -> 32 -> 32 -> 32 -> 32 -> 8), 50 output times on [0, 1]; and a batch of 32
//! such problems in lock step, through the network's rows and through one field per row.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use neural_ode::{
    AdjointMethod, AdjointOptions, Problem, RowsOf, SolverOptions, TanhMlp, VectorField, adjoint,
    gradient_lockstep, solve, solve_lockstep,
};

fn setup() -> (TanhMlp, Vec<f64>, Vec<f64>, Vec<f64>) {
    let f = TanhMlp::new(8, &[32, 32, 32, 32], true);
    let p = f.init_params(1);
    let y0 = vec![0.5, 0.4, 0.1, 0.3, 0.2, 0.6, 0.05, 0.3];
    let ts: Vec<f64> = (1..=50).map(|i| i as f64 / 50.0).collect();
    (f, p, y0, ts)
}

fn bench(c: &mut Criterion) {
    let (f, p, y0, ts) = setup();
    let opts = SolverOptions::with_tolerances(1e-6, 1e-8);
    let mut dense = opts.clone();
    dense.dense = true;
    let sol = solve(&f, &p, 0.0, &y0, &ts, &dense).unwrap();
    let g = vec![1e-2; sol.y.len()];
    let interp = AdjointOptions::new(AdjointMethod::Interpolating, 1e-6, 1e-8);
    let back = AdjointOptions::new(AdjointMethod::Backsolve, 1e-6, 1e-8);
    let gi = adjoint(&f, &p, &sol, &g, &interp).unwrap();
    let gb = adjoint(&f, &p, &sol, &g, &back).unwrap();
    eprintln!(
        "params {}; forward: {} steps, {} f-evals; interpolating adjoint: {} steps, {} f-evals, {} VJPs; backsolve: {} steps, {} f-evals, {} VJPs",
        f.num_params(),
        sol.stats.accepted,
        sol.stats.nfe,
        gi.stats.accepted,
        gi.stats.nfe,
        gi.stats.nvjp,
        gb.stats.accepted,
        gb.stats.nfe,
        gb.stats.nvjp
    );

    let mut ws = f.workspace();
    let mut dy = vec![0.0; 8];
    c.bench_function("mlp eval (one f evaluation)", |b| {
        b.iter(|| f.eval(0.3, black_box(&y0), &p, &mut ws, &mut dy))
    });
    let (mut vy, mut vp) = (vec![0.0; 8], vec![0.0; p.len()]);
    c.bench_function("mlp vjp (one vector-Jacobian product)", |b| {
        b.iter(|| f.vjp(0.3, black_box(&y0), &p, &g[..8], &mut ws, &mut vy, &mut vp))
    });
    c.bench_function("forward solve, 50 outputs", |b| {
        b.iter(|| solve(&f, &p, 0.0, black_box(&y0), &ts, &opts).unwrap())
    });
    c.bench_function("forward solve with dense output", |b| {
        b.iter(|| solve(&f, &p, 0.0, black_box(&y0), &ts, &dense).unwrap())
    });
    c.bench_function("gradient: dense forward + interpolating adjoint", |b| {
        b.iter(|| {
            let s = solve(&f, &p, 0.0, black_box(&y0), &ts, &dense).unwrap();
            adjoint(&f, &p, &s, &g, &interp).unwrap()
        })
    });
    let disc = AdjointOptions::new(AdjointMethod::Discrete, 1e-6, 1e-8);
    let gd = adjoint(&f, &p, &sol, &g, &disc).unwrap();
    eprintln!("discrete adjoint: {} VJPs", gd.stats.nvjp);
    c.bench_function("gradient: dense forward + discrete adjoint", |b| {
        b.iter(|| {
            let s = solve(&f, &p, 0.0, black_box(&y0), &ts, &dense).unwrap();
            adjoint(&f, &p, &s, &g, &disc).unwrap()
        })
    });
    c.bench_function("gradient: forward + backsolve adjoint", |b| {
        b.iter(|| {
            let s = solve(&f, &p, 0.0, black_box(&y0), &ts, &opts).unwrap();
            adjoint(&f, &p, &s, &g, &back).unwrap()
        })
    });

    // A batch of 32 problems in lock step: the network's own rows (matrix products) against
    // one field per row (RowsOf), same run.
    let starts: Vec<Vec<f64>> = (0..32)
        .map(|k| y0.iter().map(|v| v * (0.5 + k as f64 / 32.0)).collect())
        .collect();
    let problems: Vec<Problem> = starts
        .iter()
        .map(|y| Problem {
            t0: 0.0,
            y0: y,
            save_at: &ts,
        })
        .collect();
    let fields = vec![f.clone(); problems.len()];
    let one_by_one = RowsOf::new(&fields).unwrap();
    let batched = f.rows(problems.len());
    let loss = |_: usize, s: &neural_ode::Solution| -> (f64, Vec<f64>) {
        (s.y.iter().map(|v| 0.5 * v * v).sum(), s.y.clone())
    };
    let mut group = c.benchmark_group("lock step, 32 problems, 50 outputs");
    group.bench_function("forward, TanhMlp::rows", |b| {
        b.iter(|| solve_lockstep(&batched, &p, black_box(&problems), &opts))
    });
    group.bench_function("forward, RowsOf", |b| {
        b.iter(|| solve_lockstep(&one_by_one, &p, black_box(&problems), &opts))
    });
    group.bench_function("gradient, TanhMlp::rows", |b| {
        b.iter(|| gradient_lockstep(&batched, &p, black_box(&problems), loss, &opts, 32).unwrap())
    });
    group.bench_function("gradient, RowsOf", |b| {
        b.iter(|| {
            gradient_lockstep(&one_by_one, &p, black_box(&problems), loss, &opts, 32).unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
