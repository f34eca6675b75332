//! Ions, registries and feed compositions (`Ion`, `IonRegistry`, `Composition`).

use crate::errors::{IntoPy, input};
use ion_species::{Composition, Ion, IonRegistry};
use np_transport::quantities::{balance_feed, parse_concentration_unit, parse_feed};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// One ion's data (SI units): valence, Stokes radius (m), diffusivity at infinite dilution and
/// 25 °C (m^2/s), molar mass (kg/mol), with the literature source.
#[pyclass(frozen, module = "iontransport", name = "Ion")]
pub struct PyIon {
    pub(crate) inner: Ion,
}

#[pymethods]
impl PyIon {
    /// Canonical name, e.g. "Na+", "SO4^2-".
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Formula without the charge, e.g. "SO4".
    #[getter]
    fn formula(&self) -> &str {
        &self.inner.formula
    }
    /// Signed valence z.
    #[getter]
    fn charge(&self) -> i32 {
        self.inner.charge
    }
    /// Stokes radius, m.
    #[getter]
    fn stokes_radius(&self) -> f64 {
        self.inner.stokes_radius
    }
    /// Diffusivity at infinite dilution and 25 °C, m^2/s.
    #[getter]
    fn diffusivity(&self) -> f64 {
        self.inner.diffusivity
    }
    /// Hydrated radius, m (None when the registry has none).
    #[getter]
    fn hydrated_radius(&self) -> Option<f64> {
        self.inner.hydrated_radius
    }
    /// Molar mass, kg/mol.
    #[getter]
    fn molar_mass(&self) -> f64 {
        self.inner.molar_mass
    }
    /// Other names the registry understands ("sodium", ...).
    #[getter]
    fn aliases(&self) -> Vec<String> {
        self.inner.aliases.clone()
    }
    /// Literature source of the data.
    #[getter]
    fn source(&self) -> &str {
        &self.inner.source
    }
    fn __repr__(&self) -> String {
        let i = &self.inner;
        format!(
            "Ion('{}', charge={:+}, stokes_radius={:.3e} m, diffusivity={:.3e} m2/s, molar_mass={:.4} kg/mol)",
            i.name, i.charge, i.stokes_radius, i.diffusivity, i.molar_mass
        )
    }
}

/// The ions a calculation knows. `IonRegistry.extended()` (the default everywhere, as on the
/// command line) holds the canonical eight (Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3-) and
/// NH4+, Br-, F-, HCO3-, Sr2+, Ba2+, each with cited data; `IonRegistry.load(path)` adds the
/// ions of a TOML (`[[ions]]` tables) or JSON file, like `iontransport --ions FILE`.
#[pyclass(frozen, module = "iontransport", name = "IonRegistry")]
#[derive(Clone)]
pub struct PyRegistry {
    pub(crate) inner: IonRegistry,
}

#[pymethods]
impl PyRegistry {
    /// The canonical eight ions (the shipped models' ions, in their order).
    #[staticmethod]
    fn canonical() -> Self {
        Self {
            inner: IonRegistry::canonical(),
        }
    }
    /// The canonical eight and six more (the default).
    #[staticmethod]
    fn extended() -> Self {
        Self {
            inner: IonRegistry::extended(),
        }
    }
    /// The extended registry plus the ions of a file: TOML `[[ions]]` tables, or JSON
    /// `{"ions": [...]}` for a `.json` file (the command line's `--ions`).
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            crate::errors::raise(
                crate::errors::Kind::File,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let mut inner = IonRegistry::extended();
        if path.extension().is_some_and(|e| e == "json") {
            inner.extend_from_json(&text).py_err()?;
        } else {
            inner.extend_from_toml(&text).py_err()?;
        }
        Ok(Self { inner })
    }
    /// This registry plus the ions of TOML text (`[[ions]]` tables with name, formula, charge,
    /// stokes_radius [m], diffusivity [m2/s], molar_mass [kg/mol], source).
    fn with_toml(&self, text: &str) -> PyResult<Self> {
        let mut inner = self.inner.clone();
        inner.extend_from_toml(text).py_err()?;
        Ok(Self { inner })
    }
    /// Canonical names, in the registry's order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.ions().iter().map(|i| i.name.clone()).collect()
    }
    /// The ions, in the registry's order.
    #[getter]
    fn ions(&self) -> Vec<PyIon> {
        self.inner
            .ions()
            .iter()
            .map(|i| PyIon { inner: i.clone() })
            .collect()
    }
    /// The ion of any spelling ("SO4 2-", "so4--", "sulfate", "Mg2+").
    fn __getitem__(&self, name: &str) -> PyResult<PyIon> {
        Ok(PyIon {
            inner: self.inner.parse(name).py_err()?.clone(),
        })
    }
    fn __contains__(&self, name: &str) -> bool {
        self.inner.parse(name).is_ok()
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn __repr__(&self) -> String {
        format!("IonRegistry({})", self.names().join(", "))
    }
}

impl PyRegistry {
    /// The registry given, else the extended one.
    pub fn or_default(registry: Option<&PyRegistry>) -> IonRegistry {
        registry.map_or_else(IonRegistry::extended, |r| r.inner.clone())
    }
}

/// A feed: ion concentrations in mol/m^3 (numerically mmol/L), in the order given.
///
/// `Composition({"Na+": 20, "Cl-": 20})` reads values in `unit` (default "mmol/L", as on the
/// command line); a value may carry its own unit (`{"LiCl": "2 g/L", "MgCl2": 10}`), and a
/// salt is split into its ions. `Composition("Na+=20 mM, SO4 2-=10 mM")` takes the command
/// line's text. A feed electroneutral only to rounding (within 0.1 % of its charge) is
/// balanced as the CSV reader does (`balance=False` keeps it as given); concentrations must
/// be finite and non-negative.
#[pyclass(frozen, module = "iontransport", name = "Composition")]
#[derive(Clone)]
pub struct PyComposition {
    pub(crate) inner: Composition,
}

#[pymethods]
impl PyComposition {
    #[new]
    #[pyo3(signature = (concentrations, unit = "mmol/L", registry = None, balance = true))]
    fn new(
        concentrations: &Bound<'_, PyAny>,
        unit: &str,
        registry: Option<&PyRegistry>,
        balance: bool,
    ) -> PyResult<Self> {
        let reg = PyRegistry::or_default(registry);
        let inner = composition(&reg, concentrations, unit)?;
        if !balance {
            return Ok(Self { inner });
        }
        let (inner, _) = balance_feed(&reg, &inner).map_err(input)?;
        Ok(Self { inner })
    }
    /// Ion names (canonical), in the order given.
    #[getter]
    fn ions(&self) -> Vec<String> {
        self.inner.iter().map(|(i, _)| i.name.clone()).collect()
    }
    /// {ion: concentration in mol/m^3}.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (ion, c) in self.inner.iter() {
            d.set_item(&ion.name, c)?;
        }
        Ok(d)
    }
    /// Ionic strength, mol/m^3.
    #[getter]
    fn ionic_strength(&self) -> f64 {
        self.inner.ionic_strength()
    }
    /// Sum of z c, eq/m^3 (0 for an electroneutral feed).
    #[getter]
    fn charge_balance(&self) -> f64 {
        self.inner.charge_balance()
    }
    /// |sum z c| / sum |z| c.
    #[getter]
    fn relative_imbalance(&self) -> f64 {
        self.inner.relative_imbalance()
    }
    /// The feed with `ion`'s concentration changed so that it is electroneutral.
    #[pyo3(signature = (ion, registry = None))]
    fn balanced_with(&self, ion: &str, registry: Option<&PyRegistry>) -> PyResult<Self> {
        let reg = PyRegistry::or_default(registry);
        Ok(Self {
            inner: self.inner.balanced_with(&reg, ion).py_err()?,
        })
    }
    /// Concentration of `ion` (this feed's own ion names, or any spelling the extended registry
    /// knows), mol/m^3; 0 for a known ion absent from the feed. A token that names no ion is an
    /// error naming it (it used to read as 0, hiding a typo).
    fn __getitem__(&self, ion: &str) -> PyResult<f64> {
        if let Some(c) = self.inner.get(ion) {
            return Ok(c);
        }
        let name = IonRegistry::extended().parse(ion).py_err()?.name.clone();
        Ok(self.inner.get(&name).unwrap_or(0.0))
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn __repr__(&self) -> String {
        let parts: Vec<String> = self
            .inner
            .iter()
            .map(|(i, c)| format!("'{}': {c}", i.name))
            .collect();
        format!("Composition({{{}}}, unit='mol/m3')", parts.join(", "))
    }
}

/// A composition from a dict (values: numbers in `unit`, or text with a unit) or the command
/// line's text, through the one feed parser ([`parse_feed`]).
fn composition(reg: &IonRegistry, obj: &Bound<'_, PyAny>, unit: &str) -> PyResult<Composition> {
    let unit = parse_concentration_unit(unit).map_err(input)?;
    let text = if let Ok(s) = obj.cast::<PyString>() {
        s.to_cow()?.to_string()
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut parts = Vec::new();
        for (k, v) in d.iter() {
            let name: String = k
                .extract()
                .map_err(|_| input("feed keys must be ion or salt names"))?;
            if name.contains([',', '=']) {
                return Err(input(format!("`{name}` is not an ion or salt name")));
            }
            let value = if let Ok(s) = v.cast::<PyString>() {
                s.to_cow()?.to_string()
            } else {
                let x: f64 = v.extract().map_err(|_| {
                    input(format!(
                        "the concentration of {name} must be a number or text with a unit"
                    ))
                })?;
                if x.is_nan() {
                    return Err(input(format!("the concentration of {name} is NaN")));
                }
                // Shortest round-trip digits: the parser reads back exactly this float.
                if x == 0.0 || (1e-4..1e15).contains(&x.abs()) {
                    format!("{x}")
                } else {
                    format!("{x:e}")
                }
            };
            parts.push(format!("{name}={value}"));
        }
        parts.join(", ")
    } else if let Ok(c) = obj.extract::<PyRef<'_, PyComposition>>() {
        return Ok(c.inner.clone());
    } else {
        return Err(input(
            "a feed is a Composition, a dict {ion or salt: concentration} or text like \"Na+=20 mM, Cl-=20 mM\"",
        ));
    };
    parse_feed(reg, &text, unit).map_err(|e| input(format!("feed: {e}")))
}

/// A feed argument: a `Composition` as it is, or a dict/text parsed and balanced as
/// `Composition(...)` does.
pub fn feed_arg(obj: &Bound<'_, PyAny>, unit: &str, reg: &IonRegistry) -> PyResult<Composition> {
    if let Ok(c) = obj.extract::<PyRef<'_, PyComposition>>() {
        return Ok(c.inner.clone());
    }
    let comp = composition(reg, obj, unit)?;
    Ok(balance_feed(reg, &comp).map_err(input)?.0)
}
