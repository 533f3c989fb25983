"""Example files for the reader contract tests (tests/core/test_readers.py).

Generated files for the formats whose writers we have (text, .xrdml, .ras); the real
instrument files of ../shared/data/xrd for the binary and vendor formats (skipped when that
folder is absent).
"""

from __future__ import annotations

from pathlib import Path

from charact.xrd.io import write_xy
from charact.xrd.synthetic import ras_text, synthetic_pattern, xrdml_text
from tests.conftest import shared_file


def _xy(folder: Path) -> Path:
    return write_xy(synthetic_pattern({"Si": 1.0, "Cu": 0.5})[0], folder / "ex.xy")


def _xrdml(folder: Path) -> Path:
    p = folder / "ex.xrdml"
    p.write_text(xrdml_text(synthetic_pattern({"Si": 1.0})[0]), encoding="utf-8")
    return p


def _ras(folder: Path) -> Path:
    p = folder / "ex.ras"
    p.write_bytes(ras_text(synthetic_pattern({"Si": 1.0})[0]).encode("latin-1"))
    return p


def _brml(folder: Path) -> Path:
    return shared_file("xrd", "Si-Std_SRM640d_D8D_20-97_7_16hm.brml")


def _raw(folder: Path) -> Path:
    return shared_file("xrd", "gsas2tut_LaB6_Jan2018.raw")


def _gsas(folder: Path) -> Path:
    return shared_file("xrd", "gsas2tut_FAP.XRA")


EXAMPLES = {
    "xrd-xy": _xy,
    "xrd-xrdml": _xrdml,
    "xrd-ras": _ras,
    "xrd-brml": _brml,
    "xrd-bruker-raw": _raw,
    "xrd-gsas": _gsas,
}
