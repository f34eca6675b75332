//! The direct baselines' training gradient: every flux point of a batch is independent, so
//! the points go through the network together as matrix products ([`crate::batched`]).

use crate::batched::{BatchWorkspace, backward_rows, forward_rows};
use crate::error::Result;
use crate::model::{Constraint, IonModel, raw_to_rate};
use crate::network::Conditioning;
use charge_constraint::{Projector, SoftPenalty};

impl IonModel {
    /// Loss and gradient of the direct baseline at many points at once, the network as
    /// matrix products ([`crate::batched::forward_rows`]; needs
    /// [`crate::batched::batched_without_records`]). Point r is feed `conds[r]` at normalised flux
    /// `taus[r]` with `targets[r]` (one per ion, normalised concentrations) and the feed's
    /// soft penalty; adds dL/dp into `pbar` and returns (summed loss, measured entries).
    /// Equal to [`IonModel::direct_point`] and [`IonModel::direct_backward`] point by point,
    /// up to rounding.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn direct_rows_gradient(
        &self,
        conds: &[&Conditioning],
        taus: &[f64],
        targets: &[&[Option<f64>]],
        penalties: &[Option<&SoftPenalty<f64>>],
        ws: &mut BatchWorkspace,
        pbar: &mut [f64],
        first_trainable: usize,
    ) -> Result<(f64, usize)> {
        let n = self.config.ions.len();
        let rows = conds.len();
        let mut h = vec![0.0; rows * n];
        for (r, c) in conds.iter().enumerate() {
            h[r * n..(r + 1) * n].copy_from_slice(&c.h0);
        }
        let cfg = &self.config.network;
        forward_rows(cfg, self.layout(), &self.params, conds, taus, &h, ws);
        let mut graw = vec![0.0; rows * n];
        let (mut dh, mut dl, mut v, mut unused) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut loss, mut count) = (0.0, 0);
        for (r, c) in conds.iter().enumerate() {
            let (tau, raw) = (taus[r], &ws.raw()[r * n..(r + 1) * n]);
            raw_to_rate(c, raw, &mut dh);
            let projector = match self.config.constraint {
                Constraint::Soft { .. } => None,
                _ => Some(Projector::new(&c.z, &c.mask)?),
            };
            match (&projector, self.config.constraint) {
                (Some(pr), Constraint::Hard) => pr.project(&mut dh)?,
                // The direct model has no state: the weights are the feed's.
                (Some(pr), _) => pr.project_weighted(&c.h0, &mut dh)?,
                (None, _) => {}
            }
            for j in 0..n {
                h[r * n + j] = c.h0[j] + tau * dh[j];
            }
            let hr = &h[r * n..(r + 1) * n];
            for j in 0..n {
                dl[j] = match targets[r][j] {
                    Some(y) => {
                        let d = hr[j] - y;
                        loss += d * d;
                        count += 1;
                        2.0 * d
                    }
                    None => 0.0,
                };
            }
            if let Some(pen) = penalties[r] {
                loss += pen.accumulate_gradient(hr, 1.0, &mut dl)?;
            }
            match (&projector, self.config.constraint) {
                (Some(pr), Constraint::Hard) => pr.vjp(&mut dl)?,
                (Some(pr), _) => {
                    raw_to_rate(c, raw, &mut v);
                    pr.vjp_weighted(&c.h0, &v, &mut dl, &mut unused)?
                }
                (None, _) => {}
            }
            for j in 0..n {
                graw[r * n + j] = if c.mask[j] {
                    dl[j] * tau * c.h0[j]
                } else {
                    0.0
                };
            }
        }
        let mut hbar = vec![0.0; rows * n];
        backward_rows(
            cfg,
            self.layout(),
            &self.params,
            conds,
            &graw,
            ws,
            pbar,
            &mut hbar,
            first_trainable,
        );
        Ok((loss, count))
    }
}
