"""Fit whole Raman maps: every pixel through the batch engine, with one model or per pixel.

:func:`fit_map` runs the single-spectrum pipeline of :mod:`charact.raman.fit` on a map cube
``(y, x, raman_shift)``: despike, optional shift calibration, crop, optional baseline, then one
vectorized fit per fit group (:func:`charact.raman.models.fit_groups`) with
:func:`charact.core.batchfit.fit_dataarray` — chunk by chunk when the cube is dask-backed, on
all cores (or a ``dask.distributed`` cluster). With ``model="auto"`` every candidate model of a
region is fitted to every pixel and each pixel gets its own choice by the single-spectrum
criterion (fewest parameters within ΔBIC 10 of the lowest BIC). Starting values come from each
pixel's own data; a pixel that cannot be fitted (missing, NaN, no convergence) is flagged in
``success`` and never stops the map.

:func:`fit_map_to_netcdf` fits a map block by block and writes every block's results into the
netCDF file before reading the next block, so memory does not grow with the map size.

The result is a Dataset with ``center``, ``fwhm``, ``height``, ``area`` (+ ``_stderr``) on
``(peak, y, x)``, the derived images ``ID_IG_height``, ``ID_IG_area``, ``crystalline_fraction``,
``shift_cm-1``, ``stress_MPa``, ``La_nm`` (+ ``_stderr``), the Si state per pixel, fit
statistics, and the whole parameter table.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.baselines import estimate_baseline
from ..core.batchfit import fit_dataarray
from ..core.data import PROVENANCE_ATTRS, provenance_of
from ..core.errors import InputError
from ..core.provenance import charact_version, now_iso
from .fit import (
    _CANCADO,
    CSI_REFERENCE,
    DELTA_BIC,
    STRESS_COEFFICIENT,
    Y_CROSS_SECTION,
    ShiftCalibration,
    _group_degree,
    _spike_mask,
    peak_quantities,
)
from .models import Band, build_model, fit_groups, model_bands

__all__ = ["AUTO_REGIONS", "SI_STATES", "MapResult", "despike_map", "fit_map", "fit_map_to_netcdf"]

#: Codes of the ``si_state`` image (CF flag_values/flag_meanings).
SI_STATES = ("absent", "crystalline", "amorphous", "mixed")


def despike_map(cube: xr.DataArray, *, threshold: float = 7.0, max_width: int = 2) -> xr.DataArray:
    """Remove cosmic-ray spikes from every pixel (lazy on dask-backed cubes).

    Same test as :func:`charact.raman.fit.despike`; pixels with NaN are left as they are.
    """

    def kernel(block: np.ndarray) -> np.ndarray:
        y = np.array(block, float)
        flat = y.reshape(-1, y.shape[-1])
        ok = np.all(np.isfinite(flat), axis=1)
        if ok.any():
            mask = _spike_mask(flat[ok], threshold=threshold, max_width=max_width)
            x = np.arange(flat.shape[1], dtype=float)
            sub = flat[ok]
            for row in np.flatnonzero(mask.any(axis=1)):
                bad = mask[row]
                sub[row, bad] = np.interp(x[bad], x[~bad], sub[row, ~bad])
            flat[ok] = sub
        return flat.reshape(y.shape)

    out = xr.apply_ufunc(
        kernel,
        cube,
        input_core_dims=[["raman_shift"]],
        output_core_dims=[["raman_shift"]],
        dask="parallelized",
        output_dtypes=[float],
    )
    out.attrs = dict(cube.attrs)
    out.name = cube.name
    return out


_IMAGES = ("ID_IG_height", "ID_IG_area", "crystalline_fraction", "shift_cm-1", "La_nm", "redchi")


@dataclass
class _SummaryAccumulator:
    """Count, mean, M2 (Chan et al.'s pairwise update), min and max of every image over the
    converged pixels, block by block; the failed pixels and the Si-state counts."""

    stats: dict[str, list[float]] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SI_STATES, 0))
    choice: dict[tuple[str, str], int] = field(default_factory=dict)
    pixels: int = 0
    fitted: int = 0
    ny: int = 0
    nx: int = 0

    def _update(self, key: str, values: np.ndarray) -> None:
        n, mean, m2, lo, hi = self.stats.setdefault(key, [0, 0.0, 0.0, math.inf, -math.inf])
        if values.size:
            nb, mb = values.size, float(values.mean())
            m2b = float(((values - mb) ** 2).sum())
            tot = n + nb
            delta = mb - mean
            mean += delta * nb / tot
            m2 += m2b + delta**2 * n * nb / tot
            n = tot
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
        self.stats[key] = [n, mean, m2, lo, hi]

    def add(self, ds: xr.Dataset) -> None:
        ok = ds["success"].values.astype(bool)
        self.pixels += int(ok.size)
        self.fitted += int(ok.sum())
        self.ny += int(ds.sizes["y"])
        self.nx = int(ds.sizes["x"])
        for peak in ds["peak"].values.tolist():
            for q in ("center", "fwhm", "height", "area"):
                v = ds[q].sel(peak=peak).values
                self._update(f"{peak}.{q}", v[ok & np.isfinite(v)])
        for name in _IMAGES:
            if name in ds:
                v = ds[name].values
                self._update(name, v[ok & np.isfinite(v)])
        self.failed += [
            {
                "y_um": float(ds["y"].values[j]),
                "x_um": float(ds["x"].values[i]),
                "reason": str(ds["failure"].values[j, i]),
            }
            for j, i in np.argwhere(~ok)
        ]
        st = ds["si_state"].values
        for k, s in enumerate(SI_STATES):
            self.states[s] += int((st[ok] == k).sum())
        for region in AUTO_REGIONS:
            var = f"model_{region}"
            if var in ds.data_vars:
                codes = ds[var].values[ok]
                for k, name in enumerate(str(ds[var].attrs["flag_meanings"]).split()):
                    key = (region, name)
                    self.choice[key] = self.choice.get(key, 0) + int((codes == k).sum())

    def result(self, ds: xr.Dataset) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for key, (n, mean, m2, lo, hi) in self.stats.items():
            if n == 0:
                stats[key] = {"mean": None, "std": None, "min": None, "max": None, "n": 0}
            else:
                stats[key] = {
                    "mean": mean,
                    "std": math.sqrt(m2 / n),
                    "min": lo,
                    "max": hi,
                    "n": int(n),
                }
        doc = {
            "analysis": "raman.map",
            "model": ds.attrs.get("model_name"),
            "model_criterion": ds.attrs.get("model_criterion"),
            "shape": {"y": self.ny, "x": self.nx},
            "pixels": self.pixels,
            "pixels_fitted": self.fitted,
            "pixels_failed": self.failed,
            "si_state_counts": dict(self.states),
            "statistics": stats,
            "baseline": ds.attrs.get("baseline"),
            "ratio_definitions": {
                "ID_IG_height": "peak height ratio of D and G",
                "ID_IG_area": "integrated area ratio of D and G",
            },
            "provenance": provenance_of(ds),
            "created": ds.attrs.get("created"),
            "charact_version": ds.attrs.get("charact_version"),
        }
        for region in AUTO_REGIONS:
            var = f"model_{region}"
            if var in ds.data_vars:
                names = str(ds[var].attrs["flag_meanings"]).split()
                doc.setdefault("model_choice_counts", {})[region] = {
                    n: int(self.choice.get((region, n), 0)) for n in names
                }
        return doc


@dataclass
class MapResult:
    """The fitted map: :attr:`dataset` and what :meth:`summary` says about it."""

    dataset: xr.Dataset

    def summary(self) -> dict[str, Any]:
        """Per image: mean, std, min, max over converged pixels; the pixels that failed."""
        acc = _SummaryAccumulator()
        acc.add(self.dataset)
        return acc.result(self.dataset)

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary document of ``charact raman map``."""
        return self.summary()

    def to_dataset(self) -> xr.Dataset:
        """The netCDF-ready Dataset."""
        return self.dataset


def _derived_funcs(
    bands: list[Band],
    names: list[str],
    window: tuple[float, float],
    *,
    laser_nm: float | None,
    y_ratio: float,
    reference: float,
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    funcs: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    by = {b.name: b for b in bands}
    for b in bands:
        for q in ("center", "fwhm", "height", "area"):
            funcs[f"{b.name}.{q}"] = lambda v, b=b, q=q: peak_quantities(b, v, names, window)[q]
    if "D" in by and "G" in by:
        d, g = by["D"], by["G"]
        for kind in ("height", "area"):
            funcs[f"ID_IG_{kind}"] = lambda v, k=kind: (
                peak_quantities(d, v, names, window)[k] / peak_quantities(g, v, names, window)[k]
            )
        if laser_nm is not None and math.isfinite(laser_nm):
            funcs["La_nm"] = lambda v: (
                _CANCADO
                * laser_nm**4
                / (
                    peak_quantities(d, v, names, window)["area"]
                    / peak_quantities(g, v, names, window)["area"]
                )
            )
    if "c-Si" in by and "a-Si" in by:
        c, a = by["c-Si"], by["a-Si"]
        funcs["crystalline_fraction"] = lambda v: (
            peak_quantities(c, v, names, window)["area"]
            / (
                peak_quantities(c, v, names, window)["area"]
                + y_ratio * peak_quantities(a, v, names, window)["area"]
            )
        )
    if "c-Si" in by:
        c = by["c-Si"]
        funcs["shift_cm-1"] = lambda v: peak_quantities(c, v, names, window)["center"] - reference
    return {k: _quiet(f) for k, f in funcs.items()}


def _quiet(func: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``func`` without floating-point warnings: a pixel whose band vanished gives NaN (the
    numpy error state is per thread, so it is set inside the call, where dask runs it)."""

    def inner(v: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return func(v)

    return inner


#: Candidates of ``model="auto"`` on maps, per region (as for single spectra, without the Si
#: second order): the region's window and the models compared there.
AUTO_REGIONS: dict[str, tuple[tuple[float, float], tuple[str, ...]]] = {
    "si": ((380.0, 620.0), ("none", "c-si", "c-si-pv", "a-si", "si")),
    "carbon": ((1000.0, 1800.0), ("none", "carbon-2", "carbon-2-bwf", "carbon-4", "carbon-5")),
}
_IMG_UNITS = {
    "ID_IG_height": "1",
    "ID_IG_area": "1",
    "crystalline_fraction": "1",
    "shift_cm-1": "cm^-1",
    "La_nm": "nm",
}
_Q_UNITS = {"center": "cm^-1", "fwhm": "cm^-1", "height": "counts", "area": "counts*cm^-1"}


@dataclass
class _Prepared:
    cube: xr.DataArray
    lo: float
    hi: float
    info: dict[str, Any]
    laser_nm: float | None
    label: str


def _check_cube(cube: Any) -> tuple[xr.DataArray, str]:
    if not isinstance(cube, xr.DataArray) or set(cube.dims) != {"y", "x", "raman_shift"}:
        dims = getattr(cube, "dims", None)
        raise InputError(f"expected a map with dims (y, x, raman_shift), found {dims}")
    label = cube.attrs.get("source_file") or "map"
    cube = cube.transpose("y", "x", "raman_shift")
    if cube["raman_shift"].values[0] > cube["raman_shift"].values[-1]:
        cube = cube.isel(raman_shift=slice(None, None, -1))
    shift = np.asarray(cube["raman_shift"].values, float)
    if shift.size < 10 or np.any(np.diff(shift) <= 0):
        raise InputError(
            f"{label}: the raman_shift axis must hold at least 10 strictly increasing values"
        )
    return cube, str(label)


def _check_range(model: str, bands: list[Band], lo: float, hi: float, label: str) -> None:
    outside = [b.name for b in bands if b.center_range[1] < lo or b.center_range[0] > hi]
    if outside:
        raise InputError(
            f"{label}: model {model!r} cannot apply to the spectral range {lo:g}-{hi:g} "
            f"cm^-1: band(s) {', '.join(outside)} lie outside it"
        )


def _prepare(
    cube: xr.DataArray,
    label: str,
    *,
    despike: bool,
    calibration: ShiftCalibration | None,
    crop_range: tuple[float, float] | None,
    baseline: str | None,
    baseline_params: Mapping[str, Any] | None,
    background_degree: int | str | None,
    laser_nm: float | None,
    chunk_pixels: int | None,
) -> _Prepared:
    shift = np.asarray(cube["raman_shift"].values, float)
    if laser_nm is None:
        lw = cube.attrs.get("laser_wavelength")
        laser_nm = float(lw) if lw is not None and math.isfinite(float(lw)) else None
    lo, hi = crop_range if crop_range is not None else (shift.min(), shift.max())
    lo, hi = max(lo, shift.min()), min(hi, shift.max())
    if chunk_pixels is not None:
        try:
            import dask  # noqa: F401
        except ImportError:
            raise InputError(
                "fitting a map in chunks needs dask: pip install 'charact[maps]'"
            ) from None
        rows = max(1, int(chunk_pixels) // max(1, cube.sizes["x"]))
        cube = cube.chunk({"y": rows, "x": -1, "raman_shift": -1})
    info: dict[str, Any] = {}
    if despike:
        cube = despike_map(cube)
        info["despike"] = "modified z-score of the first difference, threshold 7, width <= 2"
    if calibration is not None:
        cube = calibration.apply(cube)
        info["calibration"] = calibration.to_dict()
    if crop_range is not None:
        cube = cube.sel(raman_shift=slice(lo, hi))
    if baseline not in (None, "none"):
        base, binfo = estimate_baseline(
            cube.fillna(0.0), baseline, dim="raman_shift", **dict(baseline_params or {})
        )
        cube = (cube - base).assign_attrs(cube.attrs)
        info["baseline"] = {**binfo, "then": "polynomial fitted with the bands"}
    else:
        info["baseline"] = {
            "method": "polynomial",
            "params": {"degree": background_degree},
            "library": "charact",
            "fitted": "with the bands, per fit group",
        }
    return _Prepared(cube, float(lo), float(hi), info, laser_nm, label)


def _fit_model(
    prep: _Prepared,
    model: str,
    *,
    background_degree: int | str | None,
    y_ratio: float,
    reference: float,
    max_iter: int,
    finite: np.ndarray | None = None,
) -> tuple[xr.Dataset, np.ndarray]:
    """Fit one model to every pixel of a prepared cube; the result Dataset and finite mask."""
    cube, lo, hi = prep.cube, prep.lo, prep.hi
    bands = model_bands(model)
    peaks = [b.name for b in bands]
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    pending: list[tuple[Any, Any, list[str], np.ndarray, list[Band]]] = []
    group_info = []
    for k, grp in enumerate(fit_groups(bands)):
        g_lo = max(lo, min(b.region[0] for b in grp))
        g_hi = min(hi, max(b.region[1] for b in grp))
        part = cube.sel(raman_shift=slice(g_lo, g_hi))
        xg = np.asarray(part["raman_shift"].values, float)
        if xg.size < 10:
            raise InputError(
                f"{prep.label}: only {xg.size} points between {g_lo:g} and {g_hi:g} cm^-1 "
                f"for the bands {', '.join(b.name for b in grp)}"
            )
        rmodel = build_model(
            model,
            bands=grp,
            background_degree=_group_degree(grp, background_degree),
            x_range=(xg.min(), xg.max()),
            background_prefix=f"bkg{k}_",
        )
        names = rmodel.batch.names
        funcs = _derived_funcs(
            grp,
            names,
            (float(xg.min()), float(xg.max())),
            laser_nm=prep.laser_nm,
            y_ratio=y_ratio,
            reference=reference,
        )
        lazy = fit_dataarray(
            part, rmodel.batch, dim="raman_shift", derived=funcs, max_iter=max_iter
        )
        pending.append((lazy, rmodel, names, xg, grp))
        group_info.append(
            {
                "bands": [b.name for b in grp],
                "region_cm-1": [g_lo, g_hi],
                "background_degree": rmodel.background_degree,
                "engine_model": rmodel.batch.to_dict(),
            }
        )
    # One pass over a chunked cube for all groups: each chunk is read and despiked once.
    finite_lazy = np.isfinite(cube).all("raman_shift") if finite is None else None
    lazies = [p[0] for p in pending] + ([finite_lazy] if finite_lazy is not None else [])
    if cube.chunks is not None:
        import dask  # the optional `maps` extra; only chunked cubes need it

        computed = list(dask.compute(*lazies))
    else:
        computed = lazies
    if finite is None:
        finite = np.asarray(computed.pop().values)
    quant = {q: np.full((len(peaks), ny, nx), np.nan) for q in _Q_UNITS}
    qerr = {q: np.full((len(peaks), ny, nx), np.nan) for q in _Q_UNITS}
    images: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    success = np.ones((ny, nx), bool)
    at_bound = np.zeros((ny, nx), bool)
    chi2 = np.zeros((ny, nx))
    ndata = nvarys = 0
    param_vals, param_errs, param_names = [], [], []
    noise_by_group = []
    for res, (_, rmodel, names, xg, _grp) in zip(computed, pending, strict=True):
        ok = res["success"].values.astype(bool)
        success &= ok
        chi2 += res["chisqr"].values
        ndata += xg.size
        nvarys += len(rmodel.batch.varying)
        noise_by_group.append(np.sqrt(res["redchi"].values))
        vals = res["value"].values
        param_vals.append(vals)
        param_errs.append(res["stderr"].values)
        param_names += names
        for j, name in enumerate(names):
            bp = rmodel.batch.params[name]
            if not bp.vary or not name.endswith(("center", "fwhm", "_q")):
                continue
            for bound in (bp.min, bp.max):
                if math.isfinite(bound):
                    with np.errstate(invalid="ignore"):
                        at_bound |= np.abs(vals[..., j] - bound) <= 1e-6 * max(1.0, abs(bound))
        dnames = res["derived"].values.tolist()
        for j, dn in enumerate(dnames):
            val = res["derived_value"].values[..., j]
            err = res["derived_stderr"].values[..., j]
            if "." in dn:
                band, q = dn.split(".")
                quant[q][peaks.index(band)] = val
                qerr[q][peaks.index(band)] = err
            else:
                images[dn] = (val, err)
    success &= finite
    out = xr.Dataset(
        coords={
            "peak": xr.Variable("peak", np.array(peaks), {"units": "1"}),
            "y": cube["y"].variable.copy(),
            "x": cube["x"].variable.copy(),
        }
    )
    for q in quant:
        out[q] = xr.Variable(("peak", "y", "x"), quant[q], {"units": _Q_UNITS[q]})
        out[f"{q}_stderr"] = xr.Variable(("peak", "y", "x"), qerr[q], {"units": _Q_UNITS[q]})
    for name, (val, err) in images.items():
        out[name] = xr.Variable(("y", "x"), val, {"units": _IMG_UNITS.get(name, "")})
        out[f"{name}_stderr"] = xr.Variable(("y", "x"), err, {"units": _IMG_UNITS.get(name, "")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of missing pixels
        noise = np.nanmax(np.stack(noise_by_group), axis=0)
    out["noise"] = xr.Variable(("y", "x"), noise, {"units": "counts"})
    out["chisqr"] = xr.Variable(("y", "x"), np.where(finite, chi2, np.nan), {"units": "counts^2"})
    with np.errstate(invalid="ignore", divide="ignore"):
        n, k = float(ndata), float(nvarys)
        bic = n * np.log(np.maximum(chi2, 1e-300) / n) + math.log(n) * k
    out["bic"] = xr.Variable(("y", "x"), np.where(finite, bic, np.nan), {"units": "1"})
    out["success"] = xr.Variable(("y", "x"), success, {"units": "1"})
    out["at_bound"] = xr.Variable(
        ("y", "x"),
        at_bound & finite,
        {"units": "1", "description": "a band centre, width or q on a bound"},
    )
    out = out.assign_coords(
        parameter=xr.Variable("parameter", np.array(param_names), {"units": "1"})
    )
    out["parameter_value"] = xr.Variable(
        ("parameter", "y", "x"), np.moveaxis(np.concatenate(param_vals, -1), -1, 0), {"units": ""}
    )
    out["parameter_stderr"] = xr.Variable(
        ("parameter", "y", "x"), np.moveaxis(np.concatenate(param_errs, -1), -1, 0), {"units": ""}
    )
    out.attrs = {"fit_groups": group_info, "ndata": ndata, "nvarys": nvarys}
    return out, finite


def _none_fit(
    prep: _Prepared, window: tuple[float, float], degree: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """BIC and χ² per pixel of the background polynomial alone over ``window`` (the "none"
    model), with the number of points and of parameters."""
    part = prep.cube.sel(raman_shift=slice(*window))
    x = np.asarray(part["raman_shift"].values, float)
    y = np.asarray(part.values, float)  # computes a dask-backed block
    t = (x - x.mean()) / max(np.ptp(x), 1e-12)
    design = np.vander(t, degree + 1)
    flat = y.reshape(-1, x.size).T
    ok = np.all(np.isfinite(flat), axis=0)
    chi2 = np.full(flat.shape[1], np.nan)
    if ok.any():
        coef, *_ = np.linalg.lstsq(design, flat[:, ok], rcond=None)
        chi2[ok] = np.sum((flat[:, ok] - design @ coef) ** 2, axis=0)
    n, k = x.size, degree + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        bic = n * np.log(np.maximum(chi2, 1e-300) / n) + math.log(n) * k
    return bic.reshape(y.shape[:2]), chi2.reshape(y.shape[:2]), n, k


def _fit_auto(
    prep: _Prepared,
    *,
    background_degree: int | str | None,
    y_ratio: float,
    reference: float,
    max_iter: int,
    delta_bic: float,
) -> xr.Dataset:
    """Per-pixel model choice: every candidate of each region fitted to every pixel, then per
    pixel the fewest-parameter candidate within ``delta_bic`` of the lowest BIC among those
    that converged without a band centre/width on a bound (as :func:`compare_models`).

    A dask-backed prepared cube is persisted first (despiked, calibrated and
    baseline-corrected once, held in memory chunk by chunk): every candidate fit, the finite
    mask and each region's background-only fit would otherwise recompute the preprocessing.
    """
    if prep.cube.chunks is not None:
        prep = dataclasses.replace(prep, cube=prep.cube.persist())
    cube = prep.cube
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    shift = np.asarray(cube["raman_shift"].values, float)
    finite = np.asarray(np.isfinite(cube).all("raman_shift").values)
    chosen: dict[str, tuple[list[str], list[xr.Dataset | None], np.ndarray]] = {}
    cand_bic: list[np.ndarray] = []
    cand_names: list[str] = []
    none_stats: dict[str, tuple[np.ndarray, int, int]] = {}
    for region, (window, cands) in AUTO_REGIONS.items():
        lo, hi = max(window[0], prep.lo), min(window[1], prep.hi)
        core = _SI_CORE if region == "si" else _CARBON_CORE
        if not (lo <= core[0] and hi >= core[1]):
            continue  # the map (or its crop) does not cover this region's bands
        sub = _Prepared(cube, lo, hi, prep.info, prep.laser_nm, prep.label)
        results: list[xr.Dataset | None] = []
        bics, nvs, valid, conv = [], [], [], []
        for name in cands:
            if name == "none":
                deg = _group_degree(model_bands(cands[1]), background_degree)
                bic, chi_none, n_none, k = _none_fit(prep, (lo, hi), 0 if deg is None else deg)
                none_stats[region] = (chi_none, n_none, k)
                results.append(None)
                bics.append(bic)
                nvs.append(k)
                valid.append(finite.copy())
                conv.append(finite.copy())
                continue
            ds, _ = _fit_model(
                sub,
                name,
                background_degree=background_degree,
                y_ratio=y_ratio,
                reference=reference,
                max_iter=max_iter,
                finite=finite,
            )
            results.append(ds)
            bics.append(ds["bic"].values)
            nvs.append(int(ds.attrs["nvarys"]))
            conv.append(ds["success"].values)
            valid.append(ds["success"].values & ~ds["at_bound"].values)
        bic = np.stack(bics)
        ok_valid, ok_conv = np.stack(valid), np.stack(conv)
        pool = np.where(
            ok_valid.any(0), ok_valid, np.where(ok_conv.any(0), ok_conv, np.ones_like(ok_conv))
        )
        masked = np.where(pool & np.isfinite(bic), bic, np.inf)
        best = masked.min(axis=0)
        near = masked <= best + delta_bic
        # fewest parameters first, then the lowest BIC among equals
        with np.errstate(invalid="ignore"):
            rank = np.array(nvs, float)[:, None, None] + 1e-9 * np.where(
                np.isfinite(masked), masked - best, 1e9
            )
        pick = np.argmin(np.where(near, rank, np.inf), axis=0).astype(np.int8)
        chosen[region] = (list(cands), results, pick)
        cand_bic += list(bics)
        cand_names += [f"{region}:{c}" for c in cands]
    if not chosen:
        raise InputError(
            f"{prep.label}: model 'auto' needs the Si window 440-540 cm^-1 or the carbon window "
            f"1150-1700 cm^-1; the map covers {shift.min():g}-{shift.max():g} cm^-1"
        )
    # The union of bands of the candidates, in library order.
    bands: list[Band] = []
    for cands, results, _ in chosen.values():
        for ds, name in zip(results, cands, strict=True):
            if ds is None:
                continue
            for b in model_bands(name):
                if b.name not in [x.name for x in bands]:
                    bands.append(b)
    peaks = [b.name for b in bands]
    quant = {q: np.full((len(peaks), ny, nx), np.nan) for q in _Q_UNITS}
    qerr = {q: np.full((len(peaks), ny, nx), np.nan) for q in _Q_UNITS}
    images: dict[str, list[np.ndarray]] = {}
    success = finite.copy()
    at_bound = np.zeros((ny, nx), bool)
    chi2 = np.zeros((ny, nx))
    ndata = np.zeros((ny, nx))
    nvary = np.zeros((ny, nx))
    noise = np.full((ny, nx), np.nan)
    pnames: list[str] = []
    pvals: dict[str, np.ndarray] = {}
    perrs: dict[str, np.ndarray] = {}
    out = xr.Dataset()
    for region, (cands, results, pick) in chosen.items():
        for k, ds in enumerate(results):
            sel = pick == k
            if ds is None:
                chi, n_r, k_r = none_stats[region]
                chi2 = np.where(sel, chi2 + np.nan_to_num(chi), chi2)
                ndata = np.where(sel, ndata + n_r, ndata)
                nvary = np.where(sel, nvary + k_r, nvary)
                continue
            success &= ~sel | ds["success"].values
            at_bound |= sel & ds["at_bound"].values
            chi2 = np.where(sel, chi2 + np.nan_to_num(ds["chisqr"].values), chi2)
            ndata = np.where(sel, ndata + ds.attrs["ndata"], ndata)
            nvary = np.where(sel, nvary + ds.attrs["nvarys"], nvary)
            noise = np.where(sel, np.fmax(noise, ds["noise"].values), noise)
            for pk in ds["peak"].values.tolist():
                i = peaks.index(pk)
                for q in _Q_UNITS:
                    quant[q][i] = np.where(sel, ds[q].sel(peak=pk).values, quant[q][i])
                    qerr[q][i] = np.where(sel, ds[f"{q}_stderr"].sel(peak=pk).values, qerr[q][i])
            for img in _IMG_UNITS:
                if img in ds:
                    cur = images.setdefault(img, [np.full((ny, nx), np.nan)] * 2)
                    images[img] = [
                        np.where(sel, ds[img].values, cur[0]),
                        np.where(sel, ds[f"{img}_stderr"].values, cur[1]),
                    ]
            for j, pn in enumerate(ds["parameter"].values.tolist()):
                key = f"bkg_{region}_" + pn.split("_", 1)[1] if pn.startswith("bkg") else pn
                if key not in pvals:
                    pnames.append(key)
                    pvals[key] = np.full((ny, nx), np.nan)
                    perrs[key] = np.full((ny, nx), np.nan)
                pvals[key] = np.where(sel, ds["parameter_value"].values[j], pvals[key])
                perrs[key] = np.where(sel, ds["parameter_stderr"].values[j], perrs[key])
        if region == "si":
            # Xc is 1 where only c-Si was chosen and 0 where only a-Si was (as for spectra).
            xc = images.setdefault("crystalline_fraction", [np.full((ny, nx), np.nan)] * 2)
            has_c = np.isin(pick, [cands.index(c) for c in ("c-si", "c-si-pv") if c in cands])
            has_a = pick == cands.index("a-si")
            images["crystalline_fraction"] = [
                np.where(has_c, 1.0, np.where(has_a, 0.0, xc[0])),
                np.where(has_c | has_a, 0.0, xc[1]),
            ]
        out[f"model_{region}"] = xr.Variable(
            ("y", "x"),
            pick,
            {
                "units": "1",
                "flag_values": list(range(len(cands))),
                "flag_meanings": " ".join(cands),
                "criterion": _AUTO_CRITERION,
            },
        )
    out = out.assign_coords(
        peak=xr.Variable("peak", np.array(peaks), {"units": "1"}),
        y=cube["y"].variable.copy(),
        x=cube["x"].variable.copy(),
        candidate=xr.Variable("candidate", np.array(cand_names), {"units": "1"}),
        parameter=xr.Variable("parameter", np.array(pnames), {"units": "1"}),
    )
    for q in quant:
        out[q] = xr.Variable(("peak", "y", "x"), quant[q], {"units": _Q_UNITS[q]})
        out[f"{q}_stderr"] = xr.Variable(("peak", "y", "x"), qerr[q], {"units": _Q_UNITS[q]})
    for name, (val, err) in images.items():
        out[name] = xr.Variable(("y", "x"), val, {"units": _IMG_UNITS.get(name, "")})
        out[f"{name}_stderr"] = xr.Variable(("y", "x"), err, {"units": _IMG_UNITS.get(name, "")})
    out["candidate_bic"] = xr.Variable(("candidate", "y", "x"), np.stack(cand_bic), {"units": "1"})
    out["noise"] = xr.Variable(("y", "x"), noise, {"units": "counts"})
    out["chisqr"] = xr.Variable(("y", "x"), np.where(finite, chi2, np.nan), {"units": "counts^2"})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["redchi"] = xr.Variable(("y", "x"), chi2 / (ndata - nvary), {"units": "counts^2"})
    out["success"] = xr.Variable(("y", "x"), success, {"units": "1"})
    out["at_bound"] = xr.Variable(("y", "x"), at_bound, {"units": "1"})
    out["parameter_value"] = xr.Variable(
        ("parameter", "y", "x"), np.stack([pvals[k] for k in pnames]), {"units": ""}
    )
    out["parameter_stderr"] = xr.Variable(
        ("parameter", "y", "x"), np.stack([perrs[k] for k in pnames]), {"units": ""}
    )
    groups = {
        region: {"window_cm-1": list(AUTO_REGIONS[region][0]), "candidates": cands}
        for region, (cands, _, _) in chosen.items()
    }
    out.attrs = {"fit_groups": groups}
    return out


_SI_CORE = (440.0, 540.0)
_CARBON_CORE = (1150.0, 1700.0)
_AUTO_CRITERION = (
    "per pixel and region: fewest parameters within ΔBIC 10 of the lowest BIC among "
    "candidates that converged without a band centre/width on a bound (Kass & Raftery 1995)"
)


def fit_map(
    cube: xr.DataArray,
    *,
    model: str = "si-carbon",
    despike: bool = True,
    calibration: ShiftCalibration | None = None,
    crop_range: tuple[float, float] | None = None,
    baseline: str | None = None,
    baseline_params: Mapping[str, Any] | None = None,
    background_degree: int | str | None = "auto",
    laser_nm: float | None = None,
    chunk_pixels: int | None = None,
    y_ratio: float = Y_CROSS_SECTION,
    reference: float = CSI_REFERENCE,
    max_iter: int = 200,
    delta_bic: float = DELTA_BIC,
) -> MapResult:
    """Fit every pixel of a Raman map, with one model or a model chosen per pixel.

    Parameters
    ----------
    cube
        ``intensity`` on ``(y, x, raman_shift)`` (a map reader's output), numpy- or
        dask-backed.
    model
        A model name of :data:`charact.raman.models.MODELS` (``"si-carbon"`` by default), or
        ``"auto"``: every candidate of :data:`AUTO_REGIONS` is fitted to every pixel by the
        batch engine and each pixel gets, per region, the candidate with the fewest
        parameters whose BIC is within ``delta_bic`` of its lowest BIC, among candidates that
        converged without a band centre or width on a bound (the single-spectrum criterion of
        :func:`charact.raman.fit.compare_models`). The choice is in ``model_si`` and
        ``model_carbon`` (CF flags) and every candidate's BIC in ``candidate_bic``.
    despike, calibration, crop_range, baseline, baseline_params, background_degree
        As in :func:`charact.raman.fit.fit_spectrum` (a pybaselines baseline runs per pixel
        and is slow on large maps; the default fits a polynomial with the bands).
    laser_nm
        Excitation wavelength for La (nm); from the attrs when omitted.
    chunk_pixels
        Fit in dask chunks of about this many pixels (rows of the map) on all cores; None
        fits the cube as it is chunked (or in one go for numpy). The whole result is held in
        memory (with ``model="auto"`` also the preprocessed cube, computed once for all
        candidates): for maps whose results should go to disk chunk by chunk, use
        :func:`fit_map_to_netcdf`.
    y_ratio, reference
        As in :func:`charact.raman.fit.fit_spectrum`.
    max_iter
        Levenberg–Marquardt iterations per pixel.
    delta_bic
        The BIC margin of ``model="auto"``.

    Returns
    -------
    MapResult

    Raises
    ------
    InputError
        Wrong dims, or a model whose bands the spectral range does not hold.
    """
    cube, label = _check_cube(cube)
    shift = np.asarray(cube["raman_shift"].values, float)
    lo, hi = crop_range if crop_range is not None else (shift.min(), shift.max())
    lo, hi = max(lo, shift.min()), min(hi, shift.max())
    if model != "auto":
        _check_range(model, model_bands(model), lo, hi, label)
    prep = _prepare(
        cube,
        label,
        despike=despike,
        calibration=calibration,
        crop_range=crop_range,
        baseline=baseline,
        baseline_params=baseline_params,
        background_degree=background_degree,
        laser_nm=laser_nm,
        chunk_pixels=chunk_pixels,
    )
    if model == "auto":
        out = _fit_auto(
            prep,
            background_degree=background_degree,
            y_ratio=y_ratio,
            reference=reference,
            max_iter=max_iter,
            delta_bic=delta_bic,
        )
        criterion = _AUTO_CRITERION
    else:
        out, _finite = _fit_model(
            prep,
            model,
            background_degree=background_degree,
            y_ratio=y_ratio,
            reference=reference,
            max_iter=max_iter,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out["redchi"] = xr.Variable(
                ("y", "x"),
                out["chisqr"].values / (out.attrs["ndata"] - out.attrs["nvarys"]),
                {"units": "counts^2"},
            )
        criterion = "forced by the user"
    return MapResult(_finish(out, prep, model, criterion, y_ratio=y_ratio, reference=reference))


def _finish(
    out: xr.Dataset,
    prep: _Prepared,
    model: str,
    criterion: str,
    *,
    y_ratio: float,
    reference: float,
) -> xr.Dataset:
    """Stress, Si state, failure reasons and the provenance attrs of a fitted map."""
    peaks = out["peak"].values.tolist()
    ny, nx = out.sizes["y"], out.sizes["x"]
    if "shift_cm-1" in out:
        out["stress_MPa"] = xr.Variable(
            ("y", "x"),
            STRESS_COEFFICIENT * out["shift_cm-1"].values,
            {
                "units": "MPa",
                "coefficient_MPa_per_cm-1": STRESS_COEFFICIENT,
                "source": "biaxial stress, I. De Wolf, Semicond. Sci. Technol. 11, 139 (1996)",
            },
        )
        out["stress_MPa_stderr"] = xr.Variable(
            ("y", "x"), abs(STRESS_COEFFICIENT) * out["shift_cm-1_stderr"].values, {"units": "MPa"}
        )
    noise = out["noise"].values

    # Si state per pixel: a band is present when area > 3 stderr and height > 3 noise σ.
    def present(band: str) -> np.ndarray:
        if band not in peaks:
            return np.zeros((ny, nx), bool)
        i = peaks.index(band)
        a, ae = out["area"].values[i], out["area_stderr"].values[i]
        h = out["height"].values[i]
        with np.errstate(invalid="ignore"):
            return (a > 3 * np.where(np.isfinite(ae), ae, np.inf)) & (h > 3 * noise)

    c, a = present("c-Si"), present("a-Si")
    state = np.where(c & a, 3, np.where(c, 1, np.where(a, 2, 0))).astype(np.int8)
    out["si_state"] = xr.Variable(
        ("y", "x"),
        state,
        {
            "units": "1",
            "flag_values": list(range(len(SI_STATES))),
            "flag_meanings": " ".join(SI_STATES),
        },
    )
    finite = np.isfinite(out["chisqr"].values)
    success = out["success"].values.astype(bool)
    failure = np.where(
        success, "", np.where(finite, "did not converge", "missing, NaN or inf data")
    )
    out["failure"] = xr.Variable(("y", "x"), failure.astype(str), {"units": "1"})
    out = out.drop_vars(["noise", "chisqr"] + (["bic"] if "bic" in out else []))
    prov = {k: str(prep.cube.attrs.get(k, "")) for k in PROVENANCE_ATTRS}
    out.attrs = {
        **prov,
        "analysis": "raman.map",
        "model_name": model,
        "model_criterion": criterion,
        "fit_groups": out.attrs.get("fit_groups"),
        "baseline": prep.info["baseline"],
        "preprocessing": {k: v for k, v in prep.info.items() if k != "baseline"},
        "laser_nm": float("nan") if prep.laser_nm is None else float(prep.laser_nm),
        "y_crystalline_fraction": y_ratio,
        "y_source": "Bustarret, Hachicha, Brunel, Appl. Phys. Lett. 52, 1675 (1988)",
        "reference_cm-1": reference,
        "created": now_iso(),
        "charact_version": charact_version(),
    }
    return out


# --------------------------------------------------------------------------- maps to disk


def _nc_dtype(values: np.ndarray) -> Any:
    if values.dtype.kind in "UO":
        import h5py

        return h5py.string_dtype()
    if values.dtype == bool:
        return np.int8
    return values.dtype


def fit_map_to_netcdf(
    cube: xr.DataArray,
    path: str | PathLike[str],
    *,
    chunk_pixels: int = 2500,
    parallel: bool = True,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Fit a map block by block and write each block's results to netCDF as it is done.

    Memory is bounded by one block (``chunk_pixels`` pixels, whole rows of the map) of the
    cube and of its results, whatever the map size: the cube may be lazy (an
    ``xr.open_dataarray(..., chunks=...)`` of a netCDF file, a dask array), and each block is
    loaded, fitted with :func:`fit_map` and written into the file's variables by region
    (h5netcdf) before the next one. A pixel that fails is flagged in ``success``/``failure``
    and never stops the map. The file is written to a temporary name and renamed at the end.

    Parameters
    ----------
    cube
        ``(y, x, raman_shift)`` map, numpy-, dask- or file-backed.
    path
        The netCDF file to write (the same variables as :func:`fit_map`'s Dataset; read it
        back with :func:`charact.core.store.load_netcdf`).
    chunk_pixels
        Pixels per block (rounded to whole rows).
    parallel
        Split each block into one dask chunk per core (or per worker of an active
        ``dask.distributed`` client) when dask is installed (the ``maps`` extra); the results
        are the same as in one piece.
    progress
        ``progress(done_rows, total_rows)`` called after each block.
    **options
        Passed to :func:`fit_map` (``model``, ``baseline``, ``calibration`` …).

    Returns
    -------
    dict
        The JSON summary (:meth:`MapResult.summary`), accumulated block by block.
    """
    import h5netcdf

    from ..core.store import atomic_path, encode_netcdf_attrs

    cube, label = _check_cube(cube)
    if chunk_pixels < 1:
        raise InputError(f"chunk_pixels must be >= 1, got {chunk_pixels}")
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    if ny == 0 or nx == 0:
        raise InputError(f"{label}: the map has no pixels (y {ny}, x {nx})")
    rows = max(1, int(chunk_pixels) // max(1, nx))
    inner = None
    if parallel and "chunk_pixels" not in options:
        try:
            import dask  # noqa: F401

            cores = os.cpu_count() or 1
            if cores > 1 and rows * nx > cores:
                inner = max(nx, rows * nx // cores)
        except ImportError:
            pass
    summary = _SummaryAccumulator()
    target = Path(path)
    with atomic_path(target) as tmp:
        f = None
        try:
            for j0 in range(0, ny, rows):
                block = cube.isel(y=slice(j0, min(ny, j0 + rows)))
                block = block.copy(data=np.asarray(block.values, float))
                ds = fit_map(block, chunk_pixels=inner, **options).dataset
                if f is None:
                    f = h5netcdf.File(tmp, "w")
                    first = ds
                    for dim, size in ds.sizes.items():
                        f.dimensions[dim] = ny if dim == "y" else size
                    for name, var in ds.variables.items():
                        kw: dict[str, Any] = {}
                        if var.dtype.kind == "f":
                            kw["fillvalue"] = np.nan
                        v = f.create_variable(
                            name, var.dims, _nc_dtype(var.values), chunks=None, **kw
                        )
                        if "y" not in var.dims:
                            v[...] = var.values
                        attrs = encode_netcdf_attrs(dict(var.attrs))
                        if var.dtype == bool:
                            attrs["dtype"] = "bool"
                        for key, val in attrs.items():
                            v.attrs[key] = val
                    f.variables["y"][:] = cube["y"].values
                for name, var in ds.variables.items():
                    if "y" not in var.dims or name == "y":
                        continue
                    index = tuple(
                        slice(j0, j0 + var.sizes["y"]) if d == "y" else slice(None)
                        for d in var.dims
                    )
                    vals = var.values
                    f.variables[name][index] = vals.astype(np.int8) if vals.dtype == bool else vals
                summary.add(ds)
                if progress is not None:
                    progress(min(ny, j0 + rows), ny)
            attrs = dict(first.attrs)
            attrs["chunked"] = {"rows_per_block": rows, "blocks": math.ceil(ny / rows)}
            for key, val in encode_netcdf_attrs(attrs).items():
                f.attrs[key] = val
        finally:
            if f is not None:
                f.close()
    return summary.result(first)
