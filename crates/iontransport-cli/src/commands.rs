//! The commands behind [`crate::args::Cli`]: each checks its inputs and outputs before any
//! work, writes results to `out` and notes and warnings to `err`.

use crate::args::{Cli, Command, Level, ReproduceAction};
use crate::error::{CliError, Result};
use crate::paths::{check_input_file, check_output_file, prepare_output_folder};
use ion_species::{Composition, IonRegistry};
use iontransport_model::data::{TEST_FRACTION, VALIDATION_FRACTION, split, trajectories};
use iontransport_model::ensemble::{predict_with_intervals, record_cross_validated_scatter};
use iontransport_model::evaluate::{metrics, neural_prediction, rejection_points};
use iontransport_model::pipeline::{PipelineConfig, prepare, run, run_hybrid, run_hybrid_on};
use iontransport_model::train::{Phase, TrainConfig, train};
use iontransport_model::{
    Checkpoint, Constraint, IonModel, LossSpace, MAX_SOFT_WEIGHT, ModelConfig, NetworkConfig,
};
use np_transport::data::{Dataset, write_atomic};
use np_transport::generate::{GeneratorConfig, flux_grid, generate, synthetic_measurements};
use np_transport::interval::RejectionBand;
use np_transport::quantities::{balance_feed, parse_concentration_unit, parse_feed};
use np_transport::score::{ScoredPoint, score_membrane, score_sweeps};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, FitSettings, Membrane, MembraneFile,
    OperatingPoint, fit,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shipped synthetic measurement set's recipe (so it can be regenerated exactly).
pub const SYNTHETIC_FEEDS: usize = 200;
/// Relative noise of the shipped synthetic set.
pub const SYNTHETIC_NOISE: f64 = 0.03;
/// Seed of the shipped synthetic set.
pub const SYNTHETIC_SEED: u64 = 2026;
/// Default largest flux of generated sweeps and DSPM-DE predictions, m/s (108 L/m2/h).
pub const DEFAULT_FLUX_MAX: f64 = 3e-5;

/// Where the repository keeps the shipped synthetic set (absent in a packaged crate).
fn repository_measurements() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/synthetic-measurements.csv")
}

/// The default measurements: the repository's synthetic set, or the same set regenerated
/// (canonical ions).
fn default_measurements(err: &mut dyn Write) -> Result<(Dataset, String)> {
    let reg = &IonRegistry::canonical();
    let path = repository_measurements();
    if path.is_file() {
        return Ok((Dataset::read_csv(&path, reg)?, path.display().to_string()));
    }
    writeln!(
        err,
        "the shipped synthetic set is not here: regenerating it (seed {SYNTHETIC_SEED}, ~10 s)"
    )?;
    let ds = synthetic_measurements(reg, SYNTHETIC_FEEDS, SYNTHETIC_NOISE, SYNTHETIC_SEED)?.dataset;
    Ok((ds, "the regenerated synthetic set".into()))
}

/// A data set read by a command: its name for messages and the registry of its ions.
struct Measurements {
    ds: Dataset,
    name: String,
    reg: IonRegistry,
}

/// Reads `--data` (an explicit path must exist; any ion of `known`) or the default set.
fn measurements(
    data: Option<&Path>,
    known: &IonRegistry,
    temperature: Option<f64>,
    err: &mut dyn Write,
) -> Result<Measurements> {
    let (mut ds, name, reg) = match data {
        Some(p) => {
            check_input_file(p)?;
            let (ds, reg) = crate::ions::read_data(p, known)?;
            (ds, p.display().to_string(), reg)
        }
        None => {
            let (ds, name) = default_measurements(err)?;
            (ds, name, IonRegistry::canonical())
        }
    };
    note_balanced(&ds, err)?;
    crate::ions::default_temperature(&mut ds, temperature);
    Ok(Measurements { ds, name, reg })
}

/// Says which feeds the reader balanced (rounded lab values).
fn note_balanced(ds: &Dataset, err: &mut dyn Write) -> Result<()> {
    if let Some(worst) = ds.balanced.iter().max_by(|a, b| {
        a.relative_imbalance
            .abs()
            .total_cmp(&b.relative_imbalance.abs())
    }) {
        writeln!(
            err,
            "note: {} feed(s) were electroneutral only to rounding (largest: sample {} on line {}, {:.3} % of the total charge) and were balanced by scaling cations and anions (docs/data-format.md)",
            ds.balanced.len(),
            worst.sample,
            worst.line,
            100.0 * worst.relative_imbalance.abs()
        )?;
    }
    Ok(())
}

/// Parses `--feed`; a feed electroneutral to rounding is balanced as the CSV reader does, and
/// says so.
fn feed_of(reg: &IonRegistry, feed: &str, units: &str, err: &mut dyn Write) -> Result<Composition> {
    let unit = parse_concentration_unit(units).map_err(CliError::Usage)?;
    let comp = parse_feed(reg, feed, unit).map_err(|e| CliError::Usage(format!("--feed: {e}")))?;
    let (balanced, q) = balance_feed(reg, &comp).map_err(|e| {
        CliError::Usage(if e.starts_with("the feed") {
            e.replacen("the feed", "--feed", 1)
        } else {
            format!("--feed: {e}")
        })
    })?;
    if q != 0.0 {
        writeln!(
            err,
            "note: the feed is electroneutral only to rounding ({:.3} % of the total charge); balanced by scaling cations by {:.6} and anions by {:.6}",
            100.0 * q.abs(),
            1.0 - q,
            1.0 + q
        )?;
    }
    Ok(balanced)
}

/// The membrane file at `path` when one is given (checked to be a file first).
fn load_membrane(path: &Option<PathBuf>) -> Result<Option<MembraneFile>> {
    let Some(path) = path else { return Ok(None) };
    check_input_file(path)?;
    Ok(Some(MembraneFile::load(path)?))
}

fn load_model(path: &Path) -> Result<IonModel> {
    check_input_file(path)?;
    let c = Checkpoint::load(path)?;
    if c.is_unfinished() {
        return Err(CliError::Usage(format!(
            "{} is the checkpoint of an unfinished training run (epoch {}), not a model: its parameters are the last epoch's, not the best validated ones; finish it with `train --resume {}` (same --data, --out and --seed) and use the model file that writes",
            path.display(),
            c.epoch,
            path.display()
        )));
    }
    Ok(c.model()?)
}

/// The parity figure of scored points: ions in order of first appearance.
fn parity_figure(
    scored: &[ScoredPoint],
    title: String,
    basis: np_transport::data::RejectionBasis,
) -> crate::figures::RejectionParity {
    let mut ions: Vec<String> = Vec::new();
    let points = scored
        .iter()
        .map(|p| {
            let k = match ions.iter().position(|i| *i == p.ion) {
                Some(k) => k,
                None => {
                    ions.push(p.ion.clone());
                    ions.len() - 1
                }
            };
            crate::figures::ParityPoint {
                ion: k,
                measured: p.measured,
                predicted: p.predicted,
                interval: p.interval,
            }
        })
        .collect();
    crate::figures::RejectionParity {
        title,
        ions,
        points,
        intrinsic: basis == np_transport::data::RejectionBasis::Intrinsic,
    }
}

/// The interval level `score` uses: the one asked for, else 0.9 where the files hold what
/// intervals need, else none (saying why in `note`).
fn score_level(
    interval: Option<Level>,
    available: bool,
    note: &str,
    err: &mut dyn Write,
) -> Result<Option<f64>> {
    Ok(match interval {
        Some(Level::At(l)) => Some(l),
        Some(Level::None) => None,
        None if available => Some(0.9),
        None => {
            writeln!(err, "note: {note}")?;
            None
        }
    })
}

/// Loads the model files of an ensemble (at least one).
fn load_models(paths: &[PathBuf]) -> Result<Vec<IonModel>> {
    if paths.is_empty() {
        return Err(CliError::Usage("give --model FILE".into()));
    }
    paths.iter().map(|p| load_model(p)).collect()
}

/// Runs a parsed command line.
pub fn run_cli(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    // Generated data are over the canonical ions; files and feeds may hold any known ion.
    let reg = IonRegistry::canonical();
    let known = crate::ions::registry(cli.ions.as_deref())?;
    let temperature = cli.temperature;
    let ions_path = cli.ions.clone();
    match cli.command {
        Command::Generate {
            out: path,
            feeds,
            fluxes,
            flux_max,
            noise,
            seed,
            shard,
            synthetic,
            membrane,
        } => {
            let inputs: Vec<&Path> = membrane.iter().map(PathBuf::as_path).collect();
            check_output_file(&path, &inputs)?;
            let saved = load_membrane(&membrane)?;
            let rep = if synthetic {
                if temperature.is_some() {
                    return Err(CliError::Usage(
                        "--temperature: the synthetic measurement set is defined at 25 C (its richer physics has no temperature); generate DSPM-DE data, or give the temperature of your own files".into(),
                    ));
                }
                synthetic_measurements(
                    &reg,
                    feeds.unwrap_or(SYNTHETIC_FEEDS),
                    noise.unwrap_or(SYNTHETIC_NOISE),
                    seed.unwrap_or(SYNTHETIC_SEED),
                )?
            } else {
                let shard = shard.as_deref().unwrap_or("0/1");
                let parsed = shard
                    .split_once('/')
                    .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
                let Some(shard) = parsed else {
                    return Err(CliError::Usage(format!(
                        "--shard `{shard}` is not i/n (e.g. 0/4)"
                    )));
                };
                let (mut model, source) = match (&saved, &membrane) {
                    (Some(file), Some(m)) => (
                        file.dspmde()?,
                        format!("dspmde-pretraining (membrane file {})", m.display()),
                    ),
                    _ => (
                        Dspmde::new(Membrane::nf270_like(), Conditions::default())?,
                        "dspmde-pretraining (NF270-like membrane)".to_string(),
                    ),
                };
                // Feeds at the temperature: the model's water and the ions' diffusivities.
                let reg_t = match temperature {
                    Some(t) => {
                        model = model.at_temperature(t)?;
                        reg.at_temperature(t)?
                    }
                    None => reg.clone(),
                };
                let cfg = GeneratorConfig {
                    feeds: feeds.unwrap_or(1000),
                    fluxes: flux_grid(flux_max.unwrap_or(DEFAULT_FLUX_MAX), fluxes.unwrap_or(20)),
                    noise: noise.unwrap_or(0.01),
                    seed: seed.unwrap_or(0),
                    shard,
                    progress: true,
                    ..GeneratorConfig::default()
                };
                let mut rep = generate(&model, &reg_t, &cfg, &source)?;
                crate::ions::default_temperature(&mut rep.dataset, temperature);
                rep
            };
            if !rep.failures.is_empty() {
                writeln!(
                    err,
                    "{} feed(s) failed and are left out:",
                    rep.failures.len()
                )?;
                for (i, why) in rep.failures.iter().take(5) {
                    writeln!(err, "  feed {i}: {why}")?;
                }
                if rep.failures.len() > 5 {
                    writeln!(err, "  ...")?;
                }
            }
            if rep.dataset.samples.is_empty() {
                return Err(CliError::Usage(
                    "every feed failed: nothing was written".into(),
                ));
            }
            rep.dataset.write_csv(&path)?;
            writeln!(
                out,
                "wrote {} samples ({} points) to {}",
                rep.dataset.samples.len(),
                rep.dataset.num_points(),
                path.display()
            )?;
        }
        Command::Train {
            data,
            out: path,
            finetune_from,
            resume,
            epochs,
            patience,
            seed,
            soft,
            positive,
            no_attention,
            rejection_loss,
            hybrid,
            all: train_on_all,
            membrane,
        } => {
            check_input_file(&data)?;
            let mut inputs: Vec<&Path> = vec![&data];
            inputs.extend(finetune_from.as_deref());
            inputs.extend(resume.as_deref());
            inputs.extend(membrane.as_deref());
            check_output_file(&path, &inputs)?;
            let backbone_file = load_membrane(&membrane)?;
            let ckpt = path.with_extension("ckpt");
            check_output_file(&ckpt, &[&data])?;
            if let Some(w) = soft
                && !(w.is_finite() && (0.0..=MAX_SOFT_WEIGHT).contains(&w))
            {
                return Err(CliError::Usage(format!(
                    "--soft {w}: the penalty weight must be in [0, {MAX_SOFT_WEIGHT:e}] (larger weights swamp the data loss)"
                )));
            }
            let Measurements { ds, reg, .. } = measurements(Some(&data), &known, temperature, err)?;
            if hybrid {
                let quick = PipelineConfig::quick(seed);
                let (test_fraction, validation_fraction) = if train_on_all {
                    (0.0, 0.0)
                } else {
                    (quick.test_fraction, quick.validation_fraction)
                };
                let cfg = PipelineConfig {
                    finetune_epochs: epochs as usize,
                    skip_pretraining: true,
                    patience: patience.map_or(quick.patience, |p| p as usize),
                    test_fraction,
                    validation_fraction,
                    // The backbone is this command's whole physics: fit it from ten starts.
                    multi_start: true,
                    ..quick
                };
                let prep = prepare(&ds, &cfg, &reg, false)?;
                writeln!(
                    err,
                    "{} feeds: {} training, {} validation (early stopping after {} stale epochs), {} held out for testing{}",
                    prep.all.len(),
                    prep.split.train.len(),
                    prep.split.validation.len(),
                    cfg.patience,
                    prep.split.test.len(),
                    held_out_hint(train_on_all, seed)
                )?;
                let (h, at_bound) = match &backbone_file {
                    Some(file) => {
                        let h = run_hybrid_on(
                            &prep,
                            &cfg,
                            &reg,
                            &file.membrane,
                            &file.conditions,
                            true,
                        )?;
                        let bound: Vec<String> = file
                            .fit
                            .iter()
                            .flat_map(|f| f.parameters.iter())
                            .filter(|p| p.at_bound)
                            .map(|p| p.name.clone())
                            .collect();
                        (h, vec![("membrane file's fit", bound)])
                    }
                    None => {
                        let h = run_hybrid(&prep, &cfg, &reg, true)?;
                        let names = |f: &np_transport::FitResult| -> Vec<String> {
                            f.at_bound.iter().map(|s| s.to_string()).collect()
                        };
                        let mut v = vec![("constant-charge fit", names(&prep.fitted))];
                        v.extend(
                            h.backbone_fit
                                .as_ref()
                                .map(|f| ("backbone (isotherm) fit", names(f))),
                        );
                        (h, v)
                    }
                };
                for (what, bound) in at_bound {
                    if !bound.is_empty() {
                        writeln!(
                            err,
                            "warning: the {what} ended at a bound: {} (the data do not determine it; the backbone is a limiting membrane there)",
                            bound.join(", ")
                        )?;
                    }
                }
                Checkpoint::of_model(&h.model, seed).save(&path)?;
                writeln!(
                    out,
                    "hybrid, {} parameters; backbone {}, r_p {:.3} nm, dx/A_k {:.2} um, {:?} activity; {} epochs in {:.1} s; best {} MSE {:.4e} (normalised c/S); saved {}",
                    h.model.num_params(),
                    h.backbone.charge,
                    h.backbone.pore_radius * 1e9,
                    h.backbone.effective_thickness * 1e6,
                    h.backbone_conditions.activity,
                    h.report.epochs_run,
                    h.report.seconds,
                    if h.report.validated {
                        "validation"
                    } else {
                        "TRAINING"
                    },
                    h.report.best_validation,
                    path.display()
                )?;
                return Ok(());
            }
            let (mut model, phase) = match &finetune_from {
                Some(p) => (load_model(p)?, Phase::FineTune),
                None => {
                    let net = NetworkConfig {
                        attention: !no_attention,
                        ..NetworkConfig::default()
                    };
                    let constraint = match (soft, positive) {
                        (Some(w), _) => Constraint::Soft { weight: w },
                        (None, true) => Constraint::HardPositive,
                        (None, false) => Constraint::Hard,
                    };
                    let mut config = ModelConfig::for_registry(&reg, net, constraint);
                    if rejection_loss {
                        config.loss = LossSpace::Rejection;
                    }
                    (IonModel::new(config, seed)?, Phase::Pretrain)
                }
            };
            let all = trajectories(&model.config, &ds)?;
            let sp = if train_on_all {
                split(all.len(), 0.0, 0.0, seed)?
            } else {
                split(all.len(), VALIDATION_FRACTION, TEST_FRACTION, seed)?
            };
            let pick = |idx: &[usize]| idx.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
            let mut tc = TrainConfig::method(phase, epochs as usize, seed);
            if let Some(p) = patience {
                tc.patience = p as usize;
            }
            tc.progress = true;
            writeln!(
                err,
                "{} feeds: {} training, {} validation (early stopping after {} stale epochs), {} held out for testing{}",
                all.len(),
                sp.train.len(),
                sp.validation.len(),
                tc.patience,
                sp.test.len(),
                held_out_hint(train_on_all, seed)
            )?;
            if sp.validation.is_empty() {
                writeln!(
                    err,
                    "warning: no validation feeds: early stopping and the loss below use the training loss, which says nothing about new feeds"
                )?;
            }
            let resume = match resume {
                Some(p) => {
                    let c = Checkpoint::load(&p)?;
                    if !c.is_unfinished() {
                        return Err(CliError::Usage(format!(
                            "{} is a finished model, not the checkpoint of an interrupted run: there is nothing to resume (fine-tune it with --finetune-from, or train anew)",
                            p.display()
                        )));
                    }
                    Some(c)
                }
                None => None,
            };
            let initial = model.clone();
            let rep = train(
                &mut model,
                &pick(&sp.train),
                &pick(&sp.validation),
                &tc,
                Some(&ckpt),
                resume,
            )?;
            if sp.validation.is_empty() && sp.train.len() >= 2 {
                // The error for prediction intervals, on feeds the model did not train on:
                // each training feed left out in turn (one more training per feed).
                writeln!(
                    err,
                    "measuring the error on new feeds: {} trainings, each with one feed left out",
                    sp.train.len()
                )?;
                let quiet = TrainConfig {
                    progress: false,
                    ..tc.clone()
                };
                record_cross_validated_scatter(&mut model, &pick(&sp.train), |set| {
                    let mut m = initial.clone();
                    train(&mut m, set, &[], &quiet, None, None)?;
                    Ok(m)
                })?;
            }
            Checkpoint::of_model(&model, seed).save(&path)?;
            let _ = std::fs::remove_file(&ckpt);
            writeln!(
                out,
                "{} parameters; {} epochs in {:.1} s; best {} MSE {:.4e} (normalised c/S); saved {}",
                model.num_params(),
                rep.epochs_run,
                rep.seconds,
                if rep.validated {
                    "validation"
                } else {
                    "TRAINING"
                },
                rep.best_validation,
                path.display()
            )?;
        }
        Command::Predict {
            membrane: Some(membrane),
            feed,
            units,
            flux_max,
            points,
            interval,
            csv,
            ..
        } => {
            // One implementation: the fitted membrane's prediction is `dspmde --membrane`.
            let dspmde = Command::Dspmde {
                feed,
                units,
                pore_radius: None,
                thickness: None,
                charge: None,
                pore_dielectric: None,
                fit: None,
                membrane: Some(membrane),
                flux_max,
                points,
                interval,
                pressures: None,
                csv,
            };
            return run_cli(
                Cli {
                    command: dspmde,
                    ions: ions_path,
                    temperature,
                },
                out,
                err,
            );
        }
        Command::Predict {
            model,
            feed,
            units,
            flux_max,
            points,
            interval,
            csv,
            membrane: None,
        } => {
            let mut models = load_models(&model)?;
            if let Some(t) = temperature {
                models = models
                    .iter()
                    .map(|m| m.at_temperature(t))
                    .collect::<std::result::Result<_, _>>()?;
            }
            let feed = feed_of(&known, &feed, &units, err)?;
            let j_max = flux_max
                .or(models[0].config.domain.as_ref().map(|d| d.flux_max))
                .unwrap_or(DEFAULT_FLUX_MAX);
            let fluxes = flux_grid(j_max, points as usize);
            let level = match interval {
                Some(Level::At(l)) => Some(l),
                _ => None,
            };
            let p = predict_with_intervals(&models, &feed, &fluxes, level)?;
            for w in &p.warnings {
                writeln!(err, "warning: {w}")?;
            }
            if let Some((b, j)) = p
                .bands
                .iter()
                .flat_map(|b| (0..b.ions.len()).map(move |j| (b, j)))
                .find(|&(b, j)| b.rejection[j] > 1.0)
            {
                writeln!(
                    err,
                    "warning: rejection {:.4} of {} at {:.3e} m/s, above 1 (a negative permeate concentration): the Euclidean projection of this model (Hard) does not keep concentrations positive; a model trained with --positive does",
                    b.rejection[j], b.ions[j], b.flux
                )?;
            }
            if models.len() > 1 && !csv {
                writeln!(out, "mean of {} models", models.len())?;
            }
            match level {
                Some(level) => {
                    use iontransport_model::ScatterSource;
                    let source = models[0]
                        .config
                        .domain
                        .as_ref()
                        .and_then(|d| d.scatter.as_ref())
                        .map(|s| s.source);
                    let error = match source {
                        Some(ScatterSource::Validation) => "on their validation feeds",
                        Some(ScatterSource::CrossValidation) => {
                            "with each training feed left out in turn"
                        }
                        _ => "on their training feeds",
                    };
                    let what = if models.len() > 1 {
                        format!("the models' spread and their error {error}")
                    } else {
                        format!("the model's error {error}")
                    };
                    write_bands(out, csv, &p.bands, level, &what)?
                }
                None => {
                    let first = &p.bands[0];
                    let present: Vec<usize> = (0..first.ions.len())
                        .filter(|&j| !first.rejection[j].is_nan())
                        .collect();
                    let names: Vec<&str> =
                        present.iter().map(|&j| first.ions[j].as_str()).collect();
                    let rows: Vec<Vec<f64>> = p
                        .bands
                        .iter()
                        .map(|b| present.iter().map(|&j| b.rejection[j]).collect())
                        .collect();
                    write_table(out, csv, &fluxes, None, &names, &rows)?;
                }
            }
        }
        Command::Fit {
            data,
            out: path,
            isotherm,
            multivalent_charge,
            fit_dielectric,
            born_radius,
            partition_energy,
            energy_descriptors,
            jacobian,
            film_thickness,
            mass_transfer,
            max_evaluations,
            samples,
            seed,
        } => {
            check_input_file(&data)?;
            check_output_file(&path, &[&data])?;
            let bytes = std::fs::read(&data).map_err(|e| CliError::Input {
                path: data.display().to_string(),
                reason: e.to_string(),
            })?;
            let Measurements { ds, name, reg } =
                measurements(Some(&data), &known, temperature, err)?;
            let meas =
                ds.rejection_measurements(&reg, np_transport::membrane_file::FIT_MAX_POINTS)?;
            let polarisation = np_transport::Polarisation::from_film_or_mass_transfer(
                film_thickness,
                mass_transfer,
            )?;
            let settings = FitSettings {
                conditions: Conditions {
                    polarisation,
                    ..Conditions::default()
                },
                isotherm: isotherm.map(Into::into),
                multivalent_charge,
                fit_dielectric,
                born_radius: born_radius.into(),
                // Any spelling the registry reads, stored by canonical name.
                partition_energies: partition_energy
                    .iter()
                    .map(|n| reg.parse(n).map(|i| i.name.clone()))
                    .collect::<std::result::Result<_, _>>()?,
                energy_descriptors: energy_descriptors.into_iter().map(Into::into).collect(),
                jacobian: jacobian.into(),
                max_evaluations: max_evaluations as usize,
                samples: samples as usize,
                seed,
            };
            let file = MembraneFile::fit(&meas, &settings, &name, &bytes)?;
            crate::report::write_fit(out, &file, &meas)?;
            file.save(&path)?;
            writeln!(out, "saved {}", path.display())?;
        }
        Command::Dspmde {
            feed,
            units,
            pore_radius,
            thickness,
            charge,
            pore_dielectric,
            fit: fit_data,
            membrane: membrane_file,
            flux_max,
            points,
            interval,
            pressures,
            csv,
        } => {
            let feed = feed_of(&known, &feed, &units, err)?;
            let saved = load_membrane(&membrane_file)?;
            let base = Membrane::nf270_like();
            let mut membrane = Membrane {
                pore_radius: pore_radius.unwrap_or(base.pore_radius),
                effective_thickness: thickness.unwrap_or(base.effective_thickness),
                charge: ChargeModel::Constant(charge.unwrap_or(-40.0)),
                pore_dielectric: pore_dielectric.unwrap_or(base.pore_dielectric),
                pore_size_distribution: None,
                partitioning: Default::default(),
            };
            membrane.validate()?;
            if let Some(path) = fit_data {
                let Measurements { ds, name, reg } =
                    measurements(Some(&path), &known, temperature, err)?;
                let meas =
                    ds.rejection_measurements(&reg, np_transport::membrane_file::FIT_MAX_POINTS)?;
                let f = fit(
                    &meas,
                    &FitOptions {
                        max_evaluations: 300,
                        ..FitOptions::new(membrane.clone(), Conditions::default())
                    },
                )?;
                let ChargeModel::Constant(x) = f.membrane.charge else {
                    unreachable!("the fit keeps a constant charge")
                };
                writeln!(
                    err,
                    "fitted to {} points of {name}: r_p = {:.3} +/- {:.3} nm, dx/A_k = {:.2} +/- {:.2} um, X_d = {x:.1} +/- {:.1} mol/m3 ({} of {} starts agree{})",
                    meas.len(),
                    f.membrane.pore_radius * 1e9,
                    f.se_pore_radius * 1e9,
                    f.membrane.effective_thickness * 1e6,
                    f.se_effective_thickness * 1e6,
                    f.se_charge,
                    f.agreeing_starts,
                    f.starts,
                    if f.at_bound.is_empty() {
                        String::new()
                    } else {
                        format!("; at a bound: {}", f.at_bound.join(", "))
                    }
                )?;
                membrane = f.membrane;
            }
            if let (Some(Level::At(level)), Some(file)) = (interval, &saved) {
                let fluxes = flux_grid(flux_max.unwrap_or(DEFAULT_FLUX_MAX), points as usize);
                let sweep = file.sweep_with_intervals(&feed, &fluxes, temperature, level)?;
                if sweep.samples_failed > 0 {
                    writeln!(
                        err,
                        "note: {} of {} parameter samples cannot be solved for this feed and are left out of the intervals",
                        sweep.samples_failed,
                        sweep.samples_failed + sweep.samples_used
                    )?;
                }
                return write_bands(
                    out,
                    csv,
                    &sweep.bands,
                    level,
                    "parameter uncertainty and the fit's residual scatter",
                );
            }
            let mut model = match saved {
                Some(file) => file.dspmde()?,
                None => Dspmde::new(membrane, Conditions::default())?,
            };
            let feed = match temperature {
                Some(t) => {
                    model = model.at_temperature(t)?;
                    feed.at_temperature(t)?
                }
                None => feed,
            };
            let points_out: Vec<OperatingPoint> = match &pressures {
                Some(ps) => ps
                    .iter()
                    .map(|&dp| model.solve_at_pressure(&feed, dp))
                    .collect::<std::result::Result<_, _>>()?,
                None => model.sweep(
                    &feed,
                    &flux_grid(flux_max.unwrap_or(DEFAULT_FLUX_MAX), points as usize),
                )?,
            };
            let Some(first) = points_out.first() else {
                return Err(CliError::Usage("no flux or pressure given".into()));
            };
            let present: Vec<usize> = (0..first.ions.len())
                .filter(|&j| first.feed[j] > 0.0)
                .collect();
            let names: Vec<&str> = present.iter().map(|&j| first.ions[j].as_str()).collect();
            let fluxes: Vec<f64> = points_out.iter().map(|p| p.flux).collect();
            let rows: Vec<Vec<f64>> = points_out
                .iter()
                .map(|p| present.iter().map(|&j| p.rejection[j]).collect())
                .collect();
            write_table(out, csv, &fluxes, pressures.as_deref(), &names, &rows)?;
        }
        Command::Score {
            data,
            membrane,
            model,
            interval,
            points,
            figure,
        } => {
            let inputs: Vec<&Path> = std::iter::once(data.as_path())
                .chain(membrane.as_deref())
                .chain(model.iter().map(PathBuf::as_path))
                .collect();
            if let Some(p) = &points {
                check_output_file(p, &inputs)?;
            }
            let figure_files: Vec<PathBuf> = figure
                .iter()
                .flat_map(|f| [f.with_extension("svg"), f.with_extension("png")])
                .collect();
            for f in &figure_files {
                check_output_file(f, &inputs)?;
            }
            let Measurements { ds, name, reg } =
                measurements(Some(&data), &known, temperature, err)?;
            let (scored, level) = match (&membrane, &model) {
                (Some(path), _) => {
                    check_input_file(path)?;
                    let file = MembraneFile::load(path)?;
                    let has_samples = file.fit.as_ref().is_some_and(|f| f.uncertainty.is_some());
                    let note = format!(
                        "{} holds no parameter samples: no prediction intervals (refit it to get them)",
                        path.display()
                    );
                    let level = score_level(interval, has_samples, &note, err)?;
                    (score_membrane(&file, &ds, &reg, level)?, level)
                }
                (None, _) if !model.is_empty() => {
                    let models = load_models(&model)?;
                    let has_scatter = models.iter().all(|m| {
                        m.config
                            .domain
                            .as_ref()
                            .is_some_and(|d| d.scatter.is_some())
                    });
                    let note = "a model file records no training error (written before intervals existed): no prediction intervals (retrain it to get them)";
                    let level = score_level(interval, has_scatter, note, err)?;
                    let mut warned = false;
                    let mut noted = false;
                    let scored = score_sweeps(&ds, &reg, |first, fluxes| -> Result<_> {
                        // Trained models learned at their training data's temperature (a
                        // hybrid's correction with its backbone there): moving them per
                        // sample would not be the model that was trained.
                        if let (Some(t), false) = (first.temperature, noted) {
                            writeln!(
                                err,
                                "note: trained models take no temperature input: they predict at their training data's temperature, not the samples' ({:.1} C)",
                                t - 273.15
                            )?;
                            noted = true;
                        }
                        let p = predict_with_intervals(&models, &first.feed, fluxes, level)?;
                        if !warned {
                            for w in &p.warnings {
                                writeln!(err, "warning: {w}")?;
                            }
                            warned = !p.warnings.is_empty();
                        }
                        Ok(p.bands)
                    });
                    (scored?, level)
                }
                (None, _) => {
                    return Err(CliError::Usage(
                        "give --membrane FILE or --model FILE".into(),
                    ));
                }
            };
            writeln!(
                out,
                "{} measured rejections of {} feeds in {name}{}",
                scored.len(),
                ds.samples.len(),
                match ds.basis {
                    np_transport::data::RejectionBasis::Intrinsic => " (intrinsic)",
                    np_transport::data::RejectionBasis::Observed => " (observed)",
                }
            )?;
            crate::report::write_scores(out, &scored, level)?;
            if let Some(p) = points {
                write_points(&p, &scored)?;
                writeln!(out, "wrote {}", p.display())?;
            }
            if let Some(f) = &figure {
                let by = match (&membrane, model.as_slice()) {
                    (Some(m), _) => format!("membrane {}", m.display()),
                    (None, [one]) => format!("model {}", one.display()),
                    (None, many) => format!("{} models", many.len()),
                };
                let fig = parity_figure(&scored, format!("{by} on {name}"), ds.basis);
                let dir = match f.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let stem = f.file_name().map(|s| s.to_string_lossy().into_owned());
                let stem = stem.ok_or_else(|| {
                    CliError::Usage(format!("--figure {}: give a file name", f.display()))
                })?;
                let stem = stem
                    .strip_suffix(".png")
                    .or(stem.strip_suffix(".svg"))
                    .unwrap_or(&stem);
                for p in crate::figures::save(dir, stem, &fig)? {
                    writeln!(out, "wrote {}", p.display())?;
                }
            }
        }
        Command::Attention {
            model,
            feed,
            units,
            flux,
        } => {
            let mut m = load_model(&model)?;
            if let Some(t) = temperature {
                m = m.at_temperature(t)?;
            }
            let feed = feed_of(&known, &feed, &units, err)?;
            for w in m.config.domain_warnings(&feed_vector(&m, &feed), &[flux]) {
                writeln!(err, "warning: {w}")?;
            }
            let a = m.attention(&feed, flux)?;
            let present: Vec<usize> = (0..a.len())
                .filter(|&i| a[i].iter().sum::<f64>() > 0.0)
                .collect();
            write!(out, "{:>8}", "")?;
            for &j in &present {
                write!(out, "{:>8}", m.config.ions[j])?;
            }
            writeln!(out)?;
            for &i in &present {
                write!(out, "{:>8}", m.config.ions[i])?;
                for &j in &present {
                    write!(out, "{:>8.3}", a[i][j])?;
                }
                writeln!(out)?;
            }
        }
        Command::Evaluate {
            model,
            data,
            all,
            seed,
            parity,
        } => {
            check_input_file(&data)?;
            if let Some(p) = &parity {
                check_output_file(p, &[&model, &data])?;
            }
            let m = load_model(&model)?;
            let Measurements { ds, .. } = measurements(Some(&data), &known, temperature, err)?;
            let trs = trajectories(&m.config, &ds)?;
            let set: Vec<_> = if all {
                trs
            } else {
                let sp = split(trs.len(), VALIDATION_FRACTION, TEST_FRACTION, seed)?;
                sp.test.iter().map(|&i| trs[i].clone()).collect()
            };
            let met = metrics(&set, &m.config.valences, &|t| neural_prediction(&m, t))?;
            if met.count == 0 {
                return Err(CliError::Usage(format!(
                    "the {} has no measured permeate or rejection to compare with",
                    if all { "file" } else { "test split" }
                )));
            }
            writeln!(
                out,
                "{} entries of {} feeds: MSE {:.4e}, MAE {:.4e} (normalised c/S, S = total feed concentration), within +/-10 %: {:.1} %, max relative charge {:.1e}",
                met.count,
                set.len(),
                met.mse,
                met.mae,
                100.0 * met.within_10_percent,
                met.max_relative_charge
            )?;
            let points = rejection_points(&set, &m.config.ions, m.config.flux_scale, &|t| {
                neural_prediction(&m, t)
            })?;
            write!(out, "rejections R = 1 - c_p/c_f:")?;
            crate::report::write_ion_scores(out, &points)?;
            let worst = met.mse_by_feed();
            if let Some((feed, mse, count)) = worst.first() {
                writeln!(
                    out,
                    "worst feed: {feed}, MSE {mse:.4e} over {count} entries ({:.0} % of the total squared error)",
                    100.0 * mse * *count as f64 / (met.mse * met.count as f64)
                )?;
            }
            if let Some(p) = parity {
                let scale: std::collections::HashMap<&str, f64> =
                    set.iter().map(|t| (t.id.as_str(), t.feed.scale)).collect();
                let mut w = csv::Writer::from_writer(Vec::new());
                let csv_err = |e: csv::Error| CliError::Io(std::io::Error::other(e));
                w.write_record([
                    "feed",
                    "ion",
                    "flux [m/s]",
                    "measured [mol/m3]",
                    "predicted [mol/m3]",
                ])
                .map_err(csv_err)?;
                for ((a, b), src) in met.parity.iter().zip(&met.sources) {
                    let s = scale.get(src.feed.as_str()).copied().unwrap_or(f64::NAN);
                    w.write_record([
                        src.feed.clone(),
                        m.config.ions[src.ion].clone(),
                        format!("{:e}", src.tau * m.config.flux_scale),
                        format!("{:e}", a * s),
                        format!("{:e}", b * s),
                    ])
                    .map_err(csv_err)?;
                }
                let bytes = w.into_inner().map_err(|e| CliError::Io(e.into_error()))?;
                write_atomic(&p, &bytes)?;
            }
        }
        Command::Reproduce {
            action: Some(ReproduceAction::Merge { out: folder, data }),
            ..
        } => {
            let Measurements { ds, reg, .. } =
                measurements(data.as_deref(), &known, temperature, err)?;
            if !folder.join("shards").is_dir() {
                return Err(CliError::Input {
                    path: folder.join("shards").display().to_string(),
                    reason:
                        "does not exist: run the shards (`reproduce --shard k/n --out ...`) first"
                            .into(),
                });
            }
            let res = crate::reproduce::merge(&ds, &reg, &folder)?;
            write!(out, "{}", crate::reproduce::report(&res))?;
            writeln!(
                out,
                "\nwrote {0}/results.json, {0}/report.md and the figures {0}/{{{1}}}.{{svg,png}}",
                folder.display(),
                res.figures.join(",")
            )?;
        }
        Command::Reproduce {
            action:
                Some(ReproduceAction::Plan {
                    shards,
                    full,
                    seeds,
                    out: folder,
                }),
            ..
        } => {
            let seeds = seeds.unwrap_or_else(|| default_seeds(full));
            let name = if full { "full" } else { "quick" };
            write!(
                out,
                "{}",
                crate::reproduce::plan(name, &seeds, shards, &folder)?
            )?;
        }
        Command::Reproduce {
            action: None,
            shard,
            data,
            quick: _,
            full,
            tiny,
            seeds,
            only,
            out: folder,
        } => {
            let seeds = seeds.unwrap_or_else(|| default_seeds(full));
            let shard = shard.map(|text| parse_shard(&text, &folder)).transpose()?;
            let Measurements { ds, reg, .. } =
                measurements(data.as_deref(), &known, temperature, err)?;
            let (base, name) = if full {
                (PipelineConfig::full(0), "full")
            } else if tiny {
                (PipelineConfig::tiny(0), "tiny")
            } else {
                (PipelineConfig::quick(0), "quick")
            };
            let created = prepare_output_folder(&folder)?;
            let res = match shard {
                Some(k_n) => crate::reproduce::reproduce_shard(
                    &ds, &base, name, &seeds, k_n, &reg, &folder, true,
                )
                .map(|done| {
                    let total = crate::reproduce::units(&seeds).len();
                    format!(
                        "shard {}/{}: {} units run now ({} of the study's {total} belong to it); results in {}/shards; when every shard is done: reproduce merge --out {}\n",
                        k_n.0,
                        k_n.1,
                        done.run,
                        done.owned,
                        folder.display(),
                        folder.display()
                    )
                }),
                None if only.is_some() => crate::reproduce::reproduce_only(
                    &ds,
                    &base,
                    name,
                    &seeds,
                    only.as_deref().unwrap_or_default(),
                    &reg,
                    &folder,
                    true,
                )
                .map(|res| {
                    format!(
                        "{0}\nwrote {1}/results.json and {1}/report.md\n",
                        crate::reproduce::report(&res),
                        folder.display()
                    )
                }),
                None => crate::reproduce::reproduce(&ds, &base, name, &seeds, &reg, &folder, true)
                    .map(|res| {
                        format!(
                            "{0}\nwrote {1}/results.json, {1}/report.md and the figures {1}/{{{2}}}.{{svg,png}}\n",
                            crate::reproduce::report(&res),
                            folder.display(),
                            res.figures.join(",")
                        )
                    }),
            };
            match res {
                Ok(text) => write!(out, "{text}")?,
                Err(e) => {
                    if created {
                        // Only an empty folder goes; anything written stays.
                        let _ = std::fs::remove_dir(&folder);
                    }
                    return Err(e.into());
                }
            }
        }
        Command::Pipeline {
            data,
            full,
            seed,
            positive,
            any_ion,
            out: save,
        } => {
            if let Some(o) = &save {
                let inputs: Vec<&Path> = data.iter().map(PathBuf::as_path).collect();
                check_output_file(o, &inputs)?;
            }
            let Measurements { ds, name, reg } =
                measurements(data.as_deref(), &known, temperature, err)?;
            match &ds.synthetic {
                Some(d) => writeln!(
                    out,
                    "measurements: {} feeds, {} points — SYNTHETIC ({d})",
                    ds.samples.len(),
                    ds.num_points()
                )?,
                None => writeln!(
                    out,
                    "measurements: {} feeds, {} points from {name}",
                    ds.samples.len(),
                    ds.num_points()
                )?,
            }
            let mut cfg = if full {
                PipelineConfig::full(seed)
            } else {
                PipelineConfig::quick(seed)
            };
            if positive {
                cfg.constraint = Constraint::HardPositive;
            }
            if any_ion {
                cfg.network = NetworkConfig {
                    hidden: cfg.network.hidden,
                    ..NetworkConfig::any_ion()
                };
            }
            writeln!(
                out,
                "configuration: {}{}; feeds split {:.0} % test, {:.0} % validation, the rest training",
                if full { "--full" } else { "quick (default)" },
                if any_ion { ", descriptor tokens" } else { "" },
                100.0 * cfg.test_fraction,
                100.0 * cfg.validation_fraction
            )?;
            let r = run(&ds, &cfg, &reg, true)?;
            crate::report::pipeline(out, &r)?;
            if let Some(o) = save {
                Checkpoint::of_model(&r.model, seed).save(&o)?;
                writeln!(out, "saved {}", o.display())?;
            }
        }
        Command::Validate {
            data,
            train,
            test,
            folds,
            seeds,
            out: dir,
            any_ion,
            no_sdem,
            sdem_backbone,
            multivalent_backbone,
            tiny,
        } => crate::validate::run(
            &match (data, train, test) {
                (_, Some(a), Some(b)) => crate::validate::Inputs::TrainTest(a, b),
                (Some(d), _, _) => crate::validate::Inputs::One(d),
                _ => {
                    return Err(CliError::Usage(
                        "give --data FILE, or --train FILE and --test FILE".into(),
                    ));
                }
            },
            &known,
            folds,
            seeds,
            dir,
            crate::validate::Models {
                any_ion,
                sdem: !no_sdem,
                sdem_backbone,
                multivalent_backbone,
            },
            tiny,
            temperature,
            out,
        )?,
    }
    Ok(())
}

/// What the training message says about the test feeds.
fn held_out_hint(train_on_all: bool, seed: u64) -> String {
    if train_on_all {
        " (--all: score the model on another file with `score --model`)".into()
    } else {
        format!(" (`evaluate --seed {seed}`)")
    }
}

/// The feed in the model's ion order, mol/m^3.
fn feed_vector(m: &IonModel, feed: &Composition) -> Vec<f64> {
    m.config
        .ions
        .iter()
        .map(|n| {
            feed.iter()
                .find(|(i, _)| i.name == *n)
                .map_or(0.0, |(_, c)| c)
        })
        .collect()
}

/// The scored points as CSV.
fn write_points(path: &Path, points: &[ScoredPoint]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| CliError::Io(std::io::Error::other(e));
    w.write_record([
        "sample",
        "Jv [m/s]",
        "ion",
        "R measured [-]",
        "R predicted [-]",
        "R lower [-]",
        "R upper [-]",
    ])
    .map_err(io)?;
    for p in points {
        let (lo, hi) = p.interval.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        w.write_record([
            p.feed.clone(),
            format!("{:e}", p.flux),
            p.ion.clone(),
            p.measured.to_string(),
            p.predicted.to_string(),
            lo,
            hi,
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| CliError::Io(e.into_error()))?;
    write_atomic(path, &bytes)?;
    Ok(())
}

/// Rejections with their intervals per flux, as a table or CSV.
fn write_bands(
    out: &mut dyn Write,
    csv: bool,
    bands: &[RejectionBand],
    level: f64,
    source: &str,
) -> Result<()> {
    let Some(first) = bands.first() else {
        return Err(CliError::Usage("no flux given".into()));
    };
    let present: Vec<usize> = (0..first.ions.len())
        .filter(|&j| first.lower[j].is_finite())
        .collect();
    let fluxes: Vec<f64> = bands.iter().map(|b| b.flux).collect();
    let mut names = Vec::new();
    for &j in &present {
        let ion = &first.ions[j];
        names.extend([ion.clone(), format!("{ion} lower"), format!("{ion} upper")]);
    }
    let rows: Vec<Vec<f64>> = bands
        .iter()
        .map(|b| {
            present
                .iter()
                .flat_map(|&j| [b.rejection[j], b.lower[j], b.upper[j]])
                .collect()
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if !csv {
        writeln!(
            out,
            "rejections with {:.0} % prediction intervals ({source})",
            100.0 * level
        )?;
    }
    write_table(out, csv, &fluxes, None, &names, &rows)
}

/// Rejections per flux (rows) and ion (columns) as a table or CSV, fluxes in m/s and L/m2/h.
fn write_table(
    out: &mut dyn Write,
    csv: bool,
    fluxes: &[f64],
    pressures: Option<&[f64]>,
    ions: &[&str],
    rows: &[Vec<f64>],
) -> Result<()> {
    let lmh = 3.6e6;
    if csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut head = vec!["Jv [m/s]".to_string(), "Jv [L/m2/h]".to_string()];
        if pressures.is_some() {
            head.push("dP [bar]".into());
        }
        head.extend(ions.iter().map(|n| format!("rejection:{n} [-]")));
        let io = |e: csv::Error| CliError::Io(std::io::Error::other(e));
        w.write_record(&head).map_err(io)?;
        for (k, row) in rows.iter().enumerate() {
            let mut rec = vec![format!("{:e}", fluxes[k]), format!("{}", fluxes[k] * lmh)];
            if let Some(p) = pressures {
                rec.push(format!("{}", p[k] / 1e5));
            }
            rec.extend(row.iter().map(|r| format!("{r}")));
            w.write_record(&rec).map_err(io)?;
        }
        let bytes = w.into_inner().map_err(|e| CliError::Io(e.into_error()))?;
        out.write_all(&bytes)?;
        return Ok(());
    }
    write!(out, "{:>12}{:>10}", "Jv [m/s]", "[L/m2/h]")?;
    if pressures.is_some() {
        write!(out, "{:>10}", "dP [bar]")?;
    }
    for n in ions {
        write!(out, " {:>10}", format!("R({n})"))?;
    }
    writeln!(out)?;
    for (k, row) in rows.iter().enumerate() {
        write!(out, "{:>12.4e}{:>10.2}", fluxes[k], fluxes[k] * lmh)?;
        if let Some(p) = pressures {
            write!(out, "{:>10.2}", p[k] / 1e5)?;
        }
        for r in row {
            write!(out, " {r:>10.4}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The study's default seeds.
fn default_seeds(full: bool) -> Vec<u64> {
    if full {
        vec![0, 1, 2, 3, 4]
    } else {
        vec![0, 1]
    }
}

/// `--shard k/n`, or `--shard k` with n from the study's manifest in `folder` (so that a
/// Slurm array resubmitted for one index, which sees SLURM_ARRAY_TASK_COUNT=1, runs the
/// right shard).
fn parse_shard(text: &str, folder: &std::path::Path) -> Result<(usize, usize)> {
    let bad = || {
        CliError::Usage(format!(
            "--shard `{text}` is not k/n with 0 <= k < n, nor k"
        ))
    };
    let (k, n) = match text.split_once('/') {
        Some((k, n)) => (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let k: usize = text.trim().parse().map_err(|_| bad())?;
            let n = crate::reproduce::recorded_shards(folder)?.ok_or_else(|| {
                CliError::Usage(format!(
                    "--shard {k} without /n: no shard of a study in {} has started, so nothing records the shard count; the first run of a study says --shard k/n",
                    folder.display()
                ))
            })?;
            (k, n)
        }
    };
    if k >= n {
        return Err(CliError::Usage(format!(
            "--shard {k}/{n} is not k/n with 0 <= k < n ({n} shards)"
        )));
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::parse_shard;
    use crate::reproduce::Manifest;
    use iontransport_model::pipeline::PipelineConfig;

    #[test]
    fn a_shard_without_its_count_takes_the_recorded_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(parse_shard("3/5", dir.path()).unwrap(), (3, 5));
        let e = parse_shard("3", dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("the first run of a study says --shard k/n"),
            "{e}"
        );
        std::fs::create_dir_all(dir.path().join("shards")).unwrap();
        let m = Manifest {
            configuration: "quick".into(),
            base: PipelineConfig::tiny(0),
            seeds: vec![0],
            data_fingerprint: "0".into(),
            shards: 5,
        };
        std::fs::write(
            dir.path().join("shards/manifest.json"),
            serde_json::to_string(&m).unwrap(),
        )
        .unwrap();
        assert_eq!(parse_shard("3", dir.path()).unwrap(), (3, 5));
        for bad in ["5", "5/5", "a/b", "-1", "2/x"] {
            let e = parse_shard(bad, dir.path()).unwrap_err().to_string();
            assert!(e.contains("--shard"), "{bad}: {e}");
        }
    }
}
