//! The DSPM-DE operating-point solver: permeate concentrations for a feed and a water flux.

use crate::constants::{GAS_CONSTANT, WATER_VISCOSITY};
use crate::error::{Result, TransportError};
use crate::hindrance::Hindrance;
use crate::model::{Activity, BornRadius, Conditions, Membrane, Polarisation, PoreScheme};
use crate::partition::{ActivityForm, born_factor, donnan_form, donnan_log_jacobian};
use crate::transport::{Direction, Layer};
use crate::units::MAX_FLUX;
use ion_species::{Composition, DEFAULT_NEUTRALITY_TOL};
use nalgebra::{DMatrix, DVector};

/// The Donnan-Steric Pore Model with Dielectric Exclusion for one membrane under given
/// conditions.
///
/// ```
/// use ion_species::{Composition, IonRegistry};
/// use np_transport::{Conditions, Dspmde, Membrane};
/// let reg = IonRegistry::canonical();
/// let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
/// let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
/// let point = model.solve(&feed, 1e-5).unwrap(); // J_v = 1e-5 m/s = 36 L m^-2 h^-1
/// assert!(point.rejection[1] > 0.9); // sulfate is well rejected by a negative membrane
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dspmde {
    /// The membrane.
    pub membrane: Membrane,
    /// Operating conditions and numerical choices.
    pub conditions: Conditions,
}

/// The solution at one operating point. Vectors follow the order of the feed's ions.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatingPoint {
    /// Water flux J_v, m/s.
    pub flux: f64,
    /// Ion names.
    pub ions: Vec<String>,
    /// Valences.
    pub charges: Vec<f64>,
    /// Bulk feed concentrations, mol/m^3.
    pub feed: Vec<f64>,
    /// Concentrations at the membrane surface (after polarisation), mol/m^3.
    pub membrane_surface: Vec<f64>,
    /// Permeate concentrations, mol/m^3.
    pub permeate: Vec<f64>,
    /// Observed rejections R = 1 - c_p / c_feed.
    pub rejection: Vec<f64>,
    /// Membrane charge density used, mol/m^3.
    pub charge_density: f64,
    /// Dimensionless Donnan potentials F dPhi / RT at the feed and permeate faces
    /// (single pore radius only; NaN with a pore-size distribution).
    pub donnan_potential: (f64, f64),
    /// Dimensionless potential along the pore, (x in m from the feed face, psi - psi(0)),
    /// when requested.
    pub potential_profile: Vec<(f64, f64)>,
    /// Osmotic pressure difference RT sum (c_m - c_p), Pa (van 't Hoff).
    pub osmotic_pressure: f64,
    /// Newton iterations used.
    pub iterations: usize,
    /// Final residual (max relative mismatch at the pore entrance).
    pub residual: f64,
}

impl OperatingPoint {
    /// sum z_i c_p,i of the permeate, eq/m^3 (zero to round-off).
    pub fn permeate_charge(&self) -> f64 {
        self.charges
            .iter()
            .zip(&self.permeate)
            .map(|(z, c)| z * c)
            .sum()
    }
}

/// A feed prepared for repeated solves: present ions, their coefficients and pore classes.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub names: Vec<String>,
    pub z: Vec<f64>,
    pub cf: Vec<f64>,
    pub x: f64,
    pub film: Option<Layer>,
    pub classes: Vec<PoreClass>,
    pub activity: crate::partition::ActivityForm,
    pub scheme: PoreScheme,
    pub tol: f64,
    pub max_iter: usize,
    pub temperature: f64,
    /// Newton Jacobians from the integrations' sensitivities (else forward differences).
    pub sensitivities: bool,
}

/// One pore radius of the (possibly distributed) membrane.
#[derive(Debug, Clone)]
pub(crate) struct PoreClass {
    /// Share of the permeate flow.
    pub flow_share: f64,
    /// J_v in these pores / membrane J_v.
    pub flux_factor: f64,
    /// Steric x Born partition factor per ion.
    pub k: Vec<f64>,
    pub layer: Layer,
}

impl Dspmde {
    /// This membrane at temperature `t` (K): the conditions' water permittivity and viscosity
    /// at `t` ([`Conditions::at_temperature`]). Feeds need their ions at `t` too
    /// ([`ion_species::Composition::at_temperature`]).
    pub fn at_temperature(&self, t: f64) -> Result<Self> {
        Self::new(self.membrane.clone(), self.conditions.at_temperature(t)?)
    }

    /// A model for `membrane` under `conditions`; both are validated.
    pub fn new(membrane: Membrane, conditions: Conditions) -> Result<Self> {
        membrane.validate()?;
        conditions.validate()?;
        Ok(Self {
            membrane,
            conditions,
        })
    }

    pub(crate) fn prepare(&self, feed: &Composition) -> Result<Prepared> {
        // The fields are public, so a struct literal can skip `new`'s checks: check at every
        // solve (an `Elements(0)` scheme or a zero-node pore distribution used to give R = 0
        // or R = 1 as success).
        self.membrane.validate()?;
        self.conditions.validate()?;
        let present = present_ions(feed)?;
        let names: Vec<String> = present.iter().map(|(i, _)| i.name.clone()).collect();
        let z: Vec<f64> = present.iter().map(|(i, _)| i.z()).collect();
        let cf: Vec<f64> = present.iter().map(|(_, c)| *c).collect();
        let t = self.conditions.temperature;
        let x = self.membrane.charge.charge_of(feed);
        let film = film_layer(&self.conditions, &present);
        let radii_weights = pore_classes(&self.membrane);
        let mut classes = Vec::with_capacity(radii_weights.len());
        let sum_w_r4: f64 = radii_weights.iter().map(|(r, w)| w * r.powi(4)).sum();
        let sum_w_r2: f64 = radii_weights.iter().map(|(r, w)| w * r.powi(2)).sum();
        // Per ion, the pore-independent part of the partition coefficient: Born and extra
        // energy (Partitioning); the steric factor is per pore class.
        let energetic: Vec<f64> = present
            .iter()
            .map(|(ion, _)| {
                let partitioning = &self.membrane.partitioning;
                let born_radius = match partitioning.born_radius {
                    BornRadius::Stokes => ion.stokes_radius,
                    BornRadius::Hydration => {
                        ion.born_radius()
                            .ok_or_else(|| TransportError::MissingIonProperty {
                                ion: ion.name.clone(),
                                property: "hydration free energy",
                                needed_by: "the hydration Born radius (BornRadius::Hydration)",
                            })?
                    }
                };
                Ok(born_factor(
                    ion.z(),
                    born_radius,
                    self.membrane.pore_dielectric,
                    self.conditions.bulk_dielectric,
                    t,
                ) * (-partitioning.energy_of(ion)?).exp())
            })
            .collect::<Result<_>>()?;
        for (r, w) in radii_weights {
            let mut kd_d = Vec::with_capacity(z.len());
            let mut kc = Vec::with_capacity(z.len());
            let mut k = Vec::with_capacity(z.len());
            for ((ion, _), e) in present.iter().zip(&energetic) {
                let h = Hindrance::new(&ion.name, ion.stokes_radius, r)?;
                kd_d.push(h.kd * ion.diffusivity);
                kc.push(h.kc);
                k.push(h.phi * e);
            }
            // Number fraction w of pores of radius r: area share w r^2, flow share w r^4, and
            // the flux per unit pore area scales with r^2.
            classes.push(PoreClass {
                flow_share: w * r.powi(4) / sum_w_r4,
                flux_factor: r * r * sum_w_r2 / sum_w_r4,
                k,
                layer: Layer {
                    z: z.clone(),
                    kd_d,
                    kc,
                    thickness: self.membrane.effective_thickness,
                },
            });
        }
        Ok(Prepared {
            names,
            z,
            cf,
            x,
            film,
            classes,
            activity: match self.conditions.activity {
                Activity::Ideal => ActivityForm::Ideal,
                Activity::Davies => ActivityForm::Textbook,
                Activity::DaviesMolal => ActivityForm::Molal {
                    a: crate::watertap::WaterTapVersion::V1_8
                        .davies_a(self.conditions.bulk_dielectric, t),
                    molar_masses: present.iter().map(|(i, _)| i.molar_mass).collect(),
                },
            },
            scheme: self.conditions.scheme,
            tol: self.conditions.tolerance,
            max_iter: self.conditions.max_iterations,
            temperature: t,
            sensitivities: self.conditions.newton_sensitivities(),
        })
    }

    /// Solves one operating point at water flux `jv` (m/s, >= 0). At J_v = 0 the permeate
    /// equals the feed (R = 0, the limit of the equations). If Newton's method does not
    /// converge from the feed composition, the solve continues from lower fluxes.
    pub fn solve(&self, feed: &Composition, jv: f64) -> Result<OperatingPoint> {
        check_flux(jv)?;
        self.prepare(feed)?.solve(jv)
    }

    /// Rejection curve R_j(J_v) on the given fluxes (m/s, non-decreasing from >= 0) by
    /// continuation: each point starts from the previous one; a step that fails is halved.
    pub fn sweep(&self, feed: &Composition, fluxes: &[f64]) -> Result<Vec<OperatingPoint>> {
        check_fluxes(fluxes)?;
        self.prepare(feed)?.sweep(fluxes, 0)
    }

    /// As [`Dspmde::solve`], with the potential profile along the pore on `points` points.
    pub fn solve_with_profile(
        &self,
        feed: &Composition,
        jv: f64,
        points: usize,
    ) -> Result<OperatingPoint> {
        check_flux(jv)?;
        let prep = self.prepare(feed)?;
        let guess = self.solve(feed, jv)?.permeate;
        prep.point(jv, &guess, points.max(2))
    }

    /// Solves for the water flux given the applied pressure difference `dp` (Pa), with
    /// Hagen-Poiseuille J_v = (dP - d pi) r_p^2 / (8 mu Delta x / A_k) and van 't Hoff
    /// d pi = RT sum (c_m - c_p) (Bowen & Welfoot 2002, eq. 14).
    ///
    /// The pressure must be in [0, [`crate::units::MAX_PRESSURE`]] (200 bar), and the flux it
    /// gives at most [`MAX_FLUX`] (the flux [`Dspmde::solve`] accepts): a wide-pore membrane
    /// at high pressure is refused rather than answered with a flux no solve would accept.
    pub fn solve_at_pressure(&self, feed: &Composition, dp: f64) -> Result<OperatingPoint> {
        if !(dp.is_finite() && (0.0..=crate::units::MAX_PRESSURE).contains(&dp)) {
            return Err(TransportError::InvalidParameter {
                name: "pressure",
                value: dp,
                reason: "must be finite, >= 0 and at most 2e7 Pa (200 bar, beyond any nanofiltration or reverse-osmosis operation)",
            });
        }
        let perm = self.membrane.pore_radius.powi(2)
            / (8.0 * WATER_VISCOSITY * self.membrane.effective_thickness);
        let prep = self.prepare(feed)?;
        let f = |p: &OperatingPoint| p.flux - (dp - p.osmotic_pressure) * perm;
        let mut hi = dp * perm;
        if hi > MAX_FLUX {
            let top = self.solve(feed, MAX_FLUX)?;
            if f(&top) < 0.0 {
                return Err(TransportError::InvalidParameter {
                    name: "pressure",
                    value: dp,
                    reason: "drives a water flux above MAX_FLUX = 1e-3 m/s through this membrane (its Hagen-Poiseuille permeability is that of a far wider pore than nanofiltration's)",
                });
            }
            hi = MAX_FLUX;
        }
        let mut lo = 0.0;
        let mut guess = prep.cf.clone();
        let mut best = prep.point(0.0, &guess, 2)?;
        if dp == 0.0 {
            return Ok(best);
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            let p = match prep.point(mid, &guess, 2) {
                Ok(p) => p,
                Err(_) => self.solve(feed, mid)?,
            };
            guess = p.permeate.clone();
            if f(&p) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
            best = p;
            if hi - lo <= 1e-10 * hi {
                break;
            }
        }
        Ok(best)
    }
}

pub(crate) fn check_flux(jv: f64) -> Result<()> {
    if jv.is_finite() && (0.0..=MAX_FLUX).contains(&jv) {
        Ok(())
    } else {
        Err(TransportError::InvalidFlux(jv))
    }
}

/// Checks a sweep's fluxes: each valid ([`check_flux`]) and none below the one before.
pub(crate) fn check_fluxes(fluxes: &[f64]) -> Result<()> {
    for w in fluxes.windows(2) {
        if w[1] < w[0] {
            return Err(TransportError::InvalidParameter {
                name: "fluxes",
                value: w[1],
                reason: "must be non-decreasing",
            });
        }
    }
    fluxes.iter().try_for_each(|&j| check_flux(j))
}

/// The feed's ions with a positive concentration, after the checks every transport model
/// needs: at least one ion, electroneutral, no concentration beyond an aqueous feed's.
pub(crate) fn present_ions(feed: &Composition) -> Result<Vec<(&ion_species::Ion, f64)>> {
    let present: Vec<_> = feed.iter().filter(|(_, c)| *c > 0.0).collect();
    if present.is_empty() {
        return Err(TransportError::InvalidFeed("the feed holds no ion".into()));
    }
    feed.check_electroneutral(DEFAULT_NEUTRALITY_TOL)
        .map_err(|e| TransportError::InvalidFeed(e.to_string()))?;
    if let Some((ion, c)) = present
        .iter()
        .find(|(_, c)| *c > crate::units::MAX_CONCENTRATION)
    {
        return Err(TransportError::InvalidFeed(format!(
            "{} at {c:e} mol/m^3 is above {} mol/m^3 (10 mol/L), beyond any aqueous feed: check the unit",
            ion.name,
            crate::units::MAX_CONCENTRATION
        )));
    }
    Ok(present)
}

/// The feed-side polarisation film of `conditions` for these ions (free solution: K_d = K_c
/// = 1, the ions' own diffusivities), or None without one.
pub(crate) fn film_layer(
    conditions: &Conditions,
    present: &[(&ion_species::Ion, f64)],
) -> Option<Layer> {
    match conditions.polarisation {
        Polarisation::Off => None,
        Polarisation::Film { thickness } => Some(Layer {
            z: present.iter().map(|(i, _)| i.z()).collect(),
            kd_d: present.iter().map(|(i, _)| i.diffusivity).collect(),
            kc: vec![1.0; present.len()],
            thickness,
        }),
    }
}

/// Radii and number fractions of the pore classes (Gauss-Hermite on ln r).
fn pore_classes(m: &Membrane) -> Vec<(f64, f64)> {
    match m.pore_size_distribution {
        None => vec![(m.pore_radius, 1.0)],
        Some(psd) if psd.sigma == 0.0 || psd.nodes == 1 => vec![(m.pore_radius, 1.0)],
        Some(psd) => {
            let (x, w) = gauss_hermite(psd.nodes);
            x.iter()
                .zip(&w)
                .map(|(xi, wi)| {
                    (
                        m.pore_radius * (std::f64::consts::SQRT_2 * psd.sigma * xi).exp(),
                        wi / std::f64::consts::PI.sqrt(),
                    )
                })
                .collect()
        }
    }
}

/// Nodes and weights of n-point Gauss-Hermite quadrature (weight exp(-x^2)), by Newton on
/// the Hermite recurrence (Press et al., Numerical Recipes, 3rd ed., Sec. 4.6).
pub(crate) fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let pim4 = std::f64::consts::PI.powf(-0.25);
    let m = n.div_ceil(2);
    let mut z = 0.0;
    for i in 0..m {
        z = match i {
            0 => (2.0 * n as f64 + 1.0).sqrt() - 1.85575 * (2.0 * n as f64 + 1.0).powf(-1.0 / 6.0),
            1 => z - 1.14 * (n as f64).powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut pp = 0.0;
        for _ in 0..100 {
            let mut p1 = pim4;
            let mut p2 = 0.0;
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = z * (2.0 / (j as f64 + 1.0)).sqrt() * p2
                    - (j as f64 / (j as f64 + 1.0)).sqrt() * p3;
            }
            pp = (2.0 * n as f64).sqrt() * p2;
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() < 1e-15 {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

impl Prepared {
    /// One operating point started from the feed; if Newton's method does not converge from
    /// there, the solve continues from lower fluxes.
    pub(crate) fn solve(&self, jv: f64) -> Result<OperatingPoint> {
        match self.point(jv, &self.cf, 2) {
            Ok(p) => Ok(p),
            Err(_) if jv > 0.0 => {
                let fluxes: Vec<f64> = (0..=16).map(|k| jv * 2f64.powi(k - 16)).collect();
                let pts = self.sweep(&fluxes, 2)?;
                Ok(pts.into_iter().last().expect("non-empty sweep"))
            }
            Err(e) => Err(e),
        }
    }

    /// Permeate for one pore class given the membrane-surface concentrations, as a residual
    /// for Newton in u = ln c_p: ln(c_pore(0) / c_donnan(0)) per ion, then the permeate's
    /// relative charge. With `jac` (only with sensitivities, [`Prepared::sensitivities`]),
    /// also its (n+1) × n Jacobian.
    fn residual(
        &self,
        pc: &PoreClass,
        jv: f64,
        cm: Option<&[f64]>,
        u: &[f64],
        out: &mut [f64],
        jac: Option<&mut DMatrix<f64>>,
    ) -> Result<()> {
        let n = self.z.len();
        let cp: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        let want = jac.is_some();
        // The membrane surface and, with a film, d c_m / d u (n × n, row-major).
        let (cm_owned, dcm);
        let cm = match (cm, &self.film) {
            (Some(c), _) => {
                dcm = None;
                c
            }
            (None, Some(film)) if want => {
                let zero = vec![0.0; n * n];
                let (c, d) = match self.scheme {
                    PoreScheme::Ode => film.integrate_with_sensitivity(
                        jv,
                        &cp,
                        &self.cf,
                        &zero,
                        Direction::Downstream,
                    )?,
                    PoreScheme::Elements(e) => {
                        let mut d = zero;
                        let down = Direction::Downstream;
                        let c = film.march(jv, &cp, 0.0, &self.cf, down, e, Some(&mut d))?;
                        (c.0, d)
                    }
                };
                (cm_owned, dcm) = (c, Some(d));
                &cm_owned
            }
            (None, Some(film)) => {
                (cm_owned, dcm) = (self.film_surface(film, jv, &cp)?, None);
                &cm_owned
            }
            (None, None) => {
                dcm = None;
                &self.cf
            }
        };
        let mut c_exit = vec![0.0; n];
        donnan_form(&self.z, &pc.k, &cp, self.x, &self.activity, &mut c_exit)?;
        let jp = jv * pc.flux_factor;
        let (c0, dc0) = match self.scheme {
            _ if want => {
                // d c_exit / d u_j = d c_exit / d ln c_p,j.
                let dc_exit = self.donnan_log_derivative(&cp, &c_exit)?;
                let up = Direction::Upstream;
                let (c, d) = match self.scheme {
                    PoreScheme::Ode => pc
                        .layer
                        .integrate_with_sensitivity(jp, &cp, &c_exit, &dc_exit, up)?,
                    PoreScheme::Elements(e) => {
                        let mut d = dc_exit;
                        let c = pc
                            .layer
                            .march(jp, &cp, self.x, &c_exit, up, e, Some(&mut d))?;
                        (c.0, d)
                    }
                };
                (c, Some(d))
            }
            PoreScheme::Ode => {
                let c = pc
                    .layer
                    .integrate(jp, &cp, &c_exit, Direction::Upstream, 0)?;
                (c.0, None)
            }
            PoreScheme::Elements(e) => {
                let c = pc
                    .layer
                    .march(jp, &cp, self.x, &c_exit, Direction::Upstream, e, None)?;
                (c.0, None)
            }
        };
        let mut c_entry = vec![0.0; n];
        donnan_form(&self.z, &pc.k, cm, self.x, &self.activity, &mut c_entry)?;
        // d c_entry / d u = (d c_entry / d ln c_m) diag(1 / c_m) (d c_m / d u), with a film.
        let dc_entry = match &dcm {
            Some(dcm) => {
                let d = self.donnan_log_derivative(cm, &c_entry)?;
                let mut out = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..n {
                        out[i * n + j] =
                            (0..n).map(|k| d[i * n + k] * dcm[k * n + j] / cm[k]).sum();
                    }
                }
                Some(out)
            }
            None => None,
        };
        for i in 0..n {
            if !(c0[i] > 0.0 && c0[i].is_finite()) {
                return Err(TransportError::NotConverged {
                    flux: jv,
                    iterations: 0,
                    residual: f64::NAN,
                    reason: format!("non-positive pore concentration of {}", self.names[i]),
                });
            }
            out[i] = (c0[i] / c_entry[i]).ln();
        }
        let (s, a) = self
            .z
            .iter()
            .zip(&cp)
            .fold((0.0, 0.0), |(s, a), (z, c)| (s + z * c, a + z.abs() * c));
        out[n] = if a > 0.0 { s / a } else { 0.0 };
        if let (Some(jac), Some(dc0)) = (jac, &dc0) {
            for i in 0..n {
                for j in 0..n {
                    let entry = dc_entry.as_ref().map_or(0.0, |d| d[i * n + j] / c_entry[i]);
                    jac[(i, j)] = dc0[i * n + j] / c0[i] - entry;
                }
            }
            // d(s/a)/d u_j = c_p,j (z_j a - |z_j| s) / a^2.
            for j in 0..n {
                jac[(n, j)] = if a > 0.0 {
                    cp[j] * (self.z[j] * a - self.z[j].abs() * s) / (a * a)
                } else {
                    0.0
                };
            }
        }
        Ok(())
    }

    /// The Newton residual of a single-pore-radius membrane at u = ln c_p (and its Jacobian
    /// with `jac`), the membrane surface from the feed (and film): what the implicit
    /// sensitivities differentiate.
    pub(crate) fn residual_at(
        &self,
        jv: f64,
        u: &[f64],
        out: &mut [f64],
        jac: Option<&mut DMatrix<f64>>,
    ) -> Result<()> {
        self.residual(&self.classes[0], jv, None, u, out, jac)
    }

    /// d c_pore,i / d ln c_j (n × n, row-major) of the Donnan partitioning of bulk
    /// concentrations `c` (whose pore concentrations are `c_pore`) into this pore class
    /// ([`crate::partition::donnan_log_jacobian`]).
    fn donnan_log_derivative(&self, c: &[f64], c_pore: &[f64]) -> Result<Vec<f64>> {
        let mut d = vec![0.0; c.len() * c.len()];
        donnan_log_jacobian(&self.z, c, c_pore, &self.activity.law(), &mut d, None)?;
        Ok(d)
    }

    /// The Newton Jacobian by forward differences of the residual `f` at `u` (step 1e-7).
    fn jacobian_by_differences(
        &self,
        pc: &PoreClass,
        jv: f64,
        cm: Option<&[f64]>,
        u: &[f64],
        f: &[f64],
        jac: &mut DMatrix<f64>,
    ) -> Result<()> {
        const H: f64 = 1e-7;
        let n = u.len();
        let mut ft = vec![0.0; n + 1];
        let mut up = u.to_vec();
        for j in 0..n {
            up[j] = u[j] + H;
            self.residual(pc, jv, cm, &up, &mut ft, None)?;
            up[j] = u[j];
            for i in 0..=n {
                jac[(i, j)] = (ft[i] - f[i]) / H;
            }
        }
        Ok(())
    }

    fn film_surface(&self, film: &Layer, jv: f64, cp: &[f64]) -> Result<Vec<f64>> {
        Ok(match self.scheme {
            PoreScheme::Ode => {
                film.integrate(jv, cp, &self.cf, Direction::Downstream, 0)?
                    .0
            }
            PoreScheme::Elements(e) => {
                film.march(jv, cp, 0.0, &self.cf, Direction::Downstream, e, None)?
                    .0
            }
        })
    }

    /// Damped Gauss-Newton (Levenberg-Marquardt) on ln c_p for one pore class.
    fn newton(
        &self,
        pc: &PoreClass,
        jv: f64,
        cm: Option<&[f64]>,
        guess: &[f64],
    ) -> Result<(Vec<f64>, usize, f64)> {
        let n = self.z.len();
        let mut u: Vec<f64> = guess.iter().map(|c| c.max(1e-300).ln()).collect();
        let mut f = vec![0.0; n + 1];
        let mut jac = DMatrix::<f64>::zeros(n + 1, n);
        self.residual(pc, jv, cm, &u, &mut f, None)?;
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let inf = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let mut lambda = 1e-10;
        let mut ft = vec![0.0; n + 1];
        for it in 0..self.max_iter {
            if inf(&f) < self.tol {
                return Ok((u.iter().map(|v| v.exp()).collect(), it, inf(&f)));
            }
            // Only where the iteration goes on: the converged point needs no Jacobian. The
            // sensitivity run repeats the residual (the same steps, the same values).
            if self.sensitivities {
                self.residual(pc, jv, cm, &u, &mut f, Some(&mut jac))?;
            } else {
                self.jacobian_by_differences(pc, jv, cm, &u, &f, &mut jac)?;
            }
            let jt = jac.transpose();
            let jtj = &jt * &jac;
            let g = &jt * DVector::from_column_slice(&f);
            let f_norm = norm(&f);
            let mut accepted = false;
            for _ in 0..30 {
                let mut a = jtj.clone();
                for d in 0..n {
                    a[(d, d)] += lambda * (1.0 + jtj[(d, d)]);
                }
                let Some(step) = a.lu().solve(&(-&g)) else {
                    lambda *= 10.0;
                    continue;
                };
                // Limit a step to a factor e^2 change in any concentration.
                let big = step.amax();
                let scale = if big > 2.0 { 2.0 / big } else { 1.0 };
                let trial: Vec<f64> = u
                    .iter()
                    .zip(step.iter())
                    .map(|(a, b)| a + scale * b)
                    .collect();
                let ok = self.residual(pc, jv, cm, &trial, &mut ft, None).is_ok();
                if ok && norm(&ft) < f_norm {
                    u = trial;
                    std::mem::swap(&mut f, &mut ft);
                    lambda = (lambda * 0.1).max(1e-12);
                    accepted = true;
                    break;
                }
                lambda *= 10.0;
            }
            if !accepted {
                return Err(TransportError::NotConverged {
                    flux: jv,
                    iterations: it,
                    residual: inf(&f),
                    reason: "no step reduces the residual".into(),
                });
            }
        }
        if inf(&f) < self.tol {
            return Ok((u.iter().map(|v| v.exp()).collect(), self.max_iter, inf(&f)));
        }
        Err(TransportError::NotConverged {
            flux: jv,
            iterations: self.max_iter,
            residual: inf(&f),
            reason: "iteration limit".into(),
        })
    }

    /// One operating point from a guess of the permeate.
    pub(crate) fn point(
        &self,
        jv: f64,
        guess: &[f64],
        profile_points: usize,
    ) -> Result<OperatingPoint> {
        let n = self.z.len();
        let rt = GAS_CONSTANT * self.temperature;
        if jv == 0.0 {
            return Ok(self.assemble(
                jv,
                self.cf.clone(),
                self.cf.clone(),
                (f64::NAN, f64::NAN),
                vec![],
                0,
                0.0,
                rt,
            ));
        }
        if self.classes.len() == 1 {
            let pc = &self.classes[0];
            let (cp, iters, res) = self.newton(pc, jv, None, guess)?;
            let cm = match &self.film {
                Some(film) => self.film_surface(film, jv, &cp)?,
                None => self.cf.clone(),
            };
            let mut c_exit = vec![0.0; n];
            let mut c_entry = vec![0.0; n];
            let psi_exit = donnan_form(&self.z, &pc.k, &cp, self.x, &self.activity, &mut c_exit)?;
            let psi_entry = donnan_form(&self.z, &pc.k, &cm, self.x, &self.activity, &mut c_entry)?;
            let profile = if profile_points > 2 && self.scheme == PoreScheme::Ode {
                // Integrate from the feed face with the converged permeate for the profile.
                pc.layer
                    .integrate(jv, &cp, &c_entry, Direction::Downstream, profile_points)?
                    .2
            } else {
                vec![]
            };
            return Ok(self.assemble(jv, cm, cp, (psi_entry, psi_exit), profile, iters, res, rt));
        }
        // Pore-size distribution: each class is solved against the membrane-surface
        // concentrations; with polarisation these depend on the mixed permeate, so iterate.
        let mut mixed = guess.to_vec();
        let mut guesses: Vec<Vec<f64>> = vec![guess.to_vec(); self.classes.len()];
        let mut total_iters = 0;
        for _ in 0..200 {
            let cm = match &self.film {
                Some(film) => self.film_surface(film, jv, &mixed)?,
                None => self.cf.clone(),
            };
            let mut next = vec![0.0; n];
            let mut worst: f64 = 0.0;
            for (k, pc) in self.classes.iter().enumerate() {
                let (cp, it, res) = self.newton(pc, jv * 1.0, Some(&cm), &guesses[k])?;
                total_iters += it;
                worst = worst.max(res);
                for i in 0..n {
                    next[i] += pc.flow_share * cp[i];
                }
                guesses[k] = cp;
            }
            let change = next
                .iter()
                .zip(&mixed)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / a.max(1e-300)));
            mixed = next;
            if self.film.is_none() || change < self.tol {
                return Ok(self.assemble(
                    jv,
                    cm,
                    mixed,
                    (f64::NAN, f64::NAN),
                    vec![],
                    total_iters,
                    worst,
                    rt,
                ));
            }
        }
        Err(TransportError::NotConverged {
            flux: jv,
            iterations: 200,
            residual: f64::NAN,
            reason: "polarisation / pore-size-distribution coupling".into(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        jv: f64,
        cm: Vec<f64>,
        cp: Vec<f64>,
        donnan_potential: (f64, f64),
        potential_profile: Vec<(f64, f64)>,
        iterations: usize,
        residual: f64,
        rt: f64,
    ) -> OperatingPoint {
        let rejection = cp.iter().zip(&self.cf).map(|(p, f)| 1.0 - p / f).collect();
        let osmotic_pressure = rt * cm.iter().zip(&cp).map(|(m, p)| m - p).sum::<f64>();
        OperatingPoint {
            flux: jv,
            ions: self.names.clone(),
            charges: self.z.clone(),
            feed: self.cf.clone(),
            membrane_surface: cm,
            permeate: cp,
            rejection,
            charge_density: self.x,
            donnan_potential,
            potential_profile,
            osmotic_pressure,
            iterations,
            residual,
        }
    }

    /// Continuation over fluxes; a failed step is bisected up to `depth` 12 times.
    pub(crate) fn sweep(&self, fluxes: &[f64], _profile: usize) -> Result<Vec<OperatingPoint>> {
        let mut out = Vec::with_capacity(fluxes.len());
        let mut prev_flux = 0.0;
        let mut guess = self.cf.clone();
        for &j in fluxes {
            let p = self.continue_to(prev_flux, j, &guess, 0)?;
            guess = p.permeate.clone();
            prev_flux = j;
            out.push(p);
        }
        Ok(out)
    }

    fn continue_to(
        &self,
        from: f64,
        to: f64,
        guess: &[f64],
        depth: usize,
    ) -> Result<OperatingPoint> {
        match self.point(to, guess, 2) {
            Ok(p) => Ok(p),
            Err(e) if depth >= 12 || to == 0.0 => Err(e),
            Err(_) => {
                let mid = 0.5 * (from + to);
                let pm = self.continue_to(from, mid, guess, depth + 1)?;
                self.continue_to(mid, to, &pm.permeate.clone(), depth + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewtonJacobian;
    use ion_species::IonRegistry;

    /// The pore schemes and activity forms the Jacobian is tested with: the ODE with textbook
    /// Davies, WaterTAP's one element with its molal Davies, four ideal elements.
    const SCHEMES: [(PoreScheme, Activity); 3] = [
        (PoreScheme::Ode, Activity::Davies),
        (PoreScheme::Elements(1), Activity::DaviesMolal),
        (PoreScheme::Elements(4), Activity::Ideal),
    ];

    /// A five-ion feed through the NF270-like membrane with a film: every term of the
    /// Jacobian (film, both Donnan faces, pore, charge row) is exercised.
    fn prepared(
        jacobian: NewtonJacobian,
        (scheme, activity): (PoreScheme, Activity),
    ) -> (Prepared, Vec<f64>) {
        let reg = IonRegistry::canonical();
        let feed = Composition::from_mmol_per_l(
            &reg,
            &[
                ("Na+", 30.0),
                ("Mg2+", 10.0),
                ("Cl-", 30.0),
                ("SO4 2-", 5.0),
                ("NO3-", 10.0),
            ],
        )
        .unwrap();
        let conditions = Conditions {
            polarisation: Polarisation::Film { thickness: 20e-6 },
            activity,
            scheme,
            jacobian,
            ..Conditions::default()
        };
        let model = Dspmde::new(Membrane::nf270_like(), conditions).unwrap();
        let prep = model.prepare(&feed).unwrap();
        // A point off the solution (the residual's derivatives do not depend on being at it).
        let u: Vec<f64> = prep
            .cf
            .iter()
            .enumerate()
            .map(|(i, c)| (c * (0.3 + 0.1 * i as f64)).ln())
            .collect();
        (prep, u)
    }

    #[test]
    fn sensitivity_jacobian_equals_central_differences_of_the_residual() {
        for scheme in SCHEMES {
            jacobian_against_differences(scheme);
        }
    }

    fn jacobian_against_differences(scheme: (PoreScheme, Activity)) {
        let (prep, u) = prepared(NewtonJacobian::Sensitivity, scheme);
        let n = u.len();
        let pc = &prep.classes[0];
        let jv = 1.5e-5;
        let mut f = vec![0.0; n + 1];
        let mut jac = DMatrix::zeros(n + 1, n);
        prep.residual(pc, jv, None, &u, &mut f, Some(&mut jac))
            .unwrap();
        // The residual from the sensitivity run is the plain run's (same steps).
        let mut plain = vec![0.0; n + 1];
        prep.residual(pc, jv, None, &u, &mut plain, None).unwrap();
        for (a, b) in f.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-13, "{a} vs {b}");
        }
        // Central differences of the plain residual, step 1e-5 (error ~1e-10 + 1e-11/1e-5).
        let h = 1e-5;
        let (mut fp, mut fm) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        let mut worst: f64 = 0.0;
        for j in 0..n {
            let mut up = u.clone();
            up[j] += h;
            prep.residual(pc, jv, None, &up, &mut fp, None).unwrap();
            up[j] -= 2.0 * h;
            prep.residual(pc, jv, None, &up, &mut fm, None).unwrap();
            for i in 0..=n {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                let err = (jac[(i, j)] - fd).abs() / (1.0 + fd.abs());
                worst = worst.max(err);
            }
        }
        eprintln!(
            "{scheme:?}: largest difference, sensitivity vs central differences: {worst:.1e}"
        );
        assert!(worst < 1e-6, "{scheme:?}: {worst:e}");
        // The Jacobian is not trivially small: the pore couples the ions.
        assert!(jac.amax() > 0.1, "{jac}");
    }

    #[test]
    fn both_jacobians_solve_to_the_same_permeate() {
        for (scheme, jv) in SCHEMES
            .into_iter()
            .flat_map(|s| [(s, 3e-6), (s, 1e-5), (s, 4e-5)])
        {
            let (sens, _) = prepared(NewtonJacobian::Sensitivity, scheme);
            let (fd, _) = prepared(NewtonJacobian::FiniteDifference, scheme);
            let a = sens.solve(jv).unwrap();
            let b = fd.solve(jv).unwrap();
            for (x, y) in a.permeate.iter().zip(&b.permeate) {
                assert!((x / y - 1.0).abs() < 1e-8, "{jv}: {x} vs {y}");
            }
            assert!(
                a.iterations <= b.iterations,
                "{} vs {}",
                a.iterations,
                b.iterations
            );
        }
    }
}
