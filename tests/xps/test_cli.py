"""``charact xps ...`` commands through charact.cli.main."""

from __future__ import annotations

import json

import pytest

from charact.cli import main
from charact.xps.io import write_vamas
from charact.xps.synthetic import synthetic_depth_profile
from tests.conftest import shared_file


def test_fit_pet_writes_json_and_plot(tmp_path, capsys):
    pet = shared_file("xps", "lg4x_examples", "PET_C1s.csv")
    out, fig = tmp_path / "pet.json", tmp_path / "pet.svg"
    code = main(
        [
            "xps",
            "fit",
            str(pet),
            "--components",
            "C-C,C-O,O-C=O",
            "--json",
            str(out),
            "--plot",
            str(fig),
            "--constraint",
            "C-O.fwhm=C-C.fwhm",
        ]
    )
    assert code in (0, None)
    text = capsys.readouterr().out
    assert "C-C" in text and "O-C=O" in text
    doc = json.loads(out.read_text())
    comps = doc["levels"][0]["components"]
    assert [c["name"] for c in comps] == ["C-C", "C-O", "O-C=O"]
    assert doc["levels"][0]["components"][0]["be"] == pytest.approx(284.8)
    assert fig.read_text().lstrip().startswith("<?xml")
    assert comps[1]["fwhm"] == pytest.approx(comps[0]["fwhm"])
    assert main(["xps", "fit", str(pet), "--constraint", "C-O=1"]) == 1
    assert "expected COMPONENT.be" in capsys.readouterr().err


def test_depth_profile_cli(tmp_path, capsys):
    ds, _ = synthetic_depth_profile(
        {
            "C1s:C-C": [30, 15, 8],
            "C1s:C-O": [10, 6, 3],
            "F1s:LiF": [5, 15, 25],
            "Li1s:LiF-Li": [5, 15, 25],
        },
        etch_times=(0.0, 60.0, 120.0),
        shifts=(0.0, 0.3, 0.1),
        counts_per_atom=20000.0,
    )
    path = write_vamas(ds, tmp_path / "sei.vms")
    out, fig = tmp_path / "sei.json", tmp_path / "sei.png"
    code = main(
        [
            "xps",
            "depth-profile",
            str(path),
            "--etch-rate",
            "0.1667",
            "--json",
            str(out),
            "--plot",
            str(fig),
            "--plot-fits",
            str(tmp_path / "fits.png"),
            "--monte-carlo",
            "200",
            "--components",
            "C1s=C-C,C-O",
            "--components",
            "F1s=LiF",
            "--components",
            "Li1s=LiF-Li",
        ]
    )
    assert code in (0, None)
    text = capsys.readouterr().out
    assert "gives way" in text
    doc = json.loads(out.read_text())
    assert [lv["etch_time_s"] for lv in doc["levels"]] == [0.0, 60.0, 120.0]
    assert doc["levels"][2]["depth_nm"] == pytest.approx(20.004)
    assert doc["levels"][1]["charge_shift_eV"] == pytest.approx(0.3, abs=0.05)
    assert doc["rsf_source"].startswith("J. H. Scofield")
    assert doc["corrections"]["uncertainty"].startswith("Monte Carlo, 200 draws")
    assert fig.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fits.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_error_is_one_line_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.vms"
    bad.write_text("VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4\n1\n")
    code = main(["xps", "fit", str(bad)])
    assert code == 1
    err = capsys.readouterr().err
    assert "bad.vms" in err and "Traceback" not in err


def test_depth_profile_cli_rejects_bad_components(tmp_path, capsys):
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30, 15]}, etch_times=(0.0, 60.0), shifts=(0.0, 0.1)
    )
    path = write_vamas(ds, tmp_path / "p.vms")
    assert main(["xps", "depth-profile", str(path), "--components", "C1s"]) == 1
    assert "expected REGION=NAME" in capsys.readouterr().err


def test_info_lists_regions_levels_and_vendor_fits(tmp_path, capsys):
    pro = shared_file("xps", "pynxtools_xps", "SnO2_10nm_1.pro")
    xlsx = shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx")
    out = tmp_path / "info.json"
    assert main(["xps", "info", str(pro), str(xlsx), "--json", str(out)]) in (0, None)
    assert "Sn3d5" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc[0]["etch_time_s"][-1] == 600.0
    assert [r["region"] for r in doc[0]["regions"]] == ["Survey", "C1s", "Si2p", "Sn3d5"]
    c1s = next(r for r in doc[1]["regions"] if r["region"] == "C1s")
    assert len(c1s["vendor_components"]) == 5


def test_depth_profile_cli_keys_ties_frees_weights_and_rsf(tmp_path, capsys):
    # The per-level keys of the result document; --constraint REGION:..., the
    # --free-positions switch, --weights and --rsf thermo (which lacks Li and F: one clear
    # line naming the region, no traceback).
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30, 15, 8], "C1s:C-O": [10, 6, 3], "F1s:LiF": [5, 15, 25]},
        etch_times=(0.0, 60.0, 120.0),
        shifts=(0.0, 0.3, 0.1),
        counts_per_atom=20000.0,
    )
    path = write_vamas(ds, tmp_path / "sei.vms")
    out = tmp_path / "sei.json"
    args = ["xps", "depth-profile", str(path), "--components", "C1s=C-C,C-O"]
    args += ["--components", "F1s=LiF", "--json", str(out), "--weights", "none"]
    code = main([*args, "--constraint", "C1s:C-O.fwhm=C-C.fwhm", "--free-positions"])
    assert code in (0, None)
    doc = json.loads(out.read_text())
    lv = doc["levels"][1]
    for key in ("etch_time_s", "depth_nm", "charge_shift_eV", "regions", "atomic_percent"):
        assert key in lv
    for key in ("species_percent", "species_percent_stderr", "consistency"):
        assert key in lv
    c1s = lv["regions"]["C1s"]
    assert {"background", "components", "redchi"} <= set(c1s)
    comp = c1s["components"][1]
    for key in ("name", "species", "be", "fwhm", "area", "fraction", "be_stderr", "area_stderr"):
        assert key in comp
    assert comp["fwhm"] == pytest.approx(c1s["components"][0]["fwhm"])  # tied
    fit = doc["fits"]["C1s"]
    assert fit["model"]["share_positions"] is False
    assert fit["model"]["weights"].startswith("none")
    assert main([*args, "--rsf", "thermo"]) == 1
    err = capsys.readouterr().err
    assert "F1s" in err and "Traceback" not in err
    assert main([*args, "--constraint", "C-O.fwhm=C-C.fwhm"]) == 1
    assert "REGION:COMPONENT" in capsys.readouterr().err


def test_depth_profile_constraint_region_case_and_unknown_region(tmp_path, capsys):
    # A constraint's region is matched as --components' is (any case); a region that is not
    # fitted is an error, not silently dropped.
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30, 15], "C1s:C-O": [10, 6], "F1s:LiF": [5, 15]},
        etch_times=(0.0, 60.0),
        shifts=(0.0, 0.1),
        counts_per_atom=20000.0,
    )
    path = write_vamas(ds, tmp_path / "sei.vms")
    out = tmp_path / "sei.json"
    args = ["xps", "depth-profile", str(path), "--components", "C1s=C-C,C-O"]
    args += ["--components", "F1s=LiF", "--json", str(out), "--free-fwhm"]
    assert main([*args, "--constraint", "c1s:C-O.fwhm=1.7"]) in (0, None)
    doc = json.loads(out.read_text())
    for lv in doc["levels"]:
        assert lv["regions"]["C1s"]["components"][1]["fwhm"] == pytest.approx(1.7)
    capsys.readouterr()
    assert main([*args, "--constraint", "O1s:C-O.fwhm=1.7"]) == 1
    err = capsys.readouterr().err
    assert "'O1s'" in err and "not fitted" in err and "Traceback" not in err


def test_negative_monte_carlo_is_a_usage_error(tmp_path, capsys):
    pet = shared_file("xps", "lg4x_examples", "PET_C1s.csv")
    ds, _ = synthetic_depth_profile(
        {"C1s:C-C": [30, 15]}, etch_times=(0.0, 60.0), shifts=(0.0, 0.1)
    )
    path = write_vamas(ds, tmp_path / "p.vms")
    for cmd, f in (("fit", pet), ("depth-profile", path)):
        assert main(["xps", cmd, str(f), "--monte-carlo", "-3"]) == 2
        assert "--monte-carlo" in capsys.readouterr().err
