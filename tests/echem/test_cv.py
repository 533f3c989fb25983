"""CV peaks on generated voltammograms, b-value and Randles–Sevcik."""

from __future__ import annotations

import math

import numpy as np
import pytest

import charact.echem as ec
from charact.core.errors import InputError
from charact.echem.cv import FARADAY, GAS_CONSTANT


def _cv(e_a=0.45, e_c=0.38, cycles=3, n=800):
    """Triangle sweeps 0.2-0.7 V with a Gaussian anodic and cathodic peak on a slope."""
    up = np.linspace(0.2, 0.7, n)
    e = np.concatenate([np.concatenate([up, up[::-1]])] * cycles)
    direction = np.concatenate([np.concatenate([np.ones(n), -np.ones(n)])] * cycles)
    i = 1e-4 * (e - 0.45)  # capacitive/ohmic background
    i += np.where(direction > 0, 1e-3 * np.exp(-(((e - e_a) / 0.02) ** 2)), 0)
    i -= np.where(direction < 0, 8e-4 * np.exp(-(((e - e_c) / 0.02) ** 2)), 0)
    t = np.arange(e.size, dtype=float)
    cyc = np.repeat(np.arange(1, cycles + 1), 2 * n)
    return ec.make_cycling_dataset(
        time_s=t, voltage_v=e, current_a=i, cycle=cyc, measurement_type="cv"
    )


def test_cv_peaks_at_generated_potentials():
    res = ec.find_cv_peaks(_cv())
    assert len(res.cycles) == 3 and not res.flags
    for c in res.cycles:
        assert c["anodic_peaks_V"] == pytest.approx([0.45], abs=0.003)
        assert c["cathodic_peaks_V"] == pytest.approx([0.38], abs=0.003)
        assert c["anodic_peaks"][0]["I_A"] == pytest.approx(1e-3, rel=0.05)


def test_b_value_and_randles_sevcik():
    v = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    n, area, conc, temp, d = 1, 0.5, 1e-5, 298.15, 1e-6
    ip = 0.4463 * n * FARADAY * area * conc * np.sqrt(n * FARADAY * v * d / (GAS_CONSTANT * temp))
    b = ec.fit_b_value(v, ip)
    assert b["b"] == pytest.approx(0.5, rel=1e-10)
    rs = ec.randles_sevcik_diffusion(
        v, ip, n_electrons=n, area_cm2=area, concentration_mol_cm3=conc, temperature_K=temp
    )
    assert rs["D_cm2_s"] == pytest.approx(d, rel=1e-10)
    assert ec.fit_b_value(v, 3e-3 * v)["b"] == pytest.approx(1.0)  # capacitive
    with pytest.raises(InputError, match="at least 2 scan rates"):
        ec.fit_b_value([0.1], [1e-3])
    with pytest.raises(InputError, match="area_cm2 must be a positive"):
        ec.randles_sevcik_diffusion(v, ip, n_electrons=1, area_cm2=0, concentration_mol_cm3=1)
    assert math.isnan(ec.fit_b_value([0.1, 0.2], [1e-3, 2e-3])["b_stderr"])


def _cv_rate(v, cycles=2, n=800, e_a0=0.45, drift=0.0, b=0.5):
    """Like _cv, with a time axis for scan rate v (V/s), peak currents ∝ v^b and a sloping
    background; the anodic peak drifts by ``drift`` V per cycle."""
    up = np.linspace(0.2, 0.7, n)
    one = np.concatenate([up, up[::-1]])
    e = np.concatenate([one] * cycles)
    direction = np.concatenate([np.concatenate([np.ones(n), -np.ones(n)])] * cycles)
    cyc = np.repeat(np.arange(1, cycles + 1), 2 * n)
    e_a = e_a0 + drift * (cyc - 1)
    scale = (v / 0.01) ** b
    i = 2e-3 * (e - 0.2) * (v / 0.01)  # capacitive slope ∝ v
    i += np.where(direction > 0, 1e-3 * scale * np.exp(-(((e - e_a) / 0.02) ** 2)), 0)
    i -= np.where(direction < 0, 8e-4 * scale * np.exp(-(((e - 0.38) / 0.02) ** 2)), 0)
    t = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(e)) / v)])
    return ec.make_cycling_dataset(
        time_s=t, voltage_v=e, current_a=i, cycle=cyc, measurement_type="cv"
    )


def test_cv_peak_tracks_follow_a_drifting_peak():
    res = ec.find_cv_peaks(_cv_rate(0.01, cycles=5, drift=0.01))
    an = [t for t in res.tracks if t["direction"] == "anodic"]
    ca = [t for t in res.tracks if t["direction"] == "cathodic"]
    assert len(an) == 1 and len(ca) == 1
    assert an[0]["cycles"] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(an[0]["E_V"], 0.45 + 0.01 * np.arange(5), atol=0.003)
    assert an[0]["shift_V_per_cycle"] == pytest.approx(0.01, abs=1e-3)
    assert ca[0]["shift_V_per_cycle"] == pytest.approx(0.0, abs=1e-3)
    assert res.scan_rate_V_s == pytest.approx(0.01, rel=1e-6)
    # the baseline (line through the valleys) removes the sloping capacitive current: the
    # generated peak heights are 1e-3 (anodic) and 8e-4 (cathodic) A
    assert an[0]["I_above_baseline_A"][0] == pytest.approx(1e-3, rel=0.05)
    assert ca[0]["I_above_baseline_A"][0] == pytest.approx(-8e-4, rel=0.05)
    # a tolerance below the drift breaks the anodic track into one per cycle
    split = ec.track_cv_peaks(res.cycles, tolerance_V=0.005)
    assert len([t for t in split if t["direction"] == "anodic"]) == 5


@pytest.mark.parametrize("b_true", [0.5, 1.0])
def test_b_value_over_scan_rates_from_voltammograms(b_true):
    rates = [0.005, 0.01, 0.02, 0.05]
    out = ec.analyze_scan_rates([_cv_rate(v, b=b_true) for v in rates])
    assert out["scan_rates_V_s"] == pytest.approx(rates, rel=1e-6)
    by_dir = {p["direction"]: p for p in out["peaks"]}
    for d in ("anodic", "cathodic"):
        assert by_dir[d]["b"] == pytest.approx(b_true, abs=0.03)
        assert by_dir[d]["b_stderr"] < 0.05
    with pytest.raises(InputError, match="two scan rates"):
        ec.analyze_scan_rates([_cv_rate(0.01)])
    with pytest.raises(InputError, match="3 scan rates given for 2"):
        ec.analyze_scan_rates([_cv_rate(0.01), _cv_rate(0.02)], scan_rates_V_s=[1, 2, 3])
