//! Derivatives of DSPM-DE rejections with respect to membrane parameters by the implicit
//! function theorem.
//!
//! A solved operating point is a root u* of the solver's residual r(u; p) = 0 (u = ln c_p,
//! n + 1 equations for n unknowns, consistent at the root; p the membrane parameters). Along
//! the root, dr = J du + (∂r/∂p) dp = 0, so du*/dp = -J⁺ ∂r/∂p with J = ∂r/∂u the Newton
//! Jacobian (from the pore integration's variational equations) and J⁺ its least-squares
//! inverse. ∂r/∂p is a central difference of the residual at the fixed root: one pore
//! integration per side, no Newton iterations. Against differencing whole solves this
//! saves the iterations and the noise of a tolerance-limited root (differences of two
//! roots converged to 1e-9 carry errors of 1e-9/h).

use crate::error::{Result, TransportError};
use crate::model::{ChargeModel, Membrane};
use crate::parameters::{
    ENERGY_WEIGHT, PARTITION_ENERGY, parameter_value, scale_of, with_parameters,
};
use crate::solver::{Dspmde, OperatingPoint, Prepared};
use ion_species::Composition;
use nalgebra::DMatrix;

/// An operating point with the derivatives of its rejections with respect to membrane
/// parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSensitivity {
    /// The solution.
    pub point: OperatingPoint,
    /// dR_i/dp_k: row i is the point's ion i (feed order), column k the parameter k of the
    /// call, in 1/(the parameter's SI unit: m for r_p and Δx/A_k, mol/m^3 for the charge,
    /// kT for a partition energy, 1 for b and ε_p).
    pub rejection: DMatrix<f64>,
}

/// Relative (log-scale parameters) or absolute (in units of the parameter's typical size)
/// step of the central difference of the residual. The residual at a fixed root is smooth
/// in p; its rounding error is ~1e-15, so h ~ 1e-5 balances truncation (h^2) and rounding
/// (1e-15/h) near 1e-10.
const STEP: f64 = 1e-5;

impl Dspmde {
    /// Solves a sweep over `fluxes` (m/s, non-decreasing) as [`Dspmde::sweep`] does, and at
    /// every point the derivatives of the rejections with respect to the named membrane
    /// `parameters` (names as [`crate::FitResult::parameters`]: `pore_radius`,
    /// `effective_thickness`, `charge` (X_d, or X_ref of an isotherm), `charge_exponent`,
    /// `charge_half_saturation`, `charge_cations`, `charge_anions`, `pore_dielectric`,
    /// `partition_energy:<ion>`, `energy_weight:<descriptor>`), by the
    /// implicit function theorem.
    ///
    /// Needs a single pore radius (no pore-size distribution). An unknown parameter name, an
    /// isotherm parameter of a membrane without that isotherm, or a singular Newton Jacobian
    /// at a point is a typed error.
    ///
    /// ```
    /// use ion_species::{Composition, IonRegistry};
    /// use np_transport::{Conditions, Dspmde, Membrane};
    /// let reg = IonRegistry::canonical();
    /// let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    /// let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    /// let s = model
    ///     .sweep_with_sensitivities(&feed, &[1e-5], &["charge"])
    ///     .unwrap();
    /// // A more negative charge (dX < 0) rejects NaCl more: dR/dX < 0.
    /// assert!(s[0].rejection[(0, 0)] < 0.0);
    /// ```
    pub fn sweep_with_sensitivities(
        &self,
        feed: &Composition,
        fluxes: &[f64],
        parameters: &[&str],
    ) -> Result<Vec<PointSensitivity>> {
        if self
            .membrane
            .pore_size_distribution
            .is_some_and(|d| d.sigma > 0.0 && d.nodes > 1)
        {
            return Err(TransportError::InvalidParameter {
                name: "pore_size_distribution",
                value: self
                    .membrane
                    .pore_size_distribution
                    .map_or(0.0, |d| d.sigma),
                reason: "rejection sensitivities need a single pore radius",
            });
        }
        let prep = self.prepare(feed)?;
        // Each parameter's step and the residual evaluators on either side of it.
        let mut sides = Vec::with_capacity(parameters.len());
        for name in parameters {
            let (value, _) =
                parameter_value(&self.membrane, name).ok_or_else(|| TransportError::Fit(format!(
                    "unknown parameter `{name}`: pore_radius, effective_thickness, charge, charge_exponent, charge_half_saturation, charge_cations, charge_anions, pore_dielectric, {PARTITION_ENERGY}<ion> or {ENERGY_WEIGHT}<descriptor>"
                )))?;
            check_isotherm_parameter(&self.membrane, name)?;
            let h = match scale_of(name) {
                Some(scale) => STEP * scale,
                None => STEP * value.abs(),
            };
            let side = |v: f64| -> Result<Prepared> {
                let m = perturbed(&self.membrane, name, v)?;
                Dspmde::new(m, self.conditions.clone())?.prepare(feed)
            };
            // At a parameter's limit (a fit's optimum on its bound), one side is outside the
            // valid range: difference one-sidedly from the other.
            let (plus, minus) = (side(value + h), side(value - h));
            if let (Err(e), Err(_)) = (&plus, &minus) {
                return Err(e.clone());
            }
            sides.push(Side {
                h,
                plus: plus.ok(),
                minus: minus.ok(),
            });
        }
        let points = self.sweep(feed, fluxes)?;
        points
            .into_iter()
            .map(|point| {
                let rejection = prep.rejection_sensitivity(&point, &sides)?;
                Ok(PointSensitivity { point, rejection })
            })
            .collect()
    }
}

/// `base` with the parameter `name` set to `value`, every other parameter as it was (an
/// isotherm's charge and shape are set together, so that one does not reset the other).
fn perturbed(base: &Membrane, name: &str, value: f64) -> Result<Membrane> {
    let companions: &[&str] = match (name, base.charge) {
        ("charge", ChargeModel::Freundlich { .. }) => &["charge_exponent"],
        ("charge", ChargeModel::Langmuir { .. }) => &["charge_half_saturation"],
        ("charge", ChargeModel::Multivalent { .. }) => &["charge_cations", "charge_anions"],
        ("charge_exponent" | "charge_half_saturation" | "charge_cations" | "charge_anions", _) => {
            &["charge"]
        }
        _ => &[],
    };
    let mut names = vec![name.to_string()];
    let mut values = vec![value];
    for c in companions {
        names.push(c.to_string());
        values.push(parameter_value(base, c).map_or(0.0, |(v, _)| v));
    }
    with_parameters(base, &names, &values)
}

/// An isotherm's shape parameter is a parameter only of a membrane with that isotherm.
fn check_isotherm_parameter(m: &Membrane, name: &str) -> Result<()> {
    let ok = match name {
        "charge_exponent" => matches!(m.charge, ChargeModel::Freundlich { .. }),
        "charge_half_saturation" => matches!(m.charge, ChargeModel::Langmuir { .. }),
        "charge_cations" | "charge_anions" => matches!(m.charge, ChargeModel::Multivalent { .. }),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(TransportError::Fit(format!(
            "`{name}` is not a parameter of this membrane's charge ({}): it has no such isotherm",
            m.charge
        )))
    }
}

/// A parameter's difference step and the feed prepared at p + h and p - h (None where
/// that side is outside the parameter's valid range).
struct Side {
    h: f64,
    plus: Option<Prepared>,
    minus: Option<Prepared>,
}

impl Prepared {
    /// dR/dp at a solved `point` of this feed; `sides` holds per parameter its step and the
    /// feed prepared on either side.
    fn rejection_sensitivity(
        &self,
        point: &OperatingPoint,
        sides: &[Side],
    ) -> Result<DMatrix<f64>> {
        let n = self.z.len();
        let mut out = DMatrix::zeros(n, sides.len());
        // At J_v = 0 the permeate is the feed whatever the membrane: R = 0 identically.
        if point.flux == 0.0 {
            return Ok(out);
        }
        let jv = point.flux;
        let u: Vec<f64> = point.permeate.iter().map(|c| c.ln()).collect();
        let mut r = vec![0.0; n + 1];
        let mut jac = DMatrix::zeros(n + 1, n);
        self.residual_at(jv, &u, &mut r, Some(&mut jac))?;
        let mut dr_dp = DMatrix::zeros(n + 1, sides.len());
        let (mut rp, mut rm) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        for (k, side) in sides.iter().enumerate() {
            let mut span = 0.0;
            match &side.plus {
                Some(plus) => {
                    plus.residual_at(jv, &u, &mut rp, None)?;
                    span += side.h;
                }
                None => rp.copy_from_slice(&r),
            }
            match &side.minus {
                Some(minus) => {
                    minus.residual_at(jv, &u, &mut rm, None)?;
                    span += side.h;
                }
                None => rm.copy_from_slice(&r),
            }
            for i in 0..=n {
                dr_dp[(i, k)] = (rp[i] - rm[i]) / span;
            }
        }
        // du/dp = -J⁺ dr/dp: the least-squares solution of the consistent (n + 1) × n system.
        let svd = jac.svd(true, true);
        let singular = svd.singular_values.max() * 1e-13;
        let du = svd
            .solve(&(-dr_dp), singular)
            .map_err(|e| TransportError::NotConverged {
                flux: jv,
                iterations: 0,
                residual: f64::NAN,
                reason: format!("the Newton Jacobian cannot be inverted for sensitivities: {e}"),
            })?;
        if svd.singular_values.min() <= singular {
            return Err(TransportError::NotConverged {
                flux: jv,
                iterations: 0,
                residual: f64::NAN,
                reason: "singular Newton Jacobian at the root: the rejections' sensitivities are undefined".into(),
            });
        }
        // R_i = 1 - c_p,i / c_f,i = 1 - e^{u_i} / c_f,i.
        for i in 0..n {
            let ratio = point.permeate[i] / self.cf[i];
            for k in 0..sides.len() {
                out[(i, k)] = -ratio * du[(i, k)];
            }
        }
        Ok(out)
    }
}
