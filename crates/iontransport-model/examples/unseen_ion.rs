//! Can a model predict an ion its measurements never contained? The truth here is a DSPM-DE
//! (NF270-like membrane) with six ions: Na+, Mg2+, NH4+, Cl-, SO4 2-, NO3-. Every model is
//! pre-trained on noisy simulations of that DSPM-DE, then fine-tuned on "measurements" (the
//! same truth, 3 % noise) of feeds WITHOUT NH4+, and asked for NH4+ in held-out feeds that
//! contain it:
//!
//! * slot network (the method): NH4+ has a slot and is in the pre-training feeds;
//! * descriptor network: the same, with descriptor tokens and the per-token body;
//! * descriptor network that never saw NH4+: pre-trained without it, and given NH4+ only
//!   at the query, through its descriptors (z, Stokes radius, diffusivity).
//!
//! Each as the method has it (Euclidean projection, loss in concentrations) and as the
//! `neural ODE+` of cross-validation (positive projection, loss in rejections).
//!
//! `cargo run --release -p iontransport-model --example unseen_ion [-- SEEDS]` (SEEDS like
//! `0,1,2`, default `0`; about a minute per seed on 2 cores). Each seed initialises and
//! shuffles every training differently (the data stay the same). It prints, per seed and then
//! as mean ± sd over the seeds, the rejection MAE of NH4+ and of the other ions on the
//! held-out feeds, and NH4+'s sign errors: predicted R of the other sign than the truth's,
//! where |R| > 0.02.

use ion_species::IonRegistry;
use iontransport_model::data::{Trajectory, trajectories};
use iontransport_model::train::{Phase, TrainConfig, train};
use iontransport_model::{Constraint, IonModel, LossSpace, ModelConfig, NetworkConfig};
use np_transport::data::Dataset;
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{Conditions, Dspmde, Membrane};

fn sweeps(truth: &Dspmde, reg: &IonRegistry, feeds: usize, noise: f64, seed: u64) -> Dataset {
    generate(
        truth,
        reg,
        &GeneratorConfig {
            feeds,
            fluxes: flux_grid(3e-5, 8),
            noise,
            seed,
            regime_weights: [1.0, 0.0, 0.0],
            shard: (0, 1),
            progress: false,
        },
        "unseen-ion example",
    )
    .expect("DSPM-DE sweeps")
    .dataset
}

/// Rejection MAE of NH4+ and of the other ions, NH4+'s sign errors, and the NH4+ points where
/// the truth's |R| > 0.02.
type Scores = (f64, f64, usize, usize);

/// The [`Scores`] of `model` over the trajectories.
fn errors(model: &IonModel, set: &[Trajectory], nh4: usize) -> Scores {
    let n = model.config.ions.len();
    let (mut a, mut na, mut b, mut nb) = (0.0, 0, 0.0, 0);
    let (mut wrong, mut signed) = (0, 0);
    for t in set {
        let h = model
            .predict_normalised(&t.feed.cond, &t.taus)
            .expect("prediction");
        for (k, y) in t.targets.iter().enumerate() {
            if let Some(y) = y {
                let h0 = t.feed.cond.h0[k % n];
                let e = (h[k] - y).abs() / h0;
                if k % n == nh4 {
                    a += e;
                    na += 1;
                    let (truth, predicted) = (1.0 - y / h0, 1.0 - h[k] / h0);
                    if truth.abs() > 0.02 {
                        signed += 1;
                        wrong += usize::from(truth.signum() != predicted.signum());
                    }
                } else {
                    b += e;
                    nb += 1;
                }
            }
        }
    }
    (a / na.max(1) as f64, b / nb.max(1) as f64, wrong, signed)
}

/// Mean and sample standard deviation (0 for one value).
fn mean_sd(x: &[f64]) -> (f64, f64) {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

fn main() {
    let seeds: Vec<u64> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SEEDS: comma-separated integers, e.g. 0,1,2")
        })
        .collect();
    let ext = IonRegistry::extended();
    let six = ext
        .subset(&["Na+", "Mg2+", "NH4+", "Cl-", "SO4 2-", "NO3-"])
        .unwrap();
    let five = ext
        .subset(&["Na+", "Mg2+", "Cl-", "SO4 2-", "NO3-"])
        .unwrap();
    let truth = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    // Measurements: feeds of the five other ions (fine-tuning) and, held out, feeds with NH4+
    // (the truth without noise, to score against).
    let fine = sweeps(&truth, &five, 60, 0.03, 1);
    let test_all = sweeps(&truth, &six, 200, 0.0, 2);
    let nh4 = six.index_of("NH4+").unwrap();
    println!(
        "model                                          NH4+ rejection MAE   other ions   NH4+ sign errors"
    );
    let networks = [
        ("slot network (the method)", NetworkConfig::default(), &six),
        ("descriptor network", NetworkConfig::any_ion(), &six),
        (
            "descriptor network, never saw NH4+",
            NetworkConfig::any_ion(),
            &five,
        ),
    ];
    let forms = [
        ("", Constraint::Hard, LossSpace::Concentration),
        (" +", Constraint::HardPositive, LossSpace::Rejection),
    ];
    let mut summary: Vec<(String, Vec<Scores>)> = Vec::new();
    for ((label, network, pre_reg), (plus, constraint, loss)) in networks
        .iter()
        .flat_map(|n| forms.iter().map(move |f| (n, f)))
    {
        let label = format!("{label}{plus}");
        let mut runs = Vec::new();
        for &seed in &seeds {
            let mut pre_cfg = ModelConfig::for_registry(pre_reg, network.clone(), *constraint);
            pre_cfg.loss = *loss;
            let pre = trajectories(&pre_cfg, &sweeps(&truth, pre_reg, 400, 0.01, 3)).unwrap();
            let mut model = IonModel::new(pre_cfg, seed).unwrap();
            let mut tc = TrainConfig::method(Phase::Pretrain, 40, seed);
            tc.patience = 40;
            train(&mut model, &pre, &[], &tc, None, None).unwrap();
            // Query configuration: the six ions (for the third model, a new ion list).
            let config = if pre_reg.len() == six.len() {
                model.config.clone()
            } else {
                model.config.with_ions(&six).unwrap()
            };
            let mut model = IonModel::from_parts(config, model.params.clone()).unwrap();
            let ft = trajectories(&model.config, &fine).unwrap();
            let mut tc = TrainConfig::method(Phase::FineTune, 60, seed + 7);
            tc.patience = 60;
            train(&mut model, &ft, &[], &tc, None, None).unwrap();
            let test: Vec<Trajectory> = trajectories(&model.config, &test_all)
                .unwrap()
                .into_iter()
                .filter(|t| t.feed.cond.mask[nh4])
                .collect();
            let (a, b, wrong, signed) = errors(&model, &test, nh4);
            println!(
                "{:<46} {a:>10.3}       {b:>10.3}   {wrong:>5} of {signed}   ({} feeds, seed {seed})",
                label,
                test.len()
            );
            runs.push((a, b, wrong, signed));
        }
        summary.push((label, runs));
    }
    println!("\nmean ± sd over seeds {seeds:?}:");
    for (label, runs) in &summary {
        let (a, sa) = mean_sd(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
        let (b, sb) = mean_sd(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
        let wrong: Vec<String> = runs.iter().map(|r| r.2.to_string()).collect();
        println!(
            "{label:<46} {a:.3} ± {sa:.3}   {b:.3} ± {sb:.3}   sign errors {} of {} per seed",
            wrong.join(" / "),
            runs[0].3
        );
    }
}
