//! Solves WaterTAP's published `NanofiltrationDSPMDE0D` regression cases with the
//! WaterTAP-compatible 0D module and prints each value next to WaterTAP's.
//!
//! Run: `cargo run --release -p np-transport --example watertap_compare`

use np_transport::watertap::{PUBLISHED_SOURCE, published_cases};

fn main() -> Result<(), np_transport::TransportError> {
    println!("Reference: {PUBLISHED_SOURCE}\n");
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
