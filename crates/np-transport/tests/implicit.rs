//! Rejection sensitivities by the implicit function theorem against central differences of
//! whole solves converged far below the default tolerance.

use ion_species::{Composition, IonRegistry};
use np_transport::{
    BornRadius, ChargeModel, Conditions, Dspmde, EnergyDescriptor, LogNormalPores, Membrane,
    Partitioning, Polarisation, PoreScheme, TransportError, parameter_value,
};

fn feed(pairs: &[(&str, f64)]) -> Composition {
    Composition::from_mmol_per_l(&IonRegistry::extended(), pairs).unwrap()
}

fn tight(conditions: Conditions) -> Conditions {
    Conditions {
        tolerance: 1e-13,
        max_iterations: 200,
        ..conditions
    }
}

/// dR/dp by central differences of whole sweeps: p changed through the same parameter
/// mapping as a fit's, relative steps for the positive scales, absolute for the others.
fn by_differences(model: &Dspmde, feed: &Composition, fluxes: &[f64], name: &str) -> Vec<Vec<f64>> {
    let (v, _) = parameter_value(&model.membrane, name).unwrap();
    let h = match name {
        "charge" | "charge_cations" | "charge_anions" => 1e-3 * v.abs().max(1.0),
        "charge_exponent" => 1e-4,
        n if n.starts_with("partition_energy:") || n.starts_with("energy_weight:") => 1e-4,
        _ => 1e-4 * v,
    };
    let at = |x: f64| {
        let mut m = model.membrane.clone();
        set(&mut m, name, x);
        let s = Dspmde::new(m, model.conditions.clone())
            .and_then(|d| d.sweep(feed, fluxes))
            .unwrap();
        s.into_iter().map(|p| p.rejection).collect::<Vec<_>>()
    };
    let (plus, minus) = (at(v + h), at(v - h));
    plus.iter()
        .zip(&minus)
        .map(|(p, m)| p.iter().zip(m).map(|(a, b)| (a - b) / (2.0 * h)).collect())
        .collect()
}

fn set(m: &mut Membrane, name: &str, x: f64) {
    match name {
        "pore_radius" => m.pore_radius = x,
        "effective_thickness" => m.effective_thickness = x,
        "pore_dielectric" => m.pore_dielectric = x,
        "charge" => {
            m.charge = match m.charge {
                ChargeModel::Constant(_) => ChargeModel::Constant(x),
                ChargeModel::Freundlich { b, .. } => ChargeModel::Freundlich {
                    // X_ref = a I_ref^b with I_ref = ISOTHERM_REFERENCE.
                    a: x / np_transport::ISOTHERM_REFERENCE.powf(b),
                    b,
                },
                ChargeModel::Langmuir { k, .. } => ChargeModel::Langmuir {
                    x_max: x * (k + np_transport::ISOTHERM_REFERENCE)
                        / np_transport::ISOTHERM_REFERENCE,
                    k,
                },
                ChargeModel::Multivalent {
                    cations, anions, ..
                } => ChargeModel::Multivalent {
                    x0: x,
                    cations,
                    anions,
                },
            }
        }
        "charge_cations" | "charge_anions" => {
            if let ChargeModel::Multivalent {
                ref mut cations,
                ref mut anions,
                ..
            } = m.charge
            {
                *(if name == "charge_cations" {
                    cations
                } else {
                    anions
                }) = x;
            }
        }
        "charge_exponent" => {
            if let ChargeModel::Freundlich { a, b } = m.charge {
                let x_ref = a * np_transport::ISOTHERM_REFERENCE.powf(b);
                m.charge = ChargeModel::Freundlich {
                    a: x_ref / np_transport::ISOTHERM_REFERENCE.powf(x),
                    b: x,
                };
            }
        }
        n if n.starts_with("energy_weight:") => {
            let d = EnergyDescriptor::parse(&n["energy_weight:".len()..]).unwrap();
            m.partitioning.descriptor_weights.insert(d, x);
        }
        n => {
            let ion = n.strip_prefix("partition_energy:").unwrap();
            m.partitioning.energies.insert(ion.to_string(), x);
        }
    }
}

/// Every column of the implicit sensitivities within `tol` (relative to the column's largest
/// entry, plus 1e-9) of the whole-solve differences.
fn check(model: &Dspmde, feed: &Composition, fluxes: &[f64], names: &[&str], tol: f64) {
    let s = model.sweep_with_sensitivities(feed, fluxes, names).unwrap();
    for (k, name) in names.iter().enumerate() {
        let fd = by_differences(model, feed, fluxes, name);
        let scale = fd.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{name}: the rejections do not move at all");
        for (j, point) in s.iter().enumerate() {
            for i in 0..point.point.ions.len() {
                let (a, b) = (point.rejection[(i, k)], fd[j][i]);
                assert!(
                    (a - b).abs() <= tol * scale + 1e-9,
                    "{name}, flux {:e}, {}: implicit {a:e}, differences {b:e} (scale {scale:e})",
                    fluxes[j],
                    point.point.ions[i]
                );
            }
        }
    }
}

const FLUXES: [f64; 3] = [2e-6, 1e-5, 3e-5];

#[test]
fn constant_charge_all_parameters_match_differences() {
    let model = Dspmde::new(Membrane::nf270_like(), tight(Conditions::default())).unwrap();
    let f = feed(&[("Na+", 10.0), ("Mg2+", 5.0), ("Cl-", 10.0), ("SO4 2-", 5.0)]);
    let names = [
        "pore_radius",
        "effective_thickness",
        "charge",
        "pore_dielectric",
    ];
    check(&model, &f, &FLUXES, &names, 1e-6);
}

#[test]
fn isotherm_energies_and_hydration_born_match_differences() {
    let membrane = Membrane {
        charge: ChargeModel::Freundlich { a: -4.0, b: 0.45 },
        partitioning: Partitioning {
            born_radius: BornRadius::Hydration,
            energies: [("NO3-".to_string(), -0.7)].into(),
            ..Default::default()
        },
        ..Membrane::nf270_like()
    };
    let model = Dspmde::new(membrane, tight(Conditions::default())).unwrap();
    let f = feed(&[("Na+", 20.0), ("Cl-", 15.0), ("NO3-", 5.0)]);
    let names = [
        "charge",
        "charge_exponent",
        "partition_energy:NO3-",
        "pore_radius",
    ];
    check(&model, &f, &FLUXES, &names, 1e-6);
}

#[test]
fn polarisation_film_and_finite_elements_match_differences() {
    let f = feed(&[("Na+", 30.0), ("Cl-", 10.0), ("SO4 2-", 10.0)]);
    let names = ["pore_radius", "charge", "effective_thickness"];
    let film = tight(Conditions {
        polarisation: Polarisation::Film { thickness: 2e-5 },
        ..Conditions::default()
    });
    check(
        &Dspmde::new(Membrane::nf270_like(), film).unwrap(),
        &f,
        &FLUXES,
        &names,
        1e-6,
    );
    let elements = tight(Conditions {
        scheme: PoreScheme::Elements(1),
        ..Conditions::default()
    });
    check(
        &Dspmde::new(Membrane::nf270_like(), elements).unwrap(),
        &f,
        &FLUXES,
        &names,
        1e-6,
    );
}

#[test]
fn zero_flux_has_zero_sensitivity_and_rejection_is_linear_to_first_order() {
    let model = Dspmde::new(Membrane::nf270_like(), tight(Conditions::default())).unwrap();
    let f = feed(&[("Na+", 10.0), ("Cl-", 10.0)]);
    let s = model
        .sweep_with_sensitivities(&f, &[0.0, 1e-5], &["pore_radius"])
        .unwrap();
    assert!(s[0].rejection.iter().all(|v| *v == 0.0));
    // R(r_p + dr) ≈ R(r_p) + dR/dr dr with an error of second order in dr.
    let dr = 0.01e-9;
    let mut m = model.membrane.clone();
    m.pore_radius += dr;
    let moved = Dspmde::new(m, model.conditions.clone())
        .unwrap()
        .solve(&f, 1e-5)
        .unwrap();
    for i in 0..2 {
        let linear = s[1].point.rejection[i] + s[1].rejection[(i, 0)] * dr;
        let change = (moved.rejection[i] - s[1].point.rejection[i]).abs();
        assert!(
            (moved.rejection[i] - linear).abs() < 0.05 * change,
            "ion {i}: linear {linear}, solved {}",
            moved.rejection[i]
        );
    }
}

#[test]
fn bad_requests_are_typed_errors() {
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let f = feed(&[("Na+", 10.0), ("Cl-", 10.0)]);
    let err = |names: &[&str]| {
        model
            .sweep_with_sensitivities(&f, &[1e-5], names)
            .unwrap_err()
            .to_string()
    };
    assert!(err(&["pore_size"]).contains("unknown parameter `pore_size`"));
    assert!(err(&["charge_exponent"]).contains("no such isotherm"));
    let psd = Membrane {
        pore_size_distribution: Some(LogNormalPores {
            sigma: 0.2,
            nodes: 5,
        }),
        ..Membrane::nf270_like()
    };
    let e = Dspmde::new(psd, Conditions::default())
        .unwrap()
        .sweep_with_sensitivities(&f, &[1e-5], &["charge"])
        .unwrap_err();
    assert!(matches!(
        e,
        TransportError::InvalidParameter {
            name: "pore_size_distribution",
            ..
        }
    ));
    assert!(matches!(
        model.sweep_with_sensitivities(&f, &[-1e-5], &["charge"]),
        Err(TransportError::InvalidFlux(_))
    ));
}

#[test]
fn a_parameter_at_its_limit_is_differenced_one_sidedly() {
    // A Freundlich exponent just below its limit of 2 (where a fit running to its bound
    // ends): the step above is invalid, so the residual is differenced from below only.
    let top = 2.0 - 1e-7;
    let membrane = Membrane {
        charge: ChargeModel::Freundlich { a: -0.01, b: top },
        ..Membrane::nf270_like()
    };
    let model = Dspmde::new(membrane, tight(Conditions::default())).unwrap();
    let f = feed(&[("Na+", 10.0), ("Cl-", 10.0)]);
    let s = model
        .sweep_with_sensitivities(&f, &[1e-5], &["charge_exponent"])
        .unwrap();
    let fd = by_differences_below(&model, &f, top);
    for (i, fd) in fd.iter().enumerate() {
        let ift = s[0].rejection[(i, 0)];
        assert!(
            fd.abs() > 1e-3 && (ift - fd).abs() <= 1e-3 * fd.abs(),
            "ion {i}: {ift:e} against {fd:e}"
        );
    }
}

/// Backward differences in the Freundlich exponent, X_ref held (as the fit's parameters).
fn by_differences_below(model: &Dspmde, f: &Composition, b: f64) -> Vec<f64> {
    let h = 1e-5;
    let at = |x: f64| {
        let mut m = model.membrane.clone();
        set(&mut m, "charge_exponent", x);
        Dspmde::new(m, model.conditions.clone())
            .unwrap()
            .solve(f, 1e-5)
            .unwrap()
            .rejection
    };
    let (r0, r1) = (at(b), at(b - h));
    r0.iter().zip(&r1).map(|(a, c)| (a - c) / h).collect()
}

#[test]
fn a_charge_set_by_multivalent_ions_matches_differences() {
    let membrane = Membrane {
        charge: ChargeModel::Multivalent {
            x0: -40.0,
            cations: 30.0,
            anions: -20.0,
        },
        ..Membrane::nf270_like()
    };
    let model = Dspmde::new(membrane, tight(Conditions::default())).unwrap();
    let f = feed(&[("Na+", 10.0), ("Mg2+", 5.0), ("Cl-", 15.0), ("SO4 2-", 2.5)]);
    let names = ["charge", "charge_cations", "charge_anions", "pore_radius"];
    // Measured worst: 1.3e-6 of the column's scale (charge, Mg2+ at 1e-5 m/s).
    check(&model, &f, &FLUXES, &names, 3e-6);
}
