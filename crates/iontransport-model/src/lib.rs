//! # iontransport-model
//!
//! An attention-enhanced neural ODE for multi-ion transport through nanofiltration
//! membranes: the permeate concentrations h(J_v) of up to eight ions as a function of water
//! flux, dh/dtau = f_theta(h, tau) with tau = J_v / J_scale, integrated from J_v = 0 (h = the
//! feed) with adaptive Tsitouras 5(4) (`neural-ode`), gradients by its adjoint, and
//! electroneutrality as a hard projection (`charge-constraint`) or a soft penalty.
//!
//! Units: concentrations mol/m^3, fluxes m/s; the model works internally with
//! h = c / S (S = total feed concentration) and tau = J_v / J_scale.

mod error;
pub mod evaluation;
pub mod model;
pub mod models;
pub mod network;
pub mod training;

// The parts' modules at the crate root, where their paths have always been.
pub use evaluation::{beyond, crossval, ensemble, evaluate, pipeline};
pub use model::{batched, hybrid};
pub use training::{checkpoint, data, train};

pub use checkpoint::Checkpoint;
pub use error::{ModelError, Result};
pub use hybrid::{Backbone, BackboneCurve};
pub use model::{
    Architecture, Constraint, IonModel, LossSpace, MAX_SOFT_WEIGHT, ModelConfig, Prediction,
    PreparedFeed, RejectionScatter, ScatterSource, TrainingDomain, TrajectoryField,
};
pub use network::NetworkConfig;
pub use train::{Phase, TrainConfig, TrainReport, train};

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
