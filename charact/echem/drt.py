"""Distribution of relaxation times by Tikhonov regularisation with non-negativity.

Model (e.g. Wan, Saccoccio, Chen & Ciucci, Electrochim. Acta 184, 483 (2015)):

    Z(ω) = R_inf + jωL + ∫ γ(ln τ) / (1 + jωτ) d ln τ

γ is expanded on piecewise-linear (hat) functions at log-spaced τ nodes covering the measured
range 1/(2π f_max) … 1/(2π f_min) extended by half a decade on each side; the integrals of the
basis are computed by quadrature. The unknowns (R_inf ≥ 0, L ≥ 0, γ ≥ 0) minimise

    ||A x − Z||² + λ ||D γ||²        (D: first derivative, data scaled by max |Z|)

solved as a non-negative least-squares problem. λ is *optimised*, not taken from a default.
Both criteria are evaluated on the linear (unconstrained) Tikhonov solution, whose residual,
penalty and influence-matrix trace have a closed form after one SVD of the problem in standard
form (Hansen, Rank-Deficient and Discrete Ill-Posed Problems, SIAM 1998, §2.3), each a sum of
non-negative terms, so a dense λ grid (1e-10 … 10, 20 points per decade) costs almost nothing
and stays accurate at small λ; the non-negative γ is then solved once at the chosen λ:

* **GCV** (Golub, Heath & Wahba, Technometrics 21, 215 (1979)): minimise
  N ||r||² / (N − tr H)², the grid minimum refined by a bounded scalar search.
* **L-curve** (Hansen, SIAM Rev. 34, 561 (1992)): the corner (largest curvature) of
  (log ||r||, log ||Dγ||) over λ.

Both λ are reported; ``method`` chooses which one the returned γ uses. Peaks (τ, R = area under
the peak between its valleys, width) outside the measured τ range are reported apart as
``edge_peaks``, never as relaxation processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize_scalar, nnls
from scipy.signal import find_peaks

from ..core.errors import InputError
from .eis import _spectrum

__all__ = ["DRTResult", "drt_matrices", "fit_drt"]


def drt_matrices(f: np.ndarray, ln_tau: np.ndarray, *, sub: int = 16) -> np.ndarray:
    """Complex matrix A[n, m] = ∫ φ_m(x) / (1 + j ω_n e^x) dx for hat functions φ_m."""
    w = 2 * np.pi * np.asarray(f, float)
    h = ln_tau[1] - ln_tau[0]
    x = np.linspace(ln_tau[0] - h, ln_tau[-1] + h, (ln_tau.size + 1) * sub + 1)
    dx = x[1] - x[0]
    kern = 1.0 / (1.0 + 1j * np.outer(w, np.exp(x)))
    # hat m is centred on x[(m + 1) sub] and spans ±sub sub-intervals: the trapezoid rule
    # over its support is a fixed stencil applied to strided column slices of the kernel
    m = ln_tau.size
    out = np.zeros((w.size, m), complex)
    for k in range(-sub + 1, sub):
        c = (1.0 - abs(k) / sub) * dx
        start = sub + k
        out += c * kern[:, start : start + (m - 1) * sub + 1 : sub]
    return out


@dataclass
class DRTResult:
    """γ(τ), R_inf, L, the chosen λ and the peaks."""

    tau: np.ndarray
    gamma: np.ndarray
    R_inf: float
    L: float
    lam: float
    method: str
    lambda_gcv: float
    lambda_lcurve: float
    peaks: list[dict[str, float]]
    edge_peaks: list[dict[str, float]]
    frequency: np.ndarray
    z: np.ndarray
    z_fit: np.ndarray
    tau_range_s: tuple[float, float]
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        agree = abs(math.log10(self.lambda_gcv / self.lambda_lcurve))
        return {
            "lambda": self.lam,
            "method": self.method,
            "lambda_gcv": self.lambda_gcv,
            "lambda_lcurve": self.lambda_lcurve,
            "lambda_agreement_decades": agree,
            "R_inf_ohm": self.R_inf,
            "L_H": self.L,
            "peaks": self.peaks,
            "edge_peaks": self.edge_peaks,
            "measured_tau_range_s": list(self.tau_range_s),
            "basis": "piecewise linear, first-derivative penalty, non-negative",
            "flags": self.flags,
        }

    def to_dataset(self) -> xr.Dataset:
        ds = xr.Dataset(coords={"tau": xr.Variable("tau", self.tau, {"units": "s"})})
        ds["gamma"] = xr.Variable("tau", self.gamma, {"units": "ohm"})
        ds.attrs = {"analysis": "echem.drt", **dict(self.to_dict().items())}
        return ds


class _Problem:
    """Normal-equation form of the regularised NNLS problem, for fast λ scans."""

    def __init__(self, aa: np.ndarray, bb: np.ndarray, dd: np.ndarray) -> None:
        self.aa, self.bb, self.dd = aa, bb, dd
        self.ata = aa.T @ aa
        self.atb = aa.T @ bb
        self.dtd = dd.T @ dd
        self.btb = float(bb @ bb)

    def solve(self, lam: float) -> np.ndarray:
        # min ||A x - b||² + λ||D x||², x >= 0  ==  min ||U x - U^-T Aᵀb||² with UᵀU = K
        k = self.ata + lam * self.dtd
        k = k + 1e-13 * np.trace(k) / k.shape[0] * np.eye(k.shape[0])
        u = np.linalg.cholesky(k).T
        rhs = np.linalg.solve(u.T, self.atb)
        x, _ = nnls(u, rhs, maxiter=50 * u.shape[1])
        return x

    def spectral(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Standard form (once per spectrum): with DᵀD + εI = LᵀL, Ã = A L⁻¹ = U S Vᵀ.

        ε (1e-10 of the mean diagonal) only makes L invertible: the unpenalised directions
        (R_inf, L, a constant γ) get a negligible ridge. Returns the singular values s, the
        data coefficients β = Uᵀb and the residual outside the range of Ã, ‖b − Uβ‖².
        """
        from scipy.linalg import solve_triangular

        m = self.dtd.shape[0]
        eps = 1e-10 * np.trace(self.dtd) / m
        lower = np.linalg.cholesky(self.dtd + eps * np.eye(m))  # DᵀD + εI = L Lᵀ
        # Ã = A L⁻ᵀ, so that ‖Dx‖² + ε‖x‖² = ‖x̃‖² with x̃ = Lᵀx
        a_t = solve_triangular(lower, self.aa.T, lower=True).T
        u, sv, _ = np.linalg.svd(a_t, full_matrices=False)
        beta = u.T @ self.bb
        outside = self.bb - u @ beta
        return sv, beta, float(outside @ outside)

    def criteria(self, lams: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """GCV, residual norm and penalty norm of the *unconstrained* solution per λ.

        In standard form every term is a sum of non-negative parts (filter factors
        f = s²/(s² + λ)): ‖r‖² = Σ ((1 − f) β)² + ‖b − Uβ‖², tr H = Σ f,
        ‖x̃‖² = Σ (s β / (s² + λ))². Nothing cancels, so the criteria stay accurate down to
        the smallest λ, and a dense λ scan costs almost nothing; the non-negative solution is
        then computed once at the chosen λ.
        """
        if not hasattr(self, "_sp"):
            self._sp = self.spectral()
        sv, beta, outside = self._sp
        lam = np.asarray(lams, float)[:, None]
        s2 = (sv * sv)[None, :]
        filt = s2 / (s2 + lam)
        res2 = np.sum(((1.0 - filt) * beta) ** 2, axis=1) + outside
        pen2 = np.sum((sv * beta / (s2 + lam)) ** 2, axis=1)
        n = self.bb.size
        tr = np.sum(filt, axis=1)
        gcv = n * res2 / np.clip(n - tr, 1e-12, None) ** 2
        return gcv, np.sqrt(np.clip(res2, 1e-300, None)), np.sqrt(np.clip(pen2, 1e-300, None))


@dataclass
class _Setup:
    """The regularised least-squares problem of one spectrum (data scaled by max |Z|)."""

    f: np.ndarray
    z: np.ndarray
    w: np.ndarray
    scale: float
    ln_tau: np.ndarray
    h: float
    cols: np.ndarray
    prob: _Problem
    t_lo: float
    t_hi: float


def _setup(f: np.ndarray, z: np.ndarray, points_per_decade: int) -> _Setup:
    scale = float(np.max(np.abs(z)))
    if not scale > 0:
        raise InputError("the impedance is zero at every frequency: there is no DRT to compute")
    zs = z / scale
    w = 2 * np.pi * f
    t_lo, t_hi = 1 / w.max(), 1 / w.min()
    lo, hi = math.log(t_lo) - 0.5 * math.log(10), math.log(t_hi) + 0.5 * math.log(10)
    m = int(max(20, min(200, round((hi - lo) / math.log(10) * points_per_decade))))
    ln_tau = np.linspace(lo, hi, m)
    ag = drt_matrices(f, ln_tau)
    wn = w / w.max()
    cols = np.column_stack([np.ones(f.size), 1j * wn, ag])
    aa = np.vstack([cols.real, cols.imag])
    bb = np.concatenate([zs.real, zs.imag])
    # ∫ (dγ/d ln τ)² d ln τ ≈ Σ (Δγ)² / h: λ means what it means in DRTtools
    h = float(ln_tau[1] - ln_tau[0])
    d1 = np.diff(np.eye(m), axis=0) / math.sqrt(h)
    dd = np.hstack([np.zeros((m - 1, 2)), d1])
    return _Setup(f, z, w, scale, ln_tau, h, cols, _Problem(aa, bb, dd), t_lo, t_hi)


#: λ grid of the closed-form scans (20 points per decade)
_GRID = np.logspace(-10, 1, 221)


def _lambda_gcv(prob: _Problem) -> tuple[float, int]:
    """GCV minimum: the dense grid, then a bounded search between the grid neighbours."""
    gcv_vals = prob.criteria(_GRID)[0]
    k = int(np.argmin(gcv_vals))
    a_lo = math.log10(_GRID[max(k - 1, 0)])
    a_hi = math.log10(_GRID[min(k + 1, _GRID.size - 1)])
    opt = minimize_scalar(
        lambda u: float(prob.criteria(np.array([10**u]))[0][0]),
        bounds=(a_lo, a_hi),
        method="bounded",
        options={"xatol": 1e-3},
    )
    lam = float(10**opt.x) if opt.fun <= gcv_vals[k] else float(_GRID[k])
    return lam, k


def _lambda_lcurve(prob: _Problem) -> float:
    """L-curve corner: largest curvature of (log ||r||, log ||Dγ||) parametrised by log λ."""
    _, rho, eta = prob.criteria(_GRID)
    t = np.log(_GRID)
    lr, le = np.log(rho), np.log(eta)
    r1, e1 = np.gradient(lr, t), np.gradient(le, t)
    r2, e2 = np.gradient(r1, t), np.gradient(e1, t)
    kappa = (r1 * e2 - r2 * e1) / np.power(r1**2 + e1**2 + 1e-300, 1.5)
    inner = slice(2, _GRID.size - 2)
    return float(_GRID[inner][int(np.argmax(kappa[inner]))])


def _find_drt_peaks(
    gamma: np.ndarray, ln_tau: np.ndarray, h: float, t_lo: float, t_hi: float
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Peaks of γ with their areas (∫ γ d ln τ between the surrounding valleys)."""
    m = gamma.size
    peaks: list[dict[str, float]] = []
    edge: list[dict[str, float]] = []
    if not gamma.max() > 0:
        return peaks, edge
    idx, _ = find_peaks(np.concatenate([[0.0], gamma, [0.0]]), prominence=0.01 * float(gamma.max()))
    idx = idx - 1
    for j, p in enumerate(idx):
        left = idx[j - 1] if j > 0 else 0
        right = idx[j + 1] if j + 1 < idx.size else m - 1
        a = left + int(np.argmin(gamma[left : p + 1])) if j > 0 else 0
        b = p + int(np.argmin(gamma[p : right + 1])) if j + 1 < idx.size else m - 1
        area = float(np.sum(gamma[a : b + 1]) * h)
        half = gamma[p] / 2
        lft = p
        while lft > a and gamma[lft] > half:
            lft -= 1
        rgt = p
        while rgt < b and gamma[rgt] > half:
            rgt += 1
        # sub-node position of the maximum: parabola through the three nodes around it
        lt = ln_tau[p]
        if 0 < p < m - 1:
            y0, y1, y2 = gamma[p - 1], gamma[p], gamma[p + 1]
            den = y0 - 2 * y1 + y2
            if den < 0:
                lt = ln_tau[p] + 0.5 * h * (y0 - y2) / den
        tp = math.exp(lt)
        entry = {
            "tau_s": tp,
            "f_Hz": float(1 / (2 * np.pi * tp)),
            "R_ohm": area,
            "gamma_max_ohm": float(gamma[p]),
            "width_decades": float((ln_tau[rgt] - ln_tau[lft]) / math.log(10)),
        }
        inside = t_lo * 0.999 <= tp <= t_hi * 1.001
        (peaks if inside else edge).append(entry)
    return peaks, edge


def start_peaks(
    f: np.ndarray, z: np.ndarray, *, sharpen: float = 30.0, drt: DRTResult | None = None
) -> list[dict[str, float]]:
    """DRT peaks to start circuit fits from: those at the GCV λ and those at λ/``sharpen``.

    The GCV λ can merge two arcs a decade apart into one broad peak; the sharper DRT
    separates them. Peaks of the sharper DRT within 0.3 decades of a GCV peak are dropped
    as duplicates. Only the measured τ range counts (edge peaks are left out).

    ``drt``: a :func:`fit_drt` result; when it was computed on these very points and τ grid,
    its GCV λ is reused (the same value the scan would find) instead of a second λ scan.
    """
    st = _setup(f, z, 10)
    if drt is not None and _same_problem(drt, st):
        lam = float(drt.lambda_gcv)
    else:
        lam, _ = _lambda_gcv(st.prob)
    out: list[dict[str, float]] = []
    for k, lam_k in enumerate((lam, lam / sharpen)):
        x = st.prob.solve(lam_k)
        peaks, _ = _find_drt_peaks(x[2:] * st.scale, st.ln_tau, st.h, st.t_lo, st.t_hi)
        for pk in peaks:
            if k and any(abs(math.log10(pk["tau_s"] / q["tau_s"])) < 0.3 for q in out):
                continue
            out.append(pk)
    return out


def _same_problem(drt: DRTResult, st: _Setup) -> bool:
    """Whether ``drt`` was computed on the points and τ grid of ``st``."""
    return (
        drt.frequency.shape == st.f.shape
        and drt.tau.shape == st.ln_tau.shape
        and bool(np.array_equal(drt.frequency, st.f))
        and bool(np.array_equal(drt.z, st.z))
        and bool(np.allclose(np.log(drt.tau), st.ln_tau, rtol=0, atol=1e-9))
    )


def fit_drt(
    data: Any,
    *,
    spectrum: int | None = None,
    method: str = "gcv",
    lam: float | None = None,
    points_per_decade: int = 10,
) -> DRTResult:
    """DRT of one spectrum (module docstring).

    Parameters
    ----------
    data
        Impedance Dataset or ``(frequency_Hz, Z)``.
    method
        ``"gcv"`` or ``"lcurve"``: which criterion's λ gives the returned γ (both are
        computed and reported), or ``"fixed"`` with ``lam``.
    lam
        λ for ``method="fixed"`` (on data scaled by max |Z|).
    """
    if method not in ("gcv", "lcurve", "fixed"):
        raise InputError(f"method must be gcv, lcurve or fixed, got {method!r}")
    if method == "fixed" and (lam is None or not lam > 0):
        raise InputError("method='fixed' needs lam > 0")
    f, z, what = _spectrum(data, spectrum)
    if f.size < 5:
        raise InputError(f"{what}: a DRT needs at least 5 frequencies, found {f.size}")
    st = _setup(f, z, points_per_decade)
    lam_gcv, k = _lambda_gcv(st.prob)
    lam_lc = _lambda_lcurve(st.prob)
    chosen = {"gcv": lam_gcv, "lcurve": lam_lc, "fixed": lam}[method]
    x = st.prob.solve(float(chosen))
    r_inf = float(x[0] * st.scale)
    ind = float(x[1] * st.scale / st.w.max())
    gamma = x[2:] * st.scale
    z_fit = (st.cols @ x) * st.scale
    flags = []
    if k == 0 or k == _GRID.size - 1:
        flags.append(f"GCV minimum at the edge of the λ grid ({_GRID[k]:.1e})")
    apart = abs(math.log10(lam_gcv / lam_lc))
    if apart > 2:
        flags.append(
            f"GCV (λ = {lam_gcv:.2g}) and L-curve (λ = {lam_lc:.2g}) disagree by {apart:.1f} "
            "decades: compare γ at both (method='gcv' / 'lcurve')"
        )
    peaks, edge = _find_drt_peaks(gamma, st.ln_tau, st.h, st.t_lo, st.t_hi)
    if edge:
        flags.append(
            f"{len(edge)} DRT peak(s) outside the measured τ range (edge_peaks); "
            "not reported as relaxation processes"
        )
    return DRTResult(
        tau=np.exp(st.ln_tau),
        gamma=gamma,
        R_inf=r_inf,
        L=ind,
        lam=float(chosen),
        method=method,
        lambda_gcv=lam_gcv,
        lambda_lcurve=lam_lc,
        peaks=peaks,
        edge_peaks=edge,
        frequency=f,
        z=z,
        z_fit=z_fit,
        tau_range_s=(float(st.t_lo), float(st.t_hi)),
        flags=flags,
    )
