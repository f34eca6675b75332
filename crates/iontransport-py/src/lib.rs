//! # iontransport-py
//!
//! The `iontransport` Python package: a thin layer over the library crates (ion-species,
//! np-transport, iontransport-model) with NumPy arrays in and out. Nothing here computes
//! anything the libraries do not; every number comes from the same function the Rust API
//! and the command line call.
//!
//! Build and install with maturin (`pip install ./crates/iontransport-py`, or `maturin
//! develop` in a virtual environment); the Python API, with units, is documented in
//! `iontransport.pyi` and docs/python.md. Units are SI: mol/m^3 (= mmol/L), m/s, m, Pa, K.

mod arrays;
mod data;
mod errors;
mod ions;
mod membranes;
mod models;
mod physics;
mod quantity;
mod results;
mod scores;
mod sdem;
mod watertap;

use pyo3::prelude::*;

/// The `iontransport` Python module.
#[pymodule]
#[pyo3(name = "iontransport")]
fn iontransport_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // One litre per square metre per hour, in m/s: `30 * iontransport.LMH`.
    m.add("LMH", np_transport::units::LMH)?;
    errors::register(m)?;
    m.add_class::<ions::PyIon>()?;
    m.add_class::<ions::PyRegistry>()?;
    m.add_class::<ions::PyComposition>()?;
    m.add_class::<physics::PyMembrane>()?;
    m.add_class::<physics::PyConditions>()?;
    m.add_class::<physics::PyDspmde>()?;
    m.add_class::<physics::PyOperatingPoint>()?;
    m.add_class::<results::PyPrediction>()?;
    m.add_class::<data::PyDataset>()?;
    m.add_class::<membranes::PyMembraneFile>()?;
    m.add_class::<membranes::PyFittedParameter>()?;
    m.add_class::<scores::PyScores>()?;
    m.add_class::<scores::PyIonScore>()?;
    m.add_function(wrap_pyfunction!(membranes::fit, m)?)?;
    m.add_class::<models::PyModel>()?;
    m.add_function(wrap_pyfunction!(models::predict_ensemble, m)?)?;
    m.add_function(wrap_pyfunction!(models::score_models, m)?)?;
    m.add_class::<sdem::PySdem>()?;
    m.add_class::<sdem::PySdemFit>()?;
    m.add_function(wrap_pyfunction!(sdem::fit_sdem, m)?)?;
    m.add_class::<watertap::PyModule0d>()?;
    m.add_class::<watertap::PyWaterTapSolution>()?;
    Ok(())
}
