//! Interface equilibria: steric, Born (dielectric) and Donnan partitioning, Davies activity.

use crate::constants::{BOLTZMANN, DAVIES_A_25C, ELEMENTARY_CHARGE, VACUUM_PERMITTIVITY};
use crate::error::{Result, TransportError};

/// Born-solvation partition factor exp(-dW / kT) with
/// dW = z^2 e^2 / (8 pi eps0 r_s) (1/eps_p - 1/eps_b) (Bowen & Welfoot 2002, eq. 10; WaterTAP).
pub fn born_factor(
    z: f64,
    stokes_radius: f64,
    eps_pore: f64,
    eps_bulk: f64,
    temperature: f64,
) -> f64 {
    let dw = z * z * ELEMENTARY_CHARGE * ELEMENTARY_CHARGE
        / (8.0 * std::f64::consts::PI * VACUUM_PERMITTIVITY * stokes_radius)
        * (1.0 / eps_pore - 1.0 / eps_bulk);
    (-dw / (BOLTZMANN * temperature)).exp()
}

/// ln gamma from the Davies equation, log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I),
/// with I in mol/L (Davies 1938; A = 0.5085 at 25 °C).
pub fn davies_ln_gamma(z: f64, ionic_strength_si: f64) -> f64 {
    let i = (ionic_strength_si / 1000.0).max(0.0);
    let s = i.sqrt();
    -DAVIES_A_25C * z * z * (s / (1.0 + s) - 0.3 * i) * std::f64::consts::LN_10
}

/// d ln gamma_i / d I divided by z_i^2 for [`davies_ln_gamma`] (I in mol/m^3). Zero at I = 0,
/// where it is unbounded but multiplies only the zero z^2 c of the absent charged species.
fn davies_slope(ionic_strength_si: f64) -> f64 {
    if ionic_strength_si <= 0.0 {
        return 0.0;
    }
    let i = ionic_strength_si / 1000.0;
    let s = i.sqrt();
    -DAVIES_A_25C * (0.5 / (s * (1.0 + s) * (1.0 + s)) - 0.3) * std::f64::consts::LN_10 / 1000.0
}

/// d c_pore,i / d ln c_b,j (n × n, row-major, into `out`) of the Donnan partitioning whose
/// solution for bulk `cb` is `c_pore`, by implicit differentiation of
/// ln c_pore,i = ln(k_i c_b,i) + ln gamma_b,i - ln gamma_pore,i - z_i psi and
/// sum z_i c_pore,i + X = 0. Every activity form has ln gamma_i = z_i^2 L(I) with
/// dI / d ln c_k = beta_k c_k (ideal: L = 0; textbook Davies: beta_k = z_k^2 / 2; the molal
/// form: beta_k = (z_k^2 / 2 + I M_k) / m_water, the water mass changing with the solutes).
/// Column j is then c_pore,i w_i, w_i = e_i - z_i^2 L'(I_p) dI_p - z_i dpsi with
/// e_i = delta_ij + z_i^2 L'(I_b) beta_b,j c_b,j, and (dI_p, dpsi) solve the neutrality and
/// ionic-strength equations (2 × 2).
pub(crate) fn donnan_log_jacobian(
    z: &[f64],
    cb: &[f64],
    c_pore: &[f64],
    law: &DaviesLaw,
    out: &mut [f64],
    mut dpsi: Option<&mut [f64]>,
) -> Result<()> {
    let n = z.len();
    if n > 16 || cb.len() != n || c_pore.len() != n || out.len() != n * n {
        return Err(TransportError::InvalidFeed(
            "the Donnan derivative takes at most 16 species, one concentration each".into(),
        ));
    }
    // L'(I) and beta_k of a solution c.
    let slope = |c: &[f64], beta: &mut [f64]| -> f64 {
        match *law {
            DaviesLaw::Ideal => 0.0,
            DaviesLaw::Textbook => {
                for (b, zk) in beta.iter_mut().zip(z) {
                    *b = 0.5 * zk * zk;
                }
                davies_slope(ionic_strength(z, c))
            }
            DaviesLaw::Molal {
                coefficient,
                water_density,
                molar_masses,
            } => {
                let water =
                    water_density - c.iter().zip(molar_masses).map(|(c, m)| c * m).sum::<f64>();
                let i = ionic_strength(z, c) / water;
                for ((b, zk), m) in beta.iter_mut().zip(z).zip(molar_masses) {
                    *b = (0.5 * zk * zk + i * m) / water;
                }
                if i <= 0.0 {
                    return 0.0;
                }
                let s = i.sqrt();
                coefficient * (0.5 / (s * (1.0 + s) * (1.0 + s)) - 0.3)
            }
        }
    };
    let (mut beta_b, mut beta_p) = ([0.0; 16], [0.0; 16]);
    let lb = slope(cb, &mut beta_b[..n]);
    let lp = slope(c_pore, &mut beta_p[..n]);
    let (mut b1, mut c1, mut b2, mut c2) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let (zi, ci) = (z[i], c_pore[i]);
        b1 += zi * zi * zi * ci;
        c1 += zi * zi * ci;
        b2 += beta_p[i] * zi * zi * ci;
        c2 += beta_p[i] * zi * ci;
    }
    let det = (1.0 + lp * b2) * c1 - c2 * lp * b1;
    for j in 0..n {
        let bulk = beta_b[j] * cb[j] * lb;
        let e = |i: usize| f64::from(u8::from(i == j)) + z[i] * z[i] * bulk;
        let (mut a1, mut a2) = (0.0, 0.0);
        for i in 0..n {
            a1 += z[i] * c_pore[i] * e(i);
            a2 += beta_p[i] * c_pore[i] * e(i);
        }
        // (1 + L'_p B2) dI + C2 dpsi = A2;  L'_p B1 dI + C1 dpsi = A1.
        let (d_i, d_psi) = if c1 > 0.0 {
            (
                (a2 * c1 - c2 * a1) / det,
                ((1.0 + lp * b2) * a1 - lp * b1 * a2) / det,
            )
        } else {
            // No charged species: no potential.
            (a2 / (1.0 + lp * b2), 0.0)
        };
        for i in 0..n {
            out[i * n + j] = c_pore[i] * (e(i) - z[i] * z[i] * lp * d_i - z[i] * d_psi);
        }
        if let Some(p) = dpsi.as_deref_mut() {
            p[j] = d_psi;
        }
    }
    Ok(())
}

/// An activity law ln gamma_i = z_i^2 L(I), as [`donnan_log_jacobian`] differentiates it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DaviesLaw<'a> {
    /// gamma = 1.
    Ideal,
    /// [`davies_ln_gamma`] (I in mol/m^3).
    Textbook,
    /// L = `coefficient` (sqrt(I)/(1 + sqrt(I)) - 0.3 I) with the molality
    /// I = sum z^2 c / 2 / (`water_density` - sum c M), mol/kg.
    Molal {
        coefficient: f64,
        water_density: f64,
        molar_masses: &'a [f64],
    },
}

impl ActivityForm {
    /// The law [`donnan_log_jacobian`] differentiates.
    pub(crate) fn law(&self) -> DaviesLaw<'_> {
        match self {
            Self::Ideal => DaviesLaw::Ideal,
            Self::Textbook => DaviesLaw::Textbook,
            Self::Molal { a, molar_masses } => DaviesLaw::Molal {
                coefficient: -std::f64::consts::LN_10 * a,
                water_density: 1000.0,
                molar_masses,
            },
        }
    }
}

/// Ionic strength 1/2 sum z^2 c (mol/m^3).
pub fn ionic_strength(z: &[f64], c: &[f64]) -> f64 {
    0.5 * z.iter().zip(c).map(|(z, c)| z * z * c).sum::<f64>()
}

/// Solves the Donnan equilibrium between a bulk solution `cb` and the pore:
/// gamma_p,i c_p,i = k_i gamma_b,i c_b,i exp(-z_i psi), sum z_i c_p,i + X = 0, where k_i is
/// the steric x Born factor. Writes the pore-side concentrations into `out` and returns the
/// dimensionless Donnan potential psi = F dPhi / RT. With `davies`, the pore activity
/// coefficients use the pore ionic strength, found by fixed-point iteration.
pub fn donnan(
    z: &[f64],
    k: &[f64],
    cb: &[f64],
    x: f64,
    davies: bool,
    out: &mut [f64],
) -> Result<f64> {
    let textbook = |c: &[f64], ln_g: &mut [f64]| {
        let i = ionic_strength(z, c);
        for (g, zi) in ln_g.iter_mut().zip(z) {
            *g = davies_ln_gamma(*zi, i);
        }
    };
    let activity: LnGamma = if davies { Some(&textbook) } else { None };
    donnan_with(z, k, cb, x, activity, 1e-13, out)
}

/// The activity model of a prepared solve, with what it needs per species.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ActivityForm {
    Ideal,
    /// Textbook Davies ([`davies_ln_gamma`]).
    Textbook,
    /// WaterTAP 1.8's Davies: constant A, (kg/mol)^0.5, and molar masses (kg/mol) for the
    /// molality.
    Molal {
        a: f64,
        molar_masses: Vec<f64>,
    },
}

/// [`donnan`] with any [`ActivityForm`].
pub(crate) fn donnan_form(
    z: &[f64],
    k: &[f64],
    cb: &[f64],
    x: f64,
    form: &ActivityForm,
    out: &mut [f64],
) -> Result<f64> {
    match form {
        ActivityForm::Ideal => donnan_with(z, k, cb, x, None, 1e-13, out),
        ActivityForm::Textbook => donnan(z, k, cb, x, true, out),
        ActivityForm::Molal { a, molar_masses } => {
            let molal = |c: &[f64], ln_g: &mut [f64]| {
                let water = 1000.0 - c.iter().zip(molar_masses).map(|(c, m)| c * m).sum::<f64>();
                let i = 0.5 * z.iter().zip(c).map(|(z, c)| z * z * c).sum::<f64>() / water;
                let s = i.max(0.0).sqrt();
                let bracket = s / (1.0 + s) - 0.3 * i;
                for (g, zi) in ln_g.iter_mut().zip(z) {
                    *g = -std::f64::consts::LN_10 * a * zi * zi * bracket;
                }
            };
            donnan_with(z, k, cb, x, Some(&molal), 1e-13, out)
        }
    }
}

/// An activity model: writes ln gamma of every species for concentrations c; None = ideal.
pub(crate) type LnGamma<'a> = Option<&'a dyn Fn(&[f64], &mut [f64])>;

/// [`donnan`] with any activity model: `ln_gamma(c, out)` writes ln gamma of every species in
/// a solution of concentrations `c`; `None` is the ideal solution. The pore-side activity
/// coefficients are found by fixed-point iteration until they change by less than `tol`.
pub(crate) fn donnan_with(
    z: &[f64],
    k: &[f64],
    cb: &[f64],
    x: f64,
    ln_gamma: LnGamma,
    tol: f64,
    out: &mut [f64],
) -> Result<f64> {
    let n = z.len();
    let mut ln_gb = [0.0f64; 16];
    let mut ln_gp = [0.0f64; 16];
    let mut next = [0.0f64; 16];
    if n > 16 {
        return Err(TransportError::InvalidFeed(
            "at most 16 species are supported".into(),
        ));
    }
    if k.len() != n || cb.len() != n || out.len() != n {
        return Err(TransportError::InvalidFeed(format!(
            "Donnan equilibrium needs one valence, partition factor, concentration and output \
             slot per species: got {n}, {}, {} and {}",
            k.len(),
            cb.len(),
            out.len()
        )));
    }
    if !x.is_finite() {
        return Err(TransportError::InvalidParameter {
            name: "membrane charge",
            value: x,
            reason: "must be finite, in mol/m^3",
        });
    }
    if z.iter().chain(k).chain(cb).any(|v| !v.is_finite()) || k.iter().chain(cb).any(|v| *v < 0.0) {
        return Err(TransportError::InvalidFeed(
            "Donnan equilibrium needs finite valences and non-negative, finite partition factors \
             and concentrations"
                .into(),
        ));
    }
    if let Some(f) = ln_gamma {
        f(cb, &mut ln_gb[..n]);
        if let Some(psi) = activity_by_secant(z, k, cb, x, f, &ln_gb[..n], tol, out)? {
            return Ok(psi);
        }
    }
    let mut psi = 0.0;
    let mut q = [0.0f64; 16];
    for _ in 0..200 {
        for i in 0..n {
            q[i] = k[i] * cb[i] * (ln_gb[i] - ln_gp[i]).exp();
        }
        psi = solve_potential(z, x, psi, &q[..n])?;
        for i in 0..n {
            out[i] = q[i] * (-z[i] * psi).exp();
        }
        let Some(f) = ln_gamma else {
            return Ok(psi);
        };
        f(out, &mut next[..n]);
        let mut change: f64 = 0.0;
        for i in 0..n {
            change = change.max((next[i] - ln_gp[i]).abs());
            ln_gp[i] = next[i];
        }
        if change < tol {
            for i in 0..n {
                q[i] = k[i] * cb[i] * (ln_gb[i] - ln_gp[i]).exp();
            }
            psi = solve_potential(z, x, psi, &q[..n])?;
            for i in 0..n {
                out[i] = q[i] * (-z[i] * psi).exp();
            }
            return Ok(psi);
        }
    }
    Err(TransportError::NotConverged {
        flux: f64::NAN,
        iterations: 200,
        residual: f64::NAN,
        reason: "activity iteration at an interface".into(),
    })
}

/// The pore-side activity fixed point of [`donnan_with`] as a scalar equation. Every Davies
/// form here writes ln gamma_i = z_i^2 t with one t per solution (a function of its ionic
/// strength), so the fixed point is t = T(t), T(t) = the t of the pore solution that
/// ln gamma_pore = z^2 t gives. A secant iteration on T(t) - t converges in a handful of steps
/// where the plain iteration contracts slowly (a highly charged pore: up to 200 steps, 95 % of
/// the WaterTAP module's time in Davies cases). Returns None, for the plain iteration to take
/// over, when the activity model is not of that form or the secant does not converge.
#[allow(clippy::too_many_arguments)]
fn activity_by_secant(
    z: &[f64],
    k: &[f64],
    cb: &[f64],
    x: f64,
    ln_gamma: &dyn Fn(&[f64], &mut [f64]),
    ln_gb: &[f64],
    tol: f64,
    out: &mut [f64],
) -> Result<Option<f64>> {
    let n = z.len();
    let z2: Vec<f64> = z.iter().map(|z| z * z).collect();
    let sum_z4: f64 = z2.iter().map(|v| v * v).sum();
    if sum_z4 == 0.0 {
        return Ok(None);
    }
    let mut next = [0.0f64; 16];
    let mut q = [0.0f64; 16];
    // T(t), with the potential started from `psi`; None when ln gamma is not z^2 t in form.
    let mut map = |t: f64, psi: f64, out: &mut [f64]| -> Result<Option<(f64, f64)>> {
        for i in 0..n {
            q[i] = k[i] * cb[i] * (ln_gb[i] - z2[i] * t).exp();
        }
        let psi = solve_potential(z, x, psi, &q[..n])?;
        for i in 0..n {
            out[i] = q[i] * (-z[i] * psi).exp();
        }
        ln_gamma(out, &mut next[..n]);
        let t_next = next[..n].iter().zip(&z2).map(|(g, w)| g * w).sum::<f64>() / sum_z4;
        let scale = next[..n].iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let off = next[..n]
            .iter()
            .zip(&z2)
            .fold(0.0f64, |m, (g, w)| m.max((g - w * t_next).abs()));
        Ok(
            (t_next.is_finite() && off <= 1e-12 * scale.max(1e-300) + 1e-300)
                .then_some((t_next, psi)),
        )
    };
    let Some((t1, mut psi)) = map(0.0, 0.0, out)? else {
        return Ok(None);
    };
    let (mut t_prev, mut g_prev) = (0.0, t1);
    let mut t = t1;
    for _ in 0..60 {
        let Some((t_next, p)) = map(t, psi, out)? else {
            return Ok(None);
        };
        psi = p;
        let g = t_next - t;
        if g.abs() < tol {
            return Ok(Some(psi));
        }
        let secant = t - g * (t - t_prev) / (g - g_prev);
        let step = if secant.is_finite() { secant } else { t_next };
        (t_prev, g_prev, t) = (t, g, step);
    }
    Ok(None)
}

/// Finds psi with g(psi) = sum z_i q_i exp(-z_i psi) + x = 0. g is strictly decreasing when
/// any charged species is present, so a bracketed Newton iteration is safe.
///
/// `q` holds each species' k_i gamma-weighted concentration. Ions' valences are integers, so
/// exp(-z_i psi) = exp(-psi)^z_i: one exponential per evaluation rather than one per species
/// (the Donnan solve is most of a WaterTAP module's time); a non-integer valence takes its own.
fn solve_potential(z: &[f64], x: f64, guess: f64, q: &[f64]) -> Result<f64> {
    let n = z.len();
    // Allocation-free: n <= 16 (checked by the callers).
    let mut integral = [None; 16];
    for (slot, &v) in integral.iter_mut().zip(z) {
        *slot = (v.fract() == 0.0 && v.abs() <= 8.0).then_some(v as i32);
    }
    let g = |psi: f64| -> (f64, f64) {
        let w = (-psi).exp();
        let mut v = x;
        let mut d = 0.0;
        for i in 0..n {
            if z[i] != 0.0 {
                let e = match integral[i] {
                    Some(zi) => w.powi(zi),
                    None => (-z[i] * psi).exp(),
                };
                let t = q[i] * e;
                v += z[i] * t;
                d -= z[i] * z[i] * t;
            }
        }
        (v, d)
    };
    let has_pos = (0..n).any(|i| z[i] > 0.0 && q[i] > 0.0);
    let has_neg = (0..n).any(|i| z[i] < 0.0 && q[i] > 0.0);
    if !has_pos && !has_neg {
        if x == 0.0 {
            return Ok(0.0);
        }
        return Err(TransportError::InvalidFeed(
            "a charged membrane needs charged species to balance its charge".into(),
        ));
    }
    // Bracket: g(lo) > 0 > g(hi).
    let (mut lo, mut hi) = (guess - 1.0, guess + 1.0);
    let mut tries = 0;
    while g(lo).0 <= 0.0 {
        lo -= 2.0 * (guess - lo).abs().max(1.0);
        tries += 1;
        if tries > 60 || !has_pos && !has_neg {
            return Err(no_balance(x));
        }
    }
    tries = 0;
    while g(hi).0 >= 0.0 {
        hi += 2.0 * (hi - guess).abs().max(1.0);
        tries += 1;
        if tries > 60 {
            return Err(no_balance(x));
        }
    }
    let mut psi = guess.clamp(lo, hi);
    for _ in 0..200 {
        let (v, d) = g(psi);
        if v > 0.0 {
            lo = psi;
        } else {
            hi = psi;
        }
        let mut next = psi - v / d;
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        if (next - psi).abs() <= 1e-14 * (1.0 + psi.abs()) || hi - lo < 1e-14 * (1.0 + psi.abs()) {
            return Ok(next);
        }
        psi = next;
    }
    Ok(psi)
}

fn no_balance(x: f64) -> TransportError {
    TransportError::InvalidFeed(format!(
        "no Donnan potential balances the membrane charge {x} mol/m^3 (ions of one sign only?)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donnan_for_a_symmetric_salt_matches_the_closed_form() {
        // 1:1 salt of concentration c against charge X (k = 1): c+ c- = c^2 and c+ - c- = -X,
        // so c+ = (-X + sqrt(X^2 + 4 c^2)) / 2.
        let (c, x) = (10.0, -50.0);
        let mut out = [0.0; 2];
        let psi = donnan(&[1.0, -1.0], &[1.0, 1.0], &[c, c], x, false, &mut out).unwrap();
        let cp = (-x + (x * x + 4.0 * c * c).sqrt()) / 2.0;
        assert!((out[0] - cp).abs() < 1e-12 * cp);
        assert!((out[0] - out[1] + x).abs() < 1e-10);
        assert!((psi - (c / cp).ln()).abs() < 1e-12);
    }

    #[test]
    fn born_exclusion_is_stronger_for_divalent_and_small_ions() {
        let na = born_factor(1.0, 0.184e-9, 40.0, 78.4, 298.15);
        let mg = born_factor(2.0, 0.347e-9, 40.0, 78.4, 298.15);
        assert!(na < 1.0 && mg < na);
        assert_eq!(born_factor(1.0, 0.184e-9, 78.4, 78.4, 298.15), 1.0);
    }

    #[test]
    fn davies_values() {
        // I = 0.1 mol/L, z = 1: log10 gamma = -0.5085 (0.2403 - 0.03) = -0.1069.
        let g = davies_ln_gamma(1.0, 100.0).exp();
        assert!((g.log10() + 0.1069).abs() < 2e-4, "{}", g.log10());
        let mut out = [0.0; 2];
        donnan(
            &[1.0, -1.0],
            &[0.8, 0.9],
            &[100.0, 100.0],
            -30.0,
            true,
            &mut out,
        )
        .unwrap();
        assert!((out[0] - out[1] - 30.0).abs() < 1e-9);
    }

    #[test]
    fn the_secant_activity_solve_agrees_with_the_plain_fixed_point() {
        // A highly charged pore (X = -800 mol/m^3) against a 5-ion bulk, WaterTAP's molal
        // Davies form: the secant on t (ln gamma = z^2 t) and the plain vector iteration,
        // forced by a species-specific offset of 1e-10 that breaks the z^2 form, agree to
        // that offset's order; both satisfy the Donnan relation and pore electroneutrality.
        let z = [1.0, 2.0, -1.0, -2.0, 1.0];
        let k = [0.6, 0.2, 0.7, 0.1, 0.5];
        let cb = [120.0, 30.0, 150.0, 15.0, 20.0];
        let x = -800.0;
        let molal = |offset: f64| {
            move |c: &[f64], ln_g: &mut [f64]| {
                let i = 0.5 * z.iter().zip(c).map(|(z, c)| z * z * c).sum::<f64>() / 1000.0;
                let s = i.sqrt();
                for (j, (g, zi)) in ln_g.iter_mut().zip(&z).enumerate() {
                    *g = -1.17 * zi * zi * (s / (1.0 + s) - 0.3 * i) + offset * j as f64;
                }
            }
        };
        let pure = molal(0.0);
        let tagged = molal(1e-10);
        let (mut a, mut b) = ([0.0; 5], [0.0; 5]);
        let psi_a = donnan_with(&z, &k, &cb, x, Some(&pure), 1e-13, &mut a).unwrap();
        let psi_b = donnan_with(&z, &k, &cb, x, Some(&tagged), 1e-13, &mut b).unwrap();
        assert!((psi_a - psi_b).abs() < 1e-8, "{psi_a} vs {psi_b}");
        for (p, q) in a.iter().zip(&b) {
            assert!((p / q - 1.0).abs() < 1e-8, "{p} vs {q}");
        }
        let charge: f64 = z.iter().zip(&a).map(|(z, c)| z * c).sum::<f64>() + x;
        assert!(charge.abs() < 1e-9 * x.abs(), "{charge}");
        let (mut gb, mut gp) = ([0.0; 5], [0.0; 5]);
        pure(&cb, &mut gb);
        pure(&a, &mut gp);
        for i in 0..5 {
            let lhs = gp[i] + a[i].ln();
            let rhs = k[i].ln() + gb[i] + cb[i].ln() - z[i] * psi_a;
            assert!((lhs - rhs).abs() < 1e-11, "species {i}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn one_sign_only_cannot_balance() {
        let mut out = [0.0; 1];
        assert!(donnan(&[1.0], &[1.0], &[1.0], 5.0, false, &mut out).is_err());
    }

    #[test]
    fn donnan_jacobian_equals_central_differences() {
        // A 2:1 / 1:2 mixture against a negative charge, a concentrated 1:1 salt and a neutral
        // solute (no potential), with each activity form.
        let cases: [(&[f64], &[f64], f64); 3] = [
            (&[1.0, 2.0, -1.0, -2.0], &[30.0, 10.0, 40.0, 5.0], -50.0),
            (&[1.0, -1.0], &[200.0, 200.0], -300.0),
            (&[0.0], &[3.0], 0.0),
        ];
        for (z, cb, x) in cases {
            let n = z.len();
            let k: Vec<f64> = (0..n).map(|i| 0.3 + 0.1 * i as f64).collect();
            let molal = ActivityForm::Molal {
                a: 1.17,
                molar_masses: (0..n).map(|i| 0.02 + 0.03 * i as f64).collect(),
            };
            for form in [ActivityForm::Ideal, ActivityForm::Textbook, molal] {
                let mut c_pore = vec![0.0; n];
                donnan_form(z, &k, cb, x, &form, &mut c_pore).unwrap();
                let mut jac = vec![0.0; n * n];
                let mut dpsi = vec![0.0; n];
                let psi = donnan_form(z, &k, cb, x, &form, &mut c_pore).unwrap();
                donnan_log_jacobian(z, cb, &c_pore, &form.law(), &mut jac, Some(&mut dpsi))
                    .unwrap();
                let h: f64 = 1e-5;
                for j in 0..n {
                    let (mut up, mut down) = (vec![0.0; n], vec![0.0; n]);
                    let mut c = cb.to_vec();
                    c[j] = cb[j] * h.exp();
                    let psi_up = donnan_form(z, &k, &c, x, &form, &mut up).unwrap();
                    c[j] = cb[j] * (-h).exp();
                    let psi_down = donnan_form(z, &k, &c, x, &form, &mut down).unwrap();
                    let fd = (psi_up - psi_down) / (2.0 * h);
                    assert!(
                        (dpsi[j] - fd).abs() < 1e-8 * (1.0 + psi.abs()),
                        "{} vs {fd}",
                        dpsi[j]
                    );
                    for i in 0..n {
                        let fd = (up[i] - down[i]) / (2.0 * h);
                        let err = (jac[i * n + j] - fd).abs() / c_pore[i];
                        assert!(
                            err < 1e-8,
                            "{form:?} {z:?} ({i},{j}): {} vs {fd}",
                            jac[i * n + j]
                        );
                    }
                }
            }
        }
    }
}
