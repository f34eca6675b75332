//! Membrane and operating-condition descriptions (all SI).

use crate::constants::WATER_PERMITTIVITY;
use crate::error::{Result, TransportError};
use serde::{Deserialize, Serialize};

/// Membrane charge density X_d (mol/m^3 of pore volume, signed: negative for NF270 at
/// neutral pH).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ChargeModel {
    /// X_d independent of the feed.
    Constant(f64),
    /// Freundlich isotherm X_d = a I^b with I the feed ionic strength in mol/m^3 (the sign of
    /// `a` is the sign of the charge), as used for NF membranes whose charge grows with salt
    /// concentration (Bowen & Mukhtar 1996; Mohammad et al. 2015, Desalination 356:226).
    Freundlich {
        /// Prefactor, mol/m^3 per (mol/m^3)^b.
        a: f64,
        /// Exponent (0 < b < 1 typically).
        b: f64,
    },
    /// Langmuir isotherm X_d = x_max I / (k + I): a charge from ions adsorbed on a finite number
    /// of sites, which grows with the feed's ionic strength I (mol/m^3) and saturates at
    /// `x_max` (Langmuir-type competitive adsorption on NF polyamide: Bruni & Bandini 2009,
    /// Desalination 241:315). Spans a constant charge (k -> 0) to one proportional to I
    /// (k >> I).
    Langmuir {
        /// Saturation charge, mol/m^3 (its sign is the sign of the charge).
        x_max: f64,
        /// Half-saturation ionic strength, mol/m^3 (> 0).
        k: f64,
    },
    /// A charge set by the feed's multivalent ions, X_d = x0 + cations f2+ + anions f2-, with
    /// f2+ (f2-) the share of the feed's cation (anion) equivalents carried by ions of |z| >=
    /// 2: the specific adsorption of multivalent counter-ions (Mg2+, Ca2+ on carboxyl groups)
    /// that neutralises or reverses a polyamide's charge, and of multivalent co-ions (SO4 2-)
    /// that adds to it, each in proportion to its share of the feed. Linear in its three
    /// parameters: a charge learned from some feeds that applies to any other.
    Multivalent {
        /// X_d of a feed of monovalent ions only, mol/m^3.
        x0: f64,
        /// Change of X_d from a feed of monovalent cations to one of multivalent cations only,
        /// mol/m^3.
        cations: f64,
        /// The same for anions, mol/m^3.
        anions: f64,
    },
}

impl ChargeModel {
    /// X_d (mol/m^3) for `feed`: [`ChargeModel::charge_density`] at its ionic strength, or the
    /// multivalent form at its equivalent fractions.
    pub fn charge_of(&self, feed: &ion_species::Composition) -> f64 {
        match *self {
            Self::Multivalent {
                x0,
                cations,
                anions,
            } => {
                let (f_cations, f_anions) = multivalent_shares(feed);
                x0 + cations * f_cations + anions * f_anions
            }
            _ => self.charge_density(feed.ionic_strength()),
        }
    }

    /// X_d (mol/m^3) for a feed of ionic strength `ionic_strength` (mol/m^3); for
    /// [`ChargeModel::Multivalent`], which depends on the feed's ions rather than on I, x0
    /// (the charge in monovalent feeds): use [`ChargeModel::charge_of`] for a feed.
    pub fn charge_density(&self, ionic_strength: f64) -> f64 {
        match *self {
            Self::Constant(x) => x,
            Self::Multivalent { x0, .. } => x0,
            Self::Freundlich { a, b } => a * ionic_strength.max(0.0).powf(b),
            Self::Langmuir { x_max, k } => {
                let i = ionic_strength.max(0.0);
                x_max * i / (k + i)
            }
        }
    }
}

/// Shares of the cation and of the anion equivalents (sum |z| c) of `feed` carried by ions of
/// |z| >= 2 (0 for a side without ions).
pub fn multivalent_shares(feed: &ion_species::Composition) -> (f64, f64) {
    let (mut cat, mut cat2, mut an, mut an2) = (0.0, 0.0, 0.0, 0.0);
    for (ion, c) in feed.iter() {
        let q = ion.z().abs() * c.max(0.0);
        let multivalent = ion.z().abs() >= 2.0;
        if ion.z() > 0.0 {
            cat += q;
            if multivalent {
                cat2 += q;
            }
        } else {
            an += q;
            if multivalent {
                an2 += q;
            }
        }
    }
    let share = |part: f64, all: f64| if all > 0.0 { part / all } else { 0.0 };
    (share(cat2, cat), share(an2, an))
}

/// As a person writes it:
///
/// ```
/// use np_transport::ChargeModel;
/// assert_eq!(ChargeModel::Constant(-40.0).to_string(), "X_d = -40 mol/m3");
/// let isotherm = ChargeModel::Freundlich { a: -4.07213, b: 0.45249 };
/// assert_eq!(isotherm.to_string(), "X_d = -4.072 I^0.4525 mol/m3");
/// let langmuir = ChargeModel::Langmuir { x_max: -85.04, k: 31.77 };
/// assert_eq!(langmuir.to_string(), "X_d = -85.04 I/(31.77 + I) mol/m3");
/// ```
impl std::fmt::Display for ChargeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Four significant digits: a fitted charge is not known better.
        let sig = |x: f64| {
            if x == 0.0 || !x.is_finite() {
                return x;
            }
            let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
            (x * scale).round() / scale
        };
        match *self {
            Self::Constant(x) => write!(f, "X_d = {} mol/m3", sig(x)),
            Self::Freundlich { a, b } => write!(f, "X_d = {} I^{} mol/m3", sig(a), sig(b)),
            Self::Langmuir { x_max, k } => {
                write!(f, "X_d = {} I/({} + I) mol/m3", sig(x_max), sig(k))
            }
            Self::Multivalent {
                x0,
                cations,
                anions,
            } => write!(
                f,
                "X_d = {} + {} f2+ + {} f2- mol/m3",
                sig(x0),
                sig(cations),
                sig(anions)
            ),
        }
    }
}

/// Largest |X_d| (and |a| of a Freundlich isotherm) a membrane may have, mol/m^3: 10 mol/L of
/// fixed charge. Fitted NF charges are tens to a few thousand mol/m^3; far larger values are
/// unit slips (mol/L for mol/m^3 the other way round) and make the Donnan solve degenerate.
pub const MAX_CHARGE_DENSITY: f64 = 1e4;

/// Half-saturation ionic strengths k a Langmuir charge may have, mol/m^3: 1 µmol/L (below any
/// feed: a constant charge) to 1000 mol/L (above any: a charge proportional to I).
pub const LANGMUIR_K_RANGE: (f64, f64) = (1e-3, 1e6);

/// A log-normal distribution of pore radii around [`Membrane::pore_radius`] (its median),
/// with standard deviation `sigma` of ln r, integrated with `nodes`-point Gauss-Hermite
/// quadrature. Pores of radius r carry water flux per unit pore area proportional to r^2
/// (Hagen-Poiseuille); the permeate is the flow-weighted mix (Bowen & Welfoot 2002, Sec. 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogNormalPores {
    /// Standard deviation of ln(r).
    pub sigma: f64,
    /// Quadrature nodes (1..=9).
    pub nodes: usize,
}

/// A nanofiltration membrane for the DSPM-DE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membrane {
    /// Pore radius r_p, m (the median with a pore-size distribution).
    pub pore_radius: f64,
    /// Effective thickness Delta x / A_k (active-layer thickness over porosity), m.
    pub effective_thickness: f64,
    /// Charge density model.
    pub charge: ChargeModel,
    /// Relative permittivity of water in the pore, epsilon_p (< bulk 78.4 gives dielectric exclusion).
    pub pore_dielectric: f64,
    /// Optional pore-size distribution.
    pub pore_size_distribution: Option<LogNormalPores>,
    /// How each ion's own nature enters its partitioning (default: the classic DSPM-DE, a
    /// Born term from the Stokes radius and nothing else; absent from files that keep it).
    #[serde(default, skip_serializing_if = "Partitioning::is_classic")]
    pub partitioning: Partitioning,
}

/// Which radius sets an ion's Born (dielectric-exclusion) energy
/// dW = z^2 e^2 / (8 pi eps0 r) (1/eps_p - 1/eps_b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BornRadius {
    /// The Stokes radius, as the DSPM-DE is usually written (Bowen & Welfoot 2002; WaterTAP).
    /// Ions of near-equal Stokes radii (Cl-, NO3-) are excluded alike.
    #[default]
    Stokes,
    /// The effective Born radius from the ion's hydration free energy
    /// ([`ion_species::Ion::born_radius`], Marcus 1991): dW = -dG_hyd (1/eps_p - 1/eps_b) /
    /// (1 - 1/eps_w), so an ion pays in the pore the share of its own hydration energy that
    /// the lower permittivity takes away (weakly hydrated NO3- less than Cl-, Mg2+ more than
    /// its Stokes radius says). Every ion of the feed needs a hydration free energy.
    Hydration,
}

/// Ion-specific partitioning of a membrane: the Born radius and, optionally, an extra
/// partition energy per ion.
///
/// The pore/bulk partition coefficient of ion i is Phi_i exp(-dW_Born,i / kT) exp(-E_i) times the
/// Donnan factor, with E_i = `energies[i]` in units of kT (positive: excluded). E_i lumps what
/// the continuum terms miss (specific adsorption, partial dehydration) and is usually fitted
/// ([`crate::FitOptions::partition_energies`]).
///
/// ```
/// use np_transport::{BornRadius, Membrane, Partitioning};
/// let mut m = Membrane::nf270_like();
/// m.partitioning = Partitioning {
///     born_radius: BornRadius::Hydration,
///     energies: [("NO3-".to_string(), -0.5)].into(),
///     ..Default::default()
/// };
/// m.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partitioning {
    /// Radius of the Born term.
    #[serde(default)]
    pub born_radius: BornRadius,
    /// Extra partition energy per ion (canonical ion name), in kT; ions not named have none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub energies: std::collections::BTreeMap<String, f64>,
    /// A partition energy for every ion from its own data: E_i += sum_k w_k d_k(ion), kT, with
    /// d_k the [`EnergyDescriptor`]s. Learned from some ions, it gives any ion with those
    /// properties an energy (added to its entry in `energies`, if any).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub descriptor_weights: std::collections::BTreeMap<EnergyDescriptor, f64>,
}

/// An ion property that a partition energy can be a linear function of
/// ([`Partitioning::descriptor_weights`]); each is dimensionless and of order one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyDescriptor {
    /// -dG_hyd / (100 RT) at 25 °C, the standard hydration free energy (Marcus 1991, via
    /// [`ion_species::Ion::hydration_free_energy`]) in units of 100 RT (Na+: 1.47, NO3-: 1.21,
    /// Mg2+: 7.38): an energy proportional to it is a fixed share of the hydration shell lost
    /// on entering the pore (partial dehydration).
    Hydration,
    /// Stokes radius / 0.2 nm: size beyond the steric and hindrance terms.
    StokesRadius,
    /// z^2: charge beyond the Born term (which scales as z^2 / radius).
    ValenceSquared,
}

impl EnergyDescriptor {
    /// Every descriptor.
    pub const ALL: [Self; 3] = [Self::Hydration, Self::StokesRadius, Self::ValenceSquared];

    /// Its name in parameter names (`energy_weight:<name>`) and files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hydration => "hydration",
            Self::StokesRadius => "stokes_radius",
            Self::ValenceSquared => "valence_squared",
        }
    }

    /// The descriptor of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Its value for `ion` (a typed error for an ion without a hydration free energy).
    ///
    /// ```
    /// use ion_species::IonRegistry;
    /// use np_transport::EnergyDescriptor;
    /// let na = IonRegistry::canonical().parse("Na+").unwrap().clone();
    /// let h = EnergyDescriptor::Hydration.value(&na).unwrap();
    /// assert!((h - 1.47).abs() < 0.01); // -365 kJ/mol / (100 RT)
    /// ```
    pub fn value(self, ion: &ion_species::Ion) -> Result<f64> {
        Ok(match self {
            Self::Hydration => {
                let g = ion.hydration_free_energy.ok_or_else(|| {
                    TransportError::MissingIonProperty {
                        ion: ion.name.clone(),
                        property: "hydration free energy",
                        needed_by: "the hydration descriptor of its partition energy",
                    }
                })?;
                -g / (100.0 * crate::GAS_CONSTANT * DESCRIPTOR_TEMPERATURE)
            }
            Self::StokesRadius => ion.stokes_radius / 0.2e-9,
            Self::ValenceSquared => ion.z() * ion.z(),
        })
    }
}

/// The temperature of the tabulated hydration free energies (Marcus 1991: 25 °C), K.
const DESCRIPTOR_TEMPERATURE: f64 = 298.15;

/// Largest |w| of a [`Partitioning::descriptor_weights`] entry, kT per unit of the descriptor.
pub const MAX_DESCRIPTOR_WEIGHT: f64 = 20.0;

/// Largest |E_i| of [`Partitioning::energies`], kT: e^20 ≈ 5e8 is exclusion beyond any
/// measurable rejection; larger values are unit slips (J/mol for kT).
pub const MAX_PARTITION_ENERGY: f64 = 20.0;

impl Partitioning {
    /// The classic DSPM-DE: Stokes-radius Born term, no extra energies.
    pub fn is_classic(&self) -> bool {
        *self == Self::default()
    }

    /// Extra partition energy of ion `name`, kT (0 when none is set).
    pub fn energy(&self, name: &str) -> f64 {
        self.energies.get(name).copied().unwrap_or(0.0)
    }

    /// The whole extra partition energy of `ion`, kT: its entry in `energies` plus the
    /// descriptor terms; an error names an ion without a needed property or whose energy is
    /// beyond +-[`MAX_PARTITION_ENERGY`].
    pub fn energy_of(&self, ion: &ion_species::Ion) -> Result<f64> {
        let mut e = self.energy(&ion.name);
        for (d, w) in &self.descriptor_weights {
            e += w * d.value(ion)?;
        }
        if !(e.is_finite() && e.abs() <= MAX_PARTITION_ENERGY) {
            return Err(TransportError::InvalidPartitionEnergy {
                ion: ion.name.clone(),
                value: e,
                limit: MAX_PARTITION_ENERGY,
            });
        }
        Ok(e)
    }

    /// Checks every energy: finite, within +-[`MAX_PARTITION_ENERGY`] kT; every descriptor
    /// weight finite within +-[`MAX_DESCRIPTOR_WEIGHT`].
    pub fn validate(&self) -> Result<()> {
        for (d, &w) in &self.descriptor_weights {
            if !(w.is_finite() && w.abs() <= MAX_DESCRIPTOR_WEIGHT) {
                return Err(TransportError::InvalidParameter {
                    name: "descriptor_weights",
                    value: w,
                    reason: match d {
                        EnergyDescriptor::Hydration => {
                            "the hydration weight must be finite and within +-20 kT"
                        }
                        EnergyDescriptor::StokesRadius => {
                            "the Stokes-radius weight must be finite and within +-20 kT"
                        }
                        EnergyDescriptor::ValenceSquared => {
                            "the valence-squared weight must be finite and within +-20 kT"
                        }
                    },
                });
            }
        }
        for (ion, &e) in &self.energies {
            if !(e.is_finite() && e.abs() <= MAX_PARTITION_ENERGY) {
                return Err(TransportError::InvalidPartitionEnergy {
                    ion: ion.clone(),
                    value: e,
                    limit: MAX_PARTITION_ENERGY,
                });
            }
        }
        Ok(())
    }
}

impl Membrane {
    /// An NF270-like membrane: r_p = 0.45 nm, Delta x/A_k = 1.3 um, X_d = -40 mol/m^3,
    /// epsilon_p = 55 (orders of magnitude of published NF270 fits, e.g. Roy et al. 2015 and
    /// Labban et al. 2017; not a fit to any one data set). At J_v = 1e-5 m/s and 10 mmol/L it
    /// rejects NaCl 63 %, MgCl2 42 %, Na2SO4 and MgSO4 99.8 %.
    pub fn nf270_like() -> Self {
        Self {
            pore_radius: 0.45e-9,
            effective_thickness: 1.3e-6,
            charge: ChargeModel::Constant(-40.0),
            pore_dielectric: 55.0,
            pore_size_distribution: None,
            partitioning: Partitioning::default(),
        }
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = crate::error::invalid;
        if !(self.pore_radius.is_finite() && self.pore_radius > 0.0 && self.pore_radius < 1e-7) {
            return bad(
                "pore_radius",
                self.pore_radius,
                "must be in (0, 100 nm), in metres",
            );
        }
        // Delta x / A_k: active layers of 10 nm to 1 um over porosities of 0.01-0.5 give
        // 20 nm to 100 um; below 1 nm no layer is left, a unit slip.
        if !(self.effective_thickness.is_finite()
            && self.effective_thickness >= 1e-9
            && self.effective_thickness < 1e-3)
        {
            return bad(
                "effective_thickness",
                self.effective_thickness,
                "must be in [1 nm, 1 mm), in metres",
            );
        }
        if !(self.pore_dielectric.is_finite()
            && self.pore_dielectric >= 1.0
            && self.pore_dielectric <= 200.0)
        {
            return bad(
                "pore_dielectric",
                self.pore_dielectric,
                "relative permittivity must be in [1, 200]",
            );
        }
        match self.charge {
            ChargeModel::Constant(x) if !(x.is_finite() && x.abs() <= MAX_CHARGE_DENSITY) => {
                return bad(
                    "charge",
                    x,
                    "must be finite and within +-1e4 mol/m^3 (10 mol/L of fixed charge; fitted NF charges are tens to a few thousand)",
                );
            }
            ChargeModel::Freundlich { a, .. }
                if !(a.is_finite() && a.abs() <= MAX_CHARGE_DENSITY) =>
            {
                return bad(
                    "charge.a",
                    a,
                    "Freundlich a must be finite and within +-1e4 mol/m^3 per (mol/m^3)^b",
                );
            }
            ChargeModel::Freundlich { b, .. } if !(b.is_finite() && (0.0..=2.0).contains(&b)) => {
                return bad("charge.b", b, "Freundlich b must be in [0, 2]");
            }
            ChargeModel::Langmuir { x_max, .. }
                if !(x_max.is_finite() && x_max.abs() <= MAX_CHARGE_DENSITY) =>
            {
                return bad(
                    "charge.x_max",
                    x_max,
                    "Langmuir x_max must be finite and within +-1e4 mol/m^3",
                );
            }
            ChargeModel::Multivalent {
                x0,
                cations,
                anions,
            } if ![x0, cations, anions]
                .iter()
                .all(|v| v.is_finite() && v.abs() <= MAX_CHARGE_DENSITY) =>
            {
                return bad(
                    "charge",
                    x0,
                    "a multivalent charge's x0, cations and anions must be finite and within +-1e4 mol/m^3",
                );
            }
            ChargeModel::Langmuir { k, .. }
                if !(k.is_finite() && (LANGMUIR_K_RANGE.0..=LANGMUIR_K_RANGE.1).contains(&k)) =>
            {
                return bad(
                    "charge.k",
                    k,
                    "Langmuir half-saturation ionic strength must be in [1e-3, 1e6] mol/m^3",
                );
            }
            _ => {}
        }
        self.partitioning.validate()?;
        if let Some(psd) = self.pore_size_distribution {
            if !(psd.sigma.is_finite() && psd.sigma >= 0.0 && psd.sigma < 1.0) {
                return bad(
                    "pore_size_distribution.sigma",
                    psd.sigma,
                    "must be in [0, 1)",
                );
            }
            if !(1..=9).contains(&psd.nodes) {
                return bad(
                    "pore_size_distribution.nodes",
                    psd.nodes as f64,
                    "must be 1..=9",
                );
            }
        }
        Ok(())
    }
}

/// Concentration polarisation on the feed side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Polarisation {
    /// The membrane surface sees the bulk feed.
    Off,
    /// Film model: a stagnant, electroneutral boundary layer of thickness `thickness` (m)
    /// with the Nernst-Planck flux (diffusion, electromigration, convection) of each ion;
    /// mass-transfer coefficients are k_i = D_i / thickness.
    Film {
        /// Boundary-layer thickness delta, m.
        thickness: f64,
    },
}

impl Polarisation {
    /// A film whose mass-transfer coefficient for an ion of diffusivity `d` (m^2/s) is `k` (m/s).
    pub fn from_mass_transfer(k: f64, d: f64) -> Self {
        Self::Film { thickness: d / k }
    }

    /// The film given either way: by its thickness (m), or by a mass-transfer coefficient
    /// measured for NaCl (m/s, [`Polarisation::from_nacl_mass_transfer`]); neither: no film.
    /// Both is an error (they would contradict each other).
    pub fn from_film_or_mass_transfer(
        film_thickness: Option<f64>,
        mass_transfer: Option<f64>,
    ) -> Result<Self> {
        match (film_thickness, mass_transfer) {
            (Some(_), Some(k)) => Err(TransportError::InvalidParameter {
                name: "mass_transfer_coefficient",
                value: k,
                reason: "give a film thickness or a mass-transfer coefficient, not both",
            }),
            (Some(thickness), None) => Ok(Self::Film { thickness }),
            (None, Some(k)) => Self::from_nacl_mass_transfer(k),
            (None, None) => Ok(Self::Off),
        }
    }

    /// The film of a mass-transfer coefficient `k` (m/s) measured for NaCl, as cells are
    /// usually characterised: thickness D_NaCl / k with D_NaCl = 2 D+ D- / (D+ + D-) of the
    /// registry's Na+ and Cl- at 25 °C (the Nernst-Hartley salt diffusivity, 1.61e-9 m^2/s).
    ///
    /// ```
    /// use np_transport::Polarisation;
    /// let Polarisation::Film { thickness } = Polarisation::from_nacl_mass_transfer(2e-5).unwrap() else { panic!() };
    /// assert!((thickness - 1.61e-9 / 2e-5).abs() < 1e-6);
    /// ```
    pub fn from_nacl_mass_transfer(k: f64) -> Result<Self> {
        if !(k.is_finite() && k > 0.0) {
            return Err(TransportError::InvalidParameter {
                name: "mass_transfer_coefficient",
                value: k,
                reason: "must be a positive finite m/s",
            });
        }
        let reg = ion_species::IonRegistry::canonical();
        let (dp, dm) = (reg.parse("Na+")?.diffusivity, reg.parse("Cl-")?.diffusivity);
        Ok(Self::from_mass_transfer(k, 2.0 * dp * dm / (dp + dm)))
    }
}

/// Activity model used in the partitioning (Donnan) equations. Both Davies forms use
/// log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I) on each side of each interface (the
/// pore side with the pore ionic strength); they differ in I and A:
///
/// | | [`Activity::Davies`] (textbook) | [`Activity::DaviesMolal`] (WaterTAP 1.8) |
/// |---|---|---|
/// | I | molar, mol/L: 1/2 sum z^2 c / 1000 | molal, mol/kg of water: 1/2 sum z^2 c / rho_water,sol |
/// | A | 0.5085 (L/mol)^0.5, fixed (25 °C) | (2 pi N_A rho_w)^0.5 / ln 10 (e^2 / (4 pi eps0 eps_b k T))^1.5: 0.5100 (kg/mol)^0.5 at 25 °C and eps_b 78.36, following T and the bulk permittivity |
///
/// rho_water,sol is the mass of water per volume of solution, 1000 kg/m^3 minus the solutes'
/// mass (WaterTAP's constant-density convention); rho_w is the pure-water density of Sharqawy
/// et al. (2010). At 10–100 mol/m^3 the two forms give gamma within 0.5 % of each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activity {
    /// Activity coefficients of 1.
    Ideal,
    /// Davies equation, textbook form (molar ionic strength, A = 0.5085).
    Davies,
    /// Davies equation as WaterTAP 1.8 writes it (molal ionic strength, A from eps_b and T).
    DaviesMolal,
}

/// How the pore (and film) transport equations are solved across the thickness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoreScheme {
    /// The pore ODE integrated with error control (the converged solution).
    Ode,
    /// `n` finite elements with element-average concentrations and one potential difference
    /// each; `Elements(1)` is the linearised single-element scheme of WaterTAP's
    /// `NanofiltrationDSPMDE0D`.
    Elements(usize),
}

/// Operating conditions and numerical choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// Temperature, K.
    pub temperature: f64,
    /// Feed-side polarisation.
    pub polarisation: Polarisation,
    /// Activity model in the partitioning equations.
    pub activity: Activity,
    /// Pore discretisation.
    pub scheme: PoreScheme,
    /// Relative permittivity of the bulk solution.
    pub bulk_dielectric: f64,
    /// Convergence tolerance on the relative residuals of the permeate solve.
    pub tolerance: f64,
    /// Maximum Newton iterations per operating point.
    pub max_iterations: usize,
    /// How the Newton iteration of the permeate solve gets its Jacobian (numerics only: the
    /// solution is the same to the tolerance either way).
    #[serde(default, skip_serializing_if = "NewtonJacobian::is_default")]
    pub jacobian: NewtonJacobian,
}

/// How the permeate solve's Newton iteration gets its Jacobian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NewtonJacobian {
    /// The exact derivative of the computed residual: for the ODE scheme from the
    /// variational equations of the pore (and film) integration on the same steps as the
    /// integration itself (one integration of n + 1 + n^2 states per Jacobian instead of
    /// n + 1 integrations of n + 1); for the finite elements ([`PoreScheme::Elements`]) by
    /// implicit differentiation of each element's balances; the Donnan steps by implicit
    /// differentiation too.
    #[default]
    Sensitivity,
    /// Forward differences of the whole residual (step 1e-7 in ln c_p): the reference the
    /// sensitivities are tested and benchmarked against.
    FiniteDifference,
}

impl NewtonJacobian {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Conditions {
    /// Whether the Newton iteration takes its Jacobian from sensitivities.
    pub(crate) fn newton_sensitivities(&self) -> bool {
        self.jacobian == NewtonJacobian::Sensitivity
    }
}

impl Default for Conditions {
    fn default() -> Self {
        Self {
            temperature: 298.15,
            polarisation: Polarisation::Off,
            activity: Activity::Ideal,
            scheme: PoreScheme::Ode,
            bulk_dielectric: WATER_PERMITTIVITY,
            tolerance: 1e-9,
            max_iterations: 50,
            jacobian: NewtonJacobian::Sensitivity,
        }
    }
}

impl Conditions {
    /// These conditions at temperature `t` (K): the temperature set and the bulk permittivity
    /// scaled by the temperature dependence of water's (Malmberg & Maryott 1956, via
    /// [`ion_species::water::relative_permittivity`]), eps_b(T) = eps_b eps_w(T) / eps_w(T0),
    /// T0 these conditions' temperature. The ions' diffusivities are scaled separately
    /// ([`ion_species::Ion::at_temperature`]) since they belong to the feed.
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        use ion_species::water::relative_permittivity;
        let ratio = relative_permittivity(t)? / relative_permittivity(self.temperature)?;
        let c = Self {
            temperature: t,
            bulk_dielectric: self.bulk_dielectric * ratio,
            ..self.clone()
        };
        c.validate()?;
        Ok(c)
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = crate::error::invalid;
        if !(self.temperature.is_finite() && (250.0..=400.0).contains(&self.temperature)) {
            return bad("temperature", self.temperature, "must be in [250, 400] K");
        }
        if let Polarisation::Film { thickness } = self.polarisation
            && !(thickness.is_finite() && thickness > 0.0 && thickness < 1e-2)
        {
            return bad(
                "film thickness",
                thickness,
                "must be in (0, 1 cm), in metres",
            );
        }
        if let PoreScheme::Elements(n) = self.scheme
            && (n == 0 || n > 10_000)
        {
            return bad("elements", n as f64, "must be 1..=10000");
        }
        if !(self.bulk_dielectric.is_finite() && self.bulk_dielectric >= 1.0) {
            return bad("bulk_dielectric", self.bulk_dielectric, "must be >= 1");
        }
        if !(self.tolerance > 0.0 && self.tolerance < 1e-2) {
            return bad("tolerance", self.tolerance, "must be in (0, 0.01)");
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", 0.0, "must be > 0");
        }
        Ok(())
    }
}
