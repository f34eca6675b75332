//! What an adjoint returns: the loss gradients with respect to every input of a solve.

use crate::options::Stats;

/// Gradients of a loss with respect to everything it depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    /// dL/dy0.
    pub y0: Vec<f64>,
    /// dL/dtheta.
    pub p: Vec<f64>,
    /// dL/dt0.
    pub t0: f64,
    /// dL/dt_k for each output time.
    pub t: Vec<f64>,
    /// Counters of the backward pass.
    pub stats: Stats,
}
