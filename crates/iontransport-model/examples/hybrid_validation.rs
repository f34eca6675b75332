//! Chooses the hybrid model's training settings on the VALIDATION feeds only (the test feeds
//! are never looked at): fits the DSPM-DE once, then trains the hybrid under each setting and
//! prints its best validation MSE and rejection errors on the validation feeds by ion class.
//!
//! ```text
//! cargo run --release -p iontransport-model --example hybrid_validation -- DATA.csv [SEED]
//! ```

use ion_species::IonRegistry;
use iontransport_model::data::Trajectory;
use iontransport_model::evaluate::{dspmde_prediction, metrics, neural_prediction};
use iontransport_model::pipeline::{
    PipelineConfig, fit_backbone, fit_isotherm, hybrid_config, prepare, with_backbones,
};
use iontransport_model::{IonModel, Phase, TrainConfig, train};
use np_transport::data::Dataset;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: hybrid_validation DATA.csv [SEED]")?;
    let seed: u64 = args.get(2).map_or(Ok(0), |s| s.parse())?;
    let reg = IonRegistry::canonical();
    let ds = Dataset::read_csv(Path::new(path), &reg)?;
    let mut cfg = PipelineConfig::quick(seed);
    cfg.skip_pretraining = true;
    let prep = prepare(&ds, &cfg, &reg, false)?;
    let pick = |set: &[Trajectory], idx: &[usize]| -> Vec<Trajectory> {
        idx.iter().map(|&i| set[i].clone()).collect()
    };
    let va_plain = pick(&prep.all, &prep.split.validation);
    let d = metrics(&va_plain, &reg.valences(), &|t| {
        dspmde_prediction(&prep.dspm, &reg, 1e-5, t)
    })?;
    let classes = |m: &iontransport_model::evaluate::Metrics| -> String {
        m.classes
            .iter()
            .map(|c| {
                format!(
                    "{} {:.3}/{:.0}%",
                    c.class.name(),
                    c.mae_rejection,
                    100.0 * c.within_10_percent
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let (mut s2, mut cnt) = (0.0, 0);
    for t in &va_plain {
        for sd in t.sds.iter().flatten() {
            s2 += sd * sd;
            cnt += 1;
        }
    }
    println!(
        "validation feeds: {}; noise floor (mean sd^2 of the targets) {:.3e} over {cnt} entries",
        va_plain.len(),
        s2 / cnt.max(1) as f64
    );
    for (f, e, n) in d.mse_by_feed().iter().take(6) {
        println!("  DSPM-DE worst validation feed {f}: MSE {e:.3e} over {n}");
    }
    println!(
        "fitted DSPM-DE       val MSE {:.3e}  {}",
        d.mse,
        classes(&d)
    );
    let iso = fit_isotherm(&prep, &cfg, &reg)?;
    println!(
        "isotherm fit: {:?}, rmse {:.4} (constant charge {:?}, rmse {:.4})",
        iso.membrane.charge, iso.rmse, prep.fitted.membrane.charge, prep.fitted.rmse
    );
    let iso_dspm = np_transport::Dspmde::new(iso.membrane.clone(), prep.dspm.conditions.clone())?;
    let di = metrics(&va_plain, &reg.valences(), &|t| {
        dspmde_prediction(&iso_dspm, &reg, 1e-5, t)
    })?;
    println!(
        "DSPM-DE + isotherm   val MSE {:.3e}  {}",
        di.mse,
        classes(&di)
    );
    // The backbone the pipeline uses: the isotherm under the activity model (ideal or
    // Davies) that predicts the validation feeds better (the pipeline's rule).
    let (chosen, chosen_conditions) = fit_backbone(&prep, &cfg, &reg)?;
    let chosen_dspm =
        np_transport::Dspmde::new(chosen.membrane.clone(), chosen_conditions.clone())?;
    let dc = metrics(&va_plain, &reg.valences(), &|t| {
        dspmde_prediction(&chosen_dspm, &reg, 1e-5, t)
    })?;
    println!(
        "chosen backbone: {:?} activity, rmse {:.4} (ideal {:.4})",
        chosen_conditions.activity, chosen.rmse, iso.rmse
    );
    println!(
        "DSPM-DE + isotherm, chosen activity  val MSE {:.3e}  {}",
        dc.mse,
        classes(&dc)
    );
    #[derive(Clone, Copy)]
    enum Backbone {
        Constant,
        Isotherm,
        Chosen,
    }
    let settings: Vec<(&str, f64, usize, usize, Backbone)> = vec![
        // (name, lr, patience, hidden, backbone)
        ("const lr1e-3 p15", 1e-3, 15, 32, Backbone::Constant),
        ("iso lr1e-3 p15", 1e-3, 15, 32, Backbone::Isotherm),
        ("iso lr3e-4 p30", 3e-4, 30, 32, Backbone::Isotherm),
        ("iso lr3e-4 p30 h16", 3e-4, 30, 16, Backbone::Isotherm),
        ("chosen lr1e-3 p15", 1e-3, 15, 32, Backbone::Chosen),
    ];
    for (name, lr, patience, hidden, backbone) in settings {
        let mut c = cfg.clone();
        c.network.hidden = hidden;
        let (membrane, conditions) = match backbone {
            Backbone::Constant => (&prep.fitted.membrane, &prep.dspm.conditions),
            Backbone::Isotherm => (&iso.membrane, &prep.dspm.conditions),
            Backbone::Chosen => (&chosen.membrane, &chosen_conditions),
        };
        let mc = hybrid_config(&prep, &c, &reg, membrane, conditions)?;
        let all = with_backbones(&mc, &prep.all)?;
        let (tr, va) = (
            pick(&all, &prep.split.train),
            pick(&all, &prep.split.validation),
        );
        let mut model = IonModel::new(mc, seed)?;
        let mut tc = TrainConfig::method(Phase::Pretrain, 200, seed.wrapping_add(13));
        tc.lr = lr;
        tc.patience = patience;
        let t0 = std::time::Instant::now();
        let rep = train(&mut model, &tr, &va, &tc, None, None)?;
        let m = metrics(&va, &reg.valences(), &|t| neural_prediction(&model, t))?;
        let h = &rep.history;
        println!(
            "  train loss epoch 1 {:.3e} -> best epoch {:.3e} -> last {:.3e}",
            h[0].1,
            h.iter().map(|x| x.1).fold(f64::INFINITY, f64::min),
            h[h.len() - 1].1
        );
        println!(
            "hybrid {name:<14} val MSE {:.3e} ({} epochs, {:.0} s)  {}",
            m.mse,
            rep.epochs_run,
            t0.elapsed().as_secs_f64(),
            classes(&m)
        );
    }
    Ok(())
}
