"""Particle measurements, size distributions and layer thicknesses in physical units.

Per particle (scikit-image ``regionprops``, lengths converted with the image's pixel size):
area, equivalent circular diameter ECD = 2√(A/π), Feret max/min (caliper diameters of the
convex hull of the pixel corners; the minimum by rotating calipers over the hull's edge
directions), major/minor axes of the inertia ellipse, aspect ratio = major/minor, circularity
= 4πA/P² (clipped at 1; P is scikit-image's perimeter), solidity = A/A_convex and the centroid.

Distribution (:func:`size_distribution`):

* count, mean, std, median; D10/D50/D90 as weighted quantiles (Hazen plotting positions);
  number-weighted, or volume-weighted (weights ∝ ECD³) on request;
* Miles–Lantuéjoul edge correction (Miles 1974; Lantuéjoul 1979): a particle whose bounding box
  is w × h in a W × H frame is fully inside with probability (W − w)(H − h)/(WH), so it gets the
  weight WH/((W − w)(H − h)). Without it, excluding edge-touching particles under-counts large
  ones;
* a lognormal fit by maximum likelihood: μ̂ = mean(ln d), σ̂ = std(ln d) (weighted, ddof 0);
  median = e^μ̂ with a 95% CI e^{μ̂ ± 1.96 σ̂/√n_eff}, σ's CI from the χ² distribution with
  n_eff − 1 degrees of freedom (n_eff = (Σw)²/Σw², Kish 1965);
* a percentile-bootstrap 95% CI on D50 (resampling particles, fixed seed: reproducible).

Thickness (:func:`measure_thickness`): the image is split into grey-level classes (multi-Otsu);
in every column the chosen layer is the longest run of its class; each of its two interfaces is
placed where the smoothed column profile crosses the mean of the two neighbouring class levels,
interpolated linearly (sub-pixel). Columns where the layer is missing are skipped and counted.
A tilted view foreshortens vertical lengths: with the cross-section face tilted by θ away from
normal to the beam, t = t_measured / cos θ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage as ndi
from scipy import stats

from ..core.data import PROVENANCE_ATTRS, provenance_of
from ..core.errors import CalibrationError, InputError
from ..core.provenance import charact_version, now_iso
from .segment import Segmentation, SegmentationSettings, normalize_image, segment_particles

__all__ = [
    "SizeResult",
    "ThicknessResult",
    "measure_particles",
    "measure_thickness",
    "pool_results",
    "quantify_particles",
    "size_distribution",
    "weighted_quantile",
]


def _pixel_size_nm(image: xr.DataArray, allow_uncalibrated: bool) -> float:
    px = float(image.attrs.get("pixel_size_nm", math.nan))
    if not math.isfinite(px) or px <= 0:
        if allow_uncalibrated:
            return math.nan
        raise CalibrationError(
            f"{image.attrs.get('source_file', 'image')}: no pixel size (the file carries no "
            "calibration the readers understand)",
            hint="give one, e.g. --pixel-size 4.47nm, or the scale bar's length with "
            "--scale-bar 300nm",
        )
    return px


# --------------------------------------------------------------------------- per particle


def _feret(coords: np.ndarray) -> tuple[float, float]:
    """Max and min caliper diameters (px) of a region given its pixel (row, col) coords.

    The calipers touch the pixels' outer corners: the hull of all corners is the hull of the
    corners of the pixels on the hull of the centres (a Minkowski sum with the unit square),
    so only those few pixels are expanded.
    """
    from scipy.spatial import ConvexHull, QhullError

    square = np.array([(-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)])
    try:
        pts = coords[ConvexHull(coords).vertices]
    except (QhullError, ValueError):  # a line or a single pixel: no 2-D hull of centres
        pts = coords
    corners = (pts[:, None, :] + square[None, :, :]).reshape(-1, 2)
    try:
        hull = corners[ConvexHull(corners).vertices]
    except (QhullError, ValueError):
        return 1.0, 1.0
    diff = hull[:, None, :] - hull[None, :, :]
    fmax = float(np.sqrt((diff**2).sum(-1)).max())
    edges = np.roll(hull, -1, axis=0) - hull
    norms = np.hypot(edges[:, 0], edges[:, 1])
    keep = norms > 0
    normals = np.column_stack([-edges[keep, 1], edges[keep, 0]]) / norms[keep, None]
    proj = normals @ hull.T  # rotating calipers: the minimum width is across a hull edge
    fmin = float((proj.max(axis=1) - proj.min(axis=1)).min())
    return fmax, fmin


def measure_particles(
    labels: np.ndarray, *, pixel_size_nm: float, image_shape: tuple[int, int] | None = None
) -> pd.DataFrame:
    """One row per labelled particle with its size and shape in µm (or px if uncalibrated).

    Columns: ``label``, ``area``, ``ecd``, ``feret_max``, ``feret_min``, ``major_axis``,
    ``minor_axis``, ``aspect_ratio``, ``circularity``, ``solidity``, ``centroid_x``,
    ``centroid_y``, ``bbox_width_px``, ``bbox_height_px``, ``ml_weight``. Lengths are in µm
    (areas in µm²) when ``pixel_size_nm`` is finite, in px otherwise.
    """
    from skimage.measure import regionprops

    lab = np.asarray(labels)
    h, w = image_shape or lab.shape
    scale = pixel_size_nm / 1000.0 if math.isfinite(pixel_size_nm) else 1.0
    rows = []
    for rp in regionprops(lab):
        area_px = float(rp.area)
        fmax, fmin = _feret(rp.coords.astype(float))
        perim = float(rp.perimeter)
        circ = min(1.0, 4 * math.pi * area_px / perim**2) if perim > 0 else math.nan
        major = float(rp.axis_major_length)
        minor = float(rp.axis_minor_length)
        r0, c0, r1, c1 = rp.bbox
        bw, bh = c1 - c0, r1 - r0
        denom = (w - bw) * (h - bh)
        rows.append(
            {
                "label": int(rp.label),
                "area": area_px * scale**2,
                "ecd": 2 * math.sqrt(area_px / math.pi) * scale,
                "feret_max": fmax * scale,
                "feret_min": fmin * scale,
                "major_axis": major * scale,
                "minor_axis": minor * scale,
                "aspect_ratio": major / minor if minor > 0 else math.nan,
                "circularity": circ,
                "solidity": float(rp.solidity),
                "centroid_x": float(rp.centroid[1]) * scale,
                "centroid_y": float(rp.centroid[0]) * scale,
                "bbox_width_px": int(bw),
                "bbox_height_px": int(bh),
                "ml_weight": (w * h) / denom if denom > 0 else math.nan,
            }
        )
    columns = [
        "label",
        "area",
        "ecd",
        "feret_max",
        "feret_min",
        "major_axis",
        "minor_axis",
        "aspect_ratio",
        "circularity",
        "solidity",
        "centroid_x",
        "centroid_y",
        "bbox_width_px",
        "bbox_height_px",
        "ml_weight",
    ]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- distribution


def weighted_quantile(values: Any, q: Any, weights: Any = None) -> np.ndarray:
    """Quantiles of ``values`` with ``weights`` (Hazen positions; unweighted = numpy 'hazen')."""
    v = np.asarray(values, dtype=float)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if v.size == 0:
        return np.full(qs.shape, np.nan)
    wts = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(v)
    v, wts = v[order], wts[order]
    cum = np.cumsum(wts)
    pos = (cum - 0.5 * wts) / cum[-1]
    return np.interp(qs, pos, v)


@dataclass
class Lognormal:
    """A lognormal fitted by maximum likelihood, with 95% confidence intervals."""

    median: float
    sigma: float
    median_ci95: tuple[float, float]
    sigma_ci95: tuple[float, float]
    n_eff: float

    def pdf(self, d: Any) -> np.ndarray:
        return stats.lognorm.pdf(np.asarray(d, float), s=self.sigma, scale=self.median)


def fit_lognormal(d: Any, weights: Any = None) -> Lognormal:
    """Maximum-likelihood lognormal of diameters ``d`` (weighted), with 95% CIs."""
    x = np.log(np.asarray(d, dtype=float))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.size < 2:
        nan = math.nan
        return Lognormal(nan, nan, (nan, nan), (nan, nan), float(x.size))
    mu = float(np.average(x, weights=w))
    s = float(math.sqrt(np.average((x - mu) ** 2, weights=w)))
    n_eff = float(w.sum() ** 2 / (w**2).sum())
    half = 1.959964 * s / math.sqrt(n_eff)
    dof = max(n_eff - 1.0, 1.0)
    lo = s * math.sqrt(n_eff / stats.chi2.ppf(0.975, dof))
    hi = s * math.sqrt(n_eff / stats.chi2.ppf(0.025, dof))
    return Lognormal(
        median=math.exp(mu),
        sigma=s,
        median_ci95=(math.exp(mu - half), math.exp(mu + half)),
        sigma_ci95=(lo, hi),
        n_eff=n_eff,
    )


def size_distribution(
    d: Any,
    *,
    weights: Any = None,
    volume_weighted: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Summary statistics of particle diameters ``d``.

    Parameters
    ----------
    d
        Diameters (any unit; the outputs share it).
    weights
        Per-particle number weights (Miles–Lantuéjoul); equal when ``None``.
    volume_weighted
        Weight by d³ (volume distribution) in addition to ``weights``.
    n_boot
        Bootstrap resamples for the CI of D50 (0 to skip).
    seed
        Seed of the bootstrap (results are reproducible).

    Returns
    -------
    dict
        ``n``, ``mean``, ``std``, ``median``, ``d10``, ``d50``, ``d90``, ``d50_ci95``,
        ``lognormal`` (:class:`Lognormal`), ``weighting``.
    """
    x = np.asarray(d, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape:
        raise InputError(f"weights have shape {w.shape}, diameters {x.shape}")
    if volume_weighted:
        w = w * x**3
    out: dict[str, Any] = {
        "n": int(x.size),
        "weighting": ("volume" if volume_weighted else "number")
        + ("" if weights is None else ", Miles-Lantuejoul edge-corrected"),
    }
    if x.size == 0:
        nan = math.nan
        out.update(mean=nan, std=nan, median=nan, d10=nan, d50=nan, d90=nan)
        out["d50_ci95"] = (nan, nan)
        out["lognormal"] = fit_lognormal(x)
        return out
    mean = float(np.average(x, weights=w))
    var = float(np.average((x - mean) ** 2, weights=w))
    n_eff = w.sum() ** 2 / (w**2).sum()
    std = math.sqrt(var * n_eff / (n_eff - 1)) if n_eff > 1 else math.nan
    d10, d50, d90 = weighted_quantile(x, [0.1, 0.5, 0.9], w)
    out.update(mean=mean, std=std, median=float(d50), d10=float(d10), d50=float(d50))
    out["d90"] = float(d90)
    if n_boot and x.size >= 3:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, x.size, size=(n_boot, x.size))
        boots = np.array([weighted_quantile(x[i], 0.5, w[i])[0] for i in idx])
        out["d50_ci95"] = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
    else:
        out["d50_ci95"] = (math.nan, math.nan)
    out["lognormal"] = fit_lognormal(x, w)
    return out


# --------------------------------------------------------------------------- size result


def _clean(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    return x


@dataclass
class SizeResult:
    """Particle sizes of one image: the table, the distribution and how they were made."""

    particles: pd.DataFrame
    distribution: dict[str, Any]
    pixel_size_nm: float
    pixel_size_source: str
    n_excluded_edge: int
    n_excluded_small: int
    image_shape: tuple[int, int]
    settings: dict[str, Any]
    labels: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_iso)
    version: str = field(default_factory=charact_version)

    @property
    def calibrated(self) -> bool:
        return math.isfinite(self.pixel_size_nm)

    @property
    def unit(self) -> str:
        """Length unit of the table and the statistics: ``"um"`` or ``"px"``."""
        return "um" if self.calibrated else "px"

    @property
    def n_particles(self) -> int:
        return len(self.particles)

    def _summary(self, column: str, keys: tuple[str, ...]) -> dict[str, Any]:
        v = self.particles[column].to_numpy(float)
        v = v[np.isfinite(v)]
        out = {}
        for k in keys:
            if v.size == 0:
                out[k] = None
            elif k == "mean":
                out[k] = float(v.mean())
            elif k == "median":
                out[k] = float(np.median(v))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result document (JSON-friendly; NaN becomes None)."""
        u = self.unit
        dist = self.distribution
        logn = dist["lognormal"]
        doc = {
            "analysis": "sem.size",
            "pixel_size_nm": self.pixel_size_nm,
            "pixel_size_source": self.pixel_size_source,
            "length_unit": "µm" if u == "um" else "px",
            "n_particles": self.n_particles,
            "n_excluded_edge": self.n_excluded_edge,
            "n_excluded_small": self.n_excluded_small,
            "image_shape": list(self.image_shape),
            f"ecd_{u}": {k: dist[k] for k in ("mean", "std", "median", "d10", "d50", "d90")},
            f"d50_ci95_{u}": list(dist["d50_ci95"]),
            "weighting": dist["weighting"],
            f"feret_max_{u}": self._summary("feret_max", ("mean", "median")),
            f"feret_min_{u}": self._summary("feret_min", ("mean", "median")),
            "aspect_ratio": self._summary("aspect_ratio", ("mean", "median")),
            "circularity": self._summary("circularity", ("mean",)),
            "solidity": self._summary("solidity", ("mean",)),
            "lognormal": {
                f"median_{u}": logn.median,
                "sigma": logn.sigma,
                f"median_ci95_{u}": list(logn.median_ci95),
                "sigma_ci95": list(logn.sigma_ci95),
                "n_eff": logn.n_eff,
            },
            "settings": dict(self.settings),
            "flags": list(self.flags),
            "provenance": dict(self.provenance),
            "created": self.created,
            "charact_version": self.version,
        }
        if "volume" in dist:
            vol = dist["volume"]
            doc[f"ecd_volume_weighted_{u}"] = {k: vol[k] for k in ("d10", "d50", "d90", "mean")}
        return _clean(doc)

    def to_dataset(self) -> xr.Dataset:
        """The per-particle table on a ``particle`` dim, with the summary in attrs."""
        unit = "µm" if self.calibrated else "px"
        units = {
            "area": f"{unit}^2",
            "ecd": unit,
            "feret_max": unit,
            "feret_min": unit,
            "major_axis": unit,
            "minor_axis": unit,
            "centroid_x": unit,
            "centroid_y": unit,
            "bbox_width_px": "px",
            "bbox_height_px": "px",
        }
        ds = xr.Dataset(
            coords={
                "particle": xr.Variable(
                    "particle", self.particles["label"].to_numpy(int), {"units": "1"}
                )
            }
        )
        for col in self.particles.columns:
            if col == "label":
                continue
            ds[col] = xr.Variable(
                "particle", self.particles[col].to_numpy(float), {"units": units.get(col, "1")}
            )
        doc = self.to_dict()
        ds.attrs = {k: v for k, v in doc.items() if v is not None}
        for key in PROVENANCE_ATTRS:
            ds.attrs[key] = str(self.provenance.get(key, ""))
        return ds

    def to_csv(self) -> str:
        """The per-particle table as CSV text (lengths in the result's unit)."""
        table = self.particles.rename(
            columns={
                c: f"{c}_{self.unit}"
                for c in (
                    "ecd",
                    "feret_max",
                    "feret_min",
                    "major_axis",
                    "minor_axis",
                    "centroid_x",
                    "centroid_y",
                )
            }
            | {"area": f"area_{self.unit}2"}
        )
        return table.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def quantify_particles(
    image: xr.DataArray,
    *,
    settings: SegmentationSettings | None = None,
    min_size: str | float | None = None,
    edge_correction: bool = True,
    volume_weighted: bool = False,
    allow_uncalibrated: bool = True,
    n_boot: int = 1000,
    keep_labels: bool = True,
    **options: Any,
) -> SizeResult:
    """Segment particles in a calibrated image and measure their size distribution.

    Parameters
    ----------
    image
        An SEM image from :func:`charact.read` (databar cropped).
    settings, **options
        Segmentation settings (:class:`~charact.sem.segment.SegmentationSettings`):
        ``polarity="dark"``, ``watershed=False``, ``threshold="li"``, ``split_depth`` …
    min_size
        Smallest equivalent diameter kept: a length (``"50nm"``) or a number of pixels.
    edge_correction
        Miles–Lantuéjoul weights for the number distribution (only when edge particles are
        excluded, which is the default).
    volume_weighted
        Also report the volume-weighted D10/D50/D90.
    allow_uncalibrated
        Report sizes in pixels when the image has no pixel size (otherwise raise
        :class:`~charact.core.errors.CalibrationError`).
    n_boot
        Bootstrap resamples for the CI on D50.

    Returns
    -------
    SizeResult
    """
    if not isinstance(image, xr.DataArray) or image.ndim != 2:
        raise InputError("expected an SEM image (2-D DataArray on y, x) from charact.read")
    px = _pixel_size_nm(image, allow_uncalibrated)
    if min_size is not None:
        if isinstance(min_size, str):
            from ..core.units import parse_length

            metres = parse_length(min_size, what="min_size")
            if not math.isfinite(px):
                raise CalibrationError(
                    f"min_size {min_size!r} is a length but the image has no pixel size",
                    hint="give the pixel size, or min_size as a number of pixels",
                )
            options["min_size_px"] = metres * 1e9 / px
        else:
            options["min_size_px"] = float(min_size)
    seg: Segmentation = segment_particles(image, settings=settings, **options)
    table = measure_particles(seg.labels, pixel_size_nm=px, image_shape=seg.labels.shape)
    flags = list(seg.warnings)
    use_ml = edge_correction and seg.settings.exclude_edge
    weights = table["ml_weight"].to_numpy(float) if use_ml and len(table) else None
    if weights is not None and not np.all(np.isfinite(weights)):
        weights = np.where(np.isfinite(weights), weights, 1.0)
        flags.append("a particle spans the whole frame: its edge-correction weight was set to 1")
    d = table["ecd"].to_numpy(float)
    dist = size_distribution(d, weights=weights, n_boot=n_boot)
    if volume_weighted:
        dist["volume"] = size_distribution(d, weights=weights, volume_weighted=True, n_boot=0)
    if len(table) == 0:
        flags.append(
            "no particles found: check the polarity (--bright/--dark), the threshold and min size"
        )
    elif len(table) < 20:
        flags.append(f"only {len(table)} particles: distribution statistics are uncertain")
    if not math.isfinite(px):
        flags.append("image is uncalibrated: sizes are in pixels")
    prov = provenance_of(image)
    return SizeResult(
        particles=table,
        distribution=dist,
        pixel_size_nm=px,
        pixel_size_source=str(image.attrs.get("pixel_size_source", "none")),
        n_excluded_edge=seg.n_excluded_edge,
        n_excluded_small=seg.n_excluded_small,
        image_shape=tuple(int(s) for s in seg.labels.shape),
        settings={
            **seg.settings.to_dict(),
            "edge_correction": bool(use_ml),
            "typical_radius_px": seg.typical_radius_px,
            "threshold_value": seg.threshold_value,
        },
        labels=seg.labels if keep_labels else None,
        provenance=prov,
        flags=flags,
    )


def pool_results(
    results: list[SizeResult], *, volume_weighted: bool = False, n_boot: int = 1000
) -> SizeResult:
    """One distribution from the particles of several images (fields of one sample).

    Particles keep their own Miles–Lantuéjoul weights (each from its own frame). All images
    must be calibrated, or all uncalibrated with the same unit.

    Raises
    ------
    InputError
        For an empty list or a mix of calibrated and uncalibrated results.
    """
    if not results:
        raise InputError("pool_results needs at least one result")
    units = {r.unit for r in results}
    if len(units) > 1:
        raise InputError(
            "cannot pool calibrated and uncalibrated images (µm and px): give every image a "
            "pixel size"
        )
    tables = []
    for k, r in enumerate(results):
        t = r.particles.copy()
        t.insert(0, "image", k)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    use_ml = all(r.settings.get("edge_correction") for r in results)
    weights = table["ml_weight"].to_numpy(float) if use_ml and len(table) else None
    if weights is not None:
        weights = np.where(np.isfinite(weights), weights, 1.0)
    d = table["ecd"].to_numpy(float)
    dist = size_distribution(d, weights=weights, n_boot=n_boot)
    if volume_weighted:
        dist["volume"] = size_distribution(d, weights=weights, volume_weighted=True, n_boot=0)
    files = [str(r.provenance.get("source_file", "")) for r in results]
    flags = [f"{name}: {f}" for name, r in zip(files, results, strict=True) for f in r.flags]
    pixel = results[0].pixel_size_nm
    if results[0].unit == "um":
        sizes = [r.pixel_size_nm for r in results]
        pixel = float(np.median(sizes))
        if max(sizes) > min(sizes) * (1 + 1e-9):
            flags.append(
                f"pixel sizes differ between the images ({min(sizes):.4g}-{max(sizes):.4g} nm); "
                "sizes are pooled in µm and pixel_size_nm is their median"
            )
    return SizeResult(
        particles=table,
        distribution=dist,
        pixel_size_nm=pixel,
        pixel_size_source="pooled: " + ", ".join(sorted({r.pixel_size_source for r in results})),
        n_excluded_edge=sum(r.n_excluded_edge for r in results),
        n_excluded_small=sum(r.n_excluded_small for r in results),
        image_shape=results[0].image_shape,
        settings={"pooled_images": files, "edge_correction": use_ml},
        provenance={
            "sample_id": str(results[0].provenance.get("sample_id", "")),
            "source_file": ", ".join(files),
        },
        flags=flags,
    )


# --------------------------------------------------------------------------- thickness


@dataclass
class ThicknessResult:
    """Thickness of one layer of a cross-section, column by column."""

    thickness: np.ndarray  # per column, in µm (px if uncalibrated); NaN where not found
    top: np.ndarray  # interface rows (px, sub-pixel)
    bottom: np.ndarray
    pixel_size_nm: float
    pixel_size_source: str
    layer: int
    n_classes: int
    tilt_deg: float
    levels: list[float]
    provenance: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_iso)
    version: str = field(default_factory=charact_version)

    @property
    def unit(self) -> str:
        return "um" if math.isfinite(self.pixel_size_nm) else "px"

    @property
    def n_columns(self) -> int:
        return int(np.isfinite(self.thickness).sum())

    def stats(self) -> dict[str, float]:
        t = self.thickness[np.isfinite(self.thickness)]
        if t.size == 0:
            return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
        return {
            "mean": float(t.mean()),
            "std": float(t.std(ddof=1)) if t.size > 1 else math.nan,
            "min": float(t.min()),
            "max": float(t.max()),
            "median": float(np.median(t)),
        }

    def to_dict(self) -> dict[str, Any]:
        """The result document (JSON-friendly; NaN becomes None)."""
        return _clean(
            {
                "analysis": "sem.thickness",
                "pixel_size_nm": self.pixel_size_nm,
                "pixel_size_source": self.pixel_size_source,
                "length_unit": "µm" if self.unit == "um" else "px",
                f"thickness_{self.unit}": self.stats(),
                "n_columns": self.n_columns,
                "n_columns_skipped": int(self.thickness.size - self.n_columns),
                "layer": self.layer,
                "n_classes": self.n_classes,
                "class_levels": list(self.levels),
                "tilt_deg": self.tilt_deg,
                "flags": list(self.flags),
                "provenance": dict(self.provenance),
                "created": self.created,
                "charact_version": self.version,
            }
        )

    def to_dataset(self) -> xr.Dataset:
        """Per-column thickness and interfaces on a ``column`` dim."""
        unit = "µm" if self.unit == "um" else "px"
        ds = xr.Dataset(
            {
                "thickness": xr.Variable("column", self.thickness, {"units": unit}),
                "top": xr.Variable("column", self.top, {"units": "px"}),
                "bottom": xr.Variable("column", self.bottom, {"units": "px"}),
            },
            coords={
                "column": xr.Variable("column", np.arange(self.thickness.size), {"units": "px"})
            },
        )
        doc = self.to_dict()
        ds.attrs = {k: v for k, v in doc.items() if v is not None}
        for key in PROVENANCE_ATTRS:
            ds.attrs[key] = str(self.provenance.get(key, ""))
        return ds


def _crossing(profile: np.ndarray, start: int, stop: int, level: float) -> float:
    """Sub-pixel row where ``profile`` crosses ``level`` between rows start..stop (inclusive)."""
    lo, hi = max(0, min(start, stop)), min(profile.size - 1, max(start, stop))
    seg = profile[lo : hi + 1] - level
    sign = np.sign(seg)
    idx = np.flatnonzero(sign[:-1] * sign[1:] <= 0)
    if idx.size == 0:
        return math.nan
    # the crossing nearest the class boundary found by the labelling
    target = (start + stop) / 2 - lo
    k = int(idx[np.argmin(np.abs(idx + 0.5 - target))])
    y0, y1 = seg[k], seg[k + 1]
    frac = 0.5 if y1 == y0 else y0 / (y0 - y1)
    return lo + k + float(frac)


def _neighbour_run(col: np.ndarray, row: int, step: int, min_run: int) -> tuple[int, int]:
    """Class of the first run of at least ``min_run`` rows from ``row`` going ``step``, and the
    row where it begins (on the side facing ``row``); short transition runs are skipped."""
    h = col.size
    r = row
    while 0 <= r < h:
        k = col[r]
        r2 = r
        while 0 <= r2 + step < h and col[r2 + step] == k:
            r2 += step
        if abs(r2 - r) + 1 >= min_run or not 0 <= r2 + step < h:
            return int(k), r
        r = r2 + step
    return int(col[row]), row


def measure_thickness(
    image: xr.DataArray,
    *,
    layer: int | None = None,
    n_classes: int = 3,
    smooth_px: float = 2.0,
    tilt_deg: float = 0.0,
    min_fraction: float = 0.02,
    allow_uncalibrated: bool = True,
) -> ThicknessResult:
    """Thickness of one layer of a cross-section, in every column.

    Parameters
    ----------
    image
        A cross-section image with the layers stacked vertically.
    layer
        The layer's grey class, 0 = darkest … ``n_classes`` − 1 = brightest; by default the
        class whose runs are on average between the others (the middle band).
    n_classes
        Number of grey classes (multi-Otsu, Liao et al. 2001).
    smooth_px
        Gaussian smoothing (px) before classifying and locating interfaces.
    tilt_deg
        Tilt of the cross-section face from normal to the beam; thickness is divided by
        cos(tilt).
    min_fraction
        Runs shorter than this fraction of the image height are ignored (noise).
    """
    from skimage.filters import threshold_multiotsu

    if not isinstance(image, xr.DataArray) or image.ndim != 2:
        raise InputError("expected an SEM image (2-D DataArray on y, x) from charact.read")
    if not 0 <= tilt_deg < 89:
        raise InputError(f"tilt_deg must be in [0, 89), got {tilt_deg}")
    if n_classes < 2:
        raise InputError(f"n_classes must be at least 2, got {n_classes}")
    px = _pixel_size_nm(image, allow_uncalibrated)
    a = normalize_image(image)
    sm = ndi.gaussian_filter(a, smooth_px) if smooth_px > 0 else a
    thresholds = threshold_multiotsu(sm, classes=n_classes)
    classes = np.digitize(sm, thresholds)
    levels = [
        float(sm[classes == k].mean()) if (classes == k).any() else math.nan
        for k in range(n_classes)
    ]
    h, w = a.shape
    # runs shorter than a blurred step (about 2 x smoothing + 2 px) are transitions, not layers
    min_run = max(int(2 * smooth_px + 2), int(min_fraction * h))
    runs_by_col: list[dict[int, tuple[int, int]]] = []
    for c in range(w):
        col = classes[:, c]
        change = np.flatnonzero(np.diff(col)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [h]])
        best: dict[int, tuple[int, int]] = {}
        for s, e in zip(starts, ends, strict=True):
            k = int(col[s])
            if e - s >= min_run and (k not in best or e - s > best[k][1] - best[k][0]):
                best[k] = (int(s), int(e))
        runs_by_col.append(best)
    if layer is None:
        # the layer is the class whose runs sit between others, i.e. not touching top/bottom
        inner = [
            k
            for k in range(n_classes)
            if sum(1 for b in runs_by_col if k in b and b[k][0] > 0 and b[k][1] < h) > 0.5 * w
        ]
        if not inner:
            raise InputError(
                f"{image.attrs.get('source_file', 'image')}: found no layer between two others "
                f"in {n_classes} grey classes",
                hint="choose the layer's grey class with --layer (0 = darkest) or change --classes",
            )
        layer = inner[0]
    if not 0 <= layer < n_classes:
        raise InputError(f"layer must be between 0 and {n_classes - 1}, got {layer}")
    top = np.full(w, np.nan)
    bottom = np.full(w, np.nan)
    for c, best in enumerate(runs_by_col):
        if layer not in best:
            continue
        s, e = best[layer]
        if s == 0 or e == h:
            continue  # the layer runs off the image: its thickness is unknown here
        col = classes[:, c]
        # the neighbours are the first long runs beyond the layer: a blurred step between two
        # classes passes through the levels of classes in between (a dark layer under bright
        # resin above grey substrate briefly looks "grey"), which must not be taken for them
        above, edge_above = _neighbour_run(col, s - 1, -1, min_run)
        below, edge_below = _neighbour_run(col, e, +1, min_run)
        prof = sm[:, c]
        top[c] = _crossing(
            prof, min(edge_above - 1, s - 3), s + 2, 0.5 * (levels[above] + levels[layer])
        )
        bottom[c] = _crossing(
            prof, e - 3, max(edge_below + 1, e + 2), 0.5 * (levels[below] + levels[layer])
        )
    # pixel centres are at integer rows: the crossing between rows k and k+1 is at k + f
    thick_px = (bottom - top) / math.cos(math.radians(tilt_deg))
    scale = px / 1000.0 if math.isfinite(px) else 1.0
    flags = []
    n_ok = int(np.isfinite(thick_px).sum())
    if n_ok == 0:
        raise InputError(
            f"{image.attrs.get('source_file', 'image')}: the layer (grey class {layer}) has two "
            "interfaces in no column",
            hint="check --layer and --classes",
        )
    if n_ok < 0.5 * w:
        flags.append(f"the layer was found in only {n_ok} of {w} columns")
    if not math.isfinite(px):
        flags.append("image is uncalibrated: thickness is in pixels")
    prov = provenance_of(image)
    return ThicknessResult(
        thickness=thick_px * scale,
        top=top,
        bottom=bottom,
        pixel_size_nm=px,
        pixel_size_source=str(image.attrs.get("pixel_size_source", "none")),
        layer=int(layer),
        n_classes=n_classes,
        tilt_deg=float(tilt_deg),
        levels=levels,
        provenance=prov,
        flags=flags,
    )
