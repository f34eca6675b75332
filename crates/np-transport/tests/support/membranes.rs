//! Membranes the fitting tests share.

use np_transport::{ChargeModel, Membrane};

/// The membrane the fitting tests simulate data from and fit back.
pub fn truth() -> Membrane {
    Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 2.0e-6,
        charge: ChargeModel::Constant(-30.0),
        pore_dielectric: 55.0,
        pore_size_distribution: None,
        partitioning: Default::default(),
    }
}
