"""Peak memory and wall time of Raman map fitting: block-by-block to netCDF vs in memory.

Same run, same machine, same model (``si-carbon``: c-Si Lorentzian + a-Si Gaussian + D + G
Lorentzians + polynomial backgrounds), same generated maps (1600 points, 300-1900 cm^-1).
Each scenario runs in a fresh Python process that reports its own peak resident memory
(``VmHWM``), so one scenario's memory never hides another's:

- ``streamed``: the cube is a netCDF file opened lazily (``xr.open_dataarray(...,
  chunks=...)``); :func:`charact.raman.maps.fit_map_to_netcdf` loads one block of rows,
  fits it and writes its results into the output file before the next block;
- ``in-memory`` (the reference approach): the cube is loaded, :func:`fit_map` fits it whole
  and the result is saved with ``save_netcdf``.

Both are run at two map sizes (the second four times the pixels of the first): the streamed
peak should stay flat while the in-memory peak grows with the map. Finally ``model="auto"``
(every candidate of each region fitted to every pixel, the model chosen per pixel) is timed
on the smaller map against the forced model.

Usage::

    python benchmarks/bench_raman_maps.py            # 40x40 and 80x80 maps
    python benchmarks/bench_raman_maps.py --quick    # 20x20 and 40x40 maps
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

from charact.raman.synthetic import synthetic_map

BLOCK_PIXELS = 400


def _peak_rss_mb() -> float:
    """This process's own peak RSS in MB (VmHWM, reset at exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, src: Path, out: Path, model: str) -> None:
    from charact.core.store import save_netcdf
    from charact.raman.maps import fit_map, fit_map_to_netcdf

    t0 = time.perf_counter()
    if kind == "streamed":
        with xr.open_dataarray(src, engine="h5netcdf", chunks={"y": 8}) as lazy:
            summary = fit_map_to_netcdf(lazy, out, chunk_pixels=BLOCK_PIXELS, model=model)
        fitted = summary["pixels_fitted"]
    else:
        with xr.open_dataarray(src, engine="h5netcdf") as da:
            cube = da.load()
        result = fit_map(cube, model=model)
        save_netcdf(result.to_dataset(), out)
        fitted = int(result.dataset["success"].sum())
    print(f"{time.perf_counter() - t0:.3f} {_peak_rss_mb():.1f} {fitted}")


def _run(kind: str, src: Path, out: Path, model: str = "si-carbon") -> tuple[float, float, int]:
    res = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(src), str(out), model],
        check=True,
        capture_output=True,
        text=True,
    )
    wall, peak, fitted = res.stdout.split()
    return float(wall), float(peak), int(fitted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20x20 and 40x40 maps")
    ap.add_argument("--side", type=int, default=None, help="side of the smaller map")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, src, out, model = args.child
        _child(kind, Path(src), Path(out), model)
        return
    small = args.side or (20 if args.quick else 40)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for side in (small, 2 * small):
            cube, _ = synthetic_map(side, side, seed=2, spikes=side, missing=side // 10)
            src = folder / f"cube{side}.nc"
            cube.to_dataset(name="intensity").to_netcdf(src, engine="h5netcdf")
            mb = cube.nbytes / 2**20
            for kind in ("streamed", "in-memory"):
                wall, peak, fitted = _run(kind, src, folder / f"{kind}{side}.nc")
                rows.append((side, mb, kind, wall, peak, fitted))
        print(f"model si-carbon, 1600 points/spectrum, blocks of {BLOCK_PIXELS} pixels")
        print("| map | cube (MB) | approach | fitted | wall (s) | pixels/s | peak RSS (MB) |")
        print("|---|---|---|---|---|---|---|")
        for side, mb, kind, wall, peak, fitted in rows:
            print(
                f"| {side}x{side} | {mb:.0f} | {kind} | {fitted} | {wall:.1f} "
                f"| {side * side / wall:.0f} "
                f"| {peak:.0f} |"
            )
        by = {(s, k): p for s, _, k, _, p, _ in rows}
        for kind in ("streamed", "in-memory"):
            grow = by[(2 * small, kind)] - by[(small, kind)]
            print(f"{kind}: peak RSS grows by {grow:+.0f} MB for 4x the pixels")
        src = folder / f"cube{small}.nc"
        w_forced, _, _ = _run("streamed", src, folder / "forced.nc")
        w_auto, p_auto, n_auto = _run("streamed", src, folder / "auto.nc", "auto")
        print(
            f"model auto per pixel ({small}x{small}, 10 candidates): {w_auto:.1f} s, "
            f"{w_auto / w_forced:.1f}x the forced si-carbon fit, peak RSS {p_auto:.0f} MB, "
            f"{n_auto} pixels fitted"
        )


if __name__ == "__main__":
    main()
