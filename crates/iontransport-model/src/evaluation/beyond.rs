//! How far a cross-validation's held-out feeds lie beyond what their training feeds show, from
//! the measurements alone: the extrapolation each scheme asks of every model, whatever the
//! model.
//!
//! For a held-out measurement R of ion j at flux J_v, each training feed that measured j gives
//! its own rejection of j at J_v (linear between its measured fluxes, held at its first or
//! last value outside them). The measurement is *beyond* its training feeds when it lies
//! outside the range of those rejections, by the distance to the range. A model that predicts
//! only within that range errs at least by that distance; one that does better extrapolates
//! correctly, which only physics that holds for the held-out feed can do. The mean of the
//! training feeds' rejections is also scored as a prediction: the simplest data-only model.

use crate::evaluation::crossval::{Fold, FoldScheme};
use serde::{Deserialize, Serialize};

/// How far (in R) beyond the training feeds' range a measurement must lie to count as outside
/// it: the reading error below which cross-validation does not count sign errors either.
pub const OUTSIDE_MARGIN: f64 = 0.02;

/// Held-out measurements of one ion in one scheme against their training feeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeyondTraining {
    /// Scheme.
    pub scheme: FoldScheme,
    /// Ion name.
    pub ion: String,
    /// Held-out measurements of the ion that at least one training feed of their fold also
    /// measured.
    pub count: usize,
    /// Of them, outside the range of the training feeds' rejections at their flux by more than
    /// [`OUTSIDE_MARGIN`].
    pub outside: usize,
    /// Mean distance in R from that range over the `count` measurements (0 inside it): what a
    /// model confined to the training feeds' range misses by at least.
    pub mean_distance: f64,
    /// Mean absolute error of R when the mean of the training feeds' rejections at the flux is
    /// the prediction.
    pub feed_mean_mae: f64,
}

/// [`BeyondTraining`] of every scheme and ion, over `folds` (a fold's training feeds are the
/// samples it does not hold out). Sample i has measured fluxes `flux[i]` (m/s) and rejections
/// `measured[i]` (point x ion over `ions`; None: not measured), as in a
/// [`crate::crossval::CrossValReport`]. Rows follow the order of `ions`.
pub fn beyond_training(
    ions: &[String],
    flux: &[Vec<f64>],
    measured: &[Vec<Option<f64>>],
    folds: &[Fold],
) -> Vec<BeyondTraining> {
    let n = ions.len();
    let mut out: Vec<BeyondTraining> = Vec::new();
    for fold in folds {
        let train: Vec<usize> = (0..measured.len())
            .filter(|i| !fold.test.contains(i))
            .collect();
        for &s in &fold.test {
            for (k, m) in measured[s].iter().enumerate() {
                let (Some(m), j) = (*m, k % n) else { continue };
                let at = flux[s][k / n];
                let seen: Vec<f64> = train
                    .iter()
                    .filter_map(|&t| rejection_at(&flux[t], &measured[t], n, j, at))
                    .collect();
                if seen.is_empty() {
                    continue;
                }
                let lo = seen.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = seen.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let distance = (lo - m).max(m - hi).max(0.0);
                let mean = seen.iter().sum::<f64>() / seen.len() as f64;
                let row = match out
                    .iter_mut()
                    .position(|b| b.scheme == fold.scheme && b.ion == ions[j])
                {
                    Some(i) => &mut out[i],
                    None => {
                        out.push(BeyondTraining {
                            scheme: fold.scheme,
                            ion: ions[j].clone(),
                            count: 0,
                            outside: 0,
                            mean_distance: 0.0,
                            feed_mean_mae: 0.0,
                        });
                        out.last_mut().expect("just pushed")
                    }
                };
                // Sums for now; divided by the count below.
                row.count += 1;
                row.outside += usize::from(distance > OUTSIDE_MARGIN);
                row.mean_distance += distance;
                row.feed_mean_mae += (mean - m).abs();
            }
        }
    }
    for b in &mut out {
        b.mean_distance /= b.count as f64;
        b.feed_mean_mae /= b.count as f64;
    }
    out.sort_by_key(|b| ions.iter().position(|i| *i == b.ion));
    out
}

/// One feed's measured rejection of ion `j` at `flux`: linear between its measured fluxes
/// (`fluxes`, one per point; `measured` point x ion over `n` ions), its first or last value
/// outside them; None when the feed did not measure the ion.
fn rejection_at(
    fluxes: &[f64],
    measured: &[Option<f64>],
    n: usize,
    j: usize,
    flux: f64,
) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = fluxes
        .iter()
        .enumerate()
        .filter_map(|(p, &f)| measured[p * n + j].map(|r| (f, r)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (points.first()?, points.last()?);
    if flux <= first.0 {
        return Some(first.1);
    }
    if flux >= last.0 {
        return Some(last.1);
    }
    points.windows(2).find_map(|w| {
        let ((f0, r0), (f1, r1)) = (w[0], w[1]);
        (flux <= f1).then(|| {
            if flux == f1 {
                // At a measured flux, the measurement (interpolation would round it).
                return r1;
            }
            let t = if f1 > f0 {
                (flux - f0) / (f1 - f0)
            } else {
                0.0
            };
            r0 + t * (r1 - r0)
        })
    })
}
