"""fit_joint: coupled spectra (blocks of residuals) with shared and per-block parameters."""

from __future__ import annotations

import lmfit
import numpy as np
import pytest

from charact.core.batchfit import fit_joint, grouped_jacobian
from charact.core.errors import FitError, InputError

X = np.linspace(-5.0, 5.0, 81)
TRUTH = {"center": 0.3, "width": 1.2, "amp0": 50.0, "amp1": 20.0, "off0": 5.0, "off1": 8.0}
BLOCK = r"^(?:amp|off)(?P<block>\d+)$"


def _model(v, b: int) -> np.ndarray:
    """Block ``b``: a Gaussian of shared center and width, own amplitude and offset."""
    return v[f"amp{b}"] * np.exp(-0.5 * ((X - v["center"]) / v["width"]) ** 2) + v[f"off{b}"]


def _data(noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([_model(TRUTH, b) + rng.normal(0.0, noise, X.size) for b in (0, 1)])


def _residual(data: np.ndarray, calls: list | None = None):
    def residual(v):
        if calls is not None:
            calls.append(1)
        return np.concatenate([_model(v, b) - data[b] for b in (0, 1)])

    return residual


def _params(**start: float) -> lmfit.Parameters:
    p = lmfit.Parameters()
    init = {"center": 0.0, "width": 1.0, "amp0": 40.0, "amp1": 30.0, "off0": 4.0, "off1": 6.0}
    init.update(start)
    p.add("center", value=init["center"], min=-2.0, max=2.0)
    p.add("width", value=init["width"], min=0.1, max=5.0)
    for b in (0, 1):
        p.add(f"amp{b}", value=init[f"amp{b}"], min=0.0)
        p.add(f"off{b}", value=init[f"off{b}"])
    return p


def _analytic_jacobian(v, names) -> np.ndarray:
    out = np.zeros((2 * X.size, len(names)))
    for b in (0, 1):
        rows = slice(b * X.size, (b + 1) * X.size)
        g = np.exp(-0.5 * ((X - v["center"]) / v["width"]) ** 2)
        d = {
            "center": v[f"amp{b}"] * g * (X - v["center"]) / v["width"] ** 2,
            "width": v[f"amp{b}"] * g * (X - v["center"]) ** 2 / v["width"] ** 3,
            f"amp{b}": g,
            f"off{b}": np.ones_like(X),
        }
        for j, n in enumerate(names):
            if n in d:
                out[rows, j] = d[n]
    return out


def test_grouped_jacobian_is_column_by_column_finite_differences_in_fewer_calls():
    data = _data()
    # (away from 0: the step is sqrt(eps)·max(|p|, 1e-3), too small for a parameter at 0)
    values = dict(_params(center=0.5).valuesdict())
    names = ["center", "amp0", "off0", "width", "amp1", "off1"]
    calls: list = []
    jac = grouped_jacobian(
        _residual(data, calls), values, names, n_blocks=2, block_size=X.size, block_param=BLOCK
    )
    # base + 2 per-block groups (amp, off) + 2 shared = 5 evaluations, not 1 + 6
    assert len(calls) == 5
    # one parameter at a time, the same step: the very same numbers
    r0 = _residual(data)(values)
    for j, n in enumerate(names):
        h = np.sqrt(np.finfo(float).eps) * max(abs(values[n]), 1e-3)
        col = (_residual(data)({**values, n: values[n] + h}) - r0) / h
        np.testing.assert_array_equal(jac[:, j], col)
    # and the derivative itself (forward differences: ~1e-7 relative)
    exact = _analytic_jacobian(values, names)
    np.testing.assert_allclose(jac, exact, atol=1e-6 * np.abs(exact).max())
    # a parameter of block 0 leaves block 1 untouched
    assert not jac[X.size :, names.index("amp0")].any()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # noise-free: stderr 0
def test_grouped_jacobian_matches_lmfits_own_and_the_fit_recovers_the_truth():
    data = _data()
    res = fit_joint(_residual(data), _params(), n_blocks=2, block_size=X.size, block_param=BLOCK)
    own = lmfit.minimize(lambda p: _residual(data)(p.valuesdict()), _params(), "least_squares")
    assert res.success
    for n, v in TRUTH.items():
        assert res.params[n].value == pytest.approx(v, rel=1e-7, abs=1e-9)
    # the Jacobians at the (same) solution, ours grouped, lmfit's column by column
    assert res.var_names == own.var_names
    np.testing.assert_allclose(res.jac, own.jac, atol=1e-6 * np.abs(own.jac).max())


def test_weighted_fit_gives_lmfits_values_and_errors():
    sigma = np.full((2, X.size), 0.5)
    data = _data(noise=0.5, seed=4)
    res = fit_joint(
        _residual(data),
        _params(),
        n_blocks=2,
        block_size=X.size,
        block_param=lambda n: int(n[-1]) if n[:3] in ("amp", "off") else None,
        sigma=sigma,
        x_scale="jac",
    )
    own = lmfit.minimize(
        lambda p: _residual(data)(p.valuesdict()) / sigma.ravel(), _params(), "least_squares"
    )
    assert res.redchi == pytest.approx(1.0, abs=0.3)
    for n, v in TRUTH.items():
        p = res.params[n]
        assert abs(p.value - v) < 4 * p.stderr
        assert p.value == pytest.approx(own.params[n].value, rel=1e-6)
        assert p.stderr == pytest.approx(own.params[n].stderr, rel=1e-4)


def test_tied_parameters_use_lmfits_jacobian():
    asked: list[str] = []

    def block_of(name):
        asked.append(name)
        return int(name[-1]) if name[:3] in ("amp", "off") else None

    params = _params()
    params["off1"].set(expr="off0 + 3.0")
    res = fit_joint(_residual(_data()), params, n_blocks=2, block_size=X.size, block_param=block_of)
    assert not asked  # no grouping was attempted
    assert res.params["off1"].value == pytest.approx(TRUTH["off1"], rel=1e-7)
    assert res.params["center"].value == pytest.approx(TRUTH["center"], rel=1e-7)


def test_layout_errors_are_reported():
    data = _data()
    kw = {"n_blocks": 2, "block_size": X.size}
    with pytest.raises(InputError, match="named group"):
        fit_joint(_residual(data), _params(), block_param=r"^amp(\d+)$", **kw)
    with pytest.raises(InputError, match="outside"):
        fit_joint(_residual(data), _params(), block_param=lambda n: 5 if "amp" in n else None, **kw)
    with pytest.raises(InputError, match="sigma"):
        fit_joint(_residual(data), _params(), block_param=BLOCK, sigma=np.ones(3), **kw)
    with pytest.raises(FitError, match="residual has"):
        fit_joint(_residual(data), _params(), block_param=BLOCK, n_blocks=3, block_size=X.size)


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("sigma", [None, 2.0])
def test_wrong_length_or_nonfinite_residual_is_a_fit_error(tied, sigma):
    # Checked in the residual wrapper every path uses (grouped Jacobian, lmfit's own with
    # tied parameters, with or without sigma), not only in the grouped Jacobian.
    data = _data()
    kw = {"n_blocks": 2, "block_size": X.size, "block_param": BLOCK}
    if sigma is not None:
        kw["sigma"] = np.full(2 * X.size, sigma)

    def params():
        p = _params()
        if tied:
            p["off1"].set(expr="off0 + 3.0")
        return p

    def short(v):
        return _residual(data)(v)[:-1]

    with pytest.raises(FitError, match=rf"residual has {2 * X.size - 1} values.*2 × {X.size}"):
        fit_joint(short, params(), **kw)

    def nan_at_5(v):
        r = _residual(data)(v)
        r[X.size + 5] = np.nan
        return r

    with pytest.raises(FitError, match=rf"1 non-finite value.*index {X.size + 5}, block 1"):
        fit_joint(nan_at_5, params(), **kw)
    with pytest.raises(FitError, match="residual has"):
        grouped_jacobian(short, _params().valuesdict(), ["center"], **kw)
