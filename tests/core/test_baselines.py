"""Shared baselines: known backgrounds recovered, axis order irrelevant, stacks handled."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from charact.core.baselines import estimate_baseline, subtract_baseline
from charact.core.errors import InputError, RegistryError
from charact.core.lineshapes import lorentzian
from charact.core.registry import BASELINES


def _spectrum(descending: bool = False) -> tuple[xr.DataArray, np.ndarray]:
    x = np.linspace(100, 2000, 1901)
    background = 200 + 0.05 * x + 2e-5 * (x - 1000) ** 2  # ground truth
    y = background + lorentzian(x, 5e4, 520, 5) + lorentzian(x, 3e4, 1350, 80)
    if descending:
        x, y, background = x[::-1], y[::-1], background[::-1]
    return xr.DataArray(y, coords={"raman_shift": x}, dims="raman_shift"), background


def test_registry_lists_shared_methods():
    assert {"asls", "arpls", "airpls", "modpoly", "imodpoly", "snip", "linear"} <= set(
        BASELINES.names()
    )


@pytest.mark.parametrize("method", ["arpls", "asls", "modpoly", "snip"])
def test_recovers_a_known_smooth_background(method):
    da, truth = _spectrum()
    base, info = estimate_baseline(da, method)
    # Away from the peaks every method must sit on the true background within 1 % of the
    # tallest peak (2A/(pi F) = 6366 counts); the Lorentzian tails there are a few counts.
    far = (np.abs(da.raman_shift - 520) > 40) & (np.abs(da.raman_shift - 1350) > 400)
    err = np.abs(base.values - truth)[far.values]
    assert err.max() < 0.01 * 2 * 5e4 / (np.pi * 5)
    assert info["method"] == method and info["params"]


def test_descending_axis_gives_the_same_baseline():
    up, _ = _spectrum()
    down, _ = _spectrum(descending=True)
    b_up, _ = estimate_baseline(up, "arpls")
    b_down, _ = estimate_baseline(down, "arpls")
    np.testing.assert_allclose(b_down.values[::-1], b_up.values, rtol=1e-8)


def test_linear_baseline_is_exact_for_a_line():
    x = np.linspace(0, 10, 101)
    da = xr.DataArray(3 + 2 * x, coords={"x": x}, dims="x")
    base, info = estimate_baseline(da, "linear", end_points=3)
    np.testing.assert_allclose(base.values, da.values)
    assert info["library"] == "charact"


def test_stack_along_a_dim_matches_single_spectra():
    da, _ = _spectrum()
    stack = xr.concat([da, 2 * da], dim="pixel").transpose("raman_shift", "pixel")
    base, _ = estimate_baseline(stack, "arpls", dim="raman_shift")
    assert base.dims == stack.dims
    single, _ = estimate_baseline(2 * da, "arpls")
    np.testing.assert_allclose(base.isel(pixel=1).values, single.values, rtol=1e-10)


def test_subtract_records_method_and_errors_are_clear():
    da, _ = _spectrum()
    corrected, _ = subtract_baseline(da, "snip", max_half_window=30)
    assert corrected.attrs["baseline_method"] == "snip"
    assert corrected.attrs["baseline_params"] == {"max_half_window": 30}
    with pytest.raises(RegistryError, match="did you mean"):
        estimate_baseline(da, "arpsl")
    with pytest.raises(InputError, match="NaN"):
        estimate_baseline(da.where(da.raman_shift != 500), "arpls")
    with pytest.raises(InputError, match="dim="):
        estimate_baseline(xr.concat([da, da], "p"), "arpls")
