"""Slow files are decoded once: the parsed measurement kept at ingest is what analysis reads."""

from __future__ import annotations

import charact
from charact.core.provenance import sha256_file
from charact.raman.io import write_text_spectrum
from charact.raman.synthetic import si_carbon_spectrum
from charact.samples import Catalog
from charact.samples.readcache import SLOW_READ_S, cached_path, recall, remember


def test_kept_measurement_is_identical_and_keyed_by_content(tmp_path):
    spectrum, _ = si_carbon_spectrum("pristine", seed=1)
    raw = write_text_spectrum(spectrum, tmp_path / "s.txt")
    sha = sha256_file(raw)
    obj = charact.read(raw)
    state = tmp_path / ".charact"
    assert remember(state, sha, obj, seconds=SLOW_READ_S / 2) is None  # fast: not kept
    assert recall(state, sha) is None
    path = remember(state, sha, obj, seconds=SLOW_READ_S * 3)
    assert path == cached_path(state, sha) and path.is_file()
    back = recall(state, sha)
    assert back is not None and back.identical(obj)
    assert recall(state, "0" * 64) is None  # other bytes, other key
    # Kept under the wrong key (the object says it came from other bytes): never served.
    assert remember(state, "f" * 64, obj, seconds=10.0) is None
    # An unreadable cache file is dropped and the raw file is read instead.
    path.write_bytes(b"not netcdf")
    assert recall(state, sha) is None and not path.exists()
    assert raw.read_bytes() == write_text_spectrum(spectrum, tmp_path / "again.txt").read_bytes()


def test_ingest_keeps_the_slow_cycler_workbooks(analysed_demo):
    root = analysed_demo["root"]
    with Catalog(root) as cat:
        kept = {
            m["path"]
            for m in cat.measurements()
            if cached_path(root / ".charact", m["sha256"]).is_file()
        }
    # The 500-cycle LAND workbook takes seconds to decode (which other files cross the
    # threshold depends on the machine and on first-import costs, so only it is asserted).
    assert "cycling/MSiC-C500.xlsx" in kept
