//! Membrane files: a saved membrane predicts exactly what the fit predicted, the file records
//! what the fit knew, and a file that cannot be used is refused with its reason.

use ion_species::{Composition, IonRegistry};
use np_transport::membrane_file::{MEMBRANE_FORMAT, fingerprint};
use np_transport::{
    ChargeModel, Conditions, Dspmde, FitOptions, Membrane, MembraneFile, RejectionMeasurement,
    Starts, TransportError, fit,
};

#[path = "support/membranes.rs"]
mod membranes;
use membranes::truth;

fn feeds() -> Vec<Composition> {
    let reg = IonRegistry::canonical();
    vec![
        Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap(),
        Composition::from_mmol_per_l(&reg, &[("Na+", 20.0), ("SO4 2-", 10.0)]).unwrap(),
    ]
}

/// A fit of the three parameters to the cation rejections of two salts at three fluxes.
fn fitted() -> np_transport::FitResult {
    let model = Dspmde::new(truth(), Conditions::default()).unwrap();
    let mut data = vec![];
    for feed in feeds() {
        for jv in [3e-6, 1e-5, 2e-5] {
            let p = model.solve(&feed, jv).unwrap();
            let r = vec![(p.ions[0].clone(), p.rejection[0])];
            data.push(RejectionMeasurement::observed(feed.clone(), jv, r));
        }
    }
    let mut opts = FitOptions::new(
        Membrane {
            pore_radius: 0.45e-9,
            effective_thickness: 1.3e-6,
            charge: ChargeModel::Constant(-40.0),
            ..truth()
        },
        Conditions::default(),
    );
    opts.starts = Starts::Initial;
    fit(&data, &opts).unwrap()
}

#[test]
fn a_saved_membrane_predicts_exactly_what_the_fit_predicted() {
    let f = fitted();
    let csv = b"sample,Jv [m/s]\n";
    let file = MembraneFile::from_fit(&f, Conditions::default(), "lab.csv", csv, None).unwrap();
    // What the fit knew.
    let rec = file.fit.as_ref().unwrap();
    let names: Vec<&str> = rec.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pore_radius", "effective_thickness", "charge"]);
    assert_eq!(rec.parameters[0].value, f.membrane.pore_radius);
    assert_eq!(rec.parameters[0].standard_error, f.se_pore_radius);
    assert_eq!(rec.parameters[2].unit, "mol/m3");
    assert_eq!(rec.rejections, 6);
    assert_eq!(rec.correlation, f.correlation);
    assert_eq!(rec.data_fingerprint, fingerprint(csv));
    assert!((f.membrane.pore_radius - 0.5e-9).abs() < 1e-12);
    // Saved and loaded: the same file, the same predictions to the last bit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("membrane.json");
    file.save(&path).unwrap();
    let back = MembraneFile::load(&path).unwrap();
    assert_eq!(back, file);
    let fluxes = [1e-6, 7e-6, 2.5e-5];
    let want = Dspmde::new(f.membrane.clone(), Conditions::default()).unwrap();
    for feed in feeds() {
        let (a, b) = (
            back.dspmde().unwrap().sweep(&feed, &fluxes).unwrap(),
            want.sweep(&feed, &fluxes).unwrap(),
        );
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.rejection, y.rejection);
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(MEMBRANE_FORMAT) && text.contains("lab.csv"));
}

#[test]
fn a_membrane_file_that_cannot_be_used_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let good = MembraneFile::new(truth(), Conditions::default()).unwrap();
    good.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xff, 0xfe, 0x00, 0x9c], "not text"),
        (b"pore_radius = 0.5".to_vec(), "not JSON"),
        (b"{\"membrane\": {}}".to_vec(), "no `format"),
        (
            text.replace(MEMBRANE_FORMAT, "iontransport-model")
                .into_bytes(),
            "a model file?",
        ),
        (
            text.replace("\"version\": 1", "\"version\": 7")
                .into_bytes(),
            "version Some(7)",
        ),
        (
            text.replace("\"pore_radius\": 5e-10", "\"pore_radius\": -5e-10")
                .into_bytes(),
            "cannot be used",
        ),
        (
            text.replace("\"temperature\": 298.15", "\"temperature\": 5000.0")
                .into_bytes(),
            "cannot be used",
        ),
    ];
    for (bytes, want) in cases {
        std::fs::write(&path, &bytes).unwrap();
        match MembraneFile::load(&path) {
            Err(e @ TransportError::MembraneFile { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(want) && msg.contains("m.json"), "{msg}");
            }
            other => panic!("{want}: {other:?}"),
        }
    }
    // A membrane that is not a valid one is not written either.
    let mut bad = good.clone();
    bad.membrane.pore_radius = f64::NAN;
    assert!(bad.save(&dir.path().join("nan.json")).is_err());
    assert!(!dir.path().join("nan.json").exists());
}
