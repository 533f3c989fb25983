"""Particle segmentation: denoise, threshold, clean up, split touching particles.

The pipeline (every step settable through keyword options of :func:`segment_particles`):

1. **denoise** — ``"gaussian"`` (σ in px), ``"nlmeans"`` (scikit-image non-local means with
   the noise level estimated from the image) or ``"none"``;
2. **threshold** — ``"otsu"`` (Otsu 1979), ``"li"`` (Li & Tam 1998, minimum cross-entropy) or
   ``"local"`` (uneven illumination: the background, a grey opening over ``local_block_px``
   wider than any particle, is subtracted before Otsu); particles
   are ``"bright"`` (SE images of particles on a substrate, the default) or ``"dark"``;
3. **morphology** — opening with a disk of ``opening_px`` (removes speckle) and hole filling
   (particles with a dark core, charged centres);
4. **watershed** — on the Euclidean distance transform. Markers are the h-maxima of the
   distance map, with the depth ``h = split_depth × r_typical``: two touching round particles
   of radius r joined by a neck of half-width w give two maxima separated by a saddle of depth
   r − w, so ``split_depth=0.15`` (the default) splits pairs whose neck is narrower than 85%
   of their radius and leaves elongated single particles (whose ridge has no such saddle)
   whole. ``r_typical`` is the median of the largest inscribed radius of the connected
   blobs, so the marker spacing follows the image, not a constant in pixels;
5. **edge removal** — particles touching the frame are dropped and counted (their size is
   unknown); :mod:`charact.sem.analyze` corrects the resulting bias against large particles
   with Miles–Lantuéjoul weights;
6. **size filter** — particles whose equivalent circular diameter is below ``min_size_px``
   are dropped and counted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage as ndi

from ..core.errors import InputError

__all__ = ["Segmentation", "SegmentationSettings", "normalize_image", "segment_particles"]


@dataclass
class SegmentationSettings:
    """Every setting of the segmentation pipeline (see the module docstring)."""

    denoise: str = "gaussian"
    denoise_sigma_px: float = 1.0
    threshold: str = "otsu"
    local_block_px: int = 101
    polarity: str = "bright"
    opening_px: int = 1
    fill_holes: bool = True
    watershed: bool = True
    split_depth: float = 0.15
    exclude_edge: bool = True
    min_size_px: float = 4.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Segmentation:
    """Labels of the kept particles and what was removed on the way."""

    labels: np.ndarray
    mask: np.ndarray
    threshold_value: float
    n_excluded_edge: int
    n_excluded_small: int
    edge_labels: np.ndarray
    typical_radius_px: float
    settings: SegmentationSettings
    warnings: list[str] = field(default_factory=list)

    @property
    def n_particles(self) -> int:
        return len(np.unique(self.labels[self.labels > 0]))


def normalize_image(image: xr.DataArray | np.ndarray) -> np.ndarray:
    """Grey values scaled to [0, 1] as float (8- and 16-bit images alike).

    Raises
    ------
    InputError
        For a non-2-D, non-finite or constant (blank/saturated) image.
    """
    a = np.asarray(image.values if isinstance(image, xr.DataArray) else image, dtype=float)
    label = (image.attrs.get("source_file") if isinstance(image, xr.DataArray) else None) or "image"
    if a.ndim != 2:
        raise InputError(f"{label}: expected a 2-D grey image, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{label}: the image holds NaN or infinite values")
    lo, hi = np.percentile(a, [0.1, 99.9])
    if hi - lo <= 0:
        lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 0:
        raise InputError(
            f"{label}: the image is blank (every pixel is {lo:g}); nothing to segment",
            hint="check the detector settings or the file",
        )
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def _denoise(a: np.ndarray, s: SegmentationSettings) -> np.ndarray:
    if s.denoise == "none":
        return a
    if s.denoise == "gaussian":
        return ndi.gaussian_filter(a, s.denoise_sigma_px) if s.denoise_sigma_px > 0 else a
    if s.denoise == "nlmeans":
        from skimage.restoration import denoise_nl_means

        # noise level from neighbouring-pixel differences (robust MAD; differences of two
        # independent pixels have sqrt(2) x the noise)
        sigma = float(1.4826 * np.median(np.abs(np.diff(a, axis=1))) / math.sqrt(2))
        return denoise_nl_means(a, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5)
    raise InputError(f"denoise must be 'gaussian', 'nlmeans' or 'none', got {s.denoise!r}")


def _threshold(a: np.ndarray, s: SegmentationSettings) -> tuple[np.ndarray, float]:
    from skimage import filters

    if s.threshold == "otsu":
        t = float(filters.threshold_otsu(a))
    elif s.threshold == "li":
        t = float(filters.threshold_li(a))
    elif s.threshold == "local":
        # Uneven illumination: remove the background estimated by a grey opening (closing
        # for dark particles) wider than any particle, a rolling-ball-like filter (Sternberg
        # 1983), then threshold the flattened image with Otsu.
        size = int(s.local_block_px) | 1
        small = a[::2, ::2]  # the background is smooth: estimate it at half resolution
        if s.polarity == "dark":
            bg = ndi.grey_closing(small, size=(size // 2 + 1, size // 2 + 1))
        else:
            bg = ndi.grey_opening(small, size=(size // 2 + 1, size // 2 + 1))
        bg = ndi.gaussian_filter(bg, size / 8)
        from skimage.transform import resize

        a = a - resize(bg, a.shape, order=1, mode="edge", anti_aliasing=False)
        t = float(filters.threshold_otsu(a))
    else:
        raise InputError(f"threshold must be 'otsu', 'li' or 'local', got {s.threshold!r}")
    if s.polarity == "bright":
        return a > t, t
    if s.polarity == "dark":
        return a < t, t
    raise InputError(f"polarity must be 'bright' or 'dark', got {s.polarity!r}")


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_fill_holes`` (4-connected background) by one labelling of the background:
    every background component that does not reach the frame is a hole."""
    bg, n = ndi.label(~mask)
    if n == 0:
        return mask
    edge = np.unique(np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]]))
    outside = np.zeros(n + 1, dtype=bool)
    outside[edge] = True
    outside[0] = True
    return mask | ~outside[bg]


def _split(mask: np.ndarray, s: SegmentationSettings) -> tuple[np.ndarray, float]:
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    blobs, n = ndi.label(mask)
    if n == 0:
        return blobs, math.nan
    dist = ndi.distance_transform_edt(mask)
    fg = np.flatnonzero(mask)
    peaks = np.zeros(n + 1)
    np.maximum.at(peaks, blobs.ravel()[fg], dist.ravel()[fg])
    r_typ = float(np.median(peaks[1:]))
    if not s.watershed:
        return blobs, r_typ
    h = max(1.0, s.split_depth * r_typ)
    # A light smoothing removes the 1-px terraces of the Euclidean map on digitised edges,
    # which would otherwise add spurious maxima along elongated particles.
    smooth = ndi.gaussian_filter(dist, 1.0) * mask
    # The h-maxima (a grey reconstruction that sorts every pixel) are found on a max-pooled
    # copy when particles are large: pooling keeps every maximum's height exactly and a
    # saddle's height to second order (the saddle is a minimum along the ridge and the
    # block takes the ridge's value across it), while blocks of k <= r_typ/5 px never hold
    # the maxima of two particles. Each marker is put back at its block's maximum.
    k = int(min(4, max(1, r_typ // 5)))
    if k > 1:
        hh, ww = smooth.shape
        ph, pw = -hh % k, -ww % k
        padded = np.pad(smooth, ((0, ph), (0, pw)))
        pooled = padded.reshape((hh + ph) // k, k, (ww + pw) // k, k).max(axis=(1, 3))
        small, _ = ndi.label(h_maxima(pooled, h))
        up = np.repeat(np.repeat(small, k, axis=0), k, axis=1)[:hh, :ww]
        block_max = np.repeat(np.repeat(pooled, k, axis=0), k, axis=1)[:hh, :ww]
        markers = np.where((up > 0) & mask & (smooth >= block_max), up, 0)
    else:
        markers, _ = ndi.label(h_maxima(smooth, h))
    # Only blobs holding two or more markers need the watershed; a blob with one marker is
    # one particle, and a blob too small to hold an h-maximum keeps its own label too.
    mk = markers.ravel()
    at = np.flatnonzero(mk)
    blob_of_marker = np.zeros(int(markers.max()) + 1, dtype=np.int64)
    blob_of_marker[mk[at]] = blobs.ravel()[at]  # a marker lies in one blob
    n_markers = np.bincount(blob_of_marker[1:], minlength=n + 1)
    single = n_markers <= 1
    single[0] = False
    new_id = np.zeros(n + 1, dtype=np.int32)
    new_id[single] = np.arange(1, int(single.sum()) + 1)
    labels = new_id[blobs]
    multi = n_markers > 1
    multi[0] = False
    if multi.any():
        region = multi[blobs]
        part = watershed(-smooth, np.where(region, markers, 0), mask=region)
        # marker labels are unique across the image: shift them past the single blobs' ids
        ids = np.unique(part[part > 0])
        lut = np.zeros(int(part.max()) + 1, dtype=np.int32)
        lut[ids] = np.arange(int(single.sum()) + 1, int(single.sum()) + 1 + ids.size)
        labels = np.where(region, lut[part], labels)
    return labels, r_typ


def segment_particles(
    image: xr.DataArray | np.ndarray,
    *,
    settings: SegmentationSettings | None = None,
    **options: Any,
) -> Segmentation:
    """Segment particles in a grey SEM image.

    Parameters
    ----------
    image
        The image (databar already cropped, as the readers return it).
    settings
        A :class:`SegmentationSettings`; keyword ``options`` override its fields
        (``polarity="dark"``, ``watershed=False``, ``min_size_px=10`` …).

    Returns
    -------
    Segmentation
        Labels (0 = background) of the kept particles and the counts of removed ones.
    """
    s = settings or SegmentationSettings()
    unknown = set(options) - set(SegmentationSettings.__dataclass_fields__)
    if unknown:
        raise InputError(
            f"unknown segmentation option(s) {', '.join(sorted(unknown))}; known: "
            + ", ".join(SegmentationSettings.__dataclass_fields__)
        )
    s = SegmentationSettings(**{**asdict(s), **options})
    if s.split_depth <= 0:
        raise InputError(f"split_depth must be positive, got {s.split_depth}")
    a = normalize_image(image)
    smooth = _denoise(a, s)
    mask, t = _threshold(smooth, s)
    if s.opening_px > 0:
        from skimage.morphology import disk

        mask = ndi.binary_opening(mask, structure=disk(int(s.opening_px)))
    if s.fill_holes:
        mask = _fill_holes(mask)
    notes = []
    frac = float(mask.mean())
    if frac > 0.9:
        notes.append(
            f"{100 * frac:.0f}% of the image is foreground: check the polarity "
            "(bright/dark particles) or the threshold method"
        )
    labels, r_typ = _split(mask, s)
    edge_ids = np.array([], dtype=int)
    if s.exclude_edge and labels.max() > 0:
        border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        edge_ids = np.unique(border[border > 0])
        labels = np.where(np.isin(labels, edge_ids), 0, labels)
    n_small = 0
    if labels.max() > 0 and s.min_size_px > 0:
        ids, counts = np.unique(labels[labels > 0], return_counts=True)
        ecd = 2.0 * np.sqrt(counts / np.pi)
        small = ids[ecd < s.min_size_px]
        n_small = int(small.size)
        if n_small:
            labels = np.where(np.isin(labels, small), 0, labels)
    from skimage.segmentation import relabel_sequential

    labels = relabel_sequential(labels.astype(np.int32))[0]
    return Segmentation(
        labels=labels,
        mask=mask,
        threshold_value=t,
        n_excluded_edge=int(edge_ids.size),
        n_excluded_small=n_small,
        edge_labels=edge_ids,
        typical_radius_px=r_typ,
        settings=s,
        warnings=notes,
    )
