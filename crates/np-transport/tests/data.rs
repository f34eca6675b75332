//! The CSV format, data generation, determinism and sharding.

use ion_species::IonRegistry;
use np_transport::data::{Dataset, RejectionBasis};
use np_transport::generate::{
    GeneratorConfig, Regime, flux_grid, generate, random_feed, synthetic_measurements,
};
use np_transport::{Conditions, Dspmde, Membrane, TransportError};
use rand::SeedableRng;

fn small_cfg(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        feeds: 12,
        fluxes: flux_grid(2e-5, 5),
        noise: 0.02,
        seed,
        ..GeneratorConfig::default()
    }
}

fn model() -> Dspmde {
    Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap()
}

#[test]
fn random_feeds_are_electroneutral_and_in_range() {
    let reg = IonRegistry::canonical();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for regime in [Regime::Brackish, Regime::Seawater, Regime::Brine] {
        for _ in 0..200 {
            let f = random_feed(&mut rng, &reg, regime).unwrap();
            assert!(f.relative_imbalance() < 1e-12);
            let cations: f64 = f
                .iter()
                .filter(|(i, _)| i.charge > 0)
                .map(|(i, c)| i.z() * c)
                .sum();
            assert!((5.0..=2500.0).contains(&cations), "{cations}");
            assert!(f.iter().any(|(i, _)| i.charge < 0));
        }
    }
}

#[test]
fn same_seed_same_data_and_shards_partition_the_set() {
    let reg = IonRegistry::canonical();
    let m = model();
    let a = generate(&m, &reg, &small_cfg(7), "dspmde").unwrap();
    let b = generate(&m, &reg, &small_cfg(7), "dspmde").unwrap();
    assert_eq!(a, b);
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    let c = generate(&m, &reg, &small_cfg(8), "dspmde").unwrap();
    assert_ne!(a.dataset.samples, c.dataset.samples);
    let mut union = vec![];
    for i in 0..3 {
        let cfg = GeneratorConfig {
            shard: (i, 3),
            ..small_cfg(7)
        };
        union.extend(generate(&m, &reg, &cfg, "dspmde").unwrap().dataset.samples);
    }
    union.sort_by(|x, y| x.id.cmp(&y.id));
    let mut full = a.dataset.samples.clone();
    full.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(union, full);
    assert!(matches!(
        generate(
            &m,
            &reg,
            &GeneratorConfig {
                shard: (3, 3),
                ..small_cfg(7)
            },
            "x"
        ),
        Err(TransportError::InvalidParameter { name: "shard", .. })
    ));
}

#[test]
fn csv_round_trip_is_exact_and_synthetic_label_survives() {
    let reg = IonRegistry::canonical();
    let rep = synthetic_measurements(&reg, 4, 0.03, 11).unwrap();
    assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    rep.dataset.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# SYNTHETIC:"), "{}", &text[..80]);
    let back = Dataset::read_csv(&path, &reg).unwrap();
    assert_eq!(back, rep.dataset);
    assert_eq!(back.num_points(), 4 * 6);
    assert!(
        back.samples
            .iter()
            .all(|s| s.source.starts_with("synthetic"))
    );
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn err_of(text: &str) -> String {
    Dataset::from_csv_str(text, &IonRegistry::canonical())
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_csv_errors_name_the_line_and_column() {
    let head = "sample,Jv [L/m2/h],feed:Na+ [mmol/L],feed:Cl- [mmol/L],rejection:Na+ [-]\n";
    let ok = format!("{head}a,10,10,10,0.5\na,20,10,10,0.6\n");
    let d = Dataset::from_csv_str(&ok, &IonRegistry::canonical()).unwrap();
    assert_eq!(d.samples[0].points[1].permeate[0], Some(4.0));
    assert!((d.samples[0].points[0].flux - 10.0 / 3.6e6).abs() < 1e-20);

    let e = err_of(&format!("{head}a,10,10,ten,0.5\n"));
    assert!(
        e.contains("line 2") && e.contains("feed:Cl-") && e.contains("not a number"),
        "{e}"
    );
    let e = err_of(&format!("{head}a,-1,10,10,0.5\n"));
    assert!(e.contains("negative water flux"), "{e}");
    let e = err_of(&format!("{head}a,10,10,8,0.5\n"));
    assert!(
        e.contains("line 2") && e.contains("not electroneutral"),
        "{e}"
    );
    let e = err_of("sample,Jv [m/s],feed:Xe+ [mol/m3]\na,1,1\n");
    assert!(e.contains("Xe+") && e.contains("line 1"), "{e}");
    let e = err_of("sample,Jv,feed:Na+ [mol/m3]\n");
    assert!(e.contains("unit"), "{e}");
    let e = err_of(&format!("{head}a,10,10,10,0.5\na,20,11,11,0.6\n"));
    assert!(
        e.contains("line 3") && e.contains("changes its feed"),
        "{e}"
    );
    let e = err_of(&format!(
        "{head}a,10,10,10,0.5\nb,10,10,10,0.5\na,20,10,10,0.6\n"
    ));
    assert!(e.contains("two separate blocks"), "{e}");
    let e = err_of(&format!("{head}a,10,10,10,1.5\n"));
    assert!(e.contains("above 1"), "{e}");
    let e = err_of(&format!("{head}a,10,10,10\n"));
    assert!(e.contains("line 2"), "{e}");
    let e = err_of(head);
    assert!(e.contains("no data"), "{e}");
}

#[test]
fn header_problems_the_reader_used_to_accept_are_errors() {
    // No permeate or rejection column: nothing to learn from (was accepted; `evaluate` then
    // printed "0 entries: MSE 0").
    let e = err_of("sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3]\na,1e-6,10,10\n");
    assert!(
        e.contains("no `permeate:ION") && e.contains("line 1"),
        "{e}"
    );
    // A permeate and a rejection of one ion (the reader silently kept one).
    let e = err_of(
        "sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3],rejection:Na+ [-]\na,1e-6,10,10,5,0.5\n",
    );
    assert!(e.contains("rejection:Na+") && e.contains("same ion"), "{e}");
    // Duplicate columns, also under another spelling of the ion.
    let e = err_of(
        "sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3],permeate:sodium [mmol/L]\na,1e-6,10,10,5,5\n",
    );
    assert!(e.contains("column 6") && e.contains("column 5"), "{e}");
    let e = err_of("sample,Jv [m/s],Jv [L/m2/h],feed:Na+ [mol/m3],permeate:Na+ [mol/m3]\n");
    assert!(e.contains("exactly one `Jv"), "{e}");
    // An empty file, or only comments: say what a file should look like (was "exactly one
    // `sample` column is required").
    for text in ["", "\n\n", "# just a comment\n"] {
        let e = err_of(text);
        assert!(e.contains("no header line"), "{e:?} for {text:?}");
    }
}

#[test]
fn a_byte_order_mark_is_ignored_and_keeps_the_synthetic_label() {
    let text = "\u{feff}# SYNTHETIC: made up\nsample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3]\na,1e-6,10,10,5\n";
    let d = Dataset::from_csv_str(text, &IonRegistry::canonical()).unwrap();
    assert_eq!(d.synthetic.as_deref(), Some("made up"));
    // Also when the BOM sits before the header (no comment line).
    let d = Dataset::from_csv_str(
        &text.replace("# SYNTHETIC: made up\n", ""),
        &IonRegistry::canonical(),
    )
    .unwrap();
    assert_eq!(d.samples.len(), 1);
}

#[test]
fn rounded_feeds_are_balanced_explicitly_and_reported() {
    // 10 mM NaCl + 6.667 mM Na2SO4 at 4 significant figures: Na+ 23.33, Cl- 10.00,
    // SO4 2- 6.667, so sum z c = -0.004 mM (0.009 % of the total charge).
    let reg = IonRegistry::canonical();
    let text = "sample,Jv [m/s],feed:Na+ [mmol/L],feed:Mg2+ [mmol/L],feed:Cl- [mmol/L],feed:SO4 2- [mmol/L],rejection:Na+ [-]\n\
                a,1e-6,23.33,0,10.00,6.667,0.2\n\
                a,2e-6,23.33,0,10.00,6.667,0.3\n\
                b,1e-6,10,5,10,5,0.2\n";
    let d = Dataset::from_csv_str(text, &reg).unwrap();
    assert_eq!(d.balanced.len(), 1, "{:?}", d.balanced);
    let adj = &d.balanced[0];
    assert_eq!((adj.sample.as_str(), adj.line), ("a", 2));
    assert!((adj.relative_imbalance + 0.004 / 46.664).abs() < 1e-9);
    let feed = &d.samples[0].feed;
    let charge: f64 = reg.ions().iter().zip(feed).map(|(i, c)| i.z() * c).sum();
    let total: f64 = reg
        .ions()
        .iter()
        .zip(feed)
        .map(|(i, c)| i.z().abs() * c)
        .sum();
    assert!(charge.abs() <= 1e-12 * total, "{charge}");
    // The balanced sample now passes the solver's 1e-6 check.
    let comp = ion_species::Composition::from_vector(&reg, feed, false).unwrap();
    comp.check_electroneutral(1e-9).unwrap();
    assert!(d.balanced.iter().all(|a| a.sample != "b"));
    // Rejections refer to the balanced feed.
    let na = reg.index_of("Na+").unwrap();
    let p = d.samples[0].points[1].permeate[na].unwrap();
    assert!((p - 0.7 * feed[na]).abs() < 1e-12);
}

#[test]
fn reading_is_linear_in_the_number_of_samples() {
    // 100,000 one-row samples took 144 s with the quadratic duplicate-block check.
    let mut text =
        String::from("sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3]\n");
    for i in 0..100_000 {
        text.push_str(&format!("s{i},1e-6,10,10,5\n"));
    }
    let t = std::time::Instant::now();
    let d = Dataset::from_csv_str(&text, &IonRegistry::canonical()).unwrap();
    assert_eq!(d.samples.len(), 100_000);
    let secs = t.elapsed().as_secs_f64();
    assert!(secs < 20.0, "{secs} s");
}

const INTRINSIC: &str = "\
# source: a test; licence: CC0
# membrane: NF270, rotating disk
sample,Jv [um/s],T [C],feed:Na+ [mmol/L],feed:NH4+ [mmol/L],feed:Cl- [mmol/L],intrinsic_rejection:Na+ [-],intrinsic_rejection:NH4+ [-],intrinsic_rejection:Cl- [-],intrinsic_rejection_sd:NH4+ [-]
a,8.2,20,10,0.2,10.2,0.43,0.51,0.44,0.01
a,20.1,20,10,0.2,10.2,0.73,-0.25,0.70,0.01
";

#[test]
fn intrinsic_rejections_temperature_and_provenance_are_read_and_written_back() {
    let reg = IonRegistry::extended();
    let d = Dataset::from_csv_str(INTRINSIC, &reg).unwrap();
    assert_eq!(d.basis, RejectionBasis::Intrinsic);
    assert_eq!(
        d.comments,
        [
            "source: a test; licence: CC0",
            "membrane: NF270, rotating disk"
        ]
    );
    let s = &d.samples[0];
    assert!((s.temperature.unwrap() - 293.15).abs() < 1e-12);
    let nh4 = reg.index_of("NH4+").unwrap();
    // The permeate is c_m (1 - R) with the feed column standing for the wall concentration;
    // a negative rejection is allowed (the trace is enriched in the permeate).
    assert!((s.points[1].permeate[nh4].unwrap() - 0.2 * 1.25).abs() < 1e-12);
    assert!((s.points[0].permeate_sd[nh4].unwrap() - 0.2 * 0.01).abs() < 1e-15);
    assert!((s.points[1].flux - 20.1e-6).abs() < 1e-18);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("back.csv");
    d.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# source: a test; licence: CC0\n"),
        "{text}"
    );
    assert!(text.contains("intrinsic_rejection:NH4+ [-]") && text.contains("T [K]"));
    let back = Dataset::read_csv(&path, &reg).unwrap();
    assert_eq!(back.basis, RejectionBasis::Intrinsic);
    assert_eq!(back.comments, d.comments);
    assert_eq!(back.samples[0].temperature, s.temperature);
    for (p, q) in back.samples[0].points.iter().zip(&s.points) {
        for (a, b) in p.permeate.iter().zip(&q.permeate) {
            assert_eq!(a.is_some(), b.is_some());
            if let (Some(a), Some(b)) = (a, b) {
                assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }
    // The measurements carry the basis and the temperature to the fit.
    let m = d.rejection_measurements(&reg, 100).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].basis, RejectionBasis::Intrinsic);
    assert_eq!(m[0].temperature, Some(293.15));
}

#[test]
fn real_data_format_errors_name_the_line_column_and_remedy() {
    let reg = IonRegistry::extended();
    let err = |t: &str| Dataset::from_csv_str(t, &reg).unwrap_err().to_string();
    // Intrinsic and observed values in one file.
    let e = err(
        "sample,Jv [m/s],feed:Na+ [mM],feed:Cl- [mM],intrinsic_rejection:Na+ [-],rejection:Cl- [-]\na,1e-6,1,1,0.5,0.5\n",
    );
    assert!(
        e.contains("mixes intrinsic") && e.contains("column `rejection:Cl- [-]`"),
        "{e}"
    );
    // Two measurements of one ion.
    let e = err(
        "sample,Jv [m/s],feed:Na+ [mM],feed:Cl- [mM],intrinsic_rejection:Na+ [-],intrinsic_rejection:sodium [-]\na,1e-6,1,1,0.5,0.5\n",
    );
    assert!(e.contains("repeats"), "{e}");
    // A temperature without a unit, with an unknown unit, outside the correlations.
    let head = "sample,Jv [m/s],T [C],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\n";
    let e =
        err("sample,Jv [m/s],T,feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,1e-6,20,1,1,0.5\n");
    assert!(e.contains("`T [C]` or `T [K]`"), "{e}");
    let e = err(
        "sample,Jv [m/s],T [F],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,1e-6,20,1,1,0.5\n",
    );
    assert!(e.contains("unknown temperature unit `F`"), "{e}");
    let e = err(&format!("{head}a,1e-6,293,1,1,0.5\n"));
    assert!(
        e.contains("line 2") && e.contains("566.15 K") && e.contains("check the unit"),
        "{e}"
    );
    // A temperature that changes within a sample.
    let e = err(&format!("{head}a,1e-6,20,1,1,0.5\na,2e-6,25,1,1,0.6\n"));
    assert!(
        e.contains("line 3") && e.contains("changes its temperature"),
        "{e}"
    );
    // An intrinsic rejection of an ion absent from the feed cannot be related to anything.
    let e = err(
        "sample,Jv [m/s],feed:Na+ [mM],feed:Cl- [mM],feed:NH4+ [mM],intrinsic_rejection:NH4+ [-]\na,1e-6,1,1,,0.5\n",
    );
    assert!(e.contains("feed is empty"), "{e}");
    // An ion outside the registry names the registry to use.
    let e = Dataset::from_csv_str(INTRINSIC, &IonRegistry::canonical())
        .unwrap_err()
        .to_string();
    assert!(e.contains("NH4+"), "{e}");
}

#[test]
fn pressures_become_fluxes_through_the_stated_permeability_and_van_t_hoff() {
    let reg = IonRegistry::canonical();
    let head = "sample,dP [bar],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-],rejection:Cl- [-]\n";
    let text = format!(
        "# water_permeability: 10 L/m2/h/bar\n{head}a,5,10,10,0.5,0.5\na,10,10,10,0.7,0.7\n"
    );
    let d = Dataset::from_csv_str(&text, &reg).unwrap();
    // J_v = L_p (dP - R T sum(c_f - c_p)): 10 L/m2/h/bar = 2.7778e-11 m/(s Pa); the
    // permeate holds 5 + 5 mol/m3 less than the feed at the first point.
    let lp = 10e-3 / 3600.0 / 1e5;
    let dpi = 8.314_462_618 * 298.15 * 10.0;
    assert!((d.samples[0].points[0].flux - lp * (5e5 - dpi)).abs() < 1e-15);
    assert!((d.samples[0].points[0].flux - 1.3200e-5).abs() < 1e-8);
    assert!((d.samples[0].points[1].flux - lp * (10e5 - 1.4 * dpi)).abs() < 1e-15);

    let err = |t: &str| Dataset::from_csv_str(t, &reg).unwrap_err().to_string();
    // No permeability: say what to add.
    let e = err(&format!("{head}a,5,10,10,0.5,0.5\n"));
    assert!(e.contains("# water_permeability: 11.5 L/m2/h/bar"), "{e}");
    // An unreadable permeability line.
    let e = err(&format!(
        "# water_permeability: ten LMH\n{head}a,5,10,10,0.5,0.5\n"
    ));
    assert!(e.contains("cannot read"), "{e}");
    // A feed ion without a permeate: no osmotic pressure.
    let e = err(
        "# water_permeability: 10 LMH/bar\nsample,dP [bar],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,5,10,10,0.5\n",
    );
    assert!(e.contains("line 3") && e.contains("Cl- has none"), "{e}");
    // Below the osmotic pressure difference.
    let e = err(&format!(
        "# water_permeability: 10 LMH/bar\n{head}a,0.1,10,10,0.5,0.5\n"
    ));
    assert!(e.contains("below the osmotic pressure"), "{e}");
    // Both a flux and a pressure column.
    let e = err(
        "sample,Jv [m/s],dP [bar],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,1e-6,5,1,1,0.5\n",
    );
    assert!(e.contains("exactly one `Jv [unit]`"), "{e}");
}
