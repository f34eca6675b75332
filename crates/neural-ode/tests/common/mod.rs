//! Test problems shared by the integration tests.
#![allow(dead_code)]

use neural_ode::{AnalyticField, TanhMlp, VectorField};

/// y' = A y with A = reshape(p) (n x n), parameters are the matrix entries.
pub fn linear(n: usize) -> impl VectorField {
    AnalyticField::new(
        n,
        n * n,
        move |_t, y: &[f64], p: &[f64], dy: &mut [f64]| {
            for i in 0..n {
                dy[i] = (0..n).map(|j| p[i * n + j] * y[j]).sum();
            }
        },
        move |_t, y: &[f64], p: &[f64], a: &[f64], vy: &mut [f64], vp: &mut [f64]| {
            for j in 0..n {
                vy[j] = (0..n).map(|i| a[i] * p[i * n + j]).sum();
            }
            for i in 0..n {
                for j in 0..n {
                    vp[i * n + j] = a[i] * y[j];
                }
            }
        },
    )
}

/// Lotka-Volterra: x' = alpha x - beta x y, y' = delta x y - gamma y; p = (alpha, beta, delta, gamma).
pub fn lotka_volterra() -> impl VectorField {
    AnalyticField::new(
        2,
        4,
        |_t, u: &[f64], p: &[f64], du: &mut [f64]| {
            du[0] = p[0] * u[0] - p[1] * u[0] * u[1];
            du[1] = p[2] * u[0] * u[1] - p[3] * u[1];
        },
        |_t, u: &[f64], p: &[f64], a: &[f64], vy: &mut [f64], vp: &mut [f64]| {
            vy[0] = a[0] * (p[0] - p[1] * u[1]) + a[1] * p[2] * u[1];
            vy[1] = -a[0] * p[1] * u[0] + a[1] * (p[2] * u[0] - p[3]);
            vp[0] = a[0] * u[0];
            vp[1] = -a[0] * u[0] * u[1];
            vp[2] = a[1] * u[0] * u[1];
            vp[3] = -a[1] * u[1];
        },
    )
}

/// Damped, forced oscillator x'' + c x' + k x = sin(w t): stiff-ish for large k and c.
/// p = (c, k, w).
pub fn damped_oscillator() -> impl VectorField {
    AnalyticField::new(
        2,
        3,
        |t, u: &[f64], p: &[f64], du: &mut [f64]| {
            du[0] = u[1];
            du[1] = -p[0] * u[1] - p[1] * u[0] + (p[2] * t).sin();
        },
        |t, u: &[f64], p: &[f64], a: &[f64], vy: &mut [f64], vp: &mut [f64]| {
            vy[0] = -a[1] * p[1];
            vy[1] = a[0] - a[1] * p[0];
            vp[0] = -a[1] * u[1];
            vp[1] = -a[1] * u[0];
            vp[2] = a[1] * t * (p[2] * t).cos();
        },
    )
}

/// L = 1/2 sum_k |y(t_k) - target_k|^2 with target_k = (k + 1) * 0.1 in every component.
pub fn quadratic_loss(y: &[f64], n: usize) -> (f64, Vec<f64>) {
    let mut l = 0.0;
    let mut g = vec![0.0; y.len()];
    for (idx, v) in y.iter().enumerate() {
        let target = (idx / n + 1) as f64 * 0.1;
        l += 0.5 * (v - target).powi(2);
        g[idx] = v - target;
    }
    (l, g)
}

/// The MLP without its record methods: every VJP recomputes the forward pass.
pub struct NoRecord(pub TanhMlp);

impl VectorField for NoRecord {
    type Workspace = <TanhMlp as VectorField>::Workspace;
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn num_params(&self) -> usize {
        self.0.num_params()
    }
    fn workspace(&self) -> Self::Workspace {
        self.0.workspace()
    }
    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut Self::Workspace, dy: &mut [f64]) {
        self.0.eval(t, y, p, ws, dy)
    }
    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        vy: &mut [f64],
        vp: &mut [f64],
    ) {
        self.0.vjp(t, y, p, a, ws, vy, vp)
    }
}
