"""Example files for the reader contract tests (tests/core/test_readers.py)."""

from __future__ import annotations

from pathlib import Path

import charact.sem  # noqa: F401  (registers the SEM readers until the entry point exists)
from charact.sem.synthetic import particle_image, write_fei_tiff, write_png


def _fei(folder: Path) -> Path:
    img, _truth = particle_image(shape=(120, 160), n=12, databar_rows=30, bar_px=50, seed=3)
    return write_fei_tiff(img, folder / "ex_fei.tif", pixel_size_nm=12.5, scan_rows=120)


def _png(folder: Path) -> Path:
    img, _ = particle_image(shape=(100, 140), n=10, seed=4)
    return write_png(img, folder / "ex.png")


EXAMPLES = {"sem-tiff": _fei, "sem-image": _png}
