//! `Prediction`: rejections over fluxes, from any model (DSPM-DE sweep, fitted membrane with
//! intervals, trained model, ensemble), as NumPy arrays.

use crate::arrays::{array1, array2};
use np_transport::OperatingPoint;
use np_transport::interval::RejectionBand;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Rejections of one feed over water fluxes. Arrays are (fluxes, ions); fluxes in m/s,
/// concentrations in mol/m^3, rejections as fractions (observed, 1 - c_p/c_f, unless the
/// model was fitted to intrinsic ones). `lower`/`upper` hold the prediction interval at
/// `level` when one was asked for, `permeate` the permeate concentrations where the model
/// gives them, `intrinsic_rejection` 1 - c_p/c_m where a polarisation film separates the two.
/// `to_dict()` gives columns named as in the CSV format, for `pandas.DataFrame`.
#[pyclass(frozen, module = "iontransport", name = "Prediction")]
pub struct PyPrediction {
    pub(crate) fluxes: Vec<f64>,
    pub(crate) ions: Vec<String>,
    pub(crate) rejection: Vec<Vec<f64>>,
    pub(crate) lower: Option<Vec<Vec<f64>>>,
    pub(crate) upper: Option<Vec<Vec<f64>>>,
    pub(crate) permeate: Option<Vec<Vec<f64>>>,
    pub(crate) intrinsic_rejection: Option<Vec<Vec<f64>>>,
    pub(crate) level: Option<f64>,
    pub(crate) warnings: Vec<String>,
}

impl PyPrediction {
    /// From a DSPM-DE sweep (all ions of the feed, in its order).
    pub fn from_points(points: &[OperatingPoint]) -> Self {
        let intrinsic = points
            .iter()
            .map(|p| {
                p.permeate
                    .iter()
                    .zip(&p.membrane_surface)
                    .map(|(cp, cm)| 1.0 - cp / cm)
                    .collect()
            })
            .collect();
        Self {
            fluxes: points.iter().map(|p| p.flux).collect(),
            ions: points.first().map(|p| p.ions.clone()).unwrap_or_default(),
            rejection: points.iter().map(|p| p.rejection.clone()).collect(),
            lower: None,
            upper: None,
            permeate: Some(points.iter().map(|p| p.permeate.clone()).collect()),
            intrinsic_rejection: Some(intrinsic),
            level: None,
            warnings: Vec::new(),
        }
    }

    /// From bands with intervals at `level` (None: no interval), keeping the ions whose
    /// rejection is defined (present in the feed) as the command line's tables do.
    pub fn from_bands(bands: &[RejectionBand], level: Option<f64>, warnings: Vec<String>) -> Self {
        let present: Vec<usize> = match bands.first() {
            Some(b) => (0..b.ions.len())
                .filter(|&j| b.rejection[j].is_finite())
                .collect(),
            None => Vec::new(),
        };
        let pick = |f: &dyn Fn(&RejectionBand) -> &Vec<f64>| -> Vec<Vec<f64>> {
            bands
                .iter()
                .map(|b| present.iter().map(|&j| f(b)[j]).collect())
                .collect()
        };
        Self {
            fluxes: bands.iter().map(|b| b.flux).collect(),
            ions: bands
                .first()
                .map(|b| present.iter().map(|&j| b.ions[j].clone()).collect())
                .unwrap_or_default(),
            rejection: pick(&|b| &b.rejection),
            lower: level.map(|_| pick(&|b| &b.lower)),
            upper: level.map(|_| pick(&|b| &b.upper)),
            permeate: None,
            intrinsic_rejection: None,
            level,
            warnings,
        }
    }

    /// From a trained model's prediction (ions absent from the feed left out).
    pub fn from_model(p: iontransport_model::Prediction) -> Self {
        let present: Vec<usize> = match p.rejection.first() {
            Some(r) => (0..p.ions.len()).filter(|&j| r[j].is_finite()).collect(),
            None => Vec::new(),
        };
        let pick = |rows: &[Vec<f64>]| -> Vec<Vec<f64>> {
            rows.iter()
                .map(|r| present.iter().map(|&j| r[j]).collect())
                .collect()
        };
        Self {
            ions: present.iter().map(|&j| p.ions[j].clone()).collect(),
            rejection: pick(&p.rejection),
            permeate: Some(pick(&p.permeate)),
            fluxes: p.fluxes,
            lower: None,
            upper: None,
            intrinsic_rejection: None,
            level: None,
            warnings: p.warnings,
        }
    }

    fn table<'py>(
        &self,
        py: Python<'py>,
        rows: &Option<Vec<Vec<f64>>>,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        rows.as_ref()
            .map(|r| array2(py, r, self.ions.len()))
            .transpose()
    }
}

#[pymethods]
impl PyPrediction {
    /// Water fluxes, m/s, shape (n,).
    #[getter]
    fn fluxes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.fluxes)
    }
    /// Ion names: the columns of every array.
    #[getter]
    fn ions(&self) -> Vec<String> {
        self.ions.clone()
    }
    /// Rejections, shape (n, ions).
    #[getter]
    fn rejection<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        array2(py, &self.rejection, self.ions.len())
    }
    /// Lower ends of the prediction intervals, shape (n, ions), or None.
    #[getter]
    fn lower<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.table(py, &self.lower)
    }
    /// Upper ends of the prediction intervals, shape (n, ions), or None.
    #[getter]
    fn upper<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.table(py, &self.upper)
    }
    /// Permeate concentrations, mol/m^3, shape (n, ions), or None.
    #[getter]
    fn permeate<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.table(py, &self.permeate)
    }
    /// Intrinsic rejections 1 - c_p/c_m (DSPM-DE sweeps), shape (n, ions), or None.
    #[getter]
    fn intrinsic_rejection<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.table(py, &self.intrinsic_rejection)
    }
    /// Level of the intervals (e.g. 0.9), or None.
    #[getter]
    fn level(&self) -> Option<f64> {
        self.level
    }
    /// Where the query leaves what the model was trained on.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    /// Columns named as in the CSV format: "Jv [m/s]", "rejection:ION [-]", and where present
    /// "rejection_lower:ION [-]", "rejection_upper:ION [-]", "permeate:ION [mol/m3]",
    /// "intrinsic_rejection:ION [-]"; each a 1-D array over the fluxes.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("Jv [m/s]", array1(py, &self.fluxes))?;
        let column =
            |rows: &[Vec<f64>], j: usize| -> Vec<f64> { rows.iter().map(|r| r[j]).collect() };
        for (kind, rows, unit) in [
            ("rejection", Some(&self.rejection), "-"),
            ("rejection_lower", self.lower.as_ref(), "-"),
            ("rejection_upper", self.upper.as_ref(), "-"),
            (
                "intrinsic_rejection",
                self.intrinsic_rejection.as_ref(),
                "-",
            ),
            ("permeate", self.permeate.as_ref(), "mol/m3"),
        ] {
            if let Some(rows) = rows {
                for (j, ion) in self.ions.iter().enumerate() {
                    d.set_item(
                        format!("{kind}:{ion} [{unit}]"),
                        array1(py, &column(rows, j)),
                    )?;
                }
            }
        }
        Ok(d)
    }
    fn __len__(&self) -> usize {
        self.fluxes.len()
    }
    fn __repr__(&self) -> String {
        let range = match (self.fluxes.first(), self.fluxes.last()) {
            (Some(a), Some(b)) => format!("{a:.3e}..{b:.3e} m/s"),
            _ => "none".into(),
        };
        let level = self
            .level
            .map(|l| format!(", {:.0} % intervals", 100.0 * l))
            .unwrap_or_default();
        format!(
            "Prediction({} fluxes {range}, ions [{}]{level})",
            self.fluxes.len(),
            self.ions.join(", ")
        )
    }
}
