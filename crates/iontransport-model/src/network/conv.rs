//! Convolutional bodies over the ion axis for the CNN and U-Net baselines: five 1-D
//! convolutions (kernel 3, zero padding) across the ion slots, tanh between them, none after
//! the last; the U-Net halves the length twice (average pooling) and doubles it back
//! (nearest-neighbour upsampling) with skip connections (Ronneberger et al. 2015, "U-Net:
//! convolutional networks for biomedical image segmentation", MICCAI, in 1-D).
//! Hand-written VJPs, checked against finite differences in the tests.

use neural_ode::fast_tanh as tanh;
use neural_ode::gemm::{Shape, gemm};
use serde::{Deserialize, Serialize};

/// Kernel width of every convolution.
pub const KERNEL: usize = 3;

/// What follows the token (embedding and attention) stage of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Body {
    /// Five fully connected tanh layers on the flattened tokens (the method, and the FNN).
    #[default]
    Mlp,
    /// The same five tanh layers applied to each token on its own (shared weights; input the
    /// token's attention output, its ratio h/h0, tau and the log scale; output its g_j): the
    /// parameters do not depend on the number of ions, so with descriptor tokens a model
    /// takes any ion set (see [`crate::network::NetworkConfig::descriptors`]).
    Tokenwise,
    /// Five 1-D convolutions over the ion slots, `channels` wide (the CNN baseline).
    Cnn {
        /// Hidden channels.
        channels: usize,
    },
    /// A two-level 1-D U-Net over the ion slots: `channels`, 2 `channels` (bottleneck),
    /// then back up with skip connections (the U-Net baseline).
    UNet {
        /// Channels of the first level.
        channels: usize,
    },
}

/// Where a convolution's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvInput {
    /// The per-ion features of the token stage.
    Features,
    /// The output of an earlier layer, unchanged.
    Prev(usize),
    /// The output of an earlier layer, average-pooled by 2.
    Pool(usize),
    /// The output of the first layer upsampled by 2, channels followed by the second's.
    UpCat(usize, usize),
}

/// One convolution of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvLayer {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Sequence length (ion slots at this level).
    pub len: usize,
    /// Input source.
    pub input: ConvInput,
    /// Offset of the weights (cout x KERNEL x cin, then cout biases) in the parameters.
    pub off: usize,
}

impl ConvLayer {
    /// Parameter count.
    pub fn size(&self) -> usize {
        self.cout * KERNEL * self.cin + self.cout
    }
}

/// The layers of a convolutional body for `ions` slots and `cin` features per slot, with
/// parameters from `off`; empty for [`Body::Mlp`].
pub fn plan(body: Body, ions: usize, cin: usize, mut off: usize) -> Vec<ConvLayer> {
    let mut push = |v: &mut Vec<ConvLayer>, cin, cout, len, input| {
        let l = ConvLayer {
            cin,
            cout,
            len,
            input,
            off,
        };
        off += l.size();
        v.push(l);
    };
    let mut v = Vec::new();
    match body {
        Body::Mlp | Body::Tokenwise => {}
        Body::Cnn { channels: c } => {
            push(&mut v, cin, c, ions, ConvInput::Features);
            for k in 0..3 {
                push(&mut v, c, c, ions, ConvInput::Prev(k));
            }
            push(&mut v, c, 1, ions, ConvInput::Prev(3));
        }
        Body::UNet { channels: c } => {
            let len = padded_len(body, ions);
            push(&mut v, cin, c, len, ConvInput::Features);
            push(&mut v, c, 2 * c, len / 2, ConvInput::Pool(0));
            push(&mut v, 2 * c, 2 * c, len / 4, ConvInput::Pool(1));
            push(&mut v, 4 * c, c, len / 2, ConvInput::UpCat(2, 1));
            push(&mut v, 2 * c, 1, len, ConvInput::UpCat(3, 0));
        }
    }
    v
}

/// Slots the body works on: the U-Net pads the ion axis with zeros to a multiple of 4.
pub fn padded_len(body: Body, ions: usize) -> usize {
    match body {
        Body::UNet { .. } => ions.div_ceil(4) * 4,
        _ => ions,
    }
}

/// Builds layer `k`'s input from the outputs `ys` of earlier layers, for each of `rows`
/// samples (each sample's block follows the previous one's).
#[inline(always)]
fn gather(layers: &[ConvLayer], k: usize, rows: usize, ys: &[Vec<f64>], x: &mut [f64]) {
    let l = &layers[k];
    let xlen = l.len * l.cin;
    match l.input {
        ConvInput::Features => {}
        ConvInput::Prev(s) => x[..rows * xlen].copy_from_slice(&ys[s][..rows * xlen]),
        ConvInput::Pool(s) => {
            let (c, ylen) = (l.cin, layers[s].len * layers[s].cout);
            for r in 0..rows {
                let (x, y) = (&mut x[r * xlen..], &ys[s][r * ylen..]);
                for i in 0..l.len {
                    for ch in 0..c {
                        x[i * c + ch] = 0.5 * (y[2 * i * c + ch] + y[(2 * i + 1) * c + ch]);
                    }
                }
            }
        }
        ConvInput::UpCat(a, b) => {
            let (ca, cb) = (layers[a].cout, layers[b].cout);
            let (alen, blen) = (layers[a].len * ca, layers[b].len * cb);
            for r in 0..rows {
                let (ya, yb) = (&ys[a][r * alen..], &ys[b][r * blen..]);
                for i in 0..l.len {
                    let row = &mut x[r * xlen + i * l.cin..r * xlen + (i + 1) * l.cin];
                    row[..ca].copy_from_slice(&ya[(i / 2) * ca..(i / 2 + 1) * ca]);
                    row[ca..].copy_from_slice(&yb[i * cb..(i + 1) * cb]);
                }
            }
        }
    }
}

/// Rebuilds every layer's input but the first from the layer outputs `ys` (after a record
/// restored them), for `rows` samples.
pub fn gather_inputs(layers: &[ConvLayer], rows: usize, xs: &mut [Vec<f64>], ys: &[Vec<f64>]) {
    for k in 1..layers.len() {
        gather(layers, k, rows, ys, &mut xs[k]);
    }
}

/// Lays layer `l`'s input `x` (len x cin per sample, position-major) out as the rows of a
/// product: row i of a sample is [x_{i-1}, x_i, x_{i+1}] (zeros beyond the sample's ends),
/// so that the convolution of every sample is one matrix product with the weights
/// (cout x KERNEL cin, as stored).
#[inline(always)]
fn im2col(l: &ConvLayer, rows: usize, x: &[f64], col: &mut [f64]) {
    let (c, wide) = (l.cin, KERNEL * l.cin);
    for r in 0..rows {
        let x = &x[r * l.len * c..(r + 1) * l.len * c];
        for i in 0..l.len {
            let at = (r * l.len + i) * wide;
            let row = &mut col[at..at + wide];
            for t in 0..KERNEL {
                let dst = &mut row[t * c..(t + 1) * c];
                // Input position i + t - 1; zero padding outside.
                match (i + t).checked_sub(1).filter(|&s| s < l.len) {
                    Some(src) => dst.copy_from_slice(&x[src * c..(src + 1) * c]),
                    None => dst.fill(0.0),
                }
            }
        }
    }
}

/// Scratch length per sample for [`forward`] and [`backward`]'s unfolded inputs: the
/// widest layer's len x KERNEL cin.
pub fn col_len(layers: &[ConvLayer]) -> usize {
    layers
        .iter()
        .map(|l| l.len * KERNEL * l.cin)
        .max()
        .unwrap_or(0)
}

/// Runs the body on `rows` samples: `xs[0]` holds their features (per sample len x cin,
/// position-major, samples one after another); fills the inputs `xs` and outputs `ys` of
/// every layer (tanh after all but the last). `col` is scratch of `rows` [`col_len`].
///
/// Each layer is one matrix product (rows len x KERNEL cin) (KERNEL cin x cout) through
/// faer: the per-output dot products of length cin it replaces were ~55 % of a CNN
/// baseline's training profile (97 us per training point against 18 for the FNN,
/// 2026-11-27).
#[inline(always)]
pub fn forward(
    layers: &[ConvLayer],
    p: &[f64],
    rows: usize,
    xs: &mut [Vec<f64>],
    ys: &mut [Vec<f64>],
    col: &mut [f64],
) {
    let last = layers.len() - 1;
    for (k, l) in layers.iter().enumerate() {
        gather(layers, k, rows, ys, &mut xs[k]);
        im2col(l, rows, &xs[k], col);
        let (wide, m) = (KERNEL * l.cin, rows * l.len);
        let (w, b) = p[l.off..l.off + l.size()].split_at(l.cout * wide);
        let y = &mut ys[k];
        gemm(
            col,
            Shape::row_major(m, wide),
            w,
            Shape::transposed(wide, l.cout),
            false,
            y,
            Shape::row_major(m, l.cout),
        );
        for yr in y[..m * l.cout].chunks_exact_mut(l.cout) {
            for (v, &bo) in yr.iter_mut().zip(b) {
                *v = if k < last { tanh(*v + bo) } else { *v + bo };
            }
        }
    }
}

/// Backpropagates the cotangent of the last layer's output (in `gys[last]`) after a
/// [`forward`] of `rows` samples: adds parameter gradients (summed over the samples) into
/// `pbar` (only for layers ending after `first_trainable`), and writes the cotangent of the
/// features into `gx0`. `gys` and `gx` are scratch (the same shapes as the outputs and the
/// widest input); `col` and `gcol` are scratch of `rows` [`col_len`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn backward(
    layers: &[ConvLayer],
    p: &[f64],
    rows: usize,
    xs: &[Vec<f64>],
    ys: &[Vec<f64>],
    gys: &mut [Vec<f64>],
    gx: &mut [f64],
    col: &mut [f64],
    gcol: &mut [f64],
    pbar: &mut [f64],
    first_trainable: usize,
    gx0: &mut [f64],
) {
    let last = layers.len() - 1;
    for (g, l) in gys[..last].iter_mut().zip(layers) {
        g[..rows * l.len * l.cout].fill(0.0);
    }
    for k in (0..layers.len()).rev() {
        let l = &layers[k];
        let (wide, m) = (KERNEL * l.cin, rows * l.len);
        let wlen = l.cout * wide;
        if k < last {
            for (g, &y) in gys[k][..m * l.cout].iter_mut().zip(ys[k].iter()) {
                *g *= 1.0 - y * y;
            }
        }
        let g = &gys[k];
        if l.off + l.size() > first_trainable {
            // dW (cout x KERNEL cin) += G^T col; db += column sums of G.
            im2col(l, rows, &xs[k], col);
            gemm(
                g,
                Shape::transposed(l.cout, m),
                col,
                Shape::row_major(m, wide),
                true,
                &mut pbar[l.off..l.off + wlen],
                Shape::row_major(l.cout, wide),
            );
            let pb = &mut pbar[l.off + wlen..l.off + l.size()];
            for gr in g[..m * l.cout].chunks_exact(l.cout) {
                for (b, gv) in pb.iter_mut().zip(gr) {
                    *b += gv;
                }
            }
        }
        // The unfolded input's cotangent G W (rows len x KERNEL cin), folded back onto the
        // positions it was copied from.
        gemm(
            g,
            Shape::row_major(m, l.cout),
            &p[l.off..l.off + wlen],
            Shape::row_major(l.cout, wide),
            false,
            gcol,
            Shape::row_major(m, wide),
        );
        let xlen = l.len * l.cin;
        let gxk = &mut gx[..rows * xlen];
        gxk.fill(0.0);
        for r in 0..rows {
            for i in 0..l.len {
                let at = (r * l.len + i) * wide;
                for t in 0..KERNEL {
                    let Some(src) = (i + t).checked_sub(1).filter(|&s| s < l.len) else {
                        continue;
                    };
                    let from = &gcol[at + t * l.cin..at + (t + 1) * l.cin];
                    let to = r * xlen + src * l.cin;
                    for (a, &b) in gxk[to..to + l.cin].iter_mut().zip(from) {
                        *a += b;
                    }
                }
            }
        }
        // Scatter the input cotangent to where the input came from.
        match l.input {
            ConvInput::Features => gx0[..gxk.len()].copy_from_slice(gxk),
            ConvInput::Prev(s) => {
                for (a, &b) in gys[s].iter_mut().zip(gxk.iter()) {
                    *a += b;
                }
            }
            ConvInput::Pool(s) => {
                let (c, ylen) = (l.cin, layers[s].len * layers[s].cout);
                for r in 0..rows {
                    let (gxr, gy) = (&gxk[r * xlen..], &mut gys[s][r * ylen..]);
                    for i in 0..l.len {
                        for ch in 0..c {
                            let g = 0.5 * gxr[i * c + ch];
                            gy[2 * i * c + ch] += g;
                            gy[(2 * i + 1) * c + ch] += g;
                        }
                    }
                }
            }
            ConvInput::UpCat(a, b) => {
                let (ca, cb) = (layers[a].cout, layers[b].cout);
                let (alen, blen) = (layers[a].len * ca, layers[b].len * cb);
                for r in 0..rows {
                    for i in 0..l.len {
                        let row = &gxk[r * xlen + i * l.cin..r * xlen + (i + 1) * l.cin];
                        for ch in 0..ca {
                            gys[a][r * alen + (i / 2) * ca + ch] += row[ch];
                        }
                        for ch in 0..cb {
                            gys[b][r * blen + i * cb + ch] += row[ca + ch];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neural_ode::dot;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    fn run(layers: &[ConvLayer], p: &[f64], feat: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut xs: Vec<Vec<f64>> = layers.iter().map(|l| vec![0.0; l.len * l.cin]).collect();
        let mut ys: Vec<Vec<f64>> = layers.iter().map(|l| vec![0.0; l.len * l.cout]).collect();
        xs[0].copy_from_slice(feat);
        let mut col = vec![0.0; col_len(layers)];
        forward(layers, p, 1, &mut xs, &mut ys, &mut col);
        (xs, ys)
    }

    /// L = w . output; its gradient by the VJP against central differences.
    fn check(body: Body, ions: usize) {
        let cin = 5;
        let layers = plan(body, ions, cin, 0);
        let last = layers.last().unwrap();
        let total = last.off + last.size();
        let mut s = 7;
        let p: Vec<f64> = (0..total).map(|_| lcg(&mut s)).collect();
        let len0 = layers[0].len;
        let feat: Vec<f64> = (0..len0 * cin).map(|_| lcg(&mut s)).collect();
        let wout: Vec<f64> = (0..last.len).map(|_| lcg(&mut s)).collect();
        let loss = |p: &[f64], f: &[f64]| {
            let (_, ys) = run(&layers, p, f);
            dot(&ys[layers.len() - 1], &wout)
        };
        let (xs, ys) = run(&layers, &p, &feat);
        let mut gys: Vec<Vec<f64>> = ys.iter().map(|y| vec![0.0; y.len()]).collect();
        *gys.last_mut().unwrap() = wout.clone();
        let widest = layers.iter().map(|l| l.len * l.cin).max().unwrap();
        let mut gx = vec![0.0; widest];
        let mut pbar = vec![0.0; total];
        let mut gx0 = vec![0.0; len0 * cin];
        let (mut col, mut gcol) = (vec![0.0; col_len(&layers)], vec![0.0; col_len(&layers)]);
        backward(
            &layers, &p, 1, &xs, &ys, &mut gys, &mut gx, &mut col, &mut gcol, &mut pbar, 0,
            &mut gx0,
        );
        let eps = 1e-6;
        let mut worst = 0.0f64;
        for i in (0..total).step_by(7) {
            let (mut a, mut b) = (p.clone(), p.clone());
            a[i] += eps;
            b[i] -= eps;
            let fd = (loss(&a, &feat) - loss(&b, &feat)) / (2.0 * eps);
            worst = worst.max((fd - pbar[i]).abs());
        }
        for i in 0..feat.len() {
            let (mut a, mut b) = (feat.clone(), feat.clone());
            a[i] += eps;
            b[i] -= eps;
            let fd = (loss(&p, &a) - loss(&p, &b)) / (2.0 * eps);
            worst = worst.max((fd - gx0[i]).abs());
        }
        assert!(worst < 1e-8, "{body:?}: VJP vs FD {worst:e}");
    }

    /// Several samples in one call give each sample's outputs and feature cotangents and the
    /// sum of their parameter gradients, as one call per sample does.
    fn rows_match_one_at_a_time(body: Body, ions: usize) {
        let (cin, rows) = (5, 3);
        let layers = plan(body, ions, cin, 0);
        let last = layers.last().unwrap();
        let total = last.off + last.size();
        let mut s = 11;
        let p: Vec<f64> = (0..total).map(|_| lcg(&mut s)).collect();
        let len0 = layers[0].len;
        let feats: Vec<f64> = (0..rows * len0 * cin).map(|_| lcg(&mut s)).collect();
        let wouts: Vec<f64> = (0..rows * last.len).map(|_| lcg(&mut s)).collect();
        let buffers = |rows: usize| {
            let xs: Vec<Vec<f64>> = layers
                .iter()
                .map(|l| vec![0.0; rows * l.len * l.cin])
                .collect();
            let ys: Vec<Vec<f64>> = layers
                .iter()
                .map(|l| vec![0.0; rows * l.len * l.cout])
                .collect();
            (xs, ys)
        };
        // All rows at once.
        let (mut xs, mut ys) = buffers(rows);
        xs[0].copy_from_slice(&feats);
        let widest = layers.iter().map(|l| l.len * l.cin).max().unwrap();
        let (mut col, mut gcol) = (
            vec![0.0; rows * col_len(&layers)],
            vec![0.0; rows * col_len(&layers)],
        );
        forward(&layers, &p, rows, &mut xs, &mut ys, &mut col);
        let mut gys: Vec<Vec<f64>> = ys.iter().map(|y| vec![0.0; y.len()]).collect();
        *gys.last_mut().unwrap() = wouts.clone();
        let (mut gx, mut pbar, mut gx0) = (
            vec![0.0; rows * widest],
            vec![0.0; total],
            vec![0.0; rows * len0 * cin],
        );
        backward(
            &layers, &p, rows, &xs, &ys, &mut gys, &mut gx, &mut col, &mut gcol, &mut pbar, 0,
            &mut gx0,
        );
        // One at a time.
        let mut want_pbar = vec![0.0; total];
        for r in 0..rows {
            let (mut x1, mut y1) = buffers(1);
            x1[0].copy_from_slice(&feats[r * len0 * cin..(r + 1) * len0 * cin]);
            forward(&layers, &p, 1, &mut x1, &mut y1, &mut col);
            let out = y1.last().unwrap();
            let all = &ys.last().unwrap()[r * last.len..(r + 1) * last.len];
            assert!(out.iter().zip(all).all(|(a, b)| (a - b).abs() < 1e-13));
            let mut g1: Vec<Vec<f64>> = y1.iter().map(|y| vec![0.0; y.len()]).collect();
            *g1.last_mut().unwrap() = wouts[r * last.len..(r + 1) * last.len].to_vec();
            let mut gx01 = vec![0.0; len0 * cin];
            backward(
                &layers,
                &p,
                1,
                &x1,
                &y1,
                &mut g1,
                &mut gx,
                &mut col,
                &mut gcol,
                &mut want_pbar,
                0,
                &mut gx01,
            );
            let got = &gx0[r * len0 * cin..(r + 1) * len0 * cin];
            assert!(gx01.iter().zip(got).all(|(a, b)| (a - b).abs() < 1e-13));
        }
        let worst = pbar
            .iter()
            .zip(&want_pbar)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-12, "{body:?}: summed gradient off by {worst:e}");
    }

    #[test]
    fn many_samples_at_once_match_one_at_a_time() {
        rows_match_one_at_a_time(Body::Cnn { channels: 4 }, 8);
        rows_match_one_at_a_time(Body::UNet { channels: 3 }, 7);
    }

    #[test]
    fn cnn_vjp_matches_finite_differences() {
        check(Body::Cnn { channels: 4 }, 8);
        check(Body::Cnn { channels: 3 }, 5);
    }

    #[test]
    fn unet_vjp_matches_finite_differences() {
        check(Body::UNet { channels: 3 }, 8);
        check(Body::UNet { channels: 2 }, 12);
    }

    #[test]
    fn unet_shapes_and_padding() {
        let l = plan(Body::UNet { channels: 13 }, 7, 11, 100);
        assert_eq!(padded_len(Body::UNet { channels: 13 }, 7), 8);
        assert_eq!(
            l.iter().map(|l| (l.len, l.cin, l.cout)).collect::<Vec<_>>(),
            vec![
                (8, 11, 13),
                (4, 13, 26),
                (2, 26, 26),
                (4, 52, 13),
                (8, 26, 1)
            ]
        );
        assert_eq!(l[1].off, 100 + l[0].size());
        // 30 c^2 + 3 (cin + 4) c + 1 with c = 13, cin = 11.
        let total: usize = l.iter().map(ConvLayer::size).sum();
        assert_eq!(total, 30 * 169 + 3 * 15 * 13 + 1);
    }
}
