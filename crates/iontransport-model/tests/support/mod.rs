//! Shared checks of the model tests.

#![allow(dead_code)]

use iontransport_model::TrajectoryField;
use neural_ode::VectorField;

/// The field's VJP at (`tau`, `h`, `params`) with cotangent `a`, and its worst relative error
/// against central finite differences (step 1e-6) of a . f over every state entry and every
/// parameter: `(worst, vjp_h, vjp_p)`.
pub fn field_vjp_error(
    f: &TrajectoryField,
    params: &[f64],
    tau: f64,
    h: &[f64],
    a: &[f64],
) -> (f64, Vec<f64>, Vec<f64>) {
    let n = h.len();
    let mut ws = f.workspace();
    let (mut vh, mut vp) = (vec![0.0; n], vec![0.0; params.len()]);
    f.vjp(tau, h, params, a, &mut ws, &mut vh, &mut vp);
    let mut out = vec![0.0; n];
    let mut adot = |h: &[f64], p: &[f64]| {
        f.eval(tau, h, p, &mut ws, &mut out);
        out.iter().zip(a).map(|(x, w)| x * w).sum::<f64>()
    };
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    for j in 0..n {
        let (mut hp, mut hm) = (h.to_vec(), h.to_vec());
        hp[j] += eps;
        hm[j] -= eps;
        let fd = (adot(&hp, params) - adot(&hm, params)) / (2.0 * eps);
        worst = worst.max((fd - vh[j]).abs() / (1.0 + vh[j].abs()));
    }
    for i in 0..params.len() {
        let (mut pp, mut pm) = (params.to_vec(), params.to_vec());
        pp[i] += eps;
        pm[i] -= eps;
        let fd = (adot(h, &pp) - adot(h, &pm)) / (2.0 * eps);
        worst = worst.max((fd - vp[i]).abs() / (1.0 + vp[i].abs()));
    }
    (worst, vh, vp)
}

/// DSPM-DE sweeps of the NF270-like membrane (canonical ions, default conditions and
/// generator settings): `feeds` random feeds, `fluxes` fluxes up to 2e-5 m/s, 1 % noise,
/// from `seed`.
pub fn nf270_sweeps(feeds: usize, fluxes: usize, seed: u64) -> np_transport::data::Dataset {
    use np_transport::generate::{GeneratorConfig, flux_grid, generate};
    use np_transport::{Conditions, Dspmde, Membrane};
    let reg = ion_species::IonRegistry::canonical();
    let dspm = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let cfg = GeneratorConfig {
        feeds,
        fluxes: flux_grid(2e-5, fluxes),
        seed,
        ..GeneratorConfig::default()
    };
    generate(&dspm, &reg, &cfg, "test").unwrap().dataset
}

/// A trajectory of `pf` at normalised fluxes `taus` whose measured ions' targets fall
/// linearly from the feed: h_j (1 - drop (k + 1) / len) at flux k.
pub fn falling_trajectory(
    pf: iontransport_model::PreparedFeed,
    taus: &[f64],
    drop: f64,
) -> iontransport_model::data::Trajectory {
    let (n, m) = (pf.cond.h0.len(), taus.len());
    let mut targets = vec![None; m * n];
    for k in 0..m {
        for j in 0..n {
            if pf.cond.mask[j] {
                targets[k * n + j] = Some(pf.cond.h0[j] * (1.0 - drop * (k + 1) as f64 / m as f64));
            }
        }
    }
    iontransport_model::data::Trajectory {
        id: "t".into(),
        feed: pf,
        taus: taus.to_vec(),
        targets,
        sds: vec![None; m * n],
    }
}

/// The small network the model tests use (6 hidden units, d_model 4, d_k 3; attention and
/// the perceptron body as by default): fast to train and to difference.
pub fn tiny_network() -> iontransport_model::NetworkConfig {
    iontransport_model::NetworkConfig {
        hidden: 6,
        d_model: 4,
        d_k: 3,
        ..iontransport_model::NetworkConfig::default()
    }
}

/// The worst error of the gradient `g` of `loss` at `params` against central differences of
/// step `eps` over every `stride`-th parameter, relative to the largest |g|; and that largest
/// |g|.
pub fn gradient_fd_error(
    loss: impl Fn(&[f64]) -> f64,
    params: &[f64],
    g: &[f64],
    eps: f64,
    stride: usize,
) -> (f64, f64) {
    let gmax = g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let mut worst: f64 = 0.0;
    for i in (0..params.len()).step_by(stride) {
        let (mut pp, mut pm) = (params.to_vec(), params.to_vec());
        pp[i] += eps;
        pm[i] -= eps;
        let fd = (loss(&pp) - loss(&pm)) / (2.0 * eps);
        worst = worst.max((fd - g[i]).abs() / gmax);
    }
    (worst, gmax)
}
