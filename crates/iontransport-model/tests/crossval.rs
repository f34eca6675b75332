//! Cross-validation on measurements: the shipped real data set, fold schemes, refusals and a
//! tiny end-to-end run.

use ion_species::IonRegistry;
use iontransport_model::crossval::{
    CrossValConfig, FoldScheme, ModelKind, cross_validate, data_registry, folds,
};
use iontransport_model::data::trajectories;
use iontransport_model::{Constraint, ModelConfig, NetworkConfig};
use np_transport::data::{Dataset, RejectionBasis};

fn real_data() -> Dataset {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/measurements/fdl2021-nf270.csv"
    );
    Dataset::read_csv(path.as_ref(), &IonRegistry::extended()).unwrap()
}

#[test]
fn the_shipped_measurements_carry_their_provenance_and_the_papers_numbers() {
    let d = real_data();
    assert!(d.synthetic.is_none());
    assert_eq!(d.basis, RejectionBasis::Intrinsic);
    let text = d.comments.join("\n");
    for needle in [
        "doi:10.3390/membranes11040272",
        "CC BY 4.0",
        "choupo",
        "reading error",
        "NF270",
        "20 C",
    ] {
        assert!(text.contains(needle), "header lacks {needle}");
    }
    assert_eq!(d.samples.len(), 4);
    assert_eq!(d.num_points(), 28);
    let reg = IonRegistry::extended();
    let (na, cl, nh4) = (
        reg.index_of("Na+").unwrap(),
        reg.index_of("Cl-").unwrap(),
        reg.index_of("NH4+").unwrap(),
    );
    for s in &d.samples {
        assert_eq!(s.temperature, Some(293.15));
        // 10 mol/m3 of the dominant salt and 0.2 mol/m3 of NaNO3 and NH4Cl balance exactly.
        let charge: f64 = reg.ions().iter().zip(&s.feed).map(|(i, c)| i.z() * c).sum();
        assert!(charge.abs() < 1e-12, "{}: {charge}", s.id);
        assert!((s.feed[nh4] - 0.2).abs() < 1e-12);
    }
    // First NaCl point: f = 1/(1-R) = 1.7579 read off Fig. 1a at 8.24 um/s.
    let p = &d.samples[0].points[0];
    let r = 1.0 - p.permeate[na].unwrap() / d.samples[0].feed[na];
    assert!((r - (1.0 - 1.0 / 1.7579)).abs() < 1e-4, "{r}");
    assert!((p.flux - 8.246e-6).abs() < 1e-9);
    // The salt's one rejection is entered for both its ions.
    assert_eq!(1.0 - p.permeate[cl].unwrap() / d.samples[0].feed[cl], r);
}

#[test]
fn folds_hold_out_whole_feeds_and_refuse_what_cannot_be_validated() {
    let d = real_data();
    let ext = IonRegistry::extended();
    let (reg, t) = data_registry(&d, &ext).unwrap();
    assert_eq!(t, 293.15);
    let names: Vec<&str> = reg.ions().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Na+", "Mg^2+", "Cl-", "SO4^2-", "NO3-", "NH4+"]);
    // Diffusivities at 20 °C: the 25 °C values x 0.8733 (Stokes-Einstein).
    let ratio = reg.ions()[0].diffusivity / ext.ions()[0].diffusivity;
    assert!((ratio - 0.8733).abs() < 1e-3, "{ratio}");
    let mc = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::Hard);
    let all = trajectories(&mc, &d).unwrap();
    let z = reg.valences();
    let lofo = folds(&all, &z, &mc.ions, FoldScheme::Feed).unwrap();
    assert_eq!(lofo.len(), 4);
    assert!(lofo.iter().all(|f| f.test.len() == 1));
    let by_ion = folds(&all, &z, &mc.ions, FoldScheme::DominantIon).unwrap();
    let got: Vec<(&str, &[usize])> = by_ion
        .iter()
        .map(|f| (f.name.as_str(), f.test.as_slice()))
        .collect();
    // Samples: 0 NaCl, 1 MgCl2, 2 Na2SO4, 3 MgSO4.
    assert_eq!(
        got,
        [
            ("Na+", &[0usize, 2][..]),
            ("Mg^2+", &[1, 3][..]),
            ("Cl-", &[0, 1][..]),
            ("SO4^2-", &[2, 3][..])
        ]
    );
    // One feed cannot be cross-validated.
    let e = folds(&all[..1], &z, &mc.ions, FoldScheme::Feed)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 2"), "{e}");
    // Two NaCl-dominated feeds leave no training feed when NaCl's ions are held out.
    let e = folds(
        &[all[0].clone(), all[0].clone()],
        &z,
        &mc.ions,
        FoldScheme::DominantIon,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("usable fold"), "{e}");
    // Samples at two temperatures.
    let mut two = d.clone();
    two.samples[1].temperature = Some(298.15);
    let e = data_registry(&two, &ext).unwrap_err().to_string();
    assert!(e.contains("one temperature at a time"), "{e}");
}

#[test]
fn a_tiny_cross_validation_scores_every_model_on_every_held_out_feed() {
    // Three feeds (NaCl, MgCl2 and Na2SO4 with traces), three fluxes each: two training feeds
    // per fold identify the DSPM-DE's four parameters (one does not: a typed error).
    let mut d = real_data();
    d.samples.truncate(3);
    for s in &mut d.samples {
        s.points.truncate(3);
    }
    let cfg = CrossValConfig {
        sdem: true,
        ..CrossValConfig::tiny()
    };
    let r = cross_validate(&d, &IonRegistry::extended(), &cfg, false).unwrap();
    assert_eq!(r.folds.len(), 3);
    assert!(r.intrinsic);
    // One SDEM fit per fold is recorded, with what it left at a bound.
    assert_eq!(r.sdem_fits.len(), 3);
    for (f, fold) in r.sdem_fits.iter().zip(&r.folds) {
        assert_eq!(f.fold, fold.name);
        assert!(f.rms.is_finite() && f.charge.abs() <= 1000.0, "{f:?}");
        assert!(f.at_bound.iter().all(|i| r.ions.contains(i)), "{f:?}");
    }
    let n = r.ions.len();
    let ext = IonRegistry::extended();
    for model in ModelKind::ALL {
        for sample in 0..3 {
            let p: Vec<_> = r
                .predictions
                .iter()
                .filter(|p| p.model == model && p.sample == sample)
                .collect();
            // The SDEM predicts a held-out feed only with a permeance for each of its ions,
            // i.e. when the other feeds hold them all: the NaCl feed, not the MgCl2 (Mg2+)
            // or Na2SO4 (SO4 2-) feed.
            let expected = usize::from(model != ModelKind::Sdem || sample == 0);
            assert_eq!(p.len(), expected, "{model:?} {sample}");
            if expected == 0 {
                continue;
            }
            // Predictions exist exactly for the feed's ions.
            let feed = &d.samples[sample].feed;
            for (k, v) in p[0].at_points.iter().enumerate() {
                let ion = &r.ions[k % n];
                let present = feed[ext.index_of(ion).unwrap()] > 0.0;
                assert_eq!(v.is_some(), present, "{ion}");
                assert!(v.is_none_or(|x| x.is_finite()));
            }
        }
    }
    // The scores are the errors of those predictions against the measurements.
    for s in &r.scores {
        let j = r.ions.iter().position(|i| *i == s.ion).unwrap();
        let mut errs = vec![];
        for p in r
            .predictions
            .iter()
            .filter(|p| p.model == s.model && p.seed == s.seed)
        {
            for (k, m) in r.measured[p.sample].iter().enumerate() {
                if k % n == j
                    && let (Some(m), Some(q)) = (m, p.at_points[k])
                {
                    errs.push(q - m);
                }
            }
        }
        assert_eq!(errs.len(), s.count);
        let mae = errs.iter().map(|e| e.abs()).sum::<f64>() / errs.len() as f64;
        assert!((mae - s.mae).abs() < 1e-12);
        assert!(s.rmse >= s.mae - 1e-12);
    }
    // Every model but the SDEM has a 90 % interval on every held-out feed, around its
    // prediction.
    assert!(!r.intervals.iter().any(|b| b.model == ModelKind::Sdem));
    for model in ModelKind::ALL.into_iter().filter(|m| *m != ModelKind::Sdem) {
        let (mut count, mut inside) = (0, 0);
        for b in r.intervals.iter().filter(|b| b.model == model) {
            let p = r
                .predictions
                .iter()
                .find(|p| p.model == model && p.sample == b.sample)
                .unwrap();
            for (k, q) in p.at_points.iter().enumerate() {
                let (Some(q), Some(lo), Some(hi)) = (q, b.lower[k], b.upper[k]) else {
                    assert!(b.lower[k].is_none() || q.is_none(), "{model:?}");
                    continue;
                };
                // Capped at R = 1 (a model may predict beyond it: the neural ODE's
                // Euclidean projection allows a negative permeate).
                assert!(lo <= hi && hi <= 1.0, "{model:?}: {lo} {hi}");
                assert!(
                    *q > 1.0 || (lo < *q && *q <= hi),
                    "{model:?}: {lo} {q} {hi}"
                );
                if let Some(m) = r.measured[b.sample][k] {
                    count += 1;
                    inside += usize::from((lo..=hi).contains(&m));
                }
            }
        }
        assert_eq!(r.intervals.iter().filter(|b| b.model == model).count(), 3);
        // The coverage counts are those intervals against the measurements.
        let all = r
            .coverage
            .iter()
            .find(|c| c.model == model && c.ion == "all")
            .unwrap();
        assert_eq!((all.count, all.inside), (count, inside), "{model:?}");
        let per_ion: usize = r
            .coverage
            .iter()
            .filter(|c| c.model == model && c.ion != "all")
            .map(|c| c.count)
            .sum();
        assert_eq!(per_ion, count);
    }
    // The DSPM-DE of each fold was fitted on the other feeds only, at 20 °C.
    assert_eq!(r.fits.len(), 3);
    assert!(
        r.fits
            .iter()
            .all(|f| f.rms.is_finite() && f.pore_radius > 0.0)
    );
    assert_eq!(r.temperature, 293.15);
    // The positive neural ODE never predicts a negative permeate (R > 1), on the measured
    // fluxes or on its curves beyond them, up to the integrator's error at its absolute
    // tolerance (a sulfate rejected to R = 1 came out at 1 + 3e-7 on FdL).
    for p in r
        .predictions
        .iter()
        .filter(|p| p.model == ModelKind::NeuralOdePositive)
    {
        for q in p.at_points.iter().chain(&p.curve).flatten() {
            assert!(*q <= 1.0 + 1e-6, "R = {q}");
        }
    }
    // Its fine-tuning epochs were chosen per fold on the fold's two training feeds: the
    // count with the lowest mean loss on each left out in turn, from 0 (none) to the
    // configured epochs.
    assert_eq!(r.finetune_epochs.len(), 3);
    for (c, fold) in r.finetune_epochs.iter().zip(&r.folds) {
        assert_eq!(c.fold, fold.name);
        assert_eq!(c.inner_loss.len(), cfg.finetune_epochs + 1);
        assert!(c.inner_loss.iter().all(|l| l.is_finite() && *l >= 0.0));
        let best = c.inner_loss.iter().cloned().fold(f64::INFINITY, f64::min);
        assert_eq!(c.inner_loss[c.epochs], best, "{c:?}");
    }
}

#[test]
fn a_fold_that_fails_is_reported_and_the_others_go_on() {
    // NaCl, MgCl2 and Na2SO4 with traces, dominant ion out: the Na+ fold leaves one training
    // feed, MgCl2, cut here to one point with two measured rejections: two numbers cannot
    // determine three membrane parameters (a typed error); the other folds run.
    let mut d = real_data();
    d.samples.truncate(3);
    for s in &mut d.samples {
        s.points.truncate(3);
    }
    let mg = d
        .samples
        .iter_mut()
        .find(|s| s.id.starts_with("MgCl2"))
        .unwrap();
    mg.points.truncate(1);
    let mut kept = 0;
    for c in &mut mg.points[0].permeate {
        if c.is_some() {
            kept += 1;
            if kept > 2 {
                *c = None;
            }
        }
    }
    let cfg = CrossValConfig {
        schemes: vec![FoldScheme::DominantIon],
        ..CrossValConfig::tiny()
    };
    let r = cross_validate(&d, &IonRegistry::extended(), &cfg, false).unwrap();
    let failed: Vec<&str> = r.failed_folds.iter().map(|(_, f, _)| f.as_str()).collect();
    let ran: Vec<&str> = r.folds.iter().map(|f| f.name.as_str()).collect();
    // Holding out NaCl and Na2SO4 leaves the cut MgCl2 alone.
    assert_eq!(failed, ["Na+"]);
    assert_eq!(ran, ["Mg^2+", "Cl-", "SO4^2-"]);
    assert!(r.failed_folds.iter().all(|(_, _, why)| !why.is_empty()));
    // Nothing of a failed fold is reported.
    assert!(r.fits.iter().all(|f| ran.contains(&f.fold.as_str())));
    assert!(r.predictions.iter().all(|p| ran.contains(&p.fold.as_str())));
    assert!(r.skipped_schemes.is_empty());
}

#[test]
fn a_scheme_without_usable_folds_is_skipped_and_says_why() {
    // Two feeds of the same salt: no ion dominates only one of them, so the dominant-ion
    // scheme has no fold and is skipped with its reason; leaving one feed out runs.
    let mut d = real_data();
    d.samples.truncate(1);
    let mut twin = d.samples[0].clone();
    twin.id = "twin".into();
    d.samples.push(twin);
    let cfg = CrossValConfig {
        schemes: vec![FoldScheme::DominantIon, FoldScheme::Feed],
        ..CrossValConfig::tiny()
    };
    let r = cross_validate(&d, &IonRegistry::extended(), &cfg, false).unwrap();
    assert_eq!(r.skipped_schemes.len(), 1);
    let (scheme, why) = &r.skipped_schemes[0];
    assert_eq!(*scheme, FoldScheme::DominantIon);
    assert!(why.contains("usable fold"), "{why}");
    assert_eq!(r.folds.len(), 2);
    assert!(r.folds.iter().all(|f| f.scheme == FoldScheme::Feed));
}

/// The multivalent-charge backbone changes the physics under the hybrid (its predictions move)
/// and every held-out point still gets a finite rejection.
#[test]
fn a_multivalent_charge_backbone_carries_the_hybrid() {
    let d = real_data();
    let held = d.samples[0].id.clone();
    let cfg = CrossValConfig {
        schemes: vec![FoldScheme::Given],
        held_out: vec![held],
        ..CrossValConfig::tiny()
    };
    let hybrid = |cfg: &CrossValConfig| -> Vec<f64> {
        let r = cross_validate(&d, &IonRegistry::extended(), cfg, false).unwrap();
        assert!(r.failed_folds.is_empty(), "{:?}", r.failed_folds);
        r.predictions
            .iter()
            .filter(|p| p.model == ModelKind::Hybrid)
            .flat_map(|p| p.at_points.iter().flatten().copied())
            .collect()
    };
    let (isotherm, multivalent) = (
        hybrid(&cfg),
        hybrid(&CrossValConfig {
            multivalent_backbone: true,
            ..cfg.clone()
        }),
    );
    assert_eq!(isotherm.len(), multivalent.len());
    assert!(!multivalent.is_empty() && multivalent.iter().all(|r| r.is_finite()));
    let moved = isotherm
        .iter()
        .zip(&multivalent)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(moved > 1e-3, "the backbone changed nothing: {moved}");
}
