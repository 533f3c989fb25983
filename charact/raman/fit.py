"""Fit Raman spectra of Si/C electrodes: c-Si, a-Si and carbon bands with uncertainties.

The pipeline of :func:`fit_spectrum`:

1. **despike** (:func:`despike`) — cosmic rays are found by the modified z-score of the
   first difference (Whitaker & Hayes, Chemometr. Intell. Lab. Syst. 179, 82 (2018)) and only
   those one- or two-pixel features are replaced; the spectrum is never smoothed (a median
   filter would cut a sharp c-Si peak);
2. **calibrate** the shift axis against a measured c-Si reference (:func:`calibrate_shift`);
3. **crop** to the range the model needs;
4. **baseline** through :mod:`charact.core.baselines` (method and parameters recorded);
5. **fit** a model of :mod:`charact.raman.models` with lmfit (a polynomial background is
   fitted with the bands), from per-band starting values found in the data
   (:func:`charact.core.batchfit.guess_stack`, the same as for maps);
6. **derive** band heights/areas, I_D/I_G by height and by area, La, the Si crystalline
   fraction, the c-Si shift and the stress it implies, and the Si state — each with a
   standard error propagated from the fit covariance (first-order, with numeric gradients).

With ``model="auto"`` the candidates of the Si region and of the carbon region are fitted
side by side and chosen by BIC (:func:`compare_models`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..core.baselines import estimate_baseline
from ..core.batchfit import BatchModel, BatchResult, fit_stack, guess_stack, propagate
from ..core.data import FitResult, Parameter, check_axis, provenance_of
from ..core.errors import CalibrationError, FitError, InputError
from ..core.lineshapes import get_lineshape
from .models import Band, RamanModel, build_model, fit_groups, model_bands

__all__ = [
    "CSI_REFERENCE",
    "DELTA_BIC",
    "STRESS_COEFFICIENT",
    "Y_CROSS_SECTION",
    "ModelCandidate",
    "RamanFit",
    "ShiftCalibration",
    "calibrate_shift",
    "compare_models",
    "crop",
    "derive_quantities",
    "despike",
    "fit_spectrum",
    "peak_quantities",
    "prepare_spectrum",
]

#: c-Si phonon of unstrained bulk Si at room temperature (cm^-1); Parker et al. 1967.
CSI_REFERENCE = 520.5
#: Ratio y of the integrated Raman cross sections of c-Si and a-Si in Xc = Ic/(Ic + y·Ia);
#: 0.88 from Bustarret, Hachicha, Brunel, Appl. Phys. Lett. 52, 1675 (1988).
Y_CROSS_SECTION = 0.88
#: Biaxial stress per cm^-1 of c-Si phonon shift (MPa per cm^-1), σ = -250 MPa·Δω:
#: I. De Wolf, Semicond. Sci. Technol. 11, 139 (1996). Negative σ = compressive.
STRESS_COEFFICIENT = -250.0
#: BIC difference a more complex model must win by (Kass & Raftery, J. Am. Stat. Assoc. 90,
#: 773 (1995): ΔBIC > 10 is "very strong" evidence).
DELTA_BIC = 10.0
#: Cançado et al., Appl. Phys. Lett. 88, 163106 (2006): La (nm) = 2.4e-10 λ⁴ (I_D/I_G)⁻¹,
#: λ in nm, I the integrated (area) intensities.
_CANCADO = 2.4e-10

_SI_WINDOW = (440.0, 540.0)
_CARBON_WINDOW = (1150.0, 1700.0)


# --------------------------------------------------------------------------- preprocessing


def _label(da: xr.DataArray) -> str:
    return str(da.attrs.get("source_file") or da.name or "spectrum")


def _as_spectrum(da: xr.DataArray) -> xr.DataArray:
    if not isinstance(da, xr.DataArray):
        raise InputError(f"expected a Raman spectrum DataArray, got {type(da).__name__}")
    if "raman_shift" not in da.dims or da.ndim != 1:
        raise InputError(
            f"{_label(da)}: expected a 1-D spectrum on 'raman_shift', found dims {da.dims}"
        )
    check_axis(da, "raman_shift")
    vals = np.asarray(da.values, float)
    if not np.all(np.isfinite(vals)):
        bad = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise InputError(
            f"{_label(da)}: intensity is NaN or inf at raman_shift "
            f"{float(da['raman_shift'][bad]):g} cm^-1 (index {bad})"
        )
    if da["raman_shift"].values[0] > da["raman_shift"].values[-1]:
        da = da.isel(raman_shift=slice(None, None, -1))
    return da


def _spike_mask(y: np.ndarray, *, threshold: float, max_width: int) -> np.ndarray:
    """Boolean mask of spike pixels along the last axis of ``y`` (any leading dims)."""
    dy = np.diff(y, axis=-1)
    med = np.median(dy, axis=-1, keepdims=True)
    mad = np.median(np.abs(dy - med), axis=-1, keepdims=True)
    mad = np.where(mad > 0, mad, np.maximum(np.std(dy, axis=-1, keepdims=True), 1e-12))
    # Noise grows with the signal (shot noise), so the MAD is also taken in segments of 32
    # differences and the larger of local and global is used: a noise blip on a band is not
    # a spike, while a cosmic ray stands out against either.
    seg = 32
    nd = dy.shape[-1]
    nseg = max(1, nd // seg)
    head = dy[..., : nseg * seg].reshape(*dy.shape[:-1], nseg, seg)
    local = np.median(np.abs(head - np.median(head, axis=-1, keepdims=True)), axis=-1)
    local = np.repeat(local, seg, axis=-1)
    if local.shape[-1] < nd:
        local = np.concatenate(
            [local, np.repeat(local[..., -1:], nd - local.shape[-1], axis=-1)], axis=-1
        )
    local = local[..., :nd]
    mad = np.maximum(mad, local)
    z = 0.6745 * (dy - med) / mad
    flag = np.zeros(y.shape, bool)
    # A point is a candidate when the difference into it or out of it is extreme.
    big = np.abs(z) > threshold
    flag[..., 1:] |= big
    flag[..., :-1] |= big
    mask = np.zeros(y.shape, bool)
    flat_y = y.reshape(-1, y.shape[-1])
    flat_f = flag.reshape(-1, y.shape[-1])
    flat_m = mask.reshape(-1, y.shape[-1])
    m = y.shape[-1]
    for row in np.flatnonzero(flat_f.any(axis=1)):
        yy = flat_y[row]
        for i in np.flatnonzero(flat_f[row]):
            if flat_m[row, i]:
                continue
            lo, hi = max(0, i - 6), min(m, i + 7)
            ring = np.r_[yy[lo : max(lo, i - 2)], yy[min(hi, i + 3) : hi]]
            if ring.size < 2:
                continue
            base = np.median(ring)
            excess = yy[lo:hi] - base
            top = excess[i - lo]
            if top <= 0 or top < threshold * 1.4826 * mad.reshape(-1, nd)[row, min(i, nd - 1)]:
                continue
            # The run of points above half the spike's excess, around i.
            a = i
            while a - 1 >= lo and excess[a - 1 - lo] > top / 2:
                a -= 1
            b = i
            while b + 1 < hi and excess[b + 1 - lo] > top / 2:
                b += 1
            if b - a + 1 > max_width:
                continue
            # A real band (even a sharp c-Si line) has shoulders; a cosmic ray has none.
            outer = [excess[k - lo] for k in (a - 1, b + 1) if lo <= k < hi]
            if outer and max(outer) < 0.15 * top and excess[a - lo : b + 1 - lo].max() == top:
                flat_m[row, a : b + 1] = True
    return mask


def despike(
    da: xr.DataArray, *, threshold: float = 7.0, max_width: int = 2, dim: str = "raman_shift"
) -> tuple[xr.DataArray, int]:
    """Remove cosmic-ray spikes; return the cleaned array and the number of pixels replaced.

    A pixel is a spike candidate when the modified z-score of the first difference
    (0.6745·(Δy − median)/MAD, Whitaker & Hayes 2018) into or out of it exceeds ``threshold``;
    it is replaced (linear interpolation between its neighbours) only if the feature is at most
    ``max_width`` pixels wide above half its height and has no shoulders (neighbours below 15 %
    of its excess). A real band — even the c-Si line sampled at 2–3 points per FWHM — has
    shoulders and is left alone. Works on spectra and on stacks (maps) along ``dim``.
    """
    if dim not in da.dims:
        raise InputError(f"{_label(da)}: no dim {dim!r} to despike along")
    if threshold <= 0 or max_width < 1:
        raise InputError("despike: threshold must be > 0 and max_width >= 1")
    moved = da.transpose(..., dim)
    y = np.array(moved.values, float)
    finite = np.all(np.isfinite(y), axis=-1)
    mask = np.zeros(y.shape, bool)
    if finite.any():
        mask[finite] = _spike_mask(y[finite], threshold=threshold, max_width=max_width)
    n = int(mask.sum())
    if n:
        x = np.asarray(moved[dim].values, float)
        flat_y = y.reshape(-1, y.shape[-1])
        flat_m = mask.reshape(-1, y.shape[-1])
        for row in np.flatnonzero(flat_m.any(axis=1)):
            keep = ~flat_m[row]
            flat_y[row, ~keep] = np.interp(x[~keep], x[keep], flat_y[row, keep])
    out = moved.copy(data=y).transpose(*da.dims)
    out.attrs = dict(da.attrs)
    return out, n


def crop(da: xr.DataArray, lo: float, hi: float, *, dim: str = "raman_shift") -> xr.DataArray:
    """The part of ``da`` with ``lo <= dim <= hi`` (any axis direction).

    Raises
    ------
    InputError
        When fewer than 10 points remain.
    """
    lo, hi = sorted((float(lo), float(hi)))
    x = np.asarray(da[dim].values, float)
    keep = (x >= lo) & (x <= hi)
    if keep.sum() < 10:
        raise InputError(
            f"{_label(da)}: only {int(keep.sum())} points between {lo:g} and {hi:g} cm^-1 "
            f"(the spectrum covers {x.min():g}-{x.max():g} cm^-1)"
        )
    return da.isel({dim: np.flatnonzero(keep)})


@dataclass
class ShiftCalibration:
    """A shift correction from a measured c-Si reference.

    ``offset`` (cm^-1) is added to the shift axis of later spectra:
    ``offset = reference − measured``.
    """

    measured: float
    measured_stderr: float
    reference: float = CSI_REFERENCE
    source_file: str = ""
    source_sha256: str = ""

    @property
    def offset(self) -> float:
        return self.reference - self.measured

    def apply(self, da: xr.DataArray, *, dim: str = "raman_shift") -> xr.DataArray:
        """``da`` with the shift axis corrected (attrs record the calibration)."""
        out = da.assign_coords({dim: da[dim] + self.offset})
        out[dim].attrs = dict(da[dim].attrs)
        out.attrs = {**da.attrs, "shift_calibration": self.to_dict()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_cm-1": self.reference,
            "measured_cm-1": self.measured,
            "measured_stderr_cm-1": self.measured_stderr,
            "offset_cm-1": self.offset,
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
        }


def calibrate_shift(
    si: xr.DataArray, *, reference: float = CSI_REFERENCE, despike_spectrum: bool = True
) -> ShiftCalibration:
    """Measure the c-Si phonon of a reference spectrum and return the shift correction.

    A Lorentzian with a linear background is fitted between 480 and 560 cm^-1 (no baseline
    subtraction, nothing else in the window for a Si wafer).

    Raises
    ------
    CalibrationError
        When the spectrum does not cover 480-560 cm^-1 or no significant c-Si line is found.
    """
    si = _as_spectrum(si)
    label = _label(si)
    if despike_spectrum:
        si, _ = despike(si)
    x = np.asarray(si["raman_shift"].values, float)
    if x.min() > 490 or x.max() < 550:
        raise CalibrationError(
            f"{label}: a c-Si reference must cover 490-550 cm^-1; it covers "
            f"{x.min():g}-{x.max():g} cm^-1"
        )
    window = crop(si, 480.0, 560.0)
    model = build_model("c-si", background_degree=1)
    result = _lmfit_fit(window, model)
    center = result.params["cSi_center"]
    area = result.params["cSi_area"]
    stderr_c = math.nan if center.stderr is None else float(center.stderr)
    stderr_a = math.nan if area.stderr is None else float(area.stderr)
    if not result.success or not (area.value > 5 * stderr_a) or not math.isfinite(stderr_c):
        raise CalibrationError(
            f"{label}: no significant c-Si line between 480 and 560 cm^-1 "
            f"(area {area.value:.3g} ± {stderr_a:.2g}); is this a Si reference?"
        )
    if abs(center.value - reference) > 10:
        raise CalibrationError(
            f"{label}: the c-Si line is at {center.value:.2f} cm^-1, more than 10 cm^-1 from "
            f"the reference {reference} cm^-1; check the file and the reference value"
        )
    return ShiftCalibration(
        float(center.value),
        stderr_c,
        reference,
        str(si.attrs.get("source_file", "")),
        str(si.attrs.get("source_sha256", "")),
    )


def prepare_spectrum(
    da: xr.DataArray,
    *,
    despike_spectrum: bool = True,
    calibration: ShiftCalibration | None = None,
    crop_range: tuple[float, float] | None = None,
    baseline: str | None = "arpls",
    baseline_params: Mapping[str, Any] | None = None,
) -> tuple[xr.DataArray, xr.DataArray, dict[str, Any]]:
    """Despike, calibrate, crop and subtract the baseline of one spectrum.

    Returns
    -------
    (corrected, baseline, info)
        ``info`` records the number of spikes replaced, the calibration, the crop and the
        baseline method, parameters and library.
    """
    da = _as_spectrum(da)
    info: dict[str, Any] = {}
    if despike_spectrum:
        da, nspikes = despike(da)
        info["spikes_removed"] = nspikes
    if calibration is not None:
        da = calibration.apply(da)
        info["calibration"] = calibration.to_dict()
    if crop_range is not None:
        da = crop(da, *crop_range)
        info["crop_cm-1"] = [float(da["raman_shift"].min()), float(da["raman_shift"].max())]
    if baseline is None or baseline == "none":
        base = xr.zeros_like(da)
        info["baseline"] = {"method": "none", "params": {}, "library": ""}
    else:
        base, binfo = estimate_baseline(da, baseline, **dict(baseline_params or {}))
        info["baseline"] = binfo
    corrected = da - base
    corrected.attrs = dict(da.attrs)
    corrected.name = da.name
    return corrected, base, info


# --------------------------------------------------------------------------- fitting core


def _batch_fit(da: xr.DataArray, model: RamanModel) -> BatchResult:
    """Fit one (prepared) spectrum with the batch engine (fast, same optimum as lmfit)."""
    x = np.asarray(da["raman_shift"].values, float)
    return fit_stack(x, np.asarray(da.values, float)[None, :], model.batch, max_iter=400)


def _lmfit_fit(da: xr.DataArray, model: RamanModel, start: np.ndarray | None = None) -> Any:
    """Fit ``model`` to a (prepared) spectrum with lmfit.

    Starts from ``start`` (full parameter row), else from the batch engine's solution, which
    itself starts from data-driven guesses; lmfit then polishes and reports the covariance.
    """
    x = np.asarray(da["raman_shift"].values, float)
    y = np.asarray(da.values, float)
    lm, params = model.lmfit()
    if start is None:
        res = _batch_fit(da, model)
        start = res.values[0] if np.all(np.isfinite(res.values[0])) else None
    if start is None:
        start = guess_stack(x, y, model.batch)[0]
    for name, value in zip(model.batch.names, start, strict=True):
        if params[name].vary and not params[name].expr:
            params[name].set(value=float(value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return lm.fit(y, params, x=x, max_nfev=200 * (len(model.batch.varying) + 1))


def _ordered(result: Any, batch: BatchModel) -> tuple[np.ndarray, np.ndarray]:
    """Parameter values ``(1, P)`` and covariance ``(1, V, V)`` in the batch model's order."""
    values = np.array([[float(result.params[n].value) for n in batch.names]])
    nv = len(batch.varying)
    cov = np.full((1, nv, nv), np.nan)
    if result.covar is not None:
        order = [result.var_names.index(n) for n in batch.varying]
        cov[0] = np.asarray(result.covar)[np.ix_(order, order)]
    return values, cov


def peak_quantities(
    band: Band, values: np.ndarray, names: Sequence[str], window: tuple[float, float]
) -> dict[str, np.ndarray]:
    """``center``, ``fwhm``, ``height``, ``area`` of one band for each row of ``values``.

    For Gaussian/Lorentzian bands these are the parameters and the analytic height. For a
    Breit–Wigner–Fano band the centre is the position of the maximum, ω₀ + Γ/(2q), the height
    the maximum I₀(1 + 1/q²), the FWHM Γ (of the Lorentzian limit) and the area the integral
    over the fitted window (the BWF area over the real line is infinite).
    """
    index = {k: i for i, k in enumerate(names)}
    get = lambda p: values[:, index[band.prefix + p]]  # noqa: E731
    shape = get_lineshape(band.lineshape)
    if shape.name in ("gaussian", "lorentzian"):
        area, center, fwhm = get("area"), get("center"), get("fwhm")
        with np.errstate(all="ignore"):
            if shape.name == "gaussian":
                height = area * 2.0 * math.sqrt(math.log(2.0) / math.pi) / fwhm
            else:
                height = area * 2.0 / (math.pi * fwhm)
        return {"center": center, "fwhm": fwhm, "height": height, "area": area}
    if shape.name == "pseudo_voigt":
        area, center, fwhm, eta = get("area"), get("center"), get("fwhm"), get("eta")
        with np.errstate(all="ignore"):
            height = area * (
                eta * 2.0 / (math.pi * fwhm)
                + (1.0 - eta) * 2.0 * math.sqrt(math.log(2.0) / math.pi) / fwhm
            )
        return {"center": center, "fwhm": fwhm, "height": height, "area": area}
    if shape.name == "fano":
        h0, c0, g, q = get("height"), get("center"), get("fwhm"), get("q")
        grid = np.linspace(window[0], window[1], 2001)
        prof = (
            h0[:, None]
            * (1 + 2 * (grid - c0[:, None]) / (q[:, None] * g[:, None])) ** 2
            / (1 + (2 * (grid - c0[:, None]) / g[:, None]) ** 2)
        )
        area = np.trapezoid(prof, grid, axis=1)
        return {
            "center": c0 + g / (2 * q),
            "fwhm": g,
            "height": h0 * (1 + 1 / q**2),
            "area": area,
        }
    raise InputError(f"band {band.name}: no peak quantities for lineshape {shape.name!r}")


def _band(model: RamanModel, name: str) -> Band | None:
    for b in model.bands:
        if b.name == name:
            return b
    return None


def derive_quantities(
    model: RamanModel,
    values: np.ndarray,
    cov: np.ndarray,
    *,
    window: tuple[float, float],
    laser_nm: float | None = None,
    y_ratio: float = Y_CROSS_SECTION,
    reference: float = CSI_REFERENCE,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every derived quantity with its standard error, for each row (spectrum/pixel).

    Keys: ``<band>.<center|fwhm|height|area>``, ``ID_IG_height``, ``ID_IG_area``, ``La_nm``,
    ``crystalline_fraction``, ``shift_cm-1``, ``stress_MPa`` (those that apply to the model).
    """
    batch = model.batch
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    names = batch.names
    for band in model.bands:
        for key in ("center", "fwhm", "height", "area"):
            out[f"{band.name}.{key}"] = propagate(
                lambda v, b=band, k=key: peak_quantities(b, v, names, window)[k],
                values,
                cov,
                batch,
            )
    d, g = _band(model, "D"), _band(model, "G")
    if d is not None and g is not None:
        for kind in ("height", "area"):
            out[f"ID_IG_{kind}"] = propagate(
                lambda v, k=kind: (
                    peak_quantities(d, v, names, window)[k]
                    / peak_quantities(g, v, names, window)[k]
                ),
                values,
                cov,
                batch,
            )
        if laser_nm is not None and math.isfinite(laser_nm):
            out["La_nm"] = propagate(
                lambda v: (
                    _CANCADO
                    * laser_nm**4
                    / (
                        peak_quantities(d, v, names, window)["area"]
                        / peak_quantities(g, v, names, window)["area"]
                    )
                ),
                values,
                cov,
                batch,
            )
    c, a = _band(model, "c-Si"), _band(model, "a-Si")
    if c is not None and a is not None:
        out["crystalline_fraction"] = propagate(
            lambda v: (
                peak_quantities(c, v, names, window)["area"]
                / (
                    peak_quantities(c, v, names, window)["area"]
                    + y_ratio * peak_quantities(a, v, names, window)["area"]
                )
            ),
            values,
            cov,
            batch,
        )
    if c is not None:
        shift = propagate(
            lambda v: peak_quantities(c, v, names, window)["center"] - reference,
            values,
            cov,
            batch,
        )
        out["shift_cm-1"] = shift
        out["stress_MPa"] = (STRESS_COEFFICIENT * shift[0], abs(STRESS_COEFFICIENT) * shift[1])
    return out


# --------------------------------------------------------------------------- results


@dataclass
class ModelCandidate:
    """One model fitted during a comparison, with what decides between models."""

    model: str
    region: tuple[float, float]
    success: bool
    nvarys: int
    aic: float
    bic: float
    redchi: float
    at_bounds: list[str]
    strong_correlations: list[tuple[str, str, float]]
    chosen: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "region_cm-1": list(self.region),
            "success": self.success,
            "nvarys": self.nvarys,
            "aic": _clean(self.aic),
            "bic": _clean(self.bic),
            "redchi": _clean(self.redchi),
            "at_bounds": list(self.at_bounds),
            "strong_correlations": [
                {"a": a, "b": b, "r": round(r, 4)} for a, b, r in self.strong_correlations
            ],
            "chosen": self.chosen,
            "reason": self.reason,
        }


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def _at_bounds(result: Any) -> list[str]:
    out = []
    for n, p in result.params.items():
        if not p.vary or p.expr:
            continue
        for b in (p.min, p.max):
            if b is not None and math.isfinite(b) and abs(p.value - b) <= 1e-6 * max(1, abs(b)):
                out.append(n)
                break
    return out


def _correlations(result: Any, threshold: float = 0.9) -> list[tuple[str, str, float]]:
    pairs = []
    for n, p in result.params.items():
        for m, r in (p.correl or {}).items():
            if n < m and abs(r) >= threshold:
                pairs.append((n, m, float(r)))
    return pairs


@dataclass
class RamanFit:
    """The result of :func:`fit_spectrum`.

    Attributes
    ----------
    fit
        The :class:`~charact.core.data.FitResult` (parameters, statistics, curves).
    model
        The fitted :class:`~charact.raman.models.RamanModel`.
    peaks
        ``{band: {center, fwhm, height, area, <key>_stderr}}``.
    ratios
        ``ID_IG_height``, ``ID_IG_area`` (+ ``_stderr``), when D and G were fitted.
    silicon
        ``state``, ``crystalline_fraction`` (+ stderr, y used), ``shift_cm-1`` (+ stderr),
        ``stress_MPa`` (+ stderr, coefficient and source), ``reference_cm-1``.
    carbon
        ``La_nm`` (+ stderr) or None, with the relation used, and G position/width.
    preprocessing
        Spikes removed, calibration, crop, baseline method/params/library.
    comparison
        The candidates of an automatic model choice (empty when the model was forced).
    """

    fit: FitResult
    model: RamanModel
    peaks: dict[str, dict[str, float]]
    ratios: dict[str, Any]
    silicon: dict[str, Any]
    carbon: dict[str, Any]
    preprocessing: dict[str, Any]
    comparison: list[ModelCandidate] = field(default_factory=list)
    criterion: str = ""
    laser_nm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result document of ``charact raman fit`` (NaN → None)."""
        st = self.fit.statistics
        base = self.preprocessing.get("baseline", {})
        return {
            "analysis": "raman.fit",
            "source_file": self.fit.provenance.get("source_file", ""),
            "provenance": dict(self.fit.provenance),
            "model": {
                "name": self.model.name,
                "bands": [{"name": b.name, "lineshape": b.lineshape} for b in self.model.bands],
                "background_degree": self.model.background_degree,
                "criterion": self.criterion or "forced by the user",
            },
            "baseline": {
                "method": base.get("method"),
                "params": base.get("params", {}),
                "library": base.get("library", ""),
            },
            "preprocessing": {k: v for k, v in self.preprocessing.items() if k != "baseline"},
            "laser_nm": self.laser_nm,
            "peaks": {k: {q: _clean(v) for q, v in p.items()} for k, p in self.peaks.items()},
            "ratios": {k: _clean(v) for k, v in self.ratios.items()},
            "silicon": {k: _clean(v) for k, v in self.silicon.items()},
            "carbon": {k: _clean(v) for k, v in self.carbon.items()},
            "fit": {
                "redchi": _clean(st.get("redchi")),
                "r2": _clean(st.get("r2")),
                "success": bool(st.get("success")),
                "aic": _clean(st.get("aic")),
                "bic": _clean(st.get("bic")),
                "nfev": st.get("nfev"),
                "at_bounds": [n for n, p in self.fit.parameters.items() if p.at_bound()],
                "message": st.get("message", ""),
            },
            "parameters": self.fit.to_dict()["parameters"],
            "comparison": [c.to_dict() for c in self.comparison],
            "flags": list(self.fit.flags),
            "created": self.fit.created,
            "charact_version": self.fit.version,
        }

    def to_dataset(self) -> xr.Dataset:
        """Curves, parameter table and derived quantities as a Dataset (netCDF-ready)."""
        ds = self.fit.to_dataset()
        ds.attrs["raman"] = {
            k: v for k, v in self.to_dict().items() if k not in ("parameters", "provenance")
        }
        return ds


# --------------------------------------------------------------------------- public fits

#: Default polynomial background degree per fit group: low for the narrow Si window, quartic
#: for the 800 cm^-1 wide carbon window where fluorescence curves (a cubic left a -1 %
#: systematic error on I_D/I_G by area under a fluorescence hump; docs/raman.md).
_DEFAULT_DEGREE = {"silicon": 1, "carbon": 4}


@dataclass
class _GroupFit:
    model: RamanModel
    region: tuple[float, float]
    result: Any
    fit: FitResult
    derived: dict[str, tuple[np.ndarray, np.ndarray]]


def _group_degree(bands: Sequence[Band], degree: int | str | None) -> int | None:
    if degree != "auto":
        return degree  # type: ignore[return-value]
    return max(_DEFAULT_DEGREE[b.group] for b in bands)


def _fit_group(
    prepared: xr.DataArray,
    name: str,
    bands: list[Band],
    degree: int | str | None,
    k: int,
    *,
    laser_nm: float | None,
    y_ratio: float,
    reference: float,
    units: str,
    provenance: Mapping[str, Any],
) -> _GroupFit:
    x_all = np.asarray(prepared["raman_shift"].values, float)
    lo = max(x_all.min(), min(b.region[0] for b in bands))
    hi = min(x_all.max(), max(b.region[1] for b in bands))
    part = crop(prepared, lo, hi)
    x = np.asarray(part["raman_shift"].values, float)
    model = build_model(
        name,
        bands=bands,
        background_degree=degree,
        x_range=(float(x.min()), float(x.max())),
        background_prefix=f"bkg{k}_",
    )
    result = _lmfit_fit(part, model)
    values, cov = _ordered(result, model.batch)
    derived = derive_quantities(
        model,
        values,
        cov,
        window=(float(x.min()), float(x.max())),
        laser_nm=laser_nm,
        y_ratio=y_ratio,
        reference=reference,
    )
    fit = FitResult.from_lmfit(
        result,
        analysis="raman.fit",
        model=model.to_dict(),
        axis="raman_shift",
        axis_values=x,
        axis_units="cm^-1",
        data_units=units,
        provenance=provenance,
    )
    return _GroupFit(model, (float(x.min()), float(x.max())), result, fit, derived)


def _merge(groups: list[_GroupFit], name: str, provenance: Mapping[str, Any]) -> FitResult:
    """One FitResult from the group fits: parameters united, statistics of the whole."""
    params: dict[str, Parameter] = {}
    flags: list[str] = []
    curves = []
    chi2 = ndata = nvarys = nfev = 0
    data_all, best_all = [], []
    for g in groups:
        params.update(g.fit.parameters)
        flags += [f for f in g.fit.flags if f not in flags]
        st = g.fit.statistics
        chi2 += st["chi2"]
        ndata += st["ndata"]
        nvarys += st["nvarys"]
        nfev += st["nfev"]
        if g.fit.curves is not None:
            curves.append(g.fit.curves)
            data_all.append(g.fit.curves["data"].values)
            best_all.append(g.fit.curves["best_fit"].values)
    data = np.concatenate(data_all)
    best = np.concatenate(best_all)
    ss_tot = float(np.sum((data - data.mean()) ** 2))
    n, k = float(ndata), float(nvarys)
    stats = {
        "chi2": chi2,
        "redchi": chi2 / (n - k) if n > k else math.nan,
        "r2": 1.0 - float(np.sum((data - best) ** 2)) / ss_tot if ss_tot > 0 else math.nan,
        "aic": n * math.log(chi2 / n) + 2 * k,
        "bic": n * math.log(chi2 / n) + math.log(n) * k,
        "nfev": nfev,
        "ndata": ndata,
        "nvarys": nvarys,
        "success": all(g.fit.success for g in groups),
        "message": "; ".join(str(g.fit.statistics.get("message", "")) for g in groups),
    }
    merged = xr.merge(curves, join="outer", compat="no_conflicts") if curves else None
    return FitResult(
        analysis="raman.fit",
        parameters=params,
        statistics=stats,
        model={"name": name, "groups": [g.model.to_dict() for g in groups]},
        curves=merged,
        provenance=dict(provenance),
        flags=flags,
    )


def _significant(
    derived: Mapping[str, tuple[np.ndarray, np.ndarray]], band: str, noise: float
) -> bool:
    """A band is present when its area is > 3 standard errors and its height > 3 noise σ."""
    key = f"{band}.area"
    if key not in derived:
        return False
    area, area_se = (float(v[0]) for v in derived[key])
    height = float(derived[f"{band}.height"][0][0])
    if not math.isfinite(area_se):
        return area > 0 and height > 3 * noise
    return area > 3 * area_se and height > 3 * noise


def _covers(x: np.ndarray, window: tuple[float, float]) -> bool:
    return float(x.min()) <= window[0] and float(x.max()) >= window[1]


def compare_models(
    prepared: xr.DataArray,
    candidates: Sequence[str],
    *,
    region: tuple[float, float] | None = None,
    background_degree: int | str | None = "auto",
    delta_bic: float = DELTA_BIC,
) -> list[ModelCandidate]:
    """Fit candidate models side by side on one (prepared) spectrum and choose one.

    Criterion (stated in every result): candidates that failed, or have a band centre or
    width on a bound, are set aside (unless all are); among the rest, the model with the
    fewest varied parameters whose BIC is within ``delta_bic`` of the lowest BIC is chosen
    (lowest BIC among equals) — a more complex model must earn its parameters with
    ΔBIC > 10, "very strong" evidence (Kass & Raftery 1995). ``"none"`` is the background
    alone. The fits use the batch engine (the same optimum as lmfit, much faster).

    Returns
    -------
    list of ModelCandidate
        One per candidate, exactly one with ``chosen=True``.
    """
    if region is not None:
        prepared = crop(prepared, *region)
    x = np.asarray(prepared["raman_shift"].values, float)
    y = np.asarray(prepared.values, float)
    out: list[ModelCandidate] = []
    degrees = {}
    for name in candidates:
        if name != "none":
            degrees[name] = _group_degree(model_bands(name), background_degree)
    for name in candidates:
        if name == "none":
            deg = max(degrees.values(), default=1)
            deg = 0 if deg is None else deg
            coef = np.polyfit(x, y, deg)
            chi2 = float(np.sum((y - np.polyval(coef, x)) ** 2))
            n, k = x.size, deg + 1
            aic = n * math.log(chi2 / n) + 2 * k
            bic = n * math.log(chi2 / n) + math.log(n) * k
            out.append(
                ModelCandidate(
                    "none",
                    (float(x.min()), float(x.max())),
                    True,
                    k,
                    aic,
                    bic,
                    chi2 / (n - k),
                    [],
                    [],
                )
            )
            continue
        model = build_model(
            name, background_degree=degrees[name], x_range=(float(x.min()), float(x.max()))
        )
        res = _batch_fit(prepared, model)
        at_b = [n for n, flag in zip(res.names, res.at_bounds[0], strict=True) if flag]
        bounds = [p for p in at_b if p.endswith(("center", "fwhm", "_q"))]
        cov = res.covariance[0]
        with np.errstate(all="ignore"):
            sd = np.sqrt(np.diag(cov))
            corr = cov / np.outer(sd, sd)
        pairs = [
            (res.varying[i], res.varying[j], float(corr[i, j]))
            for i in range(len(res.varying))
            for j in range(i + 1, len(res.varying))
            if np.isfinite(corr[i, j]) and abs(corr[i, j]) >= 0.9
        ]
        out.append(
            ModelCandidate(
                name,
                (float(x.min()), float(x.max())),
                bool(res.success[0]),
                len(res.varying),
                float(res.aic[0]),
                float(res.bic[0]),
                float(res.redchi[0]),
                at_b,
                pairs,
            )
        )
        out[-1].reason = "band centre/width at a bound" if bounds else ""
    valid = [c for c in out if c.success and not c.reason]
    pool = valid or [c for c in out if c.success] or out
    best = min(c.bic for c in pool)
    near = [c for c in pool if c.bic <= best + delta_bic]
    chosen = min(near, key=lambda c: (c.nvarys, c.bic))
    chosen.chosen = True
    chosen.reason = (
        f"fewest parameters within ΔBIC {delta_bic:g} of the lowest BIC ({best:.1f})"
        + ("" if valid else "; every candidate had a problem")
    )
    return out


_CRITERION = (
    "per region (Si 380-620, Si 2nd order 880-1060, carbon 1000-1800 cm^-1): fewest "
    f"parameters within ΔBIC {DELTA_BIC:g} of the lowest BIC; candidates with a band centre "
    "or width on a bound set aside (Kass & Raftery 1995)"
)


def _auto_model(
    prepared: xr.DataArray, background_degree: int | str | None
) -> tuple[str, list[ModelCandidate]]:
    x = np.asarray(prepared["raman_shift"].values, float)
    parts: list[str] = []
    comparison: list[ModelCandidate] = []

    def choose(cands: list[str], region: tuple[float, float]) -> str:
        res = compare_models(prepared, cands, region=region, background_degree=background_degree)
        comparison.extend(res)
        return next(c for c in res if c.chosen).model

    if _covers(x, _SI_WINDOW):
        pick = choose(
            ["none", "c-si", "c-si-pv", "a-si", "si"], (max(x.min(), 380.0), min(x.max(), 620.0))
        )
        if pick != "none":
            parts.append(pick)
            has_c = pick in ("c-si", "c-si-pv", "si") and _covers(x, (900.0, 1030.0))
            if has_c and choose(["none", "Si-2nd"], (880.0, 1060.0)) != "none":
                parts.append("Si-2nd")
    if _covers(x, _CARBON_WINDOW):
        pick = choose(
            ["none", "carbon-2", "carbon-2-bwf", "carbon-4", "carbon-5"],
            (max(x.min(), 1000.0), min(x.max(), 1800.0)),
        )
        if pick != "none":
            parts.append(pick)
    if not parts:
        raise FitError(
            f"{_label(prepared)}: no Raman band of the model library is supported by the "
            f"data between {x.min():g} and {x.max():g} cm^-1 (every candidate lost to the "
            "background alone)"
        )
    return "+".join(parts), comparison


def fit_spectrum(
    da: xr.DataArray,
    *,
    model: str = "auto",
    baseline: str | None = None,
    baseline_params: Mapping[str, Any] | None = None,
    crop_range: tuple[float, float] | None = None,
    despike_spectrum: bool = True,
    calibration: ShiftCalibration | None = None,
    laser_nm: float | None = None,
    background_degree: int | str | None = "auto",
    y_ratio: float = Y_CROSS_SECTION,
    reference: float = CSI_REFERENCE,
) -> RamanFit:
    """Fit one Raman spectrum of a Si/C electrode.

    Bands whose regions overlap are fitted together (:func:`charact.raman.models.fit_groups`:
    the Si first-order region 380-620 cm^-1, the Si second order and carbon 880-1800 cm^-1),
    each group with its own polynomial background, so a fluorescence background need only be
    locally smooth.

    Parameters
    ----------
    da
        Spectrum on ``raman_shift`` (cm^-1), as read by :mod:`charact.raman.io`.
    model
        ``"auto"`` (compare candidates, :func:`compare_models`) or a model name of
        :data:`charact.raman.models.MODELS` (``"si-carbon"``, ``"carbon-5"``,
        ``"c-si+carbon-2"`` …), which forces it.
    baseline, baseline_params
        A method of ``charact.core.baselines`` (``arpls``, ``asls``, ``airpls``,
        ``modpoly``, ``snip``, ``linear`` …) subtracted before fitting, and its parameters.
        Default None: only the polynomial fitted with the bands (broad D/G Lorentzian wings
        are otherwise partly taken for baseline; see docs/raman.md).
    crop_range
        ``(lo, hi)`` in cm^-1 (default: the whole spectrum; groups crop to their regions).
    despike_spectrum
        Remove cosmic-ray spikes first (:func:`despike`).
    calibration
        A :class:`ShiftCalibration` from :func:`calibrate_shift`, applied to the axis.
    laser_nm
        Excitation wavelength (nm) for La; taken from the spectrum's attrs when omitted.
    background_degree
        Polynomial degree fitted with the bands: ``"auto"`` (1 for Si, 4 for carbon), an
        int, or None.
    y_ratio
        y of Xc = Ic/(Ic + y·Ia) (default 0.88, Bustarret et al. 1988).
    reference
        Unstrained c-Si position for the shift and stress (cm^-1).

    Returns
    -------
    RamanFit

    Raises
    ------
    InputError
        Bad input (NaN, non-monotonic axis, a model that cannot apply to the range).
    FitError
        When no band can be fitted.
    """
    raw = _as_spectrum(da)
    if laser_nm is None:
        lw = raw.attrs.get("laser_wavelength")
        laser_nm = float(lw) if lw is not None and math.isfinite(float(lw)) else None
    x_all = np.asarray(raw["raman_shift"].values, float)
    if crop_range is None:
        crop_range = (float(x_all.min()), float(x_all.max()))
    if model != "auto":
        bands = model_bands(model)
        lo, hi = sorted(crop_range)
        outside = [
            b.name
            for b in bands
            if b.center_range[1] < max(lo, x_all.min()) or b.center_range[0] > min(hi, x_all.max())
        ]
        if outside:
            raise InputError(
                f"{_label(raw)}: model {model!r} cannot apply to the spectral range "
                f"{max(lo, x_all.min()):g}-{min(hi, x_all.max()):g} cm^-1: band(s) "
                f"{', '.join(outside)} lie outside it",
                hint="choose a model whose bands the spectrum covers, or --model auto",
            )
    prepared, base, info = prepare_spectrum(
        raw,
        despike_spectrum=despike_spectrum,
        calibration=calibration,
        crop_range=crop_range,
        baseline=baseline,
        baseline_params=baseline_params,
    )
    if baseline is None or baseline == "none":
        info["baseline"] = {
            "method": "polynomial",
            "params": {"degree": background_degree, "fitted": "with the bands, per fit group"},
            "library": "charact",
        }
    else:
        info["baseline"]["then"] = f"polynomial of degree {background_degree} fitted with bands"
    comparison: list[ModelCandidate] = []
    criterion = ""
    if model == "auto":
        model, comparison = _auto_model(prepared, background_degree)
        criterion = _CRITERION
    bands = model_bands(model)
    provenance = provenance_of(raw)
    units = str(raw.attrs.get("units", ""))
    groups = [
        _fit_group(
            prepared,
            model,
            grp,
            _group_degree(grp, background_degree),
            k,
            laser_nm=laser_nm,
            y_ratio=y_ratio,
            reference=reference,
            units=units,
            provenance=provenance,
        )
        for k, grp in enumerate(fit_groups(bands))
    ]
    fit = _merge(groups, model, provenance)
    if fit.curves is not None:
        fit.curves["baseline"] = xr.Variable(
            "raman_shift",
            base.sel(raman_shift=fit.curves["raman_shift"].values).values,
            {"units": units},
        )
    for name, p in fit.parameters.items():
        p.units = _param_units(name)
    derived: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for g in groups:
        derived.update(g.derived)
    noise = float(np.sqrt(fit.statistics["redchi"]))
    rmodel = build_model(model, background_degree=None, bands=bands)
    peaks: dict[str, dict[str, float]] = {}
    for band in bands:
        entry: dict[str, float] = {}
        for key in ("center", "fwhm", "height", "area"):
            v, se = derived[f"{band.name}.{key}"]
            entry[key] = float(v[0])
            entry[f"{key}_stderr"] = float(se[0])
        peaks[band.name] = entry
        for key in ("center", "fwhm", "height", "area"):
            fit.derived[f"{band.name}.{key}"] = Parameter(
                entry[key], entry[f"{key}_stderr"], units=_quantity_units(key)
            )
    ratios: dict[str, Any] = {}
    for kind in ("height", "area"):
        key = f"ID_IG_{kind}"
        if key in derived:
            ratios[key] = float(derived[key][0][0])
            ratios[f"{key}_stderr"] = float(derived[key][1][0])
            fit.derived[key] = Parameter(ratios[key], ratios[f"{key}_stderr"], units="1")
        else:
            ratios[key] = None
            ratios[f"{key}_stderr"] = None
    ratios["definition"] = (
        "ID_IG_height = peak height ratio, ID_IG_area = integrated area ratio of the D (D1) "
        "and G bands of the fitted model"
    )
    x = np.asarray(prepared["raman_shift"].values, float)
    silicon = _silicon_summary(
        rmodel,
        derived,
        noise,
        x,
        y_ratio=y_ratio,
        reference=reference,
        calibrated=calibration is not None,
    )
    carbon: dict[str, Any] = {
        "La_nm": None,
        "La_nm_stderr": None,
        "La_relation": "Cançado et al., Appl. Phys. Lett. 88, 163106 "
        "(2006): La = 2.4e-10 nm^-3 · λ^4 / (A_D/A_G)",
    }
    if "La_nm" in derived:
        carbon["La_nm"] = float(derived["La_nm"][0][0])
        carbon["La_nm_stderr"] = float(derived["La_nm"][1][0])
        fit.derived["La_nm"] = Parameter(carbon["La_nm"], carbon["La_nm_stderr"], units="nm")
    elif _band(rmodel, "D") is not None:
        carbon["La_note"] = "laser wavelength unknown: pass --laser-nm to compute La"
    if "G" in peaks:
        carbon["G_center"] = peaks["G"]["center"]
        carbon["G_center_stderr"] = peaks["G"]["center_stderr"]
        carbon["G_fwhm"] = peaks["G"]["fwhm"]
        carbon["G_fwhm_stderr"] = peaks["G"]["fwhm_stderr"]
    for key in ("crystalline_fraction", "shift_cm-1", "stress_MPa"):
        if silicon.get(key) is not None:
            fit.derived[key] = Parameter(
                silicon[key],
                _f_or_nan(silicon.get(f"{key}_stderr")),
                units={"crystalline_fraction": "1", "shift_cm-1": "cm^-1"}.get(key, "MPa"),
            )
    for band in peaks:
        if band in ("c-Si", "a-Si") and not _significant(derived, band, noise):
            fit.flags.append(f"band {band} is not significant (reported absent)")
    info["fit_groups"] = [
        {
            "bands": [b.name for b in g.model.bands],
            "region_cm-1": list(g.region),
            "background_degree": g.model.background_degree,
            "redchi": _clean(g.fit.statistics["redchi"]),
            "bic": _clean(g.fit.statistics["bic"]),
        }
        for g in groups
    ]
    return RamanFit(
        fit=fit,
        model=rmodel,
        peaks=peaks,
        ratios=ratios,
        silicon=silicon,
        carbon=carbon,
        preprocessing=info,
        comparison=comparison,
        criterion=criterion,
        laser_nm=laser_nm,
    )


def _f_or_nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def _param_units(name: str) -> str:
    if name.endswith(("center", "fwhm")):
        return "cm^-1"
    if name.endswith("area"):
        return "counts*cm^-1"
    if name.endswith("height"):
        return "counts"
    return ""


def _quantity_units(key: str) -> str:
    return {"center": "cm^-1", "fwhm": "cm^-1", "height": "counts", "area": "counts*cm^-1"}[key]


def _silicon_summary(
    model: RamanModel,
    derived: Mapping[str, tuple[np.ndarray, np.ndarray]],
    noise: float,
    x: np.ndarray,
    *,
    y_ratio: float,
    reference: float,
    calibrated: bool,
) -> dict[str, Any]:
    covers = _covers(x, _SI_WINDOW)
    has_c = _band(model, "c-Si") is not None and _significant(derived, "c-Si", noise)
    has_a = _band(model, "a-Si") is not None and _significant(derived, "a-Si", noise)
    if not covers:
        state = "not measured"
    elif has_c and has_a:
        state = "mixed"
    elif has_c:
        state = "crystalline"
    elif has_a:
        state = "amorphous"
    else:
        state = "absent"
    out: dict[str, Any] = {
        "state": state,
        "crystalline_fraction": None,
        "crystalline_fraction_stderr": None,
        "y": y_ratio,
        "y_source": "Bustarret, Hachicha, Brunel, Appl. Phys. Lett. 52, 1675 (1988)",
        "shift_cm-1": None,
        "shift_cm-1_stderr": None,
        "reference_cm-1": reference,
        "axis_calibrated": calibrated,
        "stress_MPa": None,
        "stress_MPa_stderr": None,
        "stress_coefficient_MPa_per_cm-1": STRESS_COEFFICIENT,
        "stress_source": "biaxial stress, I. De Wolf, Semicond. Sci. Technol. 11, 139 (1996)",
    }
    if state == "mixed" and "crystalline_fraction" in derived:
        out["crystalline_fraction"] = float(derived["crystalline_fraction"][0][0])
        out["crystalline_fraction_stderr"] = float(derived["crystalline_fraction"][1][0])
    elif state == "crystalline":
        out["crystalline_fraction"] = 1.0
    elif state == "amorphous":
        out["crystalline_fraction"] = 0.0
    if has_c:
        out["shift_cm-1"] = float(derived["shift_cm-1"][0][0])
        out["shift_cm-1_stderr"] = float(derived["shift_cm-1"][1][0])
        out["stress_MPa"] = float(derived["stress_MPa"][0][0])
        out["stress_MPa_stderr"] = float(derived["stress_MPa"][1][0])
    return out
