//! A small tanh multilayer perceptron as a vector field, with analytic VJPs.

use crate::elementary::fast_tanh;
use crate::field::VectorField;

/// f(t, y, theta) = W_L tanh(... tanh(W_1 [y; t] + b_1) ...) + b_L: tanh between layers, no
/// activation on the output. Parameters are flat: for each layer, W (out x in, row-major)
/// then b. The time input is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct TanhMlp {
    sizes: Vec<usize>,
    time_input: bool,
}

/// Scratch of [`TanhMlp`]: pre-activations/activations per layer and backprop buffers.
pub struct MlpWorkspace {
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
        Self { sizes, time_input }
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

    fn forward(&self, t: f64, y: &[f64], p: &[f64], ws: &mut MlpWorkspace) {
        let n = y.len();
        ws.acts[0][..n].copy_from_slice(y);
        if self.time_input {
            ws.acts[0][n] = t;
        }
        let mut off = 0;
        let layers = self.sizes.len() - 1;
        for l in 0..layers {
            let (ni, no) = (self.sizes[l], self.sizes[l + 1]);
            let (w, b) = (
                &p[off..off + ni * no],
                &p[off + ni * no..off + ni * no + no],
            );
            let (prev, rest) = ws.acts.split_at_mut(l + 1);
            let x = &prev[l];
            let out = &mut rest[0];
            for o in 0..no {
                let acc = b[o] + dot(&w[o * ni..(o + 1) * ni], x);
                out[o] = if l + 1 < layers { fast_tanh(acc) } else { acc };
            }
            off += ni * no + no;
        }
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
        let widest = *self.sizes.iter().max().expect("non-empty");
        MlpWorkspace {
            acts: self.sizes.iter().map(|&s| vec![0.0; s]).collect(),
            grad: vec![0.0; widest],
            grad_next: vec![0.0; widest],
        }
    }

    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut MlpWorkspace, dy: &mut [f64]) {
        self.forward(t, y, p, ws);
        dy.copy_from_slice(ws.acts.last().expect("output layer"));
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
        self.forward(t, y, p, ws);
        self.backward(p, a, ws, vjp_y, vjp_p);
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
        self.forward(t, y, p, ws);
        dy.copy_from_slice(ws.acts.last().expect("output layer"));
        let mut off = 0;
        for a in &ws.acts {
            record[off..off + a.len()].copy_from_slice(a);
            off += a.len();
        }
    }

    fn vjp_recorded(
        &self,
        _t: f64,
        _y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut MlpWorkspace,
        record: &[f64],
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        let mut off = 0;
        for act in &mut ws.acts {
            let len = act.len();
            act.copy_from_slice(&record[off..off + len]);
            off += len;
        }
        self.backward(p, a, ws, vjp_y, vjp_p);
    }
}

impl TanhMlp {
    /// Backpropagation from the activations in `ws` (left by a forward pass or a record).
    fn backward(
        &self,
        p: &[f64],
        a: &[f64],
        ws: &mut MlpWorkspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        let layers = self.sizes.len() - 1;
        let mut off = p.len();
        // grad holds dL/d(pre-activation output) of the current layer.
        ws.grad[..a.len()].copy_from_slice(a);
        for l in (0..layers).rev() {
            let (ni, no) = (self.sizes[l], self.sizes[l + 1]);
            off -= ni * no + no;
            let x = &ws.acts[l];
            let (gw, gb) = vjp_p[off..off + ni * no + no].split_at_mut(ni * no);
            gb.copy_from_slice(&ws.grad[..no]);
            let gn = &mut ws.grad_next[..ni];
            gn.fill(0.0);
            let w = &p[off..off + ni * no];
            // Zipped iterators (no index checks) let the compiler vectorise both updates.
            for ((&g, row), grow) in ws.grad[..no]
                .iter()
                .zip(w.chunks_exact(ni))
                .zip(gw.chunks_exact_mut(ni))
            {
                for ((gr, &xi), (gni, &wi)) in
                    grow.iter_mut().zip(x.iter()).zip(gn.iter_mut().zip(row))
                {
                    *gr = g * xi;
                    *gni += g * wi;
                }
            }
            if l > 0 {
                // Through tanh: d tanh(u)/du = 1 - tanh(u)^2, with tanh(u) stored in acts[l].
                for (gni, &xi) in gn.iter_mut().zip(x.iter()) {
                    *gni *= 1.0 - xi * xi;
                }
            }
            std::mem::swap(&mut ws.grad, &mut ws.grad_next);
        }
        vjp_y.copy_from_slice(&ws.grad[..vjp_y.len()]);
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
