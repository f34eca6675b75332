//! The solution–diffusion–electromigration model from Python: `Sdem`, `fit_sdem` and its
//! `SdemFit`. Every number comes from np-transport's `sdem` module.

use crate::arrays::array1;
use crate::data::dataset_arg;
use crate::errors::{IntoPy, input};
use crate::ions::{PyRegistry, feed_arg};
use crate::physics::{
    DEFAULT_FLUX_MAX, DEFAULT_POINTS, PyConditions, PyOperatingPoint, polarisation, sweep_fluxes,
};
use crate::quantity;
use crate::results::PyPrediction;
use np_transport::membrane_file::FIT_MAX_POINTS;
use np_transport::sdem::{
    Determination, Sdem, SdemFit, SdemFitOptions, SdemForm, SdemResidual, fit_sdem as fit_sdem_rs,
};
use np_transport::{ChargeModel, Conditions};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A membrane described by one permeance per ion (m/s, or text "3.9 um/s"), with an optional
/// fixed charge (mol/m^3, Donnan equilibria at both faces). `conditions` as for `Dspmde`
/// (a film makes rejections observed; without one they are intrinsic). The GIL is released
/// during every solve.
#[pyclass(frozen, module = "iontransport", name = "Sdem")]
#[derive(Clone)]
pub struct PySdem {
    pub(crate) inner: Sdem,
}

#[pymethods]
impl PySdem {
    #[new]
    #[pyo3(signature = (permeances, *, charge = 0.0, conditions = None, registry = None))]
    fn new(
        permeances: &Bound<'_, PyDict>,
        charge: f64,
        conditions: Option<&PyConditions>,
        registry: Option<&PyRegistry>,
    ) -> PyResult<Self> {
        let reg = PyRegistry::or_default(registry);
        let mut pairs: Vec<(String, f64)> = Vec::new();
        for (name, value) in permeances.iter() {
            let name: String = name
                .extract()
                .map_err(|_| input("permeances: the keys must be ion names"))?;
            let p = quantity::flux(&value, &format!("permeance of {name}"))?;
            pairs.push((name, p));
        }
        let pairs: Vec<(&str, f64)> = pairs.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        let conditions = conditions.map_or_else(Conditions::default, |c| c.inner.clone());
        let model = Sdem::new(&reg, &pairs, conditions)
            .and_then(|m| m.with_charge(ChargeModel::Constant(charge)))
            .py_err()?;
        Ok(Self { inner: model })
    }
    /// Permeances by canonical ion name, m/s.
    #[getter]
    fn permeances(&self) -> std::collections::BTreeMap<String, f64> {
        self.inner.permeances.clone()
    }
    /// The fixed charge, mol/m^3.
    #[getter]
    fn charge(&self) -> f64 {
        match self.inner.charge {
            ChargeModel::Constant(x) => x,
            ChargeModel::Freundlich { .. }
            | ChargeModel::Langmuir { .. }
            | ChargeModel::Multivalent { .. } => f64::NAN,
        }
    }
    /// The conditions.
    #[getter]
    fn conditions(&self) -> PyConditions {
        PyConditions {
            inner: self.inner.conditions.clone(),
        }
    }
    /// Solves one flux (m/s, or text "20 um/s").
    #[pyo3(signature = (feed, flux, *, unit = "mmol/L", registry = None))]
    fn solve(
        &self,
        py: Python<'_>,
        feed: &Bound<'_, PyAny>,
        flux: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyOperatingPoint> {
        let feed = feed_arg(feed, unit, &PyRegistry::or_default(registry))?;
        let jv = quantity::flux(flux, "flux")?;
        let point = py.detach(|| self.inner.solve(&feed, jv)).py_err()?;
        Ok(PyOperatingPoint { inner: point })
    }
    /// One flux in the trace-ion closed forms (dominant salt + traces in its field); an
    /// error when an ion is no trace, unless `check=False`.
    #[pyo3(signature = (feed, flux, *, check = true, unit = "mmol/L", registry = None))]
    fn solve_trace_limit(
        &self,
        feed: &Bound<'_, PyAny>,
        flux: &Bound<'_, PyAny>,
        check: bool,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyOperatingPoint> {
        let feed = feed_arg(feed, unit, &PyRegistry::or_default(registry))?;
        let jv = quantity::flux(flux, "flux")?;
        let point = if check {
            self.inner.solve_trace_limit(&feed, jv)
        } else {
            self.inner.solve_trace_limit_unchecked(&feed, jv)
        }
        .py_err()?;
        Ok(PyOperatingPoint { inner: point })
    }
    /// Rejections over fluxes, as `Dspmde.sweep`.
    #[pyo3(signature = (feed, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, unit = "mmol/L", registry = None))]
    #[allow(clippy::too_many_arguments)]
    fn sweep(
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
        let fluxes = sweep_fluxes(fluxes, flux_max, DEFAULT_FLUX_MAX, points)?;
        let points = py.detach(|| self.inner.sweep(&feed, &fluxes)).py_err()?;
        Ok(PyPrediction::from_points(&points))
    }
    fn __repr__(&self) -> String {
        let perms: Vec<String> = self
            .inner
            .permeances
            .iter()
            .map(|(n, p)| format!("'{n}': {p:e}"))
            .collect();
        format!(
            "Sdem({{{}}}, charge={} mol/m3)",
            perms.join(", "),
            self.charge()
        )
    }
}

/// What `fit_sdem` found.
#[pyclass(frozen, module = "iontransport", name = "SdemFit")]
pub struct PySdemFit {
    inner: SdemFit,
}

#[pymethods]
impl PySdemFit {
    /// The fitted model.
    #[getter]
    fn model(&self) -> PySdem {
        PySdem {
            inner: self.inner.model.clone(),
        }
    }
    /// Per ion: (permeance m/s, standard error of its logarithm, what the data determine:
    /// "determined", "weak", "lower bound only" or "upper bound only").
    #[getter]
    fn permeances(&self) -> std::collections::BTreeMap<String, (f64, f64, &'static str)> {
        self.inner
            .permeances
            .iter()
            .map(|p| {
                let what = match p.determination {
                    Determination::Determined => "determined",
                    Determination::Weak => "weak",
                    Determination::LowerBoundOnly => "lower bound only",
                    Determination::UpperBoundOnly => "upper bound only",
                };
                (p.ion.clone(), (p.value, p.ln_standard_error, what))
            })
            .collect()
    }
    /// (X mol/m^3, its standard error, at a bound) when a charge was fitted.
    #[getter]
    fn charge(&self) -> Option<(f64, f64, bool)> {
        self.inner.charge
    }
    /// RMS of the minimised residual.
    #[getter]
    fn rmse(&self) -> f64 {
        self.inner.rmse
    }
    /// RMS of R_model - R_measured.
    #[getter]
    fn rmse_rejection(&self) -> f64 {
        self.inner.rmse_rejection
    }
    /// R_model - R_measured, in measurement order.
    #[getter]
    fn residuals<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.inner.residuals)
    }
    /// (starts tried, converged, reaching the best fit).
    #[getter]
    fn starts(&self) -> (usize, usize, usize) {
        self.inner.starts
    }
    fn __repr__(&self) -> String {
        format!(
            "SdemFit(rmse={:.4}, rmse_rejection={:.4}, {} permeances)",
            self.inner.rmse,
            self.inner.rmse_rejection,
            self.inner.permeances.len()
        )
    }
}

/// Fits one permeance per ion of the feeds (and with `charge_bounds` a fixed charge, mol/m^3)
/// to a `Dataset` or a CSV file. `form`: "full" (every ion coupled) or "trace" (the
/// trace-ion closed forms, the analysis of the SDEM literature); `residual`:
/// "log_transmission" (ln(1 - R), default) or "rejection". Intrinsic data are fitted without a
/// film; `film_thickness` (m) or `mass_transfer` (m/s, NaCl) adds one for observed data.
#[pyfunction]
#[pyo3(signature = (data, *, form = "full", residual = "log_transmission", charge_bounds = None, film_thickness = None, mass_transfer = None, max_evaluations = 400))]
#[allow(clippy::too_many_arguments)]
pub fn fit_sdem(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    form: &str,
    residual: &str,
    charge_bounds: Option<(f64, f64)>,
    film_thickness: Option<&Bound<'_, PyAny>>,
    mass_transfer: Option<f64>,
    max_evaluations: usize,
) -> PyResult<PySdemFit> {
    let form = match form {
        "full" => SdemForm::Full,
        "trace" => SdemForm::TraceIons,
        other => {
            return Err(input(format!(
                "form must be \"full\" or \"trace\", not {other:?}"
            )));
        }
    };
    let residual = match residual {
        "log_transmission" => SdemResidual::LogTransmission,
        "rejection" => SdemResidual::Rejection,
        other => {
            return Err(input(format!(
                "residual must be \"log_transmission\" or \"rejection\", not {other:?}"
            )));
        }
    };
    if max_evaluations == 0 {
        return Err(input("max_evaluations must be at least 1"));
    }
    let mut read = None;
    let data = dataset_arg(data, &mut read)?;
    let mut options = SdemFitOptions::new(Conditions {
        polarisation: polarisation(film_thickness, mass_transfer)?,
        ..Conditions::default()
    });
    options.form = form;
    options.residual = residual;
    options.charge = charge_bounds;
    options.max_evaluations = max_evaluations;
    let meas = data
        .data
        .rejection_measurements(&data.registry, FIT_MAX_POINTS)
        .py_err()?;
    let fit = py.detach(|| fit_sdem_rs(&meas, &options)).py_err()?;
    Ok(PySdemFit { inner: fit })
}
