//! Dense output: the solution between steps from Tsit5's own interpolant.

use crate::error::{OdeError, Result};
use crate::tableau::dense_weights;
use std::sync::Mutex;

/// Stage and record buffers of finished dense outputs, kept for the next batch's
/// ([`DenseOutput::recycle`]). A lock-step gradient of the paper's network stores about a
/// megabyte of stage records per trajectory; freed, the allocator may hand these pages back to
/// the system and the next batch faults them in again. One pool per kind, so a small stage
/// buffer is not taken where records need a large one.
static SPARE_K: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());
static SPARE_RECORDS: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// Memory a pool keeps at most, in f64 values (128 MB): a batch of 32 paper-network
/// trajectories needs about 60 MB of records; a larger batch keeps what fits.
const MAX_SPARE_VALUES: usize = 16 << 20;

/// An empty vector with room for `capacity`, from `pool` when it has one.
fn take(pool: &Mutex<Vec<Vec<f64>>>, capacity: usize) -> Vec<f64> {
    // A poisoned pool only means a panic elsewhere while pushing; its vectors are still fine.
    let spare = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
    match spare {
        Some(mut v) => {
            v.clear();
            v.reserve(capacity);
            v
        }
        None => Vec::with_capacity(capacity),
    }
}

/// Keeps `v` in `pool` for a later [`take`] (unless the pool is full or `v` holds nothing).
fn give(pool: &Mutex<Vec<Vec<f64>>>, v: Vec<f64>) {
    if v.capacity() == 0 {
        return;
    }
    let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
    let kept: usize = pool.iter().map(Vec::capacity).sum();
    if kept + v.capacity() <= MAX_SPARE_VALUES {
        pool.push(v);
    }
}

/// Every accepted step of a solve (start time, step, start state and the seven stages), so
/// the solution can be evaluated at any time in the integrated interval with the fourth-order
/// continuous extension of Tsitouras (2011).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DenseOutput {
    pub(crate) n: usize,
    pub(crate) t: Vec<f64>,
    pub(crate) h: Vec<f64>,
    pub(crate) y: Vec<f64>,
    pub(crate) k: Vec<f64>,
    /// Per step, the 7 stage records of the vector field (empty without records).
    pub(crate) records: Vec<f64>,
    pub(crate) record_len: usize,
}

impl DenseOutput {
    /// Room for `steps` steps without reallocating (a lock-step batch allocates all its
    /// lanes' storage up front instead of growing it step by step).
    pub(crate) fn with_capacity(n: usize, record_len: usize, steps: usize) -> Self {
        Self {
            n,
            record_len,
            t: Vec::with_capacity(steps),
            h: Vec::with_capacity(steps),
            y: Vec::with_capacity(steps * n),
            k: if steps > 0 {
                take(&SPARE_K, steps * 7 * n)
            } else {
                Vec::new()
            },
            records: if steps > 0 && record_len > 0 {
                take(&SPARE_RECORDS, steps * 7 * record_len)
            } else {
                Vec::new()
            },
        }
    }

    /// Gives the stage and record buffers back for the next [`DenseOutput::with_capacity`]
    /// (the lock-step gradient does so for every trajectory of a batch once it is done).
    pub(crate) fn recycle(self) {
        give(&SPARE_K, self.k);
        give(&SPARE_RECORDS, self.records);
    }

    /// Appends an accepted step. Its stage records are not copied here: the solver appends
    /// them to [`DenseOutput::records`] as the stages are evaluated ([`Self::push_record`]),
    /// so that a step's seven records are written once.
    pub(crate) fn push(&mut self, t: f64, h: f64, y: &[f64], k: &[f64]) {
        self.t.push(t);
        self.h.push(h);
        self.y.extend_from_slice(y);
        self.k.extend_from_slice(k);
    }

    /// Appends the record of stage `stage` of the step being attempted (stages in order, 0
    /// first; stage 0 of a step is carried from the previous step's stage 6 by
    /// [`Self::carry_record`]).
    pub(crate) fn push_record(&mut self, stage: usize, record: &[f64]) {
        let r = self.record_len;
        debug_assert_eq!(self.records.len(), (self.t.len() * 7 + stage) * r);
        self.records.extend_from_slice(record);
    }

    /// After a rejected attempt: drops its records but stage 0's, which the retry shares.
    pub(crate) fn discard_attempt(&mut self) {
        self.records
            .truncate((self.t.len() * 7 + 1) * self.record_len);
    }

    /// After an accepted step that is not the last: its stage 6 (the new state, FSAL) is
    /// stage 0 of the next.
    pub(crate) fn carry_record(&mut self) {
        let r = self.record_len;
        let start = (self.t.len() * 7 - 1) * r;
        self.records.extend_from_within(start..start + r);
    }

    /// Number of stored steps.
    pub fn num_steps(&self) -> usize {
        self.t.len()
    }

    /// The interval [start, end] covered (in integration order).
    pub fn span(&self) -> Option<(f64, f64)> {
        let last = self.t.len().checked_sub(1)?;
        Some((self.t[0], self.t[last] + self.h[last]))
    }

    /// Evaluates the solution at `t` into `out` (length n). Fails outside the solved interval.
    pub fn eval(&self, t: f64, out: &mut [f64]) -> Result<()> {
        let mut hint = 0;
        self.eval_with_hint(t, &mut hint, out)
    }

    /// As [`DenseOutput::eval`], starting the search at step `hint` and updating it; sequential
    /// (forward or backward) queries then cost O(1) each.
    pub fn eval_with_hint(&self, t: f64, hint: &mut usize, out: &mut [f64]) -> Result<()> {
        let (a, b) = self.span().ok_or(OdeError::MissingDenseOutput)?;
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        if !(t >= lo - 1e-12 * lo.abs().max(1.0) && t <= hi + 1e-12 * hi.abs().max(1.0)) {
            return Err(OdeError::InvalidTimes(format!(
                "t = {t} outside the solved interval [{lo}, {hi}]"
            )));
        }
        if out.len() != self.n {
            return Err(OdeError::LengthMismatch {
                what: "out",
                expected: self.n,
                got: out.len(),
            });
        }
        let i = self.locate(t, hint);
        let n = self.n;
        let theta = ((t - self.t[i]) / self.h[i]).clamp(0.0, 1.0);
        let w = dense_weights(theta);
        let h = self.h[i];
        let y = &self.y[i * n..(i + 1) * n];
        let k = &self.k[i * 7 * n..(i + 1) * 7 * n];
        for j in 0..n {
            let mut s = 0.0;
            for (s_idx, wi) in w.iter().enumerate() {
                s += wi * k[s_idx * n + j];
            }
            out[j] = y[j] + h * s;
        }
        Ok(())
    }

    /// The step containing t: t between t_i and t_i + h_i (direction aware).
    pub(crate) fn locate(&self, t: f64, hint: &mut usize) -> usize {
        let m = self.t.len();
        let dir = self.h[0].signum();
        let inside = |i: usize| {
            let s = dir * (t - self.t[i]);
            s >= 0.0 && s <= dir * self.h[i]
        };
        let mut i = (*hint).min(m - 1);
        // Walk from the hint; the adjoint queries move monotonically.
        if !inside(i) {
            let before = dir * (t - self.t[i]) < 0.0;
            // Binary search over step starts for the last start not after t.
            let (mut lo, mut hi) = if before { (0, i) } else { (i, m - 1) };
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if dir * (t - self.t[mid]) >= 0.0 {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            i = lo;
        }
        *hint = i;
        i
    }
}
