//! Data generation: random electroneutral feeds, DSPM-DE flux sweeps for pre-training, and
//! a synthetic "measurement" set from richer physics.

use crate::data::{Dataset, FluxPoint, Sample};
use crate::error::{Result, TransportError};
use crate::model::{Activity, ChargeModel, Conditions, LogNormalPores, Membrane, Polarisation};
use crate::progress::Progress;
use crate::solver::Dspmde;
use ion_species::{Composition, IonRegistry};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

/// Salinity regimes of random feeds: total cation charge (eq/m^3) drawn log-uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// Brackish water: 5 to 100 eq/m^3.
    Brackish,
    /// Seawater: 300 to 800 eq/m^3.
    Seawater,
    /// Brines: 800 to 2500 eq/m^3.
    Brine,
}

impl Regime {
    fn range(self) -> (f64, f64) {
        match self {
            Self::Brackish => (5.0, 100.0),
            Self::Seawater => (300.0, 800.0),
            Self::Brine => (800.0, 2500.0),
        }
    }
}

/// Draws a random electroneutral feed: a random subset of the registry's ions with at least
/// one cation and one anion, relative amounts log-uniform over three decades (so trace ions
/// occur), total cation charge from the regime; anions are scaled to balance the cations
/// exactly.
pub fn random_feed(rng: &mut impl Rng, reg: &IonRegistry, regime: Regime) -> Result<Composition> {
    let ions = reg.ions();
    let cations: Vec<usize> = (0..ions.len()).filter(|&i| ions[i].charge > 0).collect();
    let anions: Vec<usize> = (0..ions.len()).filter(|&i| ions[i].charge < 0).collect();
    if cations.is_empty() || anions.is_empty() {
        return Err(TransportError::InvalidFeed(
            "the registry needs cations and anions".into(),
        ));
    }
    let pick = |rng: &mut dyn rand::RngCore, group: &[usize]| -> Vec<usize> {
        let mut chosen: Vec<usize> = group
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        if chosen.is_empty() {
            chosen.push(group[rng.random_range(0..group.len())]);
        }
        chosen
    };
    let cs = pick(rng, &cations);
    let an = pick(rng, &anions);
    let (lo, hi) = regime.range();
    let total = (lo.ln() + rng.random::<f64>() * (hi / lo).ln()).exp();
    let mut c = vec![0.0; ions.len()];
    for group in [&cs, &an] {
        let w: Vec<f64> = group
            .iter()
            .map(|_| 10f64.powf(-3.0 * rng.random::<f64>()))
            .collect();
        let charge: f64 = group
            .iter()
            .zip(&w)
            .map(|(&i, w)| ions[i].z().abs() * w)
            .sum();
        for (&i, wi) in group.iter().zip(&w) {
            c[i] = total * wi / charge;
        }
    }
    Ok(Composition::from_vector(reg, &c, false)?)
}

/// Configuration of a generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Number of feeds in the whole data set (before sharding).
    pub feeds: usize,
    /// Water fluxes of each sweep, m/s, increasing.
    pub fluxes: Vec<f64>,
    /// Relative Gaussian noise on permeate concentrations (0 for none).
    pub noise: f64,
    /// Seed: the same seed gives the same data, whatever the number of threads or shards.
    pub seed: u64,
    /// Regimes drawn in turn with these weights (brackish, seawater, brine).
    pub regime_weights: [f64; 3],
    /// This shard (i, n): only feeds with index % n == i are generated.
    pub shard: (usize, usize),
    /// Show a progress bar on standard error (needs the `progress` feature; without it, nothing
    /// is drawn).
    pub progress: bool,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            feeds: 100,
            fluxes: flux_grid(3e-5, 20),
            noise: 0.0,
            seed: 0,
            regime_weights: [0.6, 0.3, 0.1],
            shard: (0, 1),
            progress: false,
        }
    }
}

/// `n` fluxes evenly spaced on (0, j_max], m/s.
pub fn flux_grid(j_max: f64, n: usize) -> Vec<f64> {
    (1..=n).map(|k| j_max * k as f64 / n as f64).collect()
}

/// Summary of a generation run.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationReport {
    /// The data.
    pub dataset: Dataset,
    /// Feeds whose sweep failed (index, error message); they are left out.
    pub failures: Vec<(usize, String)>,
}

fn feed_rng(seed: u64, index: usize) -> ChaCha8Rng {
    // A separate stream per feed makes results independent of scheduling and sharding.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

fn regime_of(rng: &mut impl Rng, w: &[f64; 3]) -> Regime {
    let total: f64 = w.iter().sum();
    let u = rng.random::<f64>() * total;
    if u < w[0] {
        Regime::Brackish
    } else if u < w[0] + w[1] {
        Regime::Seawater
    } else {
        Regime::Brine
    }
}

/// Generates flux sweeps of random feeds with `model`, in parallel (rayon). Trajectories
/// start at J_v = 0 where the permeate equals the feed.
pub fn generate(
    model: &Dspmde,
    reg: &IonRegistry,
    cfg: &GeneratorConfig,
    label: &str,
) -> Result<GenerationReport> {
    let (shard, shards) = cfg.shard;
    if shards == 0 || shard >= shards {
        return Err(TransportError::InvalidParameter {
            name: "shard",
            value: shard as f64,
            reason: "shard i/n needs i < n",
        });
    }
    if !(cfg.noise >= 0.0 && cfg.noise.is_finite()) {
        return Err(TransportError::InvalidParameter {
            name: "noise",
            value: cfg.noise,
            reason: "must be finite and >= 0",
        });
    }
    if cfg.feeds == 0 {
        return Err(TransportError::InvalidParameter {
            name: "feeds",
            value: 0.0,
            reason: "a data set needs at least one feed",
        });
    }
    if cfg.fluxes.is_empty() {
        return Err(TransportError::InvalidParameter {
            name: "fluxes",
            value: 0.0,
            reason: "a sweep needs at least one flux",
        });
    }
    let w = cfg.regime_weights;
    if let Some(&bad) = w.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(TransportError::InvalidParameter {
            name: "regime_weights",
            value: bad,
            reason: "each weight must be finite and >= 0",
        });
    }
    if w.iter().sum::<f64>() <= 0.0 {
        return Err(TransportError::InvalidParameter {
            name: "regime_weights",
            value: 0.0,
            reason: "at least one regime needs a positive weight",
        });
    }
    // Checked once here rather than failing every feed's sweep the same way.
    for (k, &j) in cfg.fluxes.iter().enumerate() {
        crate::solver::check_flux(j)?;
        if j == 0.0 || (k > 0 && j <= cfg.fluxes[k - 1]) {
            return Err(TransportError::InvalidParameter {
                name: "fluxes",
                value: j,
                reason: "must be > 0 m/s and strictly increasing",
            });
        }
    }
    let indices: Vec<usize> = (0..cfg.feeds).filter(|i| i % shards == shard).collect();
    if indices.is_empty() {
        return Err(TransportError::InvalidParameter {
            name: "shard",
            value: shard as f64,
            reason: "this shard holds no feed: there are fewer feeds than shards",
        });
    }
    let bar = Progress::new(
        cfg.progress,
        indices.len() as u64,
        "{bar:40} {pos}/{len} sweeps  {per_sec}  ETA {eta}",
    );
    let results: Vec<(usize, Result<Sample>)> = indices
        .par_iter()
        .map(|&i| {
            let r = sweep_sample(model, reg, cfg, i, label);
            bar.inc();
            (i, r)
        })
        .collect();
    bar.finish();
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    for (i, r) in results {
        match r {
            Ok(s) => samples.push(s),
            Err(e) => failures.push((i, e.to_string())),
        }
    }
    Ok(GenerationReport {
        dataset: Dataset {
            ions: reg.ions().iter().map(|i| i.name.clone()).collect(),
            samples,
            synthetic: Some(format!(
                "{label}; seed {}, shard {shard}/{shards}, noise {}; simulated with np-transport",
                cfg.seed, cfg.noise
            )),
            basis: crate::data::RejectionBasis::Observed,
            comments: vec![],
            balanced: vec![],
        },
        failures,
    })
}

fn sweep_sample(
    model: &Dspmde,
    reg: &IonRegistry,
    cfg: &GeneratorConfig,
    i: usize,
    label: &str,
) -> Result<Sample> {
    let mut rng = feed_rng(cfg.seed, i);
    let regime = regime_of(&mut rng, &cfg.regime_weights);
    let feed = random_feed(&mut rng, reg, regime)?;
    let feed_vec = feed.to_vector(reg)?;
    let pts = model.sweep(&feed, &cfg.fluxes)?;
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    let mut points = Vec::with_capacity(pts.len());
    for p in pts {
        let mut permeate = vec![None; reg.len()];
        let mut sd = vec![None; reg.len()];
        for (name, c) in p.ions.iter().zip(&p.permeate) {
            let idx = reg
                .ions()
                .iter()
                .position(|ion| &ion.name == name)
                .expect("feed ions are registry ions");
            let noisy = c * (1.0 + cfg.noise * normal.sample(&mut rng));
            permeate[idx] = Some(noisy.max(0.0));
            if cfg.noise > 0.0 {
                sd[idx] = Some(cfg.noise * c);
            }
        }
        points.push(FluxPoint {
            flux: p.flux,
            permeate,
            permeate_sd: sd,
        });
    }
    Ok(Sample {
        id: format!("f{i:06}"),
        source: label.to_string(),
        feed: feed_vec,
        temperature: None,
        points,
    })
}

/// The "true" membrane of the shipped synthetic measurement set: richer physics than the
/// DSPM-DE baseline fits (which has one pore radius and a constant charge): a log-normal
/// pore-size distribution, a Freundlich charge isotherm, film polarisation and Davies
/// activity coefficients.
pub fn synthetic_truth() -> (Membrane, Conditions) {
    (
        Membrane {
            pore_radius: 0.47e-9,
            effective_thickness: 1.6e-6,
            charge: ChargeModel::Freundlich { a: -8.0, b: 0.35 },
            pore_dielectric: 57.0,
            pore_size_distribution: Some(LogNormalPores {
                sigma: 0.08,
                nodes: 5,
            }),
            partitioning: Default::default(),
        },
        Conditions {
            polarisation: Polarisation::Film { thickness: 2.5e-5 },
            activity: Activity::Davies,
            ..Conditions::default()
        },
    )
}

/// Generates the synthetic measurement set: `feeds` random feeds, each measured at 6 fluxes a
/// lab would use (about 5 to 60 L m^-2 h^-1, jittered), with relative noise `noise` on the
/// permeate concentrations and that standard deviation reported. Every file written from it
/// carries the `# SYNTHETIC:` label.
pub fn synthetic_measurements(
    reg: &IonRegistry,
    feeds: usize,
    noise: f64,
    seed: u64,
) -> Result<GenerationReport> {
    let (membrane, conditions) = synthetic_truth();
    let model = Dspmde::new(membrane, conditions)?;
    let lmh = 1e-3 / 3600.0;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let jitter: Vec<f64> = (0..6)
        .map(|_| 1.0 + 0.1 * (rng.random::<f64>() - 0.5))
        .collect();
    let fluxes: Vec<f64> = [5.0, 10.0, 20.0, 30.0, 45.0, 60.0]
        .iter()
        .zip(&jitter)
        .map(|(f, j)| f * j * lmh)
        .collect();
    let cfg = GeneratorConfig {
        feeds,
        fluxes,
        noise,
        seed,
        regime_weights: [0.7, 0.3, 0.0],
        shard: (0, 1),
        progress: false,
    };
    generate(
        &model,
        reg,
        &cfg,
        "synthetic:richer-physics (PSD, Freundlich charge, film, Davies)",
    )
}
