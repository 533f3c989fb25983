"""Baselines shared by every technique: pybaselines' algorithms behind one registry.

Each method is a :class:`BaselineMethod` registered in
:data:`~charact.core.registry.BASELINES`; techniques add their own (Shirley and Tougaard for
XPS) the same way. :func:`estimate_baseline` works on a spectrum or on any stack of spectra
(maps, depth profiles) along one dim, and returns the method and the full parameter set it
used, so results can record exactly what was subtracted.

The algorithms themselves are pybaselines' (Erb, https://github.com/derb12/pybaselines);
only ``linear`` is ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np
import xarray as xr

from .errors import InputError
from .registry import BASELINES

__all__ = ["BaselineMethod", "estimate_baseline", "register_baseline", "subtract_baseline"]

BaselineFunc = Callable[..., np.ndarray]


@dataclass(frozen=True)
class BaselineMethod:
    """A baseline algorithm: ``func(x, y, **params) -> baseline`` for ascending 1-D ``x``."""

    name: str
    func: BaselineFunc
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    citation: str = ""


def register_baseline(method: BaselineMethod, *, replace: bool = False) -> BaselineMethod:
    """Add ``method`` to the shared baseline registry."""
    return BASELINES.register(method.name, method, replace=replace)


def _pybaselines(name: str) -> BaselineFunc:
    def run(x: np.ndarray, y: np.ndarray, **params: Any) -> np.ndarray:
        from pybaselines import Baseline

        fitted, _ = getattr(Baseline(x_data=x), name)(y, **params)
        return np.asarray(fitted, dtype=float)

    run.__name__ = name
    return run


def _linear(x: np.ndarray, y: np.ndarray, *, end_points: int = 5) -> np.ndarray:
    """Straight line through the means of the first and last ``end_points`` points.

    Averaging the end regions instead of taking single points keeps noise out of the line.
    """
    n = int(end_points)
    if n < 1 or 2 * n > x.size:
        raise InputError(f"end_points must be between 1 and {x.size // 2}, got {end_points}")
    x0, y0 = x[:n].mean(), y[:n].mean()
    x1, y1 = x[-n:].mean(), y[-n:].mean()
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


for _name, _defaults, _text, _cite in (
    (
        "asls",
        {"lam": 1e6, "p": 0.01},
        "asymmetric least squares",
        "Eilers & Boelens, Baseline correction with asymmetric least squares smoothing (2005)",
    ),
    (
        "arpls",
        {"lam": 1e5},
        "asymmetrically reweighted penalized least squares",
        "Baek et al., Analyst 140, 250 (2015)",
    ),
    (
        "airpls",
        {"lam": 1e6},
        "adaptive iteratively reweighted penalized least squares",
        "Zhang et al., Analyst 135, 1138 (2010)",
    ),
    (
        "modpoly",
        {"poly_order": 3},
        "modified polynomial",
        "Lieber & Mahadevan-Jansen, Appl. Spectrosc. 57, 1363 (2003)",
    ),
    (
        "imodpoly",
        {"poly_order": 3},
        "improved modified polynomial",
        "Zhao et al., Appl. Spectrosc. 61, 1225 (2007)",
    ),
    (
        "snip",
        {"max_half_window": 40},
        "statistics-sensitive non-linear iterative peak clipping",
        "Ryan et al., Nucl. Instrum. Methods B 34, 396 (1988)",
    ),
):
    register_baseline(BaselineMethod(_name, _pybaselines(_name), _defaults, _text, _cite))
register_baseline(
    BaselineMethod(
        "linear", _linear, {"end_points": 5}, "straight line between the averaged end regions"
    )
)


def estimate_baseline(
    da: xr.DataArray, method: str = "arpls", *, dim: str | None = None, **params: Any
) -> tuple[xr.DataArray, dict[str, Any]]:
    """Estimate the baseline of a spectrum, or of every spectrum of a stack along ``dim``.

    Parameters
    ----------
    da
        Spectrum or stack; NaN-free along ``dim``.
    method
        A name from ``BASELINES.names()`` (``asls``, ``arpls``, ``airpls``, ``modpoly``,
        ``imodpoly``, ``snip``, ``linear`` …).
    dim
        The spectral dim; defaults to the only dim of a 1-D array.
    **params
        Overrides of the method's defaults.

    Returns
    -------
    (xarray.DataArray, dict)
        The baseline (same shape and coords as ``da``) and ``{"method", "params",
        "library"}`` describing exactly what was computed.
    """
    spec = BASELINES.get(method)
    if dim is None:
        if da.ndim != 1:
            raise InputError(f"name the spectral dim of this {da.ndim}-D array with dim=")
        dim = str(da.dims[0])
    if dim not in da.dims:
        raise InputError(f"dim {dim!r} not in the array's dims {tuple(da.dims)}")
    used = {**spec.defaults, **params}
    x = np.asarray(da[dim].values, dtype=float)
    order = np.argsort(x)
    xs = x[order]
    if np.any(np.diff(xs) <= 0):
        raise InputError(f"axis {dim!r} must be strictly monotonic to estimate a baseline")
    if not np.all(np.isfinite(da.values)):
        raise InputError(f"{da.attrs.get('source_file') or 'data'}: NaN or inf in the intensities")
    inverse = np.argsort(order)

    def kernel(y: np.ndarray) -> np.ndarray:
        try:
            return spec.func(xs, y[order], **used)[inverse]
        except TypeError as exc:
            raise InputError(f"baseline {method!r}: {exc}") from None

    base = xr.apply_ufunc(
        kernel,
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[dim]],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[float],
    ).transpose(*da.dims)
    base.attrs = {"units": da.attrs.get("units", ""), "long_name": f"{method} baseline"}
    base.name = "baseline"
    lib = "charact" if method == "linear" else f"pybaselines {version('pybaselines')}"
    return base, {"method": method, "params": used, "library": lib}


def subtract_baseline(
    da: xr.DataArray, method: str = "arpls", *, dim: str | None = None, **params: Any
) -> tuple[xr.DataArray, xr.DataArray]:
    """Return ``(da - baseline, baseline)``; the corrected array records the method in attrs."""
    base, info = estimate_baseline(da, method, dim=dim, **params)
    out = da - base
    out.attrs = {
        **da.attrs,
        "baseline_method": info["method"],
        "baseline_params": dict(info["params"]),
        "baseline_library": info["library"],
    }
    out.name = da.name
    return out, base
