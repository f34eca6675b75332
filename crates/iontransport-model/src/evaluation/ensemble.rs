//! Prediction intervals of trained models: the mixture, over an ensemble of models (e.g. the
//! same model trained with several seeds), of Gaussians centred on each member's rejection
//! with the ensemble's residual scatter ([`crate::model::RejectionScatter`], pooled over the
//! members per ion). With one member it is that model's prediction ± its own scatter.
//!
//! ```
//! use iontransport_model::ensemble::pooled_scatter;
//! // Two seeds: RMS per ion; an ion no member measured takes the RMS over every ion.
//! let s = pooled_scatter(&[&[Some(0.03), None], &[Some(0.04), None]]);
//! assert!((s[0].unwrap() - 0.035355).abs() < 1e-6);
//! assert_eq!(s[0], s[1]);
//! ```

use crate::error::{ModelError, Result};
use crate::model::IonModel;
use crate::training::data::Trajectory;
use ion_species::Composition;
use np_transport::interval::{RejectionBand, mixture_interval};
use rayon::prelude::*;

/// Per-ion RMSE of the rejection R = 1 - c_p/c_f of `model` over every measured (flux, ion)
/// of `set` (model ion order; None for an ion never measured there).
pub fn rejection_rmse(model: &IonModel, set: &[Trajectory]) -> Result<Vec<Option<f64>>> {
    let n = model.config.ions.len();
    let predicted = set
        .par_iter()
        .map(|t| model.predict_normalised(&t.feed.cond, &t.taus))
        .collect::<Result<Vec<_>>>()?;
    let mut sums = SquaredErrors::new(n);
    for (t, at) in set.iter().zip(&predicted) {
        sums.add(t, at);
    }
    Ok(sums.rmse())
}

/// Per-ion RMSE of R with each feed of `set` predicted by a model trained on the others by
/// `train` (leave one feed out): the error on a feed the model has not seen, from training
/// feeds alone. Needs two feeds or more; costs one training per feed.
pub fn cross_validated_rmse(
    set: &[Trajectory],
    mut train: impl FnMut(&[Trajectory]) -> Result<IonModel>,
) -> Result<Vec<Option<f64>>> {
    if set.len() < 2 {
        return Err(ModelError::InvalidInput(format!(
            "leaving one feed out needs two feeds or more, not {}",
            set.len()
        )));
    }
    let mut sums: Option<SquaredErrors> = None;
    for i in 0..set.len() {
        let others: Vec<Trajectory> = set
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != i)
            .map(|(_, t)| t.clone())
            .collect();
        let model = train(&others)?;
        let t = &set[i];
        let at = model.predict_normalised(&t.feed.cond, &t.taus)?;
        sums.get_or_insert_with(|| SquaredErrors::new(model.config.ions.len()))
            .add(t, &at);
    }
    Ok(sums.expect("two feeds or more").rmse())
}

/// Replaces the training-feed scatter `model` recorded ([`fn@crate::train`] without validation
/// feeds) by the error with each feed of `set` (its training feeds) left out in turn, each
/// model made by `recipe` ([`cross_validated_rmse`]); ions never measured that way keep their
/// training error. Nothing changes with fewer than two feeds or without a recorded scatter.
pub fn record_cross_validated_scatter(
    model: &mut IonModel,
    set: &[Trajectory],
    recipe: impl FnMut(&[Trajectory]) -> Result<IonModel>,
) -> Result<()> {
    let recorded = model
        .config
        .domain
        .as_ref()
        .and_then(|d| d.scatter.as_ref());
    if set.len() < 2 || recorded.is_none() {
        return Ok(());
    }
    let held_out = cross_validated_rmse(set, recipe)?;
    if let Some(s) = model
        .config
        .domain
        .as_mut()
        .and_then(|d| d.scatter.as_mut())
    {
        s.rmse = held_out
            .iter()
            .zip(&s.rmse)
            .map(|(h, t)| h.or(*t))
            .collect();
        s.source = crate::model::ScatterSource::CrossValidation;
    }
    Ok(())
}

/// Sums of squared errors of R per ion.
struct SquaredErrors {
    ss: Vec<f64>,
    count: Vec<usize>,
}

impl SquaredErrors {
    fn new(n: usize) -> Self {
        Self {
            ss: vec![0.0; n],
            count: vec![0; n],
        }
    }

    /// Adds trajectory `t`'s measured points, predicted as `at` (normalised, point x ion).
    fn add(&mut self, t: &Trajectory, at: &[f64]) {
        let n = self.ss.len();
        for (k, (q, y)) in at.iter().zip(&t.targets).enumerate() {
            let h0 = t.feed.cond.h0[k % n];
            if let (Some(y), true) = (y, h0 > 0.0) {
                // R_model - R_measured = (y - q) / h0.
                let e = (y - q) / h0;
                self.ss[k % n] += e * e;
                self.count[k % n] += 1;
            }
        }
    }

    fn rmse(&self) -> Vec<Option<f64>> {
        self.ss
            .iter()
            .zip(&self.count)
            .map(|(s, &c)| (c > 0).then(|| (s / c as f64).sqrt()))
            .collect()
    }
}

/// The ensemble's scatter per ion: the RMS over members of their per-ion scatter; an ion
/// that no member measured takes the RMS over every measured (member, ion); None when
/// nothing was measured.
pub fn pooled_scatter(members: &[&[Option<f64>]]) -> Vec<Option<f64>> {
    let rms = |v: &mut dyn Iterator<Item = f64>| {
        let (s, k) = v.fold((0.0, 0usize), |(s, k), x| (s + x * x, k + 1));
        (k > 0).then(|| (s / k as f64).sqrt())
    };
    let n = members.iter().map(|m| m.len()).max().unwrap_or(0);
    let all = rms(&mut members.iter().flat_map(|m| m.iter().flatten().copied()));
    (0..n)
        .map(|j| rms(&mut members.iter().filter_map(|m| m.get(j).copied().flatten())).or(all))
        .collect()
}

/// The central `level` interval of one rejection from the members' predictions `draws` and
/// the scatter `sd`, capped at R = 1 (a permeate concentration is not negative).
pub fn ensemble_interval(draws: &[f64], sd: f64, level: f64) -> Result<(f64, f64)> {
    let (lo, hi) = mixture_interval(draws, sd, level)?;
    Ok((lo.min(1.0), hi.min(1.0)))
}

/// An ensemble's prediction for one feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsemblePrediction {
    /// Per flux: the members' mean rejection per ion (model order; NaN for ions not in the
    /// feed) and the interval ends.
    pub bands: Vec<RejectionBand>,
    /// Warnings of the members' predictions (extrapolation), without repeats.
    pub warnings: Vec<String>,
}

/// Rejections of `feed` at `fluxes` (m/s) by every model of `members` (one model, or the same
/// model trained with several seeds), their mean, and with `level` the central interval of
/// the mixture (see the module documentation). Errors if the members' ions differ, or if an
/// interval is asked of a member that carries no scatter (a model file written before
/// intervals existed: retrain it).
pub fn predict_with_intervals(
    members: &[IonModel],
    feed: &Composition,
    fluxes: &[f64],
    level: Option<f64>,
) -> Result<EnsemblePrediction> {
    let first = members
        .first()
        .ok_or_else(|| ModelError::InvalidInput("an ensemble needs at least one model".into()))?;
    let mut scatters = Vec::with_capacity(members.len());
    for (k, m) in members.iter().enumerate() {
        if m.config.ions != first.config.ions {
            return Err(ModelError::InvalidInput(format!(
                "model {} of the ensemble has the ions {:?}, model 1 has {:?}: an ensemble is one model trained with several seeds",
                k + 1,
                m.config.ions,
                first.config.ions
            )));
        }
        if level.is_none() {
            continue;
        }
        let scatter = m
            .config
            .domain
            .as_ref()
            .and_then(|d| d.scatter.as_ref())
            .ok_or_else(|| {
                ModelError::InvalidInput(format!(
                    "model {} records no training error, so it has no prediction interval (a file written before intervals existed): retrain it",
                    k + 1
                ))
            })?;
        scatters.push(scatter.rmse.as_slice());
    }
    let sd = pooled_scatter(&scatters);
    let predictions = members
        .iter()
        .map(|m| m.predict(feed, fluxes))
        .collect::<Result<Vec<_>>>()?;
    let mut warnings: Vec<String> = Vec::new();
    for w in predictions.iter().flat_map(|p| &p.warnings) {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }
    let n = first.config.ions.len();
    let mut bands = Vec::with_capacity(fluxes.len());
    for (k, &flux) in fluxes.iter().enumerate() {
        let (mut rejection, mut lower, mut upper) =
            (vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n]);
        for j in 0..n {
            let draws: Vec<f64> = predictions.iter().map(|p| p.rejection[k][j]).collect();
            if draws.iter().any(|d| !d.is_finite()) {
                continue;
            }
            rejection[j] = draws.iter().sum::<f64>() / draws.len() as f64;
            if let (Some(level), Some(Some(sd))) = (level, sd.get(j)) {
                (lower[j], upper[j]) = ensemble_interval(&draws, *sd, level)?;
            }
        }
        bands.push(RejectionBand {
            flux,
            ions: first.config.ions.clone(),
            rejection,
            lower,
            upper,
        });
    }
    Ok(EnsemblePrediction { bands, warnings })
}
