"""The data conventions every part of charact shares.

A *measurement* is an :class:`xarray.DataArray` (one spectrum, pattern or image) or
:class:`xarray.Dataset` (cycling records, depth profiles, maps) with named dims whose coords
carry ``attrs["units"]``, and these attrs:

========================  ============================================================
``sample_id``             the user's sample ID ("" until linked to a sample)
``measurement_id``        catalogue id of the measurement ("" outside a catalogue)
``technique``             one of :data:`TECHNIQUES`
``instrument``            what the file says about the instrument ("" if nothing)
``source_file``           file name the data came from
``source_sha256``         SHA-256 of that file's bytes
``reader``                name of the reader that read it
``charact_version``       version of charact that read it
``original_metadata``     the vendor header, verbatim, as a JSON string
========================  ============================================================

A *result* is a :class:`FitResult` (or another small dataclass) that converts to a
:class:`xarray.Dataset` with :meth:`FitResult.to_dataset` and to a JSON-friendly dict with
:meth:`FitResult.to_dict`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .errors import InputError
from .provenance import charact_version, now_iso

__all__ = [
    "AXIS_UNITS",
    "PROVENANCE_ATTRS",
    "REQUIRED_ATTRS",
    "TECHNIQUES",
    "FitResult",
    "Parameter",
    "check_axis",
    "make_measurement",
    "make_spectrum",
    "provenance_of",
    "validate_measurement",
]

#: Technique names, the same everywhere: CLI, catalogue, attrs, settings.
TECHNIQUES: tuple[str, ...] = ("xrd", "raman", "xps", "sem", "echem")

#: The units each well-known axis must carry.
AXIS_UNITS: dict[str, str] = {
    "two_theta": "deg",
    "d_spacing": "angstrom",
    "q": "1/angstrom",
    "raman_shift": "cm^-1",
    "binding_energy": "eV",
    "kinetic_energy": "eV",
    "etch_time": "s",
    "etch_depth": "nm",
    "x": "µm",
    "y": "µm",
    "frequency": "Hz",
    "time": "s",
    "cycle": "1",
    "temperature": "K",
}

#: Attrs copied from a measurement to every result derived from it.
PROVENANCE_ATTRS: tuple[str, ...] = (
    "sample_id",
    "measurement_id",
    "technique",
    "source_file",
    "source_sha256",
    "reader",
)

#: Attrs every measurement carries.
REQUIRED_ATTRS: tuple[str, ...] = (
    *PROVENANCE_ATTRS,
    "instrument",
    "charact_version",
    "original_metadata",
)


def provenance_of(obj: xr.DataArray | xr.Dataset) -> dict[str, Any]:
    """The provenance attrs (:data:`PROVENANCE_ATTRS`) of a measurement, for its results."""
    return {k: obj.attrs.get(k, "") for k in PROVENANCE_ATTRS}


def _as_units(name: str, units: Any) -> str:
    if not isinstance(units, str):
        raise InputError(f"units of {name!r} must be a string, got {units!r}")
    return units


def make_measurement(
    values: Any,
    coords: Mapping[str, tuple[Any, str]],
    *,
    name: str,
    units: str,
    technique: str,
    extra_coords: Mapping[str, tuple[str | Sequence[str], Any, str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build a measurement :class:`~xarray.DataArray` that follows the conventions.

    Parameters
    ----------
    values
        The measured values; their shape follows the order of ``coords``.
    coords
        ``{dim: (values, units)}`` for each dimension, in order.
    name, units
        Name and units of the measured quantity (``"intensity"``, ``"counts"``).
    technique
        One of :data:`TECHNIQUES`.
    extra_coords
        ``{name: (dims, values, units)}`` for non-dimension coords.
    metadata
        The vendor header as read, stored verbatim as JSON in ``original_metadata``.
    attrs
        Further attrs (acquisition settings: wavelength, excitation energy, …).

    Returns
    -------
    xarray.DataArray
        With every attr of :data:`REQUIRED_ATTRS` present (provenance attrs empty until
        :func:`charact.core.readers.read` fills them).
    """
    if technique not in TECHNIQUES:
        raise InputError(f"technique must be one of {TECHNIQUES}, got {technique!r}")
    data = np.asarray(values)
    dims = tuple(coords)
    if data.ndim != len(dims):
        raise InputError(
            f"values of {name!r} have {data.ndim} dimensions but {len(dims)} coords were given "
            f"({', '.join(dims)})"
        )
    xcoords: dict[str, Any] = {}
    for dim, size in zip(dims, data.shape, strict=True):
        cvals, cunits = coords[dim]
        cvals = np.asarray(cvals)
        if cvals.shape != (size,):
            raise InputError(
                f"coord {dim!r} has shape {cvals.shape}, expected ({size},) to match the values"
            )
        xcoords[dim] = xr.Variable(dim, cvals, {"units": _as_units(dim, cunits)})
    for cname, (cdims, cvals, cunits) in (extra_coords or {}).items():
        xcoords[cname] = xr.Variable(cdims, np.asarray(cvals), {"units": _as_units(cname, cunits)})
    base = {
        "sample_id": "",
        "measurement_id": "",
        "technique": technique,
        "instrument": "",
        "source_file": "",
        "source_sha256": "",
        "reader": "",
        "charact_version": charact_version(),
        "original_metadata": json.dumps(dict(metadata or {}), default=str, ensure_ascii=False),
        "units": _as_units(name, units),
    }
    base.update(attrs or {})
    return xr.DataArray(data, coords=xcoords, dims=dims, name=name, attrs=base)


def make_spectrum(
    x: Any,
    y: Any,
    *,
    axis: str,
    technique: str,
    units: str = "counts",
    name: str = "intensity",
    axis_units: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build a 1-D spectrum/pattern on a well-known axis (``two_theta``, ``raman_shift`` …).

    The axis units default to :data:`AXIS_UNITS`; the axis must be finite and strictly
    monotonic (a descending axis is kept as measured — analyses sort when they need to).
    """
    if axis_units is None:
        if axis not in AXIS_UNITS:
            raise InputError(f"axis {axis!r} has no default units; pass axis_units")
        axis_units = AXIS_UNITS[axis]
    da = make_measurement(
        np.asarray(y, dtype=float),
        {axis: (np.asarray(x, dtype=float), axis_units)},
        name=name,
        units=units,
        technique=technique,
        metadata=metadata,
        attrs=attrs,
    )
    check_axis(da, axis)
    return da


def check_axis(obj: xr.DataArray | xr.Dataset, dim: str, *, what: str | None = None) -> None:
    """Check that ``dim`` exists, is finite and strictly monotonic.

    Raises
    ------
    InputError
        Naming the array (or ``what``), the dim and what was found.
    """
    label = what or obj.attrs.get("source_file") or getattr(obj, "name", None) or "data"
    if dim not in obj.dims:
        raise InputError(f"{label}: expected a dimension {dim!r}, found dims {tuple(obj.dims)}")
    axis = np.asarray(obj[dim].values, dtype=float)
    if axis.size < 2:
        raise InputError(f"{label}: axis {dim!r} has {axis.size} point(s), expected at least 2")
    if not np.all(np.isfinite(axis)):
        bad = int(np.flatnonzero(~np.isfinite(axis))[0])
        raise InputError(f"{label}: axis {dim!r} has a non-finite value at index {bad}")
    step = np.diff(axis)
    if not (np.all(step > 0) or np.all(step < 0)):
        bad = int(np.flatnonzero(step * np.sign(step[0]) <= 0)[0])
        raise InputError(
            f"{label}: axis {dim!r} is not strictly monotonic "
            f"(index {bad}: {axis[bad]:g} then {axis[bad + 1]:g})"
        )


def validate_measurement(
    obj: xr.DataArray | xr.Dataset, *, what: str | None = None
) -> xr.DataArray | xr.Dataset:
    """Check that ``obj`` follows the measurement conventions; return it unchanged.

    Checks the required attrs, the technique name, ``units`` on every variable and coord, and
    the units of well-known axes (:data:`AXIS_UNITS`).

    Raises
    ------
    InputError
        Listing everything that is missing or wrong, not only the first problem.
    """
    if not isinstance(obj, xr.DataArray | xr.Dataset):
        raise InputError(f"expected an xarray DataArray or Dataset, got {type(obj).__name__}")
    label = what or obj.attrs.get("source_file") or "measurement"
    problems = [f"attr {a!r} is missing" for a in REQUIRED_ATTRS if a not in obj.attrs]
    tech = obj.attrs.get("technique")
    if tech is not None and tech not in TECHNIQUES:
        problems.append(f"technique {tech!r} is not one of {TECHNIQUES}")
    variables = {obj.name or "values": obj} if isinstance(obj, xr.DataArray) else obj.data_vars
    for vname, var in variables.items():
        if "units" not in var.attrs:
            problems.append(f"variable {vname!r} has no units attr")
    for cname, coord in obj.coords.items():
        if "units" not in coord.attrs:
            problems.append(f"coord {cname!r} has no units attr")
        elif cname in AXIS_UNITS and coord.attrs["units"] != AXIS_UNITS[cname]:
            problems.append(
                f"coord {cname!r} is in {coord.attrs['units']!r}, expected {AXIS_UNITS[cname]!r}"
            )
    if problems:
        raise InputError(
            f"{label} does not follow the measurement conventions: " + "; ".join(problems)
        )
    return obj


# --------------------------------------------------------------------------- results


@dataclass
class Parameter:
    """One fitted (or fixed, or derived) parameter with its standard error.

    ``stderr`` is NaN when it could not be estimated — never silently zero.
    """

    value: float
    stderr: float = math.nan
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    expr: str = ""
    units: str = ""

    def at_bound(self, rtol: float = 1e-6) -> bool:
        """True when a varied parameter sits on (or within ``rtol`` of) one of its bounds."""
        if not self.vary or self.expr:
            return False
        for b in (self.min, self.max):
            if not math.isfinite(b):
                continue
            if b == 0.0:
                # A bound at zero has no scale of its own: only (numerically) zero is on it,
                # so a small but real value (an inductance of 1e-7 H) is not flagged.
                if abs(self.value) <= 1e-12:
                    return True
            elif abs(self.value - b) <= rtol * abs(b):
                return True
        return False


def _f(x: Any) -> float:
    return math.nan if x is None else float(x)


@dataclass
class FitResult:
    """The result of one fit, in the shape every analysis persists.

    Attributes
    ----------
    analysis
        Name of the analysis (``"raman.fit"``, ``"xps.fit_region"`` …).
    parameters
        Fitted parameters by name.
    statistics
        ``chi2``, ``redchi``, ``r2``, ``aic``, ``bic``, ``nfev``, ``ndata``, ``nvarys``,
        ``success`` and ``message``.
    model
        A JSON-friendly description of the model (components, lineshapes, constraints),
        enough to rebuild it — never a pickle.
    curves
        Optional Dataset on the data's axis: ``data``, ``best_fit``, ``residual`` and one
        variable per component.
    derived
        Quantities computed from the parameters (ratios, fractions …) with propagated errors.
    provenance
        The provenance attrs of the input measurement(s).
    flags
        Human-readable caveats: a parameter at a bound, no uncertainties, poor fit …
    """

    analysis: str
    parameters: dict[str, Parameter]
    statistics: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    curves: xr.Dataset | None = None
    derived: dict[str, Parameter] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_iso)
    version: str = field(default_factory=charact_version)

    @property
    def success(self) -> bool:
        return bool(self.statistics.get("success", False))

    @classmethod
    def from_lmfit(
        cls,
        result: Any,
        *,
        analysis: str,
        model: Mapping[str, Any] | None = None,
        axis: str | None = None,
        axis_values: Any = None,
        axis_units: str = "",
        data_units: str = "",
        provenance: Mapping[str, Any] | None = None,
    ) -> FitResult:
        """Convert an :class:`lmfit.model.ModelResult`.

        Flags parameters on a bound and missing uncertainties; computes R² from the data.
        """
        params = {
            name: Parameter(
                value=_f(p.value),
                stderr=_f(p.stderr),
                min=_f(p.min),
                max=_f(p.max),
                vary=bool(p.vary),
                expr=p.expr or "",
            )
            for name, p in result.params.items()
        }
        data = np.asarray(result.data, dtype=float)
        best = np.asarray(result.best_fit, dtype=float)
        ss_res = float(np.sum((data - best) ** 2))
        ss_tot = float(np.sum((data - data.mean()) ** 2))
        stats = {
            "chi2": _f(result.chisqr),
            "redchi": _f(result.redchi),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan,
            "aic": _f(result.aic),
            "bic": _f(result.bic),
            "nfev": int(result.nfev),
            "ndata": int(result.ndata),
            "nvarys": int(result.nvarys),
            "success": bool(result.success),
            "message": str(result.message or ""),
        }
        flags = [
            f"parameter {n!r} is at a bound ({p.value:g})"
            for n, p in params.items()
            if p.at_bound()
        ]
        if any(p.vary and not p.expr and math.isnan(p.stderr) for p in params.values()):
            flags.append("standard errors could not be estimated (singular covariance)")
        if not stats["success"]:
            flags.append(f"fit did not converge: {stats['message']}")
        curves = None
        if axis is not None:
            x = np.asarray(axis_values if axis_values is not None else result.userkws["x"], float)
            coord = {axis: xr.Variable(axis, x, {"units": axis_units})}
            curves = xr.Dataset(coords=coord)
            curves["data"] = xr.Variable(axis, data, {"units": data_units})
            curves["best_fit"] = xr.Variable(axis, best, {"units": data_units})
            curves["residual"] = xr.Variable(axis, data - best, {"units": data_units})
            for prefix, comp in result.eval_components(x=x).items():
                comp = np.broadcast_to(np.asarray(comp, float), x.shape)
                curves[f"component_{prefix.rstrip('_')}"] = xr.Variable(
                    axis, comp, {"units": data_units}
                )
        return cls(
            analysis=analysis,
            parameters=params,
            statistics=stats,
            model=dict(model or {}),
            curves=curves,
            provenance=dict(provenance or {}),
            flags=flags,
        )

    # -- conversions -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (NaN/inf become None/strings) — the result document."""

        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
            return x

        def ptable(ps: Mapping[str, Parameter]) -> dict[str, dict[str, Any]]:
            return {n: {k: clean(v) for k, v in vars(p).items()} for n, p in ps.items()}

        return {
            "analysis": self.analysis,
            "success": self.success,
            "parameters": ptable(self.parameters),
            "derived": ptable(self.derived),
            "statistics": {k: clean(v) for k, v in self.statistics.items()},
            "model": self.model,
            "flags": list(self.flags),
            "provenance": dict(self.provenance),
            "created": self.created,
            "charact_version": self.version,
        }

    def to_dataset(self) -> xr.Dataset:
        """An :class:`xarray.Dataset` for netCDF storage (see :mod:`charact.core.store`)."""
        ds = self.curves.copy() if self.curves is not None else xr.Dataset()
        for dim, table in (("parameter", self.parameters), ("derived", self.derived)):
            names = list(table)
            pre = "" if dim == "parameter" else "derived_"
            ds = ds.assign_coords(
                {dim: xr.Variable(dim, np.array(names, dtype=str), {"units": "1"})}
            )
            rows = list(table.values())
            for key in ("value", "stderr", "min", "max"):
                ds[pre + key] = xr.Variable(dim, np.array([getattr(p, key) for p in rows], float))
            ds[pre + "vary"] = xr.Variable(dim, np.array([p.vary for p in rows], bool))
            ds[pre + "expr"] = xr.Variable(dim, np.array([p.expr for p in rows], dtype=str))
            ds[pre + "units"] = xr.Variable(dim, np.array([p.units for p in rows], dtype=str))
        ds.attrs = {
            "analysis": self.analysis,
            "statistics": dict(self.statistics),
            "model": dict(self.model),
            "flags": list(self.flags),
            "provenance": dict(self.provenance),
            "created": self.created,
            "charact_version": self.version,
        }
        for key in PROVENANCE_ATTRS:
            ds.attrs[key] = str(self.provenance.get(key, ""))
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild a :class:`FitResult` from :meth:`to_dataset` output (e.g. read from disk)."""
        missing = [k for k in ("analysis", "statistics") if k not in ds.attrs]
        if missing or ("parameter" not in ds.dims and "parameter" not in ds.coords):
            raise InputError(
                f"dataset is not a charact fit result (missing {missing or 'parameter'})"
            )

        def table(dim: str, pre: str) -> dict[str, Parameter]:
            if dim not in ds.coords:
                return {}
            out = {}
            for i, name in enumerate(ds[dim].values.tolist()):
                out[str(name)] = Parameter(
                    value=float(ds[pre + "value"].values[i]),
                    stderr=float(ds[pre + "stderr"].values[i]),
                    min=float(ds[pre + "min"].values[i]),
                    max=float(ds[pre + "max"].values[i]),
                    vary=bool(ds[pre + "vary"].values[i]),
                    expr=str(ds[pre + "expr"].values[i]),
                    units=str(ds[pre + "units"].values[i]),
                )
            return out

        table_vars = {
            f"{pre}{k}"
            for pre in ("", "derived_")
            for k in ("value", "stderr", "min", "max", "vary", "expr", "units")
        }
        curve_vars = [v for v in ds.data_vars if v not in table_vars]
        curves = (
            ds[curve_vars].drop_vars(["parameter", "derived"], errors="ignore")
            if curve_vars
            else None
        )
        if curves is not None:
            curves.attrs = {}
        return cls(
            analysis=str(ds.attrs["analysis"]),
            parameters=table("parameter", ""),
            derived=table("derived", "derived_"),
            statistics=dict(ds.attrs.get("statistics", {})),
            model=dict(ds.attrs.get("model", {})),
            curves=curves,
            provenance=dict(ds.attrs.get("provenance", {})),
            flags=list(ds.attrs.get("flags", [])),
            created=str(ds.attrs.get("created", "")),
            version=str(ds.attrs.get("charact_version", "")),
        )
