"""Small, valid vendor files of known content, written from the published format descriptions.

- Renishaw WDF: a 512-byte ``WDF1`` header, then blocks of ``<id u32, uid u32, size u64>``
  headers (the size includes the 16 header bytes): ``XLST`` (data type, unit, float32 axis),
  ``YLST``, ``DATA`` (float32 spectra, one after the other), ``ORGN`` (count, then per origin a
  24-byte header — type with the 0x80000000 "primary" bit, unit, 16-byte label — and one
  float64 per spectrum) and ``WMAP`` (map area). Layout as documented by Renishaw's
  renishaw-wdf package (Apache-2.0, ``wdf/wdf.py`` ``WdfHeader``/``WdfBlock``/``MapArea`` and
  ``wdf/origin.py``); the bytes here are packed by our own code.
- Horiba LabSpec XML: an ``LSX_Tree`` of ``LSX`` elements identified by their ``ID``
  attribute (metadata, axes) and an ``LSX_Matrix`` of ``LSX_Row`` spectra, with the IDs that
  rosettasciio's Jobin Yvon reader documents (``rsciio/jobinyvon/_api.py``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_HEADER = struct.Struct("<IIQQ16s12xIIIQQIIII24s4HIIQQIf48x32s160s48x32x32x")
_BLOCK = struct.Struct("<IIQ")
WDF1, XLST, YLST, DATA, ORGN, WMAP = (
    0x31464457,
    0x54534C58,
    0x54534C59,
    0x41544144,
    0x4E47524F,
    0x50414D57,
)
_PRIMARY = 0x80000000


def _block(block_id: int, payload: bytes, uid: int = 0) -> bytes:
    return _BLOCK.pack(block_id, uid, _BLOCK.size + len(payload)) + payload


def write_wdf(
    path: Path,
    shift: np.ndarray,
    spectra: np.ndarray,
    *,
    xy_um: tuple[np.ndarray, np.ndarray] | None = None,
    laser_nm: float = 532.0,
    ncollected: int | None = None,
    x_unit: int = 1,
    title: str = "charact test",
    map_shape: tuple[int, int] | None = None,
    truncate: int = 0,
) -> Path:
    """Write ``spectra`` (``(n, npoints)``) on ``shift`` as a WDF1 file.

    ``xy_um`` gives the stage X and Y of every spectrum (µm) as an ``ORGN`` block; the axis is
    stored high to low, as WiRE stores it. ``truncate`` drops that many bytes at the end.
    """
    spectra = np.atleast_2d(np.asarray(spectra, np.float32))
    n, npts = spectra.shape
    axis = np.asarray(shift, np.float32)[::-1]
    spectra = spectra[:, ::-1]
    body = _block(XLST, struct.pack("<II", 19, x_unit) + axis.tobytes())
    body += _block(YLST, struct.pack("<II", 0, 0) + np.float32([0.0]).tobytes())
    body += _block(DATA, np.ascontiguousarray(spectra).tobytes())
    wtype = 1
    if xy_um is not None:
        wtype = 3
        orgn = struct.pack("<I", 2)
        for code, label, values in ((3, b"X", xy_um[0]), (4, b"Y", xy_um[1])):
            orgn += struct.pack("<II16s", code | _PRIMARY, 5, label)
            orgn += np.asarray(values, "<f8").tobytes()
        body += _block(ORGN, orgn)
        if map_shape is not None:
            ny, nx = map_shape
            xs, ys = np.unique(xy_um[0]), np.unique(xy_um[1])
            step = (xs[1] - xs[0] if nx > 1 else 1.0, ys[1] - ys[0] if ny > 1 else 1.0, 0.0)
            body += _block(
                WMAP,
                struct.pack("<II3f3f3LI", 0, 0, xs[0], ys[0], 0.0, *step, nx, ny, 1, 0),
            )
    head = _HEADER.pack(
        WDF1,
        1,
        512,
        0,
        b"\x00" * 16,
        1,
        0,
        npts,
        n,
        n if ncollected is None else ncollected,
        1,
        1,
        npts,
        2 if xy_um is not None else 0,
        b"WiRE",
        5,
        6,
        0,
        0,
        2 if xy_um is not None else 1,
        wtype,
        0,
        0,
        6,
        1e7 / laser_nm if laser_nm else 0.0,
        b"tester",
        title.encode(),
    )
    data = head + body
    path.write_bytes(data[: len(data) - truncate] if truncate else data)
    return path


def _entry(key: str, value: str, second: str | None = None) -> str:
    out = f'<LSX Format="9" ID="0x1" Size="3"><LSX Format="7" ID="0x6D6D616E">{key}</LSX>'
    out += f'<LSX Format="7" ID="0x7D6C61DB">{value}</LSX>'
    if second is not None:
        out += f'<LSX Format="5" ID="0x8736F70">{second}</LSX>'
    return out + "</LSX>"


def _axis(axis_id: str, name: str, units: str, values: np.ndarray) -> str:
    vals = " ".join(f"{v:.6f}" for v in values)
    return (
        f'<LSX Format="9" ID="{axis_id}" Size="3">'
        f'<LSX Format="7" ID="0x6D707974">{name}</LSX>'
        f'<LSX Format="7" ID="0x7C696E75">{units}</LSX>'
        f'<LSX Format="8" ID="0x7D6CD4DB" Size="{len(values)}">{vals}</LSX></LSX>'
    )


def write_labspec_xml(
    path: Path,
    shift: np.ndarray,
    spectra: np.ndarray,
    *,
    xs: np.ndarray | None = None,
    ys: np.ndarray | None = None,
    laser_nm: float = 632.817,
) -> Path:
    """Write a LabSpec XML export: one spectrum, or a map (rows y, columns x, x fastest).

    The axis is written high to low (LabSpec's order for Raman shift).
    """
    spectra = np.atleast_2d(np.asarray(spectra, float))[:, ::-1]
    axis = np.asarray(shift, float)[::-1]
    meta = (
        '<LSX Format="9" ID="0x6C62D4D9">'
        '<LSX Format="9" ID="0x7CECDBD7">' + _entry("Acquired", "01.02.2026 10:00:00") + "</LSX>"
        '<LSX Format="9" ID="0x8716361">'
        + _entry("Acq. time (s)", "10")
        + _entry("Accumulations", "2")
        + _entry("Laser (nm)", f"{round(laser_nm)} ", f"{laser_nm}")
        + _entry("ND Filter", "10 %", "10")
        + _entry("Hole", "100")
        + _entry("Grating", "600 gr/mm", "600")
        + _entry("Instrument", "LabRAM HR Evolution")
        + "</LSX>"
        '<LSX Format="9" ID="0x7C73E2D2">' + _entry("Sample", "MSiC-P01") + "</LSX>"
        "</LSX>"
    )
    axes = '<LSX Format="9" ID="0x0"><LSX Format="7" ID="0x6D707974">Intens</LSX>'
    axes += '<LSX Format="7" ID="0x7C696E75">Cnt</LSX></LSX>'
    axes += _axis("0x1", "Spectr", "1/cm", axis)
    kind = "Spectrum"
    if xs is not None:
        kind = "Map"
        axes += _axis("0x2", "X", "µm", xs)
        axes += _axis("0x3", "Y", "µm", ys)
    tree = (
        "<LSX_Tree>"
        + meta
        + '<LSX Format="7" ID="0x6C7469D9">charact test</LSX>'
        + f'<LSX Format="7" ID="0x6D707974">{kind}</LSX>'
        + '<LSX Format="9" ID="0x7A74D9D6"><LSX Format="9" ID="0x7B697861">'
        + axes
        + "</LSX></LSX></LSX_Tree>"
    )
    rows = "".join(
        f'<LSX_Row ID="0x{k:X}" Size="{row.size}">'
        + " ".join(f"{v:.4f}" for v in row)
        + "</LSX_Row>"
        for k, row in enumerate(spectra)
    )
    text = f'<?xml version="1.0"?>\n<LSX_Root>{tree}<LSX_Matrix>{rows}</LSX_Matrix></LSX_Root>\n'
    path.write_text(text, encoding="utf-8")
    return path
