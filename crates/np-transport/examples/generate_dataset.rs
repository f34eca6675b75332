//! Generates DSPM-DE flux sweeps of random feeds as CSV, optionally one shard of a larger set.
//!
//! `cargo run --release --example generate_dataset -- OUT.csv [FEEDS] [SEED] [SHARD/N] [NOISE]`
//! e.g. `... -- pretrain.csv 1000 1 0/4 0.01` writes the first of 4 shards of 1000 feeds.

use ion_species::IonRegistry;
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{Conditions, Dspmde, Membrane};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .ok_or("usage: generate_dataset OUT.csv [FEEDS] [SEED] [SHARD/N] [NOISE]")?;
    let feeds: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let shard = match args.get(3) {
        Some(s) => {
            let (i, n) = s.split_once('/').ok_or("shard is i/n")?;
            (i.parse()?, n.parse()?)
        }
        None => (0, 1),
    };
    let noise: f64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(0.0);
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default())?;
    let cfg = GeneratorConfig {
        feeds,
        fluxes: flux_grid(3e-5, 50),
        noise,
        seed,
        shard,
        progress: true,
        ..GeneratorConfig::default()
    };
    let reg = IonRegistry::canonical();
    let t = std::time::Instant::now();
    let rep = generate(&model, &reg, &cfg, "dspmde-pretraining")?;
    let secs = t.elapsed().as_secs_f64();
    rep.dataset.write_csv(std::path::Path::new(out))?;
    let n = rep.dataset.samples.len();
    println!(
        "{n} sweeps of 50 fluxes in {secs:.2} s on {} threads = {:.0} sweeps/min; {} failed; wrote {out}",
        rayon::current_num_threads(),
        n as f64 / secs * 60.0,
        rep.failures.len()
    );
    for (i, e) in rep.failures.iter().take(5) {
        println!("  feed {i}: {e}");
    }
    Ok(())
}
