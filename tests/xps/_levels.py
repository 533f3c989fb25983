"""Hand-built region fits for the quantification tests."""

from __future__ import annotations

import math

import xarray as xr

from charact.xps.fit import ComponentFit, LevelFit


def make_level(comps):
    """A one-level region fit from ``(name, species, formula, atoms, be, area, area_stderr)``."""
    cfs = [
        ComponentFit(
            name=n,
            species=s,
            formula=f,
            atoms=a,
            be=be,
            be_stderr=0.01,
            fwhm=1.0,
            fwhm_stderr=0.01,
            area=area,
            area_stderr=err,
            fraction=math.nan,
            fraction_stderr=math.nan,
            lineshape="gl",
        )
        for n, s, f, a, be, area, err in comps
    ]
    return LevelFit(
        level=0,
        etch_time_s=0.0,
        charge_shift_eV=0.0,
        charge_shift_stderr=0.0,
        components=cfs,
        redchi=1.0,
        r2=1.0,
        background={},
        curves=xr.Dataset(),
    )
