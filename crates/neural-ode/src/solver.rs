//! The adaptive Tsit5 integrator.

use crate::checks::check_len;
use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::track::{Outcome, Track};

/// A right-hand side with its own scratch, the form the integrator drives. The forward solve,
/// the adjoint and the forward sensitivities each provide one.
pub(crate) trait Rhs {
    fn dim(&self) -> usize;
    fn call(&mut self, t: f64, y: &[f64], dy: &mut [f64]);
    /// Evaluates stage `stage` (0..7) of a step, keeping its record when recording.
    fn call_stage(&mut self, t: f64, y: &[f64], dy: &mut [f64], _stage: usize) {
        self.call(t, y, dy)
    }
    /// The records of the current step's 7 stages (empty when not recording).
    fn stage_records(&self) -> &[f64] {
        &[]
    }
    /// After an accepted step, the last stage's record becomes the next step's first (FSAL).
    fn carry_fsal(&mut self) {}
}

/// The user's vector field with fixed parameters. With `records` non-empty (7 x record_len)
/// every stage evaluation keeps its record for the discrete adjoint.
pub(crate) struct FieldRhs<'a, F: VectorField> {
    pub f: &'a F,
    pub p: &'a [f64],
    pub ws: F::Workspace,
    pub records: Vec<f64>,
}

impl<F: VectorField> Rhs for FieldRhs<'_, F> {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn call(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.f.eval(t, y, self.p, &mut self.ws, dy)
    }
    fn call_stage(&mut self, t: f64, y: &[f64], dy: &mut [f64], stage: usize) {
        if self.records.is_empty() {
            self.f.eval(t, y, self.p, &mut self.ws, dy)
        } else {
            let r = self.records.len() / 7;
            let rec = &mut self.records[stage * r..(stage + 1) * r];
            self.f.eval_record(t, y, self.p, &mut self.ws, dy, rec)
        }
    }
    fn stage_records(&self) -> &[f64] {
        &self.records
    }
    fn carry_fsal(&mut self) {
        let r = self.records.len() / 7;
        self.records.copy_within(6 * r..7 * r, 0);
    }
}

/// The result of a forward solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// State dimension.
    pub n: usize,
    /// Initial time.
    pub t0: f64,
    /// Initial state.
    pub y0: Vec<f64>,
    /// The requested output times.
    pub t: Vec<f64>,
    /// States at the output times, row-major (`t.len()` rows of n).
    pub y: Vec<f64>,
    /// Counters.
    pub stats: Stats,
    /// Every step, when solved with `dense = true`.
    pub dense: Option<DenseOutput>,
}

impl Solution {
    /// The state at output time index `i`.
    pub fn state(&self, i: usize) -> &[f64] {
        &self.y[i * self.n..(i + 1) * self.n]
    }

    /// The state at the last output time.
    pub fn final_state(&self) -> &[f64] {
        self.state(self.t.len() - 1)
    }

    /// Evaluates the solution at any time of the solved interval (needs `dense = true`).
    pub fn eval(&self, t: f64, out: &mut [f64]) -> Result<()> {
        self.dense
            .as_ref()
            .ok_or(OdeError::MissingDenseOutput)?
            .eval(t, out)
    }
}

/// Solves dy/dt = f(t, y, p) from (t0, y0) and returns the state at every time of `save_at`
/// (monotone in the direction of integration, which may be backwards). One adaptive solve
/// serves all output times; states between steps come from the Tsit5 interpolant.
///
/// ```
/// use neural_ode::{AnalyticField, SolverOptions, solve};
/// // y' = -y, y(0) = 1.
/// let f = AnalyticField::new(1, 0,
///     |_t, y: &[f64], _p: &[f64], dy: &mut [f64]| dy[0] = -y[0],
///     |_t, _y: &[f64], _p: &[f64], a: &[f64], vy: &mut [f64], _vp: &mut [f64]| vy[0] = -a[0]);
/// let sol = solve(&f, &[], 0.0, &[1.0], &[0.5, 1.0], &SolverOptions::with_tolerances(1e-10, 1e-12)).unwrap();
/// assert!((sol.state(1)[0] - (-1.0f64).exp()).abs() < 1e-9);
/// ```
pub fn solve<F: VectorField>(
    f: &F,
    p: &[f64],
    t0: f64,
    y0: &[f64],
    save_at: &[f64],
    opts: &SolverOptions,
) -> Result<Solution> {
    check_len("y0", f.dim(), y0.len())?;
    check_len("p", f.num_params(), p.len())?;
    let record_len = if opts.dense { f.record_len() } else { 0 };
    let mut rhs = FieldRhs {
        f,
        p,
        ws: f.workspace(),
        records: vec![0.0; 7 * record_len],
    };
    let mut y = Vec::with_capacity(save_at.len() * y0.len());
    let mut dense = opts.dense.then(|| DenseOutput::new(y0.len(), record_len));
    let stats = integrate(&mut rhs, t0, y0, save_at, opts, &mut y, dense.as_mut())?;
    Ok(Solution {
        n: y0.len(),
        t0,
        y0: y0.to_vec(),
        t: save_at.to_vec(),
        y,
        stats,
        dense,
    })
}

/// The integration loop shared by every solve. Pushes the state at each `save_at` time onto
/// `out` and, if given, every accepted step onto `dense`. The loop allocates nothing per step.
pub(crate) fn integrate<R: Rhs>(
    rhs: &mut R,
    t0: f64,
    y0: &[f64],
    save_at: &[f64],
    opts: &SolverOptions,
    out: &mut Vec<f64>,
    mut dense: Option<&mut DenseOutput>,
) -> Result<Stats> {
    let n = rhs.dim();
    check_len("y0", n, y0.len())?;
    let (rtol, atol) = opts.validate(n)?;
    let Some(mut tr) = Track::new(n, t0, y0, save_at, out)? else {
        return Ok(Stats::default());
    };
    rhs.call_stage(t0, &tr.y, &mut tr.k[..n], 0);
    if let Some(t1) = tr.start(opts, &rtol, &atol)? {
        rhs.call(t1, &tr.ytmp, &mut tr.k[n..2 * n]);
        tr.finish_probe(opts, &rtol, &atol);
    }
    loop {
        tr.begin_step(opts)?;
        // Stages 2..6, then the fifth-order solution and the FSAL stage 7 at it.
        for s in 1..6 {
            let ts = tr.stage_input(s);
            rhs.call_stage(ts, &tr.ytmp, &mut tr.k[s * n..(s + 1) * n], s);
        }
        let t_new = tr.combine();
        rhs.call_stage(t_new, &tr.ynew, &mut tr.k[6 * n..], 6);
        let outcome = tr.end_step(
            opts,
            &rtol,
            &atol,
            save_at,
            out,
            dense.as_deref_mut(),
            rhs.stage_records(),
        )?;
        match outcome {
            Outcome::Rejected => {}
            Outcome::Accepted => rhs.carry_fsal(),
            Outcome::Finished => {
                rhs.carry_fsal();
                break;
            }
        }
    }
    Ok(tr.st)
}
