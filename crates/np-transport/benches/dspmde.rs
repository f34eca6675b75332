#![allow(missing_docs)] // criterion_group! generates undocumented items

//! DSPM-DE cost: one operating point and a 50-point flux sweep for an eight-ion feed, and
//! how the cost grows with the number of ions and pore elements.

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use ion_species::{Composition, IonRegistry};
use np_transport::{
    Activity, Conditions, Dspmde, Membrane, NewtonJacobian, Polarisation, PoreScheme,
};

#[path = "../tests/support/feeds.rs"]
mod feeds;
use feeds::eight_ion_feed;

fn bench(c: &mut Criterion) {
    let feed = eight_ion_feed();
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let p = model.solve(&feed, 1e-5).unwrap();
    eprintln!("one point: {} Newton iterations", p.iterations);
    c.bench_function("8 ions, one operating point (J_v = 1e-5 m/s)", |b| {
        b.iter(|| model.solve(black_box(&feed), 1e-5).unwrap())
    });
    let fluxes: Vec<f64> = (1..=50).map(|k| k as f64 * 4e-7).collect();
    c.bench_function("8 ions, 50-point flux sweep to 2e-5 m/s", |b| {
        b.iter(|| model.sweep(black_box(&feed), &fluxes).unwrap())
    });

    // The Newton Jacobian from sensitivities (default) against differences, same run: the
    // plain model and one with a film and Davies activities (every term of the Jacobian).
    let mut g = c.benchmark_group("Newton Jacobian, 8 ions, one point");
    for (jacobian, label) in [
        (NewtonJacobian::Sensitivity, "sensitivities"),
        (NewtonJacobian::FiniteDifference, "differences"),
    ] {
        for (extra, polarisation, activity) in [
            ("", Polarisation::Off, Activity::Ideal),
            (
                ", film + Davies",
                Polarisation::Film { thickness: 20e-6 },
                Activity::Davies,
            ),
        ] {
            let m = Dspmde::new(
                Membrane::nf270_like(),
                Conditions {
                    jacobian,
                    polarisation,
                    activity,
                    ..Conditions::default()
                },
            )
            .unwrap();
            let p = m.solve(&feed, 1e-5).unwrap();
            eprintln!("{label}{extra}: {} Newton iterations", p.iterations);
            g.bench_function(format!("{label}{extra}"), |b| {
                b.iter(|| m.solve(black_box(&feed), 1e-5).unwrap())
            });
        }
    }
    g.finish();

    let reg = IonRegistry::canonical();
    let mut g = c.benchmark_group("one point vs number of ions");
    let sets: [&[(&str, f64)]; 4] = [
        &[("Na+", 10.0), ("Cl-", 10.0)],
        &[("Na+", 10.0), ("Mg2+", 5.0), ("Cl-", 10.0), ("SO4 2-", 5.0)],
        &[
            ("Na+", 10.0),
            ("K+", 2.0),
            ("Mg2+", 5.0),
            ("Cl-", 12.0),
            ("SO4 2-", 5.0),
            ("NO3-", 0.0001),
        ],
        feeds::EIGHT_IONS_MMOL,
    ];
    for set in sets {
        let f = Composition::from_mmol_per_l(&reg, set)
            .unwrap()
            .balanced_with(&reg, "Cl-")
            .unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(set.len()), &f, |b, f| {
            b.iter(|| model.solve(black_box(f), 1e-5).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("one point vs pore elements (8 ions)");
    for n in [1usize, 4, 16, 64] {
        let m = Dspmde::new(
            Membrane::nf270_like(),
            Conditions {
                scheme: PoreScheme::Elements(n),
                ..Conditions::default()
            },
        )
        .unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| m.solve(black_box(&feed), 1e-5).unwrap())
        });
    }
    g.finish();

    // WaterTAP-compatible 0D module (two local solves per mass-balance iteration).
    let mut g = c.benchmark_group("WaterTAP 0D module, 5 ions");
    for case in np_transport::watertap::published_cases()
        .into_iter()
        .take(2)
    {
        // The analytic Jacobian (default) and differences, same run.
        for (jacobian, label) in [
            (NewtonJacobian::Sensitivity, "analytic"),
            (NewtonJacobian::FiniteDifference, "differences"),
        ] {
            let module = np_transport::watertap::Module0d {
                jacobian,
                ..case.module.clone()
            };
            g.bench_function(format!("{} ({label})", case.name), |b| {
                b.iter(|| module.solve(black_box(&case.inlet)).unwrap())
            });
        }
    }
    g.finish();

    // Strong polarisation: 10 mol/m^3 NaCl, fixed k_f with J_v / k_f = 0.9 at the inlet
    // (interface 3.6 x the bulk), WaterTAP 1.8 conventions, cold start every time.
    use np_transport::watertap::{Inlet, MassTransfer, Module0d, Species, WaterTapActivity};
    let mut g = c.benchmark_group("WaterTAP 0D module, NaCl 10 mol/m3");
    let reg = ion_species::IonRegistry::canonical();
    let species: Vec<Species> = ["Na+", "Cl-"]
        .iter()
        .map(|n| Species::from_ion(reg.parse(n).unwrap()))
        .collect();
    for activity in [WaterTapActivity::Ideal, WaterTapActivity::Davies] {
        let mut m = Module0d::watertap_defaults(species.clone(), 0.5e-9, 1.33e-6, -27.0, 41.3);
        m.activity = activity;
        m.feed_pressure = 8e5;
        m.area = 5.0;
        let inlet = Inlet::from_concentrations(&m.species, &[10.0, 10.0], 1e-3).unwrap();
        g.bench_function(format!("{activity:?}, no polarisation"), |b| {
            b.iter(|| m.solve(black_box(&inlet)).unwrap())
        });
        let mut p = m.clone();
        p.polarisation = Some(MassTransfer::Fixed(vec![1.45e-5; 2]));
        g.bench_function(format!("{activity:?}, J_v/k_f 0.9"), |b| {
            b.iter(|| p.solve(black_box(&inlet)).unwrap())
        });
    }
    g.finish();
}

/// Prediction intervals: a 10-flux sweep of NaCl with the fitted membrane alone, and with 90 %
/// intervals from 200 Laplace samples (200 more sweeps and the mixture quantiles).
fn intervals(c: &mut Criterion) {
    use np_transport::posterior::{SamplingOptions, sample_parameters};
    use np_transport::{ChargeModel, Conditions, Dspmde, FitOptions, Membrane, MembraneFile};
    use np_transport::{RejectionMeasurement, Starts, fit};
    let reg = ion_species::IonRegistry::canonical();
    let truth = Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 2e-6,
        charge: ChargeModel::Constant(-30.0),
        ..Membrane::nf270_like()
    };
    let model = Dspmde::new(truth.clone(), Conditions::default()).unwrap();
    let mut data = Vec::new();
    for pairs in [
        [("Na+", 10.0), ("Cl-", 10.0)],
        [("Mg2+", 10.0), ("Cl-", 20.0)],
        [("Na+", 20.0), ("SO4 2-", 10.0)],
    ] {
        let feed = Composition::from_mmol_per_l(&reg, &pairs).unwrap();
        for p in model.sweep(&feed, &[3e-6, 1e-5, 2e-5]).unwrap() {
            // Deterministic scatter of +-0.01 so that the residuals are not zero.
            let r = (0..2)
                .map(|j| (p.ions[j].clone(), p.rejection[j] + 0.01 * (j as f64 - 0.5)))
                .collect();
            data.push(RejectionMeasurement::observed(feed.clone(), p.flux, r));
        }
    }
    let mut opts = FitOptions::new(truth, Conditions::default());
    opts.starts = Starts::Initial;
    let f = fit(&data, &opts).unwrap();
    let samples = sample_parameters(&data, &opts, &f, &SamplingOptions::default()).unwrap();
    let file =
        MembraneFile::from_fit(&f, Conditions::default(), "bench", b"", Some(samples)).unwrap();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    let fluxes: Vec<f64> = (1..=10).map(|k| 3e-6 * k as f64).collect();
    let mut g = c.benchmark_group("prediction intervals, NaCl, 10 fluxes");
    let alone = file.dspmde().unwrap();
    g.bench_function("fitted membrane alone", |b| {
        b.iter(|| alone.sweep(black_box(&feed), &fluxes).unwrap())
    });
    g.bench_function("with 90 % intervals (200 samples)", |b| {
        b.iter(|| {
            file.sweep_with_intervals(black_box(&feed), &fluxes, None, 0.9)
                .unwrap()
        })
    });
    g.finish();
}

/// dR/dp of a 10-point sweep for the membrane's three fitted parameters: by the implicit
/// function theorem against central differences of whole sweeps (what a fit or a user
/// without the implicit route would do).
fn sensitivities(c: &mut Criterion) {
    let feed = eight_ion_feed();
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let fluxes: Vec<f64> = (1..=10).map(|k| 2e-6 * k as f64).collect();
    let names = ["pore_radius", "effective_thickness", "charge"];
    let mut g = c.benchmark_group("rejection sensitivities, 8 ions, 10 fluxes, 3 parameters");
    g.bench_function("implicit function theorem", |b| {
        b.iter(|| {
            model
                .sweep_with_sensitivities(black_box(&feed), &fluxes, &names)
                .unwrap()
        })
    });
    g.bench_function("central differences of whole sweeps", |b| {
        b.iter(|| {
            let m = &model.membrane;
            let mut out = Vec::new();
            for h in [1e-4, -1e-4] {
                for k in 0..3 {
                    let mut p = m.clone();
                    match k {
                        0 => p.pore_radius *= 1.0 + h,
                        1 => p.effective_thickness *= 1.0 + h,
                        _ => p.charge = np_transport::ChargeModel::Constant(-40.0 * (1.0 + h)),
                    }
                    let d = Dspmde::new(p, Conditions::default()).unwrap();
                    out.push(d.sweep(black_box(&feed), &fluxes).unwrap());
                }
            }
            out
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench, intervals, sensitivities
}
criterion_main!(benches);
