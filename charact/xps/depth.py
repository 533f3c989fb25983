"""Depth profiles: every region fitted jointly over the etch levels, quantified per level.

Procedure (:func:`fit_depth_profile`):

1. The **reference region** (the one holding the charge-reference component, C 1s C–C at
   284.8 eV by default) is fitted jointly over all levels with a free rigid shift per level.
2. Every other region is fitted jointly with those per-level shifts fixed, so a charge shift
   is determined once and applied to all regions of the same level.
3. Each level is quantified (:func:`charact.xps.quantify.quantify_level`).
4. Etch time becomes depth with a user-given etch rate: ``depth_nm = etch_rate × etch_time``.
   The rate of a reference material rarely equals the SEI's; the caveat is recorded.
5. Species are classed as organic/polymer (carbon-containing, lithium-free formulas) or
   inorganic (everything else: LiF, Li2O, Li2CO3, LixSi, SiOx …); the outer→inner transition
   is where the inorganic share first exceeds the organic one (linear interpolation in depth).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..core.errors import AssumptionWarning, InputError
from .fit import RegionFit, fit_region_levels, parse_reference
from .io import region_names
from .models import component, formula_counts, region_components
from .quantify import LevelQuantification, quantify_level

__all__ = ["DepthProfileResult", "classify_species", "fit_depth_profile"]

ETCH_CAVEAT = (
    "depth = etch rate × etch time with a single rate; SEI components sputter at different "
    "rates and monatomic Ar+ can reduce Li2CO3 to Li2O and make LiF from fluorinated species, "
    "so an inner LiF/Li2O-rich profile may be partly an etching artefact"
)


def classify_species(formula: str, name: str = "") -> str:
    """``"organic"`` for carbon-containing, lithium-free formulas, else ``"inorganic"``."""
    counts = formula_counts(formula or "")
    if not counts:
        return "organic" if name.startswith("C") else "inorganic"
    if "C" in counts and "Li" not in counts and len(counts) <= 4 and "Si" not in counts:
        # LiC6 (Li-C) is lithiated graphite, inorganic; CF3/PVDF/C-O are organic
        return "organic"
    return "inorganic"


@dataclass
class DepthProfileResult:
    """A fitted, quantified depth profile."""

    regions: dict[str, RegionFit]
    quantification: list[LevelQuantification]
    etch_time_s: list[float]
    depth_nm: list[float]
    etch_rate_nm_per_s: float | None
    reference: str
    organic_percent: list[float]
    inorganic_percent: list[float]
    transition_depth_nm: float | None
    transition_etch_time_s: float | None
    statement: str
    species_class: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result document: one entry per level as in the issue, plus the summary."""

        def f(v):
            return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v

        levels = []
        for li, q in enumerate(self.quantification):
            qd = q.to_dict()
            levels.append(
                {
                    "level": li,
                    "etch_time_s": f(self.etch_time_s[li]),
                    "depth_nm": f(self.depth_nm[li]),
                    "charge_shift_eV": f(
                        next(iter(self.regions.values())).levels[li].charge_shift_eV
                    ),
                    "regions": {
                        k: {
                            "background": r.levels[li].background,
                            "components": [c.to_dict() for c in r.levels[li].components],
                            "redchi": f(r.levels[li].redchi),
                            "flags": r.levels[li].flags,
                        }
                        for k, r in self.regions.items()
                    },
                    "atomic_percent": qd["atomic_percent"],
                    "atomic_percent_stderr": qd["atomic_percent_stderr"],
                    "species_percent": qd["species_percent"],
                    "species_percent_stderr": qd["species_percent_stderr"],
                    "consistency": qd["consistency"],
                    "organic_percent": f(self.organic_percent[li]),
                    "inorganic_percent": f(self.inorganic_percent[li]),
                }
            )
        q0 = self.quantification[0].to_dict() if self.quantification else {}
        return {
            "analysis": "xps.depth_profile",
            "levels": levels,
            "reference": self.reference,
            "etch_rate_nm_per_s": self.etch_rate_nm_per_s,
            "etch_caveat": ETCH_CAVEAT,
            "rsf": q0.get("rsf"),
            "rsf_source": q0.get("rsf_source"),
            "corrections": q0.get("corrections"),
            "species_class": self.species_class,
            "transition_depth_nm": f(self.transition_depth_nm),
            "transition_etch_time_s": f(self.transition_etch_time_s),
            "statement": self.statement,
            "provenance": self.provenance,
            "flags": self.flags,
            "fits": {k: r.result.to_dict() for k, r in self.regions.items()},
        }

    def to_dataset(self) -> xr.Dataset:
        """Species % (and stderr) and atomic % versus etch level, for netCDF storage."""
        species = list(dict.fromkeys(s for q in self.quantification for s in q.species_percent))
        elements = list(dict.fromkeys(e for q in self.quantification for e in q.atomic_percent))
        n = len(self.quantification)
        ds = xr.Dataset(
            coords={
                "etch_level": xr.Variable("etch_level", np.arange(n), {"units": "1"}),
                "etch_time": xr.Variable(
                    "etch_level", np.array(self.etch_time_s, float), {"units": "s"}
                ),
                "etch_depth": xr.Variable(
                    "etch_level", np.array(self.depth_nm, float), {"units": "nm"}
                ),
                "species": xr.Variable("species", np.array(species, str), {"units": "1"}),
                "element": xr.Variable("element", np.array(elements, str), {"units": "1"}),
            }
        )

        def grid(attr, names):
            return np.array(
                [[getattr(q, attr).get(s, math.nan) for s in names] for q in self.quantification],
                float,
            )

        ds["species_percent"] = xr.Variable(
            ("etch_level", "species"), grid("species_percent", species), {"units": "%"}
        )
        ds["species_percent_stderr"] = xr.Variable(
            ("etch_level", "species"), grid("species_percent_stderr", species), {"units": "%"}
        )
        ds["atomic_percent"] = xr.Variable(
            ("etch_level", "element"), grid("atomic_percent", elements), {"units": "%"}
        )
        ds["atomic_percent_stderr"] = xr.Variable(
            ("etch_level", "element"), grid("atomic_percent_stderr", elements), {"units": "%"}
        )
        ds.attrs = {
            "analysis": "xps.depth_profile",
            "statement": self.statement,
            "reference": self.reference,
            "flags": list(self.flags),
            **{k: str(v) for k, v in self.provenance.items()},
        }
        return ds


def _find_reference_region(
    regions: Sequence[str], comps: Mapping[str, Sequence[Any]], ref_name: str
) -> str | None:
    for r in regions:
        names = (
            [component(c, r).name for c in comps[r]]
            if comps.get(r)
            else [c.name for c in region_components(r)]
        )
        if ref_name.lower() in (n.lower() for n in names):
            return r
    return None


def fit_depth_profile(
    ds: xr.Dataset,
    *,
    regions: Sequence[str] | None = None,
    components: Mapping[str, Sequence[Any]] | None = None,
    background: str = "shirley",
    reference: str | None = "C-C=284.8",
    etch_rate_nm_per_s: float | None = None,
    rsf: str | Mapping[str, float] = "scofield",
    imfp_exponent: float | None = None,
    transmission_exponent: float | None = None,
    share_positions: bool = True,
    share_fwhm: bool = True,
    monte_carlo: int = 0,
    stoichiometry: bool = True,
    constraints: Mapping[str, Mapping[str, float | str]] | None = None,
    weights: str = "poisson",
) -> DepthProfileResult:
    """Fit and quantify a depth profile (see the module docstring for the procedure).

    Parameters
    ----------
    ds
        A multi-level dataset from an XPS reader (survey regions are skipped unless named).
    regions
        Region keys to fit; default every region with species-library components.
    components
        ``{region: [component specs]}``; regions not listed use the library.
    background, reference, share_positions, share_fwhm
        As in :func:`charact.xps.fit.fit_region_levels`.
    etch_rate_nm_per_s
        Etch rate; without it depths are NaN and only etch times are reported.
    rsf, imfp_exponent, transmission_exponent, monte_carlo
        As in :func:`charact.xps.quantify.quantify_level`.
    stoichiometry
        Reconcile species that appear in two regions with their formulas (default on; see
        :func:`charact.xps.quantify.quantify_level`): LiF's atoms come mostly from the
        precise F 1s peak rather than the overlapped LiF-Li/Li2CO3-Li split of the weak Li 1s.
    constraints
        ``{region: {"C-O.fwhm": "C-C.fwhm", ...}}``, see
        :func:`charact.xps.fit.fit_region_levels`; region keys match the fitted regions
        case-insensitively, as for ``components``.
    weights
        ``"poisson"`` (counting statistics, default) or ``"none"``, see
        :func:`charact.xps.fit.fit_region_levels`.
    """
    comps = {k: list(v) for k, v in (components or {}).items()}
    available = region_names(ds)
    if regions is None:
        regions = [r for r in available if region_components(r) or r in comps]
        if not regions:
            raise InputError(
                f"{ds.attrs.get('source_file') or 'dataset'}: none of the regions "
                f"({', '.join(available)}) has species-library components; name regions and "
                "components"
            )
    else:
        lower = {a.lower(): a for a in available}
        missing = [r for r in regions if r.lower() not in lower]
        if missing:
            raise InputError(
                f"no region(s) {', '.join(missing)}; regions are {', '.join(available)}"
            )
        regions = [lower[r.lower()] for r in regions]
        comps = {
            next((r for r in regions if r.lower() == k.lower()), k): v for k, v in comps.items()
        }
    cons: dict[str, dict[str, float | str]] = {}
    for k, v in (constraints or {}).items():
        r = next((r for r in regions if r.lower() == k.lower()), None)
        if r is None:
            raise InputError(
                f"constraints for region {k!r}, which is not fitted; regions fitted are "
                f"{', '.join(regions)}"
            )
        cons.setdefault(r, {}).update(v)
    ref = parse_reference(reference)
    flags: list[str] = []
    order = list(regions)
    ref_region = None
    if ref is not None and ref[0] == "component":
        ref_region = _find_reference_region(regions, comps, ref[1])
        if ref_region is None:
            raise InputError(
                f"charge reference component {ref[1]!r} is in none of the regions fitted "
                f"({', '.join(regions)})",
                hint="use an internal reference such as --reference LiF=685.2, or shift=EV",
            )
        order.remove(ref_region)
        order.insert(0, ref_region)
    fits: dict[str, RegionFit] = {}
    shifts = None
    for r in order:
        fits[r] = fit_region_levels(
            ds,
            r,
            components=comps.get(r),
            background=background,
            reference=reference if r == ref_region or shifts is None else None,
            shifts=shifts if r != ref_region else None,
            share_positions=share_positions,
            share_fwhm=share_fwhm,
            constraints=cons.get(r),
            weights=weights,
        )
        if r == ref_region:
            shifts = [lv.charge_shift_eV for lv in fits[r].levels]
        flags += fits[r].flags
    fits = {r: fits[r] for r in regions}
    nlev = ds.sizes["etch_level"]
    hv = float(ds[regions[0]].attrs.get("excitation_energy_eV", math.nan))
    if not math.isfinite(hv):
        hv = 1486.6
        flags.append("excitation energy not in the file; assumed Al Kα 1486.6 eV")
    quants = []
    for lev in range(nlev):
        quants.append(
            quantify_level(
                {r: fits[r].levels[lev] for r in regions},
                rsf=rsf,
                excitation_energy=hv,
                imfp_exponent=imfp_exponent,
                transmission_exponent=transmission_exponent,
                monte_carlo=monte_carlo,
                stoichiometry=stoichiometry,
                transmission=_transmission(ds, regions, lev),
            )
        )
        flags += [f"level {lev}: {m}" for m in quants[-1].flags]
    etch = [float(t) for t in ds["etch_time"].values]
    if etch_rate_nm_per_s is not None:
        if not etch_rate_nm_per_s > 0:
            raise InputError(f"etch rate must be > 0 nm/s, got {etch_rate_nm_per_s}")
        depth = [etch_rate_nm_per_s * t for t in etch]
    else:
        depth = [math.nan] * nlev
    if any(not math.isfinite(t) for t in etch):
        flags.append("the file does not give the etch time of every level")
        warnings.warn("etch times missing for some levels", AssumptionWarning, stacklevel=2)
    classes: dict[str, str] = {}
    for r in regions:
        for lv in fits[r].levels[:1]:
            for c in lv.components:
                classes[c.species or c.name] = classify_species(c.formula, c.name)
    org = [
        sum(v for s, v in q.species_percent.items() if classes.get(s) == "organic") for q in quants
    ]
    ino = [
        sum(v for s, v in q.species_percent.items() if classes.get(s) == "inorganic")
        for q in quants
    ]
    t_depth, t_time, statement = _transition(org, ino, etch, depth)
    prov = dict(next(iter(fits.values())).result.provenance)
    return DepthProfileResult(
        regions=fits,
        quantification=quants,
        etch_time_s=etch,
        depth_nm=depth,
        etch_rate_nm_per_s=etch_rate_nm_per_s,
        reference=next(iter(fits.values())).reference
        if ref_region is None
        else fits[ref_region].reference,
        organic_percent=org,
        inorganic_percent=ino,
        transition_depth_nm=t_depth,
        transition_etch_time_s=t_time,
        statement=statement,
        species_class=classes,
        provenance=prov,
        flags=flags,
    )


def _transition(org, ino, etch, depth):
    diff = np.array(ino) - np.array(org)
    has_depth = all(math.isfinite(d) for d in depth)
    if has_depth:
        axis, unit = depth, "nm"
    elif all(math.isfinite(t) for t in etch):
        axis, unit = etch, "s of etching"
    else:
        axis, unit = [float(i) for i in range(len(etch))], "(etch level index)"
    etch_known = all(math.isfinite(t) for t in etch)
    if diff[0] >= 0:
        return (
            0.0 if has_depth else None,
            0.0 if etch_known else None,
            "inorganic species dominate from the surface "
            "(no organic/polymer-rich outer layer resolved)",
        )
    for i in range(1, len(diff)):
        if diff[i] >= 0:
            a0, a1 = axis[i - 1], axis[i]
            w = -diff[i - 1] / (diff[i] - diff[i - 1])
            at = a0 + w * (a1 - a0)
            tt = etch[i - 1] + w * (etch[i] - etch[i - 1]) if etch_known else None
            return (
                at if has_depth else None,
                tt,
                f"the outer organic/polymer-rich layer gives way to the inner inorganic-rich "
                f"layer at about {at:.3g} {unit} (inorganic share passes 50 % between levels "
                f"{i - 1} and {i})",
            )
    return (
        None,
        None,
        "organic/polymer species dominate down to the last level "
        f"({axis[-1]:.3g} {unit}); no inorganic-rich inner layer reached"
        if len(axis) > 1
        else "a single level: organic/polymer species dominate; no depth information",
    )


def _transmission(ds: xr.Dataset, regions, lev: int):
    """``{region: (binding energy, T)}`` for regions whose file records the transmission."""
    out = {}
    for r in regions:
        name = f"{r}__transmission"
        if name in ds and np.any(np.isfinite(ds[name].values[lev])):
            out[r] = (ds[ds[r].dims[1]].values, ds[name].values[lev])
    return out or None
