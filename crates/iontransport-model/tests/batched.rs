//! The network and field on many rows against the same on one row at a time, and the
//! lock-step training gradient against the per-trajectory one.

mod support;

use ion_species::IonRegistry;
use iontransport_model::batched::BatchTrajectoryField;
use iontransport_model::network::{Body, Workspace, backward, forward, restore};
use iontransport_model::train::{batch_gradient, trajectory_gradient};
use iontransport_model::{
    Constraint, IonModel, ModelConfig, NetworkConfig, PreparedFeed, TrajectoryField,
};
use neural_ode::{BatchField, Rows, VectorField};

fn model(constraint: Constraint, net: NetworkConfig) -> IonModel {
    let reg = IonRegistry::canonical();
    let cfg = ModelConfig::for_registry(&reg, net, constraint);
    let mut m = IonModel::new(cfg, 9).unwrap();
    let start = m.layout().layers[4];
    for p in &mut m.params[start..] {
        *p *= 10.0;
    }
    m
}

fn feeds() -> Vec<Vec<f64>> {
    vec![
        vec![30.0, 0.0, 0.0, 5.0, 2.0, 34.0, 5.0, 0.0],
        vec![10.0, 1.0, 0.5, 0.0, 0.0, 11.5, 0.0, 0.0],
        vec![0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 20.0, 0.0],
        vec![5.0, 2.0, 1.0, 3.0, 4.0, 12.0, 2.0, 6.0],
        vec![50.0, 0.0, 0.0, 0.0, 10.0, 70.0, 0.0, 0.0],
    ]
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// The batch's (loss, gradient, count) against the sum over its trajectories one at a time,
/// from parameter `first` on: the worst gradient difference relative to the largest entry
/// (after checking the counts, the losses to 1e-12 and the frozen entries).
fn batch_against_sum(
    m: &IonModel,
    trs: &[iontransport_model::data::Trajectory],
    first: usize,
) -> f64 {
    let members: Vec<_> = trs.iter().collect();
    let targets: Vec<_> = trs.iter().map(|t| t.targets.clone()).collect();
    let (l, g, c) = batch_gradient(m, &members, &targets, first).unwrap();
    let (mut wl, mut wg, mut wc) = (0.0, vec![0.0; m.num_params()], 0);
    for t in trs {
        let (li, gi, ci) = trajectory_gradient(m, t, &t.targets, first, true).unwrap();
        wl += li;
        wc += ci;
        wg.iter_mut().zip(&gi).for_each(|(a, b)| *a += b);
    }
    assert_eq!(c, wc);
    assert!((l - wl).abs() <= 1e-12 * wl, "{l} vs {wl}");
    assert!(g[..first].iter().all(|&x| x == 0.0));
    assert!(g[first..].iter().any(|&x| x != 0.0));
    let scale = wg.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    max_abs_diff(&g, &wg) / scale
}

#[test]
fn a_batch_of_rows_equals_each_row_alone() {
    // The network on many rows (matrix products over the rows) against the same network on
    // one row at a time, for every body, with and without attention, front frozen or not.
    for (attention, body) in [
        (true, Body::Mlp),
        (false, Body::Mlp),
        (true, Body::Tokenwise),
        (false, Body::Tokenwise),
        (true, Body::Cnn { channels: 3 }),
        (false, Body::UNet { channels: 2 }),
    ] {
        let net = NetworkConfig {
            attention,
            body,
            ..NetworkConfig::default()
        };
        let m = model(Constraint::Hard, net.clone());
        let l = m.layout().clone();
        let pfs: Vec<PreparedFeed> = feeds()
            .iter()
            .map(|f| PreparedFeed::new(&m.config, f).unwrap())
            .collect();
        let conds: Vec<_> = pfs.iter().map(|p| &p.cond).collect();
        let rows = conds.len();
        let n = 8;
        let taus: Vec<f64> = (0..rows).map(|r| 0.1 + 0.2 * r as f64).collect();
        let h: Vec<f64> = conds
            .iter()
            .flat_map(|c| c.h0.iter().map(|x| 0.8 * x))
            .collect();
        let mut bws = Workspace::new(&net, rows);
        let graw: Vec<f64> = (0..rows * n)
            .map(|i| ((i * 7) % 11) as f64 / 11.0 - 0.4)
            .collect();
        let mut pbar = vec![0.0; l.total];
        let mut hbar = vec![0.0; rows * n];
        for first in [0, m.fine_tune_start()] {
            pbar.fill(0.0);
            hbar.fill(0.0);
            let pass = m.pass(&conds);
            forward(pass, &taus, &h, &mut bws);
            let raw = bws.raw()[..rows * n].to_vec();
            assert!(raw.iter().any(|&g| g != 0.0) && raw.iter().all(|g| g.is_finite()));
            backward(pass, &graw, &mut bws, &mut pbar, &mut hbar, first);
            // From records: a fresh workspace that holds only the rows' records and what
            // `restore` rebuilds gives the same VJP.
            forward(pass, &taus, &h, &mut bws);
            let rl = bws.record_len();
            let mut records = vec![0.0; rows * rl];
            for r in 0..rows {
                bws.save_row(r, &mut records[r * rl..(r + 1) * rl]);
            }
            let mut fresh = Workspace::new(&net, rows);
            for r in 0..rows {
                fresh.load_row(&l, r, &records[r * rl..(r + 1) * rl]);
            }
            restore(pass, &taus, &h, &mut fresh);
            assert_eq!(&fresh.raw()[..rows * n], &raw[..]);
            let (mut rp, mut rh) = (vec![0.0; l.total], vec![0.0; rows * n]);
            backward(pass, &graw, &mut fresh, &mut rp, &mut rh, first);
            assert_eq!((&rp, &rh), (&pbar, &hbar), "{body:?} attention {attention}");
            let mut want_p = vec![0.0; l.total];
            let mut ws = Workspace::new(&net, 1);
            for r in 0..rows {
                let (hr, s) = (&h[r * n..(r + 1) * n], r * n..(r + 1) * n);
                let one = m.pass(&conds[r..=r]);
                forward(one, &taus[r..=r], hr, &mut ws);
                assert!(max_abs_diff(ws.raw(), &raw[s.clone()]) < 1e-12);
                let mut want_h = vec![0.0; n];
                backward(
                    one,
                    &graw[s.clone()],
                    &mut ws,
                    &mut want_p,
                    &mut want_h,
                    first,
                );
                assert!(
                    max_abs_diff(&hbar[s], &want_h) < 1e-12,
                    "{body:?} attention {attention} row {r}"
                );
            }
            let scale = want_p.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(scale > 0.0);
            assert!(
                max_abs_diff(&pbar, &want_p) < 1e-12 * scale,
                "{body:?} attention {attention}, first {first}"
            );
            if first > 0 {
                assert!(pbar[..first].iter().all(|&x| x == 0.0));
            }
        }
    }
}

#[test]
fn batched_field_equals_the_trajectory_fields() {
    for (constraint, body) in [
        (Constraint::Hard, Body::Mlp),
        (Constraint::HardPositive, Body::Mlp),
        (Constraint::Soft { weight: 1.0 }, Body::Mlp),
        (Constraint::Hard, Body::Cnn { channels: 3 }),
        (Constraint::HardPositive, Body::UNet { channels: 2 }),
        (Constraint::Hard, Body::Tokenwise),
    ] {
        let net = NetworkConfig {
            body,
            ..NetworkConfig::default()
        };
        let m = model(constraint, net);
        let pfs: Vec<PreparedFeed> = feeds()
            .iter()
            .map(|f| PreparedFeed::new(&m.config, f).unwrap())
            .collect();
        let fields: Vec<TrajectoryField> = pfs
            .iter()
            .map(|p| TrajectoryField::new(&m, &p.cond).unwrap())
            .collect();
        let single: Vec<TrajectoryField> = pfs
            .iter()
            .map(|p| TrajectoryField::new(&m, &p.cond).unwrap())
            .collect();
        let bf = BatchTrajectoryField::new(fields);
        let n = 8;
        // Rows out of order and repeated: members are looked up, not assumed.
        let rows = [3usize, 0, 4, 4, 1, 2];
        let t: Vec<f64> = rows.iter().map(|&r| 0.05 + 0.3 * r as f64).collect();
        let y: Vec<f64> = rows
            .iter()
            .flat_map(|&r| {
                pfs[r]
                    .cond
                    .h0
                    .iter()
                    .map(move |x| x * (0.9 - 0.05 * r as f64))
            })
            .collect();
        let a: Vec<f64> = (0..rows.len() * n)
            .map(|i| ((i * 5) % 13) as f64 / 13.0 - 0.5)
            .collect();
        let mut ws = bf.workspace(rows.len());
        let mut dy = vec![0.0; rows.len() * n];
        let mut rec = vec![0.0; rows.len() * bf.record_len()];
        let at = Rows {
            members: &rows,
            t: &t,
            y: &y,
            p: &m.params,
        };
        bf.eval_rows(at, &mut ws, &mut dy, &mut rec);
        let mut vy = vec![0.0; rows.len() * n];
        let mut vp = vec![0.0; m.num_params()];
        let recs: Vec<&[f64]> = rec.chunks(bf.record_len()).collect();
        bf.vjp_rows_add(at, &a, &mut ws, &recs, &mut vy, &mut vp);
        let mut vy2 = vec![0.0; rows.len() * n];
        let mut vp2 = vec![0.0; m.num_params()];
        bf.vjp_rows_add(at, &a, &mut ws, &[], &mut vy2, &mut vp2);
        let mut want_p = vec![0.0; m.num_params()];
        let mut sws = single[0].workspace();
        let mut srec = vec![0.0; single[0].record_len()];
        let mut scratch = vec![0.0; m.num_params()];
        for (i, &r) in rows.iter().enumerate() {
            let s = i * n..(i + 1) * n;
            let mut d = vec![0.0; n];
            single[r].eval_record(t[i], &y[s.clone()], &m.params, &mut sws, &mut d, &mut srec);
            assert!(
                max_abs_diff(&d, &dy[s.clone()]) < 1e-12,
                "{constraint:?} {body:?} row {i}"
            );
            // One trajectory's record is a row of the batch's.
            let rl = bf.record_len();
            assert_eq!(srec.len(), rl);
            assert!(max_abs_diff(&srec, &rec[i * rl..(i + 1) * rl]) < 1e-12);
            let mut v = vec![0.0; n];
            single[r].vjp_recorded_add(
                t[i],
                &y[s.clone()],
                &m.params,
                &a[s.clone()],
                &mut sws,
                &srec,
                &mut v,
                &mut want_p,
                &mut scratch,
            );
            assert!(max_abs_diff(&v, &vy[s.clone()]) < 1e-12);
            assert!(max_abs_diff(&v, &vy2[s]) < 1e-12);
        }
        let scale = want_p.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            max_abs_diff(&vp, &want_p) < 1e-12 * scale,
            "{constraint:?} {body:?}"
        );
        assert!(max_abs_diff(&vp2, &want_p) < 1e-12 * scale);
    }
}

#[test]
fn batch_gradient_equals_the_sum_of_trajectory_gradients() {
    use iontransport_model::data::trajectories;
    use iontransport_model::train::evaluate_loss;
    let data = support::nf270_sweeps(21, 6, 5);
    for (constraint, body) in [
        (Constraint::Hard, Body::Mlp),
        (Constraint::HardPositive, Body::Mlp),
        (Constraint::Soft { weight: 0.5 }, Body::Mlp),
        (Constraint::Hard, Body::Tokenwise),
    ] {
        let m = model(
            constraint,
            NetworkConfig {
                body,
                ..NetworkConfig::default()
            },
        );
        let trs = trajectories(&m.config, &data).unwrap();
        for first in [0, m.fine_tune_start()] {
            // 21 trajectories: a full chunk and a partial one.
            let err = batch_against_sum(&m, &trs, first);
            assert!(
                err < 1e-9,
                "{constraint:?} {body:?} first {first}: {err:.2e}"
            );
        }
        // The lock-step validation loss equals the one-trajectory loss.
        let want: f64 = {
            let (mut l, mut c) = (0.0, 0);
            for t in &trs {
                let (li, _, ci) = trajectory_gradient(&m, t, &t.targets, 0, false).unwrap();
                l += li;
                c += ci;
            }
            l / c as f64
        };
        let got = evaluate_loss(&m, &trs).unwrap();
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    }
}

#[test]
fn direct_batch_gradient_equals_the_sum_of_point_gradients() {
    // The direct baselines (FNN, CNN, U-Net): all flux points of a batch as matrix products
    // in chunks of 64 against the one-point network, for each constraint, frozen front or
    // not.
    use iontransport_model::data::trajectories;
    use iontransport_model::model::Architecture;
    let data = support::nf270_sweeps(21, 6, 6);
    for constraint in [
        Constraint::Hard,
        Constraint::HardPositive,
        Constraint::Soft { weight: 0.5 },
    ] {
        for (attention, body) in [
            (true, Body::Mlp),
            (false, Body::Mlp),
            (true, Body::Cnn { channels: 5 }),
            (false, Body::UNet { channels: 4 }),
            (true, Body::UNet { channels: 3 }),
            (true, Body::Tokenwise),
        ] {
            let mut m = model(
                constraint,
                NetworkConfig {
                    attention,
                    body,
                    ..NetworkConfig::default()
                },
            );
            m.config.architecture = Architecture::Direct;
            let trs = trajectories(&m.config, &data).unwrap();
            // 126 points: a full chunk of 64 and a partial one.
            assert_eq!(trs.iter().map(|t| t.taus.len()).sum::<usize>(), 126);
            for first in [0, m.fine_tune_start()] {
                let err = batch_against_sum(&m, &trs, first);
                assert!(
                    err < 1e-12,
                    "{constraint:?} {body:?} attention {attention} first {first}: {err:.2e}"
                );
            }
        }
    }
}

#[test]
fn many_feeds_predict_as_each_alone_and_a_bad_feed_fails_alone() {
    for constraint in [Constraint::Hard, Constraint::HardPositive] {
        let m = model(constraint, NetworkConfig::default());
        let mut fs = feeds();
        // A non-electroneutral feed in the middle.
        fs.insert(2, vec![10.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0]);
        // More feeds than one chunk.
        for k in 0..20 {
            let x = 1.0 + k as f64;
            fs.push(vec![x, 0.0, 0.0, 0.5 * x, 0.0, 2.0 * x, 0.0, 0.0]);
        }
        let fluxes = [1e-6, 5e-6, 1.2e-5];
        let many = m.predict_vectors(&fs, &fluxes);
        assert_eq!(many.len(), fs.len());
        for (f, got) in fs.iter().zip(&many) {
            match m.predict_vector(f, &fluxes) {
                Ok(want) => {
                    let got = got.as_ref().unwrap();
                    for (a, b) in got.permeate.iter().zip(&want.permeate) {
                        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                        assert!(max_abs_diff(a, b) <= 1e-9 * scale, "{a:?} vs {b:?}");
                    }
                    assert_eq!(got.warnings, want.warnings);
                }
                Err(e) => assert_eq!(got.as_ref().unwrap_err().to_string(), e.to_string()),
            }
        }
        assert!(many[2].is_err());
    }
}
