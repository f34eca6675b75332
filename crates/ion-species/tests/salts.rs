//! Salts: every neutral pair of built-in ions written as a chemist would parses back to its
//! ions; the charge balances; mass units go through the salt's molar mass; what is not a salt
//! is refused with the reason.

use ion_species::{ConcentrationUnit, Ion, IonRegistry, Salt, SpeciesError};
use proptest::prelude::*;

/// The formula of `n` units of `ion` as chemists write it: a count after the formula, in
/// brackets when the formula is polyatomic (ends in a digit or has two capitals).
fn part(ion: &Ion, n: u32) -> String {
    let capitals = ion.formula.chars().filter(char::is_ascii_uppercase).count();
    let polyatomic = capitals > 1 || ion.formula.ends_with(|c: char| c.is_ascii_digit());
    match (n, polyatomic) {
        (1, _) => ion.formula.clone(),
        (_, true) => format!("({}){n}", ion.formula),
        (_, false) => format!("{}{n}", ion.formula),
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

proptest! {
    #[test]
    fn every_neutral_pair_of_built_in_ions_parses_back(c in 0usize..64, a in 0usize..64) {
        let reg = IonRegistry::extended();
        let cations: Vec<&Ion> = reg.ions().iter().filter(|i| i.charge > 0).collect();
        let anions: Vec<&Ion> = reg.ions().iter().filter(|i| i.charge < 0).collect();
        let (cat, an) = (cations[c % cations.len()], anions[a % anions.len()]);
        let (zc, za) = (cat.charge.unsigned_abs(), an.charge.unsigned_abs());
        let g = gcd(zc, za);
        let (nc, na) = (za / g, zc / g);
        let formula = format!("{}{}", part(cat, nc), part(an, na));
        let salt = Salt::parse(&reg, &formula).unwrap();
        prop_assert_eq!(&salt.ions[0].0.name, &cat.name, "{}", formula);
        prop_assert_eq!(&salt.ions[1].0.name, &an.name, "{}", formula);
        prop_assert_eq!((salt.ions[0].1, salt.ions[1].1), (nc, na));
        let m = f64::from(nc) * cat.molar_mass + f64::from(na) * an.molar_mass;
        prop_assert!((salt.molar_mass() - m).abs() < 1e-15);
        // The ions of 1 mol/m3 of salt balance the charge.
        let c = salt.ions_si(1.0, ConcentrationUnit::MolPerM3);
        let charge: f64 = c.iter().map(|(ion, v)| ion.z() * v).sum();
        prop_assert!(charge.abs() < 1e-12);
    }
}

#[test]
fn mass_units_use_the_salts_molar_mass() {
    let reg = IonRegistry::canonical();
    let na2so4 = Salt::parse(&reg, "Na2SO4").unwrap();
    // 142.04 g/mol (Na 22.990, S 32.06, O 15.999: IUPAC standard atomic weights).
    assert!(
        (na2so4.molar_mass() - 0.14204).abs() < 2e-4,
        "{}",
        na2so4.molar_mass()
    );
    let c = na2so4.ions_si(1.4204, ConcentrationUnit::GPerL);
    assert!(
        (c[0].1 - 20.0).abs() < 0.05 && (c[1].1 - 10.0).abs() < 0.03,
        "{c:?}"
    );
    let mg = Salt::parse(&reg, "Mg(NO3)2").unwrap();
    assert_eq!((mg.ions[1].0.name.as_str(), mg.ions[1].1), ("NO3-", 2));
    let mg2 = Salt::parse(&reg, "Mg (NO3)2").unwrap();
    assert_eq!(mg2.ions, mg.ions);
}

#[test]
fn what_is_not_a_salt_is_refused_with_the_reason() {
    let reg = IonRegistry::canonical();
    for (text, want) in [
        ("NaCl2", "net charge"),
        ("Na2Cl", "net charge"),
        ("XyCl", "does not start with the formula of a known cation"),
        ("Na", "known anion"),
        ("NaClNa", "left over"),
        ("(NH4)2SO4", "known cation"), // NH4+ is not canonical
        ("Mg(NO3", "without `)`"),
        ("Na10Cl", "not 1-9"),
        ("nacl", "known cation"), // formulas keep their case
    ] {
        let e = Salt::parse(&reg, text).unwrap_err();
        assert!(matches!(e, SpeciesError::NotASalt { .. }), "{text}: {e}");
        assert!(e.to_string().contains(want), "{text}: {e}");
    }
}
