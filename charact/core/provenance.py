"""Provenance: content hashes of raw files, settings hashes and software versions."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = [
    "canonical_json",
    "charact_version",
    "now_iso",
    "settings_hash",
    "sha256_file",
    "software_versions",
]

_CHUNK = 1 << 20


def sha256_file(path: str | PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks (large maps fit in memory too).

    Raises
    ------
    InputError
        If the path is not a readable file.
    """
    p = Path(path)
    h = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except FileNotFoundError:
        raise InputError("no such file", path=p) from None
    except IsADirectoryError:
        raise InputError("expected a file, found a directory", path=p) from None
    except PermissionError:
        raise InputError("permission denied when reading the file", path=p) from None
    return h.hexdigest()


def _jsonable(obj: Any, *, nan: Any = "nan") -> Any:
    """Turn numpy scalars/arrays, paths and sets into JSON-friendly values.

    JSON has no literal for NaN or infinity: NaN becomes ``nan`` (``"nan"`` by default, or
    e.g. None), infinities the strings ``"inf"``/``"-inf"``.
    """
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, nan=nan) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v, nan=nan) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_jsonable(v, nan=nan) for v in obj)
    if isinstance(obj, PathLike):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return _jsonable(obj.tolist(), nan=nan)
    if isinstance(obj, float) and not math.isfinite(obj):
        return nan if math.isnan(obj) else repr(obj)
    return obj


def canonical_json(obj: Any) -> str:
    """Serialize ``obj`` deterministically (sorted keys, no spaces) for hashing."""
    try:
        return json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"settings must be JSON-serializable: {exc}") from None


def settings_hash(obj: Any) -> str:
    """Return a short stable hash (16 hex digits of SHA-256) of analysis settings."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


def charact_version() -> str:
    """The installed charact version, or ``"0+unknown"`` when run from a bare source tree."""
    try:
        return version("charact")
    except PackageNotFoundError:  # pragma: no cover - only outside an install
        return "0+unknown"


def software_versions() -> dict[str, str]:
    """Versions of charact and the libraries whose numbers end up in results."""
    out = {}
    for pkg in ("charact", "numpy", "scipy", "xarray", "lmfit", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")
