"""What every technique shares: data conventions, errors, registries, lineshapes, storage.

Nothing in :mod:`charact.core` imports a technique package.
"""

from .data import (
    AXIS_UNITS,
    REQUIRED_ATTRS,
    TECHNIQUES,
    FitResult,
    Parameter,
    check_axis,
    make_measurement,
    make_spectrum,
    validate_measurement,
)
from .errors import (
    CatalogError,
    CharactError,
    CharactWarning,
    CorruptFileError,
    FitError,
    FormatError,
    InputError,
    UnknownFormatError,
)
from .provenance import settings_hash, sha256_file
from .readers import Reader, find_reader, list_formats, read, register_reader
from .registry import BASELINES, LINESHAPES, PHASES, READERS, SPECIES, Registry, load_plugins
from .store import atomic_write, load_netcdf, save_json, save_netcdf

__all__ = [
    "AXIS_UNITS",
    "BASELINES",
    "LINESHAPES",
    "PHASES",
    "READERS",
    "REQUIRED_ATTRS",
    "SPECIES",
    "TECHNIQUES",
    "CatalogError",
    "CharactError",
    "CharactWarning",
    "CorruptFileError",
    "FitError",
    "FitResult",
    "FormatError",
    "InputError",
    "Parameter",
    "Reader",
    "Registry",
    "UnknownFormatError",
    "atomic_write",
    "check_axis",
    "find_reader",
    "list_formats",
    "load_netcdf",
    "load_plugins",
    "make_measurement",
    "make_spectrum",
    "read",
    "register_reader",
    "save_json",
    "save_netcdf",
    "settings_hash",
    "sha256_file",
    "validate_measurement",
]
