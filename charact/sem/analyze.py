"""Particle measurements, size distributions and layer thicknesses in physical units.

Per particle (scikit-image ``regionprops``, lengths converted with the image's pixel size):
area, equivalent circular diameter ECD = 2√(A/π), Feret max/min (caliper diameters of the
convex hull of the pixel corners; the minimum by rotating calipers over the hull's edge
directions), major/minor axes of the inertia ellipse, aspect ratio = major/minor, circularity
= 4πA/P² (clipped at 1; P is scikit-image's perimeter), solidity = A/A_convex (A_convex: pixel
centres in the convex hull of the particle's pixel centres, so a digitally convex particle has
solidity 1) and the centroid; computed for all particles at once (:mod:`charact.sem.measure`).

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

Thickness (:func:`measure_thickness`): the layer is found on a lightly smoothed copy split into
grey-level classes (multi-Otsu); in every column its two interfaces are then fitted on the
unsmoothed pixels with a blurred two-edge model (:mod:`charact.sem.edges`), sub-pixel and
unbiased for layers down to about the blur width, where half-level crossings are not. Columns
where the layer is missing are skipped and counted. A tilted view foreshortens vertical
lengths: with the cross-section face tilted by θ away from normal to the beam,
t = t_measured / cos θ.

Clusters (:func:`clustering_summary`): particles of low solidity and particles cut out of
touching groups are counted and flagged, the limits of a 2-D watershed.
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
            f"{image.attrs.get('source_file') or 'image'}: no pixel size (the file carries no "
            "calibration the readers understand)",
            hint="give one, e.g. --pixel-size 4.47nm, or the scale bar's length with "
            "--scale-bar 300nm",
        )
    return px


# --------------------------------------------------------------------------- per particle


def measure_particles(
    labels: np.ndarray, *, pixel_size_nm: float, image_shape: tuple[int, int] | None = None
) -> pd.DataFrame:
    """One row per labelled particle with its size and shape in µm (or px if uncalibrated).

    Columns: ``label``, ``area``, ``ecd``, ``feret_max``, ``feret_min``, ``major_axis``,
    ``minor_axis``, ``aspect_ratio``, ``circularity``, ``solidity``, ``centroid_x``,
    ``centroid_y``, ``bbox_width_px``, ``bbox_height_px``, ``ml_weight``. Lengths are in µm
    (areas in µm²) when ``pixel_size_nm`` is finite, in px otherwise. The geometry is that of
    scikit-image's ``regionprops`` (area, centroid, axes, perimeter), computed for all
    particles at once by :func:`charact.sem.measure.particle_geometry`.
    """
    from .measure import particle_geometry

    lab = np.asarray(labels)
    h, w = image_shape or lab.shape
    scale = pixel_size_nm / 1000.0 if math.isfinite(pixel_size_nm) else 1.0
    g = particle_geometry(lab)
    area_px = g["area"]
    perim = g["perimeter"]
    with np.errstate(divide="ignore", invalid="ignore"):
        circ = np.where(perim > 0, np.minimum(1.0, 4 * math.pi * area_px / perim**2), np.nan)
        aspect = np.where(g["minor_axis"] > 0, g["major_axis"] / g["minor_axis"], np.nan)
        denom = (w - g["bbox_width"]) * (h - g["bbox_height"])
        ml = np.where(denom > 0, (w * h) / denom, np.nan)
    data = {
        "label": g["label"].astype(int),
        "area": area_px * scale**2,
        "ecd": 2 * np.sqrt(area_px / math.pi) * scale,
        "feret_max": g["feret_max"] * scale,
        "feret_min": g["feret_min"] * scale,
        "major_axis": g["major_axis"] * scale,
        "minor_axis": g["minor_axis"] * scale,
        "aspect_ratio": aspect,
        "circularity": circ,
        "solidity": area_px / g["area_convex"],
        "centroid_x": g["centroid_col"] * scale,
        "centroid_y": g["centroid_row"] * scale,
        "bbox_width_px": g["bbox_width"].astype(int),
        "bbox_height_px": g["bbox_height"].astype(int),
        "ml_weight": ml,
    }
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
    return pd.DataFrame(data, columns=columns)


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
    clustering: dict[str, Any] = field(default_factory=dict)
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
            "solidity": self._summary("solidity", ("mean", "median")),
            "clustering": dict(self.clustering),
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


#: Solidity below which a measured "particle" is taken for a cluster the watershed did not split
#: (two touching convex particles joined by a neck the default split depth keeps whole have
#: solidity ≈ 0.98 – 0.89; digitally convex particles have exactly 1).
LOW_SOLIDITY = 0.85
#: Flag when more than this share of the measured particle area has a low solidity.
CLUSTER_AREA_LIMIT = 0.10
#: Flag when more than this share of the particles were split out of clusters.
SPLIT_FRACTION_LIMIT = 0.6


def clustering_summary(table: pd.DataFrame, labels: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """How clustered the particles are, and flags where the watershed reaches its limits.

    Two signs that particles lie on or against each other beyond what a 2-D watershed can
    resolve: measured "particles" of low solidity (``LOW_SOLIDITY``: clusters left whole, or
    piled 3-D particles whose outline is not convex), and a majority of particles cut out of
    clusters by the watershed (``SPLIT_FRACTION_LIMIT``; touching particles are split
    correctly, but where they overlap in 3-D the hidden parts are not measured, so those
    sizes are biased low, and a 2-D image cannot tell touching from overlapping).

    Returns
    -------
    dict
        ``low_solidity_threshold``, ``n_low_solidity``, ``area_fraction_low_solidity``,
        ``n_from_clusters`` (particles sharing a foreground blob with others),
        ``fraction_from_clusters``, ``largest_cluster`` (particles in the largest blob),
        ``foreground_fraction`` and ``flags`` (a list of messages).
    """
    out: dict[str, Any] = {
        "low_solidity_threshold": LOW_SOLIDITY,
        "n_low_solidity": 0,
        "area_fraction_low_solidity": math.nan,
        "n_from_clusters": 0,
        "fraction_from_clusters": math.nan,
        "largest_cluster": 0,
        "foreground_fraction": float(np.mean(mask)) if mask.size else math.nan,
        "flags": [],
    }
    if len(table) == 0:
        return out
    sol = table["solidity"].to_numpy(float)
    area = table["area"].to_numpy(float)
    low = sol < LOW_SOLIDITY
    out["n_low_solidity"] = int(low.sum())
    out["area_fraction_low_solidity"] = float(area[low].sum() / area.sum())
    blobs, _ = ndi.label(mask)
    lab = np.asarray(labels)
    at = np.flatnonzero(lab)
    # every particle lies in one foreground blob: read it off any of its pixels
    blob_of = np.zeros(int(lab.max()) + 1, dtype=np.int64)
    blob_of[lab.ravel()[at]] = blobs.ravel()[at]
    blob_of = blob_of[table["label"].to_numpy(int)]
    per_blob = np.bincount(blob_of)
    in_cluster = per_blob[blob_of] > 1
    out["n_from_clusters"] = int(in_cluster.sum())
    out["fraction_from_clusters"] = float(in_cluster.mean())
    out["largest_cluster"] = int(per_blob.max())
    if out["area_fraction_low_solidity"] > CLUSTER_AREA_LIMIT:
        out["flags"].append(
            f"{100 * out['area_fraction_low_solidity']:.0f}% of the particle area is in "
            f"{out['n_low_solidity']} particles of solidity < {LOW_SOLIDITY}: clusters or "
            "piled particles the watershed did not split, measured as one (their sizes are "
            "aggregates); try a smaller --split-depth, or read D90 as an upper bound"
        )
    if out["fraction_from_clusters"] > SPLIT_FRACTION_LIMIT:
        out["flags"].append(
            f"{100 * out['fraction_from_clusters']:.0f}% of the particles were cut out of "
            f"touching groups (largest: {out['largest_cluster']} particles): if they overlap "
            "(piled in 3-D) rather than touch, their hidden parts are not seen and those "
            "sizes are biased low; lobes of one particle (dumbbells) are counted apart"
        )
    return out


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
    clustering = clustering_summary(table, seg.labels, seg.mask)
    flags.extend(clustering.pop("flags"))
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
        clustering=clustering,
    )


def _pooled_clustering(results: list[SizeResult], table: pd.DataFrame) -> dict[str, Any]:
    """The clustering summaries of several images added up (fractions over all particles)."""
    parts = [r.clustering for r in results if r.clustering]
    if not parts or len(table) == 0:
        return {}
    sol = table["solidity"].to_numpy(float)
    area = table["area"].to_numpy(float)
    low = sol < LOW_SOLIDITY
    n_from = sum(int(c.get("n_from_clusters", 0)) for c in parts)
    return {
        "low_solidity_threshold": LOW_SOLIDITY,
        "n_low_solidity": int(low.sum()),
        "area_fraction_low_solidity": float(area[low].sum() / area.sum()),
        "n_from_clusters": n_from,
        "fraction_from_clusters": n_from / len(table),
        "largest_cluster": max(int(c.get("largest_cluster", 0)) for c in parts),
    }


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
        clustering=_pooled_clustering(results, table),
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
    blur_px: float = math.nan  # fitted edge blur (Gaussian sigma, px)
    fit_rms: float = math.nan  # rms residual of the edge fit, as a fraction of the grey range
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
                "blur_px": self.blur_px,
                "fit_rms": self.fit_rms,
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


def _runs(col: np.ndarray) -> list[tuple[int, int, int]]:
    """(class, start, end) of the runs of equal class down one column (end exclusive)."""
    change = np.flatnonzero(np.diff(col)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [col.size]])
    return [(int(col[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _neighbour(
    runs: list[tuple[int, int, int]], i: int, step: int, min_run: int
) -> tuple[int, int, int]:
    """Class of the first run of at least ``min_run`` rows beyond run ``i`` going ``step``
    (short transition runs are skipped), the row where it begins on the side facing the
    layer, and the row where it ends on the far side."""
    j = i + step
    while 0 <= j < len(runs):
        k, s, e = runs[j]
        if e - s >= min_run or not 0 <= j + step < len(runs):
            return (k, e - 1, s) if step < 0 else (k, s, e - 1)
        j += step
    k, s, e = runs[i]
    return (k, s, s) if step < 0 else (k, e - 1, e - 1)


def measure_thickness(
    image: xr.DataArray,
    *,
    layer: int | None = None,
    n_classes: int = 3,
    smooth_px: float = 1.0,
    x_smooth_px: float = 2.0,
    tilt_deg: float = 0.0,
    min_fraction: float = 0.02,
    margin_px: float | None = None,
    level_degree: int = 2,
    allow_uncalibrated: bool = True,
) -> ThicknessResult:
    """Thickness of one layer of a cross-section, in every column.

    The layer is found on a lightly smoothed copy split into grey classes (multi-Otsu, Liao
    et al. 2001); its two interfaces are then fitted, column by column, on the unsmoothed
    pixels with a blurred two-edge model (:mod:`charact.sem.edges`): sub-pixel and unbiased
    for layers down to about the blur width, where half-level crossings are biased.

    Parameters
    ----------
    image
        A cross-section image with the layers stacked vertically.
    layer
        The layer's grey class, 0 = darkest … ``n_classes`` − 1 = brightest. By default the
        class that lies between two others in most columns, a class brighter or darker than
        both its neighbours first (a blurred step between a dark and a bright layer passes
        through the middle grey, which is not a layer).
    n_classes
        Number of grey classes.
    smooth_px
        Gaussian smoothing (px) of the copy used to find the layer (not of the fitted pixels).
    x_smooth_px
        Gaussian smoothing (px) along x only of the fitted pixels: neighbouring columns
        average their noise; the interfaces, nearly horizontal, stay sharp (0 to switch off).
    tilt_deg
        Tilt of the cross-section face from normal to the beam; thickness is divided by
        cos(tilt).
    min_fraction
        Neighbour runs shorter than this fraction of the image height (or than a blurred step)
        are taken for transitions.
    margin_px
        Rows fitted on either side of each interface (default: 4 × the fitted blur, at least
        6 px).
    level_degree
        Degree of the polynomial along the image of the layer's grey level in the fit (0: one
        level for the whole layer).
    """
    from skimage.filters import threshold_multiotsu

    from .edges import fit_layer_edges

    if not isinstance(image, xr.DataArray) or image.ndim != 2:
        raise InputError("expected an SEM image (2-D DataArray on y, x) from charact.read")
    if not 0 <= tilt_deg < 89:
        raise InputError(f"tilt_deg must be in [0, 89), got {tilt_deg}")
    if n_classes < 2:
        raise InputError(f"n_classes must be at least 2, got {n_classes}")
    if x_smooth_px < 0 or smooth_px < 0:
        raise InputError("smooth_px and x_smooth_px must not be negative")
    if margin_px is not None and margin_px < 2:
        raise InputError(f"margin_px must be at least 2, got {margin_px}")
    name = image.attrs.get("source_file") or "image"
    px = _pixel_size_nm(image, allow_uncalibrated)
    a = normalize_image(image)
    sm = ndi.gaussian_filter(a, smooth_px) if smooth_px > 0 else a
    try:
        thresholds = threshold_multiotsu(sm, classes=n_classes)
    except ValueError as exc:
        raise InputError(
            f"{name}: cannot split the image into {n_classes} grey classes ({exc})",
            hint="use fewer --classes",
        ) from exc
    classes = np.digitize(sm, thresholds)
    levels = [
        float(sm[classes == k].mean()) if (classes == k).any() else math.nan
        for k in range(n_classes)
    ]
    h, w = a.shape
    # neighbours must be longer than a blurred step (about 2 x smoothing + 3 px)
    min_run = max(int(2 * smooth_px + 3), int(min_fraction * h))
    col_runs = [_runs(classes[:, c]) for c in range(w)]

    def inner_runs(k: int, runs: list[tuple[int, int, int]]) -> list[int]:
        return [i for i, (kk, s, e) in enumerate(runs) if kk == k and s > 0 and e < h]

    def extreme(runs: list[tuple[int, int, int]], i: int) -> bool:
        above = _neighbour(runs, i, -1, min_run)[0]
        below = _neighbour(runs, i, +1, min_run)[0]
        k = runs[i][0]
        return (k > above and k > below) or (k < above and k < below)

    if layer is None:
        score: dict[int, tuple[int, int]] = {}
        for k in range(n_classes):
            n_in = n_ext = 0
            for runs in col_runs:
                idx = inner_runs(k, runs)
                if idx:
                    n_in += 1
                    best = max(idx, key=lambda i: runs[i][2] - runs[i][1])
                    n_ext += extreme(runs, best)
            score[k] = (n_ext, n_in)
        cands = [k for k in range(n_classes) if score[k][1] > 0.5 * w]
        if not cands:
            raise InputError(
                f"{name}: found no layer between two others in {n_classes} grey classes",
                hint="choose the layer's grey class with --layer (0 = darkest) or change --classes",
            )
        ext = [k for k in cands if score[k][0] > 0.5 * w]
        pool = ext or cands
        layer = max(pool, key=lambda k: score[k][1])
    if not 0 <= layer < n_classes:
        raise InputError(f"layer must be between 0 and {n_classes - 1}, got {layer}")
    # the layer's run in each column: the longest first, then the one nearest the layer's
    # running median course (a noise speckle of the layer's class elsewhere is not the layer)
    longest = {}
    for c, runs in enumerate(col_runs):
        idx = inner_runs(layer, runs)
        if idx:
            longest[c] = max(idx, key=lambda i: runs[i][2] - runs[i][1])
    if not longest:
        raise InputError(
            f"{name}: the layer (grey class {layer}) has two interfaces in no column",
            hint="check --layer and --classes",
        )
    found = np.array(sorted(longest))
    centre = np.array([0.5 * sum(col_runs[c][longest[c]][1:]) for c in found])
    length = np.array([col_runs[c][longest[c]][2] - col_runs[c][longest[c]][1] for c in found])
    course = np.interp(
        np.arange(w), found, ndi.median_filter(centre, size=min(51, found.size), mode="nearest")
    )
    tolerance = max(10.0, 3.0 * float(np.median(length)))
    cols, top0, bot0, lo, hi = [], [], [], [], []
    for c, runs in enumerate(col_runs):
        idx = inner_runs(layer, runs)
        if not idx:
            continue  # missing, or running off the image: its thickness is unknown here

        def gap(i: int, c: int = c, runs: list[tuple[int, int, int]] = runs) -> float:
            _k, s, e = runs[i]
            return max(0.0, s - course[c], course[c] - (e - 1))

        i = min(idx, key=lambda i: (gap(i), -(runs[i][2] - runs[i][1])))
        if gap(i) > tolerance:
            continue
        _k, s, e = runs[i]
        # the neighbours are the first long runs beyond the layer: a blurred step between two
        # classes passes through the levels of classes in between (a dark layer under bright
        # resin above grey substrate briefly looks "grey"), which must not be taken for them
        above, near_a, far_a = _neighbour(runs, i, -1, min_run)
        below, near_b, far_b = _neighbour(runs, i, +1, min_run)
        prof = sm[:, c]
        t0 = _crossing(prof, min(near_a, s - 2), s + 1, 0.5 * (levels[above] + levels[layer]))
        b0 = _crossing(prof, e - 2, max(near_b, e + 1), 0.5 * (levels[below] + levels[layer]))
        if not (math.isfinite(t0) and math.isfinite(b0)) or b0 <= t0:
            t0, b0 = s - 0.5, e - 0.5  # run bounds (pixel edges) as a first guess
        cols.append(c)
        top0.append(t0)
        bot0.append(b0)
        lo.append(far_a)
        hi.append(far_b)
    columns = np.asarray(cols)
    args = {
        "lo": np.asarray(lo, float),
        "hi": np.asarray(hi, float),
        "level_degree": level_degree,
    }
    margin = 6.0 if margin_px is None else float(margin_px)
    # neighbouring columns see nearly the same interfaces: averaging along x (only) lowers
    # the noise of every column profile without blurring the interfaces vertically
    fa = ndi.gaussian_filter1d(a, x_smooth_px, axis=1) if x_smooth_px > 0 else a
    fit = fit_layer_edges(fa, columns, np.asarray(top0), np.asarray(bot0), margin=margin, **args)
    if margin_px is None and 4 * fit.blur_px > margin:  # blurrier than guessed: wider windows
        margin = math.ceil(4 * fit.blur_px)
        fit = fit_layer_edges(
            fa,
            columns,
            np.where(np.isfinite(fit.top), fit.top, top0),
            np.where(np.isfinite(fit.bottom), fit.bottom, bot0),
            margin=margin,
            blur0=fit.blur_px,
            **args,
        )
    top = np.full(w, np.nan)
    bottom = np.full(w, np.nan)
    top[columns] = fit.top
    bottom[columns] = fit.bottom
    thick_px = (bottom - top) / math.cos(math.radians(tilt_deg))
    scale = px / 1000.0 if math.isfinite(px) else 1.0
    flags = []
    n_ok = int(np.isfinite(thick_px).sum())
    if n_ok == 0:
        raise InputError(
            f"{name}: the layer (grey class {layer}) could be fitted in no column",
            hint="check --layer and --classes, or give a wider --margin",
        )
    if n_ok < 0.5 * w:
        flags.append(f"the layer was found in only {n_ok} of {w} columns")
    if fit.n_pinned:
        flags.append(
            f"{fit.n_pinned} columns left out: their interfaces moved further than the fitting "
            "margin from where the layer was found"
        )
    if not fit.converged:
        flags.append(f"the edge fit did not converge in {fit.n_iter} iterations")
    med = float(np.nanmedian(bottom - top)) if n_ok else math.nan
    if med < 0.5:
        # a sharp step between two classes passes through the middle grey in a pixel or
        # two: the fit sees no plateau and collapses the "layer" to a fraction of a pixel
        # (a real layer of 1 px fits ~1 px; a blurred step ~ its blur, flagged below)
        raise InputError(
            f"{name}: found no layer between two others: grey class {layer} fits "
            f"{med:.2g} px thick, under half a pixel: it is the step between its "
            "neighbours, not a layer",
            hint="choose the layer's grey class with --layer (0 = darkest) or change --classes",
        )
    lev_a, lev_l, lev_b = (
        float(np.nanmedian(v)) for v in (fit.level_above, fit.level_layer, fit.level_below)
    )
    # a layer brighter or darker than both neighbours trades its own level against its
    # thickness once it is thinner than ~3 blur widths (its plateau is never reached); a
    # middle-grey layer keeps its shape down to ~2 (generated images: docs/sem.md)
    extreme = (lev_l - lev_a) * (lev_l - lev_b) > 0
    limit = 3.0 if extreme else 2.0
    contrast = min(abs(lev_l - lev_a), abs(lev_l - lev_b))
    if contrast < 3 * fit.rms:
        flags.append(
            f"the layer's grey level differs from a neighbour's by {contrast:.2g}, under 3x the "
            f"noise ({fit.rms:.2g}, fraction of the grey range): the grey classes may not "
            "separate this layer; the thickness is unreliable (try --classes or --layer)"
        )
    coarse = float(np.median(np.asarray(bot0) - np.asarray(top0)))
    if math.isfinite(med) and abs(med - coarse) > max(2.0, 0.5 * coarse):
        flags.append(
            f"the edge fit ({med:.3g} px) disagrees with the layer's extent in the grey "
            f"classes ({coarse:.3g} px): the thickness is unreliable (check the plot)"
        )
    if math.isfinite(med) and med < limit * fit.blur_px:
        flags.append(
            f"the layer ({med:.3g} px) is thinner than {limit:g}x the blur "
            f"({fit.blur_px:.2g} px): its thickness and the blur are hard to tell apart, "
            "the thickness is uncertain (likely over-estimated)"
        )
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
        blur_px=fit.blur_px,
        fit_rms=fit.rms,
        provenance=prov,
        flags=flags,
    )
