//! Batches of independent initial-value problems, solved in parallel with rayon.

use crate::adjoint::{AdjointOptions, adjoint};
use crate::error::Result;
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::solver::{Problem, Solution, solve};
use rayon::prelude::*;

/// Solves every problem with the same vector field and parameters, in parallel; each has
/// its own adaptive step sizes. Results are in input order.
pub fn solve_batch<F: VectorField>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    opts: &SolverOptions,
) -> Vec<Result<Solution>> {
    problems
        .par_iter()
        .map(|pr| solve(f, p, pr.t0, pr.y0, pr.save_at, opts))
        .collect()
}

/// One problem's loss, parameter gradient, initial-state gradient and counters.
type PartGradient = (f64, Vec<f64>, Vec<f64>, Stats, usize);

/// Loss and gradients summed over a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchGradient {
    /// Sum of the per-problem losses.
    pub loss: f64,
    /// dL/dtheta summed over the batch.
    pub p: Vec<f64>,
    /// dL/dy0 per problem.
    pub y0: Vec<Vec<f64>>,
    /// Accepted forward steps per problem.
    pub steps: Vec<usize>,
    /// Counters summed over the batch (forward and backward).
    pub stats: Stats,
}

/// Forward solve, loss and adjoint gradient for every problem in parallel.
/// `loss(i, solution)` returns the loss of problem i and its gradient with respect to the
/// saved states (row-major). The forward solve keeps dense output when the adjoint needs it.
pub fn gradient_batch<F, L>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    loss: L,
    opts: &SolverOptions,
    adjoint_opts: &AdjointOptions,
) -> Result<BatchGradient>
where
    F: VectorField,
    L: Fn(usize, &Solution) -> (f64, Vec<f64>) + Sync,
{
    let mut fwd = opts.clone();
    // The interpolating and discrete adjoints read the stored forward steps; backsolve
    // needs none (and keeps whatever the caller asked for).
    fwd.dense = opts.dense
        || matches!(
            adjoint_opts.method,
            crate::AdjointMethod::Interpolating | crate::AdjointMethod::Discrete
        );
    let parts: Vec<Result<PartGradient>> = problems
        .par_iter()
        .enumerate()
        .map(|(i, pr)| {
            let sol = solve(f, p, pr.t0, pr.y0, pr.save_at, &fwd)?;
            let (l, g) = loss(i, &sol);
            let grads = adjoint(f, p, &sol, &g, adjoint_opts)?;
            let mut st = sol.stats;
            st += grads.stats;
            Ok((l, grads.p, grads.y0, st, sol.stats.accepted))
        })
        .collect();
    let mut out = BatchGradient {
        loss: 0.0,
        p: vec![0.0; p.len()],
        y0: Vec::with_capacity(problems.len()),
        steps: Vec::with_capacity(problems.len()),
        stats: Stats::default(),
    };
    for part in parts {
        let (l, gp, g0, st, steps) = part?;
        out.steps.push(steps);
        out.loss += l;
        for (a, b) in out.p.iter_mut().zip(&gp) {
            *a += b;
        }
        out.y0.push(g0);
        out.stats += st;
    }
    Ok(out)
}
