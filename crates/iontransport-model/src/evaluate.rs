//! Metrics on a test set, for the neural model and the fitted DSPM-DE.

use crate::data::Trajectory;
use crate::error::Result;
use crate::model::IonModel;
use ion_species::{Composition, IonRegistry};
use np_transport::Dspmde;
use serde::{Deserialize, Serialize};

/// Error measures over all measured (point, ion) entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean squared error in normalised concentrations c_p / S (the training loss's space;
    /// dominated by the major ions).
    pub mse: f64,
    /// Mean squared error of c_p / c_f, i.e. of the rejection (every ion alike).
    pub mse_rejection: f64,
    /// Mean absolute error in normalised concentrations.
    pub mae: f64,
    /// Share of predictions within +/-10 % of the measured permeate concentration.
    pub within_10_percent: f64,
    /// Largest |sum z c_p| / sum |z| c_p over predictions.
    pub max_relative_charge: f64,
    /// Number of entries.
    pub count: usize,
    /// (measured, predicted) pairs for parity plots.
    pub parity: Vec<(f64, f64)>,
}

/// Metrics of predictions `pred(trajectory) -> h` (row-major points x ions) on `set`.
pub fn metrics(
    set: &[Trajectory],
    z: &[f64],
    pred: &dyn Fn(&Trajectory) -> Result<Vec<f64>>,
) -> Result<Metrics> {
    let n = z.len();
    let (mut se, mut se_c, mut ae, mut within, mut count, mut max_q) =
        (0.0, 0.0, 0.0, 0usize, 0usize, 0.0f64);
    let mut parity = Vec::new();
    for t in set {
        let h = pred(t)?;
        for k in 0..t.taus.len() {
            let row = &h[k * n..(k + 1) * n];
            let (q, tot) = row
                .iter()
                .zip(z)
                .fold((0.0, 0.0), |(q, a), (c, z)| (q + c * z, a + (c * z).abs()));
            if tot > 0.0 {
                max_q = max_q.max(q.abs() / tot);
            }
            for j in 0..n {
                if let Some(y) = t.targets[k * n + j] {
                    let d = row[j] - y;
                    let r = d / t.feed.cond.h0[j];
                    se += d * d;
                    se_c += r * r;
                    ae += d.abs();
                    if d.abs() <= 0.1 * y.abs() {
                        within += 1;
                    }
                    count += 1;
                    parity.push((y, row[j]));
                }
            }
        }
    }
    let c = count.max(1) as f64;
    Ok(Metrics {
        mse: se / c,
        mse_rejection: se_c / c,
        mae: ae / c,
        within_10_percent: within as f64 / c,
        max_relative_charge: max_q,
        count,
        parity,
    })
}

/// The neural model's normalised predictions for a trajectory.
pub fn neural_prediction(model: &IonModel, t: &Trajectory) -> Result<Vec<f64>> {
    model.predict_normalised(&t.feed.cond, &t.taus)
}

/// The DSPM-DE model's normalised predictions for a trajectory (ion order of `reg`).
pub fn dspmde_prediction(
    model: &Dspmde,
    reg: &IonRegistry,
    flux_scale: f64,
    t: &Trajectory,
) -> Result<Vec<f64>> {
    let feed: Vec<f64> = t.feed.cond.h0.iter().map(|h| h * t.feed.scale).collect();
    let comp = Composition::from_vector(reg, &feed, false)?;
    let fluxes: Vec<f64> = t.taus.iter().map(|tau| tau * flux_scale).collect();
    let pts = model.sweep(&comp, &fluxes)?;
    let n = reg.len();
    let mut out = vec![0.0; fluxes.len() * n];
    for (k, p) in pts.iter().enumerate() {
        for (name, c) in p.ions.iter().zip(&p.permeate) {
            let j = reg
                .ions()
                .iter()
                .position(|i| &i.name == name)
                .expect("registry ion");
            out[k * n + j] = c / t.feed.scale;
        }
    }
    Ok(out)
}
