#![allow(missing_docs)] // criterion_group! generates undocumented items

//! SDEM cost: one operating point and a 50-point sweep of a six-ion FdL-like feed (full
//! model and trace-ion closed forms), and the per-feed permeance fit of the FdL MgSO4 feed in
//! both forms.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use ion_species::{Composition, IonRegistry};
use np_transport::Conditions;
use np_transport::data::Dataset;
use np_transport::sdem::{Sdem, SdemFitOptions, SdemForm, fit_sdem};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let reg = IonRegistry::extended();
    // MgSO4 10 mM with NaNO3 and NH4Cl traces, Table 1 permeances (um/s) of FdL 2021.
    let perms: Vec<(&str, f64)> = [
        ("Na+", 79.4),
        ("Mg2+", 0.9),
        ("NH4+", 80.0),
        ("Cl-", 15.7),
        ("NO3-", 41.9),
        ("SO4 2-", 0.13),
    ]
    .iter()
    .map(|(n, p)| (*n, p * 1e-6))
    .collect();
    let model = Sdem::new(&reg, &perms, Conditions::default()).unwrap();
    let feed = Composition::from_mmol_per_l(
        &reg,
        &[
            ("Na+", 0.2),
            ("Mg2+", 10.0),
            ("NH4+", 0.2),
            ("Cl-", 0.2),
            ("NO3-", 0.2),
            ("SO4 2-", 10.0),
        ],
    )
    .unwrap();
    c.bench_function("SDEM 6 ions, one point (J_v = 2e-5 m/s)", |b| {
        b.iter(|| model.solve(black_box(&feed), 2e-5).unwrap())
    });
    let fluxes: Vec<f64> = (1..=50).map(|k| k as f64 * 1e-6).collect();
    c.bench_function("SDEM 6 ions, 50-point sweep to 5e-5 m/s", |b| {
        b.iter(|| model.sweep(black_box(&feed), &fluxes).unwrap())
    });
    c.bench_function(
        "SDEM 6 ions, one point in the trace-ion closed forms",
        |b| {
            b.iter(|| {
                model
                    .solve_trace_limit_unchecked(black_box(&feed), 2e-5)
                    .unwrap()
            })
        },
    );

    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/measurements/fdl2021-nf270.csv");
    let mut data = Dataset::read_csv(&path, &reg).unwrap();
    data.samples.retain(|s| s.id == "MgSO4+traces");
    let measurements = data.rejection_measurements(&reg, usize::MAX).unwrap();
    let mut g = c.benchmark_group("SDEM fit of the FdL MgSO4 feed (6 permeances, 5 starts)");
    g.sample_size(10);
    for form in [SdemForm::TraceIons, SdemForm::Full] {
        let mut opts = SdemFitOptions::new(Conditions::default());
        opts.form = form;
        g.bench_function(format!("{form:?}"), |b| {
            b.iter(|| fit_sdem(black_box(&measurements), &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
