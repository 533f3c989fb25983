"""Benchmark: identify + refine a 9000-point pattern against reference libraries of growing size.

Prints, on this machine in one run:

* the time of one full ``identify_phases`` call (background, peak search, Kα doublet profile
  fits, scoring, indexing, lattice refinement) for libraries of 2, 5, 10 and all phases, with
  the stick patterns already cached (the usual case after the first file of a session) and
  the ratio to the 2-phase library;
* the cost of computing the stick patterns (pymatgen XRDCalculator) for the whole library the
  first time, against reading them from the in-memory cache.

Run: ``python benchmarks/bench_xrd_identify.py``
"""

from __future__ import annotations

import time

import numpy as np

from charact.xrd.analyze import identify_phases
from charact.xrd.phases import _stick_cache, load_phase_library, stick_pattern
from charact.xrd.synthetic import structure_pattern


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
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
    order = ["Si", "Cu", "LiF", "Li2O", "Li15Si4"] + [
        n for n in names if n not in ("Si", "Cu", "LiF", "Li2O", "Li15Si4")
    ]
    lam = float(da.attrs["wavelength"])
    rng = (float(x[0]), float(x[-1]))

    _stick_cache.clear()
    cold = _time(lambda: [stick_pattern(p, lam, rng) for p in full], repeat=1)
    warm = _time(lambda: [stick_pattern(p, lam, rng) for p in full])
    print(
        f"stick patterns, {len(full)} phases: first {cold:.2f} s, cached {warm * 1e3:.2f} ms "
        f"(ratio {cold / warm:.0f}x)"
    )

    base = None
    print(f"identify + refine, {x.size}-point pattern (Kα doublet), sticks cached:")
    for n in (2, 5, 10, len(full)):
        lib = [p for p in full if p.name in order[:n]]
        t = _time(lambda lib=lib: identify_phases(da, library=lib))
        base = base or t
        res = identify_phases(da, library=lib)
        found = ",".join(p.name for p in res.present)
        print(f"  {n:3d} phases: {t:6.2f} s  (x{t / base:4.2f} of 2 phases)  found {found}")


if __name__ == "__main__":
    main()
