#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The cost of fitting a membrane to the shipped real-data file (FdL 2021, NF270, 28
//! operating points, 134 rejections of six ions): one evaluation of all residuals (the
//! fit's unit of work) and the whole multi-start fit (10 starts, 2 threads in CI), with the
//! Newton Jacobian from sensitivities (the default) and from differences (the reference).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::IonRegistry;
use np_transport::data::Dataset;
use np_transport::{
    ChargeModel, Conditions, FitJacobian, FitOptions, Membrane, NewtonJacobian, fit, residuals,
};
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
    // Both Newton Jacobians in one run, so their ratio is measured under the same load.
    let mut g = c.benchmark_group("fit to the FdL 2021 file");
    for (jacobian, label) in [
        (NewtonJacobian::Sensitivity, "sensitivities"),
        (NewtonJacobian::FiniteDifference, "differences"),
    ] {
        let conditions = Conditions {
            jacobian,
            ..Conditions::default()
        };
        g.sample_size(20);
        g.bench_function(format!("all 134 residuals, once ({label})"), |b| {
            b.iter(|| residuals(black_box(&meas), &membrane, &conditions).unwrap())
        });
    }
    // The fit's Jacobian by the implicit function theorem (the default) against forward
    // differences of whole sweeps; the Newton iterations take sensitivities in both.
    for (jacobian, label) in [
        (FitJacobian::Implicit, "implicit Jacobian"),
        (FitJacobian::Differences, "differenced Jacobian"),
    ] {
        g.sample_size(10);
        g.bench_function(format!("multi-start fit, 10 starts ({label})"), |b| {
            b.iter(|| {
                fit(
                    black_box(&meas),
                    &FitOptions {
                        jacobian,
                        ..FitOptions::new(membrane.clone(), Conditions::default())
                    },
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
