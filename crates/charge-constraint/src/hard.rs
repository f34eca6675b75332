//! The hard constraint: masked orthogonal projection onto z^T h = 0.

use crate::{ConstraintError, Real};

/// Orthogonal projection onto {h : sum_{j present} z_j h_j = 0}, acting on the present
/// components only; masked (absent) components are returned unchanged.
///
/// If the present valences are all zero (no charged species present) the constraint is
/// empty and the projection is the identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Projector<T: Real> {
    /// Valences with masked entries set to zero, so dot products need no branch.
    z_masked: Vec<T>,
    mask: Vec<bool>,
    /// 1 / (z^T z) over present entries, or 0 when that norm is zero.
    inv_norm2: T,
}

impl<T: Real> Projector<T> {
    /// A projector for valences `z` and presence `mask` (true = present).
    pub fn new(z: &[T], mask: &[bool]) -> Result<Self, ConstraintError> {
        check_len("mask", z.len(), mask.len())?;
        if let Some(index) = z.iter().position(|v| !v.is_finite()) {
            return Err(ConstraintError::NonFiniteValence { index });
        }
        let z_masked: Vec<T> = z
            .iter()
            .zip(mask)
            .map(|(&v, &m)| if m { v } else { T::zero() })
            .collect();
        let norm2 = z_masked.iter().fold(T::zero(), |acc, &v| acc + v * v);
        let inv_norm2 = if norm2 > T::zero() {
            T::one() / norm2
        } else {
            T::zero()
        };
        Ok(Self {
            z_masked,
            mask: mask.to_vec(),
            inv_norm2,
        })
    }

    /// A projector with every component present.
    pub fn unmasked(z: &[T]) -> Result<Self, ConstraintError> {
        Self::new(z, &vec![true; z.len()])
    }

    /// The dimension n of the vectors it acts on.
    pub fn dim(&self) -> usize {
        self.z_masked.len()
    }

    /// The presence mask.
    pub fn mask(&self) -> &[bool] {
        &self.mask
    }

    /// The constraint residual sum_{j present} z_j h_j.
    pub fn residual(&self, h: &[T]) -> Result<T, ConstraintError> {
        check_len("h", self.dim(), h.len())?;
        Ok(self.dot(h))
    }

    fn dot(&self, h: &[T]) -> T {
        self.z_masked
            .iter()
            .zip(h)
            .fold(T::zero(), |acc, (&z, &x)| acc + z * x)
    }

    /// Replaces h by P h in place. Allocation-free.
    pub fn project(&self, h: &mut [T]) -> Result<(), ConstraintError> {
        check_len("h", self.dim(), h.len())?;
        self.project_unchecked(h);
        Ok(())
    }

    #[inline]
    fn project_unchecked(&self, h: &mut [T]) {
        let s = self.dot(h) * self.inv_norm2;
        // z_masked is zero on masked entries, so they are left exactly as they were.
        for (x, &z) in h.iter_mut().zip(&self.z_masked) {
            *x = *x - s * z;
        }
    }

    /// Writes P h into `out`. Allocation-free.
    pub fn project_into(&self, h: &[T], out: &mut [T]) -> Result<(), ConstraintError> {
        check_len("h", self.dim(), h.len())?;
        check_len("out", self.dim(), out.len())?;
        out.copy_from_slice(h);
        self.project_unchecked(out);
        Ok(())
    }

    /// Projects every row of a row-major batch (length a multiple of [`Projector::dim`]).
    pub fn project_batch(&self, batch: &mut [T]) -> Result<(), ConstraintError> {
        let n = self.dim();
        if n == 0 || !batch.len().is_multiple_of(n) {
            return Err(ConstraintError::BatchShape {
                len: batch.len(),
                dim: n,
            });
        }
        batch
            .chunks_exact_mut(n)
            .for_each(|row| self.project_unchecked(row));
        Ok(())
    }

    /// Vector-Jacobian product: replaces the cotangent `a` by a^T dP(h)/dh = P^T a = P a
    /// (P is linear and symmetric). This is what backpropagation through the projection needs.
    pub fn vjp(&self, a: &mut [T]) -> Result<(), ConstraintError> {
        self.project(a)
    }

    /// [`Projector::vjp`] for every row of a row-major batch of cotangents.
    pub fn vjp_batch(&self, batch: &mut [T]) -> Result<(), ConstraintError> {
        self.project_batch(batch)
    }

    /// Replaces `v` by its projection onto z^T v = 0 that is orthogonal in the metric
    /// diag(1 / |w|): v - (|w| ⊙ z) (z^T v) / (sum_j z_j^2 |w_j|), over present entries. The
    /// correction of entry j is proportional to |w_j|; with w = h (current concentrations) and
    /// v = h ⊙ g, every component of the result is h_j (g_j - z_j s), so an ODE
    /// dh/dt = P_h(h ⊙ g) keeps each h_j > 0 and sum z h constant. The result satisfies
    /// z^T v = 0 for any weights: |w| keeps the metric positive if a solver's trial state dips
    /// below zero, and when every present weight is zero the Euclidean projection is used.
    /// Allocation-free.
    ///
    /// ```
    /// use charge_constraint::Projector;
    /// // Na+, Mg2+ (absent), Cl- (a trace), SO4 2-.
    /// let p = Projector::<f64>::new(&[1.0, 2.0, -1.0, -2.0], &[true, false, true, true]).unwrap();
    /// let h = [10.0, 0.0, 1e-6, 5.0];
    /// let mut v = [-1.0, 0.0, -1e-6, -20.0];
    /// p.project_weighted(&h, &mut v).unwrap();
    /// assert!(p.residual(&v).unwrap().abs() < 1e-12);
    /// assert!(v[2].abs() < 1e-5); // the trace's rate vanishes with its concentration
    /// ```
    pub fn project_weighted(&self, w: &[T], v: &mut [T]) -> Result<(), ConstraintError> {
        check_len("w", self.dim(), w.len())?;
        check_len("v", self.dim(), v.len())?;
        let (d, s) = self.weighted_coefficients(w, v);
        if d > T::zero() {
            for ((x, &z), &wj) in v.iter_mut().zip(&self.z_masked).zip(w) {
                *x = *x - wj.abs() * z * s;
            }
        } else {
            self.project_unchecked(v);
        }
        Ok(())
    }

    /// (sum z^2 |w|, z^T v / sum z^2 |w|) over present entries; the second is 0 when the
    /// first is.
    fn weighted_coefficients(&self, w: &[T], v: &[T]) -> (T, T) {
        let d = self
            .z_masked
            .iter()
            .zip(w)
            .fold(T::zero(), |acc, (&z, &wj)| acc + z * z * wj.abs());
        if d > T::zero() {
            (d, self.dot(v) / d)
        } else {
            (d, T::zero())
        }
    }

    /// Vector-Jacobian product of [`Projector::project_weighted`] at (w, v): replaces the
    /// cotangent `a` of the output by the cotangent of `v`, and adds the cotangent of `w` into
    /// `w_bar` (the projection depends on its weights). Allocation-free.
    pub fn vjp_weighted(
        &self,
        w: &[T],
        v: &[T],
        a: &mut [T],
        w_bar: &mut [T],
    ) -> Result<(), ConstraintError> {
        check_len("w", self.dim(), w.len())?;
        check_len("v", self.dim(), v.len())?;
        check_len("a", self.dim(), a.len())?;
        check_len("w_bar", self.dim(), w_bar.len())?;
        let (d, s) = self.weighted_coefficients(w, v);
        if d <= T::zero() {
            // The Euclidean fallback does not depend on w.
            self.project_unchecked(a);
            return Ok(());
        }
        // out = v - (|w| ⊙ z) s with s = z^T v / d, d = sum z^2 |w|.
        let wza = self
            .z_masked
            .iter()
            .zip(w)
            .zip(a.iter())
            .fold(T::zero(), |acc, ((&z, &wj), &aj)| acc + wj.abs() * z * aj);
        let r = wza / d;
        for (((x, wb), &z), &wk) in a
            .iter_mut()
            .zip(w_bar.iter_mut())
            .zip(&self.z_masked)
            .zip(w)
        {
            // d out_j / d|w_k| = -delta_jk z_j s + |w_j| z_j s z_k^2 / d; d|w|/dw = sign(w).
            let sign = if wk < T::zero() { -T::one() } else { T::one() };
            *wb = *wb + sign * (r * s * z * z - *x * z * s);
            *x = *x - z * r;
        }
        Ok(())
    }

    /// The dense n x n matrix of the map (row-major), for inspection and tests.
    pub fn matrix(&self) -> Vec<T> {
        let n = self.dim();
        let mut m = vec![T::zero(); n * n];
        for i in 0..n {
            for j in 0..n {
                let id = if i == j { T::one() } else { T::zero() };
                m[i * n + j] = id - self.z_masked[i] * self.z_masked[j] * self.inv_norm2;
            }
        }
        m
    }
}

pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), ConstraintError> {
    if expected == got {
        Ok(())
    } else {
        Err(ConstraintError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn nacl_projection_removes_charge_excess_symmetrically() {
        // z = (1, -1): P h = h - (h1 - h2)/2 (1, -1) = mean of the two for both.
        let p = Projector::unmasked(&[1.0, -1.0]).unwrap();
        let mut h = [3.0, 1.0];
        p.project(&mut h).unwrap();
        assert_abs_diff_eq!(h[0], 2.0, epsilon = 1e-15);
        assert_abs_diff_eq!(h[1], 2.0, epsilon = 1e-15);
    }

    #[test]
    fn matrix_is_identity_minus_rank_one() {
        let p = Projector::new(&[1.0, 2.0, -1.0], &[true, false, true]).unwrap();
        let m = p.matrix();
        let want = [0.5, 0.0, 0.5, 0.0, 1.0, 0.0, 0.5, 0.0, 0.5];
        for (a, b) in m.iter().zip(want) {
            assert_abs_diff_eq!(*a, b, epsilon = 1e-15);
        }
    }

    #[test]
    fn no_charged_species_present_is_identity() {
        let p = Projector::new(&[1.0, -1.0], &[false, false]).unwrap();
        let mut h = [0.3, 0.9];
        p.project(&mut h).unwrap();
        assert_eq!(h, [0.3, 0.9]);
    }

    #[test]
    fn weighted_projection_is_neutral_for_any_weights() {
        let p = Projector::<f64>::unmasked(&[1.0, 2.0, -1.0, -2.0]).unwrap();
        // Negative trial weights: the metric uses |w|, and the result is neutral.
        let mut v = [0.3, -0.1, 0.7, 0.2];
        p.project_weighted(&[-1e-3, 2.0, 1e-4, -0.5], &mut v)
            .unwrap();
        assert!(p.residual(&v).unwrap().abs() < 1e-15);
        // All weights zero: the Euclidean projection.
        let mut v = [0.3, -0.1, 0.7, 0.2];
        let mut e = v;
        p.project_weighted(&[0.0; 4], &mut v).unwrap();
        p.project(&mut e).unwrap();
        assert_eq!(v, e);
        let (mut a, mut wb) = ([1.0, 0.5, -0.2, 0.1], [0.0; 4]);
        let mut pa = a;
        p.vjp_weighted(&[0.0; 4], &v, &mut a, &mut wb).unwrap();
        p.vjp(&mut pa).unwrap();
        assert_eq!((a, wb), (pa, [0.0; 4]));
    }

    #[test]
    fn works_in_f32() {
        let p = Projector::<f32>::unmasked(&[2.0, -1.0, -1.0]).unwrap();
        let mut h = [1.0f32, 0.5, 0.25];
        p.project(&mut h).unwrap();
        assert!(p.residual(&h).unwrap().abs() < 1e-6);
    }

    #[test]
    fn shape_and_value_errors() {
        assert!(matches!(
            Projector::new(&[1.0, -1.0], &[true]),
            Err(ConstraintError::LengthMismatch { what: "mask", .. })
        ));
        assert_eq!(
            Projector::unmasked(&[1.0, f64::NAN]),
            Err(ConstraintError::NonFiniteValence { index: 1 })
        );
        let p = Projector::unmasked(&[1.0, -1.0]).unwrap();
        assert!(p.project(&mut [1.0, 2.0, 3.0]).is_err());
        assert!(p.project_into(&[1.0], &mut [0.0, 0.0]).is_err());
        assert_eq!(
            p.project_batch(&mut [1.0, 2.0, 3.0]),
            Err(ConstraintError::BatchShape { len: 3, dim: 2 })
        );
    }
}
