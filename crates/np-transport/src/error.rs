//! Errors of the np-transport crate.

use thiserror::Error;

/// What can go wrong in a DSPM-DE calculation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TransportError {
    /// A membrane or operating parameter is out of range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value (SI).
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A partition energy is not finite or beyond +-[`crate::MAX_PARTITION_ENERGY`] kT.
    #[error(
        "partition energy of {ion} = {value} kT must be finite and within +-{limit} kT (it is in units of kT, not J/mol)"
    )]
    InvalidPartitionEnergy {
        /// Ion name.
        ion: String,
        /// The energy, kT.
        value: f64,
        /// The largest magnitude allowed, kT.
        limit: f64,
    },
    /// An ion lacks a property the model needs (e.g. a hydration free energy for
    /// [`crate::BornRadius::Hydration`]).
    #[error("ion {ion} has no {property}, which {needed_by} needs: give it in the ion's data")]
    MissingIonProperty {
        /// Ion name.
        ion: String,
        /// The property.
        property: &'static str,
        /// What needs it.
        needed_by: &'static str,
    },
    /// An ion is at least as large as the pore.
    #[error(
        "ion {ion} (Stokes radius {stokes_radius:.3e} m) does not fit a pore of radius {pore_radius:.3e} m"
    )]
    IonLargerThanPore {
        /// Ion name.
        ion: String,
        /// Its Stokes radius, m.
        stokes_radius: f64,
        /// The pore radius, m.
        pore_radius: f64,
    },
    /// lambda = r_s / r_p is above the validity range of the hindrance correlation.
    #[error(
        "ion {ion}: lambda = r_s/r_p = {lambda:.3} exceeds {max} where the hindrance correlation (Dechadilok & Deen 2006) is valid"
    )]
    OutsideCorrelation {
        /// Ion name.
        ion: String,
        /// r_s / r_p.
        lambda: f64,
        /// The largest valid value.
        max: f64,
    },
    /// The feed is not acceptable (not electroneutral, negative values, no ions, ...).
    #[error("invalid feed: {0}")]
    InvalidFeed(String),
    /// The water flux is negative, not finite, or far outside nanofiltration (above
    /// [`crate::MAX_FLUX`]).
    #[error(
        "invalid water flux {0} m/s: must be finite, >= 0 and <= 1e-3 m/s (3600 L m^-2 h^-1; \
         nanofiltration runs at 1e-6 to 1e-4 m/s - was a value in L m^-2 h^-1 passed as m/s?)"
    )]
    InvalidFlux(f64),
    /// The nonlinear solve for the permeate did not converge.
    #[error(
        "permeate solve did not converge at J_v = {flux:.4e} m/s after {iterations} iterations (residual {residual:.3e}): {reason}"
    )]
    NotConverged {
        /// Water flux, m/s.
        flux: f64,
        /// Iterations taken.
        iterations: usize,
        /// Final residual norm.
        residual: f64,
        /// What failed.
        reason: String,
    },
    /// The pore or film integration failed.
    #[error("integration of the {region} equations failed: {source}")]
    Integration {
        /// "pore" or "film".
        region: &'static str,
        /// The integrator's error.
        source: neural_ode::OdeError,
    },
    /// A solution–diffusion–electromigration model has no permeance for an ion of the feed.
    #[error(
        "no permeance for {ion}: the SDEM needs one for every ion of the feed (it has permeances for {known})"
    )]
    MissingPermeance {
        /// The ion of the feed.
        ion: String,
        /// The ions the model has permeances for, comma-separated.
        known: String,
    },
    /// An ion permeance that is not finite or outside the range a membrane can have.
    #[error(
        "invalid permeance of {ion}: {value:e} m/s (must be finite and within [1e-12, 1e-2] m/s; permeances are in m/s, 1 um/s = 1e-6 m/s)"
    )]
    InvalidPermeance {
        /// The ion.
        ion: String,
        /// The permeance given, m/s.
        value: f64,
    },
    /// An error from ion-species.
    #[error(transparent)]
    Species(#[from] ion_species::SpeciesError),
    /// A CSV file could not be read or written, or is malformed.
    #[error("CSV error{}: {message}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Csv {
        /// Row/column of the problem, when known.
        location: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An I/O error.
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS message.
        message: String,
    },
    /// A prediction interval was asked of a membrane without parameter samples.
    #[error("no prediction interval: {0}")]
    NoIntervals(String),
    /// A data set cannot be used as asked (e.g. kept to ions it has values of others for).
    #[error("data set: {0}")]
    Dataset(String),
    /// Parameter fitting failed.
    #[error("fit failed: {0}")]
    Fit(String),
    /// A membrane file that cannot be used.
    #[error("membrane file {path}: {reason}")]
    MembraneFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TransportError>;

/// The [`TransportError::InvalidParameter`] of `name` (its value in SI units, and why).
pub(crate) fn invalid<T>(name: &'static str, value: f64, reason: &'static str) -> Result<T> {
    Err(TransportError::InvalidParameter {
        name,
        value,
        reason,
    })
}
