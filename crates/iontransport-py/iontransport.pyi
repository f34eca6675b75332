"""Type stubs of the `iontransport` extension module (crates/iontransport-py).

Units are SI everywhere: concentrations mol/m^3 (= mmol/L), fluxes m/s, lengths m, pressures
Pa, temperatures K. Arguments typed `Quantity` also take text with a unit ("20 LMH",
"0.45 nm", "10 bar", "20 C"). A `Feed` is a `Composition`, a dict {ion or salt: value}
(values in `unit`, default mmol/L, or text with a unit), or text "Na+=20 mM, Cl-=20 mM".
"""

from os import PathLike
from typing import Dict, Literal, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
LMH: float
"""One L/(m^2 h) in m/s."""

Quantity = Union[float, str]
Feed = Union["Composition", Mapping[str, Union[float, str]], str]
Fluxes = Union[npt.ArrayLike, str, Sequence[str]]
Interval = Union[float, None, Literal["auto"]]
Path = Union[str, PathLike]

class IonTransportError(Exception): ...
class InputError(IonTransportError, ValueError): ...
class ConvergenceError(IonTransportError, RuntimeError): ...
class FileError(IonTransportError, OSError): ...

class Ion:
    name: str
    formula: str
    charge: int
    stokes_radius: float
    """m"""
    diffusivity: float
    """m^2/s, infinite dilution, 25 C"""
    hydrated_radius: Optional[float]
    """m"""
    molar_mass: float
    """kg/mol"""
    aliases: list[str]
    source: str

class IonRegistry:
    @staticmethod
    def canonical() -> IonRegistry: ...
    @staticmethod
    def extended() -> IonRegistry: ...
    @staticmethod
    def load(path: Path) -> IonRegistry:
        """The extended registry plus the ions of a TOML or JSON file."""
    def with_toml(self, text: str) -> IonRegistry: ...
    names: list[str]
    ions: list[Ion]
    def __getitem__(self, name: str) -> Ion: ...
    def __contains__(self, name: str) -> bool: ...
    def __len__(self) -> int: ...

class Composition:
    def __init__(
        self,
        concentrations: Union[Mapping[str, Union[float, str]], str],
        unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
        balance: bool = True,
    ) -> None: ...
    ions: list[str]
    ionic_strength: float
    """mol/m^3"""
    charge_balance: float
    """eq/m^3"""
    relative_imbalance: float
    def to_dict(self) -> dict[str, float]:
        """{ion: mol/m^3}"""
    def balanced_with(self, ion: str, registry: Optional[IonRegistry] = None) -> Composition: ...
    def __getitem__(self, ion: str) -> float: ...
    def __len__(self) -> int: ...

class Membrane:
    def __init__(
        self,
        pore_radius: Optional[Quantity] = None,
        effective_thickness: Optional[Quantity] = None,
        charge: Optional[Quantity] = None,
        pore_dielectric: float = 55.0,
        charge_exponent: Optional[float] = None,
        charge_half_saturation: Optional[float] = None,
        born_radius: Literal["stokes", "hydration"] = "stokes",
        partition_energies: Optional[Mapping[str, float]] = None,
    ) -> None:
        """Defaults: 0.45 nm, 1.3 um, -40 mol/m^3, 55 (NF270-like), Stokes-radius Born
        term, no partition energies (kT, by ion)."""
    pore_radius: float
    effective_thickness: float
    charge: float
    charge_exponent: Optional[float]
    charge_half_saturation: Optional[float]
    pore_dielectric: float
    born_radius: Literal["stokes", "hydration"]
    partition_energies: Dict[str, float]
    descriptor_weights: Dict[str, float]
    charge_multivalent: Optional[Tuple[float, float]]
    def charge_density(self, ionic_strength: float) -> float: ...

class Conditions:
    def __init__(
        self,
        temperature: Optional[Quantity] = None,
        film_thickness: Optional[Quantity] = None,
        mass_transfer: Optional[float] = None,
        activity: Literal["ideal", "davies", "davies_molal"] = "ideal",
        pore_elements: Optional[int] = None,
    ) -> None: ...
    temperature: float
    film_thickness: Optional[float]

class OperatingPoint:
    flux: float
    ions: list[str]
    feed: npt.NDArray[np.float64]
    membrane_surface: npt.NDArray[np.float64]
    permeate: npt.NDArray[np.float64]
    rejection: npt.NDArray[np.float64]
    intrinsic_rejection: npt.NDArray[np.float64]
    charge_density: float
    donnan_potential: tuple[float, float]
    osmotic_pressure: float
    iterations: int

class Prediction:
    fluxes: npt.NDArray[np.float64]
    """(n,) m/s"""
    ions: list[str]
    rejection: npt.NDArray[np.float64]
    """(n, ions)"""
    lower: Optional[npt.NDArray[np.float64]]
    upper: Optional[npt.NDArray[np.float64]]
    permeate: Optional[npt.NDArray[np.float64]]
    """(n, ions) mol/m^3"""
    intrinsic_rejection: Optional[npt.NDArray[np.float64]]
    level: Optional[float]
    warnings: list[str]
    def to_dict(self) -> dict[str, npt.NDArray[np.float64]]: ...
    def __len__(self) -> int: ...

class Dspmde:
    def __init__(
        self, membrane: Optional[Membrane] = None, conditions: Optional[Conditions] = None
    ) -> None: ...
    membrane: Membrane
    conditions: Conditions
    def solve(
        self, feed: Feed, flux: Quantity, *, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> OperatingPoint: ...
    def solve_at_pressure(
        self, feed: Feed, pressure: Quantity, *, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> OperatingPoint: ...
    def sweep(
        self, feed: Feed, fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> Prediction:
        """Default fluxes: 10 points on (0, 3e-5 m/s]."""
    def sensitivities(
        self, feed: Feed, parameters: Sequence[str], fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> Dict[str, object]:
        """dR/dp by the implicit function theorem: "d_rejection" is flux x ion x parameter."""
    def at_temperature(self, temperature: Quantity) -> Dspmde: ...

class Sdem:
    """Solution-diffusion-electromigration model: one permeance per ion (m/s or text
    "3.9 um/s"), an optional fixed charge (mol/m^3)."""
    def __init__(
        self, permeances: Mapping[str, Quantity], *, charge: float = 0.0,
        conditions: Optional[Conditions] = None, registry: Optional[IonRegistry] = None,
    ) -> None: ...
    permeances: Dict[str, float]
    charge: float
    conditions: Conditions
    def solve(
        self, feed: Feed, flux: Quantity, *, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> OperatingPoint: ...
    def solve_trace_limit(
        self, feed: Feed, flux: Quantity, *, check: bool = True, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> OperatingPoint: ...
    def sweep(
        self, feed: Feed, fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> Prediction: ...

class SdemFit:
    model: Sdem
    permeances: Dict[str, Tuple[float, float, str]]
    """ion -> (permeance m/s, standard error of ln P, "determined" | "weak" |
    "lower bound only" | "upper bound only")"""
    charge: Optional[Tuple[float, float, bool]]
    rmse: float
    rmse_rejection: float
    residuals: npt.NDArray[np.float64]
    starts: Tuple[int, int, int]

def fit_sdem(
    data: Union[Dataset, Path], *, form: str = "full", residual: str = "log_transmission",
    charge_bounds: Optional[Tuple[float, float]] = None,
    film_thickness: Optional[Quantity] = None, mass_transfer: Optional[float] = None,
    max_evaluations: int = 400,
) -> SdemFit: ...

class Dataset:
    @staticmethod
    def read_csv(
        path: Path, *, registry: Optional[IonRegistry] = None,
        temperature: Optional[Quantity] = None,
    ) -> Dataset: ...
    @staticmethod
    def from_csv(
        text: str, *, registry: Optional[IonRegistry] = None,
        temperature: Optional[Quantity] = None,
    ) -> Dataset: ...
    @staticmethod
    def from_dict(
        columns: Mapping[str, Union[npt.ArrayLike, Sequence[object]]], *,
        comments: Optional[Sequence[str]] = None, registry: Optional[IonRegistry] = None,
        temperature: Optional[Quantity] = None,
    ) -> Dataset: ...
    def to_csv(self) -> str: ...
    def write_csv(self, path: Path) -> None: ...
    def to_dict(self) -> dict[str, Union[list[str], npt.NDArray[np.float64]]]: ...
    ions: list[str]
    samples: list[str]
    basis: Literal["observed", "intrinsic"]
    synthetic: Optional[str]
    comments: list[str]
    num_points: int
    name: str
    def __len__(self) -> int: ...

class FittedParameter:
    name: str
    value: float
    standard_error: float
    unit: str
    at_bound: bool

class IonScore:
    ion: str
    points: int
    rmse: float
    mae: float
    bias: float
    sign_errors: int
    covered: Optional[int]

class Scores:
    points: dict[str, Union[list[str], npt.NDArray[np.float64]]]
    by_ion: list[IonScore]
    level: Optional[float]
    basis: Literal["observed", "intrinsic"]
    def __len__(self) -> int: ...

class MembraneFile:
    def __init__(self, membrane: Membrane, conditions: Optional[Conditions] = None) -> None: ...
    @staticmethod
    def load(path: Path) -> MembraneFile: ...
    def save(self, path: Path) -> None: ...
    membrane: Membrane
    conditions: Conditions
    parameters: list[FittedParameter]
    correlation: Optional[npt.NDArray[np.float64]]
    rmse: Optional[float]
    rejections: Optional[int]
    starts: Optional[tuple[int, int]]
    data: Optional[tuple[str, str]]
    has_intervals: bool
    def dspmde(self) -> Dspmde: ...
    def predict(
        self, feed: Feed, fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, interval: Interval = None,
        temperature: Optional[Quantity] = None, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> Prediction: ...
    def score(self, data: Dataset, *, interval: Interval = "auto") -> Scores: ...

def fit(
    data: Union[Dataset, Path], *,
    isotherm: Union[bool, Literal["freundlich", "langmuir"], None] = None,
    multivalent_charge: bool = False, fit_dielectric: bool = False,
    born_radius: Literal["stokes", "hydration"] = "stokes",
    partition_energies: Sequence[str] = (),
    energy_descriptors: Sequence[Literal["hydration", "stokes_radius", "valence_squared"]] = (),
    jacobian: Literal["differences", "implicit"] = "differences",
    film_thickness: Optional[Quantity] = None, mass_transfer: Optional[float] = None,
    max_evaluations: int = 300, samples: int = 200, seed: int = 0,
) -> MembraneFile: ...

class Model:
    @staticmethod
    def load(path: Path) -> Model: ...
    @staticmethod
    def shipped() -> Model: ...
    ions: list[str]
    kind: Literal["hybrid", "neural_ode", "direct"]
    constraint: Literal["hard", "soft", "hard_positive"]
    loss: Literal["concentration", "rejection"]
    flux_max: Optional[float]
    has_intervals: bool
    num_params: int
    def predict(
        self, feed: Feed, fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> Prediction:
        """Default fluxes: 10 points up to the model's largest training flux."""
    def predict_many(
        self, feeds: Sequence[Feed], fluxes: Optional[Fluxes] = None, *,
        flux_max: Optional[Quantity] = None, points: int = 10, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> list[Prediction]: ...
    def attention(
        self, feed: Feed, flux: Quantity, *, unit: str = "mmol/L",
        registry: Optional[IonRegistry] = None,
    ) -> npt.NDArray[np.float64]: ...
    def at_temperature(self, temperature: Quantity) -> Model: ...

def predict_ensemble(
    models: Union[Model, Sequence[Model]], feed: Feed, fluxes: Optional[Fluxes] = None, *,
    flux_max: Optional[Quantity] = None, points: int = 10, interval: Interval = None,
    unit: str = "mmol/L", registry: Optional[IonRegistry] = None,
) -> Prediction: ...

def score_models(
    models: Union[Model, Sequence[Model]], data: Dataset, *, interval: Interval = "auto"
) -> Scores: ...

class WaterTapSolution:
    flux_mol_phase_comp_avg: dict[str, float]
    rejection_intrinsic_phase_comp: dict[str, float]
    rejection_observed_phase_comp: dict[str, float]
    recovery_vol_phase: float
    permeate_conc_mol_phase_comp: dict[str, float]
    retentate_flow_mol_phase_comp: dict[str, float]
    inlet: dict[str, object]
    outlet: dict[str, object]
    evaluations: int

class NanofiltrationDSPMDE0D:
    def __init__(
        self, solute_list: Sequence[str], *, radius_pore: float,
        membrane_thickness_effective: float, membrane_charge_density: float,
        dielectric_constant_pore: float, area: float = 50.0, temperature: float = 298.15,
        pressure: float = 4e5, permeate_pressure: float = 101325.0,
        activity_coefficient_model: Literal["davies", "ideal"] = "davies",
        dielectric_constant: Optional[float] = None,
        mass_transfer_coefficient: Literal["none", "spiral_wound", "fixed"] = "none",
        channel_height: Optional[float] = None, spacer_porosity: Optional[float] = None,
        velocity: Optional[float] = None, spacer_mixing_efficiency: float = 0.5,
        spacer_mixing_length: float = 0.6, Kf_comp: Optional[Mapping[str, float]] = None,
        diffusivity_data: Optional[Mapping[str, float]] = None,
        mw_data: Optional[Mapping[str, float]] = None,
        stokes_radius_data: Optional[Mapping[str, float]] = None,
        charge: Optional[Mapping[str, float]] = None, version: Literal["1.8", "1.6"] = "1.8",
    ) -> None: ...
    solute_list: list[str]
    def solve(self, flow_mol_phase_comp: Mapping[str, float]) -> WaterTapSolution: ...
