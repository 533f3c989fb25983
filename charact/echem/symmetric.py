"""Li/Li symmetric cells: overpotential per half cycle, its growth, and soft-short flags.

The overpotential of a half cycle is the median |V| over its points under current (the
plateau; robust against the nucleation spike at its start), and the peak |V| is reported too.
Growth is the least-squares slope of the plateau overpotential versus time (mV/h). A *soft
short* shows as a sudden collapse of the overpotential: a half cycle whose plateau falls below
``short_fraction`` × the median of the previous ``window`` half cycles and stays there is
flagged with its time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..core.errors import InputError
from .cycling import find_half_cycles

__all__ = ["SymmetricResult", "quantify_symmetric_cell"]


@dataclass
class SymmetricResult:
    half_cycles: list[dict[str, Any]]
    growth_mV_per_h: float
    growth_stderr: float
    soft_short_at_h: float | None
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "analysis": "echem.symmetric",
            "half_cycles": self.half_cycles,
            "growth_mV_per_h": clean(self.growth_mV_per_h),
            "growth_stderr": clean(self.growth_stderr),
            "soft_short_at_h": self.soft_short_at_h,
            "flags": self.flags,
        }


def quantify_symmetric_cell(
    ds: xr.Dataset, *, short_fraction: float = 0.5, window: int = 5
) -> SymmetricResult:
    """Overpotential per half cycle of a symmetric-cell record (module docstring)."""
    if not 0 < short_fraction < 1:
        raise InputError(f"short_fraction must be in (0, 1), got {short_fraction}")
    halves = find_half_cycles(ds)
    if not halves:
        raise InputError(
            f"{ds.attrs.get('source_file') or 'data'}: no current flows; not a cycling record"
        )
    t = ds["test_time_second"].values
    v = ds["voltage_volt"].values
    sign = ds["step_type"].values
    rows = []
    for h in halves:
        seg = slice(h.start, h.stop)
        act = sign[seg] == h.sign
        vv = np.abs(v[seg][act])
        tt = t[seg][act]
        rows.append(
            {
                "half_cycle": h.index,
                "direction": h.kind,
                "time_h": float(np.mean(tt) / 3600.0),
                "overpotential_mV": float(np.median(vv) * 1e3),
                "peak_overpotential_mV": float(np.max(vv) * 1e3),
                "current_mA": h.mean_current_A * 1e3,
            }
        )
    th = np.array([r["time_h"] for r in rows])
    eta = np.array([r["overpotential_mV"] for r in rows])
    slope = se = math.nan
    if th.size >= 3 and np.ptp(th) > 0:
        coef, cov = np.polyfit(th, eta, 1, cov=True)
        slope, se = float(coef[0]), float(math.sqrt(cov[0, 0]))
    short_at = None
    flags = []
    for k in range(window, eta.size):
        ref = float(np.median(eta[k - window : k]))
        if eta[k] < short_fraction * ref and np.all(eta[k:] < short_fraction * ref):
            short_at = float(th[k])
            flags.append(
                f"soft short suspected at {short_at:.1f} h: overpotential fell from "
                f"{ref:.1f} to {eta[k]:.1f} mV and stayed low"
            )
            break
    return SymmetricResult(rows, slope, se, short_at, flags)
