//! Neutral salts as chemists write them (`NaCl`, `MgCl2`, `Na2SO4`, `(NH4)2SO4`, `Mg(NO3)2`),
//! split into their ions: a lab gives feeds as "2 g/L LiCl", the models take ions.

use crate::composition::ConcentrationUnit;
use crate::error::{Result, SpeciesError};
use crate::ion::Ion;
use crate::registry::IonRegistry;

/// A salt: one cation and one anion of a registry with their stoichiometric counts, which
/// balance the charge (ν₊ z₊ + ν₋ z₋ = 0).
///
/// ```
/// use ion_species::{ConcentrationUnit, IonRegistry, Salt};
/// let reg = IonRegistry::extended();
/// let s = Salt::parse(&reg, "MgCl2").unwrap();
/// assert_eq!(s.ions[0].0.name, "Mg^2+");
/// assert_eq!((s.ions[0].1, s.ions[1].1), (1, 2));
/// // 10 mmol/L MgCl2 = 10 mol/m3 Mg2+ and 20 mol/m3 Cl-.
/// let c = s.ions_si(10.0, ConcentrationUnit::MmolPerL);
/// assert_eq!((c[0].1, c[1].1), (10.0, 20.0));
/// // 2 g/L LiCl through its molar mass, 42.39 g/mol.
/// let li = Salt::parse(&reg, "LiCl").unwrap().ions_si(2.0, ConcentrationUnit::GPerL);
/// assert!((li[0].1 - 2.0 / 0.042394).abs() < 0.01);
/// assert_eq!(Salt::parse(&reg, "(NH4)2SO4").unwrap().ions[0].1, 2);
/// assert!(Salt::parse(&reg, "NaCl2").is_err()); // not neutral
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Salt {
    /// The formula as written.
    pub formula: String,
    /// (cation, count) then (anion, count).
    pub ions: Vec<(Ion, u32)>,
}

impl Salt {
    /// Reads a salt formula: a cation's formula from `reg` (in brackets when it carries a
    /// count and is polyatomic), an optional count, then an anion's formula likewise. The
    /// formulas are matched as the registry writes them (case matters: `Co` is not `CO`).
    pub fn parse(reg: &IonRegistry, text: &str) -> Result<Self> {
        let formula: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = |reason: String| SpeciesError::NotASalt {
            text: text.trim().to_string(),
            reason,
        };
        let (cation, rest) = group(reg, &formula, 1.0).map_err(&bad)?;
        let (anion, rest) = group(reg, rest, -1.0).map_err(&bad)?;
        if !rest.is_empty() {
            return Err(bad(format!(
                "`{rest}` is left over after the cation and the anion"
            )));
        }
        let charge = f64::from(cation.1) * cation.0.z() + f64::from(anion.1) * anion.0.z();
        if charge != 0.0 {
            return Err(bad(format!(
                "{} × {} and {} × {} carry a net charge of {charge:+}",
                cation.1, cation.0.name, anion.1, anion.0.name
            )));
        }
        Ok(Self {
            formula,
            ions: vec![cation, anion],
        })
    }

    /// Molar mass of the salt, kg/mol.
    pub fn molar_mass(&self) -> f64 {
        self.ions
            .iter()
            .map(|(ion, n)| f64::from(*n) * ion.molar_mass)
            .sum()
    }

    /// The concentration of each ion, mol/m³, for `value` of the salt in `unit` (mass units
    /// through the salt's molar mass).
    pub fn ions_si(&self, value: f64, unit: ConcentrationUnit) -> Vec<(Ion, f64)> {
        let salt = unit.to_si_with_molar_mass(value, self.molar_mass());
        self.ions
            .iter()
            .map(|(ion, n)| (ion.clone(), f64::from(*n) * salt))
            .collect()
    }
}

/// One ion of a salt formula at the start of `text`, with the sign of `sign`: `(FORMULA)n`,
/// or `FORMULA` with an optional count (the longest registry formula that fits).
fn group<'a>(
    reg: &IonRegistry,
    text: &'a str,
    sign: f64,
) -> std::result::Result<((Ion, u32), &'a str), String> {
    let kind = if sign > 0.0 { "cation" } else { "anion" };
    let candidates: Vec<&Ion> = reg.ions().iter().filter(|i| i.z() * sign > 0.0).collect();
    let (ion, rest) = if let Some(inner) = text.strip_prefix('(') {
        let close = inner
            .find(')')
            .ok_or_else(|| format!("`(` without `)` in `{text}`"))?;
        let f = &inner[..close];
        let ion = candidates
            .iter()
            .find(|i| i.formula == f)
            .ok_or_else(|| format!("`{f}` is not the formula of a known {kind}"))?;
        (*ion, &inner[close + 1..])
    } else {
        let ion = candidates
            .iter()
            .filter(|i| text.starts_with(i.formula.as_str()))
            .max_by_key(|i| i.formula.len())
            .ok_or_else(|| {
                format!(
                    "`{text}` does not start with the formula of a known {kind} ({})",
                    candidates
                        .iter()
                        .map(|i| i.formula.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        (*ion, &text[ion.formula.len()..])
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let count = if digits == 0 {
        1
    } else {
        rest[..digits]
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=9).contains(n))
            .ok_or_else(|| format!("count `{}` of {} is not 1-9", &rest[..digits], ion.name))?
    };
    Ok(((ion.clone(), count), &rest[digits..]))
}
