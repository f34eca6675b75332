//! # np-transport
//!
//! The Donnan-Steric Pore Model with Dielectric Exclusion (DSPM-DE) for nanofiltration:
//! extended Nernst-Planck transport through cylindrical pores with steric, Donnan and
//! dielectric (Born) partitioning at both faces and electroneutrality everywhere; and the
//! solution–diffusion–electromigration model ([`sdem`], per-ion permeances), solved by the
//! same machinery.
//!
//! Units are SI throughout: concentrations mol/m^3, water flux m/s, lengths m, pressure Pa.

mod constants;
pub mod data;
mod error;
mod fit;
pub mod generate;
pub mod hindrance;
pub mod identify;
mod implicit;
pub mod interval;
pub mod membrane_file;
mod model;
mod parameters;
pub mod partition;
pub mod posterior;
pub mod progress;
pub mod quantities;
pub mod score;
pub mod sdem;
mod solver;
mod transport;
mod transport_model;
pub mod units;
pub mod watertap;

pub use constants::*;
pub use error::{Result, TransportError};
pub use fit::{
    FitBounds, FitJacobian, FitOptions, FitResult, ISOTHERM_START_EXPONENTS,
    ISOTHERM_START_HALF_SATURATIONS, RejectionMeasurement, Starts, fit, fit_isotherm,
    isotherm_identifiable, residuals,
};
pub use implicit::PointSensitivity;
pub use membrane_file::{FitSettings, MembraneFile};
pub use model::{
    Activity, BornRadius, ChargeModel, Conditions, EnergyDescriptor, LANGMUIR_K_RANGE,
    LogNormalPores, MAX_CHARGE_DENSITY, MAX_DESCRIPTOR_WEIGHT, MAX_PARTITION_ENERGY, Membrane,
    NewtonJacobian, Partitioning, Polarisation, PoreScheme, multivalent_shares,
};
pub use parameters::{
    ENERGY_WEIGHT, ISOTHERM_REFERENCE, IsothermForm, PARTITION_ENERGY, parameter_value,
};
pub use solver::{Dspmde, OperatingPoint};
pub use transport_model::TransportModel;
pub use units::MAX_FLUX;

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
