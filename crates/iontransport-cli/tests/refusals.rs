//! Command lines that used to run silently on bad input, or fail late with a message that
//! blamed the wrong thing, are refused at once with the cause named.

mod support;

use support::{fails, q, run, tiny_model, train, with_small_data};

#[test]
fn a_training_checkpoint_is_not_a_model_and_a_model_is_not_a_checkpoint() {
    let (dir, data) = with_small_data();
    let model = dir.path().join("m.json");
    tiny_model(&data, &model);
    // A checkpoint of an unfinished run: make one as `train` writes it (optimiser state kept).
    let mut c = iontransport_model::Checkpoint::load(&model).unwrap();
    c.adam = Some(iontransport_model::train::Adam::new(c.params.len(), 1e-3));
    c.epoch = 3;
    let ckpt = dir.path().join("m.ckpt");
    c.save(&ckpt).unwrap();
    // `--model m.ckpt` predicted with the last epoch's parameters.
    let e = fails(&format!(
        "predict --model {} --feed 'Na+=10, Cl-=10'",
        q(&ckpt)
    ));
    assert!(
        e.contains("unfinished training run (epoch 3)") && e.contains("--resume"),
        "{e}"
    );
    // `--resume m.json` said "different configuration".
    let e = train(
        &data,
        &dir.path().join("n.json"),
        &["--resume", model.to_str().unwrap()],
    )
    .result
    .unwrap_err();
    assert!(
        e.contains("finished model") && e.contains("nothing to resume"),
        "{e}"
    );
}

#[test]
fn an_output_named_as_a_folder_is_refused_before_training() {
    let (dir, data) = with_small_data();
    // `--out new/` passed the check and failed after training.
    let out = format!("{}/new/", dir.path().display());
    let e = fails(&format!(
        "train --data {} --out {} --epochs 1",
        q(&data),
        q(&out)
    ));
    assert!(e.contains("give a file name"), "{e}");
}

#[test]
fn dspmde_takes_a_charge_with_units_and_refuses_absurd_membranes_and_feeds() {
    let base = ["dspmde", "--feed", "Na+=10, Cl-=10", "--points", "2"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a).result
    };
    // `--charge "-40 mM"` was a parser error; it means -40 mol/m3 like the bare number.
    assert_eq!(
        with(&["--charge", "-40 mM"]).unwrap(),
        with(&["--charge", "-40"]).unwrap()
    );
    assert_eq!(
        with(&["--charge", "-0.04 M"]).unwrap(),
        with(&["--charge", "-40"]).unwrap()
    );
    // These were solved.
    let e = with(&["--charge", "-1e9"]).unwrap_err();
    assert!(e.contains("beyond"), "{e}");
    let e = with(&["--thickness", "1e-12m"]).unwrap_err();
    assert!(e.contains("effective_thickness"), "{e}");
    let e = fails("dspmde --feed 'Na+=1e9 M, Cl-=1e9 M' --points 2");
    assert!(e.contains("check the unit"), "{e}");
}

#[test]
fn a_soft_weight_that_swamps_the_data_is_refused() {
    let (dir, data) = with_small_data();
    let e = train(&data, &dir.path().join("m.json"), &["--soft", "1e300"])
        .result
        .unwrap_err();
    assert!(e.contains("swamp"), "{e}");
}

#[test]
fn validate_refuses_repeated_seeds_and_an_input_it_would_overwrite_and_cleans_up() {
    let (dir, data) = with_small_data();
    // `--seeds 0,0` counted seed 0 twice in every mean and sd.
    let e = fails(&format!(
        "validate --data {} --seeds '0,0' --tiny",
        q(&data)
    ));
    assert!(e.contains("seed 0 is given twice"), "{e}");
    // A data file named report.md inside --out was overwritten by the report.
    let out = dir.path().join("cv");
    std::fs::create_dir(&out).unwrap();
    let inside = out.join("report.md");
    std::fs::copy(&data, &inside).unwrap();
    let e = fails(&format!(
        "validate --data {} --tiny --out {}",
        q(&inside),
        q(&out)
    ));
    assert!(e.contains("also an input"), "{e}");
    assert_eq!(
        std::fs::read(&inside).unwrap(),
        std::fs::read(&data).unwrap()
    );
    // A run that fails leaves no empty --out behind (one feed cannot be cross-validated).
    let one = dir.path().join("one.csv");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(
        &one,
        text.lines().take(5).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let fresh = dir.path().join("fresh");
    let e = fails(&format!(
        "validate --data {} --tiny --out {}",
        q(&one),
        q(&fresh)
    ));
    assert!(e.contains("at least 2"), "{e}");
    assert!(!fresh.exists());
}

#[test]
fn an_interrupt_says_how_to_resume_the_command_that_ran() {
    use clap::Parser;
    use iontransport_cli::args::Cli;
    let hint = |args: &[&str]| {
        let mut full = vec!["iontransport"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).unwrap().command.resume_hint()
    };
    let h = hint(&["train", "--data", "d.csv", "--out", "runs/m.json"]);
    assert!(h.contains("--resume runs/m.ckpt"), "{h}");
    // `reproduce` has no --resume: rerunning it is the resume.
    let h = hint(&["reproduce", "--out", "study"]);
    assert!(
        h.contains("rerun the same command") && !h.contains("--resume"),
        "{h}"
    );
    let h = hint(&["dspmde", "--feed", "Na+=1, Cl-=1"]);
    assert!(h.contains("nothing to resume"), "{h}");
}
