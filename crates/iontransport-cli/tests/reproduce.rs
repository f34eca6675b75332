//! `reproduce` on a tiny configuration: the results folder exists and parses, every figure is a
//! valid SVG and PNG, the report's numbers are those of results.json, and the baselines'
//! parameter counts match the method's.

use ion_species::IonRegistry;
use iontransport_cli::reproduce::{
    Method, Results, UnitResult, expected_cost, expected_seconds, mean_sd, merge, plan,
    recorded_shards, reproduce, reproduce_shard, shard_of, units,
};
use iontransport_model::pipeline::PipelineConfig;
use np_transport::generate::synthetic_measurements;

#[test]
fn tiny_reproduction_writes_a_consistent_report_and_figures() {
    let reg = IonRegistry::canonical();
    // The first 24 feeds of the shipped synthetic set (each feed has its own random stream, so
    // they do not depend on the set's size).
    let ds = synthetic_measurements(&reg, 24, 0.03, 2026)
        .unwrap()
        .dataset;
    let dir = tempfile::tempdir().unwrap();
    let res = reproduce(
        &ds,
        &PipelineConfig::tiny(0),
        "tiny",
        &[0],
        &reg,
        dir.path(),
        false,
    )
    .unwrap();
    // 4 methods x attention x constraint x pre-training, the two HIB+ extension rows, the
    // hybrid, and the hybrid and the method on the extrapolation split.
    assert_eq!(res.variants.len(), 37);
    let json: Results =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json, res);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("SYNTHETIC"));
    for v in &json.variants {
        let (m, sd) = mean_sd(&v.mse);
        let cell = format!(
            "| {} | {} | {:.4e} ± {:.1e} |",
            v.variant.name, v.parameters, m, sd
        );
        assert!(report.contains(&cell), "report lacks `{cell}`");
        assert!(m.is_finite() && m > 0.0);
    }
    let p = |n: &str| {
        json.variants
            .iter()
            .find(|v| v.variant.name == n)
            .unwrap()
            .parameters
    };
    // Attention adds exactly W_q, W_k, W_v (3 x 8 x 8 parameters).
    assert_eq!(p("ATT-HIB-PT") - p("NOATT-HIB-PT"), 192);
    // Every baseline within 10 % of the method's parameter count (FNN exactly).
    for att in ["ATT", "NOATT"] {
        let target = p(&format!("{att}-HIB-PT")) as f64;
        assert_eq!(p(&format!("FNN-{att}-HIB-PT")) as f64, target);
        for m in ["CNN", "UNET"] {
            let got = p(&format!("{m}-{att}-HIB-PT")) as f64;
            assert!(
                (got / target - 1.0).abs() < 0.10,
                "{m}-{att}: {got} vs {target}"
            );
        }
    }
    assert!(
        json.variants
            .iter()
            .filter(|v| v.variant.method == Method::Cnn)
            .count()
            == 8
    );
    assert_eq!(json.claims.len(), 5);
    // The hybrid's section: one row per (variant, seed) with its ratio to the DSPM-DE.
    assert!(report.contains("## The hybrid against the fitted DSPM-DE"));
    for name in ["HYBRID", "HYBRID-EXTRAP", "ATT-HIB-PT-EXTRAP"] {
        let v = json
            .variants
            .iter()
            .find(|v| v.variant.name == name)
            .unwrap();
        assert_eq!(v.mae_by_class[0].len(), 3, "{name}: three ion classes");
        let backbone = match v.backbone_activity[0].as_str() {
            "" => "–",
            a => a,
        };
        assert_eq!(
            backbone == "–",
            name == "ATT-HIB-PT-EXTRAP",
            "{name}: {backbone}"
        );
        let row = format!(
            "| {name} | 0 | {backbone} | {:.3e} | {:.3e} | {:.3} |",
            v.mse[0],
            v.dspmde_mse[0],
            v.mse[0] / v.dspmde_mse[0]
        );
        assert!(report.contains(&row), "report lacks `{row}`");
    }
    // The extrapolation split tests on other feeds than the random one: another DSPM-DE MSE.
    let d = |n: &str| {
        json.variants
            .iter()
            .find(|v| v.variant.name == n)
            .unwrap()
            .dspmde_mse[0]
    };
    assert_ne!(d("HYBRID"), d("HYBRID-EXTRAP"));
    assert_eq!(d("HYBRID-EXTRAP"), d("ATT-HIB-PT-EXTRAP"));
    for (claim, _, why) in &json.claims {
        assert!(report.contains(claim.as_str()) && report.contains(why.as_str()));
    }
    // Attention maps: rows of present ions, each summing to 1, printed in the report.
    assert!(!json.attention.is_empty());
    for a in &json.attention {
        assert_eq!(a.matrix.len(), a.ions.len());
        for row in &a.matrix {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let cells: Vec<String> = row.iter().map(|x| format!("{x:.3}")).collect();
            assert!(report.contains(&cells.join(" | ")));
        }
    }
    // Every figure: a well-formed SVG and a decodable PNG of the stated size, linked in the report.
    assert_eq!(
        json.figures,
        [
            "rejection-vs-flux",
            "parity",
            "mse-attention",
            "ablations",
            "attention"
        ]
    );
    for f in &json.figures {
        let svg = std::fs::read_to_string(dir.path().join(format!("{f}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{f}.svg: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        // Text was drawn (titles, axes), not only shapes.
        assert!(
            doc.descendants().any(|n| n.has_tag_name("text")),
            "{f}.svg has no text"
        );
        let png = std::fs::read(dir.path().join(format!("{f}.png"))).unwrap();
        let img = image::load_from_memory(&png).unwrap_or_else(|e| panic!("{f}.png: {e}"));
        assert!(img.width() >= 400 && img.height() >= 400);
        // Not blank: some pixels are darker than the white background.
        let rgb = img.to_rgb8();
        let dark = rgb
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 500, "{f}.png looks blank ({dark} dark pixels)");
        assert!(report.contains(&format!("({f}.png)")));
    }
}

#[test]
fn a_sharded_study_merges_into_the_same_results() {
    // Three shards (run in any order, one of them twice to show it resumes) and a merge give
    // the unsharded study's results, up to the training times.
    let reg = IonRegistry::canonical();
    let ds = synthetic_measurements(&reg, 24, 0.03, 2026)
        .unwrap()
        .dataset;
    let cfg = PipelineConfig::tiny(0);
    let whole = tempfile::tempdir().unwrap();
    let a = reproduce(&ds, &cfg, "tiny", &[0, 1], &reg, whole.path(), false).unwrap();
    let sharded = tempfile::tempdir().unwrap();
    let out = sharded.path();
    let e = merge(&ds, &reg, out).unwrap_err().to_string();
    assert!(e.contains("manifest.json"), "{e}");
    let total = units(&[0, 1]).len();
    let mut ran = 0;
    let mut owned = 0;
    for k in [2, 0, 1] {
        if k == 1 {
            let e = merge(&ds, &reg, out).unwrap_err().to_string();
            assert!(e.contains("units are missing"), "{e}");
        }
        let done = reproduce_shard(&ds, &cfg, "tiny", &[0, 1], (k, 3), &reg, out, false).unwrap();
        // The count a shard reports is the units it ran (it used to count i % n == k, not the
        // units the cost-balanced dealing gave it).
        assert_eq!(done.run, done.owned, "shard {k}");
        owned += done.owned;
        ran += done.run;
    }
    assert_eq!(ran, total);
    assert_eq!(owned, total);
    // Resumable: a finished shard has nothing left to do.
    let again = reproduce_shard(&ds, &cfg, "tiny", &[0, 1], (1, 3), &reg, out, false).unwrap();
    assert_eq!((again.run, again.owned > 0), (0, true));
    // Shards of another study are refused.
    let e = reproduce_shard(&ds, &cfg, "tiny", &[0], (0, 3), &reg, out, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("another study"), "{e}");
    // The same study with another shard count (what a Slurm array resubmitted for one index
    // passes) is told the recorded count, which `recorded_shards` reads back.
    let e = reproduce_shard(&ds, &cfg, "tiny", &[0, 1], (1, 4), &reg, out, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dealt into 3 shards") && e.contains("--shard 1"),
        "{e}"
    );
    assert_eq!(recorded_shards(out).unwrap(), Some(3));
    assert_eq!(recorded_shards(whole.path()).unwrap(), None);
    let b = merge(&ds, &reg, out).unwrap();
    let strip = |r: &Results| {
        let mut r = r.clone();
        for v in &mut r.variants {
            v.train_seconds.clear();
        }
        r
    };
    assert_eq!(strip(&a), strip(&b));
    // A unit file that names another seed or variant, or another study, is refused by merge
    // (it used to be merged under the file's name).
    let shards = out.join("shards");
    let keep = std::fs::read_to_string(shards.join("seed-1-HYBRID.json")).unwrap();
    std::fs::copy(
        shards.join("seed-0-HYBRID.json"),
        shards.join("seed-1-HYBRID.json"),
    )
    .unwrap();
    let e = merge(&ds, &reg, out).unwrap_err().to_string();
    assert!(e.contains("does not hold seed 1 HYBRID"), "{e}");
    let mut forged: serde_json::Value = serde_json::from_str(&keep).unwrap();
    forged["study"] = serde_json::json!("0123456789abcdef");
    forged["mse"] = serde_json::json!(1e-9);
    std::fs::write(shards.join("seed-1-HYBRID.json"), forged.to_string()).unwrap();
    let e = merge(&ds, &reg, out).unwrap_err().to_string();
    assert!(e.contains("written by hand"), "{e}");
    std::fs::write(shards.join("seed-1-HYBRID.json"), keep).unwrap();
    assert_eq!(strip(&merge(&ds, &reg, out).unwrap()), strip(&a));
    // Each unit records the epochs early stopping let it run, within the configured limits.
    let unit = |name: &str| -> UnitResult {
        let path = out.join("shards").join(format!("seed-0-{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let main = unit("ATT-HIB-PT").epochs;
    assert_eq!(main.len(), 2, "{main:?}");
    assert!((1..=cfg.pretrain_epochs).contains(&main[0]), "{main:?}");
    assert!((1..=cfg.finetune_epochs).contains(&main[1]), "{main:?}");
    assert_eq!(unit("ATT-HIB-NPT").epochs[0], 0);
    let hybrid = unit("HYBRID").epochs;
    assert!(hybrid.len() == 1 && hybrid[0] >= 1, "{hybrid:?}");
    // The hybrid's unit names its backbone's activity model (chosen by the training fit);
    // the other methods have none.
    let activity = unit("HYBRID").backbone_activity;
    assert!(
        ["Ideal", "Davies"].contains(&activity.as_str()),
        "{activity:?}"
    );
    assert_eq!(unit("ATT-HIB-PT").backbone_activity, "");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains(&format!("| HYBRID | 0 | {activity} |")),
        "{report}"
    );
    // Each unit names the build that ran it, and the report counts units per build; a unit
    // from another build (a study resumed after an update) is merged and said so.
    assert_eq!(unit("HYBRID").build, iontransport_cli::BUILD);
    assert!(iontransport_cli::BUILD.starts_with(env!("CARGO_PKG_VERSION")));
    let one_build = std::fs::read_to_string(out.join("report.md")).unwrap();
    let row = format!("| {} | {total} |", iontransport_cli::BUILD);
    assert!(one_build.contains(&row), "{one_build}");
    assert!(!one_build.contains("builds: numbers"), "{one_build}");
    let path = out.join("shards").join("seed-1-HYBRID.json");
    let mut older: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    older.as_object_mut().unwrap().remove("build");
    std::fs::write(&path, older.to_string()).unwrap();
    let mixed = merge(&ds, &reg, out).unwrap();
    assert_eq!(
        mixed
            .variants
            .iter()
            .find(|v| v.variant.name == "HYBRID")
            .unwrap()
            .builds[1],
        ""
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| not recorded | 1 |"), "{report}");
    assert!(report.contains("were run by 2 builds"), "{report}");
    // The cost adds the units' own training times.
    let seconds: f64 = mixed.variants.iter().flat_map(|v| &v.train_seconds).sum();
    assert!(report.contains(&format!("**{seconds:.0} s (")), "{report}");
    for f in [
        "report.md",
        "parity.svg",
        "attention.svg",
        "rejection-vs-flux.svg",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

#[test]
fn shards_share_the_expected_work_evenly() {
    // Every unit has one shard, and the shards' expected loads differ by at most the largest
    // unit's cost (greedy dealing, longest first), for any shard count. Dealing by index gave
    // shard 0 of 2 every pre-trained unit; dealing the pre-trained ones round-robin gave it
    // every hard one and shard 1 every soft one (twice as long each).
    let all = units(&[0, 1, 2]);
    let biggest = all.iter().map(|u| expected_cost(&u.1)).max().unwrap();
    for shards in [1, 2, 3, 5, 34, 200] {
        let owner = shard_of(&all, shards);
        assert_eq!(owner.len(), all.len());
        assert!(owner.iter().all(|&k| k < shards));
        let mut load = vec![0u64; shards];
        for (u, &k) in all.iter().zip(&owner) {
            load[k] += expected_cost(&u.1);
        }
        let (lo, hi) = (load.iter().min().unwrap(), load.iter().max().unwrap());
        assert!(hi - lo <= biggest, "{shards} shards: {load:?}");
        assert_eq!(
            load.iter().sum::<u64>(),
            all.iter().map(|u| expected_cost(&u.1)).sum::<u64>()
        );
    }
    // Against what the units really cost: the training seconds of the first whole --full seed
    // on one core (docs/reproduction.md; FNN units rerun with the batched baselines), the
    // longest shard stays within 15 % of an even split, or is the longest unit alone.
    let seconds = [
        ("ATT-HIB-PT", 656.0),
        ("ATT-SIB-PT", 1378.0),
        ("NOATT-HIB-PT", 392.0),
        ("NOATT-SIB-PT", 802.0),
        ("FNN-ATT-HIB-PT", 185.0),
        ("FNN-ATT-SIB-PT", 140.0),
        ("FNN-NOATT-HIB-PT", 146.0),
        ("FNN-NOATT-SIB-PT", 105.0),
        ("CNN-ATT-HIB-PT", 780.0),
        ("CNN-ATT-SIB-PT", 778.0),
        ("CNN-NOATT-HIB-PT", 700.0),
        ("CNN-NOATT-SIB-PT", 691.0),
        ("UNET-ATT-HIB-PT", 507.0),
        ("UNET-ATT-SIB-PT", 486.0),
        ("UNET-NOATT-HIB-PT", 426.0),
        ("UNET-NOATT-SIB-PT", 426.0),
        ("ATT-HIB+-PT", 938.0),
        ("NOATT-HIB+-PT", 531.0),
        ("ATT-HIB-PT-EXTRAP", 650.0),
        ("HYBRID", 10.0),
        ("HYBRID-EXTRAP", 13.0),
    ];
    let seed = units(&[0]);
    let cost = |name: &str| {
        seconds
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(10.0, |&(_, s)| s)
    };
    for (name, _) in seconds {
        assert!(seed.iter().any(|u| u.1.name == name), "{name}");
    }
    let total: f64 = seed.iter().map(|u| cost(&u.1.name)).sum();
    for shards in [2, 3, 4] {
        let owner = shard_of(&seed, shards);
        let mut load = vec![0.0; shards];
        for (u, &k) in seed.iter().zip(&owner) {
            load[k] += cost(&u.1.name);
        }
        let longest = load.iter().cloned().fold(0.0, f64::max);
        let bound = (1.15 * total / shards as f64).max(1378.0);
        assert!(longest <= bound, "{shards} shards: {load:?}");
    }
}

#[test]
fn a_plan_deals_every_unit_and_asks_for_a_time_that_fits_the_longest_shard() {
    let seeds = [0, 1, 2, 3, 4];
    let all = units(&seeds);
    let text = plan("full", &seeds, 37, std::path::Path::new("results-full")).unwrap();
    // One table row per shard; their units add up to the study's.
    let rows: Vec<(usize, f64)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            cells.first()?.parse::<usize>().ok()?;
            Some((cells.get(1)?.parse().ok()?, cells.get(2)?.parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), 37);
    assert_eq!(rows.iter().map(|r| r.0).sum::<usize>(), all.len());
    // In all: the units' expected seconds (the measured full-seed costs) and a minute of
    // preparation per seed a shard runs.
    let expected: f64 = all
        .iter()
        .map(|u| expected_seconds(&u.1, "full"))
        .sum::<f64>()
        / 3600.0;
    let listed: f64 = rows.iter().map(|r| r.1).sum();
    // (Rows are rounded to 0.01 h.)
    assert!(listed >= expected - 0.2 && listed <= expected + 37.0 * 5.0 / 60.0 + 0.2);
    // The array covers every shard and --time is at least the longest shard's time.
    assert!(text.contains("sbatch --array=0-36 "), "{text}");
    let time = text.split("--time=").nth(1).unwrap();
    let (h, rest) = time.split_once(':').unwrap();
    let m: f64 = rest[..2].parse().unwrap();
    let limit_h = h.parse::<f64>().unwrap() + m / 60.0;
    let longest = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    assert!(
        limit_h >= 1.5 * longest - 0.01,
        "{limit_h} h for {longest} h"
    );
    assert!(
        text.contains("CONFIG=full SEEDS=0,1,2,3,4 OUT=results-full"),
        "{text}"
    );
    // The quick study costs its measured 339 core-seconds per seed.
    let quick: f64 = units(&[0])
        .iter()
        .map(|u| expected_seconds(&u.1, "quick"))
        .sum();
    assert!((quick - 339.0).abs() < 1e-6, "{quick}");
    // More shards than units: said, not silently idle.
    let text = plan("quick", &[0], 40, std::path::Path::new("r")).unwrap();
    assert!(text.contains("ask for at most 37 shards"), "{text}");
    assert!(plan("quick", &[0], 0, std::path::Path::new("r")).is_err());
}

/// A plan of a study already under way says what each shard has done and still owes, and
/// how the finished units' training compares with the expectation; a unit file of another
/// unit does not count.
#[test]
fn a_plan_of_a_study_under_way_counts_what_is_done_and_what_is_left() {
    let seeds = [0, 1];
    let all = units(&seeds);
    let dir = tempfile::tempdir().unwrap();
    let shards = dir.path().join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    let unit = |seed: u64, variant: &str, secs: f64| {
        format!(
            r#"{{"seed": {seed}, "variant": "{variant}", "parameters": 1, "mse": 1e-3,
               "within_10_percent": 0.5, "max_relative_charge": 0.0, "train_seconds": {secs},
               "dspmde_mse": 1e-3}}"#
        )
    };
    let (a, b) = (&all[0].1, &all[1].1);
    std::fs::write(
        shards.join(format!("seed-0-{}.json", a.name)),
        unit(0, &a.name, 1200.0),
    )
    .unwrap();
    std::fs::write(
        shards.join(format!("seed-1-{}.json", b.name)),
        unit(1, &b.name, 30.0),
    )
    .unwrap();
    // A file under one unit's name holding another unit's result is not that unit.
    std::fs::write(
        shards.join(format!("seed-1-{}.json", a.name)),
        unit(0, &a.name, 5.0),
    )
    .unwrap();
    let text = plan("full", &seeds, 4, dir.path()).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            cells.iter().map(|c| c.parse::<f64>().ok()).collect()
        })
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 2.0, "{text}");
    // What is left: the expected time of every other unit, and a minute of preparation for
    // each seed a shard still has to run.
    let expected_done = expected_seconds(a, "full") + expected_seconds(b, "full");
    let left: f64 = all
        .iter()
        .map(|u| expected_seconds(&u.1, "full"))
        .sum::<f64>()
        - expected_done;
    let listed: f64 = rows.iter().map(|r| r[4]).sum::<f64>() * 3600.0;
    assert!(
        listed >= left - 4.0 * 18.0 && listed <= left + 8.0 * 60.0 + 4.0 * 18.0,
        "{listed} {left}"
    );
    let ratio = 1230.0 / expected_done;
    assert!(
        text.contains(&format!("2 of {} units done", all.len()))
            && text.contains(&format!("({ratio:.2}x)")),
        "{text}"
    );
    // Planned with another shard count than the study recorded: the plain plan, and a note.
    let manifest = iontransport_cli::reproduce::Manifest {
        configuration: "full".into(),
        base: PipelineConfig::tiny(0),
        seeds: seeds.to_vec(),
        data_fingerprint: "x".into(),
        shards: 3,
    };
    std::fs::write(
        shards.join("manifest.json"),
        serde_json::to_string(&manifest).unwrap(),
    )
    .unwrap();
    let other = plan("full", &seeds, 4, dir.path()).unwrap();
    assert!(!other.contains("units done"), "{other}");
    assert!(other.contains("was dealt into 3 shards"), "{other}");
    // A manifest that does not read is an error that names it, not a plan that ignores it.
    std::fs::write(shards.join("manifest.json"), "{").unwrap();
    let e = plan("full", &seeds, 4, dir.path()).unwrap_err().to_string();
    assert!(e.contains("manifest.json"), "{e}");
}
