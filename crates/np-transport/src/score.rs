//! Scores of predicted rejections against measured ones: per point (measured, predicted and
//! the prediction interval) and per ion (RMSE, MAE, bias, sign errors, interval coverage).
//! [`score_membrane`] scores a membrane file on a measurement set at the set's own fluxes,
//! temperatures and basis; any other model scores through [`score_by_ion`] with its own
//! points.

use crate::data::Dataset;
use crate::error::{Result, TransportError};
use crate::fit::RejectionMeasurement;
use crate::interval::RejectionBand;
use crate::membrane_file::MembraneFile;
use ion_species::IonRegistry;

/// One measured rejection and its prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPoint {
    /// The sample id of the feed.
    pub feed: String,
    /// Water flux J_v, m/s.
    pub flux: f64,
    /// Ion name.
    pub ion: String,
    /// Measured rejection (observed or intrinsic, as the data set says).
    pub measured: f64,
    /// Predicted rejection.
    pub predicted: f64,
    /// Prediction interval (lower, upper), when the model gives one.
    pub interval: Option<(f64, f64)>,
}

/// The errors of one ion's rejections (R, dimensionless).
#[derive(Debug, Clone, PartialEq)]
pub struct IonScore {
    /// Ion name.
    pub ion: String,
    /// Number of measured rejections.
    pub points: usize,
    /// Root-mean-square error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean of predicted − measured.
    pub bias: f64,
    /// Points where prediction and measurement have opposite signs (a negative rejection
    /// predicted positive, or the reverse).
    pub sign_errors: usize,
    /// Points inside their prediction interval (None when no point has one).
    pub covered: Option<usize>,
}

/// Per-ion scores of `points`, ions in order of first appearance, then a row `all` over
/// every point.
///
/// ```
/// use np_transport::score::{ScoredPoint, score_by_ion};
/// let p = |ion: &str, m: f64, q: f64| ScoredPoint {
///     feed: "a".into(), flux: 1e-5, ion: ion.into(), measured: m, predicted: q,
///     interval: Some((q - 0.1, q + 0.1)),
/// };
/// let s = score_by_ion(&[p("Na+", 0.5, 0.6), p("Na+", -0.1, 0.1), p("Cl-", 0.3, 0.3)]);
/// assert_eq!(s[0].ion, "Na+");
/// assert!((s[0].mae - 0.15).abs() < 1e-12 && s[0].sign_errors == 1);
/// assert_eq!(s[0].covered, Some(1));
/// assert_eq!((s[2].ion.as_str(), s[2].points), ("all", 3));
/// ```
pub fn score_by_ion(points: &[ScoredPoint]) -> Vec<IonScore> {
    let mut ions: Vec<&str> = Vec::new();
    for p in points {
        if !ions.contains(&p.ion.as_str()) {
            ions.push(&p.ion);
        }
    }
    let summary = |name: &str, of: &[&ScoredPoint]| {
        let n = of.len().max(1) as f64;
        let err = |p: &&ScoredPoint| p.predicted - p.measured;
        let with_interval: Vec<&&ScoredPoint> =
            of.iter().filter(|p| p.interval.is_some()).collect();
        IonScore {
            ion: name.to_string(),
            points: of.len(),
            rmse: (of.iter().map(|p| err(p).powi(2)).sum::<f64>() / n).sqrt(),
            mae: of.iter().map(|p| err(p).abs()).sum::<f64>() / n,
            bias: of.iter().map(err).sum::<f64>() / n,
            sign_errors: of.iter().filter(|p| p.measured * p.predicted < 0.0).count(),
            covered: (!with_interval.is_empty()).then(|| {
                with_interval
                    .iter()
                    .filter(|p| {
                        let (lo, hi) = p.interval.unwrap_or((f64::NAN, f64::NAN));
                        (lo..=hi).contains(&p.measured)
                    })
                    .count()
            }),
        }
    };
    let mut out: Vec<IonScore> = ions
        .iter()
        .map(|ion| {
            let of: Vec<&ScoredPoint> = points.iter().filter(|p| p.ion == *ion).collect();
            summary(ion, &of)
        })
        .collect();
    let all: Vec<&ScoredPoint> = points.iter().collect();
    out.push(summary("all", &all));
    out
}

/// Scores any model on every measured rejection of `data` (read with `reg`): `predict` gets
/// the first measurement of each sample (its feed, temperature and basis) and the sample's
/// fluxes (m/s, increasing) and returns one band per flux (NaN interval ends: no interval).
/// Its errors (any type a [`TransportError`] converts into) are returned as they are.
pub fn score_sweeps<E: From<TransportError>>(
    data: &Dataset,
    reg: &IonRegistry,
    mut predict: impl FnMut(&RejectionMeasurement, &[f64]) -> std::result::Result<Vec<RejectionBand>, E>,
) -> std::result::Result<Vec<ScoredPoint>, E> {
    let measurements = data
        .rejection_measurements(reg, usize::MAX)
        .map_err(E::from)?;
    let ids = sample_ids(data);
    debug_assert_eq!(ids.len(), measurements.len());
    if measurements.is_empty() {
        return Err(TransportError::Dataset(
            "no measured rejection at a positive flux to score".into(),
        )
        .into());
    }
    let mut out = Vec::new();
    // The measurements of one sample form one sweep (its fluxes increase).
    let mut start = 0;
    while start < measurements.len() {
        let end = start
            + ids[start..]
                .iter()
                .take_while(|id| **id == ids[start])
                .count();
        let group = &measurements[start..end];
        let fluxes: Vec<f64> = group.iter().map(|m| m.flux).collect();
        let bands = predict(&group[0], &fluxes)?;
        if bands.len() != group.len() {
            return Err(TransportError::Dataset(format!(
                "{} predictions for the {} fluxes of sample {}",
                bands.len(),
                group.len(),
                ids[start]
            ))
            .into());
        }
        for (m, band) in group.iter().zip(&bands) {
            push_points(&mut out, m, band, &ids[start]).map_err(E::from)?;
        }
        start = end;
    }
    Ok(out)
}

/// Scores the membrane of `file` on every measured rejection of `data` (read with `reg`), at
/// each sample's fluxes and temperature, with `level` prediction intervals when `level` is
/// given (the file must then hold parameter samples). Intrinsic rejections need a membrane
/// file whose conditions have no polarisation film.
pub fn score_membrane(
    file: &MembraneFile,
    data: &Dataset,
    reg: &IonRegistry,
    level: Option<f64>,
) -> Result<Vec<ScoredPoint>> {
    let model = file.dspmde()?;
    score_sweeps(data, reg, |first, fluxes| -> Result<Vec<RejectionBand>> {
        // The checks a fit makes: the basis against the film, the temperature range.
        first.model_and_feed(&model)?;
        match level {
            Some(l) => Ok(file
                .sweep_with_intervals(&first.feed, fluxes, first.temperature, l)?
                .bands),
            None => {
                let (conditions, feed) = match first.temperature {
                    Some(t) => (
                        file.conditions.at_temperature(t)?,
                        first.feed.at_temperature(t)?,
                    ),
                    None => (file.conditions.clone(), first.feed.clone()),
                };
                Ok(crate::Dspmde::new(file.membrane.clone(), conditions)?
                    .sweep(&feed, fluxes)?
                    .into_iter()
                    .map(RejectionBand::without_interval)
                    .collect())
            }
        }
    })
}

/// The sample id of each rejection measurement, in the order
/// [`Dataset::rejection_measurements`] makes them (samples in order, positive fluxes with at
/// least one measured ion).
fn sample_ids(data: &Dataset) -> Vec<String> {
    data.samples
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .filter(|p| p.flux > 0.0 && p.permeate.iter().any(Option::is_some))
                .map(|_| s.id.clone())
        })
        .collect()
}

fn push_points(
    out: &mut Vec<ScoredPoint>,
    m: &RejectionMeasurement,
    band: &RejectionBand,
    feed: &str,
) -> Result<()> {
    for (ion, r) in &m.rejections {
        let j = band.ions.iter().position(|n| n == ion).ok_or_else(|| {
            TransportError::Dataset(format!("{ion} is measured but not in the prediction"))
        })?;
        let (lo, hi) = (band.lower[j], band.upper[j]);
        out.push(ScoredPoint {
            feed: feed.to_string(),
            flux: m.flux,
            ion: ion.clone(),
            measured: *r,
            predicted: band.rejection[j],
            interval: (lo.is_finite() && hi.is_finite()).then_some((lo, hi)),
        });
    }
    Ok(())
}
