"""ECM fit and DRT per spectrum, against impedance.py and pyDRTtools on the same spectra, one run.

* ECM: charact's ``fit_circuit`` (automatic starts from the DRT peaks, screened together,
  the best converged with an analytic Jacobian) versus impedance.py's ``CustomCircuit.fit``
  given a hand-tuned initial guess, on impedance.py's example spectrum and on generated
  spectra, both with unit weighting (impedance.py's default). Printed: seconds per fit (best
  of ``REPEAT``), the ratio, and the largest relative difference of the fitted R and τ, arcs
  matched by time constant. A second ratio gives charact the same start as impedance.py
  (``start=``), which isolates the fitting engine from the automatic start search.
* DRT: charact's ``fit_drt`` versus pyDRTtools' ``simple_run`` (Gaussian RBF, FWHM
  coefficient 0.5, first-order penalty, combined Re–Im, inductance fitted) on the same
  spectra: (a) at the same fixed λ = 1e-3, comparing the in-range peak time constants; (b)
  with λ chosen by each (charact: GCV and L-curve both computed, γ at the GCV λ;
  pyDRTtools: its GCV, started from its default 1e-3). pyDRTtools' package ``__init__``
  imports a Qt GUI, so its submodules are loaded without it; it needs cvxopt and
  scikit-learn (``pip install cvxopt scikit-learn && pip install --no-deps pyDRTtools``).

BLAS is limited to one thread for both sides (set before numpy is imported): on a shared
machine, threaded OpenBLAS made the 80×80 eigen-decomposition of the DRT 100× slower.

    python benchmarks/bench_echem_eis.py    (impedance.py, pyDRTtools optional)
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import contextlib  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import charact.echem as ec  # noqa: E402
from charact.echem.synthetic import impedance_spectrum  # noqa: E402

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "echem"
REPEAT = 3


def _best_time(fn, repeat: int = REPEAT):
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


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


def _arcs(p: dict[str, float]) -> list[tuple[float, float]]:
    """(τ, R) of the two R‖CPE arcs, sorted by τ."""
    return sorted(
        ((p[f"R{k}"] * p[f"CPE{k}_Q"]) ** (1 / p[f"CPE{k}_alpha"]), p[f"R{k}"]) for k in (1, 2)
    )


def bench_ecm() -> None:
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError:
        print("ECM: impedance.py not installed; skipped")
        return
    names = ec.parse_circuit(CIRCUIT).parameter_names
    print(
        "ECM per spectrum (s)     charact  impedance.py  ratio | same start: charact  ratio"
        " | max |ΔR|/R  max |Δτ|/τ"
    )
    for label, f, z in _spectra():
        ec.fit_circuit((f, z), CIRCUIT, weighting="unit")  # warm (imports, caches)
        t_ours, ours = _best_time(
            lambda f=f, z=z: ec.fit_circuit((f, z), CIRCUIT, weighting="unit")
        )
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

        def ref_fit(f=f, z=z, guess=guess):
            ref = CustomCircuit(CIRCUIT, initial_guess=guess)
            ref.fit(f, z)
            return ref

        t_ref, ref = _best_time(ref_fit)
        start = dict(zip(names, guess, strict=True))
        t_same, _ = _best_time(
            lambda f=f, z=z, start=start: ec.fit_circuit(
                (f, z), CIRCUIT, weighting="unit", start=start, use_drt=False
            )
        )
        pr = dict(zip(names, ref.parameters_, strict=True))
        po = {n: p.value for n, p in ours.parameters.items()}
        a_ours, a_ref = _arcs(po), _arcs(pr)
        dr = max(
            [abs(po["R0"] - pr["R0"]) / pr["R0"]]
            + [abs(a[1] - b[1]) / b[1] for a, b in zip(a_ours, a_ref, strict=True)]
        )
        dt = max(abs(a[0] - b[0]) / b[0] for a, b in zip(a_ours, a_ref, strict=True))
        print(
            f"{label:22s} {t_ours:9.3f} {t_ref:12.3f} {t_ref / t_ours:6.1f}x |"
            f" {t_same:19.3f} {t_ref / t_same:6.1f}x | {dr:11.1e} {dt:11.1e}"
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
    with contextlib.redirect_stdout(io.StringIO()):  # it prints sys.path on import
        return importlib.import_module("pyDRTtools.runs")


def _pydrt(runs, f, z, cv_type: str, lam: float):
    e = runs.EIS_object(f, z.real, z.imag)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs.simple_run(
            e,
            rbf_type="Gaussian",
            data_used="Combined Re-Im Data",
            induct_used=1,
            der_used="1st order",
            cv_type=cv_type,
            reg_param=lam,
            shape_control="FWHM Coefficient",
            coeff=0.5,
        )
    return e


def _their_peaks(e, lo: float, hi: float, floor: float) -> list[float]:
    from scipy.signal import find_peaks

    g = np.asarray(e.gamma, float)
    t = np.asarray(e.out_tau_vec, float)
    pk, _ = find_peaks(g, prominence=floor * g.max())
    return sorted(float(t[k]) for k in pk if lo <= t[k] <= hi)


def _peak_gap(ours: list[dict], theirs: list[float], floor: float) -> tuple[int, float]:
    """Largest |Δ log10 τ| from each major peak of ours to the nearest peak of theirs."""
    big = max((p["gamma_max_ohm"] for p in ours), default=0.0)
    major = [p["tau_s"] for p in ours if p["gamma_max_ohm"] >= floor * big]
    if not major or not theirs:
        return len(major), math.nan
    gap = max(min(abs(math.log10(t / u)) for u in theirs) for t in major)
    return len(major), gap


def bench_drt() -> None:
    try:
        runs = _pydrttools_runs()
    except ImportError as exc:
        print(f"DRT: pyDRTtools not runnable ({exc}); skipped")
        return
    if runs is None:
        print("DRT: pyDRTtools not installed; skipped")
        return
    spectra = _spectra()
    lib = DATA / "pyDRTtools" / "LIB_data.txt"
    if lib.is_file():
        d = np.loadtxt(lib)
        spectra.append(("pyDRTtools LIB", d[:, 0], d[:, 1] + 1j * d[:, 2]))
    floor = 0.1  # peaks above 10 % of the largest are compared
    print(
        "DRT per spectrum, λ = 1e-3 (s)  charact  pyDRTtools  ratio |"
        " largest peak τ (s) ours / theirs | major peaks, max |Δlog10 τ|"
    )
    for label, f, z in spectra:
        ec.fit_drt((f, z), method="fixed", lam=1e-3)  # warm
        t_ours, ours = _best_time(lambda f=f, z=z: ec.fit_drt((f, z), method="fixed", lam=1e-3))
        t_ref, e = _best_time(lambda f=f, z=z: _pydrt(runs, f, z, "custom", 1e-3), 1)
        lo, hi = ours.tau_range_s
        theirs = _their_peaks(e, lo, hi, 0.01)
        n, gap = _peak_gap(ours.peaks, theirs, floor)
        g = np.asarray(e.gamma, float)
        t = np.asarray(e.out_tau_vec, float)
        inside = (t >= lo) & (t <= hi)
        t_big = float(t[inside][np.argmax(g[inside])])
        o_big = max(ours.peaks, key=lambda p: p["gamma_max_ohm"])["tau_s"]
        print(
            f"{label:30s} {t_ours:8.3f} {t_ref:10.3f} {t_ref / t_ours:6.1f}x |"
            f" {o_big:12.4g} / {t_big:<12.4g}     | {n:3d}, {gap:.3f}"
        )
    print(
        "DRT with λ chosen (s)           charact  pyDRTtools  ratio |"
        " λ GCV    λ L-curve  λ pyDRTtools GCV (start 1e-3)"
    )
    for label, f, z in spectra:
        t_ours, ours = _best_time(lambda f=f, z=z: ec.fit_drt((f, z)))
        t_ref, e = _best_time(lambda f=f, z=z: _pydrt(runs, f, z, "GCV", 1e-3), 1)
        lam_ref = float(np.ravel(e.lambda_value)[0])
        print(
            f"{label:30s} {t_ours:8.3f} {t_ref:10.3f} {t_ref / t_ours:6.1f}x |"
            f" {ours.lambda_gcv:8.1e} {ours.lambda_lcurve:9.1e}  {lam_ref:9.2e}"
        )


if __name__ == "__main__":
    bench_ecm()
    bench_drt()
