//! Errors of the ion-species crate.

use thiserror::Error;

/// Everything that can go wrong when naming ions or building compositions.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpeciesError {
    /// A token does not name any ion in the registry.
    #[error("unknown ion `{token}`{}", hint.as_ref().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
    UnknownIon {
        /// The token as the user wrote it.
        token: String,
        /// The closest known name, if one is close.
        hint: Option<String>,
    },
    /// A token matches more than one ion (e.g. a formula without a charge shared by two ions).
    #[error("ion name `{token}` is ambiguous: it matches {candidates:?}")]
    AmbiguousIon {
        /// The token as the user wrote it.
        token: String,
        /// Names of the matching ions.
        candidates: Vec<String>,
    },
    /// A salt formula that cannot be read, or whose ions do not balance.
    #[error("`{text}` is not a salt of known ions: {reason}")]
    NotASalt {
        /// The formula as the user wrote it.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// A concentration is negative, NaN or infinite.
    #[error("invalid concentration for {ion}: {value} (must be finite and >= 0)")]
    InvalidConcentration {
        /// Ion name.
        ion: String,
        /// The offending value, in the unit it was given.
        value: f64,
    },
    /// The same ion was given twice.
    #[error("ion {ion} appears more than once")]
    DuplicateIon {
        /// Ion name.
        ion: String,
    },
    /// A composition violates electroneutrality beyond the tolerance.
    #[error(
        "composition is not electroneutral: sum z_j c_j = {imbalance:.6e} eq/m^3, relative imbalance {relative:.3e} > tolerance {tolerance:.1e}"
    )]
    NotElectroneutral {
        /// sum_j z_j c_j in eq/m^3.
        imbalance: f64,
        /// |sum z c| / sum |z| c.
        relative: f64,
        /// The tolerance that was exceeded.
        tolerance: f64,
    },
    /// A feed cannot be balanced by adjusting the chosen ion.
    #[error("cannot balance the composition with {ion}: {reason}")]
    CannotBalance {
        /// The ion that was to be adjusted.
        ion: String,
        /// Why it cannot.
        reason: String,
    },
    /// An ion definition has an impossible property.
    #[error("invalid ion definition `{ion}`: {reason}")]
    InvalidIon {
        /// Ion name.
        ion: String,
        /// What is wrong.
        reason: String,
    },
    /// A vector does not match the registry it is meant for.
    #[error("length mismatch: expected {expected} entries, got {got}")]
    LengthMismatch {
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A temperature outside the range of a water-property correlation.
    #[error(
        "{quantity} is not known at T = {value} K: the correlation holds from {min} to {max} K (0-100 °C); give the temperature in kelvin within that range"
    )]
    TemperatureOutOfRange {
        /// The property asked for.
        quantity: &'static str,
        /// The temperature, K.
        value: f64,
        /// Lowest valid temperature, K.
        min: f64,
        /// Highest valid temperature, K.
        max: f64,
    },
    /// A user ion file could not be parsed.
    #[error("cannot parse ion definitions ({format}): {message}")]
    Parse {
        /// "json" or "toml".
        format: &'static str,
        /// The parser's message, which names the line or field.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SpeciesError>;
