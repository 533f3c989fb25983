"""Single-spectrum Raman fitting: generated spectra of known truth and the real files.

Accuracy targets are those of the Raman issue: c-Si centre within 0.2 cm^-1, D/G centres within
3 cm^-1, I_D/I_G within 3 % of the generating values, c-Si reported absent when absent, and the
real c-Si calibration spectrum's centre within 0.1 cm^-1 of an independent lmfit Lorentzian.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import charact
from charact.core.errors import CalibrationError, InputError
from charact.core.store import load_netcdf, save_netcdf
from charact.raman.fit import (
    CSI_REFERENCE,
    calibrate_shift,
    compare_models,
    despike,
    fit_spectrum,
    prepare_spectrum,
)
from charact.raman.models import MODELS, build_model, model_bands
from charact.raman.synthetic import STATES, synthetic_spectrum
from tests.conftest import shared_file

#: The model that generated each state of charact.raman.synthetic.STATES.
GENERATING = {
    "pristine": "c-si+carbon-2",
    "cycled-100": "si+carbon-2",
    "cycled-500": "a-si+carbon-2",
}
# A sloping baseline, a smooth fluorescence rising to high shift and three cosmic rays: the
# conditions the issue asks the accuracy to hold under.
HARD = {"baseline": (80.0, 0.05), "fluorescence": (400.0, 2500.0, 1000.0), "spikes": 3}


def _quiet_fit(da, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_spectrum(da, **kw)


@pytest.mark.parametrize("state", list(STATES))
def test_generated_spectra_recover_the_truth(state):
    bands = {b.name: b for b in STATES[state]}
    da = synthetic_spectrum(STATES[state], seed=11, **HARD)
    res = _quiet_fit(da, model=GENERATING[state])
    assert res.fit.success
    if "c-Si" in bands:
        assert abs(res.peaks["c-Si"]["center"] - bands["c-Si"].center) < 0.2
    for name in ("D", "G"):
        assert abs(res.peaks[name]["center"] - bands[name].center) < 3.0
    truth = bands["D"].height / bands["G"].height  # 2.33, 1.70, 1.50 (synthetic.STATES)
    assert res.ratios["ID_IG_height"] == pytest.approx(truth, rel=0.03)
    truth_area = bands["D"].area / bands["G"].area
    # At this noise (σ = 5 counts, G height 100) the area ratio's own standard error is
    # 2.6-3.0 %: the D/G Lorentzian wings trade against the background polynomial. The truth
    # must lie within 2 of those standard errors (the 3 % target is checked at SNR 50 below).
    area = res.ratios["ID_IG_area"]
    assert abs(area - truth_area) < 2 * res.ratios["ID_IG_area_stderr"]
    assert res.ratios["ID_IG_area_stderr"] < 0.035 * truth_area
    # the stated uncertainty is honest: the truth lies within 4 standard errors
    assert abs(res.ratios["ID_IG_height"] - truth) < 4 * res.ratios["ID_IG_height_stderr"] + 0.01
    assert res.preprocessing["spikes_removed"] >= 3


@pytest.mark.parametrize("state", list(STATES))
def test_area_ratio_has_no_background_bias_and_reaches_3_percent(state):
    """I_D/I_G by area for the generating model: no systematic error under a sloping baseline
    and a fluorescence hump, and within 3 % of the truth for every noise draw at SNR 50.

    A cubic background left -0.9 to -1.3 % on this ratio without any noise (the hump is not
    cubic over 1000-1800 cm^-1); the default quartic removes it.
    """
    bands = {b.name: b for b in STATES[state]}
    truth = bands["D"].area / bands["G"].area
    smooth = {k: v for k, v in HARD.items() if k != "spikes"}
    exact = synthetic_spectrum(STATES[state], seed=None, noise=0.0, **smooth)
    res = _quiet_fit(exact, model=GENERATING[state], despike_spectrum=False)
    assert res.ratios["ID_IG_area"] == pytest.approx(truth, rel=0.002)
    errors = []
    for seed in range(8):  # noise 2 counts on a G band of 100 counts
        da = synthetic_spectrum(STATES[state], seed=seed, noise=2.0, **HARD)
        res = _quiet_fit(da, model=GENERATING[state])
        errors.append(res.ratios["ID_IG_area"] / truth - 1)
    assert np.max(np.abs(errors)) < 0.03
    assert abs(np.mean(errors)) < 0.01  # no systematic offset


@pytest.mark.parametrize(
    ("state", "si_state"),
    [("pristine", "crystalline"), ("cycled-100", "mixed"), ("cycled-500", "amorphous")],
)
def test_auto_model_finds_the_si_state_and_absence(state, si_state):
    da = synthetic_spectrum(STATES[state], seed=4, **HARD)
    res = _quiet_fit(da, model="auto")
    assert res.silicon["state"] == si_state
    chosen = [c.model for c in res.comparison if c.chosen]
    assert "carbon-2" in chosen  # the generating carbon model wins the BIC comparison
    if si_state == "amorphous":  # c-Si absent -> not in the model, no shift reported
        assert "c-Si" not in res.peaks
        assert res.silicon["shift_cm-1"] is None
        assert res.silicon["crystalline_fraction"] == 0.0
    if si_state == "mixed":
        c, a = (next(b for b in STATES[state] if b.name == n) for n in ("c-Si", "a-Si"))
        xc = c.area / (c.area + 0.88 * a.area)  # Xc = Ic/(Ic + y Ia), y = 0.88
        assert res.silicon["crystalline_fraction"] == pytest.approx(xc, abs=0.03)
    assert "criterion" in res.to_dict()["model"]


def test_forced_model_on_absent_c_si_reports_absent():
    # FIELD_NOTES: a fixed model returns a c-Si centre even without c-Si; we must say absent.
    da = synthetic_spectrum(STATES["cycled-500"], seed=2)
    res = _quiet_fit(da, model="si-carbon")
    assert res.silicon["state"] == "amorphous"
    assert any("c-Si is not significant" in f for f in res.fit.flags)


def test_shift_stress_and_la_with_laser():
    bands = list(STATES["pristine"])
    da = synthetic_spectrum(bands, seed=1)
    res = _quiet_fit(da, model="c-si+carbon-2", laser_nm=532.0)
    shift = res.silicon["shift_cm-1"]
    assert shift == pytest.approx(520.5 - CSI_REFERENCE, abs=0.1)
    assert res.silicon["stress_MPa"] == pytest.approx(-250.0 * shift)  # De Wolf 1996
    # Cançado 2006: La = 2.4e-10 * 532^4 / (A_D/A_G)
    la = 2.4e-10 * 532.0**4 / res.ratios["ID_IG_area"]
    assert res.carbon["La_nm"] == pytest.approx(la, rel=1e-6)
    assert res.carbon["La_nm_stderr"] > 0
    doc = res.to_dict()
    for key in ("peaks", "ratios", "silicon", "carbon", "model", "baseline", "fit"):
        assert key in doc
    assert set(doc["peaks"]["c-Si"]) >= {"center", "center_stderr", "area_stderr"}
    assert set(doc["fit"]) >= {"redchi", "r2", "success", "aic", "bic", "at_bounds"}


def test_despike_removes_spikes_but_not_the_c_si_line():
    si = charact.read(shared_file("raman", "ramanfitting_Si_spectrum01.txt"), technique="raman")
    cleaned, n = despike(si)
    assert n == 0  # no cosmic rays in the reference; the sharp c-Si line is kept untouched
    np.testing.assert_array_equal(cleaned.values, si.values)
    spiky = si.copy(data=si.values.copy())
    idx = [300, 900, 1400]
    spiky.values[idx] += 3000.0
    cleaned, n = despike(spiky)
    assert n == 3
    np.testing.assert_allclose(cleaned.values[idx], si.values[idx], atol=30)
    peak = int(np.argmax(si.values))
    assert cleaned.values[peak] == si.values[peak]  # a median filter would cut it by 11-13 %


def test_real_c_si_centre_matches_an_independent_lmfit_lorentzian():
    """Independent reference: lmfit's own LorentzianModel + LinearModel on 480-560 cm^-1."""
    import lmfit

    si = charact.read(shared_file("raman", "ramanfitting_Si_spectrum01.txt"), technique="raman")
    x = si["raman_shift"].values
    m = (x > 480) & (x < 560)
    model = lmfit.models.LorentzianModel() + lmfit.models.LinearModel()
    pars = model.make_params(amplitude=2e4, center=520, sigma=3, slope=0, intercept=575)
    ref = model.fit(si.values[m], pars, x=x[m]).params["center"].value
    res = _quiet_fit(si, model="auto")
    assert res.silicon["state"] == "crystalline"
    assert abs(res.peaks["c-Si"]["center"] - ref) < 0.1
    cal = calibrate_shift(si)
    assert abs(cal.measured - ref) < 0.1
    # FIELD_NOTES: this calibration spectrum peaks at 521.3 cm^-1, not 520.5
    assert cal.measured == pytest.approx(521.3, abs=0.1)
    assert cal.offset == pytest.approx(CSI_REFERENCE - cal.measured)
    assert "Si-2nd" in res.peaks  # MANIFEST: the tool's model has a 2nd-order band near 960
    assert abs(res.peaks["Si-2nd"]["center"] - 960) < 20


@pytest.mark.parametrize("pos", [1, 2, 3, 4])
def test_real_carbon_positions(pos):
    da = charact.read(
        shared_file("raman", f"ramanfitting_testDW38C_pos{pos}.txt"), technique="raman"
    )
    res = _quiet_fit(da, model="auto")
    # MANIFEST (raman-fitting default models): D 1330-1380, G 1545-1595 cm^-1
    assert 1330 <= res.peaks["D"]["center"] <= 1380
    assert 1545 <= res.peaks["G"]["center"] <= 1595
    assert res.silicon["state"] == "absent"
    # FIELD_NOTES: a 2-band fit gives I_D/I_G 1.0-1.3 on these spectra (by area); ours with a
    # 2-band model must land near that, and the ratio definitions must be stated
    assert 0.8 < res.ratios["ID_IG_area"] < 1.6
    assert "height" in res.ratios["definition"] and "area" in res.ratios["definition"]
    assert res.fit.statistics["r2"] > 0.98


def test_model_comparison_reports_bic_bounds_and_correlations():
    da = synthetic_spectrum(STATES["pristine"], seed=3)
    prepared, _, _ = prepare_spectrum(da, baseline=None)
    cands = compare_models(prepared, ["none", "carbon-2", "carbon-5"], region=(1000, 1800))
    assert sum(c.chosen for c in cands) == 1
    chosen = next(c for c in cands if c.chosen)
    assert chosen.model == "carbon-2"  # what generated it; carbon-5 must not win on BIC
    five = next(c for c in cands if c.model == "carbon-5")
    assert five.nvarys > chosen.nvarys
    assert all(isinstance(c.strong_correlations, list) for c in cands)
    assert next(c for c in cands if c.model == "none").bic > chosen.bic


def test_result_round_trips_through_netcdf(tmp_path):
    da = synthetic_spectrum(STATES["cycled-100"], seed=5)
    res = _quiet_fit(da, model="si+carbon-2")
    back = load_netcdf(save_netcdf(res.to_dataset(), tmp_path / "fit.nc"))
    assert back.attrs["analysis"] == "raman.fit"
    assert "component_cSi" in back and "baseline" in back
    assert back.attrs["raman"]["silicon"]["state"] == "mixed"


def test_models_library_and_user_edits():
    for name in MODELS:
        assert model_bands(name)
    model = build_model("carbon-5", overrides={"G_center": {"value": 1580, "min": 1570}})
    _lm, pars = model.lmfit()
    assert pars["G_center"].min == 1570 and pars["D2_center"].value == 1615
    assert {"D_", "G_", "D2_", "D3_", "D4_"} <= {c.prefix for c in model.batch.components}
    with pytest.raises(InputError, match="did you mean"):
        model_bands("carbon5")
    with pytest.raises(InputError, match="two versions"):
        model_bands("carbon-2+carbon-2-bwf")


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors():
    da = synthetic_spectrum(STATES["pristine"], seed=0)
    short = da.sel(raman_shift=slice(100, 700))
    with pytest.raises(InputError, match="cannot apply to the spectral range"):
        _quiet_fit(short, model="carbon-2")  # D/G asked for 100-700 cm^-1
    nan = da.copy(data=da.values.copy())
    nan.values[50] = np.nan
    with pytest.raises(InputError, match="NaN or inf at raman_shift 150"):
        _quiet_fit(nan)
    with pytest.raises(InputError, match="expected a 1-D spectrum"):
        _quiet_fit(da.expand_dims(y=[0.0]))
    with pytest.raises(CalibrationError, match="no significant c-Si line"):
        calibrate_shift(synthetic_spectrum(STATES["cycled-500"], seed=0))
    with pytest.raises(CalibrationError, match="must cover"):
        calibrate_shift(da.sel(raman_shift=slice(1000, 1900)))


def test_descending_axis_gives_the_same_fit():
    da = synthetic_spectrum(STATES["pristine"], seed=8)
    up = _quiet_fit(da, model="c-si+carbon-2")
    down = _quiet_fit(da.isel(raman_shift=slice(None, None, -1)), model="c-si+carbon-2")
    assert math.isclose(up.peaks["c-Si"]["center"], down.peaks["c-Si"]["center"], abs_tol=1e-6)


# --------------------------------------------------------------------------- more of the library


def test_pybaselines_baseline_is_recorded_in_the_result():
    da = synthetic_spectrum(STATES["pristine"], seed=6)
    res = _quiet_fit(da, model="c-si+carbon-2", baseline="arpls", baseline_params={"lam": 1e7})
    doc = res.to_dict()
    assert doc["baseline"]["method"] == "arpls"
    assert doc["baseline"]["params"]["lam"] == 1e7
    assert "pybaselines" in doc["baseline"]["library"]
    # the subtracted baseline is kept with the curves, so plots sit on the measured data
    assert float(res.fit.curves["baseline"].max()) > 0


def test_bwf_c_si_and_g_are_fitted_with_their_maximum_reported():
    """Breit-Wigner-Fano bands of known parameters (core.lineshapes.fano): the reported
    centre is the maximum ω0 + Γ/(2q) and the height I0(1 + 1/q²)."""
    from charact.core.lineshapes import fano

    x = np.arange(300.0, 1900.0, 1.0)
    rng = np.random.default_rng(4)
    y = 60 + 0.01 * (x - 300)
    y = y + fano(x, 800.0, 516.0, 8.0, -12.0) + fano(x, 120.0, 1585.0, 60.0, -8.0)
    y = y + 180.0 / (1 + ((x - 1350.0) / 55.0) ** 2)  # D: Lorentzian, height 180, FWHM 110
    da = synthetic_spectrum([], raman_shift=x, baseline=(0.0, 0.0), noise=0.0).copy(
        data=y + rng.normal(0, 2.0, x.size)
    )
    res = _quiet_fit(da, model="c-si-bwf+carbon-2-bwf")
    c, g = res.peaks["c-Si"], res.peaks["G"]
    assert c["center"] == pytest.approx(516.0 + 8.0 / (2 * -12.0), abs=0.1)
    assert c["height"] == pytest.approx(800.0 * (1 + 1 / 144), rel=0.02)
    assert g["center"] == pytest.approx(1585.0 + 60.0 / (2 * -8.0), abs=1.0)
    assert res.peaks["D"]["center"] == pytest.approx(1350.0, abs=1.0)


def test_a_si_full_model_recovers_the_four_amorphous_bands():
    """a-Si TO, LO, LA and TA Gaussians (Beeman et al. 1985 positions) of known truth."""
    from charact.raman.synthetic import RamanBand

    bands = [
        RamanBand("a-Si", "gaussian", 475.0, 70.0, 300.0),
        RamanBand("a-Si-LO", "gaussian", 385.0, 80.0, 90.0),
        RamanBand("a-Si-LA", "gaussian", 305.0, 80.0, 70.0),
        RamanBand("a-Si-TA", "gaussian", 150.0, 60.0, 120.0),
    ]
    da = synthetic_spectrum(bands, raman_shift=np.arange(100.0, 700.0), seed=3, noise=2.0)
    res = _quiet_fit(da, model="a-si-full")
    assert res.fit.success
    for b in bands:
        assert res.peaks[b.name]["center"] == pytest.approx(b.center, abs=5.0), b.name
    assert res.peaks["a-Si"]["height"] == pytest.approx(300.0, rel=0.05)
    assert res.silicon["state"] == "amorphous"
