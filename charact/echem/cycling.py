"""Galvanostatic cycling: capacities, Coulombic efficiency, retention, rate capability, dQ/dV.

Conventions (stored with every result, printed by the CLI):

* Half cycles are runs of one current sign; rests do not split them, a sign change does.
  Half cycles holding less than 0.5 % of the largest half-cycle capacity (relay blips) are
  merged into their neighbours.
* **Anode half cell** (Si, graphite vs Li): a cycle is lithiation (discharge, I < 0) followed
  by delithiation (charge); CE = delithiation / lithiation.
* **Cathode**: a cycle is charge followed by discharge; CE = discharge / charge.
* A record that *starts* with the reverse direction (a cathode pre-discharge from OCV, an
  anode delithiation from OCV) has a *partial first step*: it is reported as
  ``initial_partial_step`` and not paired with cycle 1 (positional pairing, as in tools that
  pair the n-th charge with the n-th discharge, gets CE of cycle 1 wrong).
* The cycle capacity used for retention and the rate table is the *reversible* one (the
  second half: delithiation for an anode, discharge for a cathode).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.signal import find_peaks, savgol_filter

from ..core.data import provenance_of
from ..core.errors import InputError
from ..core.provenance import charact_version, now_iso
from ._meta import sample_quantity

__all__ = [
    "CyclingResult",
    "HalfCycle",
    "find_dqdv_peaks",
    "find_half_cycles",
    "quantify_cycling",
    "voltage_profile",
]


@dataclass
class HalfCycle:
    """One half cycle: a run of one current sign."""

    index: int
    sign: int
    start: int
    stop: int  # exclusive record index
    capacity_Ah: float
    energy_Wh: float
    mean_current_A: float
    average_voltage_V: float

    @property
    def kind(self) -> str:
        return "charge" if self.sign > 0 else "discharge"


def _need(ds: xr.Dataset, names: list[str]) -> None:
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"expected a cycling Dataset, got {type(ds).__name__}")
    missing = [n for n in names if n not in ds]
    if missing:
        raise InputError(
            f"{ds.attrs.get('source_file') or 'data'}: not a cycling record "
            f"(missing {', '.join(missing)}); read it with charact.read(..., technique='echem')"
        )


def find_half_cycles(ds: xr.Dataset, *, min_fraction: float = 0.005) -> list[HalfCycle]:
    """Split a normalized cycling record into half cycles (see the module conventions)."""
    _need(
        ds,
        [
            "test_time_second",
            "voltage_volt",
            "current_ampere",
            "step_type",
            "charging_capacity_ampere_hour",
            "discharging_capacity_ampere_hour",
        ],
    )
    v = ds["voltage_volt"].values.astype(float)
    i = ds["current_ampere"].values.astype(float)
    sign = ds["step_type"].values.astype(int)
    qc = ds["charging_capacity_ampere_hour"].values.astype(float)
    qd = ds["discharging_capacity_ampere_hour"].values.astype(float)
    nz = np.flatnonzero(sign != 0)
    if nz.size == 0:
        return []
    # runs of equal non-zero sign (indices into the full record)
    s_nz = sign[nz]
    cut = np.flatnonzero(s_nz[1:] != s_nz[:-1])  # last non-rest point before a sign change
    first = np.concatenate([[0], cut + 1])
    last = np.concatenate([cut, [nz.size - 1]])
    runs = [(int(s_nz[a]), int(nz[a]), int(nz[b]) + 1) for a, b in zip(first, last, strict=True)]

    def measure(s: int, a: int, b: int) -> tuple[float, float, float, float]:
        seg = slice(a, b)
        q = qc[seg] if s > 0 else qd[seg]
        # capacity passed within the run (the normalized columns restart per half cycle,
        # but a merged run may span a restart: sum the per-restart maxima)
        dq = np.diff(q, prepend=0.0)
        dq[dq < 0] = q[dq < 0]
        cap = float(np.sum(np.clip(dq, 0, None)))
        active = sign[seg] == s
        vv, ii = v[seg], np.abs(i[seg])
        # energy = Σ V_k ΔQ_k with the instrument's own charge increments, V at the end of
        # each interval: the rule EC-Lab's Energy charge/discharge columns follow
        energy = float(np.sum(vv * np.clip(dq, 0, None)))
        mean_i = float(np.mean(ii[active])) if active.any() else 0.0
        avg_v = energy / cap if cap > 0 else float("nan")
        return cap, energy, mean_i, avg_v

    measured = [(s, a, b, *measure(s, a, b)) for s, a, b in runs]
    biggest = max((m[3] for m in measured), default=0.0)
    kept = [m for m in measured if m[3] >= min_fraction * biggest]
    merged: list[list[Any]] = []
    for m in kept:
        if merged and merged[-1][0] == m[0]:
            s, a, _, c, e, mi, _ = merged[-1]
            cap = c + m[3]
            en = e + m[4]
            merged[-1] = [s, a, m[2], cap, en, max(mi, m[5]), en / cap if cap else float("nan")]
        else:
            merged.append(list(m))
    return [
        HalfCycle(k, int(s), int(a), int(b), float(c), float(e), float(mi), float(av))
        for k, (s, a, b, c, e, mi, av) in enumerate(merged)
    ]


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


@dataclass
class CyclingResult:
    """Per-cycle capacities, CE, retention and rate table of a cycling record."""

    cycles: list[dict[str, Any]]
    electrode: str
    electrode_source: str
    ce_convention: str
    initial_ce: float | None
    reference_cycle: int
    retention: float | None
    rate_table: list[dict[str, Any]]
    initial_partial_step: dict[str, Any] | None
    mass_mg: float | None
    area_cm2: float | None
    provenance: dict[str, Any] = field(default_factory=dict)
    mass_source: str | None = None
    area_source: str | None = None
    flags: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_iso)
    version: str = field(default_factory=charact_version)

    def to_dict(self) -> dict[str, Any]:
        """The result document (JSON-friendly; NaN becomes None)."""
        d = asdict(self)
        d["analysis"] = "echem.cycling"
        d["charact_version"] = d.pop("version")
        return _clean(d)

    def to_dataset(self) -> xr.Dataset:
        """Per-cycle table on dim ``cycle`` for netCDF storage."""
        cyc = np.array([c["cycle"] for c in self.cycles], dtype=np.int64)
        ds = xr.Dataset(coords={"cycle": xr.Variable("cycle", cyc, {"units": "1"})})
        units = {
            "charge_mAh": "mA*h",
            "discharge_mAh": "mA*h",
            "charge_mAh_g": "mA*h/g",
            "discharge_mAh_g": "mA*h/g",
            "charge_mAh_cm2": "mA*h/cm^2",
            "discharge_mAh_cm2": "mA*h/cm^2",
            "coulombic_efficiency": "1",
            "retention": "1",
            "average_charge_voltage_V": "V",
            "average_discharge_voltage_V": "V",
            "hysteresis_V": "V",
            "charge_energy_mWh": "mW*h",
            "discharge_energy_mWh": "mW*h",
            "current_mA": "mA",
        }
        for key, u in units.items():
            vals = [c.get(key) for c in self.cycles]
            ds[key] = xr.Variable(
                "cycle", np.array([np.nan if x is None else x for x in vals], float), {"units": u}
            )
        ds.attrs = {
            "analysis": "echem.cycling",
            "electrode": self.electrode,
            "ce_convention": self.ce_convention,
            "reference_cycle": self.reference_cycle,
            "initial_ce": np.nan if self.initial_ce is None else self.initial_ce,
            "retention": np.nan if self.retention is None else self.retention,
            "rate_table": self.rate_table,
            "flags": self.flags,
            "charact_version": self.version,
            "created": self.created,
            **{k: str(v) for k, v in self.provenance.items()},
        }
        return ds


def _infer_electrode(ds: xr.Dataset) -> tuple[str, str]:
    v = ds["voltage_volt"].values
    med = float(np.median(v[ds["step_type"].values != 0])) if v.size else float("nan")
    if med < 2.0:
        return (
            "anode",
            f"inferred: median voltage under current {med:.2f} V < 2 V (half cell vs Li)",
        )
    return "cathode", f"inferred: median voltage under current {med:.2f} V >= 2 V"


def _rate_blocks(cycles: list[dict[str, Any]], rtol: float) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for c in cycles:
        cur = c["current_mA"]
        if c.get("_reverse_Ah") is None or not cur:
            continue
        if blocks and abs(cur - blocks[-1]["_cur"]) <= rtol * blocks[-1]["_cur"]:
            blocks[-1]["_members"].append(c)
            continue
        blocks.append({"_cur": cur, "_members": [c]})
    return blocks


def quantify_cycling(
    ds: xr.Dataset,
    *,
    electrode: str = "auto",
    mass_mg: float | None = None,
    area_cm2: float | None = None,
    reference_cycle: int = 1,
    rate_rtol: float = 0.05,
    dqdv: bool = False,
    dqdv_window_V: float = 0.03,
) -> CyclingResult:
    """Per-cycle capacities, CE, retention and rate table of a normalized cycling record.

    Parameters
    ----------
    ds
        From a cycling reader (:mod:`charact.echem.io`).
    electrode
        ``"anode"`` (CE = delithiation/lithiation), ``"cathode"`` (CE = discharge/charge) or
        ``"auto"`` (from the median voltage under current; the basis is recorded).
    mass_mg, area_cm2
        Active mass (mg) and electrode area (cm²) for mAh/g and mAh/cm²; default: what the
        Dataset's attrs say (the file's ``active_mass_mg``/``area_cm2``, as EC-Lab's header
        gives them, or ``mass_mg``/``area_cm2`` a caller put there; see
        :func:`charact.echem._meta.sample_quantity`), else not computed. The source used
        is stored (``mass_source``/``area_source``).
    reference_cycle
        Cycle whose reversible capacity is 100 % for the retention.
    rate_rtol
        Relative tolerance for two cycles to share a current (rate block).
    dqdv
        Also find the dQ/dV peaks of every half cycle (:func:`find_dqdv_peaks`, window
        ``dqdv_window_V``): ``charge_dqdv_peaks_V``/``discharge_dqdv_peaks_V`` per cycle.

    Returns
    -------
    CyclingResult
    """
    if electrode not in ("auto", "anode", "cathode"):
        raise InputError(f"electrode must be anode, cathode or auto, got {electrode!r}")
    mass, mass_source = sample_quantity(ds, "mass_mg", mass_mg)
    area, area_source = sample_quantity(ds, "area_cm2", area_cm2)
    halves = find_half_cycles(ds)
    if not halves:
        raise InputError(
            f"{ds.attrs.get('source_file') or 'data'}: no current flows in the record "
            "(only rest); nothing to analyse"
        )
    if electrode == "auto":
        electrode, source = _infer_electrode(ds)
    else:
        source = "given"
    fwd = -1 if electrode == "anode" else 1
    flags: list[str] = []
    partial = None
    k0 = 0
    if halves[0].sign != fwd:
        h = halves[0]
        partial = {
            "direction": h.kind,
            "capacity_mAh": h.capacity_Ah * 1e3,
            "capacity_mAh_g": h.capacity_Ah * 1e6 / mass if mass else None,
            "note": "record starts with a partial step from OCV; not paired with cycle 1",
        }
        k0 = 1
    cycles: list[dict[str, Any]] = []
    n = 0
    k = k0
    while k < len(halves):
        f = halves[k]
        r = halves[k + 1] if k + 1 < len(halves) else None
        n += 1
        charge = f if f.sign > 0 else r
        discharge = f if f.sign < 0 else r
        qc = charge.capacity_Ah * 1e3 if charge is not None else None
        qd = discharge.capacity_Ah * 1e3 if discharge is not None else None
        ce = (r.capacity_Ah / f.capacity_Ah) if (r is not None and f.capacity_Ah > 0) else None
        avc = charge.average_voltage_V if charge is not None else None
        avd = discharge.average_voltage_V if discharge is not None else None
        row: dict[str, Any] = {
            "cycle": n,
            "charge_mAh": qc,
            "discharge_mAh": qd,
            "charge_mAh_g": qc * 1e3 / mass if (mass and qc is not None) else None,
            "discharge_mAh_g": qd * 1e3 / mass if (mass and qd is not None) else None,
            "charge_mAh_cm2": qc / area if (area and qc is not None) else None,
            "discharge_mAh_cm2": qd / area if (area and qd is not None) else None,
            "coulombic_efficiency": ce,
            "average_charge_voltage_V": avc,
            "average_discharge_voltage_V": avd,
            "hysteresis_V": (avc - avd) if (avc is not None and avd is not None) else None,
            "charge_energy_mWh": charge.energy_Wh * 1e3 if charge is not None else None,
            "discharge_energy_mWh": discharge.energy_Wh * 1e3 if discharge is not None else None,
            "current_mA": f.mean_current_A * 1e3,
            "current_A_g": f.mean_current_A * 1e3 / mass if mass else None,
            "complete": r is not None,
            "half_cycles": [f.index] + ([r.index] if r is not None else []),
            "_reverse_Ah": r.capacity_Ah if r is not None else None,
        }
        cycles.append(row)
        k += 2
    if cycles and not cycles[-1]["complete"]:
        flags.append(f"cycle {cycles[-1]['cycle']} is incomplete (record ends mid-cycle)")
    ref = next((c for c in cycles if c["cycle"] == reference_cycle), None)
    if ref is None:
        raise InputError(
            f"reference cycle {reference_cycle} is not in the record (cycles 1-{len(cycles)})"
        )
    if ref["_reverse_Ah"] is None:
        flags.append(f"reference cycle {reference_cycle} is incomplete: retention not computed")
    for c in cycles:
        c["retention"] = (
            c["_reverse_Ah"] / ref["_reverse_Ah"]
            if (c["_reverse_Ah"] and ref["_reverse_Ah"])
            else None
        )
    complete = [c for c in cycles if c["complete"]]
    retention = complete[-1]["retention"] if complete else None
    blocks = _rate_blocks(cycles, rate_rtol)
    rate_table: list[dict[str, Any]] = []
    if len(blocks) > 1:
        first = blocks[0]
        base = float(np.mean([m["_reverse_Ah"] for m in first["_members"]]))
        for b in blocks:
            caps = np.array([m["_reverse_Ah"] for m in b["_members"]]) * 1e3
            cur = float(np.mean([m["current_mA"] for m in b["_members"]]))
            rate_table.append(
                {
                    "current_mA": cur,
                    "current_A_g": cur / mass if mass else None,
                    "cycles": [m["cycle"] for m in b["_members"]],
                    "capacity_mAh": float(caps.mean()),
                    "capacity_mAh_g": float(caps.mean()) * 1e3 / mass if mass else None,
                    "retention": float(caps.mean() / 1e3 / base) if base else None,
                    "recovery": b is not first
                    and abs(b["_cur"] - first["_cur"]) <= rate_rtol * first["_cur"],
                }
            )
    for c in cycles:
        c.pop("_reverse_Ah")
        if dqdv:
            for hi in c["half_cycles"]:
                h = halves[hi]
                try:
                    peaks = _dqdv(ds, h, dqdv_window_V, 3, 400, 0.05)["peaks_V"]
                except InputError:
                    peaks = []
                c[f"{h.kind}_dqdv_peaks_V"] = peaks
    if electrode == "anode":
        conv = (
            "anode half cell: cycle = lithiation (discharge) then delithiation (charge); "
            "CE = delithiation / lithiation"
        )
    else:
        conv = "cathode: cycle = charge then discharge; CE = discharge / charge"
    if mass is None:
        flags.append("no active mass given: specific capacities (mAh/g) not computed")
    prov = provenance_of(ds)
    return CyclingResult(
        cycles=cycles,
        electrode=electrode,
        electrode_source=source,
        ce_convention=conv,
        initial_ce=cycles[0]["coulombic_efficiency"] if cycles else None,
        reference_cycle=reference_cycle,
        retention=retention,
        rate_table=rate_table,
        initial_partial_step=partial,
        mass_mg=mass,
        area_cm2=area,
        mass_source=mass_source,
        area_source=area_source,
        provenance=prov,
        flags=flags,
    )


def voltage_profile(ds: xr.Dataset, half: HalfCycle) -> tuple[np.ndarray, np.ndarray]:
    """``(capacity_Ah, voltage_V)`` of one half cycle (points under current only)."""
    seg = slice(half.start, half.stop)
    s = ds["step_type"].values[seg]
    col = "charging_capacity_ampere_hour" if half.sign > 0 else "discharging_capacity_ampere_hour"
    q = ds[col].values[seg]
    dq = np.diff(q, prepend=0.0)
    dq[dq < 0] = q[dq < 0]
    q = np.cumsum(np.clip(dq, 0, None))
    keep = s == half.sign
    return q[keep], ds["voltage_volt"].values[seg][keep]


def find_dqdv_peaks(
    ds: xr.Dataset,
    *,
    half_cycle: int,
    window_V: float = 0.03,
    polyorder: int = 3,
    grid_points: int = 400,
    prominence: float = 0.05,
) -> dict[str, Any]:
    """dQ/dV of one half cycle with Savitzky–Golay smoothing, and its peak potentials.

    Q(V) is interpolated onto a uniform voltage grid (points sorted by voltage, so a monotonic
    profile is assumed), then differentiated with a Savitzky–Golay filter of width
    ``window_V`` (Savitzky & Golay, Anal. Chem. 36, 1627 (1964)).

    Returns
    -------
    dict
        ``voltage_V``, ``dqdv_mAh_V`` arrays and ``peaks_V``/``peaks_height`` lists.
    """
    halves = find_half_cycles(ds)
    if not 0 <= half_cycle < len(halves):
        raise InputError(f"half_cycle must be 0..{len(halves) - 1}, got {half_cycle}")
    return _dqdv(ds, halves[half_cycle], window_V, polyorder, grid_points, prominence)


def _dqdv(
    ds: xr.Dataset,
    h: HalfCycle,
    window_V: float,
    polyorder: int,
    grid_points: int,
    prominence: float,
) -> dict[str, Any]:
    half_cycle = h.index
    q, v = voltage_profile(ds, h)
    if q.size < 10:
        raise InputError(f"half cycle {half_cycle} has only {q.size} points; dQ/dV needs more")
    order = np.argsort(v, kind="stable")
    vs, qs = v[order], q[order] * 1e3
    vs, idx = np.unique(vs, return_index=True)
    qs = qs[idx]
    grid = np.linspace(vs[0], vs[-1], grid_points)
    qg = np.interp(grid, vs, qs)
    dv = grid[1] - grid[0]
    win = max(polyorder + 2, round(window_V / dv) | 1)
    win = min(win, grid_points - 1 if grid_points % 2 == 0 else grid_points)
    if win % 2 == 0:
        win -= 1
    d = savgol_filter(qg, win, polyorder, deriv=1, delta=dv)
    mag = np.abs(d)
    floor = prominence * float(mag.max()) if mag.max() > 0 else None
    pk, _props = find_peaks(mag, prominence=floor)
    return {
        "half_cycle": half_cycle,
        "direction": h.kind,
        "voltage_V": grid,
        "dqdv_mAh_V": d,
        "peaks_V": grid[pk].tolist(),
        "peaks_height": mag[pk].tolist(),
        "window_V": win * dv,
    }
