"""Figures from electrochemistry results. Each function draws on ``ax`` (or a new Axes),
returns the Axes, computes nothing and never calls ``plt.show()``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "plot_arrhenius",
    "plot_bode",
    "plot_capacity",
    "plot_cv",
    "plot_dqdv",
    "plot_drt",
    "plot_nyquist",
    "plot_rate",
    "plot_voltage_profiles",
]


def _ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_capacity(result: Any, ax: Any = None) -> Any:
    """Charge/discharge capacity and CE versus cycle (CE on a twin axis)."""
    ax = _ax(ax)
    cyc = [c["cycle"] for c in result.cycles]
    specific = result.mass_mg is not None
    key = "_mAh_g" if specific else "_mAh"
    unit = "mAh/g" if specific else "mAh"
    for kind, marker in (("charge", "o"), ("discharge", "s")):
        vals = [np.nan if c[kind + key] is None else c[kind + key] for c in result.cycles]
        ax.plot(cyc, vals, marker=marker, ls="", label=kind)
    ax.set_xlabel("cycle")
    ax.set_ylabel(f"capacity ({unit})")
    ax2 = ax.twinx()
    ce = [
        np.nan if c["coulombic_efficiency"] is None else 100 * c["coulombic_efficiency"]
        for c in result.cycles
    ]
    ax2.plot(cyc, ce, "k^", ms=4, label="CE")
    ax2.set_ylabel("Coulombic efficiency (%)")
    ax.legend(loc="lower left")
    ax.set_title(f"{result.electrode}: {result.ce_convention.split(';')[-1].strip()}", fontsize=8)
    return ax


def plot_voltage_profiles(
    profiles: list[tuple[np.ndarray, np.ndarray, str]], ax: Any = None
) -> Any:
    """Voltage versus capacity, one line per ``(capacity_mAh, voltage_V, label)``."""
    ax = _ax(ax)
    for q, v, label in profiles:
        ax.plot(q, v, label=label)
    ax.set_xlabel("capacity (mAh)")
    ax.set_ylabel("voltage (V)")
    ax.legend(fontsize=7)
    return ax


def plot_rate(result: Any, ax: Any = None) -> Any:
    """Rate table as bars of mean capacity per current block."""
    ax = _ax(ax)
    rows = result.rate_table
    key = "capacity_mAh_g" if rows and rows[0]["capacity_mAh_g"] is not None else "capacity_mAh"
    labels = [f"{r['current_mA']:.3g} mA" + (" (rec.)" if r["recovery"] else "") for r in rows]
    ax.bar(range(len(rows)), [r[key] for r in rows])
    ax.set_xticks(range(len(rows)), labels, rotation=30, fontsize=7)
    ax.set_ylabel("capacity (" + ("mAh/g" if key.endswith("_g") else "mAh") + ")")
    return ax


def plot_dqdv(dqdv: dict[str, Any], ax: Any = None) -> Any:
    """dQ/dV curve with its peaks marked."""
    ax = _ax(ax)
    ax.plot(dqdv["voltage_V"], dqdv["dqdv_mAh_V"], label=dqdv["direction"])
    for p in dqdv["peaks_V"]:
        ax.axvline(p, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("voltage (V)")
    ax.set_ylabel("dQ/dV (mAh/V)")
    return ax


def plot_cv(ds: Any, result: Any = None, ax: Any = None) -> Any:
    """Current versus potential per cycle, peaks marked."""
    ax = _ax(ax)
    e = ds["voltage_volt"].values
    i = ds["current_ampere"].values * 1e3
    cyc = ds["cycle_count"].values
    for c in np.unique(cyc):
        m = cyc == c
        ax.plot(e[m], i[m], lw=0.8, label=f"cycle {c}")
    if result is not None:
        for c in result.cycles:
            for p in c["anodic_peaks"] + c["cathodic_peaks"]:
                ax.plot(p["E_V"], p["I_A"] * 1e3, "kx")
    ax.set_xlabel("potential (V)")
    ax.set_ylabel("current (mA)")
    return ax


def plot_nyquist(
    f: np.ndarray, z: np.ndarray, z_fit: np.ndarray | None = None, ax: Any = None
) -> Any:
    """Nyquist plot (−Im Z versus Re Z, equal axes) with an optional fit."""
    ax = _ax(ax)
    ax.plot(z.real, -z.imag, "o", ms=3, label="data")
    if z_fit is not None:
        ax.plot(z_fit.real, -z_fit.imag, "-", label="fit")
    ax.set_xlabel("Re Z (Ω)")
    ax.set_ylabel("−Im Z (Ω)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend()
    return ax


def plot_bode(f: np.ndarray, z: np.ndarray, z_fit: np.ndarray | None = None, ax: Any = None) -> Any:
    """|Z| and phase versus frequency (phase on a twin axis)."""
    ax = _ax(ax)
    ax.loglog(f, np.abs(z), "o", ms=3, label="|Z|")
    ax2 = ax.twinx()
    ax2.semilogx(f, -np.degrees(np.angle(z)), "s", ms=3, color="C1", label="−phase")
    if z_fit is not None:
        ax.loglog(f, np.abs(z_fit), "-", color="C0")
        ax2.semilogx(f, -np.degrees(np.angle(z_fit)), "-", color="C1")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("|Z| (Ω)")
    ax2.set_ylabel("−phase (deg)")
    return ax


def plot_drt(result: Any, ax: Any = None) -> Any:
    """γ(τ) with peaks and the measured τ range shaded."""
    ax = _ax(ax)
    ax.semilogx(result.tau, result.gamma, "-")
    lo, hi = result.tau_range_s
    ax.axvspan(result.tau[0], lo, color="0.9")
    ax.axvspan(hi, result.tau[-1], color="0.9")
    for p in result.peaks:
        ax.plot(p["tau_s"], p["gamma_max_ohm"], "kv")
    ax.set_xlabel("τ (s)")
    ax.set_ylabel("γ (Ω)")
    ax.set_title(f"λ = {result.lam:.2g} ({result.method})", fontsize=8)
    return ax


def plot_arrhenius(temperature_K: Any, sigma_S_cm: Any, result: Any = None, ax: Any = None) -> Any:
    """log10 σ (or log10 σT when the fit used ``form="sigmaT"``) versus 1000/T, with the
    fitted line."""
    ax = _ax(ax)
    t = np.asarray(temperature_K, float)
    s = np.asarray(sigma_S_cm, float)
    times_t = result is not None and result.form == "sigmaT"
    ax.plot(1000 / t, np.log10(s * t if times_t else s), "o")
    if result is not None:
        x = np.linspace(t.min(), t.max(), 50)
        y = np.log10(result.sigma0) - result.Ea_eV / (8.617333262e-5 * x) / np.log(10)
        ax.plot(1000 / x, y, "-", label=f"Ea = {result.Ea_eV:.3f} eV ({result.form})")
        ax.legend()
    ax.set_xlabel("1000/T (1/K)")
    ax.set_ylabel("log10 σT (S K/cm)" if times_t else "log10 σ (S/cm)")
    return ax
