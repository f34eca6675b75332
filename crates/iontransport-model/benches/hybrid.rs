#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The hybrid's inference cost against its own backbone: one feed over 50 fluxes with the
//! trained hybrid (backbone curve + corrected ODE) and with one DSPM-DE sweep of the same
//! membrane; the backbone curve alone. Weights: `benches/fixtures/hybrid.json`, written by
//! `iontransport train --hybrid --data data/synthetic-measurements.csv --epochs 100`
//! (seed 0). One thread.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::{Composition, IonRegistry};
use iontransport_model::{Checkpoint, PreparedFeed};
use np_transport::Dspmde;

fn bench(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/hybrid.json");
    let model = Checkpoint::load(&path).unwrap().model().unwrap();
    let backbone = model.config.backbone.clone().expect("a hybrid model");
    let dspm = Dspmde::new(backbone.membrane.clone(), backbone.conditions.clone()).unwrap();
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(
        &reg,
        &[
            ("Na+", 30.0),
            ("Mg2+", 5.0),
            ("Ca2+", 2.0),
            ("Cl-", 34.0),
            ("SO4 2-", 5.0),
        ],
    )
    .unwrap();
    let flux_max = model.config.domain.as_ref().unwrap().flux_max;
    let fluxes: Vec<f64> = (1..=50).map(|k| flux_max * k as f64 / 50.0).collect();
    let vector: Vec<f64> = model
        .config
        .ions
        .iter()
        .map(|n| feed.get(n).unwrap_or(0.0))
        .collect();
    let mut g = c.benchmark_group("hybrid");
    g.bench_function("dspmde_sweep_50_fluxes", |b| {
        b.iter(|| black_box(dspm.sweep(&feed, &fluxes).unwrap()))
    });
    g.bench_function("hybrid_predict_50_fluxes", |b| {
        b.iter(|| black_box(model.predict(&feed, &fluxes).unwrap()))
    });
    g.bench_function("backbone_curve", |b| {
        b.iter(|| black_box(PreparedFeed::new(&model.config, &vector).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
