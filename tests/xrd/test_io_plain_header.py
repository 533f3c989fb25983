"""Plain-text patterns that state their wavelength in a header line."""

from __future__ import annotations

import numpy as np
import pytest

import charact
from charact.xrd.io import write_xy
from charact.xrd.synthetic import synthetic_pattern


@pytest.mark.parametrize(
    "line",
    ["# Wavelength = 1.5406 A", "# wavelength (Å): 1.5406", "! lambda 1.5406", "# λ=1.5406Å"],
)
def test_header_wavelength_is_read_and_its_source_stated(tmp_path, line):
    p = tmp_path / "p.xy"
    x = np.arange(20, 30, 0.02)
    p.write_text(line + "\n" + "\n".join(f"{a:.2f} {100 + a:.1f}" for a in x) + "\n")
    da = charact.read(p)
    assert da.attrs["wavelength"] == pytest.approx(1.5406)
    assert da.attrs["radiation_source"].startswith("file header")


def test_write_xy_round_trips_the_wavelength(tmp_path):
    pattern, _ = synthetic_pattern({"Si": 1.0})
    back = charact.read(write_xy(pattern, tmp_path / "s.xy"))
    assert back.attrs["wavelength"] == pytest.approx(pattern.attrs["wavelength"], abs=1e-7)


def test_explicit_option_wins_over_the_header(tmp_path):
    pattern, _ = synthetic_pattern({"Si": 1.0})
    p = write_xy(pattern, tmp_path / "s.xy")
    da = charact.read(p, wavelength=0.7093)
    assert da.attrs["wavelength"] == pytest.approx(0.7093)
