"""Example files for the reader contract tests (tests/core/test_readers.py)."""

from __future__ import annotations

from pathlib import Path

from charact.xrd.io import write_xy
from charact.xrd.synthetic import synthetic_pattern


def _xy(folder: Path) -> Path:
    return write_xy(synthetic_pattern({"Si": 1.0, "Cu": 0.5})[0], folder / "ex.xy")


EXAMPLES = {"xrd-xy": _xy}
