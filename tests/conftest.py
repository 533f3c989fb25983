"""Shared fixtures: the real-data folder, and small projects built from generated files."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from charact.raman.io import write_text_spectrum
from charact.raman.synthetic import si_carbon_spectrum
from charact.samples import init_project
from charact.xrd.io import write_xy
from charact.xrd.synthetic import synthetic_pattern

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """One BLAS thread: the fits' small SVD/eigh calls are far faster without thread hand-off.

    Results do not depend on it; only the suite's time does (2x on the echem tests, 2 cores).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True, scope="session")
def _caches_in_tmp(tmp_path_factory):
    """Tests keep charact's on-disk caches (XRD stick patterns) in a temporary folder."""
    old = os.environ.get("CHARACT_CACHE_DIR")
    os.environ["CHARACT_CACHE_DIR"] = str(tmp_path_factory.mktemp("charact-cache"))
    yield
    if old is None:
        os.environ.pop("CHARACT_CACHE_DIR", None)
    else:
        os.environ["CHARACT_CACHE_DIR"] = old


def shared_file(*parts: str) -> Path:
    """A real instrument file from ../shared/data; skips the test when that folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    path = SHARED_DATA.joinpath(*parts)
    assert path.exists(), f"expected real-data file {path} (see its MANIFEST.md)"
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


def write_manifest(root: Path, rows: list[dict[str, object]], name: str = "samples.csv") -> Path:
    """Write a manifest CSV with the union of the rows' keys as header."""
    header: list[str] = []
    for r in rows:
        header += [k for k in r if k not in header]
    path = root / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header or ["sample_id"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def two_sample_project(tmp_path: Path) -> Path:
    """A project with two samples (pristine, cycled), an XRD pattern and a Raman spectrum each."""
    return make_two_sample_project(tmp_path)


def make_two_sample_project(parent: Path) -> Path:
    """Write the :func:`two_sample_project` project under ``parent`` (for other scopes)."""
    root = init_project(parent / "proj")
    write_manifest(
        root,
        [
            {
                "sample_id": "S-P01",
                "description": "pristine",
                "state": "pristine",
                "cycles": 0,
                "parent": "",
                "mass_mg": 0.57,
            },
            {
                "sample_id": "S-C100",
                "description": "cycled",
                "state": "cycled",
                "cycles": 100,
                "parent": "S-P01",
                "mass_mg": 0.55,
            },
        ],
    )
    (root / "xrd").mkdir()
    (root / "raman").mkdir()
    for k, (sid, weights, state) in enumerate(
        [
            ("S-P01", {"Si": 1.0, "Cu": 1.0}, "pristine"),
            ("S-C100", {"Si": 0.2, "Cu": 1.0}, "cycled-100"),
        ]
    ):
        pattern, _ = synthetic_pattern(weights, seed=k)
        write_xy(pattern, root / "xrd" / f"{sid}.xy")
        spectrum, _ = si_carbon_spectrum(state, seed=k)
        write_text_spectrum(spectrum, root / "raman" / f"{sid}_spot1.txt")
    return root


@pytest.fixture(scope="session")
def analysed_demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo project, generated and analysed once per test session: read it, never change it.

    Tests that change files or settings make their own project (or a copy of this one).
    """
    from charact.demo import make_demo_project
    from charact.samples import Catalog
    from charact.samples.analyze import analyze_project

    root = tmp_path_factory.mktemp("analysed-demo") / "demo"
    made = make_demo_project(root)
    with Catalog(root) as cat:
        report = analyze_project(cat)
    return {"root": root, "truth": made.truth, "report": report}
