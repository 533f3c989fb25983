"""`analyze_project` and `compare_samples` on the demo project, checked against its ground truth.

Every reference value comes from ``truth/ground_truth.json``, which :mod:`charact.demo` writes
from the exact parameters it generated the files with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from charact.core.errors import InputError
from charact.samples import Catalog
from charact.samples.analyze import (
    analysis_settings,
    analyze_measurement,
    analyze_project,
)
from charact.samples.compare import compare_samples

#: 3 XRD, 4 Raman spectra + 3 maps, 2 XPS, 3 SEM, 2 cycling, 2 EIS, 5 EIS of the film
N_MEASUREMENTS = 24
#: the film's five spectra give one conductivity result
N_RESULTS = 20


@pytest.fixture(scope="module")
def demo(analysed_demo: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the session's analysed demo project: these tests change files and settings."""
    root = tmp_path_factory.mktemp("analyze") / "demo"
    shutil.copytree(analysed_demo["root"], root)
    cat = Catalog(root)
    yield {
        "root": root,
        "truth": analysed_demo["truth"],
        "catalog": cat,
        "first": analysed_demo["report"],
    }
    cat.close()


def _row(section: dict, quantity: str) -> dict:
    return next(r for r in section["rows"] if r["quantity"] == quantity)


def test_first_run_analyses_every_measurement(demo):
    report, cat, root = demo["first"], demo["catalog"], demo["root"]
    assert report.failed == []
    assert len(cat.measurements()) == N_MEASUREMENTS
    assert len(report.analysed) == N_RESULTS
    assert report.skipped == []
    kinds = sorted(a["analysis"] for a in report.analysed)
    assert kinds.count("echem.cycling") == 2 and kinds.count("echem.eis") == 2
    assert kinds.count("raman.fit") == 4 and kinds.count("xrd.identify") == 3
    assert kinds.count("raman.map") == 3 and kinds.count("echem.conductivity") == 1
    results = cat.results()
    assert len(results) == N_RESULTS
    for r in results:
        path = root / r["result_file"]
        assert path.is_file() and path.parent == root / ".charact" / "results"
        assert path.name.startswith(f"{r['analysis']}-") and r["settings_hash"] in path.name
        doc = json.loads(path.read_text(encoding="utf-8"))
        sha = doc["source_sha256"]
        assert (sorted(sha) if isinstance(sha, list) else [sha]) == sorted(r["inputs"])
        assert doc["sample_id"] == r["sample_id"]
    cyc = cat.results("MSiC-C500", analysis="echem.cycling")[0]["parameters"]
    assert cyc["cycles"] == 500


def test_second_run_recomputes_nothing(demo):
    report = analyze_project(demo["catalog"])
    assert report.analysed == [] and report.failed == []
    assert len(report.skipped) == N_RESULTS


def test_compare_pristine_and_cycled_matches_ground_truth(demo):
    truth = demo["truth"]
    doc = compare_samples(demo["catalog"], ["MSiC-P01", "MSiC-C500"])
    assert doc["samples"] == ["MSiC-P01", "MSiC-C500"]
    tech = doc["techniques"]

    # XRD: the demo draws Si (weight 1.0) + Cu for P01 and Cu only (Si weight 0.0) for C500.
    assert truth["MSiC-P01"]["xrd"]["phases"]["Si"] > 0
    assert truth["MSiC-C500"]["xrd"]["phases"]["Si"] == 0
    si = _row(tech["xrd"], "Si present")["values"]
    assert si["MSiC-P01"]["value"] is True and si["MSiC-C500"]["value"] is False
    assert any("crystalline Si no longer detected in MSiC-C500" in s for s in doc["statements"])

    # Raman I_D/I_G by height: truth = D height / G height of the generated bands.
    idig = _row(tech["raman"], "I_D/I_G (height)")
    true_p01 = truth["MSiC-P01"]["raman"][0]["ID_IG_height"]
    true_c500 = [s["ID_IG_height"] for s in truth["MSiC-C500"]["raman"]]
    assert true_p01 == pytest.approx(2.33)
    p01, c500 = idig["values"]["MSiC-P01"], idig["values"]["MSiC-C500"]
    assert p01["value"] == pytest.approx(true_p01, rel=0.03)
    assert c500["value"] == pytest.approx(sum(true_c500) / len(true_c500), rel=0.03)
    assert c500["n"] == 2 and c500["value"] < p01["value"]
    diff = idig["differences"]["MSiC-C500"]
    assert diff["value"] == pytest.approx(c500["value"] - p01["value"])
    assert diff["stderr"] == pytest.approx((p01["stderr"] ** 2 + c500["stderr"] ** 2) ** 0.5)
    state = _row(tech["raman"], "Si state")["values"]
    assert state["MSiC-P01"]["value"] == "crystalline"
    assert state["MSiC-C500"]["value"] == "amorphous"

    # Electrochemistry of C500: initial CE and R1 (R_SEI, the faster arc) of the generated data.
    echem = truth["MSiC-C500"]["echem"]
    ice = _row(tech["echem"], "initial CE")["values"]["MSiC-C500"]["value"]
    assert ice == pytest.approx(echem["initial_ce"], rel=0.005)
    r_sei = _row(tech["echem"], "R_SEI (R1)")["values"]["MSiC-C500"]
    assert r_sei["value"] == pytest.approx(echem["parameters"]["R1"], rel=0.02)
    assert r_sei["stderr"] > 0
    r_ct = _row(tech["echem"], "R_ct (R2)")["values"]["MSiC-C500"]
    assert r_ct["value"] == pytest.approx(echem["parameters"]["R2"], rel=0.02)
    retention = _row(tech["echem"], "retention")["values"]["MSiC-C500"]["value"]
    assert retention == pytest.approx(0.53, rel=0.01)  # the demo's linear fade to 53 %

    # XPS: C500 has a depth profile, P01 none; its LiF share grows with depth (demo SEI model).
    assert "xps" in doc["no_results"]["MSiC-P01"]
    assert any("LiF share of MSiC-C500" in s for s in doc["statements"])
    json.dumps(doc)  # JSON-friendly as it is


def test_xps_lif_share_and_sem_d50_match_ground_truth(demo):
    truth = demo["truth"]
    doc = compare_samples(demo["catalog"], ["MSiC-P01", "MSiC-C500"])
    # XPS: the demo's charact.toml names the generated components and the etch rate; the
    # truth is the LiF share of detected atoms per level (synthetic_depth_profile).
    levels = truth["MSiC-C500"]["xps"]["levels"]["levels"]
    rows = [r for r in doc["techniques"]["xps"]["rows"] if r["quantity"].startswith("LiF %")]
    assert len(rows) == len(levels) == 4
    # Issue 5 asks for species % within 2 points. At the demo's realistic (weak) Li 1s signal
    # the raw component sums were off by 1.3-2.5 points (up to 7 on other seeds); with the
    # stoichiometric reconciliation (LiF atoms mostly from F 1s) they are within 0.7 here.
    for row, level in zip(rows, levels, strict=True):
        assert row["values"]["MSiC-C500"]["value"] == pytest.approx(
            level["species_percent"]["LiF"], abs=2.0
        )
    assert "(10 nm)" in rows[1]["quantity"]  # 60 s at 0.1667 nm/s
    assert any("LiF share of MSiC-C500's SEI grows with depth" in s for s in doc["statements"])
    # SEM: D50 of the particles drawn fully inside the frame.
    d50 = _row(doc["techniques"]["sem"], "D50 (ECD)")["values"]["MSiC-P01"]["value"]
    assert d50 == pytest.approx(truth["MSiC-P01"]["sem"]["ecd_um"]["median"], rel=0.03)


def test_compare_three_samples(demo):
    doc = compare_samples(demo["catalog"], ["MSiC-C100", "MSiC-C500", "MSiC-P01"])
    truth = demo["truth"]
    r_sei = _row(doc["techniques"]["echem"], "R_SEI (R1)")
    for sid in ("MSiC-C100", "MSiC-C500"):
        true_r1 = truth[sid]["echem"]["parameters"]["R1"]
        assert r_sei["values"][sid]["value"] == pytest.approx(true_r1, rel=0.02)
    assert set(r_sei["differences"]) == {"MSiC-C500"}  # P01 has no impedance spectrum
    capacity = _row(doc["techniques"]["echem"], "last delithiation capacity")["values"]
    assert capacity["MSiC-C500"]["value"] < capacity["MSiC-C100"]["value"]
    assert doc["no_results"]["MSiC-P01"] == ["echem", "xps"]


def test_compare_rejects_unknown_and_single_samples(demo):
    from charact.core.errors import UnknownSampleError

    with pytest.raises(UnknownSampleError, match="MSiC-P0l"):
        compare_samples(demo["catalog"], ["MSiC-P0l", "MSiC-C500"])
    with pytest.raises(InputError, match="at least two"):
        compare_samples(demo["catalog"], ["MSiC-P01"])


def test_changing_raman_settings_recomputes_only_raman(demo):
    root, cat = demo["root"], demo["catalog"]
    config = root / "charact.toml"
    original = config.read_text(encoding="utf-8")
    config.write_text(original + "\n[raman]\nsi_reference = 520.7\n", encoding="utf-8")
    try:
        report = analyze_project(cat)
        assert report.failed == []
        assert {a["analysis"] for a in report.analysed} == {"raman.fit", "raman.map"}
        assert len(report.analysed) == 7 and len(report.skipped) == N_RESULTS - 7
        doc = compare_samples(cat, ["MSiC-P01", "MSiC-C500"])
        assert "raman" in doc["techniques"]
    finally:
        config.write_text(original, encoding="utf-8")
    # Back to the old settings: their results are still stored, nothing to recompute.
    assert analyze_project(cat).analysed == []


def test_unknown_setting_fails_that_technique_naming_the_file(demo):
    root, cat = demo["root"], demo["catalog"]
    config = root / "charact.toml"
    original = config.read_text(encoding="utf-8")
    config.write_text(original + "\n[sem]\npixel_sise = 5\n", encoding="utf-8")
    try:
        report = analyze_project(cat)
    finally:
        config.write_text(original, encoding="utf-8")
    sem = sorted(f"sem/{sid}_powder_001.tif" for sid in ("MSiC-P01", "MSiC-C100", "MSiC-C500"))
    assert sorted(p for p, _ in report.failed) == sem
    assert all("charact.toml" in why and "pixel_sise" in why for _, why in report.failed)
    assert len(report.skipped) == N_RESULTS - 3


def test_failing_files_are_reported_and_the_rest_finish(demo):
    root, cat = demo["root"], demo["catalog"]
    # A spectrum cut to 100-135 cm^-1 reads fine but holds no band to fit; a truncated
    # workbook cannot be read at all. Both are linked to MSiC-P01 by their names.
    lines = (root / "raman" / "MSiC-P01_spot1.txt").read_text(encoding="utf-8").splitlines()
    cut = root / "raman" / "MSiC-P01_spot9.txt"
    cut.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    broken = root / "cycling" / "MSiC-P01_cut.xlsx"
    broken.write_bytes((root / "cycling" / "MSiC-C500.xlsx").read_bytes()[:5000])
    try:
        report = analyze_project(cat)
    finally:
        cut.unlink()
        broken.unlink()
    reasons = dict(report.failed)
    assert set(reasons) == {"raman/MSiC-P01_spot9.txt", "cycling/MSiC-P01_cut.xlsx"}
    assert "MSiC-P01_spot9.txt" in reasons["raman/MSiC-P01_spot9.txt"]
    assert "no Raman band" in reasons["raman/MSiC-P01_spot9.txt"]
    assert "MSiC-P01_cut.xlsx" in reasons["cycling/MSiC-P01_cut.xlsx"]
    assert len(report.skipped) == N_RESULTS
    # The readable one was catalogued; now that it is gone it is reported, not failed.
    again = analyze_project(cat)
    assert again.failed == [] and again.missing == ["raman/MSiC-P01_spot9.txt"]


def test_analyze_measurement_chooses_cycling_or_eis_from_the_data(demo):
    root, cat = demo["root"], demo["catalog"]
    eis = next(m for m in cat.measurements("MSiC-C500") if m["path"].endswith("_eis.csv"))
    analysis, settings, doc = analyze_measurement(
        eis, root=root, technique_settings={"circuit": "R0-p(R1,CPE1)"}
    )
    assert analysis == "echem.eis" and settings["circuit"] == "R0-p(R1,CPE1)"
    assert doc["circuit"] == "R0-p(R1,CPE1)" and doc["kk"]["valid"] in (True, False)
    assert doc["measurement_id"] == eis["measurement_id"]


def test_analysis_settings_take_mass_and_area_from_the_sample():
    s = analysis_settings("echem.cycling", {"mass_mg": 1.0}, {"mass_mg": "0.57", "area_cm2": 1.13})
    assert s == {"analysis": "echem.cycling", "mass_mg": 0.57, "area_cm2": 1.13}
    assert analysis_settings("raman.fit", {"model": "auto"}, {"mass_mg": 0.57}) == {
        "analysis": "raman.fit",
        "model": "auto",
    }
    with pytest.raises(InputError, match="mass_mg"):
        analysis_settings("echem.cycling", {}, {"mass_mg": "heavy"})


def test_missing_result_file_is_recomputed(demo):
    root, cat = demo["root"], demo["catalog"]
    rel = cat.results("MSiC-P01", analysis="xrd.identify")[0]["result_file"]
    path = Path(root / rel)
    saved = path.read_bytes()
    path.unlink()
    try:
        report = analyze_project(cat)
        assert [a["path"] for a in report.analysed] == ["xrd/MSiC-P01.xy"]
        assert path.is_file()
    finally:
        if not path.is_file():
            path.write_bytes(saved)


def test_raman_map_is_fitted_and_compared(demo):
    from charact.raman.io import write_map_long
    from charact.raman.synthetic import synthetic_map

    root, cat = demo["root"], demo["catalog"]
    cube, truth = synthetic_map(4, 5, seed=3)
    write_map_long(cube, root / "raman" / "MSiC-C100_map.txt")
    report = analyze_project(cat)
    assert report.failed == []
    assert [(a["path"], a["analysis"]) for a in report.analysed] == [
        ("raman/MSiC-C100_map.txt", "raman.map")
    ]
    doc = compare_samples(cat, ["MSiC-P01", "MSiC-C100"])
    row = _row(doc["techniques"]["raman"], "I_D/I_G (height), map mean")
    mean = row["values"]["MSiC-C100"]
    # synthetic_map's truth: the D/G height ratio of every pixel.
    assert mean["n"] == 20
    assert mean["value"] == pytest.approx(float(truth["ID_IG_height"].mean()), rel=0.03)
