//! # charge-constraint
//!
//! Electroneutrality, sum_j z_j h_j = 0, as an inductive bias for learned models, generic over
//! any valence vector `z` and float type. It knows nothing about particular ions.
//!
//! * **Hard**: [`Projector`] applies the orthogonal projection P = I - z z^T / (z^T z)
//!   restricted to the *present* components (a mask); masked components pass through
//!   untouched. P is symmetric, so its vector-Jacobian product is the same map applied to the
//!   cotangent ([`Projector::vjp`]). Every operation works in place on slices and allocates
//!   nothing.
//! * **Soft**: [`SoftPenalty`] adds lambda (z^T h)^2 / (z^T z) to a loss, with its gradient.
//!   Dividing by z^T z makes the penalty lambda times the squared Euclidean distance from h
//!   to the constraint plane, so it does not change when z is rescaled.
//!
//! ```
//! use charge_constraint::Projector;
//! // Na+, Mg2+, Cl-, SO4 2-; all present.
//! let p = Projector::<f64>::new(&[1.0, 2.0, -1.0, -2.0], &[true; 4]).unwrap();
//! let mut dh = [0.3, -0.1, 0.7, 0.2];
//! p.project(&mut dh).unwrap();
//! assert!(p.residual(&dh).unwrap().abs() < 1e-15);
//! ```

mod error;
mod hard;
mod soft;

pub use error::ConstraintError;
pub use hard::Projector;
pub use soft::SoftPenalty;

/// Float types the constraint works with (`f32`, `f64`).
pub trait Real: num_traits::Float + std::fmt::Debug + Send + Sync + 'static {}
impl<T: num_traits::Float + std::fmt::Debug + Send + Sync + 'static> Real for T {}

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
