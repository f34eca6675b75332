//! Metrics on a test set, for the neural model and the fitted DSPM-DE.

use crate::error::Result;
use crate::model::IonModel;
use crate::training::data::Trajectory;
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
    /// Where each parity pair comes from (same order as `parity`).
    #[serde(default)]
    pub sources: Vec<EntrySource>,
    /// Rejection errors per ion class ([`IonClass`]: majors, minors, traces, in that order).
    #[serde(default)]
    pub classes: Vec<ClassMetrics>,
}

/// Ions classed by their share of the feed, c_f,j / sum_k c_f,k: what practitioners look at
/// separately, because an error of 0.01 in c/S is nothing for a major ion and everything for
/// a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IonClass {
    /// Share >= 10 %.
    Major,
    /// Share in [1 %, 10 %).
    Minor,
    /// Share < 1 %.
    Trace,
}

impl IonClass {
    /// All classes in report order.
    pub const ALL: [IonClass; 3] = [IonClass::Major, IonClass::Minor, IonClass::Trace];

    /// The class of an ion with feed share `fraction` (c_f,j / S).
    pub fn of(fraction: f64) -> Self {
        if fraction >= 0.1 {
            IonClass::Major
        } else if fraction >= 0.01 {
            IonClass::Minor
        } else {
            IonClass::Trace
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            IonClass::Major => "majors",
            IonClass::Minor => "minors",
            IonClass::Trace => "traces",
        }
    }
}

/// Rejection errors of one ion class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class.
    pub class: IonClass,
    /// Entries in it.
    pub count: usize,
    /// Mean absolute error of the rejection R = 1 - c_p / c_f.
    pub mae_rejection: f64,
    /// Share of predictions within +/-10 % of the measured permeate concentration.
    pub within_10_percent: f64,
}

/// The feed, ion and flux point of one evaluated entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntrySource {
    /// Feed id of the trajectory.
    pub feed: String,
    /// Ion slot (index into the model's ion list).
    pub ion: usize,
    /// Normalised flux tau = J_v / flux_scale of the point.
    pub tau: f64,
}

impl Metrics {
    /// Mean squared error (c_p / S) per feed, largest first: where a model fails.
    pub fn mse_by_feed(&self) -> Vec<(String, f64, usize)> {
        let mut acc: Vec<(String, f64, usize)> = Vec::new();
        for ((y, p), src) in self.parity.iter().zip(&self.sources) {
            let d = (p - y) * (p - y);
            match acc.iter_mut().find(|(f, _, _)| *f == src.feed) {
                Some(e) => {
                    e.1 += d;
                    e.2 += 1;
                }
                None => acc.push((src.feed.clone(), d, 1)),
            }
        }
        for e in &mut acc {
            e.1 /= e.2 as f64;
        }
        acc.sort_by(|a, b| b.1.total_cmp(&a.1));
        acc
    }
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
    let mut sources = Vec::new();
    // Per class: count, sum |dR|, within +/-10 %.
    let mut by_class = [(0usize, 0.0f64, 0usize); 3];
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
                    let ok = d.abs() <= 0.1 * y.abs();
                    if ok {
                        within += 1;
                    }
                    let cls = &mut by_class[IonClass::of(t.feed.cond.h0[j]) as usize];
                    cls.0 += 1;
                    cls.1 += r.abs();
                    cls.2 += usize::from(ok);
                    count += 1;
                    parity.push((y, row[j]));
                    sources.push(EntrySource {
                        feed: t.id.clone(),
                        ion: j,
                        tau: t.taus[k],
                    });
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
        sources,
        classes: IonClass::ALL
            .iter()
            .zip(by_class)
            .map(|(&class, (n, sum, ok))| ClassMetrics {
                class,
                count: n,
                mae_rejection: sum / n.max(1) as f64,
                within_10_percent: ok as f64 / n.max(1) as f64,
            })
            .collect(),
    })
}

/// The neural model's normalised predictions for a trajectory.
pub fn neural_prediction(model: &IonModel, t: &Trajectory) -> Result<Vec<f64>> {
    model.predict_normalised(&t.feed.cond, &t.taus)
}

/// Measured and predicted rejections R = 1 − c_p/c_f of every measured (feed, flux, ion) of
/// `set`, for the per-ion scores of [`np_transport::score::score_by_ion`]; `predict` gives a
/// trajectory's normalised permeates (point × ion, in the order of `ions`), `flux_scale`
/// turns its normalised fluxes into m/s.
pub fn rejection_points(
    set: &[Trajectory],
    ions: &[String],
    flux_scale: f64,
    predict: &dyn Fn(&Trajectory) -> Result<Vec<f64>>,
) -> Result<Vec<np_transport::score::ScoredPoint>> {
    let n = ions.len();
    let mut out = Vec::new();
    for t in set {
        let q = predict(t)?;
        for (k, y) in t.targets.iter().enumerate() {
            let (Some(y), h0) = (y, t.feed.cond.h0[k % n]) else {
                continue;
            };
            if h0 <= 0.0 {
                continue;
            }
            out.push(np_transport::score::ScoredPoint {
                feed: t.id.clone(),
                flux: t.taus[k / n] * flux_scale,
                ion: ions[k % n].clone(),
                measured: 1.0 - y / h0,
                predicted: 1.0 - q[k] / h0,
                interval: None,
            });
        }
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_feed_errors_add_up_to_the_total_and_are_sorted() {
        let src = |feed: &str, ion| EntrySource {
            feed: feed.into(),
            ion,
            tau: 1.0,
        };
        let m = Metrics {
            mse: 0.0,
            mse_rejection: 0.0,
            mae: 0.0,
            within_10_percent: 0.0,
            max_relative_charge: 0.0,
            count: 4,
            parity: vec![(1.0, 1.5), (2.0, 2.0), (1.0, 0.0), (3.0, 2.0)],
            sources: vec![src("a", 0), src("a", 1), src("b", 0), src("b", 1)],
            classes: vec![],
        };
        let by = m.mse_by_feed();
        assert_eq!(by.len(), 2);
        assert_eq!(by[0], ("b".to_string(), 1.0, 2));
        assert_eq!(by[1], ("a".to_string(), 0.125, 2));
        let total: f64 = by.iter().map(|(_, e, n)| e * *n as f64).sum();
        assert_eq!(total, 0.25 + 0.0 + 1.0 + 1.0);
    }

    #[test]
    fn ion_classes_follow_the_feed_share_and_score_rejections() {
        use crate::model::{Constraint, ModelConfig};
        use crate::network::NetworkConfig;
        assert_eq!(IonClass::of(0.5), IonClass::Major);
        assert_eq!(IonClass::of(0.1), IonClass::Major);
        assert_eq!(IonClass::of(0.0999), IonClass::Minor);
        assert_eq!(IonClass::of(0.01), IonClass::Minor);
        assert_eq!(IonClass::of(0.005), IonClass::Trace);
        let reg = IonRegistry::canonical();
        let cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::Hard);
        // Na+ 49.75, K+ 0.5 (trace, 0.5 %), Cl- 50.25 mol/m3 (majors); one flux point.
        let feed = vec![49.75, 0.5, 0.0, 0.0, 0.0, 50.25, 0.0, 0.0];
        let pf = crate::model::PreparedFeed::new(&cfg, &feed).unwrap();
        let h0 = pf.cond.h0.clone();
        let mut targets = vec![None; 8];
        for j in [0, 1, 5] {
            targets[j] = Some(0.5 * h0[j]); // measured R = 0.5
        }
        let t = Trajectory {
            id: "a".into(),
            feed: pf,
            taus: vec![1.0],
            targets,
            sds: vec![None; 8],
        };
        // Predicted R: Na+ 0.4, K+ 0.2, Cl- 0.5 (within 10 %: Cl- only... and Na+ at
        // |0.6 - 0.5| / 0.5 = 20 % is outside).
        let pred = |_: &Trajectory| -> Result<Vec<f64>> {
            let mut h = vec![0.0; 8];
            h[0] = 0.6 * h0[0];
            h[1] = 0.8 * h0[1];
            h[5] = 0.5 * h0[5];
            Ok(h)
        };
        let m = metrics(&[t], &cfg.valences, &pred).unwrap();
        let c = &m.classes;
        assert_eq!((c[0].count, c[1].count, c[2].count), (2, 0, 1));
        assert!((c[0].mae_rejection - 0.05).abs() < 1e-12);
        assert!((c[2].mae_rejection - 0.3).abs() < 1e-12);
        assert_eq!(c[0].within_10_percent, 0.5);
        assert_eq!(c[2].within_10_percent, 0.0);
    }
}
