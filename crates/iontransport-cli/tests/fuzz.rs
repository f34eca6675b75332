//! Random bad input, as a property: random CSV files (mutations of a valid one) through the
//! reader and `evaluate`, and random command lines through `predict`, `dspmde` and
//! `attention`. Each run is a typed error or a success whose numbers are physical (finite,
//! c_p >= 0 so R <= 1, electroneutral permeates) — never a panic, never more than a few
//! seconds.

mod support;

use ion_species::IonRegistry;
use np_transport::data::Dataset;
use np_transport::quantities::parse_feed;
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use support::{q, run, sh};

const VALID: &str = "# a comment\n\
sample,source,Jv [L/m2/h],feed:Na+ [mmol/L],feed:Cl- [mmol/L],feed:SO4 2- [mmol/L],permeate:Na+ [mmol/L],rejection:Cl- [-],permeate_sd:Na+ [mmol/L]\n\
a,lab,10,30,10,10,12.1,0.2,0.3\n\
a,lab,20,30,10,10,9.8,0.3,0.3\n\
b,lab,15,20,20,0,12,0.35,\n";

const TOKENS: &[&str] = &[
    "",
    "NaN",
    "-1",
    "1e400",
    "inf",
    "abc",
    ",",
    "\"",
    "\n",
    "#",
    "\u{feff}",
    "0",
    "1e-300",
    "Na+",
    "feed:Xe+ [mol/m3]",
    "[mol/m3]",
    "Jv [LMH]",
    "sample",
    "permeate:Na+ [mol/m3]",
    "rejection:Cl- [-]",
    "2",
    "1.5",
    " ",
    ",,",
    "mol/L",
    "\r\n",
    "é",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    ReplaceCell(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(a, b)| Edit::Delete(a, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(a, b)| Edit::ReplaceCell(a, b)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let n = b.len().max(1);
        match *e {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Insert(at, t) => {
                let at = at % (b.len() + 1);
                b.splice(at..at, TOKENS[t].bytes());
            }
            Edit::ReplaceCell(at, t) => {
                // Replace the cell around a position (between commas or line ends).
                let at = at % n;
                let start = b[..at.min(b.len())]
                    .iter()
                    .rposition(|c| *c == b',' || *c == b'\n')
                    .map_or(0, |p| p + 1);
                let end = b[at.min(b.len())..]
                    .iter()
                    .position(|c| *c == b',' || *c == b'\n')
                    .map_or(b.len(), |p| p + at.min(b.len()));
                if start <= end {
                    b.splice(start..end, TOKENS[t].bytes());
                }
            }
            Edit::DuplicateLine(k) | Edit::SwapLines(k, _) => {
                let s = String::from_utf8_lossy(&b).into_owned();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = k % lines.len();
                if let Edit::SwapLines(_, l) = *e {
                    let j = l % lines.len();
                    lines.swap(i, j);
                } else {
                    lines.insert(i, lines[i]);
                }
                b = lines.join("\n").into_bytes();
            }
            Edit::Truncate(at) => b.truncate(at % n),
        }
    }
    b
}

/// A tiny trained model and a folder for the cases' files, made once.
fn fixture() -> &'static (tempfile::TempDir, PathBuf) {
    static F: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("train.csv");
        support::small_data(&data);
        let model = dir.path().join("m.json");
        support::tiny_model(&data, &model);
        (dir, model)
    })
}

fn check_dataset(ds: &Dataset, reg: &IonRegistry) {
    for s in &ds.samples {
        let charge: f64 = reg.ions().iter().zip(&s.feed).map(|(i, c)| i.z() * c).sum();
        let total: f64 = reg
            .ions()
            .iter()
            .zip(&s.feed)
            .map(|(i, c)| i.z().abs() * c)
            .sum();
        assert!(s.feed.iter().all(|c| c.is_finite() && *c >= 0.0));
        assert!(
            total > 0.0 && charge.abs() <= 1e-9 * total,
            "{charge} of {total}"
        );
        for p in &s.points {
            assert!(p.flux.is_finite() && p.flux >= 0.0);
            for v in p.permeate.iter().chain(&p.permeate_sd).flatten() {
                assert!(v.is_finite() && *v >= 0.0, "{v}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_csv_files_are_an_error_or_physical(edits in prop::collection::vec(edit(), 1..4), seed in 0u32..1000) {
        let (dir, model) = fixture();
        let reg = IonRegistry::canonical();
        let bytes = apply(VALID, &edits);
        let path = dir.path().join(format!("case-{seed}.csv"));
        std::fs::write(&path, &bytes).unwrap();
        let t = std::time::Instant::now();
        if let Ok(ds) = Dataset::read_csv(&path, &reg) {
            check_dataset(&ds, &reg);
        }
        let o = sh(&format!("evaluate --all --model {} --data {}", q(&model), q(&path)));
        prop_assert!(t.elapsed().as_secs_f64() < 5.0);
        match o.result {
            Ok(text) => {
                let mse: f64 = text.split("MSE ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
                prop_assert!(mse.is_finite() && mse >= 0.0, "{}", text);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}

const FEEDS: &[&str] = &[
    "Na+=20,Cl-=20",
    "Na+=20 mM, SO4 2-=10 mM",
    "Na+=1e9,Cl-=1e9",
    "Na+=0,Cl-=0",
    "Na+=20",
    "Xe+=1",
    "Na+=-5,Cl-=-5",
    "=",
    "",
    "Na+=NaN,Cl-=NaN",
    "Na+=460 mg/L,Cl-=20",
    "Mg2+=10,Cl-=20",
    "Na+=1e-12,Cl-=1e-12",
    "K+=5,NO3-=5",
    "Ca2+=5,SO4 2-=5,Na+=1,Cl-=1",
    "Na+=20,Cl-=20,",
    "Na+=20.00,Cl-=19.99",
    "Na+=0.5 M,Cl-=500",
];
const FLUXES: &[&str] = &[
    "0", "1e-5", "60 LMH", "-1", "10", "1e-3", "NaN", "abc", "1e-300", "999 LMH", "5 um/s",
];
const POINTS: &[&str] = &["1", "0", "3", "100000", "-2", "x"];
const UNITS: &[&str] = &["mmol/L", "M", "ppm", "furlongs", "mM"];
const PRESSURES: &[&str] = &[
    "5 bar",
    "0 bar",
    "-1 bar",
    "1e9 Pa",
    "10",
    "20 bar,1 bar",
    "3 bar,6 bar",
];
const RADII: &[&str] = &[
    "0.45 nm", "0.1 nm", "0 nm", "-1 nm", "1 m", "NaN nm", "0.6nm",
];
const CHARGES: &[&str] = &["-40", "0", "1e6", "NaN", "-1e9", "15"];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(pool))
}

/// Feed (mol/m^3 per registry ion) as the command understood it, to check electroneutrality.
fn feed_si(feed: &str, units: Option<&str>) -> Option<Vec<f64>> {
    let reg = IonRegistry::canonical();
    let unit = np_transport::units::concentration_unit(units.unwrap_or("mmol/L")).ok()?;
    let comp = parse_feed(&reg, feed, unit).ok()?;
    let mut v: Vec<f64> = reg
        .ions()
        .iter()
        .map(|i| {
            comp.iter()
                .find(|(j, _)| j.name == i.name)
                .map_or(0.0, |(_, c)| c)
        })
        .collect();
    // As the command does (and says): feeds off balance by rounding are balanced.
    np_transport::data::balance_rounded(reg.ions(), &mut v).ok()?;
    Some(v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_command_lines_are_an_error_or_physical(
        command in 0..3usize,
        feed in prop::sample::select(FEEDS),
        units in pick(UNITS),
        flux in pick(FLUXES),
        points in pick(POINTS),
        pressures in pick(PRESSURES),
        radius in pick(RADII),
        charge in pick(CHARGES),
    ) {
        let (_, model) = fixture();
        let m = model.to_str().unwrap();
        let mut args: Vec<&str> = match command {
            0 => vec!["predict", "--model", m, "--csv"],
            1 => vec!["dspmde", "--csv"],
            _ => vec!["attention", "--model", m],
        };
        args.extend(["--feed", feed]);
        if let Some(u) = units { args.extend(["--units", u]); }
        if command == 2 {
            if let Some(f) = flux { args.extend(["--flux", f]); }
        } else {
            if let Some(f) = flux { args.extend(["--flux-max", f]); }
            if let Some(p) = points { args.extend(["--points", p]); }
        }
        if command == 1 {
            if let Some(p) = pressures { args.extend(["--pressures", p]); }
            if let Some(r) = radius { args.extend(["--pore-radius", r]); }
            if let Some(c) = charge { args.extend(["--charge", c]); }
        }
        let t = std::time::Instant::now();
        let o = std::panic::catch_unwind(|| run(&args));
        prop_assert!(o.is_ok(), "panic for {:?}", args);
        let o = o.unwrap();
        let secs = t.elapsed().as_secs_f64();
        prop_assert!(secs < 5.0, "{:?} took {} s", args, secs);
        let Ok(text) = o.result else { return Ok(()); };
        if command == 2 {
            // Attention rows are probability distributions.
            for line in text.lines().skip(1) {
                let w: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
                let s: f64 = w.iter().sum();
                prop_assert!(w.iter().all(|x| (0.0..=1.0).contains(x)) && (s - 1.0).abs() < 2e-3, "{}", line);
            }
            return Ok(());
        }
        let reg = IonRegistry::canonical();
        let feed_v = feed_si(feed, units).expect("the command accepted the feed");
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let first_ion = if head.contains(&"dP [bar]") { 3 } else { 2 };
        let ions: Vec<usize> = head[first_ion..]
            .iter()
            .map(|h| reg.index_of(h.trim_start_matches("rejection:").trim_end_matches(" [-]")).unwrap())
            .collect();
        for line in lines {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            prop_assert!(v.iter().all(|x| x.is_finite()), "{}", line);
            let (mut charge_sum, mut total) = (0.0, 0.0);
            for (k, &j) in ions.iter().enumerate() {
                let r = v[first_ion + k];
                prop_assert!(r <= 1.0 + 1e-9, "R = {} in {:?}", r, args);
                let cp = feed_v[j] * (1.0 - r);
                let z = reg.ions()[j].z();
                charge_sum += z * cp;
                total += z.abs() * cp;
            }
            prop_assert!(charge_sum.abs() <= 1e-6 * total.max(1e-300), "permeate charge {} of {} for {:?}", charge_sum, total, args);
        }
    }
}
