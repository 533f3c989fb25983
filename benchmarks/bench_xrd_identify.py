"""Benchmark: identify + refine a 9000-point pattern against reference libraries of growing size.

Prints, on this machine in one run:

* the cost of the stick patterns (pymatgen XRDCalculator) for the whole library: computed
  (cold: empty memory and disk caches), read from the on-disk cache (a new session), and
  taken from the in-memory cache (later files of a session), with their ratios;
* the time of one full ``identify_phases`` call (background, peak search, Kα doublet profile
  fits, scoring, indexing, lattice refinement) for libraries of 2, 5, 10 and all phases,
  with a cold cache (first file ever) and a warm one (sticks cached), and the ratio to the
  2-phase library.

The disk cache goes to a temporary folder (``CHARACT_CACHE_DIR``), never the user's cache.

Run: ``python benchmarks/bench_xrd_identify.py``
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    tmp = tempfile.TemporaryDirectory()
    os.environ["CHARACT_CACHE_DIR"] = tmp.name

    from charact.xrd import phases
    from charact.xrd.analyze import identify_phases
    from charact.xrd.phases import load_phase_library, stick_pattern
    from charact.xrd.synthetic import structure_pattern

    def cold() -> None:
        """Empty both caches."""
        phases._stick_cache.clear()
        for f in Path(tmp.name).glob("xrd-sticks/*.json"):
            f.unlink()

    x = np.linspace(10.0, 100.0, 9000)
    da, _ = structure_pattern(
        {"Si": 1.0, "Cu": 1.5, "LiF": 0.2},
        sizes_nm={"Si": 60.0},
        displacement_mm=0.1,
        two_theta=x,
        seed=1,
    )
    full = load_phase_library()
    names = [p.name for p in full]
    first = ["Si", "Cu", "LiF", "Li2O", "Li15Si4"]
    order = first + [n for n in names if n not in first]
    lam = float(da.attrs["wavelength"])
    rng = (float(x[0]), float(x[-1]))

    def all_sticks() -> None:
        for p in full:
            stick_pattern(p, lam, rng)

    cold()
    t_cold = _time(all_sticks, repeat=1)
    t_disk = _time(lambda: (phases._stick_cache.clear(), all_sticks()))
    t_mem = _time(all_sticks)
    print(f"stick patterns, {len(full)} phases:")
    print(f"  computed (cold)      {t_cold:7.3f} s")
    print(f"  from the disk cache  {t_disk:7.3f} s  ({t_cold / t_disk:5.0f}x faster)")
    print(f"  from memory          {t_mem * 1e3:7.2f} ms ({t_cold / t_mem:5.0f}x faster)")

    base = None
    print(f"identify + refine, {x.size}-point pattern (Kα doublet):")
    print("  phases   cold cache   warm cache   warm vs 2 phases   found")
    for n in (2, 5, 10, len(full)):
        lib = [p for p in full if p.name in order[:n]]
        cold()
        t0 = time.perf_counter()
        res = identify_phases(da, library=lib)
        t_c = time.perf_counter() - t0
        t_w = _time(lambda lib=lib: identify_phases(da, library=lib))
        base = base or t_w
        found = ",".join(p.name for p in res.present)
        print(f"  {n:6d}   {t_c:8.2f} s   {t_w:8.2f} s   x{t_w / base:4.2f}             {found}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
