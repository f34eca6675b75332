#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The paper's training configuration on one thread: 8 ions, an epoch of 32 batches x 32
//! trajectories x 10 save points, float64, rtol 1e-5 / atol 1e-7, Euclidean (hard) projection;
//! the gradient of one batch; inference of 1 and of 32 feeds. Two sets of weights, two
//! regimes:
//!
//! - **paper** (`benches/fixtures/nf270-hard.json`, written by the main job, `iontransport
//!   pipeline --out ...`, seed 0): a trained field, ~20-27 steps per trajectory whose counts
//!   spread, where lock step pays;
//! - **easy** (`benches/fixtures/nf270-easy.json`: the same architecture after a short
//!   training on smooth data, see benches/fixtures/README.md): few steps per trajectory,
//!   nearly the same for all, where one system with shared steps costs nothing extra.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::{Composition, IonRegistry};
use iontransport_model::data::{Trajectory, trajectories};
use iontransport_model::train::{Adam, batch_gradient as lockstep_gradient, trajectory_gradient};
use iontransport_model::{Checkpoint, IonModel};
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{Conditions, Dspmde, Membrane};

/// The previous implementation: one trajectory at a time (for the same-run ratio).
fn batch_gradient(model: &IonModel, batch: &[Trajectory]) -> Vec<f64> {
    let mut g = vec![0.0; model.num_params()];
    for t in batch {
        let (_, gi, _) = trajectory_gradient(model, t, &t.targets, 0, true).unwrap();
        for (a, b) in g.iter_mut().zip(&gi) {
            *a += b;
        }
    }
    g
}

/// The present one: the batch in lock step, the network as matrix products.
fn lockstep(model: &IonModel, batch: &[Trajectory]) -> Vec<f64> {
    let members: Vec<&Trajectory> = batch.iter().collect();
    let targets: Vec<_> = batch.iter().map(|t| t.targets.clone()).collect();
    lockstep_gradient(model, &members, &targets, 0).unwrap().1
}

/// The batch as one system with shared steps (`neural_ode::Stacked`, as diffrax does): the
/// same batched network, one error norm, one step size for all. Needs common output times
/// (the bench data's are). Returns the solution (dense when `dense`).
fn stacked_solve(model: &IonModel, batch: &[Trajectory], dense: bool) -> neural_ode::Solution {
    use iontransport_model::TrajectoryField;
    use iontransport_model::batched::BatchTrajectoryField;
    use neural_ode::{Stacked, solve};
    let fields = batch
        .iter()
        .map(|t| TrajectoryField::new(model, &t.feed.cond).unwrap())
        .collect();
    let field = BatchTrajectoryField::new(fields);
    let y0: Vec<f64> = batch.iter().flat_map(|t| t.feed.cond.h0.clone()).collect();
    let taus = &batch[0].taus;
    assert!(batch.iter().all(|t| &t.taus == taus), "common output times");
    let opts = model.solver_options(dense);
    solve(&Stacked::new(&field), &model.params, 0.0, &y0, taus, &opts).unwrap()
}

/// The gradient of a batch as one system with shared steps, and the number of shared steps.
fn stacked(model: &IonModel, batch: &[Trajectory]) -> (Vec<f64>, usize) {
    use iontransport_model::TrajectoryField;
    use iontransport_model::batched::BatchTrajectoryField;
    use neural_ode::{AdjointMethod, AdjointOptions, Stacked, adjoint};
    let sol = stacked_solve(model, batch, true);
    let taus = &batch[0].taus;
    let (n, m) = (8, batch.len());
    let mut dl = vec![0.0; sol.y.len()];
    for k in 0..taus.len() {
        for (b, t) in batch.iter().enumerate() {
            for j in 0..n {
                if let Some(y) = t.targets[k * n + j] {
                    dl[k * m * n + b * n + j] = 2.0 * (sol.y[k * m * n + b * n + j] - y);
                }
            }
        }
    }
    let opts = AdjointOptions::new(
        AdjointMethod::Discrete,
        model.config.rtol,
        model.config.atol,
    );
    let fields = batch
        .iter()
        .map(|t| TrajectoryField::new(model, &t.feed.cond).unwrap())
        .collect();
    let field = BatchTrajectoryField::new(fields);
    let g = adjoint(&Stacked::new(&field), &model.params, &sol, &dl, &opts).unwrap();
    (g.p, sol.stats.accepted)
}

fn epoch(
    model: &IonModel,
    trs: &[Trajectory],
    grad: fn(&IonModel, &[Trajectory]) -> Vec<f64>,
) -> f64 {
    let mut m = model.clone();
    let mut adam = Adam::new(m.num_params(), 1e-3);
    for batch in trs.chunks(32) {
        let mut g = grad(&m, batch);
        let inv = 1.0 / (batch.len() * 8) as f64;
        g.iter_mut().for_each(|x| *x *= inv);
        adam.step(&mut m.params, &g, 0);
    }
    m.params[0]
}

fn bench(c: &mut Criterion) {
    for (config, fixture) in [("paper", "nf270-hard.json"), ("easy", "nf270-easy.json")] {
        bench_config(c, config, fixture);
    }
}

fn bench_config(c: &mut Criterion, config: &str, fixture: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/fixtures")
        .join(fixture);
    let model = Checkpoint::load(&path).unwrap().model().unwrap();
    assert_eq!((model.config.rtol, model.config.atol), (1e-5, 1e-7));
    let reg = IonRegistry::canonical();
    // 1024 DSPM-DE trajectories (fitted-membrane-like NF270), 10 save points each.
    let dspm = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let data = generate(
        &dspm,
        &reg,
        &GeneratorConfig {
            feeds: 1024,
            fluxes: flux_grid(1.7e-5, 10),
            noise: 0.01,
            seed: 11,
            regime_weights: [0.7, 0.3, 0.0],
            ..GeneratorConfig::default()
        },
        "bench",
    )
    .unwrap();
    let trs = trajectories(&model.config, &data.dataset).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let steps: usize = trs[..32]
        .iter()
        .map(|t| {
            model
                .solve_trajectory(&t.feed.cond, &t.taus, 0, false)
                .unwrap()
                .1
                .stats
                .accepted
        })
        .sum();
    eprintln!(
        "{config} weights: {:.1} accepted steps per trajectory",
        steps as f64 / 32.0
    );

    let (_, shared) = one.install(|| stacked(&model, &trs[..32]));
    eprintln!("{config}: one system with shared steps: {shared} steps for the first batch of 32");
    let mut group = c.benchmark_group(format!("{config} configuration, one thread"));
    group.sample_size(10);
    for (name, grad) in [
        (
            "lock-step",
            lockstep as fn(&IonModel, &[Trajectory]) -> Vec<f64>,
        ),
        ("one trajectory at a time", batch_gradient),
    ] {
        group.bench_function(
            format!("epoch, {name}: 32 batches x 32 trajectories"),
            |b| b.iter(|| one.install(|| black_box(epoch(&model, &trs, grad)))),
        );
        group.bench_function(format!("gradient of one batch of 32, {name}"), |b| {
            b.iter(|| one.install(|| grad(&model, black_box(&trs[..32]))))
        });
    }
    group.bench_function(
        "gradient of one batch of 32, one system (shared steps)",
        |b| b.iter(|| one.install(|| stacked(&model, black_box(&trs[..32])))),
    );
    let feeds: Vec<Composition> = data.dataset.samples[..32]
        .iter()
        .map(|s| Composition::from_vector(&reg, &s.feed, false).unwrap())
        .collect();
    let grid = flux_grid(1.7e-5, 10);
    group.bench_function("inference: 1 feed, 10 fluxes", |b| {
        b.iter(|| model.predict(black_box(&feeds[0]), &grid).unwrap())
    });
    group.bench_function("inference: 32 feeds, 10 fluxes, one at a time", |b| {
        b.iter(|| {
            for f in &feeds {
                model.predict(black_box(f), &grid).unwrap();
            }
        })
    });
    group.bench_function("inference: 32 feeds, 10 fluxes, lock-step", |b| {
        b.iter(|| one.install(|| model.predict_many(black_box(&feeds), &grid)))
    });
    // The solve alone (normalised states, as tools/jax_compare.py times both sides): each
    // trajectory its own steps against one system with shared steps.
    let items: Vec<_> = trs[..32]
        .iter()
        .map(|t| (&t.feed.cond, &t.taus[..]))
        .collect();
    group.bench_function("inference: 32 feeds, solve only, lock-step", |b| {
        b.iter(|| one.install(|| model.predict_normalised_many(black_box(&items))))
    });
    group.bench_function(
        "inference: 32 feeds, solve only, one system (shared steps)",
        |b| b.iter(|| one.install(|| stacked_solve(&model, black_box(&trs[..32]), false))),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
