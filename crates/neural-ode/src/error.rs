//! Errors of the neural-ode crate.

use thiserror::Error;

/// Why a solve or a gradient computation failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OdeError {
    /// The step size fell below the minimum before the error estimate was met.
    #[error("step size underflow at t = {t}: |h| = {h:.3e} below the minimum {min:.3e}")]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// Attempted step.
        h: f64,
        /// The minimum allowed.
        min: f64,
    },
    /// The maximum number of steps was taken before the end time.
    #[error("maximum number of steps ({max_steps}) reached at t = {t}")]
    MaxStepsReached {
        /// The limit.
        max_steps: usize,
        /// Time reached.
        t: f64,
    },
    /// The state or the vector field became NaN or infinite.
    #[error("non-finite {what} at t = {t}")]
    NonFinite {
        /// "state", "derivative" or "adjoint".
        what: &'static str,
        /// Time at which it was detected.
        t: f64,
    },
    /// Tolerances are negative, NaN, both zero, or of the wrong length.
    #[error("invalid tolerances: {0}")]
    InvalidTolerance(String),
    /// An input has the wrong length.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// Output times are not finite or not monotone in the direction of integration.
    #[error("invalid save_at times: {0}")]
    InvalidTimes(String),
    /// Some other option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The adjoint needs information the forward solve did not keep.
    #[error("the checkpointed adjoint needs the forward dense output: solve with `dense = true`")]
    MissingDenseOutput,
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, OdeError>;
