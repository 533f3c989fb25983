"""Electrochemistry: cycler/potentiostat readers, cycling and rate analysis, CV, impedance
(Kramers-Kronig, equivalent circuits, DRT), conductivity and Arrhenius.

Importing this package registers its readers (:mod:`charact.echem.io`,
:mod:`charact.echem.land`).
"""

from . import land as _land  # noqa: F401 - registers the LAND reader
from .conductivity import ArrheniusResult, ConductivityResult, fit_arrhenius, quantify_conductivity
from .cv import (
    CVResult,
    analyze_scan_rates,
    find_cv_peaks,
    fit_b_value,
    randles_sevcik_diffusion,
    scan_rate_of,
    track_cv_peaks,
)
from .cycling import CyclingResult, find_dqdv_peaks, quantify_cycling
from .drt import DRTResult, fit_drt
from .eis import (
    Circuit,
    EISFit,
    KKResult,
    check_kramers_kronig,
    fit_circuit,
    fit_circuit_series,
    parse_circuit,
)
from .io import (
    eis_arrays,
    make_cycling_dataset,
    make_eis_dataset,
    read_arbin_xlsx,
    read_biologic_mpr,
    read_biologic_mpt,
    read_cycling_csv,
    read_eis_text,
    read_gamry_dta,
    read_maccor_txt,
    read_neware_ndax,
)
from .land import read_land_csv, read_land_xls, read_land_xlsx, write_land_xlsx
from .symmetric import SymmetricResult, quantify_symmetric_cell

__all__ = [
    "ArrheniusResult",
    "CVResult",
    "Circuit",
    "ConductivityResult",
    "CyclingResult",
    "DRTResult",
    "EISFit",
    "KKResult",
    "SymmetricResult",
    "analyze_scan_rates",
    "check_kramers_kronig",
    "eis_arrays",
    "find_cv_peaks",
    "find_dqdv_peaks",
    "fit_arrhenius",
    "fit_b_value",
    "fit_circuit",
    "fit_circuit_series",
    "fit_drt",
    "make_cycling_dataset",
    "make_eis_dataset",
    "parse_circuit",
    "quantify_conductivity",
    "quantify_cycling",
    "quantify_symmetric_cell",
    "randles_sevcik_diffusion",
    "read_arbin_xlsx",
    "read_biologic_mpr",
    "read_biologic_mpt",
    "read_cycling_csv",
    "read_eis_text",
    "read_gamry_dta",
    "read_land_csv",
    "read_land_xls",
    "read_land_xlsx",
    "read_maccor_txt",
    "read_neware_ndax",
    "scan_rate_of",
    "track_cv_peaks",
    "write_land_xlsx",
]
