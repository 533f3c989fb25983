"""Raman spectroscopy: read spectra and maps, fit c-Si, a-Si and carbon bands."""

from .fit import (
    RamanFit,
    ShiftCalibration,
    calibrate_shift,
    compare_models,
    despike,
    fit_spectrum,
)
from .io import (
    read_labspec_xml,
    read_map_long,
    read_map_wide,
    read_text_spectrum,
    read_wdf,
    write_map_long,
    write_map_wide,
    write_text_spectrum,
)
from .maps import MapResult, fit_map, fit_map_to_netcdf
from .models import BANDS, MODELS, build_model

__all__ = [
    "BANDS",
    "MODELS",
    "MapResult",
    "RamanFit",
    "ShiftCalibration",
    "build_model",
    "calibrate_shift",
    "compare_models",
    "despike",
    "fit_map",
    "fit_map_to_netcdf",
    "fit_spectrum",
    "read_labspec_xml",
    "read_map_long",
    "read_map_wide",
    "read_text_spectrum",
    "read_wdf",
    "write_map_long",
    "write_map_wide",
    "write_text_spectrum",
]
