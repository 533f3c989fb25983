"""Vendor Raman formats read through maintained third-party readers.

- Renishaw WiRE ``.wdf`` (single spectra, series with stage positions and maps) through
  ``renishaw-wdf``, Renishaw's own accessor package (Apache-2.0). The package locates the
  blocks (header ``WDF1``, ``XLST``, ``DATA``, ``ORGN``, ``WMAP``); the spectra themselves are
  read in one piece with numpy from the offset of the ``DATA`` block (float32, ``nspectra ×
  npoints``), so a large map is not unpacked value by value.
- Horiba LabSpec ``.xml`` exports through rosettasciio's Jobin Yvon reader (GPL-3.0-or-later,
  the optional ``raman-vendor`` extra, imported only when such a file is read). The file is
  first parsed with defusedxml so that entity expansion or external entities are refused
  before it reaches the third-party parser.

LabSpec ``.l6s`` is not read: no maintained open reader exists (rosettasciio reads only the
``.xml`` export).
"""

from __future__ import annotations

import logging
import math
import struct
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.data import make_measurement, make_spectrum
from ..core.errors import CorruptFileError, FormatError
from ..core.readers import Reader, read_head, register_reader
from .io import _map_measurement, _place_on_grid

__all__ = ["read_labspec_xml", "read_wdf"]

#: Spatial units of WDF origins (``WdfDataUnit``) in µm.
_WDF_LENGTH_UM = {5: 1.0, 8: 1e3, 9: 1e6, 3: 1e-3}
#: WdfDataUnit codes of the x-list the reader accepts: 1 Raman shift (cm^-1), 3 nanometre.
_WDF_RAMAN_SHIFT, _WDF_NM = 1, 3
_WDF_SPATIAL_X, _WDF_SPATIAL_Y = 3, 4


def _import_wdf(path: Path) -> Any:
    try:
        import wdf
    except ImportError:
        raise FormatError(
            "reading Renishaw .wdf files needs the package renishaw-wdf (Apache-2.0)",
            path=path,
            hint="pip install renishaw-wdf (or export the spectra as text from WiRE)",
        ) from None
    return wdf


def _laser(nm_from_file: float | None, option: float | None) -> tuple[float, str]:
    if nm_from_file is not None and math.isfinite(nm_from_file) and nm_from_file > 0:
        return float(nm_from_file), "file"
    if option is not None:
        return float(option), "option"
    return float("nan"), "unknown"


def _wdf_header_meta(w: Any) -> dict[str, Any]:
    h = w.hdr
    meta: dict[str, Any] = {
        "format": "Renishaw WiRE WDF",
        "version": int(h.version),
        "title": h.title,
        "user": h.user,
        "application": f"{h.appname} {h.appversion}".strip(),
        "npoints": int(h.npoints),
        "nspectra": int(h.nspectra),
        "ncollected": int(h.ncollected),
        "accumulations": int(h.naccum),
        "measurement_type": int(h.type_),
        "scan_type": int(h.scantype_),
        "intensity_units": int(h.units_),
        "laser_wavenumber_cm-1": float(h.laser_wavenumber),
        "flags": int(h.flags_),
    }
    for key, attr in (("time_start", "time_start"), ("time_end", "time_end")):
        try:
            meta[key] = getattr(h, attr).isoformat()
        except (ValueError, OverflowError, OSError):
            meta[key] = None
    try:
        meta["comment"] = w.comment()
    except (EOFError, OSError, UnicodeDecodeError, UnboundLocalError):
        meta["comment"] = ""
    return meta


def read_wdf(path: str | PathLike[str], *, laser_wavelength: float | None = None) -> xr.DataArray:
    """Read a Renishaw WiRE ``.wdf`` file: one spectrum, or a map as a ``(y, x, raman_shift)``
    cube.

    Parameters
    ----------
    path
        The ``.wdf`` file.
    laser_wavelength
        Excitation wavelength (nm) used when the file does not give one (the header stores
        the laser wavenumber; wavelength = 10^7 / wavenumber).

    Returns
    -------
    xarray.DataArray
        ``intensity`` (counts) on ``raman_shift`` (cm^-1), or on ``(y, x, raman_shift)`` with
        x, y in µm from the ``ORGN`` stage positions. Grid points never visited and spectra not
        collected (an interrupted map: ``ncollected < nspectra``) are NaN and counted in
        ``attrs["missing_pixels"]``.

    Raises
    ------
    CorruptFileError
        Not a WDF1 file, a file ending inside a block (``XLST``, ``DATA``, ``ORGN``,
        ``WMAP``), no spectrum collected (``ncollected = 0``), an x-list neither in Raman
        shift nor in nm, several spectra without X/Y stage positions (a series), multitrack
        files.
    FormatError
        When renishaw-wdf is not installed.
    """
    p = Path(path)
    wdf = _import_wdf(p)
    raw_head = read_head(p, 512)
    if not raw_head.startswith(b"WDF1"):
        raise CorruptFileError("expected the WDF1 signature in the first 4 bytes", path=p)
    if len(raw_head) < 512:
        raise CorruptFileError(
            f"file has {len(raw_head)} bytes, shorter than the 512-byte WDF header", path=p
        )
    with wdf.Wdf(str(p)) as w:
        h = w.hdr
        meta = _wdf_header_meta(w)
        npoints, nspectra, ncollected = int(h.npoints), int(h.nspectra), int(h.ncollected)
        if npoints < 2 or nspectra < 1:
            raise CorruptFileError(
                f"header says {nspectra} spectra of {npoints} points; expected spectra", path=p
            )
        if int(h.flags_) & int(wdf.WdfFlags.Multitrack):
            raise CorruptFileError(
                "multitrack WDF (one x-list per spectrum) is not supported", path=p
            )
        if ncollected < 1:
            raise CorruptFileError(
                f"no spectra collected: the header says 0 of {nspectra} spectra were acquired "
                "(a map or series stopped before its first spectrum)",
                path=p,
            )
        try:
            xl = w.xlist()
        except EOFError:
            raise CorruptFileError("no XLST block (the spectral axis)", path=p) from None
        except struct.error:
            raise CorruptFileError(
                "truncated XLST block (the spectral axis): the file ends inside it", path=p
            ) from None
        x = np.asarray(xl, float)
        if x.size != npoints:
            raise CorruptFileError(
                f"the XLST block has {x.size} values, the header says {npoints} points", path=p
            )
        xunit = int(xl.units.value)
        laser_nm = (
            round(1e7 / float(h.laser_wavenumber), 2) if float(h.laser_wavenumber) > 0 else None
        )
        laser, source = _laser(laser_nm, laser_wavelength)
        if xunit == _WDF_NM:
            if not math.isfinite(laser):
                raise CorruptFileError(
                    "the spectral axis is in nm and the laser wavelength is unknown: cannot "
                    "convert to Raman shift (pass laser_wavelength)",
                    path=p,
                )
            x = 1e7 / laser - 1e7 / x  # Raman shift (cm^-1) from the scattered wavelength
            meta["axis_converted"] = "Raman shift = 1e7/laser_nm - 1e7/wavelength_nm"
        elif xunit != _WDF_RAMAN_SHIFT:
            raise CorruptFileError(
                f"the spectral axis has WDF unit code {xunit} ({xl.units.name}); expected "
                "Raman shift (1) or nanometre (3)",
                path=p,
            )
        try:
            block, pos = w.find_section(wdf.WdfBlockId.DATA)
        except EOFError:
            raise CorruptFileError("no DATA block", path=p) from None
        need = 16 + 4 * npoints * nspectra
        if block.size < need or pos + need > p.stat().st_size:
            raise CorruptFileError(
                f"truncated DATA block: {nspectra} spectra of {npoints} points need {need} "
                f"bytes from offset {pos}, the file has {p.stat().st_size - pos}",
                path=p,
            )
        spectra = np.fromfile(p, "<f4", npoints * nspectra, offset=pos + 16).astype(float)
        spectra = spectra.reshape(nspectra, npoints)
        spectra[ncollected:] = np.nan
        positions: dict[int, tuple[np.ndarray, float]] = {}
        if nspectra > 1:
            truncated_orgn = CorruptFileError(
                "truncated ORGN block (the stage positions): the file ends inside it", path=p
            )
            try:
                origins = w.origins
            except EOFError:
                origins = {}
            except struct.error:
                raise truncated_orgn from None
            for key, origin in origins.items():
                code = int(key.value)
                if code in (_WDF_SPATIAL_X, _WDF_SPATIAL_Y):
                    scale = _WDF_LENGTH_UM.get(int(origin.dataunit.value))
                    if scale is None:
                        raise CorruptFileError(
                            f"stage {'X' if code == _WDF_SPATIAL_X else 'Y'} positions in "
                            f"unit {origin.dataunit.name}; expected a length",
                            path=p,
                        )
                    try:
                        values = np.asarray(origin[:], float)
                    except (EOFError, struct.error):
                        raise truncated_orgn from None
                    positions[code] = (values, scale)
        try:
            area = w.map_area
            meta["map_area"] = {
                "start": list(dict(area.start).values()),
                "step": list(dict(area.step).values()),
                "count": list(dict(area.count).values()),
                "flags": int(area.flags),
            }
        except (EOFError, OSError, ValueError):
            pass
        except struct.error:
            raise CorruptFileError(
                "truncated WMAP block (the map area): the file ends inside it", path=p
            ) from None
    order = np.argsort(x)
    x = x[order]
    spectra = spectra[:, order]
    if np.any(np.diff(x) <= 0):
        raise CorruptFileError("the spectral axis repeats a value", path=p)
    attrs = {
        "laser_wavelength": laser,
        "laser_wavelength_units": "nm",
        "laser_wavelength_source": source,
        "instrument": "Renishaw " + meta["application"],
    }
    if nspectra == 1:
        if not np.all(np.isfinite(spectra[0])):
            raise CorruptFileError("NaN or inf values in the spectrum", path=p)
        return make_spectrum(
            x,
            spectra[0],
            axis="raman_shift",
            technique="raman",
            units="counts",
            metadata=meta,
            attrs=attrs,
        )
    if _WDF_SPATIAL_X not in positions or _WDF_SPATIAL_Y not in positions:
        raise CorruptFileError(
            f"{nspectra} spectra without X/Y stage positions (a series, not a map): "
            "only single spectra and maps are read",
            path=p,
        )
    xs_raw = positions[_WDF_SPATIAL_X][0] * positions[_WDF_SPATIAL_X][1]
    ys_raw = positions[_WDF_SPATIAL_Y][0] * positions[_WDF_SPATIAL_Y][1]
    collected = np.arange(nspectra) < ncollected
    xs, ys, cube, _ = _place_on_grid(
        xs_raw[collected],
        ys_raw[collected],
        spectra[collected],
        path=p,
        duplicate="stage position X={x:g}, Y={y:g} µm holds {n} spectra; "
        "expected one spectrum per map pixel",
    )
    missing = int((~np.all(np.isfinite(cube), axis=-1)).sum())
    return _map_measurement(
        xs, ys, x, cube, path=p, metadata=meta, attrs={**attrs, "missing_pixels": missing}
    )


def _sniff_wdf(head: bytes, path: Path) -> float:
    return 1.0 if head.startswith(b"WDF1") else 0.0


register_reader(
    Reader(
        name="raman-wdf",
        technique="raman",
        description="Renishaw WiRE .wdf spectrum or map (through renishaw-wdf)",
        extensions=(".wdf",),
        sniff=_sniff_wdf,
        read=read_wdf,
        options=("laser_wavelength",),
    )
)


# --------------------------------------------------------------------------- Horiba LabSpec


def _check_xml(p: Path) -> Any:
    """Parse with defusedxml (refuses entity tricks) and check it is a LabSpec export."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.parse(str(p)).getroot()
    except DefusedXmlException as exc:
        raise CorruptFileError(f"refused unsafe XML ({type(exc).__name__})", path=p) from None
    except Exception as exc:
        raise CorruptFileError(f"not well-formed XML: {exc}", path=p) from None
    if root.find("LSX_Tree") is None or root.find("LSX_Matrix") is None:
        raise CorruptFileError(
            "expected a LabSpec XML export with LSX_Tree and LSX_Matrix elements", path=p
        )
    rows = root.find("LSX_Matrix").findall("LSX_Row")
    if not rows:
        raise CorruptFileError("the LSX_Matrix holds no LSX_Row (no spectra)", path=p)
    return root


def read_labspec_xml(
    path: str | PathLike[str], *, laser_wavelength: float | None = None
) -> xr.DataArray:
    """Read a Horiba LabSpec ``.xml`` export (spectrum or map) through rosettasciio.

    rosettasciio (GPL-3.0-or-later) is an optional dependency:
    ``pip install 'charact[raman-vendor]'``.

    Returns
    -------
    xarray.DataArray
        ``intensity`` on ``raman_shift`` (cm^-1), or on ``(y, x, raman_shift)`` with x and y
        in µm; the laser wavelength from the file's ``Laser (nm)`` entry when present.

    Raises
    ------
    CorruptFileError
        Not a LabSpec export, an axis not in Raman shift, values that are not numbers.
    FormatError
        When rosettasciio is not installed.
    """
    p = Path(path)
    _check_xml(p)
    try:
        from rsciio.jobinyvon import file_reader
    except ImportError:
        raise FormatError(
            "reading Horiba LabSpec .xml files needs the optional package rosettasciio "
            "(GPL-3.0-or-later)",
            path=p,
            hint="install charact's optional 'raman-vendor' extra (pip install "
            "'charact[raman-vendor]'), or export the spectra as text from LabSpec",
        ) from None
    log = logging.getLogger("rsciio")
    level = log.level
    log.setLevel(logging.ERROR)  # it warns that lumispy is absent on every read
    try:
        out = file_reader(p)[0]
    except Exception as exc:
        raise CorruptFileError(
            f"rosettasciio could not read the LabSpec XML ({type(exc).__name__}: {exc})",
            path=p,
        ) from None
    finally:
        log.setLevel(level)
    data = np.asarray(out["data"], float)
    axes = out["axes"]
    signal = axes[-1]
    if signal.get("name") != "Raman Shift":
        raise CorruptFileError(
            f"the spectral axis is {signal.get('name')!r} in {signal.get('units')!r}; "
            "expected Raman shift in 1/cm",
            path=p,
        )
    if "axis" in signal:
        shift = np.asarray(signal["axis"], float)
    else:
        shift = signal["offset"] + signal["scale"] * np.arange(signal["size"])
    setup = out["original_metadata"].get("experimental_setup", {})
    lw = setup.get("Laser (nm)")
    try:
        lw = float(lw) if lw is not None else None
    except (TypeError, ValueError):
        lw = None
    laser, source = _laser(lw, laser_wavelength)
    meta = {"format": "Horiba LabSpec XML", **out["original_metadata"]}
    attrs = {
        "laser_wavelength": laser,
        "laser_wavelength_units": "nm",
        "laser_wavelength_source": source,
        "instrument": str(setup.get("Instrument", "Horiba LabSpec")),
    }
    if not np.all(np.isfinite(data)):
        raise CorruptFileError("NaN or inf among the intensities", path=p)
    if data.ndim == 1:
        return make_spectrum(
            shift, data, axis="raman_shift", technique="raman", metadata=meta, attrs=attrs
        )
    nav = axes[:-1]

    def coords_of(ax: dict[str, Any]) -> np.ndarray:
        units = str(ax.get("units", "µm"))
        scale = {"µm": 1.0, "um": 1.0, "mm": 1e3, "nm": 1e-3}.get(units)
        if scale is None:
            raise CorruptFileError(f"map axis in {units!r}; expected a length", path=p)
        return (ax["offset"] + ax["scale"] * np.arange(ax["size"])) * scale

    if data.ndim == 2:  # a line scan: one row of the map
        ax = nav[0]
        ys, xs = np.array([0.0]), coords_of(ax)
        cube = data[None]
        if str(ax.get("name", "")).strip().upper().startswith("Y"):
            ys, xs, cube = coords_of(ax), np.array([0.0]), data[:, None]
    else:
        first, second = nav  # rosettasciio orders them (rows, columns)
        cube = data
        if str(first.get("name", "")).strip().upper().startswith("X"):
            first, second = second, first
            cube = np.swapaxes(cube, 0, 1)
        ys, xs = coords_of(first), coords_of(second)
    return make_measurement(
        cube,
        {"y": (ys, "µm"), "x": (xs, "µm"), "raman_shift": (shift, "cm^-1")},
        name="intensity",
        units="counts",
        technique="raman",
        metadata=meta,
        attrs={**attrs, "missing_pixels": 0},
    )


def _sniff_labspec_xml(head: bytes, path: Path) -> float:
    if b"<LSX_Tree" in head or (b"<LSX " in head and b"ID=" in head):
        return 0.95
    return 0.0


register_reader(
    Reader(
        name="raman-labspec-xml",
        technique="raman",
        description="Horiba LabSpec .xml spectrum or map (through rosettasciio, optional)",
        extensions=(".xml",),
        sniff=_sniff_labspec_xml,
        read=read_labspec_xml,
        options=("laser_wavelength",),
    )
)
