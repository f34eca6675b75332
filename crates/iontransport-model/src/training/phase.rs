//! The two phases of the method's training.

use serde::{Deserialize, Serialize};

/// Which phase of the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// All parameters, fixed targets (eq. 4: DSPM-DE data already carry their noise).
    Pretrain,
    /// Last two layers only, targets ~ N(mu, sigma^2) each epoch (eq. 5).
    FineTune,
}
