#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The cost of fitting a membrane to the shipped real-data file (FdL 2021, NF270, 28
//! operating points, 134 rejections of six ions): one evaluation of all residuals (the
//! fit's unit of work) and the whole multi-start fit (10 starts, 2 threads in CI).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::IonRegistry;
use np_transport::data::Dataset;
use np_transport::{ChargeModel, Conditions, FitOptions, Membrane, fit, residuals};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/measurements/fdl2021-nf270.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "{} not found: run the bench inside the repository",
            path.display()
        );
        return;
    };
    let full = IonRegistry::extended();
    let ds = Dataset::from_csv_str(&text, &full).unwrap();
    let reg = full.subset(&ds.ions).unwrap();
    let meas = ds.rejection_measurements(&reg, 400).unwrap();
    let membrane = Membrane {
        charge: ChargeModel::Constant(-40.0),
        ..Membrane::nf270_like()
    };
    let conditions = Conditions::default();
    let mut g = c.benchmark_group("fit to the FdL 2021 file");
    g.bench_function("all 134 residuals, once", |b| {
        b.iter(|| residuals(black_box(&meas), &membrane, &conditions).unwrap())
    });
    g.sample_size(10);
    g.bench_function("multi-start fit (10 starts)", |b| {
        b.iter(|| {
            fit(
                black_box(&meas),
                &FitOptions::new(membrane.clone(), conditions.clone()),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
