//! The network's architecture: its configuration, the layout of the flat parameter vector,
//! the initialisation, and a feed's conditioning.

pub use super::conv::Body;
use super::conv::{self, ConvLayer};
use serde::{Deserialize, Serialize};

/// Token features per ion: ratio h_j / h0_j, scaled log feed fraction, normalised flux.
pub const TOKEN_FEATURES: usize = 3;

/// Physical descriptors per ion in a descriptor token: valence z, Stokes radius / 0.2 nm,
/// diffusivity / (1e-9 m^2/s) (scaled to order one; see [`descriptors_of`]).
pub const DESCRIPTORS: usize = 3;

/// The descriptor vector of an ion (what [`NetworkConfig::descriptors`] adds to its token).
pub fn descriptors_of(ion: &ion_species::Ion) -> [f64; DESCRIPTORS] {
    [ion.z(), ion.stokes_radius / 0.2e-9, ion.diffusivity / 1e-9]
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// Architecture of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Number of ion slots (8 for the canonical registry).
    pub ions: usize,
    /// Token embedding width.
    pub d_model: usize,
    /// Query/key/value width d_k (8 in the method).
    pub d_k: usize,
    /// Width of the four hidden layers of the five-layer perceptron.
    pub hidden: usize,
    /// Use the attention layer (false: the embeddings go straight to the perceptron).
    pub attention: bool,
    /// What follows the tokens: the five-layer perceptron (default), the same perceptron
    /// per token, or a convolutional body.
    #[serde(default)]
    pub body: Body,
    /// Add each ion's physical descriptors ([`descriptors_of`]) to its token through a learned
    /// map, so the token says what the ion is rather than which slot it sits in.
    #[serde(default, skip_serializing_if = "is_false")]
    pub descriptors: bool,
    /// A learned identity vector per ion slot (the method's ion-identity encoding). Without
    /// it, a descriptor model with the [`Body::Tokenwise`] body has no per-slot parameter and
    /// takes any ion set ([`crate::ModelConfig::with_ions`]).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub identity: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            ions: 8,
            d_model: 8,
            d_k: 8,
            hidden: 32,
            attention: true,
            body: Body::Mlp,
            descriptors: false,
            identity: true,
        }
    }
}

impl NetworkConfig {
    /// The any-ion network: descriptor tokens, no per-slot identity, the per-token perceptron
    /// (otherwise the default sizes).
    pub fn any_ion() -> Self {
        Self {
            body: Body::Tokenwise,
            descriptors: true,
            identity: false,
            ..Self::default()
        }
    }

    /// True when no parameter is tied to an ion slot, so the ion set can change.
    pub fn takes_any_ion(&self) -> bool {
        self.descriptors && !self.identity && self.body == Body::Tokenwise
    }
}

/// Offsets of every parameter block in the flat parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Embedding weights (d_model x TOKEN_FEATURES).
    pub we: usize,
    /// Embedding bias (d_model).
    pub be: usize,
    /// Descriptor map (d_model x DESCRIPTORS; empty without descriptors).
    pub wd: usize,
    /// Ion-identity (positional) encodings (ions x d_model; empty without identity).
    pub pos: usize,
    /// Query, key and value matrices (d_model x d_k each).
    pub wq: usize,
    /// Key matrix.
    pub wk: usize,
    /// Value matrix.
    pub wv: usize,
    /// Start of each linear layer (weights out x in, then bias).
    pub layers: Vec<usize>,
    /// Layer widths, input first (for a convolutional body: the flattened token width and
    /// the ion count).
    pub sizes: Vec<usize>,
    /// The convolutions of a convolutional body (empty for the perceptron).
    pub conv: Vec<ConvLayer>,
    /// Total parameter count.
    pub total: usize,
}

impl NetworkConfig {
    /// Width of the token representation fed to the perceptron.
    pub(crate) fn token_out(&self) -> usize {
        if self.attention {
            self.d_k
        } else {
            self.d_model
        }
    }

    /// Width of a row's flattened body input: token outputs, ratios h/h0, tau, log scale.
    pub(crate) fn flat_input(&self) -> usize {
        self.ions * self.token_out() + self.ions + 2
    }

    /// Parameter layout.
    pub fn layout(&self) -> Layout {
        let (n, dm, dk) = (self.ions, self.d_model, self.d_k);
        let mut off = 0;
        let mut take = |len: usize| {
            let o = off;
            off += len;
            o
        };
        let we = take(dm * TOKEN_FEATURES);
        let be = take(dm);
        let wd = take(if self.descriptors {
            dm * DESCRIPTORS
        } else {
            0
        });
        let pos = take(if self.identity { n * dm } else { 0 });
        let (wq, wk, wv) = if self.attention {
            (take(dm * dk), take(dm * dk), take(dm * dk))
        } else {
            (0, 0, 0)
        };
        let flat = self.flat_input();
        let (layers, sizes, conv, total) = if matches!(self.body, Body::Mlp | Body::Tokenwise) {
            let sizes = if self.body == Body::Mlp {
                vec![flat, self.hidden, self.hidden, self.hidden, self.hidden, n]
            } else {
                // Per token: its output, ratio, tau and log scale -> its g_j.
                let h = self.hidden;
                vec![self.token_out() + 3, h, h, h, h, 1]
            };
            let layers = sizes.windows(2).map(|w| take(w[0] * w[1] + w[1])).collect();
            (layers, sizes, Vec::new(), off)
        } else {
            // Per slot: the token output, the ratio h/h0, tau and the log scale.
            let conv = conv::plan(self.body, n, self.token_out() + 3, off);
            let layers = conv.iter().map(|l| l.off).collect();
            let total = off + conv.iter().map(ConvLayer::size).sum::<usize>();
            (layers, vec![flat, n], conv, total)
        };
        Layout {
            we,
            be,
            wd,
            pos,
            wq,
            wk,
            wv,
            layers,
            sizes,
            conv,
            total,
        }
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layout().total
    }

    /// This configuration with the body `kind(width)` whose width (1..=256) brings the total
    /// parameter count closest to `target` (how the CNN and U-Net baselines are matched to
    /// the perceptron's size).
    pub fn with_matched_body(&self, kind: fn(usize) -> Body, target: usize) -> Self {
        (1..=256)
            .map(|w| Self {
                body: kind(w),
                ..self.clone()
            })
            .min_by_key(|c| c.num_params().abs_diff(target))
            .expect("non-empty range")
    }

    /// Deterministic Glorot-uniform initialisation (SplitMix64 stream from `seed`); biases 0,
    /// the last layer scaled by 0.1 so the initial vector field is small.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let l = self.layout();
        let mut p = vec![0.0; l.total];
        let mut state = seed ^ 0x243F_6A88_85A3_08D3;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            2.0 * (((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64) - 1.0
        };
        let mut fill = |p: &mut [f64], fan_in: usize, fan_out: usize, scale: f64| {
            let b = scale * (6.0 / (fan_in + fan_out) as f64).sqrt();
            p.iter_mut().for_each(|x| *x = b * next());
        };
        let (n, dm, dk) = (self.ions, self.d_model, self.d_k);
        fill(
            &mut p[l.we..l.we + dm * TOKEN_FEATURES],
            TOKEN_FEATURES,
            dm,
            1.0,
        );
        if self.descriptors {
            fill(&mut p[l.wd..l.wd + dm * DESCRIPTORS], DESCRIPTORS, dm, 1.0);
        }
        if self.identity {
            fill(&mut p[l.pos..l.pos + n * dm], dm, dm, 1.0);
        }
        if self.attention {
            for o in [l.wq, l.wk, l.wv] {
                fill(&mut p[o..o + dm * dk], dm, dk, 1.0);
            }
        }
        let last = l.layers.len() - 1;
        if l.conv.is_empty() {
            for (k, (&o, w)) in l.layers.iter().zip(l.sizes.windows(2)).enumerate() {
                let scale = if k == last { 0.1 } else { 1.0 };
                fill(&mut p[o..o + w[0] * w[1]], w[0], w[1], scale);
            }
        } else {
            for (k, c) in l.conv.iter().enumerate() {
                let scale = if k == last { 0.1 } else { 1.0 };
                let w = c.cout * conv::KERNEL * c.cin;
                fill(
                    &mut p[c.off..c.off + w],
                    conv::KERNEL * c.cin,
                    conv::KERNEL * c.cout,
                    scale,
                );
            }
        }
        p
    }
}

/// Per-trajectory conditioning: the normalised feed, its mask and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditioning {
    /// Feed in normalised units (c_f / S).
    pub h0: Vec<f64>,
    /// Presence mask.
    pub mask: Vec<bool>,
    /// ln(h0_j) / 5 for present ions (0 for absent ones): the feed's token feature, kept
    /// here because a logarithm per token and evaluation cost ~5 % of training.
    pub log_h0: Vec<f64>,
    /// ln(S / 1 mol m^-3) / 10, S the total feed concentration.
    pub log_scale: f64,
    /// Valences.
    pub z: Vec<f64>,
    /// The DSPM-DE curve of this feed when the model is a hybrid (None otherwise).
    pub backbone: Option<std::sync::Arc<crate::model::hybrid::BackboneCurve>>,
    /// Descriptors of the ions (ions x [`DESCRIPTORS`]; empty unless the network uses them).
    pub desc: Vec<f64>,
}
