"""XPS inelastic backgrounds: iterative Shirley and Tougaard, registered as core baselines.

Both work on an ascending binding-energy axis: inelastically scattered electrons lose kinetic
energy and so appear at *higher* binding energy than their peak, which is why the background
rises from the low-BE end to the high-BE end of a region.

End points are the mean of ``end_points`` points at each end (not single points), which keeps
the background stable on weak, noisy regions, the usual failure of single-point Shirley.

The "active" Shirley background, optimised together with the peaks, is part of the fit
(:mod:`charact.xps.fit`): there the background is ``a + k·∫peaks``.
"""

from __future__ import annotations

import numpy as np

from ..core.baselines import BaselineMethod, register_baseline
from ..core.errors import InputError

__all__ = ["shirley", "tougaard", "tougaard_kernel"]


def _ends(x: np.ndarray, y: np.ndarray, end_points: int) -> tuple[float, float]:
    n = int(end_points)
    if n < 1 or 2 * n > x.size:
        raise InputError(f"end_points must be between 1 and {x.size // 2}, got {end_points}")
    if np.any(np.diff(x) <= 0):
        raise InputError("the binding-energy axis must be strictly ascending")
    return float(np.mean(y[:n])), float(np.mean(y[-n:]))


def _cumtrapz(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(y, dtype=float)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))
    return out


def shirley(
    x: np.ndarray,
    y: np.ndarray,
    *,
    end_points: int = 5,
    max_iter: int = 100,
    tol: float = 1e-7,
) -> np.ndarray:
    r"""Iterative Shirley background on an ascending binding-energy axis.

    .. math:: B(E) = I_\mathrm{lo} + (I_\mathrm{hi} - I_\mathrm{lo})
              \frac{\int_{E_\mathrm{lo}}^{E} [y - B]\,dE'}{\int_{E_\mathrm{lo}}^{E_\mathrm{hi}}
              [y - B]\,dE'}

    iterated from ``B = I_lo`` until the change is below ``tol`` of the step height.
    ``I_lo``, ``I_hi`` are the means of ``end_points`` points at each end.

    References
    ----------
    D. A. Shirley, Phys. Rev. B 5, 4709 (1972); iteration as in A. Proctor and P. M. A.
    Sherwood, Anal. Chem. 54, 13 (1982).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    lo, hi = _ends(x, y, end_points)
    step = hi - lo
    bg = np.full_like(y, lo)
    if step == 0:
        return bg
    for _ in range(int(max_iter)):
        signal = np.clip(y - bg, 0.0, None)  # negative noise must not pull the integral down
        cum = _cumtrapz(x, signal)
        if cum[-1] <= 0:
            return np.full_like(y, lo) + step * (x - x[0]) / (x[-1] - x[0])
        new = lo + step * cum / cum[-1]
        if np.max(np.abs(new - bg)) < tol * abs(step):
            return new
        bg = new
    return bg


def tougaard_kernel(t: np.ndarray, *, B: float = 2866.0, C: float = 1643.0, D: float = 0.0):
    r"""Tougaard universal loss cross-section ``K(T) = B T / ((C + s T²)² + D T²)``.

    With ``D = 0`` this is the 2-parameter universal cross-section ``B T/(C + T²)²``
    (C = 1643 eV², Tougaard 1997); with ``D > 0`` the 3-parameter form
    ``B T / ((C − T²)² + D T²)`` for materials with a sharp plasmon (Tougaard 1997, Table 1).
    """
    t = np.asarray(t, float)
    out = np.zeros_like(t)
    pos = t > 0
    tp = t[pos]
    if D > 0:
        out[pos] = B * tp / ((C - tp**2) ** 2 + D * tp**2)
    else:
        out[pos] = B * tp / (C + tp**2) ** 2
    return out


def tougaard(
    x: np.ndarray,
    y: np.ndarray,
    *,
    B: float | None = None,
    C: float = 1643.0,
    D: float = 0.0,
    end_points: int = 5,
) -> np.ndarray:
    r"""Tougaard background on an ascending binding-energy axis.

    .. math:: B(E) = I_\mathrm{lo} + \int_{E_\mathrm{lo}}^{E} K(E - E')\,[y(E') - I_\mathrm{lo}]
              \,dE'

    where electrons detected at binding energy E lost ``T = E − E'`` from a peak at E'.
    When ``B`` is None it is scaled so that the background meets the mean of the high-BE end
    points (the usual practice for a region, not an absolute B).

    References
    ----------
    S. Tougaard, Surf. Interface Anal. 11, 453 (1988); S. Tougaard, Surf. Interface Anal. 25,
    137 (1997) (universal cross-sections, 2- and 3-parameter).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    lo, hi = _ends(x, y, end_points)
    sig = y - lo
    dx = np.gradient(x)
    t = x[:, None] - x[None, :]  # T = E - E' >= 0 for E' below E
    k = tougaard_kernel(t, B=1.0, C=C, D=D)
    raw = k @ (sig * dx)
    if B is None:
        n = int(end_points)
        top = float(np.mean(raw[-n:]))
        scale = (hi - lo) / top if top > 0 else 0.0
    else:
        scale = float(B)
    return lo + scale * raw


register_baseline(
    BaselineMethod(
        "shirley",
        shirley,
        {"end_points": 5, "max_iter": 100, "tol": 1e-7},
        "iterative Shirley (XPS), averaged end points",
        "D. A. Shirley, Phys. Rev. B 5, 4709 (1972)",
    )
)
register_baseline(
    BaselineMethod(
        "tougaard",
        tougaard,
        {"B": None, "C": 1643.0, "D": 0.0, "end_points": 5},
        "Tougaard universal cross-section (XPS), 2- or 3-parameter",
        "S. Tougaard, Surf. Interface Anal. 25, 137 (1997)",
    )
)
