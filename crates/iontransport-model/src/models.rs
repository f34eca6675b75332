//! Trained models shipped inside this crate: a downstream crate reaches them without a path
//! into this repository.

use crate::error::Result;
use crate::model::IonModel;
use crate::training::checkpoint::Checkpoint;

/// The text of `models/nf270-synthetic.json`, compiled in.
const NF270_SYNTHETIC: &str = include_str!("../models/nf270-synthetic.json");

/// The attention neural ODE (positivity-preserving hard constraint, 8 canonical ions) that
/// the README's main job trained on the repository's **synthetic** NF270 data set
/// (`data/synthetic-measurements.csv`, generated from richer physics than the DSPM-DE, and
/// labelled as such): a model to try the library with, not a fit to real measurements.
/// Fluxes in m/s, concentrations in mol/m^3, like every model.
///
/// ```
/// let model = iontransport_model::models::nf270_synthetic().unwrap();
/// assert_eq!(model.config.ions.len(), 8);
/// ```
pub fn nf270_synthetic() -> Result<IonModel> {
    Checkpoint::parse(NF270_SYNTHETIC, "the shipped model nf270-synthetic")?.model()
}
