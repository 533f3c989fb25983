"""The strict length parser behind options such as --pixel-size."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charact.core.errors import InputError
from charact.core.units import format_length, parse_length


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("4.47nm", 4.47e-9),
        ("0.5 µm", 0.5e-6),
        ("0.5 μm", 0.5e-6),  # Greek mu, as JEOL writes it
        ("2um", 2e-6),
        ("1e-9 m", 1e-9),
        ("500 pm", 5e-10),
        ("3 mm", 3e-3),
        (" 12.5 NM ", 12.5e-9),
        ("1,5 nm", 1.5e-9),  # decimal comma
        (".5nm", 0.5e-9),
        ("10 Å", 1e-9),
        ("2 microns", 2e-6),
    ],
)
def test_parse_length(text, metres):
    assert math.isclose(parse_length(text), metres, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("4.47", "has no unit"),
        ("4.47 mn", "unknown length unit 'mn'"),
        ("4 nm 5", "cannot read"),
        ("", "cannot read"),
        ("-3 nm", "positive"),
        ("0 nm", "positive"),
        ("nm", "cannot read"),
        ("4 nm/s", "cannot read"),
        ("4 kg", "unknown length unit"),
        ("inf nm", "cannot read"),
    ],
)
def test_parse_length_rejects(text, match):
    with pytest.raises(InputError, match=match):
        parse_length(text, what="--pixel-size")


def test_bare_numbers_need_a_default_unit():
    with pytest.raises(InputError, match="--pixel-size: 4.47 has no unit"):
        parse_length(4.47, what="--pixel-size")
    assert math.isclose(parse_length(4.47, default_unit="nm"), 4.47e-9)
    assert parse_length("0 nm", allow_zero=True) == 0.0
    with pytest.raises(InputError):
        parse_length(True)


def test_format_length():
    assert format_length(4.466e-9) == "4.466 nm"
    assert format_length(2.615e-6) == "2.615 µm"
    assert format_length(5e-13) == "0.5 pm"


@given(
    value=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(["m", "mm", "um", "µm", "nm", "pm"]),
    space=st.sampled_from(["", " ", "  "]),
)
def test_parse_length_round_trips_any_number_and_unit(value, unit, space):
    factor = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9, "pm": 1e-12}[unit]
    assert math.isclose(parse_length(f"{value!r}{space}{unit}"), value * factor, rel_tol=1e-12)
