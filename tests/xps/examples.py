"""Example files for the reader contract tests (tests/core/test_readers.py).

Generated files for the VAMAS and plain-text readers, real Avantage exports from
../shared/data/xps for the Avantage readers (skipped when that folder is absent).
"""

from __future__ import annotations

from pathlib import Path

from charact.xps.io import write_vamas
from charact.xps.synthetic import synthetic_depth_profile
from tests.conftest import shared_file


def _vamas(folder: Path) -> Path:
    ds, _ = synthetic_depth_profile(etch_times=(0.0, 60.0), shifts=(0.0, 0.3))
    return write_vamas(ds, folder / "profile.vms")


def _text(folder: Path) -> Path:
    path = folder / "c1s.csv"
    rows = "".join(f"{280 + 0.1 * i:.2f},{100 + (i % 7) * 3}\n" for i in range(150))
    path.write_text("Binding Energy (eV),C 1s\n" + rows, encoding="utf-8")
    return path


def _avantage_csv(folder: Path) -> Path:
    return shared_file("xps", "theoechem_TFSI_IL_on_Au", "20240228_Au_MPPipTFSIIol3_F_1s.csv")


def _avantage_xlsx(folder: Path) -> Path:
    return shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx")


def _phi(folder: Path) -> Path:
    return shared_file("xps", "pynxtools_xps", "SnO2_10nm.spe")


EXAMPLES = {
    "xps-phi": _phi,
    "xps-vamas": _vamas,
    "xps-text": _text,
    "xps-avantage-csv": _avantage_csv,
    "xps-avantage-xlsx": _avantage_xlsx,
}
