//! The WaterTAP-compatible 0D module (`NanofiltrationDSPMDE0D`): inputs and outputs named as
//! WaterTAP's NF DSPM-DE unit and MCAS property package name them.

use crate::errors::{IntoPy, input};
use ion_species::IonRegistry;
use np_transport::watertap::{
    Inlet, LocalState, MassTransfer, Module0d, Module0dSolution, Species, SpiralWound,
    WaterTapActivity, WaterTapVersion,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;

/// WaterTAP's `NanofiltrationDSPMDE0D` unit with an MCAS property package, solved in Rust
/// (equal to WaterTAP 1.8.0 to 1e-6 on every reported value of its reference cases).
///
/// Species (`solute_list`): any ion the registry knows (MCAS spellings such as "Na_+" and
/// "SO4_2-" too), with `diffusivity_data` (m^2/s), `mw_data` (kg/mol), `stokes_radius_data`
/// (m) and `charge` dicts overriding or supplying the data (all four for an ion the registry
/// does not know). Membrane: `radius_pore` (m), `membrane_thickness_effective` (m),
/// `membrane_charge_density` (mol/m^3), `dielectric_constant_pore`; `area` (m^2). Inlet:
/// `temperature` (K), `pressure` (Pa), `permeate_pressure` (Pa). MCAS:
/// `activity_coefficient_model` ("davies" or "ideal"), `dielectric_constant` (the bulk's;
/// default the version's: 78.36 for 1.8). Polarisation (`mass_transfer_coefficient`):
/// "none", "spiral_wound" (`channel_height` m, `spacer_porosity`, `velocity` m/s at the inlet,
/// `spacer_mixing_efficiency`, `spacer_mixing_length` m) or "fixed" (`Kf_comp` dict, m/s).
/// `version`: "1.8" (WaterTAP 1.7-1.8, default) or "1.6" (its older Davies form).
#[pyclass(frozen, module = "iontransport", name = "NanofiltrationDSPMDE0D")]
pub struct PyModule0d {
    module: Module0d,
}

#[pymethods]
impl PyModule0d {
    #[new]
    #[pyo3(signature = (
        solute_list, *, radius_pore, membrane_thickness_effective, membrane_charge_density,
        dielectric_constant_pore, area = 50.0, temperature = 298.15, pressure = 4e5,
        permeate_pressure = 101325.0, activity_coefficient_model = "davies",
        dielectric_constant = None, mass_transfer_coefficient = "none", channel_height = None,
        spacer_porosity = None, velocity = None, spacer_mixing_efficiency = 0.5,
        spacer_mixing_length = 0.6, Kf_comp = None, diffusivity_data = None, mw_data = None,
        stokes_radius_data = None, charge = None, version = "1.8"
    ))]
    #[allow(clippy::too_many_arguments, non_snake_case)]
    fn new(
        solute_list: Vec<String>,
        radius_pore: f64,
        membrane_thickness_effective: f64,
        membrane_charge_density: f64,
        dielectric_constant_pore: f64,
        area: f64,
        temperature: f64,
        pressure: f64,
        permeate_pressure: f64,
        activity_coefficient_model: &str,
        dielectric_constant: Option<f64>,
        mass_transfer_coefficient: &str,
        channel_height: Option<f64>,
        spacer_porosity: Option<f64>,
        velocity: Option<f64>,
        spacer_mixing_efficiency: f64,
        spacer_mixing_length: f64,
        Kf_comp: Option<HashMap<String, f64>>,
        diffusivity_data: Option<HashMap<String, f64>>,
        mw_data: Option<HashMap<String, f64>>,
        stokes_radius_data: Option<HashMap<String, f64>>,
        charge: Option<HashMap<String, f64>>,
        version: &str,
    ) -> PyResult<Self> {
        let version = match version {
            "1.8" | "1.7" => WaterTapVersion::V1_8,
            "1.6" => WaterTapVersion::V1_6,
            other => {
                return Err(input(format!(
                    "version `{other}`: expected \"1.8\" (WaterTAP 1.7-1.8) or \"1.6\""
                )));
            }
        };
        if solute_list.is_empty() {
            return Err(input("solute_list is empty"));
        }
        let reg = IonRegistry::extended();
        let data =
            |d: &Option<HashMap<String, f64>>, s: &str| d.as_ref().and_then(|m| m.get(s)).copied();
        let species = solute_list
            .iter()
            .map(|s| {
                let known = reg
                    .parse(s)
                    .or_else(|_| reg.parse(&s.replace('_', " ")))
                    .ok()
                    .map(Species::from_ion);
                let pick = |given: Option<f64>, from: Option<f64>, what: &str| {
                    given.or(from).ok_or_else(|| {
                        input(format!(
                            "{s} is not an ion the registry knows: give its {what} (all of diffusivity_data, mw_data, stokes_radius_data, charge)"
                        ))
                    })
                };
                Ok(Species {
                    name: s.clone(),
                    charge: pick(data(&charge, s), known.as_ref().map(|k| k.charge), "charge")?,
                    diffusivity: pick(
                        data(&diffusivity_data, s),
                        known.as_ref().map(|k| k.diffusivity),
                        "diffusivity_data",
                    )?,
                    stokes_radius: pick(
                        data(&stokes_radius_data, s),
                        known.as_ref().map(|k| k.stokes_radius),
                        "stokes_radius_data",
                    )?,
                    molar_mass: pick(data(&mw_data, s), known.as_ref().map(|k| k.molar_mass), "mw_data")?,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        for (what, d) in [
            ("diffusivity_data", &diffusivity_data),
            ("mw_data", &mw_data),
            ("stokes_radius_data", &stokes_radius_data),
            ("charge", &charge),
            ("Kf_comp", &Kf_comp),
        ] {
            if let Some(k) = d
                .iter()
                .flat_map(|m| m.keys())
                .find(|k| !solute_list.contains(k))
            {
                return Err(input(format!(
                    "{what} names {k}, which is not in solute_list"
                )));
            }
        }
        let mut module = Module0d::watertap_defaults_of(
            version,
            species,
            radius_pore,
            membrane_thickness_effective,
            membrane_charge_density,
            dielectric_constant_pore,
        );
        module.area = area;
        module.temperature = temperature;
        module.feed_pressure = pressure;
        module.permeate_pressure = permeate_pressure;
        if let Some(eps) = dielectric_constant {
            module.bulk_dielectric = eps;
        }
        module.activity = match activity_coefficient_model {
            "davies" => WaterTapActivity::Davies,
            "ideal" => WaterTapActivity::Ideal,
            other => {
                return Err(input(format!(
                    "activity_coefficient_model `{other}`: expected \"davies\" or \"ideal\""
                )));
            }
        };
        let need = |v: Option<f64>, name: &str| {
            v.ok_or_else(|| {
                input(format!(
                    "mass_transfer_coefficient \"spiral_wound\" needs {name}"
                ))
            })
        };
        module.polarisation = match mass_transfer_coefficient {
            "none" => None,
            "spiral_wound" => Some(MassTransfer::SpiralWound(SpiralWound {
                channel_height: need(channel_height, "channel_height")?,
                spacer_porosity: need(spacer_porosity, "spacer_porosity")?,
                inlet_velocity: need(velocity, "velocity")?,
                mixing_efficiency: spacer_mixing_efficiency,
                mixing_length: spacer_mixing_length,
            })),
            "fixed" => {
                let k = Kf_comp
                    .as_ref()
                    .ok_or_else(|| input("mass_transfer_coefficient \"fixed\" needs Kf_comp"))?;
                Some(MassTransfer::Fixed(
                    solute_list
                        .iter()
                        .map(|s| {
                            k.get(s)
                                .copied()
                                .ok_or_else(|| input(format!("Kf_comp has no value for {s}")))
                        })
                        .collect::<PyResult<_>>()?,
                ))
            }
            other => {
                return Err(input(format!(
                    "mass_transfer_coefficient `{other}`: expected \"none\", \"spiral_wound\" or \"fixed\""
                )));
            }
        };
        Ok(Self { module })
    }

    /// Solves the module for an inlet: `flow_mol_phase_comp` {solute: mol/s, "H2O": mol/s}
    /// (WaterTAP's `inlet.flow_mol_phase_comp`). The GIL is released while solving.
    fn solve(
        &self,
        py: Python<'_>,
        flow_mol_phase_comp: HashMap<String, f64>,
    ) -> PyResult<PyWaterTapSolution> {
        let names: Vec<&str> = self
            .module
            .species
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        if let Some(k) = flow_mol_phase_comp
            .keys()
            .find(|k| *k != "H2O" && !names.contains(&k.as_str()))
        {
            return Err(input(format!(
                "flow_mol_phase_comp names {k}, which is not in solute_list"
            )));
        }
        let flow = |k: &str| {
            flow_mol_phase_comp
                .get(k)
                .copied()
                .ok_or_else(|| input(format!("flow_mol_phase_comp has no flow of {k}")))
        };
        let inlet = Inlet {
            flows: names.iter().map(|n| flow(n)).collect::<PyResult<_>>()?,
            water_flow: flow("H2O")?,
        };
        let solution = py.detach(|| self.module.solve(&inlet)).py_err()?;
        Ok(PyWaterTapSolution {
            names: names.iter().map(|n| n.to_string()).collect(),
            solution,
        })
    }
    /// The solutes, in order.
    #[getter]
    fn solute_list(&self) -> Vec<String> {
        self.module.species.iter().map(|s| s.name.clone()).collect()
    }
    fn __repr__(&self) -> String {
        let m = &self.module;
        format!(
            "NanofiltrationDSPMDE0D([{}], radius_pore={:e} m, membrane_thickness_effective={:e} m, membrane_charge_density={} mol/m3, dielectric_constant_pore={}, area={} m2, {:?})",
            self.solute_list().join(", "),
            m.pore_radius,
            m.effective_thickness,
            m.charge_density,
            m.pore_dielectric,
            m.area,
            m.version
        )
    }
}

/// The solved module, named as WaterTAP names its variables: dicts keyed by solute (and
/// "H2O" for water flows and fluxes); `inlet` and `outlet` hold the local states at x = 0 and
/// x = 1.
#[pyclass(frozen, module = "iontransport", name = "WaterTapSolution")]
pub struct PyWaterTapSolution {
    names: Vec<String>,
    solution: Module0dSolution,
}

impl PyWaterTapSolution {
    fn by_solute<'py>(
        &self,
        py: Python<'py>,
        v: &[f64],
        water: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (n, x) in self.names.iter().zip(v) {
            d.set_item(n, x)?;
        }
        if let Some(w) = water {
            d.set_item("H2O", w)?;
        }
        Ok(d)
    }

    fn local<'py>(&self, py: Python<'py>, s: &LocalState) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let conc = PyDict::new(py);
        for (loc, v) in s.concentrations.named() {
            conc.set_item(loc, self.by_solute(py, v, None)?)?;
        }
        d.set_item("conc_mol_phase_comp", conc)?;
        let act = PyDict::new(py);
        for (loc, v) in s.activity.named() {
            act.set_item(loc, self.by_solute(py, v, None)?)?;
        }
        d.set_item("act_coeff_phase_comp", act)?;
        let pot = PyDict::new(py);
        for (loc, v) in ["pore_entrance", "pore_exit", "permeate"]
            .iter()
            .zip(s.potentials)
        {
            pot.set_item(*loc, v)?;
        }
        d.set_item("electric_potential", pot)?;
        d.set_item(
            "flux_mol_phase_comp",
            self.by_solute(py, &s.flux, Some(s.water_flux_molar))?,
        )?;
        d.set_item("flux_vol_water", s.water_flux)?;
        if s.mass_transfer.is_empty() {
            d.set_item("Kf_comp", py.None())?;
        } else {
            d.set_item("Kf_comp", self.by_solute(py, &s.mass_transfer, None)?)?;
        }
        d.set_item(
            "electric_potential_grad_feed_interface",
            s.potential_gradient,
        )?;
        d.set_item("velocity", s.velocity)?;
        Ok(d)
    }
}

#[pymethods]
impl PyWaterTapSolution {
    /// Average molar flux, mol/(m^2 s), per solute and "H2O".
    #[getter]
    fn flux_mol_phase_comp_avg<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_solute(py, &self.solution.flux, Some(self.solution.water_flux))
    }
    /// Intrinsic rejection 1 - c_permeate / c_interface (at the inlet).
    #[getter]
    fn rejection_intrinsic_phase_comp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_solute(py, &self.solution.rejection_intrinsic, None)
    }
    /// Observed rejection 1 - c_permeate / c_feed.
    #[getter]
    fn rejection_observed_phase_comp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_solute(py, &self.solution.rejection_observed, None)
    }
    /// Volumetric recovery.
    #[getter]
    fn recovery_vol_phase(&self) -> f64 {
        self.solution.recovery
    }
    /// Mixed-permeate concentrations, mol/m^3.
    #[getter]
    fn permeate_conc_mol_phase_comp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_solute(py, &self.solution.permeate, None)
    }
    /// Retentate flows, mol/s, per solute and "H2O".
    #[getter]
    fn retentate_flow_mol_phase_comp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = &self.solution.retentate;
        self.by_solute(py, &r.flows, Some(r.water_flow))
    }
    /// The local state at the inlet (x = 0).
    #[getter]
    fn inlet<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.local(py, &self.solution.local[0])
    }
    /// The local state at the outlet (x = 1).
    #[getter]
    fn outlet<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.local(py, &self.solution.local[1])
    }
    /// Residual evaluations the solve spent.
    #[getter]
    fn evaluations(&self) -> usize {
        self.solution.evaluations
    }
    fn __repr__(&self) -> String {
        let r: Vec<String> = self
            .names
            .iter()
            .zip(&self.solution.rejection_intrinsic)
            .map(|(n, r)| format!("{n}: {r:.4}"))
            .collect();
        format!(
            "WaterTapSolution(recovery_vol_phase={:.4}, rejection_intrinsic_phase_comp={{{}}})",
            self.solution.recovery,
            r.join(", ")
        )
    }
}
