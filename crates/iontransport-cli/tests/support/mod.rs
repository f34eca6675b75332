//! Shared fixtures: a small DSPM-DE data set and a tiny trained model, made in seconds.

#![allow(dead_code)]

use clap::Parser;
use ion_species::IonRegistry;
use iontransport_cli::args::Cli;
use iontransport_cli::commands::run_cli;
use iontransport_model::data::trajectories;
use iontransport_model::train::{Phase, TrainConfig};
use iontransport_model::{Checkpoint, Constraint, IonModel, ModelConfig, NetworkConfig};
use np_transport::generate::{GeneratorConfig, flux_grid, generate};
use np_transport::{Conditions, Dspmde, Membrane};
use std::path::Path;

/// Output of one in-process command: Ok(stdout) or Err(message), and stderr.
pub struct Outcome {
    pub result: Result<String, String>,
    pub stderr: String,
}

/// Parses and runs a command line in-process (argument errors become Err too).
pub fn run(args: &[&str]) -> Outcome {
    let mut full = vec!["iontransport"];
    full.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = match Cli::try_parse_from(&full) {
        Err(e) => Err(e.to_string()),
        Ok(cli) => run_cli(cli, &mut out, &mut err).map_err(|e| e.to_string()),
    };
    Outcome {
        result: result.map(|()| String::from_utf8_lossy(&out).into_owned()),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Runs a command line written as a user types it at a shell (split by `shlex`: quote an
/// argument that holds spaces, and paths with [`q`]).
pub fn sh(line: &str) -> Outcome {
    let args = shlex::split(line).unwrap_or_else(|| panic!("unbalanced quotes in `{line}`"));
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// [`sh`]'s standard output; panics with the error when the command fails.
pub fn ok(line: &str) -> String {
    sh(line)
        .result
        .unwrap_or_else(|e| panic!("`{line}` failed: {e}"))
}

/// [`sh`]'s error message; panics when the command succeeds.
pub fn fails(line: &str) -> String {
    match sh(line).result {
        Ok(out) => panic!("`{line}` succeeded: {out}"),
        Err(e) => e,
    }
}

/// A path (or any argument) quoted for [`sh`].
pub fn q(arg: &(impl AsRef<std::ffi::OsStr> + ?Sized)) -> String {
    let s = arg.as_ref().to_str().expect("UTF-8 argument");
    shlex::try_quote(s).expect("no NUL byte").into_owned()
}

/// A temporary folder holding `lab.csv`, `feeds` DSPM-DE sweeps as [`data_with`] writes them;
/// the folder lives as long as the returned handle.
pub fn lab(feeds: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab.csv");
    data_with(&data, feeds);
    (dir, data)
}

/// 16 DSPM-DE sweeps (NF270-like membrane, 4 fluxes up to 2e-5 m/s) written as CSV.
pub fn small_data(path: &Path) {
    data_with(path, 16);
}

/// `feeds` DSPM-DE sweeps like [`small_data`]'s.
pub fn data_with(path: &Path, feeds: usize) {
    let reg = IonRegistry::canonical();
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let cfg = GeneratorConfig {
        feeds,
        fluxes: flux_grid(2e-5, 4),
        noise: 0.01,
        seed: 1,
        regime_weights: [1.0, 0.0, 0.0],
        ..GeneratorConfig::default()
    };
    let rep = generate(&model, &reg, &cfg, "test data").unwrap();
    rep.dataset.write_csv(path).unwrap();
}

/// A tiny positive-projection model trained for 2 epochs on `data` and saved at `path`.
pub fn tiny_model(data: &Path, path: &Path) {
    tiny_model_seeded(data, path, 0)
}

/// [`tiny_model`] with its initial weights and batches from `seed`.
pub fn tiny_model_seeded(data: &Path, path: &Path, seed: u64) {
    let reg = IonRegistry::canonical();
    let ds = np_transport::data::Dataset::read_csv(data, &reg).unwrap();
    let net = NetworkConfig {
        hidden: 8,
        ..NetworkConfig::default()
    };
    let mut m = IonModel::new(
        ModelConfig::for_registry(&reg, net, Constraint::HardPositive),
        seed,
    )
    .unwrap();
    let set = trajectories(&m.config, &ds).unwrap();
    let cfg = TrainConfig::method(Phase::Pretrain, 2, seed);
    iontransport_model::train(&mut m, &set[..12], &set[12..], &cfg, None, None).unwrap();
    Checkpoint::of_model(&m, seed).save(path).unwrap();
}

/// A fresh temporary folder holding [`small_data`] as `d.csv`: the folder (kept alive by
/// the caller) and the data file's path.
pub fn with_small_data() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    small_data(&data);
    (dir, data)
}

/// `iontransport train --data DATA --out OUT` followed by `extra`.
pub fn train(data: &Path, out: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}
