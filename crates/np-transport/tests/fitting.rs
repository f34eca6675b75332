//! Parameter fitting recovers known membranes.

use ion_species::{Composition, IonRegistry};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, Membrane, RejectionMeasurement, fit,
};

fn truth() -> Membrane {
    Membrane {
        pore_radius: 0.5e-9,
        effective_thickness: 2.0e-6,
        charge: ChargeModel::Constant(-30.0),
        pore_dielectric: 55.0,
        pore_size_distribution: None,
    }
}

fn data(noise: &[f64]) -> Vec<RejectionMeasurement> {
    let reg = IonRegistry::canonical();
    let feeds = [
        Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Mg2+", 5.0), ("Cl-", 10.0)]).unwrap(),
    ];
    let model = Dspmde::new(truth(), Conditions::default()).unwrap();
    let mut out = vec![];
    let mut k = 0;
    for feed in &feeds {
        for jv in [2e-6, 5e-6, 1e-5, 2e-5] {
            let p = model.solve(feed, jv).unwrap();
            // The salt's cation rejection (equal to the anion's for a single salt).
            out.push(RejectionMeasurement {
                feed: feed.clone(),
                flux: jv,
                rejections: vec![(p.ions[0].clone(), p.rejection[0] + noise[k % noise.len()])],
            });
            k += 1;
        }
    }
    out
}

fn opts() -> FitOptions {
    FitOptions {
        initial: Membrane {
            pore_radius: 0.45e-9,
            effective_thickness: 1.3e-6,
            charge: ChargeModel::Constant(-40.0),
            pore_dielectric: 55.0,
            pore_size_distribution: None,
        },
        conditions: Conditions::default(),
        fit_dielectric: false,
        max_evaluations: 400,
    }
}

#[test]
fn noise_free_data_recovers_the_membrane() {
    let r = fit(&data(&[0.0]), &opts()).unwrap();
    let t = truth();
    eprintln!(
        "fitted r_p = {:.5e}, dx = {:.5e}, X = {:?}, rmse {:.2e}, {} evaluations",
        r.membrane.pore_radius,
        r.membrane.effective_thickness,
        r.membrane.charge,
        r.rmse,
        r.evaluations
    );
    assert!((r.membrane.pore_radius / t.pore_radius - 1.0).abs() < 1e-4);
    assert!((r.membrane.effective_thickness / t.effective_thickness - 1.0).abs() < 1e-3);
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    assert!((x + 30.0).abs() < 1e-2, "{x}");
    assert!(r.rmse < 1e-7);
}

#[test]
fn noisy_data_gives_standard_errors_that_cover_the_truth() {
    // Fixed pseudo-noise of amplitude 0.005 in rejection.
    let noise = [
        0.004, -0.003, 0.005, -0.001, 0.002, -0.005, 0.001, 0.003, -0.004, 0.0, 0.002, -0.002,
    ];
    let r = fit(&data(&noise), &opts()).unwrap();
    let t = truth();
    let ChargeModel::Constant(x) = r.membrane.charge else {
        panic!()
    };
    eprintln!(
        "r_p = {:.4e} +/- {:.1e}, dx = {:.3e} +/- {:.1e}, X = {x:.2} +/- {:.2}, rmse {:.2e}",
        r.membrane.pore_radius,
        r.se_pore_radius,
        r.membrane.effective_thickness,
        r.se_effective_thickness,
        r.se_charge,
        r.rmse
    );
    assert!((r.membrane.pore_radius - t.pore_radius).abs() < 4.0 * r.se_pore_radius);
    assert!(
        (r.membrane.effective_thickness - t.effective_thickness).abs()
            < 4.0 * r.se_effective_thickness
    );
    assert!((x + 30.0).abs() < 4.0 * r.se_charge);
    assert!(r.se_pore_radius > 0.0 && r.rmse > 1e-3 && r.rmse < 1e-2);
}

#[test]
fn too_few_observations_is_an_error() {
    let d = data(&[0.0]);
    assert!(fit(&d[..2], &opts()).is_err());
}
