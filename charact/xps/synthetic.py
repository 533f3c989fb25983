"""Generated XPS depth profiles of known truth, for tests, benchmarks and the docs.

A profile is built from species-library components: for each level the number of atoms in
each component is given; the area is atoms × effective sensitivity (Scofield × E_K^0.6,
as :func:`charact.xps.quantify.quantify_level` assumes by default) × a scale; peaks are
GL(30) (doublets as the library says) at the library positions moved by a per-level charging
shift; a Shirley-type background (``a + k ∫ peaks``) is added and Poisson noise drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .fit import _area, _profile
from .io import _assemble, _Region
from .models import component, load_rsf

__all__ = ["SEI_TRUTH", "synthetic_depth_profile"]

#: Atoms per component at four etch levels: an organic/polymer-rich outer SEI giving way to
#: an inorganic (LiF, Li2O)-rich inner layer. Keys are ``"<region>:<component>"``.
SEI_TRUTH: dict[str, list[float]] = {
    "C1s:C-C": [30.0, 18.0, 10.0, 6.0],
    "C1s:C-O": [12.0, 8.0, 5.0, 3.0],
    "C1s:O-C=O": [6.0, 4.0, 2.5, 1.5],
    "C1s:CO3": [4.0, 5.0, 4.0, 3.0],
    "F1s:LiF": [8.0, 16.0, 24.0, 28.0],
    "Li1s:LiF-Li": [8.0, 16.0, 24.0, 28.0],
    "Li1s:Li2CO3-Li": [8.0, 10.0, 8.0, 6.0],
    "Li1s:Li2O": [2.0, 6.0, 12.0, 18.0],
}

#: Truth positions (charge-corrected, eV) and FWHMs that differ from the library priors.
_TRUTH_SHAPE: dict[str, tuple[float, float]] = {
    "C1s:C-C": (284.8, 1.1),
    "C1s:C-O": (286.45, 1.2),
    "C1s:O-C=O": (288.95, 1.2),
    "C1s:CO3": (290.1, 1.25),
    "F1s:LiF": (685.3, 1.6),
    "Li1s:LiF-Li": (56.0, 1.2),
    "Li1s:Li2CO3-Li": (55.2, 1.2),
    "Li1s:Li2O": (53.7, 1.1),
}

_RANGES = {
    "C1s": (280.0, 296.0),
    "F1s": (680.0, 694.0),
    "Li1s": (50.0, 60.0),
    "O1s": (524.0, 540.0),
    "Si2p": (94.0, 108.0),
}


def synthetic_depth_profile(
    truth: Mapping[str, Sequence[float]] | None = None,
    *,
    etch_times: Sequence[float] = (0.0, 60.0, 120.0, 240.0),
    shifts: Sequence[float] | None = (0.0, 0.3, -0.2, 0.45),
    step: float = 0.1,
    counts_per_atom: float = 4000.0,
    base: float = 200.0,
    shirley_k: float = 0.04,
    positions: Mapping[str, tuple[float, float]] | None = None,
    excitation_energy: float = 1486.6,
    seed: int = 0,
) -> tuple[xr.Dataset, dict[str, Any]]:
    """A multi-region depth profile in the layout of :mod:`charact.xps.io`.

    Parameters
    ----------
    truth
        ``{"<region>:<component>": atoms per level}``; default :data:`SEI_TRUTH`.
    etch_times
        Etch time of each level (s).
    shifts
        Charge shift of each level (eV, added to measured BE to correct it): peaks appear at
        ``be - shift``.
    step
        Energy step (eV).
    counts_per_atom
        Area (counts·eV) per atom per unit effective sensitivity.
    base, shirley_k
        Background: ``base + shirley_k × ∫ peaks``.
    positions
        ``{key: (be, fwhm)}`` truth; default the module's table.
    seed
        Poisson noise seed (``None``: no noise).

    Returns
    -------
    (xarray.Dataset, dict)
        The dataset and the truth: per level the components' ``be``, ``fwhm``, ``area``,
        area ``fraction`` within the region, ``species_percent`` and the ``shifts``.
    """
    truth = dict(SEI_TRUTH if truth is None else truth)
    pos = dict(_TRUTH_SHAPE if positions is None else positions)
    nlev = len(etch_times)
    shifts = [0.0] * nlev if shifts is None else list(shifts)[:nlev]
    rng = np.random.default_rng(seed) if seed is not None else None
    factors, _ = load_rsf("scofield")
    by_region: dict[str, list[str]] = {}
    for key in truth:
        by_region.setdefault(key.split(":")[0], []).append(key)
    regions = []
    out: dict[str, Any] = {"levels": [], "shifts": shifts, "etch_times": list(etch_times)}
    for _ in range(nlev):
        out["levels"].append({"components": {}, "atoms": {}})
    for reg, keys in by_region.items():
        lo, hi = _RANGES.get(reg, (None, None))
        comps = [component(k.split(":", 1)[1], reg) for k in keys]
        if lo is None:
            lo = min(c.be_min for c in comps) - 6
            hi = max(c.be_max for c in comps) + 6
        x = np.round(np.arange(lo, hi + step / 2, step), 6)
        levels = []
        for lev in range(nlev):
            tot = np.zeros_like(x)
            areas = []
            for k, c in zip(keys, comps, strict=True):
                be, fwhm = pos.get(k, (c.be, c.fwhm))
                ek = excitation_energy - be
                area = truth[k][lev] * factors[reg] * ek**0.6 * counts_per_atom / 1000.0
                unit = _area(c, 1.0, fwhm, (float(x[0]), float(x[-1])))
                tot += _profile(c, x, area / unit, be - shifts[lev], fwhm)
                areas.append(area)
                out["levels"][lev]["components"][k] = {"be": be, "fwhm": fwhm, "area": area}
                out["levels"][lev]["atoms"][k] = truth[k][lev]
            for k, a in zip(keys, areas, strict=True):
                out["levels"][lev]["components"][k]["fraction"] = a / sum(areas)
            cum = np.zeros_like(x)
            cum[1:] = np.cumsum(0.5 * (tot[1:] + tot[:-1]) * np.diff(x))
            y = base + shirley_k * cum + tot
            if rng is not None:
                y = rng.poisson(y).astype(float)
            levels.append(y)
        attrs = {
            "element": reg[:-2],
            "transition": reg[-2:],
            "excitation_energy_eV": excitation_energy,
            "pass_energy_eV": 20.0,
            "dwell_s": 0.1,
            "scans": 1,
            "abscissa": "binding energy",
        }
        regions.append(_Region(f"{reg[:-2]} {reg[-2:]}", x, levels, "counts", attrs))
    for lev in range(nlev):
        atoms = out["levels"][lev]["atoms"]
        species: dict[str, float] = {}
        for k, n in atoms.items():
            c = component(k.split(":", 1)[1], k.split(":")[0])
            species[c.species] = species.get(c.species, 0.0) + n
        tot = sum(species.values())
        out["levels"][lev]["species_percent"] = {s: 100 * v / tot for s, v in species.items()}
    from pathlib import Path

    ds = _assemble(
        regions,
        list(etch_times),
        instrument="charact synthetic",
        metadata={"generator": "charact.xps.synthetic.synthetic_depth_profile", "seed": seed},
        reader="",
        path=Path("synthetic"),
    )
    ds.attrs["sample_id"] = "synthetic-SEI"
    if not math.isfinite(float(ds["etch_time"].values[0])):
        raise AssertionError("etch times must be finite")
    return ds, out
