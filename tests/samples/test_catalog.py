"""The catalogue: ingest, idempotence, change detection, atomicity, schema versions, queries."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest
from sqlalchemy import text

from charact.core.errors import DuplicateSampleError, SchemaVersionError, UnknownSampleError
from charact.samples import Catalog, IngestError, measurement_id_for
from charact.samples import schema as schema_mod
from tests.conftest import write_manifest


def _snapshot(root):
    """Every row of every table, to compare catalogue states."""
    con = sqlite3.connect(root / ".charact" / "catalog.sqlite")
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def test_ingest_twice_is_idempotent_and_show_lists_sha256(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        first = cat.ingest()
        assert sorted(first.added) == [
            "raman/S-C100_spot1.txt",
            "raman/S-P01_spot1.txt",
            "xrd/S-C100.xy",
            "xrd/S-P01.xy",
        ]
        assert sorted(first.samples_added) == ["S-C100", "S-P01"]
        before = _snapshot(root)
        second = cat.ingest()
        assert second.changes == 0 and len(second.unchanged) == 4
        assert _snapshot(root) == before
        info = cat.show_sample("S-P01")
    assert info["children"] == ["S-C100"] and info["extra"] == {"mass_mg": 0.57}
    by_path = {m["path"]: m for m in info["measurements"]}
    assert set(by_path) == {"raman/S-P01_spot1.txt", "xrd/S-P01.xy"}
    for rel, m in by_path.items():
        sha = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        assert m["sha256"] == sha and m["measurement_id"] == measurement_id_for(sha)
    assert by_path["xrd/S-P01.xy"]["technique"] == "xrd"
    assert by_path["raman/S-P01_spot1.txt"]["reader"] == "raman-text"


def test_ingest_never_writes_raw_files(two_sample_project):
    root = two_sample_project
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".charact" not in p.parts)
    before = {p: p.read_bytes() for p in files}
    with Catalog(root) as cat:
        cat.ingest()
    assert {p: p.read_bytes() for p in files} == before


def test_changed_file_is_detected_and_reported(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        path = root / "xrd" / "S-P01.xy"
        path.write_text(path.read_text().replace("20.0000", "20.0000", 1) + "90.1 3.0\n")
        report = cat.ingest()
        assert report.changed == ["xrd/S-P01.xy"]
        m = cat.measurements("S-P01", technique="xrd")[0]
        assert m["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    con = sqlite3.connect(root / ".charact" / "catalog.sqlite")
    events = [r[0] for r in con.execute("select event from ingest_events order by id")]
    con.close()
    assert events.count("changed") == 1


def test_moved_file_keeps_its_measurement_and_copy_is_a_duplicate(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        old_id = cat.measurements("S-P01", technique="xrd")[0]["measurement_id"]
        (root / "xrd" / "archive").mkdir()
        shutil.move(root / "xrd" / "S-P01.xy", root / "xrd" / "archive" / "S-P01.xy")
        report = cat.ingest()
        assert report.moved == [("xrd/S-P01.xy", "xrd/archive/S-P01.xy")]
        m = cat.measurements("S-P01", technique="xrd")[0]
        assert (m["path"], m["measurement_id"]) == ("xrd/archive/S-P01.xy", old_id)
        shutil.copy(root / "xrd" / "archive" / "S-P01.xy", root / "xrd" / "S-P01_copy.xy")
        report = cat.ingest()
        assert report.duplicates == [("xrd/S-P01_copy.xy", "xrd/archive/S-P01.xy")]
        assert len(cat.measurements("S-P01", technique="xrd")) == 1


def test_deleted_file_is_reported_missing_and_kept(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        (root / "xrd" / "S-C100.xy").unlink()
        report = cat.ingest()
        assert report.missing == ["xrd/S-C100.xy"] and report.changes == 0
        assert len(cat.measurements("S-C100", technique="xrd")) == 1


def test_manifest_edit_updates_samples_and_relinks(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        write_manifest(
            root,
            [
                {
                    "sample_id": "S-P01",
                    "state": "pristine",
                    "cycles": 0,
                    "mass_mg": 0.60,
                    "files": "raman/S-C100_spot1.txt",
                },
                {"sample_id": "S-C100", "state": "cycled", "cycles": 100, "parent": "S-P01"},
            ],
        )
        report = cat.ingest()
        assert "S-P01" in report.samples_updated
        assert report.relinked == ["raman/S-C100_spot1.txt"]
        info = cat.show_sample("S-P01")
        assert info["extra"]["mass_mg"] == 0.60
        assert {m["path"] for m in info["measurements"]} >= {"raman/S-C100_spot1.txt"}


def test_unreadable_linked_file_fails_and_leaves_catalogue_unchanged(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        before = _snapshot(root)
        (root / "xrd" / "S-C100_extra.xy").write_text("# 2theta counts\n10.0 5\n10.02")  # truncated
        (root / "S-P01_sem_1.tif").write_bytes(b"II*\x00" + bytes(100))  # no SEM reader yet
        with pytest.raises(IngestError) as info:
            cat.ingest()
        msg = str(info.value)
        assert "2 problem(s); the catalogue is unchanged" in msg
        assert "S-C100_extra.xy" in msg and "S-P01_sem_1.tif" in msg
        assert _snapshot(root) == before
        report = cat.ingest(skip_errors=True)  # the user may choose to go on
        assert len(report.problems) == 2 and report.added == []


def test_unrelated_files_are_ignored_not_errors(two_sample_project):
    root = two_sample_project
    (root / "notes.txt").write_text("measured on Tuesday\nbeam was unstable\n")
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(50))
    with Catalog(root) as cat:
        report = cat.ingest()
    assert sorted(report.ignored) == ["notes.txt", "photo.jpg"]
    assert report.problems == []


def test_unlinked_readable_file_is_registered_and_reported(two_sample_project):
    root = two_sample_project
    shutil.copy(root / "raman" / "S-P01_spot1.txt", root / "raman" / "si_ref.txt")
    (root / "raman" / "si_ref.txt").write_text((root / "raman" / "si_ref.txt").read_text() + "\n")
    with Catalog(root) as cat:
        report = cat.ingest()
        assert report.unlinked == ["raman/si_ref.txt"]
        assert [m["path"] for m in cat.measurements(unlinked=True)] == ["raman/si_ref.txt"]


def test_bad_manifest_stops_ingest_before_any_write(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        before = _snapshot(root)
        write_manifest(root, [{"sample_id": "S-P01"}, {"sample_id": "S-P01"}])
        with pytest.raises(DuplicateSampleError):
            cat.ingest()
    assert _snapshot(root) == before


def test_failure_during_write_rolls_back(two_sample_project, monkeypatch):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        before = _snapshot(root)
        (root / "xrd" / "S-P01_b.xy").write_bytes((root / "xrd" / "S-P01.xy").read_bytes() + b"\n")

        def boom(*args, **kwargs):
            raise RuntimeError("power cut")

        monkeypatch.setattr(Catalog, "_write_measurements", boom)
        with pytest.raises(RuntimeError):
            cat.ingest()
    assert _snapshot(root) == before


def test_catalogue_from_newer_schema_is_refused_untouched(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
        with cat.engine.begin() as conn:
            conn.execute(text("update charact_meta set value='99' where key='schema_version'"))
    before = _snapshot(root)
    with pytest.raises(SchemaVersionError, match="schema version 99"):
        Catalog(root)
    assert _snapshot(root) == before


def test_migrations_run_in_order(two_sample_project, monkeypatch):
    root = two_sample_project
    Catalog(root).close()
    ran = []

    def v2(conn):
        conn.execute(text("alter table samples add column colour varchar(16)"))
        ran.append(2)

    monkeypatch.setitem(schema_mod.MIGRATIONS, 2, v2)
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", 2)
    with Catalog(root) as cat:  # opening migrates 1 -> 2
        assert cat.schema_version == 2
        cat.ingest()  # and the migrated catalogue works
    with Catalog(root) as cat:  # already at 2: nothing runs again
        assert cat.schema_version == 2
    assert ran == [2]


def test_unknown_sample_lists_close_matches_and_case_is_forgiven(two_sample_project):
    with Catalog(two_sample_project) as cat:
        cat.ingest()
        assert cat.resolve_sample("s-p01") == "S-P01"
        with pytest.raises(UnknownSampleError, match="did you mean 'S-P01'"):
            cat.show_sample("S-P0")


def test_results_are_keyed_by_inputs_and_settings(two_sample_project):
    with Catalog(two_sample_project) as cat:
        cat.ingest()
        m = cat.measurements("S-P01", technique="xrd")[0]
        cat.add_result(
            analysis="xrd.identify",
            inputs=[m["sha256"]],
            settings={"tol": 0.1},
            parameters={"phases": ["Si", "Cu"]},
            sample_id="S-P01",
            measurement_id=m["measurement_id"],
        )
        cat.add_result(
            analysis="xrd.identify",
            inputs=[m["sha256"]],
            settings={"tol": 0.1},
            parameters={"phases": ["Si"]},
            sample_id="S-P01",
        )
        cat.add_result(
            analysis="xrd.identify",
            inputs=[m["sha256"]],
            settings={"tol": 0.2},
            parameters={"phases": ["Si"]},
            sample_id="S-P01",
        )
        results = cat.results("S-P01")
    assert len(results) == 2  # same key replaced, other settings kept
    assert {r["parameters"]["phases"][0] for r in results} == {"Si"}


def test_renaming_the_project_keeps_the_embedded_catalogue(two_sample_project):
    root = two_sample_project
    with Catalog(root) as cat:
        cat.ingest()
    config = root / "charact.toml"
    config.write_text(config.read_text().replace('name = "proj"', 'name = "renamed"'))
    with Catalog(root) as cat:
        assert cat.project.name == "renamed" and cat.key == "proj"
        assert cat.ingest().changes == 0
        assert len(cat.measurements("S-P01")) == 2


def test_sidecar_is_part_of_its_image_not_a_file_of_its_own(two_sample_project):
    from charact.sem.synthetic import particle_image, write_jeol_sidecar

    root = two_sample_project
    (root / "sem").mkdir()
    img, _ = particle_image(shape=(200, 300), n=20, seed=1)
    write_jeol_sidecar(img, root / "sem" / "S-P01_powder_001.tif", pixel_size_nm=5.0)
    assert (root / "sem" / "S-P01_powder_001.txt").is_file()
    with Catalog(root) as cat:
        report = cat.ingest()
        assert report.problems == []
        assert report.sidecars == [("sem/S-P01_powder_001.txt", "sem/S-P01_powder_001.tif")]
        sem = cat.measurements("S-P01", technique="sem")
    assert [m["path"] for m in sem] == ["sem/S-P01_powder_001.tif"]
    assert sem[0]["conditions"]["pixel_size_nm"] == pytest.approx(5.0)
    assert sem[0]["conditions"]["pixel_size_source"] == "jeol:sidecar"
