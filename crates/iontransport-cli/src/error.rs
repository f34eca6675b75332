//! Errors of the application: each names the option, file or value at fault.

use thiserror::Error;

/// What can go wrong in a command.
#[derive(Debug, Error)]
pub enum CliError {
    /// A command-line value or combination the command cannot use.
    #[error("{0}")]
    Usage(String),
    /// An output that cannot be written, or would overwrite an input.
    #[error("output {path}: {reason}")]
    Output {
        /// The output path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An input file that does not exist or cannot be read.
    #[error("input {path}: {reason}")]
    Input {
        /// The input path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Model, training or checkpoint error.
    #[error(transparent)]
    Model(#[from] iontransport_model::ModelError),
    /// DSPM-DE, CSV or data generation error.
    #[error(transparent)]
    Transport(#[from] np_transport::TransportError),
    /// Ion or composition error.
    #[error(transparent)]
    Species(#[from] ion_species::SpeciesError),
    /// Writing to the terminal or a file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, CliError>;
