//! One interface for the transport models of this crate, so that code downstream (fits,
//! cross-validation, learned corrections) can take either.

use crate::error::Result;
use crate::sdem::Sdem;
use crate::solver::{Dspmde, OperatingPoint};
use ion_species::Composition;

/// A model that gives the permeate of a feed at a water flux: [`Dspmde`] and [`Sdem`].
/// Concentrations in mol/m^3, fluxes in m/s; the points follow the feed's ion order.
///
/// ```
/// use ion_species::{Composition, IonRegistry};
/// use np_transport::{Conditions, Dspmde, Membrane, TransportModel, sdem::Sdem};
/// fn sulfate_rejection(model: &dyn TransportModel, feed: &Composition) -> f64 {
///     model.solve(feed, 2e-5).unwrap().rejection[1]
/// }
/// let reg = IonRegistry::canonical();
/// let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
/// let dspmde = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
/// let sdem = Sdem::new(&reg, &[("Na+", 1e-6), ("SO4 2-", 5e-8)], Conditions::default()).unwrap();
/// assert!(sulfate_rejection(&dspmde, &feed) > 0.9 && sulfate_rejection(&sdem, &feed) > 0.9);
/// ```
pub trait TransportModel: Sync {
    /// One operating point at water flux `jv` (m/s).
    fn solve(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint>;
    /// The rejection curve on `fluxes` (m/s, non-decreasing from ≥ 0).
    fn sweep(&self, feed: &Composition, fluxes: &[f64]) -> Result<Vec<OperatingPoint>>;
}

impl TransportModel for Dspmde {
    fn solve(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint> {
        Dspmde::solve(self, feed, jv)
    }
    fn sweep(&self, feed: &Composition, fluxes: &[f64]) -> Result<Vec<OperatingPoint>> {
        Dspmde::sweep(self, feed, fluxes)
    }
}

impl TransportModel for Sdem {
    fn solve(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint> {
        Sdem::solve(self, feed, jv)
    }
    fn sweep(&self, feed: &Composition, fluxes: &[f64]) -> Result<Vec<OperatingPoint>> {
        Sdem::sweep(self, feed, fluxes)
    }
}
