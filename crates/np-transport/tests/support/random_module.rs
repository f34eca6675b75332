//! Random WaterTAP-module inputs, shared by tests/watertap_failures.rs and the
//! watertap_random_inputs example: 2–8 ions of the registry at 0.01–2000 mol/m³ (the last
//! anion balancing the charge), r_p 0.3–1 nm, X_d −200…+50 mol/m³, 2–20 bar, 1–50 m², ideal or
//! Davies activity, with or without a spiral-wound channel (inlet velocity 0.05–0.5 m/s),
//! 1e-3 m³/s of feed.

use np_transport::watertap::{
    Inlet, MassTransfer, Module0d, Species, SpiralWound, WaterTapActivity,
};
use rand::Rng;

/// One random module and inlet, or None when the drawn concentrations cannot be balanced by
/// the last anion.
pub fn random_module(all: &[Species], rng: &mut impl Rng) -> Option<(Module0d, Inlet)> {
    let mut idx: Vec<usize> = (0..all.len()).filter(|_| rng.random_bool(0.5)).collect();
    if !idx.iter().any(|&i| all[i].charge > 0.0) {
        idx.insert(0, all.iter().position(|s| s.charge > 0.0)?);
    }
    if !idx.iter().any(|&i| all[i].charge < 0.0) {
        idx.push(all.iter().position(|s| s.charge < 0.0)?);
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
        return None;
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
    let inlet = Inlet::from_concentrations(&m.species, &conc, 1e-3).ok()?;
    Some((m, inlet))
}
