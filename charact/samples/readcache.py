"""Slow instrument files decoded once: the parsed measurement kept beside the catalogue.

Some exports take seconds to decode (a 500-cycle LAND workbook: about 8 s through openpyxl)
and a project reads each file twice, at ingest and again at analysis. When a read takes longer
than :data:`SLOW_READ_S`, ingest keeps the parsed measurement as netCDF under
``.charact/parsed/<sha256>.nc``; the analysis reads that instead (about 0.1 s). The key is the
raw file's SHA-256, so a changed file is never served from the cache; a cache file that is
missing, unreadable or made from other bytes is ignored and the raw file is read. The raw
file is never written to; deleting ``.charact/parsed/`` loses nothing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..core.store import load_netcdf, save_netcdf

__all__ = ["SLOW_READ_S", "cached_path", "recall", "remember"]

#: Reads slower than this (seconds) are kept.
SLOW_READ_S = 1.0
_FOLDER = "parsed"


def cached_path(state_dir: str | Path, sha256: str) -> Path:
    """Where the parsed form of the file with this SHA-256 is kept."""
    return Path(state_dir) / _FOLDER / f"{sha256}.nc"


def remember(state_dir: str | Path, sha256: str, obj: Any, seconds: float) -> Path | None:
    """Keep ``obj`` (as read from the file with ``sha256``) when the read was slow.

    A failure to write is not an error: the cache only saves time.
    """
    if seconds < SLOW_READ_S or not sha256:
        return None
    if getattr(obj, "attrs", {}).get("source_sha256") not in (None, "", sha256):
        return None
    path = cached_path(state_dir, sha256)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_netcdf(obj, path)
    except Exception:  # a cache write must never fail an ingest
        return None
    return path


def recall(state_dir: str | Path, sha256: str) -> Any | None:
    """The parsed measurement of the file with ``sha256``, or ``None`` when not kept."""
    path = cached_path(state_dir, sha256)
    if not sha256 or not path.is_file():
        return None
    try:
        obj = load_netcdf(path)
    except Exception:  # unreadable cache: drop it, read the raw file
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if obj.attrs.get("source_sha256") != sha256:
        return None
    return obj
