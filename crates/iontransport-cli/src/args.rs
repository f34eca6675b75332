//! The command line (clap). Every quantity accepts a unit (see [`np_transport::quantities`]); bare flux
//! numbers are m/s.

use clap::{Parser, Subcommand};
use np_transport::quantities::{
    parse_charge, parse_flux, parse_length, parse_pressure, parse_temperature,
};
use std::path::PathBuf;

/// Attention neural ODE and DSPM-DE for multi-ion nanofiltration.
#[derive(Debug, Parser)]
#[command(
    name = "iontransport",
    version = crate::BUILD,
    about = "Attention neural ODE and DSPM-DE for multi-ion nanofiltration",
    after_help = "Units: fluxes take m/s (bare numbers), um/s, L/m2/h or LMH (`--flux-max \"60 LMH\"`); \
feeds take mmol/L = mM = mol/m3, umol/L, mol/L = M, mg/L = ppm, g/L per ion (`--feed \"Na+=20 mM, Cl-=20 mM\"`); \
pressures bar, kPa, MPa, Pa or psi. Files: the CSV format of docs/data-format.md."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// More ions than the built-in ones (the canonical eight and NH4+, Br-, F-, HCO3-, Sr2+,
    /// Ba2+), as a TOML (`[[ions]]` tables) or JSON (`{"ions": [...]}`) file with name,
    /// formula, charge, stokes_radius (m), diffusivity (m^2/s), molar_mass (kg/mol) and a
    /// source (see crates/ion-species). Every command reads data and feeds with them.
    #[arg(long, global = true)]
    pub ions: Option<PathBuf>,
    /// Temperature, with a unit ("20 C", "293.15 K"), of the samples of any data file that
    /// state none (a `T [C]` column states it per sample), and of the feeds of `dspmde`,
    /// `generate`, `predict` and `attention` [default: a membrane file's, else 25 C]. Water
    /// permittivity and viscosity and the ions' diffusivities follow it; membrane
    /// parameters do not. A neural ODE has no temperature input and refuses it; a hybrid
    /// moves its DSPM-DE backbone.
    #[arg(long, global = true, value_parser = parse_temperature, allow_hyphen_values = true)]
    pub temperature: Option<f64>,
}

impl Command {
    /// What to do after an interrupt, for the message the signal handler prints.
    pub fn resume_hint(&self) -> String {
        match self {
            Command::Train {
                out, hybrid: false, ..
            } => format!(
                "resume training with `--resume {}` and the same --data, --out and --seed",
                out.with_extension("ckpt").display()
            ),
            Command::Reproduce {
                action: None, out, ..
            } => format!(
                "rerun the same command to resume: the finished units in {} are kept and only the missing ones run",
                out.join("shards").display()
            ),
            _ => "nothing to resume: rerun the command".into(),
        }
    }
}

/// What `reproduce` does besides running a study.
#[derive(Debug, Subcommand)]
pub enum ReproduceAction {
    /// Plan a sharded study: the units and expected time of each shard, and the Slurm lines
    /// (array size, a --time that fits) that run it.
    Plan {
        /// Number of shards (array tasks).
        #[arg(long)]
        shards: usize,
        /// The paper-scale study (the default plans the quick one).
        #[arg(long)]
        full: bool,
        /// Seeds, comma-separated [default: 0,1 quick; 0,1,2,3,4 full].
        #[arg(long, value_delimiter = ',')]
        seeds: Option<Vec<u64>>,
        /// The study's output folder: named in the printed lines, and read for the progress of
        /// a study already under way there (units done and still owed per shard).
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Assemble a sharded study: check every unit is there, write results.json, report.md and
    /// the figures.
    Merge {
        /// The study's output folder (holding `shards/`).
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// The measurement CSV the shards used [default: the shipped synthetic set].
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate DSPM-DE pre-training data (the NF270-like membrane, or a fitted one with
    /// --membrane), or with --synthetic the shipped synthetic measurement set, as CSV.
    Generate {
        /// Output CSV.
        #[arg(long)]
        out: PathBuf,
        /// Number of feeds of the whole set, before sharding [default: 1000; --synthetic: 200].
        #[arg(long)]
        feeds: Option<usize>,
        /// Fluxes per sweep, evenly spaced up to --flux-max [default: 20].
        #[arg(long, conflicts_with = "synthetic")]
        fluxes: Option<usize>,
        /// Largest flux, with a unit [default: 3e-5 m/s = 108 L/m2/h].
        #[arg(long, value_parser = parse_flux, conflicts_with = "synthetic", allow_hyphen_values = true)]
        flux_max: Option<f64>,
        /// Relative Gaussian noise on permeate concentrations [default: 0.01; --synthetic: 0.03].
        #[arg(long, allow_hyphen_values = true)]
        noise: Option<f64>,
        /// Seed [default: 0; --synthetic: 2026, the shipped set's].
        #[arg(long)]
        seed: Option<u64>,
        /// This shard of the set, `i/n` (0-based) [default: 0/1].
        #[arg(long, conflicts_with = "synthetic")]
        shard: Option<String>,
        /// The synthetic measurement set (richer physics than the DSPM-DE, 6 lab-like fluxes
        /// of 5-60 L/m2/h); with the defaults it is byte for byte data/synthetic-measurements.csv.
        #[arg(long)]
        synthetic: bool,
        /// Simulate this membrane (a membrane file written by `fit`) instead of the NF270-like
        /// one: pre-training data for the membrane you measured.
        #[arg(long, conflicts_with = "synthetic")]
        membrane: Option<PathBuf>,
    },
    /// Pre-train a new model on DSPM-DE data, or fine-tune one on measurements.
    ///
    /// The feeds of --data are split by --seed: 25 % test (never used; `evaluate --seed S`
    /// scores exactly them), 15 % validation (early stopping: training stops after --patience
    /// epochs without improvement and keeps the best epoch), 60 % training; with --all, every
    /// feed trains. Losses are MSEs of
    /// normalised concentrations c/S (S = total feed concentration). A checkpoint OUT.ckpt is
    /// written every epoch for --resume and removed when OUT is saved.
    Train {
        /// Training data CSV.
        #[arg(long)]
        data: PathBuf,
        /// Output model file (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Fine-tune this model (last two layers, targets drawn from N(mu, sd^2)) instead of
        /// pre-training.
        #[arg(long)]
        finetune_from: Option<PathBuf>,
        /// Resume from this checkpoint (same data, seed and phase).
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Most epochs (early stopping may end sooner).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
        epochs: u64,
        /// Epochs without a better validation loss before training stops [default: 10; with
        /// --hybrid 15]; a patience of at least --epochs runs every epoch.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        patience: Option<u64>,
        /// Seed of the split, the initial weights and the batches.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Soft electroneutrality with this penalty weight (default: hard projection).
        #[arg(long, conflicts_with = "positive", allow_hyphen_values = true)]
        soft: Option<f64>,
        /// Hard and positivity-preserving projection (extension; see docs/model.md).
        #[arg(long)]
        positive: bool,
        /// Without the attention layer.
        #[arg(long)]
        no_attention: bool,
        /// Train a new model on squared errors of the rejection instead of the normalised
        /// concentration (every present ion weighs alike, trace ions included; saved in the
        /// model file; docs/model.md, "Training"). Best with --positive.
        #[arg(long, conflicts_with_all = ["hybrid", "finetune_from", "resume"])]
        rejection_loss: bool,
        /// Train the hybrid instead: the DSPM-DE with a Freundlich charge isotherm fitted to
        /// the training feeds, plus a learned correction of its rate (docs/model.md).
        #[arg(long, conflicts_with_all = ["soft", "positive", "no_attention", "finetune_from", "resume"])]
        hybrid: bool,
        /// With --hybrid: this membrane file (written by `fit`, e.g. on all your data) is the
        /// backbone, instead of a membrane fitted to the training feeds.
        #[arg(long, requires = "hybrid")]
        membrane: Option<PathBuf>,
        /// Train on every feed of --data: no test feeds (score the model on another file
        /// with `score`) and no validation feeds (every epoch runs; --epochs sets how many).
        /// For small files, where a 25 % / 15 % split leaves too little to learn from.
        #[arg(long)]
        all: bool,
    },
    /// Rejections of a feed over a flux range with a trained model, or with an ensemble of
    /// them (the same model trained with several seeds: their mean), or with a fitted
    /// membrane, optionally with prediction intervals.
    Predict {
        /// Model file; several (repeated, or comma-separated) form an ensemble.
        #[arg(long, required_unless_present = "membrane", value_delimiter = ',')]
        model: Vec<PathBuf>,
        /// A membrane file written by `fit` instead of a model: the fitted DSPM-DE's
        /// prediction, as `dspmde --membrane` gives it.
        #[arg(long, conflicts_with = "model")]
        membrane: Option<PathBuf>,
        /// Feed, e.g. "Na+=20 mM, SO4 2-=10 mM" (bare numbers in --units).
        #[arg(long)]
        feed: String,
        /// Unit of bare feed numbers: mmol/L (= mM = mol/m3), mol/L (= M), mg/L (= ppm).
        #[arg(long, default_value = "mmol/L")]
        units: String,
        /// Largest flux, with a unit [default: the largest flux the model was trained on].
        #[arg(long, value_parser = parse_flux, allow_hyphen_values = true)]
        flux_max: Option<f64>,
        /// Number of fluxes, evenly spaced up to --flux-max.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        points: u64,
        /// Prediction intervals at this level (e.g. 0.9): the mixture over the models of
        /// Gaussians centred on each one's prediction with their error on the feeds they
        /// were trained on (validation feeds where there were any). With one model, that
        /// error alone; on training feeds it understates the error on new feeds.
        #[arg(long, value_parser = parse_level)]
        interval: Option<Level>,
        /// CSV output instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Fit the DSPM-DE's membrane (r_p, dx/A_k and X_d, optionally a charge isotherm and
    /// eps_p) to a measurement file and save it as a membrane file: parameters with standard
    /// errors, correlations and bounds, a residual table and the error per ion.
    Fit {
        /// Measurement CSV (docs/data-format.md).
        #[arg(long)]
        data: PathBuf,
        /// Membrane file to write (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Fit the charge as an isotherm of the feed ionic strength I, started from the
        /// constant-charge optimum: `freundlich` (the default of a bare `--isotherm`), X_d =
        /// X_ref (I / 100 mol/m3)^b, or `langmuir`, X_d = X_max I / (k + I).
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "freundlich")]
        isotherm: Option<IsothermArg>,
        /// Fit the charge as set by the feed's multivalent ions, X_d = x0 + c f2+ + a f2- (f2+,
        /// f2-: the shares of cation and anion equivalents carried by ions of |z| >= 2): Mg2+
        /// adsorption neutralising the charge, SO4 2- adding to it. Needs feeds with different
        /// shares; not with --isotherm.
        #[arg(long, conflicts_with = "isotherm")]
        multivalent_charge: bool,
        /// Also fit the pore dielectric constant eps_p.
        #[arg(long)]
        fit_dielectric: bool,
        /// Radius of each ion's Born (dielectric-exclusion) term: `stokes` (the classic
        /// DSPM-DE) or `hydration` (the effective radius of its hydration free energy, Marcus
        /// 1991, which tells weakly hydrated ions such as NO3- from Cl-).
        #[arg(long, value_enum, default_value_t = BornRadiusArg::Stokes)]
        born_radius: BornRadiusArg,
        /// Also fit an extra partition energy (kT) for these measured ions, e.g.
        /// `--partition-energy NO3-,Cl-` (each one more parameter).
        #[arg(long, value_delimiter = ',')]
        partition_energy: Vec<String>,
        /// Also fit every ion's partition energy (kT) as a linear function of its own data,
        /// one weight per descriptor: `hydration` (-dG_hyd / 100 RT, Marcus 1991),
        /// `stokes_radius` (r_s / 0.2 nm), `valence_squared` (z^2); e.g.
        /// `--energy-descriptors hydration`. Any ion with those properties then gets an energy.
        #[arg(long, value_enum, value_delimiter = ',')]
        energy_descriptors: Vec<EnergyDescriptorArg>,
        /// The optimiser's Jacobian: `differences` of whole solves (the default) or
        /// `implicit` (the implicit function theorem at each solved point: exact, about 0.65x
        /// the time of a multi-start fit).
        #[arg(long, value_enum, default_value_t = JacobianArg::Differences)]
        jacobian: JacobianArg,
        /// Concentration polarisation (observed rejections): a film of this thickness
        /// between the bulk feed and the membrane, e.g. "25 um"; each ion's mass-transfer
        /// coefficient is k_i = D_i / thickness [default: no film].
        #[arg(long, value_parser = parse_length, conflicts_with = "mass_transfer")]
        film_thickness: Option<f64>,
        /// Or the film from a measured mass-transfer coefficient of NaCl, e.g. "2e-5 m/s"
        /// or "20 um/s": thickness = D_NaCl / k, D_NaCl = 2 D+ D- / (D+ + D-) of Na+ and Cl-.
        #[arg(long, value_parser = parse_flux)]
        mass_transfer: Option<f64>,
        /// Residual evaluations per start of the optimiser.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        max_evaluations: u64,
        /// Parameter samples saved for prediction intervals (Laplace approximation where it
        /// holds, an ensemble sampler where a parameter is at a bound or strongly correlated).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        samples: u64,
        /// Seed of the parameter samples.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Rejections of a feed with the DSPM-DE alone: a given membrane (default NF270-like), or
    /// one fitted to a measurement file; at fluxes or at applied pressures.
    Dspmde {
        /// Feed, e.g. "Na+=20 mM, SO4 2-=10 mM" (bare numbers in --units).
        #[arg(long)]
        feed: String,
        /// Unit of bare feed numbers.
        #[arg(long, default_value = "mmol/L")]
        units: String,
        /// Pore radius [default: 0.45 nm].
        #[arg(long, value_parser = parse_length)]
        pore_radius: Option<f64>,
        /// Effective thickness dx/A_k [default: 1.3 um].
        #[arg(long, value_parser = parse_length)]
        thickness: Option<f64>,
        /// Membrane charge density X_d: mol/m3 for a bare number, or with a molar unit
        /// ("-40 mM", "-0.04 M") [default: -40].
        #[arg(long, allow_hyphen_values = true, value_parser = parse_charge)]
        charge: Option<f64>,
        /// Relative permittivity in the pores [default: 55].
        #[arg(long, allow_hyphen_values = true)]
        pore_dielectric: Option<f64>,
        /// Fit r_p, dx/A_k and X_d to this measurement CSV first (from the values above).
        #[arg(long, conflicts_with_all = ["pore_radius", "thickness", "charge"])]
        fit: Option<PathBuf>,
        /// The membrane (and its conditions) from a membrane file written by `fit`.
        #[arg(long, conflicts_with_all = ["pore_radius", "thickness", "charge", "pore_dielectric", "fit"])]
        membrane: Option<PathBuf>,
        /// Largest flux, with a unit [default: 3e-5 m/s].
        #[arg(long, value_parser = parse_flux, conflicts_with = "pressures", allow_hyphen_values = true)]
        flux_max: Option<f64>,
        /// Number of fluxes.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        points: u64,
        /// Prediction intervals at this level (e.g. 0.9) from the membrane file's parameter
        /// samples and residual scatter (needs --membrane; not with --pressures).
        #[arg(long, value_parser = parse_level, requires = "membrane", conflicts_with = "pressures")]
        interval: Option<Level>,
        /// Applied pressures instead of fluxes, comma-separated with units ("5 bar,10 bar").
        #[arg(long, value_delimiter = ',', value_parser = parse_pressure, allow_hyphen_values = true)]
        pressures: Option<Vec<f64>>,
        /// CSV output instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Score a fitted membrane (--membrane) or a trained model (--model) on a measurement
    /// file: R per ion at the file's own fluxes and temperatures, RMSE, MAE, bias and sign
    /// errors per ion, and for a membrane the share of points inside the prediction interval.
    Score {
        /// Measurement CSV (docs/data-format.md).
        #[arg(long)]
        data: PathBuf,
        /// A membrane file written by `fit`.
        #[arg(long, conflicts_with = "model")]
        membrane: Option<PathBuf>,
        /// A model file written by `train` or `pipeline`; several (repeated, or
        /// comma-separated) form an ensemble (the same model trained with several seeds).
        #[arg(long, value_delimiter = ',')]
        model: Vec<PathBuf>,
        /// Level of the prediction intervals, in (0, 1) [default: 0.9 when the files hold
        /// what intervals need]; `none` for none.
        #[arg(long, value_parser = parse_level)]
        interval: Option<Level>,
        /// Also write every scored point here (CSV: feed, flux, ion, measured, predicted,
        /// interval).
        #[arg(long)]
        points: Option<PathBuf>,
        /// Also draw predicted against measured R (per ion, with the intervals) as
        /// FIGURE.svg and FIGURE.png (give the name without extension).
        #[arg(long)]
        figure: Option<PathBuf>,
    },
    /// The attention matrix of a feed at one flux.
    Attention {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Feed, e.g. "Na+=20 mM, SO4 2-=10 mM".
        #[arg(long)]
        feed: String,
        /// Unit of bare feed numbers.
        #[arg(long, default_value = "mmol/L")]
        units: String,
        /// Flux, with a unit.
        #[arg(long, default_value = "1e-5 m/s", value_parser = parse_flux, allow_hyphen_values = true)]
        flux: f64,
    },
    /// MSE, MAE and share within +/-10 % of a model on the test split of a data set (the
    /// feeds `train --seed S` held out), in normalised units c/S; optional parity CSV.
    Evaluate {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Data CSV.
        #[arg(long)]
        data: PathBuf,
        /// Evaluate on the whole file instead of its test split.
        #[arg(long)]
        all: bool,
        /// Split seed (as used in training).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write (measured, predicted) pairs here (CSV, mol/m3).
        #[arg(long)]
        parity: Option<PathBuf>,
    },
    /// The study: neural ODE vs FNN, CNN and U-Net baselines (with/without attention), the
    /// PT/NPT and HIB/SIB ablations, over seeds, against the fitted DSPM-DE; writes
    /// results.json, report.md and the figures (SVG, PNG).
    ///
    /// Sharded: `reproduce --full --shard k/n --out R` for k = 0..n-1 (independent processes,
    /// resumable: finished units are kept in R/shards), then `reproduce merge --out R`.
    #[command(args_conflicts_with_subcommands = true)]
    Reproduce {
        /// `merge`: assemble the shards in --out.
        #[command(subcommand)]
        action: Option<ReproduceAction>,
        /// Run only shard k of n (0-based) of the study's (seed, variant) units: `k/n`, or
        /// `k` once a shard of the study has started (n is then read from
        /// OUT/shards/manifest.json).
        #[arg(long)]
        shard: Option<String>,
        /// Measurement CSV [default: the shipped synthetic set, regenerated if absent].
        #[arg(long)]
        data: Option<PathBuf>,
        /// The small configuration (minutes on 2 cores; the default).
        #[arg(long, conflicts_with = "full")]
        quick: bool,
        /// Paper-scale runs (10,000 pre-training trajectories, hundreds of epochs; hours).
        #[arg(long)]
        full: bool,
        /// Seconds-scale sizes (for tests and tools/slurm-check.sh; the numbers mean nothing).
        #[arg(long, hide = true, conflicts_with_all = ["full", "quick"])]
        tiny: bool,
        /// Seeds, comma-separated [default: 0,1 quick; 0,1,2,3,4 full].
        #[arg(long, value_delimiter = ',')]
        seeds: Option<Vec<u64>>,
        /// Only these variants, comma-separated (e.g. HYBRID,HYBRID-EXTRAP): their table and
        /// the hybrid's per-seed section, without the claims and figures, which need the grid.
        #[arg(long, value_delimiter = ',', conflicts_with = "shard")]
        only: Option<Vec<String>>,
        /// Output folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// The whole pipeline: fit the DSPM-DE to the training feeds, generate DSPM-DE
    /// pre-training data, pre-train, fine-tune, and compare both on the held-out test feeds
    /// (25 % of the feeds; 15 % more for validation).
    Pipeline {
        /// Measurement CSV [default: the shipped synthetic set, regenerated if absent].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Paper-scale configuration instead of the quick default.
        #[arg(long)]
        full: bool,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Hard and positivity-preserving projection (extension; see docs/model.md).
        #[arg(long)]
        positive: bool,
        /// Descriptor tokens and the per-token perceptron (NetworkConfig::any_ion) for the
        /// neural ODE and the hybrid's correction, instead of per-slot identities.
        #[arg(long)]
        any_ion: bool,
        /// Save the fine-tuned model here (checked before the run starts).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Cross-validation on measurements (any registry ion, intrinsic or observed
    /// rejections): whole feeds held out; on each fold the DSPM-DE fitted to the training
    /// feeds, the hybrid trained on them, and the neural ODE pre-trained on DSPM-DE
    /// simulations of that membrane and fine-tuned on them; per-ion errors of the rejection.
    /// E.g. `validate --data data/measurements/fdl2021-nf270.csv --out results/real-data`.
    Validate {
        /// Measurement CSV (any built-in ion, or those of --ions).
        #[arg(long, required_unless_present = "train", conflicts_with = "train")]
        data: Option<PathBuf>,
        /// Instead of folds over one file: train every model on this file's feeds...
        #[arg(long, requires = "test", conflicts_with = "folds")]
        train: Option<PathBuf>,
        /// ...and test them on this file's feeds (another lab, membrane sample or brine).
        #[arg(long, requires = "train")]
        test: Option<PathBuf>,
        /// Fold schemes: `feed` (leave one feed out), `ion` (leave out every feed dominated
        /// by one ion) or `both`.
        #[arg(long, value_enum, default_value_t = FoldsArg::Both)]
        folds: FoldsArg,
        /// Seeds of the trained models, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0")]
        seeds: Vec<u64>,
        /// Write report.md, crossval.json and a figure per feed (SVG, PNG) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Descriptor tokens and the per-token perceptron (NetworkConfig::any_ion) for the
        /// neural ODE and the hybrid's correction.
        #[arg(long)]
        any_ion: bool,
        /// Leave out the SDEM row (its fit with ten starts costs about a minute per fold).
        #[arg(long)]
        no_sdem: bool,
        /// The hybrid's backbone: the SDEM with a fixed charge fitted to the training feeds
        /// instead of the DSPM-DE with a charge isotherm.
        #[arg(long)]
        sdem_backbone: bool,
        /// The physics under the hybrid and the neural ODE+: the DSPM-DE with a charge set by
        /// the feed's multivalent ions (`fit --multivalent-charge`) instead of a charge isotherm.
        #[arg(long, conflicts_with = "sdem_backbone")]
        multivalent_backbone: bool,
        /// Seconds-scale sizes (for tests; the numbers mean nothing; no SDEM).
        #[arg(long, hide = true)]
        tiny: bool,
    },
}

/// An interval level: a probability in (0, 1), or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// No interval.
    None,
    /// This level.
    At(f64),
}

/// Parses `0.9`, `90%` or `none`.
pub fn parse_level(text: &str) -> Result<Level, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(Level::None);
    }
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a level (e.g. 0.9, 90% or none)"))?;
    let v = v * scale;
    if v > 0.0 && v < 1.0 {
        Ok(Level::At(v))
    } else {
        Err(format!(
            "{text}: an interval level lies strictly between 0 and 1 (0.9, or 90%)"
        ))
    }
}

/// Fold schemes of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FoldsArg {
    /// Leave one feed out.
    Feed,
    /// Leave out every feed dominated by one ion.
    Ion,
    /// Both schemes.
    Both,
}

/// The Born radius of `fit --born-radius`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BornRadiusArg {
    /// Stokes radii (the classic DSPM-DE).
    Stokes,
    /// Effective radii of the hydration free energies (Marcus 1991).
    Hydration,
}

/// A descriptor of an ion's partition energy (`np_transport::EnergyDescriptor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EnergyDescriptorArg {
    /// -dG_hyd / (100 RT) at 25 °C.
    Hydration,
    /// Stokes radius / 0.2 nm.
    StokesRadius,
    /// z^2.
    ValenceSquared,
}

impl From<EnergyDescriptorArg> for np_transport::EnergyDescriptor {
    fn from(d: EnergyDescriptorArg) -> Self {
        match d {
            EnergyDescriptorArg::Hydration => Self::Hydration,
            EnergyDescriptorArg::StokesRadius => Self::StokesRadius,
            EnergyDescriptorArg::ValenceSquared => Self::ValenceSquared,
        }
    }
}

/// How a fit gets its Jacobian (`np_transport::FitJacobian`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JacobianArg {
    /// Forward differences of whole solves.
    Differences,
    /// The implicit function theorem at each solved point.
    Implicit,
}

impl From<JacobianArg> for np_transport::FitJacobian {
    fn from(j: JacobianArg) -> Self {
        match j {
            JacobianArg::Differences => Self::Differences,
            JacobianArg::Implicit => Self::Implicit,
        }
    }
}

/// The form of a fitted charge isotherm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IsothermArg {
    /// X_d = X_ref (I / I_ref)^b.
    Freundlich,
    /// X_d = X_max I / (k + I).
    Langmuir,
}

impl From<IsothermArg> for np_transport::IsothermForm {
    fn from(a: IsothermArg) -> Self {
        match a {
            IsothermArg::Freundlich => Self::Freundlich,
            IsothermArg::Langmuir => Self::Langmuir,
        }
    }
}

impl From<BornRadiusArg> for np_transport::BornRadius {
    fn from(a: BornRadiusArg) -> Self {
        match a {
            BornRadiusArg::Stokes => Self::Stokes,
            BornRadiusArg::Hydration => Self::Hydration,
        }
    }
}
