//! `reproduce` on a tiny configuration: the results folder exists, parses, and the report's
//! numbers are those of results.json.

use ion_species::IonRegistry;
use iontransport_model::pipeline::PipelineConfig;
use iontransport_model::reproduce::{Results, mean_sd, reproduce};
use np_transport::data::Dataset;
use std::path::Path;

#[test]
fn tiny_reproduction_writes_a_consistent_report() {
    let reg = IonRegistry::canonical();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/synthetic-measurements.csv");
    let mut ds = Dataset::read_csv(&path, &reg).unwrap();
    ds.samples.truncate(24);
    let dir = tempfile::tempdir().unwrap();
    let res = reproduce(
        &ds,
        &PipelineConfig::tiny(0),
        "tiny",
        &[0],
        &reg,
        dir.path(),
    )
    .unwrap();
    assert_eq!(res.variants.len(), 10);
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
    // Attention adds exactly W_q, W_k, W_v (3 x 8 x 8 parameters).
    let p = |n: &str| {
        json.variants
            .iter()
            .find(|v| v.variant.name == n)
            .unwrap()
            .parameters
    };
    assert_eq!(p("ATT-HIB-PT") - p("NOATT-HIB-PT"), 192);
    assert_eq!(json.claims.len(), 5);
    // The FNN baselines have exactly the neural ODE's parameter count.
    assert_eq!(p("FNN-ATT-HIB-PT"), p("ATT-HIB-PT"));
    for (claim, _, why) in &json.claims {
        assert!(report.contains(claim.as_str()) && report.contains(why.as_str()));
    }
}
