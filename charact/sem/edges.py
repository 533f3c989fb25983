"""Sub-pixel interfaces of a layer by fitting a blurred two-edge model to every column.

Imaging model. Across a flat interface at height ``t`` the signal steps from one level to the
next; the beam and detector blur it with a Gaussian point-spread function of width ``s`` (the
edge-spread function is the normal CDF Φ), and every pixel integrates the blurred signal over
its own height (pixel centres at integer rows). The expected value of pixel ``y`` is then

    E(y; t, s) = ∫_{y-½}^{y+½} Φ((u − t)/s) du = s [G(z₊) − G(z₋)],  z± = (y ± ½ − t)/s,

with G(z) = zΦ(z) + φ(z) (G' = Φ). A layer between interfaces ``t < b`` in one column reads

    p(y) = A + (L − A) E(y; t, s) + (B − L) E(y; b, s)

where ``A`` and ``B`` are the levels of the neighbours above and below and ``L`` that of the
layer. Half-level crossings are unbiased only for an isolated symmetric edge: when the layer is
thin compared with the blur its plateau never reaches ``L`` and the crossings move inwards or
outwards depending on the levels. Fitting the model instead uses the whole edge shape, so the
interfaces stay unbiased down to layers of about the blur width.

Fitted parameters: ``t``, ``b``, ``A`` and ``B`` per column; the layer level ``L`` as a
low-degree polynomial along the image (a thin layer's own level is poorly determined by one
column, and a shared level is what pins it) and one blur ``s`` for the image. All are fitted
jointly by Levenberg–Marquardt (Marquardt 1963): the per-column 4 × 4 blocks are eliminated and
the few shared parameters solved from their Schur complement, so a step costs a few array
operations over all columns at once. Rows inside a thick layer further than ``margin`` from
both interfaces are left out, so texture in a thick layer does not pull the edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

__all__ = ["EdgeFit", "fit_layer_edges", "pixel_step"]

_SQRT2PI = math.sqrt(2.0 * math.pi)


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / _SQRT2PI


def _g(z: np.ndarray) -> np.ndarray:
    return z * ndtr(z) + _phi(z)


def pixel_step(y: np.ndarray, pos: np.ndarray, s: float) -> tuple[np.ndarray, ...]:
    """Pixel-integrated blurred unit step at ``pos`` and its derivatives.

    Returns
    -------
    (E, dE/dpos, dE/ds)
        Arrays broadcast from ``y`` and ``pos``.
    """
    zp = (y + 0.5 - pos) / s
    zm = (y - 0.5 - pos) / s
    e = s * (_g(zp) - _g(zm))
    de_dpos = -(ndtr(zp) - ndtr(zm))
    de_ds = _phi(zp) - _phi(zm)
    return e, de_dpos, de_ds


@dataclass
class EdgeFit:
    """Interfaces, levels and blur of a two-edge fit (per column; NaN where not fitted)."""

    top: np.ndarray  # NaN where an interface ran against its bound (not fitted)
    bottom: np.ndarray
    level_above: np.ndarray
    level_layer: np.ndarray
    level_below: np.ndarray
    blur_px: float
    rms: float
    n_iter: int
    converged: bool
    n_pinned: int = 0


def _windows(
    n_rows: int, top0: np.ndarray, bot0: np.ndarray, lo: np.ndarray, hi: np.ndarray, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row grid (n, W) and its weight mask for the columns' fitting windows: the rows within
    ``margin`` of either interface (one block each; a thin layer's blocks overlap and its
    repeated rows are masked), never past ``lo``/``hi``. The interior of a thick layer carries
    no information on its edges (and may have texture), so it is not in the grid at all."""
    width = int(2 * math.ceil(margin) + 2)
    s1 = np.floor(top0 - margin).astype(int)
    s2 = np.floor(bot0 - margin).astype(int)
    r1 = s1[:, None] + np.arange(width)[None, :]
    r2 = s2[:, None] + np.arange(width)[None, :]
    rows = np.concatenate([r1, r2], axis=1)
    fresh = np.concatenate([np.ones_like(r1, dtype=bool), r2 > r1[:, -1:]], axis=1)
    mask = fresh & (rows >= lo[:, None]) & (rows <= hi[:, None]) & (rows >= 0) & (rows < n_rows)
    return np.clip(rows, 0, n_rows - 1), mask


class _Model:
    """The two-edge model over the fitting windows, its residuals and Jacobians."""

    def __init__(self, prof: np.ndarray, y: np.ndarray, w: np.ndarray, basis: np.ndarray):
        self.prof, self.y, self.w, self.basis = prof, y, w, basis  # basis: (n, degree + 1)

    def layer_level(self, coef: np.ndarray) -> np.ndarray:
        return self.basis @ coef

    def residual(self, p: np.ndarray, s: float, coef: np.ndarray) -> np.ndarray:
        t, b, a, bb = p.T
        lv = self.layer_level(coef)
        et = pixel_step(self.y, t[:, None], s)[0]
        eb = pixel_step(self.y, b[:, None], s)[0]
        model = a[:, None] * (1 - et) + lv[:, None] * (et - eb) + bb[:, None] * eb
        return (self.prof - model) * self.w

    def jacobians(self, p: np.ndarray, s: float, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-column (n, W, 4) for (t, b, A, B) and shared (n, W, 1 + degree + 1)."""
        t, b, a, bb = p.T
        lv = self.layer_level(coef)
        et, dt_, ds_t = pixel_step(self.y, t[:, None], s)
        eb, db_, ds_b = pixel_step(self.y, b[:, None], s)
        w = self.w
        jp = np.stack(
            [
                (lv - a)[:, None] * dt_ * w,
                (bb - lv)[:, None] * db_ * w,
                (1 - et) * w,
                eb * w,
            ],
            axis=-1,
        )
        js = ((lv - a)[:, None] * ds_t + (bb - lv)[:, None] * ds_b) * w
        jl = ((et - eb) * w)[:, :, None] * self.basis[:, None, :]
        return jp, np.concatenate([js[:, :, None], jl], axis=-1)


def _initial_levels(
    model: _Model, t: np.ndarray, b: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (A, B) and the layer-level coefficients by linear least squares (the 2 × 2
    per-column blocks eliminated through the Schur complement of the shared ones)."""
    et = pixel_step(model.y, t[:, None], s)[0]
    eb = pixel_step(model.y, b[:, None], s)[0]
    w = model.w
    u = np.stack([(1 - et) * w, eb * w], axis=-1)  # (n, W, 2)
    fb = ((et - eb) * w)[:, :, None] * model.basis[:, None, :]  # (n, W, k)
    h = np.einsum("nwi,nwj->nij", u, u) + 1e-12 * np.eye(2)
    c = np.einsum("nwi,nwj->nij", u, fb)
    d = np.einsum("nwi,nwj->ij", fb, fb)
    gu = np.einsum("nwi,nw->ni", u, model.prof)
    gf = np.einsum("nwi,nw->i", fb, model.prof)
    hinv_g = np.linalg.solve(h, gu[:, :, None])[..., 0]
    hinv_c = np.linalg.solve(h, c)
    schur = d - np.einsum("nij,nik->jk", c, hinv_c)
    schur[np.diag_indices_from(schur)] += 1e-12 * (np.abs(np.diag(schur)).max() + 1e-300)
    coef = np.linalg.solve(schur, gf - np.einsum("nij,ni->j", c, hinv_g))
    ab = hinv_g - np.einsum("nij,j->ni", hinv_c, coef)
    return ab, coef


def fit_layer_edges(
    image: np.ndarray,
    columns: np.ndarray,
    top0: np.ndarray,
    bottom0: np.ndarray,
    *,
    lo: np.ndarray,
    hi: np.ndarray,
    margin: float = 8.0,
    level_degree: int = 2,
    blur0: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-5,
) -> EdgeFit:
    """Fit the two-edge model to the given columns of ``image``.

    Parameters
    ----------
    image
        The grey image (float, unsmoothed: the blur is part of the model).
    columns
        Indices of the columns to fit.
    top0, bottom0
        First guesses of the interfaces in those columns (rows, sub-pixel).
    lo, hi
        Per column, the rows the window may not pass (the far ends of the neighbour layers).
    margin
        Rows kept on either side of each interface.
    level_degree
        Degree of the polynomial (in the column position) of the layer's grey level.
    blur0
        First guess of the blur (px).
    max_iter, tol
        Iteration limit and the convergence tolerance on the interfaces (px).

    Returns
    -------
    EdgeFit
        Arrays over ``columns``.
    """
    n_rows, n_cols = image.shape
    n = columns.size
    t0 = np.asarray(top0, float)
    b0 = np.asarray(bottom0, float)
    t, b = t0.copy(), b0.copy()
    bound = 0.5 * margin
    s = float(blur0)
    rows, mask = _windows(n_rows, t, b, lo, hi, margin)
    w = mask.astype(float)
    prof = image[rows, columns[:, None]] * w
    xs = 2.0 * columns / max(n_cols - 1, 1) - 1.0  # Legendre polynomials on [-1, 1]
    degree = max(0, min(int(level_degree), n - 1))
    basis = np.polynomial.legendre.legvander(xs, degree)
    model = _Model(prof, rows.astype(float), w, basis)
    ab, coef = _initial_levels(model, t, b, s)
    p = np.column_stack([t, b, ab])
    r = model.residual(p, s, coef)
    cost = float((r * r).sum())
    lam = 1e-3
    converged = False
    it = 0
    eye4 = np.eye(4)
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        jp, jq = model.jacobians(p, s, coef)
        h = np.einsum("nwi,nwj->nij", jp, jp)  # (n, 4, 4)
        c = np.einsum("nwi,nwj->nij", jp, jq)  # (n, 4, G)
        d = np.einsum("nwi,nwj->ij", jq, jq)  # (G, G)
        gp = np.einsum("nwi,nw->ni", jp, r)
        gq = np.einsum("nwi,nw->i", jq, r)
        while True:
            hd = h + lam * h[:, [0, 1, 2, 3], [0, 1, 2, 3]][:, :, None] * eye4 + 1e-12 * eye4
            dd = d + lam * np.diag(np.diag(d)) + 1e-12 * np.eye(d.shape[0])
            hinv_g = np.linalg.solve(hd, gp[:, :, None])[..., 0]
            hinv_c = np.linalg.solve(hd, c)
            schur = dd - np.einsum("nij,nik->jk", c, hinv_c)
            rhs = gq - np.einsum("nij,ni->j", c, hinv_g)
            try:
                dq = np.linalg.solve(schur, rhs)
            except np.linalg.LinAlgError:
                dq = np.zeros_like(rhs)
            dp = hinv_g - np.einsum("nij,j->ni", hinv_c, dq)
            cap = max(0.5, s)
            dp[:, :2] = np.clip(dp[:, :2], -cap, cap)
            ds = float(np.clip(dq[0], -0.5 * s, s + 0.5))
            p_new = p + dp
            # an interface stays within the margin of its first guess (the layer was found
            # there); a column that pushes against this bound is reported as not fitted
            p_new[:, 0] = np.clip(p_new[:, 0], t0 - bound, t0 + bound)
            p_new[:, 1] = np.clip(p_new[:, 1], b0 - bound, b0 + bound)
            p_new[:, 1] = np.maximum(p_new[:, 1], p_new[:, 0] + 0.05)
            s_new = max(0.15, s + ds)
            coef_new = coef + dq[1:]
            r_new = model.residual(p_new, s_new, coef_new)
            cost_new = float((r_new * r_new).sum())
            if cost_new <= cost:
                lam = max(lam / 3.0, 1e-9)
                break
            lam *= 4.0
            if lam > 1e8:
                break
        if cost_new > cost:  # no step lowers the cost: at the minimum
            converged = True
            break
        moved = float(np.max(np.abs(p_new[:, :2] - p[:, :2])))
        small = moved < tol and abs(s_new - s) < tol and cost - cost_new <= 1e-12 * cost
        p, s, coef, r, cost = p_new, s_new, coef_new, r_new, cost_new
        if small or moved < tol:
            converged = True
            break
    pinned = (np.abs(p[:, 0] - t0) > bound - 1e-6) | (np.abs(p[:, 1] - b0) > bound - 1e-6)
    return EdgeFit(
        top=np.where(pinned, np.nan, p[:, 0]),
        bottom=np.where(pinned, np.nan, p[:, 1]),
        level_above=p[:, 2],
        level_layer=model.layer_level(coef),
        level_below=p[:, 3],
        blur_px=s,
        rms=float(math.sqrt(cost / max(w.sum(), 1.0))),
        n_iter=it,
        converged=converged,
        n_pinned=int(pinned.sum()),
    )
