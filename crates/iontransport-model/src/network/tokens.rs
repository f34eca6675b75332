//! The token stage on many rows: each ion's token and embedding, the masked single-head
//! attention, and their vector-Jacobian products. The attention is a small softmax per row
//! (8 x 8 for the default network), so it stays a loop per row; the query, key and value
//! maps and their transposes are matrix products over every token of every row.

use super::config::{Conditioning, DESCRIPTORS, Layout, NetworkConfig, TOKEN_FEATURES};
use super::pass::Pass;
use super::workspace::Workspace;
use neural_ode::gemm::{Shape, gemm};
use neural_ode::{dot, fast_exp};

/// Calls `f(n, dk, ...)` with the default network's sizes (8 ions, d_k = 8) as constants when
/// they are those, so the compiler unrolls and vectorises the short loops of the inlined
/// body; any other size takes the general path.
macro_rules! with_default_sizes {
    ($f:ident($n:expr, $dk:expr $(, $arg:expr)* $(,)?)) => {
        if $n == 8 && $dk == 8 {
            $f(8, 8 $(, $arg)*)
        } else {
            $f($n, $dk $(, $arg)*)
        }
    };
}

/// Tokens, embeddings, and (with attention) queries, keys and values of every row, from the
/// states `h` (rows x ions).
#[inline(always)]
pub(super) fn tokens_rows(pass: Pass<'_>, taus: &[f64], h: &[f64], ws: &mut Workspace) {
    let (cfg, l, p, conds) = pass.parts();
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let tf = TOKEN_FEATURES;
    let rows = conds.len();
    for (r, c) in conds.iter().enumerate() {
        let (u, e) = (
            &mut ws.u[r * n * tf..(r + 1) * n * tf],
            &mut ws.e[r * n * dm..(r + 1) * n * dm],
        );
        embed(cfg, l, p, c, taus[r], &h[r * n..(r + 1) * n], u, e);
    }
    if cfg.attention {
        // (rows n) x dm times dm x dk for each of W_q, W_k, W_v.
        let tokens = rows * n;
        for (w, out) in [(l.wq, &mut ws.q), (l.wk, &mut ws.k), (l.wv, &mut ws.v)] {
            let (e, wm, o) = (
                Shape::row_major(tokens, dm),
                Shape::row_major(dm, dk),
                Shape::row_major(tokens, dk),
            );
            gemm(&ws.e, e, &p[w..w + dm * dk], wm, false, out, o);
        }
    }
}

/// The token outputs `o` of every row: the attention (a fresh softmax when `softmax`, else
/// the attention matrices already in `ws.a`, restored from records) times the values, or the
/// embeddings themselves without attention.
#[inline(always)]
pub(super) fn token_outputs_rows(
    cfg: &NetworkConfig,
    conds: &[&Conditioning],
    softmax: bool,
    ws: &mut Workspace,
) {
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let rows = conds.len();
    if !cfg.attention {
        ws.o[..rows * n * dm].copy_from_slice(&ws.e[..rows * n * dm]);
        return;
    }
    for (r, c) in conds.iter().enumerate() {
        let (t, at) = (r * n * dk..(r + 1) * n * dk, r * n * n..(r + 1) * n * n);
        if softmax {
            with_default_sizes!(attend(
                n,
                dk,
                &c.mask,
                &ws.q[t.clone()],
                &ws.k[t.clone()],
                &ws.v[t.clone()],
                &mut ws.a[at],
                &mut ws.o[t],
            ));
        } else {
            with_default_sizes!(attention_output(
                n,
                dk,
                &ws.a[at],
                &ws.v[t.clone()],
                &mut ws.o[t]
            ));
        }
    }
}

/// The token stage's VJP on every row, from the cotangent of the body's flattened input
/// (`ws.g_cur`, rows x [token outputs, ratios h/h0, tau, log scale]): adds dL/dp into `pbar`
/// (the whole token stage is frozen unless `first_trainable` is 0) and dL/dh into `hbar`.
#[inline(always)]
pub(super) fn tokens_backward_rows(
    pass: Pass<'_>,
    ws: &mut Workspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    let (cfg, l, p, conds) = pass.parts();
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let rows = conds.len();
    let tout = cfg.token_out();
    let flat = cfg.flat_input();
    for (r, c) in conds.iter().enumerate() {
        let xbar = &ws.g_cur[r * flat..(r + 1) * flat];
        for j in 0..n {
            if c.mask[j] {
                hbar[r * n + j] += xbar[n * tout + j] / c.h0[j];
            }
        }
    }
    let front_trainable = first_trainable == 0;
    if cfg.attention {
        for (r, c) in conds.iter().enumerate() {
            let t = r * n * dk..(r + 1) * n * dk;
            with_default_sizes!(attend_backward(
                n,
                dk,
                &c.mask,
                &ws.g_cur[r * flat..r * flat + n * dk],
                &ws.a[r * n * n..(r + 1) * n * n],
                &ws.q[t.clone()],
                &ws.k[t.clone()],
                &ws.v[t.clone()],
                &mut ws.abar,
                &mut ws.qbar[t.clone()],
                &mut ws.kbar[t.clone()],
                &mut ws.vbar[t],
            ));
        }
        // E_bar ((rows n) x dm) = Qbar Wq^T + Kbar Wk^T + Vbar Wv^T; dW += E^T Xbar.
        let tokens = rows * n;
        let mut accumulate = false;
        for (w, xbar) in [(l.wq, &ws.qbar), (l.wk, &ws.kbar), (l.wv, &ws.vbar)] {
            let wm = &p[w..w + dm * dk];
            let (xs, wt) = (Shape::row_major(tokens, dk), Shape::transposed(dk, dm));
            let es = Shape::row_major(tokens, dm);
            gemm(xbar, xs, wm, wt, accumulate, &mut ws.ebar, es);
            accumulate = true;
            if front_trainable {
                let pw = &mut pbar[w..w + dm * dk];
                let (et, xs) = (Shape::transposed(dm, tokens), Shape::row_major(tokens, dk));
                gemm(&ws.e, et, xbar, xs, true, pw, Shape::row_major(dm, dk));
            }
        }
    } else {
        for r in 0..rows {
            ws.ebar[r * n * dm..(r + 1) * n * dm]
                .copy_from_slice(&ws.g_cur[r * flat..r * flat + n * dm]);
        }
    }
    let tf = TOKEN_FEATURES;
    for (r, c) in conds.iter().enumerate() {
        embed_backward(
            cfg,
            l,
            p,
            c,
            &ws.u[r * n * tf..(r + 1) * n * tf],
            &ws.ebar[r * n * dm..(r + 1) * n * dm],
            pbar,
            &mut hbar[r * n..(r + 1) * n],
            front_trainable,
        );
    }
}

/// One row's tokens `u` (ions x [`TOKEN_FEATURES`]) and embeddings `e` (ions x d_model;
/// absent ions give zero rows).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn embed(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    tau: f64,
    h: &[f64],
    u_all: &mut [f64],
    e_all: &mut [f64],
) {
    let (n, dm) = (cfg.ions, cfg.d_model);
    let tf = TOKEN_FEATURES;
    let (we, be) = (&p[l.we..l.we + dm * tf], &p[l.be..l.be + dm]);
    for j in 0..n {
        let u = &mut u_all[j * tf..(j + 1) * tf];
        let e = &mut e_all[j * dm..(j + 1) * dm];
        if !c.mask[j] {
            u.fill(0.0);
            e.fill(0.0);
            continue;
        }
        u[0] = h[j] / c.h0[j];
        u[1] = c.log_h0[j];
        u[2] = tau;
        for (m, em) in e.iter_mut().enumerate() {
            *em = dot(&we[m * tf..(m + 1) * tf], u) + be[m];
        }
        if cfg.identity {
            for (em, pm) in e.iter_mut().zip(&p[l.pos + j * dm..l.pos + (j + 1) * dm]) {
                *em += pm;
            }
        }
        if cfg.descriptors {
            let nd = DESCRIPTORS;
            let dj = &c.desc[j * nd..(j + 1) * nd];
            for (m, em) in e.iter_mut().enumerate() {
                *em += dot(&p[l.wd + m * nd..l.wd + (m + 1) * nd], dj);
            }
        }
    }
}

/// One row's masked softmax attention from its queries, keys and values (ions x d_k):
/// the attention matrix `a` (ions x ions) and the outputs `o = A V`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn attend(
    n: usize,
    dk: usize,
    mask: &[bool],
    q: &[f64],
    k: &[f64],
    v: &[f64],
    a: &mut [f64],
    o: &mut [f64],
) {
    let scale = 1.0 / (dk as f64).sqrt();
    for i in 0..n {
        let row = &mut a[i * n..(i + 1) * n];
        if !mask[i] {
            row.fill(0.0);
            continue;
        }
        // Every score and every exponential is computed, masked ions' too (finite, from their
        // zero embeddings) and then dropped by a select: branch-free loops the compiler
        // vectorises, where a branch per ion kept fast_exp scalar (perf, 2026-12-07: the
        // softmax's exponentials were most of an easy-weights inference's 24 % in exp/tanh).
        let qi = &q[i * dk..(i + 1) * dk];
        for (j, s) in row.iter_mut().enumerate() {
            *s = scale * dot(qi, &k[j * dk..(j + 1) * dk]);
        }
        let mut mx = f64::NEG_INFINITY;
        for (s, &m) in row.iter().zip(mask) {
            if m {
                mx = mx.max(*s);
            }
        }
        for (s, &m) in row.iter_mut().zip(mask) {
            let e = fast_exp(*s - mx);
            *s = if m { e } else { 0.0 };
        }
        let sum = row.iter().fold(0.0, |acc, x| acc + x);
        row.iter_mut().for_each(|x| *x /= sum);
    }
    attention_output(n, dk, a, v, o);
}

/// One row's attention outputs o = A V (ions x d_k).
#[inline(always)]
fn attention_output(n: usize, dk: usize, a: &[f64], v: &[f64], o: &mut [f64]) {
    const W: usize = 8;
    for i in 0..n {
        let ai = &a[i * n..(i + 1) * n];
        let oi = &mut o[i * dk..(i + 1) * dk];
        // Eight columns at a time summed in a local array, which stays in registers: summed
        // in place, each += waited for the store of the one before (perf, 2026-12-07: 15 %
        // of an easy-weights inference). Same sums in the same order.
        let mut chunks = oi.chunks_exact_mut(W);
        for (c, oc) in (&mut chunks).enumerate() {
            let mut acc = [0.0; W];
            for (j, &aij) in ai.iter().enumerate() {
                let vj = &v[j * dk + c * W..j * dk + (c + 1) * W];
                for (s, vv) in acc.iter_mut().zip(vj) {
                    *s += aij * vv;
                }
            }
            oc.copy_from_slice(&acc);
        }
        let rest = chunks.into_remainder();
        let start = dk - rest.len();
        rest.fill(0.0);
        for (j, &aij) in ai.iter().enumerate() {
            for (ov, vv) in rest.iter_mut().zip(&v[j * dk + start..(j + 1) * dk]) {
                *ov += aij * vv;
            }
        }
    }
}

/// One row's attention VJP: from the outputs' cotangent `obar` (ions x d_k) to the
/// cotangents of its queries, keys and values (all overwritten; `abar` is scratch).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn attend_backward(
    n: usize,
    dk: usize,
    mask: &[bool],
    obar: &[f64],
    a: &[f64],
    q: &[f64],
    k: &[f64],
    v: &[f64],
    abar: &mut [f64],
    qbar: &mut [f64],
    kbar: &mut [f64],
    vbar: &mut [f64],
) {
    // O = A V.
    vbar.fill(0.0);
    for i in 0..n {
        if !mask[i] {
            for j in 0..n {
                abar[i * n + j] = 0.0;
            }
            continue;
        }
        for j in 0..n {
            abar[i * n + j] = dot(&obar[i * dk..(i + 1) * dk], &v[j * dk..(j + 1) * dk]);
            let aij = a[i * n + j];
            for kk in 0..dk {
                vbar[j * dk + kk] += aij * obar[i * dk + kk];
            }
        }
    }
    // Softmax rows, then scores = Q K^T / sqrt(dk).
    let scale = 1.0 / (dk as f64).sqrt();
    qbar.fill(0.0);
    kbar.fill(0.0);
    for i in 0..n {
        if !mask[i] {
            continue;
        }
        let s: f64 = (0..n).map(|j| a[i * n + j] * abar[i * n + j]).sum();
        for j in 0..n {
            let sbar = a[i * n + j] * (abar[i * n + j] - s) * scale;
            if sbar == 0.0 {
                continue;
            }
            for kk in 0..dk {
                qbar[i * dk + kk] += sbar * k[j * dk + kk];
                kbar[j * dk + kk] += sbar * q[i * dk + kk];
            }
        }
    }
}

/// One row's embedding VJP: adds the tokens' parameter cotangents (when the front is
/// trainable) and each ion's dL/dh_j into `hbar`, from the embeddings' cotangent `ebar`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn embed_backward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    u_all: &[f64],
    ebar: &[f64],
    pbar: &mut [f64],
    hbar: &mut [f64],
    front_trainable: bool,
) {
    let (n, dm) = (cfg.ions, cfg.d_model);
    let tf = TOKEN_FEATURES;
    // e_j = m_j (W_e u_j + b_e + P_j); u_j0 = h_j / h0_j.
    for j in 0..n {
        if !c.mask[j] {
            continue;
        }
        let u = &u_all[j * tf..(j + 1) * tf];
        let mut u0bar = 0.0;
        for m in 0..dm {
            let eb = ebar[j * dm + m];
            u0bar += eb * p[l.we + m * tf];
            if front_trainable {
                for f in 0..tf {
                    pbar[l.we + m * tf + f] += eb * u[f];
                }
                pbar[l.be + m] += eb;
                if cfg.identity {
                    pbar[l.pos + j * dm + m] += eb;
                }
                if cfg.descriptors {
                    let nd = DESCRIPTORS;
                    for f in 0..nd {
                        pbar[l.wd + m * nd + f] += eb * c.desc[j * nd + f];
                    }
                }
            }
        }
        hbar[j] += u0bar / c.h0[j];
    }
}
