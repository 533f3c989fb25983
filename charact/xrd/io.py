"""XRD readers: diffraction patterns into DataArrays on a ``two_theta`` axis (deg).

Formats: plain-text exports (``.xy``, ``.xye``, ``.dat``, ``.csv``, ``.txt``) with header
sniffing, Bruker ``.brml`` (zip of XML) and RAW v4 (``RAW1.01``), GSAS STD (``.XRA``) with its
``.PRM`` instrument file, PANalytical ``.xrdml`` and Rigaku ``.ras``.

Every reader writes the radiation attrs: ``wavelength`` (Kα1, Å), ``wavelength_ka2`` (Å, NaN
when absent), ``ka2_ratio`` (Kα2/Kα1 intensity, 0 for Kα1-only radiation, NaN unknown),
``radiation_source`` (where those numbers came from, in words), ``monochromator`` and
``goniometer_radius_mm``. Radiation comes from the file's metadata when it has any, else from
the ``wavelength`` option; plain text without the option says "unknown" instead of assuming
Cu Kα.
"""

from __future__ import annotations

import itertools
import re
import struct
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import CorruptFileError, InputError
from ..core.readers import Reader, register_reader
from ..core.textio import read_numeric_table, sniff_numeric_table

__all__ = [
    "read_brml",
    "read_bruker_raw",
    "read_gsas_prm",
    "read_gsas_std",
    "read_ras",
    "read_xrdml",
    "read_xy",
    "write_xy",
]

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


def read_xy(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
    wavelength_ka2: float | None = None,
) -> xr.DataArray:
    """Read a plain-text pattern: 2θ, intensity and optionally its standard uncertainty.

    Parameters
    ----------
    path
        Text file with two (2θ, counts) or three (2θ, counts, esd) numeric columns; header
        lines above the numbers are kept in ``original_metadata``.
    wavelength
        Radiation wavelength in Å. Plain text does not say; without it the pattern carries
        ``attrs["wavelength"] = nan`` and ``attrs["radiation_source"]`` explains why.
    ka2_ratio, wavelength_ka2
        Kα2/Kα1 intensity ratio (0, the default with ``wavelength``, means Kα1 only) and the
        Kα2 wavelength in Å (default: Cu Kα2 of Hölzer et al. when the ratio is > 0).

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
    declared = _HEADER_WAVELENGTH.search("\n".join(table.header))
    if wavelength is None and declared is not None:
        # Many exports state the wavelength in a header line ("# Wavelength = 1.5406 A").
        attrs = _radiation_attrs(
            float(declared.group(1)),
            None,
            0.0,
            f"file header: {declared.group(0).strip()!r} (Kα1 only assumed: no Kα2 declared)",
            path=p,
        )
    elif wavelength is None:
        attrs = _radiation_attrs(
            None, None, None, "unknown: plain text carries no wavelength; pass wavelength=... (Å)"
        )
    else:
        ratio = 0.0 if ka2_ratio is None else float(ka2_ratio)
        ka2 = (wavelength_ka2 or CU_KA2_HOLZER) if ratio > 0 else None
        attrs = _radiation_attrs(
            float(wavelength), ka2, ratio, "option: wavelength given by the user", path=p
        )
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


_HEADER_WAVELENGTH = re.compile(
    r"(?:wavelength|lambda|λ)\s*(?:\(\s*(?:Å|A|angstrom)\s*\))?\s*[:=]?\s*"
    r"([0-9]*\.[0-9]+)\s*(?:Å|A\b|angstrom)?",
    re.IGNORECASE,
)


def write_xy(da: xr.DataArray, path: str | PathLike[str], *, header: str = "") -> Path:
    """Write a pattern as two-column text (2θ, intensity), atomically.

    Used by the demo and tests to produce files a user's diffractometer software would. A
    finite ``attrs["wavelength"]`` is written as a ``# wavelength = … A`` header line, which
    :func:`read_xy` reads back.
    """
    from ..core.store import atomic_write

    lines = [f"# {h}" for h in header.splitlines()]
    lam = float(da.attrs.get("wavelength", float("nan")))
    if np.isfinite(lam):
        lines.append(f"# wavelength = {lam:.7f} A")
    lines.append("# 2theta(deg) intensity(counts)")
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
        options=("wavelength", "ka2_ratio", "wavelength_ka2"),
    )
)


# --------------------------------------------------------------------------- radiation

#: Cu Kα1 and Kα2 wavelengths in Å (Hölzer et al., Phys. Rev. A 56, 4554 (1997)).
CU_KA1_HOLZER = 1.540593
CU_KA2_HOLZER = 1.544427


def _radiation_attrs(
    ka1: float | None,
    ka2: float | None,
    ratio: float | None,
    source: str,
    *,
    monochromator: str = "",
    radius_mm: float | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """The radiation attrs every XRD reader writes (NaN where the file does not say)."""
    if ka1 is not None and not (0.01 < float(ka1) < 10):
        raise CorruptFileError(f"Kα1 wavelength {ka1!r} is not a wavelength in Å", path=path)
    return {
        "wavelength": float(ka1) if ka1 is not None else float("nan"),
        "wavelength_units": "angstrom",
        "wavelength_ka2": float(ka2) if ka2 else float("nan"),
        "ka2_ratio": float(ratio) if ratio is not None else float("nan"),
        "radiation_source": source,
        "monochromator": monochromator,
        "goniometer_radius_mm": float(radius_mm) if radius_mm else float("nan"),
    }


def _check_counts(two_theta: np.ndarray, counts: np.ndarray, path: Path, where: str) -> None:
    if two_theta.size < 5:
        raise CorruptFileError(
            f"expected a diffraction pattern in {where}, found {two_theta.size} points", path=path
        )
    if not np.all(np.isfinite(counts)):
        i = int(np.flatnonzero(~np.isfinite(counts))[0])
        raise CorruptFileError(f"{where}: point {i} is not a finite number", path=path)
    step = np.diff(two_theta)
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0])
        raise CorruptFileError(
            f"{where}: 2θ must increase; point {i + 1} has {two_theta[i + 1]:g} after "
            f"{two_theta[i]:g}",
            path=path,
        )


def _combine_ranges(
    segments: list[tuple[np.ndarray, np.ndarray]], path: Path, what: str, scan_range: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One pattern from the ranges/scans of a file: (2θ, counts, range number per point).

    ``scan_range`` (1-based) picks one. Without it a single segment is returned as is and
    several are joined into one pattern when they do not overlap in 2θ (each point keeps its
    range number); overlapping segments (repeated or interleaved scans) are ambiguous and
    raise, naming them.
    """
    n = len(segments)
    if scan_range is not None:
        k = int(scan_range)
        if not 1 <= k <= n:
            raise InputError(
                f"scan_range={scan_range}: the file holds {n} {what}(s), 1-{n}", path=path
            )
        tt, c = segments[k - 1]
        return tt, c, None
    if n == 1:
        return segments[0][0], segments[0][1], None
    spans = [(float(tt[0]), float(tt[-1]), i + 1) for i, (tt, _) in enumerate(segments)]
    ordered = sorted(spans)
    for (_lo0, hi0, i0), (lo1, _hi1, i1) in itertools.pairwise(ordered):
        if lo1 <= hi0:
            listing = "; ".join(f"{i}: {lo:g}-{hi:g}°" for lo, hi, i in spans)
            raise InputError(
                f"the file holds {n} {what}s whose 2θ ranges overlap ({what}s {i0} and {i1}; "
                f"{listing}): which one to analyse is ambiguous",
                path=path,
                hint=f"pass scan_range=K (1-{n}; CLI --scan-range K) to read one of them",
            )
    order = [i - 1 for _, _, i in ordered]
    tt = np.concatenate([segments[i][0] for i in order])
    c = np.concatenate([segments[i][1] for i in order])
    rng = np.concatenate([np.full(segments[i][0].size, i + 1) for i in order])
    return tt, c, rng


def _with_range(da: xr.DataArray, rng: np.ndarray | None, what: str) -> xr.DataArray:
    if rng is None:
        return da
    return da.assign_coords(
        range=xr.Variable("two_theta", rng.astype(np.int64), {"units": "1", "long_name": what})
    )


# --------------------------------------------------------------------------- Bruker .brml


def _sniff_brml(head: bytes, path: Path) -> float:
    if not head.startswith(b"PK\x03\x04"):
        return 0.0
    # A zip: Bruker's members are named <...>/Experiment0/RawData0.xml; the local header of an
    # early member often shows it in the first bytes.
    if b"Experiment0" in head or b"RawData" in head:
        return 1.0
    return 0.6 if path.suffix.lower() == ".brml" else 0.05


def _xml_root(data: bytes, path: Path, member: str) -> Any:
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        return DET.fromstring(data)
    except DefusedXmlException as exc:
        raise CorruptFileError(f"{member}: unsafe XML refused ({exc})", path=path) from None
    except Exception as exc:  # ParseError: position is in the message
        raise CorruptFileError(f"{member}: malformed XML ({exc})", path=path) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_local(elem: Any, name: str) -> Any:
    for e in elem.iter():
        if _local(e.tag) == name:
            return e
    return None


def _value_attr(elem: Any, name: str) -> float | None:
    e = _find_local(elem, name)
    if e is None:
        return None
    v = e.get("Value")
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def read_brml(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
) -> xr.DataArray:
    """Read a Bruker DIFFRAC.SUITE ``.brml`` file (a zip of XML documents).

    The scan is in ``Experiment0/RawData0.xml``: each ``<Datum>`` is a comma-separated row
    whose fields are described by the ``<DataViews>`` header (time per step, absorption
    factor, one field per scan axis, then the counter). The number of fields differs between
    scan types (4 in a PSD fast scan, 5 in a coupled 2θ/θ scan), so the 2θ column is located
    from the header and the counts are the last field. Tube wavelengths (``WaveLengthAlpha1``,
    ``WaveLengthAlpha2``, ``WaveLengthRatio``) and the primary optics come from the same XML:
    a Johansson (Kα1) monochromator in the primary track means Kα1-only radiation.

    Parameters
    ----------
    path
        The ``.brml`` file.
    wavelength, ka2_ratio
        Overrides of what the file says (Å; Kα2/Kα1 intensity ratio, 0 for Kα1 only).

    Returns
    -------
    xarray.DataArray
        ``intensity`` (counts) on ``two_theta`` (deg) with the radiation attrs.
    """
    import zipfile

    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CorruptFileError(
            f"not a readable zip archive as .brml must be ({exc})", path=p
        ) from None
    with zf:
        names = zf.namelist()
        raw = sorted(n for n in names if re.search(r"(^|/)Experiment0/RawData\d+\.xml$", n))
        if not raw:
            raise CorruptFileError(
                "no Experiment0/RawData*.xml member in the archive; found " + ", ".join(names[:8]),
                path=p,
            )
        member = raw[0]
        try:
            data = zf.read(member)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CorruptFileError(f"{member}: damaged zip member ({exc})", path=p) from None
    root = _xml_root(data, p, member)

    # Which field of <Datum> is 2θ: the VaryingRawDataView whose FieldDefinitions name TwoTheta.
    tt_index = None
    for view in root.iter():
        if _local(view.tag) != "RawDataView":
            continue
        for fd in view.iter():
            if _local(fd.tag) == "FieldDefinitions" and fd.get("AxisId") in (
                "TwoTheta",
                "2Theta",
            ):
                try:
                    tt_index = int(view.get("Start", ""))
                except ValueError:
                    tt_index = None
    rows = [d.text or "" for d in root.iter() if _local(d.tag) == "Datum"]
    if not rows:
        raise CorruptFileError(f"{member}: no <Datum> rows (an empty scan?)", path=p)
    nfields = {r.count(",") + 1 for r in rows}
    if len(nfields) != 1:
        raise CorruptFileError(
            f"{member}: <Datum> rows have different numbers of fields {sorted(nfields)}", path=p
        )
    try:
        table = np.array([[float(v) for v in r.split(",")] for r in rows])
    except ValueError as exc:
        raise CorruptFileError(
            f"{member}: a <Datum> field is not a number ({exc})", path=p
        ) from None
    if tt_index is None:
        # Fallback when the header is missing: the third field (after time and absorption).
        tt_index = 2
    if not (0 <= tt_index < table.shape[1] - 1):
        raise CorruptFileError(
            f"{member}: 2θ field index {tt_index} is outside the {table.shape[1]} fields", path=p
        )
    two_theta, counts = table[:, tt_index], table[:, -1]
    _check_counts(two_theta, counts, p, member)

    ka1 = _value_attr(root, "WaveLengthAlpha1")
    ka2 = _value_attr(root, "WaveLengthAlpha2")
    ratio = _value_attr(root, "WaveLengthRatio")
    optics = [
        e.get("ClassPath", "")
        for e in root.iter()
        if _local(e.tag) == "BeringInfo" and "PrimaryTrack" in e.get("ObjectPath", "")
    ]
    mono = next((c for c in optics if "Monochromator" in c), "")
    radius = None
    prim = _find_local(root, "PrimaryTracks")
    if prim is not None:
        radius = _value_attr(prim, "Radius")
    if wavelength is not None:
        src = "option: wavelength given by the user"
        ka1 = float(wavelength)
        ratio = 0.0 if ka2_ratio is None else float(ka2_ratio)
    elif ka1 is None:
        raise CorruptFileError(
            f"{member}: no WaveLengthAlpha1 in the tube description",
            path=p,
            hint="pass wavelength=... (Å) to read it anyway",
        )
    elif ka2_ratio is not None:
        ratio = float(ka2_ratio)
        src = "file wavelengths; Kα2 ratio given by the user"
    elif "Johansson" in mono:
        ratio = 0.0
        src = f"file: tube Kα1 {ka1} Å; Johansson monochromator ({mono}) passes Kα1 only"
    else:
        ratio = 0.5 if ratio is None else ratio
        src = f"file: tube Kα1 {ka1} Å, Kα2 {ka2} Å, ratio {ratio}; no primary monochromator"
    scan = _find_local(root, "ScanInformation")
    meta = {
        "member": member,
        "scan_name": scan.get("ScanName", "") if scan is not None else "",
        "scan_mode": (_find_local(root, "ScanMode").text or "")
        if _find_local(root, "ScanMode") is not None
        else "",
        "datum_fields": int(table.shape[1]),
        "two_theta_field": int(tt_index),
        "tube": {"ka1": ka1, "ka2": ka2, "ratio": _value_attr(root, "WaveLengthRatio")},
        "primary_optics": optics,
        "sample_name": next(
            (
                e.get("Value", "")
                for e in root.iter()
                if _local(e.tag) == "InfoItem" and e.get("Name") == "SampleName"
            ),
            "",
        ),
    }
    attrs = _radiation_attrs(ka1, ka2, ratio, src, monochromator=mono, radius_mm=radius, path=p)
    attrs["instrument"] = "Bruker (brml)"
    return make_spectrum(
        two_theta, counts, axis="two_theta", technique="xrd", metadata=meta, attrs=attrs
    )


# --------------------------------------------------------------------------- Bruker RAW v4

_RAW4_MAGIC = b"RAW1.01"


def _sniff_raw4(head: bytes, path: Path) -> float:
    return 1.0 if head.startswith(_RAW4_MAGIC) else 0.0


def read_bruker_raw(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
    scan_range: int | None = None,
) -> xr.DataArray:
    """Read a Bruker DIFFRAC.plus RAW version 4 file (magic ``RAW1.01``).

    Layout (little-endian; Bruker, *DIFFRAC plus XCH V.5.0 User's Manual, Appendix A*, as
    implemented in wojdyr/xylib ``xylib/brucker_raw.cpp``): a 712-byte file header with the
    number of ranges at byte 12, the anode at 608 and the wavelengths as float64 at 616
    (average), 624 (Kα1), 632 (Kα2), 640 (Kβ) and the Kα2/Kα1 ratio at 648. Each range has a
    header (its length, 304, at offset 0), the number of steps (uint32 at 4), the start 2θ
    (float64 at 16), the step (float64 at 176) and the size of supplementary headers (uint32
    at 256); the counts follow as float32, and the next range header follows the counts.

    Every range is read. ``scan_range=K`` (1-based) returns range K alone; otherwise one
    range is returned as is, and several are joined into one pattern when their 2θ spans do
    not overlap, with a ``range`` coordinate giving each point's range number. Overlapping
    ranges (a repeated scan) are ambiguous and raise :class:`InputError` listing them.
    """
    p = Path(path)
    buf = p.read_bytes()
    if not buf.startswith(_RAW4_MAGIC):
        raise CorruptFileError("missing the RAW1.01 magic of a Bruker RAW v4 file", path=p)
    if len(buf) < 712 + 304:
        raise CorruptFileError(
            f"truncated: {len(buf)} bytes, a RAW v4 file header and range header need 1016",
            path=p,
        )
    (nranges,) = struct.unpack_from("<I", buf, 12)
    if nranges < 1:
        raise CorruptFileError("the file header says it holds no scan range", path=p)
    anode = buf[608:612].split(b"\0")[0].decode("ascii", "replace")
    avg, ka1, ka2, kb, ratio = struct.unpack_from("<5d", buf, 616)
    off = 712
    segments: list[tuple[np.ndarray, np.ndarray]] = []
    range_meta: list[dict[str, Any]] = []
    for r in range(1, nranges + 1):
        if off + 304 > len(buf):
            raise CorruptFileError(
                f"truncated: range {r} header at byte {off}, file has {len(buf)} bytes", path=p
            )
        (hlen, steps) = struct.unpack_from("<II", buf, off)
        if hlen != 304:
            raise CorruptFileError(
                f"byte {off}: range {r} header length {hlen}, expected 304", path=p
            )
        (start_2theta,) = struct.unpack_from("<d", buf, off + 16)
        (step,) = struct.unpack_from("<d", buf, off + 176)
        (supp,) = struct.unpack_from("<I", buf, off + 256)
        data_at = off + hlen + supp
        end = data_at + 4 * steps
        if end > len(buf):
            raise CorruptFileError(
                f"truncated: range {r} needs {steps} counts up to byte {end}, file has {len(buf)}",
                path=p,
            )
        counts = np.frombuffer(buf, dtype="<f4", count=steps, offset=data_at).astype(float)
        if not (step > 0 and np.isfinite(start_2theta)):
            raise CorruptFileError(
                f"range {r}: start {start_2theta} / step {step} make no axis", path=p
            )
        tt = start_2theta + step * np.arange(steps)
        _check_counts(tt, counts, p, f"range {r}")
        segments.append((tt, counts))
        range_meta.append({"steps": int(steps), "start_2theta": start_2theta, "step": step})
        off = end
    two_theta, counts, rng = _combine_ranges(segments, p, "range", scan_range)
    if wavelength is not None:
        ka1_used, ratio_used = float(wavelength), 0.0 if ka2_ratio is None else float(ka2_ratio)
        src = "option: wavelength given by the user"
    elif 0.01 < ka1 < 10:
        ka1_used = ka1
        ratio_used = float(ka2_ratio) if ka2_ratio is not None else float(ratio)
        src = (
            f"file: anode {anode or '?'}, Kα1 {ka1:.5f} Å, Kα2 {ka2:.5f} Å, "
            f"ratio {ratio_used:g} (RAW header bytes 624-655)"
        )
    else:
        raise CorruptFileError(
            "the file header holds no valid Kα1 wavelength (bytes 624-631)",
            path=p,
            hint="pass wavelength=... (Å)",
        )
    meta = {
        "format": "Bruker RAW v4 (RAW1.01)",
        "date": buf[16:26].split(b"\0")[0].decode("latin-1"),
        "time": buf[26:36].split(b"\0")[0].decode("latin-1"),
        "anode": anode,
        "wavelengths": {"average": avg, "ka1": ka1, "ka2": ka2, "kbeta": kb, "ratio": ratio},
        "ranges": int(nranges),
        "range_headers": range_meta,
        "range_read": int(scan_range) if scan_range is not None else "all",
    }
    attrs = _radiation_attrs(ka1_used, ka2 if ratio_used > 0 else None, ratio_used, src, path=p)
    attrs["instrument"] = "Bruker (RAW v4)"
    da = make_spectrum(
        two_theta, counts, axis="two_theta", technique="xrd", metadata=meta, attrs=attrs
    )
    return _with_range(da, rng, "RAW range number")


# --------------------------------------------------------------------------- GSAS STD + PRM


def _sniff_gsas(head: bytes, path: Path) -> float:
    text = head.decode("latin-1", "replace").splitlines()
    for line in text[:6]:
        if re.match(r"^BANK\s+\d+\s+\d+\s+\d+\s+CONST\s", line):
            return 1.0
    return 0.0


def read_gsas_prm(path: str | PathLike[str]) -> dict[str, float]:
    """Read λ1, λ2 and the Kα2/Kα1 ratio from a GSAS instrument parameter (``.PRM``) file.

    The ``INS  1 ICONS`` record holds λ1, λ2, zero, … and the Kα2/Kα1 intensity ratio as its
    last field (GSAS manual, A. C. Larson & R. B. Von Dreele, LAUR 86-748, "Instrument
    parameter file").
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="latin-1").splitlines()
    except FileNotFoundError:
        raise InputError("no such instrument parameter file", path=p) from None
    for line in lines:
        m = re.match(r"^INS\s+1\s*ICONS\s+(.*)$", line)
        if m:
            try:
                vals = [float(v) for v in m.group(1).split()]
            except ValueError:
                raise CorruptFileError(f"ICONS record is not numeric: {line!r}", path=p) from None
            if len(vals) < 2:
                raise CorruptFileError(f"ICONS record too short: {line!r}", path=p)
            ka2 = vals[1] if vals[1] > 0 else None
            ratio = vals[-1] if ka2 and len(vals) >= 3 else 0.0
            return {"ka1": vals[0], "ka2": ka2 or float("nan"), "ka2_ratio": ratio}
    raise CorruptFileError("no 'INS  1 ICONS' record with the wavelengths", path=p)


def read_gsas_std(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
    instrument_file: str | PathLike[str] | None = None,
) -> xr.DataArray:
    """Read a GSAS standard (STD, ``CONST`` binning) powder file, e.g. ``.XRA``/``.gsa``.

    Line 1 is a title; the ``BANK`` line gives the bank, the number of points, the number of
    records, ``CONST``, the start and the step in centidegrees. STD data follow in 80-column
    records of ten 8-character fields, each an optional 2-digit counter count and the counts
    (GSAS manual, "Powder data files"). The wavelengths come from the instrument file: the
    ``instrument_file`` option, else a lone ``.prm``/``.PRM`` beside the data file; otherwise
    from ``wavelength``; otherwise the read fails rather than assume.
    """
    p = Path(path)
    lines = p.read_text(encoding="latin-1").splitlines()
    bank_i = next(
        (i for i, line in enumerate(lines[:6]) if line.startswith("BANK")),
        None,
    )
    if bank_i is None:
        raise CorruptFileError("no BANK line in the first lines of a GSAS file", path=p)
    parts = lines[bank_i].split()
    try:
        npts, nrec = int(parts[2]), int(parts[3])
        if parts[4] != "CONST":
            raise CorruptFileError(
                f"line {bank_i + 1}: binning {parts[4]!r}; only CONST is read", path=p
            )
        start, step = float(parts[5]) / 100.0, float(parts[6]) / 100.0
    except (IndexError, ValueError):
        raise CorruptFileError(
            f"line {bank_i + 1}: expected 'BANK n npts nrec CONST start step ...', found "
            f"{lines[bank_i]!r}",
            path=p,
        ) from None
    fmt = parts[-1] if parts[-1] in ("STD", "ESD", "ALT", "FXYE") else "STD"
    if fmt not in ("STD", "ESD"):
        raise CorruptFileError(f"line {bank_i + 1}: {fmt} data are not supported", path=p)
    body = lines[bank_i + 1 : bank_i + 1 + nrec]
    values: list[float] = []
    width = 8
    for k, line in enumerate(body):
        line = line.rstrip("\n").ljust(80)
        for j in range(10):
            chunk = line[j * width : (j + 1) * width]
            if not chunk.strip():
                continue
            try:
                if fmt == "STD":
                    nc = chunk[:2].strip()
                    n = int(nc) if nc else 1
                    values.append(float(chunk[2:]) / max(n, 1))
                else:
                    values.append(float(chunk))
            except ValueError:
                raise CorruptFileError(
                    f"line {bank_i + 2 + k}, field {j + 1}: {chunk!r} is not a number", path=p
                ) from None
    if fmt == "ESD":
        values = values[0::2]
    if len(values) < npts:
        raise CorruptFileError(
            f"truncated: the BANK line announces {npts} points, {len(values)} were found",
            path=p,
        )
    counts = np.asarray(values[:npts], dtype=float)
    two_theta = start + step * np.arange(npts)
    _check_counts(two_theta, counts, p, "data")
    prm: dict[str, float] | None = None
    prm_path: Path | None = None
    if instrument_file is not None:
        prm_path = Path(instrument_file)
    else:
        beside = sorted(q for q in p.parent.glob("*") if q.suffix.lower() in (".prm", ".inst"))
        if len(beside) == 1:
            prm_path = beside[0]
    if wavelength is not None:
        ka1, ka2, ratio = float(wavelength), None, 0.0 if ka2_ratio is None else float(ka2_ratio)
        src = "option: wavelength given by the user"
    elif prm_path is not None:
        prm = read_gsas_prm(prm_path)
        ka1 = prm["ka1"]
        ka2 = prm["ka2"] if np.isfinite(prm["ka2"]) else None
        ratio = prm["ka2_ratio"] if ka2_ratio is None else float(ka2_ratio)
        src = f"instrument file {prm_path.name}: λ1 {ka1} Å, λ2 {ka2} Å, ratio {ratio}"
    else:
        raise InputError(
            "a GSAS STD file carries no wavelength and no instrument (.prm) file was found "
            "beside it",
            path=p,
            hint="pass instrument_file=... (GSAS .prm) or wavelength=... (Å)",
        )
    meta = {"title": lines[0].strip(), "bank": lines[bank_i].strip(), "instrument_file": ""}
    if prm_path is not None and prm is not None:
        meta["instrument_file"] = prm_path.name
        meta["instrument"] = prm
    attrs = _radiation_attrs(ka1, ka2, ratio, src, path=p)
    attrs["instrument"] = "GSAS STD"
    return make_spectrum(
        two_theta, counts, axis="two_theta", technique="xrd", metadata=meta, attrs=attrs
    )


# --------------------------------------------------------------------------- PANalytical xrdml


def _sniff_xrdml(head: bytes, path: Path) -> float:
    h = head[:4096]
    if b"<xrdMeasurements" in h or b"www.xrdml.com" in h:
        return 1.0
    return 0.0


def _xrdml_scan(scan: Any, p: Path, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(2θ, counts) of one ``<scan>`` element."""
    dp = _find_local(scan, "dataPoints")
    if dp is None:
        raise CorruptFileError(f"<scan> {k} has no <dataPoints>", path=p)
    counts_el = None
    for e in dp:
        if _local(e.tag) in ("counts", "intensities"):
            counts_el = e
    if counts_el is None or not (counts_el.text or "").strip():
        raise CorruptFileError(f"<scan> {k}: <dataPoints> has no <counts>/<intensities>", path=p)
    try:
        counts = np.array([float(v) for v in counts_el.text.split()])
    except ValueError as exc:
        raise CorruptFileError(
            f"<scan> {k}: <{_local(counts_el.tag)}> are not numbers ({exc})", path=p
        ) from None
    tt = None
    for pos in dp:
        if _local(pos.tag) == "positions" and pos.get("axis") == "2Theta":
            lst = _find_local(pos, "listPositions")
            if lst is not None:
                tt = np.array([float(v) for v in (lst.text or "").split()])
            else:
                s, e = _find_local(pos, "startPosition"), _find_local(pos, "endPosition")
                if s is None or e is None:
                    raise CorruptFileError(
                        f"<scan> {k}: 2Theta <positions> without start/end", path=p
                    )
                tt = np.linspace(float(s.text), float(e.text), counts.size)
    if tt is None:
        raise CorruptFileError(f'<scan> {k}: no <positions axis="2Theta"> in <dataPoints>', path=p)
    if tt.size != counts.size:
        raise CorruptFileError(
            f"<scan> {k}: {tt.size} 2θ positions but {counts.size} intensities", path=p
        )
    _check_counts(tt, counts, p, f"<scan> {k} <dataPoints>")
    return tt, counts


def read_xrdml(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
    scan_range: int | None = None,
) -> xr.DataArray:
    """Read a PANalytical ``.xrdml`` file (XML, schema http://www.xrdml.com/XRDMeasurement).

    Every ``<scan>`` of every ``<xrdMeasurement>`` is read: ``scan_range=K`` (1-based, in
    document order) returns scan K alone; otherwise one scan is returned as is, and several
    are joined into one pattern when their 2θ spans do not overlap, with a ``range``
    coordinate giving each point's scan number. Overlapping scans (repeats) or scans of
    measurements with different wavelengths are ambiguous and raise :class:`InputError`
    listing them. 2θ comes from
    ``<positions axis="2Theta">`` as ``<startPosition>``/``<endPosition>`` (evenly spaced) or
    ``<listPositions>``; intensities from ``<counts>`` or ``<intensities>`` (per step). The
    radiation is ``<usedWavelength>``: ``kAlpha1``, ``kAlpha2``, ``ratioKAlpha2KAlpha1``; its
    ``intended="K-Alpha 1"`` attribute says Kα2 was removed by a monochromator.
    """
    p = Path(path)
    root = _xml_root(p.read_bytes(), p, "xrdml")
    if _local(root.tag) != "xrdMeasurements":
        raise CorruptFileError(
            f"root element <{_local(root.tag)}>, expected xrdMeasurements", path=p
        )
    scans = [e for e in root.iter() if _local(e.tag) == "scan"]
    if not scans:
        raise CorruptFileError("no <scan> element", path=p)
    segments = [_xrdml_scan(scan, p, k) for k, scan in enumerate(scans, 1)]
    tt, counts, rng = _combine_ranges(segments, p, "scan", scan_range)
    # The radiation of the measurement(s) holding the scans read: one, or the same for all.
    holders = [m for m in root.iter() if _local(m.tag) == "xrdMeasurement"]
    wls = []
    for m in holders:
        w = _find_local(m, "usedWavelength")
        if w is not None:
            wls.append(" ".join("".join(w.itertext()).split()) + repr(sorted(w.attrib.items())))
    if len(set(wls)) > 1 and scan_range is None and len(scans) > 1:
        raise InputError(
            f"the file holds {len(holders)} measurements with different wavelengths",
            path=p,
            hint=f"pass scan_range=K (1-{len(scans)}; CLI --scan-range K) to read one scan",
        )
    owner = {id(sc): m for m in holders for sc in m.iter() if _local(sc.tag) == "scan"}
    first = scans[(int(scan_range) if scan_range is not None else 1) - 1]
    wl = _find_local(owner.get(id(first), root), "usedWavelength")
    ka1 = ka2 = ratio = None
    intended = ""
    if wl is not None:
        intended = wl.get("intended", "")
        for e in wl:
            name = _local(e.tag)
            try:
                if name == "kAlpha1":
                    ka1 = float(e.text)
                elif name == "kAlpha2":
                    ka2 = float(e.text)
                elif name == "ratioKAlpha2KAlpha1":
                    ratio = float(e.text)
            except (TypeError, ValueError):
                raise CorruptFileError(f"<{name}> is not a number", path=p) from None
    if wavelength is not None:
        ka1, ka2 = float(wavelength), None
        ratio = 0.0 if ka2_ratio is None else float(ka2_ratio)
        src = "option: wavelength given by the user"
    elif ka1 is None:
        raise CorruptFileError(
            "no <usedWavelength>/<kAlpha1> in the file", path=p, hint="pass wavelength=... (Å)"
        )
    elif ka2_ratio is not None:
        ratio = float(ka2_ratio)
        src = "file wavelengths; Kα2 ratio given by the user"
    elif intended.strip().lower() == "k-alpha 1":
        ratio = 0.0
        src = f"file: usedWavelength intended='{intended}' (Kα1 only), Kα1 {ka1} Å"
    else:
        ratio = 0.5 if ratio is None else ratio
        src = f"file: Kα1 {ka1} Å, Kα2 {ka2} Å, ratio {ratio} (intended='{intended}')"
    radius_el = _find_local(root, "radius")
    radius = float(radius_el.text) if radius_el is not None and radius_el.text else None
    sample = _find_local(root, "sample")
    meta = {
        "namespace": root.tag.split("}")[0].lstrip("{") if "}" in root.tag else "",
        "intended": intended,
        "sample_id": (_find_local(sample, "id").text or "")
        if sample is not None and _find_local(sample, "id") is not None
        else "",
    }
    meta["scans"] = len(scans)
    meta["scan_read"] = int(scan_range) if scan_range is not None else "all"
    attrs = _radiation_attrs(ka1, ka2, ratio, src, radius_mm=radius, path=p)
    attrs["instrument"] = "PANalytical (xrdml)"
    da = make_spectrum(tt, counts, axis="two_theta", technique="xrd", metadata=meta, attrs=attrs)
    return _with_range(da, rng, "xrdml scan number")


# --------------------------------------------------------------------------- Rigaku .ras


def _sniff_ras(head: bytes, path: Path) -> float:
    return 1.0 if head.lstrip().startswith(b"*RAS_DATA_START") else 0.0


def read_ras(
    path: str | PathLike[str],
    *,
    wavelength: float | None = None,
    ka2_ratio: float | None = None,
) -> xr.DataArray:
    """Read a Rigaku ``.ras`` text file (SmartLab/MiniFlex export).

    ``*KEY "value"`` header lines between ``*RAS_HEADER_START`` and ``*RAS_HEADER_END``;
    data rows ``2θ counts attenuation`` between ``*RAS_INT_START`` and ``*RAS_INT_END``;
    intensity = counts × attenuation factor. Wavelengths from ``*HW_XG_WAVE_LENGTH_ALPHA1``/
    ``ALPHA2``; a header ``*HW_XG_WAVE_LENGTH_ALPHA2`` equal to ALPHA1, or a
    monochromator named in ``*HW_*MONOCHROMATOR*``, means Kα1 only.
    """
    p = Path(path)
    text = p.read_bytes().decode("latin-1")
    header: dict[str, str] = {}
    rows: list[list[float]] = []
    in_int = False
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("*RAS_INT_START"):
            in_int = True
            continue
        if s.startswith("*RAS_INT_END"):
            in_int = False
            break
        if in_int:
            if not s:
                continue
            try:
                rows.append([float(v) for v in s.split()])
            except ValueError:
                raise CorruptFileError(f"line {n}: expected numbers, found {s!r}", path=p) from None
        elif s.startswith("*"):
            key, _, val = s[1:].partition(" ")
            header[key] = val.strip().strip('"')
    if not rows:
        raise CorruptFileError("no data between *RAS_INT_START and *RAS_INT_END", path=p)
    if len({len(r) for r in rows}) != 1:
        raise CorruptFileError("data rows have different numbers of columns", path=p)
    table = np.array(rows)
    counts = table[:, 1] * (table[:, 2] if table.shape[1] >= 3 else 1.0)
    _check_counts(table[:, 0], counts, p, "*RAS_INT")

    def num(key: str) -> float | None:
        try:
            return float(header[key])
        except (KeyError, ValueError):
            return None

    ka1, ka2 = num("HW_XG_WAVE_LENGTH_ALPHA1"), num("HW_XG_WAVE_LENGTH_ALPHA2")
    mono = " ".join(v for k, v in header.items() if "MONOCHRO" in k.upper() and v)
    if wavelength is not None:
        ka1, ka2, ratio = float(wavelength), None, 0.0 if ka2_ratio is None else float(ka2_ratio)
        src = "option: wavelength given by the user"
    elif ka1 is None:
        raise CorruptFileError(
            "no *HW_XG_WAVE_LENGTH_ALPHA1 in the header", path=p, hint="pass wavelength=... (Å)"
        )
    elif ka2_ratio is not None:
        ratio = float(ka2_ratio)
        src = "file wavelengths; Kα2 ratio given by the user"
    elif ka2 is None or abs(ka2 - ka1) < 1e-6:
        ratio, ka2 = 0.0, None
        src = f"file: Kα1 {ka1} Å, no distinct Kα2 (Kα1 only)"
    else:
        ratio = 0.5
        src = f"file: Kα1 {ka1} Å, Kα2 {ka2} Å; ratio 0.5 (the .ras header has no ratio)"
    attrs = _radiation_attrs(ka1, ka2, ratio, src, monochromator=mono, path=p)
    attrs["instrument"] = "Rigaku (ras)"
    return make_spectrum(
        table[:, 0], counts, axis="two_theta", technique="xrd", metadata=header, attrs=attrs
    )


for _reader in (
    Reader(
        name="xrd-brml",
        technique="xrd",
        description="Bruker DIFFRAC.SUITE .brml (zip of XML)",
        extensions=(".brml",),
        sniff=_sniff_brml,
        read=read_brml,
        options=("wavelength", "ka2_ratio"),
    ),
    Reader(
        name="xrd-bruker-raw",
        technique="xrd",
        description="Bruker DIFFRAC.plus RAW v4 binary (RAW1.01)",
        extensions=(".raw",),
        sniff=_sniff_raw4,
        read=read_bruker_raw,
        options=("wavelength", "ka2_ratio", "scan_range"),
    ),
    Reader(
        name="xrd-gsas",
        technique="xrd",
        description="GSAS standard powder file (BANK ... CONST, STD/ESD) with its .prm",
        extensions=(".xra", ".gsa", ".gss", ".raw", ".fxye"),
        sniff=_sniff_gsas,
        read=read_gsas_std,
        options=("wavelength", "ka2_ratio", "instrument_file"),
    ),
    Reader(
        name="xrd-xrdml",
        technique="xrd",
        description="PANalytical .xrdml (XML)",
        extensions=(".xrdml",),
        sniff=_sniff_xrdml,
        read=read_xrdml,
        options=("wavelength", "ka2_ratio", "scan_range"),
    ),
    Reader(
        name="xrd-ras",
        technique="xrd",
        description="Rigaku .ras text export",
        extensions=(".ras",),
        sniff=_sniff_ras,
        read=read_ras,
        options=("wavelength", "ka2_ratio"),
    ),
):
    register_reader(_reader)
