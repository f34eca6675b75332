//! Checkpoints and model files: JSON (serde) with a format tag, a version and a checksum of
//! the parameters, written atomically (temporary file, then rename).

use crate::error::{ModelError, Result};
use crate::model::{IonModel, ModelConfig};
use crate::train::{Adam, Phase};
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "iontransport-model";
const VERSION: u32 = 1;

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
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    checksum: String,
    checkpoint: Checkpoint,
}

/// FNV-1a over the little-endian bytes of the parameters: detects truncation and corruption
/// that still parses as JSON.
fn checksum(params: &[f64]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in params {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
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
        }
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = File {
            format: FORMAT.into(),
            version: VERSION,
            checksum: checksum(&self.params),
            checkpoint: self.clone(),
        };
        let text = serde_json::to_string(&file).map_err(|e| ModelError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        np_transport::data::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Reads and validates a checkpoint.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| ModelError::BadCheckpoint {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let file: File =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a model file: {e}")))?;
        if file.format != FORMAT {
            return Err(bad(format!("format `{}` is not `{FORMAT}`", file.format)));
        }
        if file.version != VERSION {
            return Err(bad(format!(
                "version {} is not supported (expected {VERSION})",
                file.version
            )));
        }
        let c = file.checkpoint;
        if checksum(&c.params) != file.checksum {
            return Err(bad(
                "parameter checksum mismatch: the file is corrupted".into()
            ));
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

    /// The model of this checkpoint (its current parameters).
    pub fn model(&self) -> Result<IonModel> {
        IonModel::from_parts(self.config.clone(), self.params.clone())
    }
}
