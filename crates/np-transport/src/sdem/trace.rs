//! Closed forms of the SDEM for a single salt and for a trace ion in a dominant salt.
//!
//! For a binary salt (ions 1 and 2, z_1 > 0 > z_2) electroneutrality and zero current make
//! the salt diffuse with one permeance, the salt permeance P_s = P_1 P_2 (z_1 − z_2) /
//! (P_1 z_1 − P_2 z_2), so its virtual concentration s falls linearly across the membrane
//! and R_s = J_v / (J_v + P_s); the field is dψ/dξ = A (ds/dξ) / s with A = (P_2 − P_1) /
//! (P_1 z_1 − P_2 z_2). A trace ion i (too dilute to change the field) then obeys a linear
//! equation whose integral, with t = 1 − R_s and β = z_i A, gives its transmission
//!
//!   c_p,i / c_m,i = 1 / [ t^β + (J_v / P_i) (1 − t^(β+1)) / ((1 − t)(β + 1)) ]
//!
//! (derived here from the equations of [`super`]; the form of Yaroshchuk, Bruening & Licón
//! Bernal, J. Membr. Sci. 447 (2013) 463–476).

/// Salt permeance P_s (m/s) of a binary salt from its ions' (permeance m/s, valence):
/// P_s = P_+ P_− (z_+ − z_−) / (P_+ z_+ − P_− z_−), a weighted harmonic mean of the two.
///
/// ```
/// // NaCl with P_Na = P_Cl: the salt moves with the ions' permeance.
/// assert!((np_transport::sdem::salt_permeance((5e-6, 1.0), (5e-6, -1.0)) - 5e-6).abs() < 1e-18);
/// ```
pub fn salt_permeance(cation: (f64, f64), anion: (f64, f64)) -> f64 {
    let ((p1, z1), (p2, z2)) = (cation, anion);
    p1 * p2 * (z1 - z2) / (p1 * z1 - p2 * z2)
}

/// Rejection of a single binary salt at water flux `jv` (m/s): J_v / (J_v + P_s), the ions
/// given as (permeance m/s, valence).
pub fn single_salt_rejection(jv: f64, cation: (f64, f64), anion: (f64, f64)) -> f64 {
    jv / (jv + salt_permeance(cation, anion))
}

/// Transmission c_p / c_m of a trace ion (permeance m/s, valence) in the field of a dominant
/// binary salt (its cation and anion as (permeance m/s, valence)) at water flux `jv` (m/s):
/// the module's closed form. 1 at J_v = 0.
///
/// ```
/// use np_transport::sdem::trace_transmission;
/// // A trace ion as permeable as the salt's own ions, of their valence, moves like them.
/// let salt = ((4e-6, 1.0), (4e-6, -1.0));
/// let t = trace_transmission(10e-6, salt, (4e-6, 1.0));
/// assert!((t - 4.0 / 14.0).abs() < 1e-12);
/// ```
pub fn trace_transmission(jv: f64, salt: ((f64, f64), (f64, f64)), trace: (f64, f64)) -> f64 {
    if jv == 0.0 {
        return 1.0;
    }
    let ((p1, z1), (p2, z2)) = salt;
    let (pi, zi) = trace;
    let ps = salt_permeance(salt.0, salt.1);
    let t = ps / (jv + ps);
    let a = (p2 - p1) / (p1 * z1 - p2 * z2);
    let beta = zi * a;
    let eps = beta + 1.0;
    let ln_t = t.ln();
    // (1 - t^eps) / eps, with its limit -ln t at eps = 0.
    let integral = if (eps * ln_t).abs() < 1e-12 {
        -ln_t
    } else {
        -(eps * ln_t).exp_m1() / eps
    };
    1.0 / ((beta * ln_t).exp() + jv / pi * integral / (1.0 - t))
}
