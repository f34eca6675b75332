//! How far held-out feeds lie beyond their training feeds: distances and the feed-mean error
//! against hand-computed values, and the invariants that hold for any data.

use approx::assert_relative_eq;
use iontransport_model::beyond::beyond_training;
use iontransport_model::crossval::{Fold, FoldScheme};
use proptest::prelude::*;

fn feed_fold(test: usize) -> Fold {
    Fold {
        scheme: FoldScheme::Feed,
        name: format!("feed {test}"),
        test: vec![test],
    }
}

#[test]
fn distances_and_the_feed_mean_match_hand_computed_values() {
    // Two ions; three training feeds with flat rejections of ion A (0.1, 0.2, 0.4) and a
    // ramp of ion B in the first feed only (0 at 1 µm/s to 1 at 3 µm/s); feed 3 held out.
    let ions = vec!["A".to_string(), "B".to_string()];
    let flux = vec![
        vec![1e-6, 3e-6],
        vec![1e-6, 3e-6],
        vec![1e-6, 3e-6],
        vec![2e-6, 5e-6],
    ];
    let measured = vec![
        vec![Some(0.1), Some(0.0), Some(0.1), Some(1.0)],
        vec![Some(0.2), None, Some(0.2), None],
        vec![Some(0.4), None, Some(0.4), None],
        // At 2 µm/s: A 0.6 (0.2 above the range), B 0.3 (the ramp gives 0.5: 0.2 below);
        // at 5 µm/s: A 0.3 (inside), B 1.0 (the ramp held at its last value: inside).
        vec![Some(0.6), Some(0.3), Some(0.3), Some(1.0)],
    ];
    let rows = beyond_training(&ions, &flux, &measured, &[feed_fold(3)]);
    assert_eq!(rows.len(), 2);
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!((a.ion.as_str(), a.count, a.outside), ("A", 2, 1));
    assert_relative_eq!(a.mean_distance, 0.1, epsilon = 1e-12);
    // The feed mean is 7/30 at both fluxes: errors 0.6 - 7/30 and 0.3 - 7/30.
    assert_relative_eq!(
        a.feed_mean_mae,
        (0.6 + 0.3 - 2.0 * 7.0 / 30.0) / 2.0,
        epsilon = 1e-12
    );
    assert_eq!((b.ion.as_str(), b.count, b.outside), ("B", 2, 1));
    assert_relative_eq!(b.mean_distance, 0.1, epsilon = 1e-12);
    assert_relative_eq!(b.feed_mean_mae, 0.1, epsilon = 1e-12);
}

#[test]
fn an_ion_no_training_feed_measured_is_not_counted() {
    let ions = vec!["A".to_string(), "B".to_string()];
    let flux = vec![vec![1e-6], vec![1e-6]];
    let measured = vec![vec![Some(0.5), None], vec![Some(0.5), Some(0.9)]];
    let rows = beyond_training(&ions, &flux, &measured, &[feed_fold(1)]);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].ion.as_str(), rows[0].count), ("A", 1));
    assert_eq!(rows[0].mean_distance, 0.0);
}

proptest! {
    /// A held-out copy of a training feed lies inside the range everywhere; and for any data
    /// the feed mean, which lies inside the range, errs at least by the distance to it.
    #[test]
    fn a_copy_is_inside_and_the_feed_mean_errs_at_least_the_distance(
        curves in prop::collection::vec(prop::collection::vec(-2.0f64..1.0, 3), 2..5),
        other in prop::collection::vec(-2.0f64..1.0, 3),
    ) {
        let ions = vec!["A".to_string()];
        let grid = vec![1e-6, 2e-6, 4e-6];
        let mut measured: Vec<Vec<Option<f64>>> =
            curves.iter().map(|c| c.iter().map(|&r| Some(r)).collect()).collect();
        measured.push(measured[0].clone());
        measured.push(other.iter().map(|&r| Some(r)).collect());
        let flux = vec![grid; measured.len()];
        let copy = measured.len() - 2;
        let rows = beyond_training(&ions, &flux, &measured, &[feed_fold(copy)]);
        prop_assert_eq!(rows[0].outside, 0);
        prop_assert_eq!(rows[0].mean_distance, 0.0);
        let last = measured.len() - 1;
        let rows = beyond_training(&ions, &flux, &measured, &[feed_fold(last)]);
        prop_assert!(rows[0].mean_distance <= rows[0].feed_mean_mae + 1e-12);
    }
}

#[test]
fn a_measurement_within_the_reading_margin_adds_its_distance_but_is_not_outside() {
    let ions = vec!["A".to_string()];
    let flux = vec![vec![1e-6], vec![1e-6], vec![1e-6]];
    let measured = vec![vec![Some(0.5)], vec![Some(0.7)], vec![Some(0.71)]];
    let rows = beyond_training(&ions, &flux, &measured, &[feed_fold(2)]);
    assert_eq!(rows[0].outside, 0);
    assert_relative_eq!(rows[0].mean_distance, 0.01, epsilon = 1e-12);
}
