//! The solution–diffusion–electromigration model (SDEM) of nanofiltration: each ion crosses
//! the membrane by diffusion and electromigration with its own permeance, and the electric
//! field that keeps the solution electroneutral and carries no current couples the ions.
//!
//! Across the membrane (ξ = 0 at the feed-side wall, 1 at the permeate side) the flux of ion
//! i is fixed by the permeate, j_i = J_v c_p,i, and
//!
//!   j_i = −P_i (dc_i/dξ + z_i c_i dψ/dξ),   Σ z_i c_i = 0,   Σ z_i j_i = 0,
//!
//! with c_i(0) = c_m,i and c_i(1) = c_p,i: the concentrations are those of a "virtual"
//! solution in equilibrium with the membrane (partitioning is lumped into P_i), so they are
//! continuous at both faces (Yaroshchuk, Bruening & Licón Bernal, J. Membr. Sci. 447 (2013)
//! 463–476; Fernandez de Labastida & Yaroshchuk, Membranes 11 (2021) 272). There is no
//! convective term: the model describes membranes whose ion transport is diffusive.
//!
//! This is the DSPM-DE's pore equation with K_c = 0, K_d D_i / Δx = P_i, no fixed charge
//! and no partitioning, so it is solved by the same layer integration, Newton iteration,
//! flux continuation and feed-side film as [`crate::Dspmde`] — one implementation of each.
//! For a single salt the rejection is R = J_v / (J_v + P_s) with the salt permeance of
//! [`salt_permeance`]; a trace ion in a dominant salt has the closed form
//! [`trace_transmission`].

mod fit;
mod trace;

pub use fit::{
    Determination, PermeanceEstimate, SdemFit, SdemFitOptions, SdemForm, SdemResidual, fit_sdem,
};
pub use trace::{salt_permeance, single_salt_rejection, trace_transmission};

use crate::error::{Result, TransportError};
use crate::model::{ChargeModel, Conditions};
use crate::partition::ActivityForm;
use crate::solver::{
    OperatingPoint, PoreClass, Prepared, check_flux, check_fluxes, film_layer, present_ions,
};
use crate::transport::Layer;
use ion_species::{Composition, IonRegistry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The permeances an ion may have, m/s: from far below a sulfate's through an RO membrane
/// (1e-12) to far above any ion's through a nanofiltration membrane (1e-2, ten times
/// [`crate::MAX_FLUX`]). A value outside is almost always a unit slip.
pub const PERMEANCE_RANGE: (f64, f64) = (1e-12, 1e-2);

fn no_charge() -> ChargeModel {
    ChargeModel::Constant(0.0)
}

/// The largest share of the dominant salt's equivalents, and of its conductance Σ z² c P, an
/// ion may hold and still count as a trace in [`Sdem::solve_trace_limit`] (5 %: the field
/// then changes by a few per cent at most).
pub const TRACE_SHARE: f64 = 0.05;

/// A membrane described by the SDEM: one permeance per ion.
///
/// ```
/// use ion_species::{Composition, IonRegistry};
/// use np_transport::{Conditions, sdem::{Sdem, single_salt_rejection}};
/// let reg = IonRegistry::canonical();
/// // Permeances in m/s (3.9 um/s for Cl-: NF270 in 10 mM NaCl, Fernandez de Labastida 2021).
/// let sdem = Sdem::new(&reg, &[("Na+", 97.5e-6), ("Cl-", 3.9e-6)], Conditions::default()).unwrap();
/// let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
/// let point = sdem.solve(&feed, 20e-6).unwrap(); // J_v = 20 um/s
/// let expected = single_salt_rejection(20e-6, (97.5e-6, 1.0), (3.9e-6, -1.0));
/// assert!((point.rejection[0] - expected).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sdem {
    /// Permeance P_i of each ion, m/s, by canonical ion name ([`ion_species::Ion::name`]).
    pub permeances: BTreeMap<String, f64>,
    /// Fixed charge of the membrane, mol/m^3 (default none). With a charge the membrane is
    /// no longer a "virtual solution": each face is a Donnan equilibrium (ideal, no steric
    /// or dielectric factor) and P_i is the ion's permeance inside the charged phase — the
    /// Teorell–Meyer–Sievers picture without convection. The closed forms then do not apply.
    #[serde(default = "no_charge")]
    pub charge: ChargeModel,
    /// Temperature, feed-side film and numerical choices ([`Conditions::activity`],
    /// [`Conditions::bulk_dielectric`] play no part: the SDEM has no partitioning step).
    pub conditions: Conditions,
}

impl Sdem {
    /// A model with these permeances (m/s), the ion names in any notation `reg` reads
    /// ("Mg2+", "SO4 2-"), under `conditions`; everything is validated.
    pub fn new(
        reg: &IonRegistry,
        permeances: &[(&str, f64)],
        conditions: Conditions,
    ) -> Result<Self> {
        let mut map = BTreeMap::new();
        for (name, p) in permeances {
            let ion = reg.parse(name)?;
            if map.insert(ion.name.clone(), *p).is_some() {
                return Err(TransportError::InvalidFeed(format!(
                    "{} is given two permeances",
                    ion.name
                )));
            }
        }
        let model = Self {
            permeances: map,
            charge: no_charge(),
            conditions,
        };
        model.validate()?;
        Ok(model)
    }

    /// The membrane charge (mol/m^3) in contact with `feed` ([`Sdem::charge`]).
    pub fn charge_density(&self, feed: &Composition) -> f64 {
        self.charge.charge_of(feed)
    }

    /// This model with a fixed charge (mol/m^3; see [`Sdem::charge`]).
    pub fn with_charge(mut self, charge: ChargeModel) -> Result<Self> {
        self.charge = charge;
        self.validate()?;
        Ok(self)
    }

    /// Checks every permeance ([`PERMEANCE_RANGE`]), the charge (|X| ≤
    /// [`crate::MAX_CHARGE_DENSITY`]) and the conditions.
    pub fn validate(&self) -> Result<()> {
        let (x, bound) = match self.charge {
            ChargeModel::Constant(x) => (x, x),
            ChargeModel::Freundlich { a, b } => (a, b),
            ChargeModel::Langmuir { x_max, k } => (x_max, k),
            // Both shifts bounded like the charge itself.
            ChargeModel::Multivalent {
                x0,
                cations,
                anions,
            } => (
                x0.abs().max(cations.abs()).max(anions.abs()),
                x0 + cations + anions,
            ),
        };
        if !(x.is_finite() && bound.is_finite() && x.abs() <= crate::MAX_CHARGE_DENSITY) {
            return Err(TransportError::InvalidParameter {
                name: "charge",
                value: x,
                reason: "must be finite with |X| at most 1e4 mol/m^3",
            });
        }
        for (ion, &p) in &self.permeances {
            if !(p.is_finite() && (PERMEANCE_RANGE.0..=PERMEANCE_RANGE.1).contains(&p)) {
                return Err(TransportError::InvalidPermeance {
                    ion: ion.clone(),
                    value: p,
                });
            }
        }
        self.conditions.validate()
    }

    /// The permeance of `ion` (canonical name), m/s, or the error naming what is missing.
    pub fn permeance(&self, ion: &str) -> Result<f64> {
        self.permeances
            .get(ion)
            .copied()
            .ok_or_else(|| TransportError::MissingPermeance {
                ion: ion.to_string(),
                known: self
                    .permeances
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The SDEM as the pore layer of the shared solver: K_c = 0, K_d D_i / Δx = P_i over a
    /// unit thickness, no charge, no partitioning (k = 1, ideal), one pore class.
    fn prepare(&self, feed: &Composition) -> Result<Prepared> {
        self.validate()?;
        let present = present_ions(feed)?;
        let permeances = present
            .iter()
            .map(|(ion, _)| self.permeance(&ion.name))
            .collect::<Result<Vec<f64>>>()?;
        let z: Vec<f64> = present.iter().map(|(i, _)| i.z()).collect();
        let n = z.len();
        Ok(Prepared {
            names: present.iter().map(|(i, _)| i.name.clone()).collect(),
            cf: present.iter().map(|(_, c)| *c).collect(),
            x: self.charge_density(feed),
            film: film_layer(&self.conditions, &present),
            classes: vec![PoreClass {
                flow_share: 1.0,
                flux_factor: 1.0,
                k: vec![1.0; n],
                layer: Layer {
                    z: z.clone(),
                    kd_d: permeances,
                    kc: vec![0.0; n],
                    thickness: 1.0,
                },
            }],
            z,
            activity: ActivityForm::Ideal,
            scheme: self.conditions.scheme,
            tol: self.conditions.tolerance,
            max_iter: self.conditions.max_iterations,
            temperature: self.conditions.temperature,
            sensitivities: self.conditions.newton_sensitivities(),
        })
    }

    /// Solves one operating point at water flux `jv` (m/s, in [0, [`crate::MAX_FLUX`]]):
    /// permeate and rejections in the order of the feed's ions; observed rejections when the
    /// conditions have a film, intrinsic (relative to the wall) without one.
    /// [`OperatingPoint::charge_density`] is 0 and the Donnan potentials are 0 (no
    /// partitioning step).
    pub fn solve(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint> {
        check_flux(jv)?;
        self.prepare(feed)?.solve(jv)
    }

    /// The operating point in the trace-ion approximation (the analysis of Yaroshchuk et al.
    /// and Fernandez de Labastida & Yaroshchuk 2021): the cation and the anion with the most
    /// equivalents form the dominant salt, rejected as a single salt
    /// ([`single_salt_rejection`]); every other ion moves in its field
    /// ([`trace_transmission`]) without changing it. Closed forms, no iteration. Errors when
    /// another ion holds more than [`TRACE_SHARE`] of the dominant salt's equivalents or of
    /// its conductance (z² c P): then it is no trace, and [`Sdem::solve`] is the model.
    /// Without a film only (the rejections are intrinsic).
    pub fn solve_trace_limit(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint> {
        self.trace_limit(feed, jv, true)
    }

    /// [`Sdem::solve_trace_limit`] without the check that the other ions are traces: what a
    /// fit in the closed forms evaluates (as the literature's analyses, it must be free to
    /// reach permeances where the forms no longer hold). The permeate need not be
    /// electroneutral.
    pub fn solve_trace_limit_unchecked(
        &self,
        feed: &Composition,
        jv: f64,
    ) -> Result<OperatingPoint> {
        self.trace_limit(feed, jv, false)
    }

    fn trace_limit(
        &self,
        feed: &Composition,
        jv: f64,
        check_traces: bool,
    ) -> Result<OperatingPoint> {
        check_flux(jv)?;
        let prep = self.prepare(feed)?;
        if prep.x != 0.0 {
            return Err(TransportError::InvalidParameter {
                name: "charge",
                value: prep.x,
                reason: "the trace-ion closed forms hold for an uncharged (virtual-solution) SDEM only: use Sdem::solve",
            });
        }
        if prep.film.is_some() {
            return Err(TransportError::InvalidParameter {
                name: "polarisation",
                value: f64::NAN,
                reason: "the trace-ion closed forms describe the membrane alone: use conditions without a film (intrinsic rejections)",
            });
        }
        let (z, cf, p) = (&prep.z, &prep.cf, &prep.classes[0].layer.kd_d);
        let dominant = |sign: f64| {
            (0..z.len())
                .filter(|&i| z[i] * sign > 0.0)
                .max_by(|&a, &b| (z[a].abs() * cf[a]).total_cmp(&(z[b].abs() * cf[b])))
        };
        let (Some(cat), Some(an)) = (dominant(1.0), dominant(-1.0)) else {
            return Err(TransportError::InvalidFeed(
                "the trace-ion approximation needs a dominant cation and anion".into(),
            ));
        };
        let equivalents = z[cat] * cf[cat];
        let conductance = z[cat] * z[cat] * cf[cat] * p[cat] + z[an] * z[an] * cf[an] * p[an];
        if let Some(i) = (0..z.len())
            .filter(|&i| check_traces && i != cat && i != an)
            .find(|&i| {
                z[i].abs() * cf[i] > TRACE_SHARE * equivalents
                    || z[i] * z[i] * cf[i] * p[i] > TRACE_SHARE * conductance
            })
        {
            return Err(TransportError::InvalidFeed(format!(
                "{} is no trace beside the dominant salt of {} and {} (more than {TRACE_SHARE} of its equivalents or of its conductance z² c P): use Sdem::solve",
                prep.names[i], prep.names[cat], prep.names[an]
            )));
        }
        let salt = ((p[cat], z[cat]), (p[an], z[an]));
        let permeate: Vec<f64> = (0..z.len())
            .map(|i| {
                let transmission = if i == cat || i == an {
                    1.0 - single_salt_rejection(jv, salt.0, salt.1)
                } else {
                    trace_transmission(jv, salt, (p[i], z[i]))
                };
                transmission * cf[i]
            })
            .collect();
        let rejection = permeate.iter().zip(cf).map(|(c, f)| 1.0 - c / f).collect();
        let rt = crate::constants::GAS_CONSTANT * prep.temperature;
        Ok(OperatingPoint {
            flux: jv,
            ions: prep.names.clone(),
            charges: z.clone(),
            feed: cf.clone(),
            membrane_surface: cf.clone(),
            osmotic_pressure: rt * cf.iter().zip(&permeate).map(|(m, p)| m - p).sum::<f64>(),
            permeate,
            rejection,
            charge_density: 0.0,
            donnan_potential: (0.0, 0.0),
            potential_profile: vec![],
            iterations: 0,
            residual: 0.0,
        })
    }

    /// The rejection curve on the given fluxes (m/s, non-decreasing from ≥ 0), by
    /// continuation as [`crate::Dspmde::sweep`].
    pub fn sweep(&self, feed: &Composition, fluxes: &[f64]) -> Result<Vec<OperatingPoint>> {
        check_fluxes(fluxes)?;
        self.prepare(feed)?.sweep(fluxes, 0)
    }
}
