//! The fitted membrane's uncertainty as parameter samples, for prediction intervals
//! ([`crate::interval`]).
//!
//! Where the fit is well determined (no parameter at a bound, every correlation within
//! ±[`LAPLACE_MAX_CORRELATION`], every standard error finite) the samples come from the
//! Laplace approximation: a Gaussian around the optimum with the covariance of the fit's
//! Jacobian, in the coordinates the fit reports its errors in (logarithms of r_p, Δx/A_k and
//! ε_p; X and b as they are). Elsewhere that Gaussian is wrong (it spills over the bound, or
//! follows a ridge as a straight line), and the samples come from the posterior itself: an
//! affine-invariant ensemble sampler (Goodman & Weare, Commun. Appl. Math. Comput. Sci. 5
//! (2010) 65, the "stretch move" with a = 2, as in emcee) with a flat prior on the fit's
//! parameter box and a Gaussian likelihood of the rejection residuals whose variance is the
//! fit's SSR / (n − p).
//!
//! Every random draw takes the seed of [`SamplingOptions`]; draws are made serially and the
//! model is evaluated in parallel, so the samples do not depend on the number of threads.

use crate::error::{Result, TransportError};
use crate::fit::{
    Box, FitOptions, FitResult, RejectionMeasurement, membrane_of, names, physical_box, residuals,
};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Largest |correlation| between two fitted parameters for which the Laplace approximation
/// is used.
pub const LAPLACE_MAX_CORRELATION: f64 = 0.99;

/// How the samples were drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplingMethod {
    /// From the Gaussian of the Laplace approximation.
    Laplace,
    /// By the affine-invariant ensemble sampler.
    Ensemble,
}

/// The fitted parameters' uncertainty and the rejections' scatter around the fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterSamples {
    /// How they were drawn.
    pub method: SamplingMethod,
    /// Why that method (e.g. "pore_radius at a bound").
    pub reason: String,
    /// The parameters' names, the order of every sample (as in [`FitResult::parameters`]).
    pub parameters: Vec<String>,
    /// Samples in natural units: r_p and Δx/A_k in m, the charge (X_d, or X_ref of the
    /// isotherm) in mol/m³, b and ε_p dimensionless.
    pub samples: Vec<Vec<f64>>,
    /// Scatter of the measured rejections around the fit, per measured ion: its RMSE scaled
    /// by sqrt(n / (n − p)) for the p fitted parameters.
    pub residual_sd: Vec<(String, f64)>,
    /// The same over every ion (used for ions the fit had no rejection of).
    pub pooled_sd: f64,
    /// Seed of the draws.
    pub seed: u64,
    /// Model evaluations spent (0 for the Laplace approximation).
    pub evaluations: usize,
    /// Share of accepted proposals of the ensemble sampler (None for Laplace).
    pub acceptance: Option<f64>,
}

/// How many samples, and how the ensemble sampler runs where it is needed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingOptions {
    /// Samples kept (the ensemble's draws are thinned to at most this many).
    pub samples: usize,
    /// Walkers of the ensemble sampler (at least 2 × parameters + 2, even; 0: 4 × parameters,
    /// at least 12).
    pub walkers: usize,
    /// Ensemble steps discarded while the walkers spread from the optimum.
    pub burn_in: usize,
    /// Ensemble steps kept.
    pub steps: usize,
    /// Seed of every draw.
    pub seed: u64,
    /// Use the ensemble sampler even where the Laplace approximation holds (for checks).
    pub force_ensemble: bool,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        Self {
            samples: 200,
            walkers: 0,
            burn_in: 30,
            steps: 30,
            seed: 0,
            force_ensemble: false,
        }
    }
}

/// The fitted parameter vector in natural units, in the order of [`names`].
fn optimum(fit: &FitResult) -> Vec<f64> {
    fit.parameters
        .iter()
        .map(|n| crate::parameters::parameter_value(&fit.membrane, n).map_or(f64::NAN, |(v, _)| v))
        .collect()
}

/// Residual scatter per measured ion and pooled (see [`ParameterSamples::residual_sd`]).
fn residual_scatter(data: &[RejectionMeasurement], fit: &FitResult) -> (Vec<(String, f64)>, f64) {
    let mut per_ion: Vec<(String, f64, usize)> = Vec::new();
    let ions = data
        .iter()
        .flat_map(|m| m.rejections.iter().map(|(n, _)| n));
    for (ion, r) in ions.zip(&fit.residuals) {
        match per_ion.iter_mut().find(|(n, _, _)| n == ion) {
            Some(e) => {
                e.1 += r * r;
                e.2 += 1;
            }
            None => per_ion.push((ion.clone(), r * r, 1)),
        }
    }
    let n = fit.residuals.len() as f64;
    let dof = (n / (n - fit.parameters.len() as f64)).sqrt();
    let pooled = fit.rmse * dof;
    let per_ion = per_ion
        .into_iter()
        .map(|(ion, ss, k)| (ion, (ss / k as f64).sqrt() * dof))
        .collect();
    (per_ion, pooled)
}

/// Why the Laplace approximation does not describe this fit, or None where it does.
fn laplace_unfit(fit: &FitResult, se: &[f64]) -> Option<String> {
    if !fit.at_bound.is_empty() {
        return Some(format!("at a bound: {}", fit.at_bound.join(", ")));
    }
    if let Some(k) = se.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        return Some(format!("no finite standard error of {}", fit.parameters[k]));
    }
    let p = fit.parameters.len();
    for i in 0..p {
        for j in 0..i {
            let c = fit.correlation[i][j];
            if c.is_nan() || c.abs() > LAPLACE_MAX_CORRELATION {
                return Some(format!(
                    "correlation {c:.4} between {} and {} beyond ±{LAPLACE_MAX_CORRELATION}",
                    fit.parameters[i], fit.parameters[j]
                ));
            }
        }
    }
    None
}

/// Samples of the parameters of `fit`, the result of [`crate::fit`] on `data` with `opts`
/// (see the module documentation for the method).
pub fn sample_parameters(
    data: &[RejectionMeasurement],
    opts: &FitOptions,
    fit: &FitResult,
    sampling: &SamplingOptions,
) -> Result<ParameterSamples> {
    if names(opts) != fit.parameters {
        return Err(TransportError::Fit(format!(
            "the fit's parameters ({}) are not those of the options ({})",
            fit.parameters.join(", "),
            names(opts).join(", ")
        )));
    }
    if sampling.samples == 0 {
        return Err(TransportError::Fit("0 samples asked for".into()));
    }
    let bounds = physical_box(data, opts)?;
    let x0 = optimum(fit);
    let se = fit.standard_errors.clone();
    let (residual_sd, pooled_sd) = residual_scatter(data, fit);
    let unfit = laplace_unfit(fit, &se);
    let (method, reason, samples, evaluations, acceptance) = match unfit {
        None if !sampling.force_ensemble => {
            let samples = laplace(fit, &bounds, &x0, &se, sampling)?;
            let reason = "every parameter inside its bounds, correlations within ±0.99".into();
            (SamplingMethod::Laplace, reason, samples, 0, None)
        }
        why => {
            let reason = why.unwrap_or_else(|| "asked for".into());
            let e = ensemble(data, opts, fit, &bounds, &x0, &se, sampling)?;
            let (samples, evaluations, acceptance) = e;
            (
                SamplingMethod::Ensemble,
                reason,
                samples,
                evaluations,
                Some(acceptance),
            )
        }
    };
    Ok(ParameterSamples {
        method,
        reason,
        parameters: fit.parameters.iter().map(|n| n.to_string()).collect(),
        samples,
        residual_sd,
        pooled_sd,
        seed: sampling.seed,
        evaluations,
        acceptance,
    })
}

fn inside(bounds: &Box, x: &[f64]) -> bool {
    x.iter()
        .zip(&bounds.ranges)
        .all(|(v, &(lo, hi, _))| v.is_finite() && *v >= lo && *v <= hi)
}

/// Draws from the Laplace approximation, truncated to the parameter box.
fn laplace(
    fit: &FitResult,
    bounds: &Box,
    x0: &[f64],
    se: &[f64],
    sampling: &SamplingOptions,
) -> Result<Vec<Vec<f64>>> {
    let p = x0.len();
    let scales: Vec<Option<f64>> = fit
        .parameters
        .iter()
        .map(|n| crate::parameters::scale_of(n))
        .collect();
    let se_v: Vec<f64> = (0..p)
        .map(|i| match scales[i] {
            Some(s) => se[i] / s,
            None => se[i] / x0[i],
        })
        .collect();
    let cov = DMatrix::from_fn(p, p, |i, j| fit.correlation[i][j] * se_v[i] * se_v[j]);
    let chol = cov.cholesky().ok_or_else(|| {
        TransportError::Fit("the fit's covariance is not positive definite".into())
    })?;
    let l = chol.l();
    let mut rng = ChaCha8Rng::seed_from_u64(sampling.seed);
    let mut out = Vec::with_capacity(sampling.samples);
    // A Gaussian that fits (no bound, no ridge) loses little to the box; the cap only stops
    // a pathological covariance from looping.
    for _ in 0..100 * sampling.samples {
        if out.len() == sampling.samples {
            break;
        }
        let z: Vec<f64> = (0..p).map(|_| rng.sample(StandardNormal)).collect();
        let x: Vec<f64> = (0..p)
            .map(|i| {
                let dv: f64 = (0..=i).map(|j| l[(i, j)] * z[j]).sum();
                match scales[i] {
                    Some(s) => x0[i] + s * dv,
                    None => x0[i] * dv.exp(),
                }
            })
            .collect();
        if inside(bounds, &x) {
            out.push(x);
        }
    }
    if out.len() < sampling.samples {
        return Err(TransportError::Fit(format!(
            "the Laplace approximation put only {} of {} draws inside the parameter bounds",
            out.len(),
            100 * sampling.samples
        )));
    }
    Ok(out)
}

/// The sampler's coordinates: logarithms for logarithmic box ranges, values otherwise.
fn to_u(bounds: &Box, x: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(&bounds.ranges)
        .map(|(v, &(_, _, log))| if log { v.ln() } else { *v })
        .collect()
}

fn to_x(bounds: &Box, u: &[f64]) -> Vec<f64> {
    u.iter()
        .zip(&bounds.ranges)
        .map(|(v, &(_, _, log))| if log { v.exp() } else { *v })
        .collect()
}

/// The stretch-move ensemble sampler: (samples, evaluations, acceptance).
fn ensemble(
    data: &[RejectionMeasurement],
    opts: &FitOptions,
    fit: &FitResult,
    bounds: &Box,
    x0: &[f64],
    se: &[f64],
    sampling: &SamplingOptions,
) -> Result<(Vec<Vec<f64>>, usize, f64)> {
    let p = x0.len();
    let n = fit.residuals.len();
    let walkers = match sampling.walkers {
        0 => (4 * p).max(12),
        w => w.max(2 * p + 2),
    };
    let walkers = walkers + walkers % 2;
    let variance = (fit.rmse * fit.rmse * n as f64 / (n - p) as f64).max(1e-12);
    let log_post = |u: &[f64]| -> f64 {
        let x = to_x(bounds, u);
        if !inside(bounds, &x) {
            return f64::NEG_INFINITY;
        }
        match membrane_of(opts, &x).and_then(|m| residuals(data, &m, &opts.conditions)) {
            Ok(r) => -r.iter().map(|v| v * v).sum::<f64>() / (2.0 * variance),
            Err(_) => f64::NEG_INFINITY,
        }
    };
    // The walkers start in a small cloud around the optimum (its standard error where that
    // is finite, at most 2 % of the range), inside the box.
    let mut rng = ChaCha8Rng::seed_from_u64(sampling.seed);
    let u0 = to_u(bounds, x0);
    let (lo, hi): (Vec<f64>, Vec<f64>) = bounds
        .ranges
        .iter()
        .map(|&(lo, hi, log)| if log { (lo.ln(), hi.ln()) } else { (lo, hi) })
        .unzip();
    let width: Vec<f64> = (0..p)
        .map(|i| {
            let range = hi[i] - lo[i];
            let se_u = if bounds.ranges[i].2 {
                se[i] / x0[i]
            } else {
                se[i]
            };
            let w = if se_u.is_finite() && se_u > 0.0 {
                se_u.min(0.02 * range)
            } else {
                0.02 * range
            };
            w.max(1e-4 * range)
        })
        .collect();
    let mut pos: Vec<Vec<f64>> = (0..walkers)
        .map(|_| {
            (0..p)
                .map(|i| {
                    let z: f64 = rng.sample(StandardNormal);
                    let margin = 1e-6 * (hi[i] - lo[i]);
                    (u0[i] + width[i] * z).clamp(lo[i] + margin, hi[i] - margin)
                })
                .collect()
        })
        .collect();
    let mut lp: Vec<f64> = pos.par_iter().map(|u| log_post(u)).collect();
    let mut evaluations = walkers;
    if lp.iter().all(|v| !v.is_finite()) {
        return Err(TransportError::Fit(
            "the ensemble sampler found no solvable membrane around the optimum".into(),
        ));
    }
    let a: f64 = 2.0;
    let half = walkers / 2;
    let mut kept: Vec<Vec<f64>> = Vec::new();
    let (mut accepted, mut proposed) = (0usize, 0usize);
    for step in 0..sampling.burn_in + sampling.steps {
        for part in 0..2 {
            let active: Vec<usize> = (part * half..(part + 1) * half).collect();
            let other = (1 - part) * half;
            // Draws first, serially, so that the result does not depend on the threads.
            let moves: Vec<(usize, f64, f64)> = active
                .iter()
                .map(|_| {
                    let j = other + rng.random_range(0..half);
                    let z = ((a - 1.0) * rng.random::<f64>() + 1.0).powi(2) / a;
                    let log_u = rng.random::<f64>().ln();
                    (j, z, log_u)
                })
                .collect();
            let proposals: Vec<Vec<f64>> = active
                .iter()
                .zip(&moves)
                .map(|(&k, &(j, z, _))| {
                    (0..p)
                        .map(|i| pos[j][i] + z * (pos[k][i] - pos[j][i]))
                        .collect()
                })
                .collect();
            let lp_new: Vec<f64> = proposals.par_iter().map(|u| log_post(u)).collect();
            evaluations += proposals.len();
            for (((&k, &(_, z, log_u)), y), l) in
                active.iter().zip(&moves).zip(proposals).zip(lp_new)
            {
                proposed += 1;
                let log_ratio = (p as f64 - 1.0) * z.ln() + l - lp[k];
                if l.is_finite() && (!lp[k].is_finite() || log_u < log_ratio) {
                    pos[k] = y;
                    lp[k] = l;
                    accepted += 1;
                }
            }
        }
        if step >= sampling.burn_in {
            kept.extend(
                pos.iter()
                    .zip(&lp)
                    .filter(|(_, l)| l.is_finite())
                    .map(|(u, _)| to_x(bounds, u)),
            );
        }
    }
    if kept.is_empty() {
        return Err(TransportError::Fit(
            "the ensemble sampler kept no draw (no step after the burn-in)".into(),
        ));
    }
    let stride = kept.len().div_ceil(sampling.samples).max(1);
    let samples = kept.into_iter().step_by(stride).collect();
    Ok((
        samples,
        evaluations,
        accepted as f64 / proposed.max(1) as f64,
    ))
}
