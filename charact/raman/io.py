"""Raman readers: spectra and maps into DataArrays on a ``raman_shift`` axis (cm^-1).

Formats:

- ``raman-text``: two-column text/CSV exports (LabSpec, WiRE, generic) with any header and an
  ascending or descending axis;
- ``raman-map-long``: long-format map exports, one row per (X, Y, shift) with the intensity
  (``X Y Wave Intensity``, as WiRE and LabSpec write them);
- ``raman-map-wide``: wide map matrices, a first row of shifts and then one row per pixel
  ``X Y I1 I2 …`` (LabSpec "spectra in rows" export);
- ``raman-spc``: Thermo Galactic ``.spc`` (new little-endian format, one spectrum), read from
  the published format description (Galactic Industries, "SPC file format", GRAMS
  documentation, 1996).

Maps become ``intensity`` on dims ``(y, x, raman_shift)`` with x and y in µm; pixels missing
from a long-format file are NaN and counted in ``attrs["missing_pixels"]``. Renishaw ``.wdf``
(``raman-wdf``) and Horiba LabSpec ``.xml`` (``raman-labspec-xml``) go through maintained
third-party readers (:mod:`charact.raman._vendor`); LabSpec ``.l6s``, old-format and
multi-spectrum ``.spc`` are not read (see docs/raman.md).
"""

from __future__ import annotations

import math
import re
import struct
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.data import make_measurement, make_spectrum
from ..core.errors import CorruptFileError, InputError
from ..core.readers import Reader, register_reader
from ..core.store import atomic_write
from ..core.textio import read_numeric_table, sniff_numeric_table

__all__ = [
    "read_labspec_xml",
    "read_map_long",
    "read_map_wide",
    "read_spc",
    "read_text_spectrum",
    "read_wdf",
    "write_map_long",
    "write_map_wide",
    "write_spc",
    "write_text_spectrum",
]

_RAMAN_WORDS = re.compile(r"raman|cm-1|cm\^-1|cm⁻¹|1/cm|wavenumber|laser", re.IGNORECASE)
_OTHER_TECHNIQUE_WORDS = re.compile(
    r"2\s*-?\s*theta|2θ|binding|kinetic|voltage|current|capacity|frequency", re.IGNORECASE
)
_LASER = re.compile(r"(?:laser|excitation)[^\d\n]{0,30}(\d{3}(?:\.\d+)?)\s*nm", re.IGNORECASE)


def _sniff_text(head: bytes, path: Path) -> float:
    parsed = sniff_numeric_table(head, min_columns=2, max_columns=2)
    if parsed is None:
        return 0.0
    data, header = parsed
    text = "\n".join(header)
    if _OTHER_TECHNIQUE_WORDS.search(text):
        return 0.0
    x = data[:, 0]
    if x.size < 5:
        return 0.0
    step = np.diff(x)
    if not (np.all(step > 0) or np.all(step < 0)):
        return 0.0
    if _RAMAN_WORDS.search(text):
        return 0.9
    # Raman shifts run from about -200 (anti-Stokes) to 4000 cm^-1; an axis that leaves the
    # 0-180 range of diffraction angles, or steps by more than ~0.2, is very likely Raman.
    if x.min() < -300 or x.max() > 5000:
        return 0.0
    if x.min() < 0 or x.max() > 180:
        return 0.6
    return 0.2 if np.median(np.abs(step)) > 0.2 else 0.05


_NONFINITE = re.compile(r"^(?:[-+]?(?:nan|inf|infinity)|[-+]?[\d.]+(?:[eE][-+]?\d+)?)$", re.I)


def _check_nonfinite(path: Path, first_line: int) -> None:
    """Raise on a data row holding NaN/inf: the table parser stops at such a row as if it
    were a footer, which would silently truncate the spectrum."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8", errors="replace")
    if not re.search(r"nan|inf", text, re.IGNORECASE):
        return  # the common case: no need to look at every line
    for lineno, line in enumerate(text.splitlines()[first_line - 1 :], start=first_line):
        toks = [t for t in re.split(r"[\s,;]+", line.strip()) if t]
        numeric = len(toks) >= 2 and all(_NONFINITE.match(t) for t in toks)
        if numeric and any(t.lower().lstrip("+-").startswith(("nan", "inf")) for t in toks):
            raise CorruptFileError(
                f"line {lineno}: non-finite value ({line.strip()[:60]!r}); expected numbers",
                path=path,
            )


def read_text_spectrum(
    path: str | PathLike[str], *, laser_wavelength: float | None = None
) -> xr.DataArray:
    """Read a two-column Raman spectrum (shift in cm^-1, intensity).

    Parameters
    ----------
    path
        Text/CSV export; the axis may be ascending or descending (kept as measured).
    laser_wavelength
        Excitation wavelength in nm when the header does not give it. The value used and its
        source (``"header"``, ``"option"`` or ``"unknown"``) are stored in the attrs.

    Returns
    -------
    xarray.DataArray
        ``intensity`` (counts) on ``raman_shift`` (cm^-1).
    """
    p = Path(path)
    table = read_numeric_table(p)
    _check_nonfinite(p, table.first_data_line)
    if table.data.shape[1] != 2:
        raise CorruptFileError(
            f"expected two columns (Raman shift, intensity), found {table.data.shape[1]}; "
            "a map export has X, Y, shift, intensity columns",
            path=p,
        )
    if table.data.shape[0] < 5:
        raise CorruptFileError(
            f"expected a spectrum, found only {table.data.shape[0]} rows", path=p
        )
    x = table.data[:, 0]
    step = np.diff(x)
    if not (np.all(step > 0) or np.all(step < 0)):
        bad = int(np.flatnonzero(step * np.sign(step[0] or 1.0) <= 0)[0])
        raise CorruptFileError(
            f"the Raman shift column is not strictly monotonic: data row {bad + 2} "
            f"(line {table.first_data_line + bad + 1}) has {x[bad + 1]:g} after {x[bad]:g} "
            "cm^-1; expected distinct shifts in one direction",
            path=p,
        )
    if not np.all(np.isfinite(table.data)):
        raise CorruptFileError("NaN or inf values in the data", path=p)
    laser, source = _laser_from(table.header, laser_wavelength)
    return make_spectrum(
        table.data[:, 0],
        table.data[:, 1],
        axis="raman_shift",
        technique="raman",
        units="counts",
        metadata={"header": table.header, "columns": table.columns},
        attrs={
            "laser_wavelength": laser,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": source,
        },
    )


def write_text_spectrum(da: xr.DataArray, path: str | PathLike[str], *, header: str = "") -> Path:
    """Write a spectrum as tab-separated two-column text, atomically (as LabSpec exports)."""
    lines = [f"#{h}" for h in header.splitlines()] + ["#Raman shift (cm-1)\tIntensity (counts)"]
    body = "\n".join(
        f"{x:.3f}\t{y:.2f}" for x, y in zip(da["raman_shift"].values, da.values, strict=True)
    )
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n" + body + "\n")
    return Path(path)


register_reader(
    Reader(
        name="raman-text",
        technique="raman",
        description="two-column text/CSV spectrum (shift cm^-1, intensity)",
        extensions=(".txt", ".csv", ".dat", ".tsv"),
        sniff=_sniff_text,
        read=read_text_spectrum,
        options=("laser_wavelength",),
    )
)


# --------------------------------------------------------------------------- maps

_MAP_HEADER = re.compile(r"#?\s*x\b.*\by\b.*(wave|shift|raman)", re.IGNORECASE)


def _laser_from(header: list[str], laser_wavelength: float | None) -> tuple[float, str]:
    found = _LASER.search("\n".join(header))
    if found:
        return float(found.group(1)), "header"
    if laser_wavelength is not None:
        return float(laser_wavelength), "option"
    return float("nan"), "unknown"


def _grid_axis(values: np.ndarray, name: str, path: Path) -> np.ndarray:
    """Unique stage positions, merging values that differ by float noise only."""
    u = np.unique(np.round(values, 6))
    if u.size < 1:
        raise CorruptFileError(f"no {name} positions found", path=path)
    return u


def _place_on_grid(
    x_pos: np.ndarray,
    y_pos: np.ndarray,
    spectra: np.ndarray,
    *,
    path: Path,
    duplicate: str = "pixel X={x:g}, Y={y:g} is listed twice",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Place one spectrum per stage position on the ``(y, x)`` grid of the unique positions.

    Positions are merged when they differ by float noise only (:func:`_grid_axis`). Returns
    the x and y axes, the ``(ny, nx, npoints)`` cube (NaN where no spectrum was given) and
    the number of spectra given for each pixel. A pixel given twice raises
    CorruptFileError with ``duplicate`` (formatted with ``x``, ``y`` and ``n``).
    """
    xs = _grid_axis(x_pos, "X", path)
    ys = _grid_axis(y_pos, "Y", path)
    ix = np.searchsorted(xs, np.round(x_pos, 6))
    iy = np.searchsorted(ys, np.round(y_pos, 6))
    seen = np.zeros((ys.size, xs.size), int)
    np.add.at(seen, (iy, ix), 1)
    if np.any(seen > 1):
        j, i = np.argwhere(seen > 1)[0]
        raise CorruptFileError(duplicate.format(x=xs[i], y=ys[j], n=seen[j, i]), path=path)
    cube = np.full((ys.size, xs.size, spectra.shape[-1]), np.nan)
    cube[iy, ix] = spectra
    return xs, ys, cube, seen


def _map_measurement(
    x: np.ndarray,
    y: np.ndarray,
    shift: np.ndarray,
    values: np.ndarray,
    *,
    path: Path,
    metadata: dict[str, Any],
    attrs: dict[str, Any],
) -> xr.DataArray:
    """The ``(y, x, raman_shift)`` intensity cube (µm, cm^-1) with the shift axis ascending;
    a repeated shift value is a CorruptFileError."""
    order = np.argsort(shift)
    shift = shift[order]
    values = values[..., order]
    if np.any(np.diff(shift) <= 0):
        dup = shift[:-1][np.diff(shift) <= 0][0]
        raise CorruptFileError(
            f"the Raman shift axis repeats a value ({dup:g} cm^-1); expected distinct shifts",
            path=path,
        )
    return make_measurement(
        values,
        {"y": (y, "µm"), "x": (x, "µm"), "raman_shift": (shift, "cm^-1")},
        name="intensity",
        units="counts",
        technique="raman",
        metadata=metadata,
        attrs=attrs,
    )


def _cube(
    x: np.ndarray,
    y: np.ndarray,
    shift: np.ndarray,
    values: np.ndarray,
    *,
    path: Path,
    header: list[str],
    fmt: str,
    laser_wavelength: float | None,
    missing: int,
) -> xr.DataArray:
    laser, source = _laser_from(header, laser_wavelength)
    return _map_measurement(
        x,
        y,
        shift,
        values,
        path=path,
        metadata={"header": header, "format": fmt},
        attrs={
            "laser_wavelength": laser,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": source,
            "missing_pixels": int(missing),
        },
    )


def read_map_long(
    path: str | PathLike[str], *, laser_wavelength: float | None = None
) -> xr.DataArray:
    """Read a long-format map export: rows of X, Y, Raman shift, intensity.

    Parameters
    ----------
    path
        Text export (``#X #Y #Wave #Intensity`` header or none; tab, comma or space
        separated); stage positions in µm, shifts in cm^-1 in any order.
    laser_wavelength
        Excitation wavelength in nm when the header does not give it.

    Returns
    -------
    xarray.DataArray
        ``intensity`` on ``(y, x, raman_shift)``; pixels absent from the file are NaN
        (``attrs["missing_pixels"]``).

    Raises
    ------
    CorruptFileError
        Not four columns, pixels with different shift axes, a pixel listed twice.
    """
    p = Path(path)
    table = read_numeric_table(p, min_columns=4)
    _check_nonfinite(p, table.first_data_line)
    data = table.data
    if data.shape[1] != 4:
        raise CorruptFileError(
            f"expected four columns (X, Y, Raman shift, intensity), found {data.shape[1]}",
            path=p,
        )
    xs = _grid_axis(data[:, 0], "X", p)
    ys = _grid_axis(data[:, 1], "Y", p)
    shifts = np.unique(np.round(data[:, 2], 6))
    ix = np.searchsorted(xs, np.round(data[:, 0], 6))
    iy = np.searchsorted(ys, np.round(data[:, 1], 6))
    iw = np.searchsorted(shifts, np.round(data[:, 2], 6))
    counts = np.zeros((ys.size, xs.size), int)
    np.add.at(counts, (iy, ix), 1)
    full = counts == shifts.size
    partial = (counts > 0) & ~full
    if np.any(counts > shifts.size):
        j, i = np.argwhere(counts > shifts.size)[0]
        raise CorruptFileError(
            f"pixel X={xs[i]:g}, Y={ys[j]:g} is listed more than once "
            f"({counts[j, i]} rows for {shifts.size} shifts)",
            path=p,
        )
    if np.any(partial):
        j, i = np.argwhere(partial)[0]
        raise CorruptFileError(
            f"pixel X={xs[i]:g}, Y={ys[j]:g} has {counts[j, i]} of {shifts.size} shifts: "
            "every pixel of a map must share one shift axis (truncated file?)",
            path=p,
        )
    cube = np.full((ys.size, xs.size, shifts.size), np.nan)
    cube[iy, ix, iw] = data[:, 3]
    return _cube(
        xs,
        ys,
        shifts,
        cube,
        path=p,
        header=table.header,
        fmt="long",
        laser_wavelength=laser_wavelength,
        missing=int((counts == 0).sum()),
    )


def _split_line(line: str) -> list[str]:
    if "\t" in line:
        return [t.strip() for t in line.split("\t")]
    if "," in line:
        return [t.strip() for t in line.split(",")]
    return line.split()


def _wide_start(lines: list[str]) -> int | None:
    """Index of the shift row of a wide map matrix, or None."""
    for i, line in enumerate(lines[:50]):
        toks = [t for t in _split_line(line) if t != ""]
        if len(toks) < 10:
            continue
        try:
            [float(t) for t in toks]
        except ValueError:
            continue
        if i + 1 < len(lines):
            nxt = [t for t in _split_line(lines[i + 1]) if t != ""]
            if len(nxt) == len(toks) + 2:
                return i
        return None
    return None


def read_map_wide(
    path: str | PathLike[str], *, laser_wavelength: float | None = None
) -> xr.DataArray:
    """Read a wide map matrix: a row of shifts, then ``X Y I1 I2 …`` per pixel.

    The shift row may start with two empty cells (as LabSpec writes it) or not.

    Raises
    ------
    CorruptFileError
        No shift row, a pixel row of the wrong length, non-numeric values, a pixel twice.
    """
    p = Path(path)
    raw = p.read_bytes()
    text = (
        raw.decode("utf-16")
        if raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        else (raw.decode("utf-8-sig", errors="replace"))
    )
    lines = text.splitlines()
    start = _wide_start(lines)
    if start is None:
        raise CorruptFileError(
            "expected a row of Raman shifts followed by rows of X, Y and one intensity per shift",
            path=p,
        )
    shifts = np.array([float(t) for t in _split_line(lines[start]) if t != ""])
    body = [(n, ln) for n, ln in enumerate(lines[start + 1 :], start=start + 2) if ln.strip()]
    if not body:
        raise CorruptFileError("the map has a shift row but no pixel rows", path=p)
    # One numpy row per pixel (not Python floats): a 100x100 map has 16 million values.
    data = np.empty((len(body), shifts.size + 2))
    for k, (lineno, line) in enumerate(body):
        toks = [t for t in _split_line(line) if t != ""]
        if len(toks) != shifts.size + 2:
            raise CorruptFileError(
                f"line {lineno}: expected {shifts.size + 2} values (X, Y and {shifts.size} "
                f"intensities), found {len(toks)}",
                path=p,
            )
        try:
            data[k] = np.array(toks, dtype=float)
        except ValueError:
            raise CorruptFileError(f"line {lineno}: non-numeric value", path=p) from None
    xs, ys, cube, seen = _place_on_grid(data[:, 0], data[:, 1], data[:, 2:], path=p)
    return _cube(
        xs,
        ys,
        shifts,
        cube,
        path=p,
        header=lines[:start],
        fmt="wide",
        laser_wavelength=laser_wavelength,
        missing=int((seen == 0).sum()),
    )


def _sniff_map_long(head: bytes, path: Path) -> float:
    parsed = sniff_numeric_table(head, min_columns=4, max_columns=4)
    if parsed is None:
        return 0.0
    data, header = parsed
    if data.shape[0] < 3:
        return 0.0
    if any(_MAP_HEADER.search(h) for h in header):
        return 0.95
    # Without a header: stage positions repeat over many rows while the shift changes.
    same_xy = np.all(data[1:, :2] == data[:-1, :2], axis=1).mean()
    w = data[:, 2]
    if same_xy > 0.8 and w.min() > -300 and w.max() < 5000:
        return 0.6
    return 0.0


def _sniff_map_wide(head: bytes, path: Path) -> float:
    if b"\x00" in head[:1024]:
        return 0.0
    text = head.decode("utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return 0.0
    first = lines[0]
    toks = _split_line(first)
    lead_empty = len(toks) > 2 and toks[0] == "" and toks[1] == ""
    nums = [t for t in toks if t != ""]
    if "\n" not in text:
        nums = nums[:-1]  # the line runs past the sniffed bytes: its last number may be cut
    if len(nums) < 10:
        return 0.0
    try:
        shifts = np.array([float(t) for t in nums])
    except ValueError:
        return 0.0
    step = np.diff(shifts)
    if not (np.all(step > 0) or np.all(step < 0)) or shifts.min() < -300 or shifts.max() > 5000:
        return 0.0
    return 0.9 if lead_empty else 0.5


def _write_rows(path: str | PathLike[str], lines: list[str]) -> Path:
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n")
    return Path(path)


def write_map_long(da: xr.DataArray, path: str | PathLike[str]) -> Path:
    """Write a ``(y, x, raman_shift)`` map as long-format text (WiRE style), atomically.

    Pixels that are all NaN are left out (as an interrupted acquisition would leave them).
    """
    _check_map(da)
    cube = da.transpose("y", "x", "raman_shift")
    shifts = cube["raman_shift"].values[::-1]  # WiRE writes each pixel high to low
    lines = ["#X\t#Y\t#Wave\t#Intensity"]
    for j, yv in enumerate(cube["y"].values):
        for i, xv in enumerate(cube["x"].values):
            spec = cube.values[j, i, ::-1]
            if np.all(np.isnan(spec)):
                continue
            lines += [
                f"{xv:.4f}\t{yv:.4f}\t{w:.4f}\t{v:.3f}" for w, v in zip(shifts, spec, strict=True)
            ]
    return _write_rows(path, lines)


def write_map_wide(da: xr.DataArray, path: str | PathLike[str]) -> Path:
    """Write a ``(y, x, raman_shift)`` map as a wide matrix (LabSpec style), atomically."""
    _check_map(da)
    cube = da.transpose("y", "x", "raman_shift")
    lines = ["\t\t" + "\t".join(f"{w:.4f}" for w in cube["raman_shift"].values)]
    for j, yv in enumerate(cube["y"].values):
        for i, xv in enumerate(cube["x"].values):
            spec = cube.values[j, i]
            if np.all(np.isnan(spec)):
                continue
            lines.append(f"{xv:.4f}\t{yv:.4f}\t" + "\t".join(f"{v:.3f}" for v in spec))
    return _write_rows(path, lines)


def _check_map(da: xr.DataArray) -> None:
    if set(da.dims) != {"y", "x", "raman_shift"}:
        raise InputError(f"expected a map with dims (y, x, raman_shift), found {da.dims}")


register_reader(
    Reader(
        name="raman-map-long",
        technique="raman",
        description="long-format Raman map text (X, Y, shift, intensity rows; WiRE/LabSpec)",
        extensions=(".txt", ".csv", ".dat", ".tsv"),
        sniff=_sniff_map_long,
        read=read_map_long,
        options=("laser_wavelength",),
    )
)
register_reader(
    Reader(
        name="raman-map-wide",
        technique="raman",
        description="wide Raman map matrix (shift row, then X, Y, intensities per pixel)",
        extensions=(".txt", ".csv", ".dat", ".tsv"),
        sniff=_sniff_map_wide,
        read=read_map_wide,
        options=("laser_wavelength",),
    )
)


# --------------------------------------------------------------------------- Galactic SPC

# New-format (0x4B, little-endian) SPC main header: 512 bytes. Field names as in Galactic's
# format description; only those charact uses are unpacked by name.
_SPC_HEAD = struct.Struct("<BBBbiddiBBBBi9s9sH32s130s30siiBBHf48sfifB187s")
_SPC_SUB = struct.Struct("<BbHfffiifi")  # 32-byte subfile header
_SPC_TSPREC, _SPC_TMULTI, _SPC_TXYXYS, _SPC_TXVALS = 0x01, 0x04, 0x40, 0x80
#: fxtype codes whose axis is in cm^-1: 1 wavenumber, 13 Raman shift.
_SPC_CM1 = {1: "wavenumber", 13: "Raman shift"}


def _cstr(b: bytes) -> str:
    return b.split(b"\x00", 1)[0].decode("latin-1").strip()


def read_spc(path: str | PathLike[str], *, laser_wavelength: float | None = None) -> xr.DataArray:
    """Read a Thermo Galactic ``.spc`` Raman spectrum (new format, one spectrum).

    Y values are IEEE floats (exponent 0x80) or 32/16-bit integers scaled by
    2^exponent / 2^32 (or 2^16); X is either evenly spaced from ``ffirst`` to ``flast`` or
    stored as floats (TXVALS). The comment, source instrument and resolution strings are kept
    in the metadata.

    Raises
    ------
    CorruptFileError
        Old-format, big-endian or multi-spectrum files; an X axis not in cm^-1; a file shorter
        than its header says.
    """
    p = Path(path)
    raw = p.read_bytes()
    if len(raw) < 2:
        raise CorruptFileError("empty file, expected an SPC header", path=p)
    version = raw[1]
    if version == 0x4D:
        raise CorruptFileError(
            "old-format SPC (Spectra Calc / Lab Calc, version byte 0x4D) is not supported; "
            "re-save it from GRAMS or export text",
            path=p,
        )
    if version == 0x4C:
        raise CorruptFileError("big-endian SPC (version byte 0x4C) is not supported", path=p)
    if version != 0x4B:
        raise CorruptFileError(
            f"byte 1 is 0x{version:02X}, expected the SPC version byte 0x4B", path=p
        )
    if len(raw) < _SPC_HEAD.size + _SPC_SUB.size:
        raise CorruptFileError(
            f"file has {len(raw)} bytes, shorter than the 544-byte SPC headers", path=p
        )
    h = _SPC_HEAD.unpack_from(raw, 0)
    flags, exp, npts, first, last, nsub, xtype = h[0], h[3], h[4], h[5], h[6], h[7], h[8]
    if flags & (_SPC_TMULTI | _SPC_TXYXYS) or nsub > 1:
        raise CorruptFileError(
            f"multi-spectrum SPC ({nsub} subfiles, flags 0x{flags:02X}) is not supported yet; "
            "export the spectra separately",
            path=p,
        )
    if xtype not in _SPC_CM1:
        raise CorruptFileError(
            f"X axis type {xtype} is not in cm^-1 (expected 1 wavenumber or 13 Raman shift)",
            path=p,
        )
    if npts < 2:
        raise CorruptFileError(f"header says {npts} points, expected a spectrum", path=p)
    off = _SPC_HEAD.size
    if flags & _SPC_TXVALS:
        need = off + 4 * npts
        if len(raw) < need:
            raise CorruptFileError(
                f"truncated: X values need bytes {off}-{need}, file has {len(raw)}", path=p
            )
        x = np.frombuffer(raw, "<f4", npts, off).astype(float)
        off = need
    else:
        x = np.linspace(first, last, npts)
    off += _SPC_SUB.size  # one subfile: the main header's exponent applies (fexp)
    width = 4 if exp == -128 else (2 if flags & _SPC_TSPREC else 4)
    need = off + width * npts
    if len(raw) < need:
        raise CorruptFileError(
            f"truncated: {npts} Y values need bytes {off}-{need}, file has {len(raw)}", path=p
        )
    if exp == -128:
        y = np.frombuffer(raw, "<f4", npts, off).astype(float)
    else:
        ints = np.frombuffer(raw, "<i2" if width == 2 else "<i4", npts, off).astype(float)
        y = ints * 2.0 ** (exp - (16 if width == 2 else 32))
    meta = {
        "format": "Galactic SPC (new, little-endian)",
        "flags": flags,
        "experiment_type": h[2],
        "xtype": f"{xtype} ({_SPC_CM1[xtype]})",
        "ytype": h[9],
        "resolution": _cstr(h[13]),
        "source_instrument": _cstr(h[14]),
        "comment": _cstr(h[17]),
        "axis_labels": _cstr(h[18]),
        "method": _cstr(h[25]),
    }
    laser, source = _laser_from([meta["comment"], meta["method"]], laser_wavelength)
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(x)):
        raise CorruptFileError("NaN or inf among the values", path=p)
    return make_spectrum(
        x,
        y,
        axis="raman_shift",
        technique="raman",
        units="counts",
        metadata=meta,
        attrs={
            "instrument": meta["source_instrument"],
            "laser_wavelength": laser,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": source,
        },
    )


def write_spc(
    da: xr.DataArray, path: str | PathLike[str], *, comment: str = "", x_values: bool = False
) -> Path:
    """Write a spectrum as a new-format SPC file (float Y, Raman-shift X), atomically.

    ``x_values`` stores the axis explicitly (TXVALS) instead of first/last of an even grid.
    """
    x = np.asarray(da["raman_shift"].values, float)
    y = np.asarray(da.values, float)
    flags = _SPC_TXVALS if x_values else 0
    head = _SPC_HEAD.pack(
        flags,
        0x4B,
        0,
        -128,
        x.size,
        float(x[0]),
        float(x[-1]),
        1,
        13,
        0,
        0,
        0,
        0,
        b"",
        b"charact",
        0,
        b"",
        comment.encode("latin-1")[:130],
        b"",
        0,
        0,
        0,
        0,
        0,
        0.0,
        b"",
        0.0,
        0,
        0.0,
        0,
        b"",
    )
    sub = _SPC_SUB.pack(0, -128, 0, 0.0, 0.0, 0.0, 0, 0, 0.0, 0)
    body = head + (x.astype("<f4").tobytes() if x_values else b"") + sub
    body += y.astype("<f4").tobytes()
    with atomic_write(path, "wb") as fh:
        fh.write(body)
    return Path(path)


def _sniff_spc(head: bytes, path: Path) -> float:
    if len(head) < 32 or head[1] not in (0x4B, 0x4C, 0x4D):
        return 0.0
    if head[1] != 0x4B:
        return 0.5 if path.suffix.lower() == ".spc" else 0.0  # let read() explain why not
    if head.startswith(b"PK\x03\x04") or len(head) < 512:
        return 0.0  # a zip (xlsx, brml …) also has "K" as its second byte
    npts, first, last = struct.unpack_from("<idd", head, 4)
    if not (1 < npts < 10_000_000 and math.isfinite(first) and math.isfinite(last)):
        return 0.0
    xtype = head[28]
    if xtype == 13:
        return 0.95
    if xtype == 1 and path.suffix.lower() == ".spc":
        return 0.8
    return 0.3 if path.suffix.lower() == ".spc" else 0.0


register_reader(
    Reader(
        name="raman-spc",
        technique="raman",
        description="Thermo Galactic SPC spectrum (new format, one spectrum, cm^-1 axis)",
        extensions=(".spc",),
        sniff=_sniff_spc,
        read=read_spc,
        options=("laser_wavelength",),
    )
)


# Renishaw .wdf and Horiba LabSpec .xml: maintained third-party readers (see _vendor.py).
from ._vendor import read_labspec_xml, read_wdf  # noqa: E402
