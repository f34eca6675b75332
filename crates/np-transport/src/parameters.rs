//! The fitted parameters by name: the names a fit reports ([`crate::FitResult::parameters`]),
//! their values in a membrane, the scales their uncertainties are computed on, and a
//! membrane from a vector of them (the fit's trial points and parameter samples alike). The
//! fit, its identifiability, its samples and the prediction intervals read parameters
//! through this file.

use crate::error::{Result, TransportError};
use crate::model::{ChargeModel, Membrane};

/// Reference ionic strength of the fitted charge isotherm, mol/m³ (0.1 mol/L: mid-range of
/// nanofiltration feeds, so X_ref and b are nearly uncorrelated).
pub const ISOTHERM_REFERENCE: f64 = 100.0;

/// Prefix of the name of a fitted partition energy: `partition_energy:NO3-`.
pub const PARTITION_ENERGY: &str = "partition_energy:";
/// Prefix of a fitted descriptor weight's name: `energy_weight:<descriptor>` (kT per unit of
/// the [`crate::EnergyDescriptor`] named).
pub const ENERGY_WEIGHT: &str = "energy_weight:";
/// The form of a fitted charge isotherm ([`crate::FitOptions::charge_isotherm`]); both are written
/// with the charge X_ref at I_ref = [`ISOTHERM_REFERENCE`] as their first parameter (`charge`),
/// so that it is nearly uncorrelated with the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsothermForm {
    /// Freundlich, X_d = X_ref (I / I_ref)^b ([`ChargeModel::Freundlich`]); second parameter
    /// `charge_exponent` b (dimensionless).
    #[default]
    Freundlich,
    /// Langmuir, X_d = X_max I / (k + I) with X_max = X_ref (k + I_ref) / I_ref
    /// ([`ChargeModel::Langmuir`]); second parameter `charge_half_saturation` k (mol/m³).
    Langmuir,
}

impl IsothermForm {
    /// The name of the isotherm's second fitted parameter.
    pub fn shape_parameter(self) -> &'static str {
        match self {
            Self::Freundlich => "charge_exponent",
            Self::Langmuir => "charge_half_saturation",
        }
    }

    /// The isotherm with charge `x_ref` (mol/m³) at I_ref and second parameter `shape`.
    pub fn charge(self, x_ref: f64, shape: f64) -> ChargeModel {
        match self {
            Self::Freundlich => ChargeModel::Freundlich {
                a: x_ref / ISOTHERM_REFERENCE.powf(shape),
                b: shape,
            },
            Self::Langmuir => ChargeModel::Langmuir {
                x_max: x_ref * (shape + ISOTHERM_REFERENCE) / ISOTHERM_REFERENCE,
                k: shape,
            },
        }
    }
}

impl std::str::FromStr for IsothermForm {
    type Err = TransportError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "freundlich" => Ok(Self::Freundlich),
            "langmuir" => Ok(Self::Langmuir),
            _ => Err(TransportError::Fit(format!(
                "unknown isotherm form `{s}`: freundlich or langmuir"
            ))),
        }
    }
}

/// The value of the fitted parameter `name` (a name of [`crate::FitResult::parameters`]) in
/// `membrane`, and its unit: r_p and Δx/A_k in m, the charge (X_d, or X_ref of the isotherm)
/// in mol/m3, b and ε_p dimensionless, partition energies in kT. None for an unknown name.
pub fn parameter_value(membrane: &Membrane, name: &str) -> Option<(f64, &'static str)> {
    let m = membrane;
    Some(match name {
        "pore_radius" => (m.pore_radius, "m"),
        "effective_thickness" => (m.effective_thickness, "m"),
        "charge" => (m.charge.charge_density(ISOTHERM_REFERENCE), "mol/m3"),
        // A constant charge is either isotherm's limit: b = 0, k = 0.
        "charge_exponent" => match m.charge {
            ChargeModel::Freundlich { b, .. } => (b, "1"),
            _ => (0.0, "1"),
        },
        "charge_half_saturation" => match m.charge {
            ChargeModel::Langmuir { k, .. } => (k, "mol/m3"),
            _ => (0.0, "mol/m3"),
        },
        "pore_dielectric" => (m.pore_dielectric, "1"),
        // A charge without the multivalent terms is their limit: both 0.
        "charge_cations" | "charge_anions" => match m.charge {
            ChargeModel::Multivalent {
                cations, anions, ..
            } => (
                if name == "charge_cations" {
                    cations
                } else {
                    anions
                },
                "mol/m3",
            ),
            _ => (0.0, "mol/m3"),
        },
        n if n.starts_with(ENERGY_WEIGHT) => {
            let d = crate::EnergyDescriptor::parse(&n[ENERGY_WEIGHT.len()..])?;
            (
                m.partitioning
                    .descriptor_weights
                    .get(&d)
                    .copied()
                    .unwrap_or(0.0),
                "kT",
            )
        }
        _ => (
            m.partitioning.energy(name.strip_prefix(PARTITION_ENERGY)?),
            "kT",
        ),
    })
}

/// Whether a fitted parameter's uncertainty is computed on a log scale (None: r_p, Δx/A_k,
/// ε_p, the Langmuir k, all positive scales) or a linear one with its typical size (X:
/// 100 mol/m³, b: 1, partition energies: 1 kT).
pub(crate) fn scale_of(name: &str) -> Option<f64> {
    match name {
        "charge" | "charge_cations" | "charge_anions" => Some(100.0),
        "charge_exponent" => Some(1.0),
        n if n.starts_with(PARTITION_ENERGY) || n.starts_with(ENERGY_WEIGHT) => Some(1.0),
        _ => None,
    }
}

/// `base` with the named parameters set to `x` (names as [`crate::FitResult::parameters`]),
/// unvalidated: the one place a parameter vector becomes a membrane, for the fit's trial
/// points and for samples alike.
pub(crate) fn with_parameters(base: &Membrane, names: &[String], x: &[f64]) -> Result<Membrane> {
    if names.len() != x.len() {
        return Err(TransportError::Fit(format!(
            "a sample of {} values for {} parameters",
            x.len(),
            names.len()
        )));
    }
    let mut m = base.clone();
    let mut charge = None;
    let mut shape = None;
    let mut multivalent: (Option<f64>, Option<f64>) = (None, None);
    for (n, &v) in names.iter().zip(x) {
        match n.as_str() {
            "pore_radius" => m.pore_radius = v,
            "effective_thickness" => m.effective_thickness = v,
            "charge" => charge = Some(v),
            "charge_exponent" => shape = Some((IsothermForm::Freundlich, v)),
            "charge_half_saturation" => shape = Some((IsothermForm::Langmuir, v)),
            "pore_dielectric" => m.pore_dielectric = v,
            "charge_cations" => multivalent.0 = Some(v),
            "charge_anions" => multivalent.1 = Some(v),
            other if other.starts_with(ENERGY_WEIGHT) => {
                let d = crate::EnergyDescriptor::parse(&other[ENERGY_WEIGHT.len()..]).ok_or_else(
                    || TransportError::Fit(format!("unknown energy descriptor in `{other}`")),
                )?;
                m.partitioning.descriptor_weights.insert(d, v);
            }
            other if other.starts_with(PARTITION_ENERGY) => {
                let ion = &other[PARTITION_ENERGY.len()..];
                m.partitioning.energies.insert(ion.to_string(), v);
            }
            other => {
                return Err(TransportError::Fit(format!(
                    "unknown parameter `{other}` in a sample"
                )));
            }
        }
    }
    if multivalent != (None, None) {
        let (Some(x0), None) = (charge, shape) else {
            return Err(TransportError::Fit(
                "multivalent charge terms need the charge and no isotherm in a sample".into(),
            ));
        };
        let (old_c, old_a) = match base.charge {
            ChargeModel::Multivalent {
                cations, anions, ..
            } => (cations, anions),
            _ => (0.0, 0.0),
        };
        m.charge = ChargeModel::Multivalent {
            x0,
            cations: multivalent.0.unwrap_or(old_c),
            anions: multivalent.1.unwrap_or(old_a),
        };
        return Ok(m);
    }
    match (charge, shape) {
        (Some(x), Some((form, v))) => m.charge = form.charge(x, v),
        (Some(x), None) => m.charge = ChargeModel::Constant(x),
        (None, Some(_)) => {
            return Err(TransportError::Fit(
                "an isotherm parameter without the charge in a sample".into(),
            ));
        }
        (None, None) => {}
    }
    Ok(m)
}
