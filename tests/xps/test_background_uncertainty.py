"""The noise of a static background (computed from the counts) is propagated into the areas.

A linear, Shirley or Tougaard background is a function B(y) of the measured counts; the fit's
covariance then has the extra term of D = ∂B/∂y (charact.xps.fit._background_covariance).
"""

from __future__ import annotations

import numpy as np
import pytest

from charact.core.data import make_spectrum
from charact.core.lineshapes import get_lineshape, gl
from charact.core.registry import BASELINES
from charact.xps import fit as xfit
from charact.xps.backgrounds import (
    background_and_jacobian,
    background_jacobian,
    linear_jacobian,
    shirley,
    shirley_jacobian,
)
from charact.xps.fit import fit_region

X = np.arange(280.0, 296.0, 0.1)
WEAK_TRUTH = 40.0 * get_lineshape("gl").numeric_area(height=1.0, center=0.0, fwhm=1.2, m=0.3)
COMPONENTS = ["C-C@284.8", "O-C=O@288.9"]


def _peaks() -> np.ndarray:
    # a main line and a weak O-C=O shoulder at 10 % of its height
    return gl(X, 400.0, 284.8, 1.1, 0.3) + gl(X, 40.0, 288.9, 1.2, 0.3)


def _expected(step: float, level: float = 40.0) -> np.ndarray:
    """Expected counts: flat level plus, with ``step``, a Shirley-like rise (∫peaks)."""
    pk = _peaks()
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (pk[1:] + pk[:-1]) * np.diff(X))])
    return level + pk + step * cum


def _spectrum(y: np.ndarray):
    return make_spectrum(X, y, axis="binding_energy", technique="xps")


def _finite_differences(f, y: np.ndarray, h: float = 1e-3) -> np.ndarray:
    out = np.zeros((y.size, y.size))
    for j in range(y.size):
        up, down = y.copy(), y.copy()
        up[j] += h
        down[j] -= h
        out[:, j] = (f(up) - f(down)) / (2 * h)
    return out


# --------------------------------------------------------------------------- D = dB/dy


def test_linear_background_jacobian_matches_finite_differences():
    y = np.random.default_rng(3).poisson(_expected(0.02)).astype(float)
    d = linear_jacobian(X, y, end_points=5)
    ref = _finite_differences(lambda v: BASELINES.get("linear").func(X, v, end_points=5), y)
    np.testing.assert_allclose(d, ref, atol=1e-9)
    # only the end points enter, and each row sums to 1 (a constant shift of y moves B by it)
    assert np.all(d[:, 5:-5] == 0)
    np.testing.assert_allclose(d.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("shirley", {"tol": 1e-13, "max_iter": 5000}),
        ("tougaard", {}),
        ("tougaard", {"B": 2000.0}),
        ("tougaard", {"C": 551.0, "D": 436.0}),
    ],
)
def test_shirley_and_tougaard_jacobians_match_finite_differences(method, params):
    # large counts: y - B stays clear of zero except in the flat wings, so Shirley's clipping
    # does not put a kink within the finite-difference step
    y = 10.0 * _expected(0.02) + np.random.default_rng(5).normal(0.0, 3.0, X.size)
    d = background_jacobian(method, X, y, end_points=5, **params)
    func = BASELINES.get(method).func
    ref = _finite_differences(lambda v: func(X, v, end_points=5, **params), y)
    np.testing.assert_allclose(d, ref, atol=1e-7 * np.abs(ref).max())
    assert np.abs(d[:, 5:-5]).max() > 1e-4  # Shirley/Tougaard depend on the peak region too


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("linear", {}),
        ("shirley", {}),
        ("tougaard", {}),
        ("tougaard", {"B": 2000.0}),
        ("tougaard", {"C": 551.0, "D": 436.0}),
    ],
)
def test_background_and_jacobian_together_are_the_separate_numbers(method, params):
    # one pass (the Shirley iteration, the Tougaard kernel computed once) gives bit for bit
    # what the background function and background_jacobian give separately
    y = np.random.default_rng(7).poisson(_expected(0.02)).astype(float)
    b, d = background_and_jacobian(method, X, y, end_points=5, **params)
    func = BASELINES.get(method).func
    np.testing.assert_array_equal(b, func(X, y, end_points=5, **params))
    np.testing.assert_array_equal(d, background_jacobian(method, X, y, end_points=5, **params))


def test_shirley_jacobian_reuses_a_computed_background():
    y = np.random.default_rng(8).poisson(_expected(0.02)).astype(float)
    bg = shirley(X, y)
    np.testing.assert_array_equal(shirley_jacobian(X, y, background=bg), shirley_jacobian(X, y))
    # the straight-line fallback (no signal above the background) is recognised too
    flat = np.linspace(100.0, 50.0, X.size)
    flat[:5] = 100.0
    bg = shirley(X, flat)
    np.testing.assert_array_equal(
        shirley_jacobian(X, flat, background=bg), shirley_jacobian(X, flat)
    )
    assert shirley_jacobian.__doc__ is not None and "\\frac{" in shirley_jacobian.__doc__


def test_no_background_has_zero_jacobian():
    assert not background_jacobian("none", X, _expected(0.0)).any()


# --------------------------------------------------------------------------- the fit


def _pulls(background: str, step: float, seeds: int = 24):
    pulls = []
    for seed in range(seeds):
        y = np.random.default_rng(seed).poisson(_expected(step)).astype(float)
        res = fit_region(_spectrum(y), components=COMPONENTS, background=background, reference=None)
        c = res.levels[0].components[1]
        pulls.append((c.area - WEAK_TRUTH) / c.area_stderr)
        assert res.levels[0].background["uncertainty"] == "propagated"
        assert res.result.model["background_uncertainty"] == "propagated"
    return np.array(pulls)


@pytest.mark.parametrize(("background", "step"), [("linear", 0.0), ("shirley", 0.02)])
def test_weak_component_pulls_are_honest_with_static_backgrounds(background, step):
    # A 40-count shoulder on a 40-count background. With the background taken as exact the
    # pull s.d. was 1.88 (linear) and 2.43 (Shirley) over 48 seeds; with D propagated
    # 1.09 / 1.08 (48 seeds) and 1.17 / 1.04 (these 24).
    pulls = _pulls(background, step)
    assert 0.7 < float(np.std(pulls)) < 1.4
    assert abs(float(np.mean(pulls))) < 0.6


def test_inflation_does_not_depend_on_the_count_level():
    # Noise-free spectra: the background's share of the error is NOT negligible at large
    # counts, not even for the strong line. D is homogeneous of degree 0 in y and σ² ∝ y,
    # so the ratio of the propagated to the background-exact error depends only on the
    # shape (peak-to-background ratio, end points), not on the number of counts.
    orig = xfit._background_covariance

    def ratios(scale: float, background: str) -> np.ndarray:
        y = scale * _expected(0.02 if background == "shirley" else 0.0)
        errs = []
        for exact in (False, True):
            xfit._background_covariance = (lambda r, *_: (r.covar, "exact")) if exact else orig
            try:
                res = fit_region(
                    _spectrum(y), components=COMPONENTS, background=background, reference=None
                )
            finally:
                xfit._background_covariance = orig
            errs.append([c.area_stderr for c in res.levels[0].components])
        return np.array(errs[0]) / np.array(errs[1])

    for background in ("linear", "shirley"):
        low, high = ratios(1.0, background), ratios(1e4, background)
        np.testing.assert_allclose(low, high, rtol=1e-5)
        # strong line (10x the background): ~1.25-1.3x; weak shoulder: ~1.7-2.1x
        assert 1.1 < high[0] < 1.5
        assert high[1] > high[0] + 0.2


def test_monte_carlo_draws_from_the_propagated_covariance(monkeypatch):
    y = np.random.default_rng(11).poisson(100.0 * _expected(0.0)).astype(float)
    kw = {"components": COMPONENTS, "background": "linear", "reference": None}
    first = fit_region(_spectrum(y), **kw).levels[0]
    mc = fit_region(_spectrum(y), monte_carlo=600, seed=2, **kw).levels[0]
    monkeypatch.setattr(xfit, "_background_covariance", lambda r, *_: (r.covar, "exact"))
    exact = fit_region(_spectrum(y), monte_carlo=600, seed=2, **kw).levels[0]
    # the strong line's error is ~1.3x larger with the background's noise; the draws agree
    # with first-order propagation of *that* covariance, not of the background-exact one
    assert mc.components[0].area_stderr == pytest.approx(first.components[0].area_stderr, rel=0.1)
    assert mc.components[0].area_stderr > 1.15 * exact.components[0].area_stderr
    # the area covariance handed to quantification is the same one
    np.testing.assert_allclose(
        np.sqrt(np.diag(first.area_cov)), [c.area_stderr for c in first.components], rtol=1e-9
    )


def test_parameter_errors_follow_the_propagated_covariance_through_ties():
    y = np.random.default_rng(2).poisson(_expected(0.02)).astype(float)
    res = fit_region(
        _spectrum(y),
        components=COMPONENTS,
        background="shirley",
        reference=None,
        constraints={"O-C=O.fwhm": "C-C.fwhm"},
    )
    p = res.result.parameters
    assert p["c1_fwhm"].stderr == pytest.approx(p["c0_fwhm"].stderr, rel=1e-6)
    assert res.levels[0].components[0].fwhm_stderr == pytest.approx(p["c0_fwhm"].stderr, rel=1e-4)


@pytest.mark.parametrize(
    ("background", "words"),
    [("active-shirley", "fitted"), ("none", "none (no background)"), ("given", "none (a given")],
)
def test_backgrounds_without_a_data_derivative_say_so(background, words):
    y = np.random.default_rng(0).poisson(_expected(0.0)).astype(float)
    bg = np.full_like(y, 40.0) if background == "given" else background
    res = fit_region(_spectrum(y), components=COMPONENTS, background=bg, reference=None)
    assert res.levels[0].background["uncertainty"].startswith(words)
    assert res.result.model["background_uncertainty"].startswith(words)
