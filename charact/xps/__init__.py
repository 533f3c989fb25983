"""XPS: readers, backgrounds, a species library, region and depth-profile fitting, quantification.

Importing :mod:`charact.xps` registers the XPS readers (:mod:`charact.xps.io`), the Shirley
and Tougaard baselines (:mod:`charact.xps.backgrounds`) and the species library
(:mod:`charact.xps.models`). The fitting functions are imported on first use, so that
enumerating the registries does not pay for lmfit.

Examples
--------
>>> import charact, charact.xps                                  # doctest: +SKIP
>>> ds = charact.read("depth.vms")                               # doctest: +SKIP
>>> res = charact.xps.fit_depth_profile(ds, etch_rate_nm_per_s=0.17)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from . import backgrounds, io, models  # noqa: F401  (registration at import)
from .io import (
    get_region,
    read_avantage_csv,
    read_avantage_xlsx,
    read_phi,
    read_text_xps,
    read_vamas,
    region_names,
    vendor_fit,
)

__all__ = [
    "fit_depth_profile",
    "fit_region",
    "fit_region_levels",
    "get_region",
    "quantify_level",
    "read_avantage_csv",
    "read_avantage_xlsx",
    "read_phi",
    "read_text_xps",
    "read_vamas",
    "region_names",
    "vendor_fit",
]

_LAZY = {
    "fit_region": "fit",
    "fit_region_levels": "fit",
    "fit_depth_profile": "depth",
    "quantify_level": "quantify",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
