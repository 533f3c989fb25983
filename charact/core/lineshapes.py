"""Peak lineshapes as pure numpy functions, registered once, with lmfit models made from them.

Every lineshape is a plain function ``f(x, <size>, center, <widths...>, <shape...>)`` that is
vectorised over ``x`` and broadcasts over its parameters. The size parameter is ``area`` for
shapes whose integral over the real line is finite and analytic (XRD and Raman practice) and
``height`` for shapes defined by their height, as CasaXPS defines its XPS lineshapes.

Each function is wrapped in a :class:`Lineshape` that records the parameters' defaults and
bounds, and registered in :data:`charact.core.registry.LINESHAPES`:

======================  ====================================================  ======
name                    function                                              size
======================  ====================================================  ======
``gaussian``            :func:`gaussian`                                      area
``lorentzian``          :func:`lorentzian`                                    area
``pseudo_voigt``        :func:`pseudo_voigt` (linear G + L mix, same FWHM)    area
``split_pseudo_voigt``  :func:`split_pseudo_voigt` (XRD, asymmetric)          area
``voigt``               :func:`voigt` (exact convolution, Faddeeva function)  area
``fano``, ``bwf``       :func:`fano` (Breit–Wigner–Fano, Raman)               height
``gl``                  :func:`gl` (CasaXPS GL(p), product form)              height
``sgl``                 :func:`sgl` (CasaXPS SGL(p), sum form)                height
``doniach_sunjic``      :func:`doniach_sunjic` (metals, XPS)                  height
``la``                  :func:`la` (CasaXPS LA(α, β, m))                      height
``lf``                  :func:`lf` (LF(α, β, w, m): LA with damped tails)     height
``gl_tail``             :func:`gl_tail` (GL(p) with an exponential tail)      height
======================  ====================================================  ======

The asymmetric XPS shapes assume a **binding-energy** axis: the Doniach–Šunjić tail, and the
LA tail when α < β, point toward larger ``x`` (higher binding energy). Mirror ``x`` about the
centre (``2*center - x``) to use them on a kinetic-energy axis.

Examples
--------
>>> import numpy as np
>>> from charact.core.lineshapes import gaussian, make_model
>>> x = np.linspace(-5.0, 5.0, 201)
>>> y = gaussian(x, area=2.0, center=0.5, fwhm=1.2)
>>> model = make_model("gaussian", prefix="p1_") + make_model("lorentzian", prefix="p2_")
>>> sorted(model.make_params())[:3]
['p1_area', 'p1_center', 'p1_fwhm']
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

from .errors import CharactWarning, InputError
from .registry import LINESHAPES

if TYPE_CHECKING:
    import lmfit

__all__ = [
    "Lineshape",
    "ParamSpec",
    "doniach_sunjic",
    "fano",
    "gaussian",
    "get_lineshape",
    "gl",
    "gl_tail",
    "la",
    "lf",
    "lorentzian",
    "make_model",
    "pseudo_voigt",
    "sgl",
    "split_pseudo_voigt",
    "voigt",
    "voigt_fwhm",
]

FloatArray = NDArray[np.float64]

_LN2 = math.log(2.0)
# FWHM = 2 sqrt(2 ln 2) sigma for a Gaussian.
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * _LN2)
# Peak height x FWHM of an area-1 Gaussian: 2 sqrt(ln 2 / pi).
_GAUSS_PEAK = 2.0 * math.sqrt(_LN2 / math.pi)
# Lower bound given to lmfit for widths: positive, so a bounded fit can never pass a zero
# width (which the functions reject) yet far below any width in eV, 2θ degrees or cm⁻¹.
_MIN_WIDTH = 1e-12


# --------------------------------------------------------------------------------------------
# argument checking


def _as_x(x: ArrayLike) -> FloatArray:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"x must be an array of numbers, got {type(x).__name__}") from exc


def _check(
    func: str,
    name: str,
    value: ArrayLike,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
    nonzero: bool = False,
) -> FloatArray:
    """Return ``value`` as a float array, or raise InputError naming the parameter.

    The message states the parameter, the accepted range and the first offending value.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{func}: {name} must be a number, got {value!r}") from exc
    bad = np.isnan(arr)
    if not allow_inf:
        bad |= np.isinf(arr)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if nonzero:
        bad |= arr == 0
    if np.any(bad):
        expected = "a finite number" if not allow_inf else "a number (not NaN)"
        if lo is not None and hi is not None:
            expected = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        elif lo is not None:
            expected += f" {'>' if lo_open else '>='} {lo:g}"
        elif hi is not None:
            expected += f" {'<' if hi_open else '<='} {hi:g}"
        if nonzero:
            expected += " and non-zero"
        found = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        where = "" if arr.ndim == 0 else f" (at index {tuple(int(i) for i in np.argwhere(bad)[0])})"
        raise InputError(f"{func}: {name} must be {expected}, got {found!r}{where}")
    return arr


def _finite(func: str, name: str, value: ArrayLike) -> FloatArray:
    return _check(func, name, value)


def _positive(func: str, name: str, value: ArrayLike) -> FloatArray:
    return _check(func, name, value, lo=0.0, lo_open=True)


def _fraction(func: str, name: str, value: ArrayLike) -> FloatArray:
    return _check(func, name, value, lo=0.0, hi=1.0)


def _out(y: ArrayLike) -> FloatArray:
    # ufuncs return numpy scalars for 0-d input; callers are promised arrays.
    return np.asarray(y, dtype=float)


# --------------------------------------------------------------------------------------------
# unit-height building blocks (u = (x - center) / fwhm)


def _gauss_unit(u: FloatArray) -> FloatArray:
    return np.exp(-4.0 * _LN2 * u * u)


def _lorentz_unit(u: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + 4.0 * u * u)


# --------------------------------------------------------------------------------------------
# area-normalised shapes


def gaussian(x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm: ArrayLike) -> FloatArray:
    r"""Gaussian of given area and full width at half maximum.

    .. math:: f(x) = A \frac{2}{F}\sqrt{\frac{\ln 2}{\pi}}
              \exp\left[-4\ln 2\,\frac{(x-x_0)^2}{F^2}\right]

    Parameters
    ----------
    x
        Abscissa (any shape).
    area
        Integral over the real line, A.
    center
        Position of the maximum, x₀.
    fwhm
        Full width at half maximum, F > 0.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` is not a finite positive number or ``area``/``center`` is not finite.
    """
    x = _as_x(x)
    area = _finite("gaussian", "area", area)
    center = _finite("gaussian", "center", center)
    fwhm = _positive("gaussian", "fwhm", fwhm)
    return _out(area * (_GAUSS_PEAK / fwhm) * _gauss_unit((x - center) / fwhm))


def lorentzian(x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm: ArrayLike) -> FloatArray:
    r"""Lorentzian (Cauchy) of given area and full width at half maximum.

    .. math:: f(x) = \frac{2A}{\pi F}\,\frac{1}{1 + 4(x-x_0)^2/F^2}

    Parameters
    ----------
    x
        Abscissa (any shape).
    area
        Integral over the real line, A.
    center
        Position of the maximum, x₀.
    fwhm
        Full width at half maximum, F > 0 (twice the half-width γ).

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` is not a finite positive number or ``area``/``center`` is not finite.
    """
    x = _as_x(x)
    area = _finite("lorentzian", "area", area)
    center = _finite("lorentzian", "center", center)
    fwhm = _positive("lorentzian", "fwhm", fwhm)
    return _out(area * (2.0 / (math.pi * fwhm)) * _lorentz_unit((x - center) / fwhm))


def _pv_unit_area(u: FloatArray, fwhm: FloatArray, eta: FloatArray) -> FloatArray:
    """Area-1 pseudo-Voigt of FWHM ``fwhm`` evaluated at u = (x - center) / fwhm."""
    g = (_GAUSS_PEAK / fwhm) * _gauss_unit(u)
    lor = (2.0 / (math.pi * fwhm)) * _lorentz_unit(u)
    return eta * lor + (1.0 - eta) * g


def pseudo_voigt(
    x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm: ArrayLike, eta: ArrayLike
) -> FloatArray:
    r"""Pseudo-Voigt: linear mix of an area-normalised Lorentzian and Gaussian of equal FWHM.

    .. math:: f(x) = A\left[\eta\,L(x; x_0, F) + (1-\eta)\,G(x; x_0, F)\right]

    where G and L have unit area. Since both halves fall to half their maximum at
    x₀ ± F/2, the mix has FWHM exactly F and area exactly A for every η.

    Parameters
    ----------
    x
        Abscissa (any shape).
    area
        Integral over the real line, A.
    center
        Position of the maximum, x₀.
    fwhm
        Full width at half maximum, F > 0.
    eta
        Lorentzian fraction η in [0, 1]; 0 is a Gaussian, 1 a Lorentzian.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``eta`` is outside [0, 1], or a parameter is not finite.

    References
    ----------
    G. K. Wertheim, M. A. Butler, K. W. West, D. N. E. Buchanan, Rev. Sci. Instrum. 45,
    1369 (1974).
    """
    x = _as_x(x)
    area = _finite("pseudo_voigt", "area", area)
    center = _finite("pseudo_voigt", "center", center)
    fwhm = _positive("pseudo_voigt", "fwhm", fwhm)
    eta = _fraction("pseudo_voigt", "eta", eta)
    return _out(area * _pv_unit_area((x - center) / fwhm, fwhm, eta))


def split_pseudo_voigt(
    x: ArrayLike,
    area: ArrayLike,
    center: ArrayLike,
    fwhm_left: ArrayLike,
    fwhm_right: ArrayLike,
    eta: ArrayLike,
) -> FloatArray:
    r"""Split pseudo-Voigt: a pseudo-Voigt with different widths below and above the centre.

    Each side is the matching half of a pseudo-Voigt of FWHM ``fwhm_left`` (x < x₀) or
    ``fwhm_right`` (x ≥ x₀), scaled so that both halves share one peak height (the profile is
    continuous, with zero slope, at x₀) and the whole integrates to A:

    .. math:: f(x) = A\,\frac{2F_s}{F_\mathrm{left} + F_\mathrm{right}}
              \,\mathrm{PV}(x; x_0, F_s, \eta),\qquad
              F_s = F_\mathrm{left}\ (x < x_0),\ F_\mathrm{right}\ (x \ge x_0)

    with PV of unit area. The FWHM is (F_left + F_right)/2. Used for the asymmetric
    (axial-divergence) peaks of laboratory powder diffraction.

    Parameters
    ----------
    x
        Abscissa (any shape), typically 2θ.
    area
        Integral over the real line, A.
    center
        Position of the maximum, x₀.
    fwhm_left, fwhm_right
        Widths of the low-x and high-x halves, > 0; each is the FWHM of the symmetric
        pseudo-Voigt whose half is used.
    eta
        Lorentzian fraction η in [0, 1], shared by both halves.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If a width is ≤ 0, ``eta`` is outside [0, 1], or a parameter is not finite.

    References
    ----------
    H. Toraya, "Array-type universal profile function for powder pattern fitting",
    J. Appl. Cryst. 23, 485–491 (1990).
    """
    name = "split_pseudo_voigt"
    x = _as_x(x)
    area = _finite(name, "area", area)
    center = _finite(name, "center", center)
    fl = _positive(name, "fwhm_left", fwhm_left)
    fr = _positive(name, "fwhm_right", fwhm_right)
    eta = _fraction(name, "eta", eta)
    fs = np.where(x < center, fl, fr)
    scale = 2.0 * fs / (fl + fr)
    return _out(area * scale * _pv_unit_area((x - center) / fs, fs, eta))


def voigt_fwhm(fwhm_g: ArrayLike, fwhm_l: ArrayLike) -> FloatArray:
    r"""FWHM of a Voigt profile from its Gaussian and Lorentzian FWHMs (approximation).

    .. math:: F_V \approx 0.5346\,F_L + \sqrt{0.2166\,F_L^2 + F_G^2}

    Accurate to about 0.02 % for all ratios F_L/F_G; exact in both limits
    (F_L = 0 and F_G = 0, up to the 4-digit coefficients).

    Parameters
    ----------
    fwhm_g, fwhm_l
        FWHM of the Gaussian and of the Lorentzian component, ≥ 0.

    Returns
    -------
    numpy.ndarray
        The approximate Voigt FWHM (0-d array for scalar input).

    Raises
    ------
    InputError
        If a width is negative or not finite.

    References
    ----------
    J. J. Olivero and R. L. Longbothum, "Empirical fits to the Voigt line width: a brief
    review", J. Quant. Spectrosc. Radiat. Transfer 17, 233–236 (1977).
    """
    fg = _check("voigt_fwhm", "fwhm_g", fwhm_g, lo=0.0)
    fl = _check("voigt_fwhm", "fwhm_l", fwhm_l, lo=0.0)
    return _out(0.5346 * fl + np.sqrt(0.2166 * fl * fl + fg * fg))


def voigt(
    x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm_g: ArrayLike, fwhm_l: ArrayLike
) -> FloatArray:
    r"""Voigt profile: convolution of a Gaussian and a Lorentzian, of given area.

    Computed exactly with :func:`scipy.special.voigt_profile` (the Faddeeva function), with
    σ = F_G / (2√(2 ln 2)) and γ = F_L / 2. The FWHM of the result is given (to about 0.02 %) by
    :func:`voigt_fwhm`.

    Parameters
    ----------
    x
        Abscissa (any shape).
    area
        Integral over the real line, A.
    center
        Position of the maximum, x₀.
    fwhm_g
        FWHM of the Gaussian component, ≥ 0.
    fwhm_l
        FWHM of the Lorentzian component, ≥ 0. One of the two widths may be zero (giving a
        pure Lorentzian or Gaussian), not both.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If a width is negative, both are zero, or a parameter is not finite.
    """
    x = _as_x(x)
    area = _finite("voigt", "area", area)
    center = _finite("voigt", "center", center)
    fg = _check("voigt", "fwhm_g", fwhm_g, lo=0.0)
    fl = _check("voigt", "fwhm_l", fwhm_l, lo=0.0)
    _check("voigt", "fwhm_g + fwhm_l", fg + fl, lo=0.0, lo_open=True)
    return _out(area * special.voigt_profile(x - center, fg / _FWHM_PER_SIGMA, fl / 2.0))


# --------------------------------------------------------------------------------------------
# height-defined shapes


def fano(
    x: ArrayLike, height: ArrayLike, center: ArrayLike, fwhm: ArrayLike, q: ArrayLike
) -> FloatArray:
    r"""Breit–Wigner–Fano lineshape, as used for Raman bands (graphitic carbon G band …).

    .. math:: I(\omega) = I_0\,\frac{\left[1 + 2(\omega-\omega_0)/(q\Gamma)\right]^2}
              {1 + \left[2(\omega-\omega_0)/\Gamma\right]^2}

    As 1/q → 0 it tends to a Lorentzian of height I₀ and FWHM Γ. For finite q the maximum,
    I₀(1 + 1/q²), lies at ω₀ + Γ/(2q), the profile vanishes at ω₀ − qΓ/2 and tends to I₀/q²
    far from the centre (so its area is infinite). Negative q, usual for carbons, puts the
    tail on the low-wavenumber side.

    Parameters
    ----------
    x
        Abscissa ω (any shape), e.g. Raman shift.
    height
        I₀: the height of the Lorentzian limit; the actual maximum is I₀(1 + 1/q²).
    center
        ω₀.
    fwhm
        Γ > 0, the FWHM of the Lorentzian limit.
    q
        Fano asymmetry parameter, non-zero; ±inf gives the Lorentzian.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``q`` is 0 or NaN, or another parameter is not finite.

    References
    ----------
    U. Fano, Phys. Rev. 124, 1866–1878 (1961); A. C. Ferrari and J. Robertson,
    Phys. Rev. B 61, 14095–14107 (2000).
    """
    x = _as_x(x)
    height = _finite("fano", "height", height)
    center = _finite("fano", "center", center)
    fwhm = _positive("fano", "fwhm", fwhm)
    q = _check("fano", "q", q, allow_inf=True, nonzero=True)
    s = 2.0 * (x - center) / fwhm
    return _out(height * (1.0 + s / q) ** 2 / (1.0 + s * s))


def gl(
    x: ArrayLike, height: ArrayLike, center: ArrayLike, fwhm: ArrayLike, m: ArrayLike
) -> FloatArray:
    r"""CasaXPS GL(p): Gaussian–Lorentzian *product*, m = p/100.

    .. math:: f(x) = H\,\frac{\exp\left[-4\ln 2\,(1-m)(x-E)^2/F^2\right]}
              {1 + 4m(x-E)^2/F^2}

    GL(0) (m = 0) is a Gaussian and GL(100) (m = 1) a Lorentzian, both of height H and FWHM F.
    For 0 < m < 1 the maximum is still H at E but the FWHM is *smaller* than F (the product of
    two functions that each halve at E ± F/2); :meth:`Lineshape.numeric_fwhm` gives it.

    Parameters
    ----------
    x
        Abscissa (any shape), e.g. binding energy.
    height
        H, the value at the centre (the maximum).
    center
        E.
    fwhm
        F > 0, the FWHM of both end members.
    m
        Lorentzian mixing m = p/100 in [0, 1].

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``m`` is outside [0, 1], or a parameter is not finite.

    References
    ----------
    N. Fairley, CasaXPS manual, "Line shapes" (casaxps.com/help_manual/line_shapes.htm);
    G. H. Major, V. Fernandez, N. Fairley, M. R. Linford, "A detailed view of the
    Gaussian–Lorentzian sum and product functions and their comparison with the Voigt
    function", Surf. Interface Anal. 54 (2022), doi:10.1002/sia.7050.
    """
    x = _as_x(x)
    height = _finite("gl", "height", height)
    center = _finite("gl", "center", center)
    fwhm = _positive("gl", "fwhm", fwhm)
    m = _fraction("gl", "m", m)
    u2 = ((x - center) / fwhm) ** 2
    return _out(_gl_unit(u2, m, height))


def _gl_unit(u2: FloatArray, m: ArrayLike, height: ArrayLike = 1.0) -> FloatArray:
    """The GL(p) product at ``u2 = ((x − E)/F)²``, of height 1 or ``height`` (:func:`gl`,
    :func:`gl_tail`); the height multiplies before the division, as :func:`gl` always did."""
    return height * np.exp(-4.0 * _LN2 * (1.0 - m) * u2) / (1.0 + 4.0 * m * u2)


def sgl(
    x: ArrayLike, height: ArrayLike, center: ArrayLike, fwhm: ArrayLike, m: ArrayLike
) -> FloatArray:
    r"""CasaXPS SGL(p): Gaussian–Lorentzian *sum*, m = p/100.

    .. math:: f(x) = H\left[(1-m)\exp\left(-4\ln 2\,\frac{(x-E)^2}{F^2}\right)
              + \frac{m}{1 + 4(x-E)^2/F^2}\right]

    Both terms have height 1 and FWHM F, so the sum has height H and FWHM exactly F for
    every m. SGL(0) is a Gaussian, SGL(100) a Lorentzian.

    Parameters
    ----------
    x
        Abscissa (any shape), e.g. binding energy.
    height
        H, the value at the centre (the maximum).
    center
        E.
    fwhm
        F > 0.
    m
        Lorentzian fraction m = p/100 in [0, 1].

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``m`` is outside [0, 1], or a parameter is not finite.

    References
    ----------
    N. Fairley, CasaXPS manual, "Line shapes" (casaxps.com/help_manual/line_shapes.htm).
    """
    x = _as_x(x)
    height = _finite("sgl", "height", height)
    center = _finite("sgl", "center", center)
    fwhm = _positive("sgl", "fwhm", fwhm)
    m = _fraction("sgl", "m", m)
    u = (x - center) / fwhm
    return _out(height * ((1.0 - m) * _gauss_unit(u) + m * _lorentz_unit(u)))


def doniach_sunjic(
    x: ArrayLike, height: ArrayLike, center: ArrayLike, fwhm: ArrayLike, alpha: ArrayLike
) -> FloatArray:
    r"""Doniach–Šunjić lineshape of a metal core level, on a **binding-energy** axis.

    .. math:: f(x) = H\,\frac{\cos\left[\pi\alpha/2 + (1-\alpha)\arctan(\varepsilon/\gamma)
              \right]}{\left(1 + \varepsilon^2/\gamma^2\right)^{(1-\alpha)/2}},
              \qquad \varepsilon = E - x,\quad \gamma = F/2

    The Doniach–Šunjić formula is written in the photoelectron's kinetic energy relative to
    the line, ε; with x a binding energy, ε = E − x, so the slowly decaying tail
    (∝ abs(x − E)^(α−1)) lies on the **high-binding-energy side, x > E**, where the screening
    losses of a metal appear. For a kinetic-energy axis pass ``2*center - x`` instead of
    ``x``.

    At α = 0 the profile is a Lorentzian of height H and FWHM F; H is defined so (the
    Γ(1−α) prefactor of the original is dropped). For α > 0 the value at E is H cos(πα/2),
    the maximum moves to x > E, and the integral over the real line diverges.

    Parameters
    ----------
    x
        Binding energy (any shape).
    height
        H, the height of the α = 0 Lorentzian.
    center
        E, the position of the line (the maximum of the α = 0 Lorentzian).
    fwhm
        F = 2γ > 0, the FWHM of the α = 0 Lorentzian (core-hole lifetime width).
    alpha
        Singularity (asymmetry) index α in [0, 1).

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``alpha`` is outside [0, 1), or a parameter is not finite.

    References
    ----------
    S. Doniach and M. Šunjić, "Many-electron singularity in X-ray photoemission and X-ray
    line spectra from metals", J. Phys. C: Solid State Phys. 3, 285–291 (1970).
    """
    name = "doniach_sunjic"
    x = _as_x(x)
    height = _finite(name, "height", height)
    center = _finite(name, "center", center)
    fwhm = _positive(name, "fwhm", fwhm)
    alpha = _check(name, "alpha", alpha, lo=0.0, hi=1.0, hi_open=True)
    eps = (center - x) / (fwhm / 2.0)
    phase = 0.5 * math.pi * alpha + (1.0 - alpha) * np.arctan(eps)
    return _out(height * np.cos(phase) * (1.0 + eps * eps) ** (-(1.0 - alpha) / 2.0))


# LA: Gaussian broadening by quadrature in the Gaussian's own variable.
#
# (LA ⊗ G)(x) = ∫ LA(x − √2 σ t) e^{−t²}/√π dt, summed with the trapezoid rule on nodes
# t_k = k·dt, |t_k| ≤ _LA_T. The rule converges geometrically for the smooth (analytic)
# Lorentzian powers, so the accuracy is set by the kink at the centre when α ≠ β (the second
# derivative jumps there), which costs O((h/F)² dt) with h = √2 σ dt the step in x. The step
# is chosen (see _lf_nodes; constants from tests against adaptive quadrature) to keep errors
# below ~1e-6 of the peak. The nodes depend continuously on the parameters
# (only their count jumps, at weights < 1e-15), so the profile stays smooth for fitting, and
# each x is evaluated on its own, so any (non-uniform) sampling of x gives the same values.
_LA_T = 6.0  # e^{-36} ≈ 2e-16: the Gaussian's weight beyond is below double precision
_LA_DT_MAX = 0.5  # trapezoid error ~ exp(-π²/dt²) ≈ 1e-17 for a smooth integrand
_LA_MAX_NODES = 16385  # reached near m ≈ 30 F; beyond, the step is capped and errors grow
_LA_CHUNK = 1 << 20  # array elements per block, to bound memory
_LA_KINK_ERR = 3e-7  # target error from the kink, relative to the peak


def la(
    x: ArrayLike,
    height: ArrayLike,
    center: ArrayLike,
    fwhm: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    m: ArrayLike,
) -> FloatArray:
    r"""CasaXPS LA(α, β, m): asymmetric Lorentzian broadened by a Gaussian, binding-energy axis.

    The unbroadened profile is a Lorentzian raised to a different power on each side,

    .. math:: \mathrm{LA}_0(x) = \left[\frac{1}{1 + 4(x-E)^2/F^2}\right]^{p},
              \qquad p = \alpha\ (x > E),\quad p = \beta\ (x \le E),

    which is then convolved with a unit-area Gaussian of FWHM ``m`` and scaled so that its
    value at x = E is H:

    .. math:: f(x) = H\,\frac{(\mathrm{LA}_0 \otimes G_m)(x)}{(\mathrm{LA}_0 \otimes G_m)(E)}

    **Conventions.** x is a binding energy and α shapes the high-binding-energy side
    (x > E), β the low side, as in CasaXPS where α sets the tail to higher binding energy:
    α < β gives the tail of a metal, larger values give shorter tails, and α = β a
    symmetric peak (a Voigt profile when α = β = 1). CasaXPS's m is an integer (0–499) tied
    to its internal sampling; here ``m`` is instead the **FWHM of the Gaussian in x units**
    (m = 0: no broadening), so the shape does not depend on the data's point spacing.

    The convolution is computed numerically for each x separately (trapezoid rule in the
    Gaussian's variable, with a step ≤ F/10 in x and finer when α ≠ β), so it is correct for
    non-uniform x; it agrees with adaptive quadrature to ~1e-6 of the peak height
    (coarser beyond m ≈ 30 F, where the node count is capped).

    H is the value at E, which is the maximum for symmetric peaks (α = β) and for m = 0. For
    α ≠ β and m > 0 the maximum moves slightly toward the tail and exceeds H a little. The
    area is finite when α > 1/2 and β > 1/2. At m = 0 the FWHM is
    (F/2)[(2^{1/α} − 1)^{1/2} + (2^{1/β} − 1)^{1/2}].

    Parameters
    ----------
    x
        Binding energy (any shape).
    height
        H, the value at x = E.
    center
        E, the position of the unbroadened maximum.
    fwhm
        F > 0, the FWHM of the underlying Lorentzian.
    alpha
        Exponent on the high-binding-energy side (x > E), > 0.
    beta
        Exponent on the low-binding-energy side (x ≤ E), > 0.
    m
        FWHM of the broadening Gaussian in x units, ≥ 0.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` ≤ 0, ``alpha`` or ``beta`` ≤ 0, ``m`` < 0, or a parameter is not finite.

    References
    ----------
    N. Fairley, CasaXPS manual, "Line shapes" and "Lineshapes and backgrounds"
    (casaxps.com/help_manual/line_shapes.htm); Harwell XPS knowledge base, "LA and LF
    lineshapes" (harwellxps.guru).
    """
    x = _as_x(x)
    height = _finite("la", "height", height)
    center = _finite("la", "center", center)
    fwhm = _positive("la", "fwhm", fwhm)
    alpha = _check("la", "alpha", alpha, lo=0.0, lo_open=True)
    beta = _check("la", "beta", beta, lo=0.0, lo_open=True)
    m = _check("la", "m", m, lo=0.0)

    u = (x - center) / fwhm
    r = m / (_FWHM_PER_SIGMA * fwhm)  # σ/F
    prof = _asymmetric_profile(u, r, alpha, beta, np.zeros_like(r))  # LA = LF without damping
    return _out(height * prof)


def gl_tail(
    x: ArrayLike,
    height: ArrayLike,
    center: ArrayLike,
    fwhm: ArrayLike,
    m: ArrayLike,
    tail_mix: ArrayLike,
    tail_exp: ArrayLike,
) -> FloatArray:
    r"""GL(p) product with an exponential tail to higher binding energy.

    .. math:: f(x) = H\left[\mathrm{GL}(x) + T(x)\right],\qquad
              T(x) = \begin{cases} t_m\,\left[1 - \mathrm{GL}(x)\right]\,
              e^{-t_e (x - E)} & x > E \\ 0 & x \le E \end{cases}

    with GL the unit-height :func:`gl` profile (FWHM parameter F, mixing m). The tail
    starts at 0 at the centre (where GL = 1), rises as the peak falls and decays with the
    exponent ``tail_exp`` (1/eV); ``tail_mix`` sets its size. This is the "GL plus tail
    function" form of Sherwood's curve-fitting appendix, the asymmetric shape of vendor
    software (e.g. the sp² C 1s line of graphitic carbon). The area is finite for
    ``tail_exp`` > 0.

    Parameters
    ----------
    x
        Binding energy (any shape); the tail lies at x > E.
    height
        H, the value at x = E.
    center
        E.
    fwhm
        F > 0, the FWHM parameter of the GL part.
    m
        Lorentzian mixing of the GL part in [0, 1].
    tail_mix
        Tail size t_m ≥ 0 (0: a plain GL).
    tail_exp
        Tail decay exponent t_e > 0, per x unit.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` or ``tail_exp`` ≤ 0, ``m`` is outside [0, 1], ``tail_mix`` < 0, or a
        parameter is not finite.

    References
    ----------
    P. M. A. Sherwood, "Data analysis in X-ray photoelectron spectroscopy", in D. Briggs
    and M. P. Seah (eds.), Practical Surface Analysis, 2nd ed., Vol. 1, Wiley (1990),
    Appendix 3 (Gaussian–Lorentzian functions with an exponential tail).
    """
    x = _as_x(x)
    height = _finite("gl_tail", "height", height)
    center = _finite("gl_tail", "center", center)
    fwhm = _positive("gl_tail", "fwhm", fwhm)
    m = _fraction("gl_tail", "m", m)
    tail_mix = _check("gl_tail", "tail_mix", tail_mix, lo=0.0)
    tail_exp = _positive("gl_tail", "tail_exp", tail_exp)
    d = x - center
    g = _gl_unit((d / fwhm) ** 2, m)
    tail = np.where(d > 0.0, tail_mix * (1.0 - g) * np.exp(-tail_exp * np.maximum(d, 0.0)), 0.0)
    return _out(height * (g + tail))


def _lf_unbroadened(u: FloatArray, alpha: float, beta: float, q: float) -> FloatArray:
    # Lorentzian powers (alpha for u > 0, high binding energy; beta for u < 0) times the
    # damping Gaussian exp(-4 ln2 (u q)²), q = F/w; q = 0 is LA.
    power = np.where(u > 0.0, alpha, beta)
    return np.exp(-power * np.log1p(4.0 * u * u) - 4.0 * _LN2 * (u * q) ** 2)


def _lf_nodes(r: float, alpha: float, beta: float, s: float) -> tuple[FloatArray, FloatArray]:
    """Nodes (units of F) and weights for σ/F = r when the narrowest feature is s·F (s ≤ 1)."""
    # The smooth part needs a step h = √2 σ dt ≤ s·F/10 in x (s·F: the narrower of the
    # Lorentzian and the damping). The kink adds an error of about 0.03 |α − β| (h/F)² dt,
    # which relative to the broadened peak (height ~ 1/(1 + 2r)) is kept below _LA_KINK_ERR.
    dt = min(_LA_DT_MAX, s / (10.0 * math.sqrt(2.0) * r))
    if alpha != beta:
        kink = 0.06 * abs(alpha - beta) * r * r * (1.0 + 2.0 * r)
        dt = min(dt, (_LA_KINK_ERR / kink) ** (1.0 / 3.0))
    k = min(math.ceil(_LA_T / dt), (_LA_MAX_NODES - 1) // 2)
    dt = max(dt, _LA_T / k)
    t = dt * np.arange(-k, k + 1)
    w = np.exp(-t * t)
    return math.sqrt(2.0) * r * t, w / w.sum()


def _lf_profile(u: FloatArray, r: float, alpha: float, beta: float, q: float) -> FloatArray:
    """Unit LF profile at u = (x − E)/F for σ/F = r, α, β and q = F/w (value 1 at u = 0)."""
    if r == 0.0:
        return _lf_unbroadened(u, alpha, beta, q)
    shift, w = _lf_nodes(r, alpha, beta, min(1.0, 1.0 / q) if q > 0 else 1.0)
    norm = _lf_unbroadened(-shift, alpha, beta, q) @ w
    flat = np.ravel(u)
    out = np.empty(flat.size)
    block = max(1, _LA_CHUNK // shift.size)
    for start in range(0, flat.size, block):
        sel = slice(start, start + block)
        out[sel] = _lf_unbroadened(flat[sel, None] - shift, alpha, beta, q) @ w
    return (out / norm).reshape(u.shape)


def _asymmetric_profile(
    u: FloatArray, r: FloatArray, alpha: FloatArray, beta: FloatArray, q: FloatArray
) -> FloatArray:
    """Unit LA/LF profile for broadcast arrays (q = 0: no damping, i.e. LA)."""
    shape = np.broadcast_shapes(u.shape, r.shape, alpha.shape, beta.shape, q.shape)
    if r.size == alpha.size == beta.size == q.size == 1:
        return _lf_profile(np.broadcast_to(u, shape), r.item(), alpha.item(), beta.item(), q.item())
    u, r, alpha, beta, q = (np.broadcast_to(v, shape).ravel() for v in (u, r, alpha, beta, q))
    prof = np.empty(u.size)
    # Each distinct (σ/F, α, β, q) gets its own nodes, so a value never depends on the other
    # elements of a broadcast call.
    rows, inverse = np.unique(np.stack([r, alpha, beta, q], axis=1), axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    for i, (ri, ai, bi, qi) in enumerate(rows):
        idx = np.flatnonzero(inverse == i)
        prof[idx] = _lf_profile(u[idx], float(ri), float(ai), float(bi), float(qi))
    return prof.reshape(shape)


def lf(
    x: ArrayLike,
    height: ArrayLike,
    center: ArrayLike,
    fwhm: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    w: ArrayLike,
    m: ArrayLike,
) -> FloatArray:
    r"""LF(α, β, w, m): the LA shape with damped tails, so its area is finite for every α, β.

    CasaXPS describes LF as LA with one more parameter, w, that damps the asymmetric tails
    (a smaller w damps more). charact writes the damping as a Gaussian envelope of FWHM w
    on the unbroadened profile, then broadens with a Gaussian of FWHM m as :func:`la` does:

    .. math:: \mathrm{LF}_0(x) = \left[\frac{1}{1 + 4(x-E)^2/F^2}\right]^{p}
              \exp\left[-4\ln 2\,\frac{(x-E)^2}{w^2}\right],
              \qquad p = \alpha\ (x > E),\quad p = \beta\ (x \le E)

    .. math:: f(x) = H\,\frac{(\mathrm{LF}_0 \otimes G_m)(x)}{(\mathrm{LF}_0 \otimes G_m)(E)}

    **Conventions** are those of :func:`la`: x is a binding energy, α shapes the high-BE side,
    and ``w`` and ``m`` are FWHMs **in x units**. CasaXPS writes w and m as integers (0–499)
    tied to its internal sampling, whose conversion it does not publish, so a CasaXPS
    ``LF(α, β, w, m)`` string fixes α and β here but not w and m. The damping form is
    charact's: CasaXPS documents what w does, not its formula. As w → ∞, LF → LA.

    Parameters
    ----------
    x
        Binding energy (any shape).
    height
        H, the value at x = E.
    center
        E, the position of the unbroadened maximum.
    fwhm
        F > 0, the FWHM of the underlying Lorentzian.
    alpha, beta
        Lorentzian powers on the high-BE (x > E) and low-BE (x ≤ E) sides, > 0.
    w
        FWHM of the damping Gaussian envelope in x units, > 0.
    m
        FWHM of the broadening Gaussian in x units, ≥ 0.

    Returns
    -------
    numpy.ndarray
        Float array of the broadcast shape of ``x`` and the parameters.

    Raises
    ------
    InputError
        If ``fwhm`` or ``w`` ≤ 0, ``alpha`` or ``beta`` ≤ 0, ``m`` < 0, or a parameter is not
        finite.

    References
    ----------
    N. Fairley, CasaXPS manual, "Line shapes" (casaxps.com/help_manual/line_shapes.htm);
    Harwell XPS knowledge base, "LA and LF lineshapes" (harwellxps.guru): LF is LA with a
    tail-damping parameter w, smaller w meaning stronger damping.
    """
    x = _as_x(x)
    height = _finite("lf", "height", height)
    center = _finite("lf", "center", center)
    fwhm = _positive("lf", "fwhm", fwhm)
    alpha = _check("lf", "alpha", alpha, lo=0.0, lo_open=True)
    beta = _check("lf", "beta", beta, lo=0.0, lo_open=True)
    w = _positive("lf", "w", w)
    m = _check("lf", "m", m, lo=0.0)

    u = (x - center) / fwhm
    r = m / (_FWHM_PER_SIGMA * fwhm)
    prof = _asymmetric_profile(u, r, alpha, beta, fwhm / w)
    return _out(height * prof)


# --------------------------------------------------------------------------------------------
# the Lineshape record


@dataclass(frozen=True)
class ParamSpec:
    """Default and bounds of one lineshape parameter, used as lmfit parameter hints.

    Parameters
    ----------
    name
        The function's argument name.
    default
        Starting value.
    min, max
        Bounds for fitting (inclusive, as in lmfit).
    doc
        What the parameter is, in words.
    """

    name: str
    default: float
    min: float = -math.inf
    max: float = math.inf
    doc: str = ""


@dataclass(frozen=True)
class Lineshape:
    """A registered lineshape: the function, its parameters and how to fit it.

    Parameters
    ----------
    name
        Registry name.
    func
        The pure function ``func(x, <size>, center, ...)``.
    params
        One :class:`ParamSpec` per argument after ``x``, in the function's order.
    size_param
        ``"area"`` or ``"height"``: the first parameter, which scales the profile linearly.
    description
        One line on what the shape is for.
    citation
        Where the formula comes from.
    width_params
        Parameters that are widths; their sum sets the scale of the numeric integration and
        FWHM search. Defaults to every parameter whose name starts with ``fwhm``.
    area_diverges
        Optional ``f(params) -> reason or None``: why the integral over the real line is
        infinite for these parameter values (``None`` when it is finite).
    """

    name: str
    func: Callable[..., FloatArray]
    params: tuple[ParamSpec, ...]
    size_param: Literal["area", "height"]
    description: str = ""
    citation: str = ""
    width_params: tuple[str, ...] = ()
    area_diverges: Callable[[Mapping[str, float]], str | None] | None = field(
        default=None, compare=False
    )

    def __post_init__(self) -> None:
        names = self.param_names
        sig = list(inspect.signature(self.func).parameters)
        if sig[:1] != ["x"] or tuple(sig[1:]) != names:
            raise InputError(
                f"lineshape {self.name!r}: params {list(names)} must match the arguments of "
                f"{getattr(self.func, '__name__', self.func)!r} after x, which are {sig[1:]}"
            )
        if self.size_param not in ("area", "height") or names[:1] != (self.size_param,):
            raise InputError(
                f"lineshape {self.name!r}: size_param must be 'area' or 'height' and the first "
                f"parameter, got {self.size_param!r} with parameters {list(names)}"
            )
        if "center" not in names:
            raise InputError(f"lineshape {self.name!r}: needs a 'center' parameter")
        if not self.width_params:
            widths = tuple(n for n in names if n.startswith("fwhm"))
            object.__setattr__(self, "width_params", widths)
        unknown = set(self.width_params) - set(names)
        if unknown or not self.width_params:
            raise InputError(
                f"lineshape {self.name!r}: width_params must name parameters, got "
                f"{list(self.width_params)}"
            )
        for p in self.params:
            if not p.min <= p.default <= p.max:
                raise InputError(
                    f"lineshape {self.name!r}: default of {p.name} must be in "
                    f"[{p.min}, {p.max}], got {p.default}"
                )

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the parameters after ``x``, in order."""
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> dict[str, float]:
        """``{name: default}`` for every parameter."""
        return {p.name: p.default for p in self.params}

    def spec(self, name: str) -> ParamSpec:
        """The :class:`ParamSpec` of parameter ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise InputError(
            f"lineshape {self.name!r} has no parameter {name!r}; "
            f"its parameters are {', '.join(self.param_names)}"
        )

    def _values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = [k for k in params if k not in self.param_names]
        if unknown:
            raise InputError(
                f"lineshape {self.name!r} has no parameter {unknown[0]!r}; "
                f"its parameters are {', '.join(self.param_names)}"
            )
        return {p.name: params.get(p.name, p.default) for p in self.params}

    def _scalar_values(self, params: Mapping[str, Any]) -> dict[str, float]:
        values = self._values(params)
        for k, v in values.items():
            if np.ndim(v) != 0:
                raise InputError(
                    f"lineshape {self.name!r}: {k} must be a scalar here, got shape {np.shape(v)}"
                )
        out = {k: float(v) for k, v in values.items()}
        self.func(out["center"], **out)  # validates every parameter with the function's message
        return out

    def __call__(self, x: ArrayLike, **params: ArrayLike) -> FloatArray:
        """Evaluate at ``x``; parameters not given take their defaults."""
        return self.func(x, **self._values(params))

    def model(self, prefix: str = "") -> lmfit.Model:
        """An :class:`lmfit.Model` of this shape, with the specs as parameter hints.

        Parameters
        ----------
        prefix
            Prefix of the parameter names (``"p1_"`` → ``p1_center`` …), so that models of
            several peaks can be added with ``+``.

        Returns
        -------
        lmfit.Model
            With ``independent_vars=["x"]``; ``make_params()`` gives each parameter its
            default as value and its bounds as min/max.
        """
        import lmfit  # deferred: enumerating registries should not pay lmfit's import time

        mod = lmfit.Model(self.func, independent_vars=["x"], prefix=prefix, name=self.name)
        for p in self.params:
            mod.set_param_hint(p.name, value=p.default, min=p.min, max=p.max)
        return mod

    def _scale(self, values: Mapping[str, float]) -> float:
        return float(sum(values[n] for n in self.width_params))

    def numeric_fwhm(self, **params: float) -> float:
        """Full width at half maximum, measured numerically.

        The maximum is located on a grid of ±30 widths around ``center`` and refined, then
        the half-maximum crossings on each side are found by bracketing and Brent's method.
        Parameters not given take their defaults.

        Returns
        -------
        float
            Distance between the first half-maximum crossings either side of the maximum.

        Raises
        ------
        InputError
            For invalid parameters, or if the profile does not fall to half its maximum on
            both sides (e.g. a Fano profile with abs(q) ≤ 1).
        """
        values = self._scalar_values(params)
        values[self.size_param] = 1.0  # the FWHM does not depend on the size
        center = values["center"]
        scale = self._scale(values)

        def f(t: float) -> float:
            return float(self.func(t, **values))

        grid = center + scale * np.linspace(-30.0, 30.0, 6001)
        y = self.func(grid, **values)
        i = int(np.argmax(y))
        if i in (0, grid.size - 1):
            raise InputError(
                f"{self.name}: no maximum within 30 widths of center={center:g} for {values}"
            )
        res = optimize.minimize_scalar(
            lambda t: -f(t),
            bounds=(grid[i - 1], grid[i + 1]),
            method="bounded",
            options={"xatol": 1e-10 * scale},
        )
        peak, top = (float(res.x), -float(res.fun)) if -res.fun >= y[i] else (grid[i], y[i])
        half = top / 2.0

        def crossing(direction: float) -> float:
            inner, step = peak, scale / 8.0
            for k in range(400):
                outer = peak + direction * step * (k + 1 if k < 320 else 2.0 ** (k - 310))
                if f(outer) <= half:
                    lo, hi = sorted((inner, outer))
                    return optimize.brentq(
                        lambda t: f(t) - half, lo, hi, xtol=1e-13 * scale, rtol=1e-15
                    )
                inner = outer
            side = "right" if direction > 0 else "left"
            raise InputError(
                f"{self.name}: the profile never falls to half its maximum on the {side} of "
                f"the peak, so it has no FWHM, for {values}"
            )

        return float(crossing(1.0) - crossing(-1.0))

    def numeric_area(self, *, window: tuple[float, float] | None = None, **params: float) -> float:
        """Integral of the profile, by adaptive quadrature (:func:`scipy.integrate.quad`).

        Without ``window`` the integral runs over the whole real line: a core of ±50 widths
        around ``center`` (with ``center`` as a break point) plus the two tails, which quad
        maps onto finite intervals. Parameters not given take their defaults.

        Parameters
        ----------
        window
            ``(lo, hi)`` to integrate over a finite range instead, e.g. the fitted region;
            needed for profiles whose integral over the real line is infinite.
        **params
            Parameter values (scalars).

        Returns
        -------
        float
            The area.

        Raises
        ------
        InputError
            For invalid parameters, or if the integral over the real line is infinite: a
            Doniach–Šunjić profile with α > 0 (tail ∝ abs(x − E)^(α−1)), a Fano profile with
            finite q (tends to height/q²) or an LA profile with α or β ≤ 1/2.

        Warns
        -----
        CharactWarning
            If quad's error estimate exceeds 1e-7 of the result.
        """
        values = self._scalar_values(params)
        size = values[self.size_param]
        values[self.size_param] = 1.0  # the profile is linear in its size parameter
        center = values["center"]

        def f(t: float) -> float:
            return float(self.func(t, **values))

        opts: dict[str, Any] = {"limit": 500, "epsabs": 0.0, "epsrel": 1e-10}
        if window is not None:
            lo, hi = (float(v) for v in window)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InputError(
                    f"{self.name}: window must be (lo, hi) with finite lo < hi, got {window!r}"
                )
            pts = [center] if lo < center < hi else None
            total, err = integrate.quad(f, lo, hi, points=pts, **opts)
        else:
            reason = self.area_diverges(values) if self.area_diverges else None
            if reason:
                raise InputError(
                    f"{self.name}: the area over the whole real line is infinite ({reason})",
                    hint="pass window=(lo, hi) to integrate over a finite range",
                )
            half_width = 50.0 * self._scale(values)
            lo, hi = center - half_width, center + half_width
            core, e1 = integrate.quad(f, lo, hi, points=[center], **opts)
            left, e2 = integrate.quad(f, -math.inf, lo, **opts)
            right, e3 = integrate.quad(f, hi, math.inf, **opts)
            total, err = core + left + right, e1 + e2 + e3
        if err > 1e-7 * abs(total):
            warnings.warn(
                f"{self.name}: numeric area {total:g} is uncertain by about {err:.2g}",
                CharactWarning,
                stacklevel=2,
            )
        return float(size * total)


def get_lineshape(name: str) -> Lineshape:
    """The registered :class:`Lineshape` called ``name`` (``LINESHAPES.get``).

    Raises
    ------
    RegistryError
        For an unknown name, with close matches as a hint.
    """
    return LINESHAPES.get(name)


def make_model(name: str, prefix: str = "") -> lmfit.Model:
    """An :class:`lmfit.Model` of the registered lineshape ``name``; see :meth:`Lineshape.model`.

    Examples
    --------
    >>> model = make_model("voigt", prefix="a_") + make_model("voigt", prefix="b_")
    """
    return get_lineshape(name).model(prefix)


# --------------------------------------------------------------------------------------------
# registration


def _size(kind: str) -> ParamSpec:
    doc = "integral over the real line" if kind == "area" else "peak height"
    return ParamSpec(kind, 1.0, 0.0, math.inf, doc)


_CENTER = ParamSpec("center", 0.0, doc="peak position")


def _width(name: str = "fwhm", doc: str = "full width at half maximum") -> ParamSpec:
    return ParamSpec(name, 1.0, _MIN_WIDTH, math.inf, doc)


def _fano_diverges(p: Mapping[str, float]) -> str | None:
    if math.isinf(p["q"]):
        return None
    return f"finite q={p['q']:g}: the profile tends to height/q² far from the centre"


def _ds_diverges(p: Mapping[str, float]) -> str | None:
    if p["alpha"] == 0.0:
        return None
    return f"alpha={p['alpha']:g} > 0: the tail decays as abs(x - center)^(alpha - 1)"


def _la_diverges(p: Mapping[str, float]) -> str | None:
    low = [f"{k}={p[k]:g}" for k in ("alpha", "beta") if p[k] <= 0.5]
    if not low:
        return None
    return f"{' and '.join(low)} ≤ 1/2: that side decays as abs(x - center)^(-2 power), too slowly"


_CASA = "N. Fairley, CasaXPS manual, 'Line shapes' (casaxps.com/help_manual/line_shapes.htm)"

_SHAPES = (
    Lineshape(
        "gaussian",
        gaussian,
        (_size("area"), _CENTER, _width()),
        "area",
        "Gaussian (instrumental / inhomogeneous broadening)",
        "standard normal distribution written with its FWHM",
    ),
    Lineshape(
        "lorentzian",
        lorentzian,
        (_size("area"), _CENTER, _width()),
        "area",
        "Lorentzian (lifetime broadening)",
        "Cauchy distribution written with its FWHM",
    ),
    Lineshape(
        "pseudo_voigt",
        pseudo_voigt,
        (_size("area"), _CENTER, _width(), ParamSpec("eta", 0.5, 0.0, 1.0, "Lorentzian fraction")),
        "area",
        "pseudo-Voigt: eta*Lorentzian + (1-eta)*Gaussian, equal FWHM (XRD, Raman)",
        "G. K. Wertheim et al., Rev. Sci. Instrum. 45, 1369 (1974)",
    ),
    Lineshape(
        "split_pseudo_voigt",
        split_pseudo_voigt,
        (
            _size("area"),
            _CENTER,
            _width("fwhm_left", "FWHM of the low-x half"),
            _width("fwhm_right", "FWHM of the high-x half"),
            ParamSpec("eta", 0.5, 0.0, 1.0, "Lorentzian fraction"),
        ),
        "area",
        "split pseudo-Voigt, asymmetric XRD peaks",
        "H. Toraya, J. Appl. Cryst. 23, 485-491 (1990)",
    ),
    Lineshape(
        "voigt",
        voigt,
        (
            _size("area"),
            _CENTER,
            _width("fwhm_g", "FWHM of the Gaussian component"),
            _width("fwhm_l", "FWHM of the Lorentzian component"),
        ),
        "area",
        "Voigt profile (Gaussian convolved with Lorentzian), exact via the Faddeeva function",
        "FWHM approximation: J. J. Olivero, R. L. Longbothum, JQSRT 17, 233-236 (1977)",
    ),
    Lineshape(
        "fano",
        fano,
        (
            _size("height"),
            _CENTER,
            _width("fwhm", "FWHM of the Lorentzian limit"),
            ParamSpec("q", -10.0, doc="Fano asymmetry parameter (non-zero)"),
        ),
        "height",
        "Breit-Wigner-Fano lineshape (Raman: graphitic carbon G band, doped semiconductors)",
        "U. Fano, Phys. Rev. 124, 1866 (1961); A. C. Ferrari, J. Robertson, "
        "Phys. Rev. B 61, 14095 (2000)",
        area_diverges=_fano_diverges,
    ),
    Lineshape(
        "gl",
        gl,
        (_size("height"), _CENTER, _width(), ParamSpec("m", 0.3, 0.0, 1.0, "GL(p) mixing p/100")),
        "height",
        "CasaXPS GL(p) Gaussian-Lorentzian product",
        _CASA,
    ),
    Lineshape(
        "sgl",
        sgl,
        (_size("height"), _CENTER, _width(), ParamSpec("m", 0.3, 0.0, 1.0, "SGL(p) mixing p/100")),
        "height",
        "CasaXPS SGL(p) Gaussian-Lorentzian sum",
        _CASA,
    ),
    Lineshape(
        "doniach_sunjic",
        doniach_sunjic,
        (
            _size("height"),
            _CENTER,
            _width("fwhm", "FWHM of the alpha = 0 Lorentzian"),
            ParamSpec("alpha", 0.1, 0.0, 0.9, "singularity index; tail to higher x"),
        ),
        "height",
        "Doniach-Sunjic metal core level, tail toward higher binding energy",
        "S. Doniach, M. Sunjic, J. Phys. C 3, 285-291 (1970)",
        area_diverges=_ds_diverges,
    ),
    Lineshape(
        "la",
        la,
        (
            _size("height"),
            _CENTER,
            _width("fwhm", "FWHM of the underlying Lorentzian"),
            ParamSpec("alpha", 1.0, 0.05, 20.0, "Lorentzian power, high-x (high BE) side"),
            ParamSpec("beta", 1.0, 0.05, 20.0, "Lorentzian power, low-x side"),
            ParamSpec("m", 0.5, 0.0, math.inf, "FWHM of the broadening Gaussian (x units)"),
        ),
        "height",
        "CasaXPS LA(alpha, beta, m) asymmetric Lorentzian with Gaussian broadening",
        _CASA,
        width_params=("fwhm", "m"),
        area_diverges=_la_diverges,
    ),
    Lineshape(
        "gl_tail",
        gl_tail,
        (
            _size("height"),
            _CENTER,
            _width("fwhm", "FWHM parameter of the GL part"),
            ParamSpec("m", 0.3, 0.0, 1.0, "GL(p) mixing p/100"),
            ParamSpec("tail_mix", 0.1, 0.0, math.inf, "size of the exponential tail"),
            ParamSpec("tail_exp", 1.0, _MIN_WIDTH, math.inf, "tail decay exponent (1/x unit)"),
        ),
        "height",
        "GL(p) product with an exponential tail to higher binding energy (vendor asymmetric)",
        "P. M. A. Sherwood, in Briggs & Seah (eds.), Practical Surface Analysis, 2nd ed., "
        "Vol. 1, Appendix 3 (1990)",
    ),
    Lineshape(
        "lf",
        lf,
        (
            _size("height"),
            _CENTER,
            _width("fwhm", "FWHM of the underlying Lorentzian"),
            ParamSpec("alpha", 1.0, 0.05, 20.0, "Lorentzian power, high-x (high BE) side"),
            ParamSpec("beta", 1.0, 0.05, 20.0, "Lorentzian power, low-x side"),
            ParamSpec("w", 5.0, _MIN_WIDTH, math.inf, "FWHM of the tail-damping Gaussian"),
            ParamSpec("m", 0.5, 0.0, math.inf, "FWHM of the broadening Gaussian (x units)"),
        ),
        "height",
        "CasaXPS-style LF(alpha, beta, w, m): LA with damped tails (finite area)",
        _CASA,
        width_params=("fwhm", "m"),
    ),
)

_ALIASES = {"bwf": "fano"}

for _shape in _SHAPES:
    LINESHAPES.register(_shape.name, _shape)
    for _alias, _target in _ALIASES.items():
        if _target == _shape.name:
            LINESHAPES.register(_alias, _shape)
del _shape, _alias, _target
