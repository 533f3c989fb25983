"""``charact sem size`` and ``charact sem thickness`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charact.cli import main
from charact.sem.synthetic import cross_section_image, particle_image, write_fei_tiff, write_png


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def fei(tmp_path_factory):
    img, truth = particle_image(shape=(300, 400), n=40, databar_rows=40, bar_px=80, seed=11)
    folder = tmp_path_factory.mktemp("cli")
    return write_fei_tiff(img, folder / "p.tif", pixel_size_nm=10.0, scan_rows=300), truth


def test_sem_size_writes_json_csv_plot_overlay(fei, tmp_path, capsys):
    path, truth = fei
    out_json = tmp_path / "r.json"
    code, out, err = run(
        capsys,
        "sem",
        "size",
        str(path),
        "--json",
        str(out_json),
        "--csv",
        str(tmp_path / "p.csv"),
        "--plot",
        str(tmp_path / "h.png"),
        "--overlay",
        str(tmp_path / "o.png"),
        "--sample",
        "MSiC-P01",
    )
    assert code == 0, err
    assert "SEM particle sizes" in out
    doc = json.loads(out_json.read_text())
    for key in (
        "pixel_size_nm",
        "pixel_size_source",
        "n_particles",
        "n_excluded_edge",
        "ecd_um",
        "d50_ci95_um",
        "feret_max_um",
        "aspect_ratio",
        "circularity",
        "lognormal",
    ):
        assert key in doc
    assert set(doc["ecd_um"]) == {"mean", "std", "median", "d10", "d50", "d90"}
    assert set(doc["lognormal"]) >= {"median_um", "sigma"}
    assert doc["pixel_size_nm"] == 10.0 and doc["pixel_size_source"] == "fei:PixelWidth"
    assert doc["provenance"]["sample_id"] == "MSiC-P01"
    assert abs(doc["n_particles"] - int((~truth.touches_edge).sum())) <= 2
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert len(rows) == doc["n_particles"] + 1
    for name in ("h.png", "o.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sem_size_options_and_several_images(fei, tmp_path, capsys):
    path, _truth = fei
    png = write_png(
        np.asarray(particle_image(shape=(200, 200), n=15, seed=2)[0]), tmp_path / "b.png"
    )
    out_json = tmp_path / "r.json"
    code, _out, err = run(
        capsys,
        "sem",
        "size",
        str(path),
        str(png),
        "--pixel-size",
        "10nm",
        "--no-watershed",
        "--min-size",
        "80nm",
        "--volume",
        "--json",
        str(out_json),
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert [d["pixel_size_source"] for d in doc["images"]] == ["user", "user"]
    assert doc["images"][0]["settings"]["watershed"] is False
    assert "ecd_volume_weighted_um" in doc["images"][0]
    pooled = doc["pooled"]
    assert pooled["n_particles"] == sum(d["n_particles"] for d in doc["images"])
    assert pooled["n_excluded_edge"] == sum(d["n_excluded_edge"] for d in doc["images"])
    lo = min(d["ecd_um"]["d10"] for d in doc["images"])
    assert lo <= pooled["ecd_um"]["d50"] <= max(d["ecd_um"]["d90"] for d in doc["images"])


def test_sem_size_scale_bar_calibrates_png(fei, tmp_path, capsys):
    img, _ = particle_image(shape=(200, 300), n=20, databar_rows=40, bar_px=80, seed=4)
    png = write_png(img, tmp_path / "bar.png")
    out_json = tmp_path / "r.json"
    code, _out, err = run(
        capsys, "sem", "size", str(png), "--scale-bar", "800nm", "--json", str(out_json)
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["pixel_size_source"] == "scale_bar" and doc["pixel_size_nm"] == pytest.approx(10)


def test_sem_size_uncalibrated_reports_pixels(tmp_path, capsys):
    png = write_png(particle_image(shape=(200, 200), n=15, seed=3)[0], tmp_path / "u.png")
    out_json = tmp_path / "u.json"
    code, out, err = run(capsys, "sem", "size", str(png), "--json", str(out_json))
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["pixel_size_nm"] is None and doc["length_unit"] == "px" and "ecd_px" in doc
    assert "uncalibrated" in out


def test_sem_errors_are_messages_not_tracebacks(tmp_path, capsys):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + bytes(50))
    code, _out, err = run(capsys, "sem", "size", str(bad))
    assert code == 1 and "bad.tif" in err and "Traceback" not in err
    png = write_png(particle_image(shape=(100, 100), n=5)[0], tmp_path / "a.png")
    code, _out, err = run(capsys, "sem", "size", str(png), "--pixel-size", "4.47")
    assert code == 1 and "has no unit" in err
    code, _out, err = run(capsys, "sem", "size", str(png), "--min-size", "50nm")
    assert code == 1 and "no pixel size" in err
    code, _out, err = run(capsys, "sem", "size", str(tmp_path / "absent.tif"))
    assert code == 1 and "no such file" in err


def test_sem_thickness(tmp_path, capsys):
    img, _truth = cross_section_image(thickness_px=60.0)
    png = write_png(img, tmp_path / "x.png")
    out_json = tmp_path / "t.json"
    code, _out, err = run(
        capsys,
        "sem",
        "thickness",
        str(png),
        "--pixel-size",
        "50nm",
        "--smooth",
        "1.5",
        "--margin",
        "8",
        "--json",
        str(out_json),
        "--plot",
        str(tmp_path / "t.svg"),
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["thickness_um"]["mean"] == pytest.approx(3.0, rel=0.02)  # 60 px x 50 nm
    assert doc["blur_px"] == pytest.approx(1.5, rel=0.1)  # generated with a 1.5-px blur
    assert set(doc["thickness_um"]) >= {"mean", "std", "min", "max"} and doc["n_columns"] == 600
    assert (tmp_path / "t.svg").read_text().lstrip().startswith("<?xml")


def test_sem_thickness_of_a_sharp_step_is_an_error(tmp_path, capsys):
    # bright above, black below: the one grey pixel of the step is not a layer
    img = np.zeros((100, 100), np.uint8)
    img[:50] = 255
    png = write_png(img, tmp_path / "step.png")
    code, _out, err = run(capsys, "sem", "thickness", str(png), "--pixel-size", "50nm")
    assert code != 0
    assert "found no layer between two others" in err


def test_sem_size_every_pipeline_option_reaches_the_settings(fei, tmp_path, capsys):
    path, truth = fei
    out_json = tmp_path / "o.json"
    code, _out, err = run(
        capsys,
        "sem",
        "size",
        str(path),
        "--threshold",
        "local",
        "--local-block",
        "151",
        "--denoise",
        "gaussian",
        "--denoise-sigma",
        "1.5",
        "--opening",
        "2",
        "--no-fill-holes",
        "--split-depth",
        "0.2",
        "--no-edge-correction",
        "--keep-edge",
        "--json",
        str(out_json),
        "--overlay",
        str(tmp_path / "o.svg"),
        "--plot",
        str(tmp_path / "h.svg"),
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    st = doc["settings"]
    assert (st["threshold"], st["local_block_px"], st["denoise_sigma_px"]) == ("local", 151, 1.5)
    assert (st["opening_px"], st["fill_holes"], st["split_depth"]) == (2, False, 0.2)
    assert st["exclude_edge"] is False and st["edge_correction"] is False
    assert doc["n_excluded_edge"] == 0 and "clustering" in doc
    # edge particles kept: more particles than the interior ones
    assert doc["n_particles"] > int((~truth.touches_edge).sum())
    for name in ("o.svg", "h.svg"):
        assert (tmp_path / name).read_text().lstrip().startswith("<?xml")
