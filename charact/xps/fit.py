"""Fitting XPS regions: one spectrum, or every etch level of a region jointly.

The model of level ``l`` of a region is

.. math:: y_l(E) = B_l(E) + \\sum_i P_i\\left(E;\\ s_{il},\\ E_i - \\Delta_l,\\ F_i\\right)

with ``P_i`` a core lineshape (:mod:`charact.core.lineshapes`; spin–orbit doublets add a
partner at ``+splitting`` with ``ratio`` × the size and the same FWHM), ``E_i`` the
charge-corrected binding energy, ``Δ_l`` the level's charge shift (added to measured binding
energies to correct them), ``F_i`` the FWHM and ``s_il`` the size (height or area, as the
lineshape defines it). In a joint fit ``E_i`` and ``F_i`` are shared across levels by default
(``share_positions``, ``share_fwhm``) and ``Δ_l`` is a per-level rigid shift. ``B_l`` is a
static background computed from the data (``shirley``, ``tougaard``, ``linear``, ``none``) or
the **active Shirley** background ``a_l + k_l ∫ peaks dE`` fitted with the peaks.

Charge reference: ``"C-C=284.8"`` fixes the corrected position of component ``C-C`` and frees
``Δ_l``; ``"shift=0.35"`` fixes ``Δ_l``; ``None`` leaves energies as measured (``Δ = 0``).

All parameters live in one :class:`lmfit.Parameters` set, minimised with
:func:`charact.core.batchfit.fit_joint` (lmfit ``least_squares``, one residual block per level,
grouped Jacobian); areas, fractions and positions are derived with their standard errors
propagated from the covariance matrix (numerical Jacobian). A static background is a function
of the counts, so its noise is part of that covariance (first order, with D = ∂B/∂y from
:func:`charact.xps.backgrounds.background_jacobian`; :func:`_background_covariance`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import lmfit
import numpy as np
import xarray as xr

from ..core.baselines import BaselineMethod
from ..core.batchfit import fit_joint
from ..core.data import FitResult, Parameter, provenance_of
from ..core.errors import AssumptionWarning, FitError, InputError
from ..core.lineshapes import get_lineshape
from ..core.registry import BASELINES
from . import backgrounds as _bg  # also registers shirley/tougaard
from .io import get_region
from .models import Component, component, region_components

__all__ = [
    "BACKGROUNDS",
    "WEIGHTS",
    "ComponentFit",
    "LevelFit",
    "RegionFit",
    "fit_region",
    "fit_region_levels",
    "parse_reference",
    "poisson_sigma",
]

#: Background names the fit accepts.
BACKGROUNDS = ("shirley", "active-shirley", "tougaard", "linear", "none")

#: Residual weightings the fit accepts.
WEIGHTS = ("poisson", "none")


def poisson_sigma(y: np.ndarray, exposure: float | None = None) -> np.ndarray:
    """Counting-statistics standard deviation of each point of a spectrum.

    A point holding N counts has variance N (Poisson), so σ = sqrt(N). Spectra in counts per
    second are converted with ``exposure`` (dwell × scans, s): N = rate × exposure and the
    rate's σ = sqrt(N)/exposure. Without an exposure the weights are only relative (σ ∝
    sqrt(y)); the fit's standard errors are then scaled by the reduced χ² as usual, so they
    do not depend on the unknown constant. Points below one count get σ of one count, so an
    empty channel does not get an infinite weight (the data-based, Neyman form of χ²).
    """
    y = np.asarray(y, float)
    t = exposure if exposure is not None and math.isfinite(exposure) and exposure > 0 else 1.0
    return np.sqrt(np.maximum(y * t, 1.0)) / t


def parse_reference(text: str | None) -> tuple[str, str, float] | None:
    """Parse a charge reference: ``"C-C=284.8"`` → ``("component", "C-C", 284.8)``,
    ``"shift=0.35"`` → ``("shift", "", 0.35)``, ``None``/``"none"`` → ``None``."""
    if text is None or str(text).strip().lower() in ("", "none"):
        return None
    m = re.match(r"^\s*([^=]+?)\s*=\s*([-+]?\d+(?:\.\d*)?)\s*$", str(text))
    if not m:
        raise InputError(
            f"charge reference {text!r} not understood; expected NAME=BE (e.g. C-C=284.8) "
            "or shift=EV"
        )
    name, value = m.group(1), float(m.group(2))
    if name.lower() == "shift":
        return ("shift", "", value)
    return ("component", name, value)


# --------------------------------------------------------------------------- results


@dataclass
class ComponentFit:
    """One component at one level (JSON keys as in the issue's result document)."""

    name: str
    species: str
    formula: str
    atoms: float
    be: float
    be_stderr: float
    fwhm: float
    fwhm_stderr: float
    area: float
    area_stderr: float
    fraction: float
    fraction_stderr: float
    lineshape: str

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in vars(self).items()}


@dataclass
class LevelFit:
    """A region at one etch level."""

    level: int
    etch_time_s: float
    charge_shift_eV: float
    charge_shift_stderr: float
    components: list[ComponentFit]
    redchi: float
    r2: float
    background: dict[str, Any]
    curves: xr.Dataset
    flags: list[str] = field(default_factory=list)
    #: Covariance matrix of the component areas (same order as ``components``).
    area_cov: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "background": self.background,
            "components": [c.to_dict() for c in self.components],
            "redchi": _clean(self.redchi),
            "r2": _clean(self.r2),
            "charge_shift_eV": _clean(self.charge_shift_eV),
            "charge_shift_stderr": _clean(self.charge_shift_stderr),
            "flags": list(self.flags),
        }


@dataclass
class RegionFit:
    """The fit of one region over one or more etch levels.

    Attributes
    ----------
    region
        Region key.
    levels
        One :class:`LevelFit` per level.
    result
        The :class:`charact.core.data.FitResult` (parameters, statistics, model, curves).
    reference
        The charge reference used, in words.
    """

    region: str
    levels: list[LevelFit]
    result: FitResult
    reference: str
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "reference": self.reference,
            "levels": [lv.to_dict() for lv in self.levels],
            "fit": self.result.to_dict(),
            "flags": list(self.flags),
        }

    def to_dataset(self) -> xr.Dataset:
        return self.result.to_dataset()


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        v = float(v)
        return None if not math.isfinite(v) else v
    return v


# --------------------------------------------------------------------------- shapes


def _width_name(comp: Component) -> str:
    names = get_lineshape(comp.lineshape).param_names
    return "fwhm" if "fwhm" in names else names[2]


_PER_FWHM = "_per_fwhm"


def _scaled_shape(comp: Component) -> dict[str, float]:
    """Shape parameters that follow the width: ``{"m_per_fwhm": 1.68}`` → ``{"m": 1.68}``.

    A vendor's fixed L/G ratio is a Gaussian width proportional to the Lorentzian one; with
    ``<param>_per_fwhm`` the parameter is that ratio × the component's FWHM at every step.
    """
    return {k[: -len(_PER_FWHM)]: float(v) for k, v in comp.shape.items() if k.endswith(_PER_FWHM)}


def _shape_kwargs(comp: Component, fwhm: float | None = None) -> dict[str, float]:
    shape = get_lineshape(comp.lineshape)
    out = {p.name: p.default for p in shape.params[3:]}
    for k, v in comp.shape.items():
        if k.endswith(_PER_FWHM):
            base = k[: -len(_PER_FWHM)]
            if base not in shape.width_params or base == _width_name(comp):
                widths = [w for w in shape.width_params if w != _width_name(comp)]
                raise InputError(
                    f"component {comp.key}: lineshape {comp.lineshape!r} has no width "
                    f"parameter {base!r} to scale with the FWHM"
                    + (f" (it has {', '.join(widths)})" if widths else "")
                )
            if fwhm is not None:
                out[base] = float(v) * fwhm
            continue
        if k not in shape.param_names:
            raise InputError(
                f"component {comp.key}: lineshape {comp.lineshape!r} has no parameter {k!r}"
            )
        out[k] = v
    return out


@lru_cache(maxsize=4096)
def _unit_area(name: str, fwhm: float, shape_items: tuple[tuple[str, float], ...]) -> float:
    """Area of the profile with size 1 (height 1 for height-sized shapes)."""
    shape = get_lineshape(name)
    if shape.size_param == "area":
        return 1.0
    kw = dict(shape_items)
    if name == "sgl":
        m = kw["m"]
        return fwhm * ((1 - m) * math.sqrt(math.pi / (4 * math.log(2))) + m * math.pi / 2)
    if name == "gl" and fwhm != 1.0:
        # GL's only shape parameter (m) is dimensionless: the area scales with F, so one
        # numeric integral at F = 1 serves every width (derivatives, Monte-Carlo draws).
        return fwhm * _unit_area(name, 1.0, shape_items)
    width = "fwhm" if "fwhm" in shape.param_names else shape.param_names[2]
    kw[width] = fwhm
    return shape.numeric_area(**{shape.size_param: 1.0, "center": 0.0, **kw})


def _profile(comp: Component, x: np.ndarray, size: float, center: float, fwhm: float):
    shape = get_lineshape(comp.lineshape)
    kw = _shape_kwargs(comp, fwhm)
    kw[_width_name(comp)] = fwhm
    y = shape.func(x, size, center, **kw)
    if comp.doublet:
        split, ratio = comp.doublet
        y = y + shape.func(x, size * ratio, center + split, **kw)
    return y


def _evaluator(comps: Sequence[Component]):
    """A function ``(x, sizes, centers, fwhms) -> (ncomp, npts)`` evaluating every component.

    Components that share a lineshape are evaluated in one broadcast call of the core
    function (doublet partners as extra columns), which keeps joint fits fast.
    """
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(comps):
        groups.setdefault(c.lineshape, []).append(i)
    plans = []
    for name, idx in groups.items():
        shape = get_lineshape(name)
        width = _width_name(comps[idx[0]])
        cols, factor, offset = [], [], []
        for i in idx:
            cols.append(i)
            factor.append(1.0)
            offset.append(0.0)
            if comps[i].doublet:
                cols.append(i)
                factor.append(comps[i].doublet[1])
                offset.append(comps[i].doublet[0])
        kw, ratio = {}, {}
        for p in shape.params[3:]:
            if p.name == width:
                continue
            kw[p.name] = np.array([_shape_kwargs(comps[i], 1.0)[p.name] for i in cols], float)
            r = np.array([_scaled_shape(comps[i]).get(p.name, np.nan) for i in cols], float)
            if np.any(np.isfinite(r)):
                ratio[p.name] = r
        plans.append(
            (shape.func, width, np.array(cols), np.array(factor), np.array(offset), kw, ratio)
        )
    ncomp = len(comps)

    def evaluate(x, sizes, centers, fwhms):
        out = np.zeros((ncomp, x.size))
        xx = x[:, None]
        for func, width, cols, factor, offset, kw, ratio in plans:
            w = fwhms[cols]
            kwl = dict(kw)
            for name, r in ratio.items():
                kwl[name] = np.where(np.isfinite(r), r * w, kw[name])
            y = func(xx, sizes[cols] * factor, centers[cols] + offset, **{width: w}, **kwl)
            np.add.at(out, cols, y.T)
        return out

    return evaluate


def _area(comp: Component, size: float, fwhm: float, window: tuple[float, float]) -> float:
    mult = 1.0 + (comp.doublet[1] if comp.doublet else 0.0)
    if comp.lineshape in ("doniach_sunjic", "la"):
        # Asymmetric tails decay slowly (or not at all, DS): integrate over the fitted window
        # so the area is the part of the line actually measured (stated in the docs).
        xx = np.linspace(window[0], window[1], 1601)
        return float(np.trapezoid(_profile(comp, xx, size, 0.5 * sum(window), fwhm), xx))
    items = tuple(sorted(_shape_kwargs(comp, fwhm).items()))
    # Round the width for the cache: 1e-9 relative keeps derivatives smooth enough.
    return mult * size * _unit_area(comp.lineshape, float(f"{fwhm:.9g}"), items)


# --------------------------------------------------------------------------- the engine


def _static_background(
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    end_points: int,
    params: Mapping[str, Any],
    *,
    jacobian: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A static background B(y) and, with ``jacobian``, D = ∂B/∂y (else None)."""
    if method == "none":
        return np.zeros_like(y), None
    spec: BaselineMethod = BASELINES.get(method)
    kw = {**spec.defaults, **params}
    if "end_points" in kw:
        kw["end_points"] = end_points
    if jacobian:
        return _bg.background_and_jacobian(method, x, y, **kw)
    return np.asarray(spec.func(x, y, **kw), float), None


def _check_counts(y: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(y)):
        raise InputError(f"{what}: NaN or inf in the counts")
    if np.all(y == 0):
        raise InputError(f"{what}: all counts are zero; nothing to fit")
    if np.min(y) < 0:
        raise InputError(
            f"{what}: negative counts (minimum {np.min(y):g}); expected raw counts ≥ 0",
            hint="was a background already subtracted? fit the raw spectrum",
        )


def _initial_shift(x, resid, comps, ref_comp, ref_value) -> float:
    """Grid search of the rigid shift that puts the components on the data's peaks."""
    best, best_score = 0.0, -math.inf
    for s in np.arange(-6.0, 6.0001, 0.05):
        score = 0.0
        for c in comps:
            pos = (ref_value if c is ref_comp else c.be) - s
            score += float(np.interp(pos, x, resid, left=0.0, right=0.0)) * (
                3.0 if c is ref_comp else 1.0
            )
        if score > best_score:
            best, best_score = float(s), score
    return best


def _joint_fit(
    x: np.ndarray,
    Y: np.ndarray,
    comps: list[Component],
    *,
    background: str | np.ndarray,
    reference: tuple[str, str, float] | None,
    shifts: Sequence[float] | None,
    share_positions: bool,
    share_fwhm: bool,
    end_points: int,
    background_params: Mapping[str, Any],
    label: str,
    max_nfev: int | None,
    constraints: Mapping[str, float | str] | None = None,
    sigma: np.ndarray | None = None,
) -> tuple[lmfit.minimizer.MinimizerResult, dict[str, Any]]:
    nlev = Y.shape[0]
    for lev in range(nlev):
        _check_counts(Y[lev], f"{label} level {lev}")
    if not isinstance(background, str):
        # A fixed background curve given by the caller (e.g. a vendor's, to compare fits).
        bgs = np.broadcast_to(np.asarray(background, float), Y.shape).copy()
        if not np.all(np.isfinite(bgs)):
            raise InputError(f"{label}: the given background has NaN values in the fit range")
        static = True
        bg_jac = None  # a given curve does not depend on the counts
        bg_uncertainty = "none (a given curve, taken as exact)"
    else:
        static = background != "active-shirley"
        if background not in BACKGROUNDS:
            raise InputError(f"background {background!r} not one of {', '.join(BACKGROUNDS)}")
        # D = ∂B/∂y propagates a static background's noise (not for "none"; an active
        # Shirley's uncertainty is in the fit covariance)
        propagate = static and background != "none"
        pairs = [
            _static_background(
                background if static else "shirley",
                x,
                Y[lev],
                end_points,
                background_params,
                jacobian=propagate,
            )
            for lev in range(nlev)
        ]
        bgs = np.array([b for b, _ in pairs])
        bg_jac = [d for _, d in pairs] if propagate else None
        if not static:
            bg_uncertainty = "fitted (active Shirley parameters in the fit covariance)"
        elif background == "none":
            bg_uncertainty = "none (no background)"
        else:
            bg_uncertainty = "propagated"
    ref_comp = None
    fixed_shift: list[float] | None = None
    if reference is not None and reference[0] == "component":
        names = [c.name.lower() for c in comps]
        if reference[1].lower() in names:
            ref_comp = comps[names.index(reference[1].lower())]
        elif shifts is None:
            raise InputError(
                f"{label}: charge reference component {reference[1]!r} is not among the "
                f"components ({', '.join(c.name for c in comps)})",
                hint="add it to --components, or give --reference shift=EV",
            )
    if ref_comp is None:
        if shifts is not None:
            fixed_shift = [float(s) for s in shifts]
        elif reference is not None and reference[0] == "shift":
            fixed_shift = [reference[2]] * nlev
        else:
            fixed_shift = [0.0] * nlev
    params = lmfit.Parameters()
    lo, hi = float(x.min()), float(x.max())
    level_shift = []
    for lev in range(nlev):
        resid = Y[lev] - bgs[lev]
        if fixed_shift is not None:
            params.add(f"shift{lev}", value=fixed_shift[lev], vary=False)
        else:
            s0 = _initial_shift(x, resid, comps, ref_comp, reference[2])
            params.add(f"shift{lev}", value=s0, min=s0 - 3.0, max=s0 + 3.0)
        level_shift.append(params[f"shift{lev}"].value)
    # Coverage: every component's window (moved by the shift) must overlap the axis.
    for c in comps:
        s = float(np.mean(level_shift))
        cmin, cmax = c.be_min - s, c.be_max - s
        if c is ref_comp:
            cmin = cmax = reference[2] - s
        if cmax < lo or cmin > hi:
            raise InputError(
                f"{label}: the energy axis ({lo:.2f}–{hi:.2f} eV) does not cover component "
                f"{c.name!r} (window {c.be_min:.2f}–{c.be_max:.2f} eV, charge shift {s:+.2f} eV)",
                hint="drop the component or measure a wider region",
            )
    for i, c in enumerate(comps):
        tags = [""] if share_positions else [f"_{lev}" for lev in range(nlev)]
        for t in tags:
            if c is ref_comp:
                params.add(f"c{i}_be{t}", value=reference[2], vary=False)
            else:
                params.add(
                    f"c{i}_be{t}",
                    value=min(max(c.be, c.be_min), c.be_max),
                    min=c.be_min,
                    max=c.be_max,
                )
        ftags = [""] if share_fwhm else [f"_{lev}" for lev in range(nlev)]
        for t in ftags:
            params.add(
                f"c{i}_fwhm{t}",
                value=min(max(c.fwhm, c.fwhm_min), c.fwhm_max),
                min=c.fwhm_min,
                max=c.fwhm_max,
            )
        for lev in range(nlev):
            resid = Y[lev] - bgs[lev]
            pos = c.be - level_shift[lev] if c is not ref_comp else reference[2] - level_shift[lev]
            h = max(float(np.interp(pos, x, resid)), 0.0) * 0.6 + 1e-3 * float(np.ptp(Y[lev]))
            size = h
            if get_lineshape(c.lineshape).size_param == "area":
                size = h * c.fwhm * 1.06
            params.add(f"c{i}_s{lev}", value=size, min=0.0)
    if not static:
        for lev in range(nlev):
            n = end_points
            a0 = float(np.mean(Y[lev][:n]))
            step = float(np.mean(Y[lev][-n:])) - a0
            total = float(np.trapezoid(np.clip(Y[lev] - bgs[lev], 0, None), x)) or 1.0
            params.add(f"bg_a{lev}", value=a0)
            params.add(f"bg_k{lev}", value=max(step / total, 0.0), min=0.0)

    if constraints:
        _apply_constraints(params, constraints, comps, nlev, share_positions, share_fwhm, label)
    evaluate = _evaluator(comps)
    ncomp = len(comps)
    tb = [""] * nlev if share_positions else [f"_{lev}" for lev in range(nlev)]
    tf = [""] * nlev if share_fwhm else [f"_{lev}" for lev in range(nlev)]
    names = [
        (
            [f"c{i}_s{lev}" for i in range(ncomp)],
            [f"c{i}_be{tb[lev]}" for i in range(ncomp)],
            [f"c{i}_fwhm{tf[lev]}" for i in range(ncomp)],
        )
        for lev in range(nlev)
    ]

    def peaks(p, lev: int) -> np.ndarray:
        ns, nb, nf = names[lev]
        shift = p[f"shift{lev}"]
        sizes = np.array([p[n] for n in ns])
        centers = np.array([p[n] for n in nb]) - shift
        fwhms = np.array([p[n] for n in nf])
        return evaluate(x, sizes, centers, fwhms)

    def background_of(p, lev: int, total: np.ndarray) -> np.ndarray:
        if static:
            return bgs[lev]
        cum = np.zeros_like(total)
        cum[1:] = np.cumsum(0.5 * (total[1:] + total[:-1]) * np.diff(x))
        return p[f"bg_a{lev}"] + p[f"bg_k{lev}"] * cum

    def residual_of(v: Mapping[str, float]) -> np.ndarray:
        out = []
        for lev in range(nlev):
            tot = np.sum(peaks(v, lev), axis=0)
            out.append(background_of(v, lev, tot) + tot - Y[lev])
        return np.concatenate(out)

    # Levels are the blocks: a level's own parameters (sizes, shift, active-background terms,
    # unshared positions and widths) change only its residuals, so the core engine perturbs
    # them at all levels at once (grouped Jacobian; lmfit's own when parameters are tied).
    result = fit_joint(
        residual_of,
        params,
        n_blocks=nlev,
        block_size=x.size,
        block_param=_LEVEL_PARAM,
        sigma=sigma,
        max_nfev=max_nfev,
        method="least_squares",
        x_scale="jac",
    )
    info = {
        "bgs": bgs,
        "bg_jac": bg_jac,
        "bg_uncertainty": bg_uncertainty,
        "static": static,
        "ref_comp": ref_comp,
        "peaks": peaks,
        "background_of": background_of,
    }
    return result, info


#: A level's own parameters (the joint fit's blocks): ``c<i>_s<level>``, ``shift<level>``,
#: ``bg_a<level>``, ``bg_k<level>``, unshared ``c<i>_be_<level>`` / ``c<i>_fwhm_<level>``.
_LEVEL_PARAM = re.compile(r"^(?:c\d+_s|shift|bg_a|bg_k|c\d+_be_|c\d+_fwhm_)(?P<block>\d+)$")


_CONSTRAINT_KEY = re.compile(r"^\s*(?P<name>.+?)\.(?P<what>be|fwhm)\s*$")


def _apply_constraints(params, constraints, comps, nlev, share_positions, share_fwhm, label):
    """Fix (a number) or tie (an expression) component positions and widths.

    Keys are ``"<component>.be"`` or ``"<component>.fwhm"``; an expression may use the same
    names and arithmetic, e.g. ``{"C-O.fwhm": "C-C.fwhm", "CO3.be": "C-C.be + 5.3"}``.
    """
    by_name = {c.name.lower(): i for i, c in enumerate(comps)}

    def pnames(i: int, what: str) -> list[str]:
        shared = share_positions if what == "be" else share_fwhm
        return [f"c{i}_{what}"] if shared else [f"c{i}_{what}_{lev}" for lev in range(nlev)]

    def lookup(key: str) -> tuple[int, str]:
        m = _CONSTRAINT_KEY.match(key)
        if not m or m.group("name").strip().lower() not in by_name:
            known = ", ".join(f"{c.name}.be, {c.name}.fwhm" for c in comps)
            raise InputError(f"{label}: constraint on {key!r} not understood; use one of {known}")
        return by_name[m.group("name").strip().lower()], m.group("what")

    # longest names first, so "O-C=O.be" is not read as "C=O.be"
    ordered = sorted(comps, key=lambda c: -len(c.name))
    for key, value in constraints.items():
        i, what = lookup(key)
        targets = pnames(i, what)
        if isinstance(value, int | float):
            for t in targets:
                params[t].set(value=float(value), vary=False)
            continue
        for k, t in enumerate(targets):
            expr = str(value)
            slots = {}
            for c in ordered:
                for w in ("be", "fwhm"):
                    token = f"{c.name}.{w}"
                    if token in expr:
                        slot = f"__slot{len(slots)}__"
                        names = pnames(by_name[c.name.lower()], w)
                        slots[slot] = names[k] if len(names) > 1 else names[0]
                        expr = expr.replace(token, slot)
            for slot, name in slots.items():
                expr = expr.replace(slot, name)
            try:
                params[t].set(expr=expr)
                params.update_constraints()
            except (NameError, SyntaxError, ValueError) as exc:
                raise InputError(
                    f"{label}: constraint {key} = {value!r} is not a valid expression ({exc})"
                ) from None


def _background_covariance(
    result: lmfit.minimizer.MinimizerResult,
    bg_jac: Sequence[np.ndarray] | None,
    sigma: np.ndarray | None,
    uncertainty: str,
) -> tuple[np.ndarray | None, str]:
    r"""The parameter covariance including the noise of a static background.

    The fit minimises ``|S⁻¹(f(p) + B(y) − y)|²`` (S = diag σ, or I unweighted); B is a
    function of the counts, so to first order the fitted parameters move by
    ``δp = G (I − D) δy`` with ``G = (JᵀWJ)⁻¹JᵀW``, J = ∂f/∂p, W = S⁻², D = ∂B/∂y. With
    ``Σ_y = S²`` that gives

    .. math:: \mathrm{Cov}_p = H^{-1} J_w^T (I - D_w)(I - D_w)^T J_w H^{-1},
              \quad J_w = S^{-1}J,\ D_w = S^{-1} D S,\ H = J_w^T J_w

    summed over levels (D is block-diagonal: a level's background depends on its own counts).
    ``H⁻¹`` alone is the usual covariance; the result carries the same reduced-χ² scaling as
    lmfit's ``result.covar`` (``scale_covar=True``: both are multiplied by χ²/(n − k), which
    also stands in for the unknown σ² of unweighted fits). J_w is the Jacobian lmfit's
    covariance was computed from (``result.jac``, columns ``result.var_names``).

    Returns ``(covariance, how)`` with ``how`` the words for the result's metadata; without a
    D (fitted or given backgrounds), a singular fit or no Jacobian, lmfit's covariance and
    why.
    """
    cov = result.covar
    if bg_jac is None:
        return cov, uncertainty
    if cov is None:
        return cov, "not propagated (singular covariance)"
    jac = getattr(result, "jac", None)
    if jac is None or not isinstance(jac, np.ndarray) or jac.shape[1] != cov.shape[0]:
        return cov, "not propagated (no Jacobian at the solution)"
    npts = bg_jac[0].shape[0]
    if jac.shape[0] != npts * len(bg_jac) or not np.all(np.isfinite(jac)):
        return cov, "not propagated (no Jacobian at the solution)"
    try:
        hinv = np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return cov, "not propagated (singular covariance)"
    k = np.zeros_like(hinv)
    for lev, dmat in enumerate(bg_jac):
        jl = jac[lev * npts : (lev + 1) * npts]
        if sigma is not None:
            s = np.asarray(sigma[lev], float)
            dmat = dmat * s[None, :] / s[:, None]
        a = jl - dmat.T @ jl
        k += a.T @ a
    # cov = c · H⁻¹ with lmfit's scale c, so cov K H⁻¹ = c · H⁻¹ K H⁻¹
    new = cov @ k @ hinv
    return 0.5 * (new + new.T), uncertainty


def _values_with(work: lmfit.Parameters, values: Mapping[str, float]) -> dict[str, float]:
    """Every parameter's value with ``values`` set and the tied parameters following their
    expressions; ``work`` (a scratch copy: copying Parameters is slow) gets its previous
    values of those parameters back (tied ones follow at the next call)."""
    old = {n: work[n].value for n in values}
    for n, v in values.items():
        work[n].set(value=float(v))
    work.update_constraints()
    out = work.valuesdict()
    for n, v in old.items():
        work[n].set(value=v)
    return out


def _param_stderr(result: lmfit.minimizer.MinimizerResult, cov: np.ndarray | None) -> dict:
    """Standard errors of all parameters from ``cov`` (varied ones: its diagonal; tied ones:
    propagated through their expressions with a numerical gradient)."""
    p = result.params
    names = list(result.var_names or [])
    out = {n: (None if par.stderr is None else float(par.stderr)) for n, par in p.items()}
    if cov is None or not names:
        return out
    for j, n in enumerate(names):
        out[n] = float(math.sqrt(max(cov[j, j], 0.0)))
    tied = [n for n, par in p.items() if par.expr]
    if not tied:
        return out
    grad = np.zeros((len(tied), len(names)))
    pp = p.copy()
    for j, n in enumerate(names):
        v0 = p[n].value
        h = 1e-6 * max(abs(v0), 1e-3)
        vals = []
        for sign in (1.0, -1.0):
            moved = _values_with(pp, {n: v0 + sign * h})
            vals.append(np.array([moved[t] for t in tied], float))
        grad[:, j] = (vals[0] - vals[1]) / (2 * h)
    var = np.einsum("ij,jk,ik->i", grad, cov, grad)
    for t, v in zip(tied, var, strict=True):
        out[t] = float(math.sqrt(max(v, 0.0)))
    return out


def _derived(result, comps, nlev, x, share_positions, share_fwhm, monte_carlo=0, seed=0, cov=None):
    """Areas, fractions, positions and widths per level, with propagated standard errors.

    ``cov`` is the parameter covariance to propagate (default lmfit's ``result.covar``; the
    fit passes the one with the static background's noise, :func:`_background_covariance`).
    With ``monte_carlo`` > 0 the standard errors are instead the standard deviations over
    that many draws of the fitted parameters from a normal distribution with that
    covariance, each draw clipped to the parameters' bounds (areas stay ≥ 0): fractions of
    weak components are bounded by 0 and skewed, which first-order propagation misses.
    """
    names = list(result.var_names or [])
    cov = result.covar if cov is None else cov
    base = result.params.valuesdict()
    window = (float(x.min()), float(x.max()))

    def quantities(v: Mapping[str, float]) -> np.ndarray:
        out = []
        for lev in range(nlev):
            tb = "" if share_positions else f"_{lev}"
            tf = "" if share_fwhm else f"_{lev}"
            areas = [
                _area(c, v[f"c{i}_s{lev}"], v[f"c{i}_fwhm{tf}"], window)
                for i, c in enumerate(comps)
            ]
            tot = sum(areas)
            fr = [a / tot if tot > 0 else math.nan for a in areas]
            raw = [v[f"c{i}_be{tb}"] for i in range(len(comps))]
            out.extend(areas + fr + raw + [v[f"c{i}_fwhm{tf}"] for i in range(len(comps))])
            out.append(v[f"shift{lev}"])
        return np.array(out, float)

    q0 = quantities(base)
    err = np.full_like(q0, math.nan)
    qcov = np.full((q0.size, q0.size), math.nan)
    if cov is not None and names and np.all(np.isfinite(cov)):
        p = result.params
        tied = any(par.expr for par in p.values())
        work = p.copy() if tied else None  # one copy, moved and put back: copying is slow

        def moved(values: Mapping[str, float]) -> dict[str, float]:
            if work is None:
                return {**base, **values}
            return _values_with(work, values)  # tied parameters follow their masters

        if monte_carlo and monte_carlo > 0:
            rng = np.random.default_rng(seed)
            x0 = np.array([p[n].value for n in names], float)
            lo = np.array([p[n].min for n in names], float)
            hi = np.array([p[n].max for n in names], float)
            draws = np.clip(rng.multivariate_normal(x0, cov, size=int(monte_carlo)), lo, hi)
            samples = np.array(
                [quantities(moved(dict(zip(names, map(float, d), strict=True)))) for d in draws]
            )
            qcov = np.cov(samples, rowvar=False)
            err = np.nanstd(samples, axis=0, ddof=1)
        else:
            J = np.zeros((q0.size, len(names)))
            for j, n in enumerate(names):
                h = 1e-6 * max(abs(p[n].value), 1e-3)
                up = quantities(moved({n: base[n] + h}))
                J[:, j] = (up - quantities(moved({n: base[n] - h}))) / (2 * h)
            qcov = J @ cov @ J.T
            err = np.sqrt(np.clip(np.diag(qcov), 0, None))
    return q0, err, qcov


def fit_region_levels(
    ds: xr.Dataset,
    region: str,
    *,
    components: Sequence[str | Component] | None = None,
    background: str | np.ndarray = "shirley",
    reference: str | None = "C-C=284.8",
    shifts: Sequence[float] | None = None,
    levels: Sequence[int] | None = None,
    share_positions: bool = True,
    share_fwhm: bool = True,
    end_points: int = 5,
    background_params: Mapping[str, Any] | None = None,
    window: tuple[float, float] | None = None,
    max_nfev: int | None = 20000,
    constraints: Mapping[str, float | str] | None = None,
    weights: str = "poisson",
    monte_carlo: int = 0,
    seed: int = 0,
) -> RegionFit:
    """Fit every etch level of one region jointly (one lmfit Parameters set).

    Parameters
    ----------
    ds
        A dataset from an XPS reader (:mod:`charact.xps.io`).
    region
        Region key (``"C1s"``, case-insensitive).
    components
        Library names (``"C-C"``), ad-hoc ``"NAME@BE"`` or :class:`Component` objects;
        default: every library component of the region whose window the axis covers.
    background
        One of :data:`BACKGROUNDS`.
    reference
        Charge reference (see :func:`parse_reference`); a component reference that is not
        among this region's components is ignored when ``shifts`` are given.
    shifts
        Fixed charge shifts per level (eV, added to measured BE), e.g. from the reference
        region of the same level.
    levels
        Levels to fit (default all).
    share_positions, share_fwhm
        Share corrected positions / FWHMs across levels (default) or free them per level.
    end_points
        Points averaged at each end for the static backgrounds.
    window
        ``(lo, hi)`` binding-energy range to fit (measured scale); default the whole region.
    constraints
        Fix or tie positions and widths: ``{"C-O.fwhm": "C-C.fwhm", "CO3.be": 290.0,
        "O-C=O.be": "C-O.be + 2.4"}`` (charge-corrected scale).
    weights
        ``"poisson"`` (default): each residual is divided by the counting-statistics σ of
        its point (:func:`poisson_sigma`; counts/s are turned into counts with the region's
        dwell × scans when the file gives them), so the weak, low-count shoulders and the
        intense peak tops count by their precision; ``"none"``: unweighted least squares
        (as Thermo Avantage fits; errors scaled by the reduced χ²).
    monte_carlo, seed
        When ``monte_carlo`` > 0, the standard errors of areas, fractions, positions and
        widths are the spread over that many draws of the parameters from the fit covariance
        (clipped to their bounds) instead of first-order propagation.

    Standard errors use the fit covariance scaled by the reduced χ² (lmfit's convention),
    with the noise of a static background (``linear``, ``shirley``, ``tougaard``: computed
    from the counts) propagated into it; each level's ``background["uncertainty"]`` and
    ``result.model["background_uncertainty"]`` say how the background's uncertainty entered.

    Returns
    -------
    RegionFit

    Raises
    ------
    InputError
        Unknown region/component, axis not covering a component, all-zero or negative counts.
    FitError
        The minimiser failed.
    """
    if weights not in WEIGHTS:
        raise InputError(f"weights {weights!r} not one of {', '.join(WEIGHTS)}")
    levels = list(range(ds.sizes["etch_level"])) if levels is None else list(levels)
    spectra = [get_region(ds, region, level=lev) for lev in levels]
    key = spectra[0].attrs["region_key"]
    x = np.asarray(spectra[0]["binding_energy"].values, float)
    Y = []
    for s in spectra:
        xs = np.asarray(s["binding_energy"].values, float)
        Y.append(
            s.values if xs.size == x.size and np.allclose(xs, x) else np.interp(x, xs, s.values)
        )
    Y = np.array(Y, float)
    if not isinstance(background, str):
        background = np.broadcast_to(np.asarray(background, float), Y.shape)
    if window is not None:
        sel = (x >= min(window)) & (x <= max(window))
        if sel.sum() < 10:
            raise InputError(f"{key}: window {window} keeps {sel.sum()} points; need ≥ 10")
        x, Y = x[sel], Y[:, sel]
        if not isinstance(background, str):
            background = background[:, sel]
    ref = parse_reference(reference)
    comps = _resolve_components(components, key, x, ref)
    dropped: list[str] = []
    if not components and len(comps) > 1:
        comps, dropped = _prune_library_components(
            x,
            Y,
            comps,
            key=key,
            spectra=spectra,
            background=background,
            ref=ref,
            shifts=shifts,
            end_points=end_points,
            background_params=background_params or {},
            weights=weights,
        )
    out = _fit_arrays(
        x,
        Y,
        comps,
        key=key,
        spectra=spectra,
        levels=levels,
        background=background,
        ref=ref,
        shifts=shifts,
        share_positions=share_positions,
        share_fwhm=share_fwhm,
        end_points=end_points,
        background_params=background_params or {},
        max_nfev=max_nfev,
        constraints=constraints,
        weights=weights,
        monte_carlo=monte_carlo,
        seed=seed,
    )
    if dropped:
        note = (
            f"{key}: library components {', '.join(dropped)} dropped — not supported by the "
            "level-averaged spectrum (name components to keep them)"
        )
        out.flags.insert(0, note)
        if out.result.flags is not out.flags:
            out.result.flags.insert(0, note)
        out.result.model["dropped_components"] = dropped
    return out


def _prune_library_components(
    x,
    Y,
    comps,
    *,
    key,
    spectra,
    background,
    ref,
    shifts,
    end_points,
    background_params,
    weights="poisson",
):
    """Fit the level-averaged spectrum with every library component; keep the supported ones.

    A library region can hold eight components; fitting them all at every level is slow and
    leaves most of them at zero. One fit of the mean spectrum (fast) decides which to keep;
    the charge-reference component is always kept. A component is kept when it holds at
    least 2 % of the area and (when a standard error exists) more than twice its error.
    """
    mean = Y.mean(axis=0, keepdims=True)
    bg = background if isinstance(background, str) else background.mean(axis=0, keepdims=True)
    probe_shift = None if shifts is None else [float(np.mean(shifts))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = _fit_arrays(
            x,
            mean,
            comps,
            key=key,
            spectra=spectra[:1],
            levels=[0],
            background=bg,
            ref=ref,
            shifts=probe_shift,
            share_positions=True,
            share_fwhm=True,
            end_points=end_points,
            background_params=background_params,
            max_nfev=20000,
            weights=weights,
        )
    keep, dropped = [], []
    for c, cf in zip(comps, probe.levels[0].components, strict=True):
        ref_name = ref[1].lower() if ref is not None and ref[0] == "component" else None
        # with many overlapping candidates the covariance is often singular (no stderr):
        # then the share of the area alone decides
        significant = not np.isfinite(cf.area_stderr) or cf.area > 2 * cf.area_stderr
        total = sum(k.area for k in probe.levels[0].components)
        if c.name.lower() == ref_name or (significant and cf.area > 0.02 * total):
            keep.append(c)
        else:
            dropped.append(c.name)
    return (keep, dropped) if keep else (comps, [])


def _resolve_components(components, key, x, ref) -> list[Component]:
    if components:
        comps = [component(c, key) for c in components]
    else:
        comps = [c for c in region_components(key) if c.be_max >= x.min() and c.be_min <= x.max()]
        if not comps:
            raise InputError(
                f"{key}: the species library has no components for this region in "
                f"{x.min():.1f}–{x.max():.1f} eV",
                hint="name components with --components NAME@BE,...",
            )
    seen = set()
    for c in comps:
        if c.name in seen:
            raise InputError(f"{key}: component {c.name!r} is given twice")
        seen.add(c.name)
    return comps


def _fit_arrays(
    x,
    Y,
    comps,
    *,
    key,
    spectra,
    levels,
    background,
    ref,
    shifts,
    share_positions,
    share_fwhm,
    end_points,
    background_params,
    max_nfev,
    constraints=None,
    weights="poisson",
    monte_carlo=0,
    seed=0,
):
    nlev = Y.shape[0]
    src = spectra[0].attrs.get("source_file", "")
    label = f"{src + ': ' if src else ''}{key}"
    sigma, weight_text = _sigma(Y, spectra, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result, info = _joint_fit(
            x,
            Y,
            comps,
            background=background,
            reference=ref,
            shifts=shifts,
            share_positions=share_positions,
            share_fwhm=share_fwhm,
            end_points=end_points,
            background_params=background_params,
            label=label,
            max_nfev=max_nfev,
            constraints=constraints,
            sigma=sigma,
        )
    if not result.success and result.nfev == 0:
        raise FitError(f"{label}: the fit could not start ({result.message})")
    cov, bg_uncertainty = _background_covariance(
        result, info["bg_jac"], sigma, info["bg_uncertainty"]
    )
    q, e, qcov = _derived(
        result,
        comps,
        nlev,
        x,
        share_positions,
        share_fwhm,
        monte_carlo=monte_carlo,
        seed=seed,
        cov=cov,
    )
    stderr = _param_stderr(result, cov)
    ncomp = len(comps)
    per = 4 * ncomp + 1
    v = result.params.valuesdict()
    flags: list[str] = []
    levels_out = []
    curve_data, curve_bg, curve_env, curve_comp = [], [], [], []
    ss_tot_all = 0.0
    ss_res_all = 0.0
    for li in range(nlev):
        block, eb = q[li * per : (li + 1) * per], e[li * per : (li + 1) * per]
        areas, fr, be, fw = (block[k * ncomp : (k + 1) * ncomp] for k in range(4))
        a_e, f_e, be_e, fw_e = (eb[k * ncomp : (k + 1) * ncomp] for k in range(4))
        shift, shift_e = block[-1], eb[-1]
        pk = info["peaks"](v, li)
        tot = np.sum(pk, axis=0)
        bg = info["background_of"](v, li, tot)
        env = bg + tot
        res = Y[li] - env
        nfree = max(Y[li].size - result.nvarys / nlev, 1)
        wres = res if sigma is None else res / sigma[li]
        redchi = float(np.sum(wres**2) / nfree)
        ss_tot = float(np.sum((Y[li] - Y[li].mean()) ** 2))
        ss_tot_all += ss_tot
        ss_res_all += float(np.sum(res**2))
        r2 = 1 - float(np.sum(res**2)) / ss_tot if ss_tot > 0 else math.nan
        lflags = []
        total_area = float(np.sum(areas))
        cfits = []
        for i, c in enumerate(comps):
            if total_area <= 0 or areas[i] <= 1e-3 * total_area or areas[i] < 2 * a_e[i]:
                lflags.append(
                    f"{key} level {levels[li]}: component {c.name!r} collapsed to ~zero area "
                    f"({areas[i]:.3g} ± {a_e[i]:.2g}); it is not supported by the data"
                )
            cfits.append(
                ComponentFit(
                    name=c.name,
                    species=c.species,
                    formula=c.formula,
                    atoms=c.atoms,
                    be=float(be[i]),
                    be_stderr=float(be_e[i]),
                    fwhm=float(fw[i]),
                    fwhm_stderr=float(fw_e[i]),
                    area=float(areas[i]),
                    area_stderr=float(a_e[i]),
                    fraction=float(fr[i]),
                    fraction_stderr=float(f_e[i]),
                    lineshape=c.lineshape,
                )
            )
        ref_c = info["ref_comp"]
        adventitious = ref_c is not None and ref_c.species.startswith("C-C")
        if adventitious and spectra[li].attrs.get("etch_time_s", 0) > 0:
            msg = (
                f"{key} level {levels[li]}: charge reference {info['ref_comp'].name} after "
                "etching — adventitious carbon may be gone; consider an internal reference"
            )
            lflags.append(msg)
            warnings.warn(msg, AssumptionWarning, stacklevel=3)
        method = background if isinstance(background, str) else "given curve"
        bg_info = {
            "method": method,
            "end_points": end_points,
            **dict(background_params),
            "uncertainty": bg_uncertainty,
        }
        if not info["static"]:
            bg_info.update(a=_clean(v[f"bg_a{li}"]), k=_clean(v[f"bg_k{li}"]))
        flags += lflags
        curve_data.append(Y[li])
        curve_bg.append(bg)
        curve_env.append(env)
        curve_comp.append(pk)
        cds = xr.Dataset(
            coords={"binding_energy": xr.Variable("binding_energy", x, {"units": "eV"})}
        )
        units = spectra[li].attrs.get("units", "counts")
        cds["data"] = xr.Variable("binding_energy", Y[li], {"units": units})
        cds["background"] = xr.Variable("binding_energy", bg, {"units": units})
        cds["envelope"] = xr.Variable("binding_energy", env, {"units": units})
        cds["residual"] = xr.Variable("binding_energy", res, {"units": units})
        for i, c in enumerate(comps):
            cds[f"component_{i}"] = xr.Variable(
                "binding_energy", pk[i], {"units": units, "component": c.name}
            )
        levels_out.append(
            LevelFit(
                level=int(levels[li]),
                etch_time_s=float(spectra[li].attrs.get("etch_time_s", math.nan)),
                charge_shift_eV=float(shift),
                charge_shift_stderr=float(shift_e),
                components=cfits,
                redchi=redchi,
                r2=r2,
                background=bg_info,
                curves=cds,
                flags=lflags,
                area_cov=qcov[li * per : li * per + ncomp, li * per : li * per + ncomp],
            )
        )
    params = {
        n: Parameter(
            value=float(p.value),
            stderr=math.nan if stderr[n] is None else stderr[n],
            min=float(p.min),
            max=float(p.max),
            vary=bool(p.vary),
            expr=p.expr or "",
            units="eV" if ("_be" in n or "_fwhm" in n or n.startswith("shift")) else "",
        )
        for n, p in result.params.items()
    }
    at_bound = [n for n, p in params.items() if p.at_bound() and not re.match(r"c\d+_s\d", n)]
    for n in at_bound:
        i = int(re.match(r"c(\d+)", n).group(1)) if n.startswith("c") else None
        what = f"{comps[i].name} {n.split('_', 1)[1]}" if i is not None else n
        flags.append(
            f"{key}: parameter {what} is at a bound ({params[n].value:g}) — "
            "the library window may not suit this sample"
        )
    if result.nvarys and (result.covar is None):
        flags.append(f"{key}: standard errors could not be estimated (singular covariance)")
    if not result.success:
        flags.append(f"{key}: fit did not converge: {result.message}")
    units = spectra[0].attrs.get("units", "counts")
    curves = xr.Dataset(
        coords={
            "etch_level": xr.Variable("etch_level", np.array(levels), {"units": "1"}),
            "binding_energy": xr.Variable("binding_energy", x, {"units": "eV"}),
            "component": xr.Variable(
                "component", np.array([c.name for c in comps], str), {"units": "1"}
            ),
        }
    )
    dims2 = ("etch_level", "binding_energy")
    curves["data"] = xr.Variable(dims2, np.array(curve_data), {"units": units})
    curves["background"] = xr.Variable(dims2, np.array(curve_bg), {"units": units})
    curves["best_fit"] = xr.Variable(dims2, np.array(curve_env), {"units": units})
    curves["residual"] = xr.Variable(
        dims2, np.array(curve_data) - np.array(curve_env), {"units": units}
    )
    curves["components"] = xr.Variable(
        ("etch_level", "component", "binding_energy"), np.array(curve_comp), {"units": units}
    )
    stats = {
        "chi2": float(result.chisqr),
        "redchi": float(result.redchi),
        "r2": 1 - ss_res_all / ss_tot_all if ss_tot_all > 0 else math.nan,
        "aic": float(result.aic),
        "bic": float(result.bic),
        "nfev": int(result.nfev),
        "ndata": int(result.ndata),
        "nvarys": int(result.nvarys),
        "success": bool(result.success),
        "message": str(result.message or ""),
    }
    ref_text = _reference_text(ref, info["ref_comp"], shifts)
    model = {
        "region": key,
        "components": [c.to_dict() for c in comps],
        "background": background if isinstance(background, str) else "given curve",
        "reference": ref_text,
        "share_positions": share_positions,
        "share_fwhm": share_fwhm,
        "constraints": dict(constraints or {}),
        "weights": weight_text,
        "uncertainty": (
            f"Monte Carlo, {int(monte_carlo)} draws of the parameters (seed {seed})"
            if monte_carlo and monte_carlo > 0
            else "first-order propagation of the fit covariance"
        ),
        "background_uncertainty": bg_uncertainty,
        "engine": "charact.core.batchfit.fit_joint (lmfit least_squares, joint over levels)",
    }
    prov = provenance_of(spectra[0])
    fr = FitResult(
        analysis="xps.fit_region",
        parameters=params,
        statistics=stats,
        model=model,
        curves=curves,
        provenance=prov,
        flags=flags,
    )
    return RegionFit(region=key, levels=levels_out, result=fr, reference=ref_text, flags=flags)


def _sigma(Y: np.ndarray, spectra, weights: str) -> tuple[np.ndarray | None, str]:
    """Per-point σ of every level for the chosen weighting, and the weighting in words."""
    if weights == "none":
        return None, "none (unweighted least squares; errors scaled by the reduced chi-square)"
    units = str(spectra[0].attrs.get("units", "counts")).replace(" ", "").lower()
    exposure = None
    if units in ("counts", "count"):
        exposure, how = 1.0, "sigma = sqrt(counts)"
    else:
        dwell = float(spectra[0].attrs.get("dwell_s", math.nan) or math.nan)
        scans = float(spectra[0].attrs.get("scans", math.nan) or math.nan)
        if math.isfinite(dwell) and math.isfinite(scans) and dwell > 0 and scans > 0:
            exposure = dwell * scans
            how = f"sigma = sqrt(rate x {exposure:g} s) / {exposure:g} s (dwell x scans)"
        else:
            how = "sigma proportional to sqrt(rate) (no dwell/scans in the file: relative weights)"
    # The variance is taken from the spectrum smoothed over 7 channels, not from each noisy
    # channel: weights that depend on the channel's own noise favour low fluctuations and
    # bias areas low (the Neyman chi-square bias, e.g. ~0.6 sigma on a 40-count shoulder);
    # the local mean is close to the expected count without that correlation.
    sigma = np.array([poisson_sigma(_smooth(y), exposure) for y in Y])
    return (
        sigma,
        f"poisson ({how}, counts smoothed over 7 channels); "
        "errors scaled by the reduced chi-square",
    )


def _smooth(y: np.ndarray, n: int = 7) -> np.ndarray:
    """Moving average over ``n`` channels (ends: the average of the channels available)."""
    y = np.asarray(y, float)
    if y.size < n:
        return y
    kernel = np.ones(n)
    return np.convolve(y, kernel, mode="same") / np.convolve(np.ones_like(y), kernel, mode="same")


def _reference_text(ref, ref_comp, shifts) -> str:
    if ref_comp is not None:
        return f"component {ref_comp.name} = {ref[2]:g} eV (per-level shift fitted)"
    if shifts is not None:
        return "shifts fixed from the reference region of each level"
    if ref is not None and ref[0] == "shift":
        return f"fixed shift {ref[2]:+g} eV"
    return "none (binding energies as measured)"


def fit_region(
    da: xr.DataArray | xr.Dataset,
    *,
    region: str | None = None,
    level: int = 0,
    components: Sequence[str | Component] | None = None,
    background: str | np.ndarray = "shirley",
    reference: str | None = "C-C=284.8",
    end_points: int = 5,
    background_params: Mapping[str, Any] | None = None,
    window: tuple[float, float] | None = None,
    constraints: Mapping[str, float | str] | None = None,
    weights: str = "poisson",
    monte_carlo: int = 0,
    seed: int = 0,
) -> RegionFit:
    """Fit one region at one level (a single spectrum).

    ``da`` is a dataset from an XPS reader (then ``region`` names the region; it may be
    omitted when the file has one) or a 1-D spectrum on ``binding_energy`` from
    :func:`charact.xps.io.get_region`. A component reference that is not among the
    components (e.g. C-C for an F 1s region) leaves energies as measured, with a flag.

    See :func:`fit_region_levels` for the other parameters.
    """
    if isinstance(da, xr.DataArray):
        if "binding_energy" not in da.dims or da.ndim != 1:
            raise InputError("fit_region needs a 1-D spectrum on 'binding_energy' or a dataset")
        key = da.attrs.get("region_key") or region or "region"
        ds = _single_dataset(da, key)
        region = key
    else:
        ds = da
        from .io import region_names

        names = region_names(ds)
        if region is None:
            if len(names) != 1:
                raise InputError(
                    f"{ds.attrs.get('source_file') or 'dataset'} has regions "
                    f"{', '.join(names)}; say which with region="
                )
            region = names[0]
    ref = parse_reference(reference)
    shifts = None
    flags = []
    if ref is not None and ref[0] == "component":
        key = region
        comps_names = (
            [component(c, _key(region)).name.lower() for c in components]
            if components
            else [c.name.lower() for c in region_components(_key(region))]
        )
        if ref[1].lower() not in comps_names:
            shifts = [0.0]
            flags.append(
                f"charge reference {ref[1]} is not a component of {region}; "
                "binding energies are as measured"
            )
    out = fit_region_levels(
        ds,
        region,
        components=components,
        background=background,
        reference=reference,
        shifts=shifts,
        levels=[level],
        end_points=end_points,
        background_params=background_params,
        window=window,
        constraints=constraints,
        weights=weights,
        monte_carlo=monte_carlo,
        seed=seed,
    )
    out.flags = flags + out.flags
    out.result.flags = list(out.flags)
    if shifts is not None:
        out.reference = "none (binding energies as measured)"
    return out


def _key(region: str) -> str:
    from .io import region_key

    return region_key(region)


def _single_dataset(da: xr.DataArray, key: str) -> xr.Dataset:
    dim = f"binding_energy_{key}"
    ds = xr.Dataset(
        coords={
            "etch_level": xr.Variable("etch_level", [0], {"units": "1"}),
            "etch_time": xr.Variable(
                "etch_level", [da.attrs.get("etch_time_s", math.nan)], {"units": "s"}
            ),
            dim: xr.Variable(dim, np.asarray(da["binding_energy"].values, float), {"units": "eV"}),
        }
    )
    ds[key] = xr.Variable(
        ("etch_level", dim),
        np.asarray(da.values, float)[None, :],
        {"units": da.attrs.get("units", "counts"), "role": "counts"},
    )
    ds.attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "etch_time_s")}
    ds.attrs["regions"] = f'["{key}"]'
    return ds
