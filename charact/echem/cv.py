"""Cyclic voltammetry: anodic and cathodic peaks per cycle.

Each cycle (the instrument's ``cycle_count``) is split into its anodic (dE/dt > 0) and
cathodic (dE/dt < 0) sweeps. On each sweep the current is smoothed (Savitzky–Golay over
``smooth_V``). Peaks are local maxima of I on anodic sweeps and minima on cathodic ones that
stand out by at least ``prominence`` × the cycle's current range above their local baseline
(the higher of the two valleys around the peak, i.e. the topographic prominence), stand above
the noise, and are wider than the smoothing window. A monotonic capacitive or catalytic rise
gives no peak. Peak currents are reported as measured and above that local baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats
from scipy.signal import find_peaks, savgol_filter

from ..core.errors import InputError

__all__ = [
    "CVResult",
    "analyze_scan_rates",
    "find_cv_peaks",
    "fit_b_value",
    "randles_sevcik_diffusion",
    "scan_rate_of",
    "track_cv_peaks",
]

FARADAY = 96485.33212  # C/mol (CODATA 2018)
GAS_CONSTANT = 8.314462618  # J/(mol K) (CODATA 2018)


@dataclass
class CVResult:
    """Peaks per cycle (``cycles``), the same peaks linked over cycles (``tracks``)."""

    cycles: list[dict[str, Any]]
    flags: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    tracks: list[dict[str, Any]] = field(default_factory=list)
    scan_rate_V_s: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "echem.cv",
            "scan_rate_V_s": self.scan_rate_V_s,
            "cycles": self.cycles,
            "tracks": self.tracks,
            "baseline": "straight line through the valleys on either side of each peak",
            "flags": self.flags,
            "provenance": self.provenance,
        }


def scan_rate_of(ds: xr.Dataset) -> float:
    """Scan rate (V/s): the median |dE/dt| of the record (NaN without a usable time axis)."""
    if "test_time_second" not in ds or "voltage_volt" not in ds:
        return math.nan
    t = ds["test_time_second"].values.astype(float)
    e = ds["voltage_volt"].values.astype(float)
    dt, de = np.diff(t), np.diff(e)
    ok = (dt > 0) & np.isfinite(de)
    if not ok.any():
        return math.nan
    return float(np.median(np.abs(de[ok] / dt[ok])))


def track_cv_peaks(
    cycles: list[dict[str, Any]], *, tolerance_V: float = 0.05
) -> list[dict[str, Any]]:
    """Link the peaks of successive cycles into tracks, anodic and cathodic separately.

    Cycle by cycle, each peak joins the open track whose last potential is nearest, if
    within ``tolerance_V`` (closest pairs first, one peak per track and cycle); a peak that
    joins none starts a new track. A track records, per cycle, E, I and the current above
    the baseline, and its drift dE/dcycle (least squares, with standard error when it
    spans three cycles or more). Tracks are numbered by direction and first potential.
    """
    if not tolerance_V > 0:
        raise InputError(f"tolerance_V must be positive, got {tolerance_V!r}")
    out: list[dict[str, Any]] = []
    for direction, key in (("anodic", "anodic_peaks"), ("cathodic", "cathodic_peaks")):
        tracks: list[dict[str, Any]] = []
        for c in cycles:
            peaks = c.get(key, [])
            pairs = sorted(
                (abs(pk["E_V"] - tr["E_V"][-1]), a, b)
                for a, pk in enumerate(peaks)
                for b, tr in enumerate(tracks)
                if tr["cycles"][-1] < c["cycle"]
            )
            used_p: set[int] = set()
            used_t: set[int] = set()
            for dist, a, b in pairs:
                if dist > tolerance_V or a in used_p or b in used_t:
                    continue
                used_p.add(a)
                used_t.add(b)
                _extend(tracks[b], c["cycle"], peaks[a])
            for a, pk in enumerate(peaks):
                if a not in used_p:
                    tracks.append({"direction": direction, "cycles": [], "E_V": [], "I_A": [],
                                   "I_above_baseline_A": []})  # fmt: skip
                    _extend(tracks[-1], c["cycle"], pk)
        tracks.sort(key=lambda tr: tr["E_V"][0])
        for k, tr in enumerate(tracks):
            tr["name"] = f"{direction[0]}{k + 1}"
            tr["mean_E_V"] = float(np.mean(tr["E_V"]))
            cyc = np.asarray(tr["cycles"], float)
            if cyc.size >= 2 and np.ptp(cyc) > 0:
                lr = stats.linregress(cyc, np.asarray(tr["E_V"]))
                tr["shift_V_per_cycle"] = float(lr.slope)
                tr["shift_stderr"] = float(lr.stderr) if cyc.size > 2 else math.nan
            else:
                tr["shift_V_per_cycle"] = tr["shift_stderr"] = math.nan
        out += tracks
    return out


def _extend(track: dict[str, Any], cycle: int, peak: dict[str, float]) -> None:
    track["cycles"].append(int(cycle))
    track["E_V"].append(peak["E_V"])
    track["I_A"].append(peak["I_A"])
    track["I_above_baseline_A"].append(peak["I_above_baseline_A"])


def _sweep_peaks(
    e: np.ndarray, i: np.ndarray, sign: int, prom: float | None, smooth_V: float
) -> list[dict[str, float]]:
    if e.size < 11:
        return []
    step = float(np.median(np.abs(np.diff(e)))) or 1e-6
    win = round(smooth_V / step) | 1
    win = max(5, min(win, e.size - (1 - e.size % 2)))
    ism = savgol_filter(i, win, 2) if win < e.size else i
    # a peak must stand out from its own surroundings (prominence = height above the higher
    # of the two bases), and be wider than the smoothing window: noise spikes are not
    # and be well above the noise (robust σ of the smoothing residual)
    noise = 1.4826 * float(np.median(np.abs((i - ism) - np.median(i - ism))))
    floor = max(prom or 0.0, 10.0 * noise / np.sqrt(win)) or None
    pk, props = find_peaks(sign * ism, prominence=floor, width=win / 2)
    out = []
    for p, pr, lb, rb in zip(
        pk, props["prominences"], props["left_bases"], props["right_bases"], strict=True
    ):
        # baseline: the straight line through the valleys on either side of the peak (on a
        # sloping capacitive background this is what a tangent construction draws); the
        # topographic prominence (height above the higher valley) is kept as well
        if e[rb] != e[lb]:
            base = ism[lb] + (ism[rb] - ism[lb]) * (e[p] - e[lb]) / (e[rb] - e[lb])
        else:
            base = max(sign * ism[lb], sign * ism[rb]) * sign
        out.append(
            {
                "E_V": float(e[p]),
                "I_A": float(i[p]),
                "I_above_baseline_A": float(ism[p] - base),
                "baseline_A": float(base),
                "prominence_A": float(sign * pr),
            }
        )
    return out


def find_cv_peaks(
    ds: xr.Dataset,
    *,
    prominence: float = 0.005,
    smooth_V: float = 0.01,
    track_tolerance_V: float = 0.05,
) -> CVResult:
    """Anodic and cathodic peak potentials and currents per cycle, linked over cycles.

    Parameters
    ----------
    prominence
        Minimum peak height above its surroundings, as a fraction of the cycle's current
        range.
    smooth_V
        Savitzky–Golay window in volts.
    track_tolerance_V
        Largest shift of a peak from one cycle to the next for it to count as the same
        process (:func:`track_cv_peaks`).
    """
    for v in ("voltage_volt", "current_ampere", "cycle_count"):
        if v not in ds:
            raise InputError(f"{ds.attrs.get('source_file') or 'data'}: not a CV record (no {v})")
    e = ds["voltage_volt"].values.astype(float)
    i = ds["current_ampere"].values.astype(float)
    cyc = ds["cycle_count"].values.astype(int)
    out = []
    for c in np.unique(cyc):
        m = cyc == c
        ec, ic = e[m], i[m]
        if ec.size < 20:
            continue
        de = np.gradient(savgol_filter(ec, min(11, ec.size - (1 - ec.size % 2)), 1))
        prom = prominence * float(np.ptp(ic)) if np.ptp(ic) > 0 else None
        an, ca = [], []
        direction = np.sign(de)
        # contiguous sweeps of one direction
        edges = np.flatnonzero(np.diff(direction) != 0) + 1
        for seg in np.split(np.arange(ec.size), edges):
            if seg.size < 11 or direction[seg[0]] == 0:
                continue
            if direction[seg[0]] > 0:
                an += _sweep_peaks(ec[seg], ic[seg], +1, prom, smooth_V)
            else:
                ca += _sweep_peaks(ec[seg], ic[seg], -1, prom, smooth_V)
        out.append(
            {
                "cycle": int(c),
                "anodic_peaks_V": [p["E_V"] for p in an],
                "cathodic_peaks_V": [p["E_V"] for p in ca],
                "anodic_peaks": an,
                "cathodic_peaks": ca,
                "E_range_V": [float(ec.min()), float(ec.max())],
            }
        )
    prov = {k: ds.attrs.get(k, "") for k in ("sample_id", "source_file", "source_sha256", "reader")}
    tracks = track_cv_peaks(out, tolerance_V=track_tolerance_V)
    flags = [
        f"cycle {c['cycle']}: {len(c['anodic_peaks_V']) + len(c['cathodic_peaks_V'])} peaks; "
        "the current is noisy or spiky: raise prominence/smooth_V before trusting them"
        for c in out
        if len(c["anodic_peaks_V"]) + len(c["cathodic_peaks_V"]) > 6
    ]
    return CVResult(
        out, flags=flags, provenance=prov, tracks=tracks, scan_rate_V_s=scan_rate_of(ds)
    )


def _rates(scan_rates_V_s: Any, peak_currents_A: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(scan_rates_V_s, float)
    i = np.abs(np.asarray(peak_currents_A, float))
    if v.shape != i.shape or v.ndim != 1 or v.size < 2:
        raise InputError("give at least 2 scan rates and as many peak currents")
    if np.any(~np.isfinite(v)) or np.any(v <= 0) or np.any(~np.isfinite(i)) or np.any(i <= 0):
        raise InputError("scan rates and peak currents must be finite and non-zero")
    if np.unique(v).size < 2:
        raise InputError("at least 2 different scan rates are needed")
    return v, i


def fit_b_value(scan_rates_V_s: Any, peak_currents_A: Any) -> dict[str, float]:
    """b in i_p = a·v^b from a log-log fit: b ≈ 0.5 diffusion-limited, ≈ 1 capacitive
    (e.g. Augustyn et al., Energy Environ. Sci. 7, 1597 (2014)).

    Returns ``{"b", "b_stderr", "a"}`` (stderr NaN with two points).
    """
    v, i = _rates(scan_rates_V_s, peak_currents_A)
    lr = stats.linregress(np.log(v), np.log(i))
    return {
        "b": float(lr.slope),
        "b_stderr": float(lr.stderr) if v.size > 2 else math.nan,
        "a": float(math.exp(lr.intercept)),
    }


def randles_sevcik_diffusion(
    scan_rates_V_s: Any,
    peak_currents_A: Any,
    *,
    n_electrons: int,
    area_cm2: float,
    concentration_mol_cm3: float,
    temperature_K: float = 298.15,
) -> dict[str, float]:
    """Diffusion coefficient (cm²/s) from the Randles–Sevcik slope of i_p versus √v.

    i_p = 0.4463 n F A C √(n F v D / (R T)) (reversible, planar diffusion; Bard & Faulkner,
    Electrochemical Methods, 2nd ed., eq. 6.2.19), so D = (k / (0.4463 n F A C))² R T / (n F)
    with the least-squares slope k of i_p against √v (line through the origin).
    """
    v, i = _rates(scan_rates_V_s, peak_currents_A)
    for name, val in (("n_electrons", n_electrons), ("area_cm2", area_cm2),
                      ("concentration_mol_cm3", concentration_mol_cm3),
                      ("temperature_K", temperature_K)):  # fmt: skip
        if not (math.isfinite(val) and val > 0):
            raise InputError(f"{name} must be a positive number, got {val!r}")
    x = np.sqrt(v)
    k = float(x @ i / (x @ x))
    resid = i - k * x
    k_se = float(math.sqrt(resid @ resid / max(1, x.size - 1) / (x @ x)))
    pref = 0.4463 * n_electrons * FARADAY * area_cm2 * concentration_mol_cm3
    conv = GAS_CONSTANT * temperature_K / (n_electrons * FARADAY)
    d = (k / pref) ** 2 * conv
    return {"D_cm2_s": d, "D_stderr": 2 * d * k_se / k, "slope_A_per_sqrtV_s": k}


def analyze_scan_rates(
    records: list[xr.Dataset] | list[CVResult],
    *,
    scan_rates_V_s: Any = None,
    cycle: int | str = "last",
    tolerance_V: float = 0.1,
    n_electrons: int | None = None,
    area_cm2: float | None = None,
    concentration_mol_cm3: float | None = None,
    temperature_K: float = 298.15,
    prominence: float = 0.005,
    smooth_V: float = 0.01,
) -> dict[str, Any]:
    """b-value (and Randles–Sevcik D when n, A and C are given) per peak over scan rates.

    Each record (one scan rate) gives its peaks in ``cycle`` (``"last"``, ``"first"`` or a
    number); the peaks of the records, in order of scan rate, are linked like cycles
    (:func:`track_cv_peaks`, with the looser ``tolerance_V``: peaks separate as the rate
    grows). Every track seen at two rates or more gets i_p = a·v^b (:func:`fit_b_value`)
    on the current above the baseline, and D when ``n_electrons``, ``area_cm2`` and
    ``concentration_mol_cm3`` are given (:func:`randles_sevcik_diffusion`).

    Parameters
    ----------
    records
        CV Datasets or :class:`CVResult` objects, one per scan rate.
    scan_rates_V_s
        The rates; by default measured from each record (median |dE/dt|).
    """
    if len(records) < 2:
        raise InputError("a scan-rate analysis needs CVs at two scan rates or more")
    results = [
        r if isinstance(r, CVResult) else find_cv_peaks(r, prominence=prominence, smooth_V=smooth_V)
        for r in records
    ]
    if scan_rates_V_s is None:
        rates = [r.scan_rate_V_s for r in results]
    else:
        rates = [float(v) for v in np.atleast_1d(np.asarray(scan_rates_V_s, float))]
        if len(rates) != len(results):
            raise InputError(f"{len(rates)} scan rates given for {len(results)} CVs")
    if not all(math.isfinite(v) and v > 0 for v in rates):
        raise InputError(
            f"scan rates {rates}: could not be measured from every record; give them "
            "(scan_rates_V_s / --scan-rates)"
        )
    chosen = []
    for k in np.argsort(rates):
        res = results[int(k)]
        if not res.cycles:
            raise InputError(f"CV at {rates[int(k)]:g} V/s has no complete cycle")
        if cycle == "last":
            c = res.cycles[-1]
        elif cycle == "first":
            c = res.cycles[0]
        else:
            hits = [c for c in res.cycles if c["cycle"] == int(cycle)]
            if not hits:
                raise InputError(f"CV at {rates[int(k)]:g} V/s has no cycle {cycle}")
            c = hits[0]
        chosen.append({**c, "cycle": len(chosen) + 1, "scan_rate_V_s": rates[int(k)]})
    sorted_rates = [c["scan_rate_V_s"] for c in chosen]
    tracks = track_cv_peaks(chosen, tolerance_V=tolerance_V)
    rs_args = (n_electrons, area_cm2, concentration_mol_cm3)
    peaks = []
    for tr in tracks:
        v = [sorted_rates[c - 1] for c in tr["cycles"]]
        entry: dict[str, Any] = {
            "name": tr["name"],
            "direction": tr["direction"],
            "scan_rates_V_s": v,
            "E_V": tr["E_V"],
            "I_above_baseline_A": tr["I_above_baseline_A"],
        }
        ip = np.abs(np.asarray(tr["I_above_baseline_A"]))
        if len(v) >= 2 and np.unique(v).size >= 2 and np.all(ip > 0):
            entry.update(fit_b_value(v, ip))
            if all(a is not None for a in rs_args):
                entry.update(
                    randles_sevcik_diffusion(
                        v,
                        ip,
                        n_electrons=int(n_electrons),  # type: ignore[arg-type]
                        area_cm2=float(area_cm2),  # type: ignore[arg-type]
                        concentration_mol_cm3=float(concentration_mol_cm3),  # type: ignore[arg-type]
                        temperature_K=temperature_K,
                    )
                )
        peaks.append(entry)
    return {
        "analysis": "echem.cv_scan_rates",
        "scan_rates_V_s": sorted_rates,
        "cycle": cycle,
        "peaks": peaks,
        "method": "b from log i_p = log a + b log v (Augustyn et al. 2014); D from "
        "Randles–Sevcik (Bard & Faulkner eq. 6.2.19) when n, A, C are given",
    }
