//! The discrete adjoint: reverse-mode differentiation through the stored Tsit5 steps.
//!
//! Forward, step i maps y to y_new = y + h sum_j b_j k_j with stages
//! k_s = f(t + c_s h, Y_s), Y_s = y + h sum_{j<s} a_sj k_j (Y_0 = y, Y_6 = y_new), and an
//! output inside the step is y + h sum_j w_j(theta) k_j. Backwards, cotangents flow from
//! the outputs and from y_new into the stages, and each stage costs one VJP.

use crate::dense::DenseOutput;
use crate::error::Result;
use crate::field::VectorField;
use crate::gradients::Gradients;
use crate::options::Stats;
use crate::solver::Solution;
use crate::tableau::{A, B, C, dense_weight_derivatives, dense_weights};

/// Assigns each output to the step whose interpolant produced it (`None`: the output is y0
/// itself, at t0) and returns dL/dt_k = g_k . dy_k/dt_k, from the derivative of that
/// interpolant: exact for the discrete solution and free of f evaluations.
pub(crate) fn output_owners(
    sol: &Solution,
    d: &DenseOutput,
    dl_dy: &[f64],
) -> (Vec<Option<usize>>, Vec<f64>) {
    let n = sol.n;
    let m = sol.t.len();
    let steps = d.num_steps();
    let mut owner: Vec<Option<usize>> = Vec::with_capacity(m);
    let mut dt = vec![0.0; m];
    let mut hint = 0;
    for k in 0..m {
        let g = &dl_dy[k * n..(k + 1) * n];
        if sol.t[k] == sol.t0 || steps == 0 {
            // An output at t0 is y0 itself, which does not move with t_k.
            owner.push(None);
            continue;
        }
        let i = d.locate(sol.t[k], &mut hint);
        let theta = ((sol.t[k] - d.t[i]) / d.h[i]).clamp(0.0, 1.0);
        let dw = dense_weight_derivatives(theta);
        let kk = &d.k[i * 7 * n..(i + 1) * 7 * n];
        let mut acc = 0.0;
        for j in 0..7 {
            for l in 0..n {
                acc += g[l] * dw[j] * kk[j * n + l];
            }
        }
        dt[k] = acc;
        owner.push(Some(i));
    }
    (owner, dt)
}

/// Seeds the stage cotangents of step `i` from the cotangent `ybar` of its end state and
/// from the outputs it produced (walking `k_out` down over them); adds those outputs'
/// cotangents into `ybar`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seed_step(
    sol: &Solution,
    d: &DenseOutput,
    dl_dy: &[f64],
    owner: &[Option<usize>],
    i: usize,
    k_out: &mut usize,
    ybar: &mut [f64],
    kbar: &mut [f64],
) {
    let n = sol.n;
    let (t, h) = (d.t[i], d.h[i]);
    // ybar holds the cotangent of y_new; it reaches k_j through b_j.
    for j in 0..7 {
        for l in 0..n {
            kbar[j * n + l] = h * B[j] * ybar[l];
        }
    }
    while *k_out > 0 && owner[*k_out - 1] == Some(i) {
        *k_out -= 1;
        let g = &dl_dy[*k_out * n..(*k_out + 1) * n];
        let w = dense_weights(((sol.t[*k_out] - t) / h).clamp(0.0, 1.0));
        for j in 0..7 {
            for l in 0..n {
                kbar[j * n + l] += h * w[j] * g[l];
            }
        }
        for l in 0..n {
            ybar[l] += g[l];
        }
    }
}

/// Input Y_s of stage `s` of step `i`, into `out`.
pub(crate) fn stage_state(d: &DenseOutput, i: usize, s: usize, out: &mut [f64]) {
    let n = d.n;
    let h = d.h[i];
    let y = &d.y[i * n..(i + 1) * n];
    let kk = &d.k[i * 7 * n..(i + 1) * 7 * n];
    for l in 0..n {
        let mut acc = 0.0;
        for j in 0..s {
            acc += A[s][j] * kk[j * n + l];
        }
        out[l] = y[l] + h * acc;
    }
}

/// After stage `s`'s VJP `vy`: its contribution to y's cotangent and to the earlier stages'.
pub(crate) fn spread_stage(h: f64, s: usize, vy: &[f64], ybar: &mut [f64], kbar: &mut [f64]) {
    let n = vy.len();
    for l in 0..n {
        ybar[l] += vy[l];
    }
    for j in 0..s {
        let c = h * A[s][j];
        for l in 0..n {
            kbar[j * n + l] += c * vy[l];
        }
    }
}

pub(crate) fn discrete_adjoint<F: VectorField>(
    f: &F,
    p: &[f64],
    sol: &Solution,
    d: &DenseOutput,
    dl_dy: &[f64],
) -> Result<Gradients> {
    let n = f.dim();
    let np = f.num_params();
    let m = sol.t.len();
    let mut ws = f.workspace();
    let mut stats = Stats::default();
    let mut fbuf = vec![0.0; n];

    let (owner, dt) = output_owners(sol, d, dl_dy);
    let steps = d.num_steps();

    let mut ybar = vec![0.0; n];
    let mut pbar = vec![0.0; np];
    let mut kbar = vec![0.0; 7 * n];
    let mut stage_y = vec![0.0; n];
    let mut vy = vec![0.0; n];
    let mut vp = vec![0.0; np];
    // Outputs are sorted by time, so walk them backwards alongside the steps.
    let mut k_out = m;
    for i in (0..steps).rev() {
        let (t, h) = (d.t[i], d.h[i]);
        seed_step(sol, d, dl_dy, &owner, i, &mut k_out, &mut ybar, &mut kbar);
        // Stages in reverse: k_s = f(t + c_s h, Y_s).
        for s in (0..7).rev() {
            stage_state(d, i, s, &mut stage_y);
            let r = d.record_len;
            let cot = &kbar[s * n..(s + 1) * n];
            // The parameter cotangent is added straight into pbar.
            if r > 0 {
                // The forward pass kept this stage's record: no recomputation.
                let rec = &d.records[(i * 7 + s) * r..(i * 7 + s + 1) * r];
                f.vjp_recorded_add(
                    t + C[s] * h,
                    &stage_y,
                    p,
                    cot,
                    &mut ws,
                    rec,
                    &mut vy,
                    &mut pbar,
                    &mut vp,
                );
            } else {
                f.vjp(t + C[s] * h, &stage_y, p, cot, &mut ws, &mut vy, &mut vp);
                for (a, b) in pbar.iter_mut().zip(&vp) {
                    *a += b;
                }
            }
            stats.nvjp += 1;
            spread_stage(h, s, &vy, &mut ybar, &mut kbar);
        }
        stats.accepted += 1;
    }
    // Outputs at t0 act on y0 directly.
    while k_out > 0 {
        k_out -= 1;
        for l in 0..n {
            ybar[l] += dl_dy[k_out * n + l];
        }
    }
    f.eval(sol.t0, &sol.y0, p, &mut ws, &mut fbuf);
    stats.nfe += 1;
    Ok(Gradients {
        t0: -dot(&ybar, &fbuf),
        y0: ybar,
        p: pbar,
        t: dt,
        stats,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
