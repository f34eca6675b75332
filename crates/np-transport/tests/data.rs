//! The CSV format, data generation, determinism and sharding.

use ion_species::IonRegistry;
use np_transport::data::Dataset;
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
