//! Times the WaterTAP-compatible module on random inputs and prints the distribution of solve
//! times, converged and failed alike: the check that every solve returns quickly, with a
//! solution or a typed error.
//!
//! Inputs (seeded): 2–8 ions of the registry at 0.01–2000 mol/m³ (the last anion balancing the
//! charge), r_p 0.3–1 nm, X_d −200…+50 mol/m³, 2–20 bar, 1–50 m², ideal or Davies activity,
//! with or without a spiral-wound channel (inlet velocity 0.05–0.5 m/s).
//!
//! Run: `cargo run --release -p np-transport --example watertap_random_inputs -- [N] [SEED]`

use ion_species::IonRegistry;
use np_transport::watertap::{
    Inlet, MassTransfer, Module0d, Species, SpiralWound, WATER_MOLAR_MASS, WaterTapActivity,
};
use rand::{Rng, SeedableRng};
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
        let mut idx: Vec<usize> = (0..all.len()).filter(|_| rng.random_bool(0.5)).collect();
        if !idx.iter().any(|&i| all[i].charge > 0.0) {
            idx.insert(0, 0);
        }
        if !idx.iter().any(|&i| all[i].charge < 0.0) {
            idx.push(5);
        }
        let species: Vec<Species> = idx.iter().map(|&i| all[i].clone()).collect();
        let mut conc: Vec<f64> = species
            .iter()
            .map(|_| 10f64.powf(rng.random_range(-2.0..3.3)))
            .collect();
        let last = species.len() - 1;
        let q: f64 = (0..last).map(|j| conc[j] * species[j].charge).sum();
        conc[last] = -q / species[last].charge;
        if conc[last] <= 0.0 {
            continue;
        }
        let mut m = Module0d::watertap_defaults(
            species,
            rng.random_range(0.3e-9..1e-9),
            1.33e-6,
            rng.random_range(-200.0..50.0),
            41.3,
        );
        m.feed_pressure = rng.random_range(2e5..2e6);
        m.area = 10f64.powf(rng.random_range(0.0..1.7));
        if rng.random_bool(0.5) {
            m.activity = WaterTapActivity::Ideal;
        }
        if rng.random_bool(0.5) {
            m.polarisation = Some(MassTransfer::SpiralWound(SpiralWound {
                channel_height: 5e-4,
                spacer_porosity: 0.85,
                inlet_velocity: rng.random_range(0.05..0.5),
                mixing_efficiency: 0.5,
                mixing_length: 0.6,
            }));
        }
        let flows: Vec<f64> = conc.iter().map(|c| c * 1e-3).collect();
        let solute: f64 = flows
            .iter()
            .zip(&m.species)
            .map(|(f, s)| f * s.molar_mass)
            .sum();
        let inlet = Inlet {
            flows,
            water_flow: (1.0 - solute) / WATER_MOLAR_MASS,
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
