"""Example files for the reader contract tests (tests/core/test_readers.py)."""

from __future__ import annotations

from pathlib import Path

from charact.raman.io import write_map_long, write_map_wide, write_spc, write_text_spectrum
from charact.raman.synthetic import si_carbon_spectrum, synthetic_map
from tests.raman.vendor_files import write_labspec_xml, write_wdf


def _text(folder: Path) -> Path:
    return write_text_spectrum(si_carbon_spectrum("pristine")[0], folder / "ex.txt")


def _map_long(folder: Path) -> Path:
    cube, _ = synthetic_map(3, 4, missing=1, raman_shift=None)
    return write_map_long(cube.isel(raman_shift=slice(0, None, 8)), folder / "map_long.txt")


def _map_wide(folder: Path) -> Path:
    cube, _ = synthetic_map(3, 4, raman_shift=None)
    return write_map_wide(cube.isel(raman_shift=slice(0, None, 8)), folder / "map_wide.txt")


def _spc(folder: Path) -> Path:
    return write_spc(si_carbon_spectrum("cycled-100")[0], folder / "ex.spc", comment="532 nm")


def _wdf(folder: Path) -> Path:
    da = si_carbon_spectrum("pristine")[0]
    return write_wdf(folder / "ex.wdf", da["raman_shift"].values, da.values[None])


def _labspec_xml(folder: Path) -> Path:
    da = si_carbon_spectrum("cycled-100")[0]
    return write_labspec_xml(folder / "ex.xml", da["raman_shift"].values, da.values)


EXAMPLES = {
    "raman-text": _text,
    "raman-map-long": _map_long,
    "raman-map-wide": _map_wide,
    "raman-spc": _spc,
    "raman-wdf": _wdf,
    "raman-labspec-xml": _labspec_xml,
}
