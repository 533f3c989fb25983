"""ECM fit and DRT per spectrum, against reference approaches on the same spectra, one run.

* ECM: charact's ``fit_circuit`` (automatic starts from the DRT, several starts) versus
  impedance.py's ``CustomCircuit.fit`` given a hand-tuned initial guess, on impedance.py's
  example spectrum and on generated spectra. Printed: seconds per fit and the relative
  difference of the fitted R and τ (unit weighting, as impedance.py).
* DRT: charact's ``fit_drt`` (λ scan in closed form + one NNLS) versus a plain scipy
  reference that solves the regularised NNLS at every λ of the same grid and computes the GCV
  from the influence matrix of each solution; and, when pyDRTtools and cvxopt are importable,
  pyDRTtools' ``simple_run`` at fixed λ on its own LIB spectrum (its package ``__init__``
  imports a Qt GUI, so its submodules are loaded without it).

    python benchmarks/bench_echem_eis.py    (impedance.py optional: pip install impedance)
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

import charact.echem as ec
from charact.echem.drt import drt_matrices
from charact.echem.synthetic import impedance_spectrum

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "echem"


def _spectra() -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    p = DATA / "impedance.py" / "exampleData.csv"
    if p.is_file():
        d = np.loadtxt(p, delimiter=",")
        keep = d[:, 2] < 0
        out.append(("impedance.py example", d[keep, 0], d[keep, 1] + 1j * d[keep, 2]))
    for k in range(3):
        pars = {
            "R0": 10.0,
            "R1": 20.0 + 5 * k,
            "CPE1_Q": 1e-5,
            "CPE1_alpha": 0.9,
            "R2": 50.0,
            "CPE2_Q": 1e-3,
            "CPE2_alpha": 0.85,
            "W1": 5.0,
        }
        f, z = impedance_spectrum(CIRCUIT, pars, noise=0.005, seed=k)
        out.append((f"generated {k}", f, z))
    return out


def _taus(p: dict[str, float]) -> list[float]:
    return sorted((p[f"R{k}"] * p[f"CPE{k}_Q"]) ** (1 / p[f"CPE{k}_alpha"]) for k in (1, 2))


def bench_ecm() -> None:
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError:
        print("ECM: impedance.py not installed; skipped")
        return
    names = ec.parse_circuit(CIRCUIT).parameter_names
    print("ECM per spectrum (s)       charact   impedance.py   ratio   max |ΔR|/R  max |Δτ|/τ")
    for label, f, z in _spectra():
        ec.fit_circuit((f, z), CIRCUIT, weighting="unit")  # warm
        t0 = time.perf_counter()
        ours = ec.fit_circuit((f, z), CIRCUIT, weighting="unit")
        t1 = time.perf_counter()
        scale = float(np.max(np.abs(z)))
        guess = [
            0.3 * scale,
            0.2 * scale,
            1e-3 / scale,
            0.9,
            0.5 * scale,
            1.0 / scale,
            0.9,
            0.05 * scale,
        ]
        ref = CustomCircuit(CIRCUIT, initial_guess=guess)
        t2 = time.perf_counter()
        ref.fit(f, z)
        t3 = time.perf_counter()
        pr = dict(zip(names, ref.parameters_, strict=True))
        po = {n: p.value for n, p in ours.parameters.items()}
        rr = sorted([pr["R1"], pr["R2"]], key=lambda r: r)
        dr = max(
            abs(po["R0"] - pr["R0"]) / pr["R0"],
            max(abs(a - b) / b for a, b in zip(sorted([po["R1"], po["R2"]]), rr, strict=True)),
        )
        dt = max(abs(a - b) / b for a, b in zip(_taus(po), _taus(pr), strict=True))
        print(
            f"{label:24s} {t1 - t0:9.3f} {t3 - t2:12.3f} {(t3 - t2) / (t1 - t0):8.2f}x"
            f" {dr:11.2e} {dt:11.2e}"
        )


def _reference_drt(f: np.ndarray, z: np.ndarray, grid: np.ndarray) -> tuple[float, float]:
    """Plain approach: NNLS at every λ, GCV from each solution's influence matrix."""
    scale = float(np.max(np.abs(z)))
    zs = z / scale
    w = 2 * np.pi * f
    lo, hi = math.log(1 / w.max()) - 0.5 * math.log(10), math.log(1 / w.min()) + 0.5 * math.log(10)
    m = int(max(20, min(200, round((hi - lo) / math.log(10) * 10))))
    ln_tau = np.linspace(lo, hi, m)
    cols = np.column_stack([np.ones(f.size), 1j * w / w.max(), drt_matrices(f, ln_tau)])
    aa = np.vstack([cols.real, cols.imag])
    bb = np.concatenate([zs.real, zs.imag])
    h = ln_tau[1] - ln_tau[0]
    dd = np.hstack([np.zeros((m - 1, 2)), np.diff(np.eye(m), axis=0) / math.sqrt(h)])
    best = (math.inf, 0.0)
    for lam in grid:
        x, _ = nnls(
            np.vstack([aa, math.sqrt(lam) * dd]),
            np.concatenate([bb, np.zeros(m - 1)]),
            maxiter=50 * (m + 2),
        )
        r = aa @ x - bb
        hmat = aa @ np.linalg.solve(aa.T @ aa + lam * dd.T @ dd, aa.T)
        g = bb.size * float(r @ r) / (bb.size - np.trace(hmat)) ** 2
        best = min(best, (g, lam))
    return best[1], 0.0


def bench_drt() -> None:
    print("DRT per spectrum (s)       charact   scipy ref.     ratio   λ charact   λ ref.")
    grid = np.logspace(-10, 1, 45)
    spectra = _spectra()
    lib = DATA / "pyDRTtools" / "LIB_data.txt"
    if lib.is_file():
        d = np.loadtxt(lib)
        spectra.append(("pyDRTtools LIB", d[:, 0], d[:, 1] + 1j * d[:, 2]))
    for label, f, z in spectra:
        ec.fit_drt((f, z))  # warm
        t0 = time.perf_counter()
        d = ec.fit_drt((f, z))
        t1 = time.perf_counter()
        lam_ref, _ = _reference_drt(f, z, grid)
        t2 = time.perf_counter()
        print(
            f"{label:24s} {t1 - t0:9.3f} {t2 - t1:11.3f} {(t2 - t1) / (t1 - t0):9.2f}x"
            f" {d.lambda_gcv:11.2e} {lam_ref:9.2e}"
        )


def _pydrttools_runs():
    """pyDRTtools' ``runs`` module without executing the package ``__init__`` (Qt GUI)."""
    import importlib.util
    import sys
    import types

    spec = importlib.util.find_spec("pyDRTtools")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = types.ModuleType("pyDRTtools")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["pyDRTtools"] = pkg
    import matplotlib

    matplotlib.use("Agg")
    return importlib.import_module("pyDRTtools.runs")


def bench_pydrttools(lams=(1e-3, 1e-4)) -> None:
    import contextlib
    import io

    from scipy.signal import find_peaks

    lib = DATA / "pyDRTtools" / "LIB_data.txt"
    try:
        runs = _pydrttools_runs()
    except ImportError as exc:
        runs = None
        print(f"pyDRTtools: not runnable ({exc}); skipped")
    if runs is None or not lib.is_file():
        return
    d = np.loadtxt(lib)
    f, z = d[:, 0], d[:, 1] + 1j * d[:, 2]
    print(
        "DRT vs pyDRTtools, LIB  λ     charact (s)  pyDRTtools (s)  ratio  "
        "largest in-range peak τ (ours / theirs)"
    )
    for lam in lams:
        t0 = time.perf_counter()
        ours = ec.fit_drt((f, z), method="fixed", lam=lam)
        t1 = time.perf_counter()
        e = runs.EIS_object(f, z.real, z.imag)
        with contextlib.redirect_stdout(io.StringIO()):
            runs.simple_run(
                e,
                rbf_type="Gaussian",
                data_used="Combined Re-Im Data",
                induct_used=1,
                der_used="1st order",
                cv_type="custom",
                reg_param=lam,
                shape_control="FWHM Coefficient",
                coeff=0.5,
            )
        t2 = time.perf_counter()
        g = np.asarray(e.gamma)
        t = np.asarray(e.out_tau_vec)
        pk, _ = find_peaks(g, prominence=0.01 * g.max())
        lo, hi = ours.tau_range_s
        inside = [k for k in pk if lo <= t[k] <= hi]
        theirs = t[max(inside, key=lambda k: g[k])]
        mine = max(ours.peaks, key=lambda p: p["gamma_max_ohm"])["tau_s"]
        print(
            f"{'':24s}{lam:7.0e} {t1 - t0:10.3f} {t2 - t1:14.3f} {(t2 - t1) / (t1 - t0):7.1f}x"
            f"   {mine:.4g} / {theirs:.4g} s"
        )


if __name__ == "__main__":
    bench_ecm()
    bench_drt()
    bench_pydrttools()
