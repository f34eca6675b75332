//! [`IonRegistry`]: the set of known ions, in a fixed order, with name parsing.

use crate::error::{Result, SpeciesError};
use crate::ion::{Ion, canonical_ions, extended_ions};
use serde::{Deserialize, Serialize};

/// An ordered set of ions. The order defines vector layouts (masks, state vectors).
///
/// [`IonRegistry::canonical`] holds the eight ions of the model; users add their own with
/// [`IonRegistry::add`] or from JSON/TOML files without recompiling.
#[derive(Debug, Clone, PartialEq)]
pub struct IonRegistry {
    ions: Vec<Ion>,
}

/// The file form of user ion definitions: `{ "ions": [ {...}, ... ] }` or `[[ions]]` in TOML.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IonFile {
    ions: Vec<Ion>,
}

impl Default for IonRegistry {
    fn default() -> Self {
        Self::canonical()
    }
}

impl IonRegistry {
    /// The eight ions of the model in canonical order: Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3-.
    pub fn canonical() -> Self {
        Self {
            ions: canonical_ions(),
        }
    }

    /// The eight canonical ions (in their order) followed by NH4+, Br-, F-, HCO3-, Sr2+ and
    /// Ba2+: every ion with built-in data. Read measurement files with this registry, then
    /// build a model's registry from the ions they contain ([`IonRegistry::subset`]).
    ///
    /// ```
    /// use ion_species::IonRegistry;
    /// let reg = IonRegistry::extended();
    /// assert_eq!(reg.len(), 14);
    /// assert_eq!(reg.parse("ammonium").unwrap().name, "NH4+");
    /// assert!(IonRegistry::canonical().parse("NH4+").is_err());
    /// ```
    pub fn extended() -> Self {
        Self {
            ions: extended_ions(),
        }
    }

    /// The registry of the named ions (any spelling [`IonRegistry::parse`] reads), in this
    /// registry's order, each once.
    pub fn subset<S: AsRef<str>>(&self, names: &[S]) -> Result<Self> {
        let mut keep = vec![false; self.ions.len()];
        for n in names {
            keep[self.index_of(n.as_ref())?] = true;
        }
        Ok(Self {
            ions: self
                .ions
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(i, _)| i.clone())
                .collect(),
        })
    }

    /// Every ion at temperature `t` (K), diffusivities scaled by [`Ion::at_temperature`].
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        Ok(Self {
            ions: self
                .ions
                .iter()
                .map(|i| i.at_temperature(t))
                .collect::<Result<_>>()?,
        })
    }

    /// A registry of the given ions, in the given order. Each is validated; names must be
    /// unique and must not collide with each other's aliases.
    pub fn from_ions(ions: Vec<Ion>) -> Result<Self> {
        let mut reg = Self { ions: Vec::new() };
        for ion in ions {
            reg.add(ion)?;
        }
        Ok(reg)
    }

    /// Adds an ion at the end of the order.
    pub fn add(&mut self, ion: Ion) -> Result<()> {
        ion.validate()?;
        for key in std::iter::once(&ion.name).chain(ion.aliases.iter()) {
            if let Ok(existing) = self.lookup_exact(key) {
                return Err(SpeciesError::DuplicateIon {
                    ion: format!(
                        "{} (name `{key}` already used by {})",
                        ion.name, existing.name
                    ),
                });
            }
        }
        self.ions.push(ion);
        Ok(())
    }

    /// Adds the ions defined in a JSON document `{"ions": [...]}`.
    pub fn extend_from_json(&mut self, text: &str) -> Result<()> {
        let file: IonFile = serde_json::from_str(text).map_err(|e| SpeciesError::Parse {
            format: "json",
            message: e.to_string(),
        })?;
        file.ions.into_iter().try_for_each(|i| self.add(i))
    }

    /// Adds the ions defined in a TOML document with `[[ions]]` tables.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<()> {
        let file: IonFile = toml::from_str(text).map_err(|e| SpeciesError::Parse {
            format: "toml",
            message: e.to_string(),
        })?;
        file.ions.into_iter().try_for_each(|i| self.add(i))
    }

    /// The registry as a JSON document that [`IonRegistry::extend_from_json`] reads back.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&IonFile {
            ions: self.ions.clone(),
        })
        .expect("ion data always serialises")
    }

    /// The ions in order.
    pub fn ions(&self) -> &[Ion] {
        &self.ions
    }

    /// Number of ions.
    pub fn len(&self) -> usize {
        self.ions.len()
    }

    /// True when the registry holds no ion.
    pub fn is_empty(&self) -> bool {
        self.ions.is_empty()
    }

    /// Valences z_j in registry order, as floats.
    pub fn valences(&self) -> Vec<f64> {
        self.ions.iter().map(Ion::z).collect()
    }

    /// Position of an ion named as people write it (see [`IonRegistry::parse`]).
    pub fn index_of(&self, token: &str) -> Result<usize> {
        let ion = self.parse(token)?;
        Ok(self
            .ions
            .iter()
            .position(|i| i.name == ion.name)
            .expect("parsed ion is in the registry"))
    }

    /// The ion with exactly this canonical name, if present.
    pub fn get(&self, name: &str) -> Option<&Ion> {
        self.ions.iter().find(|i| i.name == name)
    }

    /// Finds the ion a user means. Accepts canonical names ("Na+", "SO4^2-"), formulas with
    /// the charge in any common notation ("SO4 2-", "SO4-2", "so4--", "Mg2+", "Mg++"),
    /// formulas alone when unambiguous ("na", "so4"), and aliases ("sodium", "sulphate").
    /// Case, spaces, `^`, `_`, brackets and Unicode superscripts are ignored.
    ///
    /// ```
    /// use ion_species::IonRegistry;
    /// let reg = IonRegistry::canonical();
    /// for t in ["SO4^2-", "SO4-2", "so4 2-", "sulfate", "SO₄²⁻"] {
    ///     assert_eq!(reg.parse(t).unwrap().name, "SO4^2-");
    /// }
    /// assert!(reg.parse("Xx+").is_err());
    /// ```
    pub fn parse(&self, token: &str) -> Result<&Ion> {
        if let Ok(ion) = self.lookup_exact(token) {
            return Ok(ion);
        }
        let key = normalise(token);
        // Try every split of the trailing run of digits and signs into formula + charge:
        // "so42-" must read as formula "so4" with charge "2-".
        let run_start = key
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '+' || *c == '-')
            .last()
            .map_or(key.len(), |(i, _)| i);
        let mut found: Vec<&Ion> = Vec::new();
        for split in run_start..=key.len() {
            let (formula, charge) = key.split_at(split);
            let Some(charge) = parse_charge(charge) else {
                continue;
            };
            for ion in &self.ions {
                if normalise(&ion.formula) == formula
                    && charge.is_none_or(|z| z == ion.charge)
                    && !found.iter().any(|f| f.name == ion.name)
                {
                    found.push(ion);
                }
            }
            if !found.is_empty() {
                break;
            }
        }
        match found.len() {
            1 => Ok(found[0]),
            0 => Err(SpeciesError::UnknownIon {
                token: token.to_string(),
                hint: self.closest(&key),
            }),
            _ => Err(SpeciesError::AmbiguousIon {
                token: token.to_string(),
                candidates: found.iter().map(|i| i.name.clone()).collect(),
            }),
        }
    }

    /// Exact match on normalised canonical name or alias.
    fn lookup_exact(&self, token: &str) -> Result<&Ion> {
        let key = normalise(token);
        self.ions
            .iter()
            .find(|i| normalise(&i.name) == key || i.aliases.iter().any(|a| normalise(a) == key))
            .ok_or_else(|| SpeciesError::UnknownIon {
                token: token.to_string(),
                hint: None,
            })
    }

    /// The known name with the smallest edit distance to `key`, if within 2 edits.
    fn closest(&self, key: &str) -> Option<String> {
        self.ions
            .iter()
            .flat_map(|i| {
                std::iter::once((normalise(&i.name), &i.name))
                    .chain(i.aliases.iter().map(move |a| (normalise(a), &i.name)))
            })
            .map(|(k, name)| (edit_distance(&k, key), name))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n.clone())
    }
}

/// Lower-cases and strips the decorations people put in ion names; maps Unicode
/// superscripts/subscripts to ASCII.
fn normalise(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            ' ' | '^' | '_' | '(' | ')' | '[' | ']' | '{' | '}' | '\t' => None,
            '⁺' => Some('+'),
            '⁻' | '−' => Some('-'),
            '⁰' | '₀' => Some('0'),
            '¹' | '₁' => Some('1'),
            '²' | '₂' => Some('2'),
            '³' | '₃' => Some('3'),
            '⁴' | '₄' => Some('4'),
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

/// Parses a charge suffix: "" (unspecified), "+", "++", "2+", "+2", "-", "--", "2-", "-2".
/// Returns `None` when the text is not a charge, `Some(None)` when no charge is given.
fn parse_charge(s: &str) -> Option<Option<i32>> {
    if s.is_empty() {
        return Some(None);
    }
    let signs: Vec<char> = s.chars().filter(|c| *c == '+' || *c == '-').collect();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if signs.is_empty() || signs.iter().any(|c| *c != signs[0]) {
        return None;
    }
    let sign = if signs[0] == '+' { 1 } else { -1 };
    if digits.is_empty() {
        return Some(Some(sign * signs.len() as i32));
    }
    // Digits with a single sign, either before or after them.
    let well_formed = signs.len() == 1 && (s.starts_with(signs[0]) || s.ends_with(signs[0]));
    if !well_formed {
        return None;
    }
    digits.parse::<i32>().ok().map(|n| Some(sign * n))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_is_fixed() {
        let names: Vec<_> = IonRegistry::canonical()
            .ions()
            .iter()
            .map(|i| i.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "Na+", "K+", "Li+", "Mg^2+", "Ca^2+", "Cl-", "SO4^2-", "NO3-"
            ]
        );
        assert_eq!(
            IonRegistry::canonical().valences(),
            [1.0, 1.0, 1.0, 2.0, 2.0, -1.0, -2.0, -1.0]
        );
    }

    #[test]
    fn parses_common_spellings() {
        let reg = IonRegistry::canonical();
        let cases = [
            ("Na+", "Na+"),
            ("na", "Na+"),
            ("NA +", "Na+"),
            ("sodium", "Na+"),
            ("Mg2+", "Mg^2+"),
            ("Mg++", "Mg^2+"),
            ("mg+2", "Mg^2+"),
            ("Ca^{2+}", "Ca^2+"),
            ("SO4^2-", "SO4^2-"),
            ("SO4-2", "SO4^2-"),
            ("SO42-", "SO4^2-"),
            ("so4--", "SO4^2-"),
            ("sulphate", "SO4^2-"),
            ("NO3-", "NO3-"),
            ("nitrate", "NO3-"),
            ("Cl⁻", "Cl-"),
            ("Li+", "Li+"),
            ("K+", "K+"),
        ];
        for (token, want) in cases {
            assert_eq!(reg.parse(token).unwrap().name, want, "token {token}");
        }
    }

    #[test]
    fn wrong_charge_or_unknown_token_is_an_error_naming_it() {
        let reg = IonRegistry::canonical();
        let err = reg.parse("Na2+").unwrap_err();
        assert!(err.to_string().contains("Na2+"), "{err}");
        let err = reg.parse("sodim").unwrap_err();
        assert_eq!(
            err,
            SpeciesError::UnknownIon {
                token: "sodim".into(),
                hint: Some("Na+".into())
            }
        );
        assert!(reg.parse("Fe3+").is_err());
        assert!(reg.parse("").is_err());
        assert!(reg.parse("SO4+-").is_err());
    }

    #[test]
    fn user_ions_from_toml_and_json_round_trip() {
        let toml = r#"
[[ions]]
name = "F-"
formula = "F"
charge = -1
stokes_radius = 1.66e-10
diffusivity = 1.475e-9
hydrated_radius = 3.52e-10
molar_mass = 0.018998
aliases = ["fluoride"]
source = "CRC Handbook; Nightingale 1959"
"#;
        let mut reg = IonRegistry::canonical();
        reg.extend_from_toml(toml).unwrap();
        assert_eq!(reg.len(), 9);
        assert_eq!(reg.parse("fluoride").unwrap().charge, -1);
        assert_eq!(reg.index_of("F-").unwrap(), 8);
        let back = {
            let mut r = IonRegistry::from_ions(vec![]).unwrap();
            r.extend_from_json(&reg.to_json()).unwrap();
            r
        };
        assert_eq!(back, reg);
    }

    #[test]
    fn bad_user_files_are_typed_errors() {
        let mut reg = IonRegistry::canonical();
        let e = reg
            .extend_from_json("{\"ions\": [{\"name\": \"X\"}]}")
            .unwrap_err();
        assert!(
            matches!(e, SpeciesError::Parse { format: "json", .. }),
            "{e}"
        );
        // Duplicate of a built-in name.
        let dup = IonRegistry::canonical().to_json();
        assert!(matches!(
            reg.extend_from_json(&dup),
            Err(SpeciesError::DuplicateIon { .. })
        ));
        let e = reg.extend_from_toml("[[ions]]\nname = 3").unwrap_err();
        assert!(matches!(e, SpeciesError::Parse { format: "toml", .. }));
    }
}
