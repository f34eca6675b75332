//! Loads the shipped trained model and prints rejections for a seawater-like feed.
//!
//! `cargo run --release --example predict_seawater`
//!
//! The model (`iontransport_model::models::nf270_synthetic`, the file
//! models/nf270-synthetic.json compiled into the crate) was trained by the README's main job
//! with the positivity-preserving projection (`iontransport pipeline --positive --out ...`) on
//! the SYNTHETIC measurement set (data/synthetic-measurements.csv), not on lab data.

use ion_species::{Composition, IonRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = iontransport_model::models::nf270_synthetic()?;
    println!(
        "model: nf270-synthetic ({} parameters, trained on synthetic data)",
        model.num_params()
    );
    let reg = IonRegistry::canonical();
    // Major ions of standard seawater (Millero et al. 2008), balanced explicitly with Cl-.
    let feed = Composition::standard_seawater_major_ions(&reg)?.balanced_with(&reg, "Cl-")?;
    let lmh = 1e-3 / 3600.0;
    let fluxes: Vec<f64> = [5.0, 10.0, 20.0, 30.0, 45.0, 60.0]
        .iter()
        .map(|f| f * lmh)
        .collect();
    let p = model.predict(&feed, &fluxes)?;
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    let present: Vec<usize> = (0..p.ions.len())
        .filter(|&j| !p.rejection[0][j].is_nan())
        .collect();
    print!("{:>10}", "J_v [LMH]");
    for &j in &present {
        print!("{:>9}", p.ions[j]);
    }
    println!();
    for (k, j) in fluxes.iter().enumerate() {
        print!("{:>10.1}", j / lmh);
        for &i in &present {
            print!("{:>9.3}", p.rejection[k][i]);
        }
        println!();
    }
    let a = model.attention(&feed, 20.0 * lmh)?;
    println!("attention at 20 LMH (row attends to column):");
    print!("{:>8}", "");
    for &j in &present {
        print!("{:>8}", p.ions[j]);
    }
    println!();
    for &i in &present {
        print!("{:>8}", p.ions[i]);
        for &j in &present {
            print!("{:>8.3}", a[i][j]);
        }
        println!();
    }
    Ok(())
}
