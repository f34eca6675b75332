//! `iontransport validate`: grouped cross-validation on measurements, its tables (Markdown,
//! printed and saved), the JSON report and one figure per feed.

use crate::args::FoldsArg;
use crate::error::{CliError, Result};
use crate::figures::{self, RejectionPanels};
use crate::paths::{check_input_file, check_output_file, prepare_output_folder};
use ion_species::IonRegistry;
use iontransport_model::crossval::{
    CrossValConfig, CrossValReport, FoldScheme, INTERVAL_LEVEL, ModelKind, cross_validate,
};
use np_transport::data::{Dataset, write_atomic};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `validate` cross-validates: one file's feeds, or the feeds of one file trained on
/// and another's tested.
#[derive(Debug, Clone)]
pub enum Inputs {
    /// Folds over one file.
    One(PathBuf),
    /// Train on the first file's feeds, test on the second's.
    TrainTest(PathBuf, PathBuf),
}

impl Inputs {
    fn paths(&self) -> Vec<&Path> {
        match self {
            Inputs::One(p) => vec![p],
            Inputs::TrainTest(a, b) => vec![a, b],
        }
    }
}

/// Reads one data file with `registry`, its samples without temperature at `temperature`.
fn read(path: &Path, registry: &IonRegistry, temperature: Option<f64>) -> Result<Dataset> {
    check_input_file(path)?;
    let mut ds = Dataset::read_csv(path, registry)
        .map_err(|e| crate::ions::unknown_ion_hint(e, registry))?;
    crate::ions::default_temperature(&mut ds, temperature);
    Ok(ds)
}

/// The training file's feeds followed by the test file's (renamed `test:ID` where an id is
/// taken), and the test feeds' ids.
fn train_test(
    train: &Path,
    test: &Path,
    registry: &IonRegistry,
    temperature: Option<f64>,
) -> Result<(Dataset, Vec<String>)> {
    let mut ds = read(train, registry, temperature)?;
    let other = read(test, registry, temperature)?;
    if other.basis != ds.basis {
        return Err(CliError::Usage(format!(
            "{} holds {:?} rejections and {} {:?} ones: train and test on one basis",
            train.display(),
            ds.basis,
            test.display(),
            other.basis
        )));
    }
    // Both files were read with one registry: their ion vectors are in the same order.
    debug_assert_eq!(ds.ions, other.ions);
    let mut held_out = Vec::new();
    for mut sample in other.samples {
        if ds.samples.iter().any(|s| s.id == sample.id) {
            sample.id = format!("test:{}", sample.id);
        }
        held_out.push(sample.id.clone());
        ds.samples.push(sample);
    }
    ds.balanced.extend(other.balanced);
    if ds.synthetic.is_none() {
        ds.synthetic = other.synthetic;
    }
    Ok((ds, held_out))
}

/// Which models `validate` runs and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Models {
    /// Descriptor tokens for the learned models (`--any-ion`).
    pub any_ion: bool,
    /// The SDEM row.
    pub sdem: bool,
    /// The hybrid on the charged SDEM instead of the DSPM-DE with an isotherm.
    pub sdem_backbone: bool,
    /// The hybrid and the neural ODE+ on the DSPM-DE with a multivalent charge.
    pub multivalent_backbone: bool,
}

/// Runs the command.
#[allow(clippy::too_many_arguments)]
pub fn run(
    inputs: &Inputs,
    registry: &IonRegistry,
    folds: FoldsArg,
    seeds: Vec<u64>,
    out_dir: Option<PathBuf>,
    models: Models,
    tiny: bool,
    temperature: Option<f64>,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(dup) = seeds
        .iter()
        .enumerate()
        .find_map(|(k, s)| seeds[..k].contains(s).then_some(s))
    {
        return Err(CliError::Usage(format!(
            "--seeds: seed {dup} is given twice (it would be counted twice in every mean and sd)"
        )));
    }
    let (ds, held_out, name) = match inputs {
        Inputs::One(p) => (
            read(p, registry, temperature)?,
            Vec::new(),
            p.display().to_string(),
        ),
        Inputs::TrainTest(a, b) => {
            let (ds, held_out) = train_test(a, b, registry, temperature)?;
            let name = format!("{} (training) and {} (test)", a.display(), b.display());
            (ds, held_out, name)
        }
    };
    let created = match &out_dir {
        Some(d) => {
            let created = prepare_output_folder(d)?;
            let inputs: Vec<&Path> = inputs.paths();
            for name in ["report.md", "crossval.json"] {
                if let Err(e) = check_output_file(&d.join(name), &inputs) {
                    remove_if_created(d, created);
                    return Err(e);
                }
            }
            created
        }
        None => false,
    };
    let result = run_in(
        &ds,
        registry,
        folds,
        seeds,
        out_dir.as_deref(),
        models,
        tiny,
        &name,
        held_out,
        out,
    );
    if result.is_err()
        && let Some(d) = &out_dir
    {
        remove_if_created(d, created);
    }
    result
}

/// Removes the output folder again when this run created it and wrote nothing in it, so that
/// a failed run leaves no empty folder behind.
fn remove_if_created(dir: &Path, created: bool) {
    if created {
        // remove_dir refuses a folder that is not empty.
        let _ = std::fs::remove_dir(dir);
    }
}

/// The cross-validation itself and its outputs, once the inputs are read and checked.
#[allow(clippy::too_many_arguments)]
fn run_in(
    ds: &Dataset,
    registry: &IonRegistry,
    folds: FoldsArg,
    seeds: Vec<u64>,
    out_dir: Option<&Path>,
    models: Models,
    tiny: bool,
    name: &str,
    held_out: Vec<String>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut cfg = if tiny {
        CrossValConfig::tiny()
    } else {
        CrossValConfig::quick()
    };
    cfg.seeds = seeds;
    cfg.sdem = models.sdem && !tiny;
    cfg.sdem_backbone = models.sdem_backbone;
    cfg.multivalent_backbone = models.multivalent_backbone;
    if models.any_ion {
        cfg.network = iontransport_model::NetworkConfig {
            hidden: cfg.network.hidden,
            ..iontransport_model::NetworkConfig::any_ion()
        };
    }
    cfg.schemes = match folds {
        _ if !held_out.is_empty() => vec![FoldScheme::Given],
        FoldsArg::Feed => vec![FoldScheme::Feed],
        FoldsArg::Ion => vec![FoldScheme::DominantIon],
        FoldsArg::Both => vec![FoldScheme::Feed, FoldScheme::DominantIon],
    };
    cfg.held_out = held_out;
    writeln!(
        out,
        "measurements: {} feeds, {} points from {}{}",
        ds.samples.len(),
        ds.num_points(),
        name,
        ds.synthetic
            .as_ref()
            .map(|d| format!(" — SYNTHETIC ({d})"))
            .unwrap_or_default()
    )?;
    if let Some(first) = ds.comments.first() {
        writeln!(out, "  {first}")?;
    }
    let r = cross_validate(ds, registry, &cfg, true)?;
    let text = markdown(&r, &cfg);
    write!(out, "{text}")?;
    if let Some(dir) = out_dir {
        write_atomic(&dir.join("report.md"), text.as_bytes())?;
        let json = serde_json::to_string_pretty(&r).expect("the report serialises");
        write_atomic(&dir.join("crossval.json"), json.as_bytes())?;
        let mut written = 2;
        let mut taken = std::collections::HashSet::new();
        for fig in feed_figures(&r) {
            let name = unique(&mut taken, format!("crossval-{}", slug(&fig.title)));
            written += figures::save(dir, &name, &fig)?.len();
        }
        writeln!(out, "wrote {written} files to {}", dir.display())?;
    }
    Ok(())
}

/// A file-name stem from a figure title (the part before `:`): every character that is not
/// a letter or digit as `-` (so `NaCl+traces` gives `nacl-traces`; [`unique`] separates
/// feeds that share a stem).
fn slug(s: &str) -> String {
    s.split(':')
        .next()
        .unwrap_or(s)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_lowercase()
}

/// `name`, or `name-2`, `name-3`, ... when taken already (feeds `A B` and `a-b` share a slug;
/// without this the second figure overwrote the first).
fn unique(taken: &mut std::collections::HashSet<String>, name: String) -> String {
    let mut candidate = name.clone();
    let mut k = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{name}-{k}");
        k += 1;
    }
    candidate
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    (m, sd)
}

/// The report: per scheme, a per-ion table of each model's MAE, RMSE and sign errors (trained
/// models as mean ± sd over seeds), the winner per ion, and the fitted membranes.
pub fn markdown(r: &CrossValReport, cfg: &CrossValConfig) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{} rejections at {:.2} °C; models run without a polarisation film{}; seeds {:?}; neural tokens: {}; hybrid backbone: {}; neural ODEs pre-trained on {} simulated sweeps for {} epochs (the published one on the fold's DSPM-DE, neural ODE+ on {}), fine-tuned for {} epochs{}; {:.0} s\n",
        if r.intrinsic { "intrinsic" } else { "observed" },
        r.temperature - 273.15,
        if r.intrinsic {
            " (the feed stands for the wall concentration)"
        } else {
            " (the file gives no mass-transfer coefficient)"
        },
        cfg.seeds,
        if cfg.network.descriptors {
            "ion descriptors (any-ion network)"
        } else {
            "per-slot identities (the method)"
        },
        if cfg.sdem_backbone {
            "the SDEM with a fixed charge"
        } else if cfg.multivalent_backbone {
            "the DSPM-DE with a charge set by the feed's multivalent ions"
        } else {
            "the DSPM-DE with a Freundlich charge isotherm"
        },
        cfg.pretrain_feeds,
        cfg.pretrain_epochs,
        if cfg.multivalent_backbone {
            "the DSPM-DE with its multivalent charge"
        } else {
            "the DSPM-DE with its charge isotherm"
        },
        cfg.finetune_epochs,
        if cfg.positive_neural {
            " (neural ODE+: at most, see below)"
        } else {
            ""
        },
        r.seconds
    );
    for (scheme, why) in &r.skipped_schemes {
        let _ = writeln!(s, "note: {} skipped: {why}\n", scheme.label());
    }
    for (scheme, fold, why) in &r.failed_folds {
        let _ = writeln!(
            s,
            "note: {} fold {fold} FAILED and is left out of every table: {why}\n",
            scheme.label()
        );
    }
    for scheme in [FoldScheme::Feed, FoldScheme::DominantIon, FoldScheme::Given] {
        let folds: Vec<&str> = r
            .folds
            .iter()
            .filter(|f| f.scheme == scheme)
            .map(|f| f.name.as_str())
            .collect();
        if folds.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "### {} ({} fold{}: {})\n",
            scheme.label(),
            folds.len(),
            if folds.len() == 1 { "" } else { "s" },
            folds.join(", ")
        );
        // The models scored in this scheme, in report order (the SDEM only when asked for).
        let models: Vec<ModelKind> = ModelKind::ALL
            .into_iter()
            .filter(|&m| r.scores.iter().any(|x| x.scheme == scheme && x.model == m))
            .collect();
        let labels = |what: &str| -> String {
            models
                .iter()
                .map(|m| format!("{} {what}", m.label()))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let initials: Vec<&str> = models.iter().map(|m| m.initial()).collect();
        let _ = writeln!(
            s,
            "| ion | points | {} | {} | sign errors {} | lowest MAE |",
            labels("MAE"),
            labels("RMSE"),
            initials.join(" / ")
        );
        let _ = writeln!(s, "|---|---|{}---|---|", "---|".repeat(2 * models.len()));
        let mut wins = vec![0usize; models.len()];
        for ion in &r.ions {
            let rows: Vec<Vec<&iontransport_model::crossval::IonScore>> = models
                .iter()
                .map(|&m| {
                    r.scores
                        .iter()
                        .filter(|x| x.scheme == scheme && x.model == m && &x.ion == ion)
                        .collect()
                })
                .collect();
            let Some(points) = rows.iter().find_map(|row| row.first().map(|x| x.count)) else {
                continue;
            };
            // Mean ± sd over seeds; None where the model has no score for this ion.
            let stat = |k: usize, f: fn(&iontransport_model::crossval::IonScore) -> f64| {
                (!rows[k].is_empty())
                    .then(|| mean_sd(&rows[k].iter().map(|x| f(x)).collect::<Vec<_>>()))
            };
            let fmt = |k: usize, v: Option<(f64, f64)>| match v {
                Some((m, sd)) if rows[k].len() > 1 => format!("{m:.3} ± {sd:.3}"),
                Some((m, _)) => format!("{m:.3}"),
                None => "-".to_string(),
            };
            let mae: Vec<Option<(f64, f64)>> =
                (0..models.len()).map(|k| stat(k, |x| x.mae)).collect();
            let rmse: Vec<Option<(f64, f64)>> =
                (0..models.len()).map(|k| stat(k, |x| x.rmse)).collect();
            let sign: Vec<String> = (0..models.len())
                .map(|k| {
                    stat(k, |x| x.sign_errors as f64)
                        .map_or("-".to_string(), |v| format!("{:.1}", v.0))
                })
                .collect();
            let best = (0..models.len())
                .filter_map(|k| mae[k].map(|v| (k, v.0)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
                .expect("a model with a score");
            wins[best] += 1;
            let _ = writeln!(
                s,
                "| {ion} | {points} | {} | {} | {} | {} |",
                (0..models.len())
                    .map(|k| fmt(k, mae[k]))
                    .collect::<Vec<_>>()
                    .join(" | "),
                (0..models.len())
                    .map(|k| fmt(k, rmse[k]))
                    .collect::<Vec<_>>()
                    .join(" | "),
                sign.join(" / "),
                models[best].label()
            );
        }
        let _ = writeln!(
            s,
            "\nlowest mean absolute error of R per ion: {} (of {}).\n",
            models
                .iter()
                .zip(&wins)
                .map(|(m, w)| format!("{} {w}", m.label()))
                .collect::<Vec<_>>()
                .join(", "),
            wins.iter().sum::<usize>()
        );
        if models.contains(&ModelKind::Sdem) {
            let _ = writeln!(
                s,
                "The SDEM (a permeance per ion and one fixed charge, fitted to each fold's training feeds) predicts only held-out feeds whose ions it was fitted on; it has no prediction intervals.\n"
            );
        }
        coverage_table(&mut s, r, scheme, cfg.seeds.len());
        finetune_line(&mut s, r, scheme);
        fidelity_table(&mut s, r, scheme);
        beyond_table(&mut s, r, scheme);
    }
    let listed = |at_bound: &[String]| {
        if at_bound.is_empty() {
            "-".to_string()
        } else {
            at_bound.join(", ")
        }
    };
    fold_table(
        &mut s,
        "DSPM-DE fitted per fold (constant charge, ε_p = 55; RMS residual of R on the training feeds):",
        &[
            "r_p / nm",
            "Δx/A_k / µm",
            "X_d / (mol/m³)",
            "RMS",
            "at a bound",
        ],
        r.fits.iter().map(|f| {
            let cells = vec![
                format!("{:.3}", f.pore_radius * 1e9),
                format!("{:.2}", f.effective_thickness * 1e6),
                format!("{:.1}", f.charge),
                format!("{:.3}", f.rms),
                listed(&f.at_bound),
            ];
            (f.scheme, f.fold.as_str(), cells)
        }),
    );
    if !r.sdem_fits.is_empty() {
        fold_table(
            &mut s,
            "\nSDEM with a fixed charge fitted per fold (RMS residual of R on the training feeds; permeances at a bound are only bounded by the data, and the held-out prediction depends on where the optimiser stopped):",
            &["X / (mol/m³)", "RMS", "permeances at a bound"],
            r.sdem_fits.iter().map(|f| {
                let bound = if f.charge_at_bound {
                    " (at its bound)"
                } else {
                    ""
                };
                let cells = vec![
                    format!("{:.1}{bound}", f.charge),
                    format!("{:.3}", f.rms),
                    listed(&f.at_bound),
                ];
                (f.scheme, f.fold.as_str(), cells)
            }),
        );
    }
    s
}

/// The share of held-out measurements inside each model's 90 % prediction interval.
fn coverage_table(s: &mut String, r: &CrossValReport, scheme: FoldScheme, seeds: usize) {
    use std::fmt::Write as _;
    let cell = |m: ModelKind, ion: &str| {
        r.coverage
            .iter()
            .find(|c| c.scheme == scheme && c.model == m && c.ion == ion)
            .map_or("-".to_string(), |c| {
                format!(
                    "{:.0} % ({}/{})",
                    100.0 * c.inside as f64 / c.count.max(1) as f64,
                    c.inside,
                    c.count
                )
            })
    };
    if !r.coverage.iter().any(|c| c.scheme == scheme) {
        return;
    }
    let _ = writeln!(
        s,
        "Held-out measurements inside the {:.0} % prediction interval (DSPM-DE: the fold fit's parameter samples and residual scatter; learned models: {} with their RMSE of R on the fold's training feeds, for the hybrid and the neural ODE+ with each training feed left out in turn where there are two or more). A calibrated interval holds about {:.0} %.\n",
        100.0 * INTERVAL_LEVEL,
        if seeds > 1 {
            format!("the mixture over their {seeds} seeds")
        } else {
            "one seed".to_string()
        },
        100.0 * INTERVAL_LEVEL
    );
    let models: Vec<ModelKind> = ModelKind::ALL
        .into_iter()
        .filter(|&m| {
            r.coverage
                .iter()
                .any(|c| c.scheme == scheme && c.model == m)
        })
        .collect();
    ion_table_header(s, &models);
    for ion in r.ions.iter().map(String::as_str).chain(["all"]) {
        if r.coverage
            .iter()
            .any(|c| c.scheme == scheme && c.ion == ion)
        {
            let _ = writeln!(
                s,
                "| {ion} | {} |",
                models
                    .iter()
                    .map(|&m| cell(m, ion))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
    }
    let _ = writeln!(s);
}

/// One figure per held-out feed from the leave-one-feed-out folds, or from a given
/// train/test split (the first seed): measured rejections and each model's held-out curve.
pub fn feed_figures(r: &CrossValReport) -> Vec<RejectionPanels> {
    let n = r.ions.len();
    let seed = r.predictions.iter().find_map(|p| p.seed);
    (0..r.samples.len())
        .filter_map(|i| {
            let preds: Vec<_> = ModelKind::ALL
                .iter()
                .filter_map(|&m| {
                    r.predictions.iter().find(|p| {
                        matches!(p.scheme, FoldScheme::Feed | FoldScheme::Given)
                            && p.sample == i
                            && p.model == m
                            && (p.seed.is_none() || p.seed == seed)
                    })
                })
                .collect();
            // Every model that predicted this feed (the SDEM may not have: a feed of an ion
            // its training feeds lacked).
            if preds.is_empty() {
                return None;
            }
            let present: Vec<usize> = (0..n).filter(|&j| preds[0].curve[j].is_some()).collect();
            let by_ion = |v: &[Option<f64>], j: usize| -> Vec<f64> {
                v.iter()
                    .skip(j)
                    .step_by(n)
                    .map(|x| x.unwrap_or(f64::NAN))
                    .collect()
            };
            let seeds: Vec<u64> = {
                let mut v: Vec<u64> = r.predictions.iter().filter_map(|p| p.seed).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            Some(RejectionPanels {
                title: format!(
                    "{}: held out, models trained on the other feeds{}",
                    r.samples[i],
                    match (seed, seeds.len()) {
                        (Some(s), n) if n > 1 => format!(" (learned models: seed {s} of {n})"),
                        (Some(s), _) => format!(" (learned models: seed {s})"),
                        _ => String::new(),
                    }
                ),
                intrinsic: r.intrinsic,
                ions: present.iter().map(|&j| r.ions[j].clone()).collect(),
                measured_flux: r.flux[i].clone(),
                measured: present.iter().map(|&j| by_ion(&r.measured[i], j)).collect(),
                grid: preds[0].curve_flux.clone(),
                models: preds
                    .iter()
                    .map(|p| {
                        (
                            p.model.label().to_string(),
                            present.iter().map(|&j| by_ion(&p.curve, j)).collect(),
                        )
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A per-fold table: `intro`, then a header of the fold columns and `columns`, then a row per
/// fold (scheme, held-out fold, cells).
fn fold_table<'a>(
    s: &mut String,
    intro: &str,
    columns: &[&str],
    rows: impl Iterator<Item = (FoldScheme, &'a str, Vec<String>)>,
) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "{intro}\n");
    let _ = writeln!(s, "| folds | held out | {} |", columns.join(" | "));
    let _ = writeln!(s, "|---|---|{}", "---|".repeat(columns.len()));
    for (scheme, fold, cells) in rows {
        let _ = writeln!(s, "| {} | {fold} | {} |", scheme.label(), cells.join(" | "));
    }
}

/// The header of a table with a row per ion and a column per model.
fn ion_table_header(s: &mut String, models: &[ModelKind]) {
    use std::fmt::Write as _;
    let labels: Vec<&str> = models.iter().map(|m| m.label()).collect();
    let _ = writeln!(s, "| ion | {} |", labels.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(models.len()));
}

/// How far the scheme's held-out measurements lie beyond their training feeds' rejections at
/// the same flux (data only, no model: [`iontransport_model::beyond`]).
fn beyond_table(s: &mut String, r: &CrossValReport, scheme: FoldScheme) {
    use iontransport_model::beyond::OUTSIDE_MARGIN;
    use std::fmt::Write as _;
    let rows: Vec<_> = r.beyond.iter().filter(|b| b.scheme == scheme).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "Held-out measurements against their training feeds' measured rejections at the same flux (no model: each training feed's curve linear between its fluxes, flat beyond them). Outside: beyond the training feeds' range by more than {OUTSIDE_MARGIN} in R; distance: mean distance from that range in R, what a model that stays within it misses by at least; feed mean: the error of the training feeds' mean rejection as the prediction.\n"
    );
    let _ = writeln!(
        s,
        "| ion | points | outside the range | mean distance | feed mean MAE |\n|---|---|---|---|---|"
    );
    for b in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.3} | {:.3} |",
            b.ion, b.count, b.outside, b.mean_distance, b.feed_mean_mae
        );
    }
    let _ = writeln!(s);
}

/// The positive neural ODE's fine-tuning epochs per fold (seeds separated by `/`), chosen on
/// each fold's training feeds alone.
fn finetune_line(s: &mut String, r: &CrossValReport, scheme: FoldScheme) {
    use std::fmt::Write as _;
    let mut folds: Vec<(&str, Vec<String>)> = Vec::new();
    for c in r.finetune_epochs.iter().filter(|c| c.scheme == scheme) {
        let e = c.epochs.to_string();
        match folds.iter_mut().find(|(f, _)| *f == c.fold) {
            Some((_, v)) => v.push(e),
            None => folds.push((&c.fold, vec![e])),
        }
    }
    if folds.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "neural ODE+ fine-tuning epochs per seed, chosen by leaving each training feed out in turn (0: the pre-trained network): {}.\n",
        folds
            .iter()
            .map(|(f, v)| format!("{f} {}", v.join("/")))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// How far the pre-trained networks are from the physics they were pre-trained on (before
/// fine-tuning), per ion: mean over the scheme's folds, then mean ± sd over seeds.
fn fidelity_table(s: &mut String, r: &CrossValReport, scheme: FoldScheme) {
    use std::fmt::Write as _;
    let rows: Vec<_> = r
        .pretraining_fidelity
        .iter()
        .filter(|f| f.scheme == scheme)
        .collect();
    let models: Vec<ModelKind> = ModelKind::ALL
        .into_iter()
        .filter(|&m| rows.iter().any(|f| f.model == m))
        .collect();
    if models.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "Pre-trained networks against the physics they were pre-trained on, before fine-tuning (mean |R_network − R_physics| on the held-out feeds' curves; no measurement enters):\n"
    );
    ion_table_header(s, &models);
    for (k, ion) in r.ions.iter().enumerate() {
        let cells: Vec<String> = models
            .iter()
            .map(|&m| {
                // Per seed, the mean over the folds that hold the ion.
                let mut seeds: Vec<u64> = rows
                    .iter()
                    .filter(|f| f.model == m)
                    .map(|f| f.seed)
                    .collect();
                seeds.sort_unstable();
                seeds.dedup();
                let per_seed: Vec<f64> = seeds
                    .iter()
                    .filter_map(|&seed| {
                        let v: Vec<f64> = rows
                            .iter()
                            .filter(|f| f.model == m && f.seed == seed)
                            .filter_map(|f| f.mae[k])
                            .collect();
                        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                    })
                    .collect();
                match per_seed.len() {
                    0 => "-".to_string(),
                    1 => format!("{:.3}", per_seed[0]),
                    _ => {
                        let (mean, sd) = mean_sd(&per_seed);
                        format!("{mean:.3} ± {sd:.3}")
                    }
                }
            })
            .collect();
        if cells.iter().all(|c| c == "-") {
            continue;
        }
        let _ = writeln!(s, "| {ion} | {} |", cells.join(" | "));
    }
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_that_share_a_slug_get_separate_figure_files() {
        // `A+B`, `A B` and `a-b` all gave `crossval-a-b`: one file for three feeds, while the
        // report said it wrote three.
        let mut taken = std::collections::HashSet::new();
        let names: Vec<String> = ["A+B: x", "A B: y", "a-b: z", "NaCl+traces: w"]
            .iter()
            .map(|t| unique(&mut taken, format!("crossval-{}", slug(t))))
            .collect();
        assert_eq!(
            names,
            [
                "crossval-a-b",
                "crossval-a-b-2",
                "crossval-a-b-3",
                "crossval-nacl-traces"
            ]
        );
    }
}
