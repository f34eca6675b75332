//! Tolerances, step-size control and solver options.

use crate::error::{OdeError, Result};

/// A tolerance: one value for all components, or one per component.
#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    /// The same tolerance for every component.
    Scalar(f64),
    /// One tolerance per component.
    PerComponent(Vec<f64>),
}

impl From<f64> for Tolerance {
    fn from(v: f64) -> Self {
        Self::Scalar(v)
    }
}

impl From<Vec<f64>> for Tolerance {
    fn from(v: Vec<f64>) -> Self {
        Self::PerComponent(v)
    }
}

impl Tolerance {
    /// Expands to one value per component for dimension `n`, after validating.
    pub(crate) fn expand(&self, n: usize, what: &str) -> Result<Vec<f64>> {
        let v = match self {
            Self::Scalar(x) => vec![*x; n],
            Self::PerComponent(v) => {
                if v.len() != n {
                    return Err(OdeError::InvalidTolerance(format!(
                        "{what} has {} entries for a state of dimension {n}",
                        v.len()
                    )));
                }
                v.clone()
            }
        };
        if let Some(x) = v.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
            return Err(OdeError::InvalidTolerance(format!(
                "{what} = {x} must be finite and >= 0"
            )));
        }
        Ok(v)
    }
}

/// PI step-size controller: h_new = h * clamp(safety * err^(-alpha) * err_prev^(beta)).
///
/// Defaults follow Hairer, Norsett & Wanner, *Solving Ordinary Differential Equations I*
/// (2nd ed., Sec. IV.2 / the DOPRI5 code): beta = 0.04, alpha = 1/5 - 0.75 beta = 0.17,
/// safety 0.9, factor limits [0.2, 10].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PiController {
    /// Exponent of the current error.
    pub alpha: f64,
    /// Exponent of the previous accepted error (0 gives the classical I controller).
    pub beta: f64,
    /// Safety factor (< 1).
    pub safety: f64,
    /// Smallest factor by which h may shrink.
    pub fac_min: f64,
    /// Largest factor by which h may grow.
    pub fac_max: f64,
}

impl Default for PiController {
    fn default() -> Self {
        Self {
            alpha: 0.17,
            beta: 0.04,
            safety: 0.9,
            fac_min: 0.2,
            fac_max: 10.0,
        }
    }
}

/// Options of a solve.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverOptions {
    /// Relative tolerance.
    pub rtol: Tolerance,
    /// Absolute tolerance (in the state's units).
    pub atol: Tolerance,
    /// Maximum number of steps (accepted + rejected).
    pub max_steps: usize,
    /// Smallest allowed |h|; 0 means only the round-off floor 16 eps |t|.
    pub min_step: f64,
    /// Largest allowed |h|.
    pub max_step: f64,
    /// First step; `None` selects it automatically (Hairer, Norsett & Wanner, Sec. II.4).
    pub initial_step: Option<f64>,
    /// Step-size controller.
    pub controller: PiController,
    /// Keep every step (state and stages) so the solution can be evaluated anywhere and the
    /// checkpointed adjoint can run.
    pub dense: bool,
    /// Integrate with fixed steps of this size instead of adaptively (for convergence tests).
    pub fixed_step: Option<f64>,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            rtol: Tolerance::Scalar(1e-6),
            atol: Tolerance::Scalar(1e-9),
            max_steps: 100_000,
            min_step: 0.0,
            max_step: f64::INFINITY,
            initial_step: None,
            controller: PiController::default(),
            dense: false,
            fixed_step: None,
        }
    }
}

impl SolverOptions {
    /// Options with the given scalar tolerances and defaults otherwise.
    pub fn with_tolerances(rtol: f64, atol: f64) -> Self {
        Self {
            rtol: rtol.into(),
            atol: atol.into(),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let rtol = self.rtol.expand(n, "rtol")?;
        let atol = self.atol.expand(n, "atol")?;
        if rtol.iter().zip(&atol).any(|(r, a)| *r == 0.0 && *a == 0.0) {
            return Err(OdeError::InvalidTolerance(
                "rtol and atol are both zero for some component".into(),
            ));
        }
        let c = &self.controller;
        let ok = c.alpha > 0.0
            && c.beta >= 0.0
            && c.safety > 0.0
            && c.safety <= 1.0
            && c.fac_min > 0.0
            && c.fac_min < 1.0
            && c.fac_max > 1.0;
        if !ok {
            return Err(OdeError::InvalidOption(format!("controller {c:?}")));
        }
        if self.max_steps == 0 {
            return Err(OdeError::InvalidOption("max_steps must be > 0".into()));
        }
        if self.min_step.is_nan()
            || self.min_step < 0.0
            || self.max_step.is_nan()
            || self.max_step <= 0.0
        {
            return Err(OdeError::InvalidOption(format!(
                "min_step = {}, max_step = {}",
                self.min_step, self.max_step
            )));
        }
        for (name, h) in [
            ("initial_step", self.initial_step),
            ("fixed_step", self.fixed_step),
        ] {
            if let Some(h) = h
                && !(h.is_finite() && h > 0.0)
            {
                return Err(OdeError::InvalidOption(format!("{name} = {h} must be > 0")));
            }
        }
        Ok((rtol, atol))
    }
}

/// Counters of a solve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Evaluations of the vector field.
    pub nfe: usize,
    /// Vector-Jacobian products (adjoint only).
    pub nvjp: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.nfe += o.nfe;
        self.nvjp += o.nvjp;
    }
}
