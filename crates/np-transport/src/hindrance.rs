//! Steric partitioning and hindrance factors for a sphere in a cylindrical pore.
//!
//! Correlations of Dechadilok & Deen (2006), Ind. Eng. Chem. Res. 45:6953, as used in the
//! DSPM-DE literature and in WaterTAP's `NanofiltrationDSPMDE0D`:
//!
//! * K_d = H / phi, with the polynomial
//!   H = 1 + 9/8 l ln(l) - 1.56034 l + 0.528155 l^2 + 1.91521 l^3 - 2.81903 l^4 +
//!   0.270788 l^5 + 1.10115 l^6 - 0.435933 l^7 (l = lambda), valid for lambda <= 0.95.
//!   The sign of the l^6 term is + in the paper; with it H(1) = 0 exactly (a unit test).
//! * K_c = (1 + 3.867 lambda - 1.907 lambda^2 - 0.834 lambda^3) / (1 + 1.867 lambda - 0.741 lambda^2).
//! * phi = (1 - lambda)^2 (steric partitioning).

use crate::error::{Result, TransportError};

/// Largest lambda = r_s / r_p for which the correlations are valid.
pub const LAMBDA_MAX: f64 = 0.95;

/// Steric and hydrodynamic factors of one species in one pore.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hindrance {
    /// lambda = r_s / r_p.
    pub lambda: f64,
    /// Steric partition coefficient phi = (1 - lambda)^2.
    pub phi: f64,
    /// Diffusive hindrance K_d.
    pub kd: f64,
    /// Convective hindrance K_c.
    pub kc: f64,
}

impl Hindrance {
    /// Factors for a solute of Stokes radius `rs` (m) in a pore of radius `rp` (m).
    /// `name` is used in errors.
    pub fn new(name: &str, rs: f64, rp: f64) -> Result<Self> {
        // A radius that is NaN, infinite, zero or negative has no lambda (0/0 and x/-y used
        // to come back as NaN or negative factors, as success).
        if !(rs.is_finite() && rs > 0.0) {
            return Err(TransportError::InvalidParameter {
                name: "Stokes radius",
                value: rs,
                reason: "must be finite and > 0, in metres",
            });
        }
        if !(rp.is_finite() && rp > 0.0) {
            return Err(TransportError::InvalidParameter {
                name: "pore radius",
                value: rp,
                reason: "must be finite and > 0, in metres",
            });
        }
        let lambda = rs / rp;
        if lambda >= 1.0 {
            return Err(TransportError::IonLargerThanPore {
                ion: name.to_string(),
                stokes_radius: rs,
                pore_radius: rp,
            });
        }
        if lambda > LAMBDA_MAX {
            return Err(TransportError::OutsideCorrelation {
                ion: name.to_string(),
                lambda,
                max: LAMBDA_MAX,
            });
        }
        Ok(Self::from_lambda(lambda))
    }

    /// Factors for a given lambda in [0, 0.95] (not checked).
    pub fn from_lambda(lambda: f64) -> Self {
        let l = lambda;
        let phi = (1.0 - l).powi(2);
        let h = if l == 0.0 {
            1.0
        } else {
            1.0 + 9.0 / 8.0 * l * l.ln() - 1.56034 * l + 0.528155 * l.powi(2) + 1.91521 * l.powi(3)
                - 2.81903 * l.powi(4)
                + 0.270788 * l.powi(5)
                + 1.10115 * l.powi(6)
                - 0.435933 * l.powi(7)
        };
        let kc = (1.0 + 3.867 * l - 1.907 * l * l - 0.834 * l.powi(3))
            / (1.0 + 1.867 * l - 0.741 * l * l);
        Self {
            lambda: l,
            phi,
            kd: h / phi,
            kc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_the_correlations() {
        let h0 = Hindrance::from_lambda(0.0);
        assert_eq!((h0.phi, h0.kd, h0.kc), (1.0, 1.0, 1.0));
        // H = phi K_d vanishes as lambda -> 1 (the + sign of the lambda^6 term).
        let l: f64 = 1.0 - 1e-9;
        let h = 1.0 + 9.0 / 8.0 * l * l.ln() - 1.56034 * l + 0.528155 * l * l + 1.91521 * l.powi(3)
            - 2.81903 * l.powi(4)
            + 0.270788 * l.powi(5)
            + 1.10115 * l.powi(6)
            - 0.435933 * l.powi(7);
        assert!(h.abs() < 1e-8, "H(1) = {h}");
        // K_c -> 1 as lambda -> 1.
        assert!((Hindrance::from_lambda(1.0).kc - 1.0).abs() < 1e-12);
    }

    #[test]
    fn hindered_diffusion_decreases_with_size() {
        let mut prev = f64::INFINITY;
        for i in 0..=19 {
            let h = Hindrance::from_lambda(i as f64 * 0.05);
            let big_h = h.kd * h.phi;
            assert!(big_h < prev + 1e-12 && big_h > 0.0, "lambda {}", h.lambda);
            prev = big_h;
        }
        // Published value check: H(0.5) = 0.0475 (Dechadilok & Deen 2006, Fig. 3 reads ~0.05).
        let h = Hindrance::from_lambda(0.5);
        assert!((h.kd * h.phi - 0.047_46).abs() < 1e-4);
    }

    #[test]
    fn too_large_ions_are_errors() {
        assert!(matches!(
            Hindrance::new("X", 1.0e-9, 0.5e-9),
            Err(TransportError::IonLargerThanPore { .. })
        ));
        assert!(matches!(
            Hindrance::new("X", 0.96e-9, 1.0e-9),
            Err(TransportError::OutsideCorrelation { .. })
        ));
        assert!(Hindrance::new("Na+", 0.184e-9, 0.5e-9).is_ok());
    }
}
