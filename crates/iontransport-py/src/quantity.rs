//! Arguments that take a number in SI units or text with a unit ("20 LMH", "0.45 nm",
//! "10 bar", "20 C"), read by np-transport's one parser of quantities.

use crate::errors::input;
use np_transport::quantities;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// `obj` as SI: a number as it is, text through `parse`.
fn si(obj: &Bound<'_, PyAny>, what: &str, parse: fn(&str) -> Result<f64, String>) -> PyResult<f64> {
    if let Ok(s) = obj.cast::<PyString>() {
        return parse(&s.to_cow()?).map_err(|e| input(format!("{what}: {e}")));
    }
    let x: f64 = obj
        .extract()
        .map_err(|_| input(format!("{what} must be a number or text with a unit")))?;
    if !x.is_finite() {
        return Err(input(format!("{what} must be finite, got {x}")));
    }
    Ok(x)
}

/// A water flux, m/s (text: m/s, um/s, LMH = L/m2/h, ...).
pub fn flux(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    si(obj, what, quantities::parse_flux)
}

/// A length, m (text: nm, um, mm, m).
pub fn length(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    si(obj, what, quantities::parse_length)
}

/// A charge density, mol/m^3 (text: mM, M, mol/m3).
pub fn charge(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    si(obj, what, quantities::parse_charge)
}

/// A pressure difference, Pa (text: bar, kPa, MPa, Pa, psi).
pub fn pressure(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    si(obj, what, quantities::parse_pressure)
}

/// A temperature, K (text: "20 C", "293.15 K").
pub fn temperature(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    si(obj, what, quantities::parse_temperature)
}
