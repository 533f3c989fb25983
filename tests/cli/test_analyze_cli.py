"""`charact analyze` and `charact compare` end to end on the demo project.

The cycling workbooks, Raman maps and the film's spectra are removed from this copy of the
demo to keep it quick: tests/samples/test_analyze.py and test_report.py check their numbers.
Reference values come from the demo's ``truth/ground_truth.json``.
"""

from __future__ import annotations

import json
import shutil

import pytest

from charact.cli import main
from charact.demo import make_demo_project


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("analyze-cli") / "demo"
    made = make_demo_project(root)
    for path in [*(root / "cycling").glob("*.xlsx"), *(root / "raman").glob("*_map.txt")]:
        path.unlink()
    shutil.rmtree(root / "conductivity")
    return {"root": root, "truth": made.truth}


def test_analyze_then_again_then_compare(demo, capsys, tmp_path):
    root = str(demo["root"])
    code, out, err = run(capsys, "analyze", root)
    assert code == 0, err
    assert "14 analysed, 0 skipped (unchanged), 0 failed" in out
    assert "raman.fit" in out and "echem.eis" in out

    code, out, _ = run(capsys, "analyze", root, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["analysed"] == [] and len(report["skipped"]) == 14 and report["failed"] == []

    target = tmp_path / "compare.json"
    code, out, err = run(
        capsys, "compare", "MSiC-P01", "MSiC-C500", "-p", root, "--json", str(target)
    )
    assert code == 0, err
    assert "crystalline Si no longer detected in MSiC-C500" in " ".join(out.split())
    for title in ("xrd", "raman", "echem"):
        assert title in out
    doc = json.loads(target.read_text(encoding="utf-8"))
    idig = next(r for r in doc["techniques"]["raman"]["rows"] if r["quantity"].startswith("I_D"))
    true_p01 = demo["truth"]["MSiC-P01"]["raman"][0]["ID_IG_height"]  # 2.33
    assert idig["values"]["MSiC-P01"]["value"] == pytest.approx(true_p01, rel=0.03)
    r1 = next(r for r in doc["techniques"]["echem"]["rows"] if r["quantity"] == "R_SEI (R1)")
    true_r1 = demo["truth"]["MSiC-C500"]["echem"]["parameters"]["R1"]
    assert r1["values"]["MSiC-C500"]["value"] == pytest.approx(true_r1, rel=0.02)


def test_force_recomputes_everything(demo, capsys):
    code, out, _ = run(capsys, "analyze", str(demo["root"]), "--force", "--json")
    assert code == 0
    assert len(json.loads(out)["analysed"]) == 14


def test_failed_file_is_reported_and_exit_status_is_1(demo, capsys):
    root = demo["root"]
    lines = (root / "raman" / "MSiC-C500_spot1.txt").read_text(encoding="utf-8").splitlines()
    cut = root / "raman" / "MSiC-C500_spot7.txt"
    cut.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    try:
        code, out, err = run(capsys, "analyze", str(root))
    finally:
        cut.unlink()
    assert code == 1
    assert "0 analysed, 14 skipped (unchanged), 1 failed" in out
    flat = " ".join(err.split())
    assert "failed: raman/MSiC-C500_spot7.txt" in flat and "no Raman band" in flat
    assert "Traceback" not in err


def test_compare_errors_are_messages(demo, capsys):
    code, _, err = run(capsys, "compare", "MSiC-P01", "MSiC-X500", "-p", str(demo["root"]))
    assert code == 1 and "MSiC-X500" in err and "Traceback" not in err
    code, _, err = run(capsys, "compare", "MSiC-P01", "-p", str(demo["root"]))
    assert code == 1 and "at least two" in err
