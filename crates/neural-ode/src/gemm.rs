//! Matrix products of contiguous slices through faer's small-matrix kernels: the products of
//! every batched network here ([`crate::DenseStack`], and downstream ones such as
//! iontransport-model's attention network).
//!
//! Why faer rather than the preferred nalgebra: in nalgebra 0.34.2, when any dimension is 5 or
//! less `gemm` on strided views falls back to `gemv`, whose `axcpy_uninit` loops over the
//! *slice length* of a strided column instead of its row count and indexes out of bounds
//! (`blas_uninit.rs`, lines 100-116). Our batches shrink to a few rows as trajectories finish,
//! so they hit that path: the release build aborted with "corrupted size vs. prev_size" and
//! the debug build with "slice::get_unchecked_mut requires that the index is within the slice"
//! (2026-11-26).
//!
//! Why faer rather than matrixmultiply (used until 2026-11-27): matrixmultiply packs both
//! operands into a heap buffer it allocates and frees on every call. At our sizes (16 x 74 x
//! 32 and smaller, ~160 products per Runge-Kutta step of a chunk) the allocation alone was
//! ~15 % of a training epoch in `perf` (glibc's `malloc_consolidate` on every large request),
//! the packing another ~11 %, the arithmetic ~12 %. faer (already in the tree through diffsol)
//! multiplies small matrices without packing or allocating, from safe slice views, with the
//! same run-time choice of AVX-512/AVX2 kernels. Plain loops are no alternative: the build
//! targets baseline x86-64 (no FMA, 2-wide), 5-8x slower than either library.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// How a matrix lies in its slice: both layouts are contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Element (i, j) at `i * cols + j`.
    RowMajor,
    /// Element (i, j) at `j * rows + i`: the transpose of a row-major `cols` x `rows` matrix.
    ColMajor,
}

/// A `rows` x `cols` matrix at the start of a slice.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Row count.
    pub rows: usize,
    /// Column count.
    pub cols: usize,
    order: Order,
}

impl Shape {
    /// Row-major `rows` x `cols`, contiguous.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            order: Order::RowMajor,
        }
    }

    /// The transpose of a contiguous row-major `cols` x `rows` matrix, viewed in place.
    pub fn transposed(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            order: Order::ColMajor,
        }
    }

    fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// The view of this shape over the start of `a` (panics if `a` is too short).
    fn view<'a>(&self, a: &'a [f64]) -> MatRef<'a, f64> {
        let a = &a[..self.len()];
        match self.order {
            Order::RowMajor => MatRef::from_row_major_slice(a, self.rows, self.cols),
            Order::ColMajor => MatRef::from_column_major_slice(a, self.rows, self.cols),
        }
    }

    fn view_mut<'a>(&self, a: &'a mut [f64]) -> MatMut<'a, f64> {
        let a = &mut a[..self.len()];
        match self.order {
            Order::RowMajor => MatMut::from_row_major_slice_mut(a, self.rows, self.cols),
            Order::ColMajor => MatMut::from_column_major_slice_mut(a, self.rows, self.cols),
        }
    }
}

/// C = A B, or C += A B when `accumulate`. Panics (a programming error, not bad input) if the
/// shapes do not chain or a slice is shorter than its shape.
///
/// ```
/// use neural_ode::gemm::{Shape, gemm};
/// // [1 2; 3 4] times the transpose of [1 0; 1 1] (stored row-major, viewed in place).
/// let (a, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 1.0, 1.0]);
/// let mut c = [0.0; 4];
/// let s = Shape::row_major(2, 2);
/// gemm(&a, s, &b, Shape::transposed(2, 2), false, &mut c, s);
/// assert_eq!(c, [1.0, 3.0, 3.0, 7.0]);
/// ```
pub fn gemm(
    a: &[f64],
    sa: Shape,
    b: &[f64],
    sb: Shape,
    accumulate: bool,
    c: &mut [f64],
    sc: Shape,
) {
    assert!(
        sa.cols == sb.rows && sa.rows == sc.rows && sb.cols == sc.cols,
        "gemm shapes {sa:?} x {sb:?} -> {sc:?}"
    );
    let acc = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    matmul(sc.view_mut(c), acc, sa.view(a), sb.view(b), 1.0, Par::Seq);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: Shape, i: usize, j: usize) -> usize {
        match s.order {
            Order::RowMajor => i * s.cols + j,
            Order::ColMajor => j * s.rows + i,
        }
    }

    fn naive(a: &[f64], sa: Shape, b: &[f64], sb: Shape) -> Vec<f64> {
        let mut c = vec![0.0; sa.rows * sb.cols];
        for i in 0..sa.rows {
            for j in 0..sb.cols {
                for l in 0..sa.cols {
                    c[i * sb.cols + j] += a[at(sa, i, l)] * b[at(sb, l, j)];
                }
            }
        }
        c
    }

    #[test]
    fn products_of_every_small_size_and_layout_match_the_triple_loop() {
        // Small sizes around the kernels' tiles, and the network's own (16 x 74 x 32, 128 x 8
        // x 8), in every layout, replacing and accumulating.
        let mut sizes = vec![(16, 74, 32), (128, 8, 8), (32, 16, 74)];
        for m in [1, 2, 5, 6, 9] {
            for k in [1, 3, 6, 8] {
                for n in [1, 4, 7, 32] {
                    sizes.push((m, k, n));
                }
            }
        }
        for (m, k, n) in sizes {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            for (sa, sb) in [
                (Shape::row_major(m, k), Shape::row_major(k, n)),
                (Shape::transposed(m, k), Shape::transposed(k, n)),
                (Shape::row_major(m, k), Shape::transposed(k, n)),
                (Shape::transposed(m, k), Shape::row_major(k, n)),
            ] {
                let want = naive(&a, sa, &b, sb);
                for (accumulate, before) in [(true, 1.5), (false, f64::NAN)] {
                    let mut c = vec![before; m * n];
                    gemm(&a, sa, &b, sb, accumulate, &mut c, Shape::row_major(m, n));
                    let extra = if accumulate { before } else { 0.0 };
                    for (x, w) in c.iter().zip(&want) {
                        let tol = 1e-12 * (1.0 + w.abs());
                        assert!((x - (w + extra)).abs() < tol, "{m}x{k}x{n} {sa:?} {sb:?}");
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn a_short_slice_is_refused() {
        let a = vec![1.0; 5];
        let mut c = vec![0.0; 4];
        gemm(
            &a,
            Shape::row_major(2, 3),
            &a,
            Shape::row_major(3, 2),
            false,
            &mut c,
            Shape::row_major(2, 2),
        );
    }

    #[test]
    #[should_panic(expected = "gemm shapes")]
    fn shapes_that_do_not_chain_are_refused() {
        let a = vec![1.0; 6];
        let mut c = vec![0.0; 4];
        gemm(
            &a,
            Shape::row_major(2, 3),
            &a,
            Shape::row_major(2, 3),
            false,
            &mut c,
            Shape::row_major(2, 2),
        );
    }
}
