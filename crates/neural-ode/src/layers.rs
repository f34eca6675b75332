//! Dense tanh layers on many rows at once, forwards and backwards: each layer is one matrix
//! product over all rows ([`crate::gemm`]), so every weight serves every row. [`TanhMlp`]
//! is built on it, and so is any downstream network whose body is a stack of such layers
//! (iontransport-model's five tanh layers): one implementation of the computation.
//!
//! [`TanhMlp`]: crate::TanhMlp

use crate::elementary::fast_tanh;
use crate::gemm::{Shape, gemm};

/// Where a stack of dense layers lies in a flat parameter vector: layer k maps width
/// `sizes[k]` to `sizes[k + 1]`, its weights W_k (out x in, row-major) start at `offsets[k]`
/// and its bias follows them. tanh between layers, none after the last.
#[derive(Debug, Clone, Copy)]
pub struct DenseStack<'a> {
    /// Layer widths, input first (one more entry than `offsets`).
    pub sizes: &'a [usize],
    /// Start of each layer's parameters.
    pub offsets: &'a [usize],
}

impl DenseStack<'_> {
    /// Offsets of layers of the given widths packed one after another from `start`, and the
    /// end of the last.
    pub fn packed_offsets(sizes: &[usize], start: usize) -> (Vec<usize>, usize) {
        let mut off = start;
        let offsets = sizes
            .windows(2)
            .map(|w| {
                let at = off;
                off += w[0] * w[1] + w[1];
                at
            })
            .collect();
        (offsets, off)
    }

    /// The forward pass of `m` rows: `acts[k + 1]` (m x `sizes[k + 1]`, row-major) =
    /// tanh(`acts[k]` W_k^T + b_k), no tanh after the last layer. `acts[0]` holds the input.
    ///
    /// ```
    /// use neural_ode::DenseStack;
    /// // One layer 2 -> 1: y = 0.5 x0 - x1 + 0.25 (no tanh on the output layer).
    /// let sizes = [2, 1];
    /// let (offsets, end) = DenseStack::packed_offsets(&sizes, 0);
    /// let p = [0.5, -1.0, 0.25];
    /// assert_eq!(end, p.len());
    /// let mut acts = vec![vec![1.0, 2.0, 3.0, 4.0], vec![0.0; 2]]; // two rows
    /// DenseStack { sizes: &sizes, offsets: &offsets }.forward(&p, 2, &mut acts);
    /// assert_eq!(acts[1], [-1.25, -2.25]);
    /// ```
    #[inline(always)]
    pub fn forward(&self, p: &[f64], m: usize, acts: &mut [Vec<f64>]) {
        let layers = self.offsets.len();
        for li in 0..layers {
            let (ni, no) = (self.sizes[li], self.sizes[li + 1]);
            let off = self.offsets[li];
            let (prev, rest) = acts.split_at_mut(li + 1);
            let (x, y) = (&prev[li], &mut rest[0]);
            // Y (m x no) = X (m x ni) W^T, W stored out x in.
            gemm(
                x,
                Shape::row_major(m, ni),
                &p[off..off + ni * no],
                Shape::transposed(ni, no),
                false,
                y,
                Shape::row_major(m, no),
            );
            let bias = &p[off + ni * no..off + ni * no + no];
            for yr in y[..m * no].chunks_exact_mut(no) {
                for (yo, b) in yr.iter_mut().zip(bias) {
                    *yo += b;
                }
            }
            if li + 1 < layers {
                for v in &mut y[..m * no] {
                    *v = fast_tanh(*v);
                }
            }
        }
    }

    /// The VJP of [`DenseStack::forward`] on `m` rows whose activations are in `acts`: from
    /// the output cotangent in `g` (m x last width) to the input's (left in `g`, m x `sizes[0]`),
    /// *adding* dL/dp into `pbar` for the layers whose parameters end after
    /// `first_trainable` (frozen layers are only passed through). `g_next` is scratch as long
    /// as `g`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn backward(
        &self,
        p: &[f64],
        m: usize,
        acts: &[Vec<f64>],
        g: &mut Vec<f64>,
        g_next: &mut Vec<f64>,
        pbar: &mut [f64],
        first_trainable: usize,
    ) {
        for li in (0..self.offsets.len()).rev() {
            let (ni, no) = (self.sizes[li], self.sizes[li + 1]);
            let off = self.offsets[li];
            let x = &acts[li];
            if off + ni * no + no > first_trainable {
                // dW (no x ni) += G^T X; db += column sums of G.
                let pw = &mut pbar[off..off + ni * no];
                let (gt, xs) = (Shape::transposed(no, m), Shape::row_major(m, ni));
                gemm(g, gt, x, xs, true, pw, Shape::row_major(no, ni));
                let pb = &mut pbar[off + ni * no..off + ni * no + no];
                for gr in g[..m * no].chunks_exact(no) {
                    for (b, gv) in pb.iter_mut().zip(gr) {
                        *b += gv;
                    }
                }
            }
            // G_in (m x ni) = G W, then through the previous layer's tanh:
            // d tanh(u)/du = 1 - tanh(u)^2, with tanh(u) stored in acts[li].
            let w = &p[off..off + ni * no];
            let (gs, wm, gi) = (
                Shape::row_major(m, no),
                Shape::row_major(no, ni),
                Shape::row_major(m, ni),
            );
            gemm(g, gs, w, wm, false, g_next, gi);
            if li > 0 {
                for (gv, xv) in g_next[..m * ni].iter_mut().zip(&x[..m * ni]) {
                    *gv *= 1.0 - xv * xv;
                }
            }
            std::mem::swap(g, g_next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stack of layers 3 -> 4 -> 2 on one row by plain loops.
    fn naive(sizes: &[usize], p: &[f64], x: &[f64]) -> Vec<f64> {
        let (offsets, _) = DenseStack::packed_offsets(sizes, 0);
        let mut x = x.to_vec();
        for (li, &off) in offsets.iter().enumerate() {
            let (ni, no) = (sizes[li], sizes[li + 1]);
            let y: Vec<f64> = (0..no)
                .map(|o| {
                    let u = p[off + ni * no + o]
                        + (0..ni).map(|i| p[off + o * ni + i] * x[i]).sum::<f64>();
                    if li + 1 < offsets.len() { u.tanh() } else { u }
                })
                .collect();
            x = y;
        }
        x
    }

    #[test]
    fn forward_equals_plain_loops_and_backward_equals_central_differences() {
        let sizes = [3, 4, 2];
        let (offsets, total) = DenseStack::packed_offsets(&sizes, 0);
        assert_eq!(total, 3 * 4 + 4 + 4 * 2 + 2);
        let stack = DenseStack {
            sizes: &sizes,
            offsets: &offsets,
        };
        let p: Vec<f64> = (0..total).map(|i| (i as f64 * 0.7).sin() * 0.8).collect();
        let rows = [[0.3, -0.2, 0.9], [-1.0, 0.5, 0.1]];
        let mut acts: Vec<Vec<f64>> = sizes.iter().map(|&s| vec![0.0; 2 * s]).collect();
        acts[0] = rows.concat();
        stack.forward(&p, 2, &mut acts);
        for (r, x) in rows.iter().enumerate() {
            let want = naive(&sizes, &p, x);
            for o in 0..2 {
                assert!((acts[2][r * 2 + o] - want[o]).abs() < 1e-14);
            }
        }
        // L = sum_r a_r . y_r; its gradient in p (summed over rows) and in each row's input.
        let a = [0.7, -0.4, 0.2, 1.1];
        let (mut g, mut g_next) = (vec![0.0; 2 * 4], vec![0.0; 2 * 4]);
        g[..4].copy_from_slice(&a);
        let mut pbar = vec![0.0; total];
        stack.backward(&p, 2, &acts, &mut g, &mut g_next, &mut pbar, 0);
        let loss = |p: &[f64], rows: &[[f64; 3]; 2]| -> f64 {
            rows.iter()
                .enumerate()
                .map(|(r, x)| {
                    let y = naive(&sizes, p, x);
                    a[2 * r] * y[0] + a[2 * r + 1] * y[1]
                })
                .sum()
        };
        let h = 1e-6;
        for j in 0..total {
            let (mut pp, mut pm) = (p.clone(), p.clone());
            pp[j] += h;
            pm[j] -= h;
            let fd = (loss(&pp, &rows) - loss(&pm, &rows)) / (2.0 * h);
            assert!(
                (pbar[j] - fd).abs() < 1e-8,
                "parameter {j}: {} vs {fd}",
                pbar[j]
            );
        }
        for r in 0..2 {
            for i in 0..3 {
                let (mut xp, mut xm) = (rows, rows);
                xp[r][i] += h;
                xm[r][i] -= h;
                let fd = (loss(&p, &xp) - loss(&p, &xm)) / (2.0 * h);
                assert!((g[r * 3 + i] - fd).abs() < 1e-8, "row {r} input {i}");
            }
        }
        // Frozen first layer: only the last layer's gradient is added.
        let mut frozen = vec![0.0; total];
        let mut g2 = vec![0.0; 2 * 4];
        g2[..4].copy_from_slice(&a);
        stack.backward(&p, 2, &acts, &mut g2, &mut g_next, &mut frozen, offsets[1]);
        assert!(frozen[..offsets[1]].iter().all(|&v| v == 0.0));
        assert_eq!(frozen[offsets[1]..], pbar[offsets[1]..]);
        assert_eq!(g2[..6], g[..6]);
    }
}
