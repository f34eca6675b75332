//! Times the WaterTAP-compatible module on random inputs and prints the distribution of solve
//! times, converged and failed alike: the check that every solve returns quickly, with a
//! solution or a typed error.
//!
//! Inputs (seeded): 2–8 ions of the registry at 0.01–2000 mol/m³ (the last anion balancing the
//! charge), r_p 0.3–1 nm, X_d −200…+50 mol/m³, 2–20 bar, 1–50 m², ideal or Davies activity,
//! with or without a spiral-wound channel (inlet velocity 0.05–0.5 m/s).
//!
//! Run: `cargo run --release -p np-transport --example watertap_random_inputs -- [N] [SEED]`

#[path = "../tests/support/random_module.rs"]
mod random_module;

use ion_species::IonRegistry;
use np_transport::watertap::Species;
use rand::SeedableRng;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let reg = IonRegistry::canonical();
    let all: Vec<Species> = reg.ions().iter().map(Species::from_ion).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut times = Vec::with_capacity(n);
    let (mut converged, mut failed) = (0usize, 0usize);
    let mut slowest = (0.0f64, String::new());
    while times.len() < n {
        let Some((m, inlet)) = random_module::random_module(&all, &mut rng) else {
            continue;
        };
        let start = Instant::now();
        let result = m.solve(&inlet);
        let t = start.elapsed().as_secs_f64();
        match &result {
            Ok(_) => converged += 1,
            Err(_) => failed += 1,
        }
        if t > slowest.0 {
            slowest = (
                t,
                match result {
                    Ok(s) => format!("converged, {} evaluations", s.evaluations),
                    Err(e) => e.to_string(),
                },
            );
        }
        times.push(t);
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)] * 1e3;
    println!(
        "{n} random module inputs (seed {seed}): {converged} converged, {failed} typed errors"
    );
    println!(
        "solve time, converged or failed: median {:.2} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    println!(
        "over 1 s: {}; slowest: {}",
        times.iter().filter(|t| **t > 1.0).count(),
        slowest.1
    );
}
