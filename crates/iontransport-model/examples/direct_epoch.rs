//! Times one epoch of the direct baselines (FNN, CNN, U-Net regressors of (feed, J_v) ->
//! permeate, the study's comparison models) on one thread: 32 batches x 32 trajectories (the
//! first 1,024 of DATA), freshly initialised with the study's matched parameter count (the
//! cost of a direct model does not depend on its weights). Prints one JSON line per body.
//!
//! `cargo run --release -p iontransport-model --example direct_epoch -- DATA.csv [EPOCHS] [BODIES]`
//!
//! BODIES: comma-separated of `fnn`, `cnn`, `unet` (default all three).

use ion_species::IonRegistry;
use iontransport_model::NetworkConfig;
use iontransport_model::data::trajectories;
use iontransport_model::model::Architecture;
use iontransport_model::network::Body;
use iontransport_model::train::{Adam, batch_gradient};
use iontransport_model::{Constraint, IonModel, ModelConfig};
use np_transport::data::Dataset;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(data_path) = args.get(1) else {
        return Err("usage: direct_epoch DATA.csv [EPOCHS] [BODIES]".into());
    };
    let epochs: usize = args.get(2).map_or(Ok(2), |e| e.parse())?;
    let bodies = args.get(3).map_or("fnn,cnn,unet", String::as_str);
    let reg = IonRegistry::canonical();
    let ds = Dataset::read_csv(data_path.as_ref(), &reg)?;
    let mlp = NetworkConfig {
        ions: reg.len(),
        ..NetworkConfig::default()
    };
    let target = mlp.num_params();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    for name in bodies.split(',') {
        let network = match name {
            "fnn" => mlp.clone(),
            "cnn" => mlp.with_matched_body(|channels| Body::Cnn { channels }, target),
            "unet" => mlp.with_matched_body(|channels| Body::UNet { channels }, target),
            other => return Err(format!("unknown body {other}").into()),
        };
        let mut config = ModelConfig::for_registry(&reg, network, Constraint::Hard);
        config.architecture = Architecture::Direct;
        let model = IonModel::new(config, 7)?;
        let trs = trajectories(&model.config, &ds)?;
        let trs = &trs[..trs.len().min(1024)];
        let points: usize = trs.iter().map(|t| t.taus.len()).sum();
        let mut seconds = Vec::new();
        for _ in 0..epochs {
            let mut m = model.clone();
            let mut adam = Adam::new(m.num_params(), 1e-3);
            let t0 = Instant::now();
            one.install(|| -> Result<(), iontransport_model::ModelError> {
                for batch in trs.chunks(32) {
                    let members: Vec<_> = batch.iter().collect();
                    let targets: Vec<_> = batch.iter().map(|t| t.targets.clone()).collect();
                    let (_, mut g, count) = batch_gradient(&m, &members, &targets, 0)?;
                    let inv = 1.0 / count.max(1) as f64;
                    g.iter_mut().for_each(|x| *x *= inv);
                    adam.step(&mut m.params, &g, 0);
                }
                Ok(())
            })?;
            seconds.push(t0.elapsed().as_secs_f64());
        }
        let best = seconds.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "{{\"body\": \"{name}\", \"parameters\": {}, \"trajectories\": {}, \"points\": {points}, \"epoch_seconds\": {seconds:?}, \"us_per_point\": {:.2}}}",
            model.num_params(),
            trs.len(),
            best / points as f64 * 1e6
        );
    }
    Ok(())
}
