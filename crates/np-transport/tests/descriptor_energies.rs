//! Partition energies as a linear function of ion descriptors: the same physics as explicit
//! energies, fitted through the solve, carried to an ion the fit never saw, and refused by
//! name where an ion lacks a property or a weight is absurd.

use ion_species::{Composition, Ion, IonRegistry};
use np_transport::{
    ChargeModel, Conditions, Dspmde, EnergyDescriptor, FitJacobian, FitOptions, Membrane,
    Partitioning, RejectionMeasurement, Starts, TransportError, fit,
};

fn reg() -> IonRegistry {
    IonRegistry::extended()
}

fn feed(pairs: &[(&str, f64)]) -> Composition {
    Composition::from_mmol_per_l(&reg(), pairs).unwrap()
}

fn with_weights(weights: &[(EnergyDescriptor, f64)]) -> Membrane {
    Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 2e-6,
        charge: ChargeModel::Constant(-30.0),
        partitioning: Partitioning {
            descriptor_weights: weights.iter().copied().collect(),
            ..Partitioning::default()
        },
        ..Membrane::nf270_like()
    }
}

const TRUTH: [(EnergyDescriptor, f64); 2] = [
    (EnergyDescriptor::Hydration, 0.6),
    (EnergyDescriptor::ValenceSquared, -0.4),
];

#[test]
fn descriptor_values_follow_the_ion_data() {
    let r = reg();
    let ion = |n: &str| r.parse(n).unwrap().clone();
    // -dG_hyd / (100 RT) at 298.15 K from Marcus's -365 (Na+), -300 (NO3-) and -1830 (Mg2+)
    // kJ/mol, by hand.
    let rt = 8.314_462_618 * 298.15;
    for (name, g) in [("Na+", -365e3), ("NO3-", -300e3), ("Mg2+", -1830e3)] {
        let h = EnergyDescriptor::Hydration.value(&ion(name)).unwrap();
        assert!((h - (-g / (100.0 * rt))).abs() < 1e-9, "{name}: {h}");
    }
    let so4 = ion("SO4 2-");
    assert_eq!(EnergyDescriptor::ValenceSquared.value(&so4).unwrap(), 4.0);
    let rs = EnergyDescriptor::StokesRadius.value(&so4).unwrap();
    assert!((rs - so4.stokes_radius / 0.2e-9).abs() < 1e-12);
    for d in EnergyDescriptor::ALL {
        assert_eq!(EnergyDescriptor::parse(d.name()), Some(d));
    }
    assert_eq!(EnergyDescriptor::parse("charge"), None);
}

/// Weights are explicit energies E_i = sum_k w_k d_k(ion) under another name: the solver gives
/// the same rejections either way.
#[test]
fn weights_give_the_rejections_of_the_explicit_energies() {
    let f = feed(&[("Na+", 10.0), ("Mg2+", 5.0), ("Cl-", 15.0), ("NO3-", 5.0)]);
    let by_weights = with_weights(&TRUTH);
    let mut explicit = with_weights(&[]);
    for (ion, _) in f.iter() {
        let e: f64 = TRUTH.iter().map(|(d, w)| w * d.value(ion).unwrap()).sum();
        explicit.partitioning.energies.insert(ion.name.clone(), e);
        assert!((by_weights.partitioning.energy_of(ion).unwrap() - e).abs() < 1e-14);
    }
    let a = Dspmde::new(by_weights, Conditions::default())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    let b = Dspmde::new(explicit, Conditions::default())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    for (x, y) in a.rejection.iter().zip(&b.rejection) {
        assert!((x - y).abs() < 1e-12, "{x} {y}");
    }
    // And they are not nothing: without them the rejections differ.
    let plain = Dspmde::new(with_weights(&[]), Conditions::default())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    assert!((plain.rejection[3] - a.rejection[3]).abs() > 0.01);
}

fn measurements(model: &Dspmde) -> Vec<RejectionMeasurement> {
    let mut data = Vec::new();
    for f in [
        feed(&[("Na+", 20.0), ("Cl-", 15.0), ("NO3-", 5.0)]),
        feed(&[("Mg2+", 10.0), ("Cl-", 15.0), ("NO3-", 5.0)]),
        feed(&[("Na+", 20.0), ("SO4 2-", 8.0), ("Cl-", 4.0)]),
    ] {
        for jv in [3e-6, 1e-5, 3e-5] {
            let p = model.solve(&f, jv).unwrap();
            let rejections = p.ions.iter().cloned().zip(p.rejection.clone()).collect();
            data.push(RejectionMeasurement::observed(f.clone(), jv, rejections));
        }
    }
    data
}

/// Weights fitted through the solve (the implicit Jacobian) from three feeds without Li+ are
/// the truth's, and predict Li+ (never measured) in a new brine as the truth does. (From the
/// initial membrane alone the search stops in a valley at RMS 0.14 with X near 0, by either
/// Jacobian: the grid of starts is needed.)
#[test]
fn fitted_weights_are_recovered_and_carry_to_an_unseen_ion() {
    let truth = Dspmde::new(with_weights(&TRUTH), Conditions::default()).unwrap();
    let data = measurements(&truth);
    let opts = FitOptions {
        energy_descriptors: vec![
            EnergyDescriptor::Hydration,
            EnergyDescriptor::ValenceSquared,
        ],
        starts: Starts::Grid,
        jacobian: FitJacobian::Implicit,
        ..FitOptions::new(with_weights(&[]), Conditions::default())
    };
    let r = fit(&data, &opts).unwrap();
    for (d, w) in TRUTH {
        let (v, se, unit) = r.value(&format!("energy_weight:{}", d.name())).unwrap();
        assert_eq!(unit, "kT");
        assert!((v - w).abs() < 1e-3, "{}: {v} ± {se}, truth {w}", d.name());
    }
    assert!(r.rmse < 1e-5, "rmse {}", r.rmse);
    let brine = feed(&[("Li+", 10.0), ("Mg2+", 20.0), ("Cl-", 50.0)]);
    let fitted = Dspmde::new(r.membrane.clone(), Conditions::default()).unwrap();
    let (a, b) = (
        fitted.solve(&brine, 1e-5).unwrap(),
        truth.solve(&brine, 1e-5).unwrap(),
    );
    assert!(
        (a.rejection[0] - b.rejection[0]).abs() < 1e-3,
        "Li+ {} {}",
        a.rejection[0],
        b.rejection[0]
    );
    // Without the weights the same fit cannot describe the data.
    let plain = fit(
        &data,
        &FitOptions {
            energy_descriptors: vec![],
            ..opts
        },
    )
    .unwrap();
    assert!(plain.rmse > 100.0 * r.rmse, "{} {}", plain.rmse, r.rmse);
}

#[test]
fn bad_weights_and_missing_properties_are_named() {
    // A weight beyond the limit, or NaN.
    for w in [25.0, f64::NAN] {
        let e = with_weights(&[(EnergyDescriptor::StokesRadius, w)])
            .validate()
            .unwrap_err();
        assert!(
            matches!(
                e,
                TransportError::InvalidParameter {
                    name: "descriptor_weights",
                    ..
                }
            ),
            "{e}"
        );
    }
    // An energy beyond +-20 kT from valid weights: named with the ion at the solve.
    let big = Dspmde::new(
        with_weights(&[(EnergyDescriptor::Hydration, 5.0)]),
        Conditions::default(),
    )
    .unwrap();
    let e = big
        .solve(&feed(&[("Mg2+", 5.0), ("Cl-", 10.0)]), 1e-5)
        .unwrap_err();
    assert!(
        matches!(&e, TransportError::InvalidPartitionEnergy { ion, .. } if ion == "Mg^2+"),
        "{e}"
    );
    // An ion without a hydration free energy: the solve and the fit name it.
    let mut r = reg();
    let mut cs = r.parse("K+").unwrap().clone();
    cs.name = "Xx+".into();
    cs.formula = "Xx".into();
    cs.aliases = vec![];
    cs.hydration_free_energy = None;
    r.add(cs).unwrap();
    let f = Composition::from_mmol_per_l(&r, &[("Xx+", 10.0), ("Cl-", 10.0)]).unwrap();
    let model = Dspmde::new(
        with_weights(&[(EnergyDescriptor::Hydration, 0.1)]),
        Conditions::default(),
    )
    .unwrap();
    let e = model.solve(&f, 1e-5).unwrap_err();
    assert!(
        matches!(&e, TransportError::MissingIonProperty { ion, .. } if ion == "Xx+"),
        "{e}"
    );
    let data = vec![RejectionMeasurement::observed(
        f,
        1e-5,
        vec![("Xx+".into(), 0.5)],
    )];
    let opts = FitOptions {
        energy_descriptors: vec![EnergyDescriptor::Hydration],
        ..FitOptions::new(with_weights(&[]), Conditions::default())
    };
    let e = fit(&data, &opts).unwrap_err();
    assert!(
        matches!(&e, TransportError::MissingIonProperty { ion, .. } if ion == "Xx+"),
        "{e}"
    );
    let twice = FitOptions {
        energy_descriptors: vec![EnergyDescriptor::Hydration, EnergyDescriptor::Hydration],
        ..opts
    };
    assert!(
        fit(&data, &twice)
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
}

#[test]
fn weights_survive_a_json_round_trip_and_old_files_have_none() {
    let m = with_weights(&TRUTH);
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains("\"hydration\":0.6"), "{json}");
    let back: Membrane = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    let plain = serde_json::to_string(&with_weights(&[])).unwrap();
    assert!(!plain.contains("descriptor_weights"), "{plain}");
    let _: Ion = reg().parse("Li+").unwrap().clone();
}
