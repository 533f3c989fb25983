"""Example files for the reader contract tests (tests/core/test_readers.py).

Real files from ../shared/data serve where one exists (see its MANIFEST.md); formats without a
public example file (LAND xlsx/xls/csv, Gamry .DTA) are written by charact's own generators.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import charact.echem  # noqa: F401  (registers the echem readers)
from charact.echem.land import write_land_xlsx
from charact.echem.synthetic import (
    cycling_record,
    write_biologic_mpt,
    write_eis_csv,
    write_gamry_dta,
)
from tests.conftest import shared_file
from tests.echem._helpers import rc_spectrum, write_arbin_xlsx, write_cycling_csv, write_maccor_txt


def _mpr(folder: Path) -> Path:
    pytest.importorskip("galvani")
    return shared_file("echem", "yadg", "gcpl.pr_182.1.mpr")


def _mpt(folder: Path) -> Path:
    cols, _ = cycling_record([1.0, 0.9], [0.8, 0.85], current_mA=0.5, points_per_half=20)
    return write_biologic_mpt(cols, folder / "gcpl.mpt")


def _ndax(folder: Path) -> Path:
    pytest.importorskip("NewareNDA")
    return shared_file("echem", "navani", "test.ndax")


def _land(folder: Path) -> Path:
    cols, _ = cycling_record([1.0, 0.9], [0.8, 0.85], current_mA=0.5, points_per_half=20)
    return write_land_xlsx(cols, folder / "land.xlsx", layout="index")


def _land_xls(folder: Path) -> Path:
    pytest.importorskip("xlrd")
    pytest.importorskip("xlwt")
    cols, _ = cycling_record([1.0, 0.9], [0.8, 0.85], current_mA=0.5, points_per_half=20)
    return write_land_xlsx(cols, folder / "land.xls", layout="record")


def _land_csv(folder: Path) -> Path:
    cols, _ = cycling_record([1.0, 0.9], [0.8, 0.85], current_mA=0.5, points_per_half=20)
    return write_land_xlsx(cols, folder / "land.csv", layout="index")


def _eis_csv(folder: Path) -> Path:
    f, z = rc_spectrum()
    return write_eis_csv(f, z, folder / "eis.csv")


def _dta(folder: Path) -> Path:
    f, z = rc_spectrum()
    return write_gamry_dta(f, z, folder / "eis.DTA")


EXAMPLES = {
    "echem-biologic-mpr": _mpr,
    "echem-biologic-mpt": _mpt,
    "echem-arbin-xlsx": write_arbin_xlsx,
    "echem-neware-ndax": _ndax,
    "echem-maccor-txt": write_maccor_txt,
    "echem-csv": write_cycling_csv,
    "echem-eis-text": _eis_csv,
    "echem-gamry-dta": _dta,
    "echem-land-xlsx": _land,
    "echem-land-xls": _land_xls,
    "echem-land-csv": _land_csv,
}
