//! Gradients by the continuous adjoint method.
//!
//! For a loss L = sum_k g_k(y(t_k)) the adjoint a(t) = dL/dy(t) obeys da/dt = -a^T df/dy
//! backwards in time, jumping by dg_k/dy at each observation time t_k, and
//! dL/dtheta = int_{t0}^{tN} a^T df/dtheta dt (Pontryagin; Chen et al. 2018, "Neural
//! ordinary differential equations", NeurIPS, Alg. 1 and Appendix B).

use crate::checks::check_len;
use crate::dense::DenseOutput;
use crate::error::{OdeError, Result};
use crate::field::VectorField;
use crate::gradients::Gradients;
use crate::options::{SolverOptions, Stats};
use crate::solver::{Rhs, Solution, integrate};

/// How the adjoint obtains y(t) on the way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjointMethod {
    /// Re-integrate y backwards together with the adjoint (least memory: O(n) state). The
    /// backward y is reset to the forward value at every observation time. Can drift where
    /// the backward problem is unstable (dissipative dynamics forward are expansive
    /// backward); see the crate docs for a measured example.
    Backsolve,
    /// Interpolate y from the stored forward steps (solve with `dense = true`). Memory
    /// O(steps x n), robust whatever the stability of the backward problem. The default.
    Interpolating,
    /// Discrete adjoint (discretise-then-optimise): reverse-mode differentiation through the
    /// accepted Runge-Kutta steps and the dense-output formula of the forward solve (solve
    /// with `dense = true`). The exact gradient of the computed solution, with the step
    /// sizes held fixed; 6 VJPs per forward step (stage 7 is the next step's stage 1) and no
    /// backward step-size control, so it is cheapest when there are many output times. Agrees
    /// with the continuous adjoint to the solver tolerance.
    Discrete,
}

/// Options of the backward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjointOptions {
    /// How y(t) is obtained backwards.
    pub method: AdjointMethod,
    /// Tolerances and limits of the backward integration (scalar tolerances apply to every
    /// component of the augmented state).
    pub solver: SolverOptions,
}

impl Default for AdjointOptions {
    fn default() -> Self {
        Self {
            method: AdjointMethod::Interpolating,
            solver: SolverOptions::default(),
        }
    }
}

impl AdjointOptions {
    /// Options of the given method with scalar tolerances.
    pub fn new(method: AdjointMethod, rtol: f64, atol: f64) -> Self {
        Self {
            method,
            solver: SolverOptions::with_tolerances(rtol, atol),
        }
    }
}

/// Computes dL/dy0, dL/dtheta and dL/dt from a forward [`Solution`] and the loss gradients
/// `dl_dy` with respect to the saved states (row-major, one row per output time).
///
/// The vector field and parameters must be those of the forward solve.
pub fn adjoint<F: VectorField>(
    f: &F,
    p: &[f64],
    sol: &Solution,
    dl_dy: &[f64],
    opts: &AdjointOptions,
) -> Result<Gradients> {
    let n = f.dim();
    let np = f.num_params();
    check_len("p", np, p.len())?;
    check_len("dl_dy", sol.t.len() * n, dl_dy.len())?;
    if dl_dy.iter().any(|v| !v.is_finite()) {
        return Err(OdeError::NonFinite {
            what: "adjoint",
            t: *sol.t.last().unwrap_or(&sol.t0),
        });
    }
    let dense = match opts.method {
        AdjointMethod::Interpolating => {
            Some(sol.dense.as_ref().ok_or(OdeError::MissingDenseOutput)?)
        }
        AdjointMethod::Backsolve => None,
        AdjointMethod::Discrete => {
            let d = sol.dense.as_ref().ok_or(OdeError::MissingDenseOutput)?;
            return crate::discrete::discrete_adjoint(f, p, sol, d, dl_dy);
        }
    };
    let mut ws = f.workspace();
    let mut stats = Stats::default();
    let mut fbuf = vec![0.0; n];
    let m = sol.t.len();

    // Augmented state: [y (backsolve only), a, mu].
    let off = if dense.is_some() { 0 } else { n };
    let mut z = vec![0.0; off + n + np];
    let mut dt = vec![0.0; m];
    let mut out = Vec::with_capacity(z.len());
    let mut rhs = AdjointRhs {
        f,
        p,
        ws: f.workspace(),
        dense,
        hint: 0,
        y: vec![0.0; n],
        vjp_y: vec![0.0; n],
        vjp_p: vec![0.0; np],
        nvjp: 0,
    };

    for k in (0..m).rev() {
        let tk = sol.t[k];
        let g = &dl_dy[k * n..(k + 1) * n];
        // dL/dt_k = (dg_k/dy) . f(t_k, y_k).
        f.eval(tk, sol.state(k), p, &mut ws, &mut fbuf);
        stats.nfe += 1;
        dt[k] = dot(g, &fbuf);
        if off > 0 {
            z[..n].copy_from_slice(sol.state(k));
        }
        for (zi, gi) in z[off..off + n].iter_mut().zip(g) {
            *zi += gi;
        }
        let t_prev = if k == 0 { sol.t0 } else { sol.t[k - 1] };
        if t_prev == tk {
            continue;
        }
        out.clear();
        stats += integrate(&mut rhs, tk, &z, &[t_prev], &opts.solver, &mut out)?;
        z.copy_from_slice(&out);
    }
    stats.nvjp = rhs.nvjp;
    let a0 = z[off..off + n].to_vec();
    f.eval(sol.t0, &sol.y0, p, &mut ws, &mut fbuf);
    stats.nfe += 1;
    Ok(Gradients {
        t0: -dot(&a0, &fbuf),
        y0: a0,
        p: z[off + n..].to_vec(),
        t: dt,
        stats,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The backward dynamics: dy/dt = f (backsolve only), da/dt = -a^T f_y, dmu/dt = -a^T f_p.
struct AdjointRhs<'a, F: VectorField> {
    f: &'a F,
    p: &'a [f64],
    ws: F::Workspace,
    dense: Option<&'a DenseOutput>,
    hint: usize,
    y: Vec<f64>,
    vjp_y: Vec<f64>,
    vjp_p: Vec<f64>,
    nvjp: usize,
}

impl<F: VectorField> Rhs for AdjointRhs<'_, F> {
    fn dim(&self) -> usize {
        let n = self.f.dim();
        let off = if self.dense.is_some() { 0 } else { n };
        off + n + self.f.num_params()
    }

    fn call(&mut self, t: f64, z: &[f64], dz: &mut [f64]) {
        let n = self.f.dim();
        let off = match self.dense {
            Some(d) => {
                // The interpolant is evaluated inside the solved interval; a failure here
                // could only come from a time outside it, which the loop never asks for.
                if d.eval_with_hint(t, &mut self.hint, &mut self.y).is_err() {
                    dz.fill(f64::NAN);
                    return;
                }
                0
            }
            None => {
                self.y.copy_from_slice(&z[..n]);
                self.f.eval(t, &z[..n], self.p, &mut self.ws, &mut dz[..n]);
                n
            }
        };
        let a = &z[off..off + n];
        self.f.vjp(
            t,
            &self.y,
            self.p,
            a,
            &mut self.ws,
            &mut self.vjp_y,
            &mut self.vjp_p,
        );
        self.nvjp += 1;
        for (d, v) in dz[off..off + n].iter_mut().zip(&self.vjp_y) {
            *d = -v;
        }
        for (d, v) in dz[off + n..].iter_mut().zip(&self.vjp_p) {
            *d = -v;
        }
    }
}
