//! The network and the trajectory field on many rows (states) at once.
//!
//! One state through the network is a chain of matrix-vector products, bound by loading the
//! weights; many states share each loaded weight through matrix-matrix products. The
//! products go through faer's small-matrix kernels (AVX-512/AVX2 chosen at run time, no
//! packing, no allocation; see `gemm.rs` for why not nalgebra or matrixmultiply): ~30 GFLOP/s
//! on the 2-core reference machine for 16 x 74 x 32, against ~2 for the plain loop.
//! The per-ion attention (8 x 8 softmax per row) stays a loop per row.
//!
//! The crate is built for baseline x86-64 (2-wide SSE2, no FMA). The per-row loops
//! (embedding, attention, tanh, the rate) run inside a pulp dispatch instead, compiled for
//! AVX2 and FMA and chosen at run time (`eval_part`, `vjp_part`, [`forward_rows`],
//! [`backward_rows`]): a paper-configuration epoch on one thread took 0.62 s against 0.70 s
//! without it (medians of 7 alternating runs, 2026-11-27), and 0.59 s built with
//! `-C target-cpu=native`.
//!
//! Results agree with the one-row [`crate::network::forward`] and
//! [`crate::network::backward`] to rounding (the products sum in another order), and the
//! per-row records have the same layout as [`Workspace::save_cache`], so either path can
//! read the other's.

use crate::gemm::{Shape, gemm};
use crate::model::TrajectoryField;
use crate::network::{
    Body, Conditioning, Layout, NetworkConfig, TOKEN_FEATURES, Workspace, attend, attend_backward,
    attention_output, backward, embed, embed_backward, forward, mlp_input,
};
use neural_ode::{BatchField, fast_tanh};

/// Trajectories a batched call takes at once (a chunk; the chunks of a batch run in
/// parallel). Fixed, not per thread, so that the result does not depend on the thread count.
/// 16 gives both cores of the reference machine a chunk of a batch of 32: the main job's
/// pre-training took 0.48 s per epoch, against 0.56 with 8 and 0.64 with 32 (one chunk,
/// one core), and 0.61-0.82 when each call's rows were split over the two cores instead
/// (waking a worker per call costs more than half a call's work). docs/performance.md.
pub const ROWS_PER_CALL: usize = 16;

/// Whether [`forward_rows`] handles this network as matrix products (the perceptron body,
/// with or without attention) with records for the lock-step adjoint; other bodies are
/// evaluated row by row there.
pub fn batched_network(cfg: &NetworkConfig) -> bool {
    cfg.body == Body::Mlp
}

/// Whether [`forward_rows`] and [`backward_rows`] handle this network without records (the
/// direct baselines' training): the perceptron and the convolutional bodies.
pub fn batched_without_records(cfg: &NetworkConfig) -> bool {
    matches!(cfg.body, Body::Mlp | Body::Cnn { .. } | Body::UNet { .. })
}

/// Scratch of a batched evaluation: every buffer of [`Workspace`] with one row per state.
#[derive(Debug, Clone)]
pub struct BatchWorkspace {
    rows: usize,
    u: Vec<f64>,
    e: Vec<f64>,
    q: Vec<f64>,
    k: Vec<f64>,
    v: Vec<f64>,
    a: Vec<f64>,
    o: Vec<f64>,
    raw: Vec<f64>,
    acts: Vec<Vec<f64>>,
    g_cur: Vec<f64>,
    g_next: Vec<f64>,
    ebar: Vec<f64>,
    qbar: Vec<f64>,
    kbar: Vec<f64>,
    vbar: Vec<f64>,
    abar: Vec<f64>,
    // Per-row rate cotangents and direct h-dependence.
    graw: Vec<f64>,
    hdirect: Vec<f64>,
    /// One-row scratch for bodies without a batched path.
    row: Workspace,
    // Convolutional bodies (empty otherwise): each convolution's inputs and outputs and
    // their cotangents, the unfolded inputs, and the features' cotangent.
    cx: Vec<Vec<f64>>,
    cy: Vec<Vec<f64>>,
    cgy: Vec<Vec<f64>>,
    cgx: Vec<f64>,
    ccol: Vec<f64>,
    cgcol: Vec<f64>,
    cgx0: Vec<f64>,
}

impl BatchWorkspace {
    /// Buffers for up to `rows` states of `cfg`.
    pub fn new(cfg: &NetworkConfig, rows: usize) -> Self {
        let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
        let l = cfg.layout();
        let batched = batched_without_records(cfg);
        let tout = if cfg.attention { dk } else { dm };
        let conv = if batched { &l.conv[..] } else { &[] };
        let per_layer = |f: fn(&crate::conv::ConvLayer) -> usize| -> Vec<Vec<f64>> {
            conv.iter()
                .map(|c| vec![0.0; rows * c.len * f(c)])
                .collect()
        };
        let widest_conv_input = conv.iter().map(|c| c.len * c.cin).max().unwrap_or(0);
        let r = if batched { rows } else { 0 };
        let widest = l.sizes.iter().copied().max().expect("layers");
        Self {
            rows,
            u: vec![0.0; r * n * TOKEN_FEATURES],
            e: vec![0.0; r * n * dm],
            q: vec![0.0; r * n * dk],
            k: vec![0.0; r * n * dk],
            v: vec![0.0; r * n * dk],
            a: vec![0.0; r * n * n],
            o: vec![0.0; r * n * tout],
            raw: vec![0.0; rows * n],
            acts: if batched {
                l.sizes.iter().map(|&s| vec![0.0; r * s]).collect()
            } else {
                Vec::new()
            },
            g_cur: vec![0.0; r * widest],
            g_next: vec![0.0; r * widest],
            ebar: vec![0.0; r * n * dm],
            qbar: vec![0.0; r * n * dk],
            kbar: vec![0.0; r * n * dk],
            vbar: vec![0.0; r * n * dk],
            abar: vec![0.0; n * n],
            graw: vec![0.0; rows * n],
            hdirect: vec![0.0; rows * n],
            row: Workspace::new(cfg),
            cx: per_layer(|c| c.cin),
            cy: per_layer(|c| c.cout),
            cgy: per_layer(|c| c.cout),
            cgx: vec![0.0; rows * widest_conv_input],
            ccol: vec![0.0; rows * crate::conv::col_len(conv)],
            cgcol: vec![0.0; rows * crate::conv::col_len(conv)],
            cgx0: vec![0.0; conv.first().map_or(0, |c| rows * c.len * c.cin)],
        }
    }

    /// The raw outputs g of the last [`forward_rows`] (rows x ions).
    pub fn raw(&self) -> &[f64] {
        &self.raw
    }

    /// Length of a row's compact record: what is costly to recompute (the attention matrix,
    /// the hidden tanh activations) and the raw output. The embeddings, queries, keys,
    /// values and the perceptron input are recomputed from these in the backward pass (a few
    /// small products, no exp or tanh), which moves a third of the bytes the full cache
    /// would (200 against 630 floats per row for the default network).
    pub fn record_len(cfg: &NetworkConfig) -> usize {
        let l = cfg.layout();
        let att = if cfg.attention {
            cfg.ions * cfg.ions
        } else {
            0
        };
        att + l.sizes[1..].iter().sum::<usize>()
    }

    /// Copies row `r`'s compact record (see [`BatchWorkspace::record_len`]) into `record`.
    fn save_row(&self, cfg: &NetworkConfig, r: usize, record: &mut [f64]) {
        let mut off = 0;
        if cfg.attention {
            let len = cfg.ions * cfg.ions;
            record[..len].copy_from_slice(&self.a[r * len..(r + 1) * len]);
            off = len;
        }
        for act in &self.acts[1..] {
            let len = act.len() / self.rows;
            record[off..off + len].copy_from_slice(&act[r * len..(r + 1) * len]);
            off += len;
        }
    }

    /// Restores row `r`'s compact record.
    fn load_row(&mut self, cfg: &NetworkConfig, r: usize, record: &[f64]) {
        let mut off = 0;
        if cfg.attention {
            let len = cfg.ions * cfg.ions;
            self.a[r * len..(r + 1) * len].copy_from_slice(&record[..len]);
            off = len;
        }
        let rows = self.rows;
        for act in &mut self.acts[1..] {
            let len = act.len() / rows;
            act[r * len..(r + 1) * len].copy_from_slice(&record[off..off + len]);
            off += len;
        }
        let n = cfg.ions;
        let last = self.acts.len() - 1;
        self.raw[r * n..(r + 1) * n].copy_from_slice(&self.acts[last][r * n..(r + 1) * n]);
    }
}

/// Embeddings, queries, keys and values of every row, from the states (the front of
/// [`forward_rows`]).
#[inline(always)]
fn tokens_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut BatchWorkspace,
) {
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
        // Queries, keys and values of every token of every row: (rows n) x dm times dm x dk.
        let tokens = rows * n;
        for (w, out) in [(l.wq, &mut ws.q), (l.wk, &mut ws.k), (l.wv, &mut ws.v)] {
            let wm = &p[w..w + dm * dk];
            let (e, w, o) = (
                Shape::row_major(tokens, dm),
                Shape::row_major(dm, dk),
                Shape::row_major(tokens, dk),
            );
            gemm(&ws.e, e, wm, w, false, out, o);
        }
    }
}

/// The perceptron input of every row from its token outputs.
#[inline(always)]
fn perceptron_input_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    conds: &[&Conditioning],
    taus: &[f64],
    ws: &mut BatchWorkspace,
) {
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let tf = TOKEN_FEATURES;
    let rows = conds.len();
    let tout = if cfg.attention { dk } else { dm };
    if !cfg.attention {
        ws.o[..rows * n * dm].copy_from_slice(&ws.e[..rows * n * dm]);
    }
    let ni0 = l.sizes[0];
    for (r, c) in conds.iter().enumerate() {
        mlp_input(
            n,
            tout,
            &ws.o[r * n * tout..(r + 1) * n * tout],
            &ws.u[r * n * tf..(r + 1) * n * tf],
            taus[r],
            c.log_scale,
            &mut ws.acts[0][r * ni0..(r + 1) * ni0],
        );
    }
}

/// Rebuilds what [`backward_rows`] reads beyond the rows' compact records (loaded first):
/// tokens, embeddings, queries, keys, values, attention outputs and perceptron inputs.
#[inline(always)]
fn restore_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut BatchWorkspace,
) {
    let (n, dk) = (cfg.ions, cfg.d_k);
    tokens_rows(cfg, l, p, conds, taus, h, ws);
    if cfg.attention {
        for r in 0..conds.len() {
            let t = r * n * dk..(r + 1) * n * dk;
            attention_output(
                n,
                dk,
                &ws.a[r * n * n..(r + 1) * n * n],
                &ws.v[t.clone()],
                &mut ws.o[t],
            );
        }
    }
    perceptron_input_rows(cfg, l, conds, taus, ws);
}

/// The convolutional body on every row after the token stage: per-slot features [token
/// output, ratio, tau, log scale] (padding slots zero), the convolutions as products over
/// all rows' slots, the raw outputs into `ws.raw`.
#[inline(always)]
fn conv_forward_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    ws: &mut BatchWorkspace,
) {
    let (n, dm) = (cfg.ions, cfg.d_model);
    let rows = conds.len();
    let tout = if cfg.attention { cfg.d_k } else { dm };
    if !cfg.attention {
        ws.o[..rows * n * dm].copy_from_slice(&ws.e[..rows * n * dm]);
    }
    let (cin, len0) = (tout + 3, l.conv[0].len);
    let f = &mut ws.cx[0];
    f[..rows * len0 * cin].fill(0.0);
    for (r, c) in conds.iter().enumerate() {
        for j in 0..n {
            let (t, at) = (r * n + j, (r * len0 + j) * cin);
            let row = &mut f[at..at + cin];
            row[..tout].copy_from_slice(&ws.o[t * tout..(t + 1) * tout]);
            row[tout] = ws.u[t * TOKEN_FEATURES];
            row[tout + 1] = taus[r];
            row[tout + 2] = c.log_scale;
        }
    }
    crate::conv::forward(&l.conv, p, rows, &mut ws.cx, &mut ws.cy, &mut ws.ccol);
    let last = l.conv.len() - 1;
    let len = l.conv[last].len;
    for r in 0..rows {
        ws.raw[r * n..(r + 1) * n].copy_from_slice(&ws.cy[last][r * len..r * len + n]);
    }
}

/// The convolutional body's VJP on every row, leaving the cotangent of the flattened token
/// input in `ws.g_cur` (rows x (n tout + n + 2), as the perceptron's VJP does).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn conv_backward_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    rows: usize,
    graw: &[f64],
    ws: &mut BatchWorkspace,
    pbar: &mut [f64],
    first_trainable: usize,
) {
    let n = cfg.ions;
    let tout = if cfg.attention { cfg.d_k } else { cfg.d_model };
    let (cin, len0, flat) = (tout + 3, l.conv[0].len, l.sizes[0]);
    let last = l.conv.len() - 1;
    let len = l.conv[last].len;
    let gl = &mut ws.cgy[last];
    gl[..rows * len].fill(0.0);
    for r in 0..rows {
        gl[r * len..r * len + n].copy_from_slice(&graw[r * n..(r + 1) * n]);
    }
    crate::conv::backward(
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
    for r in 0..rows {
        let g = &mut ws.g_cur[r * flat..(r + 1) * flat];
        g.fill(0.0);
        for j in 0..n {
            let at = (r * len0 + j) * cin;
            let row = &ws.cgx0[at..at + cin];
            g[j * tout..(j + 1) * tout].copy_from_slice(&row[..tout]);
            g[n * tout + j] = row[tout];
        }
    }
}

/// The raw network output g of every row (`ws.raw`, rows x ions) for rows whose
/// conditionings are `conds`, at normalised fluxes `taus` and states `h` (rows x ions).
/// Needs [`batched_without_records`] (records for the lock-step adjoint need
/// [`batched_network`]).
pub fn forward_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut BatchWorkspace,
) {
    type Args<'a> = (
        &'a NetworkConfig,
        &'a Layout,
        &'a [f64],
        &'a [&'a Conditioning],
        &'a [f64],
        &'a [f64],
        &'a mut BatchWorkspace,
    );
    struct Op<'a> {
        args: Args<'a>,
    }
    impl pulp::WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let (cfg, l, p, conds, taus, h, ws) = self.args;
            forward_rows_impl(cfg, l, p, conds, taus, h, ws)
        }
    }
    pulp::Arch::new().dispatch(Op {
        args: (cfg, l, p, conds, taus, h, ws),
    })
}

#[inline(always)]
fn forward_rows_impl(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut BatchWorkspace,
) {
    let (n, dk) = (cfg.ions, cfg.d_k);
    let rows = conds.len();
    tokens_rows(cfg, l, p, conds, taus, h, ws);
    if cfg.attention {
        for (r, c) in conds.iter().enumerate() {
            let t = r * n * dk..(r + 1) * n * dk;
            attend(
                n,
                dk,
                &c.mask,
                &ws.q[t.clone()],
                &ws.k[t.clone()],
                &ws.v[t.clone()],
                &mut ws.a[r * n * n..(r + 1) * n * n],
                &mut ws.o[t],
            );
        }
    }
    if !l.conv.is_empty() {
        conv_forward_rows(cfg, l, p, conds, taus, ws);
        return;
    }
    perceptron_input_rows(cfg, l, conds, taus, ws);
    let layers = l.layers.len();
    for li in 0..layers {
        let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
        let off = l.layers[li];
        let (prev, rest) = ws.acts.split_at_mut(li + 1);
        let (x, y) = (&prev[li], &mut rest[0]);
        // Y (rows x no) = X (rows x ni) W^T, W stored out x in.
        let w = &p[off..off + ni * no];
        gemm(
            x,
            Shape::row_major(rows, ni),
            w,
            Shape::transposed(ni, no),
            false,
            y,
            Shape::row_major(rows, no),
        );
        let bias = &p[off + ni * no..off + ni * no + no];
        for yr in y[..rows * no].chunks_exact_mut(no) {
            for (yo, b) in yr.iter_mut().zip(bias) {
                *yo += b;
            }
        }
        if li + 1 < layers {
            for v in &mut y[..rows * no] {
                *v = fast_tanh(*v);
            }
        }
    }
    ws.raw[..rows * n].copy_from_slice(&ws.acts[layers][..rows * n]);
}

/// Backpropagates the raw outputs' cotangents `graw` (rows x ions) after a
/// [`forward_rows`] at the same points: adds the rows' summed dL/dp into `pbar` and each
/// row's dL/dh into `hbar` (rows x ions). Parameters below `first_trainable` receive nothing.
#[allow(clippy::too_many_arguments)]
pub fn backward_rows(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    graw: &[f64],
    ws: &mut BatchWorkspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    type Args<'a> = (
        &'a NetworkConfig,
        &'a Layout,
        &'a [f64],
        &'a [&'a Conditioning],
        &'a [f64],
        &'a mut BatchWorkspace,
        &'a mut [f64],
        &'a mut [f64],
        usize,
    );
    struct Op<'a> {
        args: Args<'a>,
    }
    impl pulp::WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let (cfg, l, p, conds, graw, ws, pbar, hbar, first) = self.args;
            backward_rows_impl(cfg, l, p, conds, graw, ws, pbar, hbar, first)
        }
    }
    pulp::Arch::new().dispatch(Op {
        args: (cfg, l, p, conds, graw, ws, pbar, hbar, first_trainable),
    })
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_rows_impl(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    graw: &[f64],
    ws: &mut BatchWorkspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let rows = conds.len();
    let layers = if l.conv.is_empty() {
        ws.g_cur[..rows * n].copy_from_slice(&graw[..rows * n]);
        l.layers.len()
    } else {
        conv_backward_rows(cfg, l, p, rows, graw, ws, pbar, first_trainable);
        0
    };
    for li in (0..layers).rev() {
        let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
        let off = l.layers[li];
        let x = &ws.acts[li];
        let g = &ws.g_cur;
        if off + ni * no + no > first_trainable {
            // dW (no x ni) += G^T X; db += column sums of G.
            let pw = &mut pbar[off..off + ni * no];
            let (gt, xs) = (Shape::transposed(no, rows), Shape::row_major(rows, ni));
            gemm(g, gt, x, xs, true, pw, Shape::row_major(no, ni));
            let pb = &mut pbar[off + ni * no..off + ni * no + no];
            for gr in g[..rows * no].chunks_exact(no) {
                for (b, gv) in pb.iter_mut().zip(gr) {
                    *b += gv;
                }
            }
        }
        // G_in (rows x ni) = G W, then through the previous layer's tanh.
        let w = &p[off..off + ni * no];
        let (gs, ws_) = (Shape::row_major(rows, no), Shape::row_major(no, ni));
        gemm(
            g,
            gs,
            w,
            ws_,
            false,
            &mut ws.g_next,
            Shape::row_major(rows, ni),
        );
        if li > 0 {
            for (gv, xv) in ws.g_next[..rows * ni].iter_mut().zip(&x[..rows * ni]) {
                *gv *= 1.0 - xv * xv;
            }
        }
        std::mem::swap(&mut ws.g_cur, &mut ws.g_next);
    }
    // g_cur: rows x (n tout + n + 2), the cotangent of the perceptron input.
    let tout = if cfg.attention { dk } else { dm };
    let flat = l.sizes[0];
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
            attend_backward(
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
            );
        }
        // E_bar ((rows n) x dm) = Qbar Wq^T + Kbar Wk^T + Vbar Wv^T; dW += E^T Xbar.
        let tokens = rows * n;
        let mut accumulate = false;
        for (w, xbar) in [(l.wq, &ws.qbar), (l.wk, &ws.kbar), (l.wv, &ws.vbar)] {
            let wm = &p[w..w + dm * dk];
            let (xs, wt) = (Shape::row_major(tokens, dk), Shape::transposed(dk, dm));
            gemm(
                xbar,
                xs,
                wm,
                wt,
                accumulate,
                &mut ws.ebar,
                Shape::row_major(tokens, dm),
            );
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

/// The trajectory fields of a batch (one per member, e.g. one per training trajectory)
/// evaluated together: the network as matrix products over the rows, the rate and its
/// projection row by row. A [`BatchField`] for [`neural_ode::gradient_lockstep`].
pub struct BatchTrajectoryField<'a> {
    fields: Vec<TrajectoryField<'a>>,
    cache_len: usize,
}

impl<'a> BatchTrajectoryField<'a> {
    /// The members' fields; they must belong to one model (and share `first_trainable`).
    pub fn new(fields: Vec<TrajectoryField<'a>>) -> Self {
        let cache_len = fields.first().map_or(0, |f| {
            let cfg = &f.model.config.network;
            if batched_network(cfg) {
                BatchWorkspace::record_len(cfg)
            } else {
                Workspace::new(cfg).cache_len()
            }
        });
        Self { fields, cache_len }
    }

    fn net(&self) -> (&NetworkConfig, &Layout) {
        let m = self.fields[0].model;
        (&m.config.network, m.layout())
    }
}

impl BatchTrajectoryField<'_> {
    /// [`Self::eval_part_simd`] compiled for the widest SIMD the CPU offers.
    #[allow(clippy::too_many_arguments)]
    fn eval_part(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        ws: &mut BatchWorkspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        type Args<'a, 'b> = (
            &'a BatchTrajectoryField<'b>,
            &'a [usize],
            &'a [f64],
            &'a [f64],
            &'a [f64],
            &'a mut BatchWorkspace,
            &'a mut [f64],
            &'a mut [f64],
        );
        struct Op<'a, 'b>(Args<'a, 'b>);
        impl pulp::WithSimd for Op<'_, '_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let (f, rows, t, y, p, ws, dy, records) = self.0;
                f.eval_part_simd(rows, t, y, p, ws, dy, records)
            }
        }
        pulp::Arch::new().dispatch(Op((self, rows, t, y, p, ws, dy, records)))
    }

    /// [`Self::vjp_part_simd`] compiled for the widest SIMD the CPU offers.
    #[allow(clippy::too_many_arguments)]
    fn vjp_part(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut BatchWorkspace,
        records: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        type Args<'a, 'b> = (
            &'a BatchTrajectoryField<'b>,
            &'a [usize],
            &'a [f64],
            &'a [f64],
            &'a [f64],
            &'a [f64],
            &'a mut BatchWorkspace,
            &'a [f64],
            &'a mut [f64],
            &'a mut [f64],
        );
        struct Op<'a, 'b>(Args<'a, 'b>);
        impl pulp::WithSimd for Op<'_, '_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let (f, rows, t, y, p, a, ws, records, vjp_y, vjp_p_acc) = self.0;
                f.vjp_part_simd(rows, t, y, p, a, ws, records, vjp_y, vjp_p_acc)
            }
        }
        pulp::Arch::new().dispatch(Op((self, rows, t, y, p, a, ws, records, vjp_y, vjp_p_acc)))
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn eval_part_simd(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        ws: &mut BatchWorkspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        let (cfg, l) = self.net();
        let (n, rl) = (cfg.ions, self.cache_len);
        if !batched_network(cfg) {
            for (r, &m) in rows.iter().enumerate() {
                let f = &self.fields[m];
                let (yr, dyr) = (&y[r * n..(r + 1) * n], &mut dy[r * n..(r + 1) * n]);
                forward(cfg, l, p, f.cond, t[r], yr, &mut ws.row);
                f.rate(t[r], yr, ws.row.raw_output(), dyr);
                if !records.is_empty() {
                    ws.row.save_cache(&mut records[r * rl..(r + 1) * rl]);
                }
            }
            return;
        }
        let conds: Vec<&Conditioning> = rows.iter().map(|&m| self.fields[m].cond).collect();
        forward_rows_impl(cfg, l, p, &conds, t, y, ws);
        for (r, &m) in rows.iter().enumerate() {
            let (yr, dyr) = (&y[r * n..(r + 1) * n], &mut dy[r * n..(r + 1) * n]);
            self.fields[m].rate(t[r], yr, &ws.raw[r * n..(r + 1) * n], dyr);
            if !records.is_empty() {
                ws.save_row(cfg, r, &mut records[r * rl..(r + 1) * rl]);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn vjp_part_simd(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut BatchWorkspace,
        records: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        let (cfg, l) = self.net();
        let (n, rl) = (cfg.ions, self.cache_len);
        let first_trainable = self.fields[0].first_trainable;
        if !batched_network(cfg) {
            for (r, &m) in rows.iter().enumerate() {
                let f = &self.fields[m];
                let (yr, ar) = (&y[r * n..(r + 1) * n], &a[r * n..(r + 1) * n]);
                let vy = &mut vjp_y[r * n..(r + 1) * n];
                if records.is_empty() {
                    forward(cfg, l, p, f.cond, t[r], yr, &mut ws.row);
                } else {
                    ws.row.load_cache(&records[r * rl..(r + 1) * rl]);
                }
                let (graw, hd) = (&mut ws.graw[..n], &mut ws.hdirect[..n]);
                f.rate_vjp(t[r], yr, ws.row.raw_output(), ar, graw, hd);
                vy.fill(0.0);
                backward(
                    cfg,
                    l,
                    p,
                    f.cond,
                    graw,
                    &mut ws.row,
                    vjp_p_acc,
                    vy,
                    first_trainable,
                );
                for (v, d) in vy.iter_mut().zip(hd.iter()) {
                    *v += d;
                }
            }
            return;
        }
        let conds: Vec<&Conditioning> = rows.iter().map(|&m| self.fields[m].cond).collect();
        if records.is_empty() {
            forward_rows_impl(cfg, l, p, &conds, t, y, ws);
        } else {
            for r in 0..rows.len() {
                ws.load_row(cfg, r, &records[r * rl..(r + 1) * rl]);
            }
            restore_rows(cfg, l, p, &conds, t, y, ws);
        }
        for (r, &m) in rows.iter().enumerate() {
            let s = r * n..(r + 1) * n;
            self.fields[m].rate_vjp(
                t[r],
                &y[s.clone()],
                &ws.raw[s.clone()],
                &a[s.clone()],
                &mut ws.graw[s.clone()],
                &mut ws.hdirect[s],
            );
        }
        let rows_n = rows.len() * n;
        vjp_y[..rows_n].fill(0.0);
        let graw = std::mem::take(&mut ws.graw);
        backward_rows_impl(
            cfg,
            l,
            p,
            &conds,
            &graw,
            ws,
            vjp_p_acc,
            vjp_y,
            first_trainable,
        );
        ws.graw = graw;
        for (v, d) in vjp_y[..rows_n].iter_mut().zip(&ws.hdirect) {
            *v += d;
        }
    }
}

impl BatchField for BatchTrajectoryField<'_> {
    type Workspace = BatchWorkspace;

    fn dim(&self) -> usize {
        self.net().0.ions
    }

    fn num_params(&self) -> usize {
        self.net().1.total
    }

    fn members(&self) -> usize {
        self.fields.len()
    }

    fn workspace(&self, max_rows: usize) -> BatchWorkspace {
        BatchWorkspace::new(self.net().0, max_rows)
    }

    fn record_len(&self) -> usize {
        self.cache_len
    }

    fn eval_rows(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        ws: &mut BatchWorkspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        self.eval_part(rows, t, y, p, ws, dy, records)
    }

    fn vjp_rows_add(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut BatchWorkspace,
        records: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        self.vjp_part(rows, t, y, p, a, ws, records, vjp_y, vjp_p_acc)
    }
}
