//! Units as a lab writes them, and the plausibility bounds that catch a unit slip: one place
//! for the CSV reader and the command line, so both accept the same spellings and give the
//! same hints. Everything becomes SI (mol/m^3, m/s, Pa, m/(s Pa)) here.

use ion_species::ConcentrationUnit;

/// The concentration units accepted, as listed in error messages.
pub const CONCENTRATION_UNITS: &str =
    "mol/m3 (= mmol/L = mM), umol/L (= uM), mol/L (= M), mg/L (= ppm), g/L";

/// The flux units accepted, as listed in error messages.
pub const FLUX_UNITS: &str =
    "m/s, um/s, L/m2/h (= LMH = L m-2 h-1 = L/(m2 h) = L/m²/h), m3/m2/s, m/h, m/d";

/// The pressure units accepted, as listed in error messages.
pub const PRESSURE_UNITS: &str = "Pa, kPa, MPa, bar, psi";

/// The rejection units accepted, as listed in error messages.
pub const REJECTION_UNITS: &str = "- (= 1 = fraction, or no unit) or %";

/// The largest water flux a solve accepts, m/s: 3600 L m^-2 h^-1, some 20 times the highest
/// nanofiltration fluxes. Far above it the pore equations are so stiff that a solve takes
/// seconds before failing, and such a value is almost always a unit slip.
pub const MAX_FLUX: f64 = 1e-3;

/// Largest concentration of one ion the reader and the command line accept, mol/m^3 (10 mol/L,
/// beyond the solubility of most salts and of every brine nanofiltration treats); larger
/// values are unit slips (mmol/L numbers under a mol/L header).
pub const MAX_CONCENTRATION: f64 = 1e4;

/// Lowest rejection accepted: a permeate eleven times richer than the feed. Measured negative
/// rejections of trace counter-ions reach about -1 (e.g. NH4+ -1.1 on NF270, Fernández de
/// Labastida & Yaroshchuk 2021); far lower values are sign or unit slips.
pub const MIN_REJECTION: f64 = -10.0;

/// Largest applied pressure accepted, Pa (200 bar, above any nanofiltration or reverse-osmosis
/// operation).
pub const MAX_PRESSURE: f64 = 2e7;

/// Range of pure-water permeabilities accepted, m/(s Pa): 0.01 to 1000 L m^-2 h^-1 bar^-1,
/// from the tightest reverse-osmosis membranes (about 1) past ultrafiltration (hundreds).
pub const PERMEABILITY_RANGE: (f64, f64) = (0.01 * LMH_PER_BAR, 1000.0 * LMH_PER_BAR);

/// 1 L m^-2 h^-1 in m/s (1e-3 m^3 per m^2 per 3600 s).
pub const LMH: f64 = 1e-3 / 3600.0;

/// 1 L m^-2 h^-1 bar^-1 in m/(s Pa).
pub const LMH_PER_BAR: f64 = LMH / 1e5;

/// A unit in one canonical spelling: lower case, no spaces, no `^`, `·` or `*`, superscripts
/// and the micro signs (µ U+00B5, μ U+03BC) as ASCII.
fn canonical(u: &str) -> String {
    u.trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '^' | '·' | '*' | '⋅'))
        .map(|c| match c {
            '²' => '2',
            '³' => '3',
            '¹' => '1',
            '⁻' => '-',
            'µ' | 'μ' => 'u',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A concentration unit: mol/m3 (= mmol/L = mM), umol/L (= uM), mol/L (= M), mg/L (= ppm,
/// dilute water), g/L; case, spaces, `^`, superscripts and the micro sign are free.
///
/// ```
/// use ion_species::ConcentrationUnit;
/// use np_transport::units::concentration_unit;
/// assert_eq!(concentration_unit("mmol L-1").unwrap(), ConcentrationUnit::MolPerM3);
/// assert_eq!(concentration_unit("mol/m³").unwrap(), ConcentrationUnit::MolPerM3);
/// assert_eq!(concentration_unit("g/L").unwrap(), ConcentrationUnit::GPerL);
/// assert!(concentration_unit("furlongs").unwrap_err().contains("mg/L (= ppm)"));
/// ```
pub fn concentration_unit(u: &str) -> Result<ConcentrationUnit, String> {
    Ok(match canonical(u).as_str() {
        "mol/m3" | "molm-3" | "mm" | "mmol/l" | "mmoll-1" | "mmol/dm3" => {
            ConcentrationUnit::MolPerM3
        }
        "umol/l" | "umoll-1" | "um" => ConcentrationUnit::MicromolPerL,
        "mol/l" | "moll-1" | "m" | "mol/dm3" => ConcentrationUnit::MolPerL,
        "mg/l" | "mgl-1" | "ppm" => ConcentrationUnit::MgPerL,
        "g/l" | "gl-1" | "kg/m3" => ConcentrationUnit::GPerL,
        _ => {
            return Err(format!(
                "unknown concentration unit `{u}` (accepted: {CONCENTRATION_UNITS})"
            ));
        }
    })
}

/// The factor to m/s of a flux unit: m/s, um/s, L/m2/h in every common spelling (LMH,
/// L m-2 h-1, L/(m2 h), L/m²/h), m3/m2/s, m/h, m/d.
///
/// ```
/// use np_transport::units::{flux_unit, LMH};
/// assert_eq!(flux_unit("L m-2 h-1").unwrap(), LMH);
/// assert_eq!(flux_unit("L/m²/h").unwrap(), LMH);
/// assert_eq!(flux_unit("µm/s").unwrap(), 1e-6);
/// assert!(flux_unit("gfd").unwrap_err().contains("LMH"));
/// ```
pub fn flux_unit(u: &str) -> Result<f64, String> {
    Ok(match canonical(u).as_str() {
        "m/s" | "ms-1" | "m3/m2/s" | "m3m-2s-1" => 1.0,
        "um/s" | "ums-1" => 1e-6,
        "l/m2/h" | "lmh" | "l/(m2h)" | "lm-2h-1" | "l/m2h" | "l/(hm2)" | "kg/m2/h" => LMH,
        "m/h" | "mh-1" | "m3/m2/h" => 1.0 / 3600.0,
        "m/d" | "md-1" | "m3/m2/d" => 1.0 / 86_400.0,
        _ => return Err(format!("unknown flux unit `{u}` (accepted: {FLUX_UNITS})")),
    })
}

/// The factor to Pa of a pressure unit: Pa, kPa, MPa, bar, psi.
pub fn pressure_unit(u: &str) -> Result<f64, String> {
    Ok(match canonical(u).as_str() {
        "pa" => 1.0,
        "kpa" => 1e3,
        "mpa" => 1e6,
        "bar" => 1e5,
        // 1 psi = 6894.757 Pa (NIST SP 811, appendix B.8).
        "psi" => 6_894.757,
        _ => {
            return Err(format!(
                "unknown pressure unit `{u}` (accepted: {PRESSURE_UNITS})"
            ));
        }
    })
}

/// Temperature units, as error messages list them.
pub const TEMPERATURE_UNITS: &str = "C, degC, K";

/// The offset to kelvin of a temperature unit: 273.15 for `C` (`°C`, `degC`), 0 for `K`.
pub fn temperature_offset(u: &str) -> Result<f64, String> {
    match u
        .trim()
        .trim_start_matches('°')
        .to_ascii_lowercase()
        .as_str()
    {
        "c" | "degc" => Ok(273.15),
        "k" => Ok(0.0),
        _ => Err(format!(
            "unknown temperature unit `{u}` (accepted: {TEMPERATURE_UNITS})"
        )),
    }
}

/// The factor to a fraction of a rejection unit: none, `-`, `1` or `fraction` (1), `%` (0.01).
pub fn rejection_unit(u: Option<&str>) -> Result<f64, String> {
    let Some(u) = u else { return Ok(1.0) };
    Ok(match canonical(u).as_str() {
        "" | "-" | "1" | "fraction" => 1.0,
        "%" | "percent" => 0.01,
        _ => {
            return Err(format!(
                "unknown rejection unit `{u}` (accepted: {REJECTION_UNITS})"
            ));
        }
    })
}

/// The factor to m/(s Pa) of a permeability unit: m/s/Pa, L/m2/h/bar (= LMH/bar).
pub fn permeability_unit(u: &str) -> Result<f64, String> {
    Ok(match canonical(u).as_str() {
        "m/s/pa" | "m/(spa)" | "ms-1pa-1" => 1.0,
        "l/m2/h/bar" | "lmh/bar" | "lm-2h-1bar-1" | "l/(m2hbar)" => LMH_PER_BAR,
        _ => {
            return Err(format!(
                "unknown permeability unit `{u}` (accepted: L/m2/h/bar (= LMH/bar), m/s/Pa)"
            ));
        }
    })
}

/// Checks a water flux `si` (m/s) read as `value` in `unit`: finite, non-negative and at most
/// [`MAX_FLUX`]; above it, a value that would fit as L/m2/h gets that hint.
pub fn check_flux(si: f64, value: f64, unit: &str) -> Result<(), String> {
    if !si.is_finite() {
        return Err(format!("flux {value} {unit} is not finite"));
    }
    if si < 0.0 {
        return Err(format!("negative water flux {value} {unit}"));
    }
    if si > MAX_FLUX {
        let hint = if value * LMH <= MAX_FLUX && flux_unit(unit).is_ok_and(|f| f > LMH) {
            format!(
                "; if the number is in L/m2/h, write `{value} LMH` (or `Jv [L/m2/h]` in a file)"
            )
        } else {
            String::new()
        };
        return Err(format!(
            "flux {value} {unit} = {si:e} m/s is above {MAX_FLUX:e} m/s ({} L/m2/h), far beyond nanofiltration{hint}",
            MAX_FLUX / LMH
        ));
    }
    Ok(())
}

/// Checks a concentration `si` (mol/m^3) read as `value` in `unit`: finite, non-negative and
/// at most [`MAX_CONCENTRATION`].
pub fn check_concentration(si: f64, value: f64, unit: &str) -> Result<(), String> {
    if !si.is_finite() {
        return Err(format!(
            "concentration {value} {unit} is not finite in mol/m3"
        ));
    }
    if si < 0.0 {
        return Err(format!("negative concentration {value} {unit}"));
    }
    if si > MAX_CONCENTRATION {
        return Err(format!(
            "concentration {value} {unit} = {si:e} mol/m3 is above {} mol/L, beyond any aqueous feed: check the unit (mmol/L numbers under a mol/L header?)",
            MAX_CONCENTRATION / 1e3
        ));
    }
    Ok(())
}

/// Checks a rejection `r` (fraction) read as `value` in `unit`: finite, at most 1 and at least
/// [`MIN_REJECTION`].
pub fn check_rejection(r: f64, value: f64, unit: &str) -> Result<(), String> {
    if !r.is_finite() {
        return Err(format!("rejection {value} {unit} is not finite"));
    }
    if r > 1.0 {
        let hint = if unit.trim() != "%" && value <= 100.0 {
            "; if the numbers are percentages, write the unit `[%]` in the header"
        } else {
            ""
        };
        return Err(format!("rejection {value} {unit} is above 1{hint}"));
    }
    if r < MIN_REJECTION {
        return Err(format!(
            "rejection {value} {unit} is below {MIN_REJECTION} (a permeate {:.0} times the feed): check the sign and the unit",
            1.0 - MIN_REJECTION
        ));
    }
    Ok(())
}

/// Checks an applied pressure `si` (Pa) read as `value` in `unit`: finite, non-negative and at
/// most [`MAX_PRESSURE`].
pub fn check_pressure(si: f64, value: f64, unit: &str) -> Result<(), String> {
    if !si.is_finite() || si < 0.0 {
        return Err(format!("pressure {value} {unit} must be finite and >= 0"));
    }
    if si > MAX_PRESSURE {
        return Err(format!(
            "pressure {value} {unit} is above {} bar, beyond any nanofiltration or reverse-osmosis operation: check the unit",
            MAX_PRESSURE / 1e5
        ));
    }
    Ok(())
}

/// Checks a pure-water permeability `si` (m/(s Pa)) read as `value` in `unit`: inside
/// [`PERMEABILITY_RANGE`].
pub fn check_permeability(si: f64, value: f64, unit: &str) -> Result<(), String> {
    let (lo, hi) = PERMEABILITY_RANGE;
    // The bounds themselves pass despite the rounding of their products.
    if !(si.is_finite() && (lo * (1.0 - 1e-12)..=hi * (1.0 + 1e-12)).contains(&si)) {
        return Err(format!(
            "water permeability {value:e} {unit} = {:e} L/m2/h/bar is outside 0.01-1000 L/m2/h/bar, the range from tight reverse osmosis to ultrafiltration: check the unit",
            si / LMH_PER_BAR
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_unit_gives_one_factor() {
        for u in [
            "L/m2/h",
            "LMH",
            "L m-2 h-1",
            "L/(m2 h)",
            "L/m²/h",
            "l/m^2/h",
            "L·m⁻²·h⁻¹",
        ] {
            assert_eq!(flux_unit(u).unwrap(), LMH, "{u}");
        }
        for u in ["um/s", "µm/s", "μm/s", "um s-1"] {
            assert_eq!(flux_unit(u).unwrap(), 1e-6, "{u}");
        }
        assert_eq!(flux_unit("m/d").unwrap() * 86_400.0, 1.0);
        for u in ["mol/m3", "mol/m³", "mM", "mmol/L", "mmol L-1", "mol m-3"] {
            assert_eq!(
                concentration_unit(u).unwrap(),
                ConcentrationUnit::MolPerM3,
                "{u}"
            );
        }
        assert_eq!(
            concentration_unit("µM").unwrap(),
            ConcentrationUnit::MicromolPerL
        );
        assert_eq!(rejection_unit(Some("%")).unwrap(), 0.01);
        assert_eq!(rejection_unit(None).unwrap(), 1.0);
        assert_eq!(rejection_unit(Some("-")).unwrap(), 1.0);
        assert!((permeability_unit("LMH/bar").unwrap() - 1e-3 / 3600.0 / 1e5).abs() < 1e-30);
        assert_eq!(pressure_unit("kPa").unwrap(), 1e3);
        for e in [
            concentration_unit("mol/kg").unwrap_err(),
            flux_unit("gfd").unwrap_err(),
            pressure_unit("atm").unwrap_err(),
            rejection_unit(Some("ppm")).unwrap_err(),
        ] {
            assert!(e.contains("accepted:"), "{e}");
        }
    }

    #[test]
    fn implausible_values_are_refused_with_the_likely_slip() {
        // 20 L/m2/h written under m/s.
        let e = check_flux(20.0, 20.0, "m/s").unwrap_err();
        assert!(e.contains("20 LMH"), "{e}");
        assert!(check_flux(20.0 * LMH, 20.0, "LMH").is_ok());
        assert!(check_flux(-1e-6, -1e-6, "m/s").is_err());
        // mmol/L numbers under mol/L.
        let e = check_concentration(2e4, 20.0, "mol/L").unwrap_err();
        assert!(e.contains("check the unit"), "{e}");
        assert!(check_concentration(f64::INFINITY, 1e308, "g/L").is_err());
        assert!(check_concentration(600.0, 0.6, "M").is_ok());
        assert!(check_rejection(-1e6, -1e6, "").is_err());
        assert!(check_rejection(-1.1, -1.1, "").is_ok());
        let e = check_rejection(95.0, 95.0, "").unwrap_err();
        assert!(e.contains("[%]"), "{e}");
        assert!(check_pressure(1e11, 1e6, "bar").is_err());
        assert!(check_pressure(1e6, 10.0, "bar").is_ok());
        assert!(check_permeability(1e-30, 1e-30, "m/s/Pa").is_err());
        assert!(check_permeability(11.5 * LMH_PER_BAR, 11.5, "LMH/bar").is_ok());
    }
}
