//! Times the paper's training configuration on one thread, for `tools/jax_compare.py`: epochs
//! of 32 batches x 32 trajectories (the first 1,024 of DATA) with MODEL's weights and
//! tolerances, and inference of 32 feeds; prints one JSON line.
//!
//! `cargo run --release -p iontransport-model --example paper_epoch -- MODEL.json DATA.csv [EPOCHS] [THREADS] [MODE]`
//!
//! MODE `lockstep` (the default, as `train` does): each batch by
//! [`iontransport_model::train::batch_gradient`] (the trajectories in lock step, the network
//! as matrix products); `single`: one trajectory at a time (`trajectory_gradient`), the
//! previous implementation, for same-run ratios. THREADS (default: `RAYON_NUM_THREADS` when
//! set, else 1) sizes the thread pool the work runs in.

use ion_species::IonRegistry;
use iontransport_model::Checkpoint;
use iontransport_model::data::trajectories;
use iontransport_model::train::{Adam, batch_gradient, trajectory_gradient};
use np_transport::data::Dataset;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model_path), Some(data_path)) = (args.get(1), args.get(2)) else {
        return Err("usage: paper_epoch MODEL.json DATA.csv [EPOCHS] [THREADS] [MODE]".into());
    };
    let epochs: usize = args.get(3).map_or(Ok(3), |e| e.parse())?;
    let threads: usize = match args.get(4) {
        Some(t) => t.parse()?,
        None => std::env::var("RAYON_NUM_THREADS")
            .ok()
            .map_or(Ok(1), |t| t.parse())?,
    };
    let lockstep = match args.get(5).map_or("lockstep", String::as_str) {
        "lockstep" => true,
        "single" => false,
        other => return Err(format!("MODE is lockstep or single, not {other}").into()),
    };
    let model = Checkpoint::load(model_path.as_ref())?.model()?;
    let reg = IonRegistry::canonical();
    let ds = Dataset::read_csv(data_path.as_ref(), &reg)?;
    let trs = trajectories(&model.config, &ds)?;
    let trs = &trs[..trs.len().min(1024)];
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut seconds = Vec::new();
    let mut steps = 0usize;
    for _ in 0..epochs {
        let mut m = model.clone();
        let mut adam = Adam::new(m.num_params(), 1e-3);
        let t0 = Instant::now();
        one.install(|| -> Result<(), iontransport_model::ModelError> {
            for batch in trs.chunks(32) {
                use rayon::prelude::*;
                if lockstep {
                    let members: Vec<_> = batch.iter().collect();
                    let targets: Vec<_> = batch.iter().map(|t| t.targets.clone()).collect();
                    let (_, mut g, count) = batch_gradient(&m, &members, &targets, 0)?;
                    let inv = 1.0 / count.max(1) as f64;
                    g.iter_mut().for_each(|x| *x *= inv);
                    adam.step(&mut m.params, &g, 0);
                    continue;
                }
                let parts: Vec<_> = batch
                    .par_iter()
                    .map(|t| trajectory_gradient(&m, t, &t.targets, 0, true))
                    .collect();
                let mut g = vec![0.0; m.num_params()];
                let mut count = 0;
                for part in parts {
                    let (_, gi, c) = part?;
                    count += c;
                    g.iter_mut().zip(&gi).for_each(|(a, b)| *a += b);
                }
                let inv = 1.0 / count.max(1) as f64;
                g.iter_mut().for_each(|x| *x *= inv);
                adam.step(&mut m.params, &g, 0);
            }
            Ok(())
        })?;
        seconds.push(t0.elapsed().as_secs_f64());
    }
    for t in trs {
        steps += model
            .solve_trajectory(&t.feed.cond, &t.taus, 0, false)?
            .1
            .stats
            .accepted;
    }
    // The fastest of 5 blocks of 20 calls (mean per call): a shared machine's pauses inflate
    // a mean, never a minimum. tools/jax_compare.py times the JAX side the same way.
    let reps = 20;
    let time = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t0 = Instant::now();
                for _ in 0..reps {
                    f();
                }
                t0.elapsed().as_secs_f64() / reps as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    let items: Vec<_> = trs[..32]
        .iter()
        .map(|t| (&t.feed.cond, t.taus.as_slice()))
        .collect();
    let (inference1, inference32) = one.install(|| {
        let one_feed = time(&|| {
            model
                .predict_normalised(&trs[0].feed.cond, &trs[0].taus)
                .unwrap();
        });
        let many = time(&|| {
            if lockstep {
                for r in model.predict_normalised_many(&items) {
                    r.unwrap();
                }
            } else {
                for t in &trs[..32] {
                    model.predict_normalised(&t.feed.cond, &t.taus).unwrap();
                }
            }
        });
        (one_feed, many)
    });
    // The first trajectory's prediction, so the comparison can check it runs the same model.
    let first = model.predict_normalised(&trs[0].feed.cond, &trs[0].taus)?;
    println!(
        "{{\"epoch_seconds\": {seconds:?}, \"trajectories\": {}, \"steps_per_trajectory\": {:.2}, \"inference_1_seconds\": {inference1:.6}, \"inference_32_seconds\": {inference32:.6}, \"first_prediction\": {first:?}}}",
        trs.len(),
        steps as f64 / trs.len() as f64
    );
    Ok(())
}
