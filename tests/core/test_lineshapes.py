"""Tests of charact.core.lineshapes: analytic facts, limits, validation and lmfit models.

The generic tests are parametrised over the LINESHAPES registry, so a newly registered
lineshape is checked (purity, broadcasting, fitting …) without editing this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

# Imported explicitly: before charact is pip-installed its entry points do not exist, and
# importing the module is what registers the built-in shapes.
import charact.core.lineshapes  # noqa: F401
from charact.core.errors import InputError, RegistryError
from charact.core.lineshapes import (
    Lineshape,
    ParamSpec,
    doniach_sunjic,
    fano,
    gaussian,
    get_lineshape,
    gl,
    la,
    lorentzian,
    make_model,
    pseudo_voigt,
    sgl,
    split_pseudo_voigt,
    voigt,
    voigt_fwhm,
)
from charact.core.registry import LINESHAPES

BUILTIN = {
    "gaussian",
    "lorentzian",
    "pseudo_voigt",
    "split_pseudo_voigt",
    "voigt",
    "fano",
    "bwf",
    "gl",
    "sgl",
    "doniach_sunjic",
    "la",
}
NAMES = LINESHAPES.names()
AREA_NAMES = [n for n in NAMES if LINESHAPES.get(n).size_param == "area"]

# Parameters away from the defaults (and asymmetric where the shape allows) so that fits and
# broadcasting exercise every parameter. Shapes registered by plugins fall back to defaults.
TRUTH: dict[str, dict[str, float]] = {
    "gaussian": {"area": 2.5, "center": 1.3, "fwhm": 0.8},
    "lorentzian": {"area": 2.5, "center": 1.3, "fwhm": 0.8},
    "pseudo_voigt": {"area": 2.5, "center": 1.3, "fwhm": 0.8, "eta": 0.35},
    "split_pseudo_voigt": {
        "area": 2.5,
        "center": 1.3,
        "fwhm_left": 0.6,
        "fwhm_right": 1.0,
        "eta": 0.4,
    },
    "voigt": {"area": 2.5, "center": 1.3, "fwhm_g": 0.7, "fwhm_l": 0.4},
    "fano": {"height": 3.0, "center": 1.3, "fwhm": 0.8, "q": -4.0},
    "bwf": {"height": 3.0, "center": 1.3, "fwhm": 0.8, "q": -4.0},
    "gl": {"height": 3.0, "center": 1.3, "fwhm": 0.8, "m": 0.3},
    "sgl": {"height": 3.0, "center": 1.3, "fwhm": 0.8, "m": 0.4},
    "doniach_sunjic": {"height": 3.0, "center": 1.3, "fwhm": 0.8, "alpha": 0.15},
    "la": {"height": 3.0, "center": 1.3, "fwhm": 0.6, "alpha": 1.2, "beta": 2.5, "m": 0.5},
}

LN2 = math.log(2.0)


def params_of(name: str) -> dict[str, float]:
    return dict(TRUTH.get(name, LINESHAPES.get(name).defaults))


def width_of(name: str, params: dict[str, float]) -> float:
    return sum(params[w] for w in LINESHAPES.get(name).width_params)


def quad_area(f, center: float, scale: float) -> float:
    """Integral over the real line with scipy's quad, split at the centre and ±50 widths."""
    lo, hi = center - 50 * scale, center + 50 * scale
    opts = {"limit": 500, "epsabs": 0.0, "epsrel": 1e-11}
    core = integrate.quad(lambda t: float(f(t)), lo, hi, points=[center], **opts)[0]
    left = integrate.quad(lambda t: float(f(t)), -math.inf, lo, **opts)[0]
    right = integrate.quad(lambda t: float(f(t)), hi, math.inf, **opts)[0]
    return core + left + right


def unit_gauss(x, center, fwhm):
    # exp(-4 ln2 u²): height 1, FWHM = fwhm (definition of the FWHM of a Gaussian).
    return np.exp(-4 * LN2 * ((np.asarray(x) - center) / fwhm) ** 2)


def unit_lorentz(x, center, fwhm):
    # 1 / (1 + 4u²): height 1, FWHM = fwhm.
    return 1.0 / (1.0 + 4 * ((np.asarray(x) - center) / fwhm) ** 2)


X = np.linspace(-6.0, 8.0, 701)


# --------------------------------------------------------------------------------------------
# registry and Lineshape record


def test_builtin_names_registered():
    assert set(NAMES) >= BUILTIN


def test_bwf_is_an_alias_of_fano():
    assert LINESHAPES.get("bwf") is LINESHAPES.get("fano")
    assert get_lineshape("bwf").name == "fano"


def test_get_lineshape_unknown_name_suggests():
    with pytest.raises(RegistryError, match="gaussian"):
        get_lineshape("gausian")


@pytest.mark.parametrize("name", NAMES)
def test_record_matches_function_signature(name):
    shape = get_lineshape(name)
    assert isinstance(shape, Lineshape)
    assert shape.size_param in ("area", "height")
    assert shape.param_names[0] == shape.size_param
    assert "center" in shape.param_names
    for p in shape.params:
        assert p.min <= p.default <= p.max


def test_lineshape_rejects_specs_that_do_not_match_the_function():
    with pytest.raises(InputError, match="must match the arguments"):
        Lineshape("bad", gaussian, (ParamSpec("area", 1.0), ParamSpec("center", 0.0)), "area")
    with pytest.raises(InputError, match="size_param"):
        Lineshape(
            "bad",
            gaussian,
            (ParamSpec("area", 1.0), ParamSpec("center", 0.0), ParamSpec("fwhm", 1.0)),
            "height",
        )


def test_call_fills_defaults_and_rejects_unknown_parameters():
    shape = get_lineshape("gaussian")
    np.testing.assert_array_equal(shape(X, center=0.5), gaussian(X, 1.0, 0.5, 1.0))
    with pytest.raises(InputError, match="no parameter 'sigma'"):
        shape(X, sigma=1.0)


# --------------------------------------------------------------------------------------------
# area-normalised shapes


@pytest.mark.parametrize("name", AREA_NAMES)
def test_area_shapes_integrate_to_area(name):
    p = params_of(name)
    shape = get_lineshape(name)
    area = quad_area(lambda t: shape(t, **p), p["center"], width_of(name, p))
    assert area == pytest.approx(p["area"], rel=1e-8)
    assert shape.numeric_area(**p) == pytest.approx(p["area"], rel=1e-8)


def _pv_peak(area, fwhm, eta):
    # Sum of the analytic peak heights of the area-normalised components (see below).
    return area * (eta * 2 / (math.pi * fwhm) + (1 - eta) * 2 * math.sqrt(LN2 / math.pi) / fwhm)


# (name, params, expected FWHM, expected height at center)
AREA_FACTS = [
    # Gaussian of area A: peak A·2√(ln2/π)/F (normal pdf with σ = F/(2√(2 ln2))).
    (
        "gaussian",
        {"area": 2.0, "center": 0.3, "fwhm": 0.7},
        0.7,
        2 * 2 * math.sqrt(LN2 / math.pi) / 0.7,
    ),
    # Lorentzian of area A: peak 2A/(πF) (Cauchy pdf with γ = F/2).
    ("lorentzian", {"area": 2.0, "center": 0.3, "fwhm": 0.7}, 0.7, 2 * 2.0 / (math.pi * 0.7)),
    # Pseudo-Voigt: both components halve at ±F/2, so the FWHM is F for every η.
    (
        "pseudo_voigt",
        {"area": 2.0, "center": 0.3, "fwhm": 0.7, "eta": 0.3},
        0.7,
        _pv_peak(2, 0.7, 0.3),
    ),
    (
        "pseudo_voigt",
        {"area": 2.0, "center": 0.3, "fwhm": 0.7, "eta": 0.9},
        0.7,
        _pv_peak(2, 0.7, 0.9),
    ),
    # Split PV: half-widths F_l/2 and F_r/2; common height 2·k·A/(F_l + F_r) where k·A/F is
    # the height of a symmetric PV (area conservation of the two halves).
    (
        "split_pseudo_voigt",
        {"area": 2.0, "center": 0.3, "fwhm_left": 0.5, "fwhm_right": 0.9, "eta": 0.4},
        0.7,
        _pv_peak(2, 0.7, 0.4),
    ),
]


@pytest.mark.parametrize(("name", "p", "fwhm", "peak"), AREA_FACTS)
def test_area_shapes_fwhm_and_peak_height(name, p, fwhm, peak):
    shape = get_lineshape(name)
    assert shape.numeric_fwhm(**p) == pytest.approx(fwhm, rel=1e-9)
    assert float(shape(p["center"], **p)) == pytest.approx(peak, rel=1e-12)
    grid = p["center"] + np.linspace(-3, 3, 6001)
    assert shape(grid, **p).max() <= peak * (1 + 1e-12)


def test_voigt_peak_and_area_match_scipy():
    # voigt_profile(0, σ, γ) is the analytic peak of the unit-area Voigt (Faddeeva function).
    sigma, gamma = 0.7 / (2 * math.sqrt(2 * LN2)), 0.2
    assert float(voigt(1.0, 3.0, 1.0, 0.7, 0.4)) == pytest.approx(
        3.0 * special.voigt_profile(0.0, sigma, gamma), rel=1e-14
    )


@pytest.mark.parametrize("ratio", np.geomspace(1e-2, 1e2, 9))
def test_voigt_fwhm_approximation_accuracy(ratio):
    # Olivero & Longbothum (1977) quote 0.02 %; the largest error measured over all ratios with
    # the 4-digit coefficients is 0.024 %.
    fwhm_g, fwhm_l = 1.0, float(ratio)
    measured = get_lineshape("voigt").numeric_fwhm(fwhm_g=fwhm_g, fwhm_l=fwhm_l)
    assert float(voigt_fwhm(fwhm_g, fwhm_l)) == pytest.approx(measured, rel=2.5e-4)


def test_voigt_fwhm_limits_and_broadcasting():
    assert float(voigt_fwhm(1.3, 0.0)) == pytest.approx(1.3, rel=1e-12)
    assert float(voigt_fwhm(0.0, 1.3)) == pytest.approx(1.3, rel=1e-4)  # 0.5346 + √0.2166
    assert voigt_fwhm(np.array([[1.0], [2.0]]), np.array([0.5, 1.0, 1.5])).shape == (2, 3)
    with pytest.raises(InputError, match="fwhm_l"):
        voigt_fwhm(1.0, -0.1)


# --------------------------------------------------------------------------------------------
# height-defined shapes


# (name, params, expected FWHM or None when not analytic)
HEIGHT_FACTS = [
    ("gl", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "m": 0.0}, 0.7),
    ("gl", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "m": 1.0}, 0.7),
    ("gl", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "m": 0.5}, None),
    # SGL: both terms have height 1 and FWHM F, so the sum halves at ±F/2 for every m.
    ("sgl", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "m": 0.25}, 0.7),
    ("sgl", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "m": 0.75}, 0.7),
    # DS at alpha = 0 is the Lorentzian 1/(1 + 4u²).
    ("doniach_sunjic", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "alpha": 0.0}, 0.7),
    # LA with m = 0: L^p halves where (1 + 4u²)^p = 2, u = ½√(2^{1/p} − 1) on each side.
    (
        "la",
        {"height": 2.0, "center": 0.3, "fwhm": 0.7, "alpha": 1.0, "beta": 1.0, "m": 0.0},
        0.7,
    ),
    (
        "la",
        {"height": 2.0, "center": 0.3, "fwhm": 0.7, "alpha": 1.0, "beta": 2.5, "m": 0.0},
        0.35 * (1.0 + math.sqrt(2 ** (1 / 2.5) - 1)),
    ),
    # Symmetric LA broadened by a Gaussian: maximum at the centre (FWHM checked elsewhere).
    ("la", {"height": 2.0, "center": 0.3, "fwhm": 0.7, "alpha": 1.5, "beta": 1.5, "m": 0.4}, None),
]


@pytest.mark.parametrize(("name", "p", "fwhm"), HEIGHT_FACTS)
def test_height_shapes_max_at_center_and_fwhm(name, p, fwhm):
    shape = get_lineshape(name)
    assert float(shape(p["center"], **p)) == pytest.approx(p["height"], rel=1e-12)
    grid = p["center"] + np.linspace(-3, 3, 6001)
    assert shape(grid, **p).max() <= p["height"] * (1 + 1e-12)
    if fwhm is not None:
        assert shape.numeric_fwhm(**p) == pytest.approx(fwhm, rel=1e-9)


def test_gl_product_is_narrower_than_f_between_the_end_members():
    # Documented: for 0 < m < 1 each factor halves at ±F/2, so their product is below half.
    widths = [get_lineshape("gl").numeric_fwhm(fwhm=1.0, m=m) for m in (0.1, 0.5, 0.9)]
    assert all(0.9 < w < 1.0 for w in widths)


# --------------------------------------------------------------------------------------------
# limits between shapes


@pytest.mark.parametrize("func", [gl, sgl])
def test_gl_and_sgl_end_members(func):
    np.testing.assert_allclose(
        func(X, 2.0, 0.3, 0.7, 0.0), 2.0 * unit_gauss(X, 0.3, 0.7), rtol=1e-12
    )
    np.testing.assert_allclose(
        func(X, 2.0, 0.3, 0.7, 1.0), 2.0 * unit_lorentz(X, 0.3, 0.7), rtol=1e-12
    )


def test_gaussian_and_lorentzian_shapes():
    # The area forms are the unit-height forms times the analytic peak heights.
    np.testing.assert_allclose(
        gaussian(X, 2.0, 0.3, 0.7),
        2.0 * 2 * math.sqrt(LN2 / math.pi) / 0.7 * unit_gauss(X, 0.3, 0.7),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        lorentzian(X, 2.0, 0.3, 0.7),
        2 * 2.0 / (math.pi * 0.7) * unit_lorentz(X, 0.3, 0.7),
        rtol=1e-12,
    )


def test_pseudo_voigt_end_members():
    np.testing.assert_allclose(
        pseudo_voigt(X, 2.0, 0.3, 0.7, 0.0), gaussian(X, 2.0, 0.3, 0.7), rtol=1e-12
    )
    np.testing.assert_allclose(
        pseudo_voigt(X, 2.0, 0.3, 0.7, 1.0), lorentzian(X, 2.0, 0.3, 0.7), rtol=1e-12
    )


def test_split_pseudo_voigt_with_equal_widths_is_pseudo_voigt():
    np.testing.assert_allclose(
        split_pseudo_voigt(X, 2.0, 0.3, 0.7, 0.7, 0.4),
        pseudo_voigt(X, 2.0, 0.3, 0.7, 0.4),
        rtol=1e-12,
    )


def test_split_pseudo_voigt_is_continuous_at_the_centre():
    c, eps = 0.3, 1e-9
    left, mid, right = split_pseudo_voigt([c - eps, c, c + eps], 2.0, c, 0.4, 1.2, 0.5)
    assert left == pytest.approx(mid, rel=1e-12)
    assert right == pytest.approx(mid, rel=1e-12)


def test_voigt_limits():
    # A vanishing Lorentzian (Gaussian) width leaves the other component. (Far out, the
    # Lorentzian part, ~1e-10 of the peak, outlasts the Gaussian tail: hence the atol.)
    np.testing.assert_allclose(
        voigt(X, 2.0, 0.3, 0.7, 1e-9), gaussian(X, 2.0, 0.3, 0.7), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        voigt(X, 2.0, 0.3, 1e-9, 0.7), lorentzian(X, 2.0, 0.3, 0.7), rtol=1e-6
    )
    # Exactly zero is allowed for one of the widths.
    np.testing.assert_allclose(voigt(X, 2.0, 0.3, 0.7, 0.0), gaussian(X, 2.0, 0.3, 0.7), rtol=1e-12)
    np.testing.assert_allclose(
        voigt(X, 2.0, 0.3, 0.0, 0.7), lorentzian(X, 2.0, 0.3, 0.7), rtol=1e-12
    )


def test_fano_tends_to_lorentzian_of_same_height():
    lor = 2.0 * unit_lorentz(X, 0.3, 0.7)
    # The relative deviation is (1 + s/q)² − 1 ≈ 2s/q, s = 2(x − center)/fwhm ≤ 22 here.
    np.testing.assert_allclose(fano(X, 2.0, 0.3, 0.7, 1e9), lor, rtol=5e-8)
    np.testing.assert_allclose(fano(X, 2.0, 0.3, 0.7, -1e9), lor, rtol=5e-8)
    np.testing.assert_allclose(fano(X, 2.0, 0.3, 0.7, math.inf), lor, rtol=1e-13)


def test_fano_maximum_zero_and_background():
    # With s = 2(ω − ω0)/Γ: d/ds[(1 + s/q)²/(1 + s²)] = 0 at s = 1/q, value 1 + 1/q²; the
    # numerator vanishes at s = −q; far away the ratio tends to 1/q².
    h, c, w, q = 2.0, 0.3, 0.7, -3.0
    top = c + w / (2 * q)
    assert float(fano(top, h, c, w, q)) == pytest.approx(h * (1 + 1 / q**2), rel=1e-14)
    grid = c + np.linspace(-5, 5, 10001)
    assert fano(grid, h, c, w, q).max() <= h * (1 + 1 / q**2) * (1 + 1e-14)
    assert float(fano(c - q * w / 2, h, c, w, q)) == pytest.approx(0.0, abs=1e-15)
    assert float(fano(c + 1e9, h, c, w, q)) == pytest.approx(h / q**2, rel=1e-6)


def test_doniach_sunjic_alpha_zero_is_lorentzian():
    np.testing.assert_allclose(
        doniach_sunjic(X, 2.0, 0.3, 0.7, 0.0), 2.0 * unit_lorentz(X, 0.3, 0.7), rtol=1e-12
    )


@pytest.mark.parametrize("alpha", [0.05, 0.2, 0.5])
def test_doniach_sunjic_tail_toward_higher_binding_energy(alpha):
    # Documented convention: binding-energy axis, tail on the x > center side.
    c, w = 0.3, 0.7
    d = w * np.array([1.0, 2.0, 5.0, 20.0, 100.0])
    assert np.all(doniach_sunjic(c + d, 1.0, c, w, alpha) > doniach_sunjic(c - d, 1.0, c, w, alpha))
    grid = c + np.linspace(-2, 2, 40001)
    assert grid[np.argmax(doniach_sunjic(grid, 1.0, c, w, alpha))] > c
    # Value at the centre: cos(πα/2) (the arctan term vanishes there).
    assert float(doniach_sunjic(c, 1.0, c, w, alpha)) == pytest.approx(
        math.cos(math.pi * alpha / 2)
    )
    # Far tail ∝ |x − E|^(α−1) on the high side: the local log-slope tends to α − 1.
    far = c + w * np.array([1e4, 2e4])
    slope = np.diff(np.log(doniach_sunjic(far, 1.0, c, w, alpha))) / np.diff(np.log(far - c))
    assert slope[0] == pytest.approx(alpha - 1, abs=1e-3)


def test_la_symmetric_tiny_m_is_lorentzian():
    np.testing.assert_allclose(
        la(X, 2.0, 0.3, 0.7, 1.0, 1.0, 1e-6), 2.0 * unit_lorentz(X, 0.3, 0.7), rtol=1e-10
    )
    np.testing.assert_allclose(
        la(X, 2.0, 0.3, 0.7, 1.0, 1.0, 0.0), 2.0 * unit_lorentz(X, 0.3, 0.7), rtol=1e-13
    )


@pytest.mark.parametrize("m", [0.1, 0.7, 3.0])
def test_la_alpha_beta_one_is_a_voigt_scaled_to_height(m):
    # Lorentzian ⊗ Gaussian is the Voigt profile; scipy's voigt_profile is the reference.
    c, w = 0.3, 0.7
    sigma = m / (2 * math.sqrt(2 * LN2))
    ref = special.voigt_profile(X - c, sigma, w / 2) / special.voigt_profile(0.0, sigma, w / 2)
    np.testing.assert_allclose(la(X, 2.0, c, w, 1.0, 1.0, m), 2.0 * ref, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize(("alpha", "beta", "m"), [(1.1, 2.4, 0.5), (0.7, 3.0, 2.0)])
def test_la_asymmetric_matches_brute_force_convolution(alpha, beta, m):
    # Reference: adaptive quadrature of LA₀(s) G(x − s), split at the kink s = center.
    c, w = 0.3, 0.7
    sigma = m / (2 * math.sqrt(2 * LN2))

    def unbroadened(s):
        u = (s - c) / w
        return (1 + 4 * u * u) ** -(alpha if u > 0 else beta)

    def conv(x):
        def integrand(s):
            return unbroadened(s) * math.exp(-((x - s) ** 2) / (2 * sigma**2))

        lo, hi = x - 12 * sigma, x + 12 * sigma
        pts = [c] if lo < c < hi else None
        return integrate.quad(integrand, lo, hi, points=pts, limit=200, epsrel=1e-12)[0]

    xs = c + w * np.array([-4.0, -1.0, -0.3, 0.1, 0.6, 2.0, 6.0])
    ref = np.array([conv(x) for x in xs]) / conv(c)
    np.testing.assert_allclose(la(xs, 1.0, c, w, alpha, beta, m), ref, atol=2e-6)


def test_la_tail_side_follows_alpha():
    # alpha < beta: longer tail on the high-binding-energy (x > center) side.
    c, w = 0.3, 0.7
    d = w * np.array([1.0, 3.0, 10.0])
    for m in (0.0, 0.5):
        assert np.all(la(c + d, 1.0, c, w, 1.0, 2.5, m) > la(c - d, 1.0, c, w, 1.0, 2.5, m))
        assert np.all(la(c + d, 1.0, c, w, 2.5, 1.0, m) < la(c - d, 1.0, c, w, 2.5, 1.0, m))


def test_la_broadening_widens_the_peak_and_keeps_height_at_center():
    shape = get_lineshape("la")
    narrow = shape.numeric_fwhm(fwhm=0.7, alpha=1.2, beta=1.2, m=0.0)
    broad = shape.numeric_fwhm(fwhm=0.7, alpha=1.2, beta=1.2, m=0.6)
    assert broad > narrow
    assert float(la(0.0, 2.0, 0.0, 0.7, 1.2, 1.2, 0.6)) == pytest.approx(2.0, rel=1e-14)


# --------------------------------------------------------------------------------------------
# areas that diverge, FWHM that does not exist


@pytest.mark.parametrize(
    ("name", "p"),
    [
        ("doniach_sunjic", {"alpha": 0.1}),
        ("fano", {"q": -5.0}),
        ("la", {"alpha": 0.5, "beta": 2.0, "m": 0.0}),
    ],
)
def test_infinite_area_raises_unless_window_given(name, p):
    shape = get_lineshape(name)
    with pytest.raises(InputError, match="infinite"):
        shape.numeric_area(**p)
    window = (-10.0, 10.0)
    expected = integrate.quad(
        lambda t: float(shape(t, **p)), *window, points=[0.0], limit=500, epsrel=1e-11
    )[0]
    assert shape.numeric_area(window=window, **p) == pytest.approx(expected, rel=1e-9)


def test_finite_area_of_height_shapes():
    # Lorentzian of height H and FWHM F has area πHF/2; the DS at alpha = 0 and the Fano
    # profile at q = inf are such Lorentzians.
    assert get_lineshape("doniach_sunjic").numeric_area(height=2.0, fwhm=0.7, alpha=0.0) == (
        pytest.approx(math.pi * 2.0 * 0.7 / 2, rel=1e-8)
    )
    assert get_lineshape("fano").numeric_area(height=2.0, fwhm=0.7, q=math.inf) == pytest.approx(
        math.pi * 2.0 * 0.7 / 2, rel=1e-8
    )
    # Gaussian of height H: area H·F·√(π/(4 ln 2)).
    assert get_lineshape("gl").numeric_area(height=2.0, fwhm=0.7, m=0.0) == pytest.approx(
        2.0 * 0.7 * math.sqrt(math.pi / (4 * LN2)), rel=1e-8
    )


def test_fano_with_small_q_has_no_fwhm():
    # |q| < 1: the background height/q² exceeds half the maximum height(1 + 1/q²)/2.
    with pytest.raises(InputError, match="never falls to half"):
        get_lineshape("fano").numeric_fwhm(q=0.5)


# --------------------------------------------------------------------------------------------
# validation


INVALID = [
    ("gaussian", "fwhm", 0.0),
    ("gaussian", "fwhm", -1.0),
    ("gaussian", "center", math.nan),
    ("lorentzian", "fwhm", -0.5),
    ("lorentzian", "area", math.inf),
    ("pseudo_voigt", "eta", 1.5),
    ("pseudo_voigt", "eta", -0.1),
    ("split_pseudo_voigt", "fwhm_left", 0.0),
    ("split_pseudo_voigt", "fwhm_right", -2.0),
    ("split_pseudo_voigt", "eta", 2.0),
    ("voigt", "fwhm_g", -0.1),
    ("voigt", "fwhm_l", math.nan),
    ("fano", "q", 0.0),
    ("fano", "fwhm", 0.0),
    ("gl", "m", 1.01),
    ("gl", "m", -0.01),
    ("sgl", "m", 7.0),
    ("doniach_sunjic", "alpha", 1.0),
    ("doniach_sunjic", "alpha", -0.2),
    ("la", "alpha", 0.0),
    ("la", "beta", -1.0),
    ("la", "m", -0.1),
    ("la", "fwhm", 0.0),
]


@pytest.mark.parametrize(("name", "param", "bad"), INVALID)
def test_invalid_parameter_raises_input_error_naming_it(name, param, bad):
    shape = get_lineshape(name)
    p = params_of(name)
    p[param] = bad
    with pytest.raises(InputError, match=rf"{shape.func.__name__}: {param} must be") as info:
        shape.func(X, **p)
    assert repr(float(bad)) in str(info.value)


def test_invalid_element_of_an_array_is_located():
    with pytest.raises(InputError, match=r"eta must be in \[0, 1\], got 1.2 \(at index \(1,\)\)"):
        pseudo_voigt(X, 1.0, 0.0, 1.0, np.array([0.5, 1.2]))


def test_voigt_needs_one_nonzero_width():
    with pytest.raises(InputError, match="fwhm_g \\+ fwhm_l"):
        voigt(X, 1.0, 0.0, 0.0, 0.0)


def test_non_numeric_arguments():
    with pytest.raises(InputError, match="fwhm must be a number"):
        gaussian(X, 1.0, 0.0, "wide")
    with pytest.raises(InputError, match="x must be"):
        gaussian(["a", "b"], 1.0, 0.0, 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_negative_width_raises_for_every_shape(name):
    shape = get_lineshape(name)
    for width in shape.width_params:
        p = params_of(name)
        p[width] = -1.0
        with pytest.raises(InputError, match=width):
            shape(X, **p)


def test_numeric_methods_need_scalars():
    with pytest.raises(InputError, match="scalar"):
        get_lineshape("gaussian").numeric_fwhm(fwhm=np.array([1.0, 2.0]))


# --------------------------------------------------------------------------------------------
# properties every registered shape must have


@pytest.mark.parametrize("name", NAMES)
def test_pure_deterministic_and_finite(name):
    shape = get_lineshape(name)
    p = params_of(name)
    scale = width_of(name, p)
    x = p["center"] + scale * np.concatenate([np.linspace(-50, 50, 1001), [0.0, 1e6, -1e6]])
    x_copy = x.copy()
    x.flags.writeable = False  # an in-place write would raise
    first = shape(x, **p)
    second = shape(x, **p)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float64
    assert first.shape == x.shape
    assert np.all(np.isfinite(first))


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_follows_x(name):
    shape = get_lineshape(name)
    p = params_of(name)
    x2 = p["center"] + np.linspace(-2, 2, 12).reshape(3, 4)
    assert shape(x2, **p).shape == (3, 4)
    y0 = shape(p["center"], **p)
    assert isinstance(y0, np.ndarray)
    assert y0.shape == ()
    # Integer input is accepted and treated as float.
    assert shape(np.arange(5), **p).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_values_do_not_depend_on_the_sampling(name):
    # Each value depends only on its own x: evaluating a non-uniform sample at once, in another
    # order or one point at a time gives the same numbers.
    shape = get_lineshape(name)
    p = params_of(name)
    rng = np.random.default_rng(7)
    x = p["center"] + width_of(name, p) * rng.uniform(-8, 8, 60)
    together = shape(x, **p)
    one_by_one = np.array([float(shape(xi, **p)) for xi in x])
    order = np.argsort(x)
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12, atol=0)
    np.testing.assert_allclose(shape(x[order], **p), together[order], rtol=1e-12, atol=0)


def _spread(spec: ParamSpec, value: float, k: int) -> np.ndarray:
    """k values near ``value`` inside the parameter's bounds."""
    factors = 1.0 + 0.04 * np.arange(k)
    vals = value * factors if value != 0 else 0.05 * np.arange(k)
    lo, hi = spec.min, spec.max
    vals = np.where(vals > hi, value - (vals - value), vals)
    return np.clip(vals, lo, hi)


@pytest.mark.parametrize("name", NAMES)
def test_broadcasting_over_column_parameters(name):
    shape = get_lineshape(name)
    p = params_of(name)
    k = 3
    columns = {n: _spread(shape.spec(n), v, k)[:, None] for n, v in p.items()}
    columns_copy = {n: v.copy() for n, v in columns.items()}
    x = p["center"] + width_of(name, p) * np.linspace(-5, 5, 41)
    y = shape(x, **columns)
    assert y.shape == (k, x.size)
    for i in range(k):
        row = {n: float(v[i, 0]) for n, v in columns.items()}
        np.testing.assert_allclose(y[i], shape(x, **row), rtol=1e-12, atol=0)
    for n in columns:
        np.testing.assert_array_equal(columns[n], columns_copy[n])


# --------------------------------------------------------------------------------------------
# lmfit


def _perturbed(shape: Lineshape, truth: dict[str, float], scale: float) -> dict[str, float]:
    start = {}
    for n, v in truth.items():
        spec = shape.spec(n)
        guess = v + 0.05 * scale if n == "center" else v * 1.06 if v != 0 else 0.05
        if not spec.min < guess < spec.max:
            guess = v * 0.94
        start[n] = guess
    return start


@pytest.mark.parametrize("name", NAMES)
def test_model_fit_recovers_parameters(name):
    shape = get_lineshape(name)
    truth = params_of(name)
    scale = width_of(name, truth)
    x = truth["center"] + scale * np.linspace(-8, 8, 321)
    y = shape(x, **truth)

    model = shape.model(prefix="pk_")
    params = model.make_params()
    for n, v in _perturbed(shape, truth, scale).items():
        params[f"pk_{n}"].set(value=v)
    result = model.fit(y, params, x=x, fit_kws={"xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15})

    for n, v in truth.items():
        got = result.params[f"pk_{n}"].value
        assert got == pytest.approx(v, rel=1e-6, abs=1e-6 * scale if n == "center" else 1e-12), n


@pytest.mark.parametrize("name", NAMES)
def test_model_hints_come_from_specs(name):
    shape = get_lineshape(name)
    params = make_model(name, prefix="a_").make_params()
    assert set(params) == {f"a_{n}" for n in shape.param_names}
    for spec in shape.params:
        par = params[f"a_{spec.name}"]
        assert (par.value, par.min, par.max) == (spec.default, spec.min, spec.max)


def test_prefixed_models_compose_and_fit():
    model = make_model("gaussian", prefix="g_") + make_model("lorentzian", prefix="l_")
    truth = {"g_area": 2.0, "g_center": -1.0, "g_fwhm": 0.8, "l_area": 1.0, "l_center": 1.5,
             "l_fwhm": 0.5}  # fmt: skip
    x = np.linspace(-6.0, 6.0, 401)
    y = gaussian(x, 2.0, -1.0, 0.8) + lorentzian(x, 1.0, 1.5, 0.5)

    params = model.make_params()
    for n, v in truth.items():
        params[n].set(value=v)
    np.testing.assert_allclose(model.eval(params, x=x), y, rtol=1e-12)

    for n, v in truth.items():
        params[n].set(value=v * 1.05)
    result = model.fit(y, params, x=x, fit_kws={"xtol": 1e-15, "ftol": 1e-15})
    for n, v in truth.items():
        assert result.params[n].value == pytest.approx(v, rel=1e-6), n
