//! Properties of liquid water as functions of temperature, for scaling the 25 °C ion data
//! to a measurement's temperature.
//!
//! ```
//! use ion_species::water;
//! let mu = water::viscosity(293.15).unwrap(); // Pa s at 20 °C
//! assert!((mu - 1.0016e-3).abs() < 1e-6);
//! let eps = water::relative_permittivity(298.15).unwrap();
//! assert!((eps - 78.30).abs() < 0.01);
//! assert!(water::viscosity(400.0).is_err()); // outside the correlations' range
//! ```

use crate::error::{Result, SpeciesError};

/// Temperatures (K) where both correlations hold: 0 to 100 °C at atmospheric pressure.
pub const TEMPERATURE_RANGE: (f64, f64) = (273.15, 373.15);

fn check(t: f64, quantity: &'static str) -> Result<()> {
    if t.is_finite() && (TEMPERATURE_RANGE.0..=TEMPERATURE_RANGE.1).contains(&t) {
        Ok(())
    } else {
        Err(SpeciesError::TemperatureOutOfRange {
            quantity,
            value: t,
            min: TEMPERATURE_RANGE.0,
            max: TEMPERATURE_RANGE.1,
        })
    }
}

/// Dynamic viscosity of liquid water at `t` (K), Pa s, at atmospheric pressure:
/// log10(mu / mu_20) = [1.2378 d - 1.303e-3 d^2 + 3.06e-6 d^3 + 2.55e-8 d^4] / (96 + t_C),
/// d = 20 - t_C, with the datum mu_20 = 1002.0 uPa s (Kestin, Sokolov & Wakeham 1978,
/// J. Phys. Chem. Ref. Data 7:941, their 0-40 °C equation). It stays within 0.2 % of the
/// IAPWS 2008 values up to 100 °C (the tests check 0 to 100 °C), so it is used over the whole
/// [`TEMPERATURE_RANGE`].
pub fn viscosity(t: f64) -> Result<f64> {
    check(t, "water viscosity")?;
    let c = t - 273.15;
    let d = 20.0 - c;
    let log_ratio = (1.2378 * d - 1.303e-3 * d * d + 3.06e-6 * d * d * d + 2.55e-8 * d * d * d * d)
        / (96.0 + c);
    Ok(1.0020e-3 * 10f64.powf(log_ratio))
}

/// Relative permittivity of liquid water at `t` (K), by Malmberg & Maryott 1956 (J. Res. Natl.
/// Bur. Stand. 56:1, eq. 3): eps = 87.740 - 0.40008 t + 9.398e-4 t^2 - 1.410e-6 t^3, t in °C,
/// 0 to 100 °C.
pub fn relative_permittivity(t: f64) -> Result<f64> {
    check(t, "water permittivity")?;
    let c = t - 273.15;
    Ok(87.740 - 0.40008 * c + 9.398e-4 * c * c - 1.410e-6 * c * c * c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn viscosity_matches_iapws_2008_reference_values() {
        // IAPWS 2008 (Huber et al., J. Phys. Chem. Ref. Data 38:101, at 0.1 MPa), mPa s.
        for (t_c, mu_ref) in [
            (0.0, 1.7914),
            (5.0, 1.5182),
            (10.0, 1.3059),
            (20.0, 1.0016),
            (25.0, 0.8900),
            (40.0, 0.6527),
            (60.0, 0.4665),
            (80.0, 0.3544),
            (100.0, 0.2818),
        ] {
            let mu = viscosity(273.15 + t_c).unwrap() * 1e3;
            assert_relative_eq!(mu, mu_ref, max_relative = 2e-3);
        }
    }

    #[test]
    fn permittivity_matches_malmberg_maryott_table() {
        // Their Table 2 (measured): 78.30 at 25 °C, 80.10 at 20 °C, 55.72 at 100 °C.
        for (t_c, e_ref) in [(25.0, 78.30), (20.0, 80.10), (100.0, 55.72)] {
            assert_relative_eq!(
                relative_permittivity(273.15 + t_c).unwrap(),
                e_ref,
                max_relative = 1e-3
            );
        }
    }

    #[test]
    fn temperatures_outside_the_correlations_are_errors_naming_the_range() {
        for t in [200.0, 400.0, f64::NAN, 20.0] {
            let e = viscosity(t).unwrap_err().to_string();
            assert!(e.contains("273.15") && e.contains("373.15"), "{e}");
            assert!(relative_permittivity(t).is_err());
        }
    }
}
