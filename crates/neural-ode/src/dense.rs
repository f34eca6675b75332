//! Dense output: the solution between steps from Tsit5's own interpolant.

use crate::error::{OdeError, Result};
use crate::tableau::dense_weights;

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
            k: Vec::with_capacity(steps * 7 * n),
            records: Vec::with_capacity(steps * 7 * record_len),
        }
    }

    pub(crate) fn push(&mut self, t: f64, h: f64, y: &[f64], k: &[f64], records: &[f64]) {
        self.t.push(t);
        self.h.push(h);
        self.y.extend_from_slice(y);
        self.k.extend_from_slice(k);
        self.records.extend_from_slice(records);
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
