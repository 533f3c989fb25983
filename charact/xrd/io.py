"""XRD readers: diffraction patterns into DataArrays on a ``two_theta`` axis (deg).

Implemented so far: plain-text exports (``.xy``, ``.xye``, ``.dat``, ``.csv``, ``.txt``) with
header sniffing. Vendor formats (PANalytical ``.xrdml``, Bruker ``.brml`` and RAW, Rigaku
``.ras``, GSAS ``.XRA``) are the subject of the XRD issue and register here as they land.

Plain text carries no radiation: the wavelength is taken from the ``wavelength`` option and,
when it is not given, the pattern says so in ``attrs["radiation_source"]`` instead of
assuming Cu Kα.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import CorruptFileError, InputError
from ..core.readers import Reader, register_reader
from ..core.textio import read_numeric_table, sniff_numeric_table

__all__ = ["read_xy", "write_xy"]

_ANGLE_WORDS = re.compile(r"2\s*-?\s*theta|2θ|two[_ ]theta|angle|2th\b", re.IGNORECASE)
_OTHER_TECHNIQUE_WORDS = re.compile(
    r"raman|cm-1|cm\^-1|wavenumber|binding|kinetic|voltage|current|capacity|frequency",
    re.IGNORECASE,
)


def _sniff_xy(head: bytes, path: Path) -> float:
    parsed = sniff_numeric_table(head, min_columns=2, max_columns=4)
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
    # A diffraction pattern: an ascending angle in (0, 180) deg, counts not negative.
    if not (np.all(step > 0) and x[0] >= 0 and x[-1] <= 180 and np.all(data[:, 1] >= 0)):
        return 0.0
    if _ANGLE_WORDS.search(text):
        return 0.9
    # Angular steps are small (0.005-0.1 deg); Raman shift steps are usually larger.
    return 0.5 if np.median(step) <= 0.2 else 0.2


def read_xy(path: str | PathLike[str], *, wavelength: float | None = None) -> xr.DataArray:
    """Read a plain-text pattern: 2θ, intensity and optionally its standard uncertainty.

    Parameters
    ----------
    path
        Text file with two (2θ, counts) or three (2θ, counts, esd) numeric columns; header
        lines above the numbers are kept in ``original_metadata``.
    wavelength
        Radiation wavelength in Å. Plain text does not say; without it the pattern carries
        ``attrs["wavelength"] = nan`` and ``attrs["radiation_source"]`` explains why.

    Returns
    -------
    xarray.DataArray
        ``intensity`` (counts) on ``two_theta`` (deg); a third column becomes the coord
        ``intensity_error``.
    """
    p = Path(path)
    table = read_numeric_table(p)
    data = table.data
    if data.shape[0] < 5:
        raise CorruptFileError(
            f"expected a diffraction pattern, found only {data.shape[0]} rows", path=p
        )
    two_theta = data[:, 0]
    if np.any(np.diff(two_theta) <= 0):
        i = int(np.flatnonzero(np.diff(two_theta) <= 0)[0])
        raise CorruptFileError(
            f"2θ must increase; line {table.first_data_line + i + 1} has "
            f"{two_theta[i + 1]:g} after {two_theta[i]:g}",
            path=p,
        )
    if wavelength is not None and not (0.01 < float(wavelength) < 10):
        raise InputError(f"wavelength must be in Å (0.01-10), got {wavelength!r}")
    attrs = {
        "wavelength": float(wavelength) if wavelength is not None else float("nan"),
        "wavelength_units": "angstrom",
        "radiation_source": "option"
        if wavelength is not None
        else "unknown: plain text carries no wavelength; pass wavelength=... (Å)",
    }
    da = make_spectrum(
        two_theta,
        data[:, 1],
        axis="two_theta",
        technique="xrd",
        units="counts",
        metadata={"header": table.header, "columns": table.columns},
        attrs=attrs,
    )
    if data.shape[1] >= 3:
        da = da.assign_coords(
            intensity_error=xr.Variable("two_theta", data[:, 2], {"units": "counts"})
        )
    return da


def write_xy(da: xr.DataArray, path: str | PathLike[str], *, header: str = "") -> Path:
    """Write a pattern as two-column text (2θ, intensity), atomically.

    Used by the demo and tests to produce files a user's diffractometer software would.
    """
    from ..core.store import atomic_write

    lines = [f"# {h}" for h in header.splitlines()] + ["# 2theta(deg) intensity(counts)"]
    body = "\n".join(
        f"{x:.4f} {y:.1f}" for x, y in zip(da["two_theta"].values, da.values, strict=True)
    )
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n" + body + "\n")
    return Path(path)


register_reader(
    Reader(
        name="xrd-xy",
        technique="xrd",
        description="plain-text pattern (2θ, counts[, esd])",
        extensions=(".xy", ".xye", ".dat", ".csv", ".txt", ".asc"),
        sniff=_sniff_xy,
        read=read_xy,
        options=("wavelength",),
    )
)
