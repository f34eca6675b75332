//! A small tanh multilayer perceptron as a vector field, with analytic VJPs.

use crate::field::VectorField;
use crate::layers::DenseStack;
use crate::rows::{BatchField, Rows};

/// f(t, y, theta) = W_L tanh(... tanh(W_1 [y; t] + b_1) ...) + b_L: tanh between layers, no
/// activation on the output. Parameters are flat: for each layer, W (out x in, row-major)
/// then b. The time input is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct TanhMlp {
    sizes: Vec<usize>,
    /// Start of each layer's parameters (weights, then bias), packed from 0.
    offsets: Vec<usize>,
    time_input: bool,
}

/// Scratch of [`TanhMlp`] for up to `rows` rows: per layer the activations of every row
/// (row-major, rows × width), and backprop buffers (rows × the widest layer).
pub struct MlpWorkspace {
    rows: usize,
    acts: Vec<Vec<f64>>,
    grad: Vec<f64>,
    grad_next: Vec<f64>,
}

impl TanhMlp {
    /// A network for a state of dimension `dim` with the given hidden widths.
    pub fn new(dim: usize, hidden: &[usize], time_input: bool) -> Self {
        let mut sizes = vec![dim + usize::from(time_input)];
        sizes.extend_from_slice(hidden);
        sizes.push(dim);
        let (offsets, _) = DenseStack::packed_offsets(&sizes, 0);
        Self {
            sizes,
            offsets,
            time_input,
        }
    }

    fn stack(&self) -> DenseStack<'_> {
        DenseStack {
            sizes: &self.sizes,
            offsets: &self.offsets,
        }
    }

    /// Layer widths, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Deterministic Glorot-uniform initialisation from `seed` (SplitMix64 stream), so the
    /// crate needs no random-number dependency.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut p = Vec::with_capacity(self.num_params());
        for w in self.sizes.windows(2) {
            let bound = (6.0 / (w[0] + w[1]) as f64).sqrt();
            p.extend((0..w[0] * w[1]).map(|_| (2.0 * next() - 1.0) * bound));
            p.extend(std::iter::repeat_n(0.0, w[1]));
        }
        p
    }

    /// This network as a [`BatchField`] of `members` problems that share it (no per-member
    /// conditioning): in a lock-step batch ([`crate::solve_lockstep`],
    /// [`crate::gradient_lockstep`]) each stage runs as matrix-matrix products, every weight
    /// row serving all rows of the stage, instead of one matrix-vector product per row as
    /// through [`crate::RowsOf`].
    pub fn rows(&self, members: usize) -> MlpRows<'_> {
        MlpRows { mlp: self, members }
    }

    /// Scratch for up to `rows` rows.
    pub fn workspace_rows(&self, rows: usize) -> MlpWorkspace {
        let rows = rows.max(1);
        let widest = *self.sizes.iter().max().expect("non-empty");
        MlpWorkspace {
            rows,
            acts: self.sizes.iter().map(|&s| vec![0.0; rows * s]).collect(),
            grad: vec![0.0; rows * widest],
            grad_next: vec![0.0; rows * widest],
        }
    }

    /// The forward pass of `t.len()` rows (states `y`, row-major) into `ws.acts`, as matrix
    /// products over the rows ([`DenseStack`]). One row is the single-state evaluation.
    fn forward(&self, t: &[f64], y: &[f64], p: &[f64], ws: &mut MlpWorkspace) {
        mlp_forward(self, t, y, p, ws)
    }

    /// Backpropagation of the cotangents `a` (rows × dim) through the activations in `ws`
    /// (left by [`Self::forward`] or loaded from records) of `m` rows: writes each row's
    /// a^T df/dy into `vjp_y` and adds sum_r a_r^T df/dtheta into `vjp_p`.
    fn backward(
        &self,
        m: usize,
        p: &[f64],
        a: &[f64],
        ws: &mut MlpWorkspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        mlp_backward(self, m, p, a, ws, vjp_y, vjp_p)
    }

    /// Each row's activations (all layers, input first) into its record.
    fn store(&self, m: usize, ws: &MlpWorkspace, records: &mut [f64]) {
        let len = self.record_len();
        for r in 0..m {
            let mut off = r * len;
            for (act, &s) in ws.acts.iter().zip(&self.sizes) {
                records[off..off + s].copy_from_slice(&act[r * s..(r + 1) * s]);
                off += s;
            }
        }
    }

    /// The inverse of [`Self::store`], from one record per row.
    fn load(&self, ws: &mut MlpWorkspace, records: &[&[f64]]) {
        for (r, record) in records.iter().enumerate() {
            let mut off = 0;
            for (act, &s) in ws.acts.iter_mut().zip(&self.sizes) {
                act[r * s..(r + 1) * s].copy_from_slice(&record[off..off + s]);
                off += s;
            }
        }
    }
}

simd_dispatch! {
    fn mlp_forward<'a>(
        mlp: &'a TanhMlp, t: &'a [f64], y: &'a [f64], p: &'a [f64], ws: &'a mut MlpWorkspace,
    ) = mlp_forward_simd;
}

simd_dispatch! {
    fn mlp_backward<'a>(
        mlp: &'a TanhMlp, m: usize, p: &'a [f64], a: &'a [f64], ws: &'a mut MlpWorkspace,
        vjp_y: &'a mut [f64], vjp_p: &'a mut [f64],
    ) = mlp_backward_simd;
}

#[inline(always)]
fn mlp_forward_simd(mlp: &TanhMlp, t: &[f64], y: &[f64], p: &[f64], ws: &mut MlpWorkspace) {
    let m = t.len();
    assert!(m <= ws.rows, "{m} rows for a workspace of {}", ws.rows);
    let n = mlp.dim();
    let n_in = mlp.sizes[0];
    for r in 0..m {
        let x = &mut ws.acts[0][r * n_in..(r + 1) * n_in];
        x[..n].copy_from_slice(&y[r * n..(r + 1) * n]);
        if mlp.time_input {
            x[n] = t[r];
        }
    }
    mlp.stack().forward(p, m, &mut ws.acts);
}

#[inline(always)]
fn mlp_backward_simd(
    mlp: &TanhMlp,
    m: usize,
    p: &[f64],
    a: &[f64],
    ws: &mut MlpWorkspace,
    vjp_y: &mut [f64],
    vjp_p: &mut [f64],
) {
    let n = mlp.dim();
    ws.grad[..m * n].copy_from_slice(&a[..m * n]);
    let (acts, g, g_next) = (&ws.acts, &mut ws.grad, &mut ws.grad_next);
    mlp.stack().backward(p, m, acts, g, g_next, vjp_p, 0);
    let n_in = mlp.sizes[0];
    for r in 0..m {
        vjp_y[r * n..(r + 1) * n].copy_from_slice(&ws.grad[r * n_in..r * n_in + n]);
    }
}

/// Dot product with four independent accumulators, so the compiler can vectorise it (a single
/// floating-point accumulator is a serial dependency chain).
#[inline(always)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for q in 0..4 {
            acc[q] += x[q] * y[q];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

impl VectorField for TanhMlp {
    type Workspace = MlpWorkspace;

    fn dim(&self) -> usize {
        *self.sizes.last().expect("at least input and output")
    }

    fn num_params(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    fn workspace(&self) -> MlpWorkspace {
        self.workspace_rows(1)
    }

    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut MlpWorkspace, dy: &mut [f64]) {
        self.forward(&[t], y, p, ws);
        dy.copy_from_slice(&ws.acts.last().expect("output layer")[..dy.len()]);
    }

    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut MlpWorkspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        self.forward(&[t], y, p, ws);
        vjp_p.fill(0.0);
        self.backward(1, p, a, ws, vjp_y, vjp_p);
    }

    fn record_len(&self) -> usize {
        self.sizes.iter().sum()
    }

    fn eval_record(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        ws: &mut MlpWorkspace,
        dy: &mut [f64],
        record: &mut [f64],
    ) {
        self.eval(t, y, p, ws, dy);
        self.store(1, ws, record);
    }

    fn vjp_recorded_add(
        &self,
        _t: f64,
        _y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut MlpWorkspace,
        record: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
        _scratch_p: &mut [f64],
    ) {
        // The layers' backward pass adds: no scratch vector, no second pass over it.
        self.load(ws, &[record]);
        self.backward(1, p, a, ws, vjp_y, vjp_p_acc);
    }
}

/// A [`TanhMlp`] shared by `members` problems, as a [`BatchField`] ([`TanhMlp::rows`]).
pub struct MlpRows<'a> {
    mlp: &'a TanhMlp,
    members: usize,
}

impl BatchField for MlpRows<'_> {
    type Workspace = MlpWorkspace;

    fn dim(&self) -> usize {
        self.mlp.dim()
    }
    fn num_params(&self) -> usize {
        self.mlp.num_params()
    }
    fn members(&self) -> usize {
        self.members
    }
    fn workspace(&self, max_rows: usize) -> MlpWorkspace {
        self.mlp.workspace_rows(max_rows)
    }
    fn record_len(&self) -> usize {
        self.mlp.record_len()
    }
    fn eval_rows(&self, at: Rows<'_>, ws: &mut MlpWorkspace, dy: &mut [f64], records: &mut [f64]) {
        let m = at.len();
        self.mlp.forward(&at.t[..m], at.y, at.p, ws);
        let n = self.dim();
        dy[..m * n].copy_from_slice(&ws.acts.last().expect("output layer")[..m * n]);
        if !records.is_empty() {
            self.mlp.store(m, ws, records);
        }
    }
    fn vjp_rows_add(
        &self,
        at: Rows<'_>,
        a: &[f64],
        ws: &mut MlpWorkspace,
        records: &[&[f64]],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        let m = at.len();
        if records.is_empty() {
            self.mlp.forward(&at.t[..m], at.y, at.p, ws);
        } else {
            self.mlp.load(ws, &records[..m]);
        }
        self.mlp.backward(m, at.p, a, ws, vjp_y, vjp_p_acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        let a: Vec<f64> = (0..37).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..37).map(|i| (i as f64 * 0.11).cos()).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-14);
    }
}
