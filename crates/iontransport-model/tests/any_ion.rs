//! Descriptor tokens: a model whose tokens say what each ion is (valence, Stokes radius,
//! diffusivity) and whose perceptron runs per token takes any ion set. Its gradients are
//! checked against finite differences; permuting the ions or adding an absent one changes
//! nothing; a model built on the eight canonical ions predicts ions it has no slot for.

mod support;

use ion_species::{Composition, IonRegistry};
use iontransport_model::{
    Constraint, IonModel, ModelConfig, NetworkConfig, PreparedFeed, TrajectoryField,
};
use support::field_vjp_error;

fn net(any: bool) -> NetworkConfig {
    let base = if any {
        NetworkConfig::any_ion()
    } else {
        NetworkConfig {
            descriptors: true,
            ..NetworkConfig::default()
        }
    };
    let tiny = support::tiny_network();
    NetworkConfig {
        hidden: tiny.hidden,
        d_model: tiny.d_model,
        d_k: tiny.d_k,
        ..base
    }
}

fn model(reg: &IonRegistry, network: NetworkConfig, constraint: Constraint) -> IonModel {
    let mut cfg = ModelConfig::for_registry(reg, network, constraint);
    cfg.rtol = 1e-11;
    cfg.atol = 1e-13;
    let mut m = IonModel::new(cfg, 5).unwrap();
    // A larger last layer so the dynamics are not trivially small.
    let start = m.layout().layers[4];
    for p in &mut m.params[start..] {
        *p *= 10.0;
    }
    m
}

#[test]
fn descriptor_field_vjp_matches_finite_differences() {
    let reg = IonRegistry::canonical();
    let feed = [30.0, 0.0, 0.0, 5.0, 2.0, 34.0, 5.0, 0.0];
    for (any, constraint) in [
        (true, Constraint::Hard),
        (true, Constraint::HardPositive),
        (true, Constraint::Soft { weight: 1.0 }),
        (false, Constraint::Hard),
    ] {
        let m = model(&reg, net(any), constraint);
        let pf = PreparedFeed::new(&m.config, &feed).unwrap();
        let f = TrajectoryField::new(&m, &pf.cond).unwrap();
        let h: Vec<f64> = pf.cond.h0.iter().map(|x| x * 0.9).collect();
        let a = [0.3, -0.2, 0.5, 0.7, -0.4, 0.1, 0.9, -0.6];
        let (worst, _, vp) = field_vjp_error(&f, &m.params, 0.7, &h, &a);
        let moved = vp.iter().filter(|g| **g != 0.0).count();
        eprintln!("any-ion {any}, {constraint:?}: worst VJP error {worst:.2e}");
        assert!(worst < 1e-7, "{worst}");
        // The descriptor map is among the parameters that move the field.
        let wd = m.layout().wd;
        assert!(vp[wd..wd + 3].iter().any(|g| *g != 0.0));
        assert!(moved > m.num_params() / 2);
    }
}

#[test]
fn the_any_ion_network_has_no_per_slot_parameter() {
    let eight = ModelConfig::for_registry(
        &IonRegistry::canonical(),
        NetworkConfig::any_ion(),
        Constraint::Hard,
    );
    let fourteen = ModelConfig::for_registry(
        &IonRegistry::extended(),
        NetworkConfig::any_ion(),
        Constraint::Hard,
    );
    assert_eq!(eight.network.num_params(), fourteen.network.num_params());
    assert_eq!(
        eight.network.layout().pos,
        eight.network.layout().wd + 8 * 3
    );
    // The slot network's size grows with the ions.
    let slot = |reg: &IonRegistry| {
        ModelConfig::for_registry(reg, NetworkConfig::default(), Constraint::Hard)
            .network
            .num_params()
    };
    assert!(slot(&IonRegistry::extended()) > slot(&IonRegistry::canonical()));
}

#[test]
fn permuting_ions_or_adding_an_absent_one_changes_nothing() {
    let ext = IonRegistry::extended();
    let names = ["Na+", "Mg2+", "NH4+", "Cl-", "SO4 2-", "NO3-"];
    let a_reg = ext.subset(&names).unwrap();
    let m = model(&a_reg, net(true), Constraint::Hard);
    let feed_of = |reg: &IonRegistry| {
        Composition::from_mmol_per_l(
            reg,
            &[
                ("Na+", 0.2),
                ("Mg2+", 10.0),
                ("NH4+", 0.2),
                ("Cl-", 20.2),
                ("NO3-", 0.2),
            ],
        )
        .unwrap()
    };
    let fluxes = [5e-6, 2e-5, 5e-5];
    let base = m.predict(&feed_of(&a_reg), &fluxes).unwrap();
    let value = |p: &iontransport_model::Prediction, ion: &str, k: usize| {
        let j = p.ions.iter().position(|n| n == ion).unwrap();
        p.permeate[k][j]
    };
    // The same parameters on the ions in reverse order, and on all fourteen built-in ions
    // (eight of them absent from the feed).
    let mut reversed: Vec<_> = a_reg.ions().to_vec();
    reversed.reverse();
    let rev_reg = IonRegistry::from_ions(reversed).unwrap();
    for reg in [rev_reg, ext.clone()] {
        let cfg = m.config.with_ions(&reg).unwrap();
        let other = IonModel::from_parts(cfg, m.params.clone()).unwrap();
        let p = other.predict(&feed_of(&reg), &fluxes).unwrap();
        for ion in ["Na+", "Mg^2+", "NH4+", "Cl-", "NO3-"] {
            for k in 0..fluxes.len() {
                let (x, y) = (value(&base, ion, k), value(&p, ion, k));
                // Summation order differs, and the adaptive solver (rtol 1e-11) amplifies
                // round-off a little: equal to 1e-9.
                assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(1e-12),
                    "{ion} at {k}: {x} vs {y}"
                );
            }
        }
        let absent = p.ions.iter().position(|n| n == "K+");
        assert!(absent.is_none_or(|j| p.permeate.iter().all(|row| row[j] == 0.0)));
    }
}

#[test]
fn a_model_of_the_eight_canonical_ions_predicts_ions_it_has_no_slot_for() {
    let m = model(
        &IonRegistry::canonical(),
        net(true),
        Constraint::HardPositive,
    );
    let ext = IonRegistry::extended();
    let cfg = m.config.with_ions(&ext).unwrap();
    let wide = IonModel::from_parts(cfg, m.params.clone()).unwrap();
    let feed = Composition::from_mmol_per_l(
        &ext,
        &[("Na+", 10.0), ("NH4+", 2.0), ("Br-", 2.0), ("Cl-", 10.0)],
    )
    .unwrap();
    let p = wide.predict(&feed, &[1e-5]).unwrap();
    let j = p.ions.iter().position(|n| n == "NH4+").unwrap();
    let r = p.rejection[0][j];
    assert!(r.is_finite() && r < 1.0, "{r}");
    // Electroneutral permeate with the new ions in it.
    let z = ext.valences();
    let q: f64 = p.permeate[0].iter().zip(&z).map(|(c, z)| c * z).sum();
    let t: f64 = p.permeate[0].iter().zip(&z).map(|(c, z)| c * z.abs()).sum();
    assert!(q.abs() < 1e-10 * t, "{q}");
    // Two ions with identical descriptors (NH4+ and K+ share z, r_s and D) are predicted
    // alike: the token says what an ion is, not which slot it has.
    let twin = Composition::from_mmol_per_l(
        &ext,
        &[("Na+", 10.0), ("K+", 2.0), ("Br-", 2.0), ("Cl-", 10.0)],
    )
    .unwrap();
    let pt = wide.predict(&twin, &[1e-5]).unwrap();
    let k = pt.ions.iter().position(|n| n == "K+").unwrap();
    assert!((pt.rejection[0][k] - r).abs() < 1e-12);

    // A slot model refuses another ion set, saying why.
    let slot = IonModel::new(
        ModelConfig::for_registry(
            &IonRegistry::canonical(),
            NetworkConfig::default(),
            Constraint::Hard,
        ),
        1,
    )
    .unwrap();
    let e = slot.config.with_ions(&ext).unwrap_err().to_string();
    assert!(e.contains("tied to its 8 ion slots"), "{e}");
}
