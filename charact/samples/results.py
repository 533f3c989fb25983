"""Stored results read back: the documents and arrays ``charact analyze`` wrote.

:func:`open_results` gives each current result of a project (or of one sample, or of one
analysis) as an :class:`xarray.Dataset` from its netCDF file, with the result document's key
numbers in ``attrs``; :func:`result_documents` gives the JSON documents themselves.
"""

from __future__ import annotations

import json
from os import PathLike
from typing import Any

import xarray as xr

from ..core.errors import CharactError
from ..core.store import load_netcdf
from .catalog import Catalog
from .compare import load_docs

__all__ = ["open_results", "result_documents"]


def result_documents(
    project: str | PathLike[str] | Catalog,
    *,
    sample_id: str | None = None,
    analysis: str | None = None,
) -> list[dict[str, Any]]:
    """The current result documents (JSON) of a project, a sample or an analysis.

    Parameters
    ----------
    project
        The project folder (or an open :class:`Catalog`).
    sample_id
        Only this sample.
    analysis
        Only this analysis, e.g. ``"raman.map"``.

    Returns
    -------
    list of dict
        One document per result under the project's current settings.
    """
    own = not isinstance(project, Catalog)
    cat = Catalog(project) if own else project
    try:
        ids = (
            [cat.resolve_sample(sample_id)]
            if sample_id
            else [s["sample_id"] for s in cat.list_samples()]
        )
        out = []
        for by_analysis in load_docs(cat, ids).values():
            for name, docs in by_analysis.items():
                if analysis is None or name == analysis:
                    out.extend(docs)
        return out
    finally:
        if own:
            cat.close()


def open_results(
    project: str | PathLike[str] | Catalog,
    *,
    sample_id: str | None = None,
    analysis: str | None = None,
) -> list[xr.Dataset]:
    """The current results of a project as xarray Datasets (fitted curves, maps, tables).

    Each Dataset is read from the ``.nc`` file written beside its result document; its
    ``attrs`` hold ``analysis``, ``sample_id``, ``source_file`` and ``result`` (the JSON
    document). Results without arrays (none so far for conductivity) are left out.

    Parameters
    ----------
    project, sample_id, analysis
        As for :func:`result_documents`.

    Examples
    --------
    >>> maps = open_results("charact-demo", analysis="raman.map")  # doctest: +SKIP
    >>> maps[0]["center"].sel(peak="G").plot()  # doctest: +SKIP
    """
    own = not isinstance(project, Catalog)
    cat = Catalog(project) if own else project
    try:
        results_dir = cat.project.state_dir / "results"
        out = []
        for doc in result_documents(cat, sample_id=sample_id, analysis=analysis):
            name = doc.get("dataset")
            if not name:
                continue
            path = results_dir / name
            if not path.is_file():
                raise CharactError(
                    "the result's netCDF file is missing: run `charact analyze --force`",
                    path=path,
                )
            ds = load_netcdf(path)
            ds.attrs["result"] = json.dumps(doc, default=str)
            out.append(ds)
        return out
    finally:
        if own:
            cat.close()
