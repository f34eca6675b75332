//! The attention neural ODE: h(J_v) of up to eight ions, dh/dtau = f_theta(h, tau), tau = J_v / J_scale.
//!
//! Its parts: the model and its configuration (here), one trajectory's vector field
//! (`field`), the field on many rows for lock-step batches (`batched`) and many-feed
//! prediction (`many`), the direct baselines (`direct`), and the hybrid's physics backbone
//! (`hybrid`).

pub mod batched;
mod direct;
mod field;
pub mod hybrid;
mod many;

pub(crate) use direct::DIRECT_ROWS;
pub(crate) use field::raw_to_rate;
pub use field::{FADE_WIDTH, TrajectoryField, correction_weight};

use crate::error::{ModelError, Result};
use crate::network::{Conditioning, Layout, NetworkConfig, Pass, Workspace, forward};
use charge_constraint::SoftPenalty;
use ion_species::{Composition, DEFAULT_NEUTRALITY_TOL, IonRegistry};
use neural_ode::{SolverOptions, solve};
use serde::{Deserialize, Serialize};

/// How electroneutrality enters the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Constraint {
    /// Hard inductive bias: dh/dtau is projected onto sum z_j dh_j = 0 (over present ions).
    Hard,
    /// Soft inductive bias: no projection; a penalty weight * (z.h)^2 / (z.z) joins the loss.
    Soft {
        /// Penalty weight.
        weight: f64,
    },
    /// Hard and positivity-preserving (an extension, not the published method): the rate is
    /// h ⊙ g projected onto sum z_j dh_j = 0 orthogonally in the metric diag(1/h), so
    /// dh_j/dtau = h_j (g_j - z_j s): electroneutral, and no concentration can cross zero.
    HardPositive,
}

/// How the network produces predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Architecture {
    /// The method: the network is the vector field dh/dtau of an ODE integrated from the feed.
    #[default]
    NeuralOde,
    /// Baseline without the ODE: the same network maps (feed, tau) straight to
    /// h = h0 + tau * P(h0 * g(h0, tau)) (a feed-forward regressor of the same size; with
    /// attention off it is the FNN baseline).
    Direct,
}

/// What the training loss compares: concentrations or rejections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossSpace {
    /// Squared errors of normalised permeate concentrations c_p / S (the method's loss): a
    /// trace ion at 1 % of the feed weighs 10⁻⁴ of a dominant one, so its rejection is
    /// barely learned.
    #[default]
    Concentration,
    /// Squared errors of rejections R = 1 - c_p / c_f (the concentration error divided by
    /// the ion's feed concentration): every ion present weighs alike, as scores weigh them.
    Rejection,
}

impl LossSpace {
    /// The weight of an ion's squared concentration error, from its normalised feed
    /// concentration `h0` (> 0 wherever the ion is measured).
    pub fn weight(self, h0: f64) -> f64 {
        match self {
            Self::Concentration => 1.0,
            Self::Rejection => 1.0 / (h0 * h0),
        }
    }

    fn is_concentration(&self) -> bool {
        *self == Self::Concentration
    }
}

/// Everything that defines a model besides its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Network architecture.
    pub network: NetworkConfig,
    /// Hard or soft electroneutrality.
    pub constraint: Constraint,
    /// Flux scale J_scale, m/s: the ODE's time is tau = J_v / J_scale.
    pub flux_scale: f64,
    /// Ion names in slot order.
    pub ions: Vec<String>,
    /// Valences in slot order.
    pub valences: Vec<f64>,
    /// ODE tolerances.
    pub rtol: f64,
    /// Absolute tolerance (normalised concentration units).
    pub atol: f64,
    /// Neural ODE (default) or direct regression baseline.
    #[serde(default)]
    pub architecture: Architecture,
    /// What the model was trained on (set by training; None for an untrained model). Queries
    /// outside it get warnings ([`Prediction::warnings`]).
    #[serde(default)]
    pub domain: Option<TrainingDomain>,
    /// Hybrid model: the DSPM-DE backbone whose permeate curve the network corrects
    /// (requires [`Constraint::HardPositive`] and the neural ODE; see [`crate::hybrid`]).
    /// Not written when absent, so that model files of other models keep their form (and
    /// their checksums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone: Option<crate::model::hybrid::Backbone>,
    /// The ions' physical descriptors in slot order (ions x
    /// [`crate::network::DESCRIPTORS`]) when the network uses them; empty otherwise (and then
    /// not written, so other model files keep their form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<f64>,
    /// The training loss's space. Not written when it is the method's (concentrations), so
    /// other model files keep their form.
    #[serde(default, skip_serializing_if = "LossSpace::is_concentration")]
    pub loss: LossSpace,
}

/// The range of the data a model was trained on: the flux range, the total feed
/// concentration range and the ions present in training feeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingDomain {
    /// Largest training flux, m/s.
    pub flux_max: f64,
    /// Smallest and largest total feed concentration sum_j c_f,j, mol/m^3.
    pub total_min: f64,
    /// Largest total feed concentration, mol/m^3.
    pub total_max: f64,
    /// Ions (model order) present in at least one training feed.
    pub ions_seen: Vec<bool>,
    /// The model's error on the data it was trained on, for prediction intervals (set by
    /// [`crate::training::train`] after training; absent in older files, which then give no
    /// intervals). Not written when absent, so older files keep their form and checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scatter: Option<RejectionScatter>,
}

/// A trained model's per-ion RMSE of the rejection R = 1 - c_p/c_f on its validation feeds,
/// on its training feeds when it had none, or by leaving one training feed out: the residual
/// scatter of its prediction
/// intervals ([`crate::ensemble`]). On training feeds it understates the error
/// on new feeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionScatter {
    /// RMSE of R per ion (model order); None for an ion never measured there.
    pub rmse: Vec<Option<f64>>,
    /// Which feeds it was measured on.
    pub source: ScatterSource,
}

/// The feeds a [`RejectionScatter`] was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScatterSource {
    /// The validation feeds (held out of the gradient steps).
    Validation,
    /// The training feeds (no validation feeds were given).
    Training,
    /// Leave one training feed out: each feed predicted by the model trained on the others
    /// ([`crate::ensemble::cross_validated_rmse`]).
    CrossValidation,
}

impl TrainingDomain {
    /// The union of two domains.
    pub fn union(&self, other: &Self) -> Self {
        Self {
            flux_max: self.flux_max.max(other.flux_max),
            total_min: self.total_min.min(other.total_min),
            total_max: self.total_max.max(other.total_max),
            ions_seen: self
                .ions_seen
                .iter()
                .zip(&other.ions_seen)
                .map(|(a, b)| *a || *b)
                .collect(),
            // The scatter belongs to one training run; the union is retrained.
            scatter: None,
        }
    }
}

/// Tolerances a model file may carry: beyond these the adaptive solver's answers are not
/// predictions (rtol 1000 gave R = -2.6 on the shipped model).
const RTOL_RANGE: (f64, f64) = (1e-13, 1e-2);
const ATOL_RANGE: (f64, f64) = (1e-15, 1e-2);
/// Flux scales a model may use, m/s: nanofiltration fluxes are 1e-7 to 1e-4 m/s
/// (0.4-360 L/m2/h); a scale far outside makes tau = J_v / J_scale meaningless (1e300 gave
/// R = 0 everywhere).
/// Largest soft-penalty weight [`ModelConfig::validate`] accepts: the normalised losses are
/// O(1e-3), so a weight beyond 1e6 leaves nothing but the penalty to fit.
pub const MAX_SOFT_WEIGHT: f64 = 1e6;

const FLUX_SCALE_RANGE: (f64, f64) = (1e-9, np_transport::MAX_FLUX);

impl ModelConfig {
    /// The configuration for a registry's ions with the default architecture.
    pub fn for_registry(reg: &IonRegistry, network: NetworkConfig, constraint: Constraint) -> Self {
        Self {
            network: NetworkConfig {
                ions: reg.len(),
                ..network
            },
            constraint,
            flux_scale: 1e-5,
            ions: reg.ions().iter().map(|i| i.name.clone()).collect(),
            valences: reg.valences(),
            rtol: 1e-5,
            atol: 1e-7,
            architecture: Architecture::NeuralOde,
            domain: None,
            backbone: None,
            descriptors: if network.descriptors {
                reg.ions()
                    .iter()
                    .flat_map(crate::network::descriptors_of)
                    .collect()
            } else {
                Vec::new()
            },
            loss: LossSpace::Concentration,
        }
    }

    /// This any-ion model's configuration for the ions of `reg` (any number, any order): the
    /// same parameters apply, since none is tied to an ion slot. The training domain is
    /// dropped (it listed the old ions). Errors for models whose parameters are per slot, and
    /// for hybrids (their backbone holds the old ions' DSPM-DE).
    pub fn with_ions(&self, reg: &IonRegistry) -> Result<Self> {
        if !self.network.takes_any_ion() || self.backbone.is_some() {
            return Err(ModelError::InvalidInput(format!(
                "this model's parameters are tied to its {} ion slots ({}); only a model with descriptor tokens, no per-slot identity and the per-token body (NetworkConfig::any_ion) takes another ion set",
                self.ions.len(),
                self.ions.join(", ")
            )));
        }
        let mut c = Self::for_registry(reg, self.network.clone(), self.constraint);
        c.flux_scale = self.flux_scale;
        c.rtol = self.rtol;
        c.atol = self.atol;
        c.architecture = self.architecture;
        c.validate()?;
        Ok(c)
    }

    /// Checks that the configuration describes a usable model: consistent ion lists, finite
    /// nonzero valences, a flux scale within nanofiltration (m/s), ODE tolerances in range, a
    /// finite non-negative soft-penalty weight and a non-degenerate network.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModelError::InvalidInput(m));
        let n = self.network.ions;
        if self.ions.len() != n || self.valences.len() != n || n == 0 || n > 32 {
            return bad(format!(
                "config lists {} ions and {} valences for {n} slots (1 to 32)",
                self.ions.len(),
                self.valences.len()
            ));
        }
        if let Some(z) = self
            .valences
            .iter()
            .find(|z| !(z.is_finite() && **z != 0.0 && z.abs() <= 4.0))
        {
            return bad(format!("valence {z} is not a charge of a dissolved ion"));
        }
        let nd = if self.network.descriptors {
            n * crate::network::DESCRIPTORS
        } else {
            0
        };
        if self.descriptors.len() != nd || self.descriptors.iter().any(|d| !d.is_finite()) {
            return bad(format!(
                "config holds {} ion descriptors; the network needs {nd}, all finite",
                self.descriptors.len()
            ));
        }
        let within = |v: f64, (lo, hi): (f64, f64)| v.is_finite() && v >= lo && v <= hi;
        if !within(self.flux_scale, FLUX_SCALE_RANGE) {
            return bad(format!(
                "flux_scale {} m/s is outside [{:e}, {:e}] m/s",
                self.flux_scale, FLUX_SCALE_RANGE.0, FLUX_SCALE_RANGE.1
            ));
        }
        if !within(self.rtol, RTOL_RANGE) {
            return bad(format!(
                "rtol {} is outside [{:e}, {:e}]",
                self.rtol, RTOL_RANGE.0, RTOL_RANGE.1
            ));
        }
        if !within(self.atol, ATOL_RANGE) {
            return bad(format!(
                "atol {} is outside [{:e}, {:e}]",
                self.atol, ATOL_RANGE.0, ATOL_RANGE.1
            ));
        }
        if let Constraint::Soft { weight } = self.constraint
            && !(weight.is_finite() && (0.0..=MAX_SOFT_WEIGHT).contains(&weight))
        {
            return bad(format!(
                "soft penalty weight {weight} must be in [0, {MAX_SOFT_WEIGHT:e}] (larger weights swamp the data loss)"
            ));
        }
        let net = &self.network;
        if [net.d_model, net.d_k, net.hidden]
            .iter()
            .any(|&w| w == 0 || w > 4096)
        {
            return bad(format!(
                "network widths d_model {}, d_k {}, hidden {} must be in 1..=4096",
                net.d_model, net.d_k, net.hidden
            ));
        }
        if let Some(d) = &self.domain
            && !(d.ions_seen.len() == n
                && within(d.flux_max, (0.0, np_transport::MAX_FLUX))
                && d.total_min.is_finite()
                && d.total_max.is_finite()
                && 0.0 < d.total_min
                && d.total_min <= d.total_max)
        {
            return bad(format!(
                "training domain inconsistent: flux_max {:e} m/s (must be in (0, {:e}]), totals {:e}-{:e} mol/m3 (must be finite, positive and ordered), {} ion flags for {n} ions",
                d.flux_max,
                np_transport::MAX_FLUX,
                d.total_min,
                d.total_max,
                d.ions_seen.len()
            ));
        }
        if let Some(b) = &self.backbone {
            if self.constraint != Constraint::HardPositive
                || self.architecture != Architecture::NeuralOde
            {
                return bad(format!(
                    "a hybrid (DSPM-DE backbone) model needs the positivity-preserving hard \
                     constraint and the neural ODE, not {:?} / {:?}",
                    self.constraint, self.architecture
                ));
            }
            if b.ions.len() != n || b.ions.iter().zip(&self.ions).any(|(i, n)| i.name != *n) {
                return bad("the backbone's ions are not the model's".into());
            }
            if let Some((ion, z)) = b
                .ions
                .iter()
                .zip(&self.valences)
                .find(|(i, z)| i.z() != **z)
            {
                return bad(format!(
                    "the backbone's {} has charge {} but the model's valence is {z}",
                    ion.name,
                    ion.z()
                ));
            }
            b.validate()?;
        }
        Ok(())
    }

    /// Whether this is a hybrid model (a DSPM-DE backbone with a learned correction).
    pub fn is_hybrid(&self) -> bool {
        self.backbone.is_some()
    }

    /// Warnings for a query outside the training domain (none when the domain is unknown):
    /// fluxes above the largest training flux, a total feed concentration outside the
    /// training range, ions never present in a training feed.
    pub fn domain_warnings(&self, feed: &[f64], fluxes: &[f64]) -> Vec<String> {
        let Some(d) = &self.domain else {
            return vec![];
        };
        let mut w = Vec::new();
        let j = fluxes.iter().fold(0.0f64, |m, x| m.max(*x));
        if j > d.flux_max * (1.0 + 1e-9) {
            w.push(format!(
                "flux {j:.3e} m/s ({:.1} L/m2/h) is {:.2}x the largest training flux {:.3e} m/s: extrapolation",
                j * 3.6e6,
                j / d.flux_max,
                d.flux_max
            ));
        }
        let total: f64 = feed.iter().sum();
        if total < d.total_min * (1.0 - 1e-9) || total > d.total_max * (1.0 + 1e-9) {
            w.push(format!(
                "total feed concentration {total:.4} mol/m3 is outside the training range [{:.4}, {:.4}] mol/m3: extrapolation",
                d.total_min, d.total_max
            ));
        }
        for ((name, c), seen) in self.ions.iter().zip(feed).zip(&d.ions_seen) {
            if *c > 0.0 && !seen {
                w.push(format!("{name} was in no training feed"));
            }
        }
        w
    }
}

/// A trained (or initialised) model.
#[derive(Debug, Clone, PartialEq)]
pub struct IonModel {
    /// Configuration.
    pub config: ModelConfig,
    /// Flat parameters.
    pub params: Vec<f64>,
    layout: Layout,
}

/// A feed made ready for the model: normalised state, mask, conditioning.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedFeed {
    /// Conditioning of the vector field.
    pub cond: Conditioning,
    /// Normalisation S = sum_j c_f,j, mol/m^3 (h = c / S).
    pub scale: f64,
}

impl PreparedFeed {
    /// Prepares a feed vector (mol/m^3 in the model's ion order).
    pub fn new(config: &ModelConfig, feed: &[f64]) -> Result<Self> {
        let n = config.ions.len();
        if feed.len() != n {
            return Err(ModelError::InvalidInput(format!(
                "feed has {} entries, the model {n} ions",
                feed.len()
            )));
        }
        if let Some(c) = feed.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
            return Err(ModelError::InvalidInput(format!(
                "feed concentration {c} must be finite and >= 0"
            )));
        }
        let s: f64 = feed.iter().sum();
        if s <= 0.0 {
            return Err(ModelError::InvalidInput("the feed holds no ion".into()));
        }
        let charge: f64 = feed.iter().zip(&config.valences).map(|(c, z)| c * z).sum();
        let total: f64 = feed
            .iter()
            .zip(&config.valences)
            .map(|(c, z)| c * z.abs())
            .sum();
        if charge.abs() > 1e-3 * total {
            return Err(ModelError::InvalidInput(format!(
                "the feed is not electroneutral: sum z c = {charge:.4e} eq/m3 ({:.2} % of the total charge)",
                100.0 * charge.abs() / total
            )));
        }
        Ok(Self {
            cond: Conditioning {
                h0: feed.iter().map(|c| c / s).collect(),
                mask: feed.iter().map(|c| *c > 0.0).collect(),
                log_h0: feed
                    .iter()
                    .map(|c| if *c > 0.0 { (c / s).ln() / 5.0 } else { 0.0 })
                    .collect(),
                log_scale: s.ln() / 10.0,
                z: config.valences.clone(),
                backbone: None,
                desc: config.descriptors.clone(),
            },
            scale: s,
        })
        .and_then(|pf| match &config.backbone {
            Some(b) => pf.with_backbone(config, b.tau_max),
            None => Ok(pf),
        })
    }

    /// Makes sure a hybrid model's backbone curve covers tau up to `tau_max` (recomputing it
    /// when it does not); a no-op for other models.
    pub fn with_backbone(mut self, config: &ModelConfig, tau_max: f64) -> Result<Self> {
        let Some(b) = &config.backbone else {
            return Ok(self);
        };
        if self
            .cond
            .backbone
            .as_ref()
            .is_some_and(|c| c.tau_end() >= tau_max)
        {
            return Ok(self);
        }
        let curve = b.curve(&self.cond.h0, self.scale, config.flux_scale, tau_max)?;
        self.cond.backbone = Some(std::sync::Arc::new(curve));
        Ok(self)
    }

    /// Prepares a [`Composition`]; every ion must be one of the model's.
    pub fn from_composition(config: &ModelConfig, feed: &Composition) -> Result<Self> {
        Self::new(config, &composition_vector(config, feed)?)
    }
}

/// A composition in the model's ion order (mol/m^3), checked for electroneutrality and
/// unknown ions.
fn composition_vector(config: &ModelConfig, feed: &Composition) -> Result<Vec<f64>> {
    feed.check_electroneutral(DEFAULT_NEUTRALITY_TOL.max(1e-3))
        .map_err(|e| ModelError::InvalidInput(e.to_string()))?;
    let mut v = vec![0.0; config.ions.len()];
    for (ion, c) in feed.iter() {
        let idx = config
            .ions
            .iter()
            .position(|n| *n == ion.name)
            .ok_or_else(|| ModelError::UnknownIon(ion.name.clone()))?;
        v[idx] = c;
    }
    Ok(v)
}

/// Row access to predicted states.
struct States {
    y: Vec<f64>,
    n: usize,
}

impl States {
    fn state(&self, k: usize) -> &[f64] {
        &self.y[k * self.n..(k + 1) * self.n]
    }
}

/// Permeate prediction for one feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Ion names (model order).
    pub ions: Vec<String>,
    /// Fluxes, m/s.
    pub fluxes: Vec<f64>,
    /// Permeate concentrations per flux (rows) and ion (columns), mol/m^3; 0 for absent ions.
    pub permeate: Vec<Vec<f64>>,
    /// Rejections 1 - c_p/c_f per flux and ion; NaN for absent ions.
    pub rejection: Vec<Vec<f64>>,
    /// Where the query leaves the training domain ([`ModelConfig::domain_warnings`]).
    pub warnings: Vec<String>,
}

impl IonModel {
    /// A freshly initialised model.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut params = config.network.init_params(seed);
        let layout = config.network.layout();
        if config.is_hybrid() {
            // The correction starts at zero: the untrained hybrid is its DSPM-DE backbone.
            let last = *layout.layers.last().expect("five layers");
            params[last..].fill(0.0);
        }
        Ok(Self {
            config,
            params,
            layout,
        })
    }

    /// A model from a configuration and parameters (checked for length and finiteness).
    pub fn from_parts(config: ModelConfig, params: Vec<f64>) -> Result<Self> {
        let mut m = Self::new(config, 0)?;
        if params.len() != m.layout.total {
            return Err(ModelError::InvalidInput(format!(
                "{} parameters for a model of {}",
                params.len(),
                m.layout.total
            )));
        }
        if params.iter().any(|p| !p.is_finite()) {
            return Err(ModelError::InvalidInput("non-finite parameter".into()));
        }
        m.params = params;
        Ok(m)
    }

    /// Parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The network at this model's parameters over rows conditioned by `conds`, for
    /// [`crate::network::forward`] and its VJP.
    pub fn pass<'a>(&'a self, conds: &'a [&'a Conditioning]) -> Pass<'a> {
        self.pass_with(&self.params, conds)
    }

    /// [`IonModel::pass`] at other parameters `params` (the model's layout).
    pub fn pass_with<'a>(&'a self, params: &'a [f64], conds: &'a [&'a Conditioning]) -> Pass<'a> {
        Pass {
            config: &self.config.network,
            layout: &self.layout,
            params,
            conds,
        }
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layout.total
    }

    /// Index of the first parameter of the fourth linear layer: fine-tuning trains only the
    /// parameters from here on (the last two layers).
    pub fn fine_tune_start(&self) -> usize {
        self.layout.layers[3]
    }

    /// ODE options of the model.
    pub fn solver_options(&self, dense: bool) -> SolverOptions {
        SolverOptions {
            dense,
            ..SolverOptions::with_tolerances(self.config.rtol, self.config.atol)
        }
    }

    /// Predicts permeate concentrations for `feed` (mol/m^3, model ion order) at `fluxes`
    /// (m/s, non-decreasing, >= 0) in one ODE solve from J_v = 0 where h = feed.
    pub fn predict_vector(&self, feed: &[f64], fluxes: &[f64]) -> Result<Prediction> {
        let (pf, taus) = self.prepare_query(feed, fluxes)?;
        let states = self.predict_normalised(&pf.cond, &taus)?;
        Ok(self.assemble(&pf, feed, fluxes, states))
    }

    /// Checks a query and prepares its feed (with the hybrid's backbone curve); returns the
    /// normalised fluxes.
    pub(crate) fn prepare_query(
        &self,
        feed: &[f64],
        fluxes: &[f64],
    ) -> Result<(PreparedFeed, Vec<f64>)> {
        // The same cap as every DSPM-DE solve (np_transport::MAX_FLUX): beyond it a query is a
        // unit slip, and an ODE integrated that far takes long before it fails.
        if let Some(j) = fluxes
            .iter()
            .find(|j| !(j.is_finite() && (0.0..=np_transport::MAX_FLUX).contains(*j)))
        {
            return Err(ModelError::InvalidInput(format!(
                "flux {j} m/s must be finite and in [0, {:e}] m/s (3600 L/m2/h; was a value in L/m2/h passed as m/s?)",
                np_transport::MAX_FLUX
            )));
        }
        if fluxes.windows(2).any(|w| w[1] < w[0]) {
            return Err(ModelError::InvalidInput(
                "fluxes must be non-decreasing".into(),
            ));
        }
        if fluxes.is_empty() {
            return Err(ModelError::InvalidInput("no flux given".into()));
        }
        let taus: Vec<f64> = fluxes.iter().map(|j| j / self.config.flux_scale).collect();
        let pf = PreparedFeed::new(&self.config, feed)?
            .with_backbone(&self.config, taus.iter().fold(0.0, |m: f64, t| m.max(*t)))?;
        Ok((pf, taus))
    }

    /// A prediction from the solved normalised states.
    pub(crate) fn assemble(
        &self,
        pf: &PreparedFeed,
        feed: &[f64],
        fluxes: &[f64],
        states: Vec<f64>,
    ) -> Prediction {
        let n = self.config.ions.len();
        let sol = States { y: states, n };
        let mut permeate = Vec::with_capacity(fluxes.len());
        let mut rejection = Vec::with_capacity(fluxes.len());
        for k in 0..fluxes.len() {
            let h = sol.state(k);
            permeate.push(
                (0..n)
                    .map(|j| {
                        if pf.cond.mask[j] {
                            h[j] * pf.scale
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            );
            rejection.push(
                (0..n)
                    .map(|j| {
                        if pf.cond.mask[j] {
                            1.0 - h[j] / pf.cond.h0[j]
                        } else {
                            f64::NAN
                        }
                    })
                    .collect(),
            );
        }
        Prediction {
            ions: self.config.ions.clone(),
            fluxes: fluxes.to_vec(),
            permeate,
            rejection,
            warnings: self.config.domain_warnings(feed, fluxes),
        }
    }

    /// [`IonModel::predict_vector`] for a [`Composition`].
    pub fn predict(&self, feed: &Composition, fluxes: &[f64]) -> Result<Prediction> {
        self.predict_vector(&self.feed_vector(feed)?, fluxes)
    }

    /// This model for feeds at temperature `t` (K). A hybrid moves its DSPM-DE backbone
    /// ([`crate::hybrid::Backbone::at_temperature`]); its learned correction stays as
    /// trained. Other models have no temperature input (they predict at the temperature of
    /// their training data): a typed error, unless `t` is the temperature they already use.
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        match &self.config.backbone {
            Some(b) if b.conditions.temperature == t => Ok(self.clone()),
            Some(b) => {
                let mut m = self.clone();
                m.config.backbone = Some(b.at_temperature(t)?);
                Ok(m)
            }
            None => Err(ModelError::InvalidInput(format!(
                "a temperature of {:.2} C: this model has no temperature input and predicts at the temperature of its training data (a hybrid model moves its DSPM-DE backbone to the temperature)",
                t - 273.15
            ))),
        }
    }

    /// [`IonModel::predict`] for many feeds at the same fluxes (m/s), solved together
    /// ([`IonModel::predict_vectors`]); one result per feed, in order.
    pub fn predict_many(&self, feeds: &[Composition], fluxes: &[f64]) -> Vec<Result<Prediction>> {
        let vectors: Vec<Result<Vec<f64>>> = feeds.iter().map(|f| self.feed_vector(f)).collect();
        let good: Vec<Vec<f64>> = vectors
            .iter()
            .filter_map(|v| v.as_ref().ok().cloned())
            .collect();
        let mut solved = self.predict_vectors(&good, fluxes).into_iter();
        vectors
            .into_iter()
            .map(|v| match v {
                Ok(_) => solved.next().expect("one prediction per good feed"),
                Err(e) => Err(e),
            })
            .collect()
    }

    /// The feed in the model's ion order (mol/m^3), checked; no backbone curve is computed.
    fn feed_vector(&self, feed: &Composition) -> Result<Vec<f64>> {
        composition_vector(&self.config, feed)
    }

    /// The attention matrix (ions x ions, row i = the weights ion i gives every ion) for a
    /// feed at flux `flux` (m/s), evaluated on the predicted state there.
    pub fn attention(&self, feed: &Composition, flux: f64) -> Result<Vec<Vec<f64>>> {
        if !self.config.network.attention {
            return Err(ModelError::InvalidInput(
                "this model has no attention layer".into(),
            ));
        }
        let v = self.feed_vector(feed)?;
        let pred = self.predict_vector(&v, &[flux])?;
        let pf = PreparedFeed::new(&self.config, &v)?;
        let h: Vec<f64> = pred.permeate[0].iter().map(|c| c / pf.scale).collect();
        let mut ws = Workspace::new(&self.config.network, 1);
        let tau = flux / self.config.flux_scale;
        forward(self.pass(&[&pf.cond]), &[tau], &h, &mut ws);
        let n = self.config.ions.len();
        Ok(ws
            .attention(0)
            .chunks_exact(n)
            .map(<[f64]>::to_vec)
            .collect())
    }

    /// Solves one trajectory (from tau = 0, h = feed, to every tau of `taus`) with the
    /// parameters below `first_trainable` frozen; `dense` keeps the steps (and stage records)
    /// for the discrete adjoint. Returns the field too, for the adjoint.
    pub fn solve_trajectory<'a>(
        &'a self,
        cond: &'a Conditioning,
        taus: &[f64],
        first_trainable: usize,
        dense: bool,
    ) -> Result<(TrajectoryField<'a>, neural_ode::Solution)> {
        let mut field = TrajectoryField::new(self, cond)?;
        field.first_trainable = first_trainable;
        let sol = solve(
            &field,
            &self.params,
            0.0,
            &cond.h0,
            taus,
            &self.solver_options(dense),
        )?;
        Ok((field, sol))
    }

    /// Normalised predictions h (row-major, one row per tau) for a prepared feed.
    pub fn predict_normalised(&self, cond: &Conditioning, taus: &[f64]) -> Result<Vec<f64>> {
        match self.config.architecture {
            Architecture::NeuralOde => Ok(self.solve_trajectory(cond, taus, 0, false)?.1.y),
            Architecture::Direct => self.direct_predict(cond, taus),
        }
    }

    /// The soft penalty of a state, when the model is soft-constrained.
    pub fn soft_penalty(&self, cond: &Conditioning) -> Result<Option<SoftPenalty<f64>>> {
        Ok(match self.config.constraint {
            Constraint::Hard | Constraint::HardPositive => None,
            Constraint::Soft { weight } => Some(SoftPenalty::new(&cond.z, &cond.mask, weight)?),
        })
    }
}
