//! A bounds-checked matrix product over matrixmultiply's SIMD kernels.
//!
//! Why not nalgebra's `gemm` on strided views (the preferred crate, which calls the same
//! kernels for large enough matrices): in nalgebra 0.34.2, when any dimension is 5 or less it
//! falls back to `gemv`, whose `axcpy_uninit` loops over the *slice length* of a strided
//! column instead of its row count and indexes out of bounds (`blas_uninit.rs`, lines
//! 100-116). Our batches shrink to a few rows as trajectories finish, so they hit that path:
//! the release build aborted with "corrupted size vs. prev_size" and the debug build with
//! "slice::get_unchecked_mut requires that the index is within the slice" (2026-11-26).
//! matrixmultiply itself handles every size and stride; this wrapper checks the bounds that
//! its raw-pointer interface cannot. Plain loops for the thin products (k or n = 8, the
//! attention's projections) were tried: 5-8x slower than matrixmultiply even at 128 x 8 x 8
//! (3.2 against 0.66 us; the build targets baseline x86-64, matrixmultiply picks AVX-512
//! at run time), so every product goes through it.
#![allow(unsafe_code)]

/// A matrix in a slice: `rows` x `cols`, element (i, j) at `i * stride.0 + j * stride.1`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub rows: usize,
    pub cols: usize,
    pub stride: (usize, usize),
}

impl Shape {
    /// Row-major `rows` x `cols`, contiguous.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            stride: (cols, 1),
        }
    }

    /// The transpose of a contiguous row-major `cols` x `rows` matrix, viewed in place.
    pub fn transposed(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            stride: (1, rows),
        }
    }

    /// One past the largest index an element can have (0 when empty).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.stride.0 + (self.cols - 1) * self.stride.1 + 1
        }
    }
}

/// C = A B + beta C. Panics (a programming error, not bad input) if the shapes do not chain,
/// if a slice is shorter than its shape needs, or if C's strides would make two of its
/// elements share memory.
pub(crate) fn gemm(
    a: &[f64],
    sa: Shape,
    b: &[f64],
    sb: Shape,
    beta: f64,
    c: &mut [f64],
    sc: Shape,
) {
    assert!(
        sa.cols == sb.rows && sa.rows == sc.rows && sb.cols == sc.cols,
        "gemm shapes {sa:?} x {sb:?} -> {sc:?}"
    );
    assert!(a.len() >= sa.extent() && b.len() >= sb.extent() && c.len() >= sc.extent());
    // Distinct elements of C must be distinct memory: one stride must step over the whole
    // extent of the other.
    let (r, k) = sc.stride;
    assert!(
        sc.rows <= 1 || sc.cols <= 1 || r > (sc.cols - 1) * k || k > (sc.rows - 1) * r,
        "gemm output strides overlap: {sc:?}"
    );
    if sc.rows == 0 || sc.cols == 0 {
        return;
    }
    if sa.cols == 0 {
        // An empty sum: matrixmultiply would only scale C; do it here.
        for i in 0..sc.rows {
            for j in 0..sc.cols {
                c[i * r + j * k] *= beta;
            }
        }
        return;
    }
    // SAFETY: every element the kernel reads (A, B) or writes (C) lies inside its slice (the
    // extents were checked above); C is borrowed mutably, so it cannot alias A or B, and its
    // strides were checked not to overlap; the strides fit in isize because the extents do.
    unsafe {
        matrixmultiply::dgemm(
            sa.rows,
            sa.cols,
            sb.cols,
            1.0,
            a.as_ptr(),
            sa.stride.0 as isize,
            sa.stride.1 as isize,
            b.as_ptr(),
            sb.stride.0 as isize,
            sb.stride.1 as isize,
            beta,
            c.as_mut_ptr(),
            sc.stride.0 as isize,
            sc.stride.1 as isize,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], sa: Shape, b: &[f64], sb: Shape) -> Vec<f64> {
        let mut c = vec![0.0; sa.rows * sb.cols];
        for i in 0..sa.rows {
            for j in 0..sb.cols {
                for l in 0..sa.cols {
                    c[i * sb.cols + j] +=
                        a[i * sa.stride.0 + l * sa.stride.1] * b[l * sb.stride.0 + j * sb.stride.1];
                }
            }
        }
        c
    }

    #[test]
    fn products_of_every_small_size_and_layout_match_the_triple_loop() {
        // Sizes around nalgebra's broken fallback threshold (5) and the kernels' tiles.
        for m in [1, 2, 5, 6, 9] {
            for k in [1, 3, 6, 8] {
                for n in [1, 4, 7, 32] {
                    let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
                    let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
                    for (sa, sb) in [
                        (Shape::row_major(m, k), Shape::row_major(k, n)),
                        (Shape::transposed(m, k), Shape::transposed(k, n)),
                        (Shape::row_major(m, k), Shape::transposed(k, n)),
                        (Shape::transposed(m, k), Shape::row_major(k, n)),
                    ] {
                        let want = naive(&a, sa, &b, sb);
                        let mut c = vec![1.0; m * n];
                        gemm(&a, sa, &b, sb, 2.0, &mut c, Shape::row_major(m, n));
                        for (x, w) in c.iter().zip(&want) {
                            assert!((x - (w + 2.0)).abs() < 1e-12, "{m}x{k}x{n}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "assertion failed")]
    fn a_short_slice_is_refused() {
        let a = vec![1.0; 5];
        let mut c = vec![0.0; 4];
        gemm(
            &a,
            Shape::row_major(2, 3),
            &a,
            Shape::row_major(3, 2),
            0.0,
            &mut c,
            Shape::row_major(2, 2),
        );
    }
}
