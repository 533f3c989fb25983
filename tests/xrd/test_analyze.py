"""Phase identification, indexing, lattice refinement and sizes.

Generated patterns (charact.xrd.synthetic.structure_pattern) have exact truths; the real
files' reference values are cited at each test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

import charact.xrd  # noqa: F401  (registers the XRD readers)
from charact.core.data import make_spectrum
from charact.core.errors import InputError
from charact.core.readers import read
from charact.core.store import load_netcdf, save_netcdf
from charact.xrd.analyze import (
    InstrumentProfile,
    Radiation,
    fit_instrument_profile,
    identify_phases,
    scherrer_size,
    strip_ka2,
    williamson_hall,
)
from charact.xrd.phases import load_phase_library
from charact.xrd.synthetic import CU_KA1, CU_KA2, structure_pattern
from tests.conftest import shared_file

INSTRUMENT_FWHM = 0.06  # deg, the generator's instrumental width
LIBRARY = load_phase_library()


# --------------------------------------------------------------------------- generated


@pytest.fixture(scope="module", params=[0.05, 0.2])
def si_cu(request):
    """Si (a = 5.4330 Å, 50 nm) on Cu foil (reference cell, 200 nm), Kα doublet, displaced."""
    da, truth = structure_pattern(
        {"Si": 1.0, "Cu": 1.5},
        lattices={"Si": {"a": 5.4330}},
        sizes_nm={"Si": 50.0, "Cu": 200.0},
        displacement_mm=request.param,
        radius_mm=240.0,
        seed=3,
    )
    inst = InstrumentProfile(0.0, 0.0, INSTRUMENT_FWHM**2)
    return request.param, truth, identify_phases(da, library=LIBRARY, instrument=inst)


def test_generated_phases_no_false_positive(si_cu):
    _, _, res = si_cu
    assert sorted(p.name for p in res.present) == ["Cu", "Si"]
    assert not res.unindexed_peaks


def test_generated_lattice_after_cu_calibration(si_cu):
    disp, _, res = si_cu
    c = res.corrections
    assert c["standard"] == "Cu" and c["model"] == "displacement"
    assert c["displacement_mm"] == pytest.approx(disp, abs=0.01)
    si = res.phase("Si")
    assert si.lattice["a"] == pytest.approx(5.4330, abs=0.0005)  # issue 3 accuracy target
    assert 0 < si.lattice["a_stderr"] < 0.0005
    assert res.phase("Cu").role == "standard"


def test_generated_indexing_and_ratio(si_cu):
    _, truth, res = si_cu
    si = res.phase("Si")
    hkls = {tuple(sorted(map(abs, p.hkl))) for p in si.peaks}
    assert {(1, 1, 1), (0, 2, 2), (1, 1, 3), (0, 0, 4)} <= hkls
    area = {(p.phase, tuple(sorted(map(abs, p.hkl)))): p.area for p in truth}
    ratio = area[("Si", (1, 1, 1))] / area[("Cu", (1, 1, 1))]
    assert res.si_to_cu_ratio == pytest.approx(ratio, rel=0.05)


def test_generated_scherrer_size(si_cu):
    _, _, res = si_cu
    # The generator adds the size width to the instrumental one in quadrature, the same
    # Gaussian approximation the analysis removes; sizes within the 10 %.
    assert res.phase("Si").scherrer_nm == pytest.approx(50.0, rel=0.10)
    assert res.phase("Cu").scherrer_nm == pytest.approx(200.0, rel=0.15)


@pytest.mark.parametrize("size", [20.0, 100.0])
def test_scherrer_range(size):
    da, _ = structure_pattern(
        {"Si": 1.0, "Cu": 1.0}, sizes_nm={"Si": size}, displacement_mm=0.1, seed=5
    )
    res = identify_phases(
        da, library=LIBRARY, instrument=InstrumentProfile(0, 0, INSTRUMENT_FWHM**2)
    )
    assert res.phase("Si").present
    assert res.phase("Si").scherrer_nm == pytest.approx(size, rel=0.10)


def test_monoclinic_refinement_and_kalpha1_only():
    truth = {"a": 8.37, "b": 4.99, "c": 6.21, "beta": 114.5}
    da, _ = structure_pattern(
        {"Li2CO3": 1.0, "Cu": 1.0},
        lattices={"Li2CO3": truth},
        ka2_ratio=0.0,
        two_theta=np.arange(15, 90, 0.01),
        seed=7,
    )
    res = identify_phases(da, library=LIBRARY)
    assert not res.radiation.doublet
    assert sorted(p.name for p in res.present) == ["Cu", "Li2CO3"]
    lat = res.phase("Li2CO3").lattice
    for k, v in truth.items():
        assert lat[k] == pytest.approx(v, abs=0.003 if k != "beta" else 0.03), k


def test_rachinger_strip_recovers_the_kalpha1_pattern():
    # The same noiseless Si + Cu pattern generated with and without its Kα2 lines: stripping
    # the doublet must give the Kα1-only pattern back. The generator's background is one
    # continuum seen by both lines, so after stripping it is B/(1 + R); compare net signals.
    x = np.arange(20.0, 100.0, 0.01)
    kw = {"lattices": {"Si": {"a": 5.4330}}, "two_theta": x, "seed": None, "background": (0, 0)}
    doublet, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, **kw)
    single, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, ka2_ratio=0.0, **kw)
    rad = Radiation(CU_KA1, CU_KA2, 0.5, "test")
    out = strip_ka2(x, doublet.values, rad)
    top = float(single.values.max())
    # Residual below 0.5 % of the strongest peak everywhere (cubic interpolation of the
    # stripped values; linear interpolation at 6 points per FWHM leaves about 1 %).
    assert np.max(np.abs(out - single.values)) < 0.005 * top
    # Without the stripping the Kα2 lines are there: the check can fail.
    assert np.max(np.abs(doublet.values - single.values)) > 0.2 * top
    # Kα1-only radiation: unchanged; a constant background becomes B/(1 + R).
    np.testing.assert_array_equal(
        strip_ka2(x, doublet.values, Radiation(CU_KA1, None, 0, "")), doublet.values
    )
    flat = strip_ka2(x, np.full(x.size, 300.0), rad)
    assert flat[-1] == pytest.approx(200.0, rel=1e-6)


@pytest.mark.parametrize(("step", "limit"), [(0.01, 0.002), (0.02, 0.012), (0.03, 0.035)])
def test_rachinger_strip_residual_grows_with_the_step(step, limit):
    # docs/xrd.md: the stripped pattern matches the Kα1-only one within 0.14 % of the strongest
    # peak at 0.01° step, 1 % at 0.02° and 3 % at 0.03° (interpolation error of the parent).
    x = np.arange(20.0, 100.0, step)
    kw = {"lattices": {"Si": {"a": 5.4330}}, "two_theta": x, "seed": None, "background": (0, 0)}
    doublet, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, **kw)
    single, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, ka2_ratio=0.0, **kw)
    out = strip_ka2(x, doublet.values, Radiation(CU_KA1, CU_KA2, 0.5, "test"))
    err = np.max(np.abs(out - single.values)) / float(single.values.max())
    assert err < limit
    assert err > limit / 4  # the stated figure is the actual one, not a loose bound


def test_rachinger_strip_propagates_the_counting_variance():
    # Monte Carlo: the spread of the stripped values over Poisson realisations matches the
    # variance strip_ka2 propagates through its recursion (y + R²·Σ w² var(parent)).
    x = np.arange(20.0, 100.0, 0.02)
    kw = {"lattices": {"Si": {"a": 5.4330}}, "two_theta": x, "seed": None}
    mean, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, **kw)
    rad = Radiation(CU_KA1, CU_KA2, 0.5, "test")
    out, var = strip_ka2(x, mean.values, rad, return_variance=True)
    np.testing.assert_array_equal(out, strip_ka2(x, mean.values, rad))
    assert np.all(var >= mean.values - 1e-9)
    rng = np.random.default_rng(0)
    draws = np.array(
        [strip_ka2(x, rng.poisson(mean.values).astype(float), rad) for _ in range(400)]
    )
    ratio = draws.var(axis=0) / var
    # where a strong Kα1 parent is stripped the variance is well above the Poisson one ...
    strong = var > 1.3 * mean.values
    assert strong.sum() > 20
    assert np.median(draws.var(axis=0)[strong] / mean.values[strong]) > 1.2
    # ... and the propagated variance follows the sampled one (400 draws: ±7 % scatter)
    assert 0.85 < np.median(ratio) < 1.15
    assert 0.8 < np.median(ratio[strong]) < 1.2
    # Kα1-only radiation: the Poisson variance of the counts
    _, v1 = strip_ka2(x, mean.values, Radiation(CU_KA1, None, 0, ""), return_variance=True)
    np.testing.assert_allclose(v1, mean.values)


def test_identify_with_ka2_stripped_matches_truth():
    da, _ = structure_pattern(
        {"Si": 1.0, "Cu": 1.5},
        lattices={"Si": {"a": 5.4330}},
        sizes_nm={"Si": 50.0, "Cu": 200.0},
        displacement_mm=0.1,
        seed=3,
    )
    res = identify_phases(da, library=LIBRARY, ka2="strip")
    assert sorted(p.name for p in res.present) == ["Cu", "Si"]
    assert res.radiation.ka2_handling == "strip"
    assert res.to_dict()["radiation"]["ka2_handling"] == "strip"
    assert "data_measured" in res.curves
    assert res.phase("Si").lattice["a"] == pytest.approx(5.4330, abs=0.0005)
    assert res.corrections["displacement_mm"] == pytest.approx(0.1, abs=0.01)
    with pytest.raises(InputError, match="ka2 must be"):
        identify_phases(da, library=LIBRARY, ka2="ignore")
    # No spurious lines: after stripping, peak search and fit weights use the propagated
    # variance (y + R²·var(parent)), not Poisson counts (19 unindexed "peaks" otherwise).
    assert not res.unindexed_peaks


def test_identify_with_ka2_stripped_at_a_coarse_step_has_no_spurious_peaks():
    # The same pattern at 0.02° step: stripping leaves ~1 % interpolation residue and more
    # noise at the Kα2 positions of strong lines (Si 311); neither may become a peak.
    da, _ = structure_pattern(
        {"Si": 1.0, "Cu": 1.5},
        lattices={"Si": {"a": 5.4330}},
        sizes_nm={"Si": 50.0, "Cu": 200.0},
        displacement_mm=0.1,
        seed=3,
        two_theta=np.arange(15.0, 100.0 + 1e-9, 0.02),
    )
    res = identify_phases(da, library=LIBRARY, ka2="strip")
    assert sorted(p.name for p in res.present) == ["Cu", "Si"]
    assert not res.unindexed_peaks
    assert res.phase("Si").lattice["a"] == pytest.approx(5.4330, abs=0.0005)
    assert res.corrections["displacement_mm"] == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize(
    ("weights", "standard"),
    [
        ({"LATP": 1.0, "AlPO4": 0.15, "TiO2-rutile": 0.1}, None),  # LATP electrolyte
        ({"Si": 0.3, "Cu": 1.0, "graphite": 0.5, "Li15Si4": 0.5, "LiF": 0.1}, "Cu"),  # cycled
    ],
)
def test_generated_battery_mixtures(weights, standard):
    # LATP with a cell off the reference one (8.51, 20.86 vs 8.50, 20.82 Å) must still be
    # found and refined; minor impurities found; nothing else from the 21-phase library.
    da, _ = structure_pattern(
        weights,
        lattices={"LATP": {"a": 8.51, "c": 20.86}},
        sizes_nm=dict.fromkeys(weights, 80.0),
        displacement_mm=0.1,
        two_theta=np.arange(10, 80, 0.01),
        seed=2,
    )
    res = identify_phases(da, library=LIBRARY)
    assert sorted(p.name for p in res.present) == sorted(weights)
    assert res.corrections["standard"] == standard
    assert not res.unindexed_peaks
    if "LATP" in weights:
        lat = res.phase("LATP").lattice
        assert lat["a"] == pytest.approx(8.51, abs=0.002)
        assert lat["c"] == pytest.approx(20.86, abs=0.005)


@pytest.mark.parametrize("cu3si", [0.0, 0.2])
def test_generated_cu3si_on_si_and_cu(cu3si):
    # Cu3Si (subcell lines at 44.8° and 45.3°, next to Cu(111) 43.3° and Si(220) 47.3°) is
    # found when the pattern holds it and reported absent when it does not; Si and Cu stay.
    # Its cell is set off the reference one (4.04017, 2.43703 Å) to exercise the refinement.
    truth = {"a": 4.046, "c": 2.441}
    da, _ = structure_pattern(
        {"Si": 1.0, "Cu": 1.5, "Cu3Si": cu3si},
        lattices={"Cu3Si": truth},
        sizes_nm={"Si": 60.0, "Cu": 200.0, "Cu3Si": 60.0},
        displacement_mm=0.1,
        seed=4,
    )
    res = identify_phases(da, library=LIBRARY)
    want = ["Cu", "Cu3Si", "Si"] if cu3si else ["Cu", "Si"]
    assert sorted(p.name for p in res.present) == want
    assert not res.unindexed_peaks
    c = res.phase("Cu3Si")
    if cu3si:
        assert c.lattice["a"] == pytest.approx(truth["a"], abs=0.002)
        assert c.lattice["c"] == pytest.approx(truth["c"], abs=0.002)
        # (101) and (110), which pymatgen labels (2-10): both strong subcell lines indexed
        assert {tuple(sorted(map(abs, p.hkl))) for p in c.peaks} >= {(0, 1, 1), (0, 1, 2)}
    else:
        assert not c.present and c.score < 0.45


def test_amorphous_hump_pristine_vs_cycled():
    kw = {"sizes_nm": {"Si": 80.0}, "seed": 11}
    pristine, _ = structure_pattern({"Si": 1.0, "Cu": 1.0}, **kw)
    cycled, _ = structure_pattern({"Si": 0.15, "Cu": 1.0}, amorphous_hump=30000.0, **kw)
    rp = identify_phases(pristine, library=LIBRARY)
    rc = identify_phases(cycled, library=LIBRARY)
    assert not rp.amorphous_hump["present"]
    assert rc.amorphous_hump["present"]
    assert rc.amorphous_hump["center_deg"] == pytest.approx(28.0, abs=3.0)
    assert rc.si_to_cu_ratio < 0.25 * rp.si_to_cu_ratio


def test_result_document_and_netcdf(si_cu, tmp_path):
    _, _, res = si_cu
    doc = res.to_dict()
    for key in ("source_file", "sample_id", "radiation", "phases", "unindexed_peaks"):
        assert key in doc
    assert set(doc["radiation"]) == {"ka1", "ka2", "ka2_ratio", "source", "ka2_handling"}
    assert doc["radiation"]["ka2_handling"] == "fit"  # the generator's doublet, fitted
    si = next(p for p in doc["phases"] if p["name"] == "Si")
    assert {"a", "b", "c", "alpha", "beta", "gamma", "a_stderr"} <= set(si["lattice"])
    assert {"hkl", "two_theta_obs", "two_theta_calc", "d_obs", "intensity", "fwhm"} <= set(
        si["peaks"][0]
    )
    assert set(si["crystallite_size_nm"]) >= {"scherrer", "williamson_hall"}
    assert "microstrain" in si
    assert {"model", "standard", "zero_shift_deg", "displacement_mm"} <= set(doc["corrections"])
    ds = res.to_dataset()
    back = load_netcdf(save_netcdf(ds, tmp_path / "r.nc"))
    np.testing.assert_allclose(back["best_fit"].values, ds["best_fit"].values)


def test_peak_fits_as_core_fit_result(si_cu):
    _, _, res = si_cu
    fr = res.peak_fit()
    assert fr.analysis == "xrd.peaks"
    assert len(fr.parameters) == 4 * len(res.peaks)
    for i, pk in enumerate(res.peaks):
        c = fr.parameters[f"peak{i}.center"]
        assert c.value == pk.two_theta and c.stderr == pk.two_theta_stderr
        assert 0 < c.stderr < 0.01
    # Generated pseudo-Voigt doublets with Poisson noise, fitted with the same model: the
    # reduced χ² must be close to 1 (it is not when the Kα2 line is ignored, see below).
    assert 0.8 < fr.statistics["redchi"] < 1.3
    assert fr.statistics["success"] and fr.statistics["ndata"] > fr.statistics["nvarys"] > 0
    assert fr.statistics["r2"] > 0.99
    assert fr.derived["si_to_cu_ratio"].value == pytest.approx(res.si_to_cu_ratio)
    doc = fr.to_dict()
    assert doc["model"]["ka2"]["ka2_handling"] == "fit"
    json.dumps(doc, allow_nan=False)


def test_peak_fit_statistics_see_a_wrong_model():
    # The same kind of pattern analysed as if it were Kα1-only: the Kα2 lines are left in the
    # residual (or fitted as extra peaks), and the statistics say so.
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.5}, sizes_nm={"Si": 50.0}, seed=4)
    good = identify_phases(da, library=LIBRARY).peak_fit()
    wrong = identify_phases(da, library=LIBRARY, ka2_ratio=0.0).peak_fit()
    assert wrong.statistics["redchi"] > 2 * good.statistics["redchi"] or len(
        wrong.parameters
    ) > 1.5 * len(good.parameters)


def test_split_pseudo_voigt_recovers_an_asymmetric_peak():
    # One Kα1 line with a low-angle tail (axial divergence): left FWHM 0.15°, right 0.09°,
    # i.e. FWHM 0.12° and asymmetry (right/left) 0.6, at 28.44°; Poisson noise.
    from charact.core.lineshapes import split_pseudo_voigt
    from charact.xrd.analyze import fit_peaks

    x = np.arange(27.0, 30.0, 0.005)
    truth = 100.0 + split_pseudo_voigt(x, 500.0, 28.44, 0.15, 0.09, 0.4)
    y = np.random.default_rng(11).poisson(truth).astype(float)
    rad = Radiation(CU_KA1, None, 0.0, "test")
    bg = np.full_like(x, 100.0)
    (sym,), _, _ = fit_peaks(x, y, bg, [28.44], radiation=rad, fwhm_guess=0.1)
    (spl,), _, _ = fit_peaks(
        x, y, bg, [28.44], radiation=rad, fwhm_guess=0.1, profile="split_pseudo_voigt"
    )
    assert spl.two_theta == pytest.approx(28.44, abs=3 * spl.two_theta_stderr + 1e-4)
    assert spl.asymmetry == pytest.approx(0.6, abs=0.06)
    assert spl.fwhm == pytest.approx(0.12, abs=0.005)
    assert spl.area == pytest.approx(500.0, rel=0.05)
    # The symmetric profile puts the centre on the tail side, off by more than its error.
    assert abs(sym.two_theta - 28.44) > 3 * sym.two_theta_stderr


def test_williamson_hall_exact():
    tt = np.array([28.0, 47.0, 56.0, 69.0, 76.0, 88.0])
    th = np.radians(tt / 2)
    size_nm, strain = 40.0, 2e-3
    beta = 0.9 * CU_KA1 / (size_nm * 10 * np.cos(th)) + 4 * strain * np.tan(th)
    wh = williamson_hall(np.degrees(beta), tt, CU_KA1)
    assert wh["size_nm"] == pytest.approx(size_nm, rel=1e-6)
    assert wh["microstrain"] == pytest.approx(strain, rel=1e-6)
    # Scherrer on one line without strain is the formula itself.
    b = np.degrees(0.9 * CU_KA1 / (500.0 * math.cos(math.radians(14.0))))
    assert float(scherrer_size(b, 28.0, CU_KA1)) == pytest.approx(50.0)


# --------------------------------------------------------------------------- bad input


def _pattern(y, x=None, **attrs):
    x = np.linspace(20, 80, len(y)) if x is None else x
    return xr.DataArray(
        np.asarray(y, float),
        coords={"two_theta": ("two_theta", np.asarray(x, float), {"units": "deg"})},
        dims="two_theta",
        attrs={"wavelength": CU_KA1, "ka2_ratio": 0.0, "source_file": "bad.xy", **attrs},
    )


def test_bad_inputs():
    y = np.full(500, 100.0)
    with pytest.raises(InputError, match="NaN"):
        identify_phases(_pattern(np.where(np.arange(500) == 7, np.nan, y)), library=LIBRARY)
    with pytest.raises(InputError, match="negative counts"):
        identify_phases(_pattern(np.where(np.arange(500) == 7, -5.0, y)), library=LIBRARY)
    x = np.linspace(20, 80, 500)
    x[10] = x[9]
    with pytest.raises(InputError, match="not strictly increasing"):
        identify_phases(_pattern(y, x), library=LIBRARY)
    with pytest.raises(InputError, match="points"):
        identify_phases(_pattern([1.0, 2.0, 3.0]), library=LIBRARY)
    with pytest.raises(InputError, match="unknown wavelength"):
        identify_phases(_pattern(y, wavelength=float("nan")), library=LIBRARY)
    with pytest.raises(InputError, match="standard"):
        identify_phases(_pattern(y), library=LIBRARY, standard="Unobtainium")


def test_no_peaks_means_no_phase():
    rng = np.random.default_rng(0)
    x = np.arange(20, 80, 0.02)
    da = make_spectrum(
        x,
        rng.poisson(200.0, x.size).astype(float),
        axis="two_theta",
        technique="xrd",
        attrs={"wavelength": CU_KA1, "ka2_ratio": 0.0},
    )
    res = identify_phases(da, library=LIBRARY)
    assert res.present == []
    assert any("no peak" in f for f in res.flags)
    assert res.si_to_cu_ratio is None


def test_plain_text_needs_wavelength():
    # MANIFEST: the fityk NaCl export is two columns with no wavelength.
    da = read(shared_file("xrd", "fityk_nacl01.dat"), technique="xrd")
    with pytest.raises(InputError, match="unknown wavelength"):
        identify_phases(da, library=LIBRARY)


# --------------------------------------------------------------------------- real files


@pytest.fixture(scope="module")
def srm640d():
    return identify_phases(
        read(shared_file("xrd", "Si-Std_SRM640d_D8D_20-97_7_16hm.brml")), library=LIBRARY
    )


def test_srm640d_si_only_and_certified_lattice(srm640d):
    # NIST SRM 640d certificate (revision of 26 May 2010): a = 0.543123(8) nm at 22.5 °C
    # (the earlier paper, Black et al., Powder Diffr. 25, 187 (2010), gives 0.543159 nm).
    # Issue 3 asks for |Δa| < 0.002 Å with the correction model stated.
    assert [p.name for p in srm640d.present] == ["Si"]
    si = srm640d.phase("Si")
    assert si.lattice["a"] == pytest.approx(5.43123, abs=0.002)
    assert srm640d.corrections["model"] == "displacement"
    assert srm640d.corrections["standard"] is None
    assert srm640d.radiation.ka2_ratio == 0.0  # Johansson monochromator
    hkls = {tuple(sorted(map(abs, p.hkl))) for p in si.peaks}
    # MANIFEST: reflections in range 111, 220, 311, 400, 331, 422, 511.
    assert hkls == {(1, 1, 1), (0, 2, 2), (1, 1, 3), (0, 0, 4), (1, 3, 3), (2, 2, 4), (1, 1, 5)}


def test_srm1976b_corundum():
    # Literature corundum cell, traced: COD 1000032 (L. Lutterotti, P. Scardi, J. Appl.
    # Cryst. 23, 246 (1990), Rietveld), a = 4.76050(5) Å, c = 12.9956(2) Å. The reference
    # entry's 4.7589 / 12.991 Å (the value usually quoted; not traced to the paper it was
    # credited to) is also met. MANIFEST: a ≈ 4.759, c ≈ 12.99. Issue 3: within 0.003 Å.
    # Only the corundum phase is searched to keep the test fast.
    da = read(shared_file("xrd", "SRM1976b_260105_D8A_20-155_0.008_4s_19hm.brml"))
    res = identify_phases(
        da.sel(two_theta=slice(20, 100)), library=load_phase_library(["corundum"])
    )
    lat = res.phase("corundum").lattice
    assert lat["a"] == pytest.approx(4.76050, abs=0.003)
    assert lat["c"] == pytest.approx(12.9956, abs=0.003)
    assert lat["a"] == pytest.approx(4.7589, abs=0.003)
    assert lat["c"] == pytest.approx(12.991, abs=0.003)
    assert res.radiation.doublet


def test_fluorapatite_vs_gsas():
    # MANIFEST: GSAS converged refinement of these data, a = 9.371724(36) Å,
    # c = 6.885867(37) Å (P6_3/m). Issue 3: within 0.005 Å. 15–70° keeps the test fast
    # (the whole pattern gives a = 9.3718, c = 6.8859 Å).
    da = read(shared_file("xrd", "gsas2tut_FAP.XRA"))
    res = identify_phases(
        da.sel(two_theta=slice(15, 70)), library=load_phase_library(["fluorapatite"])
    )
    lat = res.phase("fluorapatite").lattice
    assert lat["a"] == pytest.approx(9.371724, abs=0.005)
    assert lat["c"] == pytest.approx(6.885867, abs=0.005)


def test_lab6_and_instrument_profile():
    # MANIFEST: LaB6 line-profile standard, SRM 660 series a ≈ 4.1569 Å.
    res = identify_phases(read(shared_file("xrd", "gsas2tut_LaB6_Jan2018.raw")), library=LIBRARY)
    assert [p.name for p in res.present] == ["LaB6"]
    assert res.phase("LaB6").lattice["a"] == pytest.approx(4.1569, abs=0.002)
    prof = fit_instrument_profile(res, standard="LaB6")
    fw = prof.fwhm(np.array([30.0, 60.0]))
    assert np.all((fw > 0.02) & (fw < 0.2))  # a laboratory instrument's width, in degrees


def test_zn_in_sic_zn_text_file():
    # MANIFEST: fityk SiC_Zn.fit gives λ = 1.54051 Å (Kα1) and Zn start values a ≈ 2.67,
    # c ≈ 4.924 Å (hexagonal Zn, NBS: a = 2.6649, c = 4.9468 Å).
    da = read(shared_file("xrd", "fityk_SiC_Zn.dat"), technique="xrd", wavelength=1.54051)
    res = identify_phases(da, library=LIBRARY)
    lat = res.phase("Zn").lattice
    assert res.phase("Zn").present
    assert lat["a"] == pytest.approx(2.665, abs=0.01)
    assert lat["c"] == pytest.approx(4.93, abs=0.03)
    # 3C-SiC is there too (the file's fit script models cubic SiC, start a ≈ 4.35 Å), but
    # its lines are broad (FWHM ≈ 1°, nanocrystalline) and SiC(111) sits in the shoulder of
    # Zn(002): the first peak search finds SiC(220) only, so SiC is reported absent ...
    assert not res.phase("SiC-3C").present
    # ... and the residual search for broad lines finds (111) and (311) as well.
    res = identify_phases(da, library=LIBRARY, broad_lines=True)
    assert sorted(p.name for p in res.present) == ["SiC-3C", "Zn"]
    sic = res.phase("SiC-3C")
    assert {tuple(p.hkl) for p in sic.peaks} >= {(1, 1, 1), (2, 2, 0), (3, 1, 1)}
    # NBS Monograph 25 β-SiC a = 4.3596 Å; the fityk start value is 4.35 Å.
    assert sic.lattice["a"] == pytest.approx(4.3596, abs=0.003)
    assert sic.lattice["a_stderr"] < 0.003
    assert res.phase("Zn").lattice["a"] == pytest.approx(2.665, abs=0.01)


def test_li2co3_zro2_mixture_text_file():
    # MANIFEST: XRD-AutoAnalyzer example "Li2CO3-ZrO2" — Li2CO3 (C2/c) + ZrO2 (monoclinic
    # baddeleyite expected), Cu Kα assumed by that tool; no refined values published. The
    # plain text says nothing of the radiation, so the Cu doublet is given explicitly.
    da = read(shared_file("xrd", "xrdaa_Li2CO3-ZrO2.xy"), technique="xrd")
    res = identify_phases(
        da, library=LIBRARY, wavelength=1.540593, wavelength_ka2=1.544427, ka2_ratio=0.5
    )
    assert sorted(p.name for p in res.present) == ["Li2CO3", "ZrO2-monoclinic"]
    # Both cells stay within 0.5 % of the published structures (Effenberger & Zemann 1979;
    # Howard et al. 1988) they were indexed from.
    for name in ("Li2CO3", "ZrO2-monoclinic"):
        ph = res.phase(name)
        for k in ("a", "b", "c"):
            assert ph.lattice[k] == pytest.approx(ph.reference_lattice[k], rel=0.005)
    assert len(res.unindexed_peaks) <= 2


# --------------------------------------------------------------------------- unexplained intensity


def test_intensity_of_a_phase_outside_the_search_is_flagged():
    # Si + Cu + LiFePO4 generated; only Si and Cu searched: LiFePO4's lines stay unindexed
    # and their share of the fitted intensity is reported and flagged.
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0, "LiFePO4": 1.5}, seed=11)
    lib = [p for p in LIBRARY if p.name in ("Si", "Cu")]
    res = identify_phases(da, library=lib)
    frac = res.statistics["unindexed_intensity_fraction"]
    assert 0.2 < frac < 0.9
    assert any("not indexed by the identified phases" in f for f in res.flags)
    # with the whole library LiFePO4 is found and nearly everything is explained
    full = identify_phases(da, library=LIBRARY)
    assert "LiFePO4" in [p.name for p in full.present]
    assert full.statistics["unindexed_intensity_fraction"] < 0.1
    assert not any("not indexed by the identified phases" in f for f in full.flags)


def test_real_files_unexplained_intensity():
    # Li2CO3 + ZrO2 (XRD-AutoAnalyzer example): both phases explain the pattern.
    mix = identify_phases(
        read(shared_file("xrd", "xrdaa_Li2CO3-ZrO2.xy"), wavelength=CU_KA1), library=LIBRARY
    )
    assert mix.statistics["unindexed_intensity_fraction"] < 0.05
    # The fityk "NaCl" sample read at Cu Ka1 (MANIFEST: no wavelength in the file): its peaks
    # do not fit NaCl at Cu Ka, nothing in the library explains the strong line at 24.7°,
    # and the result says so instead of passing a weak match off as the answer.
    nacl = identify_phases(
        read(shared_file("xrd", "fityk_nacl01.dat"), wavelength=1.54051), library=LIBRARY
    )
    assert nacl.statistics["unindexed_intensity_fraction"] > 0.9
    flag = next(f for f in nacl.flags if "not indexed by the identified phases" in f)
    assert "24.7" in flag


def test_unindexed_intensity_flag_quotes_the_corrected_d_of_the_peak_table():
    # With a sample displacement the flag must quote the strongest unindexed peak's d as the
    # peak table reports it (Peak.d_obs, from the corrected 2θ), not from the raw 2θ.
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0, "LiFePO4": 1.5}, displacement_mm=0.15, seed=11)
    lib = [p for p in LIBRARY if p.name in ("Si", "Cu")]
    res = identify_phases(da, library=lib)
    assert res.corrections["displacement_mm"] == pytest.approx(0.15, abs=0.02)
    loose = [p for p in res.peaks if p.phase is None and np.isfinite(p.area) and p.area > 0]
    top = max(loose, key=lambda p: p.area)
    assert abs(top.two_theta_corrected - top.two_theta) > 0.01
    flag = next(f for f in res.flags if "not indexed by the identified phases" in f)
    assert f"d = {top.d_obs:.4f} Å" in flag
