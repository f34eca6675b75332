//! A 0D nanofiltration module with the equations of WaterTAP's `NanofiltrationDSPMDE0D`, so
//! that results can be compared line by line with that widely used model.
//!
//! WaterTAP (<https://github.com/watertap-org/watertap>, files
//! `watertap/unit_models/nanofiltration_DSPMDE_0D.py` and
//! `watertap/property_models/multicomp_aq_sol_prop_pack.py`, formerly
//! `ion_DSPMDE_prop_pack.py`) evaluates the DSPM-DE at the module inlet (x = 0) and outlet
//! (x = 1) and averages:
//!
//! * pore transport: one element, pore-average concentration and one potential difference,
//!   j_i = -K_d,i D_i (c_exit - c_entr)/dx_e + K_c,i c_avg J_v - z_i c_avg K_d,i D_i F/RT
//!   (Phi_exit - Phi_entr)/dx_e, with j_i = J_v c_p,i (our `PoreScheme::Elements(1)`);
//! * partitioning at both faces: gamma_pore c_pore / (gamma c) = phi Phi_B exp(-z F dPhi/RT),
//!   with Born solvation on the Stokes radius and electroneutral pore ends (charge X_d);
//! * water flux: J_v = r_p^2 (dP - dpi) / (8 mu dx_e) with van 't Hoff pi = RT sum c at the
//!   feed-side interface and in the local permeate;
//! * polarisation (optional): the linearised film
//!   j_i = -k_f,i (c_int - c_bulk) + J_v c_int - z_i c_int D_i F/RT dPhi/dy with an
//!   electroneutral interface and k_f,i from the spiral-wound correlation
//!   k_f = 0.753 (eta/(2 - eta))^0.5 (2 D/h) Sc^(-1/6) (Pe h/(2 L_mix))^0.5,
//!   Sc = mu/(rho D), Pe = 2 h v / D (WaterTAP's `eq_Kf_comp`, after Roy et al. 2015,
//!   doi:10.1016/j.memsci.2015.06.030, with WaterTAP's correction of the channel height);
//! * module balance: the average of the inlet and outlet fluxes times the area leaves the
//!   feed; the intrinsic rejection is 1 - c_mixed permeate / c_interface at the inlet.
//!
//! Property conventions follow WaterTAP's property package: concentrations are per volume of
//! solution with a constant density of 1000 kg/m^3 (c_j = 1000 n_j / sum_k n_k M_k, water
//! included), J_v = J_water M_water / rho_water(T) with the pure-water density of Sharqawy et
//! al. (2010, Desalin. Water Treat. 16:354, eq. 8), viscosity 1e-3 Pa s. Two conventions changed
//! between releases; [`WaterTapVersion`] selects them (the unit model itself is unchanged from
//! 1.0.0 to 1.8.0, checked by diffing the released sources):
//!
//! | | [`WaterTapVersion::V1_8`] (1.7.0 – 1.8.0, default) | [`WaterTapVersion::V1_6`] (0.6 – 1.6.0, incl. commit ea74a668) |
//! |---|---|---|
//! | Davies | log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I) | ln gamma = -A z^2 (same bracket) |
//! | A | (2 pi N_A rho_w)^0.5 / ln 10 (e^2 / (4 pi eps0 eps_b k T))^1.5 = 0.5100 (kg/mol)^0.5 at 25 °C | the same without rho_w: 0.01555 at 25 °C, eps_b 80.4 |
//! | bulk permittivity eps_b | 78.36 (Malmberg & Maryott 1956) | 80.4 |
//!
//! I is the molal ionic strength (mol per kg of water) in both. The older A is the Debye-Hückel
//! constant evaluated without the water density, so that "Davies" is close to ideal;
//! `tests/watertap.rs` keeps WaterTAP's published values of that era passing.
//!
//! Units are SI: flows mol/s, fluxes mol/(m^2 s), concentrations mol/m^3, pressures Pa.
//!
//! ```
//! use np_transport::watertap::published_cases;
//! // WaterTAP's seawater case without polarisation, reproduced within its stated precision.
//! let case = &published_cases()[0];
//! let (solution, worst) = case.compare().unwrap();
//! assert!(worst < case.precision);
//! // The same module at 8 bar: more water, higher rejection of every ion.
//! let mut module = case.module.clone();
//! module.feed_pressure = 8e5;
//! let high = module.solve(&case.inlet).unwrap();
//! assert!(high.water_flux > solution.water_flux);
//! for (a, b) in high.rejection_observed.iter().zip(&solution.rejection_observed) {
//!     assert!(a > b);
//! }
//! ```

use crate::constants::{BOLTZMANN, ELEMENTARY_CHARGE, FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY};
use crate::error::{Result, TransportError};
use crate::hindrance::{Hindrance, LAMBDA_MAX};
use crate::partition::{DaviesLaw, LnGamma, born_factor, donnan_log_jacobian, donnan_with};
use nalgebra::{DMatrix, DVector};

/// Avogadro constant, 1/mol (exact, 2019 SI).
const AVOGADRO: f64 = 6.022_140_76e23;
/// Molar mass of water used by WaterTAP's DSPM-DE tests, kg/mol.
pub const WATER_MOLAR_MASS: f64 = 0.018;

/// One dissolved species as WaterTAP's property package takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Species {
    /// Name used in errors and reports.
    pub name: String,
    /// Valence z.
    pub charge: f64,
    /// Bulk diffusivity, m^2/s.
    pub diffusivity: f64,
    /// Stokes radius, m.
    pub stokes_radius: f64,
    /// Molar mass, kg/mol.
    pub molar_mass: f64,
}

impl Species {
    /// The species with the data of an `ion_species` ion (valence, diffusivity, Stokes radius,
    /// molar mass).
    pub fn from_ion(ion: &ion_species::Ion) -> Self {
        Self {
            name: ion.name.clone(),
            charge: ion.z(),
            diffusivity: ion.diffusivity,
            stokes_radius: ion.stokes_radius,
            molar_mass: ion.molar_mass,
        }
    }
}

/// The WaterTAP release whose property conventions the module follows (see the module
/// documentation's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaterTapVersion {
    /// WaterTAP 1.7.0 – 1.8.0: log10 Davies with A from the water density, eps_b 78.36.
    #[default]
    V1_8,
    /// WaterTAP 0.6 – 1.6.0 (including commit ea74a668 of the published regression values):
    /// natural-log Davies with A evaluated without the water density, eps_b 80.4.
    V1_6,
}

impl WaterTapVersion {
    /// The bulk relative permittivity this version uses by default.
    pub fn bulk_dielectric(self) -> f64 {
        match self {
            // WaterTAP 1.8 multicomp_aq_sol_prop_pack.py: dielectric_constant default, "from
            // Malmberg-Maryott (1956)".
            Self::V1_8 => 78.36,
            // WaterTAP <= 1.6 ion_DSPMDE_prop_pack.py / multicomp_aq_sol_prop_pack.py.
            Self::V1_6 => 80.4,
        }
    }

    /// WaterTAP's Davies constant A at relative permittivity `eps` and temperature `t` (K):
    /// (kg/mol)^0.5 for 1.8 (0.5100 at 25 °C, eps 78.36); the older dimensionless value
    /// without the water density for 1.6.
    pub fn davies_a(self, eps: f64, t: f64) -> f64 {
        match self {
            Self::V1_8 => watertap_debye_huckel_a(eps, t) * sharqawy_water_density(t).sqrt(),
            Self::V1_6 => watertap_debye_huckel_a(eps, t),
        }
    }

    /// ln gamma from WaterTAP's Davies bracket value `b` = sqrt(I)/(1 + sqrt(I)) - 0.3 I, charge
    /// `z` and constant `a`.
    fn ln_gamma(self, a: f64, z: f64, b: f64) -> f64 {
        match self {
            Self::V1_8 => -std::f64::consts::LN_10 * a * z * z * b,
            Self::V1_6 => -a * z * z * b,
        }
    }
}

/// Activity model of the partitioning equations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterTapActivity {
    /// gamma = 1.
    Ideal,
    /// WaterTAP's Davies form (see the module documentation).
    Davies,
}

/// How the feed-side mass-transfer coefficients of the polarisation film are obtained
/// (WaterTAP's `MassTransferCoefficient.spiral_wound` and `.fixed`).
#[derive(Debug, Clone, PartialEq)]
pub enum MassTransfer {
    /// From the spiral-wound correlation, at the inlet and the outlet cross-flow velocity.
    SpiralWound(SpiralWound),
    /// Given k_f of each species (m/s), the same at both ends.
    Fixed(Vec<f64>),
}

/// Spiral-wound feed channel for the mass-transfer correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpiralWound {
    /// Channel height h, m.
    pub channel_height: f64,
    /// Spacer porosity (the open fraction of the channel cross-section).
    pub spacer_porosity: f64,
    /// Cross-flow velocity at the inlet, m/s.
    pub inlet_velocity: f64,
    /// Spacer mixing efficiency eta (WaterTAP's default 0.5).
    pub mixing_efficiency: f64,
    /// Spacer mixing length L_mix, m (WaterTAP's default 0.6).
    pub mixing_length: f64,
}

/// A 0D nanofiltration module with WaterTAP's equations and property conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct Module0d {
    /// Dissolved species.
    pub species: Vec<Species>,
    /// Pore radius, m.
    pub pore_radius: f64,
    /// Effective membrane thickness dx / A_k, m.
    pub effective_thickness: f64,
    /// Membrane charge density X_d, mol/m^3.
    pub charge_density: f64,
    /// Pore relative permittivity.
    pub pore_dielectric: f64,
    /// Bulk relative permittivity ([`WaterTapVersion::bulk_dielectric`]: 78.36 in 1.8, 80.4
    /// before 1.7).
    pub bulk_dielectric: f64,
    /// Whose conventions (Davies form) the module follows.
    pub version: WaterTapVersion,
    /// Temperature, K.
    pub temperature: f64,
    /// Feed pressure (no pressure drop along the module), Pa.
    pub feed_pressure: f64,
    /// Permeate pressure, Pa.
    pub permeate_pressure: f64,
    /// Membrane area, m^2.
    pub area: f64,
    /// Dynamic viscosity, Pa s (WaterTAP: 1e-3).
    pub viscosity: f64,
    /// Solution density, kg/m^3 (WaterTAP's constant option: 1000).
    pub density: f64,
    /// Activity model.
    pub activity: WaterTapActivity,
    /// Concentration polarisation by the linearised film, or none.
    pub polarisation: Option<MassTransfer>,
    /// The local Newton iteration's Jacobian: analytic ([`crate::NewtonJacobian::Sensitivity`],
    /// the default) or forward differences (the reference).
    pub jacobian: crate::NewtonJacobian,
}

/// Inlet stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Inlet {
    /// Molar flow of each species, mol/s (same order as [`Module0d::species`]).
    pub flows: Vec<f64>,
    /// Molar flow of water, mol/s.
    pub water_flow: f64,
}

impl Inlet {
    /// The inlet of WaterTAP's tests: `mass_flow` kg/s with the given mass fractions of the
    /// species, water making up the rest, then the flow of species `adjust_by` changed so that
    /// the stream is electroneutral (WaterTAP's `assert_electroneutrality(adjust_by_ion=..)`).
    pub fn from_mass_fractions(
        species: &[Species],
        mass_flow: f64,
        fractions: &[f64],
        adjust_by: usize,
    ) -> Result<Self> {
        if fractions.len() != species.len() || adjust_by >= species.len() {
            return Err(TransportError::InvalidFeed(
                "one mass fraction per species and a valid species to adjust are needed".into(),
            ));
        }
        if !(mass_flow.is_finite() && mass_flow > 0.0) {
            return Err(TransportError::InvalidParameter {
                name: "mass_flow",
                value: mass_flow,
                reason: "must be finite and > 0, in kg/s",
            });
        }
        let total: f64 = fractions.iter().sum();
        if fractions.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || total >= 1.0 {
            return Err(TransportError::InvalidFeed(
                "mass fractions must be finite, >= 0 and sum to less than 1".into(),
            ));
        }
        let mut flows: Vec<f64> = species
            .iter()
            .zip(fractions)
            .map(|(s, w)| w * mass_flow / s.molar_mass)
            .collect();
        let water_flow = (1.0 - total) * mass_flow / WATER_MOLAR_MASS;
        let others: f64 = (0..species.len())
            .filter(|&j| j != adjust_by)
            .map(|j| species[j].charge * flows[j])
            .sum();
        let adjusted = -others / species[adjust_by].charge;
        if !(adjusted.is_finite() && adjusted >= 0.0) {
            return Err(TransportError::InvalidFeed(format!(
                "adjusting {} cannot make the inlet electroneutral",
                species[adjust_by].name
            )));
        }
        flows[adjust_by] = adjusted;
        Ok(Self { flows, water_flow })
    }

    /// The inlet of a stream with these species concentrations (mol/m^3 of solution, in
    /// [`Module0d::species`] order) and volumetric flow (m^3/s), under WaterTAP's convention of
    /// 1000 kg/m^3 solution: the species' mass plus the water's makes 1000 kg per m^3.
    pub fn from_concentrations(
        species: &[Species],
        concentrations: &[f64],
        volume_flow: f64,
    ) -> Result<Self> {
        if concentrations.len() != species.len() {
            return Err(TransportError::InvalidFeed(format!(
                "{} concentrations for {} species",
                concentrations.len(),
                species.len()
            )));
        }
        if concentrations.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
            return Err(TransportError::InvalidFeed(
                "concentrations must be finite and > 0 (mol/m^3)".into(),
            ));
        }
        if !(volume_flow.is_finite() && volume_flow > 0.0) {
            return Err(TransportError::InvalidParameter {
                name: "volume_flow",
                value: volume_flow,
                reason: "must be finite and > 0, in m^3/s",
            });
        }
        let flows: Vec<f64> = concentrations.iter().map(|c| c * volume_flow).collect();
        let solute: f64 = flows
            .iter()
            .zip(species)
            .map(|(f, s)| f * s.molar_mass)
            .sum();
        let water = 1000.0 * volume_flow - solute;
        if water <= 0.0 {
            return Err(TransportError::InvalidFeed(
                "the solutes weigh more than 1000 kg/m^3: no water left".into(),
            ));
        }
        Ok(Self {
            flows,
            water_flow: water / WATER_MOLAR_MASS,
        })
    }
}

/// The solution at one end of the module (x = 0 inlet, x = 1 outlet).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalState {
    /// Concentrations of each species at the five locations, mol/m^3 (WaterTAP's
    /// `conc_mol_phase_comp` of the bulk, the feed-side interface, the pore entrance and exit,
    /// and the local permeate).
    pub concentrations: Locations,
    /// Potentials of pore entrance, pore exit and permeate relative to the feed interface, V
    /// (WaterTAP's `electric_potential`).
    pub potentials: [f64; 3],
    /// Volumetric water flux, m/s.
    pub water_flux: f64,
    /// Local molar flux of each species, mol/(m^2 s).
    pub flux: Vec<f64>,
    /// Local molar flux of water, mol/(m^2 s).
    pub water_flux_molar: f64,
    /// Mass-transfer coefficients, m/s (empty without polarisation).
    pub mass_transfer: Vec<f64>,
    /// Electric potential gradient in the polarisation film at the interface, V/m
    /// (WaterTAP's `electric_potential_grad_feed_interface`; None without polarisation).
    pub potential_gradient: Option<f64>,
    /// Cross-flow velocity in the feed channel, m/s (None without a spiral-wound channel).
    pub velocity: Option<f64>,
    /// Activity coefficients of each species at the five locations, dimensionless (all 1 for
    /// ideal activity; WaterTAP's `act_coeff_phase_comp`).
    pub activity: Locations,
}

/// One value per species at each location of one module end: its concentrations (mol/m^3)
/// or its activity coefficients (dimensionless), as [`LocalState`] says.
#[derive(Debug, Clone, PartialEq)]
pub struct Locations {
    /// In the bulk feed.
    pub bulk: Vec<f64>,
    /// At the feed-side membrane interface.
    pub interface: Vec<f64>,
    /// At the pore entrance.
    pub pore_entrance: Vec<f64>,
    /// At the pore exit.
    pub pore_exit: Vec<f64>,
    /// In the local permeate.
    pub permeate: Vec<f64>,
}

impl Locations {
    /// The locations under WaterTAP's names, feed to permeate: `bulk`, `interface`,
    /// `pore_entrance`, `pore_exit`, `permeate`.
    pub fn named(&self) -> [(&'static str, &[f64]); 5] {
        [
            ("bulk", &self.bulk),
            ("interface", &self.interface),
            ("pore_entrance", &self.pore_entrance),
            ("pore_exit", &self.pore_exit),
            ("permeate", &self.permeate),
        ]
    }
}

/// The module solution.
#[derive(Debug, Clone, PartialEq)]
pub struct Module0dSolution {
    /// Inlet and outlet states.
    pub local: [LocalState; 2],
    /// Average molar flux of each species, mol/(m^2 s).
    pub flux: Vec<f64>,
    /// Average molar flux of water, mol/(m^2 s).
    pub water_flux: f64,
    /// Mixed-permeate concentrations, mol/m^3.
    pub permeate: Vec<f64>,
    /// Retentate flows, mol/s, and water flow.
    pub retentate: Inlet,
    /// 1 - c_permeate / c_interface at the inlet.
    pub rejection_intrinsic: Vec<f64>,
    /// 1 - c_permeate / c_feed.
    pub rejection_observed: Vec<f64>,
    /// Volumetric recovery.
    pub recovery: f64,
    /// Outer (module balance) iterations.
    pub iterations: usize,
    /// Residual evaluations of the local solves, all iterations and fallbacks included (at
    /// most [`WORK_LIMIT`]).
    pub evaluations: usize,
}

/// A factorised Jacobian (with its size) kept between Newton solves of one module end.
type Chord = Option<(
    usize,
    nalgebra::linalg::LU<f64, nalgebra::Dyn, nalgebra::Dyn>,
)>;

/// Per-species constants of a module.
struct Prepared {
    z: Vec<f64>,
    d: Vec<f64>,
    mw: Vec<f64>,
    kd_d: Vec<f64>,
    kc: Vec<f64>,
    /// Steric x Born partition factor.
    k: Vec<f64>,
    /// Hydraulic permeability r_p^2 / (8 mu dx_e), m/(Pa s).
    lp: f64,
    /// RT, J/mol.
    rt: f64,
    /// Water density (Sharqawy), kg/m^3.
    rho_water: f64,
    /// Davies constant A (WaterTAP's form), or None for ideal.
    davies_a: Option<f64>,
    /// Residual evaluations spent on this solve so far (see [`WORK_LIMIT`]).
    evaluations: std::cell::Cell<usize>,
}

/// One module end at the residual's point, as its Jacobian needs it: the residual's inputs
/// and values, and the concentrations (mol/m^3) of permeate, membrane surface, pore entrance
/// and exit, and psi_exit - psi_entr.
#[derive(Clone, Copy)]
struct End<'a> {
    p: &'a Prepared,
    bulk: &'a [f64],
    kf: Option<&'a [f64]>,
    dp: f64,
    u: &'a [f64],
    r: &'a [f64],
    cp: &'a [f64],
    cm: &'a [f64],
    ce: &'a [f64],
    cx: &'a [f64],
    dpsi: f64,
}

/// Residual evaluations an analytic Jacobian of the local solve is counted as (its cost).
const JACOBIAN_EVALUATIONS: usize = 2;

/// Residual evaluations one module solve may spend before it gives up with a typed error.
/// A converging solve needs a few hundred to ~3,000 (about 10 us each); the limit bounds the
/// time a hopeless input can take (~0.2 s) instead of letting fallbacks run for minutes.
pub const WORK_LIMIT: usize = 20_000;

impl Prepared {
    fn exhausted(&self) -> bool {
        self.evaluations.get() > WORK_LIMIT
    }
}

impl Module0d {
    /// WaterTAP 1.8's defaults around the given species and membrane (r_p m, dx/A_k m, X_d
    /// mol/m^3, eps_p): 298.15 K, 4 bar feed, 101325 Pa permeate, bulk permittivity 78.36,
    /// viscosity 1e-3 Pa s, density 1000 kg/m^3, Davies activity, no polarisation, 50 m^2.
    pub fn watertap_defaults(
        species: Vec<Species>,
        pore_radius: f64,
        effective_thickness: f64,
        charge_density: f64,
        pore_dielectric: f64,
    ) -> Self {
        Self::watertap_defaults_of(
            WaterTapVersion::V1_8,
            species,
            pore_radius,
            effective_thickness,
            charge_density,
            pore_dielectric,
        )
    }

    /// [`Self::watertap_defaults`] of a given WaterTAP version (its bulk permittivity and Davies
    /// form).
    pub fn watertap_defaults_of(
        version: WaterTapVersion,
        species: Vec<Species>,
        pore_radius: f64,
        effective_thickness: f64,
        charge_density: f64,
        pore_dielectric: f64,
    ) -> Self {
        Self {
            version,
            species,
            pore_radius,
            effective_thickness,
            charge_density,
            pore_dielectric,
            bulk_dielectric: version.bulk_dielectric(),
            temperature: 298.15,
            feed_pressure: 4e5,
            permeate_pressure: 101_325.0,
            area: 50.0,
            viscosity: 1e-3,
            density: 1000.0,
            activity: WaterTapActivity::Davies,
            polarisation: None,
            jacobian: crate::NewtonJacobian::Sensitivity,
        }
    }

    fn prepare(&self) -> Result<Prepared> {
        let bad = crate::error::invalid;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if self.species.is_empty() || self.species.len() > 16 {
            return Err(TransportError::InvalidFeed(
                "a module needs 1 to 16 species".into(),
            ));
        }
        all_positive([
            ("pore_radius", self.pore_radius),
            ("effective_thickness", self.effective_thickness),
            ("pore_dielectric", self.pore_dielectric),
            ("bulk_dielectric", self.bulk_dielectric),
            ("temperature", self.temperature),
            ("area", self.area),
            ("viscosity", self.viscosity),
            ("density", self.density),
            ("permeate_pressure", self.permeate_pressure),
        ])?;
        if !(self.feed_pressure.is_finite() && self.feed_pressure > self.permeate_pressure) {
            return bad(
                "feed_pressure",
                self.feed_pressure,
                "must be finite and above the permeate pressure",
            );
        }
        if !self.charge_density.is_finite() {
            return bad("charge_density", self.charge_density, "must be finite");
        }
        match &self.polarisation {
            Some(MassTransfer::SpiralWound(sw)) => {
                all_positive([
                    ("channel_height", sw.channel_height),
                    ("spacer_porosity", sw.spacer_porosity),
                    ("inlet_velocity", sw.inlet_velocity),
                    ("mixing_efficiency", sw.mixing_efficiency),
                    ("mixing_length", sw.mixing_length),
                ])?;
                if sw.mixing_efficiency >= 2.0 {
                    return bad("mixing_efficiency", sw.mixing_efficiency, "must be < 2");
                }
            }
            Some(MassTransfer::Fixed(k)) => {
                if k.len() != self.species.len() {
                    return bad(
                        "mass_transfer",
                        k.len() as f64,
                        "one fixed coefficient per species is needed",
                    );
                }
                if let Some(v) = k.iter().find(|v| !positive(**v)) {
                    return bad("mass_transfer", *v, "must be finite and > 0, in m/s");
                }
            }
            None => {}
        }
        let t = self.temperature;
        let n = self.species.len();
        let mut p = Prepared {
            evaluations: std::cell::Cell::new(0),
            z: Vec::with_capacity(n),
            d: Vec::with_capacity(n),
            mw: Vec::with_capacity(n),
            kd_d: Vec::with_capacity(n),
            kc: Vec::with_capacity(n),
            k: Vec::with_capacity(n),
            lp: self.pore_radius.powi(2) / (8.0 * self.viscosity * self.effective_thickness),
            rt: GAS_CONSTANT * t,
            rho_water: sharqawy_water_density(t),
            davies_a: match self.activity {
                WaterTapActivity::Ideal => None,
                WaterTapActivity::Davies => Some(self.version.davies_a(self.bulk_dielectric, t)),
            },
        };
        for s in &self.species {
            if !(positive(s.diffusivity)
                && positive(s.stokes_radius)
                && positive(s.molar_mass)
                && s.charge.is_finite())
            {
                return Err(TransportError::InvalidFeed(format!(
                    "species {}: diffusivity, Stokes radius and molar mass must be finite and > 0",
                    s.name
                )));
            }
            let h = Hindrance::new(&s.name, s.stokes_radius, self.pore_radius)?;
            debug_assert!(h.lambda <= LAMBDA_MAX);
            p.z.push(s.charge);
            p.d.push(s.diffusivity);
            p.mw.push(s.molar_mass);
            p.kd_d.push(h.kd * s.diffusivity);
            p.kc.push(h.kc);
            p.k.push(
                h.phi
                    * born_factor(
                        s.charge,
                        s.stokes_radius,
                        self.pore_dielectric,
                        self.bulk_dielectric,
                        t,
                    ),
            );
        }
        Ok(p)
    }

    /// Concentrations (mol/m^3) of a stream with these species flows and water flow.
    fn concentrations(&self, p: &Prepared, flows: &[f64], water: f64) -> Vec<f64> {
        let mass: f64 =
            flows.iter().zip(&p.mw).map(|(n, m)| n * m).sum::<f64>() + water * WATER_MOLAR_MASS;
        flows.iter().map(|n| self.density * n / mass).collect()
    }

    /// Volumetric flow (m^3/s) of a stream.
    fn volume_flow(&self, p: &Prepared, flows: &[f64], water: f64) -> f64 {
        (flows.iter().zip(&p.mw).map(|(n, m)| n * m).sum::<f64>() + water * WATER_MOLAR_MASS)
            / self.density
    }

    /// Mass-transfer coefficients (m/s) at cross-flow velocity `v`.
    fn mass_transfer(&self, p: &Prepared, sw: &SpiralWound, v: f64) -> Vec<f64> {
        let h = sw.channel_height;
        let eta = sw.mixing_efficiency;
        p.d.iter()
            .map(|&d| {
                let sc = self.viscosity / (self.density * d);
                let pe = 2.0 * h * v / d;
                0.753
                    * (eta / (2.0 - eta)).sqrt()
                    * (2.0 * d / h)
                    * sc.powf(-1.0 / 6.0)
                    * (pe * h / (2.0 * sw.mixing_length)).sqrt()
            })
            .collect()
    }

    /// Solves the module for `inlet`.
    pub fn solve(&self, inlet: &Inlet) -> Result<Module0dSolution> {
        let p = self.prepare()?;
        let n = p.z.len();
        if inlet.flows.len() != n {
            return Err(TransportError::InvalidFeed(format!(
                "{} inlet flows for {n} species",
                inlet.flows.len()
            )));
        }
        if inlet.flows.iter().any(|f| !(f.is_finite() && *f > 0.0))
            || !(inlet.water_flow.is_finite() && inlet.water_flow > 0.0)
        {
            return Err(TransportError::InvalidFeed(
                "inlet flows must be finite and > 0 (mol/s)".into(),
            ));
        }
        let charge: f64 = inlet.flows.iter().zip(&p.z).map(|(f, z)| f * z).sum();
        let scale: f64 = inlet.flows.iter().zip(&p.z).map(|(f, z)| f * z.abs()).sum();
        if charge.abs() > 1e-6 * scale {
            return Err(TransportError::InvalidFeed(format!(
                "the inlet is not electroneutral (relative charge {:.2e})",
                charge / scale
            )));
        }
        let c_in = self.concentrations(&p, &inlet.flows, inlet.water_flow);
        let v_in = self.volume_flow(&p, &inlet.flows, inlet.water_flow);
        let kf_at = |v_ratio: f64| match &self.polarisation {
            Some(MassTransfer::SpiralWound(sw)) => {
                Some(self.mass_transfer(&p, sw, sw.inlet_velocity * v_ratio))
            }
            Some(MassTransfer::Fixed(k)) => Some(k.clone()),
            None => None,
        };
        let kf_in = kf_at(1.0);
        let (mut chord_in, mut chord_out): (Chord, Chord) = (None, None);
        let mut u_in = self.local_solve(&p, &c_in, kf_in.as_deref(), None, &mut chord_in)?;
        let mut c_out = c_in.clone();
        let mut u_out = u_in.clone();
        let mut kf_out = kf_in.clone();
        let mut flux = vec![0.0; n];
        let mut water_flux = 0.0;
        let mut out_flows = inlet.flows.clone();
        let mut out_water;
        let mut est_flows = inlet.flows.clone();
        let mut est_water = inlet.water_flow;
        let mut relax = 1.0f64;
        let mut last_change = f64::INFINITY;
        let mass_balance =
            |it: usize, flux: f64, residual: f64, why: &str| TransportError::NotConverged {
                flux,
                iterations: it,
                residual,
                reason: format!(
                    "module mass balance: {why}; the membrane area ({} m^2) removes (nearly) \
                     all the water or a species the inlet carries",
                    self.area
                ),
            };
        let dp = self.feed_pressure - self.permeate_pressure;
        let mut prev_flows = est_flows.clone();
        let mut prev_water = est_water;
        for it in 1..=200 {
            u_in = self.local_solve(&p, &c_in, kf_in.as_deref(), Some(&u_in), &mut chord_in)?;
            // The outlet state is an estimate of the mass balance. After the first iteration
            // it moves a little at a time, so Newton from the last outlet solution is tried
            // alone: if it fails, the last move of the estimate is halved and tried again
            // (continuation along the balance iteration) rather than starting cold.
            let solved = if it == 1 {
                self.local_solve(&p, &c_out, kf_out.as_deref(), Some(&u_out), &mut chord_out)
            } else {
                self.newton(
                    &p,
                    &c_out,
                    kf_out.as_deref(),
                    dp,
                    u_out.clone(),
                    &mut chord_out,
                )
            };
            match solved {
                Ok(u) => u_out = u,
                Err(e) => {
                    relax *= 0.5;
                    if it == 1 || p.exhausted() || relax < 1.0 / 1024.0 {
                        return Err(mass_balance(
                            it,
                            water_flux * WATER_MOLAR_MASS / p.rho_water,
                            f64::NAN,
                            &format!("the estimated outlet state cannot be solved ({e})"),
                        ));
                    }
                    for j in 0..n {
                        est_flows[j] = 0.5 * (est_flows[j] + prev_flows[j]);
                    }
                    est_water = 0.5 * (est_water + prev_water);
                    c_out = self.concentrations(&p, &est_flows, est_water);
                    kf_out = kf_at(self.volume_flow(&p, &est_flows, est_water) / v_in);
                    continue;
                }
            }
            let (jin, jwin) = local_fluxes(&p, &u_in, n);
            let (jout, jwout) = local_fluxes(&p, &u_out, n);
            for j in 0..n {
                flux[j] = 0.5 * (jin[j] + jout[j]);
                out_flows[j] = inlet.flows[j] - self.area * flux[j];
            }
            water_flux = 0.5 * (jwin + jwout);
            out_water = inlet.water_flow - self.area * water_flux;
            // Fixed-point residual of the outlet state, then an under-relaxed update: at high
            // recovery the plain iteration overshoots.
            let current = self.concentrations(&p, &est_flows, est_water);
            let change = if out_flows.iter().all(|f| *f > 0.0) && out_water > 0.0 {
                self.concentrations(&p, &out_flows, out_water)
                    .iter()
                    .zip(&current)
                    .map(|(a, b)| (a / b - 1.0).abs())
                    .fold(0.0, f64::max)
            } else {
                f64::INFINITY
            };
            if change >= last_change {
                relax *= 0.5;
            }
            // Never move the estimate more than 90 % of the way to an empty outlet: a
            // negative flow has no concentration.
            let mut step = relax;
            for (est, out) in est_flows
                .iter()
                .chain(std::iter::once(&est_water))
                .zip(out_flows.iter().chain(std::iter::once(&out_water)))
            {
                if *out < *est && step * (est - out) > 0.9 * est {
                    step = 0.9 * est / (est - out);
                }
            }
            if step < 1.0 / 1024.0 {
                return Err(mass_balance(
                    it,
                    water_flux * WATER_MOLAR_MASS / p.rho_water,
                    change,
                    "the outlet flows would be negative",
                ));
            }
            last_change = change;
            prev_flows.copy_from_slice(&est_flows);
            prev_water = est_water;
            for j in 0..n {
                est_flows[j] += step * (out_flows[j] - est_flows[j]);
            }
            est_water += step * (out_water - est_water);
            c_out = self.concentrations(&p, &est_flows, est_water);
            kf_out = kf_at(self.volume_flow(&p, &est_flows, est_water) / v_in);
            if change < 1e-13 {
                let velocity = |ratio: f64| match &self.polarisation {
                    Some(MassTransfer::SpiralWound(sw)) => Some(sw.inlet_velocity * ratio),
                    _ => None,
                };
                let v_out = self.volume_flow(&p, &est_flows, est_water) / v_in;
                let local = [
                    self.state(&p, &c_in, &u_in, kf_in.clone(), velocity(1.0))?,
                    self.state(&p, &c_out, &u_out, kf_out.clone(), velocity(v_out))?,
                ];
                let mass: f64 = flux.iter().zip(&p.mw).map(|(j, m)| j * m).sum::<f64>()
                    + water_flux * WATER_MOLAR_MASS;
                let permeate: Vec<f64> = flux.iter().map(|j| self.density * j / mass).collect();
                let rejection_intrinsic = permeate
                    .iter()
                    .zip(&local[0].concentrations.interface)
                    .map(|(cp, ci)| 1.0 - cp / ci)
                    .collect();
                let rejection_observed = permeate
                    .iter()
                    .zip(&c_in)
                    .map(|(cp, cf)| 1.0 - cp / cf)
                    .collect();
                return Ok(Module0dSolution {
                    local,
                    flux: flux.clone(),
                    water_flux,
                    permeate,
                    retentate: Inlet {
                        flows: out_flows,
                        water_flow: out_water,
                    },
                    rejection_intrinsic,
                    rejection_observed,
                    recovery: self.area * mass / self.density / v_in,
                    iterations: it,
                    evaluations: p.evaluations.get(),
                });
            }
        }
        Err(TransportError::NotConverged {
            flux: water_flux * WATER_MOLAR_MASS / p.rho_water,
            iterations: 200,
            residual: f64::NAN,
            reason: "module mass balance (outlet state) did not converge".into(),
        })
    }

    /// Solves one end of the module for the unknowns u = (ln c_p, psi_permeate, J_v * 1e6
    /// [, ln c_interface, interface potential gradient * 1e-3]).
    fn local_solve(
        &self,
        p: &Prepared,
        bulk: &[f64],
        kf: Option<&[f64]>,
        start: Option<&[f64]>,
        cache: &mut Chord,
    ) -> Result<Vec<f64>> {
        let dp = self.feed_pressure - self.permeate_pressure;
        if let Some(u0) = start
            && let Ok(u) = self.newton(p, bulk, kf, dp, u0.to_vec(), cache)
        {
            return Ok(u);
        }
        // Without polarisation first, from several permeate guesses; then polarisation is
        // switched on by continuation in the mass-transfer coefficients, from a thin film (the
        // interface close to the bulk) down to k_f, each step starting from
        // the last solution. Starting the polarised Newton with the interface at the bulk
        // fails or crawls when the true interface is several times the bulk.
        for f in [0.5, 0.9, 0.2, 0.05, 0.99] {
            let mut u: Vec<f64> = bulk.iter().map(|c| (f * c).ln()).collect();
            u.push(0.0);
            let dpi = p.rt * (1.0 - f) * bulk.iter().sum::<f64>();
            u.push((p.lp * (dp - dpi)).max(1e-3 * p.lp * dp) * 1e6);
            match self.newton(p, bulk, None, dp, u, &mut None) {
                Ok(u) => {
                    let Some(kf) = kf else { return Ok(u) };
                    return self.continue_in_mass_transfer(p, bulk, kf, dp, u);
                }
                Err(_) if p.exhausted() => return Err(self.work_exhausted()),
                Err(_) => continue,
            }
        }
        // Continuation in the applied pressure from the near-zero-flux limit, where the
        // permeate equals the feed-side interface (without polarisation; it is switched on
        // afterwards as above).
        let mut u: Vec<f64> = bulk.iter().map(|c| c.ln()).collect();
        u.push(0.0);
        let mut level = dp * 1e-3;
        u.push(p.lp * level * 1e6);
        u = self.newton(p, bulk, None, level, u, &mut None)?;
        let mut factor = 2.0f64;
        while level < dp {
            let next = (level * factor).min(dp);
            match self.newton(p, bulk, None, next, u.clone(), &mut None) {
                Ok(v) => {
                    u = v;
                    level = next;
                    factor = (factor * 1.5).min(4.0);
                }
                Err(_) if p.exhausted() => return Err(self.work_exhausted()),
                Err(e) => {
                    factor = factor.sqrt();
                    if factor < 1.0 + 1e-3 {
                        return Err(self.not_converged(
                            0,
                            f64::NAN,
                            &format!(
                                "pressure continuation stopped at {level:.4e} Pa of {dp:.4e} Pa \
                                 ({e})"
                            ),
                        ));
                    }
                }
            }
        }
        match kf {
            Some(kf) => self.continue_in_mass_transfer(p, bulk, kf, dp, u),
            None => Ok(u),
        }
    }

    /// From the unpolarised solution `u` of one module end, the polarised one by continuation
    /// in the mass-transfer coefficients: k = s k_f with s from s0 = max(64, 4 J_v / k_f,min)
    /// down to 1 (a geometric path, the step halved after a failed solve). If the step collapses, the linearised film
    /// has no solution near there: J_v has reached the smallest k_f of a rejected ion.
    fn continue_in_mass_transfer(
        &self,
        p: &Prepared,
        bulk: &[f64],
        kf: &[f64],
        dp: f64,
        u: Vec<f64>,
    ) -> Result<Vec<f64>> {
        let n = p.z.len();
        // Mild polarisation: Newton straight from the interface at the bulk usually converges
        // in a few iterations; give it a few, then continue in k_f.
        let mut direct = u.clone();
        direct.extend(bulk.iter().map(|c| c.ln()));
        direct.push(0.0);
        if let Ok(v) = self.newton_limited(p, bulk, Some(kf), dp, direct, &mut None, 8) {
            return Ok(v);
        }
        // Start where the film is thin even at the unpolarised flux: s k_f >= 4 J_v.
        let k_min = kf.iter().fold(f64::INFINITY, |a, k| a.min(*k));
        let s0 = (4.0 * u[n + 1] * 1e-6 / k_min).max(64.0);
        let mut v = u;
        v.extend(bulk.iter().map(|c| c.ln()));
        v.push(0.0);
        let scaled = |level: f64| -> Vec<f64> {
            let s = s0.powf(1.0 - level);
            kf.iter().map(|k| k * s).collect()
        };
        v = self
            .newton(p, bulk, Some(&scaled(0.0)), dp, v, &mut None)
            .map_err(|e| {
                self.not_converged(
                    0,
                    f64::NAN,
                    &format!("polarisation film at {s0:.3e} x k_f: {e}"),
                )
            })?;
        let (mut level, mut step) = (0.0f64, 0.25f64);
        while level < 1.0 {
            let next = (level + step).min(1.0);
            match self.newton(p, bulk, Some(&scaled(next)), dp, v.clone(), &mut None) {
                Ok(w) => {
                    v = w;
                    level = next;
                    step *= 1.5;
                }
                Err(_) if p.exhausted() => return Err(self.work_exhausted()),
                Err(_) => {
                    step *= 0.5;
                    if step < 1e-3 {
                        let k_now = scaled(level);
                        let k_min = k_now.iter().fold(f64::INFINITY, |a, k| a.min(*k));
                        return Err(self.not_converged(
                            0,
                            f64::NAN,
                            &format!(
                                "mass-transfer continuation stopped at {:.3} x k_f with \
                                 J_v = {:.3e} m/s: the linearised polarisation film has no \
                                 solution once J_v approaches the smallest mass-transfer \
                                 coefficient ({k_min:.3e} m/s there, {:.3e} m/s asked)",
                                s0.powf(1.0 - level),
                                v[n + 1] * 1e-6,
                                k_min
                            ),
                        ));
                    }
                }
            }
        }
        Ok(v)
    }

    /// Damped Newton with a forward-difference Jacobian on [`Self::residual`].
    fn newton(
        &self,
        p: &Prepared,
        bulk: &[f64],
        kf: Option<&[f64]>,
        dp: f64,
        u: Vec<f64>,
        cache: &mut Chord,
    ) -> Result<Vec<f64>> {
        self.newton_limited(p, bulk, kf, dp, u, cache, 40)
    }

    /// [`Self::newton`] with at most `max_iter` iterations.
    #[allow(clippy::too_many_arguments)]
    fn newton_limited(
        &self,
        p: &Prepared,
        bulk: &[f64],
        kf: Option<&[f64]>,
        dp: f64,
        mut u: Vec<f64>,
        cache: &mut Chord,
        max_iter: usize,
    ) -> Result<Vec<f64>> {
        let m = u.len();
        let mut r = vec![0.0; m];
        let mut r_trial = vec![0.0; m];
        let norm = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>().sqrt();
        let eval = |u: &[f64], r: &mut [f64]| -> bool {
            p.evaluations.set(p.evaluations.get() + 1);
            self.residual(p, bulk, kf, dp, u, r, None).is_ok() && r.iter().all(|v| v.is_finite())
        };
        if p.exhausted() {
            return Err(self.work_exhausted());
        }
        if !eval(&u, &mut r) {
            return Err(self.not_converged(0, f64::NAN, "residual undefined at the start"));
        }
        let mut jac = DMatrix::<f64>::zeros(m, m);
        // Newton from a usable start converges in well under 40 iterations; more means it
        // is wandering, and a fallback start is cheaper.
        for it in 1..=max_iter {
            if p.exhausted() {
                return Err(self.work_exhausted());
            }
            let f0 = norm(&r);
            if r.iter().all(|v| v.abs() < 1e-12) {
                if u[p.z.len() + 1] <= 0.0 {
                    return Err(self.not_converged(
                        it,
                        f0,
                        "no positive water flux: the applied pressure is below the osmotic pressure difference",
                    ));
                }
                return Ok(u);
            }
            // Chord step with the factorised Jacobian of an earlier solve (the outer mass
            // balance changes the outlet state only a little between calls); kept only
            // while it contracts fast.
            if let Some((size, lu)) = cache.as_ref() {
                if *size == m
                    && let Some(step) = lu.solve(&DVector::from_column_slice(&r))
                {
                    let trial: Vec<f64> = u.iter().zip(step.iter()).map(|(a, s)| a - s).collect();
                    if eval(&trial, &mut r_trial) && norm(&r_trial) < 0.25 * f0 {
                        u = trial;
                        r.copy_from_slice(&r_trial);
                        continue;
                    }
                }
                *cache = None;
            }
            if self.jacobian == crate::NewtonJacobian::FiniteDifference {
                for k in 0..m {
                    let h = 1e-7 * u[k].abs().max(1.0);
                    let mut up = u.clone();
                    up[k] += h;
                    // Backward where the forward point is undefined.
                    let sign = if eval(&up, &mut r_trial) {
                        1.0
                    } else {
                        up[k] = u[k] - h;
                        if !eval(&up, &mut r_trial) {
                            return Err(self.not_converged(it, f0, "Jacobian undefined"));
                        }
                        -1.0
                    };
                    for i in 0..m {
                        jac[(i, k)] = sign * (r_trial[i] - r[i]) / h;
                    }
                }
            } else {
                // The analytic Jacobian costs about two residual evaluations (two Donnan
                // solves and their derivatives): counted so, the work limit bounds time as
                // before.
                p.evaluations
                    .set(p.evaluations.get() + JACOBIAN_EVALUATIONS);
                if self
                    .residual(p, bulk, kf, dp, &u, &mut r_trial, Some(&mut jac))
                    .is_err()
                    || jac.iter().any(|v| !v.is_finite())
                {
                    return Err(self.not_converged(it, f0, "Jacobian undefined"));
                }
            }
            let lu = jac.clone().lu();
            let Some(step) = lu.solve(&DVector::from_column_slice(&r)) else {
                return Err(self.not_converged(it, f0, "singular Jacobian"));
            };
            *cache = Some((m, lu));
            // Limit changes of logarithms and potentials to 2 per iteration.
            let biggest = step.iter().fold(0.0f64, |a, s| a.max(s.abs()));
            let mut alpha = if biggest > 2.0 { 2.0 / biggest } else { 1.0 };
            loop {
                let trial: Vec<f64> = u
                    .iter()
                    .zip(step.iter())
                    .map(|(a, s)| a - alpha * s)
                    .collect();
                if eval(&trial, &mut r_trial) && norm(&r_trial) < (1.0 - 1e-4 * alpha) * f0 {
                    u = trial;
                    r.copy_from_slice(&r_trial);
                    break;
                }
                alpha *= 0.5;
                if alpha < 1e-6 {
                    // At round-off level no step can reduce the residual further.
                    if r.iter().all(|v| v.abs() < 1e-9) && u[p.z.len() + 1] > 0.0 {
                        return Ok(u);
                    }
                    return Err(self.not_converged(it, f0, "line search failed"));
                }
            }
        }
        Err(self.not_converged(max_iter, norm(&r), "Newton iteration limit"))
    }

    fn work_exhausted(&self) -> TransportError {
        self.not_converged(
            0,
            f64::NAN,
            &format!(
                "gave up after {WORK_LIMIT} residual evaluations without converging (no start, \
                 pressure continuation or mass-transfer continuation reached a solution)"
            ),
        )
    }

    fn not_converged(&self, iterations: usize, residual: f64, reason: &str) -> TransportError {
        TransportError::NotConverged {
            flux: f64::NAN,
            iterations,
            residual,
            reason: format!("WaterTAP-compatible local solve: {reason}"),
        }
    }

    /// Pore-side concentrations and Donnan potential (dimensionless) for an outside
    /// solution `c`.
    fn partition(&self, p: &Prepared, c: &[f64], out: &mut [f64]) -> Result<f64> {
        let activity = |c: &[f64], ln_g: &mut [f64]| self.ln_gamma(p, c, ln_g);
        let ln_gamma: LnGamma = if p.davies_a.is_some() {
            Some(&activity)
        } else {
            None
        };
        donnan_with(&p.z, &p.k, c, self.charge_density, ln_gamma, 1e-13, out)
    }

    /// WaterTAP's ln gamma of every species in a solution of concentrations `c` (mol/m^3).
    fn ln_gamma(&self, p: &Prepared, c: &[f64], out: &mut [f64]) {
        let Some(a) = p.davies_a else {
            out.iter_mut().for_each(|g| *g = 0.0);
            return;
        };
        // Molality = c / (mass of water per volume), from WaterTAP's flow-based definition.
        let water = self.density - c.iter().zip(&p.mw).map(|(c, m)| c * m).sum::<f64>();
        let i = 0.5
            * c.iter()
                .zip(&p.z)
                .map(|(c, z)| z * z * c / water)
                .sum::<f64>();
        let s = i.max(0.0).sqrt();
        let bracket = s / (1.0 + s) - 0.3 * i;
        for (g, z) in out.iter_mut().zip(&p.z) {
            *g = self.version.ln_gamma(a, *z, bracket);
        }
    }

    /// Residuals of one end of the module (see [`Self::local_solve`] for u) and, with `jac`,
    /// their Jacobian ([`Self::jacobian_at`]).
    #[allow(clippy::too_many_arguments)]
    fn residual(
        &self,
        p: &Prepared,
        bulk: &[f64],
        kf: Option<&[f64]>,
        dp: f64,
        u: &[f64],
        r: &mut [f64],
        jac: Option<&mut DMatrix<f64>>,
    ) -> Result<()> {
        let n = p.z.len();
        let mut cp = [0.0f64; 16];
        let mut cm = [0.0f64; 16];
        let mut ce = [0.0f64; 16];
        let mut cx = [0.0f64; 16];
        for j in 0..n {
            cp[j] = u[j].exp();
            cm[j] = if kf.is_some() {
                u[n + 2 + j].exp()
            } else {
                bulk[j]
            };
        }
        let psi_perm = u[n];
        let jv = u[n + 1] * 1e-6;
        let psi_entr = self.partition(p, &cm[..n], &mut ce[..n])?;
        let psi_exit = psi_perm + self.partition(p, &cp[..n], &mut cx[..n])?;
        let dx = self.effective_thickness;
        for j in 0..n {
            let avg = 0.5 * (ce[j] + cx[j]);
            let pore = -p.kd_d[j] * (cx[j] - ce[j]) / dx + p.kc[j] * avg * jv
                - p.z[j] * avg * p.kd_d[j] * (psi_exit - psi_entr) / dx;
            r[j] = (jv * cp[j] - pore) / ((p.kd_d[j] / dx + jv.abs()) * cm[j]);
        }
        let charge = |c: &[f64]| {
            let q: f64 = c.iter().zip(&p.z).map(|(c, z)| c * z).sum();
            let s: f64 = c.iter().zip(&p.z).map(|(c, z)| c * z.abs()).sum();
            q / s
        };
        r[n] = charge(&cp[..n]);
        let dpi = p.rt * (cm[..n].iter().sum::<f64>() - cp[..n].iter().sum::<f64>());
        r[n + 1] = (jv - p.lp * (dp - dpi)) / (p.lp * (dp + dpi.abs()));
        if let Some(kf) = kf {
            let grad = u[2 * n + 2] * 1e3;
            for j in 0..n {
                let film = -kf[j] * (cm[j] - bulk[j]) + jv * cm[j] - p.z[j] * cm[j] * p.d[j] * grad;
                r[n + 2 + j] = (jv * cp[j] - film) / (kf[j] * bulk[j]);
            }
            r[2 * n + 2] = charge(&cm[..n]);
        }
        if let Some(jac) = jac {
            let end = End {
                p,
                bulk,
                kf,
                dp,
                u,
                r,
                cp: &cp[..n],
                cm: &cm[..n],
                ce: &ce[..n],
                cx: &cx[..n],
                dpsi: psi_exit - psi_entr,
            };
            self.jacobian_at(&end, jac)?;
        }
        Ok(())
    }

    /// The activity law of the partitioning, for its derivatives.
    fn law<'a>(&self, p: &'a Prepared) -> DaviesLaw<'a> {
        match p.davies_a {
            None => DaviesLaw::Ideal,
            Some(a) => DaviesLaw::Molal {
                coefficient: self.version.ln_gamma(a, 1.0, 1.0),
                water_density: self.density,
                molar_masses: &p.mw,
            },
        }
    }

    /// The Jacobian of [`Self::residual`] at `u` (rows and columns in its order) from the
    /// residual `r` and the concentrations of `end` there, analytic: the partitioning by
    /// implicit differentiation of the Donnan equilibria ([`donnan_log_jacobian`]), the rest by
    /// hand. Unknowns: ln c_p (n), psi_perm, J_v / 1e-6 m/s, then with a film ln c_m (n) and
    /// the film's potential gradient / 1e3.
    fn jacobian_at(&self, end: &End, jac: &mut DMatrix<f64>) -> Result<()> {
        let End {
            p,
            bulk,
            kf,
            dp,
            u,
            r,
            cp,
            cm,
            ce,
            cx,
            dpsi,
        } = *end;
        let n = p.z.len();
        let (z, kdd, kc) = (&p.z, &p.kd_d, &p.kc);
        let jv = u[n + 1] * 1e-6;
        let law = self.law(p);
        let (mut dce, mut dcx) = (vec![0.0; n * n], vec![0.0; n * n]);
        let (mut gce, mut gcx) = (vec![0.0; n], vec![0.0; n]);
        donnan_log_jacobian(z, cm, ce, &law, &mut dce, Some(&mut gce))?;
        donnan_log_jacobian(z, cp, cx, &law, &mut dcx, Some(&mut gcx))?;
        let dx = self.effective_thickness;
        jac.fill(0.0);
        // Pore flux balances: r_j = (J_v c_p,j - pore_j) / den_j.
        for j in 0..n {
            let avg = 0.5 * (ce[j] + cx[j]);
            let den = (kdd[j] / dx + jv.abs()) * cm[j];
            let w_avg = kc[j] * jv - z[j] * kdd[j] * dpsi / dx;
            let w_psi = -z[j] * avg * kdd[j] / dx;
            // d pore_j for a change (d ce_j, d cx_j, d Δψ, d J_v).
            let d_pore = |d_ce: f64, d_cx: f64, d_psi: f64, d_jv: f64| {
                -kdd[j] / dx * (d_cx - d_ce)
                    + w_avg * 0.5 * (d_ce + d_cx)
                    + w_psi * d_psi
                    + kc[j] * avg * d_jv
            };
            for k in 0..n {
                let d_flux = if j == k { jv * cp[j] } else { 0.0 };
                jac[(j, k)] = (d_flux - d_pore(0.0, dcx[j * n + k], gcx[k], 0.0)) / den;
            }
            jac[(j, n)] = -d_pore(0.0, 0.0, 1.0, 0.0) / den;
            let d_den = jv.signum() * 1e-6 * cm[j];
            jac[(j, n + 1)] =
                (1e-6 * cp[j] - d_pore(0.0, 0.0, 0.0, 1e-6)) / den - r[j] * d_den / den;
            if kf.is_some() {
                for k in 0..n {
                    let d_den = if j == k { den } else { 0.0 };
                    jac[(j, n + 2 + k)] =
                        -d_pore(dce[j * n + k], 0.0, -gce[k], 0.0) / den - r[j] * d_den / den;
                }
            }
        }
        // Relative charge q / s of a solution, by ln c_k: c_k (z_k s - |z_k| q) / s^2.
        let charge_row = |c: &[f64], k: usize| {
            let q: f64 = c.iter().zip(z).map(|(c, z)| c * z).sum();
            let s: f64 = c.iter().zip(z).map(|(c, z)| c * z.abs()).sum();
            c[k] * (z[k] * s - z[k].abs() * q) / (s * s)
        };
        for k in 0..n {
            jac[(n, k)] = charge_row(cp, k);
        }
        // Water flux: r = (J_v - L_p (dp - dpi)) / (L_p (dp + |dpi|)), dpi = RT sum (c_m - c_p).
        let dpi = p.rt * (cm.iter().sum::<f64>() - cp.iter().sum::<f64>());
        let big_m = p.lp * (dp + dpi.abs());
        let row = |d_jv: f64, d_dpi: f64| {
            (d_jv + p.lp * d_dpi - r[n + 1] * p.lp * dpi.signum() * d_dpi) / big_m
        };
        for k in 0..n {
            jac[(n + 1, k)] = row(0.0, -p.rt * cp[k]);
        }
        jac[(n + 1, n + 1)] = row(1e-6, 0.0);
        if let Some(kf) = kf {
            let grad = u[2 * n + 2] * 1e3;
            for k in 0..n {
                jac[(n + 1, n + 2 + k)] = row(0.0, p.rt * cm[k]);
            }
            // Film balances: r = (J_v c_p,j - film_j) / (k_f,j c_b,j),
            // film_j = -k_f,j (c_m,j - c_b,j) + J_v c_m,j - z_j c_m,j D_j grad.
            for j in 0..n {
                let scale = kf[j] * bulk[j];
                jac[(n + 2 + j, j)] = jv * cp[j] / scale;
                jac[(n + 2 + j, n + 1)] = 1e-6 * (cp[j] - cm[j]) / scale;
                jac[(n + 2 + j, n + 2 + j)] =
                    -(-kf[j] * cm[j] + jv * cm[j] - z[j] * cm[j] * p.d[j] * grad) / scale;
                jac[(n + 2 + j, 2 * n + 2)] = z[j] * cm[j] * p.d[j] * 1e3 / scale;
            }
            for k in 0..n {
                jac[(2 * n + 2, n + 2 + k)] = charge_row(cm, k);
            }
        }
        Ok(())
    }

    /// The full state of one end from its solved unknowns.
    fn state(
        &self,
        p: &Prepared,
        bulk: &[f64],
        u: &[f64],
        kf: Option<Vec<f64>>,
        velocity: Option<f64>,
    ) -> Result<LocalState> {
        let n = p.z.len();
        let permeate: Vec<f64> = u[..n].iter().map(|v| v.exp()).collect();
        let interface: Vec<f64> = if kf.is_some() {
            u[n + 2..2 * n + 2].iter().map(|v| v.exp()).collect()
        } else {
            bulk.to_vec()
        };
        let mut pore_entrance = vec![0.0; n];
        let mut pore_exit = vec![0.0; n];
        let psi_entr = self.partition(p, &interface, &mut pore_entrance)?;
        let psi_exit = u[n] + self.partition(p, &permeate, &mut pore_exit)?;
        let volt = p.rt / FARADAY;
        let gamma = |c: &[f64]| {
            let mut g = vec![0.0; n];
            self.ln_gamma(p, c, &mut g);
            g.iter_mut().for_each(|v| *v = v.exp());
            g
        };
        let activity = Locations {
            bulk: gamma(bulk),
            interface: gamma(&interface),
            pore_entrance: gamma(&pore_entrance),
            pore_exit: gamma(&pore_exit),
            permeate: gamma(&permeate),
        };
        let (flux, water_flux_molar) = local_fluxes(p, u, n);
        Ok(LocalState {
            potentials: [psi_entr * volt, psi_exit * volt, u[n] * volt],
            water_flux: u[n + 1] * 1e-6,
            flux,
            water_flux_molar,
            potential_gradient: kf.as_ref().map(|_| u[2 * n + 2] * 1e3 * volt),
            mass_transfer: kf.unwrap_or_default(),
            velocity,
            activity,
            concentrations: Locations {
                bulk: bulk.to_vec(),
                interface,
                pore_entrance,
                pore_exit,
                permeate,
            },
        })
    }
}

/// Molar fluxes of the species and of water at one end, mol/(m^2 s).
fn local_fluxes(p: &Prepared, u: &[f64], n: usize) -> (Vec<f64>, f64) {
    let jv = u[n + 1] * 1e-6;
    (
        u[..n].iter().map(|v| jv * v.exp()).collect(),
        jv * p.rho_water / WATER_MOLAR_MASS,
    )
}

/// Density of pure water, kg/m^3, at temperature `t` (K): Sharqawy, Lienhard & Zubair (2010),
/// Desalin. Water Treat. 16:354, eq. 8 with S = 0, as in WaterTAP's property package.
pub fn sharqawy_water_density(t: f64) -> f64 {
    let t = t - 273.15;
    9.999e2 + 2.034e-2 * t - 6.162e-3 * t * t + 2.261e-5 * t.powi(3) - 4.657e-8 * t.powi(4)
}

/// WaterTAP's Debye-Hueckel constant before 1.7: (2 pi N_A)^0.5 / ln 10 (e^2 / (4 pi eps0 eps
/// k T))^1.5 evaluated in SI base units (dimensionless in WaterTAP; 0.01555 at 298.15 K and eps
/// 80.4). WaterTAP 1.7+ multiplies it by the square root of the water density
/// ([`WaterTapVersion::davies_a`]).
pub fn watertap_debye_huckel_a(eps: f64, t: f64) -> f64 {
    let pi = std::f64::consts::PI;
    (2.0 * pi * AVOGADRO).sqrt() / std::f64::consts::LN_10
        * (ELEMENTARY_CHARGE * ELEMENTARY_CHARGE
            / (4.0 * pi * VACUUM_PERMITTIVITY * eps * BOLTZMANN * t))
            .powf(1.5)
}

/// A published WaterTAP regression case: inputs and the values WaterTAP asserts.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCase {
    /// WaterTAP's test class.
    pub name: &'static str,
    /// The module with the case's inputs.
    pub module: Module0d,
    /// The case's inlet.
    pub inlet: Inlet,
    /// Expected average molar flux of each species, mol/(m^2 s).
    pub flux: Vec<f64>,
    /// Expected average molar flux of water, mol/(m^2 s).
    pub water_flux: f64,
    /// Expected intrinsic rejection of each species.
    pub rejection_intrinsic: Vec<f64>,
    /// The relative precision WaterTAP asserts them with.
    pub precision: f64,
}

/// Where [`published_cases`] come from.
pub const PUBLISHED_SOURCE: &str = "watertap-org/watertap, \
    watertap/unit_models/tests/test_nanofiltration_DSPMDE_0D.py at commit \
    ea74a668ccabb70c4b55e360ab3915f5f193c8ca, test_solution of each class (pytest.approx rel=1e-3)";

/// WaterTAP's four `NanofiltrationDSPMDE0D` regression cases ([`PUBLISHED_SOURCE`]): a
/// seawater-like 5-ion feed (1 kg/s; mass fractions Ca 382, SO4 2136, Mg 1394, Na 11122,
/// Cl 20101.6 ppm, Cl adjusted to electroneutrality) without and with spiral-wound
/// polarisation, the same at double concentration, and NaCl alone; 4 bar, r_p 0.5 nm,
/// dx_e 1.33 um, X_d -27 mol/m^3, eps_p 41.3, 50 m^2, channel 0.5 mm, spacer porosity 0.85,
/// 0.25 m/s, WaterTAP's Davies activity. Species data are the test's (D, r_s, M).
pub fn published_cases() -> Vec<PublishedCase> {
    // name, z, D (m^2/s), r_s (m), M (kg/mol), seawater mass fraction.
    const DATA: [(&str, f64, f64, f64, f64, f64); 5] = [
        ("Ca2+", 2.0, 9.2e-10, 3.09e-10, 0.04, 382e-6),
        ("SO4^2-", -2.0, 1.06e-9, 2.3e-10, 0.096, 2136e-6),
        ("Mg2+", 2.0, 7.06e-10, 3.47e-10, 0.024, 1394e-6),
        ("Na+", 1.0, 1.33e-9, 1.84e-10, 0.023, 11122e-6),
        ("Cl-", -1.0, 2.03e-9, 1.21e-10, 0.035, 20101.6e-6),
    ];
    let case =
        |name, which: &[usize], conc: f64, polarised: bool, flux: &[f64], water, rej: &[f64]| {
            let species: Vec<Species> = which
                .iter()
                .map(|&i| Species {
                    name: DATA[i].0.into(),
                    charge: DATA[i].1,
                    diffusivity: DATA[i].2,
                    stokes_radius: DATA[i].3,
                    molar_mass: DATA[i].4,
                })
                .collect();
            let fractions: Vec<f64> = which.iter().map(|&i| conc * DATA[i].5).collect();
            let mut module = Module0d::watertap_defaults_of(
                WaterTapVersion::V1_6,
                species,
                0.5e-9,
                1.33e-6,
                -27.0,
                41.3,
            );
            if polarised {
                module.polarisation = Some(MassTransfer::SpiralWound(SpiralWound {
                    channel_height: 5e-4,
                    spacer_porosity: 0.85,
                    inlet_velocity: 0.25,
                    mixing_efficiency: 0.5,
                    mixing_length: 0.6,
                }));
            }
            let inlet =
                Inlet::from_mass_fractions(&module.species, 1.0, &fractions, which.len() - 1)
                    .expect("published inlets are valid");
            PublishedCase {
                name,
                module,
                inlet,
                flux: flux.to_vec(),
                water_flux: water,
                rejection_intrinsic: rej.to_vec(),
                precision: 1e-3,
            }
        };
    let five = [0, 1, 2, 3, 4];
    vec![
        case(
            "TestNanoFiltration_without_CP_5ions",
            &five,
            1.0,
            false,
            &[1.860337e-6, 1.850918e-6, 5.972139e-06, 0.0003574, 0.0003694],
            0.039150,
            &[0.731772, 0.8854559, 0.8584226, -0.017782, 0.1143856],
        ),
        case(
            "TestNanoFiltration_with_CP_5ions",
            &five,
            1.0,
            true,
            &[1.9289e-06, 1.95859e-06, 6.56667e-06, 0.00029831, 0.00031137],
            0.032671,
            &[0.6905496, 0.8687813, 0.83309579, -0.0265173, 0.11538899],
        ),
        case(
            "TestNanoFiltration_with_CP_5ions_double_concentration",
            &five,
            2.0,
            true,
            &[
                1.4258536e-06,
                2.9210354e-06,
                5.5916186e-06,
                0.0001269756,
                0.0001352,
            ],
            0.0069096,
            &[0.441427, 0.510229, 0.64273, 0.00753, 0.11317679],
        ),
        case(
            "TestNanoFiltration_with_CP_2ions",
            &[3, 4],
            1.0,
            true,
            &[0.0010636, 0.0010636],
            0.1313564,
            &[0.096269, 0.096269],
        ),
    ]
}

impl PublishedCase {
    /// Solves the case and returns the solution with the largest relative deviation from
    /// WaterTAP's values over all fluxes and rejections.
    pub fn compare(&self) -> Result<(Module0dSolution, f64)> {
        let s = self.module.solve(&self.inlet)?;
        let mut worst = (s.water_flux / self.water_flux - 1.0).abs();
        for j in 0..self.flux.len() {
            worst = worst
                .max((s.flux[j] / self.flux[j] - 1.0).abs())
                .max((s.rejection_intrinsic[j] / self.rejection_intrinsic[j] - 1.0).abs());
        }
        Ok((s, worst))
    }
}

/// `Ok` when every named value is finite and positive, else the first that is not, by name.
fn all_positive<const N: usize>(values: [(&'static str, f64); N]) -> Result<()> {
    for (name, v) in values {
        if !(v.is_finite() && v > 0.0) {
            return crate::error::invalid(name, v, "must be finite and > 0 (SI units)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic Jacobian of the local residual against central differences, for the
    /// published cases (5 ions) with and without a film, Davies (both versions) and ideal,
    /// at a point off the solution.
    #[test]
    fn local_jacobian_equals_central_differences() {
        let mut worst: f64 = 0.0;
        for case in published_cases() {
            for (version, activity) in [
                (WaterTapVersion::V1_8, WaterTapActivity::Davies),
                (WaterTapVersion::V1_6, WaterTapActivity::Davies),
                (WaterTapVersion::V1_8, WaterTapActivity::Ideal),
            ] {
                let m = Module0d {
                    version,
                    activity,
                    ..case.module.clone()
                };
                let p = m.prepare().unwrap();
                let n = p.z.len();
                let bulk: Vec<f64> = m.concentrations(&p, &case.inlet.flows, case.inlet.water_flow);
                let dp = m.feed_pressure - m.permeate_pressure;
                let kf: Vec<f64> = (0..n).map(|j| 2e-5 * (1.0 + 0.2 * j as f64)).collect();
                for film in [None, Some(&kf[..])] {
                    let mut u: Vec<f64> = bulk
                        .iter()
                        .enumerate()
                        .map(|(j, c)| (c * (0.3 + 0.1 * j as f64)).ln())
                        .collect();
                    u.push(0.3);
                    u.push(5.0);
                    if film.is_some() {
                        u.extend(bulk.iter().map(|c| (1.2 * c).ln()));
                        u.push(0.7);
                    }
                    let size = u.len();
                    let mut r = vec![0.0; size];
                    let mut jac = DMatrix::zeros(size, size);
                    m.residual(&p, &bulk, film, dp, &u, &mut r, Some(&mut jac))
                        .unwrap();
                    let (mut up, mut down) = (vec![0.0; size], vec![0.0; size]);
                    for k in 0..size {
                        let h = 1e-6 * u[k].abs().max(1.0);
                        let mut x = u.clone();
                        x[k] += h;
                        m.residual(&p, &bulk, film, dp, &x, &mut up, None).unwrap();
                        x[k] -= 2.0 * h;
                        m.residual(&p, &bulk, film, dp, &x, &mut down, None)
                            .unwrap();
                        for i in 0..size {
                            let fd = (up[i] - down[i]) / (2.0 * h);
                            let err = (jac[(i, k)] - fd).abs() / (1.0 + fd.abs());
                            assert!(
                                err < 1e-6,
                                "{} {version:?} {activity:?} film {}: ({i},{k}) {} vs {fd}",
                                case.name,
                                film.is_some(),
                                jac[(i, k)]
                            );
                            worst = worst.max(err);
                        }
                    }
                }
            }
        }
        eprintln!("largest difference, analytic vs central differences: {worst:.1e}");
    }

    #[test]
    fn both_jacobians_solve_the_published_cases_alike() {
        for case in published_cases() {
            let fd = Module0d {
                jacobian: crate::NewtonJacobian::FiniteDifference,
                ..case.module.clone()
            };
            let a = case.module.solve(&case.inlet).unwrap();
            let b = fd.solve(&case.inlet).unwrap();
            assert!(
                (a.water_flux / b.water_flux - 1.0).abs() < 1e-8,
                "{}",
                case.name
            );
            for (x, y) in a.flux.iter().zip(&b.flux) {
                assert!((x / y - 1.0).abs() < 1e-7, "{}: {x} vs {y}", case.name);
            }
            assert!(a.evaluations < b.evaluations, "{}", case.name);
        }
    }
}
