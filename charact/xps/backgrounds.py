"""XPS inelastic backgrounds: iterative Shirley and Tougaard, registered as core baselines.

Both work on an ascending binding-energy axis: inelastically scattered electrons lose kinetic
energy and so appear at *higher* binding energy than their peak, which is why the background
rises from the low-BE end to the high-BE end of a region.

End points are the mean of ``end_points`` points at each end (not single points), which keeps
the background stable on weak, noisy regions, the usual failure of single-point Shirley.

The "active" Shirley background, optimised together with the peaks, is part of the fit
(:mod:`charact.xps.fit`): there the background is ``a + k·∫peaks``.

A static background is a function B(y) of the measured counts, so its noise enters the peak
areas; :func:`background_jacobian` gives D = ∂B/∂y (n × n) for each static background, which
the fit uses to propagate it (see :func:`charact.xps.fit.fit_region_levels`);
:func:`background_and_jacobian` gives B and D in one pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.baselines import BaselineMethod, register_baseline
from ..core.errors import InputError
from ..core.registry import BASELINES

__all__ = [
    "background_and_jacobian",
    "background_jacobian",
    "linear_jacobian",
    "shirley",
    "shirley_jacobian",
    "tougaard",
    "tougaard_jacobian",
    "tougaard_kernel",
]


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
    return _shirley(x, y, end_points, max_iter, tol)[0]


def _shirley(
    x: np.ndarray, y: np.ndarray, end_points: int, max_iter: int, tol: float
) -> tuple[np.ndarray, str]:
    """The Shirley iteration; also says which branch gave the result (``"flat"`` for a zero
    step, ``"linear"`` when the signal integral vanished, else ``"shirley"``)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    lo, hi = _ends(x, y, end_points)
    step = hi - lo
    bg = np.full_like(y, lo)
    if step == 0:
        return bg, "flat"
    for _ in range(int(max_iter)):
        signal = np.clip(y - bg, 0.0, None)  # negative noise must not pull the integral down
        cum = _cumtrapz(x, signal)
        if cum[-1] <= 0:
            return np.full_like(y, lo) + step * (x - x[0]) / (x[-1] - x[0]), "linear"
        new = lo + step * cum / cum[-1]
        if np.max(np.abs(new - bg)) < tol * abs(step):
            return new, "shirley"
        bg = new
    return bg, "shirley"


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
    _ends(x, y, end_points)
    return _tougaard(x, y, _tougaard_matrix(x, C, D), B, end_points)


def _tougaard_matrix(x: np.ndarray, C: float, D: float) -> np.ndarray:
    """The n × n loss kernel ``K[i, j] = K(x_i − x_j)`` (B = 1), shared by the background
    and its derivative."""
    t = x[:, None] - x[None, :]  # T = E - E' >= 0 for E' below E
    return tougaard_kernel(t, B=1.0, C=C, D=D)


def _tougaard(
    x: np.ndarray, y: np.ndarray, k: np.ndarray, B: float | None, end_points: int
) -> np.ndarray:
    lo, hi = _ends(x, y, end_points)
    sig = y - lo
    dx = np.gradient(x)
    raw = k @ (sig * dx)
    if B is None:
        n = int(end_points)
        top = float(np.mean(raw[-n:]))
        scale = (hi - lo) / top if top > 0 else 0.0
    else:
        scale = float(B)
    return lo + scale * raw


# --------------------------------------------------------------------------- D = dB/dy


def _end_rows(y: np.ndarray, end_points: int) -> tuple[np.ndarray, np.ndarray]:
    """∂I_lo/∂y and ∂I_hi/∂y: 1/n on the ``end_points`` points of each end, 0 elsewhere."""
    n = int(end_points)
    e_lo = np.zeros(y.size)
    e_hi = np.zeros(y.size)
    e_lo[:n] = 1.0 / n
    e_hi[-n:] = 1.0 / n
    return e_lo, e_hi


def _cumtrapz_matrix(x: np.ndarray) -> np.ndarray:
    """The matrix C with ``C @ y == _cumtrapz(x, y)``."""
    dx = np.diff(x)
    per = np.zeros((x.size - 1, x.size))
    idx = np.arange(x.size - 1)
    per[idx, idx] = 0.5 * dx
    per[idx, idx + 1] = 0.5 * dx
    return np.vstack([np.zeros((1, x.size)), np.cumsum(per, axis=0)])


def linear_jacobian(x: np.ndarray, y: np.ndarray, *, end_points: int = 5) -> np.ndarray:
    """D = ∂B/∂y of the straight line through the averaged end regions (core ``linear``).

    ``B = I_lo + (I_hi − I_lo) t`` with ``t = (x − x_lo)/(x_hi − x_lo)`` (``x_lo``, ``x_hi``
    the means of the end regions' energies), so ``D = (1 − t) e_loᵀ + t e_hiᵀ`` where
    ``e_lo``, ``e_hi`` hold 1/n on the n end points. D does not depend on y.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    _ends(x, y, end_points)
    n = int(end_points)
    t = (x - x[:n].mean()) / (x[-n:].mean() - x[:n].mean())
    e_lo, e_hi = _end_rows(y, n)
    return np.outer(1.0 - t, e_lo) + np.outer(t, e_hi)


def shirley_jacobian(
    x: np.ndarray,
    y: np.ndarray,
    *,
    end_points: int = 5,
    max_iter: int = 100,
    tol: float = 1e-7,
    background: np.ndarray | None = None,
) -> np.ndarray:
    r"""D = ∂B/∂y of the converged iterative Shirley background (:func:`shirley`).

    The converged background is the fixed point of
    ``B = I_lo + (I_hi − I_lo) u(s)/u_N(s)`` with ``s = max(y − B, 0)`` and ``u = C s`` the
    cumulative trapezoid integral (``u_N`` its last value). Differentiating the fixed point
    (implicit function theorem) with ``g = u/u_N`` and ``M = diag(y − B > 0)``:

    .. math:: (I + A)\,D = \mathbf{1} e_\mathrm{lo}^T + g\,(e_\mathrm{hi} - e_\mathrm{lo})^T + A,
              \qquad A = \frac{I_\mathrm{hi} - I_\mathrm{lo}}{u_N}\,(C - g\,c_N^T)\,M

    (``c_N`` the last row of C), one n × n solve, exact up to the iteration's tolerance. The
    other branches of :func:`shirley` (zero step, vanished signal → straight line) get the
    derivative of what they return.

    ``background``: the result of :func:`shirley` for the same ``x``, ``y`` and parameters,
    when already computed (the iteration is then not run again).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if background is None:
        bg, branch = _shirley(x, y, end_points, max_iter, tol)
    else:
        bg = np.asarray(background, float)
        lo, hi = _ends(x, y, end_points)
        line = np.full_like(y, lo) + (hi - lo) * (x - x[0]) / (x[-1] - x[0])
        # the branch _shirley took: its straight-line fallback is this very expression
        branch = "flat" if hi == lo else "linear" if np.array_equal(bg, line) else "shirley"
    return _shirley_jacobian(x, y, bg, branch, end_points)


def _shirley_jacobian(
    x: np.ndarray, y: np.ndarray, bg: np.ndarray, branch: str, end_points: int
) -> np.ndarray:
    """:func:`shirley_jacobian` at the background ``bg`` that :func:`_shirley` returned with
    ``branch``."""
    lo, hi = _ends(x, y, end_points)
    e_lo, e_hi = _end_rows(y, end_points)
    ones = np.ones(y.size)
    if branch == "linear":
        t = (x - x[0]) / (x[-1] - x[0])
        return np.outer(ones, e_lo) + np.outer(t, e_hi - e_lo)
    cmat = _cumtrapz_matrix(x)
    mask = (y - bg) > 0
    u = cmat @ np.where(mask, y - bg, 0.0)
    if u[-1] <= 0:  # flat step and no signal: B = I_lo
        return np.outer(ones, e_lo)
    g = u / u[-1]
    rhs = np.outer(ones, e_lo) + np.outer(g, e_hi - e_lo)
    if branch == "flat":  # B = I_lo + 0 · g: only the step's own derivative remains
        return rhs
    a = (hi - lo) / u[-1] * (cmat - np.outer(g, cmat[-1])) * mask[None, :]
    return np.linalg.solve(np.eye(y.size) + a, rhs + a)


def tougaard_jacobian(
    x: np.ndarray,
    y: np.ndarray,
    *,
    B: float | None = None,
    C: float = 1643.0,
    D: float = 0.0,
    end_points: int = 5,
) -> np.ndarray:
    r"""∂B/∂y of the Tougaard background (:func:`tougaard`; ``B``, ``C``, ``D`` are the
    cross-section's parameters, not matrices).

    With ``r = K Δ (y − I_lo 1)`` (K the loss kernel, Δ the channel widths) the background is
    ``I_lo + λ r``. For a given ``B`` (λ = B) it is linear in y:
    ``∂B/∂y = 1 e_loᵀ + λ R`` with ``R = K Δ (I − 1 e_loᵀ)``. With λ scaled to meet the
    high-BE end, ``λ = (I_hi − I_lo)/t`` (``t`` the mean of r over the high end points) is a
    ratio of linear functions of y — B is then homogeneous of degree 1 in y but not linear —
    and ``∂λ/∂y = (e_hi − e_lo − λ ∂t/∂y)/t`` adds ``r ∂λ/∂yᵀ``.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    _ends(x, y, end_points)
    return _tougaard_jacobian(x, y, _tougaard_matrix(x, C, D), B, end_points)


def _tougaard_jacobian(
    x: np.ndarray, y: np.ndarray, k: np.ndarray, B: float | None, end_points: int
) -> np.ndarray:
    lo, hi = _ends(x, y, end_points)
    e_lo, e_hi = _end_rows(y, end_points)
    ones = np.ones(y.size)
    dx = np.gradient(x)
    kd = k * dx[None, :]
    raw = kd @ (y - lo)
    r_mat = kd - np.outer(kd @ ones, e_lo)
    if B is not None:
        return np.outer(ones, e_lo) + float(B) * r_mat
    n = int(end_points)
    top = float(np.mean(raw[-n:]))
    if top <= 0:
        return np.outer(ones, e_lo)
    scale = (hi - lo) / top
    d_scale = (e_hi - e_lo - scale * r_mat[-n:].mean(axis=0)) / top
    return np.outer(ones, e_lo) + np.outer(raw, d_scale) + scale * r_mat


def background_jacobian(method: str, x: np.ndarray, y: np.ndarray, **params: Any) -> np.ndarray:
    """D = ∂B/∂y (n × n) of a static background computed from the counts ``y``.

    ``method`` is ``"linear"``, ``"shirley"``, ``"tougaard"`` or ``"none"`` (D = 0);
    ``params`` are the background's own parameters (``end_points`` …), as given to it.
    """
    return background_and_jacobian(method, x, y, **params)[1]


def background_and_jacobian(
    method: str, x: np.ndarray, y: np.ndarray, **params: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The static background B and D = ∂B/∂y together, sharing the work (the Shirley
    iteration, the Tougaard kernel): the same numbers as the background function and
    :func:`background_jacobian` separately. ``method`` and ``params`` as there.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if method == "none":
        return np.zeros_like(y), np.zeros((y.size, y.size))
    if method == "linear":
        bg = np.asarray(BASELINES.get("linear").func(x, y, **params), float)
        return bg, linear_jacobian(x, y, **params)
    if method == "shirley":
        kw = {"end_points": 5, "max_iter": 100, "tol": 1e-7, **params}
        bg, branch = _shirley(x, y, kw["end_points"], kw["max_iter"], kw["tol"])
        return bg, _shirley_jacobian(x, y, bg, branch, kw["end_points"])
    if method == "tougaard":
        kw = {"B": None, "C": 1643.0, "D": 0.0, "end_points": 5, **params}
        _ends(x, y, kw["end_points"])
        k = _tougaard_matrix(x, kw["C"], kw["D"])
        return (
            _tougaard(x, y, k, kw["B"], kw["end_points"]),
            _tougaard_jacobian(x, y, k, kw["B"], kw["end_points"]),
        )
    raise InputError(
        f"no derivative for background {method!r}; one of linear, shirley, tougaard, none"
    )


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
