"""`charact xrd ...` commands, run through charact.cli.main."""

from __future__ import annotations

import json

import pytest

from charact.cli import main
from charact.xrd.io import write_xy
from charact.xrd.synthetic import structure_pattern, xrdml_multi_text
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def pattern_file(tmp_path_factory):
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0}, displacement_mm=0.1, ka2_ratio=0.0, seed=1)
    return write_xy(da, tmp_path_factory.mktemp("xrd") / "electrode.xy")


def test_identify_json_and_plot(pattern_file, tmp_path, capsys):
    out = tmp_path / "r.json"
    png = tmp_path / "r.png"
    rc = main(
        [
            "xrd",
            "identify",
            str(pattern_file),
            "--wavelength",
            "1.5405929",
            "--sample",
            "S-P01",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["sample_id"] == "S-P01"
    assert doc["radiation"]["source"].startswith("option")
    assert {p["name"] for p in doc["phases"] if p["present"]} == {"Si", "Cu"}
    assert doc["corrections"]["standard"] == "Cu"
    assert doc["si_to_cu_ratio"] is not None
    assert png.stat().st_size > 10_000
    assert "Si" in capsys.readouterr().out


def test_identify_without_wavelength_is_a_clear_error(tmp_path, capsys):
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0}, ka2_ratio=0.0, seed=1)
    da.attrs["wavelength"] = float("nan")  # a plain-text file that does not say
    path = write_xy(da, tmp_path / "no_wavelength.xy")
    rc = main(["xrd", "identify", str(path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "unknown wavelength" in err and "Traceback" not in err


def test_refine_named_phases(pattern_file, capsys):
    rc = main(
        [
            "xrd",
            "refine",
            str(pattern_file),
            "--phases",
            "Si,Cu",
            "--wavelength",
            "CuKa1",
            "--print-json",
        ]
    )
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    si = next(p for p in doc["phases"] if p["name"] == "Si")
    assert si["lattice"]["a"] == pytest.approx(5.431, abs=0.002)


def test_instrument_profile_then_identify(tmp_path, capsys):
    prof = tmp_path / "inst.json"
    rc = main(
        [
            "xrd",
            "instrument",
            str(shared_file("xrd", "gsas2tut_LaB6_Jan2018.raw")),
            "--standard",
            "LaB6",
            "--json",
            str(prof),
        ]
    )
    assert rc == 0
    d = json.loads(prof.read_text())
    assert d["model"] == "caglioti" and d["npeaks"] >= 6


def test_bad_wavelength_and_bad_cif(pattern_file, tmp_path, capsys):
    assert main(["xrd", "identify", str(pattern_file), "--wavelength", "copper"]) == 1
    assert "--wavelength" in capsys.readouterr().err
    (tmp_path / "bad.cif").write_text("not a cif at all\n")
    rc = main(
        [
            "xrd",
            "identify",
            str(pattern_file),
            "--wavelength",
            "CuKa1",
            "--phases-dir",
            str(tmp_path),
        ]
    )
    assert rc == 1
    assert "bad.cif" in capsys.readouterr().err


def test_identify_ka2_strip_option(tmp_path, capsys):
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0}, displacement_mm=0.1, seed=2)
    path = write_xy(da, tmp_path / "doublet.xy")
    out = tmp_path / "strip.json"
    rc = main(
        ["xrd", "identify", str(path), "--wavelength", "CuKa", "--ka2", "strip", "--json", str(out)]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["radiation"]["ka2_handling"] == "strip" and doc["settings"]["ka2"] == "strip"
    assert {p["name"] for p in doc["phases"] if p["present"]} == {"Si", "Cu"}
    assert "(strip)" in capsys.readouterr().out
    rc = main(["xrd", "identify", str(path), "--wavelength", "CuKa", "--ka2", "ignore"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "ka2 must be one of fit, strip" in err and "Traceback" not in err


def test_identify_scan_range_option(tmp_path, capsys):
    da, _ = structure_pattern({"Si": 1.0, "Cu": 1.0}, ka2_ratio=0.0, seed=5)
    path = tmp_path / "repeat.xrdml"
    path.write_text(xrdml_multi_text([da, da]))  # the same range scanned twice
    rc = main(["xrd", "identify", str(path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "repeat.xrdml" in err and "overlap" in err and "--scan-range" in err
    assert "Traceback" not in err
    out = tmp_path / "r.json"
    rc = main(["xrd", "identify", str(path), "--scan-range", "2", "--json", str(out)])
    assert rc == 0
    assert {p["name"] for p in json.loads(out.read_text())["phases"] if p["present"]} == {
        "Si",
        "Cu",
    }
