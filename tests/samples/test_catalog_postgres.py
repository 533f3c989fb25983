"""The same catalogue code on PostgreSQL, as a lab would share it (CHARACT_DB_URL).

Runs when CHARACT_TEST_PG_URL names a PostgreSQL database the tests may wipe (.ci/run starts
the machine's PostgreSQL and sets it); skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text

from charact.core.errors import SchemaVersionError, UnknownSampleError
from charact.samples import Catalog, init_project
from charact.samples import schema as schema_mod

PG_URL = os.environ.get("CHARACT_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="CHARACT_TEST_PG_URL is not set")


@pytest.fixture
def pg_url():
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        schema_mod.metadata.drop_all(conn)
        conn.execute(text("drop table if exists charact_meta"))
    engine.dispose()
    return PG_URL


def test_two_projects_share_one_server(two_sample_project, tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("CHARACT_DB_URL", pg_url)
    other = init_project(tmp_path / "other")
    (other / "samples.csv").write_text("sample_id,state\nS-P01,pristine\n")
    (other / "xrd").mkdir()
    shutil.copy(two_sample_project / "xrd" / "S-C100.xy", other / "xrd" / "S-P01.xy")
    with Catalog(two_sample_project) as cat:
        assert cat.url.startswith("postgresql")
        assert len(cat.ingest().added) == 4
        assert cat.ingest().changes == 0
    with Catalog(other) as cat:
        # the same sample ID and even the same file content in another project are separate
        assert cat.ingest().added == ["xrd/S-P01.xy"]
        assert [m["path"] for m in cat.measurements("S-P01")] == ["xrd/S-P01.xy"]
    with Catalog(two_sample_project) as cat:
        info = cat.show_sample("S-P01")
        assert {m["path"] for m in info["measurements"]} == {
            "raman/S-P01_spot1.txt",
            "xrd/S-P01.xy",
        }
        assert info["children"] == ["S-C100"]
        with pytest.raises(UnknownSampleError, match="did you mean 'S-P01'"):
            cat.show_sample("S-P0")
    assert not (two_sample_project / ".charact" / "catalog.sqlite").exists()


def test_newer_schema_on_the_server_is_refused(two_sample_project, pg_url):
    with Catalog(two_sample_project, url=pg_url) as cat:
        cat.ingest()
        with cat.engine.begin() as conn:
            conn.execute(text("update charact_meta set value='42' where key='schema_version'"))
    with pytest.raises(SchemaVersionError, match="schema version 42"):
        Catalog(two_sample_project, url=pg_url)
