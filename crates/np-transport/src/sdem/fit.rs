//! Fitting SDEM permeances to measured rejections: the bounded multi-start least squares of
//! [`crate::fit`] in ln P_i, with a report of which permeances the data determine.

use super::Sdem;
use crate::error::{Result, TransportError};
use crate::fit::{
    Box, RejectionMeasurement, check_measurements, residuals_with, search, uncertainty,
};
use crate::model::{ChargeModel, Conditions};
use nalgebra::DVector;

/// How [`fit_sdem`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SdemFitOptions {
    /// Temperature, film and numerical choices of the fitted model. Intrinsic rejections need
    /// conditions without a film.
    pub conditions: Conditions,
    /// Interval every permeance stays in, m/s (default 1e-10 to 1e-3).
    pub bounds: (f64, f64),
    /// Residual evaluations per start (default 400).
    pub max_evaluations: usize,
    /// Which form of the model is fitted (default [`SdemForm::Full`]).
    pub form: SdemForm,
    /// What the residuals measure (default [`SdemResidual::LogTransmission`]).
    pub residual: SdemResidual,
    /// Also fit a constant fixed charge X (mol/m^3, [`Sdem::charge`]) within these bounds
    /// (default None: uncharged). Only with [`SdemForm::Full`].
    pub charge: Option<(f64, f64)>,
}

/// The residual a fit minimises the squares of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SdemResidual {
    /// R_model − R_measured, as the DSPM-DE fit: near R = 1 it hardly sees the permeate,
    /// so it leaves the permeance of a well-rejected ion (sulfate) loose.
    Rejection,
    /// ln(1 − R_measured) − ln(1 − R_model): the relative error of the permeate, the
    /// reciprocal transmission f = 1/(1 − R) of the SDEM literature on a log scale. Every
    /// measured rejection must be below 1.
    #[default]
    LogTransmission,
}

/// The form of the SDEM a fit evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SdemForm {
    /// Every ion coupled through the field ([`Sdem::solve`]).
    #[default]
    Full,
    /// The trace-ion closed forms ([`Sdem::solve_trace_limit`]): the analysis of
    /// Fernandez de Labastida & Yaroshchuk (2021), exact only while the other ions carry a
    /// negligible share of the current.
    TraceIons,
}

impl SdemFitOptions {
    /// Defaults under `conditions`.
    pub fn new(conditions: Conditions) -> Self {
        Self {
            conditions,
            bounds: (1e-10, 1e-3),
            max_evaluations: 400,
            form: SdemForm::Full,
            residual: SdemResidual::LogTransmission,
            charge: None,
        }
    }
}

/// What the data say about one permeance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Determination {
    /// Inside its interval with a standard error of ln P below 1 (known within a factor e).
    Determined,
    /// Inside its interval, but ln P uncertain by more than 1: the data barely constrain it.
    Weak,
    /// At the interval's top: the data say only that the ion is at least this permeable (its
    /// rejection is set by the field of the others).
    LowerBoundOnly,
    /// At the interval's bottom: the data say only that the ion is at most this permeable.
    UpperBoundOnly,
}

/// One fitted permeance.
#[derive(Debug, Clone, PartialEq)]
pub struct PermeanceEstimate {
    /// Canonical ion name.
    pub ion: String,
    /// The fitted permeance, m/s.
    pub value: f64,
    /// Standard error of ln P (relative standard error of P); infinite at a bound or where
    /// J^T J is singular.
    pub ln_standard_error: f64,
    /// What the data determine.
    pub determination: Determination,
}

/// The outcome of [`fit_sdem`].
#[derive(Debug, Clone, PartialEq)]
pub struct SdemFit {
    /// The fitted model.
    pub model: Sdem,
    /// Every permeance, in the order the ions first appear in the feeds.
    pub permeances: Vec<PermeanceEstimate>,
    /// The fitted charge X (mol/m^3), its standard error, and whether it ended at a bound;
    /// None when no charge was fitted.
    pub charge: Option<(f64, f64, bool)>,
    /// Correlations between the parameters inside their interval (row-major, in the order
    /// of `permeances` (ln P), then X when fitted; 0 for those at a bound).
    pub correlation: Vec<Vec<f64>>,
    /// Root-mean-square residual (of the options' [`SdemResidual`]).
    pub rmse: f64,
    /// Root-mean-square rejection residual R_model − R_measured, whatever was minimised.
    pub rmse_rejection: f64,
    /// Residuals R_model − R_measured, in measurement order.
    pub residuals: Vec<f64>,
    /// Residual evaluations over all starts.
    pub evaluations: usize,
    /// Starting points tried, converged, and reaching the best fit.
    pub starts: (usize, usize, usize),
}

impl SdemFit {
    /// The fitted permeance of `ion` (canonical name), m/s.
    pub fn permeance(&self, ion: &str) -> Option<f64> {
        self.permeances
            .iter()
            .find(|p| p.ion == ion)
            .map(|p| p.value)
    }
}

/// Fits one permeance per ion of the feeds (m/s) to measured rejections (observed with a
/// film in the conditions, or intrinsic without), from five starts: all ions at 1e-7, 1e-6
/// and 1e-5 m/s, and cations ten times the anions and the reverse. Measurements at more than
/// one temperature are refused (permeances belong to one temperature).
///
/// Every permeance must be needed: the ions of the feeds, each of which needs a permeance to
/// solve, so the fit has as many parameters as the feeds have ions and needs more
/// observations than that.
pub fn fit_sdem(data: &[RejectionMeasurement], options: &SdemFitOptions) -> Result<SdemFit> {
    options.conditions.validate()?;
    check_measurements(data)?;
    let (lo, hi) = options.bounds;
    let (p_lo, p_hi) = super::PERMEANCE_RANGE;
    if !(lo.is_finite() && hi.is_finite() && p_lo <= lo && lo < hi && hi <= p_hi) {
        return Err(TransportError::Fit(format!(
            "permeance bounds [{lo:e}, {hi:e}] m/s must be an interval within [{p_lo:e}, {p_hi:e}] m/s"
        )));
    }
    if options.max_evaluations == 0 {
        return Err(TransportError::Fit(
            "max_evaluations is 0: the optimiser could not evaluate a single residual".into(),
        ));
    }
    let temperature = data.first().and_then(|m| m.temperature);
    if data.iter().any(|m| m.temperature != temperature) {
        return Err(TransportError::Fit(
            "the measurements are at more than one temperature; SDEM permeances belong to one temperature: fit each temperature separately".into(),
        ));
    }
    let mut conditions = options.conditions.clone();
    if let Some(t) = temperature {
        conditions.temperature = t;
    }
    for m in data {
        m.check_basis(&conditions)?;
    }
    let mut ions: Vec<(String, f64)> = Vec::new();
    for m in data {
        for (ion, c) in m.feed.iter() {
            if c > 0.0 && !ions.iter().any(|(n, _)| *n == ion.name) {
                ions.push((ion.name.clone(), ion.z()));
            }
        }
    }
    let n_obs: usize = data.iter().map(|m| m.rejections.len()).sum();
    let n_ion = ions.len();
    let n_par = n_ion + usize::from(options.charge.is_some());
    if n_obs <= n_par {
        return Err(TransportError::Fit(format!(
            "{n_obs} observations cannot determine {n_par} parameters (the permeances of {n_ion} ions{})",
            if options.charge.is_some() {
                " and a charge"
            } else {
                ""
            }
        )));
    }
    let mut names: Vec<String> = ions.iter().map(|(n, _)| format!("P({n})")).collect();
    let mut ranges = vec![(lo, hi, true); n_ion];
    if let Some((c_lo, c_hi)) = options.charge {
        if options.form == SdemForm::TraceIons {
            return Err(TransportError::Fit(
                "the trace-ion closed forms hold for an uncharged SDEM: fit a charge with SdemForm::Full".into(),
            ));
        }
        let m = crate::MAX_CHARGE_DENSITY;
        if !(c_lo.is_finite() && c_hi.is_finite() && -m <= c_lo && c_lo < c_hi && c_hi <= m) {
            return Err(TransportError::Fit(format!(
                "charge bounds [{c_lo}, {c_hi}] mol/m^3 must be an interval within [-{m}, {m}]"
            )));
        }
        names.push("X".into());
        ranges.push((c_lo, c_hi, false));
    }
    let n_par = ranges.len();
    if n_obs <= n_par {
        return Err(TransportError::Fit(format!(
            "{n_obs} observations cannot determine {n_par} parameters"
        )));
    }
    let bounds = Box { ranges };
    let model_of = |x: &[f64]| Sdem {
        permeances: ions
            .iter()
            .map(|(n, _)| n.clone())
            .zip(x.iter().copied())
            .collect(),
        charge: ChargeModel::Constant(x.get(n_ion).copied().unwrap_or(0.0)),
        conditions: conditions.clone(),
    };
    let measured: Vec<f64> = data
        .iter()
        .flat_map(|m| m.rejections.iter().map(|(_, r)| *r))
        .collect();
    if options.residual == SdemResidual::LogTransmission
        && let Some(r) = measured.iter().find(|r| **r >= 1.0)
    {
        return Err(TransportError::Fit(format!(
            "a measured rejection of {r} leaves no permeate to take the logarithm of: fit with SdemResidual::Rejection"
        )));
    }
    let eval = |x: &[f64]| {
        let model = model_of(x);
        let r = match options.form {
            SdemForm::Full => residuals_with(data, |m, fluxes| model.sweep(&m.feed, fluxes)),
            SdemForm::TraceIons => residuals_with(data, |m, fluxes| {
                fluxes
                    .iter()
                    .map(|&j| model.solve_trace_limit_unchecked(&m.feed, j))
                    .collect()
            }),
        }
        .ok()?;
        Some(match options.residual {
            SdemResidual::Rejection => r,
            SdemResidual::LogTransmission => r
                .iter()
                .zip(&measured)
                .map(|(d, m)| (1.0 - m).ln() - (1.0 - m - d).max(1e-300).ln())
                .collect(),
        })
    };
    let inside = |p: f64| p.clamp(lo * 1.001, hi * 0.999);
    let mut starts: Vec<Vec<f64>> = [1e-7, 1e-6, 1e-5]
        .iter()
        .map(|&p| vec![inside(p); n_ion])
        .collect();
    for (cation, anion) in [(1e-5, 1e-6), (1e-6, 1e-5)] {
        starts.push(
            ions.iter()
                .map(|(_, z)| inside(if *z > 0.0 { cation } else { anion }))
                .collect(),
        );
    }
    // With a charge: each start uncharged and at -50 mol/m^3 (NF270-like), inside the box.
    if let Some((c_lo, c_hi)) = options.charge {
        let margin = 1e-3 * (c_hi - c_lo);
        let clamp = |x: f64| x.clamp(c_lo + margin, c_hi - margin);
        starts = starts
            .into_iter()
            .flat_map(|s| {
                [0.0, -50.0].map(|x| {
                    let mut s = s.clone();
                    s.push(clamp(x));
                    s
                })
            })
            .collect();
    }
    let found = search(
        &eval,
        None,
        &bounds,
        n_obs,
        &starts,
        options.max_evaluations,
        &names,
    )?;
    let best = &found.best;
    let margin = bounds.margin(&best.x);
    let free: Vec<usize> = (0..n_par).filter(|&k| margin[k] >= 1e-3).collect();
    // Standard errors of the permeances inside their interval, those at a bound held: a
    // permeance at the top moves no residual, and would make J^T J singular.
    let mut se_all = vec![f64::INFINITY; n_par];
    let mut correlation = vec![vec![0.0; n_par]; n_par];
    if !free.is_empty() && n_obs > free.len() {
        let sub_eval = |y: &[f64]| {
            let mut x = best.x.clone();
            for (k, &i) in free.iter().enumerate() {
                x[i] = y[k];
            }
            eval(&x)
        };
        let y: Vec<f64> = free.iter().map(|&i| best.x[i]).collect();
        let sub_names: Vec<String> = free.iter().map(|&i| names[i].clone()).collect();
        // Permeances differenced in their logarithm, the charge linearly (scale 100).
        let kinds: Vec<Option<f64>> = free
            .iter()
            .map(|&i| (i >= n_ion).then_some(100.0))
            .collect();
        let r0 = DVector::from_column_slice(best.residuals.as_slice());
        if let Ok((se, corr)) = uncertainty(&sub_eval, &y, &r0, n_obs, &kinds, &sub_names) {
            for (k, &i) in free.iter().enumerate() {
                se_all[i] = se[k];
                for (l, &j) in free.iter().enumerate() {
                    correlation[i][j] = corr[k][l];
                }
            }
        }
    }
    // Back from the minimised residual to R_model − R_measured.
    let rejection_residuals: Vec<f64> = match options.residual {
        SdemResidual::Rejection => best.residuals.iter().copied().collect(),
        SdemResidual::LogTransmission => best
            .residuals
            .iter()
            .zip(&measured)
            .map(|(d, m)| (1.0 - m) * (1.0 - d.exp()))
            .collect(),
    };
    let permeances = ions
        .iter()
        .enumerate()
        .map(|(k, (ion, _))| {
            let x = best.x[k];
            let ln_se = se_all[k] / x;
            let determination = if margin[k] < 1e-3 {
                if (x.ln() - lo.ln()).abs() < (x.ln() - hi.ln()).abs() {
                    Determination::UpperBoundOnly
                } else {
                    Determination::LowerBoundOnly
                }
            } else if ln_se < 1.0 {
                Determination::Determined
            } else {
                Determination::Weak
            };
            PermeanceEstimate {
                ion: ion.clone(),
                value: x,
                ln_standard_error: ln_se,
                determination,
            }
        })
        .collect();
    Ok(SdemFit {
        model: model_of(&best.x),
        permeances,
        charge: options
            .charge
            .map(|_| (best.x[n_ion], se_all[n_ion], margin[n_ion] < 1e-3)),
        correlation,
        rmse: (best.ssr / n_obs as f64).sqrt(),
        rmse_rejection: (rejection_residuals.iter().map(|r| r * r).sum::<f64>() / n_obs as f64)
            .sqrt(),
        residuals: rejection_residuals,
        evaluations: found.evaluations,
        starts: (starts.len(), found.converged, found.agreeing),
    })
}
