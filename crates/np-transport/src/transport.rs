//! Extended Nernst-Planck transport across one electroneutral layer (the pore or the
//! feed-side film), either as an ODE integrated with error control or as finite elements.
//!
//! With the flux of every species fixed at j_i = J_v c_p,i, the extended Nernst-Planck
//! equation j_i = -K_d,i D_i dc_i/dx - z_i c_i K_d,i D_i dpsi/dx + K_c,i c_i J_v (psi
//! dimensionless, F Phi / RT) and electroneutrality sum z_i c_i + X = 0 give
//!
//!   dc_i/dx = J_v/(K_d,i D_i) (K_c,i c_i - c_p,i) - z_i c_i dpsi/dx,
//!   dpsi/dx = sum_i z_i J_v/(K_d,i D_i) (K_c,i c_i - c_p,i) / sum_i z_i^2 c_i
//!
//! (Bowen & Welfoot 2002, eqs. 1-7). The film is the same layer with K_d = K_c = 1, X = 0.

use crate::error::{Result, TransportError};
use neural_ode::{FnField, SolverOptions, Tolerance, solve};

/// The far-end concentrations, the potential change across the layer and the (x, psi)
/// profile when one was requested.
pub(crate) type LayerSolution = (Vec<f64>, f64, Vec<(f64, f64)>);

/// One layer's coefficients.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub z: Vec<f64>,
    /// K_d,i D_i, m^2/s.
    pub kd_d: Vec<f64>,
    /// K_c,i.
    pub kc: Vec<f64>,
    /// Layer thickness, m.
    pub thickness: f64,
}

/// Direction of a march across the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Known values at the downstream (permeate) end; find the upstream end. Stable for the
    /// pore, where the convective mode decays in this direction.
    Upstream,
    /// Known values at the upstream (feed) end; find the downstream end (the film).
    Downstream,
}

/// Most species a sensitivity integration takes (its scratch lives on the stack; the Donnan
/// solve has the same limit).
const MAX_SENSITIVITY_SPECIES: usize = 16;

/// Relative tolerance of the layer ODE integration.
pub(crate) const ODE_RTOL: f64 = 1e-11;

impl Layer {
    /// Solves the layer with the ODE: from `c_known` at one end, returns the concentrations at
    /// the other end and the potential change across it (psi_end - psi_start in the
    /// direction of integration). With `profile`, also returns (x, psi) on a grid.
    pub fn integrate(
        &self,
        jv: f64,
        cp: &[f64],
        c_known: &[f64],
        dir: Direction,
        profile_points: usize,
    ) -> Result<LayerSolution> {
        let n = self.z.len();
        let z = &self.z;
        let kc = &self.kc;
        let kd_d = &self.kd_d;
        let field = FnField::new(
            n + 1,
            0,
            move |_x, s: &[f64], _p: &[f64], ds: &mut [f64]| {
                rates(jv, z, kc, kd_d, cp, s, ds);
            },
        );
        let opts = options(n, c_known, 0);
        let l = self.thickness;
        let (x0, x1) = match dir {
            Direction::Upstream => (l, 0.0),
            Direction::Downstream => (0.0, l),
        };
        let mut s0 = c_known.to_vec();
        s0.push(0.0);
        let grid: Vec<f64> = if profile_points > 1 {
            (1..profile_points)
                .map(|k| x0 + (x1 - x0) * k as f64 / (profile_points - 1) as f64)
                .collect()
        } else {
            vec![x1]
        };
        let sol = solve(&field, &[], x0, &s0, &grid, &opts).map_err(|source| {
            TransportError::Integration {
                region: "layer",
                source,
            }
        })?;
        let end = sol.final_state();
        let mut profile = Vec::new();
        if profile_points > 1 {
            profile.push((x0, 0.0));
            for (k, &x) in grid.iter().enumerate() {
                profile.push((x, sol.state(k)[n]));
            }
        }
        Ok((end[..n].to_vec(), end[n], profile))
    }

    /// [`Layer::integrate`] (no profile) with the far end's derivatives d c_end / d u_j,
    /// u_j = ln c_p,j, from the variational equations integrated on the same steps: so they
    /// are the exact derivatives of the computed far-end values (up to the step sizes' own
    /// dependence on u, which the error control makes negligible), not differences of them.
    /// `dc_known` (n × n, row-major) holds d c_known_i / d u_j. Returns the far-end
    /// concentrations and their n × n derivatives (row-major).
    pub fn integrate_with_sensitivity(
        &self,
        jv: f64,
        cp: &[f64],
        c_known: &[f64],
        dc_known: &[f64],
        dir: Direction,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = self.z.len();
        if n > MAX_SENSITIVITY_SPECIES {
            return Err(TransportError::InvalidFeed(format!(
                "{n} species: sensitivities support at most {MAX_SENSITIVITY_SPECIES}"
            )));
        }
        let (z, kc, kd_d) = (&self.z, &self.kc, &self.kd_d);
        // a_i = J_v / (K_d,i D_i), once per integration.
        let a: Vec<f64> = kd_d.iter().map(|d| jv / d).collect();
        let field = FnField::new(
            n + 1 + n * n,
            0,
            move |_x, s: &[f64], _p: &[f64], ds: &mut [f64]| {
                let (dpsi, den) = rates(jv, z, kc, kd_d, cp, s, ds);
                // f_i = a_i (K_c,i c_i - c_p,i) - z_i c_i psi', a_i = J_v / (K_d,i D_i),
                // psi' = num / den. With S_ij = d c_i / d u_j:
                //   dS_ij/dx = (a_i K_c,i - z_i psi') S_ij - z_i c_i (sum_k g_k S_kj + h_j c_p,j)
                //              - delta_ij a_i c_p,j,
                // g_k = d psi'/d c_k = (z_k a_k K_c,k - psi' z_k^2) / den and
                // h_j = d psi'/d c_p,j = -z_j a_j / den (zero where den = 0, as psi').
                let inv = if den > 0.0 { 1.0 / den } else { 0.0 };
                let mut g = [0.0; MAX_SENSITIVITY_SPECIES];
                let mut diag = [0.0; MAX_SENSITIVITY_SPECIES];
                for k in 0..n {
                    g[k] = (z[k] * a[k] * kc[k] - dpsi * z[k] * z[k]) * inv;
                    diag[k] = a[k] * kc[k] - z[k] * dpsi;
                }
                let (sens, dsens) = (&s[n + 1..], &mut ds[n + 1..]);
                for j in 0..n {
                    let mut g_s = -z[j] * a[j] * inv * cp[j];
                    for k in 0..n {
                        g_s += g[k] * sens[k * n + j];
                    }
                    for i in 0..n {
                        dsens[i * n + j] = diag[i] * sens[i * n + j] - z[i] * s[i] * g_s;
                    }
                    dsens[j * n + j] -= a[j] * cp[j];
                }
            },
        );
        let opts = options(n, c_known, n * n);
        let (x0, x1) = match dir {
            Direction::Upstream => (self.thickness, 0.0),
            Direction::Downstream => (0.0, self.thickness),
        };
        let mut s0 = c_known.to_vec();
        s0.push(0.0);
        s0.extend_from_slice(dc_known);
        let sol = solve(&field, &[], x0, &s0, &[x1], &opts).map_err(|source| {
            TransportError::Integration {
                region: "layer",
                source,
            }
        })?;
        let end = sol.final_state();
        Ok((end[..n].to_vec(), end[n + 1..].to_vec()))
    }

    /// Solves the layer with `elements` finite elements (element-average concentrations in
    /// the electromigration and convection terms, one potential difference per element; the
    /// scheme of WaterTAP's `NanofiltrationDSPMDE0D` for one element). Returns the other
    /// end's concentrations and the total potential change. With `sens` (n × n, row-major,
    /// holding d c_known / d u_j, u_j = ln c_p,j), also the far end's derivatives, written
    /// over it: propagated element by element by implicit differentiation of each element's
    /// flux balances and electroneutrality.
    #[allow(clippy::too_many_arguments)]
    pub fn march(
        &self,
        jv: f64,
        cp: &[f64],
        x_charge: f64,
        c_known: &[f64],
        dir: Direction,
        elements: usize,
        mut sens: Option<&mut [f64]>,
    ) -> Result<(Vec<f64>, f64)> {
        let n = self.z.len();
        let delta = self.thickness / elements as f64;
        let mut c = c_known.to_vec();
        let mut next = vec![0.0; n];
        let mut total_psi = 0.0;
        for _ in 0..elements {
            // Flux balance of species i over the element (u upstream, d downstream):
            //   J_v c_p = g (c_u - c_d) - z g dpsi (c_u + c_d)/2 + K_c J_v (c_u + c_d)/2,
            // g = K_d D / delta, dpsi = psi_d - psi_u. Linear in the unknown end for fixed dpsi.
            let end_at = |dpsi: f64, out: &mut [f64]| -> bool {
                for i in 0..n {
                    let g = self.kd_d[i] / delta;
                    let alpha = g - 0.5 * self.z[i] * g * dpsi + 0.5 * self.kc[i] * jv;
                    let beta = -g - 0.5 * self.z[i] * g * dpsi + 0.5 * self.kc[i] * jv;
                    out[i] = match dir {
                        Direction::Upstream => (jv * cp[i] - beta * c[i]) / alpha,
                        Direction::Downstream => (jv * cp[i] - alpha * c[i]) / beta,
                    };
                    if !(out[i].is_finite() && out[i] > 0.0) {
                        return false;
                    }
                }
                true
            };
            let dpsi = find_neutral_potential(&self.z, x_charge, &end_at, &mut next)?;
            if let Some(d) = sens.as_deref_mut() {
                // out_i = (J_v c_p,i - b_i c_i) / a_i with (a, b) = (alpha, beta) upstream and
                // (beta, alpha) downstream; d a_i = d b_i = -z_i g_i d(dpsi) / 2. So
                // d out_i = P_i + Q_i d(dpsi), P_i = (J_v d c_p,i - b_i d c_i) / a_i,
                // Q_i = z_i g_i (c_i + out_i) / (2 a_i), and neutrality (sum z_i d out_i = 0)
                // gives d(dpsi) = -sum z P / sum z Q.
                let mut q = [0.0; MAX_SENSITIVITY_SPECIES];
                let mut zq = 0.0;
                let coef = |i: usize| {
                    let g = self.kd_d[i] / delta;
                    let alpha = g - 0.5 * self.z[i] * g * dpsi + 0.5 * self.kc[i] * jv;
                    let beta = -g - 0.5 * self.z[i] * g * dpsi + 0.5 * self.kc[i] * jv;
                    let (a, b) = match dir {
                        Direction::Upstream => (alpha, beta),
                        Direction::Downstream => (beta, alpha),
                    };
                    (g, a, b)
                };
                if n > MAX_SENSITIVITY_SPECIES {
                    return Err(TransportError::InvalidFeed(format!(
                        "{n} species: sensitivities support at most {MAX_SENSITIVITY_SPECIES}"
                    )));
                }
                for i in 0..n {
                    let (g, a, _) = coef(i);
                    q[i] = 0.5 * self.z[i] * g * (c[i] + next[i]) / a;
                    zq += self.z[i] * q[i];
                }
                for j in 0..n {
                    let mut p = [0.0; MAX_SENSITIVITY_SPECIES];
                    let mut zp = 0.0;
                    for i in 0..n {
                        let (_, a, b) = coef(i);
                        let dcp = if i == j { cp[j] } else { 0.0 };
                        p[i] = (jv * dcp - b * d[i * n + j]) / a;
                        zp += self.z[i] * p[i];
                    }
                    let ddpsi = if zq != 0.0 { -zp / zq } else { 0.0 };
                    for i in 0..n {
                        d[i * n + j] = p[i] + q[i] * ddpsi;
                    }
                }
            }
            total_psi += match dir {
                Direction::Upstream => -dpsi,
                Direction::Downstream => dpsi,
            };
            c.copy_from_slice(&next);
        }
        Ok((c, total_psi))
    }
}

/// The layer's rates: writes dc_i/dx (i < n) and dpsi/dx (index n) for state `s` = (c, psi)
/// into `ds` and returns (dpsi/dx, sum z_i^2 c_i).
#[inline]
fn rates(
    jv: f64,
    z: &[f64],
    kc: &[f64],
    kd_d: &[f64],
    cp: &[f64],
    s: &[f64],
    ds: &mut [f64],
) -> (f64, f64) {
    let n = z.len();
    let mut num = 0.0;
    let mut den = 0.0;
    for i in 0..n {
        let si = jv / kd_d[i] * (kc[i] * s[i] - cp[i]);
        ds[i] = si;
        num += z[i] * si;
        den += z[i] * z[i] * s[i];
    }
    let dpsi = if den > 0.0 { num / den } else { 0.0 };
    for i in 0..n {
        ds[i] -= z[i] * s[i] * dpsi;
    }
    ds[n] = dpsi;
    (dpsi, den)
}

/// Integration options for a layer of `n` species scaled by `c_known`, with `extra` trailing
/// components (sensitivities) kept out of the error control (absolute tolerance f64::MAX,
/// relative 0: the solver accepts only finite tolerances). The RMS error norm averages over
/// every component, so the layer's own tolerances are scaled by sqrt((n+1) / (n+1+extra)):
/// the norm, hence every step, is then the one the layer alone would take.
fn options(n: usize, c_known: &[f64], extra: usize) -> SolverOptions {
    let scale = c_known.iter().fold(0.0f64, |m, c| m.max(*c)).max(1e-300);
    let w = ((n + 1) as f64 / (n + 1 + extra) as f64).sqrt();
    let mut atol = vec![1e-13 * scale * w; n + 1];
    atol[n] = 1e-12 * w;
    let mut rtol = vec![ODE_RTOL * w; n + 1];
    atol.resize(n + 1 + extra, f64::MAX);
    rtol.resize(n + 1 + extra, 0.0);
    SolverOptions {
        rtol: if extra == 0 {
            Tolerance::Scalar(ODE_RTOL)
        } else {
            Tolerance::PerComponent(rtol)
        },
        atol: Tolerance::PerComponent(atol),
        max_steps: 20_000,
        ..SolverOptions::default()
    }
}

/// Finds the potential difference that makes the unknown end electroneutral
/// (sum z c + X = 0) among potentials giving positive concentrations: an expanding scan
/// from 0 for a sign change, then bisection with secant steps.
fn find_neutral_potential(
    z: &[f64],
    x: f64,
    end_at: &dyn Fn(f64, &mut [f64]) -> bool,
    buf: &mut [f64],
) -> Result<f64> {
    let h = |dpsi: f64, buf: &mut [f64]| -> Option<f64> {
        end_at(dpsi, buf).then(|| z.iter().zip(buf.iter()).map(|(z, c)| z * c).sum::<f64>() + x)
    };
    if z.iter().all(|z| *z == 0.0) {
        return if end_at(0.0, buf) {
            Ok(0.0)
        } else {
            Err(element_failure())
        };
    }
    let h0 = h(0.0, buf);
    if h0 == Some(0.0) {
        return Ok(0.0);
    }
    // Scan outwards in both directions for the nearest sign change between valid points.
    let mut bracket = None;
    'scan: for side in [1.0, -1.0] {
        let mut prev = (0.0, h0);
        let mut step = 1e-4;
        for _ in 0..200 {
            let t = prev.0 + side * step;
            let v = h(t, buf);
            if let (Some(a), Some(b)) = (prev.1, v)
                && a * b <= 0.0
            {
                bracket = Some((prev.0, a, t, b));
                break 'scan;
            }
            prev = (t, v);
            step *= 1.5;
            if t.abs() > 200.0 {
                break;
            }
        }
    }
    let (mut a, mut fa, mut b, mut fb) = bracket.ok_or_else(element_failure)?;
    for _ in 0..200 {
        let mut m = b - fb * (b - a) / (fb - fa);
        if !(m > a.min(b) && m < a.max(b)) {
            m = 0.5 * (a + b);
        }
        let fm = h(m, buf).ok_or_else(element_failure)?;
        if fm == 0.0 || (b - a).abs() < 1e-15 * (1.0 + m.abs()) {
            return Ok(m);
        }
        // The point replaces the end whose value has its sign.
        let narrow = |(a, fa, b, fb): (f64, f64, f64, f64), x: f64, fx: f64| {
            if fa * fx < 0.0 {
                (a, fa, x, fx)
            } else {
                (x, fx, b, fb)
            }
        };
        (a, fa, b, fb) = narrow((a, fa, b, fb), m, fm);
        // Keep bisection progress when secant stalls on one side.
        let mid = 0.5 * (a + b);
        if let Some(fmid) = h(mid, buf) {
            (a, fa, b, fb) = narrow((a, fa, b, fb), mid, fmid);
        }
        if (b - a).abs() < 1e-14 * (1.0 + a.abs()) {
            let r = 0.5 * (a + b);
            h(r, buf);
            return Ok(r);
        }
    }
    let r = 0.5 * (a + b);
    h(r, buf).ok_or_else(element_failure)?;
    Ok(r)
}

fn element_failure() -> TransportError {
    TransportError::NotConverged {
        flux: f64::NAN,
        iterations: 0,
        residual: f64::NAN,
        reason: "no electroneutral potential difference with positive concentrations in a finite element".into(),
    }
}
