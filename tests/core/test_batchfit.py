"""The vectorized batch engine: the same parameters and errors as lmfit, spectrum by spectrum.

Reference values: every comparison is against lmfit's ``Model.fit`` (``leastsq``) on the same
model, data and starting values; generated data carry their exact parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from charact.core.batchfit import (
    BatchModel,
    BatchParam,
    Component,
    fit_dataarray,
    fit_stack,
    guess_stack,
    propagate,
)
from charact.core.errors import FitError, InputError
from charact.core.lineshapes import gaussian, lorentzian, pseudo_voigt

X = np.arange(300.0, 1800.0, 1.0)


def _model(**extra: BatchParam) -> BatchModel:
    params = {
        "a_center": BatchParam("a_center", 520.0, 505.0, 535.0),
        "a_fwhm": BatchParam("a_fwhm", 5.0, 1.0, 20.0),
        "b_center": BatchParam("b_center", 475.0, 440.0, 500.0),
        "b_fwhm": BatchParam("b_fwhm", 70.0, 30.0, 120.0),
        "d_center": BatchParam("d_center", 1350.0, 1300.0, 1400.0),
        "d_fwhm": BatchParam("d_fwhm", 100.0, 30.0, 300.0),
        "g_center": BatchParam("g_center", 1590.0, 1550.0, 1620.0),
        "g_fwhm": BatchParam("g_fwhm", 60.0, 20.0, 150.0),
    }
    params.update(extra)
    comps = (
        Component("lorentzian", "a_"),
        Component("gaussian", "b_"),
        Component("lorentzian", "d_"),
        Component("lorentzian", "g_"),
    )
    return BatchModel(comps, 1, params)


def _stack(n: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    truth = {
        "a_area": rng.uniform(4000, 12000, n),
        "a_center": 520.5 + rng.normal(0, 0.5, n),
        "d_center": 1350 + rng.normal(0, 3, n),
        "d_area": rng.uniform(20000, 40000, n),
    }
    y = (
        50
        + 0.01 * (X - 300)
        + lorentzian(X, truth["a_area"][:, None], truth["a_center"][:, None], 5.0)
        + gaussian(X, 11000.0, 475.0, 70.0)
        + lorentzian(X, truth["d_area"][:, None], truth["d_center"][:, None], 110.0)
        + lorentzian(X, 10000.0, 1592.0, 65.0)
        + rng.normal(0, 5, (n, X.size))
    )
    return y, truth


def _lmfit_each(model: BatchModel, y: np.ndarray, start: np.ndarray) -> list:
    lm, pars = model.to_lmfit()
    out = []
    for i in range(y.shape[0]):
        for k, name in enumerate(model.names):
            if pars[name].vary and not pars[name].expr:
                pars[name].set(value=start[i, k])
        out.append(lm.fit(y[i], pars, x=X))
    return out


def test_batch_matches_lmfit_parameters_and_stderr():
    model = _model()
    y, truth = _stack(6)
    start = guess_stack(X, y, model)
    batch = fit_stack(X, y, model, p0=start)
    ref = _lmfit_each(model, y, start)
    assert batch.success.all()
    for i, r in enumerate(ref):
        assert r.success
        for k, name in enumerate(model.names):
            p = r.params[name]
            tol = max(0.01 * abs(p.value), 0.1 * p.stderr)
            assert abs(batch.values[i, k] - p.value) <= tol, name
            np.testing.assert_allclose(batch.stderr[i, k], p.stderr, rtol=0.02, err_msg=name)
        np.testing.assert_allclose(batch.chisqr[i], r.chisqr, rtol=1e-6)
        np.testing.assert_allclose(batch.aic[i], r.aic, rtol=1e-6)
        np.testing.assert_allclose(batch.bic[i], r.bic, rtol=1e-6)
        np.testing.assert_allclose(batch.redchi[i], r.redchi, rtol=1e-6)
    # and the truth is recovered (generated with exact parameters)
    c, se = batch.param("a_center")
    assert np.all(np.abs(c - truth["a_center"]) < 5 * se + 1e-3)


def test_automatic_starting_values_converge_without_hand_tuning():
    model = _model()
    y, truth = _stack(20, seed=3)
    res = fit_stack(X, y, model)  # p0="auto"
    assert res.success.all()
    np.testing.assert_allclose(res.param("a_center")[0], truth["a_center"], atol=0.1)
    np.testing.assert_allclose(res.param("d_center")[0], truth["d_center"], atol=2.0)


def test_tied_and_fixed_parameters_like_lmfit():
    # G width tied to half the D width, a-band width fixed: lmfit evaluates expr the same way.
    model = _model(
        g_fwhm=BatchParam("g_fwhm", 60.0, expr="d_fwhm * 0.6"),
        b_fwhm=BatchParam("b_fwhm", 70.0, 30.0, 120.0, vary=False),
    )
    assert "g_fwhm" not in model.varying and "b_fwhm" not in model.varying
    y, _ = _stack(3, seed=5)
    start = guess_stack(X, y, model)
    batch = fit_stack(X, y, model, p0=start)
    ref = _lmfit_each(model, y, start)
    gi, di = model.names.index("g_fwhm"), model.names.index("d_fwhm")
    np.testing.assert_allclose(batch.values[:, gi], 0.6 * batch.values[:, di], rtol=1e-12)
    assert np.all(batch.values[:, model.names.index("b_fwhm")] == 70.0)
    for i, r in enumerate(ref):
        for name in ("d_fwhm", "g_fwhm", "d_area", "g_center"):
            k = model.names.index(name)
            p = r.params[name]
            assert abs(batch.values[i, k] - p.value) <= max(0.01 * abs(p.value), 0.1 * p.stderr)
        # the tied parameter's stderr is propagated through its expression, as lmfit does
        np.testing.assert_allclose(batch.stderr[i, gi], r.params["g_fwhm"].stderr, rtol=0.02)


def test_numeric_jacobian_path_for_other_lineshapes():
    # pseudo-Voigt has no analytic Jacobian in the engine: forward differences are used.
    x = np.linspace(400, 650, 400)
    rng = np.random.default_rng(1)
    y = pseudo_voigt(x, 3000.0, 520.3, 6.0, 0.7) + 20 + rng.normal(0, 3, (4, x.size))
    model = BatchModel(
        (Component("pseudo_voigt", "p_"),),
        0,
        {
            "p_center": BatchParam("p_center", 520, 500, 540),
            "p_fwhm": BatchParam("p_fwhm", 5, 1, 30),
        },
    )
    start = guess_stack(x, y, model)
    res = fit_stack(x, y, model, p0=start)
    lm, pars = model.to_lmfit()
    for i in range(4):
        for k, name in enumerate(model.names):
            pars[name].set(value=start[i, k])
        r = lm.fit(y[i], pars, x=x)
        for k, name in enumerate(model.names):
            p = r.params[name]
            assert abs(res.values[i, k] - p.value) <= max(0.01 * abs(p.value), 0.1 * p.stderr)
            np.testing.assert_allclose(res.stderr[i, k], p.stderr, rtol=0.05)


def test_bounds_are_respected_and_flagged():
    # No peak near 1590 in the data: the G centre runs to a bound, which is flagged.
    y = 50 + lorentzian(X, 10000.0, 520.0, 5.0) + np.random.default_rng(2).normal(0, 5, X.size)
    model = _model()
    res = fit_stack(X, y, model)
    lo = np.array([model.params[n].min for n in model.names])
    hi = np.array([model.params[n].max for n in model.names])
    assert np.all(res.values[0] >= lo - 1e-9) and np.all(res.values[0] <= hi + 1e-9)
    assert res.at_bounds[0].any()


def test_bad_rows_are_flagged_not_raised():
    y, _ = _stack(4)
    y[1, 10] = np.nan
    y[2, :] = np.inf
    res = fit_stack(X, y, _model())
    assert list(res.success) == [True, False, False, True]
    assert "non-finite" in res.message[1]
    assert np.all(np.isnan(res.values[1]))


def test_model_round_trip_through_lmfit_and_errors():
    model = _model()
    lm, pars = model.to_lmfit()
    again = BatchModel.from_lmfit(lm, pars)
    assert again.names == model.names
    assert again.background_degree == 1
    assert again.to_dict() == model.to_dict()
    with pytest.raises(InputError, match="not a parameter"):
        _model(g_fwhm=BatchParam("g_fwhm", 1.0, expr="nonsense * 2"))
    with pytest.raises(InputError, match="only"):
        _model(g_fwhm=BatchParam("g_fwhm", 1.0, expr="__import__('os')"))
    with pytest.raises(InputError, match="no parameter"):
        BatchModel((Component("gaussian", "a_"),), None, {"zz": BatchParam("zz", 1.0)})
    with pytest.raises(FitError):
        fit_stack(X[:5], np.ones((1, 5)), model)


def test_fit_dataarray_with_dask_chunks_equals_numpy():
    model = _model()
    y, _ = _stack(12)
    da = xr.DataArray(
        y.reshape(3, 4, X.size),
        dims=("y", "x", "raman_shift"),
        coords={"y": [0.0, 1.0, 2.0], "x": [0.0, 1.0, 2.0, 3.0], "raman_shift": X},
    )
    area = lambda v: v[:, model.names.index("a_area")]  # noqa: E731
    plain = fit_dataarray(da, model, dim="raman_shift", derived={"a_area": area})
    lazy = fit_dataarray(da.chunk({"y": 1}), model, dim="raman_shift", derived={"a_area": area})
    assert lazy["value"].chunks is not None
    lazy = lazy.compute()
    xr.testing.assert_allclose(plain["value"], lazy["value"])
    assert plain["value"].dims == ("y", "x", "parameter")
    assert bool(plain["success"].all())
    np.testing.assert_allclose(
        plain["derived_value"].sel(derived="a_area"), plain["value"].sel(parameter="a_area")
    )
    np.testing.assert_allclose(
        plain["derived_stderr"].sel(derived="a_area"),
        plain["stderr"].sel(parameter="a_area"),
        rtol=1e-4,
    )


def test_propagate_matches_analytic_error():
    # height of a Lorentzian = 2A/(πF): relative variance = (σA/A)² + (σF/F)² − 2 cov/(A F)
    model = BatchModel((Component("lorentzian", "p_"),), None)
    values = np.array([[1000.0, 520.0, 5.0]])
    cov = np.array([[[100.0, 0.0, 0.5], [0.0, 0.01, 0.0], [0.5, 0.0, 0.04]]])
    h, se = propagate(lambda v: 2 * v[:, 0] / (math.pi * v[:, 2]), values, cov, model)
    rel2 = 100 / 1000**2 + 0.04 / 25 - 2 * 0.5 / (1000 * 5)
    np.testing.assert_allclose(h, 2000 / (math.pi * 5))
    np.testing.assert_allclose(se, h * math.sqrt(rel2), rtol=1e-6)


def test_weights_like_lmfit():
    model = _model()
    y, _ = _stack(2, seed=7)
    w = 1.0 / np.sqrt(np.clip(y, 1.0, None))  # Poisson-like weights, lmfit's `weights=`
    start = guess_stack(X, y, model)
    res = fit_stack(X, y, model, p0=start, weights=w)
    lm, pars = model.to_lmfit()
    for i in range(2):
        for k, name in enumerate(model.names):
            pars[name].set(value=start[i, k])
        r = lm.fit(y[i], pars, x=X, weights=w[i])
        np.testing.assert_allclose(res.chisqr[i], r.chisqr, rtol=1e-6)
        for k, name in enumerate(model.names):
            p = r.params[name]
            assert abs(res.values[i, k] - p.value) <= max(0.01 * abs(p.value), 0.1 * p.stderr)
            np.testing.assert_allclose(res.stderr[i, k], p.stderr, rtol=0.02)
