//! Coefficients of the Tsitouras 5(4) Runge-Kutta pair and its continuous extension.
//!
//! Source: Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column
//! simplifying assumption", Computers & Mathematics with Applications 62 (2011) 770-775,
//! Table 1 (nodes, matrix, weights), and the dense-output polynomials of Section 3. The
//! decimal values are those of the reference implementation in OrdinaryDiffEq.jl
//! (`tsit_tableaus.jl`, `Tsit5ConstantCache`/`Tsit5Interp`), which evaluates the paper's
//! rational expressions in double precision. Consistency checks (row sums equal nodes, the
//! error weights sum to zero, the interpolant at theta = 1 equals the weights) are unit tests.

/// Nodes c_i (c_1 = 0, c_7 = 1; stage 7 is the FSAL stage at the new point).
pub const C: [f64; 7] = [0.0, 0.161, 0.327, 0.9, 0.980_025_540_904_509_7, 1.0, 1.0];

/// Strictly lower-triangular Runge-Kutta matrix, row i holds a_{i+1, 1..=i}.
pub const A: [[f64; 6]; 7] = [
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.161, 0.0, 0.0, 0.0, 0.0, 0.0],
    [
        -0.008_480_655_492_356_989,
        0.335_480_655_492_357,
        0.0,
        0.0,
        0.0,
        0.0,
    ],
    [
        2.897_153_057_105_493_5,
        -6.359_448_489_975_075,
        4.362_295_432_869_581_5,
        0.0,
        0.0,
        0.0,
    ],
    [
        5.325_864_828_439_257,
        -11.748_883_564_062_828,
        7.495_539_342_889_836_5,
        -0.092_495_066_361_755_25,
        0.0,
        0.0,
    ],
    [
        5.861_455_442_946_42,
        -12.920_969_317_847_11,
        8.159_367_898_576_159,
        -0.071_584_973_281_401,
        -0.028_269_050_394_068_383,
        0.0,
    ],
    [
        0.096_460_766_818_065_23,
        0.01,
        0.479_889_650_414_499_6,
        1.379_008_574_103_742,
        -3.290_069_515_436_081,
        2.324_710_524_099_774,
    ],
];

/// Fifth-order weights b_i (= the last row of A; b_7 = 0, which makes the pair FSAL).
pub const B: [f64; 7] = {
    let last = A[6];
    [last[0], last[1], last[2], last[3], last[4], last[5], 0.0]
};

/// Error weights b_i - bhat_i (fifth minus embedded fourth order).
pub const E: [f64; 7] = [
    -0.001_780_011_052_225_777,
    -0.000_816_434_459_656_746_9,
    0.007_880_878_010_261_995,
    -0.144_711_007_173_262_9,
    0.582_357_165_452_555_2,
    -0.458_082_105_929_186_97,
    1.0 / 66.0,
];

/// Continuous extension: `b_i(theta) = sum_{m=1..4} R[i][m-1] theta^m`, so that
/// y(t + theta h) = y + h sum_i b_i(theta) k_i is fourth-order accurate inside the step.
pub const R: [[f64; 4]; 7] = [
    [
        1.0,
        -2.763_706_197_274_826,
        2.913_255_461_821_912_6,
        -1.053_088_497_729_021_6,
    ],
    [0.0, 0.131_7, -0.223_4, 0.101_7],
    [
        0.0,
        3.930_296_236_894_751_6,
        -5.941_033_872_131_505,
        2.490_627_285_651_253,
    ],
    [
        0.0,
        -12.411_077_166_933_676,
        30.338_188_630_282_32,
        -16.548_102_889_244_902,
    ],
    [
        0.0,
        37.509_313_416_511_04,
        -88.178_904_894_766_4,
        47.379_521_962_819_28,
    ],
    [
        0.0,
        -27.896_526_289_197_286,
        65.091_894_674_793_66,
        -34.870_657_861_496_61,
    ],
    [0.0, 1.5, -4.0, 2.5],
];

/// The interpolation weights b_i(theta) for theta in [0, 1].
#[inline]
pub fn dense_weights(theta: f64) -> [f64; 7] {
    let mut w = [0.0; 7];
    for (wi, r) in w.iter_mut().zip(R.iter()) {
        *wi = theta * (r[0] + theta * (r[1] + theta * (r[2] + theta * r[3])));
    }
    w
}

/// d b_i(theta) / d theta, so that d y(t + theta h)/dt = sum_i b_i'(theta) k_i.
#[inline]
pub fn dense_weight_derivatives(theta: f64) -> [f64; 7] {
    let mut w = [0.0; 7];
    for (wi, r) in w.iter_mut().zip(R.iter()) {
        *wi = r[0] + theta * (2.0 * r[1] + theta * (3.0 * r[2] + theta * 4.0 * r[3]));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sums_equal_nodes() {
        for i in 0..7 {
            let s: f64 = A[i].iter().sum();
            assert!((s - C[i]).abs() < 1e-14, "row {i}: {s} vs {}", C[i]);
        }
    }

    #[test]
    fn weights_are_consistent() {
        assert!((B.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert!(E.iter().sum::<f64>().abs() < 1e-14);
        // Order conditions up to order 3 for the fifth-order weights: sum b c = 1/2,
        // sum b c^2 = 1/3, sum b c^3 = 1/4, sum b c^4 = 1/5.
        for (q, want) in [(1, 0.5), (2, 1.0 / 3.0), (3, 0.25), (4, 0.2)] {
            let s: f64 = B.iter().zip(C).map(|(b, c)| b * c.powi(q)).sum();
            assert!((s - want).abs() < 1e-13, "q={q}: {s}");
        }
        assert_eq!(A[6][..], B[..6]);
    }

    #[test]
    fn interpolant_matches_weights_at_the_ends() {
        let w1 = dense_weights(1.0);
        for i in 0..7 {
            assert!((w1[i] - B[i]).abs() < 1e-13, "b_{i}(1) = {}", w1[i]);
        }
        assert_eq!(dense_weights(0.0), [0.0; 7]);
        // The derivative of the interpolant at theta = 0 is k_1 = f(t, y).
        assert_eq!(
            dense_weight_derivatives(0.0),
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        let h = 1e-6;
        let (wp, wm, d) = (
            dense_weights(0.4 + h),
            dense_weights(0.4 - h),
            dense_weight_derivatives(0.4),
        );
        for i in 0..7 {
            assert!(((wp[i] - wm[i]) / (2.0 * h) - d[i]).abs() < 1e-8);
        }
        // b_i(theta) sums to theta (exact for y' = const).
        for th in [0.1, 0.37, 0.8] {
            let s: f64 = dense_weights(th).iter().sum();
            assert!((s - th).abs() < 1e-13);
        }
    }
}
