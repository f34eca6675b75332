//! Checks of a solve's inputs, shared by every entry point, each failing with a typed error.

use crate::error::{OdeError, Result};

/// Fails with [`OdeError::LengthMismatch`] unless a slice has the length its use needs.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(OdeError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Checks output times: finite, on one side of t0, monotone. Returns the direction.
pub(crate) fn check_times(t0: f64, save_at: &[f64]) -> Result<f64> {
    if !t0.is_finite() {
        return Err(OdeError::InvalidTimes(format!("t0 = {t0}")));
    }
    let Some(&t_end) = save_at.last() else {
        return Err(OdeError::InvalidTimes("no output time given".into()));
    };
    if let Some(t) = save_at.iter().find(|t| !t.is_finite()) {
        return Err(OdeError::InvalidTimes(format!("{t} is not finite")));
    }
    let dir = if t_end >= t0 { 1.0 } else { -1.0 };
    let mut prev = t0;
    for &t in save_at {
        if dir * (t - prev) < 0.0 {
            return Err(OdeError::InvalidTimes(format!(
                "{t} comes after {prev}: times must be monotone in the direction of integration from t0 = {t0}"
            )));
        }
        prev = t;
    }
    Ok(dir)
}
