"""Atomic storage of measurements and results: netCDF and JSON, never pickle.

Every write goes to a temporary file in the destination folder and is renamed into place
(:func:`os.replace` is atomic on POSIX and Windows), so a crash or a full disk never leaves a
half-written result where a good one was.

netCDF attributes can only hold strings and numbers, while results carry dicts, lists and
booleans in their attrs. :func:`save_netcdf` stores such attrs as JSON strings and lists their
names in the ``charact_json_attrs`` attr; :func:`load_netcdf` decodes them, so a round trip
returns identical attrs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np
import xarray as xr

from .errors import CorruptFileError, InputError
from .provenance import _jsonable

__all__ = [
    "atomic_path",
    "atomic_write",
    "encode_netcdf_attrs",
    "load_netcdf",
    "save_json",
    "save_netcdf",
]

_JSON_ATTRS_KEY = "charact_json_attrs"


def _process_umask() -> int:
    """The process umask, read once at import: setting it to read it (``os.umask``) changes
    it process-wide for a moment, a race with other threads creating files."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    For writers that need a file name rather than an open file (netCDF, chunked writes); on
    an exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    # mkstemp creates 0600; give the result the permissions a plain open() would (umask).
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_write("result.json") as fh:  # doctest: +SKIP
    ...     fh.write("{}")
    """
    encoding = None if "b" in mode else "utf-8"
    with atomic_path(path) as tmp, tmp.open(mode, encoding=encoding) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def encode_netcdf_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attrs netCDF can store: dicts, lists and bools JSON-encoded (undone by load_netcdf)."""
    out: dict[str, Any] = {}
    encoded = []
    for key, value in attrs.items():
        plain = isinstance(value, str | int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_
        )
        if plain:
            out[key] = value
        else:
            out[key] = json.dumps(_jsonable(value), ensure_ascii=False)
            encoded.append(key)
    if encoded:
        out[_JSON_ATTRS_KEY] = json.dumps(encoded)
    return out


def _decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    attrs = dict(attrs)
    encoded = json.loads(attrs.pop(_JSON_ATTRS_KEY, "[]"))
    for key in encoded:
        if key in attrs:
            attrs[key] = json.loads(attrs[key])
    return attrs


def _map_attrs(obj: xr.Dataset, fn: Any) -> xr.Dataset:
    obj = obj.copy()
    obj.attrs = fn(dict(obj.attrs))
    for name in list(obj.variables):
        obj[name].attrs = fn(dict(obj[name].attrs))
    return obj


def save_netcdf(obj: xr.Dataset | xr.DataArray, path: str | PathLike[str]) -> Path:
    """Write ``obj`` to ``path`` as netCDF-4 (HDF5), atomically.

    Dict/list/bool attrs are JSON-encoded so that :func:`load_netcdf` restores them.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    ds = obj.to_dataset(promote_attrs=True) if isinstance(obj, xr.DataArray) else obj
    if isinstance(obj, xr.DataArray):
        ds.attrs["charact_dataarray_name"] = obj.name if obj.name is not None else "__none__"
    ds = _map_attrs(ds, encode_netcdf_attrs)
    target = Path(path)
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return target


def load_netcdf(path: str | PathLike[str]) -> xr.Dataset | xr.DataArray:
    """Read a file written by :func:`save_netcdf` fully into memory.

    Raises
    ------
    CorruptFileError
        If the file is not a readable netCDF file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such result file", path=p)
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            ds = ds.load()
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"not a readable netCDF result file ({exc})", path=p) from None
    ds = _map_attrs(ds, _decode_attrs)
    if "charact_dataarray_name" in ds.attrs:
        name = ds.attrs.pop("charact_dataarray_name")
        (var,) = ds.data_vars
        da = ds[var]
        da.attrs = dict(ds.attrs)
        return da.rename(None if name == "__none__" else name)
    return ds


def save_json(doc: Any, path: str | PathLike[str], *, indent: int = 2) -> Path:
    """Write a result document as JSON, atomically (NaN written as null)."""
    text = json.dumps(_jsonable(doc, nan=None), indent=indent, ensure_ascii=False, default=str)
    target = Path(path)
    with atomic_write(target) as fh:
        fh.write(text + "\n")
    return target
