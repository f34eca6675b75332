//! The membrane scientist's workflow: fit a membrane file, score it on measurements with
//! prediction intervals, predict a new feed with intervals; files with any known ion.

mod support;

use std::path::{Path, PathBuf};
use support::{fails, ok, q, run, sh};

/// The `all` row of a per-ion score table: (points, RMSE, MAE).
fn all_row(text: &str) -> (usize, f64, f64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("all "))
        .unwrap_or_else(|| panic!("no `all` row: {text}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    (
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

/// `score --membrane|--model FILE --data DATA` followed by `extra`.
fn score(kind: &str, file: &Path, data: &Path, extra: &[&str]) -> support::Outcome {
    let (f, d) = (file.to_str().unwrap(), data.to_str().unwrap());
    run(&[&["score", kind, f, "--data", d][..], extra].concat())
}

/// `fit --data DATA --out OUT` with few evaluations.
fn fit(data: &Path, out: &Path) -> String {
    ok(&format!(
        "fit --data {} --out {} --max-evaluations 40",
        q(&data),
        q(&out)
    ))
}

/// A fresh folder with a lab file of `feeds` DSPM-DE sweeps (`lab.csv`) and the membrane
/// file `fit` made of it (`m.json`): the folder, both paths and the fit's output.
fn fitted_lab(feeds: usize) -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let (dir, data) = support::lab(feeds);
    let membrane = dir.path().join("m.json");
    let fitted = fit(&data, &membrane);
    (dir, data, membrane, fitted)
}

#[test]
fn a_membrane_scores_its_own_data_as_the_fit_did_and_covers_it() {
    let (dir, data, membrane, fitted) = fitted_lab(3);
    assert!(fitted.contains("prediction intervals: "), "{fitted}");
    assert!(fitted.contains("the data determine "), "{fitted}");
    let points = dir.path().join("points.csv");
    let scored = score(
        "--membrane",
        &membrane,
        &data,
        &["--points", points.to_str().unwrap()],
    )
    .result
    .unwrap();
    // One computation: the score of the fit's own data is the fit's residual table.
    let (n, rmse, mae) = all_row(&scored);
    assert_eq!((n, rmse, mae), {
        let (n2, r2, m2) = all_row(&fitted);
        (n2, r2, m2)
    });
    assert!(scored.contains("inside interval"), "{scored}");
    // In-sample, the 90 % intervals hold most points.
    let line = scored.lines().find(|l| l.starts_with("all ")).unwrap();
    let covered: usize = line.split_whitespace().nth(6).unwrap().parse().unwrap();
    assert!(covered as f64 >= 0.75 * n as f64, "{line}");
    // Every scored point is in the CSV, each inside or outside its own interval as printed.
    let csv = std::fs::read_to_string(&points).unwrap();
    assert_eq!(csv.lines().count(), n + 1, "{csv}");
    let inside = csv
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<f64> = l.split(',').skip(3).map(|v| v.parse().unwrap()).collect();
            f[2] <= f[0] && f[0] <= f[3]
        })
        .count();
    assert_eq!(inside, covered);
    // Without intervals: the same errors, no coverage column.
    let plain = score("--membrane", &membrane, &data, &["--interval", "none"])
        .result
        .unwrap();
    assert_eq!(all_row(&plain), (n, rmse, mae));
    assert!(!plain.contains("inside interval"));
}

#[test]
fn dspmde_gives_intervals_around_the_fitted_prediction() {
    let (dir, data, membrane, _) = fitted_lab(3);
    let m = membrane.to_str().unwrap();
    let feed = ["--feed", "K+=15 mM, Cl-=15 mM", "--points", "3", "--csv"];
    let with = run(&[
        &["dspmde", "--membrane", m, "--interval", "90%"][..],
        &feed[..],
    ]
    .concat())
    .result
    .unwrap();
    let without = run(&[&["dspmde", "--membrane", m][..], &feed[..]].concat())
        .result
        .unwrap();
    // `predict --membrane` is the same prediction.
    let predicted = run(&[
        &["predict", "--membrane", m, "--interval", "90%"][..],
        &feed[..],
    ]
    .concat())
    .result
    .unwrap();
    assert_eq!(predicted, with);
    let head: Vec<&str> = with.lines().next().unwrap().split(',').collect();
    assert_eq!(head.len(), 2 + 3 * 2, "{with}");
    for (a, b) in with.lines().skip(1).zip(without.lines().skip(1)) {
        let a: Vec<f64> = a.split(',').map(|v| v.parse().unwrap()).collect();
        let b: Vec<f64> = b.split(',').map(|v| v.parse().unwrap()).collect();
        for ion in 0..2 {
            let (r, lo, hi) = (a[2 + 3 * ion], a[3 + 3 * ion], a[4 + 3 * ion]);
            // The centre is the fitted membrane's own prediction.
            assert_eq!(r, b[2 + ion]);
            assert!(lo < r && r < hi && hi <= 1.0, "{lo} {r} {hi}");
        }
    }
    // Levels outside (0, 1), intervals without a membrane, a model asked for intervals.
    for (args, want) in [
        (
            vec!["dspmde", "--membrane", m, "--interval", "1.5"],
            "strictly between 0 and 1",
        ),
        (vec!["dspmde", "--interval", "0.9"], "--membrane"),
    ] {
        let e = run(&[&args[..], &feed[..]].concat()).result.unwrap_err();
        assert!(e.contains(want), "{want}: {e}");
    }
    let model = dir.path().join("model.json");
    let more = dir.path().join("more.csv");
    support::small_data(&more);
    support::tiny_model(&more, &model);
    // A trained model scores with intervals from its error on its validation feeds.
    let scored = score("--model", &model, &data, &[]).result.unwrap();
    assert!(
        scored.contains("90 % interval") && scored.contains("inside interval"),
        "{scored}"
    );
    assert!(all_row(&scored).0 > 0, "{scored}");
    let plain = score("--model", &model, &data, &["--interval", "none"])
        .result
        .unwrap();
    assert!(!plain.contains("inside interval"), "{plain}");
    assert_eq!(all_row(&plain), all_row(&scored));
}

/// `predict` and `score` take several models (one model trained with several seeds): their
/// mean, with intervals that hold every member; a model file without the training error
/// intervals need is named and told to retrain.
#[test]
fn an_ensemble_of_seeds_predicts_with_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    support::small_data(&data);
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    support::tiny_model_seeded(&data, &a, 0);
    support::tiny_model_seeded(&data, &b, 1);
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let feed = ["--feed", "Na+=20 mM, Cl-=20 mM", "--points", "3", "--csv"];
    let csv_of = |models: &[&str], extra: &[&str]| -> Vec<Vec<f64>> {
        let mut args = vec!["predict"];
        for m in models {
            args.extend(["--model", m]);
        }
        let text = run(&[&args[..], &feed[..], extra].concat()).result.unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect()
    };
    let one_a = csv_of(&[pa], &[]);
    let one_b = csv_of(&[pb], &[]);
    let both = csv_of(&[pa, pb], &["--interval", "0.9"]);
    // Columns: Jv, LMH, then per ion R, lower, upper (Na+, Cl-).
    assert_eq!(both[0].len(), 2 + 2 * 3);
    for k in 0..3 {
        for ion in 0..2 {
            let (ra, rb) = (one_a[k][2 + ion], one_b[k][2 + ion]);
            let (r, lo, hi) = (
                both[k][2 + 3 * ion],
                both[k][3 + 3 * ion],
                both[k][4 + 3 * ion],
            );
            assert!((r - 0.5 * (ra + rb)).abs() < 1e-12, "{r} {ra} {rb}");
            assert!(
                lo < ra.min(rb) && hi > ra.max(rb).min(1.0) - 1e-12,
                "{lo} {hi} {ra} {rb}"
            );
        }
    }
    // Comma-separated is the same ensemble.
    let joined = format!("{pa},{pb}");
    assert_eq!(csv_of(&[&joined], &["--interval", "0.9"]), both);
    let scored = ok(&format!(
        "score --model {} --model {} --data {}",
        q(pa),
        q(pb),
        q(&data)
    ));
    assert!(scored.contains("inside interval"), "{scored}");

    // A model file from before intervals: no interval by default (with a note), and an
    // error that says to retrain when one is asked for.
    let old = dir.path().join("old.json");
    let mut c = iontransport_model::Checkpoint::load(&a).unwrap();
    c.config.domain.as_mut().unwrap().scatter = None;
    c.save(&old).unwrap();
    let po = old.to_str().unwrap();
    let noted = sh(&format!("score --model {} --data {}", q(po), q(&data)));
    assert!(noted.stderr.contains("retrain"), "{}", noted.stderr);
    assert!(!noted.result.unwrap().contains("inside interval"));
    let e = run(&[
        &["predict", "--model", pa, "--model", po][..],
        &feed[..],
        &["--interval", "0.9"],
    ]
    .concat())
    .result
    .unwrap_err();
    assert!(e.contains("model 2") && e.contains("retrain"), "{e}");
}

#[test]
fn a_membrane_written_by_hand_scores_without_intervals_and_says_why() {
    use np_transport::{Conditions, Membrane, MembraneFile};
    let (dir, data) = support::lab(2);
    let membrane = dir.path().join("m.json");
    MembraneFile::new(Membrane::nf270_like(), Conditions::default())
        .unwrap()
        .save(&membrane)
        .unwrap();
    let o = score("--membrane", &membrane, &data, &[]);
    let text = o.result.unwrap();
    assert!(o.stderr.contains("no parameter samples"), "{}", o.stderr);
    assert!(!text.contains("inside interval"));
    // The data were simulated with this very membrane (1 % noise): small errors.
    assert!(all_row(&text).1 < 0.05, "{text}");
    let e = fails(&format!(
        "dspmde --membrane {} --feed 'Na+=10 mM, Cl-=10 mM' --interval 0.9",
        q(&membrane)
    ));
    assert!(e.contains("refit"), "{e}");
}

#[test]
fn every_command_reads_files_with_any_known_ion() {
    // Ammonium is not one of the canonical eight: fit, score and dspmde take it, as validate
    // always did; an unknown ion names the known ones and --ions.
    use ion_species::{Composition, IonRegistry};
    use np_transport::{Conditions, Dspmde, Membrane};
    let dir = tempfile::tempdir().unwrap();
    let reg = IonRegistry::extended();
    let model = Dspmde::new(Membrane::nf270_like(), Conditions::default()).unwrap();
    let mut text = String::from(
        "sample,Jv [um/s],feed:NH4+ [mM],feed:Na+ [mM],feed:Cl- [mM],rejection:NH4+ [-],rejection:Na+ [-],rejection:Cl- [-]\n",
    );
    for (k, (nh4, na)) in [(10.0, 0.0), (5.0, 5.0), (2.0, 20.0)].iter().enumerate() {
        let mut pairs = vec![("NH4+", *nh4), ("Cl-", nh4 + na)];
        if *na > 0.0 {
            pairs.push(("Na+", *na));
        }
        let feed = Composition::from_mmol_per_l(&reg, &pairs).unwrap();
        for jv in [5.0, 10.0, 20.0] {
            let p = model.solve(&feed, jv * 1e-6).unwrap();
            // The solver reports the feed's ions only.
            let r = |ion: &str| {
                p.ions
                    .iter()
                    .position(|n| n == ion)
                    .map_or(String::new(), |j| format!("{:.5}", p.rejection[j]))
            };
            let na_feed = if *na > 0.0 {
                na.to_string()
            } else {
                String::new()
            };
            text += &format!(
                "s{k},{jv},{nh4},{na_feed},{},{},{},{}\n",
                nh4 + na,
                r("NH4+"),
                r("Na+"),
                r("Cl-")
            );
        }
    }
    let data = dir.path().join("ammonium.csv");
    std::fs::write(&data, text).unwrap();
    let membrane = dir.path().join("m.json");
    let fitted = fit(&data, &membrane);
    // Simulated without noise by the NF270-like membrane: the fit reproduces it.
    assert!(all_row(&fitted).1 < 0.01, "{fitted}");
    let scored = score("--membrane", &membrane, &data, &[]).result.unwrap();
    assert!(scored.contains("NH4+"), "{scored}");
    let table = ok(&format!(
        "dspmde --membrane {} --feed 'NH4+=10 mM, Cl-=10 mM' --points 2",
        q(&membrane)
    ));
    assert!(table.contains("R(NH4+)"), "{table}");
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(
        &unknown,
        "sample,Jv [um/s],feed:Cs+ [mM],feed:Cl- [mM],rejection:Cs+ [-]\ns,10,10,10,0.3\n",
    )
    .unwrap();
    let e = fails(&format!(
        "fit --data {} --out {}",
        q(&unknown),
        q(&dir.path().join("x.json"))
    ));
    assert!(e.contains("NH4+") && e.contains("--ions"), "{e}");
}

/// `fit --isotherm` fits a Freundlich charge, `--isotherm langmuir` a Langmuir one; each file
/// holds its form and the report names its parameter.
#[test]
fn fit_isotherm_takes_its_form() {
    let (dir, data) = support::lab(3);
    for (form, parameter, stored) in [
        (None, "charge_exponent", "\"Freundlich\""),
        (Some("langmuir"), "charge_half_saturation", "\"Langmuir\""),
    ] {
        let out = dir.path().join(format!("{parameter}.json"));
        let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
        let mut args = vec![
            "fit",
            "--data",
            d,
            "--out",
            o,
            "--max-evaluations",
            "40",
            "--samples",
            "10",
            "--isotherm",
        ];
        args.extend(form);
        let text = run(&args).result.unwrap();
        assert!(text.contains(parameter), "{text}");
        let file = std::fs::read_to_string(&out).unwrap();
        assert!(file.contains(stored), "{file}");
    }
    let e = fails(&format!(
        "fit --data {} --out x.json --isotherm linear",
        q(&data)
    ));
    assert!(e.contains("langmuir"), "{e}");
}

#[test]
fn feeds_given_as_salts_predict_what_their_ions_predict() {
    let table = |feed: &str| ok(&format!("dspmde --feed {} --points 2 --csv", q(feed)));
    assert_eq!(
        table("MgCl2=10 mM, NaCl=5"),
        table("Mg2+=10 mM, Cl-=25 mM, Na+=5 mM")
    );
    // Mass units through the salt's molar mass: 0.58443 g/L NaCl (58.443 g/mol) = 10 mM.
    let (a, b) = (table("NaCl=0.58443 g/L"), table("Na+=10, Cl-=10"));
    for (x, y) in a.lines().zip(b.lines()).skip(1) {
        let x: Vec<f64> = x.split(',').map(|v| v.parse().unwrap()).collect();
        let y: Vec<f64> = y.split(',').map(|v| v.parse().unwrap()).collect();
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() < 1e-4, "{a}\n{b}");
        }
    }
    let e = fails("dspmde --feed NaCl2=5");
    assert!(e.contains("nor a salt") && e.contains("net charge"), "{e}");
}

#[test]
fn evaluate_reports_rejections_per_ion_as_score_does() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = (dir.path().join("d.csv"), dir.path().join("m.json"));
    support::small_data(&data);
    support::tiny_model(&data, &model);
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let evaluated = ok(&format!("evaluate --model {} --data {} --all", q(m), q(d)));
    assert!(evaluated.contains("RMSE of R"), "{evaluated}");
    let scored = ok(&format!(
        "score --model {} --data {} --interval none",
        q(m),
        q(d)
    ));
    // The same model on the same points: the same errors of R, per ion and over all.
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("ion "))
            .take_while(|l| !l.is_empty() && !l.starts_with("worst"))
            .map(String::from)
            .collect()
    };
    assert!(rows(&evaluated).len() > 2, "{evaluated}");
    assert_eq!(rows(&evaluated), rows(&scored));
}

#[test]
fn a_small_file_can_be_used_whole() {
    // One feed: the default split leaves no test feed, and the error says what to do; with
    // --all a two-feed file trains on both and the message says where to score.
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.csv");
    support::data_with(&one, 1);
    let out = dir.path().join("h.json");
    let e = support::train(&one, &out, &["--hybrid", "--epochs", "2"])
        .result
        .unwrap_err();
    assert!(
        e.contains("test split is empty") && e.contains("test fraction 0"),
        "{e}"
    );
    let data = dir.path().join("two.csv");
    support::data_with(&data, 2);
    let whole = support::train(&data, &out, &["--hybrid", "--epochs", "2", "--all"]);
    whole.result.unwrap();
    assert!(
        whole.stderr.contains("2 feeds: 2 training, 0 validation"),
        "{}",
        whole.stderr
    );
    assert!(whole.stderr.contains("score --model"), "{}", whole.stderr);
    let plain = dir.path().join("n.json");
    let o = support::train(&data, &plain, &["--epochs", "1", "--all"]);
    o.result.unwrap();
    assert!(
        o.stderr.contains("2 feeds: 2 training, 0 validation"),
        "{}",
        o.stderr
    );
    // The model trained on everything scores on the file (here its own feeds).
    let scored = score("--model", &out, &data, &[]);
    assert!(scored.result.unwrap().contains("RMSE of R"));
    // Without validation feeds, both record the error of their intervals with each feed
    // left out in turn, not on the feeds they trained on.
    for file in [&out, &plain] {
        let c = iontransport_model::Checkpoint::load(file).unwrap();
        let s = c.config.domain.unwrap().scatter.unwrap();
        assert_eq!(s.source, iontransport_model::ScatterSource::CrossValidation);
        assert!(s.rmse.iter().flatten().all(|r| r.is_finite() && *r > 0.0));
    }
    assert!(
        o.stderr.contains("each with one feed left out"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_fitted_membrane_file_is_the_hybrids_backbone() {
    // Fit once on the whole file, then train the hybrid's correction on that membrane: the
    // saved model's backbone is the file's membrane and conditions, not a refit.
    let (dir, data, membrane, _) = fitted_lab(3);
    let out = dir.path().join("h.json");
    let m = membrane.to_str().unwrap();
    let o = support::train(
        &data,
        &out,
        &["--hybrid", "--all", "--epochs", "2", "--membrane", m],
    );
    o.result.unwrap();
    let file = np_transport::MembraneFile::load(&membrane).unwrap();
    let model = iontransport_model::Checkpoint::load(&out)
        .unwrap()
        .model()
        .unwrap();
    let backbone = model.config.backbone.as_ref().unwrap();
    assert_eq!(backbone.membrane, file.membrane);
    assert_eq!(backbone.conditions, file.conditions);
    assert!(!o.stderr.contains("ended at a bound"), "{}", o.stderr);
    // A membrane whose fit ended at a bound is used, with a warning that names it.
    let text = std::fs::read_to_string(&membrane).unwrap();
    let flag = "\"at_bound\": false";
    let first = text.find(flag).unwrap();
    let edited = format!(
        "{}\"at_bound\": true{}",
        &text[..first],
        &text[first + flag.len()..]
    );
    std::fs::write(&membrane, edited).unwrap();
    let o = support::train(
        &data,
        &out,
        &["--hybrid", "--all", "--epochs", "1", "--membrane", m],
    );
    o.result.unwrap();
    assert!(
        o.stderr
            .contains("the membrane file's fit ended at a bound: pore_radius"),
        "{}",
        o.stderr
    );
    // Only with --hybrid.
    let e = support::train(&data, &out, &["--membrane", m])
        .result
        .unwrap_err();
    assert!(e.contains("--hybrid"), "{e}");
}

/// `--temperature` on every command: data files' samples that state none take it (a fit at
/// `--temperature "20 C"` equals the fit of the same file with a `T [K]` column of 293.15),
/// `generate` simulates and labels at it (a colder feed is rejected more: slower
/// diffusion), and a neural ODE, which has no temperature input, refuses it by name.
#[test]
fn every_command_takes_the_temperature() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |path: &Path| path.to_str().unwrap().to_string();
    let generate = |out: &Path, extra: &[&str]| {
        let o = s(out);
        let args = [
            &[
                "generate",
                "--out",
                o.as_str(),
                "--feeds",
                "3",
                "--fluxes",
                "3",
                "--noise",
                "0",
            ][..],
            extra,
        ]
        .concat();
        run(&args).result.unwrap();
        std::fs::read_to_string(out).unwrap()
    };
    let warm = generate(&p("warm.csv"), &[]);
    let cold = generate(&p("cold.csv"), &["--temperature", "20 C"]);
    let header = cold.lines().find(|l| l.starts_with("sample")).unwrap();
    assert!(header.contains("T [K]"), "{header}");
    assert!(
        !warm
            .lines()
            .find(|l| l.starts_with("sample"))
            .unwrap()
            .contains("T [K]")
    );
    // Same feeds and fluxes; the permeate of the first ion of the first point is lower cold.
    let value = |text: &str, column: &str| -> f64 {
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        let k = head.iter().position(|h| h.starts_with(column)).unwrap();
        row[k].parse().unwrap()
    };
    assert_eq!(value(&warm, "feed:Na+"), value(&cold, "feed:Na+"));
    let (pw, pc) = (value(&warm, "permeate:Na+"), value(&cold, "permeate:Na+"));
    assert!(pc < pw, "cold {pc} vs warm {pw}");
    assert_eq!(value(&cold, "T [K]"), 293.15);

    // A file without temperatures fitted at --temperature 20 C is the 20 C file's fit.
    let unlabelled = p("unlabelled.csv");
    let mut text = String::new();
    let mut seen_header = false;
    let mut col = None;
    for line in cold.lines() {
        if line.starts_with('#') {
            text.push_str(line);
        } else {
            let cells: Vec<&str> = line.split(',').collect();
            if !seen_header {
                col = cells.iter().position(|c| c.starts_with("T [K]"));
                seen_header = true;
            }
            let kept: Vec<&str> = cells
                .iter()
                .enumerate()
                .filter(|(k, _)| Some(*k) != col)
                .map(|(_, c)| *c)
                .collect();
            text.push_str(&kept.join(","));
        }
        text.push('\n');
    }
    std::fs::write(&unlabelled, text).unwrap();
    let fitted = |data: &Path, out: &Path, extra: &[&str]| -> String {
        let (d, o) = (s(data), s(out));
        let args = [
            &[
                "fit",
                "--data",
                d.as_str(),
                "--out",
                o.as_str(),
                "--max-evaluations",
                "40",
            ][..],
            extra,
        ]
        .concat();
        let text = run(&args).result.unwrap();
        // The table, without the lines that name the file.
        text.lines()
            .filter(|l| !l.contains(".csv") && !l.contains(".json"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let labelled = fitted(&p("cold.csv"), &p("a.json"), &[]);
    let given = fitted(&unlabelled, &p("b.json"), &["--temperature", "20 C"]);
    let at_25 = fitted(&unlabelled, &p("c.json"), &[]);
    assert_eq!(labelled, given);
    assert_ne!(labelled, at_25);

    // A neural ODE has no temperature input.
    let model = p("m.json");
    support::small_data(&p("small.csv"));
    support::tiny_model(&p("small.csv"), &model);
    let e = fails(&format!(
        "predict --model {} --feed 'Na+=10 mM, Cl-=10 mM' --temperature '20 C'",
        q(&s(&model))
    ));
    assert!(e.contains("no temperature input"), "{e}");
}

/// `validate --train A --test B`: every model trained on A's feeds and scored on B's (one
/// fold); an id B shares with A is renamed, not merged; --train needs --test and excludes
/// --data.
#[test]
fn validate_trains_on_one_file_and_tests_on_another() {
    let full = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/measurements/fdl2021-nf270.csv"
    );
    let text = std::fs::read_to_string(full).unwrap();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let mut per_sample = std::collections::HashMap::new();
    for line in text.lines() {
        let sample = line.split(',').next().unwrap_or("");
        if line.starts_with('#') || line.starts_with("sample,") {
            train.push(line);
            test.push(line);
            continue;
        }
        let n = per_sample.entry(sample.to_string()).or_insert(0);
        *n += 1;
        if *n > 3 {
            continue;
        }
        match sample {
            "NaCl+traces" => {
                train.push(line);
                test.push(line);
            }
            s if s.starts_with("MgCl2") => train.push(line),
            s if s.starts_with("Na2SO4") => test.push(line),
            _ => {}
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&a, train.join("\n") + "\n").unwrap();
    std::fs::write(&b, test.join("\n") + "\n").unwrap();
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = dir.path().join("cv");
    let text = ok(&format!(
        "validate --train {} --test {} --tiny --out {}",
        q(pa),
        q(pb),
        q(&out)
    ));
    assert!(
        text.contains("(training) and") && text.contains("(test)"),
        "{text}"
    );
    assert!(
        text.contains("### train on some feeds, test on others (1 fold"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("crossval.json")).unwrap()).unwrap();
    let samples: Vec<&str> = json["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(samples.len(), 4, "{samples:?}");
    assert!(samples.contains(&"test:NaCl+traces"), "{samples:?}");
    // The one fold tests exactly B's two feeds.
    let folds = json["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 1);
    let tested: Vec<usize> = folds[0]["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(tested, [2, 3]);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("crossval-test") && n.ends_with(".png")),
        "{names:?}"
    );

    let e = fails(&format!("validate --train {} --tiny", q(pa)));
    assert!(e.contains("--test"), "{e}");
    let e = fails(&format!(
        "validate --train {} --test {} --data {}",
        q(pa),
        q(pb),
        q(pa)
    ));
    assert!(e.contains("--data") || e.contains("cannot be used"), "{e}");
}

/// `fit --film-thickness` / `--mass-transfer`: the film is part of the saved membrane's
/// conditions (so `dspmde --membrane` predicts with it), a mass-transfer coefficient k of
/// NaCl gives the thickness D_NaCl / k, and a film changes the fit; intrinsic data refuse it.
#[test]
fn a_fit_takes_the_polarisation_film() {
    let (dir, data) = support::lab(3);
    let d = data.to_str().unwrap();
    let fit_with = |name: &str, extra: &[&str]| -> (String, serde_json::Value) {
        let out = dir.path().join(name);
        let o = out.to_str().unwrap();
        let args = [
            &["fit", "--data", d, "--out", o, "--max-evaluations", "40"][..],
            extra,
        ]
        .concat();
        let text = run(&args).result.unwrap();
        let json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (text, json)
    };
    let (plain, plain_json) = fit_with("plain.json", &[]);
    assert_eq!(
        plain_json["conditions"]["polarisation"], "Off",
        "{plain_json}"
    );
    let (film, film_json) = fit_with("film.json", &["--film-thickness", "20 um"]);
    assert!(film.contains("a film of 20.00 um"), "{film}");
    let thickness = film_json["conditions"]["polarisation"]["Film"]["thickness"]
        .as_f64()
        .unwrap();
    assert!((thickness - 2e-5).abs() < 1e-12, "{film_json}");
    assert_ne!(all_row(&plain), all_row(&film));
    // k = 8.05e-5 m/s of NaCl (D 1.61e-9 m^2/s) is the same 20 um film.
    let d_na: f64 = 1.334e-9;
    let d_cl: f64 = 2.032e-9;
    let d_nacl = 2.0 * d_na * d_cl / (d_na + d_cl);
    let k = format!("{} m/s", d_nacl / 2e-5);
    let (_, k_json) = fit_with("k.json", &["--mass-transfer", &k]);
    let from_k = k_json["conditions"]["polarisation"]["Film"]["thickness"]
        .as_f64()
        .unwrap();
    assert!((from_k / 2e-5 - 1.0).abs() < 1e-3, "{from_k}");
    // The saved film is used when predicting.
    let m = dir.path().join("film.json");
    let p = dir.path().join("plain.json");
    let feed = ["--feed", "Na+=20 mM, Cl-=20 mM", "--points", "2", "--csv"];
    let with = run(&[
        &["dspmde", "--membrane", m.to_str().unwrap()][..],
        &feed[..],
    ]
    .concat())
    .result
    .unwrap();
    let without = run(&[
        &["dspmde", "--membrane", p.to_str().unwrap()][..],
        &feed[..],
    ]
    .concat())
    .result
    .unwrap();
    assert_ne!(with, without);
}

/// `score --figure F`: predicted against measured R as F.svg and F.png, one colour per ion
/// (every scored ion in the legend strip), interval bars for a membrane.
#[test]
fn score_draws_its_parity_figure() {
    let (dir, data, membrane, _) = fitted_lab(2);
    let fig = dir.path().join("parity");
    let text = score(
        "--membrane",
        &membrane,
        &data,
        &["--figure", fig.to_str().unwrap()],
    )
    .result
    .unwrap();
    assert!(
        text.contains("parity.svg") && text.contains("parity.png"),
        "{text}"
    );
    let svg = std::fs::read_to_string(fig.with_extension("svg")).unwrap();
    let png = std::fs::read(fig.with_extension("png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(svg.contains("bars: prediction intervals"), "legend strip");
    let csv = std::fs::read_to_string(&data).unwrap();
    let header = csv.lines().find(|l| l.starts_with("sample")).unwrap();
    for ion in ["Na+", "Cl-"] {
        if header.contains(&format!("permeate:{ion}")) {
            assert!(svg.contains(ion), "{ion} in the legend");
        }
    }
}

/// `fit` on three synthetic feeds with `extra` options: the printed row of parameter `row`
/// (value in kT) must be the value the saved file holds at `pointer` (a JSON pointer into its
/// membrane), and each of `refusals` (two more arguments, what the error must say) fails.
/// Returns the saved file.
fn fit_prints_what_it_saves(
    dir: &Path,
    extra: &[&str],
    row: &str,
    pointer: &str,
    refusals: &[([&str; 2], &str)],
) -> serde_json::Value {
    let data = dir.join("lab.csv");
    support::data_with(&data, 3);
    let out = dir.join("m.json");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let base = ["fit", "--data", d, "--out", o, "--max-evaluations", "40"];
    let text = run(&[&base[..], extra].concat()).result.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no {row} row: {text}"));
    assert!(line.contains(" kT"), "{line}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let saved = json["membrane"]
        .pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no {pointer} in the file: {json}"));
    let printed: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((saved - printed).abs() < 1e-3, "{saved} vs {line}");
    for (more, says) in refusals {
        let err = run(&[&base[..], &more[..]].concat()).result.unwrap_err();
        assert!(err.contains(says), "{more:?}: {err}");
    }
    json
}

#[test]
fn a_fit_takes_hydration_born_radii_and_partition_energies() {
    let dir = tempfile::tempdir().unwrap();
    // An ion no one measured, or that is no ion, is named.
    let json = fit_prints_what_it_saves(
        dir.path(),
        &[
            "--born-radius",
            "hydration",
            "--partition-energy",
            "chloride",
        ],
        "partition_energy:Cl-",
        "/partitioning/energies/Cl-",
        &[
            (["--partition-energy", "Xx-"], "Xx-"),
            (["--partition-energy", "Ba2+"], "Ba"),
        ],
    );
    assert_eq!(
        json["membrane"]["partitioning"]["born_radius"], "Hydration",
        "{json}"
    );
}

#[test]
fn a_fit_takes_energy_descriptors_and_the_implicit_jacobian() {
    let dir = tempfile::tempdir().unwrap();
    // A descriptor or a Jacobian that does not exist is named by the parser.
    fit_prints_what_it_saves(
        dir.path(),
        &[
            "--energy-descriptors",
            "hydration",
            "--jacobian",
            "implicit",
        ],
        "energy_weight:hydration",
        "/partitioning/descriptor_weights/hydration",
        &[
            (["--energy-descriptors", "size"], "size"),
            (["--jacobian", "exact"], "exact"),
        ],
    );
}

#[test]
fn a_fit_takes_a_charge_set_by_multivalent_ions() {
    let dir = tempfile::tempdir().unwrap();
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/measurements/fdl2021-nf270.csv");
    let out = dir.path().join("m.json");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let base = [
        "fit",
        "--data",
        d,
        "--out",
        o,
        "--max-evaluations",
        "60",
        "--samples",
        "20",
    ];
    let text = run(&[&base[..], &["--multivalent-charge"]].concat())
        .result
        .unwrap();
    for row in ["charge_cations", "charge_anions"] {
        assert!(
            text.lines().any(|l| l.starts_with(row)),
            "no {row} row: {text}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let charge = &json["membrane"]["charge"]["Multivalent"];
    assert!(charge["cations"].as_f64().is_some(), "{json}");
    // The file predicts: its charge follows each feed.
    let text = ok(&format!(
        "dspmde --membrane {} --feed 'Mg2+=10 mM, SO4 2-=10 mM' --points 2",
        q(o)
    ));
    assert!(text.contains("Mg^2+") || text.contains("Mg2+"), "{text}");
    let err = run(&[&base[..], &["--multivalent-charge", "--isotherm"]].concat())
        .result
        .unwrap_err();
    assert!(err.contains("isotherm"), "{err}");
}
