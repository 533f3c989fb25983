"""Small, strict parsing of physical lengths written by people and instruments.

``parse_length("4.47nm")``, ``parse_length("0.5 µm")``, ``parse_length("1e-9 m")`` and
``parse_length("500 pm")`` all return metres. The grammar is deliberately narrow: a decimal
number (optionally with an exponent), optional spaces, and one length unit from
:data:`LENGTH_UNITS`. Anything else (a missing unit, an unknown unit, two numbers, a negative
or zero length) raises :class:`~charact.core.errors.InputError` naming what was given, so a
mistyped ``--pixel-size 4.47mn`` never silently becomes something else.

It is dependency-free on purpose: pint would also accept expressions such as ``"4 nm * 2"``
or ``"4 nm/s"`` that have no place in a length option, and lengths are all we need here.
"""

from __future__ import annotations

import math
import re

from .errors import InputError

__all__ = ["LENGTH_UNITS", "format_length", "parse_length"]

#: Accepted unit spellings and their size in metres. ``u``/``um``/``micron`` are the ASCII
#: spellings of µm; both the micro sign (U+00B5) and Greek mu (U+03BC) are accepted.
LENGTH_UNITS: dict[str, float] = {
    "m": 1.0,
    "mm": 1e-3,
    "µm": 1e-6,
    "μm": 1e-6,
    "um": 1e-6,
    "micron": 1e-6,
    "microns": 1e-6,
    "nm": 1e-9,
    "pm": 1e-12,
    "fm": 1e-15,
    "å": 1e-10,
    "angstrom": 1e-10,
    "cm": 1e-2,
}

_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_LENGTH = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>[A-Za-zµμÅå]+)?\s*$")


def parse_length(
    text: str | float | int,
    *,
    default_unit: str | None = None,
    what: str = "length",
    allow_zero: bool = False,
) -> float:
    """Parse a length such as ``"4.47nm"`` or ``"0.5 µm"`` and return it in metres.

    Parameters
    ----------
    text
        The length as written. A bare number is only accepted when ``default_unit`` is
        given (``parse_length(4.47, default_unit="nm")``).
    default_unit
        Unit of a bare number; ``None`` (default) makes a unit mandatory.
    what
        Name of the option or field, used in error messages (``"--pixel-size"``).
    allow_zero
        Accept 0 (otherwise lengths must be strictly positive).

    Returns
    -------
    float
        The length in metres.

    Raises
    ------
    InputError
        For an empty string, a missing or unknown unit, a non-finite, negative or zero value.

    Examples
    --------
    >>> parse_length("4.47nm")
    4.47e-09
    >>> parse_length("500 pm") == 5e-10
    True
    """
    if isinstance(text, bool):
        raise InputError(f"{what}: expected a length such as '4.47nm', got {text!r}")
    if isinstance(text, int | float):
        if default_unit is None:
            raise InputError(
                f"{what}: {text!r} has no unit; write it with one, e.g. '{text}nm' or '{text}um'"
            )
        number, unit = float(text), default_unit
    else:
        match = _LENGTH.match(str(text))
        if match is None:
            raise InputError(
                f"{what}: cannot read {text!r} as a length; expected a number and a unit "
                f"such as '4.47nm', '0.5 µm', '2um', '1e-9 m' or '500 pm'"
            )
        number = float(match["num"].replace(",", "."))
        unit = match["unit"] or default_unit
        if unit is None:
            raise InputError(
                f"{what}: {text!r} has no unit; write it with one, e.g. '{text.strip()}nm'"
            )
    key = unit if unit in LENGTH_UNITS else unit.lower()
    if key not in LENGTH_UNITS:
        known = ", ".join(sorted({u for u in LENGTH_UNITS if u.isascii()}))
        raise InputError(f"{what}: unknown length unit {unit!r} in {text!r}; known: {known}, µm")
    value = number * LENGTH_UNITS[key]
    if not math.isfinite(value):
        raise InputError(f"{what}: {text!r} is not a finite length")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(f"{what}: expected a positive length, got {text!r}")
    return value


def format_length(metres: float, *, digits: int = 4) -> str:
    """Write a length in metres with a readable unit (``4.466 nm``, ``2.615 µm``)."""
    if not math.isfinite(metres):
        return str(metres)
    for unit, size in (("mm", 1e-3), ("µm", 1e-6), ("nm", 1e-9)):
        if abs(metres) >= size:
            return f"{metres / size:.{digits}g} {unit}"
    return f"{metres / 1e-12:.{digits}g} pm"
