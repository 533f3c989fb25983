"""Figures of XRD results: data, fit, residual and a tick row per phase labelled with hkl.

Plot functions take ``ax=None``, draw what a result already holds and return the Axes; they
never compute or show.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .analyze import XRDResult

__all__ = ["plot_identification"]


def plot_identification(
    result: XRDResult,
    ax: Any = None,
    *,
    label_hkl: bool = True,
    show_absent: bool = False,
    title: str | None = None,
) -> Any:
    """Pattern, background + fitted profile, residual below, and hkl tick rows per phase.

    Parameters
    ----------
    result
        From :func:`charact.xrd.analyze.identify_phases`.
    ax
        Matplotlib Axes (a new figure when None).
    label_hkl
        Write the hkl of every indexed peak above its tick.
    show_absent
        Also draw tick rows of the phases judged absent (greyed).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 6))
    c = result.curves
    x = c["two_theta"].values
    y = c["data"].values
    fit = c["best_fit"].values
    res = c["residual"].values
    top = float(np.max(y))
    span = top - float(np.min(y))
    ax.plot(x, y, color="0.15", lw=0.8, label="data")
    ax.plot(x, fit, color="tab:red", lw=0.8, label="background + fit")
    ax.plot(x, c["background"].values, color="tab:blue", lw=0.6, ls="--", label="background")
    off = float(np.min(y)) - 0.12 * span
    ax.plot(x, res + off, color="tab:green", lw=0.6, label="residual (offset)")
    rows = [p for p in result.phases if p.present or show_absent]
    row_h = 0.07 * span
    base = off - 0.1 * span - float(np.max(np.abs(res))) * 0.5
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["k"])
    for k, ph in enumerate(rows):
        yrow = base - k * row_h
        col = colors[k % len(colors)] if ph.present else "0.6"
        pos = [p.two_theta for p in ph.peaks] if ph.present else []
        if pos:
            ax.vlines(pos, yrow, yrow + 0.6 * row_h, color=col, lw=1.0)
        ax.text(
            x[-1],
            yrow + 0.2 * row_h,
            f" {ph.name}{'' if ph.present else ' (absent)'}",
            color=col,
            fontsize=8,
            va="center",
            ha="left",
        )
        if label_hkl and ph.present:
            for p in ph.peaks:
                if p.hkl is not None:
                    ax.text(
                        p.two_theta,
                        yrow + 0.65 * row_h,
                        "".join(str(v) for v in p.hkl),
                        rotation=90,
                        fontsize=6,
                        ha="center",
                        va="bottom",
                        color=col,
                    )
    ax.set_xlabel("2θ (deg)")
    ax.set_ylabel("intensity (counts)")
    ax.set_xlim(x[0], x[-1])
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title if title is not None else (result.source_file or "XRD"))
    return ax
