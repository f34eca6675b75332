//! The exception hierarchy and the mapping of every library error onto it.
//!
//! `IonTransportError` is the base; `InputError` (also a `ValueError`) is bad input: a feed,
//! a flux, an ion, a parameter, a data set; `ConvergenceError` (also a `RuntimeError`) is a
//! solve or fit that did not converge; `FileError` (also an `OSError`) is a file that cannot
//! be read or written or is not what it claims. The message is the Rust error's.

use ion_species::SpeciesError;
use iontransport_model::ModelError;
use np_transport::TransportError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};

/// The classes, defined in Python so that each also derives from the built-in exception
/// Python users already catch (multiple inheritance, which `create_exception!` cannot give).
const CLASSES: &std::ffi::CStr = cr#"
class IonTransportError(Exception):
    """Base of every error raised by iontransport."""
    __module__ = "iontransport"

class InputError(IonTransportError, ValueError):
    """Bad input: a feed (NaN, negative, not electroneutral), an unknown ion, a flux out of
    range, an ion larger than the pore, an array of the wrong shape, a malformed data set."""
    __module__ = "iontransport"

class ConvergenceError(IonTransportError, RuntimeError):
    """A solve, integration or fit that did not converge."""
    __module__ = "iontransport"

class FileError(IonTransportError, OSError):
    """A file that cannot be read or written, or is not a valid CSV, membrane or model file."""
    __module__ = "iontransport"
"#;

static TYPES: PyOnceLock<[Py<PyType>; 4]> = PyOnceLock::new();

/// Which exception an error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `InputError`.
    Input,
    /// `ConvergenceError`.
    Convergence,
    /// `FileError`.
    File,
}

fn types(py: Python<'_>) -> PyResult<&[Py<PyType>; 4]> {
    TYPES.get_or_try_init(py, || {
        let m = PyModule::from_code(
            py,
            CLASSES,
            c"iontransport_errors.py",
            c"iontransport_errors",
        )?;
        let get = |name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok([
            get("IonTransportError")?,
            get("InputError")?,
            get("ConvergenceError")?,
            get("FileError")?,
        ])
    })
}

/// Adds the four classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let t = types(m.py())?;
    for (name, ty) in [
        "IonTransportError",
        "InputError",
        "ConvergenceError",
        "FileError",
    ]
    .iter()
    .zip(t)
    {
        m.add(*name, ty.bind(m.py()))?;
    }
    Ok(())
}

/// The exception of `kind` with `message`.
pub fn raise(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| match types(py) {
        Ok(t) => {
            let ty = match kind {
                Kind::Input => &t[1],
                Kind::Convergence => &t[2],
                Kind::File => &t[3],
            };
            PyErr::from_type(ty.bind(py).clone(), message)
        }
        Err(e) => e,
    })
}

/// An `InputError`.
pub fn input(message: impl Into<String>) -> PyErr {
    raise(Kind::Input, message)
}

/// The kind of an ion-species error: all are bad input.
pub fn species_kind(_: &SpeciesError) -> Kind {
    Kind::Input
}

/// The kind of an np-transport error.
pub fn transport_kind(e: &TransportError) -> Kind {
    use TransportError as E;
    match e {
        E::NotConverged { .. } | E::Integration { .. } | E::Fit(_) => Kind::Convergence,
        E::Csv { .. } | E::Io { .. } | E::MembraneFile { .. } => Kind::File,
        _ => Kind::Input,
    }
}

/// The kind of a model error.
pub fn model_kind(e: &ModelError) -> Kind {
    use ModelError as E;
    match e {
        E::Transport(t) => transport_kind(t),
        E::BadCheckpoint { .. } | E::Io { .. } => Kind::File,
        E::Ode(_) | E::Training(_) => Kind::Convergence,
        _ => Kind::Input,
    }
}

/// Library results into Python results.
pub trait IntoPy<T> {
    /// The value, or the error as the exception of its kind.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, SpeciesError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| raise(species_kind(&e), e.to_string()))
    }
}

impl<T> IntoPy<T> for Result<T, TransportError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| raise(transport_kind(&e), e.to_string()))
    }
}

impl<T> IntoPy<T> for Result<T, ModelError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| raise(model_kind(&e), e.to_string()))
    }
}
