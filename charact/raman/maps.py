"""Fit whole Raman maps: every pixel with the same model, through the batch engine.

:func:`fit_map` runs the single-spectrum pipeline of :mod:`charact.raman.fit` on a map cube
``(y, x, raman_shift)``: despike, optional shift calibration, crop, optional baseline, then one
vectorized fit per fit group (:func:`charact.raman.models.fit_groups`) with
:func:`charact.core.batchfit.fit_dataarray` — chunk by chunk when the cube is dask-backed, so a
map larger than memory is fitted on all cores (or a ``dask.distributed`` cluster) with bounded
memory. Starting values come from each pixel's own data; a pixel that cannot be fitted (missing,
NaN, no convergence) is flagged in ``success`` and never stops the map.

The result is a Dataset with ``center``, ``fwhm``, ``height``, ``area`` (+ ``_stderr``) on
``(peak, y, x)``, the derived images ``ID_IG_height``, ``ID_IG_area``, ``crystalline_fraction``,
``shift_cm-1``, ``La_nm`` (+ ``_stderr``), the Si state per pixel, fit statistics, and the
whole parameter table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    STRESS_COEFFICIENT,
    Y_CROSS_SECTION,
    ShiftCalibration,
    _group_degree,
    _spike_mask,
    peak_quantities,
)
from .models import Band, build_model, fit_groups, model_bands

__all__ = ["SI_STATES", "MapResult", "despike_map", "fit_map"]

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


@dataclass
class MapResult:
    """The fitted map: :attr:`dataset` and what :meth:`summary` says about it."""

    dataset: xr.Dataset

    def summary(self) -> dict[str, Any]:
        """Per image: mean, std, min, max over converged pixels; the pixels that failed."""
        ds = self.dataset
        ok = ds["success"].values.astype(bool)
        stats: dict[str, Any] = {}

        def describe(values: np.ndarray) -> dict[str, Any]:
            v = values[ok & np.isfinite(values)]
            if v.size == 0:
                return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
            return {
                "mean": float(v.mean()),
                "std": float(v.std()),
                "min": float(v.min()),
                "max": float(v.max()),
                "n": int(v.size),
            }

        for peak in ds["peak"].values.tolist():
            for q in ("center", "fwhm", "height", "area"):
                stats[f"{peak}.{q}"] = describe(ds[q].sel(peak=peak).values)
        for name in (
            "ID_IG_height",
            "ID_IG_area",
            "crystalline_fraction",
            "shift_cm-1",
            "La_nm",
            "redchi",
        ):
            if name in ds:
                stats[name] = describe(ds[name].values)
        failed = [
            {
                "y_um": float(ds["y"].values[j]),
                "x_um": float(ds["x"].values[i]),
                "reason": str(ds["failure"].values[j, i]),
            }
            for j, i in np.argwhere(~ok)
        ]
        states = ds["si_state"].values
        counts = {s: int((states[ok] == k).sum()) for k, s in enumerate(SI_STATES)}
        return {
            "analysis": "raman.map",
            "model": ds.attrs.get("model_name"),
            "shape": {"y": int(ds.sizes["y"]), "x": int(ds.sizes["x"])},
            "pixels": int(ok.size),
            "pixels_fitted": int(ok.sum()),
            "pixels_failed": failed,
            "si_state_counts": counts,
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
    return funcs


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
) -> MapResult:
    """Fit every pixel of a Raman map with one model.

    Parameters
    ----------
    cube
        ``intensity`` on ``(y, x, raman_shift)`` (a map reader's output), numpy- or
        dask-backed.
    model
        A model name of :data:`charact.raman.models.MODELS` (``"si-carbon"`` by default;
        ``"auto"`` is not offered for maps — compare models on a few spectra first).
    despike, calibration, crop_range, baseline, baseline_params, background_degree
        As in :func:`charact.raman.fit.fit_spectrum` (a pybaselines baseline runs per pixel
        and is slow on large maps; the default fits a polynomial with the bands).
    laser_nm
        Excitation wavelength for La (nm); from the attrs when omitted.
    chunk_pixels
        Fit in chunks of about this many pixels (rows of the map) with dask; None fits the
        cube as it is chunked (or in one go for numpy).
    y_ratio, reference
        As in :func:`charact.raman.fit.fit_spectrum`.
    max_iter
        Levenberg–Marquardt iterations per pixel.

    Returns
    -------
    MapResult

    Raises
    ------
    InputError
        Wrong dims, or a model whose bands the spectral range does not hold.
    """
    if not isinstance(cube, xr.DataArray) or set(cube.dims) != {"y", "x", "raman_shift"}:
        dims = getattr(cube, "dims", None)
        raise InputError(f"expected a map with dims (y, x, raman_shift), found {dims}")
    if model == "auto":
        raise InputError(
            "model 'auto' is for single spectra; fit a few pixels with `charact raman fit "
            "--model auto` and pass the chosen model to the map"
        )
    label = cube.attrs.get("source_file") or "map"
    cube = cube.transpose("y", "x", "raman_shift")
    if cube["raman_shift"].values[0] > cube["raman_shift"].values[-1]:
        cube = cube.isel(raman_shift=slice(None, None, -1))
    shift = np.asarray(cube["raman_shift"].values, float)
    if np.any(np.diff(shift) <= 0):
        raise InputError(f"{label}: the raman_shift axis is not strictly monotonic")
    if laser_nm is None:
        lw = cube.attrs.get("laser_wavelength")
        laser_nm = float(lw) if lw is not None and math.isfinite(float(lw)) else None
    bands = model_bands(model)
    lo, hi = crop_range if crop_range is not None else (shift.min(), shift.max())
    lo, hi = max(lo, shift.min()), min(hi, shift.max())
    outside = [b.name for b in bands if b.center_range[1] < lo or b.center_range[0] > hi]
    if outside:
        raise InputError(
            f"{label}: model {model!r} cannot apply to the spectral range {lo:g}-{hi:g} "
            f"cm^-1: band(s) {', '.join(outside)} lie outside it"
        )
    if chunk_pixels is not None:
        try:
            import dask
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
    peaks = [b.name for b in bands]
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    out = xr.Dataset(
        coords={
            "peak": xr.Variable("peak", np.array(peaks), {"units": "1"}),
            "y": cube["y"].variable.copy(),
            "x": cube["x"].variable.copy(),
        }
    )
    quant = {q: np.full((len(peaks), ny, nx), np.nan) for q in ("center", "fwhm", "height", "area")}
    qerr = {q: np.full((len(peaks), ny, nx), np.nan) for q in quant}
    images: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    success = np.ones((ny, nx), bool)
    chi2 = np.zeros((ny, nx))
    ndata = 0
    nvarys = 0
    param_vals, param_errs, param_names = [], [], []
    noise_by_group = []
    group_info = []
    pending: list[tuple[xr.Dataset, Any, list[str], np.ndarray]] = []
    for k, grp in enumerate(fit_groups(bands)):
        g_lo = max(lo, min(b.region[0] for b in grp))
        g_hi = min(hi, max(b.region[1] for b in grp))
        part = cube.sel(raman_shift=slice(g_lo, g_hi))
        xg = np.asarray(part["raman_shift"].values, float)
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
            laser_nm=laser_nm,
            y_ratio=y_ratio,
            reference=reference,
        )
        lazy = fit_dataarray(
            part, rmodel.batch, dim="raman_shift", derived=funcs, max_iter=max_iter
        )
        pending.append((lazy, rmodel, names, xg))
        group_info.append(
            {
                "bands": [b.name for b in grp],
                "region_cm-1": [g_lo, g_hi],
                "background_degree": rmodel.background_degree,
                "engine_model": rmodel.batch.to_dict(),
            }
        )
    # One pass over a chunked cube for all groups: each chunk is read and despiked once.
    finite_lazy = ~cube.isnull().any("raman_shift")
    if cube.chunks is not None:
        import dask  # the optional `maps` extra; only chunked cubes need it

        computed = dask.compute(finite_lazy, *[p[0] for p in pending])
    else:
        computed = (finite_lazy, *[p[0] for p in pending])
    finite = np.asarray(computed[0].values)
    for res, (_, rmodel, names, xg) in zip(computed[1:], pending, strict=True):
        ok = res["success"].values.astype(bool)
        success &= ok
        chi2 += res["chisqr"].values
        ndata += xg.size
        nvarys += len(rmodel.batch.varying)
        noise_by_group.append(np.sqrt(res["redchi"].values))
        param_vals.append(res["value"].values)
        param_errs.append(res["stderr"].values)
        param_names += names
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
    units = {"center": "cm^-1", "fwhm": "cm^-1", "height": "counts", "area": "counts*cm^-1"}
    for q in quant:
        out[q] = xr.Variable(("peak", "y", "x"), quant[q], {"units": units[q]})
        out[f"{q}_stderr"] = xr.Variable(("peak", "y", "x"), qerr[q], {"units": units[q]})
    img_units = {
        "ID_IG_height": "1",
        "ID_IG_area": "1",
        "crystalline_fraction": "1",
        "shift_cm-1": "cm^-1",
        "La_nm": "nm",
    }
    for name, (val, err) in images.items():
        out[name] = xr.Variable(("y", "x"), val, {"units": img_units.get(name, "")})
        out[f"{name}_stderr"] = xr.Variable(("y", "x"), err, {"units": img_units.get(name, "")})
    if "shift_cm-1" in images:
        out["stress_MPa"] = xr.Variable(
            ("y", "x"),
            STRESS_COEFFICIENT * images["shift_cm-1"][0],
            {
                "units": "MPa",
                "coefficient_MPa_per_cm-1": STRESS_COEFFICIENT,
                "source": "biaxial stress, I. De Wolf, Semicond. Sci. Technol. 11, 139 (1996)",
            },
        )
    # Si state per pixel: a band is present when area > 3 stderr and height > 3 noise σ.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of missing pixels
        noise = np.nanmax(np.stack(noise_by_group), axis=0)

    def present(band: str) -> np.ndarray:
        if band not in peaks:
            return np.zeros((ny, nx), bool)
        i = peaks.index(band)
        a, ae, h = quant["area"][i], qerr["area"][i], quant["height"][i]
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
    out["success"] = xr.Variable(("y", "x"), success, {"units": "1"})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["redchi"] = xr.Variable(("y", "x"), chi2 / (ndata - nvarys), {"units": "counts^2"})
    failure = np.where(success, "", np.where(finite, "did not converge", "missing or NaN data"))
    out["failure"] = xr.Variable(("y", "x"), failure.astype(str), {"units": "1"})
    out = out.assign_coords(
        parameter=xr.Variable("parameter", np.array(param_names), {"units": "1"})
    )
    out["parameter_value"] = xr.Variable(
        ("parameter", "y", "x"), np.moveaxis(np.concatenate(param_vals, -1), -1, 0), {"units": ""}
    )
    out["parameter_stderr"] = xr.Variable(
        ("parameter", "y", "x"), np.moveaxis(np.concatenate(param_errs, -1), -1, 0), {"units": ""}
    )
    prov = {k: str(cube.attrs.get(k, "")) for k in PROVENANCE_ATTRS}
    out.attrs = {
        **prov,
        "analysis": "raman.map",
        "model_name": model,
        "fit_groups": group_info,
        "baseline": info["baseline"],
        "preprocessing": {k: v for k, v in info.items() if k != "baseline"},
        "laser_nm": float("nan") if laser_nm is None else float(laser_nm),
        "y_crystalline_fraction": y_ratio,
        "y_source": "Bustarret, Hachicha, Brunel, Appl. Phys. Lett. 52, 1675 (1988)",
        "reference_cm-1": reference,
        "created": now_iso(),
        "charact_version": charact_version(),
    }
    return MapResult(out)
