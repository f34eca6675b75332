//! The adaptive Tsit5 integrator: one step driver for a single problem and for a lock-step
//! batch (a single solve is a batch of one).

use crate::checks::check_len;
use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::rows::{BatchField, Rows, RowsOf};
use crate::track::{Outcome, Track};

/// One initial-value problem of a batch: its own start, initial state and output times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Problem<'a> {
    /// Initial time.
    pub t0: f64,
    /// Initial state.
    pub y0: &'a [f64],
    /// Output times.
    pub save_at: &'a [f64],
}

/// What the step driver evaluates: the stage inputs of the problems still running, gathered
/// as rows (row r is problem `members[r]` at time `t[r]` and state `y[r]`, row-major).
pub(crate) trait Stages {
    /// State dimension of one problem.
    fn dim(&self) -> usize;
    /// Length of the record one row's evaluation leaves (0: none).
    fn record_len(&self) -> usize {
        0
    }
    /// Makes the scratch memory, called once the lanes exist (see [`WithParams`]).
    fn prepare(&mut self) {}
    /// Writes f of every row into `dy`, and each row's record when `records` is not empty.
    fn eval(
        &mut self,
        members: &[usize],
        t: &[f64],
        y: &[f64],
        dy: &mut [f64],
        records: &mut [f64],
    );
}

/// A right-hand side of one point with its own scratch: the adjoint's and the forward
/// sensitivities' augmented systems, driven as batches of one row.
pub(crate) trait Rhs {
    fn dim(&self) -> usize;
    fn call(&mut self, t: f64, y: &[f64], dy: &mut [f64]);
}

impl<R: Rhs> Stages for R {
    fn dim(&self) -> usize {
        Rhs::dim(self)
    }
    fn eval(&mut self, _: &[usize], t: &[f64], y: &[f64], dy: &mut [f64], _: &mut [f64]) {
        let n = Rhs::dim(self);
        for (i, &ti) in t.iter().enumerate() {
            self.call(ti, &y[i * n..(i + 1) * n], &mut dy[i * n..(i + 1) * n]);
        }
    }
}

/// A batched field with its parameters and scratch. The driver makes the scratch
/// ([`Stages::prepare`]) after its lanes and before its gathered rows, the order the
/// lock-step solver always had: in another order glibc's allocator stopped reusing the freed
/// step storage between batches, and a lock-step gradient of the paper configuration took
/// 10x the page faults (295k against 29k) and 8 % longer.
struct WithParams<'a, F: BatchField> {
    f: &'a F,
    p: &'a [f64],
    rows: usize,
    ws: Option<F::Workspace>,
}

impl<F: BatchField> Stages for WithParams<'_, F> {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn record_len(&self) -> usize {
        self.f.record_len()
    }
    fn eval(
        &mut self,
        members: &[usize],
        t: &[f64],
        y: &[f64],
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        let ws = self.ws.get_or_insert_with(|| self.f.workspace(self.rows));
        let at = Rows {
            members,
            t,
            y,
            p: self.p,
        };
        self.f.eval_rows(at, ws, dy, records)
    }
    fn prepare(&mut self) {
        if self.ws.is_none() {
            self.ws = Some(self.f.workspace(self.rows));
        }
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
    let rows = RowsOf::new(std::slice::from_ref(f))?;
    let problem = [Problem { t0, y0, save_at }];
    let mut sols = solve_rows(&rows, p, &problem, 0, opts, opts.dense);
    sols.pop().expect("one problem, one solution")
}

/// Solves `problems` (members `first_member..` of `f`), each with its own steps, gathering
/// the stages of the problems still running into one batched call. With `record`, keeps
/// dense output and stage records for the discrete adjoint.
pub(crate) fn solve_rows<F: BatchField>(
    f: &F,
    p: &[f64],
    problems: &[Problem<'_>],
    first_member: usize,
    opts: &SolverOptions,
    record: bool,
) -> Vec<Result<Solution>> {
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
    let mut stages = WithParams {
        f,
        p,
        rows: problems.len(),
        ws: None,
    };
    let dense = record || opts.dense;
    drive(&mut stages, problems, first_member, opts, dense, record)
        .into_iter()
        .zip(problems)
        .map(|(run, pr)| {
            let (stats, y, dense) = run?;
            Ok(Solution {
                n: f.dim(),
                t0: pr.t0,
                y0: pr.y0.to_vec(),
                t: pr.save_at.to_vec(),
                y,
                stats,
                dense,
            })
        })
        .collect()
}

/// Integrates one augmented system (no dense output) and appends its states at `save_at` to
/// `out`.
pub(crate) fn integrate<R: Rhs>(
    rhs: &mut R,
    t0: f64,
    y0: &[f64],
    save_at: &[f64],
    opts: &SolverOptions,
    out: &mut Vec<f64>,
) -> Result<Stats> {
    let problem = [Problem { t0, y0, save_at }];
    let run = drive(rhs, &problem, 0, opts, false, false)
        .pop()
        .expect("one problem, one run")?;
    out.extend_from_slice(&run.1);
    Ok(run.0)
}

/// One problem's counters, states at its output times and (when kept) its steps.
type Run = (Stats, Vec<f64>, Option<DenseOutput>);

/// Gathered rows of one batched call, reused across calls (no allocation per stage); the
/// forward driver and the discrete adjoint's backward pass both gather into it.
pub(crate) struct RowBuffers {
    pub lane: Vec<usize>,
    pub member: Vec<usize>,
    pub t: Vec<f64>,
    pub y: Vec<f64>,
    pub out: Vec<f64>,
    pub a: Vec<f64>,
    pub rec: Vec<f64>,
}

impl RowBuffers {
    pub fn new(cap: usize, n: usize, r: usize) -> Self {
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
    pub fn clear(&mut self) {
        self.lane.clear();
        self.member.clear();
        self.t.clear();
        self.y.clear();
        self.a.clear();
    }
    /// A row whose state is gathered later (or not at all, when it is the only one).
    fn push_lane(&mut self, lane: usize, member: usize, t: f64) {
        self.lane.push(lane);
        self.member.push(member);
        self.t.push(t);
    }
    pub fn push(&mut self, lane: usize, member: usize, t: f64, y: &[f64]) {
        self.push_lane(lane, member, t);
        self.y.extend_from_slice(y);
    }
}

/// Which of a track's states a stage evaluates f at.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The step's start (stage 1).
    Y,
    /// A stage input, or the initial step's probe.
    Ytmp,
    /// The new solution (stage 7, FSAL).
    Ynew,
}

/// A problem being solved.
struct Lane {
    track: Option<Track>,
    out: Vec<f64>,
    /// Every accepted step and, when recording, the stage records of those steps and of the
    /// step being attempted.
    dense: Option<DenseOutput>,
    result: Option<Result<Stats>>,
}

impl Lane {
    fn fail(&mut self, e: OdeError) {
        self.track = None;
        self.result = Some(Err(e));
    }
}

/// Evaluates f at the rows listed in `rows` (each lane's state `at`) and scatters them: f
/// into stage `s` of each lane's `k` (or into `k[n..2n]` for the initial-step probe,
/// `s = None`), records onto the lane's dense output when recording. A single row (a single
/// solve, or the last problem of a batch) is evaluated in place, without gathering copies.
fn eval_gathered<S: Stages>(
    f: &mut S,
    rows: &mut RowBuffers,
    lanes: &mut [Lane],
    s: Option<usize>,
    at: At,
    r: usize,
) {
    let (n, m) = (f.dim(), rows.lane.len());
    if m == 0 {
        return;
    }
    let record = r > 0 && s.is_some();
    let stage = s.unwrap_or(1);
    if m == 1 {
        let Lane { track, dense, .. } = &mut lanes[rows.lane[0]];
        let Track {
            y, ytmp, ynew, k, ..
        } = track.as_mut().expect("gathered lanes are running");
        let ys: &[f64] = match at {
            At::Y => y,
            At::Ytmp => ytmp,
            At::Ynew => ynew,
        };
        let rec: &mut [f64] = if record { &mut rows.rec[..r] } else { &mut [] };
        f.eval(
            &rows.member,
            &rows.t,
            ys,
            &mut k[stage * n..(stage + 1) * n],
            rec,
        );
        if record {
            let d = dense
                .as_mut()
                .expect("records are kept with the dense output");
            d.push_record(stage, &rows.rec[..r]);
        }
        return;
    }
    rows.y.clear();
    for &l in &rows.lane {
        let tr = lanes[l].track.as_ref().expect("gathered lanes are running");
        rows.y.extend_from_slice(match at {
            At::Y => &tr.y,
            At::Ytmp => &tr.ytmp,
            At::Ynew => &tr.ynew,
        });
    }
    let rec: &mut [f64] = if record {
        &mut rows.rec[..m * r]
    } else {
        &mut []
    };
    f.eval(&rows.member, &rows.t, &rows.y, &mut rows.out[..m * n], rec);
    for (i, &l) in rows.lane.iter().enumerate() {
        let lane = &mut lanes[l];
        let tr = lane.track.as_mut().expect("gathered lanes are running");
        tr.k[stage * n..(stage + 1) * n].copy_from_slice(&rows.out[i * n..(i + 1) * n]);
        if record {
            let d = lane
                .dense
                .as_mut()
                .expect("records are kept with the dense output");
            d.push_record(stage, &rows.rec[i * r..(i + 1) * r]);
        }
    }
}

/// Steps each lane of a batch has room for in its dense output before it grows (a trained
/// neural ODE takes 5-30 steps per trajectory). A single solve reserves nothing and grows as
/// it goes: reserving 32 steps of records cost a 5-step solve 5 % (a large block fetched and
/// returned to the system per solve).
const RESERVED_STEPS: usize = 32;

/// The step loop of every solve: `problems` (members `first_member..` of `f`), each with its
/// own steps, error control and output times (a [`Track`] each); the stage evaluations of the
/// problems still running go through `f` together. With `dense`, keeps every step; with
/// `record`, also the stages' records.
fn drive<S: Stages>(
    f: &mut S,
    problems: &[Problem<'_>],
    first_member: usize,
    opts: &SolverOptions,
    dense: bool,
    record: bool,
) -> Vec<Result<Run>> {
    let n = f.dim();
    let (rtol, atol) = match opts.validate(n) {
        Ok(v) => v,
        Err(e) => return problems.iter().map(|_| Err(e.clone())).collect(),
    };
    let r = if record { f.record_len() } else { 0 };
    let reserved = if problems.len() > 1 {
        RESERVED_STEPS
    } else {
        0
    };
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
                dense: dense.then(|| DenseOutput::with_capacity(n, r, reserved)),
                result,
            }
        })
        .collect();
    f.prepare();
    let mut rows = RowBuffers::new(problems.len(), n, r);

    // f(t0, y0), then the automatic first steps' probes.
    rows.clear();
    for (l, lane) in lanes.iter().enumerate() {
        if let Some(tr) = &lane.track {
            rows.push_lane(l, first_member + l, tr.t);
        }
    }
    eval_gathered(f, &mut rows, &mut lanes, Some(0), At::Y, r);
    rows.clear();
    for (l, lane) in lanes.iter_mut().enumerate() {
        let Some(tr) = lane.track.as_mut() else {
            continue;
        };
        match tr.start(opts, &rtol, &atol) {
            Ok(Some(t1)) => rows.push_lane(l, first_member + l, t1),
            Ok(None) => {}
            Err(e) => lane.fail(e),
        }
    }
    let probes = rows.lane.clone();
    eval_gathered(f, &mut rows, &mut lanes, None, At::Ytmp, r);
    for l in probes {
        if let Some(tr) = lanes[l].track.as_mut() {
            tr.finish_probe(opts, &rtol, &atol);
        }
    }

    loop {
        for lane in lanes.iter_mut() {
            if let Some(tr) = lane.track.as_mut()
                && let Err(e) = tr.begin_step(opts)
            {
                lane.fail(e);
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
                    rows.push_lane(l, first_member + l, ts);
                }
            }
            let at = if s < 6 { At::Ytmp } else { At::Ynew };
            eval_gathered(f, &mut rows, &mut lanes, Some(s), at, r);
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
            );
            let recorded = lane.dense.as_mut().filter(|_| r > 0);
            match outcome {
                Err(e) => lane.fail(e),
                Ok(Outcome::Rejected) => recorded.into_iter().for_each(|d| d.discard_attempt()),
                Ok(Outcome::Accepted) => recorded.into_iter().for_each(|d| d.carry_record()),
                Ok(Outcome::Finished) => {
                    let st = lane.track.take().expect("running").st;
                    lane.result = Some(Ok(st));
                }
            }
        }
    }
    lanes
        .into_iter()
        .map(|lane| Ok((lane.result.expect("every lane ends")?, lane.out, lane.dense)))
        .collect()
}
