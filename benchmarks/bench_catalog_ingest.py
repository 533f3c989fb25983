"""Ingest speed: a first ingest, an idempotent re-ingest, and a plain read-everything loop.

Reference approach: what a script does without a catalogue — read every file each time
(`charact.read` in a loop). A re-ingest must be much cheaper because files whose SHA-256 is
unchanged are not read again.

    python benchmarks/bench_catalog_ingest.py [--spectra 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import charact
from charact.raman.io import write_text_spectrum
from charact.raman.synthetic import si_carbon_spectrum
from charact.samples import Catalog, init_project


def build(root: Path, n: int) -> list[Path]:
    init_project(root)
    rows = ["sample_id,state"] + [f"S{i:03d},pristine" for i in range(n // 4 + 1)]
    (root / "samples.csv").write_text("\n".join(rows) + "\n")
    (root / "raman").mkdir()
    files = []
    for i in range(n):
        spectrum, _ = si_carbon_spectrum("pristine", seed=i)
        files.append(write_text_spectrum(spectrum, root / "raman" / f"S{i // 4:03d}_spot{i}.txt"))
    return files


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spectra", type=int, default=200)
    n = ap.parse_args().spectra
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        files = build(root, n)
        loop = timed(lambda: [charact.read(f) for f in files])
        with Catalog(root) as cat:
            first = timed(cat.ingest)
            again = timed(cat.ingest)
    py = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {py}")
    print(f"{n} Raman spectra (1900 points each)")
    print(f"read-every-file loop (reference): {loop:7.3f} s")
    print(f"first ingest:                     {first:7.3f} s  ({first / loop:.2f}x the loop)")
    print(f"re-ingest, nothing changed:       {again:7.3f} s  ({loop / again:.1f}x faster)")


if __name__ == "__main__":
    main()
