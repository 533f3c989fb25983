"""Raman readers: spectra into DataArrays on a ``raman_shift`` axis (cm^-1).

Implemented so far: two-column text/CSV exports (LabSpec, WiRE, generic) with any header and
an ascending or descending axis. Maps, Renishaw ``.wdf``, LabSpec ``.xml``/``.l6s`` and
Galactic ``.spc`` are the subject of the Raman issue and register here as they land.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import CorruptFileError
from ..core.readers import Reader, register_reader
from ..core.store import atomic_write
from ..core.textio import read_numeric_table, sniff_numeric_table

__all__ = ["read_text_spectrum", "write_text_spectrum"]

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
    found = _LASER.search("\n".join(table.header))
    if found:
        laser, source = float(found.group(1)), "header"
    elif laser_wavelength is not None:
        laser, source = float(laser_wavelength), "option"
    else:
        laser, source = float("nan"), "unknown"
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
