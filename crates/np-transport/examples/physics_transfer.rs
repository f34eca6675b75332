//! Leave-one-feed-out on the FdL 2021 NF270 data with the physics models: each fitted to three
//! feeds, the fourth predicted. Prints per model a markdown table of the held-out mean absolute
//! error of R per ion and the sign errors. docs/real-data.md quotes these tables, and
//! tests/docs_tables.rs holds its fast ones (2, 3, 6, 7) to what this computes.
//!
//! Models (`VARIANT=k` runs only model k):
//! 0. SDEM, constant permeances;
//! 1. SDEM with a fixed charge (Donnan faces);
//! 2. DSPM-DE (r_p, dx/A_k, X_d), Born term from the Stokes radii;
//! 3. DSPM-DE, Born term from the hydration free energies (Marcus 1991);
//! 4. as 3, with an extra partition energy fitted per ion measured in the training feeds,
//!    relative to Cl- (ions absent from the training feeds keep none), started from the
//!    optimum of 3;
//! 5. as 4, started from the NF270-like membrane and the grid of starts;
//! 6. as 2, with a Freundlich charge isotherm fitted on top (`np_transport::fit_isotherm`);
//! 7. as 2, with a Langmuir charge isotherm fitted on top;
//! 8. as 2, with every ion's partition energy a linear function of three descriptors
//!    (hydration free energy, Stokes radius, z^2; `np_transport::EnergyDescriptor`), the
//!    three weights fitted with the membrane through the solve (implicit Jacobian) from the
//!    grid of starts;
//! 9. as 8 with the hydration descriptor alone (one weight);
//! 10. as 2, with the charge set by the feed's multivalent ions
//!     (`np_transport::ChargeModel::Multivalent`: X_d = x0 + cations f2+ + anions f2-, three
//!     parameters in place of one), implicit Jacobian, grid of starts;
//! 11. as 2, with Davies activity coefficients;
//! 12. as 6, with Davies activity coefficients.
//!
//! The DSPM-DE fits start from the NF270-like membrane alone (as `iontransport validate`'s
//! DSPM-DE row does) at the conditions of the file's samples.
//!
//! `cargo run --release -p np-transport --example physics_transfer [data.csv]`

#[path = "../tests/support/lofo.rs"]
mod lofo;

use ion_species::IonRegistry;
use np_transport::data::Dataset;
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
    let only: Option<usize> = std::env::var("VARIANT").ok().and_then(|v| v.parse().ok());
    for (k, label) in lofo::VARIANTS.into_iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let started = std::time::Instant::now();
        let result = lofo::leave_one_feed_out(&data, &reg, k)?;
        for line in &result.fits {
            eprintln!("{label}, {line}");
        }
        println!("\n{label} ({:.1} s):\n", started.elapsed().as_secs_f64());
        println!("| ion | held-out MAE of R | points |\n|---|---|---|");
        for (ion, e) in &result.errors {
            println!("| {ion} | {:.3} | {} |", result.mae(Some(ion)), e.len());
        }
        println!(
            "| all | {:.3} | {} ({} of {} with the wrong sign) |",
            result.mae(None),
            result.count(),
            result.sign_errors,
            result.count()
        );
    }
    Ok(())
}
