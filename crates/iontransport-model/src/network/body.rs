//! What follows the tokens, on many rows: the five-layer perceptron on each row's flattened
//! tokens, the same perceptron on each token, or a convolution over the ion slots. Every
//! layer is one matrix product over all rows (faer's small-matrix kernels, see `neural_ode::gemm`):
//! one state alone is a chain of matrix-vector products bound by loading the weights, many
//! states share each loaded weight.

use super::config::{Body, Layout, TOKEN_FEATURES};
use super::conv;
use super::pass::Pass;
use super::workspace::Workspace;
use neural_ode::DenseStack;

/// Builds the body's input for every row from the token outputs (`ws.o`) and tokens
/// (`ws.u`): the perceptron's [token outputs, ratios h/h0, tau, log scale] per row; the
/// per-token perceptron's and the convolutions' [token output, ratio, tau, log scale] per
/// ion slot (a U-Net's padding slots zero).
#[inline(always)]
pub(super) fn input_rows(pass: Pass<'_>, taus: &[f64], ws: &mut Workspace) {
    let (cfg, l, conds) = (pass.config, pass.layout, pass.conds);
    let n = cfg.ions;
    let tout = cfg.token_out();
    let rows = conds.len();
    let tf = TOKEN_FEATURES;
    if cfg.body == Body::Mlp {
        let flat = l.sizes[0];
        for (r, c) in conds.iter().enumerate() {
            let x = &mut ws.acts[0][r * flat..(r + 1) * flat];
            x[..n * tout].copy_from_slice(&ws.o[r * n * tout..(r + 1) * n * tout]);
            for j in 0..n {
                x[n * tout + j] = ws.u[(r * n + j) * tf];
            }
            x[n * tout + n] = taus[r];
            x[n * tout + n + 1] = c.log_scale;
        }
        return;
    }
    let (slots, f) = match l.conv.first() {
        Some(c0) => (c0.len, &mut ws.cx[0]),
        None => (n, &mut ws.acts[0]),
    };
    let cin = tout + 3;
    f[..rows * slots * cin].fill(0.0);
    for (r, c) in conds.iter().enumerate() {
        for j in 0..n {
            let (t, at) = (r * n + j, (r * slots + j) * cin);
            let x = &mut f[at..at + cin];
            x[..tout].copy_from_slice(&ws.o[t * tout..(t + 1) * tout]);
            x[tout] = ws.u[t * tf];
            x[tout + 1] = taus[r];
            x[tout + 2] = c.log_scale;
        }
    }
}

/// Runs the body on every row (after [`input_rows`]); the raw outputs g go to `ws.raw`
/// (rows x ions; zero for an absent ion under the per-token perceptron).
#[inline(always)]
pub(super) fn forward_rows(pass: Pass<'_>, ws: &mut Workspace) {
    let (cfg, l, p, conds) = pass.parts();
    let n = cfg.ions;
    let rows = conds.len();
    if let Some(last) = l.conv.last() {
        conv::forward(&l.conv, p, rows, &mut ws.cx, &mut ws.cy, &mut ws.ccol);
        let out = &ws.cy[l.conv.len() - 1];
        for r in 0..rows {
            ws.raw[r * n..(r + 1) * n].copy_from_slice(&out[r * last.len..r * last.len + n]);
        }
        return;
    }
    let tokenwise = cfg.body == Body::Tokenwise;
    dense(l).forward(p, if tokenwise { rows * n } else { rows }, &mut ws.acts);
    let out = ws.acts.last_mut().expect("layers");
    if tokenwise {
        // An absent ion's token has no rate (zeroed in the activations too, so that a
        // restored record gives the same raw output).
        for (r, c) in conds.iter().enumerate() {
            for (g, &present) in out[r * n..(r + 1) * n].iter_mut().zip(&c.mask) {
                if !present {
                    *g = 0.0;
                }
            }
        }
    }
    ws.raw[..rows * n].copy_from_slice(&out[..rows * n]);
}

/// The body's VJP on every row from the raw outputs' cotangents `graw` (rows x ions): adds
/// dL/dp into `pbar` (layers ending at or below `first_trainable` are frozen) and leaves the
/// cotangent of the flattened body input [token outputs, ratios, tau, log scale] in
/// `ws.g_cur` (rows x flat), whatever the body.
#[inline(always)]
pub(super) fn backward_rows(
    pass: Pass<'_>,
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    first_trainable: usize,
) {
    let (cfg, l, p, conds) = pass.parts();
    let n = cfg.ions;
    let rows = conds.len();
    let tout = cfg.token_out();
    match (cfg.body, l.conv.last()) {
        (Body::Mlp, _) => {
            ws.g_cur[..rows * n].copy_from_slice(&graw[..rows * n]);
            let (acts, g, g_next) = (&ws.acts, &mut ws.g_cur, &mut ws.g_next);
            dense(l).backward(p, rows, acts, g, g_next, pbar, first_trainable);
        }
        (Body::Tokenwise, _) => {
            for (r, c) in conds.iter().enumerate() {
                for j in 0..n {
                    ws.g_cur[r * n + j] = if c.mask[j] { graw[r * n + j] } else { 0.0 };
                }
            }
            let (acts, g, g_next) = (&ws.acts, &mut ws.g_cur, &mut ws.g_next);
            dense(l).backward(p, rows * n, acts, g, g_next, pbar, first_trainable);
            slots_to_flat(
                n,
                tout,
                n,
                rows,
                cfg.flat_input(),
                &ws.g_cur,
                &mut ws.g_next,
            );
            std::mem::swap(&mut ws.g_cur, &mut ws.g_next);
        }
        (_, Some(last)) => {
            let (len, k) = (last.len, l.conv.len() - 1);
            let gl = &mut ws.cgy[k];
            gl[..rows * len].fill(0.0);
            for r in 0..rows {
                gl[r * len..r * len + n].copy_from_slice(&graw[r * n..(r + 1) * n]);
            }
            conv::backward(
                &l.conv,
                p,
                rows,
                &ws.cx,
                &ws.cy,
                &mut ws.cgy,
                &mut ws.cgx,
                &mut ws.ccol,
                &mut ws.cgcol,
                pbar,
                first_trainable,
                &mut ws.cgx0,
            );
            let (slots, flat) = (l.conv[0].len, cfg.flat_input());
            slots_to_flat(n, tout, slots, rows, flat, &ws.cgx0, &mut ws.g_cur);
        }
        (_, None) => unreachable!("a convolutional body has convolutions"),
    }
}

/// Rewrites per-slot cotangents (rows x `slots` x [token output, ratio, tau, log scale]) as
/// the flattened layout rows x [token outputs, ratios, tau, log scale] of width `flat`
/// (tau's and the log scale's cotangents are not needed and left zero).
fn slots_to_flat(
    n: usize,
    tout: usize,
    slots: usize,
    rows: usize,
    flat: usize,
    src: &[f64],
    dst: &mut [f64],
) {
    let cin = tout + 3;
    for r in 0..rows {
        let g = &mut dst[r * flat..(r + 1) * flat];
        g.fill(0.0);
        for j in 0..n {
            let at = (r * slots + j) * cin;
            let s = &src[at..at + cin];
            g[j * tout..(j + 1) * tout].copy_from_slice(&s[..tout]);
            g[n * tout + j] = s[tout];
        }
    }
}

/// The body's dense layers as neural-ode's [`DenseStack`] (one implementation of the layers'
/// forward pass and VJP, shared with `neural_ode::TanhMlp`).
#[inline(always)]
fn dense(l: &Layout) -> DenseStack<'_> {
    DenseStack {
        sizes: &l.sizes,
        offsets: &l.layers,
    }
}
