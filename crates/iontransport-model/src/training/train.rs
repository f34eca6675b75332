//! Training: pre-training on DSPM-DE trajectories (MSE), fine-tuning of the last two layers on
//! measurements with targets drawn from N(mu, sigma^2) each epoch, Adam, early stopping.

use crate::error::{ModelError, Result};
use crate::model::batched::BatchTrajectoryField;
use crate::model::{IonModel, RejectionScatter, ScatterSource, TrajectoryField};
use crate::training::checkpoint::Checkpoint;
use crate::training::data::Trajectory;
use neural_ode::{
    AdjointMethod, AdjointOptions, Problem, adjoint, gradient_lockstep, solve_lockstep,
};
use np_transport::progress::Progress;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use super::adam::Adam;
pub use super::phase::Phase;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Phase.
    pub phase: Phase,
    /// Maximum epochs.
    pub epochs: usize,
    /// Mini-batch size (32 in the method).
    pub batch_size: usize,
    /// Adam learning rate (1e-3 in the method).
    pub lr: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// Seed of shuffling and target sampling.
    pub seed: u64,
    /// Show a progress bar on standard error (needs the `progress` feature; without it, nothing
    /// is drawn).
    pub progress: bool,
}

impl TrainConfig {
    /// The method's settings for a phase: batch 32, lr 1e-3.
    pub fn method(phase: Phase, epochs: usize, seed: u64) -> Self {
        Self {
            phase,
            epochs,
            batch_size: 32,
            lr: 1e-3,
            patience: 10,
            seed,
            progress: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// (epoch, mean training loss, validation loss).
    pub history: Vec<(usize, f64, f64)>,
    /// Best validation loss (its parameters are the model's on return). Without validation
    /// data this is the best *training* loss; see `validated`.
    pub best_validation: f64,
    /// Whether a validation set was used (false: early stopping and `best_validation` used
    /// the training loss, which says nothing about generalisation).
    #[serde(default = "yes")]
    pub validated: bool,
    /// Batches that made no step because their loss or gradient was not finite (a solve that
    /// overflowed); an epoch in which every batch is skipped is an error.
    #[serde(default)]
    pub skipped_batches: usize,
    /// Epochs run in this call.
    pub epochs_run: usize,
    /// Wall time, s.
    pub seconds: f64,
}

/// Loss, gradient and measured-entry count of one trajectory. `targets` override the
/// trajectory's (used for sampled fine-tuning targets).
pub fn trajectory_gradient(
    model: &IonModel,
    t: &Trajectory,
    targets: &[Option<f64>],
    first_trainable: usize,
    want_grad: bool,
) -> Result<(f64, Vec<f64>, usize)> {
    if model.config.architecture == crate::model::Architecture::Direct {
        let tg = [targets.to_vec()];
        return direct_batch_gradient(model, &[t], &tg, first_trainable, want_grad);
    }
    let (field, sol) = model.solve_trajectory(&t.feed.cond, &t.taus, first_trainable, want_grad)?;
    let penalty = model.soft_penalty(&t.feed.cond)?;
    let (loss, dl, count) =
        trajectory_loss(model, &sol, targets, penalty.as_ref(), &t.feed.cond.h0)?;
    if !want_grad {
        return Ok((loss, vec![], count));
    }
    let grads = adjoint(
        &field,
        &model.params,
        &sol,
        &dl,
        &AdjointOptions::new(
            AdjointMethod::Discrete,
            model.config.rtol,
            model.config.atol,
        ),
    )?;
    Ok((loss, grads.p, count))
}

/// Squared-error loss of one solved trajectory against `targets`, its gradient with respect
/// to the saved states, and the number of measured entries.
fn trajectory_loss(
    model: &IonModel,
    sol: &neural_ode::Solution,
    targets: &[Option<f64>],
    penalty: Option<&charge_constraint::SoftPenalty<f64>>,
    h0: &[f64],
) -> Result<(f64, Vec<f64>, usize)> {
    let n = model.config.ions.len();
    let mut loss = 0.0;
    let mut count = 0;
    let mut dl = vec![0.0; sol.y.len()];
    for k in 0..sol.t.len() {
        let h = sol.state(k);
        for j in 0..n {
            if let Some(y) = targets[k * n + j] {
                // The method's loss is the MSE in normalised concentrations c / S. Rejection
                // space (weights 1/h0^2) gave a 3.4x worse test error in both spaces for the
                // Euclidean projection at the quick scale (trace ions' extreme rejections
                // dominate it); with the positive projection it is what emulates a DSPM-DE's
                // trace rejections best (docs/real-data.md).
                let w = model.config.loss.weight(h0[j]);
                let d = h[j] - y;
                loss += w * d * d;
                dl[k * n + j] = 2.0 * w * d;
                count += 1;
            }
        }
        if let Some(pen) = penalty {
            loss += pen.accumulate_gradient(h, 1.0, &mut dl[k * n..(k + 1) * n])?;
        }
    }
    Ok((loss, dl, count))
}

use crate::model::DIRECT_ROWS;
pub use crate::model::batched::ROWS_PER_CALL;

/// Summed loss, summed gradient and measured-entry count of several trajectories, for the
/// neural ODE by the lock-step discrete adjoint ([`neural_ode::gradient_lockstep`]: each
/// trajectory keeps its own steps, the network runs on all of them as matrix products).
/// `targets[i]` override trajectory i's. A failed solve fails the whole call.
pub fn batch_gradient(
    model: &IonModel,
    trajectories: &[&Trajectory],
    targets: &[Vec<Option<f64>>],
    first_trainable: usize,
) -> Result<(f64, Vec<f64>, usize)> {
    if model.config.architecture == crate::model::Architecture::Direct {
        return direct_batch_gradient(model, trajectories, targets, first_trainable, true);
    }
    let mut fields = Vec::with_capacity(trajectories.len());
    let mut penalties = Vec::with_capacity(trajectories.len());
    for t in trajectories {
        let mut f = TrajectoryField::new(model, &t.feed.cond)?;
        f.first_trainable = first_trainable;
        fields.push(f);
        penalties.push(model.soft_penalty(&t.feed.cond)?);
    }
    let field = BatchTrajectoryField::new(fields);
    let problems: Vec<Problem> = trajectories.iter().map(|t| t.problem()).collect();
    // The loss closure cannot return an error: a penalty failure becomes a NaN loss, which
    // the caller treats like any non-finite batch.
    let g = gradient_lockstep(
        &field,
        &model.params,
        &problems,
        |i, sol| match trajectory_loss(
            model,
            sol,
            &targets[i],
            penalties[i].as_ref(),
            &trajectories[i].feed.cond.h0,
        ) {
            Ok((l, dl, _)) => (l, dl),
            Err(_) => (f64::NAN, vec![0.0; sol.y.len()]),
        },
        &model.solver_options(true),
        ROWS_PER_CALL,
    )?;
    let count = targets
        .iter()
        .map(|t| t.iter().filter(|x| x.is_some()).count())
        .sum();
    Ok((g.loss, g.p, count))
}

/// [`batch_gradient`] for a direct baseline: all flux points of the batch in chunks of
/// [`DIRECT_ROWS`], each chunk's network evaluated as matrix products; chunks run in
/// parallel and are summed in order. Without `want_grad` the gradient is empty.
fn direct_batch_gradient(
    model: &IonModel,
    trajectories: &[&Trajectory],
    targets: &[Vec<Option<f64>>],
    first_trainable: usize,
    want_grad: bool,
) -> Result<(f64, Vec<f64>, usize)> {
    let n = model.config.ions.len();
    let penalties = trajectories
        .iter()
        .map(|t| model.soft_penalty(&t.feed.cond))
        .collect::<Result<Vec<_>>>()?;
    let points: Vec<(usize, usize)> = trajectories
        .iter()
        .enumerate()
        .flat_map(|(i, t)| (0..t.taus.len()).map(move |k| (i, k)))
        .collect();
    let parts: Vec<Result<(f64, Vec<f64>, usize)>> = points
        .par_chunks(DIRECT_ROWS)
        .map(|chunk| {
            let conds: Vec<_> = chunk
                .iter()
                .map(|&(i, _)| &trajectories[i].feed.cond)
                .collect();
            let taus: Vec<f64> = chunk
                .iter()
                .map(|&(i, k)| trajectories[i].taus[k])
                .collect();
            let tg: Vec<&[Option<f64>]> = chunk
                .iter()
                .map(|&(i, k)| &targets[i][k * n..(k + 1) * n])
                .collect();
            let pens: Vec<_> = chunk.iter().map(|&(i, _)| penalties[i].as_ref()).collect();
            let mut ws = crate::network::Workspace::new(&model.config.network, chunk.len());
            let mut g = vec![0.0; if want_grad { model.num_params() } else { 0 }];
            let (l, c) = model.direct_rows_gradient(
                &conds,
                &taus,
                &tg,
                &pens,
                &mut ws,
                want_grad.then_some(&mut g[..]),
                first_trainable,
            )?;
            Ok((l, g, c))
        })
        .collect();
    let mut g = vec![0.0; if want_grad { model.num_params() } else { 0 }];
    let (mut l, mut c) = (0.0, 0);
    for part in parts {
        let (li, gi, ci) = part?;
        l += li;
        c += ci;
        g.iter_mut().zip(&gi).for_each(|(a, b)| *a += b);
    }
    Ok((l, g, c))
}

/// Mean squared error (normalised units) over a set, with the soft penalty if any. The
/// neural ODE's trajectories are solved in lock-step chunks ([`neural_ode::solve_lockstep`]).
pub fn evaluate_loss(model: &IonModel, set: &[Trajectory]) -> Result<f64> {
    let parts: Vec<Result<(f64, usize)>> = if model.config.architecture
        == crate::model::Architecture::Direct
    {
        set.par_iter()
            .map(|t| trajectory_gradient(model, t, &t.targets, 0, false).map(|(l, _, c)| (l, c)))
            .collect()
    } else {
        set.par_chunks(ROWS_PER_CALL)
            .map(|chunk| chunk_loss(model, chunk))
            .collect()
    };
    let (mut l, mut c) = (0.0, 0);
    for p in parts {
        let (a, b) = p?;
        l += a;
        c += b;
    }
    Ok(if c == 0 { 0.0 } else { l / c as f64 })
}

/// Summed loss and entry count of a chunk of neural-ODE trajectories, solved in lock step.
fn chunk_loss(model: &IonModel, chunk: &[Trajectory]) -> Result<(f64, usize)> {
    let fields = chunk
        .iter()
        .map(|t| TrajectoryField::new(model, &t.feed.cond))
        .collect::<Result<Vec<_>>>()?;
    let field = BatchTrajectoryField::new(fields);
    let problems: Vec<Problem> = chunk.iter().map(Trajectory::problem).collect();
    let sols = solve_lockstep(
        &field,
        &model.params,
        &problems,
        &model.solver_options(false),
    );
    let (mut l, mut c) = (0.0, 0);
    for (t, sol) in chunk.iter().zip(sols) {
        let penalty = model.soft_penalty(&t.feed.cond)?;
        let (li, _, ci) =
            trajectory_loss(model, &sol?, &t.targets, penalty.as_ref(), &t.feed.cond.h0)?;
        l += li;
        c += ci;
    }
    Ok((l, c))
}

fn sample_targets(t: &Trajectory, rng: &mut ChaCha8Rng) -> Vec<Option<f64>> {
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    t.targets
        .iter()
        .zip(&t.sds)
        .map(|(mu, sd)| mu.map(|m| m + sd.unwrap_or(0.0) * normal.sample(rng)))
        .collect()
}

/// Trains `model` in place; keeps the best-validation parameters. With `checkpoint`, the
/// state is saved atomically after every epoch and `resume` continues from it.
///
/// The model's training domain grows to take in the training and validation feeds and
/// fluxes. It does so before the first epoch: a hybrid's correction fades beyond the
/// domain's largest flux, so training must see the domain its predictions will use (which
/// no training flux lies beyond). On an error the domain is left as it was.
pub fn train(
    model: &mut IonModel,
    train_set: &[Trajectory],
    validation: &[Trajectory],
    cfg: &TrainConfig,
    checkpoint: Option<&PathBuf>,
    resume: Option<Checkpoint>,
) -> Result<TrainReport> {
    let prior = model.config.domain.clone();
    let mut seen = train_set.to_vec();
    seen.extend_from_slice(validation);
    if let Some(d) = crate::training::data::domain_of(&model.config, &seen) {
        model.config.domain = Some(match &prior {
            Some(old) => old.union(&d),
            None => d,
        });
    }
    let report = train_in_domain(model, train_set, validation, cfg, checkpoint, resume);
    if report.is_err() {
        model.config.domain = prior;
        return report;
    }
    // The scatter of prediction intervals: the trained model's error on the feeds held out
    // of the gradient steps when there are any.
    let (set, source) = if validation.is_empty() {
        (train_set, ScatterSource::Training)
    } else {
        (validation, ScatterSource::Validation)
    };
    let rmse = crate::evaluation::ensemble::rejection_rmse(model, set)?;
    if let Some(d) = model.config.domain.as_mut() {
        d.scatter = Some(RejectionScatter { rmse, source });
    }
    report
}

/// [`train`] once the domain is set.
fn train_in_domain(
    model: &mut IonModel,
    train_set: &[Trajectory],
    validation: &[Trajectory],
    cfg: &TrainConfig,
    checkpoint: Option<&PathBuf>,
    resume: Option<Checkpoint>,
) -> Result<TrainReport> {
    if train_set.is_empty() {
        return Err(ModelError::Training("empty training set".into()));
    }
    if cfg.epochs == 0 {
        return Err(ModelError::Training(
            "0 epochs: the model would be returned untrained".into(),
        ));
    }
    if cfg.batch_size == 0 || cfg.lr.is_nan() || cfg.lr <= 0.0 {
        return Err(ModelError::Training(
            "batch size and learning rate must be positive".into(),
        ));
    }
    let fingerprint = {
        let mut both = train_set.to_vec();
        both.extend_from_slice(validation);
        crate::training::data::fingerprint(&both)
    };
    let start = std::time::Instant::now();
    let first_trainable = match cfg.phase {
        Phase::Pretrain => 0,
        Phase::FineTune => model.fine_tune_start(),
    };
    let (mut adam, mut epoch0, mut best, mut best_params, mut history, mut stale) = match resume {
        Some(c) => {
            if c.config != model.config {
                return Err(ModelError::Training(
                    "checkpoint belongs to a different model configuration".into(),
                ));
            }
            if c.seed != cfg.seed || c.phase.is_some_and(|p| p != cfg.phase) {
                return Err(ModelError::Training(format!(
                    "checkpoint was written with seed {} in phase {:?}, this run uses seed {} in phase {:?}",
                    c.seed, c.phase, cfg.seed, cfg.phase
                )));
            }
            if c.data_fingerprint
                .as_ref()
                .is_some_and(|f| *f != fingerprint)
            {
                return Err(ModelError::Training(
                    "checkpoint was written for other training or validation data".into(),
                ));
            }
            model.params = c.params.clone();
            (
                c.adam
                    .unwrap_or_else(|| Adam::new(model.num_params(), cfg.lr)),
                c.epoch,
                c.best_validation.unwrap_or(f64::INFINITY),
                c.best_params.unwrap_or_else(|| c.params.clone()),
                c.history,
                c.stale_epochs,
            )
        }
        None => (
            Adam::new(model.num_params(), cfg.lr),
            0,
            f64::INFINITY,
            model.params.clone(),
            vec![],
            0,
        ),
    };
    let bar = Progress::new(
        cfg.progress,
        cfg.epochs as u64,
        "{bar:30} epoch {pos}/{len} {msg} ETA {eta}",
    );
    bar.set_position(epoch0 as u64);
    let mut epochs_run = 0;
    let mut skipped = 0;
    while epoch0 < cfg.epochs && stale < cfg.patience {
        let epoch = epoch0;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(epoch as u64);
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        order.shuffle(&mut rng);
        let mut epoch_loss = 0.0;
        let mut epoch_count = 0;
        let mut skipped_this_epoch = 0;
        for batch in order.chunks(cfg.batch_size) {
            let targets: Vec<Vec<Option<f64>>> = batch
                .iter()
                .map(|&i| match cfg.phase {
                    Phase::Pretrain => train_set[i].targets.clone(),
                    Phase::FineTune => {
                        let mut r = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xF1E7);
                        r.set_stream(((epoch as u64) << 32) | i as u64);
                        sample_targets(&train_set[i], &mut r)
                    }
                })
                .collect();
            let members: Vec<&Trajectory> = batch.iter().map(|&i| &train_set[i]).collect();
            let (l, mut g, c) = match batch_gradient(model, &members, &targets, first_trainable) {
                Ok(v) => v,
                // A solve that failed (step size underflow, too many steps) counts as a
                // non-finite gradient: the batch is skipped below.
                Err(ModelError::Ode(_)) => (f64::NAN, vec![0.0; model.num_params()], 0),
                Err(e) => return Err(e),
            };
            if c == 0 && l.is_finite() {
                continue;
            }
            let inv = 1.0 / c.max(1) as f64;
            g.iter_mut().for_each(|x| *x *= inv);
            if !l.is_finite() || g.iter().any(|x| !x.is_finite()) {
                // One pathological trajectory (a solve that overflowed) must not end a run of
                // hours: this batch makes no step, and the report counts it. A paper-scale
                // pre-training run (9,000 trajectories) met one in epoch 95 after 45 minutes.
                skipped += 1;
                skipped_this_epoch += 1;
                continue;
            }
            adam.step(&mut model.params, &g, first_trainable);
            epoch_loss += l;
            epoch_count += c;
        }
        if epoch_count == 0 && skipped_this_epoch > 0 {
            return Err(ModelError::Training(format!(
                "every batch of epoch {epoch} had a non-finite loss or gradient"
            )));
        }
        let train_loss = epoch_loss / epoch_count.max(1) as f64;
        let val_loss = if validation.is_empty() {
            train_loss
        } else {
            evaluate_loss(model, validation)?
        };
        history.push((epoch, train_loss, val_loss));
        if val_loss < best {
            best = val_loss;
            best_params = model.params.clone();
            stale = 0;
        } else {
            stale += 1;
        }
        epoch0 += 1;
        epochs_run += 1;
        bar.set_position(epoch0 as u64);
        bar.set_message(|| format!("train {train_loss:.3e} val {val_loss:.3e}"));
        if let Some(path) = checkpoint {
            Checkpoint {
                config: model.config.clone(),
                params: model.params.clone(),
                best_params: Some(best_params.clone()),
                adam: Some(adam.clone()),
                epoch: epoch0,
                best_validation: best.is_finite().then_some(best),
                stale_epochs: stale,
                history: history.clone(),
                seed: cfg.seed,
                phase: Some(cfg.phase),
                data_fingerprint: Some(fingerprint.clone()),
            }
            .save(path)?;
        }
    }
    bar.finish();
    model.params = best_params;
    Ok(TrainReport {
        history,
        best_validation: best,
        validated: !validation.is_empty(),
        skipped_batches: skipped,
        epochs_run,
        seconds: start.elapsed().as_secs_f64(),
    })
}
