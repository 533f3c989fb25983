"""Databars and scale bars: what is not sample in an SEM image, and what it says.

Vendors burn a *databar* (acquisition text and a scale bar) into the saved image: FEI/Thermo,
JEOL and TESCAN append it below the scanned rows, Zeiss overlays it inside the frame. It must
never be segmented as particles, and its scale bar is the calibration of last resort when a
file has no metadata (PNG/JPEG exports, screenshots).

:func:`find_databar` finds the band at the bottom made of pure black/white graphics;
:func:`find_scale_bar` finds the bar's length in pixels inside it; :func:`calibrate_from_scale_bar`
turns that and a user-given physical length into a pixel size, and cross-checks it against
the metadata (warning above 2%).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..core.errors import CalibrationError, CharactWarning, InputError
from ..core.units import parse_length

__all__ = [
    "CalibrationWarning",
    "ScaleBar",
    "calibrate_from_scale_bar",
    "find_databar",
    "find_scale_bar",
]

#: Relative disagreement between two calibrations above which a warning is raised.
TOLERANCE = 0.02


class CalibrationWarning(CharactWarning):
    """Two calibrations of one image (metadata, scale bar, user value) disagree."""


def _graphic_fraction(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(grey, dtype=float)
    lo, hi = float(a.min()), float(a.max())
    span = max(hi - lo, 1e-12)
    dark = a <= lo + 0.04 * span
    bright = a >= hi - 0.04 * span
    return (dark | bright).mean(axis=1), dark, bright


def find_databar(
    grey: np.ndarray, *, min_fraction: float = 0.7, max_height: float = 0.3
) -> int | None:
    """The first row of a databar at the bottom of ``grey``, or ``None`` if there is none.

    A databar row is drawn, not imaged: at least ``min_fraction`` of its pixels are pure black
    or pure white (within 4% of the image's range). The band is followed upwards from the last
    row, tolerating up to three rows of anti-aliased text; it must hold both black and white
    graphics, at least one uniform row (a frame line or empty background), and be at most
    ``max_height`` of the image (a dark image is not a databar).

    Parameters
    ----------
    grey
        2-D grey image, databar included.
    min_fraction
        Fraction of pure black/white pixels that makes a row graphic.
    max_height
        Largest databar height as a fraction of the image height.
    """
    a = np.asarray(grey)
    if a.ndim != 2 or a.shape[0] < 10:
        return None
    frac, dark, bright = _graphic_fraction(a)
    h = a.shape[0]
    row, gap, top = h - 1, 0, None
    while row >= 0:
        if frac[row] >= min_fraction:
            top, gap = row, 0
        else:
            gap += 1
            if gap > 3:
                break
        row -= 1
    if top is None or row < 0:
        return None
    band = slice(top, h)
    height = h - top
    if height < max(3, 0.01 * h) or height > max_height * h:
        return None
    if dark[band].mean() < 0.005 or bright[band].mean() < 0.005:
        return None
    if frac[band].max() < 0.97:
        return None
    return int(top)


@dataclass
class ScaleBar:
    """A scale bar found in a databar: its length in pixels and where it is."""

    length_px: int
    row: int
    start: int
    thickness: int

    def to_dict(self) -> dict[str, int]:
        return {
            "length_px": self.length_px,
            "row": self.row,
            "start": self.start,
            "thickness": self.thickness,
        }


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of runs of True."""
    padded = np.concatenate([[False], line, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(s), int(e - s)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def find_scale_bar(grey: np.ndarray, *, databar_top: int | None = None) -> ScaleBar:
    """Find the scale bar in the databar of ``grey`` (the full image, databar included).

    The bar is the longest horizontal run of the databar's foreground colour (the colour
    that is not its background) shorter than 60% of the width, so frame lines and text are
    not taken for it.

    Raises
    ------
    CalibrationError
        When no databar or no bar is found.
    """
    a = np.asarray(grey, dtype=float)
    top = find_databar(a) if databar_top is None else databar_top
    if top is None or top >= a.shape[0]:
        raise CalibrationError(
            "no databar found at the bottom of the image, so no scale bar to measure",
            hint="give the pixel size instead (e.g. --pixel-size 4.47nm)",
        )
    band = a[top:]
    lo, hi = float(a.min()), float(a.max())
    span = max(hi - lo, 1e-12)
    # the databar's background is its most common grey level; anything clearly different
    # (text, bar, ticks — drawn black, white or grey) is foreground
    values, counts = np.unique(np.round(band), return_counts=True)
    background = float(values[np.argmax(counts)])
    fg = np.abs(band - background) > 0.25 * span
    w = a.shape[1]

    def thickness(r: int, start: int, length: int) -> int:
        t = 1
        while r + t < fg.shape[0] and fg[r + t, start : start + length].mean() > 0.9:
            t += 1
        return t

    runs = []  # (row, start, length, thickness)
    for r in range(fg.shape[0]):
        prev = fg[r - 1] if r > 0 and fg[r - 1].any() else None
        for start, length in _runs(fg[r]):
            if length >= 0.6 * w or length < 8:
                continue
            if prev is not None and prev[start : start + length].mean() > 0.9:
                continue  # not the top row of this line
            runs.append((r, start, length, thickness(r, start, length)))
    if not runs:
        raise CalibrationError("no scale bar (a horizontal line) found in the databar")
    # A bar is drawn thicker than frame and table lines when the databar has room for it
    # (FEI, JEOL); FEI also interrupts it with its label, so collinear thick pieces join.
    thick = [run for run in runs if run[3] >= 2]
    pool = thick or runs
    merged = []
    for r, start, length, t in sorted(pool, key=lambda q: (q[0], q[1])):
        if merged:
            r0, s0, l0, t0 = merged[-1]
            gap = start - (s0 + l0)
            if r0 == r and t0 == t and t >= 2 and 0 <= gap <= max(l0, length):
                merged[-1] = (r0, s0, start + length - s0, t0)
                continue
        merged.append((r, start, length, t))
    r, start, length, t = max(merged, key=lambda q: (q[2], q[3]))
    if (r, start, length, t) in pool:
        # anti-aliased ends count by their coverage: the length is the run's summed contrast
        # relative to its core, one pixel either side included (sub-pixel, rounded)
        mid = r + t // 2
        dev = np.abs(band[mid] - background)
        core = float(np.median(dev[start : start + length]))
        if core > 0:
            lo_i, hi_i = max(0, start - 1), min(w, start + length + 1)
            length = round(float(np.clip(dev[lo_i:hi_i] / core, 0, 1).sum()))
    return ScaleBar(length_px=int(length), row=int(top + r), start=int(start), thickness=int(t))


def calibrate_from_scale_bar(
    image: xr.DataArray,
    full: np.ndarray,
    bar_length: str,
    *,
    databar_top: int | None = None,
) -> xr.DataArray:
    """Calibrate ``image`` from the scale bar in ``full`` and a physical bar length.

    Parameters
    ----------
    image
        The (cropped) image to calibrate.
    full
        The full frame, databar included, as read with ``crop_databar=False``.
    bar_length
        The length printed next to the bar (``"300 nm"``, ``"1um"``).
    databar_top
        First databar row if known (FEI/JEOL metadata); detected otherwise.

    Returns
    -------
    xarray.DataArray
        A copy with ``pixel_size_nm`` from the bar (``pixel_size_source == "scale_bar"``)
        unless the metadata already calibrates it, in which case the metadata wins and a
        :class:`CalibrationWarning` is raised when the two disagree by more than 2%
        (allowing the bar's ±1 px rounding).
    """
    metres = parse_length(bar_length, what="scale-bar length")
    bar = find_scale_bar(full, databar_top=databar_top)
    from_bar = metres * 1e9 / bar.length_px
    out = image.copy()
    out.attrs["scale_bar_px"] = bar.length_px
    out.attrs["scale_bar_pixel_size_nm"] = from_bar
    current = float(image.attrs.get("pixel_size_nm", math.nan))
    if math.isfinite(current):
        allowed = TOLERANCE + 1.0 / bar.length_px
        if abs(from_bar / current - 1) > allowed:
            warnings.warn(
                f"{image.attrs.get('source_file') or 'image'}: the scale bar gives "
                f"{from_bar:.5g} nm/px ({bar.length_px} px for {bar_length}) but the pixel "
                f"size is {current:.5g} nm ({image.attrs.get('pixel_size_source')}); "
                f"{100 * abs(from_bar / current - 1):.1f}% apart; keeping "
                f"{image.attrs.get('pixel_size_source')}",
                CalibrationWarning,
                stacklevel=2,
            )
        return out
    from .io import image_from_array

    if from_bar <= 0:
        raise InputError("scale-bar length must be positive")
    made = image_from_array(
        image.values,
        pixel_size_nm=from_bar,
        pixel_size_source="scale_bar",
        attrs={k: v for k, v in image.attrs.items() if k not in ("pixel_size_nm", "units")},
    )
    made.attrs["pixel_size_source"] = "scale_bar"
    made.attrs["pixel_size_nm"] = from_bar
    return made
