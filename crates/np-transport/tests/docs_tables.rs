//! docs/real-data.md quotes leave-one-feed-out tables of the physics models on the FdL 2021
//! file (`examples/physics_transfer.rs`). This test recomputes the fast ones (variants 2, 3,
//! 6, 7 and 10: about half a minute) and holds every cell the docs quote for them — MAE of R per ion and
//! pooled to 3 decimals, points, sign errors — to what the code computes now, so the tables
//! cannot go stale.

#[path = "support/lofo.rs"]
mod lofo;

use ion_species::IonRegistry;
use np_transport::data::Dataset;
use std::path::Path;

/// The variants cheap enough to rerun here.
const FAST: [usize; 5] = [2, 3, 6, 7, 10];

/// The data's name of an ion as the docs write it.
fn data_name(doc: &str) -> Option<&'static str> {
    Some(match doc {
        "Na⁺" => "Na+",
        "Mg²⁺" => "Mg^2+",
        "Cl⁻" => "Cl-",
        "SO₄²⁻" => "SO4^2-",
        "NO₃⁻" => "NO3-",
        "NH₄⁺" => "NH4+",
        _ => return None,
    })
}

#[test]
fn the_physics_tables_of_real_data_md_match_a_rerun() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (Ok(doc), Ok(csv)) = (
        std::fs::read_to_string(root.join("docs/real-data.md")),
        std::fs::read_to_string(root.join("data/measurements/fdl2021-nf270.csv")),
    ) else {
        eprintln!("not in the repository: skipped");
        return;
    };
    let reg = IonRegistry::extended();
    let data = Dataset::from_csv_str(&csv, &reg).unwrap();
    let results: Vec<(usize, lofo::Lofo)> = FAST
        .iter()
        .map(|&k| (k, lofo::leave_one_feed_out(&data, &reg, k).unwrap()))
        .collect();
    let result = |k: usize| &results.iter().find(|(v, _)| *v == k).unwrap().1;
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut compared = 0;
    let mut wrong = Vec::new();
    let mut columns: Vec<(usize, usize)> = Vec::new(); // (column, variant) of the table
    for line in doc.lines() {
        if !line.starts_with('|') {
            columns.clear();
            continue;
        }
        let row = cells(line);
        if row[0] == "ion" {
            // Columns named "... (k)" hold variant k.
            columns = row
                .iter()
                .enumerate()
                .filter_map(|(c, h)| {
                    let k: usize = h.strip_suffix(')')?.rsplit('(').next()?.parse().ok()?;
                    FAST.contains(&k).then_some((c, k))
                })
                .collect();
            continue;
        }
        for &(c, k) in &columns {
            let r = result(k);
            let (want, what) = match row[0].as_str() {
                "all" => (format!("{:.3}", r.mae(None)), "pooled MAE".to_string()),
                "sign errors" => (r.sign_errors.to_string(), "sign errors".into()),
                ion => match data_name(ion) {
                    Some(name) => {
                        let points = r.errors.get(name).map_or(0, Vec::len);
                        if row[1] != points.to_string() {
                            wrong.push(format!("{ion} points: docs {}, now {points}", row[1]));
                        }
                        (format!("{:.3}", r.mae(Some(name))), format!("{ion} MAE"))
                    }
                    None => continue,
                },
            };
            compared += 1;
            if row[c] != want {
                wrong.push(format!("variant {k}, {what}: docs {}, now {want}", row[c]));
            }
        }
    }
    // Three tables: variants 2 and 3 (partitioning), 2 (descriptor energies), 2, 6, 7 and 10
    // (charges that follow the feed); 8 rows each.
    assert_eq!(
        compared,
        7 * 8,
        "the tables' layout changed: update this test"
    );
    assert!(
        wrong.is_empty(),
        "docs/real-data.md is stale (rerun `VARIANT=k cargo run --release -p np-transport \
         --example physics_transfer`):\n{}",
        wrong.join("\n")
    );
}
