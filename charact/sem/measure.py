"""Per-particle geometry of a label image, for all particles at once.

The quantities are those of scikit-image's ``regionprops`` (van der Walt et al. 2014), computed
with array operations over the whole label image instead of one region at a time:

* area (pixel count), centroid, bounding box;
* major/minor axis lengths of the inertia ellipse: 4√λ of the eigenvalues λ of the central
  second-moment matrix (as ``regionprops``' ``axis_major_length``/``axis_minor_length``);
* perimeter by the weighting of Benkrid & Crookes (as ``skimage.measure.perimeter`` with
  4-connectivity): border pixels (those a cross-shaped erosion removes) are coded by which of
  their 8 neighbours are border pixels of the same particle, and each code has a length
  (1, √2 or (1 + √2)/2);
* convex area as the number of pixel centres inside or on the convex hull of the particle's
  pixel centres, by Pick's theorem (Pick 1899): A_polygon + B/2 + 1 with B = Σ gcd(|Δx|, |Δy|)
  over the hull's edges, so a digitally convex particle has solidity exactly 1;
* Feret (caliper) diameters of the hull of the pixels' outer corners.

Only the border pixels enter the hulls, and the per-particle work is a convex hull of those.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = ["particle_geometry"]

_PERIM_WEIGHTS = np.zeros(50)
_PERIM_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1.0
_PERIM_WEIGHTS[[21, 33]] = math.sqrt(2.0)
_PERIM_WEIGHTS[[13, 23]] = (1.0 + math.sqrt(2.0)) / 2.0


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``, zero outside the image."""
    out = np.zeros_like(a)
    h, w = a.shape
    ys, yd = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
    xs, xd = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
    out[yd, xd] = a[ys, xs]
    return out


def _hull_geometry(pts: np.ndarray) -> tuple[float, float, float]:
    """Feret max, Feret min (px, over pixel corners) and the convex pixel count (Pick).

    The hull of the pixels' corners is the hull K of their centres plus the unit square S
    (a Minkowski sum), so no second hull is needed: its width along a unit vector u is
    width_K(u) + |u_x| + |u_y|, its edges are K's edges and the two axes (the minimum width
    lies across one of them, rotating calipers), and its diameter is the largest
    √((|Δx| + 1)² + (|Δy| + 1)²) over pairs of K's vertices.
    """
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):  # a line or a single pixel
        ends = pts[
            [np.argmin(pts[:, 0] + 1e-6 * pts[:, 1]), np.argmax(pts[:, 0] + 1e-6 * pts[:, 1])]
        ]
        span = np.abs(ends[1] - ends[0])
        convex = float(math.gcd(int(span[0]), int(span[1])) + 1)
        hull = ends
        normals = np.array([[1.0, 0.0], [0.0, 1.0]])
        if span.any():
            d = (ends[1] - ends[0]) / math.hypot(*span)
            normals = np.vstack([normals, [-d[1], d[0]]])
    else:
        edges = np.roll(hull, -1, axis=0) - hull
        cross = hull[:, 0] * np.roll(hull[:, 1], -1) - hull[:, 1] * np.roll(hull[:, 0], -1)
        steps = np.gcd(np.abs(edges[:, 0]).astype(np.int64), np.abs(edges[:, 1]).astype(np.int64))
        convex = 0.5 * abs(float(cross.sum())) + 0.5 * float(steps.sum()) + 1.0
        norms = np.hypot(edges[:, 0], edges[:, 1])
        keep = norms > 0
        normals = np.column_stack([-edges[keep, 1], edges[keep, 0]]) / norms[keep, None]
        normals = np.vstack([normals, [[1.0, 0.0], [0.0, 1.0]]])
    diff = np.abs(hull[:, None, :] - hull[None, :, :]) + 1.0
    fmax = float(np.sqrt((diff**2).sum(-1)).max())
    proj = normals @ hull.T
    fmin = float((proj.max(axis=1) - proj.min(axis=1) + np.abs(normals).sum(axis=1)).min())
    return fmax, fmin, convex


def particle_geometry(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Geometry (px) of every particle of a label image (labels 1..N, 0 = background).

    Returns
    -------
    dict
        Arrays over the labels present, in increasing label order: ``label``, ``area``,
        ``centroid_row``, ``centroid_col``, ``major_axis``, ``minor_axis``, ``perimeter``,
        ``area_convex``, ``feret_max``, ``feret_min``, ``bbox_height``, ``bbox_width``.
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError("labels must be 2-D")
    lab = lab.astype(np.int64, copy=False)
    n = int(lab.max()) if lab.size else 0
    fg = np.flatnonzero(lab)
    ids = lab.ravel()[fg]
    present = np.flatnonzero(np.bincount(ids, minlength=n + 1)[1:]) + 1
    if present.size == 0:
        keys = [
            "label",
            "area",
            "centroid_row",
            "centroid_col",
            "major_axis",
            "minor_axis",
            "perimeter",
            "area_convex",
            "feret_max",
            "feret_min",
            "bbox_height",
            "bbox_width",
        ]
        return {k: np.zeros(0) for k in keys}
    rr, cc = np.divmod(fg, lab.shape[1])
    # moments, with coordinates relative to each bounding box (no cancellation)
    slices = ndi.find_objects(lab)
    r0 = np.array([s[0].start if s else 0 for s in slices] + [0])
    c0 = np.array([s[1].start if s else 0 for s in slices] + [0])
    bh = np.array([s[0].stop - s[0].start if s else 0 for s in slices])
    bw = np.array([s[1].stop - s[1].start if s else 0 for s in slices])
    y = (rr - r0[ids - 1]).astype(float)
    x = (cc - c0[ids - 1]).astype(float)
    m = n + 1

    def total(v: np.ndarray | None) -> np.ndarray:
        return np.bincount(ids, weights=v, minlength=m)[present]

    area = total(None)
    my, mx = total(y) / area, total(x) / area
    cyy = total(y * y) / area - my**2
    cxx = total(x * x) / area - mx**2
    cxy = total(x * y) / area - mx * my
    half = np.sqrt(((cyy - cxx) / 2) ** 2 + cxy**2)
    lam1 = np.clip((cyy + cxx) / 2 + half, 0, None)
    lam2 = np.clip((cyy + cxx) / 2 - half, 0, None)
    # perimeter: border pixels of each particle and the codes of their same-particle neighbours
    same = {}
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        same[(dy, dx)] = _shift(lab, dy, dx) == lab
    interior = (lab > 0) & same[(-1, 0)] & same[(1, 0)] & same[(0, -1)] & same[(0, 1)]
    border = (lab > 0) & ~interior
    border_lab = np.where(border, lab, 0)
    code = border.astype(np.int64)
    kernel = {(-1, -1): 10, (-1, 0): 2, (-1, 1): 10, (0, -1): 2, (0, 1): 2, (1, -1): 10}
    kernel.update({(1, 0): 2, (1, 1): 10})
    for (dy, dx), k in kernel.items():
        code += k * ((_shift(border_lab, dy, dx) == lab) & border)
    bpix = np.flatnonzero(border)
    bids = lab.ravel()[bpix]
    perimeter = np.bincount(bids, weights=_PERIM_WEIGHTS[code.ravel()[bpix]], minlength=m)
    # hulls of the border pixels, particle by particle
    order = np.argsort(bids, kind="stable")
    bids_sorted = bids[order]
    by, bx = np.divmod(bpix[order], lab.shape[1])
    pts_all = np.column_stack([by, bx]).astype(float)
    starts = np.searchsorted(bids_sorted, present, side="left")
    stops = np.searchsorted(bids_sorted, present, side="right")
    geo = np.array(
        [_hull_geometry(pts_all[a:b]) for a, b in zip(starts, stops, strict=True)], dtype=float
    ).reshape(-1, 3)
    return {
        "label": present,
        "area": area,
        "centroid_row": my + r0[present - 1],
        "centroid_col": mx + c0[present - 1],
        "major_axis": 4.0 * np.sqrt(lam1),
        "minor_axis": 4.0 * np.sqrt(lam2),
        "perimeter": perimeter[present],
        "area_convex": geo[:, 2],
        "feret_max": geo[:, 0],
        "feret_min": geo[:, 1],
        "bbox_height": bh[present - 1].astype(float),
        "bbox_width": bw[present - 1].astype(float),
    }
