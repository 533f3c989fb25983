"""Summarize a generated 500-cycle record (LAND-like, 120 points per half cycle).

Prints the time to normalize the record and to compute the per-cycle table, and the ratio
against a plain pandas groupby on the instrument's cycle numbers (what a one-off script does;
it has no CE convention, no partial-step handling and no rate blocks).

    python benchmarks/bench_echem_cycling.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import charact.echem as ec
from charact.echem.synthetic import cycling_record


def main(n_cycles: int = 500) -> None:
    rng = np.random.default_rng(0)
    fwd = 2.2 * (1 - 0.001 * np.arange(n_cycles)) + 0.001 * rng.standard_normal(n_cycles)
    rev = fwd * 0.995
    cols, _ = cycling_record(fwd, rev, current_mA=0.5, points_per_half=120)
    n = cols["time_s"].size
    # warm up imports and caches on a small record
    small = {k: v[:500] for k, v in cols.items()}
    ec.quantify_cycling(
        ec.make_cycling_dataset(
            time_s=small["time_s"], voltage_v=small["voltage_v"], current_a=small["current_a"]
        ),
        electrode="anode",
    )
    t0 = time.perf_counter()
    ds = ec.make_cycling_dataset(
        time_s=cols["time_s"],
        voltage_v=cols["voltage_v"],
        current_a=cols["current_a"],
        cycle=cols["cycle"],
        step=cols["step"],
    )
    t1 = time.perf_counter()
    res = ec.quantify_cycling(ds, electrode="anode", mass_mg=1.0)
    t2 = time.perf_counter()
    df = pd.DataFrame(
        {"cycle": cols["cycle"], "i": cols["current_a"], "q": cols["step_capacity_ah"]}
    )
    t3 = time.perf_counter()
    g = df.assign(qc=np.where(df.i > 0, df.q, 0), qd=np.where(df.i < 0, df.q, 0)).groupby("cycle")
    plain = g[["qc", "qd"]].max()
    t4 = time.perf_counter()
    err = np.max(np.abs(np.array([c["discharge_mAh"] for c in res.cycles]) - fwd))
    assert len(res.cycles) == n_cycles and len(plain) == n_cycles
    print(f"{n_cycles} cycles, {n} points")
    print(f"normalize            {1e3 * (t1 - t0):8.1f} ms")
    print(f"quantify_cycling     {1e3 * (t2 - t1):8.1f} ms   (max capacity error {err:.1e} mAh)")
    print(f"pandas groupby       {1e3 * (t4 - t3):8.1f} ms   (no CE convention, no rate blocks)")
    print(f"ratio charact/pandas {(t2 - t0) / (t4 - t3):8.1f}x")


if __name__ == "__main__":
    main()
