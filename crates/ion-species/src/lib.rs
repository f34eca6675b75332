//! # ion-species
//!
//! The vocabulary of ion transport models: which ions exist, what is known about them (valence,
//! Stokes radius, diffusivity, hydrated radius, molar mass, each with its literature source),
//! how people write their names, and electroneutral compositions in SI units.
//!
//! Units: concentrations in mol/m^3 (numerically mmol/L), lengths in m, diffusivities in
//! m^2/s, molar masses in kg/mol. Conversions happen at the edge ([`ConcentrationUnit`]).
//!
//! ```
//! use ion_species::{Composition, IonRegistry, DEFAULT_NEUTRALITY_TOL};
//!
//! let reg = IonRegistry::canonical(); // Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3-
//! let feed = Composition::from_mmol_per_l(&reg, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap();
//! feed.check_electroneutral(DEFAULT_NEUTRALITY_TOL).unwrap();
//! assert_eq!(feed.mask(&reg), [false, false, false, true, false, true, false, false]);
//! let mg = reg.parse("magnesium").unwrap();
//! assert_eq!(mg.charge, 2);
//! assert!((mg.stokes_radius - 0.347e-9).abs() < 1e-15); // m
//! ```

mod composition;
mod error;
mod ion;
mod registry;
mod salt;
pub mod water;

pub use composition::{Composition, ConcentrationUnit, DEFAULT_NEUTRALITY_TOL};
pub use error::{Result, SpeciesError};
pub use ion::{
    BOLTZMANN, Ion, MAX_VALENCE, T_REF, WATER_VISCOSITY_25C, canonical_ions, extended_ions,
};
pub use registry::IonRegistry;
pub use salt::Salt;

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
