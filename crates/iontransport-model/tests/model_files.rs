//! Model files and training runs that must be refused: edited or nonsensical configurations,
//! resumes with other seeds or data, zero epochs; and the training domain stored in the file.

use ion_species::{Composition, IonRegistry};
use iontransport_model::data::{Trajectory, trajectories};
use iontransport_model::train::{Phase, TrainConfig, train};
use iontransport_model::{Checkpoint, Constraint, IonModel, LossSpace, ModelConfig, NetworkConfig};
use np_transport::data::Dataset;

mod support;

fn tiny_model() -> IonModel {
    let reg = IonRegistry::canonical();
    let net = support::tiny_network();
    IonModel::new(
        ModelConfig::for_registry(&reg, net, Constraint::HardPositive),
        3,
    )
    .unwrap()
}

/// Four NaCl/Na2SO4 feeds at 2-20 mol/m3 with fluxes up to 2e-5 m/s.
fn tiny_set(model: &IonModel) -> Vec<Trajectory> {
    let mut text = String::from(
        "sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],feed:SO4 2- [mol/m3],permeate:Na+ [mol/m3],permeate:Cl- [mol/m3],permeate:SO4 2- [mol/m3]\n",
    );
    for (i, s) in [2.0, 5.0, 10.0, 20.0].iter().enumerate() {
        for j in [5e-6, 1e-5, 2e-5] {
            let (na, cl, so4) = (2.0 * s, s * 1.0, s * 0.5);
            text += &format!(
                "f{i},{j:e},{na},{cl},{so4},{},{},{}\n",
                na * 0.6,
                cl * 0.9,
                so4 * 0.1
            );
        }
    }
    let ds = Dataset::from_csv_str(&text, &IonRegistry::canonical()).unwrap();
    trajectories(&model.config, &ds).unwrap()
}

fn fnv1a_params(params: &[f64]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in params.iter().flat_map(|p| p.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
fn an_edited_configuration_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let m = tiny_model();
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("\"flux_scale\":0.00001", "\"flux_scale\":0.00002"),
        ("\"rtol\":0.00001", "\"rtol\":0.0001"),
        ("\"attention\":true", "\"attention\":false"),
    ] {
        assert!(text.contains(from), "{from} not in the file");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
    }
}

#[test]
fn nonsensical_configurations_are_refused_even_with_a_valid_checksum() {
    // A version-1 file (parameters-only checksum) with a configuration no model can use:
    // flux_scale 1e300 gave R = 0 everywhere, rtol 1000 gave R = -2.6.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let m = tiny_model();
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["version"] = 1.into();
    file["checksum"] = fnv1a_params(&m.params).into();
    for (key, value, word) in [
        ("flux_scale", 1e300, "flux_scale"),
        ("rtol", 1000.0, "rtol"),
        ("atol", -1.0, "atol"),
        ("flux_scale", 0.0, "flux_scale"),
    ] {
        let mut f = file.clone();
        f["checkpoint"]["config"][key] = value.into();
        std::fs::write(&path, f.to_string()).unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("unusable configuration") && e.contains(word),
            "{e}"
        );
    }
    // The untouched version-1 file still loads.
    std::fs::write(&path, file.to_string()).unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap().model().unwrap(), m);
    // And saving refuses to write such a configuration in the first place.
    let mut bad = Checkpoint::of_model(&m, 0);
    bad.config.flux_scale = f64::INFINITY;
    assert!(bad.save(&path).is_err());
}

#[test]
fn training_records_its_domain_and_predictions_outside_it_warn() {
    let mut m = tiny_model();
    assert!(m.config.domain.is_none());
    let set = tiny_set(&m);
    let cfg = TrainConfig::method(Phase::Pretrain, 1, 0);
    train(&mut m, &set[..3], &set[3..], &cfg, None, None).unwrap();
    let d = m.config.domain.clone().unwrap();
    assert!((d.flux_max - 2e-5).abs() < 1e-18, "{d:?}");
    // Totals: 3.5 s for s = 2..20 mol/m3.
    assert!((d.total_min - 7.0).abs() < 1e-9 && (d.total_max - 70.0).abs() < 1e-9);
    let reg = IonRegistry::canonical();
    let seen: Vec<&str> = reg
        .ions()
        .iter()
        .zip(&d.ions_seen)
        .filter(|(_, s)| **s)
        .map(|(i, _)| i.name.as_str())
        .collect();
    assert_eq!(seen, ["Na+", "Cl-", "SO4^2-"]);

    // The domain is saved and checked like everything else.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let m = Checkpoint::load(&path).unwrap().model().unwrap();
    assert_eq!(m.config.domain.as_ref(), Some(&d));

    let inside = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    assert!(
        m.predict(&inside, &[1e-5, 2e-5])
            .unwrap()
            .warnings
            .is_empty()
    );
    let w = m.predict(&inside, &[1e-5, 3.7e-5]).unwrap().warnings;
    assert!(w.len() == 1 && w[0].contains("1.85x"), "{w:?}");
    let dilute = Composition::from_mmol_per_l(&reg, &[("Na+", 1.0), ("Cl-", 1.0)]).unwrap();
    let w = m.predict(&dilute, &[1e-5]).unwrap().warnings;
    assert!(
        w.len() == 1 && w[0].contains("outside the training range"),
        "{w:?}"
    );
    let mg = Composition::from_mmol_per_l(&reg, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap();
    let w = m.predict(&mg, &[1e-5]).unwrap().warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("Mg^2+ was in no training feed")),
        "{w:?}"
    );
}

#[test]
fn resuming_needs_the_same_seed_and_data_and_zero_epochs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let base = tiny_model();
    let set = tiny_set(&base);
    let mut m = base.clone();
    let cfg = TrainConfig::method(Phase::Pretrain, 1, 4);
    train(&mut m, &set[..3], &set[3..], &cfg, Some(&ckpt), None).unwrap();
    let resume = || Some(Checkpoint::load(&ckpt).unwrap());

    let mut other_seed = TrainConfig::method(Phase::Pretrain, 2, 5);
    other_seed.patience = 10;
    let e = train(
        &mut base.clone(),
        &set[..3],
        &set[3..],
        &other_seed,
        None,
        resume(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("seed 4") && e.contains("seed 5"), "{e}");

    let two = TrainConfig::method(Phase::Pretrain, 2, 4);
    let e = train(
        &mut base.clone(),
        &set[1..],
        &set[..1],
        &two,
        None,
        resume(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("other training or validation data"), "{e}");
    // Same seed and data: resumes.
    let rep = train(
        &mut base.clone(),
        &set[..3],
        &set[3..],
        &two,
        None,
        resume(),
    )
    .unwrap();
    assert_eq!(rep.epochs_run, 1);
    assert!(rep.validated);

    let zero = TrainConfig::method(Phase::Pretrain, 0, 4);
    let e = train(&mut base.clone(), &set, &[], &zero, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("0 epochs"), "{e}");
    // Without validation data the report says the "validation" loss is the training loss.
    let rep = train(&mut base.clone(), &set, &[], &cfg, None, None).unwrap();
    assert!(!rep.validated);
}

#[test]
fn the_shipped_model_knows_its_domain_and_keeps_permeates_positive() {
    // It predicted R = 1.02 and 1.11 (negative permeates) for Na2SO4 at 3e-5 m/s, 1.85x its
    // highest training flux, without a word.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nf270-synthetic.json");
    let m = Checkpoint::load(&path).unwrap().model().unwrap();
    // The model compiled into the crate is the file's.
    assert_eq!(iontransport_model::models::nf270_synthetic().unwrap(), m);
    assert_eq!(m.config.constraint, Constraint::HardPositive);
    let d = m
        .config
        .domain
        .clone()
        .expect("the shipped model records its domain");
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
    let inside: Vec<f64> = (1..=10).map(|k| d.flux_max * k as f64 / 10.0).collect();
    let p = m.predict(&feed, &inside).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let p = m.predict(&feed, &[1e-5, 3e-5]).unwrap();
    assert!(
        p.warnings.iter().any(|w| w.contains("extrapolation")),
        "{:?}",
        p.warnings
    );
    for row in &p.permeate {
        assert!(row.iter().all(|c| *c >= 0.0), "{row:?}");
    }
    for row in &p.rejection {
        assert!(
            row.iter().filter(|r| !r.is_nan()).all(|r| *r <= 1.0),
            "{row:?}"
        );
    }
}

#[test]
fn a_batch_with_a_non_finite_gradient_is_skipped_not_fatal() {
    // A paper-scale pre-training run failed after 45 minutes with "non-finite gradient in
    // epoch 95". One poisoned trajectory (a target of 1e200: its squared error overflows) now
    // costs its batch's step, counted in the report; only an epoch of nothing but such
    // batches is an error.
    let base = tiny_model();
    let mut set = tiny_set(&base);
    let j = set[0].targets.iter().position(Option::is_some).unwrap();
    set[0].targets[j] = Some(1e200);
    let mut cfg = TrainConfig::method(Phase::Pretrain, 3, 0);
    cfg.batch_size = 1;
    let mut m = base.clone();
    let rep = train(&mut m, &set, &[], &cfg, None, None).unwrap();
    assert_eq!(rep.skipped_batches, 3, "one per epoch");
    assert_eq!(rep.epochs_run, 3);
    assert!(rep.best_validation.is_finite() || !rep.validated);
    assert!(m.params.iter().all(|p| p.is_finite()));
    assert_ne!(m.params, base.params, "the other batches trained");
    let e = train(&mut base.clone(), &set[..1], &[], &cfg, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every batch of epoch 0"), "{e}");
}

#[test]
fn version_one_files_cannot_carry_what_version_one_never_wrote() {
    // Version 1 checksums only the parameters, so a v1 mark let edits of a hybrid's backbone
    // or of the training domain load silently.
    let mut m = tiny_model();
    let set = tiny_set(&m);
    train(
        &mut m,
        &set[..3],
        &set[3..],
        &TrainConfig::method(Phase::Pretrain, 1, 0),
        None,
        None,
    )
    .unwrap();
    assert!(m.config.domain.is_some());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["version"] = 1.into();
    file["checksum"] = fnv1a_params(&m.params).into();
    file["checkpoint"]["config"]["domain"]["flux_max"] = 1e-3.into();
    std::fs::write(&path, file.to_string()).unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("version 1") && e.contains("was edited"), "{e}");
}

#[test]
fn random_bytes_are_not_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x81, 0x12, 0x9c]).unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("not a model file") && !e.contains("UTF-8"),
        "{e}"
    );
}

#[test]
fn the_library_model_caps_the_flux_like_every_solve() {
    let m = tiny_model();
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    // 60 L/m2/h passed as m/s: refused at once (it was integrated).
    let e = m.predict(&feed, &[1e-5, 60.0]).unwrap_err().to_string();
    assert!(e.contains("3600 L/m2/h"), "{e}");
    assert!(m.predict(&feed, &[1e-5, np_transport::MAX_FLUX]).is_ok());
}

#[test]
fn a_soft_weight_that_swamps_the_data_and_a_backbone_ion_of_the_wrong_charge_are_refused() {
    let reg = IonRegistry::canonical();
    let cfg = ModelConfig::for_registry(
        &reg,
        NetworkConfig::default(),
        Constraint::Soft { weight: 1e300 },
    );
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("swamp"), "{e}");
    let mut m = tiny_model();
    let backbone = iontransport_model::hybrid::Backbone::new(
        np_transport::Membrane::nf270_like(),
        np_transport::Conditions::default(),
        &reg,
        &m.config.ions,
        2.0,
    )
    .unwrap();
    m.config.backbone = Some(backbone);
    m.config.validate().unwrap();
    let b = m.config.backbone.as_mut().unwrap();
    b.ions[0].charge = 2;
    let e = m.config.validate().unwrap_err().to_string();
    assert!(e.contains("valence"), "{e}");
    let b = m.config.backbone.as_mut().unwrap();
    b.ions[0].charge = 1;
    b.ions[0].stokes_radius = 0.2;
    let e = m.config.validate().unwrap_err().to_string();
    assert!(e.contains("backbone's ion data"), "{e}");
}

#[test]
fn the_loss_space_is_saved_and_only_written_when_it_is_not_the_methods() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let mut m = tiny_model();
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(file["checkpoint"]["config"].get("loss").is_none(), "{text}");
    m.config.loss = LossSpace::Rejection;
    Checkpoint::of_model(&m, 0).save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["checkpoint"]["config"]["loss"], "rejection");
    let loaded = Checkpoint::load(&path).unwrap().model().unwrap();
    assert_eq!(loaded.config.loss, LossSpace::Rejection);
    // Version 1 never wrote a loss: such a file was edited.
    file["version"] = 1.into();
    file["checksum"] = fnv1a_params(&m.params).into();
    std::fs::write(&path, file.to_string()).unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("version 1") && e.contains("loss"), "{e}");
}
