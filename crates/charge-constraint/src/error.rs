//! Errors of the charge-constraint crate.

use thiserror::Error;

/// What can be wrong with a constraint's inputs.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConstraintError {
    /// A slice does not have the constraint's dimension.
    #[error("{what} has length {got}, the constraint has dimension {expected}")]
    LengthMismatch {
        /// Which argument.
        what: &'static str,
        /// The constraint's dimension.
        expected: usize,
        /// The slice's length.
        got: usize,
    },
    /// A batch buffer is not a whole number of rows.
    #[error("batch buffer of length {len} is not a multiple of the dimension {dim}")]
    BatchShape {
        /// Buffer length.
        len: usize,
        /// Row length.
        dim: usize,
    },
    /// A valence is NaN or infinite.
    #[error("valence {index} is not finite")]
    NonFiniteValence {
        /// Index of the valence.
        index: usize,
    },
    /// The penalty weight is negative or not finite.
    #[error("penalty weight {0} must be finite and >= 0")]
    InvalidWeight(f64),
}
