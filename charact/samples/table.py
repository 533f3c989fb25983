"""One row per sample, one column per metric: the cross-technique table behind ``charact table``.

A metric is named ``<technique>.<quantity>``, optionally with a condition after ``@``:

========================================  ==============================================
metric                                    value (from the stored result documents)
========================================  ==============================================
``xrd.si_to_cu_ratio``                    Si(111)/Cu(111) integrated intensity ratio
``xrd.phases``                            phases found present (text)
``xrd.<Phase>_present``                   1 when the phase is found, 0 when not
``raman.ID_IG_height``, ``…_area``        I_D/I_G by height or by area
``raman.crystalline_fraction``            Si crystalline fraction Xc
``raman.si_state``                        crystalline / amorphous / mixed / absent (text)
``raman.G_center``, ``raman.cSi_center``  band positions (cm⁻¹)
``xps.<Species>_percent@<D>nm``           species % at depth D (linear between levels)
``xps.<Species>_percent@level<k>``        species % at etch level k (0 = surface)
``xps.transition_depth_nm``               depth of the outer → inner SEI transition
``sem.d10_um``, ``d50_um``, ``d90_um``    number-weighted ECD percentiles
``sem.n_particles``, ``sem.aspect_ratio``,  count, median aspect ratio, mean circularity
``sem.circularity``
``echem.initial_ce``, ``echem.retention``   Coulombic efficiency of cycle 1, retention
``echem.first_charge_mAh_g``, ``…last…``  charge capacity of the first / last cycle
``echem.cycles``                          number of cycles
``echem.R_SEI_ohm``, ``echem.R_ct_ohm``   fast and slow arc resistance (ordered by τ)
``echem.Ea_eV``                           Arrhenius activation energy
``echem.sigma_S_cm@<T>C``                 conductivity at temperature T (°C)
========================================  ==============================================

Several measurements of one sample (two Raman spots) are averaged, standard errors
propagated; every numeric metric has a ``<metric>_stderr`` column (empty where the analysis
gives none).
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..core.errors import CharactWarning, InputError, close_matches
from .analyze import _arcs_by_tau, _num
from .catalog import Catalog
from .compare import load_docs

__all__ = ["DEFAULT_METRICS", "METRICS", "metric_value", "sample_table"]

Docs = Mapping[str, Sequence[Mapping[str, Any]]]
Value = tuple[Any, float | None]

#: Columns of ``charact table`` when no ``--metrics`` are given.
DEFAULT_METRICS = (
    "xrd.si_to_cu_ratio",
    "xrd.phases",
    "raman.ID_IG_height",
    "raman.crystalline_fraction",
    "raman.si_state",
    "xps.LiF_percent@level0",
    "xps.LiF_percent@level-1",
    "sem.d50_um",
    "echem.initial_ce",
    "echem.retention",
    "echem.R_SEI_ohm",
    "echem.R_ct_ohm",
)


def _avg(values: Sequence[Value]) -> Value:
    nums = [(float(v), e) for v, e in values if _num(v) is not None]
    if not nums:
        texts = sorted({str(v) for v, _ in values if v not in (None, "")})
        return (", ".join(texts) if texts else None), None
    mean = sum(v for v, _ in nums) / len(nums)
    errs = [e for _, e in nums]
    err = (
        math.sqrt(sum(e * e for e in errs)) / len(nums)
        if all(e is not None for e in errs)
        else None
    )
    return mean, err


def _from(analysis: str, get: Callable[[Mapping[str, Any]], Value]) -> Callable[[Docs], Value]:
    def metric(docs: Docs) -> Value:
        return _avg([get(d) for d in docs.get(analysis, [])])

    return metric


def _g(doc: Mapping[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)  # type: ignore[assignment]
    return doc


def _raman_peak(name: str) -> Callable[[Mapping[str, Any]], Value]:
    return lambda d: (_g(d, "peaks", name, "center"), _num(_g(d, "peaks", name, "center_stderr")))


def _first_last(which: str) -> Callable[[Mapping[str, Any]], Value]:
    def get(d: Mapping[str, Any]) -> Value:
        cycles = d.get("cycles") or []
        if not cycles:
            return None, None
        return (cycles[0] if which == "first" else cycles[-1]).get("charge_mAh_g"), None

    return get


def _arc(k: int) -> Callable[[Mapping[str, Any]], Value]:
    def get(d: Mapping[str, Any]) -> Value:
        arcs = _arcs_by_tau(d)
        if len(arcs) <= k:
            return None, None
        return arcs[k].get("R_ohm"), _num(arcs[k].get("R_stderr"))

    return get


#: Fixed metrics: name -> function of ``{analysis: [documents]}``.
METRICS: dict[str, Callable[[Docs], Value]] = {
    "xrd.si_to_cu_ratio": _from(
        "xrd.identify", lambda d: (d.get("si_to_cu_ratio"), _num(d.get("si_to_cu_ratio_stderr")))
    ),
    "xrd.phases": _from(
        "xrd.identify", lambda d: (" ".join(sorted(d.get("phases_present", []))), None)
    ),
    "raman.ID_IG_height": _from(
        "raman.fit",
        lambda d: (_g(d, "ratios", "ID_IG_height"), _num(_g(d, "ratios", "ID_IG_height_stderr"))),
    ),
    "raman.ID_IG_area": _from(
        "raman.fit",
        lambda d: (_g(d, "ratios", "ID_IG_area"), _num(_g(d, "ratios", "ID_IG_area_stderr"))),
    ),
    "raman.crystalline_fraction": _from(
        "raman.fit",
        lambda d: (
            _g(d, "silicon", "crystalline_fraction"),
            _num(_g(d, "silicon", "crystalline_fraction_stderr")),
        ),
    ),
    "raman.si_state": _from("raman.fit", lambda d: (_g(d, "silicon", "state"), None)),
    "raman.G_center": _from("raman.fit", _raman_peak("G")),
    "raman.cSi_center": _from("raman.fit", _raman_peak("c-Si")),
    "xps.transition_depth_nm": _from(
        "xps.depth_profile", lambda d: (d.get("transition_depth_nm"), None)
    ),
    "sem.d10_um": _from("sem.size", lambda d: (_g(d, "ecd_um", "d10"), None)),
    "sem.d50_um": _from("sem.size", lambda d: (_g(d, "ecd_um", "d50"), None)),
    "sem.d90_um": _from("sem.size", lambda d: (_g(d, "ecd_um", "d90"), None)),
    "sem.n_particles": _from("sem.size", lambda d: (d.get("n_particles"), None)),
    "sem.aspect_ratio": _from("sem.size", lambda d: (_g(d, "aspect_ratio", "median"), None)),
    "sem.circularity": _from("sem.size", lambda d: (_g(d, "circularity", "mean"), None)),
    "echem.initial_ce": _from("echem.cycling", lambda d: (d.get("initial_ce"), None)),
    "echem.retention": _from("echem.cycling", lambda d: (d.get("retention"), None)),
    "echem.cycles": _from("echem.cycling", lambda d: (len(d.get("cycles") or []), None)),
    "echem.first_charge_mAh_g": _from("echem.cycling", _first_last("first")),
    "echem.last_charge_mAh_g": _from("echem.cycling", _first_last("last")),
    "echem.R_SEI_ohm": _from("echem.eis", _arc(0)),
    "echem.R_ct_ohm": _from("echem.eis", _arc(1)),
    "echem.Ea_eV": _from(
        "echem.conductivity",
        lambda d: (_g(d, "arrhenius", "Ea_eV"), _num(_g(d, "arrhenius", "Ea_stderr"))),
    ),
}

_XPS = re.compile(r"^xps\.(?P<species>.+)_percent@(?:(?P<depth>-?[\d.]+)nm|level(?P<level>-?\d+))$")
_SIGMA = re.compile(r"^echem\.sigma_S_cm@(?P<t>-?[\d.]+)C$")


def _xps_metric(species: str, depth: float | None, level: int | None) -> Callable[[Docs], Value]:
    def get(d: Mapping[str, Any]) -> Value:
        levels = d.get("levels") or []
        if not levels:
            return None, None
        if level is not None:
            if not -len(levels) <= level < len(levels):
                return None, None
            lv = levels[level]
            return (
                _g(lv, "species_percent", species),
                _num(_g(lv, "species_percent_stderr", species)),
            )
        pts = [
            (float(lv["depth_nm"]), lv)
            for lv in levels
            if _num(lv.get("depth_nm")) is not None
            and _num(_g(lv, "species_percent", species)) is not None
        ]
        pts.sort(key=lambda p: p[0])
        if not pts or depth is None or not pts[0][0] <= depth <= pts[-1][0]:
            return None, None  # no extrapolation outside the etched range
        for (x0, a), (x1, b) in itertools.pairwise(pts):
            if x0 <= depth <= x1:
                w = 0.0 if x1 == x0 else (depth - x0) / (x1 - x0)
                va, vb = a["species_percent"][species], b["species_percent"][species]
                ea = _num(_g(a, "species_percent_stderr", species))
                eb = _num(_g(b, "species_percent_stderr", species))
                err = (
                    math.hypot((1 - w) * ea, w * eb) if ea is not None and eb is not None else None
                )
                return (1 - w) * va + w * vb, err
        lv = pts[-1][1]
        return lv["species_percent"][species], _num(_g(lv, "species_percent_stderr", species))

    return _from("xps.depth_profile", get)


def _sigma_metric(t_c: float) -> Callable[[Docs], Value]:
    def get(d: Mapping[str, Any]) -> Value:
        for p in d.get("points", []):
            if _num(p.get("T_K")) is not None and abs(p["T_K"] - 273.15 - t_c) < 0.5:
                return p.get("sigma_S_cm"), None
        return None, None

    return _from("echem.conductivity", get)


def _resolve(name: str) -> Callable[[Docs], Value]:
    if name in METRICS:
        return METRICS[name]
    m = _XPS.match(name)
    if m:
        depth = float(m["depth"]) if m["depth"] is not None else None
        level = int(m["level"]) if m["level"] is not None else None
        return _xps_metric(m["species"], depth, level)
    m = _SIGMA.match(name)
    if m:
        return _sigma_metric(float(m["t"]))
    phase = re.match(r"^xrd\.(?P<phase>.+)_present$", name)
    if phase:
        ph = phase["phase"]
        return _from(
            "xrd.identify", lambda d: (1.0 if ph in d.get("phases_present", []) else 0.0, None)
        )
    known = [*METRICS, "xps.<Species>_percent@<D>nm", "xps.<Species>_percent@level<k>"]
    hint = close_matches(name, list(METRICS))
    raise InputError(
        f"unknown metric {name!r}"
        + (f"; did you mean {', '.join(hint)}?" if hint else "")
        + f" Known: {', '.join(known)}, echem.sigma_S_cm@<T>C, xrd.<Phase>_present"
    )


def metric_value(name: str, docs: Docs) -> Value:
    """The value of one metric (and its standard error) from a sample's result documents.

    Parameters
    ----------
    name
        A metric name (module docstring).
    docs
        ``{analysis: [documents]}`` of one sample, as :func:`charact.samples.compare.current_docs`
        gives them.

    Returns
    -------
    value, stderr
        ``(None, None)`` when the sample has no such result.
    """
    return _resolve(name)(docs)


def sample_table(catalog: Catalog, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per sample, one column per metric (and ``<metric>_stderr`` for numbers).

    Parameters
    ----------
    catalog
        The project's catalogue (run :func:`charact.samples.analyze.analyze_project` first).
    metrics
        Metric names (module docstring); default :data:`DEFAULT_METRICS`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``sample_id``, in the catalogue's order. Missing values are NaN/None.
        ``attrs["problems"]`` holds ``{sample_id: ["technique: reason"]}`` for settings that
        kept a sample's results out (each also given as a :class:`CharactWarning`).

    Raises
    ------
    InputError
        A metric name is not known (with close matches).
    """
    names = list(metrics or DEFAULT_METRICS)
    if not names:
        raise InputError("no metrics asked for")
    getters = {n: _resolve(n) for n in names}
    rows = []
    ids = [s["sample_id"] for s in catalog.list_samples()]
    problems: dict[str, list[str]] = {}
    all_docs = load_docs(catalog, ids, problems=problems)
    for sid in ids:
        docs = all_docs[sid]
        row: dict[str, Any] = {"sample_id": sid}
        for n, get in getters.items():
            value, err = get(docs)
            row[n] = value
            if value is None or _num(value) is not None:
                row[f"{n}_stderr"] = err
        rows.append(row)
    df = pd.DataFrame(rows).set_index("sample_id") if rows else pd.DataFrame()
    # stderr columns only for metrics that are numbers somewhere
    for n in names:
        col = f"{n}_stderr"
        if col in df and n in df and df[n].map(lambda v: _num(v) is None).all():
            df = df.drop(columns=col)
    # Settings that kept a sample's results out (its cells are empty): said, not hidden.
    df.attrs["problems"] = problems
    for sid, reasons in problems.items():
        for why in reasons:
            warnings.warn(f"{sid}: results left out, {why}", CharactWarning, stacklevel=2)
    return df
