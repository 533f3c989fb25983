"""`charact echem ...` commands: tables, JSON documents, figures, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charact.cli import main
from charact.echem.land import write_land_xlsx
from charact.echem.synthetic import cycling_record, impedance_spectrum, write_eis_csv
from tests.conftest import shared_file
from tests.echem.test_eis import CIRCUIT, TRUTH


def test_cycling_json_and_plot(tmp_path, capsys):
    cols, _ = cycling_record([3.0, 2.2], [2.4, 2.1], current_mA=[0.5, 1.0])
    x = write_land_xlsx(cols, tmp_path / "c.xlsx")
    out, png = tmp_path / "c.json", tmp_path / "c.png"
    rc = main(
        [
            "echem",
            "cycling",
            str(x),
            "--mass-mg",
            "1.2",
            "--electrode",
            "anode",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert rc == 0
    assert "CE = delithiation / lithiation" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    c1 = doc["cycles"][0]
    assert set(c1) >= {
        "cycle",
        "charge_mAh",
        "discharge_mAh",
        "charge_mAh_g",
        "discharge_mAh_g",
        "coulombic_efficiency",
    }
    assert c1["coulombic_efficiency"] == pytest.approx(0.8)
    assert doc["initial_ce"] == pytest.approx(0.8)
    assert doc["retention"] == pytest.approx(2.1 / 2.4)
    assert [r["current_mA"] for r in doc["rate_table"]] == pytest.approx([0.5, 1.0])
    assert all({"current_A_g", "capacity_mAh_g", "retention"} <= set(r) for r in doc["rate_table"])
    assert doc["rate_table"][0]["current_A_g"] == pytest.approx(0.5 / 1.2)  # mA / mg = A/g
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_eis_json(tmp_path, capsys):
    f, z = impedance_spectrum(CIRCUIT, TRUTH, noise=0.003, seed=5)
    p = write_eis_csv(f, z, tmp_path / "s.csv")
    out, svg = tmp_path / "e.json", tmp_path / "e.svg"
    rc = main(
        [
            "echem",
            "eis",
            str(p),
            "--circuit",
            CIRCUIT,
            "--drt",
            "--arc-labels",
            "R_SEI,R_ct",
            "--json",
            str(out),
            "--plot",
            str(svg),
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["kk"]["valid"] is True and "mu" in doc["kk"]
    assert doc["circuit"] == CIRCUIT
    assert doc["parameters"]["R1"]["value"] == pytest.approx(20, rel=0.02)
    assert doc["parameters"]["R1"]["stderr"] > 0
    assert set(doc["time_constants_s"]) == {"R_SEI", "R_ct"}
    assert doc["drt"]["method"] == "gcv" and doc["drt"]["lambda"] > 0
    assert all({"tau_s", "R_ohm"} <= set(pk) for pk in doc["drt"]["peaks"])
    assert svg.read_text().lstrip().startswith("<?xml")


def test_cv_and_arrhenius(tmp_path, capsys):
    pytest.importorskip("galvani")
    out = tmp_path / "cv.json"
    assert (
        main(
            [
                "echem",
                "cv",
                str(shared_file("echem", "yadg", "cv.issue_217.mpr")),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert len(doc["cycles"]) == 11
    # MANIFEST: cathodic feature at ~0.41 V, 50 mV/s
    assert np.median([c["cathodic_peaks_V"][0] for c in doc["cycles"]]) == pytest.approx(
        0.41, abs=0.01
    )
    assert doc["scan_rate_V_s"] == pytest.approx(0.05, rel=0.05)
    # the 0.41 V feature is one track over (nearly) every cycle
    main_track = max(
        (t for t in doc["tracks"] if t["direction"] == "cathodic"), key=lambda t: len(t["cycles"])
    )
    assert len(main_track["cycles"]) >= 10 and main_track["mean_E_V"] == pytest.approx(
        0.41, abs=0.01
    )
    out = tmp_path / "a.json"
    assert (
        main(
            ["echem", "arrhenius", "--T-C", "30,70", "--sigma", "4.6e-4,1.3e-3", "--json", str(out)]
        )
        == 0
    )
    assert 0.22 <= json.loads(out.read_text())["arrhenius"]["Ea_eV"] <= 0.235


def test_conductivity_command(tmp_path):
    files = []
    for _k, (r, t) in enumerate([(10.9, 30), (5.6, 50), (3.8, 70)]):
        f, z = impedance_spectrum(
            "p(R1,CPE1)-CPE2",
            {"R1": r, "CPE1_Q": 1e-9, "CPE1_alpha": 0.95, "CPE2_Q": 2e-6, "CPE2_alpha": 0.85},
            f_min=0.1,
            f_max=1e7,
        )
        files.append(str(write_eis_csv(f, z, tmp_path / f"t{t}.csv")))
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "echem",
                "conductivity",
                *files,
                "--thickness-um",
                "50",
                "--area-cm2",
                "1",
                "--temperatures",
                "30,50,70",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["points"][0]["sigma_S_cm"] == pytest.approx(50e-4 / 10.9, rel=0.03)
    assert doc["arrhenius"]["Ea_eV"] > 0 and doc["points"][0]["T_K"] == pytest.approx(303.15)
    assert {"Ea_eV", "Ea_stderr", "sigma0"} <= set(doc["arrhenius"])
    assert {"T_K", "R_ohm", "sigma_S_cm"} <= set(doc["points"][0])


def test_errors_are_printed_without_traceback(tmp_path, capsys):
    rc = main(["echem", "cycling", str(shared_file("echem", "echemistpy", "LANHE_GPCL.ccs"))])
    err = capsys.readouterr().err
    assert rc == 1 and "unsupported" in err and "Traceback" not in err
    f, z = impedance_spectrum(CIRCUIT, TRUTH)
    p = write_eis_csv(f, z, tmp_path / "s.csv")
    rc = main(["echem", "eis", str(p), "--circuit", "R0-p(R1,CPE1"])
    err = capsys.readouterr().err
    assert rc == 1 and "character 13" in err
    rc = main(["echem", "arrhenius", "--T-C", "30,40", "--sigma", "1e-3"])
    assert rc == 1 and "--T-C has 2 values but --sigma has 1" in capsys.readouterr().err


def test_symmetric_command(tmp_path, capsys):
    from charact.echem.synthetic import symmetric_cell_record

    rec = symmetric_cell_record(20, short_at_half_cycle=12)
    p = tmp_path / "sym.csv"
    lines = ["time/s,Ewe/V,<I>/mA"] + [
        f"{t:.3f},{v:.6f},{i * 1e3:.6f}"
        for t, v, i in zip(rec["time_s"], rec["voltage_v"], rec["current_a"], strict=True)
    ]
    p.write_text("\n".join(lines) + "\n")
    out = tmp_path / "s.json"
    assert main(["echem", "symmetric", str(p), "--json", str(out)]) == 0
    assert "soft short suspected" in capsys.readouterr().out
    assert json.loads(out.read_text())["soft_short_at_h"] == pytest.approx(12.5, abs=0.5)


def test_eis_series_on_a_multi_spectrum_file(tmp_path, capsys):
    pytest.importorskip("galvani")
    path = shared_file("echem", "yadg", "peis.issue_149.mpr")  # MANIFEST: 4 spectra x 21
    rc = main(["echem", "eis", str(path)])
    assert rc == 1 and "--spectrum N" in capsys.readouterr().err
    out = tmp_path / "s.json"
    rc = main(
        ["echem", "eis", str(path), "--circuit", "R0-p(R1,CPE1)", "--series", "--json", str(out)]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert [r["spectrum"] for r in doc["series"]] == [0, 1, 2, 3]
    assert all("R1" in r["parameters"] for r in doc["series"])


def _cv_files(tmp_path):
    """Two CSV voltammograms at 10 and 40 mV/s with diffusion-limited peaks (i_p ∝ √v)."""
    files = []
    for v in (0.01, 0.04):
        up = np.linspace(0.2, 0.7, 600)
        e = np.concatenate([up, up[::-1]] * 2)
        d = np.concatenate([np.ones(600), -np.ones(600)] * 2)
        i = 1e-3 * (v / 0.01) * (e - 0.2)
        i += np.where(d > 0, 1e-3 * np.sqrt(v / 0.01) * np.exp(-(((e - 0.45) / 0.02) ** 2)), 0)
        i -= np.where(d < 0, 8e-4 * np.sqrt(v / 0.01) * np.exp(-(((e - 0.38) / 0.02) ** 2)), 0)
        t = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(e)) / v)])
        cyc = np.repeat([1, 2], 1200)
        p = tmp_path / f"cv_{v}.csv"
        rows = [
            f"{a:.6f},{b:.6f},{c * 1e3:.8f},{n}" for a, b, c, n in zip(t, e, i, cyc, strict=True)
        ]
        p.write_text("time/s,Ewe/V,<I>/mA,cycle number\n" + "\n".join(rows) + "\n")
        files.append(str(p))
    return files


def test_cv_several_scan_rates(tmp_path):
    """Two CSV voltammograms at 10 and 40 mV/s with diffusion-limited peaks (i_p ∝ √v):
    the CLI links the peaks over the files and reports b ≈ 0.5."""
    files = _cv_files(tmp_path)
    out = tmp_path / "rates.json"
    assert main(["echem", "cv", *files, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    sr = doc["scan_rate_analysis"]
    assert sr["scan_rates_V_s"] == pytest.approx([0.01, 0.04], rel=1e-3)
    for p in sr["peaks"]:
        assert p["b"] == pytest.approx(0.5, abs=0.05)


def test_cv_tracks_of_every_file_and_single_file_options_warned(tmp_path, capsys):
    files = _cv_files(tmp_path)
    assert main(["echem", "cv", *files]) == 0
    out = capsys.readouterr().out
    # each file's peaks are tracked over its two cycles: printed under each file's table
    first, second = out.split("cv_0.04.csv")
    assert "track " in first and "track " in second
    # with one file the scan-rate options have nothing to act on: said, not silently dropped
    assert main(["echem", "cv", files[0], "--n-electrons", "1", "--area-cm2", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "--n-electrons, --area-cm2 ignored" in " ".join(err.split())
    assert main(["echem", "cv", files[0]]) == 0
    assert "ignored" not in capsys.readouterr().err


def test_conductivity_help_promises_only_what_readers_set(capsys):
    # no reader records a film thickness or a temperature; only EC-Lab headers an area
    assert main(["echem", "conductivity", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "sample metadata" not in text and "temperature attribute" not in text
    assert "EC-Lab" in text
