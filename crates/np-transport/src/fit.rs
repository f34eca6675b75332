//! Fitting membrane parameters to measured rejections by nonlinear least squares.

use crate::error::{Result, TransportError};
use crate::model::{ChargeModel, Conditions, Membrane};
use crate::solver::Dspmde;
use ion_species::Composition;
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Owned};

/// One measured operating point: a feed, a water flux (m/s) and the observed rejections of
/// some of its ions (by canonical ion name).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectionMeasurement {
    /// Feed composition (electroneutral).
    pub feed: Composition,
    /// Water flux J_v, m/s.
    pub flux: f64,
    /// (ion name, observed rejection 1 - c_p / c_f).
    pub rejections: Vec<(String, f64)>,
}

/// Which parameters to fit and where to start.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Starting membrane; its charge must be [`ChargeModel::Constant`]. Parameters not fitted
    /// keep their values.
    pub initial: Membrane,
    /// Conditions of the measurements.
    pub conditions: Conditions,
    /// Also fit the pore dielectric constant.
    pub fit_dielectric: bool,
    /// Maximum residual evaluations of the optimiser (each solves every measurement).
    pub max_evaluations: usize,
}

/// Fitted parameters with standard errors from the Jacobian at the optimum
/// (sigma^2 (J^T J)^-1, sigma^2 = SSR / (m - p)).
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// The fitted membrane.
    pub membrane: Membrane,
    /// Standard error of the pore radius, m.
    pub se_pore_radius: f64,
    /// Standard error of Delta x / A_k, m.
    pub se_effective_thickness: f64,
    /// Standard error of X_d, mol/m^3.
    pub se_charge: f64,
    /// Standard error of epsilon_p, when fitted.
    pub se_pore_dielectric: Option<f64>,
    /// Root-mean-square rejection residual.
    pub rmse: f64,
    /// Residuals (model - measured), in measurement order.
    pub residuals: Vec<f64>,
    /// Number of residual evaluations.
    pub evaluations: usize,
}

/// The least-squares problem in transformed parameters
/// (ln r_p, ln dx, X / 100, [ln eps_p]) so that positivity holds and scales are comparable.
struct Problem<'a> {
    data: &'a [RejectionMeasurement],
    opts: &'a FitOptions,
    theta: DVector<f64>,
    residuals: Option<DVector<f64>>,
    evaluations: usize,
}

impl Problem<'_> {
    fn membrane(&self, theta: &DVector<f64>) -> Membrane {
        let mut m = self.opts.initial.clone();
        m.pore_radius = theta[0].exp();
        m.effective_thickness = theta[1].exp();
        m.charge = ChargeModel::Constant(100.0 * theta[2]);
        if self.opts.fit_dielectric {
            m.pore_dielectric = theta[3].exp();
        }
        m
    }

    fn eval(&mut self, theta: &DVector<f64>) -> Option<DVector<f64>> {
        self.evaluations += 1;
        residuals(self.data, &self.membrane(theta), &self.opts.conditions)
            .ok()
            .map(DVector::from_vec)
    }
}

/// Residuals model - measured for every (measurement, ion), in order.
pub fn residuals(
    data: &[RejectionMeasurement],
    membrane: &Membrane,
    conditions: &Conditions,
) -> Result<Vec<f64>> {
    let model = Dspmde::new(membrane.clone(), conditions.clone())?;
    let mut out = Vec::new();
    for m in data {
        let p = model.solve(&m.feed, m.flux)?;
        for (ion, r) in &m.rejections {
            let idx = p.ions.iter().position(|n| n == ion).ok_or_else(|| {
                TransportError::Fit(format!(
                    "measured ion {ion} is not in the feed of that measurement"
                ))
            })?;
            out.push(p.rejection[idx] - r);
        }
    }
    Ok(out)
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.theta = x.clone();
        let theta = self.theta.clone();
        self.residuals = self.eval(&theta);
    }

    fn params(&self) -> DVector<f64> {
        self.theta.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        self.residuals.clone()
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let r0 = self.residuals.clone()?;
        let mut jac = DMatrix::zeros(r0.len(), self.theta.len());
        let mut probe = Problem {
            data: self.data,
            opts: self.opts,
            theta: self.theta.clone(),
            residuals: None,
            evaluations: 0,
        };
        for j in 0..self.theta.len() {
            // Central differences: the solver is converged to 1e-9, so this is accurate to ~1e-6.
            let h = 1e-4;
            let mut tp = self.theta.clone();
            tp[j] += h;
            let mut tm = self.theta.clone();
            tm[j] -= h;
            let rp = probe.eval(&tp)?;
            let rm = probe.eval(&tm)?;
            jac.set_column(j, &((rp - rm) / (2.0 * h)));
        }
        Some(jac)
    }
}

/// Fits r_p, Delta x / A_k, X_d (and optionally epsilon_p) to measured rejections.
pub fn fit(data: &[RejectionMeasurement], opts: &FitOptions) -> Result<FitResult> {
    let ChargeModel::Constant(x0) = opts.initial.charge else {
        return Err(TransportError::Fit(
            "fitting needs a constant-charge starting membrane".into(),
        ));
    };
    opts.initial.validate()?;
    let n_obs: usize = data.iter().map(|m| m.rejections.len()).sum();
    let n_par = if opts.fit_dielectric { 4 } else { 3 };
    if n_obs <= n_par {
        return Err(TransportError::Fit(format!(
            "{n_obs} observations cannot determine {n_par} parameters"
        )));
    }
    let mut theta0 = vec![
        opts.initial.pore_radius.ln(),
        opts.initial.effective_thickness.ln(),
        x0 / 100.0,
    ];
    if opts.fit_dielectric {
        theta0.push(opts.initial.pore_dielectric.ln());
    }
    let mut problem = Problem {
        data,
        opts,
        theta: DVector::from_vec(theta0.clone()),
        residuals: None,
        evaluations: 0,
    };
    problem.set_params(&DVector::from_vec(theta0));
    if problem.residuals.is_none() {
        return Err(TransportError::Fit(
            "the model cannot be solved at the starting parameters".into(),
        ));
    }
    let (problem, report) = LevenbergMarquardt::new()
        .with_patience(opts.max_evaluations.max(10) / (n_par + 1))
        .minimize(problem);
    let r = problem.residuals.clone().ok_or_else(|| {
        TransportError::Fit(format!(
            "no solution at the final parameters ({:?})",
            report.termination
        ))
    })?;
    if !report.termination.was_successful() {
        return Err(TransportError::Fit(format!(
            "optimiser stopped: {:?}",
            report.termination
        )));
    }
    let jac = problem
        .jacobian()
        .ok_or_else(|| TransportError::Fit("Jacobian failed at the optimum".into()))?;
    let ssr = r.norm_squared();
    let dof = (n_obs - n_par) as f64;
    let cov = (jac.transpose() * &jac).try_inverse().ok_or_else(|| {
        TransportError::Fit("parameters are not identifiable (singular J^T J)".into())
    })? * (ssr / dof);
    let se = |i: usize| cov[(i, i)].max(0.0).sqrt();
    let membrane = problem.membrane(&problem.theta);
    Ok(FitResult {
        se_pore_radius: membrane.pore_radius * se(0),
        se_effective_thickness: membrane.effective_thickness * se(1),
        se_charge: 100.0 * se(2),
        se_pore_dielectric: opts
            .fit_dielectric
            .then(|| membrane.pore_dielectric * se(3)),
        membrane,
        rmse: (ssr / n_obs as f64).sqrt(),
        residuals: r.iter().copied().collect(),
        evaluations: problem.evaluations,
    })
}
