//! Training data: data sets (np-transport CSV) as normalised trajectories, and splits by feed.

use crate::error::{ModelError, Result};
use crate::model::{ModelConfig, PreparedFeed, TrainingDomain};
use np_transport::data::Dataset;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One feed's flux points in the model's normalised units (h = c / S, tau = J_v / J_scale).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Sample id.
    pub id: String,
    /// The prepared feed.
    pub feed: PreparedFeed,
    /// Normalised fluxes (increasing).
    pub taus: Vec<f64>,
    /// Targets per point and ion (row-major), normalised; None where not measured.
    pub targets: Vec<Option<f64>>,
    /// Standard deviations of the targets, normalised.
    pub sds: Vec<Option<f64>>,
}

impl Trajectory {
    /// Number of measured entries.
    pub fn count(&self) -> usize {
        self.targets.iter().filter(|t| t.is_some()).count()
    }

    /// The initial-value problem of this trajectory: from tau = 0, where h is the feed, to
    /// each of its normalised fluxes.
    pub fn problem(&self) -> neural_ode::Problem<'_> {
        neural_ode::Problem {
            t0: 0.0,
            y0: &self.feed.cond.h0,
            save_at: &self.taus,
        }
    }
}

/// The training domain of a set of trajectories (fluxes in m/s through `config.flux_scale`);
/// None for an empty set.
pub fn domain_of(config: &ModelConfig, set: &[Trajectory]) -> Option<TrainingDomain> {
    let n = config.ions.len();
    let mut d: Option<TrainingDomain> = None;
    for t in set {
        let here = TrainingDomain {
            flux_max: t.taus.iter().fold(0.0f64, |m, x| m.max(*x)) * config.flux_scale,
            total_min: t.feed.scale,
            total_max: t.feed.scale,
            ions_seen: (0..n).map(|j| t.feed.cond.mask[j]).collect(),
            scatter: None,
        };
        d = Some(match d {
            Some(d) => d.union(&here),
            None => here,
        });
    }
    d
}

/// A fingerprint of trajectories (ids, fluxes, feeds and targets; FNV-1a), so that a
/// resumed training run can refuse another data set.
pub fn fingerprint(set: &[Trajectory]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for t in set {
        eat(t.id.as_bytes());
        for x in t.taus.iter().chain(&t.feed.cond.h0).chain([&t.feed.scale]) {
            eat(&x.to_le_bytes());
        }
        for y in &t.targets {
            eat(&y.unwrap_or(f64::NAN).to_le_bytes());
        }
    }
    format!("{h:016x}")
}

/// Converts a data set to trajectories of the model's ions (matched by name). A data-set ion
/// the model lacks is an error if any sample contains it.
pub fn trajectories(config: &ModelConfig, data: &Dataset) -> Result<Vec<Trajectory>> {
    let n = config.ions.len();
    let map: Vec<Option<usize>> = data
        .ions
        .iter()
        .map(|name| config.ions.iter().position(|m| m == name))
        .collect();
    let mut out = Vec::with_capacity(data.samples.len());
    for s in &data.samples {
        let mut feed = vec![0.0; n];
        for (i, c) in s.feed.iter().enumerate() {
            if *c > 0.0 {
                let j = map[i].ok_or_else(|| ModelError::UnknownIon(data.ions[i].clone()))?;
                feed[j] = *c;
            }
        }
        let tau_max = s.points.iter().fold(0.0f64, |m, p| m.max(p.flux)) / config.flux_scale;
        let pf = PreparedFeed::new(config, &feed)
            .and_then(|pf| pf.with_backbone(config, tau_max))
            .map_err(|e| ModelError::InvalidInput(format!("sample {}: {e}", s.id)))?;
        let mut taus = Vec::with_capacity(s.points.len());
        let mut targets = vec![None; s.points.len() * n];
        let mut sds = vec![None; s.points.len() * n];
        for (k, p) in s.points.iter().enumerate() {
            taus.push(p.flux / config.flux_scale);
            for (i, v) in p.permeate.iter().enumerate() {
                if let (Some(v), Some(j)) = (v, map[i]) {
                    targets[k * n + j] = Some(v / pf.scale);
                    sds[k * n + j] = p.permeate_sd[i].map(|s| s / pf.scale);
                }
            }
        }
        out.push(Trajectory {
            id: s.id.clone(),
            feed: pf,
            taus,
            targets,
            sds,
        });
    }
    Ok(out)
}

/// Index sets of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training samples.
    pub train: Vec<usize>,
    /// Validation samples.
    pub validation: Vec<usize>,
    /// Test samples.
    pub test: Vec<usize>,
}

/// Share of the measured feeds held out for testing by the pipeline, the study and the CLI
/// (`train`, `evaluate`): one value everywhere, so that `evaluate --seed s` scores exactly the
/// feeds that training with seed s held out.
pub const TEST_FRACTION: f64 = 0.25;
/// Share of the measured feeds used for validation (early stopping), likewise shared.
pub const VALIDATION_FRACTION: f64 = 0.15;

/// Splits `n` samples (feeds) into train/validation/test by the given fractions, seeded. The
/// unit is the feed: all flux points of a sample fall in the same set.
pub fn split(n: usize, validation: f64, test: f64, seed: u64) -> Result<Split> {
    if !(0.0..1.0).contains(&validation) || !(0.0..1.0).contains(&test) || validation + test >= 1.0
    {
        return Err(ModelError::InvalidInput(format!(
            "split fractions {validation} + {test} must be in [0, 1)"
        )));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let nt = ((n as f64) * test).round() as usize;
    let nv = ((n as f64) * validation).round() as usize;
    let test_set = idx[..nt].to_vec();
    let val = idx[nt..nt + nv].to_vec();
    let train = idx[nt + nv..].to_vec();
    if train.is_empty() {
        return Err(ModelError::InvalidInput(format!(
            "{n} samples leave no training data"
        )));
    }
    Ok(Split {
        train,
        validation: val,
        test: test_set,
    })
}

/// How the measurement feeds are divided into training, validation and test sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SplitKind {
    /// Random by feed ([`split`] with [`TEST_FRACTION`] and [`VALIDATION_FRACTION`]).
    #[default]
    Random,
    /// Extrapolation in concentration ([`split_by_ionic_strength`]): train and validate on
    /// the feeds with ionic strength at or below the median, test on those above.
    Extrapolation,
}

/// The extrapolation split: feeds sorted by ionic strength I = ½ Σ z_j² c_f,j (mol/m³); the
/// upper half (I above the median) is the test set, and a seeded random `validation` share
/// of all feeds, drawn from the lower half, validates; the rest of the lower half trains.
pub fn split_by_ionic_strength(
    set: &[Trajectory],
    valences: &[f64],
    validation: f64,
    seed: u64,
) -> Result<Split> {
    if !(0.0..0.5).contains(&validation) {
        return Err(ModelError::InvalidInput(format!(
            "validation fraction {validation} must be in [0, 0.5) for the extrapolation split"
        )));
    }
    let strength = |t: &Trajectory| -> f64 {
        0.5 * t
            .feed
            .cond
            .h0
            .iter()
            .zip(valences)
            .map(|(h, z)| z * z * h * t.feed.scale)
            .sum::<f64>()
    };
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.sort_by(|&a, &b| {
        strength(&set[a])
            .total_cmp(&strength(&set[b]))
            .then(a.cmp(&b))
    });
    let low = set.len().div_ceil(2);
    let test = order[low..].to_vec();
    let mut lower = order[..low].to_vec();
    lower.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let nv = ((set.len() as f64) * validation).round() as usize;
    let val = lower[..nv.min(lower.len())].to_vec();
    let train = lower[nv.min(lower.len())..].to_vec();
    if train.is_empty() || test.is_empty() {
        return Err(ModelError::InvalidInput(format!(
            "{} samples are too few for an extrapolation split",
            set.len()
        )));
    }
    Ok(Split {
        train,
        validation: val,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraint, ModelConfig};
    use crate::network::NetworkConfig;
    use ion_species::IonRegistry;

    #[test]
    fn the_extrapolation_split_tests_above_the_median_ionic_strength() {
        let reg = IonRegistry::canonical();
        let cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::Hard);
        // NaCl at 1..=21 mol/m3 and MgSO4 (I = 4c) at the same totals, in shuffled order.
        let mut set = Vec::new();
        for k in 0..21usize {
            let c = 1.0 + ((k * 7) % 21) as f64;
            let feed = if k % 2 == 0 {
                vec![c, 0.0, 0.0, 0.0, 0.0, c, 0.0, 0.0]
            } else {
                vec![0.0, 0.0, 0.0, c, 0.0, 0.0, c, 0.0]
            };
            set.push(Trajectory {
                id: format!("f{k}"),
                feed: PreparedFeed::new(&cfg, &feed).unwrap(),
                taus: vec![1.0],
                targets: vec![None; 8],
                sds: vec![None; 8],
            });
        }
        let strength = |i: usize| {
            let t = &set[i];
            0.5 * t
                .feed
                .cond
                .h0
                .iter()
                .zip(&cfg.valences)
                .map(|(h, z)| z * z * h)
                .sum::<f64>()
                * t.feed.scale
        };
        let a = split_by_ionic_strength(&set, &cfg.valences, 0.15, 3).unwrap();
        assert_eq!(a.test.len(), 10);
        assert_eq!(a.validation.len(), 3);
        assert_eq!(a.train.len(), 8);
        let low = a.train.iter().chain(&a.validation).map(|&i| strength(i));
        let high_min = a
            .test
            .iter()
            .map(|&i| strength(i))
            .fold(f64::INFINITY, f64::min);
        assert!(
            low.clone().all(|s| s <= high_min),
            "a training feed above the test feeds"
        );
        // Seeded: the same seed gives the same split, another seed another validation set
        // but the same test set.
        assert_eq!(
            a,
            split_by_ionic_strength(&set, &cfg.valences, 0.15, 3).unwrap()
        );
        let b = split_by_ionic_strength(&set, &cfg.valences, 0.15, 4).unwrap();
        assert_eq!(a.test, b.test);
        assert_ne!(a.validation, b.validation);
        assert!(split_by_ionic_strength(&set[..1], &cfg.valences, 0.15, 3).is_err());
        assert!(split_by_ionic_strength(&set, &cfg.valences, 0.6, 3).is_err());
    }
}
