//! The vector field of one trajectory: the network's raw output made a rate (masked, scaled
//! by the feed, a hybrid's backbone added) and projected onto electroneutrality, and its VJP.

use super::{Constraint, IonModel};
use crate::error::Result;
use crate::network::{Conditioning, Workspace};
use charge_constraint::Projector;

/// The vector field of one trajectory: the shared network with this feed's conditioning.
pub struct TrajectoryField<'a> {
    pub(crate) model: &'a IonModel,
    pub(crate) cond: &'a Conditioning,
    projector: Option<Projector<f64>>,
    record_len: usize,
    /// A hybrid's learned correction fades beyond this normalised flux (the largest training
    /// flux; infinite for other models and before training): see [`correction_weight`].
    fade_from: f64,
    /// Parameters below this index are frozen (no gradient).
    pub first_trainable: usize,
}

/// Width of the fade, as a fraction of the largest training flux: the correction keeps e^-1
/// of its weight at 1.5x that flux and 2 % at 2x.
pub const FADE_WIDTH: f64 = 0.5;

/// The weight of a hybrid's learned correction at normalised flux `tau` when the largest
/// training flux is `fade_from`: 1 up to it, then exp(-x^2) with x = (tau - fade_from) /
/// ([`FADE_WIDTH`] fade_from), smooth at the join. Beyond the training fluxes the correction
/// has learned nothing, and left alone it carried the rejection to -0.58 at 4x and -772 at
/// 60x the largest training flux; the DSPM-DE backbone is valid there, so the hybrid hands
/// over to it.
pub fn correction_weight(tau: f64, fade_from: f64) -> f64 {
    if tau <= fade_from {
        1.0
    } else {
        let x = (tau - fade_from) / (FADE_WIDTH * fade_from);
        (-x * x).exp()
    }
}

impl<'a> TrajectoryField<'a> {
    /// The field for `cond`.
    pub fn new(model: &'a IonModel, cond: &'a Conditioning) -> Result<Self> {
        let projector = match model.config.constraint {
            Constraint::Hard | Constraint::HardPositive => {
                Some(Projector::new(&cond.z, &cond.mask)?)
            }
            Constraint::Soft { .. } => None,
        };
        Ok(Self {
            model,
            cond,
            projector,
            record_len: Workspace::new(&model.config.network, 1).record_len(),
            fade_from: match (&cond.backbone, &model.config.domain) {
                (Some(_), Some(d)) => d.flux_max / model.config.flux_scale,
                _ => f64::INFINITY,
            },
            first_trainable: 0,
        })
    }

    /// Length of one state's record for the discrete adjoint.
    pub(crate) fn record_len_rows(&self) -> usize {
        self.record_len
    }
}

impl TrajectoryField<'_> {
    /// Whether the rate is the positivity-preserving P_h(h ⊙ g) rather than P(h0 ⊙ g).
    fn positive(&self) -> bool {
        self.model.config.constraint == Constraint::HardPositive
    }

    /// The backbone's a(tau) = d ln h_D / d tau into `out` (zeros without a backbone).
    fn backbone_rate(&self, tau: f64, out: &mut [f64]) {
        match &self.cond.backbone {
            Some(c) => c.rate(tau, out),
            None => out.fill(0.0),
        }
    }

    /// The rate dh/dtau from the network's raw output g: masked, scaled and projected.
    pub(crate) fn rate(&self, tau: f64, h: &[f64], raw: &[f64], dh: &mut [f64]) {
        if self.positive() {
            // dh = P_h(h ⊙ (a + w g)), a = d ln h_D / d tau of a hybrid's backbone (else 0),
            // w the correction's weight (1 within the training fluxes).
            let mut a = [0.0f64; 32];
            self.backbone_rate(tau, &mut a[..dh.len()]);
            let w = correction_weight(tau, self.fade_from);
            for j in 0..dh.len() {
                dh[j] = if self.cond.mask[j] {
                    h[j] * (a[j] + w * raw[j])
                } else {
                    0.0
                };
            }
            if let Some(pr) = &self.projector {
                pr.project_weighted(h, dh)
                    .expect("dimensions checked at construction");
            }
            return;
        }
        raw_to_rate(self.cond, raw, dh);
        if let Some(pr) = &self.projector {
            pr.project(dh).expect("dimensions checked at construction");
        }
    }

    /// The VJP of [`TrajectoryField::rate`]: from the rate's cotangent `a` to the raw
    /// output's (`graw`) and to the rate's direct dependence on h (`hbar`; zero unless
    /// positivity-preserving). Both overwritten.
    pub(crate) fn rate_vjp(
        &self,
        tau: f64,
        h: &[f64],
        raw: &[f64],
        a: &[f64],
        graw: &mut [f64],
        hbar: &mut [f64],
    ) {
        let n = graw.len();
        graw.copy_from_slice(a);
        hbar.fill(0.0);
        if self.positive() {
            // dh = P_h(v), v = m ⊙ h ⊙ (a + w g): cotangents of v (then g) and of h
            // directly; the backbone's a(tau) depends on neither h nor the parameters.
            let mut g = [0.0f64; 32];
            self.backbone_rate(tau, &mut g[..n]);
            let w = correction_weight(tau, self.fade_from);
            for (gj, r) in g.iter_mut().zip(raw) {
                *gj += w * r;
            }
            let mut v = [0.0f64; 32];
            for j in 0..n {
                v[j] = if self.cond.mask[j] { h[j] * g[j] } else { 0.0 };
            }
            if let Some(pr) = &self.projector {
                pr.vjp_weighted(h, &v[..n], graw, hbar)
                    .expect("dimensions checked at construction");
            }
            for j in 0..n {
                if self.cond.mask[j] {
                    hbar[j] += graw[j] * g[j];
                    graw[j] *= w * h[j];
                } else {
                    graw[j] = 0.0;
                }
            }
        } else {
            if let Some(pr) = &self.projector {
                pr.vjp(graw).expect("dimensions checked at construction");
            }
            // dh_j = m_j h0_j g_j.
            for j in 0..n {
                graw[j] = if self.cond.mask[j] {
                    graw[j] * self.cond.h0[j]
                } else {
                    0.0
                };
            }
        }
    }
}

pub(crate) fn raw_to_rate(c: &Conditioning, raw: &[f64], dh: &mut [f64]) {
    for j in 0..dh.len() {
        dh[j] = if c.mask[j] { c.h0[j] * raw[j] } else { 0.0 };
    }
}
