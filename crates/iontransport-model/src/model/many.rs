//! Predictions for many feeds at once: the neural ODE's feeds solved in lock step, the
//! network evaluated on all of them as matrix products ([`crate::batched`]).

use crate::error::Result;
use crate::model::batched::{BatchTrajectoryField, ROWS_PER_CALL};
use crate::model::{Architecture, IonModel, Prediction, PreparedFeed, TrajectoryField};
use crate::network::Conditioning;

impl IonModel {
    /// Predictions for many feeds (mol/m^3, model ion order) at the same `fluxes` (m/s): the
    /// neural ODE solves them in lock step ([`neural_ode::solve_lockstep`], the network on
    /// many feeds at once as matrix products), in parallel chunks of
    /// [`crate::model::batched::ROWS_PER_CALL`]. One result per feed, in order; a bad feed fails
    /// alone.
    ///
    /// ```
    /// use ion_species::IonRegistry;
    /// use iontransport_model::{Constraint, IonModel, ModelConfig, NetworkConfig};
    /// let reg = IonRegistry::canonical();
    /// let cfg = ModelConfig::for_registry(&reg, NetworkConfig::default(), Constraint::Hard);
    /// let model = IonModel::new(cfg, 0).unwrap();
    /// // Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3- (mol/m^3); the second is not neutral.
    /// let feeds = vec![
    ///     vec![20.0, 0.0, 0.0, 5.0, 0.0, 30.0, 0.0, 0.0],
    ///     vec![20.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0],
    /// ];
    /// let out = model.predict_vectors(&feeds, &[5e-6, 1e-5]);
    /// let alone = model.predict_vector(&feeds[0], &[5e-6, 1e-5]).unwrap();
    /// let first = out[0].as_ref().unwrap();
    /// assert!((first.permeate[1][0] - alone.permeate[1][0]).abs() < 1e-9 * alone.permeate[1][0]);
    /// assert!(out[1].is_err());
    /// ```
    pub fn predict_vectors(&self, feeds: &[Vec<f64>], fluxes: &[f64]) -> Vec<Result<Prediction>> {
        use rayon::prelude::*;
        let queries: Vec<Result<(PreparedFeed, Vec<f64>)>> = feeds
            .iter()
            .map(|f| self.prepare_query(f, fluxes))
            .collect();
        let ok: Vec<usize> = (0..feeds.len()).filter(|&i| queries[i].is_ok()).collect();
        let mut states: Vec<Option<Result<Vec<f64>>>> = (0..feeds.len()).map(|_| None).collect();
        let solved: Vec<Vec<Result<Vec<f64>>>> = ok
            .par_chunks(ROWS_PER_CALL)
            .map(|chunk| {
                let items: Vec<(&Conditioning, &[f64])> = chunk
                    .iter()
                    .map(|&i| {
                        let (pf, taus) = queries[i].as_ref().expect("filtered");
                        (&pf.cond, taus.as_slice())
                    })
                    .collect();
                self.predict_normalised_many(&items)
            })
            .collect();
        for (i, st) in ok.iter().zip(solved.into_iter().flatten()) {
            states[*i] = Some(st);
        }
        queries
            .into_iter()
            .zip(states)
            .zip(feeds)
            .map(|((q, st), feed)| {
                let (pf, _) = q?;
                let st = st.expect("every prepared feed was solved")?;
                Ok(self.assemble(&pf, feed, fluxes, st))
            })
            .collect()
    }

    /// [`IonModel::predict_normalised`] for several (conditioning, normalised fluxes) pairs:
    /// one lock-step solve for the neural ODE, one evaluation per point for the direct
    /// baselines.
    pub fn predict_normalised_many(
        &self,
        items: &[(&Conditioning, &[f64])],
    ) -> Vec<Result<Vec<f64>>> {
        if self.config.architecture == Architecture::Direct || items.is_empty() {
            return items
                .iter()
                .map(|(c, taus)| self.predict_normalised(c, taus))
                .collect();
        }
        let fields: Result<Vec<TrajectoryField>> = items
            .iter()
            .map(|(c, _)| TrajectoryField::new(self, c))
            .collect();
        let Ok(fields) = fields else {
            // Some conditioning is unusable: let each item report its own error.
            return items
                .iter()
                .map(|(c, taus)| self.predict_normalised(c, taus))
                .collect();
        };
        let field = BatchTrajectoryField::new(fields);
        let problems: Vec<neural_ode::Problem> = items
            .iter()
            .map(|(c, taus)| neural_ode::Problem {
                t0: 0.0,
                y0: &c.h0,
                save_at: taus,
            })
            .collect();
        neural_ode::solve_lockstep(&field, &self.params, &problems, &self.solver_options(false))
            .into_iter()
            .map(|r| Ok(r?.y))
            .collect()
    }
}
