//! What a fit's data determine: each fitted parameter classified from its bounds, its
//! standard error and its correlations with the others (the identifiability report of
//! `iontransport fit`, [`crate::FitResult::identifiability`] and
//! [`crate::membrane_file::FitRecord::identifiability`]).

/// What the data say about one fitted parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Identification {
    /// Inside its bounds, its standard error within its tolerance, correlated with no other
    /// parameter beyond ±[`CORRELATED`].
    Determined,
    /// Ended at a bound of its interval: the data push it beyond what is allowed, and its
    /// standard error describes only the curvature there.
    AtBound,
    /// No finite standard error: J^T J is singular, the residuals do not move with it.
    Undetermined,
    /// Correlated beyond ±[`CORRELATED`] with another parameter: the data fix a combination
    /// of the two, not each.
    Correlated {
        /// The other parameter.
        with: String,
        /// Their correlation.
        correlation: f64,
    },
    /// Its standard error is beyond its tolerance ([`tolerance`]).
    Weak,
}

impl std::fmt::Display for Identification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Determined => write!(f, "determined"),
            Self::AtBound => write!(f, "AT A BOUND: the data do not determine it"),
            Self::Undetermined => write!(f, "UNDETERMINED: no residual moves with it"),
            Self::Correlated { with, correlation } => write!(
                f,
                "correlated with {with} ({correlation:.3}): the data fix a combination of the two"
            ),
            Self::Weak => write!(f, "weakly determined (standard error beyond its tolerance)"),
        }
    }
}

/// Correlation beyond which two parameters count as one combination.
pub const CORRELATED: f64 = 0.99;

/// The standard error beyond which the fitted parameter `name` of value `value` counts as
/// weakly determined, in its unit: half its value for the positive scales (r_p, Δx/A_k,
/// ε_p), half of max(|X|, 10 mol/m³) for a charge (and a multivalent charge's shifts), 0.25 for the isotherm exponent, 0.5 kT for
/// a partition energy, 0.25 kT per unit for a descriptor weight.
pub fn tolerance(name: &str, value: f64) -> f64 {
    match name {
        "charge" | "charge_cations" | "charge_anions" => 0.5 * value.abs().max(10.0),
        "charge_exponent" => 0.25,
        n if n.starts_with(crate::parameters::PARTITION_ENERGY) => 0.5,
        // A weight moves energies by w d with d of order one (hydration 1.2-7.4): 0.25 kT per
        // unit keeps the energies of monovalent ions within about the 0.5 kT above.
        n if n.starts_with(crate::parameters::ENERGY_WEIGHT) => 0.25,
        _ => 0.5 * value.abs(),
    }
}

/// Classifies every fitted parameter (all slices in the same order; `correlation` p × p).
/// Precedence: at a bound, then undetermined, correlated, weak, determined.
///
/// ```
/// use np_transport::identify::{Identification, identification};
/// let names = ["pore_radius".to_string(), "charge".to_string()];
/// let c = vec![vec![1.0, 0.2], vec![0.2, 1.0]];
/// let id = identification(&names, &[0.5e-9, -30.0], &[0.01e-9, 40.0], &[false, false], &c);
/// assert_eq!(id, [Identification::Determined, Identification::Weak]);
/// ```
pub fn identification(
    names: &[String],
    values: &[f64],
    standard_errors: &[f64],
    at_bound: &[bool],
    correlation: &[Vec<f64>],
) -> Vec<Identification> {
    (0..names.len())
        .map(|i| {
            let se = standard_errors.get(i).copied().unwrap_or(f64::NAN);
            if at_bound.get(i).copied().unwrap_or(false) {
                return Identification::AtBound;
            }
            if !se.is_finite() {
                return Identification::Undetermined;
            }
            let strongest = (0..names.len())
                .filter(|&j| j != i)
                .filter_map(|j| correlation.get(i)?.get(j).map(|c| (j, *c)))
                .filter(|(_, c)| c.is_finite())
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
            if let Some((j, c)) = strongest
                && c.abs() > CORRELATED
            {
                return Identification::Correlated {
                    with: names[j].clone(),
                    correlation: c,
                };
            }
            if se > tolerance(&names[i], values[i]) {
                return Identification::Weak;
            }
            Identification::Determined
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_and_its_precedence() {
        let names: Vec<String> = "pore_radius effective_thickness charge charge_exponent"
            .split(' ')
            .map(String::from)
            .collect();
        let values = [0.5e-9, 2e-6, -30.0, 0.4];
        let mut c = vec![vec![0.0; 4]; 4];
        for (i, row) in c.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        c[2][3] = -0.995;
        c[3][2] = -0.995;
        // r_p at a bound (whatever its error), Δx/A_k without an error, X and b a combination.
        let se = [1e-12, f64::NAN, 1.0, 0.01];
        let at_bound = [true, false, false, false];
        let id = identification(&names, &values, &se, &at_bound, &c);
        assert_eq!(id[0], Identification::AtBound);
        assert_eq!(id[1], Identification::Undetermined);
        assert_eq!(
            id[2],
            Identification::Correlated {
                with: "charge_exponent".into(),
                correlation: -0.995
            }
        );
        // Uncorrelated, the tolerances decide: X's is 15 mol/m³, b's 0.25.
        c[2][3] = 0.5;
        c[3][2] = 0.5;
        let id = identification(&names, &values, &[1e-11, 1e-7, 16.0, 0.2], &[false; 4], &c);
        assert_eq!(id[2], Identification::Weak);
        assert_eq!(id[3], Identification::Determined);
        assert_eq!(tolerance("partition_energy:NO3-", -1.0), 0.5);
        assert_eq!(tolerance("energy_weight:hydration", 0.01), 0.25);
        assert_eq!(tolerance("charge", -4.0), 5.0);
    }
}
