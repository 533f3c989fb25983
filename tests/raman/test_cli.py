"""``charact raman ...`` through charact.cli.main, as a user would run it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charact.cli import main
from charact.core.store import load_netcdf
from charact.raman.io import write_map_long, write_text_spectrum
from charact.raman.synthetic import STATES, synthetic_map, synthetic_spectrum
from tests.conftest import shared_file


def test_fit_writes_the_result_document(tmp_path, capsys):
    spec = write_text_spectrum(synthetic_spectrum(STATES["cycled-100"], seed=2), tmp_path / "s.txt")
    si = shared_file("raman", "ramanfitting_Si_spectrum01.txt")
    out = tmp_path / "r.json"
    code = main(
        [
            "raman",
            "fit",
            str(spec),
            "--calibrate",
            str(si),
            "--laser-nm",
            "532",
            "--json",
            str(out),
            "--plot",
            str(tmp_path / "r.png"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "I_D/I_G by height" in text and "Si: mixed" in text
    doc = json.loads(out.read_text())
    assert set(doc["peaks"]) == {"c-Si", "a-Si", "D", "G"}
    assert doc["ratios"]["ID_IG_height"] > 0 and "ID_IG_area_stderr" in doc["ratios"]
    assert doc["silicon"]["state"] == "mixed"
    assert doc["carbon"]["La_nm"] is not None
    assert doc["preprocessing"]["calibration"]["measured_cm-1"] > 521
    assert doc["fit"]["success"] is True and "bic" in doc["fit"]
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_fit_forced_model_and_errors(tmp_path, capsys):
    spec = write_text_spectrum(
        synthetic_spectrum(STATES["pristine"], raman_shift=np.arange(100.0, 700.0)),
        tmp_path / "short.txt",
    )
    assert main(["raman", "fit", str(spec), "--model", "carbon-5"]) == 1
    err = capsys.readouterr().err
    assert "short.txt" in err and "cannot apply" in err
    assert main(["raman", "fit", str(spec), "--model", "carbon5"]) == 1
    assert "did you mean" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["raman", "fit", str(empty)]) == 1
    assert "empty.txt" in capsys.readouterr().err


def test_map_command_writes_netcdf_json_and_plot(tmp_path, capsys):
    cube, _ = synthetic_map(4, 5, raman_shift=np.linspace(300, 1900, 600), missing=1)
    src = write_map_long(cube, tmp_path / "map.txt")
    out = tmp_path / "map.nc"
    code = main(
        [
            "raman",
            "map",
            str(src),
            "--out",
            str(out),
            "--json",
            str(tmp_path / "m.json"),
            "--plot",
            str(tmp_path / "m.png"),
        ]
    )
    text = capsys.readouterr()
    assert code == 0, text.err
    assert "19/20 pixels" in text.out
    ds = load_netcdf(out)
    assert ds["center"].dims == ("peak", "y", "x")
    summary = json.loads((tmp_path / "m.json").read_text())
    assert len(summary["pixels_failed"]) == 1
    assert "ID_IG_height" in summary["statistics"]
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_models_command_lists_models(capsys):
    assert main(["raman", "models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"carbon-5", "si-carbon", "c-si"} <= {r["model"] for r in rows}


def test_map_command_reads_wdf_and_chooses_models_per_pixel(tmp_path, capsys):
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    cube, _ = synthetic_map(3, 4, raman_shift=np.linspace(300, 1900, 600), seed=5)
    yy, xx = np.meshgrid(cube["y"].values, cube["x"].values, indexing="ij")
    src = write_wdf(
        tmp_path / "map.wdf",
        cube["raman_shift"].values,
        cube.values.reshape(12, -1),
        xy_um=(xx.ravel(), yy.ravel()),
        ncollected=11,  # interrupted: the last pixel is missing
    )
    out = tmp_path / "map.nc"
    code = main(
        [
            "raman",
            "map",
            str(src),
            "--model",
            "auto",
            "--chunk-pixels",
            "4",
            "--out",
            str(out),
            "--json",
            str(tmp_path / "m.json"),
        ]
    )
    text = capsys.readouterr()
    assert code == 0, text.err
    assert "11/12 pixels" in text.out and "models chosen (si)" in text.out
    ds = load_netcdf(out)
    assert ds.attrs["model_name"] == "auto" and ds.attrs["laser_nm"] == pytest.approx(532.0)
    assert ds["model_si"].dims == ("y", "x")
    summary = json.loads((tmp_path / "m.json").read_text())
    assert summary["model_choice_counts"]["si"]["si"] == 11  # c-Si + a-Si in every pixel
    assert summary["pixels_failed"][0]["reason"] == "missing, NaN or inf data"


def test_fit_command_on_a_truncated_wdf_reports_a_corrupt_file(tmp_path, capsys):
    # The file ends inside the XLST block: a clean error naming the file, no traceback.
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    spec = synthetic_spectrum(STATES["pristine"], seed=1)
    full = write_wdf(tmp_path / "full.wdf", spec["raman_shift"].values, spec.values[None])
    cut = tmp_path / "cut.wdf"
    data = full.read_bytes()
    cut.write_bytes(data[: 512 + 40])  # header + the start of the XLST block
    code = main(["raman", "fit", str(cut)])
    text = capsys.readouterr()
    assert code != 0
    assert "cut.wdf" in text.err and "XLST" in text.err
    assert "Traceback" not in text.err and "struct.error" not in text.err
