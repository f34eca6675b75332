//! One problem's progress through an adaptive Tsit5 solve: its state, stages, step size and
//! error control, without the vector field. One step driver (`solver::drive`) moves every
//! track: [`crate::solve`] is a batch of one, the lock-step batch
//! ([`crate::gradient_lockstep`]) gathers the stage evaluations of many tracks into one
//! batched call, so both take the same steps.

use crate::checks::check_times;
use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::options::{SolverOptions, Stats};
use crate::tableau::{A, B, C, E, dense_weights};

/// What a finished step attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The error was too large; the step is retried with a smaller h.
    Rejected,
    /// Accepted; more steps follow.
    Accepted,
    /// Accepted, and it reached the last output time.
    Finished,
}

pub(crate) struct Track {
    pub n: usize,
    dir: f64,
    t_end: f64,
    span: f64,
    /// Start of the current step.
    pub t: f64,
    h_abs: f64,
    /// The current step (signed).
    pub h: f64,
    last: bool,
    err_prev: f64,
    last_failure_non_finite: bool,
    /// Index of the next output time.
    next: usize,
    pub st: Stats,
    pub y: Vec<f64>,
    pub ynew: Vec<f64>,
    /// Stage input (and the initial-step probe).
    pub ytmp: Vec<f64>,
    err: Vec<f64>,
    /// The seven stages, row-major; k[0] is f(t, y) (FSAL).
    pub k: Vec<f64>,
    /// Initial-step probe: (h0, d1) while the probe evaluation is pending.
    probe: Option<(f64, f64)>,
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

impl Track {
    /// Checks the inputs and writes the outputs at t0 onto `out`. `None` when every output
    /// time is t0 (nothing to integrate).
    pub fn new(
        n: usize,
        t0: f64,
        y0: &[f64],
        save_at: &[f64],
        out: &mut Vec<f64>,
    ) -> Result<Option<Self>> {
        crate::checks::check_len("y0", n, y0.len())?;
        let dir = check_times(t0, save_at)?;
        if y0.iter().any(|v| !v.is_finite()) {
            return Err(OdeError::NonFinite {
                what: "state",
                t: t0,
            });
        }
        let t_end = *save_at.last().expect("checked non-empty");
        let mut next = 0;
        while next < save_at.len() && save_at[next] == t0 {
            out.extend_from_slice(y0);
            next += 1;
        }
        if next == save_at.len() {
            return Ok(None);
        }
        Ok(Some(Self {
            n,
            dir,
            t_end,
            span: (t_end - t0).abs(),
            t: t0,
            h_abs: 0.0,
            h: 0.0,
            last: false,
            err_prev: 1e-4,
            last_failure_non_finite: false,
            next,
            st: Stats::default(),
            y: y0.to_vec(),
            ynew: vec![0.0; n],
            ytmp: vec![0.0; n],
            err: vec![0.0; n],
            k: vec![0.0; 7 * n],
            probe: None,
        }))
    }

    /// Call once f(t0, y0) is in `k[..n]`: checks it, and either takes the user's first step
    /// or prepares the automatic one's probe. Returns the probe time when f must next be
    /// evaluated at (time, `ytmp`) into `k[n..2n]` before [`Track::finish_probe`].
    pub fn start(
        &mut self,
        opts: &SolverOptions,
        rtol: &[f64],
        atol: &[f64],
    ) -> Result<Option<f64>> {
        let n = self.n;
        self.st.nfe += 1;
        if self.k[..n].iter().any(|v| !v.is_finite()) {
            return Err(OdeError::NonFinite {
                what: "derivative",
                t: self.t,
            });
        }
        match (opts.fixed_step, opts.initial_step) {
            (Some(h), _) | (None, Some(h)) => {
                self.set_first_step(h, opts);
                Ok(None)
            }
            (None, None) => {
                // Hairer, Norsett & Wanner, Solving ODEs I, Sec. II.4 ("Starting step size"),
                // for order 5: a probe evaluation at y0 + h0 f0.
                self.st.nfe += 1;
                let (y0, f0) = (&self.y, &self.k[..n]);
                let d0 = rms(y0, y0, rtol, atol);
                let d1 = rms(f0, y0, rtol, atol);
                let h0 = if d0 < 1e-5 || d1 < 1e-5 {
                    1e-6
                } else {
                    0.01 * d0 / d1
                };
                for i in 0..n {
                    self.ytmp[i] = y0[i] + self.dir * h0 * f0[i];
                }
                self.probe = Some((h0, d1));
                Ok(Some(self.t + self.dir * h0))
            }
        }
    }

    /// Completes the automatic first step from the probe's f in `k[n..2n]`.
    pub fn finish_probe(&mut self, opts: &SolverOptions, rtol: &[f64], atol: &[f64]) {
        let n = self.n;
        let (h0, d1) = self.probe.take().expect("a probe is pending");
        let (f0, rest) = self.k.split_at_mut(n);
        let f1 = &mut rest[..n];
        for i in 0..n {
            f1[i] -= f0[i];
        }
        let d2 = rms(f1, &self.y, rtol, atol) / h0;
        let m = d1.max(d2);
        let h1 = if m <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / m).powf(1.0 / 5.0)
        };
        let h = (100.0 * h0).min(h1);
        self.set_first_step(if h.is_finite() { h } else { 1e-6 }, opts);
    }

    fn set_first_step(&mut self, h: f64, opts: &SolverOptions) {
        self.h_abs = h.min(opts.max_step).min(self.span);
    }

    /// Sets up the next step attempt (its size and whether it is the last), or fails on the
    /// step limit or a step below the floor.
    pub fn begin_step(&mut self, opts: &SolverOptions) -> Result<()> {
        if self.st.accepted + self.st.rejected >= opts.max_steps {
            return Err(OdeError::MaxStepsReached {
                max_steps: opts.max_steps,
                t: self.t,
            });
        }
        let remaining = (self.t_end - self.t).abs();
        // Take the end exactly when within a hair, so no sliver step follows.
        self.last = self.h_abs >= remaining * (1.0 - 1e-12);
        if self.last {
            self.h_abs = remaining;
        }
        let floor = opts
            .min_step
            .max(16.0 * f64::EPSILON * self.t.abs().max(self.span));
        if self.h_abs < floor && !self.last {
            return Err(if self.last_failure_non_finite {
                OdeError::NonFinite {
                    what: "state",
                    t: self.t,
                }
            } else {
                OdeError::StepSizeUnderflow {
                    t: self.t,
                    h: self.h_abs,
                    min: floor,
                }
            });
        }
        self.h = self.dir * self.h_abs;
        Ok(())
    }

    /// Writes stage `s`'s input (1..6) into `ytmp` and returns its time.
    pub fn stage_input(&mut self, s: usize) -> f64 {
        let (n, h) = (self.n, self.h);
        for i in 0..n {
            let mut acc = 0.0;
            for j in 0..s {
                acc += A[s][j] * self.k[j * n + i];
            }
            self.ytmp[i] = self.y[i] + h * acc;
        }
        self.t + C[s] * h
    }

    /// Writes the fifth-order solution into `ynew` and returns its time, where the FSAL stage
    /// 7 is evaluated.
    pub fn combine(&mut self) -> f64 {
        let (n, h) = (self.n, self.h);
        for i in 0..n {
            let mut acc = 0.0;
            for j in 0..6 {
                acc += B[j] * self.k[j * n + i];
            }
            self.ynew[i] = self.y[i] + h * acc;
        }
        if self.last { self.t_end } else { self.t + h }
    }

    /// Judges the attempt once all seven stages are in `k`: on acceptance, writes the outputs
    /// it passed onto `out` and the step onto `dense`, and moves to the new state. The caller
    /// keeps the stage records in `dense` (and carries the FSAL record on acceptance).
    #[allow(clippy::too_many_arguments)]
    pub fn end_step(
        &mut self,
        opts: &SolverOptions,
        rtol: &[f64],
        atol: &[f64],
        save_at: &[f64],
        out: &mut Vec<f64>,
        dense: Option<&mut DenseOutput>,
    ) -> Result<Outcome> {
        let (n, h, t, last) = (self.n, self.h, self.t, self.last);
        let dir = self.dir;
        self.st.nfe += 6;
        let finite = self
            .ynew
            .iter()
            .chain(&self.k[6 * n..])
            .all(|v| v.is_finite());
        let e = if !finite {
            f64::INFINITY
        } else if opts.fixed_step.is_some() {
            0.0
        } else {
            for i in 0..n {
                let mut acc = 0.0;
                for j in 0..7 {
                    acc += E[j] * self.k[j * n + i];
                }
                self.err[i] = h * acc;
            }
            error_norm(&self.err, &self.y, &self.ynew, rtol, atol)
        };
        let ctrl = opts.controller;
        if e > 1.0 {
            if opts.fixed_step.is_some() {
                return Err(OdeError::NonFinite { what: "state", t });
            }
            self.st.rejected += 1;
            self.last_failure_non_finite = !finite;
            let fac = if finite {
                (ctrl.safety * e.powf(-ctrl.alpha)).max(ctrl.fac_min)
            } else {
                ctrl.fac_min
            };
            self.h_abs *= fac.min(1.0);
            return Ok(Outcome::Rejected);
        }
        self.st.accepted += 1;
        let t_new = if last { self.t_end } else { t + h };
        while self.next < save_at.len() && (last || dir * (save_at[self.next] - t_new) <= 0.0) {
            let s = save_at[self.next];
            if last && s == self.t_end || s == t_new {
                out.extend_from_slice(&self.ynew);
            } else {
                let w = dense_weights((s - t) / h);
                for i in 0..n {
                    let mut acc = 0.0;
                    for j in 0..7 {
                        acc += w[j] * self.k[j * n + i];
                    }
                    out.push(self.y[i] + h * acc);
                }
            }
            self.next += 1;
        }
        if let Some(d) = dense {
            d.push(t, h, &self.y, &self.k);
        }
        self.t = t_new;
        std::mem::swap(&mut self.y, &mut self.ynew);
        self.k.copy_within(6 * n..7 * n, 0);
        if last {
            return Ok(Outcome::Finished);
        }
        if opts.fixed_step.is_none() {
            let fac = if e == 0.0 {
                ctrl.fac_max
            } else {
                (ctrl.safety * e.powf(-ctrl.alpha) * self.err_prev.powf(ctrl.beta))
                    .clamp(ctrl.fac_min, ctrl.fac_max)
            };
            self.err_prev = e.max(1e-4);
            self.h_abs = (self.h_abs * fac).min(opts.max_step);
        }
        self.last_failure_non_finite = false;
        Ok(Outcome::Accepted)
    }
}
