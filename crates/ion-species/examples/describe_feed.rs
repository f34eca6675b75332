//! Prints the ion properties and charge bookkeeping of a feed.
//!
//! `cargo run -p ion-species --example describe_feed -- "Na+=468.97" "Mg2+=52.82" "Cl-=545.87"`
//! (mmol/L); with no arguments a seawater-like feed is used. The feed is balanced with Cl-
//! explicitly, and the report says by how much.

use ion_species::{Composition, DEFAULT_NEUTRALITY_TOL, IonRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reg = IonRegistry::canonical();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let feed = if args.is_empty() {
        Composition::standard_seawater_major_ions(&reg)?
    } else {
        let pairs = args
            .iter()
            .map(|a| {
                let (n, c) = a
                    .split_once('=')
                    .ok_or_else(|| format!("expected ION=mmol/L, got `{a}`"))?;
                Ok((n.to_string(), c.trim().parse::<f64>()?))
            })
            .collect::<Result<Vec<(String, f64)>, Box<dyn std::error::Error>>>()?;
        let refs: Vec<(&str, f64)> = pairs.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        Composition::from_mmol_per_l(&reg, &refs)?
    };

    println!(
        "{:<8} {:>4} {:>10} {:>12} {:>10} {:>12}",
        "ion", "z", "r_s / nm", "D / 1e-9 m2/s", "r_h / nm", "c / mol m-3"
    );
    for (ion, c) in feed.iter() {
        println!(
            "{:<8} {:>4} {:>10.3} {:>12.3} {:>10} {:>12.3}",
            ion.name,
            ion.charge,
            ion.stokes_radius * 1e9,
            ion.diffusivity * 1e9,
            ion.hydrated_radius
                .map_or("-".to_string(), |r| format!("{:.3}", r * 1e9)),
            c
        );
    }
    println!(
        "charge balance sum z c = {:.4} eq/m3 (relative {:.2e})",
        feed.charge_balance(),
        feed.relative_imbalance()
    );
    println!("ionic strength = {:.2} mol/m3", feed.ionic_strength());
    if feed.check_electroneutral(DEFAULT_NEUTRALITY_TOL).is_err() {
        let fixed = feed.balanced_with(&reg, "Cl-")?;
        println!(
            "not electroneutral; balanced explicitly with Cl-: {:.3} -> {:.3} mol/m3",
            feed.get("Cl-").unwrap_or(0.0),
            fixed.get("Cl-").unwrap_or(0.0)
        );
    }
    Ok(())
}
