//! The adaptive Tsit5 integrator.

use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::tableau::{A, B, C, E, dense_weights};

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

/// Scaled RMS norm of `e` with weights atol + rtol max(|y|, |y_new|) (Hairer, Norsett &
/// Wanner, eq. II.4.11).
#[inline]
fn error_norm(e: &[f64], y: &[f64], ynew: &[f64], rtol: &[f64], atol: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..e.len() {
        let sc = atol[i] + rtol[i] * y[i].abs().max(ynew[i].abs());
        let r = e[i] / sc;
        s += r * r;
    }
    (s / e.len().max(1) as f64).sqrt()
}

fn rms(v: &[f64], y: &[f64], rtol: &[f64], atol: &[f64]) -> f64 {
    error_norm(v, y, y, rtol, atol)
}

/// Initial step of Hairer, Norsett & Wanner, Solving ODEs I, Sec. II.4 ("Starting step
/// size"), for order 5. Costs one evaluation of f.
fn initial_step<R: Rhs>(
    rhs: &mut R,
    (t0, dir): (f64, f64),
    (y0, f0): (&[f64], &[f64]),
    (rtol, atol): (&[f64], &[f64]),
    (y1, f1): (&mut [f64], &mut [f64]),
) -> f64 {
    let d0 = rms(y0, y0, rtol, atol);
    let d1 = rms(f0, y0, rtol, atol);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    for i in 0..y0.len() {
        y1[i] = y0[i] + dir * h0 * f0[i];
    }
    rhs.call(t0 + dir * h0, y1, f1);
    for i in 0..y0.len() {
        f1[i] -= f0[i];
    }
    let d2 = rms(f1, y0, rtol, atol) / h0;
    let m = d1.max(d2);
    let h1 = if m <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / m).powf(1.0 / 5.0)
    };
    let h = (100.0 * h0).min(h1);
    if h.is_finite() { h } else { 1e-6 }
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
    let dir = check_times(t0, save_at)?;
    if y0.iter().any(|v| !v.is_finite()) {
        return Err(OdeError::NonFinite {
            what: "state",
            t: t0,
        });
    }
    let t_end = *save_at.last().expect("checked non-empty");
    let mut st = Stats::default();

    let mut k = vec![0.0; 7 * n];
    let mut y = y0.to_vec();
    let mut ynew = vec![0.0; n];
    let mut ytmp = vec![0.0; n];
    let mut err = vec![0.0; n];

    let mut next = 0;
    while next < save_at.len() && save_at[next] == t0 {
        out.extend_from_slice(&y);
        next += 1;
    }
    if next == save_at.len() {
        return Ok(st);
    }

    rhs.call_stage(t0, &y, &mut k[..n], 0);
    st.nfe += 1;
    if k[..n].iter().any(|v| !v.is_finite()) {
        return Err(OdeError::NonFinite {
            what: "derivative",
            t: t0,
        });
    }

    let span = (t_end - t0).abs();
    let mut h_abs = match (opts.fixed_step, opts.initial_step) {
        (Some(h), _) => h,
        (None, Some(h)) => h,
        (None, None) => {
            st.nfe += 1;
            let (a, b) = k.split_at_mut(n);
            initial_step(
                rhs,
                (t0, dir),
                (&y, a),
                (&rtol, &atol),
                (&mut ytmp, &mut b[..n]),
            )
        }
    };
    h_abs = h_abs.min(opts.max_step).min(span);
    let ctrl = opts.controller;
    let mut err_prev: f64 = 1e-4;
    let mut t = t0;
    let mut last_failure_non_finite = false;

    loop {
        if st.accepted + st.rejected >= opts.max_steps {
            return Err(OdeError::MaxStepsReached {
                max_steps: opts.max_steps,
                t,
            });
        }
        let remaining = (t_end - t).abs();
        // Take the end exactly when within a hair, so no sliver step follows.
        let last = h_abs >= remaining * (1.0 - 1e-12);
        if last {
            h_abs = remaining;
        }
        let floor = opts.min_step.max(16.0 * f64::EPSILON * t.abs().max(span));
        if h_abs < floor && !last {
            return Err(if last_failure_non_finite {
                OdeError::NonFinite { what: "state", t }
            } else {
                OdeError::StepSizeUnderflow {
                    t,
                    h: h_abs,
                    min: floor,
                }
            });
        }
        let h = dir * h_abs;

        // Stages 2..6, then the fifth-order solution and the FSAL stage 7 at it.
        for s in 1..6 {
            for i in 0..n {
                let mut acc = 0.0;
                for j in 0..s {
                    acc += A[s][j] * k[j * n + i];
                }
                ytmp[i] = y[i] + h * acc;
            }
            let (_, ks) = k.split_at_mut(s * n);
            rhs.call_stage(t + C[s] * h, &ytmp, &mut ks[..n], s);
        }
        for i in 0..n {
            let mut acc = 0.0;
            for j in 0..6 {
                acc += B[j] * k[j * n + i];
            }
            ynew[i] = y[i] + h * acc;
        }
        let t_new = if last { t_end } else { t + h };
        {
            let (_, k7) = k.split_at_mut(6 * n);
            rhs.call_stage(t_new, &ynew, k7, 6);
        }
        st.nfe += 6;

        let finite = ynew.iter().chain(&k[6 * n..]).all(|v| v.is_finite());
        let e = if !finite {
            f64::INFINITY
        } else if opts.fixed_step.is_some() {
            0.0
        } else {
            for i in 0..n {
                let mut acc = 0.0;
                for j in 0..7 {
                    acc += E[j] * k[j * n + i];
                }
                err[i] = h * acc;
            }
            error_norm(&err, &y, &ynew, &rtol, &atol)
        };

        if e <= 1.0 {
            st.accepted += 1;
            while next < save_at.len() && (last || dir * (save_at[next] - t_new) <= 0.0) {
                let s = save_at[next];
                if last && s == t_end || s == t_new {
                    out.extend_from_slice(&ynew);
                } else {
                    let w = dense_weights((s - t) / h);
                    for i in 0..n {
                        let mut acc = 0.0;
                        for j in 0..7 {
                            acc += w[j] * k[j * n + i];
                        }
                        out.push(y[i] + h * acc);
                    }
                }
                next += 1;
            }
            if let Some(d) = dense.as_deref_mut() {
                d.push(t, h, &y, &k, rhs.stage_records());
            }
            rhs.carry_fsal();
            t = t_new;
            std::mem::swap(&mut y, &mut ynew);
            k.copy_within(6 * n..7 * n, 0);
            if last {
                break;
            }
            if opts.fixed_step.is_none() {
                let fac = if e == 0.0 {
                    ctrl.fac_max
                } else {
                    (ctrl.safety * e.powf(-ctrl.alpha) * err_prev.powf(ctrl.beta))
                        .clamp(ctrl.fac_min, ctrl.fac_max)
                };
                err_prev = e.max(1e-4);
                h_abs = (h_abs * fac).min(opts.max_step);
            }
            last_failure_non_finite = false;
        } else {
            if opts.fixed_step.is_some() {
                return Err(OdeError::NonFinite { what: "state", t });
            }
            st.rejected += 1;
            last_failure_non_finite = !finite;
            let fac = if finite {
                (ctrl.safety * e.powf(-ctrl.alpha)).max(ctrl.fac_min)
            } else {
                ctrl.fac_min
            };
            h_abs *= fac.min(1.0);
        }
    }
    Ok(st)
}
