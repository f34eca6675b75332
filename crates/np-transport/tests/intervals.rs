//! Prediction intervals: the mixture quantiles against direct integration, the Laplace
//! samples against the fit's standard errors, the ensemble sampler against the Laplace
//! approximation where both hold and inside the bounds where only it does, and the coverage
//! of the 90 % interval on feeds the fit has not seen.

use ion_species::{Composition, IonRegistry};
use np_transport::interval::{membrane_of_sample, mixture_interval};
use np_transport::posterior::{SamplingMethod, SamplingOptions, sample_parameters};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, FitResult, Membrane, MembraneFile,
    RejectionMeasurement, Starts, TransportError, fit,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

#[path = "support/membranes.rs"]
mod membranes;
use membranes::truth;

/// Scatter of the simulated measurements around the truth (R units).
const NOISE: f64 = 0.02;
const FLUXES: [f64; 4] = [3e-6, 8e-6, 1.5e-5, 2.5e-5];

fn feed(pairs: &[(&str, f64)]) -> Composition {
    Composition::from_mmol_per_l(&IonRegistry::canonical(), pairs).unwrap()
}

fn training_feeds() -> Vec<Composition> {
    vec![
        feed(&[("Na+", 10.0), ("Cl-", 10.0)]),
        feed(&[("Na+", 20.0), ("SO4 2-", 10.0)]),
        feed(&[("Mg2+", 10.0), ("Cl-", 20.0)]),
        feed(&[("Na+", 50.0), ("Cl-", 50.0)]),
    ]
}

fn new_feeds() -> Vec<Composition> {
    vec![
        feed(&[("K+", 15.0), ("Cl-", 15.0)]),
        feed(&[("Ca2+", 5.0), ("Cl-", 10.0)]),
        feed(&[("Na+", 5.0), ("Cl-", 5.0)]),
        feed(&[
            ("Na+", 30.0),
            ("Mg2+", 5.0),
            ("Cl-", 20.0),
            ("SO4 2-", 10.0),
        ]),
        feed(&[("Li+", 20.0), ("Cl-", 20.0)]),
    ]
}

/// Every ion's rejection from the truth at every flux, plus Gaussian noise of sd NOISE.
fn measure(feeds: &[Composition], seed: u64) -> Vec<RejectionMeasurement> {
    let model = Dspmde::new(truth(), Conditions::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, NOISE).unwrap();
    let mut out = vec![];
    for f in feeds {
        for p in model.sweep(f, &FLUXES).unwrap() {
            let r = (0..p.ions.len())
                .filter(|&j| p.feed[j] > 0.0)
                .map(|j| (p.ions[j].clone(), p.rejection[j] + noise.sample(&mut rng)))
                .collect();
            out.push(RejectionMeasurement::observed(f.clone(), p.flux, r));
        }
    }
    out
}

fn options() -> FitOptions {
    let mut opts = FitOptions::new(
        Membrane {
            pore_radius: 0.45e-9,
            effective_thickness: 1.5e-6,
            charge: ChargeModel::Constant(-40.0),
            ..truth()
        },
        Conditions::default(),
    );
    opts.starts = Starts::Initial;
    opts
}

fn fitted(data: &[RejectionMeasurement], opts: &FitOptions) -> FitResult {
    fit(data, opts).unwrap()
}

fn sd(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[test]
fn laplace_samples_have_the_fits_standard_errors() {
    let data = measure(&training_feeds(), 1);
    let opts = options();
    let f = fitted(&data, &opts);
    let sampling = SamplingOptions {
        samples: 2000,
        ..SamplingOptions::default()
    };
    let s = sample_parameters(&data, &opts, &f, &sampling).unwrap();
    assert_eq!(s.method, SamplingMethod::Laplace, "{}", s.reason);
    assert_eq!(s.samples.len(), 2000);
    // r_p is sampled on a log scale: sd of ln r_p = se / r_p; X on a linear one.
    let ln_r = sd(s.samples.iter().map(|x| x[0].ln()));
    let want = f.se_pore_radius / f.membrane.pore_radius;
    assert!((ln_r / want - 1.0).abs() < 0.1, "{ln_r} vs {want}");
    let x = sd(s.samples.iter().map(|x| x[2]));
    assert!(
        (x / f.se_charge - 1.0).abs() < 0.1,
        "{x} vs {}",
        f.se_charge
    );
    // The scatter is the fit's RMSE scaled for the three fitted parameters.
    let n = f.residuals.len() as f64;
    assert!((s.pooled_sd - f.rmse * (n / (n - 3.0)).sqrt()).abs() < 1e-15);
    // And the truth's scatter is what was put in.
    assert!((s.pooled_sd / NOISE - 1.0).abs() < 0.35, "{}", s.pooled_sd);
}

#[test]
fn the_ensemble_sampler_agrees_with_laplace_where_both_hold() {
    let data = measure(&training_feeds(), 1);
    let opts = options();
    let f = fitted(&data, &opts);
    let sampling = SamplingOptions {
        force_ensemble: true,
        ..SamplingOptions::default()
    };
    let s = sample_parameters(&data, &opts, &f, &sampling).unwrap();
    assert_eq!(s.method, SamplingMethod::Ensemble);
    let acceptance = s.acceptance.unwrap();
    assert!((0.2..0.9).contains(&acceptance), "acceptance {acceptance}");
    // Posterior spread within a factor 1.6 of the Laplace standard errors (the posterior
    // of a nearly linear model is nearly Gaussian; ~360 correlated draws).
    let pairs = [
        (
            sd(s.samples.iter().map(|x| x[0].ln())),
            f.se_pore_radius / f.membrane.pore_radius,
        ),
        (
            sd(s.samples.iter().map(|x| x[1].ln())),
            f.se_effective_thickness / f.membrane.effective_thickness,
        ),
        (sd(s.samples.iter().map(|x| x[2])), f.se_charge),
    ];
    for (got, want) in pairs {
        assert!((1.0 / 1.6..1.6).contains(&(got / want)), "{got} vs {want}");
    }
    // Same seed, same samples; another seed, others.
    let again = sample_parameters(&data, &opts, &f, &sampling).unwrap();
    assert_eq!(again, s);
    let other = SamplingOptions {
        seed: 1,
        ..sampling
    };
    assert_ne!(
        sample_parameters(&data, &opts, &f, &other).unwrap().samples,
        s.samples
    );
}

#[test]
fn a_parameter_at_its_bound_is_sampled_inside_the_bounds() {
    let data = measure(&training_feeds(), 2);
    let mut opts = options();
    // The truth (0.5 nm) lies well beyond the upper bound: the fit ends at 0.4 nm.
    opts.bounds.pore_radius = (0.3e-9, 0.4e-9);
    let f = fitted(&data, &opts);
    assert_eq!(f.at_bound, ["pore_radius"]);
    let s = sample_parameters(&data, &opts, &f, &SamplingOptions::default()).unwrap();
    assert_eq!(s.method, SamplingMethod::Ensemble);
    assert!(s.reason.contains("pore_radius"), "{}", s.reason);
    assert!(!s.samples.is_empty());
    for x in &s.samples {
        assert!(x[0] <= 0.4e-9 && x[0] >= 0.3e-9, "r_p {}", x[0]);
    }
    // The posterior piles against the bound: no sample far below it.
    let median = {
        let mut r: Vec<f64> = s.samples.iter().map(|x| x[0]).collect();
        r.sort_by(f64::total_cmp);
        r[r.len() / 2]
    };
    assert!(median > 0.38e-9, "median r_p {median}");
}

#[test]
fn the_90_percent_interval_covers_about_90_percent_of_new_feeds() {
    let data = measure(&training_feeds(), 3);
    let opts = options();
    let f = fitted(&data, &opts);
    let samples = sample_parameters(&data, &opts, &f, &SamplingOptions::default()).unwrap();
    let csv = b"not read";
    let file =
        MembraneFile::from_fit(&f, Conditions::default(), "sim.csv", csv, Some(samples)).unwrap();
    let new = measure(&new_feeds(), 4);
    let (mut inside, mut total) = (0, 0);
    for feeds in new.chunks(FLUXES.len()) {
        let sweep = file
            .sweep_with_intervals(&feeds[0].feed, &FLUXES, None, 0.9)
            .unwrap();
        assert_eq!(sweep.samples_failed, 0);
        for (m, band) in feeds.iter().zip(&sweep.bands) {
            for (ion, r) in &m.rejections {
                let j = band.ions.iter().position(|n| n == ion).unwrap();
                assert!(band.lower[j] < band.rejection[j] && band.rejection[j] < band.upper[j]);
                total += 1;
                inside += usize::from((band.lower[j]..=band.upper[j]).contains(r));
            }
        }
    }
    let coverage = inside as f64 / total as f64;
    eprintln!("90 % interval: {inside} of {total} new points inside ({coverage:.3})");
    assert!(total >= 40, "{total} points");
    // 45 points: a binomial sd of 0.045 around 0.9.
    assert!(
        (0.8..=0.98).contains(&coverage),
        "coverage {coverage} of {total}"
    );
}

#[test]
fn a_saved_membrane_gives_the_same_intervals_and_one_without_samples_says_so() {
    let data = measure(&training_feeds(), 5);
    let opts = options();
    let f = fitted(&data, &opts);
    let samples = sample_parameters(&data, &opts, &f, &SamplingOptions::default()).unwrap();
    let file =
        MembraneFile::from_fit(&f, Conditions::default(), "sim.csv", b"x", Some(samples)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    file.save(&path).unwrap();
    let back = MembraneFile::load(&path).unwrap();
    assert_eq!(back, file);
    let nacl = &training_feeds()[0];
    let a = file.sweep_with_intervals(nacl, &FLUXES, None, 0.9).unwrap();
    let b = back.sweep_with_intervals(nacl, &FLUXES, None, 0.9).unwrap();
    assert_eq!(a, b);
    // A wider level gives a wider interval.
    let wide = file
        .sweep_with_intervals(nacl, &FLUXES, None, 0.99)
        .unwrap();
    assert!(
        wide.bands[1].upper[0] - wide.bands[1].lower[0] > a.bands[1].upper[0] - a.bands[1].lower[0]
    );
    for level in [0.0, 1.0, f64::NAN, -0.5] {
        assert!(matches!(
            file.sweep_with_intervals(nacl, &FLUXES, None, level),
            Err(TransportError::InvalidParameter { .. })
        ));
    }
    let bare = MembraneFile::from_fit(&f, Conditions::default(), "sim.csv", b"x", None).unwrap();
    let e = bare
        .sweep_with_intervals(nacl, &FLUXES, None, 0.9)
        .unwrap_err();
    assert!(matches!(e, TransportError::NoIntervals(_)), "{e}");
    assert!(e.to_string().contains("refit"), "{e}");
}

#[test]
fn a_sample_maps_onto_the_membrane_it_names() {
    let names: Vec<String> = [
        "pore_radius",
        "effective_thickness",
        "charge",
        "charge_exponent",
    ]
    .map(String::from)
    .to_vec();
    let m = membrane_of_sample(&truth(), &names, &[0.6e-9, 1e-6, -50.0, 0.5]).unwrap();
    assert_eq!(m.pore_radius, 0.6e-9);
    let ChargeModel::Freundlich { a, b } = m.charge else {
        panic!("an isotherm")
    };
    // X_ref is the charge at the isotherm's reference ionic strength.
    assert!((a * np_transport::ISOTHERM_REFERENCE.powf(b) + 50.0).abs() < 1e-9);
    assert!(membrane_of_sample(&truth(), &names, &[0.6e-9]).is_err());
    let bad = ["pore_size".to_string()];
    assert!(membrane_of_sample(&truth(), &bad, &[1.0]).is_err());
    // A sampled membrane that is not physical is refused, not used.
    assert!(membrane_of_sample(&truth(), &names[..1], &[-1e-9]).is_err());
}

/// Probability that the mixture of N(c, sd^2) over `draws` is below `x`, by the trapezoid rule
/// on its density (independent of the erfc the library uses).
fn mixture_cdf_by_quadrature(draws: &[f64], sd: f64, x: f64) -> f64 {
    let lo = draws.iter().cloned().fold(f64::INFINITY, f64::min) - 12.0 * sd;
    let n = 20_000;
    let h = (x - lo) / n as f64;
    let density = |t: f64| {
        draws
            .iter()
            .map(|c| (-(t - c).powi(2) / (2.0 * sd * sd)).exp())
            .sum::<f64>()
            / (draws.len() as f64 * sd * (2.0 * std::f64::consts::PI).sqrt())
    };
    (0..=n)
        .map(|k| {
            let w = if k == 0 || k == n { 0.5 } else { 1.0 };
            w * density(lo + k as f64 * h)
        })
        .sum::<f64>()
        * h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn mixture_interval_ends_hold_the_tails(
        draws in proptest::collection::vec(-1.0f64..1.0, 1..12),
        sd in 0.01f64..0.5,
        level in 0.5f64..0.98,
    ) {
        let (lo, hi) = mixture_interval(&draws, sd, level).unwrap();
        prop_assert!(lo < hi);
        let tail = (1.0 - level) / 2.0;
        prop_assert!((mixture_cdf_by_quadrature(&draws, sd, lo) - tail).abs() < 1e-6);
        prop_assert!((mixture_cdf_by_quadrature(&draws, sd, hi) - (1.0 - tail)).abs() < 1e-6);
    }
}

#[test]
fn without_scatter_the_interval_is_the_draws_own_quantiles() {
    let draws: Vec<f64> = (0..101).map(|k| k as f64 / 100.0).collect();
    let (lo, hi) = mixture_interval(&draws, 0.0, 0.9).unwrap();
    assert_eq!((lo, hi), (0.05, 0.95));
    assert!(mixture_interval(&[], 0.1, 0.9).is_err());
    assert!(mixture_interval(&[f64::NAN], 0.1, 0.9).is_err());
    assert!(mixture_interval(&[0.5], -0.1, 0.9).is_err());
}
