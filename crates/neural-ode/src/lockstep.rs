//! Lock-step batches: many initial-value problems, each with its own adaptive steps, whose
//! stage evaluations go through the vector field together, as one matrix of rows.
//!
//! Why: a network evaluated on one state is a chain of matrix-vector products, limited by
//! loading its weights; evaluated on many states at once the same weights serve every row
//! (matrix-matrix products), several times faster per state. Integrating the batch as one
//! system ([`Stacked`], shared steps, as diffrax does) also batches the products but makes
//! every problem take the steps of the hardest one. Here each problem keeps its own step
//! size, error control and output times, exactly as in [`crate::solve`] (the same code
//! drives both); only the evaluations of a stage are gathered across the problems still
//! running. The discrete adjoint runs backwards the same way, one step of every problem per
//! round, and a [`BatchField`] adds the batch's parameter cotangent with matrix products too.

use crate::batch::{BatchGradient, Problem};
use crate::checks::check_len;
use crate::dense::DenseOutput;
use crate::discrete::{output_owners, seed_step, spread_stage, stage_state};
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::solver::Solution;
use crate::tableau::{A, B, C, dense_weights};
use crate::track::{Outcome, Track};
use rayon::prelude::*;

/// A vector field evaluated on many rows at once: row r is the state `y[r]` of problem
/// (member) `rows[r]` at time `t[r]`. Members may carry their own conditioning (a
/// trajectory's feed, say); all share the parameters.
///
/// Rows are packed row-major: `y`, `dy`, `a` and `vjp_y` hold `rows.len()` rows of
/// [`BatchField::dim`]; `records` holds `rows.len()` rows of [`BatchField::record_len`] (or is
/// empty when nothing is recorded).
pub trait BatchField: Sync {
    /// Scratch memory for up to `max_rows` rows.
    type Workspace: Send;

    /// State dimension n of one row.
    fn dim(&self) -> usize;

    /// Number of parameters.
    fn num_params(&self) -> usize;

    /// Number of members; `rows` entries are below it.
    fn members(&self) -> usize;

    /// Scratch for up to `max_rows` rows per call.
    fn workspace(&self, max_rows: usize) -> Self::Workspace;

    /// Length of the record one row's evaluation can leave for its VJP (0: the VJP
    /// recomputes the forward pass).
    fn record_len(&self) -> usize {
        0
    }

    /// Writes f(t_r, y_r, theta) of every row into `dy`, and each row's record when
    /// `records` is not empty.
    #[allow(clippy::too_many_arguments)]
    fn eval_rows(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        records: &mut [f64],
    );

    /// Writes a_r^T df/dy of every row into `vjp_y` and *adds* sum_r a_r^T df/dtheta into
    /// `vjp_p_acc`. `records` are the rows' records from [`BatchField::eval_rows`] at the same
    /// points, or empty (then the field recomputes what it needs).
    #[allow(clippy::too_many_arguments)]
    fn vjp_rows_add(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        records: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    );
}

/// One [`VectorField`] per member, evaluated row by row: the reference a batched field is
/// tested against, and a way to run any field through the lock-step solver.
pub struct RowsOf<'a, F> {
    fields: &'a [F],
}

impl<'a, F: VectorField> RowsOf<'a, F> {
    /// Wraps the members' fields; they must share state dimension and parameter count.
    pub fn new(fields: &'a [F]) -> Result<Self> {
        let first = fields.first().ok_or(OdeError::InvalidOption(
            "RowsOf needs at least one field".into(),
        ))?;
        for f in fields {
            check_len("field dimension", first.dim(), f.dim())?;
            check_len("field parameters", first.num_params(), f.num_params())?;
        }
        Ok(Self { fields })
    }
}

impl<F: VectorField> BatchField for RowsOf<'_, F> {
    type Workspace = (F::Workspace, Vec<f64>);

    fn dim(&self) -> usize {
        self.fields[0].dim()
    }
    fn num_params(&self) -> usize {
        self.fields[0].num_params()
    }
    fn members(&self) -> usize {
        self.fields.len()
    }
    fn workspace(&self, _max_rows: usize) -> Self::Workspace {
        (self.fields[0].workspace(), vec![0.0; self.num_params()])
    }
    fn record_len(&self) -> usize {
        self.fields[0].record_len()
    }
    fn eval_rows(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        let (n, r) = (self.dim(), self.record_len());
        for (i, &m) in rows.iter().enumerate() {
            let (yi, dyi) = (&y[i * n..(i + 1) * n], &mut dy[i * n..(i + 1) * n]);
            if records.is_empty() || r == 0 {
                self.fields[m].eval(t[i], yi, p, &mut ws.0, dyi);
            } else {
                let rec = &mut records[i * r..(i + 1) * r];
                self.fields[m].eval_record(t[i], yi, p, &mut ws.0, dyi, rec);
            }
        }
    }
    fn vjp_rows_add(
        &self,
        rows: &[usize],
        t: &[f64],
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        records: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        let (n, r) = (self.dim(), self.record_len());
        for (i, &m) in rows.iter().enumerate() {
            let (yi, ai) = (&y[i * n..(i + 1) * n], &a[i * n..(i + 1) * n]);
            let vy = &mut vjp_y[i * n..(i + 1) * n];
            if records.is_empty() || r == 0 {
                self.fields[m].vjp(t[i], yi, p, ai, &mut ws.0, vy, &mut ws.1);
                for (acc, v) in vjp_p_acc.iter_mut().zip(&ws.1) {
                    *acc += v;
                }
            } else {
                let rec = &records[i * r..(i + 1) * r];
                let f = &self.fields[m];
                f.vjp_recorded_add(t[i], yi, p, ai, &mut ws.0, rec, vy, vjp_p_acc, &mut ws.1);
            }
        }
    }
}

/// A batch integrated as one system (shared steps, one error norm over every member, as
/// diffrax does with a vmapped field): the state is the members' states stacked, member
/// after member. Every member must share t0 and the output times. For comparison with the
/// lock-step solver, which lets each member keep its own steps.
pub struct Stacked<'a, F> {
    field: &'a F,
    rows: Vec<usize>,
}

impl<'a, F: BatchField> Stacked<'a, F> {
    /// All of `field`'s members as one system.
    pub fn new(field: &'a F) -> Self {
        Self {
            field,
            rows: (0..field.members()).collect(),
        }
    }
}

/// Scratch of a [`Stacked`] field: the batched field's, the rows' times and a record buffer
/// for VJPs without records.
pub struct StackedWorkspace<W> {
    inner: W,
    t: Vec<f64>,
    rec: Vec<f64>,
    dy: Vec<f64>,
}

impl<F: BatchField> VectorField for Stacked<'_, F> {
    type Workspace = StackedWorkspace<F::Workspace>;

    fn dim(&self) -> usize {
        self.rows.len() * self.field.dim()
    }
    fn num_params(&self) -> usize {
        self.field.num_params()
    }
    fn workspace(&self) -> Self::Workspace {
        let m = self.rows.len();
        StackedWorkspace {
            inner: self.field.workspace(m),
            t: vec![0.0; m],
            rec: vec![0.0; m * self.field.record_len()],
            dy: vec![0.0; self.dim()],
        }
    }
    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut Self::Workspace, dy: &mut [f64]) {
        ws.t.fill(t);
        self.field
            .eval_rows(&self.rows, &ws.t, y, p, &mut ws.inner, dy, &mut [])
    }
    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        ws.t.fill(t);
        let f = self.field;
        f.eval_rows(
            &self.rows,
            &ws.t,
            y,
            p,
            &mut ws.inner,
            &mut ws.dy,
            &mut ws.rec,
        );
        vjp_p.fill(0.0);
        f.vjp_rows_add(
            &self.rows,
            &ws.t,
            y,
            p,
            a,
            &mut ws.inner,
            &ws.rec,
            vjp_y,
            vjp_p,
        );
    }
    fn record_len(&self) -> usize {
        self.rows.len() * self.field.record_len()
    }
    fn eval_record(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        record: &mut [f64],
    ) {
        ws.t.fill(t);
        self.field
            .eval_rows(&self.rows, &ws.t, y, p, &mut ws.inner, dy, record)
    }
    fn vjp_recorded(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        record: &[f64],
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        vjp_p.fill(0.0);
        self.vjp_recorded_add(t, y, p, a, ws, record, vjp_y, vjp_p, &mut []);
    }
    fn vjp_recorded_add(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        record: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
        _scratch_p: &mut [f64],
    ) {
        ws.t.fill(t);
        let rows = &self.rows;
        self.field.vjp_rows_add(
            rows,
            &ws.t,
            y,
            p,
            a,
            &mut ws.inner,
            record,
            vjp_y,
            vjp_p_acc,
        )
    }
}

/// Gathered rows of one batched call, reused across calls (no allocation per stage).
struct Rows {
    lane: Vec<usize>,
    member: Vec<usize>,
    t: Vec<f64>,
    y: Vec<f64>,
    out: Vec<f64>,
    a: Vec<f64>,
    rec: Vec<f64>,
}

impl Rows {
    fn new(cap: usize, n: usize, r: usize) -> Self {
        Self {
            lane: Vec::with_capacity(cap),
            member: Vec::with_capacity(cap),
            t: Vec::with_capacity(cap),
            y: Vec::with_capacity(cap * n),
            out: vec![0.0; cap * n],
            a: Vec::with_capacity(cap * n),
            rec: vec![0.0; cap * r],
        }
    }
    fn clear(&mut self) {
        self.lane.clear();
        self.member.clear();
        self.t.clear();
        self.y.clear();
        self.a.clear();
    }
    fn push(&mut self, lane: usize, member: usize, t: f64, y: &[f64]) {
        self.lane.push(lane);
        self.member.push(member);
        self.t.push(t);
        self.y.extend_from_slice(y);
    }
}

/// A problem being solved in the lock-step forward pass.
struct Lane {
    track: Option<Track>,
    out: Vec<f64>,
    dense: Option<DenseOutput>,
    /// The current step's 7 stage records.
    records: Vec<f64>,
    result: Option<Result<Stats>>,
}

impl Lane {
    fn fail(&mut self, e: OdeError) {
        self.track = None;
        self.result = Some(Err(e));
    }
}

/// Evaluates the rows gathered in `rows` and scatters them: f into stage `s` of each lane's
/// `k` (or into `k[n..2n]` for the initial-step probe, `s = None`), records into the lane's
/// stage record when recording.
fn eval_gathered<F: BatchField>(
    f: &F,
    p: &[f64],
    ws: &mut F::Workspace,
    rows: &mut Rows,
    lanes: &mut [Lane],
    s: Option<usize>,
    r: usize,
) {
    let (n, m) = (f.dim(), rows.lane.len());
    if m == 0 {
        return;
    }
    let record = r > 0 && s.is_some();
    let rec = if record {
        &mut rows.rec[..m * r]
    } else {
        &mut []
    };
    f.eval_rows(
        &rows.member,
        &rows.t,
        &rows.y,
        p,
        ws,
        &mut rows.out[..m * n],
        rec,
    );
    let stage = s.unwrap_or(1);
    for (i, &l) in rows.lane.iter().enumerate() {
        let lane = &mut lanes[l];
        let tr = lane.track.as_mut().expect("gathered lanes are running");
        tr.k[stage * n..(stage + 1) * n].copy_from_slice(&rows.out[i * n..(i + 1) * n]);
        if record {
            lane.records[stage * r..(stage + 1) * r].copy_from_slice(&rows.rec[i * r..(i + 1) * r]);
        }
    }
}

/// Steps each lane's dense output has room for before it grows (a trained neural ODE takes
/// 5-30 steps per trajectory).
const RESERVED_STEPS: usize = 32;

/// Forward lock-step solve of `problems` (members `first_member..`), each with its own
/// steps. With `record`, keeps dense output and stage records for the discrete adjoint.
fn forward<F: BatchField>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    first_member: usize,
    opts: &SolverOptions,
    record: bool,
) -> Vec<Result<Solution>> {
    let n = f.dim();
    let everyone = |e: OdeError| problems.iter().map(|_| Err(e.clone())).collect();
    if let Err(e) = check_len("p", f.num_params(), p.len()) {
        return everyone(e);
    }
    if first_member + problems.len() > f.members() {
        return everyone(OdeError::InvalidOption(format!(
            "{} problems from member {first_member} but the field has {} members",
            problems.len(),
            f.members()
        )));
    }
    let (rtol, atol) = match opts.validate(n) {
        Ok(v) => v,
        Err(e) => return everyone(e),
    };
    let dense = record || opts.dense;
    let r = if record { f.record_len() } else { 0 };
    let mut lanes: Vec<Lane> = problems
        .iter()
        .map(|pr| {
            let mut out = Vec::with_capacity(pr.save_at.len() * n);
            let (track, result) = match Track::new(n, pr.t0, pr.y0, pr.save_at, &mut out) {
                Ok(Some(tr)) => (Some(tr), None),
                Ok(None) => (None, Some(Ok(Stats::default()))),
                Err(e) => (None, Some(Err(e))),
            };
            Lane {
                track,
                out,
                dense: dense.then(|| DenseOutput::with_capacity(n, r, RESERVED_STEPS)),
                records: vec![0.0; 7 * r],
                result,
            }
        })
        .collect();
    let mut ws = f.workspace(problems.len());
    let mut rows = Rows::new(problems.len(), n, r);

    // f(t0, y0), then the automatic first steps' probes.
    rows.clear();
    for (l, lane) in lanes.iter().enumerate() {
        if let Some(tr) = &lane.track {
            rows.push(l, first_member + l, tr.t, &tr.y);
        }
    }
    eval_gathered(f, p, &mut ws, &mut rows, &mut lanes, Some(0), r);
    rows.clear();
    for (l, lane) in lanes.iter_mut().enumerate() {
        let Some(tr) = lane.track.as_mut() else {
            continue;
        };
        match tr.start(opts, &rtol, &atol) {
            Ok(Some(t1)) => rows.push(l, first_member + l, t1, &tr.ytmp),
            Ok(None) => {}
            Err(e) => lane.fail(e),
        }
    }
    let probes = rows.lane.clone();
    eval_gathered(f, p, &mut ws, &mut rows, &mut lanes, None, r);
    for l in probes {
        if let Some(tr) = lanes[l].track.as_mut() {
            tr.finish_probe(opts, &rtol, &atol);
        }
    }

    loop {
        for lane in lanes.iter_mut() {
            if let Some(tr) = lane.track.as_mut() {
                if let Err(e) = tr.begin_step(opts) {
                    lane.fail(e);
                }
            }
        }
        if lanes.iter().all(|l| l.track.is_none()) {
            break;
        }
        for s in 1..7 {
            rows.clear();
            for (l, lane) in lanes.iter_mut().enumerate() {
                if let Some(tr) = lane.track.as_mut() {
                    let ts = if s < 6 {
                        tr.stage_input(s)
                    } else {
                        tr.combine()
                    };
                    let ys = if s < 6 { &tr.ytmp } else { &tr.ynew };
                    rows.push(l, first_member + l, ts, ys);
                }
            }
            eval_gathered(f, p, &mut ws, &mut rows, &mut lanes, Some(s), r);
        }
        for (l, lane) in lanes.iter_mut().enumerate() {
            let Some(tr) = lane.track.as_mut() else {
                continue;
            };
            let outcome = tr.end_step(
                opts,
                &rtol,
                &atol,
                problems[l].save_at,
                &mut lane.out,
                lane.dense.as_mut(),
                &lane.records,
            );
            match outcome {
                Err(e) => lane.fail(e),
                Ok(Outcome::Rejected) => {}
                Ok(Outcome::Accepted) => lane.records.copy_within(6 * r..7 * r, 0),
                Ok(Outcome::Finished) => {
                    let st = lane.track.take().expect("running").st;
                    lane.result = Some(Ok(st));
                }
            }
        }
    }
    lanes
        .into_iter()
        .zip(problems)
        .map(|(lane, pr)| {
            let stats = lane.result.expect("every lane ends")?;
            Ok(Solution {
                n,
                t0: pr.t0,
                y0: pr.y0.to_vec(),
                t: pr.save_at.to_vec(),
                y: lane.out,
                stats,
                dense: lane.dense,
            })
        })
        .collect()
}

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
    forward(f, p, problems, 0, opts, false)
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
        .map(|(c, chunk)| forward(f, p, chunk, c * rows_per_call, opts, true))
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
        .map(|members| backward(f, p, &sols, &losses, members))
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

/// One backward chunk's parameter gradient, per-member y0 gradients and counters.
type ChunkGradient = (Vec<f64>, Vec<Vec<f64>>, Stats);

/// A problem on its way back through its steps.
struct Back<'a> {
    sol: &'a Solution,
    d: &'a DenseOutput,
    dl: &'a [f64],
    owner: Vec<Option<usize>>,
    k_out: usize,
    ybar: Vec<f64>,
    kbar: Vec<f64>,
    /// The stage-7 VJP of the step about to be processed was folded into the previous
    /// round's stage-1 VJP (same point, FSAL).
    folded: bool,
}

/// Adds the stage-7 cotangent of step `i` that its outputs give (h w_7(theta) g for each
/// output the step owns; the outputs are those just below `k_out`) into `a`.
fn fold_fsal_outputs(
    sol: &Solution,
    d: &DenseOutput,
    dl: &[f64],
    owner: &[Option<usize>],
    k_out: usize,
    i: usize,
    a: &mut [f64],
) {
    let n = sol.n;
    let (t, h) = (d.t[i], d.h[i]);
    let mut k = k_out;
    while k > 0 && owner[k - 1] == Some(i) {
        k -= 1;
        let w = dense_weights(((sol.t[k] - t) / h).clamp(0.0, 1.0));
        for (av, g) in a.iter_mut().zip(&dl[k * n..(k + 1) * n]) {
            *av += h * w[6] * g;
        }
    }
}

fn backward<F: BatchField>(
    f: &F,
    p: &[f64],
    sols: &[Solution],
    losses: &[(f64, Vec<f64>)],
    members: &[usize],
) -> Result<ChunkGradient> {
    let n = f.dim();
    let mut stats = Stats::default();
    let mut backs = Vec::with_capacity(members.len());
    for &i in members {
        let (sol, dl) = (&sols[i], losses[i].1.as_slice());
        let d = sol.dense.as_ref().ok_or(OdeError::MissingDenseOutput)?;
        let (owner, _) = output_owners(sol, d, dl);
        backs.push(Back {
            sol,
            d,
            k_out: sol.t.len(),
            dl,
            owner,
            ybar: vec![0.0; n],
            kbar: vec![0.0; 7 * n],
            folded: false,
        });
    }
    // Folding stage 7 into the next step's stage 1 needs Tsit5's FSAL structure.
    debug_assert!(B[6] == 0.0 && (0..6).all(|j| A[6][j] == B[j]) && C[6] == 1.0);
    let r = f.record_len();
    let mut ws = f.workspace(members.len());
    let mut rows = Rows::new(members.len(), n, r);
    let mut pbar = vec![0.0; p.len()];
    let mut stage_y = vec![0.0; n];
    let most = backs.iter().map(|b| b.d.num_steps()).max().unwrap_or(0);
    // Round j takes step (steps - 1 - j) of every problem that has one.
    for round in 0..most {
        let step = |b: &Back| b.d.num_steps().checked_sub(round + 1);
        for b in backs.iter_mut() {
            if let Some(i) = step(b) {
                let (sol, d, dl, owner) = (b.sol, b.d, b.dl, &b.owner);
                seed_step(sol, d, dl, owner, i, &mut b.k_out, &mut b.ybar, &mut b.kbar);
            }
        }
        for s in (0..7).rev() {
            rows.clear();
            for (l, b) in backs.iter_mut().enumerate() {
                let Some(i) = step(b) else { continue };
                let cot = &b.kbar[s * n..(s + 1) * n];
                // Stage 7 (FSAL, b_7 = 0) has a cotangent only from outputs inside the step;
                // skip it when zero or when it was folded into the next step's stage 1.
                if s == 6 && (b.folded || cot.iter().all(|&v| v == 0.0)) {
                    continue;
                }
                stage_state(b.d, i, s, &mut stage_y);
                let m = rows.lane.len();
                rows.push(l, members[l], b.d.t[i] + C[s] * b.d.h[i], &stage_y);
                rows.a.extend_from_slice(cot);
                if s == 0 {
                    // Stage 1 of step i is f at (t_i, y_i), the point of stage 7 of step
                    // i - 1: one VJP of the summed cotangents serves both. Stage 7's
                    // cotangent comes only from the outputs inside step i - 1, and its
                    // Y_7 = y + h sum_j a_7j k_j with a_7j = b_j feeds y and the stages as
                    // y_i does, so nothing else changes.
                    b.folded = i > 0;
                    if i > 0 {
                        let a = &mut rows.a[m * n..(m + 1) * n];
                        fold_fsal_outputs(b.sol, b.d, b.dl, &b.owner, b.k_out, i - 1, a);
                    }
                }
                if r > 0 {
                    rows.rec[m * r..(m + 1) * r]
                        .copy_from_slice(&b.d.records[(i * 7 + s) * r..(i * 7 + s + 1) * r]);
                }
            }
            let m = rows.lane.len();
            f.vjp_rows_add(
                &rows.member,
                &rows.t,
                &rows.y,
                p,
                &rows.a,
                &mut ws,
                &rows.rec[..m * r],
                &mut rows.out[..m * n],
                &mut pbar,
            );
            stats.nvjp += m;
            for (row, &l) in rows.lane.iter().enumerate() {
                let b = &mut backs[l];
                let h = b.d.h[step(b).expect("gathered")];
                let vy = &rows.out[row * n..(row + 1) * n];
                spread_stage(h, s, vy, &mut b.ybar, &mut b.kbar);
            }
        }
        stats.accepted += backs.iter().filter(|b| step(b).is_some()).count();
    }
    let y0 = backs
        .into_iter()
        .map(|mut b| {
            // Outputs at t0 act on y0 directly.
            while b.k_out > 0 {
                b.k_out -= 1;
                for l in 0..n {
                    b.ybar[l] += b.dl[b.k_out * n + l];
                }
            }
            b.ybar
        })
        .collect();
    Ok((pbar, y0, stats))
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
