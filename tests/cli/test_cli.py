"""The command line: each command end to end, JSON output, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from charact.cli import main
from tests.conftest import write_manifest


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("charact ")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for cmd in ("init", "ingest", "samples", "formats", "demo", "read"):
        assert cmd in out


def test_init_ingest_list_show(tmp_path, capsys, two_sample_project):
    code, out, _ = run(capsys, "init", str(tmp_path / "new"))
    assert code == 0 and (tmp_path / "new" / "charact.toml").is_file()

    root = str(two_sample_project)
    code, out, _ = run(capsys, "ingest", root, "--json")
    assert code == 0
    report = json.loads(out)
    assert len(report["added"]) == 4 and report["problems"] == []
    code, out, _ = run(capsys, "ingest", root, "--json")
    assert json.loads(out)["changes"] == 0

    code, out, _ = run(capsys, "samples", "list", "-p", root, "--json")
    listing = json.loads(out)
    assert [s["sample_id"] for s in listing["samples"]] == ["S-C100", "S-P01"]
    assert listing["samples"][1]["measurements"] == {"raman": 1, "xrd": 1}

    code, out, _ = run(capsys, "samples", "show", "S-P01", "-p", root, "--json")
    info = json.loads(out)
    assert code == 0 and len(info["measurements"]) == 2
    assert all(len(m["sha256"]) == 64 for m in info["measurements"])

    code, out, _ = run(capsys, "samples", "show", "S-P01", "-p", root)
    assert code == 0 and "xrd/S-P01.xy" in out


def test_project_is_found_from_cwd(two_sample_project, capsys, monkeypatch):
    monkeypatch.chdir(two_sample_project / "xrd")
    monkeypatch.delenv("CHARACT_PROJECT", raising=False)
    code, _, err = run(capsys, "samples", "list")
    assert code == 0 and "2 sample(s) of samples.csv are not in the catalogue yet" in err
    code, _, _ = run(capsys, "ingest")
    code, out, _ = run(capsys, "samples", "list")
    assert code == 0 and "S-P01" in out


def test_formats_lists_every_reader(capsys):
    from charact.core.registry import READERS

    code, out, _ = run(capsys, "formats", "--json")
    assert code == 0
    assert sorted(r["name"] for r in json.loads(out)) == READERS.names()
    code, out, _ = run(capsys, "formats", "--technique", "xrd", "--json")
    assert {r["technique"] for r in json.loads(out)} == {"xrd"}


def test_read_describes_a_file(two_sample_project, capsys):
    code, out, _ = run(capsys, "read", str(two_sample_project / "xrd" / "S-P01.xy"), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["reader"] == "xrd-xy"
    assert summary["coords"]["two_theta"]["units"] == "deg"


# --------------------------------------------------------------------------- bad input


def test_unknown_sample_is_one_message_and_exit_1(two_sample_project, capsys):
    run(capsys, "ingest", str(two_sample_project))
    code, out, err = run(capsys, "samples", "show", "S-P0", "-p", str(two_sample_project))
    assert code == 1 and out == ""
    assert "error: unknown sample ID 'S-P0'" in err and "did you mean 'S-P01'" in err
    assert "Traceback" not in err


def test_duplicate_sample_and_missing_file_in_manifest(two_sample_project, capsys):
    root = two_sample_project
    write_manifest(root, [{"sample_id": "S-P01"}, {"sample_id": "S-P01"}])
    code, _, err = run(capsys, "ingest", str(root))
    assert code == 1 and "appears twice" in err and "line 2" in err and "line 3" in err
    write_manifest(root, [{"sample_id": "S-P01", "files": "xrd/nothere.xy"}])
    code, _, err = run(capsys, "ingest", str(root))
    assert code == 1 and "'xrd/nothere.xy' of sample 'S-P01' does not exist" in err
    write_manifest(root, [{"sample_id": "S P01"}])
    code, _, err = run(capsys, "ingest", str(root))
    assert code == 1 and "malformed" in err
    assert not (root / ".charact" / "catalog.sqlite").exists() or "Traceback" not in err


def test_unreadable_file_exits_nonzero_and_changes_nothing(two_sample_project, capsys):
    root = two_sample_project
    run(capsys, "ingest", str(root))
    (root / "raman" / "S-P01_spot2.txt").write_bytes(b"#Raman shift\n100\t5\n\x00\x01garbage")
    code, _, err = run(capsys, "ingest", str(root))
    assert code == 1 and "S-P01_spot2.txt" in err and "catalogue is unchanged" in err
    code, out, _ = run(capsys, "samples", "show", "S-P01", "-p", str(root), "--json")
    assert len(json.loads(out)["measurements"]) == 2


def test_file_no_reader_accepts(tmp_path, capsys):
    p = tmp_path / "mystery.qqq"
    p.write_bytes(bytes(range(256)))
    code, _, err = run(capsys, "read", str(p))
    assert code == 1 and "mystery.qqq" in err and "no reader recognises" in err


def test_newer_catalogue_is_refused(two_sample_project, capsys):
    import sqlite3

    root = two_sample_project
    run(capsys, "ingest", str(root))
    con = sqlite3.connect(root / ".charact" / "catalog.sqlite")
    con.execute("update charact_meta set value='7' where key='schema_version'")
    con.commit()
    con.close()
    code, _, err = run(capsys, "samples", "list", "-p", str(root))
    assert code == 1 and "schema version 7" in err and "upgrade charact" in err


def test_error_text_with_brackets_is_printed_verbatim(tmp_path, capsys):
    code, _, err = run(capsys, "samples", "list", "-p", str(tmp_path / "[not]-here"))
    assert code == 1 and "[not]-here" in err


def test_usage_error_exit_code(capsys):
    code, _, _err = run(capsys, "samples", "show")
    assert code == 2


# --------------------------------------------------------------------------- demo


def test_demo_writes_and_ingests_a_project(tmp_path, capsys):
    target = tmp_path / "demo"
    code, out, _ = run(capsys, "demo", str(target))
    assert code == 0 and "Ground truth" in out
    truth = json.loads((target / "truth" / "ground_truth.json").read_text())
    assert set(truth["samples"]) == {"MSiC-P01", "MSiC-C100", "MSiC-C500", "LATP-F01"}
    report = (target / "report.html").read_text(encoding="utf-8")
    assert "crystalline Si no longer detected in MSiC-C500" in report
    assert f"Open the report: {target / 'report.html'}" in " ".join(out.split())
    code, out, _ = run(capsys, "samples", "show", "MSiC-C500", "-p", str(target), "--json")
    found = sorted((m["technique"], m["path"]) for m in json.loads(out)["measurements"])
    assert found == [
        ("echem", "cycling/MSiC-C500.xlsx"),
        ("echem", "cycling/MSiC-C500_eis.csv"),
        ("raman", "raman/MSiC-C500_map.txt"),
        ("raman", "raman/MSiC-C500_spot1.txt"),
        ("raman", "raman/MSiC-C500_spot2.txt"),
        ("sem", "sem/MSiC-C500_powder_001.tif"),
        ("xps", "xps/MSiC-C500_depth.vms"),
        ("xrd", "xrd/MSiC-C500.xy"),
    ]
    code, out, _ = run(capsys, "samples", "show", "MSiC-P01", "-p", str(target), "--json")
    techniques = sorted(m["technique"] for m in json.loads(out)["measurements"])
    assert techniques == ["raman", "raman", "sem", "xrd"]  # a spectrum and a map
    # every generated file is in the truth document and was ingested, none unlinked
    code, out, _ = run(capsys, "samples", "list", "-p", str(target), "--json")
    listing = json.loads(out)
    assert listing["unlinked_measurements"] == []
    assert sum(sum(s["measurements"].values()) for s in listing["samples"]) == 24
    code, _, err = run(capsys, "demo", str(target))
    assert code == 1 and "--overwrite" in err
    code, _, _ = run(capsys, "demo", str(target), "--overwrite")
    assert code == 0


def test_console_script_runs(tmp_path):
    """The installed `charact` entry point, as a user calls it (no traceback on errors)."""
    exe = os.path.join(os.path.dirname(sys.executable), "charact")
    if not os.path.exists(exe):
        pytest.skip("charact is not installed as a console script in this environment")
    res = subprocess.run(
        [exe, "samples", "list", "-p", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 1 and "project folder not found" in res.stderr
    assert "Traceback" not in res.stderr
