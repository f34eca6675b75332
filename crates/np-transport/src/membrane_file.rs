//! A membrane saved as a file: fit once, then predict, generate or train anywhere with what was
//! fitted, and see how well it was determined.
//!
//! The file is JSON: the membrane (SI units: pore radius and Δx/A_k in m, X_d in mol/m³), the
//! conditions it was fitted at (temperature in K, polarisation, activity model, pore scheme),
//! and, for a fitted membrane, the fit: every parameter with its standard error, unit and
//! whether it ended at a bound, the correlation matrix, the RMSE of the rejections, the number
//! of starts that agreed, and the data file's name and fingerprint. It is meant to be read by
//! people, and a hand-edited membrane is a legitimate membrane: loading checks the format,
//! the version and the membrane's physical validity, not a checksum.

use crate::data::write_atomic;
use crate::error::{Result, TransportError};
use crate::fit::{FitOptions, FitResult, RejectionMeasurement, Starts, fit};
use crate::interval::{IntervalSweep, sweep_with_intervals};
use crate::model::{BornRadius, ChargeModel, Conditions, Membrane, Partitioning};
use crate::parameters::IsothermForm;
use crate::posterior::{ParameterSamples, SamplingOptions, sample_parameters};
use crate::solver::Dspmde;
use ion_species::Composition;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` field of every membrane file.
pub const MEMBRANE_FORMAT: &str = "iontransport-membrane";

/// The version this library writes (and the only one it reads).
pub const MEMBRANE_VERSION: u32 = 1;

/// One fitted parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedParameter {
    /// `pore_radius`, `effective_thickness`, `charge` (X_d, or X_ref of the isotherm at
    /// [`crate::ISOTHERM_REFERENCE`]), `charge_exponent` (Freundlich b),
    /// `charge_half_saturation` (Langmuir k, mol/m3), `pore_dielectric` or
    /// `partition_energy:<ion>` (kT).
    pub name: String,
    /// Fitted value, in `unit`.
    pub value: f64,
    /// Standard error from the Jacobian at the optimum, in `unit` (it describes only the
    /// local curvature when the parameter is at a bound).
    pub standard_error: f64,
    /// Unit of the value and its error.
    pub unit: String,
    /// Whether the fit ended within 0.1 % of a bound.
    pub at_bound: bool,
}

/// What the fit that produced a membrane knew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRecord {
    /// The fitted parameters, in the order of `correlation`.
    pub parameters: Vec<FittedParameter>,
    /// Correlation matrix of the fitted parameters (row-major).
    pub correlation: Vec<Vec<f64>>,
    /// Root-mean-square rejection residual.
    pub rmse: f64,
    /// Number of rejections fitted.
    pub rejections: usize,
    /// Starting points tried, and how many of them reached the best fit.
    pub starts: usize,
    /// Converged starts that reached the best fit.
    pub agreeing_starts: usize,
    /// The measurement file's name.
    pub data: String,
    /// FNV-1a 64 of the measurement file's bytes (hex): which data this membrane describes.
    pub data_fingerprint: String,
    /// Parameter samples and residual scatter for prediction intervals (absent in files
    /// written before intervals existed: refit to get them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<ParameterSamples>,
}

impl FitRecord {
    /// What the data determined, per fitted parameter (in the order of
    /// [`Self::parameters`]; see [`crate::identify`]).
    pub fn identifiability(&self) -> Vec<crate::identify::Identification> {
        let names: Vec<String> = self.parameters.iter().map(|p| p.name.clone()).collect();
        let values: Vec<f64> = self.parameters.iter().map(|p| p.value).collect();
        let se: Vec<f64> = self.parameters.iter().map(|p| p.standard_error).collect();
        let at_bound: Vec<bool> = self.parameters.iter().map(|p| p.at_bound).collect();
        crate::identify::identification(&names, &values, &se, &at_bound, &self.correlation)
    }
}

/// A membrane file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembraneFile {
    /// Always [`MEMBRANE_FORMAT`].
    pub format: String,
    /// [`MEMBRANE_VERSION`].
    pub version: u32,
    /// The membrane.
    pub membrane: Membrane,
    /// The conditions it was fitted (or is meant to be used) at.
    pub conditions: Conditions,
    /// The fit that produced it (None for a membrane written by hand or from parameters).
    pub fit: Option<FitRecord>,
}

/// FNV-1a 64 of `bytes`, as 16 hex digits.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The most measurements a fit of a file uses (taken evenly through it:
/// [`crate::data::Dataset::rejection_measurements`]), on the command line and in Python.
pub const FIT_MAX_POINTS: usize = 400;

/// How [`MembraneFile::fit`] fits a membrane to measurements (the `iontransport fit`
/// command's options, with its defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct FitSettings {
    /// Conditions of the measurements (temperature in K, polarisation film, activity model);
    /// samples that state a temperature run at theirs.
    pub conditions: Conditions,
    /// Also fit the charge as an isotherm of the feed's ionic strength (Freundlich X_d = a I^b
    /// or Langmuir X_d = X_max I/(k + I)), from the constant-charge optimum (needs feeds of
    /// more than one ionic strength); None: a constant charge.
    pub isotherm: Option<IsothermForm>,
    /// Fit the charge as set by the feed's multivalent ions ([`ChargeModel::Multivalent`])
    /// instead of a constant (not with `isotherm`).
    pub multivalent_charge: bool,
    /// Also fit the pore dielectric constant.
    pub fit_dielectric: bool,
    /// The Born radius of the fitted membrane (default: Stokes radii, the classic DSPM-DE).
    pub born_radius: BornRadius,
    /// Ions whose extra partition energy (kT) is fitted too; each must be measured.
    pub partition_energies: Vec<String>,
    /// Descriptors whose weights are fitted too: every ion's partition energy as a linear
    /// function of its own data ([`crate::Partitioning::descriptor_weights`]).
    pub energy_descriptors: Vec<crate::EnergyDescriptor>,
    /// How the optimiser gets its Jacobian (default: differences).
    pub jacobian: crate::FitJacobian,
    /// Model evaluations per start of the Levenberg-Marquardt search (default 300).
    pub max_evaluations: usize,
    /// Parameter samples kept for prediction intervals (default 200; 0: none kept).
    pub samples: usize,
    /// Seed of the parameter sampling (default 0).
    pub seed: u64,
}

impl Default for FitSettings {
    fn default() -> Self {
        Self {
            conditions: Conditions::default(),
            isotherm: None,
            multivalent_charge: false,
            fit_dielectric: false,
            born_radius: BornRadius::Stokes,
            partition_energies: Vec::new(),
            energy_descriptors: Vec::new(),
            jacobian: crate::FitJacobian::default(),
            max_evaluations: 300,
            samples: 200,
            seed: 0,
        }
    }
}

impl MembraneFile {
    /// Fits a membrane to `measurements` and returns it as a file: a multi-start fit of pore
    /// radius, effective thickness and constant charge from the NF270-like membrane (X_d =
    /// -40 mol/m^3), then, with [`FitSettings::isotherm`], the isotherm from that optimum,
    /// then `samples` parameter samples for prediction intervals
    /// ([`crate::posterior::sample_parameters`]). `data_name` and `data_bytes` name the
    /// measurement file in the record (its fingerprint).
    pub fn fit(
        measurements: &[RejectionMeasurement],
        settings: &FitSettings,
        data_name: &str,
        data_bytes: &[u8],
    ) -> Result<Self> {
        settings.conditions.validate()?;
        if settings.multivalent_charge && settings.isotherm.is_some() {
            return Err(TransportError::Fit(
                "an isotherm and a multivalent charge are two forms of the charge: choose one"
                    .into(),
            ));
        }
        let mut opts = FitOptions::new(
            Membrane {
                charge: ChargeModel::Constant(-40.0),
                partitioning: Partitioning {
                    born_radius: settings.born_radius,
                    ..Partitioning::default()
                },
                ..Membrane::nf270_like()
            },
            settings.conditions.clone(),
        );
        opts.fit_dielectric = settings.fit_dielectric;
        opts.charge_multivalent = settings.multivalent_charge;
        opts.partition_energies = settings.partition_energies.clone();
        opts.energy_descriptors = settings.energy_descriptors.clone();
        opts.jacobian = settings.jacobian;
        opts.max_evaluations = settings.max_evaluations;
        let mut f = fit(measurements, &opts)?;
        if let Some(form) = settings.isotherm {
            opts.isotherm_form = form;
            if !crate::fit::isotherm_identifiable(measurements) {
                return Err(TransportError::Fit(
                    "a charge isotherm X_d(I) needs feeds of at least two ionic strengths, and every feed of these data has the same one: fit a constant charge".into(),
                ));
            }
            f = crate::fit::fit_isotherm(measurements, &opts, &f)?;
            // The options the samples below are drawn with: those of the isotherm fit.
            opts.initial = f.membrane.clone();
            opts.charge_isotherm = true;
            opts.starts = Starts::Initial;
        }
        let uncertainty = if settings.samples > 0 {
            let sampling = SamplingOptions {
                samples: settings.samples,
                seed: settings.seed,
                ..SamplingOptions::default()
            };
            Some(sample_parameters(measurements, &opts, &f, &sampling)?)
        } else {
            None
        };
        Self::from_fit(
            &f,
            settings.conditions.clone(),
            data_name,
            data_bytes,
            uncertainty,
        )
    }

    /// A membrane file for `membrane` at `conditions`, without a fit; both are checked.
    pub fn new(membrane: Membrane, conditions: Conditions) -> Result<Self> {
        Dspmde::new(membrane.clone(), conditions.clone())?;
        Ok(Self {
            format: MEMBRANE_FORMAT.into(),
            version: MEMBRANE_VERSION,
            membrane,
            conditions,
            fit: None,
        })
    }

    /// The membrane of `fit`, fitted at `conditions` to the measurement file `data_name`
    /// whose bytes are `data_bytes`, with the parameter samples of
    /// [`crate::posterior::sample_parameters`] for prediction intervals when given.
    pub fn from_fit(
        fit: &FitResult,
        conditions: Conditions,
        data_name: &str,
        data_bytes: &[u8],
        uncertainty: Option<ParameterSamples>,
    ) -> Result<Self> {
        let m = &fit.membrane;
        let parameters = fit
            .parameters
            .iter()
            .map(|name| {
                let (value, standard_error, unit) = fit
                    .value(name)
                    .ok_or_else(|| TransportError::Fit(format!("unknown parameter {name}")))?;
                Ok(FittedParameter {
                    name: name.clone(),
                    value,
                    standard_error,
                    unit: unit.into(),
                    at_bound: fit.at_bound.contains(name),
                })
            })
            .collect::<Result<_>>()?;
        let mut file = Self::new(m.clone(), conditions)?;
        file.fit = Some(FitRecord {
            parameters,
            correlation: fit.correlation.clone(),
            rmse: fit.rmse,
            rejections: fit.residuals.len(),
            starts: fit.starts,
            agreeing_starts: fit.agreeing_starts,
            data: data_name.into(),
            data_fingerprint: fingerprint(data_bytes),
            uncertainty,
        });
        Ok(file)
    }

    /// Rejections of `feed` at `fluxes` (m/s), at `temperature` (K; None: the file's), with
    /// `level` prediction intervals ([`crate::interval`]). Errors when the file holds no
    /// parameter samples (a membrane not fitted, or fitted by an older version).
    pub fn sweep_with_intervals(
        &self,
        feed: &Composition,
        fluxes: &[f64],
        temperature: Option<f64>,
        level: f64,
    ) -> Result<IntervalSweep> {
        let samples = self
            .fit
            .as_ref()
            .and_then(|f| f.uncertainty.as_ref())
            .ok_or_else(|| {
                TransportError::NoIntervals(
                    "the membrane file holds no parameter samples (a membrane written by hand, or fitted by an older version): refit it (`iontransport fit`) to get them".into(),
                )
            })?;
        let (conditions, feed) = match temperature {
            Some(t) => (self.conditions.at_temperature(t)?, feed.at_temperature(t)?),
            None => (self.conditions.clone(), feed.clone()),
        };
        sweep_with_intervals(&self.membrane, &conditions, samples, &feed, fluxes, level)
    }

    /// The DSPM-DE of this membrane at its conditions.
    pub fn dspmde(&self) -> Result<Dspmde> {
        Dspmde::new(self.membrane.clone(), self.conditions.clone())
    }

    /// Writes the file (pretty JSON) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.dspmde()?;
        let text = serde_json::to_string_pretty(self).map_err(|e| TransportError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes())
    }

    /// Reads and checks a membrane file: its format and version, and that the membrane and
    /// conditions make a valid DSPM-DE.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| TransportError::MembraneFile {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| TransportError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("not a membrane file (not text: a membrane file is JSON)".into()))?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("not a membrane file (not JSON: {e})")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(MEMBRANE_FORMAT) => {}
            Some(other) => {
                return Err(bad(format!(
                    "format `{other}` is not `{MEMBRANE_FORMAT}` (a model file? models go to --model)"
                )));
            }
            None => return Err(bad(format!("no `format: {MEMBRANE_FORMAT}` field"))),
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(MEMBRANE_VERSION) => {}
            v => {
                return Err(bad(format!(
                    "version {v:?} is not supported (this library reads version {MEMBRANE_VERSION})"
                )));
            }
        }
        let file: Self = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        file.dspmde()
            .map_err(|e| bad(format!("the membrane cannot be used: {e}")))?;
        Ok(file)
    }
}
