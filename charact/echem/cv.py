"""Cyclic voltammetry: anodic and cathodic peaks per cycle.

Each cycle (the instrument's ``cycle_count``) is split into its anodic (dE/dt > 0) and
cathodic (dE/dt < 0) sweeps. On each sweep the current is smoothed (Savitzky–Golay over
``smooth_V``). Peaks are local maxima of I on anodic sweeps and minima on cathodic ones that
stand out by at least ``prominence`` × the cycle's current range above their local baseline
(the higher of the two valleys around the peak, i.e. the topographic prominence), stand above
the noise, and are wider than the smoothing window. A monotonic capacitive or catalytic rise
gives no peak. Peak currents are reported as measured and above that local baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats
from scipy.signal import find_peaks, savgol_filter

from ..core.errors import InputError

__all__ = ["CVResult", "find_cv_peaks", "fit_b_value", "randles_sevcik_diffusion"]

FARADAY = 96485.33212  # C/mol (CODATA 2018)
GAS_CONSTANT = 8.314462618  # J/(mol K) (CODATA 2018)


@dataclass
class CVResult:
    cycles: list[dict[str, Any]]
    flags: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "echem.cv",
            "cycles": self.cycles,
            "flags": self.flags,
            "provenance": self.provenance,
        }


def _sweep_peaks(
    e: np.ndarray, i: np.ndarray, sign: int, prom: float | None, smooth_V: float
) -> list[dict[str, float]]:
    if e.size < 11:
        return []
    step = float(np.median(np.abs(np.diff(e)))) or 1e-6
    win = round(smooth_V / step) | 1
    win = max(5, min(win, e.size - (1 - e.size % 2)))
    ism = savgol_filter(i, win, 2) if win < e.size else i
    # a peak must stand out from its own surroundings (prominence = height above the higher
    # of the two bases), and be wider than the smoothing window: noise spikes are not
    # and be well above the noise (robust σ of the smoothing residual)
    noise = 1.4826 * float(np.median(np.abs((i - ism) - np.median(i - ism))))
    floor = max(prom or 0.0, 10.0 * noise / np.sqrt(win)) or None
    pk, props = find_peaks(sign * ism, prominence=floor, width=win / 2)
    return [
        {"E_V": float(e[p]), "I_A": float(i[p]), "I_above_baseline_A": float(sign * pr)}
        for p, pr in zip(pk, props["prominences"], strict=True)
    ]


def find_cv_peaks(ds: xr.Dataset, *, prominence: float = 0.005, smooth_V: float = 0.01) -> CVResult:
    """Anodic and cathodic peak potentials and currents per cycle (module docstring)."""
    for v in ("voltage_volt", "current_ampere", "cycle_count"):
        if v not in ds:
            raise InputError(f"{ds.attrs.get('source_file') or 'data'}: not a CV record (no {v})")
    e = ds["voltage_volt"].values.astype(float)
    i = ds["current_ampere"].values.astype(float)
    cyc = ds["cycle_count"].values.astype(int)
    out = []
    for c in np.unique(cyc):
        m = cyc == c
        ec, ic = e[m], i[m]
        if ec.size < 20:
            continue
        de = np.gradient(savgol_filter(ec, min(11, ec.size - (1 - ec.size % 2)), 1))
        prom = prominence * float(np.ptp(ic)) if np.ptp(ic) > 0 else None
        an, ca = [], []
        direction = np.sign(de)
        # contiguous sweeps of one direction
        edges = np.flatnonzero(np.diff(direction) != 0) + 1
        for seg in np.split(np.arange(ec.size), edges):
            if seg.size < 11 or direction[seg[0]] == 0:
                continue
            if direction[seg[0]] > 0:
                an += _sweep_peaks(ec[seg], ic[seg], +1, prom, smooth_V)
            else:
                ca += _sweep_peaks(ec[seg], ic[seg], -1, prom, smooth_V)
        out.append(
            {
                "cycle": int(c),
                "anodic_peaks_V": [p["E_V"] for p in an],
                "cathodic_peaks_V": [p["E_V"] for p in ca],
                "anodic_peaks": an,
                "cathodic_peaks": ca,
                "E_range_V": [float(ec.min()), float(ec.max())],
            }
        )
    prov = {k: ds.attrs.get(k, "") for k in ("sample_id", "source_file", "source_sha256", "reader")}
    flags = [
        f"cycle {c['cycle']}: {len(c['anodic_peaks_V']) + len(c['cathodic_peaks_V'])} peaks; "
        "the current is noisy or spiky: raise prominence/smooth_V before trusting them"
        for c in out
        if len(c["anodic_peaks_V"]) + len(c["cathodic_peaks_V"]) > 6
    ]
    return CVResult(out, flags=flags, provenance=prov)


def _rates(scan_rates_V_s: Any, peak_currents_A: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(scan_rates_V_s, float)
    i = np.abs(np.asarray(peak_currents_A, float))
    if v.shape != i.shape or v.ndim != 1 or v.size < 2:
        raise InputError("give at least 2 scan rates and as many peak currents")
    if np.any(~np.isfinite(v)) or np.any(v <= 0) or np.any(~np.isfinite(i)) or np.any(i <= 0):
        raise InputError("scan rates and peak currents must be finite and non-zero")
    if np.unique(v).size < 2:
        raise InputError("at least 2 different scan rates are needed")
    return v, i


def fit_b_value(scan_rates_V_s: Any, peak_currents_A: Any) -> dict[str, float]:
    """b in i_p = a·v^b from a log-log fit: b ≈ 0.5 diffusion-limited, ≈ 1 capacitive
    (e.g. Augustyn et al., Energy Environ. Sci. 7, 1597 (2014)).

    Returns ``{"b", "b_stderr", "a"}`` (stderr NaN with two points).
    """
    v, i = _rates(scan_rates_V_s, peak_currents_A)
    lr = stats.linregress(np.log(v), np.log(i))
    return {
        "b": float(lr.slope),
        "b_stderr": float(lr.stderr) if v.size > 2 else math.nan,
        "a": float(math.exp(lr.intercept)),
    }


def randles_sevcik_diffusion(
    scan_rates_V_s: Any,
    peak_currents_A: Any,
    *,
    n_electrons: int,
    area_cm2: float,
    concentration_mol_cm3: float,
    temperature_K: float = 298.15,
) -> dict[str, float]:
    """Diffusion coefficient (cm²/s) from the Randles–Sevcik slope of i_p versus √v.

    i_p = 0.4463 n F A C √(n F v D / (R T)) (reversible, planar diffusion; Bard & Faulkner,
    Electrochemical Methods, 2nd ed., eq. 6.2.19), so D = (k / (0.4463 n F A C))² R T / (n F)
    with the least-squares slope k of i_p against √v (line through the origin).
    """
    v, i = _rates(scan_rates_V_s, peak_currents_A)
    for name, val in (("n_electrons", n_electrons), ("area_cm2", area_cm2),
                      ("concentration_mol_cm3", concentration_mol_cm3),
                      ("temperature_K", temperature_K)):  # fmt: skip
        if not (math.isfinite(val) and val > 0):
            raise InputError(f"{name} must be a positive number, got {val!r}")
    x = np.sqrt(v)
    k = float(x @ i / (x @ x))
    resid = i - k * x
    k_se = float(math.sqrt(resid @ resid / max(1, x.size - 1) / (x @ x)))
    pref = 0.4463 * n_electrons * FARADAY * area_cm2 * concentration_mol_cm3
    conv = GAS_CONSTANT * temperature_K / (n_electrons * FARADAY)
    d = (k / pref) ** 2 * conv
    return {"D_cm2_s": d, "D_stderr": 2 * d * k_se / k, "slope_A_per_sqrtV_s": k}
