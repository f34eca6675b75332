//! Gradients, masking invariances, electroneutrality and bad input of the attention neural ODE.

mod support;

use ion_species::{Composition, IonRegistry};
use iontransport_model::data::trajectories;
use iontransport_model::network::Body;
use iontransport_model::train::trajectory_gradient;
use iontransport_model::{
    Architecture, Checkpoint, Constraint, IonModel, LossSpace, ModelConfig, ModelError,
    NetworkConfig, PreparedFeed, TrajectoryField,
};
use support::field_vjp_error;

fn tiny(constraint: Constraint, attention: bool) -> IonModel {
    tiny_with(constraint, attention, Body::Mlp)
}

fn tiny_with(constraint: Constraint, attention: bool, body: Body) -> IonModel {
    let reg = IonRegistry::canonical();
    let net = NetworkConfig {
        attention,
        body,
        ..support::tiny_network()
    };
    let mut cfg = ModelConfig::for_registry(&reg, net, constraint);
    cfg.rtol = 1e-11;
    cfg.atol = 1e-13;
    let mut m = IonModel::new(cfg, 5).unwrap();
    // Larger last layer so the dynamics are not trivially small.
    let start = m.layout().layers[4];
    for p in &mut m.params[start..] {
        *p *= 10.0;
    }
    m
}

fn feed_vec() -> Vec<f64> {
    // Na+, K+, Li+, Mg2+, Ca2+, Cl-, SO4 2-, NO3- (K+ and Li+ absent).
    vec![30.0, 0.0, 0.0, 5.0, 2.0, 34.0, 5.0, 0.0]
}

#[test]
fn vector_field_vjp_matches_finite_differences() {
    for (constraint, attention, body) in [
        (Constraint::Hard, true, Body::Mlp),
        (Constraint::Soft { weight: 1.0 }, true, Body::Mlp),
        (Constraint::Hard, false, Body::Mlp),
        (Constraint::Hard, true, Body::Cnn { channels: 3 }),
        (
            Constraint::Soft { weight: 1.0 },
            false,
            Body::Cnn { channels: 3 },
        ),
        (Constraint::Hard, true, Body::UNet { channels: 2 }),
        (Constraint::Hard, false, Body::UNet { channels: 2 }),
        (Constraint::HardPositive, true, Body::Mlp),
        (Constraint::HardPositive, false, Body::Cnn { channels: 3 }),
    ] {
        let m = tiny_with(constraint, attention, body);
        let pf = PreparedFeed::new(&m.config, &feed_vec()).unwrap();
        let f = TrajectoryField::new(&m, &pf.cond).unwrap();
        let h: Vec<f64> = pf.cond.h0.iter().map(|x| x * 0.9).collect();
        let a = [0.3, -0.2, 0.5, 0.7, -0.4, 0.1, 0.9, -0.6];
        let (worst, _, _) = field_vjp_error(&f, &m.params, 0.7, &h, &a);
        eprintln!("{constraint:?}, attention {attention}, {body:?}: worst VJP error {worst:.2e}");
        assert!(worst < 1e-7, "{worst}");
    }
}

/// The trajectory loss gradient `g` of `m` against central differences (step 1e-5, every
/// third parameter): the worst error relative to the largest |g|, and that |g|.
fn trajectory_fd_error(
    m: &IonModel,
    t: &iontransport_model::data::Trajectory,
    targets: &[Option<f64>],
    g: &[f64],
) -> (f64, f64) {
    let loss = |p: &[f64]| {
        let mm = IonModel::from_parts(m.config.clone(), p.to_vec()).unwrap();
        trajectory_gradient(&mm, t, targets, 0, false).unwrap().0
    };
    support::gradient_fd_error(loss, &m.params, g, 1e-5, 3)
}

#[test]
fn whole_model_gradient_matches_finite_differences() {
    let m = tiny(Constraint::Hard, true);
    let pf = PreparedFeed::new(&m.config, &feed_vec()).unwrap();
    let t = support::falling_trajectory(pf, &[0.5, 1.0, 2.0], 0.2);
    let targets = t.targets.clone();
    let (_, g, _) = trajectory_gradient(&m, &t, &targets, 0, true).unwrap();
    // Frozen front: the gradient of the trainable tail is unchanged, the rest is zero.
    let start = m.fine_tune_start();
    let (_, gf, _) = trajectory_gradient(&m, &t, &targets, start, true).unwrap();
    assert!(gf[..start].iter().all(|x| *x == 0.0));
    for i in start..m.num_params() {
        assert!(
            (gf[i] - g[i]).abs() <= 1e-9 * (1.0 + g[i].abs()),
            "{i}: {} vs {}",
            gf[i],
            g[i]
        );
    }
    let (worst, gmax) = trajectory_fd_error(&m, &t, &targets, &g);
    eprintln!("whole-model gradient vs FD: worst error {worst:.2e} of max |g| = {gmax:.2e}");
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn the_rejection_loss_is_the_squared_error_of_r_and_its_gradient_matches_finite_differences() {
    for architecture in [Architecture::NeuralOde, Architecture::Direct] {
        let mut m = tiny(Constraint::HardPositive, true);
        m.config.architecture = architecture;
        m.config.loss = LossSpace::Rejection;
        let pf = PreparedFeed::new(&m.config, &feed_vec()).unwrap();
        let t = support::falling_trajectory(pf, &[0.5, 1.0, 2.0], 0.2);
        let targets = t.targets.clone();
        let (loss, g, count) = trajectory_gradient(&m, &t, &targets, 0, true).unwrap();
        // By hand: R = 1 - h / h0 predicted against R = 1 - y / h0 measured, every present
        // ion weighted alike.
        let h = m.predict_normalised(&t.feed.cond, &t.taus).unwrap();
        let n = m.config.ions.len();
        let (mut by_hand, mut entries) = (0.0, 0);
        for (k, y) in targets.iter().enumerate() {
            if let Some(y) = y {
                let h0 = t.feed.cond.h0[k % n];
                by_hand += ((1.0 - h[k] / h0) - (1.0 - y / h0)).powi(2);
                entries += 1;
            }
        }
        assert_eq!(count, entries);
        assert!(
            (loss - by_hand).abs() <= 1e-7 * by_hand,
            "{architecture:?}: {loss} vs {by_hand}"
        );
        // The concentration loss of the same model is smaller by about the squared feed
        // fractions: the weights are really applied.
        let mut mc = m.clone();
        mc.config.loss = LossSpace::Concentration;
        let plain = trajectory_gradient(&mc, &t, &targets, 0, false).unwrap().0;
        assert!(plain < 0.5 * loss, "{plain} vs {loss}");
        let (worst, _) = trajectory_fd_error(&m, &t, &targets, &g);
        eprintln!("{architecture:?}, rejection loss: worst gradient error {worst:.2e}");
        assert!(worst < 1e-5, "{architecture:?}: {worst}");
    }
}

#[test]
fn absent_ions_and_input_order_change_nothing() {
    let m = tiny(Constraint::Hard, true);
    let reg = IonRegistry::canonical();
    let base = [
        ("Na+", 30.0),
        ("Mg2+", 5.0),
        ("Ca2+", 2.0),
        ("Cl-", 34.0),
        ("SO4 2-", 5.0),
    ];
    let a = Composition::from_mmol_per_l(&reg, &base).unwrap();
    let mut with_zero = base.to_vec();
    with_zero.push(("K+", 0.0));
    let b = Composition::from_mmol_per_l(&reg, &with_zero).unwrap();
    let mut permuted = base.to_vec();
    permuted.reverse();
    let c = Composition::from_mmol_per_l(&reg, &permuted).unwrap();
    let fluxes = [2e-6, 1e-5, 2e-5];
    let pa = m.predict(&a, &fluxes).unwrap();
    let bits = |p: &iontransport_model::Prediction| -> Vec<u64> {
        p.permeate
            .iter()
            .chain(&p.rejection)
            .flatten()
            .map(|x| x.to_bits())
            .collect()
    };
    assert_eq!(bits(&pa), bits(&m.predict(&b, &fluxes).unwrap()));
    assert_eq!(bits(&pa), bits(&m.predict(&c, &fluxes).unwrap()));
    // Absent ions stay at zero and get no attention.
    let att = m.attention(&a, 1e-5).unwrap();
    for row in &att {
        assert_eq!(row[1], 0.0);
        assert_eq!(row[2], 0.0);
        assert_eq!(row[7], 0.0);
    }
    for (i, row) in att.iter().enumerate() {
        let s: f64 = row.iter().sum();
        if [0, 3, 4, 5, 6].contains(&i) {
            assert!((s - 1.0).abs() < 1e-12);
        } else {
            assert_eq!(s, 0.0);
        }
    }
    assert!(
        pa.permeate
            .iter()
            .all(|row| row[1] == 0.0 && row[2] == 0.0 && row[7] == 0.0)
    );
}

#[test]
fn hard_model_predictions_are_electroneutral_soft_are_not() {
    let reg = IonRegistry::canonical();
    let feed = Composition::from_mmol_per_l(
        &reg,
        &[("Na+", 30.0), ("Mg2+", 5.0), ("Cl-", 30.0), ("SO4 2-", 5.0)],
    )
    .unwrap();
    let z = reg.valences();
    let fluxes: Vec<f64> = (1..=10).map(|k| k as f64 * 3e-6).collect();
    let charge = |m: &IonModel| {
        m.predict(&feed, &fluxes)
            .unwrap()
            .permeate
            .iter()
            .map(|row| row.iter().zip(&z).map(|(c, z)| c * z).sum::<f64>().abs())
            .fold(0.0f64, f64::max)
    };
    let hard = charge(&tiny(Constraint::Hard, true));
    let soft = charge(&tiny(Constraint::Soft { weight: 1.0 }, true));
    eprintln!("max |sum z c_p|: hard {hard:.2e}, soft {soft:.2e} eq/m3");
    assert!(hard < 1e-11, "{hard}");
    assert!(soft > 1e-6, "{soft}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let m = tiny(Constraint::Hard, true);
    let mut reg = IonRegistry::canonical();
    reg.extend_from_toml("[[ions]]\nname = \"F-\"\nformula = \"F\"\ncharge = -1\nstokes_radius = 1.66e-10\ndiffusivity = 1.475e-9\nhydrated_radius = 3.52e-10\nmolar_mass = 0.019\n").unwrap();
    let with_f = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("F-", 10.0)]).unwrap();
    assert!(matches!(m.predict(&with_f, &[1e-5]), Err(ModelError::UnknownIon(ref n)) if n == "F-"));
    let unbalanced = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 5.0)]).unwrap();
    let e = m.predict(&unbalanced, &[1e-5]).unwrap_err();
    assert!(e.to_string().contains("electroneutral"), "{e}");
    let ok = Composition::from_mmol_per_l(&reg, &[("Na+", 10.0), ("Cl-", 10.0)]).unwrap();
    let e = m.predict(&ok, &[-1e-6]).unwrap_err();
    assert!(e.to_string().contains("flux"), "{e}");
    // Corrupted checkpoints.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    Checkpoint::of_model(&m, 1).save(&path).unwrap();
    let back = Checkpoint::load(&path).unwrap().model().unwrap();
    assert_eq!(back, m);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert!(matches!(
        Checkpoint::load(&path),
        Err(ModelError::BadCheckpoint { .. })
    ));
    // A flipped digit in a parameter still parses but fails the checksum.
    let idx = text.find("\"params\":[").unwrap() + 12;
    let mut bytes = text.clone().into_bytes();
    bytes[idx] = if bytes[idx] == b'1' { b'2' } else { b'1' };
    std::fs::write(&path, bytes).unwrap();
    let e = Checkpoint::load(&path).unwrap_err();
    assert!(
        e.to_string().contains("checksum") || e.to_string().contains("not a model file"),
        "{e}"
    );
    let _ = trajectories;
}

#[test]
fn direct_baseline_gradient_matches_finite_differences() {
    for (body, constraint) in [
        (Body::Mlp, Constraint::Hard),
        (Body::Cnn { channels: 3 }, Constraint::Hard),
        (Body::UNet { channels: 2 }, Constraint::Hard),
        (Body::Mlp, Constraint::HardPositive),
    ] {
        direct_gradient_check(body, constraint);
    }
}

fn direct_gradient_check(body: Body, constraint: Constraint) {
    let mut m = tiny_with(constraint, true, body);
    m.config.architecture = Architecture::Direct;
    let pf = PreparedFeed::new(&m.config, &feed_vec()).unwrap();
    let n = 8;
    let taus = [0.5, 1.5];
    let mut targets = vec![None; 2 * n];
    for k in 0..2 {
        for j in 0..n {
            if pf.cond.mask[j] {
                targets[k * n + j] = Some(pf.cond.h0[j] * 0.8);
            }
        }
    }
    let t = iontransport_model::data::Trajectory {
        id: "d".into(),
        feed: pf,
        taus: taus.to_vec(),
        targets: targets.clone(),
        sds: vec![None; 2 * n],
    };
    let (_, g, _) = trajectory_gradient(&m, &t, &targets, 0, true).unwrap();
    let loss = |p: &[f64]| {
        let mm = IonModel::from_parts(m.config.clone(), p.to_vec()).unwrap();
        trajectory_gradient(&mm, &t, &targets, 0, false).unwrap().0
    };
    let gmax = g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let mut worst: f64 = 0.0;
    for i in (0..m.num_params()).step_by(2) {
        let (mut pp, mut pm) = (m.params.clone(), m.params.clone());
        pp[i] += 1e-6;
        pm[i] -= 1e-6;
        worst = worst.max(((loss(&pp) - loss(&pm)) / 2e-6 - g[i]).abs() / gmax);
    }
    assert!(worst < 1e-7, "{body:?}: {worst}");
    // Its predictions at tau = 0 are the feed, and they are electroneutral.
    let h = m.predict_normalised(&t.feed.cond, &[0.0, 1.0]).unwrap();
    assert_eq!(&h[..n], &t.feed.cond.h0[..]);
    let q: f64 = h[n..].iter().zip(&t.feed.cond.z).map(|(a, b)| a * b).sum();
    assert!(q.abs() < 1e-14);
}

#[test]
fn positive_projection_keeps_concentrations_positive_where_the_plain_one_does_not() {
    // A field pushed hard towards depletion: every raw output strongly negative. With the
    // Euclidean projection the trace ion (Cl-, 0.1 % of the charge) is driven below zero; with
    // the h-weighted one every concentration stays positive and the permeate stays neutral.
    let run = |constraint| {
        let mut m = tiny(constraint, true);
        let l = m.layout().clone();
        let last = *l.layers.last().unwrap();
        let (ni, no) = (l.sizes[l.sizes.len() - 2], l.sizes[l.sizes.len() - 1]);
        for o in 0..no {
            for i in 0..ni {
                m.params[last + o * ni + i] = 0.0;
            }
            // Bias: depletion rate -3 for cations, -1 for anions.
            m.params[last + ni * no + o] = if m.config.valences[o] > 0.0 {
                -3.0
            } else {
                -1.0
            };
        }
        // K2SO4 with a trace of Cl-: K+, SO4 2-, Cl- present.
        let feed = vec![0.0, 100.1, 0.0, 0.0, 0.0, 0.1, 50.0, 0.0];
        m.predict_vector(&feed, &[1e-5, 2e-5, 4e-5]).unwrap()
    };
    let plain = run(Constraint::Hard);
    let positive = run(Constraint::HardPositive);
    let min = |p: &iontransport_model::Prediction| {
        p.permeate
            .iter()
            .flat_map(|r| [r[1], r[5], r[6]])
            .fold(f64::INFINITY, f64::min)
    };
    assert!(min(&plain) < 0.0, "plain projection min {}", min(&plain));
    assert!(
        min(&positive) > 0.0,
        "positive projection min {}",
        min(&positive)
    );
    let z = IonRegistry::canonical().valences();
    for row in &positive.permeate {
        let q: f64 = row.iter().zip(&z).map(|(c, z)| c * z).sum();
        let tot: f64 = row.iter().zip(&z).map(|(c, z)| (c * z).abs()).sum();
        assert!(q.abs() <= 1e-9 * tot, "charge {q} of {tot}");
    }
}
