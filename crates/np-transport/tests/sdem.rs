//! The solution–diffusion–electromigration model: closed forms (single salt, trace ions),
//! conservation, the film, typed errors, and fits (recovery of known permeances, and the
//! permeances Fernandez de Labastida & Yaroshchuk (2021) report for their NF270 data).

use ion_species::{Composition, IonRegistry};
use np_transport::data::Dataset;
use np_transport::sdem::{
    Determination, Sdem, SdemFitOptions, SdemForm, fit_sdem, salt_permeance, single_salt_rejection,
    trace_transmission,
};
use np_transport::{Conditions, Polarisation, RejectionMeasurement, TransportError};
use std::path::Path;

const UM_S: f64 = 1e-6;

fn reg() -> IonRegistry {
    IonRegistry::extended()
}

fn feed(pairs: &[(&str, f64)]) -> Composition {
    Composition::from_mmol_per_l(&reg(), pairs).unwrap()
}

#[test]
fn single_salts_follow_the_salt_permeance() {
    let cases: [(&str, f64, &str, f64, f64, f64); 3] = [
        ("Na+", 1.0, "Cl-", -1.0, 97.5, 3.9),
        ("Mg^2+", 2.0, "Cl-", -1.0, 3.7, 9.3),
        ("Na+", 1.0, "SO4^2-", -2.0, 20.0, 0.06),
    ];
    for (cat, zc, an, za, pc, pa) in cases {
        let sdem = Sdem::new(
            &reg(),
            &[(cat, pc * UM_S), (an, pa * UM_S)],
            Conditions::default(),
        )
        .unwrap();
        let salt = 10.0;
        let f = feed(&[(cat, salt * -za), (an, salt * zc)]);
        let fluxes: Vec<f64> = [1.0, 5.0, 20.0, 60.0].iter().map(|j| j * UM_S).collect();
        for p in sdem.sweep(&f, &fluxes).unwrap() {
            let expected = single_salt_rejection(p.flux, (pc * UM_S, zc), (pa * UM_S, za));
            for r in &p.rejection {
                assert!(
                    (r - expected).abs() < 1e-7,
                    "{cat}/{an} at {:e}: {r} vs {expected}",
                    p.flux
                );
            }
        }
    }
    // P_s of a 1:1 salt is twice the harmonic mean.
    let ps = salt_permeance((2.0, 1.0), (6.0, -1.0));
    assert!((ps - 3.0).abs() < 1e-15);
}

/// Trace ions at 1e-6 of the dominant salt against the closed form.
#[test]
fn trace_ions_match_the_closed_form() {
    // (dominant cation, z, P um/s, anion, z, P, trace cation P, trace anion P)
    let cases = [
        (
            "Na+",
            1.0,
            97.5,
            "Cl-",
            -1.0,
            3.9,
            ("K+", 80.0),
            ("NO3-", 13.8),
        ),
        (
            "Mg^2+",
            2.0,
            3.7,
            "Cl-",
            -1.0,
            9.3,
            ("Na+", 30.0),
            ("NO3-", 16.9),
        ),
        (
            "Na+",
            1.0,
            1.0,
            "SO4^2-",
            -2.0,
            0.06,
            ("K+", 50.0),
            ("NO3-", 9.8),
        ),
        (
            "Mg^2+",
            2.0,
            0.9,
            "SO4^2-",
            -2.0,
            0.13,
            ("Na+", 79.4),
            ("Cl-", 15.7),
        ),
    ];
    for (cat, zc, pc, an, za, pa, (tc, ptc), (ta, pta)) in cases {
        let trace = 1e-5; // mol/m3, against 10 mol/m3 of salt
        let f = feed(&[(cat, 10.0 * -za), (an, 10.0 * zc), (tc, trace), (ta, trace)]);
        let sdem = Sdem::new(
            &reg(),
            &[
                (cat, pc * UM_S),
                (an, pa * UM_S),
                (tc, ptc * UM_S),
                (ta, pta * UM_S),
            ],
            Conditions::default(),
        )
        .unwrap();
        let salt = ((pc * UM_S, zc), (pa * UM_S, za));
        for jv in [2.0, 10.0, 50.0] {
            let p = sdem.solve(&f, jv * UM_S).unwrap();
            for (ion, perm, z) in [(tc, ptc, 1.0), (ta, pta, -1.0)] {
                let k = p.ions.iter().position(|n| n == ion).unwrap();
                let got = 1.0 - p.rejection[k];
                let want = trace_transmission(jv * UM_S, salt, (perm * UM_S, z));
                assert!(
                    (got / want - 1.0).abs() < 1e-4,
                    "{ion} in {cat}/{an} at {jv} um/s: {got} vs closed form {want}"
                );
            }
            assert!(p.permeate_charge().abs() < 1e-9 * p.permeate[0]);
        }
    }
}

#[test]
fn a_film_is_the_intrinsic_model_behind_the_wall_concentrations() {
    let perms = [
        ("Na+", 60.0 * UM_S),
        ("Mg^2+", 2.0 * UM_S),
        ("Cl-", 8.0 * UM_S),
        ("SO4^2-", 0.2 * UM_S),
    ];
    let film = Conditions {
        polarisation: Polarisation::Film { thickness: 40e-6 },
        ..Conditions::default()
    };
    let with_film = Sdem::new(&reg(), &perms, film).unwrap();
    let bare = Sdem::new(&reg(), &perms, Conditions::default()).unwrap();
    let f = feed(&[
        ("Na+", 10.0),
        ("Mg^2+", 5.0),
        ("Cl-", 10.0),
        ("SO4^2-", 5.0),
    ]);
    let observed = with_film.solve(&f, 30.0 * UM_S).unwrap();
    // The wall sees more salt than the bulk (polarisation), and the permeate follows it.
    assert!(observed.membrane_surface[3] > 1.5 * observed.feed[3]);
    let wall = Composition::from_units(
        &reg(),
        &observed
            .ions
            .iter()
            .map(String::as_str)
            .zip(observed.membrane_surface.iter().copied())
            .collect::<Vec<_>>(),
        ion_species::ConcentrationUnit::MolPerM3,
    )
    .unwrap();
    let intrinsic = bare.solve(&wall, 30.0 * UM_S).unwrap();
    for (a, b) in observed.permeate.iter().zip(&intrinsic.permeate) {
        assert!((a / b - 1.0).abs() < 1e-7, "{a} vs {b}");
    }
}

#[test]
fn bad_input_is_named() {
    let sdem = Sdem::new(
        &reg(),
        &[("Na+", 1e-5), ("Cl-", 1e-6)],
        Conditions::default(),
    )
    .unwrap();
    let e = sdem
        .solve(&feed(&[("Na+", 10.0), ("SO4^2-", 5.0)]), 1e-5)
        .unwrap_err();
    assert!(
        matches!(&e, TransportError::MissingPermeance { ion, .. } if ion == "SO4^2-"),
        "{e}"
    );
    for bad in [0.0, -1e-6, f64::NAN, 1.0] {
        let e = Sdem::new(
            &reg(),
            &[("Na+", bad), ("Cl-", 1e-6)],
            Conditions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, TransportError::InvalidPermeance { .. }), "{e}");
    }
    let nacl = feed(&[("Na+", 10.0), ("Cl-", 10.0)]);
    assert!(matches!(
        sdem.solve(&nacl, -1e-6),
        Err(TransportError::InvalidFlux(_))
    ));
    assert!(Sdem::new(&reg(), &[("Xx+", 1e-6)], Conditions::default()).is_err());
    // A struct literal with a bad permeance is caught at the solve.
    let mut broken = sdem.clone();
    broken.permeances.insert("Cl-".into(), f64::INFINITY);
    assert!(matches!(
        broken.solve(&nacl, 1e-5),
        Err(TransportError::InvalidPermeance { .. })
    ));
}

/// Every ion's intrinsic rejection of `model` on each feed at each flux, as measurements.
fn intrinsic_measurements(
    model: &Sdem,
    feeds: &[Composition],
    fluxes: &[f64],
) -> Vec<RejectionMeasurement> {
    let mut data = Vec::new();
    for f in feeds {
        for p in model.sweep(f, fluxes).unwrap() {
            let mut m = RejectionMeasurement::observed(
                f.clone(),
                p.flux,
                p.ions
                    .iter()
                    .cloned()
                    .zip(p.rejection.iter().copied())
                    .collect(),
            );
            m.basis = np_transport::data::RejectionBasis::Intrinsic;
            data.push(m);
        }
    }
    data
}

/// Synthetic measurements of a known model; the fit recovers its permeances.
#[test]
fn fit_recovers_known_permeances() {
    let truth = [
        ("Na+", 40.0 * UM_S),
        ("Mg^2+", 1.5 * UM_S),
        ("Cl-", 6.0 * UM_S),
        ("SO4^2-", 0.3 * UM_S),
    ];
    let model = Sdem::new(&reg(), &truth, Conditions::default()).unwrap();
    let feeds = [
        feed(&[
            ("Na+", 10.0),
            ("Mg^2+", 2.0),
            ("Cl-", 12.0),
            ("SO4^2-", 1.0),
        ]),
        feed(&[("Na+", 2.0), ("Mg^2+", 8.0), ("Cl-", 4.0), ("SO4^2-", 7.0)]),
    ];
    let fluxes: Vec<f64> = [3.0, 8.0, 15.0, 30.0, 50.0]
        .iter()
        .map(|j| j * UM_S)
        .collect();
    let data = intrinsic_measurements(&model, &feeds, &fluxes);
    let fit = fit_sdem(&data, &SdemFitOptions::new(Conditions::default())).unwrap();
    assert!(fit.rmse < 1e-7, "rmse {}", fit.rmse);
    for (ion, p) in truth {
        let got = fit.permeance(ion).unwrap();
        assert!((got / p - 1.0).abs() < 1e-4, "{ion}: {got} vs {p}");
    }
    assert!(
        fit.permeances
            .iter()
            .all(|p| p.determination == Determination::Determined)
    );
}

/// Fernandez de Labastida & Yaroshchuk (2021), Table 1: SDEM permeances (um/s) fitted to
/// each feed of their NF270 measurements (the file data/measurements/fdl2021-nf270.csv holds
/// our reading of their figures). Each feed is fitted alone, as in the paper.
fn fdl_feed(sample: &str) -> Vec<RejectionMeasurement> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/measurements/fdl2021-nf270.csv");
    let mut data = Dataset::read_csv(&path, &reg()).unwrap();
    data.samples.retain(|s| s.id == sample);
    assert_eq!(data.samples.len(), 1, "{sample}");
    data.rejection_measurements(&reg(), usize::MAX).unwrap()
}

/// Root-mean-square of ln(1 − R_measured) − ln(1 − R_model) under the permeances `perms`
/// (um/s) in the trace-ion closed forms.
fn trace_rmse(data: &[RejectionMeasurement], perms: &[(&str, f64)]) -> f64 {
    let perms: Vec<(&str, f64)> = perms.iter().map(|(n, p)| (*n, p * UM_S)).collect();
    let model = Sdem::new(&reg(), &perms, Conditions::default()).unwrap();
    let mut sq = Vec::new();
    for m in data {
        let p = model.solve_trace_limit_unchecked(&m.feed, m.flux).unwrap();
        for (ion, r) in &m.rejections {
            let k = p.ions.iter().position(|n| n == ion).unwrap();
            sq.push(((1.0 - r).ln() - (1.0 - p.rejection[k]).ln()).powi(2));
        }
    }
    (sq.iter().sum::<f64>() / sq.len() as f64).sqrt()
}

/// The paper's analysis: each feed alone, the trace-ion closed forms, residuals in the log of
/// the reciprocal transmission f = 1/(1 − R). Every permeance Table 1 gives (um/s) is
/// reproduced within `tolerance` (relative; the salt permeance P_s too), ions Table 1 gives
/// only as lower bounds come out at 50 um/s or more, and the fit describes our reading of
/// the figures at least as well as Table 1's values do.
fn check_table_1(
    sample: &str,
    salt: (&str, &str),
    table_ps: f64,
    table: &[(&str, f64)],
    derived: &[(&str, f64)],
    lower_bounds: &[&str],
    tolerance: f64,
) {
    let data = fdl_feed(sample);
    assert!(data.len() >= 6, "{sample}: {} points", data.len());
    let mut opts = SdemFitOptions::new(Conditions::default());
    opts.form = SdemForm::TraceIons;
    let fit = fit_sdem(&data, &opts).unwrap();
    let z = |n: &str| reg().parse(n).unwrap().z();
    let ps = salt_permeance(
        (fit.permeance(salt.0).unwrap(), z(salt.0)),
        (fit.permeance(salt.1).unwrap(), z(salt.1)),
    );
    let mut compared = vec![("salt", ps, table_ps)];
    for (ion, p) in table {
        compared.push((ion, fit.permeance(ion).unwrap(), *p));
    }
    for (what, got, want) in compared {
        let got = got / UM_S;
        assert!(
            (got / want - 1.0).abs() <= tolerance,
            "{sample}: P({what}) {got:.3} um/s against Table 1's {want}"
        );
    }
    for ion in lower_bounds {
        assert!(
            fit.permeance(ion).unwrap() >= 50.0 * UM_S,
            "{sample}: {ion}"
        );
    }
    // Table 1's values (with an ion it leaves out derived from P_s, and the lower-bound
    // ions free to pass at 1 mm/s).
    let mut published: Vec<(&str, f64)> = table.to_vec();
    published.extend_from_slice(derived);
    published.extend(lower_bounds.iter().map(|ion| (*ion, 1000.0)));
    let published_rmse = trace_rmse(&data, &published);
    assert!(
        fit.rmse <= published_rmse * 1.0001,
        "{sample}: fit {} against Table 1's {published_rmse}",
        fit.rmse
    );
}

#[test]
fn fdl2021_nacl_table_1() {
    check_table_1(
        "NaCl+traces",
        ("Na+", "Cl-"),
        7.5,
        &[("Cl-", 3.9), ("NO3-", 13.8)],
        &[("Na+", 97.5)],
        &["NH4+"],
        0.15,
    );
}

#[test]
fn fdl2021_na2so4_table_1() {
    check_table_1(
        "Na2SO4+traces",
        ("Na+", "SO4^2-"),
        0.16,
        &[("Cl-", 3.4), ("NO3-", 9.8), ("SO4^2-", 0.06)],
        &[("Na+", 0.96)],
        &["NH4+"],
        0.10,
    );
}

#[test]
fn fdl2021_mgso4_table_1() {
    check_table_1(
        "MgSO4+traces",
        ("Mg^2+", "SO4^2-"),
        0.23,
        &[
            ("Na+", 79.4),
            ("Mg^2+", 0.9),
            ("NH4+", 80.0),
            ("Cl-", 15.7),
            ("NO3-", 41.9),
            ("SO4^2-", 0.13),
        ],
        &[],
        &[],
        0.20,
    );
}

/// The MgCl2 row of Table 1 (P_s 6.1, Mg2+ 3.7, Cl- 9.3, NO3- 16.9 um/s) does not describe
/// Fig. 2 as read: its salt permeance under-predicts the permeate at every flux (ln f off by
/// 0.07 at 8.6 um/s rising to 0.44 at 52.5 um/s), so the fit, which follows the figure, puts
/// P_s near 9 um/s. Measured here, so that a change of the data or the model shows.
#[test]
fn fdl2021_mgcl2_table_1_disagrees_with_figure_2() {
    let data = fdl_feed("MgCl2+traces");
    let mut opts = SdemFitOptions::new(Conditions::default());
    opts.form = SdemForm::TraceIons;
    let fit = fit_sdem(&data, &opts).unwrap();
    let ps = salt_permeance(
        (fit.permeance("Mg^2+").unwrap(), 2.0),
        (fit.permeance("Cl-").unwrap(), -1.0),
    );
    assert!(ps > 1.3 * 6.1 * UM_S, "P_s {ps}");
    let published = trace_rmse(
        &data,
        &[
            ("Mg^2+", 3.7),
            ("Cl-", 9.3),
            ("NO3-", 16.9),
            ("Na+", 1000.0),
            ("NH4+", 1000.0),
        ],
    );
    assert!(published > 2.0 * fit.rmse, "{published} vs {}", fit.rmse);
    // The trace cations pass freely, as Table 1 says (lower bounds only).
    for ion in ["Na+", "NH4+"] {
        assert!(fit.permeance(ion).unwrap() >= 50.0 * UM_S, "{ion}");
    }
}

/// In the sulfate feeds the dominant salt is rejected so well that the permeate holds as
/// many equivalents of traces as of salt: the closed forms then give a permeate that is far
/// from electroneutral, the full model one that is exactly so (and so different rejections of
/// Mg2+ and SO4 2-, which the data, one salt rejection for both, cannot show).
#[test]
fn trace_forms_lose_electroneutrality_where_the_salt_is_well_rejected() {
    let data = fdl_feed("MgSO4+traces");
    let perms: Vec<(&str, f64)> = [
        ("Na+", 79.4),
        ("Mg^2+", 0.9),
        ("NH4+", 80.0),
        ("Cl-", 15.7),
        ("NO3-", 41.9),
        ("SO4^2-", 0.13),
    ]
    .iter()
    .map(|(n, p)| (*n, p * UM_S))
    .collect();
    let model = Sdem::new(&reg(), &perms, Conditions::default()).unwrap();
    let m = data.last().unwrap();
    let trace = model.solve_trace_limit_unchecked(&m.feed, m.flux).unwrap();
    let full = model.solve(&m.feed, m.flux).unwrap();
    let equivalents = |p: &np_transport::OperatingPoint| {
        p.charges
            .iter()
            .zip(&p.permeate)
            .map(|(z, c)| (z * c).abs())
            .sum::<f64>()
    };
    assert!(trace.permeate_charge().abs() > 0.2 * equivalents(&trace));
    assert!(full.permeate_charge().abs() < 1e-9 * equivalents(&full));
    assert!(matches!(
        model.solve_trace_limit(&m.feed, m.flux),
        Err(TransportError::InvalidFeed(_))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Any permeances (1.5e-8 to 1.2e-4 m/s) and flux: the permeate is electroneutral and
    /// positive.
    #[test]
    fn permeate_is_electroneutral_and_positive(
        ln_p in proptest::collection::vec(-18.0f64..-9.0, 4),
        jv_um in 0.5f64..80.0,
    ) {
        let names = ["Na+", "Mg^2+", "Cl-", "SO4^2-"];
        let perms: Vec<(&str, f64)> = names.iter().copied().zip(ln_p.iter().map(|l| l.exp())).collect();
        let model = Sdem::new(&reg(), &perms, Conditions::default()).unwrap();
        let f = feed(&[("Na+", 20.0), ("Mg^2+", 5.0), ("Cl-", 10.0), ("SO4^2-", 10.0)]);
        let p = model.solve(&f, jv_um * UM_S).unwrap();
        let total: f64 = p.permeate.iter().zip(&p.charges).map(|(c, z)| (c * z).abs()).sum();
        proptest::prop_assert!(p.permeate.iter().all(|c| *c > 0.0 && c.is_finite()));
        proptest::prop_assert!(p.permeate_charge().abs() <= 1e-8 * total);
    }
}

/// A fixed charge with Donnan faces: zero charge is the plain SDEM; a negative charge
/// excludes the co-ion, so NaCl is rejected more the larger |X| is and the more dilute the
/// feed; the closed forms refuse a charged model.
#[test]
fn a_fixed_charge_excludes_co_ions() {
    let perms = [("Na+", 20.0 * UM_S), ("Cl-", 20.0 * UM_S)];
    let plain = Sdem::new(&reg(), &perms, Conditions::default()).unwrap();
    let with = |x: f64| {
        plain
            .clone()
            .with_charge(np_transport::ChargeModel::Constant(x))
            .unwrap()
    };
    let nacl = |c: f64| feed(&[("Na+", c), ("Cl-", c)]);
    let jv = 20.0 * UM_S;
    let r = |m: &Sdem, c: f64| m.solve(&nacl(c), jv).unwrap().rejection[0];
    assert!((r(&with(0.0), 10.0) - r(&plain, 10.0)).abs() < 1e-12);
    // Uncharged with equal permeances: R = J_v / (J_v + P) = 0.5.
    assert!((r(&plain, 10.0) - 0.5).abs() < 1e-7);
    let (r10, r50, r50_dilute) = (
        r(&with(-10.0), 10.0),
        r(&with(-50.0), 10.0),
        r(&with(-50.0), 2.0),
    );
    assert!(
        0.5 < r10 && r10 < r50 && r50 < r50_dilute && r50_dilute < 1.0,
        "{r10} {r50} {r50_dilute}"
    );
    assert!(matches!(
        with(-10.0).solve_trace_limit(&nacl(10.0), jv),
        Err(TransportError::InvalidParameter { name: "charge", .. })
    ));
    assert!(
        plain
            .clone()
            .with_charge(np_transport::ChargeModel::Constant(f64::NAN))
            .is_err()
    );
}

/// Permeances and a charge recovered from synthetic data of two ionic strengths.
#[test]
fn fit_recovers_a_charge() {
    let truth = Sdem::new(
        &reg(),
        &[
            ("Na+", 30.0 * UM_S),
            ("Cl-", 10.0 * UM_S),
            ("SO4^2-", 1.0 * UM_S),
        ],
        Conditions::default(),
    )
    .unwrap()
    .with_charge(np_transport::ChargeModel::Constant(-30.0))
    .unwrap();
    let fluxes: Vec<f64> = [4.0, 10.0, 25.0, 50.0].iter().map(|j| j * UM_S).collect();
    let data = intrinsic_measurements(
        &truth,
        &[
            feed(&[("Na+", 12.0), ("Cl-", 10.0), ("SO4^2-", 1.0)]),
            feed(&[("Na+", 60.0), ("Cl-", 20.0), ("SO4^2-", 20.0)]),
        ],
        &fluxes,
    );
    let mut opts = SdemFitOptions::new(Conditions::default());
    opts.charge = Some((-500.0, 500.0));
    let fit = fit_sdem(&data, &opts).unwrap();
    let (x, se, at_bound) = fit.charge.unwrap();
    assert!((x + 30.0).abs() < 1e-3, "X {x} ± {se}");
    assert!(!at_bound && se.is_finite());
    for (ion, p) in [("Na+", 30.0), ("Cl-", 10.0), ("SO4^2-", 1.0)] {
        let got = fit.permeance(ion).unwrap() / UM_S;
        assert!((got / p - 1.0).abs() < 1e-3, "{ion}: {got}");
    }
    opts.form = SdemForm::TraceIons;
    assert!(fit_sdem(&data, &opts).is_err());
}
