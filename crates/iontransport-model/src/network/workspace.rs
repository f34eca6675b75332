//! The scratch of the network on up to `rows` rows (states), and the compact per-row records
//! the discrete adjoint keeps between the forward and the backward pass.

use super::config::{Body, Layout, NetworkConfig, TOKEN_FEATURES};
use super::conv;

/// Lengths of the backward buffers.
#[derive(Debug, Clone)]
struct BackwardLen {
    g: usize,
    e: usize,
    qkv: usize,
    a: usize,
    cgy: Vec<usize>,
    cgx: usize,
    cgcol: usize,
    cgx0: usize,
}

/// Buffers of a forward and backward pass over up to [`Workspace::rows`] rows (one row is
/// one state of one trajectory). Row r of every buffer follows row r - 1.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(super) rows: usize,
    pub(super) u: Vec<f64>,
    pub(super) e: Vec<f64>,
    pub(super) q: Vec<f64>,
    pub(super) k: Vec<f64>,
    pub(super) v: Vec<f64>,
    /// Attention matrices (rows x ions x ions; empty without attention).
    pub(super) a: Vec<f64>,
    pub(super) o: Vec<f64>,
    pub(super) raw: Vec<f64>,
    /// Dense bodies: each layer's input, then the output (rows x width for the perceptron,
    /// rows ions x width for the per-token perceptron; empty for a convolutional body).
    pub(super) acts: Vec<Vec<f64>>,
    /// Convolutional bodies (empty otherwise): each convolution's inputs, outputs and their
    /// cotangents, the unfolded inputs, and the features' cotangent.
    pub(super) cx: Vec<Vec<f64>>,
    pub(super) cy: Vec<Vec<f64>>,
    pub(super) cgy: Vec<Vec<f64>>,
    pub(super) cgx: Vec<f64>,
    pub(super) ccol: Vec<f64>,
    pub(super) cgcol: Vec<f64>,
    pub(super) cgx0: Vec<f64>,
    /// The backward buffers' lengths; they are allocated by the first [`super::backward`]
    /// (prediction never needs them: allocating them for 50 points of a CNN baseline cost
    /// a third of its prediction time in page faults).
    backward_len: BackwardLen,
    /// Cotangents flowing back through the body, then the body input's (rows x flat).
    pub(super) g_cur: Vec<f64>,
    pub(super) g_next: Vec<f64>,
    pub(super) ebar: Vec<f64>,
    pub(super) qbar: Vec<f64>,
    pub(super) kbar: Vec<f64>,
    pub(super) vbar: Vec<f64>,
    pub(super) abar: Vec<f64>,
}

impl Workspace {
    /// Buffers for up to `rows` states (at least one) of `cfg`.
    pub fn new(cfg: &NetworkConfig, rows: usize) -> Self {
        let rows = rows.max(1);
        let (n, dm, dk) = (cfg.ions, cfg.d_model, cfg.d_k);
        let l = cfg.layout();
        let tokenwise = cfg.body == Body::Tokenwise;
        // Matrix rows of a dense body: one per state, or one per token of each state.
        let dense_rows = if tokenwise { rows * n } else { rows };
        let per_layer = |f: fn(&conv::ConvLayer) -> usize| -> Vec<Vec<f64>> {
            l.conv
                .iter()
                .map(|c| vec![0.0; rows * c.len * f(c)])
                .collect()
        };
        let widest_input = l.conv.iter().map(|c| c.len * c.cin).max().unwrap_or(0);
        let flat = cfg.flat_input();
        let widest_dense = if l.conv.is_empty() {
            l.sizes.iter().copied().max().expect("layers") * dense_rows
        } else {
            0
        };
        let g_len = widest_dense.max(rows * flat);
        let col = rows * conv::col_len(&l.conv);
        Self {
            rows,
            u: vec![0.0; rows * n * TOKEN_FEATURES],
            e: vec![0.0; rows * n * dm],
            q: vec![0.0; rows * n * dk],
            k: vec![0.0; rows * n * dk],
            v: vec![0.0; rows * n * dk],
            a: vec![0.0; if cfg.attention { rows * n * n } else { 0 }],
            o: vec![0.0; rows * n * cfg.token_out()],
            raw: vec![0.0; rows * n],
            acts: if l.conv.is_empty() {
                l.sizes.iter().map(|&s| vec![0.0; dense_rows * s]).collect()
            } else {
                Vec::new()
            },
            cx: per_layer(|c| c.cin),
            cy: per_layer(|c| c.cout),
            ccol: vec![0.0; col],
            backward_len: BackwardLen {
                g: g_len,
                e: rows * n * dm,
                qkv: rows * n * dk,
                a: n * n,
                cgy: l.conv.iter().map(|c| rows * c.len * c.cout).collect(),
                cgx: rows * widest_input,
                cgcol: col,
                cgx0: l.conv.first().map_or(0, |c| rows * c.len * c.cin),
            },
            g_cur: Vec::new(),
            g_next: Vec::new(),
            cgy: Vec::new(),
            cgx: Vec::new(),
            cgcol: Vec::new(),
            cgx0: Vec::new(),
            ebar: Vec::new(),
            qbar: Vec::new(),
            kbar: Vec::new(),
            vbar: Vec::new(),
            abar: Vec::new(),
        }
    }

    /// Allocates the backward buffers on first use.
    pub(super) fn ensure_backward(&mut self) {
        if !self.g_cur.is_empty() {
            return;
        }
        let b = &self.backward_len;
        self.g_cur = vec![0.0; b.g];
        self.g_next = vec![0.0; b.g];
        self.ebar = vec![0.0; b.e];
        self.qbar = vec![0.0; b.qkv];
        self.kbar = vec![0.0; b.qkv];
        self.vbar = vec![0.0; b.qkv];
        self.abar = vec![0.0; b.a];
        self.cgy = b.cgy.iter().map(|&len| vec![0.0; len]).collect();
        self.cgx = vec![0.0; b.cgx];
        self.cgcol = vec![0.0; b.cgcol];
        self.cgx0 = vec![0.0; b.cgx0];
    }

    /// The most rows one pass takes.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The raw network outputs g of the last [`super::forward`] (rows x ions).
    pub fn raw(&self) -> &[f64] {
        &self.raw
    }

    /// Row `r`'s attention matrix from the last [`super::forward`] (ions x ions, row i: how
    /// ion i attends to each ion); empty without attention.
    pub fn attention(&self, r: usize) -> &[f64] {
        let nn = self.a.len() / self.rows;
        &self.a[r * nn..(r + 1) * nn]
    }

    /// What a row's record holds: what is costly to recompute (the attention matrix, every
    /// layer's output, whose tanh is the expensive part). The tokens, embeddings, queries,
    /// keys, values and the body's input are rebuilt from the state by [`super::restore`] (a
    /// few small products, no exp or tanh), which moves a third of the bytes a full cache
    /// would (200 against 630 floats per row for the default network).
    fn recorded(&self) -> impl Iterator<Item = &Vec<f64>> {
        std::iter::once(&self.a)
            .chain(self.acts.iter().skip(1))
            .chain(self.cy.iter())
            .filter(|b| !b.is_empty())
    }

    /// Length of one row's record.
    pub fn record_len(&self) -> usize {
        self.recorded().map(|b| b.len() / self.rows).sum()
    }

    /// Copies row `r`'s record (length [`Workspace::record_len`]) into `record`.
    pub fn save_row(&self, r: usize, record: &mut [f64]) {
        let mut off = 0;
        for b in self.recorded() {
            let len = b.len() / self.rows;
            record[off..off + len].copy_from_slice(&b[r * len..(r + 1) * len]);
            off += len;
        }
    }

    /// Restores row `r`'s record and its raw output; [`super::restore`] rebuilds the rest.
    pub fn load_row(&mut self, l: &Layout, r: usize, record: &[f64]) {
        let rows = self.rows;
        let mut off = 0;
        for b in std::iter::once(&mut self.a)
            .chain(self.acts.iter_mut().skip(1))
            .chain(self.cy.iter_mut())
            .filter(|b| !b.is_empty())
        {
            let len = b.len() / rows;
            b[r * len..(r + 1) * len].copy_from_slice(&record[off..off + len]);
            off += len;
        }
        let n = self.raw.len() / rows;
        let out = match self.acts.last() {
            // Both dense bodies keep a row's n outputs at r n (the per-token one as n rows
            // of width 1, zero for absent ions).
            Some(last) => &last[r * n..(r + 1) * n],
            None => {
                let len = l.conv.last().expect("a convolutional body").len;
                &self.cy[l.conv.len() - 1][r * len..r * len + n]
            }
        };
        self.raw[r * n..(r + 1) * n].copy_from_slice(out);
    }
}
