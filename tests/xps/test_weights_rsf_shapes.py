"""Counting-statistics weighting, the Thermo RSF set, the LF and GL-tail lineshapes, Li2O from O 1s.

Reference values: Poisson statistics (a channel holding N counts has variance N); the
Quantifications sheet of Hard_carbon_Thermo.xlsx (Avantage atomic %); generated profiles of
known truth (charact.xps.synthetic).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from charact.core.data import make_spectrum
from charact.core.errors import AssumptionWarning, InputError
from charact.core.lineshapes import get_lineshape, gl, gl_tail, la, lf
from charact.core.readers import read
from charact.xps.depth import fit_depth_profile
from charact.xps.fit import fit_region, poisson_sigma
from charact.xps.models import Component, load_rsf, rsf_corrections
from charact.xps.quantify import quantify_level
from charact.xps.synthetic import SEI_TRUTH, synthetic_depth_profile
from charact.xps.vendor import vendor_components
from tests.conftest import shared_file
from tests.xps._levels import make_level

# --------------------------------------------------------------------------- lineshapes


def test_lf_tends_to_la_without_damping_and_damps_the_tail():
    x = np.linspace(280.0, 300.0, 801)
    args = (2.0, 285.0, 0.8, 0.6, 2.0)
    np.testing.assert_allclose(lf(x, *args, 1e7, 0.5), la(x, *args, 0.5), rtol=1e-9, atol=1e-12)
    far = 285.0 + 6.0  # on the slow (alpha) side
    tails = [float(lf(far, *args, w, 0.5)) for w in (40.0, 10.0, 3.0)]
    assert tails[0] > tails[1] > tails[2] > 0  # smaller w damps more (CasaXPS's description)
    assert float(lf(285.0, *args, 3.0, 0.5)) == pytest.approx(2.0, rel=1e-12)


def test_lf_area_is_finite_where_la_diverges():
    # alpha = 0.4 < 1/2: the LA tail decays as |x|^-0.8 (no finite area); LF's damping makes
    # it finite, and the area grows toward LA's as the damping width grows.
    shape = get_lineshape("lf")
    with pytest.raises(InputError):
        get_lineshape("la").numeric_area(height=1.0, center=0.0, fwhm=1.0, alpha=0.4, beta=2.0)
    a_small = shape.numeric_area(height=1.0, center=0.0, fwhm=1.0, alpha=0.4, beta=2.0, w=5.0)
    a_big = shape.numeric_area(height=1.0, center=0.0, fwhm=1.0, alpha=0.4, beta=2.0, w=20.0)
    assert 0 < a_small < a_big < math.inf


def test_gl_tail_is_gl_on_the_low_side_and_decays_on_the_high_side():
    x = np.linspace(-5, 5, 1001)
    y = gl_tail(x, 1.0, 0.0, 1.0, 0.3, 0.2, 0.5)
    g = gl(x, 1.0, 0.0, 1.0, 0.3)
    np.testing.assert_array_equal(y[x <= 0], g[x <= 0])
    assert np.all(y[x > 0] >= g[x > 0])
    # far out the tail is tail_mix * exp(-tail_exp * d)
    assert float(gl_tail(40.0, 1.0, 0.0, 1.0, 0.3, 0.2, 0.5)) == pytest.approx(
        0.2 * math.exp(-0.5 * 40.0), rel=1e-6
    )


def test_lf_component_recovers_generated_truth():
    # A CasaXPS-style LF(0.8, 3, w, m) line in a generated Fe 2p-like region: position and
    # area come back within 0.05 eV and 2 % with the shape parameters known.
    x = np.arange(700.0, 730.0, 0.05)
    shape = {"alpha": 0.8, "beta": 3.0, "w": 8.0, "m": 1.2}
    y = 500.0 + lf(x, 3000.0, 709.0, 2.0, **shape) + 0.0 * x
    y = np.random.default_rng(4).poisson(y).astype(float)
    da = make_spectrum(x, y, axis="binding_energy", technique="xps")
    comp = Component(
        name="Fe2p3", region="Fe2p", be=709.3, be_min=707.0, be_max=711.0, fwhm=1.6,
        fwhm_min=0.5, fwhm_max=5.0, lineshape="lf", shape=shape,
    )  # fmt: skip
    res = fit_region(da, components=[comp], background="linear", reference=None)
    c = res.levels[0].components[0]
    truth_area = get_lineshape("lf").numeric_area(height=3000.0, center=709.0, fwhm=2.0, **shape)
    assert c.be == pytest.approx(709.0, abs=0.05)
    assert c.area == pytest.approx(truth_area, rel=0.02)


def test_per_fwhm_scaling_only_for_width_parameters():
    # "<param>_per_fwhm" makes a width follow the FWHM; GL's m is a mixing fraction, not a
    # width: rejected up front instead of failing mid-fit with m = 0.9 × FWHM.
    x = np.arange(280.0, 290.0, 0.05)
    y = 100.0 + gl(x, 1000.0, 284.8, 1.2, 0.3)
    da = make_spectrum(x, y, axis="binding_energy", technique="xps")
    kw = {"region": "C1s", "be": 284.8, "be_min": 284.0, "be_max": 285.5, "fwhm": 1.2,
          "fwhm_min": 0.5, "fwhm_max": 3.0}  # fmt: skip
    comp = Component(name="C-C", lineshape="gl", shape={"m_per_fwhm": 0.9}, **kw)
    with pytest.raises(InputError, match="no width parameter 'm' to scale with the FWHM"):
        fit_region(da, components=[comp], background="linear", reference=None)
    # LA's m is a Gaussian width: allowed
    comp = Component(name="C-C", lineshape="la", shape={"alpha": 1.5, "beta": 1.5,
                     "m_per_fwhm": 1.0}, **kw)  # fmt: skip
    res = fit_region(da, components=[comp], background="linear", reference=None)
    assert res.levels[0].components[0].be == pytest.approx(284.8, abs=0.05)


# --------------------------------------------------------------------------- weighting


def test_poisson_sigma_from_counts_and_rates():
    y = np.array([0.0, 0.25, 100.0])
    np.testing.assert_allclose(poisson_sigma(y), [1.0, 1.0, 10.0])
    # 100 counts/s over 4 s = 400 counts: sigma = 20 counts = 5 counts/s
    assert poisson_sigma(np.array([100.0]), 4.0)[0] == pytest.approx(5.0)


def _two_peaks(seed):
    x = np.arange(280.0, 296.0, 0.1)
    lam = (
        40.0
        + gl(x, 400.0, 284.8, 1.1, 0.3)
        + gl(x, 40.0, 288.9, 1.2, 0.3)  # a weak O-C=O shoulder, 10 % of the main line
    )
    y = np.random.default_rng(seed).poisson(lam).astype(float)
    return make_spectrum(x, y, axis="binding_energy", technique="xps")


def test_poisson_weights_give_chi_square_one_and_honest_errors():
    # With sigma = sqrt(counts) the reduced chi-square of a correct model on Poisson data is
    # ~1, and the weak component's area errors scatter like their stated standard errors,
    # without the low bias of weights taken from each channel's own noise (that gave a mean
    # pull of -0.62 here; variances from the 7-channel local mean give -0.3).
    truth = 40.0 * get_lineshape("gl").numeric_area(height=1.0, center=0.0, fwhm=1.2, m=0.3)
    pulls, redchis = [], []
    for seed in range(24):
        res = fit_region(
            _two_peaks(seed),
            components=["C-C@284.8", "O-C=O@288.9"],
            background="active-shirley",  # fitted with the peaks, so its error counts too
            reference=None,
            weights="poisson",
        )
        lv = res.levels[0]
        c = lv.components[1]
        pulls.append((c.area - truth) / c.area_stderr)
        redchis.append(lv.redchi)
        assert "poisson" in res.result.model["weights"]
    assert 0.8 < float(np.mean(redchis)) < 1.25
    assert abs(float(np.mean(pulls))) < 0.6
    assert 0.6 < float(np.std(pulls)) < 1.5


def test_unknown_weighting_is_an_input_error():
    with pytest.raises(InputError, match="weights"):
        fit_region(_two_peaks(0), components=["C-C@284.8"], reference=None, weights="chi")


# --------------------------------------------------------------------------- RSF sets


def test_thermo_set_reproduces_the_avantage_quantification():
    # Quantifications sheet of the Avantage workbook: C 97.58, O 2.28, Na 0.14 atomic %
    # (sums of its component rows). charact's thermo factors are back-calculated from that
    # sheet and carry Avantage's transmission and E^0.6 corrections, so the set prescribes
    # exponents 0; quantifying the sheet's own areas must give its atomic % back.
    factors, source = load_rsf("thermo")
    assert "Hard_carbon_Thermo.xlsx" in source
    assert set(factors) == {"C1s", "O1s", "Na1s"}
    assert rsf_corrections("thermo") == {"imfp_exponent": 0.0, "transmission_exponent": 0.0}
    assert rsf_corrections("scofield") == {}
    ds = read(shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx"))
    sheet = {
        "C1s": [14670.27, 3542.5, 1291.44, 9282.29, 133358.13],
        "O1s": [8405.28, 767.98],
        "Na1s": [1119.4],
    }
    be = {"C1s": 284.8, "O1s": 532.3, "Na1s": 1071.9}
    regions = {
        r: make_level(
            [(f"{r}{i}", f"{r}{i}", "", 1.0, be[r], a, 0.01 * a) for i, a in enumerate(v)]
        )
        for r, v in sheet.items()
    }
    q = quantify_level(regions, rsf="thermo")
    assert q.corrections["imfp_exponent"] == 0.0
    assert "included" in q.corrections["transmission"]
    assert q.atomic_percent["C"] == pytest.approx(97.58, abs=0.03)
    assert q.atomic_percent["O"] == pytest.approx(2.28, abs=0.02)
    assert q.atomic_percent["Na"] == pytest.approx(0.14, abs=0.01)
    assert ds.attrs["reader"] == "xps-avantage-xlsx"


def test_thermo_set_names_what_it_lacks():
    li = make_level([("LiF-Li", "LiF", "LiF", 1.0, 56.0, 100.0, 5.0)])
    c = make_level([("C-C", "C-C", "C", 1.0, 284.8, 1000.0, 10.0)])
    with pytest.raises(InputError, match="Li1s"):
        quantify_level({"C1s": c, "Li1s": li}, rsf="thermo")


def test_scofield_corrections_are_stated():
    c = make_level([("C-C", "C-C", "C", 1.0, 284.8, 1000.0, 10.0)])
    f = make_level([("LiF", "LiF", "LiF", 1.0, 685.2, 800.0, 10.0)])
    q = quantify_level({"C1s": c, "F1s": f})
    assert q.corrections["imfp_exponent"] == 0.6
    assert "E_K**0.6" in q.corrections["imfp"]
    assert "transmission-corrected" in q.corrections["transmission"]


# --------------------------------------------------------------------------- Li2O from O 1s


def test_li2o_uses_o1s_when_present():
    # Generated profile with an O 1s region holding Li2O (1 O per formula unit) and the CO3
    # of Li2CO3 (3 O). With O 1s fitted, the stoichiometric reconciliation takes Li2O
    # mostly from the precise O 1s line instead of the weak Li 1s (Scofield 0.057): Li2O %
    # within 0.5 points of the truth at every level, with a smaller stated error than a fit
    # without O 1s, and the Li2O Li/O ratio reported.
    truth = dict(SEI_TRUTH)
    truth["O1s:Li2O-O"] = [v / 2 for v in SEI_TRUTH["Li1s:Li2O"]]
    truth["O1s:CO3-O"] = [3 * v / 2 for v in SEI_TRUTH["Li1s:Li2CO3-Li"]]
    comps = {
        "C1s": ["C-C", "C-O", "O-C=O", "CO3"],
        "F1s": ["LiF"],
        "Li1s": ["LiF-Li", "Li2CO3-Li", "Li2O"],
    }
    ds, tr = synthetic_depth_profile(truth, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        without = fit_depth_profile(ds, regions=["C1s", "F1s", "Li1s"], components=comps)
        with_o = fit_depth_profile(ds, components={**comps, "O1s": ["Li2O-O", "CO3-O"]})
    for lev, (q0, q1) in enumerate(zip(without.quantification, with_o.quantification, strict=True)):
        assert q1.species_percent["Li2O"] == pytest.approx(
            tr["levels"][lev]["species_percent"]["Li2O"], abs=0.5
        )
        assert q1.species_percent_stderr["Li2O"] < q0.species_percent_stderr["Li2O"]
        ratio = q1.consistency["Li2O Li/O"]
        assert ratio["expected"] == pytest.approx(2.0)
        assert math.isfinite(ratio["measured"]) and ratio["stderr"] > 0
    # where Li2O is abundant the raw Li 1s / O 1s ratio also meets the formula
    assert with_o.quantification[-1].consistency["Li2O Li/O"][
        "measured_over_expected"
    ] == pytest.approx(1.0, abs=0.15)


# --------------------------------------------------------------------------- vendor shapes


def test_vendor_components_need_vendor_curves():
    ds = read(shared_file("xps", "lg4x_examples", "PET_C1s.csv"))
    with pytest.raises(InputError, match="no vendor component curves"):
        vendor_components(ds, "C1s")


def test_vendor_components_bad_level_and_empty_curve():
    # A level the file does not have is an InputError (was IndexError); a component curve
    # with no finite points is left out as vendor_fit leaves it out (was "argmax of an
    # empty sequence"), and the others stay paired with their own curves.
    path = shared_file("xps", "theoechem_TFSI_IL_on_Au", "20240228_Au_MPPipTFSIIol3_F_1s.csv")
    ds = read(path)
    with pytest.raises(InputError, match="etch level 5 out of range"):
        vendor_components(ds, "F1s", level=5)
    first = next(v for v in ds.data_vars if str(v).startswith("F1s__component_"))
    ds[first] = ds[first] * np.nan
    pairs = vendor_components(ds, "F1s")
    assert [info["vendor"]["variable"] for _, info in pairs] == ["F1s__component_2"]
    assert pairs[0][0].be == pytest.approx(685.7, abs=0.1)
    assert pairs[0][1]["match_rel_rms"] < 1e-4


# --------------------------------------------------------------------------- CasaXPS Tougaard


def test_u3_tougaard_matches_the_casaxps_region_of_the_feo_file():
    # FeO_analyzed.vms stores its CasaXPS region: "U 3 Tougaard" between 737.52081 and
    # 786.7632 eV kinetic energy with B = 335.44588, C = 551, D = 436 (Tougaard's 3-parameter
    # universal cross-section for polymers, Surf. Interface Anal. 25, 137 (1997)). CasaXPS
    # scales B so that the background meets the data at the high-BE end; charact's Tougaard
    # with the same C, D on the same range must need the same B (within 0.5 %).
    import json

    from charact.xps.backgrounds import tougaard

    ds = read(shared_file("xps", "pynxtools_xps", "FeO_analyzed.vms"))
    casa = json.loads(ds["Fe2p"].attrs["casa_processing"])[0]["regions"][0]
    assert casa["background"] == "U 3 Tougaard"
    b_casa, c, d = (float(v) for v in casa["raw"].split(")")[2].split()[6:9])
    assert (b_casa, c, d) == (335.44588, 551.0, 436.0)
    hv = ds["Fe2p"].attrs["excitation_energy_eV"]
    x = ds["binding_energy_Fe2p"].values
    y = ds["Fe2p"].values[0]
    sel = (x >= hv - casa["end"]) & (x <= hv - casa["start"])
    x, y = x[sel], y[sel]
    unit = tougaard(x, y, B=1.0, C=c, D=d, end_points=1) - y[0]
    b_ours = (y[-1] - y[0]) / unit[-1]
    assert b_ours == pytest.approx(b_casa, rel=0.005)


def test_monte_carlo_errors_of_fractions():
    # Monte-Carlo draws of the parameters from the fit covariance: for a well-determined
    # line the spread matches first-order propagation (within 25 %), and the method is named.
    first = fit_region(
        _two_peaks(1), components=["C-C@284.8", "O-C=O@288.9"], reference=None
    ).levels[0]
    mc = fit_region(
        _two_peaks(1), components=["C-C@284.8", "O-C=O@288.9"], reference=None, monte_carlo=300
    )
    assert mc.result.model["uncertainty"].startswith("Monte Carlo, 300 draws")
    lv = mc.levels[0]
    for a, b in zip(first.components, lv.components, strict=True):
        assert b.fraction == pytest.approx(a.fraction)  # the estimate itself is unchanged
        assert b.fraction_stderr == pytest.approx(a.fraction_stderr, rel=0.25)
        assert b.area_stderr == pytest.approx(a.area_stderr, rel=0.25)


def test_feo_casaxps_quantification_with_the_files_transmission():
    # FeO_analyzed_results.csv (CasaXPS "Peak Area Results"): raw areas 63400.62, 29867.34,
    # 42839.74, 15954.51 at 709.03, 715.73, 722.18, 730.22 eV; RSF 16.42, MFP exponent 0
    # (the file's experimental variable); Area/(RSF*T*MFP) 1430.56, 671.00, 958.37, 355.03
    # and %At Conc 41.89, 19.65, 28.06, 10.40. The VAMAS block records the transmission at
    # every point (read as Fe2p__transmission); dividing each raw area by RSF and by T at its
    # position must give CasaXPS's corrected areas and concentrations.
    ds = read(shared_file("xps", "pynxtools_xps", "FeO_analyzed.vms"))
    t = ds["Fe2p__transmission"]
    assert t.attrs["role"] == "transmission" and t.attrs["units"] == "1"
    published = [
        (709.03, 63400.62, 1430.56, 41.89),
        (715.73, 29867.34, 671.00, 19.65),
        (722.18, 42839.74, 958.37, 28.06),
        (730.22, 15954.51, 355.03, 10.40),
    ]
    x = ds["binding_energy_Fe2p"].values
    for be, raw, corrected, _ in published:
        tv = float(np.interp(be, x, t.values[0]))
        assert raw / (16.42 * tv) == pytest.approx(corrected, rel=2e-4)
    level = make_level(
        [
            (f"p{i}", f"p{i}", "", 1.0, be, raw, 0.01 * raw)
            for i, (be, raw, _, _) in enumerate(published)
        ]
    )
    q = quantify_level(
        {"Fe2p": level},
        rsf={"Fe2p": 16.42},
        excitation_energy=1486.61,
        imfp_exponent=0.0,
        transmission={"Fe2p": (x, t.values[0])},
    )
    assert q.corrections["transmission"].startswith("measured")
    for i, (*_, conc) in enumerate(published):
        assert q.species_percent[f"p{i}"] == pytest.approx(conc, abs=0.01)


def test_depth_profile_uses_a_recorded_transmission():
    ds = read(shared_file("xps", "pynxtools_xps", "FeO_analyzed.vms"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_depth_profile(
            ds,
            regions=["Fe2p"],
            components={"Fe2p": ["A@709", "B@716", "C@722.5", "D@730"]},
            reference=None,
            rsf={"Fe2p": 16.42},
        )
    assert res.quantification[0].corrections["transmission"].startswith("measured")
    # a profile without a transmission column keeps the stated power-law model
    gen, _ = synthetic_depth_profile({"C1s:C-C": [10.0, 5.0]}, etch_times=(0.0, 30.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res2 = fit_depth_profile(gen, components={"C1s": ["C-C"]})
    assert res2.quantification[0].corrections["transmission"].startswith("T(E_K)")
