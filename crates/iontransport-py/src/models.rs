//! Trained models (the attention neural ODE, the hybrid): load a model file, predict over
//! fluxes for one feed or many (the batched lock-step path), attention matrices, ensembles
//! with prediction intervals, scores.

use crate::arrays::array2;
use crate::data::PyDataset;
use crate::errors::{IntoPy, Kind, input, raise};
use crate::ions::{PyRegistry, feed_arg};
use crate::membranes::{Interval, basis_name};
use crate::physics::{DEFAULT_FLUX_MAX, DEFAULT_POINTS, sweep_fluxes};
use crate::quantity;
use crate::results::PyPrediction;
use crate::scores::PyScores;
use iontransport_model::ensemble::predict_with_intervals;
use iontransport_model::{Architecture, Checkpoint, Constraint, IonModel, LossSpace, ModelError};
use np_transport::score::score_sweeps;
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// A trained model: `Model.load(path)` (a file of `iontransport train` or `pipeline --out`)
/// or `Model.shipped()` (the NF270 model trained on the shipped SYNTHETIC measurements).
/// Predictions are permeate concentrations and rejections of a feed over water fluxes; the
/// GIL is released while predicting.
#[pyclass(frozen, module = "iontransport", name = "Model")]
#[derive(Clone)]
pub struct PyModel {
    pub(crate) inner: IonModel,
    name: String,
}

impl PyModel {
    fn fluxes(
        &self,
        fluxes: Option<&Bound<'_, PyAny>>,
        flux_max: Option<&Bound<'_, PyAny>>,
        points: usize,
    ) -> PyResult<Vec<f64>> {
        sweep_fluxes(fluxes, flux_max, default_flux_max(&self.inner), points)
    }
}

/// The upper flux of a default sweep: the model's training domain, as `iontransport predict`.
fn default_flux_max(m: &IonModel) -> f64 {
    m.config
        .domain
        .as_ref()
        .map_or(DEFAULT_FLUX_MAX, |d| d.flux_max)
}

/// Whether a model file records its error on unseen feeds (what intervals need).
fn records_scatter(m: &IonModel) -> bool {
    m.config
        .domain
        .as_ref()
        .is_some_and(|d| d.scatter.is_some())
}

/// The models of a `models` argument: one `Model` or a list of them.
fn members(models: &Bound<'_, PyAny>) -> PyResult<Vec<IonModel>> {
    if let Ok(m) = models.cast::<PyModel>() {
        return Ok(vec![m.get().inner.clone()]);
    }
    let list = models
        .cast::<PyList>()
        .map_err(|_| input("models must be a Model or a list of Models"))?;
    let out: Vec<IonModel> = list
        .iter()
        .map(|m| {
            m.cast::<PyModel>()
                .map(|m| m.get().inner.clone())
                .map_err(|_| input("models must be a Model or a list of Models"))
        })
        .collect::<PyResult<_>>()?;
    if out.is_empty() {
        return Err(input("models is empty"));
    }
    Ok(out)
}

#[pymethods]
impl PyModel {
    /// Reads a model file (checksummed; a tampered or unfinished one is refused).
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let c = Checkpoint::load(&path).py_err()?;
        if c.is_unfinished() {
            return Err(raise(
                Kind::File,
                format!(
                    "{} is the checkpoint of an unfinished training run (epoch {}), not a model: finish it with `iontransport train --resume` and load the model file that writes",
                    path.display(),
                    c.epoch
                ),
            ));
        }
        Ok(Self {
            inner: c.model().py_err()?,
            name: path.display().to_string(),
        })
    }
    /// The shipped NF270 model (trained on the shipped SYNTHETIC measurements).
    #[staticmethod]
    fn shipped() -> PyResult<Self> {
        Ok(Self {
            inner: iontransport_model::models::nf270_synthetic().py_err()?,
            name: "nf270-synthetic (shipped)".into(),
        })
    }
    /// The model's ions, the columns of its predictions.
    #[getter]
    fn ions(&self) -> Vec<String> {
        self.inner.config.ions.clone()
    }
    /// "hybrid" (a DSPM-DE backbone with a learned correction), "neural_ode" or "direct".
    #[getter]
    fn kind(&self) -> &'static str {
        if self.inner.config.backbone.is_some() {
            "hybrid"
        } else {
            match self.inner.config.architecture {
                Architecture::NeuralOde => "neural_ode",
                Architecture::Direct => "direct",
            }
        }
    }
    /// "hard", "soft" or "hard_positive": how electroneutrality is imposed.
    #[getter]
    fn constraint(&self) -> &'static str {
        match self.inner.config.constraint {
            Constraint::Hard => "hard",
            Constraint::Soft { .. } => "soft",
            Constraint::HardPositive => "hard_positive",
        }
    }
    /// "concentration" (the method's) or "rejection": what its training loss compared.
    #[getter]
    fn loss(&self) -> &'static str {
        match self.inner.config.loss {
            LossSpace::Concentration => "concentration",
            LossSpace::Rejection => "rejection",
        }
    }
    /// The largest flux it was trained on, m/s (None for files without a training domain).
    #[getter]
    fn flux_max(&self) -> Option<f64> {
        self.inner.config.domain.as_ref().map(|d| d.flux_max)
    }
    /// Whether the file records its error on unseen feeds (what intervals need).
    #[getter]
    fn has_intervals(&self) -> bool {
        records_scatter(&self.inner)
    }
    /// Number of trained parameters.
    #[getter]
    fn num_params(&self) -> usize {
        self.inner.num_params()
    }
    /// Predicts one feed over `fluxes` (m/s, non-decreasing) or `points` fluxes on
    /// (0, flux_max] (defaults: 10 points up to the model's largest training flux, as
    /// `iontransport predict`). Columns: the feed's ions, in the model's order.
    #[pyo3(signature = (feed, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, unit = "mmol/L", registry = None))]
    #[allow(clippy::too_many_arguments)]
    fn predict(
        &self,
        py: Python<'_>,
        feed: &Bound<'_, PyAny>,
        fluxes: Option<&Bound<'_, PyAny>>,
        flux_max: Option<&Bound<'_, PyAny>>,
        points: usize,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyPrediction> {
        let feed = feed_arg(feed, unit, &PyRegistry::or_default(registry))?;
        let fluxes = self.fluxes(fluxes, flux_max, points)?;
        let p = py.detach(|| self.inner.predict(&feed, &fluxes)).py_err()?;
        Ok(PyPrediction::from_model(p))
    }
    /// Predicts many feeds at the same fluxes through the batched lock-step path (all cores;
    /// equal to `predict` per feed to about 1e-9 relative). Returns one `Prediction` per feed;
    /// the first feed that fails raises, naming its index.
    #[pyo3(signature = (feeds, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, unit = "mmol/L", registry = None))]
    #[allow(clippy::too_many_arguments)]
    fn predict_many(
        &self,
        py: Python<'_>,
        feeds: &Bound<'_, PyAny>,
        fluxes: Option<&Bound<'_, PyAny>>,
        flux_max: Option<&Bound<'_, PyAny>>,
        points: usize,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<Vec<PyPrediction>> {
        let reg = PyRegistry::or_default(registry);
        let feeds: Vec<_> = feeds
            .try_iter()
            .map_err(|_| input("feeds must be a list of feeds"))?
            .enumerate()
            .map(|(i, f)| {
                feed_arg(&f?, unit, &reg).map_err(|e| input(format!("feed {i}: {}", e.value(py))))
            })
            .collect::<PyResult<_>>()?;
        let fluxes = self.fluxes(fluxes, flux_max, points)?;
        let results = py.detach(|| self.inner.predict_many(&feeds, &fluxes));
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.map(PyPrediction::from_model).map_err(|e| {
                    let kind = crate::errors::model_kind(&e);
                    raise(kind, format!("feed {i}: {e}"))
                })
            })
            .collect()
    }
    /// The attention matrix of a feed at a flux (m/s): (ions, ions) over the model's ions,
    /// row i the weights ion i gives every ion (absent ions: zero rows and columns).
    #[pyo3(signature = (feed, flux, *, unit = "mmol/L", registry = None))]
    fn attention<'py>(
        &self,
        py: Python<'py>,
        feed: &Bound<'_, PyAny>,
        flux: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let feed = feed_arg(feed, unit, &PyRegistry::or_default(registry))?;
        let jv = quantity::flux(flux, "flux")?;
        let a = py.detach(|| self.inner.attention(&feed, jv)).py_err()?;
        let n = self.inner.config.ions.len();
        array2(py, &a, n)
    }
    /// The same model at another temperature (K or "20 C"): a hybrid's backbone moves there;
    /// a purely learned model has no temperature input and refuses.
    fn at_temperature(&self, temperature: &Bound<'_, PyAny>) -> PyResult<Self> {
        let t = quantity::temperature(temperature, "temperature")?;
        Ok(Self {
            inner: self.inner.at_temperature(t).py_err()?,
            name: self.name.clone(),
        })
    }
    fn __repr__(&self) -> String {
        format!(
            "Model({}: {}, {} constraint, ions [{}], {} parameters{})",
            self.name,
            self.kind(),
            self.constraint(),
            self.ions().join(", "),
            self.num_params(),
            self.flux_max()
                .map(|j| format!(", trained up to {j:.4e} m/s"))
                .unwrap_or_default()
        )
    }
}

/// Predicts a feed with one model or an ensemble (a list, e.g. one model trained with
/// several seeds): the members' mean and, with `interval` (a level such as 0.9; default
/// none, as `iontransport predict`), the central interval of the mixture of the members'
/// Gaussians with each member's recorded error on unseen feeds.
#[pyfunction]
#[pyo3(signature = (models, feed, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, interval = None, unit = "mmol/L", registry = None))]
#[allow(clippy::too_many_arguments)]
pub fn predict_ensemble(
    py: Python<'_>,
    models: &Bound<'_, PyAny>,
    feed: &Bound<'_, PyAny>,
    fluxes: Option<&Bound<'_, PyAny>>,
    flux_max: Option<&Bound<'_, PyAny>>,
    points: usize,
    interval: Option<&Bound<'_, PyAny>>,
    unit: &str,
    registry: Option<&PyRegistry>,
) -> PyResult<PyPrediction> {
    let models = members(models)?;
    let feed = feed_arg(feed, unit, &PyRegistry::or_default(registry))?;
    let fluxes = sweep_fluxes(fluxes, flux_max, default_flux_max(&models[0]), points)?;
    let level = Interval::from_arg(interval)?.level(true);
    let p = py
        .detach(|| predict_with_intervals(&models, &feed, &fluxes, level))
        .py_err()?;
    Ok(PyPrediction::from_bands(&p.bands, level, p.warnings))
}

/// Scores one model or an ensemble on measurements (`iontransport score --model`), with
/// `interval` intervals (default "auto": 0.9 when every file records its error on unseen
/// feeds). Trained models take no temperature input: samples' temperatures are not used.
#[pyfunction]
#[pyo3(signature = (models, data, *, interval = None))]
pub fn score_models(
    py: Python<'_>,
    models: &Bound<'_, PyAny>,
    data: &PyDataset,
    interval: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyScores> {
    let models = members(models)?;
    let available = models.iter().all(records_scatter);
    let level = Interval::score_arg(interval)?.level(available);
    let scored = py
        .detach(|| {
            score_sweeps(&data.data, &data.registry, |first, fluxes| {
                predict_with_intervals(&models, &first.feed, fluxes, level).map(|p| p.bands)
            })
        })
        .map_err(|e: ModelError| raise(crate::errors::model_kind(&e), e.to_string()))?;
    Ok(PyScores::new(scored, level, basis_name(&data.data)))
}
