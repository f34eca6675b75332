//! Physical constants (SI). Exact values are from the 2019 SI redefinition (CODATA 2018).

/// Faraday constant, C/mol (exact: N_A e).
pub const FARADAY: f64 = 96_485.332_123_310_02;
/// Molar gas constant, J/(mol K) (exact: N_A k_B).
pub const GAS_CONSTANT: f64 = 8.314_462_618_153_24;
/// Elementary charge, C (exact).
pub const ELEMENTARY_CHARGE: f64 = 1.602_176_634e-19;
/// Boltzmann constant, J/K (exact).
pub const BOLTZMANN: f64 = 1.380_649e-23;
/// Vacuum permittivity, F/m (CODATA 2018).
pub const VACUUM_PERMITTIVITY: f64 = 8.854_187_812_8e-12;
/// Relative permittivity of water at 25 °C (Malmberg & Maryott 1956, J. Res. NBS 56:1: 78.30;
/// 78.4 is the value used in the DSPM-DE literature, e.g. Bowen & Welfoot 2002).
pub const WATER_PERMITTIVITY: f64 = 78.4;
/// Dynamic viscosity of water at 25 °C, Pa s (IAPWS 2008).
pub const WATER_VISCOSITY: f64 = 0.890e-3;
/// Davies constant A at 25 °C, (L/mol)^(1/2) for log10 gamma (Robinson & Stokes 1959).
pub const DAVIES_A_25C: f64 = 0.5085;
