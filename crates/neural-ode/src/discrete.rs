//! The discrete adjoint: reverse-mode differentiation through the stored Tsit5 steps.
//!
//! Forward, step i maps y to y_new = y + h sum_j b_j k_j with stages
//! k_s = f(t + c_s h, Y_s), Y_s = y + h sum_{j<s} a_sj k_j (Y_0 = y, Y_6 = y_new), and an
//! output inside the step is y + h sum_j w_j(theta) k_j. Backwards, cotangents flow from
//! the outputs and from y_new into the stages, and each stage costs one VJP.

use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::gradients::Gradients;
use crate::options::Stats;
use crate::rows::{BatchField, Rows, RowsOf};
use crate::solver::{RowBuffers, Solution};
use crate::tableau::{A, B, C, dense_weight_derivatives, dense_weights};

/// Assigns each output to the step whose interpolant produced it (`None`: the output is y0
/// itself, at t0) and returns dL/dt_k = g_k . dy_k/dt_k, from the derivative of that
/// interpolant: exact for the discrete solution and free of f evaluations.
fn output_owners(sol: &Solution, d: &DenseOutput, dl_dy: &[f64]) -> (Vec<Option<usize>>, Vec<f64>) {
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
fn seed_step(
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
fn stage_state(d: &DenseOutput, i: usize, s: usize, out: &mut [f64]) {
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
fn spread_stage(h: f64, s: usize, vy: &[f64], ybar: &mut [f64], kbar: &mut [f64]) {
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

/// The discrete adjoint of one solve: the batch backward pass with one member, plus the
/// gradients with respect to the output times and t0.
pub(crate) fn discrete_adjoint<F: VectorField>(
    f: &F,
    p: &[f64],
    sol: &Solution,
    d: &DenseOutput,
    dl_dy: &[f64],
) -> Result<Gradients> {
    let rows = RowsOf::new(std::slice::from_ref(f))?;
    let (pbar, mut y0, mut stats) = backward(&rows, p, &[(sol, dl_dy)], &[0])?;
    let ybar = y0.pop().expect("one member");
    let (_, dt) = output_owners(sol, d, dl_dy);
    let mut fbuf = vec![0.0; f.dim()];
    f.eval(sol.t0, &sol.y0, p, &mut f.workspace(), &mut fbuf);
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

/// One backward chunk's parameter gradient, per-member y0 gradients and counters.
pub(crate) type ChunkGradient = (Vec<f64>, Vec<Vec<f64>>, Stats);

/// A problem on its way back through its steps.
struct Back<'a> {
    sol: &'a Solution,
    d: &'a DenseOutput,
    dl: &'a [f64],
    owner: Vec<Option<usize>>,
    k_out: usize,
    ybar: Vec<f64>,
    kbar: Vec<f64>,
    /// The stage-7 VJP of the step about to be processed was folded into the previous
    /// round's stage-1 VJP (same point, FSAL).
    folded: bool,
}

/// Adds the stage-7 cotangent of step `i` that its outputs give (h w_7(theta) g for each
/// output the step owns; the outputs are those just below `k_out`) into `a`.
fn fold_fsal_outputs(
    sol: &Solution,
    d: &DenseOutput,
    dl: &[f64],
    owner: &[Option<usize>],
    k_out: usize,
    i: usize,
    a: &mut [f64],
) {
    let n = sol.n;
    let (t, h) = (d.t[i], d.h[i]);
    let mut k = k_out;
    while k > 0 && owner[k - 1] == Some(i) {
        k -= 1;
        let w = dense_weights(((sol.t[k] - t) / h).clamp(0.0, 1.0));
        for (av, g) in a.iter_mut().zip(&dl[k * n..(k + 1) * n]) {
            *av += h * w[6] * g;
        }
    }
}

/// The discrete adjoint of problems `items` (each a solution with dense output and its loss
/// gradient at the saved states), which are members `members` of `f`: backwards one step of
/// every problem per round, the VJPs of a stage of every problem in one batched call.
pub(crate) fn backward<'a, F: BatchField>(
    f: &F,
    p: &[f64],
    items: &[(&'a Solution, &'a [f64])],
    members: &[usize],
) -> Result<ChunkGradient> {
    let n = f.dim();
    let mut stats = Stats::default();
    let mut backs = Vec::with_capacity(members.len());
    for &(sol, dl) in items {
        let d = sol.dense.as_ref().ok_or(OdeError::MissingDenseOutput)?;
        let (owner, _) = output_owners(sol, d, dl);
        backs.push(Back {
            sol,
            d,
            k_out: sol.t.len(),
            dl,
            owner,
            ybar: vec![0.0; n],
            kbar: vec![0.0; 7 * n],
            folded: false,
        });
    }
    // Folding stage 7 into the next step's stage 1 needs Tsit5's FSAL structure.
    debug_assert!(B[6] == 0.0 && (0..6).all(|j| A[6][j] == B[j]) && C[6] == 1.0);
    let r = f.record_len();
    let mut ws = f.workspace(members.len());
    let mut rows = RowBuffers::new(members.len(), n, r);
    let mut pbar = vec![0.0; p.len()];
    let mut stage_y = vec![0.0; n];
    let mut records: Vec<&[f64]> = Vec::with_capacity(members.len());
    let most = backs.iter().map(|b| b.d.num_steps()).max().unwrap_or(0);
    // Round j takes step (steps - 1 - j) of every problem that has one.
    for round in 0..most {
        let step = |b: &Back| b.d.num_steps().checked_sub(round + 1);
        for b in backs.iter_mut() {
            if let Some(i) = step(b) {
                let (sol, d, dl, owner) = (b.sol, b.d, b.dl, &b.owner);
                seed_step(sol, d, dl, owner, i, &mut b.k_out, &mut b.ybar, &mut b.kbar);
            }
        }
        for s in (0..7).rev() {
            rows.clear();
            records.clear();
            for (l, b) in backs.iter_mut().enumerate() {
                let Some(i) = step(b) else { continue };
                let cot = &b.kbar[s * n..(s + 1) * n];
                // Stage 7 (FSAL, b_7 = 0) has a cotangent only from outputs inside the step;
                // skip it when zero or when it was folded into the next step's stage 1.
                if s == 6 && (b.folded || cot.iter().all(|&v| v == 0.0)) {
                    continue;
                }
                stage_state(b.d, i, s, &mut stage_y);
                let m = rows.lane.len();
                rows.push(l, members[l], b.d.t[i] + C[s] * b.d.h[i], &stage_y);
                rows.a.extend_from_slice(cot);
                if s == 0 {
                    // Stage 1 of step i is f at (t_i, y_i), the point of stage 7 of step
                    // i - 1: one VJP of the summed cotangents serves both. Stage 7's
                    // cotangent comes only from the outputs inside step i - 1, and its
                    // Y_7 = y + h sum_j a_7j k_j with a_7j = b_j feeds y and the stages as
                    // y_i does, so nothing else changes.
                    b.folded = i > 0;
                    if i > 0 {
                        let a = &mut rows.a[m * n..(m + 1) * n];
                        fold_fsal_outputs(b.sol, b.d, b.dl, &b.owner, b.k_out, i - 1, a);
                    }
                }
                if r > 0 {
                    // Read where the forward pass stored it: no gathering copy.
                    records.push(&b.d.records[(i * 7 + s) * r..(i * 7 + s + 1) * r]);
                }
            }
            let m = rows.lane.len();
            let at = Rows {
                members: &rows.member,
                t: &rows.t,
                y: &rows.y,
                p,
            };
            let out = &mut rows.out[..m * n];
            f.vjp_rows_add(at, &rows.a, &mut ws, &records, out, &mut pbar);
            stats.nvjp += m;
            for (row, &l) in rows.lane.iter().enumerate() {
                let b = &mut backs[l];
                let h = b.d.h[step(b).expect("gathered")];
                let vy = &rows.out[row * n..(row + 1) * n];
                spread_stage(h, s, vy, &mut b.ybar, &mut b.kbar);
            }
        }
        stats.accepted += backs.iter().filter(|b| step(b).is_some()).count();
    }
    let y0 = backs
        .into_iter()
        .map(|mut b| {
            // Outputs at t0 act on y0 directly.
            while b.k_out > 0 {
                b.k_out -= 1;
                for l in 0..n {
                    b.ybar[l] += b.dl[b.k_out * n + l];
                }
            }
            b.ybar
        })
        .collect();
    Ok((pbar, y0, stats))
}
