//! The reproduction suite: the neural ODE and FNN, CNN and U-Net baselines (each with and
//! without attention, parameter counts matched), each with the pre-training (PT/NPT) and
//! electroneutrality (HIB/SIB) ablations, over seeds on the same splits, against the fitted
//! DSPM-DE; writes `results.json`, `report.md` and the figures (SVG and PNG).

use crate::figures::{self, Bars, Heatmaps, Parity, RejectionPanels};
use ion_species::{Composition, IonRegistry};
use iontransport_model::data::SplitKind;
use iontransport_model::evaluate::dspmde_prediction;
use iontransport_model::model::{Architecture, Constraint, IonModel};
use iontransport_model::network::{Body, NetworkConfig};
use iontransport_model::pipeline::{PipelineConfig, Prepared, prepare, run_hybrid, run_prepared};
use iontransport_model::{ModelError, Result};
use np_transport::data::{Dataset, write_atomic};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// The model family of a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// The attention neural ODE (the method).
    NeuralOde,
    /// Feed-forward network: the same network as a direct (feed, J_v) -> permeate regressor.
    Fnn,
    /// 1-D CNN over the ion slots, direct regressor.
    Cnn,
    /// 1-D U-Net over the ion slots, direct regressor.
    UNet,
    /// The hybrid: the DSPM-DE with a fitted charge isotherm as backbone and a learned
    /// correction (not one of the paper's families; not in [`Method::ALL`]).
    Hybrid,
}

impl Method {
    /// All methods, the method first.
    pub const ALL: [Method; 4] = [Method::NeuralOde, Method::Fnn, Method::Cnn, Method::UNet];

    /// Prefix of variant names ("" for the method).
    pub fn prefix(self) -> &'static str {
        match self {
            Method::NeuralOde => "",
            Method::Fnn => "FNN-",
            Method::Cnn => "CNN-",
            Method::UNet => "UNET-",
            Method::Hybrid => "HYBRID-",
        }
    }

    /// Display name.
    pub fn label(self) -> &'static str {
        match self {
            Method::NeuralOde => "neural ODE",
            Method::Fnn => "FNN",
            Method::Cnn => "CNN",
            Method::UNet => "U-Net",
            Method::Hybrid => "hybrid",
        }
    }
}

/// One model variant of the ablation grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Short name, e.g. "ATT-HIB-PT".
    pub name: String,
    /// Attention layer on.
    pub attention: bool,
    /// Hard (true) or soft electroneutrality.
    pub hard: bool,
    /// Pre-trained on DSPM-DE data.
    pub pretrained: bool,
    /// Model family.
    pub method: Method,
    /// The positivity-preserving hard projection (extension, "HIB+"; see
    /// `Constraint::HardPositive`) instead of the Euclidean one.
    #[serde(default)]
    pub positive: bool,
    /// Trained below the median ionic strength and tested above it (the extrapolation
    /// split) instead of the random split.
    #[serde(default)]
    pub extrapolation: bool,
}

impl Variant {
    /// The variant's name, e.g. "ATT-HIB-PT" or "CNN-NOATT-SIB-NPT".
    pub fn name_of(method: Method, attention: bool, hard: bool, pretrained: bool) -> String {
        format!(
            "{}{}-{}-{}",
            method.prefix(),
            if attention { "ATT" } else { "NOATT" },
            if hard { "HIB" } else { "SIB" },
            if pretrained { "PT" } else { "NPT" }
        )
    }

    /// The network of this variant: the base perceptron for the neural ODE and FNN, a
    /// convolutional body whose width brings the parameter count closest to the neural ODE's
    /// (same attention setting) for the CNN and U-Net.
    pub fn network(&self, base: &NetworkConfig) -> NetworkConfig {
        let mlp = NetworkConfig {
            attention: self.attention,
            body: Body::Mlp,
            ..base.clone()
        };
        let kind: fn(usize) -> Body = match self.method {
            Method::NeuralOde | Method::Fnn | Method::Hybrid => return mlp,
            Method::Cnn => |channels| Body::Cnn { channels },
            Method::UNet => |channels| Body::UNet { channels },
        };
        mlp.with_matched_body(kind, mlp.num_params())
    }
}

/// The attention matrix of the main model for one named test composition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionMap {
    /// Sample id of the test feed.
    pub feed: String,
    /// Flux the matrix is evaluated at, m/s.
    pub flux: f64,
    /// Present ions (labels of rows and columns).
    pub ions: Vec<String>,
    /// Row i: the weights ion i gives each ion (rows sum to 1).
    pub matrix: Vec<Vec<f64>>,
}

/// Results of one variant over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    /// The variant.
    pub variant: Variant,
    /// Parameter count.
    pub parameters: usize,
    /// Test MSE (normalised concentrations) per seed.
    pub mse: Vec<f64>,
    /// Share within +/-10 % per seed.
    pub within_10_percent: Vec<f64>,
    /// Largest relative charge imbalance of predictions per seed.
    pub max_relative_charge: Vec<f64>,
    /// Training seconds (pre-training + fine-tuning) per seed.
    pub train_seconds: Vec<f64>,
    /// The fitted DSPM-DE's test MSE per seed (same split).
    pub dspmde_mse: Vec<f64>,
    /// Rejection MAE per ion class (majors, minors, traces) per seed.
    #[serde(default)]
    pub mae_by_class: Vec<Vec<f64>>,
    /// The fitted DSPM-DE's rejection MAE per ion class per seed.
    #[serde(default)]
    pub dspmde_mae_by_class: Vec<Vec<f64>>,
    /// The fitted DSPM-DE's share within +/-10 % per seed.
    #[serde(default)]
    pub dspmde_within_10_percent: Vec<f64>,
    /// The build that ran each seed's unit (empty where not recorded).
    #[serde(default)]
    pub builds: Vec<String>,
    /// The hybrid's backbone activity model per seed (empty for other methods).
    #[serde(default)]
    pub backbone_activity: Vec<String>,
}

/// Everything a reproduction run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// "quick", "full" or "tiny".
    pub configuration: String,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Whether the measurement set is synthetic, and its description.
    pub synthetic: Option<String>,
    /// Per variant.
    pub variants: Vec<VariantResult>,
    /// Statements about the method's claims, with the numbers behind them.
    pub claims: Vec<(String, bool, String)>,
    /// Attention matrices of the main model (first seed) for named test compositions.
    pub attention: Vec<AttentionMap>,
    /// Figure files written next to the report (SVG and PNG of each).
    pub figures: Vec<String>,
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (m, sd)
}

/// Every method with and without attention, hard/soft electroneutrality and with/without
/// pre-training: 4 x 2 x 2 x 2 = 32 variants, the method's eight first; then the two
/// pre-trained neural ODEs with the positivity-preserving projection (the extension).
pub fn variants() -> Vec<Variant> {
    let mut v = Vec::new();
    for method in Method::ALL {
        for attention in [true, false] {
            for hard in [true, false] {
                for pretrained in [true, false] {
                    v.push(Variant {
                        name: Variant::name_of(method, attention, hard, pretrained),
                        attention,
                        hard,
                        pretrained,
                        method,
                        positive: false,
                        extrapolation: false,
                    });
                }
            }
        }
    }
    // The extension: the neural ODE with the positivity-preserving projection, pre-trained.
    for attention in [true, false] {
        v.push(Variant {
            name: format!("{}-HIB+-PT", if attention { "ATT" } else { "NOATT" }),
            attention,
            hard: true,
            pretrained: true,
            method: Method::NeuralOde,
            positive: true,
            extrapolation: false,
        });
    }
    // The hybrid (DSPM-DE with a fitted charge isotherm + learned correction), then the
    // extrapolation split for it and for the method.
    let hybrid = Variant {
        name: HYBRID.into(),
        attention: true,
        hard: true,
        pretrained: false,
        method: Method::Hybrid,
        positive: true,
        extrapolation: false,
    };
    v.push(hybrid.clone());
    v.push(Variant {
        name: format!("{HYBRID}-EXTRAP"),
        extrapolation: true,
        ..hybrid
    });
    v.push(Variant {
        name: format!("{MAIN}-EXTRAP"),
        attention: true,
        hard: true,
        pretrained: true,
        method: Method::NeuralOde,
        positive: false,
        extrapolation: true,
    });
    v
}

/// The hybrid's variant name.
pub const HYBRID: &str = "HYBRID";

/// The pipeline configuration of `v` on top of `base`.
fn variant_config(v: &Variant, base: &PipelineConfig, seed: u64) -> PipelineConfig {
    PipelineConfig {
        seed,
        network: v.network(&base.network),
        constraint: if v.positive {
            Constraint::HardPositive
        } else if v.hard {
            Constraint::Hard
        } else {
            Constraint::Soft { weight: 1.0 }
        },
        skip_pretraining: !v.pretrained,
        architecture: if matches!(v.method, Method::NeuralOde | Method::Hybrid) {
            Architecture::NeuralOde
        } else {
            Architecture::Direct
        },
        split: split_of(v),
        ..base.clone()
    }
}

fn split_of(v: &Variant) -> SplitKind {
    if v.extrapolation {
        SplitKind::Extrapolation
    } else {
        SplitKind::Random
    }
}

/// The result of one (seed, variant) unit of work: what a shard writes, and what a study is
/// assembled from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    /// Seed.
    pub seed: u64,
    /// Variant name.
    pub variant: String,
    /// Parameter count.
    pub parameters: usize,
    /// Test MSE (normalised concentrations).
    pub mse: f64,
    /// Share within +/-10 %.
    pub within_10_percent: f64,
    /// Largest relative charge imbalance of predictions.
    pub max_relative_charge: f64,
    /// Training seconds (pre-training + fine-tuning).
    pub train_seconds: f64,
    /// The fitted DSPM-DE's test MSE (same split).
    pub dspmde_mse: f64,
    /// Rejection MAE per ion class (majors, minors, traces).
    #[serde(default)]
    pub mae_by_class: Vec<f64>,
    /// The fitted DSPM-DE's rejection MAE per ion class (same split).
    #[serde(default)]
    pub dspmde_mae_by_class: Vec<f64>,
    /// The fitted DSPM-DE's share within +/-10 % (same split).
    #[serde(default)]
    pub dspmde_within_10_percent: f64,
    /// Epochs run: pre-training then fine-tuning (early stopping decides), or the training
    /// epochs of the hybrid; empty in units written before it was recorded.
    #[serde(default)]
    pub epochs: Vec<usize>,
    /// Fingerprint of the study that ran this unit ([`Manifest::study_fingerprint`]): `merge`
    /// refuses a unit of another study (configuration, seeds or data) in the shards folder.
    /// Empty in unsharded runs.
    #[serde(default)]
    pub study: String,
    /// The build that ran this unit ([`crate::BUILD`]); empty in units written before it was
    /// recorded.
    #[serde(default)]
    pub build: String,
    /// The hybrid's backbone activity model (`Ideal` or `Davies`, chosen by the validation feeds, else the training fit);
    /// empty for the other methods and in units written before it was recorded.
    #[serde(default)]
    pub backbone_activity: String,
}

/// What one run of a shard did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRun {
    /// Units run now.
    pub run: usize,
    /// Units the shard owns ([`shard_of`]), finished before or now.
    pub owned: usize,
}

/// What a sharded study writes next to its units, so that `merge` rebuilds the same study and
/// refuses shards of different studies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// "quick", "full" or "tiny".
    pub configuration: String,
    /// The pipeline configuration (seed 0).
    pub base: PipelineConfig,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Fingerprint of the measurements (FNV-1a of their CSV form).
    pub data_fingerprint: String,
    /// Number of shards.
    pub shards: usize,
}

impl Manifest {
    /// FNV-1a of the manifest without its shard count (a unit's result does not depend on how
    /// the study was dealt out).
    pub fn study_fingerprint(&self) -> String {
        let key = Manifest {
            shards: 0,
            ..self.clone()
        };
        let json = serde_json::to_string(&key).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in json.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// FNV-1a of the data set's feeds, fluxes and targets.
fn data_fingerprint(ds: &Dataset) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for s in &ds.samples {
        eat(s.id.as_bytes());
        for c in &s.feed {
            eat(&c.to_le_bytes());
        }
        for p in &s.points {
            eat(&p.flux.to_le_bytes());
            for v in p.permeate.iter().chain(&p.permeate_sd) {
                eat(&v.unwrap_or(f64::NAN).to_le_bytes());
            }
        }
    }
    format!("{h:016x}")
}

/// The units of a study in a fixed order (seed-major, then the variant grid); see
/// [`shard_of`] for which shard runs which.
pub fn units(seeds: &[u64]) -> Vec<(u64, Variant)> {
    seeds
        .iter()
        .flat_map(|&s| variants().into_iter().map(move |v| (s, v)))
        .collect()
}

/// A unit's expected cost, relative: about its training seconds in the first whole `--full`
/// seed on one core (docs/reproduction.md). Pre-training is what costs: the neural ODE's
/// ~600 s under the hard constraint and ~1,100 s under the soft one (every unit that recorded
/// its epochs ran all 200 pre-training epochs, so presumably more solver steps; not
/// measured), the CNN's ~750 s, the U-Net's ~450 s, the FNN's ~200 s; a unit without
/// pre-training (the hybrid included) takes seconds. Only the ratios matter.
///
/// These costs also deal the units into shards ([`shard_of`]): changing them moves units
/// between the shards of a study already under way (docs/full, dealt into 10 shards, is one),
/// so that a later run of a shard would skip units another shard was to run. Refine them only
/// between studies, from the per-unit training times that `reproduce plan` reports.
pub fn expected_cost(v: &Variant) -> u64 {
    if !v.pretrained {
        return 10;
    }
    match (v.method, v.hard) {
        (Method::NeuralOde | Method::Hybrid, true) => 600,
        (Method::NeuralOde | Method::Hybrid, false) => 1100,
        (Method::Cnn, _) => 750,
        (Method::UNet, _) => 450,
        (Method::Fnn, _) => 200,
    }
}

/// The shard (of `shards`) that runs each of `units`: the longest expected first
/// ([`expected_cost`]), each to the shard with the least expected work so far (ties: the
/// lowest shard). The shards' expected loads then differ by at most one unit's cost.
/// Dealing by index gave one shard of two every pre-trained unit (the grid alternates PT and
/// NPT); dealing the pre-trained units round-robin gave it every hard one and the other
/// every soft one, which took about twice as long; a guessed cost for the hybrid (15 min;
/// it takes seconds) left one shard of the first whole seed idle for 20 minutes.
pub fn shard_of(units: &[(u64, Variant)], shards: usize) -> Vec<usize> {
    let shards = shards.max(1);
    let mut order: Vec<usize> = (0..units.len()).collect();
    // Stable: equal costs keep study order.
    order.sort_by_key(|&i| std::cmp::Reverse(expected_cost(&units[i].1)));
    let mut load = vec![0u64; shards];
    let mut shard = vec![0; units.len()];
    for i in order {
        let lightest = (0..shards)
            .min_by_key(|&k| (load[k], k))
            .expect("at least one shard");
        shard[i] = lightest;
        load[lightest] += expected_cost(&units[i].1);
    }
    shard
}

/// The shard count of the study in `out`, as its first shard recorded it in
/// `out/shards/manifest.json`; None before any shard of it has started.
pub fn recorded_shards(out: &Path) -> Result<Option<usize>> {
    let path = out.join("shards").join("manifest.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let m: Manifest = serde_json::from_str(&text).map_err(|e| io_err(&path, e))?;
            Ok(Some(m.shards))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path, e)),
    }
}

/// One-core seconds of a whole seed of the quick study: `reproduce --seeds 0` took 339 CPU
/// seconds (3 min 6 s on 2 cores, 2026-12-07; the five-seed study of docs/reproduction.md took
/// 81 CPU-minutes with older builds, shared with other work).
const QUICK_SECONDS_PER_SEED: f64 = 339.0;

/// A unit's expected one-core seconds in `configuration` ("full" or "quick"): the full
/// study's measured unit costs ([`expected_cost`]), scaled for the quick study so that a seed
/// costs what a measured quick seed did.
pub fn expected_seconds(v: &Variant, configuration: &str) -> f64 {
    let full = expected_cost(v) as f64;
    if configuration == "full" {
        full
    } else {
        let seed: u64 = variants().iter().map(expected_cost).sum();
        full * QUICK_SECONDS_PER_SEED / seed as f64
    }
}

/// What `reproduce plan` prints: the units and expected one-core time of each of `shards`
/// shards, and the Slurm lines that run them with a `--time` that fits the longest. When `out`
/// already holds units of the study (dealt into the same shards), also what each shard has
/// done and still owes, and how the finished units' training time compares with the
/// expectation.
pub fn plan(configuration: &str, seeds: &[u64], shards: usize, out: &Path) -> Result<String> {
    use std::fmt::Write as _;
    if shards == 0 {
        return Err(ModelError::InvalidInput(
            "--shards must be at least 1".into(),
        ));
    }
    if seeds.is_empty() {
        return Err(ModelError::InvalidInput("no seed given".into()));
    }
    let all = units(seeds);
    let owner = shard_of(&all, shards);
    let mut count = vec![0usize; shards];
    for &k in &owner {
        count[k] += 1;
    }
    let secs = shard_seconds(configuration, &all, &owner, shards, |_| true);
    let total: f64 = secs.iter().sum();
    let longest = secs.iter().cloned().fold(0.0, f64::max);
    let recorded = recorded_shards(out)?;
    let progress = match recorded {
        Some(n) if n != shards => None,
        _ => progress_of(configuration, &all, &owner, shards, out),
    };
    // One core's time (a shard's two threads measured about 1.1 cores of use), half again
    // for a slower node, rounded up to a quarter hour.
    let limit_min = ((1.5 * longest / 60.0) / 15.0).ceil().max(1.0) * 15.0;
    let hours = |s: f64| s / 3600.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "study: {configuration}, seeds {}: {} units in {shards} shards, {:.1} core-hours expected in all (unit costs measured on the first whole --full seed; the quick study scaled to its measured {:.1} core-minutes per seed)",
        seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        all.len(),
        hours(total),
        QUICK_SECONDS_PER_SEED / 60.0
    );
    match &progress {
        None => {
            let _ = writeln!(
                o,
                "\n| shard | units | expected core-hours |\n|---|---|---|"
            );
            for k in 0..shards {
                let _ = writeln!(o, "| {k} | {} | {:.2} |", count[k], hours(secs[k]));
            }
        }
        Some(p) => {
            let _ = writeln!(
                o,
                "\n| shard | units | done | expected core-hours | still to run |\n|---|---|---|---|---|"
            );
            for k in 0..shards {
                let _ = writeln!(
                    o,
                    "| {k} | {} | {} | {:.2} | {:.2} |",
                    count[k],
                    p.done[k],
                    hours(secs[k]),
                    hours(p.remaining[k])
                );
            }
            let done: usize = p.done.iter().sum();
            let _ = writeln!(
                o,
                "\nin {}: {done} of {} units done; their training took {:.1} one-core hours against {:.1} expected ({:.2}x); {:.1} core-hours expected for the {} still to run",
                out.display(),
                all.len(),
                hours(p.measured),
                hours(p.expected_done),
                p.measured / p.expected_done.max(1e-9),
                hours(p.remaining.iter().sum()),
                all.len() - done
            );
        }
    }
    if let Some(n) = recorded.filter(|&n| n != shards) {
        let _ = writeln!(
            o,
            "\nnote: the study in {} was dealt into {n} shards (its shards/manifest.json); plan with --shards {n} to see what each has done and still owes",
            out.display()
        );
    }
    if count.contains(&0) {
        let _ = writeln!(
            o,
            "\nnote: {} of the shards own no unit: ask for at most {} shards",
            count.iter().filter(|c| **c == 0).count(),
            all.len()
        );
    }
    let (h, m) = (limit_min as u64 / 60, limit_min as u64 % 60);
    let seeds_arg = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let _ = writeln!(
        o,
        "\nthe longest shard: {:.2} core-hours; --time={h:02}:{m:02}:00 allows 1.5x that on one core.\n\nSlurm (tools/slurm-reproduce.sh; one array task per shard, then the merge):\n\n  CONFIG={configuration} SEEDS={seeds_arg} OUT={out} sbatch --array=0-{} --time={h:02}:{m:02}:00 tools/slurm-reproduce.sh\n  sbatch --dependency=afterok:<array job id> --wrap \"iontransport reproduce merge --out {out}\"\n\nA task that timed out or failed: resubmit its index alone (sbatch --array=K ... with the same variables: the shard count is read from {out}/shards/manifest.json), then submit the merge again (a merge waiting on afterok of a failed array never starts: scancel it).",
        hours(longest),
        shards - 1,
        out = out.display(),
    );
    Ok(o)
}

/// Expected one-core seconds of each shard's units `all[i]` for which `counted(i)` holds
/// (shard `owner[i]`), with a minute of preparation for each seed a full shard runs them for
/// (split, fit, pre-training data: docs/reproduction.md; the quick study's measured time
/// holds its preparation).
fn shard_seconds(
    configuration: &str,
    all: &[(u64, Variant)],
    owner: &[usize],
    shards: usize,
    counted: impl Fn(usize) -> bool,
) -> Vec<f64> {
    let mut secs = vec![0.0; shards];
    let mut prepared: Vec<std::collections::BTreeSet<u64>> = vec![Default::default(); shards];
    for (i, ((seed, v), &k)) in all.iter().zip(owner).enumerate() {
        if counted(i) {
            secs[k] += expected_seconds(v, configuration);
            if configuration == "full" && prepared[k].insert(*seed) {
                secs[k] += 60.0;
            }
        }
    }
    secs
}

/// How far the study in `out` has come, by shard, for [`plan`].
struct Progress {
    /// Units with a result file, per shard.
    done: Vec<usize>,
    /// Expected one-core seconds of the units still to run (and their seeds' preparation),
    /// per shard.
    remaining: Vec<f64>,
    /// Training seconds the finished units recorded, and what [`expected_seconds`] gave them.
    measured: f64,
    expected_done: f64,
}

/// The progress of the study in `out`, dealt into `shards` (None when it has no unit file of
/// these units yet). A unit counts as done when its file reads as this unit's result.
fn progress_of(
    configuration: &str,
    all: &[(u64, Variant)],
    owner: &[usize],
    shards: usize,
    out: &Path,
) -> Option<Progress> {
    let dir = out.join("shards");
    let mut p = Progress {
        done: vec![0; shards],
        remaining: Vec::new(),
        measured: 0.0,
        expected_done: 0.0,
    };
    let mut finished = vec![false; all.len()];
    for (i, ((seed, v), &k)) in all.iter().zip(owner).enumerate() {
        let unit = std::fs::read_to_string(unit_path(&dir, *seed, &v.name))
            .ok()
            .and_then(|t| serde_json::from_str::<UnitResult>(&t).ok())
            .filter(|u| u.seed == *seed && u.variant == v.name);
        if let Some(u) = unit {
            finished[i] = true;
            p.done[k] += 1;
            p.measured += u.train_seconds;
            p.expected_done += expected_seconds(v, configuration);
        }
    }
    p.remaining = shard_seconds(configuration, all, owner, shards, |i| !finished[i]);
    (p.done.iter().sum::<usize>() > 0).then_some(p)
}

fn unit_path(dir: &Path, seed: u64, variant: &str) -> std::path::PathBuf {
    dir.join(format!("seed-{seed}-{variant}.json"))
}

fn showcase_model_path(dir: &Path, seed: u64) -> std::path::PathBuf {
    dir.join(format!("seed-{seed}-{MAIN}.model.json"))
}

/// Receives each finished unit, with the showcase model and its preparation when it is the
/// first seed's main variant.
type UnitSink<'a> = dyn FnMut(UnitResult, Option<(&Prepared, &IonModel)>) -> Result<()> + 'a;

/// Runs the given units, one seed's preparation at a time (split, DSPM-DE fit, pre-training
/// data; shared by that seed's variants); `done` receives each unit's result, and the main
/// variant's model with its preparation for the first seed of the study.
fn run_units(
    measurements: &Dataset,
    base: &PipelineConfig,
    todo: &[(u64, Variant)],
    first_seed: u64,
    reg: &IonRegistry,
    progress: bool,
    done: &mut UnitSink<'_>,
) -> Result<()> {
    let mut groups: Vec<(u64, SplitKind)> = Vec::new();
    for (s, v) in todo {
        if !groups.contains(&(*s, split_of(v))) {
            groups.push((*s, split_of(v)));
        }
    }
    for (seed, kind) in groups {
        let mine = |s: &u64, v: &Variant| *s == seed && split_of(v) == kind;
        let shared = PipelineConfig {
            seed,
            skip_pretraining: !todo.iter().any(|(s, v)| mine(s, v) && v.pretrained),
            split: kind,
            ..base.clone()
        };
        let prep = prepare(measurements, &shared, reg, false)?;
        for (_, v) in todo.iter().filter(|(s, v)| mine(s, v)) {
            let cfg = variant_config(v, base, seed);
            let classes = |m: &iontransport_model::evaluate::Metrics| -> Vec<f64> {
                m.classes.iter().map(|c| c.mae_rejection).collect()
            };
            let mut backbone_activity = String::new();
            let (model, metrics, secs, skipped, epochs) = if v.method == Method::Hybrid {
                let h = run_hybrid(&prep, &cfg, reg, false)?;
                let secs = h.report.seconds + h.backbone_seconds;
                let epochs = vec![h.report.epochs_run];
                backbone_activity = format!("{:?}", h.backbone_conditions.activity);
                (h.model, h.metrics, secs, h.report.skipped_batches, epochs)
            } else {
                let p = run_prepared(&prep, &cfg, reg, false)?;
                let secs = p.pretrain.as_ref().map_or(0.0, |t| t.seconds) + p.finetune.seconds;
                let skipped = p.pretrain.as_ref().map_or(0, |t| t.skipped_batches)
                    + p.finetune.skipped_batches;
                let epochs = vec![
                    p.pretrain.as_ref().map_or(0, |t| t.epochs_run),
                    p.finetune.epochs_run,
                ];
                (p.model, p.neural, secs, skipped, epochs)
            };
            if progress {
                eprintln!(
                    "seed {seed} {:<20} {:>5} parameters  test MSE {:.3e}  ({secs:.1} s, epochs {epochs:?}){}",
                    v.name,
                    model.num_params(),
                    metrics.mse,
                    if skipped > 0 {
                        format!("  {skipped} batches skipped (non-finite gradient)")
                    } else {
                        String::new()
                    }
                );
            }
            let unit = UnitResult {
                seed,
                variant: v.name.clone(),
                parameters: model.num_params(),
                mse: metrics.mse,
                within_10_percent: metrics.within_10_percent,
                max_relative_charge: metrics.max_relative_charge,
                train_seconds: secs,
                dspmde_mse: prep.dspmde.mse,
                mae_by_class: classes(&metrics),
                dspmde_mae_by_class: classes(&prep.dspmde),
                dspmde_within_10_percent: prep.dspmde.within_10_percent,
                epochs,
                study: String::new(),
                build: crate::BUILD.to_string(),
                backbone_activity,
            };
            let showcase = (seed == first_seed && v.name == MAIN).then_some((&prep, &model));
            done(unit, showcase)?;
        }
    }
    Ok(())
}

/// Assembles a study from its units (every seed x variant), judges the claims and writes
/// results.json, report.md and the figures into `out`.
#[allow(clippy::too_many_arguments)]
fn assemble(
    units: &[UnitResult],
    configuration: &str,
    seeds: &[u64],
    synthetic: Option<String>,
    showcase: (&Prepared, &IonModel),
    reg: &IonRegistry,
    out: &Path,
) -> Result<Results> {
    let results = collect(units, seeds, variants())?;
    let (prep, model) = showcase;
    let attention = attention_maps(model, prep, reg)?;
    let claims = judge(&results);
    let mut res = Results {
        configuration: configuration.to_string(),
        seeds: seeds.to_vec(),
        synthetic,
        variants: results,
        claims,
        attention,
        figures: Vec::new(),
    };
    res.figures = write_figures(&res, prep, model, reg, out)?;
    write_results(&res, out)?;
    Ok(res)
}

fn write_results(res: &Results, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(res).map_err(|e| io_err(out, e))?;
    write_atomic(&out.join("results.json"), json.as_bytes())?;
    write_atomic(&out.join("report.md"), report(res).as_bytes())?;
    Ok(())
}

/// Runs only the named variants (e.g. the hybrid's rows) for every seed and writes
/// results.json and report.md (their table and, for hybrid rows, the per-seed section); the
/// method's claims are not judged and no figures are drawn, since they need the whole grid.
#[allow(clippy::too_many_arguments)]
pub fn reproduce_only(
    measurements: &Dataset,
    base: &PipelineConfig,
    configuration: &str,
    seeds: &[u64],
    names: &[String],
    reg: &IonRegistry,
    out: &Path,
    progress: bool,
) -> Result<Results> {
    if seeds.is_empty() {
        return Err(ModelError::InvalidInput("no seed given".into()));
    }
    let grid = variants();
    let chosen: Vec<Variant> = names
        .iter()
        .map(|n| {
            grid.iter().find(|v| v.name == *n).cloned().ok_or_else(|| {
                ModelError::InvalidInput(format!(
                    "no variant `{n}` in the study; variants: {}",
                    grid.iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let todo: Vec<(u64, Variant)> = seeds
        .iter()
        .flat_map(|&s| chosen.iter().map(move |v| (s, v.clone())))
        .collect();
    let mut done = Vec::new();
    run_units(
        measurements,
        base,
        &todo,
        seeds[0],
        reg,
        progress,
        &mut |u, _| {
            done.push(u);
            Ok(())
        },
    )?;
    let res = Results {
        configuration: configuration.to_string(),
        seeds: seeds.to_vec(),
        synthetic: measurements.synthetic.clone(),
        variants: collect(&done, seeds, chosen)?,
        claims: Vec::new(),
        attention: Vec::new(),
        figures: Vec::new(),
    };
    write_results(&res, out)?;
    Ok(res)
}

/// Per-variant results over the seeds from the units (every one must be there).
fn collect(units: &[UnitResult], seeds: &[u64], grid: Vec<Variant>) -> Result<Vec<VariantResult>> {
    let mut results = Vec::new();
    for v in grid {
        let mut r = VariantResult {
            variant: v.clone(),
            parameters: 0,
            mse: vec![],
            within_10_percent: vec![],
            max_relative_charge: vec![],
            train_seconds: vec![],
            dspmde_mse: vec![],
            mae_by_class: vec![],
            dspmde_mae_by_class: vec![],
            dspmde_within_10_percent: vec![],
            builds: vec![],
            backbone_activity: vec![],
        };
        for &seed in seeds {
            let u = units
                .iter()
                .find(|u| u.seed == seed && u.variant == v.name)
                .ok_or_else(|| {
                    ModelError::InvalidInput(format!("no result for seed {seed}, {}", v.name))
                })?;
            r.parameters = u.parameters;
            r.mse.push(u.mse);
            r.within_10_percent.push(u.within_10_percent);
            r.max_relative_charge.push(u.max_relative_charge);
            r.train_seconds.push(u.train_seconds);
            r.dspmde_mse.push(u.dspmde_mse);
            r.mae_by_class.push(u.mae_by_class.clone());
            r.dspmde_mae_by_class.push(u.dspmde_mae_by_class.clone());
            r.dspmde_within_10_percent.push(u.dspmde_within_10_percent);
            r.builds.push(u.build.clone());
            r.backbone_activity.push(u.backbone_activity.clone());
        }
        results.push(r);
    }
    Ok(results)
}

/// Runs every variant for every seed on `measurements` and writes the results folder `out`:
/// results.json, report.md and the figures. Per seed the split, the DSPM-DE fit and the
/// pre-training data are computed once and shared by all variants. `progress` prints one
/// line per trained variant to stderr.
pub fn reproduce(
    measurements: &Dataset,
    base: &PipelineConfig,
    configuration: &str,
    seeds: &[u64],
    reg: &IonRegistry,
    out: &Path,
    progress: bool,
) -> Result<Results> {
    if seeds.is_empty() {
        return Err(ModelError::InvalidInput("no seed given".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let mut done = Vec::new();
    let mut showcase: Option<(Prepared, IonModel)> = None;
    run_units(
        measurements,
        base,
        &units(seeds),
        seeds[0],
        reg,
        progress,
        &mut |u, show| {
            done.push(u);
            if let Some((p, m)) = show {
                showcase = Some((p.clone(), m.clone()));
            }
            Ok(())
        },
    )?;
    let (prep, model) = showcase.expect("the main variant ran");
    assemble(
        &done,
        configuration,
        seeds,
        measurements.synthetic.clone(),
        (&prep, &model),
        reg,
        out,
    )
}

/// Runs shard `shard` of `shards` of a study: its units, each written to
/// `out/shards/seed-S-VARIANT.json` as soon as it finishes (with the main variant's model of
/// the first seed), so that a shard stopped at any point resumes where it was: units already
/// on disk are skipped. Shards are independent processes (one machine or a scheduler's job
/// array); [`merge`] assembles the study. Returns how many units ran now and how many the
/// shard owns.
#[allow(clippy::too_many_arguments)]
pub fn reproduce_shard(
    measurements: &Dataset,
    base: &PipelineConfig,
    configuration: &str,
    seeds: &[u64],
    (shard, shards): (usize, usize),
    reg: &IonRegistry,
    out: &Path,
    progress: bool,
) -> Result<ShardRun> {
    if seeds.is_empty() {
        return Err(ModelError::InvalidInput("no seed given".into()));
    }
    if shards == 0 || shard >= shards {
        return Err(ModelError::InvalidInput(format!(
            "shard {shard}/{shards}: needs 0 <= k < n"
        )));
    }
    let dir = out.join("shards");
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let manifest = Manifest {
        configuration: configuration.to_string(),
        base: PipelineConfig {
            seed: 0,
            ..base.clone()
        },
        seeds: seeds.to_vec(),
        data_fingerprint: data_fingerprint(measurements),
        shards,
    };
    let mpath = dir.join("manifest.json");
    match std::fs::read_to_string(&mpath) {
        Ok(text) => {
            let old: Manifest = serde_json::from_str(&text).map_err(|e| io_err(&mpath, e))?;
            if old.shards != shards && old.study_fingerprint() == manifest.study_fingerprint() {
                return Err(ModelError::InvalidInput(format!(
                    "this study was dealt into {} shards ({}), not {shards}: run --shard {shard}/{} or just --shard {shard} (a Slurm array resubmitted for one index sees SLURM_ARRAY_TASK_COUNT=1)",
                    old.shards,
                    mpath.display(),
                    old.shards
                )));
            }
            if old != manifest {
                return Err(ModelError::InvalidInput(format!(
                    "{} belongs to another study (configuration, seeds, data or shard count differ); use another --out",
                    mpath.display()
                )));
            }
        }
        Err(_) => {
            let json = serde_json::to_string_pretty(&manifest).map_err(|e| io_err(&mpath, e))?;
            write_atomic(&mpath, json.as_bytes())?;
        }
    }
    let study = manifest.study_fingerprint();
    let all = units(seeds);
    let owner = shard_of(&all, shards);
    let owned = owner.iter().filter(|o| **o == shard).count();
    let todo: Vec<(u64, Variant)> = all
        .into_iter()
        .enumerate()
        .filter(|(i, (s, v))| {
            owner[*i] == shard
                && !(unit_path(&dir, *s, &v.name).is_file()
                    && (*s != seeds[0]
                        || v.name != MAIN
                        || showcase_model_path(&dir, *s).is_file()))
        })
        .map(|(_, u)| u)
        .collect();
    let mut count = 0;
    run_units(
        measurements,
        base,
        &todo,
        seeds[0],
        reg,
        progress,
        &mut |u, show| {
            if let Some((_, m)) = show {
                iontransport_model::Checkpoint::of_model(m, u.seed)
                    .save(&showcase_model_path(&dir, u.seed))?;
            }
            let path = unit_path(&dir, u.seed, &u.variant);
            let u = UnitResult {
                study: study.clone(),
                ..u.clone()
            };
            let json = serde_json::to_string_pretty(&u).map_err(|e| io_err(&path, e))?;
            write_atomic(&path, json.as_bytes())?;
            count += 1;
            Ok(())
        },
    )?;
    Ok(ShardRun { run: count, owned })
}

/// Assembles a sharded study in `out` (from `out/shards`, see [`reproduce_shard`]): checks
/// that every unit is there, re-prepares the first seed (split and DSPM-DE fit, without
/// pre-training data) for the figures, and writes results.json, report.md and the figures
/// exactly as an unsharded run would (up to the training times).
pub fn merge(measurements: &Dataset, reg: &IonRegistry, out: &Path) -> Result<Results> {
    let dir = out.join("shards");
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| io_err(&mpath, e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| io_err(&mpath, e))?;
    if manifest.data_fingerprint != data_fingerprint(measurements) {
        return Err(ModelError::InvalidInput(
            "the shards were run on other measurements (pass the same --data)".into(),
        ));
    }
    let study = manifest.study_fingerprint();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (s, v) in units(&manifest.seeds) {
        let path = unit_path(&dir, s, &v.name);
        match std::fs::read_to_string(&path) {
            Ok(t) => {
                let u = serde_json::from_str::<UnitResult>(&t).map_err(|e| io_err(&path, e))?;
                if u.seed != s || u.variant != v.name || u.study != study {
                    return Err(ModelError::InvalidInput(format!(
                        "{} does not hold seed {s} {} of this study (it names seed {} {}, study `{}` against `{study}`): it was renamed, copied from another study or written by hand; delete it and rerun its shard",
                        path.display(),
                        v.name,
                        u.seed,
                        u.variant,
                        u.study
                    )));
                }
                found.push(u)
            }
            Err(_) => missing.push(format!("seed {s} {}", v.name)),
        }
    }
    if !missing.is_empty() {
        return Err(ModelError::InvalidInput(format!(
            "{} of {} units are missing (run their shards first): {}{}",
            missing.len(),
            missing.len() + found.len(),
            missing[..missing.len().min(5)].join(", "),
            if missing.len() > 5 { ", ..." } else { "" }
        )));
    }
    let first = manifest.seeds[0];
    let model = iontransport_model::Checkpoint::load(&showcase_model_path(&dir, first))?.model()?;
    let prep = prepare(
        measurements,
        &PipelineConfig {
            seed: first,
            skip_pretraining: true,
            ..manifest.base.clone()
        },
        reg,
        false,
    )?;
    assemble(
        &found,
        &manifest.configuration,
        &manifest.seeds,
        measurements.synthetic.clone(),
        (&prep, &model),
        reg,
        out,
    )
}

/// The method's main variant.
pub const MAIN: &str = "ATT-HIB-PT";

/// Test trajectories with the most ions first (ties: split order), for the named examples.
fn showcase_feeds(prep: &Prepared, count: usize) -> Vec<iontransport_model::data::Trajectory> {
    let mut te = prep.test();
    te.sort_by_key(|t| std::cmp::Reverse(t.feed.cond.mask.iter().filter(|m| **m).count()));
    te.truncate(count);
    te
}

fn composition_of(
    t: &iontransport_model::data::Trajectory,
    reg: &IonRegistry,
) -> Result<Composition> {
    let feed: Vec<f64> = t.feed.cond.h0.iter().map(|h| h * t.feed.scale).collect();
    Ok(Composition::from_vector(reg, &feed, false)?)
}

fn present(t: &iontransport_model::data::Trajectory) -> Vec<usize> {
    (0..t.feed.cond.mask.len())
        .filter(|&j| t.feed.cond.mask[j])
        .collect()
}

/// Attention of the main model for three test compositions, at their highest measured flux.
fn attention_maps(
    model: &IonModel,
    prep: &Prepared,
    reg: &IonRegistry,
) -> Result<Vec<AttentionMap>> {
    let mut maps = Vec::new();
    for t in showcase_feeds(prep, 3) {
        let flux = t.taus.iter().fold(0.0f64, |a, b| a.max(*b)) * model.config.flux_scale;
        let a = model.attention(&composition_of(&t, reg)?, flux)?;
        let idx = present(&t);
        maps.push(AttentionMap {
            feed: t.id.clone(),
            flux,
            ions: idx.iter().map(|&j| model.config.ions[j].clone()).collect(),
            matrix: idx
                .iter()
                .map(|&i| idx.iter().map(|&j| a[i][j]).collect())
                .collect(),
        });
    }
    Ok(maps)
}

/// The two bar charts of a study, built from its results alone: test MSE with and without
/// attention per method (hard constraint, pre-trained), and the PT/NPT and HIB/SIB ablations
/// with attention; each with the fitted DSPM-DE's MSE as a reference line. Returns
/// (file stem, figure) pairs.
pub fn summary_figures(res: &Results) -> Vec<(&'static str, Bars)> {
    // 3. MSE of every method with and without attention (hard, pre-trained).
    let stat = |m: Method, a: bool, h: bool, p: bool| {
        let name = Variant::name_of(m, a, h, p);
        res.variants
            .iter()
            .find(|r| r.variant.name == name)
            .map_or((f64::NAN, 0.0), |r| mean_sd(&r.mse))
    };
    let d = mean_sd(&res.variants[0].dspmde_mse).0;
    let groups: Vec<String> = Method::ALL.iter().map(|m| m.label().to_string()).collect();
    let fig = Bars {
        title: "Test MSE with and without attention (HIB, PT; mean ± sd over seeds)".into(),
        y_label: "test MSE of c_p / S".into(),
        groups: groups.clone(),
        series: [true, false]
            .iter()
            .map(|&a| {
                (
                    if a {
                        "with attention"
                    } else {
                        "without attention"
                    }
                    .to_string(),
                    Method::ALL
                        .iter()
                        .map(|&m| stat(m, a, true, true))
                        .collect(),
                )
            })
            .collect(),
        reference: Some(("fitted DSPM-DE".into(), d)),
    };
    let attention = fig;

    // 4. Ablations: pre-training and constraint, with attention.
    let fig = Bars {
        title: "Ablations with attention: pre-training (PT/NPT), hard/soft (HIB/SIB)".into(),
        y_label: "test MSE of c_p / S".into(),
        groups,
        series: [(true, true), (true, false), (false, true), (false, false)]
            .iter()
            .map(|&(h, p)| {
                (
                    format!(
                        "{}-{}",
                        if h { "HIB" } else { "SIB" },
                        if p { "PT" } else { "NPT" }
                    ),
                    Method::ALL.iter().map(|&m| stat(m, true, h, p)).collect(),
                )
            })
            .collect(),
        reference: Some(("fitted DSPM-DE".into(), d)),
    };
    vec![("mse-attention", attention), ("ablations", fig)]
}

/// Writes the five figures (SVG and PNG each); returns their file names.
fn write_figures(
    res: &Results,
    prep: &Prepared,
    model: &IonModel,
    reg: &IonRegistry,
    out: &Path,
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let synthetic = if res.synthetic.is_some() {
        " (SYNTHETIC measurements)"
    } else {
        ""
    };
    // 1. Rejection against flux for the test feed with the most ions.
    let t = showcase_feeds(prep, 1)
        .pop()
        .ok_or_else(|| ModelError::Training("the test split is empty".into()))?;
    let idx = present(&t);
    let n = t.feed.cond.h0.len();
    let tmax = t.taus.iter().fold(0.0f64, |a, b| a.max(*b));
    let grid: Vec<f64> = (1..=40).map(|k| tmax * 1.05 * k as f64 / 40.0).collect();
    let hn = model.predict_normalised(&t.feed.cond, &grid)?;
    let mut on_grid = t.clone();
    on_grid.taus = grid.clone();
    let hd = dspmde_prediction(&prep.dspm, reg, model.config.flux_scale, &on_grid)?;
    let rej = |h: &[f64], j: usize, k: usize| 1.0 - h[k * n + j] / t.feed.cond.h0[j];
    let curves = |h: &[f64]| -> Vec<Vec<f64>> {
        idx.iter()
            .map(|&j| (0..grid.len()).map(|k| rej(h, j, k)).collect())
            .collect()
    };
    let fig = RejectionPanels {
        title: format!("Test feed {}: rejection vs flux{synthetic}", t.id),
        ions: idx.iter().map(|&j| model.config.ions[j].clone()).collect(),
        measured_flux: t.taus.iter().map(|x| x * model.config.flux_scale).collect(),
        measured: idx
            .iter()
            .map(|&j| {
                (0..t.taus.len())
                    .map(|k| t.targets[k * n + j].map_or(f64::NAN, |y| 1.0 - y / t.feed.cond.h0[j]))
                    .collect()
            })
            .collect(),
        grid: grid.iter().map(|x| x * model.config.flux_scale).collect(),
        models: vec![
            ("fitted DSPM-DE".to_string(), curves(&hd)),
            ("neural ODE".to_string(), curves(&hn)),
        ],
        intrinsic: false,
    };
    figures::save(out, "rejection-vs-flux", &fig)?;
    written.push("rejection-vs-flux".to_string());

    // 2. Parity of every test prediction, both models.
    let te = prep.test();
    let neural = iontransport_model::evaluate::metrics(&te, &reg.valences(), &|t| {
        iontransport_model::evaluate::neural_prediction(model, t)
    })?;
    let fig = Parity {
        title: format!("Test permeate, {} feeds{synthetic}", te.len()),
        unit: "c_p / S".into(),
        models: vec![
            (format!("neural ODE ({MAIN})"), neural.parity),
            ("fitted DSPM-DE".into(), prep.dspmde.parity.clone()),
        ],
    };
    figures::save(out, "parity", &fig)?;
    written.push("parity".to_string());

    // 3-4. MSE bars: attention per method, and the ablations.
    for (name, fig) in summary_figures(res) {
        figures::save(out, name, &fig)?;
        written.push(name.to_string());
    }

    // 5. Attention heatmaps.
    let fig = Heatmaps {
        title: format!("Attention of the neural ODE ({MAIN}), test feeds at their highest flux"),
        panels: res
            .attention
            .iter()
            .map(|a| {
                (
                    format!("{} at {:.1} µm/s", a.feed, a.flux * 1e6),
                    a.ions.clone(),
                    a.matrix.clone(),
                )
            })
            .collect(),
    };
    figures::save(out, "attention", &fig)?;
    written.push("attention".to_string());
    Ok(written)
}

fn find<'a>(rs: &'a [VariantResult], name: &str) -> &'a VariantResult {
    rs.iter()
        .find(|r| r.variant.name == name)
        .expect("grid variant")
}

/// Compares mean test MSE of variant pairs for each claim.
fn judge(rs: &[VariantResult]) -> Vec<(String, bool, String)> {
    let m = |name: &str| mean_sd(&find(rs, name).mse).0;
    let name = Variant::name_of;
    let mut claims = Vec::new();
    let d = mean_sd(&find(rs, MAIN).dspmde_mse).0;
    claims.push((
        "the neural model beats the DSPM-DE fit".to_string(),
        m(MAIN) < d,
        format!("{MAIN} test MSE {:.3e} vs fitted DSPM-DE {d:.3e}", m(MAIN)),
    ));
    let mut all = true;
    let mut parts = Vec::new();
    for method in [Method::Fnn, Method::Cnn, Method::UNet] {
        for a in [true, false] {
            let b = name(method, a, true, true);
            all &= m(MAIN) < m(&b);
            parts.push(format!(
                "{b} {:.3e} ({} parameters)",
                m(&b),
                find(rs, &b).parameters
            ));
        }
    }
    claims.push((
        "it beats FNN, CNN and U-Net baselines of similar parameter count".to_string(),
        all,
        format!(
            "{MAIN} {:.3e} ({} parameters) vs {}",
            m(MAIN),
            find(rs, MAIN).parameters,
            parts.join(", ")
        ),
    ));
    // Pairwise claims over every method and the other two ablation axes.
    let mut pairs = |label: &str,
                     better: &dyn Fn(f64, f64) -> bool,
                     pick: &dyn Fn(Method, bool, bool) -> (String, String)| {
        let (mut held, mut total, mut parts) = (0, 0, Vec::new());
        for method in Method::ALL {
            for x in [true, false] {
                for y in [true, false] {
                    let (a, b) = pick(method, x, y);
                    let (ma, mb) = (m(&a), m(&b));
                    total += 1;
                    if better(ma, mb) {
                        held += 1;
                    }
                    parts.push(format!("{a} {ma:.3e} vs {b} {mb:.3e}"));
                }
            }
        }
        claims.push((
            label.to_string(),
            held == total,
            format!("in {held} of {total} pairs: {}", parts.join("; ")),
        ));
    };
    pairs("attention always helps", &|a, b| a < b, &|method, h, p| {
        (name(method, true, h, p), name(method, false, h, p))
    });
    pairs(
        "no pre-training gives a clearly (> 10 %) higher test MSE",
        &|a, b| b > 1.1 * a,
        &|method, a, h| (name(method, a, h, true), name(method, a, h, false)),
    );
    pairs(
        "hard constraints beat soft ones",
        &|a, b| a < b,
        &|method, a, p| (name(method, a, true, p), name(method, a, false, p)),
    );
    claims
}

/// The Markdown report; every number comes from `res` (the same as results.json).
pub fn report(res: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Reproduction report\n");
    let _ = writeln!(
        s,
        "Configuration: **{}**; seeds {:?}.",
        res.configuration, res.seeds
    );
    match &res.synthetic {
        Some(d) => {
            let _ = writeln!(s, "Measurements: **SYNTHETIC** ({d}).\n");
        }
        None => {
            let _ = writeln!(s, "Measurements: user data.\n");
        }
    }
    let _ = writeln!(
        s,
        "| variant | parameters | test MSE (mean ± sd) | within ±10 % | max relative charge | train time / s | fitted DSPM-DE MSE |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for r in &res.variants {
        let (m, sd) = mean_sd(&r.mse);
        let (w, _) = mean_sd(&r.within_10_percent);
        let q = r.max_relative_charge.iter().fold(0.0f64, |a, b| a.max(*b));
        let (t, _) = mean_sd(&r.train_seconds);
        let (d, _) = mean_sd(&r.dspmde_mse);
        let _ = writeln!(
            s,
            "| {} | {} | {:.4e} ± {:.1e} | {:.1} % | {:.1e} | {:.1} | {:.4e} |",
            r.variant.name,
            r.parameters,
            m,
            sd,
            100.0 * w,
            q,
            t,
            d
        );
    }
    let _ = writeln!(
        s,
        "\nMSE in normalised concentrations c_p / S on the held-out test feeds. Names: method \
         (none = the neural ODE; FNN, CNN, UNET = direct (feed, J_v) -> permeate regressors), \
         ATT/NOATT attention, HIB/SIB hard/soft electroneutrality (HIB+: the \
         positivity-preserving hard projection, an extension), PT/NPT with/without \
         DSPM-DE pre-training. FNN shares the neural ODE's network exactly; CNN and U-Net \
         widths are chosen to match its parameter count.\n\n## The method's claims on this data\n"
    );
    if res.claims.is_empty() {
        let _ = writeln!(
            s,
            "Not judged: this run covers only some variants (`reproduce --only`); the claims \
             need the whole grid."
        );
    }
    for (claim, holds, why) in &res.claims {
        let _ = writeln!(
            s,
            "- {} — **{}**: {}",
            claim,
            if *holds { "holds" } else { "does not hold" },
            why
        );
    }
    s.push_str(&hybrid_section(res));
    if !res.attention.is_empty() {
        let _ = writeln!(s, "\n## Attention of {MAIN} (first seed)\n");
    }
    for a in &res.attention {
        let _ = writeln!(
            s,
            "Test feed {} at J_v = {:.3e} m/s (row: ion; columns: weight given to each ion):\n",
            a.feed, a.flux
        );
        let _ = writeln!(s, "| | {} |", a.ions.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(a.ions.len()));
        for (ion, row) in a.ions.iter().zip(&a.matrix) {
            let cells: Vec<String> = row.iter().map(|x| format!("{x:.3}")).collect();
            let _ = writeln!(s, "| {ion} | {} |", cells.join(" | "));
        }
        let _ = writeln!(s);
    }
    s.push_str(&cost_section(res));
    if !res.figures.is_empty() {
        let _ = writeln!(s, "## Figures\n");
    }
    for f in &res.figures {
        let _ = writeln!(s, "![{f}]({f}.png) ([SVG]({f}.svg))\n");
    }
    s
}

/// What the study cost and which builds ran it: one-core training seconds in all and per
/// seed, the longest unit, and each build with the number of units it ran (a study resumed
/// over several sessions or machines may mix builds; the report says so rather than hide it).
pub fn cost_section(res: &Results) -> String {
    let mut s = String::new();
    let units: Vec<(u64, &str, f64, &str)> = res
        .variants
        .iter()
        .flat_map(|r| {
            res.seeds.iter().enumerate().map(move |(k, &seed)| {
                (
                    seed,
                    r.variant.name.as_str(),
                    r.train_seconds.get(k).copied().unwrap_or(0.0),
                    r.builds.get(k).map_or("", String::as_str),
                )
            })
        })
        .collect();
    let Some(longest) = units.iter().max_by(|a, b| a.2.total_cmp(&b.2)) else {
        return s;
    };
    let total: f64 = units.iter().map(|u| u.2).sum();
    let _ = writeln!(
        s,
        "\n## Cost and builds\n\nTraining time of the {} units (one-core seconds as each unit \
         measured it; preparation, the DSPM-DE fits and the pre-training data not included): \
         **{:.0} s ({:.2} h)** in all; the longest unit {} (seed {}), {:.0} s. Per-unit times are \
         in results.json (`train_seconds`, one per seed).\n",
        units.len(),
        total,
        total / 3600.0,
        longest.1,
        longest.0,
        longest.2
    );
    let _ = writeln!(s, "| seed | one-core training seconds |\n|---|---|");
    for &seed in &res.seeds {
        let t: f64 = units.iter().filter(|u| u.0 == seed).map(|u| u.2).sum();
        let _ = writeln!(s, "| {seed} | {t:.0} |");
    }
    let mut builds: Vec<(&str, usize)> = Vec::new();
    for u in &units {
        match builds.iter_mut().find(|b| b.0 == u.3) {
            Some(b) => b.1 += 1,
            None => builds.push((u.3, 1)),
        }
    }
    let _ = writeln!(s, "\n| build | units |\n|---|---|");
    for (b, n) in &builds {
        let name = if b.is_empty() { "not recorded" } else { b };
        let _ = writeln!(s, "| {name} | {n} |");
    }
    if builds.len() > 1 {
        let _ = writeln!(
            s,
            "\nThe units were run by {} builds: numbers from different builds agree only where \
             the changes between them leave training's arithmetic unchanged.",
            builds.len()
        );
    }
    s
}

/// The hybrid's rows against the fitted DSPM-DE, seed by seed, with the targets of the hybrid
/// judged on every seed: test MSE <= 0.5x the DSPM-DE's, a lower rejection MAE for each ion
/// class, a larger share within +/-10 %, and a lower test MSE on the extrapolation split.
pub fn hybrid_section(res: &Results) -> String {
    let mut s = String::new();
    let rows: Vec<&VariantResult> = res
        .variants
        .iter()
        .filter(|r| r.variant.method == Method::Hybrid || r.variant.extrapolation)
        .collect();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\n## The hybrid against the fitted DSPM-DE, seed by seed\n\n\
         HYBRID: the DSPM-DE with a Freundlich charge isotherm fitted to the training feeds as \
         backbone, under the activity model (ideal or Davies) that predicts the validation \
         feeds better (column `backbone`), plus a learned relative correction of its rate \
         (docs/model.md). The fitted DSPM-DE it is compared with is the paper's: ideal \
         solution, constant charge. -EXTRAP: \
         trained on the feeds with ionic strength at or below the median, tested on those \
         above (the DSPM-DE is fitted to the same training feeds).\n"
    );
    let _ = writeln!(
        s,
        "| variant | seed | backbone | test MSE | DSPM-DE MSE | ratio | rejection MAE majors / minors / traces | DSPM-DE's | within ±10 % | DSPM-DE's |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    let fmt3 = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    for r in &rows {
        for (i, seed) in res.seeds.iter().enumerate() {
            let get = |v: &Vec<Vec<f64>>| v.get(i).cloned().unwrap_or_default();
            let _ = writeln!(
                s,
                "| {} | {seed} | {} | {:.3e} | {:.3e} | {:.3} | {} | {} | {:.1} % | {:.1} % |",
                r.variant.name,
                match r.backbone_activity.get(i).map(String::as_str) {
                    None | Some("") => "–",
                    Some(a) => a,
                },
                r.mse[i],
                r.dspmde_mse[i],
                r.mse[i] / r.dspmde_mse[i],
                fmt3(&get(&r.mae_by_class)),
                fmt3(&get(&r.dspmde_mae_by_class)),
                100.0 * r.within_10_percent[i],
                100.0
                    * r.dspmde_within_10_percent
                        .get(i)
                        .copied()
                        .unwrap_or(f64::NAN)
            );
        }
    }
    if let Some(h) = rows.iter().find(|r| r.variant.name == HYBRID) {
        let n = res.seeds.len();
        let ratio_ok = (0..n)
            .filter(|&i| h.mse[i] <= 0.5 * h.dspmde_mse[i])
            .count();
        let worst = (0..n)
            .map(|i| h.mse[i] / h.dspmde_mse[i])
            .fold(0.0f64, f64::max);
        let class_ok = (0..n)
            .filter(|&i| {
                let (a, b) = (&h.mae_by_class[i], &h.dspmde_mae_by_class[i]);
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x < y)
            })
            .count();
        let within_ok = (0..n)
            .filter(|&i| h.within_10_percent[i] > h.dspmde_within_10_percent[i])
            .count();
        let _ = writeln!(
            s,
            "\nTargets for {HYBRID}: test MSE <= 0.5x the DSPM-DE's in {ratio_ok} of {n} seeds \
             (worst ratio {worst:.3}); rejection MAE below the DSPM-DE's in every ion class in \
             {class_ok} of {n} seeds; a larger share within ±10 % in {within_ok} of {n} seeds."
        );
    }
    if let Some(e) = rows
        .iter()
        .find(|r| r.variant.name == format!("{HYBRID}-EXTRAP"))
    {
        let n = res.seeds.len();
        let ok = (0..n).filter(|&i| e.mse[i] < e.dspmde_mse[i]).count();
        let _ = writeln!(
            s,
            "Extrapolation: {HYBRID}-EXTRAP beats the DSPM-DE in test MSE in {ok} of {n} seeds."
        );
    }
    s
}
