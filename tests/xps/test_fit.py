"""Region and depth-profile fitting: generated truth, real files, bad input."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

import charact.xps  # noqa: F401
from charact.core.baselines import estimate_baseline
from charact.core.data import FitResult, make_spectrum
from charact.core.errors import AssumptionWarning, InputError
from charact.core.readers import read
from charact.core.registry import BASELINES, SPECIES
from charact.core.store import load_netcdf, save_netcdf
from charact.xps.backgrounds import shirley, tougaard
from charact.xps.depth import fit_depth_profile
from charact.xps.fit import fit_region, fit_region_levels, parse_reference
from charact.xps.io import get_region, region_names, vendor_fit
from charact.xps.models import component, formula_counts
from charact.xps.synthetic import synthetic_depth_profile
from charact.xps.vendor import vendor_components, window_areas
from tests.conftest import shared_file

DEPTH_COMPONENTS = {
    "C1s": ["C-C", "C-O", "O-C=O", "CO3"],
    "F1s": ["LiF"],
    "Li1s": ["LiF-Li", "Li2CO3-Li", "Li2O"],
}


@pytest.fixture(scope="module")
def depth_fit():
    # Counts high enough that the weak Li 1s region (Scofield 0.057) is well determined: with
    # counting-statistics weights the stated error of the LiF-Li / Li2CO3-Li split is ~0.008
    # here (0.013 at 40000 counts per atom, where the 0.02 target would be a 1.5-sigma test).
    ds, truth = synthetic_depth_profile(counts_per_atom=100000.0, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        res = fit_depth_profile(ds, components=DEPTH_COMPONENTS, etch_rate_nm_per_s=0.1667)
    return ds, truth, res


def test_joint_depth_profile_recovers_generated_truth(depth_fit):
    # Truth: charact.xps.synthetic (positions, FWHM, atoms per component, shifts per level);
    # targets from issue 5: BE within 0.05 eV, area fractions within 0.02, species % within 2.
    _, truth, res = depth_fit
    for lev, tl in enumerate(truth["levels"]):
        shift = res.regions["C1s"].levels[lev].charge_shift_eV
        assert shift == pytest.approx(truth["shifts"][lev], abs=0.03)
        for region, rf in res.regions.items():
            assert rf.levels[lev].charge_shift_eV == pytest.approx(shift)  # same shift per level
            for c in rf.levels[lev].components:
                t = tl["components"][f"{region}:{c.name}"]
                assert c.be == pytest.approx(t["be"], abs=0.05), (lev, c.name)
                assert c.fraction == pytest.approx(t["fraction"], abs=0.02), (lev, c.name)
                # and the stated error covers the deviation
                assert abs(c.fraction - t["fraction"]) < 3 * c.fraction_stderr + 1e-3
        q = res.quantification[lev]
        for s, v in tl["species_percent"].items():
            assert q.species_percent[s] == pytest.approx(v, abs=2.0), (lev, s)
            assert 0 < q.species_percent_stderr[s] < 2.0
        assert sum(q.species_percent.values()) == pytest.approx(100.0)
        # LiF is in F 1s and Li 1s: F/Li must come out 1 (its formula), Li2CO3 C/Li 0.5
        assert q.consistency["LiF F/Li"]["measured"] == pytest.approx(1.0, abs=0.08)
        assert q.consistency["Li2CO3 C/Li"]["measured"] == pytest.approx(0.5, abs=0.06)


def test_depth_document_and_transition(depth_fit):
    _, truth, res = depth_fit
    doc = res.to_dict()
    level = doc["levels"][1]
    for key in (
        "etch_time_s",
        "depth_nm",
        "charge_shift_eV",
        "regions",
        "atomic_percent",
        "species_percent",
        "species_percent_stderr",
        "consistency",
    ):
        assert key in level
    assert level["depth_nm"] == pytest.approx(60 * 0.1667)
    comp = level["regions"]["C1s"]["components"][0]
    assert set(comp) >= {
        "name",
        "species",
        "be",
        "fwhm",
        "area",
        "fraction",
        "be_stderr",
        "area_stderr",
    }
    # truth: organic share 60 % at the surface, inorganic-rich from level 1 on
    org = [
        sum(v for s, v in lv["species_percent"].items() if s in ("C-C/C-H", "C-O", "O-C=O"))
        for lv in truth["levels"]
    ]
    assert org[0] > 50 > org[1]
    assert 0 < res.transition_depth_nm < 60 * 0.1667
    assert "gives way" in res.statement
    ds = res.to_dataset()
    assert ds["species_percent"].attrs["units"] == "%"
    assert ds["etch_depth"].attrs["units"] == "nm"


def test_results_round_trip_through_netcdf(depth_fit, tmp_path):
    _, _, res = depth_fit
    back = load_netcdf(save_netcdf(res.to_dataset(), tmp_path / "depth.nc"))
    np.testing.assert_allclose(
        back["species_percent"].values, res.to_dataset()["species_percent"].values
    )
    fit = FitResult.from_dataset(
        load_netcdf(save_netcdf(res.regions["C1s"].to_dataset(), tmp_path / "c1s.nc"))
    )
    assert fit.analysis == "xps.fit_region"
    assert fit.parameters["shift1"].value == pytest.approx(
        res.regions["C1s"].levels[1].charge_shift_eV
    )
    assert fit.curves["components"].dims == ("etch_level", "component", "binding_energy")


def test_single_region_fit_recovers_truth_with_each_background():
    ds, truth = synthetic_depth_profile(
        {"C1s:C-C": [30.0], "C1s:C-O": [12.0], "C1s:O-C=O": [6.0]},
        etch_times=(0.0,),
        shifts=(0.35,),
        counts_per_atom=8000.0,
        seed=1,
    )
    t = truth["levels"][0]["components"]
    for bg in ("shirley", "active-shirley"):
        res = fit_region(ds, region="C1s", components=["C-C", "C-O", "O-C=O"], background=bg)
        lv = res.levels[0]
        assert lv.charge_shift_eV == pytest.approx(0.35, abs=0.02), bg
        for c in lv.components:
            assert c.be == pytest.approx(t[f"C1s:{c.name}"]["be"], abs=0.05), (bg, c.name)
            assert c.fraction == pytest.approx(t[f"C1s:{c.name}"]["fraction"], abs=0.02), bg
            assert np.isfinite(c.area_stderr) and c.area_stderr > 0
    assert res.levels[0].background["method"] == "active-shirley"
    back = res.to_dataset()
    assert "components" in back and back["best_fit"].attrs["units"] == "counts"


def test_doublet_has_fixed_splitting_and_ratio():
    # Si 2p: splitting 0.61 eV, 2p1/2 : 2p3/2 = 1 : 2 (library, Moulder handbook)
    si = component("Si", "Si2p")
    assert si.doublet == (0.61, 0.5)
    x = np.arange(94.0, 108.0, 0.05)
    from charact.xps.fit import _profile

    y = _profile(si, x, 1000.0, 99.4, 0.8)
    i3, i1 = np.argmin(abs(x - 99.4)), np.argmin(abs(x - 100.01))
    assert y[i3] > y[i1] > 0.4 * y[i3]
    da = make_spectrum(
        x, 50 + y + 0.02 * np.cumsum(y) * 0.05, axis="binding_energy", technique="xps"
    )
    res = fit_region(da, region="Si2p", components=["Si"], reference=None)
    c = res.levels[0].components[0]
    assert c.be == pytest.approx(99.4, abs=0.01)
    # area counts both partners: height × unit area × (1 + 0.5)
    assert c.area == pytest.approx(float(np.trapezoid(y, x)), rel=0.01)


def test_backgrounds_registered_and_shaped():
    assert {"shirley", "tougaard"} <= set(BASELINES.names())
    x = np.linspace(280, 295, 301)
    peak = 1000 * np.exp(-0.5 * ((x - 285) / 0.6) ** 2)
    step = 100 + 200 * np.cumsum(peak) / peak.sum()
    y = peak + step
    b = shirley(x, y, end_points=5)
    assert b[0] == pytest.approx(np.mean(y[:5])) and b[-1] == pytest.approx(np.mean(y[-5:]))
    assert np.all(np.diff(b) >= -1e-9)  # monotonic rise toward high BE
    np.testing.assert_allclose(b, step, atol=5.0)  # the step is exactly Shirley-shaped
    t = tougaard(x, y)
    assert np.mean(t[-5:]) == pytest.approx(np.mean(y[-5:]), rel=1e-6)
    assert np.all(np.diff(t) >= -1e-9)
    t3 = tougaard(x, y, C=551.0, D=436.0)  # 3-parameter form (the FeO file's "U 3 Tougaard")
    assert np.all(np.isfinite(t3))
    da = make_spectrum(x, y, axis="binding_energy", technique="xps")
    base, info = estimate_baseline(da, "shirley")
    np.testing.assert_allclose(base.values, b)
    assert info["method"] == "shirley"


def test_species_library_is_registered_and_cited():
    assert "C1s:C-C" in SPECIES and "F1s:LiF" in SPECIES and "Li1s:Li2O" in SPECIES
    for key in SPECIES.names():
        comp = SPECIES[key]
        assert comp.cite and comp.be_min <= comp.be <= comp.be_max
        assert comp.fwhm_min < comp.fwhm_max
    for region in ("C1s", "F1s", "Li1s", "O1s", "Si2p", "N1s", "S2p"):
        assert any(k.startswith(region + ":") for k in SPECIES.names()), region
    assert formula_counts("Li2CO3") == {"Li": 2, "C": 1, "O": 3}


def test_pet_c1s_gives_three_to_one_to_one():
    # PET (C10H8O4): C-C : C-O : O-C=O = 3:1:1 (MANIFEST, Beamson & Briggs). A small
    # pi-pi* shake-up of the ring is left out, so O-C=O comes out somewhat low.
    ds = read(shared_file("xps", "lg4x_examples", "PET_C1s.csv"))
    res = fit_region(ds, components=["C-C", "C-O", "O-C=O"])
    f = {c.name: c.fraction for c in res.levels[0].components}
    assert f["C-C"] / f["C-O"] == pytest.approx(3.0, rel=0.15)
    assert f["O-C=O"] / f["C-O"] == pytest.approx(1.0, rel=0.15)
    assert res.levels[0].r2 > 0.99


TFSI = [
    "20240220_Au_MPPipTFSI4AMSIol3_C_1s.csv",
    "20240220_Au_MPPipTFSI4AMSIol3_F_1s.csv",
    "20240220_Au_MPPipTFSI4AMSIol3_N_1s.csv",
    "20240220_Au_MPPipTFSI4AMSIol3_O_1s.csv",
    "20240220_Au_MPPipTFSI4AMSIol3_S_2p.csv",
    "20240228_Au_MPPipTFSIIol3_C_1s.csv",
    "20240228_Au_MPPipTFSIIol3_F_1s.csv",
    "20240228_Au_MPPipTFSIIol3_N_1s.csv",
    "20240228_Au_MPPipTFSIIol3_O_1s.csv",
    "20240228_Au_MPPipTFSIIol3_S_2p.csv",
]


@pytest.mark.parametrize("name", TFSI)
def test_avantage_tfsi_fits_are_reproduced(name):
    # Reference: the authors' Avantage fit in the same file (components read back from the
    # exported curves, areas integrated over the exported range as Avantage reports them).
    # charact fits the same components: lineshapes read from the exported component curves
    # (they are LA(1.53, 1.53) with a Gaussian FWHM of 1.68 x F, to <= 1e-4), S 2p doublets
    # with the splitting and area ratio of the exported partner curves, the vendor's background,
    # unweighted least squares as Avantage. Every component, the weak 2-4 % shoulders
    # included, must agree within 0.05 eV and 2 % in area (issue 5).
    ds = read(shared_file("xps", "theoechem_TFSI_IL_on_Au", name))
    region = region_names(ds)[0]
    pairs = vendor_components(ds, region)
    for _, info in pairs:
        assert info["match_rel_rms"] < 1e-4  # the shape read from the curve is the curve
        # the numbers docs/xps.md and charact.xps.vendor state: LA(1.53, 1.53), m/F = 1.68
        assert info["lineshape"] == "la"
        assert info["shape"]["alpha"] == pytest.approx(1.53, abs=0.02)
        assert info["shape"]["beta"] == pytest.approx(1.53, abs=0.02)
        assert info["shape"]["m_per_fwhm"] == pytest.approx(1.68, abs=0.03)
    comps = [c for c, _ in pairs]
    vendor = [info["vendor"] for _, info in pairs]
    if region == "S2p":
        mains, partners = vendor[0::2], vendor[1::2]
        comps = [
            replace(c, doublet=(p["be"] - d["be"], p["area"] / d["area"]))
            for c, d, p in zip(comps[0::2], mains, partners, strict=True)
        ]
        for c in comps:
            assert c.doublet[0] == pytest.approx(1.18, abs=0.01)
            assert c.doublet[1] == pytest.approx(0.5, abs=0.01)
        vendor = [dict(d, area=d["area"] + p["area"]) for d, p in zip(mains, partners, strict=True)]
    bg = ds[f"{region}__background"].values[0]
    res = fit_region(ds, components=comps, background=bg, reference=None, weights="none")
    areas = window_areas(res)
    assert len(areas) == len(vendor) >= 1
    for d, c, a in zip(vendor, res.levels[0].components, areas, strict=True):
        assert c.be == pytest.approx(d["be"], abs=0.05), c.name
        assert a == pytest.approx(d["area"], rel=0.02), c.name


def test_tfsi_charge_reference_from_internal_marker():
    # FIELD_NOTES / MANIFEST: the two TFSI samples are offset by ~0.8 eV in absolute BE while
    # the CF3 F 1s - C 1s separation stays 395.8-395.9 eV. Referencing each sample to its own
    # CF3 C 1s line must bring the F 1s CF3 lines together.
    f1s = []
    for stem in ("20240220_Au_MPPipTFSI4AMSIol3", "20240228_Au_MPPipTFSIIol3"):
        c = read(shared_file("xps", "theoechem_TFSI_IL_on_Au", f"{stem}_C_1s.csv"))
        f = read(shared_file("xps", "theoechem_TFSI_IL_on_Au", f"{stem}_F_1s.csv"))
        cf3_c = max(vendor_fit(c, "C1s"), key=lambda d: d["be"])["be"]
        res = fit_region(
            f,
            components=["CF3@689.0"],
            background="shirley",
            reference=f"shift={292.9 - cf3_c}",
            window=(684.0, 693.0),
        )
        f1s.append((res.levels[0].components[0].be, cf3_c))
    (fa, ca), (fb, cb) = f1s
    assert abs(ca - cb) > 0.5  # the raw offset is real
    # after correction the C 1s CF3 sits at 292.9 eV in both samples
    assert fa - 292.9 == pytest.approx(395.85, abs=0.1)
    assert fb - 292.9 == pytest.approx(395.85, abs=0.1)
    assert fa == pytest.approx(fb, abs=0.1)


def test_hard_carbon_sp2_line_and_total_area():
    # Avantage's fit in Hard_carbon_Thermo.xlsx: sp2 C at 284.53 eV, total C 1s component
    # area 162145 CPS.eV (Quantifications sheet). The exported curves say the lineshapes:
    # GL(30) products (to <= 5e-6) and, for sp2, a GL product with an exponential tail (to 3e-5).
    # The three broad components have the same exported FWHM (1.8306, 1.8306, 1.8301 eV):
    # Avantage tied them, and so does this fit. With those shapes and that tie over the vendor
    # background, charact finds the sp2 line within 0.05 eV and the total area within 2 %.
    ds = read(shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx"))
    pairs = vendor_components(ds, "C1s")
    shapes = {info["name"]: info for _, info in pairs}
    broad = [shapes[n]["vendor"]["fwhm"] for n in ("C1s C-C", "C1s C-O-C", "C1s C=O")]
    assert max(broad) - min(broad) < 0.002
    assert shapes["C1s sp2 C"]["lineshape"] == "gl_tail"
    assert shapes["C1s sp2 C"]["match_rel_rms"] < 1e-4
    assert shapes["C1s sp2 C"]["shape"]["m"] == pytest.approx(0.887, abs=0.01)  # GL(88.7)
    assert shapes["C1s sp2 C"]["match_rel_rms"] < 3e-5  # "to 3e-5" (docs/xps.md)
    for name in ("C1s C-C", "C1s C-O-C", "C1s C=O", "C1s Shake up"):
        assert shapes[name]["lineshape"] == "gl"
        assert shapes[name]["shape"]["m"] == pytest.approx(0.30, abs=0.005)
        assert shapes[name]["match_rel_rms"] <= 5e-6  # "GL(30) to ≤ 5e-6" (docs/xps.md)
    bg = ds["C1s__background"].values[0]
    x = ds[ds["C1s"].dims[1]].values
    ok = np.isfinite(bg)
    res = fit_region(
        ds,
        region="C1s",
        components=[c for c, _ in pairs],
        background=bg,
        reference=None,
        window=(x[ok].min(), x[ok].max()),
        weights="none",
        constraints={"C1s C-O-C.fwhm": "C1s C-C.fwhm", "C1s C=O.fwhm": "C1s C-C.fwhm"},
    )
    fit = {c.name: c for c in res.levels[0].components}
    assert fit["C1s sp2 C"].be == pytest.approx(284.53, abs=0.05)
    assert sum(window_areas(res)) == pytest.approx(162144.6, rel=0.02)


def test_hard_carbon_vendor_split_is_not_a_least_squares_optimum():
    # Why the C-C / C-O-C / C=O split of this workbook cannot be reproduced by fitting: the
    # vendor's own envelope leaves an rms residual of ~960 CPS, while a least-squares fit
    # with the very same lineshapes and background reaches ~210 CPS and moves the broad
    # components far away. Avantage's fit was held by constraints the export does not
    # record, so the split is the analyst's, not the data's (stated in docs/xps.md).
    ds = read(shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx"))
    bg = ds["C1s__background"].values[0]
    x = ds[ds["C1s"].dims[1]].values
    ok = np.isfinite(bg)
    y = ds["C1s"].values[0][ok]
    vendor_rms = float(np.sqrt(np.mean((ds["C1s__envelope"].values[0][ok] - y) ** 2)))
    res = fit_region(
        ds,
        region="C1s",
        components=[c for c, _ in vendor_components(ds, "C1s")],
        background=bg,
        reference=None,
        window=(x[ok].min(), x[ok].max()),
        weights="none",
    )
    ours = float(np.sqrt(np.mean(res.levels[0].curves["residual"].values ** 2)))
    assert ours < 0.5 * vendor_rms


# --------------------------------------------------------------------------- bad input


def _c1s(counts):
    x = np.arange(280.0, 296.0, 0.1)
    return make_spectrum(x, counts(x), axis="binding_energy", technique="xps")


def test_all_zero_and_negative_counts_are_errors():
    with pytest.raises(InputError, match="all counts are zero"):
        fit_region(_c1s(lambda x: 0 * x), region="C1s", components=["C-C"])
    with pytest.raises(InputError, match="negative counts"):
        fit_region(
            _c1s(lambda x: 100 * np.exp(-((x - 285) ** 2)) - 5), region="C1s", components=["C-C"]
        )


def test_axis_not_covering_a_component():
    x = np.arange(280.0, 287.0, 0.1)
    da = make_spectrum(
        x, 100 + 1000 * np.exp(-((x - 284.8) ** 2)), axis="binding_energy", technique="xps"
    )
    with pytest.raises(InputError, match="does not cover component 'CF3'"):
        fit_region(da, region="C1s", components=["C-C", "CF3"])


def test_collapsed_component_is_flagged_not_silent():
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30.0], "C1s:C-O": [12.0]}, etch_times=(0.0,), shifts=(0.0,), seed=2
    )
    res = fit_region(ds, region="C1s", components=["C-C", "C-O", "CF3"])
    assert any("'CF3' collapsed" in f for f in res.flags)
    assert any("collapsed" in f for f in res.result.flags)


def test_unknown_component_reference_and_background():
    ds, _ = synthetic_depth_profile({"C1s:C-C": [30.0]}, etch_times=(0.0,), shifts=(0.0,))
    with pytest.raises(InputError, match="no component 'C-X'.*known: C-C"):
        fit_region(ds, region="C1s", components=["C-X"])
    with pytest.raises(InputError, match="not understood"):
        parse_reference("C-C:284.8")
    with pytest.raises(InputError, match="background 'spline'"):
        fit_region(ds, region="C1s", components=["C-C"], background="spline")
    with pytest.raises(InputError, match="reference component 'LiF'"):
        fit_region_levels(ds, "C1s", components=["C-C"], reference="LiF=685.2")


def test_reference_after_etching_warns():
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30.0, 20.0], "C1s:C-O": [10.0, 8.0]}, etch_times=(0.0, 60.0), shifts=(0.0, 0.2)
    )
    with pytest.warns(AssumptionWarning, match="adventitious carbon may be gone"):
        res = fit_region_levels(ds, "C1s", components=["C-C", "C-O"])
    assert res.levels[1].charge_shift_eV == pytest.approx(0.2, abs=0.05)
    assert get_region(ds, "C1s", level=1).attrs["etch_time_s"] == 60.0


def test_constraints_fix_and_tie_positions_and_widths():
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30.0], "C1s:C-O": [12.0], "C1s:O-C=O": [6.0]},
        etch_times=(0.0,),
        shifts=(0.2,),
        seed=1,
    )
    res = fit_region(
        ds,
        region="C1s",
        components=["C-C", "C-O", "O-C=O"],
        constraints={"C-O.fwhm": "C-C.fwhm", "O-C=O.be": "C-O.be + 2.5"},
    )
    c = {x.name: x for x in res.levels[0].components}
    assert c["C-O"].fwhm == pytest.approx(c["C-C"].fwhm)
    assert c["O-C=O"].be == pytest.approx(c["C-O"].be + 2.5)
    assert c["O-C=O"].be_stderr == pytest.approx(c["C-O"].be_stderr, rel=1e-3)  # tied
    assert res.result.parameters["c2_be"].expr == "c1_be + 2.5"
    fixed = fit_region(
        ds, region="C1s", components=["C-C", "C-O", "O-C=O"], constraints={"O-C=O.be": 289.0}
    )
    assert fixed.levels[0].components[2].be == 289.0
    with pytest.raises(InputError, match="constraint on 'CX.be' not understood"):
        fit_region(ds, region="C1s", components=["C-C"], constraints={"CX.be": 1.0})


def test_tougaard_and_linear_backgrounds_in_a_fit():
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30.0], "C1s:C-O": [12.0]}, etch_times=(0.0,), shifts=(0.0,), seed=4
    )
    for bg in ("tougaard", "linear"):
        res = fit_region(ds, region="C1s", components=["C-C", "C-O"], background=bg)
        lv = res.levels[0]
        assert lv.background["method"] == bg
        # the generated background is Shirley-shaped; others still place the peaks right
        assert lv.components[1].be == pytest.approx(286.45, abs=0.05)


def test_default_library_components_are_pruned_and_flagged():
    ds, truth = synthetic_depth_profile(
        {"C1s:C-C": [30.0, 20.0], "C1s:C-O": [12.0, 8.0], "C1s:CO3": [3.0, 6.0]},
        etch_times=(0.0, 60.0),
        shifts=(0.1, 0.3),
        counts_per_atom=8000.0,
        seed=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        res = fit_region_levels(ds, "C1s")  # every C 1s library component to start with
    names = [c.name for c in res.levels[0].components]
    assert names == ["C-C", "C-O", "CO3"]
    assert any("dropped" in f and "CF3" in f for f in res.flags)
    for lev in range(2):
        for c in res.levels[lev].components:
            t = truth["levels"][lev]["components"][f"C1s:{c.name}"]
            assert c.fraction == pytest.approx(t["fraction"], abs=0.02)


def test_species_classes_and_transition_statement():
    from charact.xps.depth import _transition, classify_species

    assert classify_species("C2H2F2") == "organic"  # PVDF-HFP
    assert classify_species("C") == "organic"
    for f in ("LiF", "Li2CO3", "LiC6", "Li15Si4", "SiO2", "Li2O"):
        assert classify_species(f) == "inorganic", f
    at, tt, text = _transition([70, 40, 20], [30, 60, 80], [0, 60, 120], [0, 10, 20])
    # inorganic - organic = -40 then +20: crosses zero 2/3 of the way from level 0 to 1
    assert at == pytest.approx(2 / 3 * 10) and tt == pytest.approx(40.0)
    assert "gives way" in text and "nm" in text
    _, tt, text = _transition([70, 60], [30, 40], [math.nan, math.nan], [math.nan, math.nan])
    assert tt is None and "no inorganic-rich inner layer" in text


def test_depth_profile_constraints_map_region_case_and_reject_unknown_regions():
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30, 15], "C1s:C-O": [10, 6]},
        etch_times=(0.0, 60.0),
        shifts=(0.0, 0.1),
        counts_per_atom=20000.0,
    )
    comps = {"C1s": ["C-C", "C-O"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        res = fit_depth_profile(
            ds, components=comps, share_fwhm=False, constraints={"c1s": {"C-O.fwhm": 1.7}}
        )
    for lv in res.regions["C1s"].levels:
        assert lv.components[1].fwhm == pytest.approx(1.7)
    with pytest.raises(InputError, match="'F1s', which is not fitted"):
        fit_depth_profile(ds, components=comps, constraints={"F1s": {"LiF.fwhm": 1.7}})
