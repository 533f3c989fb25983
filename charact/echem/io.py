"""Electrochemistry readers: cycler and potentiostat files into one normalized Dataset.

Every cycling/CV reader returns the same shape (:func:`make_cycling_dataset`): one dim
``record`` and the variables below, named after the Battery Data Format (Battery Data
Alliance) machine-readable column names where one exists.

===================================  =====  ==============================================
``test_time_second``                 s      time since the start of the test
``voltage_volt``                     V      working-electrode potential / cell voltage
``current_ampere``                   A      > 0 charge (oxidation of the working electrode)
``charging_capacity_ampere_hour``    A*h    charge passed with I > 0 in the current half cycle
``discharging_capacity_ampere_hour`` A*h    charge passed with I < 0 in the current half cycle
``cycle_count``                      1      the instrument's cycle number (as the file says)
``step_index``                       1      the instrument's step / sequence number
``half_cycle``                       1      charact's half-cycle index: a new one at every
                                            change of current sign (rests do not split)
``step_type``                        1      -1 discharge, 0 rest, +1 charge (from the sign)
===================================  =====  ==============================================

Capacities restart at 0 at every half cycle, whatever the instrument did; they are
accumulated from the instrument's own capacity increments where it writes them (EC-Lab
``dq``, LAND/Neware/Arbin capacity columns) and from the trapezoid integral of the current
otherwise, so the per-half-cycle totals equal the instrument's.

Impedance readers return a Dataset on dim ``point`` with ``frequency`` (Hz), ``z_real`` and
``z_imag`` (Ohm, *Im Z*, negative for a capacitive arc) and ``spectrum`` (index of the
spectrum in a file holding several). The sign convention found in the file is stated in
``attrs["imag_sign_source"]``.

BioLogic ``.mpr`` is decoded by galvani (GPL-3.0), an optional dependency imported only when
an ``.mpr`` is read; the ``.mpt`` text export is parsed by our own code.
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.errors import (
    AssumptionWarning,
    CorruptFileError,
    FormatError,
    InputError,
)
from ..core.provenance import charact_version
from ..core.readers import Reader, register_reader
from ..core.textio import parse_numeric_table, sniff_numeric_table

__all__ = [
    "CYCLING_VARIABLES",
    "eis_arrays",
    "make_cycling_dataset",
    "make_eis_dataset",
    "read_arbin_xlsx",
    "read_biologic_mpr",
    "read_biologic_mpt",
    "read_cycling_csv",
    "read_eis_text",
    "read_gamry_dta",
    "read_maccor_txt",
    "read_neware_ndax",
]

#: Normalized variable name -> units.
CYCLING_VARIABLES: dict[str, str] = {
    "test_time_second": "s",
    "voltage_volt": "V",
    "current_ampere": "A",
    "charging_capacity_ampere_hour": "A*h",
    "discharging_capacity_ampere_hour": "A*h",
    "cycle_count": "1",
    "step_index": "1",
    "half_cycle": "1",
    "step_type": "1",
}

_BASE_ATTRS = ("sample_id", "measurement_id", "instrument", "source_file", "source_sha256")


def _warn_dropped(path: Path, lineno: int, why: str) -> None:
    warnings.warn(f"{path.name}: line {lineno} dropped: {why}", AssumptionWarning, stacklevel=3)


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# --------------------------------------------------------------------------- normalization


def _rest_threshold(current: np.ndarray) -> float:
    """Currents below this magnitude count as rest (instrument offsets are ~1e-4 of range)."""
    big = np.nanmax(np.abs(current)) if current.size else 0.0
    return max(1e-3 * big, 1e-12)


def _sign(current: np.ndarray) -> np.ndarray:
    thr = _rest_threshold(current)
    s = np.zeros(current.shape, dtype=np.int8)
    s[current > thr] = 1
    s[current < -thr] = -1
    return s


def _half_cycles(sign: np.ndarray) -> np.ndarray:
    """Index of the half cycle of each point: +1 at every change of (non-zero) sign.

    Rest points belong to the half cycle before them (the first ones to half cycle 0).
    """
    nz = np.flatnonzero(sign != 0)
    out = np.zeros(sign.shape, dtype=np.int64)
    if nz.size == 0:
        return out
    s = sign[nz]
    idx = np.concatenate([[0], np.cumsum(s[1:] != s[:-1])])
    # forward-fill: each point takes the index of the last non-rest point at or before it
    last = np.full(sign.shape, -1, dtype=np.int64)
    last[nz] = np.arange(nz.size)
    last = np.maximum.accumulate(last)
    out[last >= 0] = idx[last[last >= 0]]
    return out


def _increments(cumulative: np.ndarray) -> np.ndarray:
    """Increments of a capacity column that the instrument resets (per step or cycle).

    A drop means a reset: the increment is then the new value itself.
    """
    c = np.nan_to_num(np.asarray(cumulative, dtype=float))
    inc = np.diff(c, prepend=0.0)
    reset = inc < -1e-12 * max(1.0, float(np.max(np.abs(c))) if c.size else 1.0)
    inc[reset] = c[reset]
    return np.clip(inc, 0.0, None)


def _trapezoid_increments(
    time_s: np.ndarray, current_a: np.ndarray, sign: np.ndarray
) -> np.ndarray:
    """Signed charge passed between consecutive points, in A*h (trapezoid rule).

    An interval whose ends differ in step type (rest → charge …) contributes nothing: when
    the step changed inside it is unknown, and the instruments that write capacities start
    counting at the first point of the new step.
    """
    dt = np.diff(time_s, prepend=time_s[:1])
    mid = np.concatenate([[0.0], 0.5 * (current_a[1:] + current_a[:-1])])
    same = np.concatenate([[False], sign[1:] == sign[:-1]])
    return np.where(same, mid * dt / 3600.0, 0.0)


def make_cycling_dataset(
    *,
    time_s: Any,
    voltage_v: Any,
    current_a: Any,
    charge_increment_ah: Any | None = None,
    discharge_increment_ah: Any | None = None,
    cycle: Any | None = None,
    step: Any | None = None,
    measurement_type: str = "cycling",
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    extra: Mapping[str, tuple[Any, str]] | None = None,
    source: str | PathLike[str] | None = None,
) -> xr.Dataset:
    """Build the normalized cycling/CV Dataset (see the module docstring).

    Parameters
    ----------
    time_s, voltage_v, current_a
        Per-point test time (s), voltage (V) and current (A, > 0 charge).
    charge_increment_ah, discharge_increment_ah
        Capacity passed since the previous point (A*h, >= 0) as the instrument counted it;
        when omitted, the trapezoid integral of the current is used.
    cycle, step
        The instrument's cycle and step numbers (0 when not given).
    measurement_type
        ``"cycling"`` or ``"cv"``.
    metadata
        Vendor header, stored verbatim as JSON in ``original_metadata``.
    attrs
        Further attrs (``active_mass_mg``, ``area_cm2``, ``instrument`` …).
    extra
        More per-point variables ``{name: (values, units)}``.
    source
        The file, for error messages.

    Raises
    ------
    CorruptFileError
        No rows, arrays of different lengths, or non-finite time/voltage/current.
    """
    t = np.asarray(time_s, dtype=float)
    v = np.asarray(voltage_v, dtype=float)
    i = np.asarray(current_a, dtype=float)
    n = t.size
    if n == 0:
        raise CorruptFileError("the file holds no data rows", path=source)
    for name, arr in (("voltage", v), ("current", i)):
        if arr.shape != t.shape:
            raise CorruptFileError(f"{name} has {arr.size} values but time has {n}", path=source)
    for name, arr in (("time", t), ("voltage", v), ("current", i)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise CorruptFileError(
                f"{name} is not a finite number at data row {int(bad[0]) + 1} "
                f"({bad.size} such rows)",
                path=source,
            )
    sign = _sign(i)
    half = _half_cycles(sign)
    if charge_increment_ah is None or discharge_increment_ah is None:
        inc = _trapezoid_increments(t, i, sign)
        qc = np.where(inc > 0, inc, 0.0)
        qd = np.where(inc < 0, -inc, 0.0)
    else:
        qc = np.nan_to_num(np.asarray(charge_increment_ah, dtype=float))
        qd = np.nan_to_num(np.asarray(discharge_increment_ah, dtype=float))
    # restart the running totals at each half cycle
    starts = np.flatnonzero(np.diff(half, prepend=-1))
    cum_c = np.cumsum(qc)
    cum_d = np.cumsum(qd)
    base_c = np.repeat(np.concatenate([[0.0], cum_c])[starts], np.diff(np.append(starts, n)))
    base_d = np.repeat(np.concatenate([[0.0], cum_d])[starts], np.diff(np.append(starts, n)))
    cap_c = cum_c - base_c
    cap_d = cum_d - base_d
    cyc = np.zeros(n, dtype=np.int64) if cycle is None else np.asarray(cycle).astype(np.int64)
    stp = np.zeros(n, dtype=np.int64) if step is None else np.asarray(step).astype(np.int64)
    values = {
        "test_time_second": t,
        "voltage_volt": v,
        "current_ampere": i,
        "charging_capacity_ampere_hour": cap_c,
        "discharging_capacity_ampere_hour": cap_d,
        "cycle_count": cyc,
        "step_index": stp,
        "half_cycle": half,
        "step_type": sign,
    }
    ds = xr.Dataset(
        {
            k: xr.Variable("record", val, {"units": CYCLING_VARIABLES[k]})
            for k, val in values.items()
        }
    )
    ds["step_type"].attrs.update(flag_values=[-1, 0, 1], flag_meanings="discharge rest charge")
    for name, (vals, units) in (extra or {}).items():
        ds[name] = xr.Variable("record", np.asarray(vals, dtype=float), {"units": units})
    ds.attrs = dict.fromkeys(_BASE_ATTRS, "")
    ds.attrs.update(
        technique="echem",
        reader="",
        charact_version=charact_version(),
        measurement_type=measurement_type,
        current_sign="positive = charge (oxidation of the working electrode)",
        capacity_source="instrument increments"
        if charge_increment_ah is not None
        else "trapezoid integral of the current",
        original_metadata=json.dumps(dict(metadata or {}), default=str, ensure_ascii=False),
    )
    ds.attrs.update(attrs or {})
    return ds


def make_eis_dataset(
    frequency_hz: Any,
    z_real: Any,
    z_imag: Any,
    *,
    spectrum: Any | None = None,
    imag_sign_source: str = "Im(Z)",
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    extra: Mapping[str, tuple[Any, str]] | None = None,
    source: str | PathLike[str] | None = None,
) -> xr.Dataset:
    """Build the impedance Dataset: ``frequency``, ``z_real``, ``z_imag`` (Im Z), ``spectrum``.

    Raises
    ------
    CorruptFileError
        Fewer than 2 points, non-positive or non-finite frequencies, non-finite impedance.
    """
    f = np.asarray(frequency_hz, dtype=float)
    zr = np.asarray(z_real, dtype=float)
    zi = np.asarray(z_imag, dtype=float)
    if f.size < 2:
        raise CorruptFileError(
            f"an impedance spectrum needs at least 2 frequencies, found {f.size}", path=source
        )
    for name, arr in (("frequency", f), ("Re Z", zr), ("Im Z", zi)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise CorruptFileError(
                f"{name} is not a finite number at data row {int(bad[0]) + 1}", path=source
            )
    if np.any(f <= 0):
        raise CorruptFileError(f"frequencies must be > 0, found {f[f <= 0][0]:g} Hz", path=source)
    spec = np.zeros(f.size, dtype=np.int64) if spectrum is None else np.asarray(spectrum)
    ds = xr.Dataset(
        {
            "frequency": xr.Variable("point", f, {"units": "Hz"}),
            "z_real": xr.Variable("point", zr, {"units": "ohm"}),
            "z_imag": xr.Variable("point", zi, {"units": "ohm", "long_name": "Im Z"}),
            "spectrum": xr.Variable("point", spec.astype(np.int64), {"units": "1"}),
        }
    )
    for name, (vals, units) in (extra or {}).items():
        ds[name] = xr.Variable("point", np.asarray(vals, dtype=float), {"units": units})
    ds.attrs = dict.fromkeys(_BASE_ATTRS, "")
    ds.attrs.update(
        technique="echem",
        reader="",
        charact_version=charact_version(),
        measurement_type="eis",
        imag_sign_source=imag_sign_source,
        original_metadata=json.dumps(dict(metadata or {}), default=str, ensure_ascii=False),
    )
    ds.attrs.update(attrs or {})
    return ds


def eis_arrays(ds: xr.Dataset, *, spectrum: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(frequency_Hz, Z complex)`` of one spectrum of an impedance Dataset.

    ``spectrum=None`` takes the only spectrum (an error if the file holds several).
    """
    if not isinstance(ds, xr.Dataset) or not {"frequency", "z_real", "z_imag"} <= set(ds):
        raise InputError("expected an impedance Dataset with frequency, z_real and z_imag")
    spec = ds["spectrum"].values if "spectrum" in ds else np.zeros(ds.sizes["point"], int)
    ids = np.unique(spec)
    if spectrum is None:
        if ids.size > 1:
            raise InputError(
                f"{ds.attrs.get('source_file') or 'data'} holds {ids.size} spectra "
                f"({', '.join(map(str, ids))}); choose one with spectrum= (CLI: --spectrum N, "
                "or --series to fit them all)"
            )
        spectrum = int(ids[0])
    mask = spec == spectrum
    if not mask.any():
        raise InputError(f"no spectrum {spectrum}; the data holds {list(map(int, ids))}")
    f = ds["frequency"].values[mask].astype(float)
    z = ds["z_real"].values[mask] + 1j * ds["z_imag"].values[mask]
    return f, z


# --------------------------------------------------------------------------- BioLogic

# Bits of EC-Lab's per-point "flags" byte (EC-Lab file format as documented by the
# galvani and yadg projects): mode in bits 0-1, ox/red in bit 2.
_MODE_MASK = 0x03


def _biologic_columns(names: Sequence[str], get: Any, path: Path, meta: dict[str, Any]):
    """Turn EC-Lab columns (from .mpr or .mpt) into the normalized Dataset."""
    cols = set(names)
    if "freq/Hz" in cols:
        f = get("freq/Hz")
        zr = get("Re(Z)/Ohm")
        zi = -get("-Im(Z)/Ohm")
        spec = get("cycle number") if "cycle number" in cols else None
        if spec is not None:
            spec = np.asarray(spec).astype(np.int64)
            spec = spec - spec.min()
        extra = {}
        for col, (name, units) in {
            "<Ewe>/V": ("voltage_volt", "V"),
            "time/s": ("test_time_second", "s"),
            "<I>/mA": ("dc_current_milliampere", "mA"),
        }.items():
            if col in cols:
                extra[name] = (get(col), units)
        return make_eis_dataset(
            f,
            zr,
            zi,
            spectrum=spec,
            imag_sign_source="-Im(Z)/Ohm column (EC-Lab); stored as Im(Z)",
            metadata=meta,
            attrs=_biologic_attrs(meta),
            extra=extra,
            source=path,
        )
    if "time/s" not in cols or not ({"Ewe/V", "<Ewe>/V"} & cols):
        raise CorruptFileError(
            "expected EC-Lab columns time/s and Ewe/V (or freq/Hz for impedance); "
            f"found {', '.join(names)}",
            path=path,
        )
    t = get("time/s")
    v = get("Ewe/V") if "Ewe/V" in cols else get("<Ewe>/V")
    qc = qd = None
    if "dq/mA.h" in cols:
        dq = get("dq/mA.h") / 1000.0
        qc, qd = np.clip(dq, 0, None), np.clip(-dq, 0, None)
    for icol, scale in (("<I>/mA", 1e-3), ("I/mA", 1e-3), ("control/mA", None)):
        if icol in cols and scale is not None:
            current = get(icol) * scale
            break
    else:
        if qc is None:
            raise CorruptFileError(
                f"found neither a current column (<I>/mA, I/mA) nor dq/mA.h in {', '.join(names)}",
                path=path,
            )
        # GCPL .mpr files carry no current column: the mean current between points is dq/dt.
        dt = np.diff(t, prepend=t[:1])
        with np.errstate(divide="ignore", invalid="ignore"):
            current = np.where(dt > 0, (qc - qd) * 3600.0 / np.where(dt > 0, dt, 1.0), 0.0)
    cycle = get("cycle number") if "cycle number" in cols else None
    step = get("Ns") if "Ns" in cols else None
    is_cv = ("control/V" in cols and "control/V/mA" not in cols) or "<Ecv>/V" in cols
    extra = {}
    if "Ece/V" in cols:
        extra["counter_electrode_potential_volt"] = (get("Ece/V"), "V")
    if "(Q-Qo)/mA.h" in cols:
        extra["charge_since_start_ampere_hour"] = (get("(Q-Qo)/mA.h") / 1000.0, "A*h")
    elif "(Q-Qo)/C" in cols:
        extra["charge_since_start_ampere_hour"] = (get("(Q-Qo)/C") / 3600.0, "A*h")
    return make_cycling_dataset(
        time_s=t,
        voltage_v=v,
        current_a=current,
        charge_increment_ah=qc,
        discharge_increment_ah=qd,
        cycle=cycle,
        step=step,
        measurement_type="cv" if is_cv else "cycling",
        metadata=meta,
        attrs=_biologic_attrs(meta),
        extra=extra,
        source=path,
    )


_MASS = re.compile(r"(?:Characteristic mass|Mass of active material)\s*:\s*([\d.]+)\s*(mg|g)")
_AREA = re.compile(r"Electrode surface area\s*:\s*([\d.]+)\s*cm")
_DEVICE = re.compile(r"Device\s*:\s*(.+)")


def _biologic_attrs(meta: Mapping[str, Any]) -> dict[str, Any]:
    header = "\n".join(meta.get("header", []))
    out: dict[str, Any] = {"instrument": "BioLogic"}
    if m := _DEVICE.search(header):
        out["instrument"] = f"BioLogic {m.group(1).strip()}"
    if m := _MASS.search(header):
        mass = float(m.group(1)) * (1.0 if m.group(2) == "mg" else 1000.0)
        # EC-Lab writes 0.001 g as a placeholder when the user entered nothing
        if mass > 1.0 + 1e-9 or "Mass of active material" in m.group(0):
            out["active_mass_mg"] = mass
    if m := _AREA.search(header):
        area = float(m.group(1))
        if area > 0.001 + 1e-9:
            out["area_cm2"] = area
    return out


def _sniff_mpr(head: bytes, path: Path) -> float:
    return 1.0 if head.startswith(b"BIO-LOGIC MODULAR FILE") else 0.0


def read_biologic_mpr(path: str | PathLike[str]) -> xr.Dataset:
    """Read a BioLogic EC-Lab binary ``.mpr`` (GCPL, CV, PEIS …) through galvani.

    galvani (GPL-3.0) is an optional dependency: ``pip install 'charact[biologic]'``. When
    galvani does not know a column ID (newer EC-Lab versions), the error names the ID; the
    ``.mpt`` text export of the same file is always readable by :func:`read_biologic_mpt`.
    """
    p = Path(path)
    try:
        from galvani import BioLogic
    except ImportError:
        raise FormatError(
            "reading BioLogic .mpr files needs the optional package galvani (GPL-3.0)",
            path=p,
            hint="install charact's optional 'biologic' extra (pip install 'charact[biologic]', "
            "which brings galvani), or export the file as .mpt text in EC-Lab (Export as text), "
            "which charact reads without it",
        ) from None
    head = p.read_bytes()[:64]
    if not head.startswith(b"BIO-LOGIC MODULAR FILE"):
        raise CorruptFileError(
            "not a BioLogic .mpr file (no 'BIO-LOGIC MODULAR FILE' magic)", path=p
        )
    try:
        with p.open("rb") as fh:
            mpr = BioLogic.MPRfile(fh)
    except NotImplementedError as exc:
        found = re.search(r"[Cc]olumn ID (\d+)", str(exc))
        what = f"unknown column ID {found.group(1)}" if found else str(exc)
        raise CorruptFileError(
            f"{what}: this EC-Lab version writes a column the installed galvani does not know",
            path=p,
            hint="upgrade galvani (pip install -U datalab-org-galvani), or export the file as "
            ".mpt text in EC-Lab",
        ) from None
    except (ValueError, EOFError, IndexError, OSError, AssertionError, KeyError) as exc:
        raise CorruptFileError(
            f"truncated or malformed .mpr ({type(exc).__name__}: {exc})", path=p
        ) from None
    data = mpr.data
    names = list(data.dtype.names or ())
    if len(data) == 0:
        raise CorruptFileError("the .mpr data module holds no rows", path=p)
    meta: dict[str, Any] = {
        "columns": names,
        "header": [],
        "start_date": str(getattr(mpr, "startdate", "")),
        "timestamp": str(getattr(mpr, "timestamp", "")),
    }

    def get(col: str) -> np.ndarray:
        return np.asarray(data[col], dtype=float)

    return _biologic_columns(names, get, p, meta)


def _sniff_mpt(head: bytes, path: Path) -> float:
    return 1.0 if head.lstrip().startswith(b"EC-Lab ASCII FILE") else 0.0


def read_biologic_mpt(path: str | PathLike[str]) -> xr.Dataset:
    """Read a BioLogic EC-Lab ASCII export (``.mpt``, tab separated, decimal point or comma)."""
    p = Path(path)
    lines = _text(p).splitlines()
    if not lines or not lines[0].strip().startswith("EC-Lab ASCII FILE"):
        raise CorruptFileError("expected 'EC-Lab ASCII FILE' on the first line", path=p)
    m = re.match(r"Nb header lines\s*:\s*(\d+)", lines[1].strip() if len(lines) > 1 else "")
    if not m:
        raise CorruptFileError("line 2: expected 'Nb header lines : N'", path=p)
    nhead = int(m.group(1))
    if len(lines) < nhead:
        raise CorruptFileError(
            f"the header announces {nhead} lines, the file has {len(lines)}", path=p
        )
    names = [c.strip() for c in lines[nhead - 1].split("\t") if c.strip()]
    data_lines = [(k, ln) for k, ln in enumerate(lines[nhead:], start=nhead + 1) if ln.strip()]
    if not data_lines:
        raise CorruptFileError("the .mpt holds a header but no data rows", path=p)
    ncols = len([x for x in data_lines[0][1].split("\t") if x.strip() != ""])
    notes = []
    if len(names) != ncols:
        # EC-Lab sometimes names a column it does not write (e.g. a trailing Ewe-Ece/V)
        notes.append(f"header names {len(names)} columns, data rows hold {ncols}")
        names = (names + [f"col{j}" for j in range(len(names), ncols)])[:ncols]
    rows = []
    for j, (lineno, ln) in enumerate(data_lines):
        parts = [x for x in ln.split("\t") if x.strip() != ""]
        if len(parts) != ncols:
            if j == len(data_lines) - 1:
                _warn_dropped(p, lineno, "last line is incomplete (file cut off?)")
                notes.append(f"dropped incomplete last line {lineno}")
                break
            raise CorruptFileError(
                f"line {lineno}: expected {ncols} tab-separated values, found {len(parts)} "
                "(truncated or damaged export)",
                path=p,
            )
        try:
            rows.append([float(x.replace(",", ".")) for x in parts])
        except ValueError:
            raise CorruptFileError(f"line {lineno}: non-numeric value", path=p) from None
    arr = np.asarray(rows)
    # latin-1 mangles µ; normalise the names we do not use anyway
    names = [n.replace("\ufffd", "µ") for n in names]
    index = {n: k for k, n in enumerate(names)}
    meta = {"header": lines[: nhead - 1], "columns": names, "notes": notes}

    def get(col: str) -> np.ndarray:
        return arr[:, index[col]]

    return _biologic_columns(names, get, p, meta)


# --------------------------------------------------------------------------- xlsx helpers


def _xlsx_strings(path: Path, limit: int = 200_000) -> str:
    """Shared strings + sheet names of an .xlsx (cheap header sniffing), '' if not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            out = ""
            # header names sit in sharedStrings (Excel) or inline in the sheets (openpyxl's
            # streaming writer): look at both, only the first bytes of the first sheets
            sheets = sorted(n for n in names if n.startswith("xl/worksheets/sheet"))[:4]
            for member in ("xl/workbook.xml", "xl/sharedStrings.xml", *sheets):
                if member in names:
                    with zf.open(member) as fh:
                        out += fh.read(limit if "sheet" not in member else 65536).decode(
                            "utf-8", "replace"
                        )
            return out
    except (zipfile.BadZipFile, OSError, KeyError):
        return ""


def _arbin_sniff(head: bytes, path: Path) -> float:
    if not head.startswith(b"PK") or path.suffix.lower() not in (".xlsx", ".xlsm"):
        return 0.0
    s = _xlsx_strings(path)
    return 0.95 if ("Test_Time(s)" in s and "Voltage(V)" in s) else 0.0


def read_arbin_xlsx(path: str | PathLike[str]) -> xr.Dataset:
    """Read an Arbin MITS Pro ``.xlsx`` export (``Channel_*`` data sheets, ``Global_Info``)."""
    import pandas as pd

    p = Path(path)
    try:
        sheets = pd.read_excel(p, sheet_name=None)
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise CorruptFileError(f"not a readable .xlsx workbook ({exc})", path=p) from None
    frames = [df for name, df in sheets.items() if name.lower().startswith("channel")]
    if not frames:
        raise CorruptFileError(
            f"expected Arbin data sheets named Channel_*, found {', '.join(sheets)}", path=p
        )
    df = pd.concat(frames, ignore_index=True)
    need = [
        "Test_Time(s)",
        "Voltage(V)",
        "Current(A)",
        "Charge_Capacity(Ah)",
        "Discharge_Capacity(Ah)",
    ]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CorruptFileError(f"Arbin sheet lacks column(s) {', '.join(missing)}", path=p)
    df = df.sort_values("Test_Time(s)", kind="stable")
    meta = {"sheets": list(sheets), "columns": [str(c) for c in df.columns]}
    info = sheets.get("Global_Info")
    if info is not None:
        meta["global_info"] = info.astype(str).values.tolist()
    return make_cycling_dataset(
        time_s=df["Test_Time(s)"].to_numpy(float),
        voltage_v=df["Voltage(V)"].to_numpy(float),
        current_a=df["Current(A)"].to_numpy(float),
        charge_increment_ah=_increments(df["Charge_Capacity(Ah)"].to_numpy(float)),
        discharge_increment_ah=_increments(df["Discharge_Capacity(Ah)"].to_numpy(float)),
        cycle=df["Cycle_Index"].to_numpy() if "Cycle_Index" in df else None,
        step=df["Step_Index"].to_numpy() if "Step_Index" in df else None,
        metadata=meta,
        attrs={"instrument": "Arbin"},
        source=p,
    )


# --------------------------------------------------------------------------- Neware


def _neware_sniff(head: bytes, path: Path) -> float:
    if head.startswith(b"NEWARE"):
        return 1.0
    if head.startswith(b"PK") and path.suffix.lower() == ".ndax":
        try:
            with zipfile.ZipFile(path) as zf:
                return 1.0 if "data.ndc" in zf.namelist() else 0.0
        except (zipfile.BadZipFile, OSError):
            return 0.0
    return 0.0


def read_neware_ndax(path: str | PathLike[str]) -> xr.Dataset:
    """Read a Neware BTS ``.ndax``/``.nda`` file through NewareNDA (BSD-3-Clause, optional)."""
    p = Path(path)
    try:
        import NewareNDA
    except ImportError:
        raise FormatError(
            "reading Neware .nda/.ndax files needs the optional package NewareNDA",
            path=p,
            hint="install charact's optional 'neware' extra (pip install 'charact[neware]', "
            "which brings NewareNDA, BSD-3-Clause)",
        ) from None
    try:
        df = NewareNDA.read(str(p))
    except Exception as exc:  # NewareNDA raises bare exceptions on damaged files
        raise CorruptFileError(
            f"NewareNDA could not decode the file ({type(exc).__name__}: {exc})", path=p
        ) from None
    need = ["Voltage", "Current(mA)", "Charge_Capacity(mAh)", "Discharge_Capacity(mAh)"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CorruptFileError(f"NewareNDA returned no column(s) {', '.join(missing)}", path=p)
    if "Timestamp" in df:
        ts = df["Timestamp"].astype("datetime64[ns]").to_numpy().astype("int64") / 1e9
        t = ts - ts[0]
    else:
        t = np.cumsum(np.diff(df["Time"].to_numpy(float), prepend=0.0).clip(0, None))
    return make_cycling_dataset(
        time_s=t,
        voltage_v=df["Voltage"].to_numpy(float),
        current_a=df["Current(mA)"].to_numpy(float) / 1000.0,
        charge_increment_ah=_increments(df["Charge_Capacity(mAh)"].to_numpy(float)) / 1000,
        discharge_increment_ah=_increments(df["Discharge_Capacity(mAh)"].to_numpy(float)) / 1000,
        cycle=df["Cycle"].to_numpy() if "Cycle" in df else None,
        step=df["Step"].to_numpy() if "Step" in df else None,
        metadata={
            "columns": [str(c) for c in df.columns],
            "status": sorted(map(str, set(df.get("Status", [])))),
        },
        attrs={"instrument": "Neware BTS"},
        source=p,
    )


# --------------------------------------------------------------------------- Maccor


def _maccor_sniff(head: bytes, path: Path) -> float:
    text = head[:4096].decode("latin-1")
    if re.search(r"^Rec\tCycle P\tCycle C\tStep\tTestTime", text, re.M):
        return 1.0
    return 0.5 if "Maccor" in text and "Rec" in text else 0.0


def read_maccor_txt(path: str | PathLike[str]) -> xr.Dataset:
    """Read a Maccor text export (tab separated, decimal comma or point, ``Md`` C/D/R column).

    ``TestTime`` is in minutes in this export layout when consecutive ``DPT Time`` stamps
    say so; the time base used is recorded in ``attrs["time_base"]``.
    """
    p = Path(path)
    lines = _text(p).splitlines()
    hdr = next((k for k, ln in enumerate(lines) if ln.startswith("Rec\t")), None)
    if hdr is None:
        raise CorruptFileError("expected a header line starting with 'Rec<TAB>'", path=p)
    names = [c.strip() for c in lines[hdr].split("\t")]
    idx = {n: k for k, n in enumerate(names)}
    need = ["TestTime", "Current [A]", "Voltage [V]", "Md"]
    missing = [c for c in need if c not in idx]
    if missing:
        raise CorruptFileError(f"Maccor header lacks {', '.join(missing)}", path=p)
    rows = [ln.split("\t") for ln in lines[hdr + 1 :] if ln.strip()]
    if not rows:
        raise CorruptFileError("the Maccor export holds a header but no data rows", path=p)
    bad = [k for k, r in enumerate(rows) if len(r) < len(names)]
    if bad and bad != [len(rows) - 1]:
        raise CorruptFileError(
            f"data row {bad[0] + 1} has {len(rows[bad[0]])} fields, expected {len(names)}",
            path=p,
        )
    if bad:
        _warn_dropped(p, hdr + 1 + len(rows), "last line is incomplete (file cut off?)")
        rows = rows[:-1]

    def num(col: str) -> np.ndarray:
        try:
            return np.array([float(r[idx[col]].replace(",", ".")) for r in rows])
        except (ValueError, IndexError) as exc:
            raise CorruptFileError(f"column {col!r}: {exc}", path=p) from None

    t = num("TestTime")
    time_base = "s"
    if "DPT Time" in idx and len(rows) > 2:
        from datetime import datetime

        try:
            stamps = [datetime.strptime(r[idx["DPT Time"]], "%m/%d/%Y %H:%M:%S") for r in rows]
            dts = np.array([(b - a).total_seconds() for a, b in itertools.pairwise(stamps)])
            dtt = np.diff(t)
            ok = dtt > 0
            if ok.sum() > 2:
                ratio = float(np.median(dts[ok] / dtt[ok]))
                if abs(ratio - 60) < 3:
                    t, time_base = t * 60.0, "min"
                elif abs(ratio - 3600) < 100:
                    t, time_base = t * 3600.0, "h"
        except (ValueError, IndexError):
            pass
    md = np.array([r[idx["Md"]].strip() for r in rows])
    cur = np.abs(num("Current [A]"))
    current = np.where(md == "D", -cur, np.where(md == "C", cur, 0.0))
    cap = num("Cap. [Ah]") if "Cap. [Ah]" in idx else None
    qc = qd = None
    if cap is not None:
        inc = _increments(cap)
        qc = np.where(md == "C", inc, 0.0)
        qd = np.where(md == "D", inc, 0.0)
    meta = {"header": lines[:hdr], "columns": names}
    return make_cycling_dataset(
        time_s=t,
        voltage_v=num("Voltage [V]"),
        current_a=current,
        charge_increment_ah=qc,
        discharge_increment_ah=qd,
        cycle=num("Cycle C") if "Cycle C" in idx else None,
        step=num("Step") if "Step" in idx else None,
        metadata=meta,
        attrs={"instrument": "Maccor", "time_base": time_base},
        source=p,
    )


# --------------------------------------------------------------------------- plain CSV

_CSV_ALIASES = {
    "time": ("test_time_second", "time/s", "time (s)", "test_time(s)", "time_s", "time"),
    "voltage": (
        "voltage_volt",
        "voltage/v",
        "voltage (v)",
        "voltage(v)",
        "ewe/v",
        "voltage_v",
        "voltage",
    ),
    "current": ("current_ampere", "current/a", "current (a)", "current(a)", "current_a", "current"),
    "current_ma": ("current/ma", "current (ma)", "current(ma)", "<i>/ma", "i/ma", "current_ma"),
    "cycle": ("cycle_count", "cycle", "cycle number", "cycle_index", "cycle index"),
    "step": ("step_index", "step", "ns", "step index"),
}


def _sniff_cycling_csv(head: bytes, path: Path) -> float:
    if b"\x00" in head[:1024]:
        return 0.0
    first = head.decode("latin-1").splitlines()[:1]
    if not first:
        return 0.0
    low = first[0].lower()
    has_v = any(a in low for a in ("volt", "ewe"))
    has_i = "current" in low or "<i>" in low
    has_t = "time" in low
    return 0.6 if (has_v and has_i and has_t) else 0.0


def read_cycling_csv(
    path: str | PathLike[str], *, column_map: Mapping[str, str] | None = None
) -> xr.Dataset:
    """Read a plain CSV/TSV cycling record with a header row.

    Parameters
    ----------
    path
        The file; the first line holds the column names.
    column_map
        ``{"time": "...", "voltage": "...", "current": "..."}`` (optionally ``"cycle"``,
        ``"step"``) naming the file's columns; time must be in s, voltage in V, current in A
        (or name ``"current_ma"`` for mA). Recognised without a map: the BDF names and
        common spellings (``time/s``, ``Voltage(V)``, ``Current(A)``, ``<I>/mA`` …).
    """
    p = Path(path)
    lines = _text(p).splitlines()
    if not lines:
        raise CorruptFileError("empty file", path=p)
    table = parse_numeric_table(lines, min_columns=2, source=p)
    cols = [c.strip() for c in table.columns]
    low = {c.lower(): k for k, c in enumerate(cols)}
    chosen: dict[str, int] = {}
    if column_map:
        for key, col in column_map.items():
            if key not in _CSV_ALIASES:
                raise InputError(f"column_map key {key!r} not in {sorted(_CSV_ALIASES)}")
            if col.lower() not in low:
                raise InputError(
                    f"column {col!r} not in the file's columns {cols}",
                )
            chosen[key] = low[col.lower()]
    for key, aliases in _CSV_ALIASES.items():
        if key not in chosen:
            hit = next((low[a] for a in aliases if a in low), None)
            if hit is not None:
                chosen[key] = hit
    if "current" not in chosen and "current_ma" in chosen:
        current = table.data[:, chosen["current_ma"]] / 1000.0
    elif "current" in chosen:
        current = table.data[:, chosen["current"]]
    else:
        current = None
    missing = [k for k in ("time", "voltage") if k not in chosen]
    if current is None:
        missing.append("current")
    if missing:
        raise CorruptFileError(
            f"cannot find the {', '.join(missing)} column(s) among {cols}",
            path=p,
            hint='pass column_map={"time": ..., "voltage": ..., "current": ...}',
        )
    d = table.data
    return make_cycling_dataset(
        time_s=d[:, chosen["time"]],
        voltage_v=d[:, chosen["voltage"]],
        current_a=current,
        cycle=d[:, chosen["cycle"]] if "cycle" in chosen else None,
        step=d[:, chosen["step"]] if "step" in chosen else None,
        metadata={"header": table.header, "columns": cols},
        source=p,
    )


# --------------------------------------------------------------------------- EIS text


def _decide_imag_sign(zi: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """Return Im Z and what the file held: most battery/electrolyte spectra are capacitive."""
    pos, neg = int(np.sum(zi > 0)), int(np.sum(zi < 0))
    if neg >= pos:
        return zi, "Im(Z) as in the file (mostly negative: capacitive)"
    return -zi, "-Im(Z) in the file (mostly positive); sign flipped to Im(Z)"


def _sniff_eis_text(head: bytes, path: Path) -> float:
    parsed = sniff_numeric_table(head, min_columns=3, max_columns=8)
    if parsed is None:
        return 0.0
    data, header = parsed
    if data.shape[0] < 5:
        return 0.0
    f = data[:, 0]
    if np.any(f <= 0):
        return 0.0
    lf = np.log10(f)
    step = np.diff(lf)
    if not (np.all(step > 0) or np.all(step < 0)):
        return 0.0
    words = "\n".join(header).lower()
    if "freq" in words or "hz" in words:
        return 0.95
    # log-spaced frequency: nearly constant step in log f, several decades
    spread = abs(lf[-1] - lf[0])
    if spread >= 1 and np.std(step) < 0.5 * abs(np.mean(step)):
        return 0.85
    return 0.0


def read_eis_text(path: str | PathLike[str], *, imag_sign: str = "auto") -> xr.Dataset:
    """Read a frequency / Re Z / Im Z text or CSV table (header optional).

    Parameters
    ----------
    imag_sign
        ``"auto"`` (capacitive spectra have Im Z < 0; the sign with more negative values is
        taken as Im Z), ``"im"`` (the third column is Im Z) or ``"minus_im"`` (it is -Im Z).
        What was decided is stored in ``attrs["imag_sign_source"]``.
    """
    p = Path(path)
    table = parse_numeric_table(_text(p).splitlines(), min_columns=3, source=p)
    d = table.data
    cols = [c.lower() for c in table.columns]
    zi = d[:, 2]
    if imag_sign == "im":
        source = "Im(Z) (stated by the caller)"
    elif imag_sign == "minus_im":
        zi, source = -zi, "-Im(Z) (stated by the caller); sign flipped to Im(Z)"
    elif imag_sign == "auto":
        named = cols[2] if len(cols) > 2 else ""
        if named.startswith(("-im", "-z''", "-zim", "-z_im", '-z"')):
            zi, source = -zi, f"-Im(Z) column {table.columns[2]!r}; sign flipped to Im(Z)"
        else:
            zi, source = _decide_imag_sign(zi, p)
    else:
        raise InputError(f"imag_sign must be auto, im or minus_im, got {imag_sign!r}")
    return make_eis_dataset(
        d[:, 0],
        d[:, 1],
        zi,
        imag_sign_source=source,
        metadata={"header": table.header, "columns": table.columns},
        source=p,
    )


# --------------------------------------------------------------------------- Gamry


def _sniff_dta(head: bytes, path: Path) -> float:
    text = head.decode("latin-1")
    if not text.startswith("EXPLAIN"):
        return 0.0
    return 1.0 if "ZCURVE" in text else 0.6


def read_gamry_dta(path: str | PathLike[str]) -> xr.Dataset:
    """Read a Gamry Framework ``.DTA`` impedance file (the ``ZCURVE`` table).

    Gamry writes ``Zimag`` as Im Z (negative for a capacitive arc), tab separated with a
    units line under the column names.
    """
    p = Path(path)
    lines = _text(p).splitlines()
    if not lines or not lines[0].startswith("EXPLAIN"):
        raise CorruptFileError("expected 'EXPLAIN' on the first line of a Gamry .DTA", path=p)
    k = next((j for j, ln in enumerate(lines) if ln.split("\t")[0].strip() == "ZCURVE"), None)
    if k is None:
        raise CorruptFileError(
            "no ZCURVE table: this Gamry file is not an impedance measurement", path=p
        )
    names = [c.strip() for c in lines[k + 1].split("\t")]
    idx = {n: j for j, n in enumerate(names)}
    missing = [c for c in ("Freq", "Zreal", "Zimag") if c not in idx]
    if missing:
        raise CorruptFileError(f"ZCURVE table lacks column(s) {', '.join(missing)}", path=p)
    rows = []
    for lineno, ln in enumerate(lines[k + 3 :], start=k + 4):
        if not ln.strip():
            break
        parts = ln.split("\t")
        if not ln.startswith("\t"):
            break  # next tagged block
        try:
            rows.append(
                [float(parts[idx[c]].replace(",", ".")) for c in ("Freq", "Zreal", "Zimag")]
            )
        except (ValueError, IndexError):
            raise CorruptFileError(
                f"line {lineno}: expected numbers in the ZCURVE row", path=p
            ) from None
    if not rows:
        raise CorruptFileError("the ZCURVE table holds no rows", path=p)
    arr = np.asarray(rows)
    header = {ln.split("\t")[0]: ln.split("\t")[1:] for ln in lines[:k] if "\t" in ln}
    return make_eis_dataset(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        imag_sign_source="Zimag column (Gamry writes Im(Z))",
        metadata={"header": header},
        attrs={"instrument": "Gamry"},
        source=p,
    )


# --------------------------------------------------------------------------- registration


register_reader(
    Reader(
        name="echem-biologic-mpr",
        technique="echem",
        description="BioLogic EC-Lab binary .mpr (GCPL, CV, PEIS) via optional galvani",
        extensions=(".mpr",),
        sniff=_sniff_mpr,
        read=read_biologic_mpr,
    )
)
register_reader(
    Reader(
        name="echem-biologic-mpt",
        technique="echem",
        description="BioLogic EC-Lab ASCII export (.mpt)",
        extensions=(".mpt",),
        sniff=_sniff_mpt,
        read=read_biologic_mpt,
    )
)
register_reader(
    Reader(
        name="echem-arbin-xlsx",
        technique="echem",
        description="Arbin MITS Pro .xlsx export",
        extensions=(".xlsx",),
        sniff=_arbin_sniff,
        read=read_arbin_xlsx,
    )
)
register_reader(
    Reader(
        name="echem-neware-ndax",
        technique="echem",
        description="Neware BTS .ndax/.nda via optional NewareNDA",
        extensions=(".ndax", ".nda"),
        sniff=_neware_sniff,
        read=read_neware_ndax,
    )
)
register_reader(
    Reader(
        name="echem-maccor-txt",
        technique="echem",
        description="Maccor text export",
        extensions=(".txt",),
        sniff=_maccor_sniff,
        read=read_maccor_txt,
    )
)
register_reader(
    Reader(
        name="echem-csv",
        technique="echem",
        description="plain CSV cycling record with a header (column map optional)",
        extensions=(".csv", ".tsv"),
        sniff=_sniff_cycling_csv,
        read=read_cycling_csv,
        options=("column_map",),
    )
)
register_reader(
    Reader(
        name="echem-eis-text",
        technique="echem",
        description="impedance table: frequency, Re Z, Im Z (either sign) as text/CSV",
        extensions=(".csv", ".txt", ".z"),
        sniff=_sniff_eis_text,
        read=read_eis_text,
        options=("imag_sign",),
    )
)
register_reader(
    Reader(
        name="echem-gamry-dta",
        technique="echem",
        description="Gamry Framework .DTA impedance (ZCURVE)",
        extensions=(".dta",),
        sniff=_sniff_dta,
        read=read_gamry_dta,
    )
)

# The LAND reader lives in its own module (layouts + generator); importing this module
# registers it too, so an entry point naming charact.echem.io gives every echem reader.
from . import land as _land  # noqa: E402, F401
