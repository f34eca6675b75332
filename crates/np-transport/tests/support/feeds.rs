//! Feeds shared by tests and benches.

use ion_species::{Composition, IonRegistry};

/// All eight canonical ions at brackish-water levels, mmol/L (before balancing).
pub const EIGHT_IONS_MMOL: &[(&str, f64)] = &[
    ("Na+", 50.0),
    ("K+", 2.0),
    ("Li+", 1.0),
    ("Mg2+", 10.0),
    ("Ca2+", 5.0),
    ("Cl-", 70.0),
    ("SO4 2-", 6.0),
    ("NO3-", 1.0),
];

/// [`EIGHT_IONS_MMOL`], balanced with Cl-.
pub fn eight_ion_feed() -> Composition {
    let reg = IonRegistry::canonical();
    Composition::from_mmol_per_l(&reg, EIGHT_IONS_MMOL)
        .unwrap()
        .balanced_with(&reg, "Cl-")
        .unwrap()
}
