//! The soft constraint: a quadratic penalty on the charge residual.

use crate::hard::check_len;
use crate::{ConstraintError, Real};

/// Penalty lambda * (z^T h)^2 / (z^T z) over present components.
///
/// **Normalisation.** Dividing by z^T z makes the penalty lambda times the squared distance
/// from h to the plane z^T h = 0 (the same quantity the hard projection removes), so it does
/// not depend on how z is scaled and is comparable with an MSE on h. With no charged species
/// present the penalty is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftPenalty<T: Real> {
    z_masked: Vec<T>,
    inv_norm2: T,
    lambda: T,
}

impl<T: Real> SoftPenalty<T> {
    /// A penalty of weight `lambda` (>= 0) for valences `z` and presence `mask`.
    pub fn new(z: &[T], mask: &[bool], lambda: T) -> Result<Self, ConstraintError> {
        let l = lambda.to_f64().unwrap_or(f64::NAN);
        if !(l.is_finite() && l >= 0.0) {
            return Err(ConstraintError::InvalidWeight(l));
        }
        let proj = crate::Projector::new(z, mask)?;
        let z_masked: Vec<T> = z
            .iter()
            .zip(proj.mask())
            .map(|(&v, &m)| if m { v } else { T::zero() })
            .collect();
        let n2 = z_masked.iter().fold(T::zero(), |a, &v| a + v * v);
        let inv_norm2 = if n2 > T::zero() {
            T::one() / n2
        } else {
            T::zero()
        };
        Ok(Self {
            z_masked,
            inv_norm2,
            lambda,
        })
    }

    /// The weight lambda.
    pub fn lambda(&self) -> T {
        self.lambda
    }

    fn residual(&self, h: &[T]) -> T {
        self.z_masked
            .iter()
            .zip(h)
            .fold(T::zero(), |a, (&z, &x)| a + z * x)
    }

    /// The penalty value at h.
    pub fn value(&self, h: &[T]) -> Result<T, ConstraintError> {
        check_len("h", self.z_masked.len(), h.len())?;
        let r = self.residual(h);
        Ok(self.lambda * r * r * self.inv_norm2)
    }

    /// Adds the gradient d penalty / dh, scaled by `scale`, into `grad` (so it can be
    /// accumulated onto a loss gradient). Returns the penalty value. Allocation-free.
    pub fn accumulate_gradient(
        &self,
        h: &[T],
        scale: T,
        grad: &mut [T],
    ) -> Result<T, ConstraintError> {
        check_len("h", self.z_masked.len(), h.len())?;
        check_len("grad", self.z_masked.len(), grad.len())?;
        let r = self.residual(h);
        let two = T::one() + T::one();
        let c = scale * two * self.lambda * r * self.inv_norm2;
        for (g, &z) in grad.iter_mut().zip(&self.z_masked) {
            *g = *g + c * z;
        }
        Ok(self.lambda * r * r * self.inv_norm2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn penalty_is_lambda_times_squared_distance_to_plane() {
        // z = (1, -1), h = (3, 1): distance^2 = (h1 - h2)^2 / 2 = 2.
        let s = SoftPenalty::new(&[1.0, -1.0], &[true, true], 0.5).unwrap();
        assert_abs_diff_eq!(s.value(&[3.0, 1.0]).unwrap(), 1.0, epsilon = 1e-15);
        // Scaling z does not change it.
        let s2 = SoftPenalty::new(&[2.0, -2.0], &[true, true], 0.5).unwrap();
        assert_abs_diff_eq!(s2.value(&[3.0, 1.0]).unwrap(), 1.0, epsilon = 1e-15);
    }

    #[test]
    fn invalid_weight_is_rejected() {
        assert!(SoftPenalty::new(&[1.0], &[true], -1.0).is_err());
        assert!(SoftPenalty::new(&[1.0], &[true], f64::NAN).is_err());
    }
}
