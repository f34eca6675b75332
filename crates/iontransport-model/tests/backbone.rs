//! The hybrid's backbone is the DSPM-DE under the activity model that predicts the validation
//! feeds best (`pipeline::fit_backbone`): on data simulated with ideal activities it keeps the
//! ideal model, on data simulated with Davies activities it takes Davies, whose training fit is
//! then clearly better too.

use ion_species::IonRegistry;
use iontransport_model::pipeline::{PipelineConfig, fit_backbone, fit_isotherm, prepare};
use np_transport::generate::{GeneratorConfig, generate};
use np_transport::{Activity, ChargeModel, Conditions, Dspmde, Membrane};

fn chosen(activity: Activity) -> (Activity, f64, f64) {
    let reg = IonRegistry::canonical();
    let truth = Dspmde::new(
        Membrane {
            charge: ChargeModel::Freundlich { a: -8.0, b: 0.35 },
            ..Membrane::nf270_like()
        },
        Conditions {
            activity,
            ..Conditions::default()
        },
    )
    .unwrap();
    let lmh = 1e-3 / 3600.0;
    let cfg = GeneratorConfig {
        feeds: 30,
        fluxes: [5.0, 15.0, 30.0, 50.0].iter().map(|f| f * lmh).collect(),
        noise: 0.01,
        seed: 7,
        regime_weights: [0.7, 0.3, 0.0],
        shard: (0, 1),
        progress: false,
    };
    let mut ds = generate(&truth, &reg, &cfg, "test").unwrap().dataset;
    ds.synthetic = Some("test".into());
    let pc = PipelineConfig {
        skip_pretraining: true,
        ..PipelineConfig::tiny(0)
    };
    let prep = prepare(&ds, &pc, &reg, false).unwrap();
    let (fit, conditions) = fit_backbone(&prep, &pc, &reg).unwrap();
    let ideal = fit_isotherm(&prep, &pc, &reg).unwrap();
    eprintln!(
        "{activity:?} data: chose {:?}, rmse {:.4} (ideal {:.4})",
        conditions.activity, fit.rmse, ideal.rmse
    );
    (conditions.activity, fit.rmse, ideal.rmse)
}

#[test]
fn the_backbone_keeps_ideal_activities_on_ideal_data() {
    let (activity, rmse, ideal) = chosen(Activity::Ideal);
    assert_eq!(activity, Activity::Ideal, "rmse {rmse} (ideal {ideal})");
    assert_eq!(rmse, ideal);
}

#[test]
fn the_backbone_takes_davies_activities_on_davies_data() {
    let (activity, rmse, ideal) = chosen(Activity::Davies);
    assert_eq!(activity, Activity::Davies, "rmse {rmse} (ideal {ideal})");
    // The validation feeds chose; the training fit agrees, by far.
    assert!(rmse < 0.8 * ideal, "rmse {rmse} against ideal {ideal}");
}
