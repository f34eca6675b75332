//! Forward sensitivities: the reference against which the adjoint is checked.
//!
//! Integrates y together with S_p = dy/dtheta and S_0 = dy/dy0 (dS/dt = J S + df/dtheta,
//! J = df/dy), building J and df/dtheta row by row from n vector-Jacobian products per
//! evaluation. Cost grows as n (n + n_params), so it is meant for checking, not training.

use crate::checks::check_len;
use crate::error::Result;
use crate::field::VectorField;
use crate::options::{SolverOptions, Stats};
use crate::solver::{Rhs, integrate};

/// dy(t_k)/dtheta and dy(t_k)/dy0 at each output time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivities {
    n: usize,
    np: usize,
    /// Output times.
    pub t: Vec<f64>,
    /// States at the output times, row-major.
    pub y: Vec<f64>,
    /// Per output time, the n x n_params matrix dy/dtheta (row-major), concatenated.
    pub dy_dp: Vec<f64>,
    /// Per output time, the n x n matrix dy/dy0 (row-major), concatenated.
    pub dy_dy0: Vec<f64>,
    /// Counters.
    pub stats: Stats,
}

impl Sensitivities {
    /// Gradients (dL/dy0, dL/dtheta) of a loss whose gradient with respect to the saved
    /// states is `dl_dy` (row-major, one row per output time).
    pub fn gradient(&self, dl_dy: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let (n, np) = (self.n, self.np);
        check_len("dl_dy", self.t.len() * n, dl_dy.len())?;
        let mut g0 = vec![0.0; n];
        let mut gp = vec![0.0; np];
        for k in 0..self.t.len() {
            let g = &dl_dy[k * n..(k + 1) * n];
            let sp = &self.dy_dp[k * n * np..(k + 1) * n * np];
            let s0 = &self.dy_dy0[k * n * n..(k + 1) * n * n];
            for i in 0..n {
                for j in 0..np {
                    gp[j] += g[i] * sp[i * np + j];
                }
                for j in 0..n {
                    g0[j] += g[i] * s0[i * n + j];
                }
            }
        }
        Ok((g0, gp))
    }
}

/// Solves the forward-sensitivity system. See the module docs.
pub fn forward_sensitivities<F: VectorField>(
    f: &F,
    p: &[f64],
    t0: f64,
    y0: &[f64],
    save_at: &[f64],
    opts: &SolverOptions,
) -> Result<Sensitivities> {
    let (n, np) = (f.dim(), f.num_params());
    check_len("y0", n, y0.len())?;
    check_len("p", np, p.len())?;
    let mut z0 = vec![0.0; n + n * np + n * n];
    z0[..n].copy_from_slice(y0);
    for i in 0..n {
        z0[n + n * np + i * n + i] = 1.0;
    }
    let mut rhs = SensRhs {
        f,
        p,
        ws: f.workspace(),
        jac: vec![0.0; n * n],
        fp: vec![0.0; n * np],
        e: vec![0.0; n],
    };
    let mut out = Vec::new();
    let stats = integrate(&mut rhs, t0, &z0, save_at, opts, &mut out)?;
    let len = z0.len();
    let mut s = Sensitivities {
        n,
        np,
        t: save_at.to_vec(),
        y: Vec::new(),
        dy_dp: Vec::new(),
        dy_dy0: Vec::new(),
        stats,
    };
    for row in out.chunks_exact(len) {
        s.y.extend_from_slice(&row[..n]);
        s.dy_dp.extend_from_slice(&row[n..n + n * np]);
        s.dy_dy0.extend_from_slice(&row[n + n * np..]);
    }
    Ok(s)
}

struct SensRhs<'a, F: VectorField> {
    f: &'a F,
    p: &'a [f64],
    ws: F::Workspace,
    jac: Vec<f64>,
    fp: Vec<f64>,
    e: Vec<f64>,
}

impl<F: VectorField> Rhs for SensRhs<'_, F> {
    fn dim(&self) -> usize {
        let n = self.f.dim();
        n + n * self.f.num_params() + n * n
    }

    fn call(&mut self, t: f64, z: &[f64], dz: &mut [f64]) {
        let (n, np) = (self.f.dim(), self.f.num_params());
        let y = &z[..n];
        self.f.eval(t, y, self.p, &mut self.ws, &mut dz[..n]);
        for i in 0..n {
            self.e.fill(0.0);
            self.e[i] = 1.0;
            let (jrow, prow) = (
                &mut self.jac[i * n..(i + 1) * n],
                &mut self.fp[i * np..(i + 1) * np],
            );
            self.f.vjp(t, y, self.p, &self.e, &mut self.ws, jrow, prow);
        }
        let (sp, s0) = z[n..].split_at(n * np);
        let (dsp, ds0) = dz[n..].split_at_mut(n * np);
        for i in 0..n {
            for j in 0..np {
                let mut acc = self.fp[i * np + j];
                for l in 0..n {
                    acc += self.jac[i * n + l] * sp[l * np + j];
                }
                dsp[i * np + j] = acc;
            }
            for j in 0..n {
                let mut acc = 0.0;
                for l in 0..n {
                    acc += self.jac[i * n + l] * s0[l * n + j];
                }
                ds0[i * n + j] = acc;
            }
        }
    }
}
