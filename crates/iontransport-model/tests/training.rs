//! Training reduces the loss; the fine-tuned model beats the fitted DSPM-DE on the shipped
//! synthetic measurement test split (the main job's configuration).

mod support;

use ion_species::IonRegistry;
use iontransport_model::data::{split, trajectories};
use iontransport_model::pipeline::{PipelineConfig, run};
use iontransport_model::train::{Phase, TrainConfig, evaluate_loss, train};
use iontransport_model::{Checkpoint, Constraint, IonModel, ModelConfig, NetworkConfig};
use np_transport::data::Dataset;
use std::path::Path;

#[test]
fn pretraining_reduces_the_loss_and_resumes_deterministically() {
    let reg = IonRegistry::canonical();
    let data = support::nf270_sweeps(48, 8, 1);
    let cfg = ModelConfig::for_registry(
        &reg,
        NetworkConfig {
            hidden: 16,
            ..NetworkConfig::default()
        },
        Constraint::Hard,
    );
    let trs = trajectories(&cfg, &data).unwrap();
    let sp = split(trs.len(), 0.25, 0.0, 3).unwrap();
    let tr: Vec<_> = sp.train.iter().map(|&i| trs[i].clone()).collect();
    let va: Vec<_> = sp.validation.iter().map(|&i| trs[i].clone()).collect();
    let mut model = IonModel::new(cfg.clone(), 9).unwrap();
    let before = evaluate_loss(&model, &tr).unwrap();
    let mut tc = TrainConfig::method(Phase::Pretrain, 12, 4);
    tc.lr = 3e-3;
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("run.ckpt");
    train(&mut model, &tr, &va, &tc, Some(&ck), None).unwrap();
    let after = evaluate_loss(&model, &tr).unwrap();
    eprintln!(
        "training MSE {before:.3e} -> {after:.3e} ({:.1}x)",
        before / after
    );
    // Measured when written: 4.2x in 12 epochs.
    assert!(before / after > 3.0, "{before} -> {after}");

    // Same seed, same result; stopping after 6 epochs and resuming gives the same model.
    let mut a = IonModel::new(cfg.clone(), 9).unwrap();
    let mut tc6 = tc.clone();
    tc6.epochs = 6;
    train(&mut a, &tr, &va, &tc6, Some(&ck), None).unwrap();
    let resume = Checkpoint::load(&ck).unwrap();
    assert_eq!(resume.epoch, 6);
    let mut b = IonModel::new(cfg, 9).unwrap();
    train(&mut b, &tr, &va, &tc, Some(&ck), Some(resume)).unwrap();
    assert_eq!(
        b.params, model.params,
        "resumed training differs from an uninterrupted run"
    );
}

// Release tier (`.ci/run`): trains the main job's quick configuration, about a minute
// optimised. The tier's command names this file: keep every ignored test here.
#[test]
#[ignore = "release tier: cargo test --release -p iontransport-model --test training -- --ignored"]
fn fine_tuned_model_beats_the_fitted_dspmde_on_the_synthetic_test_split() {
    let reg = IonRegistry::canonical();
    // The repository's file, or (in the packaged crate) the same set regenerated.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/synthetic-measurements.csv");
    let ds = if path.is_file() {
        Dataset::read_csv(&path, &reg).unwrap()
    } else {
        np_transport::generate::synthetic_measurements(&reg, 200, 0.03, 2026)
            .unwrap()
            .dataset
    };
    assert!(
        ds.synthetic.is_some(),
        "the shipped set must be labelled synthetic"
    );
    let r = run(&ds, &PipelineConfig::quick(0), &reg, false).unwrap();
    let ratio = r.neural.mse / r.dspmde.mse;
    eprintln!(
        "test MSE: neural ODE {:.3e}, fitted DSPM-DE {:.3e}, ratio {ratio:.3}; within 10 %: {:.3} vs {:.3}",
        r.neural.mse, r.dspmde.mse, r.neural.within_10_percent, r.dspmde.within_10_percent
    );
    // Margin found when this test was written: ratio 0.949 for seed 0 (quick configuration);
    // 0.828 since np-transport's solver changes (issue 12) moved the pre-training data.
    // Other seeds gave 0.573 (seed 1) and 1.463 (seed 2): the advantage is not robust at this
    // scale; this test pins the seed-0 outcome so a regression is noticed.
    assert!(ratio < 1.0, "neural/DSPM-DE test MSE ratio {ratio}");
    assert!(r.neural.max_relative_charge < 1e-10);
    // The hybrid (issue 28): at most half the DSPM-DE's test MSE. Its backbone takes the
    // activity model that fits the training feeds best; the synthetic truth has Davies
    // activities, and the choice finds them. Ratio 0.105 when written (0.679 with the ideal
    // backbone before).
    let h = r.hybrid.as_ref().expect("the main job trains the hybrid");
    let hybrid_ratio = h.metrics.mse / r.dspmde.mse;
    eprintln!(
        "hybrid test MSE {:.3e}, ratio {hybrid_ratio:.3}, backbone activity {:?}",
        h.metrics.mse, h.backbone_conditions.activity
    );
    assert_eq!(
        h.backbone_conditions.activity,
        np_transport::Activity::Davies
    );
    assert!(
        hybrid_ratio <= 0.5,
        "hybrid/DSPM-DE test MSE ratio {hybrid_ratio}"
    );
}
