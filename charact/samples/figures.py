"""Figures of stored results: one per analysed measurement, and the cross-sample overlays.

:func:`result_figure` draws the figure of one analysis with the technique's own plot
function (the same figure ``charact <technique> ... --plot`` writes) and saves it atomically as
PNG or SVG. ``charact analyze`` keeps one PNG beside each result document, so a report can
embed it without re-running anything.

:func:`comparison_figures` draws the overlays a comparison needs from the result documents
alone (JSON, no raw data): XPS species % versus depth per sample, Raman I_D/I_G and Si
crystalline fraction per sample, capacity versus cycle, and the XRD Si/Cu ratio.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.store import atomic_write
from .analyze import _num, _objs

__all__ = ["FIGURE_FORMATS", "comparison_figures", "figure_bytes", "result_figure", "save_figure"]

#: File suffixes a figure can be saved as.
FIGURE_FORMATS = (".png", ".svg")


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig: Any, fmt: str = "png", *, dpi: int = 110) -> bytes:
    """The figure rendered as PNG or SVG bytes (the figure is closed afterwards)."""
    plt = _pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_figure(fig: Any, path: str | PathLike[str], *, dpi: int = 110) -> Path:
    """Save a figure as PNG or SVG, atomically (a half-written figure never appears)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        _pyplot().close(fig)
        raise InputError(f"figures are saved as {' or '.join(FIGURE_FORMATS)}", path=target)
    data = figure_bytes(fig, suffix[1:], dpi=dpi)
    with atomic_write(target, "wb") as fh:
        fh.write(data)
    return target


# ------------------------------------------------------------------- one result's figure


def _xrd(obj: Any, result: Any, plt: Any) -> Any:
    from ..xrd.plot import plot_identification

    fig, ax = plt.subplots(figsize=(10, 5.5))
    plot_identification(result, ax=ax)
    return fig


def _raman(obj: Any, result: Any, plt: Any) -> Any:
    from ..raman.plot import plot_fit

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_fit(result, ax=ax)
    return fig


def _raman_map(obj: Any, result: Any, plt: Any) -> Any:
    from ..raman.plot import plot_map_overview

    axes = plot_map_overview(result)
    return axes[0].figure


def _xps(obj: Any, result: Any, plt: Any) -> Any:
    from ..xps.plot import plot_species_profile

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_species_profile(result, ax=ax)
    return fig


def _sem(obj: Any, result: Any, plt: Any) -> Any:
    from ..sem.plot import plot_overlay, plot_size_histogram

    image = obj if getattr(obj, "ndim", 0) == 2 else None
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.3, 1]})
    if image is not None:
        plot_overlay(image, result, ax=axes[0], labels=False)
    else:
        axes[0].set_visible(False)
    plot_size_histogram(result, ax=axes[1])
    return fig


def _cycling(obj: Any, result: Any, plt: Any) -> Any:
    from ..echem.plot import plot_capacity

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_capacity(result, ax=ax)
    return fig


def _eis(obj: Any, result: Any, plt: Any) -> Any:
    from ..echem.plot import plot_nyquist

    fit = result.fit
    fig, ax = plt.subplots(figsize=(7, 5))
    plot_nyquist(fit.frequency, fit.z, fit.z_fit, ax=ax)
    ax.set_title(f"{fit.circuit}  (Kramers-Kronig µ = {result.kk.mu:.2f})")
    return fig


def _cv(obj: Any, result: Any, plt: Any) -> Any:
    from ..echem.plot import plot_cv

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_cv(obj, result, ax=ax)
    return fig


def _conductivity(obj: Any, result: Any, plt: Any) -> Any:
    from ..echem.plot import plot_arrhenius

    pts = [p for p in result.points if "T_K" in p]
    fig, ax = plt.subplots(figsize=(7, 5))
    if pts:
        plot_arrhenius(
            [p["T_K"] for p in pts], [p["sigma_S_cm"] for p in pts], result.arrhenius, ax=ax
        )
    else:
        ax.bar(range(len(result.points)), [p["sigma_S_cm"] for p in result.points])
        ax.set_ylabel("σ (S/cm)")
    return fig


def _symmetric(obj: Any, result: Any, plt: Any) -> Any:
    rows = result.half_cycles
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot([r["time_h"] for r in rows], [r["overpotential_mV"] for r in rows], "o-", ms=3)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("overpotential (mV)")
    if result.soft_short_at_h is not None:
        ax.axvline(result.soft_short_at_h, color="r", ls="--", label="soft short")
        ax.legend()
    return fig


_DRAW: dict[str, Callable[[Any, Any, Any], Any]] = {
    "xrd.identify": _xrd,
    "raman.fit": _raman,
    "raman.map": _raman_map,
    "xps.depth_profile": _xps,
    "sem.size": _sem,
    "echem.cycling": _cycling,
    "echem.eis": _eis,
    "echem.cv": _cv,
    "echem.conductivity": _conductivity,
    "echem.symmetric": _symmetric,
}


def result_figure(
    analysis: str, data: Any, result: Any, path: str | PathLike[str] | None = None
) -> Any:
    """The figure of one analysis, drawn by the technique's plot function.

    Parameters
    ----------
    analysis
        Analysis name (``"xrd.identify"``, ``"raman.fit"`` … see
        :data:`charact.samples.analyze.ANALYSES`).
    data
        The measurement as read (needed by SEM overlays and CV plots).
    result
        The analysis result object.
    path
        Save there (``.png`` or ``.svg``) and close the figure; ``None`` returns the figure.

    Returns
    -------
    matplotlib.figure.Figure or pathlib.Path
    """
    draw = _DRAW.get(analysis)
    if draw is None:
        raise InputError(f"no figure for analysis {analysis!r}; known: {', '.join(_DRAW)}")
    plt = _pyplot()
    fig = draw(data, result, plt)
    title = getattr(data, "attrs", {}).get("sample_id") if data is not None else None
    if title and not fig._suptitle:
        fig.suptitle(f"{title}: {analysis}", fontsize=10)
    return save_figure(fig, path) if path is not None else fig


# -------------------------------------------------------------- cross-sample overlays


def _xps_overlay(profiles: Mapping[str, Any], plt: Any) -> Any | None:
    species: list[str] = []
    for p in profiles.values():
        for lv in p["levels"]:
            species += [s for s in lv["species_percent"] if s not in species]
    if not species:
        return None
    n = len(species)
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False, constrained_layout=True
    )
    for ax, sp in zip(axes.ravel(), species, strict=False):
        for sid, p in profiles.items():
            xs, ys, es = [], [], []
            for lv in p["levels"]:
                depth = _num(lv.get("depth_nm"))
                x = depth if depth is not None else _num(lv.get("etch_time_s"))
                y = _num(lv["species_percent"].get(sp))
                if x is None or y is None:
                    continue
                xs.append(x)
                ys.append(y)
                es.append(_num(lv.get("species_percent_stderr", {}).get(sp)) or 0.0)
            if xs:
                ax.errorbar(xs, ys, yerr=es, marker="o", ms=4, capsize=2, label=sid)
        ax.set_title(sp, fontsize=10)
        ax.set_ylabel("species %")
        depth_known = any(
            _num(lv.get("depth_nm")) is not None for p in profiles.values() for lv in p["levels"]
        )
        ax.set_xlabel("depth (nm)" if depth_known else "etch time (s)")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle("XPS: species % versus depth", fontsize=11)
    return fig


def _bars(rows: Sequence[Mapping[str, Any]], ids: Sequence[str], title: str, plt: Any) -> Any:
    """One panel per row: each sample's value with its standard error."""
    rows = [
        r for r in rows if any(_num(r["values"].get(s, {}).get("value")) is not None for s in ids)
    ]
    if not rows:
        return None
    fig, axes = plt.subplots(
        1, len(rows), figsize=(3.6 * len(rows) + 0.6, 3.4), squeeze=False, constrained_layout=True
    )
    for ax, row in zip(axes.ravel(), rows, strict=False):
        vals = [_num(row["values"].get(s, {}).get("value")) for s in ids]
        errs = [_num(row["values"].get(s, {}).get("stderr")) or 0.0 for s in ids]
        # A missing value gets no bar (a zero-height bar would read as a measured 0).
        have = [i for i, v in enumerate(vals) if v is not None]
        ax.bar(
            have,
            [vals[i] for i in have],
            yerr=[errs[i] for i in have],
            capsize=3,
            color=[f"C{i}" for i in have],
        )
        for i, v in enumerate(vals):
            if v is None:
                ax.text(
                    i,
                    0.5,
                    "no value",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    rotation=90,
                    fontsize=8,
                    color="0.4",
                )
        ax.set_xticks(range(len(ids)), ids, rotation=20, fontsize=8)
        ax.set_xlim(-0.6, len(ids) - 0.4)
        unit = row.get("unit") or ""
        ax.set_title(row["quantity"] + (f" ({unit})" if unit not in ("", "1") else ""), fontsize=9)
    fig.suptitle(title, fontsize=11)
    return fig


def _capacity_overlay(cycling: Mapping[str, Sequence[Mapping[str, Any]]], plt: Any) -> Any | None:
    if not cycling:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    for sid, docs in cycling.items():
        for k, doc in enumerate(docs):
            cyc = [c for c in _objs(doc.get("cycles")) if _num(c.get("cycle")) is not None]
            key = "charge_mAh_g" if any(c.get("charge_mAh_g") for c in cyc) else "charge_mAh"
            xs = [c["cycle"] for c in cyc if _num(c.get(key)) is not None]
            ys = [c[key] for c in cyc if _num(c.get(key)) is not None]
            if xs:
                label = sid if len(docs) == 1 else f"{sid} ({k + 1})"
                ax.plot(xs, ys, ".-", ms=3, lw=0.8, label=label)
            unit = "mAh/g" if key.endswith("_g") else "mAh"
    ax.set_xlabel("cycle")
    ax.set_ylabel(f"charge capacity ({unit})")
    ax.legend(fontsize=8)
    ax.set_title("Capacity versus cycle", fontsize=11)
    return fig


def comparison_figures(
    comparison: Mapping[str, Any],
    docs: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """The overlay figures of a comparison, drawn from result documents only.

    Parameters
    ----------
    comparison
        The output of :func:`charact.samples.compare.compare_samples`.
    docs
        ``{sample_id: {analysis: [documents]}}`` (for the capacity overlay); optional.

    Returns
    -------
    dict
        ``{name: matplotlib Figure}`` for the techniques that have data, in the order
        XRD, Raman, XPS, SEM, electrochemistry.
    """
    plt = _pyplot()
    ids = list(comparison["samples"])
    techs = comparison.get("techniques", {})
    out: dict[str, Any] = {}
    if "xrd" in techs:
        rows = [r for r in techs["xrd"]["rows"] if "ratio" in r["quantity"]]
        fig = _bars(rows, ids, "XRD: crystalline Si relative to the Cu current collector", plt)
        if fig is not None:
            out["xrd"] = fig
    if "raman" in techs:
        rows = [
            r
            for r in techs["raman"]["rows"]
            if r["quantity"] in ("I_D/I_G (height)", "Si crystalline fraction")
        ]
        fig = _bars(rows, ids, "Raman: carbon disorder and crystalline Si", plt)
        if fig is not None:
            out["raman"] = fig
    if "xps" in techs and techs["xps"].get("profiles"):
        fig = _xps_overlay(techs["xps"]["profiles"], plt)
        if fig is not None:
            out["xps"] = fig
    if "sem" in techs:
        rows = [r for r in techs["sem"]["rows"] if r["quantity"].startswith("D50")]
        fig = _bars(rows, ids, "SEM: particle size", plt)
        if fig is not None:
            out["sem"] = fig
    if docs:
        cycling = {sid: d["echem.cycling"] for sid, d in docs.items() if d.get("echem.cycling")}
        fig = _capacity_overlay(cycling, plt)
        if fig is not None:
            out["echem"] = fig
    return out
