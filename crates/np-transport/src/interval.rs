//! Prediction intervals for rejections from a fitted membrane.
//!
//! A new measurement differs from the fitted membrane's prediction for two reasons: the
//! parameters are uncertain ([`crate::posterior`]: samples θ_s), and the model does not
//! describe the data exactly (the residual scatter σ_ion of the fit). The predictive
//! distribution of a rejection is then the mixture over the samples of N(R(θ_s), σ_ion²), and
//! the interval at level L runs from its (1 − L)/2 to its (1 + L)/2 quantile, capped at R = 1
//! (a permeate concentration is not negative). The scatter
//! assumes that new feeds are as well described as the fitted ones; `validate` measures how
//! often that holds on held-out feeds.

use crate::error::{Result, TransportError};
use crate::model::{Conditions, Membrane};
use crate::posterior::ParameterSamples;
use crate::solver::Dspmde;
use ion_species::Composition;
use rayon::prelude::*;

/// The central `level` interval of the mixture of N(c, sd²) over `draws` (equal weights);
/// with `sd` = 0, the empirical quantiles of the draws. Requires 0 < level < 1, finite draws
/// and sd ≥ 0.
///
/// ```
/// use np_transport::interval::mixture_interval;
/// // One draw: the Gaussian's own 90 % interval, ±1.645 sd.
/// let (lo, hi) = mixture_interval(&[0.5], 0.1, 0.9).unwrap();
/// assert!((hi - 0.5 - 0.164485).abs() < 1e-5 && (0.5 - lo - 0.164485).abs() < 1e-5);
/// ```
pub fn mixture_interval(draws: &[f64], sd: f64, level: f64) -> Result<(f64, f64)> {
    check_level(level)?;
    if draws.is_empty() || draws.iter().any(|d| !d.is_finite()) || !(sd >= 0.0 && sd.is_finite()) {
        return Err(TransportError::InvalidParameter {
            name: "interval draws",
            value: sd,
            reason: "need at least one finite draw and a finite scatter >= 0",
        });
    }
    let tail = (1.0 - level) / 2.0;
    if sd == 0.0 {
        let mut sorted = draws.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((q * (sorted.len() - 1) as f64).round()) as usize];
        return Ok((at(tail), at(1.0 - tail)));
    }
    let cdf = |x: f64| -> f64 {
        draws
            .iter()
            .map(|c| 0.5 * libm::erfc(-(x - c) / (sd * std::f64::consts::SQRT_2)))
            .sum::<f64>()
            / draws.len() as f64
    };
    let (min, max) = draws
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &d| {
            (a.min(d), b.max(d))
        });
    let quantile = |q: f64| -> f64 {
        // The mixture's quantiles lie within 10 sd of its extreme components.
        let (mut a, mut b) = (min - 10.0 * sd, max + 10.0 * sd);
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if cdf(m) < q {
                a = m
            } else {
                b = m
            }
            if b - a <= 1e-12 * (1.0 + m.abs()) {
                break;
            }
        }
        0.5 * (a + b)
    };
    Ok((quantile(tail), quantile(1.0 - tail)))
}

fn check_level(level: f64) -> Result<()> {
    if !(level > 0.0 && level < 1.0) {
        return Err(TransportError::InvalidParameter {
            name: "interval level",
            value: level,
            reason: "must lie strictly between 0 and 1 (e.g. 0.9 for a 90 % interval)",
        });
    }
    Ok(())
}

/// The membrane of one parameter sample: `base` with the sampled parameters set (names as
/// in [`ParameterSamples::parameters`]).
pub fn membrane_of_sample(base: &Membrane, names: &[String], x: &[f64]) -> Result<Membrane> {
    let m = crate::parameters::with_parameters(base, names, x)?;
    m.validate()?;
    Ok(m)
}

/// Rejections at one flux with their prediction interval, per ion of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectionBand {
    /// Water flux J_v, m/s.
    pub flux: f64,
    /// Ion names (the feed's ions, as the solver orders them).
    pub ions: Vec<String>,
    /// The fitted membrane's rejections.
    pub rejection: Vec<f64>,
    /// Lower ends of the intervals.
    pub lower: Vec<f64>,
    /// Upper ends of the intervals.
    pub upper: Vec<f64>,
}

impl RejectionBand {
    /// A point's rejections without an interval (NaN ends).
    pub fn without_interval(p: crate::OperatingPoint) -> Self {
        Self {
            flux: p.flux,
            lower: vec![f64::NAN; p.ions.len()],
            upper: vec![f64::NAN; p.ions.len()],
            ions: p.ions,
            rejection: p.rejection,
        }
    }
}

/// A sweep with intervals and what went into them.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalSweep {
    /// One band per flux.
    pub bands: Vec<RejectionBand>,
    /// Parameter samples whose membrane solved at every flux.
    pub samples_used: usize,
    /// Samples that did not (an ion larger than a sampled pore, no convergence); left out.
    pub samples_failed: usize,
    /// Interval level.
    pub level: f64,
}

/// Rejections of `feed` at `fluxes` (m/s) by `membrane` at `conditions`, with `level`
/// prediction intervals from `samples` (see the module documentation). Samples whose
/// membrane cannot be solved are left out and counted; more than half failing is an error.
pub fn sweep_with_intervals(
    membrane: &Membrane,
    conditions: &Conditions,
    samples: &ParameterSamples,
    feed: &Composition,
    fluxes: &[f64],
    level: f64,
) -> Result<IntervalSweep> {
    check_level(level)?;
    let best = Dspmde::new(membrane.clone(), conditions.clone())?.sweep(feed, fluxes)?;
    let runs: Vec<Option<Vec<crate::OperatingPoint>>> = samples
        .samples
        .par_iter()
        .map(|x| {
            let m = membrane_of_sample(membrane, &samples.parameters, x).ok()?;
            Dspmde::new(m, conditions.clone())
                .ok()?
                .sweep(feed, fluxes)
                .ok()
        })
        .collect();
    let ok: Vec<&Vec<crate::OperatingPoint>> = runs.iter().flatten().collect();
    let failed = runs.len() - ok.len();
    if ok.is_empty() || 2 * failed > runs.len() {
        return Err(TransportError::Fit(format!(
            "{failed} of {} parameter samples cannot be solved for this feed: the interval would describe the few that can",
            runs.len()
        )));
    }
    let sd_of = |ion: &str| {
        samples
            .residual_sd
            .iter()
            .find(|(n, _)| n == ion)
            .map_or(samples.pooled_sd, |(_, s)| *s)
    };
    let mut bands = Vec::with_capacity(best.len());
    for (k, point) in best.iter().enumerate() {
        let mut lower = Vec::with_capacity(point.ions.len());
        let mut upper = Vec::with_capacity(point.ions.len());
        for (j, ion) in point.ions.iter().enumerate() {
            let draws: Vec<f64> = ok.iter().map(|run| run[k].rejection[j]).collect();
            // An ion absent from the feed has no rejection, and so no interval.
            if point.feed[j] <= 0.0 || draws.iter().any(|d| !d.is_finite()) {
                lower.push(f64::NAN);
                upper.push(f64::NAN);
                continue;
            }
            let (lo, hi) = mixture_interval(&draws, sd_of(ion), level)?;
            // A rejection cannot exceed 1 (the permeate concentration is not negative): the
            // Gaussian scatter's mass above 1 is mass at 1.
            lower.push(lo.min(1.0));
            upper.push(hi.min(1.0));
        }
        bands.push(RejectionBand {
            flux: point.flux,
            ions: point.ions.clone(),
            rejection: point.rejection.clone(),
            lower,
            upper,
        });
    }
    Ok(IntervalSweep {
        bands,
        samples_used: ok.len(),
        samples_failed: failed,
        level,
    })
}
