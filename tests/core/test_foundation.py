"""Errors, registries, data conventions, provenance and storage of charact.core."""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings

import lmfit
import numpy as np
import pytest
import xarray as xr

from charact.core import data as cdata
from charact.core.data import FitResult, Parameter, check_axis, make_measurement, make_spectrum
from charact.core.errors import (
    CharactError,
    CorruptFileError,
    FormatError,
    InputError,
    PluginWarning,
    RegistryError,
    close_matches,
)
from charact.core.provenance import canonical_json, settings_hash, sha256_file
from charact.core.registry import PHASES, READERS, Registry, load_plugins
from charact.core.store import atomic_write, load_netcdf, save_json, save_netcdf

# --------------------------------------------------------------------------- errors


def test_error_message_names_path_and_hint():
    err = CorruptFileError("line 3: expected 2 columns, found 1", path="a/b.xy", hint="fix it")
    assert str(err).startswith("a/b.xy: line 3: expected 2 columns, found 1")
    assert "hint: fix it" in str(err)
    assert isinstance(err, FormatError) and isinstance(err, CharactError)


def test_close_matches_finds_typos_and_prefixes():
    ids = ["MSiC-P01", "MSiC-C100", "MSiC-C500", "Ref-Si"]
    assert close_matches("MSiC-P0l", ids)[0] == "MSiC-P01"
    assert "MSiC-C500" in close_matches("msic-c50", ids)
    assert close_matches("zzz", ids) == []


# --------------------------------------------------------------------------- registry


def test_registry_register_get_and_duplicates():
    reg: Registry[int] = Registry("thing", autoload=False)
    reg.register("one", 1)

    @reg.register("two")
    def _two() -> int:
        return 2

    assert reg.names() == ["one", "two"]
    assert reg["one"] == 1 and "two" in reg and len(reg) == 2
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("one", 11)
    reg.register("one", 11, replace=True)
    assert reg.get("one") == 11
    with pytest.raises(RegistryError, match="did you mean 'one'") as info:
        reg.get("onw")
    assert "unknown thing 'onw'" in str(info.value)


def test_registry_rejects_empty_names():
    with pytest.raises(RegistryError):
        Registry("thing", autoload=False).register("", 1)


def test_plugins_load_every_builtin_technique_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        load_plugins(force=True)
    assert {"xrd-xy", "raman-text"} <= set(READERS.names())
    assert len(PHASES) == len(PHASES.names())


# --------------------------------------------------------------------------- data


def test_make_spectrum_follows_conventions():
    da = make_spectrum(
        [1, 2, 3], [4, 5, 6], axis="two_theta", technique="xrd", metadata={"Vendor": {"k": 1}}
    )
    assert da.dims == ("two_theta",)
    assert da["two_theta"].attrs["units"] == "deg"
    assert da.attrs["units"] == "counts"
    for key in cdata.REQUIRED_ATTRS:
        assert key in da.attrs
    assert json.loads(da.attrs["original_metadata"]) == {"Vendor": {"k": 1}}
    cdata.validate_measurement(da)


@pytest.mark.parametrize(
    ("axis", "message"),
    [([1, 2, 2], "not strictly monotonic"), ([1, np.nan, 3], "non-finite"), ([1], "at least 2")],
)
def test_check_axis_rejects_bad_axes(axis, message):
    da = xr.DataArray(np.zeros(len(axis)), coords={"x": axis}, dims="x")
    with pytest.raises(InputError, match=message):
        check_axis(da, "x", what="spec.txt")


def test_descending_axis_is_accepted():
    da = make_spectrum([3, 2, 1], [0, 1, 0], axis="raman_shift", technique="raman")
    assert da["raman_shift"].values[0] == 3


def test_validate_measurement_lists_every_problem():
    da = xr.DataArray([1.0, 2.0], coords={"two_theta": [1.0, 2.0]}, dims="two_theta")
    da["two_theta"].attrs["units"] = "rad"
    with pytest.raises(InputError) as info:
        cdata.validate_measurement(da, what="x.xy")
    msg = str(info.value)
    assert "'sample_id' is missing" in msg and "'source_sha256' is missing" in msg
    assert "in 'rad', expected 'deg'" in msg and "has no units" in msg


def test_make_measurement_checks_shapes_and_technique():
    with pytest.raises(InputError, match="technique must be one of"):
        make_measurement([1.0], {"x": ([1.0], "µm")}, name="i", units="1", technique="nmr")
    with pytest.raises(InputError, match="shape"):
        make_measurement([1.0, 2.0], {"x": ([1.0], "µm")}, name="i", units="1", technique="sem")


# --------------------------------------------------------------------------- provenance


def test_sha256_file_matches_hashlib(tmp_path):
    p = tmp_path / "f.bin"
    payload = bytes(range(256)) * 5000  # > one read chunk
    p.write_bytes(payload)
    assert sha256_file(p) == hashlib.sha256(payload).hexdigest()
    with pytest.raises(InputError, match="no such file"):
        sha256_file(tmp_path / "missing")


def test_settings_hash_is_order_independent_and_numpy_friendly():
    a = {"b": np.float64(1.5), "a": [1, 2], "c": {"y": 1, "x": 2}}
    b = {"c": {"x": 2, "y": 1}, "a": (1, 2), "b": 1.5}
    assert settings_hash(a) == settings_hash(b)
    assert settings_hash(a) != settings_hash({**b, "b": 1.6})
    assert canonical_json({"nan": float("nan")}) == '{"nan":"nan"}'


# --------------------------------------------------------------------------- results


def _fit_gaussian():
    x = np.linspace(-5, 5, 201)
    rng = np.random.default_rng(1)
    y = 3.0 * np.exp(-0.5 * ((x - 0.4) / 0.8) ** 2) + rng.normal(0, 0.01, x.size)
    model = lmfit.models.GaussianModel(prefix="g_")
    params = model.make_params(amplitude=5, center=0, sigma=1)
    params["g_sigma"].set(min=0.1, max=5)
    return x, model.fit(y, params, x=x)


def test_fit_result_from_lmfit_recovers_truth_and_statistics():
    _, res = _fit_gaussian()
    fr = FitResult.from_lmfit(
        res,
        analysis="test.gauss",
        axis="x",
        axis_units="1",
        data_units="1",
        provenance={"sample_id": "S1", "source_sha256": "abc"},
    )
    # ground truth: amplitude (area) = 3 * 0.8 * sqrt(2 pi)
    assert fr.parameters["g_amplitude"].value == pytest.approx(
        3 * 0.8 * math.sqrt(2 * math.pi), rel=5e-3
    )
    assert fr.parameters["g_center"].value == pytest.approx(0.4, abs=2e-3)
    assert 0 < fr.parameters["g_center"].stderr < 0.01
    assert fr.success and fr.statistics["r2"] > 0.999
    assert fr.flags == []
    assert set(fr.curves.data_vars) >= {"data", "best_fit", "residual", "component_g"}
    doc = fr.to_dict()
    json.dumps(doc)  # a JSON document, NaN-free
    assert doc["parameters"]["g_center"]["value"] == fr.parameters["g_center"].value


def test_fit_result_flags_parameters_on_bounds():
    x = np.linspace(-5, 5, 101)
    y = np.exp(-0.5 * (x / 0.5) ** 2)
    model = lmfit.models.GaussianModel()
    params = model.make_params(amplitude=1, center=0, sigma=2)
    params["sigma"].set(min=1.0, max=5)  # truth (0.5) is outside: the fit must hit the bound
    fr = FitResult.from_lmfit(model.fit(y, params, x=x), analysis="t")
    assert any("'sigma' is at a bound" in f for f in fr.flags)


def test_parameter_at_bound_logic():
    assert Parameter(1.0, min=1.0).at_bound()
    assert Parameter(0.0, min=0.0).at_bound()
    assert not Parameter(1.7e-7, min=0.0).at_bound()  # a small inductance is not "at 0"
    assert Parameter(-2.0, max=-2.0 + 1e-9).at_bound()
    assert not Parameter(1.0, min=1.0, vary=False).at_bound()
    assert not Parameter(1.5, min=1.0, max=2.0).at_bound()


def test_fit_result_netcdf_round_trip_is_identical(tmp_path):
    _, res = _fit_gaussian()
    fr = FitResult.from_lmfit(
        res,
        analysis="test.gauss",
        axis="x",
        axis_units="1",
        model={"components": [{"prefix": "g_", "shape": "gaussian"}]},
        provenance={"sample_id": "S1", "source_sha256": "abc"},
    )
    fr.derived["fwhm"] = Parameter(
        2.3548 * fr.parameters["g_sigma"].value, 2.3548 * fr.parameters["g_sigma"].stderr, units="1"
    )
    path = save_netcdf(fr.to_dataset(), tmp_path / "r.nc")
    back = FitResult.from_dataset(load_netcdf(path))
    assert back.to_dict() == fr.to_dict()
    xr.testing.assert_identical(back.curves, fr.curves)
    ds = load_netcdf(path)
    assert ds.attrs["sample_id"] == "S1" and ds.attrs["source_sha256"] == "abc"


# --------------------------------------------------------------------------- storage


def test_save_netcdf_round_trips_dataarray_with_structured_attrs(tmp_path):
    da = make_spectrum(
        np.arange(5.0),
        np.arange(5.0) ** 2,
        axis="raman_shift",
        technique="raman",
        attrs={"flags": ["a", "b"], "settings": {"lam": 1e5}, "ok": True},
    )
    back = load_netcdf(save_netcdf(da, tmp_path / "s.nc"))
    xr.testing.assert_identical(back, da)
    assert back.attrs["settings"] == {"lam": 1e5} and back.attrs["ok"] is True


def test_atomic_write_leaves_previous_file_on_error(tmp_path):
    target = tmp_path / "res.json"
    save_json({"v": 1}, target)
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write('{"v": 2, "half')
        raise RuntimeError("disk full")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["res.json"]  # no temp file left


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_gives_umask_permissions_without_touching_the_umask(tmp_path, monkeypatch):
    # the umask is read once at import; setting it to read it on every write would change
    # it process-wide for a moment (a race with threads creating files)
    from charact.core import store

    mask = os.umask(0o022)
    os.umask(mask)
    assert store._process_umask() == mask

    def no_umask(_):
        raise AssertionError("os.umask called during a write")

    monkeypatch.setattr(os, "umask", no_umask)
    with atomic_write(tmp_path / "r.json") as fh:
        fh.write("{}")
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_save_netcdf_failure_keeps_old_result(tmp_path):
    target = tmp_path / "r.nc"
    good = xr.Dataset({"a": ("x", [1.0, 2.0])})
    save_netcdf(good, target)
    bad = xr.Dataset({"a": ("x", np.array([object(), object()], dtype=object))})
    with pytest.raises(Exception):  # noqa: B017 - whatever netCDF says about object arrays
        save_netcdf(bad, target)
    xr.testing.assert_identical(load_netcdf(target), good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_load_netcdf_errors(tmp_path):
    with pytest.raises(InputError, match="no such result file"):
        load_netcdf(tmp_path / "nope.nc")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not netcdf at all")
    with pytest.raises(CorruptFileError, match="junk.nc"):
        load_netcdf(junk)


def test_save_json_writes_nan_as_null(tmp_path):
    p = save_json(
        {"a": float("nan"), "b": np.float32(2.5), "c": [np.int64(3)]}, tmp_path / "d.json"
    )
    assert json.loads(p.read_text()) == {"a": None, "b": 2.5, "c": [3]}
