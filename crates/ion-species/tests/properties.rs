//! Property tests of compositions and name parsing.

use ion_species::{Composition, ConcentrationUnit, IonRegistry, SpeciesError};
use proptest::prelude::*;

fn conc_vector() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![Just(0.0), 1e-3f64..2000.0], 8)
}

proptest! {
    #[test]
    fn balancing_makes_any_feed_neutral_or_says_why(v in conc_vector(), which in 0usize..8) {
        let reg = IonRegistry::canonical();
        let c = Composition::from_vector(&reg, &v, false).unwrap();
        let ion = reg.ions()[which].name.clone();
        match c.balanced_with(&reg, &ion) {
            Ok(b) => {
                prop_assert!(b.charge_balance().abs() <= 1e-12 * (1.0 + b.total_charge()));
                prop_assert!(b.get(&ion).unwrap() >= 0.0);
                // Only the chosen ion changed.
                for (i, x) in c.iter() {
                    if i.name != ion { prop_assert_eq!(b.get(&i.name), Some(x)); }
                }
            }
            Err(SpeciesError::CannotBalance { .. }) => {
                // It can only fail when the rest carries charge of the ion's own sign.
                let z = reg.ions()[which].z();
                let rest = c.charge_balance() - z * c.get(&ion).unwrap_or(0.0);
                prop_assert!(rest * z > 0.0);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn units_round_trip(x in 1e-6f64..1e5, which in 0usize..8) {
        let reg = IonRegistry::canonical();
        let ion = &reg.ions()[which];
        for u in [ConcentrationUnit::MolPerL, ConcentrationUnit::MmolPerL, ConcentrationUnit::MgPerL, ConcentrationUnit::MolPerM3, ConcentrationUnit::MicromolPerL, ConcentrationUnit::GPerL] {
            let si = u.to_si(x, ion);
            prop_assert!((u.from_si(si, ion) - x).abs() <= 1e-12 * x);
        }
    }

    #[test]
    fn ionic_strength_bounds(v in conc_vector()) {
        // 1/2 sum c <= I <= 1/2 z_max^2 sum c for |z| in {1, 2}.
        let reg = IonRegistry::canonical();
        let c = Composition::from_vector(&reg, &v, false).unwrap();
        let s: f64 = v.iter().sum();
        prop_assert!(c.ionic_strength() >= 0.5 * s * (1.0 - 1e-12));
        prop_assert!(c.ionic_strength() <= 2.0 * s * (1.0 + 1e-12));
        prop_assert_eq!(c.to_vector(&reg).unwrap(), v.clone());
        let mask = c.mask(&reg);
        for (m, x) in mask.iter().zip(&v) { prop_assert_eq!(*m, *x > 0.0); }
    }
}

#[test]
fn every_name_and_alias_parses_to_its_ion_in_any_case() {
    let reg = IonRegistry::canonical();
    for ion in reg.ions() {
        for t in std::iter::once(&ion.name).chain(&ion.aliases) {
            assert_eq!(reg.parse(&t.to_uppercase()).unwrap().name, ion.name);
            assert_eq!(reg.parse(&format!("  {t} ")).unwrap().name, ion.name);
        }
    }
}

#[test]
fn an_ion_with_an_absurd_valence_or_a_sign_against_its_name_is_refused() {
    let mut reg = IonRegistry::canonical();
    let cs = |name: &str, charge: i32| ion_species::Ion {
        name: name.into(),
        formula: "Cs".into(),
        charge,
        stokes_radius: 0.119e-9,
        diffusivity: 2.056e-9,
        hydrated_radius: None,
        hydration_free_energy: None,
        molar_mass: 0.132_905,
        aliases: vec![],
        source: "test".into(),
    };
    // |z| = 7 and a cation named `Cs-` were both accepted.
    let e = reg.add(cs("Cs+", 7)).unwrap_err().to_string();
    assert!(e.contains("beyond +-4"), "{e}");
    let e = reg.add(cs("Cs-", 1)).unwrap_err().to_string();
    assert!(e.contains("ends in `-`") && e.contains("+1"), "{e}");
    reg.add(cs("Cs+", 1)).unwrap();
    // Every shipped ion passes the same checks.
    for ion in IonRegistry::extended().ions() {
        ion.validate().unwrap();
    }
}
