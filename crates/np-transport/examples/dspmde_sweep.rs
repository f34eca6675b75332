//! Prints a rejection table R_j(J_v) for a seawater-like feed on an NF270-like membrane.
//!
//! `cargo run --release --example dspmde_sweep`

use ion_species::{Composition, IonRegistry};
use np_transport::{Conditions, Dspmde, Membrane, Polarisation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reg = IonRegistry::canonical();
    // Major ions of standard seawater (Millero et al. 2008), balanced explicitly with Cl-.
    let feed = Composition::standard_seawater_major_ions(&reg)?.balanced_with(&reg, "Cl-")?;
    let membrane = Membrane::nf270_like();
    let conditions = Conditions {
        polarisation: Polarisation::Film { thickness: 2e-5 },
        ..Conditions::default()
    };
    println!(
        "membrane: r_p = {:.2} nm, dx/A_k = {:.2} um, X_d = {:?} mol/m3, eps_p = {}; film 20 um",
        membrane.pore_radius * 1e9,
        membrane.effective_thickness * 1e6,
        membrane.charge,
        membrane.pore_dielectric
    );
    let model = Dspmde::new(membrane, conditions)?;
    let lmh = 1e-3 / 3600.0;
    let fluxes: Vec<f64> = [2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        .iter()
        .map(|f| f * lmh)
        .collect();
    let t = std::time::Instant::now();
    let pts = model.sweep(&feed, &fluxes)?;
    let elapsed = t.elapsed();
    print!("{:>10}", "J_v [LMH]");
    for ion in &pts[0].ions {
        print!("{ion:>9}");
    }
    println!("{:>12}", "dpi [bar]");
    for p in &pts {
        print!("{:>10.1}", p.flux / lmh);
        for r in &p.rejection {
            print!("{r:>9.3}");
        }
        println!("{:>12.2}", p.osmotic_pressure / 1e5);
    }
    println!(
        "({} points in {:.1} ms)",
        pts.len(),
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
