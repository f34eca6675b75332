//! What single precision would buy the lock-step network (issue 29): the matrix products of
//! a chunk of 16 rows of the paper architecture and the layers' tanh, in f64 (what the crate
//! computes) and f32, one thread, each the fastest of 5 blocks.
//!
//! `cargo run --release -p neural-ode --example f32_kernels`
//!
//! The products go through faer (as [`neural_ode::gemm`] does), which picks its AVX-512 or
//! AVX2 kernels at run time; the tanh loops run inside neural-ode's SIMD dispatch, as the
//! network's do. The f32 tanh is the same formula with a shorter exponential polynomial
//! (degree 7 reaches f32's precision on the reduced range).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use neural_ode::{fast_tanh, simd_dispatch};
use std::hint::black_box;
use std::time::Instant;

/// Seconds per call of `f`, the fastest of 5 blocks of `reps` calls.
fn fastest(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// One row-major m x k by k x n product, `reps` times.
fn product<T: faer::traits::ComplexField + Copy>(
    m: usize,
    k: usize,
    n: usize,
    v: fn(f32) -> T,
) -> f64 {
    let a: Vec<T> = (0..m * k).map(|i| v((i % 7) as f32 * 0.1)).collect();
    let b: Vec<T> = (0..k * n).map(|i| v((i % 5) as f32 * 0.1)).collect();
    let mut c = vec![v(0.0); m * n];
    fastest(20_000, || {
        let (am, bm) = (
            MatRef::from_row_major_slice(&a, m, k),
            MatRef::from_row_major_slice(&b, k, n),
        );
        let cm = MatMut::from_row_major_slice_mut(&mut c, m, n);
        matmul(cm, Accum::Replace, am, bm, v(1.0), Par::Seq);
        black_box(&c);
    })
}

/// [`fast_tanh`] in f32: tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)), e^y = 2^k e^r with
/// |r| <= ln 2 / 2 and e^r by its Taylor polynomial to degree 7 (r^8/8! < 3e-9).
#[inline(always)]
fn fast_tanh_f32(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer k held in the low mantissa bits (as
    // `fast_exp` does in f64), with integer operations only, which vectorise.
    const ROUND: f32 = 12_582_912.0;
    const INV_FACTORIALS: [f32; 7] = [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let a = x.abs().min(9.0);
    let y = 2.0 * a;
    let t = y * std::f32::consts::LOG2_E + ROUND;
    let k = (t.to_bits() & 0x7f_ffff) as i32 - 0x40_0000;
    let kf = t - ROUND;
    let r = y - kf * std::f32::consts::LN_2;
    let mut p = 1.0 / 5040.0;
    for c in INV_FACTORIALS {
        p = p * r + c;
    }
    let e = p * f32::from_bits(((k + 127) as u32) << 23);
    (1.0 - 2.0 / (e + 1.0)).copysign(x)
}

#[inline(always)]
fn tanh_f64_simd(x: &mut [f64]) {
    for v in x {
        *v = fast_tanh(*v);
    }
}

#[inline(always)]
fn tanh_f32_simd(x: &mut [f32]) {
    for v in x {
        *v = fast_tanh_f32(*v);
    }
}

simd_dispatch! {
    fn tanh_f64<'a>(x: &'a mut [f64]) = tanh_f64_simd;
}

simd_dispatch! {
    fn tanh_f32<'a>(x: &'a mut [f32]) = tanh_f32_simd;
}

fn main() {
    println!("| product (rows x inner x columns) | f64 | f32 | f32 / f64 |");
    println!("|---|---|---|---|");
    // A chunk's layer products forward (16 x 74 x 32, 16 x 32 x 32, 16 x 32 x 8), a weight
    // gradient (74 x 16 x 32) and the attention's per-token maps (128 tokens x 8 x 8).
    for (m, k, n) in [
        (16, 74, 32),
        (16, 32, 32),
        (16, 32, 8),
        (74, 16, 32),
        (128, 8, 8),
    ] {
        let d = product::<f64>(m, k, n, f64::from);
        let s = product::<f32>(m, k, n, |x| x);
        println!(
            "| {m} x {k} x {n} | {:.2} µs | {:.2} µs | {:.2} |",
            d * 1e6,
            s * 1e6,
            s / d
        );
    }
    // A chunk's hidden activations: 16 rows x 32 units.
    let mut x64: Vec<f64> = (0..512).map(|i| i as f64 * 0.004 - 1.0).collect();
    let mut x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let worst = x64
        .iter()
        .map(|&v| (fast_tanh_f32(v as f32) as f64 - v.tanh()).abs())
        .fold(0.0, f64::max);
    let d = fastest(20_000, || {
        tanh_f64(&mut x64);
        black_box(&x64);
    });
    let s = fastest(20_000, || {
        tanh_f32(&mut x32);
        black_box(&x32);
    });
    println!(
        "| tanh of 512 values | {:.2} µs | {:.2} µs | {:.2} |",
        d * 1e6,
        s * 1e6,
        s / d
    );
    println!("\nf32 tanh: largest error against f64 tanh {worst:.1e}");
}
