//! `iontransport`: generate data, train, predict, inspect attention, evaluate, and run the
//! whole pipeline (the README's main job).

use clap::{Parser, Subcommand};
use ion_species::{Composition, ConcentrationUnit, IonRegistry};
use iontransport_model::data::{TEST_FRACTION, VALIDATION_FRACTION, split, trajectories};
use iontransport_model::evaluate::{metrics, neural_prediction};
use iontransport_model::pipeline::{PipelineConfig, run};
use iontransport_model::train::{Phase, TrainConfig, train};
use iontransport_model::{Checkpoint, Constraint, IonModel, ModelConfig, NetworkConfig};
use np_transport::data::Dataset;
use np_transport::generate::{GeneratorConfig, flux_grid, generate, synthetic_measurements};
use np_transport::{Conditions, Dspmde, Membrane};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "iontransport",
    version,
    about = "Attention neural ODE and DSPM-DE for multi-ion nanofiltration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate DSPM-DE pre-training data (or, with --synthetic, the synthetic measurement set) as CSV.
    Generate {
        /// Output CSV.
        #[arg(long)]
        out: PathBuf,
        /// Number of feeds (of the whole set, before sharding).
        #[arg(long, default_value_t = 1000)]
        feeds: usize,
        /// Fluxes per sweep, evenly spaced up to --flux-max.
        #[arg(long, default_value_t = 20)]
        fluxes: usize,
        /// Largest flux, m/s.
        #[arg(long, default_value_t = 3e-5)]
        flux_max: f64,
        /// Relative Gaussian noise on permeate concentrations.
        #[arg(long, default_value_t = 0.01)]
        noise: f64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// This shard of the set, `i/n`.
        #[arg(long, default_value = "0/1")]
        shard: String,
        /// Write the synthetic measurement set (richer physics, 6 lab-like fluxes) instead.
        #[arg(long)]
        synthetic: bool,
    },
    /// Pre-train a new model on DSPM-DE data, or fine-tune one on measurements.
    Train {
        /// Training data CSV.
        #[arg(long)]
        data: PathBuf,
        /// Output model file.
        #[arg(long)]
        out: PathBuf,
        /// Fine-tune this model (last two layers, sampled targets) instead of pre-training.
        #[arg(long)]
        finetune_from: Option<PathBuf>,
        /// Resume from this checkpoint (written every epoch to OUT.ckpt).
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Epochs.
        #[arg(long, default_value_t = 50)]
        epochs: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Soft electroneutrality with this penalty weight (default: hard projection).
        #[arg(long, conflicts_with = "positive")]
        soft: Option<f64>,
        /// Hard and positivity-preserving projection (extension; see docs/model.md).
        #[arg(long)]
        positive: bool,
        /// Without the attention layer.
        #[arg(long)]
        no_attention: bool,
    },
    /// Rejections for a feed over a flux range.
    Predict {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Feed, e.g. "Na+=20,SO4 2-=10" (units from --units).
        #[arg(long)]
        feed: String,
        /// Concentration unit of --feed: mmol/L, mol/L, mg/L or mol/m3.
        #[arg(long, default_value = "mmol/L")]
        units: String,
        /// Largest flux, m/s.
        #[arg(long, default_value_t = 3e-5)]
        flux_max: f64,
        /// Number of fluxes.
        #[arg(long, default_value_t = 10)]
        points: usize,
        /// CSV output instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// The attention matrix of a feed.
    Attention {
        /// Model file.
        #[arg(long)]
        model: PathBuf,
        /// Feed, e.g. "Na+=20,SO4 2-=10".
        #[arg(long)]
        feed: String,
        /// Concentration unit of --feed.
        #[arg(long, default_value = "mmol/L")]
        units: String,
        /// Flux, m/s.
        #[arg(long, default_value_t = 1e-5)]
        flux: f64,
    },
    /// MSE, MAE and share within +/-10 % on the test split of a data set; parity CSV.
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
        /// Write (measured, predicted) pairs here.
        #[arg(long)]
        parity: Option<PathBuf>,
    },
    /// The study: neural ODE vs FNN, CNN and U-Net baselines (with/without attention), the
    /// PT/NPT and HIB/SIB ablations, over seeds, against the fitted DSPM-DE; writes
    /// results.json, report.md and the figures (SVG, PNG).
    Reproduce {
        /// Measurement CSV (default: the shipped synthetic set).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The small configuration (minutes on 2 cores; the default).
        #[arg(long, conflicts_with = "full")]
        quick: bool,
        /// Paper-scale runs (10,000 pre-training trajectories, hundreds of epochs; hours).
        #[arg(long)]
        full: bool,
        /// Seeds, comma-separated (default: 0,1 quick; 0,1,2,3,4 full).
        #[arg(long)]
        seeds: Option<String>,
        /// Output folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// The whole pipeline: fit DSPM-DE, generate, pre-train, fine-tune, evaluate.
    Pipeline {
        /// Measurement CSV (default: the shipped synthetic set, generated if missing).
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
        /// Save the fine-tuned model here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_feed(
    reg: &IonRegistry,
    text: &str,
    units: &str,
) -> Result<Composition, Box<dyn std::error::Error>> {
    let unit = match units.to_ascii_lowercase().as_str() {
        "mmol/l" | "mol/m3" => ConcentrationUnit::MmolPerL,
        "mol/l" => ConcentrationUnit::MolPerL,
        "mg/l" => ConcentrationUnit::MgPerL,
        other => return Err(format!("unknown unit `{other}`").into()),
    };
    let mut pairs = Vec::new();
    for part in text.split(',') {
        let (ion, c) = part
            .split_once('=')
            .ok_or_else(|| format!("expected ION=VALUE, got `{part}`"))?;
        let c: f64 = c
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a number", c.trim()))?;
        pairs.push((ion.trim().to_string(), c));
    }
    let refs: Vec<(&str, f64)> = pairs.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    Ok(Composition::from_units(reg, &refs, unit)?)
}

fn shipped_measurements() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/synthetic-measurements.csv")
}

/// The shipped synthetic measurement set's recipe (so it can be regenerated exactly).
const SYNTHETIC_FEEDS: usize = 200;
const SYNTHETIC_NOISE: f64 = 0.03;
const SYNTHETIC_SEED: u64 = 2026;

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let reg = IonRegistry::canonical();
    match cli.command {
        Command::Generate {
            out,
            feeds,
            fluxes,
            flux_max,
            noise,
            seed,
            shard,
            synthetic,
        } => {
            let rep = if synthetic {
                synthetic_measurements(&reg, feeds, noise, seed)?
            } else {
                let (i, n) = shard.split_once('/').ok_or("--shard is i/n")?;
                let model = Dspmde::new(Membrane::nf270_like(), Conditions::default())?;
                let cfg = GeneratorConfig {
                    feeds,
                    fluxes: flux_grid(flux_max, fluxes),
                    noise,
                    seed,
                    shard: (i.parse()?, n.parse()?),
                    progress: true,
                    ..GeneratorConfig::default()
                };
                generate(
                    &model,
                    &reg,
                    &cfg,
                    "dspmde-pretraining (NF270-like membrane)",
                )?
            };
            rep.dataset.write_csv(&out)?;
            println!(
                "wrote {} samples ({} points) to {}; {} feeds failed",
                rep.dataset.samples.len(),
                rep.dataset.num_points(),
                out.display(),
                rep.failures.len()
            );
        }
        Command::Train {
            data,
            out,
            finetune_from,
            resume,
            epochs,
            seed,
            soft,
            positive,
            no_attention,
        } => {
            let ds = Dataset::read_csv(&data, &reg)?;
            let (mut model, phase) = match &finetune_from {
                Some(p) => (Checkpoint::load(p)?.model()?, Phase::FineTune),
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
                    (
                        IonModel::new(ModelConfig::for_registry(&reg, net, constraint), seed)?,
                        Phase::Pretrain,
                    )
                }
            };
            let all = trajectories(&model.config, &ds)?;
            let sp = split(all.len(), VALIDATION_FRACTION, TEST_FRACTION, seed)?;
            let pick = |idx: &[usize]| idx.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
            let mut tc = TrainConfig::method(phase, epochs, seed);
            tc.progress = true;
            let ckpt = out.with_extension("ckpt");
            let resume = resume.map(|p| Checkpoint::load(&p)).transpose()?;
            let rep = train(
                &mut model,
                &pick(&sp.train),
                &pick(&sp.validation),
                &tc,
                Some(&ckpt),
                resume,
            )?;
            Checkpoint::of_model(&model, seed).save(&out)?;
            println!(
                "{} parameters; {} epochs in {:.1} s; best validation MSE {:.4e}; saved {}",
                model.num_params(),
                rep.epochs_run,
                rep.seconds,
                rep.best_validation,
                out.display()
            );
        }
        Command::Predict {
            model,
            feed,
            units,
            flux_max,
            points,
            csv,
        } => {
            let m = Checkpoint::load(&model)?.model()?;
            let feed = parse_feed(&reg, &feed, &units)?;
            let fluxes = flux_grid(flux_max, points);
            let p = m.predict(&feed, &fluxes)?;
            let present: Vec<usize> = (0..p.ions.len())
                .filter(|&j| !p.rejection[0][j].is_nan())
                .collect();
            let sep = if csv { "," } else { " " };
            print!("{:>12}", "Jv [m/s]");
            for &j in &present {
                print!("{sep}{:>10}", format!("R({})", p.ions[j]));
            }
            println!();
            for (k, j) in p.fluxes.iter().enumerate() {
                print!("{j:>12.4e}");
                for &i in &present {
                    print!("{sep}{:>10.4}", p.rejection[k][i]);
                }
                println!();
            }
        }
        Command::Attention {
            model,
            feed,
            units,
            flux,
        } => {
            let m = Checkpoint::load(&model)?.model()?;
            let feed = parse_feed(&reg, &feed, &units)?;
            let a = m.attention(&feed, flux)?;
            let present: Vec<usize> = (0..a.len())
                .filter(|&i| a[i].iter().sum::<f64>() > 0.0)
                .collect();
            print!("{:>8}", "");
            for &j in &present {
                print!("{:>8}", m.config.ions[j]);
            }
            println!();
            for &i in &present {
                print!("{:>8}", m.config.ions[i]);
                for &j in &present {
                    print!("{:>8.3}", a[i][j]);
                }
                println!();
            }
        }
        Command::Evaluate {
            model,
            data,
            all,
            seed,
            parity,
        } => {
            let m = Checkpoint::load(&model)?.model()?;
            let ds = Dataset::read_csv(&data, &reg)?;
            let trs = trajectories(&m.config, &ds)?;
            let set: Vec<_> = if all {
                trs
            } else {
                let sp = split(trs.len(), VALIDATION_FRACTION, TEST_FRACTION, seed)?;
                sp.test.iter().map(|&i| trs[i].clone()).collect()
            };
            let met = metrics(&set, &reg.valences(), &|t| neural_prediction(&m, t))?;
            println!(
                "{} entries: MSE {:.4e}, MAE {:.4e}, within +/-10 %: {:.1} %, max relative charge {:.1e}",
                met.count,
                met.mse,
                met.mae,
                100.0 * met.within_10_percent,
                met.max_relative_charge
            );
            let worst = met.mse_by_feed();
            if let Some((feed, mse, count)) = worst.first() {
                println!(
                    "worst feed: {feed}, MSE {mse:.4e} over {count} entries ({:.0} % of the total squared error)",
                    100.0 * mse * *count as f64 / (met.mse * met.count as f64)
                );
            }
            if let Some(p) = parity {
                let mut text = String::from("feed,ion,flux_m_per_s,measured,predicted\n");
                for ((a, b), src) in met.parity.iter().zip(&met.sources) {
                    text += &format!(
                        "{},{},{:e},{a:e},{b:e}\n",
                        src.feed,
                        m.config.ions[src.ion],
                        src.tau * m.config.flux_scale
                    );
                }
                np_transport::data::write_atomic(&p, text.as_bytes())?;
            }
        }
        Command::Reproduce {
            data,
            quick: _,
            full,
            seeds,
            out,
        } => {
            let seeds = seeds.unwrap_or_else(|| if full { "0,1,2,3,4" } else { "0,1" }.into());
            let path = data.unwrap_or_else(shipped_measurements);
            let ds = Dataset::read_csv(&path, &reg)?;
            let seeds: Vec<u64> = seeds
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<Result<_, _>>()?;
            let (base, name) = if full {
                (PipelineConfig::full(0), "full")
            } else {
                (PipelineConfig::quick(0), "quick")
            };
            let res = iontransport_cli::reproduce::reproduce(
                &ds, &base, name, &seeds, &reg, &out, true,
            )?;
            print!("{}", iontransport_cli::reproduce::report(&res));
            println!(
                "\nwrote {0}/results.json, {0}/report.md and the figures {0}/{{{1}}}.{{svg,png}}",
                out.display(),
                res.figures.join(",")
            );
        }
        Command::Pipeline {
            data,
            full,
            seed,
            positive,
            out,
        } => {
            let path = data.unwrap_or_else(shipped_measurements);
            let ds = if path.exists() {
                Dataset::read_csv(&path, &reg)?
            } else {
                eprintln!(
                    "{} not found: generating the synthetic measurement set",
                    path.display()
                );
                synthetic_measurements(&reg, SYNTHETIC_FEEDS, SYNTHETIC_NOISE, SYNTHETIC_SEED)?
                    .dataset
            };
            if let Some(d) = &ds.synthetic {
                println!(
                    "measurements: {} feeds, {} points — SYNTHETIC ({d})",
                    ds.samples.len(),
                    ds.num_points()
                );
            } else {
                println!(
                    "measurements: {} feeds, {} points from {}",
                    ds.samples.len(),
                    ds.num_points(),
                    path.display()
                );
            }
            let mut cfg = if full {
                PipelineConfig::full(seed)
            } else {
                PipelineConfig::quick(seed)
            };
            if positive {
                cfg.constraint = Constraint::HardPositive;
            }
            println!(
                "configuration: {}",
                if full { "--full" } else { "quick (default)" }
            );
            let r = run(&ds, &cfg, &reg, true)?;
            println!(
                "model: attention neural ODE, {} parameters, {:?} electroneutrality",
                r.model.num_params(),
                r.model.config.constraint
            );
            let ChargeModel::Constant(x) = r.fitted.membrane.charge else {
                unreachable!("fit gives constant charge")
            };
            println!(
                "fitted DSPM-DE: r_p = {:.3} +/- {:.3} nm, dx/A_k = {:.2} +/- {:.2} um, X_d = {x:.1} +/- {:.1} mol/m3 ({:.1} s)",
                r.fitted.membrane.pore_radius * 1e9,
                r.fitted.se_pore_radius * 1e9,
                r.fitted.membrane.effective_thickness * 1e6,
                r.fitted.se_effective_thickness * 1e6,
                r.fitted.se_charge,
                r.seconds[0]
            );
            let c = &r.fitted.correlation;
            println!(
                "  correlations: r_p-dx {:+.3}, r_p-X_d {:+.3}, dx-X_d {:+.3}{}",
                c[0][1],
                c[0][2],
                c[1][2],
                if r.fitted.at_bound.is_empty() {
                    String::new()
                } else {
                    format!("; at a bound: {}", r.fitted.at_bound.join(", "))
                }
            );
            if let Some(p) = &r.pretrain {
                println!(
                    "pre-training: {} epochs, best validation MSE {:.3e} ({:.1} s + {:.1} s data)",
                    p.epochs_run, p.best_validation, p.seconds, r.seconds[1]
                );
            }
            println!(
                "fine-tuning: {} epochs, best validation MSE {:.3e} ({:.1} s)",
                r.finetune.epochs_run, r.finetune.best_validation, r.finetune.seconds
            );
            println!(
                "test split: {} feeds, {} entries (normalised units c/S)",
                r.split.test.len(),
                r.neural.count
            );
            println!(
                "{:<22}{:>12}{:>12}{:>14}{:>16}",
                "model", "test MSE", "MAE", "MSE(R)", "within +/-10 %"
            );
            for (name, m) in [
                ("attention neural ODE", &r.neural),
                ("fitted DSPM-DE", &r.dspmde),
            ] {
                println!(
                    "{name:<22}{:>12.3e}{:>12.3e}{:>14.3e}{:>15.1}%",
                    m.mse,
                    m.mae,
                    m.mse_rejection,
                    100.0 * m.within_10_percent
                );
            }
            println!(
                "(MSE, MAE: normalised concentrations c_p/S; MSE(R): rejection, every ion alike)"
            );
            println!(
                "neural ODE / DSPM-DE test MSE = {:.3}; max relative charge of neural predictions {:.1e}",
                r.neural.mse / r.dspmde.mse,
                r.neural.max_relative_charge
            );
            if let Some(o) = out {
                Checkpoint::of_model(&r.model, seed).save(&o)?;
                println!("saved {}", o.display());
            }
        }
    }
    Ok(())
}

use np_transport::ChargeModel;
