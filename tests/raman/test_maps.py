"""Raman maps: every pixel fitted by the batch engine, chunked or not, failures flagged."""

from __future__ import annotations

import numpy as np
import pytest

from charact.core.errors import InputError
from charact.core.store import load_netcdf, save_netcdf
from charact.raman.maps import SI_STATES, fit_map
from charact.raman.synthetic import synthetic_map

SHIFT = np.linspace(300.0, 1900.0, 800)


@pytest.fixture(scope="module")
def fitted():
    cube, truth = synthetic_map(6, 7, raman_shift=SHIFT, missing=2, spikes=4, seed=1)
    return cube, truth, fit_map(cube, model="si-carbon")


def test_map_recovers_per_pixel_truth(fitted):
    _cube, truth, result = fitted
    ds = result.dataset
    ok = ds["success"].values
    assert ok.sum() == 6 * 7 - 2
    # truth generated pixel by pixel (charact.raman.synthetic.synthetic_map)
    c = ds["center"].sel(peak="c-Si").values
    assert np.nanmax(np.abs(c - truth["c-Si.center"])[ok]) < 0.2
    for band in ("D", "G"):
        err = np.abs(ds["center"].sel(peak=band).values - truth[f"{band}.center"])[ok]
        assert np.nanmax(err) < 3.0
    ratio = ds["ID_IG_height"].values[ok]
    se = ds["ID_IG_height_stderr"].values[ok]
    assert np.all(np.abs(ratio - truth["ID_IG_height"][ok]) < 4 * se + 0.02)
    assert np.all(ds["si_state"].values[ok] == SI_STATES.index("mixed"))
    assert ds["center"].dims == ("peak", "y", "x")
    assert {"ID_IG_height", "crystalline_fraction", "shift_cm-1", "La_nm"} <= set(ds.data_vars)


def test_failed_pixels_are_flagged_never_fatal(fitted):
    _, truth, result = fitted
    ds = result.dataset
    for j, i in truth["missing"]:
        assert not ds["success"].values[j, i]
        assert ds["failure"].values[j, i] == "missing or NaN data"
        assert np.isnan(ds["center"].values[:, j, i]).all()
    summary = result.summary()
    assert len(summary["pixels_failed"]) == 2
    assert summary["statistics"]["ID_IG_height"]["n"] == 40
    assert summary["si_state_counts"]["mixed"] == 40


def test_chunked_map_equals_in_memory(fitted):
    cube, _, result = fitted
    lazy = fit_map(cube, model="si-carbon", chunk_pixels=14)
    np.testing.assert_allclose(
        lazy.dataset["center"].values, result.dataset["center"].values, equal_nan=True
    )


def test_map_netcdf_round_trip(fitted, tmp_path):
    _, _, result = fitted
    back = load_netcdf(save_netcdf(result.to_dataset(), tmp_path / "map.nc"))
    np.testing.assert_allclose(back["area"].values, result.dataset["area"].values)
    assert back.attrs["model_name"] == "si-carbon"
    assert back["si_state"].attrs["flag_meanings"] == "absent crystalline amorphous mixed"


def test_map_bad_inputs(fitted):
    cube, _, _ = fitted
    with pytest.raises(InputError, match="cannot apply"):
        fit_map(cube.sel(raman_shift=slice(300, 700)), model="carbon-2")
    with pytest.raises(InputError, match="dims"):
        fit_map(cube.isel(y=0), model="si-carbon")
    with pytest.raises(InputError, match="single spectra"):
        fit_map(cube, model="auto")
