"""SEM readers: micrographs into calibrated DataArrays on ``(y, x)`` with coords in µm.

Every image carries ``pixel_size_nm`` and ``pixel_size_source`` in its attrs, saying where the
scale came from:

=============================  ==============================================================
``fei:PixelWidth``             FEI/Thermo TIFF tag 34682 (INI text), ``[Scan] PixelWidth`` (m)
``zeiss:ap_image_pixel_size``  Zeiss TIFF tag 34118 (``ap_image_pixel_size`` or, on older
``zeiss:ap_pixel_size``        files, ``ap_pixel_size``), referred to a 1024-px wide frame
``jeol:makernote``             JEOL keys (``$CM_PIXEL_SIZE``) as UTF-16LE in the EXIF MakerNote
``jeol:sidecar``               classic JEOL ``.txt`` sidecar (``$$SM_MICRON_MARKER`` over
                               ``$$SM_MICRON_BAR``, or ``$CM_PIXEL_SIZE`` when written)
``hitachi:sidecar``            Hitachi ``.txt`` sidecar ``[SemImageFile] PixelSize`` (nm)
``tescan:PixelSizeX``          TESCAN TIFF tag 50431 ``PixelSizeX`` (m)
``tiff:imagej``                ImageJ description (``unit=``) with the resolution tags
``tiff:resolution``            TIFF resolution tags in px/cm when they describe a micrograph
``user``                       the ``pixel_size`` option (``"4.47nm"``)
``scale_bar``                  the scale bar's length in px and a user-given physical length
``none``                       nothing known; sizes can only be given in pixels
=============================  ==============================================================

The vendor's databar is cropped by default (``crop_databar=True``): FEI and JEOL say how many
rows were scanned; for others the band of pure black/white graphics at the bottom is found by
:func:`charact.sem.calibration.find_databar`. ``attrs["databar_rows"]`` says how many rows were
removed.

Colour images whose channels are equal are read as grey; true colour is converted to luminance
(ITU-R BT.601 weights) with an :class:`~charact.core.errors.AssumptionWarning`. 16-bit images
keep their values.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.data import make_measurement
from ..core.errors import AssumptionWarning, CalibrationError, CorruptFileError, InputError
from ..core.provenance import sha256_file
from ..core.readers import Reader, register_reader
from ..core.units import parse_length
from .calibration import CalibrationWarning, find_databar

__all__ = [
    "image_from_array",
    "parse_jeol_keys",
    "pixel_size_from_tiff",
    "read_sem_image",
    "read_sem_tiff",
]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_BMP_MAGIC = b"BM"
_TOL = 0.02  # relative disagreement between two calibrations that is worth a warning


# --------------------------------------------------------------------------- helpers


def _jsonable_meta(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable_meta(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable_meta(v) for v in obj]
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def _to_grey(data: np.ndarray, path: Path) -> np.ndarray:
    """A 2-D grey image from what a file held (grey, palette-resolved, RGB or RGBA)."""
    if data.ndim == 2:
        return data
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        rgb = data[..., :3]
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            return np.ascontiguousarray(rgb[..., 0])
        warnings.warn(
            f"{path.name}: colour image converted to grey (luminance 0.299 R + 0.587 G + "
            "0.114 B); SEM detectors record one channel, so check this is a micrograph",
            AssumptionWarning,
            stacklevel=3,
        )
        grey = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
        return grey.astype(data.dtype) if data.dtype.kind in "ui" else grey
    if data.ndim == 3 and data.shape[0] == 1:
        return data[0]
    raise CorruptFileError(
        f"expected a 2-D grey image (or RGB), found an array of shape {data.shape}", path=path
    )


def _apply_palette(data: np.ndarray, colormap: Any) -> np.ndarray:
    cmap = np.asarray(colormap)
    if cmap.ndim != 2 or cmap.shape[0] != 3:
        return data
    grey = cmap[0]
    if not (np.array_equal(cmap[0], cmap[1]) and np.array_equal(cmap[0], cmap[2])):
        lut = (cmap.T.astype(float) @ np.array([0.299, 0.587, 0.114])).astype(np.uint16)
        grey = lut
    idx = np.clip(data.astype(np.intp), 0, grey.size - 1)
    values = grey[idx]
    if grey.max() > 255:  # 16-bit palette entries (TIFF stores 0..65535)
        values = np.round(values / 257.0)
    return values.astype(np.uint8)


def image_from_array(
    data: Any,
    *,
    pixel_size_nm: float | None,
    pixel_size_source: str,
    metadata: Mapping[str, Any] | None = None,
    instrument: str = "",
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build an SEM image DataArray on ``(y, x)`` following the measurement conventions.

    Parameters
    ----------
    data
        2-D array of grey values.
    pixel_size_nm
        Pixel size in nm; ``None`` (or NaN) for an uncalibrated image, which then has no
        ``x``/``y`` coords and ``pixel_size_source == "none"``.
    pixel_size_source
        Where the pixel size came from (see the module docstring).
    metadata
        Vendor metadata, stored verbatim as JSON in ``original_metadata``.
    instrument
        What the file says about the instrument.
    attrs
        Further attrs (``databar_rows`` …).
    """
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D image, got shape {arr.shape}")
    ny, nx = arr.shape
    calibrated = pixel_size_nm is not None and math.isfinite(pixel_size_nm)
    base = {
        "pixel_size_nm": float(pixel_size_nm) if calibrated else float("nan"),
        "pixel_size_source": pixel_size_source if calibrated else "none",
        "instrument": instrument,
        "databar_rows": 0,
    }
    base.update(attrs or {})
    if calibrated:
        step = float(pixel_size_nm) / 1000.0
        coords = {"y": (np.arange(ny) * step, "µm"), "x": (np.arange(nx) * step, "µm")}
        return make_measurement(
            arr,
            coords,
            name="intensity",
            units="1",
            technique="sem",
            metadata=_jsonable_meta(dict(metadata or {})),
            attrs=base,
        )
    da = make_measurement(
        arr,
        {"y": (np.arange(ny, dtype=float), "px"), "x": (np.arange(nx, dtype=float), "px")},
        name="intensity",
        units="1",
        technique="sem",
        metadata=_jsonable_meta(dict(metadata or {})),
        attrs=base,
    )
    # No physical scale: drop the px coords so nothing downstream mistakes them for µm.
    return da.drop_vars(["x", "y"])


# --------------------------------------------------------------------------- vendor metadata


def _num(text: Any) -> float | None:
    try:
        value = float(str(text).strip().split()[0].replace(",", "."))
    except (ValueError, IndexError):
        return None
    return value if math.isfinite(value) else None


def _length_with_unit(value: Any, unit: str, what: str) -> float:
    """A length in metres from a number and a unit string as vendors write them."""
    unit = unit.strip().replace("\u00c2", "")  # a mis-decoded µ sometimes arrives as 'Âµ'
    return parse_length(f"{value} {unit}", what=what)


def _fei(meta: Mapping[str, Any], width: int, height: int) -> dict[str, Any]:
    scan = meta.get("Scan") or meta.get("EScan") or {}
    pw = _num(scan.get("PixelWidth"))
    if pw is None or pw <= 0:
        raise CorruptFileError(
            "FEI tag 34682 has no positive [Scan] PixelWidth (expected the pixel size in m)"
        )
    image = meta.get("Image") or {}
    res_x = _num(image.get("ResolutionX"))
    res_y = _num(image.get("ResolutionY"))
    checks = {}
    hfw = _num(scan.get("HorFieldsize")) or _num((meta.get("EBeam") or {}).get("HFW"))
    if hfw and res_x:
        checks["HFW/ResolutionX"] = hfw / res_x * 1e9
    system = meta.get("System") or {}
    scan_rows = int(res_y) if res_y and 0 < res_y <= height else None
    return {
        "pixel_size_nm": pw * 1e9,
        "source": "fei:PixelWidth",
        "instrument": str(system.get("SystemType") or system.get("Type") or "FEI/Thermo SEM"),
        "scan_rows": scan_rows,
        "checks": checks,
    }


def _zeiss(meta: Mapping[str, Any], width: int, height: int) -> dict[str, Any]:
    def entry(key: str) -> tuple[float, str] | None:
        item = meta.get(key)
        if isinstance(item, list | tuple) and len(item) >= 3:
            value = _num(item[1])
            if value is not None:
                return value, str(item[2])
        return None

    key = "ap_image_pixel_size" if entry("ap_image_pixel_size") else "ap_pixel_size"
    found = entry(key)
    if found is None:
        raise CorruptFileError("Zeiss tag 34118 has neither ap_image_pixel_size nor ap_pixel_size")
    # Zeiss refers the pixel size to a 1024-px wide frame whatever the stored width (the
    # 512-px fixture is 2x wrong otherwise); the field width ap_width confirms it.
    ref = _length_with_unit(found[0], found[1], f"Zeiss {key}") * 1e9
    pixel_nm = ref * 1024.0 / width
    checks = {}
    aw = entry("ap_width")
    if aw is not None:
        checks["ap_width/width"] = _length_with_unit(aw[0], aw[1], "Zeiss ap_width") * 1e9 / width
    sem = meta.get("dp_sem")
    serial = meta.get("sv_serial_number")
    name = sem[1] if isinstance(sem, list | tuple) and len(sem) > 1 else ""
    if not name and isinstance(serial, list | tuple) and len(serial) > 1:
        name = serial[1]
    return {
        "pixel_size_nm": pixel_nm,
        "source": f"zeiss:{key}",
        "instrument": f"Zeiss {name}".strip(),
        "scan_rows": None,
        "checks": checks,
        "note": f"{key} = {found[0]} {found[1]} at the 1024-px reference width; "
        f"image width {width} px",
    }


_JEOL_PAIR = re.compile(r"^\s*(\$\$?[A-Z0-9_]+)\s*[= \t]\s*(.*?)\s*$")


def parse_jeol_keys(text: str) -> dict[str, str]:
    """``{"$CM_MAG": "50000", ...}`` from JEOL text (sidecar lines or MakerNote tab pairs)."""
    out: dict[str, str] = {}
    for chunk in re.split(r"[\t\r\n]+", text):
        if not chunk.strip():
            continue
        if "=" in chunk and chunk.lstrip().startswith("$"):
            key, _, value = chunk.partition("=")
            out[key.strip()] = value.strip()
            continue
        m = _JEOL_PAIR.match(chunk)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _jeol_length(text: str, what: str) -> float:
    """JEOL writes lengths as '100nm', '1μm', '2.00nm/pixel', '2.56 1.92μm'."""
    text = text.replace("/pixel", "").strip()
    m = re.match(r"^([0-9.eE+-]+)\s*([A-Za-zµμ]+)$", text)
    if m is None:
        raise CorruptFileError(f"JEOL {what}: cannot read {text!r} as a length")
    return parse_length(f"{m.group(1)} {m.group(2)}", what=f"JEOL {what}")


def _jeol(keys: Mapping[str, str], width: int, height: int, source: str) -> dict[str, Any]:
    def get(name: str) -> str | None:
        for k in (name, "$" + name, name.lstrip("$"), "$$" + name.lstrip("$")):
            if k in keys:
                return keys[k]
        return None

    full = get("$CM_FULL_SIZE") or get("$CM_IMAGE_SIZE")
    full_w = full_h = None
    if full:
        parts = full.split()
        if len(parts) >= 2 and _num(parts[0]) and _num(parts[1]):
            full_w, full_h = int(float(parts[0])), int(float(parts[1]))
    scale = (full_w / width) if full_w else 1.0
    checks: dict[str, float] = {}
    pixel_nm = None
    via = ""
    if get("$CM_PIXEL_SIZE"):
        pixel_nm = _jeol_length(get("$CM_PIXEL_SIZE") or "", "$CM_PIXEL_SIZE") * 1e9 * scale
        via = "$CM_PIXEL_SIZE"
    bar, marker = get("$SM_MICRON_BAR"), get("$SM_MICRON_MARKER")
    if bar and marker and _num(bar):
        from_bar = _jeol_length(marker, "$SM_MICRON_MARKER") * 1e9 / float(_num(bar) or 1)
        from_bar *= scale
        if pixel_nm is None:
            pixel_nm, via = from_bar, "$$SM_MICRON_MARKER/$$SM_MICRON_BAR"
        else:
            # the bar length is a whole number of pixels: allow for its rounding
            if abs(from_bar / pixel_nm - 1) > _TOL + 1.0 / float(_num(bar) or 1):
                checks["micron_marker/micron_bar"] = from_bar
    fov = get("$CM_FIELD_OF_VIEW")
    if fov and full_w:
        m = re.match(r"^([0-9.eE+-]+)\s+[0-9.eE+-]+\s*([A-Za-zµμ]+)$", fov.strip())
        if m:
            fov_w = parse_length(f"{m.group(1)} {m.group(2)}", what="JEOL $CM_FIELD_OF_VIEW")
            checks["field_of_view/width"] = fov_w * 1e9 / width
    if pixel_nm is None:
        raise CalibrationError(
            f"JEOL metadata ({source}) has neither $CM_PIXEL_SIZE nor "
            "$$SM_MICRON_BAR with $$SM_MICRON_MARKER"
        )
    scan_rows = None
    if full_h and full_w == width and full_h < height:
        scan_rows = full_h
    return {
        "pixel_size_nm": pixel_nm,
        "source": f"jeol:{source}",
        "instrument": "JEOL " + (keys.get("$CM_INSTRUMENT") or keys.get("$CM_FORMAT") or ""),
        "scan_rows": scan_rows,
        "checks": checks,
        "note": f"from {via}",
    }


def _hitachi(text: str, width: int, height: int) -> dict[str, Any]:
    keys = {}
    for line in text.splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            keys[k.strip()] = v.strip()
    ps = _num(keys.get("PixelSize"))
    if ps is None or ps <= 0:
        raise CalibrationError("Hitachi sidecar has no positive PixelSize (expected nm)")
    size = keys.get("DataSize", "")
    scan_rows = None
    m = re.match(r"^(\d+)\s*[xX*]\s*(\d+)$", size)
    if m and int(m.group(1)) == width and int(m.group(2)) < height:
        scan_rows = int(m.group(2))
    return {
        "pixel_size_nm": ps,
        "source": "hitachi:sidecar",
        "instrument": "Hitachi " + keys.get("InstructName", ""),
        "scan_rows": scan_rows,
        "checks": {},
        "keys": keys,
    }


def _tescan(text: str) -> dict[str, Any]:
    m = re.search(r"PixelSizeX\s*=\s*([0-9.eE+-]+)", text)
    value = _num(m.group(1)) if m else None
    if value is None or value <= 0:
        raise CorruptFileError("TESCAN tag 50431 has no positive PixelSizeX (expected m)")
    dev = re.search(r"Device\s*=\s*(.*)", text)
    return {
        "pixel_size_nm": value * 1e9,
        "source": "tescan:PixelSizeX",
        "instrument": "TESCAN " + (dev.group(1).strip() if dev else ""),
        "scan_rows": None,
        "checks": {},
    }


def _read_sidecar(path: Path) -> tuple[str, str, Path] | None:
    """(kind, text, path) of a JEOL or Hitachi ``.txt`` sidecar with the image's stem."""
    for cand in (path.with_suffix(".txt"), path.with_suffix(".TXT")):
        if not cand.is_file():
            continue
        raw = cand.read_bytes()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        elif raw[:200].count(b"\x00") > 20:
            text = raw.decode("utf-16-le", errors="replace")
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
        if "[SemImageFile]" in text:
            return "hitachi", text, cand
        if "$CM_" in text or "$$SM_" in text or "$SM_" in text:
            return "jeol", text, cand
    return None


def pixel_size_from_tiff(tif: Any, path: Path, width: int, height: int) -> dict[str, Any]:
    """What the TIFF's tags (and a sidecar) say about calibration.

    Returns a dict with ``pixel_size_nm`` (None if unknown), ``source``, ``instrument``,
    ``scan_rows`` (rows scanned above an appended databar, or None), ``checks`` (independent
    values of the pixel size in nm from the same metadata) and ``metadata`` (verbatim).
    """
    page = tif.pages[0]
    tags = page.tags
    meta: dict[str, Any] = {}
    info: dict[str, Any] | None = None
    sidecar: Path | None = None

    def attempt(label: str, parse: Any) -> dict[str, Any] | None:
        # broken vendor metadata must not make the image unreadable: say so and carry on,
        # so the user can still give the pixel size
        try:
            return parse()
        except (CorruptFileError, CalibrationError, InputError) as exc:
            warnings.warn(
                f"{path.name}: {label} metadata present but unusable ({exc.detail}); "
                "the pixel size is not taken from it",
                CalibrationWarning,
                stacklevel=6,
            )
            return None

    if 34682 in tags:
        fei = tags[34682].value
        if isinstance(fei, str | bytes):
            fei = tif.fei_metadata or {}
        meta["fei"] = fei
        info = attempt("FEI tag 34682", lambda: _fei(fei, width, height))
    elif 34118 in tags and isinstance(tags[34118].value, Mapping):
        zeiss = tags[34118].value
        meta["zeiss"] = zeiss
        info = attempt("Zeiss tag 34118", lambda: _zeiss(zeiss, width, height))
    elif 50431 in tags:
        text = tags[50431].value
        text = text.decode("latin-1") if isinstance(text, bytes) else str(text)
        meta["tescan"] = text
        info = attempt("TESCAN tag 50431", lambda: _tescan(text))
    if info is None and not meta:
        exif = tags["ExifTag"].value if "ExifTag" in tags else {}
        note = exif.get("MakerNote") if isinstance(exif, Mapping) else None
        if isinstance(note, bytes) and note.startswith(b"UNICODE\x00"):
            text = note[8:].decode("utf-16-le", errors="replace").rstrip("\x00")
            keys = parse_jeol_keys(text)
            meta["jeol_makernote"] = keys
            if keys:
                info = attempt("JEOL MakerNote", lambda: _jeol(keys, width, height, "makernote"))
                if info is not None:
                    model = tags["Model"].value if "Model" in tags else ""
                    info["instrument"] = f"JEOL {model}".strip()
    if info is None and not meta:
        side = _read_sidecar(path)
        if side is not None:
            kind, text, side_path = side
            meta[f"{kind}_sidecar"] = text
            sidecar = side_path
            if kind == "jeol":
                keys = parse_jeol_keys(text)
                info = attempt("JEOL sidecar", lambda: _jeol(keys, width, height, "sidecar"))
            else:
                info = attempt("Hitachi sidecar", lambda: _hitachi(text, width, height))
    if info is None and not meta:
        info = _tiff_resolution(tags)
    for name in ("Model", "Make", "Software", "ImageDescription"):
        if name in tags and name not in meta:
            value = tags[name].value
            meta[name] = value.decode("latin-1") if isinstance(value, bytes) else value
    info = dict(info or {"pixel_size_nm": None, "source": "none", "scan_rows": None})
    info.setdefault("checks", {})
    info.setdefault("instrument", "")
    info["metadata"] = meta
    info["sidecar"] = sidecar
    return info


def _tiff_resolution(tags: Any) -> dict[str, Any] | None:
    if "XResolution" not in tags:
        return None
    num, den = tags["XResolution"].value
    if not num or not den:
        return None
    per_unit = num / den
    desc = tags["ImageDescription"].value if "ImageDescription" in tags else ""
    desc = desc.decode("latin-1") if isinstance(desc, bytes) else str(desc)
    if desc.startswith("ImageJ="):
        m = re.search(r"^unit=(.+)$", desc, re.MULTILINE)
        if m:
            unit = m.group(1).strip().replace("\\u00B5", "µ")
            try:
                size = parse_length(f"{1.0 / per_unit} {unit}", what="ImageJ unit")
            except InputError:
                return None
            return {"pixel_size_nm": size * 1e9, "source": "tiff:imagej", "scan_rows": None}
    unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    # 72/96/300 dpi are display hints, not calibrations: accept only px/cm fine enough to be
    # a micrograph (pixel below 10 µm).
    if int(unit) == 3 and per_unit > 1000:
        return {"pixel_size_nm": 1e7 / per_unit, "source": "tiff:resolution", "scan_rows": None}
    return None


# --------------------------------------------------------------------------- readers


def _resolve_pixel_size(
    info: Mapping[str, Any], pixel_size: str | float | None, path: Path
) -> tuple[float | None, str]:
    meta_px = info.get("pixel_size_nm")
    for name, value in (info.get("checks") or {}).items():
        if meta_px and value and abs(value / meta_px - 1) > _TOL + 1e-9:
            warnings.warn(
                f"{path.name}: pixel size {meta_px:.6g} nm ({info['source']}) disagrees with "
                f"{value:.6g} nm from {name} in the same metadata by "
                f"{100 * abs(value / meta_px - 1):.1f}%",
                CalibrationWarning,
                stacklevel=4,
            )
    if pixel_size is None:
        return meta_px, str(info.get("source", "none"))
    user_nm = parse_length(pixel_size, what="pixel_size", default_unit=None) * 1e9
    if meta_px and abs(user_nm / meta_px - 1) > _TOL:
        warnings.warn(
            f"{path.name}: the given pixel size {user_nm:.6g} nm differs by "
            f"{100 * abs(user_nm / meta_px - 1):.1f}% from {meta_px:.6g} nm in the file's "
            f"metadata ({info['source']}); using the given value",
            CalibrationWarning,
            stacklevel=4,
        )
    return user_nm, "user"


def _crop(
    grey: np.ndarray, info: Mapping[str, Any], crop_databar: bool
) -> tuple[np.ndarray, int, str]:
    if not crop_databar:
        return grey, 0, "not cropped"
    scan_rows = info.get("scan_rows")
    if scan_rows:
        return grey[:scan_rows], grey.shape[0] - int(scan_rows), "metadata"
    top = find_databar(grey)
    if top is None:
        return grey, 0, "none found"
    return grey[:top], grey.shape[0] - top, "detected"


def read_sem_tiff(
    path: str | PathLike[str],
    *,
    pixel_size: str | float | None = None,
    crop_databar: bool = True,
) -> xr.DataArray:
    """Read an SEM TIFF with its vendor calibration (FEI, Zeiss, JEOL, Hitachi, TESCAN …).

    Parameters
    ----------
    path
        The TIFF; a JEOL/Hitachi ``.txt`` sidecar with the same stem is used when present.
    pixel_size
        A length string (``"4.47nm"``) that overrides the metadata (recorded as ``user``);
        a disagreement of more than 2% with the metadata raises a
        :class:`~charact.sem.calibration.CalibrationWarning`.
    crop_databar
        Remove the vendor databar (default).

    Returns
    -------
    xarray.DataArray
        Grey values on ``(y, x)`` (µm coords when calibrated).
    """
    import tifffile

    p = Path(path)
    try:
        with tifffile.TiffFile(p) as tif:
            if not tif.pages:
                raise CorruptFileError("TIFF has no image pages", path=p)
            page = tif.pages[0]
            shape = page.shape
            height, width = int(shape[0]), int(shape[1])
            info = pixel_size_from_tiff(tif, p, width, height)
            try:
                data = page.asarray()
            except ValueError as exc:
                if "imagecodecs" not in str(exc):
                    raise
                data = None  # compressed with a codec tifffile lacks: Pillow decodes LZW
            colormap = page.tags[320].value if 320 in page.tags else None
            photometric = int(page.photometric)
    except tifffile.TiffFileError as exc:
        raise CorruptFileError(f"not a readable TIFF ({exc})", path=p) from None
    if data is None:
        data = _pillow_pixels(p)
    elif photometric == 3 and colormap is not None:
        data = _apply_palette(data, colormap)
    grey = _to_grey(np.asarray(data), p)
    _check_pixels(grey, p)
    px, source = _resolve_pixel_size(info, pixel_size, p)
    cropped, rows, how = _crop(grey, info, crop_databar)
    return image_from_array(
        cropped,
        pixel_size_nm=px,
        pixel_size_source=source,
        metadata=info["metadata"],
        instrument=str(info.get("instrument", "")).strip(),
        attrs={
            "databar_rows": int(rows),
            "databar_found_by": how,
            "vendor_pixel_size_nm": float(info["pixel_size_nm"])
            if info.get("pixel_size_nm")
            else float("nan"),
            "vendor_pixel_size_source": str(info.get("source", "none")),
            "calibration_note": str(info.get("note", "")),
            "bit_depth": int(np.dtype(grey.dtype).itemsize * 8),
            # the calibration came from this second file: its name and hash are provenance too
            "sidecar_file": info["sidecar"].name if info.get("sidecar") else "",
            "sidecar_sha256": sha256_file(info["sidecar"]) if info.get("sidecar") else "",
        },
    )


def _pillow_pixels(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise CorruptFileError(
            "this TIFF is compressed with a codec that needs `imagecodecs` or Pillow",
            path=path,
        ) from None
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "P":
                im = im.convert("L")
            return np.asarray(im)
    except OSError as exc:
        raise CorruptFileError(f"could not decode the image data ({exc})", path=path) from None


def _check_pixels(grey: np.ndarray, path: Path) -> None:
    if grey.size == 0 or min(grey.shape) < 2:
        raise CorruptFileError(f"image is empty (shape {grey.shape})", path=path)
    if grey.dtype.kind == "f" and not np.all(np.isfinite(grey)):
        raise CorruptFileError("image holds NaN or infinite values", path=path)


def read_sem_image(
    path: str | PathLike[str],
    *,
    pixel_size: str | float | None = None,
    crop_databar: bool = True,
) -> xr.DataArray:
    """Read a PNG, JPEG or BMP micrograph; the pixel size comes from the user.

    Parameters
    ----------
    path
        The image file.
    pixel_size
        A length string (``"4.47nm"``); without it the image is uncalibrated
        (``pixel_size_source == "none"``) and sizes are reported in pixels.
    crop_databar
        Remove a databar band of pure black/white graphics at the bottom if one is found.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            fmt = im.format or p.suffix
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if im.mode in ("I;16", "I;16B", "I;16L"):
                data = np.asarray(im, dtype=np.uint16)
            elif im.mode in ("I", "F", "L", "RGB", "RGBA", "LA"):
                data = np.asarray(im)
                if im.mode == "LA":
                    data = data[..., 0]
            else:
                data = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise CorruptFileError("not a readable PNG/JPEG/BMP image", path=p) from None
    except OSError as exc:
        raise CorruptFileError(f"image data is truncated or damaged ({exc})", path=p) from None
    grey = _to_grey(data, p)
    _check_pixels(grey, p)
    info = {"pixel_size_nm": None, "source": "none", "scan_rows": None}
    px, source = _resolve_pixel_size(info, pixel_size, p)
    cropped, rows, how = _crop(grey, info, crop_databar)
    return image_from_array(
        cropped,
        pixel_size_nm=px,
        pixel_size_source=source,
        metadata={"format": str(fmt)},
        attrs={
            "databar_rows": int(rows),
            "databar_found_by": how,
            "vendor_pixel_size_nm": float("nan"),
            "vendor_pixel_size_source": "none",
            "calibration_note": "",
            "bit_depth": int(np.dtype(grey.dtype).itemsize * 8),
        },
    )


def _sniff_tiff(head: bytes, path: Path) -> float:
    if not head.startswith(_TIFF_MAGIC):
        return 0.0
    # A TIFF could hold anything; SEM is the only technique here that reads images, and the
    # vendor tags (34682 FEI, 34118 Zeiss, 50431 TESCAN) make it certain.
    markers = (b"\x7a\x87", b"\x87\x7a", b"\x46\x85", b"\x85\x46", b"\xff\xc4", b"\xc4\xff")
    return 1.0 if any(m in head for m in markers) else 0.8


def _sniff_image(head: bytes, path: Path) -> float:
    # magic number plus the first structure a real file must have (PNG's IHDR chunk, a JPEG
    # marker, a BMP info-header size), so stray magic bytes are not taken for an image
    if head.startswith(_PNG_MAGIC) and head[12:16] == b"IHDR":
        return 0.8
    if head.startswith(_JPEG_MAGIC) and len(head) > 3 and (head[3] >= 0xC0):
        return 0.8
    if head.startswith(_BMP_MAGIC) and len(head) > 18:
        dib = int.from_bytes(head[14:18], "little")
        if dib in (12, 40, 52, 56, 64, 108, 124):
            return 0.8
    return 0.0


register_reader(
    Reader(
        name="sem-tiff",
        technique="sem",
        description="SEM TIFF with vendor calibration (FEI/Thermo, Zeiss, JEOL, Hitachi, "
        "TESCAN, ImageJ)",
        extensions=(".tif", ".tiff"),
        sniff=_sniff_tiff,
        read=read_sem_tiff,
        options=("pixel_size", "crop_databar"),
        sidecars=(".txt",),
    )
)
register_reader(
    Reader(
        name="sem-image",
        technique="sem",
        description="SEM micrograph as PNG/JPEG/BMP (pixel size given by the user)",
        extensions=(".png", ".jpg", ".jpeg", ".bmp"),
        sniff=_sniff_image,
        read=read_sem_image,
        options=("pixel_size", "crop_databar"),
    )
)
