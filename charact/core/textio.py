"""Plain-text numeric tables: the columns-of-numbers files every instrument can export.

One parser serves the XRD ``.xy``, Raman two-column exports, XPS BE/intensity CSV and
electrochemistry CSV readers: it finds where the numbers start, the delimiter (comma, tab,
semicolon or whitespace), a decimal comma, the header lines above the data and the column
names in the last of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, InputError

__all__ = ["NumericTable", "parse_numeric_table", "read_numeric_table", "sniff_numeric_table"]

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(rf"^\s*{_NUM}\s*$")
_NONFINITE_RE = re.compile(r"^[-+]?(?:nan|inf|infinity)$", re.IGNORECASE)
_COMMENT = ("#", "%", "!", ";", "//", "*")


@dataclass
class NumericTable:
    """A parsed table.

    Attributes
    ----------
    data
        ``(rows, columns)`` float array.
    columns
        Column names from the header line just above the data, or ``col0``, ``col1`` …
    header
        Every line above the data, verbatim (stripped of the line end).
    delimiter
        ``","``, ``"\\t"``, ``";"`` or ``None`` for whitespace.
    first_data_line
        1-based line number of the first data row.
    """

    data: np.ndarray
    columns: list[str]
    header: list[str] = field(default_factory=list)
    delimiter: str | None = None
    first_data_line: int = 1


def _split(line: str, delimiter: str | None) -> list[str]:
    parts = line.split(delimiter) if delimiter else line.split()
    return [p.strip() for p in parts]


def _is_number(s: str, decimal_comma: bool = False) -> bool:
    if decimal_comma:
        s = s.replace(",", ".")
    return bool(_NUM_RE.match(s))


def _detect(lines: list[str]) -> tuple[int, str | None, bool, int] | None:
    """Find (first data line index, delimiter, decimal comma, n columns) or None."""
    candidates: list[tuple[str | None, bool]] = [
        ("\t", False),
        ("\t", True),
        (";", True),
        (";", False),
        (",", False),
        (None, False),
        (None, True),
    ]
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(_COMMENT):
            continue
        for delim, dec_comma in candidates:
            parts = [p for p in _split(stripped, delim) if p != ""]
            if len(parts) < 1 or not all(_is_number(p, dec_comma) for p in parts):
                continue
            # Confirm with the next row: a lone numeric line among text (a date, a serial
            # number) is not the data. Ragged rows are left to the parser to report.
            following = [ln.strip() for ln in lines[i + 1 : i + 2] if ln.strip()]
            if not following or all(
                _is_number(p, dec_comma) or _NONFINITE_RE.match(p)
                for p in _split(following[0], delim)
                if p != ""
            ):
                return i, delim, dec_comma, len(parts)
    return None


def sniff_numeric_table(
    head: bytes, *, min_columns: int = 2, max_columns: int = 64
) -> tuple[np.ndarray, list[str]] | None:
    """Parse the numeric rows inside ``head`` (the first bytes of a file) for sniffing.

    Returns ``(data, header_lines)`` with the complete rows found, or None when ``head`` does
    not look like a numeric text table with ``min_columns``..``max_columns`` columns.
    """
    if b"\x00" in head[:1024]:
        return None  # binary
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.splitlines()
    if len(head) >= 1024 and lines:
        lines = lines[:-1]  # the last line may be cut off mid-number
    try:
        table = parse_numeric_table(lines, min_columns=min_columns)
    except CorruptFileError:
        return None
    if table.data.shape[1] > max_columns:
        return None
    return table.data, table.header


def parse_numeric_table(
    lines: list[str], *, min_columns: int = 2, source: str | PathLike[str] | None = None
) -> NumericTable:
    """Parse text lines into a :class:`NumericTable`.

    Data rows end at the first line that is not numeric (a trailing footer is ignored).

    Raises
    ------
    CorruptFileError
        No numeric rows, too few columns, or ragged rows.
    """
    found = _detect(lines)
    if found is None:
        raise CorruptFileError("found no rows of numbers", path=source)
    start, delim, dec_comma, ncols = found
    if ncols < min_columns:
        raise CorruptFileError(
            f"expected at least {min_columns} numeric columns, found {ncols} "
            f"(line {start + 1}: {lines[start].strip()[:60]!r})",
            path=source,
        )
    rows = []
    for lineno, ln in enumerate(lines[start:], start=start + 1):
        stripped = ln.strip()
        if not stripped:
            continue
        if stripped.startswith(_COMMENT):
            continue
        parts = [p for p in _split(stripped, delim) if p != ""]
        if not all(_is_number(p, dec_comma) for p in parts):
            bad = [p for p in parts if _NONFINITE_RE.match(p)]
            if bad and all(_is_number(p, dec_comma) or _NONFINITE_RE.match(p) for p in parts):
                # A NaN/inf inside the data is damage, not the start of a footer: truncating
                # there would silently drop the rest of the measurement.
                raise CorruptFileError(
                    f"line {lineno}: non-finite value {bad[0]!r} where a number was expected",
                    path=source,
                )
            break  # footer
        if len(parts) != ncols:
            raise CorruptFileError(
                f"line {lineno}: expected {ncols} columns, found {len(parts)}",
                path=source,
            )
        rows.append([float(p.replace(",", ".") if dec_comma else p) for p in parts])
    header = [h.rstrip("\r\n") for h in lines[:start]]
    columns = [f"col{i}" for i in range(ncols)]
    for h in reversed(header):
        text = h.strip().lstrip("#%!;*/ ").strip()
        if not text:
            continue
        names = [n for n in _split(text, delim) if n != ""]
        if delim is None and len(names) != ncols:
            names = [n for n in re.split(r"\s{2,}|\t", text) if n]
        if len(names) == ncols and not all(_is_number(n, dec_comma) for n in names):
            columns = names
        break
    return NumericTable(np.asarray(rows, dtype=float), columns, header, delim, start + 1)


def read_numeric_table(path: str | PathLike[str], *, min_columns: int = 2) -> NumericTable:
    """Read a text file of numeric columns (UTF-8, UTF-16 with BOM, or Latin-1)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=p) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return parse_numeric_table(text.splitlines(), min_columns=min_columns, source=p)
