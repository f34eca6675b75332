//! The DSPM-DE backbone of the hybrid model: the fitted membrane's own permeate curve
//! h_D(tau) for a feed, as a C¹ interpolant of ln h_D whose slope a(tau) = d ln h_D / d tau
//! drives the hybrid vector field
//!
//!   dh_j/dtau = h_j (a_j(tau) + g_j - z_j s),  s = sum_k z_k h_k (a_k + g_k) / sum_k z_k² h_k,
//!
//! so that with g = 0 (the untrained correction) h follows the DSPM-DE curve, and a learned g
//! corrects it in relative (log) form: concentrations stay positive and the weighted
//! projection keeps sum_j z_j h_j = 0 exactly (docs/model.md, "The hybrid").
//!
//! An untrained hybrid is its DSPM-DE backbone (concentrations mol/m^3, fluxes m/s):
//!
//! ```
//! use ion_species::IonRegistry;
//! use iontransport_model::{Backbone, Constraint, IonModel, ModelConfig, NetworkConfig};
//! use np_transport::{Conditions, Dspmde, Membrane};
//!
//! let reg = IonRegistry::canonical();
//! let mut cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::HardPositive);
//! cfg.backbone = Some(
//!     Backbone::new(Membrane::nf270_like(), Conditions::default(), &reg, &cfg.ions, 2.0).unwrap(),
//! );
//! let hybrid = IonModel::new(cfg, 0).unwrap(); // the correction starts at zero
//! // Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3- (mol/m^3)
//! let feed = [20.0, 0.0, 0.0, 5.0, 0.0, 30.0, 0.0, 0.0];
//! let h = hybrid.predict_vector(&feed, &[1e-5]).unwrap();
//! let comp = ion_species::Composition::from_vector(&reg, &feed, false).unwrap();
//! let d = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
//! let p = d.solve(&comp, 1e-5).unwrap();
//! let mg = p.ions.iter().position(|n| n == "Mg^2+").unwrap();
//! assert!((h.permeate[0][3] / p.permeate[mg] - 1.0).abs() < 1e-4);
//! ```

use crate::error::{ModelError, Result};
use ion_species::{Composition, Ion, IonRegistry};
use np_transport::{Conditions, Dspmde, Membrane};
use serde::{Deserialize, Serialize};

/// What a hybrid model stores to rebuild its backbone for any feed: the DSPM-DE membrane and
/// conditions (or an SDEM in their place, [`Backbone::with_sdem`]), the ions' data, and the
/// interpolation grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backbone {
    /// The (fitted) DSPM-DE membrane.
    pub membrane: Membrane,
    /// Its operating conditions.
    pub conditions: Conditions,
    /// The model's ions with their physical data (model order), for the DSPM-DE solves.
    pub ions: Vec<Ion>,
    /// Grid nodes are uniform in sigma = ln(1 + tau / tau_c); this is tau_c (dimensionless,
    /// tau = J_v / J_scale). A small tau_c resolves the steep start of the curve, where the
    /// Peclet number grows from zero.
    pub tau_c: f64,
    /// Node spacing in sigma.
    pub step: f64,
    /// The curve is computed up to at least this tau (1.25x the largest training flux); a
    /// query beyond it extends the curve.
    pub tau_max: f64,
    /// The solution–diffusion–electromigration model as the backbone's physics instead of the
    /// DSPM-DE (`membrane` and `conditions` then play no part), or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdem: Option<np_transport::sdem::Sdem>,
}

impl Backbone {
    /// A backbone for `membrane` under `conditions`, the ions of `config_ions` (names, looked
    /// up in `registry`), covering tau up to `tau_max`, with the default grid (tau_c = 0.02,
    /// sigma step 0.05: 86 nodes up to tau = 1.8, zero-correction error ~1e-7 relative).
    pub fn new(
        membrane: Membrane,
        conditions: Conditions,
        registry: &IonRegistry,
        config_ions: &[String],
        tau_max: f64,
    ) -> Result<Self> {
        let ions = config_ions
            .iter()
            .map(|n| {
                registry
                    .get(n)
                    .cloned()
                    .ok_or_else(|| ModelError::UnknownIon(n.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let b = Self {
            membrane,
            conditions,
            ions,
            tau_c: 0.02,
            step: 0.05,
            tau_max,
            sdem: None,
        };
        b.validate()?;
        Ok(b)
    }

    /// This backbone with the SDEM `sdem` (fitted permeances, optionally a charge) as its
    /// physics instead of the DSPM-DE: its curve of a feed is the SDEM's. Every ion the model
    /// predicts for needs a permeance (a feed with an ion it lacks is an error).
    pub fn with_sdem(self, sdem: np_transport::sdem::Sdem) -> Result<Self> {
        let b = Self {
            sdem: Some(sdem),
            ..self
        };
        b.validate()?;
        Ok(b)
    }

    /// This backbone at temperature `t` (K): its conditions at `t`
    /// ([`Conditions::at_temperature`]) and its ions' diffusivities moved from the
    /// backbone's temperature to `t` by Stokes-Einstein, D ∝ T / mu(T) (as
    /// [`ion_species::Ion::at_temperature`] does from 25 °C). The membrane is unchanged.
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        use ion_species::water::viscosity;
        if self.sdem.is_some() && t != self.conditions.temperature {
            return Err(ModelError::InvalidInput(
                "an SDEM backbone has fitted permeances at one temperature and no model of \
                 how they change: predict at the temperature it was fitted at"
                    .into(),
            ));
        }
        let from = self.conditions.temperature;
        let factor = (t / from) * (viscosity(from)? / viscosity(t)?);
        let b = Self {
            conditions: self.conditions.at_temperature(t)?,
            ions: self
                .ions
                .iter()
                .map(|i| Ion {
                    diffusivity: i.diffusivity * factor,
                    ..i.clone()
                })
                .collect(),
            ..self.clone()
        };
        b.validate()?;
        Ok(b)
    }

    /// Checks the grid and the DSPM-DE parameters.
    pub fn validate(&self) -> Result<()> {
        let ok = |x: f64, lo: f64, hi: f64| x.is_finite() && x >= lo && x <= hi;
        if !ok(self.tau_c, 1e-6, 10.0) || !ok(self.step, 1e-4, 1.0) || !ok(self.tau_max, 0.0, 1e4) {
            return Err(ModelError::InvalidInput(format!(
                "backbone grid tau_c {}, step {}, tau_max {} out of range \
                 (1e-6..10, 1e-4..1, 0..1e4)",
                self.tau_c, self.step, self.tau_max
            )));
        }
        self.membrane.validate()?;
        self.conditions.validate()?;
        if let Some(sdem) = &self.sdem {
            sdem.validate()?;
        }
        for ion in &self.ions {
            ion.validate()
                .map_err(|e| ModelError::InvalidInput(format!("the backbone's ion data: {e}")))?;
        }
        Ok(())
    }

    /// The DSPM-DE curve of a feed `h0` (normalised, c/S, model order; zero for absent ions)
    /// with total `scale` (mol/m^3), from tau = 0 to at least `tau_max`; fluxes
    /// J_v = tau * `flux_scale` (m/s).
    pub fn curve(
        &self,
        h0: &[f64],
        scale: f64,
        flux_scale: f64,
        tau_max: f64,
    ) -> Result<BackboneCurve> {
        let n = h0.len();
        if self.ions.len() != n {
            return Err(ModelError::InvalidInput(format!(
                "backbone has {} ions, the feed {n}",
                self.ions.len()
            )));
        }
        let present: Vec<usize> = (0..n).filter(|&j| h0[j] > 0.0).collect();
        let feed = Composition::from_si(
            present
                .iter()
                .map(|&j| (self.ions[j].clone(), h0[j] * scale)),
        )?;
        let tau_end = tau_max.max(self.tau_max).max(1e-3);
        let sigma_end = (1.0 + tau_end / self.tau_c).ln();
        // At least five nodes: the end slopes use five-point stencils.
        let segments = ((sigma_end / self.step).ceil() as usize).max(4);
        let taus: Vec<f64> = (0..=segments)
            .map(|k| self.tau_c * ((k as f64 * self.step).exp() - 1.0))
            .collect();
        let fluxes: Vec<f64> = taus[1..].iter().map(|t| t * flux_scale).collect();
        let points = match &self.sdem {
            Some(sdem) => sdem.sweep(&feed, &fluxes).map_err(|e| {
                ModelError::InvalidInput(format!(
                    "the hybrid's SDEM backbone cannot be solved for this feed: {e}"
                ))
            })?,
            None => {
                let dspm = Dspmde::new(self.membrane.clone(), self.conditions.clone())?;
                dspm.sweep(&feed, &fluxes).map_err(|e| {
                    ModelError::InvalidInput(format!(
                        "the hybrid's DSPM-DE backbone (pore radius {:.3} nm, {}) cannot be \
                         solved for this feed: {e}",
                        self.membrane.pore_radius * 1e9,
                        self.membrane.charge
                    ))
                })?
            }
        };
        let mut log_h = vec![0.0; (segments + 1) * n];
        for &j in &present {
            log_h[j] = h0[j].ln();
        }
        for (k, p) in points.iter().enumerate() {
            for &j in &present {
                // The solver reports ions in the composition's order: match by name.
                let c = p
                    .ions
                    .iter()
                    .position(|name| *name == self.ions[j].name)
                    .map_or(f64::NAN, |i| p.permeate[i]);
                if !(c.is_finite() && c > 0.0) {
                    return Err(ModelError::InvalidInput(format!(
                        "the backbone gives permeate {c} mol/m3 for {} at {:.3e} m/s; \
                         the hybrid needs positive permeates",
                        self.ions[j].name, p.flux
                    )));
                }
                log_h[(k + 1) * n + j] = (c / scale).ln();
            }
        }
        Ok(BackboneCurve::from_nodes(
            self.tau_c, self.step, n, &present, log_h,
        ))
    }
}

/// One feed's backbone: ln h_D at nodes uniform in sigma = ln(1 + tau/tau_c), interpolated by
/// a clamped cubic spline (end slopes from fourth-order one-sided differences).
#[derive(Debug, Clone, PartialEq)]
pub struct BackboneCurve {
    tau_c: f64,
    step: f64,
    n: usize,
    present: Vec<bool>,
    /// ln h_D per node (row) and ion; 0 for absent ions.
    log_h: Vec<f64>,
    /// d ln h_D / d sigma per node and ion.
    slope: Vec<f64>,
}

impl BackboneCurve {
    fn from_nodes(tau_c: f64, step: f64, n: usize, present: &[usize], log_h: Vec<f64>) -> Self {
        let nodes = log_h.len() / n;
        let last = nodes - 1;
        let mut slope = vec![0.0; log_h.len()];
        let l = |k: usize, j: usize| log_h[k * n + j];
        for &j in present {
            for k in 0..nodes {
                // Five-point stencils (Fornberg 1988), one-sided at the ends.
                let d = if k == 0 {
                    -25.0 * l(0, j) + 48.0 * l(1, j) - 36.0 * l(2, j) + 16.0 * l(3, j)
                        - 3.0 * l(4, j)
                } else if k == 1 {
                    -3.0 * l(0, j) - 10.0 * l(1, j) + 18.0 * l(2, j) - 6.0 * l(3, j) + l(4, j)
                } else if k == last {
                    3.0 * l(k - 4, j) - 16.0 * l(k - 3, j) + 36.0 * l(k - 2, j) - 48.0 * l(k - 1, j)
                        + 25.0 * l(k, j)
                } else if k == last - 1 {
                    -l(k - 3, j) + 6.0 * l(k - 2, j) - 18.0 * l(k - 1, j)
                        + 10.0 * l(k, j)
                        + 3.0 * l(k + 1, j)
                } else {
                    l(k - 2, j) - 8.0 * l(k - 1, j) + 8.0 * l(k + 1, j) - l(k + 2, j)
                };
                slope[k * n + j] = d / (12.0 * step);
            }
            // Interior slopes of the clamped cubic spline (end slopes from the stencils):
            // d_{k-1} + 4 d_k + d_{k+1} = 3 (y_{k+1} - y_{k-1}) / h, solved by the Thomas
            // algorithm. The spline is C2, so a(tau) = its derivative is C1: the adaptive
            // solver meets a jump only in a'' at the nodes, not in a', and takes far fewer
            // steps than with the C1 Hermite slopes alone.
            if last >= 2 {
                let m = last - 1;
                let mut c = vec![0.0; m];
                let mut r = vec![0.0; m];
                for i in 0..m {
                    let k = i + 1;
                    let mut rhs = 3.0 * (l(k + 1, j) - l(k - 1, j)) / step;
                    if k == 1 {
                        rhs -= slope[j];
                    }
                    if k == last - 1 {
                        rhs -= slope[last * n + j];
                    }
                    let (prev_c, prev_r) = if i == 0 {
                        (0.0, 0.0)
                    } else {
                        (c[i - 1], r[i - 1])
                    };
                    let denom = 4.0 - prev_c;
                    c[i] = 1.0 / denom;
                    r[i] = (rhs - prev_r) / denom;
                }
                for i in (0..m).rev() {
                    let next = if i + 1 < m {
                        slope[(i + 2) * n + j]
                    } else {
                        0.0
                    };
                    slope[(i + 1) * n + j] = r[i] - c[i] * next;
                }
            }
        }
        let mut mask = vec![false; n];
        for &j in present {
            mask[j] = true;
        }
        Self {
            tau_c,
            step,
            n,
            present: mask,
            log_h,
            slope,
        }
    }

    /// The largest tau the nodes cover.
    pub fn tau_end(&self) -> f64 {
        let last = self.log_h.len() / self.n - 1;
        self.tau_c * ((last as f64 * self.step).exp() - 1.0)
    }

    /// Segment index and local coordinate t in [0, 1] of `tau` (clamped to the grid).
    fn locate(&self, tau: f64) -> (usize, f64, f64) {
        let last = self.log_h.len() / self.n - 1;
        let sigma = (1.0 + tau.max(0.0) / self.tau_c).ln();
        let x = (sigma / self.step).min(last as f64);
        let k = (x.floor() as usize).min(last - 1);
        (k, x - k as f64, sigma)
    }

    /// a_j(tau) = d ln h_D,j / d tau into `out` (0 for absent ions). Beyond the last node
    /// the end slope continues (ln h_D extrapolated linearly in sigma).
    pub fn rate(&self, tau: f64, out: &mut [f64]) {
        let n = self.n;
        let (k, t, sigma) = self.locate(tau);
        let beyond = sigma > (k + 1) as f64 * self.step;
        let dsigma_dtau = 1.0 / (self.tau_c + tau.max(0.0));
        let (t2, h) = (t * t, self.step);
        for (j, o) in out.iter_mut().enumerate().take(n) {
            let (l0, l1) = (self.log_h[k * n + j], self.log_h[(k + 1) * n + j]);
            let (d0, d1) = (self.slope[k * n + j], self.slope[(k + 1) * n + j]);
            let d_sigma = if beyond {
                d1
            } else {
                ((6.0 * t2 - 6.0 * t) * (l0 - l1)) / h
                    + (3.0 * t2 - 4.0 * t + 1.0) * d0
                    + (3.0 * t2 - 2.0 * t) * d1
            };
            *o = d_sigma * dsigma_dtau;
        }
    }

    /// h_D(tau) (normalised, c/S) from the interpolant into `out` (0 for absent ions).
    pub fn value(&self, tau: f64, out: &mut [f64]) {
        let n = self.n;
        let (k, t, sigma) = self.locate(tau);
        let h = self.step;
        for (j, o) in out.iter_mut().enumerate().take(n) {
            let (l0, l1) = (self.log_h[k * n + j], self.log_h[(k + 1) * n + j]);
            let (d0, d1) = (self.slope[k * n + j], self.slope[(k + 1) * n + j]);
            let end = (k + 1) as f64 * self.step;
            let ln = if sigma > end {
                l1 + d1 * (sigma - end)
            } else {
                let (t2, t3) = (t * t, t * t * t);
                (2.0 * t3 - 3.0 * t2 + 1.0) * l0
                    + (t3 - 2.0 * t2 + t) * h * d0
                    + (-2.0 * t3 + 3.0 * t2) * l1
                    + (t3 - t2) * h * d1
            };
            *o = if self.present[j] { ln.exp() } else { 0.0 };
        }
    }
}
