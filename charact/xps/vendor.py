"""Vendor fits read back as charact components, so a vendor's fit can be redone and compared.

Thermo Avantage exports every fitted component as a curve on top of the background
(:func:`charact.xps.io.vendor_fit` measures them). The export does not state the lineshape
(the L/G mix, the tail of an asymmetric line), but the curves *are* the lineshape: each
component curve is matched by least squares with the candidate core lineshapes, and the best
one — with its shape parameters (GL mix, tail) held fixed — becomes a :class:`Component`
whose position, width and size charact then fits to the measured spectrum. What the curves
say, on the real files in ``shared/data/xps``:

* the hard-carbon workbook (Avantage, 2024): the C–C, C–O–C, C=O and shake-up components are
  GL(30) products to ≤ 5e-6 of their height; the sp² line is a GL product with an exponential
  tail to higher binding energy (:func:`charact.core.lineshapes.gl_tail`, to 3e-5);
* the TFSI CSVs: every component is a Lorentzian raised to the power 1.53 and broadened by a
  Gaussian whose FWHM is 1.68 × the Lorentzian's — :func:`charact.core.lineshapes.la` with
  α = β = 1.53 and m = 1.68 F — to ≤ 1e-4 of the height, most to ~1e-5 (a fixed L/G
  ratio, so the Gaussian width follows the fitted FWHM: shape ``{"m_per_fwhm": 1.68}``).
  SGL/GL(p) match these curves only to ~2e-3, and their heavier tails shift the weak
  shoulders by several %.

Areas: the vendor's areas (and :func:`vendor_fit`) are integrals over the exported range;
:func:`window_areas` integrates charact's fitted components over the same range, so the two
are compared like for like (a line with Lorentzian tails has a few % of its area outside a
typical region).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from ..core.errors import InputError
from ..core.lineshapes import get_lineshape
from .fit import RegionFit
from .io import _match_region, get_region, vendor_fit
from .models import Component

__all__ = ["CANDIDATE_SHAPES", "vendor_components", "window_areas"]

#: Lineshapes tried against each exported component curve, with starting shape parameters.
CANDIDATE_SHAPES: dict[str, dict[str, float]] = {
    "gl": {"m": 0.3},
    "sgl": {"m": 0.3},
    "gl_tail": {"m": 0.5, "tail_mix": 0.1, "tail_exp": 0.5},
    "la": {"alpha": 0.8, "beta": 1.5, "m": 0.3},
}


def _match_shape(
    x: np.ndarray, y: np.ndarray, measured: dict[str, Any], name: str, start: dict[str, float]
):
    """Least-squares match of one component curve by lineshape ``name``, started from the
    curve's measured position and FWHM (:func:`charact.xps.io.vendor_fit`)."""
    shape = get_lineshape(name)
    names = ["height", "center", "fwhm", *start]
    fwhm = measured["fwhm"] if math.isfinite(measured["fwhm"]) else 0.1 * float(np.ptp(x))
    p0 = [float(y.max()), measured["be"], 0.8 * fwhm, *start.values()]
    lo = [0.0, float(x.min()), 1e-3] + [max(shape.spec(k).min, 0.0) for k in start]
    hi = [np.inf, float(x.max()), float(np.ptp(x))] + [min(shape.spec(k).max, 50.0) for k in start]
    p0 = [min(max(v, a + 1e-9), b - 1e-9) if math.isfinite(b) else max(v, a + 1e-9)
          for v, a, b in zip(p0, lo, hi, strict=True)]  # fmt: skip

    def resid(p):
        return shape.func(x, *p) - y

    res = least_squares(resid, p0, bounds=(lo, hi), x_scale="jac")
    rel = float(np.sqrt(np.mean(res.fun**2)) / max(float(y.max()), 1e-300))
    return rel, dict(zip(names, map(float, res.x), strict=True))


def vendor_components(
    ds: xr.Dataset,
    region: str,
    *,
    level: int = 0,
    shapes: Sequence[str] = tuple(CANDIDATE_SHAPES),
    be_window: float = 1.0,
) -> list[tuple[Component, dict[str, Any]]]:
    """Components with the vendor's lineshapes, read from the exported component curves.

    Parameters
    ----------
    ds
        A dataset from the Avantage readers (with ``<region>__component_<i>`` and
        ``<region>__background`` variables).
    region
        Region key.
    level
        Etch level.
    shapes
        Candidate lineshapes (keys of :data:`CANDIDATE_SHAPES`).
    be_window
        Half-width (eV) of the position window each component may move in when refitted.

    Returns
    -------
    list of (Component, dict)
        Per exported component that :func:`charact.xps.io.vendor_fit` measures (a curve
        with fewer than three finite points is left out), in export order: a
        :class:`Component` (lineshape and its shape parameters fixed to the best match;
        position and FWHM as starting values) and
        ``{"name", "lineshape", "shape", "match_rel_rms", "vendor": <vendor_fit entry>}``.

    Raises
    ------
    InputError
        The dataset holds no vendor components for this region, the level is out of range,
        or an unknown shape is named.
    """
    key = _match_region(ds, region)
    get_region(ds, key, level=level)  # the level must exist
    measured = vendor_fit(ds, key, level=level)
    if not measured:
        src = ds.attrs.get("source_file") or "dataset"
        raise InputError(f"{src}: region {key} holds no vendor component curves")
    unknown = [s for s in shapes if s not in CANDIDATE_SHAPES]
    if unknown:
        raise InputError(
            f"unknown candidate shape(s) {', '.join(unknown)}; "
            f"choose from {', '.join(CANDIDATE_SHAPES)}"
        )
    x = np.asarray(ds[ds[key].dims[1]].values, float)
    bg = np.asarray(ds[f"{key}__background"].values[level], float)
    out = []
    for meas in measured:
        y = np.asarray(ds[meas["variable"]].values[level], float) - bg
        ok = np.isfinite(y)
        tried = [(*_match_shape(x[ok], y[ok], meas, s, CANDIDATE_SHAPES[s]), s) for s in shapes]
        floor = min(t[0] for t in tried)
        # the simplest candidate (in the given order) that matches as well as the best one
        rel, pars, s = next(t for t in tried if t[0] <= max(1.5 * floor, 1e-5))
        shape = {k: v for k, v in pars.items() if k not in ("height", "center", "fwhm")}
        if s == "la":
            # A vendor L/G ratio is a Gaussian width proportional to the Lorentzian one
            # (the TFSI exports: m/F = 1.68 for every component), so it scales with the FWHM.
            shape["m_per_fwhm"] = shape.pop("m") / pars["fwhm"]
        comp = Component(
            name=meas["name"],
            region=key,
            species=meas["name"],
            be=pars["center"],
            be_min=pars["center"] - be_window,
            be_max=pars["center"] + be_window,
            fwhm=pars["fwhm"],
            fwhm_min=0.2 * pars["fwhm"],
            fwhm_max=3.0 * pars["fwhm"],
            lineshape=s,
            shape=shape,
            cite="read from the vendor's exported component curve",
        )
        out.append(
            (
                comp,
                {
                    "name": meas["name"],
                    "lineshape": s,
                    "shape": shape,
                    "match_rel_rms": rel,
                    "vendor": meas,
                },
            )
        )
    return out


def window_areas(fit: RegionFit, *, level: int = 0) -> list[float]:
    """Areas of the fitted components integrated over the fitted range (trapezoid).

    This is how vendor exports (and :func:`charact.xps.io.vendor_fit`) measure areas, so
    the numbers compare like for like with a vendor fit over the same range.
    """
    lv = fit.levels[level]
    x = np.asarray(lv.curves["binding_energy"].values, float)
    return [
        float(np.trapezoid(np.asarray(lv.curves[f"component_{i}"].values, float), x))
        for i in range(len(lv.components))
    ]
