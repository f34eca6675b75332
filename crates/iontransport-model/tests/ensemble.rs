//! Prediction intervals of trained models: the scatter training records, and the ensemble's
//! mixture intervals against their closed forms.

mod support;

use ion_species::{Composition, IonRegistry};
use iontransport_model::data::{Trajectory, trajectories};
use iontransport_model::ensemble::{
    cross_validated_rmse, pooled_scatter, predict_with_intervals, rejection_rmse,
};
use iontransport_model::train::{Phase, TrainConfig, train};
use iontransport_model::{
    Constraint, IonModel, ModelConfig, NetworkConfig, RejectionScatter, ScatterSource,
};
use proptest::prelude::*;

/// Two-sided 90 % quantile of the standard normal.
const Z90: f64 = 1.644_853_626_951_472_2;

fn set() -> (IonRegistry, ModelConfig, Vec<Trajectory>) {
    let reg = IonRegistry::canonical();
    let data = support::nf270_sweeps(16, 5, 3);
    let cfg = ModelConfig::for_registry(
        &reg,
        NetworkConfig {
            hidden: 8,
            ..NetworkConfig::default()
        },
        Constraint::Hard,
    );
    let trs = trajectories(&cfg, &data).unwrap();
    (reg, cfg, trs)
}

fn trained(cfg: &ModelConfig, tr: &[Trajectory], va: &[Trajectory], seed: u64) -> IonModel {
    let mut model = IonModel::new(cfg.clone(), seed).unwrap();
    let tc = TrainConfig::method(Phase::Pretrain, 2, seed);
    train(&mut model, tr, va, &tc, None, None).unwrap();
    model
}

/// The error a trained model recorded for its intervals.
fn scatter(m: &IonModel) -> RejectionScatter {
    m.config.domain.as_ref().unwrap().scatter.clone().unwrap()
}

#[test]
fn training_records_the_rejection_error_on_the_held_out_feeds() {
    let (_, cfg, trs) = set();
    let (tr, va) = trs.split_at(12);
    let model = trained(&cfg, tr, va, 1);
    let s = scatter(&model);
    assert_eq!(s.source, ScatterSource::Validation);
    // The recorded scatter is the RMSE of R on the validation feeds, ion by ion, from the
    // model's own predictions.
    let n = cfg.ions.len();
    for j in 0..n {
        let mut errors = vec![];
        for t in va {
            let q = model.predict_normalised(&t.feed.cond, &t.taus).unwrap();
            for (k, y) in t.targets.iter().enumerate() {
                if k % n == j
                    && let Some(y) = y
                {
                    let h0 = t.feed.cond.h0[j];
                    errors.push((1.0 - q[k] / h0) - (1.0 - y / h0));
                }
            }
        }
        match s.rmse[j] {
            Some(r) => {
                let direct =
                    (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
                assert!(
                    (r - direct).abs() < 1e-12 * direct.max(1.0),
                    "{r} vs {direct}"
                );
            }
            None => assert!(errors.is_empty()),
        }
    }
    assert!(s.rmse.iter().flatten().all(|r| r.is_finite() && *r > 0.0));
    // Without validation feeds, the training feeds.
    let alone = trained(&cfg, tr, &[], 1);
    let s = scatter(&alone);
    assert_eq!(s.source, ScatterSource::Training);
    assert_eq!(s.rmse, rejection_rmse(&alone, tr).unwrap());
}

#[test]
fn ensemble_intervals_match_their_closed_forms() {
    let (reg, cfg, trs) = set();
    let (tr, va) = trs.split_at(12);
    let a = trained(&cfg, tr, va, 1);
    let b = trained(&cfg, tr, va, 2);
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("Cl-", 20.0)]).unwrap();
    let fluxes = [4e-6, 1.2e-5];
    let (sd_a, sd_b) = (scatter(&a).rmse, scatter(&b).rmse);
    let na = cfg.ions.iter().position(|i| i == "Na+").unwrap();

    // One model: its rejection ± z sd.
    let one = predict_with_intervals(std::slice::from_ref(&a), &feed, &fluxes, Some(0.9)).unwrap();
    let pa = a.predict(&feed, &fluxes).unwrap();
    for (k, band) in one.bands.iter().enumerate() {
        let r = pa.rejection[k][na];
        let sd = sd_a[na].unwrap();
        assert_eq!(band.rejection[na], r);
        assert!((band.upper[na] - (r + Z90 * sd).min(1.0)).abs() < 1e-6);
        assert!((band.lower[na] - (r - Z90 * sd)).abs() < 1e-6);
        // Ions not in the feed have neither a rejection nor an interval.
        let so4 = cfg.ions.iter().position(|i| i == "SO4^2-").unwrap();
        assert!(band.rejection[so4].is_nan() && band.lower[so4].is_nan());
    }

    // Two seeds: the mean, and an interval that holds both members' own central values,
    // no narrower than the pooled scatter alone would give.
    let two = predict_with_intervals(&[a.clone(), b.clone()], &feed, &fluxes, Some(0.9)).unwrap();
    let pb = b.predict(&feed, &fluxes).unwrap();
    let pooled = pooled_scatter(&[&sd_a, &sd_b])[na].unwrap();
    for (k, band) in two.bands.iter().enumerate() {
        let (ra, rb) = (pa.rejection[k][na], pb.rejection[k][na]);
        assert!((band.rejection[na] - 0.5 * (ra + rb)).abs() < 1e-15);
        assert!(band.lower[na] <= ra.min(rb) && band.upper[na] >= ra.max(rb).min(1.0));
        assert!(
            band.upper[na] - band.lower[na] >= 2.0 * Z90 * pooled * (1.0 - 1e-6) - 1e-9
                || band.upper[na] == 1.0
        );
    }
    // Without a level, no scatter is needed and no interval is given.
    let plain = predict_with_intervals(&[a.clone(), b], &feed, &fluxes, None).unwrap();
    assert!(
        plain
            .bands
            .iter()
            .all(|b| b.lower.iter().all(|x| x.is_nan()))
    );

    // A model file from before intervals: a typed error that says to retrain.
    let mut old = a.clone();
    old.config.domain.as_mut().unwrap().scatter = None;
    let e = predict_with_intervals(&[a.clone(), old], &feed, &fluxes, Some(0.9))
        .unwrap_err()
        .to_string();
    assert!(e.contains("model 2") && e.contains("retrain"), "{e}");
    // Members with other ions are not an ensemble.
    let three = IonRegistry::canonical()
        .subset(&["Na+", "Cl-", "SO4 2-"])
        .unwrap();
    let other = IonModel::new(
        ModelConfig::for_registry(&three, NetworkConfig::default(), Constraint::Hard),
        0,
    )
    .unwrap();
    let e = predict_with_intervals(&[a, other], &feed, &fluxes, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ions"), "{e}");
    assert!(predict_with_intervals(&[], &feed, &fluxes, None).is_err());
}

proptest! {
    /// The pooled scatter is the RMS over members per ion, lies between the members' smallest
    /// and largest value, and fills an unmeasured ion with the RMS over everything.
    #[test]
    fn pooled_scatter_is_the_rms_over_members(
        values in prop::collection::vec(prop::collection::vec(0.001f64..1.0, 3), 1..5)
    ) {
        let members: Vec<Vec<Option<f64>>> = values
            .iter()
            .map(|v| vec![Some(v[0]), Some(v[1]), Some(v[2]), None])
            .collect();
        let refs: Vec<&[Option<f64>]> = members.iter().map(Vec::as_slice).collect();
        let s = pooled_scatter(&refs);
        for j in 0..3 {
            let col: Vec<f64> = values.iter().map(|v| v[j]).collect();
            let rms = (col.iter().map(|x| x * x).sum::<f64>() / col.len() as f64).sqrt();
            prop_assert!((s[j].unwrap() - rms).abs() < 1e-12);
            let (lo, hi) = col.iter().fold((f64::MAX, 0.0f64), |(l, h), x| (l.min(*x), h.max(*x)));
            prop_assert!(s[j].unwrap() >= lo - 1e-12 && s[j].unwrap() <= hi + 1e-12);
        }
        let all: Vec<f64> = values.iter().flatten().copied().collect();
        let rms = (all.iter().map(|x| x * x).sum::<f64>() / all.len() as f64).sqrt();
        prop_assert!((s[3].unwrap() - rms).abs() < 1e-12);
    }
}

/// Leaving one feed out: each feed is scored by the model trained on the others. With a
/// "training" that ignores its data, that is the one model's error over every feed; the
/// closure sees every feed but the held-out one; one feed is refused.
#[test]
fn cross_validated_error_leaves_each_feed_out() {
    let (_, cfg, trs) = set();
    let fixed = trained(&cfg, &trs[..8], &[], 4);
    let set = &trs[8..12];
    let mut seen = Vec::new();
    let cv = cross_validated_rmse(set, |others| {
        seen.push(others.iter().map(|t| t.id.clone()).collect::<Vec<_>>());
        Ok(fixed.clone())
    })
    .unwrap();
    let direct = rejection_rmse(&fixed, set).unwrap();
    for (a, b) in cv.iter().zip(&direct) {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12 * b.max(1.0), "{a} {b}"),
            (None, None) => {}
            _ => panic!("{cv:?} vs {direct:?}"),
        }
    }
    assert_eq!(seen.len(), 4);
    for (i, ids) in seen.iter().enumerate() {
        assert_eq!(ids.len(), 3);
        assert!(!ids.contains(&set[i].id));
    }
    let e = cross_validated_rmse(&set[..1], |_| Ok(fixed.clone())).unwrap_err();
    assert!(e.to_string().contains("two feeds"), "{e}");
}
