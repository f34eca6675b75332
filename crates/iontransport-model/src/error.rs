//! Errors of the model crate.

use thiserror::Error;

/// What can go wrong when building, training or using the model.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The feed or query is not acceptable for the model.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An ion the model was not trained on.
    #[error("ion {0} is not one of the model's ions")]
    UnknownIon(String),
    /// A checkpoint or model file is unreadable or inconsistent.
    #[error("bad model file {path}: {reason}")]
    BadCheckpoint {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The ODE solver failed.
    #[error("ODE solve failed: {0}")]
    Ode(#[from] neural_ode::OdeError),
    /// ion-species error.
    #[error(transparent)]
    Species(#[from] ion_species::SpeciesError),
    /// np-transport error (data files, DSPM-DE).
    #[error(transparent)]
    Transport(#[from] np_transport::TransportError),
    /// charge-constraint error.
    #[error(transparent)]
    Constraint(#[from] charge_constraint::ConstraintError),
    /// I/O error.
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS message.
        message: String,
    },
    /// Training could not proceed.
    #[error("training: {0}")]
    Training(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, ModelError>;
