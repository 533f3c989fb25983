"""Figures of XPS results (matplotlib). ``plot_*`` take ``ax=None``, return the Axes and
never compute anything beyond what the result holds."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_depth_fits", "plot_region_fit", "plot_species_profile"]


def plot_region_fit(fit: Any, *, level: int = 0, ax: Any = None) -> Any:
    """Data, background, components (on the background), envelope and residual of one level.

    ``fit`` is a :class:`charact.xps.fit.RegionFit`. The binding-energy axis runs from high to
    low, as XPS spectra are shown.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    lv = fit.levels[level]
    c = lv.curves
    x = c["binding_energy"].values
    ax.plot(x, c["data"].values, ".", ms=3, color="0.3", label="data")
    ax.plot(x, c["background"].values, "--", color="0.5", lw=1, label="background")
    for i, comp in enumerate(lv.components):
        ax.fill_between(
            x,
            c["background"].values,
            c["background"].values + c[f"component_{i}"].values,
            alpha=0.35,
            label=comp.name,
        )
    ax.plot(x, c["envelope"].values, color="k", lw=1.2, label="envelope")
    off = np.nanmin(c["data"].values) - 0.05 * np.ptp(c["data"].values)
    ax.plot(x, c["residual"].values + off, color="tab:red", lw=0.8, label="residual (offset)")
    ax.set_xlim(x.max(), x.min())
    ax.set_xlabel("Binding energy (eV, as measured)")
    ax.set_ylabel(f"Intensity ({c['data'].attrs.get('units', '')})")
    ax.set_title(f"{fit.region}, level {lv.level}")
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_species_profile(result: Any, *, ax: Any = None) -> Any:
    """Stacked species % versus depth (or etch time) with error bars, from a
    :class:`charact.xps.depth.DepthProfileResult`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    has_depth = all(np.isfinite(result.depth_nm))
    xs = np.array(result.depth_nm if has_depth else result.etch_time_s, float)
    if not np.all(np.isfinite(xs)):
        xs = np.arange(len(result.quantification), dtype=float)
        label = "Etch level"
    else:
        label = "Depth (nm)" if has_depth else "Etch time (s)"
    species = list(dict.fromkeys(s for q in result.quantification for s in q.species_percent))
    bottom = np.zeros(xs.size)
    for s in species:
        v = np.array([q.species_percent.get(s, 0.0) for q in result.quantification])
        e = np.array([q.species_percent_stderr.get(s, np.nan) for q in result.quantification])
        ax.fill_between(xs, bottom, bottom + v, alpha=0.6, label=s, step=None)
        ax.errorbar(xs, bottom + v, yerr=e, fmt="none", ecolor="k", lw=0.6, capsize=2)
        bottom = bottom + v
    ax.set_xlabel(label)
    ax.set_ylabel("Species (% of detected atoms)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return ax


def plot_depth_fits(result: Any, *, axes: Any = None) -> Any:
    """Every region at every level of a :class:`charact.xps.depth.DepthProfileResult`:
    a grid with one row per level and one column per region. Returns the axes array."""
    import matplotlib.pyplot as plt

    regions = list(result.regions)
    nlev = len(result.quantification)
    if axes is None:
        _, axes = plt.subplots(
            nlev,
            len(regions),
            figsize=(3.6 * len(regions), 2.6 * nlev),
            squeeze=False,
            layout="constrained",
        )
    axes = np.asarray(axes).reshape(nlev, len(regions))
    for j, key in enumerate(regions):
        for lev in range(nlev):
            ax = plot_region_fit(result.regions[key], level=lev, ax=axes[lev, j])
            if lev:  # one legend per region, on its first level
                legend = ax.get_legend()
                if legend is not None:
                    legend.remove()
            ax.set_xlabel("BE (eV)" if lev == nlev - 1 else "")
    return axes
