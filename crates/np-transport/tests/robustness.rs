//! Bad input gives typed errors; random feeds and membranes converge or fail cleanly.

use ion_species::{Composition, IonRegistry};
use np_transport::{
    Activity, ChargeModel, Conditions, Dspmde, LogNormalPores, Membrane, Polarisation,
    TransportError,
};
use proptest::prelude::*;

fn reg() -> IonRegistry {
    IonRegistry::canonical()
}

#[test]
fn bad_inputs_are_typed_errors() {
    let r = reg();
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let nacl = Composition::from_mmol_per_l(&r, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    assert_eq!(
        m.solve(&nacl, -1e-6).unwrap_err(),
        TransportError::InvalidFlux(-1e-6)
    );
    assert!(matches!(
        m.solve(&nacl, f64::NAN),
        Err(TransportError::InvalidFlux(_))
    ));
    let unbalanced = Composition::from_mmol_per_l(&r, &[("Na+", 10.0), ("Cl-", 8.0)]).unwrap();
    let e = m.solve(&unbalanced, 1e-5).unwrap_err();
    assert!(matches!(e, TransportError::InvalidFeed(_)), "{e}");
    assert!(e.to_string().contains("electroneutral"), "{e}");
    assert!(matches!(
        m.solve(&Composition::new(), 1e-5),
        Err(TransportError::InvalidFeed(_))
    ));
    // Mg2+ (r_s 0.347 nm) does not fit a 0.3 nm pore.
    let small = Dspmde::new(
        Membrane {
            pore_radius: 0.3e-9,
            ..Membrane::nf270_like()
        },
        Conditions::default(),
    )
    .unwrap();
    let mgcl2 = Composition::from_mmol_per_l(&r, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap();
    let e = small.solve(&mgcl2, 1e-5).unwrap_err();
    assert!(
        matches!(e, TransportError::IonLargerThanPore { ref ion, .. } if ion == "Mg^2+"),
        "{e}"
    );
    let e = Dspmde::new(
        Membrane {
            pore_radius: 0.45,
            ..Membrane::nf270_like()
        },
        Conditions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        TransportError::InvalidParameter {
            name: "pore_radius",
            ..
        }
    ));
    let e = Dspmde::new(
        Membrane::nf270_like(),
        Conditions {
            temperature: -3.0,
            ..Conditions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(
        e,
        TransportError::InvalidParameter {
            name: "temperature",
            ..
        }
    ));
    assert!(m.sweep(&nacl, &[2e-6, 1e-6]).is_err());
    assert!(m.solve_at_pressure(&nacl, -1.0).is_err());
}

#[test]
fn narrow_pore_size_distribution_equals_a_single_pore() {
    let r = reg();
    let feed =
        Composition::from_mmol_per_l(&r, &[("Na+", 20.0), ("Cl-", 10.0), ("SO4 2-", 5.0)]).unwrap();
    let single = Dspmde::new(Membrane::nf270_like(), Conditions::default())
        .unwrap()
        .solve(&feed, 1e-5)
        .unwrap();
    // Five log-normal pore classes of spread sigma around the NF270-like radius.
    let distributed = |sigma: f64| {
        let pore_size_distribution = Some(LogNormalPores { sigma, nodes: 5 });
        let m = Membrane {
            pore_size_distribution,
            ..Membrane::nf270_like()
        };
        let d = Dspmde::new(m, Conditions::default()).unwrap();
        d.solve(&feed, 1e-5).unwrap()
    };
    let narrow = distributed(1e-6);
    for (a, b) in single.rejection.iter().zip(&narrow.rejection) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    // A wide distribution lets more NaCl through the large pores.
    let wide = distributed(0.15);
    assert!(
        wide.rejection[1] < single.rejection[1],
        "{:?} vs {:?}",
        wide.rejection,
        single.rejection
    );
    assert!(wide.permeate_charge().abs() < 1e-8);
}

#[test]
fn pressure_mode_is_consistent_with_hagen_poiseuille() {
    let r = reg();
    let feed = Composition::from_mmol_per_l(&r, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
    let mem = Membrane::nf270_like();
    let m = Dspmde::new(mem.clone(), Conditions::default()).unwrap();
    let dp = 5e5; // 5 bar
    let p = m.solve_at_pressure(&feed, dp).unwrap();
    let perm =
        mem.pore_radius.powi(2) / (8.0 * np_transport::WATER_VISCOSITY * mem.effective_thickness);
    let want = (dp - p.osmotic_pressure) * perm;
    assert!((p.flux - want).abs() < 1e-8 * want, "{} vs {want}", p.flux);
    // Na2SO4 is well rejected, so the osmotic pressure is close to RT * 30 mol/m^3 = 74 kPa.
    assert!(
        p.osmotic_pressure > 6e4 && p.osmotic_pressure < 7.5e4,
        "{}",
        p.osmotic_pressure
    );
}

#[test]
fn davies_activity_matters_where_ionic_strengths_differ_across_the_interface() {
    // Uncharged membrane, 1 mmol/L: activity coefficients are ~1 on both sides, so Davies
    // changes nothing of note. A charged membrane concentrates counter-ions in the pore
    // (pore ionic strength ~ |X|/2 = 20 mol/m^3), so pore activity coefficients drop and the
    // rejection changes.
    let r = reg();
    let dilute = Composition::from_mmol_per_l(&r, &[("Na+", 1.0), ("Cl-", 1.0)]).unwrap();
    let diff = |x: f64| {
        let mem = Membrane {
            charge: ChargeModel::Constant(x),
            ..Membrane::nf270_like()
        };
        let ideal = Dspmde::new(mem.clone(), Conditions::default()).unwrap();
        let davies = Dspmde::new(
            mem,
            Conditions {
                activity: Activity::Davies,
                ..Conditions::default()
            },
        )
        .unwrap();
        (ideal.solve(&dilute, 1e-5).unwrap().rejection[0]
            - davies.solve(&dilute, 1e-5).unwrap().rejection[0])
            .abs()
    };
    let (neutral, charged) = (diff(0.0), diff(-40.0));
    eprintln!("|R_ideal - R_davies|: uncharged {neutral:.2e}, charged {charged:.2e}");
    assert!(neutral < 5e-3, "{neutral}");
    assert!(charged > 2.0 * neutral, "{charged} vs {neutral}");
}

#[test]
fn potential_profile_spans_the_pore() {
    let r = reg();
    let feed = Composition::from_mmol_per_l(&r, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap();
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let p = m.solve_with_profile(&feed, 1e-5, 11).unwrap();
    assert_eq!(p.potential_profile.len(), 11);
    assert_eq!(p.potential_profile[0], (0.0, 0.0));
    let (x_end, _) = p.potential_profile[10];
    assert!((x_end - m.membrane.effective_thickness).abs() < 1e-15);
    assert!(p.potential_profile.iter().all(|(_, psi)| psi.is_finite()));
}

fn random_feed() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![Just(0.0), 0.01f64..300.0], 8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_problems_converge_or_error_never_nan(
        v in random_feed(),
        rp in 0.38e-9f64..1.2e-9,
        dx in 0.3e-6f64..5e-6,
        x in -120.0f64..60.0,
        eps in 35.0f64..78.4,
        jv in 1e-7f64..5e-5,
        film in any::<bool>(),
    ) {
        let r = reg();
        let Ok(c) = Composition::from_vector(&r, &v, false) else { return Ok(()) };
        let Ok(feed) = c.balanced_with(&r, "Cl-").or_else(|_| c.balanced_with(&r, "Na+")) else { return Ok(()) };
        let cond = Conditions {
            polarisation: if film { Polarisation::Film { thickness: 2e-5 } } else { Polarisation::Off },
            ..Conditions::default()
        };
        let m = Dspmde::new(Membrane { pore_radius: rp, effective_thickness: dx, charge: ChargeModel::Constant(x), pore_dielectric: eps, pore_size_distribution: None, partitioning: Default::default() }, cond).unwrap();
        match m.solve(&feed, jv) {
            Ok(p) => {
                prop_assert!(p.permeate.iter().all(|c| c.is_finite() && *c >= 0.0));
                prop_assert!(p.rejection.iter().all(|r| r.is_finite()));
                let scale: f64 = p.permeate.iter().zip(&p.charges).map(|(c, z)| c * z.abs()).sum();
                prop_assert!(p.permeate_charge().abs() <= 1e-7 * scale.max(1e-12));
            }
            Err(e) => {
                // Only typed, explained failures are allowed.
                let msg = e.to_string();
                prop_assert!(!msg.is_empty());
            }
        }
    }
}

#[test]
fn donnan_and_hindrance_refuse_bad_input_instead_of_panicking_or_returning_nan() {
    use np_transport::TransportError;
    use np_transport::hindrance::Hindrance;
    use np_transport::partition::donnan;
    // Slices of different lengths used to panic (index out of bounds).
    let mut out = [0.0; 2];
    assert!(matches!(
        donnan(&[1.0, -1.0], &[1.0], &[10.0, 10.0], -5.0, false, &mut out),
        Err(TransportError::InvalidFeed(_))
    ));
    assert!(donnan(&[1.0, -1.0], &[1.0, 1.0], &[10.0], -5.0, false, &mut out).is_err());
    let mut short = [0.0; 1];
    assert!(
        donnan(
            &[1.0, -1.0],
            &[1.0, 1.0],
            &[10.0, 10.0],
            -5.0,
            false,
            &mut short
        )
        .is_err()
    );
    // A NaN membrane charge used to give finite numbers.
    assert!(matches!(
        donnan(
            &[1.0, -1.0],
            &[1.0, 1.0],
            &[10.0, 10.0],
            f64::NAN,
            true,
            &mut out
        ),
        Err(TransportError::InvalidParameter { .. })
    ));
    assert!(
        donnan(
            &[1.0, -1.0],
            &[1.0, 1.0],
            &[10.0, f64::NAN],
            -5.0,
            false,
            &mut out
        )
        .is_err()
    );
    // Valid input still works: 1:1 salt, closed form.
    let psi = donnan(
        &[1.0, -1.0],
        &[1.0, 1.0],
        &[10.0, 10.0],
        -50.0,
        false,
        &mut out,
    )
    .unwrap();
    assert!(psi.is_finite() && (out[0] - out[1] - 50.0).abs() < 1e-9);
    // Hindrance: negative pore radius, NaN ion radius, both zero used to be NaN successes.
    for (rs, rp) in [
        (0.2e-9, -0.5e-9),
        (f64::NAN, 0.5e-9),
        (0.0, 0.0),
        (0.2e-9, f64::INFINITY),
        (-0.1e-9, 0.5e-9),
    ] {
        let h = Hindrance::new("X", rs, rp);
        assert!(
            matches!(h, Err(TransportError::InvalidParameter { .. })),
            "{rs} {rp}: {h:?}"
        );
    }
    let h = Hindrance::new("Na+", 0.184e-9, 0.5e-9).unwrap();
    assert!(h.phi > 0.0 && h.kd > 0.0 && h.kc > 0.0);
}

#[test]
fn struct_literals_are_validated_at_solve_time_and_absurd_fluxes_are_refused_fast() {
    use ion_species::{Composition, IonRegistry};
    use np_transport::{Conditions, Dspmde, LogNormalPores, Membrane, PoreScheme, TransportError};
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    // A struct literal skips `new`: Elements(0) used to return R = 0 as success.
    let bad_scheme = Dspmde {
        membrane: Membrane::nf270_like(),
        conditions: Conditions {
            scheme: PoreScheme::Elements(0),
            ..Conditions::default()
        },
    };
    assert!(matches!(
        bad_scheme.solve(&feed, 1e-5),
        Err(TransportError::InvalidParameter { .. })
    ));
    // A zero-node pore distribution used to return R = 1.
    let bad_psd = Dspmde {
        membrane: Membrane {
            pore_size_distribution: Some(LogNormalPores {
                sigma: 0.2,
                nodes: 0,
            }),
            ..Membrane::nf270_like()
        },
        conditions: Conditions::default(),
    };
    assert!(bad_psd.solve(&feed, 1e-5).is_err());
    // 0.1 m/s (an L/m2/h value typed as m/s) took seconds to fail; now refused at once.
    let m = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    for jv in [0.1, 1.0, 2e-3] {
        let e = m.solve(&feed, jv).unwrap_err();
        assert!(matches!(e, TransportError::InvalidFlux(_)), "{e}");
        assert!(e.to_string().contains("L m^-2 h^-1"));
    }
    assert!(m.sweep(&feed, &[1e-5, 0.3]).is_err());
    assert!(m.solve(&feed, np_transport::MAX_FLUX * 0.05).is_ok());
}

#[test]
fn while_writes_are_stopped_no_temporary_file_exists() {
    // A writer thread saves a file over and over; whenever `stop_writes` returns, no
    // temporary file may be on disk (a signal handler then exits holding the guard). With
    // the former design (the handler removed the temporaries it knew of) the writer could
    // create its file just after the removal.
    use np_transport::data::{stop_writes, write_atomic};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.json");
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let bytes = vec![b'x'; 64 * 1024];
            while !done.load(Ordering::Relaxed) {
                write_atomic(&target, &bytes).unwrap();
            }
        });
        for _ in 0..300 {
            let _stopped = stop_writes();
            let temporaries: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect();
            assert!(temporaries.is_empty(), "{temporaries:?}");
            if target.exists() {
                assert_eq!(std::fs::read(&target).unwrap().len(), 64 * 1024);
            }
        }
        done.store(true, Ordering::Relaxed);
    });
}
