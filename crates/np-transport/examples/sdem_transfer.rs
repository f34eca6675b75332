//! Leave-one-feed-out on the FdL 2021 NF270 data with the SDEM: permeances (and optionally a
//! fixed charge) fitted to three feeds, the fourth predicted. Prints a markdown table of the
//! held-out mean absolute error of R per ion and the sign errors.
//!
//! `cargo run --release -p np-transport --example sdem_transfer [data.csv]`

use ion_species::IonRegistry;
use np_transport::data::Dataset;
use np_transport::sdem::{SdemFitOptions, fit_sdem};
use np_transport::{Conditions, RejectionMeasurement};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../data/measurements/fdl2021-nf270.csv")
        });
    let reg = IonRegistry::extended();
    let data = Dataset::read_csv(&path, &reg)?;
    let variants: [(&str, Option<(f64, f64)>); 2] = [
        ("SDEM, constant permeances", None),
        (
            "SDEM + fixed charge (Donnan faces)",
            Some((-1000.0, 1000.0)),
        ),
    ];
    // SDEM_VARIANT=k runs only variant k (0 or 1).
    let only: Option<usize> = std::env::var("SDEM_VARIANT")
        .ok()
        .and_then(|v| v.parse().ok());
    for (k, (label, charge)) in variants.into_iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let started = std::time::Instant::now();
        let mut errors: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut signs = 0;
        let mut total = 0;
        for held in &data.samples {
            let subset = |keep: &dyn Fn(&str) -> bool| -> Result<Vec<RejectionMeasurement>, np_transport::TransportError> {
                let mut d = data.clone();
                d.samples.retain(|s| keep(&s.id));
                d.rejection_measurements(&reg, usize::MAX)
            };
            let train = subset(&|id| id != held.id)?;
            let test = subset(&|id| id == held.id)?;
            let mut opts = SdemFitOptions::new(Conditions::default());
            opts.charge = charge;
            let fit = fit_sdem(&train, &opts)?;
            let fitted: Vec<String> = fit
                .permeances
                .iter()
                .map(|p| format!("{} {:.3}", p.ion, p.value * 1e6))
                .collect();
            eprintln!(
                "{label}, without {}: {} um/s{}; train rmse(R) {:.3}",
                held.id,
                fitted.join(", "),
                fit.charge
                    .map(|c| format!(", X {:.1} mol/m3", c.0))
                    .unwrap_or_default(),
                fit.rmse_rejection
            );
            for m in &test {
                let p = fit.model.solve(&m.feed, m.flux)?;
                for (ion, r) in &m.rejections {
                    let k = p.ions.iter().position(|n| n == ion).expect("feed ion");
                    let pred = p.rejection[k];
                    errors
                        .entry(ion.clone())
                        .or_default()
                        .push((pred - r).abs());
                    total += 1;
                    if pred.signum() != r.signum() {
                        signs += 1;
                    }
                }
            }
        }
        let all: Vec<f64> = errors.values().flatten().copied().collect();
        println!("\n{label} ({:.1} s):\n", started.elapsed().as_secs_f64());
        println!("| ion | held-out MAE of R | points |\n|---|---|---|");
        for (ion, e) in &errors {
            println!(
                "| {ion} | {:.3} | {} |",
                e.iter().sum::<f64>() / e.len() as f64,
                e.len()
            );
        }
        println!(
            "| all | {:.3} | {} ({signs} of {total} with the wrong sign) |",
            all.iter().sum::<f64>() / all.len() as f64,
            all.len()
        );
    }
    Ok(())
}
