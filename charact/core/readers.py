"""Reader registration and dispatch: from an instrument file to a measurement.

A reader is a :class:`Reader` registered in :data:`~charact.core.registry.READERS`. It says
which technique it serves, which extensions it usually sees, how sure it is that a file is
its format from the first bytes (:meth:`Reader.sniff`), and how to read it.

Dispatch order (:func:`find_reader`): an explicit format name, then content sniffing, then
the extension. The extension alone never wins against content: a ``.txt`` that is a VAMAS
file is read as VAMAS. When two techniques' readers are equally sure (a plain two-column text
file could be an XRD pattern or a Raman spectrum) the caller must say which technique —
charact does not guess.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import xarray as xr

from .data import TECHNIQUES, validate_measurement
from .errors import CharactError, CorruptFileError, InputError, UnknownFormatError
from .provenance import charact_version, sha256_file
from .registry import READERS

__all__ = [
    "HEAD_BYTES",
    "Reader",
    "detect_format",
    "find_reader",
    "formats_markdown",
    "list_formats",
    "read",
    "read_head",
    "register_reader",
    "sidecar_map",
    "sniff_scores",
]

#: How many leading bytes are given to :meth:`Reader.sniff`.
HEAD_BYTES = 8192

Measurement = xr.DataArray | xr.Dataset


@dataclass(frozen=True)
class Reader:
    """A file-format reader.

    Parameters
    ----------
    name
        Registry name, ``"<technique>-<format>"`` by convention (``"xrd-xrdml"``).
    technique
        One of :data:`~charact.core.data.TECHNIQUES`.
    description
        The format in words, for ``charact formats`` and the docs.
    extensions
        Lower-case extensions with the dot (``(".xy", ".xye")``).
    sniff
        ``sniff(head, path) -> float`` in [0, 1]: 1 for a magic number or an unmistakable
        header, a fraction for "plausible", 0 for "not mine". ``head`` is the first
        :data:`HEAD_BYTES` bytes.
    read
        ``read(path, **options) -> DataArray | Dataset``. Raise
        :class:`~charact.core.errors.CorruptFileError` with the place and what was expected
        when the content is broken; any other exception is wrapped into one by :func:`read`.
    options
        Keyword options ``read`` accepts (anything else is refused with a clear message).
    sidecars
        Extensions of companion files with the same stem that the reader reads together with
        the data file (a JEOL ``.txt`` beside its ``.tif``). Ingest treats them as part of the
        measurement instead of as files of their own.
    """

    name: str
    technique: str
    description: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, Path], float]
    read: Callable[..., Measurement]
    options: tuple[str, ...] = field(default=())
    sidecars: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.technique not in TECHNIQUES:
            raise InputError(
                f"reader {self.name!r}: technique {self.technique!r} not in {TECHNIQUES}"
            )


def register_reader(reader: Reader, *, replace: bool = False) -> Reader:
    """Register ``reader`` in the shared reader registry and return it."""
    return READERS.register(reader.name, reader, replace=replace)


def read_head(path: str | PathLike[str], n: int = HEAD_BYTES) -> bytes:
    """Return the first ``n`` bytes of a file (raising a clear error for a missing file)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except FileNotFoundError:
        raise InputError("no such file", path=p) from None
    except IsADirectoryError:
        raise InputError("expected a file, found a directory", path=p) from None
    except PermissionError:
        raise InputError("permission denied when reading the file", path=p) from None


def _candidates(technique: str | None) -> list[Reader]:
    if technique is not None and technique not in TECHNIQUES:
        raise InputError(f"technique must be one of {TECHNIQUES}, got {technique!r}")
    return [r for r in READERS.values() if technique is None or r.technique == technique]


def sniff_scores(
    path: str | PathLike[str], *, technique: str | None = None, head: bytes | None = None
) -> list[tuple[float, Reader]]:
    """Every candidate reader with its sniff score, best first (ties by name)."""
    p = Path(path)
    head = read_head(p) if head is None else head
    scores = []
    for reader in _candidates(technique):
        try:
            score = float(reader.sniff(head, p))
        except Exception:  # a sniffer that chokes on foreign bytes just says "not mine"
            score = 0.0
        scores.append((max(0.0, min(1.0, score)), reader))
    scores.sort(key=lambda t: (-t[0], t[1].name))
    return scores


def detect_format(
    path: str | PathLike[str],
    *,
    format: str | None = None,
    technique: str | None = None,
    head: bytes | None = None,
) -> tuple[Reader, str]:
    """Choose the reader for a file and say on what basis.

    Returns
    -------
    (Reader, str)
        The reader and ``"format"`` (named explicitly), ``"content"`` (sniffed) or
        ``"extension"`` (no sniffer was sure; the extension names a single technique).

    Raises
    ------
    UnknownFormatError
        When no reader accepts the file, or readers of different techniques are equally
        sure; the message lists what was tried.
    """
    p = Path(path)
    if format is not None:
        reader = READERS.get(format)
        if technique is not None and reader.technique != technique:
            raise InputError(f"format {format!r} is a {reader.technique} reader, not {technique}")
        return reader, "format"
    scores = sniff_scores(p, technique=technique, head=head)
    if not scores:
        what = f"{technique} readers" if technique else "readers"
        raise UnknownFormatError(f"no {what} are registered yet", path=p)
    best = scores[0][0]
    if best > 0:
        top = [r for s, r in scores if s == best]
        if len({r.technique for r in top}) > 1:
            names = ", ".join(f"{r.name} ({r.technique})" for r in top)
            raise UnknownFormatError(
                f"content fits readers of several techniques equally well: {names}",
                path=p,
                hint="say which technique (--technique, a technique folder such as xrd/, or "
                "{technique} in the filename pattern of charact.toml)",
            )
        return top[0], "content"
    ext = p.suffix.lower()
    by_ext = [r for _, r in scores if ext in r.extensions]
    if by_ext and len({r.technique for r in by_ext}) == 1:
        # Content did not convince anyone, but the extension is specific: let that reader try,
        # so a truncated or damaged file gets the reader's precise complaint.
        return by_ext[0], "extension"
    tried = ", ".join(r.name for _, r in scores)
    raise UnknownFormatError(
        f"no reader recognises this file (extension {ext or 'none'!r}; tried {tried})",
        path=p,
        hint="`charact formats` lists what charact reads; pass --format NAME to force one",
    )


def find_reader(
    path: str | PathLike[str],
    *,
    format: str | None = None,
    technique: str | None = None,
    head: bytes | None = None,
) -> Reader:
    """Choose the reader for a file: explicit ``format`` > content sniffing > extension.

    See :func:`detect_format`, which also says on what basis the reader was chosen.
    """
    return detect_format(path, format=format, technique=technique, head=head)[0]


def read(
    path: str | PathLike[str],
    *,
    format: str | None = None,
    technique: str | None = None,
    sample_id: str = "",
    measurement_id: str = "",
    **options: Any,
) -> Measurement:
    """Read an instrument file into a measurement that follows the data conventions.

    Parameters
    ----------
    path
        The file; it is only ever opened for reading.
    format
        A reader name from ``charact formats``; sniffed from the content when omitted.
    technique
        Restrict the readers tried to one technique.
    sample_id, measurement_id
        Stored in the attrs (and in the attrs of every variable of a Dataset).
    **options
        Passed to the reader (e.g. ``wavelength=1.5406`` for a file that does not say).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        With provenance attrs filled: ``source_file``, ``source_sha256``, ``reader``,
        ``charact_version``, ``sample_id``, ``measurement_id``.

    Raises
    ------
    UnknownFormatError
        No reader accepts the file.
    CorruptFileError
        The chosen reader found the content broken (truncated, malformed …).
    """
    p = Path(path)
    reader = find_reader(p, format=format, technique=technique)
    unknown = sorted(set(options) - set(reader.options))
    if unknown:
        raise InputError(
            f"reader {reader.name!r} takes no option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(reader.options) or 'none'}"
        )
    try:
        obj = reader.read(p, **options)
    except CharactError as exc:
        if exc.path is None:
            raise type(exc)(exc.detail, path=p, hint=exc.hint) from exc
        raise
    except (
        UnicodeDecodeError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        OSError,
        EOFError,
        struct.error,
    ) as exc:
        raise CorruptFileError(
            f"could not be read as {reader.description} ({reader.name}): "
            f"{type(exc).__name__}: {exc}",
            path=p,
        ) from exc
    obj.attrs.update(
        source_file=p.name,
        source_sha256=sha256_file(p),
        reader=reader.name,
        charact_version=charact_version(),
        sample_id=sample_id or obj.attrs.get("sample_id", ""),
        measurement_id=measurement_id or obj.attrs.get("measurement_id", ""),
    )
    obj.attrs.setdefault("instrument", "")
    if not isinstance(obj.attrs.get("original_metadata", ""), str):
        obj.attrs["original_metadata"] = json.dumps(obj.attrs["original_metadata"], default=str)
    return validate_measurement(obj, what=str(p))


def sidecar_map(paths: list[str]) -> dict[str, str]:
    """``{sidecar path: data path}`` for the companion files among ``paths``.

    A file is a sidecar when a file with the same stem and an extension of a reader that
    declares the sidecar's extension is also in ``paths`` (paths relative, POSIX).
    """
    claims: dict[str, set[str]] = {}
    for reader in READERS.values():
        for ext in reader.extensions:
            claims.setdefault(ext, set()).update(s.lower() for s in reader.sidecars)
    by_stem: dict[str, list[str]] = {}
    for p in paths:
        stem, dot, ext = p.rpartition(".")
        if dot:
            by_stem.setdefault(stem.lower(), []).append(p)
    out = {}
    for group in by_stem.values():
        for data in group:
            ext = "." + data.rpartition(".")[2].lower()
            for other in group:
                if other != data and "." + other.rpartition(".")[2].lower() in claims.get(ext, ()):
                    out[other] = data
    return out


def formats_markdown() -> str:
    """The formats table of ``docs/formats.md`` (kept in step with the registry by a test)."""
    lines = [
        "| technique | reader | extensions | format |",
        "|---|---|---|---|",
    ]
    for r in sorted(list_formats(), key=lambda r: (r["technique"], r["name"])):
        exts = " ".join(f"`{e}`" for e in r["extensions"])
        lines.append(f"| {r['technique']} | `{r['name']}` | {exts} | {r['description']} |")
    return "\n".join(lines) + "\n"


def list_formats(technique: str | None = None) -> list[dict[str, Any]]:
    """One dict per reader (name, technique, extensions, description), for docs and CLI."""
    return [
        {
            "name": r.name,
            "technique": r.technique,
            "extensions": list(r.extensions),
            "description": r.description,
        }
        for r in _candidates(technique)
    ]
