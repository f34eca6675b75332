//! The command line refuses bad input up front, with messages that say what to do, and never
//! writes what its own reader would reject. Every case here failed (hang, silent nonsense or a
//! late failure) before issue 15.

mod support;

use support::{fails, q, run, sh, tiny_model, train, with_small_data};

#[test]
fn fluxes_far_outside_nanofiltration_fail_at_once_with_a_unit_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let t = std::time::Instant::now();
    // Was a > 10 minute run: 3-41 s per failing solve.
    let o = sh(&format!(
        "generate --out {} --feeds 5 --fluxes 3 --flux-max 10 --shard 4/5",
        q(&out)
    ));
    let e = o.result.unwrap_err();
    assert!(e.contains("10 LMH") && e.contains("above"), "{e}");
    assert!(t.elapsed().as_secs_f64() < 1.0);
    assert!(!out.exists());
    // With a unit it is fine.
    let o = sh(&format!(
        "generate --out {} --feeds 2 --fluxes 2 --flux-max '10 LMH'",
        q(&out)
    ));
    assert!(o.result.is_ok(), "{:?}", o.result);
    let ds = np_transport::data::Dataset::read_csv(&out, &ion_species::IonRegistry::canonical())
        .unwrap();
    let j = ds.samples[0].points.last().unwrap().flux;
    assert!((j / (10.0 * 1e-3 / 3600.0) - 1.0).abs() < 1e-12, "{j}");
}

#[test]
fn generate_refuses_what_its_reader_would_reject() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let o = out.to_str().unwrap();
    for (args, word) in [
        (vec!["--feeds", "0"], "at least one feed"),
        (vec!["--fluxes", "0"], "at least one flux"),
        (vec!["--flux-max", "-1e-5"], "negative"),
        (vec!["--flux-max", "0"], "> 0 m/s"),
        (vec!["--shard", "5/5"], "i < n"),
        (vec!["--shard", "half"], "not i/n"),
        (vec!["--noise", "-0.1"], "noise"),
    ] {
        let mut a = vec!["generate", "--out", o];
        a.extend(args.iter());
        let e = run(&a).result.unwrap_err();
        assert!(e.contains(word), "{args:?}: {e}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    // --synthetic has its own fixed fluxes: the sweep options are refused, not ignored.
    for opt in [
        ["--fluxes", "3"],
        ["--flux-max", "1e-5"],
        ["--shard", "0/2"],
    ] {
        let mut a = vec!["generate", "--synthetic", "--out", o];
        a.extend(opt.iter());
        let e = run(&a).result.unwrap_err();
        assert!(e.contains("cannot be used with"), "{e}");
    }
}

#[test]
fn synthetic_defaults_reproduce_the_shipped_set() {
    // Each feed has its own random stream, so the first feeds of the shipped set must come
    // out byte for byte with the defaults (noise 0.03, seed 2026; the old defaults were the
    // DSPM-DE generator's 0.01 and 0).
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/synthetic-measurements.csv");
    let Ok(text) = std::fs::read_to_string(&shipped) else {
        eprintln!("not in the repository: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let o = sh(&format!("generate --synthetic --feeds 3 --out {}", q(&out)));
    assert!(o.result.is_ok(), "{:?}", o.result);
    let mine = std::fs::read_to_string(&out).unwrap();
    let head = mine.lines().count();
    let theirs: Vec<&str> = text.lines().take(head).collect();
    assert_eq!(mine.lines().collect::<Vec<_>>(), theirs);
}

#[test]
fn inputs_and_outputs_are_checked_before_any_work() {
    let (dir, data) = with_small_data();
    let d = data.to_str().unwrap();
    // A typo in --data was silently replaced by the synthetic set.
    let e = fails("pipeline --data /no/such/file.csv");
    assert!(
        e.contains("/no/such/file.csv") && e.contains("does not exist"),
        "{e}"
    );
    // An impossible --out failed after a 5-minute run and lost the model.
    let t = std::time::Instant::now();
    let e = fails(&format!(
        "pipeline --data {} --out /nonexistent/m.json",
        q(d)
    ));
    assert!(e.contains("does not exist"), "{e}");
    assert!(t.elapsed().as_secs_f64() < 1.0);
    // Outputs never overwrite inputs.
    let e = fails(&format!("train --data {} --out {}", q(d), q(d)));
    assert!(e.contains("also an input"), "{e}");
    let model = dir.path().join("m.json");
    tiny_model(&data, &model);
    let m = model.to_str().unwrap();
    let e = fails(&format!(
        "train --data {} --finetune-from {} --out {}",
        q(d),
        q(m),
        q(m)
    ));
    assert!(e.contains("also an input"), "{e}");
    let e = fails(&format!(
        "evaluate --model {} --data {} --parity {}",
        q(m),
        q(d),
        q(d)
    ));
    assert!(e.contains("also an input"), "{e}");
    // 0 epochs saved an untrained model with exit 0.
    let e = fails(&format!(
        "train --data {} --out {} --epochs 0",
        q(d),
        q(&dir.path().join("z.json"))
    ));
    assert!(e.contains("epochs"), "{e}");
    assert!(!dir.path().join("z.json").exists());
}

#[test]
fn train_takes_the_rejection_loss_and_saves_it() {
    let (dir, data) = with_small_data();
    let out = dir.path().join("r.json");
    train(
        &data,
        &out,
        &["--epochs", "1", "--positive", "--rejection-loss"],
    )
    .result
    .unwrap();
    let m = iontransport_model::Checkpoint::load(&out)
        .unwrap()
        .model()
        .unwrap();
    assert_eq!(m.config.loss, iontransport_model::LossSpace::Rejection);
    // A fine-tuned model keeps the loss it was made with.
    let e = train(
        &data,
        &dir.path().join("f.json"),
        &["--finetune-from", out.to_str().unwrap(), "--rejection-loss"],
    )
    .result
    .unwrap_err();
    assert!(e.contains("--rejection-loss"), "{e}");
}

#[test]
fn train_says_how_it_splits_and_cleans_up_its_checkpoint() {
    let (dir, data) = with_small_data();
    let out = dir.path().join("m.json");
    let o = train(&data, &out, &["--epochs", "1", "--positive"]);
    let text = o.result.unwrap();
    assert!(
        text.contains("best validation MSE") && text.contains("normalised"),
        "{text}"
    );
    assert!(
        o.stderr.contains("16 feeds: 10 training, 2 validation") && o.stderr.contains("4 held out"),
        "{}",
        o.stderr
    );
    assert!(out.exists() && !out.with_extension("ckpt").exists());
    // One feed: no validation set, and the report says so instead of "validation MSE".
    let one = dir.path().join("one.csv");
    let first: Vec<&str> = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .take(7)
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    std::fs::write(&one, first.join("\n") + "\n").unwrap();
    let o = train(&one, &dir.path().join("o.json"), &["--epochs", "1"]);
    let text = o.result.unwrap();
    assert!(text.contains("best TRAINING MSE"), "{text}");
    assert!(o.stderr.contains("no validation feeds"), "{}", o.stderr);
}

#[test]
fn predictions_outside_the_training_domain_warn() {
    let (dir, data) = with_small_data();
    let model = dir.path().join("m.json");
    tiny_model(&data, &model);
    let m = model.to_str().unwrap();
    // Default --flux-max: the model's largest training flux, so no warning.
    let o = sh(&format!(
        "predict --model {} --feed 'Na+=20 mM, Cl-=20 mM' --points 3",
        q(m)
    ));
    let text = o.result.unwrap();
    assert!(!o.stderr.contains("warning"), "{}", o.stderr);
    assert!(text.contains("2.0000e-5"), "{text}");
    let o = sh(&format!(
        "predict --model {} --feed 'Na+=20,Cl-=20' --flux-max 3.7e-5",
        q(m)
    ));
    assert!(o.result.is_ok());
    assert!(
        o.stderr.contains("1.85x the largest training flux"),
        "{}",
        o.stderr
    );
    // Units on the command line, as in CSV headers.
    let a = sh(&format!(
        "predict --model {} --feed 'Na+=20 mM, Cl-=0.02 M' --flux-max '36 LMH' --csv",
        q(m)
    ));
    let b = sh(&format!(
        "predict --model {} --feed 'Na+=20,Cl-=20' --flux-max '1e-5 m/s' --csv",
        q(m)
    ));
    let numbers = |t: String| -> Vec<f64> {
        t.lines()
            .skip(1)
            .flat_map(|l| {
                l.split(',')
                    .map(|x| x.parse::<f64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (a, b) = (numbers(a.result.unwrap()), numbers(b.result.unwrap()));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-9 * x.abs().max(1e-3), "{x} vs {y}");
    }
}

#[test]
fn the_dspmde_alone_at_fluxes_and_pressures() {
    let o = sh("dspmde --feed 'Na+=10 mM, Cl-=10 mM' --flux-max '36 LMH' --points 1 --csv");
    let text = o.result.unwrap();
    let row: Vec<f64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    // NF270-like membrane: 63 % NaCl rejection at 1e-5 m/s and 10 mM (np-transport's docs).
    assert!((row[0] - 1e-5).abs() < 1e-18 && (row[1] - 36.0).abs() < 1e-9);
    assert!(
        (row[2] - 0.63).abs() < 0.01 && (row[2] - row[3]).abs() < 1e-9,
        "{row:?}"
    );
    let o = sh("dspmde --feed 'Na+=10,Cl-=10' --pressures '2 bar,8 bar' --csv");
    let text = o.result.unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1][0] > rows[0][0] && rows[1][4] > rows[0][4],
        "{rows:?}"
    );
    assert_eq!(rows[0][2], 2.0);
    let e = fails("dspmde --feed 'Na+=10,Cl-=10' --pressures 8");
    assert!(e.contains("needs a unit"), "{e}");
    let e = fails("dspmde --feed 'Na+=10,Cl-=10' --pore-radius '0.1 nm'");
    assert!(e.contains("pore") || e.contains("radius"), "{e}");
}

#[test]
fn parity_csv_quotes_sample_ids() {
    let (dir, data) = with_small_data();
    // Sample ids with commas and quotes (the data writer quotes them).
    let reg = ion_species::IonRegistry::canonical();
    let mut ds = np_transport::data::Dataset::read_csv(&data, &reg).unwrap();
    for s in &mut ds.samples {
        s.id = format!("feed, \"{}\"", s.id);
    }
    ds.write_csv(&data).unwrap();
    let model = dir.path().join("m.json");
    tiny_model(&data, &model);
    let parity = dir.path().join("p.csv");
    let o = sh(&format!(
        "evaluate --model {} --data {} --all --parity {}",
        q(&model),
        q(&data),
        q(&parity)
    ));
    assert!(o.result.is_ok(), "{:?}", o.result);
    let mut r = csv::Reader::from_path(&parity).unwrap();
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        assert_eq!(rec.len(), 5);
        assert!(rec[0].starts_with("feed, \""), "{:?}", &rec[0]);
        let (a, b): (f64, f64) = (rec[3].parse().unwrap(), rec[4].parse().unwrap());
        assert!(a >= 0.0 && b >= 0.0);
        rows += 1;
    }
    assert!(rows > 16);
}

#[test]
fn a_failed_study_leaves_no_empty_results_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    // Two feeds: no test split.
    let text = "sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3],permeate:Cl- [mol/m3]\na,1e-5,10,10,4,4\nb,1e-5,20,20,9,9\n";
    std::fs::write(&data, text).unwrap();
    let results = dir.path().join("results");
    let o = sh(&format!(
        "reproduce --data {} --seeds 0 --out {}",
        q(&data),
        q(&results)
    ));
    assert!(o.result.is_err());
    assert!(!results.exists());
    for bad in ["3/3", "1", "a/b"] {
        let e = fails(&format!(
            "reproduce --shard {} --out {}",
            q(bad),
            q(&results)
        ));
        assert!(e.contains("k/n"), "{e}");
    }
    let e = fails(&format!("reproduce merge --out {}", q(&results)));
    assert!(e.contains("run the shards"), "{e}");
}

#[test]
fn feeds_rounded_to_four_figures_run_through_the_pipeline() {
    // Lab files round concentrations; the reader accepted them (0.1 % tolerance) but the
    // DSPM-DE fit demanded 1e-6 and the pipeline failed with "cannot be solved at the
    // starting parameters". Now the reader balances them explicitly and says so.
    let reg = ion_species::IonRegistry::canonical();
    let ds = np_transport::generate::synthetic_measurements(&reg, 24, 0.03, 2026)
        .unwrap()
        .dataset;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rounded.csv");
    ds.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let round4 = |cell: &str| -> String {
        match cell.parse::<f64>() {
            Ok(v) if v > 0.0 => format!("{:.3e}", v),
            _ => cell.to_string(),
        }
    };
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with("sample") {
            out += line;
        } else {
            let cells: Vec<String> = line.split(',').map(round4).collect();
            out += &cells.join(",");
        }
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    let rounded = np_transport::data::Dataset::read_csv(&path, &reg).unwrap();
    assert!(rounded.balanced.len() > 12, "{}", rounded.balanced.len());
    let prep = iontransport_model::pipeline::prepare(
        &rounded,
        &iontransport_model::pipeline::PipelineConfig::tiny(0),
        &reg,
        false,
    )
    .unwrap();
    assert!(prep.dspmde.mse.is_finite());
}

#[test]
fn a_hybrid_trains_saves_and_predicts_from_the_command_line() {
    let (dir, data) = with_small_data();
    let out = dir.path().join("h.json");
    let o = train(&data, &out, &["--epochs", "2", "--hybrid"]);
    let text = o.result.unwrap();
    assert!(
        // The backbone's Freundlich isotherm, written as a person writes it.
        text.starts_with("hybrid,") && text.contains("backbone X_d = ") && text.contains(" I^"),
        "{text}"
    );
    assert!(
        o.stderr.contains("16 feeds: 10 training, 2 validation"),
        "{}",
        o.stderr
    );
    // The file carries its backbone, so `predict` needs nothing else.
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(file.contains("\"backbone\"") && file.contains("Freundlich"));
    let o = sh(&format!(
        "predict --model {} --feed 'Na+=20 mM, Mg2+=5 mM, Cl-=20 mM, SO4 2-=5 mM' --points 4 --csv",
        q(&out)
    ));
    let csv = o.result.unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        // Rejections of Na+, Mg2+, Cl-, SO4 2- (columns after the two flux columns) are
        // below 1: positive permeates.
        assert!(r[2..].iter().all(|x| x.is_finite() && *x < 1.0), "{r:?}");
    }
    // Options of the paper's model make no sense for the hybrid.
    let e = train(
        &data,
        &dir.path().join("x.json"),
        &["--hybrid", "--soft", "1"],
    )
    .result
    .unwrap_err();
    assert!(e.to_string().contains("--soft"), "{e}");
}

#[test]
fn validate_cross_validates_real_measurements_and_refuses_what_it_cannot_fold() {
    // Three feeds of the shipped measurements, three fluxes each (a tiny run: seconds).
    let full = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/measurements/fdl2021-nf270.csv"
    );
    let text = std::fs::read_to_string(full).unwrap();
    let mut kept = Vec::new();
    let mut per_sample = std::collections::HashMap::new();
    for line in text.lines() {
        let sample = line.split(',').next().unwrap_or("");
        if line.starts_with('#') || line.starts_with("sample,") {
            kept.push(line);
        } else if !sample.starts_with("MgSO4") {
            let n = per_sample.entry(sample.to_string()).or_insert(0);
            *n += 1;
            if *n <= 3 {
                kept.push(line);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("three.csv");
    std::fs::write(&data, kept.join("\n") + "\n").unwrap();
    let out = dir.path().join("cv");
    let o = sh(&format!(
        "validate --data {} --folds feed --tiny --out {}",
        q(&data),
        q(&out)
    ));
    let text = o.result.unwrap();
    assert!(text.contains("intrinsic rejections at 20.00 °C"), "{text}");
    assert!(text.contains("### leave one feed out (3 folds"), "{text}");
    assert!(text.contains("| NH4+ |") && text.contains("lowest mean absolute error"));
    assert!(out.join("report.md").exists() && out.join("crossval.json").exists());
    // The data-only table of how far held-out feeds lie beyond their training feeds: an ion
    // that only one feed holds (Mg2+, SO4 2-) has no training feed to compare with.
    let beyond = text
        .split("Held-out measurements against their training feeds")
        .nth(1)
        .expect("the table of held-out feeds beyond their training feeds");
    let beyond = &beyond[beyond.find("\n\n|").map_or(0, |i| i + 2)..];
    let beyond = &beyond[..beyond.find("\n\n").unwrap_or(beyond.len())];
    assert!(
        beyond.contains("| Na+ |") && beyond.contains("| NO3- |"),
        "{beyond}"
    );
    assert!(
        !beyond.contains("| Mg^2+ |") && !beyond.contains("| SO4^2- |"),
        "{beyond}"
    );
    // Every markdown table is well formed: each row has its header's number of cells.
    let mut cells = None;
    for line in text.lines() {
        if line.starts_with('|') {
            let n = line.matches('|').count();
            assert_eq!(*cells.get_or_insert(n), n, "{line}\n{text}");
        } else {
            cells = None;
        }
    }
    assert!(out.join("crossval-nacl-traces.png").exists());

    // One feed cannot be cross-validated: the error says why and what to do.
    let one = dir.path().join("one.csv");
    std::fs::write(&one, kept[..kept.len() - 6].join("\n") + "\n").unwrap();
    let e = fails(&format!("validate --data {} --tiny", q(&one)));
    assert!(e.contains("at least 2"), "{e}");

    // An ion without built-in data: the error lists the known ions and names --ions; with
    // its data in a TOML file the file reads (and then fails only for having one feed).
    let iodide = dir.path().join("iodide.csv");
    std::fs::write(
        &iodide,
        "sample,Jv [um/s],feed:Na+ [mM],feed:I- [mM],rejection:I- [-]\na,10,1,1,0.3\n",
    )
    .unwrap();
    let e = fails(&format!("validate --data {} --tiny", q(&iodide)));
    assert!(
        e.contains("unknown ion `I-`") && e.contains("--ions") && e.contains("NH4+"),
        "{e}"
    );
    let toml = dir.path().join("ions.toml");
    // Iodide: D = 2.045e-9 m^2/s (CRC, Vanysek), r_s by Stokes-Einstein at 25 °C.
    std::fs::write(
        &toml,
        "[[ions]]\nname = \"I-\"\nformula = \"I\"\ncharge = -1\nstokes_radius = 1.20e-10\ndiffusivity = 2.045e-9\nmolar_mass = 0.12690\nsource = \"CRC\"\n",
    )
    .unwrap();
    let e = fails(&format!(
        "validate --data {} --ions {} --tiny",
        q(&iodide),
        q(&toml)
    ));
    assert!(e.contains("at least 2"), "{e}");
}

#[test]
fn a_fitted_membrane_file_predicts_what_its_parameters_predict() {
    // fit -> membrane file -> dspmde --membrane: the same table as the fitted parameters
    // given by hand, and the fit's report (parameters, residuals, error per ion).
    let (dir, data) = support::lab(2);
    let file = dir.path().join("membrane.json");
    let args = [
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ];
    let fitted = run(&[&args[..], &["--max-evaluations", "40"]].concat());
    let text = fitted.result.unwrap();
    for want in [
        "pore_radius",
        "R measured",
        "RMSE of R",
        "sign errors",
        "saved",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let m = &json["membrane"];
    let feed = [
        "--feed",
        "Na+=20 mM, SO4 2-=10 mM",
        "--points",
        "4",
        "--csv",
    ];
    let saved = run(&[&["dspmde", "--membrane", file.to_str().unwrap()], &feed[..]].concat());
    let (r, t, x) = (
        format!("{:e}m", m["pore_radius"].as_f64().unwrap()),
        format!("{:e}m", m["effective_thickness"].as_f64().unwrap()),
        format!("{:e}", m["charge"]["Constant"].as_f64().unwrap()),
    );
    let by_hand = run(&[
        &[
            "dspmde",
            "--pore-radius",
            &r,
            "--thickness",
            &t,
            "--charge",
            &x,
        ][..],
        &feed[..],
    ]
    .concat());
    assert_eq!(saved.result.unwrap(), by_hand.result.unwrap());
    // A model file is not a membrane file, and the message says where it goes.
    let (model, more) = (dir.path().join("model.json"), dir.path().join("more.csv"));
    support::small_data(&more);
    tiny_model(&more, &model);
    let wrong = run(&[
        &["dspmde", "--membrane", model.to_str().unwrap()],
        &feed[..],
    ]
    .concat());
    let e = wrong.result.unwrap_err();
    assert!(
        e.contains("not a membrane file") || e.contains("--model"),
        "{e}"
    );
}

#[test]
fn generate_simulates_the_membrane_of_a_membrane_file() {
    use np_transport::generate::{GeneratorConfig, flux_grid, generate};
    use np_transport::{ChargeModel, Conditions, Dspmde, Membrane, MembraneFile};
    let dir = tempfile::tempdir().unwrap();
    let membrane = Membrane {
        pore_radius: 0.6e-9,
        effective_thickness: 2.0e-6,
        charge: ChargeModel::Constant(-12.0),
        ..Membrane::nf270_like()
    };
    let file = dir.path().join("membrane.json");
    MembraneFile::new(membrane.clone(), Conditions::default())
        .unwrap()
        .save(&file)
        .unwrap();
    let out = dir.path().join("pretraining.csv");
    let f = file.to_str().unwrap();
    let args = ["generate", "--out", out.to_str().unwrap(), "--membrane", f];
    let o = run(&[&args[..], &["--feeds", "3", "--fluxes", "2", "--seed", "4"]].concat());
    o.result.unwrap();
    // The same set from the library with that membrane, byte for byte.
    let cfg = GeneratorConfig {
        feeds: 3,
        fluxes: flux_grid(3e-5, 2),
        noise: 0.01,
        seed: 4,
        ..GeneratorConfig::default()
    };
    let reg = ion_species::IonRegistry::canonical();
    let model = Dspmde::new(membrane, Conditions::default()).unwrap();
    let source = format!("dspmde-pretraining (membrane file {f})");
    let want = dir.path().join("want.csv");
    generate(&model, &reg, &cfg, &source)
        .unwrap()
        .dataset
        .write_csv(&want)
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&want).unwrap());
    // The default membrane gives other numbers.
    let other = dir.path().join("default.csv");
    let o = sh(&format!(
        "generate --out {} --feeds 3 --fluxes 2 --seed 4",
        q(&other)
    ));
    o.result.unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(&other).unwrap());
}

#[test]
fn dspmde_predicts_at_the_temperature_it_is_given() {
    let base = [
        "dspmde",
        "--feed",
        "Na+=20 mM, Cl-=20 mM",
        "--points",
        "3",
        "--csv",
    ];
    let at = |t: &str| run(&[&base[..], &["--temperature", t]].concat()).result;
    let default = run(&base).result.unwrap();
    // 25 C is the default, in either unit.
    assert_eq!(at("25 C").unwrap(), default);
    assert_eq!(at("298.15 K").unwrap(), default);
    // Colder water is more viscous: the ions diffuse more slowly, the numbers change.
    let cold = at("10 C").unwrap();
    assert_ne!(cold, default);
    // A number without a unit, an unknown unit, and a temperature outside the water
    // correlations are refused by name.
    let e = at("25").unwrap_err();
    assert!(
        e.contains("needs a unit") && e.contains("C, degC, K"),
        "{e}"
    );
    let e = at("25 F").unwrap_err();
    assert!(e.contains("unknown temperature unit"), "{e}");
    let e = at("500 C").unwrap_err();
    assert!(e.contains("temperature") || e.contains("outside"), "{e}");
}
