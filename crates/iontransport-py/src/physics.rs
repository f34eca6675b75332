//! The DSPM-DE from Python: `Membrane`, `Conditions`, `Dspmde` and its `OperatingPoint`.

use crate::arrays::{array1, vector};
use crate::errors::{IntoPy, input};
use crate::ions::{PyRegistry, feed_arg};
use crate::quantity;
use crate::results::PyPrediction;
use ion_species::{Composition, T_REF};
use np_transport::generate::flux_grid;
use np_transport::{
    Activity, ChargeModel, Conditions, Dspmde, ISOTHERM_REFERENCE, Membrane, OperatingPoint,
    Polarisation, PoreScheme,
};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

/// Default upper flux of a sweep, m/s (the command line's `--flux-max`).
pub const DEFAULT_FLUX_MAX: f64 = 3e-5;
/// Default number of fluxes of a sweep (the command line's `--points`).
pub const DEFAULT_POINTS: usize = 10;

/// A nanofiltration membrane for the DSPM-DE. Defaults: the NF270-like membrane of the command
/// line (pore radius 0.45 nm, effective thickness Δx/A_k 1.3 µm, X_d = -40 mol/m^3, pore
/// dielectric constant 55). Lengths in m or text ("0.45 nm"); charge in mol/m^3. With
/// `charge_exponent` b the charge follows the feed's ionic strength I as a Freundlich isotherm
/// X_d = charge (I / 100 mol/m^3)^b, `charge` being X_d at I = 100 mol/m^3; with
/// `charge_half_saturation` k (mol/m^3) instead, as a Langmuir isotherm X_d = X_max I / (k + I)
/// with the same X_d at I = 100 mol/m^3.
#[pyclass(frozen, module = "iontransport", name = "Membrane")]
#[derive(Clone)]
pub struct PyMembrane {
    pub(crate) inner: Membrane,
}

#[pymethods]
impl PyMembrane {
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (pore_radius = None, effective_thickness = None, charge = None, pore_dielectric = 55.0, charge_exponent = None, charge_half_saturation = None, born_radius = "stokes", partition_energies = None))]
    fn new(
        pore_radius: Option<&Bound<'_, PyAny>>,
        effective_thickness: Option<&Bound<'_, PyAny>>,
        charge: Option<&Bound<'_, PyAny>>,
        pore_dielectric: f64,
        charge_exponent: Option<f64>,
        charge_half_saturation: Option<f64>,
        born_radius: &str,
        partition_energies: Option<std::collections::BTreeMap<String, f64>>,
    ) -> PyResult<Self> {
        let base = Membrane::nf270_like();
        let pore_radius = match pore_radius {
            Some(r) => quantity::length(r, "pore_radius")?,
            None => base.pore_radius,
        };
        let effective_thickness = match effective_thickness {
            Some(t) => quantity::length(t, "effective_thickness")?,
            None => base.effective_thickness,
        };
        let x = match charge {
            Some(c) => quantity::charge(c, "charge")?,
            None => -40.0,
        };
        let charge = match (charge_exponent, charge_half_saturation) {
            (None, None) => ChargeModel::Constant(x),
            (Some(b), None) => np_transport::IsothermForm::Freundlich.charge(x, b),
            (None, Some(k)) => np_transport::IsothermForm::Langmuir.charge(x, k),
            (Some(_), Some(_)) => {
                return Err(crate::errors::input(
                    "give charge_exponent (Freundlich) or charge_half_saturation (Langmuir), not both",
                ));
            }
        };
        let inner = Membrane {
            pore_radius,
            effective_thickness,
            charge,
            pore_dielectric,
            pore_size_distribution: None,
            partitioning: np_transport::Partitioning {
                born_radius: born_radius_of(born_radius)?,
                energies: canonical_energies(partition_energies.unwrap_or_default())?,
                ..Default::default()
            },
        };
        inner.validate().py_err()?;
        Ok(Self { inner })
    }
    /// Pore radius r_p, m.
    #[getter]
    fn pore_radius(&self) -> f64 {
        self.inner.pore_radius
    }
    /// Effective thickness Δx/A_k, m.
    #[getter]
    fn effective_thickness(&self) -> f64 {
        self.inner.effective_thickness
    }
    /// Charge density X_d, mol/m^3 (with an isotherm: at I = 100 mol/m^3).
    #[getter]
    fn charge(&self) -> f64 {
        self.inner.charge.charge_density(ISOTHERM_REFERENCE)
    }
    /// Freundlich exponent b of the charge isotherm, or None for a constant charge.
    #[getter]
    fn charge_exponent(&self) -> Option<f64> {
        match self.inner.charge {
            ChargeModel::Freundlich { b, .. } => Some(b),
            _ => None,
        }
    }
    /// Half-saturation ionic strength k (mol/m^3) of a Langmuir charge isotherm, or None.
    #[getter]
    fn charge_half_saturation(&self) -> Option<f64> {
        match self.inner.charge {
            ChargeModel::Langmuir { k, .. } => Some(k),
            _ => None,
        }
    }
    /// Pore dielectric constant ε_p.
    #[getter]
    fn pore_dielectric(&self) -> f64 {
        self.inner.pore_dielectric
    }
    /// Radius of the Born term: "stokes" or "hydration".
    #[getter]
    fn born_radius(&self) -> &'static str {
        match self.inner.partitioning.born_radius {
            np_transport::BornRadius::Stokes => "stokes",
            np_transport::BornRadius::Hydration => "hydration",
        }
    }
    /// Extra partition energies by ion, kT.
    #[getter]
    fn partition_energies(&self) -> std::collections::BTreeMap<String, f64> {
        self.inner.partitioning.energies.clone()
    }
    /// A multivalent charge's shift per share of multivalent cations and of multivalent
    /// anions in the feed (mol/m^3), or None for another charge.
    #[getter]
    fn charge_multivalent(&self) -> Option<(f64, f64)> {
        match self.inner.charge {
            ChargeModel::Multivalent {
                cations, anions, ..
            } => Some((cations, anions)),
            _ => None,
        }
    }
    /// Weights of the partition energies learned from ion descriptors, kT per unit, by
    /// descriptor name ("hydration", "stokes_radius", "valence_squared").
    #[getter]
    fn descriptor_weights(&self) -> std::collections::BTreeMap<String, f64> {
        self.inner
            .partitioning
            .descriptor_weights
            .iter()
            .map(|(d, w)| (d.name().to_string(), *w))
            .collect()
    }
    /// X_d at ionic strength `ionic_strength` (mol/m^3), mol/m^3 (of a charge set by the
    /// feed's multivalent ions: its value in monovalent feeds).
    fn charge_density(&self, ionic_strength: f64) -> f64 {
        self.inner.charge.charge_density(ionic_strength)
    }
    pub(crate) fn __repr__(&self) -> String {
        let m = &self.inner;
        let charge = match m.charge {
            ChargeModel::Constant(x) => format!("charge={x} mol/m3"),
            ChargeModel::Freundlich { b, .. } => format!(
                "charge={} mol/m3 at I = 100 mol/m3, charge_exponent={b}",
                self.charge()
            ),
            ChargeModel::Langmuir { k, .. } => format!(
                "charge={} mol/m3 at I = 100 mol/m3, charge_half_saturation={k} mol/m3",
                self.charge()
            ),
            ChargeModel::Multivalent {
                x0,
                cations,
                anions,
            } => format!(
                "charge={x0} mol/m3 in monovalent feeds, {cations:+} x the multivalent cation share, {anions:+} x the multivalent anion share"
            ),
        };
        format!(
            "Membrane(pore_radius={:.4} nm, effective_thickness={:.4} um, {charge}, pore_dielectric={})",
            m.pore_radius * 1e9,
            m.effective_thickness * 1e6,
            m.pore_dielectric
        )
    }
}

/// Operating conditions: temperature (K, or text "20 C"; default 25 °C), the feed-side
/// polarisation film (`film_thickness` in m, or `mass_transfer` k in m/s measured for NaCl:
/// thickness D_NaCl / k; default none), the activity model ("ideal", "davies", or
/// "davies_molal" as WaterTAP 1.8 writes it) and the pore integration ("ode", or an int:
/// that many elements, 1 being WaterTAP's scheme).
#[pyclass(frozen, module = "iontransport", name = "Conditions")]
#[derive(Clone)]
pub struct PyConditions {
    pub(crate) inner: Conditions,
}

#[pymethods]
impl PyConditions {
    #[new]
    #[pyo3(signature = (temperature = None, film_thickness = None, mass_transfer = None, activity = "ideal", pore_elements = None))]
    fn new(
        temperature: Option<&Bound<'_, PyAny>>,
        film_thickness: Option<&Bound<'_, PyAny>>,
        mass_transfer: Option<f64>,
        activity: &str,
        pore_elements: Option<usize>,
    ) -> PyResult<Self> {
        let t = match temperature {
            Some(t) => quantity::temperature(t, "temperature")?,
            None => T_REF,
        };
        let mut inner = if t == T_REF {
            Conditions::default()
        } else {
            Conditions::default().at_temperature(t).py_err()?
        };
        inner.polarisation = polarisation(film_thickness, mass_transfer)?;
        inner.activity = match activity.to_ascii_lowercase().as_str() {
            "ideal" => Activity::Ideal,
            "davies" => Activity::Davies,
            "davies_molal" => Activity::DaviesMolal,
            other => {
                return Err(input(format!(
                    "activity `{other}`: expected \"ideal\", \"davies\" or \"davies_molal\""
                )));
            }
        };
        if let Some(n) = pore_elements {
            inner.scheme = PoreScheme::Elements(n);
        }
        inner.validate().py_err()?;
        Ok(Self { inner })
    }
    /// Temperature, K.
    #[getter]
    fn temperature(&self) -> f64 {
        self.inner.temperature
    }
    /// Polarisation film thickness, m, or None without a film.
    #[getter]
    fn film_thickness(&self) -> Option<f64> {
        match self.inner.polarisation {
            Polarisation::Off => None,
            Polarisation::Film { thickness } => Some(thickness),
        }
    }
    pub(crate) fn __repr__(&self) -> String {
        let c = &self.inner;
        let film = match c.polarisation {
            Polarisation::Off => "no film".to_string(),
            Polarisation::Film { thickness } => format!("film {:.3} um", thickness * 1e6),
        };
        format!(
            "Conditions(temperature={} K, {film}, activity={:?}, scheme={:?})",
            c.temperature, c.activity, c.scheme
        )
    }
}

/// The polarisation film of `film_thickness` (m or text) or `mass_transfer` (m/s, measured
/// for NaCl), or none.
pub fn polarisation(
    film_thickness: Option<&Bound<'_, PyAny>>,
    mass_transfer: Option<f64>,
) -> PyResult<Polarisation> {
    let film = film_thickness
        .map(|l| quantity::length(l, "film_thickness"))
        .transpose()?;
    Polarisation::from_film_or_mass_transfer(film, mass_transfer).py_err()
}

/// One solved operating point: every array over the feed's ions (`ions`), concentrations in
/// mol/m^3, flux in m/s, potentials in V, pressure in Pa.
#[pyclass(frozen, module = "iontransport", name = "OperatingPoint")]
pub struct PyOperatingPoint {
    pub(crate) inner: OperatingPoint,
}

#[pymethods]
impl PyOperatingPoint {
    /// Water flux J_v, m/s.
    #[getter]
    fn flux(&self) -> f64 {
        self.inner.flux
    }
    /// Ion names.
    #[getter]
    fn ions(&self) -> Vec<String> {
        self.inner.ions.clone()
    }
    /// Bulk feed, mol/m^3.
    #[getter]
    fn feed<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.inner.feed)
    }
    /// At the membrane surface (after polarisation), mol/m^3.
    #[getter]
    fn membrane_surface<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.inner.membrane_surface)
    }
    /// Permeate, mol/m^3.
    #[getter]
    fn permeate<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.inner.permeate)
    }
    /// Observed rejection 1 - c_p/c_feed.
    #[getter]
    fn rejection<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        array1(py, &self.inner.rejection)
    }
    /// Intrinsic rejection 1 - c_p/c_membrane_surface.
    #[getter]
    fn intrinsic_rejection<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let p = &self.inner;
        let r: Vec<f64> = p
            .permeate
            .iter()
            .zip(&p.membrane_surface)
            .map(|(cp, cm)| 1.0 - cp / cm)
            .collect();
        array1(py, &r)
    }
    /// Membrane charge density X_d at this feed, mol/m^3.
    #[getter]
    fn charge_density(&self) -> f64 {
        self.inner.charge_density
    }
    /// Donnan potentials at the feed and permeate faces, V.
    #[getter]
    fn donnan_potential(&self) -> (f64, f64) {
        self.inner.donnan_potential
    }
    /// Osmotic pressure difference across the membrane, Pa.
    #[getter]
    fn osmotic_pressure(&self) -> f64 {
        self.inner.osmotic_pressure
    }
    /// Newton iterations of the solve.
    #[getter]
    fn iterations(&self) -> usize {
        self.inner.iterations
    }
    pub(crate) fn __repr__(&self) -> String {
        let r: Vec<String> = self
            .inner
            .ions
            .iter()
            .zip(&self.inner.rejection)
            .map(|(i, r)| format!("{i}: {r:.4}"))
            .collect();
        format!(
            "OperatingPoint(flux={:.4e} m/s, rejection {{{}}})",
            self.inner.flux,
            r.join(", ")
        )
    }
}

/// The DSPM-DE of a membrane at conditions (defaults: the NF270-like membrane at 25 °C, no
/// polarisation, ideal activities, as the command line's `dspmde`).
///
/// Feeds are `Composition`s, dicts {ion or salt: value} read in `unit` (default "mmol/L"), or
/// text "Na+=20 mM, Cl-=20 mM"; fluxes in m/s (or text "20 LMH"). The GIL is released
/// during every solve.
#[pyclass(frozen, module = "iontransport", name = "Dspmde")]
pub struct PyDspmde {
    pub(crate) inner: Dspmde,
}

impl PyDspmde {
    /// The feed at the model's temperature (ion data are tabulated at 25 °C).
    fn feed_at_temperature(&self, feed: Composition) -> PyResult<Composition> {
        let t = self.inner.conditions.temperature;
        if t == T_REF {
            Ok(feed)
        } else {
            feed.at_temperature(t).py_err()
        }
    }

    fn feed(
        &self,
        feed: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<Composition> {
        let reg = PyRegistry::or_default(registry);
        self.feed_at_temperature(feed_arg(feed, unit, &reg)?)
    }
}

/// Fluxes in m/s: numbers (an array, a list, one number), or text with a unit, alone or in a
/// list ("20 LMH", ["10 LMH", "20 LMH"]).
fn flux_values(obj: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if obj.cast::<pyo3::types::PyString>().is_ok() {
        return Ok(vec![quantity::flux(obj, "fluxes")?]);
    }
    match vector(obj, "fluxes") {
        Ok(v) => Ok(v),
        Err(e) => match obj.try_iter() {
            Ok(items) => items
                .map(|x| quantity::flux(&x?, "fluxes"))
                .collect::<PyResult<Vec<f64>>>()
                .map_err(|_| e),
            Err(_) => Err(e),
        },
    }
}

/// The fluxes of a sweep: those given, else `points` evenly spaced on (0, flux_max].
pub fn sweep_fluxes(
    fluxes: Option<&Bound<'_, PyAny>>,
    flux_max: Option<&Bound<'_, PyAny>>,
    default_max: f64,
    points: usize,
) -> PyResult<Vec<f64>> {
    match fluxes {
        Some(f) => {
            if flux_max.is_some() {
                return Err(input("give fluxes or flux_max (with points), not both"));
            }
            let v = flux_values(f)?;
            if v.is_empty() {
                return Err(input("fluxes is empty"));
            }
            Ok(v)
        }
        None => {
            let j_max = match flux_max {
                Some(j) => quantity::flux(j, "flux_max")?,
                None => default_max,
            };
            if points == 0 {
                return Err(input("points must be at least 1"));
            }
            Ok(flux_grid(j_max, points))
        }
    }
}

#[pymethods]
impl PyDspmde {
    #[new]
    #[pyo3(signature = (membrane = None, conditions = None))]
    fn new(membrane: Option<&PyMembrane>, conditions: Option<&PyConditions>) -> PyResult<Self> {
        let membrane = membrane.map_or_else(Membrane::nf270_like, |m| m.inner.clone());
        let conditions = conditions.map_or_else(Conditions::default, |c| c.inner.clone());
        Ok(Self {
            inner: Dspmde::new(membrane, conditions).py_err()?,
        })
    }
    /// The membrane.
    #[getter]
    fn membrane(&self) -> PyMembrane {
        PyMembrane {
            inner: self.inner.membrane.clone(),
        }
    }
    /// The conditions.
    #[getter]
    fn conditions(&self) -> PyConditions {
        PyConditions {
            inner: self.inner.conditions.clone(),
        }
    }
    /// Solves one flux (m/s, or text "20 LMH").
    #[pyo3(signature = (feed, flux, *, unit = "mmol/L", registry = None))]
    fn solve(
        &self,
        py: Python<'_>,
        feed: &Bound<'_, PyAny>,
        flux: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyOperatingPoint> {
        let feed = self.feed(feed, unit, registry)?;
        let jv = quantity::flux(flux, "flux")?;
        let point = py.detach(|| self.inner.solve(&feed, jv)).py_err()?;
        Ok(PyOperatingPoint { inner: point })
    }
    /// Solves at a transmembrane pressure (Pa, or text "10 bar"): the flux follows from
    /// Hagen-Poiseuille and the osmotic pressure difference.
    #[pyo3(signature = (feed, pressure, *, unit = "mmol/L", registry = None))]
    fn solve_at_pressure(
        &self,
        py: Python<'_>,
        feed: &Bound<'_, PyAny>,
        pressure: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<PyOperatingPoint> {
        let feed = self.feed(feed, unit, registry)?;
        let dp = quantity::pressure(pressure, "pressure")?;
        let point = py
            .detach(|| self.inner.solve_at_pressure(&feed, dp))
            .py_err()?;
        Ok(PyOperatingPoint { inner: point })
    }
    /// Rejections over fluxes: `fluxes` (m/s, non-decreasing), or `points` fluxes evenly
    /// spaced on (0, flux_max] (defaults 10 and 3e-5 m/s, as the command line).
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
        let feed = self.feed(feed, unit, registry)?;
        let fluxes = sweep_fluxes(fluxes, flux_max, DEFAULT_FLUX_MAX, points)?;
        let points = py.detach(|| self.inner.sweep(&feed, &fluxes)).py_err()?;
        Ok(PyPrediction::from_points(&points))
    }
    /// Rejections over fluxes (as `sweep`) and their derivatives with respect to membrane
    /// `parameters` (names as a fit's: "pore_radius", "effective_thickness", "charge",
    /// "charge_exponent", "pore_dielectric", "partition_energy:NO3-",
    /// "energy_weight:hydration", ...), by the implicit function theorem. Returns a dict:
    /// "flux" (m/s), "ions", "parameters", "rejection" (flux x ion) and "d_rejection" (flux x
    /// ion x parameter, per SI unit of the parameter).
    #[pyo3(signature = (feed, parameters, fluxes = None, *, flux_max = None, points = DEFAULT_POINTS, unit = "mmol/L", registry = None))]
    #[allow(clippy::too_many_arguments)]
    fn sensitivities<'py>(
        &self,
        py: Python<'py>,
        feed: &Bound<'_, PyAny>,
        parameters: Vec<String>,
        fluxes: Option<&Bound<'_, PyAny>>,
        flux_max: Option<&Bound<'_, PyAny>>,
        points: usize,
        unit: &str,
        registry: Option<&PyRegistry>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let feed = self.feed(feed, unit, registry)?;
        let fluxes = sweep_fluxes(fluxes, flux_max, DEFAULT_FLUX_MAX, points)?;
        let names: Vec<&str> = parameters.iter().map(String::as_str).collect();
        let s = py
            .detach(|| self.inner.sweep_with_sensitivities(&feed, &fluxes, &names))
            .py_err()?;
        let ions = s.first().map(|p| p.point.ions.clone()).unwrap_or_default();
        let (n_ion, n_par) = (ions.len(), names.len());
        let rejection: Vec<Vec<f64>> = s.iter().map(|p| p.point.rejection.clone()).collect();
        let mut flat = Vec::with_capacity(s.len() * n_ion * n_par);
        for p in &s {
            for i in 0..n_ion {
                flat.extend((0..n_par).map(|k| p.rejection[(i, k)]));
            }
        }
        let d = PyArray1::from_vec(py, flat).reshape([s.len(), n_ion, n_par])?;
        let out = pyo3::types::PyDict::new(py);
        out.set_item("flux", array1(py, &fluxes))?;
        out.set_item("ions", ions)?;
        out.set_item("parameters", parameters)?;
        out.set_item("rejection", crate::arrays::array2(py, &rejection, n_ion)?)?;
        out.set_item("d_rejection", d)?;
        Ok(out)
    }
    /// The same membrane at another temperature (K, or text "20 C").
    fn at_temperature(&self, temperature: &Bound<'_, PyAny>) -> PyResult<Self> {
        let t = quantity::temperature(temperature, "temperature")?;
        Ok(Self {
            inner: self.inner.at_temperature(t).py_err()?,
        })
    }
    pub(crate) fn __repr__(&self) -> String {
        format!(
            "Dspmde({}, {})",
            self.membrane().__repr__(),
            self.conditions().__repr__()
        )
    }
}

/// The Born radius named "stokes" or "hydration".
pub fn born_radius_of(name: &str) -> PyResult<np_transport::BornRadius> {
    match name {
        "stokes" => Ok(np_transport::BornRadius::Stokes),
        "hydration" => Ok(np_transport::BornRadius::Hydration),
        other => Err(crate::errors::input(format!(
            "born_radius must be \"stokes\" or \"hydration\", not {other:?}"
        ))),
    }
}

/// Partition energies keyed by canonical ion names (any spelling the registry reads).
fn canonical_energies(
    energies: std::collections::BTreeMap<String, f64>,
) -> PyResult<std::collections::BTreeMap<String, f64>> {
    let reg = ion_species::IonRegistry::extended();
    energies
        .into_iter()
        .map(|(n, e)| Ok((reg.parse(&n).py_err()?.name.clone(), e)))
        .collect()
}
