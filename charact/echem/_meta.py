"""Sample quantities (active mass, area, film thickness, temperature) from a Dataset's attrs.

An explicit option always wins. Otherwise a value is taken from the measurement's attrs —
what the file says (EC-Lab's ``active_mass_mg``/``area_cm2`` header fields: the only ones a
charact reader sets) or what a caller of the Python API put there (plain keys such as
``mass_mg``, ``thickness_um``, ``temperature_C``, or a ``sample_metadata`` dict / JSON
string holding them, e.g. from another tool's files). The catalogue does not use these
attrs: it passes the sample manifest's values as explicit arguments. The result documents
say which source was used.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..core.errors import InputError

#: attribute names looked up for each quantity, in order (values in the named unit)
ALIASES: dict[str, tuple[str, ...]] = {
    "mass_mg": ("mass_mg", "active_mass_mg", "sample_mass_mg"),
    "area_cm2": ("area_cm2", "electrode_area_cm2", "sample_area_cm2"),
    "thickness_um": ("thickness_um", "film_thickness_um", "sample_thickness_um"),
    "temperature_C": ("temperature_C", "temperature_celsius", "sample_temperature_C"),
}


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            out = json.loads(value)
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}
    return {}


def _positive(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def sample_quantity(
    obj: Any, quantity: str, given: float | None = None
) -> tuple[float | None, str | None]:
    """``(value, source)`` of ``quantity`` (a key of :data:`ALIASES`): the option ``given``
    (source ``"option"``), else the attrs of ``obj`` (``"file/sample metadata"``), else
    ``(None, None)``. Temperatures may be negative (°C); ``temperature_K`` attrs are
    converted."""
    if given is not None:
        ok = math.isfinite(given) and (quantity == "temperature_C" or given > 0)
        if not ok:
            raise InputError(f"{quantity} must be a positive number, got {given!r}")
        return float(given), "option"
    attrs = getattr(obj, "attrs", None) or {}
    pools = [attrs, _as_dict(attrs.get("sample_metadata"))]
    for pool in pools:
        for key in ALIASES[quantity]:
            if key not in pool:
                continue
            if quantity == "temperature_C":
                try:
                    t = float(pool[key])
                except (TypeError, ValueError):
                    continue
                if math.isfinite(t):
                    return t, "attrs:" + key
                continue
            v = _positive(pool[key])
            if v is not None:
                return v, "attrs:" + key
        if quantity == "temperature_C" and "temperature_K" in pool:
            t = _positive(pool["temperature_K"])
            if t is not None:
                return t - 273.15, "attrs:temperature_K"
    return None, None
