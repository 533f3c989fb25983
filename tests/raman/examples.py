"""Example files for the reader contract tests (tests/core/test_readers.py)."""

from __future__ import annotations

from pathlib import Path

from charact.raman.io import write_text_spectrum
from charact.raman.synthetic import si_carbon_spectrum


def _text(folder: Path) -> Path:
    return write_text_spectrum(si_carbon_spectrum("pristine")[0], folder / "ex.txt")


EXAMPLES = {"raman-text": _text}
