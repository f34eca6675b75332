//! Which ions a command knows: every built-in ion (the canonical eight and the extended six)
//! plus those of `--ions FILE`, and the registry a data file's models are built on.

use crate::error::{CliError, Result};
use crate::paths::check_input_file;
use ion_species::IonRegistry;
use np_transport::data::Dataset;
use std::path::Path;

/// Every built-in ion plus those of `--ions` (TOML `[[ions]]` tables, or JSON for a `.json`
/// file).
pub fn registry(ions: Option<&Path>) -> Result<IonRegistry> {
    let mut registry = IonRegistry::extended();
    if let Some(path) = ions {
        check_input_file(path)?;
        let text = std::fs::read_to_string(path)?;
        if path.extension().is_some_and(|e| e == "json") {
            registry.extend_from_json(&text)?;
        } else {
            registry.extend_from_toml(&text)?;
        }
    }
    Ok(registry)
}

/// Reads a data file with `full` (an unknown ion's error lists the known ones and names
/// `--ions`) and returns it with the registry its models use: the canonical eight when the
/// file holds nothing else (the shipped models' ions, in their order), otherwise the file's
/// own ions in `full`'s order.
pub fn read_data(path: &Path, full: &IonRegistry) -> Result<(Dataset, IonRegistry)> {
    let ds = Dataset::read_csv(path, full).map_err(|e| unknown_ion_hint(e, full))?;
    let reg = ds.model_registry(full)?;
    let ds = ds.restrict(&reg)?;
    Ok((ds, reg))
}

/// Adds the list of known ions and the `--ions` option to an unknown-ion error.
pub fn unknown_ion_hint(e: np_transport::TransportError, full: &IonRegistry) -> CliError {
    let msg = e.to_string();
    if msg.contains("unknown ion") {
        CliError::Usage(format!(
            "{msg}; the known ions are {}; give the data of others with --ions FILE.toml",
            full.ions()
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        e.into()
    }
}

/// Gives the samples of `ds` that state no temperature the temperature `t` (K), when given
/// (the command line's `--temperature`).
pub fn default_temperature(ds: &mut Dataset, t: Option<f64>) {
    if let Some(t) = t {
        ds.fill_temperature(t);
    }
}
