"""Figures of Raman results: a fitted spectrum with its bands, and parameter images of maps.

Plot functions take ``ax=None`` (a new figure is made), draw, and return the Axes; they never
compute and never call ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ..core.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .fit import RamanFit
    from .maps import MapResult

__all__ = ["plot_fit", "plot_map", "plot_map_overview"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    return ax


def plot_fit(result: RamanFit, *, ax: Axes | None = None, residual: bool = True) -> Axes:
    """Data, baseline, each band, the envelope and the residual of a fitted spectrum.

    The residual is drawn below the data, offset so it does not overlap; the baseline that
    was subtracted before fitting (if any) is added back to every curve so they sit on the
    measured data.
    """
    curves = result.fit.curves
    if curves is None:
        raise InputError("this fit result has no curves to plot")
    ax = _axes(ax)
    x = curves["raman_shift"].values
    base = curves["baseline"].values if "baseline" in curves else np.zeros_like(x)
    data = curves["data"].values + base
    best = curves["best_fit"].values + base
    ax.plot(x, data, ".", ms=2.5, color="0.35", label="data")
    ax.plot(x, best, "-", lw=1.4, color="k", label="fit")
    bkg = best - sum(
        np.nan_to_num(curves[v].values)
        for v in curves.data_vars
        if v.startswith("component_") and not v.startswith("component_bkg")
    )
    ax.plot(x, bkg, "--", lw=0.9, color="0.5", label="background")
    names = {b.prefix.rstrip("_"): b.name for b in result.model.bands}
    for v in curves.data_vars:
        if not v.startswith("component_"):
            continue
        key = v[len("component_") :]
        if key.startswith("bkg"):
            continue
        ax.fill_between(x, bkg, bkg + curves[v].values, alpha=0.35, lw=0, label=names.get(key, key))
    if residual:
        resid = curves["residual"].values
        finite = np.isfinite(data)
        low = np.nanmin(data[finite]) if finite.any() else 0.0
        span = np.nanmax(np.abs(resid)) if np.isfinite(resid).any() else 1.0
        ax.plot(x, resid + low - 1.2 * span, "-", lw=0.7, color="tab:red", label="residual")
    ax.set_xlabel("Raman shift (cm$^{-1}$)")
    ax.set_ylabel(f"intensity ({curves['data'].attrs.get('units', '') or 'a.u.'})")
    ratio = result.ratios.get("ID_IG_height")
    title = f"{result.fit.provenance.get('source_file', '')}  model {result.model.name}"
    if ratio is not None:
        title += f"  I_D/I_G(height) = {ratio:.2f}"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncols=2)
    return ax


def plot_map(
    ds: xr.Dataset | MapResult,
    variable: str,
    *,
    peak: str | None = None,
    ax: Axes | None = None,
    cmap: str = "viridis",
) -> Axes:
    """An image of one fitted quantity over the map (failed pixels blank).

    Parameters
    ----------
    ds
        The map result (or its Dataset).
    variable
        ``center``, ``fwhm``, ``height``, ``area`` (with ``peak``), or an image such as
        ``ID_IG_height``, ``crystalline_fraction``, ``shift_cm-1``, ``redchi``, ``si_state``.
    peak
        The band for per-peak variables (``"c-Si"``, ``"D"`` …).
    """
    ds = ds.dataset if hasattr(ds, "dataset") else ds
    if variable not in ds:
        raise InputError(f"no variable {variable!r} in the map; have {sorted(ds.data_vars)}")
    da = ds[variable]
    if "peak" in da.dims:
        if peak is None:
            raise InputError(f"{variable!r} is per peak: name one of {ds['peak'].values.tolist()}")
        da = da.sel(peak=peak)
    img = np.where(ds["success"].values, da.values.astype(float), np.nan)
    ax = _axes(ax)
    x, y = ds["x"].values, ds["y"].values
    dx = (x[1] - x[0]) if x.size > 1 else 1.0
    dy = (y[1] - y[0]) if y.size > 1 else 1.0
    extent = (x[0] - dx / 2, x[-1] + dx / 2, y[-1] + dy / 2, y[0] - dy / 2)
    im = ax.imshow(img, extent=extent, cmap=cmap, interpolation="nearest")
    units = da.attrs.get("units", "")
    label = f"{peak + ' ' if peak else ''}{variable}" + (
        f" ({units})" if units not in ("", "1") else ""
    )
    ax.figure.colorbar(im, ax=ax, label=label, shrink=0.85)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(label, fontsize=9)
    return ax


def plot_map_overview(
    ds: xr.Dataset | MapResult, *, axes: Sequence[Axes] | None = None
) -> Sequence[Axes]:
    """Up to six images: c-Si centre, c-Si height, I_D/I_G (height), Xc, G centre, redchi."""
    ds = ds.dataset if hasattr(ds, "dataset") else ds
    peaks = ds["peak"].values.tolist()
    wanted: list[tuple[str, str | None]] = []
    if "c-Si" in peaks:
        wanted += [("center", "c-Si"), ("height", "c-Si")]
    for name in ("ID_IG_height", "crystalline_fraction"):
        if name in ds:
            wanted.append((name, None))
    if "G" in peaks:
        wanted.append(("center", "G"))
    wanted.append(("redchi", None))
    wanted = wanted[:6]
    if axes is None:
        import matplotlib.pyplot as plt

        ncol = min(3, len(wanted))
        nrow = int(np.ceil(len(wanted) / ncol))
        _fig, grid = plt.subplots(
            nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), constrained_layout=True, squeeze=False
        )
        axes = list(grid.ravel())
        for extra in axes[len(wanted) :]:
            extra.set_visible(False)
    for ax, (var, peak) in zip(axes, wanted, strict=False):
        plot_map(ds, var, peak=peak, ax=ax)
    return axes
