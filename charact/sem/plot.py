"""Figures of SEM results: particle overlay, size histogram with lognormal, thickness profile.

Every ``plot_*`` takes ``ax=None`` (a new figure is made), returns the Axes, computes nothing
and never calls ``plt.show()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from .analyze import SizeResult, ThicknessResult

__all__ = ["plot_overlay", "plot_size_histogram", "plot_thickness", "plot_thickness_profile"]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _extent(image: xr.DataArray) -> tuple[list[float] | None, str]:
    px = float(image.attrs.get("pixel_size_nm", math.nan))
    ny, nx = image.shape
    if math.isfinite(px):
        s = px / 1000.0
        return [-0.5 * s, (nx - 0.5) * s, (ny - 0.5) * s, -0.5 * s], "µm"
    return None, "px"


def plot_overlay(
    image: xr.DataArray,
    result: SizeResult,
    *,
    ax: Any = None,
    labels: bool = True,
    color: str = "#ff3b30",
) -> Any:
    """The image with every measured particle's outline (and its number) drawn over it."""
    from skimage.segmentation import find_boundaries

    ax = _axes(ax, (9, 9 * image.shape[0] / max(image.shape[1], 1) + 0.6))
    extent, unit = _extent(image)
    ax.imshow(np.asarray(image.values), cmap="gray", extent=extent, interpolation="nearest")
    if result.labels is not None and result.labels.max() > 0:
        edges = find_boundaries(result.labels, mode="inner")
        rgba = np.zeros((*edges.shape, 4))
        import matplotlib.colors as mcolors

        rgba[edges] = mcolors.to_rgba(color)
        ax.imshow(rgba, extent=extent, interpolation="nearest")
    if labels and len(result.particles) <= 1500:
        for _, row in result.particles.iterrows():
            ax.text(
                row["centroid_x"],
                row["centroid_y"],
                str(int(row["label"])),
                color="yellow",
                fontsize=5,
                ha="center",
                va="center",
            )
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    name = image.attrs.get("source_file", "")
    ax.set_title(
        f"{name}: {result.n_particles} particles, {result.n_excluded_edge} at the edge excluded",
        fontsize=9,
    )
    return ax


def plot_size_histogram(result: SizeResult, *, ax: Any = None, bins: int | str = "auto") -> Any:
    """Histogram of equivalent circular diameters (density) with the fitted lognormal."""
    ax = _axes(ax, (6, 4))
    unit = "µm" if result.calibrated else "px"
    d = result.particles["ecd"].to_numpy(float)
    if d.size:
        weights = None
        if result.settings.get("edge_correction"):
            weights = result.particles["ml_weight"].to_numpy(float)
        edges = np.histogram_bin_edges(d, bins=bins) if isinstance(bins, str) else bins
        ax.hist(d, bins=edges, density=True, weights=weights, color="#8fb3d9", edgecolor="white")
        logn = result.distribution["lognormal"]
        if math.isfinite(logn.sigma) and logn.sigma > 0:
            x = np.linspace(max(d.min() * 0.7, 1e-12), d.max() * 1.2, 300)
            ax.plot(
                x,
                logn.pdf(x),
                color="#c0392b",
                label=f"lognormal: median {logn.median:.4g} {unit}, σ = {logn.sigma:.3f}",
            )
        dist = result.distribution
        for key, style in (("d10", ":"), ("d50", "--"), ("d90", ":")):
            ax.axvline(dist[key], color="0.3", ls=style, lw=1)
            ax.text(dist[key], ax.get_ylim()[1] * 0.95, key.upper(), fontsize=7, ha="center")
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel(f"equivalent circular diameter ({unit})")
    ax.set_ylabel(f"probability density (1/{unit})")
    ax.set_title(f"n = {result.n_particles}", fontsize=9)
    return ax


def plot_thickness(image: xr.DataArray, result: ThicknessResult, *, ax: Any = None) -> Any:
    """The cross-section with the two interfaces found in every column drawn over it."""
    ax = _axes(ax, (9, 9 * image.shape[0] / max(image.shape[1], 1) + 0.6))
    extent, unit = _extent(image)
    ax.imshow(np.asarray(image.values), cmap="gray", extent=extent, interpolation="nearest")
    px = result.pixel_size_nm / 1000.0 if math.isfinite(result.pixel_size_nm) else 1.0
    cols = np.arange(result.top.size) * px
    ax.plot(cols, result.top * px, color="#ff9500", lw=1, label="top interface")
    ax.plot(cols, result.bottom * px, color="#34c759", lw=1, label="bottom interface")
    st = result.stats()
    ax.set_title(
        f"thickness {st['mean']:.4g} ± {st['std']:.2g} {unit} "
        f"(min {st['min']:.4g}, max {st['max']:.4g}; {result.n_columns} columns)",
        fontsize=9,
    )
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_thickness_profile(result: ThicknessResult, *, ax: Any = None) -> Any:
    """Thickness along the image (one point per column) with its mean and ±1 std band."""
    ax = _axes(ax, (8, 3))
    unit = "µm" if result.unit == "um" else "px"
    px = result.pixel_size_nm / 1000.0 if math.isfinite(result.pixel_size_nm) else 1.0
    x = np.arange(result.thickness.size) * px
    st = result.stats()
    ax.plot(x, result.thickness, color="#1f77b4", lw=1)
    ax.axhline(st["mean"], color="#c0392b", lw=1, label=f"mean {st['mean']:.4g} {unit}")
    if math.isfinite(st["std"]):
        ax.axhspan(
            st["mean"] - st["std"],
            st["mean"] + st["std"],
            color="#c0392b",
            alpha=0.15,
            label=f"± std {st['std']:.2g} {unit}",
        )
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"thickness ({unit})")
    ax.legend(fontsize=8, loc="best")
    return ax
