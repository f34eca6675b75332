//! [`Composition`]: concentrations of ions in SI units (mol/m^3), with charge bookkeeping.

use crate::error::{Result, SpeciesError};
use crate::ion::Ion;
use crate::registry::IonRegistry;
use serde::{Deserialize, Serialize};

/// Concentration units accepted at the edge; everything is stored in mol/m^3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConcentrationUnit {
    /// mol/m^3 (SI; numerically equal to mmol/L).
    MolPerM3,
    /// mol/L.
    MolPerL,
    /// mmol/L.
    MmolPerL,
    /// mg/L (uses the ion's molar mass).
    MgPerL,
    /// µmol/L (1e-3 mol/m^3).
    MicromolPerL,
    /// g/L (= kg/m^3; uses the ion's molar mass).
    GPerL,
}

impl ConcentrationUnit {
    /// Converts `value` of this unit for `ion` to mol/m^3.
    pub fn to_si(self, value: f64, ion: &Ion) -> f64 {
        self.to_si_with_molar_mass(value, ion.molar_mass)
    }

    /// Converts `value` of this unit to mol/m^3 for a species of molar mass `molar_mass`
    /// (kg/mol; used only by the mass units), e.g. a salt.
    pub fn to_si_with_molar_mass(self, value: f64, molar_mass: f64) -> f64 {
        match self {
            Self::MolPerM3 | Self::MmolPerL => value,
            Self::MolPerL => value * 1e3,
            // mg/L = g/m^3 = 1e-3 kg/m^3; divided by kg/mol gives mol/m^3.
            Self::MgPerL => value * 1e-3 / molar_mass,
            Self::MicromolPerL => value * 1e-3,
            // g/L = kg/m^3; divided by kg/mol gives mol/m^3.
            Self::GPerL => value / molar_mass,
        }
    }

    /// Converts `value` in mol/m^3 for `ion` to this unit.
    pub fn from_si(self, value: f64, ion: &Ion) -> f64 {
        value / self.to_si(1.0, ion)
    }
}

/// Default relative tolerance of [`Composition::check_electroneutral`]: 1e-6 of the total
/// charge concentration sum |z_j| c_j.
pub const DEFAULT_NEUTRALITY_TOL: f64 = 1e-6;

/// Concentrations of a set of ions, mol/m^3. Each ion appears at most once; the insertion
/// order is kept, and [`Composition::to_vector`] lays the values out in a registry's order.
///
/// ```
/// use ion_species::{Composition, IonRegistry};
/// let reg = IonRegistry::canonical();
/// // 10 mmol/L Na2SO4.
/// let feed = Composition::from_units(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)],
///     ion_species::ConcentrationUnit::MmolPerL).unwrap();
/// assert_eq!(feed.charge_balance(), 0.0);
/// assert!((feed.ionic_strength() - 30.0).abs() < 1e-12); // mol/m^3
/// assert_eq!(feed.mask(&reg), [true, false, false, false, false, false, true, false]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Composition {
    entries: Vec<(Ion, f64)>,
}

impl Composition {
    /// An empty composition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from ions and concentrations in mol/m^3. Fails on a negative, NaN or infinite
    /// value or a duplicate ion.
    pub fn from_si(pairs: impl IntoIterator<Item = (Ion, f64)>) -> Result<Self> {
        let mut c = Self::new();
        for (ion, v) in pairs {
            c.insert(ion, v)?;
        }
        Ok(c)
    }

    /// The same concentrations (mol/m^3) with every ion's data at temperature `t` (K):
    /// diffusivities scaled by Stokes-Einstein ([`Ion::at_temperature`]).
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        Self::from_si(
            self.entries
                .iter()
                .map(|(ion, c)| ion.at_temperature(t).map(|i| (i, *c)))
                .collect::<Result<Vec<_>>>()?,
        )
    }

    /// Builds from ion names (any spelling [`IonRegistry::parse`] accepts) and values in `unit`.
    pub fn from_units(
        registry: &IonRegistry,
        pairs: &[(&str, f64)],
        unit: ConcentrationUnit,
    ) -> Result<Self> {
        let mut c = Self::new();
        for (name, v) in pairs {
            let ion = registry.parse(name)?;
            check_value(&ion.name, *v)?;
            c.insert(ion.clone(), unit.to_si(*v, ion))?;
        }
        Ok(c)
    }

    /// Builds from values in mol/L.
    pub fn from_mol_per_l(registry: &IonRegistry, pairs: &[(&str, f64)]) -> Result<Self> {
        Self::from_units(registry, pairs, ConcentrationUnit::MolPerL)
    }

    /// Builds from values in mmol/L.
    pub fn from_mmol_per_l(registry: &IonRegistry, pairs: &[(&str, f64)]) -> Result<Self> {
        Self::from_units(registry, pairs, ConcentrationUnit::MmolPerL)
    }

    /// Builds from values in mg/L, converted with each ion's molar mass.
    pub fn from_mg_per_l(registry: &IonRegistry, pairs: &[(&str, f64)]) -> Result<Self> {
        Self::from_units(registry, pairs, ConcentrationUnit::MgPerL)
    }

    /// Builds from a vector laid out in `registry` order (mol/m^3). Zero entries are kept as
    /// present ions with zero concentration only if `keep_zeros`; otherwise they are absent.
    pub fn from_vector(registry: &IonRegistry, values: &[f64], keep_zeros: bool) -> Result<Self> {
        if values.len() != registry.len() {
            return Err(SpeciesError::LengthMismatch {
                expected: registry.len(),
                got: values.len(),
            });
        }
        let mut c = Self::new();
        for (ion, &v) in registry.ions().iter().zip(values) {
            check_value(&ion.name, v)?;
            if v > 0.0 || keep_zeros {
                c.insert(ion.clone(), v)?;
            }
        }
        Ok(c)
    }

    /// The major ions of standard seawater as given (not balanced): Na+ 468.97, Mg2+ 52.82,
    /// Ca2+ 10.28, K+ 10.21, Cl- 545.87, SO4 2- 28.24 mmol/kg, taken as mmol/L (Millero et
    /// al. 2008, Deep-Sea Res. I 55:50, Table 4). Without bicarbonate and minor ions the set
    /// carries +3.03 eq/m^3 of excess charge; balance it explicitly (e.g. with Cl-).
    pub fn standard_seawater_major_ions(registry: &IonRegistry) -> Result<Self> {
        Self::from_mmol_per_l(
            registry,
            &[
                ("Na+", 468.97),
                ("Mg2+", 52.82),
                ("Ca2+", 10.28),
                ("K+", 10.21),
                ("Cl-", 545.87),
                ("SO4 2-", 28.24),
            ],
        )
    }

    /// Adds an ion with concentration `c` (mol/m^3).
    pub fn insert(&mut self, ion: Ion, c: f64) -> Result<()> {
        check_value(&ion.name, c)?;
        if self.entries.iter().any(|(i, _)| i.name == ion.name) {
            return Err(SpeciesError::DuplicateIon { ion: ion.name });
        }
        self.entries.push((ion, c));
        Ok(())
    }

    /// Sets the concentration (mol/m^3) of an ion already present.
    pub fn set(&mut self, name: &str, c: f64) -> Result<()> {
        check_value(name, c)?;
        let slot = self
            .entries
            .iter_mut()
            .find(|(i, _)| i.name == name)
            .ok_or_else(|| SpeciesError::UnknownIon {
                token: name.to_string(),
                hint: None,
            })?;
        slot.1 = c;
        Ok(())
    }

    /// Concentration (mol/m^3) of the ion with this canonical name, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.entries
            .iter()
            .find(|(i, _)| i.name == name)
            .map(|(_, c)| *c)
    }

    /// The ions and their concentrations (mol/m^3), in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Ion, f64)> {
        self.entries.iter().map(|(i, c)| (i, *c))
    }

    /// Number of ions present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no ion is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// sum_j z_j c_j, eq/m^3. Zero for an electroneutral solution.
    pub fn charge_balance(&self) -> f64 {
        self.entries.iter().map(|(i, c)| i.z() * c).sum()
    }

    /// sum_j |z_j| c_j, eq/m^3: the scale against which imbalance is judged.
    pub fn total_charge(&self) -> f64 {
        self.entries.iter().map(|(i, c)| i.z().abs() * c).sum()
    }

    /// Relative imbalance |sum z c| / sum |z| c (0 for an empty composition).
    pub fn relative_imbalance(&self) -> f64 {
        let total = self.total_charge();
        if total == 0.0 {
            0.0
        } else {
            self.charge_balance().abs() / total
        }
    }

    /// Ionic strength I = 1/2 sum_j z_j^2 c_j, mol/m^3.
    pub fn ionic_strength(&self) -> f64 {
        0.5 * self
            .entries
            .iter()
            .map(|(i, c)| i.z().powi(2) * c)
            .sum::<f64>()
    }

    /// Fails with [`SpeciesError::NotElectroneutral`] when the relative imbalance exceeds
    /// `rel_tol` (see [`DEFAULT_NEUTRALITY_TOL`]).
    pub fn check_electroneutral(&self, rel_tol: f64) -> Result<()> {
        let relative = self.relative_imbalance();
        if relative > rel_tol || !relative.is_finite() {
            return Err(SpeciesError::NotElectroneutral {
                imbalance: self.charge_balance(),
                relative,
                tolerance: rel_tol,
            });
        }
        Ok(())
    }

    /// Returns a copy made electroneutral by changing the concentration of one ion (added
    /// at zero if absent), as WaterTAP's `assert_electroneutrality(adjust_by_ion=...)` does.
    /// Nothing is balanced implicitly anywhere in this workspace; this is the explicit way.
    /// Fails if the ion would need a negative concentration.
    ///
    /// ```
    /// use ion_species::{Composition, IonRegistry};
    /// let reg = IonRegistry::canonical();
    /// let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 8.0)]).unwrap();
    /// let fixed = feed.balanced_with(&reg, "Cl-").unwrap();
    /// assert_eq!(fixed.get("Cl-"), Some(10.0));
    /// ```
    pub fn balanced_with(&self, registry: &IonRegistry, ion: &str) -> Result<Self> {
        let ion = registry.parse(ion)?.clone();
        let mut out = self.clone();
        if out.get(&ion.name).is_none() {
            out.insert(ion.clone(), 0.0)?;
        }
        let current = out.get(&ion.name).unwrap_or(0.0);
        let rest = out.charge_balance() - ion.z() * current;
        let needed = -rest / ion.z();
        if needed < 0.0 {
            return Err(SpeciesError::CannotBalance {
                ion: ion.name.clone(),
                reason: format!(
                    "the other ions carry {rest:.6e} eq/m^3; a {} ion would need a negative concentration ({needed:.6e} mol/m^3)",
                    if ion.charge > 0 {
                        "positive"
                    } else {
                        "negative"
                    }
                ),
            });
        }
        out.set(&ion.name, needed)?;
        Ok(out)
    }

    /// Presence mask in `registry` order: true where the ion is present with c > 0.
    pub fn mask(&self, registry: &IonRegistry) -> Vec<bool> {
        registry
            .ions()
            .iter()
            .map(|r| self.get(&r.name).is_some_and(|c| c > 0.0))
            .collect()
    }

    /// Concentrations (mol/m^3) laid out in `registry` order, zero for absent ions. Fails
    /// with [`SpeciesError::UnknownIon`] if the composition holds an ion the registry lacks.
    pub fn to_vector(&self, registry: &IonRegistry) -> Result<Vec<f64>> {
        let mut v = vec![0.0; registry.len()];
        for (ion, c) in &self.entries {
            let idx = registry
                .ions()
                .iter()
                .position(|r| r.name == ion.name)
                .ok_or_else(|| SpeciesError::UnknownIon {
                    token: ion.name.clone(),
                    hint: None,
                })?;
            v[idx] = *c;
        }
        Ok(v)
    }
}

fn check_value(ion: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(SpeciesError::InvalidConcentration {
            ion: ion.to_string(),
            value: v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn reg() -> IonRegistry {
        IonRegistry::canonical()
    }

    #[test]
    fn unit_conversions() {
        let r = reg();
        let a = Composition::from_mol_per_l(&r, &[("Na+", 0.01), ("Cl-", 0.01)]).unwrap();
        let b = Composition::from_mmol_per_l(&r, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
        assert_relative_eq!(a.get("Na+").unwrap(), 10.0, max_relative = 1e-14);
        assert_relative_eq!(b.get("Cl-").unwrap(), 10.0);
        // 1000 mg/L of Na+ = 1 g/L / 22.98977 g/mol = 43.4976 mmol/L.
        let c = Composition::from_mg_per_l(&r, &[("Na+", 1000.0)]).unwrap();
        assert_relative_eq!(c.get("Na+").unwrap(), 43.497_61, max_relative = 1e-6);
        let na = r.parse("Na+").unwrap();
        assert_relative_eq!(
            ConcentrationUnit::MgPerL.from_si(43.497_608, na),
            1000.0,
            max_relative = 1e-6
        );
        // 1 g/L is 1000 mg/L; 1000 umol/L is 1 mmol/L.
        assert_relative_eq!(
            ConcentrationUnit::GPerL.to_si(1.0, na),
            43.497_61,
            max_relative = 1e-6
        );
        assert_relative_eq!(ConcentrationUnit::MicromolPerL.to_si(1000.0, na), 1.0);
    }

    #[test]
    fn seawater_like_feed_is_neutral_after_balancing() {
        let r = reg();
        let sw = Composition::standard_seawater_major_ions(&r).unwrap();
        // Bicarbonate and others are missing, so it is not neutral as given.
        assert!(sw.check_electroneutral(DEFAULT_NEUTRALITY_TOL).is_err());
        let fixed = sw.balanced_with(&r, "Cl-").unwrap();
        assert!(fixed.charge_balance().abs() < 1e-10);
        fixed.check_electroneutral(1e-12).unwrap();
        // I = 1/2 (Na + K + 4 Mg + 4 Ca + Cl + 4 SO4).
        let cl = fixed.get("Cl-").unwrap();
        let i = 0.5 * (468.97 + 10.21 + 4.0 * 52.82 + 4.0 * 10.28 + cl + 4.0 * 28.24);
        assert_relative_eq!(fixed.ionic_strength(), i, max_relative = 1e-14);
    }

    #[test]
    fn balancing_with_wrong_sign_is_an_error() {
        let r = reg();
        let f = Composition::from_mmol_per_l(&r, &[("Na+", 10.0), ("Cl-", 8.0)]).unwrap();
        assert!(matches!(
            f.balanced_with(&r, "K+"),
            Err(SpeciesError::CannotBalance { .. })
        ));
        // Adding an absent ion works.
        let g = f.balanced_with(&r, "NO3-").unwrap();
        assert_relative_eq!(g.get("NO3-").unwrap(), 2.0, max_relative = 1e-14);
    }

    #[test]
    fn invalid_values_and_duplicates_are_rejected() {
        let r = reg();
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = Composition::from_mmol_per_l(&r, &[("Na+", bad)]).unwrap_err();
            assert!(
                matches!(e, SpeciesError::InvalidConcentration { .. }),
                "{e}"
            );
        }
        let e = Composition::from_mmol_per_l(&r, &[("Na+", 1.0), ("sodium", 2.0)]).unwrap_err();
        assert_eq!(e, SpeciesError::DuplicateIon { ion: "Na+".into() });
        let e = Composition::from_mmol_per_l(&r, &[("Xe+", 1.0)]).unwrap_err();
        assert!(matches!(e, SpeciesError::UnknownIon { .. }));
    }

    #[test]
    fn vector_round_trip_and_unknown_ion() {
        let r = reg();
        let v = [1.0, 0.0, 0.0, 2.0, 0.0, 5.0, 0.0, 0.0];
        let c = Composition::from_vector(&r, &v, false).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.to_vector(&r).unwrap(), v);
        let small = IonRegistry::from_ions(r.ions()[..2].to_vec()).unwrap();
        assert!(matches!(
            c.to_vector(&small),
            Err(SpeciesError::UnknownIon { .. })
        ));
        assert!(matches!(
            Composition::from_vector(&r, &[1.0], false),
            Err(SpeciesError::LengthMismatch { .. })
        ));
    }
}
