//! Solves WaterTAP's `NanofiltrationDSPMDE0D` cases with the WaterTAP-compatible 0D module
//! and prints each value next to WaterTAP's: first WaterTAP 1.8.0's own values (ten cases
//! made by tools/watertap_reference.py, every reported value compared), then the regression
//! values published in WaterTAP's tests of the 1.6-and-earlier conventions.
//!
//! Run: `cargo run --release -p np-transport --example watertap_compare`

#[path = "../tests/support/watertap18.rs"]
mod support;

use np_transport::watertap::{PUBLISHED_SOURCE, published_cases};

fn main() -> Result<(), np_transport::TransportError> {
    let reference = support::reference();
    println!(
        "WaterTAP {} (WaterTapVersion::V1_8), every reported value of both module ends and \
         of the module:",
        reference.watertap_version
    );
    println!(
        "  {:<32} {:>6} {:>9} {:>11} {:>9}  worst value",
        "case", "ions", "solve ms", "R_int(1st)", "worst dev"
    );
    for case in &reference.cases {
        let (module, inlet) = support::module(case);
        let start = std::time::Instant::now();
        let s = module.solve(&inlet)?;
        let took = start.elapsed();
        let w = support::compare(case, &s);
        println!(
            "  {:<32} {:>6} {:>9.2} {:>11.6} {:>9.1e}  {}",
            case.name,
            case.species.len(),
            took.as_secs_f64() * 1e3,
            s.rejection_intrinsic[0],
            w.value,
            w.what
        );
    }
    println!();
    println!("WaterTAP <= 1.6 (WaterTapVersion::V1_6). Reference: {PUBLISHED_SOURCE}\n");
    for case in published_cases() {
        let start = std::time::Instant::now();
        let (s, worst) = case.compare()?;
        let took = start.elapsed();
        println!(
            "{} (solved in {:.1} ms, {} mass-balance iterations)",
            case.name,
            took.as_secs_f64() * 1e3,
            s.iterations
        );
        println!(
            "  {:<8} {:>13} {:>13} {:>9}   {:>10} {:>10} {:>9}",
            "species", "flux", "WaterTAP", "rel.dev", "R_int", "WaterTAP", "rel.dev"
        );
        println!(
            "  {:<8} {:>13.6e} {:>13.6e} {:>9.1e}",
            "H2O",
            s.water_flux,
            case.water_flux,
            (s.water_flux / case.water_flux - 1.0).abs()
        );
        for (j, sp) in case.module.species.iter().enumerate() {
            println!(
                "  {:<8} {:>13.6e} {:>13.6e} {:>9.1e}   {:>10.6} {:>10.6} {:>9.1e}",
                sp.name,
                s.flux[j],
                case.flux[j],
                (s.flux[j] / case.flux[j] - 1.0).abs(),
                s.rejection_intrinsic[j],
                case.rejection_intrinsic[j],
                (s.rejection_intrinsic[j] / case.rejection_intrinsic[j] - 1.0).abs()
            );
        }
        let verdict = if worst < case.precision {
            "within"
        } else {
            "OUTSIDE"
        };
        println!(
            "  worst relative deviation {worst:.2e}: {verdict} WaterTAP's stated precision {:.0e}\n",
            case.precision
        );
    }
    println!("Fluxes in mol/(m^2 s); R_int = 1 - c_permeate / c_interface at the module inlet.");
    Ok(())
}
