#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Training throughput, inference latency for one feed over 50 fluxes, and the speed-up over
//! a DSPM-DE sweep of the same feed.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::{Composition, IonRegistry};
use iontransport_model::data::trajectories;
use iontransport_model::train::trajectory_gradient;
use iontransport_model::{Constraint, IonModel, ModelConfig, NetworkConfig};
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{Conditions, Dspmde, Membrane};

fn bench(c: &mut Criterion) {
    let reg = IonRegistry::canonical();
    let cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::Hard);
    let model = IonModel::new(cfg.clone(), 1).unwrap();
    eprintln!("model parameters: {}", model.num_params());
    let feed = Composition::from_mmol_per_l(
        &reg,
        &[
            ("Na+", 50.0),
            ("K+", 2.0),
            ("Li+", 1.0),
            ("Mg2+", 10.0),
            ("Ca2+", 5.0),
            ("Cl-", 70.0),
            ("SO4 2-", 6.0),
            ("NO3-", 1.0),
        ],
    )
    .unwrap()
    .balanced_with(&reg, "Cl-")
    .unwrap();
    let fluxes = flux_grid(3e-5, 50);
    {
        use iontransport_model::{PreparedFeed, TrajectoryField};
        use neural_ode::VectorField;
        let v = feed.to_vector(&reg).unwrap();
        let pf = PreparedFeed::new(&cfg, &v).unwrap();
        let f = TrajectoryField::new(&model, &pf.cond).unwrap();
        let mut ws = f.workspace();
        let mut dh = vec![0.0; 8];
        let h: Vec<f64> = pf.cond.h0.iter().map(|x| 0.9 * x).collect();
        c.bench_function(
            "vector field: one evaluation (attention + 5 layers + projection)",
            |b| b.iter(|| f.eval(0.5, black_box(&h), &model.params, &mut ws, &mut dh)),
        );
        let a = vec![0.1; 8];
        let (mut vh, mut vp) = (vec![0.0; 8], vec![0.0; model.num_params()]);
        c.bench_function("vector field: one VJP", |b| {
            b.iter(|| {
                f.vjp(
                    0.5,
                    black_box(&h),
                    &model.params,
                    &a,
                    &mut ws,
                    &mut vh,
                    &mut vp,
                )
            })
        });
    }
    c.bench_function("neural ODE inference, 8 ions, 50 fluxes", |b| {
        b.iter(|| model.predict(black_box(&feed), &fluxes).unwrap())
    });
    // The baselines of the study (direct regressors, parameter counts matched) and the
    // positivity-preserving neural ODE, same feed and fluxes.
    {
        use iontransport_model::Architecture;
        use iontransport_model::network::Body;
        let base = NetworkConfig::default();
        let target = base.num_params();
        for (name, net) in [
            ("FNN", base.clone()),
            (
                "CNN",
                base.with_matched_body(|channels| Body::Cnn { channels }, target),
            ),
            (
                "U-Net",
                base.with_matched_body(|channels| Body::UNet { channels }, target),
            ),
        ] {
            let mut cfg = ModelConfig::for_registry(&reg, net, Constraint::Hard);
            cfg.architecture = Architecture::Direct;
            let m = IonModel::new(cfg, 1).unwrap();
            c.bench_function(
                &format!(
                    "{name} baseline inference, {} parameters, 50 fluxes",
                    m.num_params()
                ),
                |b| b.iter(|| m.predict(black_box(&feed), &fluxes).unwrap()),
            );
        }
        let cfg = ModelConfig::for_registry(&reg, base, Constraint::HardPositive);
        let m = IonModel::new(cfg, 1).unwrap();
        c.bench_function("neural ODE (HIB+) inference, 8 ions, 50 fluxes", |b| {
            b.iter(|| m.predict(black_box(&feed), &fluxes).unwrap())
        });
    }
    let dspm = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    c.bench_function("DSPM-DE sweep, 8 ions, 50 fluxes", |b| {
        b.iter(|| dspm.sweep(black_box(&feed), &fluxes).unwrap())
    });

    // Training: gradient of one DSPM-DE trajectory (12 fluxes), as in pre-training.
    let data = generate(
        &dspm,
        &reg,
        &GeneratorConfig {
            feeds: 64,
            fluxes: flux_grid(2e-5, 12),
            seed: 3,
            ..GeneratorConfig::default()
        },
        "bench",
    )
    .unwrap();
    let trs = trajectories(&cfg, &data.dataset).unwrap();
    let mut k = 0;
    c.bench_function("training: one trajectory gradient (12 fluxes)", |b| {
        b.iter(|| {
            k = (k + 1) % trs.len();
            trajectory_gradient(&model, &trs[k], &trs[k].targets, 0, true).unwrap()
        })
    });
    // Trained weights take 3-4x the steps of fresh ones: the shipped model (main job,
    // positivity-preserving projection), pre-training and fine-tuning gradients.
    let shipped = iontransport_model::Checkpoint::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nf270-synthetic.json"),
    )
    .unwrap()
    .model()
    .unwrap();
    let first = shipped.fine_tune_start();
    for (name, from) in [("all parameters", 0), ("last two layers", first)] {
        let mut k = 0;
        c.bench_function(
            &format!("training, trained weights: one trajectory gradient, {name}"),
            |b| {
                b.iter(|| {
                    k = (k + 1) % trs.len();
                    trajectory_gradient(&shipped, &trs[k], &trs[k].targets, from, true).unwrap()
                })
            },
        );
    }
    // Inference with trained weights: the brackish feed, and 32 feeds one after another (it
    // diluted and concentrated x 0.25 .. x 4, geometric), as tools/python_bench.py builds them.
    let v = feed.to_vector(&reg).unwrap();
    let feeds: Vec<Composition> = (0..32)
        .map(|k| {
            let s = 0.25 * 16f64.powf(k as f64 / 31.0);
            let scaled: Vec<f64> = v.iter().map(|c| c * s).collect();
            Composition::from_vector(&reg, &scaled, false).unwrap()
        })
        .collect();
    let grid = flux_grid(1.7e-5, 10);
    c.bench_function("inference, trained weights: 1 feed, 10 fluxes", |b| {
        b.iter(|| shipped.predict(black_box(&feed), &grid).unwrap())
    });
    c.bench_function("inference, trained weights: 32 feeds, 10 fluxes", |b| {
        b.iter(|| {
            for f in &feeds {
                shipped.predict(black_box(f), &grid).unwrap();
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
