"""Every notebook in notebooks/ runs top to bottom (in a scratch folder), so none can rot.

The notebooks find the demo project through ``CHARACT_DEMO_DIR`` (one analysed demo per test
session); run by hand, they write their own.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, analysed_demo, monkeypatch):
    import nbformat

    # The technique notebooks read the session's demo project instead of writing their own.
    monkeypatch.setenv("CHARACT_DEMO_DIR", str(analysed_demo["root"]))
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
