"""The samples manifest: ``samples.csv`` (or ``samples.toml``), one row per sample.

Columns (CSV header names; TOML keys are the same):

=============  ==============================================================
``sample_id``  required; letters, digits and ``. _ - +``, no spaces, unique
``description`` free text
``state``      pristine, formed, cycled, reference … (free, stored lower-case)
``cycles``     number of cycles the sample has seen (integer ≥ 0)
``parent``     sample ID this one was cut/derived from
``files``      files of this sample, relative to the project, ``;``-separated; globs allowed
               (also accepted as ``file``)
anything else  kept as the sample's free columns (numbers parsed: ``mass_mg``, ``area_cm2`` …)
=============  ==============================================================

Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..core.errors import DuplicateSampleError, ManifestError, UnknownSampleError, close_matches

__all__ = [
    "KNOWN_COLUMNS",
    "SAMPLE_ID_RE",
    "Sample",
    "check_sample_id",
    "read_manifest",
    "write_empty_manifest",
]

SAMPLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
KNOWN_COLUMNS = ("sample_id", "description", "state", "cycles", "parent", "files")
_STATES_HINT = "pristine, formed, cycled, reference"


@dataclass
class Sample:
    """One row of the manifest.

    ``where`` says where it was defined (``"samples.csv line 3"``) for error messages.
    """

    sample_id: str
    description: str = ""
    state: str = ""
    cycles: int | None = None
    parent: str | None = None
    files: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    where: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample_id,
            "description": self.description,
            "state": self.state,
            "cycles": self.cycles,
            "parent": self.parent,
            "files": list(self.files),
            "extra": dict(self.extra),
        }


def check_sample_id(value: str, *, where: str = "") -> str:
    """Return ``value`` stripped, or raise :class:`ManifestError` if it is malformed."""
    sid = value.strip()
    prefix = f"{where}: " if where else ""
    if not sid:
        raise ManifestError(f"{prefix}sample_id is empty")
    if not SAMPLE_ID_RE.match(sid):
        raise ManifestError(
            f"{prefix}sample ID {sid!r} is malformed: expected letters, digits, '.', '_', '-' "
            "or '+', starting with a letter or digit, at most 128 characters, no spaces"
        )
    return sid


def _parse_value(text: Any) -> Any:
    """Numbers in free columns become numbers; everything else stays as written."""
    if not isinstance(text, str):
        return text
    t = text.strip()
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    try:
        return float(t)
    except ValueError:
        return t


def _row_to_sample(row: dict[str, Any], where: str) -> Sample:
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    if "file" in row and "files" not in row:
        row["files"] = row.pop("file")
    if "sample_id" not in row:
        raise ManifestError(f"{where}: no sample_id")
    sid = check_sample_id(str(row.get("sample_id") or ""), where=where)
    cycles_raw = row.get("cycles")
    cycles = None
    if cycles_raw not in (None, ""):
        try:
            cycles = int(str(cycles_raw).strip())
            if cycles < 0:
                raise ValueError
        except ValueError:
            raise ManifestError(
                f"{where}: cycles of {sid!r} must be a whole number ≥ 0, found {cycles_raw!r}"
            ) from None
    files_raw = row.get("files") or []
    if isinstance(files_raw, str):
        files = [f.strip() for f in files_raw.split(";") if f.strip()]
    elif isinstance(files_raw, list):
        files = [str(f).strip() for f in files_raw if str(f).strip()]
    else:
        raise ManifestError(
            f"{where}: files of {sid!r} must be text or a list, found {files_raw!r}"
        )
    parent = str(row.get("parent") or "").strip() or None
    extra = {
        k: _parse_value(v)
        for k, v in row.items()
        if k not in KNOWN_COLUMNS and k != "file" and v not in (None, "")
    }
    return Sample(
        sample_id=sid,
        description=str(row.get("description") or "").strip(),
        state=str(row.get("state") or "").strip().lower(),
        cycles=cycles,
        parent=parent,
        files=files,
        extra=extra,
        where=where,
    )


def _read_csv(path: Path) -> list[Sample]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{path.name} is not UTF-8 text (byte {exc.start})", path=path
        ) from None
    # Keep physical line numbers for messages while skipping comment lines.
    numbered = [
        (i, ln)
        for i, ln in enumerate(text.splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not numbered:
        return []
    # Only the delimiter is sniffed (from the header): quoting follows the CSV standard
    # (RFC 4180: "" inside a quoted field is one "), which the sniffer cannot see in a header.
    try:
        delimiter = csv.Sniffer().sniff(numbered[0][1], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(
        io.StringIO("\n".join(ln for _, ln in numbered)), csv.excel, delimiter=delimiter
    )
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ManifestError(f"malformed CSV: {exc}", path=path) from None
    header = [h.strip() for h in rows[0]]
    if "sample_id" not in [h.lower() for h in header]:
        raise ManifestError(
            f"line {numbered[0][0]}: expected a header row with a 'sample_id' column, "
            f"found {', '.join(header) or 'nothing'}",
            path=path,
        )
    samples = []
    for (lineno, _), values in zip(numbered[1:], rows[1:], strict=False):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            raise ManifestError(
                f"line {lineno}: {len(values)} fields but the header has {len(header)}", path=path
            )
        row = dict(zip(header, values + [""] * (len(header) - len(values)), strict=True))
        samples.append(_row_to_sample(row, f"{path.name} line {lineno}"))
    return samples


def _read_toml(path: Path) -> list[Sample]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"malformed TOML: {exc}", path=path) from None
    rows = doc.get("sample", doc.get("samples", []))
    if not isinstance(rows, list):
        raise ManifestError("expected [[sample]] tables", path=path)
    return [_row_to_sample(dict(r), f"{path.name} sample #{i}") for i, r in enumerate(rows, 1)]


def read_manifest(path: str | PathLike[str]) -> list[Sample]:
    """Read and validate a manifest (CSV or TOML by extension).

    Raises
    ------
    ManifestError
        Malformed file, sample ID or value; names the file and line.
    DuplicateSampleError
        A sample ID appears twice (also when differing only in case); names both rows.
    UnknownSampleError
        A ``parent`` is not in the manifest; lists close matches.
    """
    p = Path(path)
    if not p.is_file():
        raise ManifestError("manifest not found", path=p, hint="`charact init` writes an empty one")
    samples = _read_toml(p) if p.suffix.lower() == ".toml" else _read_csv(p)
    seen: dict[str, Sample] = {}
    for s in samples:
        other = seen.get(s.sample_id.lower())
        if other is not None:
            same = "the same" if other.sample_id == s.sample_id else "a case-variant of the same"
            raise DuplicateSampleError(
                f"{same} sample ID appears twice: {other.sample_id!r} at {other.where} and "
                f"{s.sample_id!r} at {s.where}",
                path=p,
            )
        seen[s.sample_id.lower()] = s
    ids = [s.sample_id for s in samples]
    for s in samples:
        if s.parent is None:
            continue
        if s.parent not in ids:
            hits = close_matches(s.parent, ids)
            raise UnknownSampleError(
                f"{s.where}: parent {s.parent!r} of {s.sample_id!r} is not in the manifest",
                path=p,
                hint=f"did you mean {', '.join(map(repr, hits))}?" if hits else None,
            )
    by_id = {s.sample_id: s for s in samples}
    for s in samples:  # a parent chain must end
        chain, cur = [s.sample_id], s.parent
        while cur is not None:
            if cur in chain:
                raise ManifestError(
                    f"{s.where}: parent chain loops: {' -> '.join([*chain, cur])}", path=p
                )
            chain.append(cur)
            cur = by_id[cur].parent
    return samples


_TEMPLATE = """\
# charact samples manifest: one row per sample. Lines starting with # are comments.
# sample_id   required; letters, digits, '.', '_', '-', '+' (e.g. MSiC-P01, MSiC-C500)
# state       {states}
# cycles      cycles the sample has seen; parent: the sample it was cut from
# files       files of this sample relative to the project, ';'-separated, globs allowed;
#             leave empty to link files by the filename patterns in charact.toml
# Add any other columns you need (mass_mg, area_cm2, thickness_um ...): they are kept.
sample_id,description,state,cycles,parent,files
"""


def write_empty_manifest(path: str | PathLike[str]) -> Path:
    """Write a commented manifest with only the header row."""
    from ..core.store import atomic_write

    with atomic_write(path) as fh:
        fh.write(_TEMPLATE.format(states=_STATES_HINT))
    return Path(path)
