//! `Scores`: predictions against measured rejections, per point and per ion.

use crate::arrays::array1;
use np_transport::score::{IonScore, ScoredPoint, score_by_ion};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One ion's score (the last row of `Scores.by_ion` is "all"): `points` measured rejections,
/// `rmse`, `mae` and `bias` (mean of predicted - measured) of R, `sign_errors` (predicted and
/// measured of opposite sign), `covered` (points inside their interval, or None).
#[pyclass(frozen, get_all, module = "iontransport", name = "IonScore")]
pub struct PyIonScore {
    ion: String,
    points: usize,
    rmse: f64,
    mae: f64,
    bias: f64,
    sign_errors: usize,
    covered: Option<usize>,
}

#[pymethods]
impl PyIonScore {
    pub(crate) fn __repr__(&self) -> String {
        let covered = self
            .covered
            .map(|c| format!(", covered={c}/{}", self.points))
            .unwrap_or_default();
        format!(
            "IonScore('{}', points={}, rmse={:.4}, mae={:.4}, bias={:+.4}, sign_errors={}{covered})",
            self.ion, self.points, self.rmse, self.mae, self.bias, self.sign_errors
        )
    }
}

impl From<IonScore> for PyIonScore {
    fn from(s: IonScore) -> Self {
        Self {
            ion: s.ion,
            points: s.points,
            rmse: s.rmse,
            mae: s.mae,
            bias: s.bias,
            sign_errors: s.sign_errors,
            covered: s.covered,
        }
    }
}

/// A model scored on measurements: `points` (every measured rejection beside the prediction)
/// and `by_ion` (errors per ion, then "all"); `level` of the intervals or None.
#[pyclass(frozen, module = "iontransport", name = "Scores")]
pub struct PyScores {
    points: Vec<ScoredPoint>,
    level: Option<f64>,
    basis: &'static str,
}

impl PyScores {
    /// Scores of `points` with intervals at `level`, rejections on `basis`.
    pub fn new(points: Vec<ScoredPoint>, level: Option<f64>, basis: &'static str) -> Self {
        Self {
            points,
            level,
            basis,
        }
    }
}

#[pymethods]
impl PyScores {
    /// Columns "feed", "ion" (lists of text), "Jv [m/s]", "measured", "predicted", "lower",
    /// "upper" (arrays; NaN ends without an interval).
    #[getter]
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let p = &self.points;
        d.set_item("feed", PyList::new(py, p.iter().map(|x| x.feed.clone()))?)?;
        d.set_item("ion", PyList::new(py, p.iter().map(|x| x.ion.clone()))?)?;
        let col = |f: &dyn Fn(&ScoredPoint) -> f64| -> Vec<f64> { p.iter().map(f).collect() };
        d.set_item("Jv [m/s]", array1(py, &col(&|x| x.flux)))?;
        d.set_item("measured", array1(py, &col(&|x| x.measured)))?;
        d.set_item("predicted", array1(py, &col(&|x| x.predicted)))?;
        d.set_item(
            "lower",
            array1(py, &col(&|x| x.interval.map_or(f64::NAN, |i| i.0))),
        )?;
        d.set_item(
            "upper",
            array1(py, &col(&|x| x.interval.map_or(f64::NAN, |i| i.1))),
        )?;
        Ok(d)
    }
    /// Scores per ion, then "all".
    #[getter]
    fn by_ion(&self) -> Vec<PyIonScore> {
        score_by_ion(&self.points)
            .into_iter()
            .map(PyIonScore::from)
            .collect()
    }
    /// Interval level, or None.
    #[getter]
    fn level(&self) -> Option<f64> {
        self.level
    }
    /// "observed" or "intrinsic": the measured rejections' basis.
    #[getter]
    fn basis(&self) -> &'static str {
        self.basis
    }
    fn __len__(&self) -> usize {
        self.points.len()
    }
    pub(crate) fn __repr__(&self) -> String {
        let rows: Vec<String> = self.by_ion().iter().map(|s| s.__repr__()).collect();
        format!(
            "Scores({} {} rejections:\n  {})",
            self.points.len(),
            self.basis,
            rows.join("\n  ")
        )
    }
}
