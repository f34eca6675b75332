//! WaterTAP 1.8 reference values (tests/data/watertap_1_8_0.json, made by
//! tools/watertap_reference.py): their schema, the module each case describes, and the
//! comparison of a solution with every stored value. Shared by tests/watertap_1_8.rs and the
//! watertap_compare example.

#![allow(dead_code)]

use np_transport::watertap::{
    Inlet, LocalState, MassTransfer, Module0d, Module0dSolution, Species, SpiralWound,
    WaterTapActivity, WaterTapVersion,
};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Reference {
    pub watertap_version: String,
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub species: Vec<SpeciesData>,
    pub membrane: MembraneData,
    pub activity: String,
    pub polarisation: Option<SpiralData>,
    pub inlet: InletData,
    pub temperature: f64,
    pub feed_pressure: f64,
    pub permeate_pressure: f64,
    pub area: f64,
    pub max_scaled_residual: f64,
    pub results: Results,
}

#[derive(Deserialize)]
pub struct SpeciesData {
    pub name: String,
    pub charge: f64,
    pub diffusivity: f64,
    pub stokes_radius: f64,
    pub molar_mass: f64,
}

#[derive(Deserialize)]
pub struct MembraneData {
    pub pore_radius: f64,
    pub effective_thickness: f64,
    pub charge_density: f64,
    pub pore_dielectric: f64,
}

#[derive(Deserialize)]
pub struct SpiralData {
    pub channel_height: f64,
    pub spacer_porosity: f64,
    pub inlet_velocity: f64,
    pub mixing_efficiency: f64,
    pub mixing_length: f64,
}

#[derive(Deserialize)]
pub struct InletData {
    pub flows: Vec<f64>,
    pub water_flow: f64,
}

#[derive(Deserialize)]
pub struct Results {
    pub flux: Vec<f64>,
    pub water_flux: f64,
    pub permeate: Vec<f64>,
    pub rejection_intrinsic: Vec<f64>,
    pub rejection_observed: Vec<f64>,
    pub recovery: f64,
    pub retentate_flows: Vec<f64>,
    pub retentate_water_flow: f64,
    pub local: Vec<Local>,
}

#[derive(Deserialize)]
pub struct Local {
    pub bulk: Vec<f64>,
    pub interface: Vec<f64>,
    pub pore_entrance: Vec<f64>,
    pub pore_exit: Vec<f64>,
    pub permeate: Vec<f64>,
    pub potentials: Vec<f64>,
    pub water_flux: f64,
    pub flux: Vec<f64>,
    pub water_flux_mol: f64,
    pub mass_transfer: Vec<f64>,
    pub potential_gradient: Option<f64>,
    pub velocity: f64,
    pub activity: Activities,
}

#[derive(Deserialize)]
pub struct Activities {
    pub interface: Vec<f64>,
    pub pore_entrance: Vec<f64>,
    pub pore_exit: Vec<f64>,
    pub permeate: Vec<f64>,
}

pub const REFERENCE: &str = include_str!("../data/watertap_1_8_0.json");

pub fn reference() -> Reference {
    serde_json::from_str(REFERENCE).expect("the stored WaterTAP reference parses")
}

pub fn module(case: &Case) -> (Module0d, Inlet) {
    let species = case
        .species
        .iter()
        .map(|s| Species {
            name: s.name.clone(),
            charge: s.charge,
            diffusivity: s.diffusivity,
            stokes_radius: s.stokes_radius,
            molar_mass: s.molar_mass,
        })
        .collect();
    let m = &case.membrane;
    let mut module = Module0d::watertap_defaults(
        species,
        m.pore_radius,
        m.effective_thickness,
        m.charge_density,
        m.pore_dielectric,
    );
    assert_eq!(module.version, WaterTapVersion::V1_8);
    module.temperature = case.temperature;
    module.feed_pressure = case.feed_pressure;
    module.permeate_pressure = case.permeate_pressure;
    module.area = case.area;
    module.activity = match case.activity.as_str() {
        "davies" => WaterTapActivity::Davies,
        "ideal" => WaterTapActivity::Ideal,
        other => panic!("unknown activity {other}"),
    };
    module.polarisation = case.polarisation.as_ref().map(|p| {
        MassTransfer::SpiralWound(SpiralWound {
            channel_height: p.channel_height,
            spacer_porosity: p.spacer_porosity,
            inlet_velocity: p.inlet_velocity,
            mixing_efficiency: p.mixing_efficiency,
            mixing_length: p.mixing_length,
        })
    });
    let inlet = Inlet {
        flows: case.inlet.flows.clone(),
        water_flow: case.inlet.water_flow,
    };
    (module, inlet)
}

/// Largest relative deviation seen, with what it was.
pub struct Worst {
    pub value: f64,
    pub what: String,
}

impl Worst {
    /// Relative deviation of `ours` from `theirs`, relative to max(|theirs|, `floor`) so that
    /// quantities that are nearly zero (a rejection of 0.007, a potential near 0) are
    /// compared on their own scale.
    pub fn check(&mut self, what: &str, ours: f64, theirs: f64, floor: f64) {
        let d = (ours - theirs).abs() / theirs.abs().max(floor);
        // A NaN deviation counts as the worst.
        if d.is_nan() || d > self.value {
            let d = if d.is_nan() { f64::INFINITY } else { d };
            self.value = d;
            self.what = format!("{what}: {ours:.10e} vs WaterTAP {theirs:.10e}");
        }
    }

    pub fn all(&mut self, what: &str, ours: &[f64], theirs: &[f64], floor: f64) {
        assert_eq!(ours.len(), theirs.len(), "{what}");
        for (j, (a, b)) in ours.iter().zip(theirs).enumerate() {
            self.check(&format!("{what}[{j}]"), *a, *b, floor);
        }
    }
}

pub fn compare_local(w: &mut Worst, end: &str, ours: &LocalState, theirs: &Local, polarised: bool) {
    let c = |s: &str| format!("{end} {s}");
    let theirs_conc = [
        &theirs.bulk,
        &theirs.interface,
        &theirs.pore_entrance,
        &theirs.pore_exit,
        &theirs.permeate,
    ];
    for ((name, a), b) in ours.concentrations.named().into_iter().zip(theirs_conc) {
        w.all(&c(name), a, b, 0.0);
    }
    // Potentials in V; a floor of 1 mV (thermal voltage 25.7 mV).
    w.all(&c("potentials"), &ours.potentials, &theirs.potentials, 1e-3);
    w.check(&c("J_v"), ours.water_flux, theirs.water_flux, 0.0);
    w.all(&c("solute flux"), &ours.flux, &theirs.flux, 0.0);
    w.check(
        &c("water flux"),
        ours.water_flux_molar,
        theirs.water_flux_mol,
        0.0,
    );
    let b = &theirs.activity;
    // (WaterTAP's model has no activity coefficients of the bulk streams: they play no part
    // in its equations, so none is compared.)
    let theirs_gamma = [&b.interface, &b.pore_entrance, &b.pore_exit, &b.permeate];
    for ((name, a), b) in ours.activity.named()[1..].iter().zip(theirs_gamma) {
        w.all(&c(&format!("gamma {name}")), a, b, 0.0);
    }
    if polarised {
        w.all(&c("k_f"), &ours.mass_transfer, &theirs.mass_transfer, 0.0);
        // V/m; a floor of 1 V/m (the gradients here are 10^2 - 10^4 V/m).
        w.check(
            &c("potential gradient"),
            ours.potential_gradient.expect("polarised"),
            theirs.potential_gradient.expect("polarised"),
            1.0,
        );
        w.check(
            &c("velocity"),
            ours.velocity.expect("spiral wound"),
            theirs.velocity,
            0.0,
        );
    } else {
        assert!(ours.potential_gradient.is_none() && ours.velocity.is_none());
    }
}

pub fn compare(case: &Case, s: &Module0dSolution) -> Worst {
    let r = &case.results;
    let mut w = Worst {
        value: 0.0,
        what: String::new(),
    };
    w.all("flux", &s.flux, &r.flux, 0.0);
    w.check("water flux", s.water_flux, r.water_flux, 0.0);
    w.all("mixed permeate", &s.permeate, &r.permeate, 0.0);
    // Rejections on the scale of 0.01 (some are below 0.01 in magnitude).
    w.all(
        "R intrinsic",
        &s.rejection_intrinsic,
        &r.rejection_intrinsic,
        1e-2,
    );
    w.all(
        "R observed",
        &s.rejection_observed,
        &r.rejection_observed,
        1e-2,
    );
    w.check("recovery", s.recovery, r.recovery, 0.0);
    w.all("retentate", &s.retentate.flows, &r.retentate_flows, 0.0);
    w.check(
        "retentate water",
        s.retentate.water_flow,
        r.retentate_water_flow,
        0.0,
    );
    for (end, (ours, theirs)) in ["inlet", "outlet"].iter().zip(s.local.iter().zip(&r.local)) {
        compare_local(&mut w, end, ours, theirs, case.polarisation.is_some());
    }
    w
}
