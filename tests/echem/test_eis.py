"""Impedance: circuit strings, element formulas, fits of known circuits, KK, DRT, and the
real example spectra against impedance.py (computed here when it is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import charact
import charact.echem as ec
from charact.core.errors import InputError
from charact.echem.synthetic import impedance_spectrum
from tests.conftest import shared_file

TRUTH = {
    "R0": 10.0,
    "R1": 20.0,
    "CPE1_Q": 1e-5,
    "CPE1_alpha": 0.9,
    "R2": 50.0,
    "CPE2_Q": 1e-3,
    "CPE2_alpha": 0.85,
    "W1": 5.0,
}
CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"


def _tau(r, q, a):
    return (r * q) ** (1 / a)


# --------------------------------------------------------------------------- parser


def test_element_without_compiled_form_is_not_implemented(monkeypatch):
    # compile() has a closed form for every built-in element; a registered element type
    # without one is refused by name, not fitted with a silent numeric fallback
    from charact.echem.eis import ELEMENTS, ElementType

    monkeypatch.setitem(
        ELEMENTS, "G", ElementType("G", ("R",), ("ohm",), lambda w, p: p[0] + 0 * w, ((0, np.inf),))
    )
    circ = ec.parse_circuit("R0-G1")
    assert circ.impedance([1.0, 10.0], [1.0, 2.0]) == pytest.approx([3.0, 3.0])
    with pytest.raises(NotImplementedError, match="'G' \\(G1\\)"):
        circ.compile([1.0, 10.0])


def test_parse_circuit_names_and_arcs():
    c = ec.parse_circuit("L0-R0-p(R1,CPE1)-p(R2-Wo1,C2)-Ws3")
    assert c.parameter_names == [
        "L0",
        "R0",
        "R1",
        "CPE1_Q",
        "CPE1_alpha",
        "R2",
        "Wo1_R",
        "Wo1_tau",
        "C2",
        "Ws3_R",
        "Ws3_tau",
    ]
    assert c.arcs == [("R1", "CPE1")]  # p(R2-Wo1,C2) is not a simple arc


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("R0-p(R1,CPE1", 13, "expected ',' or ')'"),
        ("R0-X1", 4, "unknown element 'X1'"),
        ("R0--R1", 4, "expected an element"),
        ("R0-p(R1)", 8, "at least two branches"),
        ("R0-R1)", 6, "unexpected ')'"),
        ("", 1, "empty circuit"),
    ],
)
def test_parse_errors_point_at_the_character(text, where, what):
    with pytest.raises(InputError, match="circuit string") as info:
        ec.parse_circuit(text)
    msg = str(info.value)
    assert what in msg and f"character {where}" in msg
    assert msg.splitlines()[-1].index("^") - 2 == where - 1  # caret under the character


def test_duplicate_element_names():
    with pytest.raises(InputError, match="used twice"):
        ec.parse_circuit("R1-p(R1,C1)")


def test_element_formulas():
    f = np.logspace(-3, 5, 50)
    w = 2 * np.pi * f
    rc = ec.parse_circuit("p(R1,C1)").impedance(f, [10.0, 1e-3])
    np.testing.assert_allclose(rc, 10 / (1 + 1j * w * 1e-2), rtol=1e-12)
    # CPE with alpha = 1 is a capacitor
    np.testing.assert_allclose(
        ec.parse_circuit("CPE1").impedance(f, [1e-3, 1.0]), 1 / (1j * w * 1e-3), rtol=1e-12
    )
    # finite-length Warburg -> R at low frequency; finite-space -> capacitive (R/(jωτ)/...)
    ws = ec.parse_circuit("Ws1").impedance([1e-6], [5.0, 1.0])
    assert ws[0].real == pytest.approx(5.0, rel=1e-5)
    wo = ec.parse_circuit("Wo1").impedance([1e-6], [5.0, 1.0])
    assert wo[0].imag == pytest.approx(-5.0 / (2 * np.pi * 1e-6), rel=1e-4)
    # semi-infinite Warburg: 45° line, |Im| = |Re|
    ww = ec.parse_circuit("W1").impedance(f, [3.0])
    np.testing.assert_allclose(ww.real, -ww.imag, rtol=1e-12)


# --------------------------------------------------------------------------- fits


def test_fit_known_circuit_with_noise():
    """0.5 % noise: every R within 2 %, every τ within 5 % (the issue's accuracy target)."""
    f, z = impedance_spectrum(CIRCUIT, TRUTH, noise=0.005, seed=3)
    res = ec.fit_circuit((f, z), CIRCUIT, arc_labels=("R_SEI", "R_ct"))
    p = res.parameters
    for name in ("R0", "R1", "R2"):
        assert p[name].value == pytest.approx(TRUTH[name], rel=0.02)
        assert 0 < p[name].stderr < 0.05 * TRUTH[name]
    taus = res.time_constants_s
    assert taus["R_SEI"] == pytest.approx(_tau(20, 1e-5, 0.9), rel=0.05)
    assert taus["R_ct"] == pytest.approx(_tau(50, 1e-3, 0.85), rel=0.05)
    assert res.fit.derived["R_SEI"].value == pytest.approx(20, rel=0.02)
    assert res.fit.statistics["success"] and not res.fit.flags


def test_arcs_are_ordered_by_time_constant_whatever_the_string_order():
    # generate with the *slow* arc first in the string: the fit must still call the fast
    # one arc1, and put it in R1/CPE1
    swapped = {
        "R0": 10.0,
        "R1": 50.0,
        "CPE1_Q": 1e-3,
        "CPE1_alpha": 0.85,
        "R2": 20.0,
        "CPE2_Q": 1e-5,
        "CPE2_alpha": 0.9,
        "W1": 5.0,
    }
    f, z = impedance_spectrum(CIRCUIT, swapped, noise=0.005, seed=4)
    res = ec.fit_circuit((f, z), CIRCUIT)
    assert res.parameters["R1"].value == pytest.approx(20, rel=0.02)
    assert res.parameters["R2"].value == pytest.approx(50, rel=0.02)
    assert res.arcs[0]["resistor"] == "R1" and res.arcs[0]["tau_s"] < res.arcs[1]["tau_s"]


def test_series_keeps_sei_and_ct_apart():
    """R_SEI falling 64 -> 33 Ω (the seed paper's lithiation series) while R_ct stays ~
    40 Ω: the labels follow τ, never the fitting accident."""
    spectra = []
    r_sei = [64.0, 50.0, 40.0, 33.0]
    for k, r in enumerate(r_sei):
        pars = {
            "R0": 5.0,
            "R1": r,
            "CPE1_Q": 2e-6,
            "CPE1_alpha": 0.9,
            "R2": 40.0,
            "CPE2_Q": 5e-4,
            "CPE2_alpha": 0.85,
            "W1": 8.0,
        }
        spectra.append(impedance_spectrum(CIRCUIT, pars, noise=0.005, seed=10 + k))
    fits = ec.fit_circuit_series(spectra, CIRCUIT, arc_labels=("R_SEI", "R_ct"))
    got = [f.fit.derived["R_SEI"].value for f in fits]
    np.testing.assert_allclose(got, r_sei, rtol=0.02)
    np.testing.assert_allclose([f.fit.derived["R_ct"].value for f in fits], 40, rtol=0.03)


def test_fit_bad_input():
    f, z = impedance_spectrum(CIRCUIT, TRUTH)
    with pytest.raises(InputError, match="single frequency"):
        ec.fit_circuit((f[:1], z[:1]), CIRCUIT)
    z2 = z.copy()
    z2[3] = np.nan
    with pytest.raises(InputError, match="NaN or infinite value at point"):
        ec.fit_circuit((f, z2), CIRCUIT)
    with pytest.raises(InputError, match="unknown element"):
        ec.fit_circuit((f, z), "R0-Q1")
    with pytest.raises(InputError, match="start names unknown"):
        ec.fit_circuit((f, z), CIRCUIT, start={"R9": 1.0})


def test_example_spectrum_against_impedance_py():
    """impedance.py's own example data, same circuit, unit weighting as its default fit;
    compared by time constant (the arc order of impedance.py is that of its start)."""
    pytest.importorskip("impedance")
    from impedance import preprocessing
    from impedance.models.circuits import CustomCircuit

    path = shared_file("echem", "impedance.py", "exampleData.csv")
    f, z = preprocessing.ignoreBelowX(*preprocessing.readCSV(str(path)))
    ref = CustomCircuit(CIRCUIT, initial_guess=[0.01, 0.005, 0.1, 0.9, 0.01, 1, 0.9, 0.001])
    ref.fit(f, z)
    p = dict(zip(ec.parse_circuit(CIRCUIT).parameter_names, ref.parameters_, strict=True))
    ref_arcs = sorted(
        [
            (_tau(p["R1"], p["CPE1_Q"], p["CPE1_alpha"]), p["R1"]),
            (_tau(p["R2"], p["CPE2_Q"], p["CPE2_alpha"]), p["R2"]),
        ]
    )
    ours = ec.fit_circuit(charact.read(path), CIRCUIT, weighting="unit")
    assert ours.parameters["R0"].value == pytest.approx(p["R0"], rel=0.02)
    assert ours.parameters["W1"].value == pytest.approx(p["W1"], rel=0.02)
    for arc, (tau, r) in zip(ours.arcs, ref_arcs, strict=True):
        assert arc["tau_s"] == pytest.approx(tau, rel=0.05)
        assert arc["R_ohm"] == pytest.approx(r, rel=0.02)


# --------------------------------------------------------------------------- KK


def test_kk_valid_for_a_circuit_and_invalid_for_drift():
    f, z = impedance_spectrum(CIRCUIT, TRUTH, noise=0.002, seed=1)
    kk = ec.check_kramers_kronig((f, z))
    assert kk.valid and kk.mu <= 0.85 and kk.max_residual < 0.01
    # a drifting cell: the low-frequency real part creeps up with measurement time
    drift = z + 0.3 * np.abs(z) * np.linspace(0, 1, f.size) ** 3
    bad = ec.check_kramers_kronig((f, drift))
    assert not bad.valid and bad.max_residual > 0.02


def test_kk_valid_for_two_cpe_arcs_without_a_diffusion_tail():
    # Regression: with a free series capacitance always in the KK circuit, mu fell below
    # 0.85 at 5 elements and this causal, 0.5 %-noise spectrum was called invalid (33 %).
    params = {
        "R0": 4.0,
        "R1": 33.0,
        "CPE1_Q": 2e-5,
        "CPE1_alpha": 0.85,
        "R2": 180.0,
        "CPE2_Q": 5e-4,
        "CPE2_alpha": 0.8,
    }
    f, z = impedance_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)", params, noise=0.005, seed=3)
    kk = ec.check_kramers_kronig((f, z))
    assert kk.valid and kk.max_residual < 0.02


def test_kk_on_real_files():
    ok = ec.check_kramers_kronig(charact.read(shared_file("echem", "pyDRTtools", "LIB_data.txt")))
    assert ok.valid
    # MANIFEST: yadg peis.mpt has a noisy low-frequency end (points scatter by tens of Ω)
    noisy = ec.check_kramers_kronig(charact.read(shared_file("echem", "yadg", "peis.mpt")))
    assert not noisy.valid


# --------------------------------------------------------------------------- DRT


def test_drt_recovers_two_rc_elements():
    pars = {"R0": 5.0, "R1": 10.0, "C1": 1e-4, "R2": 20.0, "C2": 5e-3}  # τ = 1 ms, 100 ms
    f, z = impedance_spectrum(
        "R0-p(R1,C1)-p(R2,C2)", pars, f_min=0.01, f_max=1e5, noise=0.002, seed=2
    )
    d = ec.fit_drt((f, z))
    assert d.R_inf == pytest.approx(5.0, rel=0.02)
    big = sorted(sorted(d.peaks, key=lambda p: -p["R_ohm"])[:2], key=lambda p: p["tau_s"])
    assert big[0]["tau_s"] == pytest.approx(1e-3, rel=0.1)
    assert big[1]["tau_s"] == pytest.approx(0.1, rel=0.1)
    assert big[0]["R_ohm"] == pytest.approx(10, rel=0.1)
    assert big[1]["R_ohm"] == pytest.approx(20, rel=0.1)
    assert np.all(d.gamma >= 0)


def test_drt_lambda_is_optimised_and_both_criteria_reported():
    d = ec.fit_drt(charact.read(shared_file("echem", "pyDRTtools", "LIB_data.txt")))
    doc = d.to_dict()
    assert doc["method"] == "gcv" and doc["lambda"] == doc["lambda_gcv"]
    # on this clean spectrum the two criteria disagree by decades: reported and flagged
    assert doc["lambda_agreement_decades"] > 2
    # the values docs/echem.md quotes (GCV 7.9e-8, L-curve 4.5e-3), within a factor 1.5
    assert 7.95e-8 / 1.5 < doc["lambda_gcv"] < 7.95e-8 * 1.5
    assert 4.47e-3 / 1.5 < doc["lambda_lcurve"] < 4.47e-3 * 1.5
    assert any("disagree" in f for f in doc["flags"])
    # the GCV value at the chosen λ is a minimum: not a grid default left unchanged
    import charact.echem.drt as drt

    assert d.lam not in (1e-3, 1e-2)  # pyDRTtools' default starting λ values
    f, z = d.frequency, d.z
    vals = [drt.fit_drt((f, z), method="fixed", lam=d.lam * k) for k in (0.2, 1.0, 5.0)]
    assert all(v.lam > 0 for v in vals)
    # every reported peak lies in the measured τ range; the rest are edge peaks
    lo, hi = d.tau_range_s
    assert all(lo <= p["tau_s"] <= hi for p in d.peaks)
    assert d.R_inf == pytest.approx(0.11, abs=0.005)  # MANIFEST: 0.11-0.15 Ω spectrum


def test_gcv_lambda_is_a_true_minimum_and_lcurve_agrees():
    """The reported GCV λ is a minimum of the GCV function (not a grid point or a start
    left unchanged, as pyDRTtools' GCV returns on this spectrum: 1e-3, see
    benchmarks/bench_echem_eis.py); the L-curve corner is reported beside it."""
    from charact.echem import drt

    path = shared_file("echem", "pyDRTtools", "LIB_data.txt")
    d = ec.fit_drt(charact.read(path))
    st = drt._setup(d.frequency, d.z, 10)
    lam = d.lambda_gcv
    g = st.prob.criteria(np.array([lam / 1.2, lam, lam * 1.2]))[0]
    assert g[1] <= g[0] and g[1] <= g[2]
    assert not np.any(np.isclose(lam, drt._GRID, rtol=1e-6, atol=0))  # refined off the grid
    # the closed form equals the GCV computed from the influence matrix itself
    a, b, dd = st.prob.aa, st.prob.bb, st.prob.dd
    h = a @ np.linalg.solve(a.T @ a + lam * dd.T @ dd, a.T)
    r = h @ b - b
    assert g[1] == pytest.approx(b.size * (r @ r) / (b.size - np.trace(h)) ** 2, rel=1e-6)
    doc = d.to_dict()
    assert doc["lambda_agreement_decades"] == pytest.approx(
        abs(math.log10(doc["lambda_gcv"] / doc["lambda_lcurve"]))
    )


def test_drt_bad_input():
    f, z = impedance_spectrum(CIRCUIT, TRUTH)
    with pytest.raises(InputError, match="at least 5 frequencies"):
        ec.fit_drt((f[:4], z[:4]))
    with pytest.raises(InputError, match="method must be"):
        ec.fit_drt((f, z), method="magic")
    with pytest.raises(InputError, match="needs lam"):
        ec.fit_drt((f, z), method="fixed")
    assert math.isfinite(ec.fit_drt((f, z), method="lcurve").lam)


def test_zero_impedance_is_an_input_error():
    # an all-zero spectrum (a shorted or empty channel): no DRT (was a bare numpy
    # ValueError) and no circuit fit (was a meaningless fit weighted by |Z| = 0)
    f, _z = impedance_spectrum(CIRCUIT, TRUTH)
    zero = np.zeros(f.size, complex)
    with pytest.raises(InputError, match="zero at every frequency"):
        ec.fit_drt((f, zero))
    with pytest.raises(InputError, match="zero at every frequency"):
        ec.fit_circuit((f, zero), "R0-p(R1,C1)")
    with pytest.raises(InputError, match="zero at every frequency"):
        ec.fit_circuit((f, zero), "R0-p(R1,C1)", weighting="unit")
    # a single Z = 0 point cannot carry a modulus weight
    _f, z = impedance_spectrum(CIRCUIT, TRUTH)
    z[3] = 0
    with pytest.raises(InputError, match=r"Z = 0 at 1 point\(s\)"):
        ec.fit_circuit((f, z), CIRCUIT)


def test_drt_main_peak_matches_pydrttools_at_the_same_lambda():
    """Reference: pyDRTtools 0.2 ``runs.simple_run`` on its own LIB_data.txt (Gaussian RBF,
    FWHM coefficient 0.5, first-order penalty, combined Re-Im, inductance fitted, λ = 1e-3),
    run by the charact developers headless (its GUI-importing ``__init__`` bypassed, as in
    benchmarks/bench_echem_eis.py): dominant peak at τ = 0.1460 s with γ = 0.01299 Ω,
    R_inf = 0.1129 Ω. pyDRTtools cannot be installed headless in CI, so the values are cited."""
    d = ec.fit_drt(
        charact.read(shared_file("echem", "pyDRTtools", "LIB_data.txt")), method="fixed", lam=1e-3
    )
    main = max(d.peaks, key=lambda p: p["gamma_max_ohm"])
    assert main["tau_s"] == pytest.approx(0.1460, rel=0.10)
    assert main["gamma_max_ohm"] == pytest.approx(0.01299, rel=0.10)
    assert d.R_inf == pytest.approx(0.1129, rel=0.02)


def test_drt_main_peak_against_pydrttools_computed_here():
    """The same comparison, with pyDRTtools run here when it is installed (its package needs
    cvxopt and scikit-learn it does not declare and a Qt GUI; see tests/echem/_helpers.py)."""
    import contextlib
    import io
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from tests.echem._helpers import pydrttools_runs

    runs = pydrttools_runs()
    if runs is None:
        pytest.skip("pyDRTtools (with cvxopt, scikit-learn) not installed")
    ds = charact.read(shared_file("echem", "pyDRTtools", "LIB_data.txt"))
    f, z = ec.eis_arrays(ds)
    e = runs.EIS_object(f, z.real, z.imag)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs.simple_run(e, rbf_type="Gaussian", data_used="Combined Re-Im Data",
                        induct_used=1, der_used="1st order", cv_type="custom", reg_param=1e-3,
                        shape_control="FWHM Coefficient", coeff=0.5)  # fmt: skip
    g, t = np.asarray(e.gamma, float), np.asarray(e.out_tau_vec, float)
    ours = ec.fit_drt(ds, method="fixed", lam=1e-3)
    lo, hi = ours.tau_range_s
    inside = (t >= lo) & (t <= hi)
    theirs = float(t[inside][np.argmax(g[inside])])
    main = max(ours.peaks, key=lambda p: p["gamma_max_ohm"])
    assert main["tau_s"] == pytest.approx(theirs, rel=0.10)


def test_fit_circuit_reuses_the_gcv_lambda_of_a_given_drt(monkeypatch):
    # the DRT computed anyway (CLI --drt, the catalogue) gives the GCV λ of the starting
    # peaks: no second λ scan, and the same fit
    from charact.echem import drt as drt_mod

    f, z = impedance_spectrum(CIRCUIT, TRUTH, noise=0.002, seed=4)
    d = ec.fit_drt((f, z))
    plain = ec.fit_circuit((f, z), CIRCUIT)
    calls = []
    scan = drt_mod._lambda_gcv
    monkeypatch.setattr(drt_mod, "_lambda_gcv", lambda prob: calls.append(1) or scan(prob))
    reused = ec.fit_circuit((f, z), CIRCUIT, drt=d)
    assert calls == []
    for n, p in plain.parameters.items():
        assert reused.parameters[n].value == pytest.approx(p.value, rel=1e-9)
    # other points than the DRT's (fmin): the λ scan is run on the fitted points
    ec.fit_circuit((f, z), CIRCUIT, drt=d, fmin=float(f[-3]))
    assert calls == [1]
