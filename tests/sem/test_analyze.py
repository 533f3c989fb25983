"""Particle sizes, distributions and layer thicknesses against known truth.

Generated images come from charact.sem.synthetic with exact parameters (ECDs of the drawn
ellipses, layer thickness in px); the accuracy targets are those of issue 6 (count 3%, D50 3%,
D10/D90 5%, thickness 2%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import charact
import charact.sem
from charact.core.errors import InputError
from charact.core.store import load_netcdf, save_netcdf
from charact.sem.analyze import (
    fit_lognormal,
    measure_particles,
    measure_thickness,
    pool_results,
    quantify_particles,
    size_distribution,
    weighted_quantile,
)
from charact.sem.io import image_from_array
from charact.sem.segment import segment_particles
from charact.sem.synthetic import cross_section_image, particle_image, write_fei_tiff
from tests.conftest import shared_file

# --------------------------------------------------------------------------- statistics


def test_weighted_quantile_matches_numpy_hazen():
    x = np.random.default_rng(0).lognormal(0, 0.5, 101)
    np.testing.assert_allclose(
        weighted_quantile(x, [0.1, 0.5, 0.9]),
        np.quantile(x, [0.1, 0.5, 0.9], method="hazen"),
        rtol=1e-12,
    )
    # integer weights equal repetition (up to plotting-position details at the median)
    assert weighted_quantile([1.0, 2.0, 3.0], 0.5, [1, 1, 4])[0] == pytest.approx(
        np.quantile([1, 2, 3, 3, 3, 3], 0.5, method="hazen"), abs=0.5
    )


def test_lognormal_mle_matches_scipy_and_its_intervals_cover_95_percent():
    rng = np.random.default_rng(1)
    d = rng.lognormal(math.log(0.3), 0.25, 400)
    fit = fit_lognormal(d)
    s, _loc, scale = stats.lognorm.fit(d, floc=0)  # scipy's MLE as reference
    assert fit.sigma == pytest.approx(s, rel=1e-6)
    assert fit.median == pytest.approx(scale, rel=1e-6)
    # coverage of the 95% intervals over 400 samples of 80 particles: 95% +- 3.3% (3 s.e.)
    hits_m = hits_s = 0
    for _ in range(400):
        f = fit_lognormal(rng.lognormal(math.log(0.3), 0.25, 80))
        hits_m += f.median_ci95[0] < 0.3 < f.median_ci95[1]
        hits_s += f.sigma_ci95[0] < 0.25 < f.sigma_ci95[1]
    assert 0.917 < hits_m / 400 < 0.983
    assert 0.917 < hits_s / 400 < 0.983


def test_volume_weighting_and_bootstrap():
    d = np.random.default_rng(2).lognormal(0, 0.4, 300)
    num = size_distribution(d, n_boot=300)
    vol = size_distribution(d, volume_weighted=True, n_boot=0)
    # for a lognormal the volume-weighted median is exp(mu + 3 sigma^2) (Hatch-Choate)
    assert vol["d50"] == pytest.approx(math.exp(3 * 0.4**2), rel=0.08)
    assert vol["d50"] > num["d50"]
    lo, hi = num["d50_ci95"]
    assert lo < num["d50"] < hi and lo < 1.0 < hi
    assert size_distribution(d, n_boot=300)["d50_ci95"] == num["d50_ci95"]  # seeded


def test_empty_distribution_is_nan_not_an_error():
    out = size_distribution([])
    assert out["n"] == 0 and math.isnan(out["d50"])


# --------------------------------------------------------------------------- particles


@pytest.fixture(scope="module", params=[0, 1])
def synthetic(request, tmp_path_factory):
    img, truth = particle_image(seed=request.param, databar_rows=50)
    path = write_fei_tiff(
        img,
        tmp_path_factory.mktemp("sem") / f"syn{request.param}.tif",
        pixel_size_nm=10.0,
        scan_rows=truth.scan_rows,
    )
    return charact.read(path), truth


def test_synthetic_particles_meet_issue_accuracy(synthetic):
    image, truth = synthetic
    assert image.attrs["pixel_size_nm"] == 10.0  # exact, from the FEI tag
    res = quantify_particles(image, edge_correction=False, n_boot=200)
    ecd_nm = res.particles["ecd"].to_numpy() * 1000
    true_nm = truth.interior_ecd_nm  # the particles fully inside the frame
    assert abs(res.n_particles / true_nm.size - 1) <= 0.03
    t10, t50, t90 = np.quantile(true_nm, [0.1, 0.5, 0.9], method="hazen")
    m10, m50, m90 = np.quantile(ecd_nm, [0.1, 0.5, 0.9], method="hazen")
    assert m50 == pytest.approx(t50, rel=0.03)
    assert m10 == pytest.approx(t10, rel=0.05)
    assert m90 == pytest.approx(t90, rel=0.05)
    doc = res.to_dict()
    assert doc["ecd_um"]["d50"] == pytest.approx(m50 / 1000, rel=1e-9)
    assert doc["pixel_size_source"] == "fei:PixelWidth"
    assert doc["n_excluded_edge"] > 0
    # generated ellipses have aspect ratios in [1, 1.5] and are convex
    assert 1.0 <= doc["aspect_ratio"]["median"] <= 1.5
    assert doc["circularity"]["mean"] > 0.8
    assert 0.9 < doc["solidity"]["mean"] <= 1.0
    assert doc["lognormal"]["sigma"] == pytest.approx(0.25, abs=0.06)  # drawn with sigma 0.25


def test_feret_and_axes_of_a_known_ellipse():
    yy, xx = np.mgrid[0:200, 0:200]
    a, b = 60.0, 30.0  # semi-axes in px, horizontal major axis
    lab = (((xx - 100) / a) ** 2 + ((yy - 100) / b) ** 2 <= 1).astype(int)
    t = measure_particles(lab, pixel_size_nm=1000.0)  # 1 µm pixels: lengths in px == µm
    row = t.iloc[0]
    assert row["feret_max"] == pytest.approx(2 * a, abs=1.5)
    assert row["feret_min"] == pytest.approx(2 * b, abs=1.5)
    assert row["major_axis"] == pytest.approx(2 * a, rel=0.01)
    assert row["minor_axis"] == pytest.approx(2 * b, rel=0.02)
    assert row["ecd"] == pytest.approx(2 * math.sqrt(a * b), rel=0.01)
    assert row["aspect_ratio"] == pytest.approx(2.0, rel=0.02)
    assert row["centroid_x"] == pytest.approx(100.0) and row["solidity"] > 0.97


def test_watershed_splits_touching_pairs_and_can_be_turned_off():
    yy, xx = np.mgrid[0:120, 0:200]
    img = np.zeros((120, 200))
    for cx in (70.0, 70.0 + 0.97 * 40):  # two r=20 discs whose centres are 0.97 x 2r apart
        img[(xx - cx) ** 2 + (yy - 60) ** 2 <= 20**2] = 1.0
    img = image_from_array(
        (img * 200 + 30).astype(np.uint8), pixel_size_nm=5.0, pixel_size_source="user"
    )
    assert segment_particles(img).n_particles == 2
    assert segment_particles(img, watershed=False).n_particles == 1


def test_edge_particles_counted_and_miles_lantuejoul_reduces_bias():
    # big particles in a small frame: excluding edge particles under-counts the large ones
    errs_plain, errs_ml = [], []
    for seed in range(3):
        img, truth = particle_image(
            shape=(300, 400),
            n=40,
            median_nm=500,
            sigma=0.35,
            pixel_size_nm=10.0,
            touching_fraction=0.0,
            seed=seed,
        )
        da = image_from_array(img, pixel_size_nm=10.0, pixel_size_source="user")
        inside = (
            (truth.centres_px[:, 0] >= 0)
            & (truth.centres_px[:, 0] < 300)
            & (truth.centres_px[:, 1] >= 0)
            & (truth.centres_px[:, 1] < 400)
        )
        true_mean = float(np.mean(truth.ecd_px[inside] * 0.01))
        plain = quantify_particles(da, edge_correction=False, n_boot=0)
        ml = quantify_particles(da, n_boot=0)
        assert plain.n_excluded_edge > 0
        errs_plain.append(plain.distribution["mean"] / true_mean - 1)
        errs_ml.append(ml.distribution["mean"] / true_mean - 1)
    assert np.mean(errs_plain) < 0  # the bias the correction exists for
    assert abs(np.mean(errs_ml)) < abs(np.mean(errs_plain))


def test_dark_particles_and_no_particles():
    img, truth = particle_image(shape=(200, 300), n=20, bright=False, seed=7)
    da = image_from_array(img, pixel_size_nm=10.0, pixel_size_source="user")
    res = quantify_particles(da, polarity="dark", edge_correction=False, n_boot=0)
    assert abs(res.n_particles - (~truth.touches_edge).sum()) <= 1
    flat = np.random.default_rng(0).normal(100, 3, (150, 150)).clip(0, 255).astype(np.uint8)
    flat[:, :2] = 250  # a bright strip at the frame edge only: no particle inside
    res = quantify_particles(image_from_array(flat, pixel_size_nm=5.0, pixel_size_source="user"))
    assert res.n_particles == 0
    assert any("no particles" in f for f in res.flags)
    doc = res.to_dict()
    assert doc["ecd_um"]["d50"] is None and doc["n_particles"] == 0


def test_pooling_two_fields_equals_the_joint_distribution():
    results = []
    for seed in (12, 13):
        img, _ = particle_image(shape=(250, 300), n=25, seed=seed)
        da = image_from_array(img, pixel_size_nm=10.0, pixel_size_source="user")
        results.append(quantify_particles(da, n_boot=0))
    pooled = pool_results(results, n_boot=0)
    assert pooled.n_particles == sum(r.n_particles for r in results)
    d = np.concatenate([r.particles["ecd"].to_numpy() for r in results])
    w = np.concatenate([r.particles["ml_weight"].to_numpy() for r in results])
    assert pooled.distribution["d50"] == pytest.approx(weighted_quantile(d, 0.5, w)[0])
    plain = quantify_particles(
        image_from_array(
            np.zeros((50, 50), np.uint8) + np.eye(50, dtype=np.uint8) * 200,
            pixel_size_nm=None,
            pixel_size_source="none",
        ),
        n_boot=0,
    )
    with pytest.raises(InputError, match="cannot pool"):
        pool_results([results[0], plain])


def test_sixteen_bit_image_gives_the_same_particles():
    img, _truth = particle_image(shape=(200, 300), n=20, seed=9)
    n8 = quantify_particles(
        image_from_array(img, pixel_size_nm=10.0, pixel_size_source="user"), n_boot=0
    )
    deep = img.astype(np.uint16) * 257  # the same picture on the 16-bit scale
    n16 = quantify_particles(
        image_from_array(deep, pixel_size_nm=10.0, pixel_size_source="user"), n_boot=0
    )
    assert n16.n_particles == n8.n_particles > 0
    np.testing.assert_allclose(n16.particles["ecd"], n8.particles["ecd"])


def test_blank_image_is_an_input_error():
    blank = image_from_array(
        np.full((50, 50), 255, np.uint8), pixel_size_nm=1.0, pixel_size_source="user"
    )
    with pytest.raises(InputError, match="blank"):
        quantify_particles(blank)
    with pytest.raises(InputError, match="unknown segmentation option"):
        quantify_particles(blank, thershold="li")


def test_threshold_variants_and_min_size():
    img, truth = particle_image(shape=(300, 400), n=40, seed=8)
    image = image_from_array(img, pixel_size_nm=10.0, pixel_size_source="user")
    n_true = (~truth.touches_edge).sum()
    for options in ({"threshold": "li"}, {"threshold": "local"}, {"denoise": "nlmeans"}):
        res = quantify_particles(image, n_boot=0, **options)
        assert abs(res.n_particles / n_true - 1) < 0.06, options
    big = quantify_particles(image, min_size="300nm", n_boot=0)
    assert big.n_excluded_small > 0
    assert (big.particles["ecd"] >= 0.3).all()


def test_size_result_dataset_round_trip_and_csv(synthetic, tmp_path):
    image, _ = synthetic
    res = quantify_particles(image, n_boot=50, volume_weighted=True)
    ds = res.to_dataset()
    assert ds["ecd"].attrs["units"] == "µm" and ds.sizes["particle"] == res.n_particles
    back = load_netcdf(save_netcdf(ds, tmp_path / "r.nc"))
    np.testing.assert_allclose(back["ecd"].values, ds["ecd"].values)
    assert back.attrs["analysis"] == "sem.size"
    csv = res.to_csv().splitlines()
    assert csv[0].startswith("label,area_um2,ecd_um") and len(csv) == res.n_particles + 1
    assert "ecd_volume_weighted_um" in res.to_dict()


# --------------------------------------------------------------------------- thickness


@pytest.mark.parametrize(
    ("thickness_px", "seed", "levels"),
    [
        (150.0, 0, (0.15, 0.55, 0.85)),
        (37.5, 1, (0.15, 0.55, 0.85)),
        # a dark layer between bright resin and grey substrate: the blurred top step passes
        # through the substrate's grey, which must not be taken for the neighbour
        (40.0, 2, (0.8, 0.2, 0.5)),
    ],
)
def test_generated_cross_section_thickness_within_two_percent(thickness_px, seed, levels):
    img, truth = cross_section_image(thickness_px=thickness_px, seed=seed, levels=levels)
    da = image_from_array(img, pixel_size_nm=50.0, pixel_size_source="user")
    res = measure_thickness(da)
    st = res.stats()
    true_um = truth["thickness_nm"] / 1000
    assert st["mean"] == pytest.approx(true_um, rel=0.02)
    assert st["min"] > 0.95 * true_um and st["max"] < 1.05 * true_um
    assert res.n_columns == img.shape[1]
    np.testing.assert_allclose(res.top, truth["top_px"], atol=0.5)
    doc = res.to_dict()
    assert doc["thickness_um"]["mean"] == pytest.approx(st["mean"]) and doc["n_columns"] == 600


def test_thickness_tilt_correction_and_errors():
    img, _truth = cross_section_image(thickness_px=80.0)
    da = image_from_array(img, pixel_size_nm=50.0, pixel_size_source="user")
    flat = measure_thickness(da).stats()["mean"]
    tilted = measure_thickness(da, tilt_deg=30).stats()["mean"]
    assert tilted == pytest.approx(flat / math.cos(math.radians(30)), rel=1e-9)
    with pytest.raises(InputError, match="tilt_deg"):
        measure_thickness(da, tilt_deg=95)
    with pytest.raises(InputError, match="layer must be between"):
        measure_thickness(da, layer=5)
    two = np.full((80, 80), 40, np.uint8)
    two[40:] = 200  # resin on substrate: no layer between two others
    two_da = image_from_array(two, pixel_size_nm=1.0, pixel_size_source="user")
    with pytest.raises(InputError, match="found no layer between two others"):
        measure_thickness(two_da, n_classes=2)


# --------------------------------------------------------------------------- real files


def test_real_touching_colloids_median_diameter():
    # Published value: Monteiro et al., Sci. Rep. 2025 (doi:10.1038/s41598-025-86327-x) and
    # MANIFEST.md: colloidal nanospheres of ~130 nm in GM 59_20; issue 6 asks for 5%.
    image = charact.read(shared_file("sem", "konstanz_colloids", "GM_59_20.tif"))
    res = quantify_particles(image, n_boot=0)
    median_nm = res.to_dict()["ecd_um"]["median"] * 1000
    assert median_nm == pytest.approx(130.0, rel=0.05)
    assert res.n_particles > 300  # hundreds of spheres in hexagonal rafts, split, not merged
    assert res.to_dict()["circularity"]["mean"] > 0.8


def test_real_coating_cross_section_layer_in_pixels():
    # 149_original.png: a bright coating band under dark resin (MANIFEST.md); no scale, so
    # pixels. Read by eye off the image, the band is about 10-16 px thick across the width.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RGBA thesis figure, converted to grey
        image = charact.read(shared_file("sem", "coating_cross_section", "149_original.png"))
    res = measure_thickness(image)
    st = res.stats()
    assert res.unit == "px" and res.n_columns > 0.95 * image.sizes["x"]
    assert 10 < st["mean"] < 16 and st["min"] > 5
