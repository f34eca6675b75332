//! Quantities written as text with units, the way the CSV format writes them (the command
//! line's options, the Python package's arguments): fluxes
//! (`3e-5 m/s`, `20 LMH`, `20 L/m2/h`, `5.6 um/s`), pressures (`10 bar`, `1 MPa`, `150 psi`),
//! lengths (`0.45 nm`, `1.3 um`) and feeds (`Na+=20 mM, SO4 2-=10 mM`). Every value becomes SI
//! (m/s, Pa, m, mol/m^3) here and nowhere else.

use crate::units;
use ion_species::{Composition, ConcentrationUnit, IonRegistry};

/// Splits `"20 LMH"` / `"20LMH"` / `"20"` into the number and the (possibly empty) unit.
fn number_and_unit(text: &str) -> Result<(f64, &str), String> {
    let t = text.trim();
    // The number is the longest prefix that parses; units never start with a digit, '.', or
    // an exponent sign after a digit, so scan for the first character that cannot belong to
    // a float literal.
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || t[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E')
                    && i > 0
                    && t[i + 1..]
                        .starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+')))
        })
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(end);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is not finite"));
    }
    Ok((value, unit.trim()))
}

/// A water flux, m/s: a number with a unit (any of [`units::FLUX_UNITS`]); a bare number
/// is m/s. Must be in [0, MAX_FLUX]; a bare number that would fit as L/m2/h says so.
pub fn parse_flux(text: &str) -> Result<f64, String> {
    let (v, unit) = number_and_unit(text)?;
    let factor = if unit.is_empty() {
        1.0
    } else {
        units::flux_unit(unit)?
    };
    units::check_flux(v * factor, v, if unit.is_empty() { "m/s" } else { unit })?;
    Ok(v * factor)
}

/// A temperature, K: a number with `C` (`°C`, `degC`) or `K` (no default unit: 25 and 298
/// are both plausible).
pub fn parse_temperature(text: &str) -> Result<f64, String> {
    let (v, unit) = number_and_unit(text)?;
    if unit.is_empty() {
        return Err(format!(
            "temperature `{text}` needs a unit ({})",
            units::TEMPERATURE_UNITS
        ));
    }
    let t = v + units::temperature_offset(unit)?;
    if t <= 0.0 {
        return Err(format!("temperature `{text}` is at or below absolute zero"));
    }
    Ok(t)
}

/// A pressure difference, Pa: a number with `Pa`, `kPa`, `MPa`, `bar` or `psi` (no default
/// unit: bar and Pa differ by 1e5), at most [`units::MAX_PRESSURE`].
pub fn parse_pressure(text: &str) -> Result<f64, String> {
    let (v, unit) = number_and_unit(text)?;
    if unit.is_empty() {
        return Err(format!(
            "pressure `{text}` needs a unit ({})",
            units::PRESSURE_UNITS
        ));
    }
    let p = v * units::pressure_unit(unit)?;
    units::check_pressure(p, v, unit)?;
    Ok(p)
}

/// A membrane charge density X_d, mol/m^3 (signed): a bare number is mol/m^3; or with a molar
/// unit (`-40 mM`, `-0.04 M`, `-40 mol/m3`). Mass units are refused (a fixed charge has no
/// molar mass), and so is |X_d| above [`crate::MAX_CHARGE_DENSITY`].
pub fn parse_charge(text: &str) -> Result<f64, String> {
    let (v, unit) = number_and_unit(text)?;
    let x = if unit.is_empty() {
        v
    } else {
        match units::concentration_unit(unit)? {
            ConcentrationUnit::MgPerL | ConcentrationUnit::GPerL => {
                return Err(format!(
                    "charge `{text}`: a charge density takes a molar unit (mol/m3 = mM, mol/L = M), not a mass unit"
                ));
            }
            // Any ion: molar units do not use the molar mass.
            u => u.to_si(v, &IonRegistry::canonical().ions()[0]),
        }
    };
    if x.abs() > crate::MAX_CHARGE_DENSITY {
        return Err(format!(
            "charge {text} = {x:e} mol/m3 is beyond +-{:e} mol/m3 (10 mol/L of fixed charge; fitted NF charges are tens to a few thousand mol/m3)",
            crate::MAX_CHARGE_DENSITY
        ));
    }
    Ok(x)
}

/// A length, m: a number with `nm`, `um` (`µm`), `mm` or `m` (no default unit).
pub fn parse_length(text: &str) -> Result<f64, String> {
    let (v, unit) = number_and_unit(text)?;
    let factor = match unit {
        "nm" => 1e-9,
        "um" | "µm" => 1e-6,
        "mm" => 1e-3,
        "m" => 1.0,
        "" => return Err(format!("length `{text}` needs a unit: nm, um or m")),
        other => return Err(format!("unknown length unit `{other}` (nm, um, mm, m)")),
    };
    let l = v * factor;
    if l <= 0.0 {
        return Err(format!("length {text} must be positive"));
    }
    Ok(l)
}

/// The concentration unit of a `--units` option (as in CSV headers:
/// [`units::CONCENTRATION_UNITS`]).
pub fn parse_concentration_unit(text: &str) -> Result<ConcentrationUnit, String> {
    units::concentration_unit(text)
}

/// A feed `ION=VALUE[ UNIT], ...` or `SALT=VALUE[ UNIT], ...` (e.g. `Na+=20 mM, SO4 2-=10`
/// with `default_unit` mmol/L, or `LiCl=2 g/L, MgCl2=10 mM`: a salt is split into its ions,
/// mass units through the salt's molar mass). Each value may carry its own unit; the ions of
/// several salts add up.
pub fn parse_feed(
    reg: &IonRegistry,
    text: &str,
    default_unit: ConcentrationUnit,
) -> Result<Composition, String> {
    // mol/m3 per ion; salts add to their ions, an ion named twice is refused.
    let mut si: Vec<(String, f64)> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = part
            .split_once('=')
            .filter(|(name, _)| !name.trim().is_empty())
            .ok_or_else(|| format!("expected ION=VALUE or SALT=VALUE, got `{}`", part.trim()))?;
        let (v, unit) = number_and_unit(value)?;
        let unit = if unit.is_empty() {
            default_unit
        } else {
            parse_concentration_unit(unit)?
        };
        let check = |c: f64| {
            units::check_concentration(c, v, unit_text(unit))
                .map_err(|e| format!("{e} (in `{}`)", part.trim()))
        };
        let contributions: Vec<(String, f64)> = match reg.parse(name.trim()) {
            Ok(ion) => {
                if named.contains(&ion.name) {
                    return Err(format!("{} is given twice", ion.name));
                }
                named.push(ion.name.clone());
                let c = unit.to_si(v, ion);
                check(c)?;
                vec![(ion.name.clone(), c)]
            }
            Err(ion_error) => match ion_species::Salt::parse(reg, name) {
                Ok(salt) => {
                    check(unit.to_si_with_molar_mass(v, salt.molar_mass()))?;
                    salt.ions_si(v, unit)
                        .into_iter()
                        .map(|(ion, c)| (ion.name, c))
                        .collect()
                }
                Err(salt_error) => {
                    return Err(format!(
                        "{ion_error}; nor a salt: {salt_error} (in `{}`)",
                        part.trim()
                    ));
                }
            },
        };
        for (ion, c) in contributions {
            match si.iter_mut().find(|(n, _)| *n == ion) {
                Some(e) => e.1 += c,
                None => si.push((ion, c)),
            }
        }
    }
    if si.is_empty() {
        return Err("the feed is empty (expected e.g. `Na+=20, Cl-=20` or `NaCl=20`)".into());
    }
    let refs: Vec<(&str, f64)> = si.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    Composition::from_units(reg, &refs, ConcentrationUnit::MolPerM3).map_err(|e| e.to_string())
}

/// A feed electroneutral only to rounding, balanced as the CSV reader balances such feeds
/// ([`crate::data::balance_rounded`]): cations scaled by 1 - q and anions by 1 + q, q the
/// relative imbalance (at most [`crate::data::FEED_CHARGE_TOLERANCE`]). Returns the feed (the
/// same one when it balanced to 1e-9 already) and q; a larger imbalance or a feed without
/// charge is an error that says so.
pub fn balance_feed(reg: &IonRegistry, feed: &Composition) -> Result<(Composition, f64), String> {
    let mut v: Vec<f64> = reg
        .ions()
        .iter()
        .map(|i| {
            feed.iter()
                .find(|(j, _)| j.name == i.name)
                .map_or(0.0, |(_, c)| c)
        })
        .collect();
    if v.iter().all(|c| *c == 0.0) {
        return Err("every concentration is zero".into());
    }
    match crate::data::balance_rounded(reg.ions(), &mut v) {
        Ok(0.0) => Ok((feed.clone(), 0.0)),
        Ok(q) => Ok((
            Composition::from_vector(reg, &v, false).map_err(|e| e.to_string())?,
            q,
        )),
        Err(q) => Err(format!(
            "the feed is not electroneutral: {:.2} % of the total charge is unbalanced (up to {} % is accepted as rounding); add the counter-ion",
            100.0 * q.abs(),
            100.0 * crate::data::FEED_CHARGE_TOLERANCE
        )),
    }
}

/// How a concentration unit is written in messages.
fn unit_text(u: ConcentrationUnit) -> &'static str {
    match u {
        ConcentrationUnit::MolPerM3 | ConcentrationUnit::MmolPerL => "mmol/L",
        ConcentrationUnit::MolPerL => "mol/L",
        ConcentrationUnit::MgPerL => "mg/L",
        ConcentrationUnit::MicromolPerL => "umol/L",
        ConcentrationUnit::GPerL => "g/L",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_balanced_to_rounding_and_refused_beyond() {
        let reg = IonRegistry::extended();
        let exact = parse_feed(&reg, "Na+=20, Cl-=20", ConcentrationUnit::MolPerM3).unwrap();
        let (same, q) = balance_feed(&reg, &exact).unwrap();
        assert_eq!((same, q), (exact, 0.0));
        // 20.01 against 20: q = 0.01 / 40.01, cations scaled down and anions up by it.
        let rounded = parse_feed(&reg, "Na+=20.01, Cl-=20", ConcentrationUnit::MolPerM3).unwrap();
        let (b, q) = balance_feed(&reg, &rounded).unwrap();
        assert!((q - 0.01 / 40.01).abs() < 1e-15);
        assert!(b.charge_balance().abs() < 1e-12);
        assert!((b.get("Na+").unwrap() - 20.01 * (1.0 - q)).abs() < 1e-12);
        let bad = parse_feed(&reg, "Na+=20, Cl-=10", ConcentrationUnit::MolPerM3).unwrap();
        assert!(
            balance_feed(&reg, &bad)
                .unwrap_err()
                .contains("not electroneutral")
        );
        let zero = parse_feed(&reg, "Na+=0, Cl-=0", ConcentrationUnit::MolPerM3).unwrap();
        assert!(balance_feed(&reg, &zero).unwrap_err().contains("zero"));
    }

    #[test]
    fn fluxes_in_every_unit_agree() {
        let lmh = 1e-3 / 3600.0;
        for (text, want) in [
            ("3e-5", 3e-5),
            ("3e-5 m/s", 3e-5),
            ("3E-5m/s", 3e-5),
            ("20 LMH", 20.0 * lmh),
            ("20 L/m2/h", 20.0 * lmh),
            ("20lmh", 20.0 * lmh),
            ("5.5 um/s", 5.5e-6),
            ("0", 0.0),
        ] {
            let got = parse_flux(text).unwrap();
            assert!(
                (got - want).abs() <= 1e-15 * want.max(1e-30),
                "{text}: {got}"
            );
        }
        let e = parse_flux("10").unwrap_err();
        assert!(e.contains("10 LMH"), "{e}");
        assert!(
            parse_flux("10 furlongs")
                .unwrap_err()
                .contains("unknown flux unit")
        );
        assert!(parse_flux("-1e-6").unwrap_err().contains("negative"));
        assert!(parse_flux("NaN").is_err() && parse_flux("inf").is_err());
        assert!(parse_flux("").is_err());
    }

    #[test]
    fn pressures_lengths_and_feeds() {
        assert_eq!(parse_pressure("10 bar").unwrap(), 1e6);
        assert_eq!(parse_pressure("1.5MPa").unwrap(), 1.5e6);
        assert!((parse_pressure("145 psi").unwrap() - 145.0 * 6894.757).abs() < 1e-6);
        assert!(parse_pressure("10").unwrap_err().contains("needs a unit"));
        assert!((parse_length("0.45 nm").unwrap() - 0.45e-9).abs() < 1e-24);
        assert!((parse_length("1.3um").unwrap() - 1.3e-6).abs() < 1e-21);
        assert!(parse_length("1.3").is_err() && parse_length("-1 nm").is_err());
        assert_eq!(parse_charge("-40").unwrap(), -40.0);
        assert_eq!(parse_charge("-40 mM").unwrap(), -40.0);
        assert_eq!(parse_charge("-0.04 M").unwrap(), -40.0);
        assert!(parse_charge("-1e9").unwrap_err().contains("beyond"));
        assert!(parse_charge("-40 mg/L").unwrap_err().contains("molar unit"));

        let reg = IonRegistry::canonical();
        let f = parse_feed(
            &reg,
            "Na+=20 mM, SO4 2-=0.96 g/L",
            ConcentrationUnit::MolPerM3,
        );
        let so4 = f
            .unwrap()
            .iter()
            .find(|(i, _)| i.name == "SO4^2-")
            .unwrap()
            .1;
        assert!((so4 - 0.96 / 0.096056).abs() < 1e-9, "{so4}");
        let f = parse_feed(&reg, "Na+=460 mg/L, SO4 2-=10", ConcentrationUnit::MolPerM3).unwrap();
        let na = f.iter().find(|(i, _)| i.name == "Na+").unwrap().1;
        assert!((na - 460.0 / 22.98976928).abs() < 1e-3, "{na}");
        let f = parse_feed(&reg, "Na+=0.02 M, Cl-=20", ConcentrationUnit::MolPerM3).unwrap();
        assert!(f.iter().all(|(_, c)| (c - 20.0).abs() < 1e-12));
        assert!(parse_feed(&reg, "Na+=1, Na+=2", ConcentrationUnit::MolPerM3).is_err());
        assert!(parse_feed(&reg, "Xe+=1", ConcentrationUnit::MolPerM3).is_err());
        assert!(parse_feed(&reg, "Na+=-1,Cl-=1", ConcentrationUnit::MolPerM3).is_err());
        assert!(parse_feed(&reg, "", ConcentrationUnit::MolPerM3).is_err());
    }
}
