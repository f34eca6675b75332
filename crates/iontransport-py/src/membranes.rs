//! Fitted membranes: `fit` from measurements to a `MembraneFile`, which predicts (with
//! prediction intervals) and scores anywhere.

use crate::arrays::array2;
use crate::data::PyDataset;
use crate::errors::{IntoPy, input};
use crate::ions::{PyRegistry, feed_arg};
use crate::physics::{
    DEFAULT_FLUX_MAX, DEFAULT_POINTS, PyConditions, PyDspmde, PyMembrane, polarisation,
    sweep_fluxes,
};
use crate::quantity;
use crate::results::PyPrediction;
use crate::scores::PyScores;
use np_transport::membrane_file::{FIT_MAX_POINTS, FittedParameter};
use np_transport::score::score_membrane;
use np_transport::{Conditions, FitSettings, MembraneFile};
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// An interval argument: a level in (0, 1), None, or "auto" (the default of `score`: 0.9
/// when the file holds what intervals need, else none).
pub enum Interval {
    /// This level.
    Level(f64),
    /// None.
    Off,
    /// 0.9 when available.
    Auto,
}

impl Interval {
    /// Reads the argument.
    pub fn from_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(obj) = obj else { return Ok(Self::Off) };
        if let Ok(s) = obj.cast::<PyString>() {
            return match s.to_cow()?.as_ref() {
                "auto" => Ok(Self::Auto),
                other => Err(input(format!(
                    "interval `{other}`: expected a level such as 0.9, None or \"auto\""
                ))),
            };
        }
        let l: f64 = obj
            .extract()
            .map_err(|_| input("interval must be a level such as 0.9, None or \"auto\""))?;
        if !(l > 0.0 && l < 1.0) {
            return Err(input(format!("interval level {l} is not in (0, 1)")));
        }
        Ok(Self::Level(l))
    }

    /// A `score` argument: None means "auto".
    pub fn score_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match obj {
            None => Ok(Self::Auto),
            Some(i) => Self::from_arg(Some(i)),
        }
    }

    /// The level to use when intervals are `available`.
    pub fn level(&self, available: bool) -> Option<f64> {
        match self {
            Self::Level(l) => Some(*l),
            Self::Off => None,
            Self::Auto => available.then_some(0.9),
        }
    }
}

/// One fitted parameter: `name`, `value` and `standard_error` in `unit` (SI), `at_bound`.
#[pyclass(frozen, get_all, module = "iontransport", name = "FittedParameter")]
pub struct PyFittedParameter {
    name: String,
    value: f64,
    standard_error: f64,
    unit: String,
    at_bound: bool,
}

#[pymethods]
impl PyFittedParameter {
    fn __repr__(&self) -> String {
        format!(
            "FittedParameter('{}', {:.5e} ± {:.2e} {}{})",
            self.name,
            self.value,
            self.standard_error,
            self.unit,
            if self.at_bound { ", at its bound" } else { "" }
        )
    }
}

impl From<&FittedParameter> for PyFittedParameter {
    fn from(p: &FittedParameter) -> Self {
        Self {
            name: p.name.clone(),
            value: p.value,
            standard_error: p.standard_error,
            unit: p.unit.clone(),
            at_bound: p.at_bound,
        }
    }
}

/// A membrane saved as a file (JSON; the format of `iontransport fit --out`): the membrane,
/// its conditions and, when fitted, the fit (parameters with standard errors, correlations,
/// RMSE) and parameter samples for prediction intervals.
#[pyclass(frozen, module = "iontransport", name = "MembraneFile")]
pub struct PyMembraneFile {
    pub(crate) inner: MembraneFile,
}

impl PyMembraneFile {
    fn has_samples(&self) -> bool {
        self.inner
            .fit
            .as_ref()
            .is_some_and(|f| f.uncertainty.is_some())
    }
}

#[pymethods]
impl PyMembraneFile {
    /// A file of `membrane` at `conditions` (default 25 °C, no film), without a fit.
    #[new]
    #[pyo3(signature = (membrane, conditions = None))]
    fn new(membrane: &PyMembrane, conditions: Option<&PyConditions>) -> PyResult<Self> {
        let conditions = conditions.map_or_else(Conditions::default, |c| c.inner.clone());
        Ok(Self {
            inner: MembraneFile::new(membrane.inner.clone(), conditions).py_err()?,
        })
    }
    /// Reads and checks a membrane file.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: MembraneFile::load(&path).py_err()?,
        })
    }
    /// Writes the file atomically.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.inner.save(&path).py_err()
    }
    /// The membrane.
    #[getter]
    fn membrane(&self) -> PyMembrane {
        PyMembrane {
            inner: self.inner.membrane.clone(),
        }
    }
    /// The conditions it was fitted at.
    #[getter]
    fn conditions(&self) -> PyConditions {
        PyConditions {
            inner: self.inner.conditions.clone(),
        }
    }
    /// The DSPM-DE of the membrane at its conditions.
    fn dspmde(&self) -> PyResult<PyDspmde> {
        Ok(PyDspmde {
            inner: self.inner.dspmde().py_err()?,
        })
    }
    /// Fitted parameters (empty for a membrane not fitted).
    #[getter]
    fn parameters(&self) -> Vec<PyFittedParameter> {
        self.inner
            .fit
            .as_ref()
            .map(|f| f.parameters.iter().map(PyFittedParameter::from).collect())
            .unwrap_or_default()
    }
    /// Correlation matrix of the fitted parameters (in `parameters` order), or None.
    #[getter]
    fn correlation<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.inner
            .fit
            .as_ref()
            .map(|f| array2(py, &f.correlation, f.correlation.len()))
            .transpose()
    }
    /// RMSE of the fitted rejections, or None.
    #[getter]
    fn rmse(&self) -> Option<f64> {
        self.inner.fit.as_ref().map(|f| f.rmse)
    }
    /// Number of rejections fitted, or None.
    #[getter]
    fn rejections(&self) -> Option<usize> {
        self.inner.fit.as_ref().map(|f| f.rejections)
    }
    /// (starts that agreed on the optimum, starts), or None.
    #[getter]
    fn starts(&self) -> Option<(usize, usize)> {
        self.inner
            .fit
            .as_ref()
            .map(|f| (f.agreeing_starts, f.starts))
    }
    /// The data the membrane was fitted to (name, fingerprint), or None.
    #[getter]
    fn data(&self) -> Option<(String, String)> {
        self.inner
            .fit
            .as_ref()
            .map(|f| (f.data.clone(), f.data_fingerprint.clone()))
    }
    /// Whether the file holds parameter samples (prediction intervals).
    #[getter]
    fn has_intervals(&self) -> bool {
        self.has_samples()
    }
    /// Rejections of a feed over fluxes (as `Dspmde.sweep`), with `interval` prediction
    /// intervals (a level such as 0.9; default none, as `iontransport dspmde --membrane`);
    /// `temperature` (K or "20 C") moves membrane and feed there (default: the file's).
    #[pyo3(signature = (feed, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, interval = None, temperature = None, unit = "mmol/L", registry = None))]
    #[allow(clippy::too_many_arguments)]
    fn predict(
        &self,
        py: Python<'_>,
        feed: &Bound<'_, PyAny>,
        fluxes: Option<&Bound<'_, PyAny>>,
        flux_max: Option<&Bound<'_, PyAny>>,
        points: usize,
        interval: Option<&Bound<'_, PyAny>>,
        temperature: Option<&Bound<'_, PyAny>>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyPrediction> {
        let reg = PyRegistry::or_default(registry);
        let feed = feed_arg(feed, unit, &reg)?;
        let fluxes = sweep_fluxes(fluxes, flux_max, DEFAULT_FLUX_MAX, points)?;
        let t = temperature
            .map(|t| quantity::temperature(t, "temperature"))
            .transpose()?;
        match Interval::from_arg(interval)?.level(self.has_samples()) {
            Some(level) => {
                let sweep = py
                    .detach(|| self.inner.sweep_with_intervals(&feed, &fluxes, t, level))
                    .py_err()?;
                Ok(PyPrediction::from_bands(
                    &sweep.bands,
                    Some(level),
                    Vec::new(),
                ))
            }
            None => {
                let mut model = self.inner.dspmde().py_err()?;
                let t = t.unwrap_or(model.conditions.temperature);
                if t != model.conditions.temperature {
                    model = model.at_temperature(t).py_err()?;
                }
                let feed = if t == ion_species::T_REF {
                    feed
                } else {
                    feed.at_temperature(t).py_err()?
                };
                let points = py.detach(|| model.sweep(&feed, &fluxes)).py_err()?;
                Ok(PyPrediction::from_points(&points))
            }
        }
    }
    /// Scores the membrane on measurements it has not seen (`iontransport score
    /// --membrane`): every measured rejection against the prediction, with `interval`
    /// intervals (default "auto": 0.9 when the file holds parameter samples).
    #[pyo3(signature = (data, *, interval = None))]
    fn score(
        &self,
        py: Python<'_>,
        data: &PyDataset,
        interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyScores> {
        let level = Interval::score_arg(interval)?.level(self.has_samples());
        let scored = py
            .detach(|| score_membrane(&self.inner, &data.data, &data.registry, level))
            .py_err()?;
        Ok(PyScores::new(scored, level, basis_name(&data.data)))
    }
    fn __repr__(&self) -> String {
        let m = self.membrane().__repr__();
        match &self.inner.fit {
            Some(f) => format!(
                "MembraneFile({m}, fitted to {} rejections of {}, RMSE {:.4}{})",
                f.rejections,
                f.data,
                f.rmse,
                if f.uncertainty.is_some() {
                    ", with parameter samples"
                } else {
                    ""
                }
            ),
            None => format!("MembraneFile({m}, not fitted)"),
        }
    }
}

/// The basis of a data set's rejections, by name.
pub fn basis_name(d: &np_transport::data::Dataset) -> &'static str {
    match d.basis {
        np_transport::data::RejectionBasis::Observed => "observed",
        np_transport::data::RejectionBasis::Intrinsic => "intrinsic",
    }
}

/// The isotherm argument of [`fit`]: a bool (True: Freundlich) or a form's name.
fn isotherm_of(arg: Option<&Bound<'_, PyAny>>) -> PyResult<Option<np_transport::IsothermForm>> {
    let Some(arg) = arg else { return Ok(None) };
    if let Ok(on) = arg.extract::<bool>() {
        return Ok(on.then_some(np_transport::IsothermForm::Freundlich));
    }
    let name: String = arg
        .extract()
        .map_err(|_| input("isotherm must be a bool, \"freundlich\" or \"langmuir\""))?;
    name.parse()
        .map(Some)
        .map_err(|e: np_transport::TransportError| input(e.to_string()))
}

/// Fits a membrane to measurements, as `iontransport fit`: pore radius, effective thickness
/// and charge (multi-start Levenberg-Marquardt from the NF270-like membrane), with
/// `isotherm` (True or "freundlich", or "langmuir") the charge as an isotherm of the feed's
/// ionic strength, with `multivalent_charge=True` the charge as set by the feed's multivalent
/// ions (x0 + c f2+ + a f2-), with
/// `fit_dielectric` the pore dielectric constant too, with `born_radius="hydration"` Born
/// terms from the ions' hydration free energies, with `partition_energies` (ion names) an
/// extra partition energy (kT) per listed ion, with `energy_descriptors` (names among
/// "hydration", "stokes_radius", "valence_squared") every ion's energy as a linear function of
/// its own data (one weight per descriptor), then `samples` parameter samples
/// (seed `seed`) for prediction intervals. `film_thickness` (m) or `mass_transfer` (m/s,
/// measured for NaCl) adds a polarisation film; `jacobian="implicit"` gives the optimiser
/// exact derivatives by the implicit function theorem (faster) instead of differences. Returns the `MembraneFile`; the GIL is
/// released while fitting.
#[pyfunction]
#[pyo3(signature = (data, *, isotherm = None, multivalent_charge = false, fit_dielectric = false, born_radius = "stokes", partition_energies = Vec::new(), energy_descriptors = Vec::new(), jacobian = "differences", film_thickness = None, mass_transfer = None, max_evaluations = 300, samples = 200, seed = 0))]
#[allow(clippy::too_many_arguments)]
pub fn fit(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    isotherm: Option<&Bound<'_, PyAny>>,
    multivalent_charge: bool,
    fit_dielectric: bool,
    born_radius: &str,
    partition_energies: Vec<String>,
    energy_descriptors: Vec<String>,
    jacobian: &str,
    film_thickness: Option<&Bound<'_, PyAny>>,
    mass_transfer: Option<f64>,
    max_evaluations: usize,
    samples: usize,
    seed: u64,
) -> PyResult<PyMembraneFile> {
    let mut read = None;
    let data = crate::data::dataset_arg(data, &mut read)?;
    if max_evaluations == 0 {
        return Err(input("max_evaluations must be at least 1"));
    }
    let polarisation = polarisation(film_thickness, mass_transfer)?;
    let settings = FitSettings {
        conditions: Conditions {
            polarisation,
            ..Conditions::default()
        },
        isotherm: isotherm_of(isotherm)?,
        multivalent_charge,
        fit_dielectric,
        born_radius: crate::physics::born_radius_of(born_radius)?,
        partition_energies: partition_energies
            .iter()
            .map(|n| data.registry.parse(n).map(|i| i.name.clone()))
            .collect::<Result<_, _>>()
            .py_err()?,
        energy_descriptors: energy_descriptors
            .iter()
            .map(|n| {
                np_transport::EnergyDescriptor::parse(n).ok_or_else(|| {
                    input(format!(
                        "unknown energy descriptor `{n}`: hydration, stokes_radius or valence_squared"
                    ))
                })
            })
            .collect::<PyResult<_>>()?,
        jacobian: match jacobian {
            "differences" => np_transport::FitJacobian::Differences,
            "implicit" => np_transport::FitJacobian::Implicit,
            other => {
                return Err(input(format!(
                    "unknown jacobian `{other}`: differences or implicit"
                )));
            }
        },
        max_evaluations,
        samples,
        seed,
    };
    let meas = data
        .data
        .rejection_measurements(&data.registry, FIT_MAX_POINTS)
        .py_err()?;
    let file = py
        .detach(|| MembraneFile::fit(&meas, &settings, &data.name, &data.bytes))
        .py_err()?;
    Ok(PyMembraneFile { inner: file })
}
