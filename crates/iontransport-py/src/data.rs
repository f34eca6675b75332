//! Measurement files (`Dataset`): the CSV format (docs/data-format.md) read and written by
//! np-transport's one reader and writer, and converted to and from a dict of columns.

use crate::arrays::{array1, vector};
use crate::errors::{IntoPy, Kind, input, raise};
use crate::ions::PyRegistry;
use crate::quantity;
use ion_species::IonRegistry;
use np_transport::data::{Dataset, RejectionBasis};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// A measurement (or simulation) file: samples of one feed each at one or more water fluxes.
///
/// `Dataset.read_csv(path)` and `Dataset.from_csv(text)` read the CSV format of
/// docs/data-format.md (units in the headers, observed or intrinsic rejections, comments
/// kept); `Dataset.from_dict(columns)` takes the same columns as a dict of arrays or lists
/// (e.g. `df.to_dict("list")` of a pandas DataFrame); `to_dict()` gives the columns in SI units
/// ("Jv [m/s]", "feed:Na+ [mol/m3]", ...). Ions are read with `registry` (default: the extended
/// registry) and kept to those the file uses, as the command line does; `temperature` (K or
/// "20 C") is given to samples that state none.
#[pyclass(frozen, module = "iontransport", name = "Dataset")]
pub struct PyDataset {
    pub(crate) data: Dataset,
    pub(crate) registry: IonRegistry,
    /// Where it came from (a path, or "<text>"/"<dict>"), for the fit record.
    pub(crate) name: String,
    /// Its bytes, for the fit record's fingerprint.
    pub(crate) bytes: Vec<u8>,
}

impl PyDataset {
    /// Reads a CSV file (see `read_csv`).
    pub fn read(
        path: &std::path::Path,
        registry: Option<&PyRegistry>,
        temperature: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| raise(Kind::File, format!("cannot read {}: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            raise(
                Kind::File,
                format!("{} is not a CSV file (not UTF-8 text)", path.display()),
            )
        })?;
        Self::build(&text, path.display().to_string(), registry, temperature)
    }

    fn build(
        text: &str,
        name: String,
        registry: Option<&PyRegistry>,
        temperature: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let full = PyRegistry::or_default(registry);
        let all = Dataset::from_csv_str(text, &full).map_err(|e| {
            let e = match e {
                np_transport::TransportError::Csv { location, message } => {
                    np_transport::TransportError::Csv {
                        location: location.map(|l| format!("{name}: {l}")),
                        message,
                    }
                }
                other => other,
            };
            raise(crate::errors::transport_kind(&e), e.to_string())
        })?;
        let reg = all.model_registry(&full).py_err()?;
        let mut data = all.restrict(&reg).py_err()?;
        if let Some(t) = temperature {
            data.fill_temperature(quantity::temperature(t, "temperature")?);
        }
        Ok(Self {
            data,
            registry: reg,
            name,
            bytes: text.as_bytes().to_vec(),
        })
    }
}

#[pymethods]
impl PyDataset {
    /// Reads a CSV file.
    #[staticmethod]
    #[pyo3(signature = (path, *, registry = None, temperature = None))]
    fn read_csv(
        path: std::path::PathBuf,
        registry: Option<&PyRegistry>,
        temperature: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Self::read(&path, registry, temperature)
    }
    /// Reads CSV text.
    #[staticmethod]
    #[pyo3(signature = (text, *, registry = None, temperature = None))]
    fn from_csv(
        text: &str,
        registry: Option<&PyRegistry>,
        temperature: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Self::build(text, "<text>".into(), registry, temperature)
    }
    /// From columns named as CSV headers ("sample", "Jv [LMH]", "feed:NaCl [mM]",
    /// "rejection:Na+ [%]", ...), each a list or 1-D array of equal length; NaN or None is
    /// an empty cell. `comments` become the file's `#` lines.
    #[staticmethod]
    #[pyo3(signature = (columns, *, comments = None, registry = None, temperature = None))]
    fn from_dict(
        columns: &Bound<'_, PyDict>,
        comments: Option<Vec<String>>,
        registry: Option<&PyRegistry>,
        temperature: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut header = Vec::new();
        let mut cells: Vec<Vec<String>> = Vec::new();
        for (k, v) in columns.iter() {
            let name: String = k
                .extract()
                .map_err(|_| input("column names must be text"))?;
            cells.push(column_cells(&name, &v)?);
            header.push(name);
        }
        let rows = cells.first().map_or(0, Vec::len);
        if let Some((name, c)) = header.iter().zip(&cells).find(|(_, c)| c.len() != rows) {
            return Err(input(format!(
                "column `{name}` has {} values, the first column {rows}",
                c.len()
            )));
        }
        let mut text = String::new();
        for c in comments.unwrap_or_default() {
            if c.contains('\n') {
                return Err(input("a comment is one line"));
            }
            text.push_str(&format!("# {c}\n"));
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| input(format!("cannot write the columns as CSV: {e}"));
        w.write_record(&header).map_err(fail)?;
        for r in 0..rows {
            w.write_record(cells.iter().map(|c| c[r].as_str()))
                .map_err(fail)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| input(format!("cannot write the columns as CSV: {e}")))?;
        text.push_str(&String::from_utf8_lossy(&bytes));
        Self::build(&text, "<dict>".into(), registry, temperature)
    }
    /// The CSV text in SI units (what `write_csv` writes).
    fn to_csv(&self) -> PyResult<String> {
        self.data.to_csv_string().py_err()
    }
    /// Writes the CSV file in SI units, atomically.
    fn write_csv(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.data.write_csv(&path).py_err()
    }
    /// The columns in SI units: "sample" and "source" as lists of text, the others
    /// ("Jv [m/s]", "T [K]", "feed:ION [mol/m3]", "permeate:ION [mol/m3]" or
    /// "intrinsic_rejection:ION [-]", and their "_sd" columns) as float arrays, NaN for empty
    /// cells. `Dataset.from_dict(d.to_dict(), comments=d.comments)` gives the same data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let text = self.data.to_csv_string().py_err()?;
        let body: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut r = csv::Reader::from_reader(body.as_bytes());
        let bad = |e: csv::Error| raise(Kind::File, format!("CSV written by the library: {e}"));
        let header: Vec<String> = r.headers().map_err(bad)?.iter().map(String::from).collect();
        let mut columns: Vec<Vec<String>> = vec![Vec::new(); header.len()];
        for rec in r.records() {
            let rec = rec.map_err(bad)?;
            for (c, cell) in columns.iter_mut().zip(rec.iter()) {
                c.push(cell.to_string());
            }
        }
        let d = PyDict::new(py);
        for (name, cells) in header.iter().zip(columns) {
            if name == "sample" || name == "source" {
                d.set_item(name, PyList::new(py, cells)?)?;
            } else {
                let v: Vec<f64> = cells
                    .iter()
                    .map(|c| {
                        if c.is_empty() {
                            Ok(f64::NAN)
                        } else {
                            c.parse::<f64>()
                        }
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| raise(Kind::File, format!("column {name}: {e}")))?;
                d.set_item(name, array1(py, &v))?;
            }
        }
        Ok(d)
    }
    /// Ion names, the order of every ion column.
    #[getter]
    fn ions(&self) -> Vec<String> {
        self.data.ions.clone()
    }
    /// Sample identifiers, in file order.
    #[getter]
    fn samples(&self) -> Vec<String> {
        self.data.samples.iter().map(|s| s.id.clone()).collect()
    }
    /// "observed" or "intrinsic": what the rejections are relative to.
    #[getter]
    fn basis(&self) -> &'static str {
        match self.data.basis {
            RejectionBasis::Observed => "observed",
            RejectionBasis::Intrinsic => "intrinsic",
        }
    }
    /// The `# SYNTHETIC:` description of simulated data, or None for measurements.
    #[getter]
    fn synthetic(&self) -> Option<String> {
        self.data.synthetic.clone()
    }
    /// The file's other `#` comment lines.
    #[getter]
    fn comments(&self) -> Vec<String> {
        self.data.comments.clone()
    }
    /// Number of (sample, flux) points.
    #[getter]
    fn num_points(&self) -> usize {
        self.data.num_points()
    }
    /// Where the data came from (a path, "<text>" or "<dict>").
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
    fn __len__(&self) -> usize {
        self.data.samples.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Dataset({}: {} samples, {} points, ions [{}], {} rejections{})",
            self.name,
            self.data.samples.len(),
            self.data.num_points(),
            self.data.ions.join(", "),
            self.basis(),
            if self.data.synthetic.is_some() {
                ", SYNTHETIC"
            } else {
                ""
            }
        )
    }
}

/// The cells of one column: text as it is, numbers in shortest round-trip form, NaN/None
/// empty.
fn column_cells(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if v.cast::<PyString>().is_ok() {
        return Err(input(format!(
            "column `{name}` is one text, not a list of values"
        )));
    }
    let items: Vec<Bound<'_, PyAny>> = match v.try_iter() {
        Ok(it) => it.collect::<PyResult<_>>()?,
        Err(_) => return Err(input(format!("column `{name}` is not a list or array"))),
    };
    if name == "sample" || name == "source" {
        // Identifiers: as Python writes them (1, not 1e0).
        return items
            .iter()
            .map(|x| {
                Ok(if x.is_none() {
                    String::new()
                } else {
                    x.str()?.to_cow()?.to_string()
                })
            })
            .collect();
    }
    if items.iter().all(|x| x.cast::<PyString>().is_err())
        && let Ok(nums) = vector(v, name)
    {
        return Ok(nums
            .iter()
            .map(|x| {
                if x.is_nan() {
                    String::new()
                } else {
                    format!("{x:e}")
                }
            })
            .collect());
    }
    items
        .iter()
        .map(|x| {
            if x.is_none() {
                Ok(String::new())
            } else if let Ok(s) = x.cast::<PyString>() {
                Ok(s.to_cow()?.to_string())
            } else {
                let f: f64 = x.extract().map_err(|_| {
                    input(format!(
                        "column `{name}` holds a value that is neither text nor a number"
                    ))
                })?;
                Ok(if f.is_nan() {
                    String::new()
                } else {
                    format!("{f:e}")
                })
            }
        })
        .collect()
}

/// A `Dataset` argument, or the path of a CSV file read into `read`.
pub fn dataset_arg<'a>(
    data: &'a Bound<'_, PyAny>,
    read: &'a mut Option<PyDataset>,
) -> PyResult<&'a PyDataset> {
    if let Ok(d) = data.cast::<PyDataset>() {
        return Ok(d.get());
    }
    let path: std::path::PathBuf = data
        .extract()
        .map_err(|_| crate::errors::input("data must be a Dataset or the path of a CSV file"))?;
    Ok(read.insert(PyDataset::read(&path, None, None)?))
}
