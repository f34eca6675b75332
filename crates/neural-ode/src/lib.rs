//! # neural-ode
//!
//! Adaptive Tsitouras 5(4) integration with dense output and adjoint gradients, for neural
//! ordinary differential equations and any other parametrised ODE on the CPU. It knows
//! nothing of any application.
//!
//! * [`solve`]: dy/dt = f(t, y, theta) from (t0, y0), states at many output times in one
//!   adaptive solve (forwards or backwards in time), FSAL, embedded error estimate,
//!   rtol/atol (scalar or per component), PI step control, automatic initial step, limits on
//!   steps and step size, statistics, dense output from Tsit5's own interpolant.
//! * [`VectorField`]: the contract for f: evaluation and vector-Jacobian products.
//!   [`FnField`] wraps a closure (finite-difference VJPs, for prototyping), [`AnalyticField`]
//!   a closure with its VJP, [`TanhMlp`] is a ready small network.
//! * [`adjoint`]: the continuous adjoint for losses on the states at the output times, with
//!   gradients for theta, y0 and the times; [`AdjointMethod::Backsolve`] (least memory) or
//!   [`AdjointMethod::Interpolating`] (robust). [`forward_sensitivities`] is the independent
//!   reference the tests check the adjoint against.
//! * [`solve_batch`] and [`gradient_batch`]: many initial values in parallel (rayon).
//! * [`solve_lockstep`] and [`gradient_lockstep`]: many problems, each with its own steps,
//!   whose stage evaluations and VJPs go through a [`BatchField`] together (matrix-matrix
//!   products for a network); [`Stacked`] integrates a batch as one system instead.
//!
//! ## Which adjoint?
//!
//! Backsolve integrates y backwards with the adjoint: memory does not grow with the number
//! of steps, but where the forward dynamics contract (dissipative systems, stiff decay), the
//! backward ones expand and y drifts away from the forward trajectory; the gradient is then
//! wrong. Interpolating reads y from the stored forward steps and is accurate whatever the
//! stability; its memory is 8 n floats per forward step. Use Interpolating unless memory is
//! short and the dynamics are close to conservative. The test
//! `backsolve_drifts_on_a_contracting_problem` measures the difference.
//!
//! ```
//! use neural_ode::{adjoint, solve, AdjointOptions, SolverOptions, TanhMlp, VectorField};
//! let f = TanhMlp::new(2, &[16, 16], false);
//! let p = f.init_params(7);
//! let mut opts = SolverOptions::with_tolerances(1e-8, 1e-8);
//! opts.dense = true;
//! let sol = solve(&f, &p, 0.0, &[1.0, 0.0], &[0.5, 1.0], &opts).unwrap();
//! // L = 1/2 |y(1)|^2  ->  dL/dy(1) = y(1); nothing at t = 0.5.
//! let mut g = vec![0.0; 4];
//! g[2..].copy_from_slice(sol.state(1));
//! let grads = adjoint(&f, &p, &sol, &g, &AdjointOptions::default()).unwrap();
//! assert_eq!(grads.p.len(), f.num_params());
//! ```

/// Defines `fn $name` that calls `$f` (an `#[inline(always)]` function of the same
/// arguments) inside pulp's SIMD dispatch, so its loops are compiled for AVX-512, or AVX2 and
/// FMA, chosen at run time (the build targets baseline x86-64). The arguments travel in a named
/// struct, not a closure: a closure's body is compiled on its own, outside the dispatch
/// (measured in iontransport-model: lock-step inference 7 % slower). `$lt` is the one
/// lifetime the argument types borrow for. Used by [`TanhMlp`] and downstream networks.
///
/// ```
/// fn sum_of_squares_simd(x: &[f64], out: &mut f64) {
///     *out = x.iter().map(|v| v * v).sum();
/// }
/// neural_ode::simd_dispatch! {
///     /// Sum of squares, compiled for the machine's SIMD.
///     fn sum_of_squares<'a>(x: &'a [f64], out: &'a mut f64) = sum_of_squares_simd;
/// }
/// let mut s = 0.0;
/// sum_of_squares(&[1.0, 2.0], &mut s);
/// assert_eq!(s, 5.0);
/// ```
#[macro_export]
macro_rules! simd_dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$lt:lifetime>($($arg:ident: $ty:ty),* $(,)?) = $f:ident;) => {
        $(#[$m])*
        $vis fn $name<$lt>($($arg: $ty),*) {
            struct Op<$lt>($($ty),*);
            impl $crate::__pulp::WithSimd for Op<'_> {
                type Output = ();
                #[inline(always)]
                fn with_simd<S: $crate::__pulp::Simd>(self, _: S) {
                    let Op($($arg),*) = self;
                    $f($($arg),*)
                }
            }
            $crate::__pulp::Arch::new().dispatch(Op($($arg),*))
        }
    };
}

#[doc(hidden)]
pub use pulp as __pulp;

mod adjoint;
mod batch;
mod checks;
mod dense;
mod discrete;
mod elementary;
mod error;
mod field;
pub mod gemm;
mod gradients;
mod layers;
mod lockstep;
mod mlp;
mod options;
mod rows;
mod sensitivity;
mod solver;
pub mod tableau;
mod track;

pub use adjoint::{AdjointMethod, AdjointOptions, adjoint};
pub use batch::{BatchGradient, gradient_batch, solve_batch};
pub use dense::DenseOutput;
pub use elementary::{fast_exp, fast_tanh, tanh_in_place};
pub use error::{OdeError, Result};
pub use field::{AnalyticField, FdWorkspace, FnField, VectorField};
pub use gradients::Gradients;
pub use layers::DenseStack;
pub use lockstep::{gradient_lockstep, solve_lockstep};
pub use mlp::{MlpRows, MlpWorkspace, TanhMlp, dot};
pub use options::{PiController, SolverOptions, Stats, Tolerance};
pub use rows::{BatchField, Rows, RowsOf, Stacked, StackedWorkspace};
pub use sensitivity::{Sensitivities, forward_sensitivities};
pub use solver::{Problem, Solution, solve};

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
