//! The direct baselines (h = h0 + tau P(m h0 g(h0, tau)), no ODE): every flux point is
//! independent, so points go through the network together as matrix products
//! ([`crate::network`]), for prediction and for training alike.

use crate::error::Result;
use crate::model::{Constraint, IonModel, raw_to_rate};
use crate::network::{Conditioning, Workspace, backward, forward};
use charge_constraint::{Projector, SoftPenalty};

/// Points of a direct baseline per network call: fixed, so that a result does not depend on
/// the thread count that runs the chunks.
pub(crate) const DIRECT_ROWS: usize = 64;

impl IonModel {
    /// The direct baseline's normalised predictions (row-major, one row per tau) for one
    /// prepared feed.
    pub(crate) fn direct_predict(&self, cond: &Conditioning, taus: &[f64]) -> Result<Vec<f64>> {
        let n = cond.h0.len();
        let mut ws = Workspace::new(&self.config.network, DIRECT_ROWS.min(taus.len()));
        let mut out = vec![0.0; taus.len() * n];
        for (chunk, h) in taus
            .chunks(DIRECT_ROWS)
            .zip(out.chunks_mut(DIRECT_ROWS * n))
        {
            let conds = vec![cond; chunk.len()];
            self.direct_rows(&conds, chunk, &mut ws, h)?;
        }
        Ok(out)
    }

    /// The direct baseline at many points: point r is feed `conds[r]` at normalised flux
    /// `taus[r]`; its normalised state goes to row r of `h` (rows x ions), the network's
    /// raw outputs stay in `ws` for [`IonModel::direct_rows_gradient`].
    fn direct_rows(
        &self,
        conds: &[&Conditioning],
        taus: &[f64],
        ws: &mut Workspace,
        h: &mut [f64],
    ) -> Result<()> {
        let n = self.config.ions.len();
        for (r, c) in conds.iter().enumerate() {
            h[r * n..(r + 1) * n].copy_from_slice(&c.h0);
        }
        forward(self.pass(conds), taus, h, ws);
        let mut dh = vec![0.0; n];
        for (r, c) in conds.iter().enumerate() {
            raw_to_rate(c, &ws.raw()[r * n..(r + 1) * n], &mut dh);
            match self.config.constraint {
                Constraint::Hard => Projector::new(&c.z, &c.mask)?.project(&mut dh)?,
                // The direct model has no state: the weights are the feed's.
                Constraint::HardPositive => {
                    Projector::new(&c.z, &c.mask)?.project_weighted(&c.h0, &mut dh)?
                }
                Constraint::Soft { .. } => {}
            }
            for j in 0..n {
                h[r * n + j] = c.h0[j] + taus[r] * dh[j];
            }
        }
        Ok(())
    }

    /// Loss of the direct baseline at many points (see [`IonModel::direct_rows`]) against
    /// `targets[r]` (one per ion, normalised concentrations) with each feed's soft penalty;
    /// with `pbar`, adds dL/dp into it (parameters below `first_trainable` frozen). Returns
    /// (summed loss, measured entries).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn direct_rows_gradient(
        &self,
        conds: &[&Conditioning],
        taus: &[f64],
        targets: &[&[Option<f64>]],
        penalties: &[Option<&SoftPenalty<f64>>],
        ws: &mut Workspace,
        pbar: Option<&mut [f64]>,
        first_trainable: usize,
    ) -> Result<(f64, usize)> {
        let n = self.config.ions.len();
        let rows = conds.len();
        let mut h = vec![0.0; rows * n];
        self.direct_rows(conds, taus, ws, &mut h)?;
        let mut graw = vec![0.0; rows * n];
        let (mut dl, mut v, mut unused) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut loss, mut count) = (0.0, 0);
        for (r, c) in conds.iter().enumerate() {
            let hr = &h[r * n..(r + 1) * n];
            for j in 0..n {
                dl[j] = match targets[r][j] {
                    Some(y) => {
                        let w = self.config.loss.weight(c.h0[j]);
                        let d = hr[j] - y;
                        loss += w * d * d;
                        count += 1;
                        2.0 * w * d
                    }
                    None => 0.0,
                };
            }
            if let Some(pen) = penalties[r] {
                loss += pen.accumulate_gradient(hr, 1.0, &mut dl)?;
            }
            if pbar.is_none() {
                continue;
            }
            match self.config.constraint {
                Constraint::Hard => Projector::new(&c.z, &c.mask)?.vjp(&mut dl)?,
                Constraint::HardPositive => {
                    raw_to_rate(c, &ws.raw()[r * n..(r + 1) * n], &mut v);
                    Projector::new(&c.z, &c.mask)?.vjp_weighted(&c.h0, &v, &mut dl, &mut unused)?
                }
                Constraint::Soft { .. } => {}
            }
            for j in 0..n {
                graw[r * n + j] = if c.mask[j] {
                    dl[j] * taus[r] * c.h0[j]
                } else {
                    0.0
                };
            }
        }
        if let Some(pbar) = pbar {
            let mut hbar = vec![0.0; rows * n];
            let pass = self.pass(conds);
            backward(pass, &graw, ws, pbar, &mut hbar, first_trainable);
        }
        Ok((loss, count))
    }
}
