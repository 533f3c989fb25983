"""Powder pattern analysis: peaks, phase identification, indexing, lattices, sizes.

One entry point, :func:`identify_phases`, runs the whole chain on a pattern read by
:mod:`charact.xrd.io`:

1. background by SNIP (:func:`charact.core.baselines.estimate_baseline`);
2. peak search on the background-subtracted pattern (Poisson significance);
3. profile fitting of every peak cluster with pseudo-Voigt (or split pseudo-Voigt) Kα1/Kα2
   doublets through lmfit: the Kα2 line has the Kα1 shape, ``ka2_ratio`` of its area and
   sits where Bragg's law puts it for λ2 (sin θ2 = (λ2/λ1) sin θ1);
4. scoring of each reference phase: intensity-weighted fraction of its strong lines found,
   mean position error and intensity agreement → present/absent;
5. one least-squares refinement of the lattices of all present phases together with a
   systematic correction (zero shift and/or specimen displacement Δ2θ = −2s·cosθ/R),
   calibrated on a standard of known lattice when one is present (its cell held fixed);
6. indexing of every peak (phase + hkl) or "unindexed", Scherrer and Williamson–Hall sizes,
   the c-Si(111)/Cu(111) integrated-intensity ratio and the amorphous hump.

The result is an :class:`XRDResult` with ``to_dict()`` (the JSON document) and
``to_dataset()`` (netCDF).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
import xarray as xr

from ..core.data import PROVENANCE_ATTRS, FitResult, Parameter, provenance_of
from ..core.errors import InputError
from ..core.lineshapes import pseudo_voigt
from ..core.provenance import _jsonable, charact_version, now_iso
from .phases import (
    ReferencePhase,
    cell_from_free,
    crystal_system_params,
    d_spacing,
    load_phase_library,
    stick_pattern,
)

__all__ = [
    "CORRECTION_MODELS",
    "InstrumentProfile",
    "Peak",
    "PhaseResult",
    "Radiation",
    "XRDResult",
    "find_peaks",
    "fit_instrument_profile",
    "fit_peaks",
    "identify_phases",
    "radiation_of",
    "residual_peaks",
    "scherrer_size",
    "strip_ka2",
    "williamson_hall",
]

#: Scherrer constant for FWHM and roughly spherical crystallites (Langford & Wilson,
#: J. Appl. Cryst. 11, 102 (1978)).
SCHERRER_K = 0.9

#: Correction models: name -> description (Δ2θ = 2θ_obs − 2θ_true).
CORRECTION_MODELS = {
    "none": "no correction",
    "zero_shift": "Δ2θ = z (constant zero shift)",
    "displacement": "Δ2θ = −2·s·cosθ/R (specimen displacement s, goniometer radius R)",
    "zero+displacement": "Δ2θ = z − 2·s·cosθ/R",
}


# --------------------------------------------------------------------------- radiation


@dataclass
class Radiation:
    """The wavelengths used: Kα1 (Å), Kα2 (Å or None), Kα2/Kα1 ratio (0: Kα1 only)."""

    ka1: float
    ka2: float | None
    ka2_ratio: float
    source: str
    #: How the Kα2 line was handled: ``fit`` (doublet profiles), ``strip`` (Rachinger
    #: stripping before the fits) or ``none`` (Kα1-only radiation).
    ka2_handling: str = "fit"

    @property
    def doublet(self) -> bool:
        return bool(self.ka2 and self.ka2_ratio > 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ka1": self.ka1,
            "ka2": self.ka2 if self.doublet else None,
            "ka2_ratio": self.ka2_ratio,
            "source": self.source,
            "ka2_handling": self.ka2_handling if self.doublet else "none",
        }


def radiation_of(
    da: xr.DataArray,
    *,
    wavelength: float | None = None,
    wavelength_ka2: float | None = None,
    ka2_ratio: float | None = None,
) -> Radiation:
    """The radiation of a pattern: from the options if given, else from its attrs.

    Raises
    ------
    InputError
        When neither says what the wavelength is (plain text read without ``wavelength``).
    """
    label = da.attrs.get("source_file") or "pattern"
    if wavelength is not None:
        if not (0.01 < float(wavelength) < 10):
            raise InputError(f"wavelength must be in Å (0.01-10), got {wavelength!r}")
        ratio = 0.0 if ka2_ratio is None else float(ka2_ratio)
        ka2 = None
        if ratio > 0:
            ka2 = float(wavelength_ka2) if wavelength_ka2 else None
            if ka2 is None:
                raise InputError("a Kα2 ratio > 0 needs wavelength_ka2 (Å) as well")
        return Radiation(float(wavelength), ka2, ratio, "option: given by the user")
    ka1 = float(da.attrs.get("wavelength", math.nan))
    if not math.isfinite(ka1):
        raise InputError(
            f"{label}: unknown wavelength — {da.attrs.get('radiation_source', 'not in the file')}",
            hint="pass the wavelength in Å (--wavelength 1.5406, or CuKa for the Cu doublet)",
        )
    ratio = float(da.attrs.get("ka2_ratio", 0.0))
    if ka2_ratio is not None:
        ratio = float(ka2_ratio)
    ka2 = float(da.attrs.get("wavelength_ka2", math.nan))
    if wavelength_ka2 is not None:
        ka2 = float(wavelength_ka2)
    if not math.isfinite(ratio):
        raise InputError(
            f"{label}: the file gives Kα1 but not whether Kα2 is present; pass ka2_ratio "
            "(0 for a Kα1 monochromator, 0.5 for the Cu doublet)"
        )
    if ratio > 0 and not math.isfinite(ka2):
        raise InputError(f"{label}: Kα2 ratio {ratio} but no Kα2 wavelength; pass it")
    return Radiation(
        ka1, ka2 if ratio > 0 else None, ratio, str(da.attrs.get("radiation_source", "file"))
    )


def _pattern_arrays(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Validated ascending (2θ, counts); clear errors for the bad inputs users meet."""
    label = da.attrs.get("source_file") or "pattern"
    if not isinstance(da, xr.DataArray) or "two_theta" not in da.dims or da.ndim != 1:
        raise InputError(f"{label}: expected a 1-D pattern on a 'two_theta' axis")
    x = np.asarray(da["two_theta"].values, float)
    y = np.asarray(da.values, float)
    if x.size < 20:
        raise InputError(f"{label}: only {x.size} points; a diffraction pattern needs more")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{label}: 2θ has a NaN or infinite value")
    if not np.all(np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise InputError(f"{label}: intensity at 2θ = {x[i]:g}° is NaN or infinite")
    if np.any(y < 0):
        i = int(np.flatnonzero(y < 0)[0])
        raise InputError(
            f"{label}: negative counts ({y[i]:g} at 2θ = {x[i]:g}°); raw counts cannot be "
            "negative — was a background already subtracted?"
        )
    if x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    step = np.diff(x)
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0])
        raise InputError(
            f"{label}: 2θ is not strictly increasing (duplicated or out of order at "
            f"{x[i]:g}°, {x[i + 1]:g}°)"
        )
    if x[0] <= 0 or x[-1] >= 180:
        raise InputError(f"{label}: 2θ must lie in (0, 180)°, found {x[0]:g}–{x[-1]:g}")
    return x, y


def _ka2_position(two_theta1: np.ndarray | float, rad: Radiation) -> np.ndarray:
    s = (rad.ka2 or rad.ka1) / rad.ka1 * np.sin(np.radians(np.asarray(two_theta1) / 2))
    return 2 * np.degrees(np.arcsin(np.clip(s, -1, 1)))


KA2_METHODS = ("fit", "strip")


@overload
def strip_ka2(
    x: np.ndarray, y: np.ndarray, radiation: Radiation, *, return_variance: Literal[False] = ...
) -> np.ndarray: ...


@overload
def strip_ka2(
    x: np.ndarray, y: np.ndarray, radiation: Radiation, *, return_variance: Literal[True]
) -> tuple[np.ndarray, np.ndarray]: ...


def strip_ka2(
    x: np.ndarray, y: np.ndarray, radiation: Radiation, *, return_variance: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Remove the Kα2 contribution from a pattern by Rachinger's method.

    Rachinger (J. Sci. Instrum. 25, 254 (1948)): every Kα1 intensity at 2θ₁ comes with a
    Kα2 copy of ``ka2_ratio`` of it at 2θ₂, where sin θ₂ = (λ₂/λ₁) sin θ₁. Walking up in 2θ,
    the Kα1 intensity at each point is the measured one minus ``ka2_ratio`` times the Kα1
    intensity (already stripped) at the angle whose Kα2 line falls there,

        I₁(2θ) = I(2θ) − R · I₁(2θ₁),   sin θ₁ = (λ₁/λ₂) sin θ,

    with cubic (four-point Lagrange) interpolation of the stripped values around 2θ₁, or
    linear interpolation where fewer stripped neighbours exist (when 2θ₁ falls inside the
    last step the linear equation is solved for the current point). The Kα2 line is taken
    to have the Kα1 shape mapped through that angle relation; noise is not smoothed, so the
    stripped counts are noisier than the measured ones and can go slightly negative (kept,
    not clipped). Fitting doublets (the default) avoids both.

    The counting noise goes through the same recursion: with Poisson variance ``y`` of the
    measured counts, the stripped value has variance ``y + R²·Σ wₖ² var(I₁ₖ)`` (``wₖ`` the
    interpolation weights; the small correlation between neighbouring stripped values is
    neglected), so a stripped point carries more noise than its own counts say, most where
    the parent is a strong Kα1 line. ``return_variance=True`` returns that variance too, for
    peak search and fit weights on the stripped pattern.

    Parameters
    ----------
    x, y
        Ascending 2θ (deg) and intensities.
    radiation
        The doublet (``ka2``, ``ka2_ratio``); a Kα1-only radiation returns ``y`` unchanged.
    return_variance
        Also return the propagated variance of the stripped intensities.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        The Kα1-only intensities on ``x`` (and, with ``return_variance``, their variance:
        Poisson ``max(y, 0)`` of the measured counts propagated through the recursion).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("strip_ka2 needs 2θ and intensities of the same 1-D shape")
    var_y = np.maximum(y, 0.0)
    if not radiation.doublet:
        return (y.copy(), var_y) if return_variance else y.copy()
    if np.any(np.diff(x) <= 0):
        raise InputError("strip_ka2 needs a strictly increasing 2θ axis")
    ratio = float(radiation.ka2_ratio)
    lam = radiation.ka1 / float(radiation.ka2)  # < 1: the Kα1 parent lies below 2θ
    src = 2 * np.degrees(np.arcsin(np.clip(lam * np.sin(np.radians(x / 2)), -1, 1)))
    j = np.searchsorted(x, src, side="right") - 1  # x[j] <= src < x[j + 1]
    out = np.empty_like(y)
    var = var_y.copy()
    xs = x.tolist()
    ys = y.tolist()
    r2 = ratio * ratio
    for i in range(x.size):
        k = int(j[i])
        if k < 0:  # the parent angle is below the measured range: nothing to remove
            out[i] = ys[i]
            continue
        if k >= i:  # separation smaller than one step: parent between x[i-1] and x[i]
            k = i - 1
            if k < 0:
                out[i] = ys[i]
                continue
        t = src[i]
        if k >= 1 and k + 2 < i:  # four stripped neighbours: cubic (Lagrange) interpolation
            x0, x1, x2, x3 = xs[k - 1], xs[k], xs[k + 1], xs[k + 2]
            w0 = (t - x1) * (t - x2) * (t - x3) / ((x0 - x1) * (x0 - x2) * (x0 - x3))
            w1 = (t - x0) * (t - x2) * (t - x3) / ((x1 - x0) * (x1 - x2) * (x1 - x3))
            w2 = (t - x0) * (t - x1) * (t - x3) / ((x2 - x0) * (x2 - x1) * (x2 - x3))
            w3 = (t - x0) * (t - x1) * (t - x2) / ((x3 - x0) * (x3 - x1) * (x3 - x2))
            parent = w0 * out[k - 1] + w1 * out[k] + w2 * out[k + 1] + w3 * out[k + 2]
            out[i] = ys[i] - ratio * parent
            var[i] += r2 * (
                w0 * w0 * var[k - 1]
                + w1 * w1 * var[k]
                + w2 * w2 * var[k + 1]
                + w3 * w3 * var[k + 2]
            )
            continue
        f = (t - xs[k]) / (xs[k + 1] - xs[k])
        if k + 1 == i:
            out[i] = (ys[i] - ratio * (1 - f) * out[k]) / (1 + ratio * f)
            var[i] = (var[i] + r2 * (1 - f) ** 2 * var[k]) / (1 + ratio * f) ** 2
        else:
            out[i] = ys[i] - ratio * ((1 - f) * out[k] + f * out[k + 1])
            var[i] += r2 * ((1 - f) ** 2 * var[k] + f * f * var[k + 1])
    return (out, var) if return_variance else out


# --------------------------------------------------------------------------- peaks


@dataclass
class Peak:
    """A fitted reflection (Kα1 component) and, once indexed, its phase and hkl."""

    two_theta: float
    two_theta_stderr: float
    area: float
    area_stderr: float
    fwhm: float
    fwhm_stderr: float
    eta: float
    height: float
    asymmetry: float = 1.0
    two_theta_corrected: float = math.nan
    phase: str | None = None
    hkl: tuple[int, int, int] | None = None
    two_theta_calc: float = math.nan
    d_obs: float = math.nan
    size_nm: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "hkl": list(self.hkl) if self.hkl is not None else None,
            "phase": self.phase,
            "two_theta_obs": self.two_theta,
            "two_theta_obs_stderr": self.two_theta_stderr,
            "two_theta_corrected": self.two_theta_corrected,
            "two_theta_calc": self.two_theta_calc,
            "d_obs": self.d_obs,
            "intensity": self.area,
            "intensity_stderr": self.area_stderr,
            "height": self.height,
            "fwhm": self.fwhm,
            "fwhm_stderr": self.fwhm_stderr,
            "eta": self.eta,
            "asymmetry": self.asymmetry,
            "scherrer_size_nm": self.size_nm,
        }


def _background(
    x: np.ndarray, y: np.ndarray, half_window_deg: float
) -> tuple[np.ndarray, dict[str, Any]]:
    from ..core.baselines import estimate_baseline
    from ..core.data import make_spectrum

    step = float(np.median(np.diff(x)))
    hw = int(max(3, min(round(half_window_deg / step), x.size // 3)))
    da = make_spectrum(x, y, axis="two_theta", technique="xrd")
    base, info = estimate_baseline(
        da, "snip", max_half_window=hw, decreasing=True, smooth_half_window=2
    )
    return np.minimum(np.asarray(base.values, float), y.max()), info


def find_peaks(
    x: np.ndarray,
    net: np.ndarray,
    background: np.ndarray,
    *,
    radiation: Radiation,
    significance: float = 6.0,
    min_separation_deg: float = 0.04,
    variance: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of significant peaks in a background-subtracted pattern.

    A peak must rise ``significance`` standard deviations of the Poisson noise of the
    background + peak above zero in a lightly smoothed copy. With a Kα doublet, maxima where
    the Kα2 line of a stronger peak falls are dropped (they are fitted with their parent).
    ``variance`` replaces the Poisson variance (background + peak) of each point where the
    counts are not Poisson (a Kα2-stripped pattern: see :func:`strip_ka2`).
    """
    from scipy.signal import find_peaks as _sp_find_peaks
    from scipy.signal import savgol_filter

    step = float(np.median(np.diff(x)))
    win = max(5, round(0.03 / step) | 1)
    smooth = savgol_filter(net, win, 2) if win < net.size else net
    var = background + np.maximum(net, 0) if variance is None else np.asarray(variance, float)
    noise = np.sqrt(np.maximum(var, 1.0)) / math.sqrt(max(1, win // 2))
    dist = max(1, round(min_separation_deg / step))
    idx, _ = _sp_find_peaks(
        smooth, height=significance * noise, prominence=significance * noise, distance=dist
    )
    if radiation.doublet and idx.size:
        keep = np.ones(idx.size, bool)
        order = np.argsort(-smooth[idx])
        for j in order:
            if not keep[j]:
                continue
            pos2 = float(_ka2_position(x[idx[j]], radiation))
            sep = pos2 - x[idx[j]]
            for k in range(idx.size):
                weaker = k != j and keep[k] and smooth[idx[k]] < 0.85 * smooth[idx[j]]
                if weaker and abs(x[idx[k]] - pos2) < max(0.35 * sep, 2 * step):
                    keep[k] = False
        idx = idx[keep]
    return idx


def residual_peaks(
    x: np.ndarray,
    residual: np.ndarray,
    variance: np.ndarray,
    peaks: Sequence[Peak],
    *,
    significance: float = 6.0,
    broader_than: float = 1.8,
    min_gap_fwhm: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (deg) and FWHM guesses of broad peaks left in a fit residual.

    Meant for a nanocrystalline phase whose broad lines sit in the shoulders of a coarse
    phase's sharp ones and so have no prominence of their own in the first search. The
    residual is smoothed over the median FWHM of ``peaks`` (Savitzky–Golay, 2nd order) and
    searched for maxima rising ``significance`` standard deviations of the Poisson noise
    (``variance`` = background + fitted profile) that are at least ``broader_than`` times
    as wide as the median FWHM of the five nearest fitted peaks. A maximum closer than
    ``min_gap_fwhm`` FWHM to a fitted peak is that peak's misfit (shape, asymmetry) and is
    ignored; narrow left-overs (weak lines the first search missed) are not added either,
    so the first search decides those.
    """
    from scipy.signal import find_peaks as _sp_find_peaks
    from scipy.signal import peak_widths, savgol_filter

    none = (np.array([]), np.array([]))
    if not peaks:
        return none
    step = float(np.median(np.diff(x)))
    fwhms = np.array([p.fwhm for p in peaks])
    typical = float(np.median(fwhms))
    win = max(5, round(typical / step) | 1)
    if win >= residual.size:
        return none
    smooth = savgol_filter(residual, win, 2)
    noise = np.sqrt(np.maximum(variance, 1.0)) / math.sqrt(max(1, win // 2))
    idx, _ = _sp_find_peaks(
        smooth, height=significance * noise, prominence=significance * noise, distance=win
    )
    if not idx.size:
        return none
    centers = np.array([p.two_theta for p in peaks])
    gap = np.abs(x[idx][:, None] - centers[None, :]) / np.maximum(fwhms, step)[None, :]
    idx = idx[np.all(gap >= min_gap_fwhm, axis=1)]
    if not idx.size:
        return none
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wid = peak_widths(smooth, idx, rel_height=0.5)[0] * step
    # Broad compared with the lines around it (widths grow with angle): the median FWHM of
    # the five nearest fitted peaks.
    near = np.argsort(np.abs(x[idx][:, None] - centers[None, :]), axis=1)[:, :5]
    local = np.median(fwhms[near], axis=1)
    broad = wid >= broader_than * local
    return x[idx][broad], np.clip(wid[broad], 3 * step, 1.5)


def _full_profile(x: np.ndarray, peaks: Sequence[Peak], radiation: Radiation) -> np.ndarray:
    """Sum of the fitted profiles of ``peaks`` over the whole of ``x`` (tails included)."""
    if not peaks:
        return np.zeros_like(x)
    lam_ratio = (radiation.ka2 / radiation.ka1) if radiation.doublet else 1.0
    ratio = radiation.ka2_ratio if radiation.doublet else 0.0
    asym = np.array([p.asymmetry for p in peaks])
    return _profiles(
        x,
        np.array([p.area for p in peaks]),
        np.array([p.two_theta for p in peaks]),
        np.array([p.fwhm for p in peaks]),
        np.array([p.eta for p in peaks]),
        None if np.all(asym == 1.0) else asym,
        ratio,
        lam_ratio,
    )


def _significant(
    pk: Peak, x: np.ndarray, bg: np.ndarray, step: float, significance: float, max_fwhm: float
) -> bool:
    """Whether a fitted peak is a line: height above ``significance`` σ of the counting noise
    averaged over its FWHM, area ≥ 3 standard errors (when known), FWHM ≤ ``max_fwhm``."""
    if not (0 < pk.fwhm <= max_fwhm) or pk.area <= 0:
        return False
    b = float(np.interp(pk.two_theta, x, bg))
    n = max(pk.fwhm / step, 1.0)
    if pk.height < significance * math.sqrt(max(b, 1.0) / n):
        return False
    return not (math.isfinite(pk.area_stderr) and pk.area < 3 * pk.area_stderr)


_G = 2.0 * math.sqrt(math.log(2.0) / math.pi)
_L4 = 4.0 * math.log(2.0)


def _pv(x: np.ndarray, area: Any, center: Any, fwhm: Any, eta: Any) -> np.ndarray:
    # The unit-area pseudo-Voigt of charact.core.lineshapes.pseudo_voigt, without its input
    # validation: this runs thousands of times inside a fit whose bounds keep inputs valid.
    u2 = ((x - center) / fwhm) ** 2
    return area * (
        eta * (2.0 / math.pi) / (fwhm * (1 + 4 * u2)) + (1 - eta) * _G / fwhm * np.exp(-_L4 * u2)
    )


def _profiles(
    x: np.ndarray,
    area: np.ndarray,
    center: np.ndarray,
    fwhm: np.ndarray,
    eta: np.ndarray,
    asym: np.ndarray | None,
    ratio: float,
    lam_ratio: float,
) -> np.ndarray:
    """Sum of Kα1(+Kα2) profiles of many peaks at once (vectorised over peaks).

    Split profiles follow :func:`charact.core.lineshapes.split_pseudo_voigt`: each side is
    half of a pseudo-Voigt of its own width, scaled to a common height and total ``area``.
    """
    xx = x[:, None]
    centers = [(center, area)]
    if ratio > 0:
        c2 = 2 * np.degrees(np.arcsin(np.minimum(1.0, lam_ratio * np.sin(np.radians(center / 2)))))
        centers.append((c2, area * ratio))
    y = np.zeros((x.size, np.size(center)))
    for c, a in centers:
        if asym is None:
            y += _pv(xx, a, c, fwhm, eta)
        else:
            fl = 2 * fwhm / (1 + asym)
            fr = asym * fl
            fs = np.where(xx < c, fl, fr)
            y += _pv(xx, a * 2 * fs / (fl + fr), c, fs, eta)
    return y.sum(axis=1)


def _clusters(lo: np.ndarray, hi: np.ndarray, max_size: int) -> list[list[int]]:
    clusters: list[list[int]] = [[0]]
    for i in range(1, lo.size):
        reach = max(hi[j] for j in clusters[-1])
        if lo[i] <= reach and len(clusters[-1]) < max_size:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    return clusters


def fit_peaks(
    x: np.ndarray,
    y: np.ndarray,
    background: np.ndarray,
    positions: Sequence[float],
    *,
    radiation: Radiation,
    profile: str = "pseudo_voigt",
    fwhm_guess: float | Sequence[float] = 0.1,
    max_cluster: int = 6,
    variance: np.ndarray | None = None,
) -> tuple[list[Peak], np.ndarray, list[dict[str, Any]]]:
    """Fit every peak at ``positions`` (deg) with Kα1(+Kα2) profiles, cluster by cluster.

    Peaks closer than a few widths (plus the Kα2 separation) are fitted together, at most
    ``max_cluster`` at a time, by :func:`lmfit.minimize` on ``y − background`` with Poisson
    weights 1/√y and a local linear correction of the background. The Kα2 component has the
    Kα1 shape, ``ka2_ratio`` of its area and its position from sin θ2 = (λ2/λ1) sin θ1.
    ``variance`` (per point of ``x``) replaces the Poisson variance ``y`` in the weights where
    the counts are not Poisson (a Kα2-stripped pattern: see :func:`strip_ka2`).

    Returns
    -------
    (list of Peak, numpy.ndarray, list of dict)
        Peaks sorted by 2θ, the total fitted profile (without background) on ``x``, and one
        statistics dict per cluster.
    """
    import lmfit

    if profile not in ("pseudo_voigt", "split_pseudo_voigt"):
        raise InputError(f"profile must be pseudo_voigt or split_pseudo_voigt, got {profile!r}")
    split = profile == "split_pseudo_voigt"
    pos = np.asarray(sorted(positions), float)
    model_total = np.zeros_like(x)
    stats: list[dict[str, Any]] = []
    peaks: list[Peak] = []
    if pos.size == 0:
        return peaks, model_total, stats
    widths = np.broadcast_to(np.asarray(fwhm_guess, float), pos.shape).copy()
    step = float(np.median(np.diff(x)))
    widths = np.clip(widths, 3 * step, 2.0)
    net = y - background
    lam_ratio = (radiation.ka2 / radiation.ka1) if radiation.doublet else 1.0
    ratio = radiation.ka2_ratio if radiation.doublet else 0.0
    sep = (_ka2_position(pos, radiation) - pos) if radiation.doublet else np.zeros_like(pos)
    # Windows wide enough for the tails even when the width guess from noisy data is small.
    half = np.maximum(3 * widths, 0.4)
    lo = pos - half
    hi = pos + half + sep
    for cl in _clusters(lo, hi, max_cluster):
        a, b = min(lo[i] for i in cl), max(hi[i] for i in cl)
        m = (x >= a) & (x <= b)
        n = len(cl)
        if m.sum() < 4 * n + 3:
            continue
        xs, ys = x[m], net[m]
        w = 1.0 / np.sqrt(np.maximum(y[m] if variance is None else variance[m], 1.0))
        xm = float(xs.mean())
        params = lmfit.Parameters()
        params.add("bg_c0", value=0.0)
        params.add("bg_c1", value=0.0)
        for k, i in enumerate(cl):
            c = pos[i]
            j = int(np.argmin(np.abs(xs - c)))
            h = max(float(ys[max(0, j - 1) : j + 2].max()), 1.0)
            params.add(f"p{k}_area", value=h * widths[i] * 1.2 / (1 + ratio), min=0.0)
            params.add(f"p{k}_center", value=c, min=c - 2 * widths[i], max=c + 2 * widths[i])
            params.add(f"p{k}_fwhm", value=widths[i], min=max(1.5 * step, 0.005), max=3.0)
            params.add(f"p{k}_eta", value=0.5, min=0.0, max=1.0)
            if split:
                params.add(f"p{k}_asym", value=1.0, min=0.3, max=3.0)
        keys = ["area", "center", "fwhm", "eta"] + (["asym"] if split else [])

        def unpack(pv: Any, n: int = n, keys: list[str] = keys) -> dict[str, np.ndarray]:
            return {key: np.array([pv[f"p{k}_{key}"].value for k in range(n)]) for key in keys}

        def model(pv: Any, xs: np.ndarray = xs, xm: float = xm, unpack: Any = unpack) -> Any:
            u = unpack(pv)
            bgl = pv["bg_c0"].value + pv["bg_c1"].value * (xs - xm)
            prof = _profiles(
                xs, u["area"], u["center"], u["fwhm"], u["eta"], u.get("asym"), ratio, lam_ratio
            )
            return prof, bgl

        def residual(pv: Any, ys: np.ndarray = ys, w: np.ndarray = w, model: Any = model) -> Any:
            prof, bgl = model(pv)
            return (ys - prof - bgl) * w

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = lmfit.minimize(
                    residual, params, method="leastsq", max_nfev=600 * n, ftol=1e-7, xtol=1e-7
                )
            except (ValueError, InputError) as exc:
                stats.append({"range": [float(a), float(b)], "success": False, "message": str(exc)})
                continue
        prof, _ = model(res.params)
        model_total[m] += prof
        stats.append(
            {
                "range": [float(a), float(b)],
                "npeaks": n,
                "redchi": float(res.redchi),
                "chisqr": float(res.chisqr),
                "ndata": int(res.ndata),
                "nvarys": int(res.nvarys),
                "nfev": int(res.nfev),
                "success": bool(res.success),
                "message": str(res.message or ""),
            }
        )
        p = res.params

        def se(name: str, p: Any = p) -> float:
            v = p[name].stderr
            return float(v) if v is not None and np.isfinite(v) else math.nan

        for k in range(n):
            area = float(p[f"p{k}_area"].value)
            fwhm = float(p[f"p{k}_fwhm"].value)
            eta = float(p[f"p{k}_eta"].value)
            if area <= 0:
                continue
            height = float(pseudo_voigt(0.0, area, 0.0, fwhm, eta))
            peaks.append(
                Peak(
                    two_theta=float(p[f"p{k}_center"].value),
                    two_theta_stderr=se(f"p{k}_center"),
                    area=area,
                    area_stderr=se(f"p{k}_area"),
                    fwhm=fwhm,
                    fwhm_stderr=se(f"p{k}_fwhm"),
                    eta=eta,
                    height=height,
                    asymmetry=float(p[f"p{k}_asym"].value) if split else 1.0,
                )
            )
    peaks.sort(key=lambda q: q.two_theta)
    return peaks, model_total, stats


# --------------------------------------------------------------------------- instrument


@dataclass
class InstrumentProfile:
    """Instrumental FWHM(2θ) by Caglioti: FWHM² = U·tan²θ + V·tanθ + W (deg²).

    G. Caglioti, A. Paoletti, F. P. Ricci, Nucl. Instrum. 3, 223 (1958).
    """

    U: float
    V: float
    W: float
    standard: str = ""
    source_file: str = ""
    wavelength: float = math.nan
    npeaks: int = 0

    def fwhm(self, two_theta: np.ndarray | float) -> np.ndarray:
        t = np.tan(np.radians(np.asarray(two_theta, float) / 2))
        return np.sqrt(np.maximum(self.U * t * t + self.V * t + self.W, 1e-8))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "caglioti",
            "U": self.U,
            "V": self.V,
            "W": self.W,
            "standard": self.standard,
            "source_file": self.source_file,
            "wavelength": self.wavelength,
            "npeaks": self.npeaks,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InstrumentProfile:
        try:
            return cls(
                U=float(d["U"]),
                V=float(d["V"]),
                W=float(d["W"]),
                standard=str(d.get("standard", "")),
                source_file=str(d.get("source_file", "")),
                wavelength=float(d.get("wavelength") or math.nan),
                npeaks=int(d.get("npeaks", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"an instrument profile needs numbers U, V, W (Caglioti); got {exc}"
            ) from None


def fit_instrument_profile(result: XRDResult, *, standard: str) -> InstrumentProfile:
    """Fit Caglioti U, V, W to the FWHM of the indexed peaks of ``standard`` in ``result``."""
    ph = next((p for p in result.phases if p.name.lower() == standard.lower()), None)
    if ph is None or not ph.present:
        raise InputError(
            f"{result.source_file}: the standard {standard!r} was not found in the pattern"
        )
    pk = [p for p in ph.peaks if np.isfinite(p.fwhm)]
    if len(pk) < 3:
        raise InputError(f"{standard}: {len(pk)} indexed peaks; the Caglioti fit needs 3")
    t = np.tan(np.radians(np.array([p.two_theta for p in pk]) / 2))
    f2 = np.array([p.fwhm for p in pk]) ** 2
    A = np.column_stack([t * t, t, np.ones_like(t)])
    (U, V, W), *_ = np.linalg.lstsq(A, f2, rcond=None)
    return InstrumentProfile(
        float(U),
        float(V),
        float(W),
        standard=ph.name,
        source_file=result.source_file,
        wavelength=result.radiation.ka1,
        npeaks=len(pk),
    )


def scherrer_size(
    fwhm_deg: np.ndarray | float,
    two_theta_deg: np.ndarray | float,
    wavelength: float,
    *,
    instrument_fwhm_deg: np.ndarray | float | None = None,
    k: float = SCHERRER_K,
) -> np.ndarray:
    """Scherrer crystallite size in nm: L = Kλ / (β cosθ).

    β is the sample FWHM in radians, the instrumental FWHM removed in quadrature (the
    Gaussian approximation β² = β_obs² − β_inst²); NaN where nothing is left.
    P. Scherrer, Göttinger Nachrichten 2, 98 (1918); Langford & Wilson (1978).
    """
    b = np.asarray(fwhm_deg, float)
    if instrument_fwhm_deg is not None:
        b2 = b**2 - np.asarray(instrument_fwhm_deg, float) ** 2
        b = np.where(b2 > 0, np.sqrt(np.maximum(b2, 0)), np.nan)
    beta = np.radians(b)
    theta = np.radians(np.asarray(two_theta_deg, float) / 2)
    return k * wavelength / (beta * np.cos(theta)) / 10.0


def williamson_hall(
    fwhm_deg: np.ndarray,
    two_theta_deg: np.ndarray,
    wavelength: float,
    *,
    instrument_fwhm_deg: np.ndarray | None = None,
    k: float = SCHERRER_K,
) -> dict[str, float]:
    """Williamson–Hall: β cosθ = Kλ/L + 4ε sinθ (β in rad); size L (nm) and strain ε.

    G. K. Williamson, W. H. Hall, Acta Metall. 1, 22 (1953). Needs ≥ 3 reflections.
    """
    b = np.asarray(fwhm_deg, float)
    if instrument_fwhm_deg is not None:
        b2 = b**2 - np.asarray(instrument_fwhm_deg, float) ** 2
        b = np.where(b2 > 0, np.sqrt(np.maximum(b2, 0)), np.nan)
    theta = np.radians(np.asarray(two_theta_deg, float) / 2)
    ok = np.isfinite(b)
    nan = {
        "size_nm": math.nan,
        "size_nm_stderr": math.nan,
        "microstrain": math.nan,
        "microstrain_stderr": math.nan,
        "npeaks": int(ok.sum()),
    }
    if ok.sum() < 3:
        return nan
    yv = np.radians(b[ok]) * np.cos(theta[ok])
    xv = 4 * np.sin(theta[ok])
    A = np.column_stack([np.ones_like(xv), xv])
    coef, *_ = np.linalg.lstsq(A, yv, rcond=None)
    resid = yv - A @ coef
    dof = max(1, yv.size - 2)
    cov = np.linalg.inv(A.T @ A) * float(resid @ resid) / dof
    c0, c1 = coef
    s0, s1 = np.sqrt(np.diag(cov))
    if c0 <= 0:
        return {**nan, "microstrain": float(c1), "microstrain_stderr": float(s1)}
    size = k * wavelength / c0 / 10.0
    return {
        "size_nm": float(size),
        "size_nm_stderr": float(size * s0 / c0),
        "microstrain": float(c1),
        "microstrain_stderr": float(s1),
        "npeaks": int(ok.sum()),
    }


# --------------------------------------------------------------------------- results


@dataclass
class PhaseResult:
    """One reference phase: verdict, score, refined lattice, indexed peaks, sizes."""

    name: str
    present: bool
    score: float
    matched_fraction: float
    position_error_deg: float
    intensity_agreement: float
    crystal_system: str
    reference_lattice: dict[str, float]
    source: str = ""
    lattice: dict[str, float] = field(default_factory=dict)
    peaks: list[Peak] = field(default_factory=list)
    lines_expected: int = 0
    lines_matched: int = 0
    role: str = "sample"
    scherrer_nm: float = math.nan
    scherrer_nm_stderr: float = math.nan
    williamson_hall: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wh = self.williamson_hall or {}
        return {
            "name": self.name,
            "present": self.present,
            "score": self.score,
            "matched_fraction": self.matched_fraction,
            "position_error_deg": self.position_error_deg,
            "intensity_agreement": self.intensity_agreement,
            "lines_expected": self.lines_expected,
            "lines_matched": self.lines_matched,
            "role": self.role,
            "crystal_system": self.crystal_system,
            "source": self.source,
            "reference_lattice": dict(self.reference_lattice),
            "lattice": dict(self.lattice) if self.lattice else None,
            "peaks": [p.to_dict() for p in self.peaks],
            "crystallite_size_nm": {
                "scherrer": self.scherrer_nm,
                "scherrer_stderr": self.scherrer_nm_stderr,
                "williamson_hall": wh.get("size_nm", math.nan),
                "williamson_hall_stderr": wh.get("size_nm_stderr", math.nan),
            },
            "microstrain": wh.get("microstrain", math.nan),
            "microstrain_stderr": wh.get("microstrain_stderr", math.nan),
        }


@dataclass
class XRDResult:
    """The result of :func:`identify_phases` (see ``docs/xrd.md`` for the document)."""

    source_file: str
    sample_id: str
    radiation: Radiation
    phases: list[PhaseResult]
    peaks: list[Peak]
    corrections: dict[str, Any]
    si_to_cu_ratio: float | None
    si_to_cu_ratio_stderr: float | None
    amorphous_hump: dict[str, Any]
    background: dict[str, Any]
    settings: dict[str, Any]
    statistics: dict[str, Any]
    curves: xr.Dataset
    flags: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    instrument_profile: InstrumentProfile | None = None
    created: str = field(default_factory=now_iso)
    version: str = field(default_factory=charact_version)

    @property
    def present(self) -> list[PhaseResult]:
        return [p for p in self.phases if p.present]

    def phase(self, name: str) -> PhaseResult:
        for p in self.phases:
            if p.name.lower() == name.lower():
                return p
        raise InputError(f"no phase {name!r} in this result")

    @property
    def unindexed_peaks(self) -> list[Peak]:
        return [p for p in self.peaks if p.phase is None]

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "analysis": "xrd.identify",
            "source_file": self.source_file,
            "sample_id": self.sample_id,
            "radiation": self.radiation.to_dict(),
            "phases": [p.to_dict() for p in self.phases],
            "phases_present": [p.name for p in self.present],
            "unindexed_peaks": [p.to_dict() for p in self.unindexed_peaks],
            "corrections": dict(self.corrections),
            "si_to_cu_ratio": self.si_to_cu_ratio,
            "si_to_cu_ratio_stderr": self.si_to_cu_ratio_stderr,
            "amorphous_hump": dict(self.amorphous_hump),
            "instrument_profile": self.instrument_profile.to_dict()
            if self.instrument_profile
            else None,
            "background": dict(self.background),
            "settings": dict(self.settings),
            "statistics": dict(self.statistics),
            "flags": list(self.flags),
            "provenance": dict(self.provenance),
            "created": self.created,
            "charact_version": self.version,
        }
        return _jsonable(doc, nan=None)

    def peak_fit(self) -> FitResult:
        """The profile fits of this pattern as one core :class:`~charact.core.data.FitResult`.

        Parameters ``peak{i}.center``/``.area``/``.fwhm``/``.eta`` (and ``.asymmetry`` for
        split profiles) of every peak in 2θ order, with their standard errors; statistics
        summed over the fitted clusters (χ², data points, varied parameters; reduced χ²,
        AIC and BIC from those sums; R² over the fitted points); the model (profile, Kα2
        handling and ratio, background); the curves; derived ``si_to_cu_ratio`` when there
        is one.
        """
        params: dict[str, Parameter] = {}
        split = self.settings.get("profile") == "split_pseudo_voigt"
        for i, pk in enumerate(self.peaks):
            params[f"peak{i}.center"] = Parameter(pk.two_theta, pk.two_theta_stderr, units="deg")
            params[f"peak{i}.area"] = Parameter(
                pk.area, pk.area_stderr, min=0.0, units="counts·deg"
            )
            params[f"peak{i}.fwhm"] = Parameter(pk.fwhm, pk.fwhm_stderr, units="deg")
            params[f"peak{i}.eta"] = Parameter(pk.eta, min=0.0, max=1.0)
            if split:
                params[f"peak{i}.asymmetry"] = Parameter(pk.asymmetry, min=0.3, max=3.0)
        clusters = [c for c in self.statistics.get("clusters", []) if "chisqr" in c]
        chi2 = float(sum(c["chisqr"] for c in clusters))
        n = int(sum(c["ndata"] for c in clusters))
        k = int(sum(c["nvarys"] for c in clusters))
        r2 = math.nan
        if self.curves is not None and n:
            fit = self.curves["best_fit"].values - self.curves["background"].values
            m = fit > 0
            data = self.curves["data"].values[m]
            ss_res = float(np.sum((data - self.curves["best_fit"].values[m]) ** 2))
            ss_tot = float(np.sum((data - data.mean()) ** 2)) if data.size else 0.0
            r2 = 1 - ss_res / ss_tot if ss_tot > 0 else math.nan
        ok = n > k and chi2 > 0
        stats = {
            "chi2": chi2,
            "redchi": chi2 / (n - k) if n > k else math.nan,
            "r2": r2,
            "aic": n * math.log(chi2 / n) + 2 * k if ok else math.nan,
            "bic": n * math.log(chi2 / n) + math.log(n) * k if ok else math.nan,
            "nfev": int(sum(c["nfev"] for c in clusters)),
            "ndata": n,
            "nvarys": k,
            "success": bool(clusters) and all(c.get("success", False) for c in clusters),
            "message": f"{len(clusters)} peak clusters fitted separately (lmfit leastsq)",
        }
        model = {
            "name": "xrd.peaks",
            "profile": self.settings.get("profile"),
            "ka2": self.radiation.to_dict(),
            "background": dict(self.background),
            "weights": (
                "1/sqrt(propagated variance of the Ka2-stripped counts)"
                if self.radiation.ka2_handling == "strip" and self.radiation.doublet
                else "1/sqrt(counts)"
            ),
            "cluster_background": "linear, per cluster",
        }
        derived = {}
        if self.si_to_cu_ratio is not None:
            se = self.si_to_cu_ratio_stderr
            derived["si_to_cu_ratio"] = Parameter(
                float(self.si_to_cu_ratio), float(se) if se is not None else math.nan, vary=False
            )
        flags = [f for f in self.flags if "cluster" in f]
        flags += [
            f"{name} has no standard error"
            for name, p in params.items()
            if p.vary and name.endswith(".center") and not math.isfinite(p.stderr)
        ]
        return FitResult(
            analysis="xrd.peaks",
            parameters=params,
            statistics=stats,
            model=model,
            curves=self.curves,
            derived=derived,
            provenance=dict(self.provenance),
            flags=flags,
        )

    def to_dataset(self) -> xr.Dataset:
        """Curves (data, background, fit, residual) plus a peak table, for netCDF."""
        ds = self.curves.copy()
        n = len(self.peaks)
        ds = ds.assign_coords(peak=xr.Variable("peak", np.arange(n), {"units": "1"}))
        ds["peak_two_theta"] = xr.Variable(
            "peak", np.array([p.two_theta for p in self.peaks], float), {"units": "deg"}
        )
        ds["peak_area"] = xr.Variable(
            "peak", np.array([p.area for p in self.peaks], float), {"units": "counts deg"}
        )
        ds["peak_fwhm"] = xr.Variable(
            "peak", np.array([p.fwhm for p in self.peaks], float), {"units": "deg"}
        )
        ds["peak_phase"] = xr.Variable(
            "peak", np.array([p.phase or "" for p in self.peaks], str), {"units": "1"}
        )
        ds["peak_hkl"] = xr.Variable(
            "peak",
            np.array([" ".join(map(str, p.hkl)) if p.hkl else "" for p in self.peaks], str),
            {"units": "1"},
        )
        doc = self.to_dict()
        ds.attrs = {
            "analysis": "xrd.identify",
            "result_json": __import__("json").dumps(doc, ensure_ascii=False),
            "created": self.created,
            "charact_version": self.version,
        }
        for key in PROVENANCE_ATTRS:
            ds.attrs[key] = str(self.provenance.get(key, ""))
        return ds


# --------------------------------------------------------------------------- matching


def _tolerance(two_theta: np.ndarray, base: float, strain: float) -> np.ndarray:
    # A cell off by a relative δ moves a line by 2·tanθ·δ rad.
    t = np.tan(np.radians(np.asarray(two_theta) / 2))
    return base + np.minimum(np.degrees(2 * t * strain), 0.25)


def _score_phase(
    sticks: Any,
    obs_pos: np.ndarray,
    obs_area: np.ndarray,
    *,
    tol_base: float,
    tol_strain: float,
    min_rel: float = 8.0,
    max_lines: int = 12,
    max_shift: float = 0.0,
    shift_center: float = 0.0,
) -> dict[str, Any]:
    """Match the strong lines of a stick pattern to observed peaks (after a common offset)."""
    order = np.argsort(-sticks.intensity)
    strong = [i for i in order if sticks.intensity[i] >= min_rel][:max_lines]
    if not strong:
        return {"score": 0.0, "matched_fraction": 0.0, "lines": 0, "matched": {}}
    if obs_pos.size == 0:
        return {"score": 0.0, "matched_fraction": 0.0, "lines": len(strong), "matched": {}}
    # A common offset (zero error, displacement) moves every line alike: search it first,
    # with a tight window, then judge the matches around the best offset.
    t_strong = sticks.two_theta[strong]
    w_strong = sticks.intensity[strong]
    best = (-1.0, shift_center)
    if max_shift > 0:
        dev = obs_pos[None, :] - t_strong[:, None]
        tight = _tolerance(t_strong, 0.04, tol_strain)[:, None]
        for shift in np.arange(shift_center - max_shift, shift_center + max_shift + 1e-9, 0.01):
            hit = (np.abs(dev - shift) <= tight).any(axis=1)
            f = float(w_strong[hit].sum()) - 1e-3 * abs(shift - shift_center)
            if f > best[0]:
                best = (f, float(shift))
    shift = best[1]
    matched: dict[int, int] = {}
    errs = []
    for i in strong:
        t = sticks.two_theta[i] + shift
        j = int(np.argmin(np.abs(obs_pos - t)))
        tol = float(_tolerance(t, tol_base, tol_strain))
        if abs(obs_pos[j] - t) <= tol:
            matched[i] = j
            errs.append((obs_pos[j] - t) / tol)
    w = sticks.intensity[strong]
    frac = float(sum(sticks.intensity[i] for i in matched) / w.sum())
    if not matched:
        return {"score": 0.0, "matched_fraction": 0.0, "lines": len(strong), "matched": {}}
    # Position term: systematic shifts are corrected later, so judge the spread of the errors.
    e = np.asarray(errs)
    spread = float(np.std(e)) if e.size > 1 else float(abs(e[0]))
    pos_term = max(0.0, 1.0 - spread)
    # Intensity term: correlation of log intensities of matched lines (texture tolerant).
    if len(matched) >= 3:
        ri = np.log([sticks.intensity[i] for i in matched])
        oi = np.log(np.maximum([obs_area[j] for j in matched.values()], 1e-9))
        c = np.corrcoef(ri, oi)[0, 1]
        int_term = float(max(0.0, c)) if np.isfinite(c) else 0.5
    else:
        int_term = 0.5
    score = frac * (0.6 + 0.25 * pos_term + 0.15 * int_term)
    return {
        "score": float(score),
        "matched_fraction": frac,
        "position_error": float(np.mean(np.abs(e))) if e.size else math.nan,
        "intensity_agreement": int_term,
        "lines": len(strong),
        "matched": matched,
        "strongest_matched": int(order[0]) in matched,
        "shift": shift,
    }


def _correction(two_theta: np.ndarray, model: str, p: dict[str, float]) -> np.ndarray:
    """Δ2θ (deg) = 2θ_obs − 2θ_true for a correction model."""
    th = np.radians(np.asarray(two_theta) / 2)
    out = np.zeros_like(th)
    if model in ("zero_shift", "zero+displacement"):
        out = out + p.get("zero", 0.0)
    if model in ("displacement", "zero+displacement"):
        # p["disp"] = s/R (dimensionless); Δ2θ = −2 (s/R) cosθ rad.
        out = out + np.degrees(-2 * p.get("disp", 0.0) * np.cos(th))
    return out


def _refine(
    groups: dict[str, tuple[str, dict[str, float], np.ndarray, np.ndarray, np.ndarray, bool]],
    *,
    wavelength: float,
    model: str,
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, Any]]:
    """Least squares of all peak positions: free cells of each phase + the correction.

    ``groups[name] = (system, start cell, hkl (n×3), 2θ_obs, σ, fixed)``; a fixed group (the
    standard) keeps its cell and so calibrates the correction.
    """
    from scipy.optimize import least_squares

    names: list[tuple[str, str]] = []
    x0: list[float] = []
    for ph, (system, cell, *_rest, fixed) in groups.items():
        if fixed:
            continue
        for k in crystal_system_params(system):
            names.append((ph, k))
            x0.append(cell[k])
    corr = {
        "none": [],
        "zero_shift": ["zero"],
        "displacement": ["disp"],
        "zero+displacement": ["zero", "disp"],
    }[model]
    for c in corr:
        names.append(("_corr", c))
        x0.append(0.0)
    nobs = sum(g[3].size for g in groups.values())
    if not names or nobs < len(names):
        raise InputError(
            f"{nobs} indexed peaks cannot determine {len(names)} parameters "
            f"({', '.join(f'{a}.{b}' for a, b in names)})"
        )

    def unpack(v: np.ndarray) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
        free: dict[str, dict[str, float]] = {}
        cp: dict[str, float] = {}
        for (ph, k), val in zip(names, v, strict=True):
            if ph == "_corr":
                cp[k] = float(val)
            else:
                free.setdefault(ph, {})[k] = float(val)
        return free, cp

    def resid(v: np.ndarray) -> np.ndarray:
        free, cp = unpack(v)
        out = []
        for ph, (system, cell, hkl, obs, sig, fixed) in groups.items():
            c = cell if fixed else cell_from_free(system, {**cell, **free[ph]})
            d = d_spacing(c, hkl)
            calc = 2 * np.degrees(np.arcsin(np.clip(wavelength / (2 * d), -1, 1)))
            out.append((obs - (calc + _correction(calc, model, cp))) / sig)
        return np.concatenate(out)

    # soft-L1 loss: a misindexed or blended peak should not drag the cell (Huber-like).
    sol = least_squares(resid, np.asarray(x0), method="trf", loss="soft_l1", f_scale=3.0)
    r = sol.fun
    dof = nobs - len(x0)
    J = sol.jac
    try:
        cov = np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        cov = np.full((len(x0), len(x0)), np.nan)
    redchi = float(r @ r / dof) if dof > 0 else math.nan
    # Scale by the reduced χ² (GUM-style "Birge" scaling); no estimate without freedom.
    cov = cov * redchi if dof > 0 else cov * np.nan
    se = np.sqrt(np.abs(np.diag(cov)))
    free, cp = unpack(sol.x)
    cells: dict[str, dict[str, float]] = {}
    for ph, (system, cell, *_rest, fixed) in groups.items():
        if fixed:
            full = dict(cell)
            for k in ("a", "b", "c", "alpha", "beta", "gamma"):
                full[f"{k}_stderr"] = 0.0
        else:
            full = cell_from_free(system, {**cell, **free[ph]})
            errs = {k: se[names.index((ph, k))] for k in crystal_system_params(system)}
            for k in ("a", "b", "c", "alpha", "beta", "gamma"):
                full[f"{k}_stderr"] = _tied_stderr(system, k, errs)
        full["volume"] = _volume(full)
        cells[ph] = full
    cse = {k: float(se[names.index(("_corr", k))]) for k in corr}
    stats = {
        "redchi": redchi,
        "nobs": int(nobs),
        "nparams": len(x0),
        "success": bool(sol.success),
        "correction_stderr": cse,
    }
    return cells, cp, stats


def _tied_stderr(system: str, k: str, errs: dict[str, float]) -> float:
    if k in errs:
        return float(errs[k])
    if k == "b" and system in ("cubic", "tetragonal", "hexagonal", "trigonal"):
        return float(errs["a"])
    if k == "c" and system == "cubic":
        return float(errs["a"])
    return 0.0  # fixed by symmetry (angles of orthogonal/hexagonal cells)


def _volume(c: dict[str, float]) -> float:
    al, be, ga = (math.radians(c[k]) for k in ("alpha", "beta", "gamma"))
    return float(
        c["a"]
        * c["b"]
        * c["c"]
        * math.sqrt(
            1
            - math.cos(al) ** 2
            - math.cos(be) ** 2
            - math.cos(ga) ** 2
            + 2 * math.cos(al) * math.cos(be) * math.cos(ga)
        )
    )


def _amorphous_hump(
    x: np.ndarray, y: np.ndarray, bg_fine: np.ndarray, hump_window_deg: float
) -> dict[str, Any]:
    """A broad hump: what the fine SNIP background keeps above a much coarser one."""
    coarse, _ = _background(x, bg_fine, hump_window_deg)
    hump = np.clip(bg_fine - coarse, 0, None)
    area = float(_trapz(hump, x))
    # SNIP leaves a little of every peak tail in the fine background, so a hump is judged
    # against the whole background, not the counting noise.
    bg_area = float(_trapz(np.maximum(bg_fine, 0.0), x))
    frac = area / bg_area if bg_area > 0 else 0.0
    if area <= 0:
        return {"present": False, "area": 0.0, "center_deg": None, "fwhm_deg": None}
    i = int(np.argmax(hump))
    half = hump >= hump[i] / 2
    # contiguous region around the maximum
    lo = i
    while lo > 0 and half[lo - 1]:
        lo -= 1
    hi = i
    while hi < x.size - 1 and half[hi + 1]:
        hi += 1
    fwhm = float(x[hi] - x[lo])
    return {
        "present": bool(frac > 0.05 and fwhm > 2.0),
        "area": area,
        "fraction_of_background": frac,
        "center_deg": float(x[i]),
        "fwhm_deg": fwhm,
        "method": f"SNIP background (fine) minus SNIP of it with a {hump_window_deg}° window",
    }


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    from scipy.integrate import trapezoid

    return float(trapezoid(y, x))


# --------------------------------------------------------------------------- entry point


def _standard_name(present: list[Any], standard: str | None) -> str | None:
    names = {ph.name.lower(): ph.name for ph, _, _ in present}
    if standard == "auto":
        return names.get("cu")
    if standard:
        return names.get(standard.lower())
    return None


def _calc_positions(sp: Any, cell: dict[str, float], wavelength: float) -> np.ndarray:
    hkl = np.array(sp.hkl, float)
    d = d_spacing(cell, hkl)
    return 2 * np.degrees(np.arcsin(np.clip(wavelength / (2 * d), -1, 1)))


def _assign(
    present: list[Any],
    obs: np.ndarray,
    cells: dict[str, dict[str, float]],
    cp: dict[str, float],
    model: str,
    rad: Radiation,
    tol: tuple[float, float],
    shifts: dict[str, float] | None = None,
    widths: np.ndarray | None = None,
) -> dict[int, tuple[str, tuple[int, int, int], float]]:
    """Each observed peak -> (phase, hkl, 2θ_calc) of the closest reflection within ``tol``."""
    best: dict[int, tuple[str, Any, float, float]] = {}
    for ph, sp, _ in present:
        if not sp.hkl:
            continue
        calc = _calc_positions(sp, cells.get(ph.name, ph.lattice), rad.ka1)
        calc_obs = calc + _correction(calc, model, cp) + (shifts or {}).get(ph.name, 0.0)
        for j, t in enumerate(obs):
            k = int(np.argmin(np.abs(calc_obs - t)))
            dev = abs(calc_obs[k] - t)
            # Broad peaks are located less precisely: never demand better than 0.3 FWHM.
            lim = float(_tolerance(t, *tol))
            if widths is not None:
                lim = max(lim, 0.3 * float(widths[j]))
            if dev <= lim:
                key = dev - 1e-6 * sp.intensity[k]  # ties: the stronger reflection
                if j not in best or key < best[j][3]:
                    # Reflections of this phase much closer together than the peak width make
                    # one peak whose centre follows the strongest of them: label the peak with
                    # that one, not with a negligible neighbour a hair closer (its hkl would
                    # bias the refined cell). The claim against other phases is unchanged.
                    w = 0.25 * float(widths[j]) if widths is not None else 0.0
                    same = np.flatnonzero(np.abs(calc_obs - calc_obs[k]) <= w)
                    lab = int(same[np.argmax(sp.intensity[same])]) if same.size > 1 else k
                    best[j] = (ph.name, sp.hkl[lab], float(calc[lab]), key)
    return {j: (v[0], v[1], v[2]) for j, v in best.items()}


def _index_and_refine(
    present: list[Any],
    peaks: list[Peak],
    obs: np.ndarray,
    rad: Radiation,
    *,
    std_name: str | None,
    correction: str,
    tol: tuple[float, float],
) -> tuple[dict[str, Any], dict[str, float], dict[str, Any], str, dict[int, Any], list[str]]:
    """Index with a loose tolerance, refine, re-index tightly around the refined cells, refine."""
    flags: list[str] = []
    cells: dict[str, dict[str, float]] = {}
    cp: dict[str, float] = {}
    rstats: dict[str, Any] = {}
    model_used = correction
    if not present or obs.size == 0:
        return cells, cp, rstats, "none", {}, flags
    shifts = {ph.name: s.get("shift", 0.0) for ph, _, s in present}
    widths = np.array([p.fwhm for p in peaks])
    assignment = _assign(present, obs, cells, cp, "none", rad, tol, shifts=shifts, widths=widths)
    # Tighten step by step: a first cell from loose matches, then re-index around it.
    for tight in (None, (0.10, 0.0), (0.07, 0.0), (0.05, 0.0)):
        if tight is not None:
            assignment = _assign(present, obs, cells, cp, model_used, rad, tight, widths=widths)
        groups = {}
        blended = _blended(present, peaks, assignment, cells, cp, model_used, rad)
        for ph, _, _ in present:
            rows = [(j, v) for j, v in assignment.items() if v[0] == ph.name]
            clean = [(j, v) for j, v in rows if j not in blended]
            if len(clean) >= len(crystal_system_params(ph.crystal_system)) + 1:
                rows = clean  # blends of unresolved reflections would bias the cell
            if not rows:
                continue
            hkl = np.array([v[1] for _, v in rows], float)
            o = np.array([obs[j] for j, _ in rows])
            sig = np.array(
                [
                    math.hypot(peaks[j].two_theta_stderr, 0.002)
                    if np.isfinite(peaks[j].two_theta_stderr)
                    else 0.01
                    for j, _ in rows
                ]
            )
            fixed = ph.name == std_name or not _determined(ph.crystal_system, hkl)
            if fixed and ph.name != std_name:
                flags.append(
                    f"{ph.name}: its {len(rows)} indexed peaks do not determine the "
                    f"{ph.crystal_system} cell; the reference cell is kept"
                )
            groups[ph.name] = (ph.crystal_system, dict(ph.lattice), hkl, o, sig, fixed)
        if not groups:
            break
        for attempt in (correction, "zero_shift", "none"):
            try:
                cells, cp, rstats = _refine(groups, wavelength=rad.ka1, model=attempt)
                model_used = attempt
                break
            except InputError as exc:
                if attempt == "none":
                    flags.append(f"lattice refinement impossible: {exc}")
                    cells, cp, rstats, model_used = {}, {}, {}, "none"
        if model_used != correction:
            flags.append(
                f"too few indexed peaks for the {correction} correction; used {model_used}"
            )
        for name, g in groups.items():
            if g[5] and name != std_name:
                cells[name]["not_refined"] = 1.0
    assignment = _assign(present, obs, cells, cp, model_used, rad, (0.05, 0.0), widths=widths)
    return cells, cp, rstats, model_used, assignment, sorted(set(flags))


def _blended(
    present: list[Any],
    peaks: list[Peak],
    assignment: dict[int, Any],
    cells: dict[str, Any],
    cp: dict[str, float],
    model: str,
    rad: Radiation,
) -> set[int]:
    """Peaks whose reflection has a comparably strong neighbour within ~half a width."""
    allpos, allint = [], []
    for ph, sp, _ in present:
        if not sp.hkl:
            continue
        calc = _calc_positions(sp, cells.get(ph.name, ph.lattice), rad.ka1)
        allpos.append(calc + _correction(calc, model, cp))
        allint.append(sp.intensity)
    if not allpos:
        return set()
    pos = np.concatenate(allpos)
    inten = np.concatenate(allint)
    out = set()
    for j, (_name, _hkl, calc) in assignment.items():
        c = calc + float(_correction(np.array([calc]), model, cp)[0])
        w = max(0.6 * peaks[j].fwhm, 0.02)
        near = np.abs(pos - c) <= w
        if near.sum() > 1:
            i_self = inten[near].max()
            others = np.sort(inten[near])[:-1]
            if others.size and others.max() >= 0.15 * i_self:
                out.add(j)
    return out


def _determined(system: str, hkl: np.ndarray) -> bool:
    """Whether these reflections fix every free parameter of the cell (rank test)."""
    free = crystal_system_params(system)
    if len(hkl) < len(free):
        return False
    h, k, ell = hkl.T
    cols = {
        "cubic": [h * h + k * k + ell * ell],
        "tetragonal": [h * h + k * k, ell * ell],
        "hexagonal": [h * h + h * k + k * k, ell * ell],
        "trigonal": [h * h + h * k + k * k, ell * ell],
        "orthorhombic": [h * h, k * k, ell * ell],
        "monoclinic": [h * h, k * k, ell * ell, h * ell],
    }.get(system)
    if cols is None:
        cols = [h * h, k * k, ell * ell, k * ell, h * ell, h * k]
    return bool(np.linalg.matrix_rank(np.column_stack(cols)) == len(cols))


def _tight_check(
    ph: ReferencePhase,
    sp: Any,
    s: dict[str, Any],
    cells: dict[str, Any],
    cp: dict[str, float],
    model: str,
    obs: np.ndarray,
    rad: Radiation,
    assignment: dict[int, Any],
    widths: np.ndarray,
) -> dict[str, Any]:
    """How well the strong lines match with the refined cell, and how many are its own."""
    order = np.argsort(-sp.intensity)
    strong = [i for i in order if sp.intensity[i] >= 8.0][:12]
    if not strong or obs.size == 0:
        return {"fraction": 0.0, "own_fraction": 0.0, "own_peaks": 0, "lines": len(strong)}
    calc = _calc_positions(sp, cells.get(ph.name, ph.lattice), rad.ka1)
    calc_obs = calc + _correction(calc, model, cp)
    tot = float(sp.intensity[strong].sum())
    hit = own = 0.0
    own_peaks = set()
    for i in strong:
        j = int(np.argmin(np.abs(obs - calc_obs[i])))
        lim = max(float(_tolerance(obs[j], 0.05, 0.0)), 0.3 * float(widths[j]))
        if abs(obs[j] - calc_obs[i]) <= lim:
            hit += sp.intensity[i]
            if j in assignment and assignment[j][0] == ph.name:
                own += sp.intensity[i]
                own_peaks.add(j)
    return {
        "fraction": hit / tot,
        "own_fraction": own / tot,
        "own_peaks": len(own_peaks),
        "lines": len(strong),
    }


def identify_phases(
    da: xr.DataArray,
    *,
    phases: Sequence[str] | None = None,
    phases_dir: Any = None,
    library: Sequence[ReferencePhase] | None = None,
    standard: str | None = "auto",
    correction: str = "auto",
    goniometer_radius_mm: float | None = None,
    wavelength: float | None = None,
    wavelength_ka2: float | None = None,
    ka2_ratio: float | None = None,
    instrument: InstrumentProfile | None = None,
    profile: str = "pseudo_voigt",
    ka2: str = "fit",
    broad_lines: bool = False,
    background_window_deg: float = 1.5,
    hump_window_deg: float = 12.0,
    significance: float = 6.0,
    position_tolerance_deg: float = 0.12,
    lattice_tolerance: float = 0.003,
    min_score: float = 0.45,
    max_offset_deg: float = 0.5,
    force: Sequence[str] = (),
    unindexed_flag_fraction: float = 0.2,
) -> XRDResult:
    """Identify, index and refine the phases of a powder pattern.

    Parameters
    ----------
    da
        Pattern (counts on ``two_theta``) as read by :func:`charact.core.readers.read`.
    phases
        Names of the reference phases to search (default: the whole library).
    phases_dir
        Folder(s) of user CIFs added to (or replacing) the built-in phases.
    library
        Already-loaded phases (overrides ``phases``/``phases_dir``).
    standard
        Phase of known lattice that calibrates the correction (its cell is held fixed):
        a name, ``"auto"`` (Cu when found — the current collector), or ``None``.
    correction
        One of :data:`CORRECTION_MODELS` or ``"auto"`` (``displacement``).
    goniometer_radius_mm
        R for converting the displacement to mm (default: from the file's metadata).
    wavelength, wavelength_ka2, ka2_ratio
        Override the file's radiation (Å; ratio 0 means Kα1 only).
    instrument
        Instrumental profile removed from the widths before Scherrer/Williamson–Hall.
    profile
        ``pseudo_voigt`` or ``split_pseudo_voigt`` (asymmetric peaks).
    ka2
        With a Kα doublet: ``fit`` (default) fits every peak as a Kα1/Kα2 doublet;
        ``strip`` removes Kα2 first by Rachinger's method (:func:`strip_ka2`) and fits
        Kα1 lines only. Ignored for Kα1-only radiation.
    broad_lines
        Search the residual of the first profile fit for broad lines hidden in the
        shoulders of sharper ones (a nanocrystalline phase beside a coarse one, e.g. 3C-SiC
        beside Zn in the fityk example) and fit them too (:func:`residual_peaks`). Off by
        default: every added line is one more a wrong phase can claim.
    background_window_deg, hump_window_deg
        SNIP half windows (deg) of the background and of the amorphous-hump estimate.
    significance
        Peak-search threshold in standard deviations of the counting noise.
    position_tolerance_deg, lattice_tolerance
        Matching tolerance: ``position_tolerance_deg`` + the shift of a cell off by the
        relative ``lattice_tolerance``.
    min_score
        Score above which a phase is reported present.
    max_offset_deg
        Largest common offset of a phase's lines (zero error, displacement) searched before
        its lines are matched.
    force
        Phases reported present (and refined) whatever their score.
    unindexed_flag_fraction
        Flag the result when more than this fraction of the fitted peak intensity (peak
        areas) is left unindexed (``statistics.unindexed_intensity_fraction``): a phase
        missing from the library, or a wrong wavelength.

    Returns
    -------
    XRDResult
    """
    x, y = _pattern_arrays(da)
    label = da.attrs.get("source_file") or "pattern"
    rad = radiation_of(
        da, wavelength=wavelength, wavelength_ka2=wavelength_ka2, ka2_ratio=ka2_ratio
    )
    if ka2 not in KA2_METHODS:
        raise InputError(f"ka2 must be one of {', '.join(KA2_METHODS)}, got {ka2!r}")
    y_measured = y
    rad_fit = rad
    # Variance beyond the Poisson one of the counts themselves: after Kα2 stripping a point
    # also carries R² times the variance of its Kα1 parent (strip_ka2); zero otherwise.
    extra_var = np.zeros_like(y)
    y_var: np.ndarray | None = None
    if rad.doublet:
        rad = dataclasses.replace(rad, ka2_handling=ka2)
        if ka2 == "strip":
            y, y_var = strip_ka2(x, y, rad, return_variance=True)
            extra_var = np.maximum(y_var - np.maximum(y, 0.0), 0.0)
            rad_fit = Radiation(rad.ka1, None, 0.0, rad.source, "strip")
    if correction == "auto":
        correction = "displacement"
    if correction not in CORRECTION_MODELS:
        raise InputError(
            f"correction must be one of {', '.join(CORRECTION_MODELS)} or auto, got {correction!r}"
        )
    lib = (
        list(library) if library is not None else load_phase_library(phases, phases_dir=phases_dir)
    )
    flags: list[str] = []
    bg, bg_info = _background(x, y, background_window_deg)
    net = y - bg
    idx = find_peaks(
        x,
        net,
        bg,
        radiation=rad_fit,
        significance=significance,
        variance=bg + np.maximum(net, 0) + extra_var,
    )
    # Initial widths from the half-height width of each maximum.
    from scipy.signal import peak_widths

    step = float(np.median(np.diff(x)))
    if idx.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero-prominence maxima get the minimum width
            wid = peak_widths(net, idx, rel_height=0.5)[0] * step
        wid = np.clip(wid, 3 * step, 1.5)
    else:
        wid = np.array([])
    peaks, fit_curve, fit_stats = fit_peaks(
        x,
        y,
        bg,
        x[idx],
        radiation=rad_fit,
        profile=profile,
        fwhm_guess=wid if idx.size else 0.1,
        variance=y_var,
    )
    # Optional second pass: broad peaks hidden in the shoulder of a sharper one (a
    # nanocrystalline phase next to a coarse one) have no prominence of their own in the
    # first search; they stand out in the residual of the first fit.
    extra = extra_w = np.array([])
    if broad_lines:
        extra, extra_w = residual_peaks(
            x,
            y - bg - _full_profile(x, peaks, rad_fit),
            bg + np.maximum(fit_curve, 0) + extra_var,
            peaks,
            significance=significance,
        )
    if extra.size:
        pos = np.concatenate([[p.two_theta for p in peaks], extra])
        n_first = len(peaks)
        wguess = np.concatenate([[p.fwhm for p in peaks], extra_w])
        order = np.argsort(pos)
        trial, trial_curve, trial_stats = fit_peaks(
            x,
            y,
            bg,
            pos[order],
            radiation=rad_fit,
            profile=profile,
            fwhm_guess=wguess[order],
            variance=y_var,
        )
        # A residual maximum is kept as a peak only if, fitted, it is a significant line no
        # broader than the background window (broader features are background or hump).
        keep = []
        noise_var = bg + extra_var
        for pk in trial:
            new = int(np.argmin(np.abs(pos - pk.two_theta))) >= n_first
            if not new or _significant(pk, x, noise_var, step, significance, background_window_deg):
                keep.append(pk)
        if len(keep) == len(trial):
            peaks, fit_curve, fit_stats = trial, trial_curve, trial_stats
        elif len(keep) > n_first:
            peaks, fit_curve, fit_stats = fit_peaks(
                x,
                y,
                bg,
                [p.two_theta for p in keep],
                radiation=rad_fit,
                profile=profile,
                fwhm_guess=[p.fwhm for p in keep],
                variance=y_var,
            )
    if not peaks:
        flags.append("no peak found above the noise: no phase can be identified")
    obs = np.array([p.two_theta for p in peaks])
    area = np.array([p.area for p in peaks])
    rng = (float(x[0]), float(x[-1]))

    # ---- score every phase
    sticks = [(ph, stick_pattern(ph, rad.ka1, rng)) for ph in lib]

    def score_all(center: float, half: float) -> list[tuple[Any, Any, dict[str, Any]]]:
        return [
            (
                ph,
                sp,
                _score_phase(
                    sp,
                    obs,
                    area,
                    tol_base=position_tolerance_deg,
                    tol_strain=lattice_tolerance,
                    max_shift=half,
                    shift_center=center,
                ),
            )
            for ph, sp in sticks
        ]

    # The offset is common to every phase of a pattern: take it from the most convincing
    # phase (score × number of matched lines), then score all phases near that offset only.
    scored = score_all(0.0, max_offset_deg)
    offset = 0.0
    if scored and max_offset_deg > 0:
        lead = max(scored, key=lambda t: t[2]["score"] * min(len(t[2]["matched"]), 6))
        if lead[2]["score"] >= min_score:
            offset = float(lead[2].get("shift", 0.0))
        scored = score_all(offset, 0.05)
    forced = {f.lower() for f in force}
    present = [
        (ph, sp, s)
        for ph, sp, s in scored
        if ph.name.lower() in forced
        or (s["score"] >= min_score and s.get("strongest_matched", False))
    ]
    # A phase whose matched peaks are all claimed by a better-scoring phase adds nothing.
    present.sort(key=lambda t: -t[2]["score"])
    claimed: set[int] = set()
    kept = []
    for ph, sp, s in present:
        own = set(s["matched"].values())
        if ph.name.lower() not in forced and own and own <= claimed:
            flags.append(f"{ph.name}: all its matched lines are explained by other phases")
            continue
        claimed |= own
        kept.append((ph, sp, s))
    present = kept

    # ---- index, refine, and check each candidate against its refined cell
    radius = goniometer_radius_mm or float(da.attrs.get("goniometer_radius_mm", math.nan))
    lib_names = {p.name.lower() for p in lib}
    if standard not in (None, "auto") and standard.lower() not in lib_names:
        raise InputError(
            f"standard {standard!r} is not a reference phase; known: "
            + ", ".join(sorted(p.name for p in lib))
        )
    dropped: list[str] = []
    for _round in range(8):
        std_name = _standard_name(present, standard)
        cells, cp, rstats, model_used, assignment, rflags = _index_and_refine(
            present,
            peaks,
            obs,
            rad,
            std_name=std_name,
            correction=correction,
            tol=(position_tolerance_deg, lattice_tolerance),
        )
        worst = None
        for ph, sp, s in present:
            if ph.name.lower() in forced or (ph.name == std_name and len(present) == 1):
                continue
            check = _tight_check(
                ph,
                sp,
                s,
                cells,
                cp,
                model_used,
                obs,
                rad,
                assignment,
                np.array([p.fwhm for p in peaks]),
            )
            s["tight"] = check
            ok = (
                check["fraction"] >= 0.6
                and check["own_fraction"] >= 0.3
                and (check["own_peaks"] >= min(2, check["lines"]))
            )
            if not ok and (worst is None or s["score"] < worst[2]["score"]):
                worst = (ph, sp, s)
        if worst is None:
            break
        present = [t for t in present if t[0].name != worst[0].name]
        dropped.append(worst[0].name)
        flags.append(
            f"{worst[0].name}: candidate rejected — with its refined cell only "
            f"{worst[2]['tight']['fraction']:.0%} of its strong lines match "
            f"({worst[2]['tight']['own_peaks']} peaks not better explained by other phases)"
        )
    flags.extend(rflags)
    if standard not in (None, "auto") and std_name is None:
        flags.append(
            f"standard {standard} was not found in {label}; the correction was refined "
            "together with the lattices instead"
        )

    # ---- corrected positions and per-peak indexing
    for j, pk in enumerate(peaks):
        pk.two_theta_corrected = float(pk.two_theta - _correction(pk.two_theta, model_used, cp))
        pk.d_obs = float(rad.ka1 / (2 * math.sin(math.radians(pk.two_theta_corrected / 2))))
        if j in assignment:
            pk.phase, hkl, _calc = assignment[j]
            pk.hkl = tuple(int(v) for v in hkl)
            cell = cells.get(pk.phase)
            if cell is not None:
                d = d_spacing(cell, np.array([pk.hkl], float))[0]
                pk.two_theta_calc = float(2 * math.degrees(math.asin(min(1, rad.ka1 / (2 * d)))))
            else:
                pk.two_theta_calc = float(_calc)
        inst = instrument.fwhm(pk.two_theta) if instrument is not None else None
        pk.size_nm = float(scherrer_size(pk.fwhm, pk.two_theta, rad.ka1, instrument_fwhm_deg=inst))

    # ---- phase results
    results: list[PhaseResult] = []
    present_names = {ph.name for ph, _, _ in present}
    for ph, _sp, s in scored:
        is_present = ph.name in present_names
        own = [p for p in peaks if p.phase == ph.name]
        pr = PhaseResult(
            name=ph.name,
            present=is_present,
            score=float(s["score"]),
            matched_fraction=float(s["matched_fraction"]),
            position_error_deg=float(s.get("position_error", math.nan)),
            intensity_agreement=float(s.get("intensity_agreement", math.nan)),
            crystal_system=ph.crystal_system,
            reference_lattice={k: float(v) for k, v in ph.lattice.items()},
            source=ph.source,
            lines_expected=int(s["lines"]),
            lines_matched=len(s["matched"]),
            role="standard" if ph.name == std_name else "sample",
        )
        if is_present:
            pr.peaks = own
            pr.lattice = {k: float(v) for k, v in cells.get(ph.name, {}).items()}
            if own:
                sizes = np.array([p.size_nm for p in own if np.isfinite(p.size_nm)])
                if sizes.size:
                    pr.scherrer_nm = float(np.mean(sizes))
                    pr.scherrer_nm_stderr = (
                        float(np.std(sizes, ddof=1) / math.sqrt(sizes.size))
                        if sizes.size > 1
                        else math.nan
                    )
                tt = np.array([p.two_theta for p in own])
                inst = instrument.fwhm(tt) if instrument is not None else None
                pr.williamson_hall = williamson_hall(
                    np.array([p.fwhm for p in own]), tt, rad.ka1, instrument_fwhm_deg=inst
                )
        results.append(pr)
    results.sort(key=lambda r: (not r.present, -r.score))
    if instrument is None and any(r.present for r in results):
        flags.append(
            "no instrument profile given: crystallite sizes include instrumental broadening "
            "(lower bounds); measure a standard with `charact xrd instrument`"
        )

    # ---- corrections block
    cse = rstats.get("correction_stderr", {}) if rstats else {}
    disp = cp.get("disp")
    corr_doc: dict[str, Any] = {
        "model": model_used,
        "description": CORRECTION_MODELS[model_used],
        "standard": std_name,
        "zero_shift_deg": cp.get("zero", 0.0 if model_used != "none" else None)
        if model_used in ("zero_shift", "zero+displacement")
        else None,
        "zero_shift_deg_stderr": cse.get("zero"),
        "displacement_over_radius": disp,
        "displacement_over_radius_stderr": cse.get("disp"),
        "goniometer_radius_mm": radius if math.isfinite(radius) else None,
        "displacement_mm": disp * radius if disp is not None and math.isfinite(radius) else None,
        "displacement_mm_stderr": cse["disp"] * radius
        if "disp" in cse and math.isfinite(radius)
        else None,
        "calibrated_on": f"{std_name} (cell held at its reference value)"
        if std_name
        else "refined together with the lattices (no internal standard)",
        "refinement": rstats,
    }
    if disp is not None and not math.isfinite(radius):
        flags.append(
            "goniometer radius unknown: the displacement is reported as s/R only "
            "(pass goniometer_radius_mm)"
        )

    # ---- Si/Cu ratio
    def first(phase: str, hkl: tuple[int, int, int]) -> Peak | None:
        for p in peaks:
            if p.phase == phase and p.hkl is not None and sorted(map(abs, p.hkl)) == sorted(hkl):
                return p
        return None

    si = first("Si", (1, 1, 1)) if "Si" in present_names else None
    cu = first("Cu", (1, 1, 1)) if "Cu" in present_names else None
    ratio = ratio_se = None
    if si is not None and cu is not None and cu.area > 0:
        ratio = si.area / cu.area
        rel = math.hypot(
            (si.area_stderr / si.area) if np.isfinite(si.area_stderr) else 0.0,
            (cu.area_stderr / cu.area) if np.isfinite(cu.area_stderr) else 0.0,
        )
        ratio_se = ratio * rel

    hump = _amorphous_hump(x, y, bg, hump_window_deg)
    curves = xr.Dataset(
        coords={"two_theta": xr.Variable("two_theta", x, {"units": "deg"})},
        data_vars={
            "data": xr.Variable("two_theta", y, {"units": "counts"}),
            "background": xr.Variable("two_theta", bg, {"units": "counts"}),
            "best_fit": xr.Variable("two_theta", bg + fit_curve, {"units": "counts"}),
            "residual": xr.Variable("two_theta", y - bg - fit_curve, {"units": "counts"}),
        },
    )
    if y is not y_measured:
        curves["data"].attrs["long_name"] = "counts with Kα2 stripped (Rachinger)"
        curves["data_measured"] = xr.Variable("two_theta", y_measured, {"units": "counts"})
    prov = provenance_of(da)
    settings = {
        "phases": [p.name for p in lib],
        "standard": standard,
        "correction": correction,
        "profile": profile,
        "ka2": ka2,
        "broad_lines": broad_lines,
        "background_window_deg": background_window_deg,
        "hump_window_deg": hump_window_deg,
        "significance": significance,
        "position_tolerance_deg": position_tolerance_deg,
        "lattice_tolerance": lattice_tolerance,
        "min_score": min_score,
        "force": list(force),
        "unindexed_flag_fraction": unindexed_flag_fraction,
    }
    resid = y - bg - fit_curve
    mask = fit_curve > 0
    stats = {
        "npeaks": len(peaks),
        "nindexed": sum(p.phase is not None for p in peaks),
        "clusters": fit_stats,
        "rwp_peaks": float(
            math.sqrt(
                np.sum(resid[mask] ** 2 / np.maximum(y[mask], 1))
                / max(np.sum((y[mask] - bg[mask]) ** 2 / np.maximum(y[mask], 1)), 1e-12)
            )
        )
        if mask.any()
        else None,
    }
    # How much of the diffracted intensity the identified phases explain: a strong
    # unindexed peak means a phase missing from the library or a wrong wavelength.
    total_area = sum(p.area for p in peaks if np.isfinite(p.area) and p.area > 0)
    loose = [p for p in peaks if p.phase is None and np.isfinite(p.area) and p.area > 0]
    unexplained = sum(p.area for p in loose) / total_area if total_area > 0 else None
    stats["unindexed_intensity_fraction"] = unexplained
    if unexplained is not None and unexplained > unindexed_flag_fraction:
        top = max(loose, key=lambda p: p.area)
        flags.append(
            f"{100 * unexplained:.0f} % of the fitted peak intensity is not indexed by the "
            f"identified phases (strongest unindexed peak at {top.two_theta:.3f}°, "
            f"d = {top.d_obs:.4f} Å): a phase is missing from the library (an impurity, the "
            "sample holder — add its CIF with --phases-dir) or the wavelength is wrong"
        )
    if any(not c.get("success", True) for c in fit_stats):
        flags.append("some peak clusters did not converge (see statistics.clusters)")
    return XRDResult(
        source_file=str(da.attrs.get("source_file", "")),
        sample_id=str(da.attrs.get("sample_id", "")),
        radiation=rad,
        phases=results,
        peaks=peaks,
        corrections=corr_doc,
        si_to_cu_ratio=ratio,
        si_to_cu_ratio_stderr=ratio_se,
        amorphous_hump=hump,
        background={
            "method": bg_info["method"],
            "params": bg_info["params"],
            "library": bg_info["library"],
        },
        settings=settings,
        statistics=stats,
        curves=curves,
        flags=flags,
        provenance=prov,
        instrument_profile=instrument,
    )
