//! NumPy arrays in and out: shapes checked with an `InputError` that names the argument.

use crate::errors::input;
use numpy::{
    AllowTypeChange, PyArray1, PyArray2, PyArrayLikeDyn, PyArrayMethods, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

/// A 1-D array of floats from anything NumPy converts (array, list, tuple, scalar: one value).
pub fn vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    let arr: PyArrayLikeDyn<'_, f64, AllowTypeChange> = obj
        .extract()
        .map_err(|_| input(format!("{what} must be numbers (a 1-D array or a list)")))?;
    match arr.ndim() {
        0 | 1 => Ok(arr.as_array().iter().copied().collect()),
        _ => Err(input(format!(
            "{what} must be a 1-D array; got shape {:?}",
            arr.shape()
        ))),
    }
}

/// A 1-D NumPy array of `v`.
pub fn array1<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_slice(py, v)
}

/// A 2-D NumPy array of the rows `rows` (all of length `cols`; `cols` also sets the shape of
/// an empty one).
pub fn array2<'py>(
    py: Python<'py>,
    rows: &[Vec<f64>],
    cols: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    PyArray1::from_vec(py, flat).reshape([rows.len(), cols])
}
