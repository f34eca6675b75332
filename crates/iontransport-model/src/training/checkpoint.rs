//! Checkpoints and model files: JSON (serde) with a format tag, a version and a checksum of
//! the whole checkpoint (configuration and parameters), written atomically (temporary file,
//! then rename). Loading validates the configuration ([`ModelConfig::validate`]).

use super::adam::Adam;
use super::phase::Phase;
use crate::error::{ModelError, Result};
use crate::model::{IonModel, ModelConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "iontransport-model";
/// Version 2 checksums the whole checkpoint; version 1 files (parameters only) still load,
/// unless they hold what version 1 never wrote (a hybrid backbone or a training domain), which
/// its checksum would leave unguarded.
const VERSION: u32 = 2;

/// Everything needed to use a model or to resume training it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Model configuration (architecture, constraint, normalisation, ions).
    pub config: ModelConfig,
    /// Current parameters.
    pub params: Vec<f64>,
    /// Best-validation parameters so far.
    pub best_params: Option<Vec<f64>>,
    /// Optimiser state.
    pub adam: Option<Adam>,
    /// Epochs completed.
    pub epoch: usize,
    /// Best validation loss (None before any validation).
    pub best_validation: Option<f64>,
    /// Epochs since the last improvement.
    pub stale_epochs: usize,
    /// (epoch, train loss, validation loss).
    pub history: Vec<(usize, f64, f64)>,
    /// Training seed.
    pub seed: u64,
    /// Training phase.
    pub phase: Option<Phase>,
    /// Fingerprint of the training and validation data ([`crate::training::data::fingerprint`]); a
    /// resumed run must use the same data.
    #[serde(default)]
    pub data_fingerprint: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    checksum: String,
    checkpoint: Checkpoint,
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Version 1: FNV-1a over the little-endian bytes of the parameters.
fn checksum_v1(params: &[f64]) -> String {
    fnv1a(params.iter().flat_map(|p| p.to_le_bytes()))
}

/// Version 2: FNV-1a over the checkpoint's canonical JSON (serde_json writes fields in
/// declaration order and floats in shortest round-trip form, so a parsed file serialises
/// back to the same bytes): detects any edit or corruption that still parses, including
/// edits of the configuration.
fn checksum(c: &Checkpoint) -> std::result::Result<String, serde_json::Error> {
    Ok(fnv1a(serde_json::to_string(c)?.into_bytes().into_iter()))
}

impl Checkpoint {
    /// A checkpoint of a finished model (no optimiser state).
    pub fn of_model(model: &IonModel, seed: u64) -> Self {
        Self {
            config: model.config.clone(),
            params: model.params.clone(),
            best_params: None,
            adam: None,
            epoch: 0,
            best_validation: None,
            stale_epochs: 0,
            history: vec![],
            seed,
            phase: None,
            data_fingerprint: None,
        }
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json_err = |e: serde_json::Error| ModelError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        self.config.validate()?;
        let file = File {
            format: FORMAT.into(),
            version: VERSION,
            checksum: checksum(self).map_err(json_err)?,
            checkpoint: self.clone(),
        };
        let text = serde_json::to_string(&file).map_err(json_err)?;
        np_transport::data::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Reads and validates a checkpoint.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ModelError::BadCheckpoint {
            path: path.display().to_string(),
            reason: "not a model file (not text: a model file is JSON)".into(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Validates a checkpoint from the text of a model file; `source` names where the text
    /// came from, in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let bad = |reason: String| ModelError::BadCheckpoint {
            path: source.to_string(),
            reason,
        };
        let file: File =
            serde_json::from_str(text).map_err(|e| bad(format!("not a model file: {e}")))?;
        if file.format != FORMAT {
            return Err(bad(format!("format `{}` is not `{FORMAT}`", file.format)));
        }
        let c = file.checkpoint;
        let expected_sum = match file.version {
            1 if c.config.backbone.is_some()
                || c.config.domain.is_some()
                || c.config.loss != crate::model::LossSpace::Concentration =>
            {
                return Err(bad(
                    "a version 1 file with a hybrid backbone, a training domain or a loss other than the concentrations': version 1 never wrote them, and its checksum covers only the parameters, so the file was edited".into(),
                ));
            }
            1 => checksum_v1(&c.params),
            VERSION => checksum(&c).map_err(|e| bad(e.to_string()))?,
            v => {
                return Err(bad(format!(
                    "version {v} is not supported (expected 1 or {VERSION})"
                )));
            }
        };
        if expected_sum != file.checksum {
            return Err(bad(
                "checksum mismatch: the file was edited or is corrupted".into(),
            ));
        }
        c.config
            .validate()
            .map_err(|e| bad(format!("unusable configuration: {e}")))?;
        if c.params.iter().any(|p| !p.is_finite()) {
            return Err(bad("a parameter is not finite".into()));
        }
        let expected = c.config.network.num_params();
        if c.params.len() != expected {
            return Err(bad(format!(
                "{} parameters for an architecture of {expected}",
                c.params.len()
            )));
        }
        Ok(c)
    }

    /// Whether this is a checkpoint of an unfinished training run (optimiser state kept for
    /// `--resume`) rather than a finished model: its current parameters are the last epoch's,
    /// not the best validated ones.
    pub fn is_unfinished(&self) -> bool {
        self.adam.is_some()
    }

    /// The model of this checkpoint (its current parameters).
    pub fn model(&self) -> Result<IonModel> {
        IonModel::from_parts(self.config.clone(), self.params.clone())
    }
}
