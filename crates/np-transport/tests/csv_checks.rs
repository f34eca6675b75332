//! The CSV reader refuses what it used to read silently or wrongly (each case was found by
//! probing the reader as a careful user would), and reads the units a lab writes.

use ion_species::IonRegistry;
use np_transport::data::Dataset;

const HEAD: &str = "sample,Jv [L/m2/h],feed:Na+ [mmol/L],feed:Cl- [mmol/L],rejection:Na+ [-]\n";

fn read(text: &str) -> Result<Dataset, String> {
    Dataset::from_csv_str(text, &IonRegistry::canonical()).map_err(|e| e.to_string())
}

fn err_of(text: &str) -> String {
    read(text).unwrap_err()
}

#[test]
fn a_data_row_whose_id_starts_with_hash_is_refused_not_dropped() {
    // The reader took `#b,...` for a comment: sample b vanished without a word.
    let e = err_of(&format!("{HEAD}a,10,10,10,0.5\n#b,10,10,10,0.5\n"));
    assert!(
        e.contains("line 3") && e.contains("starts with `#`") && e.contains("5 fields"),
        "{e}"
    );
    // Ordinary comments, also with commas, below and above the header, still are comments.
    let d = read(&format!(
        "# source: A, B and C, 2021\n{HEAD}# measured by hand, twice\na,10,10,10,0.5\n"
    ))
    .unwrap();
    assert_eq!(d.samples.len(), 1);
    assert_eq!(d.comments.len(), 2, "{:?}", d.comments);
}

#[test]
fn two_rows_at_one_flux_are_refused() {
    // Equal fluxes passed (`>` instead of `>=`): two measurements at one flux are no curve.
    let e = err_of(&format!("{HEAD}a,10,10,10,0.5\na,10,10,10,0.6\n"));
    assert!(
        e.contains("line 3") && e.contains("two rows at the flux"),
        "{e}"
    );
}

#[test]
fn synthetic_marks_are_read_only_from_comment_lines() {
    let body = "sample,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3]\na,1e-6,10,10,5\n";
    // An indented mark is a comment (it used to become the header: "unknown column").
    let d = read(&format!("   # SYNTHETIC: made up\n{body}")).unwrap();
    assert_eq!(d.synthetic.as_deref(), Some("made up"));
    // A quoted cell that spans lines cannot inject a mark (it used to label real data as
    // synthetic) nor a comment.
    let text = "sample,source,Jv [m/s],feed:Na+ [mol/m3],feed:Cl- [mol/m3],permeate:Na+ [mol/m3]\na,\"lab\n# SYNTHETIC: injected\",1e-6,10,10,5\n";
    let d = read(text).unwrap();
    assert_eq!(d.synthetic, None);
    assert!(d.comments.is_empty(), "{:?}", d.comments);
    assert!(d.samples[0].source.contains("injected"));
}

#[test]
fn values_implausible_for_their_unit_are_refused_with_the_slip_named() {
    // 1e9 mmol/L feeds.
    let e = err_of(&format!("{HEAD}a,10,1e9,1e9,0.5\n"));
    assert!(e.contains("line 2") && e.contains("check the unit"), "{e}");
    // mmol/L numbers under a mol/L header.
    let e = err_of(
        "sample,Jv [LMH],feed:Na+ [mol/L],feed:Cl- [mol/L],rejection:Na+ [-]\na,10,20,20,0.5\n",
    );
    assert!(e.contains("mol/L header"), "{e}");
    // A rejection of -1e6 (a sign or unit slip), and one that overflows to infinity in SI.
    let e = err_of(&format!("{HEAD}a,10,10,10,-1e6\n"));
    assert!(e.contains("below -10"), "{e}");
    let e = err_of(
        "sample,Jv [LMH],feed:Na+ [g/L],feed:Cl- [g/L],rejection:Na+ [-]\na,10,1e308,1e308,0.5\n",
    );
    assert!(
        e.contains("not finite") || e.contains("check the unit"),
        "{e}"
    );
    // L/m2/h numbers under m/s: refused at once with the hint (the fit used to fail 25 s later
    // with an ODE step error).
    let e =
        err_of("sample,Jv [m/s],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,20,10,10,0.5\n");
    assert!(e.contains("20 LMH") && e.contains("Jv [L/m2/h]"), "{e}");
}

#[test]
fn permeabilities_and_pressures_are_checked_and_stated_once() {
    let head = "sample,dP [bar],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-],rejection:Cl- [-]\n";
    let rows = "a,5,10,10,0.5,0.5\n";
    // Stated twice: the first used to win silently.
    let e = err_of(&format!(
        "# water_permeability: 10 LMH/bar\n# water_permeability: 1 LMH/bar\n{head}{rows}"
    ));
    assert!(e.contains("stated twice"), "{e}");
    let e = err_of(&format!("# water_permeability: 1e-30 m/s/Pa\n{head}{rows}"));
    assert!(e.contains("outside 0.01-1000 L/m2/h/bar"), "{e}");
    let e = err_of(&format!(
        "# water_permeability: 10 LMH/bar\n{head}a,1e6,10,10,0.5,0.5\n"
    ));
    assert!(e.contains("above 200 bar"), "{e}");
    // A pressure series whose computed flux falls: the message says why (it said "fluxes must
    // increase down the file" of a file without fluxes).
    let e = err_of(&format!(
        "# water_permeability: 10 LMH/bar\n{head}a,5,10,10,0.5,0.5\na,4,10,10,0.5,0.5\n"
    ));
    assert!(e.contains("computed from this row's pressure"), "{e}");
}

#[test]
fn rejections_in_percent_are_converted() {
    // `rejection:Na+ [%]` was accepted and not converted: 20.7 % became R = 20.7 (refused
    // only above 1) and -20.7 % was fitted as R = -20.7.
    let d = read(
        "sample,Jv [LMH],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [%],rejection_sd:Na+ [%]\na,10,10,10,-20.7,2\n",
    )
    .unwrap();
    let p = &d.samples[0].points[0];
    assert!((p.permeate[0].unwrap() - 10.0 * 1.207).abs() < 1e-12);
    assert!((p.permeate_sd[0].unwrap() - 0.2).abs() < 1e-12);
    // A fraction above 1 suggests the unit.
    let e = err_of(&format!("{HEAD}a,10,10,10,95\n"));
    assert!(e.contains("[%]"), "{e}");
    let e =
        err_of("sample,Jv [LMH],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [ppm]\na,10,10,10,0.5\n");
    assert!(e.contains("accepted: - (= 1 = fraction"), "{e}");
}

#[test]
fn every_lab_spelling_of_a_unit_reads_the_same_numbers() {
    let reference = read(&format!("{HEAD}a,36,10,10,0.5\n")).unwrap();
    let lmh = reference.samples[0].points[0].flux;
    for flux in ["L m-2 h-1", "L/m²/h", "LMH", "L/(m2 h)"] {
        let d = read(&format!(
            "sample,Jv [{flux}],feed:Na+ [mmol/L],feed:Cl- [mmol/L],rejection:Na+ [-]\na,36,10,10,0.5\n"
        ))
        .unwrap();
        assert_eq!(d.samples[0].points[0].flux, lmh, "{flux}");
    }
    assert!((lmh - 1e-5).abs() < 1e-18);
    // 10 mmol/L of NaCl as mol/m³, M, g/L and mg/L (Na 22.98977, Cl 35.453 g/mol).
    for (unit, na, cl) in [
        ("mol/m³", "10", "10"),
        ("M", "0.01", "0.01"),
        ("g/L", "0.2298977", "0.35453"),
        ("mg/L", "229.8977", "354.53"),
    ] {
        let d = read(&format!(
            "sample,Jv [LMH],feed:Na+ [{unit}],feed:Cl- [{unit}],rejection:Na+ [-]\na,36,{na},{cl},0.5\n"
        ))
        .unwrap();
        for ion in ["Na+", "Cl-"] {
            let c = d.samples[0].feed[d.ions.iter().position(|n| n == ion).unwrap()];
            assert!((c - 10.0).abs() < 1e-3, "{unit} {ion}: {c}");
        }
    }
}

#[test]
fn unit_and_column_errors_list_what_is_accepted() {
    let e =
        err_of("sample,Jv [gfd],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,10,10,10,0.5\n");
    assert!(e.contains("accepted:") && e.contains("LMH"), "{e}");
    let e = err_of(
        "sample,Jv [LMH],feed:Na+ [mol/kg],feed:Cl- [mM],rejection:Na+ [-]\na,10,10,10,0.5\n",
    );
    assert!(e.contains("accepted:") && e.contains("g/L"), "{e}");
    // A metadata column: say that `#` lines hold metadata.
    let e = err_of(
        "sample,pH,Jv [LMH],feed:Na+ [mM],feed:Cl- [mM],rejection:Na+ [-]\na,7,10,10,10,0.5\n",
    );
    assert!(
        e.contains("unknown column `pH`") && e.contains("# pH: 6.5"),
        "{e}"
    );
}

#[test]
fn feeds_given_as_salts_are_split_into_their_ions() {
    // 0.9521 g/L MgCl2 (95.21 g/mol) = 10 mol/m3 Mg2+ + 20 mol/m3 Cl-; a NaCl column adds
    // its chloride to the same feed.
    let text = "sample,Jv [um/s],feed:MgCl2 [g/L],feed:NaCl [mmol/L],rejection:Mg2+ [%]\ns,10,0.9521,5,90\n";
    let d = read(text).unwrap();
    let reg = IonRegistry::canonical();
    let feed = &d.samples[0].feed;
    let c = |ion: &str| feed[reg.index_of(ion).unwrap()];
    assert!((c("Mg2+") - 10.0).abs() < 0.01, "{feed:?}");
    assert!((c("Cl-") - 25.0).abs() < 0.02, "{feed:?}");
    assert_eq!(c("Na+"), 5.0);
    // The same feed as ions.
    let ions = read("sample,Jv [um/s],feed:Mg2+ [mM],feed:Na+ [mM],feed:Cl- [mM],rejection:Mg2+ [%]\ns,10,10,5,25,90\n").unwrap();
    for (a, b) in ions.samples[0].feed.iter().zip(feed) {
        assert!((a - b).abs() < 0.02, "{a} vs {b}");
    }
    // A salt whose ions do not balance, or of an unknown ion, is named.
    let e = err_of("sample,Jv [um/s],feed:NaCl2 [g/L],rejection:Na+ [-]\ns,10,1,0.5\n");
    assert!(e.contains("NaCl2"), "{e}");
    // Salts only as feeds: a permeate of a salt is not a thing.
    let e = err_of("sample,Jv [um/s],feed:NaCl [mM],rejection:NaCl [-]\ns,10,1,0.5\n");
    assert!(e.contains("unknown ion"), "{e}");
}
