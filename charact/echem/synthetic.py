"""Generated electrochemistry data of exactly known truth, for tests, benchmarks and the demo.

* :func:`cycling_record` — a galvanostatic record (anode or cathode half cell) whose half-cycle
  capacities, currents and dQ/dV peak potentials are chosen by the caller.
* :func:`write_biologic_mpt` — that record as an EC-Lab-like ``.mpt`` text export.
* :func:`impedance_spectrum` — Z(f) of a circuit string with optional relative noise.
* :func:`write_gamry_dta` / :func:`write_eis_csv` — spectra as Gamry ``.DTA`` / CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..core.store import atomic_write

__all__ = [
    "CyclingTruth",
    "cycling_record",
    "impedance_spectrum",
    "symmetric_cell_record",
    "write_biologic_mpt",
    "write_eis_csv",
    "write_gamry_dta",
]


def _profile(v_lo: float, v_hi: float, peaks: Sequence[float], n: int) -> np.ndarray:
    """Voltage at n equally spaced states of charge 0..1 for a curve with dQ/dV peaks.

    The state of charge is a sum of logistic steps centred at ``peaks`` plus a linear part,
    so dQ/dV has maxima at the ``peaks`` potentials.
    """
    v = np.linspace(v_lo, v_hi, 4001)
    x = 0.2 * (v - v_lo) / (v_hi - v_lo)
    for p in peaks:
        x = x + 1.0 / (1.0 + np.exp(-(v - p) / 0.015))
    x = (x - x[0]) / (x[-1] - x[0])
    return np.interp(np.linspace(0, 1, n), x, v)


@dataclass
class CyclingTruth:
    """What :func:`cycling_record` put into the record."""

    forward_mAh: list[float]
    reverse_mAh: list[float]
    current_mA: list[float]
    electrode: str
    partial_mAh: float | None
    charge_peaks_V: list[float] = field(default_factory=list)
    discharge_peaks_V: list[float] = field(default_factory=list)


def cycling_record(
    forward_mAh: Sequence[float],
    reverse_mAh: Sequence[float],
    *,
    current_mA: float | Sequence[float] = 1.0,
    electrode: str = "anode",
    partial_mAh: float | None = None,
    points_per_half: int = 60,
    rest_s: float = 600.0,
) -> tuple[dict[str, np.ndarray], CyclingTruth]:
    """Galvanostatic record with exact capacities.

    Parameters
    ----------
    forward_mAh, reverse_mAh
        Capacity of the first and second half of each cycle (anode: lithiation then
        delithiation; cathode: charge then discharge).
    current_mA
        Magnitude of the current per cycle (one value for all, or one per cycle).
    electrode
        ``"anode"`` (forward = discharge, 0.005-1.0 V) or ``"cathode"`` (forward = charge,
        3.0-4.2 V).
    partial_mAh
        If given, the record starts with a partial *reverse* step from OCV of this capacity
        (a cathode's pre-discharge), which must not be paired with cycle 1.

    Returns
    -------
    (columns, truth)
        ``columns``: ``time_s``, ``voltage_v``, ``current_a``, ``step``, ``cycle``,
        ``state`` (LAND codes ``R``, ``C_CC``, ``D_CC``), ``step_capacity_ah`` (per step,
        restarting at 0), ``dq_ah`` (signed increment per point).
    """
    n = len(forward_mAh)
    if len(reverse_mAh) != n:
        raise ValueError("forward_mAh and reverse_mAh need the same length")
    cur = np.broadcast_to(np.asarray(current_mA, dtype=float), (n,)).astype(float)
    if electrode == "anode":
        lo, hi = 0.005, 1.0
        fwd_sign, fwd_peaks, rev_peaks = -1, [0.08, 0.20], [0.30, 0.48]
    elif electrode == "cathode":
        lo, hi = 3.0, 4.2
        fwd_sign, fwd_peaks, rev_peaks = 1, [3.70, 3.95], [3.65, 3.90]
    else:
        raise ValueError("electrode must be 'anode' or 'cathode'")
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "time_s",
            "voltage_v",
            "current_a",
            "step",
            "cycle",
            "state",
            "step_capacity_ah",
            "dq_ah",
        )
    }
    t0 = 0.0
    step = 0

    def add_rest(v: float, cycle: int) -> None:
        nonlocal t0, step
        step += 1
        for t in np.linspace(0, rest_s, 6):
            cols["time_s"].append(t0 + t)
            cols["voltage_v"].append(v)
            cols["current_a"].append(0.0)
            cols["step"].append(step)
            cols["cycle"].append(cycle)
            cols["state"].append("R")
            cols["step_capacity_ah"].append(0.0)
            cols["dq_ah"].append(0.0)
        t0 += rest_s + 1.0

    def add_cc(q_mah: float, i_ma: float, sign: int, cycle: int, peaks: list[float]) -> None:
        nonlocal t0, step
        step += 1
        duration = q_mah / i_ma * 3600.0
        t = np.linspace(0.0, duration, points_per_half)
        q = i_ma * t / 3600.0 / 1000.0  # Ah, exact for a constant current
        # a charge raises the potential (delithiation / cathode charge)
        prof = _profile(lo, hi, peaks, points_per_half)
        v = prof if sign > 0 else prof[::-1]
        for k in range(points_per_half):
            cols["time_s"].append(t0 + t[k])
            cols["voltage_v"].append(float(v[k]))
            cols["current_a"].append(sign * i_ma / 1000.0)
            cols["step"].append(step)
            cols["cycle"].append(cycle)
            cols["state"].append("C_CC" if sign > 0 else "D_CC")
            cols["step_capacity_ah"].append(float(q[k]))
            cols["dq_ah"].append(sign * float(q[k] - (q[k - 1] if k else 0.0)))
        t0 += duration + 1.0

    add_rest(2.5 if electrode == "anode" else 3.3, 1)
    if partial_mAh is not None:
        add_cc(partial_mAh, float(cur[0]), -fwd_sign, 1, rev_peaks)
        add_rest(lo if fwd_sign > 0 else hi, 1)
    for c in range(n):
        add_cc(float(forward_mAh[c]), float(cur[c]), fwd_sign, c + 1, fwd_peaks)
        add_rest(lo if fwd_sign < 0 else hi, c + 1)
        add_cc(float(reverse_mAh[c]), float(cur[c]), -fwd_sign, c + 1, rev_peaks)
        add_rest(hi if fwd_sign < 0 else lo, c + 1)
    out = {k: np.asarray(v) for k, v in cols.items()}
    charge_peaks = rev_peaks if electrode == "anode" else fwd_peaks
    discharge_peaks = fwd_peaks if electrode == "anode" else rev_peaks
    truth = CyclingTruth(
        forward_mAh=list(map(float, forward_mAh)),
        reverse_mAh=list(map(float, reverse_mAh)),
        current_mA=cur.tolist(),
        electrode=electrode,
        partial_mAh=partial_mAh,
        charge_peaks_V=charge_peaks,
        discharge_peaks_V=discharge_peaks,
    )
    return out, truth


def write_biologic_mpt(columns: dict[str, np.ndarray], path: str | PathLike[str]) -> Path:
    """Write a record from :func:`cycling_record` as an EC-Lab-like GCPL ``.mpt`` export."""
    names = [
        "mode",
        "ox/red",
        "Ns",
        "time/s",
        "dq/mA.h",
        "Ewe/V",
        "<I>/mA",
        "Q charge/mA.h",
        "Q discharge/mA.h",
        "cycle number",
    ]
    header = [
        "EC-Lab ASCII FILE",
        f"Nb header lines : {8:<3d}",
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "",
        "Characteristic mass : 1.200 mg",
        "Device : synthetic (charact)",
        "\t".join(names),
    ]
    body = []
    qc = qd = 0.0
    prev_sign = 0
    for k in range(columns["time_s"].size):
        i_ma = columns["current_a"][k] * 1000.0
        sign = int(np.sign(i_ma))
        dq = columns["dq_ah"][k] * 1000.0
        if sign and sign != prev_sign:
            qc = qd = 0.0
            prev_sign = sign
        qc += max(dq, 0.0)
        qd += max(-dq, 0.0)
        mode = 1 if sign else 3
        body.append(
            f"{mode}\t{1 if sign > 0 else 0}\t{int(columns['step'][k])}\t"
            f"{columns['time_s'][k]:.6f}\t{dq:.9e}\t{columns['voltage_v'][k]:.7e}\t"
            f"{i_ma:.7e}\t{qc:.9e}\t{qd:.9e}\t{int(columns['cycle'][k])}"
        )
    with atomic_write(path) as fh:
        fh.write("\n".join(header + body) + "\n")
    return Path(path)


def impedance_spectrum(
    circuit: str,
    parameters: dict[str, float],
    *,
    f_min: float = 0.01,
    f_max: float = 1e5,
    points_per_decade: int = 10,
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(frequency_Hz, Z)`` of ``circuit`` with ``parameters``; ``noise`` is relative to |Z|.

    Frequencies run from high to low, as instruments sweep.
    """
    from .eis import parse_circuit

    decades = np.log10(f_max) - np.log10(f_min)
    f = np.logspace(np.log10(f_max), np.log10(f_min), round(decades * points_per_decade) + 1)
    model = parse_circuit(circuit)
    z = model.impedance(f, [parameters[n] for n in model.parameter_names])
    if noise:
        rng = np.random.default_rng(seed)
        mod = np.abs(z)
        z = z + noise * mod * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    return f, z


def write_eis_csv(
    f: np.ndarray, z: np.ndarray, path: str | PathLike[str], *, minus_im: bool = False
) -> Path:
    """Write ``freq/Hz, Re(Z)/Ohm, Im(Z)/Ohm`` (or ``-Im(Z)/Ohm``) as CSV."""
    third = "-Im(Z)/Ohm" if minus_im else "Im(Z)/Ohm"
    im = -z.imag if minus_im else z.imag
    lines = [f"freq/Hz,Re(Z)/Ohm,{third}"] + [
        f"{a:.8e},{b:.8e},{c:.8e}" for a, b, c in zip(f, z.real, im, strict=True)
    ]
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n")
    return Path(path)


def write_gamry_dta(
    f: np.ndarray,
    z: np.ndarray,
    path: str | PathLike[str],
    *,
    points_in_tag: bool = False,
    ocv_curve: bool = False,
) -> Path:
    """Write a spectrum in the layout of a Gamry Framework EIS ``.DTA`` file.

    As Framework writes it: Windows line ends, ISO-8859-1 text (the ``°`` of the phase
    unit), an ``EXPLAIN`` header of ``NAME<TAB>TYPE<TAB>value<TAB>label`` lines, then the
    ``ZCURVE<TAB>TABLE`` block (newer versions append the point count to that tag,
    ``points_in_tag``): a column-name line and a units line, each data row starting with a
    tab. ``ocv_curve`` puts an ``OCVCURVE`` table (open-circuit potential before the
    measurement) ahead of it, as some experiments record.
    """
    lines = [
        "EXPLAIN",
        "TAG\tEISPOT",
        "TITLE\tLABEL\tPotentiostatic EIS (synthetic)\tTest &Identifier",
        "DATE\tLABEL\t11/28/2026\tDate",
        "TIME\tLABEL\t12:00:00\tTime",
        "NOTES\tNOTES\t1\t&Notes...",
        "\t",
        "PSTAT\tPSTAT\tsynthetic\tPotentiostat",
        f"FREQINIT\tQUANT\t{f[0]:.5E}\tInitial Fre&q. (Hz)",
        f"FREQFINAL\tQUANT\t{f[-1]:.5E}\tFinal Fre&q. (Hz)",
        "VAC\tQUANT\t1.00000E+001\tAC &Voltage (mV rms)",
        "AREA\tQUANT\t1.00000E+000\t&Area (cm^2)",
    ]
    if ocv_curve:
        lines += [
            "OCVCURVE\tTABLE\t3",
            "\tPt\tT\tVf\tVm\tAch\tOver\tTemp",
            "\t#\ts\tV vs. Ref.\tV\tV\tbits\tdeg C",
        ]
        lines += [f"\t{k}\t{k:.1f}\t0.1358\t0.1358\t0\t...........\t25" for k in range(3)]
    lines += [
        "ZCURVE\tTABLE" + (f"\t{len(f)}" if points_in_tag else ""),
        "\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange",
        "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#",
    ]
    for k, (fk, zk) in enumerate(zip(f, z, strict=True)):
        lines.append(
            f"\t{k}\t{k + 1}\t{fk:.6E}\t{zk.real:.6E}\t{zk.imag:.6E}\t1\t{abs(zk):.6E}\t"
            f"{np.degrees(np.angle(zk)):.6E}\t0\t0\t5"
        )
    with atomic_write(path, "wb") as fh:
        fh.write(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return Path(path)


def symmetric_cell_record(
    n_half_cycles: int = 100,
    *,
    current_mA: float = 0.5,
    half_cycle_h: float = 1.0,
    eta0_mV: float = 20.0,
    growth_mV_per_h: float = 0.1,
    short_at_half_cycle: int | None = None,
    points_per_half: int = 20,
) -> dict[str, np.ndarray]:
    """A Li/Li symmetric-cell record: ±current, plateau |V| = eta0 + growth·t, optional short
    (overpotential divided by 5 from that half cycle on)."""
    t_all, v_all, i_all = [], [], []
    dur = half_cycle_h * 3600.0
    for k in range(n_half_cycles):
        t = k * dur + np.linspace(0.0, dur, points_per_half, endpoint=False)
        eta = eta0_mV + growth_mV_per_h * (t / 3600.0)
        if short_at_half_cycle is not None and k >= short_at_half_cycle:
            eta = eta / 5.0
        sign = 1.0 if k % 2 == 0 else -1.0
        t_all.append(t)
        v_all.append(sign * eta / 1000.0)
        i_all.append(np.full(t.size, sign * current_mA / 1000.0))
    return {
        "time_s": np.concatenate(t_all),
        "voltage_v": np.concatenate(v_all),
        "current_a": np.concatenate(i_all),
    }
