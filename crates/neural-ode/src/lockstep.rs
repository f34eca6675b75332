//! Lock-step batches: many initial-value problems, each with its own adaptive steps, whose
//! stage evaluations go through the vector field together, as one matrix of rows.
//!
//! Why: a network evaluated on one state is a chain of matrix-vector products, limited by
//! loading its weights; evaluated on many states at once the same weights serve every row
//! (matrix-matrix products), several times faster per state. Integrating the batch as one
//! system ([`crate::Stacked`], shared steps, as diffrax does) also batches the products but makes
//! every problem take the steps of the hardest one. Here each problem keeps its own step
//! size, error control and output times, exactly as in [`crate::solve`] (one step driver
//! serves both: a single solve is a batch of one); only the evaluations of a stage are
//! gathered across the problems still running. The discrete adjoint runs backwards the same
//! way, one step of every problem per round (the single-problem discrete adjoint is this pass
//! with one member), and a [`BatchField`] adds the batch's parameter cotangent with matrix
//! products too.

use crate::batch::BatchGradient;
use crate::checks::check_len;
use crate::discrete::{ChunkGradient, backward};
use crate::error::{OdeError, Result};
use crate::options::{SolverOptions, Stats};
use crate::rows::BatchField;
use crate::solver::Problem;
use crate::solver::{Solution, solve_rows};
use rayon::prelude::*;

/// Solves every problem with its own adaptive steps, evaluating the stages of all problems
/// still running in one batched call per stage. Problem i is member i of `f`. Each solution
/// equals [`crate::solve`] with member i's field up to the rounding of the batched products.
///
/// ```
/// use neural_ode::{AnalyticField, Problem, RowsOf, SolverOptions, solve_lockstep};
/// // y' = -p y for two initial values.
/// let f = AnalyticField::new(1, 1,
///     |_t, y: &[f64], p: &[f64], dy: &mut [f64]| dy[0] = -p[0] * y[0],
///     |_t, y: &[f64], p: &[f64], a: &[f64], vy: &mut [f64], vp: &mut [f64]| {
///         vy[0] = -p[0] * a[0];
///         vp[0] = -y[0] * a[0];
///     });
/// let fields = [f.clone(), f];
/// let rows = RowsOf::new(&fields).unwrap();
/// let problems = [
///     Problem { t0: 0.0, y0: &[1.0], save_at: &[1.0] },
///     Problem { t0: 0.0, y0: &[2.0], save_at: &[0.5, 2.0] },
/// ];
/// let opts = SolverOptions::with_tolerances(1e-10, 1e-12);
/// let sols = solve_lockstep(&rows, &[1.0], &problems, &opts);
/// let y = sols[1].as_ref().unwrap().final_state()[0];
/// assert!((y - 2.0 * (-2.0f64).exp()).abs() < 1e-9);
/// ```
pub fn solve_lockstep<F: BatchField>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    opts: &SolverOptions,
) -> Vec<Result<Solution>> {
    solve_rows(f, p, problems, 0, opts, false)
}

/// Loss and gradients of a batch by the discrete adjoint, in lock step: problems are split
/// into chunks of `rows_per_call` (the chunks run in parallel with rayon), each chunk is
/// solved forward in lock step; then the problems are dealt anew into as many chunks, balanced
/// by their step counts, and each is differentiated backwards one step of every problem per
/// round, so every VJP is one batched call. `loss(i, solution)` returns problem i's loss and
/// its gradient with respect to the saved states (row-major).
///
/// The result does not depend on the number of threads (the chunks depend only on the
/// problems' step counts and are summed in order). It equals [`crate::gradient_batch`] with
/// [`crate::AdjointMethod::Discrete`] up to rounding. The first failed solve fails the batch.
///
/// The stage records of a batch (the field's [`BatchField::record_len`] per stage and step)
/// are kept for the next call's: up to 128 MB of them stay allocated in the process between
/// calls, which spares each batch faulting that memory in again (docs/performance.md).
pub fn gradient_lockstep<F, L>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    loss: L,
    opts: &SolverOptions,
    rows_per_call: usize,
) -> Result<BatchGradient>
where
    F: BatchField,
    L: Fn(usize, &Solution) -> (f64, Vec<f64>) + Sync,
{
    if rows_per_call == 0 {
        return Err(OdeError::InvalidOption("rows_per_call must be > 0".into()));
    }
    let sols = problems
        .par_chunks(rows_per_call)
        .enumerate()
        .map(|(c, chunk)| solve_rows(f, p, chunk, c * rows_per_call, opts, true))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect::<Result<Vec<_>>>()?;
    let losses: Vec<(f64, Vec<f64>)> = sols
        .par_iter()
        .enumerate()
        .map(|(i, sol)| loss(i, sol))
        .collect();
    let n = f.dim();
    let mut out = BatchGradient {
        loss: 0.0,
        p: vec![0.0; p.len()],
        y0: vec![Vec::new(); problems.len()],
        steps: sols.iter().map(|s| s.stats.accepted).collect(),
        stats: Stats::default(),
    };
    for (sol, (l, dl)) in sols.iter().zip(&losses) {
        out.stats += sol.stats;
        check_len("dl_dy", sol.t.len() * n, dl.len())?;
        if dl.iter().any(|v| !v.is_finite()) {
            return Err(OdeError::NonFinite {
                what: "adjoint",
                t: *sol.t.last().unwrap_or(&sol.t0),
            });
        }
        out.loss += l;
    }
    let chunks = balanced_chunks(&out.steps, problems.len().div_ceil(rows_per_call));
    let parts: Vec<Result<ChunkGradient>> = chunks
        .par_iter()
        .map(|members| {
            let items: Vec<(&Solution, &[f64])> = members
                .iter()
                .map(|&i| (&sols[i], losses[i].1.as_slice()))
                .collect();
            backward(f, p, &items, members)
        })
        .collect();
    for (members, part) in chunks.iter().zip(parts) {
        let (gp, g0, st) = part?;
        for (a, b) in out.p.iter_mut().zip(&gp) {
            *a += b;
        }
        for (&i, g) in members.iter().zip(g0) {
            out.y0[i] = g;
        }
        out.stats += st;
    }
    for d in sols.into_iter().filter_map(|s| s.dense) {
        d.recycle();
    }
    Ok(out)
}

/// Deals problems `0..steps.len()` into `count` chunks of nearly equal total steps (longest
/// first, each to the lightest chunk so far; ties to the earlier chunk), each in increasing
/// order: a backward chunk costs about the sum of its problems' steps, and the slowest chunk
/// holds up the batch.
fn balanced_chunks(steps: &[usize], count: usize) -> Vec<Vec<usize>> {
    let count = count.clamp(1, steps.len().max(1));
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(steps[i]), i));
    let mut chunks = vec![Vec::new(); count];
    let mut load = vec![0usize; count];
    for i in order {
        // Every step costs at least one call per round, so count a problem as steps + 1.
        let c = (0..count)
            .min_by_key(|&c| (load[c], chunks[c].len(), c))
            .expect("count >= 1");
        load[c] += steps[i] + 1;
        chunks[c].push(i);
    }
    for c in &mut chunks {
        c.sort_unstable();
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

#[cfg(test)]
mod tests {
    use super::balanced_chunks;
    use proptest::prelude::*;

    #[test]
    fn long_problems_are_spread_over_the_chunks() {
        // Costs are steps + 1, longest first: 10 -> A, 9 -> B, 8 -> B (9 < 10), 4 -> A (14),
        // 2 -> A (16), 2 -> A (16 < 17): loads 18 and 17.
        let chunks = balanced_chunks(&[1, 9, 3, 8, 1, 7], 2);
        assert_eq!(chunks, vec![vec![0, 1, 2, 4], vec![3, 5]]);
    }

    proptest! {
        #[test]
        fn every_problem_lands_in_one_chunk_and_loads_stay_close(
            steps in proptest::collection::vec(0usize..60, 1..80),
            count in 1usize..9,
        ) {
            let chunks = balanced_chunks(&steps, count);
            prop_assert!(!chunks.is_empty() && chunks.len() <= count);
            let mut seen: Vec<usize> = chunks.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..steps.len()).collect::<Vec<_>>());
            for c in &chunks {
                prop_assert!(c.windows(2).all(|w| w[0] < w[1]));
            }
            // Greedy longest-first: no chunk exceeds the lightest by more than one problem.
            let loads: Vec<usize> = chunks
                .iter()
                .map(|c| c.iter().map(|&i| steps[i] + 1).sum())
                .collect();
            let biggest = steps.iter().max().unwrap() + 1;
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            if chunks.len() == count {
                prop_assert!(hi - lo <= biggest, "loads {:?}", loads);
            }
        }
    }
}
