//! The attention vector field: masked ion tokens -> single-head attention -> five tanh linear
//! layers -> dh/dtau, with hand-written vector-Jacobian products (checked against finite
//! differences in the tests; see docs/model.md for why not dfdx).

pub use crate::conv::Body;
use crate::conv::{self, ConvLayer};
use serde::{Deserialize, Serialize};

/// Token features per ion: ratio h_j / h0_j, scaled log feed fraction, normalised flux.
pub const TOKEN_FEATURES: usize = 3;

/// Physical descriptors per ion in a descriptor token: valence z, Stokes radius / 0.2 nm,
/// diffusivity / (1e-9 m^2/s) (scaled to order one; see [`descriptors_of`]).
pub const DESCRIPTORS: usize = 3;

/// The descriptor vector of an ion (what [`NetworkConfig::descriptors`] adds to its token).
pub fn descriptors_of(ion: &ion_species::Ion) -> [f64; DESCRIPTORS] {
    [ion.z(), ion.stokes_radius / 0.2e-9, ion.diffusivity / 1e-9]
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// Architecture of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Number of ion slots (8 for the canonical registry).
    pub ions: usize,
    /// Token embedding width.
    pub d_model: usize,
    /// Query/key/value width d_k (8 in the method).
    pub d_k: usize,
    /// Width of the four hidden layers of the five-layer perceptron.
    pub hidden: usize,
    /// Use the attention layer (false: the embeddings go straight to the perceptron).
    pub attention: bool,
    /// What follows the tokens: the five-layer perceptron (default), the same perceptron
    /// per token, or a convolutional body.
    #[serde(default)]
    pub body: Body,
    /// Add each ion's physical descriptors ([`descriptors_of`]) to its token through a learned
    /// map, so the token says what the ion is rather than which slot it sits in.
    #[serde(default, skip_serializing_if = "is_false")]
    pub descriptors: bool,
    /// A learned identity vector per ion slot (the method's ion-identity encoding). Without
    /// it, a descriptor model with the [`Body::Tokenwise`] body has no per-slot parameter and
    /// takes any ion set ([`crate::ModelConfig::with_ions`]).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub identity: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            ions: 8,
            d_model: 8,
            d_k: 8,
            hidden: 32,
            attention: true,
            body: Body::Mlp,
            descriptors: false,
            identity: true,
        }
    }
}

impl NetworkConfig {
    /// The any-ion network: descriptor tokens, no per-slot identity, the per-token perceptron
    /// (otherwise the default sizes).
    pub fn any_ion() -> Self {
        Self {
            body: Body::Tokenwise,
            descriptors: true,
            identity: false,
            ..Self::default()
        }
    }

    /// True when no parameter is tied to an ion slot, so the ion set can change.
    pub fn takes_any_ion(&self) -> bool {
        self.descriptors && !self.identity && self.body == Body::Tokenwise
    }
}

/// Offsets of every parameter block in the flat parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Embedding weights (d_model x TOKEN_FEATURES).
    pub we: usize,
    /// Embedding bias (d_model).
    pub be: usize,
    /// Descriptor map (d_model x DESCRIPTORS; empty without descriptors).
    pub wd: usize,
    /// Ion-identity (positional) encodings (ions x d_model; empty without identity).
    pub pos: usize,
    /// Query, key and value matrices (d_model x d_k each).
    pub wq: usize,
    /// Key matrix.
    pub wk: usize,
    /// Value matrix.
    pub wv: usize,
    /// Start of each linear layer (weights out x in, then bias).
    pub layers: Vec<usize>,
    /// Layer widths, input first (for a convolutional body: the flattened token width and
    /// the ion count).
    pub sizes: Vec<usize>,
    /// The convolutions of a convolutional body (empty for the perceptron).
    pub conv: Vec<ConvLayer>,
    /// Total parameter count.
    pub total: usize,
}

impl NetworkConfig {
    /// Width of the token representation fed to the perceptron.
    fn token_out(&self) -> usize {
        if self.attention {
            self.d_k
        } else {
            self.d_model
        }
    }

    /// Parameter layout.
    pub fn layout(&self) -> Layout {
        let (n, dm, dk) = (self.ions, self.d_model, self.d_k);
        let mut off = 0;
        let mut take = |len: usize| {
            let o = off;
            off += len;
            o
        };
        let we = take(dm * TOKEN_FEATURES);
        let be = take(dm);
        let wd = take(if self.descriptors {
            dm * DESCRIPTORS
        } else {
            0
        });
        let pos = take(if self.identity { n * dm } else { 0 });
        let (wq, wk, wv) = if self.attention {
            (take(dm * dk), take(dm * dk), take(dm * dk))
        } else {
            (0, 0, 0)
        };
        let flat = n * self.token_out() + n + 2;
        let (layers, sizes, conv, total) = if matches!(self.body, Body::Mlp | Body::Tokenwise) {
            let sizes = if self.body == Body::Mlp {
                vec![flat, self.hidden, self.hidden, self.hidden, self.hidden, n]
            } else {
                // Per token: its output, ratio, tau and log scale -> its g_j.
                let h = self.hidden;
                vec![self.token_out() + 3, h, h, h, h, 1]
            };
            let layers = sizes.windows(2).map(|w| take(w[0] * w[1] + w[1])).collect();
            (layers, sizes, Vec::new(), off)
        } else {
            // Per slot: the token output, the ratio h/h0, tau and the log scale.
            let conv = conv::plan(self.body, n, self.token_out() + 3, off);
            let layers = conv.iter().map(|l| l.off).collect();
            let total = off + conv.iter().map(ConvLayer::size).sum::<usize>();
            (layers, vec![flat, n], conv, total)
        };
        Layout {
            we,
            be,
            wd,
            pos,
            wq,
            wk,
            wv,
            layers,
            sizes,
            conv,
            total,
        }
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layout().total
    }

    /// This configuration with the body `kind(width)` whose width (1..=256) brings the total
    /// parameter count closest to `target` (how the CNN and U-Net baselines are matched to
    /// the perceptron's size).
    pub fn with_matched_body(&self, kind: fn(usize) -> Body, target: usize) -> Self {
        (1..=256)
            .map(|w| Self {
                body: kind(w),
                ..self.clone()
            })
            .min_by_key(|c| c.num_params().abs_diff(target))
            .expect("non-empty range")
    }

    /// Deterministic Glorot-uniform initialisation (SplitMix64 stream from `seed`); biases 0,
    /// the last layer scaled by 0.1 so the initial vector field is small.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let l = self.layout();
        let mut p = vec![0.0; l.total];
        let mut state = seed ^ 0x243F_6A88_85A3_08D3;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            2.0 * (((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64) - 1.0
        };
        let mut fill = |p: &mut [f64], fan_in: usize, fan_out: usize, scale: f64| {
            let b = scale * (6.0 / (fan_in + fan_out) as f64).sqrt();
            p.iter_mut().for_each(|x| *x = b * next());
        };
        let (n, dm, dk) = (self.ions, self.d_model, self.d_k);
        fill(
            &mut p[l.we..l.we + dm * TOKEN_FEATURES],
            TOKEN_FEATURES,
            dm,
            1.0,
        );
        if self.descriptors {
            fill(&mut p[l.wd..l.wd + dm * DESCRIPTORS], DESCRIPTORS, dm, 1.0);
        }
        if self.identity {
            fill(&mut p[l.pos..l.pos + n * dm], dm, dm, 1.0);
        }
        if self.attention {
            for o in [l.wq, l.wk, l.wv] {
                fill(&mut p[o..o + dm * dk], dm, dk, 1.0);
            }
        }
        let last = l.layers.len() - 1;
        if l.conv.is_empty() {
            for (k, (&o, w)) in l.layers.iter().zip(l.sizes.windows(2)).enumerate() {
                let scale = if k == last { 0.1 } else { 1.0 };
                fill(&mut p[o..o + w[0] * w[1]], w[0], w[1], scale);
            }
        } else {
            for (k, c) in l.conv.iter().enumerate() {
                let scale = if k == last { 0.1 } else { 1.0 };
                let w = c.cout * conv::KERNEL * c.cin;
                fill(
                    &mut p[c.off..c.off + w],
                    conv::KERNEL * c.cin,
                    conv::KERNEL * c.cout,
                    scale,
                );
            }
        }
        p
    }
}

/// Per-trajectory conditioning: the normalised feed, its mask and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditioning {
    /// Feed in normalised units (c_f / S).
    pub h0: Vec<f64>,
    /// Presence mask.
    pub mask: Vec<bool>,
    /// ln(h0_j) / 5 for present ions (0 for absent ones): the feed's token feature, kept
    /// here because a logarithm per token and evaluation cost ~5 % of training.
    pub log_h0: Vec<f64>,
    /// ln(S / 1 mol m^-3) / 10, S the total feed concentration.
    pub log_scale: f64,
    /// Valences.
    pub z: Vec<f64>,
    /// The DSPM-DE curve of this feed when the model is a hybrid (None otherwise).
    pub backbone: Option<std::sync::Arc<crate::hybrid::BackboneCurve>>,
    /// Descriptors of the ions (ions x [`DESCRIPTORS`]; empty unless the network uses them).
    pub desc: Vec<f64>,
}

/// Scratch of one evaluation (the forward cache the VJP reuses).
#[derive(Debug, Clone)]
pub struct Workspace {
    u: Vec<f64>,
    e: Vec<f64>,
    q: Vec<f64>,
    k: Vec<f64>,
    v: Vec<f64>,
    a: Vec<f64>,
    o: Vec<f64>,
    acts: Vec<Vec<f64>>,
    // Per-token perceptron: activations of every token (ions x width per layer; empty
    // otherwise) and its per-token cotangent buffers.
    tacts: Vec<Vec<f64>>,
    tg_cur: Vec<f64>,
    tg_next: Vec<f64>,
    // Convolutional body: inputs and outputs of each convolution (empty for the perceptron).
    cx: Vec<Vec<f64>>,
    cy: Vec<Vec<f64>>,
    // Backward buffers.
    cgy: Vec<Vec<f64>>,
    cgx: Vec<f64>,
    // A convolution's unfolded input and its cotangent (conv::col_len each).
    ccol: Vec<f64>,
    cgcol: Vec<f64>,
    g_next: Vec<f64>,
    g_cur: Vec<f64>,
    ebar: Vec<f64>,
    qbar: Vec<f64>,
    kbar: Vec<f64>,
    vbar: Vec<f64>,
    abar: Vec<f64>,
    raw: Vec<f64>,
}

impl Workspace {
    /// Buffers for `cfg`.
    pub fn new(cfg: &NetworkConfig) -> Self {
        let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
        let l = cfg.layout();
        let tokenwise = cfg.body == Body::Tokenwise;
        let flat = n * cfg.token_out() + n + 2;
        let widest = l
            .sizes
            .iter()
            .copied()
            .chain(l.conv.first().map(|c| c.len * c.cin))
            .chain(tokenwise.then_some(flat))
            .max()
            .expect("layers");
        let token_widest = l.sizes.iter().copied().max().expect("layers");
        Self {
            u: vec![0.0; n * TOKEN_FEATURES],
            e: vec![0.0; n * dm],
            q: vec![0.0; n * dk],
            k: vec![0.0; n * dk],
            v: vec![0.0; n * dk],
            a: vec![0.0; n * n],
            o: vec![0.0; n * cfg.token_out()],
            acts: if tokenwise {
                Vec::new()
            } else {
                l.sizes.iter().map(|&s| vec![0.0; s]).collect()
            },
            tacts: if tokenwise {
                l.sizes.iter().map(|&s| vec![0.0; n * s]).collect()
            } else {
                Vec::new()
            },
            tg_cur: vec![0.0; if tokenwise { token_widest } else { 0 }],
            tg_next: vec![0.0; if tokenwise { token_widest } else { 0 }],
            cx: l.conv.iter().map(|c| vec![0.0; c.len * c.cin]).collect(),
            cy: l.conv.iter().map(|c| vec![0.0; c.len * c.cout]).collect(),
            cgy: l.conv.iter().map(|c| vec![0.0; c.len * c.cout]).collect(),
            cgx: vec![0.0; l.conv.iter().map(|c| c.len * c.cin).max().unwrap_or(0)],
            ccol: vec![0.0; conv::col_len(&l.conv)],
            cgcol: vec![0.0; conv::col_len(&l.conv)],
            g_next: vec![0.0; widest],
            g_cur: vec![0.0; widest],
            ebar: vec![0.0; n * dm],
            qbar: vec![0.0; n * dk],
            kbar: vec![0.0; n * dk],
            vbar: vec![0.0; n * dk],
            abar: vec![0.0; n * n],
            raw: vec![0.0; n],
        }
    }

    /// The attention matrix of the last evaluation (row i: how ion i attends to each ion).
    pub fn attention(&self) -> &[f64] {
        &self.a
    }

    /// The raw network output g of the last evaluation.
    pub fn raw_output(&self) -> &[f64] {
        &self.raw
    }

    /// Length of the forward cache (what [`backward`] reads).
    pub fn cache_len(&self) -> usize {
        self.forward_buffers().map(<[f64]>::len).sum()
    }

    fn forward_buffers(&self) -> impl Iterator<Item = &[f64]> {
        [
            &self.u, &self.e, &self.q, &self.k, &self.v, &self.a, &self.o, &self.raw,
        ]
        .into_iter()
        .map(Vec::as_slice)
        .chain(self.acts.iter().map(Vec::as_slice))
        .chain(self.tacts.iter().map(Vec::as_slice))
        .chain(self.cx.iter().map(Vec::as_slice))
        .chain(self.cy.iter().map(Vec::as_slice))
    }

    /// Copies the forward cache into `record` (length [`Workspace::cache_len`]).
    pub fn save_cache(&self, record: &mut [f64]) {
        let mut off = 0;
        for b in self.forward_buffers() {
            record[off..off + b.len()].copy_from_slice(b);
            off += b.len();
        }
    }

    /// Restores the forward cache from a record written by [`Workspace::save_cache`].
    pub fn load_cache(&mut self, record: &[f64]) {
        let mut off = 0;
        for b in [
            &mut self.u,
            &mut self.e,
            &mut self.q,
            &mut self.k,
            &mut self.v,
            &mut self.a,
            &mut self.o,
            &mut self.raw,
        ]
        .into_iter()
        .chain(self.acts.iter_mut())
        .chain(self.tacts.iter_mut())
        .chain(self.cx.iter_mut())
        .chain(self.cy.iter_mut())
        {
            let len = b.len();
            b.copy_from_slice(&record[off..off + len]);
            off += len;
        }
    }
}

use neural_ode::{dot, fast_exp, fast_tanh as tanh};

/// One row's tokens `u` (ions x [`TOKEN_FEATURES`]) and embeddings `e` (ions x d_model;
/// absent ions give zero rows).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn embed(
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
fn attend_impl(
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
        let mut mx = f64::NEG_INFINITY;
        for j in 0..n {
            if mask[j] {
                row[j] = scale * dot(&q[i * dk..(i + 1) * dk], &k[j * dk..(j + 1) * dk]);
                mx = mx.max(row[j]);
            }
        }
        let mut sum = 0.0;
        for j in 0..n {
            row[j] = if mask[j] { fast_exp(row[j] - mx) } else { 0.0 };
            sum += row[j];
        }
        row.iter_mut().for_each(|x| *x /= sum);
    }
    attention_output_impl(n, dk, a, v, o);
}

/// [`attend_impl`] with the default network's sizes (8 ions, d_k = 8) as constants, so the
/// compiler unrolls and vectorises the short loops; any other size takes the general path.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn attend(
    n: usize,
    dk: usize,
    mask: &[bool],
    q: &[f64],
    k: &[f64],
    v: &[f64],
    a: &mut [f64],
    o: &mut [f64],
) {
    if n == 8 && dk == 8 {
        attend_impl(8, 8, mask, q, k, v, a, o)
    } else {
        attend_impl(n, dk, mask, q, k, v, a, o)
    }
}

/// One row's attention outputs o = A V (ions x d_k).
#[inline(always)]
fn attention_output_impl(n: usize, dk: usize, a: &[f64], v: &[f64], o: &mut [f64]) {
    for i in 0..n {
        let oi = &mut o[i * dk..(i + 1) * dk];
        oi.fill(0.0);
        for j in 0..n {
            let aij = a[i * n + j];
            for (ov, vv) in oi.iter_mut().zip(&v[j * dk..(j + 1) * dk]) {
                *ov += aij * vv;
            }
        }
    }
}

/// [`attention_output_impl`] with the default network's sizes (8 ions, d_k = 8) as constants, so the
/// compiler unrolls and vectorises the short loops; any other size takes the general path.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn attention_output(n: usize, dk: usize, a: &[f64], v: &[f64], o: &mut [f64]) {
    if n == 8 && dk == 8 {
        attention_output_impl(8, 8, a, v, o)
    } else {
        attention_output_impl(n, dk, a, v, o)
    }
}

/// One row's perceptron input: token outputs, ratios h/h0, tau, log scale.
#[inline(always)]
pub(crate) fn mlp_input(
    n: usize,
    tout: usize,
    o: &[f64],
    u: &[f64],
    tau: f64,
    log_scale: f64,
    x: &mut [f64],
) {
    x[..n * tout].copy_from_slice(o);
    for j in 0..n {
        x[n * tout + j] = u[j * TOKEN_FEATURES];
    }
    x[n * tout + n] = tau;
    x[n * tout + n + 1] = log_scale;
}

/// Evaluates the raw network output g (before masking, scaling and projection) at
/// normalised flux `tau` and state `h`; fills the workspace cache.
pub fn forward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    tau: f64,
    h: &[f64],
    ws: &mut Workspace,
) {
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    embed(cfg, l, p, c, tau, h, &mut ws.u, &mut ws.e);
    let tout = cfg.token_out();
    if cfg.attention {
        for j in 0..n {
            for kk in 0..dk {
                let (mut q, mut k, mut v) = (0.0, 0.0, 0.0);
                for m in 0..dm {
                    let e = ws.e[j * dm + m];
                    q += e * p[l.wq + m * dk + kk];
                    k += e * p[l.wk + m * dk + kk];
                    v += e * p[l.wv + m * dk + kk];
                }
                ws.q[j * dk + kk] = q;
                ws.k[j * dk + kk] = k;
                ws.v[j * dk + kk] = v;
            }
        }
        attend(n, dk, &c.mask, &ws.q, &ws.k, &ws.v, &mut ws.a, &mut ws.o);
    } else {
        ws.o.copy_from_slice(&ws.e);
    }
    if cfg.body == Body::Tokenwise {
        tokenwise_forward(cfg, l, p, c, tau, ws);
        return;
    }
    mlp_input(n, tout, &ws.o, &ws.u, tau, c.log_scale, &mut ws.acts[0]);
    if !l.conv.is_empty() {
        // Per-slot features [token output, ratio, tau, log scale]; padding slots stay zero.
        let cin = tout + 3;
        let f = &mut ws.cx[0];
        f.fill(0.0);
        for j in 0..n {
            let row = &mut f[j * cin..(j + 1) * cin];
            row[..tout].copy_from_slice(&ws.o[j * tout..(j + 1) * tout]);
            row[tout] = ws.u[j * TOKEN_FEATURES];
            row[tout + 1] = tau;
            row[tout + 2] = c.log_scale;
        }
        conv::forward(&l.conv, p, 1, &mut ws.cx, &mut ws.cy, &mut ws.ccol);
        let out = &ws.cy[l.conv.len() - 1];
        ws.raw.copy_from_slice(&out[..n]);
        return;
    }
    let layers = l.layers.len();
    for li in 0..layers {
        let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
        let off = l.layers[li];
        let (prev, rest) = ws.acts.split_at_mut(li + 1);
        let xin = &prev[li];
        let out = &mut rest[0];
        for o in 0..no {
            let acc = p[off + ni * no + o] + dot(&p[off + o * ni..off + (o + 1) * ni], xin);
            out[o] = if li + 1 < layers { tanh(acc) } else { acc };
        }
    }
    ws.raw.copy_from_slice(&ws.acts[layers]);
}

/// Backpropagates the cotangent `graw` of the raw output g (after a [`forward`] at the same
/// point): adds dL/dp into `pbar` and dL/dh into `hbar`. Parameters whose index is below
/// `first_trainable` receive no gradient (frozen), which also skips their work.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    let n = cfg.ions;
    if cfg.body == Body::Tokenwise {
        tokenwise_backward(cfg, l, p, c, graw, ws, pbar, first_trainable);
    } else if !l.conv.is_empty() {
        conv_backward(cfg, l, p, graw, ws, pbar, first_trainable);
    } else {
        mlp_backward(l, p, graw, ws, pbar, first_trainable, n);
    }
    // ws.g_cur now holds the cotangent of the perceptron input.
    token_backward(cfg, l, p, c, ws, pbar, hbar, first_trainable);
}

/// The per-token perceptron: the same five layers on each present token's
/// [attention output, ratio h/h0, tau, log scale], giving its g_j (absent tokens give 0).
fn tokenwise_forward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    tau: f64,
    ws: &mut Workspace,
) {
    let n = cfg.ions;
    let tout = cfg.token_out();
    let layers = l.layers.len();
    for j in 0..n {
        if !c.mask[j] {
            ws.raw[j] = 0.0;
            continue;
        }
        let x = &mut ws.tacts[0][j * (tout + 3)..(j + 1) * (tout + 3)];
        x[..tout].copy_from_slice(&ws.o[j * tout..(j + 1) * tout]);
        x[tout] = ws.u[j * TOKEN_FEATURES];
        x[tout + 1] = tau;
        x[tout + 2] = c.log_scale;
        for li in 0..layers {
            let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
            let off = l.layers[li];
            let (prev, rest) = ws.tacts.split_at_mut(li + 1);
            let xin = &prev[li][j * ni..(j + 1) * ni];
            let out = &mut rest[0][j * no..(j + 1) * no];
            for o in 0..no {
                let acc = p[off + ni * no + o] + dot(&p[off + o * ni..off + (o + 1) * ni], xin);
                out[o] = if li + 1 < layers { tanh(acc) } else { acc };
            }
        }
        ws.raw[j] = ws.tacts[layers][j];
    }
}

/// The per-token perceptron's VJP, leaving the cotangent of the flattened token input
/// [token outputs, ratios, tau, log scale] in `ws.g_cur` (as the perceptron's does).
#[allow(clippy::too_many_arguments)]
fn tokenwise_backward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    first_trainable: usize,
) {
    let n = cfg.ions;
    let tout = cfg.token_out();
    let layers = l.layers.len();
    ws.g_cur.fill(0.0);
    for j in 0..n {
        if !c.mask[j] {
            continue;
        }
        ws.tg_cur[0] = graw[j];
        for li in (0..layers).rev() {
            let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
            let off = l.layers[li];
            let x = &ws.tacts[li][j * ni..(j + 1) * ni];
            let train = off + ni * no + no > first_trainable;
            let gn = &mut ws.tg_next[..ni];
            gn.fill(0.0);
            let w = &p[off..off + ni * no];
            for (o, (&g, row)) in ws.tg_cur[..no].iter().zip(w.chunks_exact(ni)).enumerate() {
                if train {
                    pbar[off + ni * no + o] += g;
                    for (pb, &xi) in pbar[off + o * ni..off + (o + 1) * ni]
                        .iter_mut()
                        .zip(x.iter())
                    {
                        *pb += g * xi;
                    }
                }
                for (gni, &wi) in gn.iter_mut().zip(row) {
                    *gni += g * wi;
                }
            }
            if li > 0 {
                for (gni, &xi) in gn.iter_mut().zip(x.iter()) {
                    *gni *= 1.0 - xi * xi;
                }
            }
            std::mem::swap(&mut ws.tg_cur, &mut ws.tg_next);
        }
        // tg_cur holds the cotangent of [o_j, ratio_j, tau, log scale].
        ws.g_cur[j * tout..(j + 1) * tout].copy_from_slice(&ws.tg_cur[..tout]);
        ws.g_cur[n * tout + j] = ws.tg_cur[tout];
    }
}

/// The convolutional body's VJP, leaving the cotangent of the flattened token input
/// [token outputs, ratios, tau, log scale] in `ws.g_cur` (as the perceptron's does).
fn conv_backward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    first_trainable: usize,
) {
    let n = cfg.ions;
    let tout = cfg.token_out();
    let cin = tout + 3;
    let last = ws.cgy.len() - 1;
    ws.cgy[last].fill(0.0);
    ws.cgy[last][..n].copy_from_slice(graw);
    // The feature cotangent goes to g_next (sized for it by Workspace::new).
    let mut gx0 = std::mem::take(&mut ws.g_next);
    conv::backward(
        &l.conv,
        p,
        1,
        &ws.cx,
        &ws.cy,
        &mut ws.cgy,
        &mut ws.cgx,
        &mut ws.ccol,
        &mut ws.cgcol,
        pbar,
        first_trainable,
        &mut gx0[..ws.cx[0].len()],
    );
    let g = &mut ws.g_cur;
    g.fill(0.0);
    for j in 0..n {
        let row = &gx0[j * cin..(j + 1) * cin];
        g[j * tout..(j + 1) * tout].copy_from_slice(&row[..tout]);
        g[n * tout + j] = row[tout];
    }
    ws.g_next = gx0;
}

/// The perceptron's VJP, leaving the cotangent of its input in `ws.g_cur`.
fn mlp_backward(
    l: &Layout,
    p: &[f64],
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    first_trainable: usize,
    n: usize,
) {
    let layers = l.layers.len();
    ws.g_cur[..n].copy_from_slice(graw);
    for li in (0..layers).rev() {
        let (ni, no) = (l.sizes[li], l.sizes[li + 1]);
        let off = l.layers[li];
        let x = &ws.acts[li];
        let train = off + ni * no + no > first_trainable;
        let gn = &mut ws.g_next[..ni];
        gn.fill(0.0);
        // Zipped iterators (no index checks) let the compiler vectorise these loops.
        let w = &p[off..off + ni * no];
        for (o, (&g, row)) in ws.g_cur[..no].iter().zip(w.chunks_exact(ni)).enumerate() {
            if train {
                pbar[off + ni * no + o] += g;
                for (pb, &xi) in pbar[off + o * ni..off + (o + 1) * ni]
                    .iter_mut()
                    .zip(x.iter())
                {
                    *pb += g * xi;
                }
            }
            for (gni, &wi) in gn.iter_mut().zip(row) {
                *gni += g * wi;
            }
        }
        if li > 0 {
            for (gni, &xi) in gn.iter_mut().zip(x.iter()) {
                *gni *= 1.0 - xi * xi;
            }
        }
        std::mem::swap(&mut ws.g_cur, &mut ws.g_next);
    }
}

/// The token stage's VJP (attention, embeddings) from the perceptron-input cotangent in
/// `ws.g_cur`.
#[allow(clippy::too_many_arguments)]
fn token_backward(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    c: &Conditioning,
    ws: &mut Workspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
    let tout = cfg.token_out();
    let xbar = &ws.g_cur;
    for j in 0..n {
        if c.mask[j] {
            hbar[j] += xbar[n * tout + j] / c.h0[j];
        }
    }
    let front_trainable = first_trainable == 0;
    if cfg.attention {
        attend_backward(
            n,
            dk,
            &c.mask,
            &xbar[..n * dk],
            &ws.a,
            &ws.q,
            &ws.k,
            &ws.v,
            &mut ws.abar,
            &mut ws.qbar,
            &mut ws.kbar,
            &mut ws.vbar,
        );
        ws.ebar.fill(0.0);
        for j in 0..n {
            if !c.mask[j] {
                continue;
            }
            for m in 0..dm {
                let e = ws.e[j * dm + m];
                let mut acc = 0.0;
                for kk in 0..dk {
                    let (qb, kb, vb) = (
                        ws.qbar[j * dk + kk],
                        ws.kbar[j * dk + kk],
                        ws.vbar[j * dk + kk],
                    );
                    acc += qb * p[l.wq + m * dk + kk]
                        + kb * p[l.wk + m * dk + kk]
                        + vb * p[l.wv + m * dk + kk];
                    if front_trainable {
                        pbar[l.wq + m * dk + kk] += e * qb;
                        pbar[l.wk + m * dk + kk] += e * kb;
                        pbar[l.wv + m * dk + kk] += e * vb;
                    }
                }
                ws.ebar[j * dm + m] = acc;
            }
        }
    } else {
        ws.ebar.copy_from_slice(&xbar[..n * dm]);
    }
    embed_backward(cfg, l, p, c, &ws.u, &ws.ebar, pbar, hbar, front_trainable);
}

/// One row's attention VJP: from the outputs' cotangent `obar` (ions x d_k) to the
/// cotangents of its queries, keys and values (all overwritten; `abar` is scratch).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn attend_backward_impl(
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

/// [`attend_backward_impl`] with the default network's sizes (8 ions, d_k = 8) as constants, so the
/// compiler unrolls and vectorises the short loops; any other size takes the general path.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn attend_backward(
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
    if n == 8 && dk == 8 {
        attend_backward_impl(8, 8, mask, obar, a, q, k, v, abar, qbar, kbar, vbar)
    } else {
        attend_backward_impl(n, dk, mask, obar, a, q, k, v, abar, qbar, kbar, vbar)
    }
}

/// One row's embedding VJP: adds the tokens' parameter cotangents (when the front is
/// trainable) and each ion's dL/dh_j into `hbar`, from the embeddings' cotangent `ebar`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn embed_backward(
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
