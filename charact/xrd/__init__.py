"""X-ray diffraction: read patterns, identify and index phases, refine lattices."""

from .analyze import (
    InstrumentProfile,
    PhaseResult,
    Radiation,
    XRDResult,
    fit_instrument_profile,
    identify_phases,
    radiation_of,
    scherrer_size,
    strip_ka2,
    williamson_hall,
)
from .io import (
    read_brml,
    read_bruker_raw,
    read_gsas_prm,
    read_gsas_std,
    read_ras,
    read_xrdml,
    read_xy,
    write_xy,
)
from .phases import load_phase_library, reference_patterns_dir, stick_cache_dir, stick_pattern

__all__ = [
    "InstrumentProfile",
    "PhaseResult",
    "Radiation",
    "XRDResult",
    "fit_instrument_profile",
    "identify_phases",
    "load_phase_library",
    "radiation_of",
    "read_brml",
    "read_bruker_raw",
    "read_gsas_prm",
    "read_gsas_std",
    "read_ras",
    "read_xrdml",
    "read_xy",
    "reference_patterns_dir",
    "scherrer_size",
    "stick_cache_dir",
    "stick_pattern",
    "strip_ka2",
    "williamson_hall",
    "write_xy",
]
