//! Property tests of the hard projection and the soft penalty on random valences, masks and
//! vectors.

use charge_constraint::{Projector, SoftPenalty};
use proptest::prelude::*;

/// Random problem: valences (non-zero integers, as for ions, or arbitrary reals), a mask and
/// two vectors.
fn problem() -> impl Strategy<Value = (Vec<f64>, Vec<bool>, Vec<f64>, Vec<f64>)> {
    (1usize..12).prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop_oneof![
                    (-3i32..=3)
                        .prop_filter("ions are charged", |z| *z != 0)
                        .prop_map(f64::from),
                    -5.0f64..5.0
                ],
                n,
            ),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(-100.0f64..100.0, n),
            prop::collection::vec(-1.0f64..1.0, n),
        )
    })
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn projected_vector_satisfies_the_constraint((z, mask, h, _) in problem()) {
        let p = Projector::new(&z, &mask).unwrap();
        let mut ph = h.clone();
        p.project(&mut ph).unwrap();
        let scale = z.iter().zip(&h).map(|(a, b)| (a * b).abs()).sum::<f64>().max(1.0);
        prop_assert!(p.residual(&ph).unwrap().abs() <= 1e-13 * scale);
    }

    #[test]
    fn projection_is_idempotent_and_non_expansive((z, mask, h, _) in problem()) {
        let p = Projector::new(&z, &mask).unwrap();
        let mut once = h.clone();
        p.project(&mut once).unwrap();
        let mut twice = once.clone();
        p.project(&mut twice).unwrap();
        for (a, b) in once.iter().zip(&twice) {
            prop_assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()));
        }
        prop_assert!(norm(&once) <= norm(&h) * (1.0 + 1e-14) + 1e-14);
    }

    #[test]
    fn masked_entries_are_untouched((z, mask, h, a) in problem()) {
        let p = Projector::new(&z, &mask).unwrap();
        let mut ph = h.clone();
        p.project(&mut ph).unwrap();
        let mut pa = a.clone();
        p.vjp(&mut pa).unwrap();
        for i in 0..z.len() {
            if !mask[i] {
                prop_assert_eq!(ph[i], h[i]);
                prop_assert_eq!(pa[i], a[i]);
            }
        }
    }

    #[test]
    fn vjp_matches_central_finite_differences((z, mask, h, a) in problem()) {
        // d/dh_k of a^T P(h), by central differences, against the VJP.
        let p = Projector::new(&z, &mask).unwrap();
        let mut g = a.clone();
        p.vjp(&mut g).unwrap();
        let eps = 1e-5;
        for k in 0..h.len() {
            let f = |delta: f64| {
                let mut x = h.clone();
                x[k] += delta;
                p.project(&mut x).unwrap();
                dot(&a, &x)
            };
            let fd = (f(eps) - f(-eps)) / (2.0 * eps);
            prop_assert!((fd - g[k]).abs() <= 1e-7 * (1.0 + g[k].abs()), "k={} fd={} vjp={}", k, fd, g[k]);
        }
    }

    #[test]
    fn batch_equals_rowwise((z, mask, h, a) in problem()) {
        let p = Projector::new(&z, &mask).unwrap();
        let mut batch: Vec<f64> = h.iter().chain(&a).copied().collect();
        p.project_batch(&mut batch).unwrap();
        let (mut r0, mut r1) = (h.clone(), a.clone());
        p.project(&mut r0).unwrap();
        p.project(&mut r1).unwrap();
        prop_assert_eq!(&batch[..h.len()], &r0[..]);
        prop_assert_eq!(&batch[h.len()..], &r1[..]);
    }

    #[test]
    fn penalty_gradient_matches_finite_differences((z, mask, h, _) in problem(), lambda in 0.0f64..10.0) {
        let s = SoftPenalty::new(&z, &mask, lambda).unwrap();
        let mut g = vec![0.0; h.len()];
        let v = s.accumulate_gradient(&h, 1.0, &mut g).unwrap();
        prop_assert_eq!(v, s.value(&h).unwrap());
        let eps = 1e-4;
        for k in 0..h.len() {
            let mut xp = h.clone();
            xp[k] += eps;
            let mut xm = h.clone();
            xm[k] -= eps;
            let fd = (s.value(&xp).unwrap() - s.value(&xm).unwrap()) / (2.0 * eps);
            // The penalty is quadratic, so central differences are exact up to round-off.
            prop_assert!((fd - g[k]).abs() <= 1e-6 * (1.0 + g[k].abs()), "k={} fd={} g={}", k, fd, g[k]);
        }
    }

    #[test]
    fn penalty_is_zero_exactly_on_the_constraint((z, mask, h, _) in problem(), lambda in 0.1f64..10.0) {
        let s = SoftPenalty::new(&z, &mask, lambda).unwrap();
        let p = Projector::new(&z, &mask).unwrap();
        let mut ph = h.clone();
        p.project(&mut ph).unwrap();
        let scale = 1.0 + norm(&h).powi(2);
        prop_assert!(s.value(&ph).unwrap() <= 1e-24 * scale * lambda);
        // Off the constraint it equals lambda * squared distance to the plane ||h - P h||^2.
        let d2: f64 = h.iter().zip(&ph).map(|(a, b)| (a - b).powi(2)).sum();
        prop_assert!((s.value(&h).unwrap() - lambda * d2).abs() <= 1e-9 * (1.0 + lambda * d2));
    }
}

#[test]
fn penalty_is_positive_off_the_constraint() {
    let s = SoftPenalty::new(&[1.0, 2.0, -1.0], &[true, true, true], 1.0).unwrap();
    assert!(s.value(&[1.0, 0.0, 0.0]).unwrap() > 0.0);
    assert_eq!(s.value(&[1.0, 0.0, 1.0]).unwrap(), 0.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn weighted_projection_is_neutral_and_keeps_signs((z, mask, h, a) in problem()) {
        // Positive weights w = |h| + 0.01; v = w ⊙ g with g = a: every output entry is w_j times
        // (g_j - z_j s), so it vanishes with w_j, and z^T out = 0.
        let p = Projector::new(&z, &mask).unwrap();
        let w: Vec<f64> = h.iter().map(|x| x.abs() + 0.01).collect();
        let mut v: Vec<f64> = w.iter().zip(&a).map(|(wj, g)| wj * g).collect();
        let v0 = v.clone();
        p.project_weighted(&w, &mut v).unwrap();
        let scale = z.iter().zip(&v0).map(|(x, y)| (x * y).abs()).sum::<f64>().max(1.0);
        prop_assert!(p.residual(&v).unwrap().abs() <= 1e-12 * scale);
        // Idempotent.
        let mut twice = v.clone();
        p.project_weighted(&w, &mut twice).unwrap();
        for (x, y) in v.iter().zip(&twice) {
            prop_assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()));
        }
        // Structure: out_j = w_j (g_j - z_j s) with one s for all present entries, so an entry
        // vanishes with its weight (what keeps h > 0 in dh/dt = P_h(h ⊙ g)).
        let mut common: Option<f64> = None;
        for j in 0..z.len() {
            if !mask[j] {
                prop_assert_eq!(v[j], v0[j]);
            } else if z[j].abs() > 0.1 {
                let sj = (a[j] - v[j] / w[j]) / z[j];
                if let Some(c) = common {
                    prop_assert!((sj - c).abs() <= 1e-9 * (1.0 + c.abs()), "{} vs {}", sj, c);
                } else {
                    common = Some(sj);
                }
            }
        }
    }

    #[test]
    fn weighted_vjp_matches_central_finite_differences((z, mask, h, a) in problem()) {
        let p = Projector::new(&z, &mask).unwrap();
        // Weights of both signs (away from zero, where |w| is not differentiable).
        let w: Vec<f64> = h.iter().map(|x| x / 10.0 + 0.5 * x.signum()).collect();
        let v: Vec<f64> = a.iter().enumerate().map(|(i, x)| x + 0.1 * i as f64).collect();
        let c: Vec<f64> = (0..z.len()).map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0).collect();
        let f = |w: &[f64], v: &[f64]| {
            let mut o = v.to_vec();
            p.project_weighted(w, &mut o).unwrap();
            dot(&c, &o)
        };
        let mut vbar = c.clone();
        let mut wbar = vec![0.0; z.len()];
        p.vjp_weighted(&w, &v, &mut vbar, &mut wbar).unwrap();
        let eps = 1e-6;
        for k in 0..z.len() {
            let (mut vp, mut vm) = (v.clone(), v.clone());
            vp[k] += eps;
            vm[k] -= eps;
            let fd = (f(&w, &vp) - f(&w, &vm)) / (2.0 * eps);
            prop_assert!((fd - vbar[k]).abs() <= 1e-7 * (1.0 + fd.abs()), "v {k}: {fd} vs {}", vbar[k]);
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[k] += eps;
            wm[k] -= eps;
            let fd = (f(&wp, &v) - f(&wm, &v)) / (2.0 * eps);
            prop_assert!((fd - wbar[k]).abs() <= 1e-6 * (1.0 + fd.abs()), "w {k}: {fd} vs {}", wbar[k]);
        }
    }
}
