//! Fitting membrane parameters to measured rejections by bounded, multi-start nonlinear least
//! squares.
//!
//! Real data often pull an unbounded optimiser into regions where the model has no solution
//! (a pore smaller than the largest ion) or no physical meaning (a pore permittivity above the
//! bulk's). Here every parameter lives in an interval — the pore radius at least the largest
//! Stokes radius / 0.95 (λ ≤ 0.95, the hindrance correlation's range), Δx/A_k > 0,
//! 1 ≤ ε_p ≤ ε_b, and any narrower bounds the user gives — through a logistic map from an
//! unbounded variable, so Levenberg–Marquardt never proposes an infeasible point. A trial point
//! at which the DSPM-DE cannot be solved is given a large residual, so the optimiser rejects
//! it as a step and shrinks its trust region instead of aborting. The fit runs from several
//! starting points (the user's membrane and a documented grid, [`Starts::Grid`]), keeps the best
//! and reports how many starts reached it; it fails only if no start converges.

use crate::error::{Result, TransportError};
use crate::hindrance::LAMBDA_MAX;
use crate::model::{ChargeModel, Conditions, Membrane};
use crate::parameters::{
    ENERGY_WEIGHT, ISOTHERM_REFERENCE, IsothermForm, PARTITION_ENERGY, parameter_value, scale_of,
};
use crate::solver::{Dspmde, OperatingPoint};
use ion_species::Composition;
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Owned};
use rayon::prelude::*;
use std::borrow::Cow;

/// One measured operating point: a feed, a water flux (m/s) and the rejections of some of its
/// ions (by canonical ion name), observed or intrinsic, at the conditions' temperature or
/// its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectionMeasurement {
    /// Feed composition (electroneutral).
    pub feed: Composition,
    /// Water flux J_v, m/s.
    pub flux: f64,
    /// (ion name, rejection: observed 1 - c_p / c_f, or intrinsic 1 - c_p / c_m; see `basis`).
    pub rejections: Vec<(String, f64)>,
    /// Temperature of the measurement, K; None: the conditions' temperature. Otherwise the
    /// model runs at [`Conditions::at_temperature`] with diffusivities scaled by
    /// [`ion_species::Ion::at_temperature`].
    pub temperature: Option<f64>,
    /// Observed or intrinsic rejections. Intrinsic ones (relative to the membrane wall) are
    /// compared with the pore model alone, so they require conditions without a polarisation
    /// film (the feed is then the wall concentration).
    pub basis: crate::data::RejectionBasis,
}

impl RejectionMeasurement {
    /// An observed-rejection measurement at the conditions' temperature.
    pub fn observed(feed: Composition, flux: f64, rejections: Vec<(String, f64)>) -> Self {
        Self {
            feed,
            flux,
            rejections,
            temperature: None,
            basis: crate::data::RejectionBasis::Observed,
        }
    }

    /// Errors for intrinsic rejections compared with a model under a polarisation film (they
    /// say nothing about the film).
    pub fn check_basis(&self, conditions: &Conditions) -> Result<()> {
        if self.basis == crate::data::RejectionBasis::Intrinsic
            && conditions.polarisation != crate::model::Polarisation::Off
        {
            return Err(TransportError::Fit(
                "intrinsic rejections (relative to the membrane wall) cannot be compared with a model that has a polarisation film: fit with Polarisation::Off (the feed then stands for the wall concentration), or give observed rejections".into(),
            ));
        }
        Ok(())
    }

    /// The model and feed this measurement is compared with: `model` itself, or at the
    /// measurement's own temperature. Errors for intrinsic rejections under a polarisation
    /// film (they say nothing about the film) and for temperatures outside the water
    /// correlations.
    pub fn model_and_feed<'a>(
        &'a self,
        model: &'a Dspmde,
    ) -> Result<(Cow<'a, Dspmde>, Cow<'a, Composition>)> {
        self.check_basis(&model.conditions)?;
        match self.temperature {
            Some(t) if t != model.conditions.temperature => Ok((
                Cow::Owned(model.at_temperature(t)?),
                Cow::Owned(self.feed.at_temperature(t)?),
            )),
            // The common case borrows: residuals are evaluated thousands of times in a fit.
            _ => Ok((Cow::Borrowed(model), Cow::Borrowed(&self.feed))),
        }
    }
}

/// Intervals the fitted parameters must stay in. The defaults are wide; the fit narrows them
/// further to what the physics allows (pore radius ≥ largest Stokes radius / 0.95,
/// ε_p ≤ the bulk permittivity of the conditions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitBounds {
    /// Pore radius, m (default 0.1–5 nm).
    pub pore_radius: (f64, f64),
    /// Δx/A_k, m (default 10 nm – 1 mm).
    pub effective_thickness: (f64, f64),
    /// X_d, mol/m³ (default −2000…+2000).
    pub charge: (f64, f64),
    /// ε_p (default 1…ε_b).
    pub pore_dielectric: (f64, f64),
    /// Freundlich exponent b of the charge isotherm, when fitted (default 0…1.5; never outside
    /// [0, 2], the exponents a membrane may have).
    pub charge_exponent: (f64, f64),
    /// Half-saturation ionic strength k of a Langmuir charge isotherm, mol/m³, when fitted
    /// (default 1…1e4, logarithmic; never outside [`crate::LANGMUIR_K_RANGE`]).
    pub charge_half_saturation: (f64, f64),
    /// Extra partition energy of each ion whose energy is fitted, kT (default −8…8).
    pub partition_energy: (f64, f64),
    /// Weight of each fitted energy descriptor, kT per unit (default −8…8; never beyond
    /// ±[`crate::MAX_DESCRIPTOR_WEIGHT`]).
    pub energy_weight: (f64, f64),
}

impl Default for FitBounds {
    fn default() -> Self {
        Self {
            pore_radius: (0.1e-9, 5e-9),
            effective_thickness: (1e-8, 1e-3),
            charge: (-2000.0, 2000.0),
            pore_dielectric: (1.0, f64::INFINITY),
            charge_exponent: (0.0, 1.5),
            charge_half_saturation: (1.0, 1e4),
            partition_energy: (-8.0, 8.0),
            energy_weight: (-8.0, 8.0),
        }
    }
}

/// Where the optimiser starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Starts {
    /// Only the initial membrane.
    Initial,
    /// The initial membrane, then a grid of 9: pore radius at 1.05, 1.3 and 1.8 × its
    /// lower bound (the largest Stokes radius / 0.95 unless the user's bound is higher) ×
    /// X_d ∈ {−60, −10, +20} mol/m³, with Δx/A_k and ε_p of the initial membrane; all
    /// moved into the bounds.
    #[default]
    Grid,
    /// The initial membrane, then these (moved into the bounds).
    These(Vec<Membrane>),
}

/// Which parameters to fit, within which bounds, and where to start.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Starting membrane (constant charge, or a Freundlich isotherm when `charge_isotherm`).
    /// Parameters not fitted keep their values.
    pub initial: Membrane,
    /// Conditions of the measurements.
    pub conditions: Conditions,
    /// Also fit the pore dielectric constant.
    pub fit_dielectric: bool,
    /// Fit the charge as a Freundlich isotherm X_d = X_ref (I / I_ref)^b of the feed ionic
    /// strength I (I_ref = [`ISOTHERM_REFERENCE`]; Bowen & Mukhtar 1996) instead of a constant:
    /// X_ref takes the place of X_d and b is one more parameter. [`Self::isotherm_form`] picks
    /// the Langmuir form instead.
    pub charge_isotherm: bool,
    /// The form of the isotherm when `charge_isotherm` (default Freundlich).
    pub isotherm_form: IsothermForm,
    /// Fit the charge as [`ChargeModel::Multivalent`], X_d = x0 + cations f2+ + anions f2-
    /// of the feed's multivalent shares, instead of a constant: x0 takes the place of X_d
    /// (`charge`), and `charge_cations` and `charge_anions` (mol/m³, within the charge's
    /// bounds) are two more parameters. Not with `charge_isotherm`.
    pub charge_multivalent: bool,
    /// Ions (canonical names) whose extra partition energy E_i (kT,
    /// [`crate::Partitioning::energies`]) is fitted, each one more parameter named
    /// `partition_energy:<ion>`. Each must be measured; the Born radius is the initial
    /// membrane's ([`crate::BornRadius`]).
    pub partition_energies: Vec<String>,
    /// Descriptors whose weights are fitted ([`crate::Partitioning::descriptor_weights`]),
    /// each one more parameter named `energy_weight:<descriptor>`: a partition energy for every
    /// ion as a linear function of its own properties, so that what the measured ions teach
    /// applies to any ion. Every ion of the data needs each descriptor's property.
    pub energy_descriptors: Vec<crate::EnergyDescriptor>,
    /// With `true` (the default) a fit whose parameters the data do not determine (singular
    /// J^T J at the optimum) is an error; with `false` it is returned with NaN standard errors
    /// and correlations, for studies that compare predictions whatever the identifiability.
    pub require_identifiable: bool,
    /// Maximum residual evaluations of the optimiser per start (each solves every
    /// measurement).
    pub max_evaluations: usize,
    /// Parameter bounds.
    pub bounds: FitBounds,
    /// Starting points.
    pub starts: Starts,
    /// How the optimiser gets the residuals' Jacobian.
    pub jacobian: FitJacobian,
}

/// How a DSPM-DE fit gets d(residual)/d(parameter) for its Levenberg-Marquardt steps.
///
/// Both reach the same optimum on well-posed data (within 1 % of a standard error,
/// tests/fitting.rs). On the FdL file's 10-start fit the implicit Jacobian takes 0.65× the
/// time (`cargo bench -p np-transport --bench fit -- multi-start`: 1.31 s against 2.01 s).
/// With an exact gradient the search stops at MINPACK's ftol (sqrt(eps)): with the
/// optimiser's default (30 eps) it crawled along the flat valleys of ill-posed fits until it
/// lost patience (one leave-one-feed-out fold: 340 evaluations against 27). Differences stay
/// the default so that every committed table of fitted results stays reproducible to the
/// digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FitJacobian {
    /// By the implicit function theorem at each solved point
    /// ([`Dspmde::sweep_with_sensitivities`]): one sweep plus one residual pair per parameter
    /// and point, agreeing with differences of whole solves to ~1e-7 relative. A membrane with
    /// a pore-size distribution has none and falls back to differences.
    Implicit,
    /// Forward differences of whole sweeps (one sweep per parameter, steps of 3e-5 in the
    /// optimiser's variables).
    #[default]
    Differences,
}

impl FitOptions {
    /// Options with default bounds, the grid of starts, ε_p fixed and 400 evaluations per
    /// start.
    pub fn new(initial: Membrane, conditions: Conditions) -> Self {
        Self {
            initial,
            conditions,
            fit_dielectric: false,
            charge_isotherm: false,
            isotherm_form: IsothermForm::Freundlich,
            charge_multivalent: false,
            partition_energies: Vec::new(),
            energy_descriptors: Vec::new(),
            require_identifiable: true,
            max_evaluations: 400,
            bounds: FitBounds::default(),
            starts: Starts::Grid,
            jacobian: FitJacobian::default(),
        }
    }
}

/// Fitted parameters with standard errors and correlations from the Jacobian at the optimum
/// (covariance sigma^2 (J^T J)^-1, sigma^2 = SSR / (m - p), in the natural parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// The fitted membrane.
    pub membrane: Membrane,
    /// Standard error of the pore radius, m.
    pub se_pore_radius: f64,
    /// Standard error of Delta x / A_k, m.
    pub se_effective_thickness: f64,
    /// Standard error of X_d, mol/m^3.
    pub se_charge: f64,
    /// Standard error of epsilon_p, when fitted.
    pub se_pore_dielectric: Option<f64>,
    /// Standard error of the Freundlich exponent b, when the isotherm is fitted (then
    /// `se_charge` is that of X_ref, the charge at I_ref).
    pub se_charge_exponent: Option<f64>,
    /// Names of the fitted parameters, in the order of [`Self::correlation`] (see
    /// [`FitResult::value`] for each one's unit).
    pub parameters: Vec<String>,
    /// Standard error of each fitted parameter, in the order of [`Self::parameters`].
    pub standard_errors: Vec<f64>,
    /// Correlation matrix of the fitted parameters (row-major, p × p).
    pub correlation: Vec<Vec<f64>>,
    /// Parameters that ended within 0.1 % (of the interval) of a bound: their standard
    /// errors describe the unconstrained curvature only.
    pub at_bound: Vec<String>,
    /// Root-mean-square rejection residual.
    pub rmse: f64,
    /// Residuals (model - measured), in measurement order.
    pub residuals: Vec<f64>,
    /// Number of residual evaluations over all starts.
    pub evaluations: usize,
    /// Starting points tried.
    pub starts: usize,
    /// Starts whose optimiser converged.
    pub converged_starts: usize,
    /// Converged starts that reached the best fit (SSR within 1 % and every parameter within
    /// 2 % of its interval).
    pub agreeing_starts: usize,
}

/// Largest Freundlich exponent a membrane may have ([`Membrane::validate`]).
const MAX_CHARGE_EXPONENT: f64 = 2.0;

/// Names of the fitted parameters, in fitting order: r_p, Δx/A_k, the charge (X_d, or X_ref of
/// the isotherm), then b of the isotherm, ε_p and the partition energies when fitted.
pub(crate) fn names(opts: &FitOptions) -> Vec<String> {
    let mut v = vec!["pore_radius", "effective_thickness", "charge"];
    if opts.charge_isotherm {
        v.push(opts.isotherm_form.shape_parameter());
    }
    if opts.fit_dielectric {
        v.push("pore_dielectric");
    }
    let mut v: Vec<String> = v.into_iter().map(String::from).collect();
    v.extend(
        opts.partition_energies
            .iter()
            .map(|ion| format!("{PARTITION_ENERGY}{ion}")),
    );
    v.extend(
        opts.energy_descriptors
            .iter()
            .map(|d| format!("{ENERGY_WEIGHT}{}", d.name())),
    );
    if opts.charge_multivalent {
        v.extend(["charge_cations".to_string(), "charge_anions".to_string()]);
    }
    v
}

impl FitResult {
    /// What the data determine, per fitted parameter (in the order of
    /// [`Self::parameters`]; see [`crate::identify`]).
    pub fn identifiability(&self) -> Vec<crate::identify::Identification> {
        let values: Vec<f64> = self
            .parameters
            .iter()
            .map(|n| parameter_value(&self.membrane, n).map_or(f64::NAN, |(v, _)| v))
            .collect();
        let at_bound: Vec<bool> = self
            .parameters
            .iter()
            .map(|n| self.at_bound.contains(n))
            .collect();
        crate::identify::identification(
            &self.parameters,
            &values,
            &self.standard_errors,
            &at_bound,
            &self.correlation,
        )
    }

    /// The fitted value, standard error and unit of parameter `name`, or None if it was not
    /// fitted.
    pub fn value(&self, name: &str) -> Option<(f64, f64, &'static str)> {
        let k = self.parameters.iter().position(|n| n == name)?;
        let (v, unit) = parameter_value(&self.membrane, name)?;
        Some((v, self.standard_errors[k], unit))
    }
}

/// The value of the second parameter at which the isotherm `form` is (nearly) a constant
/// charge: b = 0 exactly, or k at the lower end of its interval.
fn constant_limit(form: IsothermForm, bounds: &FitBounds) -> f64 {
    match form {
        IsothermForm::Freundlich => 0.0,
        IsothermForm::Langmuir => bounds.charge_half_saturation.0,
    }
}

/// Index of ε_p among the fitted parameters.
fn dielectric_index(opts: &FitOptions) -> usize {
    3 + usize::from(opts.charge_isotherm)
}

/// Residual given to every observation when the model cannot be solved at a trial point:
/// far above any rejection error (|R| ≤ a few), so the step is always rejected.
const INFEASIBLE_RESIDUAL: f64 = 10.0;

/// The parameter intervals after the physics limits: (lo, hi, logarithmic) per parameter.
#[derive(Debug, Clone)]
pub(crate) struct Box {
    pub(crate) ranges: Vec<(f64, f64, bool)>,
}

impl Box {
    fn to_natural(&self, theta: &DVector<f64>) -> Vec<f64> {
        theta
            .iter()
            .zip(&self.ranges)
            .map(|(t, &(lo, hi, log))| {
                let s = 1.0 / (1.0 + (-t).exp());
                if log {
                    (lo.ln() + (hi.ln() - lo.ln()) * s).exp()
                } else {
                    lo + (hi - lo) * s
                }
            })
            .collect()
    }

    /// dx/dtheta of [`Box::to_natural`] per variable: (hi - lo) s (1 - s), times x ln(hi/lo)
    /// / (hi - lo) on a log scale, s the logistic of theta.
    fn natural_slope(&self, theta: &DVector<f64>) -> Vec<f64> {
        let x = self.to_natural(theta);
        theta
            .iter()
            .zip(&self.ranges)
            .zip(x)
            .map(|((t, &(lo, hi, log)), x)| {
                let s = 1.0 / (1.0 + (-t).exp());
                let ds = s * (1.0 - s);
                if log {
                    x * (hi.ln() - lo.ln()) * ds
                } else {
                    (hi - lo) * ds
                }
            })
            .collect()
    }

    fn to_theta(&self, x: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            x.len(),
            x.iter().zip(&self.ranges).map(|(v, &(lo, hi, log))| {
                let f = if log {
                    (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
                } else {
                    (v - lo) / (hi - lo)
                };
                let f = f.clamp(1e-6, 1.0 - 1e-6);
                (f / (1.0 - f)).ln()
            }),
        )
    }

    /// Fraction of the interval from the nearer bound (0 = at a bound).
    pub(crate) fn margin(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.ranges)
            .map(|(v, &(lo, hi, log))| {
                let f = if log {
                    (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
                } else {
                    (v - lo) / (hi - lo)
                };
                f.min(1.0 - f)
            })
            .collect()
    }
}

/// Residuals of a model at natural parameters x (in a [`Box`]), or None where the model
/// cannot be solved there. Every fit of this crate (DSPM-DE, SDEM) searches through one.
pub(crate) type Evaluate<'a> = dyn Fn(&[f64]) -> Option<Vec<f64>> + Sync + 'a;

/// d(residuals)/d(natural parameters) of a model at x, or None where it has none there
/// (the fit then differences [`Evaluate`]).
pub(crate) type Jacobian<'a> = dyn Fn(&[f64]) -> Option<DMatrix<f64>> + Sync + 'a;

/// The least-squares problem in unbounded variables theta (logistic maps onto the box).
struct Problem<'a> {
    eval: &'a Evaluate<'a>,
    jacobian: Option<&'a Jacobian<'a>>,
    bounds: &'a Box,
    n_obs: usize,
    theta: DVector<f64>,
    residuals: Option<DVector<f64>>,
    evaluations: usize,
}

/// The membrane at natural parameters `x` (in the order of [`names`]).
pub(crate) fn membrane_of(opts: &FitOptions, x: &[f64]) -> Result<Membrane> {
    crate::parameters::with_parameters(&opts.initial, &names(opts), x)
}

impl Problem<'_> {
    /// Residuals at theta, or None where the model cannot be solved.
    fn solve(&mut self, theta: &DVector<f64>) -> Option<DVector<f64>> {
        self.evaluations += 1;
        (self.eval)(&self.bounds.to_natural(theta)).map(DVector::from_vec)
    }
}

/// Largest measured rejection a fit accepts: 1 plus room for measurement noise.
const MAX_NOISY_REJECTION: f64 = 1.1;

/// Checks the measurements before any solve, so that bad input is named rather than
/// surfacing as "no start converged" minutes later: fluxes in (0, MAX_FLUX], rejections
/// finite in [MIN_REJECTION, 1.1] of ions in the feed, each ion once, temperatures in range,
/// feeds electroneutral.
pub(crate) fn check_measurements(data: &[RejectionMeasurement]) -> Result<()> {
    let (t_lo, t_hi) = ion_species::water::TEMPERATURE_RANGE;
    for (k, m) in data.iter().enumerate() {
        let bad = |why: String| TransportError::Fit(format!("measurement {k}: {why}"));
        if !(m.flux.is_finite() && m.flux > 0.0 && m.flux <= crate::MAX_FLUX) {
            return Err(bad(format!(
                "flux {:e} m/s must be in (0, {:e}] m/s (a zero flux carries no information; above the cap, a unit slip)",
                m.flux,
                crate::MAX_FLUX
            )));
        }
        if let Some(t) = m.temperature
            && !(t.is_finite() && (t_lo..=t_hi).contains(&t))
        {
            return Err(bad(format!("temperature {t} K is outside {t_lo}-{t_hi} K")));
        }
        m.feed
            .check_electroneutral(ion_species::DEFAULT_NEUTRALITY_TOL)
            .map_err(|e| bad(e.to_string()))?;
        if m.rejections.is_empty() {
            return Err(bad("no rejection measured".into()));
        }
        for (j, (ion, r)) in m.rejections.iter().enumerate() {
            if !m.feed.get(ion).is_some_and(|c| c > 0.0) {
                return Err(bad(format!(
                    "a rejection of {ion}, which is not in its feed (every observation must be of a feed ion)"
                )));
            }
            if m.rejections[..j].iter().any(|(other, _)| other == ion) {
                return Err(bad(format!("{ion} is measured twice")));
            }
            // Noise may lift a rejection near 1 slightly above it (sulfate at 0.998 +- 0.005);
            // far above, or below MIN_REJECTION, it is a slip.
            if !(r.is_finite() && (crate::units::MIN_REJECTION..=MAX_NOISY_REJECTION).contains(r)) {
                return Err(bad(format!(
                    "rejection {r} of {ion} is not finite or outside [{}, {MAX_NOISY_REJECTION}] (a fraction, not a percentage)",
                    crate::units::MIN_REJECTION
                )));
            }
        }
    }
    Ok(())
}

/// Residuals model - measured for every (measurement, ion), in order.
///
/// Measurements of one feed (same composition, temperature and basis) are solved as one
/// sweep over their sorted fluxes, each point started from the previous one: a fit
/// evaluates this thousands of times, and the warm start saves most Newton iterations.
pub fn residuals(
    data: &[RejectionMeasurement],
    membrane: &Membrane,
    conditions: &Conditions,
) -> Result<Vec<f64>> {
    let model = Dspmde::new(membrane.clone(), conditions.clone())?;
    residuals_with(data, |m, fluxes| {
        let (model, feed) = m.model_and_feed(&model)?;
        model.sweep(&feed, fluxes)
    })
}

/// Residuals model - measured for every (measurement, ion), in order, with any transport
/// model: `sweep(first measurement of a feed, its sorted fluxes)` solves one feed's points.
pub(crate) fn residuals_with(
    data: &[RejectionMeasurement],
    sweep: impl Fn(&RejectionMeasurement, &[f64]) -> Result<Vec<OperatingPoint>> + Sync,
) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    per_observation(data, sweep, |p| p, |p, i, r| out.push(p.rejection[i] - r))?;
    Ok(out)
}

/// d(residual)/d(parameter) of the DSPM-DE for every (measurement, ion) in the order of
/// [`residuals`], by the implicit function theorem
/// ([`Dspmde::sweep_with_sensitivities`]): one row per observation, one column per name.
pub(crate) fn residual_jacobian(
    data: &[RejectionMeasurement],
    membrane: &Membrane,
    conditions: &Conditions,
    names: &[String],
) -> Result<DMatrix<f64>> {
    let model = Dspmde::new(membrane.clone(), conditions.clone())?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut rows: Vec<f64> = Vec::new();
    per_observation(
        data,
        |m, fluxes| {
            let (model, feed) = m.model_and_feed(&model)?;
            model.sweep_with_sensitivities(&feed, fluxes, &names)
        },
        |s| &s.point,
        |s, i, _| rows.extend(s.rejection.row(i).iter()),
    )?;
    Ok(DMatrix::from_row_slice(
        rows.len() / names.len().max(1),
        names.len(),
        &rows,
    ))
}

/// Solves the measurements feed by feed (each feed's points as one sweep over its sorted
/// fluxes, feeds in parallel) and calls `row(solution, ion index, measured R)` for every
/// (measurement, ion) in the data's order.
fn per_observation<P: Send>(
    data: &[RejectionMeasurement],
    sweep: impl Fn(&RejectionMeasurement, &[f64]) -> Result<Vec<P>> + Sync,
    point: impl Fn(&P) -> &OperatingPoint,
    mut row: impl FnMut(&P, usize, f64),
) -> Result<()> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (k, m) in data.iter().enumerate() {
        let same = |g: &Vec<usize>| {
            let first = &data[g[0]];
            first.feed == m.feed && first.temperature == m.temperature && first.basis == m.basis
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(k),
            None => groups.push(vec![k]),
        }
    }
    let solved: Vec<Vec<(usize, P)>> = groups
        .into_par_iter()
        .map(|mut g| {
            g.sort_by(|&a, &b| data[a].flux.total_cmp(&data[b].flux));
            let fluxes: Vec<f64> = g.iter().map(|&k| data[k].flux).collect();
            let points = sweep(&data[g[0]], &fluxes)?;
            Ok(g.into_iter().zip(points).collect())
        })
        .collect::<Result<_>>()?;
    let mut points: Vec<Option<P>> = (0..data.len()).map(|_| None).collect();
    for (k, p) in solved.into_iter().flatten() {
        points[k] = Some(p);
    }
    for (m, p) in data.iter().zip(points) {
        let p = p.expect("every measurement is in a group");
        for (ion, r) in &m.rejections {
            let idx = point(&p)
                .ions
                .iter()
                .position(|n| n == ion)
                .ok_or_else(|| {
                    TransportError::Fit(format!(
                        "measured ion {ion} is not in the feed of that measurement"
                    ))
                })?;
            row(&p, idx, *r);
        }
    }
    Ok(())
}

/// How [`jacobian_fd`] differences.
#[derive(Clone, Copy, PartialEq)]
enum Differences {
    /// One solve per variable, error O(h): enough to steer the optimiser, at half the cost.
    Forward,
    /// Two solves per variable, error O(h^2): for the standard errors.
    Central,
}

/// Forward or central (or, next to an unsolvable point, one-sided) differences of the
/// residuals with respect to the variables `v`; None if the model cannot be solved on
/// either side of some variable.
fn jacobian_fd(
    r0: &DVector<f64>,
    v: &DVector<f64>,
    h: &[f64],
    differences: Differences,
    mut eval: impl FnMut(&DVector<f64>) -> Option<DVector<f64>>,
) -> Option<DMatrix<f64>> {
    let mut jac = DMatrix::zeros(r0.len(), v.len());
    for j in 0..v.len() {
        let mut vp = v.clone();
        vp[j] += h[j];
        let mut vm = v.clone();
        vm[j] -= h[j];
        let plus = eval(&vp);
        let minus = if differences == Differences::Central || plus.is_none() {
            eval(&vm)
        } else {
            None
        };
        let col = match (plus, minus) {
            (Some(rp), Some(rm)) => (rp - rm) / (2.0 * h[j]),
            (Some(rp), None) => (rp - r0) / h[j],
            (None, Some(rm)) => (r0 - rm) / h[j],
            (None, None) => return None,
        };
        jac.set_column(j, &col);
    }
    Some(jac)
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.theta = x.clone();
        let theta = self.theta.clone();
        // An unsolvable trial point gets a large residual: the optimiser rejects the step.
        self.residuals = Some(
            self.solve(&theta)
                .unwrap_or_else(|| DVector::from_element(self.n_obs, INFEASIBLE_RESIDUAL)),
        );
    }

    fn params(&self) -> DVector<f64> {
        self.theta.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        self.residuals.clone()
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let r0 = self.residuals.clone()?;
        if let Some(jac) = self
            .jacobian
            .and_then(|j| j(&self.bounds.to_natural(&self.theta)))
        {
            let mut jac = jac;
            for (mut col, slope) in jac
                .column_iter_mut()
                .zip(self.bounds.natural_slope(&self.theta))
            {
                col *= slope;
            }
            return Some(jac);
        }
        let mut probe = Problem {
            eval: self.eval,
            jacobian: None,
            bounds: self.bounds,
            n_obs: self.n_obs,
            theta: self.theta.clone(),
            residuals: None,
            evaluations: 0,
        };
        // The solver is converged to 1e-9, so forward steps of 3e-5 give ~1e-4 relative
        // accuracy: ample for the search direction (the standard errors use central ones).
        let h = vec![3e-5; self.theta.len()];
        jacobian_fd(&r0, &self.theta, &h, Differences::Forward, |t| {
            probe.solve(t)
        })
    }
}

/// One start's outcome.
pub(crate) struct Run {
    pub(crate) x: Vec<f64>,
    pub(crate) residuals: DVector<f64>,
    pub(crate) ssr: f64,
    pub(crate) evaluations: usize,
}

/// Whether `data` can determine a Freundlich charge isotherm X_d = X_ref (I/I_ref)^b: it
/// needs feeds of at least two ionic strengths (at one, X_ref and b trade off exactly).
pub fn isotherm_identifiable(data: &[RejectionMeasurement]) -> bool {
    let strengths: Vec<f64> = data.iter().map(|m| m.feed.ionic_strength()).collect();
    strengths
        .iter()
        .any(|i| (i - strengths[0]).abs() > 1e-6 * strengths[0].abs().max(1e-12))
}

/// Exponents b the isotherm fit of [`fit_isotherm`] starts from besides the constant-charge
/// optimum (b = 0): one start inside the interval, on the other core of a 2-core machine.
pub const ISOTHERM_START_EXPONENTS: [f64; 1] = [0.5];

/// Half-saturation ionic strengths k (mol/m³) a Langmuir fit of [`fit_isotherm`] starts from
/// besides the constant-charge optimum: k = I_ref, half-saturated at the reference.
pub const ISOTHERM_START_HALF_SATURATIONS: [f64; 1] = [ISOTHERM_REFERENCE];

/// Fits a charge isotherm of `opts.isotherm_form` (Freundlich X_d = X_ref (I / I_ref)^b or
/// Langmuir X_d = X_max I/(k + I)) on top of `constant`, the constant-charge fit of the same
/// data with the same options: from its optimum (the isotherm's constant limit, so the result
/// is at least as good a fit, to within k's lower bound for Langmuir) and from each of
/// [`ISOTHERM_START_EXPONENTS`] (or [`ISOTHERM_START_HALF_SATURATIONS`]) with the same charge at
/// I_ref; the best is kept. Data of one ionic strength cannot determine an isotherm: then the
/// constant fit is returned unchanged. The one implementation of `fit --isotherm`, the hybrid's
/// backbone and cross-validation's isotherm.
pub fn fit_isotherm(
    data: &[RejectionMeasurement],
    opts: &FitOptions,
    constant: &FitResult,
) -> Result<FitResult> {
    if !isotherm_identifiable(data) {
        return Ok(constant.clone());
    }
    let ChargeModel::Constant(x_ref) = constant.membrane.charge else {
        return Err(TransportError::Fit(
            "fit_isotherm starts from a constant-charge fit".into(),
        ));
    };
    let form = opts.isotherm_form;
    let shapes: &[f64] = match form {
        IsothermForm::Freundlich => &ISOTHERM_START_EXPONENTS,
        IsothermForm::Langmuir => &ISOTHERM_START_HALF_SATURATIONS,
    };
    let starts = shapes
        .iter()
        .map(|&shape| Membrane {
            charge: form.charge(x_ref, shape),
            ..constant.membrane.clone()
        })
        .collect();
    let opts = FitOptions {
        initial: constant.membrane.clone(),
        charge_isotherm: true,
        starts: Starts::These(starts),
        ..opts.clone()
    };
    fit(data, &opts)
}

/// Fits r_p, Δx/A_k, X_d (and optionally ε_p) to measured rejections, within bounds, from
/// several starting points (see the module documentation). A charge isotherm needs feeds
/// of two ionic strengths or more ([`isotherm_identifiable`]).
pub fn fit(data: &[RejectionMeasurement], opts: &FitOptions) -> Result<FitResult> {
    if opts.charge_isotherm && !data.is_empty() && !isotherm_identifiable(data) {
        return Err(TransportError::Fit(
            "a charge isotherm X_d(I) needs feeds of at least two ionic strengths, and every feed of these data has the same one: fit a constant charge".into(),
        ));
    }
    if opts.charge_isotherm && opts.charge_multivalent {
        return Err(TransportError::Fit(
            "charge_isotherm and charge_multivalent are two forms of the charge: choose one".into(),
        ));
    }
    opts.initial.validate()?;
    opts.conditions.validate()?;
    check_measurements(data)?;
    if opts.max_evaluations == 0 {
        return Err(TransportError::Fit(
            "max_evaluations is 0: the optimiser could not evaluate a single residual".into(),
        ));
    }
    check_partition_energies(data, opts)?;
    let n_obs: usize = data.iter().map(|m| m.rejections.len()).sum();
    let names = names(opts);
    let n_par = names.len();
    if n_obs <= n_par {
        return Err(TransportError::Fit(format!(
            "{n_obs} observations cannot determine {n_par} parameters"
        )));
    }
    let bounds = physical_box(data, opts)?;
    let initial = parameters_of(opts, &opts.initial)?;
    let starts = start_points(opts, &bounds, &initial)?;
    let eval = |x: &[f64]| {
        let m = membrane_of(opts, x).ok()?;
        residuals(data, &m, &opts.conditions).ok()
    };
    let jacobian = |x: &[f64]| {
        let m = membrane_of(opts, x).ok()?;
        residual_jacobian(data, &m, &opts.conditions, &names).ok()
    };
    let jacobian: Option<&Jacobian> = match opts.jacobian {
        FitJacobian::Implicit => Some(&jacobian),
        FitJacobian::Differences => None,
    };
    let found = search(
        &eval,
        jacobian,
        &bounds,
        n_obs,
        &starts,
        opts.max_evaluations,
        &names,
    )?;
    let best = &found.best;
    let margin_best = bounds.margin(&best.x);
    let kinds: Vec<Option<f64>> = names.iter().map(|n| scale_of(n)).collect();
    let (se, correlation) =
        match uncertainty(&eval, &best.x, &best.residuals, n_obs, &kinds, &names) {
            Err(_) if !opts.require_identifiable => {
                (vec![f64::NAN; n_par], vec![vec![f64::NAN; n_par]; n_par])
            }
            other => other?,
        };
    let membrane = membrane_of(opts, &best.x)?;
    let at_bound = margin_best
        .iter()
        .zip(&names)
        .filter(|(m, _)| **m < 1e-3)
        .map(|(_, n)| n.clone())
        .collect();
    Ok(FitResult {
        se_pore_radius: se[0],
        se_effective_thickness: se[1],
        se_charge: se[2],
        se_pore_dielectric: opts.fit_dielectric.then(|| se[dielectric_index(opts)]),
        se_charge_exponent: (opts.charge_isotherm
            && opts.isotherm_form == IsothermForm::Freundlich)
            .then(|| se[3]),
        standard_errors: se,
        parameters: names,
        correlation,
        at_bound,
        membrane,
        rmse: (best.ssr / n_obs as f64).sqrt(),
        residuals: best.residuals.iter().copied().collect(),
        evaluations: found.evaluations,
        starts: starts.len(),
        converged_starts: found.converged,
        agreeing_starts: found.agreeing,
    })
}

/// Each ion whose partition energy is fitted must be named once and measured: an energy of an
/// ion no residual sees is not identifiable (and a misspelt name would fit nothing).
///
/// Energies are also relative: a shift E_i = b z_i of every feed ion's energy is absorbed by
/// the Donnan potentials and changes no rejection, so at least one feed ion must keep its
/// energy fixed (a reference), or J^T J is singular. (A uniform shift is not degenerate: it
/// partitions the whole salt less or more.)
fn check_partition_energies(data: &[RejectionMeasurement], opts: &FitOptions) -> Result<()> {
    if !opts.partition_energies.is_empty()
        && data
            .iter()
            .flat_map(|m| m.feed.iter().filter(|(_, c)| *c > 0.0))
            .all(|(ion, _)| opts.partition_energies.contains(&ion.name))
    {
        return Err(TransportError::Fit(format!(
            "partition energies are relative (shifting every ion's by b z changes no rejection): leave at least one ion of the feeds fixed as the reference, not fit all of {}",
            opts.partition_energies.join(", ")
        )));
    }
    for (k, ion) in opts.partition_energies.iter().enumerate() {
        if opts.partition_energies[..k].contains(ion) {
            return Err(TransportError::Fit(format!(
                "the partition energy of {ion} is asked for twice"
            )));
        }
        if !data
            .iter()
            .any(|m| m.rejections.iter().any(|(n, _)| n == ion))
        {
            return Err(TransportError::Fit(format!(
                "the partition energy of {ion} cannot be fitted: no rejection of {ion} is measured (ions are named canonically, e.g. NO3-, SO4^2-)"
            )));
        }
    }
    for (k, d) in opts.energy_descriptors.iter().enumerate() {
        if opts.energy_descriptors[..k].contains(d) {
            return Err(TransportError::Fit(format!(
                "the energy descriptor {} is asked for twice",
                d.name()
            )));
        }
    }
    // Named now, not as "no start converged" after every trial solve failed.
    for d in &opts.energy_descriptors {
        for m in data {
            for (ion, _) in m.feed.iter().filter(|(_, c)| *c > 0.0) {
                d.value(ion)?;
            }
        }
    }
    Ok(())
}

/// The user's bounds narrowed to the physics: r_p ≥ largest Stokes radius / λ_max, ε_p within
/// [1, ε_b]; an empty interval is an error that names the parameter.
pub(crate) fn physical_box(data: &[RejectionMeasurement], opts: &FitOptions) -> Result<Box> {
    let b = &opts.bounds;
    let largest_ion = data
        .iter()
        .flat_map(|m| {
            m.feed
                .iter()
                .filter(|(_, c)| *c > 0.0)
                .map(|(i, _)| i.stokes_radius)
        })
        .fold(0.0f64, f64::max);
    // Just inside λ = LAMBDA_MAX, where the hindrance correlation still holds.
    let r_min = largest_ion / LAMBDA_MAX * (1.0 + 1e-6);
    let mut ranges = vec![
        (b.pore_radius.0.max(r_min), b.pore_radius.1, true),
        (
            b.effective_thickness.0.max(1e-12),
            b.effective_thickness.1,
            true,
        ),
        (b.charge.0, b.charge.1, false),
    ];
    if opts.charge_isotherm {
        // Within the exponents a membrane may have (Membrane::validate: [0, 2]): outside,
        // every trial point would be unsolvable, a hidden wall at which the fit stopped as if
        // at an interior optimum (b = 0 exactly, with a standard error) instead of at a bound.
        ranges.push(match opts.isotherm_form {
            IsothermForm::Freundlich => (
                b.charge_exponent.0.max(0.0),
                b.charge_exponent.1.min(MAX_CHARGE_EXPONENT),
                false,
            ),
            IsothermForm::Langmuir => (
                b.charge_half_saturation.0.max(crate::LANGMUIR_K_RANGE.0),
                b.charge_half_saturation.1.min(crate::LANGMUIR_K_RANGE.1),
                true,
            ),
        });
    }
    if opts.fit_dielectric {
        ranges.push((
            b.pore_dielectric.0.max(1.0),
            b.pore_dielectric.1.min(opts.conditions.bulk_dielectric),
            false,
        ));
    }
    for _ in &opts.partition_energies {
        ranges.push((
            b.partition_energy.0.max(-crate::MAX_PARTITION_ENERGY),
            b.partition_energy.1.min(crate::MAX_PARTITION_ENERGY),
            false,
        ));
    }
    for _ in &opts.energy_descriptors {
        ranges.push((
            b.energy_weight.0.max(-crate::MAX_DESCRIPTOR_WEIGHT),
            b.energy_weight.1.min(crate::MAX_DESCRIPTOR_WEIGHT),
            false,
        ));
    }
    if opts.charge_multivalent {
        for _ in 0..2 {
            ranges.push((
                b.charge.0.max(-crate::MAX_CHARGE_DENSITY),
                b.charge.1.min(crate::MAX_CHARGE_DENSITY),
                false,
            ));
        }
    }
    for (name, &(lo, hi, _)) in names(opts).iter().zip(&ranges) {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(TransportError::Fit(format!(
                "the bounds leave no room for {name}: [{lo:e}, {hi:e}] (the pore radius must \
                 exceed the largest Stokes radius / {LAMBDA_MAX}, ε_p must lie in [1, ε_b], a \
                 partition energy in ±{} kT)",
                crate::MAX_PARTITION_ENERGY
            )));
        }
    }
    Ok(Box { ranges })
}

/// The starting points of [`Starts`], each moved into the box.
fn start_points(opts: &FitOptions, bounds: &Box, initial: &[f64]) -> Result<Vec<Vec<f64>>> {
    let clamp = |x: Vec<f64>| -> Vec<f64> {
        x.iter()
            .zip(&bounds.ranges)
            .map(|(v, &(lo, hi, log))| {
                // Strictly inside, so the logistic map is finite.
                let (a, b) = if log {
                    (lo * (1.0 + 1e-3), hi * (1.0 - 1e-3))
                } else {
                    (lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo))
                };
                v.clamp(a, b)
            })
            .collect()
    };
    let mut out = vec![clamp(initial.to_vec())];
    match &opts.starts {
        Starts::Initial => {}
        Starts::Grid => {
            let r_lo = bounds.ranges[0].0;
            for f in [1.05, 1.3, 1.8] {
                for x in [-60.0, -10.0, 20.0] {
                    let mut p = initial.to_vec();
                    p[0] = r_lo * f;
                    p[2] = x;
                    out.push(clamp(p));
                }
            }
        }
        Starts::These(ms) => {
            for m in ms {
                out.push(clamp(parameters_of(opts, m)?));
            }
        }
    }
    Ok(out)
}

/// The natural parameters of membrane `m` in the order of [`names`]: the inverse of
/// [`membrane_of`]. A constant charge starts an isotherm fit at its constant limit; any other
/// mismatch of charge and options is an error.
fn parameters_of(opts: &FitOptions, m: &Membrane) -> Result<Vec<f64>> {
    let mut p = vec![
        m.pore_radius,
        m.effective_thickness,
        m.charge.charge_density(ISOTHERM_REFERENCE),
    ];
    match (opts.charge_isotherm, opts.isotherm_form, m.charge) {
        (false, _, ChargeModel::Constant(_)) => {}
        (false, _, ChargeModel::Multivalent { .. }) if opts.charge_multivalent => {}
        (true, form, ChargeModel::Constant(_)) => p.push(constant_limit(form, &opts.bounds)),
        (true, IsothermForm::Freundlich, ChargeModel::Freundlich { b, .. }) => p.push(b),
        (true, IsothermForm::Langmuir, ChargeModel::Langmuir { k, .. }) => p.push(k),
        (isotherm, form, charge) => {
            return Err(TransportError::Fit(format!(
                "a starting membrane with charge {charge} cannot start {}: start from a \
                 constant charge, or set charge_isotherm with the membrane's isotherm_form",
                if isotherm {
                    format!("a {form:?} isotherm fit")
                } else {
                    "a constant-charge fit".into()
                }
            )));
        }
    }
    if opts.fit_dielectric {
        p.push(m.pore_dielectric);
    }
    p.extend(
        opts.partition_energies
            .iter()
            .map(|ion| m.partitioning.energy(ion)),
    );
    p.extend(opts.energy_descriptors.iter().map(|d| {
        m.partitioning
            .descriptor_weights
            .get(d)
            .copied()
            .unwrap_or(0.0)
    }));
    if opts.charge_multivalent {
        for name in ["charge_cations", "charge_anions"] {
            p.push(parameter_value(m, name).map_or(0.0, |(v, _)| v));
        }
    }
    Ok(p)
}

/// What a multi-start search found: the best run, and how the starts went.
pub(crate) struct Search {
    pub(crate) best: Run,
    pub(crate) evaluations: usize,
    pub(crate) converged: usize,
    /// Converged starts that reached the best fit (SSR within 1 % and every parameter within
    /// 2 % of its interval).
    pub(crate) agreeing: usize,
}

/// Levenberg–Marquardt from every start (in parallel); the best converged run. Fails, naming
/// the bounds, when no start converges.
pub(crate) fn search(
    eval: &Evaluate,
    jacobian: Option<&Jacobian>,
    bounds: &Box,
    n_obs: usize,
    starts: &[Vec<f64>],
    max_evaluations: usize,
    names: &[String],
) -> Result<Search> {
    let runs: Vec<Option<Run>> = starts
        .par_iter()
        .map(|x| run(eval, jacobian, bounds, n_obs, x, max_evaluations))
        .collect();
    let evaluations: usize = runs.iter().flatten().map(|r| r.evaluations).sum();
    let converged: Vec<&Run> = runs.iter().flatten().collect();
    // Ties keep the earliest start, so the result does not depend on thread timing.
    let best = converged
        .iter()
        .copied()
        .reduce(|a, b| if b.ssr < a.ssr { b } else { a })
        .ok_or_else(|| {
            TransportError::Fit(format!(
                "no start converged ({} starts within the bounds {}); check the data, \
                 the conditions or widen the bounds",
                starts.len(),
                names
                    .iter()
                    .zip(&bounds.ranges)
                    .map(|(n, (lo, hi, _))| format!("{n} {lo:.3e}..{hi:.3e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let agreeing =
        converged
            .iter()
            .filter(|r| {
                r.ssr <= best.ssr * 1.01 + 1e-14
                    && r.x.iter().zip(&best.x).zip(&bounds.ranges).all(
                        |((a, b), &(lo, hi, log))| {
                            let d = if log {
                                (a.ln() - b.ln()).abs() / (hi.ln() - lo.ln())
                            } else {
                                (a - b).abs() / (hi - lo)
                            };
                            d < 0.02
                        },
                    )
            })
            .count();
    Ok(Search {
        best: Run {
            x: best.x.clone(),
            residuals: best.residuals.clone(),
            ssr: best.ssr,
            evaluations: best.evaluations,
        },
        evaluations,
        converged: converged.len(),
        agreeing,
    })
}

/// One Levenberg–Marquardt run from `x`; None if the model cannot be solved there or the
/// optimiser does not converge.
fn run(
    eval: &Evaluate,
    jacobian: Option<&Jacobian>,
    bounds: &Box,
    n_obs: usize,
    x: &[f64],
    max_evaluations: usize,
) -> Option<Run> {
    let theta0 = bounds.to_theta(x);
    let mut problem = Problem {
        eval,
        jacobian,
        bounds,
        n_obs,
        theta: theta0.clone(),
        residuals: None,
        evaluations: 0,
    };
    problem.solve(&theta0)?;
    problem.set_params(&theta0);
    let n_par = x.len();
    let mut lm = LevenbergMarquardt::new().with_patience(max_evaluations.max(10) / (n_par + 1));
    if jacobian.is_some() {
        // An exact Jacobian keeps the crate's default ftol (30 eps) from ever stopping a search
        // along a flat valley (it only loses patience); MINPACK's recommended tolerance
        // sqrt(eps) (More, Garbow & Hillstrom 1980, the `minpack-compat` default) stops where
        // a step lowers the squared residual by less than 1.5e-8 of itself.
        lm = lm.with_ftol(1.49012e-8);
    }
    let (problem, report) = lm.minimize(problem);
    if !report.termination.was_successful() {
        return None;
    }
    let theta = problem.theta.clone();
    let residuals = {
        let mut p = problem;
        p.solve(&theta)?
    };
    Some(Run {
        x: bounds.to_natural(&theta),
        ssr: residuals.norm_squared(),
        residuals,
        evaluations: report.number_of_evaluations,
    })
}

/// Standard errors and correlations of the parameters `x` from central differences of the
/// residuals, covariance sigma^2 (J^T J)^-1 with sigma^2 = SSR / (m - p). `kinds` says per
/// parameter how it is differenced: None, in its logarithm; Some(scale), linearly in x/scale.
/// A typed error names the parameters when J^T J is singular.
pub(crate) fn uncertainty(
    eval: &Evaluate,
    x: &[f64],
    r0: &DVector<f64>,
    n_obs: usize,
    kinds: &[Option<f64>],
    names: &[String],
) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let n_par = x.len();
    let to_x = |v: &DVector<f64>| -> Vec<f64> {
        v.iter()
            .zip(kinds)
            .map(|(t, k)| match k {
                Some(scale) => scale * t,
                None => t.exp(),
            })
            .collect()
    };
    let v = DVector::from_iterator(
        n_par,
        x.iter().zip(kinds).map(|(x, k)| match k {
            Some(scale) => x / scale,
            None => x.ln(),
        }),
    );
    let jac = jacobian_fd(r0, &v, &vec![1e-4; n_par], Differences::Central, |t| {
        eval(&to_x(t)).map(DVector::from_vec)
    })
    .ok_or_else(|| TransportError::Fit("Jacobian failed at the optimum".into()))?;
    let jtj = jac.transpose() * &jac;
    // Singular (or numerically so) J^T J: some parameter combination does not move any
    // residual, so the data cannot determine it.
    let scale = jtj.diagonal().max().max(f64::MIN_POSITIVE);
    let singular = jtj
        .clone()
        .symmetric_eigenvalues()
        .iter()
        .any(|e| *e <= 1e-12 * scale);
    let inverse = if singular { None } else { jtj.try_inverse() };
    let Some(inverse) = inverse else {
        return Err(TransportError::Fit(format!(
            "the parameters are not identifiable from these data (singular J^T J): the \
             rejections do not constrain {}; add fluxes, feeds or ions, or fix parameters",
            names.join(", ")
        )));
    };
    let cov = inverse * (r0.norm_squared() / (n_obs - n_par) as f64);
    let se_v: Vec<f64> = (0..n_par).map(|i| cov[(i, i)].max(0.0).sqrt()).collect();
    let se: Vec<f64> = (0..n_par)
        .map(|i| match kinds[i] {
            Some(scale) => scale * se_v[i],
            None => x[i] * se_v[i],
        })
        .collect();
    let correlation = (0..n_par)
        .map(|i| {
            (0..n_par)
                .map(|j| {
                    let d = se_v[i] * se_v[j];
                    if d > 0.0 { cov[(i, j)] / d } else { 0.0 }
                })
                .collect()
        })
        .collect();
    Ok((se, correlation))
}
